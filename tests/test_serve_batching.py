"""The micro-batcher: concurrent requests share passes, in order, within bounds."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from idk.apps.serve_batching import MicroBatcher, Overloaded


class Recorder:
    """A fake model: answers x with 10·x, records each pass's items and thread, takes ``delay`` s."""

    def __init__(self, delay: float = 0.0) -> None:
        self.passes: list[list[int]] = []
        self.threads: set[str] = set()
        self.delay = delay

    def __call__(self, items: list[int]) -> list[int]:
        self.passes.append(list(items))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        if any(i < 0 for i in items):
            raise ValueError("negative")
        return [10 * i for i in items]


def _run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_share_one_pass_and_keep_their_order():
    async def main():
        model = Recorder()
        batcher = MicroBatcher(model, window=0.2, max_batch=100)
        await batcher.start()
        answers = await asyncio.gather(*(batcher.submit([i, i + 100]) for i in range(8)))
        await batcher.stop()
        return model, answers

    model, answers = _run(main())
    assert answers == [[10 * i, 10 * (i + 100)] for i in range(8)]
    assert len(model.passes) == 1 and sorted(model.passes[0]) == sorted(i + k for i in range(8) for k in (0, 100))
    assert model.threads and not any(name == threading.main_thread().name for name in model.threads)


def test_a_pass_holds_at_most_max_batch_items_but_whole_requests():
    async def main():
        model = Recorder()
        batcher = MicroBatcher(model, window=0.2, max_batch=4)
        await batcher.start()
        answers = await asyncio.gather(*(batcher.submit([i] * 3) for i in range(4)), batcher.submit(list(range(9))))
        await batcher.stop()
        return model, answers

    model, answers = _run(main())
    assert answers[-1] == [10 * i for i in range(9)]  # a request larger than max_batch is one pass of its own
    assert [len(p) for p in model.passes] == [3, 3, 3, 3, 9]


def test_a_lone_request_waits_no_longer_than_the_window():
    async def main():
        batcher = MicroBatcher(Recorder(), window=0.05)
        await batcher.start()
        start = time.monotonic()
        answer = await batcher.submit([1])
        took = time.monotonic() - start
        await batcher.stop()
        return answer, took

    answer, took = _run(main())
    assert answer == [10] and 0.04 <= took < 1.0


def test_requests_arriving_during_a_pass_form_the_next_one():
    async def main():
        model = Recorder(delay=0.3)
        batcher = MicroBatcher(model, window=0.0, max_batch=100)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit([0]))
        await asyncio.sleep(0.1)  # the first pass is running
        rest = await asyncio.gather(*(batcher.submit([i]) for i in range(1, 6)))
        await first
        await batcher.stop()
        return model, rest

    model, rest = _run(main())
    assert rest == [[10 * i] for i in range(1, 6)] and model.passes == [[0], [1, 2, 3, 4, 5]]


def test_a_full_queue_refuses_and_errors_reach_every_request():
    async def main():
        model = Recorder(delay=0.3)
        batcher = MicroBatcher(model, window=0.0, max_batch=2, max_queue=2)
        await batcher.start()
        running = asyncio.ensure_future(batcher.submit([1]))
        await asyncio.sleep(0.1)  # taken from the queue: its pass runs
        waiting = asyncio.ensure_future(batcher.submit([2, 3]))
        await asyncio.sleep(0)
        with pytest.raises(Overloaded) as refused:
            await batcher.submit([4])
        assert refused.value.retry_after >= 1
        assert await running == [10] and await waiting == [20, 30]
        failing = await asyncio.gather(batcher.submit([-1]), batcher.submit([5]), return_exceptions=True)
        await batcher.stop()
        return failing

    failing = _run(main())
    assert all(isinstance(f, ValueError) for f in failing)


def test_a_request_whose_client_left_is_skipped():
    async def main():
        model = Recorder(delay=0.2)
        batcher = MicroBatcher(model, window=0.0, max_batch=10)
        await batcher.start()
        running = asyncio.ensure_future(batcher.submit([1]))
        await asyncio.sleep(0.05)
        gone = asyncio.ensure_future(batcher.submit([2]))
        await asyncio.sleep(0)
        gone.cancel()
        kept = await batcher.submit([3])
        await running
        await batcher.stop()
        return model, kept

    model, kept = _run(main())
    assert kept == [30] and [2] not in model.passes and all(2 not in p for p in model.passes)


def test_room_is_held_while_items_are_made_ready_and_counted_as_queued():
    """``submit``'s ``before`` (the service's decoding) runs with the items' room held: a request
    that would pass ``max_queue`` meanwhile is refused before its own work, and ``queued`` says so."""

    async def main():
        model, ready = Recorder(), asyncio.Event()

        async def slowly_ready(items):
            await ready.wait()
            return [i + 1 for i in items]

        batcher = MicroBatcher(model, window=0, max_batch=10, max_queue=4)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit([1, 2, 3], slowly_ready))
        await asyncio.sleep(0.05)
        held = batcher.queued
        with pytest.raises(Overloaded):
            await batcher.submit([5, 6], slowly_ready)  # 3 held + 2 > 4: refused before it waits
        ready.set()
        answers = await first
        await batcher.stop()
        return held, answers, batcher.queued

    held, answers, after = _run(main())
    assert held == 3 and answers == [20, 30, 40] and after == 0


def test_the_room_held_is_given_back_whatever_before_returns():
    async def main():
        batcher = MicroBatcher(Recorder(), window=0, max_batch=10, max_queue=8)
        await batcher.start()

        async def fewer(items):
            return items[:1]

        answers = await batcher.submit([1, 2, 3], fewer)
        await batcher.stop()
        return answers, batcher.queued

    assert _run(main()) == ([10], 0)  # the 3 held, not the 1 returned, given back
