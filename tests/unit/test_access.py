"""Who may do what on the service: tokens, roles and the pages' signed session cookie (no server)."""

from __future__ import annotations

import pytest
from dc43.errors import ConfigurationError
from dc43.service.access import SESSION_SECONDS, Access

NOW = 1_800_000_000.0


def test_each_token_grants_its_role_and_nothing_else_grants_any() -> None:
    access = Access("pipelines-token", "viewer-token")
    assert access.role_of_token("pipelines-token") == "writer"
    assert access.role_of_token(b"viewer-token") == "viewer"
    assert access.role_of_token("pipelines-token ") is None and access.role_of_token("") is None
    assert not access.open and Access().open
    assert "token" not in repr(access).replace("Access", "")


def test_a_session_cookie_holds_its_role_until_it_expires_and_cannot_be_forged() -> None:
    access = Access("pipelines-token", "viewer-token")
    cookie = access.session_cookie("viewer", now=NOW)
    assert "viewer-token" not in cookie and "pipelines-token" not in cookie
    assert access.role_of_cookie(cookie, now=NOW + 60) == "viewer"
    assert access.role_of_cookie(cookie, now=NOW + SESSION_SECONDS + 1) is None
    role, expiry, signature = cookie.split(".")
    assert access.role_of_cookie(f"writer.{expiry}.{signature}", now=NOW) is None  # a role raised
    assert access.role_of_cookie(f"{role}.{int(expiry) + 3600}.{signature}", now=NOW) is None  # a life stretched
    assert access.role_of_cookie("garbage", now=NOW) is None
    assert Access("another-token", "viewer-token").role_of_cookie(cookie, now=NOW) is None  # a token changed


@pytest.mark.parametrize(("token", "viewer", "said"), [
    (None, "viewer-token", "DC43_SERVICE_TOKEN is not"),
    ("same", "same", "must differ"),
])
def test_a_viewer_token_without_a_service_token_or_equal_to_it_is_refused(token, viewer, said) -> None:
    with pytest.raises(ConfigurationError, match=said):
        Access(token, viewer)
