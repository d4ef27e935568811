"""Public checks of the exercises of chapter 5, *Maximum likelihood is minimum KL*.

Each check runs the student's answer against :mod:`klbook` (or, for a checked
proof, against the statement to prove) and raises
:class:`klbook.exercises.CheckFailed` with a message naming the likely mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from klbook.discrete import cross_entropy, entropy, kl_divergence
from klbook.empirical import empirical_distribution
from klbook.exercises import CheckFailed, _as_real, call_answer, check_derivation, compare_value

__all__ = [
    "poisson_symbols",
    "check_poisson_score",
    "POISSON_MLE_TOLERANCE",
    "poisson_mle_tolerance",
    "check_poisson_mle",
    "check_average_nll",
    "check_reverse_divergences",
]


def poisson_symbols() -> tuple[sp.IndexedBase, sp.Symbol, sp.Symbol, sp.Symbol]:
    """The chapter's symbols for the Poisson exercise: ``xb``, ``i``, ``n``, ``lambda``.

    They carry the assumptions the chapter gives them (a real sample ``xb[i]``,
    a positive integer index ``i`` and size ``n``, a positive rate), so that the
    expressions built here are the ones the chapter builds.

    Examples
    --------
    >>> poisson_symbols()
    (x, i, n, lambda)
    """
    xb = sp.IndexedBase("x", real=True)
    i = sp.Symbol("i", integer=True, positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    lam = sp.Symbol("lambda", positive=True)
    return xb, i, n, lam


def _poisson_statement() -> tuple[sp.Expr, sp.Expr]:
    xb, i, n, lam = poisson_symbols()
    log_likelihood = sp.Sum(xb[i] * sp.log(lam) - lam - sp.log(sp.factorial(xb[i])), (i, 1, n))
    return sp.diff(log_likelihood, lam), sp.Sum(xb[i], (i, 1, n)) / lam - n


def check_poisson_score(chain: Any) -> None:
    """Public check of exercise ``ex-mle-poisson``, the proof: the chain ``poisson_score``.

    The chain must start at SymPy's derivative of the Poisson log-likelihood
    :math:`\\ell(\\lambda) = \\sum_{i=1}^n (x_i \\log\\lambda - \\lambda - \\log x_i!)`
    (in the symbols of :func:`poisson_symbols`) and end, by equalities, at
    :math:`\\sum_i x_i / \\lambda - n`.

    Raises
    ------
    CheckFailed
        If `chain` is not a :class:`klbook.derivation.Derivation` proving that
        equality, saying which part is off.

    Examples
    --------
    >>> check_poisson_score(...)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: poisson_score: got Ellipsis. The chain is not written yet: build it with Derivation(start).equals(...), .less_equal(...) or .greater_equal(...).
    """
    start, end = _poisson_statement()
    check_derivation(chain, start=start, end=end, relation="=", what="poisson_score",
                     hypotheses=())


#: How close ``poisson_mle`` must come to the sample mean: this share of the mean, or of 1
#: for a mean below 1. An optimiser with a finite-difference gradient and its default
#: tolerance (BFGS stops once the gradient is below 1e-5) lands within about 1e-5 of the
#: estimate on every platform, relative when it works on the rate and absolute when it works
#: on its log; the mistakes the check names are off by far more.
POISSON_MLE_TOLERANCE = 1e-4


def poisson_mle_tolerance(mean: float) -> float:
    """The largest distance from the sample mean `mean` that :func:`check_poisson_mle` accepts.

    Examples
    --------
    >>> poisson_mle_tolerance(25.0), poisson_mle_tolerance(0.05)
    (0.0025, 0.0001)
    """
    return POISSON_MLE_TOLERANCE * max(float(mean), 1.0)


def check_poisson_mle(poisson_mle: Callable[[np.ndarray], float]) -> None:
    """Public check of exercise ``ex-mle-poisson``, the estimator: ``poisson_mle(counts)``.

    ``poisson_mle`` must return the maximum-likelihood estimate of the Poisson
    rate, found by numerically minimising the average negative log-likelihood.
    The estimate is the sample mean, to an optimiser's accuracy
    (:func:`poisson_mle_tolerance`: ``1e-4`` relative, or absolute for a mean
    below 1); the check runs it on seeded samples.

    Raises
    ------
    CheckFailed
        With the first failing sample and the likely mistake.

    Examples
    --------
    The sample median is not the estimate:

    >>> check_poisson_mle(lambda counts: float(np.median(counts)))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: poisson_mle(500 draws of Poi(3.7), seed 12): expected 3.706, got 3.
    """
    cases = [(3.7, 500, 12), (0.4, 60, 1), (25.0, 200, 2)]
    for rate, size, seed in cases:
        counts = np.random.default_rng(seed).poisson(rate, size=size)
        call = f"poisson_mle({size} draws of Poi({rate}), seed {seed})"
        got = call_answer(poisson_mle, call, counts.copy())
        expected = float(np.mean(counts))
        if got is None or got is Ellipsis:
            raise CheckFailed(f"{call}: got {got!r}. The answer is not written yet, or a "
                              "`return` statement is missing.")
        value = _as_real(got)
        if value is None:
            raise CheckFailed(f"{call}: expected a real number, got {got!r} (of type "
                              f"{type(got).__name__}). Return the estimate, not the "
                              "optimiser's result object.")
        tolerance = poisson_mle_tolerance(expected)
        if abs(value - expected) <= tolerance:
            continue
        hint = ""
        if np.isclose(value, np.log(expected), rtol=1e-6, atol=0):
            hint = (" It is the log of the estimate: with the rate written as lambda = exp(u), "
                    "return exp(u) at the optimum, not u.")
        elif abs(value - expected) <= 100 * tolerance:
            hint = (f" It is close, but not within {tolerance:.2g}: tighten the optimiser's "
                    "tolerance (e.g. gtol or xatol 1e-8), or give it the gradient.")
        raise CheckFailed(f"{call}: expected {expected:.12g}, got {value:.12g}.{hint}")
    print(f"poisson_mle agrees with the sample mean on {len(cases)} samples.")


def _binomial_pmf(trials: int, theta: float) -> np.ndarray:
    """Binomial probabilities on {0..trials} by the product formula (no scipy)."""
    from math import comb

    values = np.arange(trials + 1)
    coefficients = np.array([comb(trials, int(v)) for v in values], dtype=float)
    return coefficients * theta ** values * (1 - theta) ** (trials - values)


def check_average_nll(average_nll: Callable[[np.ndarray, np.ndarray], float]) -> None:
    """Public check of exercise ``ex-mle-index``: ``average_nll(sample, model)``.

    ``average_nll`` must return :math:`-\\frac1n\\sum_{i=1}^n \\log q(x_i)` in
    nats, for a sample of integers ``x_i`` and a model ``q`` given as an array
    of probabilities indexed by value (``inf`` if the model gives an observed
    value probability 0). The reference is :func:`klbook.cross_entropy` of the
    sample's empirical distribution and the model.

    Raises
    ------
    CheckFailed
        With the first failing case and the likely mistake: a sum where the
        average is due, the divergence where the cross-entropy is due, a wrong
        log base or sign.

    Examples
    --------
    Summing instead of averaging is named:

    >>> check_average_nll(lambda sample, model: -np.sum(np.log(model[sample])))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: average_nll([1 4 4], Bin(6, 0.5)): expected 1.75626312622 nats, got 5.26878937865. It is n = 3 times the answer: the sum of the log-likelihood terms, not their average (divide by the sample size).
    """
    rng = np.random.default_rng(31)
    zero_at_six = np.append(_binomial_pmf(5, 0.4), 0.0)     # the value 6 is impossible
    cases = [
        ("[1 4 4]", np.array([1, 4, 4]), "Bin(6, 0.5)", _binomial_pmf(6, 0.5)),
        ("50 draws of Bin(6, 0.3)", rng.binomial(6, 0.3, size=50), "Bin(6, 0.7)",
         _binomial_pmf(6, 0.7)),
        ("[0 2 6]", np.array([0, 2, 6]), "a model with q(6) = 0", zero_at_six),
    ]
    for sample_name, sample, model_name, model in cases:
        call = f"average_nll({sample_name}, {model_name})"
        got = call_answer(average_nll, call, sample.copy(), model.copy())
        empirical = empirical_distribution(sample, model.size)
        expected = float(cross_entropy(empirical, model))
        value = _as_real(got)
        if value is not None and np.isfinite(expected) and sample.size > 1:
            if np.isclose(value, sample.size * expected, rtol=1e-9, atol=0):
                raise CheckFailed(
                    f"{call}: expected {expected:.12g} nats, got {value:.12g}. It is n = "
                    f"{sample.size} times the answer: the sum of the log-likelihood terms, "
                    "not their average (divide by the sample size).")
            divergence = float(kl_divergence(empirical, model))
            if np.isclose(value, divergence, rtol=1e-9, atol=0) and entropy(empirical) > 0:
                raise CheckFailed(
                    f"{call}: expected {expected:.12g} nats, got {value:.12g}, the divergence "
                    "D(p_hat || q). The average negative log-likelihood is the cross-entropy "
                    "H(p_hat, q) = H(p_hat) + D(p_hat || q).")
        compare_value(got, expected, what=call, rtol=1e-12)
    print(f"average_nll agrees with klbook.cross_entropy on {len(cases)} cases.")


def check_reverse_divergences(reverse_divergences: Callable[[np.ndarray, np.ndarray],
                                                            np.ndarray]) -> None:
    """Public check of exercise ``ex-mle-reverse``: ``reverse_divergences(p_hat, models)``.

    ``reverse_divergences`` must return one value per row ``q`` of `models`:
    :math:`D(q\\,\\|\\,\\hat p)` in nats, ``inf`` where ``q`` puts mass on a
    value that ``p_hat`` gives none. The reference is
    :func:`klbook.kl_divergence`.

    Raises
    ------
    CheckFailed
        With the first failing row and the likely mistake (the forward
        divergence, a finite value where the divergence is infinite, a wrong
        shape).

    Examples
    --------
    The forward divergence is not the answer:

    >>> import klbook
    >>> check_reverse_divergences(lambda p_hat, models: klbook.kl_divergence(p_hat, models))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: reverse_divergences(p_hat with full support, 3 binomial models)[0]: expected 0.543021950474 nats, got 0.791070186375. It equals the answer with the two arguments exchanged: you computed D(Q || P) instead of D(P || Q). The divergence is not symmetric.
    """
    thetas = np.array([0.2, 0.35, 0.5])
    models = np.array([_binomial_pmf(4, theta) for theta in thetas])
    cases = [
        ("p_hat with full support", np.array([0.1, 0.3, 0.3, 0.2, 0.1])),
        ("p_hat with p_hat(4) = 0", np.array([0.2, 0.3, 0.3, 0.2, 0.0])),
    ]
    for p_name, p_hat in cases:
        call = f"reverse_divergences({p_name}, {len(models)} binomial models)"
        got = call_answer(reverse_divergences, call, p_hat.copy(), models.copy())
        if got is None or got is Ellipsis:
            compare_value(got, 0.0, what=call)
        try:
            values = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            raise CheckFailed(f"{call}: expected an array of numbers, got {got!r}.") from None
        if values.shape != (len(models),):
            raise CheckFailed(f"{call}: expected one value per model, an array of shape "
                              f"({len(models)},); got shape {values.shape}.")
        expected = kl_divergence(models, p_hat)
        forward = kl_divergence(p_hat, models)
        for row in range(len(models)):
            compare_value(values[row], float(expected[row]), what=f"{call}[{row}]",
                          rtol=1e-12, swapped=float(forward[row]))
    print(f"reverse_divergences agrees with klbook.kl_divergence on {len(cases)} cases.")
