"""``idk serve``: a web page and a small JSON API over the library calls ``idk predict`` makes.

Routes:

* ``GET /``: a page to drop image files (and, for models of drawn symbols, to draw one), showing
  each answer in the model's class names ("7", "either Shirt or Coat", "I don't know") with its
  probabilities.
* ``POST /api/predict``: the request body is one image file (PNG, JPEG, ...); the optional
  ``X-Filename`` header names it. Answers ``200`` with :class:`idk.apps.predict.FileResult`'s JSON, or
  ``400``/``413`` with ``{"error": "..."}`` for an unreadable or oversized upload.
* ``GET /api/info``: what the model is (``idk info``'s JSON) and its decision rule in words.

The standard library's threaded HTTP server is used: fine on a trusted network or behind a
reverse proxy; it has no authentication or TLS of its own.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from idk.apps.predict import FileResult, predict_images
from idk.decision.rules import describe_rule
from idk.nn.bnn import BNN, DeterministicNet
from idk.training import checkpoint
from idk.training.checkpoint import Checkpoint

MAX_UPLOAD = 20 * 2**20  # bytes; larger bodies are refused before they are read
PAGE = (Path(__file__).parent / "web" / "index.html").read_text(encoding="utf-8")


class PredictionService:
    """The model behind the server: one prediction at a time (the model reuses its buffers)."""

    def __init__(self, model: BNN | DeterministicNet, ckpt: Checkpoint, samples: int | None = None) -> None:
        self.model, self.ckpt, self.samples = model, ckpt, samples
        self._lock = threading.Lock()

    def predict(self, name: str, data: bytes) -> FileResult:
        with self._lock:
            return predict_images(self.model, self.ckpt, [(name, data)], self.samples, with_samples=True)[0]

    def info(self) -> dict[str, Any]:
        return {"rule_text": describe_rule(self.ckpt.rule), **self.ckpt.describe()}


def make_server(service: PredictionService, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """An HTTP server for ``service`` (port 0: any free port; see ``server.server_address``)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "idk"

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
            elif self.path == "/api/info":
                self._json(HTTPStatus.OK, service.info())
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {self.path}"})

        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            if self.path != "/api/predict":
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {self.path}"})
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._json(HTTPStatus.LENGTH_REQUIRED, {"error": "send the image as the body, with a Content-Length"})
                return
            if length > MAX_UPLOAD:
                self.close_connection = True  # the body is not read
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"upload over {MAX_UPLOAD // 2**20} MiB"})
                return
            data = self.rfile.read(length)
            name = self.headers.get("X-Filename") or "upload"
            result = service.predict(name, data)
            self._json(HTTPStatus.BAD_REQUEST if result.error else HTTPStatus.OK, result.as_dict())

        def _json(self, status: HTTPStatus, payload: Any) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server API
            if getattr(self.server, "verbose", False):
                super().log_message(format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve(model_path: str, host: str = "127.0.0.1", port: int = 8000, samples: int | None = None, verbose=False):
    """Load a checkpoint and serve it until interrupted (Ctrl-C)."""
    model, ckpt = checkpoint.load(model_path)
    server = make_server(PredictionService(model, ckpt, samples), host, port)
    server.verbose = verbose
    shown_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    print(f"idk: serving {model_path} on http://{shown_host}:{server.server_address[1]}/  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
