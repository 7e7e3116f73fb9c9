"""Contract-enforcing read and write helpers for Spark, streaming and batch.

Every helper is keyword-only.  Streaming reads return ``(df, validation)``;
streaming writes return a live :class:`ValidationResult` whose ``details``
hold every ``streaming_queries`` handle the helper started.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dc43.errors import ContractViolationError, Dc43Error
from dc43.formats import (
    BATCH_ID_COLUMN,
    DECODE_ERROR_COLUMN,
    REJECTED_RULES_COLUMN,
    DatasetFormat,
    DatasetTarget,
    StreamRead,
    UnsupportedOperationError,
)
from dc43.governance.service import BatchVerdict, SchemaObservation
from dc43.locators import LocateRequest, StaticDatasetLocator, resolve_version, utc_timestamp
from dc43.plugins import get_plugin_manager
from dc43.quality.plan import Expectation
from dc43.results import ObservationPayload, ValidationResult
from dc43.settings import Settings
from dc43.spark.metrics import compile_plan
from dc43.spark.monitor import BatchMonitor, all_routed
from dc43.spark.observation import ObservationRequest
from dc43.spark.schema import aligned_columns, cast_loss_checks, check_schema
from dc43.spark.types import contract_properties, contract_struct, schema_to_dict
from dc43.strategies import resolve_strategy

DEFAULT_OBSERVATION_WRITER = "foreach-batch"


# -- shared steps ---------------------------------------------------------
def _service(kind: str, given: Any) -> Any:
    if given is not None:
        return given
    return get_plugin_manager().service(kind, Settings.load())


def _resolve_contract(service: Any, contract_id: str | None, selector: str | None,
                      allow_inactive: bool) -> Any:
    if not contract_id:
        raise Dc43Error("contract_id is required: pass the id of the contract the data must follow")
    return service.resolve(contract_id, selector, allow_inactive=allow_inactive)


def _target(contract: Any, *, operation: str, streaming: bool, locator: Any, fmt: str | None,
            path: str | None, table: str | None, options: Mapping[str, str] | None) -> DatasetTarget:
    request = LocateRequest(contract=contract, operation=operation, streaming=streaming,
                            format=fmt, path=path, table=table, options=dict(options or {}))
    if isinstance(locator, str):
        locator = get_plugin_manager().lookup("locator", locator).value()
    target = (locator or StaticDatasetLocator()).locate(request)
    return attrs.evolve(target, contract=contract)


def _format(target: DatasetTarget, operation: str) -> DatasetFormat:
    adapter = get_plugin_manager().lookup("format", target.format).value
    if not adapter.supports(operation):
        raise adapter._unsupported(operation)
    return adapter


def _extra_columns_policy(contract: Any, operation: str) -> str:
    if operation != "write":
        return "warn"
    for obj in contract.schema_ or []:
        for prop in obj.customProperties or []:
            if prop.property == "dc43.allowExtraColumns" and prop.value in (False, "false"):
                return "error"
    return "warn"


def _base_result(contract: Any, target: DatasetTarget, report: Any, schema: dict[str, Any],
                 version: str) -> ValidationResult:
    result = ValidationResult(errors=list(report.errors), warnings=list(report.warnings),
                              schema=schema)
    return result.merge_details({
        "contract_id": contract.id, "contract_version": contract.version,
        "dataset_id": target.dataset_id, "dataset_version": version,
        "dataset": target.describe(),
    })


def _observe_schema(governance: Any, contract: Any, target: DatasetTarget, version: str,
                    operation: str, result: ValidationResult, context: Mapping[str, Any] | None) -> None:
    if governance is None:
        return
    governance.record_observation(SchemaObservation(
        dataset_id=target.dataset_id, dataset_version=version, contract_id=contract.id,
        contract_version=contract.version, operation=operation, schema=result.schema,
        status=result.status, pipeline_context=dict(context or {}), recorded_at=utc_timestamp(),
        location=target.describe(),
    ))


def _enforce_schema(result: ValidationResult, enforce: bool, contract: Any, target: DatasetTarget) -> None:
    if enforce and result.errors:
        raise ContractViolationError(
            f"'{target.dataset_id}' does not match contract {contract.id}@{contract.version}: "
            f"{'; '.join(result.errors)}. Fix the data or the contract, or pass enforce=False.",
            result,
        )


def _aligned_map(df: DataFrame, contract: Any, auto_cast: bool) -> dict[str, Any]:
    """Contract column name -> aligned expression (empty when not auto-casting)."""
    if not auto_cast:
        return {}
    names = [prop.name for prop in contract_properties(contract)]
    return dict(zip(names, aligned_columns(df.schema, contract)))


def _row_checks(df: DataFrame, contract: Any, auto_cast: bool) -> dict[str, Any]:
    """Per-row checks besides the contract's rules: values lost by a cast, undecodable rows."""
    checks = {f"cast:{name}": lost for name, lost in
              (cast_loss_checks(df.schema, contract) if auto_cast else {}).items()}
    if DECODE_ERROR_COLUMN in df.columns:
        checks["decode"] = F.col(DECODE_ERROR_COLUMN).isNotNull()
    return checks


def _data_schema(df: DataFrame) -> Any:
    """``df``'s schema without dc43's own bookkeeping columns."""
    from pyspark.sql.types import StructType

    ours = (DECODE_ERROR_COLUMN, BATCH_ID_COLUMN)
    return StructType([f for f in df.schema.fields if f.name not in ours])


def _column_types(contract: Any) -> dict[str, Any]:
    """Spark type of every contract column, nested fields by dotted path."""
    from pyspark.sql.types import StructType

    types: dict[str, Any] = {}

    def walk(struct: StructType, prefix: str) -> None:
        for field in struct.fields:
            types[prefix + field.name] = field.dataType
            if isinstance(field.dataType, StructType):
                walk(field.dataType, f"{prefix}{field.name}.")

    walk(contract_struct(contract), "")
    return types


def _with_extras(df: DataFrame, columns: Mapping[str, Any]) -> DataFrame:
    """Contract columns aligned, then the columns the contract does not know."""
    if not columns:
        return df
    extra = [F.col(f"`{name}`") for name in df.columns if name not in columns]
    return df.select(*columns.values(), *extra)


def _rejection(spec: Any, contract: Any) -> tuple[DatasetFormat, DatasetTarget] | None:
    """Resolve ``rejection_sink`` (a locator or a format/path/table/options mapping)."""
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"format", "path", "table", "options"}
        if unknown or not spec.get("format"):
            raise Dc43Error(f"rejection_sink {dict(spec)!r} needs a format (and a path, table or topic "
                            f"option); unknown keys: {sorted(unknown) or 'none'}")
        locator, options = StaticDatasetLocator(format=spec["format"], path=spec.get("path"),
                                                table=spec.get("table")), spec.get("options") or {}
    elif callable(getattr(spec, "locate", None)):
        locator, options = spec, {}
    else:
        raise Dc43Error("rejection_sink must be a dataset locator or a mapping with format and path/table")
    target = _target(contract, operation="write", streaming=True, locator=locator, fmt=None, path=None,
                     table=None, options=options)
    return _format(target, "write"), target


def _routed(plan: Any) -> frozenset[str]:
    """Metrics of the error rules whose failing rows can be routed one by one."""
    return frozenset(f"violations.{key}" for key, severity, _ in plan.row_flags if severity == "error")


def _check_routing(writer: Any, strategy: Any, rejection: Any) -> None:
    if rejection is not None and not writer.routes_rows:
        raise Dc43Error(f"a rejection_sink needs a writer that routes rows: pass observation_writer='inline' "
                        f"(observation writer '{writer.name}' cannot)")
    if getattr(strategy, "reroutes", False) and rejection is None:
        raise Dc43Error(f"strategy {type(strategy).__name__} reroutes batches: pass rejection_sink=... and "
                        "observation_writer='inline'")


def _register(service: Any, kind: str, binding: Any, contract: Any, result: ValidationResult) -> None:
    """Bind the data-product port named by ``binding`` to ``contract``; say what changed."""
    if binding is None:
        return
    from dc43.products import DataProductInputBinding, DataProductOutputBinding, Port

    if kind == "input":
        bound = DataProductInputBinding.coerce(binding)
        port = Port(bound.port_name, contract.id, contract.version,
                    bound.source_data_product, bound.source_output_port)
    else:
        bound = DataProductOutputBinding.coerce(binding)
        port = Port(bound.port_name, contract.id, contract.version)
    registration = _service("data_product", service).register_port(bound.data_product, kind, port)
    result.details["data_product"] = registration.to_dict()


def _expectations(dq: Any, contract: Any) -> list[Expectation]:
    return [Expectation.coerce(e) for e in dq.describe_expectations(contract=contract) or []]



# -- streaming ------------------------------------------------------------
def read_stream_with_contract(
    *, spark: SparkSession, contract_id: str | None = None, contract_service: Any = None,
    expected_contract_version: str | None = None, format: str | None = None,
    path: str | None = None, table: str | None = None, options: Mapping[str, str] | None = None,
    enforce: bool = True, auto_cast: bool = True, data_quality_service: Any = None,
    governance_service: Any = None, data_product_service: Any = None,
    data_product_input: Any = None, dataset_locator: Any = None,
    pipeline_context: Mapping[str, Any] | None = None, return_status: bool = True,
    allow_inactive: bool = False,
) -> Any:
    """Open a contract-validated streaming read; returns ``(df, validation)``.

    With ``data_product_input`` the read registers that input port of the data product.
    """
    contracts = _service("contract", contract_service)
    contract = _resolve_contract(contracts, contract_id, expected_contract_version, allow_inactive)
    target = _target(contract, operation="read", streaming=True, locator=dataset_locator,
                     fmt=format, path=path, table=table, options=options)
    opened = _format(target, "read_stream").read_stream(spark, target)
    df, side_queries = (opened.df, list(opened.queries)) if isinstance(opened, StreamRead) else (opened, [])
    try:
        report = check_schema(_data_schema(df), contract, auto_cast=auto_cast)
        version = resolve_version(target.dataset_version, batch_id=None)
        result = _base_result(contract, target, report, schema_to_dict(_data_schema(df)), version)
        dq = _service("data_quality", data_quality_service)
        result.details["expectations"] = [e.key for e in _expectations(dq, contract)]
        result.details["streaming_queries"] = side_queries
        _observe_schema(_service("governance", governance_service), contract, target, version,
                        "read_stream", result, pipeline_context)
        _enforce_schema(result, enforce, contract, target)
        _register(data_product_service, "input", data_product_input, contract, result)
    except Exception:
        for query in side_queries:
            query.stop()
        raise
    df = _with_extras(df, _aligned_map(df, contract, auto_cast))
    return (df, result) if return_status else df


def read_stream_from_contract(**kwargs: Any) -> Any:
    """Same as :func:`read_stream_with_contract` (kept for the spec's API)."""
    return read_stream_with_contract(**kwargs)


def write_stream_with_contract(
    *, df: DataFrame, contract_id: str | None = None, contract_service: Any = None,
    expected_contract_version: str | None = None, path: str | None = None,
    table: str | None = None, format: str | None = None, options: Mapping[str, str] | None = None,
    mode: str = "append", enforce: bool = True, auto_cast: bool = True,
    data_quality_service: Any = None, governance_service: Any = None,
    data_product_service: Any = None, data_product_output: Any = None, dataset_locator: Any = None,
    pipeline_context: Mapping[str, Any] | None = None, return_status: bool = False,
    streaming_intervention_strategy: Any = None,
    on_streaming_batch: Callable[[dict[str, Any]], None] | None = None,
    observation_writer: str = DEFAULT_OBSERVATION_WRITER, rejection_sink: Any = None,
    trigger: Mapping[str, Any] | None = None, allow_inactive: bool = False,
) -> Any:
    """Start a contract-enforced streaming write and its observation writer.

    With ``data_product_output`` the write registers that output port of the data product.
    ``rejection_sink`` (a locator, or a mapping with format/path/table/options) takes the
    rows that break error rules, and rerouted batches; it needs ``observation_writer="inline"``.
    """
    if not df.isStreaming:
        raise Dc43Error("write_stream_with_contract needs a streaming DataFrame; "
                        "use write_with_contract for batch data")
    manager = get_plugin_manager()
    contracts = _service("contract", contract_service)
    contract = _resolve_contract(contracts, contract_id, expected_contract_version, allow_inactive)
    target = _target(contract, operation="write", streaming=True, locator=dataset_locator,
                     fmt=format, path=path, table=table, options=options)
    writer = manager.lookup("observation writer", observation_writer).value()
    try:
        adapter = _format(target, "write" if writer.routes_rows else "write_stream")
    except UnsupportedOperationError as exc:
        if not writer.routes_rows:
            raise
        raise Dc43Error(f"the '{writer.name}' writer writes each micro-batch itself and format "
                        f"'{target.format}' cannot write batches ({exc})") from exc
    strategy = resolve_strategy(streaming_intervention_strategy)
    rejection = _rejection(rejection_sink, contract)
    _check_routing(writer, strategy, rejection)
    dq = _service("data_quality", data_quality_service)
    governance = _service("governance", governance_service)

    report = check_schema(_data_schema(df), contract, auto_cast=auto_cast,
                          extra_columns=_extra_columns_policy(contract, "write"))
    version = resolve_version(target.dataset_version, batch_id=None)
    result = _base_result(contract, target, report, schema_to_dict(df.schema), version)
    _observe_schema(governance, contract, target, version, "write_stream", result, pipeline_context)
    _enforce_schema(result, enforce, contract, target)
    _register(data_product_service, "output", data_product_output, contract, result)

    columns = _aligned_map(df, contract, auto_cast)
    plan = compile_plan(_expectations(dq, contract), columns=columns,
                        row_checks=_row_checks(df, contract, auto_cast),
                        types=_column_types(contract), skip_distinct=not writer.exact_distinct)
    status = ValidationResult(status="unknown", details={"dataset_id": target.dataset_id})
    monitor = BatchMonitor(
        contract=contract, target=target, result=result, status=status,
        data_quality_service=dq, governance_service=governance, strategy=strategy,
        enforce=enforce, schema=result.schema, on_batch=on_streaming_batch,
        can_reroute=rejection is not None,
        routed=_routed(plan) if rejection else frozenset(),
    )
    queries = writer.start(ObservationRequest(
        source=df, sink_columns=list(columns.values()) if auto_cast else None, plan=plan,
        monitor=monitor, adapter=adapter, target=target, mode=mode, trigger=trigger,
        rejection=rejection,
    ))
    if rejection:
        result.details["rejection_sink"] = rejection[1].describe()
    result.details.update({
        "streaming_queries": queries, "streaming_monitor": monitor,
        "observation_writer": observation_writer,
        "expectations": [e.key for e in plan.expectations],
        "uniqueness": "not checked" if plan.unmeasured else "exact",
        "unmeasured": list(plan.unmeasured),
    })
    return (result, status) if return_status else result


# -- batch ----------------------------------------------------------------
def _judge_batch(df: DataFrame, contract: Any, dq: Any, result: ValidationResult,
                 columns: Mapping[str, Any], auto_cast: bool) -> tuple[ValidationResult, Any]:
    plan = compile_plan(_expectations(dq, contract), columns=columns,
                        row_checks=_row_checks(df, contract, auto_cast),
                        types=_column_types(contract))
    metrics = plan.measure(df)
    verdict = dq.evaluate(contract=contract,
                          payload=ObservationPayload(metrics=metrics, schema=result.schema))
    BatchMonitor._apply(result, verdict, result.errors, result.warnings)
    result.details["rules"] = verdict.details.get("rules", [])
    return verdict, plan


def _record_batch(governance: Any, contract: Any, target: DatasetTarget, version: str,
                  result: ValidationResult) -> None:
    if governance is None:
        return
    governance.record_verdict(BatchVerdict(
        dataset_id=target.dataset_id, dataset_version=version, batch_id=0,
        contract_id=contract.id, contract_version=contract.version, status=result.status,
        row_count=int(result.metrics.get("row_count", 0)), metrics=dict(result.metrics),
        reason=result.reason, recorded_at=utc_timestamp(),
    ))


def read_with_contract(
    *, spark: SparkSession, contract_id: str | None = None, contract_service: Any = None,
    expected_contract_version: str | None = None, format: str | None = None,
    path: str | None = None, table: str | None = None, options: Mapping[str, str] | None = None,
    enforce: bool = True, auto_cast: bool = True, data_quality_service: Any = None,
    governance_service: Any = None, data_product_service: Any = None,
    data_product_input: Any = None, dataset_locator: Any = None,
    pipeline_context: Mapping[str, Any] | None = None, return_status: bool = True,
    allow_inactive: bool = False,
) -> Any:
    """Read a batch dataset, validate schema and data; returns ``(df, validation)``."""
    contract = _resolve_contract(_service("contract", contract_service), contract_id,
                                 expected_contract_version, allow_inactive)
    target = _target(contract, operation="read", streaming=False, locator=dataset_locator,
                     fmt=format, path=path, table=table, options=options)
    df = _format(target, "read").read(spark, target)
    report = check_schema(_data_schema(df), contract, auto_cast=auto_cast)
    version = target.dataset_version
    result = _base_result(contract, target, report, schema_to_dict(df.schema), version)
    governance = _service("governance", governance_service)
    columns = _aligned_map(df, contract, auto_cast)
    if report.ok:
        _judge_batch(df, contract, _service("data_quality", data_quality_service), result, columns,
                     auto_cast)
    _observe_schema(governance, contract, target, version, "read", result, pipeline_context)
    _record_batch(governance, contract, target, version, result)
    if enforce and not result.ok:
        raise ContractViolationError(
            f"'{target.dataset_id}' violates contract {contract.id}@{contract.version}: "
            f"{'; '.join(result.errors)}. Fix the data, or pass enforce=False.", result)
    _register(data_product_service, "input", data_product_input, contract, result)
    return (_with_extras(df, columns), result) if return_status else _with_extras(df, columns)


def write_with_contract(
    *, df: DataFrame, contract_id: str | None = None, contract_service: Any = None,
    expected_contract_version: str | None = None, path: str | None = None,
    table: str | None = None, format: str | None = None, options: Mapping[str, str] | None = None,
    mode: str = "append", enforce: bool = True, auto_cast: bool = True,
    data_quality_service: Any = None, governance_service: Any = None,
    data_product_service: Any = None, data_product_output: Any = None, dataset_locator: Any = None,
    pipeline_context: Mapping[str, Any] | None = None, return_status: bool = False,
    violation_strategy: str | None = None, rejection_sink: Any = None, allow_inactive: bool = False,
) -> Any:
    """Validate a batch DataFrame and write it; with ``enforce``, nothing is written on a block.

    ``violation_strategy="split"`` sends the rows that break error rules (with the rules
    they broke) to ``rejection_sink`` and the others to the target, in one pass; only
    failures no row can carry (uniqueness, thresholds) still block.
    """
    if violation_strategy not in (None, "split"):
        raise Dc43Error(f"violation_strategy must be None or 'split', got {violation_strategy!r}")
    contract = _resolve_contract(_service("contract", contract_service), contract_id,
                                 expected_contract_version, allow_inactive)
    target = _target(contract, operation="write", streaming=False, locator=dataset_locator,
                     fmt=format, path=path, table=table, options=options)
    adapter = _format(target, "write")
    rejection = _rejection(rejection_sink, contract)
    if (violation_strategy == "split") != (rejection is not None):
        raise Dc43Error("violation_strategy='split' and rejection_sink=... go together: pass both or neither")
    report = check_schema(_data_schema(df), contract, auto_cast=auto_cast,
                          extra_columns=_extra_columns_policy(contract, "write"))
    version = target.dataset_version
    result = _base_result(contract, target, report, schema_to_dict(df.schema), version)
    governance = _service("governance", governance_service)
    _observe_schema(governance, contract, target, version, "write", result, pipeline_context)
    _enforce_schema(result, enforce, contract, target)
    columns = _aligned_map(df, contract, auto_cast)
    source = df.persist() if rejection else df
    try:
        verdict, plan = _judge_batch(source, contract, _service("data_quality", data_quality_service),
                                     result, columns, auto_cast)
        _record_batch(governance, contract, target, version, result)
        routed = _routed(plan) if rejection else frozenset()
        if enforce and not result.ok and not all_routed(verdict, routed):
            raise ContractViolationError(
                f"nothing was written to '{target.dataset_id}': it violates contract "
                f"{contract.id}@{contract.version}: {'; '.join(result.errors)}. Fix the data, "
                "or pass enforce=False to write and record the violations.", result)
        _write_split(source, columns, plan, adapter, target, mode, rejection)
    finally:
        if rejection:
            source.unpersist()
    if rejection:
        result.details["rejection_sink"] = rejection[1].describe()
    _register(data_product_service, "output", data_product_output, contract, result)
    return (result, verdict) if return_status else result


def _write_split(df: DataFrame, columns: Mapping[str, Any], plan: Any, adapter: DatasetFormat,
                 target: DatasetTarget, mode: str, rejection: Any) -> None:
    """Write ``df`` aligned; with a rejection sink, rows breaking error rules go there."""
    projected = list(columns.values()) or [F.col(f"`{c}`") for c in df.columns]
    if rejection is None:
        adapter.write(df.select(*projected), target, mode=mode)
        return
    flagged = df.select(*projected, plan.failed_rules().alias(REJECTED_RULES_COLUMN))
    broken = F.size(F.col(REJECTED_RULES_COLUMN)) > 0
    rejection[0].write(flagged.filter(broken), rejection[1], mode="append")
    adapter.write(flagged.filter(~broken).drop(REJECTED_RULES_COLUMN), target, mode=mode)
