"""Tests of klbook.exercises.mle: chapter 5's public checks.

Correct answers are written here from the definitions, with mpmath at 50 digits
or SymPy, never with klbook; each diagnosed mistake is shown to be diagnosed.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import optimize

from klbook.derivation import Derivation, StepError
from klbook.exercises import CheckFailed
from klbook.exercises.mle import (check_average_nll, check_poisson_mle, check_poisson_score,
                                  check_reverse_divergences, poisson_mle_tolerance,
                                  poisson_symbols)


@pytest.fixture(autouse=True, scope="module")
def fifty_digits():
    """mpmath at 50 digits for this module's tests only (restored afterwards)."""
    with mpmath.workdps(50):
        yield


# --- ex-mle-poisson: the chain -----------------------------------------------------------


def poisson_log_likelihood():
    xb, i, n, lam = poisson_symbols()
    return sp.Sum(xb[i] * sp.log(lam) - lam - sp.log(sp.factorial(xb[i])), (i, 1, n))


def test_poisson_symbols_are_the_chapters():
    # The chapter's Bernoulli derivation declares them this way; equal symbols must compare equal.
    xb, i, n, lam = poisson_symbols()
    assert xb == sp.IndexedBase("x", real=True)
    assert i == sp.Symbol("i", integer=True, positive=True)
    assert n == sp.Symbol("n", integer=True, positive=True)
    assert lam == sp.Symbol("lambda", positive=True)


def test_check_poisson_score_passes_the_score(capsys):
    xb, i, n, lam = poisson_symbols()
    chain = Derivation(sp.diff(poisson_log_likelihood(), lam)).equals(
        sp.Sum(xb[i], (i, 1, n)) / lam - n, "linearity")
    check_poisson_score(chain)
    assert capsys.readouterr().out == "poisson_score proves the statement in 1 verified step.\n"


def test_check_poisson_score_refuses_a_chain_under_an_extra_hypothesis():
    from klbook.derivation import assume
    xb, i, n, lam = poisson_symbols()
    chain = Derivation(sp.diff(poisson_log_likelihood(), lam),
                       given=[assume(lam - 1 > 0)]).equals(
        sp.Sum(xb[i], (i, 1, n)) / lam - n, "linearity")
    with pytest.raises(CheckFailed, match="does not allow"):
        check_poisson_score(chain)


def test_check_poisson_score_names_a_chain_from_the_log_likelihood():
    # The log-likelihood up to its constant -sum_i log x_i!: with a real x_i the checker cannot
    # show that x_i! is non-zero, so a chain through that term is refused before any check.
    xb, i, n, lam = poisson_symbols()
    ll = sp.Sum(xb[i] * sp.log(lam) - lam, (i, 1, n))
    chain = Derivation(ll).equals(sp.Sum(xb[i], (i, 1, n)) * sp.log(lam) - n * lam, "linearity")
    with pytest.raises(CheckFailed, match="poisson_score starts at"):
        check_poisson_score(chain)


def test_the_full_log_likelihood_is_not_a_chain_the_checker_accepts():
    # Why the test above drops log x_i!: the chapter's x_i are real, and x_i! may be 0 for all
    # SymPy can show, so a step through log(x_i!) is refused (the chapter's chain starts at the
    # derivative, where that term is gone).
    xb, i, n, lam = poisson_symbols()
    with pytest.raises(StepError, match="may be zero"):
        Derivation(poisson_log_likelihood()).equals(
            sp.Sum(xb[i], (i, 1, n)) * sp.log(lam) - n * lam
            - sp.Sum(sp.log(sp.factorial(xb[i])), (i, 1, n)), "linearity")


def test_check_poisson_score_wants_a_chain():
    xb, i, n, lam = poisson_symbols()
    with pytest.raises(CheckFailed, match="expected a klbook.derivation.Derivation"):
        check_poisson_score(sp.Sum(xb[i], (i, 1, n)) / lam - n)


def test_check_poisson_score_on_the_stub():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_poisson_score(...)


# --- ex-mle-poisson: the estimator ----------------------------------------------------------


def mean_mp(counts):
    return float(mpmath.fsum(int(c) for c in counts) / len(counts))


def test_check_poisson_mle_passes_the_sample_mean(capsys):
    check_poisson_mle(mean_mp)
    assert capsys.readouterr().out == "poisson_mle agrees with the sample mean on 3 samples.\n"


def test_check_poisson_mle_passes_a_bounded_scalar_minimiser():
    def poisson_mle(counts):
        # the average negative log-likelihood up to a constant: lambda - mean * log(lambda)
        mean = mean_mp(counts)
        fit = optimize.minimize_scalar(lambda lam: lam - mean * math.log(lam),
                                       bounds=(1e-9, 2 * max(counts) + 1), method="bounded",
                                       options={"xatol": 1e-12})
        return fit.x

    check_poisson_mle(poisson_mle)


@pytest.mark.parametrize("on_the_log", [False, True], ids=["rate", "log-rate"])
def test_check_poisson_mle_passes_bfgs_with_a_finite_difference_gradient(on_the_log):
    # The answer most students write: BFGS with scipy's defaults (gtol 1e-5) and no gradient,
    # on the rate or on its log. It lands within about 1e-5 of the mean, which the check accepts.
    def poisson_mle(counts):
        mean = mean_mp(counts)
        if on_the_log:
            fit = optimize.minimize(lambda u: math.exp(u[0]) - mean * u[0], [0.0], method="BFGS")
            return math.exp(fit.x[0])
        fit = optimize.minimize(lambda lam: lam[0] - mean * math.log(lam[0]), [1.0], method="BFGS")
        return fit.x[0]

    check_poisson_mle(poisson_mle)


def test_check_poisson_mle_refuses_an_estimate_off_by_twice_the_tolerance():
    with pytest.raises(CheckFailed, match="not within"):
        check_poisson_mle(lambda counts: mean_mp(counts) + 2 * poisson_mle_tolerance(mean_mp(counts)))


def test_check_poisson_mle_names_the_log_parameter():
    with pytest.raises(CheckFailed, match=r"log of the estimate.*exp\(u\)"):
        check_poisson_mle(lambda counts: math.log(mean_mp(counts)))


def test_check_poisson_mle_names_a_loose_optimiser():
    with pytest.raises(CheckFailed, match="tighten the optimiser's tolerance"):
        check_poisson_mle(lambda counts: mean_mp(counts) * (1 + 1e-3))


def test_check_poisson_mle_names_the_result_object():
    def poisson_mle(counts):
        return optimize.OptimizeResult(x=np.array([mean_mp(counts)]))

    with pytest.raises(CheckFailed, match="not the optimiser's result object"):
        check_poisson_mle(poisson_mle)


def test_check_poisson_mle_on_the_stub():
    def poisson_mle(counts):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_poisson_mle(poisson_mle)


# --- ex-mle-index ------------------------------------------------------------------------


def average_nll_mp(sample, model, log=mpmath.log):
    """-(1/n) sum_i log model[x_i] at 50 digits; inf if a probability is 0."""
    terms = [mpmath.mpf(float(model[x])) for x in sample]
    if any(t == 0 for t in terms):
        return math.inf
    return float(-mpmath.fsum(log(t) for t in terms) / len(terms))


def test_check_average_nll_passes_the_definition(capsys):
    check_average_nll(average_nll_mp)
    assert capsys.readouterr().out == ("average_nll agrees with klbook.cross_entropy on 3 "
                                       "cases.\n")


def test_check_average_nll_value_of_the_first_case():
    # the first case, [1, 4, 4] under Bin(6, 1/2), exactly: -(log(6/64) + 2 log(15/64)) / 3
    exact = -(sp.log(sp.Rational(6, 64)) + 2 * sp.log(sp.Rational(15, 64))) / 3
    seen = []

    def average_nll(sample, model):
        seen.append(average_nll_mp(sample, model))
        return seen[-1]

    check_average_nll(average_nll)
    assert abs(seen[0] - float(exact)) < 1e-15


def test_check_average_nll_names_a_sum():
    def average_nll(sample, model):
        return average_nll_mp(sample, model) * len(sample)

    with pytest.raises(CheckFailed, match="n = 3 times the answer"):
        check_average_nll(average_nll)


@pytest.mark.parametrize(("log", "unit"), [(mpmath.log10, "hartleys"),
                                           (lambda t: mpmath.log(t, 2), "bits")])
def test_check_average_nll_names_the_log_base(log, unit):
    with pytest.raises(CheckFailed, match=f"right answer in {unit}"):
        check_average_nll(lambda sample, model: average_nll_mp(sample, model, log))


def test_check_average_nll_names_a_lost_sign():
    with pytest.raises(CheckFailed, match="wrong sign"):
        check_average_nll(lambda sample, model: -average_nll_mp(sample, model))


def test_check_average_nll_names_the_divergence():
    def divergence(sample, model):
        values, counts = np.unique(sample, return_counts=True)
        return float(mpmath.fsum(mpmath.mpf(int(c)) / len(sample) * mpmath.log(
            mpmath.mpf(int(c)) / len(sample) / mpmath.mpf(float(model[v])))
            for v, c in zip(values, counts)))

    with pytest.raises(CheckFailed, match=r"the divergence D\(p_hat \|\| q\)"):
        check_average_nll(divergence)


def test_check_average_nll_names_a_missing_infinity():
    def average_nll(sample, model):
        kept = [x for x in sample if model[x] > 0]      # the impossible observation dropped
        return average_nll_mp(kept, model)

    with pytest.raises(CheckFailed, match=r"\[0 2 6\].*infinite here"):
        check_average_nll(average_nll)


def test_check_average_nll_on_the_stub():
    def average_nll(sample, model):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_average_nll(average_nll)


# --- ex-mle-reverse ----------------------------------------------------------------------


def divergence_mp(p, q):
    """D(p || q) at 50 digits, inf when p charges a value q misses."""
    if any(a > 0 and b == 0 for a, b in zip(p, q)):
        return math.inf
    return float(mpmath.fsum(mpmath.mpf(float(a)) * mpmath.log(mpmath.mpf(float(a)) / mpmath.mpf(
        float(b))) for a, b in zip(p, q) if a > 0))


def reverse_mp(p_hat, models):
    return np.array([divergence_mp(row, p_hat) for row in models])


def test_check_reverse_divergences_passes_the_definition(capsys):
    check_reverse_divergences(reverse_mp)
    assert capsys.readouterr().out == ("reverse_divergences agrees with klbook.kl_divergence "
                                       "on 2 cases.\n")


def test_check_reverse_divergences_names_the_forward_divergence():
    def forward(p_hat, models):
        return np.array([divergence_mp(p_hat, row) for row in models])

    with pytest.raises(CheckFailed, match=r"\[0\].*arguments exchanged"):
        check_reverse_divergences(forward)


def test_check_reverse_divergences_names_a_missing_infinity():
    def finite(p_hat, models):
        # terms where p_hat = 0 skipped: finite where the divergence is infinite
        keep = np.asarray(p_hat) > 0
        return np.array([divergence_mp(row[keep], np.asarray(p_hat)[keep]) for row in models])

    with pytest.raises(CheckFailed, match=r"p_hat\(4\) = 0.*\[0\].*infinite here"):
        check_reverse_divergences(finite)


def test_check_reverse_divergences_names_the_shape():
    with pytest.raises(CheckFailed, match=r"shape \(3,\); got shape \(\)"):
        check_reverse_divergences(lambda p_hat, models: reverse_mp(p_hat, models).sum())


def test_check_reverse_divergences_on_the_stub():
    def reverse_divergences(p_hat, models):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_reverse_divergences(reverse_divergences)
