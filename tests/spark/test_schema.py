"""Schema validation and alignment against contracts, on real local Spark."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dc43.errors import SchemaMappingError
from dc43.spark.schema import (
    align_dataframe,
    aligned_columns,
    cast_loss_checks,
    check_schema,
)
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DecimalType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

pytestmark = pytest.mark.spark

ID = {"name": "id", "physicalType": "bigint", "required": True}
NOTE = {"name": "note", "logicalType": "string"}
QTY = {"name": "qty", "physicalType": "int", "required": True}
CUSTOMER = {
    "name": "customer",
    "logicalType": "object",
    "properties": [
        {"name": "name", "logicalType": "string"},
        {"name": "zip", "physicalType": "int"},
    ],
}


def struct(*fields: tuple[str, Any]) -> StructType:
    return StructType([StructField(name, data_type) for name, data_type in fields])


CUSTOMER_OK = StructType([StructField("name", StringType()), StructField("zip", IntegerType())])

# (id, actual schema, contract properties, options, errors, warnings, casts, missing, extra)
CASES = [
    ("exact match", struct(("id", LongType()), ("note", StringType())), [ID, NOTE], {},
     [], [], {}, [], []),
    ("missing required", struct(("note", StringType())), [ID, NOTE], {},
     ["column 'id' is required by the contract but missing"], [], {}, [], []),
    ("missing optional", struct(("id", LongType())), [ID, NOTE], {},
     [], ["column 'note' is optional and missing; it will be filled with nulls"], {}, ["note"], []),
    ("extra warns", struct(("id", LongType()), ("x", StringType())), [ID], {},
     [], ["column 'x' is not in the contract; add it there or drop it"], {}, [], ["x"]),
    ("extra errors", struct(("id", LongType()), ("x", StringType())), [ID],
     {"extra_columns": "error"},
     ["column 'x' is not in the contract; add it there or drop it"], [], {}, [], ["x"]),
    ("extra ignored", struct(("id", LongType()), ("x", StringType())), [ID],
     {"extra_columns": "ignore"}, [], [], {}, [], ["x"]),
    ("castable with auto_cast", struct(("qty", LongType())), [QTY], {},
     [], ["column qty: bigint -> int, will be cast; values that do not fit become violations"],
     {"qty": ("bigint", "int")}, [], []),
    ("castable without auto_cast", struct(("qty", LongType())), [QTY], {"auto_cast": False},
     ["column 'qty' has type bigint but the contract expects int; "
      "cast it before writing or enable auto_cast"], [], {}, [], []),
    ("string to number", struct(("qty", StringType())), [QTY], {},
     [], ["column qty: string -> int, will be cast"], {"qty": ("string", "int")}, [], []),
    ("struct vs int", struct(("qty", CUSTOMER_OK)), [QTY], {},
     ["column 'qty' has type struct<name:string,zip:int> which cannot be cast to the "
      "contract type int"], [], {}, [], []),
    ("int vs struct", struct(("customer", IntegerType())), [CUSTOMER], {},
     ["column 'customer' has type int which cannot be cast"], [], {}, [], []),
    ("nested struct match ignores nullability",
     StructType([StructField("customer", StructType(
         [StructField("name", StringType(), False), StructField("zip", IntegerType(), False)]
     ), False)]), [CUSTOMER], {}, [], [], {}, [], []),
    ("nested castable field",
     struct(("customer", struct(("name", StringType()), ("zip", StringType())))),
     [CUSTOMER], {}, [],
     ["column customer: struct<name:string,zip:string> -> struct<name:string,zip:int>, "
      "will be cast"],
     {"customer": ("struct<name:string,zip:string>", "struct<name:string,zip:int>")}, [], []),
    ("nested uncastable field",
     struct(("customer", struct(("name", StringType()), ("zip", ArrayType(IntegerType()))))),
     [CUSTOMER], {},
     ["column 'customer.zip' has type array<int> which cannot be cast to the contract type int"],
     [], {}, [], []),
    ("nested missing and extra",
     struct(("customer", struct(("name", StringType()), ("city", StringType())))),
     [CUSTOMER], {}, [],
     ["column 'customer.zip' is optional and missing; it will be filled with nulls",
      "column 'customer.city' is not in the contract; add it there or drop it",
      "column customer: struct<name:string,city:string> -> struct<name:string,zip:int>"],
     {"customer": ("struct<name:string,city:string>", "struct<name:string,zip:int>")},
     ["customer.zip"], ["customer.city"]),
    ("nested mismatch without auto_cast",
     struct(("customer", struct(("name", StringType()), ("zip", LongType())))),
     [CUSTOMER], {"auto_cast": False},
     ["column 'customer' has type struct<name:string,zip:bigint> but the contract expects "
      "struct<name:string,zip:int>"], [], {}, [], []),
    ("case-only difference", struct(("ID", LongType())), [ID], {},
     ["column 'id' is required by the contract but missing; did you mean 'ID'? "
      "Column names are case-sensitive, rename it to 'id'"],
     ["column 'ID' is not in the contract (it differs only in case from 'id'); "
      "add it there or drop it"], {}, [], ["ID"]),
]


@pytest.mark.parametrize(
    ("actual", "properties", "options", "errors", "warnings", "casts", "missing", "extra"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_check_schema(
    make_contract, actual, properties, options, errors, warnings, casts, missing, extra
) -> None:
    report = check_schema(actual, make_contract(*properties), **options)
    assert len(report.errors) == len(errors), report.errors
    for message, expected in zip(report.errors, errors):
        assert message.startswith(expected)
    assert len(report.warnings) == len(warnings), report.warnings
    for expected in warnings:
        assert any(message.startswith(expected) for message in report.warnings), report.warnings
    assert report.casts == casts
    assert report.missing == missing
    assert report.extra == extra
    assert report.ok is not errors


def test_invalid_extra_columns_mode(make_contract) -> None:
    with pytest.raises(ValueError, match="extra_columns must be one of warn, error, ignore"):
        check_schema(struct(("id", LongType())), make_contract(ID), extra_columns="drop")


ORDER_PROPERTIES = [
    ID,
    {"name": "qty", "physicalType": "int"},
    {"name": "amount", "physicalType": "decimal(10,2)"},
    {"name": "note", "logicalType": "string"},
]


def test_align_orders_casts_and_fills(spark, make_contract) -> None:
    df = spark.createDataFrame(
        [("x", "12", 1, "1.50"), ("y", "abc", 2, None)],
        "extra string, qty string, id bigint, amount string",
    )
    aligned = align_dataframe(df, make_contract(*ORDER_PROPERTIES))
    assert aligned.schema == StructType(
        [
            StructField("id", LongType()),
            StructField("qty", IntegerType()),
            StructField("amount", DecimalType(10, 2)),
            StructField("note", StringType()),
        ]
    )
    rows = [row.asDict() for row in aligned.orderBy("id").collect()]
    assert rows == [
        {"id": 1, "qty": 12, "amount": Decimal("1.50"), "note": None},
        {"id": 2, "qty": None, "amount": None, "note": None},
    ]


def test_cast_loss_counts_lost_values(spark, make_contract) -> None:
    df = spark.createDataFrame(
        [(1, "12", "1.5"), (2, "abc", None), (3, None, "2")], "id bigint, qty string, amount string"
    )
    checks = cast_loss_checks(df.schema, make_contract(*ORDER_PROPERTIES))
    assert set(checks) == {"qty", "amount"}
    counts = df.agg(*[F.count_if(check).alias(name) for name, check in checks.items()]).first()
    assert counts.asDict() == {"qty": 1, "amount": 0}


def test_columns_with_dots_and_spaces(spark, make_contract) -> None:
    properties = [
        {"name": "a.b", "physicalType": "int"},
        {"name": "zip code", "logicalType": "string"},
        {"name": "c d", "logicalType": "integer"},
    ]
    df = spark.createDataFrame([("7", 5)], "`a.b` string, `c d` int")
    contract = make_contract(*properties)
    aligned = align_dataframe(df, contract)
    assert aligned.columns == ["a.b", "zip code", "c d"]
    assert aligned.first().asDict() == {"a.b": 7, "zip code": None, "c d": 5}
    assert df.select(cast_loss_checks(df.schema, contract)["a.b"]).first()[0] is False


def test_nested_alignment_by_field_name(spark, make_contract) -> None:
    properties = [
        ID,
        CUSTOMER,
        {"name": "lines", "logicalType": "array", "items": {
            "logicalType": "object",
            "properties": [{"name": "qty", "physicalType": "int"}],
        }},
    ]
    df = spark.createDataFrame(
        [(1, ("x9", "Ann", "Paris"), [("3",), ("many",)]), (2, None, None)],
        "id bigint, customer struct<zip:string,name:string,city:string>, "
        "lines array<struct<qty:string>>",
    )
    contract = make_contract(*properties)
    report = check_schema(df.schema, contract)
    assert report.ok, report.errors
    aligned = align_dataframe(df, contract).orderBy("id").collect()
    assert aligned[0].customer.asDict() == {"name": "Ann", "zip": None}
    assert [line.qty for line in aligned[0].lines] == [3, None]
    assert aligned[1].customer is None and aligned[1].lines is None
    checks = cast_loss_checks(df.schema, contract)
    lost = df.select("id", *[c.alias(n) for n, c in checks.items()]).orderBy("id").collect()
    assert [row.asDict() for row in lost] == [
        {"id": 1, "customer": True, "lines": True},
        {"id": 2, "customer": False, "lines": False},
    ]


def test_aligned_columns_refuses_uncastable_type(spark, make_contract) -> None:
    with pytest.raises(SchemaMappingError, match="column 'qty' has type array<int>"):
        aligned_columns(struct(("qty", ArrayType(IntegerType()))), make_contract(QTY))


def test_alignment_on_streaming_dataframe(spark, make_contract, tmp_path: Path) -> None:
    source = tmp_path / "source"
    spark.createDataFrame(
        [(1, "12"), (2, "abc")], "id bigint, qty string"
    ).write.parquet(str(source))
    contract = make_contract(ID, QTY, NOTE)
    stream = spark.readStream.schema("id bigint, qty string").parquet(str(source))
    lost = cast_loss_checks(stream.schema, contract)["qty"].alias("qty_lost")
    output = stream.select(*aligned_columns(stream.schema, contract), lost)
    query = output.writeStream.format("memory").queryName("dc43_aligned").start()
    try:
        query.processAllAvailable()
        rows = [row.asDict() for row in spark.table("dc43_aligned").orderBy("id").collect()]
    finally:
        query.stop()
    assert rows == [
        {"id": 1, "qty": 12, "note": None, "qty_lost": False},
        {"id": 2, "qty": None, "note": None, "qty_lost": True},
    ]
