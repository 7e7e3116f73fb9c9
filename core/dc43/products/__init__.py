"""Data products: ports bound to contracts, and the bindings the helpers accept."""

from dc43.products.models import (
    DataProduct,
    DataProductInputBinding,
    DataProductOutputBinding,
    Port,
    PortRegistration,
)
from dc43.products.service import LocalDataProductService

__all__ = ["DataProduct", "DataProductInputBinding", "DataProductOutputBinding",
           "LocalDataProductService", "Port", "PortRegistration"]
