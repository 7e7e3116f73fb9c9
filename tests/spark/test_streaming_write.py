"""Contract-enforced streaming writes on real Spark, with exact per-batch counts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from dc43.contracts import LocalContractServiceClient
from dc43.errors import ContractViolationError, StreamingInterventionError, UnknownFormatError
from dc43.strategies import StreamingInterventionContext, StreamingInterventionStrategy
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
from dc43_memory.store import InMemoryContractStore
from open_data_contract_standard.model import OpenDataContractStandard
from pyspark.errors import StreamingQueryException

from tests.spark.orders import start_write, stop_all

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]

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
        with pytest.raises(StreamingInterventionError, match="halt after 2 failed batches") as raised:
            observer.processAllAvailable()
        assert raised.value.batch_id == 2
        assert isinstance(raised.value, StreamingQueryException)  # code catching Spark's error still does
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
        with pytest.raises(ContractViolationError, match="micro-batch 1 .* violates contract") as raised:
            observer.processAllAvailable()
        assert raised.value.validation.status == "block"
        assert raised.value.validation.metrics["violations.not_null:customer"] == 1
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
    started = [o for o in services["governance_service"].observations("orders-live") if o.operation == "write_stream"]
    assert [o.dataset_version for o in started] == ["init"]  # the version before any batch
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
    from dc43.formats import DatasetTarget
    from dc43.plugins import get_plugin_manager
    from dc43.quality import LocalDataQualityService
    from dc43.results import ValidationResult
    from dc43.settings import Settings
    from dc43.spark.batch_side import BatchSide, PlanSpec, ServiceRef
    from dc43.spark.caller_side import CallerSide
    from dc43.spark.observation import ObservationRequest
    from dc43.strategies import NoOpStreamingInterventionStrategy

    from tests.spark.orders import orders_contract

    manager = get_plugin_manager()
    target = DatasetTarget(format="memory", dataset_id="once", dataset_version="{batch_id}",
                           options={"queryName": f"once_{uuid.uuid4().hex[:8]}"})
    strategy = NoOpStreamingInterventionStrategy()
    side = BatchSide(
        spec=PlanSpec([], orders_contract(), source_stream.schema, auto_cast=False), contract=orders_contract(),
        dataset_id="once", version_template="{batch_id}", schema=None, enforce=False, strategy=strategy,
        quality=ServiceRef("data_quality", LocalDataQualityService(), settings=Settings()),
        governance=None)
    caller = CallerSide(result=ValidationResult(), status=ValidationResult(), strategy=strategy)
    request = ObservationRequest(source=source_stream, side=side, caller=caller,
                                 adapter=manager.lookup("format", "memory").value, target=target)
    writer = manager.lookup("observation writer", "foreach-batch").value()
    for query in writer.start(request):
        query.stop()
    with pytest.raises(Dc43Error, match="single-use"):
        writer.start(request)


@pytest.mark.classic_only  # counts jobs with sparkContext.statusTracker()
@pytest.mark.parametrize(("horizon", "per_batch"), [
    ("batch", 1),       # one aggregation job per batch: 5 rules, exact uniqueness included
    ("unbounded", 2),   # and one collecting the batch's keys (the query's id is read from its local checkpoint file)
])
def test_each_micro_batch_is_measured_by_one_spark_job(spark, parquet_batches, tmp_path, services,
                                                        horizon, per_batch):
    from tests.spark.orders import BATCHES, SCHEMA, orders_contract

    document = orders_contract().model_dump(by_alias=True, exclude_none=True)
    document["schema"][0]["customProperties"] = [{"property": "dc43.keyHorizon", "value": horizon}]
    store = InMemoryContractStore()
    store.put(OpenDataContractStandard.model_validate(document))
    services = {**services, "contract_service": LocalContractServiceClient(store)}
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet",
                                      path=parquet_batches(SCHEMA, BATCHES), options={"maxFilesPerTrigger": "1"},
                                      **services)
    result, _ = start_write(df, tmp_path, services, enforce=False)
    sink, observer = result.details["streaming_queries"]
    try:
        for query in (sink, observer):
            query.processAllAvailable()
    finally:
        stop_all(result)
    # A streaming query runs each micro-batch's jobs in the job group of its run id.
    jobs = spark.sparkContext.statusTracker().getJobIdsForGroup(str(observer.runId))
    assert len(result.details["streaming_batches"]) == 4
    assert len(jobs) == 4 * per_batch


def test_sql_rules_are_checked_at_start_then_measured_per_batch(spark, source_stream, tmp_path, services):
    from open_data_contract_standard.model import DataQuality

    from tests.spark.orders import drained, orders_contract

    contract = orders_contract()
    contract.schema_[0].quality = [DataQuality(type="sql", query="SELECT COUNT(*) FROM ${object} WHERE amount < 0",
                                               mustBe=0)]
    contract.schema_[0].properties[2].quality.append(DataQuality(type="sql", query="SELECT MAX(${property}) "
                                                                 "FROM ${object}", mustBeLessThan=15))
    services["contract_service"].store.put(contract.model_copy(update={"version": "1.1.0"}))
    result = drained(write_stream_with_contract(
        df=source_stream, contract_id="sales.orders", expected_contract_version="==1.1.0", format="parquet",
        path=str(tmp_path / "out"), options={"checkpointLocation": str(tmp_path / "cp")}, enforce=False, **services))
    batches = sorted(result.details["streaming_batches"], key=lambda e: e["batch_id"])
    assert [e["metrics"]["metrics.sql:orders"] for e in batches] == [0, 2, 0, 0]
    assert [e["metrics"]["metrics.sql:amount"] for e in batches] == [20, 1, 4, 7]
    assert "sql:amount: sql is 20 but must be < 15" in batches[0]["errors"]
