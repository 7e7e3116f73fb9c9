"""ODCS property types map exactly to Spark types."""

from __future__ import annotations

import json

import pytest
from dc43.errors import SchemaMappingError
from dc43.spark.types import (
    contract_properties,
    contract_struct,
    odcs_type_name,
    schema_to_dict,
    spark_type,
)
from open_data_contract_standard.model import OpenDataContractStandard, SchemaProperty
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    ByteType,
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

pytestmark = pytest.mark.spark


def prop(**fields: object) -> SchemaProperty:
    return SchemaProperty.model_validate({"name": "col", **fields})


@pytest.mark.parametrize(
    ("physical", "expected"),
    [
        ("string", StringType()),
        ("STRING", StringType()),
        ("varchar", StringType()),
        ("VARCHAR(255)", StringType()),
        ("varchar( 10 )", StringType()),
        ("char(3)", StringType()),
        ("text", StringType()),
        ("boolean", BooleanType()),
        ("bool", BooleanType()),
        ("tinyint", ByteType()),
        ("byte", ByteType()),
        ("smallint", ShortType()),
        ("short", ShortType()),
        ("int", IntegerType()),
        ("Integer", IntegerType()),
        ("bigint", LongType()),
        ("long", LongType()),
        ("float", FloatType()),
        ("real", FloatType()),
        ("double", DoubleType()),
        ("decimal", DecimalType()),
        ("decimal(10,2)", DecimalType(10, 2)),
        ("DECIMAL(38, 0)", DecimalType(38, 0)),
        ("numeric(12,4)", DecimalType(12, 4)),
        ("decimal(5)", DecimalType(5, 0)),
        ("date", DateType()),
        ("timestamp", TimestampType()),
        ("timestamp_ntz", TimestampNTZType()),
        ("binary", BinaryType()),
        ("array<int>", ArrayType(IntegerType())),
        ("array<array<string>>", ArrayType(ArrayType(StringType()))),
        ("map<string,decimal(10,2)>", MapType(StringType(), DecimalType(10, 2))),
        (
            "struct<id:bigint, `zip code`: string NOT NULL, tags:array<string>>",
            StructType(
                [
                    StructField("id", LongType()),
                    StructField("zip code", StringType(), nullable=False),
                    StructField("tags", ArrayType(StringType())),
                ]
            ),
        ),
    ],
)
def test_physical_types(physical: str, expected: object) -> None:
    assert spark_type(prop(physicalType=physical, logicalType="string")) == expected


@pytest.mark.parametrize(
    ("logical", "expected"),
    [
        ("string", StringType()),
        ("integer", LongType()),
        ("number", DoubleType()),
        ("boolean", BooleanType()),
        ("date", DateType()),
        ("timestamp", TimestampType()),
    ],
)
def test_logical_types(logical: str, expected: object) -> None:
    assert spark_type(prop(logicalType=logical)) == expected


def test_nested_object_and_array_properties() -> None:
    customer = prop(
        name="customer",
        logicalType="object",
        properties=[
            {"name": "id", "physicalType": "bigint", "required": True},
            {
                "name": "address",
                "physicalType": "record",
                "properties": [{"name": "zip", "logicalType": "string"}],
            },
            {
                "name": "phones",
                "logicalType": "array",
                "items": {"logicalType": "string", "required": True},
            },
        ],
    )
    assert spark_type(customer) == StructType(
        [
            StructField("id", LongType(), nullable=False),
            StructField("address", StructType([StructField("zip", StringType())])),
            StructField("phones", ArrayType(StringType(), containsNull=False)),
        ]
    )


def test_array_of_objects() -> None:
    lines = prop(
        physicalType="array",
        items={"logicalType": "object", "properties": [{"name": "sku", "physicalType": "string"}]},
    )
    assert spark_type(lines) == ArrayType(StructType([StructField("sku", StringType())]))


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"physicalType": "varchar2(10)"}, "unknown type 'varchar2'"),
        ({"physicalType": "int(11)"}, "type 'int' takes no parameters"),
        ({"physicalType": "array<int"}, "ends too early"),
        ({"physicalType": "decimal(40,2)"}, "precision must be 1..38"),
        ({"physicalType": "stringy"}, "unknown type 'stringy'"),
        ({"logicalType": "time"}, "unknown logicalType 'time'"),
        ({}, "neither physicalType nor logicalType"),
        ({"physicalType": "array"}, "has no 'items'"),
        ({"logicalType": "object"}, "has no nested properties"),
    ],
)
def test_unmappable_types(definition: dict, message: str) -> None:
    with pytest.raises(SchemaMappingError, match="property 'col'") as raised:
        spark_type(prop(**definition))
    assert message in str(raised.value)


def test_unknown_nested_type_names_dotted_path_and_accepted_types() -> None:
    customer = prop(
        name="customer",
        logicalType="object",
        properties=[
            {
                "name": "address",
                "logicalType": "object",
                "properties": [{"name": "zip", "physicalType": "zipcode"}],
            }
        ],
    )
    with pytest.raises(SchemaMappingError) as raised:
        spark_type(customer)
    message = str(raised.value)
    assert "property 'customer.address.zip'" in message
    assert "'zipcode'" in message
    assert "bigint" in message and "decimal(p,s)" in message


def test_array_item_path_in_errors() -> None:
    tags = prop(name="tags", logicalType="array", items={"physicalType": "uuid"})
    with pytest.raises(SchemaMappingError, match=r"property 'tags\[\]'"):
        spark_type(tags)


def contract(schema: list[dict] | None) -> OpenDataContractStandard:
    document = {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "sales.orders",
        "version": "1.0.0",
        "status": "active",
    }
    if schema is not None:
        document["schema"] = schema
    return OpenDataContractStandard.model_validate(document)


TWO_OBJECTS = [
    {
        "name": "orders",
        "properties": [
            {"name": "id", "physicalType": "bigint", "required": True},
            {"name": "note", "logicalType": "string"},
        ],
    },
    {"name": "lines", "properties": [{"name": "qty", "logicalType": "integer"}]},
]


def test_contract_struct_defaults_to_first_object() -> None:
    assert contract_struct(contract(TWO_OBJECTS)) == StructType(
        [StructField("id", LongType(), nullable=False), StructField("note", StringType())]
    )
    assert contract_struct(contract(TWO_OBJECTS), "lines") == StructType(
        [StructField("qty", LongType())]
    )
    assert [p.name for p in contract_properties(contract(TWO_OBJECTS))] == ["id", "note"]


def test_contract_struct_unknown_object_lists_names() -> None:
    with pytest.raises(SchemaMappingError, match="no schema object 'refunds'.*'orders', 'lines'"):
        contract_struct(contract(TWO_OBJECTS), "refunds")


@pytest.mark.parametrize("schema", [None, []])
def test_contract_without_schema(schema: list | None) -> None:
    with pytest.raises(SchemaMappingError, match="contract 'sales.orders' has no schema"):
        contract_struct(contract(schema))


def test_duplicate_property_is_rejected() -> None:
    duplicated = [{"name": "orders", "properties": [{"name": "id", "logicalType": "string"}] * 2}]
    with pytest.raises(SchemaMappingError, match="'id' is declared twice"):
        contract_struct(contract(duplicated))


def test_type_names_and_schema_dict() -> None:
    struct = StructType(
        [
            StructField("id", LongType(), nullable=False),
            StructField("amount", DecimalType(10, 2)),
            StructField("tags", ArrayType(StringType())),
        ]
    )
    assert odcs_type_name(MapType(StringType(), IntegerType())) == "map<string,int>"
    described = schema_to_dict(struct)
    assert described == {
        "fields": [
            {"name": "id", "type": "bigint", "nullable": False},
            {"name": "amount", "type": "decimal(10,2)", "nullable": True},
            {"name": "tags", "type": "array<string>", "nullable": True},
        ]
    }
    assert json.loads(json.dumps(described)) == described


def test_ddl_round_trips_through_spark(spark) -> None:
    ddl = "struct<id:bigint,amount:decimal(10,2),tags:array<string>,attrs:map<string,int>>"
    parsed = spark_type(prop(physicalType=ddl))
    frame = spark.createDataFrame([], StructType([StructField("value", parsed)]))
    assert odcs_type_name(frame.schema["value"].dataType) == ddl
