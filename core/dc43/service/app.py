"""The HTTP application ``dc43 serve`` runs: the routes of each service behind a guard (bearer
token, JSON bodies of a bounded size), and dc43's errors as 4xx answers that name the problem.

Every error answer is ``{"error": message, "type": class name}``; the remote clients raise the
same dc43 error class from it. The token is compared, never logged nor echoed.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dc43 import errors
from dc43.service import contracts_api, governance_api, products_api, quality_api
from dc43.service.access import TOKEN_ENV, VIEWER, VIEWER_TOKEN_ENV, Access
from dc43.service.database import ServiceDatabase
from dc43.service.state import Services
from dc43.service.ui import pages

MAX_BODY_BYTES = 8 * 1024 * 1024
API = "/api"

#: dc43 errors and the status they answer with; any other dc43 error is a 400
_STATUSES: tuple[tuple[type[Exception], int], ...] = (
    (errors.ContractNotFoundError, 404),
    (errors.NotFoundError, 404),
    (errors.ContractConflictError, 409),
    (errors.ContractStatusError, 409),
    (errors.ContractFormatError, 422),
    (errors.InvalidContractIdError, 422),
    (errors.VersionSelectorError, 422),
    (errors.InvalidArgumentError, 422),
    (errors.DataProductError, 422),
)


class _Refusal(Exception):
    def __init__(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers


def _answer(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "type": kind}, status_code=status, headers=headers)


class Guard:
    """In front of every ``/api`` route, before a byte of the body is read: the bearer token
    (401 without one, 403 with another, 403 for a write with the viewer token), a JSON content
    type for bodies (415) and their size (413: the declared length, then what arrives, counted)."""

    def __init__(self, app: ASGIApp, *, access: Access) -> None:
        self.app = app
        self._access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API + "/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        try:
            self._check_token(headers, scope["method"])
            if scope["method"] in ("POST", "PUT", "PATCH"):
                _check_body(headers)
        except _Refusal as refused:
            await _answer(refused.status, refused.message, refused.kind, refused.headers)(scope, receive, send)
            return
        await self.app(scope, _counted(receive), send)

    def _check_token(self, headers: dict[bytes, bytes], method: str) -> None:
        if self._access.open:
            return
        scheme, _, given = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            raise _Refusal(401, f"this dc43 service needs a bearer token: set {TOKEN_ENV} where the pipeline runs "
                           "(or service_token in dc43.toml) to the token the service was started with",
                           errors.ServiceAuthError.__name__, {"WWW-Authenticate": "Bearer"})
        role = self._access.role_of_token(given.strip())
        if role is None:
            raise _Refusal(403, f"the bearer token is not this dc43 service's; check {TOKEN_ENV} where the pipeline "
                           "runs", errors.ServiceAuthError.__name__)
        if role == VIEWER and method not in ("GET", "HEAD"):
            raise _Refusal(403, f"the viewer token ({VIEWER_TOKEN_ENV}) reads only; writing needs {TOKEN_ENV}",
                           errors.ServiceAuthError.__name__)


def _check_body(headers: dict[bytes, bytes]) -> None:
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
    if kind != "application/json":
        raise _Refusal(415, f"the body must be JSON (Content-Type: application/json), got {kind or 'no content type'}",
                       errors.ServiceRequestError.__name__)
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _Refusal(413, f"the body has {int(declared)} bytes, more than the {MAX_BODY_BYTES} this service takes; "
                       "send less at once", errors.ServiceRequestError.__name__)


def _counted(receive: Receive) -> Receive:
    """``receive`` refusing a body that grows past MAX_BODY_BYTES (one sent without a length)."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > MAX_BODY_BYTES:
            raise _Refusal(413, f"the body is larger than the {MAX_BODY_BYTES} bytes this service takes; send less "
                           "at once", errors.ServiceRequestError.__name__)
        return message

    return counted


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors()[:10]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "the body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "the request is malformed: " + "; ".join(problems)


def create_app(database: ServiceDatabase, *, token: str | None = None, viewer_token: str | None = None) -> FastAPI:
    """The service's app over ``database``; with ``token``, every API route and page needs it (or,
    to read only, ``viewer_token``) as a bearer token, and pages take a signed-in session too."""
    app = FastAPI(title="dc43 service", summary="Contracts, data quality and governance for dc43 pipelines",
                  version="1")
    access = Access(token, viewer_token)
    app.state.services = Services.open(database)
    app.state.access = access
    for module in (contracts_api, quality_api, governance_api, products_api):
        app.include_router(module.router, prefix=API)
    pages.install(app)
    app.add_middleware(Guard, access=access)

    @app.get("/healthz", tags=["service"])
    def healthz() -> Any:
        """Whether the service runs and reaches its database (no token needed): 200, else 503."""
        db: ServiceDatabase = app.state.services.database
        try:
            schema = db.revision()
        except Exception as exc:  # the database is down or unreachable: say so, never the URL's password
            return JSONResponse({"status": "unavailable", "database": db.engine.dialect.name,
                                 "error": f"{type(exc).__name__}: cannot reach {db.label}"}, status_code=503)
        return {"status": "ok", "database": db.engine.dialect.name, "schema": schema}

    @app.exception_handler(_Refusal)
    async def refused(_request: Request, exc: _Refusal) -> JSONResponse:
        return _answer(exc.status, exc.message, exc.kind, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def malformed(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _answer(422, _validation_message(exc), errors.ServiceRequestError.__name__)

    @app.exception_handler(errors.Dc43Error)
    async def dc43_error(_request: Request, exc: errors.Dc43Error) -> JSONResponse:
        status = next((code for kind, code in _STATUSES if isinstance(exc, kind)), 400)
        return _answer(status, str(exc), type(exc).__name__)

    return app
