"""Dataset locators: turn a contract plus call arguments into a :class:`DatasetTarget`.

Precedence for every field: the helper's explicit argument, then the locator's
own value, then the contract's server definition.  Dataset versions may be
templates with ``{batch_id}`` and ``{timestamp}``, resolved per micro-batch.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from dc43.errors import InvalidArgumentError
from dc43.formats import DatasetTarget

STREAM_VERSION_TEMPLATE = "{batch_id}"
INITIAL_VERSION = "init"


@attrs.frozen
class LocateRequest:
    """What a helper knows when it asks a locator where a dataset lives."""

    contract: Any
    operation: str  # "read" or "write"
    streaming: bool
    format: str | None = None
    path: str | None = None
    table: str | None = None
    options: Mapping[str, str] = attrs.field(factory=dict)


class DatasetLocator(Protocol):
    def locate(self, request: LocateRequest) -> DatasetTarget: ...


def utc_timestamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_micros(timestamp: str) -> int:
    """Microseconds since the epoch of a :func:`utc_timestamp`, exactly."""
    moment = _dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=_dt.timezone.utc)
    return (moment - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)) // _dt.timedelta(microseconds=1)


def _server_for(contract: Any, wanted_format: str | None) -> Any:
    servers = list(getattr(contract, "servers", None) or [])
    if wanted_format:
        for server in servers:
            if wanted_format in (server.format, server.type):
                return server
    return servers[0] if servers else None


def resolve_version(template: str, *, batch_id: int | None, timestamp: str | None = None) -> str:
    """Fill ``{batch_id}`` and ``{timestamp}`` in a dataset-version template."""
    if batch_id is None and "{batch_id}" in template:
        return INITIAL_VERSION
    try:
        return template.format(batch_id=batch_id, timestamp=timestamp or utc_timestamp())
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidArgumentError(
            f"dataset version template {template!r} is invalid ({exc}); only {{batch_id}} "
            "and {timestamp} may appear in braces"
        ) from exc


@attrs.frozen
class StaticDatasetLocator:
    """A locator with fixed values; unset fields come from the contract's server."""

    dataset_id: str | None = None
    dataset_version: str | None = None
    path: str | None = None
    table: str | None = None
    format: str | None = None

    def locate(self, request: LocateRequest) -> DatasetTarget:
        wanted = request.format or self.format
        server = _server_for(request.contract, wanted)
        fmt = wanted or (server.format or server.type if server is not None else None)
        if not fmt:
            raise InvalidArgumentError(
                f"no dataset format for contract '{request.contract.id}': pass format=..., "
                "give the locator a format, or add a server with a format to the contract"
            )
        path = request.path or self.path
        table = request.table or self.table
        if path is None and table is None and server is not None:
            path = server.path or server.location
        dataset_id = self.dataset_id or table or path or request.contract.id
        version = self.dataset_version or (STREAM_VERSION_TEMPLATE if request.streaming
                                           else utc_timestamp())
        return DatasetTarget(
            format=fmt, dataset_id=dataset_id, dataset_version=version, path=path,
            table=table, options=dict(request.options), server=server,
        )
