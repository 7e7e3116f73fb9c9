"""Contract-enforcing read and write helpers for Spark, streaming and batch.

Every helper is keyword-only.  Streaming reads return ``(df, validation)``;
streaming writes return a live :class:`ValidationResult` whose ``details``
hold every ``streaming_queries`` handle the helper started.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import dc43.quality.volume as volume
from dc43 import alerts
from dc43.contracts import sla
from dc43.contracts.physical_names import physical_names
from dc43.delivery import OutagePolicy, Outbox
from dc43.errors import ContractViolationError, InvalidArgumentError, did_you_mean
from dc43.formats import (
    REJECTED_RULES_COLUMN,
    DatasetFormat,
    DatasetTarget,
    StreamRead,
    commits,
)
from dc43.freshness import FreshnessWatch
from dc43.governance.service import BatchVerdict
from dc43.locators import resolve_version, utc_timestamp
from dc43.plugins import get_plugin_manager, resolve_strategy
from dc43.quality.across import describe as describe_horizon
from dc43.redaction import redact_text
from dc43.results import ObservationPayload, ValidationResult, observed_columns, rule_results
from dc43.spark import arguments, contract_pins, steps
from dc43.spark.batch_side import BatchSide, PlanSpec, all_routed
from dc43.spark.caller_side import DEFAULT_MAX_LAG, CallerSide
from dc43.spark.key_history import KeyHistory
from dc43.spark.links import apply_verdict, verdict_summary
from dc43.spark.metrics import compile_plan
from dc43.spark.observation import ObservationRequest
from dc43.spark.schema import aligned_map, check_schema, column_types, row_checks
from dc43.spark.sources import input_datasets
from dc43.spark.types import schema_to_dict
from dc43.spark.volume_history import VolumeHistory

log = logging.getLogger(__name__)

DEFAULT_OBSERVATION_WRITER = "foreach-batch"


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
    arguments.session(spark, helper="read_stream_with_contract")
    options = arguments.common(
        contract_id=contract_id, contract_service=contract_service, data_quality_service=data_quality_service,
        governance_service=governance_service, path=path, table=table, options=options,
        pipeline_context=pipeline_context, enforce=enforce, auto_cast=auto_cast, allow_inactive=allow_inactive)
    contracts = steps.service("contract", contract_service)
    contract = steps.resolve_contract(contracts, contract_id, expected_contract_version, allow_inactive)
    target = steps.locate(contract, operation="read", streaming=True, locator=dataset_locator,
                     fmt=format, path=path, table=table, options=options)
    opened = steps.format_for(target, "read_stream").read_stream(spark, target)
    df, side_queries = (opened.df, list(opened.queries)) if isinstance(opened, StreamRead) else (opened, [])
    try:
        report = check_schema(steps.data_schema(df), contract, auto_cast=auto_cast)
        version = resolve_version(target.dataset_version, batch_id=None)
        result = steps.base_result(contract, target, report, schema_to_dict(steps.data_schema(df)), version)
        dq = steps.service("data_quality", data_quality_service)
        result.details["expectations"] = [e.key for e in steps.expectations_of(dq, contract)]
        result.details["streaming_queries"] = side_queries
        steps.judge_schema(dq, contract, result)
        steps.observe_schema(steps.service("governance", governance_service), contract, target, version,
                        "read_stream", result, pipeline_context)
        steps.enforce_schema(result, enforce, contract, target)
        steps.register_port(data_product_service, "input", data_product_input, contract, result)
    except Exception:
        for query in side_queries:
            query.stop()
        raise
    df = steps.with_extras(df, aligned_map(df.schema, contract, auto_cast), contract)
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
    allow_contract_upgrade: bool = False, outage_policy: Any = None,
    max_observation_lag: int | None = DEFAULT_MAX_LAG, notifiers: Any = None, alert_interval_s: float = 0.0,
) -> Any:
    """Start a contract-enforced streaming write and its observation writer.

    With ``data_product_output`` the write registers that output port of the data product.
    ``rejection_sink`` (a locator, or a mapping with format/path/table/options) takes the
    rows that break error rules, and rerouted batches; it needs ``observation_writer="inline"``.
    Works the same on classic Spark, a standalone cluster and Spark Connect. Restarted on its
    checkpoint, the write keeps the contract version it started with unless
    ``allow_contract_upgrade=True`` (:mod:`dc43.spark.contract_pins`). ``outage_policy`` says what a
    batch does while the data-quality service is down (:class:`dc43.delivery.OutagePolicy`; verdicts
    governance cannot take wait in an outbox either way). ``notifiers`` (names or objects) are told
    each change of the write's status, at most one alert per ``alert_interval_s`` (:mod:`dc43.alerts`).
    """
    arguments.dataframe(df, streaming=True, helper="write_stream_with_contract")
    options = arguments.common(
        contract_id=contract_id, contract_service=contract_service, data_quality_service=data_quality_service,
        governance_service=governance_service, path=path, table=table, options=options,
        pipeline_context=pipeline_context, enforce=enforce, auto_cast=auto_cast, allow_inactive=allow_inactive,
        allow_contract_upgrade=allow_contract_upgrade)
    arguments.mode(mode, streaming=True)
    arguments.trigger(trigger)
    arguments.callback(on_streaming_batch)
    arguments.bound("max_observation_lag", max_observation_lag)
    manager = get_plugin_manager()
    session = df.sparkSession
    contracts = steps.service("contract", contract_service)
    kept = contract_pins.keep(
        session, contracts, steps.resolve_contract(contracts, contract_id, expected_contract_version, allow_inactive),
        checkpoint=options.get("checkpointLocation"), selector=expected_contract_version,
        allow_inactive=allow_inactive, allow_upgrade=allow_contract_upgrade)
    contract = kept.contract
    target = steps.locate(contract, operation="write", streaming=True, locator=dataset_locator,
                          fmt=format, path=path, table=table, options=options)
    writer = manager.lookup("observation writer", observation_writer).value()
    if writer.routes_rows:  # it writes every micro-batch itself, from foreachBatch
        others = sorted(name for name in manager.observation_writers() if name != observation_writer)
        adapter = steps.micro_batch_format_for(
            target, choose="a sink format",
            needs=f"observation_writer='{writer.name}' needs its sink to write micro-batches (it writes "
                  "each one itself, from foreachBatch)",
            alternative=f", or another observation writer ({', '.join(others)})" if others else "")
        adapter.check_batch_writes(session, target)
    else:
        adapter = steps.format_for(target, "write_stream")
    steps.check_session(session, adapter)
    strategy = resolve_strategy(streaming_intervention_strategy)
    steps.check_routing(writer, strategy, rejection_sink)  # before the sink's format is checked
    rejection = steps.rejection_target(rejection_sink, contract, micro_batches=True)
    if rejection:
        steps.check_session(session, rejection[0])
        rejection[0].check_batch_writes(session, rejection[1])
        arguments.apart(target.path, rejection[1].path)
    arguments.checkpoint(session, target.options, sink_path=target.path,
                         needed_for=f"observation_writer='{writer.name}'" if writer.routes_rows else None)
    arguments.free_query_name(session, target.options)
    owner = contract_pins.owner_of(target, writer.name)
    contract_pins.check_owner(session, target.options.get("checkpointLocation"), owner, kept)
    dq = steps.service_ref("data_quality", data_quality_service)
    governance = steps.service_ref("governance", governance_service)
    watch = alerts.watch(notifiers, alert_interval_s, manager, governance.get())
    frequency = sla.frequency_s(contract)
    freshness = FreshnessWatch(frequency, governance=governance.get(),
                               on_change=watch.observe if watch else None) if frequency else None

    report = check_schema(steps.data_schema(df), contract, auto_cast=auto_cast,
                          extra_columns=steps.extra_columns_policy(contract, "write"))
    version = resolve_version(target.dataset_version, batch_id=None)
    result = steps.base_result(contract, target, report, schema_to_dict(df.schema), version)
    if kept.change:
        result.details["contract_version_change"] = kept.change
        if kept.change["used"] == kept.change["selected"]:  # an upgrade: said wherever the run is told
            result.add_warning(kept.change["message"])
    spec = PlanSpec(steps.expectations_of(dq.get(), contract), contract, df.schema, auto_cast=auto_cast,
                    skip_distinct=not writer.exact_distinct)
    volume_rules = [e for e in spec.plan.expectations if e.rule in volume.RULES]
    side = BatchSide(
        spec=spec, contract=contract, dataset_id=target.dataset_id, version_template=target.dataset_version,
        schema=result.schema, enforce=enforce, strategy=strategy, quality=dq, governance=governance,
        can_reroute=rejection is not None, routed=steps.routed_metrics(spec.plan) if rejection else frozenset(),
        policy=OutagePolicy.coerce(outage_policy, gate_enforced=writer.routes_rows and enforce),
        outbox=Outbox(dq.settings.outbox_path),
        keys=KeyHistory(spec.plan.across, state_dir=dq.settings.absolute().state_dir, dataset_id=target.dataset_id)
        if spec.plan.across else None,
        volumes=VolumeHistory(volume_rules, state_dir=dq.settings.absolute().state_dir, dataset_id=target.dataset_id)
        if volume_rules else None,
    )
    steps.check_patterns(session, contract, spec.plan)
    steps.check_sql_rules(session, contract, spec.plan, df.schema)
    steps.check_portable(session, side, adapter, target, rejection)
    steps.judge_schema(dq.get(), contract, result)
    inputs = input_datasets(df)  # once per query start: the lineage its observation keeps
    steps.observe_schema(governance.get(), contract, target, version, "write_stream", result, pipeline_context,
                         inputs)
    steps.enforce_schema(result, enforce, contract, target)
    steps.register_port(data_product_service, "output", data_product_output, contract, result)

    status = ValidationResult(status="unknown", details={"dataset_id": target.dataset_id})
    caller = CallerSide(result=result, status=status, strategy=strategy, on_batch=on_streaming_batch,
                        max_lag=max_observation_lag)
    request = ObservationRequest(source=df, side=side, caller=caller, adapter=adapter, target=target,
                                 mode=mode, trigger=trigger, rejection=rejection)
    steps.prepare(session, adapter, target)
    if rejection:
        steps.prepare(session, *rejection)
    caller.runs = runs = steps.run_listeners(df, lambda: inputs, target=target, contract=contract, streaming=True,
                                             expectations=spec.plan.expectations, rejection=rejection,
                                             context=pipeline_context, result=result,
                                             own=[(name, own) for name, own in (("freshness", freshness),
                                                                                ("alerts", watch)) if own])
    if runs:
        side.tells_rules = True
        runs.started()
    try:
        if kept.repin:  # before the queries run: a batch is never committed on a checkpoint without its pin
            contract_pins.pin(session, options["checkpointLocation"], contract, owner)
        started = writer.start(request)
    except Exception as exc:
        from dc43.spark.caller_queries import missing_module_error

        missing = missing_module_error(exc)
        if runs:
            runs.ended(error=_said(missing or exc))
        if missing is not None:
            raise missing from exc
        raise
    queries = caller.follow(session, started)
    if runs:
        caller.tell_end(started)
    if rejection:
        result.details["rejection_sink"] = rejection[1].describe()
    result.details.update({
        "streaming_queries": queries, "streaming_monitor": caller,
        "observation_writer": observation_writer,
        "expectations": [e.key for e in spec.plan.expectations],
        "uniqueness": "not checked" if spec.plan.unmeasured else "exact",
        "key_horizons": {e.key: describe_horizon(e.params["horizon"]) for e in spec.plan.across},
        "unmeasured": list(spec.plan.unmeasured),
    })
    return (result, status) if return_status else result


# -- batch ----------------------------------------------------------------
def _judge_batch(df: DataFrame, contract: Any, dq: Any, result: ValidationResult,
                 columns: Mapping[str, Any], auto_cast: bool) -> tuple[ValidationResult, Any]:
    plan = compile_plan(steps.expectations_of(dq, contract), columns=columns,
                        row_checks=row_checks(df.schema, contract, auto_cast),
                        types=column_types(contract), physical=physical_names(contract))
    steps.check_patterns(df.sparkSession, contract, plan)
    steps.check_sql_rules(df.sparkSession, contract, plan, df.schema)
    metrics = plan.measure(df)
    verdict = dq.evaluate(contract=contract,
                          payload=ObservationPayload(metrics=metrics, schema=observed_columns(result.schema)))
    apply_verdict(result, verdict_summary(verdict), result.errors, result.warnings)
    result.details["rules"] = verdict.details.get("rules", [])
    return verdict, plan


def judge_dataframe(df: DataFrame, *, contract: Any, data_quality_service: Any = None,
                    auto_cast: bool = True) -> tuple[ValidationResult, DataFrame, dict[str, Any]]:
    """Judge a batch DataFrame against ``contract`` without writing or recording anything.

    Returns the verdict, ``df`` aligned to the contract, and for each per-row error rule a
    condition true for the rows that keep it (set-level rules judge no single row).
    """
    report = check_schema(steps.data_schema(df), contract, auto_cast=auto_cast,
                          extra_columns=steps.extra_columns_policy(contract, "write"))
    result = ValidationResult(errors=list(report.errors), warnings=list(report.warnings),
                              schema=schema_to_dict(df.schema))
    if not report.ok:
        return result, df, {}
    dq = steps.service("data_quality", data_quality_service)
    columns = aligned_map(df.schema, contract, auto_cast)
    _, plan = _judge_batch(df, contract, dq, result, columns, auto_cast)
    aligned = df.select(*(list(columns.values()) or [F.col(f"`{c}`") for c in df.columns]))
    again = compile_plan(plan.expectations, columns=aligned_map(aligned.schema, contract, auto_cast),
                         types=column_types(contract), physical=physical_names(contract))
    keeps = {key: ~F.coalesce(bad, F.lit(False)) for key, severity, bad in again.row_flags if severity == "error"}
    return result, aligned, keeps


def _record_batch(governance: Any, contract: Any, target: DatasetTarget, version: str,
                  result: ValidationResult) -> None:
    if governance is None:
        return
    steps.record(governance, BatchVerdict(
        dataset_id=target.dataset_id, dataset_version=version, batch_id=0,
        contract_id=contract.id, contract_version=contract.version, status=result.status,
        row_count=int(result.metrics.get("row_count", 0)), metrics=dict(result.metrics),
        reason=result.reason, recorded_at=utc_timestamp(), rules=rule_results(result),
    ), result)


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
    arguments.session(spark, helper="read_with_contract")
    options = arguments.common(
        contract_id=contract_id, contract_service=contract_service, data_quality_service=data_quality_service,
        governance_service=governance_service, path=path, table=table, options=options,
        pipeline_context=pipeline_context, enforce=enforce, auto_cast=auto_cast, allow_inactive=allow_inactive)
    contract = steps.resolve_contract(steps.service("contract", contract_service), contract_id,
                                 expected_contract_version, allow_inactive)
    target = steps.locate(contract, operation="read", streaming=False, locator=dataset_locator,
                     fmt=format, path=path, table=table, options=options)
    df = steps.format_for(target, "read").read(spark, target)
    report = check_schema(steps.data_schema(df), contract, auto_cast=auto_cast)
    version = target.dataset_version
    result = steps.base_result(contract, target, report, schema_to_dict(df.schema), version)
    governance = steps.service("governance", governance_service)
    columns = aligned_map(df.schema, contract, auto_cast)
    if report.ok:
        _judge_batch(df, contract, steps.service("data_quality", data_quality_service), result, columns,
                     auto_cast)
    steps.observe_schema(governance, contract, target, version, "read", result, pipeline_context)
    _record_batch(governance, contract, target, version, result)
    if enforce and not result.ok:
        raise ContractViolationError(
            f"'{target.dataset_id}' violates contract {contract.id}@{contract.version}: "
            f"{'; '.join(result.errors)}. Fix the data, or pass enforce=False.", result)
    steps.register_port(data_product_service, "input", data_product_input, contract, result)
    df = steps.with_extras(df, columns, contract)
    return (df, result) if return_status else df


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
    arguments.dataframe(df, streaming=False, helper="write_with_contract")
    options = arguments.common(
        contract_id=contract_id, contract_service=contract_service, data_quality_service=data_quality_service,
        governance_service=governance_service, path=path, table=table, options=options,
        pipeline_context=pipeline_context, enforce=enforce, auto_cast=auto_cast, allow_inactive=allow_inactive)
    arguments.mode(mode, streaming=False)
    if violation_strategy not in (None, "split"):
        raise InvalidArgumentError(f"violation_strategy must be None or 'split'"
                                   f"{did_you_mean(str(violation_strategy), ['split'])}, got {violation_strategy!r}")
    contract = steps.resolve_contract(steps.service("contract", contract_service), contract_id,
                                 expected_contract_version, allow_inactive)
    target = steps.locate(contract, operation="write", streaming=False, locator=dataset_locator,
                     fmt=format, path=path, table=table, options=options)
    adapter = steps.format_for(target, "write")
    rejection = steps.rejection_target(rejection_sink, contract)
    for each in (adapter, rejection[0] if rejection else None):
        steps.check_session(df.sparkSession, each)
    if (violation_strategy == "split") != (rejection is not None):
        raise InvalidArgumentError("violation_strategy='split' and rejection_sink=... go together: pass both or "
                                   "neither")
    report = check_schema(steps.data_schema(df), contract, auto_cast=auto_cast,
                          extra_columns=steps.extra_columns_policy(contract, "write"))
    version = target.dataset_version
    result = steps.base_result(contract, target, report, schema_to_dict(df.schema), version)
    governance = steps.service("governance", governance_service)
    dq = steps.service("data_quality", data_quality_service)
    # a batch write may run once per micro-batch of a caller's own foreachBatch: its plan is read for
    # lineage only when a run listener reads it anyway
    lineage = functools.cache(lambda: input_datasets(df))
    runs = steps.run_listeners(df, lineage, target=target, contract=contract, streaming=False,
                               expectations=steps.expectations_of(dq, contract), rejection=rejection,
                               context=pipeline_context, result=result)
    steps.observe_schema(governance, contract, target, version, "write", result, pipeline_context,
                         lineage() if runs else ())
    if runs:
        runs.started()
    try:
        df = steps.safe_to_overwrite(df, path=target.path, table=target.table, mode=mode, dataset_id=target.dataset_id)
        verdict = _write_batch(df, contract, dq, governance, result, target, version, adapter, mode, rejection,
                               enforce=enforce, auto_cast=auto_cast)
    except Exception as exc:
        if runs:  # a block after judging still says which rules failed
            runs.ended(error=_said(exc), verdict=verdict_summary(result) if "rules" in result.details else None)
        raise
    if runs:
        runs.ended(verdict=verdict_summary(result))
    if rejection:
        result.details["rejection_sink"] = rejection[1].describe()
    steps.register_port(data_product_service, "output", data_product_output, contract, result)
    return (result, verdict) if return_status else result


def _said(exc: BaseException) -> str:
    """An error as run listeners are told it: its type and message, secrets hidden."""
    return redact_text(f"{type(exc).__name__}: {exc}")


def _write_batch(df: DataFrame, contract: Any, dq: Any, governance: Any, result: ValidationResult,
                 target: DatasetTarget, version: str, adapter: DatasetFormat, mode: str, rejection: Any, *,
                 enforce: bool, auto_cast: bool) -> Any:
    """Judge ``df``, record the verdict and, unless it blocks, write it; returns the verdict."""
    steps.enforce_schema(result, enforce, contract, target)
    columns = aligned_map(df.schema, contract, auto_cast)
    source = df.persist() if rejection else df
    try:
        verdict, plan = _judge_batch(source, contract, dq, result, columns, auto_cast)
        _record_batch(governance, contract, target, version, result)
        routed = steps.routed_metrics(plan) if rejection else frozenset()
        if enforce and not result.ok and not all_routed(verdict, routed):
            raise ContractViolationError(
                f"nothing was written to '{target.dataset_id}': it violates contract "
                f"{contract.id}@{contract.version}: {'; '.join(result.errors)}. Fix the data, "
                "or pass enforce=False to write and record the violations.", result)
        steps.prepare(df.sparkSession, adapter, target)
        if rejection:
            steps.prepare(df.sparkSession, *rejection)
        commit = _write_split(source, columns, plan, adapter, target, mode, rejection)
        if commit:
            result.details["commit"] = commit
            _record_commit(governance, target, version, commit, result)
    finally:
        if rejection:
            source.unpersist()
    return verdict


def _write_split(df: DataFrame, columns: Mapping[str, Any], plan: Any, adapter: DatasetFormat,
                 target: DatasetTarget, mode: str, rejection: Any) -> dict[str, Any]:
    """Write ``df`` aligned; with a rejection sink, rows breaking error rules go there.  Returns
    what the writes committed, where their formats say (``{"sink": {"delta_version": 3}}``)."""
    projected = list(columns.values()) or [F.col(f"`{c}`") for c in df.columns]
    if rejection is None:
        return commits(sink=adapter.write(df.select(*projected), target, mode=mode))
    flagged = df.select(*projected, plan.failed_rules().alias(REJECTED_RULES_COLUMN))
    broken = F.size(F.col(REJECTED_RULES_COLUMN)) > 0
    rejected = rejection[0].write(flagged.filter(broken), rejection[1], mode="append")
    return commits(sink=adapter.write(flagged.filter(~broken).drop(REJECTED_RULES_COLUMN), target, mode=mode),
                   rejection_sink=rejected)


def _record_commit(governance: Any, target: DatasetTarget, version: str, commit: Mapping[str, Any],
                   result: ValidationResult) -> None:
    """Keep what the batch write committed with its verdict; when governance cannot, the result says so."""
    if governance is None or not hasattr(governance, "record_commit"):
        return
    try:
        governance.record_commit(dataset_id=target.dataset_id, dataset_version=version, batch_id=0, commit=commit)
    except Exception as exc:  # the rows are written and the verdict recorded: said, not raised
        log.exception("could not record what the write of '%s' committed (%s)", target.dataset_id, commit)
        result.add_warning(f"governance did not keep what the write committed ({commit}): {exc}")
