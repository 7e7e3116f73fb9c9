"""Small ODCS contracts for the outline and diff tests: an ``orders`` object of the given
properties, object-level quality rules, SLAs and more objects."""

from __future__ import annotations

from typing import Any

from open_data_contract_standard.model import OpenDataContractStandard


def contract(*properties: dict[str, Any], quality: list[dict[str, Any]] | None = None,
             slas: list[dict[str, Any]] | None = None, objects: list[dict[str, Any]] = (),
             version: str = "1.0.0") -> OpenDataContractStandard:
    obj: dict[str, Any] = {"name": "orders", "properties": list(properties)}
    if quality:
        obj["quality"] = quality
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.orders", "version": version, "name": "Orders",
        "status": "active", "description": {"purpose": "Orders placed in the shop.", "usage": "Daily sales reports."},
        "schema": [obj, *objects], "slaProperties": slas or []})


def prop(name: str, physical: str = "string", **fields: Any) -> dict[str, Any]:
    return {"name": name, "physicalType": physical, **fields}
