"""Data products (Open Data Product Standard shape) and the port bindings helpers take.

A data product has input and output ports, each bound to a contract id and
version.  Bindings name the product and port a helper reads or writes; they
are accepted as typed objects or as the spec's mappings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from dc43.errors import Dc43Error

API_VERSION = "v1.0.0"


@attrs.frozen
class Port:
    """One port of a data product, bound to a contract."""

    name: str
    contract_id: str
    version: str  # the contract version the port is bound to
    source_data_product: str | None = None  # inputs: where the data comes from
    source_output_port: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"name": self.name, "contractId": self.contract_id, "version": self.version}
        if self.source_data_product:
            data["sourceDataProduct"] = self.source_data_product
            data["sourceOutputPort"] = self.source_output_port
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Port:
        return cls(name=data["name"], contract_id=data["contractId"], version=data["version"],
                   source_data_product=data.get("sourceDataProduct"),
                   source_output_port=data.get("sourceOutputPort"))


@attrs.frozen
class DataProduct:
    """One version of a data product."""

    id: str
    version: str
    status: str = "draft"
    name: str | None = None
    input_ports: tuple[Port, ...] = ()
    output_ports: tuple[Port, ...] = ()

    def port(self, kind: str, name: str) -> Port | None:
        ports = self.input_ports if kind == "input" else self.output_ports
        return next((p for p in ports if p.name == name), None)

    def with_port(self, kind: str, port: Port, version: str) -> DataProduct:
        """A new draft version with ``port`` added or replaced."""
        field = "input_ports" if kind == "input" else "output_ports"
        ports = tuple(p for p in getattr(self, field) if p.name != port.name) + (port,)
        return attrs.evolve(self, version=version, status="draft", **{field: ports})

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION, "kind": "DataProduct", "id": self.id, "name": self.name,
            "version": self.version, "status": self.status,
            "inputPorts": [p.to_dict() for p in self.input_ports],
            "outputPorts": [p.to_dict() for p in self.output_ports],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataProduct:
        return cls(id=data["id"], version=data["version"], status=data.get("status", "draft"),
                   name=data.get("name"),
                   input_ports=tuple(Port.from_dict(p) for p in data.get("inputPorts", [])),
                   output_ports=tuple(Port.from_dict(p) for p in data.get("outputPorts", [])))


def _snake(key: str) -> str:
    """``dataProductVersion`` -> ``data_product_version`` (the original accepted both spellings)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _coerce(cls: type, value: Any, what: str) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        names = {f.name for f in attrs.fields(cls)}
        given = {_snake(str(k)): v for k, v in value.items()}
        unknown = set(given) - names
        if unknown or not given.get("data_product"):
            raise Dc43Error(
                f"{what} {dict(value)!r} is malformed: it needs data_product"
                + (f"; unknown keys {sorted(unknown)} (known: {sorted(names)})" if unknown else "")
            )
        return cls(**{k: (v.strip() or None) if isinstance(v, str) and k != "data_product" else v
                      for k, v in given.items()})
    if hasattr(value, "data_product"):  # the original's binding dataclasses, or any look-alike
        return cls(**{name: getattr(value, name) for name in (f.name for f in attrs.fields(cls))
                      if hasattr(value, name)})
    raise Dc43Error(f"{what} must be a {cls.__name__} or a mapping, got {type(value).__name__}")


@attrs.frozen
class DataProductInputBinding:
    """The input port a read registers; optionally the output port it reads from.

    Without ``port_name`` the port is named after the source output port, else the contract.
    """

    data_product: str
    port_name: str | None = None
    source_data_product: str | None = None
    source_output_port: str | None = None
    data_product_version: str | None = None
    bump: str = "minor"
    custom_properties: Mapping[str, Any] | None = None
    source_data_product_version: str | None = None
    source_contract_version: str | None = None

    @classmethod
    def coerce(cls, value: Any) -> DataProductInputBinding:
        return _coerce(cls, value, "data_product_input")

    def port_for(self, contract: Any) -> str:
        return self.port_name or self.source_output_port or contract.id


@attrs.frozen
class DataProductOutputBinding:
    """The output port a write registers (named after the contract without ``port_name``)."""

    data_product: str
    port_name: str | None = None
    data_product_version: str | None = None
    bump: str = "minor"
    custom_properties: Mapping[str, Any] | None = None

    @classmethod
    def coerce(cls, value: Any) -> DataProductOutputBinding:
        return _coerce(cls, value, "data_product_output")

    def port_for(self, contract: Any) -> str:
        return self.port_name or contract.id


@attrs.frozen
class PortRegistration:
    """What registering a port did: the product version it now lives in."""

    data_product: str
    port_name: str
    kind: str
    version: str
    status: str
    changed: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)
