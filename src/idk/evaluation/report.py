"""The evaluation report as text: one table per model, data sets as rows."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from idk.decision.rules import describe_rule, describe_score_choice
from idk.evaluation.evaluate import INTERVAL_LEVEL


def to_json(report: dict[str, Any]) -> str:
    """The report as strict JSON: a NaN or infinite number (a metric of nothing, e.g. the accuracy
    on accepted images when none is accepted) is written as null."""
    return json.dumps(json_safe(report), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def json_safe(value: Any) -> Any:
    """``value`` (nested dicts and lists) with every NaN or infinite float replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json(report: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(report), encoding="utf-8")


def pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.2f}%"


def interval_text(interval: tuple[float, float] | list[float]) -> str:
    """An interval of shares in per cent, without the sign: (0.99799, 0.99944) → "99.80–99.94"."""
    return f"{100 * interval[0]:.2f}–{100 * interval[1]:.2f}"


INTERVAL_NOTE = (
    f"{INTERVAL_LEVEL:.0%} interval: Clopper–Pearson, of the accuracy on accepted images where a set is to be "
    "answered, of the refused share where it is to be refused"
)
# Row groups of a table that has shifted sets (their AUROC column stays empty: they should be answered).
GROUPS = {
    "shifted": "  shifted: the same classes drawn, printed or scanned otherwise (to be answered)",
    "ood": "  out of distribution (to be refused)",
}
GIVEN_SHIFTED = "  shifted: the same classes from other sources (to be answered)"  # the user's sets alone


def format_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    rule = report["rule"]
    model = report["model"]
    members = model.get("members") or 1
    kind = f"{model['kind']} of {members} posteriors" if members > 1 else model["kind"]
    lines = [
        f"model: {model.get('preset')} preset, {kind} ({model['net']['arch']} network) on {Path(str(model.get('data', '?'))).name}: "
        f"{len(model.get('classes', []))} classes of {model.get('input', '?')} images, {report['samples']} samples per image",
        f"rule: {describe_rule(rule)}",
        "",
    ]
    for warning in report.get("warnings", []):
        lines.insert(0, f"WARNING: {warning}")
    if report.get("score_selection"):
        lines.insert(
            -1,
            f"score: {describe_score_choice(report['score_selection'])}",
        )
    lines += _table(report["datasets"], "idk (Bayesian)")
    if several := several_named(report["datasets"]):
        lines.append(several)
    if "twin" in report:
        lines += [""] + _table(report["twin"]["datasets"], "deterministic twin (softmax)")
    tables = [report["datasets"], report.get("twin", {}).get("datasets", {})]
    if any(interval_cell(d) for datasets in tables for d in datasets.values()):
        lines += ["", INTERVAL_NOTE]
    return "\n".join(lines)


def group_starts(datasets: dict[str, Any]) -> dict[str, str]:
    """The sets (by name) that begin a group of :data:`GROUPS` in report order, with its heading:
    none unless the report holds shifted sets (to be answered) beside those to be refused; shifted
    sets that are all the user's (``"given"``) are headed :data:`GIVEN_SHIFTED`."""
    kinds = {d.get("kind") for d in datasets.values()}
    shifted = [d for d in datasets.values() if d.get("kind") == "shifted"]
    headings = {**GROUPS, "shifted": GIVEN_SHIFTED} if shifted and all(d.get("given") for d in shifted) else GROUPS
    starts, previous = {}, None
    for name, d in datasets.items():
        kind = d.get("kind")
        if "shifted" in kinds and kind != previous and kind in headings:
            starts[name] = headings[kind]
        previous = kind
    return starts


def several_named(datasets: dict[str, Any]) -> str | None:
    """The share of each set answered with several classes ("either 4 or 9": the percentile rule's
    ``hesitant``), counted as answered in the table; None where no set has any."""
    shares = [(name, d["hesitant"]) for name, d in datasets.items() if d.get("hesitant")]
    if not shares:
        return None
    listed = ", ".join(f"{name} {pct(h)}" for name, h in shares)
    return f"answered with several classes (counted as answered; accuracy of the most probable): {listed}"


def interval_cell(d: dict[str, Any]) -> str:
    """A set's row's interval, "99.80–99.94": of the refused share where the set is to be refused
    (``"kind": "ood"``), else of the accuracy on accepted images; "" where it has none (no image
    answered, or a report written before the intervals)."""
    if d.get("kind") == "ood":
        interval = d.get("refused_interval")
    else:
        accuracy = d.get("accepted_accuracy")
        interval = d.get("accepted_accuracy_interval") if accuracy is not None and accuracy == accuracy else None
    return "" if interval is None else interval_text(interval)


def _table(datasets: dict[str, Any], title: str) -> list[str]:
    width = max([16, *(len(name) + 2 for name in datasets)])
    head = (
        f"{'data set':<{width}}{'n':>7}{'forced acc':>12}{'refused':>10}{'acc. on accepted':>18}"
        f"{f'{INTERVAL_LEVEL:.0%} interval':>15}{'NLL':>8}{'ECE':>8}{'AUROC':>8}"
    )
    rows = [title, head, "-" * len(head)]
    starts = group_starts(datasets)
    for name, d in datasets.items():
        if name in starts:
            rows.append(starts[name])
        nll = "" if "nll" not in d else f"{d['nll']:.4f}" if d["nll"] < 100 else f"{d['nll']:.1f}"  # fits its column
        ece = pct(d["ece"]) if "ece" in d else ""
        auroc = f"{d['auroc']:.4f}" if "auroc" in d else ""
        rows.append(
            f"{name:<{width}}{d['n']:>7}{pct(d.get('forced_accuracy')) if 'forced_accuracy' in d else '':>12}{pct(d['refused']):>10}"
            f"{pct(d.get('accepted_accuracy')) if 'accepted_accuracy' in d else '':>18}{interval_cell(d):>15}"
            f"{nll:>8}{ece:>8}{auroc:>8}"
        )
    return rows
