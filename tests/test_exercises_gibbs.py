"""Tests of klbook.exercises.gibbs: chapter 2's public checks.

Correct answers are written here independently of klbook (mpmath at 50 digits,
SymPy, closed forms); each diagnosed mistake must be diagnosed.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from klbook.derivation import GIBBS, LOG_LE_X_MINUS_1, NONNEGATIVE, Derivation, assume
from klbook.exercises import CheckFailed
from klbook.exercises.gibbs import (check_chi_square_chain, check_chi_square_divergence,
                                    check_cross_entropy_chain, check_pinsker_expansion,
                                    check_pinsker_ratio)

# The chapter's setting, rebuilt here.
i = sp.Symbol("i", integer=True)
n = sp.Symbol("n", integer=True, positive=True)
p, q = sp.IndexedBase("p", positive=True), sp.IndexedBase("q", positive=True)
r = sp.Symbol("r", nonnegative=True)


def total(term):
    return sp.Sum(term, (i, 1, n))


setting = [assume(sp.Eq(total(p[i]), 1)), assume(sp.Eq(total(q[i]), 1 - r))]
divergence = total(p[i] * sp.log(p[i] / q[i]))
entropy = -total(p[i] * sp.log(p[i]))


@pytest.fixture(autouse=True, scope="module")
def fifty_digits():
    with mpmath.workdps(50):
        yield


# --- cross-entropy chain ---------------------------------------------------------------------


def test_cross_entropy_chain_passes_the_proof(capsys):
    chain = (Derivation(-total(p[i] * sp.log(q[i])), given=setting)
             .equals(entropy + divergence, "add and subtract")
             .greater_equal(entropy, "Gibbs", lemma=GIBBS, p=p[i], q=q[i], index=(i, 1, n)))
    check_cross_entropy_chain(chain)
    assert capsys.readouterr().out == (
        "cross_entropy_chain proves the statement in 2 verified steps.\n")


def test_cross_entropy_chain_that_stops_at_the_decomposition():
    chain = Derivation(-total(p[i] * sp.log(q[i])), given=setting).equals(
        entropy + divergence, "add and subtract")
    with pytest.raises(CheckFailed, match="ends at .* cites GIBBS"):
        check_cross_entropy_chain(chain)


def test_cross_entropy_chain_from_the_swapped_cross_entropy():
    chain = Derivation(-total(q[i] * sp.log(p[i])))
    chain = chain.equals(-total(q[i] * sp.log(p[i])) + 0, "nothing")
    with pytest.raises(CheckFailed, match="starts at .* P supplies the weights"):
        check_cross_entropy_chain(chain)


def test_cross_entropy_chain_that_assumes_q_sums_to_one():
    # The slip the chapter warns about: sum_i q_i = 1 over the support of P. The chain is
    # valid under that stronger hypothesis, but it is not the statement asked for.
    chain = (Derivation(-total(p[i] * sp.log(q[i])),
                        given=[assume(sp.Eq(total(p[i]), 1)), assume(sp.Eq(total(q[i]), 1))])
             .equals(entropy + divergence, "add and subtract")
             .greater_equal(entropy, "Gibbs", lemma=GIBBS, p=p[i], q=q[i], index=(i, 1, n)))
    with pytest.raises(CheckFailed, match="which the statement does not allow.*given=setting"):
        check_cross_entropy_chain(chain)


def test_cross_entropy_chain_stub():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_cross_entropy_chain(...)


# --- chi-square chain --------------------------------------------------------------------


def test_chi_square_chain_passes_the_proof(capsys):
    chain = (Derivation(divergence, given=setting)
             .less_equal(total(p[i] * (p[i] / q[i] - 1)), "ln t <= t - 1",
                         lemma=LOG_LE_X_MINUS_1, t=p[i] / q[i])
             .equals(total(p[i] ** 2 / q[i]) - 1, "multiply out"))
    check_chi_square_chain(chain)
    assert "proves the statement in 2 verified steps" in capsys.readouterr().out


def test_chi_square_chain_with_the_wrong_end():
    # Stops before using sum p_i = 1: a true bound, but not the one asked for.
    chain = Derivation(divergence, given=setting).less_equal(
        total(p[i] * (p[i] / q[i] - 1)), "ln t <= t - 1", lemma=LOG_LE_X_MINUS_1, t=p[i] / q[i])
    with pytest.raises(CheckFailed, match="ends at"):
        check_chi_square_chain(chain)


def test_chi_square_chain_proving_a_lower_bound():
    # chi^2 >= D, from the other end: a true bound, but the chain starts at chi^2.
    chain = Derivation(total(p[i] ** 2 / q[i]) - 1, given=setting).greater_equal(
        divergence, "ln t <= t - 1", lemma=LOG_LE_X_MINUS_1, t=p[i] / q[i])
    with pytest.raises(CheckFailed, match="starts at"):
        check_chi_square_chain(chain)


def test_chi_square_chain_with_an_extra_hypothesis():
    # 1 - r > 0 is true, but it is not one of the chapter's hypotheses: the check names it.
    chain = (Derivation(divergence, given=setting + [assume(1 - r > 0)])
             .less_equal(total(p[i] * (p[i] / q[i] - 1)), "ln t <= t - 1",
                         lemma=LOG_LE_X_MINUS_1, t=p[i] / q[i])
             .equals(total(p[i] ** 2 / q[i]) - 1, "multiply out"))
    with pytest.raises(CheckFailed, match="assumes 1 - r > 0.*given=setting"):
        check_chi_square_chain(chain)


def test_chi_square_chain_stub():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_chi_square_chain(...)


# --- chi-square function -----------------------------------------------------------------


def chi_square_mp(p_row, q_row):
    """sum p^2/q - 1 at 50 digits, over the support of p; inf where q = 0 < p."""
    terms = []
    for a, b in zip(p_row, q_row):
        if a > 0:
            if b == 0:
                return math.inf
            terms.append(mpmath.mpf(a) ** 2 / mpmath.mpf(b))
    return float(mpmath.fsum(terms) - 1)


def chi_square_correct(p_arr, q_arr):
    p_arr, q_arr = np.asarray(p_arr, dtype=float), np.asarray(q_arr, dtype=float)
    if p_arr.ndim == 1:
        return chi_square_mp(p_arr, q_arr)
    return np.array([chi_square_mp(a, b) for a, b in zip(p_arr, q_arr)])


def test_chi_square_divergence_passes_a_correct_function(capsys):
    check_chi_square_divergence(chi_square_correct)
    assert "agrees with the reference on 7 cases" in capsys.readouterr().out


def test_chi_square_divergence_names_the_missing_minus_one():
    def chi_square_divergence(p_arr, q_arr):
        return chi_square_correct(p_arr, q_arr) + 1

    with pytest.raises(CheckFailed, match="one too large"):
        check_chi_square_divergence(chi_square_divergence)


def test_chi_square_divergence_names_swapped_arguments():
    def chi_square_divergence(p_arr, q_arr):
        return chi_square_correct(q_arr, p_arr)

    with pytest.raises(CheckFailed, match="arguments exchanged"):
        check_chi_square_divergence(chi_square_divergence)


def test_chi_square_divergence_names_nan_from_empty_outcomes():
    def chi_square_divergence(p_arr, q_arr):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sum(np.asarray(p_arr) ** 2 / np.asarray(q_arr), axis=-1) - 1

    with pytest.raises(CheckFailed, match="0/0 = nan"):
        check_chi_square_divergence(chi_square_divergence)


def test_chi_square_divergence_names_a_missing_infinity():
    def chi_square_divergence(p_arr, q_arr):
        value = chi_square_correct(p_arr, q_arr)
        return 0.0 if value == math.inf else value

    with pytest.raises(CheckFailed, match="infinite here"):
        check_chi_square_divergence(chi_square_divergence)


def test_chi_square_divergence_names_the_wrong_axis():
    def chi_square_divergence(p_arr, q_arr):
        value = chi_square_correct(p_arr, q_arr)
        return value if np.ndim(p_arr) == 1 else float(np.sum(value))

    with pytest.raises(CheckFailed, match=r"shape \(\), expected \(2,\)"):
        check_chi_square_divergence(chi_square_divergence)


def test_chi_square_divergence_stub():
    def chi_square_divergence(p_arr, q_arr):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_chi_square_divergence(chi_square_divergence)


# --- Pinsker ratio -----------------------------------------------------------------------


def binary_kl_mp(a, b, log=mpmath.log):
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    return a * log(a / b) + (1 - a) * log((1 - a) / (1 - b))


def ratio_correct(p_val, q_val, log=mpmath.log, tv_factor=1):
    def one(a, b):
        return float(binary_kl_mp(a, b, log) / (2 * (tv_factor * (mpmath.mpf(a) - b)) ** 2))

    p_arr, q_arr = np.broadcast_arrays(np.asarray(p_val, float), np.asarray(q_val, float))
    return np.vectorize(one)(p_arr, q_arr)


def test_pinsker_ratio_passes_a_correct_function(capsys):
    check_pinsker_ratio(ratio_correct)
    assert "agrees with the reference on 6 cases" in capsys.readouterr().out


def test_pinsker_ratio_names_log2():
    with pytest.raises(CheckFailed, match="right answer in bits"):
        check_pinsker_ratio(lambda a, b: ratio_correct(a, b, log=lambda x: mpmath.log(x, 2)))


def test_pinsker_ratio_names_swapped_arguments():
    with pytest.raises(CheckFailed, match="arguments exchanged"):
        check_pinsker_ratio(lambda a, b: ratio_correct(b, a))


def test_pinsker_ratio_names_total_variation_without_its_half():
    with pytest.raises(CheckFailed, match="quarter of the answer"):
        check_pinsker_ratio(lambda a, b: ratio_correct(a, b, tv_factor=2))


def test_pinsker_ratio_that_does_not_broadcast():
    def pinsker_ratio(a, b):
        return float(ratio_correct(np.ravel(a)[0], np.ravel(b)[0]))

    with pytest.raises(CheckFailed, match=r"shape \(\), expected \(3, 3\)"):
        check_pinsker_ratio(pinsker_ratio)


def test_pinsker_ratio_stub():
    def pinsker_ratio(a, b):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_pinsker_ratio(pinsker_ratio)


# --- the expansion D_eps -----------------------------------------------------------------

eps = sp.Symbol("epsilon", positive=True)


def test_pinsker_expansion_passes_the_closed_form(capsys):
    # -(1/2) log(1 - 4 eps^2), a form different from the chapter's.
    check_pinsker_expansion(-sp.log(1 - 4 * eps ** 2) / 2)
    assert capsys.readouterr().out == "D_eps is the divergence of the two coins.\n"


def test_pinsker_expansion_names_swapped_coins():
    half = sp.Rational(1, 2)
    swapped = (half + eps) * sp.log((half + eps) / half) + (half - eps) * sp.log(
        (half - eps) / half)
    with pytest.raises(CheckFailed, match="arguments exchanged"):
        check_pinsker_expansion(swapped)


def test_pinsker_expansion_names_bits():
    with pytest.raises(CheckFailed, match="right answer in bits"):
        check_pinsker_expansion(-sp.log(1 - 4 * eps ** 2, 2) / 2)


@pytest.mark.parametrize("answer", [..., None, 0.5, sp.Symbol("a") * eps])
def test_pinsker_expansion_rejects_non_answers(answer):
    with pytest.raises(CheckFailed):
        check_pinsker_expansion(answer)


def test_chi_square_chain_that_goes_past_the_statement():
    # A weaker bound than the one asked for (an extra r >= 0 added) is not the statement.
    chain = (Derivation(divergence, given=setting)
             .less_equal(total(p[i] * (p[i] / q[i] - 1)), "ln t <= t - 1",
                         lemma=LOG_LE_X_MINUS_1, t=p[i] / q[i])
             .equals(total(p[i] ** 2 / q[i]) - 1, "multiply out")
             .less_equal(total(p[i] ** 2 / q[i]) - 1 + r, "add r >= 0", lemma=NONNEGATIVE,
                         term=r))
    with pytest.raises(CheckFailed, match="ends at"):
        check_chi_square_chain(chain)
