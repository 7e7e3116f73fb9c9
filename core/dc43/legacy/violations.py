"""Write-violation strategies of the original API: how a write proceeds when rows break the contract.

A strategy's ``plan(context)`` returns a :class:`WritePlan`: the primary write and any
others (the split strategy's valid and rejected subsets), each a :class:`WriteRequest`
that :mod:`dc43.legacy.spark_io` runs through dc43's own write, judged and recorded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

from dc43.legacy.statuses import StatusPolicy, check_contract_status
from dc43.results import ValidationResult


def merge_context(base: Optional[Mapping[str, Any]], extra: Optional[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    """``base`` updated with ``extra``; ``None`` when both are empty."""
    combined = {**(base or {}), **(extra or {})}
    return combined or None


@dataclass
class WriteRequest:
    """One write a strategy plans: the rows, where they go and how they are judged."""

    df: Any
    path: Optional[str]
    table: Optional[str]
    format: Optional[str]
    options: dict[str, str]
    mode: str
    contract: Any
    dataset_id: Optional[str]
    dataset_version: Optional[str]
    streaming: bool = False
    validation_factory: Optional[Callable[[], ValidationResult]] = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    pipeline_context: Optional[Mapping[str, Any]] = None
    streaming_observation_writer: Any = None


@dataclass
class WritePlan:
    """The writes a strategy asks for; ``result_factory`` makes the result the helper returns."""

    primary: Optional[WriteRequest]
    additional: Sequence[WriteRequest] = field(default_factory=tuple)
    result_factory: Optional[Callable[[], ValidationResult]] = None


@dataclass
class WriteStrategyContext:
    """What a strategy knows: the DataFrame (as given and aligned to the contract) and its verdict.

    ``expectation_predicates`` maps each per-row rule to a condition true for the rows
    that keep it (a SQL string or a Spark ``Column``).
    """

    df: Any
    aligned_df: Any
    contract: Any
    path: Optional[str]
    table: Optional[str]
    format: Optional[str]
    options: dict[str, str]
    mode: str
    validation: ValidationResult
    dataset_id: Optional[str]
    dataset_version: Optional[str]
    revalidate: Callable[[Any], ValidationResult]
    expectation_predicates: Mapping[str, Any]
    pipeline_context: Optional[Mapping[str, Any]] = None
    streaming: bool = False
    streaming_observation_writer: Any = None

    def base_request(self, *, validation_factory: Optional[Callable[[], ValidationResult]] = None,
                     warnings: Optional[Sequence[str]] = None,
                     pipeline_context: Optional[Mapping[str, Any]] = None) -> WriteRequest:
        """The write of the whole aligned DataFrame to the target."""
        return WriteRequest(
            df=self.aligned_df, path=self.path, table=self.table, format=self.format, options=dict(self.options),
            mode=self.mode, contract=self.contract, dataset_id=self.dataset_id, dataset_version=self.dataset_version,
            streaming=self.streaming, validation_factory=validation_factory,
            warnings=tuple(self.validation.warnings if warnings is None else warnings),
            pipeline_context=merge_context(self.pipeline_context, pipeline_context),
            streaming_observation_writer=self.streaming_observation_writer)


class WriteViolationStrategy(Protocol):
    def plan(self, context: WriteStrategyContext) -> WritePlan: ...


def has_violations(result: ValidationResult) -> bool:
    """Whether ``result`` counts a violation or holds an error."""
    counted = any(isinstance(v, (int, float)) and v > 0 for k, v in (result.metrics or {}).items()
                  if str(k).startswith("violations."))
    return counted or bool(result.errors)


@dataclass
class NoOpWriteViolationStrategy(StatusPolicy):
    """Writes everything to the target: the default."""

    def plan(self, context: WriteStrategyContext) -> WritePlan:
        return WritePlan(primary=context.base_request())


def _condition(predicate: Any) -> Any:
    from pyspark.sql import functions as F

    return F.expr(predicate) if isinstance(predicate, str) else predicate


@dataclass
class SplitWriteViolationStrategy(StatusPolicy):
    """On violations, writes the rows that keep every per-row rule and those that break one apart.

    The subsets go under ``<path>/<valid_suffix>`` and ``<path>/<reject_suffix>`` (tables
    ``<table>_<suffix>``, dataset ids ``<id>::<suffix>``); the target itself gets nothing
    unless ``write_primary_on_violation``.  Streaming writes are not split.
    """

    valid_suffix: str = "valid"
    reject_suffix: str = "reject"
    include_valid: bool = True
    include_reject: bool = True
    write_primary_on_violation: bool = False
    dataset_suffix_separator: str = "::"

    def plan(self, context: WriteStrategyContext) -> WritePlan:
        result = context.validation
        predicates = [_condition(p) for p in context.expectation_predicates.values()]
        if not has_violations(result) or context.streaming or not predicates:
            return WritePlan(primary=context.base_request())
        keeps = functools.reduce(lambda a, b: a & b, predicates)
        subsets = []
        if self.include_valid:
            subsets.append((self.valid_suffix, context.aligned_df.filter(keeps), "Valid"))
        if self.include_reject:
            subsets.append((self.reject_suffix, context.aligned_df.filter(~keeps), "Rejected"))
        requests: list[WriteRequest] = []
        for suffix, rows, label in subsets:
            if rows.limit(1).count() == 0:
                continue
            warning = f"{label} subset written to dataset suffix '{suffix}'"
            if warning not in result.warnings:
                result.warnings.append(warning)
            requests.append(WriteRequest(
                df=rows, path=f"{context.path.rstrip('/')}/{suffix}" if context.path else None,
                table=f"{context.table}_{suffix}" if context.table else None, format=context.format,
                options=dict(context.options), mode=context.mode, contract=context.contract,
                dataset_id=f"{context.dataset_id}{self.dataset_suffix_separator}{suffix}" if context.dataset_id else None,
                dataset_version=context.dataset_version,
                validation_factory=lambda rows=rows: context.revalidate(rows), warnings=(warning,),
                pipeline_context=merge_context(context.pipeline_context, {"subset": suffix}),
                streaming_observation_writer=context.streaming_observation_writer))
        if not requests:
            return WritePlan(primary=context.base_request())
        if self.write_primary_on_violation:
            return WritePlan(primary=context.base_request(), additional=tuple(requests))
        said = tuple(result.warnings)

        def whole() -> ValidationResult:
            verdict = context.revalidate(context.aligned_df)
            verdict.warnings.extend(w for w in said if w not in verdict.warnings)
            return verdict

        return WritePlan(primary=None, additional=tuple(requests), result_factory=whole)


@dataclass
class StrictWriteViolationStrategy:
    """Wraps another strategy; the write's result fails while violations (or warnings) remain."""

    base: Any = field(default_factory=NoOpWriteViolationStrategy)
    failure_message: str = "Validation recorded contract violations"
    fail_on_warnings: bool = False
    allowed_contract_statuses: tuple[str, ...] | None = None
    allow_missing_contract_status: bool | None = None
    contract_status_case_insensitive: bool | None = None
    contract_status_failure_message: str | None = None

    def _option(self, name: str, default: Any) -> Any:
        own = getattr(self, name, None)
        if own is not None:
            return own
        inherited = getattr(self.base, name, None)
        return default if inherited is None else inherited

    def validate_contract_status(self, *, contract: Any, enforce: bool, operation: str) -> None:
        validate = getattr(self.base, "validate_contract_status", None)
        if callable(validate):
            validate(contract=contract, enforce=enforce, operation=operation)
            return
        check_contract_status(contract, enforce=enforce, operation=operation,
                              allowed=self._option("allowed_contract_statuses", ("active",)),
                              allow_missing=self._option("allow_missing_contract_status", True),
                              case_insensitive=self._option("contract_status_case_insensitive", True),
                              failure_message=self._option("contract_status_failure_message", None))

    def validate_data_product_status(self, *, data_product: Any, enforce: bool, operation: str) -> None:
        validate = getattr(self.base, "validate_data_product_status", None)
        if callable(validate):
            validate(data_product=data_product, enforce=enforce, operation=operation)

    def plan(self, context: WriteStrategyContext) -> WritePlan:
        planned = self.base.plan(context)
        warned = bool(context.validation.warnings)
        if not has_violations(context.validation) and not (self.fail_on_warnings and warned):
            return planned
        made = planned.result_factory

        def strict() -> ValidationResult:
            base = made() if made is not None else context.revalidate(context.aligned_df)
            failed = ValidationResult(ok=False, errors=list(base.errors), warnings=list(base.warnings),
                                      metrics=dict(base.metrics), schema=base.schema, details=dict(base.details))
            failed.warnings.extend(w for w in context.validation.warnings if w not in failed.warnings)
            message = self.failure_message.strip()
            if message and message not in failed.errors:
                failed.errors.append(message)
            return failed

        return WritePlan(primary=planned.primary, additional=planned.additional, result_factory=strict)
