"""A real ``dc43 serve`` process for tests: started on a free 127.0.0.1 port, stopped by PID.

Its output goes to a log file the tests read (to check what it logs), its token is random per
process unless given, and ``kill()`` / ``start()`` again simulate an outage.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServeProcess:
    """``dc43 serve --database-url URL`` in ``folder`` (its working directory and log)."""

    def __init__(self, database_url: str, folder: Path, *, token: str | None = None, port: int | None = None,
                 args: tuple[str, ...] = (), viewer_token: str | None = None) -> None:
        self.database_url = database_url
        self.folder = folder
        self.token = token if token is not None else secrets.token_urlsafe(24)
        self.viewer_token = viewer_token
        self.port = port or free_port()
        self.args = args  # more options of dc43 serve (--import PATH, ...)
        self.log_path = folder / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServeProcess:
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
        env.update(DC43_SERVICE_TOKEN=self.token, DC43_DATABASE_URL=self.database_url)
        if self.viewer_token:
            env["DC43_VIEWER_TOKEN"] = self.viewer_token
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "dc43.cli", "serve", "--port", str(self.port), *self.args],
                                            cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dc43 serve exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dc43 serve did not answer /healthz within {STARTUP_TIMEOUT:g} s:\n{self.log()[-4000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """Stop at once (SIGKILL): an outage, nothing flushed."""
        self._stop(signal.SIGKILL)

    def stop(self) -> None:
        """Stop as an operator would (SIGTERM), by PID."""
        self._stop(signal.SIGTERM)

    def _stop(self, signum: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signum)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}
