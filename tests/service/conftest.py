"""The service layer: one real PostgreSQL server per session, and a real ``dc43 serve`` per test on
PostgreSQL or on the SQLite default."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_server import PostgresServer, postgres_available
from tests.service_process import ServeProcess


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    problem = postgres_available()
    if problem:
        pytest.fail(problem, pytrace=False)
    with PostgresServer() as server:
        yield server


def fresh_database(server: PostgresServer) -> str:
    """A new empty database on ``server``: one per test, so tests never see each other's records."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=dc43 dbname=dc43", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The service's database: a fresh PostgreSQL database, or the SQLite file of the embedded default."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service' / '.dc43' / 'service.db'}"
    return fresh_database(request.getfixturevalue("postgres"))


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[ServeProcess]:
    """A running ``dc43 serve`` with a token, over ``database_url``."""
    process = ServeProcess(database_url, tmp_path / "service").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Keep each phase's report on its test (``item.rep_call``): browser fixtures take screenshots on failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
