"""Developer sessions: ``nox -s tests`` is what CI and the README run."""

from __future__ import annotations

import os
import shutil

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests"]

EXAMPLE_PLUGIN = "docs/examples/dc43-example-plugin"


@nox.session
def tests(session: nox.Session) -> None:
    """Every test layer: unit, Spark (local[2]), end to end."""
    session.install("-e", ".[test]")
    session.install("--no-deps", EXAMPLE_PLUGIN)
    if shutil.which("chromium") is None:  # the report's browser test needs it
        if os.geteuid() == 0:
            session.run("apt-get", "update", "-qq", external=True)
            session.run("apt-get", "install", "-y", "-qq", "chromium", external=True,
                        env={"DEBIAN_FRONTEND": "noninteractive"})
        else:
            session.warn("Chromium is missing and the report's browser test will fail: "
                         "run `sudo apt-get install -y chromium`")
    session.run("pytest", *(session.posargs or ["-q"]), env={"SPARK_LOCAL_IP": "127.0.0.1"})


@nox.session
def unit(session: nox.Session) -> None:
    """The fast layer alone: no Spark, no broker."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", "-m", "not spark and not kafka and not e2e", *session.posargs)


@nox.session
def kafka(session: nox.Session) -> None:
    """The Kafka layer alone: a real broker (KRaft) started by the tests; needs Maven and Java 17."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", "-m", "kafka", *session.posargs, env={"SPARK_LOCAL_IP": "127.0.0.1"})


@nox.session
def lint(session: nox.Session) -> None:
    """Static checks."""
    session.install("ruff")
    session.run("ruff", "check", "core", "plugins", "tests", "docs/examples", "benchmarks", "noxfile.py")


@nox.session
def bench(session: nox.Session) -> None:
    """The streaming-overhead benchmark (prints timings, asserts none); see benchmarks/README.md."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/stream_overhead.py", *session.posargs,
                env={"SPARK_LOCAL_IP": "127.0.0.1"})
