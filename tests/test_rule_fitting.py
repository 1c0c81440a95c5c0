import pytest
import torch

from idk.decision.predictive import Predictions
from idk.decision.rules import PercentileRule, ScoreRule
from idk.training.config import RuleConfig
from idk.training.rule_fitting import (
    base_rule,
    calibrate,
    choose_score,
    refusal_difference_errors,
)


def _pred(probs: torch.Tensor) -> Predictions:
    return Predictions.from_logits(torch.log(probs.clamp_min(1e-12)), 10.0)


def test_choose_score_prefers_the_score_that_refuses_outliers():
    g = torch.Generator().manual_seed(0)
    # in distribution: samples agree on a confident answer
    val = torch.softmax(
        8 * torch.eye(10)[torch.randint(0, 10, (500,), generator=g)] + 0.1 * torch.randn(20, 500, 10, generator=g), -1
    )
    labels = val.mean(0).argmax(-1)
    # outliers: every sample is confident, but the samples disagree → only disagreement-aware scores see it
    out = torch.softmax(8 * torch.eye(10)[torch.randint(0, 10, (20, 300), generator=g)], -1)
    chosen, info = choose_score(_pred(val), labels, {"disagreeing": _pred(out)}, 0.02)
    assert chosen != "expected-entropy"
    assert info["scores"][chosen]["refused:disagreeing"] > 0.9
    assert info["scores"]["expected-entropy"]["refused:disagreeing"] < 0.5
    assert "entropy-or-mutual-info" not in info["scores"]  # a fitted score is a preset's choice, not auto's


def test_a_score_the_same_on_every_validation_image_is_not_chosen():
    """A model of one network (every weight a point mass) gives S equal draws: its mutual information
    is rounding noise, which must not be chosen (a walk's MAP model was given it, threshold 2.4e-07)."""
    g = torch.Generator().manual_seed(0)
    val = torch.softmax(3 * torch.randn(500, 10, generator=g), -1).expand(8, -1, -1)  # 8 equal draws
    out = torch.softmax(0.3 * torch.randn(300, 10, generator=g), -1).expand(8, -1, -1)  # uncertain, as equal
    labels = val[0].argmax(-1)
    chosen, info = choose_score(_pred(val), labels, {"flat-ones": _pred(out)}, 0.02)
    assert "mutual-info" not in info["scores"] and chosen in info["scores"]
    assert "mutual-info left out: the same on every validation image" in info["criterion"]


def test_refusal_difference_errors_match_the_binomial_one_where_the_threshold_stands_still():
    """Every validation score 0: the threshold is 0 in every resampling, and only the outliers
    vary. Score "all" refuses each of n outliers, "half" the first k: their difference is the
    share of resampled outliers among the other n − k, sd √(q(1 − q)/n), q = (n − k)/n (0.0158 for
    n = 1000, k = 500). The error used, half the central 68% of 400 resamplings, estimates it to
    about 5% (a quantile's precision): tolerance 12%, about 2.5 of those."""
    n, k = 1000, 500
    u_val = {name: torch.zeros(200) for name in ("all", "half")}
    u_out = {"all": {"set": torch.ones(n)}, "half": {"set": torch.cat([torch.ones(k), torch.zeros(n - k)])}}
    errors = refusal_difference_errors(u_val, u_out, 0.02, "all")
    q = (n - k) / n
    assert errors["all"] == 0.0
    assert errors["half"] == pytest.approx((q * (1 - q) / n) ** 0.5, rel=0.12)
    torch.manual_seed(123)  # the global generator plays no part: seeded, the same every call
    assert refusal_difference_errors(u_val, u_out, 0.02, "all") == errors
    with pytest.raises(ValueError, match="at least 2 resamplings"):
        refusal_difference_errors(u_val, u_out, 0.02, "all", draws=1)
    with pytest.raises(ValueError, match="no images to resample"):
        refusal_difference_errors(u_val, {"all": {"set": torch.ones(0)}, "half": {"set": torch.ones(0)}}, 0.02, "all")


def test_refusal_difference_errors_do_not_hang_on_the_chunk_size(monkeypatch):
    """Each resampling draws its images in turn: one at a time or all at once, the same errors."""
    from idk.training import rule_fitting

    g = torch.Generator().manual_seed(1)
    u_val = {name: torch.rand(300, generator=g) for name in ("a", "b")}
    u_out = {name: {k: torch.rand(200, generator=g) + 0.4 for k in ("x", "y")} for name in ("a", "b")}
    errors = refusal_difference_errors(u_val, u_out, 0.05, "a", draws=40)
    monkeypatch.setattr(rule_fitting, "BOOTSTRAP_CHUNK", 1)  # one resampling a chunk
    assert refusal_difference_errors(u_val, u_out, 0.05, "a", draws=40) == errors and errors["b"] > 0


def test_refusal_difference_errors_are_paired():
    """A score that orders every image as another does (2u + 1) refuses the same images at its own
    threshold in every resampling: their difference, and its error, is 0 only if the validation
    and the outlier images are resampled alike for both."""
    g = torch.Generator().manual_seed(0)
    u, out = torch.rand(500, generator=g), torch.rand(300, generator=g) + 0.5
    errors = refusal_difference_errors({"u": u, "v": 2 * u + 1}, {"u": {"s": out}, "v": {"s": 2 * out + 1}}, 0.02, "u")
    assert errors == {"u": 0.0, "v": 0.0}


def test_refusal_difference_errors_see_the_threshold_move():
    """Validation scores spread evenly over [0, 1]: the 2% threshold of 1,000 of them moves by
    about √(0.02 · 0.98 / 1000) ≈ 0.0044 between resamplings. Outliers spread over [0.97, 0.99],
    about the threshold, are refused in a share that moves with it by ~0.0044 / 0.02 of them: 22%
    (6.6 points here, for 300 of 1,000); outliers far above it (score "far") do not move. The
    binomial error of the outliers alone would say 1.5 points; the bootstrap's exceeds 4."""
    u = torch.linspace(0, 1, 1000)
    near = torch.cat([torch.full((200,), 1.5), torch.linspace(0.97, 0.99, 300), torch.zeros(500)])
    far = torch.cat([torch.full((330,), 1.5), torch.full((670,), 0.5)])
    errors = refusal_difference_errors({"near": u, "far": u}, {"near": {"s": near}, "far": {"s": far}}, 0.02, "far")
    assert 0.05 < errors["near"] < 0.085  # ±25% about 0.066


def test_choose_score_breaks_refusals_within_sampling_error_by_auroc(monkeypatch):
    """Scores refusing the same share to within the bootstrapped standard error of their difference
    are equal: the better ranking wins. "coarse" refuses 35% by outliers placed about the
    threshold, where it moves between resamplings (error ~6.6 points); "fine" refuses 33%, the
    rest well ranked (AUROC ~0.93): equal, and "fine" wins (the binomial error of the outliers
    alone, 1.5 points, would have let "coarse" win by its 2). A score refusing clearly more wins
    whatever its AUROC. The criterion names the case: a leader ahead of the chosen score by less than
    the error, a chosen leader with others within it, a leader alone, a single candidate."""
    from idk.training import rule_fitting

    val, out = _pred(torch.full((2, 1000, 10), 0.1)), _pred(torch.full((2, 1000, 10), 0.1))
    u_val = torch.linspace(0, 1, 1000)  # the 2% threshold: 0.98

    scores = {
        "coarse": torch.cat([torch.full((200,), 1.5), torch.linspace(0.97, 0.99, 300), torch.zeros(500)]),
        "fine": torch.cat([torch.full((330,), 1.5), torch.full((670,), 0.9)]),
        "more": torch.cat([torch.full((700,), 1.5), torch.zeros(300)]),  # 70%, AUROC ~0.70
    }

    def run(names):
        monkeypatch.setattr(rule_fitting, "auto_candidates", lambda: names)
        monkeypatch.setattr(rule_fitting, "make_score", lambda n: lambda p: u_val if p is val else scores[n])
        return choose_score(val, torch.zeros(1000, dtype=torch.long), {"set": out}, 0.02)

    chosen, info = run(("coarse", "fine"))
    coarse, fine = info["scores"]["coarse"], info["scores"]["fine"]
    assert coarse["mean_refused"] == pytest.approx(0.35, abs=0.005) and fine["mean_refused"] == pytest.approx(0.33)
    assert chosen == "fine" and info["equal"] == ["coarse", "fine"]
    assert info["standard_errors"]["fine"] > 0.04 > coarse["mean_refused"] - fine["mean_refused"]
    assert fine["mean_auroc"] > 0.9 > 0.6 > coarse["mean_auroc"]
    assert "as many synthetic outliers as any within sampling error (33.0%" in info["criterion"]
    se = 100 * info["standard_errors"]["fine"]
    assert (
        f"; coarse refuses the most, 35.0%: 2.0 points more, within the bootstrapped standard error of the difference "
        f"({se:.1f} points))" in info["criterion"]
    )
    chosen, info = run(("coarse", "fine", "more"))
    assert chosen == "more" and info["equal"] == ["more"]
    assert (
        "(70.0% on average over set; it refuses the most, every other score fewer by more than the bootstrapped"
        in info["criterion"]
    )
    scores["coarse"][170:200] = 0.0  # now refuses 32%, below fine's 33% but within the error
    chosen, info = run(("coarse", "fine"))
    assert chosen == "fine" and info["equal"] == ["coarse", "fine"]
    assert (
        "(33.0% on average over set; it refuses the most, and coarse as many within the bootstrapped standard error "
        "of the difference)" in info["criterion"]
    )
    # a second score ranking every image as "fine" does (the same AUROC), its validation errors worse (AURC)
    twin_val, scores["twin"] = u_val.clone(), scores["fine"].clone()
    aurc = rule_fitting.metrics.aurc
    monkeypatch.setattr(rule_fitting.metrics, "aurc", lambda u, c: aurc(u, c) + (1.0 if u is twin_val else 0.0))
    monkeypatch.setattr(rule_fitting, "auto_candidates", lambda: ("twin", "fine"))
    monkeypatch.setattr(
        rule_fitting, "make_score", lambda n: lambda p: (twin_val if n == "twin" else u_val) if p is val else scores[n]
    )
    chosen, info = choose_score(val, torch.zeros(1000, dtype=torch.long), {"set": out}, 0.02)
    assert chosen == "fine" and info["equal"] == ["twin", "fine"]
    assert info["scores"]["twin"]["mean_auroc"] == info["scores"]["fine"]["mean_auroc"]
    assert (
        f"ranks them best (mean AUROC {info['scores']['fine']['mean_auroc']:.4f}, as twin to four digits; it ranks the "
        "validation images' errors better: AURC" in info["criterion"]
    )
    assert run(("coarse",))[1]["criterion"].startswith(
        "refuses as many synthetic outliers as any within sampling error (32.0% on average over set; the only candidate)"
    )


def test_calibrate_meets_the_refusal_target_and_keeps_the_rule_type():
    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(3 * torch.randn(30, 1000, 10, generator=g), -1)
    pred = _pred(probs)
    labels = pred.mean_probs.argmax(-1)
    for score in ("percentile", "mutual-info"):
        cfg = RuleConfig(score=score, percentile=10.0, target_refusal=0.05)
        rule, info = calibrate(base_rule(cfg), pred, labels, cfg)
        assert isinstance(rule, PercentileRule if score == "percentile" else ScoreRule)
        assert info["validation_refused"] <= 0.05 and info["validation_refused"] > 0.04


def test_an_error_target_no_coverage_meets_says_so_everywhere():
    """50 validation images, all wrong: no coverage meets 1% error. The rule refuses everything, its
    text says so, and every command's warnings name the target."""
    from types import SimpleNamespace

    from idk.decision.rules import describe_rule, summarize_rule
    from idk.training.notices import warnings

    g = torch.Generator().manual_seed(2)
    pred = _pred(torch.softmax(3 * torch.randn(10, 50, 10, generator=g), -1))
    wrong = (pred.mean_probs.argmax(-1) + 1) % 10
    cfg = RuleConfig(score="max-prob", target_refusal=None, target_error=0.01)
    rule, info = calibrate(base_rule(cfg), pred, wrong, cfg)
    assert info["feasible"] is False and rule.decide(pred).refused.all()
    as_dict = {**rule.as_dict(), "calibration": info}
    assert describe_rule(as_dict).startswith("refuse every image: an error ≤ 0.01 could not be certified")
    # its brief form (explain's title, the service's "rule") says so too, not the threshold's −1
    assert summarize_rule(as_dict) == "refuse every image (error ≤ 0.01 not certified)"
    assert summarize_rule(rule.as_dict()) == rule.summary() and rule.summary().startswith("refuse max-prob > -0.")
    ckpt = SimpleNamespace(
        finished=True,
        calibrated=True,
        rule=as_dict,
        rule_config=cfg,
        history=[],
        metrics={},
        noise_refused=lambda: None,
    )
    assert any("--target-error 0.01 could not be certified" in w for w in warnings(ckpt))
    assert info["certifiable_target"] is None and not any(
        "the smallest these images certify" in w for w in warnings(ckpt)
    )
    # all right: 1% cannot be certified on 50 images, a larger target can, and the warning names it
    right = pred.mean_probs.argmax(-1)
    rule, info = calibrate(base_rule(cfg), pred, right, cfg)
    reachable = info["certifiable_target"]
    assert info["feasible"] is False and 0.01 < reachable < 1
    ckpt.rule = {**rule.as_dict(), "calibration": info}
    assert any(f"the smallest these images certify is --target-error {reachable:g}" in w for w in warnings(ckpt))
    cfg = RuleConfig(score="max-prob", target_refusal=None, target_error=reachable)
    assert calibrate(base_rule(cfg), pred, right, cfg)[1]["feasible"] is True


def test_a_tie_on_the_aurc_too_is_not_called_better():
    """With no validation error the AURCs tie at 0: the reason says the first in the scores' order
    won, not that 0 ranks better than 0 (a small set's model read so)."""
    from idk.training.rule_fitting import ranking_reason

    row = {"mean_auroc": 0.99, "validation_aurc": 0.0}
    tie = ranking_reason({"entropy": row, "percentile": dict(row)}, "entropy", ["entropy", "percentile"])
    assert tie.endswith("errors no worse (first in the scores' order): AURC 0 against percentile 0")
    lower = ranking_reason(
        {"entropy": row, "percentile": {**row, "validation_aurc": 0.1}}, "entropy", ["entropy", "percentile"]
    )
    assert lower.endswith("errors better: AURC 0 against percentile 0.1")
