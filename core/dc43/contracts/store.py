"""Versioned contract stores: shared rules in :class:`ContractStore`, files in :class:`FSContractStore`."""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from open_data_contract_standard.model import OpenDataContractStandard

from dc43.contracts.keys import with_ignored_keys
from dc43.contracts.loading import contract_from_dict, contract_to_dict
from dc43.contracts.versions import Version, parse_version, select_version, sort_versions
from dc43.errors import (
    ContractConflictError,
    ContractFormatError,
    ContractNotFoundError,
    InvalidArgumentError,
    InvalidContractIdError,
    VersionSelectorError,
)

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_VERSION_KEY_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+-]*")
_LISTED_IDS = 20


def _is_valid_id(contract_id: object) -> bool:
    return isinstance(contract_id, str) and bool(_ID_RE.fullmatch(contract_id)) and ".." not in contract_id


def validate_contract_id(contract_id: object) -> str:
    """Return ``contract_id`` if it is safe as a storage key, else raise InvalidContractIdError."""
    if not _is_valid_id(contract_id):
        raise InvalidContractIdError(
            f"Contract id {contract_id!r} cannot be stored: use letters, digits, '.', '-' and '_' only, "
            "starting with a letter or digit and without '..' (e.g. 'demo.rate_stream'); set a valid 'id'."
        )
    return contract_id


def _check_version_key(version: object) -> str:
    if not isinstance(version, str) or not _VERSION_KEY_RE.fullmatch(version) or ".." in version:
        raise VersionSelectorError(
            f"Version {version!r} is not a valid version key; ask for a semantic version such as '1.2.3'."
        )
    return version


def unknown_id_error(store: ContractStore, contract_id: str) -> ContractNotFoundError:
    """The error for an id the store does not hold, listing up to 20 known ids."""
    ids = store.list_contracts()
    known = ", ".join(ids[:_LISTED_IDS]) or "none"
    more = f" (first {_LISTED_IDS} of {len(ids)})" if len(ids) > _LISTED_IDS else ""
    return ContractNotFoundError(
        f"Contract '{contract_id}' is not in {store!r}; known ids: {known}{more}. "
        "Check the id or publish the contract first."
    )


class ContractStore(ABC):
    """Immutable versioned contract storage; subclasses provide the four storage primitives."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    @abstractmethod
    def _read(self, contract_id: str, version: str) -> dict[str, Any] | None:
        """The stored document, or ``None`` if absent."""

    @abstractmethod
    def _write(self, contract_id: str, version: str, data: dict[str, Any]) -> None:
        """Store ``data``, replacing any previous document atomically."""

    @abstractmethod
    def _ids(self) -> Iterable[str]:
        """Every stored contract id."""

    @abstractmethod
    def _versions(self, contract_id: str) -> Iterable[str]:
        """Every stored version string of ``contract_id`` (empty when unknown)."""

    def _source(self, contract_id: str, version: str) -> str:
        """How error messages name a stored document."""
        return f"{self!r} {contract_id}@{version}"

    def put(self, contract: OpenDataContractStandard) -> None:
        """Store ``contract``; identical re-puts are no-ops, changed content needs a new version."""
        if not isinstance(contract, OpenDataContractStandard):
            hint = (" (a document: load it with dc43.contracts.contract_from_dict(data, source) first)"
                    if isinstance(contract, dict) else
                    " (a path: load it with dc43.contracts.load_contract(path) first)" if isinstance(contract, (str, Path))
                    else "")
            raise InvalidArgumentError(f"{self!r}.put takes an ODCS contract (OpenDataContractStandard), got "
                                       f"{type(contract).__name__}{hint}")
        contract_id = validate_contract_id(contract.id)
        try:
            version = parse_version(contract.version)
        except VersionSelectorError as exc:
            raise ContractFormatError(f"contract '{contract_id}'", "version", str(exc)) from None
        data = with_ignored_keys(contract, contract_to_dict(contract))  # what its author was warned about
        with self._lock:
            existing = self._read(contract_id, contract.version)
            if existing is None:
                self._write(contract_id, contract.version, data)
                return
            stored = contract_to_dict(contract_from_dict(existing, self._source(contract_id, contract.version)))
        if stored != data:
            bumped = Version(version.major, version.minor, version.patch + 1)
            raise ContractConflictError(
                f"Contract '{contract_id}' version {contract.version} already exists with different content; "
                f"bump the version (e.g. {bumped}) instead of overwriting a published contract."
            )

    def get(self, contract_id: str, version: str) -> OpenDataContractStandard:
        """The contract stored under exactly ``contract_id`` and ``version``."""
        validate_contract_id(contract_id)
        _check_version_key(version)
        data = self._read(contract_id, version)
        if data is None:
            versions = self.list_versions(contract_id)
            if not versions:
                raise unknown_id_error(self, contract_id)
            raise ContractNotFoundError(
                f"Contract '{contract_id}' has no version '{version}' (available: {', '.join(versions)}); "
                "ask for one of those or publish it."
            )
        source = self._source(contract_id, version)
        contract = contract_from_dict(data, source)
        if (contract.id, contract.version) != (contract_id, version):
            raise ContractFormatError(
                source,
                "id" if contract.id != contract_id else "version",
                f"holds {contract.id}@{contract.version}, not {contract_id}@{version}; "
                "move the document to match its id and version, or republish it.",
            )
        return contract

    def list_contracts(self) -> list[str]:
        """Stored contract ids, sorted."""
        return sorted(self._ids())

    def list_versions(self, contract_id: str) -> list[str]:
        """Versions of ``contract_id`` by SemVer precedence (unparsable last); empty when unknown."""
        return sort_versions(self._versions(validate_contract_id(contract_id)))

    def latest(self, contract_id: str) -> OpenDataContractStandard | None:
        """Highest release (or highest pre-release if there is no release); ``None`` if unknown."""
        versions = self.list_versions(contract_id)
        if not versions:
            return None
        return self.get(contract_id, select_version(versions, None, contract_id=contract_id))


class FSContractStore(ContractStore):
    """Contracts as ``<base>/<contract_id>/<version>.json`` files, written atomically."""

    def __init__(self, base_path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.base_path = Path(base_path)

    def __repr__(self) -> str:
        return f"FSContractStore('{self.base_path}')"

    def _path(self, contract_id: str, version: str) -> Path:
        return self.base_path / contract_id / f"{version}.json"

    def _source(self, contract_id: str, version: str) -> str:
        return str(self._path(contract_id, version))

    def _read(self, contract_id: str, version: str) -> dict[str, Any] | None:
        path = self._path(contract_id, version)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as exc:
            raise ContractFormatError(str(path), "<document>", f"is not UTF-8 text (byte {exc.start}); save it as "
                                      "UTF-8, or delete it and publish the contract again.") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractFormatError(
                str(path),
                "<document>",
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; "
                "delete the file and publish the contract again.",
            ) from None

    def _write(self, contract_id: str, version: str, data: dict[str, Any]) -> None:
        target = self._path(contract_id, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{version}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, ensure_ascii=False)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _ids(self) -> Iterable[str]:
        if not self.base_path.is_dir():
            return []
        return [p.name for p in self.base_path.iterdir() if p.is_dir() and _is_valid_id(p.name)]

    def _versions(self, contract_id: str) -> Iterable[str]:
        folder = self.base_path / contract_id
        if not folder.is_dir():
            return []
        return [p.name[: -len(".json")] for p in folder.glob("*.json") if not p.name.startswith(".")]
