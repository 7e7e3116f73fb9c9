"""The run listener that turns a dc43 write into one OpenLineage run."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from dc43.runs import WriteRun
from openlineage.client.event_v2 import RunState
from openlineage.client.uuid import generate_new_uuid

import dc43_openlineage.naming as naming
from dc43_openlineage.emitter import emitter_for
from dc43_openlineage.events import event, schema_facet

log = logging.getLogger(__name__)

#: the job namespace when ``OPENLINEAGE_NAMESPACE`` is not set (OpenLineage's own default)
DEFAULT_NAMESPACE = "default"


class OpenLineageListener:
    """One write's OpenLineage run: START, RUNNING per judged micro-batch, COMPLETE or FAIL (ABORT
    when the interpreter exits while the write's queries still run)."""

    def __init__(self, client: Any) -> None:
        self._emitter = emitter_for(client)
        self.run_id = str(generate_new_uuid())
        self._names: dict[str, Any] = {}
        self._started_at: datetime | None = None  # set while START waits for the write to create its table
        self._outcome: dict[str, Any] = {"run_id": self.run_id, "sent": 0, "failed": 0}
        self._lock = threading.Lock()
        self._run: WriteRun | None = None  # while the run is open

    def run_started(self, run: WriteRun) -> None:
        self._run = run
        _open.add(self)
        self._names = names_of(run)
        if run.streaming or self._names["located"]:
            self._send(run, RunState.START)
        else:  # a batch write creates its table after judging: name it once it has a location
            self._started_at = datetime.now(timezone.utc)

    def batch_judged(self, run: WriteRun, entry: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> None:
        self._send(run, RunState.RUNNING, entry=entry, verdict=verdict)

    def run_ended(self, run: WriteRun, *, error: str | None, verdict: Mapping[str, Any] | None,
                  state: RunState | None = None) -> None:
        with self._lock:
            if self._run is None:
                return
            self._run = None
        _open.discard(self)
        if self._started_at is not None:
            self._names = names_of(run)
            self._send(run, RunState.START, at=self._started_at)
        self._send(run, state or (RunState.FAIL if error else RunState.COMPLETE), verdict=verdict, error=error)

    def _send(self, run: WriteRun, state: RunState, at: datetime | None = None, **said: Any) -> None:
        names, namespace = self._names, os.environ.get("OPENLINEAGE_NAMESPACE") or DEFAULT_NAMESPACE
        at = at or datetime.now(timezone.utc)
        self._emitter.submit(lambda: event(run, self.run_id, state, names=names, namespace=namespace, at=at, **said),
                             lambda ok, error: self._done(run, state, ok, error))

    def _done(self, run: WriteRun, state: RunState, ok: bool, error: str | None) -> None:
        with self._lock:
            self._outcome["sent" if ok else "failed"] += 1
            first = not ok and self._outcome["failed"] == 1
            if not ok:
                self._outcome["last_error"] = error
            run.report("openlineage", dict(self._outcome))
        if first:
            log.warning("OpenLineage could not take the %s event of '%s' (run %s): %s. The write goes on; "
                        "result.details['openlineage'] counts the events not sent", state.value, run.dataset_id,
                        self.run_id, error)


def names_of(run: WriteRun) -> dict[str, Any]:
    """The OpenLineage names of the run's datasets, and the versions its events name."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        dc43_version = version("dc43")
    except PackageNotFoundError:
        dc43_version = "unknown"
    outputs = naming.datasets(run.output, run.spark)
    rejects = naming.datasets(run.rejection, run.spark) if run.rejection is not None else []
    return {"inputs": [named for ref in run.inputs for named in naming.datasets(ref, run.spark)],
            "outputs": outputs, "rejects": rejects, "located": all(n.located for n in [*outputs, *rejects]),
            "schema": schema_facet(run.contract), "spark_version": str(run.spark.version),
            "dc43_version": dc43_version}


_open: weakref.WeakSet[OpenLineageListener] = weakref.WeakSet()


@atexit.register  # registered after the emitter's, so it runs first: the ABORT events are then sent
def _abort_open_runs() -> None:
    for listener in list(_open):
        run = listener._run
        if run is not None:
            listener.run_ended(run, error="the Python process exited while the write's queries were running",
                               verdict=None, state=RunState.ABORT)
