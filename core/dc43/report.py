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
from dc43.quality.across import RULE as ACROSS
from dc43.quality.plan import total_violations
from dc43.redaction import redact

PLOT_LIMIT = 500
RECENT_OBSERVATIONS = 20
RECENT_VERDICTS = 10
RECENT_ALERTS = 10
STATUSES = ("ok", "warn", "block", "unknown")



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


def _pairs(mapping: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={_scrub(str(k), v)}" for k, v in (mapping or {}).items())


def _schema_text(schema: Mapping[str, Any] | None) -> str:
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


def _versions_html(versions: list[dict[str, Any]]) -> str:
    rows = ([escape(v["dataset_version"]), f'<code>{escape(v["contract_id"])}</code>',
             escape(v["contract_version"]), escape(v["recorded_at"])] for v in versions)
    return _table(["version", "contract", "contract version", "first recorded"], rows)


def _observations_html(observations: list[SchemaObservation]) -> str:
    if not observations:
        return '<p class="empty">No schema observations recorded.</p>'
    rows = ([escape(o.recorded_at), escape(o.dataset_version), escape(o.operation), _badge(o.status),
             f'<code>{escape(o.contract_id)}</code> {escape(o.contract_version)}',
             escape(_pairs(o.location)), escape(_pairs(o.pipeline_context)),
             escape(_schema_text(o.schema))] for o in observations)
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


def _repeated_html(verdicts: list[BatchVerdict]) -> str:
    """The batches that repeated keys of earlier batches, newest first: batch, rule, rows, status."""
    rows = [[str(v.batch_id), f"<code>{escape(key.removeprefix('violations.'))}</code>", f"{int(count):,}",
             _badge(v.status)]
            for v in verdicts[::-1] for key, count in sorted(v.metrics.items())
            if key.startswith(f"violations.{ACROSS}:") and count]
    return _table(["batch", "rule", "rows", "status"], rows[:RECENT_VERDICTS], numeric={0, 2}) if rows else ""


def _latency_html(verdicts: list[BatchVerdict]) -> str:
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
        for title, html in (("Keys repeated across batches", _repeated_html(chart["verdicts"])),
                            ("Latency", _latency_html(chart["verdicts"]))):
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
        "batches": [{"batch_id": r["batch_id"], "version": r["dataset_version"], "status": r["status"],
                     "rows": r["row_count"], "violations": r["violations"], "recorded_at": r["recorded_at"],
                     "reason": r["reason"]} for r in plotted],
    }


def _json_island(data: Any) -> str:
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
<style>{_CSS}</style>
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
<script type="application/json" id="dc43-data">{_json_island(data)}</script>
<script>{_JS}</script>
</body>
</html>
"""


def write_report(service: Any, path: str | Path) -> Path:
    """Write :func:`build_report` to ``path`` (UTF-8) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build_report(service), encoding="utf-8")
    return target


_CSS = """
:root{--ok:#2f9e44;--warn:#e8a317;--block:#d63a2f;--unknown:#9aa0a6;--ink:#1f2933;--muted:#66727f;--line:#e3e7ec}
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header,main{max-width:1160px;margin:0 auto;padding:0 24px}
header{padding-top:24px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:0;display:flex;align-items:center;gap:10px}
h2 code{font-size:16px}
h3{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin:22px 0 6px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.meta,.summary{color:var(--muted);margin:4px 0}
.summary{color:var(--ink)}
.empty{color:var(--muted);font-style:italic}
.toc{list-style:none;padding:0;margin:10px 0;display:flex;flex-wrap:wrap;gap:6px 18px}
.toc li{display:flex;align-items:center;gap:6px}
.toc a{color:var(--ink)}
.dataset{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 20px;margin:18px 0}
.dc43-chart{width:100%;height:auto;display:block;margin-top:8px}
.dc43-lag{width:100%;height:auto;display:block;margin-top:8px}
.dc43-lag polyline{fill:none;stroke-width:1.5;stroke-linejoin:round}
.dc43-lag polyline.max{stroke:#5b7bd5}
.dc43-lag polyline.p95{stroke:var(--muted);stroke-dasharray:5 4}
.dc43-lag line.grid{stroke:#eef1f4}.dc43-lag line.axis{stroke:#c9d0d8}
.dc43-lag circle{stroke:#fff;stroke-width:1}.dc43-lag circle:hover{stroke:var(--ink);stroke-width:2}
.dc43-lag circle.s-ok{fill:var(--ok)}.dc43-lag circle.s-warn{fill:var(--warn)}.dc43-lag circle.s-block{fill:var(--block)}
.dc43-lag circle.s-unknown,.dc43-lag circle.s-stale{fill:var(--unknown)}
.dc43-lag text{font:11px system-ui,sans-serif;fill:var(--muted)}
.dc43-lag text.title{font-weight:600;font-size:12px;fill:var(--ink)}.dc43-lag .mono{font-family:ui-monospace,monospace}
.dc43-chart text{font:11px system-ui,sans-serif;fill:var(--muted)}
.dc43-chart text.title{font-weight:600;font-size:12px;fill:var(--ink)}
.dc43-chart circle{stroke:#fff;stroke-width:1}
.dc43-chart circle:hover{stroke:var(--ink);stroke-width:2}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;overflow-wrap:anywhere;min-width:10em}
th{font-weight:600;color:var(--muted);font-size:12px}
.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{font-size:11.5px;font-weight:600;padding:1px 8px;border-radius:10px;color:#fff}
.s-ok{background:var(--ok)}.s-warn{background:var(--warn)}.s-block{background:var(--block)}.s-unknown{background:var(--unknown)}.s-stale{background:#7b5ea7}
"""

_JS = r"""
(() => {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const COLOURS = {ok: "#2f9e44", warn: "#e8a317", block: "#d63a2f", unknown: "#9aa0a6"};
  const W = 960, LEFT = 64, RIGHT = 20, PLOT_W = W - LEFT - RIGHT;
  const data = JSON.parse(document.getElementById("dc43-data").textContent);
  const charts = new Map(data.charts.map((c) => [c.dataset_id, c]));
  const fmt = (n) => n.toLocaleString("en-US", {maximumFractionDigits: 1});

  function add(parent, name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return parent.appendChild(node);
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    const step = Math.pow(10, Math.floor(Math.log10(value)));
    for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * step >= value) return m * step;
    return 10 * step;
  }

  function tooltip(b) {
    const lines = [`batch ${b.batch_id} (version ${b.version}): ${b.status}`,
      `rows ${fmt(b.rows)} · violations ${fmt(b.violations)}`, b.recorded_at];
    if (b.reason) lines.push(b.reason);
    return lines.join("\n");
  }

  function panel(svg, batches, x, series, title, top, height) {
    const max = niceMax(Math.max(...batches.map((b) => b[series])));
    const y = (v) => top + height - (v / max) * height;
    add(svg, "text", {x: LEFT, y: top - 12, class: "title"}, title);
    for (const tick of [0, max / 2, max]) {
      add(svg, "line", {x1: LEFT, x2: W - RIGHT, y1: y(tick), y2: y(tick),
        stroke: tick ? "#eef1f4" : "#c9d0d8", "stroke-width": 1});
      add(svg, "text", {x: LEFT - 8, y: y(tick) + 4, "text-anchor": "end"}, fmt(tick));
    }
    const points = batches.map((b, i) => `${x(i).toFixed(1)},${y(b[series]).toFixed(1)}`);
    if (batches.length > 1) {
      add(svg, "polygon", {points: `${x(0)},${y(0)} ${points.join(" ")} ${x(batches.length - 1)},${y(0)}`,
        fill: series === "rows" ? "#5b7bd51a" : "#d63a2f14"});
      add(svg, "polyline", {points: points.join(" "), fill: "none",
        stroke: series === "rows" ? "#5b7bd5" : "#c0504d", "stroke-width": 1.5, "stroke-linejoin": "round"});
    }
    const r = batches.length <= 60 ? 5 : batches.length <= 200 ? 3.5 : 2.5;
    const group = add(svg, "g", {class: "series", "data-series": series});
    batches.forEach((b, i) => {
      const dot = add(group, "circle", {cx: x(i).toFixed(1), cy: y(b[series]).toFixed(1), r,
        fill: COLOURS[b.status] || COLOURS.unknown, "data-series": series,
        "data-batch-id": b.batch_id, "data-status": b.status});
      add(dot, "title", {}, tooltip(b));
    });
  }

  function legend(svg) {
    let x = W - RIGHT;
    for (const status of Object.keys(COLOURS).reverse()) {
      const label = add(svg, "text", {x, y: 22, "text-anchor": "end"}, status);
      x -= label.getComputedTextLength() + 8;
      add(svg, "rect", {x: x - 4.5, y: 13.5, width: 9, height: 9, rx: 4.5, fill: COLOURS[status]});
      x -= 16;
    }
  }

  function draw(svg, chart) {
    const batches = chart.batches, n = batches.length;
    legend(svg);
    const x = (i) => LEFT + (n === 1 ? PLOT_W / 2 : (i * PLOT_W) / (n - 1));
    panel(svg, batches, x, "rows", "Rows per micro-batch", 34, 120);
    panel(svg, batches, x, "violations", "Violations per micro-batch", 204, 70);
    const every = Math.max(1, Math.ceil(n / 10));
    batches.forEach((b, i) => {
      if (i % every === 0 || i === n - 1) {
        add(svg, "text", {x: x(i), y: 294, "text-anchor": "middle"}, String(b.batch_id));
      }
    });
    const caption = chart.total > n ? `newest ${fmt(n)} of ${fmt(chart.total)} batches` : `${fmt(n)} batches`;
    add(svg, "text", {x: LEFT + PLOT_W / 2, y: 318, "text-anchor": "middle"},
      `micro-batch id, oldest → newest (${caption})`);
  }

  document.querySelectorAll("svg.dc43-chart").forEach((svg) => {
    const chart = charts.get(svg.getAttribute("data-dataset-id"));
    if (chart) draw(svg, chart);
  });
})();
"""
