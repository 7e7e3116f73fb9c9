"""The `inline` writer: judge every micro-batch before it is written; block, split, reroute."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from dc43.errors import ContractViolationError, Dc43Error, StreamingInterventionError
from dc43.quality.plan import plan_contract
from dc43.spark.metrics import compile_plan
from dc43.strategies import BlockAfterFailuresStrategy, RerouteStrategy
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
from open_data_contract_standard.model import OpenDataContractStandard

from tests.spark.orders import BATCHES, SCHEMA, orders_contract, stop_all

pytestmark = pytest.mark.spark
#: the tests that also run on Spark Connect and the standalone cluster (docs/testing.md: one per
#: behaviour whose code path differs there; the variants of a behaviour run on classic Spark)
REMOTE = (pytest.mark.connect, pytest.mark.cluster)


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


@REMOTE[0]
@REMOTE[1]
def test_a_blocked_batch_never_reaches_the_main_sink(spark, source_stream, tmp_path, services):
    result = inline_write(source_stream, tmp_path, services, enforce=False,
                          streaming_intervention_strategy=BlockAfterFailuresStrategy(max_failures=2))
    (query,) = result.details["streaming_queries"]  # one pass: no second query
    try:
        with pytest.raises(StreamingInterventionError, match="blocked after 2 failing batches"):
            query.processAllAvailable()
    finally:
        stop_all(result)
    assert result.details["streaming_intervention_batch"] == 2
    assert ids(spark, tmp_path / "main") == [1, 2, 3, 4, 5]  # batches 0 and 1 only
    assert batch_ids_in(spark, tmp_path / "main") == {0, 1}
    assert not list((tmp_path / "main" / "_dc43_staging").glob("*"))  # the blocked batch was dropped


@REMOTE[0]
@REMOTE[1]
def test_rows_are_split_between_main_and_rejection_sinks(spark, source_stream, tmp_path, services):
    result = inline_write(source_stream, tmp_path, services, enforce=True, **rejects(tmp_path))
    (query,) = result.details["streaming_queries"]
    try:
        query.processAllAvailable()  # batch 2's duplicate id is not routable: it blocks
    except ContractViolationError as exc:
        assert "unique:order_id" in str(exc)
    finally:
        stop_all(result)
    rejected = {r.order_id: sorted(r._dc43_rejected_rules)
                for r in spark.read.parquet(str(tmp_path / "rejected")).collect()}
    assert rejected == {3: ["ge:amount", "not_null:customer"], 4: ["ge:amount"]}
    assert ids(spark, tmp_path / "main") == [1, 2, 5]  # nothing of the blocked batch 2


@REMOTE[0]
@REMOTE[1]
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


@pytest.mark.connect
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


@REMOTE[0]
@REMOTE[1]
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


@pytest.mark.connect
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


# -- one-pass staging with a rejection sink: routes, several rules, warnings, the 63-rule mask ----------

def rejected_rules(spark, path: Path) -> dict[int, list[str]]:
    """order_id -> sorted keys of the rules the rejection sink says the row broke."""
    return {r.order_id: sorted(r._dc43_rejected_rules) for r in spark.read.parquet(str(path)).collect()}


def contract_with(contract_id: str, amount_quality: list[dict[str, Any]]) -> OpenDataContractStandard:
    """The orders columns (required order_id, unique order_id, required customer, currency enum)
    with ``amount_quality`` as the amount's rules."""
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": contract_id, "version": "1.0.0",
        "status": "active",
        "schema": [{"name": "orders", "properties": [
            {"name": "order_id", "physicalType": "bigint", "required": True, "unique": True},
            {"name": "customer", "physicalType": "string", "required": True},
            {"name": "amount", "physicalType": "double", "quality": amount_quality},
            {"name": "currency", "physicalType": "string",
             "quality": [{"rule": "enum", "mustBe": ["EUR", "USD", "GBP"]}]},
        ]}],
    })


def register(services: dict[str, Any], contract: OpenDataContractStandard) -> int:
    """Put ``contract`` in the test's contract store; returns its number of per-row rules."""
    services["contract_service"].store.put(contract)
    return len(compile_plan(plan_contract(contract)[0]).row_flags)


def run_inline(df: Any, tmp_path: Path, services: dict[str, Any], contract_id: str, **kwargs: Any) -> Any:
    result = write_stream_with_contract(
        df=df, contract_id=contract_id, format="parquet", path=str(tmp_path / "main"),
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline",
        **rejects(tmp_path), **services, **kwargs)
    try:
        (query,) = result.details["streaming_queries"]
        query.processAllAvailable()
    finally:
        stop_all(result)
    return result


def test_a_batch_whose_every_row_is_rejected_publishes_nothing_to_the_main_sink(
        spark, parquet_batches, tmp_path, services):
    source = parquet_batches(SCHEMA, [
        [(1, "ann", 1.0, "EUR")],
        [(2, None, 1.0, "EUR"), (3, "bob", -1.0, "USD"), (4, "cid", 2.0, "XXX")],  # every row is bad
        [(5, "dan", 3.0, "GBP")],
    ])
    result = run_inline(stream(spark, source, services), tmp_path, services, "sales.orders", enforce=False)
    assert [(e["batch_id"], e["row_count"]) for e in result.details["streaming_batches"]] == [(0, 1), (1, 3), (2, 1)]
    assert ids(spark, tmp_path / "main") == [1, 5]
    assert batch_ids_in(spark, tmp_path / "main") == {0, 2}
    assert not (tmp_path / "main" / "_dc43_batch_id=1").exists()  # not even an empty partition
    assert rejected_rules(spark, tmp_path / "rejected") == {
        2: ["not_null:customer"], 3: ["ge:amount"], 4: ["enum:currency"]}
    assert batch_ids_in(spark, tmp_path / "rejected") == {1}
    assert not list((tmp_path / "main" / "_dc43_staging").glob("*"))  # nothing left aside


WARNED = [{"mustBeGreaterOrEqualTo": 0}, {"mustBeLessOrEqualTo": 1000, "severity": "warning"}]


def test_rejected_rows_name_every_error_rule_they_break_and_no_warning(spark, parquet_batches, tmp_path, services):
    assert register(services, contract_with("sales.warned", WARNED)) == 5
    source = parquet_batches(SCHEMA, [
        [(1, None, -5.0, "XXX"),      # three error rules at once
         (2, "bob", 5000.0, "EUR"),   # the warning only: stays in the main sink
         (3, None, 2000.0, "EUR"),    # an error rule and the warning: only the error is named
         (4, "ann", 1.0, "USD")],
        [(5, "eve", 9000.0, "GBP")],  # a batch breaking nothing but the warning
    ])
    result = run_inline(stream(spark, source, services), tmp_path, services, "sales.warned", enforce=False)
    assert ids(spark, tmp_path / "main") == [2, 4, 5]
    assert rejected_rules(spark, tmp_path / "rejected") == {
        1: ["enum:currency", "ge:amount", "not_null:customer"], 3: ["not_null:customer"]}
    assert batch_ids_in(spark, tmp_path / "rejected") == {0}
    first, second = result.details["streaming_batches"]
    assert first["metrics"]["violations.le:amount"] == 2 and first["metrics"]["violations.not_null:customer"] == 2
    assert "le:amount: 2 row(s) violate le" in first["warnings"]
    assert second["status"] == "warn" and second["metrics"]["violations.le:amount"] == 1


def test_a_broken_warning_does_not_block_a_batch_whose_errors_are_routed(spark, parquet_batches, tmp_path, services):
    register(services, contract_with("sales.warned", WARNED))
    source = parquet_batches(SCHEMA, [[(1, None, 5.0, "EUR"), (2, "bob", 5000.0, "EUR")]])
    run_inline(stream(spark, source, services), tmp_path, services, "sales.warned", enforce=True)
    assert ids(spark, tmp_path / "main") == [2]
    assert rejected_rules(spark, tmp_path / "rejected") == {1: ["not_null:customer"]}


def ge_amount(count: int) -> list[dict[str, Any]]:
    """``count`` rules amount >= 0, >= -1, ... (keys ge:amount, ge:amount#2, ...)."""
    return [{"mustBeGreaterOrEqualTo": -n} for n in range(count)]


def ge_keys(count: int) -> list[str]:
    return ["ge:amount"] + [f"ge:amount#{n + 1}" for n in range(1, count)]


def test_the_63rd_per_row_rule_still_rides_the_one_pass_mask(spark, parquet_batches, tmp_path, services):
    # not_null:order_id, not_null:customer, 60 amount rules, enum:currency: 63 bits, currency's is bit 62
    assert register(services, contract_with("sales.wide63", ge_amount(60))) == 63
    source = parquet_batches(SCHEMA, [[
        (1, "ann", 1.0, "EUR"),
        (2, "bob", 1.0, "XXX"),        # bit 62 alone
        (3, "cid", -59.5, "EUR"),      # the 60 amount rules
        (4, None, -100.0, "XXX"),      # bits 1 to 62
        (5, "dan", -0.5, "GBP"),       # bit 2 alone
    ]])
    run_inline(stream(spark, source, services), tmp_path, services, "sales.wide63", enforce=False)
    assert ids(spark, tmp_path / "main") == [1]
    rules = rejected_rules(spark, tmp_path / "rejected")
    assert rules == {2: ["enum:currency"], 3: sorted(ge_keys(60)),
                     4: sorted(["not_null:customer", *ge_keys(60), "enum:currency"]), 5: ["ge:amount"]}
    staging = tmp_path / "main" / "_dc43_staging"
    assert not list(staging.glob("*"))  # nothing left aside


def test_more_than_63_per_row_rules_still_split_rows_correctly(spark, parquet_batches, tmp_path, services):
    assert register(services, contract_with("sales.wide", ge_amount(64))) == 67
    batches = [
        [(1, "ann", 10.0, "EUR"), (2, "bob", -0.5, "EUR"), (3, "cid", -1.5, "USD")],
        [(4, None, 1.0, "GBP"), (5, "dan", -100.0, "XXX"), (6, "eve", 2.0, "USD")],
    ]
    source = parquet_batches(SCHEMA, batches)
    run_inline(stream(spark, source, services), tmp_path, services, "sales.wide", enforce=False)
    main, rejected = ids(spark, tmp_path / "main"), ids(spark, tmp_path / "rejected")
    assert sorted(main + rejected) == [r[0] for batch in batches for r in batch]
    assert main == [1, 6]
    assert rejected_rules(spark, tmp_path / "rejected") == {
        2: ["ge:amount"], 3: ["ge:amount", "ge:amount#2"], 4: ["not_null:customer"],
        5: sorted([*ge_keys(64), "enum:currency"])}
    assert batch_ids_in(spark, tmp_path / "main") == {0, 1} == batch_ids_in(spark, tmp_path / "rejected")
    assert not list((tmp_path / "main" / "_dc43_staging").glob("*"))  # nothing left aside


@pytest.mark.classic_only  # counts jobs with sparkContext.statusTracker()
def test_the_gate_reads_each_micro_batch_once(spark, parquet_batches, tmp_path, services):
    """Without set-level rules a batch costs one Spark job: its staged write carries the counts.

    A batch with rejected rows adds one small job that writes them to the rejection sink.
    """
    contract = orders_contract().model_copy(update={"id": "sales.per_row"}, deep=True)
    contract.schema_[0].properties[0].unique = False
    assert register(services, contract) == 4  # not_null x2, ge:amount, enum:currency; no set-level rule
    source = parquet_batches(SCHEMA, [
        [(1, "ann", 1.0, "EUR"), (2, "bob", 2.0, "USD")],
        [(3, None, 1.0, "EUR"), (4, "cid", 2.0, "GBP")],  # one rejected row
        [(5, "dan", 3.0, "GBP")],
    ])
    result = run_inline(stream(spark, source, services), tmp_path, services, "sales.per_row", enforce=False)
    (query,) = result.details["streaming_queries"]
    jobs = spark.sparkContext.statusTracker().getJobIdsForGroup(str(query.runId))
    assert [e["row_count"] for e in result.details["streaming_batches"]] == [2, 2, 1]
    assert len(jobs) == 3 + 1
    assert ids(spark, tmp_path / "main") == [1, 2, 4, 5]
    assert rejected_rules(spark, tmp_path / "rejected") == {3: ["not_null:customer"]}


# -- where a rejected row's rules come from: its staged values, or its route ---------------------

def sink_ids(spark, fmt: str, path: Path) -> list[int]:
    rows = spark.read.format(fmt).schema(SCHEMA).load(str(path)).select("order_id").collect()
    return sorted(r.order_id for r in rows)


@pytest.mark.parametrize("fmt", ["parquet", "orc", "json", "csv"])
@pytest.mark.connect
def test_every_sink_format_splits_rows_and_names_their_rules_exactly(spark, parquet_batches, tmp_path, services, fmt):
    """parquet and orc give back what was staged: rules are named again from the staged values and
    uniqueness is read from them; json and csv route each rule combination and re-read the batch."""
    register(services, contract_with("sales.warned", WARNED))
    source = parquet_batches(SCHEMA, [
        [(1, "ann", 1.0, "EUR"),
         (1, None, -5.0, "XXX"),      # a duplicate id on a row breaking three error rules
         (2, "bob", 5000.0, "EUR"),   # the warning only
         (3, None, 2000.0, "EUR")],   # an error rule and the warning
        [(4, "cid", 2.0, "USD")],
    ])
    result = write_stream_with_contract(
        df=stream(spark, source, services), contract_id="sales.warned", format=fmt, path=str(tmp_path / "main"),
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline", enforce=False,
        **rejects(tmp_path), **services)
    try:
        result.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(result)
    first = result.details["streaming_batches"][0]["metrics"]
    assert first["violations.unique:order_id"] == 1  # counted over clean and rejected rows alike
    assert first["violations.not_null:customer"] == 2 and first["violations.le:amount"] == 2
    assert sink_ids(spark, fmt, tmp_path / "main") == [1, 2, 4]
    assert rejected_rules(spark, tmp_path / "rejected") == {
        1: ["enum:currency", "ge:amount", "not_null:customer"], 3: ["not_null:customer"]}
    for sink in ("main", "rejected"):
        assert not list((tmp_path / sink / "_dc43_staging").glob("*"))  # nothing left aside


def test_a_value_lost_by_a_cast_is_named_on_its_rejected_row(spark, parquet_batches, tmp_path, services):
    """A cast's losses are seen only in the source's values: such rows keep their rules in their route."""
    raw = "order_id bigint, customer string, amount string, currency string"
    source = parquet_batches(raw, [[(1, "ann", "1.5", "EUR"), (2, "bob", "lots", "EUR"), (3, None, "oops", "USD")]])
    df = spark.readStream.schema(raw).option("maxFilesPerTrigger", "1").parquet(source)
    result = run_inline(df, tmp_path, services, "sales.orders", enforce=False)
    assert result.details["streaming_batches"][0]["metrics"]["violations.cast:amount"] == 2
    assert ids(spark, tmp_path / "main") == [1]
    assert rejected_rules(spark, tmp_path / "rejected") == {
        2: ["cast:amount"], 3: ["cast:amount", "not_null:customer"]}


def test_a_blocked_batch_leaves_neither_sink_anything(spark, parquet_batches, tmp_path, services):
    """The rejected rows are staged at the rejection sink while uniqueness is measured: a batch
    that then blocks drops them with the rest."""
    source = parquet_batches(SCHEMA, [[(1, "ann", 1.0, "EUR"), (1, "bob", -1.0, "EUR"), (2, None, 1.0, "EUR")]])
    with pytest.raises(ContractViolationError, match="unique:order_id"):
        run_inline(stream(spark, source, services), tmp_path, services, "sales.orders", enforce=True)
    for sink in ("main", "rejected"):
        assert not [f for f in (tmp_path / sink).rglob("*") if f.is_file()]  # not published, not left aside
