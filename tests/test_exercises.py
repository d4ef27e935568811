"""Tests of klbook.exercises: the generic checks pass right answers and explain wrong ones.

Expected values come from mpmath at 50 digits or SymPy, never from klbook.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from klbook import exercises
from klbook.derivation import Derivation
from klbook.exercises import CheckFailed, check_derivation, compare_function, compare_value



@pytest.fixture(autouse=True, scope="module")
def fifty_digits():
    """mpmath at 50 digits for this module's tests only (restored afterwards)."""
    with mpmath.workdps(50):
        yield


def kl_uniform_mp(a, b):
    """D(U[0,a] || U[0,b]) = log(b/a) for a <= b, inf otherwise (mpmath, rounded once)."""
    return float(mpmath.log(mpmath.mpf(b) / a)) if a <= b else math.inf


def coin_bits_exact():
    """D((1/4, 3/4) || (1/2, 1/2)) in bits, exactly: (3/4) log2 3 - 1."""
    return sp.Rational(3, 4) * sp.log(3, 2) - 1


# --- compare_value -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.5, np.float64(0.5), np.array(0.5), sp.Rational(1, 2), 1 / 2])
def test_compare_value_accepts_every_real_scalar_type(value):
    compare_value(value, 0.5)


def test_compare_value_accepts_an_exact_sympy_expression():
    exact = coin_bits_exact()
    compare_value(exact, float(sp.N(exact, 30)), unit="bits", rtol=1e-15)


@pytest.mark.parametrize("placeholder", [None, Ellipsis])
def test_unfinished_answer_says_so(placeholder):
    with pytest.raises(CheckFailed, match="not written yet"):
        compare_value(placeholder, 1.0)


@pytest.mark.parametrize("value", ["0.5", [0.5, 0.5], np.array([0.5]), True, sp.Symbol("x")])
def test_non_number_is_named(value):
    with pytest.raises(CheckFailed, match="expected a real number"):
        compare_value(value, 0.5)


def test_log10_for_natural_log_is_recognised():
    expected = float(mpmath.log(mpmath.mpf(5) / 2))
    got = float(mpmath.log10(mpmath.mpf(5) / 2))
    with pytest.raises(CheckFailed, match=r"hartleys, not in nats.*log10"):
        compare_value(got, expected)


def test_log2_for_natural_log_is_recognised():
    expected = float(mpmath.log(3))
    with pytest.raises(CheckFailed, match=r"bits, not in nats.*log2"):
        compare_value(float(mpmath.log(3, 2)), expected)


def test_natural_log_for_bits_is_recognised():
    expected = float(mpmath.log(3, 2))
    with pytest.raises(CheckFailed, match=r"nats, not in bits.*natural log"):
        compare_value(float(mpmath.log(3)), expected, unit="bits")


def test_swapped_arguments_are_recognised():
    with pytest.raises(CheckFailed, match="arguments exchanged"):
        compare_value(0.2, 0.3, swapped=0.2)


def test_swap_is_not_claimed_when_both_orders_agree():
    # A symmetric case cannot reveal a swap; the message must not guess one.
    with pytest.raises(CheckFailed) as info:
        compare_value(0.7, 0.3, swapped=0.3)
    assert "exchanged" not in str(info.value)


def test_flipped_sign_is_recognised():
    with pytest.raises(CheckFailed, match="wrong sign"):
        compare_value(-0.25, 0.25)


def test_nan_points_at_zero_log_zero():
    with pytest.raises(CheckFailed, match=r"NaN.*0 \* log\(0\)"):
        compare_value(math.nan, 0.25)


def test_finite_where_infinite_is_explained():
    with pytest.raises(CheckFailed, match="infinite here"):
        compare_value(1.5, math.inf)


def test_infinite_where_finite_is_explained():
    with pytest.raises(CheckFailed, match="infinite but the divergence is finite"):
        compare_value(math.inf, 1.5)


def test_unrelated_error_gets_no_invented_hint():
    with pytest.raises(CheckFailed) as info:
        compare_value(0.45, 0.3)
    assert str(info.value) == "the value: expected 0.3 nats, got 0.45."


def test_unknown_unit_is_a_value_error():
    with pytest.raises(ValueError, match="unit must be one of"):
        compare_value(1.0, 1.0, unit="decibels")


def test_check_failed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-6, max_value=1e6), st.sampled_from(["bits", "hartleys"]))
def test_any_value_in_another_unit_is_recognised(nats, other):
    base = {"bits": 2, "hartleys": 10}[other]
    got = float(mpmath.mpf(nats) / mpmath.log(base))
    with pytest.raises(CheckFailed, match=f"right answer in {other}"):
        compare_value(got, nats)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6), st.floats(min_value=-1, max_value=1))
def test_values_within_tolerance_pass(expected, wiggle):
    compare_value(expected * (1 + 1e-10 * wiggle), expected)


# --- compare_function --------------------------------------------------------------------


def test_compare_function_reports_the_first_failing_case():
    def student(a, b):
        return kl_uniform_mp(a, b) if a != 4 else 0.0

    with pytest.raises(CheckFailed, match=r"student\(4, 7\): expected"):
        compare_function(student, kl_uniform_mp, [(2, 5), (4, 7), (1, 9)])


def test_compare_function_reports_a_crash_with_its_type():
    def student(a, b):
        return 1 / 0

    with pytest.raises(CheckFailed, match=r"student\(1, 2\) raised ZeroDivisionError"):
        compare_function(student, kl_uniform_mp, [(1, 2)])


def test_compare_function_recognises_an_unwritten_function():
    def student(a, b):
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="not written yet"):
        compare_function(student, kl_uniform_mp, [(1, 2)])


def test_compare_function_prints_one_line_on_success(capsys):
    compare_function(kl_uniform_mp, kl_uniform_mp, [(1, 2), (3, 3)])
    assert capsys.readouterr().out == "kl_uniform_mp agrees with the reference on 2 cases.\n"


@pytest.mark.parametrize("which", ["student", "reference"])
def test_compare_function_rejects_non_callables(which):
    args = {"student": kl_uniform_mp, "reference": kl_uniform_mp, which: 3.0}
    with pytest.raises(TypeError, match=f"{which} must be callable"):
        compare_function(args["student"], args["reference"], [(1, 2)])


# --- check_derivation ------------------------------------------------------------------------

x = sp.Symbol("x", positive=True)


def log_power_chain():
    return Derivation(sp.log(x ** 2)).equals(2 * sp.log(x), "log of a power")


def test_check_derivation_passes_the_statement_proved(capsys):
    check_derivation(log_power_chain(), start=sp.log(x ** 2), end=2 * sp.log(x), relation="=")
    assert capsys.readouterr().out == "the chain proves the statement in 1 verified step.\n"


def test_check_derivation_accepts_ends_equal_up_to_simplification():
    check_derivation(log_power_chain(), start=2 * sp.log(x), end=sp.log(x) + sp.log(x),
                     relation="=", quiet=True)


def test_an_equality_chain_proves_either_bound():
    for relation in ("<=", ">="):
        check_derivation(log_power_chain(), start=sp.log(x ** 2), end=2 * sp.log(x),
                         relation=relation, quiet=True)


@pytest.mark.parametrize("answer", [None, ...])
def test_check_derivation_recognises_an_unwritten_chain(answer):
    with pytest.raises(CheckFailed, match="not written yet"):
        check_derivation(answer, start=x, end=x, relation="=")


def test_check_derivation_names_a_wrong_type():
    with pytest.raises(CheckFailed, match="expected a klbook.derivation.Derivation, got Add"):
        check_derivation(x + 1, start=x, end=x, relation="=")


def test_check_derivation_wants_a_step():
    with pytest.raises(CheckFailed, match="has no step yet"):
        check_derivation(Derivation(x), start=x, end=x, relation="=")


def test_check_derivation_names_a_wrong_start():
    with pytest.raises(CheckFailed, match=r"starts at log\(x\*\*2\), but .* starts at x"):
        check_derivation(log_power_chain(), start=x, end=2 * sp.log(x), relation="=")


def test_check_derivation_names_a_wrong_end():
    with pytest.raises(CheckFailed, match=r"ends at 2\*log\(x\), but .* ends at log\(x\)"):
        check_derivation(log_power_chain(), start=sp.log(x ** 2), end=sp.log(x), relation="=")


def test_check_derivation_names_the_wrong_direction():
    from klbook.derivation import LOG_LE_X_MINUS_1

    upper = Derivation(sp.log(x)).less_equal(x - 1, "ln t <= t - 1", lemma=LOG_LE_X_MINUS_1, t=x)
    check_derivation(upper, start=sp.log(x), end=x - 1, relation="<=", quiet=True)
    with pytest.raises(CheckFailed, match=r"proves an upper bound \(<=\), but the statement "
                                          r"is a lower bound \(>=\)"):
        check_derivation(upper, start=sp.log(x), end=x - 1, relation=">=")
    with pytest.raises(CheckFailed, match="but the statement is an equality"):
        check_derivation(upper, start=sp.log(x), end=x - 1, relation="=")


def test_check_derivation_rejects_an_unknown_relation():
    with pytest.raises(ValueError, match="relation must be one of"):
        check_derivation(log_power_chain(), start=x, end=x, relation="<")


def test_public_names_are_exported():
    for name in exercises.__all__:
        assert hasattr(exercises, name)
