"""Dataclass configs ↔ ROS parameters: every field is declared with its description, then validated.

A node config is a dataclass whose fields use ``param(default, doc, read_only=...)``; ``declare_config`` declares
one parameter per field (with a ParameterDescriptor carrying the doc), builds the dataclass (its
``__post_init__`` raises ``ValueError`` on bad values, so a bad YAML fails at start with a clear message) and
``validate_update`` checks a runtime ``set_parameters`` request against the same rules.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.exceptions import InvalidParameterTypeException
from rclpy.node import Node
from rclpy.parameter import Parameter

C = TypeVar("C")


def _default(f: dataclasses.Field) -> Any:
    """A field's default value (calling its factory for lists)."""
    return f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    """Accept an integer for a float field (YAML ``1`` for ``1.0``); anything else of the wrong type is an error."""
    default = _default(f)
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, float) and not isinstance(value, float):
        raise ValueError(f"parameter {f.name} must be a number, got {value!r}")
    return value


def declare_config(node: Node, cls: type[C]) -> C:
    """Declare every field of ``cls`` as a parameter of ``node`` and return the validated config."""
    values = {}
    for f in dataclasses.fields(cls):
        default = _default(f)
        descriptor = ParameterDescriptor(description=f.metadata.get("doc", ""),
                                         read_only=bool(f.metadata.get("read_only", True)),
                                         dynamic_typing=isinstance(default, float))
        if isinstance(default, list) and not default:
            raise TypeError(f"list parameter {f.name} needs a non-empty default to fix its type")
        try:
            node.declare_parameter(f.name, default, descriptor)
        except InvalidParameterTypeException as exc:
            raise ValueError(f"parameter {f.name}: {exc}") from exc
        values[f.name] = _coerce(f, node.get_parameter(f.name).value)
    return cls(**values)


def validate_update(current: C, params: list[Parameter]) -> tuple[SetParametersResult, C]:
    """Check a runtime parameter update: returns (result, new config); the config is unchanged on failure."""
    fields = {f.name: f for f in dataclasses.fields(current)}  # type: ignore[arg-type]
    try:
        updates = {p.name: _coerce(fields[p.name], p.value) for p in params if p.name in fields}
        if not updates:
            return SetParametersResult(successful=True), current
        new = dataclasses.replace(current, **updates)  # type: ignore[type-var]
    except (ValueError, TypeError) as exc:
        return SetParametersResult(successful=False, reason=str(exc)), current
    return SetParametersResult(successful=True), new
