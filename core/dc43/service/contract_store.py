"""Contracts in the service's database: the :class:`~dc43.contracts.store.ContractStore` rules
(immutable versions, SemVer keys, conflicts refused) over one table."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from dc43.contracts.store import ContractStore
from dc43.errors import ContractConflictError
from dc43.locators import utc_timestamp
from dc43.service import tables as t
from dc43.service.database import ServiceDatabase
from dc43.service.upserts import insert_once


class SQLContractStore(ContractStore):
    """Every contract version as one row; a version once stored is never changed."""

    def __init__(self, database: ServiceDatabase) -> None:
        super().__init__()
        self.database = database

    def __repr__(self) -> str:
        return f"SQLContractStore({self.database.label!r})"

    def _read(self, contract_id: str, version: str) -> dict[str, Any] | None:
        c = t.contracts.c
        with self.database.engine.connect() as connection:
            text = connection.execute(sa.select(c.document_json).where(
                c.contract_id == contract_id, c.version == version)).scalar_one_or_none()
        return None if text is None else json.loads(text)

    def _write(self, contract_id: str, version: str, data: dict[str, Any]) -> None:
        with self.database.engine.begin() as connection:
            inserted = insert_once(connection, t.contracts, {"contract_id": contract_id, "version": version,
                                                  "status": str(data.get("status") or ""),
                                                  "document_json": json.dumps(data), "recorded_at": utc_timestamp()},
                        keys=["contract_id", "version"])
        if not inserted and self._read(contract_id, version) != data:  # another process published it first
            raise ContractConflictError(f"Contract '{contract_id}' version {version} was just published with other "
                                        "content; bump the version instead of overwriting a published contract.")

    def _ids(self) -> Iterable[str]:
        with self.database.engine.connect() as connection:
            return list(connection.execute(sa.select(t.contracts.c.contract_id).distinct()).scalars())

    def _versions(self, contract_id: str) -> Iterable[str]:
        c = t.contracts.c
        with self.database.engine.connect() as connection:
            return list(connection.execute(sa.select(c.version).where(c.contract_id == contract_id)).scalars())
