"""Checksum-verified, cached, atomic downloads from public mirrors.

A file is written under a temporary name in the cache directory and renamed into place only after
its SHA-256 (of the *decompressed* bytes, as ``shared/data/README.md`` gives them) matches, so an
interrupted or corrupted download never leaves a file that looks valid.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import re
import shutil
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from idk.errors import DataError
from idk.progress import Bar, Progress, abandon

CHUNK = 1 << 16
STALE_SECONDS = 24 * 3600  # a temporary download this old was left by a process that died


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: its name, the checksum of its decompressed bytes, where to get it."""

    name: str
    sha256: str
    size: int
    urls: tuple[str, ...]


@dataclass(frozen=True)
class RemoteFolder:
    """A folder of files shipped inside a zip archive, verified by a manifest digest.

    The manifest digest is SHA-256 over, for each file in sorted ``dir/name`` order, the line
    ``"dir/name\\n"`` followed by the file's own SHA-256 digest (see :func:`folder_digest`).
    """

    name: str
    manifest_sha256: str
    count: int
    urls: tuple[str, ...]
    member_dir: str  # the folder inside the archive whose sub-folders hold the files


def decompressed_sha256(data: bytes) -> tuple[str, int]:
    """SHA-256 hex digest and length of ``data`` after gunzip (when gzip-compressed)."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return "<corrupted gzip>", -1
    return hashlib.sha256(data).hexdigest(), len(data)


def verify_file(path: Path, remote: RemoteFile) -> None:
    """Raise :class:`DataError` unless ``path`` holds the expected bytes."""
    digest, size = decompressed_sha256(path.read_bytes())
    if size != remote.size or digest != remote.sha256:
        raise DataError(
            f"{path}: checksum mismatch (got {size} bytes, sha256 {digest[:12]}…; expected "
            f"{remote.size} bytes, {remote.sha256[:12]}…): the file is truncated or corrupted; "
            "delete it and download again, or point --data-dir at a good copy"
        )


def folder_digest(root: Path) -> tuple[str, int]:
    """Manifest digest of a ``root/<class>/<file>`` folder (hidden files skipped) and its file count."""
    h = hashlib.sha256()
    count = 0
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for f in sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith(".")):
            h.update(f"{sub.name}/{f.name}\n".encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
            count += 1
    return h.hexdigest(), count


def _download(url: str, dest: io.BufferedWriter, timeout: float, bar: Bar | None) -> None:
    """Copy ``url``'s body into ``dest``; ``bar`` counts the bytes (its total: the Content-Length)."""
    request = urllib.request.Request(url, headers={"User-Agent": "idk-downloader"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        expected = response.headers.get("Content-Length")
        if bar is not None and expected is not None:
            bar.total = int(expected)
        received = 0
        while chunk := response.read(CHUNK):
            dest.write(chunk)
            received += len(chunk)
            if bar is not None:
                bar.update(len(chunk))
        if expected is not None and received != int(expected):
            raise OSError(f"connection closed after {received} of {expected} bytes")


def _try_mirrors(
    urls: Sequence[str],
    directory: Path,
    check: Callable[[Path], None],
    timeout: float,
    name: str,
    progress: Progress | None = None,
) -> Path:
    """Download from the first mirror that yields bytes passing ``check``; return the temp path.
    ``progress``: a bar of the bytes received, named ``name``, and a warning for each mirror that
    failed before one served the file."""
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale(directory)
    failures = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".part-")
        tmp = Path(tmp_name)
        # a tqdm bar with no total yet has no truth value: compared with None, never tested
        bar = progress.bar(desc=f"download {name}", unit="B", unit_scale=True) if progress else None
        try:
            with os.fdopen(fd, "wb") as out:
                _download(url, out, timeout, bar)
            check(tmp)
        except BaseException as err:
            tmp.unlink(missing_ok=True)
            if bar is not None:
                abandon(bar)  # no bar line for a mirror that failed
            if not isinstance(err, (OSError, http.client.HTTPException, DataError, zipfile.BadZipFile)):
                raise  # (URLError is an OSError)
            failures.append(f"{url}: {err}")
            if progress is not None and url != urls[-1]:
                progress.warn(f"{url}: {err}; trying the next mirror")
            continue
        if bar is not None:
            bar.close()
        return tmp
    raise DataError("download failed from every mirror: " + "; ".join(failures))


def _remove_stale(directory: Path) -> None:
    """Remove temporary downloads (``.part-*``) left in ``directory`` by a process killed over a day
    ago (another process's download in progress is younger)."""
    now = time.time()
    for part in directory.glob(".part-*"):
        try:
            if now - part.stat().st_mtime <= STALE_SECONDS:
                continue
            if part.is_dir():
                shutil.rmtree(part)
            else:
                part.unlink()
        except OSError:
            pass  # gone already, or not ours to remove


def _umask() -> int:
    """The process's umask: read from /proc where there is one (Linux); else swapped out and back,
    for a moment private (0o077), so that a file another thread creates meanwhile errs private."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"^Umask:\s*([0-7]+)", status, re.M).group(1), 8)
    except (OSError, AttributeError):
        mask = os.umask(0o077)
        os.umask(mask)
        return mask


def move_into_place(tmp: Path, target: Path) -> None:
    """Rename a finished temporary file (``tempfile.mkstemp``'s, mode 0600) to ``target``, with the
    mode a file created there would have (0666 less the umask: readable by the other users of a
    shared cache, as an installed file is)."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)


def fetch_file(remote: RemoteFile, cache_dir: Path, timeout: float = 60.0, progress: Progress | None = None) -> Path:
    """Return a verified local copy of ``remote`` in ``cache_dir``, downloading it when needed
    (``progress``: a bar while it downloads)."""
    target = cache_dir / remote.name
    if target.exists():
        verify_file(target, remote)
        return target
    try:
        name = f"{cache_dir.name}/{remote.name}"  # mnist/… and fashion-mnist/… share file names
        tmp = _try_mirrors(remote.urls, cache_dir, lambda p: verify_file(p, remote), timeout, name, progress)
    except DataError as err:
        raise DataError(
            f"{remote.name}: {err}. Without network, download it elsewhere and pass --data-dir (or set IDK_DATA_DIR)"
        ) from None
    move_into_place(tmp, target)
    return target


def fetch_folder(
    remote: RemoteFolder, cache_dir: Path, timeout: float = 120.0, progress: Progress | None = None
) -> Path:
    """Return a verified local copy of a folder that ships inside a zip archive (``progress``: a
    bar while the archive downloads)."""
    target = cache_dir / remote.name
    if target.is_dir():
        check_folder(target, remote)
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".part-"))

    def extract(archive: Path) -> None:
        out = staging / "folder"
        shutil.rmtree(out, ignore_errors=True)
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                parts = member.split("/")
                if member.endswith("/") or remote.member_dir not in parts:
                    continue
                rel = parts[parts.index(remote.member_dir) + 1 :]
                if len(rel) != 2 or any(p.startswith(".") for p in rel):
                    continue
                dest = out / rel[0] / rel[1]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(member))
        if not out.is_dir():
            raise DataError(f"archive has no folder {remote.member_dir!r}")
        check_folder(out, remote)

    try:
        archive = _try_mirrors(remote.urls, staging, extract, timeout, remote.name, progress)
        archive.unlink()
        os.replace(staging / "folder", target)
    except DataError as err:
        raise DataError(f"{remote.name}: {err}. Without network, pass --data-dir (or set IDK_DATA_DIR)") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def check_folder(path: Path, remote: RemoteFolder) -> None:
    """Raise :class:`DataError` unless the folder's manifest digest matches."""
    digest, count = folder_digest(path)
    if digest != remote.manifest_sha256:
        raise DataError(
            f"{path}: folder contents do not match the expected checksum ({count} files, "
            f"expected {remote.count}); delete it and download again"
        )
