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
    command = Path(sys.executable).with_name("dc43")  # as the README runs it: the installed command
    done = subprocess.run(
        [str(command), "demo", "--batches", "5", "--rows", "5", *remote],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
    )
    output = done.stdout  # stdout and stderr, as a terminal shows them
    assert done.returncode == 0, output[-4000:]
    # dc43's own lines only: none of Spark's start-up warnings, log lines or stage progress bars
    assert "WARN" not in output and "[Stage" not in output and "log4j" not in output, output[-4000:]
    assert output.splitlines()[-3:] == [
        "to see the stream in the web UI, start the service with the demo's data:",
        "  dc43 serve --import .dc43/governance.db --contracts contracts",  # the paths the demo used
        "then open http://127.0.0.1:8143/",
    ], output[-4000:]
    lines = re.findall(r"batch (\d+): rows=(\d+) violations=(\d+) status=(\w+)", output)
    assert lines[:5] == [
        ("0", "5", "0", "ok"), ("1", "5", "0", "ok"), ("2", "5", "0", "ok"),
        ("3", "5", "0", "ok"), ("4", "5", "5", "warn"),  # values 20..24 break "value < 20"
    ]
    assert ("Spark Connect at sc://" in output) == (topology == "connect")
    stored = json.loads((tmp_path / "contracts" / "demo.rate_stream" / "0.1.0.json").read_text())
    assert stored["id"] == "demo.rate_stream"


def test_with_a_service_url_the_demo_points_at_the_stream_s_page() -> None:
    from dc43.demo import web_ui_lines
    from dc43.settings import Settings

    settings = Settings.load(service_url="http://dc43.internal:8143/")
    assert web_ui_lines(settings, "demo.rate_stream") == [
        "open http://dc43.internal:8143/datasets/demo.rate_stream to see the stream in the web UI"]
    local = Settings.load(contracts_dir="my contracts", state_dir="state")
    assert web_ui_lines(local, "demo.rate_stream")[1] == (
        "  dc43 serve --import state/governance.db --contracts 'my contracts'")
