"""What ``POST /api/predict`` accepts, read within limits: the images of one request.

* ``multipart/form-data``: one or more files (any field names; each file's name is its own, RFC 6266's
  ``filename*`` too), and parts without a file name whose type is ``image/*`` or
  ``application/octet-stream``; text fields are passed over;
* ``image/*`` or ``application/octet-stream``: the body is one image file, named by ``X-Filename``;
* ``application/json``: ``{"pixels": P, "name": "..."}`` or ``{"images": [{"pixels": P, "name": ...}, ...]}``
  with P in the model's input form, values in [0, 1]: (C, H, W), (H, W, C) when that is
  unambiguous, or (H, W) for one-channel models. Such pixels are taken as they are (no preparation).

Errors are :class:`RequestError` with the HTTP status to answer (400, 408, 411, 413, 415, 422).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any, TypeVar

import numpy as np
from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from idk.data.images import InputSpec
from idk.data.preparation import PreparedImage, blank_in_input_form

MAX_UPLOAD = 20 * 2**20  # bytes in one request body; a larger one is refused (413), from its header where it can be
MAX_IMAGES = 64  # images in one request
BODY_TIMEOUT = 30.0  # seconds to receive a whole request body
DRAIN_BYTES = 64 * 2**20  # of a body refused as too large, read and dropped before the 413 is sent
DRAIN_SECONDS = 2.0  # ... within this time
ON_LOOP = 2**18  # bytes of JSON or multipart parsed on the event loop itself; larger bodies in a thread
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="idk-parse")
FILENAME_CHARSETS = ("utf-8", "iso-8859-1")  # a multipart filename*'s (RFC 8187); others are not decoded

Source = tuple[str, bytes | PreparedImage]
T = TypeVar("T")


class RequestError(Exception):
    """A request the service cannot answer: ``status`` and a one-line message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Limits:
    """How much one request may send, and how slowly."""

    max_upload: int = MAX_UPLOAD
    max_images: int = MAX_IMAGES
    body_timeout: float = BODY_TIMEOUT


def declared_length(request: Request, limits: Limits) -> int | None:
    """The body's length from the headers (None: chunked), checked before any of it is read."""
    chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
    raw = request.headers.get("content-length")
    if raw is None:
        if not chunked:
            raise RequestError(411, "send the images as the body, with a Content-Length (or chunked)")
        return None
    if not raw.isdigit():  # the HTTP layer refuses these first; kept for other servers
        raise RequestError(400, f"Content-Length {raw!r} is not a whole number of bytes")
    if int(raw) > limits.max_upload:
        raise RequestError(413, f"upload over {limits.max_upload / 2**20:g} MiB", {"Connection": "close"})
    return int(raw)


async def read_body(request: Request, limits: Limits) -> bytes:
    """The whole body, refused at ``max_upload`` bytes (413) or after ``body_timeout`` s (408). A
    body refused as too large is read on and dropped (:func:`_drain`) before the 413 is sent."""
    too_large = RequestError(413, f"upload over {limits.max_upload / 2**20:g} MiB", {"Connection": "close"})
    try:
        declared_length(request, limits)
    except RequestError as err:
        if err.status == 413:
            await _drain(request, continued=False)
        raise
    chunks, size, more = [], 0, True
    try:
        async with asyncio.timeout(limits.body_timeout):  # one deadline for the whole body, no task per chunk
            while more and size <= limits.max_upload:
                message = await request.receive()  # the ASGI messages: whether more follows is known
                if message["type"] == "http.disconnect":
                    raise ClientDisconnect()
                chunk, more = message.get("body", b""), message.get("more_body", False)
                size += len(chunk)
                chunks.append(chunk)
    except TimeoutError:
        raise RequestError(
            408, f"the body did not arrive within {limits.body_timeout:g} s", {"Connection": "close"}
        ) from None
    if size > limits.max_upload:
        if more:
            await _drain(request, continued=True)  # reading the body sent any "100 Continue"
        raise too_large
    return b"".join(chunks)


async def _drain(request: Request, continued: bool) -> None:
    """Read and drop what the client still sends of a refused body, up to :data:`DRAIN_BYTES`
    within :data:`DRAIN_SECONDS`: a connection closed with its upload unread is reset, and a client
    still writing (Python's urllib, requests) then reads the reset, not the 413. Not for a client
    that waits for the answer before it sends (``Expect: 100-continue``, as curl's large uploads)
    and was not yet told to go on (``continued``), nor for a body declared larger than what would
    be drained (it is reset anyway)."""
    declared = request.headers.get("content-length", "")
    if (not continued and request.headers.get("expect", "").lower() == "100-continue") or (
        declared.isdigit() and int(declared) > DRAIN_BYTES
    ):
        return
    drained, more = 0, True
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while more and drained <= DRAIN_BYTES:
                message = await request.receive()
                drained += len(message.get("body", b""))
                more = message["type"] == "http.request" and message.get("more_body", False)
    except TimeoutError:
        return


async def read_sources(request: Request, spec: InputSpec, limits: Limits) -> list[Source]:
    """The request's images, named; raises :class:`RequestError` or :class:`ClientDisconnect`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (
        kind.startswith("image/") or kind in ("application/octet-stream", "application/json", "multipart/form-data")
    ):
        raise RequestError(
            415,
            f"unsupported content type {kind or '(none)'!r}: send multipart/form-data, one file as image/* or "
            "application/octet-stream, or JSON pixels",
        )
    body = await read_body(request, limits)
    # a large body is parsed off the event loop (19 MiB of JSON took it 0.7 s from every other request,
    # 20 MiB of multipart boundaries 2.4 s), one at a time (as on the loop: JSON holds some 4 bytes of
    # Python objects a byte)
    parse = _off_the_loop if len(body) > ON_LOOP else _on_the_loop
    if kind == "multipart/form-data":
        sources = await parse(multipart_images, body, request.headers.get("content-type", ""), limits)
    elif kind == "application/json":
        sources = await parse(_json_pixels, body, spec)
    else:
        sources = [(_header_text(request.headers.get("x-filename")) or "upload", body)]
    if not sources:
        raise RequestError(422, "the request holds no image")
    if len(sources) > limits.max_images:
        raise RequestError(413, f"{len(sources)} images in one request: at most {limits.max_images}")
    return sources


async def _on_the_loop(work: Callable[..., T], *args: Any) -> T:
    return work(*args)


async def _off_the_loop(work: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_PARSER, work, *args)


def part_image_name(headers: dict[str, str]) -> str | None:
    """A multipart part's name as an image, from its headers (lower-case names); None for a text
    field. Its file name (``filename``, or RFC 6266's ``filename*=UTF-8''...``, preferred where both
    are given; "upload" when empty), else "upload" where its type says an image or raw bytes."""
    disposition = Message()
    disposition["content-disposition"] = headers.get("content-disposition", "")
    names = [v for k, v in disposition.get_params([], "content-disposition") if k == "filename"]
    encoded = [v for v in names if isinstance(v, tuple)]  # filename*=: (charset, language, text)
    readable = [v for v in encoded if str(v[0]).lower().replace("_", "-") in FILENAME_CHARSETS]
    plain = [v for v in names if not isinstance(v, tuple)]
    if names:  # a filename* in another charset (RFC 8187 allows these two): the plain name, or none
        return collapse_rfc2231_value((readable or plain or ["upload"])[0]) or "upload"
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return "upload" if kind.startswith("image/") or kind == "application/octet-stream" else None


def multipart_images(body: bytes, content_type: str, limits: Limits) -> list[Source]:
    """A ``multipart/form-data`` body's images in order (:func:`part_image_name`); text fields are
    passed over (up to ``limits.max_images`` of them). :class:`RequestError` 400 when the body
    cannot be read, 413 past the limits."""
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    if not boundary:
        raise RequestError(400, "multipart body not understood: the content type names no boundary")
    sources: list[tuple[str, bytearray]] = []
    headers: dict[str, str] = {}
    field, value, fields, ended = bytearray(), bytearray(), 0, False
    data: bytearray | None = None  # the bytes of the image being read; None in a text field

    def header_end() -> None:
        headers[field.decode("latin-1").lower()] = value.decode("utf-8", "replace")
        field.clear()
        value.clear()

    def headers_finished() -> None:
        nonlocal data, fields
        name = part_image_name(headers)
        headers.clear()
        if name is None:
            data, fields = None, fields + 1
            if fields > limits.max_images:
                raise RequestError(413, f"too many text fields in one request: at most {limits.max_images}")
            return
        if len(sources) == limits.max_images:
            raise RequestError(413, f"too many images in one request: at most {limits.max_images}")
        data = bytearray()
        sources.append((name, data))

    def part_data(chunk: bytes, start: int, end: int) -> None:
        if data is not None:
            data.extend(chunk[start:end])

    def end() -> None:
        nonlocal ended
        ended = True

    callbacks = {
        "on_header_field": lambda chunk, start, end: field.extend(chunk[start:end]),
        "on_header_value": lambda chunk, start, end: value.extend(chunk[start:end]),
        "on_header_end": header_end,
        "on_headers_finished": headers_finished,
        "on_part_data": part_data,
        "on_end": end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except (MultipartParseError, FormParserError) as err:
        raise RequestError(400, f"multipart body not understood: {err}") from None
    if not ended:  # the whole body was read: a part was cut short
        raise RequestError(400, "multipart body not understood: it ends before its closing boundary")
    return [(name, bytes(image)) for name, image in sources]


def _json_pixels(body: bytes, spec: InputSpec) -> list[Source]:
    try:
        data = json.loads(body)  # NaN and Infinity parse; they are refused below
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RequestError(400, f"the body is not JSON: {err}") from None
    except RecursionError:
        raise RequestError(400, "the body's JSON is nested too deeply") from None
    except ValueError:  # valid JSON Python will not read: an integer of over 4,300 digits
        raise RequestError(
            422, "the body's JSON holds a number too long to read; pixels are numbers in [0, 1]"
        ) from None
    if not isinstance(data, dict) or ("pixels" in data) == ("images" in data):
        raise RequestError(422, 'send {"pixels": [...]} or {"images": [{"pixels": [...]}, ...]}')
    entries = [data] if "pixels" in data else data["images"]
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "pixels" in e for e in entries):
        raise RequestError(422, '"images" must be a list of {"pixels": [...], "name": "..."} objects')
    sources: list[Source] = []
    for i, entry in enumerate(entries):
        name = entry.get("name")  # null or absent: named by its place
        if name is not None and not isinstance(name, str):
            raise RequestError(422, f'image {i}: "name" must be text, got {type(name).__name__}')
        name = name if name is not None else f"pixels-{i}"
        pixels = pixels_in_input_form(entry["pixels"], spec, name)
        sources.append((name, PreparedImage(pixels, False, blank_in_input_form(pixels, spec))))
    return sources


def _header_text(value: str | None) -> str | None:
    """A header's text as its sender wrote it: HTTP hands over bytes read as Latin-1, and a name
    sent as UTF-8 (größe.png) is read back as such; other bytes are kept as they came."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _not_a_number(value: Any) -> str | None:
    """What nested lists hold that is no JSON number, which numpy would take as one anyway: true or
    false (as 1 and 0), text ("0.5" as 0.5), null (as NaN); None when every value is a number."""
    if isinstance(value, list):
        return next((found for v in value if (found := _not_a_number(v))), None)
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "text"
    return "null" if value is None else None


def pixels_in_input_form(value: Any, spec: InputSpec, name: str = "pixels") -> np.ndarray:
    """Nested lists of numbers → float32 (C, H, W) in [0, 1]; :class:`RequestError` 422 otherwise."""
    c, h, w = spec.channels, spec.height, spec.width
    want = f"(C, H, W) = ({c}, {h}, {w})" + (f" or (H, W, C) = ({h}, {w}, {c})" if c > 1 else f" or ({h}, {w})")
    try:
        array = np.asarray(value, dtype=np.float64)
    except OverflowError:  # an integer past float64's range
        raise RequestError(422, f"{name}: holds a number too large; pixels are numbers in [0, 1]") from None
    except (TypeError, ValueError, RecursionError):
        raise RequestError(422, f"{name}: not a rectangular array of numbers; expected {want}") from None
    if array.shape == (c, h, w):
        pixels = array
    elif c == 1 and array.shape == (h, w):
        pixels = array[None]
    elif array.shape == (h, w, c) and (h, w, c) != (c, h, w):
        pixels = array.transpose(2, 0, 1)
    else:
        one = {(c, h, w), (h, w, c)} | ({(h, w)} if c == 1 else set())  # the forms of one image
        several = array.ndim > 2 and array.shape[1:] in one
        batch = ' (several images: {"images": [{"pixels": ...}, ...]})' if several else ""
        raise RequestError(422, f"{name}: shape {tuple(array.shape)} is not the model's input form {want}{batch}")
    if odd := _not_a_number(value):  # walked once the shape is known: at most C·H·W values
        raise RequestError(422, f"{name}: holds {odd}; pixels are numbers in [0, 1], expected {want}")
    if not np.isfinite(pixels).all():
        raise RequestError(422, f"{name}: holds NaN or infinite values; pixels must lie in [0, 1]")
    if pixels.min(initial=0.0) < 0 or pixels.max(initial=0.0) > 1:
        raise RequestError(422, f"{name}: values outside [0, 1]")
    return np.ascontiguousarray(pixels, dtype=np.float32)
