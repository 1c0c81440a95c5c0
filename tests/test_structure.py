"""The package's layers import one way: data → nn → decision → evaluation → training → apps."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "idk"
LAYERS = ("data", "nn", "decision", "evaluation", "training", "apps")  # each may import those before it
BASE = ("errors", "progress", "cache")  # imported by every layer, importing none of them


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "idk" or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else -1


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [node.module] + [f"{node.module}.{a.name}" for a in node.names if node.module == "idk"]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_no_module_imports_a_layer_above_its_own():
    offences = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        own = LAYERS.index(rel.parts[0]) if rel.parts[0] in LAYERS else -1
        if rel.parts == ("__main__",):  # `python -m idk`: the entry point, above every layer
            own = len(LAYERS)
        for module in _imports(path):
            layer = _layer(module)
            if layer is not None and layer > own:
                offences.append(f"{rel}: imports {module}")
    assert not offences, "\n".join(offences)


def test_the_base_modules_import_no_layer():
    for name in BASE:
        layers = [m for m in _imports(SRC / f"{name}.py") if _layer(m) not in (None, -1)]
        assert not layers, f"idk.{name} imports {layers}"


def test_what_reports_an_unexpected_error_imports_nothing_heavy():
    """An import failure (a broken torch) is itself reported in one line: the code that reports it,
    its log's place included, imports neither torch nor the data layer."""
    code = "import sys, idk.apps.failures as f; f.log_dir(); print(sorted({'torch', 'numpy', 'idk.data'} & set(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


@pytest.mark.parametrize("package", [f"idk.{name}" for name in LAYERS])
def test_each_subpackage_imports_alone(package):
    proc = subprocess.run([sys.executable, "-c", f"import {package}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_mnist_constants_live_only_in_the_mnist_description():
    """Shapes and class names flow from the data: 784, ten classes and the digit string appear
    nowhere but in the named sets' own description."""
    allowed = {SRC / "data" / "named.py", SRC / "data" / "sources.py"}  # the named sets and their files
    for path in SRC.rglob("*.py"):
        if path in allowed:
            continue
        text = path.read_text()
        for needle in ("784", "NUM_CLASSES = 10", '"0123456789"'):
            assert needle not in text, f"{path}: {needle}"
