"""The record key a Kafka write derives from the contract's primary key (no pyspark)."""

from __future__ import annotations

from typing import Any


def primary_key(contract: Any) -> list[str]:
    """Primary-key columns of the contract's first schema object, by the data's names (``physicalName``),
    in ``primaryKeyPosition`` order (declaration order breaks ties; properties without a position come last)."""
    objects = contract.schema_ or []
    properties = (objects[0].properties or []) if objects else []
    keyed = [(prop.primaryKeyPosition is None, prop.primaryKeyPosition or 0, index,
              (prop.physicalName or "").strip() or prop.name)
             for index, prop in enumerate(properties) if prop.primaryKey]
    return [name for *_, name in sorted(keyed)]
