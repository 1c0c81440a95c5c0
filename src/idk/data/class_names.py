"""A set's classes matched to a model's: by name (a folder's names are names, digits or not), in
any order and Unicode form, a number by its value where the names are numbers written another way
(a table's ``1.0`` as pandas writes it, another's ``1``); a set whose classes came unnamed (class
indices only) takes the model's names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from decimal import Decimal

import torch

from idk.data.images import ImageSet, index_classes
from idk.data.listing import some_of
from idk.errors import DataError

NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)", re.ASCII)  # a class name that is a decimal number (3, 3.0, 007)


def nfc(names: tuple[str, ...]) -> tuple[str, ...]:
    """Class names in one Unicode form (NFC): macOS writes "café" in folder names as "cafe" + accent."""
    return tuple(unicodedata.normalize("NFC", c) for c in names)


def number(name: str) -> Decimal | None:
    """The value of a class name that is a decimal number (``3``, ``3.0`` and ``007`` alike), else None."""
    return Decimal(name) if NUMBER.fullmatch(name.strip()) else None  # Decimals are equal, and hash, by value


def matched(given: tuple[str, ...], known: tuple[str, ...]) -> tuple[tuple, tuple]:
    """Keys by which a set's class names (``given``) meet a model's (``known``): their Unicode form
    (:func:`nfc`), and a number's value (:func:`number`) where that leaves each side's names apart."""
    given, known = nfc(given), nfc(known)
    by_value = [tuple(v if (v := number(c)) is not None else c for c in side) for side in (given, known)]
    if all(len(set(side)) == len(side) for side in by_value) and given != known:
        return by_value[0], by_value[1]
    return given, known


def match_classes(test: ImageSet, classes: tuple[str, ...], test_source: str, train_source: str = "the model") -> None:
    """Refuse a test set of other classes; one whose classes are unnamed (class indices only, as
    in IDX files and .npz without ``classes``: not ``named``) takes the given names when its labels
    fit, and one of the same names in another order (an .npz keeps its ``classes``' order) is
    renumbered to the training order. A folder's classes are names, digits or not: "2" is the class
    named 2, wherever it sorts. Unnamed labels meeting numbers out of their index order ("1", "10",
    "2", ...: label 1 could be the class named 1 or the second) are refused: the set must name its classes.
    Names are met by :func:`matched` (a number written another way is the same class)."""
    if not test.named and len(test.classes) <= len(classes):
        if _numbers_out_of_order(classes):
            raise DataError(
                f"{test_source}: its labels are class indices without names, and {train_source}'s classes are "
                f"numbers in another order ({', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''}): label "
                f"1 could mean the class named 1 or its second class, {classes[1]}; give the set its class names "
                "(an .npz's `classes`, one per label, or a folder per class)"
            )
        test.classes, test.named = classes, True
    given, known = matched(test.classes, classes)  # macOS's folder names decompose; pandas writes 1 as 1.0
    if given != known and set(given) == set(known) and len(set(known)) == len(known) == len(given):
        index = torch.tensor([known.index(c) for c in given], dtype=torch.long)
        test.labels, test.classes = index[test.labels], classes
    elif given == known:
        test.classes = classes
    if test.classes != classes:
        extra = [c for c, n in zip(test.classes, given, strict=True) if n not in known]
        missing = [c for c, n in zip(classes, known, strict=True) if n not in given]
        differ = "; ".join(
            part
            for part in (
                f"not among the training classes: {some_of(extra)}" if extra else "",
                f"training classes it lacks: {some_of(missing)}" if missing else "",
            )
            if part
        )
        raise DataError(
            f"{test_source}: its classes differ from the training classes of {train_source} "
            f"({differ or 'the same names twice'}){_other_case(extra, classes, test.classes)}{_unnamed_hint(classes)}"
        )


def _numbers_out_of_order(classes: tuple[str, ...]) -> bool:
    """Whether class names are all whole numbers, but not 0..C−1 in order (folders "1", "10", "2")."""
    return all(c.strip().isdigit() for c in classes) and classes != index_classes(len(classes))


def _other_case(unknown: list[str], classes: tuple[str, ...], given: tuple[str, ...]) -> str:
    """Where ``unknown`` names of a set's (``given``) differ from the model's ``classes`` in letter case
    alone ("Circle", "circle"), the hint: rename them, or merge them where the set has both."""
    folded = {c.casefold(): c for c in nfc(classes)}
    near = [
        (u, folded[f.casefold()]) for u, f in zip(unknown, nfc(tuple(unknown)), strict=True) if f.casefold() in folded
    ]
    if not near:
        return ""
    both = set(nfc(given))
    hints = [f"merge {u} into {c}" if c in both else f"rename {u} as {c}" for u, c in near]
    return f"; names are matched with their letter case: {some_of(hints)}"


def _unnamed_hint(classes: tuple[str, ...]) -> str:
    """What to do when a model's classes are named 0..C−1 (perhaps label indices: an .npz without
    ``classes``) and a set's are other names."""
    if classes != index_classes(len(classes)):
        return ""
    return (
        f"; if the model's classes 0..{len(classes) - 1} are label indices (an .npz without `classes` names none), "
        f"give this set's labels as indices 0..{len(classes) - 1}, or train with class names"
    )


def in_model_classes(found: ImageSet, classes: tuple[str, ...], source: str) -> ImageSet:
    """A labelled set of some of the model's ``classes``, its labels renumbered as the model's (a
    set with unnamed classes takes the model's names, as :func:`match_classes` gives them); ``found``
    itself is left as it is."""
    if not found.named and found.classes != classes:
        renamed = replace(found)
        match_classes(renamed, classes, source)
        return renamed
    held = set(found.labels.tolist())  # a class folder left empty holds no image to judge: not an error
    given, keys = matched(found.classes, classes)  # as match_classes meets them
    known = {c: i for i, c in enumerate(keys)}
    place = [known.get(c, -1) for c in given]
    unknown = [c for i, c in enumerate(found.classes) if place[i] < 0 and i in held]
    if unknown:
        raise DataError(
            f"{source}: {'classes' if len(unknown) > 1 else 'class'} {some_of(unknown)} "
            f"{'are' if len(unknown) > 1 else 'is'} not among the model's ({', '.join(classes)})"
            f"{_other_case(unknown, classes, found.classes)}{_unnamed_hint(classes)}"
        )
    index = torch.tensor(place, dtype=torch.long)
    return replace(found, labels=index[found.labels], classes=classes)
