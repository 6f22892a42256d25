"""A template's conditions and intrinsic choices resolved for given parameter values, the way
CloudFormation resolves them at deploy time: `Ref` to a value, `Fn::Equals/Not/And/Or`,
`Condition`, `Fn::If`, and `AWS::NoValue` dropped from objects and lists. Used to price what
a region would really run (`cost`) and by the tests to render a region's template."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

NO_VALUE = {"Ref": "AWS::NoValue"}


def resolver(doc: Mapping[str, Any], values: Mapping[str, Any]
             ) -> tuple[Callable[[str], bool], Callable[[Any], Any]]:
    """(condition(name) -> bool, evaluate(node) -> node) over `doc` with `values`."""
    cache: dict[str, bool] = {}

    def condition(name: str) -> bool:
        if name not in cache:
            cache[name] = bool(evaluate(doc["Conditions"][name]))
        return cache[name]

    def evaluate(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return node if arg == "AWS::NoValue" else values.get(arg, node)
            if fn == "Condition":
                return condition(arg)
            if fn == "Fn::Equals":
                return evaluate(arg[0]) == evaluate(arg[1])
            if fn == "Fn::Not":
                return not evaluate(arg[0])
            if fn == "Fn::And":
                return all(evaluate(a) for a in arg)
            if fn == "Fn::Or":
                return any(evaluate(a) for a in arg)
            if fn == "Fn::If":
                return evaluate(arg[1] if condition(arg[0]) else arg[2])
        if isinstance(node, dict):
            return {k: v for k, v in ((k, evaluate(v)) for k, v in node.items()) if v != NO_VALUE}
        if isinstance(node, list):
            return [v for v in (evaluate(v) for v in node) if v != NO_VALUE]
        return node

    return condition, evaluate
