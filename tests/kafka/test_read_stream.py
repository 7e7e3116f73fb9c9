"""Streaming reads from a real broker: exact per-batch counts, dead letters, secrets."""

from __future__ import annotations

import json
import logging

import pytest
from dc43.errors import Dc43Error
from dc43.formats import DECODE_ERROR_COLUMN
from dc43_integrations.spark.io import read_stream_with_contract

from tests.kafka.client import consume, produce
from tests.kafka.orders import CONTRACT_ID, order, services
from tests.spark.orders import start_write, stop_all

pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.connect]

RECORDS = [
    ("k0", order(1, "ann", 10.0)),
    ("k1", order(2, "bob", -5.0, "USD")),                      # ge:amount
    ("k2", order(3, None)),                                    # not_null:customer
    ("k3", "not json at all"),                                 # decode
    ("k4", order(4, "cid", "abc")),                            # decode: amount
    ("k5", order(5, "dan", 1.0, "XXX")),                       # enum:currency
    ("k6", order(6, "eve", 2.0, "GBP")),
]
SECRET = "s3cr3t-do-not-leak"
JAAS = f"org.apache.kafka.common.security.plain.PlainLoginModule required username='u' password='{SECRET}';"


def _read(spark, bootstrap, topic, svc, **options):
    return read_stream_with_contract(
        spark=spark, contract_id=CONTRACT_ID, format="kafka", table=topic,
        options={"kafka.bootstrap.servers": bootstrap, "startingOffsets": "earliest", **options}, **svc)


def test_one_batch_counts_decode_errors_and_dead_letters_carry_offsets(spark, kafka_broker, new_topic, tmp_path):
    topic, dlq = new_topic("orders"), new_topic("orders-dlq")
    produce(kafka_broker, topic, RECORDS)
    svc = services()
    df, validation = _read(spark, kafka_broker, topic, svc, **{
        "dc43.deadLetter.topic": dlq, "dc43.deadLetter.checkpointLocation": str(tmp_path / "dlq-cp")})
    assert validation.ok, validation.errors
    (dead_letter_query,) = validation.details["streaming_queries"]
    result, sink = start_write(df, tmp_path, svc, enforce=False, trigger={"availableNow": True})
    try:
        for query in result.details["streaming_queries"]:
            assert query.awaitTermination(120)
        dead_letter_query.processAllAvailable()
    finally:
        stop_all(result)
        dead_letter_query.stop()

    (batch,) = result.details["streaming_batches"]
    assert batch["row_count"] == 7
    assert batch["status"] == "block"
    metrics = batch["metrics"]
    assert metrics["violations.decode"] == 2
    assert metrics["violations.ge:amount"] == 1
    assert metrics["violations.not_null:customer"] == 2  # order 3, and the value that is not JSON
    assert metrics["violations.enum:currency"] == 1

    sunk = spark.table(sink)
    assert DECODE_ERROR_COLUMN not in sunk.columns
    assert {r.order_id for r in sunk.where("customer is not null").collect()} == {1, 2, 4, 5, 6}

    letters = consume(kafka_broker, dlq, expected=2)
    assert [(r.key, json.loads(r.value)["offset"]) for r in letters] == [(b"k3", 3), (b"k4", 4)]
    poison = [json.loads(r.value) for r in letters]
    assert poison[0]["value"] == "not json at all"
    assert poison[0]["error"] == "value is not a JSON object"
    assert poison[1]["error"] == "fields not matching the contract's types: amount"
    assert {p["topic"] for p in poison} == {topic} and {p["partition"] for p in poison} == {0}
    assert all(p["timestamp"] for p in poison)


def test_metadata_columns_on_request(spark, kafka_broker, new_topic, tmp_path):
    topic = new_topic("orders")
    produce(kafka_broker, topic, RECORDS[:2])
    df, _ = _read(spark, kafka_broker, topic, services(), **{"dc43.metadata": "true"})
    name = f"meta_{topic.replace('-', '_')}"
    query = df.writeStream.format("memory").queryName(name).start()
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    rows = spark.table(name).orderBy("_kafka_offset").collect()
    assert [(r._kafka_key, r._kafka_topic, r._kafka_partition, r._kafka_offset) for r in rows] == [
        ("k0", topic, 0, 0), ("k1", topic, 0, 1)]
    assert all(r._kafka_timestamp is not None for r in rows)


def test_sasl_secrets_appear_nowhere_in_results_records_or_logs(spark, kafka_broker, new_topic, tmp_path, caplog):
    topic = new_topic("orders")
    produce(kafka_broker, topic, RECORDS[:4])
    svc = services()
    secrets = {"kafka.sasl.mechanism": "PLAIN", "kafka.sasl.jaas.config": JAAS}  # unused on PLAINTEXT
    caplog.set_level(logging.INFO)  # py4j's DEBUG log echoes every JVM call, option values included
    caplog.set_level(logging.DEBUG, logger="dc43")
    caplog.set_level(logging.DEBUG, logger="dc43_kafka")
    df, validation = _read(spark, kafka_broker, topic, svc, **secrets, **{
        "dc43.deadLetter.topic": new_topic("dlq"), "dc43.deadLetter.checkpointLocation": str(tmp_path / "dlq")})
    result, _ = start_write(df, tmp_path, svc, enforce=False, trigger={"availableNow": True})
    queries = [*validation.details["streaming_queries"], *result.details["streaming_queries"]]
    try:
        for query in queries:
            query.processAllAvailable()
    finally:
        stop_all(result)
        validation.details["streaming_queries"][0].stop()
    governance = svc["governance_service"]
    seen = [repr(validation), repr(validation.details), repr(result), repr(result.details),
            repr(governance.observations()), repr(governance.verdicts(CONTRACT_ID)), caplog.text,
            *(str(q.lastProgress) for q in queries)]
    assert len(result.details["streaming_batches"]) == 1
    assert governance.observations() and governance.verdicts(CONTRACT_ID)
    assert not [text for text in seen if SECRET in text]


def test_dead_letters_can_go_to_any_sink_format(spark, kafka_broker, new_topic, tmp_path):
    topic = new_topic("orders")
    produce(kafka_broker, topic, RECORDS)
    _, validation = _read(spark, kafka_broker, topic, services(), **{
        "dc43.deadLetter.format": "parquet", "dc43.deadLetter.path": str(tmp_path / "dlq"),
        "dc43.deadLetter.checkpointLocation": str(tmp_path / "dlq-cp")})
    (query,) = validation.details["streaming_queries"]
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    rows = spark.read.parquet(str(tmp_path / "dlq")).orderBy("offset").collect()
    assert [(r.key, r.offset, r.partition, r.topic) for r in rows] == [(b"k3", 3, 0, topic), (b"k4", 4, 0, topic)]
    assert rows[0].value == "not json at all" and rows[1].error.endswith(": amount")


def test_a_dead_letter_query_without_checkpoint_is_refused(spark, kafka_broker, new_topic, tmp_path):
    with pytest.raises(Dc43Error, match="dc43.deadLetter.checkpointLocation"):
        _read(spark, kafka_broker, new_topic("orders"), services(), **{"dc43.deadLetter.topic": "dlq"})
    assert not [q for q in spark.streams.active if q.name and q.name.startswith("dc43_dead_letters")]
