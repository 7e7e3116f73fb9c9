"""Test doubles written the way the original dc43's users wrote theirs: a governance service and a
data-product service with the original's methods (never dc43's), and the contract they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from open_data_contract_standard.model import OpenDataContractStandard

COLUMNS = ["order_id", "customer_id", "amount", "currency"]
#: two clean rows, one negative amount, one unknown currency (hand-counted: 1 + 1 violations)
ROWS = [(1, 10, 12.5, "EUR"), (2, 11, 30.0, "USD"), (3, 12, -4.0, "EUR"), (4, 13, 8.0, "JPY")]
CLEAN = ROWS[:2]


def ledger_contract(path: str | None = None, *, fmt: str = "parquet", status: str = "active",
                    version: str = "1.0.0") -> OpenDataContractStandard:
    """The contract of a small ledger of orders, with a filesystem server when ``path`` is given."""
    document: dict[str, Any] = {
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "legacy.ledger", "version": version, "status": status,
        "schema": [{"name": "ledger", "properties": [
            {"name": "order_id", "physicalType": "bigint", "required": True},
            {"name": "customer_id", "physicalType": "bigint", "required": True},
            {"name": "amount", "physicalType": "double", "quality": [{"mustBeGreaterThan": 0}]},
            {"name": "currency", "physicalType": "string", "quality": [{"rule": "enum", "mustBe": ["EUR", "USD"]}]},
        ]}],
    }
    if path is not None:
        document["servers"] = [{"server": "local", "type": "filesystem", "path": path, "format": fmt}]
    return OpenDataContractStandard.model_validate(document)


@dataclass
class Assessment:
    """What the original's ``evaluate_dataset`` answered."""

    status: Any
    validation: Any = None
    draft: Any = None


@dataclass
class OriginalGovernance:
    """A governance service as the original's users wrote them: it evaluates, links and serves contracts."""

    contracts: dict[tuple[str, str], OpenDataContractStandard] = field(default_factory=dict)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)

    def evaluate_dataset(self, *, contract_id: str, contract_version: str, dataset_id: str, dataset_version: str,
                         validation: Any, observations: Any, pipeline_context: Any, operation: str,
                         bump: str = "minor", draft_on_violation: bool = False) -> Assessment:
        from dc43_service_clients.data_quality import ValidationResult

        payload = observations()
        self.evaluations.append({"contract": (contract_id, contract_version), "dataset_id": dataset_id,
                                 "dataset_version": dataset_version, "validation": validation, "payload": payload,
                                 "operation": operation, "pipeline_context": pipeline_context})
        bad = sum(v for k, v in payload.metrics.items() if k.startswith("violations.") and v)
        return Assessment(ValidationResult(status="block" if bad else "ok", reason=f"{bad} violations",
                                           details={"assessed_by": "original"}), validation)

    def review_validation_outcome(self, **kwargs: Any) -> None:
        self.reviews.append(kwargs)

    def link_dataset_contract(self, **kwargs: Any) -> None:
        self.links.append(kwargs)

    def get_contract(self, *, contract_id: str, contract_version: str) -> OpenDataContractStandard:
        return self.contracts[(contract_id, contract_version)]

    def latest_contract(self, *, contract_id: str) -> OpenDataContractStandard | None:
        versions = sorted(v for c, v in self.contracts if c == contract_id)
        return self.contracts[(contract_id, versions[-1])] if versions else None

    def list_contract_versions(self, *, contract_id: str) -> list[str]:
        return sorted(v for c, v in self.contracts if c == contract_id)


@dataclass
class PlanningGovernance(OriginalGovernance):
    """An original governance that also resolves governed reads and writes and registers their activity."""

    activities: list[tuple[str, Any]] = field(default_factory=list)

    def _plan(self, kind: type, context: Any, **binding: Any) -> Any:
        contract = self.get_contract(contract_id=context.contract.contract_id,
                                     contract_version=context.contract.contract_version)
        return kind(contract=contract, contract_id=contract.id, contract_version=contract.version,
                    dataset_id=context.dataset_id or "planned.ledger", dataset_version=context.dataset_version or "v7",
                    pipeline_context={"planned": True}, **binding)

    def resolve_read_context(self, *, context: Any) -> Any:
        from dc43_service_clients.governance.models import ResolvedReadPlan

        return self._plan(ResolvedReadPlan, context, input_binding=context.input_binding)

    def resolve_write_context(self, *, context: Any) -> Any:
        from dc43_service_clients.governance.models import ResolvedWritePlan

        return self._plan(ResolvedWritePlan, context, output_binding=context.output_binding)

    def register_read_activity(self, *, plan: Any, assessment: Any) -> None:
        self.activities.append(("read", plan))

    def register_write_activity(self, *, plan: Any, assessment: Any) -> None:
        self.activities.append(("write", plan))


@dataclass
class ProductPort:
    name: str
    contract_id: str
    version: str


@dataclass
class Product:
    """The slice of an ODPS document the original's helpers read."""

    id: str
    version: str
    status: str
    input_ports: list[ProductPort] = field(default_factory=list)
    output_ports: list[ProductPort] = field(default_factory=list)


@dataclass
class Registration:
    product: Product
    changed: bool


@dataclass
class OriginalProducts:
    """A data-product service with the original's methods; ``changed`` says whether a registration
    made a new draft (the original then stopped for a review)."""

    changed: bool = False
    products: dict[str, list[Product]] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)

    def get(self, data_product_id: str, version: str) -> Product:
        for product in self.products.get(data_product_id, []):
            if product.version == version:
                return product
        raise FileNotFoundError(f"{data_product_id}:{version}")

    def latest(self, data_product_id: str) -> Product | None:
        versions = self.products.get(data_product_id, [])
        return versions[-1] if versions else None

    def list_versions(self, data_product_id: str) -> list[str]:
        return [p.version for p in self.products.get(data_product_id, [])]

    def _register(self, calls: list[dict[str, Any]], kind: str, **call: Any) -> Registration:
        calls.append(call)
        current = self.latest(call["data_product_id"]) or Product(call["data_product_id"], "1.0.0", "active")
        product = Product(current.id, "1.1.0-draft" if self.changed else current.version,
                          "draft" if self.changed else current.status, list(current.input_ports),
                          list(current.output_ports))
        getattr(product, f"{kind}_ports").append(ProductPort(call["port_name"], call["contract_id"],
                                                            call["contract_version"]))
        self.products.setdefault(product.id, []).append(product)
        return Registration(product, self.changed)

    def register_input_port(self, **call: Any) -> Registration:
        return self._register(self.inputs, "input", **call)

    def register_output_port(self, **call: Any) -> Registration:
        return self._register(self.outputs, "output", **call)

    def resolve_output_contract(self, *, data_product_id: str, port_name: str) -> tuple[str, str] | None:
        product = self.latest(data_product_id)
        port = next((p for p in product.output_ports if p.name == port_name), None) if product else None
        return (port.contract_id, port.version) if port else None
