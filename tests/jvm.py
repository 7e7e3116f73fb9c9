"""The JVM options of every JVM the suite starts: drivers (the test process's and its children's),
the Spark Connect server, the standalone master, worker and executors, the Kafka broker.

Test JVMs live seconds to minutes and run each query shape a few times: C2's compilations cost
more CPU than they ever give back.  Stopping at C1 (``TieredStopAtLevel=1``) took a file of
gate tests from 159 to 113 CPU seconds and one kill-and-restart child from 48 to 28
(docs/testing.md).  It changes when code is compiled, never what it computes.
"""

from __future__ import annotations

import os

JVM_OPTIONS = "-XX:TieredStopAtLevel=1"


def use_in_spark_drivers() -> None:
    """Every driver that pyspark launches from this process or from a child inheriting its
    environment gets :data:`JVM_OPTIONS` (``SPARK_SUBMIT_OPTS`` is read by spark-submit's launcher);
    a developer's own ``SPARK_SUBMIT_OPTS`` is kept."""
    os.environ.setdefault("SPARK_SUBMIT_OPTS", JVM_OPTIONS)
