"""Which files of a folder are images to read: by their names' endings, leaving out hidden files
and those an operating system leaves in folders of pictures, and saying in one line what is not
read (another ending, a link to nothing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from idk.errors import ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
SHOWN_NAMES = 5  # the files a warning line names of those a folder's reading passed over
SYSTEM_FILES = ("thumbs.db", "desktop.ini")  # what Windows leaves in folders of pictures: passed over unsaid
# What a system leaves beside folders of pictures: macOS' zip archives, a Synology disk's thumbnails,
# Windows' bin and volume data on a drive's root; passed over unsaid
SYSTEM_FOLDERS = ("__macosx", "@eadir", "$recycle.bin", "system volume information")


def unsaid(name: str) -> bool:
    """Whether a file or folder called ``name`` among images is passed over without a word: a hidden
    one (".DS_Store", ".ipynb_checkpoints"), or one an operating system leaves there
    (:data:`SYSTEM_FILES`, :data:`SYSTEM_FOLDERS`)."""
    return name.startswith(".") or name.lower() in SYSTEM_FILES + SYSTEM_FOLDERS


def not_read(path: Path) -> str | None:
    """Why a file found in a folder of images is not read ("not an image file name", "a link to
    nothing"); None for an image file to read, or one passed over unsaid (:func:`unsaid`)."""
    if unsaid(path.name):
        return None
    if path.is_symlink() and not path.exists():
        return "a link to nothing, or a loop of links"
    if path.is_file() and path.suffix.lower() not in IMAGE_SUFFIXES:
        return "not an image file name"
    return None


def some_of(names: list[str], sep: str = ", ") -> str:
    """The first :data:`SHOWN_NAMES` of ``names`` joined by ``sep``, and "(+N more)" after them."""
    more = f" (+{len(names) - SHOWN_NAMES} more)" if len(names) > SHOWN_NAMES else ""
    return sep.join(names[:SHOWN_NAMES]) + more


def list_images(paths: list[str], warn: Callable[[str], None] | None = None) -> list[Path]:
    """Expand files, folders (recursively, leaving out hidden files and folders: names starting
    with ".", as training does) and glob patterns to image paths, in a stable order. ``warn``: told
    in one line a folder's files that are not read (:func:`not_read`: other file names, links to
    nothing), which a file given by name would be tried as.

    A path that does not exist is kept, so that the caller reports it in its place.
    """
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = [p for p in path.rglob("*") if not any(unsaid(part) for part in p.relative_to(path).parts)]
            found = sorted(p for p in inside if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            passed = sorted(f"{p.relative_to(path)} ({why})" for p in inside if (why := not_read(p)))
            if passed and warn:
                warn(
                    f"{raw}: {len(passed)} file{'s' * (len(passed) != 1)} not read: {some_of(passed, '; ')} "
                    f"(images are read by their names' endings, {', '.join(IMAGE_SUFFIXES)}; give a file by its "
                    "path to try it whatever its name)"
                )
            if not found:
                raise ImageError(raw, f"directory has no images ({', '.join(IMAGE_SUFFIXES)})")
            out.extend(found)
        elif any(ch in raw for ch in "*?[") and not path.exists():
            matches = (
                sorted(Path().glob(raw))
                if not path.is_absolute()
                else sorted(Path(path.anchor).glob(str(path.relative_to(path.anchor))))
            )
            if not matches:
                raise ImageError(raw, "pattern matches no files")
            out.extend(m for m in matches if m.is_file())
        else:
            out.append(path)
    return out
