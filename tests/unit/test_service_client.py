"""The http plugin's clients against real HTTP servers that fail: a 5xx, one too slow to answer, one
that is not a dc43 service; and what a client carries when pickled. No dc43 service runs here."""

from __future__ import annotations

import pickle
import socket
import time

import pytest
from dc43.delivery import ServiceUnavailableError
from dc43.errors import ConfigurationError, ServiceRequestError
from dc43.settings import Secret, Settings
from dc43_http.clients import RemoteGovernanceServiceClient

from tests.http_receiver import Receiver

TOKEN = "unit-token-9vQ"


@pytest.fixture
def failing(request: pytest.FixtureRequest):
    status, body, *delay = request.param
    server = Receiver(status, body=body, delay=delay[0] if delay else 0.0)
    yield server
    server.close()


@pytest.mark.parametrize("failing", [(503, b'{"error": "database unavailable"}')], indirect=True)
def test_a_5xx_is_an_outage_naming_the_answer(failing: Receiver) -> None:
    client = RemoteGovernanceServiceClient(base_url=failing.url, token=TOKEN)
    with pytest.raises(ServiceUnavailableError, match="503: database unavailable") as raised:
        client.datasets()
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize("failing", [(200, b"[]", 3.0)], indirect=True)
def test_a_service_too_slow_to_answer_is_an_outage(failing: Receiver) -> None:
    client = RemoteGovernanceServiceClient(base_url=failing.url, token=TOKEN, timeout=0.5)
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match="ReadTimeout"):
        client.datasets()
    assert time.monotonic() - began < 2.5  # the timeout, not the server's answer, ended the call


@pytest.mark.parametrize("failing", [(404, b"<html>Not a dc43 service</html>")], indirect=True)
def test_a_url_that_is_not_a_dc43_service_says_so(failing: Receiver) -> None:
    with pytest.raises(ServiceUnavailableError, match="404: <html>Not a dc43 service"):
        RemoteGovernanceServiceClient(base_url=failing.url).datasets()


@pytest.mark.parametrize("failing", [(404, b'{"detail": "Not Found"}')], indirect=True)
def test_a_route_the_service_does_not_have_is_a_request_error(failing: Receiver) -> None:
    with pytest.raises(ServiceRequestError, match=r"Not Found \(GET .*/api/governance/datasets: 404\)"):
        RemoteGovernanceServiceClient(base_url=failing.url).datasets()


def test_a_refused_connection_is_an_outage_after_three_tries() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match="did not answer GET .* Connection refused"):
        RemoteGovernanceServiceClient(base_url=url).datasets()
    assert 0.5 <= time.monotonic() - began < 5  # 0.2 s and 0.4 s between the three tries


def test_a_client_pickles_as_its_url_and_token_never_a_connection() -> None:
    client = RemoteGovernanceServiceClient(base_url="http://dc43.internal:8143", token=TOKEN)
    client.connection._client()  # a live httpx client in this process
    copy = pickle.loads(pickle.dumps(client))
    assert copy.connection.base_url == "http://dc43.internal:8143" and copy.connection._local is None
    assert copy.connection._token == Secret(TOKEN)
    assert TOKEN not in repr(client) + repr(client.connection) + repr(copy)


def test_settings_take_the_service_from_the_environment_and_mask_the_token(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DC43_SERVICE_URL", "http://dc43.internal:8143/")
    monkeypatch.setenv("DC43_SERVICE_TOKEN", TOKEN)
    settings = Settings.load()
    assert settings.service_url == "http://dc43.internal:8143" and settings.service_token.reveal() == TOKEN
    assert TOKEN not in repr(settings) + str(settings) and TOKEN not in repr(settings.absolute())
    monkeypatch.setenv("DC43_SERVICE_URL", "https://user:pw@dc43.internal")
    with pytest.raises(ConfigurationError, match="without credentials") as raised:
        Settings.load()
    assert "pw" not in str(raised.value)
    monkeypatch.setenv("DC43_SERVICE_URL", "dc43.internal:8143")
    with pytest.raises(ConfigurationError, match="http\\(s\\) URL"):
        Settings.load()
    monkeypatch.delenv("DC43_SERVICE_URL")
    monkeypatch.delenv("DC43_SERVICE_TOKEN")
    (tmp_path / "dc43.toml").write_text('[dc43]\nservice_url = "http://from-file:8143"\nservice_token = 7\n')
    with pytest.raises(ConfigurationError, match="service_token"):
        Settings.load()


def test_no_url_anywhere_is_an_error_naming_the_variable(monkeypatch) -> None:
    monkeypatch.delenv("DC43_SERVICE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="DC43_SERVICE_URL"):
        RemoteGovernanceServiceClient()
