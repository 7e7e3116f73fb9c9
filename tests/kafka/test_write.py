"""Writing to a real broker: every row once, keyed by the primary key; batch round trip."""

from __future__ import annotations

import json

import pytest
from dc43_integrations.spark.io import read_with_contract, write_stream_with_contract, write_with_contract

from tests.kafka.client import consume
from tests.kafka.orders import CONTRACT_ID, services
from tests.spark.orders import SCHEMA, stop_all

pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.connect]

ROWS = [(1, "ann", 10.0, "EUR"), (2, "bob", 20.0, "USD"), (3, "cid", None, "GBP"), (4, "dan", 4.5, "EUR")]


def test_stream_write_delivers_every_row_once_keyed_by_primary_key(spark, kafka_broker, new_topic, tmp_path):
    source = str(tmp_path / "source")
    spark.createDataFrame(ROWS, SCHEMA).selectExpr("*", "'extra' as note").write.parquet(source)
    df = spark.readStream.schema(f"{SCHEMA}, note string").parquet(source)
    topic = new_topic("orders-out")
    result = write_stream_with_contract(
        df=df, contract_id=CONTRACT_ID, format="kafka", table=topic, trigger={"availableNow": True},
        options={"kafka.bootstrap.servers": kafka_broker, "checkpointLocation": str(tmp_path / "cp")},
        **services())
    try:
        for query in result.details["streaming_queries"]:
            assert query.awaitTermination(120)
            assert query.exception() is None
    finally:
        stop_all(result)
    assert [b["status"] for b in result.details["streaming_batches"]] == ["ok"]

    records = consume(kafka_broker, topic, expected=len(ROWS))
    assert sorted((r.key, json.loads(r.value)["order_id"]) for r in records) == [
        (b"1", 1), (b"2", 2), (b"3", 3), (b"4", 4)]
    values = {json.loads(r.value)["order_id"]: json.loads(r.value) for r in records}
    assert values[1] == {"order_id": 1, "customer": "ann", "amount": 10.0, "currency": "EUR"}
    assert values[3] == {"order_id": 3, "customer": "cid", "currency": "GBP"}  # nulls are left out


def test_batch_write_then_batch_read_round_trips(spark, kafka_broker, new_topic):
    topic, svc = new_topic("orders-batch"), services()
    options = {"kafka.bootstrap.servers": kafka_broker}
    write_with_contract(df=spark.createDataFrame(ROWS, SCHEMA), contract_id=CONTRACT_ID, format="kafka",
                        table=topic, options=options, **svc)
    df, validation = read_with_contract(spark=spark, contract_id=CONTRACT_ID, format="kafka", table=topic,
                                        options={**options, "dc43.metadata": "true"}, **svc)
    assert validation.ok, validation.errors
    rows = sorted(df.collect(), key=lambda r: r.order_id)
    assert [tuple(r)[:4] for r in rows] == ROWS
    assert [r._kafka_key for r in rows] == ["1", "2", "3", "4"]
    assert {r._kafka_topic for r in rows} == {topic}


def test_physical_names_are_the_json_fields_and_the_record_key(spark, kafka_broker, new_topic):
    from dc43.contracts import LocalContractServiceClient
    from dc43_memory.store import InMemoryContractStore

    from tests.spark.test_physical_names import DATA, WHEN, contract

    store = InMemoryContractStore()
    store.put(contract(sql=False))
    svc = {**services(), "contract_service": LocalContractServiceClient(store)}
    topic, options = new_topic("orders-physical"), {"kafka.bootstrap.servers": kafka_broker}
    rows = [(1, "ann", 10.0, WHEN), (2, "bob", 20.0, WHEN)]
    write_with_contract(df=spark.createDataFrame(rows, DATA), contract_id="sales.orders_p", format="kafka",
                        table=topic, options=options, **svc)
    records = sorted(consume(kafka_broker, topic, expected=2), key=lambda r: r.key)
    assert [r.key for r in records] == [b"1", b"2"]  # the primary key, by its physical column
    assert set(json.loads(records[0].value)) == {"ORD_ID", "CUST_NM", "AMT", "PLACED_TS"}
    df, validation = read_with_contract(spark=spark, contract_id="sales.orders_p", format="kafka", table=topic,
                                        options=options, **svc)
    assert validation.ok, validation.errors
    assert sorted(tuple(r)[:3] for r in df.collect()) == [(1, "ann", 10.0), (2, "bob", 20.0)]
    assert df.columns[:4] == ["ORD_ID", "CUST_NM", "AMT", "PLACED_TS"]
