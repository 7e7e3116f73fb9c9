"""Exact mapping between ODCS property types and Spark data types."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NoReturn

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
)

from dc43.errors import SchemaMappingError

# Physical names without parameters (besides the optional length of varchar/char).
_ATOMIC: dict[str, Callable[[], DataType]] = {
    "string": StringType,
    "text": StringType,
    "varchar": StringType,
    "char": StringType,
    "boolean": BooleanType,
    "bool": BooleanType,
    "tinyint": ByteType,
    "byte": ByteType,
    "smallint": ShortType,
    "short": ShortType,
    "int": IntegerType,
    "integer": IntegerType,
    "bigint": LongType,
    "long": LongType,
    "float": FloatType,
    "real": FloatType,
    "double": DoubleType,
    "date": DateType,
    "timestamp": TimestampType,
    "timestamp_ntz": TimestampNTZType,
    "binary": BinaryType,
}
_LENGTH_TYPES = ("varchar", "char")
_DECIMAL_TYPES = ("decimal", "numeric")
_NESTED_OBJECT = ("object", "struct", "record")
_NESTED_ARRAY = "array"

_LOGICAL: dict[str, Callable[[], DataType]] = {
    "string": StringType,
    "integer": LongType,
    "number": DoubleType,
    "boolean": BooleanType,
    "date": DateType,
    "timestamp": TimestampType,
}

ACCEPTED_PHYSICAL = (
    ", ".join(_ATOMIC)
    + ", varchar(n), char(n), decimal, decimal(p,s), numeric(p,s), array<T>, map<K,V>,"
    " struct<name:T,...>, or object/struct/record/array with nested properties/items"
)
ACCEPTED_LOGICAL = ", ".join([*_LOGICAL, "object", "array"])

_TOKEN = re.compile(r"\s*(?:(`(?:[^`]|``)*`)|([A-Za-z_][A-Za-z0-9_]*)|(\d+)|([<>(),:]))")


def spark_type(prop: SchemaProperty, *, path: str = "") -> DataType:
    """Spark type of ``prop``; ``path`` is its dotted name used in error messages."""
    path = path or prop.name or "<unnamed>"
    physical = (prop.physicalType or "").strip()
    if physical:
        lowered = physical.lower()
        if lowered in _NESTED_OBJECT:
            return _object_type(prop, path)
        if lowered == _NESTED_ARRAY:
            return _array_type(prop, path)
        return _DdlParser(physical, path).parse()
    logical = (prop.logicalType or "").strip().lower()
    if logical in _LOGICAL:
        return _LOGICAL[logical]()
    if logical == "object":
        return _object_type(prop, path)
    if logical == "array":
        return _array_type(prop, path)
    if logical:
        raise SchemaMappingError(
            f"property '{path}': unknown logicalType '{prop.logicalType}'; "
            f"use one of: {ACCEPTED_LOGICAL}, or set a physicalType"
        )
    raise SchemaMappingError(
        f"property '{path}' has neither physicalType nor logicalType; set one of them"
    )


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
    """Spark schema of a contract's schema object; nullable means not required."""
    obj = _schema_object(contract, object_name)
    return _struct(contract_properties(contract, object_name), prefix="", owner=obj.name or "")


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


def _struct(props: list[SchemaProperty], *, prefix: str, owner: str) -> StructType:
    fields: list[StructField] = []
    seen: set[str] = set()
    for index, prop in enumerate(props):
        if not prop.name:
            raise SchemaMappingError(
                f"property #{index + 1} of '{owner}' has no name; give every property a name"
            )
        path = f"{prefix}{prop.name}"
        if prop.name in seen:
            raise SchemaMappingError(
                f"property '{path}' is declared twice; keep a single definition"
            )
        seen.add(prop.name)
        fields.append(
            StructField(prop.name, spark_type(prop, path=path), nullable=not prop.required)
        )
    return StructType(fields)


def _object_type(prop: SchemaProperty, path: str) -> StructType:
    if not prop.properties:
        raise SchemaMappingError(
            f"property '{path}' is an object but has no nested properties; "
            "list its fields under 'properties'"
        )
    return _struct(prop.properties, prefix=f"{path}.", owner=path)


def _array_type(prop: SchemaProperty, path: str) -> ArrayType:
    if prop.items is None:
        raise SchemaMappingError(
            f"property '{path}' is an array but has no 'items'; describe the element type there"
        )
    element = spark_type(prop.items, path=f"{path}[]")
    return ArrayType(element, containsNull=not prop.items.required)


class _DdlParser:
    """Parser for the Spark DDL type forms accepted as physicalType."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.tokens = self._tokenize()
        self.pos = 0

    def parse(self) -> DataType:
        result = self._type()
        if self.pos < len(self.tokens):
            self._fail(f"unexpected '{self.tokens[self.pos]}' after the type")
        return result

    def _tokenize(self) -> list[str]:
        tokens: list[str] = []
        index = 0
        text = self.text.rstrip()
        while index < len(text):
            match = _TOKEN.match(text, index)
            if match is None:
                self._fail(f"unexpected character '{text[index:].strip()[0]}'")
            tokens.append(match.group().strip())
            index = match.end()
        return tokens

    def _fail(self, problem: str) -> NoReturn:
        raise SchemaMappingError(
            f"property '{self.path}': cannot map physicalType '{self.text}' ({problem}); "
            f"accepted types: {ACCEPTED_PHYSICAL}"
        )

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> str:
        token = self._peek()
        if token is None:
            self._fail("the type ends too early")
        self.pos += 1
        return token

    def _expect(self, token: str) -> None:
        found = self._next()
        if found != token:
            self._fail(f"expected '{token}' but found '{found}'")

    def _number(self) -> int:
        token = self._next()
        if not token.isdigit():
            self._fail(f"expected a number but found '{token}'")
        return int(token)

    def _type(self) -> DataType:
        token = self._next()
        name = token.lower()
        if name == "array":
            self._expect("<")
            element = self._type()
            self._expect(">")
            return ArrayType(element, containsNull=True)
        if name == "map":
            self._expect("<")
            key = self._type()
            self._expect(",")
            value = self._type()
            self._expect(">")
            return MapType(key, value, valueContainsNull=True)
        if name == "struct":
            return self._struct()
        if name in _DECIMAL_TYPES:
            return self._decimal()
        if name in _ATOMIC:
            if name in _LENGTH_TYPES and self._peek() == "(":
                self._expect("(")
                self._number()
                self._expect(")")
            elif self._peek() == "(":
                self._fail(f"type '{token}' takes no parameters")
            return _ATOMIC[name]()
        self._fail(f"unknown type '{token}'")

    def _decimal(self) -> DecimalType:
        if self._peek() != "(":
            return DecimalType()
        self._expect("(")
        precision = self._number()
        scale = 0
        if self._peek() == ",":
            self._expect(",")
            scale = self._number()
        self._expect(")")
        if not 1 <= precision <= 38 or scale > precision:
            self._fail("decimal precision must be 1..38 and scale at most the precision")
        return DecimalType(precision, scale)

    def _struct(self) -> StructType:
        self._expect("<")
        fields: list[StructField] = []
        while self._peek() != ">":
            if fields:
                self._expect(",")
            token = self._next()
            if token[0] == "`":
                name = token[1:-1].replace("``", "`")
            elif token[0].isalpha() or token[0] == "_":
                name = token
            else:
                self._fail(f"expected a field name but found '{token}'")
            if self._peek() == ":":
                self._expect(":")
            data_type = self._type()
            nullable = True
            if (self._peek() or "").lower() == "not":
                self._next()
                if self._next().lower() != "null":
                    self._fail("expected NOT NULL")
                nullable = False
            fields.append(StructField(name, data_type, nullable))
        self._expect(">")
        return StructType(fields)
