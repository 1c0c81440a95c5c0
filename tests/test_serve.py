"""The web service: every endpoint, every bad input, the same answers as ``idk predict``."""

from __future__ import annotations

import io
import json
import math
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from idk.apps import serve, serve_service
from idk.apps.predict import predict_images
from idk.apps.serve_http import BackgroundServer, Timeouts
from idk.apps.serve_inputs import Limits
from idk.data.preparation import PreparedImage, prepared_or_error
from idk.errors import IdkError
from idk.training import checkpoint
from idk.training.notices import warnings

QUICK = serve.ServiceSettings(limits=Limits(max_upload=100_000, body_timeout=1.0), timeouts=Timeouts(header=1.0))


@pytest.fixture(scope="module")
def loaded(cnn_model):
    return checkpoint.load(cnn_model)


@pytest.fixture(scope="module")
def service(loaded):
    model, ckpt = loaded
    return serve.PredictionService(model, ckpt, samples=20, settings=QUICK)


@pytest.fixture(scope="module")
def url(service):
    server = BackgroundServer(serve.create_app(service), timeouts=QUICK.timeouts).start()
    yield server.url
    server.stop()


def _request(url, data=None, headers=None, method=None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, dict]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in files
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def _png(pixels: np.ndarray, size: int = 140) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((pixels * 255).astype(np.uint8)).resize((size, size)).save(buf, format="PNG")
    return buf.getvalue()


def _raw(url: str, payload: bytes, wait: float = 5.0, close_after_send: bool = False) -> bytes:
    """Send raw bytes on a fresh connection; everything the server answers until it closes (or ``wait`` s)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(payload)
        if close_after_send:
            sock.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out


def _status_and_json(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    assert b"content-type: application/json" in head.lower(), raw
    return status, json.loads(body)


def test_page_info_health_and_schema(url, loaded):
    _, ckpt = loaded
    status, headers, body = _request(url + "/")
    assert status == 200 and headers["content-type"].startswith("text/html") and b"static/app.js" in body
    for asset, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        status, headers, body = _request(f"{url}/static/{asset}")
        assert status == 200 and headers["content-type"].startswith(kind) and body
    status, headers, body = _request(url + "/api/info")
    info = json.loads(body)
    assert status == 200 and headers["content-type"] == "application/json"
    assert info["classes"] == list(ckpt.classes) and info["calibrated"] == ckpt.calibrated
    assert info["rule"]["threshold"] == ckpt.rule["threshold"] and info["service"]["samples"] == 20
    assert info["warnings"] == warnings(ckpt)  # what the page shows as its note (none for this model)
    assert set(info["service"]) == {"samples", "window_ms", "max_batch", "max_queue", "threads", "decode_threads"}
    assert json.loads(_request(url + "/healthz")[2])["status"] == "ok"
    schema = json.loads(_request(url + "/openapi.json")[2])
    assert {"/api/predict", "/api/info", "/healthz"} <= set(schema["paths"])
    assert set(schema["paths"]["/api/predict"]["post"]["requestBody"]["content"]) >= {"multipart/form-data", "image/*"}
    for page in ("/docs", "/redoc"):  # the framework's pages, with scripts served here: they work offline
        status, _, html = _request(url + page)
        scripts = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html.decode())
        assert status == 200 and scripts and all(s.startswith("/") for s in scripts), scripts
        assert all(_request(url + s)[0] == 200 for s in scripts)


def test_uploads_get_the_same_answers_as_the_library(url, loaded, mnist_test, monkeypatch):
    """Two files in one multipart request, one raw body, and JSON pixels: what predict_images says."""
    model, ckpt = loaded
    images = [_png(mnist_test.images[i, 0].numpy()) for i in range(3)]
    body, headers = _multipart([("a.png", images[0]), ("b.png", images[1])])
    status, _, answer = _request(url + "/api/predict", body, headers)
    assert status == 200
    answers = json.loads(answer)["images"]
    raw = json.loads(_request(url + "/api/predict", images[2], {"Content-Type": "image/png", "X-Filename": "c.png"})[2])
    answers += raw["images"]
    expected = predict_images(
        model, ckpt, list(zip(["a.png", "b.png", "c.png"], images, strict=True)), samples=20, with_samples=True
    )
    assert [a["file"] for a in answers] == ["a.png", "b.png", "c.png"]
    for got, want in zip(answers, expected, strict=True):
        assert got["verdict"] == want.verdict and got["accepted"] == want.accepted and got["label"] == want.label
        assert got["probabilities"]["mean"] == pytest.approx(want.probabilities["mean"], abs=2e-4)
        assert np.allclose(got["samples"], want.samples, atol=2e-3)  # (C, S): one histogram per class
        assert len(got["samples"]) == len(ckpt.classes) and all(len(s) == 20 for s in got["samples"])
        assert got["threshold"] == ckpt.rule["threshold"] and got["score"] == pytest.approx(want.score, abs=2e-4)
    pixels = mnist_test.images[0, 0].numpy()  # (H, W), already in the model's input form: taken as it is
    taken_as_is = predict_images(model, ckpt, [("x", PreparedImage(pixels[None], False, False))], samples=20)[0]
    for form in (pixels.tolist(), pixels[None].tolist(), pixels[:, :, None].tolist()):
        status, _, body = _request(
            url + "/api/predict", json.dumps({"pixels": form}).encode(), {"Content-Type": "application/json"}
        )
        answer = json.loads(body)["images"][0]
        assert status == 200 and answer["file"] == "pixels-0" and answer["verdict"] == taken_as_is.verdict
        assert answer["probabilities"]["mean"] == pytest.approx(taken_as_is.probabilities["mean"], abs=2e-4)
    batch = {"images": [{"pixels": pixels.tolist(), "name": "one"}, {"pixels": pixels.tolist(), "name": "two"}]}
    status, _, body = _request(url + "/api/predict", json.dumps(batch).encode(), {"Content-Type": "application/json"})
    one, two = json.loads(body)["images"]
    assert status == 200 and (one["file"], two["file"]) == ("one", "two") and one["samples"] == two["samples"]
    monkeypatch.setattr("idk.apps.serve_inputs.ON_LOOP", 1000)  # parsed in a thread: the same answers
    status, _, body = _request(url + "/api/predict", json.dumps(batch).encode(), {"Content-Type": "application/json"})
    assert status == 200 and [a["samples"] for a in json.loads(body)["images"]] == [one["samples"], two["samples"]]
    body, headers = _multipart([("notes.txt", b"not a picture"), ("a.png", images[0])])  # one bad upload of two
    bad, good = json.loads(_request(url + "/api/predict", body, headers)[2])["images"]
    assert bad["error"].startswith("notes.txt: not an image") and good["error"] is None  # named by its file name
    assert bad["threshold"] is bad["score"] is None and good["threshold"] is not None  # as idk predict --json


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        (b"this is not a picture", {"Content-Type": "image/png"}, 400, "not an image"),
        (b"{not json", {"Content-Type": "application/json"}, 400, "not JSON"),
        (b"[1, 2]", {"Content-Type": "application/json"}, 422, "pixels"),
        (b'{"pixels": [[0.5, 0.5], [0.5]]}', {"Content-Type": "application/json"}, 422, "rectangular"),
        (b'{"pixels": [[0.5]]}', {"Content-Type": "application/json"}, 422, "shape (1, 1)"),
        (b'{"pixels": "zero"}', {"Content-Type": "application/json"}, 422, "rectangular"),
        (b'{"images": {"pixels": []}}', {"Content-Type": "application/json"}, 422, "list"),
        (b"hello", {"Content-Type": "text/plain"}, 415, "unsupported content type"),
        (b"hello", {"Content-Type": "multipart/form-data"}, 400, "multipart"),
        (b"--x--\r\n", {"Content-Type": "multipart/form-data; boundary=x"}, 422, "no image"),
    ],
)
def test_bad_bodies_are_json_errors(url, body, headers, status, words):
    got, kind, answer = _request(url + "/api/predict", body, headers)
    assert got == status and kind["content-type"] == "application/json" and words in json.loads(answer)["error"]


@pytest.mark.parametrize("value", [math.nan, math.inf, 1.5, -0.1])
def test_pixels_must_be_finite_and_in_range(url, loaded, value):
    _, ckpt = loaded
    pixels = np.zeros((ckpt.input_spec.height, ckpt.input_spec.width))
    pixels[3, 4] = value
    body = json.dumps({"pixels": pixels.tolist()}).encode()  # json writes NaN and Infinity as such
    status, _, answer = _request(url + "/api/predict", body, {"Content-Type": "application/json"})
    assert status == 422 and ("NaN" in json.loads(answer)["error"] or "outside" in json.loads(answer)["error"])


def test_wrong_methods_and_pages_are_json(url):
    for method in ("PUT", "DELETE", "PATCH", "GET"):
        status, headers, body = _request(url + "/api/predict", method=method)
        assert status == 405 and "not allowed" in json.loads(body)["error"] and "POST" in headers["allow"]
    status, headers, body = _request(url + "/api/predict", method="HEAD")
    assert status == 405 and headers["content-type"] == "application/json"
    status, headers, body = _request(url + "/nothing-here")
    assert status == 404 and json.loads(body)["error"] == "no such page: /nothing-here"
    assert _request(url + "/api/info", b"{}", {"Content-Type": "application/json"})[0] == 405
    for page in ("/", "/healthz"):  # a link checker's HEAD is answered as its GET, without the body
        status, _, body = _request(url + page, method="HEAD")
        assert status == 200 and body == b""


def test_lengths_from_the_headers(url):
    """Negative, non-numeric, missing and oversized Content-Length: answered from the head, in JSON."""
    head = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
    assert _status_and_json(_raw(url, (head + "Content-Length: -5\r\n\r\n").encode()))[0] == 400
    assert _status_and_json(_raw(url, (head + "Content-Length: abc\r\n\r\n").encode()))[0] == 400
    status, answer = _status_and_json(_raw(url, (head + "Connection: close\r\n\r\n").encode()))
    assert status == 411 and "Content-Length" in answer["error"]
    status, answer = _status_and_json(_raw(url, (head + "Content-Length: 10000000000\r\n\r\n").encode()))
    assert status == 413 and "upload over" in answer["error"]  # refused before any of the body was sent


def test_a_body_too_large_is_answered_413_to_a_client_still_sending_it(url, monkeypatch):
    """A refused body is read on and dropped before the 413: Python's urllib, writing all of it
    before it reads, got a connection reset instead; a client that waits for the answer before it
    sends (``Expect: 100-continue``, as curl's large uploads) is answered at once."""
    req = urllib.request.Request(url + "/api/predict", data=bytes(25 * 2**20), headers={"Content-Type": "image/png"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=60)
    assert refused.value.code == 413 and "upload over" in json.loads(refused.value.read())["error"]
    monkeypatch.setattr("idk.apps.serve_inputs.DRAIN_SECONDS", 30.0)  # a drain would wait for the body
    head = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nExpect: 100-continue\r\n"
    start = time.monotonic()
    status, _ = _status_and_json(_raw(url, (head + "Content-Length: 200000\r\n\r\n").encode(), wait=20))
    assert status == 413 and time.monotonic() - start < 15


def test_a_chunked_body_is_read_with_the_cap(url, mnist_test):
    image = _png(mnist_test.images[0, 0].numpy())
    head = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    chunked = f"{len(image):x}\r\n".encode() + image + b"\r\n0\r\n\r\n"
    raw = _raw(url, head.encode() + chunked)
    head_out, _, body = raw.partition(b"\r\n\r\n")
    assert head_out.startswith(b"HTTP/1.1 200")
    too_big = b"".join(f"{60_000:x}\r\n".encode() + bytes(60_000) + b"\r\n" for _ in range(2)) + b"0\r\n\r\n"
    assert _status_and_json(_raw(url, head.encode() + too_big))[0] == 413


def test_lying_and_unfinished_bodies_never_break_the_server(url):
    head = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
    # Content-Length larger than what is sent, connection kept open: 408 once the body timeout passes
    status, answer = _status_and_json(_raw(url, (head + "Content-Length: 5000\r\n\r\n").encode() + bytes(100)))
    assert status == 408 and "did not arrive" in answer["error"]
    # the body stops halfway and the client leaves: nothing to answer, nothing broken
    assert not _raw(
        url, (head + "Content-Length: 5000\r\n\r\n").encode() + bytes(100), close_after_send=True
    ).startswith(b"HTTP/1.1 5")
    # a shorter Content-Length than the body: the rest is read as the next request, which is
    # malformed: a JSON 400 and the connection closed (the parser stops at the bad bytes)
    raw = _raw(url, (head + "Content-Length: 3\r\n\r\n").encode() + b"abcdefgh\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400") and b"content-type: application/json" in raw.lower()
    assert b"connection: close" in raw.lower()
    assert json.loads(_request(url + "/healthz")[2])["status"] == "ok"


def test_an_oversized_head_is_refused_in_json(url):
    """Headers over MAX_HEADER_BYTES: a JSON 400, whether they arrive at once or in pieces."""
    from idk.apps.serve_http import MAX_HEADER_BYTES

    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * MAX_HEADER_BYTES + b"\r\n\r\n"
    status, answer = _status_and_json(_raw(url, head))
    assert status == 400 and "KiB" in answer["error"]
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:  # the same head, trickled
        for start in range(0, len(head), 4096):
            sock.sendall(head[start : start + 4096])
            time.sleep(0.02)
        status, answer = _status_and_json(sock.recv(65536))
    assert status == 400 and "KiB" in answer["error"]
    assert _request(url + "/healthz")[0] == 200  # the server goes on


def test_pipelined_requests_are_answered_and_their_heads_timed(url, mnist_test):
    """A body followed in the same packet by the start of the next head: both answered in order
    (the body's bytes do not count against the head's size); a pipelined head that trickles in
    after its predecessor's answer still gets the header deadline."""
    host, port = url.removeprefix("http://").split(":")
    image = _png(mnist_test.images[0, 0].numpy())
    padded = image + b"\0" * (40_000 - len(image))  # PNG readers ignore bytes after the image end
    first = f"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: {len(padded)}\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(first.encode() + padded + b"GET /healthz HTTP/1.1\r\nHo")
        time.sleep(0.2)
        sock.sendall(b"st: x\r\nConnection: close\r\n\r\n")
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    assert out.startswith(b"HTTP/1.1 200") and out.count(b"HTTP/1.1 200") == 2 and b'"status":"ok"' in out
    start = time.monotonic()
    trickle = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nX-A: "
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(trickle)
        out = b""
        try:
            while time.monotonic() - start < 6:
                sock.sendall(b"a")  # one byte every 0.3 s: never a whole head
                time.sleep(0.3)
                sock.setblocking(False)
                try:
                    if not (chunk := sock.recv(65536)):
                        break
                    out += chunk
                except BlockingIOError:
                    pass
                sock.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert out.startswith(b"HTTP/1.1 200") and b"408" in out and time.monotonic() - start < 5


def test_an_upgrade_with_a_body_is_refused_in_json(url, mnist_test):
    """``Upgrade: h2c`` (curl --http2) with a body: a JSON 400 saying so, not an answer to an empty body."""
    image = _png(mnist_test.images[0, 0].numpy())
    head = (
        "POST /api/predict HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        f"HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nContent-Type: image/png\r\nContent-Length: {len(image)}\r\n\r\n"
    )
    status, answer = _status_and_json(_raw(url, head.encode() + image))
    assert status == 400 and "Upgrade" in answer["error"]
    plain = _raw(url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", wait=2)
    assert plain.startswith(b"HTTP/1.1 200")  # without a body the request is answered as HTTP/1.1


def test_slow_heads_and_idle_connections_are_closed(url):
    start = time.monotonic()
    status, answer = _status_and_json(_raw(url, b"POST /api/predict HTTP/1.1\r\nHost: x\r\n"))
    assert status == 408 and "request head" in answer["error"]
    assert _raw(url, b"") == b"" and time.monotonic() - start < 4  # an idle connection: closed, silently


def test_idle_connections_do_not_stop_others(url, mnist_test):
    host, port = url.removeprefix("http://").split(":")
    idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(300)]
    try:
        start = time.monotonic()
        status, _, body = _request(
            url + "/api/predict", _png(mnist_test.images[0, 0].numpy()), {"Content-Type": "image/png"}
        )
        assert status == 200 and json.loads(body)["images"][0]["verdict"] and time.monotonic() - start < 5
    finally:
        for sock in idle:
            sock.close()


def test_too_many_images_in_one_request(url, mnist_test):
    image = _png(mnist_test.images[0, 0].numpy(), size=28)
    body, headers = _multipart([(f"{i}.png", image) for i in range(QUICK.limits.max_images + 1)])
    status, _, answer = _request(url + "/api/predict", body, headers)
    assert status == 413 and "at most" in json.loads(answer)["error"]


def test_a_request_larger_than_a_pass_is_answered_in_passes_with_the_same_networks(loaded, mnist_test, monkeypatch):
    model, ckpt = loaded
    service = serve.PredictionService(model, ckpt, samples=20, settings=serve.ServiceSettings(max_batch=2))
    passes: list[int] = []

    def counted(model, ckpt, sources, *args, **kwargs):
        passes.append(len(sources))
        return predict_images(model, ckpt, sources, *args, **kwargs)

    monkeypatch.setattr(serve_service, "predict_images", counted)
    sources = [(f"{i}.png", _png(mnist_test.images[i, 0].numpy())) for i in range(5)]
    got = service.answer(sources)
    assert passes == [2, 2, 1]
    want = predict_images(model, ckpt, sources, 20, with_samples=True, draws=service.draws)  # one pass
    assert [g.file for g in got] == [w.file for w in want]
    for g, w in zip(got, want, strict=True):
        assert g.verdict == w.verdict and g.probabilities["mean"] == pytest.approx(w.probabilities["mean"], abs=2e-4)


def test_a_queue_smaller_than_one_request_is_refused_at_start():
    with pytest.raises(IdkError, match="--max-queue 10: below the 64 images one request may send"):
        serve.ServiceSettings(max_queue=10)
    assert serve.ServiceSettings(max_queue=4, limits=Limits(max_images=4)).max_queue == 4


def test_an_image_slow_to_decode_holds_no_other_request(loaded, mnist_test, monkeypatch):
    """Large files are decoded beside the model's pass, not in its thread: a digit sent while another
    request's large file is still decoding (held here until the digit's answer came) is answered;
    small files are decoded in the pass."""
    model, ckpt = loaded
    service = serve.PredictionService(model, ckpt, samples=20, settings=replace(QUICK, window=0))
    decoding, release = threading.Event(), threading.Event()
    calls: list[str | None] = []  # the files decoded in the decoding threads

    def held(source, spec, name=None):
        calls.append(name)
        if name == "slow.png":
            decoding.set()
            assert release.wait(30)
        return prepared_or_error(source, spec, name)

    monkeypatch.setattr(serve_service, "prepared_or_error", held)
    server = BackgroundServer(serve.create_app(service)).start()
    image, large = _png(mnist_test.images[0, 0].numpy(), size=28), _png(mnist_test.images[0, 0].numpy(), size=300)
    assert serve_service._in_the_pass(image) and not serve_service._in_the_pass(large)
    gif = io.BytesIO()
    Image.new("L", (28, 28)).save(gif, format="GIF")  # its header's screen may be overreached: decoded apart
    assert len(gif.getvalue()) < serve_service.INLINE_BYTES and not serve_service._in_the_pass(gif.getvalue())
    slow: list[int] = []

    def ask_slow():
        slow.append(
            _request(server.url + "/api/predict", large, {"Content-Type": "image/png", "X-Filename": "slow.png"})[0]
        )

    asker = threading.Thread(target=ask_slow)
    try:
        asker.start()
        assert decoding.wait(30)
        status, _, answer = _request(server.url + "/api/predict", image, {"Content-Type": "image/png"})
        assert status == 200 and json.loads(answer)["images"][0]["verdict"] and not release.is_set()
        release.set()
        asker.join(30)
        assert slow == [200] and calls == ["slow.png"]  # the small file was decoded in the pass
    finally:
        release.set()
        server.stop()


def test_a_full_queue_answers_503_with_retry_after(loaded, mnist_test):
    model, ckpt = loaded
    settings = serve.ServiceSettings(window=0, max_queue=1, limits=Limits(max_images=1))
    service = serve.PredictionService(model, ckpt, samples=20, settings=settings)
    answer = service.answer

    def slow(sources):
        time.sleep(0.5)
        return answer(sources)

    service.batcher.answer = slow
    server = BackgroundServer(serve.create_app(service)).start()
    image = _png(mnist_test.images[0, 0].numpy())
    replies: list[tuple[int, dict]] = []

    def ask():
        status, headers, _ = _request(server.url + "/api/predict", image, {"Content-Type": "image/png"})
        replies.append((status, headers))

    try:
        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join()
    finally:
        server.stop()
    statuses = sorted(s for s, _ in replies)
    assert statuses[0] == 200 and statuses[-1] == 503 and set(statuses) == {200, 503}
    assert all(h["retry-after"] == "1" for s, h in replies if s == 503)


def _serve_process(model, *options: str) -> subprocess.Popen:
    """`idk serve --model MODEL OPTIONS` in a subprocess, its output read as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "idk", "serve", "--model", str(model), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_idk_serve_from_the_command_line(cnn_model):
    """`idk serve --port 0` prints its address and answers there; --help says there is no
    authentication; another address gets a warning; a missing model is one line."""
    proc = _serve_process(cnn_model, "--port", "0", "--threads", "1")
    try:
        line = proc.stdout.readline()
        assert "serving" in line and "http://127.0.0.1:" in line
        address = line.split("http://")[1].split("/")[0]
        status, _, body = _request(f"http://{address}/api/info")
        assert status == 200 and json.loads(body)["class"] == "BNNMixture"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    helped = subprocess.run(
        [sys.executable, "-m", "idk", "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert "no authentication" in " ".join(helped.stdout.split())
    missing = subprocess.run(
        [sys.executable, "-m", "idk", "serve", "--model", "no-such.pt"], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


def test_binding_beyond_this_machine_warns(cnn_model):
    proc = _serve_process(cnn_model, "--host", "0.0.0.0", "--port", "0")
    try:
        warning = proc.stderr.readline()  # a warning goes to stderr, the address to stdout
        assert warning.startswith("idk: warning:") and "no authentication" in warning
        assert proc.stdout.readline().startswith("idk: serving ")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_failing_pass_is_a_json_500_and_the_service_goes_on(loaded, mnist_test, capfd):
    """A bug in the model's pass: the request gets a JSON 500 naming the error type, the next one an
    answer; the error is logged once, with its traceback (not again as uvicorn's "Exception in ASGI
    application")."""
    model, ckpt = loaded
    service = serve.PredictionService(model, ckpt, samples=20)
    answer, calls = service.answer, []

    def fails_once(sources):
        calls.append(len(sources))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return answer(sources)

    service.batcher.answer = fails_once
    server = BackgroundServer(serve.create_app(service)).start()
    image = _png(mnist_test.images[0, 0].numpy())
    try:
        status, headers, body = _request(server.url + "/api/predict", image, {"Content-Type": "image/png"})
        assert status == 500 and headers["content-type"] == "application/json"
        assert json.loads(body)["error"] == "internal error: RuntimeError"
        status, _, body = _request(server.url + "/api/predict", image, {"Content-Type": "image/png"})
        assert status == 200 and json.loads(body)["images"][0]["verdict"]
    finally:
        server.stop()
    err = capfd.readouterr().err
    assert err.count("idk: error: internal error answering POST /api/predict") == 1 and "RuntimeError: boom" in err
    assert "Exception in ASGI application" not in err


def test_info_is_strict_json_when_the_model_description_holds_a_nan(loaded):
    """A diverged run's final loss is NaN: /api/info answers it as null, not a 500."""
    from dataclasses import replace

    model, ckpt = loaded
    service = serve.PredictionService(model, replace(ckpt, metrics={"final_loss": math.nan}), samples=5)
    text = json.dumps(service.info(), allow_nan=False)
    assert json.loads(text)["metrics"]["final_loss"] is None


def test_the_services_log_lines_are_in_idks_form_and_the_multipart_parser_is_quiet(capsys):
    """uvicorn's warnings read as idk's own ("idk: warning: ..."); the multipart parser's warning on a
    broken body (its client gets a 400 with the reason) left no stray line on stderr."""
    import logging
    import logging.config

    from idk.apps.serve_http import log_config, make_server

    assert make_server(None).config.log_config == log_config()  # the server's own
    names = ("uvicorn", "uvicorn.access", "idk.serve", "python_multipart")
    logging.config.dictConfig(log_config())
    try:
        logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
        logging.getLogger("python_multipart.multipart").warning("Expected boundary character 120, got 97 at index 4")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("idk.serve").exception("internal error answering %s %s", "POST", "/api/predict")
        err = capsys.readouterr().err
    finally:
        for name in names:
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate, logger.level = True, logging.NOTSET
    lines = err.splitlines()
    assert lines[0] == "idk: warning: Invalid HTTP request received."
    assert lines[1] == "idk: error: internal error answering POST /api/predict" and lines[-1] == "ValueError: boom"
    assert "boundary" not in err


def test_a_body_still_arriving_does_not_hold_the_stop(loaded, mnist_test):
    """Stopping (Ctrl-C, SIGTERM) while clients have sent part of their bodies: one that completes
    its body within BODY_GRACE (1 s) is answered as ever; one still stalled then is answered 503 and
    the server stops, not after the body's 30 s deadline."""
    model, ckpt = loaded
    server = BackgroundServer(serve.create_app(serve.PredictionService(model, ckpt, samples=4))).start()
    host, port = server.url.removeprefix("http://").split(":")
    image = _png(mnist_test.images[0, 0].numpy())
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n"
    stalled = socket.create_connection((host, int(port)), timeout=10)
    finishing = socket.create_connection((host, int(port)), timeout=10)
    try:
        stalled.sendall(head % 1000 + b"abc")
        finishing.sendall(head % len(image) + image[:10])
        time.sleep(0.3)  # the heads are read, the bodies awaited
        rest = threading.Timer(0.3, finishing.sendall, [image[10:]])  # 0.3 s into the stop
        rest.start()
        start = time.monotonic()
        server.stop()
        assert time.monotonic() - start < 5 and not server.thread.is_alive()
        answers = stalled.recv(4096), finishing.recv(65536)
    finally:
        stalled.close()
        finishing.close()
    assert (
        answers[0].startswith(b"HTTP/1.1 503 ")
        and b'"the service is stopping; send the request again later"' in answers[0]
    )
    assert answers[1].startswith(b"HTTP/1.1 200 ")


def test_stopping_waits_for_a_decode_under_way_without_holding_the_event_loop(loaded, monkeypatch):
    """A large file's decode takes seconds: stop() waits for it (its thread finishes) while the
    event loop goes on serving (here: a ticker keeps ticking)."""
    import asyncio

    model, ckpt = loaded
    service = serve.PredictionService(model, ckpt, samples=4)
    decoding, finished = threading.Event(), []

    def slow(name, data):
        decoding.set()
        time.sleep(0.6)
        finished.append(name)
        return name, prepared_or_error(data, ckpt.input_spec, name)

    monkeypatch.setattr(service, "_decode", slow)

    async def scenario() -> int:
        await service.start()
        big = _png(np.random.default_rng(0).random((28, 28)), size=300)  # over the size decoded in the pass
        request = asyncio.ensure_future(service.decoded([("big.png", big)]))
        await asyncio.to_thread(decoding.wait, 5)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        ticking = asyncio.ensure_future(ticker())
        await service.stop()
        ticking.cancel()
        await request
        return ticks

    ticks = asyncio.run(scenario())
    assert finished == ["big.png"]  # the decode under way was waited for
    assert ticks >= 5  # about 0.5 s of 20 ms ticks: the loop was not held
