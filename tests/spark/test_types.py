"""ODCS property types map exactly to Spark types."""

from __future__ import annotations

import json

import pytest
from dc43.errors import SchemaMappingError
from dc43.spark.types import (
    contract_properties,
    contract_struct,
    map_object,
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
    notes: list[str] = []
    assert spark_type(prop(physicalType=physical, logicalType="string"), notes=notes) == expected
    assert notes == []  # read from the physical type, not the logical one


@pytest.mark.parametrize(
    ("logical", "expected"),
    [
        ("string", StringType()),
        ("integer", LongType()),
        ("number", DoubleType()),
        ("boolean", BooleanType()),
        ("date", DateType()),
        ("timestamp", TimestampType()),
        ("time", StringType()),
        ("INTEGER", LongType()),
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
        ({"physicalType": "int4range"}, "cannot read physicalType 'int4range' (unknown type 'int4range'), and it "
                                        "has no logicalType to fall back on"),
        ({"physicalType": "array<int"}, "(it ends too early)"),
        ({"physicalType": "decimal(40,2)"}, "does not fit a Spark decimal (at most 38)"),
        ({"physicalType": "stringy", "logicalType": "text"}, "its logicalType 'text' is not usable either "
                                                             "(unknown logicalType 'text'"),
        ({"logicalType": "duration"}, "unknown logicalType 'duration'"),
        ({}, "neither physicalType nor logicalType"),
        ({"physicalType": "array"}, "describe them under 'items' or write array<T>"),
        ({"physicalType": "map", "logicalType": "object"}, "an object needs its fields listed under 'properties'"),
        ({"logicalType": "object"}, "an object needs its fields listed under 'properties'"),
        ({"logicalType": "array"}, "an array needs its element type described under 'items'"),
    ],
)
def test_unmappable_types(definition: dict, message: str) -> None:
    with pytest.raises(SchemaMappingError, match="property 'col'") as raised:
        spark_type(prop(**definition))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"physicalType": "int4range", "logicalType": "string"}, StringType()),
        ({"physicalType": "BIGNUMERIC", "logicalType": "number"}, DoubleType()),
        ({"physicalType": "list", "logicalType": "array"}, None),
        ({"physicalType": "map", "logicalType": "object", "properties": [{"name": "k", "logicalType": "string"}]},
         StructType([StructField("k", StringType())])),
    ],
)
def test_an_unreadable_physical_type_falls_back_to_the_logical_type_with_a_note(definition: dict,
                                                                                 expected: object) -> None:
    notes: list[str] = []
    if expected is None:  # list is an array, read with its items
        assert spark_type(prop(items={"logicalType": "integer"}, **definition), notes=notes) == ArrayType(LongType())
        assert notes == []
        return
    assert spark_type(prop(**definition), notes=notes) == expected
    assert len(notes) == 1
    assert f"cannot read physicalType '{definition['physicalType']}'" in notes[0]
    assert f"checked as its logicalType '{definition['logicalType']}' ({expected.simpleString()})" in notes[0]


def test_every_unmappable_property_is_named_with_its_schema_object() -> None:
    bad = contract([{"name": "orders", "properties": [
        {"name": "a", "physicalType": "int4range"}, {"name": "b", "physicalType": "int4"},
        {"name": "c", "physicalType": "geometry(point)"}, {"name": "d", "logicalType": "object"}]}])
    mapped = map_object(bad)
    assert mapped.struct is None
    assert [e.split(":")[0] for e in mapped.errors] == [
        "schema object 'orders', property 'a'", "schema object 'orders', property 'c'",
        "schema object 'orders', property 'd'"]
    with pytest.raises(SchemaMappingError) as raised:
        contract_struct(bad)
    assert "property 'a'" in str(raised.value) and "property 'd'" in str(raised.value)


def test_a_long_list_of_errors_is_cut_in_the_raised_message() -> None:
    many = contract([{"name": "wide", "properties": [{"name": f"c{i}", "physicalType": "int4range"}
                                                      for i in range(12)]}])
    assert len(map_object(many).errors) == 12
    with pytest.raises(SchemaMappingError, match=r"and 7 more \(dc43 validate lists them all\)"):
        contract_struct(many)


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
    assert "docs/guide.md#physical-types" in message


def test_array_item_path_in_errors() -> None:
    tags = prop(name="tags", logicalType="array", items={"physicalType": "zipcode"})
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
