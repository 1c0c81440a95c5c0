"""A self-contained HTML report: the tables and every figure embedded as PNG data URIs."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from idk.decision.rules import make_rule
from idk.evaluation import plots
from idk.evaluation.evaluate import INTERVAL_LEVEL
from idk.evaluation.report import format_report, group_starts, interval_text, pct, to_json

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
td { white-space: nowrap; }
th:first-child, td:first-child, th.group { text-align: left; }
th.group { background: #f0f0f0; font-weight: normal; font-style: italic; }
figure { display: inline-block; margin: 0.5em; }
img { max-width: 520px; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
small { color: #666; }
.warning { background: #fff3cd; border: 1px solid #e0b000; padding: 0.5em 1em; }
"""


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """The report's figures, keyed by caption (matplotlib figures)."""
    name = report["in_distribution"]
    test = report["datasets"][name]
    out: dict[str, Any] = {}
    curves = {"idk (Bayesian)": test["risk_coverage"]}
    if "twin" in report:
        curves["deterministic twin"] = report["twin"]["datasets"][name]["risk_coverage"]
    out[f"Risk–coverage on {name}"] = plots.risk_coverage(curves)[0]
    fig, ax = plots.reliability(test["reliability"], label="idk (Bayesian)")
    if "twin" in report:
        plots.reliability(report["twin"]["datasets"][name]["reliability"], ax=ax, label="deterministic twin")
    out[f"Reliability diagram (15 bins), {name}"] = fig
    histograms = {name: d["score_histogram"] for name, d in report["datasets"].items() if "score_histogram" in d}
    rule = report["rule"]
    out["Uncertainty score, in vs out of distribution"] = plots.score_histograms(
        histograms, rule.get("score", "percentile"), threshold=make_rule(rule).score_threshold()
    )[0]
    histories = report.get("training", {}).get("histories") or {}
    for key, caption in (("loss", "Training loss per epoch"), ("held_out_accuracy", "Held-out error per epoch")):
        if any(h.get(key) is not None for history in histories.values() for h in history):
            out[caption] = plots.training_curves(histories, key)[0]
    return out


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plots.plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _with_interval(value: float | None, interval: list[float] | None) -> str:
    """A share as a cell: "91.00%", then its interval in small type, "(89.06–92.71)"."""
    cell = html.escape(pct(value))
    if interval is None:
        return cell
    return f"{cell} <small>({interval_text(interval)})</small>"


def _table(datasets: dict[str, Any]) -> str:
    def plain(key: str, fmt: Callable[[Any], str]) -> Callable[[dict[str, Any]], str]:
        return lambda d: html.escape(fmt(d[key])) if d.get(key) is not None else ""

    def share(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda d: _with_interval(d[key], d.get(f"{key}_interval")) if d.get(key) is not None else ""

    cols: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("n", plain("n", str)),
        ("forced accuracy", plain("forced_accuracy", pct)),
        ("refused", share("refused")),
        ("accuracy on accepted", share("accepted_accuracy")),
        ("NLL", plain("nll", lambda v: f"{v:.4f}")),
        ("ECE", plain("ece", pct)),
        ("AUROC", plain("auroc", lambda v: f"{v:.4f}")),
        ("FPR@95%TPR", plain("fpr_at_95_tpr", pct)),
    ]
    if any(d.get("hesitant") for d in datasets.values()):  # the percentile rule's answers naming several classes
        cols.insert(3, ("answered with several classes", plain("hesitant", pct)))
    head = "".join(f"<th>{html.escape(label)}</th>" for label, _ in cols)
    rows = []
    starts = group_starts(datasets)  # the text report's groups: to be answered, to be refused
    for name, d in datasets.items():
        if name in starts:
            rows.append(
                f"<tr><th class='group' colspan='{len(cols) + 1}'>{html.escape(starts[name].strip())}</th></tr>"
            )
        cells = "".join(f"<td>{cell(d)}</td>" for _, cell in cols)
        rows.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>")
    return f"<table><tr><th>data set</th>{head}</tr>{''.join(rows)}</table>"


def _class_table(d: dict[str, Any], classes: list[str]) -> str:
    """A labelled set's figures class by class, then its forced answers' confusion counts (rows:
    the true class)."""
    per = d["per_class"]
    cols = ("n", "forced accuracy", "refused", "accuracy on accepted")
    head = "".join(f"<th>{c}</th>" for c in ("class", *cols, *map(html.escape, classes)))
    rows = []
    for c, name in enumerate(classes):
        shares = (per[key][c] for key in ("forced_accuracy", "refused", "accepted_accuracy"))
        cells = [str(per["n"][c]), *(html.escape(pct(v)) for v in shares)]
        cells += [f"<b>{n}</b>" if j == c else (str(n) if n else "") for j, n in enumerate(d["confusion"][c])]
        rows.append(f"<tr><td>{html.escape(name)}</td>{''.join(f'<td>{x}</td>' for x in cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def write_html_report(report: dict[str, Any], folder: str | Path, warn: Callable[[str], None] | None = None) -> Path:
    """Write ``index.html`` (self-contained) and ``report.json`` into ``folder``; return the HTML path.
    ``warn``: characters of set names the figures' font lacks (drawn as boxes), said once."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(to_json(report), encoding="utf-8")
    with plots.missing_glyphs(folder, warn):
        figs = "".join(
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{_png(fig)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
            for caption, fig in figures(report).items()
        )
    model = report["model"]
    body = [
        f"<h1>idk report: {html.escape(str(model.get('preset')))} on {html.escape(Path(str(model.get('data'))).name)}</h1>",
        f"<p>classes: {html.escape(', '.join(model.get('classes', [])))}; inputs: {html.escape(str(model.get('input')))}</p>",
        *(f"<p class='warning'><strong>Warning:</strong> {html.escape(w)}</p>" for w in report.get("warnings", [])),
        "<h2>Bayesian model</h2>",
        _table(report["datasets"]),
        f"<p>In brackets: the {INTERVAL_LEVEL:.0%} Clopper–Pearson confidence interval of each refused share and "
        "each accuracy on accepted images, in per cent: the true rates that these counts leave plausible.</p>",
    ]
    classes = list(model.get("classes", []))
    name = report.get("in_distribution")  # the model's own test set; the JSON holds every labelled set's
    test = report["datasets"].get(name, {})
    if "per_class" in test and len(test["per_class"]["n"]) == len(classes):  # reports before them have none
        body += [
            f"<h3>{html.escape(name)}, class by class</h3>",
            _class_table(test, classes),
            "<p>Then the forced answers (every image answered): each row a true class, each column the "
            "class answered.</p>",
        ]
    if "twin" in report:
        body += ["<h2>Deterministic twin (softmax)</h2>", _table(report["twin"]["datasets"])]
    body += [
        "<h2>Figures</h2>",
        figs,
        "<h2>Text report</h2>",
        f"<pre>{html.escape(format_report(report))}</pre>",
    ]
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>idk report</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
