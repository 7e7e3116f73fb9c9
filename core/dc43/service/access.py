"""Who may do what on the service (service side): the pipelines' token writes and reads, the viewer
token only reads, and a signed session cookie carries either role for the pages.

The cookie is ``role.expiry.signature``, signed (HMAC-SHA256) with a key derived from both tokens:
any ``dc43 serve`` process over the same tokens accepts it, and changing a token ends every session.
Tokens are compared in constant time and never logged, echoed nor put in the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from dc43.errors import ConfigurationError
from dc43.settings import Secret

TOKEN_ENV = "DC43_SERVICE_TOKEN"
VIEWER_TOKEN_ENV = "DC43_VIEWER_TOKEN"
COOKIE = "dc43_session"
SESSION_SECONDS = 12 * 3600
WRITER, VIEWER = "writer", "viewer"


class Access:
    """The service's tokens; with none, the service is open to whoever reaches it."""

    def __init__(self, token: str | None = None, viewer_token: str | None = None) -> None:
        if viewer_token and not token:
            raise ConfigurationError(f"{VIEWER_TOKEN_ENV} is set but {TOKEN_ENV} is not: a viewer token only "
                                     f"restricts a service that has a token; set {TOKEN_ENV} too")
        if viewer_token and viewer_token == token:
            raise ConfigurationError(f"{VIEWER_TOKEN_ENV} must differ from {TOKEN_ENV}: the viewer token reads only")
        self._tokens = {WRITER: Secret(token)} if token else {}
        if viewer_token:
            self._tokens[VIEWER] = Secret(viewer_token)
        material = b"\0".join(s.reveal().encode() for s in self._tokens.values())
        self._key = hashlib.sha256(b"dc43 session key\0" + material).digest()

    def __repr__(self) -> str:
        return f"Access(roles={sorted(self._tokens)!r})"

    @property
    def open(self) -> bool:
        """Whether the service takes requests without a token."""
        return not self._tokens

    def role_of_token(self, given: bytes | str) -> str | None:
        """The role ``given`` grants (``writer`` or ``viewer``), None for a token that is not one of ours."""
        given = given.encode() if isinstance(given, str) else given
        found = None
        for role, secret in self._tokens.items():  # every comparison made: no timing hint of which
            if hmac.compare_digest(given, secret.reveal().encode()):
                found = role
        return found

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def session_cookie(self, role: str, *, now: float | None = None) -> str:
        """A cookie value granting ``role`` for :data:`SESSION_SECONDS`."""
        text = f"{role}.{int((now or time.time()) + SESSION_SECONDS)}"
        return f"{text}.{self._sign(text)}"

    def role_of_cookie(self, value: str, *, now: float | None = None) -> str | None:
        """The role a session cookie grants; None when forged, expired or signed with other tokens."""
        role, _, rest = value.partition(".")
        expiry, _, signature = rest.partition(".")
        if role not in self._tokens or not expiry.isdigit():
            return None
        if not hmac.compare_digest(signature.encode(), self._sign(f"{role}.{expiry}").encode()):
            return None
        return role if int(expiry) > (now or time.time()) else None
