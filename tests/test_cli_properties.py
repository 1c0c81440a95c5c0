"""Property: no argument list a user can type makes the command line print a traceback.

Hypothesis draws argument lists for every command from the parser's own options (valid values,
garbage, numbers out of range, paths to missing, empty, folder, text and real files). The library
function each command calls is replaced by one that raises :class:`Reached`, so a command whose
options all pass parsing and validation stops there: the property covers parsing, validation and
the loading of the inputs, never training.
"""

from __future__ import annotations

import argparse
import shutil

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from idk.apps.arguments import build_parser
from idk.apps.cli import main


class Reached(Exception):
    """The library was called: every option passed parsing and validation."""


STUBS = {
    "idk.training.train": "train",
    "idk.apps.evaluate": "evaluate_checkpoint",
    "idk.apps.reproduce": "reproduce",
    "idk.apps.explain": "explain",
    "idk.apps.predict": "predict_files",
    "idk.apps.serve": "serve",
    "idk.training.recalibration": "recalibrate",
    "idk.data.sources": "download_sets",
}
COMMANDS = build_parser()._subparsers._group_actions[0].choices  # name -> its parser
NUMBERS = ["0", "1", "-1", "2", "0.5", "1e12", "99999999999999999999", "nan", "inf", "-inf", "1e-300", "3x4", "x", ""]


@pytest.fixture(scope="module", autouse=True)
def _imported():
    """Import every module that binds a stubbed name at import time (``from X import f``) before the
    stubs are in place, so that none of them keeps a stub after this module's tests."""
    import importlib

    for module in [*STUBS, "idk.apps.reproduce", "idk.apps.evaluate", "idk.apps.predict", "idk.apps.serve"]:
        importlib.import_module(module)


@pytest.fixture(scope="module")
def paths(tmp_path_factory, cnn_model, data_dir) -> list[str]:
    d = tmp_path_factory.mktemp("property")
    (d / "empty").write_bytes(b"")
    (d / "text.npy").write_text("text\n")
    (d / "folder").mkdir()
    shutil.copy(cnn_model, d / "model.pt")
    return [str(p) for p in (d / "missing.pt", d / "empty", d / "text.npy", d / "folder", d / "model.pt")] + [
        str(d / "empty" / "under-a-file.png"),
        str(d / "folder" / "new.png"),
        str(data_dir),
        "mnist",
        "noise",
        "x=" + str(d / "text.npy"),
    ]


def _arguments(parser: argparse.ArgumentParser, paths: list[str]) -> st.SearchStrategy[list[str]]:
    """Argument lists for one command: its options in any order, each with any value of the pools."""
    value = (
        st.sampled_from(paths)
        | st.sampled_from(NUMBERS)
        | st.text(min_size=0, max_size=8).filter(lambda t: "\0" not in t)
    )
    pieces, required = [], []
    for group in parser._mutually_exclusive_groups:  # one of a required group, e.g. calibrate's target
        if group.required:
            options = [a.option_strings[0] for a in group._group_actions]
            required.append(st.tuples(st.sampled_from(options), st.sampled_from(["0.1", "0.5", *NUMBERS])).map(list))
    for action in parser._actions:
        if action.required and action.option_strings:  # usually present, so that more lists get further
            required.append(
                st.tuples(st.just(action.option_strings[0]), st.sampled_from(paths)).map(list) | st.just([])
            )
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:  # a positional: usually present
            required.append(st.lists(st.sampled_from(paths) | value, min_size=0, max_size=2))
        elif action.nargs == 0:
            pieces.append(st.just([action.option_strings[0]]))
        else:
            pieces.append(st.tuples(st.just(action.option_strings[0]), value).map(list))
    rest = st.lists(st.sampled_from(pieces).flatmap(lambda s: s), max_size=6)
    return st.tuples(st.tuples(*required), rest).map(lambda both: sum([*both[0], *both[1]], []))


@pytest.mark.parametrize("command", sorted(COMMANDS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_argument_list_gives_a_traceback(command, data, paths, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("IDK_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.chdir(tmp_path)  # a relative path drawn (--out x, --to -1) is written there, not in the repository
    for module, names in STUBS.items():
        for name in (names,) if isinstance(names, str) else names:
            monkeypatch.setattr(f"{module}.{name}", _reached)
    argv = [command, *data.draw(_arguments(COMMANDS[command], paths), label="argv")]
    capsys.readouterr()
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("idk: warning:")]
    assert len(lines) <= 1, err
    event("reached the library" if "(Reached" in err else f"exit {status}")
    if status == 1:  # the library was reached, or a bug
        assert lines and "internal error (Reached" in lines[0], err
    else:
        assert status in (0, 2), err
        assert status == 0 or (lines and lines[0].startswith("idk")), err


def _reached(*args, **kwargs):
    raise Reached("library called")
