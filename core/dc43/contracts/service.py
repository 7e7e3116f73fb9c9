"""In-process contract service: resolves version selectors against a :class:`ContractStore`."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from open_data_contract_standard.model import OpenDataContractStandard

from dc43.contracts.keys import notes_of, remember_notes
from dc43.contracts.loading import check_status
from dc43.contracts.store import ContractStore, unknown_id_error
from dc43.contracts.versions import parse_selector, select_version
from dc43.errors import ContractError, ContractFormatError, ContractNotFoundError, ContractStatusError

log = logging.getLogger(__name__)


class LocalContractServiceClient:
    """Contract service backed directly by a local store."""

    def __init__(self, store: ContractStore) -> None:
        self.store = store

    def put(self, contract: OpenDataContractStandard) -> None:
        """Publish ``contract`` in the store (an identical version again is a no-op)."""
        self.store.put(contract)

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
        status is in ``allowed_statuses``.  A range or "latest" skips versions
        whose status is not allowed; an exact selector names one version and
        raises :class:`ContractStatusError` when it is not allowed.
        """
        versions = self.store.list_versions(contract_id)
        if not versions:
            raise unknown_id_error(self.store, contract_id)
        allowed: bool | tuple[str, ...] = True if allow_inactive else tuple(allowed_statuses or ())
        selector = parse_selector(expected_version)
        candidates = list(versions)
        refused: ContractError | None = None
        skipped: list[str] = []
        while candidates:
            try:
                version = select_version(candidates, selector, include_prerelease=include_prerelease,
                                         contract_id=contract_id)
            except ContractNotFoundError:
                if refused is None:
                    raise
                break
            try:
                contract = self.store.get(contract_id, version)
                check_status(contract, allowed)
            except (ContractStatusError, ContractFormatError) as exc:
                if selector.is_exact:
                    raise
                if isinstance(exc, ContractFormatError):  # one broken version must not block a valid one
                    log.warning("skipping version %s of contract '%s': %s", version, contract_id, exc)
                    skipped.append(f"version {version} of '{contract_id}' cannot be read and was skipped: {exc}")
                refused = refused or exc
                candidates.remove(version)
                continue
            remember_notes(contract, (*notes_of(contract), *skipped))
            return contract
        assert refused is not None
        raise refused
