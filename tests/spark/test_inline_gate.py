"""The `inline` writer: judge every micro-batch before it is written; block, split, reroute."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from dc43.errors import Dc43Error
from dc43.strategies import BlockAfterFailuresStrategy, RerouteStrategy
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
from pyspark.errors import StreamingQueryException

from tests.spark.orders import BATCHES, SCHEMA, stop_all

pytestmark = pytest.mark.spark


def ids(spark, path: Path) -> list[int]:
    if not path.exists():
        return []
    return sorted(r.order_id for r in spark.read.parquet(str(path)).select("order_id").collect())


def batch_ids_in(spark, path: Path) -> set[int]:
    return {r[0] for r in spark.read.parquet(str(path)).select("_dc43_batch_id").distinct().collect()}


def inline_write(df: Any, tmp_path: Path, services: dict[str, Any], **kwargs: Any) -> Any:
    return write_stream_with_contract(
        df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "main"),
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline",
        **services, **kwargs)


def rejects(tmp_path: Path) -> dict[str, Any]:
    return {"rejection_sink": {"format": "parquet", "path": str(tmp_path / "rejected")}}


def stream(spark, path: str, services) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet", path=path,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    return df


def test_a_blocked_batch_never_reaches_the_main_sink(spark, source_stream, tmp_path, services):
    result = inline_write(source_stream, tmp_path, services, enforce=False,
                          streaming_intervention_strategy=BlockAfterFailuresStrategy(max_failures=2))
    (query,) = result.details["streaming_queries"]  # one pass: no second query
    try:
        with pytest.raises(StreamingQueryException, match="blocked after 2 failing batches"):
            query.processAllAvailable()
    finally:
        stop_all(result)
    assert result.details["streaming_intervention_batch"] == 2
    assert ids(spark, tmp_path / "main") == [1, 2, 3, 4, 5]  # batches 0 and 1 only
    assert batch_ids_in(spark, tmp_path / "main") == {0, 1}
    assert not list((tmp_path / "main" / "_dc43_staging").glob("*"))  # the blocked batch was dropped


def test_rows_are_split_between_main_and_rejection_sinks(spark, source_stream, tmp_path, services):
    result = inline_write(source_stream, tmp_path, services, enforce=True, **rejects(tmp_path))
    (query,) = result.details["streaming_queries"]
    try:
        query.processAllAvailable()  # batch 2's duplicate id is not routable: it blocks
    except StreamingQueryException as exc:
        assert "unique:order_id" in str(exc)
    finally:
        stop_all(result)
    rejected = {r.order_id: sorted(r._dc43_rejected_rules)
                for r in spark.read.parquet(str(tmp_path / "rejected")).collect()}
    assert rejected == {3: ["ge:amount", "not_null:customer"], 4: ["ge:amount"]}
    assert ids(spark, tmp_path / "main") == [1, 2, 5]  # nothing of the blocked batch 2


def test_main_plus_rejected_equals_input_with_no_duplicate_after_replay(spark, parquet_batches, tmp_path, services):
    source = parquet_batches(SCHEMA, BATCHES[:3])
    result = inline_write(stream(spark, source, services), tmp_path, services, enforce=False,
                          **rejects(tmp_path))
    try:
        result.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(result)
    # Forget that batch 2 was committed, as after a crash mid-commit: Spark replays it.
    for name in ("2", ".2.crc"):
        (tmp_path / "cp" / "commits" / name).unlink(missing_ok=True)
    parquet_batches(SCHEMA, BATCHES[3:], first=3)
    again = inline_write(stream(spark, source, services), tmp_path, services, enforce=False,
                         **rejects(tmp_path))
    try:
        again.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(again)
    replayed = [e["batch_id"] for e in again.details["streaming_batches"]]
    assert replayed == [2, 3]
    main, rejected = ids(spark, tmp_path / "main"), ids(spark, tmp_path / "rejected")
    assert sorted(main + rejected) == sorted(r[0] for batch in BATCHES for r in batch)
    assert main == [1, 2, 5, 6, 7] and rejected == [3, 4, 6]
    rules = {r.order_id: list(r._dc43_rejected_rules)
             for r in spark.read.parquet(str(tmp_path / "rejected")).filter("order_id = 6").collect()}
    assert rules == {6: ["enum:currency"]}


def test_reroute_after_two_failing_batches(spark, source_stream, tmp_path, services):
    result = inline_write(source_stream, tmp_path, services, enforce=False,
                          streaming_intervention_strategy=RerouteStrategy(after_failures=2),
                          **rejects(tmp_path))
    try:
        result.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(result)
    assert result.details["streaming_rerouted_at_batch"] == 2
    assert batch_ids_in(spark, tmp_path / "main") == {0, 1}
    assert batch_ids_in(spark, tmp_path / "rejected") == {1, 2, 3}  # batch 1's bad rows, then all
    assert ids(spark, tmp_path / "main") == [1, 2, 5]
    rerouted = spark.read.parquet(str(tmp_path / "rejected")).filter("_dc43_batch_id = 3").collect()
    assert [list(r._dc43_rejected_rules) for r in rerouted] == [["rerouted"]]
    verdict = services["governance_service"].verdicts(str(tmp_path / "main"))[-1]
    assert verdict.batch_id == 3 and "rerouted to the rejection sink since batch 2" in verdict.reason


def test_warn_never_stops_and_reports_every_failing_batch(spark, source_stream, tmp_path, services):
    seen: list[dict[str, Any]] = []
    result = inline_write(source_stream, tmp_path, services, enforce=False,
                          streaming_intervention_strategy="warn", on_streaming_batch=seen.append)
    try:
        (query,) = result.details["streaming_queries"]
        query.processAllAvailable()
        assert query.isActive
    finally:
        stop_all(result)
    warned = [e["batch_id"] for e in seen if e.get("action") == "warn"]
    assert warned == [1, 2]
    assert any("failing batch 1 of" in w for w in seen[1]["warnings"])
    assert ids(spark, tmp_path / "main") == [1, 2, 3, 4, 5, 6, 6, 7]


def test_routing_needs_the_inline_writer_and_a_rejection_sink(source_stream, tmp_path, services):
    with pytest.raises(Dc43Error, match="observation_writer='inline'"):
        write_stream_with_contract(df=source_stream, contract_id="sales.orders", format="parquet",
                                   path=str(tmp_path / "m"), **rejects(tmp_path), **services)
    with pytest.raises(Dc43Error, match="pass rejection_sink"):
        inline_write(source_stream, tmp_path, services, streaming_intervention_strategy="reroute")
    with pytest.raises(Dc43Error, match="cannot write batches"):
        write_stream_with_contract(df=source_stream, contract_id="sales.orders", format="memory",
                                   options={"queryName": "never"}, observation_writer="inline", **services)
    shutil.rmtree(tmp_path / "cp", ignore_errors=True)


def test_a_replayed_batch_replaces_its_partition_and_leaves_nothing_staged(spark, parquet_batches, tmp_path, services):
    source = parquet_batches(SCHEMA, BATCHES[:3])
    first = inline_write(stream(spark, source, services), tmp_path, services, enforce=False)
    try:
        first.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(first)
    for name in ("2", ".2.crc"):  # as after a crash between publishing batch 2 and Spark's commit
        (tmp_path / "cp" / "commits" / name).unlink(missing_ok=True)
    again = inline_write(stream(spark, source, services), tmp_path, services, enforce=False)
    try:
        again.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(again)
    assert [e["batch_id"] for e in again.details["streaming_batches"]] == [2]
    assert again.details["streaming_batches"][0]["metrics"]["violations.unique:order_id"] == 1
    assert ids(spark, tmp_path / "main") == [1, 2, 3, 4, 5, 6, 6]
    assert not list((tmp_path / "main" / "_dc43_staging").glob("*"))  # nothing left aside
