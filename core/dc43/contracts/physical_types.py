"""The physical types of the engines ODCS contracts describe, read as Spark types (no Spark needed).

:func:`parse_physical` reads a ``physicalType`` as written for Spark SQL / Databricks,
PostgreSQL, MySQL, SQL Server, Snowflake, BigQuery, Oracle, Trino or Avro (case-insensitive,
with parameters, arrays and nested types) into a :class:`PhysicalType`: the Spark type it
becomes (:class:`Atomic`, :class:`Decimal`, :class:`Array`, :class:`Map`, :class:`Struct`, or a
:class:`Container` whose element types come from the property's ``items`` / ``properties``)
and what the declaration limits beyond that Spark type: a maximum length (``varchar(n)``), a
numeric range (``int unsigned``, ``float(5,2)``) or allowed values (MySQL ``enum('a','b')``),
which the expectation plan turns into rules.  A name Spark SQL knows keeps Spark's meaning
(``float`` is 4 bytes, ``int`` 4 bytes, ``date`` has no time).  :class:`UnknownPhysicalType`
names what could not be read; the caller falls back to the ``logicalType``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NoReturn

import attrs

#: Spark's largest decimal precision
MAX_PRECISION = 38


@attrs.frozen
class Atomic:
    """A Spark atomic type, by its DDL name (``string``, ``int``, ``timestamp_ntz``...)."""

    name: str


@attrs.frozen
class Decimal:
    precision: int = 10
    scale: int = 0


@attrs.frozen
class Array:
    element: Node


@attrs.frozen
class Map:
    key: Node
    value: Node


@attrs.frozen
class Field:
    name: str
    type: Node
    nullable: bool = True


@attrs.frozen
class Struct:
    fields: tuple[Field, ...]


@attrs.frozen
class Container:
    """``array``/``list``, ``object``/``struct``/``record`` or ``map`` without element types: those
    come from the property's ``items`` or nested ``properties``."""

    kind: str  # "array", "object" or "map"


Node = Atomic | Decimal | Array | Map | Struct | Container


@attrs.frozen
class PhysicalType:
    """A ``physicalType`` read: its Spark type and the limits its declaration adds."""

    text: str
    node: Node
    max_length: int | None = None
    low: float | int | None = None
    high: float | int | None = None
    values: tuple[str, ...] = ()


class UnknownPhysicalType(ValueError):
    """A ``physicalType`` that is not one of the known forms; the message says why."""


# Names, lower case, by the Spark type they become.  Multi-word names are written with one space.
_STRINGS_WITH_LENGTH = (
    "string", "text", "varchar", "char", "character", "character varying", "char varying", "bpchar",
    "nchar", "nvarchar", "nchar varying", "national character", "national char", "national character varying",
    "national char varying", "varchar2", "nvarchar2", "tinytext", "mediumtext", "longtext", "ntext", "citext",
    "clob", "nclob", "long varchar",
)
_STRINGS = (
    "json", "jsonb", "xml", "uuid", "uniqueidentifier", "inet", "cidr", "macaddr", "macaddr8", "time", "timetz",
    "interval", "geography", "geometry", "enum", "sysname", "rowid", "urowid", "varbit", "bit varying",
    "tsvector", "hierarchyid", "ipaddress",
)
_BINARIES = (
    "binary", "varbinary", "bytea", "blob", "tinyblob", "mediumblob", "longblob", "bytes", "raw", "long raw",
    "image", "fixed", "binary varying",
)
_NAMES: dict[str, str] = {
    **dict.fromkeys(_STRINGS_WITH_LENGTH, "string"),
    **dict.fromkeys(_STRINGS, "string"),
    **dict.fromkeys(_BINARIES, "binary"),
    **dict.fromkeys(("boolean", "bool"), "boolean"),
    **dict.fromkeys(("tinyint", "byte", "int1"), "tinyint"),
    **dict.fromkeys(("smallint", "short", "int2", "smallserial", "serial2", "year"), "smallint"),
    **dict.fromkeys(("int", "integer", "int4", "serial", "serial4", "mediumint", "int3", "time-millis"), "int"),
    **dict.fromkeys(("bigint", "long", "int8", "bigserial", "serial8", "int64", "oid", "time-micros"), "bigint"),
    **dict.fromkeys(("float", "real", "float4", "binary_float", "float32"), "float"),
    **dict.fromkeys(("double", "double precision", "float8", "float64", "binary_double"), "double"),
    "date": "date",
    **dict.fromkeys(("timestamp", "timestamptz", "timestamp_ltz", "timestamp_tz", "datetime", "datetime2",
                     "smalldatetime", "datetimeoffset", "timestamp-millis", "timestamp-micros"), "timestamp"),
    **dict.fromkeys(("timestamp_ntz", "local-timestamp-millis", "local-timestamp-micros"), "timestamp_ntz"),
    "variant": "variant",
}
_DECIMALS = ("decimal", "numeric", "dec", "number", "bignumeric", "bigdecimal")
#: decimals whose bare name has a fixed precision (Spark's ``decimal`` alone is decimal(10,0))
_BARE_DECIMALS = {"number": (38, 10), "money": (19, 4), "smallmoney": (10, 4), "bignumeric": (76, 38),
                  "bigdecimal": (76, 38)}
_CONTAINERS = {"array": "array", "list": "array", "map": "map", "object": "object", "struct": "object",
               "record": "object"}
_INTEGER_RANGES = {"tinyint": (-(2**7), 2**7 - 1), "smallint": (-(2**15), 2**15 - 1),
                   "mediumint": (-(2**23), 2**23 - 1), "int": (-(2**31), 2**31 - 1),
                   "integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
#: ``unsigned`` integers need the next wider Spark type
_UNSIGNED = {"tinyint": "smallint", "smallint": "int", "mediumint": "int", "int": "bigint", "integer": "bigint"}
_TIME_ZONES = ("with time zone", "without time zone", "with local time zone")
_PRECISION_ONLY = ("timestamp", "timestamptz", "timestamp_ltz", "timestamp_tz", "timestamp_ntz", "datetime",
                   "datetime2", "datetimeoffset", "time", "timetz")
_INTERVAL_FIELDS = ("year", "month", "day", "hour", "minute", "second", "to")
_TOKEN = re.compile(r"\s*(?:(`(?:[^`]|``)*`|\"(?:[^\"]|\"\")*\")|('(?:[^']|'')*')|([A-Za-z_][A-Za-z0-9_\-$]*)"
                    r"|(\d+)|([<>(),:\[\]*]))")


def parse_physical(text: str) -> PhysicalType:
    """``text`` read as a physical type; :class:`UnknownPhysicalType` when it is not one."""
    return _Reader(text).read()


def is_temporal(prop: Any) -> bool | None:
    """Whether a property holds points in time (timestamp, timestamp_ntz or date), from its
    ``physicalType`` or else its ``logicalType``; None when neither says."""
    physical = (getattr(prop, "physicalType", None) or "").strip()
    if physical:
        try:
            node = parse_physical(physical).node
        except UnknownPhysicalType:
            node = None
        if node is not None:
            return node in (Atomic("timestamp"), Atomic("timestamp_ntz"), Atomic("date"))
    logical = (getattr(prop, "logicalType", None) or "").strip().lower()
    return logical in ("timestamp", "date") if logical else None


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text.strip()
        self.tokens = self._tokens()
        self.pos = 0
        self.max_length: int | None = None
        self.bounds: tuple[float | int | None, float | int | None] | None = None
        self.values: tuple[str, ...] = ()

    def read(self) -> PhysicalType:
        if not self.tokens:
            self._fail("it is empty")
        node = self._type(top=True)
        if self.pos < len(self.tokens):
            self._fail(f"unexpected '{self.tokens[self.pos]}' after the type")
        low, high = self.bounds if self.bounds else (None, None)
        if not isinstance(node, (Atomic, Decimal)):  # limits of array elements are not rules
            self.max_length, low, high, self.values = None, None, None, ()
        return PhysicalType(self.text, node, self.max_length, low, high, self.values)

    def _tokens(self) -> list[str]:
        tokens: list[str] = []
        index = 0
        while index < len(self.text):
            match = _TOKEN.match(self.text, index)
            if match is None:
                self._fail(f"unexpected character '{self.text[index:].strip()[0]}'")
            tokens.append(match.group().strip())
            index = match.end()
        return tokens

    def _fail(self, problem: str) -> NoReturn:
        raise UnknownPhysicalType(problem)

    def _peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else ""

    def _next(self) -> str:
        token = self._peek()
        if not token:
            self._fail("it ends too early")
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

    def _word(self) -> str:
        """The next type name, lower case, with the words of a multi-word name."""
        name = self._next().lower()
        if not re.match(r"[a-z_]", name):
            self._fail(f"expected a type name but found '{name}'")
        while self._peek() and any(phrase == f"{name} {self._peek().lower()}"
                                   or phrase.startswith(f"{name} {self._peek().lower()} ")
                                   for phrase in (*_NAMES, *_TIME_ZONES)):
            name = f"{name} {self._next().lower()}"
        return name

    def _params(self) -> list[str]:
        """The parenthesised parameters after a name (numbers, ``max``, ``*``, quoted values), if any."""
        if self._peek() != "(":
            return []
        self._expect("(")
        params: list[str] = []
        while self._peek() != ")":
            if params:
                self._expect(",")
            token = self._next()
            while self._peek().lower() in ("byte", "char"):  # Oracle: varchar2(20 char)
                self._next()
            params.append(token)
        self._expect(")")
        return params

    def _type(self, *, top: bool = False) -> Node:
        name = self._word()
        if name.startswith("_") and name[1:] in _NAMES:  # PostgreSQL's array names: _int4
            node: Node = Array(self._scalar(name[1:], [], top=False))
        elif name in ("array", "list", "map") and self._peek() in ("<", "("):
            node = self._generic(name)
        elif name in ("struct", "row", "record") and self._peek() in ("<", "("):
            node = self._struct()
        elif name in _CONTAINERS:
            node = Container(_CONTAINERS[name])
        else:
            node = self._scalar(name, self._params(), top=top)
        return self._array_suffix(node)

    def _array_suffix(self, node: Node) -> Node:
        """``int[]``, ``varchar(5)[3][]``, ``integer array``: arrays written after the element type."""
        while True:
            if self._peek() == "[":
                self._expect("[")
                if self._peek() != "]":
                    self._number()
                self._expect("]")
            elif self._peek().lower() == "array" and self._peek(1) not in ("<", "("):
                self._next()
            else:
                return node
            node = Array(node)

    def _generic(self, name: str) -> Node:
        close = ">" if self._next() == "<" else ")"
        first = self._type()
        if name == "map":
            self._expect(",")
            node: Node = Map(first, self._type())
        else:
            node = Array(first)
        self._expect(close)
        return node

    def _struct(self) -> Struct:
        close = ">" if self._next() == "<" else ")"
        fields: list[Field] = []
        while self._peek() != close:
            if fields:
                self._expect(",")
            token = self._next()
            if token[0] in "`\"":
                name = token[1:-1].replace(token[0] * 2, token[0])
            elif re.match(r"[A-Za-z_]", token):
                name = token
            else:
                self._fail(f"expected a field name but found '{token}'")
            if self._peek() == ":":
                self._next()
            node = self._type()
            nullable = True
            if self._peek().lower() == "not":
                self._next()
                if self._next().lower() != "null":
                    self._fail("expected NOT NULL")
                nullable = False
            if self._peek().lower() == "comment":
                self._next()
                self._next()
            fields.append(Field(name, node, nullable))
        self._expect(close)
        return Struct(tuple(fields))

    def _scalar(self, name: str, params: Sequence[str], *, top: bool) -> Node:
        sign = ""
        while self._peek().lower() in ("unsigned", "signed", "zerofill"):
            word = self._next().lower()
            sign = sign if word == "zerofill" else word
        zone = self._time_zone(name, params)
        if name == "interval":  # Oracle's and Spark's interval day(2) to second(6)
            while self._peek().lower() in _INTERVAL_FIELDS:
                self._next()
                self._params()
            return Atomic("string")
        if name in _DECIMALS or name in _BARE_DECIMALS:
            return self._decimal(name, params, sign, top=top)
        if name == "bit":
            return self._bit(params)
        if name == "enum" and params:
            values = [p[1:-1].replace("''", "'") if p.startswith("'") else p for p in params]
            if top:
                self.values = tuple(values)
            return Atomic("string")
        spark = _NAMES.get(name)
        if spark is None:
            self._fail(f"unknown type '{name}'")
        if name in _UNSIGNED and sign == "unsigned":
            if top:
                self.bounds = (0, 2 * _INTEGER_RANGES[name][1] + 1)
            return Atomic(_UNSIGNED[name])
        if name == "bigint" and sign == "unsigned":  # decimal(20,0) holds no more than 2**64 - 1 does
            if top:
                self.bounds = (0, None)
            return Decimal(20, 0)
        if name == "mediumint" and top:
            self.bounds = _INTEGER_RANGES[name]
        if zone.startswith("with ") and spark == "timestamp_ntz":
            self._fail(f"'{name}' has no time zone but the type says '{zone}'")
        return self._parameterised(name, spark, params, top=top)

    def _time_zone(self, name: str, params: Sequence[str]) -> str:
        """``with time zone`` and the like after ``timestamp(6)`` or ``time``: the zone does not change the
        Spark type (a Spark timestamp is an instant)."""
        temporal = name in ("time", "timetz") or _NAMES.get(name) in ("timestamp", "timestamp_ntz")
        if self._peek().lower() not in ("with", "without") or not temporal:
            return ""
        words = []
        while self._peek().lower() in ("with", "without", "local", "time", "zone"):
            words.append(self._next().lower())
        zone = " ".join(words)
        if zone not in _TIME_ZONES:
            self._fail(f"'{zone}' is not one of: {', '.join(_TIME_ZONES)}")
        return zone

    def _parameterised(self, name: str, spark: str, params: Sequence[str], *, top: bool) -> Node:
        if not params:
            return Atomic(spark)
        if spark in ("string", "binary") and name not in _STRINGS:
            length = params[0]
            if len(params) != 1 or not (length.isdigit() or length.lower() == "max"):
                self._fail(f"'{name}' takes a length: {name}(n)")
            if top and length.isdigit():
                self.max_length = int(length)
            return Atomic(spark)
        if spark in ("float", "double"):
            return self._float(name, spark, params, top=top)
        if name in _PRECISION_ONLY or spark in ("tinyint", "smallint", "int", "bigint"):
            if len(params) != 1 or not params[0].isdigit():  # fractional digits, or MySQL's display width
                self._fail(f"'{name}' takes one number in parentheses")
            return Atomic(spark)
        self._fail(f"type '{name}' takes no parameters")

    def _float(self, name: str, spark: str, params: Sequence[str], *, top: bool) -> Node:
        """``float(p)``: 4 bytes up to 24 binary digits, else 8; MySQL's ``float(m,d)``: m digits, d after
        the point, a range."""
        if not all(p.isdigit() for p in params) or len(params) > 2:
            self._fail(f"'{name}' takes float(p) or float(m,d)")
        digits = [int(p) for p in params]
        if len(digits) == 1:
            return Atomic("float" if digits[0] <= 24 and spark == "float" else "double")
        total, after = digits
        if after > total:
            self._fail(f"{name}({total},{after}) has more digits after the point than in all")
        if top:
            largest = float(10 ** (total - after) - 10 ** -after) if after else 10**total - 1
            self.bounds = (-largest, largest)
        return Atomic(spark)

    def _decimal(self, name: str, params: Sequence[str], sign: str, *, top: bool) -> Node:
        if not params:
            precision, scale = _BARE_DECIMALS.get(name, (10, 0))
        else:
            if len(params) > 2 or not all(p.isdigit() or p == "*" for p in params):
                self._fail(f"'{name}' takes {name}(p) or {name}(p,s)")
            precision = MAX_PRECISION if params[0] == "*" else int(params[0])
            scale = int(params[1]) if len(params) == 2 else 0
        if not 1 <= precision or scale > precision:
            self._fail(f"{name}({precision},{scale}) needs 1 <= precision and scale <= precision")
        if precision > MAX_PRECISION:
            self._fail(f"{name} with {precision} digits does not fit a Spark decimal (at most {MAX_PRECISION})")
        if sign == "unsigned" and top:
            self.bounds = (0, None)
        return Decimal(precision, scale)

    def _bit(self, params: Sequence[str]) -> Node:
        """``bit`` and ``bit(1)`` are booleans (SQL Server, MySQL); ``bit(n)`` holds n bits."""
        if len(params) > 1 or (params and not params[0].isdigit()):
            self._fail("'bit' takes bit(n)")
        return Atomic("boolean" if not params or params[0] == "1" else "binary")
