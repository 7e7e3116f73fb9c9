"""dc43 plugin: Spark's ``rate`` and ``rate-micro-batch`` streaming sources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dc43 import hookimpl
from dc43.formats import SparkFormat


@hookimpl
def dc43_dataset_formats() -> Mapping[str, Any]:
    return {
        "rate": SparkFormat("rate", description="rows per second (timestamp, value)",
                            stream_sink=False, batch=False, located=False),
        "rate-micro-batch": SparkFormat("rate-micro-batch", description="rows per micro-batch",
                                        stream_sink=False, batch=False, located=False),
    }
