"""Streaming pipelines written for the original dc43, run unchanged: what its data-quality and
governance services were asked, the events its callbacks got and the details its code read."""

from __future__ import annotations

import time
from typing import Any

import pytest
from dc43_integrations.spark.io import (
    StaticDatasetLocator,
    StreamingInterventionContext,
    StreamingInterventionError,
    StreamingInterventionStrategy,
    read_stream_with_contract,
    write_stream_with_contract,
)
from dc43_service_backends.contracts.backend.stores import FSContractStore
from dc43_service_clients.contracts import LocalContractServiceClient
from dc43_service_clients.data_quality import ObservationPayload, ValidationResult
from open_data_contract_standard.model import OpenDataContractStandard

from tests.spark.original_api import OriginalGovernance

pytestmark = pytest.mark.spark


def ticks_contract() -> OpenDataContractStandard:
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "legacy.ticks", "version": "0.3.0",
        "schema": [{"name": "ticks", "properties": [
            {"name": "timestamp", "physicalType": "timestamp", "required": True},
            {"name": "value", "physicalType": "bigint", "required": True}]}],
        "servers": [{"server": "local", "type": "stream", "format": "rate"}],
    })


class RecordingQuality:
    """A data-quality service as the original's users wrote them: no expectations, every payload kept."""

    def __init__(self) -> None:
        self.payloads: list[ObservationPayload] = []

    def describe_expectations(self, *, contract: Any) -> list[Any]:
        return []

    def evaluate(self, *, contract: Any, payload: ObservationPayload) -> ValidationResult:
        self.payloads.append(payload)
        return ValidationResult(ok=True, metrics=payload.metrics, schema=payload.schema)


def contracts(tmp_path) -> LocalContractServiceClient:
    store = FSContractStore(str(tmp_path / "contracts"))
    store.put(ticks_contract())
    return LocalContractServiceClient(store)


def drain(result: Any, *, until: Any, seconds: float = 60.0) -> None:
    """Let the write's queries run until ``until()`` holds (or a query raises), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
        time.sleep(0.2)


@pytest.mark.connect
def test_a_stream_read_shows_the_data_quality_service_its_schema_alone(spark, tmp_path):
    quality = RecordingQuality()
    df, status = read_stream_with_contract(
        spark=spark, contract_id="legacy.ticks", contract_service=contracts(tmp_path),
        expected_contract_version="==0.3.0", data_quality_service=quality, options={"rowsPerSecond": "1"},
        dataset_locator=StaticDatasetLocator(format="rate"))
    assert df.isStreaming and df.columns == ["timestamp", "value"]
    (payload,) = quality.payloads
    assert payload.metrics == {}
    assert {column: seen["odcs_type"] for column, seen in payload.schema.items()} == \
        {"timestamp": "timestamp", "value": "bigint"}
    assert status.ok and status.details["dataset_id"] and status.details["dataset_version"]


@pytest.mark.connect
def test_a_streaming_write_tells_each_batch_and_keeps_the_version_it_started_with(spark, tmp_path):
    quality = RecordingQuality()
    governance = OriginalGovernance(contracts={("legacy.ticks", "0.3.0"): ticks_contract()})
    events: list[dict[str, Any]] = []
    source = spark.readStream.format("rate").options(rowsPerSecond="5", numPartitions="1").load()
    result = write_stream_with_contract(
        df=source, contract_id="legacy.ticks", contract_service=contracts(tmp_path), data_quality_service=quality,
        governance_service=governance, format="memory", options={"queryName": "legacy_ticks"},
        dataset_locator=StaticDatasetLocator(format="memory"), on_streaming_batch=events.append)
    started = result.details["dataset_version"]
    try:
        drain(result, until=lambda: any(e["row_count"] > 0 for e in events))
    finally:
        for query in result.details["streaming_queries"]:
            query.stop()
    assert quality.payloads[0].metrics == {} and quality.payloads[0].schema["value"]["odcs_type"] == "bigint"
    batches = [e for e in events if e["type"] == "batch"]
    assert batches and any(e["row_count"] > 0 for e in batches)
    assert result.details["dataset_version"] == started  # the version recorded at start stays
    assert result.details["latest_dataset_version"] == str(batches[-1]["batch_id"])
    assert result.details["streaming_batches"] and result.details["streaming_metrics"]["row_count"] >= 0
    assert result.details["status"] == result.status and "violations" in result.details
    start = governance.evaluations[0]
    assert start["operation"] == "write" and start["dataset_version"] == started
    assert start["payload"].metrics == {} and start["validation"].details["dataset_version"] == started


@pytest.mark.connect
def test_an_intervention_stops_the_stream_with_a_runtime_error(spark, tmp_path):
    class FailAll(RecordingQuality):
        def evaluate(self, *, contract: Any, payload: ObservationPayload) -> ValidationResult:
            failing = bool(payload.metrics)
            return ValidationResult(ok=not failing, errors=["late ticks"] if failing else [], metrics=payload.metrics)

    class BlockOnFailure(StreamingInterventionStrategy):
        def decide(self, context: StreamingInterventionContext) -> str | None:
            return None if context.validation.ok else f"blocked batch {context.batch_id}"

    events: list[dict[str, Any]] = []
    source = spark.readStream.format("rate").options(rowsPerSecond="5", numPartitions="1").load()
    result = write_stream_with_contract(
        df=source, contract_id="legacy.ticks", contract_service=contracts(tmp_path), data_quality_service=FailAll(),
        format="memory", options={"queryName": "legacy_blocked"}, enforce=False, on_streaming_batch=events.append,
        dataset_locator=StaticDatasetLocator(format="memory"), streaming_intervention_strategy=BlockOnFailure())
    try:
        with pytest.raises(RuntimeError, match="blocked batch") as stopped:
            drain(result, until=lambda: False)
    finally:
        for query in result.details["streaming_queries"]:
            query.stop()
    assert isinstance(stopped.value, StreamingInterventionError)
    assert result.details["streaming_intervention_reason"].startswith("blocked batch")
    assert [e for e in events if e["type"] == "intervention"][0]["reason"].startswith("blocked batch")
