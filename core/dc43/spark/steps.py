"""Steps the read and write helpers share: services, contract, target, schema, routing."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dc43.contracts.keys import notes_of
from dc43.contracts.physical_names import physical_names
from dc43.errors import ContractFormatError, ContractViolationError, InvalidArgumentError
from dc43.formats import (
    BATCH_ID_COLUMN,
    DECODE_ERROR_COLUMN,
    OPERATIONS,
    DatasetFormat,
    DatasetTarget,
    UnsupportedOperationError,
)
from dc43.governance.service import SchemaObservation
from dc43.locators import LocateRequest, StaticDatasetLocator, utc_timestamp
from dc43.plugins import get_plugin_manager, plugin_service
from dc43.quality.plan import Expectation
from dc43.redaction import redact
from dc43.results import ValidationResult
from dc43.runs import DatasetRef, RunListeners, WriteRun, active_listeners, job_name
from dc43.settings import Settings
from dc43.spark.types import contract_properties

log = logging.getLogger(__name__)


def service(kind: str, given: Any) -> Any:
    if given is not None:
        return given
    return get_plugin_manager().service(kind, Settings.load())


def service_ref(kind: str, given: Any) -> Any:
    """A :class:`~dc43.spark.batch_side.ServiceRef` for the batch side: ``given``, or the plugins'
    service for the caller's settings (paths made absolute: the batch side may run elsewhere)."""
    from dc43.spark.batch_side import ServiceRef

    settings = Settings.load().absolute()
    if given is not None:
        return ServiceRef(kind, given, settings=settings)
    return ServiceRef(kind, plugin_service(kind, settings), settings=settings, rebuild=plugin_service)


def resolve_contract(contracts: Any, contract_id: str | None, selector: str | None,
                      allow_inactive: bool) -> Any:
    if not contract_id:
        raise InvalidArgumentError("contract_id is required: pass the id of the contract the data must follow")
    return contracts.resolve(contract_id, selector, allow_inactive=allow_inactive)


def locate(contract: Any, *, operation: str, streaming: bool, locator: Any, fmt: str | None,
            path: str | None, table: str | None, options: Mapping[str, str] | None) -> DatasetTarget:
    request = LocateRequest(contract=contract, operation=operation, streaming=streaming,
                            format=fmt, path=path, table=table, options=dict(options or {}))
    if isinstance(locator, str):
        locator = get_plugin_manager().lookup("locator", locator).value()
    if locator is not None and not callable(getattr(locator, "locate", None)):
        raise InvalidArgumentError(f"dataset_locator must be a locator name or an object with locate(request), got "
                                   f"{type(locator).__name__}; e.g. StaticDatasetLocator(path=...)")
    target = (locator or StaticDatasetLocator()).locate(request)
    return attrs.evolve(target, contract=contract)


def format_for(target: DatasetTarget, operation: str) -> DatasetFormat:
    adapter = get_plugin_manager().lookup("format", target.format).value
    if not adapter.supports(operation):
        raise adapter._unsupported(operation)
    _check_target(adapter, target, operation)
    return adapter


def _check_target(adapter: Any, target: DatasetTarget, operation: str) -> None:
    """Let the format refuse what it would ignore (formats not built on DatasetFormat may not check)."""
    check = getattr(adapter, "check_target", None)
    if callable(check):
        check(target, operation)


def writes_micro_batches(adapter: Any) -> bool:
    """Whether ``adapter.write_micro_batch`` can work (formats not built on DatasetFormat too)."""
    supports = getattr(adapter, "supports_micro_batches", None)
    return supports() if callable(supports) else callable(getattr(adapter, "write_micro_batch", None))


def check_session(spark: Any, adapter: Any) -> None:
    """Let the format refuse a session it cannot work with, before anything is judged or written."""
    check = getattr(adapter, "check_session", None)
    if callable(check):
        check(spark)


def prepare(spark: Any, adapter: Any, target: DatasetTarget) -> None:
    """Let the format create what writing ``target`` needs, once every check passed (formats not
    built on DatasetFormat may have no ``prepare``)."""
    prepare_write = getattr(adapter, "prepare", None)
    if callable(prepare_write):
        prepare_write(spark, target)


def micro_batch_format_for(target: DatasetTarget, *, needs: str, choose: str,
                           alternative: str = "") -> DatasetFormat:
    """The adapter of ``target``, which must write micro-batches (``write_micro_batch``).

    Checked before any query starts: a format that cannot would only fail inside the
    first ``foreachBatch`` call.  ``needs`` says who needs it, ``choose`` what to choose
    instead and ``alternative`` any other way out.
    """
    manager = get_plugin_manager()
    adapter = manager.lookup("format", target.format).value
    if writes_micro_batches(adapter):
        _check_target(adapter, target, "write")
        return adapter
    able = sorted(name for name, provided in manager.formats().items() if writes_micro_batches(provided.value))
    can = [op for op in OPERATIONS if adapter.supports(op)]
    raise UnsupportedOperationError(
        f"{needs}, and format '{target.format}' cannot write batches (it supports: "
        f"{', '.join(can) or 'nothing'}). Choose {choose} that supports batch writes "
        f"({', '.join(able) or 'none is installed'}){alternative}."
    )


def extra_columns_policy(contract: Any, operation: str) -> str:
    if operation != "write":
        return "warn"
    for obj in contract.schema_ or []:
        for prop in obj.customProperties or []:
            if prop.property == "dc43.allowExtraColumns" and prop.value in (False, "false"):
                return "error"
    return "warn"


def base_result(contract: Any, target: DatasetTarget, report: Any, schema: dict[str, Any],
                 version: str) -> ValidationResult:
    notes = [f"contract {contract.id}@{contract.version}: {note}" for note in notes_of(contract)]
    result = ValidationResult(errors=list(report.errors), warnings=[*notes, *report.warnings],
                              schema=schema)
    names = physical_names(contract)
    return result.merge_details({
        "contract_id": contract.id, "contract_version": contract.version,
        "dataset_id": target.dataset_id, "dataset_version": version,
        "dataset": target.describe(), **({"physical_names": names} if names else {}),
    })


def record(governance: Any, item: Any, result: ValidationResult) -> None:
    """Give governance ``item`` (a verdict or an observation); while it is down, the item waits in the
    outbox and ``result`` says so."""
    from dc43.delivery import Outbox, send

    outbox = Outbox(Settings.load().absolute().outbox_path)
    error = send(outbox, governance, item)
    if error is not None:
        result.add_warning(f"governance could not take the {type(item).__name__} of '{item.dataset_id}' ({error}); "
                           f"it waits in {outbox.path} and goes out, in order, with the dataset's next delivery")


def observe_schema(governance: Any, contract: Any, target: DatasetTarget, version: str,
                    operation: str, result: ValidationResult, context: Mapping[str, Any] | None,
                    inputs: Sequence[DatasetRef] = ()) -> None:
    """Record the schema a read or write saw; a write's ``inputs`` (the datasets its DataFrame reads)
    go with its location, for lineage."""
    if governance is None:
        return
    location = {**target.describe(), **({"inputs": [ref.label for ref in inputs]} if inputs else {})}
    record(governance, SchemaObservation(
        dataset_id=target.dataset_id, dataset_version=version, contract_id=contract.id,
        contract_version=contract.version, operation=operation, schema=result.schema,
        status=result.status, pipeline_context=redact(dict(context or {})), recorded_at=utc_timestamp(),
        location=location, warnings=tuple(result.warnings),
    ), result)


def judge_schema(dq: Any, contract: Any, result: ValidationResult) -> None:
    """Show the data-quality service a stream's schema before any row (a payload without metrics);
    the errors it finds are the result's. A service that cannot answer now only costs a warning:
    every micro-batch is judged later anyway."""
    from dc43.results import ObservationPayload, observed_columns

    try:
        verdict = dq.evaluate(contract=contract, payload=ObservationPayload(schema=observed_columns(result.schema)))
    except Exception as exc:  # a service down at start must not stop the stream
        log.warning("the data-quality service could not judge the schema of contract %s@%s: %s", contract.id,
                    contract.version, exc)
        return
    for error in verdict.errors:
        if error not in result.errors:
            result.add_error(error)


def enforce_schema(result: ValidationResult, enforce: bool, contract: Any, target: DatasetTarget) -> None:
    if enforce and result.errors:
        raise ContractViolationError(
            f"'{target.dataset_id}' does not match contract {contract.id}@{contract.version}: "
            f"{'; '.join(result.errors)}. Fix the data or the contract, or pass enforce=False.",
            result,
        )


def data_schema(df: DataFrame) -> Any:
    """``df``'s schema without dc43's own bookkeeping columns."""
    from pyspark.sql.types import StructType

    ours = (DECODE_ERROR_COLUMN, BATCH_ID_COLUMN)
    return StructType([f for f in df.schema.fields if f.name not in ours])


def with_extras(df: DataFrame, columns: Mapping[str, Any], contract: Any) -> DataFrame:
    """Contract columns aligned (named as the data names them), then the columns the contract does not know."""
    if not columns:
        return df
    known = data_names(contract)
    extra = [F.col(f"`{name}`") for name in df.columns if name not in known]
    return df.select(*columns.values(), *extra)


def data_names(contract: Any) -> set[str]:
    """Every column name that holds one of the contract's properties: physical and logical names."""
    names = physical_names(contract)
    return {*(prop.name for prop in contract_properties(contract)), *names.values()}


def rejection_target(spec: Any, contract: Any, *,
                     micro_batches: bool = False) -> tuple[DatasetFormat, DatasetTarget] | None:
    """Resolve ``rejection_sink`` (a locator or a format/path/table/options mapping).

    With ``micro_batches`` (streaming writes) its format must write micro-batches."""
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"format", "path", "table", "options"}
        if unknown or not spec.get("format"):
            raise InvalidArgumentError(f"rejection_sink {dict(spec)!r} needs a format (and a path, table or topic "
                            f"option); unknown keys: {sorted(unknown) or 'none'}")
        locator, options = StaticDatasetLocator(format=spec["format"], path=spec.get("path"),
                                                table=spec.get("table")), spec.get("options") or {}
    elif callable(getattr(spec, "locate", None)):
        locator, options = spec, {}
    else:
        raise InvalidArgumentError("rejection_sink must be a dataset locator or a mapping with format and path/table")
    target = attrs.evolve(locate(contract, operation="write", streaming=True, locator=locator, fmt=None, path=None,
                                 table=None, options=options), rejects=True)
    if micro_batches:
        adapter = micro_batch_format_for(
            target, choose="a rejection_sink format",
            needs="the rejection_sink needs to write micro-batches (the 'inline' writer writes each "
                  "one from foreachBatch)")
        return adapter, target
    return format_for(target, "write"), target


def check_portable(session: Any, side: Any, adapter: Any, target: DatasetTarget, rejection: Any) -> None:
    """On Spark Connect, check before any query starts that what judges each micro-batch can
    be pickled: it runs in a Python process the server starts."""
    from dc43.spark.topology import is_connect

    if not is_connect(session):
        return
    from pyspark import cloudpickle

    parts = [("streaming_intervention_strategy", side.strategy),
             ("data_quality_service", side.quality), ("governance_service", side.governance),
             (f"the '{target.format}' format", adapter)]
    if rejection is not None:
        parts.append((f"the rejection sink's '{rejection[1].format}' format", rejection[0]))
    for label, part in parts:
        try:
            cloudpickle.dumps(part)
        except Exception as exc:
            raise InvalidArgumentError(
                f"{label} cannot be sent to the Spark Connect server, where micro-batches are judged "
                f"(foreachBatch runs in a Python process the server starts): {exc}. Pass an object that "
                "pickles, or leave it out to use the one the plugins provide.") from exc


@contextlib.contextmanager
def quiet_analysis() -> Iterator[None]:
    """Keep pyspark from logging, Java stack and all, the analysis errors this thread turns into
    dc43 errors (it logs every error with a query context; other threads' records still pass)."""
    me = threading.get_ident()

    def others(record: logging.LogRecord) -> bool:
        return record.thread != me

    from pyspark.logger import PySparkLogger  # made as pyspark makes them: it logs with extra keywords

    loggers = [PySparkLogger.getLogger(name) for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger")]
    for logger in loggers:
        logger.addFilter(others)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(others)


def check_patterns(spark: Any, contract: Any, plan: Any) -> None:
    """Compile the plan's regular expressions with Spark (Java's syntax) before any batch runs:
    a bad one would otherwise fail deep inside the first micro-batch."""
    problems = pattern_problems(spark, contract, plan)
    if problems:
        raise problems[0]


def pattern_problems(spark: Any, contract: Any, plan: Any) -> list[ContractFormatError]:
    """Every rule whose pattern Spark cannot compile."""
    patterns = [(e, e.params["pattern"]) for e in plan.expectations if isinstance(e.params.get("pattern"), str)]
    if not patterns:
        return []
    from pyspark.errors import PySparkException

    def compiles(chosen: list[tuple[Any, str]]) -> bool:
        try:
            with quiet_analysis():
                spark.range(1).select(*(F.lit("").rlike(p).alias(f"p{n}") for n, (_, p) in enumerate(chosen))).collect()
        except PySparkException:
            return False
        return True

    if compiles(patterns):
        return []
    return [ContractFormatError(f"contract {contract.id}@{contract.version}", expectation.key,
                                f"pattern {pattern!r} is not a valid Java regular expression (Spark matches with "
                                "java.util.regex); fix the pattern")
            for expectation, pattern in patterns if not compiles([(expectation, pattern)])]


def check_sql_rules(spark: Any, contract: Any, plan: Any, schema: Any) -> None:
    """Analyse each SQL rule's query on an empty batch of ``schema`` before any batch runs (nothing
    is executed): a query that does not compile, or does not give one number, would otherwise
    fail the first micro-batch, or a batch write once its rows are measured."""
    problems = sql_rule_problems(spark, contract, plan, schema)
    if problems:
        raise problems[0]


def sql_rule_problems(spark: Any, contract: Any, plan: Any, schema: Any) -> list[ContractFormatError]:
    """Every SQL rule whose query Spark cannot analyse on a batch of ``schema``, or that does not
    give one number."""
    if not plan.sql_rules:
        return []
    from pyspark.errors import PySparkException
    from pyspark.sql.types import BooleanType, NullType, NumericType

    from dc43.quality.sql_rules import other_tables
    from dc43.spark.metrics import sql_query

    label = f"contract {contract.id}@{contract.version}"
    problems = []
    with plan.batch_view(spark.createDataFrame([], schema)) as view:
        for rule in plan.sql_rules:
            try:
                with quiet_analysis():
                    fields = spark.sql(sql_query(rule, view)).schema.fields
            except PySparkException as exc:
                names = [n for n in rule.params.get("tables", ()) if n]
                others = other_tables(rule.params["query"], names)
                hint = (f" It reads {', '.join(repr(t) for t in others)}, which is not the batch: a SQL rule runs on "
                        f"the batch being written; name it {' or '.join(repr(n) for n in names)} or ${{object}}."
                        if others else " Fix the query; the batch is ${object}" +
                        (f" (or {' or '.join(repr(n) for n in names)})." if names else "."))
                problems.append(ContractFormatError(label, rule.key, "its query does not compile: "
                                                    f"{str(exc).strip().splitlines()[0]}{hint}"))
                continue
            if len(fields) != 1 or not isinstance(fields[0].dataType, (NumericType, BooleanType, NullType)):
                shown = ", ".join(f"{f.name} {f.dataType.simpleString()}" for f in fields)
                problems.append(ContractFormatError(label, rule.key, f"its query returns ({shown}), not one number; "
                                                    "make it return one numeric value, e.g. SELECT COUNT(*) FROM "
                                                    "${object} WHERE ..."))
    return problems


def routed_metrics(plan: Any) -> frozenset[str]:
    """Metrics of the error rules whose failing rows can be routed one by one."""
    return frozenset(f"violations.{key}" for key, severity, _ in plan.row_flags if severity == "error")


def check_routing(writer: Any, strategy: Any, rejection: Any) -> None:
    if rejection is not None and not writer.routes_rows:
        raise InvalidArgumentError(f"a rejection_sink needs a writer that routes rows: pass observation_writer='inline' "
                        f"(observation writer '{writer.name}' cannot)")
    if getattr(strategy, "reroutes", False) and rejection is None:
        raise InvalidArgumentError(f"strategy {type(strategy).__name__} reroutes batches: pass rejection_sink=... and "
                        "observation_writer='inline'")


def register_port(products: Any, kind: str, binding: Any, contract: Any, result: ValidationResult) -> None:
    """Bind the data-product port named by ``binding`` to ``contract``; say what changed."""
    if binding is None:
        return
    from dc43.products import DataProductInputBinding, DataProductOutputBinding, Port

    if kind == "input":
        bound = DataProductInputBinding.coerce(binding)
        port = Port(bound.port_for(contract), contract.id, contract.version,
                    bound.source_data_product, bound.source_output_port)
    else:
        bound = DataProductOutputBinding.coerce(binding)
        port = Port(bound.port_for(contract), contract.id, contract.version)
    registration = service("data_product", products).register_port(bound.data_product, kind, port)
    result.details["data_product"] = registration.to_dict()


def expectations_of(dq: Any, contract: Any) -> list[Expectation]:
    return [Expectation.coerce(e) for e in dq.describe_expectations(contract=contract) or []]


def run_listeners(df: DataFrame, inputs: Callable[[], Sequence[DatasetRef]], *, target: DatasetTarget,
                  contract: Any, streaming: bool, expectations: Any, rejection: Any, context: Mapping[str, Any] | None,
                  result: ValidationResult, own: Sequence[tuple[str, Any]] = ()) -> RunListeners | None:
    """The installed run listeners with something to do for this write, and the write's ``own``
    (its alerts); ``None`` when there is none. ``inputs`` is called only when there is one."""
    active = [*active_listeners(get_plugin_manager()), *own]
    if not active:
        return None

    def report(key: str, value: Any) -> None:
        result.details[key] = value

    run = WriteRun(
        dataset_id=target.dataset_id, output=_dataset_ref(target), inputs=tuple(inputs()), contract=contract,
        streaming=streaming, job=job_name(target.dataset_id, target.options, context),
        expectations=tuple(expectations), rejection=_dataset_ref(rejection[1]) if rejection else None,
        pipeline_context=redact(dict(context or {})), spark=df.sparkSession, report=report)
    return RunListeners(run, active)


def _dataset_ref(target: DatasetTarget) -> DatasetRef:
    from dc43.spark.sources import IDENTIFYING_OPTIONS

    options = {k: str(v) for k, v in target.options.items() if k in IDENTIFYING_OPTIONS}
    host = getattr(target.server, "host", None)
    if target.format == "kafka" and host and "kafka.bootstrap.servers" not in options:
        options["kafka.bootstrap.servers"] = str(host)
    return DatasetRef(format=target.format, path=target.path, table=target.table, options=options)


def _local(uri: str) -> str:
    """A file URI or path as a normalised path (other schemes kept whole)."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        import os

        return os.path.normpath(os.path.abspath(unquote(parsed.path) if parsed.scheme else uri))
    return uri.rstrip("/")


def safe_to_overwrite(df: DataFrame, *, path: str | None, table: str | None, mode: str,
                      dataset_id: str) -> DataFrame:
    """``df``, materialised first when overwriting ``path`` or ``table`` would delete what it reads.

    Spark reads lazily: an overwrite deletes the target's files before the rows read from them
    are written back. The rows are checkpointed on the executors first; a session that cannot
    checkpoint refuses the write before anything is deleted.
    """
    if str(mode).lower() != "overwrite" or df.isStreaming or not (path or table):
        return df
    try:
        reads = {_local(f) for f in df.inputFiles()}
        if table:
            targets = {_local(f) for f in df.sparkSession.read.table(table).inputFiles()}
            overlaps = bool(reads & targets)
        else:
            root = _local(path)
            overlaps = any(f == root or f.startswith(root.rstrip("/") + "/") for f in reads)
    except Exception:  # a target that does not exist yet, or a source without files: nothing to lose
        return df
    if not overlaps:
        return df
    try:
        return df.localCheckpoint(eager=True)
    except Exception as exc:
        raise InvalidArgumentError(
            f"'{dataset_id}' would be overwritten with rows read from it, and this session cannot checkpoint "
            f"them first ({type(exc).__name__}: {exc}); nothing was deleted. Write to another location, or "
            "read the data into a new location first") from exc
