"""Progress on stderr: tqdm bars on a terminal, one line per pass elsewhere, nothing with ``quiet``.

Bars written to a file or a pipe would fill a log with carriage-return updates; there a pass
(an epoch, a prediction over a data set) ends with one line of the same figures instead.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm


class LineBar:
    """A bar's stand-in off a terminal: counts silently, then one line on :meth:`close`:
    ``DESC: N UNIT in T s (R UNIT/s)[, key value ...]``."""

    def __init__(
        self, progress: Progress, total: int | None = None, desc: str = "", unit: str = "it", unit_scale: bool = False
    ) -> None:
        self.progress, self.total, self.desc, self.unit, self.unit_scale = progress, total, desc, unit, unit_scale
        self.n, self.postfix, self.started, self.closed = 0, {}, time.perf_counter(), False

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        self.postfix = values

    def line(self) -> str:
        seconds = time.perf_counter() - self.started
        rate = f"{self._amount(self.n / seconds)}/s" if seconds > 0 else "-"
        extra = "".join(f", {k} {v}" for k, v in self.postfix.items())
        return f"{self.desc}: {self._amount(self.n)} in {seconds:.1f} s ({rate}){extra}"

    def _amount(self, n: float) -> str:
        """``n`` in the bar's unit: ``"1.23MB"`` when it scales (as tqdm's ``unit_scale``), else ``"123 img"``."""
        return tqdm.format_sizeof(n, self.unit) if self.unit_scale else f"{n:.0f} {self.unit}"

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.progress.log(self.line())


Bar = tqdm | LineBar  # what Progress.bar gives


def duration(seconds: float) -> str:
    """A length of time as people write it: "42 s", "5 min 57 s", "1 h 03 min"."""
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def abandon(bar: Bar) -> None:
    """Close ``bar`` without its line: what it counted came to nothing (e.g. a failed download)."""
    if isinstance(bar, LineBar):
        bar.closed = True
    else:
        bar.close()  # tqdm's bars here do not stay on the screen (leave=False)


class Progress:
    """Where a long job reports: bars (on a terminal) and log lines on stderr, or nothing when ``quiet``;
    ``muted``: no warnings either (the other processes of a distributed run, whose rank 0 says them)."""

    def __init__(self, quiet: bool = False, tty: bool | None = None, muted: bool = False) -> None:
        self.quiet, self.muted = quiet or muted, muted
        self.tty = sys.stderr.isatty() if tty is None else tty

    def bar(self, *, summary: bool = True, **kwargs: Any) -> tqdm | LineBar | None:
        """A progress bar (tqdm's keyword arguments: total, desc, unit). Off a terminal, a
        :class:`LineBar` (one line when the pass ends), or None when ``summary`` is False (the caller
        logs its own line, e.g. the epoch's) or when quiet."""
        if self.quiet:
            return None
        if not self.tty:
            if not summary:
                return None
            keep = ("total", "desc", "unit", "unit_scale")
            return LineBar(self, **{k: v for k, v in kwargs.items() if k in keep})
        return tqdm(file=sys.stderr, dynamic_ncols=True, leave=False, colour="green", mininterval=0.5, **kwargs)

    def log(self, message: str) -> None:
        if not self.quiet:
            tqdm.write(message, file=sys.stderr)

    def warn(self, message: str) -> None:
        """One warning line on stderr, shown even when quiet (not when muted)."""
        if not self.muted:
            tqdm.write(f"idk: warning: {message}", file=sys.stderr)


SILENT = Progress(quiet=True)
