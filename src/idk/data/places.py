"""Where the file cells of a table of images point (:mod:`idk.data.manifests`).

A cell is a path relative to the table's own folder, or an absolute one; Windows' separators are
read as ``/`` where the path is not found as written; a name without an image ending (an id, as
Kaggle's tables give them: ``ISIC_0024306``, or a dotted DICOM-like ``1.2.840.1``) is the image of
that name with any ending of :data:`~idk.data.listing.IMAGE_SUFFIXES`. A bare name or id (no
folder in it) that is not beside the table is looked for in the table's folder's sub-folders
(HAM10000's images in ``HAM10000_images_part_1/`` and ``_part_2/`` beside its metadata, APTOS'
``train_images/``), and where none holds it, in their sub-folders (ISIC 2020's ``jpeg/train/``
beside ``train.csv``, whose ``train/`` holds DICOM files), each level indexed once by name. An
absolute path that is not there (a table written on another machine:
``C:\\Users\\me\\set\\cats\\1.jpg``; not a path whose folder is here, whose file is missing) is looked
for by the longest end of it found from the table's folder (``set/cats/1.jpg``, ``cats/1.jpg``, else
``1.jpg`` beside the table: never another folder's ``1.jpg``). Each folder is listed once (one
``scandir``), never a file looked for ending by ending: a table of 10,000 ids costs a few listings,
also on a network mount; and a folder's listing gives each file once, under its own name, where a
case-insensitive disk would find ``x.jpg`` as ``x.JPG`` too.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from idk.data.listing import IMAGE_SUFFIXES, unsaid

MISSING = "no such file"
WINDOWS_DRIVE = re.compile(r"[A-Za-z]:/")  # a Windows path's drive, its separators read as /


@dataclass
class _Listing:
    """One folder's entries: each name (True for a folder), and the images by their names without
    their endings (an id's files)."""

    names: dict[str, bool] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, folder: Path) -> _Listing | None:
        """``folder``'s listing; None where it is no folder that can be listed."""
        listing = cls()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    listing.names[entry.name] = entry.is_dir()
                    stem, ending = os.path.splitext(entry.name)
                    if ending.lower() in IMAGE_SUFFIXES:
                        listing.ids.setdefault(stem, []).append(entry.name)
        except OSError:
            return None
        return listing


class Places:
    """Where a table's file cells point (see the module); ``elsewhere`` counts the files found in
    each sub-folder of the table's folder (by its name, ending in ``/``), and ``moved`` holds the
    absolute paths found by an end of theirs, for a table to say."""

    def __init__(self, table: Path) -> None:
        self.folder = table.parent
        self._listings: dict[Path, _Listing | None] = {}
        self._levels: list[_Level] = []  # the sub-folders' entries, one level down, then two
        self.elsewhere: Counter[str] = Counter()
        self.moved: dict[str, str] = {}  # absolute paths not there, by the end of them found here

    def find(self, cell: str) -> tuple[Path, str | None]:
        """Where ``cell`` points, and why it is not read there (None: a file to read)."""
        found = self._named(cell, self.folder) or self._below(cell)
        for end in self._moved_ends(cell) if not found else ():
            if found := self._named(end, self.folder):
                self.moved[cell] = end
                break
        if not found:
            return self.folder / cell, MISSING
        if len(found) > 1:
            shown = ", ".join(_shown(f, self.folder) for f in found[:3])
            return self.folder / cell, f"names {len(found)} files, {shown}"
        listing = self._listing(found[0].parent)
        return found[0], "a folder, not a file" if listing and listing.names.get(found[0].name) else None

    def _below(self, cell: str) -> list[Path]:
        """What a name alone names in the sub-folders (one level down, else two; [] for a path), as
        :meth:`_named` reads each folder, looked up in one index of each level (not folder by folder:
        a table of ids beside 10,000 folders of one patient each)."""
        found: list[Path] = []
        for depth in range(2) if _bare(cell) else ():
            if found := self._level(depth).named(cell):
                break
        if len(found) == 1:
            self.elsewhere[os.path.relpath(found[0].parent, self.folder) + "/"] += 1
        return found

    def _moved_ends(self, cell: str) -> list[str]:
        """The ends of an absolute path to look for from the table's folder (:func:`_ends`); none
        where its folder is on this machine (a file missing there is missing, not moved)."""
        ends = _ends(cell)
        if ends and self._listing(Path(cell.replace("\\", "/")).parent) is not None:
            return []
        return ends

    def _named(self, cell: str, folder: Path) -> list[Path]:
        """What ``cell`` names from ``folder``: the file (or folder) of its name, else for a name
        without an image ending the images of that name with one."""
        for written in dict.fromkeys((cell, cell.replace("\\", "/"))):
            where = Path(written) if Path(written).is_absolute() else folder / written
            listing = self._listing(where.parent)
            if listing is None or not where.name:
                continue
            if where.name in listing.names:
                return [where]
            if Path(where.name).suffix.lower() not in IMAGE_SUFFIXES and where.name in listing.ids:
                return [where.parent / name for name in sorted(listing.ids[where.name])]
        return []

    def _listing(self, folder: Path) -> _Listing | None:
        if folder not in self._listings:
            self._listings[folder] = _Listing.of(folder)
        return self._listings[folder]

    def _level(self, depth: int) -> _Level:
        """The entries of the table's folder's sub-folders (``depth`` 0) or of theirs (1), indexed once."""
        while len(self._levels) <= depth:
            above = [self.folder] if not self._levels else self._levels[-1].folders
            self._levels.append(_Level.of([sub for folder in above for sub in self._subfolders(folder)], self._listing))
        return self._levels[depth]

    def _subfolders(self, folder: Path) -> list[Path]:
        """``folder``'s sub-folders but those passed over unsaid (:func:`~idk.data.listing.unsaid`)."""
        listing = self._listing(folder)
        return [
            folder / n for n, is_dir in sorted((listing.names if listing else {}).items()) if is_dir and not unsaid(n)
        ]


@dataclass
class _Level:
    """The entries of some folders (one level of sub-folders), by name, and their images by id."""

    folders: list[Path]
    names: dict[str, list[Path]] = field(default_factory=dict)
    ids: dict[str, list[Path]] = field(default_factory=dict)

    @classmethod
    def of(cls, folders: list[Path], listing: Callable[[Path], _Listing | None]) -> _Level:
        level = cls(folders)
        for folder in folders:
            entries = listing(folder)
            for name in entries.names if entries else ():
                level.names.setdefault(name, []).append(folder / name)
            for stem, files in entries.ids.items() if entries else ():
                level.ids.setdefault(stem, []).extend(folder / f for f in sorted(files))
        return level

    def named(self, cell: str) -> list[Path]:
        """What a name alone names in these folders: in each, the entry of its name, else (a name
        without an image ending) the images of that name with one."""
        found = self.names.get(cell, [])
        if Path(cell).suffix.lower() not in IMAGE_SUFFIXES:
            by_name = {path.parent for path in found}
            found = found + [path for path in self.ids.get(cell, []) if path.parent not in by_name]
        return sorted(found)


def _ends(cell: str) -> list[str]:
    """The ends of an absolute path, POSIX or Windows (``C:\\``, ``\\\\server\\share``), longest first,
    the drive or root left out; [] for a relative path."""
    written = cell.replace("\\", "/")
    if not (written.startswith("/") or WINDOWS_DRIVE.match(written)):
        return []
    parts = [part for part in written.split("/")[1:] if part]
    return ["/".join(parts[k:]) for k in range(len(parts))]


def _bare(cell: str) -> bool:
    """Whether ``cell`` is a name alone (an id or a file name), no folder in it."""
    return "/" not in cell and "\\" not in cell and cell not in (".", "..")


def _shown(path: Path, folder: Path) -> str:
    """``path`` as said: relative to ``folder`` where it lies within it, else as it is."""
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)
