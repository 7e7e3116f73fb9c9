"""Services written for the original API, adapted to what dc43's helpers call (caller side).

The original's contract lookups (a contract service's ``get``/``latest``/``list_versions``
or a governance service's ``get_contract``/``latest_contract``/``list_contract_versions``)
and data-product services (``register_input_port``, ``register_output_port``,
``resolve_output_contract``) keep working; dc43's own services pass through unchanged.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from dc43.contracts.versions import parse_selector, parse_version, select_version
from dc43.errors import ContractNotFoundError, DataProductError, Dc43Error, InvalidArgumentError, VersionSelectorError
from dc43.governance.service import BatchVerdict, SchemaObservation
from dc43.legacy.statuses import apply_product_policy
from dc43.products import PortRegistration
from dc43.results import ObservationPayload, ValidationResult, observed_columns
from dc43.spark import products as ports
from dc43.spark import steps

log = logging.getLogger("dc43_integrations.spark.io")


class DataProductReviewError(Dc43Error, RuntimeError):
    """Registering a port made a new draft version of the data product, to be reviewed first."""


def _lookups(contracts: Any, governance: Any) -> tuple[Any, Any, Any]:
    """``get(id, version)``, ``latest(id)`` and ``versions(id)`` from whichever service has them."""
    if contracts is None and governance is not None and callable(getattr(governance, "get_contract", None)):
        return (lambda cid, version: governance.get_contract(contract_id=cid, contract_version=version),
                lambda cid: governance.latest_contract(contract_id=cid),
                lambda cid: governance.list_contract_versions(contract_id=cid))
    if contracts is None:
        contracts = steps.service("contract", None)
    return contracts.get, contracts.latest, contracts.list_versions


def find_contract(contract_id: str, selector: str | None, *, contracts: Any, governance: Any,
                  allowed: Any = True) -> Any:
    """The contract ``selector`` names (``None``: the latest; ``==1.0.0``, ``>=1.0.0`` or any dc43 selector).

    dc43's contract services pick among the versions whose status is ``allowed`` (``True``:
    any); others pick as the original did, whatever the status: the status policy follows.
    """
    if contracts is None and governance is None:
        contracts = steps.service("contract", None)
    if contracts is not None and callable(getattr(contracts, "resolve", None)):
        if allowed is True:
            return contracts.resolve(contract_id, selector, allow_inactive=True)
        return contracts.resolve(contract_id, selector, allowed_statuses=allowed)
    get, latest, versions = _lookups(contracts, governance)
    if selector is None or not str(selector).strip():
        contract = latest(contract_id)
        if contract is None:
            raise ContractNotFoundError(f"no versions of contract '{contract_id}' exist; publish one first")
        return contract
    text = str(selector).strip()
    exact = text[2:].strip() if text.startswith("==") else (text if text[0].isdigit() and "," not in text else None)
    if exact is not None:
        return get(contract_id, exact)
    return get(contract_id, select_version(list(versions(contract_id)), parse_selector(text), contract_id=contract_id))


def _satisfies(version: str, selector: str | None) -> bool:
    text = (selector or "").strip()
    if text.lower() in ("", "latest") or text in (version, f"=={version}"):
        return True
    try:
        return parse_selector(text).matches(parse_version(version), include_prerelease=True)
    except VersionSelectorError:
        return False


class PinnedContracts:
    """A contract service that resolves a contract's id to the contract the caller checked, for
    any selector it satisfies (``selector`` is the one the caller asked with)."""

    def __init__(self, contract: Any, contracts: Any, governance: Any, selector: str | None = None) -> None:
        self.contract = contract
        self.selector = selector
        self._services = (contracts, governance)
        self.get, self.latest, self.list_versions = _lookups(contracts, governance)

    def resolve(self, contract_id: str, expected_version: str | None = None, **_: Any) -> Any:
        pinned = self.contract
        if contract_id == pinned.id and _satisfies(pinned.version, expected_version):
            return pinned
        contracts, governance = self._services
        return find_contract(contract_id, expected_version, contracts=contracts, governance=governance)


def is_original_products(service: Any) -> bool:
    """Whether ``service`` is a data-product service written for the original API."""
    return service is not None and not callable(getattr(service, "register_port", None)) and (
        callable(getattr(service, "register_input_port", None))
        or callable(getattr(service, "register_output_port", None)))


def port_contract(service: Any, product_id: str, kind: str, port_name: str, version: str | None) -> tuple[str, str]:
    """``(contract_id, contract_version)`` bound to a port, from dc43's service or the original's."""
    if not is_original_products(service):
        port = service.port_contract(product_id, kind, port_name, version)
        return port.contract_id, port.version
    if kind == "output" and callable(getattr(service, "resolve_output_contract", None)):
        found = service.resolve_output_contract(data_product_id=product_id, port_name=port_name)
        if found is None:
            raise ContractNotFoundError(f"data product '{product_id}' output port '{port_name}' is bound to no "
                                        "contract; write to it with contract_id=... first")
        return found[0], found[1]
    product = service.get(product_id, version) if version else service.latest(product_id)
    ports = (getattr(product, "input_ports" if kind == "input" else "output_ports", None) or []) if product else []
    for port in ports:
        if port.name == port_name:
            return port.contract_id, port.version
    raise ContractNotFoundError(f"data product '{product_id}' has no {kind} port '{port_name}'"
                                + (f"; its {kind} ports: {', '.join(p.name for p in ports)}" if ports else ""))


def register_port(service: Any, kind: str, binding: Any, contract: Any, *, handler: Any, enforce: bool) -> PortRegistration:
    """Register ``binding``'s port with an original-API service, as the original did.

    A registration that made a new draft version raises :class:`DataProductReviewError`;
    a version the binding asks for must exist and its status pass ``handler``.
    """
    port = binding.port_for(contract)
    common = {"data_product_id": binding.data_product, "port_name": port, "contract_id": contract.id,
              "contract_version": contract.version, "bump": binding.bump,
              "custom_properties": dict(binding.custom_properties) if binding.custom_properties else None}
    if kind == "input":
        done = service.register_input_port(**common, source_data_product=binding.source_data_product,
                                           source_output_port=binding.source_output_port)
    else:
        done = service.register_output_port(**common)
    product = done.product
    if done.changed:
        raise DataProductReviewError(f"Data product {binding.data_product} {kind} port {port} requires review at "
                                     f"version {product.version or '<unknown>'}")
    wanted = (binding.data_product_version or "").strip()
    exact = wanted[2:].strip() if wanted.startswith("==") else wanted
    if exact and not exact.startswith(">="):
        try:
            product = service.get(binding.data_product, exact)
        except Exception as exc:  # the service's own not-found error, whatever its type
            message = (f"Data product {binding.data_product} version {exact} is not available for {kind} "
                       f"registration; versions: {', '.join(service.list_versions(binding.data_product)) or 'none'}")
            if enforce:
                raise DataProductError(message) from exc
            log.warning(message)
    apply_product_policy(handler, product, enforce=enforce, operation="read" if kind == "input" else "write")
    return PortRegistration(binding.data_product, port, kind, str(product.version or ""), str(product.status or ""),
                            False, f"{kind} port '{port}' already bound")


def check_products(service: Any) -> None:
    """Refuse an object that is no data-product service at all, naming what it lacks."""
    if service is None or callable(getattr(service, "register_port", None)) or is_original_products(service):
        return
    raise InvalidArgumentError(
        f"data_product_service must be a data-product service (register_port, or the original's "
        f"register_input_port/register_output_port), got {type(service).__name__}")




def is_original_governance(service: Any) -> bool:
    """Whether ``service`` is a governance service written for the original API (``evaluate_dataset``)."""
    return (service is not None and not callable(getattr(service, "record_verdict", None))
            and callable(getattr(service, "evaluate_dataset", None)))


class OriginalGovernance:
    """dc43's governance protocol over a service written for the original API.

    Verdicts go to its ``evaluate_dataset`` (then ``link_dataset_contract``, and
    ``review_validation_outcome`` when a write was not clean); schema observations of
    streams go there too, with the schema alone, as the original sent them at start.
    The assessment of each dataset version is kept (:meth:`assessment`): the helpers
    return its status, as the original did.
    """

    def __init__(self, service: Any) -> None:
        self.service = service
        self._operation: dict[str, str] = {}
        self._assessments: dict[tuple[str, str], Any] = {}
        #: contracts by (id, version), for the drafts ``review_validation_outcome`` proposes
        self.contracts: dict[tuple[str, str], Any] = {}

    def __repr__(self) -> str:
        return f"OriginalGovernance({type(self.service).__name__})"

    def assessment(self, dataset_id: str, dataset_version: str) -> Any:
        return self._assessments.get((dataset_id, dataset_version))

    def _evaluate(self, *, contract_id: str, contract_version: str, dataset_id: str, dataset_version: str,
                  validation: ValidationResult, payload: ObservationPayload, context: Any, operation: str) -> Any:
        validation.merge_details({"dataset_id": dataset_id, "dataset_version": dataset_version})
        assessment = self.service.evaluate_dataset(
            contract_id=contract_id, contract_version=contract_version, dataset_id=dataset_id,
            dataset_version=dataset_version, validation=validation, observations=lambda: payload,
            pipeline_context=dict(context) if context else None, operation=operation)
        self._assessments[(dataset_id, dataset_version)] = assessment
        return assessment

    def record_observation(self, observation: SchemaObservation) -> None:
        operation = observation.operation.removesuffix("_stream")
        self._operation[observation.dataset_id] = operation
        if not observation.operation.endswith("_stream"):
            return  # a batch read or write: its verdict follows, with the metrics
        validation = ValidationResult(status=observation.status, warnings=list(observation.warnings),
                                      schema=dict(observation.schema or {}))
        self._evaluate(contract_id=observation.contract_id, contract_version=observation.contract_version,
                       dataset_id=observation.dataset_id, dataset_version=observation.dataset_version,
                       validation=validation, payload=ObservationPayload(schema=observed_columns(observation.schema)),
                       context=observation.pipeline_context, operation=operation)

    def record_verdict(self, verdict: BatchVerdict) -> None:
        operation = self._operation.get(verdict.dataset_id, "write")
        validation = ValidationResult(status=verdict.status, reason=verdict.reason, metrics=dict(verdict.metrics),
                                      errors=[verdict.reason or "the data breaks the contract"]
                                      if verdict.status == "block" else [])
        assessment = self._evaluate(contract_id=verdict.contract_id, contract_version=verdict.contract_version,
                                    dataset_id=verdict.dataset_id, dataset_version=verdict.dataset_version,
                                    validation=validation, payload=ObservationPayload(metrics=dict(verdict.metrics)),
                                    context=None, operation=operation)
        if operation != "write":
            return
        status = getattr(assessment, "status", None)
        review = getattr(self.service, "review_validation_outcome", None)
        if callable(review) and (not validation.ok or (status is not None and status.status != "ok")):
            review(validation=validation, base_contract=self.contracts.get((verdict.contract_id, verdict.contract_version)),
                   dataset_id=verdict.dataset_id, dataset_version=verdict.dataset_version, dq_status=status,
                   draft_requested=True, operation="write")
        link = getattr(self.service, "link_dataset_contract", None)
        if callable(link):
            link(dataset_id=verdict.dataset_id, dataset_version=verdict.dataset_version,
                 contract_id=verdict.contract_id, contract_version=verdict.contract_version)


def as_governance(service: Any) -> Any:
    """dc43's governance protocol for ``service``: itself, or an original one adapted."""
    return OriginalGovernance(service) if is_original_governance(service) else service


def binding_contract(products: Any, kind: str, binding: Any) -> tuple[Optional[str], Optional[str]]:
    """The contract id and selector a binding's port names, or ``(None, None)`` for an output
    binding without a port (the original wrote without a contract then)."""
    if not is_original_products(products):
        service = steps.service("data_product", products)
        if kind == "input":
            return ports.input_contract(service, binding)
        return ports.output_contract(service, binding) if binding.port_name else (None, None)
    if kind == "input" and binding.source_data_product and binding.source_output_port:
        cid, version = port_contract(products, binding.source_data_product, "output", binding.source_output_port,
                                     binding.source_data_product_version)
        return cid, binding.source_contract_version or f"=={version}"
    if binding.port_name:
        cid, version = port_contract(products, binding.data_product, kind, binding.port_name,
                                     binding.data_product_version)
        return cid, f"=={version}"
    return None, None
