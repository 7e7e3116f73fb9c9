"""Kafka as the `inline` writer's sink and as its rejection sink, on a real broker."""

from __future__ import annotations

from typing import Any

import pytest
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
from pyspark.sql import functions as F

from tests.kafka.orders import CONTRACT_ID, services
from tests.spark.conftest import parquet_batches as _parquet_batches
from tests.spark.orders import BATCHES, SCHEMA, stop_all

pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]

parquet_batches = _parquet_batches  # one parquet file per micro-batch (tests/spark's fixture)
INPUT = sorted(row for batch in BATCHES for row in batch)  # 8 rows, two with order_id 6
RULES = "_dc43_rejected_rules"


def _stream(spark: Any, source: str, svc: dict[str, Any]) -> Any:
    df, validation = read_stream_with_contract(spark=spark, contract_id=CONTRACT_ID, format="parquet",
                                               path=source, options={"maxFilesPerTrigger": "1"}, **svc)
    assert validation.ok, validation.errors
    return df


def _topic(spark: Any, bootstrap: str, topic: str, schema: str) -> list[tuple[str | None, Any]]:
    """Every record of ``topic`` read with Spark's own Kafka source: (key, decoded value)."""
    raw = (spark.read.format("kafka").option("kafka.bootstrap.servers", bootstrap)
           .option("subscribe", topic).option("startingOffsets", "earliest").load())
    decoded = raw.select(F.col("key").cast("string").alias("key"),
                         F.from_json(F.col("value").cast("string"), schema).alias("v"))
    return [(r.key, r.v) for r in decoded.collect()]


def _run(result: Any) -> None:
    (query,) = result.details["streaming_queries"]  # the inline writer's one query
    try:
        query.processAllAvailable()
        assert query.exception() is None
    finally:
        stop_all(result)


def test_inline_writer_delivers_every_judged_row_to_a_kafka_topic(
        spark, kafka_broker, new_topic, parquet_batches, tmp_path):
    svc, topic = services(), new_topic("orders-inline")
    source = parquet_batches(SCHEMA, BATCHES)
    result = write_stream_with_contract(
        df=_stream(spark, source, svc), contract_id=CONTRACT_ID, format="kafka", table=topic,
        options={"kafka.bootstrap.servers": kafka_broker, "checkpointLocation": str(tmp_path / "cp")},
        observation_writer="inline", enforce=False, **svc)
    _run(result)

    batches = result.details["streaming_batches"]
    assert [(e["batch_id"], e["row_count"]) for e in batches] == [(0, 2), (1, 3), (2, 2), (3, 1)]
    assert [e["status"] for e in batches] == ["ok", "block", "block", "ok"]  # judged, not enforced
    records = _topic(spark, kafka_broker, topic, SCHEMA)
    assert sorted(tuple(value) for _, value in records) == INPUT  # every row once, nulls intact
    assert sorted(key for key, _ in records) == sorted(str(row[0]) for row in INPUT)  # keyed by order_id


def test_kafka_rejection_sink_takes_the_rows_that_break_rules_with_the_rules_they_broke(
        spark, kafka_broker, new_topic, parquet_batches, tmp_path):
    svc, topic = services(), new_topic("orders-rejected")
    source = parquet_batches(SCHEMA, BATCHES)
    main = tmp_path / "main"
    result = write_stream_with_contract(
        df=_stream(spark, source, svc), contract_id=CONTRACT_ID, format="parquet", path=str(main),
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline", enforce=False,
        rejection_sink={"format": "kafka", "table": topic, "options": {"kafka.bootstrap.servers": kafka_broker}},
        **svc)
    _run(result)

    assert result.details["rejection_sink"] == {"format": "kafka", "table": topic}
    rejected = _topic(spark, kafka_broker, topic, f"{SCHEMA}, {RULES} array<string>")
    rules = {value.order_id: sorted(value[RULES]) for _, value in rejected}
    assert rules == {3: ["ge:amount", "not_null:customer"], 4: ["ge:amount"], 6: ["enum:currency"]}
    assert sorted(key for key, _ in rejected) == ["3", "4", "6"]
    kept = [tuple(r) for r in spark.read.parquet(str(main)).select("order_id", "customer", "amount",
                                                                  "currency").collect()]
    assert sorted(kept + [tuple(value)[:4] for _, value in rejected]) == INPUT  # nothing lost, nothing twice
    assert sorted(row[0] for row in kept) == [1, 2, 5, 6, 7]
