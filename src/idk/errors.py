"""User-facing errors: one clear line naming the input and what to do, never a traceback."""

from __future__ import annotations


def a_type(value: object) -> str:
    """What ``value`` is, for a message: "an int", "a tuple", "None"."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


class IdkError(Exception):
    """An error caused by the user's input or environment; the CLI prints ``str(err)`` and exits 2."""


def expect(value: object, kind: type, what: str, hint: str, optional: bool = True) -> None:
    """IdkError where ``value``, a library function's parameter ``what``, is not a ``kind`` (nor
    None, where ``optional``): a Python caller's mix-up (a path where a config goes) said in one
    line with ``hint``, not as an AttributeError deep inside."""
    if not (value is None and optional) and not isinstance(value, kind):
        raise IdkError(
            f"{what} takes {'an' if kind.__name__[0] in 'AEIOU' else 'a'} {kind.__name__}, not {a_type(value)}: {hint}"
        )


class DataError(IdkError):
    """A data file is missing, truncated, corrupted or of an unknown format."""


class ImageError(IdkError):
    """An image file cannot be read or is not acceptable (bomb, empty, not an image): ``name`` is
    the file (or what stands for it, e.g. an upload's name), ``reason`` what is wrong with it; the
    message is ``"{name}: {reason}"``."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = str(name), reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # pickled with both parts, not the message
        return type(self), (self.name, self.reason)


class CheckpointError(IdkError):
    """A checkpoint is missing, corrupted, foreign, or of an incompatible format."""
