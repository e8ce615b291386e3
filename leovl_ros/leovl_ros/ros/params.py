"""Dataclass configs ↔ ROS parameters: every field is declared with its description, then validated.

A node config is a dataclass whose fields use ``param(default, doc, read_only=...)``; ``declare_parameters``
declares one parameter per field (with a ParameterDescriptor carrying the doc; names get the class's
``PARAMETER_PREFIX``, e.g. ``diagnostics.window_s``), ``read_config`` builds the dataclass from the current values
(its ``__post_init__`` raises ``ValueError`` on bad values: a lifecycle node's ``on_configure`` fails with a clear
message), ``declare_config`` does both for plain nodes, and ``validate_update`` checks a runtime
``set_parameters`` request against the same rules.
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


def _coerce(f: dataclasses.Field, value: Any, name: str = "") -> Any:
    """Accept an integer for a float field (YAML ``1`` for ``1.0``) and an empty list (YAML ``[]``, which ROS
    cannot type: it arrives unset) for a list field; anything else of the wrong type is an error."""
    default = _default(f)
    if isinstance(default, list):
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"parameter {name or f.name} must be a list, got {value!r}")
        return list(value)
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, float) and not isinstance(value, float):
        raise ValueError(f"parameter {name or f.name} must be a number, got {value!r}")
    return value


def parameter_name(cls: type, field_name: str) -> str:
    """The ROS parameter of a config field: the class's ``PARAMETER_PREFIX`` (e.g. ``diagnostics.``) + the name."""
    return getattr(cls, "PARAMETER_PREFIX", "") + field_name


def declare_parameters(node: Node, cls: type) -> list[str]:
    """Declare every field of ``cls`` as a parameter of ``node`` (described, read-only unless the field says
    otherwise). An override of the wrong type keeps the default and is returned as an error text, so a lifecycle
    node reports it from ``on_configure`` instead of failing to exist."""
    errors = []
    for f in dataclasses.fields(cls):
        default = _default(f)
        descriptor = ParameterDescriptor(description=f.metadata.get("doc", ""),
                                         read_only=bool(f.metadata.get("read_only", True)),
                                         dynamic_typing=isinstance(default, (float, list)))
        if isinstance(default, list) and not default:
            raise TypeError(f"list parameter {f.name} needs a non-empty default to fix its type")
        name = parameter_name(cls, f.name)
        try:
            node.declare_parameter(name, default, descriptor)
        except InvalidParameterTypeException as exc:
            errors.append(f"parameter {name}: {exc}")
            node.declare_parameter(name, default, descriptor, ignore_override=True)
    return errors


def read_config(node: Node, cls: type[C]) -> C:
    """The validated config from the node's current values of the parameters ``declare_parameters`` declared
    (``ValueError`` with the offending values when one is out of range)."""
    values = {f.name: _coerce(f, node.get_parameter(parameter_name(cls, f.name)).value, parameter_name(cls, f.name))
              for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**values)


def declare_config(node: Node, cls: type[C]) -> C:
    """Declare every field of ``cls`` as a parameter of ``node`` and return the validated config (a plain node's
    start: any bad value raises ``ValueError``)."""
    errors = declare_parameters(node, cls)
    if errors:
        raise ValueError(errors[0])
    return read_config(node, cls)


def validate_update(current: C, params: list[Parameter]) -> tuple[SetParametersResult, C]:
    """Check a runtime parameter update: returns (result, new config); the config is unchanged on failure."""
    fields = {parameter_name(type(current), f.name): f for f in dataclasses.fields(current)}  # type: ignore[arg-type]
    try:
        updates = {fields[p.name].name: _coerce(fields[p.name], p.value, p.name) for p in params if p.name in fields}
        if not updates:
            return SetParametersResult(successful=True), current
        new = dataclasses.replace(current, **updates)  # type: ignore[type-var]
    except (ValueError, TypeError) as exc:
        return SetParametersResult(successful=False, reason=str(exc)), current
    return SetParametersResult(successful=True), new
