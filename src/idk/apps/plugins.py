"""Parts of one's own for the commands: ``IDK_PLUGINS`` names Python modules (or ``.py`` files),
comma-separated, that add entries to idk's registries (:data:`idk.nn.priors.PRIORS`,
:data:`idk.nn.guides.GUIDES`, :data:`idk.decision.scores.SCORES`); every command imports them
before it runs, so that it can train with, load, evaluate and serve a model that names them::

    IDK_PLUGINS=my_parts idk train --out m.pt --score energy     # my_parts on PYTHONPATH
    IDK_PLUGINS=./my_parts.py idk serve --model m.pt

A plugin is trusted code, run as any import is; the checkpoint records only the parts' names.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from idk.errors import IdkError

PLUGINS_ENV = "IDK_PLUGINS"


def plugin_names(environ: os._Environ[str] | dict[str, str] = os.environ) -> list[str]:
    """The modules or files ``IDK_PLUGINS`` names (none when it is unset or empty)."""
    return [name.strip() for name in environ.get(PLUGINS_ENV, "").split(",") if name.strip()]


def load_plugins() -> list[str]:
    """Import every plugin ``IDK_PLUGINS`` names, once; return their names.

    Raises:
        IdkError: naming the plugin that could not be imported, and why.
    """
    names = plugin_names()
    for name in names:
        try:
            if name.endswith(".py"):
                _import_file(Path(name))
            else:
                importlib.import_module(name)
        except IdkError:
            raise
        except Exception as err:  # noqa: BLE001 - any failure of the user's code, said in one line
            why = f"{type(err).__name__}: {err}"
            raise IdkError(f"{PLUGINS_ENV}: cannot import {name!r} ({why})") from None
    return names


def _import_file(path: Path) -> None:
    """Import the module in ``path`` under its file's stem (once: a second import is the first's)."""
    if not path.is_file():
        raise IdkError(f"{PLUGINS_ENV}: {path}: no such file")
    name = f"idk_plugin_{path.stem}"
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise IdkError(f"{PLUGINS_ENV}: {path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
