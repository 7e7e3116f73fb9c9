"""The original import path of data-product bindings and the data-product service protocol."""

from dc43.legacy.protocols import DataProductServiceClient
from dc43.products import DataProductInputBinding, DataProductOutputBinding, LocalDataProductService


def normalise_input_binding(spec: object) -> DataProductInputBinding | None:
    """``spec`` (a binding or its mapping) as an input binding; ``None`` stays ``None``."""
    return None if spec is None else DataProductInputBinding.coerce(spec)


def normalise_output_binding(spec: object) -> DataProductOutputBinding | None:
    """``spec`` (a binding or its mapping) as an output binding; ``None`` stays ``None``."""
    return None if spec is None else DataProductOutputBinding.coerce(spec)


__all__ = ["DataProductInputBinding", "DataProductOutputBinding", "DataProductServiceClient",
           "LocalDataProductService", "normalise_input_binding", "normalise_output_binding"]
