"""Data products in the service's database (:class:`~dc43.products.service.DataProductRegistry` rules)."""

from __future__ import annotations

import sqlalchemy as sa

from dc43.locators import utc_timestamp
from dc43.products.models import DataProduct
from dc43.products.service import DataProductRegistry
from dc43.service import tables as t
from dc43.service.database import ServiceDatabase
from dc43.service.upserts import insert_once


class SQLDataProductStore(DataProductRegistry):
    """Product versions as rows; two processes binding the same port at once keep one version."""

    def __init__(self, database: ServiceDatabase) -> None:
        self.database = database

    def __repr__(self) -> str:
        return f"SQLDataProductStore({self.database.label!r})"

    def _insert(self, product: DataProduct, document: str) -> str | None:
        values = {"product_id": product.id, "version": product.version, "status": product.status,
                  "document_json": document, "recorded_at": utc_timestamp()}
        with self.database.engine.begin() as connection:
            inserted = insert_once(connection, t.data_products, values, keys=["product_id", "version"])
        return None if inserted else self._document(product.id, product.version)

    def _document(self, product_id: str, version: str) -> str | None:
        p = t.data_products.c
        with self.database.engine.connect() as connection:
            return connection.execute(sa.select(p.document_json).where(
                p.product_id == product_id, p.version == version)).scalar_one_or_none()

    def _versions(self, product_id: str) -> list[str]:
        p = t.data_products.c
        with self.database.engine.connect() as connection:
            return list(connection.execute(sa.select(p.version).where(p.product_id == product_id)).scalars())

    def _ids(self) -> list[str]:
        with self.database.engine.connect() as connection:
            return list(connection.execute(sa.select(t.data_products.c.product_id).distinct()).scalars())
