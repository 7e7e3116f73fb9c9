"""Which data column holds each property: its ``physicalName``, where that differs from its name.

The data side (DataFrames, files, tables, Kafka messages) uses physical names, the contract side
(rules, metrics, verdicts) logical ones.  Pure ODCS, no Spark.
"""

from __future__ import annotations

from typing import Any

from dc43.errors import SchemaMappingError


def physical_names(contract: Any, object_name: str | None = None) -> dict[str, str]:
    """Logical name -> ``physicalName`` of the named schema object's (the first by default) top-level
    properties whose data column is named otherwise; two properties naming one column are refused."""
    objects = contract.schema_ or []
    obj = next((o for o in objects if o.name == object_name), None) if object_name else (objects or [None])[0]
    if obj is None:
        return {}
    names: dict[str, str] = {}
    for prop in obj.properties or []:
        physical = (prop.physicalName or "").strip()
        if prop.name and physical and physical != prop.name:
            names[prop.name] = physical
        _refuse_nested_physical_names(prop, prop.name or "")
    logical = [prop.name for prop in obj.properties or [] if prop.name]
    taken: dict[str, str] = {}
    for name in logical:
        data = names.get(name, name)
        if data in taken:
            raise SchemaMappingError(f"schema object '{obj.name}': properties '{taken[data]}' and '{name}' both name "
                                     f"the data column '{data}'; give each its own physicalName")
        taken[data] = name
    return names


def _refuse_nested_physical_names(prop: Any, path: str) -> None:
    for child in [*(prop.properties or []), *([prop.items] if prop.items is not None else [])]:
        child_path = f"{path}.{child.name}" if child.name else f"{path}[]"
        physical = (child.physicalName or "").strip()
        if physical and child.name and physical != child.name:
            raise SchemaMappingError(f"property '{child_path}': a physicalName on a nested field ('{physical}') is "
                                     "not read by dc43; name the field as the data does, or set physicalName on "
                                     "top-level properties only")
        _refuse_nested_physical_names(child, child_path)


def data_column(column: str, names: dict[str, str]) -> str:
    """The data's name of the (dotted) logical ``column``: its top-level property's physical name."""
    head, dot, rest = column.partition(".")
    return names.get(head, head) + dot + rest
