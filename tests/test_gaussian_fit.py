"""Tests of klbook.gaussian_fit: mixtures, quadrature, forward and reverse KL fits.

References are independent of the code under test: closed forms for two
Gaussians, exact Gaussian moments, mpmath quadrature at 30 digits, and finite
differences of the objective for the local-minimum property.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from klbook.gaussian_fit import (
    GaussianMixture,
    fit_reverse_kl,
    forward_kl,
    gauss_hermite_expectation,
    gaussian_logpdf,
    moment_matched_gaussian,
    reverse_kl,
    reverse_kl_gradient,
)

# mpmath's precision is global; references raise it locally (mpmath.workdps) so
# that no test module changes it for another.
PRECISION = 30
# The chapter's mixture: two modes of different weights and widths.
BOOK = GaussianMixture(weights=[0.6, 0.4], means=[-2.0, 3.0], scales=[1.0, 0.7])


def kl_gaussians(m1, s1, m2, s2) -> float:
    """D(N(m1, s1^2) || N(m2, s2^2)), the textbook closed form."""
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def _mp_mixture(p: GaussianMixture):
    parts = [(mpmath.mpf(float(w)), mpmath.mpf(float(m)), mpmath.mpf(float(s)))
             for w, m, s in zip(p.weights, p.means, p.scales)]
    return lambda x: mpmath.fsum(w * mpmath.npdf(x, m, s) for w, m, s in parts)


def _breakpoints(p: GaussianMixture, centre: float, width: float) -> list:
    # split the real line where the integrand changes character
    inner = sorted({float(v) for v in p.means} | {centre})
    return [-mpmath.inf, centre - 12 * width] + inner + [centre + 12 * width, mpmath.inf]


@mpmath.workdps(PRECISION)
def reference_reverse_kl(p: GaussianMixture, m: float, s: float) -> mpmath.mpf:
    density = _mp_mixture(p)
    m, s = mpmath.mpf(m), mpmath.mpf(s)
    q = lambda x: mpmath.npdf(x, m, s)  # noqa: E731
    return mpmath.quad(lambda x: q(x) * (mpmath.log(q(x)) - mpmath.log(density(x))),
                       sorted(set(_breakpoints(p, float(m), float(s)))))


@mpmath.workdps(PRECISION)
def reference_forward_kl(p: GaussianMixture, m: float, s: float) -> mpmath.mpf:
    density = _mp_mixture(p)
    m, s = mpmath.mpf(m), mpmath.mpf(s)
    q = lambda x: mpmath.npdf(x, m, s)  # noqa: E731
    width = float(max(p.scales))
    return mpmath.quad(lambda x: density(x) * (mpmath.log(density(x)) - mpmath.log(q(x))),
                       sorted(set(_breakpoints(p, float(p.mean), width))))


# --- the mixture -----------------------------------------------------------------------------


def test_mixture_density_matches_scipy():
    x = np.linspace(-8, 8, 101)
    expected = 0.6 * stats.norm.pdf(x, -2.0, 1.0) + 0.4 * stats.norm.pdf(x, 3.0, 0.7)
    np.testing.assert_allclose(BOOK.pdf(x), expected, rtol=1e-13, atol=0)


@mpmath.workdps(PRECISION)
def test_log_density_is_finite_far_in_the_tails():
    density = _mp_mixture(BOOK)
    for x in [-60.0, 45.0]:
        assert BOOK.pdf(x) == 0.0                           # underflows as a density
        assert BOOK.logpdf(x) == pytest.approx(float(mpmath.log(density(x))), rel=1e-14)


@mpmath.workdps(PRECISION)
def test_mixture_moments_match_quadrature():
    density = _mp_mixture(BOOK)
    mean = mpmath.quad(lambda x: x * density(x), [-mpmath.inf, -2, 3, mpmath.inf])
    second = mpmath.quad(lambda x: x * x * density(x), [-mpmath.inf, -2, 3, mpmath.inf])
    assert BOOK.mean == pytest.approx(float(mean), abs=1e-14)
    assert BOOK.variance == pytest.approx(float(second - mean**2), rel=1e-14)
    m, s = moment_matched_gaussian(BOOK)
    assert (m, s**2) == (pytest.approx(float(mean), abs=1e-14),
                         pytest.approx(float(second - mean**2), rel=1e-14))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(weights=[0.5, 0.6], means=[0, 1], scales=[1, 1]), "weights must sum to 1"),
        (dict(weights=[1.5, -0.5], means=[0, 1], scales=[1, 1]), "weights has a negative entry"),
        (dict(weights=[0.5, 0.5], means=[0, 1], scales=[1, 0]), "scales must be positive"),
        (dict(weights=[0.5, 0.5], means=[0, 1, 2], scales=[1, 1]), "same length"),
        (dict(weights=[0.5, 0.5], means=[0, np.nan], scales=[1, 1]), "means must be finite"),
        (dict(weights=[], means=[], scales=[]), "weights must be a non-empty"),
    ],
)
def test_bad_mixture(kwargs, words):
    with pytest.raises(ValueError, match=words):
        GaussianMixture(**kwargs)


def test_non_numeric_mixture_parameter():
    with pytest.raises(TypeError, match="means must be numeric"):
        GaussianMixture(weights=[1.0], means=["a"], scales=[1.0])


# --- quadrature -------------------------------------------------------------------------------


def test_gauss_hermite_is_exact_for_polynomials():
    m, s = 0.7, 1.9
    fourth = m**4 + 6 * m**2 * s**2 + 3 * s**4              # E[X^4] of N(m, s^2)
    assert gauss_hermite_expectation(lambda x: x**4, m, s, n_nodes=3) == pytest.approx(fourth, rel=1e-14)
    assert gauss_hermite_expectation(lambda x: x**4, m, s, n_nodes=2) != pytest.approx(fourth, rel=1e-3)


def test_gauss_hermite_broadcasts_over_parameters():
    means, scales = np.array([[0.0], [1.0]]), np.array([1.0, 2.0, 3.0])
    values = gauss_hermite_expectation(lambda x: x**2, means, scales, n_nodes=4)
    np.testing.assert_allclose(values, means**2 + scales**2, rtol=1e-14)


@pytest.mark.parametrize("n_nodes", [0, 2.5, True])
def test_bad_node_count(n_nodes):
    with pytest.raises(ValueError, match="n_nodes must be a positive integer"):
        gauss_hermite_expectation(np.exp, 0.0, 1.0, n_nodes=n_nodes)


def test_gaussian_logpdf_matches_scipy():
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(gaussian_logpdf(x, 0.5, 1.5), stats.norm.logpdf(x, 0.5, 1.5), rtol=1e-14)


# --- divergences --------------------------------------------------------------------------------


@pytest.mark.parametrize("m, s", [(0.0, 1.0), (1.5, 0.3), (-2.0, 4.0)])
def test_single_component_matches_the_closed_form(m, s):
    target = GaussianMixture([1.0], [0.5], [1.3])
    assert reverse_kl(target, m, s) == pytest.approx(kl_gaussians(m, s, 0.5, 1.3), rel=1e-12)
    assert forward_kl(target, m, s) == pytest.approx(kl_gaussians(0.5, 1.3, m, s), rel=1e-12)


@pytest.mark.parametrize("m, s, tolerance", [(-2.0, 1.0, 1e-12), (3.0, 0.7, 1e-12),
                                             (0.0, 2.6, 1e-10), (0.5, 1.5, 1e-10)])
def test_reverse_kl_of_the_mixture_against_mpmath(m, s, tolerance):
    assert reverse_kl(BOOK, m, s) == pytest.approx(float(reference_reverse_kl(BOOK, m, s)),
                                                   abs=tolerance)


def test_few_nodes_are_not_enough_for_a_wide_q():
    # why DEFAULT_NODES is large: 1000 nodes still miss the bend of log p between the modes
    exact = float(reference_reverse_kl(BOOK, 0.0, 2.6))
    assert abs(reverse_kl(BOOK, 0.0, 2.6, n_nodes=1000) - exact) > 1e-7


@pytest.mark.parametrize("m, s", [(0.0, 2.6), (-2.0, 1.0), (1.0, 4.0)])
def test_forward_kl_of_the_mixture_against_mpmath(m, s):
    assert forward_kl(BOOK, m, s) == pytest.approx(float(reference_forward_kl(BOOK, m, s)), abs=1e-11)


def test_divergences_vectorise():
    means, scales = np.array([-1.0, 0.0, 2.0]), np.array([0.5, 1.0, 3.0])
    rev, fwd = reverse_kl(BOOK, means, scales), forward_kl(BOOK, means, scales)
    assert rev.shape == fwd.shape == (3,)
    for i in range(3):
        assert rev[i] == pytest.approx(float(reverse_kl(BOOK, means[i], scales[i])), rel=1e-13)
        assert fwd[i] == pytest.approx(float(forward_kl(BOOK, means[i], scales[i])), rel=1e-13)


# --- forward fit: moment matching --------------------------------------------------------------

mixtures = st.builds(
    lambda w, m1, m2, s1, s2: GaussianMixture([w, 1 - w], [m1, m2], [s1, s2]),
    st.floats(0.05, 0.95), st.floats(-4, 4), st.floats(-4, 4), st.floats(0.3, 2), st.floats(0.3, 2),
)


@settings(max_examples=40, deadline=None)
@given(mixtures, st.floats(-3, 3), st.floats(-1, 1))
def test_forward_kl_excess_over_the_moment_match_is_a_gaussian_kl(p, shift, log_stretch):
    # D(p||q) = D(p||q*) + D(q*||q) for Gaussian q, q* the moment match: so q* is optimal
    m_star, s_star = moment_matched_gaussian(p)
    m, s = m_star + shift, s_star * math.exp(log_stretch)
    excess = forward_kl(p, m, s, n_nodes=200) - forward_kl(p, m_star, s_star, n_nodes=200)
    assert excess == pytest.approx(kl_gaussians(m_star, s_star, m, s), abs=1e-10)
    assert excess >= -1e-10


# --- reverse fit ---------------------------------------------------------------------------------

STARTS = [[m, s] for m in np.linspace(-6, 6, 7) for s in (0.5, 3.0)]


def _hessian_eigenvalues(p, m, s, h=1e-3):
    """Finite-difference Hessian of D(q||p) in (mean, log scale)."""
    def f(a, b):
        return float(reverse_kl(p, a, math.exp(b)))
    b = math.log(s)
    fxx = (f(m + h, b) - 2 * f(m, b) + f(m - h, b)) / h**2
    fyy = (f(m, b + h) - 2 * f(m, b) + f(m, b - h)) / h**2
    fxy = (f(m + h, b + h) - f(m + h, b - h) - f(m - h, b + h) + f(m - h, b - h)) / (4 * h * h)
    return np.linalg.eigvalsh([[fxx, fxy], [fxy, fyy]])


def test_reverse_fit_recovers_a_gaussian_target():
    target = GaussianMixture([1.0], [1.25], [0.8])
    fits = fit_reverse_kl(target, STARTS)
    assert len(fits) == 1 and len(fits[0].starts) == len(STARTS)
    assert fits[0].mean == pytest.approx(1.25, abs=1e-7)
    assert fits[0].scale == pytest.approx(0.8, rel=1e-7)
    assert fits[0].divergence == pytest.approx(0.0, abs=1e-12)


def test_reverse_fit_of_the_book_mixture_seeks_each_mode():
    fits = fit_reverse_kl(BOOK, STARTS)
    assert len(fits) == 2
    assert sum(len(fit.starts) for fit in fits) == len(STARTS)
    assert fits[0].divergence < fits[1].divergence
    for fit, mode, width, weight in zip(fits, BOOK.means, BOOK.scales, BOOK.weights):
        assert abs(fit.mean - mode) < 0.05 and abs(fit.scale / width - 1) < 0.05
        # inside one mode p is about weight * N(mode, width^2): D(q||p) is about -log(weight)
        assert abs(fit.divergence + math.log(weight)) < 0.02
        assert fit.divergence == pytest.approx(float(reference_reverse_kl(BOOK, fit.mean, fit.scale)),
                                               abs=1e-12)
        assert (_hessian_eigenvalues(BOOK, fit.mean, fit.scale) > 0.1).all()


def test_forward_and_reverse_fits_each_win_their_own_objective():
    m_fwd, s_fwd = moment_matched_gaussian(BOOK)
    best, other = fit_reverse_kl(BOOK, STARTS)
    for fit in (best, other):
        assert forward_kl(BOOK, m_fwd, s_fwd) < forward_kl(BOOK, fit.mean, fit.scale)
    assert best.divergence < reverse_kl(BOOK, m_fwd, s_fwd)
    # the minor mode's fit is only a local minimum: even the broad forward fit beats it
    assert other.divergence > reverse_kl(BOOK, m_fwd, s_fwd)


@pytest.mark.parametrize("starts", [[1.0, 2.0], [[1.0, 0.0]], [[1.0, 2.0, 3.0]], np.zeros((0, 2))])
def test_bad_starts(starts):
    with pytest.raises(ValueError, match="starts"):
        fit_reverse_kl(BOOK, starts)


@pytest.mark.parametrize("m", [-5.0, 0.5, 1.3, 6.0])
def test_few_nodes_are_enough_for_a_picture(m):
    # Chapter 3 draws the contours of D(Q || P) over m in [-5, 6], s in [0.3, 5] with 400
    # nodes; the error is largest at the widest q (s = 5) and stays below 5e-3 nats, a few
    # thousandths of the surface's range (0.5 to 28 nats): invisible in the contour plot.
    exact = float(reference_reverse_kl(BOOK, m, 5.0))
    assert abs(reverse_kl(BOOK, m, 5.0, n_nodes=400) - exact) < 5e-3


# --- the gradient of the reverse divergence --------------------------------------------------


@pytest.mark.parametrize("x", [-30.0, -2.0, 0.4, 3.0, 25.0])
def test_mixture_score_is_the_derivative_of_the_log_density(x):
    density = _mp_mixture(BOOK)
    with mpmath.workdps(PRECISION):
        expected = mpmath.diff(lambda t: mpmath.log(density(t)), mpmath.mpf(x))
    assert float(BOOK.score(x)) == pytest.approx(float(expected), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("m, s", [(-2.0, 1.0), (2.1, 1.5), (0.0, 2.6), (4.0, 0.4)])
def test_reverse_kl_gradient_is_the_derivative_of_reverse_kl(m, s):
    # central differences of the same quadrature in (mean, log scale): step 1e-5, so the
    # truncation error is about 1e-10 and the rounding error about 1e-11
    h = 1e-5
    by_mean = (reverse_kl(BOOK, m + h, s) - reverse_kl(BOOK, m - h, s)) / (2 * h)
    by_log_scale = (reverse_kl(BOOK, m, s * math.exp(h))
                    - reverse_kl(BOOK, m, s * math.exp(-h))) / (2 * h)
    gradient = reverse_kl_gradient(BOOK, m, s)
    assert gradient.shape == (2,)
    assert gradient == pytest.approx([float(by_mean), float(by_log_scale)], abs=1e-8)


def test_reverse_kl_gradient_vectorises():
    means, scales = np.array([[-1.0], [2.0]]), np.array([0.5, 1.0, 3.0])
    gradients = reverse_kl_gradient(BOOK, means, scales)
    assert gradients.shape == (2, 3, 2)
    assert gradients[1, 2] == pytest.approx(reverse_kl_gradient(BOOK, 2.0, 3.0), rel=1e-13)


# The saddle of the reverse divergence of BOOK between its two minima (chapter 3).
BOOK_SADDLE = (2.1257946394865757, 1.5191373446491376)


def test_a_fit_that_runs_away_is_an_error_not_a_nan(monkeypatch, recwarn):
    # Near the saddle, BFGS can leave along its ridge until exp(log scale) overflows (seen
    # from starts 1e-6 off it); whether it does depends on the platform's last bits, so the
    # runaway is imposed here: an optimiser that ends at log scale 800, and one whose line
    # search fails on a scale out of range.
    from scipy import optimize

    runaway = optimize.OptimizeResult(x=np.array([-2.5e6, 800.0]), message="ran away")
    monkeypatch.setattr(optimize, "minimize", lambda *args, **kwargs: runaway)
    with pytest.raises(ValueError, match="did not converge: ran away"):
        fit_reverse_kl(BOOK, [BOOK_SADDLE])

    def out_of_range(*args, **kwargs):
        raise ValueError("scale must be positive")

    monkeypatch.setattr(optimize, "minimize", out_of_range)
    with pytest.raises(ValueError, match="did not converge: the scale left the range"):
        fit_reverse_kl(BOOK, [BOOK_SADDLE])
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_every_fit_returned_is_stationary_to_1e_10():
    for fit in fit_reverse_kl(BOOK, [[-3.0, 1.0], [3.5, 0.5], [0.0, 3.0]]):
        assert np.abs(reverse_kl_gradient(BOOK, fit.mean, fit.scale)).max() <= 1e-10


def test_a_start_at_the_saddle_returns_the_saddle():
    # Documented: only the gradient is checked, so a stationary start stays where it is.
    [fit] = fit_reverse_kl(BOOK, [BOOK_SADDLE])
    assert (fit.mean, fit.scale) == pytest.approx(BOOK_SADDLE, rel=1e-9)


# --- edge inputs: clear errors before any computation, no numpy warning, no silent NaN ------

MAX = float(np.finfo(np.float64).max)


@pytest.mark.parametrize("function", [reverse_kl, forward_kl, reverse_kl_gradient])
@pytest.mark.parametrize("mean, scale, message", [
    (0.0, 0.0, "scale must be positive"),
    (0.0, -1.0, "scale must be positive"),
    (np.nan, 1.0, "mean contains NaN"),
    (0.0, np.nan, "scale contains NaN"),
    (np.inf, 1.0, "mean must be finite"),
    ([0.0, 1.0], [1.0, 2.0, 3.0], "do not broadcast"),
])
def test_bad_gaussians_are_refused_before_anything_is_computed(function, mean, scale, message,
                                                               recwarn):
    # log(scale) was taken before the check: a divide warning, then the error
    with pytest.raises(ValueError, match=message):
        function(BOOK, mean, scale, n_nodes=20)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_densities_and_scores_refuse_nan_and_take_the_limit_at_infinity():
    for method in (BOOK.logpdf, BOOK.pdf, BOOK.score):
        with pytest.raises(ValueError, match="x contains NaN"):
            method([0.0, np.nan])
    assert BOOK.logpdf([np.inf, -np.inf]).tolist() == [-np.inf, -np.inf]
    assert BOOK.score([np.inf, -np.inf]).tolist() == [-np.inf, np.inf]
    with pytest.raises(ValueError, match="scale must be positive"):
        gaussian_logpdf(0.0, 0.0, 0.0)


def test_gaussian_logpdf_far_from_the_mean():
    # x - mean = 2e308 overflows; the log-density with scale 1e308 is about -712
    with mpmath.workdps(50):
        z = (mpmath.mpf(1e308) - mpmath.mpf(-1e308)) / mpmath.mpf(1e308)
        expected = -z**2 / 2 - mpmath.log(mpmath.mpf(1e308)) - mpmath.log(2 * mpmath.pi) / 2
    assert float(gaussian_logpdf(1e308, -1e308, 1e308)) == pytest.approx(float(expected),
                                                                         rel=4e-16)
    assert gaussian_logpdf(1e200, 0.0, 1.0) == -np.inf   # below the most negative double


def test_score_of_components_too_narrow_for_their_squared_scale():
    # sigma^2 = 1e-600 underflows to 0: (mu - x) / sigma^2 was 0 / 0
    narrow = GaussianMixture([1.0], [0.0], [1e-300])
    assert float(narrow.score(0.0)) == 0.0
    assert float(narrow.score(5e-324)) == pytest.approx(-(5e-324 / 1e-300) / 1e-300, rel=1e-12)


def test_score_where_every_component_density_underflows():
    # x is beyond 1e154 standard deviations of both components: their responsibilities are
    # decided by (mu_c - mu_k)(2x - mu_c - mu_k) / sigma^2, exact in doubles
    far = GaussianMixture([0.3, 0.7], [-1e300, 1e300], [1.0, 1.0])
    # at 0 the quadratic terms are equal: the weights decide, 0.3 and 0.7
    assert float(far.score(0.0)) == pytest.approx(0.7e300 - 0.3e300, rel=1e-15)
    # half a unit off 0 the factor is exp(1e300): all the responsibility to one side
    assert far.score([0.5, -0.5]).tolist() == [1e300, -1e300]
    near = GaussianMixture([0.5, 0.5], [-1.0, 1.0], [1.0, 1.0])
    assert near.score([1e200, -1e200]).tolist() == [-1e200, 1e200]
    # components of different scales, equally far to rounding: not resolved by doubles
    tied = GaussianMixture([0.5, 0.5], [-1e300, 1e300], [1.0, np.nextafter(1.0, 2.0)])
    with pytest.raises(ValueError, match="not resolved in double precision"):
        tied.score(0.5)


def test_quadrature_nodes_beyond_the_doubles_are_an_error_not_a_nan():
    with pytest.raises(ValueError, match="quadrature nodes"):
        forward_kl(GaussianMixture([1.0], [0.0], [1e308]), 0.0, 1.0, n_nodes=20)
    with pytest.raises(ValueError, match="quadrature nodes"):
        gauss_hermite_expectation(lambda x: x, 1e308, 1e308, n_nodes=20)
    # 1690 of the 3000 weights underflow to 0 (every node beyond |x| = 38.4): those nodes
    # count 0 even where f is inf there (0 * inf was NaN)
    assert float(gauss_hermite_expectation(lambda x: np.where(np.abs(x) > 40, np.inf, 1.0),
                                           0.0, 1.0, n_nodes=3000)) == pytest.approx(1.0, rel=1e-12)


def test_variance_beyond_the_doubles_is_inf_and_tiny_weights_keep_it_finite():
    assert GaussianMixture([1.0], [0.0], [1e308]).variance == np.inf
    # w (mu - mean)^2 with w = 1e-300 and (mu - mean)^2 ~ 1e400: finite
    mixture = GaussianMixture([1e-300, 1.0 - 1e-300], [1e200, 0.0], [1.0, 1.0])
    with mpmath.workdps(50):
        w = [mpmath.mpf(float(v)) for v in mixture.weights]
        mu = [mpmath.mpf(1e200), mpmath.mpf(0)]
        mean = w[0] * mu[0]
        expected = sum(wk * (1 + (mk - mean) ** 2) for wk, mk in zip(w, mu))
    assert float(mixture.variance) == pytest.approx(float(expected), rel=1e-14)


def test_no_warning_on_edge_inputs():
    import warnings

    mixtures = [([0.5, 0.5], [-1.0, 1.0], [1.0, 1.0]), ([1.0, 0.0], [0.0, 5.0], [1.0, 1.0]),
                ([1.0], [0.0], [5e-324]), ([1.0], [1e308], [1.0]), ([1.0], [0.0], [1e308]),
                ([1.0], [0.0], [1e-300]), ([0.5, 0.5], [-1e300, 1e300], [1.0, 1.0])]
    points = [0.0, 1e308, -1e308, 1e200, 5e-324, np.inf, -MAX]
    gaussians = [(0.0, 1.0), (0.0, 5e-324), (1e308, 1.0), (0.0, 1e308), (0.0, 1e-300)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for weights, means, scales in mixtures:
            mixture = GaussianMixture(weights, means, scales)
            assert not np.isnan(mixture.variance)
            moment_matched_gaussian(mixture)
            for x in points:
                for method in (mixture.logpdf, mixture.pdf, mixture.score):
                    try:
                        assert not np.isnan(method(x))
                    except ValueError as error:  # an unresolved tie of two components
                        assert "not resolved" in str(error)
            for mean, scale in gaussians:
                for function in (reverse_kl, forward_kl, reverse_kl_gradient):
                    try:
                        assert not np.isnan(function(mixture, mean, scale, n_nodes=20)).any()
                    except ValueError:
                        pass
