"""``INSERT ... ON CONFLICT`` for the two dialects the service runs on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def _insert(connection: sa.Connection, table: sa.Table) -> Any:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the dc43 service runs on PostgreSQL or SQLite, not {dialect}")


def upsert(connection: sa.Connection, table: sa.Table, values: Mapping[str, Any], *, keys: Iterable[str],
           update: Iterable[str]) -> None:
    """Insert ``values``; a row with the same ``keys`` gets the ``update`` columns instead."""
    statement = _insert(connection, table).values(**values)
    changed = {name: statement.excluded[name] for name in update}
    connection.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changed))


def insert_once(connection: sa.Connection, table: sa.Table, values: Mapping[str, Any], *, keys: Iterable[str]) -> bool:
    """Insert ``values`` unless a row with the same ``keys`` exists; True when inserted."""
    statement = _insert(connection, table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    return connection.execute(statement).rowcount == 1
