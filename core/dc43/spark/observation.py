"""Observation writers: how a streaming write's micro-batches get measured.

A writer starts the sink query itself (through the format adapter) plus whatever it
needs to measure each micro-batch, and returns every query it started.  Writers are
single-use: :meth:`ObservationWriter.start` runs once.  Starting queries is the caller's
side; what runs beside each batch is a picklable batch side
(:meth:`ObservationRequest.batch_side`), so every writer works on classic Spark, on a
standalone cluster and on Spark Connect alike.

``foreach-batch`` (the default)
    a dedicated ``foreachBatch`` query beside the sink, one aggregation per batch.
``observe``
    the metrics ride the sink's own pass through ``DataFrame.observe``; a
    ``StreamingQueryListener`` on the caller's side judges them.  The source is read
    once, no second query runs; rules that count distinct values (uniqueness,
    duplicates) are not checked, and verdicts arrive just after the sink committed
    the batch.
``inline``
    a gate: one ``foreachBatch`` query measures each batch and asks the strategy
    before anything is published, so a blocked batch never reaches the sink
    (:mod:`dc43.spark.batch_gate`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from dc43.errors import Dc43Error
from dc43.formats import DatasetFormat, DatasetTarget
from dc43.quality.plan import ROW_COUNT
from dc43.spark.batch_side import BatchSide
from dc43.spark.caller_queries import QueryEvents
from dc43.spark.caller_side import CallerSide
from dc43.spark.checkpoints import logged_batches, query_id
from dc43.spark.links import InProcessLink, SessionLink, SessionLinkReader
from dc43.spark.topology import is_connect

log = logging.getLogger(__name__)


@attrs.frozen
class ObservationRequest:
    """Everything a writer needs to run and observe one streaming write."""

    source: Any  # the streaming DataFrame as given to the helper (before alignment)
    side: BatchSide  # what judges each batch; link it with batch_side()
    caller: CallerSide  # the live result this write updates
    adapter: DatasetFormat
    target: DatasetTarget
    mode: str = "append"
    trigger: Mapping[str, Any] | None = None
    rejection: tuple[DatasetFormat, DatasetTarget] | None = None

    @property
    def plan(self) -> Any:
        """The compiled plan, in the caller's process."""
        return self.side.plan

    @property
    def session(self) -> Any:
        return self.source.sparkSession

    def sink_frame(self, df: Any = None) -> Any:
        """``df`` (default: the source) projected to the contract's columns."""
        return self.side.spec.sink_frame(self.source if df is None else df)

    def start_sink(self, df: Any) -> Any:
        """Start the sink query; the batch side stops it when the write must stop."""
        query = self.adapter.write_stream(df, self.target, mode=self.mode, trigger=self.trigger)
        self.caller.sinks.append(query)
        return query

    def track_commits(self, sink: Any) -> None:
        """When the sink's format can say what each batch committed, keep it with the verdicts."""
        if type(self.adapter).sink_commits is DatasetFormat.sink_commits or not isinstance(self.adapter, DatasetFormat):
            return
        side, session, query_id = self.judge_here(), self.session, str(sink.id)
        self.caller.track_commits(lambda: self.adapter.sink_commits(session, self.target, query_id),
                                  lambda entry, commit: side.record_commit(None, entry, commit))

    def batch_side(self, checkpoint: str | None = None) -> BatchSide:
        """The batch side to call from ``foreachBatch`` (picklable), linked to the caller.

        ``checkpoint``: that of the query calling it (default: the write's), where the keys
        checked across batches find their history again after a restart. Call it after
        starting the sinks, which it stops when the write must stop.
        """
        checkpoint = checkpoint or self.target.options.get("checkpointLocation")
        if not is_connect(self.session):
            return self.side.linked(InProcessLink(self.caller), checkpoint)
        link = SessionLink.new(str(query.id) for query in self.caller.sinks)
        self.caller.read_through(SessionLinkReader(self.session, link.token))
        return self.side.linked(link, checkpoint)

    def judge_here(self, checkpoint: str | None = None) -> BatchSide:
        """A batch side for judging in the caller's process (from a listener), for the query on ``checkpoint``."""
        return self.side.linked(InProcessLink(self.caller), checkpoint)

    def start_batches(self, name: str, function: Any, *, checkpoint: str | None) -> Any:
        """Start a ``foreachBatch`` query on the source, with the write's trigger."""
        writer = self.source.writeStream.queryName(name).foreachBatch(function)
        if checkpoint:
            writer = writer.option("checkpointLocation", checkpoint)
        if self.trigger:
            writer = writer.trigger(**self.trigger)
        return writer.start()


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


def observation_checkpoint(sink_checkpoint: str | None) -> str | None:
    """The observation query's checkpoint: a sibling of the sink's, when it has one."""
    if not sink_checkpoint:
        return None
    return sink_checkpoint.rstrip("/") + "_dc43_observations"


class ForeachBatchObservationWriter(ObservationWriter):
    """A dedicated ``foreachBatch`` query computing every metric in one aggregation."""

    name = "foreach-batch"

    def _start(self, request: ObservationRequest) -> list[Any]:
        sink = request.start_sink(request.sink_frame())
        request.track_commits(sink)
        checkpoint = observation_checkpoint(request.target.options.get("checkpointLocation"))
        try:
            observer = request.start_batches(f"dc43_observations_{uuid.uuid4().hex[:8]}",
                                             request.batch_side(checkpoint), checkpoint=checkpoint)
        except Exception:
            sink.stop()
            raise
        return [sink, observer]


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
        name = f"dc43_observe_{uuid.uuid4().hex[:12]}"
        checkpoint = request.target.options.get("checkpointLocation")
        plan, side = request.plan, request.judge_here(checkpoint)
        committed = logged_batches(request.session, checkpoint, "commits") if checkpoint else set()
        planned = logged_batches(request.session, checkpoint, "offsets") if checkpoint else set()
        replayed = max(planned) if planned and max(planned) not in committed else None  # run again on restart

        def judge(event: Any) -> None:
            row = (event.progress.observedMetrics or {}).get(name)
            if row is None:  # another query's progress
                return
            side.use_query(str(event.progress.id))  # the listener has no session to read it from the checkpoint
            batch_id, metrics = int(event.progress.batchId), plan.metrics_from_row(row)
            if batch_id == replayed and not metrics[ROW_COUNT]:  # the sink skipped what it had written
                _record_if_unjudged(side, batch_id, SKIPPED)
                return
            try:
                if side.volumes is not None:  # the listener has no session to read the query's id: the event says it
                    side.volumes.open(None, str(event.progress.id))
                side.judge_in(None, batch_id, metrics)
            except Exception as exc:  # a listener cannot fail the query: report it, stop the sinks
                side.report(None, exc, batch_id)

        if committed:  # a restart: the query's id is in its checkpoint already
            side.use_query(query_id(request.session, checkpoint))
        _record_lost_batches(side, committed)
        events = QueryEvents(request.session, on_progress=judge)
        request.caller.listeners.append(events)
        request.caller.judges.append(events)
        try:
            sink = request.start_sink(request.sink_frame(request.source.observe(name, *plan.aggregations)))
        except Exception:
            events.close()
            raise
        request.track_commits(sink)
        events.watch([sink])
        return [sink]


LOST = ("Spark committed this micro-batch, but the driver stopped before the observe writer judged it "
        "(it judges after the commit): its metrics are lost. Use observation_writer='foreach-batch' or "
        "'inline' where every batch must be judged")


SKIPPED = ("Spark replayed this micro-batch after a restart, and the sink skipped it because it had "
           "written it before the driver stopped: nothing was measured, so its verdict is unknown. Use "
           "observation_writer='foreach-batch' or 'inline' where every batch must be judged")


def _judged(side: BatchSide, governance: Any) -> set[int]:
    """The batch ids governance holds a verdict of, for the query judging on ``side`` (or of no
    query: recorded before verdicts named theirs)."""
    mine = side.query_of(None)
    return {v.batch_id for v in governance.verdicts(side.dataset_id) if getattr(v, "query_id", "") in ("", mine)}


def _record_if_unjudged(side: BatchSide, batch_id: int, reason: str) -> None:
    governance = side.governance.get() if side.governance is not None else None
    if governance is None or not hasattr(governance, "verdicts"):
        return
    if batch_id not in _judged(side, governance):
        log.warning("micro-batch %s of '%s': %s", batch_id, side.dataset_id, reason)
        side.record_lost(batch_id, reason)


def _record_lost_batches(side: BatchSide, committed: set[int]) -> None:
    """Give every micro-batch the checkpoint says was ``committed`` a verdict, if it has none yet.

    The observe writer judges a batch from the progress event Spark posts after the commit: a
    driver that died in between left a committed batch without a verdict, which the restart
    does not replay. It is recorded as ``unknown`` (an empty batch, never recorded, is too).
    """
    governance = side.governance.get() if side.governance is not None else None
    if not committed or side.version_template != "{batch_id}" or not hasattr(governance, "verdicts"):
        return
    judged = _judged(side, governance)
    for batch_id in sorted(committed - judged):
        log.warning("micro-batch %s of '%s': %s", batch_id, side.dataset_id, LOST)
        side.record_lost(batch_id, LOST)


class InlineObservationWriter(ObservationWriter):
    """Judges each micro-batch before anything is written: the pre-commit gate."""

    name = "inline"
    routes_rows = True

    def _start(self, request: ObservationRequest) -> list[Any]:
        from dc43.spark.batch_gate import GateBatch

        checkpoint = request.target.options.get("checkpointLocation")
        gate = GateBatch(request.batch_side(checkpoint), request.adapter, request.target, request.rejection)
        # The gate is the sink: raising from it is what stops the write.
        return [request.start_batches(f"dc43_inline_{uuid.uuid4().hex[:8]}", gate, checkpoint=checkpoint)]
