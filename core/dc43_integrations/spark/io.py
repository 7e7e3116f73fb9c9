"""The spec's import path for the Spark helpers; re-exports :mod:`dc43.spark.io`."""

from dc43.errors import ContractViolationError, StreamingInterventionError
from dc43.locators import StaticDatasetLocator
from dc43.spark.io import (
    read_stream_from_contract,
    read_stream_with_contract,
    read_with_contract,
    write_stream_with_contract,
    write_with_contract,
)
from dc43.spark.products import (
    read_from_data_product,
    read_stream_from_data_product,
    write_stream_to_data_product,
    write_to_data_product,
)
from dc43.strategies import (
    NoOpStreamingInterventionStrategy,
    StreamingInterventionContext,
    StreamingInterventionStrategy,
)

__all__ = [
    "ContractViolationError", "NoOpStreamingInterventionStrategy", "StaticDatasetLocator",
    "StreamingInterventionContext", "StreamingInterventionError", "StreamingInterventionStrategy",
    "read_from_data_product", "read_stream_from_contract", "read_stream_from_data_product",
    "read_stream_with_contract", "read_with_contract", "write_stream_to_data_product",
    "write_stream_with_contract", "write_to_data_product", "write_with_contract",
]
