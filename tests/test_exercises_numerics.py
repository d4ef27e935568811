"""Tests of klbook.exercises.numerics: chapter 8's public checks.

The answers fed to the checks are written here with exact rational arithmetic,
mpmath at 50 digits or SymPy, never with klbook.
"""

import math
from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from klbook.exercises import CheckFailed
from klbook.exercises.numerics import (check_bernoulli_leading, check_difference_is_exact,
                                       check_kl_bernoulli, check_kl_from_logits,
                                       check_logits_condition, check_logits_forward_error,
                                       check_sterbenz_counterexample)


@pytest.fixture(autouse=True, scope="module")
def fifty_digits():
    """mpmath at 50 digits for this module's tests only (restored afterwards)."""
    with mpmath.workdps(50):
        yield


# --- ex-num-sterbenz -------------------------------------------------------------------------


def difference_is_exact(a, b):
    return Fraction(a - b) == Fraction(a) - Fraction(b)


def test_check_difference_is_exact_passes_exact_rationals(capsys):
    check_difference_is_exact(difference_is_exact)
    assert "is right on 9 pairs" in capsys.readouterr().out


def test_check_difference_is_exact_names_the_sterbenz_condition():
    with pytest.raises(CheckFailed, match="sufficient for an exact difference, not necessary"):
        check_difference_is_exact(lambda a, b: b / 2 <= a <= 2 * b)


def test_check_difference_is_exact_names_the_round_trip():
    with pytest.raises(CheckFailed, match=r"\(a - b\) \+ b == a although a - b was rounded"):
        check_difference_is_exact(lambda a, b: (a - b) + b == a)


def test_check_difference_is_exact_wants_a_bool():
    with pytest.raises(CheckFailed, match="expected True or False"):
        check_difference_is_exact(lambda a, b: Fraction(a) - Fraction(b))


def test_check_difference_is_exact_on_the_unfinished_stub():
    def difference_is_exact(a, b):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_difference_is_exact(difference_is_exact)


def test_check_sterbenz_counterexample_passes_a_counterexample(capsys):
    check_sterbenz_counterexample(1.0, 2.0 ** -60)
    assert capsys.readouterr().out.startswith("a > 2b > 0 and a - b is rounded")


def test_check_sterbenz_counterexample_names_an_exact_difference():
    with pytest.raises(CheckFailed, match="is exact: the condition a > 2b does not make"):
        check_sterbenz_counterexample(3.0, 1.0)


def test_check_sterbenz_counterexample_names_a_pair_inside_the_condition():
    with pytest.raises(CheckFailed, match="inside Sterbenz's condition"):
        check_sterbenz_counterexample(1.5, 1.0)


@pytest.mark.parametrize(("a", "b", "message"), [
    (..., 1.0, "not written yet"), (1.0, None, "not written yet"),
    (1, 2.0 ** -60, "expected a double"), (1.0, -1.0, "b > 0"), (math.inf, 1.0, "finite")])
def test_check_sterbenz_counterexample_rejects_bad_values(a, b, message):
    with pytest.raises(CheckFailed, match=message):
        check_sterbenz_counterexample(a, b)


# --- ex-num-bernoulli ------------------------------------------------------------------------

A, EPS = sp.symbols("a epsilon", positive=True)


def test_check_bernoulli_leading_passes_the_leading_term(capsys):
    check_bernoulli_leading(A * EPS ** 2 / (2 * (1 - A)))
    assert capsys.readouterr().out == "bernoulli_leading is a epsilon^2 / (2 (1 - a)).\n"


def test_check_bernoulli_leading_accepts_an_unsimplified_series():
    # a^2 eps^2 / (2 (1 - a)) + a eps^2 / 2, the two outcomes' terms, not combined
    check_bernoulli_leading(A ** 2 * EPS ** 2 / (2 * (1 - A)) + A * EPS ** 2 / 2)


def test_check_bernoulli_leading_names_the_missing_half():
    with pytest.raises(CheckFailed, match="twice the leading term"):
        check_bernoulli_leading(A * EPS ** 2 / (1 - A))


def test_check_bernoulli_leading_names_the_success_term_alone():
    with pytest.raises(CheckFailed, match="the outcome 1 alone"):
        check_bernoulli_leading(A * EPS ** 2 / 2)


def test_check_bernoulli_leading_names_foreign_symbols():
    with pytest.raises(CheckFailed, match=r"uses the symbols \['b'\]"):
        check_bernoulli_leading(sp.Symbol("b") ** 2)


def test_check_bernoulli_leading_on_the_unfinished_stub():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_bernoulli_leading(...)


def kl_bernoulli_mp(a, b):
    """D(Bern(a) || Bern(b)) from the definition at 50 digits, with 0 log 0 = 0."""
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    total = mpmath.mpf(0)
    for p, q in ((a, b), (1 - a, 1 - b)):
        if p > 0:
            if q == 0:
                return math.inf
            total += p * mpmath.log(p / q)
    return float(total)


def test_check_kl_bernoulli_passes_a_50_digit_answer(capsys):
    check_kl_bernoulli(kl_bernoulli_mp)
    assert "on 11 cases, 3 of them near a = b" in capsys.readouterr().out


def test_check_kl_bernoulli_names_the_cancellation_of_the_textbook_sum():
    def textbook(a, b):  # the definition in double precision, rounded term by term
        return a * math.log(a / b) + (1 - a) * math.log((1 - a) / (1 - b))

    with pytest.raises(CheckFailed, match="near a = b the terms .* cancel"):
        check_kl_bernoulli(textbook)


def test_check_kl_bernoulli_names_swapped_arguments():
    with pytest.raises(CheckFailed, match="arguments exchanged"):
        check_kl_bernoulli(lambda a, b: kl_bernoulli_mp(b, a))


def test_check_kl_bernoulli_names_bits():
    with pytest.raises(CheckFailed, match="right answer in bits"):
        check_kl_bernoulli(lambda a, b: kl_bernoulli_mp(a, b) / math.log(2))


def test_check_kl_bernoulli_names_a_missing_infinity():
    def finite_everywhere(a, b):
        value = kl_bernoulli_mp(a, b)
        return 1e300 if value == math.inf else value

    with pytest.raises(CheckFailed, match=r"\(0.5, 0.0\).*infinite here"):
        check_kl_bernoulli(finite_everywhere)


def test_check_kl_bernoulli_on_the_unfinished_stub():
    def kl_bernoulli_accurate(a, b):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_kl_bernoulli(kl_bernoulli_accurate)


# --- ex-num-logits ---------------------------------------------------------------------------


def kl_from_logits_mp(y, z):
    """D(y || softmax(z)) at 50 digits: sum over y_j > 0 of y_j (log y_j - z_j + log sum e^z)."""
    lse = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in z))
    return float(mpmath.fsum(mpmath.mpf(float(w)) * (mpmath.log(mpmath.mpf(float(w)))
                                                      - mpmath.mpf(float(v)) + lse)
                             for w, v in zip(y, z) if w > 0))


def test_check_kl_from_logits_passes_a_50_digit_answer(capsys):
    check_kl_from_logits(kl_from_logits_mp)
    assert "on 5 cases" in capsys.readouterr().out


def test_check_kl_from_logits_names_overflow_or_zero_labels():
    def naive(y, z):
        q = [math.exp(v) if v < 700 else math.inf for v in z]
        total = sum(q)
        return sum(w * math.log(w / (v / total)) if w > 0 else math.nan for w, v in zip(y, q))

    with pytest.raises(CheckFailed, match="returned nan"):
        check_kl_from_logits(naive)


def test_check_kl_from_logits_names_an_infinite_result():
    def underflowing(y, z):  # softmax formed after the shift: exp(-1000) underflows to 0
        top = max(z)
        weights = [math.exp(v - top) for v in z]
        q = [v / sum(weights) for v in weights]
        return sum(w * math.log(w / v) if v > 0 else math.inf for w, v in zip(y, q) if w > 0)

    with pytest.raises(CheckFailed, match="returned inf, but the divergence is finite"):
        check_kl_from_logits(underflowing)


def test_check_kl_from_logits_names_the_cross_entropy():
    def cross_entropy(y, z):
        lse = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in z))
        return float(mpmath.fsum(mpmath.mpf(float(w)) * (lse - mpmath.mpf(float(v)))
                                 for w, v in zip(y, z) if w > 0))

    with pytest.raises(CheckFailed, match=r"the cross-entropy H\(y, q\)"):
        check_kl_from_logits(cross_entropy)


def test_check_kl_from_logits_names_log2():
    with pytest.raises(CheckFailed, match="right answer in bits"):
        check_kl_from_logits(lambda y, z: kl_from_logits_mp(y, z) / math.log(2))


def test_check_kl_from_logits_on_the_unfinished_stub():
    def kl_from_logits(y, z):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_kl_from_logits(kl_from_logits)


# --- ex-num-logits: the condition number and the forward error -------------------------------

Y3 = [1 / 3, 1 / 3, 1 / 3]
Z3 = [1000.0, 1000.0, 1000.0 - 1e-6]


def logits_pair_mp():
    """The normalised labels, the logits, softmax(z) and D, at 50 digits from the doubles."""
    y = [mpmath.mpf(v) for v in Y3]
    y = [v / mpmath.fsum(y) for v in y]
    z = [mpmath.mpf(v) for v in Z3]
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in z))
    q = [mpmath.exp(v - lse) for v in z]
    d = mpmath.fsum(a * mpmath.log(a / b) for a, b in zip(y, q))
    return y, z, q, d


def kappa_z_mp():
    # dD/dz_j = q_j - y_j, so z_j dD/dz_j / D summed in absolute value
    y, z, q, d = logits_pair_mp()
    return float(mpmath.fsum(abs(v) * abs(b - a) for v, a, b in zip(z, y, q)) / d)


def test_check_logits_condition_passes_the_condition_number(capsys):
    check_logits_condition(kappa_z_mp())
    out = capsys.readouterr().out
    assert out.startswith("logits_condition is kappa_z = 4.0e+09")


def test_the_condition_number_is_about_four_times_the_logits_over_delta():
    # q_j - y_j is about delta/9, delta/9, -2 delta/9 and D about delta^2 / 9
    assert kappa_z_mp() == pytest.approx(4 * 1000 / 1e-6, rel=1e-6)


def test_check_logits_condition_names_the_differences():
    y, z, q, d = logits_pair_mp()
    top = max(z)
    kappa_w = float(mpmath.fsum(abs(v - top) * abs(b - a) for v, a, b in zip(z, y, q)) / d)
    with pytest.raises(CheckFailed, match="differences z_j - max z"):
        check_logits_condition(kappa_w)


def test_check_logits_condition_names_the_labels():
    y, z, q, d = logits_pair_mp()
    kappa_y = float(mpmath.fsum(a * abs(mpmath.log(a / b) - d) for a, b in zip(y, q)) / d)
    with pytest.raises(CheckFailed, match="perturbations of the labels"):
        check_logits_condition(kappa_y)


def test_check_logits_condition_names_a_missing_division():
    y, z, q, d = logits_pair_mp()
    with pytest.raises(CheckFailed, match="divided by D"):
        check_logits_condition(float(mpmath.fsum(abs(v) * abs(b - a) for v, a, b in zip(z, y, q))))


def test_check_logits_condition_names_the_reciprocal_and_other_values():
    with pytest.raises(CheckFailed, match="reciprocal"):
        check_logits_condition(1 / kappa_z_mp())
    with pytest.raises(CheckFailed, match="expected 3999999785.88, got 4100000000"):
        check_logits_condition(4.1e9)
    with pytest.raises(CheckFailed, match="not written yet"):
        check_logits_condition(...)


def lse_form(y, z):
    """The log-sum-exp form in plain Python doubles (math.log, math.exp)."""
    top = max(z)
    lse = top + math.log(math.fsum(math.exp(v - top) for v in z))
    return sum(a * (math.log(a) - (v - lse)) for a, v in zip(y, z) if a > 0)


def forward_error_mp(function):
    y, z, q, d = logits_pair_mp()
    return float(abs(mpmath.mpf(function(list(Y3), list(Z3))) - d) / d)


def test_check_logits_forward_error_passes_the_error_of_the_lse_form(capsys):
    error = forward_error_mp(lse_form)
    assert error > 0.1  # LSE(z) is rounded at the spacing 2^-43 of the doubles near 1000
    check_logits_forward_error(error, lse_form)
    assert capsys.readouterr().out == ("logits_forward_error is the relative error of "
                                       "kl_from_logits here, above 0.1: no correct digit; "
                                       "kappa_z u = 4.4e-07.\n")


def test_check_logits_forward_error_of_an_accurate_function(capsys):
    def accurate(y, z):
        return float(logits_pair_mp()[3])

    check_logits_forward_error(forward_error_mp(accurate), accurate)
    assert "below 0.1" in capsys.readouterr().out


def test_check_logits_forward_error_names_an_absolute_error():
    y, z, q, d = logits_pair_mp()
    absolute = float(abs(mpmath.mpf(lse_form(Y3, Z3)) - d))
    with pytest.raises(CheckFailed, match="absolute error"):
        check_logits_forward_error(absolute, lse_form)


def test_check_logits_forward_error_on_stubs():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_logits_forward_error(..., lse_form)
    with pytest.raises(CheckFailed, match="not written yet"):
        check_logits_forward_error(0.5, ...)
