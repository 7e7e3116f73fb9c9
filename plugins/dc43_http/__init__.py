"""dc43 plugin: every service from a shared ``dc43 serve`` when ``service_url`` is set.

With ``DC43_SERVICE_URL`` (or ``service_url`` in ``dc43.toml``) the contract, data-quality,
governance and data-product hooks answer with remote clients (httpx) carrying
``DC43_SERVICE_TOKEN``; without it they answer ``None`` and the embedded default serves.
Not ``trylast``: a configured URL wins over the bundled local services, and a third-party
plugin (registered later) still wins over it. Clients hold a URL and settings, never a live
connection, so the batch side rebuilds them wherever ``foreachBatch`` runs.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from dc43 import hookimpl

_clients: dict[tuple[str, str, Any], Any] = {}
_lock = threading.Lock()


def _client(kind: str, settings: Any) -> Any:
    """One client of ``kind`` per URL and token in this process, or None without a URL."""
    if not settings.service_url:
        return None
    key = (kind, settings.service_url, settings.service_token)
    with _lock:
        if key not in _clients:
            from dc43_http import clients

            token = settings.service_token.reveal() if settings.service_token else None
            _clients[key] = clients.CLIENTS[kind](base_url=settings.service_url, token=token)
        return _clients[key]


@atexit.register
def _close_all() -> None:
    """Close the clients' connections as the process ends (nothing is left for the service to time out)."""
    for client in list(_clients.values()):
        client.close()


@hookimpl
def dc43_contract_service(settings: Any) -> Any:
    return _client("contract", settings)


@hookimpl
def dc43_data_quality_service(settings: Any) -> Any:
    return _client("data_quality", settings)


@hookimpl
def dc43_governance_service(settings: Any) -> Any:
    return _client("governance", settings)


@hookimpl
def dc43_data_product_service(settings: Any) -> Any:
    return _client("data_product", settings)
