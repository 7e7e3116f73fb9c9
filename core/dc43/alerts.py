"""Alerts: a streaming write's status changes, told to notifiers.

A streaming write's status is its latest judged batch's: ``ok``, ``warn``, ``block`` or
``unknown`` (idle batches change nothing).  Each change (``ok`` -> ``block``, and the recovery
``block`` -> ``ok``) is one :class:`Alert`.  With ``alert_interval_s`` set, a write sends at
most one alert per interval: changes inside it are held, and when it passes one alert says
where the status went from the last alert, with how many changes it folds in.  When the write
ends (its queries stop), held alerts go out and the end waits for them, up to 10 s.  Notifiers come
from the ``dc43_notifiers`` hook (bundled: ``log`` and ``webhook``) or are passed as objects;
they are called from a thread of the write's own, so a slow or failing one never holds up or
fails the stream; failures are logged and counted in ``result.details["alerts"]``.  Governance
keeps each alert, with the notifiers that sent it, for ``dc43 report``.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import urlsplit

import attrs

from dc43.errors import InvalidArgumentError, did_you_mean
from dc43.redaction import redact_text

log = logging.getLogger(__name__)

#: the status a write is taken to have before its first judged batch
INITIAL_STATUS = "ok"
#: the newest alerts kept in ``result.details["alerts"]["recent"]``
KEPT_ALERTS = 20
#: how long the end of a write waits for its last alerts to go out
END_WAIT_S = 10.0


@attrs.frozen
class Alert:
    """One status change of a write."""

    dataset_id: str
    contract: str
    previous: str
    status: str
    batch_id: int | None
    dataset_version: str | None
    reason: str | None
    at: str
    #: status changes folded into this alert by ``alert_interval_s`` (0: none)
    folded: int = 0
    job: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def describe(self) -> str:
        where = f" at batch {self.batch_id}" if self.batch_id is not None else ""
        return (f"'{self.dataset_id}' ({self.contract}) went from {self.previous} to {self.status}{where}"
                + (f": {self.reason}" if self.reason else ""))


class Notifier(Protocol):
    """What a ``dc43_notifiers`` factory returns: ``notify`` raises when the alert did not go out."""

    def notify(self, alert: Alert) -> None: ...


class LogNotifier:
    """Logs each alert on ``dc43.alerts``: a warning for a change for the worse, info for a recovery."""

    name = "log"

    def notify(self, alert: Alert) -> None:
        level = logging.INFO if alert.status == "ok" else logging.WARNING
        log.log(level, "dc43 alert: %s", alert.describe())


class WebhookNotifier:
    """POSTs each alert as JSON to ``url`` (default: ``DC43_WEBHOOK_URL``); ``headers`` (an
    ``Authorization`` header, say) are sent but never shown."""

    name = "webhook"

    def __init__(self, url: str | None = None, *, headers: Mapping[str, str] | None = None,
                 timeout: float = 10.0) -> None:
        url = url or os.environ.get("DC43_WEBHOOK_URL")
        parsed = urlsplit(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InvalidArgumentError(
                f"the webhook notifier needs an http(s) URL with a host, got {redact_text(str(url))!r}: set DC43_WEBHOOK_URL, "
                "or pass WebhookNotifier(url='https://hooks.example.com/dc43')")
        self.url = url
        self._headers = dict(headers or {})
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"WebhookNotifier({redact_text(self.url)!r})"

    def notify(self, alert: Alert) -> None:
        import json
        import urllib.request

        request = urllib.request.Request(
            self.url, data=json.dumps(alert.to_dict()).encode(), method="POST",
            headers={"Content-Type": "application/json", **self._headers})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the user's URL
            response.read()


def resolve_notifiers(value: Any, manager: Any) -> list[tuple[str, Any]]:
    """``notifiers=`` as ``(name, notifier)`` pairs: names are looked up in the plugins (their
    factory called with no arguments), objects with a ``notify`` method are used as they are."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        value = [value]
    resolved = []
    for item in value:
        if isinstance(item, str):
            catalogue = manager.notifiers()
            if item not in catalogue:
                raise InvalidArgumentError(
                    f"unknown notifier {item!r}{did_you_mean(item, catalogue)}; installed: "
                    f"{', '.join(sorted(catalogue)) or 'none'}. Pass one of those names or a notifier object "
                    "(e.g. WebhookNotifier(url=...)).")
            resolved.append((item, catalogue[item].value()))
        elif callable(getattr(item, "notify", None)) and not isinstance(item, type):
            resolved.append((getattr(item, "name", type(item).__name__), item))
        else:
            raise InvalidArgumentError(f"notifiers takes notifier names or objects with a notify(alert) method, "
                                       f"got {type(item).__name__}")
    seen: dict[str, int] = {}
    named = []
    for name, notifier in resolved:  # two webhooks are "webhook" and "webhook#2"
        seen[name] = seen.get(name, 0) + 1
        named.append((name if seen[name] == 1 else f"{name}#{seen[name]}", notifier))
    return named


def watch(notifiers: Any, interval_s: Any, manager: Any, governance: Any = None) -> StatusWatch | None:
    """The write's :class:`StatusWatch` for ``notifiers=`` and ``alert_interval_s=`` (alerts kept in
    ``governance`` when it can); ``None`` without notifiers.  Raises ``InvalidArgumentError`` on a
    bad name or interval."""
    if isinstance(interval_s, bool) or not isinstance(interval_s, (int, float)) or interval_s < 0:
        raise InvalidArgumentError(f"alert_interval_s must be a number of seconds >= 0, got {interval_s!r}")
    resolved = resolve_notifiers(notifiers, manager)
    return StatusWatch(resolved, interval_s=float(interval_s), governance=governance) if resolved else None


class StatusWatch:
    """A run listener that turns one write's judged batches into alerts."""

    def __init__(self, notifiers: Sequence[tuple[str, Any]], *, interval_s: float = 0.0,
                 governance: Any = None) -> None:
        self._notifiers = list(notifiers)
        self._governance = governance if callable(getattr(governance, "record_alert", None)) else None
        self._interval = interval_s
        self._status = INITIAL_STATUS  # the latest judged status
        self._alerted = INITIAL_STATUS  # what the last alert said
        self._last_sent: float | None = None
        self._held: Alert | None = None
        self._folded = 0  # changes held after the first one since the last alert
        self._lock = threading.Lock()
        self._queue: queue.Queue[Alert | None] = queue.Queue()
        self._said: dict[str, Any] = {"sent": 0, "failed": 0, "recent": []}
        self._run: Any = None
        self._timer: threading.Timer | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._deliver, name="dc43-alerts", daemon=True)

    # -- run listener ------------------------------------------------------
    def run_started(self, run: Any) -> None:
        self._run = run
        self._thread.start()

    def batch_judged(self, run: Any, entry: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> None:
        status = entry.get("status")
        if status in (None, "idle"):
            return
        reason = "; ".join([*entry.get("errors", []), *entry.get("warnings", [])]) or entry.get("intervention")
        self.observe(status, batch_id=entry.get("batch_id"), dataset_version=entry.get("dataset_version"),
                     reason=reason)

    def run_ended(self, run: Any, *, error: str | None, verdict: Mapping[str, Any] | None) -> None:
        """A change still held by the interval goes out now; then the delivery thread stops."""
        with self._lock:
            held, self._held = self._held, None
            if self._timer is not None:
                self._timer.cancel()
        if held is not None:
            self._send(held)
        with self._lock:
            self._ended = True
        self._queue.put(None)
        self._thread.join(END_WAIT_S)
        if self._thread.is_alive():
            log.warning("dc43's notifiers of '%s' have not sent every alert after %.0f s; they go on in the "
                        "background", run.dataset_id, END_WAIT_S)

    # -- status changes ------------------------------------------------------
    def observe(self, status: str, *, batch_id: int | None, dataset_version: str | None, reason: str | None) -> None:
        with self._lock:
            if status == self._status:
                return
            self._status = status
            alert = Alert(dataset_id=self._run.dataset_id, contract=f"{self._run.contract.id}@{self._run.contract.version}",
                          previous=self._alerted, status=status, batch_id=batch_id, dataset_version=dataset_version,
                          reason=redact_text(reason) if reason else None, at=_now(), job=self._run.job)
            now = time.monotonic()
            if self._last_sent is not None and now - self._last_sent < self._interval:
                self._folded += 1 if self._held is not None else 0
                self._held = attrs.evolve(alert, folded=self._folded)
                if self._timer is None:
                    self._timer = threading.Timer(self._interval - (now - self._last_sent), self._release)
                    self._timer.daemon = True
                    self._timer.start()
                return
        self._send(alert)

    def _release(self) -> None:
        with self._lock:
            held, self._held, self._timer = self._held, None, None
        if held is not None:
            self._send(held)

    def _send(self, alert: Alert) -> None:
        with self._lock:
            if self._ended:
                return
            self._folded = 0
            if alert.status == self._alerted:  # the held changes came back to where the last alert left it
                return
            alert = attrs.evolve(alert, previous=self._alerted)
            self._alerted = alert.status
            self._last_sent = time.monotonic()
        self._queue.put(alert)

    def _deliver(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            delivered = {name: self._notify(name, notifier, alert) for name, notifier in self._notifiers}
            self._record(alert, delivered)

    def _notify(self, name: str, notifier: Any, alert: Alert) -> bool:
        try:
            notifier.notify(alert)
        except Exception as exc:  # a notifier must never fail the stream
            error = redact_text(f"{type(exc).__name__}: {exc}")
            log.warning("dc43 notifier '%s' could not send the alert %s: %s", name, alert.describe(), error)
            self._said["failed"] += 1
            self._said["last_error"] = error
            sent = False
        else:
            self._said["sent"] += 1
            self._said["recent"] = [*self._said["recent"], {**alert.to_dict(), "notifier": name}][-KEPT_ALERTS:]
            sent = True
        self._run.report("alerts", {**self._said, "recent": list(self._said["recent"])})
        return sent

    def _record(self, alert: Alert, delivered: Mapping[str, bool]) -> None:
        """Keep the alert in governance, for the report; one governance cannot take is logged."""
        if self._governance is None:
            return
        try:
            self._governance.record_alert(alert.to_dict(), delivered)
        except Exception:
            log.warning("governance could not keep the alert %s", alert.describe(), exc_info=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
