"""An HTTP server on 127.0.0.1 that keeps the JSON bodies POSTed to it (lineage events, alerts), and
answers every GET with a given status and body, after a given delay (a service that fails)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Collects what is POSTed to it, in arrival order, with the request headers; answers ``status``
    (to a GET: ``body``, ``delay`` seconds later)."""

    def __init__(self, status: int = 200, *, body: bytes = b"", delay: float = 0.0) -> None:
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = status
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                time.sleep(delay)
                try:
                    self.send_response(owner.status)
                    self.send_header("Content-Type",
                                     "application/json" if body.startswith((b"{", b"[")) else "text/html")
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # a client that timed out has gone
                    pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if owner.status < 400:
                    owner.events.append(json.loads(body))
                    owner.headers.append(dict(self.headers))
                self.send_response(owner.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
