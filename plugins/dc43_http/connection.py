"""One dc43 service reached over HTTP: its URL, the token, and its answers turned into dc43 errors.

Picklable (URL, token, timeout): the httpx client is made in the process that uses it, again
after a fork. Neither ``repr`` nor any error message shows the token.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx
from dc43 import errors
from dc43.delivery import ServiceUnavailableError
from dc43.settings import Secret

URL_ENV = "DC43_SERVICE_URL"
TOKEN_ENV = "DC43_SERVICE_TOKEN"
CONNECT_TRIES = 3  # a refused connection is tried again this often (0.2 s, 0.4 s apart) before it is an outage


def _dc43_error(kind: str, message: str, where: str) -> Exception:
    """The dc43 error class the service named, with its message (ServiceRequestError if unknown)."""
    found = getattr(errors, kind, None)
    if not (isinstance(found, type) and issubclass(found, errors.Dc43Error)) or found is errors.Dc43Error:
        return errors.ServiceRequestError(f"{message} ({where})")
    error = found.__new__(found)
    Exception.__init__(error, message)
    return error


class ServiceConnection:
    """Requests to one dc43 service; 4xx answers raise the dc43 error the service named, an
    unreachable or failing service (timeouts, 5xx) :class:`~dc43.delivery.ServiceUnavailableError`."""

    def __init__(self, base_url: str | None = None, token: str | None = None, *, timeout: float = 10.0,
                 headers: Mapping[str, str] | None = None) -> None:
        url = base_url or os.environ.get(URL_ENV)
        if not url:
            raise errors.ConfigurationError(f"no dc43 service URL: pass base_url=... or set {URL_ENV} "
                                            "(e.g. http://dc43.internal:8143)")
        self.base_url = url.rstrip("/")
        given = token if token is not None else os.environ.get(TOKEN_ENV)
        self._token = Secret(given) if given else None
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._local: tuple[int, httpx.Client] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ServiceConnection({self.base_url!r}{', token set' if self._token else ''})"

    def __getstate__(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "_token": self._token, "timeout": self.timeout, "headers": self.headers}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _local=None, _lock=threading.Lock())

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._local is None or self._local[0] != os.getpid():
                headers = dict(self.headers)
                if self._token is not None:
                    headers["Authorization"] = f"Bearer {self._token.reveal()}"
                self._local = (os.getpid(), httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout))
            return self._local[1]

    def close(self) -> None:
        with self._lock:
            if self._local is not None and self._local[0] == os.getpid():
                self._local[1].close()
            self._local = None

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """The JSON the service answers ``method path`` with (None for 204)."""
        where = f"{method} {self.base_url}{path}"
        for tried in range(1, CONNECT_TRIES + 1):
            try:
                response = self._client().request(method, path, params=_params(params), json=body)
                break
            except httpx.ConnectError as exc:
                if tried == CONNECT_TRIES:
                    raise ServiceUnavailableError(f"the dc43 service did not answer {where}: {exc}; check that "
                                                  f"it runs and that {URL_ENV} names it") from None
                time.sleep(0.2 * tried)
            except httpx.TransportError as exc:  # a timeout, a dropped connection
                raise ServiceUnavailableError(f"the dc43 service failed {where}: {type(exc).__name__} {exc}".rstrip()
                                              ) from None
        if response.status_code == 204:
            return None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 500 or (response.status_code >= 400 and not isinstance(data, dict)):
            detail = data.get("error") if isinstance(data, dict) else response.text[:200]
            raise ServiceUnavailableError(f"the dc43 service answered {where} with {response.status_code}: {detail}")
        if response.status_code >= 400:
            message, kind = str(data.get("error") or data.get("detail")), str(data.get("type") or "")
            if response.status_code in (401, 403):
                raise errors.ServiceAuthError(f"{message} ({where}: {response.status_code})")
            raise _dc43_error(kind, message, f"{where}: {response.status_code}")
        return data


def _params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v is not None}
