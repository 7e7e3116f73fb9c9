"""Run listeners: what plugins are told about each contract-enforced write.

A write is a *run*: it starts, a streaming one has its micro-batches judged one by one,
and it ends.  Plugins provide listener factories through the ``dc43_run_listeners`` hook
(lineage emitters such as the bundled ``openlineage`` plugin).  Each write calls every
factory once; a factory returning ``None`` has nothing to do for it (not configured), and a
write with no listener builds no :class:`WriteRun` at all.  Listeners are called in the
caller's process, from whichever thread learnt the news; one that raises is logged and
never fails the write.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from dc43.errors import Dc43Error

log = logging.getLogger(__name__)


@attrs.frozen
class DatasetRef:
    """A dataset a run reads or writes, as Spark names it."""

    format: str
    path: str | None = None
    table: str | None = None
    #: only the options that identify the dataset (Kafka servers and topics), never credentials
    options: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def label(self) -> str:
        """How a person (and a dataset id) names it: its table, else its path without ``file:``, else
        its format and identifying options (``kafka:subscribe=orders``)."""
        if self.table:
            return self.table
        if self.path:
            return self.path.removeprefix("file://").removeprefix("file:")
        return ":".join([self.format, *(f"{k}={v}" for k, v in sorted(self.options.items()))])


@attrs.frozen
class WriteRun:
    """One write, as listeners see it."""

    dataset_id: str
    output: DatasetRef
    inputs: tuple[DatasetRef, ...]
    #: the ODCS contract the write enforces
    contract: Any = attrs.field(repr=lambda c: f"<contract {c.id}@{c.version}>")
    streaming: bool
    #: the job's name: ``pipeline_context["job"]``, else the query name, else ``<dataset_id>.write``
    job: str
    #: the rules judged (:class:`dc43.quality.plan.Expectation`)
    expectations: tuple[Any, ...] = ()
    rejection: DatasetRef | None = None
    pipeline_context: Mapping[str, Any] = attrs.field(factory=dict)
    #: the caller's SparkSession (to look up where a table lives)
    spark: Any = attrs.field(default=None, eq=False, repr=False)
    #: ``report(key, value)`` shows ``value`` in the write's ``result.details[key]``
    report: Callable[[str, Any], None] = attrs.field(default=lambda key, value: None, eq=False, repr=False)


class RunListener(Protocol):
    """What a ``dc43_run_listeners`` factory returns."""

    def run_started(self, run: WriteRun) -> None:
        """The write is about to start its queries (or, in batch, to judge its rows)."""

    def batch_judged(self, run: WriteRun, entry: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> None:
        """A micro-batch was judged: its timeline ``entry`` and the verdict summary (``None`` when idle
        or not judged yet); the summary's ``rules`` list each rule with ``passed``."""

    def run_ended(self, run: WriteRun, *, error: str | None, verdict: Mapping[str, Any] | None) -> None:
        """The write is over: ``error`` says why it failed (``None``: it completed); a batch write
        passes its verdict summary."""


class RunListeners:
    """The listeners of one write: each call goes to every one, a failing one is only logged."""

    def __init__(self, run: WriteRun, listeners: Sequence[tuple[str, Any]]) -> None:
        self.run = run
        self._listeners = list(listeners)
        self._ended = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RunListeners({self.run.dataset_id!r}, {[name for name, _ in self._listeners]})"

    def started(self) -> None:
        self._call("run_started", self.run)

    def batch(self, entry: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> None:
        if not self._ended:
            self._call("batch_judged", self.run, dict(entry), verdict)

    def ended(self, *, error: str | None = None, verdict: Mapping[str, Any] | None = None) -> None:
        """Tell the listeners the write is over, once: a later call (the thread watching the queries
        and a wait on one can both see the end) returns when the listeners have heard it."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self._call("run_ended", self.run, error=error, verdict=verdict)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> None:
        for name, listener in self._listeners:
            try:
                getattr(listener, method)(*args, **kwargs)
            except Exception:  # a listener must never fail the write
                log.exception("dc43 run listener '%s' failed in %s for '%s'", name, method, self.run.dataset_id)


def active_listeners(manager: Any) -> list[tuple[str, Any]]:
    """Ask every installed listener factory; keep those with something to do."""
    active = []
    for name, provided in sorted(manager.run_listeners().items()):
        try:
            listener = provided.value()
        except Dc43Error:  # the user's configuration is wrong: said before the write starts
            raise
        except Exception:  # a broken plugin must not break the write
            log.exception("dc43 run listener '%s' (plugin '%s') could not be created", name, provided.plugin)
            continue
        if listener is not None:
            active.append((name, listener))
    return active


def job_name(dataset_id: str, options: Mapping[str, str], context: Mapping[str, Any] | None) -> str:
    """The name lineage gives a write's job (see :attr:`WriteRun.job`)."""
    named = (context or {}).get("job") or options.get("queryName")
    return str(named) if named else f"{dataset_id}.write"
