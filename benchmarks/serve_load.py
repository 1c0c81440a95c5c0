"""Load benchmark for ``idk serve``: concurrent clients on loopback, then 1,000 idle connections.

Starts ``idk serve`` on 127.0.0.1 (a free port) for ``--model``, and in one run measures:

* load: ``--clients`` keep-alive clients posting MNIST test digits (PNG) for ``--duration`` s;
  requests/s, p50/p99 latency, failed requests (any status but 200, or a broken connection) and
  answers that differ from the library's;
* idle: ``--idle`` connections opened and left silent, while a few clients keep asking: their
  answers and latency (the idle ones must not stop them);
* large files: a few clients posting digits, alone and then beside one client posting a
  ``--large-side``² PNG (16 megapixels by default) again and again: the digits' latency both ways
  (a large file is decoded beside the model's pass, not in its thread, where it held every pass);
* the server's RSS before and after;
* in-process: the same PNGs answered by ``predict_images`` in batches of ``--clients`` (the most
  the service can gather from that many clients), images/s with 1 torch thread and with all cores
  (the better counts), and the service's share of it.

Loopback only, bounded in time, stops by itself. Prints a table; ``--out`` writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def digits(n: int) -> list[tuple[str, bytes]]:
    """The first ``n`` MNIST test digits as PNG files."""
    from idk.data import DataConfig, mnist

    test = mnist("test", DataConfig.from_env())
    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray((test.pixels(i)[0].numpy() * 255).round().astype(np.uint8)).save(buf, format="PNG")
        out.append((f"{i}.png", buf.getvalue()))
    return out


def run(coroutine):
    """The clients' event loop: uvloop where installed (a load generator should take as little of
    the cores it shares with the server as it can)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Client:
    """One keep-alive HTTP/1.1 connection posting images; reconnects after a failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, name: str, image: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        head = (
            f"POST /api/predict HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: image/png\r\nX-Filename: {name}\r\n"
            f"Content-Length: {len(image)}\r\n\r\n"
        )
        self.writer.write(head.encode() + image)
        assert self.reader is not None
        status_line = await self.reader.readuntil(b"\r\n")
        headers = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = next(int(line.split(":")[1]) for line in headers.splitlines() if line.startswith("content-length:"))
        body = await self.reader.readexactly(length)
        if "connection: close" in headers:
            await self.close()
        return int(status_line.split()[1]), body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


async def load(port: int, images: list[tuple[str, bytes]], verdicts: dict[str, str], clients: int, duration: float):
    """``clients`` clients asking in a closed loop for ``duration`` s: latencies and failures."""
    latencies: list[float] = []
    failures: list[str] = []
    wrong = 0
    deadline = time.monotonic() + duration

    async def one(k: int) -> None:
        nonlocal wrong
        client, i = Client(port), k
        while time.monotonic() < deadline:
            name, image = images[i % len(images)]
            i += clients
            start = time.perf_counter()
            try:
                status, body = await client.post(name, image)
            except (OSError, asyncio.IncompleteReadError, ValueError) as err:
                failures.append(type(err).__name__)
                await client.close()
                continue
            if status != 200:
                failures.append(str(status))
                continue
            latencies.append(time.perf_counter() - start)
            wrong += orjson.loads(body)["images"][0]["verdict"] != verdicts[name]  # the client: cheap to parse
        await client.close()

    started = time.monotonic()
    await asyncio.gather(*(one(k) for k in range(clients)))
    return latencies, failures, wrong, time.monotonic() - started


async def idle_phase(port: int, images, verdicts, idle: int, clients: int, duration: float):
    """Open ``idle`` silent connections, then run ``clients`` clients for ``duration`` s beside them."""
    opened = []
    for _ in range(idle):
        try:
            opened.append(await asyncio.open_connection(HOST, port))
        except OSError:
            break
    result = await load(port, images, verdicts, clients, duration)
    still_open = sum(not r.at_eof() for r, _ in opened)
    for _, writer in opened:
        writer.close()
    return len(opened), still_open, result


def large_png(side: int) -> bytes:
    """A ``side``² colour PNG of gradients with a row of noise in seven (some 7 MB at 4,000²:
    under the service's 20 MiB a request)."""
    yy, xx = np.mgrid[0:side, 0:side]
    pixels = np.stack([xx * 255 // side, yy * 255 // side, (xx + yy) % 256], -1).astype(np.uint8)
    pixels[::7] = np.random.default_rng(0).integers(0, 256, pixels[::7].shape, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


async def beside_large(port: int, images, verdicts, clients: int, duration: float, large: bytes):
    """``clients`` clients posting digits for ``duration`` s, while one more posts ``large`` in a
    closed loop: the digits' results, and the large file's answers (status 200) and mean latency."""
    deadline = time.monotonic() + duration
    large_times: list[float] = []

    async def send_large() -> None:
        client = Client(port)
        while time.monotonic() < deadline:
            start = time.perf_counter()
            status, _ = await client.post("large.png", large)
            if status == 200:
                large_times.append(time.perf_counter() - start)
        await client.close()

    sender = asyncio.ensure_future(send_large())
    result = await load(port, images, verdicts, clients, duration)
    await sender
    return result, large_times


def in_process(model_path: str, images: list[tuple[str, bytes]], batch: int, duration: float, threads: list[int]):
    """``predict_images`` over the same PNGs in batches of ``batch`` with each torch thread count:
    images/s per count, and each image's verdict."""
    import torch

    from idk.apps.predict import predict_images
    from idk.training import checkpoint

    model, ckpt = checkpoint.load(model_path)
    verdicts = {r.file: r.verdict for r in predict_images(model, ckpt, images, with_samples=True)}
    rates = {}
    for count in threads:
        torch.set_num_threads(count)
        done, start, i = 0, time.perf_counter(), 0
        while time.perf_counter() - start < duration or done == 0:
            chunk = [images[(i + j) % len(images)] for j in range(batch)]
            predict_images(model, ckpt, chunk, with_samples=True)
            done, i = done + batch, i + batch
        rates[count] = done / (time.perf_counter() - start)
    return rates, verdicts


def summary(latencies: list[float], failures: list[str], wrong: int, seconds: float) -> dict:
    ms = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return {
        "requests": len(latencies) + len(failures),
        "failed": len(failures),
        "failures": sorted(set(failures)),
        "answers_unlike_the_library": wrong,
        "requests_per_s": len(latencies) / seconds,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def start_server(args) -> tuple[subprocess.Popen, int]:
    cmd = [sys.executable, "-m", "idk", "serve", "--model", args.model, "--host", HOST, "--port", "0", "--quiet"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline() if proc.stdout else ""
    if "serving" not in line:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, int(line.split(f"http://{HOST}:")[1].split("/")[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "runs" / "default.pt"))
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--idle", type=int, default=1000, help="idle connections in the idle phase")
    parser.add_argument("--idle-duration", type=float, default=5.0)
    parser.add_argument("--images", type=int, default=256, help="distinct MNIST test digits sent")
    parser.add_argument("--large-side", type=int, default=4000, help="side of the large PNG (pixels)")
    parser.add_argument("--large-duration", type=float, default=10.0, help="seconds of each large-file phase")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads for the server and the library (default: each its own default; "
        "the library is timed with 1 and with all cores, and its best counts)",
    )
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args()
    import torch

    from idk.nn.numerics import set_flush_denormals

    # as the command line does, before torch starts its worker threads (idk.nn.numerics)
    set_flush_denormals(True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.idle + 1024)), hard))
    if args.threads:
        torch.set_num_threads(args.threads)
    images = digits(args.images)
    proc, port = start_server(args)
    try:
        rss_before = rss_mib(proc.pid)
        run(load(port, images[: args.clients], {n: "" for n, _ in images}, args.clients, 2.0))  # warm up
        counts = [args.threads] if args.threads else sorted({1, os.cpu_count() or 1})
        rates, verdicts = in_process(args.model, images, args.clients, min(10.0, args.duration), counts)
        best_threads, library_rate = max(rates.items(), key=lambda kv: kv[1])  # the library at its best
        lat, fails, wrong, seconds = run(load(port, images, verdicts, args.clients, args.duration))
        service = summary(lat, fails, wrong, seconds)
        opened, still_open, (ilat, ifails, iwrong, iseconds) = run(
            idle_phase(port, images, verdicts, args.idle, min(4, args.clients), args.idle_duration)
        )
        few = min(4, args.clients)
        alone = summary(*run(load(port, images, verdicts, few, args.large_duration)))
        (llat, lfails, lwrong, lseconds), large_times = run(
            beside_large(port, images, verdicts, few, args.large_duration, large_png(args.large_side))
        )
        beside = summary(llat, lfails, lwrong, lseconds)
        rss_after = rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = {
        "model": args.model,
        "cores": os.cpu_count(),
        "clients": args.clients,
        "duration_s": args.duration,
        "service": service,
        "in_process_images_per_s": library_rate,
        "in_process_images_per_s_by_threads": rates,
        "in_process_batch": args.clients,
        "service_share_of_in_process": service["requests_per_s"] / library_rate,
        "idle": {"opened": opened, "still_open_at_end": still_open, **summary(ilat, ifails, iwrong, iseconds)},
        "large": {
            "side": args.large_side,
            "answered": len(large_times),
            "mean_s": float(np.mean(large_times)) if large_times else None,
            "digits_alone": alone,
            "digits_beside": beside,
        },
        "server_rss_mib": {"before": rss_before, "after": rss_after},
    }
    rows = [
        ("requests (failed)", f"{service['requests']} ({service['failed']})"),
        ("answers unlike the library", service["answers_unlike_the_library"]),
        ("requests/s", f"{service['requests_per_s']:.1f}"),
        ("latency p50 / p99 (ms)", f"{service['p50_ms']:.0f} / {service['p99_ms']:.0f}"),
        (f"in-process images/s (batches of {args.clients}, {best_threads} threads)", f"{library_rate:.1f}"),
        ("service / in-process", f"{result['service_share_of_in_process']:.0%}"),
        (
            f"with {opened} idle connections: requests (failed)",
            f"{result['idle']['requests']} ({result['idle']['failed']})",
        ),
        ("  ... latency p50 / p99 (ms)", f"{result['idle']['p50_ms']:.0f} / {result['idle']['p99_ms']:.0f}"),
        (f"{few} clients' digits alone: latency p50 / p99 (ms)", f"{alone['p50_ms']:.0f} / {alone['p99_ms']:.0f}"),
        (
            f"  ... beside {args.large_side}² PNGs: p50 / p99 (ms)",
            f"{beside['p50_ms']:.0f} / {beside['p99_ms']:.0f} ({beside['failed']} failed)",
        ),
        (
            f"  ... the {args.large_side}² PNGs answered, mean (s)",
            f"{len(large_times)}, {np.mean(large_times):.2f}" if large_times else "0",
        ),
        ("server RSS before / after (MiB)", f"{rss_before:.0f} / {rss_after:.0f}"),
    ]
    print(f"idk serve, {args.clients} clients for {args.duration:g} s on {os.cpu_count()} cores, {args.model}")
    for label, value in rows:
        print(f"  {label:<48} {value}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
