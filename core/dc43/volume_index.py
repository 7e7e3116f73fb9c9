"""The row counts of a stream's micro-batches, for the volume rules (SQLite, :mod:`dc43.quality.volume`).

One index per streaming query, beside its key history and named the same way, so a restart
finds it.  :meth:`VolumeIndex.count` reads only batches *before* the one it counts, then keeps
that batch's count in place of any earlier attempt: a replayed batch is counted once, and sees
what its first attempt saw.  Times are microseconds of processing time.
"""

from __future__ import annotations

import sqlite3
import statistics
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS volumes (batch_id INTEGER PRIMARY KEY, at INTEGER NOT NULL, rows INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS started (one INTEGER PRIMARY KEY CHECK (one = 0), at INTEGER NOT NULL);
"""


class VolumeIndex:
    """``path`` None keeps the counts in memory (a query without a checkpoint starts over anyway)."""

    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def count(self, batch_id: int, rows: int, now: int, *, windows: Sequence[int] = (),
              history: int = 0) -> dict[str, Any]:
        """Count a non-empty batch of ``rows`` judged at ``now``; what the volume rules measure.

        ``windows`` (microseconds): ``{"open": {w: rows of the current window so far},
        "closed": {w: fewest rows of the windows closed since the previous batch, or None}}``;
        ``history``: ``"change"``, the rows over the median of that many previous batches (None
        while there are fewer).
        """
        with self._lock:
            self._db.execute("BEGIN")
            try:
                found = self._measure(batch_id, rows, now, windows, history)
                self._db.execute("INSERT OR REPLACE INTO volumes VALUES (?, ?, ?)", (batch_id, now, rows))
                self._db.execute("INSERT OR IGNORE INTO started VALUES (0, ?)", (now,))
                cut = min((now // w * w - w for w in windows), default=now)  # what later windows still read
                self._db.execute("DELETE FROM volumes WHERE batch_id < ? AND at < ?",
                                 (batch_id - max(history, 1), cut))
            finally:
                self._db.execute("COMMIT")
        return found

    def _measure(self, batch_id: int, rows: int, now: int, windows: Sequence[int], history: int) -> dict[str, Any]:
        def rows_between(low: int, high: int) -> int:
            return self._db.execute("SELECT COALESCE(SUM(rows), 0) FROM volumes WHERE batch_id < ? AND at >= ? "
                                    "AND at < ?", (batch_id, low, high)).fetchone()[0]

        previous = self._db.execute("SELECT at FROM volumes WHERE batch_id < ? ORDER BY batch_id DESC LIMIT 1",
                                    (batch_id,)).fetchone()
        started = self._db.execute("SELECT at FROM started").fetchone()
        opened: dict[int, int] = {}
        closed: dict[int, int | None] = {}
        for w in windows:
            current = now // w * w
            opened[w] = rows + rows_between(current, current + w)
            last = previous[0] // w * w if previous else current
            candidates = [] if last >= current or last == started[0] // w * w else [rows_between(last, last + w)]
            if current - last > w:  # whole windows no batch reached
                candidates.append(0)
            closed[w] = min(candidates) if candidates else None
        change = None
        if history:
            before = [r for (r,) in self._db.execute("SELECT rows FROM volumes WHERE batch_id < ? ORDER BY batch_id "
                                                     "DESC LIMIT ?", (batch_id, history))]
            change = rows / statistics.median(before) if len(before) == history else None
        return {"open": opened, "closed": closed, "change": change}
