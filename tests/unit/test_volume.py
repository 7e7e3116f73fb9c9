"""Volume over time: rows per window, the change against recent batches, replays, and the
contract properties that set them (explicit clocks, no Spark)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from dc43.errors import ContractFormatError
from dc43.quality import LocalDataQualityService, plan_contract
from dc43.results import ObservationPayload
from dc43.volume_index import VolumeIndex
from open_data_contract_standard.model import OpenDataContractStandard

HOUR = 3_600_000_000


def at(hh_mm: str) -> int:
    """Microseconds since the epoch of ``hh:mm`` UTC on one day."""
    hours, minutes = map(int, hh_mm.split(":"))
    moment = datetime(2026, 12, 3, hours, minutes, tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1_000_000


def test_rows_per_window_the_open_window_so_far_and_the_windows_closed_since_the_last_batch() -> None:
    index = VolumeIndex(None)

    def count(batch_id: int, rows: int, when: str) -> tuple[int, int | None]:
        found = index.count(batch_id, rows, at(when), windows=[HOUR])
        return found["open"][HOUR], found["closed"][HOUR]

    assert count(0, 5, "10:20") == (5, None)  # the stream starts mid-window
    assert count(1, 7, "10:40") == (12, None)
    assert count(2, 3, "11:05") == (3, None)  # 10:00-11:00 closed, but the stream did not run all of it
    assert count(3, 4, "11:50") == (7, None)
    assert count(4, 6, "12:01") == (6, 7)  # 11:00-12:00 held 7 rows
    assert count(5, 2, "14:10") == (2, 0)  # 12:00-13:00 held 6, 13:00-14:00 none: the fewest, 0


def test_a_replayed_batch_is_counted_once_and_sees_what_its_first_attempt_saw() -> None:
    index = VolumeIndex(None)
    index.count(0, 5, at("10:10"), windows=[HOUR])
    index.count(1, 4, at("11:10"), windows=[HOUR])
    first = index.count(2, 3, at("11:20"), windows=[HOUR])
    again = index.count(2, 3, at("11:30"), windows=[HOUR])  # the driver died before the commit
    assert first == again and again["open"][HOUR] == 7
    assert index.count(3, 1, at("11:40"), windows=[HOUR])["open"][HOUR] == 8  # batch 2 once, not twice


def test_the_change_is_against_the_median_of_the_previous_batches_once_there_are_enough(tmp_path) -> None:
    index = VolumeIndex(tmp_path / "volumes" / "q.db")
    changes = [index.count(n, rows, at("10:00") + n, history=3)["change"] for n, rows in enumerate([10, 30, 20, 100])]
    assert changes == [None, None, None, 5.0]  # 100 against the median of 10, 30, 20
    index.close()
    reopened = VolumeIndex(tmp_path / "volumes" / "q.db")  # a restart finds the history
    assert reopened.count(4, 2, at("10:01"), history=3)["change"] == 2 / 30


def test_old_counts_are_dropped_once_no_window_or_median_can_read_them() -> None:
    index = VolumeIndex(None)
    for n in range(50):
        index.count(n, 1, at("10:00") + n * HOUR, windows=[HOUR], history=3)
    assert index._db.execute("SELECT COUNT(*) FROM volumes").fetchone()[0] <= 4


def contract(quality: list[dict] | None = None, **custom: object) -> OpenDataContractStandard:
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.volume", "version": "1.0.0", "status": "active",
        "schema": [{"name": "orders", "properties": [{"name": "id", "physicalType": "bigint"}],
                    "quality": quality or [],
                    "customProperties": [{"property": k, "value": v} for k, v in custom.items()]}],
    })


def window_rule(**bounds: object) -> dict:
    return {"metric": "rowCount", "severity": "warning", **bounds,
            "customProperties": [{"property": "dc43.window", "value": "1 h"}]}


def test_a_windowed_row_count_splits_into_an_upper_and_a_lower_bound() -> None:
    plan, unsupported = plan_contract(contract([window_rule(mustBeBetween=[100, 500])]))
    rules = {e.key: (e.threshold, e.params, e.severity) for e in plan}
    assert rules == {"volume_max:orders": ({"mustBeLessOrEqualTo": 500}, {"window": 3600.0}, "warning"),
                     "volume_min:orders": ({"mustBeGreaterOrEqualTo": 100}, {"window": 3600.0}, "warning")}
    assert not unsupported
    plan, unsupported = plan_contract(contract([window_rule(mustBe=100)]))
    assert not plan and "not 'mustBe'" in unsupported[0].reason
    plan, _ = plan_contract(contract([{"metric": "rowCount", "mustBeGreaterThan": 0}]))
    assert [e.key for e in plan] == ["row_count:orders"]  # no window: per batch, as before


def test_the_change_rule_is_a_warning_with_the_factor_both_ways() -> None:
    (rule,), _ = plan_contract(contract(**{"dc43.volumeChangeFactor": "4", "dc43.volumeHistory": 5}))
    assert (rule.key, rule.severity, rule.threshold, rule.params) == (
        "volume_change:orders", "warning", {"mustBeBetween": [0.25, 4.0]}, {"factor": 4.0, "history": 5})


@pytest.mark.parametrize("custom, message", [
    ({"dc43.volumeChangeFactor": "1"}, "must be a number above 1"),
    ({"dc43.volumeChangeFactor": "lots"}, "must be a number above 1"),
    ({"dc43.volumeChangeFactor": 3, "dc43.volumeHistory": "2.5"}, "whole number of batches"),
    ({"dc43.volumeHistory": 4}, "it needs dc43.volumeChangeFactor"),
])
def test_bad_volume_properties_are_refused_with_the_fix(custom: dict, message: str) -> None:
    with pytest.raises(ContractFormatError, match=message):
        plan_contract(contract(**custom))


def test_a_bad_window_is_refused_with_the_fix() -> None:
    bad = window_rule(mustBeLessThan=5)
    bad["customProperties"] = [{"property": "dc43.window", "value": "hourly"}]
    with pytest.raises(ContractFormatError, match=r"quality\[0\].*'hourly' is not a window"):
        plan_contract(contract([bad]))


def test_the_service_judges_volume_and_waits_for_what_it_cannot_judge_yet() -> None:
    document = contract([window_rule(mustBeGreaterThan=10, mustBeLessThan=100)], **{"dc43.volumeChangeFactor": 3})
    verdict = LocalDataQualityService().evaluate(contract=document, payload=ObservationPayload(metrics={
        "row_count": 40, "metrics.volume_max:orders": 140, "metrics.volume_min:orders": None,
        "metrics.volume_change:orders": None}))
    assert verdict.status == "warn"
    assert verdict.warnings == ["volume_max:orders: volume_max is 140 but must be < 100"]
    notes = {r["key"]: r["note"] for r in verdict.details["rules"]}
    assert notes["volume_min:orders"] == "judged at the first batch after a window closes"
    assert notes["volume_change:orders"] == "judged once the stream has 10 earlier batches"
    batch = LocalDataQualityService().evaluate(contract=document, payload=ObservationPayload(metrics={"row_count": 4}))
    assert batch.status == "ok"  # a batch write: streaming writes only
