"""dc43: enforce Open Data Contract Standard contracts on Spark pipelines.

Importing :mod:`dc43` is cheap: the Spark helpers (and pyspark) load on first
use of one of them.
"""

from __future__ import annotations

import importlib
from typing import Any

from dc43.errors import (
    ContractViolationError,
    Dc43Error,
    StreamingInterventionError,
    UnknownFormatError,
)
from dc43.formats import DatasetFormat, DatasetTarget, SparkFormat
from dc43.hookspecs import hookimpl
from dc43.locators import StaticDatasetLocator
from dc43.results import ObservationPayload, ValidationResult
from dc43.strategies import (
    NoOpStreamingInterventionStrategy,
    StreamingInterventionContext,
    StreamingInterventionStrategy,
)

_LAZY = {
    "read_stream_with_contract": "dc43.spark.io",
    "read_stream_from_contract": "dc43.spark.io",
    "write_stream_with_contract": "dc43.spark.io",
    "read_with_contract": "dc43.spark.io",
    "write_with_contract": "dc43.spark.io",
    "read_stream_from_data_product": "dc43.spark.products",
    "write_stream_to_data_product": "dc43.spark.products",
    "read_from_data_product": "dc43.spark.products",
    "write_to_data_product": "dc43.spark.products",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dc43' has no attribute {name!r}")


__all__ = [
    "ContractViolationError", "DatasetFormat", "DatasetTarget", "Dc43Error",
    "NoOpStreamingInterventionStrategy", "ObservationPayload", "SparkFormat",
    "StaticDatasetLocator", "StreamingInterventionContext", "StreamingInterventionError",
    "StreamingInterventionStrategy", "UnknownFormatError", "ValidationResult", "hookimpl",
    *_LAZY,
]
