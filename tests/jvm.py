"""The JVM options of the JVMs the suite starts.

- Short-lived JVMs (the drivers of its child processes: end-to-end scripts, the SIGKILL children,
  ``dc43 demo``; the Kafka broker and its tools; the standalone master and worker) stop at C1
  (``TieredStopAtLevel=1``). A child JVM lives seconds and runs each query shape a few times:
  C2's compilations cost more CPU than they give back (one kill-and-restart child took 28 CPU
  seconds instead of 48). The JVMs that live for a whole layer (the test process's driver, the
  Spark Connect server, the cluster's executors) keep the default tiered compilation.
- Spark's JVMs (drivers; on the cluster, the master, the worker and the executors too) map a
  class archive (:func:`class_archive`, JDK 17's dynamic class-data sharing): the classes a
  Spark driver loads, parsed and verified once per machine instead of at every start. A child
  driver's start took 9 CPU seconds instead of 15 with it.

Neither changes what a JVM computes, only when its code is compiled and how its classes load.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

JVM_OPTIONS = "-XX:TieredStopAtLevel=1"
ARCHIVES = Path(__file__).resolve().parents[1] / ".cache" / "cds"

# What the archive is made from: a driver that starts, writes and reads parquet, runs SQL and a
# streaming query through foreachBatch, collecting rows and Arrow batches (the keys checked across
# micro-batches come as Arrow), as the suite's drivers do.
TRAINING = """
import tempfile
from pyspark.sql import SparkSession, functions as F
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "2").getOrCreate())
folder = tempfile.mkdtemp()
spark.range(20).withColumn("name", F.concat(F.lit("n"), F.col("id").cast("string"))).write.parquet(folder + "/source")
df = spark.read.parquet(folder + "/source")
df.groupBy((F.col("id") % 3).alias("k")).agg(F.count("*"), F.max("name")).collect()
keys = df.select(F.xxhash64("id").alias("h"), "name").toArrow()
spark.createDataFrame(keys).join(F.broadcast(df), "name").collect()
spark.createDataFrame([(1, "a")], "id long, name string").write.json(folder + "/json")
stream = spark.readStream.schema(df.schema).option("maxFilesPerTrigger", 1).parquet(folder + "/source")
query = (stream.writeStream.option("checkpointLocation", folder + "/cp").trigger(availableNow=True)
         .foreachBatch(lambda batch, batch_id: (batch.agg(F.count("*")).collect(),
                                                batch.select(F.xxhash64("id"), "name").toArrow())).start())
query.awaitTermination()
spark.stop()
"""


def _archive_path() -> Path:
    """Where the archive for this JDK, this pyspark's jars and this training lives (a JVM refuses an
    archive made by another JDK or for another class path, and then starts without it)."""
    import pyspark

    jars = Path(pyspark.__file__).resolve().parent / "jars"
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=True).stderr
    key = hashlib.sha256("\n".join([java, pyspark.__version__, *sorted(p.name for p in jars.glob("*.jar")),
                                    TRAINING]).encode())
    return ARCHIVES / f"spark-driver-{key.hexdigest()[:16]}.jsa"


def class_archive() -> Path | None:
    """The Spark drivers' class archive, made once (about 30 s) by a training driver that dumps the
    classes it loaded when it exits; ``None``, said on stderr, when it cannot be made."""
    try:
        path = _archive_path()
    except (OSError, subprocess.CalledProcessError, ImportError) as error:
        print(f"dc43 tests: no JVM class archive ({error}); the drivers start without one", file=sys.stderr)
        return None
    if path.exists():
        return path
    ARCHIVES.mkdir(parents=True, exist_ok=True)
    with (ARCHIVES / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another layer may be making it
        if path.exists():
            return path
        with tempfile.TemporaryDirectory(dir=ARCHIVES) as scratch:
            dump = Path(scratch) / path.name
            env = {**os.environ, "SPARK_SUBMIT_OPTS": f"{JVM_OPTIONS} -XX:ArchiveClassesAtExit={dump}",
                   "SPARK_LOCAL_IP": "127.0.0.1"}
            made = subprocess.run([sys.executable, "-c", TRAINING], env=env, cwd=scratch, capture_output=True,
                                  text=True, timeout=300)
            if made.returncode != 0 or not dump.exists():
                print(f"dc43 tests: the JVM class archive could not be made (exit {made.returncode}); the drivers "
                      f"start without one. Its output:\n{made.stderr[-2000:]}", file=sys.stderr)
                return None
            shutil.move(dump, path)
    return path


def archive_options(archive: Path | None) -> str:
    """The options that map ``archive`` (with a leading space), or nothing."""
    # -Xlog:cds=off: a JVM that cannot map the archive starts without it; it must not say so on
    # the stderr of a script whose output a test reads
    return f" -XX:SharedArchiveFile={archive} -Xlog:cds=off" if archive else ""


#: a developer's own SPARK_SUBMIT_OPTS, set before the suite started, is left alone
DEVELOPERS_OPTIONS = "SPARK_SUBMIT_OPTS" in os.environ


def use_in_spark_drivers(archive: Path | None = None) -> None:
    """Every driver that pyspark launches from a child inheriting this environment gets
    :data:`JVM_OPTIONS` and ``archive`` (``SPARK_SUBMIT_OPTS`` is read by spark-submit's
    launcher)."""
    if not DEVELOPERS_OPTIONS:
        os.environ["SPARK_SUBMIT_OPTS"] = JVM_OPTIONS + archive_options(archive)


@contextmanager
def long_lived_driver(archive: Path | None = None) -> Iterator[None]:
    """Launch the test process's own driver, which lives for the whole layer, without C1."""
    if DEVELOPERS_OPTIONS:
        yield
        return
    children = os.environ["SPARK_SUBMIT_OPTS"]
    os.environ["SPARK_SUBMIT_OPTS"] = archive_options(archive).strip()
    try:
        yield
    finally:
        os.environ["SPARK_SUBMIT_OPTS"] = children
