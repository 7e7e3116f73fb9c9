"""Kafka pipelines: exactly once across a restart from checkpoints, and the spec's strategy."""

from __future__ import annotations

import threading

import pytest
from dc43.errors import StreamingInterventionError
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract

from tests.kafka.client import produce
from tests.kafka.orders import CONTRACT_ID, order, services
from tests.spark.orders import SCHEMA, start_write, stop_all
from tests.spark.test_streaming_write import BlockAfterFailures

pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]


def _read(spark, bootstrap, topic, svc, per_batch):
    df, validation = read_stream_with_contract(
        spark=spark, contract_id=CONTRACT_ID, format="kafka", table=topic, **svc,
        options={"kafka.bootstrap.servers": bootstrap, "startingOffsets": "earliest",
                 "maxOffsetsPerTrigger": str(per_batch)})
    assert validation.ok, validation.errors
    return df


def _to_parquet(df, tmp_path, svc, **kwargs):
    return write_stream_with_contract(
        df=df, contract_id=CONTRACT_ID, format="parquet", path=str(tmp_path / "out"), enforce=False,
        options={"checkpointLocation": str(tmp_path / "cp")}, **svc, **kwargs)


def test_restart_from_checkpoint_keeps_every_message_exactly_once(spark, kafka_broker, new_topic, tmp_path):
    topic = new_topic("orders")
    produce(kafka_broker, topic, [(str(i), order(i)) for i in range(1, 21)])
    first_batch = threading.Event()
    result = _to_parquet(_read(spark, kafka_broker, topic, services(), per_batch=1), tmp_path, services(),
                         on_streaming_batch=lambda entry: first_batch.set())
    try:
        assert first_batch.wait(120), "no micro-batch was judged within 120 s"
    finally:
        stop_all(result)  # mid-stream: one record per micro-batch, twenty records
    written = spark.read.schema(SCHEMA).parquet(str(tmp_path / "out")).count()
    assert written < 20  # the sink may be a batch ahead of the observer or behind it

    produce(kafka_broker, topic, [(str(i), order(i)) for i in range(21, 25)])
    again = _to_parquet(_read(spark, kafka_broker, topic, services(), per_batch=100), tmp_path, services(),
                        trigger={"availableNow": True})
    try:
        for query in again.details["streaming_queries"]:
            assert query.awaitTermination(120)
            assert query.exception() is None
    finally:
        stop_all(again)
    ids = [r.order_id for r in spark.read.parquet(str(tmp_path / "out")).collect()]
    assert sorted(ids) == list(range(1, 25))


def test_block_after_failures_stops_a_kafka_pipeline_after_the_second_failing_batch(
        spark, kafka_broker, new_topic, tmp_path):
    topic = new_topic("orders")
    produce(kafka_broker, topic, [
        ("1", order(1)), ("2", order(2)),                     # batch 0: clean
        ("3", order(3, None)), ("4", order(4)),               # batch 1: null customer
        ("5", "not json"), ("6", order(6)),                   # batch 2: undecodable
        ("7", order(7)), ("8", order(8)),                     # batch 3: never judged
    ])
    svc = services()
    result, _ = start_write(_read(spark, kafka_broker, topic, svc, per_batch=2), tmp_path, svc, enforce=False,
                            streaming_intervention_strategy=BlockAfterFailures(max_failures=2))
    sink, observer = result.details["streaming_queries"]
    try:
        with pytest.raises(StreamingInterventionError, match="halt after 2 failed batches"):
            observer.processAllAvailable()
        with pytest.raises(StreamingInterventionError):  # the sink was stopped for the same reason
            sink.awaitTermination(60)
        assert not sink.isActive
    finally:
        stop_all(result)
    assert [(e["batch_id"], e["status"]) for e in result.details["streaming_batches"]] == [
        (0, "ok"), (1, "block"), (2, "block")]
    assert result.details["streaming_intervention_batch"] == 2
    assert result.details["streaming_batches"][2]["metrics"]["violations.decode"] == 1
