"""Staleness: a stream that delivers nothing for longer than its contract's ``frequency``.

:class:`FreshnessWatch` is a run listener of the write's own (made when the contract has a
``frequency`` SLA, :mod:`dc43.contracts.sla`).  A thread checks, every polling period
(a quarter of the frequency, at most 30 s), how long ago the last batch holding rows was
judged (the write's start, before the first).  Past the frequency the write is stale: governance
records a stale period while the stream still runs, ``result.details["stale"]`` says since
when, and the write's alerts hear ``stale``.  The next batch with rows ends the period.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

log = logging.getLogger(__name__)

#: the longest pause between two checks
MAX_POLL_S = 30.0


def poll_period(frequency_s: float) -> float:
    return min(frequency_s / 4, MAX_POLL_S)


class FreshnessWatch:
    """Watches one write for staleness (see the module)."""

    def __init__(self, frequency_s: float, *, governance: Any = None,
                 on_change: Callable[..., None] | None = None) -> None:
        self.frequency_s = frequency_s
        self.poll_s = poll_period(frequency_s)
        self._governance = governance if callable(getattr(governance, "record_stale", None)) else None
        self._on_change = on_change
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_rows = time.monotonic()  # when the last batch with rows was judged
        self._last_batch: int | None = None
        self._stale: dict[str, Any] | None = None  # the open stale period
        self._recording = threading.Lock()  # a period's end waits for its start to be recorded
        self._run: Any = None

    def run_started(self, run: Any) -> None:
        self._run = run
        self._last_rows = time.monotonic()
        threading.Thread(target=self._watch, name="dc43-freshness", daemon=True).start()

    def batch_judged(self, run: Any, entry: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> None:
        if not entry.get("row_count"):
            return  # an empty batch delivers nothing
        with self._lock:
            self._last_rows = time.monotonic()
            self._last_batch = entry.get("batch_id")
            period, self._stale = self._stale, None
        if period is not None:
            self._close(period, ended_at=_now())

    def run_ended(self, run: Any, *, error: str | None, verdict: Mapping[str, Any] | None) -> None:
        self._stop.set()
        with self._lock:
            period, self._stale = self._stale, None
        if period is not None:
            self._close(period, ended_at=_now())

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            with self._lock:
                quiet = time.monotonic() - self._last_rows
                if self._stale is not None or quiet <= self.frequency_s:
                    continue
                since = datetime.now(timezone.utc) - timedelta(seconds=quiet - self.frequency_s)
                period = self._stale = {"dataset_id": self._run.dataset_id, "since": since.isoformat(),
                                        "detected_at": _now(), "last_batch_id": self._last_batch,
                                        "frequency_s": self.frequency_s}
                self._recording.acquire()
            try:
                self._open(period)
            finally:
                self._recording.release()

    def _open(self, period: dict[str, Any]) -> None:
        log.warning("'%s' is stale: no batch with rows for more than %.0f s (its contract's frequency)",
                    period["dataset_id"], self.frequency_s)
        self._run.report("stale", dict(period))
        if self._governance is not None:
            try:
                period["record_id"] = self._governance.record_stale(period)
            except Exception:  # the stream goes on; the log says it
                log.warning("governance could not record the stale period of '%s'", period["dataset_id"],
                            exc_info=True)
        if self._on_change is not None:
            self._on_change("stale", batch_id=period["last_batch_id"], dataset_version=None,
                            reason=f"no batch with rows for more than {self.frequency_s:g} s (frequency)")

    def _close(self, period: dict[str, Any], *, ended_at: str) -> None:
        self._run.report("stale", None)
        with self._recording:
            record_id = period.get("record_id")
        if record_id is not None:
            try:
                self._governance.end_stale(record_id, ended_at)
            except Exception:
                log.warning("governance could not end the stale period of '%s'", period["dataset_id"], exc_info=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
