"""`dc43 demo` on the embedded default: local Spark, contracts under the working dir."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.connect]


def test_demo_prints_every_micro_batch_and_stores_its_contract(
        tmp_path: Path, topology: str, request: pytest.FixtureRequest) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    remote = ["--remote", request.getfixturevalue("spark_remote")] if topology == "connect" else []
    done = subprocess.run(
        [sys.executable, "-m", "dc43.cli", "demo", "--batches", "5", "--rows", "5", *remote],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = re.findall(r"batch (\d+): rows=(\d+) violations=(\d+) status=(\w+)", done.stdout)
    assert lines[:5] == [
        ("0", "5", "0", "ok"), ("1", "5", "0", "ok"), ("2", "5", "0", "ok"),
        ("3", "5", "0", "ok"), ("4", "5", "5", "warn"),  # values 20..24 break "value < 20"
    ]
    assert ("Spark Connect at sc://" in done.stdout) == (topology == "connect")
    stored = json.loads((tmp_path / "contracts" / "demo.rate_stream" / "0.1.0.json").read_text())
    assert stored["id"] == "demo.rate_stream"
