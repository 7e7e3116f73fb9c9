"""The local data-quality service: expectation plans and metric evaluation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import dc43.quality.volume as volume
from dc43.contracts.physical_names import data_column, physical_names
from dc43.contracts.sla import LATENCY_RULES
from dc43.quality.plan import ROW_COUNT, STREAM_RULES, Expectation, Unsupported, plan_contract, refuse_malformed
from dc43.results import ObservationPayload, ValidationResult


def _n(value: Any) -> str:
    """An operand as printed: ``3600.0`` as ``3600``, a third as ``0.333333``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


# operator -> (test of a measured value against the operand, how to print the operand)
_OPERATORS: dict[str, tuple[Callable[[float, Any], bool], Callable[[Any, str], str]]] = {
    "mustBe": (lambda v, t: v == t, lambda t, u: f"= {_n(t)}{u}"),
    "mustNotBe": (lambda v, t: v != t, lambda t, u: f"!= {_n(t)}{u}"),
    "mustBeGreaterThan": (lambda v, t: v > t, lambda t, u: f"> {_n(t)}{u}"),
    "mustBeGreaterOrEqualTo": (lambda v, t: v >= t, lambda t, u: f">= {_n(t)}{u}"),
    "mustBeLessThan": (lambda v, t: v < t, lambda t, u: f"< {_n(t)}{u}"),
    "mustBeLessOrEqualTo": (lambda v, t: v <= t, lambda t, u: f"<= {_n(t)}{u}"),
    "mustBeBetween": (lambda v, t: t[0] <= v <= t[1], lambda t, u: f"between {_n(t[0])}{u} and {_n(t[1])}{u}"),
    "mustNotBeBetween": (lambda v, t: not t[0] <= v <= t[1],
                         lambda t, u: f"outside {_n(t[0])}{u}..{_n(t[1])}{u}"),
}


def _entry(rule: Expectation | Unsupported, **fields: Any) -> dict[str, Any]:
    entry = {"key": rule.key, "rule": rule.rule, "column": rule.column, "severity": rule.severity,
             "metric": None, "params": {}, "unit": None, "violations": None, "threshold": None,
             "passed": None, "evaluated": False, "description": rule.description, "note": ""}
    entry.update(fields)
    return entry


def _judge(e: Expectation, metrics: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The rule's entry in ``details["rules"]`` and, when it failed, the message."""
    base = {"metric": e.metric, "params": dict(e.params), "unit": e.unit, "note": e.note}
    if e.metric not in metrics or (e.unit == "percent" and ROW_COUNT not in metrics):
        return _entry(e, **base), None
    raw = metrics[e.metric]
    if e.threshold is None:
        count = int(raw or 0)
        message = f"{e.key}: {count} row(s) violate {e.rule}" if count else None
        return _entry(e, **base, violations=count, passed=not count, evaluated=True), message
    threshold = dict(e.threshold)
    entry = _entry(e, **base, threshold=threshold, evaluated=True)
    if raw is None and e.rule in LATENCY_RULES:
        return entry, f"{e.key}: no row of the batch has an event time in '{e.column}'"
    if raw is None and e.rule in volume.RULES:  # nothing to judge yet: no window closed, or too little history
        entry["note"] = (f"judged once the stream has {e.params['history']} earlier batches" if e.rule == volume.CHANGE
                         else "judged at the first batch after a window closes")
        return entry, None
    if raw is None:
        entry["passed"] = False
        return entry, f"{e.key}: the query returned NULL; it must return a number"
    value, suffix = raw, ""
    if e.unit == "percent":
        rows = int(metrics[ROW_COUNT] or 0)
        value, suffix = (100.0 * raw / rows if rows else 0.0), "%"
    elif e.unit == "seconds":
        suffix = " s"
    elif e.unit == "ratio":
        suffix = "x"
    entry.update(violations=value, passed=all(_OPERATORS[op][0](value, t) for op, t in threshold.items()))
    if entry["passed"]:
        return entry, None
    expected = " and ".join(_OPERATORS[op][1](t, suffix) for op, t in threshold.items())
    return entry, f"{e.key}: {e.rule} is {value:g}{suffix} but must be {expected}"


class LocalDataQualityService:
    """Derives expectations from the contract and turns metrics into a verdict.

    Failed ``error`` rules block, failed ``warning`` rules warn, failed ``info``
    rules are only reported.  Per-row rules fail when ``violations.<key>`` is
    above zero; threshold rules when ``metrics.<key>`` (as a percent of
    ``row_count`` for ``unit: percent``) misses their threshold.  Any other
    ``violations.*`` metric above zero (cast losses) blocks.  A rule the engine
    cannot evaluate is a warning.  When a planned metric is missing the verdict
    is ``unknown``, except for the rules only streams measure (keys across batches, latency).
    ``details["rules"]`` holds one entry per rule, its ``column`` by logical name and its
    ``data_column`` by the name the data carries (``physicalName``).
    """

    def describe_expectations(self, *, contract: Any) -> list[Expectation]:
        """The plan of the contract's first schema object; a rule written wrongly is refused here,
        before any query starts."""
        plan, unsupported = plan_contract(contract)
        refuse_malformed(contract, unsupported)
        return plan

    def evaluate(self, *, contract: Any, payload: ObservationPayload) -> ValidationResult:
        plan, unsupported = plan_contract(contract)
        metrics = dict(payload.metrics)
        result = ValidationResult(metrics=metrics, schema=payload.schema)
        rules, missing = [], []
        for expectation in plan:
            entry, message = _judge(expectation, metrics)
            rules.append(entry)
            if not entry["evaluated"] and expectation.rule in STREAM_RULES:
                entry["note"] = "checked by streaming writes only"
            elif not entry["evaluated"]:
                missing.append(expectation.key)
            elif message and entry["passed"] is None:  # a latency no row could measure: said, never blocks
                result.add_warning(message)
            elif message and expectation.severity == "error":
                result.add_error(message)
            elif message and expectation.severity == "warning":
                result.add_warning(message)
        planned = {e.metric for e in plan}
        for key, value in sorted(metrics.items()):
            if key.startswith("violations.") and key not in planned and value:
                result.add_error(f"{key[len('violations.'):]}: {value} row(s) in violation")
        for rule in unsupported:
            rules.append(_entry(rule, note=rule.reason))
            (result.add_error if rule.malformed else result.add_warning)(rule.message)
        if missing and result.status == "ok":
            result.status = "unknown"
            result.reason = f"no metrics for {', '.join(missing)}"
        names = physical_names(contract)
        for entry in rules:  # the data's name of each rule's column too
            entry["data_column"] = data_column(entry["column"], names) if entry["column"] else ""
        result.details["rules"] = rules
        return result
