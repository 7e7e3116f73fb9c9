"""The contract's latency SLA, per micro-batch: the lag from event time to judging, max and p95."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from dc43.contracts import LocalContractServiceClient
from dc43.errors import ContractFormatError
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
from dc43_memory.store import InMemoryContractStore
from open_data_contract_standard.model import OpenDataContractStandard

from tests.spark.orders import drained

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]

SCHEMA = "id bigint, ts timestamp"
NOW = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def contract(latency: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.late", "version": "1.0.0", "status": "active",
        "schema": [{"name": "events", "properties": [
            {"name": "id", "physicalType": "bigint"}, {"name": "ts", "physicalType": "timestamp"}]}],
        "slaProperties": [{"property": "latency", **latency}],
    }


def services_with(services: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    store = InMemoryContractStore()
    store.put(OpenDataContractStandard.model_validate(document))
    return {**services, "contract_service": LocalContractServiceClient(store)}


def run(spark, services, source: str, tmp_path, **kwargs: Any) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="t.late", format="parquet", path=source,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    return drained(write_stream_with_contract(df=df, contract_id="t.late", format="parquet",
                                              path=str(tmp_path / "out"),
                                              options={"checkpointLocation": str(tmp_path / "cp")},
                                              **services, **kwargs))


def judged_at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).replace(tzinfo=None)


def utc(value: datetime) -> datetime:
    """``value`` (UTC) as the local wall-clock time Spark takes a naive timestamp for."""
    return value.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)


@pytest.mark.parametrize("writer", ["foreach-batch", "inline", "observe"])
def test_the_lag_figures_of_each_batch_are_exact(spark, parquet_batches, tmp_path, services, writer):
    services = services_with(services, contract({"value": 1, "unit": "h", "element": "events.ts"}))
    old, recent = NOW - timedelta(hours=2), NOW - timedelta(minutes=10)
    source = parquet_batches(SCHEMA, [
        [(1, utc(recent))] * 19 + [(2, utc(old))],   # 19 rows 10 min old, one 2 h old
        [(3, utc(recent)), (4, None)],              # a row without event time is not counted
    ])
    result = run(spark, services, source, tmp_path, observation_writer=writer, enforce=False)
    first, second = (e for e in result.details["streaming_batches"] if "metrics" in e)
    lag = judged_at(first) - old
    assert first["metrics"]["metrics.latency:ts"] == lag.total_seconds()  # the max
    assert first["metrics"]["metrics.latency_p95:ts"] == (judged_at(first) - recent).total_seconds()
    assert first["status"] == "warn"  # the SLA's default severity
    assert any("latency:ts: latency is" in w and "must be <= 3600" in w for w in first["warnings"])
    assert second["metrics"]["metrics.latency:ts"] == (judged_at(second) - recent).total_seconds()
    assert second["status"] == "ok"


def test_a_latency_sla_with_severity_error_blocks_a_late_batch(spark, parquet_batches, tmp_path, services):
    services = services_with(services, contract({
        "value": 30, "unit": "m", "element": "ts",
        "customProperties": [{"property": "dc43.severity", "value": "error"}]}))
    source = parquet_batches(SCHEMA, [[(1, utc(NOW - timedelta(hours=1)))]])
    result = run(spark, services, source, tmp_path, enforce=False)
    (entry,) = result.details["streaming_batches"]
    assert entry["status"] == "block"


@pytest.mark.parametrize(("latency", "problem"), [
    ({"value": 1, "unit": "h"}, "needs 'element'"),
    ({"value": 1, "unit": "h", "element": "events.when"}, "'when' is not a property of schema object 'events'"),
    ({"value": 1, "unit": "fortnight", "element": "ts"}, "not a unit dc43 knows"),
    ({"value": 1, "unit": "h", "element": "ts", "customProperties": [{"property": "dc43.severity", "value": "loud"}]},
     "'loud' is not a severity"),
])
def test_a_latency_sla_dc43_cannot_read_is_refused_before_any_query_starts(spark, parquet_batches, tmp_path,
                                                                         services, latency, problem):
    services = services_with(services, contract(latency))
    source = parquet_batches(SCHEMA, [[(1, NOW)]])
    before = len(spark.streams.active)
    with pytest.raises(ContractFormatError, match=problem):
        run(spark, services, source, tmp_path)
    assert len(spark.streams.active) == before
