"""A CSV file that lists a user's images and their classes (``--data images.csv``), beside class
folders and arrays: the form many labelled sets come in (one folder of images, a table of labels).

Its first row names the columns: the image's file (one of :data:`FILE_COLUMNS`) and its class (one
of :data:`LABEL_COLUMNS`), letter case, spaces and hyphens aside, other columns left out; a table of
two columns named otherwise is read as (file, class), one of a single column as its files (Kaggle's
``test.csv``), and one whose first row names a file has no header; ``--columns FILE,CLASS`` names
the two columns of a table named otherwise (a HAM10000 ``image_id,dx``), ``--columns FILE`` its
file column alone (unlabelled). Commas, semicolons or tabs part the cells (:data:`DELIMITERS`),
quoted as CSV quotes them. A file is found as :mod:`idk.data.places` says (relative to the table's
folder; a name alone in its sub-folders or theirs too), and read whatever its name's ending; one that is not
there or cannot be decoded is named in one line and skipped, as a folder's are. The classes are
the labels as text (in one Unicode form; one number written two ways refused), sorted as class
folders' names are ("10" before "2"); the images
are read in a folder's order (class by class, files by name), whatever the rows'. Without a class
column the table is unlabelled: an out-of-distribution set (``--ood NAME=FILE.csv``).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from idk.choices import column_key
from idk.data.class_names import nfc, number
from idk.data.images import ImageSet, InputSpec
from idk.data.listing import IMAGE_SUFFIXES, some_of
from idk.data.places import MISSING, Places
from idk.data.reading import Listed, Warn, read_listed
from idk.errors import DataError

FILE_COLUMNS = (
    *("file", "filename", "file_name", "path", "filepath", "file_path", "image", "image_path", "image_name", "img"),
    *("image_id", "id"),  # last: a name without its ending (Kaggle's ids), the file found by IMAGE_SUFFIXES
)
LABEL_COLUMNS = ("label", "class", "class_name", "category", "target", "y")
Columns = tuple[str, "str | None"]  # a table's file column and class column as --columns names them (None: none)
DELIMITERS = ",;\t"  # the one the first row holds most of parts the cells ("sep=;" first, as Excel writes it, names it)


def is_manifest(path: Path) -> bool:
    """Whether ``path`` is read as a CSV listing of images (by its name's ending)."""
    return path.suffix.lower() == ".csv"


def unlabelled_manifest(path: Path, columns: Columns | None = None) -> bool:
    """Whether the table ``path`` names no class column (False where it cannot be read:
    :func:`read_manifest` says why)."""
    try:
        return _table(path, columns).labels is None
    except DataError:
        return False


def read_manifest(
    path: Path,
    name: str,
    spec: InputSpec | None = None,
    image_size: tuple[int, int] | None = None,
    warn: Warn | None = None,
    require_labels: bool = False,
    prepare_all: bool = False,
    labelled: bool = True,
    least_classes: int = 2,
    luminance_grey: bool = False,
    columns: Columns | None = None,
) -> ImageSet:
    """The images ``path`` lists, labelled by its class column (``labelled`` False, or no class
    column: unlabelled), read and brought to one form as a folder's are
    (:func:`~idk.data.reading.read_listed`, with ``spec``, ``image_size``, ``warn``, ``prepare_all``
    and ``luminance_grey`` as :func:`~idk.data.folders.read_folder` takes them), in the order a folder's
    would be: class by class, each class's files by name, whatever the rows' order (so that sorting
    the table changes nothing: the set's fingerprint and its recorded test split are of that order).
    A file listed twice is read once (``warn`` says so); listed under two classes, a DataError.
    ``require_labels``: a DataError unless it has a class column with ``least_classes`` classes or more.
    ``columns``: the file and class columns by name (``--columns``), else found as the module says."""
    table = _table(path, columns, with_labels=labelled)
    if table.labels is None and require_labels:
        if columns is not None:
            raise DataError(f"{path}: --columns names no class column: a training or test set needs one (FILE,CLASS)")
        raise DataError(
            f"{path}: its first row names no class column ({', '.join(LABEL_COLUMNS)}): a training or test set "
            f"needs one; name yours with --columns FILE,CLASS (it names {_named(table.header)})"
        )
    labels = table.labels if labelled else None
    classes = tuple(sorted(set(labels))) if labels is not None else None
    if require_labels and classes is not None and len(classes) < least_classes:
        needs = "a classifier needs at least two classes" if least_classes == 2 else "a test set needs a class"
        raise DataError(f"{path}: {needs}, found {len(classes)}")
    index = {c: i for i, c in enumerate(classes or ())}
    entries: dict[str, tuple[str, Path, int, str | None]] = {}  # one per file, by its place: (shown, file, label, why)
    twice: list[str] = []
    places = Places(path)
    for k, cell in enumerate(table.files):
        where, why = places.find(cell)
        label = index[labels[k]] if labels is not None else 0
        key = os.path.normpath(where)
        if key in entries and entries[key][2] != label:
            _not_swapped(path, table, columns, places)
            raise DataError(
                f"{path}: {cell} is listed under two classes, {classes[entries[key][2]]!r} and {classes[label]!r} "
                "(rows of one image must agree)"
            )
        if key in entries:
            twice.append(cell)
        entries.setdefault(key, (cell, where, label, why))
    if twice and warn:
        warn(f"{path}: {len(twice)} file{'s' * (len(twice) > 1)} listed again, read once: {some_of(twice)}")
    say_elsewhere(path, places, warn)
    if all(why == MISSING for *_, why in entries.values()):
        _not_swapped(path, table, columns, places)
        raise DataError(
            f"{path}: none of the {len(entries)} files it lists is there (e.g. {table.files[0]!r}): a table's files "
            f"are looked for relative to its own folder, {path.parent} (a name alone in that folder's sub-folders "
            "too, one or two levels down); give paths as they are on this machine, or keep the table beside its images"
        )
    listed: list[Listed] = sorted(entries.values(), key=lambda e: (e[2], e[0]))
    return read_listed(
        path, name, listed, classes, spec, image_size, warn, require_labels, prepare_all, "class(es)", luminance_grey
    )


NO_FILE = "no file in this row"  # a row of a table that idk predict answers, without a file


def names_columns(path: Path, columns: Columns) -> bool:
    """Whether the first row of the table ``path`` names ``columns`` (its class column too where one
    is given); False where it cannot be read."""
    try:
        header = {column_key(cell) for cell in _rows_of(path)[0][1]}
    except DataError:
        return False
    return all(column_key(name) in header for name in columns if name)


def listed_files(
    path: Path, columns: Columns | None = None, warn: Warn | None = None
) -> list[tuple[str, Path, str | None]]:
    """The files ``path`` lists, one per row in the rows' order, each as (its cell, where it is,
    why it cannot be read: None where it is a file there): what ``idk predict TABLE.csv`` answers
    (a class column, if any, left out; a row without a file is "TABLE, line N"'s). ``warn`` is told
    where files were found in sub-folders (:func:`say_elsewhere`). DataError for a table that
    cannot be read, as :func:`read_manifest` says."""
    table, places = _table(path, columns, with_labels=False, strict=False), Places(path)
    listed = [
        (cell, *places.find(cell)) if cell else (f"{path}, line {line}", path, NO_FILE)
        for cell, line in zip(table.files, table.lines, strict=True)
    ]
    say_elsewhere(path, places, warn)
    return listed


def _not_swapped(path: Path, table: _Rows, columns: Columns | None, places: Places) -> None:
    """DataError where ``--columns`` named the class column first: its class cells name files and
    its file cells none (the first few of each looked for); said before what reading it so met (one
    class listed under two files' names, or no file found)."""
    if columns is None or columns[1] is None or table.labels is None:
        return

    def names_files(cells: list[str]) -> bool:
        return any(places.find(cell)[1] is None for cell in dict.fromkeys(cells[:20]))

    if names_files(table.labels) and not names_files(table.files):
        raise DataError(
            f"{path}: --columns {columns[0]},{columns[1]} names its class column first: {columns[1]!r} names files "
            f"and {columns[0]!r} none; give the file column first, --columns {columns[1]},{columns[0]}"
        )


def say_elsewhere(path: Path, places: Places, warn: Warn | None) -> None:
    """Tell ``warn`` how many of the table's files were found by the end of an absolute path not
    there, and how many in its folder's sub-folders (not beside it)."""
    if warn and places.moved:
        cell, end = next(iter(places.moved.items()))
        warn(
            f"{path}: {len(places.moved)} of the files it lists by absolute paths that are not there (a table "
            f"written on another machine?) found by the ends of their paths from its folder, e.g. {cell} as {end}"
        )
    if warn and places.elsewhere:
        warn(
            f"{path}: {sum(places.elsewhere.values())} of the files it lists found not beside it but in its folder's "
            f"sub-folders {some_of(sorted(places.elsewhere))}"
        )


@dataclass
class _Rows:
    """A table's file cells and class cells (None: no class column), in its rows' order."""

    files: list[str]
    labels: list[str] | None
    header: list[str]  # the first row's cells as written
    lines: list[int]  # each file's line in the table


def _named(cells: list[str]) -> str:
    return ", ".join(repr(c) for c in cells[:12]) + (f" and {len(cells) - 12} more" if len(cells) > 12 else "")


def _column(path: Path, header: list[str], cells: list[str], name: str | None) -> int | None:
    """Where the column ``name`` (``--columns``) is in the first row (None: no name given)."""
    if name is None:
        return None
    if column_key(name) not in header:
        raise DataError(f"{path}: --columns names {name!r}, which its first row does not (it names {_named(cells)})")
    return header.index(column_key(name))


def _table(path: Path, columns: Columns | None = None, with_labels: bool = True, strict: bool = True) -> _Rows:
    """The rows of ``path``: its file column and class column (:func:`_columns_at`; not
    ``with_labels``: the files alone, a class column neither looked for nor read); cells stripped of
    spaces, class names in one Unicode form (an accent written apart is one class). DataError for a
    table that is empty, a number written two ways among its classes (:func:`_one_way`),
    names no file column, or (``strict``) has rows without a file or class (by line number); not
    ``strict``, a row without a file is kept, its cell empty (``idk predict`` answers it as such)."""
    rows = _rows_of(path)
    cells = rows[0][1]
    file_at, label_at, header_row = _columns_at(path, cells, columns, with_labels)
    if file_at is None:
        raise DataError(
            f"{path}: its first row names no image column ({', '.join(FILE_COLUMNS)}; letter case, spaces and "
            f"hyphens aside); it names {_named(cells)}: name yours with --columns FILE,CLASS"
        )
    body = rows[1:] if header_row else rows
    if not body:
        raise DataError(f"{path}: lists no images (a first row naming the columns, then one row per image)")
    files, labels, lines, short = [], [], [], []
    for line, row in body:
        file = row[file_at] if file_at < len(row) else ""
        label = row[label_at] if label_at is not None and label_at < len(row) else ""
        if strict and (not file or (label_at is not None and not label)):
            short.append(str(line))
            continue
        files.append(file)
        labels.append(label)
        lines.append(line)
    if short:
        what = "a file or a class" if label_at is not None else "a file"
        raise DataError(f"{path}: line{'s' * (len(short) > 1)} {some_of(short)} without {what}")
    if label_at is not None:
        _one_way(path, labels)
    return _Rows(files, list(nfc(tuple(labels))) if label_at is not None else None, cells, lines)


def _rows_of(path: Path) -> list[tuple[int, list[str]]]:
    """The table's non-empty rows, each (its line number, its cells stripped of spaces): cells parted
    by the delimiter its first row holds most of (:data:`DELIMITERS`), or that Excel's ``sep=``
    line names; CSV quoting. DataError for a file that is not UTF-8 text or holds no row."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM, as spreadsheets write it, is no column name
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file (save it as UTF-8)") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err})") from None
    lines = text.splitlines()
    skip = 0
    if lines and (excel := re.fullmatch(r"sep=(.) *", lines[0], re.IGNORECASE)):  # Excel's own line (a tab too)
        delimiter, skip = excel.group(1), 1
    else:
        first = next((line for line in lines if line.strip()), "")
        delimiter = max(DELIMITERS, key=first.count)
    reader = csv.reader(lines[skip:], delimiter=delimiter)  # quoted cells, "" a quote within them
    rows = [(reader.line_num + skip, [cell.strip() for cell in row]) for row in reader if any(c.strip() for c in row)]
    if not rows:
        raise DataError(f"{path}: lists no images (a first row naming the columns, then one row per image)")
    return rows


def _columns_at(
    path: Path, first: list[str], columns: Columns | None, with_labels: bool
) -> tuple[int | None, int | None, bool]:
    """Where the file and class columns are, by the ``first`` row's cells, and whether that row is a
    header: the columns ``columns`` names; else the first of :data:`FILE_COLUMNS` and of
    :data:`LABEL_COLUMNS` (letter case, spaces and hyphens aside); else, in a table of two columns
    named otherwise, (file, class), and in one of a single column, the files (Kaggle's ``test.csv``
    of ids): there a first row whose first cell names a file (:func:`_a_file`) is no header but a row."""
    header = [column_key(cell) for cell in first]
    if columns is not None:
        file_at, label_at = (_column(path, header, first, n) for n in (columns[0], columns[1] if with_labels else None))
        return file_at, label_at, True
    file_at = next((header.index(c) for c in FILE_COLUMNS if c in header), None)
    label_at = next((header.index(c) for c in LABEL_COLUMNS if c in header), None) if with_labels else None
    if file_at is None and len(header) in (1, 2) and not any(c in header for c in LABEL_COLUMNS):  # by position
        file_at, label_at = 0, (1 if len(header) == 2 and with_labels else None)
        return file_at, label_at, not _a_file(first[0], path)
    return file_at, label_at, True


def _a_file(cell: str, table: Path) -> bool:
    """Whether a first row's first cell names a file rather than a column: it is one there, or it
    has an image's ending or a folder in it (a row whose file is missing is still a row)."""
    written = cell.replace("\\", "/")
    return "/" in written or Path(written).suffix.lower() in IMAGE_SUFFIXES or Places(table).find(cell)[1] is None


def _one_way(path: Path, labels: list[str]) -> None:
    """DataError where two classes are one number written two ways (pandas' ``3.0`` beside ``3``,
    ``007`` beside ``7``): they would be trained as two classes."""
    values: dict[Decimal, set[str]] = {}
    for name in set(labels):
        if (value := number(name)) is not None:
            values.setdefault(value, set()).add(name)
    if twice := [sorted(names) for names in values.values() if len(names) > 1]:
        shown = "; ".join(" and ".join(repr(n) for n in names) for names in sorted(twice)[:3])
        raise DataError(f"{path}: its classes hold one number written two ways ({shown}): write each class one way")
