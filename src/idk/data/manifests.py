"""A CSV file that lists a user's images and their classes (``--data images.csv``), beside class
folders and arrays: the form many labelled sets come in (one folder of images, a table of labels).

Its first row names the columns: the image's file (one of :data:`FILE_COLUMNS`) and its class (one
of :data:`LABEL_COLUMNS`), in any letter case, other columns left out; a table of two columns named
otherwise is read as (file, class). Commas, semicolons or tabs part the cells. A file is found
relative to the CSV's own folder (or by an absolute path), and read whatever its name's ending; one
that is not there or cannot be decoded is named in one line and skipped, as a folder's are. The
classes are the labels as text (in one Unicode form), sorted as class folders' names are ("10"
before "2"). Without a
class column the table is unlabelled: an out-of-distribution set (``--ood NAME=FILE.csv``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from idk.data.class_names import nfc
from idk.data.images import ImageSet, InputSpec
from idk.data.listing import some_of
from idk.data.reading import Listed, Warn, read_listed
from idk.errors import DataError

FILE_COLUMNS = ("file", "filename", "file_name", "path", "filepath", "file_path", "image", "image_path", "img")
LABEL_COLUMNS = ("label", "class", "category", "target", "y")
DELIMITERS = ",;\t"


def is_manifest(path: Path) -> bool:
    """Whether ``path`` is read as a CSV listing of images (by its name's ending)."""
    return path.suffix.lower() == ".csv"


def unlabelled_manifest(path: Path) -> bool:
    """Whether the table ``path`` names no class column (False where it cannot be read:
    :func:`read_manifest` says why)."""
    try:
        return _table(path)[1] is None
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
) -> ImageSet:
    """The images ``path`` lists, labelled by its class column (``labelled`` False, or no class
    column: unlabelled), read and brought to one form as a folder's are
    (:func:`~idk.data.reading.read_listed`, with ``spec``, ``image_size``, ``warn`` and
    ``prepare_all`` as :func:`~idk.data.folders.read_folder` takes them). ``require_labels``: a
    DataError unless it has a class column with ``least_classes`` classes or more."""
    rows, labels = _table(path)
    if labels is None and require_labels:
        raise DataError(
            f"{path}: its first row names no class column ({', '.join(LABEL_COLUMNS)}): a training or test set "
            "needs one"
        )
    if labels is not None:  # one name in two Unicode forms (an accent written apart) is one class
        labels = list(nfc(tuple(labels)))
    classes = tuple(sorted(set(labels))) if labels is not None and labelled else None
    if require_labels and classes is not None and len(classes) < least_classes:
        needs = "a classifier needs at least two classes" if least_classes == 2 else "a test set needs a class"
        raise DataError(f"{path}: {needs}, found {len(classes)}")
    number = {c: i for i, c in enumerate(classes or ())}
    listed: list[Listed] = []
    for k, file in enumerate(rows):
        where = Path(file) if Path(file).is_absolute() else path.parent / file
        why = None if where.is_file() else ("a folder, not a file" if where.is_dir() else "no such file")
        listed.append((file, where, number[labels[k]] if classes is not None else 0, why))
    return read_listed(path, name, listed, classes, spec, image_size, warn, require_labels, prepare_all, "class(es)")


def _table(path: Path) -> tuple[list[str], list[str] | None]:
    """The file cells of ``path``'s rows and their class cells (None: no class column), in order.
    DataError for a table that is empty, names no file column, or has rows without a file or class."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM, as spreadsheets write it, is no column name
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file (save it as UTF-8)") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err})") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise DataError(f"{path}: lists no images (a first row naming the columns, then one row per image)")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=DELIMITERS)
    except csv.Error:  # one column: no delimiter to find
        dialect = csv.excel
    table = list(csv.reader(lines, dialect))
    header = [cell.strip().lower() for cell in table[0]]
    file_at = next((header.index(c) for c in FILE_COLUMNS if c in header), None)
    label_at = next((header.index(c) for c in LABEL_COLUMNS if c in header), None)
    if file_at is None and label_at is None and len(header) == 2:  # (file, class) by position
        file_at, label_at = 0, 1
    if file_at is None:
        raise DataError(
            f"{path}: its first row names no image column ({', '.join(FILE_COLUMNS)}); it names "
            f"{', '.join(repr(c) for c in table[0])}"
        )
    files, labels, short = [], [], []
    for number, row in enumerate(table[1:], start=2):
        cells = [cell.strip() for cell in row]
        file = cells[file_at] if file_at < len(cells) else ""
        label = cells[label_at] if label_at is not None and label_at < len(cells) else ""
        if not file or (label_at is not None and not label):
            short.append(str(number))
            continue
        files.append(file)
        labels.append(label)
    if short:
        raise DataError(f"{path}: row{'s' * (len(short) > 1)} {some_of(short)} without a file or a class")
    return files, labels if label_at is not None else None
