"""A self-contained HTML report of a governance database, and the verdict rows behind it.

The report needs no network: styles and the chart script are inline, and the
chart is drawn in the browser from a JSON island (``<script
type="application/json" id="dc43-data">``) into one inline SVG per dataset.
Only the newest :data:`PLOT_LIMIT` batches of a dataset are plotted.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

import attrs

from dc43.governance import BatchVerdict, SchemaObservation
from dc43.governance.rules import RuleFailure, RuleSummary, summarise_rules
from dc43.quality.across import RULE as ACROSS
from dc43.quality.plan import total_violations
from dc43.redaction import redact

PLOT_LIMIT = 500
ASSETS = Path(__file__).with_name("assets")
RECENT_OBSERVATIONS = 20
RECENT_VERDICTS = 10
RECENT_ALERTS = 10
STATUSES = ("ok", "warn", "block", "unknown")
FAILED_CLASS = {"error": "block", "warning": "warn"}  # a failed rule's badge, by its severity



def verdict_row(verdict: BatchVerdict) -> dict[str, Any]:
    """A verdict as plain data, with the total of its ``violations.*`` metrics."""
    return {**attrs.asdict(verdict), "metrics": dict(verdict.metrics),
            "violations": total_violations(verdict.metrics)}


def latest_verdicts(service: Any, dataset_id: str, dataset_version: str | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` verdicts of a dataset (all when None), newest first."""
    newest = service.verdicts(dataset_id, dataset_version)[::-1]
    return [verdict_row(v) for v in newest[:limit]]


def _scrub(key: str, value: Any) -> str:
    """Display text of a context value, secrets hidden (records written before dc43 redacted
    them may still hold some)."""
    value = redact(value, key)
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= 120 else text[:119] + "…"


def context_pairs(mapping: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={_scrub(str(k), v)}" for k, v in (mapping or {}).items())


def schema_text(schema: Mapping[str, Any] | None) -> str:
    fields = (schema or {}).get("fields") or []
    names = [f"{f.get('name')}: {f.get('type')}" for f in fields[:8]]
    more = f", … ({len(fields)} fields)" if len(fields) > 8 else ""
    return ", ".join(names) + more


def _status_class(status: str | None) -> str:
    return status if status in (*STATUSES, "stale") else "unknown"


def open_stale_period(service: Any, dataset_id: str) -> dict[str, Any] | None:
    """The stale period of ``dataset_id`` that has not ended (its stream is stale now), if any."""
    newest = service.stale_periods(dataset_id, limit=1) if hasattr(service, "stale_periods") else []
    return newest[-1] if newest and newest[-1]["ended_at"] is None else None


def _badge(status: str | None) -> str:
    return f'<span class="badge s-{_status_class(status)}">{escape(status or "none")}</span>'


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], *, numeric: Collection[int] = (),
           wrap: Collection[int] = ()) -> str:
    """An HTML table; cells are already escaped HTML, ``numeric`` and ``wrap`` are column indexes."""
    headers = list(headers)
    cls = ["".join(f" class={c}" for c, cols in (("num", numeric), ("wrap", wrap)) if i in cols)
           for i in range(len(headers))]
    head = "".join(f"<th{c}>{escape(h)}</th>" for c, h in zip(cls, headers))
    body = "".join("<tr>" + "".join(f"<td{c}>{cell}</td>" for c, cell in zip(cls, row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def version_runs(versions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive versions (in recorded order) linked to the same contract id and version, as one run
    each: its first and last version, how many, and when the first and the last were recorded.

    A stream records a version per micro-batch (``init``, ``0``, ``1``, …): a run is a stretch of it under
    one contract; a contract change starts the next run.
    """
    runs: list[dict[str, Any]] = []
    for v in versions:
        run = runs[-1] if runs else None
        if run and (run["contract_id"], run["contract_version"]) == (v["contract_id"], v["contract_version"]):
            run.update(last=v["dataset_version"], count=run["count"] + 1, last_recorded=v["recorded_at"])
        else:
            runs.append({"first": v["dataset_version"], "last": v["dataset_version"], "count": 1,
                         "contract_id": v["contract_id"], "contract_version": v["contract_version"],
                         "first_recorded": v["recorded_at"], "last_recorded": v["recorded_at"]})
    return runs


def _versions_html(versions: list[dict[str, Any]]) -> str:
    """The dataset's versions, a row per run of consecutive versions under one contract."""
    if not versions:
        return '<p class="empty">No dataset versions recorded.</p>'
    rows = ([escape(r["first"]) if r["count"] == 1 else f'{escape(r["first"])} … {escape(r["last"])}',
             f'<code>{escape(r["contract_id"])}</code>', escape(r["contract_version"]), f'{r["count"]:,}',
             escape(r["first_recorded"]), "" if r["count"] == 1 else escape(r["last_recorded"])]
            for r in version_runs(versions))
    return _table(["versions", "contract", "contract version", "count", "first recorded", "last recorded"],
                  rows, numeric={3})


def _value(value: float | None, *, rows: bool) -> str:
    if value is None:
        return ""
    if rows:
        return f"{int(value):,} row{'' if int(value) == 1 else 's'}"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.6g}"


def _rule_badge(rule: RuleSummary) -> str:
    """Passed, failed (coloured by the rule's severity) or not evaluated, in the newest batch."""
    if rule.newest_passed is None:
        return '<span class="badge s-unknown">not evaluated</span>'
    if rule.newest_passed:
        return '<span class="badge s-ok">passed</span>'
    return f'<span class="badge s-{FAILED_CLASS.get(rule.severity, "unknown")}">failed</span>'


def _failure(failure: RuleFailure | None) -> str:
    if failure is None:
        return "never"
    return f'batch {failure.batch_id}<br><span class="meta">{escape(failure.recorded_at)}</span>'


def _rules_html(rules: list[RuleSummary], shown: int) -> str:
    """Each rule of the dataset's contract: the newest batch's outcome, what broke in the shown batches,
    and when it first and last failed."""
    rows = ([f"<code>{escape(r.key)}</code>", escape(r.column or ""), escape(r.severity),
             f"{_value(r.newest, rows=r.counts_rows)} {_rule_badge(r)}".lstrip(),
             f"{r.window_rows:,}" if r.counts_rows else "", f"{r.window_failed:,}",
             _failure(r.first_failed), _failure(r.last_failed)] for r in rules)
    plotted = f"{shown:,} batch{'' if shown == 1 else 'es'}"
    return (f'<p class="meta">Rows broken and failures (the batches that failed a rule) count the {plotted} '
            "plotted above; first and last failed look at every batch recorded.</p>"
            + _table(["rule", "column", "severity", "newest batch", "rows broken", "failures",
                      "first failed", "last failed"], rows, numeric={4, 5}))


def _observations_html(observations: list[SchemaObservation]) -> str:
    if not observations:
        return '<p class="empty">No schema observations recorded.</p>'
    rows = ([escape(o.recorded_at), escape(o.dataset_version), escape(o.operation), _badge(o.status),
             f'<code>{escape(o.contract_id)}</code> {escape(o.contract_version)}',
             escape(context_pairs(o.location)), escape(context_pairs(o.pipeline_context)),
             escape(schema_text(o.schema))] for o in observations)
    return _table(["recorded at", "version", "operation", "status", "contract", "location",
                   "pipeline context", "schema"], rows, wrap={5, 6, 7})


def _verdicts_html(rows: list[dict[str, Any]]) -> str:
    cells = ([str(r["batch_id"]), escape(r["dataset_version"]), _badge(r["status"]), f'{r["row_count"]:,}',
              f'{r["violations"]:,}', escape(r["recorded_at"]), escape(r["reason"] or "")] for r in rows)
    return _table(["batch", "version", "status", "rows", "violations", "recorded at", "reason"], cells,
                  numeric={0, 3, 4}, wrap={6})


def _alerts_html(alerts: list[dict[str, Any]]) -> str:
    """The alerts sent for a dataset, newest first: when, the change, the batch, why, and who got it."""
    rows = ([escape(a["at"]), f'{_badge(a["previous"])} → {_badge(a["status"])}',
             "" if a.get("batch_id") is None else str(a["batch_id"]),
             escape(a.get("reason") or "") + (f' ({a["folded"]} more folded in)' if a.get("folded") else ""),
             escape(", ".join(f"{name}: {'sent' if ok else 'failed'}" for name, ok in a["delivered"].items()))]
            for a in alerts[::-1])
    return _table(["at", "change", "batch", "reason", "notifiers"], rows, numeric={2}, wrap={3})


def _stale_html(periods: list[dict[str, Any]]) -> str:
    """The stale periods of a stream, newest first; one still open says so."""
    rows = ([escape(p["since"]), escape(p["ended_at"] or "still stale"), escape(p["detected_at"]),
             "" if p["last_batch_id"] is None else str(p["last_batch_id"]), f'{p["frequency_s"]:g} s']
            for p in periods[::-1])
    return _table(["stale since", "until", "detected at", "last batch", "frequency"], rows, numeric={3})


def repeated_html(verdicts: list[BatchVerdict]) -> str:
    """The batches that repeated keys of earlier batches, newest first: batch, rule, rows, status."""
    rows = [[str(v.batch_id), f"<code>{escape(key.removeprefix('violations.'))}</code>", f"{int(count):,}",
             _badge(v.status)]
            for v in verdicts[::-1] for key, count in sorted(v.metrics.items())
            if key.startswith(f"violations.{ACROSS}:") and count]
    return _table(["batch", "rule", "rows", "status"], rows[:RECENT_VERDICTS], numeric={0, 2}) if rows else ""


def latency_html(verdicts: list[BatchVerdict]) -> str:
    """The lag of the plotted batches over time, a chart per event-time column (inline SVG, no
    script), and a table of the newest ones."""
    series: dict[str, list[tuple[int, float, float | None, str]]] = {}
    for v in verdicts:
        for key in sorted(v.metrics):
            if key.startswith("metrics.latency:") and v.metrics[key] is not None:
                column = key.split(":", 1)[1]
                series.setdefault(column, []).append(
                    (v.batch_id, v.metrics[key], v.metrics.get(f"metrics.latency_p95:{column}"), v.status))
    if not series:
        return ""
    charts = "".join(_lag_chart(column, points) for column, points in series.items())
    newest = sorted(((b, c, m, p) for c, points in series.items() for b, m, p, _ in points), reverse=True)
    rows = ([str(b), f"<code>{escape(c)}</code>", f"{m:,.3f}", "" if p is None else f"{p:,.3f}"]
            for b, c, m, p in newest[:RECENT_VERDICTS])
    return charts + _table(["batch", "column", "max lag (s)", "p95 lag (s)"], rows, numeric={0, 2, 3})


def _nice(value: float) -> float:
    """The round number at or above ``value`` an axis ends at (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k)."""
    if value <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(value))
    return next(m * step for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * step >= value * (1 - 1e-9))


def _lag_chart(column: str, points: list[tuple[int, float, float | None, str]]) -> str:
    """Largest lag (a line, a dot per batch coloured by its status) and p95 (dashed) against batch ids."""
    width, height, left, right, top, plot_h = 960, 170, 64, 16, 28, 110
    plot_w, n = width - left - right, len(points)
    top_value = _nice(max(max(m, p or 0.0) for _, m, p, _ in points))

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    def y(value: float) -> float:
        return top + plot_h - value / top_value * plot_h

    parts = [f'<text x="{left}" y="16" class="title">Lag of <tspan class="mono">{escape(column)}</tspan> per '
             'micro-batch: largest (line and dots) and 95th percentile (dashed), in seconds</text>']
    for tick in (0.0, top_value / 2, top_value):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'class="{"axis" if tick == 0 else "grid"}"/>'
                     f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:,g} s</text>')
    for key, cls in ((1, "max"), (2, "p95")):
        xy = " ".join(f"{x(i):.1f},{y(pt[key]):.1f}" for i, pt in enumerate(points) if pt[key] is not None)
        if xy.count(" ") >= 1:
            parts.append(f'<polyline class="{cls}" points="{xy}"/>')
    radius = 4 if n <= 60 else 2.5
    for i, (batch, largest, p95, status) in enumerate(points):
        p95_text = "" if p95 is None else f", p95 {p95:,.3f} s"
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(largest):.1f}" r="{radius}" class="s-{_status_class(status)}" '
                     f'data-batch-id="{batch}"><title>batch {batch}: largest lag {largest:,.3f} s{p95_text} '
                     f'({escape(status)})</title></circle>')
    every = max(1, math.ceil(n / 10))
    parts += [f'<text x="{x(i):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{pt[0]}</text>'
              for i, pt in enumerate(points) if i % every == 0 or i == n - 1]
    return (f'<svg class="dc43-lag" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="lag of {escape(column, quote=True)} per micro-batch">{"".join(parts)}</svg>')


def _dataset_html(index: int, dataset: Mapping[str, Any], service: Any, chart: dict[str, Any] | None) -> str:
    dataset_id = dataset["dataset_id"]
    parts = [f'<section class="dataset" id="dataset-{index}">',
             f'<h2><code>{escape(dataset_id)}</code>{_badge(chart["latest"]) if chart else ""}</h2>',
             f'<p class="meta">first seen {escape(dataset["first_seen"])} · last seen {escape(dataset["last_seen"])}</p>']
    stale_now = open_stale_period(service, dataset_id)
    if stale_now:
        parts.append(f'<p class="summary">{_badge("stale")} since {escape(stale_now["since"])}: no batch with rows '
                     f'for more than {stale_now["frequency_s"]:g} s, the frequency its contract promises.</p>')
    if chart:
        counts = " · ".join(f"{chart['counts'][s]:,} {s}" for s in chart["counts"])
        shown = (f"showing the newest {chart['plotted']:,} of {chart['total']:,} batches"
                 if chart["plotted"] < chart["total"] else f"{chart['total']:,} batches")
        parts += [f'<p class="summary">Batch verdicts: {counts} — {shown}.</p>',
                  f'<svg class="dc43-chart" data-dataset-id="{escape(dataset_id, quote=True)}" '
                  f'viewBox="0 0 960 330" role="img" aria-label="rows and violations per micro-batch"></svg>',
                  f"<h3>Latest batches</h3>{_verdicts_html(chart['recent'])}"]
        if chart["rules"]:
            parts.append(f"<h3>Rules</h3>{_rules_html(chart['rules'], chart['plotted'])}")
        for title, html in (("Keys repeated across batches", repeated_html(chart["verdicts"])),
                            ("Latency", latency_html(chart["verdicts"]))):
            if html:
                parts.append(f"<h3>{title}</h3>{html}")
    else:
        parts.append('<p class="empty">No batch verdicts recorded.</p>')
    alerts = service.alerts(dataset_id, limit=RECENT_ALERTS) if hasattr(service, "alerts") else []
    if alerts:
        parts.append(f"<h3>Alerts sent</h3>{_alerts_html(alerts)}")
    stale = service.stale_periods(dataset_id, limit=RECENT_ALERTS) if hasattr(service, "stale_periods") else []
    if stale:
        parts.append(f"<h3>Stale periods</h3>{_stale_html(stale)}")
    observations = service.observations(dataset_id)[::-1][:RECENT_OBSERVATIONS]
    parts += [f"<h3>Versions and contracts</h3>{_versions_html(service.dataset_versions(dataset_id))}",
              f"<h3>Recent schema observations</h3>{_observations_html(observations)}", "</section>"]
    return "\n".join(parts)


def _chart(service: Any, dataset_id: str) -> dict[str, Any] | None:
    """Counts, newest rows and the plotted points of a dataset; None without verdicts."""
    verdicts = service.verdicts(dataset_id)
    if not verdicts:
        return None
    plotted = [verdict_row(v) for v in verdicts[-PLOT_LIMIT:]]
    counts = Counter(_status_class(v.status) for v in verdicts)
    return {
        "dataset_id": dataset_id, "total": len(verdicts), "plotted": len(plotted),
        "latest": "stale" if open_stale_period(service, dataset_id) else verdicts[-1].status,
        "counts": {s: counts[s] for s in STATUSES if counts[s]},
        "recent": plotted[::-1][:RECENT_VERDICTS], "verdicts": verdicts[-PLOT_LIMIT:],
        "rules": summarise_rules(verdicts, window=PLOT_LIMIT),
        "batches": [{"batch_id": r["batch_id"], "version": r["dataset_version"], "status": r["status"],
                     "rows": r["row_count"], "violations": r["violations"], "recorded_at": r["recorded_at"],
                     "reason": r["reason"]} for r in plotted],
    }


def json_island(data: Any) -> str:
    """JSON safe inside ``<script>``: no ``<``, ``>`` or ``&`` survives, so ``</script>`` cannot."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def build_report(service: Any, *, generated_at: str | None = None) -> str:
    """The whole report as one HTML document (reads ``service``, writes nothing)."""
    when = generated_at or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    datasets = service.datasets()
    charts = [_chart(service, d["dataset_id"]) for d in datasets]
    sections = [_dataset_html(i, d, service, c) for i, (d, c) in enumerate(zip(datasets, charts))]
    toc = "".join(f'<li><a href="#dataset-{i}"><code>{escape(d["dataset_id"])}</code></a>'
                  f'{_badge(c["latest"]) if c else ""}</li>' for i, (d, c) in enumerate(zip(datasets, charts)))
    data = {"plot_limit": PLOT_LIMIT, "charts": [{k: c[k] for k in ("dataset_id", "total", "batches")}
                                                 for c in charts if c]}
    body = "\n".join(sections) if sections else '<p class="empty">No datasets recorded yet.</p>'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dc43 governance report</title>
<style>{_asset('charts.css')}{_CSS}</style>
</head>
<body>
<header>
<h1>dc43 governance report</h1>
<p class="meta">Generated {escape(when)} · {len(datasets)} dataset{"" if len(datasets) == 1 else "s"} ·
charts plot the newest {PLOT_LIMIT} batches of each dataset</p>
<ul class="toc">{toc}</ul>
</header>
<main>
{body}
</main>
<noscript><p class="empty">Charts need JavaScript; the tables above do not.</p></noscript>
<script type="application/json" id="dc43-data">{json_island(data)}</script>
<script>{_asset('charts.js')}</script>
</body>
</html>
"""


def _asset(name: str) -> str:
    """A file of ``dc43/assets`` (shared with the service's pages), to inline."""
    return (ASSETS / name).read_text(encoding="utf-8")


def write_report(service: Any, path: str | Path) -> Path:
    """Write :func:`build_report` to ``path`` (UTF-8) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build_report(service), encoding="utf-8")
    return target


_CSS = """
body{margin:0;background:#f5f6f8;color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header,main{max-width:1160px;margin:0 auto;padding:0 24px}
header{padding-top:24px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:0;display:flex;align-items:center;gap:10px}
h2 code{font-size:16px}
h3{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin:22px 0 6px}
.toc{list-style:none;padding:0;margin:10px 0;display:flex;flex-wrap:wrap;gap:6px 18px}
.toc li{display:flex;align-items:center;gap:6px}
.toc a{color:var(--ink)}
.dataset{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 20px;margin:18px 0}
"""

