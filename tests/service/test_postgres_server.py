"""The test PostgreSQL server starts, answers SQL over TCP, and leaves nothing behind when stopped."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.postgres_server import PostgresServer, bindir, postgres_available

pytestmark = pytest.mark.service


def test_server_answers_sql_and_stop_leaves_nothing_behind() -> None:
    problem = postgres_available()
    if problem:
        pytest.fail(problem, pytrace=False)
    with PostgresServer() as server:
        assert server.url == f"postgresql+psycopg://dc43@127.0.0.1:{server.port}/dc43"
        psql = [str(bindir() / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", "127.0.0.1", "-p", str(server.port), "-U", "dc43", "-d", "dc43"]
        run = subprocess.run([*psql, "-c", "SELECT version()",
                              "-c", "CREATE TABLE t(x int)", "-c", "INSERT INTO t VALUES (1), (2), (3)",
                              "-c", "SELECT count(*) FROM t"], capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert lines[0].startswith("PostgreSQL ") and lines[-1] == "3", run.stdout
        pid, root = server.pid, server.root
        assert pid is not None and root is not None and server.data_dir.is_dir()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not root.exists()
    server.stop()  # a second stop does nothing
