"""Calling services that may be down: bounded retries, then a durable outbox, delivered in order.

A micro-batch's verdict or a schema observation that governance cannot take, and a batch's
metrics the data-quality service cannot judge, are not lost and do not kill the stream:
after ``OutagePolicy.retries`` attempts (with a doubling backoff) they are written to a
SQLite outbox under the state directory (``.dc43/outbox.db``) and delivered, oldest first
and once each (keyed by kind, dataset, version and batch id), before the next batch's own
calls, by whichever process uses the same outbox next.  What a batch does while the
data-quality service is down is the policy's ``action``:

``continue`` (the default)
    the stream goes on; the batch's status is ``unknown`` until it is judged, later.
``wait`` (the default of the ``inline`` gate with ``enforce=True``)
    the batch waits, retrying, up to ``wait`` seconds, then the write stops
    (:class:`ServiceUnavailableError`): nothing of the batch was published.
``block``
    the write stops at once after the retries.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

from dc43.errors import Dc43Error, InvalidArgumentError, did_you_mean
from dc43.governance.database import Database
from dc43.locators import utc_timestamp

log = logging.getLogger(__name__)

T = TypeVar("T")
ACTIONS = ("continue", "wait", "block")
MAX_BACKOFF_S = 5.0

OUTBOX_MIGRATIONS = ("""
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        dataset_id TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        payload_json TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_error TEXT,
        queued_at TEXT NOT NULL
    );
    CREATE INDEX outbox_by_dataset ON outbox (dataset_id, seq);
    """,)


class ServiceUnavailableError(Dc43Error):
    """A service a micro-batch needs stayed unreachable past what the outage policy allows."""


@attrs.frozen
class OutagePolicy:
    """What a micro-batch does while a service it needs cannot be reached."""

    action: str = "continue"
    retries: int = 3  # attempts before a call counts as an outage
    backoff: float = 0.2  # seconds before the first retry, doubled after each, at most MAX_BACKOFF_S
    wait: float = 60.0  # with action "wait": how long a batch waits for the data-quality service

    def __attrs_post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidArgumentError(f"outage policy action {self.action!r}{did_you_mean(str(self.action), ACTIONS)} "
                                       f"is not one of {', '.join(ACTIONS)}")
        for name, kind in (("retries", int), ("backoff", float), ("wait", float)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
                raise InvalidArgumentError(f"outage policy {name} must be a {'whole ' if kind is int else ''}number, "
                                           f"got {value!r} ({type(value).__name__})")
        if self.retries < 1 or self.backoff < 0 or self.wait < 0:
            raise InvalidArgumentError(f"outage policy needs retries >= 1, backoff >= 0 and wait >= 0, got {self}")

    @classmethod
    def coerce(cls, value: Any, *, gate_enforced: bool) -> OutagePolicy:
        """``value`` as a policy: None (the default for the write), an action name, a mapping or a policy."""
        if isinstance(value, cls):
            return value
        if value is None:
            return cls("wait" if gate_enforced else "continue")
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            unknown = set(value) - {f.name for f in attrs.fields(cls)}
            if unknown:
                raise InvalidArgumentError(f"unknown outage_policy key(s) {sorted(unknown)}; known: action, "
                                           "retries, backoff, wait")
            return cls(**value)
        raise InvalidArgumentError(f"outage_policy must be one of {', '.join(ACTIONS)}, a mapping or an "
                                   f"OutagePolicy, got {type(value).__name__}")


@attrs.frozen
class Attempted:
    """The outcome of calling a service with retries."""

    value: Any = None
    ok: bool = False
    attempts: int = 0
    error: str | None = None


def attempt(call: Callable[[], T], policy: OutagePolicy, what: str, *, deadline: float | None = None) -> Attempted:
    """Call ``call`` up to ``policy.retries`` times (until ``deadline``, a monotonic time, when given),
    backing off between tries; every failed try is logged."""
    delay, tries, error = policy.backoff, 0, ""
    while True:
        tries += 1
        try:
            return Attempted(call(), True, tries)
        except Exception as exc:  # a service down, whatever its client raises
            error = f"{type(exc).__name__}: {exc}"
        out_of_tries = tries >= policy.retries if deadline is None else time.monotonic() + delay > deadline
        log.warning("%s failed (attempt %d): %s%s", what, tries, error, "" if out_of_tries else "; retrying")
        if out_of_tries:
            return Attempted(None, False, tries, error)
        time.sleep(delay)
        delay = min(delay * 2 or 0.01, MAX_BACKOFF_S)




def send(outbox: Outbox, governance: Any, record: Any, *, policy: OutagePolicy | None = None) -> str | None:
    """Give ``record`` (a ``BatchVerdict`` or ``SchemaObservation``) to governance after what waits for
    its dataset; None when delivered, else why it now waits in ``outbox`` too."""
    from dc43.governance.service import BatchVerdict

    is_verdict = isinstance(record, BatchVerdict)
    kind = "verdict" if is_verdict else "observation"
    waiting = deliver_waiting(outbox, governance, record.dataset_id)
    sent = Attempted(error="earlier deliveries wait in the outbox")
    if not waiting:
        call = governance.record_verdict if is_verdict else governance.record_observation
        sent = attempt(lambda: call(record), policy or OutagePolicy(), f"recording a {kind} of '{record.dataset_id}'")
    if sent.ok:
        return None
    item = record.batch_id if is_verdict else f"{record.operation}@{record.recorded_at}"
    outbox.put(kind, record.dataset_id, record.dataset_version, item, attrs.asdict(record),
               error=sent.error, attempts=sent.attempts)
    return sent.error


def deliver_waiting(outbox: Outbox, governance: Any, dataset_id: str) -> int:
    """Give governance the verdicts and observations of ``dataset_id`` that wait, oldest first;
    returns how many still wait (delivery stops at the first that fails, to keep the order)."""
    from dc43.governance.service import BatchVerdict, observation_from

    waiting = outbox.pending(dataset_id, ("observation", "verdict"))
    for done, (kind, key, payload) in enumerate(waiting):
        record = BatchVerdict(**payload) if kind == "verdict" else observation_from(payload)
        call = governance.record_verdict if kind == "verdict" else governance.record_observation
        if not attempt(functools.partial(call, record), OutagePolicy(retries=1), f"delivering a waiting {kind}").ok:
            return len(waiting) - done
        outbox.done(key)
    return 0


class Outbox:
    """Deliveries that failed, kept in a SQLite file until their service takes them."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: Database | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_db": None}

    def _open(self, create: bool) -> Database | None:
        if self._db is None and (create or self.path.exists()):
            self._db = Database(self.path, OUTBOX_MIGRATIONS)
        return self._db

    def put(self, kind: str, dataset_id: str, dataset_version: str, item: int | str, payload: Mapping[str, Any],
            *, error: str | None, attempts: int) -> None:
        """Keep ``payload`` for later, keyed by (kind, dataset, version, item): queued again, it keeps its place."""
        key = json.dumps([kind, dataset_id, dataset_version, item])
        self._open(create=True).write(lambda conn: conn.execute(
            "INSERT INTO outbox (kind, dataset_id, key, payload_json, attempts, last_error, queued_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET payload_json = excluded.payload_json, "
            "attempts = outbox.attempts + excluded.attempts, last_error = excluded.last_error",
            (kind, dataset_id, key, json.dumps(dict(payload), default=str), attempts, error, utc_timestamp())))

    def pending(self, dataset_id: str, kinds: Iterable[str]) -> list[tuple[str, str, dict[str, Any]]]:
        """(kind, key, payload) of what waits for ``dataset_id``, oldest first."""
        db = self._open(create=False)
        if db is None:
            return []
        wanted = tuple(kinds)
        marks = ", ".join("?" for _ in wanted)
        rows = db.rows(f"SELECT kind, key, payload_json FROM outbox WHERE dataset_id = ? AND kind IN ({marks}) "
                       "ORDER BY seq", (dataset_id, *wanted))
        return [(row[0], row[1], json.loads(row[2])) for row in rows]

    def done(self, key: str) -> None:
        self._open(create=True).write(lambda conn: conn.execute("DELETE FROM outbox WHERE key = ?", (key,)))

    def count(self) -> int:
        db = self._open(create=False)
        return 0 if db is None else db.rows("SELECT count(*) FROM outbox")[0][0]
