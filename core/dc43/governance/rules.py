"""Per-rule summaries of a dataset's judged batches: which rules broke, how much and when.

The report builds them from the verdicts in memory (:func:`summarise_rules`); the service's
pages from its database (``dc43.service.views``). Both show the same :class:`RuleSummary`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from dc43.governance.service import BatchVerdict


@attrs.frozen
class RuleFailure:
    """One batch in which a rule failed."""

    batch_id: int
    recorded_at: str


@attrs.frozen
class RuleSummary:
    """A rule of a dataset's contract and how its batches fared against it.

    ``counts_rows`` rules count the rows that break them (``violations.*`` metrics): ``newest`` and
    ``window_rows`` are rows. The others measure a value (a row count, a lag, a ratio): ``newest`` is
    that value and ``window_rows`` stays 0. ``window_failed`` counts the batches of the shown window
    that failed the rule; ``first_failed`` and ``last_failed`` look at the whole history.
    """

    key: str
    rule: str
    column: str | None
    severity: str
    counts_rows: bool
    newest: float | None = None
    newest_passed: bool | None = None
    window_rows: int = 0
    window_failed: int = 0
    first_failed: RuleFailure | None = None
    last_failed: RuleFailure | None = None


def counts_rows(rule: Mapping[str, Any]) -> bool:
    """Whether a rule's ``violations`` are rows (a per-row rule) rather than a measured value."""
    return str(rule.get("metric") or "").startswith("violations.")


def failed(rule: Mapping[str, Any]) -> bool:
    """Whether a rule's entry beside a verdict says it failed (None, not evaluated, is no failure)."""
    return rule.get("passed") is False


def _number(value: Any) -> float | None:
    """A rule's ``violations`` as a number (rows stay ints), None when it has none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rows(rule: Mapping[str, Any]) -> int:
    """The rows a failed per-row rule counted (0 when it has no count)."""
    value = _number(rule.get("violations"))
    return int(value) if value is not None else 0


def _by_key(verdict: BatchVerdict) -> dict[str, Mapping[str, Any]]:
    """A verdict's rule entries by key (entries without a key are skipped)."""
    return {str(rule["key"]): rule for rule in verdict.rules if rule.get("key") is not None}


def summarise_rules(verdicts: Sequence[BatchVerdict], *, window: int) -> list[RuleSummary]:
    """One :class:`RuleSummary` per rule key any of ``verdicts`` (a dataset's whole history, oldest
    first) judged, its metadata from the newest verdict holding it.

    ``newest``/``newest_passed`` come from the newest verdict (None when it lacks the rule);
    ``window_rows`` and ``window_failed`` from the newest ``window`` verdicts; ``first_failed`` and
    ``last_failed`` from all. Rules failing in the newest batch come first, then those failing most
    in the window, then by key.
    """
    history = [_by_key(v) for v in verdicts]
    shown = max(0, window)
    start = len(history) - shown
    meta: dict[str, Mapping[str, Any]] = {}
    first: dict[str, RuleFailure] = {}
    last: dict[str, RuleFailure] = {}
    rows: dict[str, int] = {}
    fails: dict[str, int] = {}
    for index, (verdict, rules) in enumerate(zip(verdicts, history)):
        for key, rule in rules.items():
            meta[key] = rule
            if not failed(rule):
                continue
            failure = RuleFailure(batch_id=verdict.batch_id, recorded_at=verdict.recorded_at)
            first.setdefault(key, failure)
            last[key] = failure
            if index >= start:
                fails[key] = fails.get(key, 0) + 1
                if counts_rows(rule):
                    rows[key] = rows.get(key, 0) + _rows(rule)
    newest = history[-1] if history else {}
    summaries = []
    for key, rule in meta.items():
        now = newest.get(key)
        summaries.append(RuleSummary(
            key=key, rule=str(rule.get("rule") or ""), column=rule.get("column") or None,
            severity=str(rule.get("severity") or ""), counts_rows=counts_rows(rule),
            newest=_number(now.get("violations")) if now is not None else None,
            newest_passed=None if now is None or now.get("passed") is None else bool(now["passed"]),
            window_rows=rows.get(key, 0), window_failed=fails.get(key, 0),
            first_failed=first.get(key), last_failed=last.get(key)))
    summaries.sort(key=lambda s: (s.newest_passed is not False, -s.window_failed, s.key))
    return summaries
