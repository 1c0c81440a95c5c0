"""The examples run as the README shows them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from shapes import CLASSES, make_shapes

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_from_python_trains_loads_and_answers_files_and_tensors(tmp_path, capsys):
    root = make_shapes(tmp_path / "shapes", per_class=24)
    images = [str(root / "circle" / "circle-000.png"), str(tmp_path / "missing.png")]
    module = example("from_python")
    module.main(module.parse([str(root), "--out", str(tmp_path / "mine.pt"), "--epochs", "1", "-q", *images]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"saved {tmp_path / 'mine.pt'}: preset cnn, 3 classes of 64×64 colour images, 1 epoch")
    assert "validation accuracy" in lines[0] and lines[1].startswith("rule: refuse when ")  # as idk train says
    lines = lines[2:]
    assert lines[0].startswith(f"classes {', '.join(CLASSES)}; images 64×64 colour; rule: refuse ")
    file, verdict = lines[1].split(": ")
    assert file == images[0] and (
        verdict in CLASSES or verdict == "I don't know" or verdict.startswith(("either", "one of"))
    )
    assert lines[2] == f"{images[1]}: no such file"
    assert lines[3].startswith("noise: ") and lines[3].endswith(" of 8 refused")
    assert (tmp_path / "mine.pt").exists()


def test_from_python_is_what_the_readme_shows():
    readme = (EXAMPLES.parent / "README.md").read_text()
    code = (EXAMPLES / "from_python.py").read_text()
    body = code[code.index("import argparse") : code.index("\n\n\ndef parse")]  # imports and main()
    assert f"```python\n{body}\n```" in readme, "README's 'From Python' block differs from examples/from_python.py"
