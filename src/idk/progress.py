"""Progress bars and messages: tqdm on stderr, silent with ``quiet``, colour only on a terminal."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class Progress:
    """Where a long job reports: bars and log lines on stderr, or nothing when ``quiet``."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()

    def bar(self, **kwargs: Any) -> tqdm | None:
        if self.quiet:
            return None
        colour = "green" if self.tty else None
        return tqdm(
            file=sys.stderr,
            dynamic_ncols=True,
            leave=False,
            colour=colour,
            mininterval=0.5 if self.tty else 30,
            **kwargs,
        )

    def log(self, message: str) -> None:
        if not self.quiet:
            tqdm.write(message, file=sys.stderr)

    def warn(self, message: str) -> None:
        """One warning line on stderr, shown even when quiet."""
        tqdm.write(f"idk: warning: {message}", file=sys.stderr)


SILENT = Progress(quiet=True)
