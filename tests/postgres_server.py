"""A real PostgreSQL server for a test session: a fresh cluster in a temporary folder, on loopback only.

The server listens on ``127.0.0.1`` at a free port, keeps its Unix socket in its own folder (never
``/var/run/postgresql``) and trusts every connection, as role ``dc43`` to database ``dc43``.
PostgreSQL refuses to run as root, so under root ``initdb`` and ``postgres`` run as the ``postgres``
system user (created by the Debian package) through ``runuser``, in a folder that user owns.
The server is stopped by its postmaster's PID: SIGINT, PostgreSQL's fast shutdown.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

FALLBACK_BINDIR = Path("/usr/lib/postgresql/15/bin")
INSTALL_HINT = "install it with: apt-get install -y postgresql-15"
SERVER_USER = "postgres"
TOOLS = ("initdb", "postgres", "createdb")
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def bindir() -> Path:
    """The folder holding ``initdb``, ``postgres`` and the client tools: ``pg_config --bindir``, else Debian's 15."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        run = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        found = Path(run.stdout.strip())
        if run.returncode == 0 and (found / "initdb").is_file():
            return found
    return FALLBACK_BINDIR


def postgres_available() -> str | None:
    """None when a server can be started here, else what is missing and how to fix it."""
    folder = bindir()
    missing = [tool for tool in TOOLS if not os.access(folder / tool, os.X_OK)]
    if missing:
        return f"PostgreSQL's {', '.join(missing)} not found in {folder} (nor via pg_config); {INSTALL_HINT}"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root needs 'runuser' (util-linux) to start PostgreSQL as another user"
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root needs the '{SERVER_USER}' system user; {INSTALL_HINT}"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *command] if os.geteuid() == 0 else command


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class PostgresStartError(RuntimeError):
    """The server could not be started; the message says why and ends with its log's last lines."""


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder under ``base_dir`` (default: the system's), which
    under root the ``postgres`` user must be able to traverse (pytest's 0700 ``tmp_path`` is not)."""

    def __init__(self, base_dir: str | os.PathLike[str] | None = None) -> None:
        self.base_dir = base_dir
        self.root: Path | None = None
        self.port = 0
        self.pid: int | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self._root / "data"

    @property
    def log_path(self) -> Path:
        return self._root / "postgres.log"

    @property
    def url(self) -> str:
        """SQLAlchemy 2 URL for psycopg 3."""
        return f"postgresql+psycopg://dc43@127.0.0.1:{self.port}/dc43"

    @property
    def _root(self) -> Path:
        if self.root is None:
            raise RuntimeError("the PostgreSQL server is not started")
        return self.root

    def start(self) -> PostgresServer:
        """Create the cluster, start the server, wait until it accepts connections, create database ``dc43``."""
        problem = postgres_available()
        if problem:
            raise PostgresStartError(problem)
        tools = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="dc43-postgres-", dir=self.base_dir))
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)  # mkdtemp's 0700 then lets only that user in
        self.port = _free_port()
        try:
            self._run("initdb", _as_server_user([str(tools / "initdb"), "-D", str(self.data_dir), "-U", "dc43",
                                                 "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]))
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    _as_server_user([str(tools / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                                     "-h", "127.0.0.1", "-k", str(self.root), "-F"]),
                    stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
            self._wait_ready()
            self._run("createdb", [str(tools / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "dc43", "dc43"])
        except BaseException:
            self.stop()
            raise
        return self

    def _run(self, what: str, command: list[str]) -> None:
        run = subprocess.run(command, capture_output=True, text=True, cwd=self.root, timeout=STARTUP_TIMEOUT)
        if run.returncode != 0:
            self._fail(f"{what} failed (exit {run.returncode}):\n{(run.stdout + run.stderr)[-3000:]}")

    def _wait_ready(self) -> None:
        """Wait for ``postmaster.pid`` to say ``ready`` (its 8th line) and for the port to accept a connection."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                self._fail(f"the server exited with code {self.process.returncode}")
            lines = self._pid_file_lines()
            if len(lines) >= 8 and lines[7].strip() == "ready" and lines[0].isdigit():
                self.pid = int(lines[0])
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        self._fail(f"the server did not accept connections on 127.0.0.1:{self.port} within {STARTUP_TIMEOUT:.0f}s")

    def _fail(self, problem: str) -> None:
        log = self.log_path
        tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
        raise PostgresStartError(f"PostgreSQL could not start: {problem}\nLast lines of {log}:\n{tail}\n"
                                 f"Needs PostgreSQL 15 in {bindir()}; {INSTALL_HINT}")

    def _pid_file_lines(self) -> list[str]:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            return pid_file.read_text().splitlines()
        except FileNotFoundError:
            return []

    def stop(self) -> None:
        """Fast-shut the server down by its PID (SIGKILL after a timeout) and delete its folder; safe to repeat."""
        pid = self.pid
        if pid is None and self.root is not None:  # a start that failed before the server was ready
            lines = self._pid_file_lines()
            pid = int(lines[0]) if lines and lines[0].isdigit() else None
        if pid is not None:
            _signal(pid, signal.SIGINT)
            if not self._wait_gone(pid, STOP_TIMEOUT):
                _signal(pid, signal.SIGKILL)
                self._wait_gone(pid, 10)
        if self.process is not None:  # runuser (as root) or the postmaster itself: reap it
            if pid is None:
                self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.pid = self.process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        """Wait for the postmaster to exit; its parent (runuser, or this process through ``process``) reaps it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None:
                self.process.poll()
            if _gone(pid):
                return True
            time.sleep(0.05)
        return False

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
