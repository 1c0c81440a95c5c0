"""``idk evaluate``: a checkpoint's report over MNIST test, noise, notMNIST and the user's sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from idk.data.sources import DataConfig, ImageSet, gaussian_noise, load, uniform_noise
from idk.decision.rules import describe_rule, make_rule
from idk.errors import IdkError
from idk.evaluation.evaluate import EvalSettings, evaluate, score_comparison
from idk.progress import Progress
from idk.training import checkpoint as ckpt_io
from idk.training.config import rule_config_from_dict

DEFAULT_SETS = ("mnist-test", "noise", "notmnist-459")


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


def load_sets(
    data: DataConfig, ood: list[tuple[str, str]], noise: int = 100, gaussian: int = 0, seed: int = 0
) -> dict[str, ImageSet]:
    """The default evaluation sets plus the user's, keyed by report name."""
    sets = {"mnist-test": load("mnist-test", data), "noise": uniform_noise(noise, seed)}
    if gaussian:
        sets["gaussian-noise"] = gaussian_noise(gaussian, seed)
    sets["notmnist-459"] = load("notmnist-459", data)
    for name, path in ood:
        sets[name] = load(path, data, seed=seed)
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
) -> dict[str, Any]:
    """Evaluate a checkpoint (and its deterministic twin, when it holds one); return the report."""
    model, ckpt = ckpt_io.load(model_path)
    rule_cfg = rule_config_from_dict(ckpt["rule_config"]) if "rule_config" in ckpt else None
    rule = make_rule(ckpt["rule"])
    settings = EvalSettings(
        samples=samples or (rule_cfg.samples if rule_cfg else 100),
        forced_samples=rule_cfg.forced_samples if rule_cfg else 10,
        forced_average=rule_cfg.forced_average if rule_cfg else "logits",
        ood_score=rule.score.name,
    )
    sets = load_sets(data or DataConfig.from_env(), ood or [], noise, gaussian)
    datasets, preds = evaluate(model, rule, sets, settings, progress)
    report: dict[str, Any] = {
        "model": {"preset": ckpt.get("preset"), "kind": ckpt["kind"], **ckpt["model_config"]},
        "samples": settings.samples,
        "rule": ckpt["rule"],
        "datasets": datasets,
        "scores": score_comparison(preds, sets["mnist-test"].labels),
        "training": {"history": ckpt.get("history", []), "train_config": ckpt.get("train_config")},
        "score_selection": ckpt.get("score_selection"),
        "temperature": ckpt.get("temperature"),
    }
    if "twin_state_dict" in ckpt:
        twin = ckpt_io.model_from_checkpoint(ckpt, str(model_path), key="twin_state_dict")
        twin_rule = make_rule(ckpt.get("twin_rule", ckpt["rule"]))
        twin_settings = EvalSettings(
            samples=1, forced_samples=1, forced_average="probs", ood_score=twin_rule.score.name
        )
        twin_sets, _ = evaluate(twin, twin_rule, sets, twin_settings, progress)
        report["twin"] = {"rule": ckpt.get("twin_rule", ckpt["rule"]), "datasets": twin_sets}
    if json_path:
        write_json(report, json_path)
    return report


def write_json(report: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.2f}%"


def format_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    rule = report["rule"]
    lines = [
        f"model: {report['model'].get('preset')} ({report['model']['kind']}, {report['model']['net']['arch']}), "
        f"{report['samples']} samples per image",
        f"rule: {describe_rule(rule)}",
        "",
    ]
    if report.get("score_selection"):
        lines.insert(
            -1,
            f"score: {report['score_selection']['chosen']}, chosen because it {report['score_selection']['criterion']}",
        )
    lines += _table(report["datasets"], "idk (Bayesian)")
    if "twin" in report:
        lines += [""] + _table(report["twin"]["datasets"], "deterministic twin (softmax)")
    return "\n".join(lines)


def _table(datasets: dict[str, Any], title: str) -> list[str]:
    head = f"{'data set':<16}{'n':>7}{'forced acc':>12}{'refused':>10}{'acc. on accepted':>18}{'NLL':>8}{'ECE':>8}{'AUROC':>8}"
    rows = [title, head, "-" * len(head)]
    for name, d in datasets.items():
        nll = f"{d['nll']:.4f}" if "nll" in d else ""
        ece = pct(d["ece"]) if "ece" in d else ""
        auroc = f"{d['auroc']:.4f}" if "auroc" in d else ""
        rows.append(
            f"{name:<16}{d['n']:>7}{pct(d.get('forced_accuracy')) if 'forced_accuracy' in d else '':>12}{pct(d['refused']):>10}"
            f"{pct(d.get('accepted_accuracy')) if 'accepted_accuracy' in d else '':>18}{nll:>8}{ece:>8}{auroc:>8}"
        )
    return rows
