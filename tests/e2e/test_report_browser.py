"""The HTML report in real headless Chromium: the chart is drawn by the page's own script."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from dc43.governance import BatchVerdict, LocalGovernanceService
from dc43.report import write_report

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
DATASET = 'sales."orders"<eu>'
STATUSES = ["ok", "ok", "warn", "block", "ok", "unknown", "warn"]
VIOLATIONS = {"ok": 0, "warn": 3, "block": 9, "unknown": 0}


class ChartPoints(HTMLParser):
    """The circles (attributes and tooltip) of every ``svg.dc43-chart`` in a document."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, list[dict[str, str]]] = {}
        self._chart: str | None = None
        self._title: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "svg" and "dc43-chart" in found.get("class", "").split():
            self._chart = found["data-dataset-id"]
            self.charts[self._chart] = []
        elif tag == "circle" and self._chart is not None:
            self.charts[self._chart].append({**found, "title": ""})
        elif tag == "title" and self._chart is not None and self.charts[self._chart]:
            self._title = self.charts[self._chart][-1]

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        elif tag == "title":
            self._title = None

    def handle_data(self, data: str) -> None:
        if self._title is not None:
            self._title["title"] += data


def chromium(tmp_path: Path, *args: str) -> str:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is needed: apt-get install -y chromium (the nox tests session installs it)")
    done = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


@pytest.fixture
def report(tmp_path: Path) -> Path:
    service = LocalGovernanceService(tmp_path / "gov.db")
    for batch_id, status in enumerate(STATUSES):
        service.record_verdict(BatchVerdict(
            dataset_id=DATASET, dataset_version="v1", batch_id=batch_id, contract_id="sales.orders",
            contract_version="1.0.0", status=status, row_count=100 + 15 * batch_id,
            metrics={"violations.not_null:id": VIOLATIONS[status]},
            reason=None if status == "ok" else f"{status}: not_null:id failed",
            recorded_at=f"2026-01-01T00:00:{batch_id:02d}.000000Z"))
    return write_report(service, tmp_path / "report.html")


def test_the_chart_is_drawn_with_one_circle_per_batch_and_series(report: Path, tmp_path: Path) -> None:
    parser = ChartPoints()
    parser.feed(chromium(tmp_path, "--dump-dom", report.as_uri()))
    points = parser.charts[DATASET]
    for series in ("rows", "violations"):
        drawn = [p for p in points if p.get("data-series") == series]
        assert [p["data-status"] for p in drawn] == STATUSES, series
        assert [p["data-batch-id"] for p in drawn] == [str(i) for i in range(len(STATUSES))]
        assert all(p["title"].startswith(f"batch {p['data-batch-id']} (version v1): {p['data-status']}")
                   for p in drawn)
    assert len(points) == 2 * len(STATUSES)
    colours = {p["data-status"]: p["fill"] for p in points}
    assert colours == {"ok": "#2f9e44", "warn": "#e8a317", "block": "#d63a2f", "unknown": "#9aa0a6"}


def test_a_screenshot_is_kept_as_an_artifact(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", report.as_uri())
    assert shot.is_file() and shot.stat().st_size > 5_000
    artifacts = REPO / ".cache" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, artifacts / "report.png")
