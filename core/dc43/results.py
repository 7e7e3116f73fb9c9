"""Observation payloads sent to data-quality services and the results they return."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

STATUSES = ("ok", "warn", "block", "unknown")


@attrs.define
class ObservationPayload:
    """Metrics and schema observed on a dataset (or one micro-batch of it)."""

    metrics: dict[str, Any] = attrs.field(factory=dict)
    schema: dict[str, Any] | None = None
    reused: bool = False


def observed_columns(schema: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A schema description (``{"fields": [...]}``) keyed by column, as data-quality services get it
    in a payload: ``{"amount": {"odcs_type": "double", "nullable": False}}``."""
    return {f["name"]: {"odcs_type": f["type"], "nullable": f.get("nullable", True)}
            for f in (schema or {}).get("fields", [])}


#: what is kept of each rule's entry in ``details["rules"]`` beside a verdict
RULE_FIELDS = ("key", "rule", "column", "severity", "metric", "passed", "violations")


def rule_results(result: ValidationResult) -> list[dict[str, Any]]:
    """Each rule's outcome in ``result`` (its key, rule, column, severity, metric, whether it passed
    (None: not evaluated) and its violations or measured value), as kept with every verdict."""
    return [{key: rule.get(key) for key in RULE_FIELDS} for rule in result.details.get("rules", [])]


def _status_of(result: ValidationResult) -> str:
    if not result.ok or result.errors:
        return "block"
    if result.warnings:
        return "warn"
    return "ok"


@attrs.define
class ValidationResult:
    """Outcome of validating data against a contract.

    ``status`` is one of ``ok``, ``warn``, ``block`` or ``unknown``; when not
    given it is derived from ``ok``, ``errors`` and ``warnings``.
    """

    ok: bool = True
    errors: list[str] = attrs.field(factory=list)
    warnings: list[str] = attrs.field(factory=list)
    metrics: dict[str, Any] = attrs.field(factory=dict)
    schema: dict[str, Any] | None = None
    status: str | None = attrs.field(default=None, kw_only=True)
    reason: str | None = attrs.field(default=None, kw_only=True)
    details: dict[str, Any] = attrs.field(factory=dict, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.status is None:
            self.status = _status_of(self)
        elif self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        if self.status == "block":
            self.ok = False

    def merge_details(self, extra: Mapping[str, Any] | None) -> ValidationResult:
        """Add ``extra`` to ``details`` (existing keys are replaced) and return self."""
        if extra:
            self.details.update(extra)
        return self

    def add_error(self, message: str) -> None:
        """Record an error; the result becomes blocking."""
        self.errors.append(message)
        self.ok = False
        self.status = "block"

    def add_warning(self, message: str) -> None:
        """Record a warning; an ``ok`` result becomes ``warn``."""
        self.warnings.append(message)
        if self.status == "ok":
            self.status = "warn"
