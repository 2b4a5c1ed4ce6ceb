"""Which package may import which: common <- kb <- ingest, bot <- adoptbot, and no module imports itself back.

Read from the source (every import, including lazy and type-only ones), so a new arrow fails here before
it becomes a circle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("adoptbot", "bot", "common", "ingest", "kb")
MAY_IMPORT = {
    "common": set(),
    "kb": {"common"},
    "ingest": {"kb", "common"},
    "bot": {"kb", "common"},
    "adoptbot": {"bot", "ingest", "kb", "common"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    got = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            targets = [module, *(f"{module}.{a.name}" for a in node.names)]
        else:
            continue
        got.update(t for t in targets if t in modules and t != name)
    return got


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_each_package_imports_only_the_layers_below_it():
    wrong = [
        f"{a} -> {b}"
        for a, targets in _graph().items()
        for b in targets
        if b.split(".")[0] != a.split(".")[0] and b.split(".")[0] not in MAY_IMPORT[a.split(".")[0]]
    ]
    assert wrong == []


def test_no_module_imports_itself_back_through_others():
    graph = _graph()
    circles = []
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert circles == []


def test_the_layering_check_sees_an_arrow_the_wrong_way(tmp_path):
    modules = {"kb.x": tmp_path / "x.py", "bot.y": tmp_path / "y.py"}
    modules["kb.x"].write_text("from __future__ import annotations\nif False:\n    from bot.y import Y\n")
    assert _imports("kb.x", modules["kb.x"], modules) == {"bot.y"}


def test_a_replica_that_only_serves_never_loads_the_ingest_pipeline():
    modules = ", ".join(
        [
            "adoptbot.runtime", "bot.chat", "bot.reindex", "bot.web.server", "adoptbot.cli",
            "bot.answering.retrieval", "kb.store", "bot.teams.cards",
        ]
    )  # fmt: skip
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.startswith('ingest.pipeline')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_summary_types_are_the_same_objects_on_both_sides():
    from ingest.pipeline import IngestSummary as FromPipeline
    from kb.summary import IngestSummary

    assert FromPipeline is IngestSummary
