"""A CSV file that lists a user's images and their classes (``--data images.csv``), beside class
folders and arrays: the form many labelled sets come in (one folder of images, a table of labels).

Its first row names the columns: the image's file (one of :data:`FILE_COLUMNS`) and its class (one
of :data:`LABEL_COLUMNS`), letter case, spaces and hyphens aside, other columns left out; a table of
two columns named otherwise is read as (file, class), and one whose first row is a file's has no
header; ``--columns FILE,CLASS`` names the two columns of a table named otherwise (a HAM10000
``image_id,dx``), ``--columns FILE`` its file column alone (unlabelled). Commas, semicolons or tabs part the cells (:data:`DELIMITERS`), quoted as CSV quotes them.
A file is found relative to the CSV's own folder (or by an absolute path; Windows' separators and
an id without its ending too), and read whatever its name's ending; one that is not there or
cannot be decoded is named in one line and skipped, as a folder's are. The classes are the labels
as text (in one Unicode form), sorted as class folders' names are ("10" before "2"); the images
are read in a folder's order (class by class, files by name), whatever the rows'. Without a class
column the table is unlabelled: an out-of-distribution set (``--ood NAME=FILE.csv``).
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from idk.data.class_names import nfc
from idk.data.images import ImageSet, InputSpec
from idk.data.listing import IMAGE_SUFFIXES, some_of
from idk.data.reading import Listed, Warn, read_listed
from idk.errors import DataError

FILE_COLUMNS = (
    *("file", "filename", "file_name", "path", "filepath", "file_path", "image", "image_path", "img"),
    *("image_id", "id"),  # last: a name without its ending (Kaggle's ids), the file found by IMAGE_SUFFIXES
)
LABEL_COLUMNS = ("label", "class", "class_name", "category", "target", "y")
Columns = tuple[str, "str | None"]  # a table's file column and class column as --columns names them (None: none)
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")  # a class cell that is a number (3, 3.0, 3e0)
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
    number = {c: i for i, c in enumerate(classes or ())}
    entries: dict[str, tuple[str, Path, int, str | None]] = {}  # one per file, by its place: (shown, file, label, why)
    twice: list[str] = []
    places = _Places(path)
    for k, cell in enumerate(table.files):
        where, why = places.find(cell)
        label = number[labels[k]] if labels is not None else 0
        key = os.path.normpath(where)
        if key in entries and entries[key][2] != label:
            raise DataError(
                f"{path}: {cell} is listed under two classes, {classes[entries[key][2]]!r} and {classes[label]!r} "
                "(rows of one image must agree)"
            )
        if key in entries:
            twice.append(cell)
        entries.setdefault(key, (cell, where, label, why))
    if twice and warn:
        warn(f"{path}: {len(twice)} file{'s' * (len(twice) > 1)} listed again, read once: {some_of(twice)}")
    if warn and places.elsewhere:
        warn(
            f"{path}: {sum(places.elsewhere.values())} of the files it lists found not beside it but in its folder's "
            f"sub-folders {some_of(sorted(places.elsewhere))}"
        )
    if all(why == MISSING for *_, why in entries.values()):
        raise DataError(
            f"{path}: none of the {len(entries)} files it lists is there (e.g. {table.files[0]!r}): a table's files "
            f"are looked for relative to its own folder, {path.parent}, and in that folder's sub-folders; give "
            "absolute paths, or keep the table beside its images"
        )
    listed: list[Listed] = sorted(entries.values(), key=lambda e: (e[2], e[0]))
    return read_listed(
        path, name, listed, classes, spec, image_size, warn, require_labels, prepare_all, "class(es)", luminance_grey
    )


def listed_files(path: Path, columns: Columns | None = None) -> list[tuple[str, Path, str | None]]:
    """The files ``path`` lists, one per row in the rows' order, each as (its cell, where it is,
    why it cannot be read: None where it is a file there): what ``idk predict TABLE.csv`` answers
    (a class column, if any, left out; a row without a file is "line N"'s). DataError for a table
    that cannot be read, as :func:`read_manifest` says."""
    table, places = _table(path, columns, with_labels=False, strict=False), _Places(path)
    return [
        (cell, *places.find(cell)) if cell else (f"line {line}", path, "no file in this row")
        for cell, line in zip(table.files, table.lines, strict=True)
    ]


MISSING = "no such file"
ENDINGS = (*IMAGE_SUFFIXES, *(e.upper() for e in IMAGE_SUFFIXES))  # an id's file, found with any of them


class _Places:
    """Where a table's file cells point: relative to the table's folder (an absolute path as it is;
    a Windows path read with its separators; a name without an ending, an id, the image of that
    name with any of :data:`ENDINGS`), else in one of that folder's sub-folders (HAM10000's images
    in ``HAM10000_images_part_1/`` and ``_part_2/`` beside its metadata, APTOS' ``train_images/``)."""

    def __init__(self, table: Path) -> None:
        self.folder = table.parent
        self._subfolders: list[Path] | None = None
        self.elsewhere: Counter[str] = Counter()  # files found in a sub-folder, by its name

    def find(self, cell: str) -> tuple[Path, str | None]:
        """Where ``cell`` points, and why it is not read there (None: a file to read)."""
        found = _matches(cell, self.folder)
        if not found and not Path(cell.replace("\\", "/")).is_absolute():
            found = [match for sub in self.subfolders() for match in _matches(cell, sub)]
            if len(found) == 1:
                self.elsewhere[found[0].relative_to(self.folder).parts[0] + "/"] += 1
        if not found:
            return self.folder / cell, MISSING
        if len(found) > 1:
            return found[
                0
            ], f"names {len(found)} files, {', '.join(str(f.relative_to(self.folder)) for f in found[:3])}"
        return found[0], "a folder, not a file" if found[0].is_dir() else None

    def subfolders(self) -> list[Path]:
        if self._subfolders is None:  # listed once, where a cell is first not found beside the table
            self._subfolders = sorted(d for d in self.folder.iterdir() if d.is_dir() and not d.name.startswith("."))
        return self._subfolders


def _matches(cell: str, folder: Path) -> list[Path]:
    """What ``cell`` names in ``folder`` that exists: the path as written (or with Windows'
    separators read as /), else for a name without an ending each image of that name."""
    for written in dict.fromkeys((cell, cell.replace("\\", "/"))):
        where = Path(written) if Path(written).is_absolute() else folder / written
        if where.exists():
            return [where]
        if not where.suffix:
            named = {f.resolve(): f for e in ENDINGS if (f := where.with_name(where.name + e)).is_file()}
            if named:
                return list(named.values())
    return []


@dataclass
class _Rows:
    """A table's file cells and class cells (None: no class column), in its rows' order."""

    files: list[str]
    labels: list[str] | None
    header: list[str]  # the first row's cells as written
    lines: list[int]  # each file's line in the table


def column_key(name: str) -> str:
    """A column's name as a table's columns are matched: letter case, spaces and hyphens aside."""
    return re.sub(r"[\s-]+", "_", name.strip().lower())


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
    spaces, class names in one Unicode form (an accent written apart is one class), whole numbers
    written as floats read as the numbers (:func:`_whole`). DataError for a table that is empty,
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
    return _Rows(files, _whole(list(nfc(tuple(labels)))) if label_at is not None else None, cells, lines)


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
    if lines and lines[0].strip().lower().startswith("sep=") and len(lines[0].strip()) == 5:  # Excel's own line
        delimiter, skip = lines[0].strip()[4], 1
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
    of ids): there a first row whose first cell is a file there is no header but a row; in a table
    of two columns, one of them a file column, the other is the class column."""
    header = [column_key(cell) for cell in first]
    if columns is not None:
        file_at, label_at = (_column(path, header, first, n) for n in (columns[0], columns[1] if with_labels else None))
        return file_at, label_at, True
    file_at = next((header.index(c) for c in FILE_COLUMNS if c in header), None)
    label_at = next((header.index(c) for c in LABEL_COLUMNS if c in header), None) if with_labels else None
    if file_at is None and len(header) in (1, 2) and not any(c in header for c in LABEL_COLUMNS):  # by position
        file_at, label_at = 0, (1 if len(header) == 2 and with_labels else None)
        return file_at, label_at, _Places(path).find(first[0])[1] is not None
    if file_at is not None and label_at is None and len(header) == 2 and with_labels:  # (image_id, dx): the other
        label_at = 1 - file_at
    return file_at, label_at, True


def _whole(labels: list[str]) -> list[str]:
    """Class cells that are all numbers, some written with a point or an exponent and every one a
    whole number (pandas' ``3.0`` beside ``3``), as those whole numbers (``3``); others as they are."""
    if not labels or not all(NUMBER.fullmatch(c) for c in labels) or all(c.lstrip("+-").isdigit() for c in labels):
        return labels
    values = [float(c) for c in labels]
    return [str(int(v)) for v in values] if all(v.is_integer() for v in values) else labels
