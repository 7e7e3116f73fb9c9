"""The expectation plan: what a contract asks of every row, as plain data.

A plan is a list of :class:`Expectation`; the Spark side compiles it into
column expressions once per query.  Metric keys are ``row_count`` and
``violations.<expectation key>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

ROW_COUNT = "row_count"
SEVERITIES = ("error", "warning", "info")
COMPARISONS = {
    "mustBeGreaterThan": "gt",
    "mustBeGreaterOrEqualTo": "ge",
    "mustBeLessThan": "lt",
    "mustBeLessOrEqualTo": "le",
}
RULES = ("not_null", "unique", "gt", "ge", "lt", "le", "enum", "regex")


@attrs.frozen
class Expectation:
    """One check on one column; ``key`` names its metric ``violations.<key>``."""

    key: str
    rule: str
    column: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    severity: str = "error"
    optional: bool = True
    description: str = ""

    @property
    def metric(self) -> str:
        return f"violations.{self.key}"

    @classmethod
    def coerce(cls, value: Expectation | Mapping[str, Any]) -> Expectation:
        """Accept an :class:`Expectation` or a mapping with the same fields."""
        if isinstance(value, cls):
            return value
        data = dict(value)
        unknown = set(data) - {f.name for f in attrs.fields(cls)}
        if unknown or not {"key", "rule", "column"} <= set(data):
            raise ValueError(
                f"expectation {value!r} is malformed: it needs key, rule and column"
                + (f" and has unknown fields {sorted(unknown)}" if unknown else "")
            )
        return cls(**data)


def _severity(raw: str | None) -> str:
    value = (raw or "error").lower()
    return value if value in SEVERITIES else "error"


def _property_paths(properties: Iterable[Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for prop in properties or []:
        path = f"{prefix}{prop.name}"
        yield path, prop
        if prop.properties:
            yield from _property_paths(prop.properties, prefix=f"{path}.")


def _quality_expectations(path: str, prop: Any, optional: bool) -> Iterable[Expectation | str]:
    for rule in prop.quality or []:
        severity = _severity(rule.severity)
        name = (rule.rule or rule.metric or "").lower()
        if name == "enum" and isinstance(rule.mustBe, list):
            yield Expectation(key=f"enum:{path}", rule="enum", column=path,
                              params={"values": list(rule.mustBe)}, severity=severity,
                              optional=optional, description=rule.description or "")
            continue
        if name == "regex" and isinstance(rule.mustBe, str):
            yield Expectation(key=f"regex:{path}", rule="regex", column=path,
                              params={"pattern": rule.mustBe}, severity=severity,
                              optional=optional, description=rule.description or "")
            continue
        if name:
            yield f"{path}: quality rule '{name}' is not supported by this engine"
            continue
        for field, short in COMPARISONS.items():
            threshold = getattr(rule, field)
            if threshold is not None:
                yield Expectation(key=f"{short}:{path}", rule=short, column=path,
                                  params={"value": threshold}, severity=severity,
                                  optional=optional, description=rule.description or "")


def expectations_for(contract: Any) -> list[Expectation]:
    """Build the expectation plan of every schema object of ``contract``."""
    return plan_contract(contract)[0]


def plan_contract(contract: Any) -> tuple[list[Expectation], list[str]]:
    """Return the expectation plan and a note for every rule the plan cannot check."""
    plan: list[Expectation] = []
    unsupported: list[str] = []
    for obj in contract.schema_ or []:
        for path, prop in _property_paths(obj.properties or []):
            optional = not prop.required
            if prop.required:
                plan.append(Expectation(key=f"not_null:{path}", rule="not_null", column=path,
                                        optional=False))
            if prop.unique:
                plan.append(Expectation(key=f"unique:{path}", rule="unique", column=path,
                                        optional=optional))
            for item in _quality_expectations(path, prop, optional):
                (unsupported if isinstance(item, str) else plan).append(item)
    seen: set[str] = set()
    unique_plan = []
    for expectation in plan:
        if expectation.key not in seen:
            seen.add(expectation.key)
            unique_plan.append(expectation)
    return unique_plan, unsupported


def total_violations(metrics: Mapping[str, Any]) -> int:
    """Sum of every ``violations.*`` metric."""
    return sum(int(v or 0) for k, v in metrics.items() if k.startswith("violations."))
