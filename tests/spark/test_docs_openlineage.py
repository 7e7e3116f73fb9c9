"""docs/openlineage.md's example runs as written and prints what the page says it prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "openlineage.md"
#: what the example sets; the test's monkeypatch takes them away afterwards
EXAMPLE_VARIABLES = ("OPENLINEAGE__TRANSPORT__TYPE", "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH",
                     "OPENLINEAGE__TRANSPORT__APPEND")


def test_the_openlineage_page_example_prints_what_it_says(spark, tmp_path, capsys, monkeypatch):
    text = PAGE.read_text()
    match = re.search(r"```python\n(# example:.*?)```\s*It prints:\s*```text\n(.*?)```", text, re.S)
    assert match, "docs/openlineage.md lost its example or its output"
    for name in EXAMPLE_VARIABLES:
        monkeypatch.setenv(name, "")
    exec(compile(match.group(1), str(PAGE), "exec"), {"spark": spark, "workdir": str(tmp_path)})
    assert capsys.readouterr().out == match.group(2)
