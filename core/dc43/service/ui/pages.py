"""The pages ``dc43 serve`` shows at ``/`` (service side): the datasets' health, a dataset's batches
and rules, contracts and their diffs, data products, and the sign-in page.

Pages need what the API needs: with a service token, a bearer header (the pipelines' or the viewer
token) or a signed-in session cookie. Each page keeps itself current: its script polls
``/ui/stamp`` every two seconds and, when the stamp changed, fetches the page's ``?fragment=1``
(its live part only) and swaps it in. Every text from a record is escaped by Jinja2.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from dc43 import errors
from dc43.contracts.diff import diff_contracts
from dc43.contracts.outline import contract_outline
from dc43.report import ASSETS
from dc43.service.access import COOKIE, SESSION_SECONDS, VIEWER_TOKEN_ENV, WRITER, Access
from dc43.service.state import ServicesDep
from dc43.service.ui import render
from dc43.service.views import SEVERITY, SPARK_POINTS, TABLE_ROWS, WINDOW, Views

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.globals.update(render.GLOBALS)
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"}
MAX_FORM_BYTES = 4096


class SignInNeeded(Exception):
    """A page was asked for without a token or session the service takes."""

    def __init__(self, *, refused: bool = False) -> None:
        super().__init__("sign in")
        self.refused = refused


def _access(request: Request) -> Access:
    return request.app.state.access


def reader(request: Request) -> str:
    """The role of whoever asks for a page: from a bearer header, else the session cookie."""
    access = _access(request)
    if access.open:
        return WRITER
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given.strip():
        role = access.role_of_token(given.strip())
        if role is None:
            raise SignInNeeded(refused=True)
        return role
    role = access.role_of_cookie(request.cookies.get(COOKIE, ""))
    if role is None:
        raise SignInNeeded()
    return role


RoleDep = Annotated[str, Depends(reader)]


def install(app: FastAPI) -> None:
    """Add the pages, their static files and the sign-in redirect to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.mount("/assets", StaticFiles(directory=ASSETS), name="assets")
    app.add_exception_handler(SignInNeeded, _sign_in_needed)


def _sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
    if request.url.path.startswith("/ui/") or request.query_params.get("fragment"):
        return JSONResponse({"error": "sign in to this dc43 service again", "type": "ServiceAuthError"},
                            status_code=401, headers=_HEADERS)
    if exc.refused:
        return _render(request, "signin.html", None, code=403, next=_here(request),
                       error="that token is not this service's")
    return RedirectResponse(f"/signin?{urlencode({'next': _here(request)})}", status_code=303, headers=_HEADERS)


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _safe_next(target: str) -> str:
    """Where to go after signing in: a path of this service only (never another site)."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def _render(request: Request, template: str, role: str | None, *, code: int = 200, stamp: str | None = None,
            **context: Any) -> HTMLResponse:
    """``template``, or its live part ``<name>_live.html`` for a ``?fragment=1`` request."""
    live = template.replace(".html", "_live.html")
    fragment = request.query_params.get("fragment") == "1" and stamp is not None
    html = _env.get_template(live if fragment else template).render(
        role=role, signed_in=not _access(request).open and role is not None, stamp=stamp, live=live, **context)
    headers = {**_HEADERS, **({"X-Dc43-Stamp": stamp} if stamp else {})}
    return HTMLResponse(html, status_code=code, headers=headers)


def _missing(request: Request, role: str, kind: str, message: str, known: Iterable[tuple[str, str]]) -> HTMLResponse:
    """A 404 page saying what was asked for and listing what exists, each linked."""
    return _render(request, "missing.html", role, code=404, kind=kind, message=message, known=list(known))


def _views(s: Any) -> Views:
    return Views(s.database)


@router.get("/ui/stamp")
def stamp(s: ServicesDep, _role: RoleDep, dataset: str = "") -> JSONResponse:
    """What a page's script polls: a text that changes when the page's data may have."""
    return JSONResponse({"stamp": _views(s).stamp(dataset or None)}, headers=_HEADERS)


@router.get("/")
def overview(request: Request, s: ServicesDep, role: RoleDep, status: str = "", q: str = "") -> HTMLResponse:
    views = _views(s)
    stamp = views.stamp()
    everything = views.overview()
    counts = Counter(h.status for h in everything)
    text = q.strip().lower()
    shown = [h for h in everything if (not status or h.status == status)
             and (not text or text in h.dataset_id.lower() or text in (h.contract_id or "").lower())]
    return _render(request, "overview.html", role, stamp=stamp, rows=shown, counts=counts, total=len(everything),
                   status=status, q=q, statuses=list(SEVERITY), points=SPARK_POINTS, stamp_url="/ui/stamp")


@router.get("/datasets/{dataset_id:path}")
def dataset(request: Request, s: ServicesDep, role: RoleDep, dataset_id: str, rule: str = "") -> HTMLResponse:
    views = _views(s)
    stamp = views.stamp(dataset_id)
    try:
        page = views.dataset(dataset_id, rule=rule or None)
    except errors.NotFoundError as missing:
        return _missing(request, role, "dataset", str(missing),
                        ((d, render.dataset_url(d)) for d in views.dataset_ids()))
    return _render(request, "dataset.html", role, stamp=stamp, page=page, window=WINDOW, table_rows=TABLE_ROWS,
                   chart=render.chart_data(page), latency=render.latency(page.window),
                   repeated=render.repeated(page.window), versions=render.version_ranges(page.versions),
                   stamp_url=f"/ui/stamp?{urlencode({'dataset': dataset_id})}")


@router.get("/contracts")
def contracts(request: Request, s: ServicesDep, role: RoleDep) -> HTMLResponse:
    return _render(request, "contracts.html", role, contracts=_views(s).contracts())


@router.get("/contracts/{contract_id}")
def contract(request: Request, s: ServicesDep, role: RoleDep, contract_id: str, version: str = "") -> HTMLResponse:
    views = _views(s)
    try:
        versions = views.contract_versions(contract_id)
    except errors.NotFoundError as missing:
        return _missing(request, role, "contract", str(missing),
                        ((c["contract_id"], render.contract_url(c["contract_id"])) for c in views.contracts()))
    names = [v.version for v in versions]
    chosen = version or names[0]
    if chosen not in names:
        return _missing(request, role, "contract version", f"{contract_id} has no version {chosen!r}",
                        ((f"{contract_id} {v}", render.contract_url(contract_id, v)) for v in names))
    outline = contract_outline(s.contracts.get(contract_id, chosen))
    older = names[names.index(chosen) + 1] if names.index(chosen) + 1 < len(names) else None
    return _render(request, "contract.html", role, contract_id=contract_id, versions=versions, chosen=chosen,
                   outline=outline, older=older)


@router.get("/contracts/{contract_id}/diff")
def contract_diff(request: Request, s: ServicesDep, role: RoleDep, contract_id: str,
                  old: Annotated[str, Query(alias="from")] = "", new: Annotated[str, Query(alias="to")] = "",
                  ) -> HTMLResponse:
    views = _views(s)
    try:
        names = [v.version for v in views.contract_versions(contract_id)]
    except errors.NotFoundError as missing:
        return _missing(request, role, "contract", str(missing),
                        ((c["contract_id"], render.contract_url(c["contract_id"])) for c in views.contracts()))
    new = new or names[0]
    old = old or (names[1] if len(names) > 1 else names[0])
    for given in (old, new):
        if given not in names:
            return _missing(request, role, "contract version", f"{contract_id} has no version {given!r}",
                            ((f"{contract_id} {v}", render.contract_url(contract_id, v)) for v in names))
    diff = diff_contracts(s.contracts.get(contract_id, old), s.contracts.get(contract_id, new))
    return _render(request, "diff.html", role, contract_id=contract_id, names=names, old=old, new=new, diff=diff)


@router.get("/products")
def products(request: Request, s: ServicesDep, role: RoleDep) -> HTMLResponse:
    listed = [s.products.get(product_id) for product_id in s.products.product_ids()]
    return _render(request, "products.html", role, products=listed)


@router.get("/products/{product_id}")
def product(request: Request, s: ServicesDep, role: RoleDep, product_id: str) -> HTMLResponse:
    known = s.products.product_ids()
    if product_id not in known:
        return _missing(request, role, "data product", f"no data product {product_id!r} is kept here",
                        ((p, render.product_url(p)) for p in known))
    item = s.products.get(product_id)
    health = {h.dataset_id: h for h in _views(s).overview()}
    ports = [(kind, port, _bound(health, port.contract_id, port.version))
             for kind, ports in (("input", item.input_ports), ("output", item.output_ports)) for port in ports]
    return _render(request, "product.html", role, product=item, ports=ports,
                   versions=s.products.versions(product_id)[::-1])


def _bound(health: dict[str, Any], contract_id: str, version: str) -> Sequence[Any]:
    """The datasets whose contract in force is ``contract_id``@``version``."""
    return [h for h in health.values() if h.contract_id == contract_id and h.contract_version == version]


@router.get("/signin")
def sign_in_page(request: Request, next: str = "/") -> Response:
    if _access(request).open:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _render(request, "signin.html", None, next=_safe_next(next), error=None)


@router.post("/signin")
async def sign_in(request: Request) -> Response:
    """Take a token from the form; a session cookie for its role, or the form again saying why not."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return _render(request, "signin.html", None, code=413, next="/", error="the form is too large")
    form = parse_qs(body.decode("utf-8", "replace"))
    target = _safe_next(form.get("next", ["/"])[0])
    access = _access(request)
    role = access.role_of_token(form.get("token", [""])[0].strip()) if not access.open else WRITER
    if role is None:
        return _render(request, "signin.html", None, code=403, next=target,
                       error=f"that token is not this service's (the pipelines' token or {VIEWER_TOKEN_ENV})")
    answer = RedirectResponse(target, status_code=303, headers=_HEADERS)
    answer.set_cookie(COOKIE, access.session_cookie(role), max_age=SESSION_SECONDS, path="/", httponly=True,
                      samesite="lax", secure=request.url.scheme == "https")
    return answer


@router.post("/signout")
def sign_out() -> Response:
    answer = RedirectResponse("/signin", status_code=303, headers=_HEADERS)
    answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return answer

