"""The caller's handles on a dc43 write's streaming queries, and the listener behind them.

:class:`EnforcedQuery` is what ``details["streaming_queries"]`` holds: the Spark query's
own API, except that waiting on it brings the write's result up to date first (on Spark
Connect the verdicts arrive through the session) and raises dc43's error when a
micro-batch stopped the write.  Those errors are also pyspark ``StreamingQueryException``
instances, so code catching Spark's error keeps working.
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyspark.errors import PySparkException, StreamingQueryException
from pyspark.sql.streaming import StreamingQueryListener

from dc43.errors import ContractViolationError, Dc43Error, StreamingInterventionError
from dc43.results import ValidationResult
from dc43.spark.links import apply_verdict

log = logging.getLogger(__name__)

#: how long ``stop()`` lets the micro-batch in flight finish
STOP_WAIT_S = 30.0
#: how long ``stop()`` waits for the write's event listeners to be removed once all its queries stopped
RELEASE_WAIT_S = 5.0


class StreamContractViolationError(ContractViolationError, StreamingQueryException):
    """A micro-batch broke the contract under ``enforce=True`` and stopped the write."""


class StreamInterventionError(StreamingInterventionError, StreamingQueryException):
    """The intervention strategy stopped the write."""


class StreamFailedError(Dc43Error, StreamingQueryException):
    """dc43 stopped the write for another reason; ``error_type`` names the original error."""

    def __init__(self, message: str, error_type: str) -> None:
        self.error_type = error_type
        super().__init__(message)


def _dc43_class(path: str) -> type | None:
    module, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None
    return found if isinstance(found, type) and issubclass(found, Dc43Error) else None


def _spark_ready(error: Dc43Error) -> Dc43Error:
    """``error`` with pyspark's own fields set too: an error that is also a ``ValueError`` or
    ``RuntimeError`` stops at their constructor, which leaves pyspark's unset."""
    PySparkException.__init__(error, message=str(error.args[0]) if error.args else "")
    return error


def typed_error(failure: Mapping[str, Any], exc: BaseException | None = None) -> Dc43Error | None:
    """The error a caller gets for ``failure``; None when it is not one of dc43's own."""
    if not failure.get("dc43"):
        return None
    cls = type(exc) if exc is not None else _dc43_class(failure["type"])
    message = failure["message"]
    if cls is not None and issubclass(cls, ContractViolationError):
        validation = getattr(exc, "validation", None)
        if validation is None and failure.get("validation"):
            validation = ValidationResult(status=failure["validation"]["status"])
            apply_verdict(validation, failure["validation"])
        return _spark_ready(StreamContractViolationError(message, validation))
    if cls is not None and issubclass(cls, StreamingInterventionError):
        return _spark_ready(StreamInterventionError(failure.get("reason") or message, batch_id=failure.get("batch_id")))
    if cls is not None:
        try:
            return _spark_ready(_as_query_error(cls)(message))
        except TypeError:  # a constructor that takes more than a message
            pass
    return StreamFailedError(f"{failure['name']}: {message}", failure["type"])


@functools.cache
def _as_query_error(cls: type) -> type:
    """``cls`` that is also a pyspark ``StreamingQueryException`` (as the write's other errors are)."""
    return type(cls.__name__, (cls, StreamingQueryException), {"__module__": cls.__module__,
                                                                "__doc__": cls.__doc__})


class EnforcedQuery:
    """A query a dc43 write started: the Spark query's own API, plus the write's outcome.

    Waiting (``processAllAvailable``, ``awaitTermination``) brings the write's result up to
    date before returning, and raises dc43's error when a micro-batch stopped the write.
    ``spark_query`` is the query itself.
    """

    def __init__(self, query: Any, caller: Any) -> None:
        self.spark_query = query
        self._caller = caller  # the write's dc43.spark.caller_side.CallerSide

    def __getattr__(self, name: str) -> Any:
        return getattr(self.spark_query, name)

    def __repr__(self) -> str:
        return f"EnforcedQuery({self.spark_query.name!r}, id={self.spark_query.id})"

    def processAllAvailable(self) -> None:  # noqa: N802 - pyspark's name
        self._wait(self.spark_query.processAllAvailable)

    def awaitTermination(self, timeout: int | float | None = None) -> bool | None:  # noqa: N802
        query = self.spark_query
        return self._wait(query.awaitTermination if timeout is None else lambda: query.awaitTermination(timeout))

    def exception(self) -> BaseException | None:
        raw = self.spark_query.exception()
        self._caller.sync()
        stopped = self._caller.error() if not self.spark_query.isActive else None
        return stopped or raw

    def stop(self, timeout: float = STOP_WAIT_S) -> None:
        """Stop the query; one running dc43's ``foreachBatch`` stops between micro-batches: the
        batch in flight (up to ``timeout`` seconds) is finished and judged, not interrupted,
        and the next one (on classic Spark and a cluster) waits for the stop without starting.

        Interrupting a Python ``foreachBatch`` inside a Spark job hands the JVM a long error
        text, on which Spark's check for "interrupted by stop" overflows Java's regex stack
        (a 1,024-line ``StackOverflowError`` on stderr).
        """
        query = self.spark_query
        query_id = str(query.id)
        deadline = time.monotonic() + (0 if self._caller.is_sink(query) else timeout)
        if time.monotonic() < deadline:
            self._caller.stopping(query_id)
        while (query.isActive and query.status["isTriggerActive"] and not self._caller.held(query_id)
               and time.monotonic() < deadline):
            time.sleep(0.02)
        query.stop()
        self._caller.catch_up(query)
        self._caller.sync()
        self._caller.resolve_commits()
        self._caller.end_run()
        self._caller.release(RELEASE_WAIT_S)

    def _wait(self, wait: Callable[[], Any]) -> Any:
        try:
            outcome = wait()
        except StreamingQueryException as exc:
            self._caller.catch_up(self.spark_query)
            self._caller.sync()
            self._caller.end_run()
            stopped = self._caller.error()
            if stopped is not None:
                raise stopped from exc
            missing = missing_module_error(exc)
            if missing is not None:
                raise missing from exc
            raise
        self._caller.catch_up(self.spark_query)
        self._caller.sync()
        self._caller.resolve_commits()
        self._caller.waited_on(self.spark_query)
        self._caller.end_run()
        stopped = self._caller.error()
        if stopped is not None and not self.spark_query.isActive:
            raise stopped
        return outcome


def missing_module_error(exc: BaseException) -> Dc43Error | None:
    """A clear error when the server's Python cannot import what the batch side needs (it
    unpickles the batch side when the query starts, on Spark Connect)."""
    text = str(exc)
    marker = "ModuleNotFoundError: No module named "
    if marker not in text:
        return None
    module = text.split(marker, 1)[1].split()[0].strip("'\"")
    return Dc43Error(
        f"the Python that runs foreachBatch on the Spark Connect server cannot import '{module}'. "
        "Install dc43 (and the plugins and modules your strategy and services come from) in the "
        "server's Python (PYSPARK_PYTHON)")


class QueryEvents:
    """Calls back on the progress and the end of some streaming queries of a session.

    It listens from before the queries start (:meth:`watch` names them once started) and
    removes its listener once they have all terminated, from a thread of its own: on Spark
    Connect, removing a listener from inside its callback waits on itself forever.  Spark
    delivers the events after the query moved on: :meth:`caught_up` waits for them.
    """

    def __init__(self, session: Any, *, on_progress: Callable[[Any], None],
                 on_end: Callable[[], None] | None = None) -> None:
        self._session = session
        self._on_progress = on_progress
        self._on_end = on_end
        self._ids: set[str] | None = None  # None until watch(): every progress event is passed on
        self._ended: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._handled = threading.Condition()
        self._last_heard: dict[str, str] = {}  # query id -> timestamp of the last progress handled
        #: set once the listener is removed
        self.removed = threading.Event()
        self._listener = _Listener(self)
        session.streams.addListener(self._listener)

    def watch(self, queries: Sequence[Any]) -> None:
        with self._lock:
            self._ids = {str(q.id) for q in queries}
        if not any(q.isActive for q in queries):  # they ended before their events could be heard
            self._end()

    def _progress(self, event: Any) -> None:
        ids, query_id = self._ids, str(event.progress.id)
        try:
            if ids is None or query_id in ids:
                self._on_progress(event)
        finally:
            with self._handled:
                self._last_heard[query_id] = str(event.progress.timestamp)
                self._handled.notify_all()

    def _terminated(self, event: Any) -> None:
        with self._lock:
            if self._ids is None or str(event.id) not in self._ids:
                return
            self._ended.add(str(event.id))
            done = self._ended >= self._ids
        with self._handled:
            self._handled.notify_all()
        if done:
            threading.Thread(target=self._end, name="dc43-listener-removal", daemon=True).start()

    def _end(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            if self._on_end is not None:
                self._on_end()
        finally:
            self._session.streams.removeListener(self._listener)
            self.removed.set()

    def caught_up(self, query: Any, timeout: float) -> bool:
        """Wait until every event ``query`` posted so far was handled: its latest progress, and
        its end once it stopped.  False when ``timeout`` seconds passed first."""
        query_id = str(query.id)
        if self._ids is not None and query_id not in self._ids:
            return True
        active = query.isActive
        last = query.lastProgress
        target = str(last["timestamp"]) if last else ""

        def handled() -> bool:
            if self._closed or query_id in self._ended:
                return True
            return active and self._last_heard.get(query_id, "") >= target

        with self._handled:
            return self._handled.wait_for(handled, timeout)

    def close(self) -> None:
        """Remove the listener now (never call this from one of its callbacks)."""
        self._end()


class _Listener(StreamingQueryListener):
    def __init__(self, events: QueryEvents) -> None:
        self._events = events

    def onQueryStarted(self, event: Any) -> None:  # noqa: N802 - pyspark's names
        pass

    def onQueryProgress(self, event: Any) -> None:  # noqa: N802
        try:
            self._events._progress(event)
        except Exception:  # a listener must not break Spark's listener bus
            log.exception("dc43 could not handle a progress event")

    def onQueryIdle(self, event: Any) -> None:  # noqa: N802
        pass

    def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
        try:
            self._events._terminated(event)
        except Exception:
            log.exception("dc43 could not handle a termination event")
