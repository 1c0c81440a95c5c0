"""The download path against a local HTTP server on 127.0.0.1 serving the shared files."""

from __future__ import annotations

import gzip
import http.server
import os
import re
import shutil
import threading
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from idk.data.download import RemoteFile, fetch_file, fetch_folder
from idk.data.sources import FASHION_MNIST_FILES, MNIST_FILES, NOTMNIST_459, DataConfig
from idk.errors import DataError


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves ``directory``; ``/cut/NAME`` promises the whole file but sends half, then hangs up."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/cut/"):
            body = (Path(self.directory) / self.path[len("/cut/") :]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path, data_dir):
    root = tmp_path / "www"
    (root / "good").mkdir(parents=True)
    (root / "bad").mkdir()
    for remote in (MNIST_FILES["test-labels"], MNIST_FILES["train-labels"]):
        shutil.copy(data_dir / "mnist" / remote.name, root / "good" / remote.name)
        data = bytearray(gzip.decompress((data_dir / "mnist" / remote.name).read_bytes()))
        data[100] ^= 0xFF  # one flipped byte: same size, wrong checksum
        (root / "bad" / remote.name).write_bytes(gzip.compress(bytes(data)))
    for kind in ("good", "bad"):  # Fashion-MNIST's files share MNIST's names: a folder of their own
        (root / f"{kind}-fashion").mkdir()
    for remote in (FASHION_MNIST_FILES["test-labels"],):
        raw = (data_dir / "fashion-mnist" / remote.name).read_bytes()
        (root / "good-fashion" / remote.name).write_bytes(raw)
        data = bytearray(gzip.decompress(raw))
        data[-1] ^= 0x01
        (root / "bad-fashion" / remote.name).write_bytes(gzip.compress(bytes(data)))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Handler(*a, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


def _at(remote: RemoteFile, *bases: str) -> RemoteFile:
    return replace(remote, urls=tuple(f"{b}/{remote.name}" for b in bases))


def _leftovers(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


def test_good_file_is_downloaded_verified_and_cached(server, tmp_path):
    base, root = server
    cache = tmp_path / "cache"
    remote = _at(MNIST_FILES["test-labels"], f"{base}/good")
    path = fetch_file(remote, cache)
    assert path == cache / remote.name and path.read_bytes() == (root / "good" / remote.name).read_bytes()
    # cached: served again without the network
    (root / "good" / remote.name).unlink()
    assert fetch_file(remote, cache) == path


def test_a_download_gets_the_mode_a_file_created_there_would(server, tmp_path):
    """Not mkstemp's 0600: 0666 less the umask, so the other users of a shared cache can read it."""
    base, _ = server
    old = os.umask(0o002)
    try:
        path = fetch_file(_at(MNIST_FILES["test-labels"], f"{base}/good"), tmp_path / "cache")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o664


@pytest.mark.parametrize(
    "where,message",
    [("bad", "checksum mismatch"), ("cut/good", "download failed")],
    ids=["corrupted-file", "interrupted-download"],
)
def test_a_bad_download_is_rejected_and_nothing_is_left(server, tmp_path, where, message):
    base, _ = server
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=message):
        fetch_file(_at(MNIST_FILES["test-labels"], f"{base}/{where}"), cache)
    assert _leftovers(cache) == []


def test_falls_back_to_the_next_mirror(server, tmp_path):
    base, _ = server
    path = fetch_file(
        _at(MNIST_FILES["train-labels"], f"{base}/bad", f"{base}/missing", f"{base}/cut/good", f"{base}/good"),
        tmp_path / "c",
    )
    assert path.exists()


def test_unreachable_mirror_names_the_file_and_the_fix(tmp_path):
    remote = replace(MNIST_FILES["test-labels"], urls=("http://127.0.0.1:9/nothing.gz",))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: .*--data-dir"):
        fetch_file(remote, tmp_path, timeout=2)


def test_corrupted_cached_file_is_reported(server, tmp_path):
    base, _ = server
    remote = _at(MNIST_FILES["test-labels"], f"{base}/good")
    path = fetch_file(remote, tmp_path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated or corrupted"):
        fetch_file(remote, tmp_path)


def test_folder_from_a_zip_archive(server, tmp_path, data_dir):
    base, root = server
    with zipfile.ZipFile(root / "good" / "repo.zip", "w") as zf:
        for f in sorted((data_dir / "notmnist-459").rglob("*.png")):
            zf.write(f, f"repo-master/not-mnist/{f.parent.name}/{f.name}")
        zf.writestr("repo-master/not-mnist/.DS_Store", b"junk")
        zf.writestr("repo-master/bnn.ipynb", b"{}")
    with zipfile.ZipFile(root / "bad" / "repo.zip", "w") as zf:
        zf.writestr("repo-master/not-mnist/A/x.png", b"not the set")
    remote = replace(NOTMNIST_459, urls=(f"{base}/bad/repo.zip", f"{base}/good/repo.zip"))
    folder = fetch_folder(remote, tmp_path / "cache")
    assert folder == tmp_path / "cache" / "notmnist-459"
    assert sum(1 for _ in folder.rglob("*.png")) == 459
    assert not any(p.name.startswith(".") for p in (tmp_path / "cache").iterdir())


def test_data_config_prefers_local_dir_and_checks_it(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("IDK_DATA_DIR", str(data_dir))
    cfg = DataConfig.from_env(cache_dir=tmp_path)
    assert cfg.file("mnist", MNIST_FILES["test-labels"]).parent == data_dir / "mnist"
    bad = tmp_path / "bad" / "mnist"
    bad.mkdir(parents=True)
    (bad / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match="checksum mismatch"):
        DataConfig(tmp_path / "bad", tmp_path).file("mnist", MNIST_FILES["test-labels"])
    with pytest.raises(DataError, match="does not exist"):
        DataConfig.from_env(tmp_path / "nowhere")


def test_fashion_mnist_downloads_from_its_mirrors_verified(server, tmp_path):
    """Fashion-MNIST's files are fetched like MNIST's: a good copy is cached, a corrupted one
    (one changed byte) is rejected and leaves nothing behind; its mirrors are the public ones."""
    base, _ = server
    for remote in FASHION_MNIST_FILES.values():
        assert remote.urls and all("fashion" in u for u in remote.urls)
    cache = tmp_path / "cache"
    good = _at(FASHION_MNIST_FILES["test-labels"], f"{base}/good-fashion")
    assert fetch_file(good, cache).is_file()
    bad = _at(FASHION_MNIST_FILES["test-labels"], f"{base}/bad-fashion")
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch_file(bad, tmp_path / "cache2")
    assert _leftovers(tmp_path / "cache2") == []
    # the same file through a DataConfig whose data directory lacks it: downloaded into the cache
    cfg = DataConfig(tmp_path / "empty", tmp_path / "cache3")
    (tmp_path / "empty").mkdir()
    path = cfg.file("fashion-mnist", good)
    assert path == tmp_path / "cache3" / "fashion-mnist" / good.name


def test_a_mirror_that_does_not_speak_http_is_skipped(server, tmp_path):
    """A server answering garbage (http.client.BadStatusLine, not an OSError) is one failed mirror."""
    import socket

    base, _ = server
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def garbage():
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.sendall(b"this is not HTTP\r\n\r\n")
        conn.close()

    threading.Thread(target=garbage, daemon=True).start()
    bad = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        path = fetch_file(_at(MNIST_FILES["test-labels"], bad, f"{base}/good"), tmp_path / "c", timeout=5)
    finally:
        listener.close()
    assert path.exists()


def test_the_download_command_fetches_named_sets_into_a_folder_usable_as_data_dir(
    server, tmp_path, data_dir, monkeypatch, capsys
):
    """`idk download SET --to DIR`: each file fetched, verified and laid out as a data directory;
    a mirror serving a corrupted copy is passed over for the next one, and with none good the
    command fails in one line and leaves nothing; `--to` beside a data directory holding the sets
    copies them from it; a `--data-dir` holding the sets is only verified."""
    from idk.apps.cli import main
    from idk.data import sources

    monkeypatch.delenv("IDK_DATA_DIR", raising=False)  # --to alone decides where
    monkeypatch.setenv("IDK_CACHE_DIR", str(tmp_path / "empty-cache"))  # nothing to copy from: downloaded
    base, root = server
    for kind in ("good-notmnist", "bad-notmnist"):
        (root / kind).mkdir()
    for remote in sources.NOTMNIST_10K_FILES.values():
        raw = (data_dir / "notmnist-10k" / remote.name).read_bytes()
        (root / "good-notmnist" / remote.name).write_bytes(raw)
        data = bytearray(gzip.decompress(raw))
        data[-1] ^= 0x01
        (root / "bad-notmnist" / remote.name).write_bytes(gzip.compress(bytes(data)))
    at = {k: _at(r, f"{base}/bad-notmnist", f"{base}/good-notmnist") for k, r in sources.NOTMNIST_10K_FILES.items()}
    monkeypatch.setitem(sources.DOWNLOADS, "notmnist-10k", at)
    to = tmp_path / "to"
    assert main(["download", "notmnist-10k", "--to", str(to), "-q"]) == 0
    assert capsys.readouterr().out == f"notmnist-10k: 2 files verified, {to / 'notmnist-10k'}\n"
    for remote in at.values():
        assert (to / "notmnist-10k" / remote.name).read_bytes() == (
            data_dir / "notmnist-10k" / remote.name
        ).read_bytes()
    assert DataConfig(to, tmp_path / "unused").fetch("notmnist-10k")[0].parent == to / "notmnist-10k"  # a data dir

    bad = {k: _at(r, f"{base}/bad-notmnist") for k, r in sources.NOTMNIST_10K_FILES.items()}
    monkeypatch.setitem(sources.DOWNLOADS, "notmnist-10k", bad)
    labels = {"test-labels": _at(sources.MNIST_FILES["test-labels"], f"{base}/good")}  # a set that comes
    monkeypatch.setitem(sources.DOWNLOADS, "mnist", labels)
    assert main(["download", "notmnist-10k", "mnist", "--to", str(tmp_path / "to2"), "-q"]) == 2
    captured = capsys.readouterr()
    assert captured.out == f"mnist: 1 file verified, {tmp_path / 'to2' / 'mnist'}\n"  # the failure did not stop it
    err = captured.err
    assert err.count("\n") == 1 and "1 of 2 sets not fetched: notmnist-10k: " in err
    assert "checksum mismatch" in err and "--data-dir" in err
    assert [p.parent.name for p in _leftovers(tmp_path / "to2")] == ["mnist"]

    # --to beside a data directory that holds the sets: copied from it (the only mirror is corrupted)
    to4 = tmp_path / "to4"
    monkeypatch.setitem(
        sources.DOWNLOADS, "notmnist-459", replace(sources.NOTMNIST_459, urls=(f"{base}/bad/none.zip",))
    )
    assert main(["download", "notmnist-10k", "notmnist-459", "--data-dir", str(data_dir), "--to", str(to4), "-q"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"notmnist-10k: 2 files verified, {to4 / 'notmnist-10k'}",
        f"notmnist-459: verified, {to4 / 'notmnist-459'}",
    ]
    for remote in bad.values():
        assert (to4 / "notmnist-10k" / remote.name).read_bytes() == (
            data_dir / "notmnist-10k" / remote.name
        ).read_bytes()
    assert sum(1 for _ in (to4 / "notmnist-459").rglob("*.png")) == 459
    assert not [p for p in to4.rglob(".part-*")]

    monkeypatch.setenv("IDK_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["download", "--data-dir", str(data_dir), "-q"]) == 0  # all there: verified, nothing fetched
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == list(sources.DOWNLOADS)
    assert all(str(data_dir) in line for line in lines) and _leftovers(tmp_path / "cache") == []


@pytest.mark.parametrize("tty", [False, True], ids=["log-line", "terminal-bar"])
def test_a_download_shows_its_progress_and_each_mirror_that_failed(server, tmp_path, tty, capsys):
    """Off a terminal the bar is one line when the file has come (sizes scaled as tqdm scales
    them), on a terminal a tqdm bar (whose total, known from Content-Length, is set after it is
    made); a mirror that failed first is a warning, not a bar."""
    from idk.progress import Progress

    base, _ = server
    remote = _at(MNIST_FILES["test-labels"], f"{base}/bad", f"{base}/good")
    path = fetch_file(remote, tmp_path / "mnist", progress=Progress(tty=tty))
    assert path.read_bytes()
    err = capsys.readouterr().err
    assert f"idk: warning: {base}/bad/{remote.name}: " in err and "checksum mismatch" in err and "next mirror" in err
    if not tty:
        line = err.splitlines()[-1]
        assert re.fullmatch(rf"download mnist/{remote.name}: [0-9.]+kB in [0-9.]+ s \([0-9.]+[kMG]?B/s\)", line), line


def test_temporary_downloads_left_by_a_dead_process_are_removed(server, tmp_path):
    """A ``.part-*`` file or folder over a day old is removed by the next download there; a fresh
    one (another process's download in progress) is left alone."""
    import os
    import time

    base, _ = server
    cache = tmp_path / "c"
    cache.mkdir()
    old_file, old_dir, fresh = cache / ".part-old", cache / ".part-olddir", cache / ".part-fresh"
    old_file.write_bytes(b"half")
    old_dir.mkdir()
    (old_dir / "x").write_bytes(b"half")
    fresh.write_bytes(b"in progress")
    day_ago = time.time() - 2 * 24 * 3600
    for p in (old_file, old_dir):
        os.utime(p, (day_ago, day_ago))
    fetch_file(_at(MNIST_FILES["test-labels"], f"{base}/good"), cache)
    assert sorted(p.name for p in cache.iterdir()) == [".part-fresh", MNIST_FILES["test-labels"].name]
