"""The HTTP application ``dc43 serve`` runs: the routes of each service, bearer auth, body limits,
and dc43's errors as 4xx answers that name the problem.

Every error answer is ``{"error": message, "type": class name}``; the remote clients raise the
same dc43 error class from it. The token is compared, never logged nor echoed.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from dc43 import errors
from dc43.service import contracts_api, governance_api, products_api, quality_api
from dc43.service.database import ServiceDatabase
from dc43.service.state import Services

log = logging.getLogger(__name__)

TOKEN_ENV = "DC43_SERVICE_TOKEN"
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


def _check_token(request: Request) -> None:
    expected: str | None = request.app.state.token
    if not expected:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise _Refusal(401, f"this dc43 service needs a bearer token: set {TOKEN_ENV} where the pipeline runs "
                       "(or service_token in dc43.toml) to the token the service was started with",
                       errors.ServiceAuthError.__name__, {"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise _Refusal(403, f"the bearer token is not this dc43 service's; check {TOKEN_ENV} where the pipeline "
                       "runs", errors.ServiceAuthError.__name__)


async def _check_body(request: Request) -> None:
    """Bodies are JSON of at most MAX_BODY_BYTES; refused before anything is read into memory."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise _Refusal(415, f"the body must be JSON (Content-Type: application/json), got {kind or 'no content type'}",
                       errors.ServiceRequestError.__name__)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _Refusal(413, f"the body has {int(declared)} bytes, more than the {MAX_BODY_BYTES} this service "
                       "takes; send less at once", errors.ServiceRequestError.__name__)
    size = 0
    async for chunk in request.stream():  # a body sent without a length is counted as it comes
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Refusal(413, f"the body is larger than the {MAX_BODY_BYTES} bytes this service takes; send less "
                           "at once", errors.ServiceRequestError.__name__)
        request._body = getattr(request, "_body", b"") + chunk  # kept for the route that reads it


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors()[:10]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "the body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "the request is malformed: " + "; ".join(problems)


def create_app(database: ServiceDatabase, *, token: str | None = None) -> FastAPI:
    """The service's app over ``database``; with ``token``, every API route needs it as a bearer token."""
    app = FastAPI(title="dc43 service", summary="Contracts, data quality and governance for dc43 pipelines",
                  version="1")
    app.state.services = Services.open(database)
    app.state.token = token
    guarded = [Depends(_check_token), Depends(_check_body)]
    for module in (contracts_api, quality_api, governance_api, products_api):
        app.include_router(module.router, prefix=API, dependencies=guarded)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, Any]:
        """Whether the service runs and reaches its database (no token needed)."""
        db: ServiceDatabase = app.state.services.database
        return {"status": "ok", "database": db.engine.dialect.name, "schema": db.revision()}

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
