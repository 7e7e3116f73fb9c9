"""The original API's governed helpers (``*_with_governance``): governance resolves a request's
context to a plan, then the helper reads or writes under it (caller side)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Optional

from dc43.legacy.governance import LocalGovernance, resolve_read, resolve_write
from dc43.legacy.locators import StaticDatasetLocator
from dc43.legacy.plans import (
    GovernancePublicationMode,
    GovernanceSparkReadRequest,
    GovernanceSparkWriteRequest,
    QualityAssessment,
    request_of,
)
from dc43.legacy.spark_io import run_read, run_write
from dc43.legacy.statuses import DefaultReadStatusStrategy
from dc43.legacy.violations import NoOpWriteViolationStrategy
from dc43.spark import io

_PRODUCT_POLICY = ("allowed_data_product_statuses", "allow_missing_data_product_status",
                   "data_product_status_case_insensitive", "data_product_status_failure_message")


def _plan(governance: Any, context: Any, kind: str) -> Any:
    """Governance's plan for a governed read or write; dc43's own governance resolves with the
    plugins' contract and data-product services."""
    resolve = getattr(governance, f"resolve_{kind}_context", None)
    if callable(resolve):
        return resolve(context=context)
    return (resolve_read if kind == "read" else resolve_write)(context, contracts=None, products=None)


def _with_plan_policy(handler: Any, plan: Any) -> Any:
    """``handler`` with the data-product status policy the plan sets (the plan wins)."""
    overrides = {k: getattr(plan, k) for k in _PRODUCT_POLICY
                 if getattr(plan, k, None) is not None and hasattr(handler, k)}
    return dataclasses.replace(handler, **overrides) if overrides and dataclasses.is_dataclass(handler) else handler


def _publishes_activity(spark: Any, mode: Any) -> bool:
    """Whether governance is told of the activity: the ``legacy`` mode (from the request, else the
    session's ``dc43.governance.publicationMode``)."""
    if mode is None:
        try:
            mode = spark.conf.get("dc43.governance.publicationMode", None)
        except Exception:  # a session that cannot say: the default
            mode = None
    return GovernancePublicationMode.from_value(mode) is GovernancePublicationMode.LEGACY


def _governed(governance: Any, binding: Any, kind: str) -> dict[str, Any]:
    """The services and binding a governed ``kind`` (read, write) passes on: a :class:`LocalGovernance`'s
    own; an original governance that registers activity binds the port itself."""
    if isinstance(governance, LocalGovernance):
        return {"contract_service": governance.contracts, "data_quality_service": governance.data_quality,
                "data_product_service": governance.products, "binding": binding}
    registers = callable(getattr(governance, f"register_{kind}_activity", None))
    return {"contract_service": None, "data_quality_service": None, "data_product_service": None,
            "binding": None if registers else binding}


def _read_governed(engine: Callable[..., Any], spark: Any, request: Any, *, governance_service: Any, enforce: bool,
                   auto_cast: bool, return_status: bool) -> Any:
    request = request_of(request, GovernanceSparkReadRequest)
    plan = _plan(governance_service, request.context, "read")
    given = _governed(governance_service, plan.input_binding, "read")
    df, status = run_read(
        engine, spark=spark, contract_id=plan.contract_id, contract_service=given["contract_service"],
        expected_contract_version=f"=={plan.contract_version}", format=request.format or plan.dataset_format,
        path=request.path, table=request.table, options=request.options, enforce=enforce, auto_cast=auto_cast,
        data_quality_service=given["data_quality_service"], governance_service=governance_service,
        data_product_service=given["data_product_service"], data_product_input=given["binding"],
        dataset_locator=request.dataset_locator or StaticDatasetLocator(dataset_id=plan.dataset_id,
                                                                        dataset_version=plan.dataset_version),
        status_strategy=_with_plan_policy(request.status_strategy or DefaultReadStatusStrategy(), plan),
        pipeline_context=request.context.pipeline_context or plan.pipeline_context, return_status=True,
        dc43_options={}, product_enforce=plan.enforce_data_product_status)
    register = getattr(governance_service, "register_read_activity", None)
    if given["binding"] is None and callable(register) and _publishes_activity(spark, request.publication_mode):
        register(plan=plan, assessment=QualityAssessment(status=status, validation=status))
    return (df, status) if return_status else df


def read_with_governance(spark: Any, request: Any, *, governance_service: Any, enforce: bool = True,
                         auto_cast: bool = True, return_status: bool = True) -> Any:
    """Read what governance resolves the request's context to (a contract, or a data-product port)."""
    return _read_governed(io.read_with_contract, spark, request, governance_service=governance_service,
                          enforce=enforce, auto_cast=auto_cast, return_status=return_status)


def read_stream_with_governance(spark: Any, request: Any, *, governance_service: Any, enforce: bool = True,
                                auto_cast: bool = True, return_status: bool = True) -> Any:
    """Streaming counterpart of :func:`read_with_governance`."""
    return _read_governed(io.read_stream_with_contract, spark, request, governance_service=governance_service,
                          enforce=enforce, auto_cast=auto_cast, return_status=return_status)


def _write_governed(df: Any, request: Any, *, streaming: bool, governance_service: Any, enforce: bool,
                    auto_cast: bool, return_status: bool, violation_strategy: Any, **streaming_args: Any) -> Any:
    request = request_of(request, GovernanceSparkWriteRequest)
    plan = _plan(governance_service, request.context, "write")
    given = _governed(governance_service, plan.output_binding, "write")
    locator = request.dataset_locator or StaticDatasetLocator(dataset_id=plan.dataset_id,
                                                              dataset_version=request.context.dataset_version)
    result, status = run_write(
        df=df, streaming=streaming, contract_id=plan.contract_id, contract_service=given["contract_service"],
        expected_contract_version=f"=={plan.contract_version}", path=request.path, table=request.table,
        format=request.format or plan.dataset_format, options=request.options, mode=request.mode, enforce=enforce,
        auto_cast=auto_cast, data_quality_service=given["data_quality_service"],
        governance_service=governance_service, data_product_service=given["data_product_service"],
        data_product_output=given["binding"], dataset_locator=locator,
        pipeline_context=request.context.pipeline_context or plan.pipeline_context, return_status=True,
        violation_strategy=_with_plan_policy(violation_strategy or NoOpWriteViolationStrategy(), plan),
        dc43_options={}, product_enforce=plan.enforce_data_product_status, **streaming_args)
    register = getattr(governance_service, "register_write_activity", None)
    if given["binding"] is None and callable(register) and _publishes_activity(df.sparkSession,
                                                                              request.publication_mode):
        register(plan=plan, assessment=QualityAssessment(status=status, validation=result))
    return (result, status) if return_status else result


def write_with_governance(*, df: Any, request: Any, governance_service: Any, enforce: bool = True,
                          auto_cast: bool = True, return_status: bool = False, violation_strategy: Any = None) -> Any:
    """Write under what governance resolves the request's context to (a contract, or a data-product port)."""
    return _write_governed(df, request, streaming=False, governance_service=governance_service, enforce=enforce,
                           auto_cast=auto_cast, return_status=return_status, violation_strategy=violation_strategy)


def write_stream_with_governance(*, df: Any, request: Any, governance_service: Any, enforce: bool = True,
                                 auto_cast: bool = True, return_status: bool = False, violation_strategy: Any = None,
                                 streaming_intervention_strategy: Any = None,
                                 on_streaming_batch: Optional[Callable[[Mapping[str, Any]], None]] = None) -> Any:
    """Streaming counterpart of :func:`write_with_governance`."""
    return _write_governed(df, request, streaming=True, governance_service=governance_service, enforce=enforce,
                           auto_cast=auto_cast, return_status=return_status, violation_strategy=violation_strategy,
                           streaming_intervention_strategy=streaming_intervention_strategy,
                           on_streaming_batch=on_streaming_batch)
