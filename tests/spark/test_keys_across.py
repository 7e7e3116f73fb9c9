"""Keys unique across micro-batches: hand-counted file streams, one file per micro-batch.

A key an earlier batch published breaks ``unique_across:<columns>`` in the later one; the
inline gate rejects that row or blocks the batch; the history survives a restart, bounds
itself by the contract's horizon and never counts a key with a null part.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dc43.contracts import LocalContractServiceClient
from dc43.errors import ContractFormatError, ContractViolationError
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
from dc43_memory.store import InMemoryContractStore
from open_data_contract_standard.model import OpenDataContractStandard

from tests.spark.orders import drained, stop_all

pytestmark = pytest.mark.spark
#: the tests that also run on Spark Connect and the standalone cluster (docs/testing.md: one per
#: behaviour whose code path differs there; the variants of a behaviour run on classic Spark)
REMOTE = (pytest.mark.connect, pytest.mark.cluster)

SCHEMA = "id bigint, region string, amount double, ts timestamp"
ACROSS = "violations.unique_across:id"


def events_contract(*, key: str = "id", horizon: Any = None, event_time: str | None = None) -> dict[str, Any]:
    keyed = {"id": {}, "region": {}}
    if key == "id":
        keyed["id"] = {"primaryKey": True}
    else:  # composite (region, id)
        keyed = {"region": {"primaryKey": True, "primaryKeyPosition": 1},
                 "id": {"primaryKey": True, "primaryKeyPosition": 2}}
    custom = [{"property": "dc43.keyHorizon", "value": horizon}] if horizon is not None else []
    if event_time:
        custom.append({"property": "dc43.keyEventTime", "value": event_time})
    return {
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.events", "version": "1.0.0", "status": "active",
        "schema": [{"name": "events", "customProperties": custom, "properties": [
            {"name": "id", "physicalType": "bigint", **keyed["id"]},
            {"name": "region", "physicalType": "string", **keyed["region"]},
            {"name": "amount", "physicalType": "double", "quality": [{"mustBeGreaterOrEqualTo": 0}]},
            {"name": "ts", "physicalType": "timestamp"},
        ]}],
    }


def with_contract(services: dict[str, Any], contract: dict[str, Any]) -> dict[str, Any]:
    store = InMemoryContractStore()
    store.put(OpenDataContractStandard.model_validate(contract))
    return {**services, "contract_service": LocalContractServiceClient(store)}


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2026-12-01T{hhmm}:00")


def row(key: int, region: str = "eu", amount: float = 1.0, ts: str = "10:00") -> tuple:
    return (key, region, amount, at(ts))


def write(spark, services, source: str, tmp_path: Path, *, name: str = "main", **kwargs: Any) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="t.events", format="parquet", path=source,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    return write_stream_with_contract(df=df, contract_id="t.events", format="parquet", path=str(tmp_path / name),
                                      options={"checkpointLocation": str(tmp_path / f"cp-{name}")},
                                      **services, **kwargs)


def run(spark, services, source: str, tmp_path: Path, **kwargs: Any) -> Any:
    return drained(write(spark, services, source, tmp_path, **kwargs))


def across(result: Any, metric: str = ACROSS) -> list[int]:
    return [e["metrics"][metric] for e in result.details["streaming_batches"] if "metrics" in e]


def ids(spark, path: Path) -> list[int]:
    return sorted(r.id for r in spark.read.parquet(str(path)).select("id").collect()) if path.exists() else []


@pytest.mark.parametrize("writer", [pytest.param("foreach-batch", marks=REMOTE), "inline"])
def test_a_key_repeated_from_an_earlier_batch_is_caught(spark, parquet_batches, tmp_path, services, writer):
    services = with_contract(services, events_contract())
    source = parquet_batches(SCHEMA, [[row(1), row(2)], [row(3), row(9)], [row(4)], [row(9), row(5)]])
    result = run(spark, services, source, tmp_path, observation_writer=writer, enforce=False)
    assert across(result) == [0, 0, 0, 1]
    assert [e["status"] for e in result.details["streaming_batches"]] == ["ok", "ok", "ok", "block"]
    assert "unique_across:id: 1 row(s) violate unique_across" in result.details["streaming_batches"][3]["errors"]
    assert ids(spark, tmp_path / "main") == [1, 2, 3, 4, 5, 9, 9]  # enforce=False: recorded, written
    assert result.details["key_horizons"] == {"unique_across:id": "unbounded"}


@REMOTE[0]
@REMOTE[1]
def test_the_gate_rejects_the_repeated_row_and_keeps_only_published_keys(spark, parquet_batches, tmp_path, services):
    services = with_contract(services, events_contract())
    source = parquet_batches(SCHEMA, [
        [row(1), row(7, amount=-1.0)],   # 7 is rejected (amount): its key is not published
        [row(2), row(1)],                # 1 again: rejected, by the rule across batches
        [row(7), row(3)],                # 7 corrected: published, not a repeat
    ])
    result = run(spark, services, source, tmp_path, observation_writer="inline", enforce=True,
                 rejection_sink={"format": "parquet", "path": str(tmp_path / "rejected")})
    assert across(result) == [0, 1, 0]
    assert ids(spark, tmp_path / "main") == [1, 2, 3, 7]
    rejected = sorted((r.id, list(r._dc43_rejected_rules))
                      for r in spark.read.parquet(str(tmp_path / "rejected")).collect())
    assert rejected == [(1, ["unique_across:id"]), (7, ["ge:amount"])]


def test_without_a_rejection_sink_the_gate_blocks_the_batch(spark, parquet_batches, tmp_path, services):
    services = with_contract(services, events_contract())
    source = parquet_batches(SCHEMA, [[row(1)], [row(2)], [row(1), row(3)]])
    result = write(spark, services, source, tmp_path, observation_writer="inline", enforce=True)
    (query,) = result.details["streaming_queries"]
    try:
        with pytest.raises(ContractViolationError, match="unique_across:id"):
            query.processAllAvailable()
    finally:
        stop_all(result)
    assert ids(spark, tmp_path / "main") == [1, 2]  # nothing of batch 2
    assert "micro-batch 2" in result.details["streaming_error"]


@pytest.mark.connect
def test_the_history_survives_a_restart_on_the_checkpoint(spark, parquet_batches, tmp_path, services):
    services = with_contract(services, events_contract())
    parquet_batches(SCHEMA, [[row(1)], [row(2)]])
    first = run(spark, services, str(tmp_path / "source"), tmp_path, observation_writer="inline", enforce=False)
    assert across(first) == [0, 0]
    parquet_batches(SCHEMA, [[row(2), row(3)]], first=2)
    again = run(spark, services, str(tmp_path / "source"), tmp_path, observation_writer="inline", enforce=False)
    assert [e["batch_id"] for e in again.details["streaming_batches"]] == [2]
    assert across(again) == [1]


def test_a_composite_key_with_a_null_part_is_never_kept(spark, parquet_batches, tmp_path, services):
    services = with_contract(services, events_contract(key="composite"))
    source = parquet_batches(SCHEMA, [
        [row(1, "eu"), row(1, None), row(2, "us")],
        [row(1, "eu"), row(1, None), row(2, "eu")],  # (eu, 1) again; (None, 1) breaks the key, not across
    ])
    result = run(spark, services, source, tmp_path, enforce=False)
    assert across(result, "violations.unique_across:region,id") == [0, 1]
    assert across(result, "violations.primary_key:region,id") == [1, 1]  # the null part, in each batch


@pytest.mark.parametrize("writer", ["foreach-batch", "inline", pytest.param("inline+rejects", marks=REMOTE)])
def test_a_batchs_own_repeats_are_counted_from_its_keys_on_every_writer(spark, parquet_batches, tmp_path, services,
                                                                        writer):
    """With keys checked across batches, the key's ``unique`` rule is counted from the keys the lookup
    collects, not by aggregating the rows: hand-counted, nulls left out."""
    services = with_contract(services, events_contract())
    source = parquet_batches(SCHEMA, [
        [row(1), row(1), row(1), row(2), (None, "eu", 1.0, at("10:00"))],  # 1 twice more; a null id
        [row(2), row(3), row(3)],                                           # 3 once more; 2 from batch 0
    ])
    extra = ({"observation_writer": "inline", "rejection_sink": {"format": "parquet", "path": str(tmp_path / "rej")}}
             if writer == "inline+rejects" else {"observation_writer": writer})
    result = run(spark, services, source, tmp_path, enforce=False, **extra)
    assert across(result, "violations.unique:id") == [2, 1]
    assert across(result, "violations.not_null:id") == [1, 0]
    assert across(result) == [0, 1]


def test_a_horizon_in_batches_forgets_a_key_exactly_after_it(spark, parquet_batches, tmp_path, services):
    services = with_contract(services, events_contract(horizon="2 batches"))
    source = parquet_batches(SCHEMA, [[row(1)], [row(2)], [row(1)], [row(2)], [row(1)]])
    result = run(spark, services, source, tmp_path, observation_writer="inline", enforce=False)
    # 1 (batch 0) is checked in batches 1 and 2; 2 (batch 1) in 2 and 3; 1 is forgotten in batch 4
    assert across(result) == [0, 0, 1, 1, 0]
    assert result.details["key_horizons"] == {"unique_across:id": "2 batch(es)"}


def test_an_event_time_horizon_forgets_keys_behind_it(spark, parquet_batches, tmp_path, services):
    services = with_contract(services, events_contract(horizon="1 h", event_time="ts"))
    source = parquet_batches(SCHEMA, [
        [row(1, ts="10:00"), row(3, ts="10:45"), row(4, ts="10:30")],
        [row(2, ts="11:30")],                           # newest event time: 11:30, keeps keys from 10:30
        [row(1, ts="12:00"), row(3, ts="12:00"), row(4, ts="12:00")],
    ])
    result = run(spark, services, source, tmp_path, enforce=False)
    assert across(result) == [0, 0, 2]  # 3 and 4 (10:30 exactly) are kept; 1 (10:00) is forgotten
    assert result.details["key_horizons"] == {"unique_across:id": "3600 s of event time (ts)"}


@REMOTE[0]
@REMOTE[1]
def test_the_observe_writer_says_it_does_not_check_keys_across_batches(spark, parquet_batches, tmp_path, services):
    services = with_contract(services, events_contract())
    source = parquet_batches(SCHEMA, [[row(1)], [row(1)]])
    result = run(spark, services, source, tmp_path, observation_writer="observe", enforce=False)
    assert result.details["unmeasured"] == ["unique:id", "unique_across:id"]
    assert result.details["key_horizons"] == {}


@pytest.mark.parametrize(("custom", "problem"), [
    ([{"property": "dc43.keyHorizon", "value": "3 weeks"}], "'3 weeks' is not a horizon dc43 knows"),
    ([{"property": "dc43.keyHorizon", "value": "1 h"}, {"property": "dc43.keyEventTime", "value": "when"}],
     "'when' is not a property of 'events'"),
    ([{"property": "dc43.keyEventTime", "value": "ts"}], "needs dc43.keyHorizon set to a duration"),
])
@REMOTE[0]
@REMOTE[1]
def test_a_bad_horizon_is_refused_before_any_query_starts(spark, parquet_batches, tmp_path, services,
                                                          custom, problem):
    contract = events_contract()
    contract["schema"][0]["customProperties"] = custom
    services = with_contract(services, contract)
    source = parquet_batches(SCHEMA, [[row(1)]])
    before = len(spark.streams.active)
    with pytest.raises(ContractFormatError, match=problem):
        write(spark, services, source, tmp_path)
    assert len(spark.streams.active) == before


@REMOTE[0]
@REMOTE[1]
def test_200000_keys_per_batch_are_checked_exactly_and_the_history_says_its_size(spark, tmp_path, services):
    """Three batches of 200,000 keys: batch 1 repeats 1,234 keys of batch 0, batch 2 repeats 777 of
    batch 0 and 555 of batch 1; the result says how many keys the history keeps."""
    from pyspark.sql import functions as F

    services = with_contract(services, events_contract())
    size, source = 200_000, tmp_path / "source"
    source.mkdir()
    batches = [spark.range(0, size),
               spark.range(size, 2 * size - 1_234).union(spark.range(0, 1_234)),
               spark.range(2 * size, 3 * size - 1_332).union(spark.range(10_000, 10_777))
               .union(spark.range(size + 50_000, size + 50_555))]
    for n, ids in enumerate(batches):
        staged = tmp_path / f"stage-{n}"
        (ids.select(F.col("id"), F.lit("eu").alias("region"), F.lit(1.0).alias("amount"),
                    F.lit(at("10:00")).alias("ts")).coalesce(1).write.parquet(str(staged)))
        (part,) = staged.glob("part-*.parquet")
        part.rename(source / f"batch-{n:03d}.parquet")
    result = run(spark, services, str(source), tmp_path, enforce=False)
    assert across(result) == [0, 1_234, 777 + 555]
    assert [e["row_count"] for e in result.details["streaming_batches"]] == [size] * 3
    kept = [e["keys_kept"]["unique_across:id"] for e in result.details["streaming_batches"]]
    assert [k["keys"] for k in kept] == [0, size, 2 * size - 1_234]  # as each batch was judged
    assert kept[2]["bytes"] > kept[1]["bytes"] > 0


def test_keys_kept_in_sqlite_by_an_earlier_dc43_are_converted_and_still_caught(spark, parquet_batches, tmp_path,
                                                                               services):
    """A query whose keys an earlier dc43 kept in a SQLite file restarts with none of them lost."""
    import json
    import shutil
    import sqlite3

    from dc43.settings import Settings

    services = with_contract(services, events_contract(key="composite"))
    parquet_batches(SCHEMA, [[row(1, "eu"), row(2, "us")]])
    first = run(spark, services, str(tmp_path / "source"), tmp_path, enforce=False)
    assert across(first, "violations.unique_across:region,id") == [0]
    state = Settings.load().absolute().state_dir
    (folder,) = (state / "keys").iterdir()  # the query's index
    shutil.rmtree(folder)  # what the earlier dc43 left instead: a SQLite file of the same name
    legacy = folder.with_name(folder.name + ".db")
    db = sqlite3.connect(legacy)
    db.executescript("""
        CREATE TABLE keys (rule TEXT NOT NULL, key TEXT NOT NULL, first_batch INTEGER NOT NULL,
            first_at REAL NOT NULL, event_time INTEGER, PRIMARY KEY (rule, key)) WITHOUT ROWID;
        CREATE TABLE batches (rule TEXT NOT NULL, batch_id INTEGER NOT NULL, max_event INTEGER,
            PRIMARY KEY (rule, batch_id)) WITHOUT ROWID;""")
    db.executemany("INSERT INTO keys VALUES ('unique_across:region,id', ?, 0, 0.0, NULL)",
                   [(json.dumps(["eu", 1], separators=(",", ":")),), (json.dumps(["us", 2], separators=(",", ":")),)])
    db.commit()
    db.close()
    parquet_batches(SCHEMA, [[row(1, "eu"), row(2, "eu"), row(2, "us")]], first=1)
    again = run(spark, services, str(tmp_path / "source"), tmp_path, enforce=False)
    assert across(again, "violations.unique_across:region,id") == [2]  # (eu, 1) and (us, 2)
    assert not legacy.exists() and legacy.with_name(legacy.name + ".converted").exists()


@REMOTE[0]
@REMOTE[1]
def test_a_batchs_distinct_keys_say_their_rows_newest_event_and_published_rows(spark):
    """Rows of one key counted by numpy once sorted by hash; grouped by pyarrow when two keys share
    a hash (here every key is given one hash): the same keys either way."""
    import attrs
    from dc43.spark.key_history import KeyColumns
    from pyspark.sql import functions as F

    df = spark.createDataFrame([(1, "a", 10, True), (2, "b", None, False), (1, "a", 30, False), (3, "c", 5, True),
                                (1, "a", None, True), (None, "z", 1, True)], "id long, tag string, t long, ok boolean")
    raw = [F.col("id"), F.col("tag")]
    keys = KeyColumns.over(raw, df.select(F.col("id").alias("k0"), F.col("tag").alias("k1")).schema, F.col("t"))
    for variant in (keys, attrs.evolve(keys, hash=F.lit(7).cast("long"))):
        table = variant.distinct(df, published=F.col("ok"))
        assert sorted(zip(*(table.column(name).to_pylist() for name in ("k0", "k1", "e", "p", "n")))) == [
            (1, "a", 30, 2, 3), (2, "b", None, 0, 1), (3, "c", 5, 1, 1)]
