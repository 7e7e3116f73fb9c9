"""What the page templates call: links, numbers and times for a person, the sparkline, and the parts
the pages share with ``dc43 report`` (its latency charts, repeated keys and version runs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from dc43 import report
from dc43.governance.service import BatchVerdict
from dc43.quality.plan import total_violations
from dc43.service.views import SEVERITY, DatasetPage


def dataset_url(dataset_id: str, **query: str) -> str:
    return f"/datasets/{quote(dataset_id, safe='')}" + (f"?{urlencode(query)}" if query else "")


def contract_url(contract_id: str, version: str | None = None) -> str:
    return f"/contracts/{quote(contract_id, safe='')}" + (f"?{urlencode({'version': version})}" if version else "")


def diff_url(contract_id: str, old: str, new: str) -> str:
    return f"/contracts/{quote(contract_id, safe='')}/diff?{urlencode({'from': old, 'to': new})}"


def product_url(product_id: str) -> str:
    return f"/products/{quote(product_id, safe='')}"


def when(timestamp: str | None) -> str:
    """``2026-12-07T07:35:59.123456Z`` as ``2026-12-07 07:35:59``."""
    return "" if not timestamp else timestamp[:19].replace("T", " ")


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.{digits}f}"


def status_class(status: str | None) -> str:
    return status if status in SEVERITY else "unknown"


def sparkline(points: Sequence[tuple[int, int, str]], *, width: int = 150, height: int = 28) -> Markup:
    """Violations per batch (oldest to newest) as a small inline SVG, a dot per batch in its status's colour."""
    if not points:
        return Markup('<span class="meta">no batch yet</span>')
    top = max(v for _, v, _ in points) or 1
    step = width / max(len(points) - 1, 1)
    xy = [(4 + i * step if len(points) > 1 else width / 2, height - 4 - v / top * (height - 8))
          for i, (_, v, _) in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" class="s-{status_class(s)}"><title>batch {b}: '
                   f'{v:,} violations ({escape(s)})</title></circle>' for (x, y), (b, v, s) in zip(xy, points))
    newest = points[-1][1]
    return Markup(f'<svg class="spark" viewBox="0 0 {width + 8} {height}" role="img" '
                  f'aria-label="violations of the newest {len(points)} batches, newest {newest:,}">'
                  f'<polyline points="{line}"/>{dots}</svg>')


def context(mapping: Mapping[str, Any] | None) -> str:
    """A pipeline context or location as ``key=value`` pairs, secrets hidden."""
    return report.context_pairs(mapping)


def schema(value: Mapping[str, Any] | None) -> str:
    return report.schema_text(value)


def rule_violations(verdict: BatchVerdict, rule: str) -> Any:
    """What ``rule`` measured in ``verdict``'s batch (rows that broke it, or its value)."""
    return next((r.get("violations") for r in verdict.rules if r.get("key") == rule), None)


def violations(verdict: BatchVerdict) -> int:
    return total_violations(verdict.metrics)


def chart_data(page: DatasetPage) -> Markup:
    """The JSON island the chart script draws a dataset's rows and violations from."""
    batches = [{"batch_id": v.batch_id, "version": v.dataset_version, "status": v.status, "rows": v.row_count,
                "violations": total_violations(v.metrics), "recorded_at": v.recorded_at, "reason": v.reason}
               for v in page.window]
    data = {"charts": [{"dataset_id": page.dataset_id, "total": page.total, "batches": batches}]}
    return Markup(report.json_island(data))


def latency(window: Sequence[BatchVerdict]) -> Markup:
    return Markup(report.latency_html(list(window)))


def repeated(window: Sequence[BatchVerdict]) -> Markup:
    return Markup(report.repeated_html(list(window)))


def version_ranges(versions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return report.version_runs(versions)


GLOBALS = {"dataset_url": dataset_url, "contract_url": contract_url, "diff_url": diff_url, "product_url": product_url,
           "when": when, "number": number, "status_class": status_class, "sparkline": sparkline,
           "context": context, "schema": schema, "rule_violations": rule_violations, "violations": violations}
