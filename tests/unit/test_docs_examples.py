"""The plugin guide's examples register as real plugins (hook names and arguments checked)."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
from dc43.plugins import PluginManager

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S) if "@hookimpl" in b]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"example-{i}" for i in range(len(BLOCKS))])
def test_every_plugin_example_registers(block: str) -> None:
    module = types.ModuleType("doc_example")
    exec(compile(block, str(GUIDE), "exec"), module.__dict__)
    manager = PluginManager()
    manager.register(module, name="doc_example")  # raises on an unknown hook or argument
    listing = {entry["name"]: entry for entry in manager.describe()}
    assert listing["doc_example"]["hooks"] and listing["doc_example"]["error"] is None


def test_the_guide_has_examples() -> None:
    assert len(BLOCKS) >= 5
