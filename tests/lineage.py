"""A check of OpenLineage events against the client's model (the receiver: tests/http_receiver.py).

``openlineage-python`` ships no JSON schema files: its facet and event classes are generated
from the OpenLineage JSON schemas and validate what they are built from.  :func:`conforms`
rebuilds a received event with those classes, choosing each facet's class by its
``_schemaURL``, and checks that serialising the rebuilt event gives back exactly what was
received: an unknown field, a missing required field or a wrong type fails.
"""

from __future__ import annotations

import enum
import importlib
import json
import pkgutil
import types
import typing
from typing import Any

import attr
from openlineage.client import generated
from openlineage.client.event_v2 import RunEvent
from openlineage.client.generated.base import BaseFacet
from openlineage.client.serde import Serde


def _facet_classes() -> dict[str, type]:
    classes: dict[str, type] = {}
    for module in pkgutil.iter_modules(generated.__path__):
        loaded = importlib.import_module(f"{generated.__name__}.{module.name}")
        for value in vars(loaded).values():
            if isinstance(value, type) and issubclass(value, BaseFacet) and attr.has(value):
                classes[value._get_schema()] = value
    return classes


FACETS = _facet_classes()


def _build(cls: Any, value: Any) -> Any:
    """``value`` (parsed JSON) as an instance of the annotated type ``cls``."""
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        options = [c for c in typing.get_args(cls) if c is not type(None)]
        return None if value is None else _build(options[0], value)
    if origin is list:
        return [_build(typing.get_args(cls)[0], v) for v in value]
    if origin is dict:
        item = typing.get_args(cls)[1]
        return {k: _build(item, v) for k, v in value.items()}
    if isinstance(cls, type) and issubclass(cls, BaseFacet):
        facet = FACETS.get(value.get("_schemaURL"))
        assert facet is not None, f"no facet class of openlineage-python has _schemaURL {value.get('_schemaURL')}"
        return _instance(facet, value)
    if isinstance(cls, type) and attr.has(cls):
        return _instance(cls, value)
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        return cls(value)
    return value


def _instance(cls: type, value: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {a.name: a for a in attr.fields(cls)}
    unknown = set(value) - set(known)
    assert not unknown, f"{cls.__name__} has no field {sorted(unknown)}"
    kwargs = {known[k].alias: _build(hints[k], v) for k, v in value.items() if known[k].init}
    return cls(**kwargs)


def conforms(event: dict[str, Any]) -> RunEvent:
    """``event`` rebuilt as the client's ``RunEvent``; raises when it does not fit the model."""
    rebuilt = _instance(RunEvent, event)
    changed = _differences(event, json.loads(Serde.to_json(rebuilt)))
    assert not changed, f"rebuilt with the client's classes, the event changes: {changed}"
    return rebuilt


def _differences(sent: Any, rebuilt: Any, where: str = "") -> list[str]:
    """Where ``rebuilt`` differs from ``sent``; an empty list or mapping the model defaults to is no change."""
    if isinstance(sent, dict) and isinstance(rebuilt, dict):
        keys = set(sent) | {k for k, v in rebuilt.items() if v not in ({}, [])}
        return [d for k in sorted(keys) for d in _differences(sent.get(k), rebuilt.get(k), f"{where}.{k}")]
    if isinstance(sent, list) and isinstance(rebuilt, list) and len(sent) == len(rebuilt):
        return [d for i, (a, b) in enumerate(zip(sent, rebuilt)) for d in _differences(a, b, f"{where}[{i}]")]
    return [] if sent == rebuilt else [f"{where}: {sent!r} became {rebuilt!r}"]
