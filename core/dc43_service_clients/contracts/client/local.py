"""The original import path of the in-process contract client."""

from dc43.contracts.service import LocalContractServiceClient

__all__ = ["LocalContractServiceClient"]
