"""idk explain: the tutorial's figure for a test image (by index), a file or pixels, answered as idk predict answers."""

from __future__ import annotations

import numpy as np
import pytest

from idk.decision.rules import PercentileRule
from idk.training import checkpoint


def test_explain_answers_a_blank_image_as_predict_does(cnn_model, user_files, tmp_path, monkeypatch):
    """A blank page is "I don't know" in explain's figure too, even under a rule that refuses nothing, and
    its figure has no class panels (no network was asked, as predict prints no probabilities)."""
    from idk.apps.explain import explain

    model, ckpt = checkpoint.load(cnn_model)
    refuses_nothing = ckpt.decision_rule().with_cutoff(float("inf"))
    monkeypatch.setattr(type(ckpt), "decision_rule", lambda self: refuses_nothing)
    out = tmp_path / "explained.png"
    from idk.evaluation import plots

    real = plots.explanation
    monkeypatch.setattr(plots, "explanation", lambda *a, **k: pytest.fail("class panels drawn for a blank page"))
    assert explain(model, ckpt, str(user_files / "blank.png"), out, samples=20) == "I don't know"
    assert out.stat().st_size > 0
    monkeypatch.setattr(plots, "explanation", real)
    assert explain(model, ckpt, str(user_files / "seven.jpg"), out, samples=20) != "I don't know"


def test_explain_titles_the_statistic_its_rule_reads_as_predict_shows_it(cnn_model, user_files, tmp_path, monkeypatch):
    """Under a score rule the bars' titles are the mean probabilities predict prints (they were the
    10th percentile, unnamed); the figure names the statistic."""
    from idk.apps.explain import explain
    from idk.apps.predict import predict_images
    from idk.evaluation import plots

    model, ckpt = checkpoint.load(cnn_model)
    assert not isinstance(ckpt.decision_rule(), PercentileRule)
    drawn = {}
    real = plots.explanation
    monkeypatch.setattr(plots, "explanation", lambda *a, **k: drawn.update(stat=a[3], **k) or real(*a, **k))
    explain(model, ckpt, str(user_files / "seven.jpg"), tmp_path / "e.png", samples=20)
    shown = predict_images(model, ckpt, [("seven", str(user_files / "seven.jpg"))], 20)[0].probabilities["mean"]
    assert drawn["stat_name"] == "mean probability"
    assert np.allclose(drawn["stat"], shown, atol=0.006)  # predict rounds them to two decimals


def test_explain_takes_an_index_as_a_number_and_pixels_as_predict_does(cnn_model, mnist_test, tmp_path):
    """From Python, explain's target may be an int (an index into the model's test set) or decoded
    pixels, as predict_images takes them (it took the command's text alone: an int crashed)."""
    from idk.apps.explain import explain
    from idk.errors import IdkError

    model, ckpt = checkpoint.load(cnn_model)
    by_number = explain(model, ckpt, 0, tmp_path / "a.png", samples=10)
    assert by_number == explain(model, ckpt, "0", tmp_path / "b.png", samples=10)
    assert by_number.endswith(f"labelled {ckpt.classes[int(mnist_test.labels[0])]})")
    pixels = mnist_test.images[0, 0].numpy()
    assert explain(model, ckpt, pixels, tmp_path / "c.png", samples=10) == by_number.split(" (")[0]
    with pytest.raises(IdkError, match="index out of range"):
        explain(model, ckpt, -1, tmp_path / "d.png", samples=10)
