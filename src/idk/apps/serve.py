"""``idk serve``: a web page and a JSON API over the library call ``idk predict`` makes.

Routes (an ASGI app: FastAPI on uvicorn):

* ``GET /``: the page: draw a symbol (for models of drawn symbols) or drop image files; each
  answer in the model's class names with one histogram of the S sampled probabilities per class.
* ``POST /api/predict``: one or more images (:mod:`idk.apps.serve_inputs`) → per image its verdict,
  accepted classes, label, per-class summaries and sampled probabilities, score and threshold.
* ``GET /api/info``: what ``idk info`` shows, the rule in words and the service's settings.
* ``GET /healthz``; ``GET /openapi.json`` and ``/docs``: the schema and the framework's docs page.

Every error is JSON ``{"error": "..."}`` with its status (400, 404, 405, 408, 411, 413, 415, 422,
503 with ``Retry-After`` when the queue is full). Concurrent requests are answered together by one
batched posterior pass (:mod:`idk.apps.serve_batching`), their image files decoded beside it
(:mod:`idk.apps.serve_service`). There is no authentication or TLS: the default address,
127.0.0.1, serves this machine only.
"""

from __future__ import annotations

import contextlib
import inspect
import ipaddress
import logging
import resource
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import torch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from idk.apps.serve_batching import (
    Overloaded,
)
from idk.apps.serve_http import BackgroundServer, bind, make_server
from idk.apps.serve_inputs import RequestError, read_sources
from idk.apps.serve_service import PredictionService, ServiceSettings
from idk.nn.bnn import Model
from idk.training import checkpoint
from idk.training.checkpoint import Checkpoint
from idk.training.notices import warnings

WEB = Path(__file__).parent / "web"
ASSETS = {"style.css": "text/css", "app.js": "text/javascript"}  # served under /static/
log = logging.getLogger("idk.serve")
OPEN_FILES = 65536  # the soft limit on open files asked for where the hard one is unlimited

__all__ = ["BackgroundServer", "PredictionService", "ServiceSettings", "create_app", "serve"]


class ImageAnswer(BaseModel):
    """One image's answer; ``samples``: (C, S) sampled probabilities; ``score`` against ``threshold``
    (percentile rule: max_c Q_q, accept classes above t; score rule: u, refuse above τ);
    ``most_probable``: argmax_c p̄_c over the S networks, given when refused too."""

    file: str
    verdict: str | None
    label: int | None
    label_name: str | None
    most_probable: int | None
    most_probable_name: str | None
    accepted: list[int]
    probabilities: dict[str, list[float]] | None
    samples: list[list[float]] | None
    score: float | None
    score_name: str | None
    threshold: float
    error: str | None
    blank: bool


class PredictAnswer(BaseModel):
    images: list[ImageAnswer]
    rule: str
    error: str | None = None  # set (with status 400) when none of the images could be read


class ErrorAnswer(BaseModel):
    error: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorAnswer} for code in (400, 408, 411, 413, 415, 422, 503)
}
_UPLOADS = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                }
            },
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"pixels": {"type": "array", "items": {}}, "name": {"type": "string"}},
                    "description": 'pixels (C, H, W), (H, W, C) or (H, W) in [0, 1]; or {"images": [{"pixels": ...}]}',
                }
            },
        },
    }
}


class FastJSONResponse(JSONResponse):
    """JSON written by orjson: an answer holds C × S sampled probabilities per image, which the
    standard library's encoder writes several times slower (the event loop's largest cost)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers=headers)


async def answer_request(service: PredictionService, request: Request) -> Response:
    """``POST /api/predict``: the request's images answered in the service's next batched pass."""
    try:
        sources = await read_sources(request, service.ckpt.input_spec, service.settings.limits)
        results = await service.batcher.submit(sources, service.decoded)  # room held while they decode
    except RequestError as err:
        return _error(err.status, err.message, err.headers)
    except Overloaded as err:
        return _error(503, str(err), {"Retry-After": str(err.retry_after)})
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is listening
    answer: dict[str, Any] = {"images": [service.answer_json(r) for r in results], "rule": service.ckpt.rule_summary()}
    if all(r.error for r in results):  # nothing could be read: the request failed as a whole
        answer["error"] = results[0].error if len(results) == 1 else "none of the images could be read"
        return FastJSONResponse(answer, 400)
    return FastJSONResponse(answer)


class PredictFastPath:
    """ASGI middleware: ``POST /api/predict`` answered by :func:`answer_request` directly, without
    the router's layers (routing, dependency solving, exception and exit-stack middleware): on a
    small machine the event loop's time per request bounds the service's throughput. The route
    FastAPI documents calls the same function; errors no handler catches reach
    :class:`InternalErrors`, which wraps it."""

    def __init__(self, app: Any, service: PredictionService) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/api/predict":
            response = await answer_request(self.service, Request(scope, receive, send))
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class InternalErrors:
    """ASGI middleware: an error no handler caught is answered as a JSON 500 naming its type and
    logged once, with its traceback (Starlette's handler for ``Exception`` answers and then raises
    the error again, which uvicorn logged a second time). One raised after the answer began is left
    to the server, as nothing can be answered then."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def sending(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:
                raise
            log.exception("internal error answering %s %s", scope["method"], scope["path"])
            await _error(500, f"internal error: {type(exc).__name__}")(scope, receive, send)


def create_app(service: PredictionService) -> FastAPI:
    """The ASGI app serving ``service`` (its batcher runs while the app does)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        yield
        await service.stop()

    # FastAPIOffline: the framework's /docs and /redoc pages, their scripts served from the package
    app = FastAPIOffline(title="idk", summary='A Bayesian classifier that says "I don\'t know"', lifespan=lifespan)
    page = (WEB / "index.html").read_text(encoding="utf-8")
    assets = {name: (WEB / name).read_bytes() for name in ASSETS}

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = {
            404: f"no such page: {request.url.path}",
            405: f"{request.method} is not allowed on {request.url.path}",
        }.get(exc.status_code, str(exc.detail))
        return _error(exc.status_code, message, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "; ".join(str(e.get("msg", e)) for e in exc.errors()) or "invalid request")

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:  # HEAD too: a link checker's or `curl -I`'s question
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in assets:
            raise HTTPException(404)
        return Response(assets[name], media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})

    @app.get("/api/info", summary="The model: idk info's fields, its rule in words, the service's settings")
    async def info() -> dict[str, Any]:
        return service.info()

    @app.get("/healthz", summary="Liveness, and how many images wait")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "queued": service.batcher.queued, "passes": service.batcher.passes}

    app.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)  # one operation in the schema

    @app.post(
        "/api/predict",
        summary="Answer one or more images",
        response_model=PredictAnswer,
        responses=_ERRORS,
        openapi_extra=_UPLOADS,
    )
    async def predict(request: Request) -> Response:
        return await answer_request(service, request)

    app.add_middleware(PredictFastPath, service=service)
    app.add_middleware(InternalErrors)  # added last: it wraps the fast path too
    return app


def _load(model_path: str, device: Any = None) -> tuple[Model, Checkpoint]:
    if device is not None and "device" in inspect.signature(checkpoint.load).parameters:
        return checkpoint.load(model_path, device=device)  # type: ignore[call-arg]
    return checkpoint.load(model_path)


def _raise_open_files_limit() -> None:
    """Let the server hold many idle connections (the soft limit up to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else OPEN_FILES  # (macOS refuses an unlimited soft limit)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # a system that caps it lower: keep what it gave
            pass


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    model_path: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    samples: int | None = None,
    verbose: bool = False,
    device: Any = None,
    settings: ServiceSettings = ServiceSettings(),
) -> None:
    """Load a checkpoint and serve it until interrupted (Ctrl-C)."""
    torch.set_num_threads(settings.torch_threads())
    model, ckpt = _load(model_path, device)
    service = PredictionService(model, ckpt, samples, settings)
    app = create_app(service)
    sock = bind(host, port)
    _raise_open_files_limit()
    for warning in warnings(ckpt, samples):  # as the page shows them
        print(f"idk: warning: {model_path}: {warning}", file=sys.stderr)
    if not _loopback(host):
        print(
            f"idk: warning: listening on {host}: anyone who can reach it can use the service (no authentication)",
            file=sys.stderr,
        )
    everywhere = host in ("", "0.0.0.0", "::")  # every address of this machine: shown by the local one
    shown = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
    also = " and every other address of this machine" if everywhere else ""
    print(f"idk: serving {model_path} on http://{shown}:{sock.getsockname()[1]}/{also}  (Ctrl-C stops)", flush=True)
    try:
        make_server(app, settings.timeouts, verbose).run(sockets=[sock])
    finally:
        sock.close()
