"""Load, validate and serialise ODCS contracts, and check their lifecycle status."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pydantic
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from dc43.contracts.keys import OPERATORS, carried_notes, remember_notes, unknown_dc43_properties, unknown_keys
from dc43.contracts.versions import parse_version
from dc43.errors import (
    ContractFormatError,
    ContractNotFoundError,
    ContractStatusError,
    VersionSelectorError,
    did_you_mean,
)

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("id", "version", "apiVersion", "kind")
ACCEPTED_API_VERSIONS = ("v3.0.x", "v3.1.x", "v3.2.x")
_API_VERSION_RE = re.compile(r"v?3\.[012]\.\d+")
_DOCUMENT = "<document>"


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that keeps timestamps as strings, as ODCS models them."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _check_required(data: Mapping[str, Any], source: str) -> None:
    for field in REQUIRED_FIELDS:
        value = data.get(field)
        if value is None or value == "":
            raise ContractFormatError(source, field, f"is missing; add a top-level '{field}' to the contract.")
        if not isinstance(value, str):
            raise ContractFormatError(
                source, field, f"must be a string, got {type(value).__name__} {value!r}; quote it in YAML."
            )
    if data["kind"] != "DataContract":
        raise ContractFormatError(source, "kind", f"is '{data['kind']}'; set it to 'DataContract'.")
    if not _API_VERSION_RE.fullmatch(data["apiVersion"]):
        raise ContractFormatError(
            source,
            "apiVersion",
            f"'{data['apiVersion']}' is not supported; use one of {', '.join(ACCEPTED_API_VERSIONS)} (e.g. 'v3.0.2').",
        )
    try:
        parse_version(data["version"])
    except VersionSelectorError as exc:
        raise ContractFormatError(source, "version", str(exc)) from None


def _location(loc: tuple[Any, ...], data: Any, error_type: str) -> str:
    """Dotted path of a pydantic error location, dropping union-member tags absent from the data."""
    path = ""
    for index, part in enumerate(loc):
        if isinstance(part, int) and isinstance(data, list) and 0 <= part < len(data):
            path, data = f"{path}[{part}]", data[part]
        elif isinstance(part, str) and isinstance(data, Mapping) and part in data:
            path, data = f"{path}.{part}" if path else part, data[part]
        elif index == len(loc) - 1 and error_type == "missing":
            path = f"{path}.{part}" if path else str(part)
    return path or _DOCUMENT


def _problem(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "is not an ODCS field; remove it or move it under 'customProperties'."
    shown = repr(error.get("input"))
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return f"{error['msg']} (got {shown}); fix the value to match the ODCS schema."


def contract_from_dict(data: Mapping[str, Any], source: str) -> OpenDataContractStandard:
    """Validate a parsed document as an ODCS contract; ``source`` names it in errors."""
    if not isinstance(data, Mapping):
        kind = "an empty document" if data is None else f"a {type(data).__name__}"
        fields = ", ".join(REQUIRED_FIELDS)
        raise ContractFormatError(
            source, _DOCUMENT, f"is {kind}, not a mapping; write the contract as an object with {fields}."
        )
    _check_required(data, source)
    try:
        contract = OpenDataContractStandard.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        raise ContractFormatError(source, _location(first["loc"], data, first["type"]), _problem(first)) from None
    unknown = unknown_keys(data)
    for key in unknown:
        if key.is_operator:
            raise ContractFormatError(
                source, f"{key.path}.{key.key}", f"is not an ODCS rule operator{did_you_mean(key.key, OPERATORS)}: "
                f"the rule would check nothing. Use one of {', '.join(OPERATORS)}.")
    dropped = (*carried_notes(data), *(key.describe() for key in unknown))
    notes = (*dropped, *unknown_dc43_properties(data))
    for note in notes:
        log.warning("contract %s: %s", source, note)
    remember_notes(contract, notes, dropped=dropped)
    return contract


def _parse_text(text: str, source: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractFormatError(
                source, _DOCUMENT, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; fix the syntax."
            ) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContractFormatError(
            source, _DOCUMENT, f"invalid YAML{where}: {problem}; fix the syntax (check indentation and quoting)."
        ) from None


def load_contract(path: str | os.PathLike[str]) -> OpenDataContractStandard:
    """Load a YAML or JSON contract file (detected from its content)."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ContractNotFoundError(f"Contract file '{source}' does not exist; check the path.") from None
    except UnicodeDecodeError as exc:
        raise ContractFormatError(source, _DOCUMENT, f"is not UTF-8 text (byte {exc.start}: "
                                  f"{exc.object[exc.start:exc.start + 1]!r}); save the contract as UTF-8.") from None
    except IsADirectoryError:
        raise ContractNotFoundError(f"Contract file '{source}' is a folder; give the path of a YAML or JSON file.") from None
    return contract_from_dict(_parse_text(text, source), source)


def contract_to_dict(contract: OpenDataContractStandard) -> dict[str, Any]:
    """JSON-safe mapping of ``contract`` using ODCS field names, without empty fields."""
    return contract.model_dump(mode="json", by_alias=True, exclude_none=True)


def is_active(contract: OpenDataContractStandard) -> bool:
    """Whether the contract is active; a missing status counts as active (ODCS makes it optional)."""
    return contract.status is None or contract.status.strip().lower() == "active"


def check_status(contract: OpenDataContractStandard, allow_inactive: bool | Iterable[str] = False) -> None:
    """Raise ContractStatusError unless the contract is active or its status is allowed.

    ``allow_inactive`` is ``True`` (any status), ``False`` (active only) or the
    statuses accepted besides ``active``, compared case-insensitively.
    """
    if allow_inactive is True or is_active(contract):
        return
    allowed = (allow_inactive,) if isinstance(allow_inactive, str) else allow_inactive or ()
    status = contract.status.strip().lower()
    if status in {s.strip().lower() for s in allowed}:
        return
    raise ContractStatusError(
        f"Contract '{contract.id}' version {contract.version} has status '{contract.status}', not 'active'; "
        f"pass allow_inactive=True (or allowed_statuses=('{status}',) to the contract service) to use it anyway."
    )
