"""Developer sessions: ``nox -s tests`` is what CI and the README run."""

from __future__ import annotations

import os
import shutil

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests"]

EXAMPLE_PLUGIN = "docs/examples/dc43-example-plugin"
TOPOLOGIES = ("classic", "connect", "cluster")
SPARK_ENV = {"SPARK_LOCAL_IP": "127.0.0.1"}


def _install_tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.install("--no-deps", EXAMPLE_PLUGIN)


@nox.session
def tests(session: nox.Session) -> None:
    """Every test layer: unit, Spark (local[2]), Kafka and end to end; then the Spark Connect
    and the standalone-cluster layers, each in a pytest process of its own."""
    _install_tests(session)
    if shutil.which("chromium") is None:  # the report's browser test needs it
        if os.geteuid() == 0:
            session.run("apt-get", "update", "-qq", external=True)
            session.run("apt-get", "install", "-y", "-qq", "chromium", external=True,
                        env={"DEBIAN_FRONTEND": "noninteractive"})
        else:
            session.warn("Chromium is missing and the report's browser test will fail: "
                         "run `sudo apt-get install -y chromium`")
    args = session.posargs or ["-q"]
    for topology in TOPOLOGIES:
        session.run("pytest", f"--topology={topology}", *args, env=SPARK_ENV)


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
    session.run("pytest", "-q", "-m", "not spark and not kafka and not e2e", *session.posargs)


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
    """What keys unique across micro-batches cost per batch after 10 and 100 batches (prints only)."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/key_history.py", *session.posargs, env=SPARK_ENV)


@nox.session
def soak(session: nox.Session) -> None:
    """A 1,000-batch run per writer: memory, result size, lag, governance size (prints, asserts nothing)."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/soak.py", *session.posargs, env=SPARK_ENV)
