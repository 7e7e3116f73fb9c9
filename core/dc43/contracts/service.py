"""In-process contract service: resolves version selectors against a :class:`ContractStore`."""

from __future__ import annotations

from collections.abc import Iterable

from open_data_contract_standard.model import OpenDataContractStandard

from dc43.contracts.loading import check_status
from dc43.contracts.store import ContractStore, unknown_id_error
from dc43.contracts.versions import select_version


class LocalContractServiceClient:
    """Contract service backed directly by a local store."""

    def __init__(self, store: ContractStore) -> None:
        self.store = store

    def get(self, contract_id: str, version: str) -> OpenDataContractStandard:
        """The contract stored under exactly ``contract_id`` and ``version``."""
        return self.store.get(contract_id, version)

    def latest(self, contract_id: str) -> OpenDataContractStandard | None:
        """The latest version of ``contract_id``, or ``None`` if it is unknown."""
        return self.store.latest(contract_id)

    def list_versions(self, contract_id: str) -> list[str]:
        """Versions of ``contract_id``, ascending by SemVer precedence."""
        return self.store.list_versions(contract_id)

    def resolve(
        self,
        contract_id: str,
        expected_version: str | None = None,
        *,
        allow_inactive: bool = False,
        allowed_statuses: Iterable[str] | None = None,
        include_prerelease: bool = False,
    ) -> OpenDataContractStandard:
        """The highest version matching ``expected_version`` (a selector), checked for status.

        Inactive contracts are refused unless ``allow_inactive`` is set or their
        status is in ``allowed_statuses``.
        """
        versions = self.store.list_versions(contract_id)
        if not versions:
            raise unknown_id_error(self.store, contract_id)
        version = select_version(
            versions, expected_version, include_prerelease=include_prerelease, contract_id=contract_id
        )
        contract = self.store.get(contract_id, version)
        check_status(contract, True if allow_inactive else tuple(allowed_statuses or ()))
        return contract
