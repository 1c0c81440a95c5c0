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
batched posterior pass (:mod:`idk.apps.serve_batching`). There is no authentication or TLS: the
default address, 127.0.0.1, serves this machine only.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import logging
import os
import resource
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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

from idk.apps.notices import warnings
from idk.apps.predict import FileResult, draw_networks, predict_images
from idk.apps.serve_batching import (
    DEFAULT_DECODE_THREADS,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_QUEUE,
    DEFAULT_WINDOW,
    MicroBatcher,
    Overloaded,
)
from idk.apps.serve_http import BackgroundServer, Timeouts, bind, make_server
from idk.apps.serve_inputs import Limits, RequestError, Source, read_sources
from idk.data.headers import declared_size
from idk.data.preparation import PreparedImage, prepare
from idk.decision.memory import check_samples
from idk.decision.rules import describe_rule
from idk.errors import IdkError, ImageError
from idk.evaluation.report import json_safe
from idk.nn.bnn import Model
from idk.nn.numerics import set_flush_denormals
from idk.training import checkpoint
from idk.training.checkpoint import Checkpoint

WEB = Path(__file__).parent / "web"
ASSETS = {"style.css": "text/css", "app.js": "text/javascript"}  # served under /static/
log = logging.getLogger("idk.serve")
OPEN_FILES = 65536  # the soft limit on open files asked for where the hard one is unlimited

Decoded = tuple[str, bytes | PreparedImage | ImageError]  # an image as the model's pass takes it
# image files decoded in the model's pass: of at most INLINE_BYTES declaring at most INLINE_PIXELS
# (a 28×28 PNG takes 0.1 ms; what else 2 KiB can hold inflates to some 2 MB at most)
INLINE_PIXELS = 2**16
INLINE_BYTES = 2**11

__all__ = ["BackgroundServer", "PredictionService", "ServiceSettings", "create_app", "serve"]


@dataclass(frozen=True)
class ServiceSettings:
    """Batching, limits and timeouts: each setting's one home and default."""

    window: float = DEFAULT_WINDOW  # seconds a lone request waits for others to share its pass
    max_batch: int = DEFAULT_MAX_BATCH  # images per posterior pass (a larger request takes several)
    max_queue: int = DEFAULT_MAX_QUEUE  # images waiting before requests get 503
    limits: Limits = field(default_factory=Limits)
    timeouts: Timeouts = field(default_factory=Timeouts)
    threads: int | None = None  # the model's torch threads (None: one core fewer than the machine's, at least 1)
    decode_threads: int = DEFAULT_DECODE_THREADS  # beside the model's pass, never in its thread

    def __post_init__(self) -> None:
        if self.max_queue < self.limits.max_images:
            raise IdkError(
                f"--max-queue {self.max_queue}: below the {self.limits.max_images} images one request may send "
                "(such a request could never be queued)"
            )

    def torch_threads(self) -> int:
        """Threads for the model's pass: by default one core is left to the event loop, which reads
        and answers the connections while a pass runs (on 2 cores, 2 torch threads beside a busy
        event loop were measured several times slower than 1)."""
        return self.threads or max(1, (os.cpu_count() or 1) - 1)

    @classmethod
    def given(cls, **options: Any) -> ServiceSettings:
        """The defaults, with the options that are not None."""
        return cls(**{k: v for k, v in options.items() if v is not None})


def _in_the_pass(data: bytes) -> bool:
    """Whether an image file is decoded in the model's pass: one of at most :data:`INLINE_BYTES`
    whose header (read from its bytes: :func:`~idk.data.headers.declared_size`) declares at most
    :data:`INLINE_PIXELS`; any other, or one whose size cannot be told so, in the decoding threads."""
    declared = declared_size(data) if len(data) <= INLINE_BYTES else None
    return declared is not None and declared[1] * declared[2] <= INLINE_PIXELS


def _flush_denormals() -> None:
    """Subnormal floats flushed to zero in the model's thread: a per-thread flag (idk.nn.numerics)."""
    set_flush_denormals(True)


class PredictionService:
    """The model behind the app: batches of named images → :class:`FileResult` (one pass at a time)."""

    def __init__(
        self,
        model: Model,
        ckpt: Checkpoint,
        samples: int | None = None,
        settings: ServiceSettings = ServiceSettings(),
    ) -> None:
        self.model, self.ckpt, self.settings = model, ckpt, settings
        # before the networks are drawn (and the port taken)
        self.samples = check_samples(model, ckpt.rule_config.samples if samples is None else samples)
        self.asked_samples = samples  # None: the model's own
        self.rule = ckpt.decision_rule()
        # the S networks, drawn once: the ones predict_images draws for seed 0 on every call
        self.draws = draw_networks(model, self.samples)
        self.batcher: MicroBatcher[Decoded, FileResult] = MicroBatcher(
            self.answer, settings.window, settings.max_batch, settings.max_queue, _flush_denormals
        )
        self._decoder: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        """Start the decoding threads and the batcher (on the loop that will serve)."""
        self._decoder = ThreadPoolExecutor(self.settings.decode_threads, "idk-decode")
        await self.batcher.start()

    async def stop(self) -> None:
        if self._decoder is not None:  # first: no decoded request then waits on a stopped batcher
            self._decoder.shutdown(wait=True, cancel_futures=True)
        await self.batcher.stop()

    async def decoded(self, sources: list[Source]) -> list[Decoded]:
        """Image files decoded and prepared in the decoding threads, an unreadable one as its
        :class:`ImageError`, but for small ones (:func:`_in_the_pass`), left to the model's pass:
        in its thread a 16-megapixel PNG (about 0.4 s) held every other request, and sending each
        28×28 PNG to a thread and back cost the service about a fifth of its answers a second.
        JSON pixels come prepared."""
        if self._decoder is None:
            raise RuntimeError("the service has not been started")
        apart = [i for i, (_, raw) in enumerate(sources) if isinstance(raw, bytes) and not _in_the_pass(raw)]
        if not apart:
            return list(sources)
        loop = asyncio.get_running_loop()
        done = await asyncio.gather(*(loop.run_in_executor(self._decoder, self._decode, *sources[i]) for i in apart))
        out: list[Decoded] = list(sources)
        for i, image in zip(apart, done, strict=True):
            out[i] = image
        return out

    def _decode(self, name: str, data: bytes) -> Decoded:
        try:
            return name, prepare(data, self.ckpt.input_spec, name)
        except ImageError as err:
            return name, err

    def answer(self, sources: list[Source] | list[Decoded]) -> list[FileResult]:
        """Batched passes over ``sources``, ``max_batch`` images each (one request may hold more),
        all with the same S networks; runs in the batcher's worker thread."""
        step = self.settings.max_batch
        return [
            result
            for start in range(0, len(sources), step)
            for result in predict_images(
                self.model,
                self.ckpt,
                list(sources[start : start + step]),
                self.samples,
                with_samples=True,
                draws=self.draws,
                decode_threads=1,  # the pass's files are small ones (decoded): others came decoded
            )
        ]

    def info(self) -> dict[str, Any]:
        """The model and the service in one JSON-safe dict (a NaN, e.g. a diverged final loss, is null)."""
        return json_safe(
            {
                "rule_text": describe_rule(self.ckpt.rule),
                "rule_summary": self.ckpt.rule_summary(),
                **self.ckpt.describe(),
                "warnings": warnings(self.ckpt, self.asked_samples),
                "service": {
                    "samples": self.samples,
                    "window_ms": 1000 * self.settings.window,
                    "max_batch": self.settings.max_batch,
                    "max_queue": self.settings.max_queue,
                    "threads": torch.get_num_threads(),
                    "decode_threads": self.settings.decode_threads,
                },
            }
        )

    def answer_json(self, result: FileResult) -> dict[str, Any]:
        return {**vars(result), "threshold": self.rule.threshold}  # shallow: asdict's deep copy costs ms


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
