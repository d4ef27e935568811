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
