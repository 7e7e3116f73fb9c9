"""dc43's modules import each other without a circle, lazy imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"


def import_graph() -> dict[str, set[str]]:
    files = {}
    for path in CORE.rglob("*.py"):
        name = ".".join(path.relative_to(CORE).with_suffix("").parts)
        files[name.removesuffix(".__init__")] = path
    graph = {}
    for name, path in files.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        graph[name] = {other for other in imported if other in files and other != name}
    return graph


def test_no_module_imports_itself_through_others() -> None:
    graph = import_graph()
    assert "dc43.spark.batch_side" in graph and "dc43.plugins" in graph["dc43.spark.io"]
    state: dict[str, str] = {}
    circles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                circles.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other, [*path, other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_the_strategies_module_does_not_reach_the_plugin_manager() -> None:
    assert "dc43.plugins" not in import_graph()["dc43.strategies"]
