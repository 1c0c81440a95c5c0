"""The HTTP layer of ``idk serve``: uvicorn's httptools protocol on uvloop, with JSON errors, a
header size cap and a header timeout.

uvicorn answers a malformed request (a negative or non-numeric ``Content-Length``, a broken
request line) with a plain-text 400, takes heads of any size up to the parser's own limit, and
times out only idle keep-alive connections. This protocol answers those with JSON, refuses heads
over ``MAX_HEADER_BYTES``, and closes a connection that has not sent a complete request head
within ``HEADER_TIMEOUT`` seconds of opening (or of starting one): silently when it sent nothing,
with a JSON 408 when it sent part of one (a pipelined head keeps its deadline while the answer
before it is written). A request with a body that asks to switch protocols (``Upgrade: h2c``, as
``curl --http2`` sends) gets a JSON 400: the parser stops at an upgrade and would drop the body.
Malformed bytes after a request in the same packet close the connection with a JSON 400 before
that request is answered (the parser reads the whole packet at once). httptools (llhttp, in C) and uvloop parse and move bytes
several times faster than the pure-Python h11 and asyncio loop, which on a small machine share
the cores with the model (benchmarks/serve_load.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0  # seconds for a connection to send a complete request head
BODY_GRACE = 1.0  # seconds a body still arriving when the service stops is given before a 503
IDLE_TIMEOUT = 5.0  # seconds a keep-alive connection may wait for its next request
MAX_HEADER_BYTES = 16 * 1024  # request line and headers
BACKLOG = 2048  # connections waiting to be accepted


@dataclass(frozen=True)
class Timeouts:
    header: float = HEADER_TIMEOUT
    idle: float = IDLE_TIMEOUT


def _raw_response(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


class _HeadTooLarge(Exception):
    """A request head over MAX_HEADER_BYTES."""


class _UpgradeWithBody(Exception):
    """A request with a body that asks to switch protocols (``Upgrade: h2c``)."""


class JsonHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with JSON for its own errors, a cap on the size of a request
    head and a deadline for it.

    A head is *open* from its first byte (``on_message_begin``) until ``on_headers_complete``;
    a connection waits for one from the moment it opens or its last response was sent."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_open = False  # part of a request head has arrived, not all of it
        self._head_bytes = 0  # bytes of the open head's request line and headers (parsed)
        self._received = 0  # bytes of later packets received while the head stayed open (an upper bound)
        self._upgrade_refused = False
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_expired)

    def _cancel_head_timer(self) -> None:
        if getattr(self, "_head_timer", None) is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open, self._head_bytes, self._received = True, 0, 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._cancel_head_timer()
        if self._head_too_large:  # raised through the parser: send_400_response
            raise _HeadTooLarge
        if self.parser.should_upgrade() and any(
            name in (b"content-length", b"transfer-encoding") for name, _ in self.headers
        ):  # the parser stops at an upgrade (h2c): the body would be lost, so refuse it plainly
            self._upgrade_refused = True
            raise _UpgradeWithBody
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        continued = self._head_open  # this packet continues a head begun in an earlier one
        super().data_received(data)
        if continued and self._head_open and not self.transport.is_closing():  # a head that trickles in
            self._received += len(data)
            if self._received > MAX_HEADER_BYTES:
                self.send_400_response("request head too large")

    @property
    def _head_too_large(self) -> bool:
        return max(self._head_bytes, self._received) > MAX_HEADER_BYTES

    def shutdown(self) -> None:
        """The server stops: as uvicorn stops (idle connections closed, answers in progress
        finished), but a request whose body is still arriving :data:`BODY_GRACE` s later is answered
        503 and closed (waiting for it would hold the stop up to the body's deadline, a stalled
        client's 30 s)."""
        super().shutdown()
        if self.cycle is not None and not self.transport.is_closing():
            self.loop.call_later(BODY_GRACE, self._stop_waiting_for_body, self.cycle)

    def _stop_waiting_for_body(self, cycle: Any) -> None:
        """:meth:`shutdown`'s 503 to ``cycle``, where its body is still arriving; not where another
        request waits before it on the connection (pipelined: the 503 would read as that one's answer)."""
        if cycle is not self.cycle or self.pipeline or self.transport.is_closing():
            return
        if cycle.more_body and not cycle.response_started:
            self.transport.write(
                _raw_response(503, "Service Unavailable", "the service is stopping; send the request again later")
            )
            cycle.disconnected = True  # the handler reading the body is told the client is gone
            cycle.message_event.set()
            self.transport.close()

    def on_response_complete(self) -> None:
        if not self._head_open:  # the idle (keep-alive) timeout takes over; a pipelined head keeps its deadline
            self._cancel_head_timer()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _head_expired(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.cycle is not None and not self._head_open:
            return  # closed, or a request is being answered
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_timer()  # a pipelined head: its 408 waits until the answer before it is sent
            return
        if self._head_open:  # a partial head: say why the connection closes
            message = f"the request head did not arrive within {self.header_timeout:g} s"
            self.transport.write(_raw_response(408, "Request Timeout", message))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        self._cancel_head_timer()
        message = "invalid HTTP request: malformed request line, headers or Content-Length"
        if self._upgrade_refused:
            message = "protocol upgrades (Upgrade: h2c) are not supported with a body: send plain HTTP/1.1"
        elif self._head_too_large:
            message = f"request line and headers over {MAX_HEADER_BYTES // 1024} KiB"
        self.transport.write(_raw_response(400, "Bad Request", message))
        self.transport.close()


def bind(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """A listening TCP socket (port 0: any free port; see ``sock.getsockname()``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


class IdkLogFormatter(logging.Formatter):
    """The service's log lines in idk's own form, ``idk: warning: Invalid HTTP request received.``;
    a traceback, where one is logged, follows."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"idk: {record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def log_config() -> dict[str, Any]:
    """uvicorn's and the service's loggers (a ``logging.config.dictConfig`` dict): one line each on
    stderr in idk's form (the access log, with ``--verbose``, on stdout); the multipart parser's
    own warnings are not shown (the client is answered with the reason, as a 400)."""
    handler = {"class": "logging.StreamHandler", "formatter": "idk", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "idk": {"()": IdkLogFormatter},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": 'idk: %(client_addr)s "%(request_line)s" %(status_code)s',
                "use_colors": False,
            },
        },
        "handlers": {
            "default": handler,
            "access": {**handler, "formatter": "access", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            "idk.serve": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "python_multipart": {"handlers": [], "level": "ERROR", "propagate": False},
        },
    }


def make_server(app: Any, timeouts: Timeouts = Timeouts(), verbose: bool = False) -> uvicorn.Server:
    """A uvicorn server for ``app`` (run it with ``server.run(sockets=[bind(...)])``)."""
    protocol = type("IdkHttpProtocol", (JsonHttpProtocol,), {"header_timeout": timeouts.header})
    config = uvicorn.Config(
        app,
        http=protocol,
        loop="auto",  # uvloop where installed (not on Windows)
        lifespan="on",
        ws="none",
        timeout_keep_alive=max(1, round(timeouts.idle)),
        backlog=BACKLOG,
        log_config=log_config(),
        log_level="info" if verbose else "warning",
        access_log=verbose,
        server_header=False,
        proxy_headers=False,  # no proxy is assumed: the peer's address is the client's (and a layer less)
    )
    return uvicorn.Server(config)


class BackgroundServer:
    """A server running in a thread (tests, benchmarks): ``url`` once started; ``stop()`` ends it."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, timeouts: Timeouts = Timeouts()) -> None:
        self.sock = bind(host, port)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.server = make_server(app, timeouts)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self.thread.start()
        for _ in range(int(timeout / 0.02)):
            if self.server.started:
                return self
            if not self.thread.is_alive():
                break
            threading.Event().wait(0.02)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()
