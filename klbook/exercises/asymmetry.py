"""Public checks of the exercises of chapter 3, *Asymmetry: which way round?*.

Each check compares the student's answer with :mod:`klbook` (the Jensen–Shannon
and Jeffreys divergences, the reverse-KL fit of a Gaussian) and raises
:class:`klbook.exercises.CheckFailed` with a message naming the likely mistake.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from klbook.exercises import CheckFailed, check_derivation, compare_value
from klbook.gaussian_fit import GaussianMixture, fit_reverse_kl, forward_kl, reverse_kl
from klbook.symmetric import js_divergence

__all__ = [
    "check_js_jeffreys_term",
    "check_coin_js_bits",
    "check_one_bit_pair",
    "check_reverse_kl_minima",
]

#: The chapter's two coins: fair, and biased towards the second outcome.
COIN_P, COIN_Q = (0.5, 0.5), (0.1, 0.9)


def check_js_jeffreys_term(chain: Any) -> None:
    """Public check of exercise ``ex-asym-js-jeffreys``: the bound for one outcome.

    For :math:`a, b > 0` (SymPy symbols ``a``, ``b`` declared positive) the chain
    must prove

    .. math:: a \\log\\frac{2a}{a+b} + b \\log\\frac{2b}{a+b} \\le \\tfrac12 (a - b)\\log\\frac{a}{b},

    the contribution of one outcome to :math:`2\\,\\mathrm{JS}` against half its
    contribution to :math:`J`; summed over outcomes and halved, it is
    :math:`\\mathrm{JS} \\le J/4`.

    The chain is verified again from its premises, and it may not assume
    anything (an ``assume(...)`` premise) beyond the positivity of ``a`` and ``b``.

    Raises
    ------
    CheckFailed
        If `chain` is not a finished chain proving the bound for all positive
        ``a``, ``b``.

    Examples
    --------
    >>> check_js_jeffreys_term(None)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: js_jeffreys_term: got None. The chain is not written yet: build it with Derivation(start).equals(...), .less_equal(...) or .greater_equal(...).
    """
    a, b = sp.symbols("a b", positive=True)
    end = (a - b) * sp.log(a / b) / 2
    try:
        # for all a, b > 0: the chain may assume nothing beyond its symbols' positivity
        check_derivation(chain, start=a * sp.log(2 * a / (a + b)) + b * sp.log(2 * b / (a + b)),
                         end=end, relation="<=", what="js_jeffreys_term", hypotheses=())
    except CheckFailed as failure:
        message = str(failure)
        if "ends at" in message:
            result = chain.result
            if sp.simplify(sp.expand_log(result - 2 * end, force=True)) == 0:
                message += (" That bound, (a - b) log(a/b), is true but gives only "
                            "JS <= J/2; the concavity of the logarithm gives half of it.")
            else:
                message += (" Hint: 2a/(a + b) = 1 / (1/2 + b/(2a)), and the concavity of "
                            "the logarithm (JENSEN_LOG with weights 1/2, 1/2) bounds "
                            "log(1/2 + b/(2a)) below by log(b/a)/2.")
        raise CheckFailed(message) from None


def check_coin_js_bits(value: Any) -> None:
    """Public check of exercise ``ex-asym-bits``: JS of the chapter's two coins, in bits.

    Compares `value` with :func:`klbook.js_divergence` of
    :math:`(\\tfrac12, \\tfrac12)` and :math:`(\\tfrac1{10}, \\tfrac9{10})` in base 2.

    Raises
    ------
    CheckFailed
        If `value` is not that number, naming the likely mistake.

    Examples
    --------
    The value in nats is not the answer:

    >>> import klbook
    >>> check_coin_js_bits(klbook.js_divergence([0.5, 0.5], [0.1, 0.9]))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: JS of the two coins in bits: expected 0.146793102436 bits, got 0.101749225079. It is the right answer in nats, not in bits: it looks as if the natural log (np.log) was used where log2 (np.log2) is meant. The two differ by the constant factor 1.4427.
    """
    compare_value(value, float(js_divergence(COIN_P, COIN_Q, base=2)),
                  what="JS of the two coins in bits", unit="bits", rtol=1e-12)
    print("The value is the Jensen-Shannon divergence of the coins in bits.")


def _as_distribution(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name} should be three probabilities, got {value!r}.") from None
    if arr.shape != (3,):
        raise CheckFailed(f"{name} should be three probabilities (shape (3,)), got shape "
                          f"{arr.shape}.")
    if not np.isfinite(arr).all() or (arr < 0).any() or abs(arr.sum() - 1) > 1e-12:
        raise CheckFailed(f"{name} = {arr.tolist()} is not a probability distribution: the "
                          "entries must be non-negative and sum to 1.")
    return arr


def check_one_bit_pair(pair: Any, jeffreys: Any) -> None:
    """Public check of exercise ``ex-asym-bits``: a pair at one bit, and its Jeffreys divergence.

    Parameters
    ----------
    pair : (P, Q)
        Two distributions on three outcomes whose Jensen–Shannon divergence is
        one bit (computed here with :func:`klbook.js_divergence`, base 2).
    jeffreys : float
        Their Jeffreys divergence :math:`J(P, Q)`.

    Raises
    ------
    CheckFailed
        If the pair is not two distributions on three outcomes at one bit, or
        `jeffreys` is not their Jeffreys divergence.

    Examples
    --------
    >>> check_one_bit_pair(([1, 0, 0], [0.5, 0.5, 0]), 1.0)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: JS(P, Q) = 0.311278124459 bits, not 1. JS reaches one bit exactly when the supports are disjoint, but both P and Q put mass on outcome 0.
    """
    if pair is None or pair is Ellipsis:
        raise CheckFailed(f"one_bit_pair: got {pair!r}. The answer is not written yet.")
    try:
        first, second = pair
    except (TypeError, ValueError):
        raise CheckFailed("one_bit_pair should be a pair (P, Q) of distributions.") from None
    P, Q = _as_distribution(first, "P"), _as_distribution(second, "Q")
    bits = float(js_divergence(P, Q, base=2))
    if not math.isclose(bits, 1.0, rel_tol=1e-12):
        shared = np.flatnonzero((P > 0) & (Q > 0))
        raise CheckFailed(f"JS(P, Q) = {bits:.12g} bits, not 1. JS reaches one bit exactly "
                          "when the supports are disjoint, but both P and Q put mass on "
                          f"outcome{'s' * (len(shared) > 1)} "
                          f"{', '.join(map(str, shared))}.")
    # Disjoint supports: each distribution puts mass where the other has none.
    compare_value(jeffreys, math.inf, what="the Jeffreys divergence J(P, Q) of the pair")
    print("JS(P, Q) is one bit, and J(P, Q) is infinite.")


def _triple(minimum: Any, position: int) -> tuple[float, float, float]:
    """(mean, scale, divergence) of one reported minimum: a triple or a GaussianFit."""
    if all(hasattr(minimum, name) for name in ("mean", "scale", "divergence")):
        minimum = (minimum.mean, minimum.scale, minimum.divergence)
    try:
        mean, scale, divergence = (float(v) for v in minimum)
    except (TypeError, ValueError):
        raise CheckFailed(f"reverse_minima[{position}] should be a triple (mean, scale, "
                          f"divergence), got {minimum!r}.") from None
    return mean, scale, divergence


def check_reverse_kl_minima(reverse_minima: Sequence[Any]) -> None:
    """Public check of exercise ``ex-asym-three-minima``: the local minima of ``D(Q || P)``.

    `reverse_minima` holds one ``(mean, scale, divergence)`` triple (or a
    :class:`klbook.gaussian_fit.GaussianFit`) per local minimum of the reverse
    divergence ``D(Q || P)``, the divergence of a Gaussian ``Q = N(mean, scale^2)``
    from the mixture ``P = 0.6 N(-3, 1) + 0.4 N(3, 1)``, in nats, in any order. They are
    compared with the minima that :func:`klbook.gaussian_fit.fit_reverse_kl`
    finds (means and scales to 1e-3, divergences to 1e-6).

    Raises
    ------
    CheckFailed
        If a minimum is missing, extra or wrong, naming the likely mistake.

    Examples
    --------
    Only the two mode-seeking fits:

    >>> check_reverse_kl_minima([(-2.9877, 1.0187, 0.507388), (2.9799, 1.0294, 0.910709)])
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: 2 minima reported, but D(Q || P) has 3 local minima. Missing: the broad one between the modes, near m = -0.471, s = 2.703: start some fits from wide Gaussians (s of 3 or more) near the middle.
    """
    if reverse_minima is None or reverse_minima is Ellipsis:
        raise CheckFailed(f"reverse_minima: got {reverse_minima!r}. The answer is not "
                          "written yet.")
    try:
        reported = [_triple(m, k) for k, m in enumerate(reverse_minima)]
    except TypeError:
        raise CheckFailed("reverse_minima should be a list of (mean, scale, divergence) "
                          "triples.") from None
    mixture = GaussianMixture(weights=[0.6, 0.4], means=[-3.0, 3.0], scales=[1.0, 1.0])
    reference = fit_reverse_kl(mixture, [(-3.0, 1.0), (3.0, 1.0), (0.0, 3.0)])

    def describe(fit) -> str:
        if fit.scale > 2:
            return (f"the broad one between the modes, near m = {fit.mean:.3f}, "
                    f"s = {fit.scale:.3f}: start some fits from wide Gaussians (s of 3 or "
                    "more) near the middle")
        return f"the one on the mode at {round(fit.mean):+d}, near m = {fit.mean:.3f}"

    def near(mean: float, scale: float, fit) -> bool:
        return abs(mean - fit.mean) <= 1e-3 and abs(scale - fit.scale) <= 1e-3

    for k, (mean, scale, divergence) in enumerate(reported):
        if not any(near(mean, scale, fit) for fit in reference):
            raise CheckFailed(f"reverse_minima[{k}] = ({mean:.6g}, {scale:.6g}, ...) is not a "
                              "local minimum of D(Q || P) for the mixture 0.6 N(-3, 1) + "
                              "0.4 N(3, 1) (check the mixture's parameters, and that the fit "
                              "converged).")
        what = f"the divergence at reverse_minima[{k}] (m = {mean:.4f}, s = {scale:.4f})"
        expected = float(reverse_kl(mixture, mean, scale))
        if math.isclose(divergence, float(forward_kl(mixture, mean, scale)), rel_tol=1e-6):
            raise CheckFailed(f"{what}: expected {expected:.6f} nats, got {divergence:.6f}, "
                              "which is the forward divergence D(P || Q): the reverse one "
                              "averages log(q/p) under Q.")
        compare_value(divergence, expected, what=what, unit="nats", rtol=1e-6, atol=1e-6)
    missing = [fit for fit in reference if not any(near(m, s, fit) for m, s, _ in reported)]
    if missing:
        raise CheckFailed(f"{len(reported)} minima reported, but D(Q || P) has "
                          f"{len(reference)} local minima. Missing: "
                          + "; ".join(describe(fit) for fit in missing) + ".")
    if len(reported) > len(reference):
        raise CheckFailed(f"{len(reported)} minima reported, but D(Q || P) has "
                          f"{len(reference)}: merge the fits that converged to the same "
                          "point.")
    print(f"The {len(reference)} local minima of D(Q || P) are right.")
