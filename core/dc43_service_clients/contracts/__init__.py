"""The original import path for contract service clients."""

from dc43.contracts.service import LocalContractServiceClient

__all__ = ["LocalContractServiceClient"]
