"""Parts of one's own for the commands: ``IDK_PLUGINS`` names Python modules (on ``PYTHONPATH``) or
``.py`` files, comma-separated, that add entries to idk's registries (:data:`idk.nn.priors.PRIORS`,
:data:`idk.nn.guides.GUIDES`, :data:`idk.decision.scores.SCORES`, :data:`idk.nn.networks.ARCHITECTURES`,
and :data:`idk.training.config.PRESETS`, where a network of one's own is chosen by name: ``--preset``);
every command imports them before it runs, so that it can train with, load, evaluate and serve a
model that names them::

    IDK_PLUGINS=my_parts idk train --out m.pt --score energy     # my_parts on PYTHONPATH
    IDK_PLUGINS=/home/me/my_parts.py idk train --out n.pt --preset my-net
    IDK_PLUGINS=/home/me/my_parts.py idk serve --model m.pt

A plugin is trusted code, run as any import is (give files by absolute path: a relative one is
found from each command's working folder); the checkpoint records only the parts' names, so a
plugin may add parts but not replace a built-in one (every model naming it would change).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from idk.errors import IdkError

PLUGINS_ENV = "IDK_PLUGINS"


def plugin_names(environ: os._Environ[str] | dict[str, str] = os.environ) -> list[str]:
    """The modules or files ``IDK_PLUGINS`` names (none when it is unset or empty)."""
    return [name.strip() for name in environ.get(PLUGINS_ENV, "").split(",") if name.strip()]


def load_plugins() -> list[str]:
    """Import every plugin ``IDK_PLUGINS`` names, once; return their names.

    Raises:
        IdkError: naming the plugin that could not be imported and why, or the built-in part it
            replaced.
    """
    names = plugin_names()
    if not names:
        return names
    before = _registries()
    for name in names:
        try:
            if name.endswith(".py"):
                _import_file(Path(name))
            else:
                importlib.import_module(name)
        except IdkError as err:
            raise IdkError(f"{PLUGINS_ENV}: {name}: {err}") from None
        except (Exception, SystemExit) as err:  # any failure of the user's code, said in one line
            why = f"{type(err).__name__}: {err}"
            raise IdkError(f"{PLUGINS_ENV}: cannot import {name!r} ({why})") from None
    now = _registries()
    for kind, parts in before.items():
        for part, made in parts.items():
            # a part of one's own registered before the plugins is one's own to replace; idk's are kept
            if now[kind].get(part) is not made and is_built_in(kind, part, made):
                raise IdkError(
                    f"{PLUGINS_ENV}: a plugin replaced the built-in {kind} {part!r} (every model naming it would "
                    "change); add yours under a name of its own"
                )
    return names


def parts_of_ones_own(named: dict[str, str | None]) -> list[str]:
    """Of a model's parts ``named`` by kind ("score", "prior", "guide", "architecture"), those not
    defined in idk itself (a plugin's), as "score 'margin'": wherever the model is loaded, the
    plugin that adds them must be too."""
    registries = _registries()
    return [
        f"{kind} {name!r}"
        for kind, name in named.items()
        if name and name in registries[kind] and not is_built_in(kind, name, registries[kind][name])
    ]


def is_built_in(kind: str, name: str, entry: Any) -> bool:
    """Whether a registry's ``name`` is one idk itself defines: a score, prior, guide or preset
    by its name (:mod:`idk.choices` lists them; a user's preset is an instance of idk's class), an
    architecture by where its builder is defined."""
    from idk.choices import GUIDE_NAMES, PRESET_NAMES, PRIOR_NAMES, SCORE_NAMES

    names = {"score": SCORE_NAMES, "prior": PRIOR_NAMES, "guide": GUIDE_NAMES, "preset": PRESET_NAMES}.get(kind)
    if names is not None:
        return name in names
    made = entry[0] if isinstance(entry, tuple) else entry
    module = getattr(made, "__module__", None) or ""
    return module == "idk" or module.startswith("idk.")


def _registries() -> dict[str, dict[str, Any]]:
    """The registries' entries as they are now, by kind (copies)."""
    from idk.decision.scores import SCORES
    from idk.nn.guides import GUIDES
    from idk.nn.networks import ARCHITECTURES
    from idk.nn.priors import PRIORS
    from idk.training.config import PRESETS

    return {
        "score": dict(SCORES),
        "prior": dict(PRIORS),
        "guide": dict(GUIDES),
        "architecture": dict(ARCHITECTURES),
        "preset": dict(PRESETS),
    }


def _import_file(path: Path) -> None:
    """Import the module in ``path`` (once: a second import of the same file is the first's; two
    files of one name are two modules)."""
    if not path.is_file():
        raise IdkError(f"{path}: no such file")
    where = path.resolve()
    name = f"idk_plugin_{path.stem}_{hashlib.sha256(str(where).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, where)
    if spec is None or spec.loader is None:
        raise IdkError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(where.parent))  # the plugin's own helpers beside it
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(str(where.parent))
