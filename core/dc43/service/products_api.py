"""Data products over HTTP: versions, ports and the contracts bound to them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import attrs
from fastapi import APIRouter, Body

from dc43.errors import InvalidArgumentError
from dc43.products.models import DataProduct, Port
from dc43.service import bodies
from dc43.service.state import ServicesDep

router = APIRouter(prefix="/products", tags=["data products"])
Kind = Literal["input", "output"]


def _read(build: Callable[[Mapping[str, Any]], Any], data: Mapping[str, Any], what: str) -> Any:
    try:
        return build(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidArgumentError(f"the {what} is malformed: {type(exc).__name__} {exc}; a {what} needs "
                                   + ("id and version" if what == "data product" else "name, contractId and version")
                                   ) from None


@router.get("")
def product_ids(s: ServicesDep) -> list[str]:
    """Every data product id."""
    return s.products.product_ids()


@router.get("/{product_id}/versions")
def versions(s: ServicesDep, product_id: str) -> list[str]:
    """The versions of a data product, ascending."""
    s.products.get(product_id)  # 404 naming the known products
    return s.products.versions(product_id)


@router.get("/{product_id}")
def get_product(s: ServicesDep, product_id: str, version: str | None = None) -> dict[str, Any]:
    """A data product version (default: the newest)."""
    return s.products.get(product_id, version).to_dict()


@router.put("", status_code=204)
def put_product(s: ServicesDep, document: Annotated[dict[str, Any], Body()]) -> None:
    """Store a product version; an existing version must be identical (409 otherwise)."""
    s.products.put(_read(DataProduct.from_dict, document, "data product"))


@router.get("/{product_id}/ports/{kind}/{port_name}")
def port(s: ServicesDep, product_id: str, kind: Kind, port_name: str, version: str | None = None) -> dict[str, Any]:
    """A port of a product version and the contract bound to it."""
    return s.products.port_contract(product_id, kind, port_name, version).to_dict()


@router.post("/{product_id}/ports")
def register_port(s: ServicesDep, product_id: str, body: bodies.PortBinding) -> dict[str, Any]:
    """Bind a port on the newest version; a change makes a new draft version."""
    registration = s.products.register_port(product_id, body.kind, _read(Port.from_dict, body.port, "port"))
    return attrs.asdict(registration)
