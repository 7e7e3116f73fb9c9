"""The specification's Python example, unmodified, run as a user would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "spec_streaming_example.py"
SPEC = ROOT.parent / "shared" / "spec" / "spark-streaming-integration.md"

RUNNER = """
import runpy, sys
scope = runpy.run_path(sys.argv[1], run_name="__main__")
queries = scope["write_result"].details["streaming_queries"]
print("STREAMING_QUERIES", len(queries), all(not q.isActive for q in queries))
"""


def test_the_committed_example_is_the_spec_verbatim() -> None:
    if not SPEC.exists():
        pytest.skip(f"the specification is not beside the repository ({SPEC})")
    block = re.search(r"```python\n(.*?)```", SPEC.read_text(), re.S)
    assert block is not None, "the spec has no python example"
    assert EXAMPLE.read_text() == block.group(1)


def test_the_spec_example_runs_and_returns_its_streaming_queries(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(EXAMPLE)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    count, all_stopped = re.search(r"STREAMING_QUERIES (\d+) (\w+)", done.stdout).groups()
    assert int(count) >= 2  # the sink and the observation writer
    assert all_stopped == "True"
