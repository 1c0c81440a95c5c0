"""The command line's one error path: every failure is one line on stderr.

Exit status: 2 for a usage error (a bad option, a missing or unreadable input: :class:`IdkError`),
1 when some items of a command failed (``idk predict`` on an unreadable image) and for anything
unexpected (a bug), whose full traceback goes to a log file that the one line names, so it can be
reported rather than hidden. 130 on Ctrl-C; 143 on SIGTERM (a job scheduler's stop) during
``idk train``, which both stop saying what the checkpoint kept.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from idk.cache import default_cache_dir

USAGE = 2  # the user's input or environment: fix it and run again
FAILED = 1  # some items failed, or a bug (see the log file)
INTERRUPTED = 130
TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process the signal ended


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process was (as Ctrl-C raises KeyboardInterrupt), so that a
    training run stops as it does on Ctrl-C: its last checkpoint kept, the reason said."""


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (in the main thread only; elsewhere a
    no-op); the previous handler is restored after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, frame: object) -> None:
        raise Terminated

    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:  # a parent chose to ignore it: so do we
        yield
        return
    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        if previous is not None:  # None: a handler set outside Python, which cannot be put back
            signal.signal(signal.SIGTERM, previous)


def torchrun_process() -> str:
    """In a torchrun process other than rank 0, " (process R of W)" (its errors are named so); else
    "" (rank 0 speaks for all where all would say the same)."""
    try:
        rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return ""
    return f" (process {rank} of {world})" if world > 1 and rank != 0 else ""


PEER_GRACE = 5.0  # seconds a torchrun process that failed waits, so that its peers can say their own errors


def among_peers() -> bool:
    """Whether this process is one of several torchrun started (torchrun stops them all as soon as
    one exits with an error, often before a slower one has said its own)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def one_line(text: str) -> str:
    """``text`` with every character that would break or garble the line (newlines, control
    characters, e.g. in a file name) escaped as Python writes it."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def log_dir() -> Path:
    """Where tracebacks of unexpected errors go: ``$IDK_LOG_DIR``, else ``logs/`` in idk's cache
    (:func:`~idk.cache.default_cache_dir`: ``$IDK_CACHE_DIR``, ``$XDG_CACHE_HOME/idk``, ``~/.cache/idk``)."""
    return Path(os.environ.get("IDK_LOG_DIR") or default_cache_dir() / "logs")


def write_log(err: BaseException, argv: list[str]) -> Path:
    """Write the command, the versions and ``err``'s full traceback to a new log file; return its path.
    Falls back to the temporary folder when the log folder cannot be written."""
    from idk import __version__

    text = f"idk {__version__} (Python {sys.version.split()[0]})\ncommand: idk {' '.join(argv)}\n\n" + "".join(
        traceback.format_exception(type(err), err, err.__traceback__)
    )
    name = f"idk-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8", errors="backslashreplace")  # whatever the locale
            return path
        except OSError:
            continue
    raise OSError("no folder to write the log to")


def unexpected(err: BaseException, argv: list[str]) -> str:
    """The one line for an unexpected exception (its traceback written to a log file)."""
    first = (str(err).splitlines() or [""])[0][:200]
    what = f"{type(err).__name__}: {first}" if first else type(err).__name__
    try:
        where = f"the full traceback is in {write_log(err, argv)}; please report it with that file"
    except OSError:
        where = "could not write the traceback to a log file (set IDK_LOG_DIR to a writable folder)"
    return one_line(f"idk: internal error ({what}); {where}")
