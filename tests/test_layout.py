"""The package layout as a contract: imports run one way between the role packages and never in a cycle.

Layers, lowest first: networks, losses, schedules, output files, checkpoint reading and data; models; training;
inference; serving; commands; cli. A module imports from its own layer or lower ones, counting imports inside
functions too (an import on use is still an arrow).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "translate"
LAYERS = {"output_files": 0, "checkpoints": 0, "networks": 0, "losses": 0, "schedules": 0, "data": 0, "models": 1,
          "evaluation": 1, "training": 2, "inference": 3, "serving": 4, "commands": 5, "cli": 6}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """translate module -> the translate modules it imports (``from translate.x import y``: x.y when that is a
    module, else x)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
        graph[name] = {t for t in targets if t in modules and t != name and t != "translate"}
    return graph


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_every_module_belongs_to_a_layer():
    assert {m for m in _imports() if m != "translate" and _layer(m) is None} == set()


def test_imports_only_go_down_the_layers():
    upward = [(m, t) for m, targets in _imports().items() for t in targets
              if _layer(m) is not None and _layer(t) > _layer(m)]  # fmt: skip
    assert upward == []


def test_no_module_imports_one_that_imports_it_back():
    graph = _imports()
    # a package's __init__ re-exporting its own modules is not a cycle of concepts
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for target in graph.get(module, ()):
            if target in path:
                cycles.append(path[path.index(target) :] + [target])
            elif len(path) < 12:
                visit(target, [*path, target])

    for module in graph:
        visit(module, [module])
    assert cycles == []


def test_only_the_data_command_imports_the_downloader():
    importers = {m for m, targets in _imports().items() if "translate.data.download" in targets}
    assert importers == {"translate.commands.data"}


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_the_command_table_answers_without_torch_or_lightning(args):
    code = f"import sys; from translate.cli import main; main({args!r}); print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'lightning')))"  # noqa: E501
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out
