"""`dc43 report` and `dc43 verdicts` on a governance database built by the test (no Spark, no browser)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

import attrs
import pytest
from dc43.cli import main
from dc43.governance import BatchVerdict, LocalGovernanceService, SchemaObservation
from dc43.report import PLOT_LIMIT, build_report

NASTY = '</script><script>alert("x")</script>&\'<!--'
START = datetime(2026, 1, 1)
BATCHES = [(0, "ok", 0, None), (1, "warn", 2, "not_null:id failed on 2 rows"), (2, "block", 7, "too many nulls")]


def verdict(batch_id: int, status: str = "ok", violations: int = 0, reason: str | None = None, *,
            dataset: str = "orders", version: str = "v1") -> BatchVerdict:
    return BatchVerdict(
        dataset_id=dataset, dataset_version=version, batch_id=batch_id, contract_id="sales.orders",
        contract_version="1.0.0", status=status, row_count=10 + batch_id,
        metrics={"row_count": 10 + batch_id, "violations.not_null:id": violations}, reason=reason,
        recorded_at=(START + timedelta(seconds=batch_id)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )


def fill(service: LocalGovernanceService) -> LocalGovernanceService:
    for batch_id, status, violations, reason in BATCHES:
        service.record_verdict(verdict(batch_id, status, violations, reason))
    service.record_verdict(verdict(0, "warn", 1, reason=NASTY, dataset=NASTY))
    service.record_observation(SchemaObservation(
        dataset_id="orders", dataset_version="v1", contract_id="sales.orders", contract_version="1.0.0",
        operation="write_stream", schema={"fields": [{"name": "id", "type": "bigint", "nullable": False}]},
        status="ok", pipeline_context={"job": "ingest", "api_token": "s3cr3t", "source": "s3a://AKIA:pw@bucket/in"},
        recorded_at="2026-01-01T00:00:00.000000Z"))
    return service


@pytest.fixture
def db(tmp_path: Path) -> Path:
    fill(LocalGovernanceService(tmp_path / "gov.db"))
    return tmp_path / "gov.db"


def island(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="dc43-data">(.*?)</script>', html, re.S)
    assert match, "no JSON island"
    return json.loads(match.group(1))


def test_text_is_escaped_and_the_json_island_cannot_be_broken_out_of(db: Path) -> None:
    html = build_report(LocalGovernanceService(db))
    assert NASTY not in html
    assert html.count("<script") == 2 and html.count("</script>") == 2  # the island and the chart script
    assert f"<code>{escape(NASTY)}</code>" in html
    assert f'data-dataset-id="{escape(NASTY, quote=True)}"' in html
    data = island(html)
    nasty = next(c for c in data["charts"] if c["dataset_id"] == NASTY)
    assert nasty["batches"][0]["reason"] == NASTY


def test_the_island_holds_each_batch_and_secrets_stay_out(db: Path) -> None:
    html = build_report(LocalGovernanceService(db), generated_at="then")
    (orders,) = [c for c in island(html)["charts"] if c["dataset_id"] == "orders"]
    assert orders["total"] == 3
    assert [(b["batch_id"], b["status"], b["rows"], b["violations"], b["reason"]) for b in orders["batches"]] == [
        (0, "ok", 10, 0, None), (1, "warn", 11, 2, BATCHES[1][3]), (2, "block", 12, 7, BATCHES[2][3])]
    assert "Generated then" in html
    assert "write_stream" in html and "job=ingest" in html and "id: bigint" in html
    assert "s3cr3t" not in html and "AKIA" not in html


def test_only_the_newest_batches_are_plotted_and_the_page_says_so() -> None:
    service = LocalGovernanceService()
    for batch_id in range(10_000):
        service.record_verdict(verdict(batch_id))
    html = build_report(service)
    (chart,) = island(html)["charts"]
    assert (chart["total"], len(chart["batches"])) == (10_000, PLOT_LIMIT)
    assert chart["batches"][0]["batch_id"] == 10_000 - PLOT_LIMIT and chart["batches"][-1]["batch_id"] == 9_999
    assert f"showing the newest {PLOT_LIMIT} of 10,000 batches" in html
    assert len(html) < 200_000


def test_report_command_writes_one_html_file(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "report.html"
    assert main(["report", "--db", str(db), "--output", str(out)]) == 0
    assert f"wrote {out} (2 datasets)" in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and '<svg class="dc43-chart" data-dataset-id="orders"' in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched: works offline


def test_report_defaults_to_the_settings_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(LocalGovernanceService(tmp_path / ".dc43" / "governance.db"))  # DC43_STATE_DIR, see conftest
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 0
    assert "orders" in (tmp_path / "dc43-report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", [["report"], ["verdicts", "orders"]])
def test_a_missing_database_exits_2_naming_the_path(command: list[str], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.db"
    assert main([*command, "--db", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"no governance database at {missing}" in err and "run a pipeline" in err
    assert not missing.exists()


def test_verdicts_prints_an_aligned_table_newest_first(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verdicts", "orders", "--db", str(db)]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["batch", "version", "status", "rows", "violations", "recorded_at", "reason"]
    assert [r.split()[:5] for r in rows] == [["2", "v1", "block", "12", "7"], ["1", "v1", "warn", "11", "2"],
                                             ["0", "v1", "ok", "10", "0"]]
    for row, (status, reason) in zip(rows, [("block", BATCHES[2][3]), ("warn", BATCHES[1][3]), ("ok", None)]):
        assert row[header.index("status"):].startswith(status + " ")
        assert row[header.index("recorded_at"):].startswith("2026-01-01T00:00:0")
        assert row[header.index("reason"):] == (reason or "")


def test_verdicts_limit_version_and_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verdicts", "orders", "--db", str(db), "--limit", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["batch_id"], r["status"], r["violations"]) for r in rows] == [(2, "block", 7), (1, "warn", 2)]
    assert rows[0]["contract_id"] == "sales.orders" and rows[0]["metrics"]["violations.not_null:id"] == 7
    assert main(["verdicts", "orders", "--db", str(db), "--version", "v9"]) == 0
    assert "no batch verdicts recorded for 'orders' version 'v9'" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["verdicts", "orders", "--db", str(db), "--limit", "0"])
    assert exit_.value.code == 2


def test_an_unknown_dataset_exits_2_listing_the_known_ones(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verdicts", "nope", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'nope'" in err and "'orders'" in err and repr(NASTY) in err


def test_the_installed_command_runs_as_a_subprocess(db: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "dc43.cli", "verdicts", "orders", "--db", str(db), "--json"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [r["batch_id"] for r in json.loads(done.stdout)] == [2, 1, 0]


def test_the_alerts_a_stream_sent_are_in_its_section_newest_first(tmp_path: Path) -> None:
    service = fill(LocalGovernanceService(tmp_path / "gov.db"))
    base = {"dataset_id": "orders", "contract": "sales.orders@1.0.0", "dataset_version": "1", "job": "ingest"}
    service.record_alert({**base, "previous": "ok", "status": "block", "batch_id": 1, "reason": NASTY,
                          "at": "2026-01-01T00:00:01+00:00", "folded": 0}, {"webhook": False, "log": True})
    service.record_alert({**base, "previous": "block", "status": "ok", "batch_id": 3, "reason": None,
                          "at": "2026-01-01T00:00:03+00:00", "folded": 2}, {"webhook": True, "log": True})
    assert [a["status"] for a in service.alerts("orders")] == ["block", "ok"]
    assert service.alerts("orders", limit=1)[0]["delivered"] == {"webhook": True, "log": True}
    html = build_report(service)
    start = html.index("<h3>Alerts sent</h3>")
    section = html[start:html.index("<h3>Versions and contracts</h3>", start)]
    assert section.index("2026-01-01T00:00:03") < section.index("2026-01-01T00:00:01")  # newest first
    assert "webhook: failed, log: sent" in section and "(2 more folded in)" in section
    assert NASTY not in html and escape(NASTY) in section
    assert html.count("<h3>Alerts sent</h3>") == 1  # only the dataset that sent alerts


def test_stale_periods_are_listed_and_an_open_one_says_so(tmp_path: Path) -> None:
    service = fill(LocalGovernanceService(tmp_path / "gov.db"))
    first = service.record_stale({"dataset_id": "orders", "since": "2026-01-01T00:00:10+00:00",
                                  "detected_at": "2026-01-01T00:00:11+00:00", "last_batch_id": 2, "frequency_s": 60.0})
    service.end_stale(first, "2026-01-01T00:05:00+00:00")
    service.record_stale({"dataset_id": "orders", "since": "2026-01-01T01:00:00+00:00",
                          "detected_at": "2026-01-01T01:00:01+00:00", "last_batch_id": None, "frequency_s": 60.0})
    assert [p["ended_at"] for p in service.stale_periods("orders")] == ["2026-01-01T00:05:00+00:00", None]
    html = build_report(service)
    start = html.index("<h3>Stale periods</h3>")
    section = html[start:html.index("<h3>Versions and contracts</h3>", start)]
    assert section.index("still stale") < section.index("2026-01-01T00:05:00")  # newest first
    assert "60 s" in section


def test_a_stream_stale_now_shows_stale_in_its_badges_and_its_verdicts(tmp_path: Path, capsys) -> None:
    service = fill(LocalGovernanceService(tmp_path / "gov.db"))
    period = service.record_stale({"dataset_id": "orders", "since": "2026-01-01T00:00:10+00:00",
                                   "detected_at": "2026-01-01T00:00:11+00:00", "last_batch_id": 2,
                                   "frequency_s": 60.0})
    badge = '<span class="badge s-stale">stale</span>'
    html = build_report(service)
    heading = re.search(r'<h2><code>orders</code>(.*?)</h2>', html).group(1)
    assert heading == badge and f'<code>orders</code></a>{badge}</li>' in html  # the section and the contents
    assert "since 2026-01-01T00:00:10+00:00: no batch with rows for more than 60 s" in html
    assert main(["verdicts", "orders", "--db", str(tmp_path / "gov.db")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "stale since 2026-01-01T00:00:10+00:00: no batch with rows for more than 60 s (its contract's frequency)")

    service.end_stale(period, "2026-01-01T00:05:00+00:00")  # it delivered again: its last verdict stands
    html = build_report(service)
    assert re.search(r'<h2><code>orders</code>(.*?)</h2>', html).group(1) == '<span class="badge s-block">block</span>'
    assert "no batch with rows for more than" not in html
    assert main(["verdicts", "orders", "--db", str(tmp_path / "gov.db")]) == 0
    assert capsys.readouterr().out.startswith("batch")


def test_keys_repeated_across_batches_and_latency_over_time_are_shown(tmp_path: Path) -> None:
    service = LocalGovernanceService(tmp_path / "gov.db")
    lags = [(12.5, 3.0), (40.25, 9.5), (7.0, None)]
    for batch_id, (largest, p95) in enumerate(lags):
        record = verdict(batch_id, "block" if batch_id == 1 else "ok")
        metrics = {**record.metrics, "violations.unique_across:id": 3 if batch_id == 1 else 0,
                   "metrics.latency:ts": largest, "metrics.latency_p95:ts": p95}
        service.record_verdict(attrs.evolve(record, metrics=metrics))
    html = build_report(service)
    start = html.index("<h3>Keys repeated across batches</h3>")
    keys = html[start:html.index("<h3>", start + 5)]
    assert re.findall(r"<tr><td class=num>(\d+)</td><td><code>([^<]+)</code></td><td class=num>(\d+)</td>", keys) == [
        ("1", "unique_across:id", "3")]  # batches without a repeat are not listed
    start = html.index("<h3>Latency</h3>")
    latency = html[start:html.index("<h3>", start + 5)]
    assert latency.count("<polyline") == 2 and ">50 s</text>" in latency  # largest and p95; the axis ends at 50 s
    dots = re.findall(r'<circle [^>]*class="s-(\w+)" data-batch-id="(\d+)"><title>([^<]+)</title>', latency)
    assert dots == [("ok", "0", "batch 0: largest lag 12.500 s, p95 3.000 s (ok)"),
                    ("block", "1", "batch 1: largest lag 40.250 s, p95 9.500 s (block)"),
                    ("ok", "2", "batch 2: largest lag 7.000 s (ok)")]
    rows = re.findall(r"<tr><td class=num>(\d+)</td><td><code>ts</code></td><td class=num>([^<]+)</td>"
                      r"<td class=num>([^<]*)</td>", latency)
    assert rows == [("2", "7.000", ""), ("1", "40.250", "9.500"), ("0", "12.500", "3.000")]  # newest first


def rule(key: str, passed: bool | None, violations: float | None, *, column: str | None = "id",
         severity: str = "error", metric: str | None = None) -> dict:
    return {"key": key, "rule": key.split(":")[0], "column": column, "severity": severity,
            "metric": metric or f"violations.{key}", "passed": passed, "violations": violations}


def ruled(batch_id: int, *rules: dict, dataset: str = "orders") -> BatchVerdict:
    return attrs.evolve(verdict(batch_id, dataset=dataset, version=str(batch_id)), rules=rules)


def rules_table(html: str) -> list[list[str]]:
    """The Rules table's cells, tags stripped, row by row."""
    start = html.index("<h3>Rules</h3>")
    table = html[html.index("<tbody>", start):html.index("</tbody>", start)]
    return [[re.sub(r"<[^>]+>", "", cell.replace("<br>", " ")) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table)]


def test_summarise_rules_counts_the_window_and_the_whole_history() -> None:
    from dc43.governance.rules import RuleFailure, summarise_rules

    history = [ruled(0, rule("not_null:a", True, 0), rule("not_null:b", True, 0)),
               ruled(1, rule("not_null:a", False, 2), rule("not_null:b", True, 0)),
               ruled(2, rule("not_null:a", True, 0), rule("not_null:b", True, 0)),
               ruled(3, rule("not_null:a", False, 5), rule("not_null:b", True, 0),
                     rule("row_count", False, 3.5, column=None, severity="warning", metric="metrics.row_count")),
               ruled(4, rule("not_null:a", True, 0), rule("not_null:b", False, 1))]
    by_key = {s.key: s for s in summarise_rules(history, window=3)}
    a, b, count = by_key["not_null:a"], by_key["not_null:b"], by_key["row_count"]
    assert (a.window_rows, a.window_failed) == (5, 1)  # batch 1 is outside the newest 3
    assert (a.first_failed, a.last_failed) == (RuleFailure(1, history[1].recorded_at),
                                               RuleFailure(3, history[3].recorded_at))
    assert (a.newest, a.newest_passed, a.counts_rows) == (0, True, True)
    assert (b.newest, b.newest_passed, b.window_rows, b.window_failed) == (1, False, 1, 1)
    assert (count.counts_rows, count.window_rows, count.window_failed, count.severity) == (False, 0, 1, "warning")
    assert (count.newest, count.newest_passed, count.column) == (None, None, None)  # not in the newest batch
    # failing in the newest batch first, then by failing batches of the window, then by key
    assert [s.key for s in summarise_rules(history, window=3)] == ["not_null:b", "not_null:a", "row_count"]
    assert [s.window_failed for s in summarise_rules(history, window=10)] == [1, 2, 1]
    assert summarise_rules([], window=5) == [] and summarise_rules(history[:1], window=0)[0].window_failed == 0


def test_the_rules_table_shows_each_rule_hand_counted(tmp_path: Path) -> None:
    service = LocalGovernanceService(tmp_path / "gov.db")
    fails = {1: 2, 3: 5}  # rule A fails in batches 1 and 3 with 2 and 5 rows; B never fails
    for batch_id in range(5):
        service.record_verdict(ruled(batch_id, rule("not_null:a", batch_id not in fails, fails.get(batch_id, 0)),
                                     rule("unique:b", True, 0, column="b", severity="warning")))
    html = build_report(service)
    assert rules_table(html) == [
        ["not_null:a", "id", "error", "0 rows passed", "7", "2",
         "batch 1 2026-01-01T00:00:01.000000Z", "batch 3 2026-01-01T00:00:03.000000Z"],
        ["unique:b", "b", "warning", "0 rows passed", "0", "0", "never", "never"]]
    assert "count the 5 batches plotted above" in html

    service.record_verdict(ruled(5, rule("not_null:a", True, 0), rule("unique:b", False, 4, column="b",
                                                                           severity="warning")))
    html = build_report(service)
    first = rules_table(html)[0]
    assert first[:6] == ["unique:b", "b", "warning", "4 rows failed", "4", "1"]  # failing now: first
    assert '4 rows <span class="badge s-warn">failed</span>' in html


def test_a_rule_s_text_is_escaped_in_the_rules_table(tmp_path: Path) -> None:
    service = LocalGovernanceService(tmp_path / "gov.db")
    bad = rule(f"sql:{NASTY}", False, 3, column=NASTY, severity=NASTY)
    service.record_verdict(ruled(0, bad))
    html = build_report(service)
    assert NASTY not in html and "<script>alert" not in html
    assert html.count("<script") == 2
    assert f"<code>{escape(f'sql:{NASTY}')}</code>" in html and f"<td>{escape(NASTY)}</td>" in html
    assert rules_table(html)[0][:2] == [escape(f"sql:{NASTY}"), escape(NASTY)]


def test_a_stream_s_versions_collapse_into_one_row_per_contract(tmp_path: Path) -> None:
    service = LocalGovernanceService(tmp_path / "gov.db")
    for batch_id in range(50):  # a stream records a version per micro-batch
        service.record_verdict(verdict(batch_id, version=str(batch_id)))
    for batch_id in range(50, 53):  # then its contract changes
        service.record_verdict(attrs.evolve(verdict(batch_id, version=str(batch_id)), contract_version="2.0.0"))
    html = build_report(service)
    start = html.index("<h3>Versions and contracts</h3>")
    section = html[start:html.index("<h3>", start + 5)]
    rows = re.findall(r"<tr><td>([^<]*)</td><td><code>sales\.orders</code></td><td>([^<]*)</td>"
                      r"<td class=num>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", section)
    assert rows == [("0 … 49", "1.0.0", "50", "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:49.000000Z"),
                    ("50 … 52", "2.0.0", "3", "2026-01-01T00:00:50.000000Z", "2026-01-01T00:00:52.000000Z")]
    assert section.count("<tr>") == 3  # the header and the two runs


def test_a_contract_change_and_back_starts_a_new_row_each_time() -> None:
    from dc43.report import version_runs

    def row(version: str, contract_version: str) -> dict:
        return {"dataset_version": version, "contract_id": "c", "contract_version": contract_version,
                "recorded_at": f"t{version}"}

    runs = version_runs([row("init", "1"), row("0", "1"), row("1", "2"), row("2", "1")])
    assert [(r["first"], r["last"], r["count"], r["contract_version"]) for r in runs] == [
        ("init", "0", 2, "1"), ("1", "1", 1, "2"), ("2", "2", 1, "1")]
    assert (runs[0]["first_recorded"], runs[0]["last_recorded"]) == ("tinit", "t0")
