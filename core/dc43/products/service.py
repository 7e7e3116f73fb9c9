"""The local data-product service, persisted beside governance (same SQLite file)."""

from __future__ import annotations

import json
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


class LocalDataProductService:
    """Data products by id and version; a changed port binding makes a new draft version.

    ``path=None`` keeps products in memory; pass the governance database path to
    keep them beside governance records.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.db = Database(path)

    def put(self, product: DataProduct) -> None:
        """Store a product version; an existing version must be identical."""
        document = json.dumps(product.to_dict(), sort_keys=True)

        def write(conn: Any) -> None:
            row = conn.execute("SELECT document_json FROM data_products WHERE product_id = ? AND "
                               "version = ?", (product.id, product.version)).fetchone()
            if row is not None:
                if row[0] != document:
                    raise ContractConflictError(
                        f"data product {product.id} version {product.version} exists with other "
                        "content; store the change as a new version")
                return
            conn.execute("INSERT INTO data_products VALUES (?, ?, ?, ?, ?)",
                         (product.id, product.version, product.status, document, utc_timestamp()))

        self.db.write(write)

    def versions(self, product_id: str) -> list[str]:
        rows = self.db.rows("SELECT version FROM data_products WHERE product_id = ?", (product_id,))
        return sort_versions(r[0] for r in rows)

    def get(self, product_id: str, version: str | None = None) -> DataProduct:
        """A product version (default: the newest)."""
        versions = self.versions(product_id)
        if not versions:
            known = [r[0] for r in self.db.rows("SELECT DISTINCT product_id FROM data_products")]
            raise ContractNotFoundError(
                f"no data product '{product_id}'; known: {', '.join(sorted(known)) or 'none'}. "
                "Register a port on it first (a write to an output port creates it)")
        version = version or versions[-1]
        rows = self.db.rows("SELECT document_json FROM data_products WHERE product_id = ? AND "
                            "version = ?", (product_id, version))
        if not rows:
            raise ContractNotFoundError(
                f"data product '{product_id}' has no version {version}; available: {', '.join(versions)}")
        return DataProduct.from_dict(json.loads(rows[0][0]))

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
