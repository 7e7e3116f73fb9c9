"""The original import path of the contract-service protocol."""

from dc43.legacy.protocols import ContractServiceClient

__all__ = ["ContractServiceClient"]
