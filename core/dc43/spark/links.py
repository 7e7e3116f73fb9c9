"""How the batch side tells the caller what each micro-batch got, in every topology.

A message is a JSON-ready mapping: ``{"entry": ..., "verdict": ..., "strategy": ...}``
for a judged batch, or ``{"failure": ...}`` when the batch side stopped the write.

``InProcessLink``
    classic Spark and a standalone cluster, where ``foreachBatch`` runs on a driver
    thread of the caller's process, and the ``observe`` writer's listener: the caller
    side gets each message at once, as a call.
``SessionLink``
    Spark Connect.  The batch side runs in a Python process on the server, attached to
    the caller's own Connect session; each message becomes a numbered session setting
    (``spark.dc43.link.<write>.<n>``) that :class:`SessionLinkReader` reads back and
    removes, whenever the caller's listener hears of a batch or the caller waits on a
    query.  The newest :data:`KEPT` messages stay when nobody reads them.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dc43.errors import ContractViolationError, Dc43Error, StreamingInterventionError
from dc43.redaction import redact_text
from dc43.results import ValidationResult, rule_results

log = logging.getLogger(__name__)

PREFIX = "spark.dc43.link."
KEPT = 200
#: how long a micro-batch held for its query's stop waits for it (milliseconds)
HOLD_MS = 60_000


def verdict_summary(verdict: Any, *, rules: bool = True) -> dict[str, Any]:
    """What the caller needs of a :class:`~dc43.results.ValidationResult` verdict; ``rules`` says
    of each rule whether it passed (``None``: not evaluated), for run listeners (``rules=False``:
    left out, when nobody listens)."""
    summary = {"status": verdict.status, "errors": list(verdict.errors), "warnings": list(verdict.warnings),
               "metrics": dict(verdict.metrics), "reason": verdict.reason}
    if rules:
        summary["rules"] = rule_results(verdict)
    return summary



def apply_verdict(target: ValidationResult, verdict: Mapping[str, Any],
                  errors: Sequence[str] = (), warnings: Sequence[str] = ()) -> None:
    """Make ``target`` show ``verdict`` (a :func:`verdict_summary`) after
    any schema findings."""
    target.metrics = dict(verdict["metrics"])
    target.errors = [*errors, *verdict["errors"]]
    target.warnings = [*warnings, *verdict["warnings"]]
    target.status = "block" if target.errors else verdict["status"]
    if target.status == "ok" and target.warnings:
        target.status = "warn"
    target.ok = target.status != "block"
    target.reason = verdict["reason"]


def failure_of(exc: BaseException, batch_id: int | None) -> dict[str, Any]:
    """A failure as a message: its type, message and the verdict or reason it carries."""
    failure: dict[str, Any] = {"type": f"{type(exc).__module__}.{type(exc).__qualname__}",
                               "name": type(exc).__name__, "message": redact_text(str(exc)), "batch_id": batch_id,
                               "dc43": isinstance(exc, Dc43Error)}
    if isinstance(exc, StreamingInterventionError):
        failure.update(reason=exc.reason, batch_id=exc.batch_id if exc.batch_id is not None else batch_id)
    if isinstance(exc, ContractViolationError) and exc.validation is not None:
        failure["validation"] = verdict_summary(exc.validation)
    return failure


class InProcessLink:
    """The batch side runs in the caller's process: hand every message over directly."""

    def __init__(self, caller: Any) -> None:
        self.caller = caller  # a dc43.spark.caller_side.CallerSide

    def publish(self, session: Any, message: Mapping[str, Any]) -> None:
        self.caller.receive(message)

    def fail(self, session: Any, failure: Mapping[str, Any], exc: BaseException) -> None:
        self.caller.failed(failure, exc)

    def stop_sinks(self, session: Any) -> None:
        self.caller.stop_sinks()

    def hold_if_stopping(self, session: Any) -> None:
        """Before a micro-batch starts: when the caller is stopping its query, wait (in the JVM, on
        the query's own thread) for the stop to interrupt it, so none of the batch runs; a restart
        replays it.  Gives up after :data:`HOLD_MS` and lets the batch run."""
        if not self.caller.stopping_any():  # the common case costs no call to the JVM
            return
        context = session.sparkContext
        query_id = context.getLocalProperty("sql.streaming.queryId")
        if query_id and self.caller.holds_for_stop(query_id):
            context._jvm.java.lang.Thread.sleep(HOLD_MS)

    def carries_state(self) -> bool:
        """Whether the caller's strategy needs the batch side's copy of its state (no: it is the same)."""
        return False

    def __reduce__(self) -> Any:
        raise TypeError("an in-process link cannot leave the caller's process; on Spark Connect "
                        "the batch side talks to the caller through a SessionLink")


class SessionLink:
    """The batch side runs on a Spark Connect server: messages go through the session's settings."""

    def __init__(self, token: str, sink_ids: Iterable[str] = ()) -> None:
        self.token = token
        self.sink_ids = tuple(sink_ids)
        self._sent = 0

    @classmethod
    def new(cls, sink_ids: Iterable[str] = ()) -> SessionLink:
        return cls(uuid.uuid4().hex[:16], sink_ids)

    def _key(self, suffix: object) -> str:
        return f"{PREFIX}{self.token}.{suffix}"

    def publish(self, session: Any, message: Mapping[str, Any]) -> None:
        self._sent += 1
        conf = session.conf
        conf.set(self._key(self._sent), json.dumps(message, default=str))
        conf.set(self._key("sent"), str(self._sent))
        if self._sent > KEPT:
            conf.unset(self._key(self._sent - KEPT))

    def fail(self, session: Any, failure: Mapping[str, Any], exc: BaseException) -> None:
        self.publish(session, {"failure": dict(failure)})

    def hold_if_stopping(self, session: Any) -> None:
        """The caller cannot reach a Connect server's worker: its ``stop()`` waits for the batch instead."""

    def stop_sinks(self, session: Any) -> None:
        for query_id in self.sink_ids:
            try:
                query = session.streams.get(query_id)
                if query is not None:
                    query.stop()
            except Exception:  # the failure being reported matters more than this one
                log.exception("could not stop sink query %s", query_id)

    def carries_state(self) -> bool:
        return True


class SessionLinkReader:
    """The caller's end of a :class:`SessionLink`: new messages, in order, each once."""

    def __init__(self, session: Any, token: str) -> None:
        self._session = session
        self._link = SessionLink(token)
        self._read = 0
        self._lock = threading.Lock()

    def drain(self, deliver: Any) -> None:
        """Pass every message not read yet to ``deliver``, oldest first, then forget it."""
        with self._lock:
            conf = self._session.conf
            sent = int(conf.get(self._link._key("sent"), "0") or 0)
            for number in range(max(self._read + 1, sent - KEPT + 1), sent + 1):
                key = self._link._key(number)
                text = conf.get(key, None)
                if text:
                    conf.unset(key)
                    deliver(json.loads(text))
                self._read = number

    def close(self) -> None:
        """Forget the link's bookkeeping setting once the write is over."""
        with self._lock:
            self._session.conf.unset(self._link._key("sent"))


def pack_state(strategy: Any) -> str | None:
    """The strategy's attributes, pickled, for the caller's own instance; None if they cannot travel."""
    from pyspark import cloudpickle

    state = getattr(strategy, "__dict__", None)
    if not state:
        return None
    try:
        return base64.b64encode(cloudpickle.dumps(state)).decode("ascii")
    except Exception as exc:  # the decisions stand; only the caller's copy of the state lags
        log.warning("the state of strategy %s cannot be sent back to the caller: %s", type(strategy).__name__, exc)
        return None


def unpack_state(strategy: Any, packed: str | None) -> None:
    if packed and hasattr(strategy, "__dict__"):
        import pickle

        strategy.__dict__.update(pickle.loads(base64.b64decode(packed)))
