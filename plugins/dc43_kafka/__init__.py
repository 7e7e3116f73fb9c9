"""dc43 plugin: the ``kafka`` dataset format (JSON records; streaming and batch).

Spark needs its Kafka connector on the classpath: set ``spark.jars.packages`` to
:func:`connector_package`.  See ``docs/kafka.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dc43 import hookimpl

from dc43_kafka.format import KafkaFormat


def connector_package() -> str:
    """Maven coordinates of Spark's Kafka connector matching the installed pyspark."""
    import pyspark

    return f"org.apache.spark:spark-sql-kafka-0-10_2.13:{pyspark.__version__}"


@hookimpl
def dc43_dataset_formats() -> Mapping[str, Any]:
    return {"kafka": KafkaFormat()}
