"""The original import path of the Spark helpers: dc43's engine behind the original's API.

The helpers take the original dc43's arguments and dc43's own (see
:mod:`dc43.legacy.spark_io`); ``docs/migrating.md`` maps every name here to dc43's API.
"""

from dc43.errors import ContractViolationError, StreamingInterventionError
from dc43.legacy.governed import (
    read_stream_with_governance,
    read_with_governance,
    write_stream_with_governance,
    write_with_governance,
)
from dc43.legacy.locators import (
    ContractFirstDatasetLocator,
    ContractVersionLocator,
    DatasetLocatorStrategy,
    DatasetResolution,
    StaticDatasetLocator,
    dataset_id_from_ref,
)
from dc43.legacy.plans import GovernanceSparkReadRequest, GovernanceSparkWriteRequest
from dc43.legacy.spark_io import (
    get_delta_version,
    read_from_contract,
    read_from_data_product,
    read_stream_from_contract,
    read_stream_from_data_product,
    read_stream_with_contract,
    read_with_contract,
    write_stream_to_data_product,
    write_stream_with_contract,
    write_stream_with_contract_id,
    write_to_data_product,
    write_with_contract,
    write_with_contract_id,
)
from dc43.legacy.statuses import DefaultReadStatusStrategy, ReadStatusContext, ReadStatusStrategy
from dc43.legacy.violations import (
    NoOpWriteViolationStrategy,
    WriteRequest,
    WriteStrategyContext,
    WriteViolationStrategy,
)
from dc43.strategies import (
    NoOpStreamingInterventionStrategy,
    StreamingInterventionContext,
    StreamingInterventionStrategy,
)

__all__ = [
    "ContractFirstDatasetLocator", "ContractVersionLocator", "ContractViolationError", "DatasetLocatorStrategy",
    "DatasetResolution", "DefaultReadStatusStrategy", "GovernanceSparkReadRequest", "GovernanceSparkWriteRequest",
    "NoOpStreamingInterventionStrategy", "NoOpWriteViolationStrategy", "ReadStatusContext", "ReadStatusStrategy",
    "StaticDatasetLocator", "StreamingInterventionContext", "StreamingInterventionError",
    "StreamingInterventionStrategy", "WriteRequest", "WriteStrategyContext", "WriteViolationStrategy",
    "dataset_id_from_ref", "get_delta_version", "read_from_contract", "read_from_data_product",
    "read_stream_from_contract", "read_stream_from_data_product", "read_stream_with_contract",
    "read_stream_with_governance", "read_with_contract", "read_with_governance", "write_stream_to_data_product",
    "write_stream_with_contract", "write_stream_with_contract_id", "write_stream_with_governance",
    "write_to_data_product", "write_with_contract", "write_with_contract_id", "write_with_governance",
]
