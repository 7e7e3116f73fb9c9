"""Opening the service's database: its URL, the engine, and the Alembic migrations applied at start.

PostgreSQL (``postgresql+psycopg://user@host/db``, psycopg 3) for teams; SQLite as the embedded
default (``.dc43/service.db`` under the working directory). Several ``dc43 serve`` processes may
share one database: every request is a transaction of its own, nothing is cached in a process.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from dc43.errors import ConfigurationError, GovernanceDatabaseError

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "DC43_DATABASE_URL"
DEFAULT_SQLITE = Path(".dc43") / "service.db"
MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(given: str | None = None) -> str:
    """``given``, else ``DC43_DATABASE_URL``, else the SQLite file ``.dc43/service.db`` (absolute)."""
    url = given or os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    return f"sqlite:///{DEFAULT_SQLITE.resolve()}"


def _alembic(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


class ServiceDatabase:
    """An engine on the service's database, migrated to the newest schema when opened."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        text = database_url(url)
        try:
            self.url = sa.make_url(text)
        except sa.exc.ArgumentError:
            raise ConfigurationError(f"database URL {text!r} is not a URL; give e.g. "
                                     "postgresql+psycopg://user@host:5432/dc43 or sqlite:///path/service.db "
                                     f"(--database-url or {DATABASE_URL_ENV})") from None
        #: the URL as logs and errors may show it: never its password
        self.label = self.url.render_as_string(hide_password=True)
        self.engine = self._engine()
        if migrate:
            self.upgrade()

    def __repr__(self) -> str:
        return f"ServiceDatabase({self.label!r})"

    def _engine(self) -> sa.Engine:
        options: dict[str, Any] = {}
        if self.url.get_backend_name() == "sqlite":
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"timeout": 30}
        elif self.url.get_backend_name() == "postgresql":
            options.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        try:
            engine = sa.create_engine(self.url, **options)
        except (ImportError, sa.exc.NoSuchModuleError) as exc:
            raise ConfigurationError(f"cannot open {self.label}: {exc}; install its driver "
                                     "(pip install 'dc43[service]' brings psycopg 3 for PostgreSQL)") from None
        if self.url.get_backend_name() == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    def upgrade(self) -> None:
        """Apply every migration the database lacks (several processes at once: the first wins)."""
        try:
            with self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":  # one migrating process at a time
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(4343)"))
                _refuse_foreign(connection, self.label)
                command.upgrade(_alembic(connection), "head")
        except sa.exc.OperationalError as exc:
            raise GovernanceDatabaseError(f"cannot reach the service database {self.label}: "
                                          f"{exc.orig or exc}; check the URL and that the server runs") from None

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head(self) -> str:
        """The newest revision this dc43 knows."""
        return ScriptDirectory(str(MIGRATIONS)).get_current_head()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _refuse_foreign(connection: sa.Connection, label: str) -> None:
    """Refuse a database holding another application's tables: dc43 would add its own to it."""
    tables = set(sa.inspect(connection).get_table_names())
    if tables and "alembic_version" not in tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise GovernanceDatabaseError(f"{label} holds another application's tables ({shown}), not a dc43 service "
                                      "database; give dc43 a database of its own")
