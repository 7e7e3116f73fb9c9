"""The original API's Spark helpers, as ``dc43_integrations.spark.io`` exports them (caller side).

Each takes the original's arguments (the session positionally where the original did,
``status_strategy`` on reads, violation-strategy objects on writes, services and
locators written for the original) plus any of dc43's own keyword arguments, and runs
:mod:`dc43.spark.io`: one engine, whichever API a pipeline speaks.  Results carry the
original's ``details`` (:mod:`dc43.legacy.shapes`); errors stay dc43's typed errors,
which are also the ``ValueError``/``RuntimeError`` the original raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

from dc43.errors import ContractViolationError, InvalidArgumentError
from dc43.legacy.locators import StaticDatasetLocator, as_locator, contract_ref, dataset_id_from_ref
from dc43.legacy.plans import (
    pipeline_context_of,
)
from dc43.legacy.services import (
    OriginalGovernance,
    PinnedContracts,
    as_governance,
    binding_contract,
    check_products,
    find_contract,
    is_original_products,
    register_port,
)
from dc43.legacy.shapes import observation_scope, shape, shaped_callback
from dc43.legacy.statuses import DefaultReadStatusStrategy, ReadStatusContext, apply_contract_policy
from dc43.legacy.violations import NoOpWriteViolationStrategy, WriteRequest, WriteStrategyContext
from dc43.products import DataProductInputBinding, DataProductOutputBinding
from dc43.results import ValidationResult
from dc43.spark import arguments, io, steps

log = logging.getLogger("dc43_integrations.spark.io")


def _paths_compatible(given: str, declared: str) -> bool:
    """A path under the contract's (``/data/orders/1.2.0`` for ``/data/orders.parquet``) matches it."""
    try:
        actual, expected = Path(given).resolve(), Path(declared).resolve()
    except OSError:
        return False
    root = expected.parent / expected.stem if expected.suffix else expected
    return actual in (expected, root) or root in actual.parents


def location_warnings(contract: Any, *, path: Any, table: Any, fmt: Any, operation: str) -> list[str]:
    """What differs between the location a helper was given and the contract's server (logged too)."""
    said: list[str] = []
    if not getattr(contract, "servers", None):
        return said
    c_path, c_table = contract_ref(contract)
    c_format = contract.servers[0].format
    if isinstance(path, str) and c_path and not _paths_compatible(path, c_path):
        said.append(f"Provided path {path} does not match contract server path {c_path}")
    if table and c_table and table != c_table:
        said.append(f"Provided table {table} does not match contract server table {c_table}")
    if fmt and c_format and fmt != c_format:
        said.append(f"{'Format' if operation == 'write' else 'Provided format'} {fmt} does not match contract "
                    f"server format {c_format}")
    for message in said:
        log.warning(message)
    return said


def _check_product_version(products: Any, binding: Any) -> None:
    """A product version the binding asks for must exist (dc43's service; the original's are checked
    on registration)."""
    wanted = (binding.data_product_version or "").strip().removeprefix("==").strip()
    if wanted and not wanted.startswith(">="):
        steps.service("data_product", products).get(binding.data_product, wanted)


def _checked(*, contract_id: Any, contract_service: Any, pipeline_context: Any, dc43_options: dict[str, Any]) -> bool:
    """The checks dc43 makes before anything runs, taking what the original took too; returns whether
    ``allow_inactive`` (dc43's switch, taken from ``dc43_options``) lets any contract status through."""
    if contract_id is not None:
        arguments.contract_name(contract_id)
    if contract_service is not None and not callable(getattr(contract_service, "resolve", None)):
        original = ("get", "latest", "list_versions")
        if not all(callable(getattr(contract_service, m, None)) for m in original):
            arguments.service("contract", contract_service, ("resolve",))  # names what is wrong and the fix
    pipeline_context_of(pipeline_context)
    allow_inactive = dc43_options.pop("allow_inactive", False)
    arguments.flags(allow_inactive=allow_inactive)
    return allow_inactive


def _assessed(governance: Any, result: ValidationResult) -> Any:
    """The status governance's assessment gave (the original returned it), or ``None``."""
    if not isinstance(governance, OriginalGovernance):
        return None
    assessment = governance.assessment(result.details.get("dataset_id"), result.details.get("dataset_version"))
    found = getattr(assessment, "status", None) or getattr(assessment, "validation", None)
    if found is not None:
        found.merge_details({k: result.details[k] for k in ("dataset_id", "dataset_version") if k in result.details})
    return found


def _resolve(*, kind: str, contract_id: Any, expected: Any, contract_service: Any, governance: Any,
             products: Any, binding: Any, handler: Any, enforce: bool, any_status: bool) -> Any:
    """The contract the helper works under (its status checked by ``handler``) as a contract service
    the engine resolves it from; ``None`` without one."""
    if contract_id is None and binding is not None:
        contract_id, from_port = binding_contract(products, kind, binding)
        expected = expected or from_port
    if contract_id is None:
        return None
    allowed = getattr(handler, "allowed_contract_statuses", None) if enforce and not any_status else True
    contract = find_contract(contract_id, expected, contracts=contract_service, governance=governance,
                             allowed=tuple(allowed) if isinstance(allowed, (tuple, list)) else True)
    if not any_status:
        apply_contract_policy(handler, contract, enforce=enforce, operation="read" if kind == "input" else "write")
    return PinnedContracts(contract, contract_service, governance, expected)


# -- reads ------------------------------------------------------------------------
def run_read(engine: Callable[..., Any], *, spark: Any, contract_id: Any, contract_service: Any,
          expected_contract_version: Any, format: Any, path: Any, table: Any, options: Any, enforce: bool,
          auto_cast: bool, data_quality_service: Any, governance_service: Any, data_product_service: Any,
          data_product_input: Any, dataset_locator: Any, status_strategy: Any, pipeline_context: Any,
          return_status: bool, dc43_options: Mapping[str, Any], product_enforce: Optional[bool] = None) -> Any:
    dc43_options = dict(dc43_options)
    any_status = _checked(contract_id=contract_id, contract_service=contract_service,
                          pipeline_context=pipeline_context, dc43_options=dc43_options)
    handler = status_strategy or DefaultReadStatusStrategy()
    check_products(data_product_service)
    governance = as_governance(governance_service)
    binding = DataProductInputBinding.coerce(data_product_input) if data_product_input is not None else None
    pinned = _resolve(kind="input", contract_id=contract_id, expected=expected_contract_version,
                        contract_service=contract_service, governance=governance_service,
                        products=data_product_service, binding=binding, handler=handler, enforce=enforce,
                        any_status=any_status)
    if pinned is None:
        raise InvalidArgumentError("contract_id is required (or a data_product_input naming a port bound to a "
                                   "contract): pass the id of the contract the data must follow")
    contract = pinned.contract
    if isinstance(governance, OriginalGovernance):
        governance.contracts[(contract.id, contract.version)] = contract
    location_warnings(contract, path=path, table=table, fmt=format, operation="read")
    original_products = is_original_products(data_product_service)
    df, result = engine(
        spark=spark, contract_id=contract.id, contract_service=pinned, expected_contract_version=pinned.selector,
        format=format, path=path, table=table, options=options, enforce=enforce, auto_cast=auto_cast,
        data_quality_service=data_quality_service, governance_service=governance,
        data_product_service=None if original_products else data_product_service,
        data_product_input=None if original_products else binding,
        dataset_locator=as_locator(dataset_locator, spark=spark), pipeline_context=pipeline_context_of(pipeline_context),
        return_status=True, allow_inactive=True, **dc43_options)
    if binding is not None:
        if original_products:
            result.details["data_product"] = register_port(
                data_product_service, "input", binding, contract, handler=handler,
                enforce=enforce if product_enforce is None else product_enforce).to_dict()
        else:
            _check_product_version(data_product_service, binding)
    status = _assessed(governance, result) or shape(result)
    observation_scope(status, operation="read", scope="input_slice")
    df, status = handler.apply(dataframe=df, status=status, enforce=enforce, context=ReadStatusContext(
        contract, result.details.get("dataset_id"), result.details.get("dataset_version")))
    return (df, status) if return_status else df


def read_with_contract(spark: Any = None, *, contract_id: Optional[str] = None, contract_service: Any = None,
                       expected_contract_version: Optional[str] = None, format: Optional[str] = None,
                       path: Optional[str] = None, table: Optional[str] = None,
                       options: Optional[Mapping[str, str]] = None, enforce: bool = True, auto_cast: bool = True,
                       data_quality_service: Any = None, governance_service: Any = None,
                       data_product_service: Any = None, data_product_input: Any = None, dataset_locator: Any = None,
                       status_strategy: Any = None, pipeline_context: Any = None, return_status: bool = True,
                       **dc43_options: Any) -> Any:
    """Read a batch dataset under a contract; returns ``(df, status)`` (``df`` alone with ``return_status=False``)."""
    return run_read(io.read_with_contract, spark=spark, contract_id=contract_id, contract_service=contract_service,
                 expected_contract_version=expected_contract_version, format=format, path=path, table=table,
                 options=options, enforce=enforce, auto_cast=auto_cast, data_quality_service=data_quality_service,
                 governance_service=governance_service, data_product_service=data_product_service,
                 data_product_input=data_product_input, dataset_locator=dataset_locator,
                 status_strategy=status_strategy, pipeline_context=pipeline_context, return_status=return_status,
                 dc43_options=dc43_options)


def read_stream_with_contract(*, spark: Any = None, contract_id: Optional[str] = None, contract_service: Any = None,
                              expected_contract_version: Optional[str] = None, format: Optional[str] = None,
                              path: Optional[str] = None, table: Optional[str] = None,
                              options: Optional[Mapping[str, str]] = None, enforce: bool = True,
                              auto_cast: bool = True, data_quality_service: Any = None, governance_service: Any = None,
                              data_product_service: Any = None, data_product_input: Any = None,
                              dataset_locator: Any = None, status_strategy: Any = None, pipeline_context: Any = None,
                              return_status: bool = True, **dc43_options: Any) -> Any:
    """Open a streaming read under a contract; returns ``(df, status)``."""
    return run_read(io.read_stream_with_contract, spark=spark, contract_id=contract_id,
                 contract_service=contract_service, expected_contract_version=expected_contract_version,
                 format=format, path=path, table=table, options=options, enforce=enforce, auto_cast=auto_cast,
                 data_quality_service=data_quality_service, governance_service=governance_service,
                 data_product_service=data_product_service, data_product_input=data_product_input,
                 dataset_locator=dataset_locator, status_strategy=status_strategy, pipeline_context=pipeline_context,
                 return_status=return_status, dc43_options=dc43_options)


def read_from_contract(spark: Any = None, *, contract_id: str, contract_service: Any = None, **kwargs: Any) -> Any:
    """:func:`read_with_contract` by contract id (the original's name for it)."""
    return read_with_contract(spark, contract_id=contract_id, contract_service=contract_service, **kwargs)


def read_stream_from_contract(*, spark: Any = None, contract_id: str, contract_service: Any = None,
                              **kwargs: Any) -> Any:
    """:func:`read_stream_with_contract` by contract id (the original's name for it)."""
    return read_stream_with_contract(spark=spark, contract_id=contract_id, contract_service=contract_service,
                                     **kwargs)


def read_from_data_product(spark: Any = None, *, data_product_service: Any, data_product_input: Any,
                           **kwargs: Any) -> Any:
    """Read under the contract of a data product's port (the source output port it names, else its own
    input port), registering the input port."""
    return read_with_contract(spark, data_product_service=data_product_service,
                              data_product_input=data_product_input, **kwargs)


def read_stream_from_data_product(*, spark: Any = None, data_product_service: Any, data_product_input: Any,
                                  **kwargs: Any) -> Any:
    """Streaming counterpart of :func:`read_from_data_product`."""
    return read_stream_with_contract(spark=spark, data_product_service=data_product_service,
                                     data_product_input=data_product_input, **kwargs)


# -- writes -----------------------------------------------------------------------
def _plain_write(df: Any, *, path: Any, table: Any, format: Any, options: Any, mode: str) -> ValidationResult:
    """A write no contract governs (the original let it through): written as given, nothing judged."""
    if df.isStreaming:
        raise InvalidArgumentError("contract_id is required: a streaming write needs a contract to judge its "
                                   "micro-batches; pass contract_id=...")
    if not (path or table):
        raise InvalidArgumentError("Either table or path must be provided for write")
    arguments.location(path, table)
    arguments.mode(mode, streaming=False)
    dataset_id = dataset_id_from_ref(table=table, path=path)
    writer = steps.safe_to_overwrite(df, path=path, table=table, mode=mode, dataset_id=dataset_id).write
    writer = writer.mode(mode).options(**dict(options or {}))
    if format:
        writer = writer.format(format)
    if table:
        writer.saveAsTable(table)
    else:
        writer.save(path)
    said = (f"no contract governs this write: '{dataset_id}' was written as given, unchecked; pass contract_id=... "
            "to validate it")
    log.warning(said)
    return ValidationResult(ok=True, warnings=[said], details={"dataset_id": dataset_id})


def _engine_write(df: Any, request_fields: Mapping[str, Any], *, pinned: PinnedContracts, governance: Any,
                  common: Mapping[str, Any], dc43_options: Mapping[str, Any]) -> tuple[ValidationResult, Any]:
    result, status = io.write_with_contract(
        df=df, contract_id=pinned.contract.id, contract_service=pinned, expected_contract_version=pinned.selector,
        governance_service=governance, return_status=True, allow_inactive=True, **request_fields, **common,
        **dc43_options)
    return result, status


def run_write(*, df: Any, streaming: bool, contract_id: Any, contract_service: Any, expected_contract_version: Any,
           path: Any, table: Any, format: Any, options: Any, mode: str, enforce: bool, auto_cast: bool,
           data_quality_service: Any, governance_service: Any, data_product_service: Any, data_product_output: Any,
           dataset_locator: Any, pipeline_context: Any, return_status: bool, violation_strategy: Any,
           streaming_intervention_strategy: Any = None, on_streaming_batch: Any = None,
           dc43_options: Mapping[str, Any], product_enforce: Optional[bool] = None) -> Any:
    dc43_options = dict(dc43_options)
    any_status = _checked(contract_id=contract_id, contract_service=contract_service,
                          pipeline_context=pipeline_context, dc43_options=dc43_options)
    arguments.callback(on_streaming_batch)
    ours = isinstance(violation_strategy, str)
    strategy = NoOpWriteViolationStrategy() if violation_strategy is None or ours else violation_strategy
    check_products(data_product_service)
    governance = as_governance(governance_service)
    binding = DataProductOutputBinding.coerce(data_product_output) if data_product_output is not None else None
    pinned = _resolve(kind="output", contract_id=contract_id, expected=expected_contract_version,
                        contract_service=contract_service, governance=governance_service,
                        products=data_product_service, binding=binding, handler=strategy, enforce=enforce,
                        any_status=any_status)
    if pinned is None:
        result = _plain_write(df, path=path, table=table, format=format, options=options, mode=mode)
        return (shape(result), None) if return_status else shape(result)
    contract = pinned.contract
    if isinstance(governance, OriginalGovernance):
        governance.contracts[(contract.id, contract.version)] = contract
    said = location_warnings(contract, path=path, table=table, fmt=format, operation="write")
    original_products = is_original_products(data_product_service)
    context = pipeline_context_of(pipeline_context)
    common = {"enforce": enforce, "auto_cast": auto_cast, "data_quality_service": data_quality_service,
              "pipeline_context": context,
              "data_product_service": None if original_products else data_product_service,
              "data_product_output": None if original_products else binding}
    locator = as_locator(dataset_locator, df=df)
    if streaming:
        result, status = _stream(df, pinned=pinned, strategy=strategy, governance=governance, path=path,
                                 table=table, format=format, options=options, mode=mode, locator=locator,
                                 common=common, intervention=streaming_intervention_strategy,
                                 on_batch=on_streaming_batch, dc43_options=dc43_options)
    elif ours or type(strategy) is NoOpWriteViolationStrategy:
        fields = {"path": path, "table": table, "format": format, "options": options, "mode": mode,
                  "dataset_locator": locator, **({"violation_strategy": violation_strategy} if ours else {})}
        result, status = _engine_write(df, fields, pinned=pinned, governance=governance, common=common,
                                       dc43_options=dc43_options)
    else:
        result, status = _planned(df, pinned=pinned, strategy=strategy, governance=governance, path=path,
                                  table=table, format=format, options=options, mode=mode, locator=locator,
                                  common=common, dc43_options=dc43_options)
    _warn(result, said)
    if binding is not None:
        if original_products:
            result.details["data_product"] = register_port(
                data_product_service, "output", binding, contract, handler=strategy,
                enforce=enforce if product_enforce is None else product_enforce).to_dict()
        else:
            _check_product_version(data_product_service, binding)
    status = _assessed(governance, result) or shape(status)
    shape(result)
    scope = "streaming_batch" if streaming else "pre_write_dataframe"
    for each in (result, status):
        observation_scope(each, operation="write", scope=scope)
    return (result, status) if return_status else result


def _warn(result: ValidationResult, messages: Sequence[str]) -> None:
    """Add the ``messages`` ``result`` does not hold yet (an ``ok`` result becomes ``warn``)."""
    for message in messages:
        if message not in result.warnings:
            result.add_warning(message)


def _stream(df: Any, *, pinned: PinnedContracts, strategy: Any, governance: Any, path: Any, table: Any,
            format: Any, options: Any, mode: str, locator: Any, common: Mapping[str, Any], intervention: Any,
            on_batch: Any, dc43_options: Mapping[str, Any]) -> tuple[ValidationResult, Any]:
    """A streaming write: the strategy may only keep the target's own write (streams are not split)."""
    contract = pinned.contract
    if type(strategy) is not NoOpWriteViolationStrategy:
        target = steps.locate(contract, operation="write", streaming=True, locator=locator, fmt=format, path=path,
                              table=table, options=options)
        planned = strategy.plan(WriteStrategyContext(
            df=df, aligned_df=df, contract=contract, path=target.path, table=target.table, format=target.format,
            options=dict(target.options), mode=mode, validation=ValidationResult(), dataset_id=target.dataset_id,
            dataset_version=target.dataset_version, revalidate=lambda _: ValidationResult(),
            expectation_predicates={}, pipeline_context=common["pipeline_context"], streaming=True))
        if planned.primary is None or planned.additional:
            raise InvalidArgumentError(
                f"{type(strategy).__name__} plans other writes than the target's, which a stream cannot run; "
                "route the rows that break the contract with rejection_sink=... and observation_writer='inline'")
    results: list[Any] = [None, None]
    result, status = io.write_stream_with_contract(
        df=df, contract_id=contract.id, contract_service=pinned, expected_contract_version=pinned.selector,
        governance_service=governance, path=path, table=table, format=format, options=options, mode=mode,
        dataset_locator=locator, return_status=True, allow_inactive=True,
        streaming_intervention_strategy=intervention,
        on_streaming_batch=shaped_callback(on_batch, results), **common, **dc43_options)
    results[:] = [result, status]
    return result, status


def _planned(df: Any, *, pinned: PinnedContracts, strategy: Any, governance: Any, path: Any, table: Any,
             format: Any, options: Any, mode: str, locator: Any,
             common: Mapping[str, Any], dc43_options: Mapping[str, Any]) -> tuple[ValidationResult, Any]:
    """A batch write a violation strategy plans: judged whole, then each planned write on its own."""
    contract = pinned.contract
    dq = common["data_quality_service"]
    auto_cast, enforce = common["auto_cast"], common["enforce"]
    target = steps.locate(contract, operation="write", streaming=False, locator=locator, fmt=format, path=path,
                          table=table, options=options)
    verdict, aligned, keeps = io.judge_dataframe(df, contract=contract, data_quality_service=dq,
                                                 auto_cast=auto_cast)
    if enforce and not verdict.ok:
        raise ContractViolationError(
            f"nothing was written to '{target.dataset_id}': it violates contract {contract.id}@{contract.version}: "
            f"{'; '.join(verdict.errors)}. Fix the data, or pass enforce=False.", verdict)
    context = WriteStrategyContext(
        df=df, aligned_df=aligned, contract=contract, path=target.path, table=target.table, format=target.format,
        options=dict(target.options), mode=mode, validation=verdict, dataset_id=target.dataset_id,
        dataset_version=target.dataset_version,
        revalidate=lambda rows: io.judge_dataframe(rows, contract=contract, data_quality_service=dq,
                                                   auto_cast=auto_cast)[0],
        expectation_predicates=keeps, pipeline_context=common["pipeline_context"])
    planned = strategy.plan(context)
    requests: list[WriteRequest] = [r for r in (planned.primary, *planned.additional) if r is not None]
    done: list[tuple[WriteRequest, ValidationResult, Any]] = []
    for index, request in enumerate(requests):
        fields = {"path": request.path, "table": request.table, "format": request.format,
                  "options": request.options, "mode": request.mode,
                  "dataset_locator": StaticDatasetLocator(dataset_id=request.dataset_id,
                                                          dataset_version=request.dataset_version)}
        each = {**common, "enforce": False, "pipeline_context": request.pipeline_context,
                **({} if index == 0 else {"data_product_output": None})}
        result, status = _engine_write(request.df, fields, pinned=pinned, governance=governance, common=each,
                                       dc43_options=dc43_options)
        _warn(result, request.warnings)
        done.append((request, result, status))
    final = planned.result_factory() if planned.result_factory else (done[0][1] if done else verdict)
    for request, _, _ in done:
        _warn(final, request.warnings)
    status = done[0][2] if done else None
    if status is not None and len(done) > 1:
        status.details["auxiliary_statuses"] = [
            {"role": "primary" if index == 0 and planned.primary is not None else "auxiliary",
             "dataset_id": request.dataset_id or dataset_id_from_ref(table=request.table, path=request.path),
             "dataset_version": request.dataset_version, "status": each.status,
             **({"path": request.path} if request.path else {}), **({"table": request.table} if request.table else {})}
            for index, (request, _, each) in enumerate(done) if each is not None]
    return final, status


def write_with_contract(*, df: Any, contract_id: Optional[str] = None, contract_service: Any = None,
                        expected_contract_version: Optional[str] = None, path: Optional[str] = None,
                        table: Optional[str] = None, format: Optional[str] = None,
                        options: Optional[Mapping[str, str]] = None, mode: str = "append", enforce: bool = True,
                        auto_cast: bool = True, data_quality_service: Any = None, governance_service: Any = None,
                        data_product_service: Any = None, data_product_output: Any = None,
                        dataset_locator: Any = None, pipeline_context: Any = None, return_status: bool = False,
                        violation_strategy: Any = None, **dc43_options: Any) -> Any:
    """Validate a batch DataFrame and write it under a contract (as planned by ``violation_strategy``)."""
    return run_write(df=df, streaming=False, contract_id=contract_id, contract_service=contract_service,
                  expected_contract_version=expected_contract_version, path=path, table=table, format=format,
                  options=options, mode=mode, enforce=enforce, auto_cast=auto_cast,
                  data_quality_service=data_quality_service, governance_service=governance_service,
                  data_product_service=data_product_service, data_product_output=data_product_output,
                  dataset_locator=dataset_locator, pipeline_context=pipeline_context, return_status=return_status,
                  violation_strategy=violation_strategy, dc43_options=dc43_options)


def write_stream_with_contract(*, df: Any, contract_id: Optional[str] = None, contract_service: Any = None,
                               expected_contract_version: Optional[str] = None, path: Optional[str] = None,
                               table: Optional[str] = None, format: Optional[str] = None,
                               options: Optional[Mapping[str, str]] = None, mode: str = "append",
                               enforce: bool = True, auto_cast: bool = True, data_quality_service: Any = None,
                               governance_service: Any = None, data_product_service: Any = None,
                               data_product_output: Any = None, dataset_locator: Any = None,
                               pipeline_context: Any = None, return_status: bool = False,
                               violation_strategy: Any = None, streaming_intervention_strategy: Any = None,
                               on_streaming_batch: Optional[Callable[[Mapping[str, Any]], None]] = None,
                               **dc43_options: Any) -> Any:
    """Start a contract-enforced streaming write and its observation; the result's
    ``details["streaming_queries"]`` holds every query it started."""
    return run_write(df=df, streaming=True, contract_id=contract_id, contract_service=contract_service,
                  expected_contract_version=expected_contract_version, path=path, table=table, format=format,
                  options=options, mode=mode, enforce=enforce, auto_cast=auto_cast,
                  data_quality_service=data_quality_service, governance_service=governance_service,
                  data_product_service=data_product_service, data_product_output=data_product_output,
                  dataset_locator=dataset_locator, pipeline_context=pipeline_context, return_status=return_status,
                  violation_strategy=violation_strategy,
                  streaming_intervention_strategy=streaming_intervention_strategy,
                  on_streaming_batch=on_streaming_batch, dc43_options=dc43_options)


def write_with_contract_id(*, df: Any, contract_id: str, contract_service: Any = None, **kwargs: Any) -> Any:
    """:func:`write_with_contract` by contract id (the original's name for it)."""
    return write_with_contract(df=df, contract_id=contract_id, contract_service=contract_service, **kwargs)


def write_stream_with_contract_id(*, df: Any, contract_id: str, contract_service: Any = None, **kwargs: Any) -> Any:
    """:func:`write_stream_with_contract` by contract id (the original's name for it)."""
    return write_stream_with_contract(df=df, contract_id=contract_id, contract_service=contract_service, **kwargs)


def write_to_data_product(*, df: Any, data_product_service: Any, data_product_output: Any, **kwargs: Any) -> Any:
    """Write under the contract a data product's output port is bound to (``contract_id`` for its first
    write), registering the port."""
    return write_with_contract(df=df, data_product_service=data_product_service,
                               data_product_output=data_product_output, **kwargs)


def write_stream_to_data_product(*, df: Any, data_product_service: Any, data_product_output: Any,
                                 **kwargs: Any) -> Any:
    """Streaming counterpart of :func:`write_to_data_product`."""
    return write_stream_with_contract(df=df, data_product_service=data_product_service,
                                      data_product_output=data_product_output, **kwargs)


def get_delta_version(spark: Any, *, table: Optional[str] = None, path: Optional[str] = None) -> Optional[str]:
    """The newest version of a Delta table (by name or path) as a string; ``None`` when it has none."""
    reference = table if table else f"delta.`{path}`"
    try:
        rows = spark.sql(f"DESCRIBE HISTORY {reference} LIMIT 1").head(1)
    except Exception:  # not a Delta table (or none there yet): the original answered None too
        return None
    return str(rows[0][0]) if rows else None
