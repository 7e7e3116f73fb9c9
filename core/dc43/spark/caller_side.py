"""What stays with the caller of a streaming write: the live result and its callbacks.

The batch side (:mod:`dc43.spark.batch_side`) judges each micro-batch wherever Spark runs
it and sends the outcome back through a link (:mod:`dc43.spark.links`).  Here,
:class:`CallerSide` applies each outcome to the caller's ``ValidationResult`` (and the
``status`` of ``return_status=True``), keeps the timeline, calls ``on_streaming_batch``,
and remembers why the batch side stopped the write.  The queries a write returns wrap the
Spark queries (:mod:`dc43.spark.caller_queries`): waiting on one brings the result up to
date first and raises dc43's error when a micro-batch stopped the write.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dc43.quality.volume as volume
from dc43.contracts.sla import is_lag
from dc43.errors import Dc43Error
from dc43.redaction import redact_text
from dc43.results import ValidationResult
from dc43.spark.links import SessionLinkReader, apply_verdict, unpack_state

if TYPE_CHECKING:  # pragma: no cover - typing only
    from dc43.runs import RunListeners
    from dc43.spark.caller_queries import EnforcedQuery, QueryEvents

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCHES = 100
#: how many micro-batches a sink may run ahead of its observation query, by default
DEFAULT_MAX_LAG = 100
#: how long waiting on a query lets the write's listeners handle its latest events
CATCH_UP_S = 60.0
#: how often the thread telling run listeners about a write's end asks whether its queries ended
END_POLL_S = 5.0


def _adds_up(metric: str) -> bool:
    """Whether ``metric`` adds up over batches: counts do; a lag or a volume measure is the batch's own."""
    return not is_lag(metric) and metric.split(".", 1)[-1].split(":", 1)[0] not in volume.RULES

class CallerSide:
    """The caller's view of one streaming write; every update happens under one lock."""

    def __init__(self, *, result: ValidationResult, status: ValidationResult, strategy: Any,
                 on_batch: Callable[[dict[str, Any]], None] | None = None,
                 max_batches: int = DEFAULT_MAX_BATCHES, max_lag: int | None = DEFAULT_MAX_LAG) -> None:
        self.result = result
        self.status = status
        self.strategy = strategy
        self.on_batch = on_batch
        #: how many micro-batches the sinks may run ahead of the judged ones (None: no bound)
        self.max_lag = max_lag
        #: queries the batch side may stop (sinks started beside the observation)
        self.sinks: list[Any] = []
        self._queries: list[Any] = []
        #: whether some of the queries are sinks judged by another query (the lag can grow)
        self._observed_apart = False
        self._lock = threading.Lock()
        self._progress = threading.Condition()
        self._batches: collections.deque = collections.deque(maxlen=max_batches)
        self._totals: dict[str, int] = {}
        self._schema_errors = list(result.errors)
        self._schema_warnings = list(result.warnings)
        self._last_batch = -1
        self._failure: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._reader: SessionLinkReader | None = None
        #: the listeners this write added to the session (each removes itself when its queries end)
        self.listeners: list[QueryEvents] = []
        #: those of them that judge batches (the ``observe`` writer's): waiting on a query waits for them
        self.judges: list[QueryEvents] = []
        self._commits: tuple[Callable[[], Mapping[int, Any]], Callable[[dict[str, Any], dict[str, Any]], None]] | None = None
        self._unversioned: dict[int, dict[str, Any]] = {}  # judged batches whose sink commit is not known yet
        self._resolving = threading.Lock()
        #: the write's run listeners (lineage), told of each judged batch and of the end
        self.runs: RunListeners | None = None
        self._stopping: set[str] = set()  # ids of dc43's queries the caller is stopping
        self._held: set[str] = set()  # those of them whose next micro-batch waits for the stop

    def __repr__(self) -> str:
        return f"CallerSide({self.result.details.get('dataset_id')!r}, judged up to batch {self._last_batch})"

    # -- what the batch side sends -----------------------------------------
    def receive(self, message: Mapping[str, Any]) -> None:
        """Apply one message from the batch side."""
        if "failure" in message:
            self.failed(message["failure"])
            return
        if "recorded" in message:  # governance took a verdict that waited in the outbox
            self._recorded(message["recorded"])
            return
        if "committed" in message:  # what the judged batch's write committed
            self._committed(message["committed"])
            return
        entry, verdict = dict(message["entry"]), message.get("verdict")
        with self._lock:
            self._keep(entry, late=bool(message.get("late")))
            details = self.result.details
            details["streaming_batches"] = list(self._batches)
            details["latest_dataset_version"] = entry["dataset_version"]
            if verdict is not None:
                for key, value in verdict["metrics"].items():
                    if _adds_up(key):
                        self._totals[key] = self._totals.get(key, 0) + int(value or 0)
                details["streaming_metrics"] = dict(verdict["metrics"])
                details["streaming_totals"] = dict(self._totals)
                apply_verdict(self.status, verdict)
                apply_verdict(self.result, verdict, self._schema_errors, self._schema_warnings)
                if verdict["status"] == "block":
                    details["streaming_failed_batches"] = details.get("streaming_failed_batches", 0) + 1
            if entry.get("action") == "block":
                details["streaming_intervention_reason"] = entry["intervention"]
                details["streaming_intervention_batch"] = entry["batch_id"]
            elif entry.get("action") == "reroute" and "streaming_rerouted_at_batch" not in details:
                details["streaming_rerouted_at_batch"] = entry["batch_id"]
                details["streaming_reroute_reason"] = entry["intervention"]
            self.status.details.update(
                {k: details[k] for k in ("dataset_id", "dataset_version", "latest_dataset_version") if k in details})
            unpack_state(self.strategy, message.get("strategy"))
            if self._commits is not None and verdict is not None and "commit" not in entry:
                self._unversioned[entry["batch_id"]] = entry
        self._notify(entry)
        if self.runs is not None:
            self.runs.batch(entry, verdict)
        with self._progress:
            self._last_batch = max(self._last_batch, entry["batch_id"])
            self._progress.notify_all()
        if self._reader is None and self._observed_apart:
            self._check_sinks()
        self.resolve_commits()

    def track_commits(self, read: Callable[[], Mapping[int, Any]],
                      record: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
        """Keep what the sink committed with each verdict: ``read()`` says it by batch id,
        ``record(entry, commit)`` keeps it (for sinks Spark writes, not the batch side)."""
        self._commits = (read, record)

    def resolve_commits(self) -> None:
        """Give the judged batches whose sink commit is now known their commit."""
        if self._commits is None or not self._unversioned:
            return
        read, record = self._commits
        with self._resolving:
            try:
                found = read()
            except Exception:  # not knowing a version must never stop the stream: said, tried again later
                log.exception("could not read what the sink of '%s' committed", self.result.details.get("dataset_id"))
                return
            for batch_id in sorted(set(self._unversioned) & set(found)):
                record(self._unversioned.pop(batch_id), {"sink": dict(found[batch_id])})

    def _keep(self, entry: dict[str, Any], *, late: bool) -> None:
        """Put ``entry`` on the timeline; a late verdict replaces the batch's earlier entry."""
        if late:
            for index, kept in enumerate(self._batches):
                if kept["batch_id"] == entry["batch_id"] and kept["dataset_version"] == entry["dataset_version"]:
                    self._batches[index] = entry
                    return
        self._batches.append(entry)

    def _recorded(self, recorded: Mapping[str, Any]) -> None:
        with self._lock:
            for entry in self._batches:
                if (entry["batch_id"], entry["dataset_version"]) == (recorded["batch_id"], recorded["dataset_version"]):
                    pending = [p for p in entry.get("pending", []) if p != "governance"]
                    if pending:
                        entry["pending"] = pending
                    else:
                        entry.pop("pending", None)
            self.result.details["streaming_batches"] = list(self._batches)

    def _committed(self, committed: Mapping[str, Any]) -> None:
        with self._lock:
            for entry in self._batches:
                if (entry["batch_id"], entry["dataset_version"]) == (committed["batch_id"], committed["dataset_version"]):
                    entry["commit"] = dict(committed["commit"])
            self.result.details["streaming_batches"] = list(self._batches)

    def failed(self, failure: Mapping[str, Any], exc: BaseException | None = None) -> None:
        """Record why the batch side stopped the write (``details["streaming_error"]``). The first
        failure stands: a batch the sink committed before it stopped may fail too (``observe``
        judges after the commit), but the write stopped at the first."""
        with self._lock:
            if self._failure is not None:
                return
            self.result.details["streaming_error"] = f"{failure['name']}: {failure['message']}"
            self._failure, self._error = dict(failure), exc
        with self._progress:
            self._progress.notify_all()

    def stop_sinks(self) -> None:
        _stop(self.sinks)

    def stopping_any(self) -> bool:
        """Whether the caller is stopping one of dc43's queries of this write."""
        return bool(self._stopping)

    def holds_for_stop(self, query_id: str) -> bool:
        """Whether the next micro-batch of ``query_id`` must wait for its stop instead of running;
        it is then counted as held (:meth:`held`)."""
        with self._progress:
            if query_id not in self._stopping:
                return False
            self._held.add(query_id)
            self._progress.notify_all()
            return True

    def _notify(self, entry: dict[str, Any]) -> None:
        if self.on_batch is None:
            return
        try:
            self.on_batch({"type": "batch", **entry})
            if entry.get("action") == "block":
                self.on_batch({"type": "intervention", "batch_id": entry["batch_id"], "reason": entry["intervention"]})
        except Exception:  # a progress callback must never kill the stream
            log.exception("on_streaming_batch callback failed for batch %s", entry["batch_id"])

    # -- what the caller asks ----------------------------------------------
    def stopping(self, query_id: str) -> None:
        """The caller is stopping ``query_id``: its next micro-batch waits instead of starting."""
        with self._progress:
            self._stopping.add(query_id)

    def held(self, query_id: str) -> bool:
        """Whether a micro-batch of ``query_id`` is waiting for the stop (none of it ran)."""
        with self._progress:
            return query_id in self._held

    def read_through(self, reader: SessionLinkReader) -> None:
        """Messages arrive through ``reader`` (Spark Connect) rather than as calls."""
        self._reader = reader

    def sync(self) -> None:
        """Apply whatever the batch side sent and this side has not seen yet."""
        if self._reader is not None:
            self._reader.drain(self.receive)

    def catch_up(self, query: Any, timeout: float = CATCH_UP_S) -> None:
        """Let the listeners that judge this write's batches handle what ``query`` posted before
        its wait returned; say so when they take longer than ``timeout``."""
        for events in self.judges:
            if not events.caught_up(query, timeout):
                log.warning("the listener of '%s' has not handled query %s's latest events after %.0f s: "
                            "verdicts may still arrive", self.result.details.get("dataset_id"),
                            getattr(query, "name", query), timeout)

    def wait_for_batch(self, batch_id: int, timeout: float) -> bool:
        """Block until ``batch_id`` (or a later batch) was judged; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.sync()
            with self._progress:
                if self._last_batch >= batch_id:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._progress.wait(min(left, 0.25 if self._reader is not None else left))

    def error(self) -> Dc43Error | None:
        """The error the write stopped with, as the caller raises it; None if it did not stop."""
        with self._lock:
            failure, exc = self._failure, self._error
        if failure is None:
            return None
        from dc43.spark.caller_queries import typed_error

        return typed_error(failure, exc)

    def follow(self, session: Any, queries: Sequence[Any]) -> list[EnforcedQuery]:
        """Handles for the write's ``queries``; on Spark Connect, keep the result live from events."""
        from dc43.spark.caller_queries import EnforcedQuery, QueryEvents

        self._queries = list(queries)
        sink_ids = {str(q.id) for q in self.sinks}
        self._observed_apart = bool(sink_ids) and any(str(q.id) not in sink_ids for q in queries)
        # On classic Spark a Python listener costs tens of py4j calls per progress event, on every
        # query of the session: the lag is checked as batches are judged instead.
        if self._reader is not None:
            events = QueryEvents(session, on_progress=lambda event: self._progress_of(event, sink_ids),
                                 on_end=self._finish)
            self.listeners.append(events)
            events.watch(queries)
        return [EnforcedQuery(query, self) for query in queries]

    def release(self, timeout: float) -> None:
        """Once every query of the write stopped, wait (up to ``timeout`` s) until its event listeners
        are removed: a script ending right after ``stop()`` would leave that to the interpreter's
        shutdown, which Spark Connect's client answers with warnings on stderr."""
        if not self.listeners or any(q.isActive for q in self._queries):
            return
        deadline = time.monotonic() + timeout
        for events in self.listeners:
            events.removed.wait(max(0.0, deadline - time.monotonic()))

    def tell_end(self, queries: Sequence[Any]) -> None:
        """Tell the run listeners when ``queries`` have all ended, even if nobody waits on them (from
        a thread of its own); waiting on a query that ended tells them at once (:meth:`end_run`)."""
        threading.Thread(target=self._await_end, args=(list(queries),), name="dc43-run-end", daemon=True).start()

    def _await_end(self, queries: list[Any]) -> None:
        from pyspark.errors import StreamingQueryException

        for query in queries:
            try:
                while not query.awaitTermination(END_POLL_S):
                    pass
            except StreamingQueryException:  # it failed: end_run reads why
                pass
            except Exception as exc:  # the session is gone
                self.runs.ended(error=f"the Spark session ended before the write's queries did ({type(exc).__name__})")
                return
        try:
            for query in queries:
                self.catch_up(query)
            self.sync()
        except Exception:  # the session is gone: what was heard is all there is
            log.debug("could not read the last messages of '%s'", self.result.details.get("dataset_id"), exc_info=True)
        self.end_run()

    def end_run(self) -> None:
        """Once none of the write's queries runs, tell the run listeners how it ended (once)."""
        if self.runs is None:
            return
        try:
            if any(q.isActive for q in self._queries):
                return
            raised = next((exc for exc in (q.exception() for q in self._queries) if exc is not None), None)
        except Exception as exc:  # the session is gone
            self.runs.ended(error=f"the Spark session ended before the write's queries did ({type(exc).__name__})")
            return
        stopped = self.error()
        failure = stopped if stopped is not None else raised
        self.runs.ended(error=None if failure is None else redact_text(_first_line(failure)))

    def _progress_of(self, event: Any, sink_ids: set[str]) -> None:
        """A query made progress: read what the batch side sent; for a sink, check how far behind
        the judging is."""
        self.sync()
        if str(event.progress.id) in sink_ids:
            self.check_lag(int(event.progress.batchId))

    def is_sink(self, query: Any) -> bool:
        """Whether ``query`` is a sink started beside the observation (no dc43 code runs in it)."""
        return any(str(sink.id) == str(query.id) for sink in self.sinks)

    def waited_on(self, query: Any) -> None:
        """The caller waited on ``query``: if it is a sink, see how far behind the judging is."""
        progress = query.lastProgress if self.is_sink(query) else None
        if progress and self._observed_apart:
            self.check_lag(int(progress["batchId"]))

    def _check_sinks(self) -> None:
        """A batch was judged in this process: see how far the sinks are ahead (their last progress)."""
        batches = [int(p["batchId"]) for p in (sink.lastProgress for sink in self.sinks) if p]
        if batches:
            self.check_lag(max(batches))

    def check_lag(self, sink_batch: int) -> None:
        """Report how many micro-batches the sinks are ahead of the judging; stop them past the bound."""
        with self._progress:
            judged = self._last_batch
        behind = max(0, sink_batch - judged)
        with self._lock:
            self.result.details["observation_lag"] = {"sink_batch": sink_batch, "judged_batch": judged,
                                                      "behind": behind}
        if self.max_lag is not None and behind > self.max_lag and self._failure is None:
            from dc43.errors import ObservationLagError
            from dc43.spark.links import failure_of

            exc = ObservationLagError(
                f"the sink of '{self.result.details.get('dataset_id')}' is {behind} micro-batches ahead of the "
                f"judged ones (more than max_observation_lag={self.max_lag}): batches are written faster than "
                "they are judged, so the write was stopped. Use observation_writer='inline' (judged before "
                "they are written) or 'observe', a processingTime trigger, or a larger max_observation_lag")
            self.failed(failure_of(exc, sink_batch), exc)
            threading.Thread(target=_stop, args=(self._queries,), name="dc43-lag-stop", daemon=True).start()

    def _finish(self) -> None:
        self.sync()
        if self._reader is not None:
            self._reader.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _stop(queries: Sequence[Any]) -> None:
    """Stop every query, logging (not raising) the ones that refuse: the reason to stop matters more."""
    for query in queries:
        try:
            query.stop()
        except Exception:
            log.exception("could not stop query %s", getattr(query, "name", query))
