"""Physical types as the engines' own exports write them read as Spark types, with their limits."""

from __future__ import annotations

import pytest
from dc43.contracts.physical_types import (
    Array,
    Atomic,
    Decimal,
    Field,
    Map,
    Struct,
    UnknownPhysicalType,
    parse_physical,
)

STRING, INT, LONG = Atomic("string"), Atomic("int"), Atomic("bigint")
TIMESTAMP = Atomic("timestamp")

ENGINES = {
    "postgresql": [
        ("int2", Atomic("smallint")), ("int4", INT), ("int8", LONG), ("serial", INT), ("bigserial", LONG),
        ("integer", INT), ("real", Atomic("float")), ("double precision", Atomic("double")),
        ("float8", Atomic("double")), ("numeric(12,2)", Decimal(12, 2)), ("bpchar", STRING),
        ("character varying", STRING), ("text", STRING), ("uuid", STRING), ("json", STRING), ("jsonb", STRING),
        ("bytea", Atomic("binary")), ("boolean", Atomic("boolean")), ("date", Atomic("date")),
        ("timestamptz", TIMESTAMP), ("timestamp without time zone", TIMESTAMP),
        ("timestamp(3) with time zone", TIMESTAMP), ("time", STRING), ("time with time zone", STRING),
        ("interval", STRING), ("money", Decimal(19, 4)), ("text[]", Array(STRING)),
        ("varchar(50)[]", Array(STRING)), ("_int4", Array(INT)), ("integer[][]", Array(Array(INT))),
        ("int4[3]", Array(INT)), ("inet", STRING),
    ],
    "mysql": [
        ("TINYINT", Atomic("tinyint")), ("int(11)", INT), ("INT(10) UNSIGNED", LONG),
        ("smallint unsigned", INT), ("BIGINT UNSIGNED", Decimal(20, 0)), ("mediumint", INT),
        ("DOUBLE", Atomic("double")), ("FLOAT(3,2)", Atomic("float")), ("decimal(10,2) unsigned", Decimal(10, 2)),
        ("DATETIME(6)", TIMESTAMP), ("YEAR", Atomic("smallint")), ("LONGTEXT", STRING),
        ("MEDIUMBLOB", Atomic("binary")), ("ENUM('new','paid')", STRING), ("BIT(1)", Atomic("boolean")),
    ],
    "sqlserver": [
        ("bit", Atomic("boolean")), ("nvarchar(max)", STRING), ("NVARCHAR(100)", STRING),
        ("uniqueidentifier", STRING), ("datetime2(7)", TIMESTAMP), ("datetimeoffset", TIMESTAMP),
        ("smalldatetime", TIMESTAMP), ("money", Decimal(19, 4)), ("smallmoney", Decimal(10, 4)),
        ("varbinary(max)", Atomic("binary")), ("float(24)", Atomic("float")), ("float(53)", Atomic("double")),
        ("xml", STRING), ("image", Atomic("binary")),
    ],
    "snowflake": [
        ("NUMBER(38,0)", Decimal(38, 0)), ("NUMBER", Decimal(38, 10)), ("NUMBER(10,2)", Decimal(10, 2)),
        ("VARCHAR(16777216)", STRING), ("TIMESTAMP_NTZ(9)", Atomic("timestamp_ntz")),
        ("TIMESTAMP_LTZ", TIMESTAMP), ("TIMESTAMP_TZ(9)", TIMESTAMP), ("FLOAT", Atomic("float")),
        ("BOOLEAN", Atomic("boolean")), ("BINARY", Atomic("binary")), ("DATE", Atomic("date")),
        ("GEOGRAPHY", STRING),
    ],
    "bigquery": [
        ("INT64", LONG), ("FLOAT64", Atomic("double")), ("NUMERIC", Decimal(10, 0)), ("NUMERIC(20,4)", Decimal(20, 4)),
        ("STRING(36)", STRING), ("BYTES", Atomic("binary")), ("BOOL", Atomic("boolean")), ("DATETIME", TIMESTAMP),
        ("JSON", STRING), ("ARRAY<STRING>", Array(STRING)),
        ("STRUCT<id INT64 NOT NULL, tags ARRAY<STRING>>",
         Struct((Field("id", LONG, nullable=False), Field("tags", Array(STRING))))),
    ],
    "oracle": [
        ("VARCHAR2(100 CHAR)", STRING), ("NVARCHAR2(20)", STRING), ("NUMBER(*,2)", Decimal(38, 2)),
        ("NUMBER(9)", Decimal(9, 0)), ("BINARY_DOUBLE", Atomic("double")), ("FLOAT(126)", Atomic("double")),
        ("CLOB", STRING), ("BLOB", Atomic("binary")), ("RAW(16)", Atomic("binary")),
        ("TIMESTAMP(6) WITH LOCAL TIME ZONE", TIMESTAMP), ("INTERVAL DAY(2) TO SECOND(6)", STRING),
    ],
    "trino": [
        ("varchar", STRING), ("array(varchar)", Array(STRING)), ("map(varchar, bigint)", Map(STRING, LONG)),
        ("row(id bigint, name varchar(10))", Struct((Field("id", LONG), Field("name", STRING)))),
        ("timestamp(3) with time zone", TIMESTAMP), ("varbinary", Atomic("binary")), ("ipaddress", STRING),
    ],
    "avro": [
        ("int", INT), ("long", LONG), ("bytes", Atomic("binary")), ("fixed", Atomic("binary")), ("enum", STRING),
        ("timestamp-millis", TIMESTAMP), ("local-timestamp-micros", Atomic("timestamp_ntz")),
        ("time-millis", INT), ("time-micros", LONG),
    ],
    "spark": [
        ("STRING", STRING), ("varchar( 10 )", STRING), ("decimal", Decimal(10, 0)), ("timestamp_ntz", Atomic("timestamp_ntz")),
        ("map<string,decimal(10,2)>", Map(STRING, Decimal(10, 2))), ("variant", Atomic("variant")),
        ("struct<id:bigint, `zip code`: string NOT NULL COMMENT 'postal'>",
         Struct((Field("id", LONG), Field("zip code", STRING, nullable=False)))),
    ],
}


@pytest.mark.parametrize(("text", "node"), [case for cases in ENGINES.values() for case in cases],
                         ids=[f"{engine}:{text}" for engine, cases in ENGINES.items() for text, _ in cases])
def test_each_engines_types_read_as_spark_types(text: str, node: object) -> None:
    assert parse_physical(text).node == node


@pytest.mark.parametrize(("text", "length"), [
    ("varchar(2)", 2), ("CHAR(3)", 3), ("character varying(255)", 255), ("VARCHAR2(20 BYTE)", 20),
    ("NVARCHAR(40)", 40), ("STRING(36)", 36), ("binary(16)", 16), ("varchar(max)", None), ("varchar", None),
    ("varchar(5)[]", None),  # element limits are not rules
])
def test_declared_lengths(text: str, length: int | None) -> None:
    assert parse_physical(text).max_length == length


@pytest.mark.parametrize(("text", "low", "high"), [
    ("tinyint unsigned", 0, 255), ("smallint unsigned", 0, 65535), ("int(10) unsigned", 0, 4294967295),
    ("mediumint", -8388608, 8388607), ("mediumint unsigned", 0, 16777215), ("bigint unsigned", 0, None),
    ("float(3,2)", -9.99, 9.99), ("double(7,0)", -9999999, 9999999), ("decimal(10,2) unsigned", 0, None),
    ("int", None, None), ("decimal(10,2)", None, None),
])
def test_declared_ranges(text: str, low: float | None, high: float | None) -> None:
    parsed = parse_physical(text)
    assert (parsed.low, parsed.high) == (low, high)


def test_enum_values_are_kept() -> None:
    assert parse_physical("enum('new','it''s')").values == ("new", "it's")


@pytest.mark.parametrize(("text", "reason"), [
    ("int4range", "unknown type 'int4range'"),
    ("BIGNUMERIC", "does not fit a Spark decimal"),
    ("decimal(50,2)", "does not fit a Spark decimal (at most 38)"),
    ("numeric(3,4)", "scale <= precision"),
    ("array<int", "ends too early"),
    ("geometry(point)", "takes no parameters"),
    ("varchar(ten)", "takes a length"),
    ("timestamp_ntz with time zone", "has no time zone"),
    ("", "empty"),
])
def test_what_cannot_be_read_says_why(text: str, reason: str) -> None:
    with pytest.raises(UnknownPhysicalType, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_physical(text)
