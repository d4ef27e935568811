"""Tests of klbook.distributions: densities against scipy.stats, samplers, dispatch."""

import numpy as np
import pytest
from scipy import stats

from klbook import continuous
from klbook.distributions import (Bernoulli, Beta, Distribution, Exponential, Gamma,
                                  MultivariateNormal, Normal, Poisson, kl_closed_form,
                                  register_kl)

X = np.array([0.05, 0.3, 0.5, 0.9, 1.7])
COUNTS = np.array([0.0, 1.0, 2.0, 7.0])


@pytest.mark.parametrize("dist, frozen, points", [
    (Normal(0.3, 1.7), stats.norm(0.3, 1.7), X),
    (Exponential(2.5), stats.expon(scale=1 / 2.5), X),
    (Gamma(2.2, 3.0), stats.gamma(2.2, scale=1 / 3.0), X),
    (Beta(0.7, 2.5), stats.beta(0.7, 2.5), X[:4]),
])
def test_log_densities_match_scipy(dist, frozen, points):
    np.testing.assert_allclose(dist.log_prob(points), frozen.logpdf(points), rtol=1e-13)


def test_log_masses_match_scipy():
    np.testing.assert_allclose(Poisson(3.3).log_prob(COUNTS), stats.poisson(3.3).logpmf(COUNTS),
                               rtol=1e-13)
    np.testing.assert_allclose(Bernoulli(0.3).log_prob([0, 1]), stats.bernoulli(0.3).logpmf([0, 1]),
                               rtol=1e-15)


def test_mvnormal_log_density_matches_scipy():
    cov = np.array([[2.0, 0.3], [0.3, 0.5]])
    points = np.array([[0.0, 0.0], [1.0, -2.0]])
    expected = stats.multivariate_normal([0.5, 0.1], cov).logpdf(points)
    np.testing.assert_allclose(MultivariateNormal([0.5, 0.1], cov).log_prob(points), expected,
                               rtol=1e-13)


def test_outside_support_is_minus_infinity():
    assert Exponential(1.0).log_prob(-1.0) == -np.inf
    assert Gamma(2.0, 1.0).log_prob(0.0) == -np.inf
    assert Beta(2.0, 2.0).log_prob(1.5) == -np.inf


@pytest.mark.parametrize("dist, mean", [
    (Normal(1.5, 2.0), 1.5), (Exponential(4.0), 0.25), (Gamma(3.0, 2.0), 1.5),
    (Beta(2.0, 6.0), 0.25), (Poisson(3.0), 3.0), (Bernoulli(0.2), 0.2),
])
def test_samplers_have_the_right_mean(dist, mean):
    x = dist.sample(np.random.default_rng(0), 40_000)
    assert abs(x.mean() - mean) <= 4 * x.std(ddof=1) / np.sqrt(x.size)


def test_parameters_are_validated_by_name():
    with pytest.raises(ValueError, match="scale"):
        Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="prob"):
        Bernoulli(1.2)
    with pytest.raises(ValueError, match="cov"):
        MultivariateNormal([0, 0], [[1, 2], [2, 1]])
    with pytest.raises(TypeError, match="rate"):
        Poisson("many")


@pytest.mark.parametrize("p, q, expected", [
    (Normal(0, 1), Normal(1, 2), continuous.kl_normal(0, 1, 1, 2)),
    (Exponential(1.0), Exponential(3.0), continuous.kl_exponential(1.0, 3.0)),
    (Poisson(2.0), Poisson(5.0), continuous.kl_poisson(2.0, 5.0)),
    (Bernoulli(0.1), Bernoulli(0.4), continuous.kl_bernoulli(0.1, 0.4)),
    (Gamma(2.0, 1.0), Gamma(3.0, 2.0), continuous.kl_gamma(2.0, 1.0, 3.0, 2.0)),
    (Beta(2.0, 1.0), Beta(1.0, 1.0), continuous.kl_beta(2.0, 1.0, 1.0, 1.0)),
    (Exponential(2.0), Gamma(1.0, 3.0), continuous.kl_exponential(2.0, 3.0)),
    (Gamma(1.0, 3.0), Exponential(2.0), continuous.kl_exponential(3.0, 2.0)),
])
def test_dispatch_finds_the_closed_form(p, q, expected):
    assert kl_closed_form(p, q) == pytest.approx(expected, rel=1e-14)


def test_dispatch_mvnormal_and_base():
    p, q = MultivariateNormal([0, 0], np.eye(2)), MultivariateNormal([1, 0], np.diag([1.0, 4.0]))
    expected = continuous.kl_normal(0, 1, 1, 1) + continuous.kl_normal(0, 1, 0, 2)
    assert kl_closed_form(p, q) == pytest.approx(expected, rel=1e-14)
    assert kl_closed_form(p, q, base=2) == pytest.approx(expected / np.log(2), rel=1e-14)


def test_missing_pair_names_both_types():
    with pytest.raises(NotImplementedError, match=r"KL\(Normal \|\| Beta\)"):
        kl_closed_form(Normal(0, 1), Beta(1, 1))


def test_registration_and_subclass_lookup():
    class Uniform01(Distribution):
        pass

    class Narrow(Normal):
        pass

    @register_kl(Uniform01, Uniform01)
    def _zero(p, q, base=None):
        return 0.0

    assert kl_closed_form(Uniform01(), Uniform01()) == 0.0
    assert kl_closed_form(Narrow(0, 1), Normal(0, 2)) == continuous.kl_normal(0, 1, 0, 2)
    with pytest.raises(TypeError):
        register_kl("Normal", Normal)


# --- supports: any real outcome is accepted, and has mass or density 0 off the support -----

import warnings  # noqa: E402

import mpmath  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EPS = np.finfo(np.float64).eps
MAX = float(np.finfo(np.float64).max)


@pytest.mark.parametrize("dist, frozen", [
    (Bernoulli(0.3), stats.bernoulli(0.3)),
    (Bernoulli(0.0), stats.bernoulli(0.0)),
    (Bernoulli(1.0), stats.bernoulli(1.0)),
    (Poisson(2.5), stats.poisson(2.5)),
    (Poisson(1e-300), stats.poisson(1e-300)),
])
def test_masses_off_the_support_are_zero_as_in_scipy(dist, frozen):
    # integers outside the support, non-integers, and the infinities: mass 0, log-mass -inf
    outcomes = np.array([-3.0, -1.0, -0.5, 0.5, 1.5, 2.0, 2.5, 7.25, np.inf, -np.inf])
    if isinstance(dist, Poisson):
        outcomes = outcomes[outcomes != 2.0]            # 2 is in the Poisson support
    assert (dist.log_prob(outcomes) == -np.inf).all()
    finite = outcomes[np.isfinite(outcomes)]             # (scipy's Poisson gives NaN at inf)
    assert (frozen.logpmf(finite) == -np.inf).all()      # the convention followed
    # and inside the support, scipy's values
    inside = np.array([0.0, 1.0]) if isinstance(dist, Bernoulli) else np.array([0.0, 1.0, 5.0])
    np.testing.assert_allclose(dist.log_prob(inside), frozen.logpmf(inside), rtol=1e-14)


def test_bernoulli_no_longer_extrapolates_its_formula():
    # x log p + (1 - x) log(1 - p) is a number at x = 2 or 0.5: it was returned as a mass
    assert Bernoulli(0.3).log_prob(2) == -np.inf
    assert Bernoulli(0.3).log_prob(0.5) == -np.inf
    assert Poisson(2.0).log_prob(1.5) == -np.inf      # was log Gamma's interpolation
    assert Poisson(2.0).log_prob(-1.5) == -np.inf


@pytest.mark.parametrize("dist, frozen", [
    (Exponential(2.0), stats.expon(scale=0.5)),
    (Gamma(0.5, 2.0), stats.gamma(0.5, scale=0.5)),
    (Gamma(1.0, 2.0), stats.gamma(1.0, scale=0.5)),
    (Gamma(3.0, 2.0), stats.gamma(3.0, scale=0.5)),
    (Beta(0.5, 3.0), stats.beta(0.5, 3.0)),
    (Beta(1.0, 3.0), stats.beta(1.0, 3.0)),
    (Beta(3.0, 0.5), stats.beta(3.0, 0.5)),
    (Beta(3.0, 1.0), stats.beta(3.0, 1.0)),
    (Beta(2.0, 2.0), stats.beta(2.0, 2.0)),
])
def test_densities_off_the_support_and_at_its_ends_as_in_scipy(dist, frozen):
    # outside: -inf; at an end of the support: the density's limit (inf, a number or 0)
    outside = [-1.0, -1e-300, np.inf, -np.inf] + ([1.5, 1 + 1e-15] if isinstance(dist, Beta) else [])
    assert (dist.log_prob(outside) == -np.inf).all()
    ends = [0.0, 1.0] if isinstance(dist, Beta) else [0.0]
    np.testing.assert_allclose(dist.log_prob(ends), frozen.logpdf(ends), rtol=1e-14)


def test_gamma_of_shape_one_is_the_exponential_at_zero_too():
    assert Gamma(1.0, 2.0).log_prob(0.0) == Exponential(2.0).log_prob(0.0) == np.log(2.0)


@pytest.mark.parametrize("dist", [Normal(0, 1), Bernoulli(0.3), Poisson(1.0), Exponential(1.0),
                                  Gamma(2.0, 1.0), Beta(2.0, 2.0),
                                  MultivariateNormal([0.0, 0.0], np.eye(2))])
def test_an_outcome_that_is_not_a_real_number_is_an_error_naming_x(dist):
    point = [0.5, np.nan] if isinstance(dist, MultivariateNormal) else np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        dist.log_prob(point)
    with pytest.raises(TypeError, match="x must"):
        dist.log_prob("1")
    with pytest.raises(TypeError, match="x must"):
        dist.log_prob(True)


def test_multivariate_normal_names_a_point_of_the_wrong_dimension():
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\)"):
        MultivariateNormal([0.0, 0.0], np.eye(2)).log_prob([1.0, 2.0, 3.0])


# --- accuracy against mpmath, from subnormal to near-overflow parameters --------------------

def _mp(v):
    return mpmath.mpf(float(v))


def _digits(*values):
    # the textbook forms cancel terms as large as the parameters: carry their digits
    return 40 + int(max(abs(mpmath.log10(abs(mpmath.mpf(v)))) if v != 0 else 0 for v in values))


def reference_poisson(x, rate):
    with mpmath.workdps(_digits(x, rate)):
        x, rate = _mp(x), _mp(rate)
        return +(x * mpmath.log(rate) - rate - mpmath.loggamma(x + 1))


def reference_gamma(x, a, b):
    with mpmath.workdps(_digits(x, a, b, _mp(b) * _mp(x)) + 3):  # terms up to max(a, bx) log
        x, a, b = _mp(x), _mp(a), _mp(b)
        return +(a * mpmath.log(b) + (a - 1) * mpmath.log(x) - b * x - mpmath.loggamma(a))


def reference_beta(x, a, b):
    with mpmath.workdps(_digits(x, a, b)):
        x, a, b = _mp(x), _mp(a), _mp(b)
        return +((a - 1) * mpmath.log(x) + (b - 1) * mpmath.log1p(-x)
                 - (mpmath.loggamma(a) + mpmath.loggamma(b) - mpmath.loggamma(a + b)))


def error_in(value, reference, *scales):
    """|value - reference| in units of the largest of |reference|, 1 and `scales` (the
    documented accuracy: a few ulps of that); 0 for -inf where the reference is below
    the most negative double (its rounding)."""
    if reference < -mpmath.mpf(MAX):
        return 0.0 if value == -np.inf else np.inf
    assert np.isfinite(value)
    with mpmath.workdps(30):
        scale = max([abs(reference), mpmath.mpf(1)] + [abs(s) for s in scales])
        return float(abs(_mp(value) - reference) / scale)


def log_uniform(low, high):
    return st.floats(low, high).map(lambda e: float(10.0 ** e))


@settings(max_examples=150, deadline=None)
@given(log_uniform(-300, 300), st.floats(-3, 3), st.booleans(), log_uniform(0, 300))
def test_poisson_log_mass_to_a_few_ulps(rate, deviation, near, far):
    # counts near the rate (where k log r - r - log k! cancels) and anywhere up to 1e300
    count = np.floor(rate + deviation * np.sqrt(rate)) if near and rate > 1 else np.floor(far)
    count = max(float(count), 0.0)
    assert error_in(Poisson(rate).log_prob(count), reference_poisson(count, rate)) <= 4 * EPS


@settings(max_examples=100, deadline=None)
@given(log_uniform(-300, 300), log_uniform(-300, 300), st.sampled_from(["mode", "tail", "unit"]),
       st.floats(-3, 3), log_uniform(-300, 300), st.floats(0.4, 2.1))
def test_gamma_log_density_to_a_few_ulps_of_its_scale(shape, rate, where, deviation, tail, unit):
    if where == "mode":        # within a few standard deviations of the mode, any shape
        x = shape / rate * float(mpmath.exp(deviation / mpmath.sqrt(shape)))
    elif where == "unit":      # a shape near 1, far into a tail (log x must not cancel)
        shape, x = unit, tail
    else:
        x = tail
    if not 0 < x < np.inf:
        return
    a, b, mx = _mp(shape), _mp(rate), _mp(x)
    if b * mx > 10 * MAX:      # -rate x dominates: below the most negative double
        assert Gamma(shape, rate).log_prob(x) == -np.inf
        return
    scales = [(a - 1) - b * mx, mpmath.log(mx), mpmath.log(a), mpmath.log(b)]
    assert error_in(Gamma(shape, rate).log_prob(x), reference_gamma(x, shape, rate),
                    *scales) <= 8 * EPS


@settings(max_examples=100, deadline=None)
@given(log_uniform(-300, 300), log_uniform(-300, 300), st.sampled_from(["mode", "end", "unit"]),
       st.floats(-3, 3), log_uniform(-300, -1e-3), st.booleans(), st.floats(0.4, 2.1))
def test_beta_log_density_to_a_few_ulps_of_its_scale(a, b, where, deviation, small, at_one, unit):
    if where == "mode":        # a few standard deviations from the mean
        x = a / (a + b) * float(mpmath.exp(deviation / mpmath.sqrt(a) / 3)) if a > 1 else 0.5
    else:
        if where == "unit":
            a = unit
        x = 1.0 - small if at_one else small
    if not 0 < x < 1:
        return
    ma, mb, mx = _mp(a), _mp(b), _mp(x)
    scales = [(ma - 1) - (mb - 1) * mx / (1 - mx), mpmath.log(mx), mpmath.log1p(-mx),
              mpmath.log(ma), mpmath.log(mb)]
    assert error_in(Beta(a, b).log_prob(x), reference_beta(x, a, b), *scales) <= 8 * EPS


@pytest.mark.parametrize("dist, x, reference", [
    # the textbook forms overflow (inf - inf) or cancel every digit at these parameters
    (Poisson(1e308), 1e308, lambda: reference_poisson(1e308, 1e308)),
    (Poisson(1e6), 1e6, lambda: reference_poisson(1e6, 1e6)),
    (Gamma(1e308, 1e308), 1.0, lambda: reference_gamma(1.0, 1e308, 1e308)),
    (Gamma(1e-300, 1.0), 1e-300, lambda: reference_gamma(1e-300, 1e-300, 1.0)),
    (Beta(1e308, 1e308), 0.5, lambda: reference_beta(0.5, 1e308, 1e308)),
    (Beta(1e6, 3e6), 0.25, lambda: reference_beta(0.25, 1e6, 3e6)),
    (Beta(1.0, 1.0), 1e-300, lambda: mpmath.mpf(0)),
])
def test_large_and_small_parameters_have_finite_accurate_log_densities(dist, x, reference):
    assert error_in(dist.log_prob(x), reference()) <= 4 * EPS


def test_normal_whose_gap_to_the_mean_overflows():
    # x - loc = 2e308 is beyond the doubles; with scale 1e308 the log-density is finite
    with mpmath.workdps(50):
        z = (_mp(1e308) - _mp(-1e308)) / _mp(1e308)
        expected = -z * z / 2 - mpmath.log(_mp(1e308)) - mpmath.log(2 * mpmath.pi) / 2
    assert error_in(Normal(-1e308, 1e308).log_prob(1e308), expected) <= 2 * EPS
    # and where the exact value is below the most negative double, -inf
    assert Normal(0.0, 1.0).log_prob(1e200) == -np.inf
    mvn = MultivariateNormal([1e308], [[1.7e308]])        # a gap of 2e308, finite density
    with mpmath.workdps(50):
        expected = (-((_mp(1e308) * 2) ** 2) / (2 * _mp(1.7e308)) - mpmath.log(_mp(1.7e308)) / 2
                    - mpmath.log(2 * mpmath.pi) / 2)
    assert error_in(mvn.log_prob([-1e308]), expected) <= 4 * EPS


# --- no numpy warning reaches the caller ---------------------------------------------------

EDGE_OUTCOMES = [0.0, 0.5, 1.0, 2.0, -1.0, 1.5, 5e-324, 1e-310, 1e308, -1e308, MAX, np.inf,
                 -np.inf, 3.0, 1e20, np.nan]
EDGE_PARAMETERS = {
    Normal: [(0.0, 1.0), (0.0, 5e-324), (1e308, 1e-308), (0.0, MAX), (-MAX, 1.0)],
    Bernoulli: [(0.0,), (1.0,), (0.5,), (5e-324,), (1 - 1e-16,)],
    Poisson: [(5e-324,), (1.0,), (1e308,), (MAX,)],
    Exponential: [(5e-324,), (1.0,), (1e308,)],
    Gamma: [(5e-324, 1.0), (1.0, 1.0), (1e308, 1e308), (0.5, 1e-300), (1e-300, MAX), (MAX, 1.0)],
    Beta: [(5e-324, 5e-324), (1.0, 1.0), (1e308, 1e308), (MAX, MAX), (1e-300, 2.0), (MAX, 1.0)],
}


def test_no_warning_on_edge_inputs():
    # log_prob and sample on subnormal, huge and point-mass parameters and on edge outcomes:
    # a value that is not NaN, or a clear error; any numpy warning fails the test.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for cls, parameter_sets in EDGE_PARAMETERS.items():
            for parameters in parameter_sets:
                dist = cls(*parameters)
                for x in EDGE_OUTCOMES:
                    try:
                        value = dist.log_prob(x)
                    except ValueError:
                        assert np.isnan(x)
                        continue
                    assert not np.isnan(value), (cls.__name__, parameters, x)
                try:
                    dist.sample(np.random.default_rng(0), 4)
                except ValueError:  # numpy's Poisson sampler refuses rates beyond ~1e19
                    assert cls is Poisson
        for mean, cov in [([0.0, 0.0], np.eye(2)), ([0.0, 0.0], 1e-300 * np.eye(2)),
                          ([0.0, 0.0], 1e300 * np.eye(2)), ([1e308, -1e308], np.eye(2))]:
            mvn = MultivariateNormal(mean, cov)
            for x in ([0.0, 0.0], [1e308, 1e308], [1e200, 0.0], [-MAX, MAX], [np.inf, 0.0]):
                assert not np.isnan(mvn.log_prob(x))
            mvn.sample(np.random.default_rng(0), 3)
