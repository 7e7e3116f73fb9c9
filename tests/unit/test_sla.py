"""The latency SLA: its rules in the plan, and the lags the batch side turns measures into."""

from __future__ import annotations

from typing import Any

from dc43.contracts.sla import is_lag, lags
from dc43.locators import epoch_micros
from dc43.quality import LocalDataQualityService, plan_contract
from dc43.results import ObservationPayload
from open_data_contract_standard.model import OpenDataContractStandard


def contract(**latency: Any) -> OpenDataContractStandard:
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.l", "version": "1.0.0",
        "schema": [{"name": "events", "properties": [{"name": "ts", "physicalType": "timestamp"}]}],
        "slaProperties": [{"property": "latency", "value": 90, "unit": "s", "element": "events.ts", **latency}]})


def test_a_latency_sla_plans_the_largest_and_the_95th_percentile_lag() -> None:
    plan, _ = plan_contract(contract())
    assert [(e.key, e.severity, dict(e.threshold), e.unit) for e in plan] == [
        ("latency:ts", "warning", {"mustBeLessOrEqualTo": 90.0}, "seconds"),
        ("latency_p95:ts", "warning", {"mustBeLessOrEqualTo": 90.0}, "seconds")]


def test_lags_are_counted_from_the_time_of_judging_exactly() -> None:
    now = epoch_micros("2026-12-03T10:00:00.250000Z")
    assert now == 1_796_292_000_250_000
    measured = {"metrics.latency:ts": -(now - 1_500_000), "metrics.latency_p95:ts": None, "row_count": 3}
    assert lags(measured, now) == {"metrics.latency:ts": 1.5, "metrics.latency_p95:ts": None, "row_count": 3}
    assert is_lag("metrics.latency_p95:ts") and not is_lag("metrics.row_count:events")


def test_a_batch_without_event_times_warns_and_never_blocks() -> None:
    verdict = LocalDataQualityService().evaluate(
        contract=contract(customProperties=[{"property": "dc43.severity", "value": "error"}]),
        payload=ObservationPayload(metrics={"row_count": 2, "metrics.latency:ts": None,
                                            "metrics.latency_p95:ts": None}))
    assert verdict.status == "warn"
    assert "latency:ts: no row of the batch has an event time in 'ts'" in verdict.warnings


def test_a_late_batch_is_judged_with_the_slas_severity() -> None:
    verdict = LocalDataQualityService().evaluate(
        contract=contract(customProperties=[{"property": "dc43.severity", "value": "error"}]),
        payload=ObservationPayload(metrics={"row_count": 2, "metrics.latency:ts": 120.5,
                                            "metrics.latency_p95:ts": 30.0}))
    assert verdict.status == "block"
    assert verdict.errors == ["latency:ts: latency is 120.5 s but must be <= 90 s"]


def test_a_batch_write_does_not_measure_latency_and_is_not_unknown_for_it() -> None:
    verdict = LocalDataQualityService().evaluate(contract=contract(),
                                                 payload=ObservationPayload(metrics={"row_count": 2}))
    assert verdict.status == "ok"
    assert {r["key"]: r["note"] for r in verdict.details["rules"]} == {
        "latency:ts": "checked by streaming writes only", "latency_p95:ts": "checked by streaming writes only"}
