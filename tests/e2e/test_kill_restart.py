"""The driver killed with SIGKILL in the middle of a micro-batch, then restarted on its checkpoint:
no row lost or written twice, one verdict per batch id.  The write runs in a child process; this
test kills it (its whole process group, the JVM included), then restarts the write on the same
checkpoint, state folder and governance file in its own session: a driver that never ran it,
with nothing of the killed one in memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

FILES, ROWS = 8, 5  # one file per micro-batch
CHILD = """
import os, sys, time
from pyspark.sql import SparkSession
from dc43.contracts import LocalContractServiceClient
from dc43.governance import LocalGovernanceService
from dc43.quality import LocalDataQualityService
from dc43_memory.store import InMemoryContractStore
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
from tests.spark.orders import orders_contract

writer, folder, fmt = sys.argv[1], sys.argv[2], sys.argv[3]


class Announcing(LocalDataQualityService):
    def evaluate(self, *, contract, payload):
        if payload.metrics:  # not the schema-only payload of the stream's start
            print("JUDGING", payload.metrics["row_count"], flush=True)
            time.sleep(0.3)  # the parent kills the process while a batch is being judged
        return super().evaluate(contract=contract, payload=payload)


if os.environ.get("ANNOUNCE_KEYS"):  # the parent kills the process once a batch's keys are kept
    from dc43.key_index import KeyIndex

    keep = KeyIndex.publish

    def announcing(self, rule, keys, batch_id, *args, **kwargs):
        keep(self, rule, keys, batch_id, *args, **kwargs)
        print("KEPT", batch_id, flush=True)
        time.sleep(0.5)  # before Spark commits the batch

    KeyIndex.publish = announcing


builder = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
           .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
           .config("spark.sql.shuffle.partitions", "2"))
if fmt == "delta":
    from dc43_delta import configure

    builder = (configure(builder, packages=False).config("spark.jars", os.environ["DC43_TEST_JARS"])
               .config("spark.databricks.delta.snapshotPartitions", "2"))
spark = builder.getOrCreate()
store = InMemoryContractStore()
store.put(orders_contract())
services = {"contract_service": LocalContractServiceClient(store), "data_quality_service": Announcing(),
            "governance_service": LocalGovernanceService(f"{folder}/governance.db")}
df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet",
                                  path=f"{folder}/source", options={"maxFilesPerTrigger": "1"}, **services)
extra = {"rejection_sink": {"format": fmt, "path": f"{folder}/rejected"}} if writer == "inline" else {}
result = write_stream_with_contract(
    df=df, contract_id="sales.orders", format=fmt, path=f"{folder}/main", enforce=False,
    options={"checkpointLocation": f"{folder}/cp"}, observation_writer=writer, trigger={"availableNow": True},
    **services, **extra)
for query in result.details["streaming_queries"]:
    query.awaitTermination()
spark.stop()
"""


def source_rows() -> list[tuple]:
    """Unique order ids; every fourth row has a negative amount (rejected by the gate)."""
    return [(n, f"c{n}", -1.0 if n % 4 == 0 else float(n), "EUR") for n in range(FILES * ROWS)]


def write_source(spark, folder: Path) -> None:
    from tests.parquet_files import write_parquet
    from tests.spark.orders import SCHEMA

    rows = source_rows()
    (folder / "source").mkdir()
    for index in range(FILES):
        target = folder / "source" / f"batch-{index:03d}.parquet"
        write_parquet(spark, SCHEMA, rows[index * ROWS:(index + 1) * ROWS], target)
        os.utime(target, (1_700_000_000 + index, 1_700_000_000 + index))


def child(writer: str, folder: Path, fmt: str = "parquet", *, announce_keys: bool = False) -> subprocess.Popen[str]:
    from tests.kafka_support import spark_jars

    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    env.update(SPARK_LOCAL_IP="127.0.0.1", DC43_STATE_DIR=str(folder / ".dc43"), DC43_TEST_JARS=",".join(spark_jars()),
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")]))
    if announce_keys:
        env["ANNOUNCE_KEYS"] = "1"
    return subprocess.Popen([sys.executable, "-c", CHILD, writer, str(folder), fmt], cwd=folder, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)


def restart(spark, writer: str, folder: Path, fmt: str = "parquet") -> None:
    """The write of ``CHILD`` again, in this process, until its stream is drained."""
    from dc43.contracts import LocalContractServiceClient
    from dc43.governance import LocalGovernanceService
    from dc43.quality import LocalDataQualityService
    from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
    from dc43_memory.store import InMemoryContractStore

    from tests.spark.orders import orders_contract

    store = InMemoryContractStore()
    store.put(orders_contract())
    services = {"contract_service": LocalContractServiceClient(store), "data_quality_service": LocalDataQualityService(),
                "governance_service": LocalGovernanceService(folder / "governance.db")}
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet",
                                      path=str(folder / "source"), options={"maxFilesPerTrigger": "1"}, **services)
    extra = {"rejection_sink": {"format": fmt, "path": str(folder / "rejected")}} if writer == "inline" else {}
    result = write_stream_with_contract(
        df=df, contract_id="sales.orders", format=fmt, path=str(folder / "main"), enforce=False,
        options={"checkpointLocation": str(folder / "cp")}, observation_writer=writer, trigger={"availableNow": True},
        **services, **extra)
    for query in result.details["streaming_queries"]:
        assert query.awaitTermination(300), f"the restarted {writer} write did not drain its stream in 300 s"
    assert result.details.get("streaming_error") is None


def files_per_batch(checkpoint: Path) -> list[int]:
    """How many source files each micro-batch of the query on ``checkpoint`` took, from its offsets log.

    One, with ``maxFilesPerTrigger=1``, except when the kill fell while Spark's file source was
    planning that query's next batch: it had logged that file as seen, and the restart's next
    batch takes it together with the file after it (so there is one batch fewer). Each query
    has its own: the ``foreach-batch`` writer's sink and judging query can differ."""
    offsets = checkpoint / "offsets"
    ends = [json.loads((offsets / name).read_text().splitlines()[2])["logOffset"]
            for name in sorted((n.name for n in offsets.iterdir() if n.name.isdigit()), key=int)]
    return [end - start for start, end in zip([-1, *ends], ends)]


def kill_while_judging(process: subprocess.Popen[str], judged: int, said: str = "JUDGING") -> None:
    """SIGKILL the child's process group once it starts judging its ``judged``-th batch (or says
    ``said`` for the ``judged``-th time)."""
    seen = 0
    for line in process.stdout:
        if line.startswith(said):
            seen += 1
            if seen == judged:
                os.killpg(process.pid, signal.SIGKILL)
                break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize("writer", ["foreach-batch", "inline", "observe"])
@pytest.mark.parametrize("kill_at", [1, 4], ids=["first-batch", "mid-stream"])
def test_sigkill_mid_batch_then_restart_loses_and_duplicates_nothing(spark, tmp_path: Path, writer: str,
                                                                     kill_at: int) -> None:
    write_source(spark, tmp_path)
    kill_while_judging(child(writer, tmp_path), kill_at)
    restart(spark, writer, tmp_path)

    def ids(folder: str) -> list[int]:
        path = tmp_path / folder
        return [r.order_id for r in spark.read.parquet(str(path)).select("order_id").collect()] if path.exists() else []

    main, rejected = ids("main"), ids("rejected")
    assert sorted(main + rejected) == [row[0] for row in source_rows()]  # every row once, none twice
    if writer == "inline":
        assert sorted(rejected) == [row[0] for row in source_rows() if row[2] < 0]
    from dc43.governance import LocalGovernanceService

    verdicts = LocalGovernanceService(tmp_path / "governance.db").verdicts(str(tmp_path / "main"))
    judging = "cp_dc43_observations" if writer == "foreach-batch" else "cp"  # the query whose batches are judged
    files = files_per_batch(tmp_path / judging)
    assert sum(files) == FILES
    assert sorted(v.batch_id for v in verdicts) == list(range(len(files)))  # one verdict per batch id
    if writer == "observe":  # it judges after the commit: the batch killed while judged has no metrics left
        lost = [v for v in verdicts if "the driver stopped" in (v.reason or "")]  # said, never silent
        judged = [v for v in verdicts if v not in lost]
        # those judged before the kill stand; how far the sink ran ahead of the judging varies
        assert all(v.batch_id >= kill_at - 1 and v.status == "unknown" for v in lost)
        assert {v.batch_id: v.row_count for v in judged} == {v.batch_id: ROWS * files[v.batch_id] for v in judged}
    else:
        assert {v.batch_id: v.row_count for v in verdicts} == {b: ROWS * n for b, n in enumerate(files)}
        assert {v.metrics["violations.unique_across:order_id"] for v in verdicts} == {0}


@pytest.mark.parametrize("writer", ["foreach-batch", "inline"])
def test_a_batch_replayed_after_its_keys_were_kept_finds_none_of_them_repeated(spark, tmp_path: Path, writer: str,
                                                                             monkeypatch) -> None:
    """Killed after batch 2 kept its keys but before Spark committed it: the replay of batch 2
    finds its own keys in the history and counts none of them."""
    from dc43.key_index import KeyIndex

    write_source(spark, tmp_path)
    kill_while_judging(child(writer, tmp_path, announce_keys=True), 3, said="KEPT")
    kept: list[int] = []
    keep = KeyIndex.publish

    def recording(self, rule, keys, batch_id, *args, **kwargs):
        keep(self, rule, keys, batch_id, *args, **kwargs)
        kept.append(batch_id)

    monkeypatch.setattr(KeyIndex, "publish", recording)  # the batch side runs in this process on classic Spark
    restart(spark, writer, tmp_path)
    assert kept == list(range(2, FILES))  # batch 2 was replayed
    from dc43.governance import LocalGovernanceService

    verdicts = LocalGovernanceService(tmp_path / "governance.db").verdicts(str(tmp_path / "main"))
    assert sorted(v.batch_id for v in verdicts) == list(range(FILES))
    assert {v.batch_id: v.metrics["violations.unique_across:order_id"] for v in verdicts} == dict.fromkeys(
        range(FILES), 0)
    ids = sorted(r.order_id for folder in ("main", "rejected") if (tmp_path / folder).exists()
                 for r in spark.read.parquet(str(tmp_path / folder)).select("order_id").collect())
    assert ids == [row[0] for row in source_rows()]


def test_sigkill_then_restart_on_delta_tables_writes_each_batch_once(spark, tmp_path: Path) -> None:
    """The inline gate on Delta tables, killed mid-stream: every batch reaches each table once."""
    write_source(spark, tmp_path)
    kill_while_judging(child("inline", tmp_path, "delta"), 4)
    restart(spark, "inline", tmp_path, "delta")

    def table(name: str) -> tuple[list[int], list[Any]]:
        location = str(tmp_path / name)
        rows = spark.read.format("delta").load(location).select("order_id").collect()
        commits = [r for r in spark.sql(f"DESCRIBE HISTORY delta.`{location}`").collect() if r.operation == "WRITE"]
        return [r.order_id for r in rows], commits

    (main, main_commits), (rejected, rejected_commits) = table("main"), table("rejected")
    assert sorted(main + rejected) == [row[0] for row in source_rows()]  # every row once, none twice
    assert sorted(rejected) == [row[0] for row in source_rows() if row[2] < 0]
    for commits in (main_commits, rejected_commits):  # one commit per published batch, tagged with it
        assert sorted(int(r.userMetadata.rsplit(" ", 1)[1]) for r in commits) == list(range(FILES))
    from dc43.governance import LocalGovernanceService

    verdicts = LocalGovernanceService(tmp_path / "governance.db").verdicts(str(tmp_path / "main"))
    assert sorted(v.batch_id for v in verdicts) == list(range(FILES))
    versions = {r.version for r in main_commits}
    assert all(v.commit["sink"]["delta_version"] in versions for v in verdicts)
