"""Result shapes the original API's callers read: ``details`` carrying the verdict itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dc43.results import ValidationResult


def violations(result: ValidationResult) -> int:
    """Rows counted against the rules (``violations.*`` metrics); at least one per error when blocking."""
    counted = sum(int(v) for k, v in (result.metrics or {}).items()
                  if str(k).startswith("violations.") and isinstance(v, (int, float)) and not isinstance(v, bool)
                  and v > 0)
    return counted or (len(result.errors) if result.status == "block" else 0)


def shape(result: ValidationResult | None) -> ValidationResult | None:
    """Copy the verdict into ``details`` as the original kept it there: ``errors``, ``warnings``,
    ``metrics``, ``schema``, ``status``, ``reason`` and the ``violations`` count."""
    if result is None:
        return None
    details = result.details
    details.update({"errors": list(result.errors), "warnings": list(result.warnings),
                    "metrics": dict(result.metrics or {}), "schema": result.schema or {},
                    "status": result.status, "violations": violations(result)})
    if result.reason:
        details["reason"] = result.reason
    return result


def observation_scope(result: ValidationResult | None, *, operation: str, scope: str) -> None:
    """Say which data the verdict judged: ``input_slice`` (a read), ``pre_write_dataframe`` (a batch
    write) or ``streaming_batch`` (a streaming write's micro-batches)."""
    labels: Mapping[str, str] = {"input_slice": "Governed read snapshot",
                                 "pre_write_dataframe": "Pre-write dataframe snapshot",
                                 "streaming_batch": "Streaming micro-batch snapshot"}
    if result is not None:
        result.details.update({"observation_operation": operation, "observation_scope": scope,
                               "observation_label": labels[scope]})


def shaped_callback(callback: Any, results: Sequence[ValidationResult | None]) -> Any:
    """``on_streaming_batch`` that first brings the results' shapes up to date; events say ``"type": "batch"``."""
    def tell(event: dict[str, Any]) -> None:
        for result in results:
            shape(result)
        if callback is not None:
            callback({"type": "batch", **event})

    return tell
