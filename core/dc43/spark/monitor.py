"""Judging micro-batches: metrics -> data-quality verdict -> governance -> strategy.

One :class:`BatchMonitor` serves one streaming write.  Observation writers call
:meth:`BatchMonitor.process` with each micro-batch's metrics; the monitor
updates the live :class:`ValidationResult` under a lock.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from dc43.errors import ContractViolationError, StreamingInterventionError
from dc43.formats import DatasetTarget
from dc43.governance.service import BatchVerdict
from dc43.locators import resolve_version, utc_timestamp
from dc43.quality.plan import ROW_COUNT, total_violations
from dc43.results import ObservationPayload, ValidationResult
from dc43.strategies import (
    InterventionDecision,
    StreamingInterventionContext,
    StreamingInterventionStrategy,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCHES = 100


def all_routed(verdict: ValidationResult, routed: frozenset[str]) -> bool:
    """Whether every failing error rule of ``verdict`` is one whose rows a rejection sink takes."""
    if not routed:
        return False
    rules = verdict.details.get("rules") or []
    failing = {r["metric"] for r in rules if r.get("passed") is False and r["severity"] == "error"}
    lenient = {r["metric"] for r in rules if r["severity"] != "error"}  # warnings never block
    failing |= {k for k, v in verdict.metrics.items() if k.startswith("violations.") and v and k not in lenient}
    return failing <= routed


@attrs.define
class BatchMonitor:
    """Per-batch verdicts for one streaming write; updates ``result`` in place."""

    contract: Any
    target: DatasetTarget
    result: ValidationResult
    status: ValidationResult
    data_quality_service: Any
    governance_service: Any
    strategy: StreamingInterventionStrategy
    enforce: bool
    schema: Mapping[str, Any] | None = None
    on_batch: Callable[[dict[str, Any]], None] | None = None
    max_batches: int = DEFAULT_MAX_BATCHES
    sinks: list[Any] = attrs.field(factory=list)
    can_reroute: bool = False
    #: metrics whose failing rows are routed to a rejection sink: they never block alone
    routed: frozenset[str] = frozenset()
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)
    _batches: collections.deque = attrs.field(init=False)
    _totals: dict[str, int] = attrs.field(factory=dict, init=False)
    _schema_errors: list[str] = attrs.field(init=False)
    _schema_warnings: list[str] = attrs.field(init=False)
    _progress: threading.Condition = attrs.field(factory=threading.Condition, init=False)
    _last_batch: int = attrs.field(default=-1, init=False)

    def __attrs_post_init__(self) -> None:
        self._batches = collections.deque(maxlen=self.max_batches)
        self._schema_errors = list(self.result.errors)
        self._schema_warnings = list(self.result.warnings)

    def process(self, batch_id: int, metrics: Mapping[str, int]) -> dict[str, Any]:
        """Judge one micro-batch; raises to stop the pipeline when it must stop."""
        try:
            return self._process(batch_id, metrics)
        finally:
            with self._progress:
                self._last_batch = max(self._last_batch, batch_id)
                self._progress.notify_all()

    def wait_for_batch(self, batch_id: int, timeout: float) -> bool:
        """Block until ``batch_id`` (or a later batch) was judged; False on timeout.

        Needed with writers whose verdicts arrive asynchronously (``observe``).
        """
        with self._progress:
            return self._progress.wait_for(lambda: self._last_batch >= batch_id, timeout)

    def fail(self, exc: BaseException) -> None:
        """Record why the pipeline stops in ``details["streaming_error"]``; stop the sinks."""
        with self._lock:
            self.result.details["streaming_error"] = f"{type(exc).__name__}: {exc}"
        self.stop_sinks()

    def _process(self, batch_id: int, metrics: Mapping[str, int]) -> dict[str, Any]:
        timestamp = utc_timestamp()
        version = resolve_version(self.target.dataset_version, batch_id=batch_id, timestamp=timestamp)
        entry: dict[str, Any] = {
            "batch_id": batch_id, "timestamp": timestamp, "dataset_version": version,
            "row_count": int(metrics.get(ROW_COUNT, 0)), "violations": total_violations(metrics),
        }
        if entry["row_count"] == 0:
            entry["status"] = "idle"
            self._record(entry, None, version)
            self._notify(entry)
            return entry
        verdict = self.data_quality_service.evaluate(
            contract=self.contract, payload=ObservationPayload(metrics=dict(metrics), schema=self.schema),
        )
        entry.update(status=verdict.status, metrics=dict(metrics))
        if verdict.errors:
            entry["errors"] = list(verdict.errors)
        if verdict.warnings:
            entry["warnings"] = list(verdict.warnings)
        decision = self._decide(batch_id, verdict, version)
        if decision is not None:
            entry.update(intervention=decision.reason, action=decision.action)
            if decision.action == "warn":
                log.warning("%s", decision.reason)
                verdict.warnings.append(decision.reason)
                entry["warnings"] = list(verdict.warnings)
        self._record(entry, verdict, version)
        self._notify(entry)
        if decision is not None and decision.action == "block":
            self._halt(StreamingInterventionError(decision.reason, batch_id=batch_id))
        if entry.get("action") == "reroute":
            return entry  # the rejection sink takes the batch: enforcement is satisfied
        if self.enforce and verdict.status == "block" and not self._all_routed(verdict):
            self._halt(ContractViolationError(
                f"micro-batch {batch_id} of '{self.target.dataset_id}' violates contract "
                f"{self.contract.id}@{self.contract.version}: {'; '.join(verdict.errors)}. "
                "Fix the data, or pass enforce=False to record violations without stopping.",
                verdict,
            ))
        return entry

    def _all_routed(self, verdict: ValidationResult) -> bool:
        return all_routed(verdict, self.routed)

    def _halt(self, exc: Exception) -> None:
        """Stop the pipeline: record why (before the sinks stop, so watchers see it), then raise."""
        self.fail(exc)
        raise exc

    def _decide(self, batch_id: int, verdict: ValidationResult, version: str) -> InterventionDecision | None:
        context = StreamingInterventionContext(
            batch_id=batch_id, validation=verdict, dataset_id=self.target.dataset_id,
            dataset_version=version,
        )
        name = type(self.strategy).__name__
        try:
            decision = InterventionDecision.of(self.strategy.decide(context))
        except Exception as exc:  # a broken strategy blocks rather than passing silently
            log.exception("intervention strategy %r failed", self.strategy)
            return InterventionDecision("block", f"intervention strategy {name} raised {type(exc).__name__}: {exc}")
        if decision is not None and decision.action == "reroute" and not self.can_reroute:
            return InterventionDecision("block", f"{decision.reason}; but this observation writer cannot "
                                        "reroute: use observation_writer='inline' with a rejection_sink")
        return decision

    def _record(self, entry: dict[str, Any], verdict: ValidationResult | None, version: str) -> None:
        with self._lock:
            self._batches.append(entry)
            details = self.result.details
            details["streaming_batches"] = list(self._batches)
            details["dataset_version"] = version
            if verdict is not None:
                for key, value in verdict.metrics.items():
                    self._totals[key] = self._totals.get(key, 0) + int(value or 0)
                details["streaming_metrics"] = dict(verdict.metrics)
                details["streaming_totals"] = dict(self._totals)
                self._apply(self.status, verdict)
                self._apply(self.result, verdict, self._schema_errors, self._schema_warnings)
                if verdict.status == "block":
                    details["streaming_failed_batches"] = details.get("streaming_failed_batches", 0) + 1
            if entry.get("action") == "block":
                details["streaming_intervention_reason"] = entry["intervention"]
                details["streaming_intervention_batch"] = entry["batch_id"]
            elif entry.get("action") == "reroute" and "streaming_rerouted_at_batch" not in details:
                details["streaming_rerouted_at_batch"] = entry["batch_id"]
                details["streaming_reroute_reason"] = entry["intervention"]
            self.status.details.update(
                {k: details[k] for k in ("dataset_id", "dataset_version") if k in details})
        if verdict is not None and self.governance_service is not None:
            self.governance_service.record_verdict(BatchVerdict(
                dataset_id=self.target.dataset_id, dataset_version=version,
                batch_id=entry["batch_id"], contract_id=self.contract.id,
                contract_version=self.contract.version, status=verdict.status,
                row_count=entry["row_count"], metrics=dict(verdict.metrics),
                reason=entry.get("intervention") or verdict.reason, recorded_at=entry["timestamp"],
            ))

    @staticmethod
    def _apply(target: ValidationResult, verdict: ValidationResult,
               errors: list[str] = (), warnings: list[str] = ()) -> None:
        """Make ``target`` show the latest verdict (after any schema findings)."""
        target.metrics = dict(verdict.metrics)
        target.errors = [*errors, *verdict.errors]
        target.warnings = [*warnings, *verdict.warnings]
        target.status = "block" if target.errors else verdict.status
        if target.status == "ok" and target.warnings:
            target.status = "warn"
        target.ok = target.status != "block"
        target.reason = verdict.reason

    def _notify(self, entry: dict[str, Any]) -> None:
        if self.on_batch is None:
            return
        try:
            self.on_batch(dict(entry))
        except Exception:  # a progress callback must never kill the stream
            log.exception("on_streaming_batch callback failed for batch %s", entry["batch_id"])

    def stop_sinks(self) -> None:
        for query in self.sinks:
            try:
                query.stop()
            except Exception:
                log.exception("could not stop sink query %s", getattr(query, "name", query))
