"""The original import path for contract service clients and their protocol."""

from dc43.contracts.service import LocalContractServiceClient
from dc43.legacy.protocols import ContractServiceClient

__all__ = ["ContractServiceClient", "LocalContractServiceClient"]
