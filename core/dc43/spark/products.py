"""Helpers that read and write data-product ports; the contract comes from the port.

Each resolves the contract a port is bound to, then delegates to the
contract helper of :mod:`dc43.spark.io`, which validates, registers the port
in the catalogue (``details["data_product"]``) and returns the running
``StreamingQuery`` handles in ``details["streaming_queries"]``.
"""

from __future__ import annotations

from typing import Any

from dc43.errors import Dc43Error, InvalidArgumentError
from dc43.products import DataProductInputBinding, DataProductOutputBinding
from dc43.spark import io, steps


def _product_service(given: Any) -> Any:
    return steps.service("data_product", given)


def _port_contract(service: Any, product: str, kind: str, port_name: str | None, version: str | None,
                   fix: str) -> tuple[str, str]:
    """``(contract_id, selector)`` of the contract a port is bound to, or an error naming ``fix``."""
    if not port_name:
        raise InvalidArgumentError(f"the {kind} binding of data product '{product}' names no port, so no contract "
                                   f"can come from it: pass port_name=..., or {fix}")
    try:
        port = service.port_contract(product, kind, port_name, version)
    except Dc43Error as exc:
        raise Dc43Error(f"no contract is bound to {kind} port '{port_name}' of '{product}' ({exc}); "
                        f"{fix}") from exc
    return port.contract_id, f"=={port.version}"


def input_contract(service: Any, binding: DataProductInputBinding) -> tuple[str, str]:
    """The contract of the source output port a binding names, else of its own input port."""
    if binding.source_data_product and binding.source_output_port:
        return _port_contract(service, binding.source_data_product, "output", binding.source_output_port, None,
                              "write to that output port first, or pass contract_id")
    return _port_contract(service, binding.data_product, "input", binding.port_name, binding.data_product_version,
                          "name the source output port (source_data_product, source_output_port) or pass contract_id")


def output_contract(service: Any, binding: DataProductOutputBinding) -> tuple[str, str]:
    """The contract a binding's output port is bound to."""
    return _port_contract(service, binding.data_product, "output", binding.port_name, binding.data_product_version,
                          "pass contract_id for its first write")


def _with_contract(kwargs: dict[str, Any], find: Any) -> dict[str, Any]:
    """``kwargs`` with the port's contract, unless they name one already."""
    if kwargs.get("contract_id"):
        return kwargs
    contract_id, selector = find()
    return {**kwargs, "contract_id": contract_id, "expected_contract_version": selector}


def _input_contract(service: Any, binding: DataProductInputBinding, kwargs: dict[str, Any]) -> dict[str, Any]:
    return _with_contract(kwargs, lambda: input_contract(service, binding))


def _output_contract(service: Any, binding: DataProductOutputBinding, kwargs: dict[str, Any]) -> dict[str, Any]:
    return _with_contract(kwargs, lambda: output_contract(service, binding))


def read_stream_from_data_product(*, data_product_service: Any, data_product_input: Any,
                                  **kwargs: Any) -> Any:
    """Stream a data product's input port under the contract its source port is bound to."""
    service = _product_service(data_product_service)
    binding = DataProductInputBinding.coerce(data_product_input)
    return io.read_stream_with_contract(data_product_service=service, data_product_input=binding,
                                        **_input_contract(service, binding, kwargs))


def write_stream_to_data_product(*, data_product_service: Any, data_product_output: Any,
                                 **kwargs: Any) -> Any:
    """Stream to a data product's output port under the contract it is bound to."""
    service = _product_service(data_product_service)
    binding = DataProductOutputBinding.coerce(data_product_output)
    return io.write_stream_with_contract(data_product_service=service, data_product_output=binding,
                                         **_output_contract(service, binding, kwargs))


def read_from_data_product(*, data_product_service: Any, data_product_input: Any, **kwargs: Any) -> Any:
    """Batch counterpart of :func:`read_stream_from_data_product`."""
    service = _product_service(data_product_service)
    binding = DataProductInputBinding.coerce(data_product_input)
    return io.read_with_contract(data_product_service=service, data_product_input=binding,
                                 **_input_contract(service, binding, kwargs))


def write_to_data_product(*, data_product_service: Any, data_product_output: Any, **kwargs: Any) -> Any:
    """Batch counterpart of :func:`write_stream_to_data_product`."""
    service = _product_service(data_product_service)
    binding = DataProductOutputBinding.coerce(data_product_output)
    return io.write_with_contract(data_product_service=service, data_product_output=binding,
                                  **_output_contract(service, binding, kwargs))
