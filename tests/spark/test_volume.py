"""Volume over time on file streams, one file per micro-batch: rows per window against the
contract's ``rowCount`` bounds, and each batch against the median of the ones before it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from dc43.contracts import LocalContractServiceClient
from dc43.errors import ContractViolationError
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
from dc43_memory.store import InMemoryContractStore
from open_data_contract_standard.model import OpenDataContractStandard

from tests.spark.orders import drained, stop_all

pytestmark = pytest.mark.spark
#: the tests that also run on Spark Connect and the standalone cluster (docs/testing.md: one per
#: behaviour whose code path differs there; the variants of a behaviour run on classic Spark)
REMOTE = (pytest.mark.connect, pytest.mark.cluster)

SCHEMA = "id bigint"
CHANGE, MAX, MIN = "metrics.volume_change:orders", "metrics.volume_max:orders", "metrics.volume_min:orders"


def services_with(services: dict[str, Any], *, window: str | None = None, severity: str = "warning",
                  bounds: dict[str, Any] | None = None, **custom: Any) -> dict[str, Any]:
    quality = [{"metric": "rowCount", "severity": severity, **(bounds or {}),
                "customProperties": [{"property": "dc43.window", "value": window}]}] if window else []
    store = InMemoryContractStore()
    store.put(OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.volume", "version": "1.0.0", "status": "active",
        "schema": [{"name": "orders", "properties": [{"name": "id", "physicalType": "bigint"}], "quality": quality,
                    "customProperties": [{"property": k, "value": v} for k, v in custom.items()]}],
    }))
    return {**services, "contract_service": LocalContractServiceClient(store)}


def batches(*sizes: int, first: int = 0) -> list[list[tuple]]:
    ids = iter(range(first * 1000, first * 1000 + sum(sizes)))
    return [[(next(ids),) for _ in range(size)] for size in sizes]


def start(spark, services, source: str, tmp_path, **kwargs: Any) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="t.volume", format="parquet", path=source,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    return write_stream_with_contract(df=df, contract_id="t.volume", format="parquet", path=str(tmp_path / "out"),
                                      options={"checkpointLocation": str(tmp_path / "cp")}, **services, **kwargs)


def judged(result: Any) -> list[dict[str, Any]]:
    return [e for e in result.details["streaming_batches"] if "metrics" in e]


@pytest.mark.parametrize("writer", [pytest.param("foreach-batch", marks=REMOTE), "inline", "observe"])
def test_a_batch_five_times_the_median_of_the_three_before_warns(spark, parquet_batches, tmp_path, services, writer):
    services = services_with(services, **{"dc43.volumeChangeFactor": 3, "dc43.volumeHistory": 3})
    source = parquet_batches(SCHEMA, batches(4, 2, 4, 20))
    result = drained(start(spark, services, source, tmp_path, observation_writer=writer, enforce=False))
    entries = judged(result)
    assert [e["metrics"][CHANGE] for e in entries] == [None, None, None, 5.0]
    assert [e["status"] for e in entries] == ["ok", "ok", "ok", "warn"]
    assert entries[3]["warnings"] == ["volume_change:orders: volume_change is 5x but must be between 0.333333x and 3x"]
    recorded = services["governance_service"].verdicts(str(tmp_path / "out"))
    assert [v.status for v in recorded] == ["ok", "ok", "ok", "warn"]
    assert recorded[3].metrics[CHANGE] == 5.0
    assert CHANGE not in result.details["streaming_totals"]  # a ratio is the batch's own, never added up


@pytest.mark.connect
def test_the_history_survives_a_restart_on_the_checkpoint(spark, parquet_batches, tmp_path, services):
    services = services_with(services, **{"dc43.volumeChangeFactor": 3, "dc43.volumeHistory": 3})
    source = parquet_batches(SCHEMA, batches(4, 2, 4))
    drained(start(spark, services, source, tmp_path, trigger={"availableNow": True}))
    parquet_batches(SCHEMA, batches(1, first=3), first=3)  # a quarter of the median, after the restart
    (entry,) = judged(drained(start(spark, services, source, tmp_path)))
    assert (entry["batch_id"], entry["metrics"][CHANGE], entry["status"]) == (3, 0.25, "warn")


def clear_of_midnight() -> None:
    """Wait out the last 90 s of a UTC day, so a one-day window does not close during a test."""
    left = 86_400 - time.time() % 86_400
    if left < 90:
        time.sleep(left + 1)


def test_the_gate_stops_before_writing_the_batch_that_takes_the_window_over_its_bound(
        spark, parquet_batches, tmp_path, services):
    services = services_with(services, window="1 day", severity="error", bounds={"mustBeBetween": [1, 10]})
    source = parquet_batches(SCHEMA, batches(5, 3, 4, 1))
    clear_of_midnight()
    result = start(spark, services, source, tmp_path, observation_writer="inline", enforce=True)
    try:
        with pytest.raises(ContractViolationError, match=r"volume_max:orders: volume_max is 12 but must be <= 10"):
            result.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(result)
    assert [e["metrics"][MAX] for e in judged(result)] == [5, 8, 12]
    assert spark.read.parquet(str(tmp_path / "out")).count() == 8  # the third batch was never written


@REMOTE[0]
@REMOTE[1]
def test_a_window_no_batch_reached_counts_zero_rows_at_the_next_batch(spark, parquet_batches, tmp_path, services):
    services = services_with(services, window="1 s", bounds={"mustBeGreaterThan": 0})
    source = parquet_batches(SCHEMA, batches(3))
    result = start(spark, services, source, tmp_path, enforce=False)
    try:
        queries = result.details["streaming_queries"]
        for query in queries:
            query.processAllAvailable()
        time.sleep(2.2)  # at least one whole window without a batch
        parquet_batches(SCHEMA, batches(2, first=1), first=1)
        for query in queries:
            query.processAllAvailable()
    finally:
        stop_all(result)
    first, second = judged(result)
    assert first["metrics"][MIN] is None and first["status"] == "ok"  # no window closed before the first batch
    assert second["metrics"][MIN] == 0 and second["status"] == "warn"
    assert second["warnings"] == ["volume_min:orders: volume_min is 0 but must be > 0"]
