"""A self-contained HTML report: the tables and every figure embedded as PNG data URIs."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from idk.evaluation import plots
from idk.evaluation.report import format_report, pct

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { display: inline-block; margin: 0.5em; }
img { max-width: 520px; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
"""


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """The report's figures, keyed by caption (matplotlib figures)."""
    mnist = report["datasets"]["mnist-test"]
    out: dict[str, Any] = {}
    curves = {"idk (Bayesian)": mnist["risk_coverage"]}
    if "twin" in report:
        curves["deterministic twin"] = report["twin"]["datasets"]["mnist-test"]["risk_coverage"]
    out["Risk–coverage on MNIST test"] = plots.risk_coverage(curves)[0]
    fig, ax = plots.reliability(mnist["reliability"], label="idk (Bayesian)")
    if "twin" in report:
        plots.reliability(report["twin"]["datasets"]["mnist-test"]["reliability"], ax=ax, label="deterministic twin")
    out["Reliability diagram (15 bins), MNIST test"] = fig
    histograms = {name: d["score_histogram"] for name, d in report["datasets"].items() if "score_histogram" in d}
    out["Uncertainty score, in vs out of distribution"] = plots.score_histograms(
        histograms, report["rule"].get("score", "percentile")
    )[0]
    return out


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plots.plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _table(datasets: dict[str, Any]) -> str:
    cols = [
        ("n", "n", str),
        ("forced_accuracy", "forced accuracy", pct),
        ("refused", "refused", pct),
        ("accepted_accuracy", "accuracy on accepted", pct),
        ("nll", "NLL", lambda v: f"{v:.4f}"),
        ("ece", "ECE", pct),
        ("auroc", "AUROC", lambda v: f"{v:.4f}"),
        ("fpr_at_95_tpr", "FPR@95%TPR", pct),
    ]
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in cols)
    rows = []
    for name, d in datasets.items():
        cells = "".join(
            f"<td>{html.escape(fmt(d[key])) if key in d and d[key] is not None else ''}</td>" for key, _, fmt in cols
        )
        rows.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>")
    return f"<table><tr><th>data set</th>{head}</tr>{''.join(rows)}</table>"


def write_html_report(report: dict[str, Any], folder: str | Path) -> Path:
    """Write ``index.html`` (self-contained) and ``report.json`` into ``folder``; return the HTML path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    figs = "".join(
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{_png(fig)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        for caption, fig in figures(report).items()
    )
    body = [
        f"<h1>idk report: {html.escape(str(report['model'].get('preset')))}</h1>",
        "<h2>Bayesian model</h2>",
        _table(report["datasets"]),
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
    path.write_text(page)
    return path
