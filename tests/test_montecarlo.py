"""Tests of klbook.montecarlo: the three estimators and the quadrature check."""

import functools

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
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
    # sigma_q**2 = 1.69 < 2 sigma_p**2 keeps E_p[r**2] finite, so k3's standard error is
    # meaningful too; Q << P, so k3 is unbiased
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


# --- k3: its mean when Q is not << P, and its variance against k1's -------------------------


def test_k3_is_biased_low_by_the_mass_q_puts_where_p_is_zero_uniform_pair():
    # P = U(0, 1), Q = U(0, 2): r = 1/2 on the support of P, D(P || Q) = log 2, and Q puts
    # mass 1/2 on (1, 2], where p = 0; every k3 is log 2 - 1/2, below D by exactly that mass
    x = Beta(1.0, 1.0).sample(np.random.default_rng(0), 1_000)       # U(0, 1)
    log_p, log_q = Beta(1.0, 1.0).log_prob(x), np.full_like(x, -np.log(2.0))
    k1 = estimate_kl(log_p, log_q, estimator="k1").estimate
    k3 = estimate_kl(log_p, log_q, estimator="k3").estimate
    assert k1 == pytest.approx(float(mp.log(2)), rel=1e-15)
    assert k3 == pytest.approx(float(mp.log(2) - mp.mpf(1) / 2), rel=1e-14)


def test_k3_is_biased_low_by_the_mass_q_puts_where_p_is_zero_sampled():
    # P = U(0, 1) (Beta(1, 1)), Q = N(0, 1): D = E_P[x**2 / 2] + log(2 pi) / 2 = 1/6 + log(2 pi)/2,
    # and Q puts mass m = 1 - (Phi(1) - Phi(0)) outside [0, 1]
    truth = mp.mpf(1) / 6 + mp.log(2 * mp.pi) / 2
    mass = 1 - (mp.ncdf(1) - mp.ncdf(0))
    p, q = Beta(1.0, 1.0), Normal(0.0, 1.0)
    k1 = kl_monte_carlo(p, q, 20_000, rng=np.random.default_rng(3), estimator="k1")
    k3 = kl_monte_carlo(p, q, 20_000, rng=np.random.default_rng(3), estimator="k3")
    assert abs(k1.estimate - float(truth)) <= 4 * k1.stderr
    assert abs(k3.estimate - float(truth - mass)) <= 4 * k3.stderr
    assert k3.estimate < float(truth) - 100 * k3.stderr


@functools.lru_cache
def _normal_pair_moments(mu):
    """Variance and fourth central moment of k1 and k3 for P = N(0, 1), Q = N(mu, 1).

    By 20-digit quadrature of the definitions (log r = mu x - mu**2 / 2, mean mu**2 / 2),
    independently of the closed forms; the peaks of r**k p, at x = k mu, are break points.
    """
    with mp.workdps(20):
        mu = mp.mpf(mu)
        deviations = {"k1": lambda t: -mu * t,
                      "k3": lambda t: mp.expm1(mu * t - mu ** 2 / 2) - mu * t}
        points = [-mp.inf, 0, mu, 2 * mu, 4 * mu, mp.inf]
        moments = {}
        for name, deviation in deviations.items():
            variance, fourth = (mp.quad(lambda t: mp.npdf(t) * deviation(t) ** power, points)
                                for power in (2, 4))
            moments[name] = (variance, fourth)
        return moments


@pytest.mark.parametrize("mu", [0.05, 0.3, 1.0, 1.3])
def test_the_variance_formulas_against_quadrature(mu):
    moments = _normal_pair_moments(mu)
    with mp.workdps(20):
        m = mp.mpf(mu)
        assert moments["k1"][0] == pytest.approx(m ** 2, rel=1e-16)
        assert moments["k3"][0] == pytest.approx(mp.expm1(m ** 2) - m ** 2, rel=1e-16)


def test_k3_is_noisier_than_k1_beyond_the_root_of_exp_t_equals_1_plus_2t():
    with mp.workdps(30):
        crossing = mp.sqrt(mp.findroot(lambda t: mp.expm1(t) - 2 * t, 1.25))
        assert round(float(crossing), 2) == 1.12                    # the module docstring
        for mu, k3_quieter in ((crossing * 0.99, True), (crossing * 1.01, False)):
            moments = _normal_pair_moments(float(mu))
            assert (moments["k3"][0] < moments["k1"][0]) is k3_quieter
        # near mu = 0 the variance of k3 is mu**4 / 2 + O(mu**6)
        small = 1e-3
        assert _normal_pair_moments(small)["k3"][0] / (mp.mpf(small) ** 4 / 2) == pytest.approx(
            1, rel=1e-5)


@pytest.mark.parametrize("mu", [0.3, 1.0, 1.3])
def test_the_variances_of_k1_and_k3_in_a_large_sample(mu):
    # Var k1 = mu**2 and Var k3 = e**(mu**2) - 1 - mu**2, checked on kl_samples's values;
    # the standard error of a sample variance is sqrt((m4 - var**2) / n), m4 the fourth
    # central moment
    n = 400_000
    x = Normal(0.0, 1.0).sample(np.random.default_rng(17), n)
    log_p, log_q = Normal(0.0, 1.0).log_prob(x), Normal(mu, 1.0).log_prob(x)
    moments = _normal_pair_moments(mu)
    exact = {"k1": mu ** 2, "k3": float(mp.expm1(mp.mpf(mu) ** 2) - mp.mpf(mu) ** 2)}
    sample = {}
    for name in ("k1", "k3"):
        variance, fourth = (float(v) for v in moments[name])
        standard_error = np.sqrt((fourth - variance ** 2) / n)
        sample[name] = kl_samples(log_p, log_q, name).var(ddof=1)
        assert abs(sample[name] - exact[name]) <= 5 * standard_error
    # on which side of the crossing: k3 quieter at 0.3 and 1.0, noisier at 1.3
    assert bool(sample["k3"] < sample["k1"]) == (mu < 1.12)


def test_the_variances_depend_only_on_the_gap_of_the_means_over_the_common_scale():
    # k1 and k3 depend on x only through r = q/p, which x -> (x - loc) / scale leaves unchanged:
    # N(loc, scale**2) against N(loc + mu scale, scale**2) has the variances of N(0, 1) against N(mu, 1)
    mu, loc, scale, n = 1.0, -2.0, 0.7, 400_000
    x = Normal(loc, scale).sample(np.random.default_rng(23), n)
    log_p, log_q = Normal(loc, scale).log_prob(x), Normal(loc + mu * scale, scale).log_prob(x)
    moments = _normal_pair_moments(mu)
    exact = {"k1": mu ** 2, "k3": float(mp.expm1(mp.mpf(mu) ** 2) - mp.mpf(mu) ** 2)}
    for name in ("k1", "k3"):
        variance, fourth = (float(v) for v in moments[name])
        standard_error = np.sqrt((fourth - variance ** 2) / n)
        assert abs(kl_samples(log_p, log_q, name).var(ddof=1) - exact[name]) <= 5 * standard_error


@settings(max_examples=100)
@given(st.lists(st.tuples(st.floats(0.01, 1.0), st.floats(0.01, 1.0)), min_size=2, max_size=6))
def test_the_optimal_coefficient_of_the_control_variate_is_not_negative(weights):
    # c* = -Cov(k1, r - 1) / Var(r - 1) = Cov(log r, r) / Var(r) >= 0: log r and r both increase
    # with r (Chebyshev's association inequality); here for P and Q on a few points
    with mp.workdps(30):
        p = [mp.mpf(a) for a, _ in weights]
        q = [mp.mpf(b) for _, b in weights]
        p, q = [v / mp.fsum(p) for v in p], [v / mp.fsum(q) for v in q]
        r = [b / a for a, b in zip(p, q)]
        mean_r, mean_log_r = mp.fdot(p, r), mp.fdot(p, [mp.log(v) for v in r])
        covariance = mp.fdot(p, [(mp.log(v) - mean_log_r) * (v - mean_r) for v in r])
        assert covariance >= -mp.mpf(10) ** -25


def test_k3_far_from_r_equal_1_loses_at_most_three_bits():
    # For |log r| > 1/2, k3 = expm1(log r) - log r: the subtraction multiplies the relative error of
    # expm1 by |r - 1| / k3 <= 4.4, and one ulp of expm1 is at most 6.7 u of k3 (the Notes of
    # kl_samples). Wherever the platform's expm1 is within one ulp, k3 is within 8 u; everywhere,
    # its error is the error of expm1 plus one rounding.
    u = 2.0 ** -53
    near = np.linspace(0.5, 2.0, 1500)[1:]
    far = np.linspace(2.0, 30.0, 300)
    log_r = np.concatenate([near, far, -near, -far])
    k3 = kl_samples(np.zeros_like(log_r), log_r, "k3")
    expm1 = np.expm1(log_r)
    within_one_ulp = 0
    with mp.workdps(40):
        for t, value, e in zip(log_r, k3, expm1):
            exact_e = mp.expm1(mp.mpf(float(t)))
            exact = exact_e - mp.mpf(float(t))
            assert abs(exact_e) / exact <= 4.4
            assert np.spacing(abs(float(exact_e))) / exact <= 6.7 * u
            expm1_error = abs(mp.mpf(float(e)) - exact_e)
            error = abs(mp.mpf(float(value)) - exact)
            assert error <= expm1_error + u * (exact + expm1_error)
            if expm1_error <= np.spacing(abs(float(exact_e))):
                within_one_ulp += 1
                assert error <= 8 * u * exact
    assert within_one_ulp >= log_r.size // 2          # the bound was tested, not skipped
