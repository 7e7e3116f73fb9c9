"""The original API's local governance service, on dc43's records (caller side).

``build_local_governance_service(store)`` gave the original's pipelines one object that
served contracts, resolved governed reads and writes to plans and kept verdicts.
:class:`LocalGovernance` is that object here: dc43's governance records (every method of
:class:`~dc43.governance.LocalGovernanceService` passes through), a contract client, a
data-quality service and a data-product service.
"""

from __future__ import annotations

from typing import Any, Optional

from dc43.contracts.store import ContractStore
from dc43.errors import InvalidArgumentError
from dc43.legacy.plans import (
    GovernanceReadContext,
    GovernanceWriteContext,
    QualityAssessment,
    ResolvedReadPlan,
    ResolvedWritePlan,
    pipeline_context_of,
)
from dc43.legacy.services import binding_contract, find_contract, is_original_products, register_port
from dc43.legacy.statuses import StatusPolicy
from dc43.products import Port


def _plan_fields(context: Any) -> dict[str, Any]:
    return {name: getattr(context, name) for name in (
        "bump", "draft_on_violation", "allowed_data_product_statuses", "allow_missing_data_product_status",
        "data_product_status_case_insensitive", "data_product_status_failure_message", "enforce_data_product_status")}


def _contract_of(context: Any, binding: Any, kind: str, *, contracts: Any, products: Any) -> Any:
    """The contract a governed context names, directly or through its data-product binding."""
    if context.contract is not None:
        return find_contract(context.contract.contract_id, context.contract.selector(), contracts=contracts,
                             governance=None)
    if binding is None:
        raise InvalidArgumentError(f"a governed {'read' if kind == 'input' else 'write'} needs a contract reference "
                                   f"or a data-product {kind} binding: pass context={{'contract': {{'contract_id': "
                                   "...}}}} or the binding")
    contract_id, selector = binding_contract(products, kind, binding)
    if contract_id is None:
        raise InvalidArgumentError(f"the {kind} binding of '{binding.data_product}' names no port to take the "
                                   "contract from: pass port_name=... or a contract reference")
    return find_contract(contract_id, selector, contracts=contracts, governance=None)


def _resolve(context: Any, kind: str, *, contracts: Any, products: Any) -> Any:
    """A governed context's plan: its contract, and the dataset named after it unless the context names one."""
    field = "input_binding" if kind == "input" else "output_binding"
    binding = getattr(context, field)
    contract = _contract_of(context, binding, kind, contracts=contracts, products=products)
    plan = ResolvedReadPlan if kind == "input" else ResolvedWritePlan
    return plan(contract=contract, contract_id=contract.id, contract_version=contract.version,
                dataset_id=context.dataset_id or contract.id, dataset_version=context.dataset_version or contract.version,
                dataset_format=context.dataset_format, pipeline_context=pipeline_context_of(context.pipeline_context),
                **{field: binding}, **_plan_fields(context))


def resolve_read(context: GovernanceReadContext, *, contracts: Any, products: Any) -> ResolvedReadPlan:
    """A governed read's plan (:func:`_resolve`)."""
    return _resolve(context, "input", contracts=contracts, products=products)


def resolve_write(context: GovernanceWriteContext, *, contracts: Any, products: Any) -> ResolvedWritePlan:
    """A governed write's plan (:func:`_resolve`)."""
    return _resolve(context, "output", contracts=contracts, products=products)


def _records(records: Any) -> Any:
    return records


class LocalGovernance:
    """dc43's governance records with the original local governance service's methods."""

    def __init__(self, contracts: Any = None, *, records: Any = None, data_quality: Any = None,
                 products: Any = None) -> None:
        from dc43.spark import steps

        if isinstance(contracts, ContractStore):
            from dc43.contracts.service import LocalContractServiceClient

            contracts = LocalContractServiceClient(contracts)
        self.contracts = steps.service("contract", contracts)
        self.records = steps.service("governance", records)
        self.data_quality = steps.service("data_quality", data_quality)
        self.products = steps.service("data_product", products)

    def __repr__(self) -> str:
        return f"LocalGovernance({self.records!r})"

    def __reduce__(self) -> Any:
        """Pickled as its governance records: where micro-batches are judged, only records are kept."""
        return _records, (self.records,)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("records", "contracts", "data_quality", "products"):
            raise AttributeError(name)
        return getattr(self.records, name)  # record_verdict, verdicts, ...: dc43's governance records

    # -- contracts ---------------------------------------------------------------
    def get_contract(self, *, contract_id: str, contract_version: str) -> Any:
        return self.contracts.get(contract_id, contract_version)

    def latest_contract(self, *, contract_id: str) -> Any:
        return self.contracts.latest(contract_id)

    def list_contract_versions(self, *, contract_id: str) -> list[str]:
        return list(self.contracts.list_versions(contract_id))

    def describe_expectations(self, *, contract_id: str, contract_version: str) -> list[Any]:
        contract = self.contracts.get(contract_id, contract_version)
        return list(self.data_quality.describe_expectations(contract=contract))

    # -- datasets ----------------------------------------------------------------
    def link_dataset_contract(self, *, dataset_id: str, dataset_version: str, contract_id: str,
                              contract_version: str) -> None:
        self.records.link_contract(dataset_id, dataset_version, contract_id, contract_version)

    def get_linked_contract_version(self, *, dataset_id: str, dataset_version: Optional[str] = None) -> Optional[str]:
        """``"<contract id>:<version>"`` a dataset version (default: its newest) is linked to."""
        link = self.records.contract_link(dataset_id, dataset_version)
        return f"{link[0]}:{link[1]}" if link else None

    def list_datasets(self) -> list[str]:
        return [row["dataset_id"] for row in self.records.datasets()]

    # -- governed reads and writes -----------------------------------------------
    def resolve_read_context(self, *, context: GovernanceReadContext) -> ResolvedReadPlan:
        return resolve_read(context, contracts=self.contracts, products=self.products)

    def resolve_write_context(self, *, context: GovernanceWriteContext) -> ResolvedWritePlan:
        return resolve_write(context, contracts=self.contracts, products=self.products)

    def _bind(self, kind: str, binding: Any, plan: Any) -> None:
        if binding is None:
            return
        if is_original_products(self.products):
            policy = StatusPolicy(**{k: v for k, v in (
                ("allowed_data_product_statuses", plan.allowed_data_product_statuses),
                ("allow_missing_data_product_status", plan.allow_missing_data_product_status),
                ("data_product_status_case_insensitive", plan.data_product_status_case_insensitive),
                ("data_product_status_failure_message", plan.data_product_status_failure_message)) if v is not None})
            enforce = True if plan.enforce_data_product_status is None else plan.enforce_data_product_status
            register_port(self.products, kind, binding, plan.contract, handler=policy, enforce=enforce)
            return
        extra = (binding.source_data_product, binding.source_output_port) if kind == "input" else ()
        self.products.register_port(binding.data_product, kind, Port(binding.port_for(plan.contract),
                                                                     plan.contract_id, plan.contract_version, *extra))

    def register_read_activity(self, *, plan: ResolvedReadPlan, assessment: QualityAssessment) -> None:
        """Bind the plan's input port to its contract."""
        self._bind("input", plan.input_binding, plan)

    def register_write_activity(self, *, plan: ResolvedWritePlan, assessment: QualityAssessment) -> None:
        """Link the dataset version to the contract and bind the plan's output port to it."""
        self.link_dataset_contract(dataset_id=plan.dataset_id, dataset_version=plan.dataset_version,
                                   contract_id=plan.contract_id, contract_version=plan.contract_version)
        self._bind("output", plan.output_binding, plan)


def build_local_governance_service(store: Any = None, *, data_product_backend: Any = None,
                                   governance: Any = None, data_quality: Any = None) -> LocalGovernance:
    """The original's one-call local governance: contracts from ``store``, records in dc43's governance
    (the plugins' default unless ``governance`` is given), data products from ``data_product_backend``."""
    return LocalGovernance(store, records=governance, data_quality=data_quality, products=data_product_backend)

