"""The key index: what an earlier batch published, replays, horizons, and a file that outlives it."""

from __future__ import annotations

import zlib

import pyarrow as pa
import pytest
from dc43.errors import ContractFormatError
from dc43.key_index import KeyIndex
from dc43.quality import plan_contract
from dc43.quality.across import describe
from open_data_contract_standard.model import OpenDataContractStandard

UNBOUNDED: dict = {}
SECOND = 1_000_000


def keys(*names: str, events: dict | None = None) -> pa.Table:
    """Distinct keys as the batch side hands them over: hash, key column, newest event time."""
    events = events or {}
    return pa.table({"h": pa.array([zlib.crc32(n.encode()) for n in names], pa.int64()),
                     "k0": pa.array(list(names), pa.string()),
                     "e": pa.array([events.get(n) for n in names], pa.int64())})


def seen(index: KeyIndex, batch_id: int, *names: str, horizon: dict = UNBOUNDED, now: float = 0.0,
         rule: str = "r") -> set[str]:
    found = index.seen(rule, keys(*names), batch_id, horizon, now=now)
    return {name for name, hit in zip(names, found, strict=True) if hit}


def publish(index: KeyIndex, batch_id: int, *names: str, horizon: dict = UNBOUNDED, now: float = 0.0,
            events: dict | None = None) -> None:
    events = events or {}
    index.publish("r", keys(*names, events=events), batch_id, horizon, now=now,
                  max_event=max(events.values()) if events else None)


def test_only_keys_of_earlier_batches_are_seen_so_a_replay_finds_none_of_its_own() -> None:
    index = KeyIndex(None)
    publish(index, 0, "a", "b")
    publish(index, 1, "c")
    assert seen(index, 2, "a", "c", "d") == {"a", "c"}
    assert seen(index, 1, "c") == set()  # batch 1 replayed: its own key
    assert seen(index, 2, "a", rule="other") == set()  # rules keep their own keys


def test_the_index_folder_is_found_again(tmp_path) -> None:
    folder = tmp_path / "keys" / "q"
    publish(KeyIndex(folder), 0, "a")
    assert seen(KeyIndex(folder), 5, "a", "b") == {"a"}
    assert not list(folder.rglob("*.part"))


def test_a_replayed_batch_replaces_what_it_published_before() -> None:
    index = KeyIndex(None)
    publish(index, 0, "a")
    publish(index, 1, "b", "c")
    publish(index, 1, "b")  # the replay of batch 1 kept only "b"
    assert seen(index, 2, "a", "b", "c") == {"a", "b"}
    assert index.sizes()["r"]["keys"] == 2


def test_equal_hashes_are_told_apart_by_the_key_itself() -> None:
    index = KeyIndex(None)
    stored = pa.table({"h": pa.array([7, 7], pa.int64()), "k0": ["a", "b"], "e": pa.array([None, None], pa.int64())})
    index.publish("r", stored, 0, UNBOUNDED, now=0)
    probe = pa.table({"h": pa.array([7, 7, 8], pa.int64()), "k0": ["b", "z", "a"],
                      "e": pa.array([None] * 3, pa.int64())})
    assert index.seen("r", probe, 1, UNBOUNDED, now=0).tolist() == [True, False, False]


def test_many_batches_merge_into_few_runs_and_every_key_is_still_found() -> None:
    index = KeyIndex(None)
    for batch in range(40):
        publish(index, batch, *(f"{batch}-{n}" for n in range(batch % 5 + 1)))
    rule = index.rule("r")
    assert len(rule._runs) <= 7  # about log2(40)
    assert seen(index, 40, "0-0", "39-4", "17-2", "17-3", "nope") == {"0-0", "39-4", "17-2"}


def test_a_horizon_in_batches_keeps_a_key_for_that_many_batches_then_forgets_it(tmp_path) -> None:
    index, horizon = KeyIndex(tmp_path / "q"), {"batches": 2}
    publish(index, 0, "a", horizon=horizon)
    assert seen(index, 2, "a", horizon=horizon) == {"a"}
    assert seen(index, 3, "a", horizon=horizon) == set()
    publish(index, 2, horizon=horizon)
    assert index.sizes()["r"]["keys"] == 1  # a replay of batch 2 still sees "a"
    publish(index, 3, horizon=horizon)  # batch 3 published without "a": its file is dropped
    assert index.sizes()["r"] == {"keys": 0, "bytes": 0}
    assert not list((tmp_path / "q").rglob("*.arrow"))


def test_a_processing_time_horizon_keeps_keys_published_within_it() -> None:
    index, horizon = KeyIndex(None), {"seconds": 60.0}
    publish(index, 0, "a", horizon=horizon, now=1000.0)
    assert seen(index, 1, "a", horizon=horizon, now=1060.0) == {"a"}
    assert seen(index, 1, "a", horizon=horizon, now=1060.5) == set()
    publish(index, 1, "b", horizon=horizon, now=1061.0)
    assert index.sizes()["r"]["keys"] == 1  # "a" was dropped


def test_an_event_time_horizon_trails_the_newest_event_time_of_earlier_batches(tmp_path) -> None:
    index, horizon = KeyIndex(tmp_path / "q"), {"seconds": 10.0, "event_time": "ts"}
    publish(index, 0, "a", "b", horizon=horizon, events={"a": 100 * SECOND, "b": 105 * SECOND})
    publish(index, 1, "c", horizon=horizon, events={"c": 115 * SECOND})
    # newest before batch 2: 115 s, so keys from 105 s on are kept
    assert seen(index, 2, "a", "b", "c", horizon=horizon) == {"b", "c"}
    assert seen(index, 1, "a", "b", horizon=horizon) == {"a", "b"}  # batch 1 replayed: as it saw
    index.publish("r", keys(), 2, horizon, now=0, max_event=124 * SECOND)  # no new key, a newer event
    assert index.sizes()["r"]["keys"] == 2  # "a" was dropped
    assert seen(index, 3, "b", "c", horizon=horizon) == {"c"}  # newest 124 s: from 114 s on
    again = KeyIndex(tmp_path / "q")  # the newest event time outlives a restart with the keys
    assert seen(again, 3, "a", "b", "c", horizon=horizon) == {"c"}


def contract(custom: list[dict]) -> OpenDataContractStandard:
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.k", "version": "1.0.0",
        "schema": [{"name": "k", "customProperties": custom, "properties": [
            {"name": "id", "physicalType": "bigint", "primaryKey": True},
            {"name": "ts", "physicalType": "timestamp"}]}]})


@pytest.mark.parametrize(("value", "horizon", "words"), [
    ("12 batches", {"batches": 12}, "12 batch(es)"),
    ("1 batch", {"batches": 1}, "1 batch(es)"),
    ("90 s", {"seconds": 90.0}, "90 s of processing time"),
    ("2h", {"seconds": 7200.0}, "7200 s of processing time"),
    ("7 days", {"seconds": 604800.0}, "604800 s of processing time"),
    ("unbounded", {}, "unbounded"),
])
def test_horizons_the_contract_can_set(value, horizon, words) -> None:
    plan, _ = plan_contract(contract([{"property": "dc43.keyHorizon", "value": value}]))
    (rule,) = [e for e in plan if e.rule == "unique_across"]
    assert rule.params == {"columns": ["id"], "horizon": horizon}
    assert describe(rule.params["horizon"]) == words


@pytest.mark.parametrize("value", ["0 batches", "1.5 batches", "-2 h", "3 weeks", "soon", ""])
def test_a_horizon_dc43_cannot_read_is_refused_with_the_forms_it_takes(value) -> None:
    with pytest.raises(ContractFormatError, match="customProperties\\[dc43.keyHorizon\\].*'<n> batches'"):
        plan_contract(contract([{"property": "dc43.keyHorizon", "value": value}]))


def test_an_event_time_horizon_names_its_column() -> None:
    plan, _ = plan_contract(contract([{"property": "dc43.keyHorizon", "value": "1 h"},
                                      {"property": "dc43.keyEventTime", "value": "ts"}]))
    (rule,) = [e for e in plan if e.rule == "unique_across"]
    assert rule.params["horizon"] == {"seconds": 3600.0, "event_time": "ts"}
    assert describe(rule.params["horizon"]) == "3600 s of event time (ts)"


def test_keys_unique_within_each_batch_only_plan_no_rule_across_batches() -> None:
    plan, _ = plan_contract(contract([{"property": "dc43.keyHorizon", "value": "batch"}]))
    assert [e.key for e in plan] == ["not_null:id", "unique:id"]


def test_a_key_is_kept_when_one_of_its_rows_reached_the_main_sink() -> None:
    """Under a rejection sink, a key is withheld only when every row carrying it was rejected."""
    from dc43.spark.key_history import _published

    fresh = pa.table({"h": pa.array([1, 2, 3], pa.int64()), "k0": ["a", "b", "c"],
                      "e": pa.array([None] * 3, pa.int64()), "n": pa.array([1, 2, 1], pa.int64())})
    rejected = pa.table({"h": pa.array([1, 2], pa.int64()), "k0": ["a", "b"],
                         "e": pa.array([None] * 2, pa.int64()), "n": pa.array([1, 1], pa.int64())})
    kept = _published(fresh, rejected)
    assert sorted(kept.column("k0").to_pylist()) == ["b", "c"]  # "a" only rejected; "b" once of twice
    assert kept.column_names == fresh.column_names


def test_a_bounded_history_keeps_its_lookups_as_small_as_the_keys_it_keeps() -> None:
    """Batches a horizon dropped leave the in-memory runs once they outnumber the live keys."""
    index, horizon = KeyIndex(None), {"batches": 3}
    for batch in range(60):
        publish(index, batch, *(f"{batch}-{n}" for n in range(10)), horizon=horizon)
    rule = index.rule("r")
    assert index.sizes()["r"]["keys"] == 40  # batches 56 to 59 (a replay of 59 sees 56)
    assert sum(len(run.hashes) for run in rule._runs) <= 2 * 40 + 10
    assert seen(index, 60, "59-0", "57-9", "56-0", "55-9", horizon=horizon) == {"59-0", "57-9"}
