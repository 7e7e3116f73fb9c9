"""Observation writers: how a streaming write's micro-batches get measured.

A writer starts the sink query itself (through the format adapter) plus
whatever it needs to measure each micro-batch, and returns every query it
started.  Writers are single-use: :meth:`ObservationWriter.start` runs once.

``foreach-batch`` (the default)
    a dedicated ``foreachBatch`` query beside the sink, one aggregation per batch.
``observe``
    the metrics ride the sink's own pass through ``DataFrame.observe``; a
    ``StreamingQueryListener`` hands them to the monitor.  The source is read
    once, no second query runs; rules that count distinct values (uniqueness,
    duplicates) are not checked, and verdicts arrive just after the sink
    committed the batch.
``inline``
    a gate: one ``foreachBatch`` query measures each batch and asks the
    strategy before anything is published, so a blocked batch never reaches
    the sink.  File sinks stage the batch while measuring it in the same read
    and publish it on the verdict; other sinks are written after it.  With a
    rejection sink, rows breaking an error rule go there (with the rules they
    broke) and the rest to the main sink; a ``reroute`` decision sends whole
    batches to the rejection sink.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from dc43.errors import Dc43Error
from dc43.formats import DatasetFormat, DatasetTarget
from dc43.spark.metrics import CompiledPlan
from dc43.spark.monitor import BatchMonitor

log = logging.getLogger(__name__)


@attrs.frozen
class ObservationRequest:
    """Everything a writer needs to run and observe one streaming write."""

    source: Any  # the streaming DataFrame as given to the helper (before alignment)
    sink_columns: Sequence[Any] | None  # the aligned projection, None to write source as is
    plan: CompiledPlan
    monitor: BatchMonitor
    adapter: DatasetFormat
    target: DatasetTarget
    mode: str = "append"
    trigger: Mapping[str, Any] | None = None
    rejection: tuple[DatasetFormat, DatasetTarget] | None = None

    def sink_frame(self, df: Any = None) -> Any:
        """``df`` (default: the source) projected to the contract's columns."""
        df = self.source if df is None else df
        return df.select(*self.sink_columns) if self.sink_columns is not None else df

    def start_sink(self, df: Any) -> Any:
        query = self.adapter.write_stream(df, self.target, mode=self.mode, trigger=self.trigger)
        self.monitor.sinks.append(query)
        return query


class ObservationWriter:
    """Base class: start the sink and the observation, return the queries started."""

    name = ""
    #: whether the writer can count distinct values exactly (False: such rules are left out)
    exact_distinct = True
    #: whether the writer routes rows itself (rejection sinks, ``reroute`` decisions)
    routes_rows = False

    def __init__(self) -> None:
        self._started = False

    def start(self, request: ObservationRequest) -> list[Any]:
        if self._started:
            raise Dc43Error(
                f"observation writer '{self.name}' was already started; writers are single-use, "
                "create a new one for every streaming write"
            )
        self._started = True
        return self._start(request)

    def _start(self, request: ObservationRequest) -> list[Any]:
        raise NotImplementedError


def _one_job_per_aggregation(batch_df: Any) -> None:
    """Turn adaptive execution off in the query's own (cloned) session.

    AQE runs each shuffle stage of the metric aggregation as a separate Spark job
    (two for a global aggregation); on a micro-batch that only adds scheduling
    latency.  The setting stays inside this streaming query's session.
    """
    batch_df.sparkSession.conf.set("spark.sql.adaptive.enabled", "false")


def observation_checkpoint(sink_checkpoint: str | None) -> str | None:
    """The observation query's checkpoint: a sibling of the sink's, when it has one."""
    if not sink_checkpoint:
        return None
    return sink_checkpoint.rstrip("/") + "_dc43_observations"


class ForeachBatchObservationWriter(ObservationWriter):
    """A dedicated ``foreachBatch`` query computing every metric in one aggregation."""

    name = "foreach-batch"

    def _start(self, request: ObservationRequest) -> list[Any]:
        plan, monitor = request.plan, request.monitor
        sink = request.start_sink(request.sink_frame())

        def observe(batch_df: Any, batch_id: int) -> None:
            _one_job_per_aggregation(batch_df)
            monitor.process(batch_id, plan.measure(batch_df))

        writer = (request.source.writeStream.queryName(f"dc43_observations_{uuid.uuid4().hex[:8]}")
                  .foreachBatch(observe))
        checkpoint = observation_checkpoint(request.target.options.get("checkpointLocation"))
        if checkpoint:
            writer = writer.option("checkpointLocation", checkpoint)
        if request.trigger:
            writer = writer.trigger(**request.trigger)
        try:
            return [sink, writer.start()]
        except Exception:
            sink.stop()
            raise


class ObserveObservationWriter(ObservationWriter):
    """Metrics computed by the sink's own pass (``DataFrame.observe``), no second query."""

    name = "observe"
    exact_distinct = False

    def _start(self, request: ObservationRequest) -> list[Any]:
        if request.plan.sql_rules:
            raise Dc43Error(
                "the 'observe' observation writer cannot run SQL quality rules (they need a second "
                "pass over the batch); use observation_writer='foreach-batch' for this contract"
            )
        from pyspark.sql.streaming import StreamingQueryListener

        name = f"dc43_observe_{uuid.uuid4().hex[:12]}"
        plan, monitor = request.plan, request.monitor
        observed = request.source.observe(name, *plan.aggregations)
        spark = request.source.sparkSession

        class _Listener(StreamingQueryListener):
            def onQueryStarted(self, event: Any) -> None:
                pass

            def onQueryProgress(self, event: Any) -> None:
                row = (event.progress.observedMetrics or {}).get(name)
                if row is None:
                    return
                try:
                    monitor.process(event.progress.batchId, plan.metrics_from_row(row))
                except Dc43Error:
                    pass  # the monitor recorded it and stopped the sinks
                except Exception as exc:  # the listener cannot fail the query: record it
                    monitor.fail(exc)

            def onQueryIdle(self, event: Any) -> None:
                pass

            def onQueryTerminated(self, event: Any) -> None:
                if sink is not None and str(event.id) == str(sink.id):
                    spark.streams.removeListener(listener)

        sink = None
        listener = _Listener()
        spark.streams.addListener(listener)
        try:
            sink = request.start_sink(request.sink_frame(observed))
        except Exception:
            spark.streams.removeListener(listener)
            raise
        return [sink]


def _batch_writer(query_name: str, request: ObservationRequest, process: Any) -> Any:
    writer = request.source.writeStream.queryName(query_name).foreachBatch(process)
    checkpoint = request.target.options.get("checkpointLocation")
    if checkpoint:
        writer = writer.option("checkpointLocation", checkpoint)
    if request.trigger:
        writer = writer.trigger(**request.trigger)
    return writer.start()


class InlineObservationWriter(ObservationWriter):
    """Judges each micro-batch before anything is written: the pre-commit gate."""

    name = "inline"
    routes_rows = True

    def _start(self, request: ObservationRequest) -> list[Any]:
        from pyspark.sql import functions as F

        from dc43.formats import REJECTED_RULES_COLUMN
        from dc43.spark.metrics import FLAGS_COLUMN

        plan, monitor = request.plan, request.monitor
        main_adapter, main_target = request.adapter, request.target
        cache = bool(plan.sql_rules)  # else the write re-reads the source: cheaper than a cache

        def judge_and_write(batch_df: Any, batch_id: int) -> None:
            _one_job_per_aggregation(batch_df)
            if _stage_in_one_pass(request, batch_df, batch_id):
                return
            batch = batch_df.persist() if cache else batch_df
            try:
                entry = monitor.process(batch_id, plan.measure(batch))  # raises: nothing written
                if entry["status"] != "idle":
                    main_adapter.write_micro_batch(request.sink_frame(batch), main_target, batch_id=batch_id)
            finally:
                if cache:
                    batch.unpersist()

        def judge_and_route(batch_df: Any, batch_id: int) -> None:
            _one_job_per_aggregation(batch_df)
            if _stage_in_one_pass(request, batch_df, batch_id):
                return
            # Every predicate is evaluated once: the flags are cached with the aligned columns.
            projection = request.sink_columns or [F.col(f"`{c}`") for c in batch_df.columns]
            flagged = plan.flag_frame(batch_df, projection).persist()
            try:
                entry = monitor.process(batch_id, plan.measure_flagged(flagged))  # raises: nothing written
                if entry["status"] == "idle":
                    return
                reject_adapter, reject_target = request.rejection
                broken = plan.error_rules(F.col(FLAGS_COLUMN))
                if entry.get("action") == "reroute":
                    rerouted = flagged.withColumn(REJECTED_RULES_COLUMN,
                                                  F.array_union(broken, F.array(F.lit("rerouted"))))
                    reject_adapter.write_micro_batch(rerouted.drop(FLAGS_COLUMN), reject_target, batch_id=batch_id)
                    return
                if not any(entry.get("metrics", {}).get(metric) for metric in monitor.routed):
                    main_adapter.write_micro_batch(flagged.drop(FLAGS_COLUMN), main_target, batch_id=batch_id)
                    return  # no row breaks a routed rule: nothing to split
                split = flagged.withColumn(REJECTED_RULES_COLUMN, broken).drop(FLAGS_COLUMN)
                is_rejected = F.size(F.col(REJECTED_RULES_COLUMN)) > 0
                reject_adapter.write_micro_batch(split.filter(is_rejected), reject_target, batch_id=batch_id)
                main_adapter.write_micro_batch(split.filter(~is_rejected).drop(REJECTED_RULES_COLUMN),
                                               main_target, batch_id=batch_id)
            finally:
                flagged.unpersist()

        process = judge_and_route if request.rejection is not None else judge_and_write
        # Not in monitor.sinks: stopping a query from its own foreachBatch would wait on
        # itself; raising from process() is what stops it.
        return [_batch_writer(f"dc43_inline_{uuid.uuid4().hex[:8]}", request, process)]


def _in_parallel(work: Any, measure: Any) -> tuple[Any, Any]:
    """Run ``work()`` on an inheritable thread (same job group) while ``measure()`` runs here."""
    from pyspark import InheritableThread

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # re-raised on the batch's thread below
            outcome["error"] = exc

    thread = InheritableThread(target=run, name="dc43-stage")
    thread.start()
    try:
        metrics = measure()
    finally:
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], metrics


def _observed(observation: Any, keys: Sequence[str]) -> dict[str, int]:
    values = observation.get
    return {key: int(values[f"_o{n}"] or 0) for n, key in enumerate(keys)}


def _can_stage(request: ObservationRequest) -> bool:
    adapter, plan = request.adapter, request.plan
    return (not plan.sql_rules and not request.target.table
            and (request.rejection is None or plan.maskable)
            and type(adapter).stage_micro_batch is not DatasetFormat.stage_micro_batch)


def _stage_in_one_pass(request: ObservationRequest, batch_df: Any, batch_id: int) -> bool:
    """Stage the batch and measure it in the same read, then publish it or drop it on the verdict.

    The row-level metrics ride the staged write (``DataFrame.observe``); set-level rules
    (uniqueness, duplicates) run beside it on a second thread, reading only their columns.
    With a rejection sink every row gets a bit mask of the rules it breaks and is staged
    under its route (the mask's error bits), so one write holds both sinks' rows.
    False (nothing done) when the sink cannot stage.
    """
    if not _can_stage(request):
        return False
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from dc43.spark.metrics import MASK_COLUMN, ROUTE_COLUMN

    plan, observation = request.plan, Observation()
    if request.rejection is None:
        keys, aggregations = plan.row_level
        frame, route = request.sink_frame(batch_df.observe(observation, *_named(aggregations))), None
    else:
        projection = request.sink_columns or [F.col(f"`{c}`") for c in batch_df.columns]
        mask = F.col(MASK_COLUMN)
        keys, aggregations = plan.mask_aggregations(mask)
        frame = (batch_df.select(*projection, plan.flag_mask().alias(MASK_COLUMN))
                 .observe(observation, *_named(aggregations))
                 .withColumn(ROUTE_COLUMN, mask.bitwiseAND(F.lit(plan.error_bits()))).drop(MASK_COLUMN))
        route = ROUTE_COLUMN
        # one open file per route and task instead of sorting the batch by route
        batch_df.sparkSession.conf.set("spark.sql.maxConcurrentOutputFileWriters", "16")

    def stage() -> Any:
        return request.adapter.stage_micro_batch(frame, request.target, batch_id=batch_id, route_column=route)

    if plan.set_level:
        staged, set_level = _in_parallel(stage, lambda: plan.measure_set_level(batch_df))
    else:
        staged, set_level = stage(), {}
    if staged is None:  # the format declined: measure, then write the batch after the verdict
        return False
    _publish(request, batch_id, {**_observed(observation, keys), **set_level}, staged)
    return True


def _named(aggregations: Sequence[Any]) -> list[Any]:
    return [a.alias(f"_o{n}") for n, a in enumerate(aggregations)]


def _publish(request: ObservationRequest, batch_id: int, metrics: Mapping[str, int], staged: Any) -> None:
    """Judge the batch, then publish its staged rows (rejected ones to the rejection sink) or drop them."""
    try:
        entry = request.monitor.process(batch_id, metrics)  # raises: the staged files go
        if entry["status"] == "idle":
            staged.abort()
            return
        if request.rejection is not None:
            _publish_rejected(request, batch_id, entry, staged)
            if entry.get("action") == "reroute":
                staged.abort()
                return
    except BaseException:
        staged.abort()
        raise
    staged.commit()


def _publish_rejected(request: ObservationRequest, batch_id: int, entry: Mapping[str, Any], staged: Any) -> None:
    """Send the staged rows breaking error rules (every row, on ``reroute``) to the rejection sink."""
    from pyspark.sql import functions as F

    from dc43.formats import REJECTED_RULES_COLUMN
    from dc43.spark.metrics import ROUTE_COLUMN

    plan, (adapter, target) = request.plan, request.rejection
    rules = plan.rules_of(F.col(ROUTE_COLUMN))
    if entry.get("action") == "reroute":
        rows, rules = staged.read(rejected_only=False), F.array_union(rules, F.array(F.lit("rerouted")))
    elif any(entry.get("metrics", {}).get(metric) for metric in request.monitor.routed):
        rows = staged.read(rejected_only=True)
    else:
        return  # no row breaks a routed rule
    adapter.write_micro_batch(rows.withColumn(REJECTED_RULES_COLUMN, rules).drop(ROUTE_COLUMN), target,
                              batch_id=batch_id)
