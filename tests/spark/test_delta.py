"""The `delta` format on real Delta tables: creation from the contract, the inline gate with a
rejection sink, reroute, replays skipped by Delta itself, streams and batches, paths and names."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from dc43.delivery import Outbox
from dc43.errors import InvalidArgumentError
from dc43.governance import LocalGovernanceService
from dc43.strategies import RerouteStrategy
from dc43_integrations.spark.io import (
    read_stream_with_contract,
    read_with_contract,
    write_stream_with_contract,
    write_with_contract,
)

from tests.spark.orders import BATCHES, SCHEMA, stop_all

pytestmark = pytest.mark.spark
#: the tests that also run on Spark Connect and the standalone cluster (docs/testing.md: one per
#: behaviour whose code path differs there; the variants of a behaviour run on classic Spark)
REMOTE = (pytest.mark.connect, pytest.mark.cluster)

ALL_IDS = sorted(r[0] for batch in BATCHES for r in batch)


def delta_ids(spark, location: str) -> list[int]:
    return sorted(r.order_id for r in spark.read.format("delta").load(location).select("order_id").collect())


def history(spark, location: str) -> list[Any]:
    """The table's commits, oldest first."""
    return sorted(spark.sql(f"DESCRIBE HISTORY delta.`{location}`").collect(), key=lambda r: r.version)


def stream(spark, path: str, services) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet", path=path,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    return df


def gate(df: Any, tmp_path: Path, services: dict[str, Any], **kwargs: Any) -> Any:
    result = write_stream_with_contract(
        df=df, contract_id="sales.orders", format="delta", path=str(tmp_path / "main"),
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline", enforce=False,
        rejection_sink={"format": "delta", "path": str(tmp_path / "rejected")}, **services, **kwargs)
    try:
        result.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(result)
    return result


@REMOTE[0]
@REMOTE[1]
def test_the_gate_splits_rows_into_delta_tables_one_commit_per_published_batch(
        spark, source_stream, tmp_path, services):
    result = gate(source_stream, tmp_path, services)
    main, rejected = str(tmp_path / "main"), str(tmp_path / "rejected")
    assert sorted(delta_ids(spark, main) + delta_ids(spark, rejected)) == ALL_IDS
    assert delta_ids(spark, main) == [1, 2, 5, 6, 7] and delta_ids(spark, rejected) == [3, 4, 6]
    rules = {r.order_id: sorted(r._dc43_rejected_rules) for r in spark.read.format("delta").load(rejected).collect()}
    assert rules == {3: ["ge:amount", "not_null:customer"], 4: ["ge:amount"], 6: ["enum:currency"]}

    # the contract made the table: one CREATE, then one WRITE per published batch
    assert [r.operation for r in history(spark, main)] == ["CREATE TABLE", "WRITE", "WRITE", "WRITE", "WRITE"]
    assert [r.operation for r in history(spark, rejected)] == ["CREATE TABLE", "WRITE", "WRITE"]
    commits = {e["batch_id"]: e.get("commit") for e in result.details["streaming_batches"]}
    assert commits == {0: {"sink": {"delta_version": 1}},
                       1: {"sink": {"delta_version": 2}, "rejection_sink": {"delta_version": 1}},
                       2: {"sink": {"delta_version": 3}, "rejection_sink": {"delta_version": 2}},
                       3: {"sink": {"delta_version": 4}}}
    recorded = {v.batch_id: v.commit for v in services["governance_service"].verdicts(main)}
    assert recorded == commits


class FlakyCommits(LocalGovernanceService):
    """Refuses the first ``failures`` records of batch 1's commit, as a governance service down."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures, self.refused = failures, 0

    def __reduce__(self) -> Any:
        return FlakyCommits, (self.path, self.failures)

    def record_commit(self, dataset_id: str, dataset_version: str, batch_id: int, commit: Any) -> None:
        if batch_id == 1 and self.refused < self.failures:
            self.refused += 1
            raise ConnectionError("governance is down")
        super().record_commit(dataset_id, dataset_version, batch_id, commit)


def test_a_governance_outage_delays_the_versions_but_loses_none(spark, source_stream, tmp_path, services):
    """Batch 1's version waits in the outbox (3 tries, then one more at batch 2) and goes out at batch 3,
    the later batches' verdicts and versions behind it, in order."""
    services["governance_service"] = FlakyCommits(tmp_path / "gov.db", failures=4)
    gate(source_stream, tmp_path, services, outage_policy={"backoff": 0.01})
    recorded = {v.batch_id: v.commit for v in LocalGovernanceService(tmp_path / "gov.db").verdicts(
        str(tmp_path / "main"))}
    assert recorded == {0: {"sink": {"delta_version": 1}},
                        1: {"sink": {"delta_version": 2}, "rejection_sink": {"delta_version": 1}},
                        2: {"sink": {"delta_version": 3}, "rejection_sink": {"delta_version": 2}},
                        3: {"sink": {"delta_version": 4}}}
    assert Outbox(tmp_path / ".dc43" / "outbox.db").count() == 0


def test_the_gate_writes_tables_by_name(spark, source_stream, tmp_path, services):
    main, rejected = (f"orders_{role}_{uuid.uuid4().hex[:6]}" for role in ("main", "rejected"))
    result = write_stream_with_contract(
        df=source_stream, contract_id="sales.orders", format="delta", table=main,
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline", enforce=False,
        rejection_sink={"format": "delta", "table": rejected}, **services)
    try:
        result.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(result)
    assert sorted(r.order_id for r in spark.table(main).collect()) == [1, 2, 5, 6, 7]
    assert sorted(r.order_id for r in spark.table(rejected).collect()) == [3, 4, 6]
    assert result.details["streaming_batches"][1]["commit"] == {"sink": {"delta_version": 2},
                                                                "rejection_sink": {"delta_version": 1}}


@pytest.mark.parametrize("where", ["path", "table"])
@pytest.mark.parametrize("read", [read_with_contract, read_stream_with_contract], ids=["batch", "stream"])
@REMOTE[0]
@REMOTE[1]
def test_reading_a_table_that_is_not_there_names_it(spark, tmp_path, services, read, where):
    location = {"path": str(tmp_path / "nothing")} if where == "path" else {"table": f"nothing_{uuid.uuid4().hex[:6]}"}
    with pytest.raises(InvalidArgumentError, match=f"there is no Delta table at {where} '.*nothing.*' .*; check the name"):
        read(spark=spark, contract_id="sales.orders", format="delta", **location, **services)


def test_the_contract_creates_the_table_with_comments_and_not_null(spark, tmp_path, services):
    from tests.spark.orders import orders_contract

    contract = orders_contract().model_copy(deep=True)
    contract.schema_[0].properties[1].description = "who placed the order (it's never blank)"
    services["contract_service"].store.put(contract.model_copy(update={"version": "1.1.0"}))
    df = spark.createDataFrame([(1, "ann", 1.0, "EUR")], SCHEMA)
    result = write_with_contract(df=df, contract_id="sales.orders", expected_contract_version="==1.1.0",
                                 format="delta", path=str(tmp_path / "t"), **services)
    assert result.ok and result.details["commit"] == {"sink": {"delta_version": 1}}
    columns = {r.col_name: r for r in spark.sql(f"DESCRIBE TABLE delta.`{tmp_path / 't'}`").collect()}
    assert columns["customer"].comment == "who placed the order (it's never blank)"
    schema = spark.read.format("delta").load(str(tmp_path / "t")).schema
    assert {f.name: f.nullable for f in schema.fields} == {"order_id": False, "customer": False, "amount": True,
                                                          "currency": True}
    (verdict,) = services["governance_service"].verdicts(str(tmp_path / "t"))
    assert verdict.commit == {"sink": {"delta_version": 1}}
    back, validation = read_with_contract(spark=spark, contract_id="sales.orders", format="delta",
                                          path=str(tmp_path / "t"), **services)
    assert validation.ok and back.count() == 1


@pytest.mark.connect
def test_a_replayed_batch_is_skipped_by_delta_and_keeps_its_first_version(spark, parquet_batches, tmp_path,
                                                                          services):
    source = parquet_batches(SCHEMA, BATCHES[:3])
    gate(stream(spark, source, services), tmp_path, services)
    # Forget that batch 2 was committed, as after a crash mid-commit: Spark replays it.
    for name in ("2", ".2.crc"):
        (tmp_path / "cp" / "commits" / name).unlink(missing_ok=True)
    parquet_batches(SCHEMA, BATCHES[3:], first=3)
    again = gate(stream(spark, source, services), tmp_path, services)
    assert [e["batch_id"] for e in again.details["streaming_batches"]] == [2, 3]
    main, rejected = str(tmp_path / "main"), str(tmp_path / "rejected")
    assert sorted(delta_ids(spark, main) + delta_ids(spark, rejected)) == ALL_IDS  # batch 2 once
    assert len(history(spark, main)) == 5 and len(history(spark, rejected)) == 3
    replayed = again.details["streaming_batches"][0]
    assert replayed["commit"] == {"sink": {"delta_version": 3}, "rejection_sink": {"delta_version": 2}}


def test_a_new_checkpoint_is_a_new_writer_whose_batches_are_written(spark, source_stream, parquet_batches,
                                                                    tmp_path, services):
    """Batch ids start over on a new checkpoint: Delta must not take them for replays."""
    gate(source_stream, tmp_path, services)
    again = write_stream_with_contract(
        df=stream(spark, parquet_batches(SCHEMA, BATCHES[:1], name="more"), services), contract_id="sales.orders",
        format="delta", path=str(tmp_path / "main"), options={"checkpointLocation": str(tmp_path / "cp2")},
        observation_writer="inline", enforce=False, **services)
    try:
        again.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(again)
    assert delta_ids(spark, str(tmp_path / "main")) == [1, 1, 2, 2, 5, 6, 7]


def test_reroute_sends_whole_batches_to_the_rejection_table(spark, source_stream, tmp_path, services):
    result = gate(source_stream, tmp_path, services, streaming_intervention_strategy=RerouteStrategy(after_failures=2))
    assert result.details["streaming_rerouted_at_batch"] == 2
    assert delta_ids(spark, str(tmp_path / "main")) == [1, 2, 5]
    rejected = spark.read.format("delta").load(str(tmp_path / "rejected"))
    assert sorted(r.order_id for r in rejected.collect()) == [3, 4, 6, 6, 7]
    assert [list(r._dc43_rejected_rules) for r in rejected.filter("order_id = 7").collect()] == [["rerouted"]]


@pytest.mark.parametrize("writer", [pytest.param("foreach-batch", marks=REMOTE), "observe"])
def test_delta_tables_by_name_stream_in_and_out(spark, parquet_batches, tmp_path, services, writer):
    clean = [BATCHES[0], BATCHES[3]]
    source = stream(spark, parquet_batches(SCHEMA, clean), services)
    name = f"orders_{writer.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
    result = write_stream_with_contract(
        df=source, contract_id="sales.orders", format="delta", table=name, enforce=False,
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer=writer, **services)
    try:
        for query in result.details["streaming_queries"]:  # the sink, then (foreach-batch) the observation
            query.processAllAvailable()
    finally:
        stop_all(result)
    written = sorted(r[0] for batch in clean for r in batch)
    assert sorted(r.order_id for r in spark.table(name).collect()) == written
    operations = [r.operation for r in sorted(spark.sql(f"DESCRIBE HISTORY {name}").collect(), key=lambda r: r.version)]
    assert operations == ["CREATE TABLE", "STREAMING UPDATE", "STREAMING UPDATE"]
    # Delta's own sink committed each batch: its version is kept with the verdict all the same
    versions = {0: {"sink": {"delta_version": 1}}, 1: {"sink": {"delta_version": 2}}}
    assert {e["batch_id"]: e.get("commit") for e in result.details["streaming_batches"]} == versions
    assert {v.batch_id: v.commit for v in services["governance_service"].verdicts(name)} == versions
    back, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="delta", table=name,
                                        **services)
    copy = str(tmp_path / "copy")
    query = back.writeStream.format("parquet").option("checkpointLocation", str(tmp_path / "cp-copy")).start(copy)
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    assert sorted(r.order_id for r in spark.read.parquet(copy).collect()) == written


def test_a_sink_that_is_not_gated_refuses_a_null_where_the_contract_requires_a_value(
        spark, source_stream, tmp_path, services):
    """NOT NULL is the table's own constraint: an ungated write stops at the batch holding a null,
    and none of that batch is in the table (route such rows with the inline writer instead)."""
    result = write_stream_with_contract(
        df=source_stream, contract_id="sales.orders", format="delta", path=str(tmp_path / "main"), enforce=False,
        options={"checkpointLocation": str(tmp_path / "cp")}, **services)
    sink = result.details["streaming_queries"][0]
    try:
        with pytest.raises(Exception, match="(?s)NOT.?NULL.*customer"):
            sink.processAllAvailable()
    finally:
        stop_all(result)
    assert delta_ids(spark, str(tmp_path / "main")) == [1, 2]  # batch 0 only
