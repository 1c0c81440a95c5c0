"""A training run killed with SIGKILL mid-epoch resumes and ends with every epoch and a loadable file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from idk.training import checkpoint as ckpt_io


def _epochs(path) -> int:
    try:
        return len(ckpt_io.read(path).history)
    except Exception:  # noqa: BLE001 - absent or not yet written
        return 0


def test_sigkill_mid_epoch_then_resume(tmp_path, data_dir):
    out = tmp_path / "run.pt"
    args = [
        sys.executable,
        "-m",
        "idk",
        "train",
        "--preset",
        "tutorial",
        "--out",
        str(out),
        "--train-subset",
        "8000",
        "--epochs",
        "5",
        "--data-dir",
        str(data_dir),
        "-q",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while _epochs(out) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.4)  # well inside the next epoch
    assert proc.poll() is None, "training ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _epochs(out)
    assert 2 <= done < 5
    partial = ckpt_io.read(out)  # never a broken file; it says it is unfinished
    assert not partial.finished and not partial.calibrated
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    model, ckpt = ckpt_io.load(out)
    assert [h["epoch"] for h in ckpt.history] == [1, 2, 3, 4, 5] and ckpt.finished
    assert ckpt.training_state["model"]["epoch"] == 5
    assert not list(tmp_path.glob(".run.pt.*.tmp"))
