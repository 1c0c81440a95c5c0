"""Micro-batching for ``idk serve``: concurrent requests answered by one batched posterior pass.

Requests wait in a bounded queue. The batcher takes the oldest one, then gathers more until the
batch holds ``max_batch`` images or ``window`` seconds have passed since the oldest one arrived
(under load the window has already passed: a batch is whatever waited while the last pass ran).
Each batch runs as one call of ``answer`` (``predict_images``: every image of the batch meets the
same S sampled networks) in one worker thread, one pass at a time (the model reuses its buffers),
so the event loop stays free to read and answer other connections.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")

DEFAULT_WINDOW = 0.005  # seconds a lone request waits for company
DEFAULT_MAX_BATCH = 32  # images per posterior pass
DEFAULT_MAX_QUEUE = 256  # images waiting (beyond the running pass) before requests are refused
DEFAULT_DECODE_THREADS = 2  # image files decoded at once, beside the pass; each holds its full-size pixels


class Overloaded(Exception):
    """The queue is full: the caller should answer 503 with ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the service is busy: retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Request(Generic[Item, Answer]):
    items: list[Item]
    future: asyncio.Future[list[Answer]]
    arrived: float = field(default_factory=time.monotonic)


class MicroBatcher(Generic[Item, Answer]):
    """Answers lists of items with ``answer(all items of a batch) -> one answer per item``.

    ``submit`` must be awaited on the loop that :meth:`start` ran on. ``max_queue`` bounds the
    items waiting; a request that would pass it is refused with :class:`Overloaded`. ``initializer``
    runs in the worker thread before its first pass (per-thread settings such as flushing subnormals).
    """

    def __init__(
        self,
        answer: Callable[[list[Item]], Sequence[Answer]],
        window: float = DEFAULT_WINDOW,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_queue: int = DEFAULT_MAX_QUEUE,
        initializer: Callable[[], object] | None = None,
    ) -> None:
        if window < 0 or max_batch < 1 or max_queue < 1:
            raise ValueError("window must be ≥ 0, max_batch and max_queue ≥ 1")
        self.answer, self.window, self.max_batch, self.max_queue = answer, window, max_batch, max_queue
        self._waiting: deque[_Request[Item, Answer]] = deque()
        self._queued = 0  # items in self._waiting
        self._held = 0  # items whose room is held while ``submit``'s ``before`` runs
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._initializer = initializer  # run once in the worker thread before its first pass
        self.passes = 0  # posterior passes run (for tests and the benchmark)
        self.largest_batch = 0

    @property
    def queued(self) -> int:
        """Items waiting for a pass, those being made ready for one (``submit``'s ``before``) too."""
        return self._queued + self._held

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, "idk-model", self._initializer)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        for request in self._waiting:
            if not request.future.done():
                request.future.cancel()
        self._waiting.clear()
        self._queued = 0

    async def submit(
        self, items: list[Item], before: Callable[[list[Item]], Awaitable[list[Item]]] | None = None
    ) -> list[Answer]:
        """The answers to ``items``, in order, once a pass has run over them; ``before``: awaited
        on them first (the service decodes large image files), their room in the queue held
        meanwhile, so that a full queue refuses them before that work, not after it."""
        if self._wake is None:
            raise RuntimeError("the batcher has not been started")
        if not items:
            return []
        if self._queued + self._held + len(items) > self.max_queue:
            raise Overloaded(retry_after=1)
        if before is not None:
            held = len(items)
            self._held += held
            try:
                items = await before(items)
            finally:
                self._held -= held
        request: _Request[Item, Answer] = _Request(list(items), asyncio.get_running_loop().create_future())
        self._waiting.append(request)
        self._queued += len(items)
        self._wake.set()
        return await request.future

    def _take(self) -> list[_Request[Item, Answer]]:
        """Whole requests from the front, up to ``max_batch`` items (at least one request)."""
        batch, size = [], 0
        while self._waiting and (not batch or size + len(self._waiting[0].items) <= self.max_batch):
            request = self._waiting.popleft()
            self._queued -= len(request.items)
            if request.future.done():  # its client went away
                continue
            batch.append(request)
            size += len(request.items)
        return batch

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._waiting:
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self._waiting[0].arrived + self.window - time.monotonic()
            if wait > 0 and self._queued < self.max_batch:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                if self._queued < self.max_batch and self._waiting[0].arrived + self.window > time.monotonic():
                    continue  # more time to gather
            batch = self._take()
            if not batch:
                continue
            items = [item for request in batch for item in request.items]
            self.passes += 1
            self.largest_batch = max(self.largest_batch, len(items))
            try:
                answers: Any = await loop.run_in_executor(self._executor, self.answer, items)
            except Exception as err:  # noqa: BLE001 - handed to every waiting request
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(err)
                continue
            start = 0
            for request in batch:
                end = start + len(request.items)
                if not request.future.done():
                    request.future.set_result(list(answers[start:end]))
                start = end
