"""The import paths users of the original system wrote their code against resolve to dc43's classes."""

from __future__ import annotations

import importlib

import pytest
from dc43.contracts.service import LocalContractServiceClient
from dc43.contracts.store import ContractStore, FSContractStore
from dc43.governance.local import LocalGovernanceService
from dc43.governance.service import BatchVerdict, SchemaObservation
from dc43.quality.service import LocalDataQualityService
from dc43.results import ObservationPayload, ValidationResult
from dc43_http.clients import (
    RemoteContractServiceClient,
    RemoteDataQualityServiceClient,
    RemoteGovernanceServiceClient,
)

NAMES = [
    ("dc43_service_clients.contracts", "LocalContractServiceClient", LocalContractServiceClient),
    ("dc43_service_clients.contracts.client.local", "LocalContractServiceClient", LocalContractServiceClient),
    ("dc43_service_clients.data_quality", "ObservationPayload", ObservationPayload),
    ("dc43_service_clients.data_quality", "ValidationResult", ValidationResult),
    ("dc43_service_clients.data_quality", "LocalDataQualityService", LocalDataQualityService),
    ("dc43_service_clients.data_quality", "LocalDataQualityServiceClient", LocalDataQualityService),
    ("dc43_service_clients.data_quality.client.local", "LocalDataQualityServiceClient", LocalDataQualityService),
    ("dc43_service_clients.governance", "LocalGovernanceServiceClient", LocalGovernanceService),
    ("dc43_service_clients.governance", "BatchVerdict", BatchVerdict),
    ("dc43_service_clients.governance", "SchemaObservation", SchemaObservation),
    ("dc43_service_clients.governance.client.local", "LocalGovernanceServiceClient", LocalGovernanceService),
    ("dc43_service_clients.contracts.client.remote", "RemoteContractServiceClient", RemoteContractServiceClient),
    ("dc43_service_clients.data_quality.client.remote", "RemoteDataQualityServiceClient",
     RemoteDataQualityServiceClient),
    ("dc43_service_clients.governance.client.remote", "RemoteGovernanceServiceClient", RemoteGovernanceServiceClient),
    ("dc43_service_backends.contracts.backend.stores", "FSContractStore", FSContractStore),
    ("dc43_service_backends.contracts.backend.stores", "ContractStore", ContractStore),
]


@pytest.mark.parametrize("module, name, expected", NAMES, ids=[f"{m}.{n}" for m, n, _ in NAMES])
def test_the_original_name_is_dc43s_class(module: str, name: str, expected: type) -> None:
    assert getattr(importlib.import_module(module), name) is expected


def test_the_original_clients_work_as_dc43s(tmp_path) -> None:
    from dc43_service_clients.data_quality.client.local import LocalDataQualityServiceClient
    from dc43_service_clients.governance.client.local import LocalGovernanceServiceClient

    governance = LocalGovernanceServiceClient(tmp_path / "governance.db")
    governance.record_verdict(BatchVerdict(dataset_id="d", dataset_version="1", batch_id=0, contract_id="c",
                                           contract_version="1.0.0", status="ok", row_count=2, metrics={},
                                           reason=None, recorded_at="2026-01-01T00:00:00Z"))
    assert [v.batch_id for v in governance.verdicts("d")] == [0]
    assert LocalDataQualityServiceClient().evaluate(
        contract=_contract(), payload=ObservationPayload(metrics={"row_count": 1})).ok


def _contract():
    from open_data_contract_standard.model import OpenDataContractStandard

    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "c", "version": "1.0.0",
        "schema": [{"name": "t", "properties": [{"name": "a", "physicalType": "int"}]}]})
