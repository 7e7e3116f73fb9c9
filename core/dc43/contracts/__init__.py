"""ODCS contracts: loading, semantic versions, versioned stores and the local contract service."""

from dc43.contracts.loading import (
    check_status,
    contract_from_dict,
    contract_to_dict,
    is_active,
    load_contract,
)
from dc43.contracts.service import LocalContractServiceClient
from dc43.contracts.store import ContractStore, FSContractStore
from dc43.contracts.versions import (
    Version,
    VersionSelector,
    parse_selector,
    parse_version,
    select_version,
    sort_versions,
)

__all__ = [
    "ContractStore",
    "FSContractStore",
    "LocalContractServiceClient",
    "Version",
    "VersionSelector",
    "check_status",
    "contract_from_dict",
    "contract_to_dict",
    "is_active",
    "load_contract",
    "parse_selector",
    "parse_version",
    "select_version",
    "sort_versions",
]
