"""Tests of klbook.exercises.continuous: chapter 6's public checks.

Correct answers are written here from the definitions, with mpmath at 50 digits
(quadrature of the defining integrals) or SymPy, never with klbook; each
diagnosed mistake is shown to be diagnosed.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from klbook.derivation import Derivation, assume
from klbook.exercises import CheckFailed
from klbook.exercises.continuous import (check_asymmetry, check_equal_variance,
                                         check_exponential_gamma_value, check_finite_when,
                                         check_kl_exponential_gamma, check_mean_square_ratio,
                                         normal_symbols)


@pytest.fixture(autouse=True, scope="module")
def fifty_digits():
    """mpmath at 50 digits for this module's tests only (restored afterwards)."""
    with mpmath.workdps(50):
        yield


# --- ex-cont-equal-variance --------------------------------------------------------------


def normal_kl(m1, s1, m2, s2):
    """The second form of the chapter's theorem, through phi(t) = t - 1 - log t."""
    t = s1 ** 2 / s2 ** 2
    return ((t - 1 - sp.log(t)) + (m1 - m2) ** 2 / s2 ** 2) / 2


def normal_kl_mp(m1, s1, m2, s2):
    """D(N(m1, s1^2) || N(m2, s2^2)) by 50-digit quadrature of the defining integral."""
    m1, s1, m2, s2 = map(mpmath.mpf, (m1, s1, m2, s2))

    def log_density(x, m, s):
        return -(x - m) ** 2 / (2 * s ** 2) - mpmath.log(s) - mpmath.log(2 * mpmath.pi) / 2

    def integrand(x):
        return mpmath.exp(log_density(x, m1, s1)) * (log_density(x, m1, s1) - log_density(x, m2, s2))

    return mpmath.quad(integrand, [-mpmath.inf, m1 - 10 * s1, m1, m1 + 10 * s1, mpmath.inf])


def test_normal_symbols_are_the_chapters():
    mu1, mu2, sigma1, sigma2, s = normal_symbols()
    assert (mu1, mu2) == sp.symbols("mu1 mu2", real=True)
    assert (sigma1, sigma2, s) == sp.symbols("sigma1 sigma2 s", positive=True)


def test_check_equal_variance_passes_the_symmetry(capsys):
    mu1, mu2, _, _, s = normal_symbols()
    chain = Derivation(normal_kl(mu1, s, mu2, s)).equals(normal_kl(mu2, s, mu1, s), "swap")
    check_equal_variance(chain)
    assert capsys.readouterr().out == "equal_var proves the statement in 1 verified step.\n"


def test_check_equal_variance_names_a_wrong_start():
    mu1, mu2, sigma1, sigma2, s = normal_symbols()
    chain = Derivation(normal_kl(mu1, sigma1, mu2, sigma1)).equals(
        normal_kl(mu2, sigma1, mu1, sigma1), "swap")                 # not in the symbol s
    with pytest.raises(CheckFailed, match="equal_var starts at"):
        check_equal_variance(chain)


def test_check_equal_variance_refuses_a_hypothesis():
    mu1, mu2, _, _, s = normal_symbols()
    chain = Derivation(normal_kl(mu1, s, mu2, s), given=[assume(sp.Eq(mu1, mu2))]).equals(
        normal_kl(mu2, s, mu1, s), "swap")                          # true, but not what was asked
    with pytest.raises(CheckFailed, match="which the statement does not allow"):
        check_equal_variance(chain)


def test_check_equal_variance_on_the_stub():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_equal_variance(...)


def asymmetry_exact():
    mu1, mu2, sigma1, sigma2, _ = normal_symbols()
    return normal_kl(mu1, sigma1, mu2, sigma2) - normal_kl(mu2, sigma2, mu1, sigma1)


def test_asymmetry_reference_matches_quadrature():
    # the expression the next test passes, against the defining integrals
    mu1, mu2, sigma1, sigma2, _ = normal_symbols()
    point = {mu1: 0.3, sigma1: 1.7, mu2: -1.1, sigma2: 0.6}
    expected = normal_kl_mp(0.3, 1.7, -1.1, 0.6) - normal_kl_mp(-1.1, 0.6, 0.3, 1.7)
    assert abs(float(asymmetry_exact().subs(point)) - float(expected)) < 1e-13


def test_check_asymmetry_passes_the_difference(capsys):
    check_asymmetry(asymmetry_exact())
    assert capsys.readouterr().out == "asymmetry agrees with klbook.kl_normal at 3 points.\n"


def test_check_asymmetry_names_the_reversed_difference():
    with pytest.raises(CheckFailed, match="arguments exchanged"):
        check_asymmetry(-asymmetry_exact())


def test_check_asymmetry_names_zero():
    with pytest.raises(CheckFailed, match="identically 0"):
        check_asymmetry(sp.Integer(0))


def test_check_asymmetry_names_foreign_symbols():
    a, b = sp.symbols("a b")
    with pytest.raises(CheckFailed, match=r"symbols \['a', 'b'\]"):
        check_asymmetry(sp.log(a / b))


def test_check_asymmetry_wants_an_expression():
    with pytest.raises(CheckFailed, match="expected a SymPy expression"):
        check_asymmetry(0.5)


def test_check_asymmetry_on_the_stub():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_asymmetry(...)


# --- ex-cont-gamma-exponential -----------------------------------------------------------


def exponential_gamma_mp(rate, shape, gamma_rate):
    """D(Exp(rate) || Gamma(shape, gamma_rate)) by 50-digit quadrature."""
    lam, alpha, beta = map(mpmath.mpf, (rate, shape, gamma_rate))

    def integrand(x):
        log_p = mpmath.log(lam) - lam * x
        log_q = alpha * mpmath.log(beta) + (alpha - 1) * mpmath.log(x) - beta * x - mpmath.loggamma(alpha)
        return mpmath.exp(log_p) * (log_p - log_q)

    return mpmath.quad(integrand, [0, 1 / lam, 10 / lam, mpmath.inf])


def gamma_exponential_mp(shape, gamma_rate, rate):
    """D(Gamma(shape, gamma_rate) || Exp(rate)) by 50-digit quadrature."""
    lam, alpha, beta = map(mpmath.mpf, (rate, shape, gamma_rate))

    def integrand(x):
        log_p = alpha * mpmath.log(beta) + (alpha - 1) * mpmath.log(x) - beta * x - mpmath.loggamma(alpha)
        return mpmath.exp(log_p) * (log_p - mpmath.log(lam) + lam * x)

    return mpmath.quad(integrand, [0, alpha / beta, 10 * alpha / beta, mpmath.inf])


def test_check_exponential_gamma_value_passes_euler_gamma(capsys):
    # the defining integral at (1, 2, 1) is Euler's constant
    assert abs(exponential_gamma_mp(1, 2, 1) - mpmath.euler) < mpmath.mpf(10) ** -30
    check_exponential_gamma_value(sp.EulerGamma)
    check_exponential_gamma_value(float(mpmath.euler))
    assert capsys.readouterr().out.count("in nats.") == 2


def test_check_exponential_gamma_value_names_bits():
    with pytest.raises(CheckFailed, match="right answer in bits"):
        check_exponential_gamma_value(sp.EulerGamma / sp.log(2))


def test_check_exponential_gamma_value_names_the_other_direction():
    with pytest.raises(CheckFailed, match="arguments exchanged"):
        check_exponential_gamma_value(float(gamma_exponential_mp(2, 1, 1)))


def test_check_exponential_gamma_value_on_the_stub():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_exponential_gamma_value(...)


def vectorised(function):
    """`function` of mpmath numbers, applied elementwise to arrays."""
    def wrapped(rate, shape, gamma_rate):
        values = np.vectorize(lambda a, b, c: float(function(a, b, c)))(rate, shape, gamma_rate)
        return values[()] if values.ndim == 0 else values
    wrapped.__name__ = "kl_exponential_gamma"
    return wrapped


def test_check_kl_exponential_gamma_passes_the_integral(capsys):
    check_kl_exponential_gamma(vectorised(exponential_gamma_mp))
    assert capsys.readouterr().out == ("kl_exponential_gamma agrees with klbook.kl_gamma on 5 "
                                       "cases and on an array.\n")


def test_check_kl_exponential_gamma_names_a_scale():
    def as_scale(rate, shape, gamma_rate):
        return exponential_gamma_mp(rate, shape, 1 / mpmath.mpf(gamma_rate))

    with pytest.raises(CheckFailed, match="gamma_rate taken as a scale"):
        check_kl_exponential_gamma(vectorised(as_scale))


def test_check_kl_exponential_gamma_names_the_other_direction():
    def reverse(rate, shape, gamma_rate):
        return gamma_exponential_mp(shape, gamma_rate, rate)

    with pytest.raises(CheckFailed, match="arguments exchanged"):
        check_kl_exponential_gamma(vectorised(reverse))


def test_check_kl_exponential_gamma_names_math_on_arrays():
    def scalar_only(rate, shape, gamma_rate):
        return float(exponential_gamma_mp(float(rate), shape, gamma_rate))

    with pytest.raises(CheckFailed, match=r"array\(\[0.5, 1, 2\]\).*not those of math"):
        check_kl_exponential_gamma(scalar_only)


def test_check_kl_exponential_gamma_on_the_stub():
    def kl_exponential_gamma(rate, shape, gamma_rate):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_kl_exponential_gamma(kl_exponential_gamma)


# --- ex-cont-k3-tails --------------------------------------------------------------------


def test_check_finite_when_passes_the_open_interval(capsys):
    check_finite_when(sp.Interval.open(0, sp.sqrt(2)))
    assert "finite second moment" in capsys.readouterr().out


@pytest.mark.parametrize(("answer", "message"), [
    (sp.Interval.Lopen(0, sp.sqrt(2)), "open at sqrt"),
    (sp.Interval.open(0, 2), "bound on sigma"),
    (sp.Interval.open(-sp.sqrt(2), sp.sqrt(2)), "not a standard deviation"),
    (sp.Interval.open(0, 1), r"expected the sigma in \(0, sqrt\(2\)\)"),
    (1.4142, "expected a SymPy set"),
    (None, "not written yet"),
])
def test_check_finite_when_names_the_mistake(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_finite_when(answer)


def mean_square_ratio_mp(sigma):
    """The integral of q^2/p by 50-digit quadrature, inf when the integrand does not decay."""
    sigma = mpmath.mpf(sigma)
    if sigma ** 2 >= 2:
        return math.inf      # q^2/p = K exp(c x^2) with c = 1/2 - 1/sigma^2 >= 0

    def integrand(x):
        log_q = -x ** 2 / (2 * sigma ** 2) - mpmath.log(sigma) - mpmath.log(2 * mpmath.pi) / 2
        log_p = -x ** 2 / 2 - mpmath.log(2 * mpmath.pi) / 2
        return mpmath.exp(2 * log_q - log_p)

    return float(mpmath.quad(integrand, [-mpmath.inf, 0, mpmath.inf]))


def test_check_mean_square_ratio_passes_the_integral(capsys):
    check_mean_square_ratio(mean_square_ratio_mp)
    assert capsys.readouterr().out == ("mean_square_ratio agrees with the closed form at 6 "
                                       "values of sigma.\n")


def test_check_mean_square_ratio_names_the_chi_square():
    with pytest.raises(CheckFailed, match="chi-square divergence"):
        check_mean_square_ratio(lambda sigma: mean_square_ratio_mp(sigma) - 1)


def test_check_mean_square_ratio_names_a_missing_infinity():
    def no_infinity(sigma):
        # the closed form used beyond its range: |2 - sigma^2| under the root
        return 1 / (sigma * math.sqrt(abs(2 - sigma ** 2))) if sigma ** 2 != 2 else 1e300

    with pytest.raises(CheckFailed, match="return np.inf there"):
        check_mean_square_ratio(no_infinity)


def test_check_mean_square_ratio_names_a_spurious_infinity():
    with pytest.raises(CheckFailed, match="got inf"):
        check_mean_square_ratio(lambda sigma: math.inf)


def test_check_mean_square_ratio_on_the_stub():
    def mean_square_ratio(sigma):
        ...

    with pytest.raises(CheckFailed, match="not written yet"):
        check_mean_square_ratio(mean_square_ratio)
