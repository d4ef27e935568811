"""Tests of klbook.exercises.cross_entropy: chapter 4's public checks.

Correct answers are written here without klbook: exact SymPy values, mpmath at
50 digits, SymPy chains built in the test.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from klbook.derivation import Derivation, assume
from klbook.exercises import CheckFailed
from klbook.exercises.cross_entropy import (check_bits_decomposition, check_label_smoothing,
                                            check_shift_chain)


@pytest.fixture(autouse=True, scope="module")
def fifty_digits():
    with mpmath.workdps(50):
        yield


# --- H, H(P, Q), D in bits ---------------------------------------------------------------

# By hand: H(P) = 3/2, H(P, Q) = 7/4, D(P || Q) = 1/4 bits; H(Q, P) = 7/4 too, and
# D(Q || P) = 7/4 - H(Q) = 7/4 - 3/2 = 1/4: reversing the pair changes nothing here, so
# a swap cannot be wrong (or diagnosed) in this exercise.
EXACT = (sp.Rational(3, 2), sp.Rational(7, 4), sp.Rational(1, 4))


def test_bits_pass_exact_values(capsys):
    check_bits_decomposition(*EXACT)
    assert capsys.readouterr().out == "H(P), H(P, Q) and D(P || Q) are right, in bits.\n"


def test_bits_pass_sympy_logarithms():
    P = [sp.Rational(1, 2), sp.Rational(1, 4), sp.Rational(1, 4)]
    Q = [sp.Rational(1, 4), sp.Rational(1, 4), sp.Rational(1, 2)]
    check_bits_decomposition(-sum(a * sp.log(a, 2) for a in P),
                             -sum(a * sp.log(b, 2) for a, b in zip(P, Q)),
                             sum(a * sp.log(a / b, 2) for a, b in zip(P, Q)))


def test_bits_name_the_missing_minus_sign():
    with pytest.raises(CheckFailed, match="minus sign is missing"):
        check_bits_decomposition(-EXACT[0], *EXACT[1:])


@pytest.mark.parametrize("position", [0, 1, 2])
def test_bits_name_nats(position):
    values = list(EXACT)
    values[position] = values[position] * sp.log(2)       # the value in nats
    with pytest.raises(CheckFailed, match="right answer in nats"):
        check_bits_decomposition(*values)


def test_bits_name_a_wrong_cross_entropy():
    # H(P, Q) + H(P): the sign slip of the chapter's warning.
    with pytest.raises(CheckFailed, match="CE_ex = H\\(P, Q\\) in bits: expected 1.75"):
        check_bits_decomposition(EXACT[0], EXACT[1] + EXACT[0], EXACT[2])


def test_bits_stub():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_bits_decomposition(..., ..., ...)


# --- the shift chain ---------------------------------------------------------------------

i, j = sp.Symbol("i", integer=True), sp.Symbol("j", integer=True)
n = sp.Symbol("n", integer=True, positive=True)
y, z = sp.IndexedBase("y", positive=True), sp.IndexedBase("z", real=True)
c = sp.Symbol("c", real=True)


def total(term):
    return sp.Sum(term, (i, 1, n))


partition = sp.Sum(sp.exp(z[j]), (j, 1, n))
shifted = sp.log(sp.Sum(sp.exp(z[j] + c), (j, 1, n))) - total(y[i] * (z[i] + c))


def test_shift_chain_passes_the_proof(capsys):
    chain = Derivation(shifted, given=[assume(sp.Eq(total(y[i]), 1))]).equals(
        sp.log(partition) - total(y[i] * z[i]), "factor e^c out")
    check_shift_chain(chain)
    assert capsys.readouterr().out == "shift_chain proves the statement in 1 verified step.\n"


def test_shift_chain_that_assumes_no_shift_is_refused():
    # Verified, but only under the hypothesis c = 0, which the statement does not grant.
    chain = Derivation(shifted, given=[assume(sp.Eq(c, 0))]).equals(
        sp.log(partition) - total(y[i] * z[i]), "c = 0")
    with pytest.raises(CheckFailed, match="assumes Eq\\(c, 0\\), which the statement does not allow"):
        check_shift_chain(chain)


def test_shift_chain_without_the_labels_summing_to_one():
    # Valid without the hypothesis sum y = 1, but the c's do not cancel yet.
    chain = Derivation(shifted).equals(
        c + sp.log(partition) - total(y[i] * z[i]) - c * total(y[i]), "factor e^c out")
    with pytest.raises(CheckFailed, match="ends at .* sum_i y_i = 1"):
        check_shift_chain(chain)


def test_shift_chain_from_the_wrong_start():
    chain = Derivation(sp.log(partition) - total(y[i] * z[i])).equals(
        sp.log(partition) - total(y[i] * z[i]) + 0, "nothing")
    with pytest.raises(CheckFailed, match="starts at"):
        check_shift_chain(chain)


def test_shift_chain_stub():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_shift_chain(None)


# --- label smoothing ---------------------------------------------------------------------


def smoothed_mp(k, epsilon, c_index):
    eps = mpmath.mpf(epsilon)
    return [(1 - eps) * (m == c_index) + eps / k for m in range(k)]


def floor_mp(k, epsilon):
    """H(y) at 50 digits (0 log 0 = 0)."""
    return float(-mpmath.fsum(v * mpmath.log(v) for v in smoothed_mp(k, epsilon, 0) if v > 0))


def logits_mp(k, epsilon, c_index):
    return [float(mpmath.log(v)) for v in smoothed_mp(k, epsilon, c_index)]


def test_smoothing_passes_correct_functions(capsys):
    check_label_smoothing(floor_mp, logits_mp)
    assert "right on 5 and 4 cases" in capsys.readouterr().out


def test_smoothing_accepts_shifted_logits():
    check_label_smoothing(floor_mp, lambda k, eps, cc: np.array(logits_mp(k, eps, cc)) + 7.0)


def test_smoothing_names_a_zero_floor():
    with pytest.raises(CheckFailed, match="positive when epsilon > 0"):
        check_label_smoothing(lambda k, eps: 0.0, logits_mp)


def test_smoothing_names_bits():
    with pytest.raises(CheckFailed, match="right answer in bits"):
        check_label_smoothing(lambda k, eps: floor_mp(k, eps) / math.log(2), logits_mp)


def test_smoothing_names_logits_of_the_one_hot_label():
    def floor_logits(k, eps, cc):
        logits = np.zeros(k)
        logits[cc] = 30.0             # a confident one-hot prediction
        return logits

    with pytest.raises(CheckFailed, match="above the floor"):
        check_label_smoothing(floor_mp, floor_logits)


def test_smoothing_names_the_wrong_length():
    with pytest.raises(CheckFailed, match="expected \\(5,\\)"):
        check_label_smoothing(floor_mp, lambda k, eps, cc: logits_mp(k, eps, cc)[:-1])


@pytest.mark.parametrize("answer", [..., None, 3.0])
def test_smoothing_rejects_non_functions(answer):
    with pytest.raises(CheckFailed):
        check_label_smoothing(answer, logits_mp)


def test_smoothing_stub():
    def smoothing_floor(k, epsilon):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_label_smoothing(smoothing_floor, logits_mp)
