"""Running the service: ``dc43 serve`` starts uvicorn on the app over the configured database."""

from __future__ import annotations

import os
import sys
from typing import Any

from dc43.service.access import TOKEN_ENV, VIEWER_TOKEN_ENV, Access
from dc43.service.app import create_app
from dc43.service.database import DATABASE_URL_ENV, ServiceDatabase

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8143


def app_from_environment() -> Any:
    """The app over ``DC43_DATABASE_URL`` with ``DC43_SERVICE_TOKEN`` and ``DC43_VIEWER_TOKEN``: what
    each uvicorn worker builds."""
    return create_app(ServiceDatabase(os.environ.get(DATABASE_URL_ENV), migrate=False),
                      token=os.environ.get(TOKEN_ENV) or None, viewer_token=os.environ.get(VIEWER_TOKEN_ENV) or None)


def serve(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, database_url: str | None = None,
          workers: int = 1) -> None:
    """Migrate the database, then serve until stopped (SIGINT or SIGTERM)."""
    import uvicorn

    database = ServiceDatabase(database_url)  # migrated once, before any worker starts
    os.environ[DATABASE_URL_ENV] = database.url.render_as_string(hide_password=False)
    token = os.environ.get(TOKEN_ENV)
    Access(token, os.environ.get(VIEWER_TOKEN_ENV))  # refuse a viewer token without a service token, before serving
    print(f"dc43 service on http://{host}:{port} (pages at /) over {database.label} (schema {database.revision()})"
          + ("" if token else f"; no {TOKEN_ENV} set: anyone who reaches it can read and write"),
          file=sys.stderr, flush=True)
    database.dispose()
    uvicorn.run("dc43.service.server:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=True)
