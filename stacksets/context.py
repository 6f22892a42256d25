"""What a rollout command works with: the common context plus the StackSet operation runner,
and the desired state derived from config and build (template sources point at the artifact
buckets)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from stacksets import artifacts
from stacksets.operations import Runner
from stacksets.plan import GLOBAL_REGION, Desired, stack_set_parameters
from toolkit import context
from toolkit.bundle import Bundle
from toolkit.config import Config


@dataclass
class Context(context.Context):
    """The rollout's context: the runner is made on first use (an interruption before it
    exists has no operation to name)."""

    @functools.cached_property
    def runner(self) -> Runner:
        return Runner(self.aws, self.config, self.reporter, **self.runner_options)

    @property
    def runner_if_started(self) -> Runner | None:
        return self.__dict__.get("runner")


def template_locations(config: Config, bundle: Bundle) -> dict[str, artifacts.Upload]:
    """Where each template is uploaded: both are sent by TemplateURL."""
    prefix = config.artifact_bucket_prefix
    admin, regional, global_ = config.administration_region, bundle.regional, bundle.global_
    return {
        "regional": artifacts.Upload(admin, artifacts.bucket_name(prefix, admin),
                                     artifacts.template_key(regional.name, regional.sha256),
                                     regional.body),
        "global": artifacts.Upload(GLOBAL_REGION, artifacts.bucket_name(prefix, GLOBAL_REGION),
                                   artifacts.template_key(global_.name, global_.sha256),
                                   global_.body),
    }


def uploads(config: Config, bundle: Bundle) -> list[artifacts.Upload]:
    """Every object a deploy needs in S3: the zips in both regions (Lambda reads code from its
    own region), and both templates."""
    items = [artifacts.Upload(region, artifacts.bucket_name(config.artifact_bucket_prefix, region),
                              name, data)
             for region in config.regions for name, data in sorted(bundle.zips.items())]
    items += list(template_locations(config, bundle).values())
    return items


def desired(config: Config, bundle: Bundle) -> Desired:
    declared = bundle.regional.parameters
    locations = template_locations(config, bundle)
    regional, global_ = locations["regional"], locations["global"]
    return Desired(
        regional_source=artifacts.template_source(regional.bucket, regional.region,
                                                  regional.key),
        regional_template=bundle.regional.document,
        stack_set_parameters=stack_set_parameters(config, declared, bundle.code_keys(declared)),
        global_source=artifacts.template_source(global_.bucket, global_.region, global_.key),
        global_template=bundle.global_.document)
