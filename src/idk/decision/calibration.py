"""Choosing a refusal threshold on held-out in-distribution data to meet the user's target.

Two targets:

* refusal: refuse at most a share r of in-distribution inputs — τ is the smallest threshold whose
  validation refusal share ``mean(u > τ)`` is ≤ r;
* error: the error among accepted inputs is ≤ ε with probability ≥ 1 − δ — selection with
  guaranteed risk (SGR; Geifman & El-Yaniv, NeurIPS 2017): binary search over the n coverages a
  threshold can give (n = m accepted counts, fewer where scores tie), each of its ⌈log₂(n + 1)⌉
  steps (enough to tell all n, and none, apart) testing a one-sided Clopper–Pearson upper bound on
  the selective risk at level δ / ⌈log₂(n + 1)⌉ (a union bound over the tests). The search starts
  at the smallest accepted count whose bound could pass with zero errors, ln(δ/⌈log₂(n + 1)⌉) /
  ln(1 − ε).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


def clopper_pearson_upper(errors: int, n: int, delta: float) -> float:
    """One-sided upper (1 − δ) confidence bound on a binomial rate from ``errors`` of ``n``."""
    return float(clopper_pearson_uppers(torch.tensor([errors]), torch.tensor([n]), delta)[0])


def clopper_pearson_uppers(errors: Tensor, n: Tensor, delta: float) -> Tensor:
    """:func:`clopper_pearson_upper` of each pair, shapes (K,) → (K,) float64: B(1 − δ; k + 1, n − k),
    the (1 − δ)-quantile of Beta(k + 1, n − k); 1 where n = 0 or k ≥ n."""
    from scipy.stats import beta  # SciPy only when a bound is computed (the web service never does)

    errors, n = errors.double(), n.double()
    out = torch.ones_like(n)
    some = (n > 0) & (errors < n)
    out[some] = torch.from_numpy(beta.ppf(1.0 - delta, (errors[some] + 1).numpy(), (n[some] - errors[some]).numpy()))
    return out


def clopper_pearson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The two-sided Clopper–Pearson interval (exact, conservative) of a binomial rate from
    ``successes`` of ``n``: with α = 1 − level, (B(α/2; k, n − k + 1), B(1 − α/2; k + 1, n − k)),
    B(q; a, b) the q-quantile of Beta(a, b); 0 for k = 0 and 1 for k = n; (0, 1) for n = 0."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in 0..n = {n}, got {successes}")
    if n == 0:
        return 0.0, 1.0
    from scipy.stats import beta

    half = (1.0 - level) / 2
    low = float(beta.ppf(half, successes, n - successes + 1)) if successes > 0 else 0.0
    high = clopper_pearson_upper(successes, n, half)  # 1 for k = n
    return low, high


def refused_count(n: int, target: float) -> int:
    """k = ⌊r n⌋: how many of n calibration scores a threshold for refusal target r may refuse
    (the 1e-9 keeps r n that is whole in exact arithmetic from rounding down)."""
    return math.floor(target * n + 1e-9)


def least_target(n: int, k: int = 1) -> float:
    """The least refusal target, to four decimal places, that lets a threshold refuse ``k`` of n
    calibration scores (:func:`refused_count` ≥ k): ⌈10⁴ k / n⌉ / 10⁴, for the warnings that name one."""
    return math.ceil(1e4 * k / n) / 1e4


def threshold_for_refusal(uncertainty: Tensor, target: float) -> float:
    """The smallest τ with ``mean(u > τ) ≤ target`` (τ is one of the u values, or below all)."""
    return float(thresholds_for_refusal(uncertainty.unsqueeze(0), target)[0])


def thresholds_for_refusal(uncertainty: Tensor, target: float) -> Tensor:
    """:func:`threshold_for_refusal` of each row of ``uncertainty`` (B, m) → (B,) float64: the
    (m − k)-th smallest score of a row, k = :func:`refused_count` (m, target); 1 below the smallest
    where k = m."""
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target refusal must lie in [0, 1], got {target}")
    u = uncertainty.double()
    m = u.shape[-1]
    allowed = refused_count(m, target)  # at most this many refused
    if allowed >= m:
        return u.kthvalue(1, -1).values - 1.0  # the smallest, NaN last as a sort puts it
    return u.kthvalue(m - allowed, -1).values


def refusal_spread(n: int, target: float, level: float = 0.9) -> tuple[float, float]:
    """The central ``level`` interval of the share of new in-distribution inputs that a threshold set
    by :func:`threshold_for_refusal` on n exchangeable scores refuses. It refuses above the
    (n − k)-th smallest of them, k = ⌊r n⌋, and a new score lies above that order statistic with
    probability distributed as Beta(k + 1, n − k) (continuous scores)."""
    k = refused_count(n, target)
    if n <= 0 or k >= n:
        return 0.0, 1.0
    from scipy.stats import beta

    tail = (1.0 - level) / 2
    return float(beta.ppf(tail, k + 1, n - k)), float(beta.ppf(1.0 - tail, k + 1, n - k))


ENOUGH_REFUSED = 19  # k = ⌊r n⌋ from which the spread always lies within [r/2, 2r]


def few_to_calibrate(n: int, target: float) -> str | None:
    """A warning when n validation images set a threshold for a refusal target r too coarsely: the
    90% interval of :func:`refusal_spread` reaches below r/2 or above 2r; None when they suffice.
    Where r·n is under one image (and n > 1), it says that the threshold is the largest validation score;
    so does a target of 0, always: it still refuses what is less certain than all n (Beta(1, n) of new images)."""
    if n <= 0 or not 0 <= target < 1:  # no threshold set; refusing everything is exact
        return None
    if target == 0:
        low, high = refusal_spread(n, target)
        scores = "the validation image's score" if n == 1 else f"the least certain of the {n} validation images' scores"
        than, like = ("it", "it") if n == 1 else ("both" if n == 2 else f"all {n}", "them")
        return (
            f"a target of 0% sets the threshold at {scores}: what is less certain than {than} is still refused, "
            f"between {100 * low:.3g}% and {100 * high:.3g}% of new images like {like} (90% of the time)"
        )
    if refused_count(n, target) >= ENOUGH_REFUSED:  # within [r/2, 2r] (tested): no SciPy needed
        return None
    low, high = refusal_spread(n, target)
    if low >= target / 2 and high <= 2 * target:
        return None
    images = "image" if n == 1 else "images"
    none = (  # k = 0: the threshold is the largest of the n scores
        f"; {100 * target:g}% of {n} is under one image: the threshold is set at the least certain one's "
        f"score, so only what is less certain than all {n} is refused (--target-refusal {least_target(n):g} or more "
        "refuses at least one)"
        if refused_count(n, target) == 0 and n > 1
        else ""
    )
    return (
        f"the threshold is set on only {n} validation {images}: it will refuse between {100 * low:.3g}% and "
        f"{100 * high:.3g}% of new images like them (90% of the time) for a target of {100 * target:g}%{none}"
    )


@dataclass
class GuaranteedRisk:
    """SGR's result: threshold τ (accept u ≤ τ), coverage and risk on the calibration data, bound."""

    threshold: float
    coverage: float
    risk: float
    bound: float
    delta: float
    feasible: bool


def _candidates(uncertainty: Tensor, correct: Tensor) -> tuple[Tensor, Tensor, list[int]]:
    """The scores sorted (m,), the running count of wrong answers among the first k accepted (m,),
    and the accepted counts a threshold can give (the ends of the groups of tied scores)."""
    order = torch.argsort(uncertainty.double(), stable=True)
    u = uncertainty.double()[order]
    wrong = (~correct.bool())[order].to(torch.int64).cumsum(0)
    ends = torch.cat([(u[1:] > u[:-1]).nonzero().flatten() + 1, torch.tensor([len(u)])]).tolist()
    return u, wrong, ends


def _tests(ends: list[int]) -> int:
    """SGR's number of tests among ``ends`` candidate coverages: ⌈log₂(n + 1)⌉, enough to tell all
    n, and none, apart (each bound is taken at δ over this, a union bound)."""
    return math.ceil(math.log2(len(ends) + 1))


def certifiable_target(
    uncertainty: Tensor, correct: Tensor, confidence: float = 0.95, step: float = 0.001
) -> float | None:
    """The smallest multiple of ``step`` that :func:`threshold_for_error` certifies as an error
    target on these predictions; None when none below 1 is (what to ask ``--target-error`` for).

    Every test SGR makes compares a coverage's bound (the Clopper–Pearson upper bound at δ / its
    number of tests) with the target, so no target below the least such bound is certified: the
    search tries the multiples of ``step`` from there up, each by SGR itself (its search path moves
    with the target, so a larger target is not taken as certified on trust)."""
    if not len(uncertainty):
        return None
    _, wrong, ends = _candidates(uncertainty, correct)
    sizes = torch.tensor(ends)
    least = float(clopper_pearson_uppers(wrong[sizes - 1], sizes, (1.0 - confidence) / _tests(ends)).min())
    for multiple in range(max(1, math.ceil(least / step - 1e-9)), math.ceil(1 / step)):
        target = round(multiple * step, 12)
        if target < 1 and threshold_for_error(uncertainty, correct, target, confidence).feasible:
            return target
    return None


def threshold_for_error(
    uncertainty: Tensor, correct: Tensor, target: float, confidence: float = 0.95
) -> GuaranteedRisk:
    """SGR: the largest coverage whose selective-risk upper bound is ≤ ``target`` (see module doc).

    Only coverages that a threshold can give are tried: "accept u ≤ τ" accepts a whole group of
    tied scores or none of it, so the candidate accepted counts are the ends of the tied groups
    (every count from 1 to m when no two scores tie), and the union bound counts the tests over
    those candidates."""
    if not 0.0 < target < 1.0 or not 0.0 < confidence < 1.0:
        raise ValueError("target error and confidence must lie in (0, 1)")
    u, wrong, ends = _candidates(uncertainty, correct)  # ends: the accepted counts a threshold gives
    m = len(u)
    delta = 1.0 - confidence
    steps = _tests(ends)  # resolves the search among all candidates and none
    # below this many accepted inputs even zero errors cannot meet the target: search above it
    # (depends on m, ε and δ only, never on the labels)
    smallest = math.ceil(math.log(delta / steps) / math.log1p(-target))
    # positions p = 1..len(ends) stand for ``ends[p - 1]`` accepted; the answer lies in (lo, hi]
    lo, hi = sum(1 for size in ends if size < smallest), len(ends)
    best = None
    for _ in range(steps):
        if lo >= hi:
            break
        mid = (lo + hi + 1) // 2
        size = ends[mid - 1]
        k = int(wrong[size - 1])
        bound = clopper_pearson_upper(k, size, delta / steps)
        if bound <= target:
            lo, best = mid, (size, k, bound)
        else:
            hi = mid - 1
    if best is None:
        return GuaranteedRisk(float(u[0]) - 1.0, 0.0, 0.0, 1.0, delta, False)
    size, k, bound = best
    return GuaranteedRisk(float(u[size - 1]), size / m, k / size, bound, delta, True)
