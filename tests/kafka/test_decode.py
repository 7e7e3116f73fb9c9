"""Decoding JSON values to contract columns and encoding rows to records (Spark, no broker)."""

from __future__ import annotations

import json

import pytest
from dc43.formats import DECODE_ERROR_COLUMN
from dc43_kafka.codec import decode, encode
from open_data_contract_standard.model import OpenDataContractStandard

from tests.kafka.orders import keyed_orders_contract

pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.connect]

GOOD = '{"order_id": 1, "customer": "ann", "amount": 1.5, "currency": "EUR"}'
VALUES = {
    GOOD: None,
    '{"order_id": 2, "customer": null}': None,  # nulls are the contract's business, not decoding's
    '{"order_id": 3, "customer": "bob", "amount": "abc"}': "fields not matching the contract's types: amount",
    '{"order_id": "4", "amount": 1.5}': "fields not matching the contract's types: order_id",
    '{"order_id": 5.5, "amount": true}': "fields not matching the contract's types: order_id, amount",
    '{"order_id": 99999999999999999999}': "fields not matching the contract's types: order_id",
    "not json": "value is not a JSON object",
    "": "value is not a JSON object",
    "42": "value is not a JSON object",
    "null": "value is not a JSON object",
    '[{"order_id": 6}]': "value is not a JSON object",
    '{"order_id": 7': "value is not a JSON object",
    '{"order_id": 8} trailing': "value is not a JSON object",
    '{"order_id": 9,, }': "value is not a JSON object",
    None: "value is null",
}


def _records(spark, values):
    rows = [(None if v is None else v.encode(), "t", 0, i) for i, v in enumerate(values)]
    return spark.createDataFrame(rows, "value binary, topic string, partition int, offset bigint") \
        .selectExpr("cast(null as binary) as key", "*", "current_timestamp() as timestamp")


@pytest.mark.parametrize("ansi", ["true", "false"])
def test_every_undecodable_value_gets_a_reason_whatever_the_ansi_mode(spark, ansi):
    previous = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", ansi)
    try:
        rows = decode(_records(spark, list(VALUES)), keyed_orders_contract(), metadata=True).collect()
    finally:
        spark.conf.set("spark.sql.ansi.enabled", previous)
    assert [r[DECODE_ERROR_COLUMN] for r in rows] == list(VALUES.values())
    assert rows[0].asDict() | {"_kafka_timestamp": None} == {
        "order_id": 1, "customer": "ann", "amount": 1.5, "currency": "EUR", DECODE_ERROR_COLUMN: None,
        "_kafka_key": None, "_kafka_topic": "t", "_kafka_partition": 0, "_kafka_offset": 0,
        "_kafka_timestamp": None}
    assert rows[2]["order_id"] == 3 and rows[2]["amount"] is None  # the fields that fit are kept


def test_decode_errors_are_found_when_only_one_column_is_used(spark):
    df = decode(_records(spark, [GOOD, '{"order_id": 2, "amount": "abc"}']), keyed_orders_contract(),
                metadata=False)
    assert [r[0] for r in df.select(DECODE_ERROR_COLUMN).collect()] == [
        None, "fields not matching the contract's types: amount"]
    assert df.columns == ["order_id", "customer", "amount", "currency", DECODE_ERROR_COLUMN]


def test_encode_keys_by_the_primary_key_and_writes_contract_columns_only(spark):
    df = spark.createDataFrame([(1, "ann", 2.5, "EUR", "boom", "k")],
                               f"order_id bigint, customer string, amount double, currency string, "
                               f"{DECODE_ERROR_COLUMN} string, _kafka_key string")
    (row,) = encode(df, keyed_orders_contract()).collect()
    assert row.key == "1"
    assert json.loads(row.value) == {"order_id": 1, "customer": "ann", "amount": 2.5, "currency": "EUR"}


def test_composite_keys_are_json_in_primary_key_position_order(spark):
    contract = OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "x", "version": "1.0.0", "status": "active",
        "schema": [{"name": "lines", "properties": [
            {"name": "line", "physicalType": "int", "primaryKey": True, "primaryKeyPosition": 2},
            {"name": "note", "physicalType": "string"},
            {"name": "order_id", "physicalType": "bigint", "primaryKey": True, "primaryKeyPosition": 1},
        ]}],
    })
    df = spark.createDataFrame([(3, None, 7)], "line int, note string, order_id bigint")
    (row,) = encode(df, contract).collect()
    assert row.key == '{"order_id":7,"line":3}'
    assert json.loads(row.value) == {"line": 3, "order_id": 7}
