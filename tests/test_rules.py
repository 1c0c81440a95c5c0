import numpy as np
import pytest
import torch

from idk.decision.predictive import Predictions, quantile
from idk.decision.rules import PercentileRule, ScoreRule, make_rule, shown_apart, shown_probability
from idk.decision.scores import make_score


def _pred(probs: list[list[list[float]]], q: float = 50.0) -> Predictions:
    """probs (S, N, C) → summaries."""
    p = torch.tensor(probs, dtype=torch.float64)
    return Predictions.from_logits(torch.log(p), q)


def test_quantile_matches_numpy_percentile():
    x = torch.rand(37, 5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for q in (0.0, 0.1, 0.5, 0.73, 1.0):
        np.testing.assert_allclose(quantile(x, q).numpy(), np.percentile(x.numpy(), 100 * q, axis=0), rtol=1e-12)


def test_percentile_rule_on_known_samples():
    # 4 samples, 3 images, 3 classes
    # image 0: always class 0 → accepted {0}
    # image 1: median prob 0.5/0.5 between classes 1 and 2 → "either 1 or 2"
    # image 2: samples scattered over all classes → best median 0.45 ≤ 0.46 → refused
    s = [
        [[0.9, 0.05, 0.05], [0.0 + 1e-9, 0.5, 0.5], [0.8, 0.1, 0.1]],
        [[0.8, 0.1, 0.1], [0.0 + 1e-9, 0.5, 0.5], [0.1, 0.8, 0.1]],
        [[0.95, 0.03, 0.02], [0.0 + 1e-9, 0.5, 0.5], [0.1, 0.1, 0.8]],
        [[0.85, 0.1, 0.05], [0.0 + 1e-9, 0.5, 0.5], [0.8, 0.1, 0.1]],
    ]
    pred = _pred(s)
    d = PercentileRule(50, 0.46).decide(pred)
    assert d.accepted.tolist() == [[True, False, False], [False, True, True], [False, False, False]]
    assert d.refused.tolist() == [False, False, True]
    assert d.label[0] == 0
    # image 2: class 0 has samples (0.8, 0.1, 0.1, 0.8) → median 0.45
    torch.testing.assert_close(
        pred.quantile_probs[2].double(),
        torch.tensor([0.45, 0.1, 0.1], dtype=torch.float64),
        rtol=1e-6,
        atol=1e-6,
    )


def test_a_percentile_answer_naming_every_class_is_refused():
    """A threshold under 1/C (a weak model's calibration can set one) may accept every class: an
    answer that names them all says nothing, and is refused; two classes of three are an answer."""
    pred = _pred([[[0.34, 0.33, 0.33], [0.45, 0.45, 0.1], [0.9, 0.05, 0.05]]])
    d = PercentileRule(50, 0.3).decide(pred)
    assert d.refused.tolist() == [True, False, False]
    assert d.accepted.tolist() == [[False, False, False], [True, True, False], [True, False, False]]
    assert d.label[0] == 0  # the most probable class, still said when refused


def test_stricter_percentile_refuses_more():
    s = torch.softmax(torch.randn(100, 50, 10, generator=torch.Generator().manual_seed(0)) * 2, -1)
    pred = Predictions.from_logits(torch.log(s), 10.0)
    loose = PercentileRule(10, 0.2).decide(pred).refused
    strict = PercentileRule(10, 0.5).decide(pred).refused
    assert (strict | ~loose).all() and strict.sum() >= loose.sum()


def test_score_rule_and_roundtrip():
    pred = _pred([[[0.9, 0.05, 0.05], [0.4, 0.3, 0.3]]])
    rule = ScoreRule(make_score("max-prob"), 0.5)
    d = rule.decide(pred)
    assert d.refused.tolist() == [False, True]
    assert d.accepted.tolist() == [[True, False, False], [False, False, False]]
    again = make_rule(rule.as_dict())
    assert isinstance(again, ScoreRule) and again.threshold == 0.5 and again.score.name == "max-prob"
    assert isinstance(make_rule(PercentileRule(10, 0.5).as_dict()), PercentileRule)


def test_a_rule_dict_of_an_unknown_rule_or_without_its_score_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown rule 'typo'; valid: percentile, score"):
        make_rule({"name": "typo", "score": "entropy", "threshold": 1.0})
    with pytest.raises(ValueError, match="needs its 'score' and 'threshold'"):
        make_rule({"name": "score", "threshold": 1.0})


def test_a_nan_score_is_refused():
    """A diverged model's probabilities are NaN: its score is NaN, and NaN > τ is false; the rule
    refuses it all the same (as the percentile rule does)."""
    pred = _pred([[[float("nan")] * 3, [0.9, 0.05, 0.05]]])
    d = ScoreRule(make_score("entropy"), 0.5).decide(pred)
    assert d.refused.tolist() == [True, False] and not d.accepted[0].any()


def test_percentile_rule_threshold_equivalence():
    rule = PercentileRule(50, 0.2)
    s = torch.softmax(torch.randn(20, 64, 10, generator=torch.Generator().manual_seed(1)) * 3, -1)
    pred = Predictions.from_logits(torch.log(s), 50.0)
    for cutoff in (-0.9, -0.5, -0.3, float(-pred.quantile_probs.max(-1).values[3])):
        refused = rule.with_cutoff(cutoff).decide(pred).refused
        assert torch.equal(refused, rule.refusal_score(pred) > cutoff)  # exact, ties included
    with pytest.raises(ValueError, match="percentile"):
        PercentileRule(150, 0.2)


def test_rules_say_what_they_do_in_a_few_words():
    assert PercentileRule(50, 0.2).summary() == "accept p50 > 0.2"
    assert ScoreRule(make_score("entropy"), 0.34).summary() == "refuse entropy > 0.34"
    # never rounded up past a bound: an entropy over 3 classes is at most ln 3 = 1.0986
    assert ScoreRule(make_score("entropy"), 1.09843).summary() == "refuse entropy > 1.098"
    assert ScoreRule(make_score("entropy"), 0.199996).summary() == "refuse entropy > 0.1999"


def test_a_score_beside_its_threshold_reads_as_the_rule_does_and_in_their_order():
    assert shown_apart(0.43861, 0.4386) == ("0.43861", "0.4386")  # digits enough to tell them apart
    assert shown_apart(0.4523, 0.452189) == ("0.4523", "0.4521")  # the threshold as the summary: "> 0.4521"
    # rounded down from the shortest decimal form: an exact value never loses its last digit
    assert shown_apart(0.5, 0.5000000001) == ("0.5", "0.5") and shown_apart(1000.0, 999.99999) == ("1000", "999.9")
    assert shown_apart(2.667e-05, 0.05) == ("2.667e-05", "0.05")  # written as "%g" writes them
    # rounded the same way, a score under its threshold never reads above it
    rng = np.random.default_rng(0)
    for a, b in rng.uniform(0.45, 0.4502, (2000, 2)):
        x, y = map(float, shown_apart(a, b))
        assert (x < y) == (a < b) and (x > y) == (a > b)


def test_a_rule_on_a_fitted_score_keeps_its_constants_and_refuses_a_dict_without_them():
    val = _pred([[[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]], [[0.8, 0.2], [0.3, 0.7], [0.1, 0.9]]])
    rule = ScoreRule(make_score("entropy-or-mutual-info").fitted(val), 1.0)
    d = rule.as_dict()
    again = make_rule(d)
    assert again.score.scales == rule.score.scales
    assert torch.equal(again.refusal_score(val), rule.refusal_score(val))
    for missing in (None, {}):
        with pytest.raises(ValueError, match="score_params"):
            make_rule({**d, "score_params": missing})
    del d["score_params"]
    with pytest.raises(ValueError, match="score_params"):
        make_rule(d)


def test_each_rule_says_what_it_reads_of_each_class_and_what_it_compares():
    """The percentile rule reads Q_q per class and compares max_c Q_q with t; a score rule reads p̄_c
    and compares u with τ: refused exactly where the compared number is on the refusing side."""
    pred = _pred([[[0.9, 0.05, 0.05], [0.4, 0.3, 0.3]], [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3]]])
    by_percentile, by_score = PercentileRule(50, 0.5), ScoreRule(make_score("max-prob"), 0.5)
    assert by_percentile.statistic == ("p50", "50th-percentile probability")
    assert by_score.statistic == ("mean", "mean probability")
    assert torch.equal(by_percentile.class_statistic(pred), pred.quantile_probs)
    assert torch.equal(by_score.class_statistic(pred), pred.mean_probs)
    assert torch.equal(by_percentile.decide(pred).refused, ~(by_percentile.compared(pred) > 0.5))
    assert torch.equal(by_score.decide(pred).refused, by_score.compared(pred) > 0.5)


def test_the_rule_line_says_where_it_refuses_more_than_its_target():
    """A percentile threshold under 1/C refuses the answers naming every class besides: the line
    says what it refuses of its validation images; at the count its target allows it says nothing more."""
    from idk.decision.rules import describe_rule

    cal = {"method": "refusal quantile", "n": 40, "target_refusal": 0.02, "validation_refused": 0.35}
    weak = {**PercentileRule(50, 0.2).as_dict(), "calibration": cal}
    assert describe_rule(weak).endswith(
        "(calibrated to refuse 2% of 40 validation images; it refuses 35% of them: answers naming every class, "
        "refused besides its threshold)"
    )
    one_more = {**weak, "calibration": {**cal, "validation_refused": 0.025}}  # 1 of 40 where 2% allows none
    assert describe_rule(one_more).endswith(
        "it refuses 2.5% of them: answers naming every class, refused besides its threshold)"
    )
    older = {**weak, "calibration": {k: v for k, v in cal.items() if k != "validation_refused"}}
    assert describe_rule(older).endswith("(calibrated to refuse 2% of 40 validation images)")
    # counts whose float product rounds either way: 29 of 1400 at 2% (28 allowed), 15 of 200 at 7% (14)
    for n, target, refused in ((1400, 0.02, 29), (200, 0.07, 15), (1400, 0.02, 28), (200, 0.07, 14)):
        line = describe_rule(
            {**weak, "calibration": {**cal, "n": n, "target_refusal": target, "validation_refused": refused / n}}
        )
        assert ("it refuses" in line) == (refused > round(n * target)), (n, target, refused)
    diverged = {**ScoreRule(make_score("max-prob"), 0.1).as_dict(), "calibration": cal}  # NaN scores: no reason told
    assert describe_rule(diverged).endswith("(calibrated to refuse 2% of 40 validation images; it refuses 35% of them)")


def test_probabilities_are_shown_rounded_down_so_that_one_means_certain():
    assert [shown_probability(p) for p in (0.996, 0.29, 0.5, 1.0, 0.0049, 0.0)] == [
        "0.99",
        "0.29",  # 0.29 · 100 is 28.999999999999996 in floats: not "0.28"
        "0.50",
        "1.00",
        "0.00",
        "0.00",
    ]
    assert shown_probability(float("nan")) == "nan"
    # float32, as idk explain reads them: 0.29 is 0.2899999916... there (it read "0.28")
    assert [shown_probability(np.float32(p)) for p in (0.29, 0.57, 0.58)] == ["0.29", "0.57", "0.58"]
    assert shown_probability(0.9999996) == "1.00" and shown_probability(0.9999994) == "0.99"  # six digits first


def test_a_rule_refuses_predictions_summarised_at_another_percentile():
    """Predictions of the median met by a rule of the 10th percentile were decided on silently (a
    library user's predict() with its default percentile); now an IdkError names the fix. A score
    rule reading no percentile takes them whatever their percentile."""
    from idk.errors import IdkError

    pred = _pred([[[0.9, 0.1]], [[0.6, 0.4]], [[0.2, 0.8]]], q=50.0)
    for rule in (PercentileRule(10.0, 0.4), ScoreRule(make_score("percentile"), 0.5, percentile=10.0)):
        for read in (rule.decide, rule.compared, rule.refusal_score):
            with pytest.raises(IdkError, match=r"50th-percentile .* reads the 10th: .*percentile=10"):
                read(pred)
    assert PercentileRule(50.0, 0.4).decide(pred).refused.tolist() == [False]
    assert ScoreRule(make_score("entropy"), 0.5, percentile=10.0).decide(pred).refused.shape == (1,)
