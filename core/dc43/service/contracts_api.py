"""The contract service over HTTP: list, get, publish a version, resolve a selector."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from dc43.contracts.keys import notes_of
from dc43.contracts.loading import contract_from_dict, contract_to_dict
from dc43.contracts.store import unknown_id_error
from dc43.errors import ContractFormatError
from dc43.service.state import ServicesDep

router = APIRouter(prefix="/contracts", tags=["contracts"])


def _document(contract: Any) -> dict[str, Any]:
    return {"contract": contract_to_dict(contract), "notes": list(notes_of(contract))}


@router.get("")
def list_contracts(s: ServicesDep) -> list[str]:
    """Every contract id."""
    return s.contracts.store.list_contracts()


@router.get("/{contract_id}/versions")
def list_versions(s: ServicesDep, contract_id: str) -> list[str]:
    """The versions of a contract, ascending by SemVer precedence (404 when the id is unknown)."""
    versions = s.contracts.list_versions(contract_id)
    if not versions:
        raise unknown_id_error(s.contracts.store, contract_id)
    return versions


@router.get("/{contract_id}/versions/{version}")
def get_contract(s: ServicesDep, contract_id: str, version: str) -> dict[str, Any]:
    """One version of a contract, as its ODCS document."""
    return _document(s.contracts.get(contract_id, version))


@router.get("/{contract_id}/latest")
def latest_contract(s: ServicesDep, contract_id: str) -> dict[str, Any]:
    """The highest release of a contract."""
    contract = s.contracts.latest(contract_id)
    if contract is None:
        raise unknown_id_error(s.contracts.store, contract_id)
    return _document(contract)


@router.get("/{contract_id}/resolve")
def resolve_contract(s: ServicesDep, contract_id: str, selector: str | None = None, allow_inactive: bool = False,
                     allowed_statuses: Annotated[list[str] | None, Query()] = None,
                     include_prerelease: bool = False) -> dict[str, Any]:
    """The highest version matching ``selector`` (``==1.2.0``, ``>=1.0``, ``^1.2``; none: the latest)
    whose status is allowed."""
    return _document(s.contracts.resolve(contract_id, selector, allow_inactive=allow_inactive,
                                         allowed_statuses=allowed_statuses, include_prerelease=include_prerelease))


@router.put("", status_code=201)
def publish_contract(s: ServicesDep, response: Response, document: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """Publish an ODCS document as a new version (201); the same document again is a no-op (200),
    other content under an existing version a 409."""
    contract = contract_from_dict(document, "the request body")
    core = str(contract.version).split("+")[0].split("-")[0]
    if core.count(".") != 2:  # the local store pads '1.2'; a shared registry takes full versions only
        raise ContractFormatError("the request body", "version", f"'{contract.version}' is not a semantic version "
                                  "MAJOR.MINOR.PATCH (e.g. '1.2.0'); publish it under its full version")
    existed = contract.version in s.contracts.list_versions(str(contract.id)) if contract.id else False
    s.contracts.store.put(contract)
    if existed:
        response.status_code = 200
    return {"id": contract.id, "version": contract.version, "created": not existed}
