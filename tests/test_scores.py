import math

import pytest
import torch

from helpers import energy_score
from idk.decision.predictive import Predictions
from idk.decision.scores import SCORES, make_score


def _pred(probs, q=50.0):
    return Predictions.from_logits(torch.log(torch.tensor(probs, dtype=torch.float64)), q)


def test_two_samples_that_disagree_completely_give_mutual_information_ln2():
    eps = 1e-12
    pred = _pred([[[1 - eps, eps]], [[eps, 1 - eps]]])
    assert make_score("mutual-info")(pred).item() == pytest.approx(math.log(2), abs=1e-9)
    assert make_score("expected-entropy")(pred).item() == pytest.approx(0.0, abs=1e-9)
    assert make_score("entropy")(pred).item() == pytest.approx(math.log(2), abs=1e-9)
    assert make_score("max-prob")(pred).item() == pytest.approx(0.5)


def test_agreeing_uncertain_samples_are_aleatoric_not_epistemic():
    pred = _pred([[[0.5, 0.5]], [[0.5, 0.5]], [[0.5, 0.5]]])
    assert make_score("mutual-info")(pred).item() == pytest.approx(0.0, abs=1e-12)
    assert make_score("expected-entropy")(pred).item() == pytest.approx(math.log(2))


def test_uniform_over_ten_classes_has_entropy_ln10_and_percentile_score():
    pred = _pred([[[0.1] * 10]] * 5, q=10)
    assert make_score("entropy")(pred).item() == pytest.approx(math.log(10))
    assert make_score("percentile")(pred).item() == pytest.approx(0.9)


def test_percentile_score_uses_the_requested_percentile():
    samples = [[[p, 1 - p]] for p in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 - 1e-12)]
    pred = _pred(samples, q=10)
    # class 0's 10th percentile of (0.1..1.0) = 0.19; class 1's = 1 - 90th pct of class 0 = 0.1 + 0.09 = 0.19
    assert make_score("percentile")(pred).item() == pytest.approx(1 - 0.19, abs=1e-9)


def test_factory_lists_valid_names():
    with pytest.raises(ValueError) as err:
        make_score("nonsense")
    for name in SCORES:
        assert name in str(err.value)
    for name, cls in SCORES.items():
        assert "=" in cls.__doc__, f"{name} must state its formula"


def test_either_score_divides_each_part_by_its_validation_quantile():
    """Closed form: 101 validation inputs, 98 sure (H = I = 0), 1 ambiguous (H = ln 2, I = 0) and 2
    disputed (H = I = ln 2). The 99th percentile (torch.quantile: index 0.99 · 100 = 99 of the sorted
    values, exactly) is ln 2 for both parts, so a = b = ln 2: a sure input scores 0, an ambiguous
    one H / a = 1, a disputed one max(H / a, I / b) = 1."""
    eps = 1e-12
    sure = [[1 - eps, eps], [1 - eps, eps]]
    ambiguous = [[0.5, 0.5], [0.5, 0.5]]
    disputed = [[1 - eps, eps], [eps, 1 - eps]]
    rows = [sure] * 98 + [ambiguous] + [disputed] * 2
    val = _pred([[row[s] for row in rows] for s in range(2)])  # (S=2, N=101, C=2)
    score = make_score("entropy-or-mutual-info").fitted(val)
    assert score.scales == pytest.approx((math.log(2), math.log(2)), rel=1e-9)
    u = score(_pred([[sure[0], ambiguous[0], disputed[0]], [sure[1], ambiguous[1], disputed[1]]]))
    assert u.tolist() == pytest.approx([0.0, 1.0, 1.0], abs=1e-9)
    assert make_score(score.name, score.params()).scales == score.scales
    assert "0.693" in score.describe()  # the scales in words


def test_an_unfitted_score_refuses_to_score():
    unfitted = make_score("entropy-or-mutual-info")
    assert unfitted.params() == {}
    with pytest.raises(ValueError, match="no scales"):
        unfitted(_pred([[[0.7, 0.3]]]))
    with pytest.raises(ValueError, match="needs validation predictions"):
        unfitted.fitted(Predictions.from_logits(torch.zeros(3, 0, 2), 50.0))


def test_either_score_refuses_what_either_part_refuses():
    """u > 1 exactly when H[p̄] > a or I > b."""
    torch.manual_seed(0)
    logits = 3 * torch.randn(20, 500, 4, dtype=torch.float64)
    pred = Predictions.from_logits(logits, 50.0)
    score = make_score("entropy-or-mutual-info").fitted(pred)
    total = make_score("entropy")(pred)
    epistemic = make_score("mutual-info")(pred)
    a, b = score.scales
    assert torch.equal(score(pred) > 1, (total > a) | (epistemic > b))


def test_scores_without_constants_ignore_fitting_and_fitted_ones_need_two_positive_scales():
    pred = _pred([[[0.7, 0.3]], [[0.6, 0.4]]])
    for name, cls in SCORES.items():
        if not cls.fits:
            score = make_score(name)
            assert score.fitted(pred) is score and score.params() == {}
    with pytest.raises(ValueError, match="two positive scales"):
        make_score("entropy-or-mutual-info", {"scales": [1.0, 0.0]})


def test_a_score_of_ones_own_joins_the_registry_and_stays_out_of_auto_unless_it_opts_in(monkeypatch):
    """An energy score, u = −log Σ_c exp(z̄_c) (of the mean logits): negative values, its own histogram
    range, and no candidate of "auto" unless its class says so (a new candidate changes the default's rule)."""
    from idk.decision.scores import auto_candidates, parameter_free
    from idk.evaluation.evaluate import HISTOGRAM_BINS, score_histogram

    energy = energy_score()
    monkeypatch.setitem(SCORES, "energy", energy)
    assert "energy" in parameter_free() and "energy" not in auto_candidates()
    # "auto"'s candidates are pinned: a new one changes the rule of every model trained with "auto"
    assert auto_candidates() == ["max-prob", "entropy", "expected-entropy", "mutual-info", "percentile"]
    monkeypatch.setitem(SCORES, "energy", type("Candidate", (energy,), {"auto_candidate": True}))
    assert "energy" in auto_candidates()
    pred = Predictions.from_logits(torch.tensor([[[5.0, 1.0, 0.0]], [[4.0, 2.0, 0.0]]]), 50.0)
    u = make_score("energy")(pred)
    assert u.item() == pytest.approx(-torch.logsumexp(pred.mean_logits, -1).item()) and u.item() < 0
    histogram = score_histogram(torch.tensor([-12.0, -3.0, -1.0]), make_score("energy").bounds(3))
    assert histogram["edges"][0] == -60.0 and histogram["edges"][-1] == 10.0
    assert sum(c > 0 for c in histogram["counts"]) == 3 and len(histogram["counts"]) == HISTOGRAM_BINS
    with pytest.raises(ValueError, match=r"idk\.decision\.scores\.SCORES"):
        make_score("gini")


def test_a_score_records_the_name_it_is_registered_under(monkeypatch):
    """A class of one's own that sets no ``name``, or inherits a built-in's, is recorded by its key in
    SCORES (a rule naming "max-prob" for it would be loaded as another score, "" not at all)."""
    from idk.decision.rules import make_rule, rule_for
    from idk.decision.scores import MaxProbability, Score

    class Gap(Score):
        """u = 1 − (p̄_(1) − p̄_(2))  (the gap between the two largest mean probabilities)."""

        def __call__(self, pred):
            top = pred.mean_probs.topk(2, -1).values
            return 1 - (top[..., 0] - top[..., 1])

    monkeypatch.setitem(SCORES, "gap", Gap)
    monkeypatch.setitem(SCORES, "max-prob-again", type("Again", (MaxProbability,), {}))
    for name in ("gap", "max-prob-again"):
        stored = rule_for(name, threshold=0.3).as_dict()
        assert stored["score"] == name and make_rule(stored).score.name == name
    assert Gap.name == "" and MaxProbability.name == "max-prob"  # the classes themselves are left as they are


def test_a_fitted_score_keeps_its_class_and_the_name_it_is_registered_under(monkeypatch):
    """Fitting makes a new score (its scales from validation predictions): of the registered class,
    under the registered name, so a rule records what loads it again."""
    from idk.decision.rules import make_rule, rule_for
    from idk.decision.scores import EntropyOrMutualInformation, fitted_score

    mine = type("Mine", (EntropyOrMutualInformation,), {})  # no name of its own: the built-in's
    monkeypatch.setitem(SCORES, "mine", mine)
    pred = _pred([[[0.7, 0.3], [0.9, 0.1]], [[0.6, 0.4], [0.2, 0.8]]])
    fitted = fitted_score("mine", pred)
    assert type(fitted) is mine and fitted.name == "mine" and fitted.scales is not None
    stored = rule_for("mine", threshold=1.0, params=fitted.params()).as_dict()
    assert stored["score"] == "mine" and type(make_rule(stored).score) is mine
