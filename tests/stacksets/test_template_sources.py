"""How each template reaches CloudFormation (issue 15, defect 8).

CloudFormation API Reference, CreateStack / UpdateStack / CreateStackSet: `TemplateBody` is
limited to 51,200 bytes, `TemplateURL` (an S3 object) to 1 MB. The global template was sent
inline at 48,890 bytes; the next feature would have broken deploy. Both templates now go
through the artifact bucket, always, so the size of either never decides whether deploy works.
"""

import dataclasses

import pytest

from stacksets import artifacts, plan
from toolkit.bundle import Template
from stacksets.context import desired, template_locations, uploads


@pytest.fixture
def wanted(example_config, bundle):
    return desired(example_config, bundle)


def test_every_template_source_is_inline_only_within_the_limit(wanted, bundle):
    """The rule itself, whichever way a template is sent."""
    for source, template in ((wanted.regional_source, bundle.regional),
                             (wanted.global_source, bundle.global_)):
        if "TemplateBody" in source:
            assert len(source["TemplateBody"].encode()) <= artifacts.INLINE_TEMPLATE_LIMIT
        else:
            assert set(source) == {"TemplateURL"}, template.name


@pytest.mark.parametrize("which", ["regional", "global"])
def test_both_templates_go_by_url_from_the_artifact_bucket(example_config, bundle, wanted,
                                                           which):
    source = {"regional": wanted.regional_source, "global": wanted.global_source}[which]
    location = template_locations(example_config, bundle)[which]
    assert source == {"TemplateURL": artifacts.template_url(location.bucket, location.region,
                                                            location.key)}
    assert location.key.startswith(f"templates/{which}-")
    # What the URL names is uploaded by deploy (content-addressed, so never overwritten).
    assert location in uploads(example_config, bundle)


def test_a_small_global_template_still_goes_by_url(example_config, bundle):
    """Not a size decision: a 2-byte template goes through the bucket too."""
    tiny = dataclasses.replace(bundle, global_=Template("global.json", b"{}"))
    source = desired(example_config, tiny).global_source
    assert list(source) == ["TemplateURL"]
    assert source["TemplateURL"].startswith(
        "https://payments-example-artifacts-123456789012-us-east-1.s3.us-east-1.amazonaws.com/"
        "templates/global-")


def test_the_global_stack_is_created_and_updated_from_the_url(example_config, wanted):
    for create in (True, False):
        arguments = plan.global_stack_args(example_config, wanted, {}, create, "")
        assert "TemplateBody" not in arguments
        assert arguments["TemplateURL"] == wanted.global_source["TemplateURL"]
