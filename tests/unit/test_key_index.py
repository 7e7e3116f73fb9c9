"""The key index: what an earlier batch published, replays, horizons, and a file that outlives it."""

from __future__ import annotations

import pytest
from dc43.errors import ContractFormatError
from dc43.key_index import KeyIndex
from dc43.quality import plan_contract
from dc43.quality.across import describe
from open_data_contract_standard.model import OpenDataContractStandard

UNBOUNDED: dict = {}


def publish(index: KeyIndex, batch_id: int, *keys: str, horizon: dict = UNBOUNDED, now: float = 0.0,
            events: dict | None = None) -> None:
    events = events or {}
    index.publish("r", [(k, events.get(k)) for k in keys], batch_id, horizon, now=now,
                  max_event=max(events.values()) if events else None)


def test_only_keys_of_earlier_batches_are_seen_so_a_replay_finds_none_of_its_own() -> None:
    index = KeyIndex(None)
    publish(index, 0, "a", "b")
    publish(index, 1, "c")
    assert index.seen("r", ["a", "c", "d"], 2, UNBOUNDED, now=0) == {"a": 0, "c": 1}
    assert index.seen("r", ["c"], 1, UNBOUNDED, now=0) == {}  # batch 1 replayed: its own key
    assert index.seen("other", ["a"], 2, UNBOUNDED, now=0) == {}  # rules keep their own keys


def test_the_index_file_is_found_again(tmp_path) -> None:
    path = tmp_path / "keys" / "q.db"
    first = KeyIndex(path)
    publish(first, 0, "a")
    first.close()
    assert KeyIndex(path).seen("r", ["a"], 5, UNBOUNDED, now=0) == {"a": 0}


def test_a_horizon_in_batches_keeps_a_key_for_that_many_batches_then_forgets_it() -> None:
    index, horizon = KeyIndex(None), {"batches": 2}
    publish(index, 0, "a", horizon=horizon)
    assert index.seen("r", ["a"], 2, horizon, now=0) == {"a": 0}
    assert index.seen("r", ["a"], 3, horizon, now=0) == {}
    publish(index, 2, horizon=horizon)
    assert index.count("r") == 1  # a replay of batch 2 still sees "a"
    publish(index, 3, horizon=horizon)  # batch 3 published without "a": it is dropped from the file
    assert index.count("r") == 0


def test_a_processing_time_horizon_keeps_keys_published_within_it() -> None:
    index, horizon = KeyIndex(None), {"seconds": 60.0}
    publish(index, 0, "a", horizon=horizon, now=1000.0)
    assert index.seen("r", ["a"], 1, horizon, now=1060.0) == {"a": 0}
    assert index.seen("r", ["a"], 1, horizon, now=1060.5) == {}
    publish(index, 1, "b", horizon=horizon, now=1061.0)
    assert index.count("r") == 1  # "a" was dropped


def test_an_event_time_horizon_trails_the_newest_event_time_of_earlier_batches() -> None:
    index, horizon = KeyIndex(None), {"seconds": 10.0, "event_time": "ts"}
    second = 1_000_000
    publish(index, 0, "a", "b", horizon=horizon, events={"a": 100 * second, "b": 105 * second})
    publish(index, 1, "c", horizon=horizon, events={"c": 115 * second})
    # newest before batch 2: 115 s, so keys from 105 s on are kept
    assert index.seen("r", ["a", "b", "c"], 2, horizon, now=0) == {"b": 0, "c": 1}
    assert index.seen("r", ["a", "b"], 1, horizon, now=0) == {"a": 0, "b": 0}  # batch 1 replayed: as it saw
    publish(index, 2, horizon=horizon)
    assert index.count("r") == 2  # "a" was dropped


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


def test_a_lookup_walks_the_batch_keys_with_one_probe_each_never_the_history() -> None:
    """What keeps a batch's cost flat as the history grows (benchmarks/key_history.py measures it)."""
    from dc43.key_index import LOOKUP

    index = KeyIndex(None)
    index.seen("r", ["a"], 1, UNBOUNDED, now=0)  # creates the probe table
    steps = [row[3] for row in index._db.execute("EXPLAIN QUERY PLAN " + LOOKUP.format(kept="1"), ("r", 5))]
    assert steps == ["SCAN p", "SEARCH k USING PRIMARY KEY (rule=? AND key=?)"]
