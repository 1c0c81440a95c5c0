import math

import pytest
import torch
from scipy.stats import binom

from idk.decision.calibration import (
    ENOUGH_REFUSED,
    certifiable_target,
    clopper_pearson_interval,
    clopper_pearson_upper,
    few_to_calibrate,
    refusal_spread,
    refused_count,
    threshold_for_error,
    threshold_for_refusal,
    thresholds_for_refusal,
)


def test_clopper_pearson_zero_errors_closed_form():
    # k = 0 of n: the upper bound solves (1 − p)^n = δ
    for n, delta in ((10, 0.05), (1000, 0.01), (59, 0.05)):
        assert clopper_pearson_upper(0, n, delta) == pytest.approx(1 - delta ** (1 / n), rel=1e-9)


def test_clopper_pearson_interval_ends_are_the_exact_binomial_tails():
    # each end p solves P(X ≥ k | n, p) = α/2 (lower) or P(X ≤ k | n, p) = α/2 (upper)
    for k, n, level in ((9791, 9802, 0.95), (953, 958, 0.95), (3, 40, 0.9)):
        low, high = clopper_pearson_interval(k, n, level)
        assert low < k / n < high
        assert binom.sf(k - 1, n, low) == pytest.approx((1 - level) / 2, rel=1e-6)
        assert binom.cdf(k, n, high) == pytest.approx((1 - level) / 2, rel=1e-6)


def test_clopper_pearson_interval_closed_forms_at_the_edges():
    # all n right: the lower end solves p^n = α/2; none right: the upper end solves (1 − p)^n = α/2
    n, level = 500, 0.95
    assert clopper_pearson_interval(n, n, level) == pytest.approx((0.025 ** (1 / n), 1.0), rel=1e-9)
    assert clopper_pearson_interval(0, n, level) == pytest.approx((0.0, 1 - 0.025 ** (1 / n)), rel=1e-9)
    assert clopper_pearson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="level"):
        clopper_pearson_interval(1, 2, 1.0)
    with pytest.raises(ValueError, match="successes"):
        clopper_pearson_interval(3, 2)


def test_clopper_pearson_is_the_exact_binomial_tail():
    # the bound p solves P(X ≤ k | n, p) = δ
    for k, n, delta in ((3, 100, 0.05), (17, 250, 0.1), (1, 20, 0.025)):
        p = clopper_pearson_upper(k, n, delta)
        assert binom.cdf(k, n, p) == pytest.approx(delta, rel=1e-6)
    assert clopper_pearson_upper(5, 5, 0.05) == 1.0 and clopper_pearson_upper(0, 0, 0.05) == 1.0


def _brute_force_refusal(u: torch.Tensor, target: float) -> float:
    candidates = sorted(set(u.tolist()) | {min(u.tolist()) - 1.0})
    ok = [t for t in candidates if (u > t).double().mean().item() <= target + 1e-12]
    return min(ok)


@pytest.mark.parametrize("seed", range(5))
def test_refusal_threshold_matches_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(200, generator=g, dtype=torch.float64)
    u[:20] = u[20:40]  # ties
    for target in (0.0, 0.01, 0.02, 0.1, 0.5, 0.999, 1.0):
        assert threshold_for_refusal(u, target) == pytest.approx(_brute_force_refusal(u, target))


def test_thresholds_for_refusal_is_the_threshold_of_each_row():
    g = torch.Generator().manual_seed(0)
    u = torch.rand(6, 150, generator=g)
    u[:, :10] = u[:, 10:20]  # ties
    for target in (0.0, 0.02, 0.5, 1.0):
        rows = thresholds_for_refusal(u, target)
        assert rows.shape == (6,) and rows.dtype == torch.float64
        assert rows.tolist() == pytest.approx([_brute_force_refusal(row.double(), target) for row in u])
    # a NaN score counts as the highest, as a sort puts it: refused, and the threshold at target 1 below the rest
    nan = torch.tensor([[0.3, float("nan"), 0.1, 0.5]])
    assert thresholds_for_refusal(nan, 1.0).item() == pytest.approx(0.1 - 1.0)
    assert thresholds_for_refusal(nan, 0.25).item() == 0.5


@pytest.mark.parametrize(("n", "target"), [(50, 0.1), (24, 0.02), (400, 0.02)])
def test_refusal_spread_is_the_share_new_inputs_are_refused(n, target):
    """Uniform scores: a threshold τ refuses a share 1 − τ of new inputs exactly. Over 4,000
    calibrations on n scores, that share falls below the spread's low end and above its high end
    5% of the time each (binomial sd 0.34%; tolerance 1.5 points)."""
    low, high = refusal_spread(n, target)
    g = torch.Generator().manual_seed(0)
    shares = torch.tensor([1 - threshold_for_refusal(torch.rand(n, generator=g), target) for _ in range(4000)])
    assert (shares < low).double().mean().item() == pytest.approx(0.05, abs=0.015)
    assert (shares > high).double().mean().item() == pytest.approx(0.05, abs=0.015)


@pytest.mark.parametrize("k", [ENOUGH_REFUSED, ENOUGH_REFUSED + 6, 60])
def test_from_enough_refused_images_the_spread_needs_no_computing(k):
    """few_to_calibrate answers None without SciPy once k = ⌊r n⌋ ≥ ENOUGH_REFUSED: the spread it
    skips lies within [r/2, 2r] for every target and every n of that k (sampled across the band)."""
    for r in (0.0005, 0.002, 0.02, 0.1, 0.3, 0.5, 0.9, 0.99):
        first, past = math.ceil(k / r), math.ceil((k + 1) / r)
        for n in range(first, past, max(1, (past - first) // 7)):
            if math.floor(r * n + 1e-9) == k:
                low, high = refusal_spread(n, r)
                assert r / 2 <= low and high <= 2 * r, (k, r, n)


def test_few_validation_images_are_said_to_set_a_coarse_threshold():
    assert few_to_calibrate(8000, 0.02) is None and few_to_calibrate(1600, 0.02) is None
    assert few_to_calibrate(3, 1.0) is None  # all: exact
    assert few_to_calibrate(1, 0.0).startswith("a target of 0% sets the threshold at the validation image's score: ")
    # 0%: the largest of n scores, exceeded by a new one with probability Beta(1, n): its 90% interval
    # is 1 − ((1 ± 0.9)/2)^(1/n)
    assert few_to_calibrate(100, 0.0) == (
        "a target of 0% sets the threshold at the least certain of the 100 validation images' scores: what is less "
        f"certain than all 100 is still refused, between {100 * (1 - 0.95**0.01):.3g}% and "
        f"{100 * (1 - 0.05**0.01):.3g}% of new images like them (90% of the time)"
    )
    assert few_to_calibrate(1, 0.0) == (
        "a target of 0% sets the threshold at the validation image's score: what is less certain than it is still "
        "refused, between 5% and 95% of new images like it (90% of the time)"
    )
    assert "less certain than both is still refused" in few_to_calibrate(2, 0.0)
    assert few_to_calibrate(0, 0.02) is None  # no threshold was set (the rule stays uncalibrated)
    said = few_to_calibrate(24, 0.02)
    assert said == (
        "the threshold is set on only 24 validation images: it will refuse between 0.213% and 11.7% of new images "
        "like them (90% of the time) for a target of 2%; 2% of 24 is under one image: the threshold is set at the "
        "least certain one's score, so only what is less certain than all 24 is refused (--target-refusal 0.0417 or "
        "more refuses at least one)"
    )
    for n in (3, 7, 24, 40, 333):  # the target it names refuses one image, whatever the rounding
        named = float(few_to_calibrate(n, 0.001).split("--target-refusal ")[1].split(" ")[0])
        assert refused_count(n, named) == 1 and refused_count(n, named - 1e-4) == 0, n
    assert "under one image" not in few_to_calibrate(72, 0.02)  # one image of 72 is refused: the spread alone
    assert few_to_calibrate(1, 0.5).startswith("the threshold is set on only 1 validation image: ")
    assert "under one image" not in few_to_calibrate(1, 0.02)  # one image: refusing it would refuse all
    assert few_to_calibrate(2, 0.02).endswith("(--target-refusal 0.5 or more refuses at least one)")


def test_guaranteed_risk_when_errors_are_the_most_uncertain():
    # 1000 inputs; the 50 most uncertain are wrong, everything else right
    u = torch.linspace(0, 1, 1000, dtype=torch.float64)
    correct = torch.ones(1000, dtype=torch.bool)
    correct[-50:] = False
    res = threshold_for_error(u, correct, target=0.01, confidence=0.95)
    assert res.feasible and res.bound <= 0.01
    # brute force over every accepted count: the largest whose bound (at SGR's δ/⌈log2(m + 1)⌉) passes
    steps = math.ceil(math.log2(1000 + 1))
    wrong = (~correct).long().cumsum(0)
    passing = [k for k in range(1, 1001) if clopper_pearson_upper(int(wrong[k - 1]), k, 0.05 / steps) <= 0.01]
    assert round(res.coverage * 1000) == max(passing)
    assert (u <= res.threshold).sum() == max(passing)
    assert res.risk == pytest.approx(int(wrong[max(passing) - 1]) / max(passing))


def test_the_certifiable_target_is_the_smallest_step_sgr_certifies():
    """All 200 right, distinct scores: the least bound is at full coverage, k = 0 of 200, the closed
    form 1 − (δ / steps)^(1/200) ≈ 0.0245; the answer is the first 0.001 above it, certified, and the
    step below is not."""
    u, right = torch.linspace(0, 1, 200, dtype=torch.float64), torch.ones(200, dtype=torch.bool)
    steps = math.ceil(math.log2(200 + 1))
    least = 1 - (0.05 / steps) ** (1 / 200)
    target = certifiable_target(u, right, 0.95)
    assert target == pytest.approx(math.ceil(least * 1000) / 1000)
    assert threshold_for_error(u, right, target, 0.95).feasible
    assert not threshold_for_error(u, right, target - 0.001, 0.95).feasible
    assert certifiable_target(u, torch.zeros(200, dtype=torch.bool)) is None  # all wrong: nothing certifies


def test_the_certifiable_target_is_tried_by_sgr_itself_where_the_bounds_are_not_monotone():
    """The three surest answers wrong, the next 497 right, then every other one wrong: the least bound
    over all coverages (≈ 0.0218, at 500 accepted) is never visited by SGR's search; the answer is
    what SGR certifies, found by trying each step, and brute force over the steps agrees."""
    u = torch.arange(1000, dtype=torch.float64)
    correct = torch.ones(1000, dtype=torch.bool)
    correct[:3] = False
    correct[500::2] = False
    target = certifiable_target(u, correct, 0.95)
    assert not threshold_for_error(u, correct, 0.022, 0.95).feasible  # the least bound's step: not certified
    first = next(k / 1000 for k in range(1, 1000) if threshold_for_error(u, correct, k / 1000, 0.95).feasible)
    assert target == pytest.approx(first) and target > 0.022


def test_guaranteed_risk_searches_to_the_end_when_the_candidates_are_a_power_of_two():
    """Four candidates and "none" are five outcomes: ⌈log2 5⌉ = 3 steps, not ⌈log2 4⌉ = 2, reach the
    largest passing coverage (all four right: every count passes a loose target)."""
    res = threshold_for_error(torch.arange(4.0), torch.ones(4, dtype=torch.bool), target=0.9, confidence=0.5)
    assert res.feasible and res.coverage == 1.0
    assert res.bound == pytest.approx(clopper_pearson_upper(0, 4, 0.5 / 3))


def test_guaranteed_risk_holds_on_fresh_data():
    """Calibrate on one sample, check on many fresh samples: the risk bound fails ≤ δ of the time."""
    g = torch.Generator().manual_seed(0)

    def draw(n):
        u = torch.rand(n, generator=g, dtype=torch.float64)
        correct = torch.rand(n, generator=g, dtype=torch.float64) > 0.2 * u**3  # error rate grows with u
        return u, correct

    failures = 0
    trials = 40
    for _ in range(trials):
        res = threshold_for_error(*draw(2000), target=0.02, confidence=0.9)
        u, correct = draw(20000)
        accepted = u <= res.threshold
        risk = (~correct[accepted]).double().mean().item() if accepted.any() else 0.0
        failures += risk > 0.02
    assert failures <= 0.2 * trials  # δ = 0.1: expected ≤ 4 failures; allow sampling slack


def test_infeasible_target_refuses_everything():
    u = torch.rand(50, dtype=torch.float64)
    res = threshold_for_error(u, torch.zeros(50, dtype=torch.bool), target=0.01)
    assert not res.feasible and res.coverage == 0.0 and (u <= res.threshold).sum() == 0


def test_guaranteed_risk_with_tied_scores_tests_only_reachable_coverages():
    """Scores in two tied groups: a threshold accepts 90 or 1000 inputs, nothing in between. The
    reviewer's counterexample: before, the search chose a count inside the second group, then
    stepped back to 90 and returned a bound above the target marked feasible."""
    u = torch.tensor([0.0] * 90 + [0.5] * 910, dtype=torch.float64)
    correct = torch.zeros(1000, dtype=torch.bool)
    correct[:590] = True
    res = threshold_for_error(u, correct, target=0.05, confidence=0.95)
    assert not res.feasible or res.bound <= 0.05
    # two candidates and "none": ⌈log2 3⌉ = 2 tests at level δ / 2; 90 of 90 right passes at ε = 0.05
    assert res.feasible and round(res.coverage * 1000) == 90 and (u <= res.threshold).sum() == 90
    assert res.bound == pytest.approx(clopper_pearson_upper(0, 90, 0.05 / 2))
    for seed in range(5):  # random ties: whatever is returned is a reachable coverage within its bound
        g = torch.Generator().manual_seed(seed)
        u = torch.randint(0, 40, (2000,), generator=g).double()
        correct = torch.rand(2000, generator=g, dtype=torch.float64) > 0.02 * u / 40
        res = threshold_for_error(u, correct, target=0.02, confidence=0.9)
        accepted = int((u <= res.threshold).sum())
        assert accepted == round(res.coverage * 2000)
        assert not res.feasible or res.bound <= 0.02
