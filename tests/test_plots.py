"""Figures from numbers: each plot takes ``ax=None`` and returns ``(fig, ax)``."""

from __future__ import annotations

from idk.evaluation import plots  # its figures drawn off-screen (Agg)
from idk.evaluation.html_report import figures

EDGES = [0.0, 0.5, 1.0]


def test_score_histograms_draw_the_in_distribution_set_first_in_black_and_the_threshold():
    fig, ax = plots.score_histograms(
        {"test": {"edges": EDGES, "counts": [9.0, 1.0]}, "noise": {"edges": EDGES, "counts": [0.0, 5.0]}},
        "entropy",
        threshold=0.4,
    )
    first = ax.patches[0]
    assert first.get_edgecolor()[:3] == (0.0, 0.0, 0.0)
    assert [line.get_xdata()[0] for line in ax.lines] == [0.4]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["test (10)", "noise (5)", "threshold 0.4"]
    plots.plt.close(fig)
    # labelled as the rule's summary writes its threshold: rounded down, never up past it
    fig, ax = plots.score_histograms({"test": {"edges": EDGES, "counts": [9.0, 1.0]}}, "entropy", threshold=0.452689)
    assert ax.get_legend().get_texts()[-1].get_text() == "threshold 0.4526"
    plots.plt.close(fig)
    # an infeasible error target's threshold lies below every score: no line, the axis left as it is
    fig, ax = plots.score_histograms({"test": {"edges": EDGES, "counts": [9.0, 1.0]}}, "entropy", threshold=-1.0)
    assert not ax.lines and ax.get_xlim()[0] > -0.5
    plots.plt.close(fig)


def test_the_reports_threshold_line_is_on_the_histograms_axis_for_either_rule():
    """A score rule refuses above τ; the percentile rule refuses when max_c Q_q ≤ t, i.e. at the
    percentile score u = 1 − max_c Q_q ≥ 1 − t."""
    test = {
        "score_histogram": {"edges": EDGES, "counts": [3.0, 1.0]},
        "risk_coverage": {"coverage": [0.5, 1.0], "risk": [0.0, 0.1]},
        "reliability": {"confidence": [0.9], "accuracy": [0.9], "count": [4.0]},
    }
    for rule, line in (
        ({"name": "score", "score": "entropy", "threshold": 0.3}, 0.3),
        ({"name": "percentile", "score": "percentile", "percentile": 50.0, "threshold": 0.2}, 0.8),
    ):
        report = {"in_distribution": "t", "datasets": {"t": test}, "rule": rule}
        fig = figures(report)["Uncertainty score, in vs out of distribution"]
        assert [round(float(ln.get_xdata()[0]), 9) for ln in fig.axes[0].lines] == [line]
        plots.plt.close("all")


def test_training_curves_draw_each_part_and_the_held_out_error_in_percent():
    histories = {
        "bayes 1/2": [
            {"epoch": 1, "loss": 2.0, "held_out_accuracy": 0.9},
            {"epoch": 2, "loss": 1.5, "held_out_accuracy": 0.99},
        ],
        "bayes 2/2": [
            {"epoch": 1, "loss": 2.1},
            {"epoch": 2, "loss": 1.6},
        ],  # an older checkpoint's: no held-out figures
        "twin": [{"epoch": 1, "loss": 1.2, "held_out_accuracy": 1.0}],
    }
    fig, ax = plots.training_curves(histories, "held_out_accuracy")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["bayes 1/2", "twin"]
    first, twin = ax.lines
    assert list(first.get_xdata()) == [1, 2] and [round(v, 9) for v in first.get_ydata()] == [10.0, 1.0]
    assert list(twin.get_ydata()) == [0.01]  # no error at all: drawn at the log axis' floor, 0.01%
    assert ax.get_yscale() == "log"
    plots.plt.close(fig)
    fig, ax = plots.training_curves(histories)  # the loss: three lines, a linear axis for a narrow span
    assert len(ax.lines) == 3 and ax.get_yscale() == "linear"
    plots.plt.close(fig)
    report = {"training": {"histories": histories}}
    shown = figures({**report, **_one_set_report()})
    assert {"Training loss per epoch", "Held-out error per epoch"} <= set(shown)
    plots.plt.close("all")


def _one_set_report() -> dict:
    test = {
        "score_histogram": {"edges": EDGES, "counts": [3.0, 1.0]},
        "risk_coverage": {"coverage": [0.5, 1.0], "risk": [0.0, 0.1]},
        "reliability": {"confidence": [0.9], "accuracy": [0.9], "count": [4.0]},
    }
    return {
        "in_distribution": "t",
        "datasets": {"t": test},
        "rule": {"name": "score", "score": "entropy", "threshold": 0.3},
    }


def test_the_explanation_wraps_many_classes_into_rows():
    """13 panels (the image and 12 classes) in rows of six: three rows, the spare cells blank."""
    import numpy as np

    classes = tuple(f"class {c}" for c in range(12))
    log_probs = np.log(np.full((20, 12), 1 / 12))
    fig, axes = plots.explanation(
        log_probs, np.zeros((8, 8, 3)), np.zeros(12, bool), np.full(12, 1 / 12), "I don't know", classes=classes
    )
    assert len(axes) == 13 and len(fig.axes) == 18
    assert [ax.get_title() for ax in axes[1:3]] == ["class 0: 0.08", "class 1: 0.08"]
    assert fig.get_size_inches()[0] == 2.0 * plots.PANELS_PER_ROW and fig.get_size_inches()[1] == 2.4 * 3
    assert not any(ax.axison for ax in fig.axes[13:])
    plots.plt.close(fig)


def test_characters_the_font_lacks_are_collected_once_not_printed(tmp_path, recwarn):
    import warnings

    fig, ax = plots.plt.subplots()
    ax.set_title("日本 stripes")
    with plots.missing_glyphs() as missing:
        fig.savefig(tmp_path / "f.png")
        warnings.warn("another warning", UserWarning, stacklevel=1)  # passed on
    plots.plt.close(fig)
    assert missing == {"日", "本"}
    assert [str(w.message) for w in recwarn] == ["another warning"]
    said: list[str] = []  # with a warn: one sentence naming the file and matplotlib's own font
    fig, ax = plots.plt.subplots()
    ax.set_title("本日")
    with plots.missing_glyphs("f.png", said.append):
        fig.savefig(tmp_path / "f.png")
    plots.plt.close(fig)
    assert said == ["f.png: the font (DejaVu Sans) has no glyph for 日本: drawn as boxes"]
