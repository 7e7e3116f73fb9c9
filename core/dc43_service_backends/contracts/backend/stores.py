"""The spec's import path for contract stores."""

from dc43.contracts.store import ContractStore, FSContractStore

__all__ = ["ContractStore", "FSContractStore"]
