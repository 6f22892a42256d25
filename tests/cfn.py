"""A small assertion helper over emitted template dicts (the shape of CDK's `Template`
assertions), plus a renderer that resolves conditions the way CloudFormation would for one
region, so a test can ask "what does the secondary get?"."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from templates.conditions import NO_VALUE, resolver  # noqa: E402
PSEUDO_DEFAULTS = {"AWS::AccountId": "123456789012", "AWS::Partition": "aws",
                   "AWS::URLSuffix": "amazonaws.com"}


@dataclass
class Cfn:
    """A template dict with the lookups tests need."""

    doc: dict
    values: dict = field(default_factory=dict)  # parameter values, when rendered

    @classmethod
    def of(cls, template) -> "Cfn":
        return cls(json.loads(template.to_json()))

    @property
    def resources(self) -> dict[str, dict]:
        return self.doc.get("Resources", {})

    def of_type(self, type_name: str) -> dict[str, dict]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == type_name}

    def count(self, type_name: str) -> int:
        return len(self.of_type(type_name))

    def props(self, logical_id: str) -> dict:
        return self.resources[logical_id].get("Properties", {})

    def matching(self, type_name: str, expected: dict) -> dict[str, dict]:
        return {lid: r for lid, r in self.of_type(type_name).items()
                if object_like(r.get("Properties", {}), expected)}

    def has_resource_properties(self, type_name: str, expected: dict) -> None:
        if not self.matching(type_name, expected):
            candidates = {lid: r.get("Properties") for lid, r in self.of_type(type_name).items()}
            raise AssertionError(
                f"no {type_name} has properties like {json.dumps(expected, sort_keys=True)}; "
                f"candidates: {json.dumps(candidates, sort_keys=True, default=str)[:2000]}")

    def values(self) -> Iterator[Any]:
        """Every scalar and mapping in the template, depth first."""
        yield from _walk(self.doc)


def object_like(actual: Any, expected: Any) -> bool:
    """Expected mappings match any superset; lists and scalars match exactly."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and object_like(actual[key], value) for key, value in expected.items())
    return actual == expected


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


class Unresolvable(Exception):
    pass


def render(doc: dict, *, region: str, parameters: dict[str, str]) -> Cfn:
    """The template as CloudFormation would see it in `region` with `parameters`: conditions
    evaluated, resources and outputs whose condition is false dropped, `Fn::If` chosen and
    `Ref` to parameters and pseudo parameters replaced by their values. Other intrinsics stay."""
    values = {name: spec.get("Default") for name, spec in doc.get("Parameters", {}).items()}
    unknown = set(parameters) - set(values)
    if unknown:
        raise KeyError(f"not parameters of this template: {sorted(unknown)}")
    values.update(parameters)
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise KeyError(f"parameters without a default need a value: {missing}")
    values.update(PSEUDO_DEFAULTS, **{"AWS::Region": region})

    condition, evaluate = resolver(doc, values)

    rendered = copy.deepcopy(doc)
    for section in ("Resources", "Outputs"):
        kept = {}
        for logical_id, body in rendered.get(section, {}).items():
            if "Condition" in body and not condition(body["Condition"]):
                continue
            kept[logical_id] = evaluate(body)
        rendered[section] = kept
    return Cfn(rendered, values)
