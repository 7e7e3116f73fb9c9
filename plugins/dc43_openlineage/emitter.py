"""Sending events from a background thread, so that no transport ever holds up a stream.

One thread per OpenLineage client builds and sends the events in the order they were
handed over (as functions that build them: a micro-batch's thread only queues one).
Each event's outcome goes to the callback given with it; an event that cannot even be
queued (the queue is full: the transport is far behind) is reported as failed, never
dropped without a word.  At exit, events still waiting get a bounded time to leave.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from dc43.redaction import redact_text

log = logging.getLogger(__name__)

#: events one client may have waiting before new ones are reported as failed
MAX_WAITING = 10_000
#: how long the interpreter's exit waits for waiting events
EXIT_WAIT_S = 10.0

Done = Callable[[bool, "str | None"], None]


class Emitter:
    """Sends events through ``client`` from a thread of its own, in order."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._queue: queue.Queue[tuple[Callable[[], Any], Done]] = queue.Queue(maxsize=MAX_WAITING)
        self._unfinished = 0
        self._idle = threading.Condition()
        threading.Thread(target=self._run, name="dc43-openlineage", daemon=True).start()

    def submit(self, build: Callable[[], Any], done: Done) -> None:
        """Send the event ``build()`` returns, then call ``done(ok, error)``."""
        with self._idle:
            self._unfinished += 1
        try:
            self._queue.put_nowait((build, done))
        except queue.Full:
            self._finished(done, False, f"{MAX_WAITING} OpenLineage events already wait for the transport")

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, max(0.0, deadline - time.monotonic()))

    @property
    def waiting(self) -> int:
        return self._unfinished

    def _run(self) -> None:
        while True:
            build, done = self._queue.get()
            try:
                self._client.emit(build())
            except Exception as exc:  # the transport's failure is reported, never raised into a stream
                self._finished(done, False, redact_text(f"{type(exc).__name__}: {exc}"))
            else:
                self._finished(done, True, None)

    def _finished(self, done: Done, ok: bool, error: str | None) -> None:
        try:
            done(ok, error)
        except Exception:
            log.exception("dc43 could not record an OpenLineage event's outcome")
        finally:
            with self._idle:
                self._unfinished -= 1
                self._idle.notify_all()


_emitters: dict[int, Emitter] = {}
_lock = threading.Lock()


def emitter_for(client: Any) -> Emitter:
    with _lock:
        if id(client) not in _emitters:
            _emitters[id(client)] = Emitter(client)
        return _emitters[id(client)]


def flush_all(timeout: float) -> bool:
    """Wait for every emitter's waiting events; False when ``timeout`` passed first."""
    deadline = time.monotonic() + timeout
    with _lock:
        emitters = list(_emitters.values())
    return all(e.flush(max(0.0, deadline - time.monotonic())) for e in emitters)


@atexit.register
def _at_exit() -> None:
    if not flush_all(EXIT_WAIT_S):
        left = sum(e.waiting for e in list(_emitters.values()))
        log.warning("%d OpenLineage event(s) were not sent before the interpreter exited (the transport did not "
                    "answer within %.0f s)", left, EXIT_WAIT_S)
