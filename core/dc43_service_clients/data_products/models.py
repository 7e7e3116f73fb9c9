"""The original import path of the data-product bindings."""

from dc43_service_clients.data_products import (
    DataProductInputBinding,
    DataProductOutputBinding,
    normalise_input_binding,
    normalise_output_binding,
)

__all__ = ["DataProductInputBinding", "DataProductOutputBinding", "normalise_input_binding",
           "normalise_output_binding"]
