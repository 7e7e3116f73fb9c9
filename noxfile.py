"""Developer sessions: ``nox -s tests`` is what CI and the README run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests"]

EXAMPLE_PLUGIN = "docs/examples/dc43-example-plugin"
TOPOLOGIES = ("classic", "connect", "cluster")
SPARK_ENV = {"SPARK_LOCAL_IP": "127.0.0.1"}
#: ``DC43_TEST_LANES=2``: the layers side by side, one lane per core, each lane running its layers
#: one after the other. Not the default: under that load a Connect server's foreachBatch worker can
#: miss Spark's fixed 10 s to connect back (docs/testing.md).
LANES = (("classic",), ("connect", "cluster"))
UNIT = "not spark and not kafka and not e2e and not service"


def _install_tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.install("--no-deps", EXAMPLE_PLUGIN)


def _ensure_chromium(session: nox.Session) -> None:
    if shutil.which("chromium") is not None:  # the report's browser test needs it
        return
    if os.geteuid() == 0:
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "chromium", external=True,
                    env={"DEBIAN_FRONTEND": "noninteractive"})
    else:
        session.warn("Chromium is missing and the report's browser test will fail: "
                     "run `sudo apt-get install -y chromium`")


class _Layer:
    """One ``pytest --topology=...`` run, its output kept in a file and printed whole when it ends."""

    def __init__(self, session: nox.Session, topology: str, args: list[str], logs: Path) -> None:
        self.topology = topology
        self.command = [str(Path(session.bin) / "pytest"), f"--topology={topology}",
                        f"--basetemp={logs / topology}", *args]
        self.log = logs / f"{topology}.log"
        self.code: int | None = None
        self.seconds = 0.0

    def run(self, env: dict[str, str], printing: threading.Lock) -> None:
        start = time.monotonic()
        with self.log.open("w") as out:
            self.code = subprocess.call(self.command, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.seconds = time.monotonic() - start
        with printing:
            print(f"\n===== layer {self.topology}: exit {self.code} in {self.seconds:.0f} s =====", flush=True)
            print(self.log.read_text(errors="replace"), flush=True)

    def counts(self) -> dict[str, int]:
        """pytest's closing counts (passed, failed, errors, ...) from the layer's summary line."""
        summaries = [line for line in self.log.read_text(errors="replace").splitlines()
                     if re.search(r"\d+ (passed|failed|errors?)\b.* in [\d.]+s", line)]  # warnings may follow it
        found = re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected|xfailed|xpassed)",
                           summaries[-1] if summaries else "")
        return {word.rstrip("s") if word.startswith("error") else word: int(n) for n, word in found}


def _run_layers(session: nox.Session, lanes: tuple[tuple[str, ...], ...], args: list[str]) -> None:
    """Run every layer, the lanes side by side; print each layer's output when it ends, then one
    summary. A layer that fails never keeps the others from running."""
    logs = Path(tempfile.mkdtemp(prefix="dc43-layers-"))
    env = {**os.environ, **SPARK_ENV, "VIRTUAL_ENV": str(Path(session.bin).parent),
           "PATH": os.pathsep.join([session.bin, os.environ.get("PATH", "")])}
    # Hundreds of Python processes import dc43 from this tree (children, Spark Connect's
    # foreachBatch workers): with PYTHONDONTWRITEBYTECODE set, each compiled it again (0.1 s).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    layers = {t: _Layer(session, t, args, logs) for lane in lanes for t in lane}
    printing = threading.Lock()

    def lane_runner(lane: tuple[str, ...]) -> None:
        for topology in lane:
            layers[topology].run(env, printing)

    session.log(f"layers: {' | '.join(' then '.join(lane) for lane in lanes)}; logs in {logs}")
    threads = [threading.Thread(target=lane_runner, args=(lane,)) for lane in lanes]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total: dict[str, int] = {}
    print("\n===== every layer =====")
    for layer in layers.values():
        counts = layer.counts()
        for word, n in counts.items():
            total[word] = total.get(word, 0) + n
        said = ", ".join(f"{n} {word}" for word, n in counts.items()) or "no summary"
        print(f"{layer.topology:8} exit {layer.code}  {layer.seconds:6.0f} s  {said}")
    print(f"wall time {time.monotonic() - started:.0f} s")
    failed = [t for t, layer in layers.items() if layer.code != 0]
    print(f"layers: {total.get('passed', 0)} passed, {total.get('failed', 0) + total.get('error', 0)} failed", flush=True)
    if failed:
        session.error(f"layers that failed: {', '.join(failed)} (their output is above)")


@nox.session
def tests(session: nox.Session) -> None:
    """Every test layer: unit, Spark (local[2]), Kafka and end to end on classic Spark, then the
    Spark Connect layer and the standalone-cluster layer, each in a pytest process of its own; every
    layer runs and reports, whichever fails. ``DC43_TEST_LANES=2`` runs classic beside the others."""
    _install_tests(session)
    _ensure_chromium(session)
    # fetched once here, not by two layers at once
    session.run("python", "-c", "from tests.kafka_support import ensure_jars; ensure_jars()")
    lanes = LANES if os.environ.get("DC43_TEST_LANES") == "2" else (TOPOLOGIES,)
    _run_layers(session, lanes, session.posargs or ["-q", "--durations=25"])


def _changed_files() -> list[str]:
    """Files changed in the work tree (staged, unstaged, untracked); the last commit's when none."""
    def git(*args: str) -> list[str]:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.split()

    changed = git("diff", "--name-only", "HEAD") + git("ls-files", "--others", "--exclude-standard")
    return sorted(set(changed or git("diff", "--name-only", "HEAD~1", "HEAD")))


def _tests_touched(changed: list[str]) -> tuple[list[str], list[str]]:
    """The test files a change touches: test files changed, and those naming a changed module
    (``dc43.spark.observation``, ``dc43_kafka.options``) or package; also the modules none names."""
    tests = sorted(str(p) for p in Path("tests").rglob("test_*.py"))
    texts = {path: Path(path).read_text() for path in tests}
    picked = {path for path in changed if path in texts}
    unnamed = []
    for path in changed:
        if not path.endswith(".py") or not path.startswith(("core/", "plugins/")):
            continue
        module = path.split("/", 1)[1].removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        parent, _, leaf = module.rpartition(".")
        pattern = re.compile(rf"\b{re.escape(module)}\b" + (rf"|from {re.escape(parent)} import [^\n]*\b{leaf}\b"
                                                            if parent else ""))
        naming = {test for test, text in texts.items() if pattern.search(text)}
        picked |= naming
        if not naming:
            unnamed.append(module)
    return sorted(picked), unnamed


@nox.session
def quick(session: nox.Session) -> None:
    """The everyday loop: the unit layer, then on classic Spark the test files the change touches
    (test files changed, or naming a changed module). Names of test files or folders as
    arguments replace that choice."""
    _install_tests(session)
    session.run("pytest", "-q", "-m", UNIT, env=SPARK_ENV)
    if session.posargs:
        chosen = list(session.posargs)
    else:
        chosen, unnamed = _tests_touched(_changed_files())
        if unnamed:
            session.warn(f"no test names {', '.join(unnamed)}: `nox -s tests` runs what uses them")
    chosen = [path for path in chosen if not path.startswith("tests/unit/")]
    if not chosen:
        session.log("no Spark, Kafka or end-to-end test file is touched by this change")
        return
    session.log(f"classic layer of: {' '.join(chosen)}")
    session.run("pytest", "-q", "--topology=classic", *chosen, env=SPARK_ENV)


@nox.session
def connect(session: nox.Session) -> None:
    """The Spark Connect layer alone: a Connect server started from the pyspark wheel."""
    _install_tests(session)
    session.run("pytest", "--topology=connect", *(session.posargs or ["-q"]), env=SPARK_ENV)


@nox.session
def cluster(session: nox.Session) -> None:
    """The standalone-cluster layer alone: a master and a worker started from the pyspark wheel."""
    _install_tests(session)
    session.run("pytest", "--topology=cluster", *(session.posargs or ["-q"]), env=SPARK_ENV)


@nox.session
def unit(session: nox.Session) -> None:
    """The fast layer alone: no Spark, no broker."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", "-m", UNIT, *session.posargs)


@nox.session
def kafka(session: nox.Session) -> None:
    """The Kafka layer alone: a real broker (KRaft) started by the tests; needs Maven and Java 17."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", "-m", "kafka", *session.posargs, env=SPARK_ENV)


@nox.session
def lint(session: nox.Session) -> None:
    """Static checks."""
    session.install("ruff")
    session.run("ruff", "check", "core", "plugins", "tests", "docs/examples", "benchmarks", "noxfile.py")


@nox.session
def bench(session: nox.Session) -> None:
    """The streaming-overhead benchmark (prints timings, asserts none); see benchmarks/README.md."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/stream_overhead.py", *session.posargs, env=SPARK_ENV)


@nox.session
def bench_keys(session: nox.Session) -> None:
    """Keys across micro-batches on the overhead workload, beside Spark and DQX (prints only)."""
    session.install("-e", ".[test]", "databricks-labs-dqx==0.17.0")  # the peer; dc43 never needs it
    session.run("python", "benchmarks/keys_across.py", *session.posargs, env=SPARK_ENV)


@nox.session
def bench_key_history(session: nox.Session) -> None:
    """What keys unique across micro-batches cost per batch after 10 and 100 batches (prints only)."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/key_history.py", *session.posargs, env=SPARK_ENV)


@nox.session
def bench_service(session: nox.Session) -> None:
    """A stream with a shared dc43 serve against the local default, and verdict latency under load (prints only)."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/service_overhead.py", *session.posargs, env=SPARK_ENV)


@nox.session
def bench_ui(session: nox.Session) -> None:
    """The service's pages with 10,000 batches of history, on SQLite and PostgreSQL (prints only)."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/ui_pages.py", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """A 1,000-batch run per writer: memory, result size, lag, governance size (prints, asserts nothing)."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/soak.py", *session.posargs, env=SPARK_ENV)
