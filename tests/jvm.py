"""The JVM options of the short-lived JVMs the suite starts: the drivers of its child processes
(end-to-end scripts, the SIGKILL children, ``dc43 demo``) and the Kafka broker's tools.

A child JVM lives seconds and runs each query shape a few times: C2's compilations cost more CPU
than they give back.  Stopping at C1 (``TieredStopAtLevel=1``) took one kill-and-restart child
from 48 to 28 CPU seconds.  The JVMs that live for a whole layer (the test process's driver, the
Spark Connect server, the cluster's executors) keep the default tiered compilation: over a
layer C2 pays back (docs/testing.md).  It changes when code is compiled, never what it computes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

JVM_OPTIONS = "-XX:TieredStopAtLevel=1"


def use_in_spark_drivers() -> None:
    """Every driver that pyspark launches from a child inheriting this environment gets
    :data:`JVM_OPTIONS` (``SPARK_SUBMIT_OPTS`` is read by spark-submit's launcher); a
    developer's own ``SPARK_SUBMIT_OPTS`` is kept."""
    os.environ.setdefault("SPARK_SUBMIT_OPTS", JVM_OPTIONS)


@contextmanager
def long_lived_driver() -> Iterator[None]:
    """Launch the test process's own driver, which lives for the whole layer, without
    :data:`JVM_OPTIONS` (a developer's own ``SPARK_SUBMIT_OPTS`` still applies)."""
    ours = os.environ.get("SPARK_SUBMIT_OPTS") == JVM_OPTIONS
    if ours:
        del os.environ["SPARK_SUBMIT_OPTS"]
    try:
        yield
    finally:
        if ours:
            os.environ["SPARK_SUBMIT_OPTS"] = JVM_OPTIONS
