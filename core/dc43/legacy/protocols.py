"""The service-client protocols of the original API: what its helpers call on each service.

A service written to these keeps working with dc43's helpers (:mod:`dc43.legacy.services`
adapts it); dc43's own services implement dc43's protocols (:mod:`dc43.hookspecs`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional, Protocol

from dc43.results import ObservationPayload, ValidationResult


class ContractServiceClient(Protocol):
    """Contracts by id and version."""

    def get(self, contract_id: str, contract_version: str) -> Any: ...

    def latest(self, contract_id: str) -> Optional[Any]: ...

    def list_versions(self, contract_id: str) -> Sequence[str]: ...


class DataQualityServiceClient(Protocol):
    """Expectations of a contract, and verdicts on observed metrics."""

    def describe_expectations(self, *, contract: Any) -> Sequence[Mapping[str, object]]: ...

    def evaluate(self, *, contract: Any, payload: ObservationPayload) -> ValidationResult: ...


class GovernanceServiceClient(Protocol):
    """What the original's helpers ask governance: contracts, assessments, links and plans."""

    def get_contract(self, *, contract_id: str, contract_version: str) -> Any: ...

    def latest_contract(self, *, contract_id: str) -> Optional[Any]: ...

    def list_contract_versions(self, *, contract_id: str) -> Sequence[str]: ...

    def evaluate_dataset(self, *, contract_id: str, contract_version: str, dataset_id: str, dataset_version: str,
                         validation: Optional[ValidationResult], observations: Callable[[], ObservationPayload],
                         pipeline_context: Optional[Mapping[str, Any]], operation: str, bump: str = "minor",
                         draft_on_violation: bool = False) -> Any: ...

    def review_validation_outcome(self, *, validation: ValidationResult, base_contract: Any,
                                  **context: Any) -> Optional[Any]: ...

    def link_dataset_contract(self, *, dataset_id: str, dataset_version: str, contract_id: str,
                              contract_version: str) -> None: ...

    def resolve_read_context(self, *, context: Any) -> Any: ...

    def resolve_write_context(self, *, context: Any) -> Any: ...

    def register_read_activity(self, *, plan: Any, assessment: Any) -> None: ...

    def register_write_activity(self, *, plan: Any, assessment: Any) -> None: ...


class DataProductServiceClient(Protocol):
    """Data products by id and version, and the ports pipelines register on them."""

    def get(self, data_product_id: str, version: str) -> Any: ...

    def latest(self, data_product_id: str) -> Optional[Any]: ...

    def list_versions(self, data_product_id: str) -> list[str]: ...

    def register_input_port(self, *, data_product_id: str, port_name: str, contract_id: str, contract_version: str,
                            bump: str = "minor", custom_properties: Optional[Mapping[str, object]] = None,
                            source_data_product: Optional[str] = None,
                            source_output_port: Optional[str] = None) -> Any: ...

    def register_output_port(self, *, data_product_id: str, port_name: str, contract_id: str, contract_version: str,
                             bump: str = "minor", custom_properties: Optional[Mapping[str, object]] = None) -> Any: ...

    def resolve_output_contract(self, *, data_product_id: str, port_name: str) -> Optional[tuple[str, str]]: ...
