"""Contract-enforced streaming writes on real Spark, with exact per-batch counts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from dc43.contracts import LocalContractServiceClient
from dc43.errors import UnknownFormatError
from dc43.governance import LocalGovernanceService
from dc43.quality import LocalDataQualityService
from dc43.strategies import StreamingInterventionContext, StreamingInterventionStrategy
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
from dc43_memory.store import InMemoryContractStore
from open_data_contract_standard.model import OpenDataContractStandard
from pyspark.errors import StreamingQueryException

pytestmark = pytest.mark.spark

SCHEMA = "order_id bigint, customer string, amount double, currency string"
# batch 0: clean; batch 1: null customer + negative amount; batch 2: bad currency
# + duplicate id; batch 3: clean.
BATCHES = [
    [(1, "ann", 10.0, "EUR"), (2, "bob", 20.0, "USD")],
    [(3, None, -1.0, "EUR"), (4, "cid", -5.0, "GBP"), (5, "dan", 1.0, "USD")],
    [(6, "eve", 3.0, "XXX"), (6, "fay", 4.0, "EUR")],
    [(7, "gus", 7.0, "GBP")],
]


def orders_contract() -> OpenDataContractStandard:
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "sales.orders", "version": "1.0.0",
        "status": "active",
        "schema": [{"name": "orders", "properties": [
            {"name": "order_id", "physicalType": "bigint", "required": True, "unique": True},
            {"name": "customer", "physicalType": "string", "required": True},
            {"name": "amount", "physicalType": "double",
             "quality": [{"mustBeGreaterOrEqualTo": 0}]},
            {"name": "currency", "physicalType": "string",
             "quality": [{"rule": "enum", "mustBe": ["EUR", "USD", "GBP"]}]},
        ]}],
    })


@pytest.fixture
def services() -> dict[str, Any]:
    store = InMemoryContractStore()
    store.put(orders_contract())
    return {
        "contract_service": LocalContractServiceClient(store),
        "data_quality_service": LocalDataQualityService(),
        "governance_service": LocalGovernanceService(),
    }


@pytest.fixture
def source_stream(spark: Any, parquet_batches: Any, services: dict[str, Any]) -> Any:
    path = parquet_batches(SCHEMA, BATCHES)
    df, validation = read_stream_with_contract(
        spark=spark, contract_id="sales.orders", format="parquet", path=path,
        options={"maxFilesPerTrigger": "1"}, **services,
    )
    assert validation.ok, validation.errors
    return df


def start_write(df: Any, tmp_path: Any, services: dict[str, Any], **kwargs: Any) -> tuple[Any, str]:
    name = f"sink_{uuid.uuid4().hex[:8]}"
    result = write_stream_with_contract(
        df=df, contract_id="sales.orders", expected_contract_version="==1.0.0", format="memory",
        options={"queryName": name, "checkpointLocation": str(tmp_path / "cp")},
        **services, **kwargs,
    )
    return result, name


def stop_all(result: Any) -> None:
    for query in result.details.get("streaming_queries", []):
        query.stop()


def test_per_batch_violation_counts_are_exact(spark, source_stream, tmp_path, services):
    seen: list[dict[str, Any]] = []
    result, sink = start_write(source_stream, tmp_path, services, enforce=False,
                               on_streaming_batch=seen.append)
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
    finally:
        stop_all(result)
    batches = {entry["batch_id"]: entry for entry in result.details["streaming_batches"]}
    assert sorted(batches) == [0, 1, 2, 3]
    assert [batches[i]["row_count"] for i in range(4)] == [2, 3, 2, 1]
    assert [batches[i]["status"] for i in range(4)] == ["ok", "block", "block", "ok"]
    assert batches[1]["metrics"]["violations.not_null:customer"] == 1
    assert batches[1]["metrics"]["violations.ge:amount"] == 2
    assert batches[2]["metrics"]["violations.enum:currency"] == 1
    assert batches[2]["metrics"]["violations.unique:order_id"] == 1
    assert batches[2]["violations"] == 2
    assert result.details["streaming_totals"]["row_count"] == 8
    assert result.details["dataset_id"] == "sales.orders"
    assert [e["batch_id"] for e in seen] == [0, 1, 2, 3]
    assert spark.table(sink).count() == 8  # enforce=False: the sink gets everything
    verdicts = services["governance_service"].verdicts("sales.orders")
    assert sorted(v.batch_id for v in verdicts) == [0, 1, 2, 3]


class BlockAfterFailures(StreamingInterventionStrategy):
    """The spec's strategy, verbatim in behaviour."""

    def __init__(self, *, max_failures: int = 3) -> None:
        self._failures = 0
        self._max_failures = max_failures

    def decide(self, context: StreamingInterventionContext):
        if not context.validation.ok:
            self._failures += 1
            if self._failures >= self._max_failures:
                return (f"halt after {self._failures} failed batches for "
                        f"{context.dataset_id}@{context.dataset_version}")
        return None


def test_block_after_two_failing_batches_stops_the_pipeline(source_stream, tmp_path, services):
    result, _ = start_write(source_stream, tmp_path, services, enforce=False,
                            streaming_intervention_strategy=BlockAfterFailures(max_failures=2))
    sink, observer = result.details["streaming_queries"]
    try:
        with pytest.raises(StreamingQueryException, match="halt after 2 failed batches"):
            observer.processAllAvailable()
        assert not sink.isActive
    finally:
        stop_all(result)
    assert result.details["streaming_intervention_reason"] == (
        "halt after 2 failed batches for sales.orders@2")
    assert result.details["streaming_intervention_batch"] == 2
    judged = [e["batch_id"] for e in result.details["streaming_batches"]]
    assert judged == [0, 1, 2]


def test_enforce_stops_the_sink_on_the_first_failing_batch(source_stream, tmp_path, services):
    result, _ = start_write(source_stream, tmp_path, services, enforce=True)
    sink, observer = result.details["streaming_queries"]
    try:
        with pytest.raises(StreamingQueryException, match="micro-batch 1 .* violates contract"):
            observer.processAllAvailable()
        assert not sink.isActive
    finally:
        stop_all(result)
    assert [e["status"] for e in result.details["streaming_batches"]] == ["ok", "block"]
    assert result.status == "block"


def test_a_failing_progress_callback_never_kills_the_stream(source_stream, tmp_path, services):
    def explode(entry: dict[str, Any]) -> None:
        raise RuntimeError("callback bug")

    result, _ = start_write(source_stream, tmp_path, services, enforce=False,
                            on_streaming_batch=explode)
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
            assert query.isActive
    finally:
        stop_all(result)
    assert len(result.details["streaming_batches"]) == 4


def test_unknown_format_lists_installed_formats_and_plugins(source_stream, services):
    with pytest.raises(UnknownFormatError) as caught:
        write_stream_with_contract(df=source_stream, contract_id="sales.orders", format="nope",
                                   **services)
    message = str(caught.value)
    assert "unknown format 'nope'" in message
    assert "parquet (plugin 'filesystem')" in message
    assert "memory (plugin 'memory')" in message
    assert "rate (plugin 'rate')" in message


def test_missing_version_lists_available_versions(spark, services):
    from dc43.errors import ContractNotFoundError

    with pytest.raises(ContractNotFoundError, match="1.0.0"):
        read_stream_with_contract(spark=spark, contract_id="sales.orders",
                                  expected_contract_version="==2.0.0", format="rate", **services)
    with pytest.raises(ContractNotFoundError, match="sales.orders"):
        read_stream_with_contract(spark=spark, contract_id="sales.unknown", format="rate",
                                  **services)


def test_dataset_version_templates_resolve_per_batch(source_stream, tmp_path, services):
    from dc43.locators import StaticDatasetLocator

    locator = StaticDatasetLocator(dataset_id="orders-live", dataset_version="b{batch_id}-{timestamp}")
    result, _ = start_write(source_stream, tmp_path, services, enforce=False,
                            dataset_locator=locator)
    assert result.details["dataset_version"] == "init"  # nothing judged yet
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
    finally:
        stop_all(result)
    versions = [e["dataset_version"] for e in result.details["streaming_batches"]]
    assert [v.split("-")[0] for v in versions] == ["b0", "b1", "b2", "b3"]
    assert all(v.endswith("Z") for v in versions)  # a UTC timestamp follows the batch id
    latest = services["governance_service"].latest_verdict("orders-live")
    assert latest.dataset_version == versions[-1]


def test_observation_writers_are_single_use(source_stream):
    from dc43.errors import Dc43Error
    from dc43.plugins import get_plugin_manager
    from dc43.spark.metrics import compile_plan
    from dc43.spark.observation import ObservationRequest

    writer = get_plugin_manager().lookup("observation writer", "foreach-batch").value()
    request = ObservationRequest(df=source_stream, plan=compile_plan([]), monitor=None)
    (query,) = writer.start(request)
    query.stop()
    with pytest.raises(Dc43Error, match="single-use"):
        writer.start(request)
