"""Where idk keeps what it fetches (data sets, fonts) and its logs: one home for the cache's place,
light enough (the standard library alone) for the code that reports an unexpected error."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$IDK_CACHE_DIR``, else ``$XDG_CACHE_HOME/idk``, else ``~/.cache/idk``."""
    if env := os.environ.get("IDK_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "idk"
