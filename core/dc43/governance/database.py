"""SQLite plumbing for the local governance service: connections, migrations, retries.

One connection per thread (sqlite3 connections must not be shared), WAL
journal so readers never block the writer, a busy timeout plus a bounded retry
for the rare ``database is locked`` that WAL still allows between processes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from dc43.errors import GovernanceDatabaseError

T = TypeVar("T")

BUSY_TIMEOUT_S = 5.0  # a writer waits this long for the lock per try; past the tries, deliveries wait in the outbox
RETRIES = 4

#: Ordered migrations; the index + 1 is the schema version.  Append, never edit.
MIGRATIONS: Sequence[str] = (
    """
    CREATE TABLE datasets (
        dataset_id TEXT PRIMARY KEY,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE TABLE dataset_versions (
        dataset_id TEXT NOT NULL REFERENCES datasets(dataset_id),
        dataset_version TEXT NOT NULL,
        contract_id TEXT NOT NULL,
        contract_version TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (dataset_id, dataset_version)
    );
    CREATE TABLE observations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_id TEXT NOT NULL,
        dataset_version TEXT NOT NULL,
        contract_id TEXT NOT NULL,
        contract_version TEXT NOT NULL,
        operation TEXT NOT NULL,
        schema_json TEXT,
        status TEXT NOT NULL,
        pipeline_context_json TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX observations_by_dataset ON observations (dataset_id, recorded_at);
    CREATE TABLE batch_verdicts (
        dataset_id TEXT NOT NULL,
        dataset_version TEXT NOT NULL,
        batch_id INTEGER NOT NULL,
        contract_id TEXT NOT NULL,
        contract_version TEXT NOT NULL,
        status TEXT NOT NULL,
        row_count INTEGER NOT NULL,
        violations INTEGER NOT NULL,
        metrics_json TEXT NOT NULL,
        reason TEXT,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (dataset_id, dataset_version, batch_id)
    );
    CREATE INDEX verdicts_by_time ON batch_verdicts (dataset_id, recorded_at);
    """,
    """
    ALTER TABLE observations ADD COLUMN location_json TEXT;
    CREATE TABLE metric_requests (
        request_id TEXT PRIMARY KEY,
        dataset_id TEXT NOT NULL,
        dataset_version TEXT NOT NULL,
        state TEXT NOT NULL,
        status TEXT,
        metrics_json TEXT,
        error TEXT,
        requested_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE TABLE data_products (
        product_id TEXT NOT NULL,
        version TEXT NOT NULL,
        status TEXT NOT NULL,
        document_json TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (product_id, version)
    );
    """,
    """
    ALTER TABLE observations ADD COLUMN warnings_json TEXT;
    """,
    """
    ALTER TABLE batch_verdicts ADD COLUMN commit_json TEXT;
    """,
    """
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_id TEXT NOT NULL,
        alert_json TEXT NOT NULL,
        delivered_json TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX alerts_by_dataset ON alerts (dataset_id, id);
    CREATE TABLE stale_periods (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_id TEXT NOT NULL,
        since TEXT NOT NULL,
        detected_at TEXT NOT NULL,
        ended_at TEXT,
        last_batch_id INTEGER,
        frequency_s REAL NOT NULL
    );
    CREATE INDEX stale_by_dataset ON stale_periods (dataset_id, id);
    """,
    """
    CREATE TABLE batch_verdicts_by_query (
        dataset_id TEXT NOT NULL,
        dataset_version TEXT NOT NULL,
        query_id TEXT NOT NULL DEFAULT '',
        batch_id INTEGER NOT NULL,
        contract_id TEXT NOT NULL,
        contract_version TEXT NOT NULL,
        status TEXT NOT NULL,
        row_count INTEGER NOT NULL,
        violations INTEGER NOT NULL,
        metrics_json TEXT NOT NULL,
        reason TEXT,
        recorded_at TEXT NOT NULL,
        commit_json TEXT,
        rules_json TEXT,
        PRIMARY KEY (dataset_id, dataset_version, query_id, batch_id)
    );
    INSERT INTO batch_verdicts_by_query (dataset_id, dataset_version, batch_id, contract_id, contract_version, status,
        row_count, violations, metrics_json, reason, recorded_at, commit_json)
        SELECT dataset_id, dataset_version, batch_id, contract_id, contract_version, status, row_count, violations,
        metrics_json, reason, recorded_at, commit_json FROM batch_verdicts;
    DROP TABLE batch_verdicts;
    ALTER TABLE batch_verdicts_by_query RENAME TO batch_verdicts;
    CREATE INDEX verdicts_by_time ON batch_verdicts (dataset_id, recorded_at);
    """,
)


def _retry_locked(work: Callable[[], T]) -> T:
    """Run ``work``, retrying with backoff the "database is locked" SQLite can return between processes."""
    for attempt in range(RETRIES):
        try:
            return work()
        except sqlite3.OperationalError as exc:
            transient = "locked" in str(exc) or "busy" in str(exc)
            if not transient or attempt == RETRIES - 1:
                raise
            time.sleep(0.05 * 2 ** attempt)
    raise AssertionError("unreachable")


class Database:
    """A SQLite file (or a private in-memory database when ``path`` is None) at the newest of
    ``migrations`` (the governance tables unless told otherwise)."""

    def __init__(self, path: str | Path | None, migrations: Sequence[str] = MIGRATIONS) -> None:
        self.migrations = tuple(migrations)
        if path is None:
            self.uri = f"file:dc43-{uuid.uuid4().hex}?mode=memory&cache=shared"
            self.label = ":memory:"
        else:
            file = Path(path)
            if file.is_dir():
                raise GovernanceDatabaseError(f"governance database '{file}' is a folder; give the path of a "
                                              f"file, e.g. '{file}/governance.db'")
            file.parent.mkdir(parents=True, exist_ok=True)
            self.uri = file.resolve().as_uri()
            self.label = str(file)
        self._local = threading.local()
        try:
            self._keepalive = self._connect()  # an in-memory database lives while one connection does
            self._check_ours()
        except sqlite3.DatabaseError as exc:
            raise GovernanceDatabaseError(f"'{self.label}' is not an SQLite database ({exc}); give dc43 a file of "
                                          "its own, or a path where it can create one") from None
        self._migrate()

    def _check_ours(self) -> None:
        """Refuse another application's database: dc43 would add its tables to it."""
        tables = {row[0] for row in self._keepalive.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "schema_migrations" not in tables:
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise GovernanceDatabaseError(
                f"'{self.label}' is another application's SQLite database (tables: {shown}), not a dc43 "
                "governance database; dc43 will not add its tables to it. Give dc43 a file of its own")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.uri, uri=True, timeout=BUSY_TIMEOUT_S,
                               isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        if not self.uri.startswith("file:dc43-"):
            # Switching a new file to WAL can fail with "locked" without waiting for the busy
            # timeout while another process creates the same file: retried like a transaction.
            _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _migrate(self) -> None:
        def apply(conn: sqlite3.Connection) -> None:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                         "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, script in enumerate(self.migrations, start=1):
                if version in done:
                    continue
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", (version,))

        self.write(apply)

    @property
    def schema_version(self) -> int:
        return self.read(lambda c: c.execute("SELECT max(version) FROM schema_migrations").fetchone()[0])

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection, mode: str) -> Iterator[None]:
        conn.execute(f"BEGIN {mode}")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _retrying(self, work: Callable[[sqlite3.Connection], T], mode: str) -> T:
        conn = self._connection()

        def attempt() -> T:
            with self._transaction(conn, mode):
                return work(conn)

        return _retry_locked(attempt)

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one write transaction (taken up front, so it cannot deadlock)."""
        return self._retrying(work, "IMMEDIATE")

    def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on a consistent snapshot."""
        return self._retrying(work, "DEFERRED")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.read(lambda c: c.execute(sql, params).fetchall())
