"""The types of the command line's option values: each converts one string, or raises
:class:`argparse.ArgumentTypeError` saying what was expected (argparse prints it in one line)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from idk.choices import OUTLIER_FAMILIES, column_key
from idk.devices import DEVICE_HELP, check_device_name
from idk.errors import IdkError


def checked(text: str, convert: Callable[[str], float], kind: str, ok: Callable[[float], bool], requirement: str):
    """``convert(text)``, or an argparse error naming what was expected."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{text} {requirement}")
    return value


def device(text: str) -> str:
    try:
        return check_device_name(text)
    except IdkError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a device ({DEVICE_HELP})") from None


def fraction(text: str) -> float:
    return checked(text, float, "a number", lambda v: 0.0 <= v <= 1.0, "is not a fraction in [0, 1]")


def open_fraction(text: str) -> float:
    return checked(text, float, "a number", lambda v: 0.0 < v < 1.0, "is not a number strictly between 0 and 1")


def one_of(names: tuple[str, ...], kind: str) -> Callable[[str], str]:
    """A type that takes one of ``names`` and names them all when given another."""

    def check(text: str) -> str:
        if text not in names:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind} ({', '.join(names)})")
        return text

    return check


def columns(text: str) -> tuple[str, str | None]:
    """``FILE,CLASS`` (or ``FILE``): the names of a CSV table's file column and class column."""
    names = [name.strip() for name in text.split(",")]
    if not 1 <= len(names) <= 2 or not all(names):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not FILE,CLASS: the names of a .csv table's file column and class column (e.g. "
            "image_id,dx; FILE alone for a table without classes)"
        )
    if len(names) == 2 and column_key(names[0]) == column_key(names[1]):
        raise argparse.ArgumentTypeError(f"{text!r} names one column twice: FILE,CLASS name two columns")
    return names[0], names[1] if len(names) == 2 else None


def family_weight(text: str) -> tuple[str, float]:
    """``NAME=W``: a synthetic outlier family and its relative weight (> 0)."""
    name, sep, weight = text.partition("=")
    if not sep or name not in OUTLIER_FAMILIES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME=WEIGHT with NAME a synthetic outlier family ({', '.join(OUTLIER_FAMILIES)})"
        )
    return name, positive_float(weight)


def non_negative(text: str) -> int:
    return checked(text, int, "a whole number", lambda v: v >= 0, "must not be negative")


def positive_float(text: str) -> float:
    return checked(text, float, "a number", lambda v: v > 0, "must be positive")


def non_negative_float(text: str) -> float:
    return checked(text, float, "a number", lambda v: v >= 0, "must not be negative")


def port(text: str) -> int:
    return checked(text, int, "a whole number", lambda v: 0 <= v <= 65535, "is not a port in [0, 65535]")


def positive(text: str) -> int:
    return checked(text, int, "a whole number", lambda v: v > 0, "must be positive")


def image_size(text: str) -> tuple[int, int]:
    """``N`` (square) or ``HxW``."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) > 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not N or HxW (positive whole numbers: 28, or 32x48)")
    sizes = [int(p) for p in parts]
    return (sizes[0], sizes[-1])
