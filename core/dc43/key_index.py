"""The keys a stream published, each with the micro-batch that first published it (SQLite).

One index per streaming query: it lives where its micro-batches are judged, and its file
is named after the query's checkpoint, so a restart finds it and a new checkpoint starts
an empty one.  A key counts as seen in batch ``n`` only when a batch *before* ``n``
published it: replaying batch ``n`` after a crash never finds its own keys.  Keys are
written once their batch is published, and a lookup costs one indexed probe per distinct
key of the batch, whatever the length of the history.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    rule TEXT NOT NULL, key TEXT NOT NULL, first_batch INTEGER NOT NULL,
    first_at REAL NOT NULL, event_time INTEGER,
    PRIMARY KEY (rule, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_by_batch ON keys (rule, first_batch);
CREATE TABLE IF NOT EXISTS batches (
    rule TEXT NOT NULL, batch_id INTEGER NOT NULL, max_event INTEGER,
    PRIMARY KEY (rule, batch_id)) WITHOUT ROWID;
"""

#: a batch's keys against the history: CROSS JOIN makes SQLite walk the batch's keys, one
#: primary-key probe each; left to choose, it scans every key earlier batches published
LOOKUP = ("SELECT k.key, k.first_batch FROM probe p CROSS JOIN keys k ON k.rule = ? AND k.key = p.key "
          "WHERE k.first_batch < ? AND {kept}")
#: pages SQLite keeps in memory per index: a large history's B-tree stays warm between batches
CACHE_KIB = 64 * 1024


class KeyIndex:
    """``seen`` before a batch is judged, ``publish`` once it is published.

    ``path`` None keeps the index in memory (a query without a checkpoint starts over anyway).
    Event times are integers (microseconds); ``horizon`` is a rule's ``horizon`` parameter.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def seen(self, rule: str, keys: Sequence[str], batch_id: int, horizon: Mapping[str, Any], *,
             now: float) -> dict[str, int]:
        """The ``keys`` an earlier batch published and the horizon still keeps, with that batch's id."""
        if not keys:
            return {}
        with self._lock:
            kept, arguments = self._kept(rule, batch_id, horizon, now=now)
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS probe (key TEXT PRIMARY KEY) WITHOUT ROWID")
            self._db.execute("BEGIN")
            try:
                self._db.execute("DELETE FROM probe")
                self._db.executemany("INSERT OR IGNORE INTO probe VALUES (?)", ((k,) for k in keys))
                rows = self._db.execute(LOOKUP.format(kept=kept), (rule, batch_id, *arguments)).fetchall()
            finally:
                self._db.execute("COMMIT")
        return dict(rows)

    def publish(self, rule: str, keys: Iterable[tuple[str, int | None]], batch_id: int,
                horizon: Mapping[str, Any], *, now: float, max_event: int | None = None) -> None:
        """Keep ``keys`` (with their newest event time) as first published by ``batch_id``, and
        forget those the horizon no longer kept for it.  Pass only keys :meth:`seen` did not find."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO keys VALUES (?, ?, ?, ?, ?) ON CONFLICT (rule, key) DO UPDATE SET "
                    "first_batch = excluded.first_batch, first_at = excluded.first_at, "
                    "event_time = excluded.event_time",
                    ((rule, key, batch_id, now, event) for key, event in keys))
                if "event_time" in horizon:
                    self._db.execute("INSERT OR REPLACE INTO batches VALUES (?, ?, ?)", (rule, batch_id, max_event))
                if horizon:  # what this batch no longer saw: a replay of it sees what it saw
                    kept, arguments = self._kept(rule, batch_id, horizon, now=now)
                    self._db.execute(f"DELETE FROM keys WHERE rule = ? AND first_batch < ? AND NOT ({kept})",
                                     (rule, batch_id, *arguments))
            finally:
                self._db.execute("COMMIT")

    def count(self, rule: str) -> int:
        """How many keys of ``rule`` the index holds."""
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM keys WHERE rule = ?", (rule,)).fetchone()[0]

    def _kept(self, rule: str, batch_id: int, horizon: Mapping[str, Any], *, now: float
              ) -> tuple[str, tuple[Any, ...]]:
        """The SQL condition (and its arguments) on ``keys`` rows the horizon keeps for ``batch_id``."""
        if "batches" in horizon:
            return "first_batch >= ?", (batch_id - horizon["batches"],)
        if "event_time" in horizon:
            newest = self._db.execute("SELECT MAX(max_event) FROM batches WHERE rule = ? AND batch_id < ?",
                                      (rule, batch_id)).fetchone()[0]
            if newest is None:
                return "1", ()
            return "(event_time IS NULL OR event_time >= ?)", (newest - int(horizon["seconds"] * 1_000_000),)
        if "seconds" in horizon:
            return "first_at >= ?", (now - horizon["seconds"],)
        return "1", ()
