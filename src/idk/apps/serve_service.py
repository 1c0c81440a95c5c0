"""The model behind ``idk serve``'s app: its settings, the S networks drawn once, the batched
passes (:mod:`idk.apps.serve_batching`), and the decoding of image files beside those passes."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import torch

from idk.apps.predict import FileResult, draw_networks, predict_images
from idk.apps.serve_batching import (
    DEFAULT_DECODE_THREADS,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_QUEUE,
    DEFAULT_WINDOW,
    MicroBatcher,
)
from idk.apps.serve_http import Timeouts
from idk.apps.serve_inputs import Limits, Source
from idk.data.headers import declared_size
from idk.data.preparation import PreparedImage, prepared_or_error
from idk.decision.memory import check_samples
from idk.decision.rules import describe_rule
from idk.errors import IdkError, ImageError
from idk.evaluation.report import json_safe
from idk.nn.bnn import Model
from idk.nn.numerics import set_flush_denormals
from idk.training.checkpoint import Checkpoint
from idk.training.notices import warnings

Decoded = tuple[str, bytes | PreparedImage | ImageError]  # an image as the model's pass takes it
# image files decoded in the model's pass: of at most INLINE_BYTES declaring at most INLINE_PIXELS
# (a 28×28 PNG takes 0.1 ms; what else 2 KiB can hold inflates to some 2 MB at most)
INLINE_PIXELS = 2**16
INLINE_BYTES = 2**11
INLINE_FORMATS = ("PNG", "BMP", "JPEG")  # decoded in the model's pass when small (see _in_the_pass)


@dataclass(frozen=True)
class ServiceSettings:
    """Batching, limits and timeouts: each setting's one home and default."""

    window: float = DEFAULT_WINDOW  # seconds a lone request waits for others to share its pass
    max_batch: int = DEFAULT_MAX_BATCH  # images per posterior pass (a larger request takes several)
    max_queue: int = DEFAULT_MAX_QUEUE  # images waiting before requests get 503
    limits: Limits = field(default_factory=Limits)
    timeouts: Timeouts = field(default_factory=Timeouts)
    threads: int | None = None  # the model's torch threads (None: one core fewer than the machine's, at least 1)
    decode_threads: int = DEFAULT_DECODE_THREADS  # files decoded at once beside the pass (small ones in it)

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
    """Whether an image file is decoded in the model's pass: a PNG, BMP or JPEG of at most
    :data:`INLINE_BYTES` whose header (read from its bytes: :func:`~idk.data.headers.declared_size`)
    declares at most :data:`INLINE_PIXELS`; any other, or one whose size cannot be told so, in the
    decoding threads."""
    declared = declared_size(data) if len(data) <= INLINE_BYTES else None
    # not a GIF (its header gives its screen, which a frame may overreach: PIL then decodes the
    # frame's size), nor a WebP or TIFF (frames and pages, and codecs whose cost a header tells less of)
    return declared is not None and declared[0] in INLINE_FORMATS and declared[1] * declared[2] <= INLINE_PIXELS


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
            # waited for in a thread: a decode under way (a large file's, up to seconds) holds not the event loop
            await asyncio.to_thread(self._decoder.shutdown, wait=True, cancel_futures=True)
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
        return name, prepared_or_error(data, self.ckpt.input_spec, name)

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
                decode_threads=1,  # the pass decodes only small files (_in_the_pass): the others came decoded
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
        """One answer as ``idk predict --json`` writes it (an unreadable file: no score, no threshold)."""
        threshold = None if result.error is not None else self.rule.threshold
        return {**vars(result), "threshold": threshold}  # shallow: asdict's deep copy costs ms
