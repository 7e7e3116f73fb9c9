"""docs/delta.md's example runs as written and prints what the page says it prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "delta.md"


def example_and_output() -> tuple[str, str]:
    text = PAGE.read_text()
    match = re.search(r"```python\n(# example:.*?)```\s*It prints:\s*```text\n(.*?)```", text, re.S)
    assert match, "docs/delta.md lost its example or its output"
    return match.group(1), match.group(2)


def test_the_delta_page_example_prints_what_it_says(spark, tmp_path, capsys):
    code, printed = example_and_output()
    exec(compile(code, str(PAGE), "exec"), {"spark": spark, "workdir": str(tmp_path)})
    assert capsys.readouterr().out == printed
