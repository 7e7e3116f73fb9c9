"""Thread-safe in-memory contract store, for tests and notebooks."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from dc43.contracts.store import ContractStore


class InMemoryContractStore(ContractStore):
    """Contracts kept in a dict; every read and write works on deep copies."""

    def __init__(self) -> None:
        super().__init__()
        self._documents: dict[str, dict[str, dict[str, Any]]] = {}

    def __repr__(self) -> str:
        return "InMemoryContractStore()"

    def _read(self, contract_id: str, version: str) -> dict[str, Any] | None:
        with self._lock:
            data = self._documents.get(contract_id, {}).get(version)
            return copy.deepcopy(data) if data is not None else None

    def _write(self, contract_id: str, version: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._documents.setdefault(contract_id, {})[version] = copy.deepcopy(data)

    def _ids(self) -> Iterable[str]:
        with self._lock:
            return list(self._documents)

    def _versions(self, contract_id: str) -> Iterable[str]:
        with self._lock:
            return list(self._documents.get(contract_id, ()))
