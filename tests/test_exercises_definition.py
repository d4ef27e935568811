"""Tests of klbook.exercises.definition: chapter 1's public checks.

Expected values come from mpmath at 50 digits or SymPy, never from klbook.
"""

import math

import mpmath
import pytest
import sympy as sp

from klbook.exercises import CheckFailed
from klbook.exercises.definition import check_change_base, check_coin_bits, check_kl_uniform


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


def test_check_kl_uniform_passes_a_correct_function(capsys):
    check_kl_uniform(kl_uniform_mp)
    assert "agrees with the reference on 5 cases" in capsys.readouterr().out


def test_check_kl_uniform_names_log10():
    def kl_uniform(a, b):
        return float(mpmath.log10(mpmath.mpf(b) / a)) if a <= b else math.inf

    with pytest.raises(CheckFailed, match=r"kl_uniform\(2, 5\).*log10"):
        check_kl_uniform(kl_uniform)


def test_check_kl_uniform_names_swapped_arguments():
    def kl_uniform(a, b):
        return kl_uniform_mp(b, a)

    with pytest.raises(CheckFailed, match="arguments exchanged"):
        check_kl_uniform(kl_uniform)


def test_check_kl_uniform_names_a_missing_infinity():
    def kl_uniform(a, b):
        return float(mpmath.log(mpmath.mpf(b) / a))  # no case for a > b

    with pytest.raises(CheckFailed, match=r"kl_uniform\(5, 2\).*infinite here"):
        check_kl_uniform(kl_uniform)


def test_check_kl_uniform_on_the_unfinished_stub():
    def kl_uniform(a, b):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_kl_uniform(kl_uniform)


def test_check_coin_bits_passes_the_exact_answer(capsys):
    check_coin_bits(coin_bits_exact())
    assert capsys.readouterr().out == "The value is the divergence in bits.\n"


@pytest.mark.parametrize(("base", "unit"), [(10, "hartleys"), (sp.E, "nats")])
def test_check_coin_bits_names_the_unit_used(base, unit):
    wrong = sp.Rational(1, 4) * sp.log(sp.Rational(1, 2), base) + sp.Rational(3, 4) * sp.log(
        sp.Rational(3, 2), base)
    with pytest.raises(CheckFailed, match=f"right answer in {unit}"):
        check_coin_bits(wrong)


def test_check_coin_bits_names_swapped_distributions():
    # D((1/2, 1/2) || (1/4, 3/4)) in bits, exactly: the divergence taken the other way round.
    half = sp.Rational(1, 2)
    swapped = half * sp.log(half / sp.Rational(1, 4), 2) + half * sp.log(half / sp.Rational(3, 4), 2)
    with pytest.raises(CheckFailed, match="arguments exchanged"):
        check_coin_bits(swapped)


# --- check_change_base: the factor ln 2 / ln 10 and a converter between bases ------------


def change_base_mp(divergence, b, c):
    return float(mpmath.mpf(divergence) * mpmath.log(b) / mpmath.log(c))


def test_check_change_base_passes_the_exact_factor(capsys):
    check_change_base(sp.log(2) / sp.log(10), change_base_mp)
    assert capsys.readouterr().out == "The factor and change_base are right.\n"


def test_check_change_base_names_an_inverted_factor():
    with pytest.raises(CheckFailed, match="bits_to_hartleys: .* the factor inverted"):
        check_change_base(sp.log(10) / sp.log(2), change_base_mp)


def test_check_change_base_wants_an_exact_expression():
    with pytest.raises(CheckFailed, match="exact SymPy expression .* got float"):
        check_change_base(math.log10(2), change_base_mp)


@pytest.mark.parametrize("placeholder", [None, ...])
def test_check_change_base_on_the_unfinished_stub(placeholder):
    with pytest.raises(CheckFailed, match="not written yet"):
        check_change_base(placeholder, change_base_mp)


def test_check_change_base_names_an_inverted_converter():
    def inverted(divergence, b, c):
        return change_base_mp(divergence, c, b)

    with pytest.raises(CheckFailed, match=r"change_base\(.*, 2, 10\): .* the factor inverted"):
        check_change_base(sp.log(2) / sp.log(10), inverted)


def test_check_change_base_reports_an_unwritten_converter():
    def stub(divergence, b, c):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_change_base(sp.log(2) / sp.log(10), stub)


def test_check_change_base_reports_a_crash():
    def crashes(divergence, b, c):
        return divergence * math.log(b) / math.log(c - 10)

    with pytest.raises(CheckFailed, match=r"raised ValueError"):
        check_change_base(sp.log(2) / sp.log(10), crashes)
