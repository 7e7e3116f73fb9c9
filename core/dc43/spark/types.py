"""Exact mapping between ODCS property types and Spark data types.

Physical types are read by :mod:`dc43.contracts.physical_types` (the engines' names, Spark's
meaning first); one that cannot be read falls back to the ``logicalType`` with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from open_data_contract_standard.model import (
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
)
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    ByteType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
    VariantType,
)

from dc43.contracts.physical_names import physical_names
from dc43.contracts.physical_types import (
    Array,
    Atomic,
    Container,
    Decimal,
    Map,
    Node,
    Struct,
    UnknownPhysicalType,
    parse_physical,
)
from dc43.errors import SchemaMappingError

_ATOMIC: dict[str, Callable[[], DataType]] = {
    "string": StringType,
    "binary": BinaryType,
    "boolean": BooleanType,
    "tinyint": ByteType,
    "smallint": ShortType,
    "int": IntegerType,
    "bigint": LongType,
    "float": FloatType,
    "double": DoubleType,
    "date": DateType,
    "timestamp": TimestampType,
    "timestamp_ntz": TimestampNTZType,
    "variant": VariantType,
}
_LOGICAL: dict[str, Callable[[], DataType]] = {
    "string": StringType,
    "integer": LongType,
    "number": DoubleType,
    "boolean": BooleanType,
    "date": DateType,
    "timestamp": TimestampType,
    "time": StringType,
}
ACCEPTED_LOGICAL = ", ".join([*_LOGICAL, "object", "array"])
#: where the accepted physical types are listed
TYPE_TABLE = "docs/guide.md#physical-types"
#: errors a raised SchemaMappingError lists before "and N more"
_LISTED = 5


def spark_type(prop: SchemaProperty, *, path: str = "", notes: list[str] | None = None) -> DataType:
    """Spark type of ``prop``; ``path`` is its dotted name used in messages.  A ``physicalType`` that
    cannot be read falls back to the ``logicalType``, with a note appended to ``notes`` naming both."""
    mapper = _Mapper("")
    found = mapper.type_of(prop, path or prop.name or "<unnamed>")
    if notes is not None:
        notes += mapper.notes
    if found is None:
        raise SchemaMappingError(mapper.errors[0])
    return found


@attrs.frozen
class MappedObject:
    """A schema object's Spark schema (None when some property cannot be mapped), every error, and
    the notes on physical types read through their ``logicalType``."""

    struct: StructType | None
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def map_object(contract: OpenDataContractStandard, object_name: str | None = None) -> MappedObject:
    """The named schema object (the first by default) mapped to Spark types, every error listed."""
    obj = _schema_object(contract, object_name)
    if not obj.properties:
        return MappedObject(None, (f"schema object '{obj.name}' of {_label(contract)} has no properties; "
                                   "list its columns under 'properties'",))
    mapper = _Mapper(f"schema object '{obj.name}', " if obj.name else "")
    struct = mapper.struct(list(obj.properties), prefix="", owner=obj.name or "")
    return MappedObject(None if mapper.errors else struct, tuple(mapper.errors), tuple(mapper.notes))


def type_notes(contract: OpenDataContractStandard, object_name: str | None = None) -> list[str]:
    """The schema object's physical types read through their ``logicalType``, one note each."""
    return list(map_object(contract, object_name).notes)


def contract_properties(
    contract: OpenDataContractStandard, object_name: str | None = None
) -> list[SchemaProperty]:
    """Top-level properties of the named schema object (the first one by default)."""
    obj = _schema_object(contract, object_name)
    if not obj.properties:
        raise SchemaMappingError(
            f"schema object '{obj.name}' of {_label(contract)} has no properties; "
            "list its columns under 'properties'"
        )
    return list(obj.properties)


def contract_struct(
    contract: OpenDataContractStandard, object_name: str | None = None
) -> StructType:
    """Spark schema of a contract's schema object; nullable means not required.  Raises
    :class:`SchemaMappingError` naming every property that cannot be mapped."""
    mapped = map_object(contract, object_name)
    if mapped.struct is None:
        errors = list(mapped.errors)
        more = f"; and {len(errors) - _LISTED} more (dc43 validate lists them all)" if len(errors) > _LISTED else ""
        raise SchemaMappingError("; ".join(errors[:_LISTED]) + more)
    return mapped.struct


def data_struct(contract: OpenDataContractStandard, object_name: str | None = None) -> StructType:
    """:func:`contract_struct` with the names the data carries (:func:`physical_names`)."""
    names = physical_names(contract, object_name)
    struct = contract_struct(contract, object_name)
    return StructType([StructField(names.get(f.name, f.name), f.dataType, f.nullable, f.metadata)
                       for f in struct.fields])


def odcs_type_name(dt: DataType) -> str:
    """Type name posted in observed schemas (Spark's simpleString)."""
    return dt.simpleString()


def schema_to_dict(struct: StructType) -> dict[str, Any]:
    """JSON-safe description of ``struct`` for governance observations."""
    return {
        "fields": [
            {"name": f.name, "type": odcs_type_name(f.dataType), "nullable": f.nullable}
            for f in struct.fields
        ]
    }


def _label(contract: OpenDataContractStandard) -> str:
    return f"contract '{contract.id}'" if contract.id else "the contract"


def _schema_object(contract: OpenDataContractStandard, object_name: str | None) -> SchemaObject:
    objects = contract.schema_ or []
    if not objects:
        raise SchemaMappingError(
            f"{_label(contract)} has no schema; add a schema object with its properties"
        )
    if object_name is None:
        return objects[0]
    for obj in objects:
        if obj.name == object_name:
            return obj
    names = ", ".join(repr(o.name) for o in objects)
    raise SchemaMappingError(
        f"{_label(contract)} has no schema object '{object_name}'; available: {names}"
    )


class _Mapper:
    """Maps properties to Spark types, keeping every error and note (``where`` prefixes them)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.errors: list[str] = []
        self.notes: list[str] = []

    def struct(self, props: list[SchemaProperty], *, prefix: str, owner: str) -> StructType:
        fields: list[StructField] = []
        seen: set[str] = set()
        for index, prop in enumerate(props):
            if not prop.name:
                self._error(f"property #{index + 1} of '{owner}' has no name; give every property a name")
                continue
            path = f"{prefix}{prop.name}"
            if prop.name in seen:
                self._error(f"property '{path}' is declared twice; keep a single definition")
                continue
            seen.add(prop.name)
            found = self.type_of(prop, path)
            if found is not None:
                fields.append(StructField(prop.name, found, nullable=not prop.required))
        return StructType(fields)

    def type_of(self, prop: SchemaProperty, path: str) -> DataType | None:
        """``prop``'s Spark type, or None with an error recorded."""
        physical = (prop.physicalType or "").strip()
        if not physical:
            return self._logical(prop, path, instead_of="")
        try:
            node = parse_physical(physical).node
        except UnknownPhysicalType as exc:
            return self._logical(prop, path, instead_of=f"physicalType '{physical}' ({exc})")
        if isinstance(node, Container) and not self._has_elements(prop, node):
            return self._logical(prop, path, instead_of=f"physicalType '{physical}' (its element types are "
                                                        f"not given: {_ELEMENTS[node.kind]})")
        return self._node(node, prop, path)

    def _logical(self, prop: SchemaProperty, path: str, *, instead_of: str) -> DataType | None:
        """The ``logicalType``'s Spark type; ``instead_of`` names the physical type it stands in for."""
        logical = (prop.logicalType or "").strip().lower()
        if logical in _LOGICAL or (logical in ("object", "array") and self._has_elements(prop, Container(logical))):
            found = _LOGICAL[logical]() if logical in _LOGICAL else self._node(Container(logical), prop, path)
            if instead_of and found is not None:
                self.notes.append(f"{self.where}property '{path}': cannot read {instead_of}; checked as its "
                                  f"logicalType '{prop.logicalType}' ({found.simpleString()}). Write one of the "
                                  f"physical types in {TYPE_TABLE} to check it exactly")
            return found
        if instead_of:
            fallback = (f"its logicalType '{prop.logicalType}' is not usable either ({self._unusable(prop, logical)})"
                        if logical else "and it has no logicalType to fall back on")
            return self._error(f"property '{path}': cannot read {instead_of}, {fallback}; write one of the physical "
                               f"types in {TYPE_TABLE}, or a logicalType: {ACCEPTED_LOGICAL}")
        if logical:
            return self._error(f"property '{path}': {self._unusable(prop, logical)}")
        return self._error(f"property '{path}' has neither physicalType nor logicalType; set one of them")

    def _unusable(self, prop: SchemaProperty, logical: str) -> str:
        if logical == "object":
            return "an object needs its fields listed under 'properties'"
        if logical == "array":
            return "an array needs its element type described under 'items'"
        return f"unknown logicalType '{prop.logicalType}'; use one of: {ACCEPTED_LOGICAL}, or set a physicalType"

    @staticmethod
    def _has_elements(prop: SchemaProperty, node: Container) -> bool:
        """Whether the property describes a bare container's elements (a map's never: write map<K,V>)."""
        if node.kind == "map":
            return False
        return bool(prop.items is not None if node.kind == "array" else prop.properties)

    def _node(self, node: Node, prop: SchemaProperty, path: str) -> DataType | None:
        if isinstance(node, Atomic):
            return _ATOMIC[node.name]()
        if isinstance(node, Decimal):
            return DecimalType(node.precision, node.scale)
        if isinstance(node, Array):
            element = self._node(node.element, prop, path)
            return None if element is None else ArrayType(element, containsNull=True)
        if isinstance(node, Map):
            key, value = self._node(node.key, prop, path), self._node(node.value, prop, path)
            return None if key is None or value is None else MapType(key, value, valueContainsNull=True)
        if isinstance(node, Struct):
            fields = [(f, self._node(f.type, prop, path)) for f in node.fields]
            if any(t is None for _, t in fields):
                return None
            return StructType([StructField(f.name, t, f.nullable) for f, t in fields])
        if node.kind == "array":
            element = self.type_of(prop.items, f"{path}[]")
            return None if element is None else ArrayType(element, containsNull=not prop.items.required)
        if node.kind == "object":
            errors = len(self.errors)
            struct = self.struct(list(prop.properties), prefix=f"{path}.", owner=path)
            return None if len(self.errors) > errors else struct
        return self._error(f"property '{path}': a map's key and value types cannot come from nested properties; "
                           "write them in the physicalType: map<string,int>")

    def _error(self, message: str) -> None:
        self.errors.append(self.where + message)
        return None


_ELEMENTS = {"array": "describe them under 'items' or write array<T>",
             "object": "list the fields under 'properties' or write struct<name:T,...>",
             "map": "write map<K,V>"}
