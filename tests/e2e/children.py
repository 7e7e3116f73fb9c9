"""Spark scripts run as child processes, their JVM killed with them when they hang."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest


def run_child(args: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float = 300) -> tuple[int, str, str]:
    """Run ``args`` in a session of its own; past ``timeout`` kill the whole group (the JVM holds
    the pipes open, so killing the child alone would wait forever) and fail with its output."""
    child = subprocess.Popen(list(args), cwd=cwd, env=dict(env), text=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
        pytest.fail(f"{args[:3]} did not finish in {timeout:.0f} s:\n{out[-2000:]}\n{err[-3000:]}")
    return child.returncode, out, err
