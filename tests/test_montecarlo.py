"""Tests of klbook.montecarlo: the three estimators and the quadrature check."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from klbook.distributions import Beta, Exponential, Gamma, Normal
from klbook.montecarlo import estimate_kl, kl_monte_carlo, kl_quadrature, kl_samples

mp.mp.dps = 50
finite_logs = st.floats(-30.0, 30.0)


@given(finite_logs, finite_logs)
def test_per_sample_values_match_their_definitions(lp, lq):
    log_r = mp.mpf(lq) - mp.mpf(lp)
    k1, k2, k3 = (float(kl_samples([lp], [lq], name)[0]) for name in ("k1", "k2", "k3"))
    assert k1 == pytest.approx(float(-log_r), rel=1e-15, abs=1e-300)
    assert k2 == pytest.approx(float(log_r**2 / 2), rel=1e-15, abs=1e-300)
    with mp.workdps(700):   # enough digits for exp(t) - 1 - t ~ t**2/2 down to t ~ 1e-300
        exact_k3 = mp.exp(log_r) - 1 - log_r
    assert k3 == pytest.approx(float(exact_k3), rel=1e-13, abs=1e-300)
    assert k3 >= 0


def test_k3_keeps_digits_for_tiny_log_ratios():
    value = float(kl_samples([0.0], [1e-9], "k3")[0])
    assert value == pytest.approx(float(mp.exp(mp.mpf(1e-9)) - 1 - mp.mpf(1e-9)), rel=1e-15)


def _exact_normal_kl(m1, s1, m2, s2):
    return float(mp.log(mp.mpf(s2) / s1) + (mp.mpf(s1) ** 2 + (mp.mpf(m1) - m2) ** 2)
                 / (2 * mp.mpf(s2) ** 2) - mp.mpf(1) / 2)


@pytest.mark.parametrize("estimator", ["k1", "k3"])
def test_unbiased_estimators_cover_the_truth(estimator):
    # sigma1 < sigma2 keeps E_p[r**2] finite, so k3's standard error is meaningful too
    truth = _exact_normal_kl(0.0, 1.0, 0.5, 1.3)
    covered = 0
    for seed in range(40):
        est = kl_monte_carlo(Normal(0.0, 1.0), Normal(0.5, 1.3), 2_000,
                             rng=np.random.default_rng(seed), estimator=estimator)
        covered += abs(est.estimate - truth) <= 2 * est.stderr
    assert covered >= 33   # about 95 % of 40 expected


def test_k2_is_biased_for_distant_distributions():
    truth = _exact_normal_kl(0.0, 1.0, 2.0, 1.0)          # 2
    est = kl_monte_carlo(Normal(0.0, 1.0), Normal(2.0, 1.0), 50_000,
                         rng=np.random.default_rng(0), estimator="k2")
    # log r = 2x - 2 for x ~ N(0, 1), so E[k2] = E[(2x - 2)**2] / 2 = (4 + 4) / 2 = 4, not 2
    assert abs(est.estimate - 4.0) <= 4 * est.stderr
    assert abs(est.estimate - truth) > 10 * est.stderr


def test_k3_has_smaller_spread_than_k1_for_close_distributions():
    x = Normal(0.0, 1.0).sample(np.random.default_rng(1), 10_000)
    q = Normal(0.1, 1.0)
    lp, lq = Normal(0.0, 1.0).log_prob(x), q.log_prob(x)
    assert kl_samples(lp, lq, "k3").std() < kl_samples(lp, lq, "k1").std() / 5


def test_estimate_units_and_errors():
    lp, lq = np.log([0.5, 0.5]), np.log([0.25, 0.75])
    nats = estimate_kl(lp, lq, estimator="k1")
    bits = estimate_kl(lp, lq, estimator="k1", base=2)
    assert bits.estimate == pytest.approx(nats.estimate / np.log(2), rel=1e-15)
    with pytest.raises(ValueError, match="estimator"):
        estimate_kl(lp, lq, estimator="k4")
    with pytest.raises(ValueError, match="log_p"):
        kl_samples([-np.inf], [0.0])
    with pytest.raises(ValueError, match="same shape"):
        kl_samples([0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="n must be"):
        kl_monte_carlo(Normal(0, 1), Normal(0, 1), 1, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        kl_monte_carlo(Normal(0, 1), Normal(0, 1), 10, rng=0)


@pytest.mark.parametrize("p, q, lower, upper, exact", [
    (Normal(0.0, 1.0), Normal(1.0, 2.0), -np.inf, np.inf,
     mp.log(2) + mp.mpf(2) / 8 - mp.mpf(1) / 2),
    (Exponential(1.0), Exponential(2.0), 0.0, np.inf, 1 - mp.log(2)),
    # D(Gamma(2, 1) || Gamma(3, 1)) = log Gamma(3) - log Gamma(2) - psi(2) = log 2 - (1 - gamma)
    (Gamma(2.0, 1.0), Gamma(3.0, 1.0), 0.0, np.inf, mp.log(2) - 1 + mp.euler),
    # D(Beta(2, 1) || U(0, 1)) = E[log 2x] = log 2 - 1/2
    (Beta(2.0, 1.0), Beta(1.0, 1.0), 0.0, 1.0, mp.log(2) - mp.mpf(1) / 2),
])
def test_quadrature_matches_exact_values(p, q, lower, upper, exact):
    assert kl_quadrature(p, q, lower, upper) == pytest.approx(float(exact), rel=1e-10)
