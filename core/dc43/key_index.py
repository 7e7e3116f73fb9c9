"""The keys a stream published, each with the micro-batch that first published it (Arrow and numpy).

One index per streaming query: it lives where its micro-batches are judged, and its folder
is named after the query's checkpoint, so a restart finds it and a new checkpoint starts an
empty one.  A key counts as seen in batch ``n`` only when a batch *before* ``n`` published
it: replaying batch ``n`` after a crash never finds its own keys.

Keys arrive as Arrow tables, one row per distinct key: ``h`` (a 64-bit hash of the key, Spark's
``xxhash64``), the key's columns ``k0``... and ``e``, its newest event time in microseconds
(null when the rule has no event time).  Each published batch is one Arrow IPC file of its new
keys, written whole then renamed.  In memory the hashes are kept in sorted runs (at most about
log2 of the batches): a lookup is one vectorised binary search per run, and only a hash found
there has its key compared, column by column, with the stored one.  A batch whose keys are all
new does no work per key in Python.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

#: the schema metadata of a batch's file: its batch id, when it was published, its newest event time
METADATA = b"dc43.keys"
#: the columns of a stored key besides its own: its hash and its newest event time
HASH, EVENT = "h", "e"


@attrs.define
class _Batch:
    """One published batch's new keys."""

    batch_id: int
    first_at: float
    max_event: int | None
    table: pa.Table
    path: Path | None
    #: keys the horizon still kept when a later batch was published (event time forgets key by key)
    kept: int = -1

    def __attrs_post_init__(self) -> None:
        if self.kept < 0:
            self.kept = self.table.num_rows


@attrs.define
class _Run:
    """Hashes in ascending order, each with the stored batch (by generation) and row it points to."""

    hashes: np.ndarray
    generations: np.ndarray
    rows: np.ndarray

    @classmethod
    def sorted(cls, hashes: np.ndarray, generations: np.ndarray, rows: np.ndarray) -> _Run:
        if _ascending(hashes):  # a batch's keys come in the order of their hashes
            return cls(hashes, generations, rows)
        order = np.argsort(hashes, kind="stable")  # sorted runs concatenated: merged in linear time
        return cls(hashes[order], generations[order], rows[order])

    def merged(self, newer: _Run) -> _Run:
        """Both runs as one, in one pass: each of ``newer``'s entries goes where a binary search puts it."""
        size = len(self.hashes) + len(newer.hashes)
        placed = np.searchsorted(self.hashes, newer.hashes, side="right") + np.arange(len(newer.hashes))
        others = np.ones(size, dtype=bool)
        others[placed] = False
        arrays = []
        for mine, theirs in ((self.hashes, newer.hashes), (self.generations, newer.generations),
                             (self.rows, newer.rows)):
            out = np.empty(size, dtype=mine.dtype)
            out[placed] = theirs
            out[others] = mine
            arrays.append(out)
        return _Run(*arrays)


class RuleKeys:
    """The keys one ``unique_across`` rule's batches published; ``folder`` None keeps them in memory."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._batches: dict[int, _Batch] = {}  # generation -> batch; a replay gets a new generation
        self._live: dict[int, int] = {}  # batch id -> its generation
        self._dead = 0  # run entries of stored batches since dropped or replaced
        self._runs: list[_Run] = []
        self._next = 0
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for scratch in folder.glob("*.part"):  # a publish cut off before its rename
                scratch.unlink()
            loaded = [self._add(_read(path), path) for path in sorted(folder.glob("batch-*.arrow"))]
            if loaded:
                self._runs = [self._run_of(loaded)]

    def seen(self, keys: pa.Table, batch_id: int, horizon: Mapping[str, Any], *, now: float) -> np.ndarray:
        """A boolean per row of ``keys``: TRUE where a batch before ``batch_id`` published that key
        and ``horizon`` still keeps it for ``batch_id``."""
        found = np.zeros(keys.num_rows, dtype=bool)
        kept = self._kept(batch_id, horizon, now=now)
        if not kept or keys.num_rows == 0:
            return found
        probes, generations, rows = self._candidates(keys.column(HASH).to_numpy())
        if probes.size == 0:
            return found
        for generation in np.unique(generations):  # one comparison per stored batch, never per key
            mine = generations == generation
            if int(generation) not in kept:
                continue
            ours, theirs = probes[mine], rows[mine]
            stored = self._batches[int(generation)].table
            same = np.ones(ours.size, dtype=bool)
            for name in (name for name in stored.column_names if name not in (HASH, EVENT)):
                equal = pc.equal(keys.column(name).take(ours), stored.column(name).take(theirs))
                same &= pc.fill_null(equal, False).to_numpy(zero_copy_only=False)
            cutoff = kept[int(generation)]
            if cutoff is not None:  # event time: keys without one are kept
                events = stored.column(EVENT).take(theirs)
                same &= pc.fill_null(pc.greater_equal(events, cutoff), True).to_numpy(zero_copy_only=False)
            found[ours[same]] = True
        return found

    def publish(self, keys: pa.Table, batch_id: int, horizon: Mapping[str, Any], *, now: float,
                max_event: int | None) -> None:
        """Keep ``keys`` (those :meth:`seen` did not find) as first published by ``batch_id``, and
        forget what the horizon no longer kept for it (a replay of it then sees what it saw)."""
        if not keys.num_rows and "event_time" not in horizon:  # only event time needs the batch's mark
            self._forget(batch_id, horizon, now=now)
            return
        metadata = {METADATA: json.dumps({"batch_id": batch_id, "first_at": now, "max_event": max_event}).encode()}
        table = keys.replace_schema_metadata(metadata)
        path = None
        if self.folder is not None:
            path = self.folder / f"batch-{batch_id:012d}.arrow"
            _write(table, path)
        generation = self._add(table, path)
        if table.num_rows:  # else only its newest event time
            self._runs.append(self._run_of([generation]))
            while len(self._runs) > 1 and len(self._runs[-2].hashes) <= 2 * len(self._runs[-1].hashes):
                newer, older = self._runs.pop(), self._runs.pop()
                self._runs.append(older.merged(newer))
        self._forget(batch_id, horizon, now=now)

    def count(self) -> int:
        """How many keys the horizon keeps (as of the last publish)."""
        return sum(batch.kept for batch in self._batches.values())

    def size(self) -> int:
        """Bytes the stored keys take on disk (in memory, without a folder)."""
        return sum(batch.path.stat().st_size if batch.path else batch.table.nbytes for batch in self._batches.values())

    # -- internals --------------------------------------------------------
    def _add(self, table: pa.Table, path: Path | None) -> int:
        meta = json.loads(table.schema.metadata[METADATA])
        generation, self._next = self._next, self._next + 1
        replaced = self._live.get(meta["batch_id"])
        if replaced is not None:  # a replayed batch: its earlier keys go
            self._forgotten(self._batches.pop(replaced))
        self._batches[generation] = _Batch(meta["batch_id"], meta["first_at"], meta["max_event"], table, path)
        self._live[meta["batch_id"]] = generation
        return generation

    def _run_of(self, generations: list[int]) -> _Run:
        tables = [self._batches[g].table for g in generations]
        return _Run.sorted(
            np.concatenate([t.column(HASH).to_numpy() for t in tables]),
            np.concatenate([np.full(t.num_rows, g, dtype=np.int64) for g, t in zip(generations, tables, strict=True)]),
            np.concatenate([np.arange(t.num_rows, dtype=np.int64) for t in tables]))

    def _candidates(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probe row, generation, stored row) of every stored entry whose hash equals a probe's.

        The probes are searched in ascending order (a binary search that starts where the last
        one ended, several times faster than in random order)."""
        order = None if _ascending(hashes) else np.argsort(hashes)
        if order is not None:
            hashes = hashes[order]
        probes, generations, rows = [], [], []
        for run in self._runs:
            if not len(run.hashes):
                continue
            left = np.searchsorted(run.hashes, hashes, side="left")
            inside = left < len(run.hashes)
            hit = np.flatnonzero(inside & (run.hashes[np.minimum(left, len(run.hashes) - 1)] == hashes))
            if hit.size == 0:  # the usual case: no hash of the batch is in this run
                continue
            counts = np.searchsorted(run.hashes, hashes[hit], side="right") - left[hit]
            positions = np.repeat(left[hit], counts) + _within(counts)
            probes.append(np.repeat(hit, counts))
            generations.append(run.generations[positions])
            rows.append(run.rows[positions])
        if not probes:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        found = np.concatenate(probes)
        return (found if order is None else order[found]), np.concatenate(generations), np.concatenate(rows)

    def _kept(self, batch_id: int, horizon: Mapping[str, Any], *, now: float) -> dict[int, int | None]:
        """Stored batches before ``batch_id`` the horizon keeps for it: generation -> None (all its
        keys) or the event time (microseconds) from which its keys are kept."""
        before = {g: batch for g, batch in self._batches.items() if batch.batch_id < batch_id}
        if "batches" in horizon:
            return {g: None for g, batch in before.items() if batch.batch_id >= batch_id - horizon["batches"]}
        if "event_time" in horizon:
            events = [batch.max_event for batch in before.values() if batch.max_event is not None]
            if not events:
                return dict.fromkeys(before)
            cutoff = max(events) - int(horizon["seconds"] * 1_000_000)
            return dict.fromkeys(before, cutoff)
        if "seconds" in horizon:
            return {g: None for g, batch in before.items() if batch.first_at >= now - horizon["seconds"]}
        return dict.fromkeys(before)

    def _forget(self, batch_id: int, horizon: Mapping[str, Any], *, now: float) -> None:
        """Drop the stored batches (and, by event time, the keys) no batch from ``batch_id`` on can see."""
        if not horizon:
            return
        kept = self._kept(batch_id, horizon, now=now)
        for generation, batch in list(self._batches.items()):
            if batch.batch_id >= batch_id:
                continue
            cutoff = kept.get(generation, False)
            if cutoff is False:
                self._drop(generation)
            elif cutoff is not None:
                events = batch.table.column(EVENT)
                alive = pc.fill_null(pc.greater_equal(events, cutoff), True)
                batch.kept = pc.sum(alive).as_py() or 0
                newest = batch.max_event is not None and batch.max_event >= cutoff + int(horizon["seconds"] * 1_000_000)
                if not batch.kept and not newest:  # the newest event time stays: the next cutoff trails it
                    self._drop(generation)
                elif 2 * batch.kept < batch.table.num_rows:  # mostly forgotten: rewritten, once in a while
                    self._rewrite(generation, batch.table.filter(alive))

    def _drop(self, generation: int) -> None:
        batch = self._batches.pop(generation)
        self._forgotten(batch)
        del self._live[batch.batch_id]
        if batch.path is not None:
            batch.path.unlink(missing_ok=True)

    def _forgotten(self, batch: _Batch) -> None:
        """A stored batch went; once the runs hold more such entries than live ones, they are rebuilt."""
        self._dead += batch.table.num_rows
        if self._dead > sum(len(run.hashes) for run in self._runs) - self._dead:
            live = [g for g, each in self._batches.items() if each.table.num_rows]
            self._runs = [self._run_of(live)] if live else []
            self._dead = 0

    def _rewrite(self, generation: int, table: pa.Table) -> None:
        batch = self._batches[generation]
        if batch.path is not None:
            _write(table, batch.path)
        generation = self._add(table, batch.path)
        if table.num_rows:
            self._runs.append(self._run_of([generation]))


def _ascending(values: np.ndarray) -> bool:
    return bool((values[1:] >= values[:-1]).all())


def _within(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... count-1 for each count, concatenated."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - starts


def _write(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` whole or not at all."""
    scratch = path.with_suffix(".part")
    with pa.OSFile(str(scratch), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    with open(scratch, "rb") as written:
        os.fsync(written.fileno())
    os.replace(scratch, path)


def _read(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return ipc.open_file(source).read_all()


class KeyIndex:
    """The keys of every ``unique_across`` rule of one streaming query: ``seen`` before a batch is
    judged, ``publish`` once it is published.  ``folder`` None keeps them in memory (a query
    without a checkpoint starts over anyway).  Event times are integers (microseconds);
    ``horizon`` is a rule's ``horizon`` parameter.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._rules: dict[str, RuleKeys] = {}
        self._lock = threading.Lock()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def rule(self, rule: str) -> RuleKeys:
        with self._lock:
            if rule not in self._rules:
                self._rules[rule] = RuleKeys(self._folder_of(rule))
            return self._rules[rule]

    def seen(self, rule: str, keys: pa.Table, batch_id: int, horizon: Mapping[str, Any], *,
             now: float) -> np.ndarray:
        """A boolean per row of ``keys``: TRUE where an earlier batch published it, within the horizon."""
        keys_of = self.rule(rule)
        with self._lock:
            return keys_of.seen(keys, batch_id, horizon, now=now)

    def publish(self, rule: str, keys: pa.Table, batch_id: int, horizon: Mapping[str, Any], *, now: float,
                max_event: int | None = None) -> None:
        """Keep ``keys`` as first published by ``batch_id``; pass only keys :meth:`seen` did not find."""
        keys_of = self.rule(rule)
        with self._lock:
            keys_of.publish(keys, batch_id, horizon, now=now, max_event=max_event)

    def sizes(self) -> dict[str, dict[str, int]]:
        """Per rule this process has used: the keys the horizon keeps and the bytes they take."""
        with self._lock:
            return {name: {"keys": keys_of.count(), "bytes": keys_of.size()} for name, keys_of in self._rules.items()}

    def _folder_of(self, rule: str) -> Path | None:
        """``<folder>/<rule>-<hash>``: the rule's key made a safe file name, and told apart by its hash."""
        if self.folder is None:
            return None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in rule)[:64]
        return self.folder / f"{safe}-{hashlib.sha256(rule.encode()).hexdigest()[:8]}"
