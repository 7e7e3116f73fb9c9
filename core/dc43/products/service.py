"""Data products: the registry rules, and the local service persisted beside governance (same SQLite file)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from dc43.contracts.versions import parse_version, sort_versions
from dc43.errors import ContractConflictError, ContractNotFoundError, Dc43Error
from dc43.governance.database import Database
from dc43.locators import utc_timestamp
from dc43.products.models import DataProduct, Port, PortRegistration

FIRST_VERSION = "0.1.0"


def _next_version(version: str) -> str:
    parsed = parse_version(version)
    return f"{parsed.major}.{parsed.minor + 1}.0"


class DataProductRegistry(ABC):
    """Data products by id and version; a changed port binding makes a new draft version.

    Subclasses keep the documents: :class:`LocalDataProductService` in SQLite, the shared
    service in its database (:mod:`dc43.service.product_store`).
    """

    @abstractmethod
    def _insert(self, product: DataProduct, document: str) -> str | None:
        """Store ``document`` unless the version exists; the stored document when it does."""

    @abstractmethod
    def _document(self, product_id: str, version: str) -> str | None:
        """The stored document of a product version, or None."""

    @abstractmethod
    def _versions(self, product_id: str) -> list[str]:
        """Every stored version of ``product_id``."""

    @abstractmethod
    def _ids(self) -> list[str]:
        """Every stored product id."""

    def put(self, product: DataProduct) -> None:
        """Store a product version; an existing version must be identical."""
        document = json.dumps(product.to_dict(), sort_keys=True)
        stored = self._insert(product, document)
        if stored is not None and stored != document:
            raise ContractConflictError(
                f"data product {product.id} version {product.version} exists with other "
                "content; store the change as a new version")

    def versions(self, product_id: str) -> list[str]:
        return sort_versions(self._versions(product_id))

    def product_ids(self) -> list[str]:
        """Every product id, sorted."""
        return sorted(self._ids())

    def get(self, product_id: str, version: str | None = None) -> DataProduct:
        """A product version (default: the newest)."""
        versions = self.versions(product_id)
        if not versions:
            raise ContractNotFoundError(
                f"no data product '{product_id}'; known: {', '.join(self.product_ids()) or 'none'}. "
                "Register a port on it first (a write to an output port creates it)")
        version = version or versions[-1]
        document = self._document(product_id, version)
        if document is None:
            raise ContractNotFoundError(
                f"data product '{product_id}' has no version {version}; available: {', '.join(versions)}")
        return DataProduct.from_dict(json.loads(document))

    def port_contract(self, product_id: str, kind: str, port_name: str,
                      version: str | None = None) -> Port:
        """The port ``port_name`` (``kind`` is input or output) of a product version."""
        product = self.get(product_id, version)
        port = product.port(kind, port_name)
        if port is None:
            names = [p.name for p in (product.input_ports if kind == "input" else product.output_ports)]
            raise Dc43Error(
                f"data product {product_id}@{product.version} has no {kind} port '{port_name}'; "
                f"{kind} ports: {', '.join(names) or 'none'}")
        return port

    def register_port(self, product_id: str, kind: str, port: Port) -> PortRegistration:
        """Bind ``port`` on the newest version; a change creates a new draft version."""
        try:
            current = self.get(product_id)
        except ContractNotFoundError:
            current = None
        if current is not None and current.port(kind, port.name) == port:
            return PortRegistration(product_id, port.name, kind, current.version, current.status,
                                    False, f"{kind} port '{port.name}' already bound")
        if current is None:
            product = DataProduct(id=product_id, version=FIRST_VERSION).with_port(kind, port, FIRST_VERSION)
        else:
            product = current.with_port(kind, port, _next_version(current.version))
        self.put(product)
        return PortRegistration(
            product_id, port.name, kind, product.version, product.status, True,
            f"{kind} port '{port.name}' bound to {port.contract_id}@{port.version}: "
            f"new draft version {product.version} of data product {product_id}")


class LocalDataProductService(DataProductRegistry):
    """Data products in SQLite; ``path=None`` keeps them in memory, the governance database path
    keeps them beside governance records."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.db = Database(path)

    def _insert(self, product: DataProduct, document: str) -> str | None:
        def write(conn: Any) -> str | None:
            row = conn.execute("SELECT document_json FROM data_products WHERE product_id = ? AND "
                               "version = ?", (product.id, product.version)).fetchone()
            if row is None:
                conn.execute("INSERT INTO data_products VALUES (?, ?, ?, ?, ?)",
                             (product.id, product.version, product.status, document, utc_timestamp()))
            return None if row is None else row[0]

        return self.db.write(write)

    def _document(self, product_id: str, version: str) -> str | None:
        rows = self.db.rows("SELECT document_json FROM data_products WHERE product_id = ? AND version = ?",
                            (product_id, version))
        return rows[0][0] if rows else None

    def _versions(self, product_id: str) -> list[str]:
        return [r[0] for r in self.db.rows("SELECT version FROM data_products WHERE product_id = ?", (product_id,))]

    def _ids(self) -> list[str]:
        return [r[0] for r in self.db.rows("SELECT DISTINCT product_id FROM data_products")]
