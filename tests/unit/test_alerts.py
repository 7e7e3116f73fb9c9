"""The alert logic without Spark: changes, the interval's timer, folding, failing notifiers."""

from __future__ import annotations

import time

import pytest
from dc43.alerts import StatusWatch, WebhookNotifier, watch
from dc43.errors import InvalidArgumentError
from dc43.plugins import get_plugin_manager
from dc43.runs import DatasetRef, WriteRun


class Kept:
    def __init__(self, fail: bool = False) -> None:
        self.alerts = []
        self.fail = fail

    def notify(self, alert):
        if self.fail:
            raise ConnectionError("hook down, token=abc123")
        self.alerts.append(alert)


class Contract:
    id, version = "sales.orders", "1.0.0"


def run(reports: dict) -> WriteRun:
    return WriteRun(dataset_id="orders", output=DatasetRef(format="parquet", path="/x"), inputs=(),
                    contract=Contract(), streaming=True, job="orders.write", report=reports.__setitem__)


def judged(status: str, batch_id: int) -> dict:
    return {"status": status, "batch_id": batch_id, "dataset_version": str(batch_id)}


def test_a_change_held_by_the_interval_goes_out_when_it_passes():
    kept, reports = Kept(), {}
    status = StatusWatch([("kept", kept)], interval_s=0.3)
    status.run_started(run(reports))
    for batch_id, said in enumerate(["ok", "block", "idle", "block", "ok"]):
        status.batch_judged(None, judged(said, batch_id), None)
    deadline = time.monotonic() + 10
    while len(kept.alerts) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(a.previous, a.status, a.batch_id, a.folded) for a in kept.alerts] == [
        ("ok", "block", 1, 0), ("block", "ok", 4, 0)]
    status.run_ended(None, error=None, verdict=None)
    assert reports["alerts"]["sent"] == 2 and len(kept.alerts) == 2


def test_a_failing_notifier_is_counted_with_its_secret_hidden_and_the_others_still_told():
    kept, broken, reports = Kept(), Kept(fail=True), {}
    status = StatusWatch([("broken", broken), ("kept", kept)])
    status.run_started(run(reports))
    status.batch_judged(None, judged("warn", 0), None)
    status.run_ended(None, error=None, verdict=None)
    assert [a.status for a in kept.alerts] == ["warn"]
    assert reports["alerts"]["failed"] == 1 and reports["alerts"]["sent"] == 1
    assert "abc123" not in reports["alerts"]["last_error"]


def test_bad_notifier_arguments_name_the_fix(monkeypatch):
    manager = get_plugin_manager()
    with pytest.raises(InvalidArgumentError, match="did you mean 'webhook'"):
        watch(["webhok"], 0, manager)
    with pytest.raises(InvalidArgumentError, match="notify"):
        watch([object()], 0, manager)
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        watch(["log"], -5, manager)
    monkeypatch.delenv("DC43_WEBHOOK_URL", raising=False)
    with pytest.raises(InvalidArgumentError, match="DC43_WEBHOOK_URL"):
        watch(["webhook"], 0, manager)
    monkeypatch.setenv("DC43_WEBHOOK_URL", "https://user:pw@hooks.example.com/x")
    assert watch(["webhook"], 0, manager) is not None
    assert "pw" not in repr(WebhookNotifier())
    assert watch(None, 0, manager) is None


def test_two_notifiers_of_a_kind_keep_names_of_their_own():
    from dc43.alerts import resolve_notifiers

    names = [name for name, _ in resolve_notifiers([Kept(), Kept(), "log"], get_plugin_manager())]
    assert names == ["Kept", "Kept#2", "log"]
