"""The web service: the page, the JSON API, and the same answers as ``idk predict``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from idk.apps import serve
from idk.apps.predict import predict_images
from idk.training import checkpoint


@pytest.fixture(scope="module")
def loaded(cnn_model):
    return checkpoint.load(cnn_model)


@pytest.fixture(scope="module")
def url(loaded):
    model, ckpt = loaded
    server = serve.make_server(serve.PredictionService(model, ckpt, samples=20), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _request(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((pixels * 255).astype(np.uint8)).resize((140, 140)).save(buf, format="PNG")
    return buf.getvalue()


def test_the_page_and_the_model_description(url):
    status, kind, body = _request(url + "/")
    assert status == 200 and kind.startswith("text/html") and b"Ask idk" in body and b"api/predict" in body
    status, kind, body = _request(url + "/api/info")
    info = json.loads(body)
    assert status == 200 and kind == "application/json"
    assert info["class"] == "BNN" and "refuse" in info["rule_text"] and info["classes"] == list("0123456789")


def test_an_uploaded_digit_gets_the_same_answer_as_predict(url, loaded, mnist_test):
    model, ckpt = loaded
    data = _png(mnist_test.images[0, 0].numpy())
    status, kind, body = _request(url + "/api/predict", data, {"X-Filename": "seven.png"})
    answer = json.loads(body)
    assert status == 200 and kind == "application/json" and answer["error"] is None
    assert answer["file"] == "seven.png" and sum(answer["probabilities"]["mean"]) == pytest.approx(1, abs=1e-3)
    assert answer == predict_images(model, ckpt, [("seven.png", data)], samples=20, with_samples=True)[0].as_dict()
    assert len(answer["samples"]) == 10 and all(len(s) == 20 for s in answer["samples"])  # per class, S draws


def test_unreadable_and_oversized_uploads_are_clear_errors(url, monkeypatch):
    status, _, body = _request(url + "/api/predict", b"this is not a picture", {"X-Filename": "notes.txt"})
    assert status == 400 and "not an image" in json.loads(body)["error"]
    monkeypatch.setattr(serve, "MAX_UPLOAD", 1000)
    status, _, body = _request(url + "/api/predict", bytes(5000))
    assert status == 413 and "upload over" in json.loads(body)["error"]
    status, _, body = _request(url + "/api/nothing-here")
    assert status == 404 and "no such page" in json.loads(body)["error"]


def test_idk_serve_from_the_command_line(cnn_model):
    """`idk serve --port 0` prints its address and answers there; a missing model is one line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "idk", "serve", "--model", str(cnn_model), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "serving" in line and "http://127.0.0.1:" in line
        address = line.split("http://")[1].split("/")[0]
        status, _, body = _request(f"http://{address}/api/info")
        assert status == 200 and json.loads(body)["class"] == "BNN"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    missing = subprocess.run(
        [sys.executable, "-m", "idk", "serve", "--model", "no-such.pt"], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
