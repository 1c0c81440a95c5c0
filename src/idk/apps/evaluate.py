"""``idk evaluate``: a checkpoint's report on its own test set, the usual outliers and the user's sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idk.data.catalog import NAMED, NOISE, load, match_classes, recorded_test_set
from idk.data.images import ImageSet, InputSpec
from idk.data.sources import DataConfig
from idk.errors import IdkError
from idk.evaluation.evaluate import EvalSettings, evaluate, score_comparison
from idk.evaluation.report import write_json
from idk.progress import Progress
from idk.training import checkpoint as ckpt_io
from idk.training.checkpoint import Checkpoint


def parse_ood(specs: list[str]) -> list[tuple[str, str]]:
    """``NAME=PATH`` pairs, or a bare known name / path (named after itself)."""
    out = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).stem if Path(spec).exists() else spec, spec
        if not name or not path:
            raise IdkError(f"--ood {spec!r}: expected NAME=PATH")
        out.append((name, path))
    return out


def default_ood(ckpt: Checkpoint) -> tuple[str, ...]:
    """The report's out-of-distribution sets for a model: its data set's usual ones, else noise."""
    known = NAMED.get(ckpt.data.data)
    return known.ood if known else NOISE


def load_sets(
    ckpt: Checkpoint,
    data: DataConfig,
    ood: list[tuple[str, str]],
    noise: int = 100,
    gaussian: int = 0,
    seed: int = 0,
    test_data: str | None = None,
) -> dict[str, ImageSet]:
    """The model's own test set (first), its usual out-of-distribution sets and the user's, by report name."""
    spec: InputSpec = ckpt.input_spec
    if test_data is not None:
        test = load(test_data, data, spec)
        if test.labels is None:
            raise IdkError(f"{test_data}: a test set needs labels (one sub-folder per class, or 'labels' in an .npz)")
        match_classes(test, ckpt.classes, test_data)
    else:
        test = recorded_test_set(ckpt.data, spec, data)
    sets = {test.name: test}
    names = [n for n in default_ood(ckpt) if n != ckpt.data.data]
    if gaussian and "gaussian-noise" not in names:
        names.insert(1, "gaussian-noise")
    for name in names:  # each set comes back under its report name (MNIST's test set: "mnist-test")
        loaded = load(name, data, spec, n_noise=(gaussian or noise) if name == "gaussian-noise" else noise, seed=seed)
        sets[loaded.name] = loaded
    for name, path in ood:
        if name in sets:
            raise IdkError(f"--ood {name}={path}: the report already has a set named {name!r}; choose another NAME")
        sets[name] = load(path, data, spec, n_noise=noise, seed=seed)
    return sets


def evaluate_checkpoint(
    model_path: str | Path,
    data: DataConfig | None = None,
    ood: list[tuple[str, str]] | None = None,
    noise: int = 100,
    gaussian: int = 0,
    samples: int | None = None,
    json_path: str | Path | None = None,
    progress: Progress | None = None,
    test_data: str | None = None,
) -> dict[str, Any]:
    """Evaluate a checkpoint (and its deterministic twin, when it holds one); return the report."""
    model, ckpt = ckpt_io.load(model_path)
    rule = ckpt.decision_rule()
    settings = EvalSettings(
        samples=samples or ckpt.rule_config.samples,
        forced_samples=ckpt.rule_config.forced_samples,
        forced_average=ckpt.rule_config.forced_average,
        ood_score=rule.score.name,
    )
    sets = load_sets(ckpt, data or DataConfig.from_env(), ood or [], noise, gaussian, test_data=test_data)
    in_name = next(iter(sets))
    datasets, preds = evaluate(model, rule, sets, settings, progress)
    report: dict[str, Any] = {
        "model": {
            "preset": ckpt.preset,
            "kind": ckpt.kind,
            "data": Path(ckpt.data.data).name,
            "classes": list(ckpt.classes),
            "input": ckpt.input_spec.describe(),
            "finished": ckpt.finished,
            "calibrated": ckpt.calibrated,
            "net": ckpt.describe()["architecture"],
        },
        "samples": settings.samples,
        "rule": ckpt.rule,
        "in_distribution": in_name,
        "datasets": datasets,
        "scores": score_comparison(preds, sets[in_name].labels, in_name),
        "training": {"history": ckpt.history, "train_config": ckpt.describe()["train_config"]},
        "score_selection": ckpt.score_selection,
        "temperature": ckpt.temperature,
        "warnings": warnings(ckpt),
    }
    if ckpt.has_twin:
        twin = ckpt.build(twin=True, path=str(model_path))
        twin_rule = ckpt.decision_rule(twin=True)
        twin_settings = EvalSettings(
            samples=1, forced_samples=1, forced_average="probs", ood_score=twin_rule.score.name
        )
        twin_sets, _ = evaluate(twin, twin_rule, sets, twin_settings, progress)
        report["twin"] = {"rule": ckpt.twin_rule or ckpt.rule, "datasets": twin_sets}
    if json_path:
        write_json(report, json_path)
    return report


def warnings(ckpt: Checkpoint) -> list[str]:
    """What a reader of the report must know about the checkpoint: unfinished, uncalibrated."""
    out = []
    if not ckpt.finished:
        out.append(
            f"training did not finish ({len(ckpt.history)} of {ckpt.train_config.epochs} epochs); resume it with --resume"
        )
    if not ckpt.calibrated and ckpt.rule_config.target_refusal is not None:
        out.append("the rule is uncalibrated (a placeholder threshold): its refusals mean little")
    return out
