import itertools
import math

import numpy as np
import pytest
import torch

from idk.evaluation import metrics


def test_auroc_matches_pairwise_definition_with_ties():
    g = torch.Generator().manual_seed(0)
    u_in = torch.randint(0, 5, (40,), generator=g).double()
    u_out = torch.randint(2, 8, (30,), generator=g).double()
    pairs = [(1.0 if o > i else 0.5 if o == i else 0.0) for i, o in itertools.product(u_in.tolist(), u_out.tolist())]
    assert metrics.auroc(u_in, u_out) == pytest.approx(np.mean(pairs))
    assert metrics.auroc(torch.zeros(3), torch.ones(3)) == 1.0


def test_fpr_at_95_tpr():
    u_out = torch.arange(100, dtype=torch.float64)  # flag 95 of them: θ = 5
    u_in = torch.tensor([0.0, 4.0, 5.0, 50.0])
    assert metrics.fpr_at_tpr(u_in, u_out, 0.95) == 0.5


def test_ece_nll_brier_on_known_values():
    p = torch.tensor([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]], dtype=torch.float64)
    y = torch.tensor([0, 1, 1])
    assert metrics.nll(p, y) == pytest.approx(-(np.log(0.8) + np.log(0.4) + np.log(0.7)) / 3)
    assert metrics.brier(p, y) == pytest.approx(((0.2**2 * 2) + (0.6**2 * 2) + (0.3**2 * 2)) / 3)
    # bins (15): 0.8 → bin 12 (acc 1), 0.6 → bin 9 (acc 0), 0.7 → bin 10 (acc 1)
    assert metrics.ece(p, y) == pytest.approx((0.2 + 0.6 + 0.3) / 3)


def test_risk_coverage_and_aurc():
    u = torch.tensor([0.1, 0.2, 0.3, 0.4])
    correct = torch.tensor([True, True, False, True])
    cov, risk = metrics.risk_coverage(u, correct)
    assert cov.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert risk.tolist() == pytest.approx([0, 0, 1 / 3, 1 / 4])
    assert metrics.aurc(u, correct) == pytest.approx((1 / 3 + 1 / 4) / 4)
    assert metrics.accuracy_at_coverage(u, correct, 0.5) == 1.0
    assert metrics.accuracy_at_coverage(u, correct, 0.75) == pytest.approx(2 / 3)


def test_out_of_distribution_metrics_of_an_empty_set_are_nan():
    u = torch.rand(10, dtype=torch.float64)
    empty = torch.empty(0, dtype=torch.float64)
    for metric in (metrics.auroc, metrics.fpr_at_tpr):
        assert math.isnan(metric(u, empty)) and math.isnan(metric(empty, u))


def test_the_report_json_is_strict_with_nan_as_null(tmp_path):
    import json

    from idk.evaluation.report import write_json

    write_json({"accepted_accuracy": math.nan, "rows": [1.0, math.inf, {"x": -math.inf}]}, tmp_path / "r.json")
    text = (tmp_path / "r.json").read_text()
    assert json.loads(text) == {"accepted_accuracy": None, "rows": [1.0, None, {"x": None}]}
    assert "NaN" not in text and "Infinity" not in text


def test_the_reported_risk_coverage_curve_ends_at_full_coverage():
    from idk.evaluation.evaluate import CURVE_POINTS, curve_points

    for n in (1, 7, CURVE_POINTS, 10000, 10001):
        kept = curve_points(n)
        assert kept[0] == 0 and kept[-1] == n - 1 and len(kept) <= CURVE_POINTS + 2
        assert (kept[1:] > kept[:-1]).all()


def test_per_class_figures_and_the_confusion_counts():
    """Class by class, by hand: 3 classes, the last with no image (NaN), one refused image."""
    y = torch.tensor([0, 0, 0, 1, 1])
    forced = torch.tensor([0, 0, 1, 1, 0])  # the forced answers (other draws)
    label = torch.tensor([0, 2, 0, 1, 0])  # the rule's answers: the second refused
    refused = torch.tensor([False, True, False, False, False])
    per = metrics.per_class(forced, label, refused, y, 3)
    assert per["n"] == [3, 2, 0]
    assert per["forced_accuracy"][:2] == [pytest.approx(2 / 3), 0.5] and math.isnan(per["forced_accuracy"][2])
    assert per["refused"][:2] == [pytest.approx(1 / 3), 0.0] and math.isnan(per["refused"][2])
    assert per["accepted_accuracy"][:2] == [1.0, 0.5]  # class 0: images 0 and 2 answered 0, both right
    assert metrics.confusion(forced, y, 3) == [[2, 1, 0], [1, 1, 0], [0, 0, 0]]
