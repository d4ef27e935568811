"""Assignment 6: KL divergence between densities (chapter 6).

A checked proof that the divergence of equal-variance normals is symmetric and
the exact asymmetry otherwise; the divergence of an exponential from a gamma
distribution, as a function; and when the k3 estimator has a finite variance.
Statements, solutions and stubs come from the chapter; the tests are here, with
values derived from SymPy and mpmath.
"""

CHAPTER = "chapters/06_continuous.ipynb"
NAME = "kl06_continuous"
TITLE = "Assignment 6: KL divergence between densities"
# The chapter's symbols, phi and the normal density (one cheap cell; no chain is re-run).
SETUP_NAMES = ["phi", "normal_density", "real_line"]


# --- ex-cont-equal-variance --------------------------------------------------------------


def test_equal_var_public_check(equal_var):
    from klbook.exercises.continuous import check_equal_variance

    check_equal_variance(equal_var)


def test_asymmetry_public_check(asymmetry):
    from klbook.exercises.continuous import check_asymmetry

    check_asymmetry(asymmetry)


def test_equal_var_starts_at_half_the_squared_gap(equal_var):
    import mpmath
    import numpy as np

    rng = np.random.default_rng(61)
    start = equal_var.start
    symbols = {symbol.name: symbol for symbol in start.free_symbols}
    assert set(symbols) == {"mu1", "mu2", "s"}, "the chain should be in mu1, mu2 and s"
    for m1, m2, s in zip(rng.normal(size=4), rng.normal(size=4), rng.uniform(0.2, 3, size=4)):
        with mpmath.workdps(50):
            expected = (mpmath.mpf(m1) - mpmath.mpf(m2)) ** 2 / (2 * mpmath.mpf(s) ** 2)
        value = start.subs({symbols["mu1"]: m1, symbols["mu2"]: m2, symbols["s"]: s})
        assert abs(float(value) - float(expected)) <= 1e-12 * (1 + float(expected))
    assert equal_var.relation == "="


def test_asymmetry_is_exact(asymmetry):
    import sympy as sp

    mu1, mu2 = sp.symbols("mu1 mu2", real=True)
    s1, s2 = sp.symbols("sigma1 sigma2", positive=True)

    def kl(m_p, s_p, m_q, s_q):      # the first form of the chapter's theorem
        return sp.log(s_q / s_p) + (s_p ** 2 + (m_p - m_q) ** 2) / (2 * s_q ** 2) - sp.Rational(1, 2)

    assert isinstance(asymmetry, sp.Expr), "asymmetry should be a SymPy expression"
    exact = kl(mu1, s1, mu2, s2) - kl(mu2, s2, mu1, s1)
    names = {symbol.name: symbol for symbol in asymmetry.free_symbols}
    ours = exact.subs({mu1: names.get("mu1", mu1), mu2: names.get("mu2", mu2),
                       s1: names.get("sigma1", s1), s2: names.get("sigma2", s2)})
    assert sp.simplify(sp.expand_log(asymmetry - ours, force=True)) == 0


def test_asymmetry_vanishes_for_equal_variances(asymmetry):
    import sympy as sp

    names = {symbol.name: symbol for symbol in asymmetry.free_symbols}
    assert "sigma1" in names and "sigma2" in names, "asymmetry should depend on both variances"
    assert sp.simplify(asymmetry.subs(names["sigma2"], names["sigma1"])) == 0


# --- ex-cont-gamma-exponential -----------------------------------------------------------


def test_kl_exponential_gamma_public_check(kl_exponential_gamma):
    from klbook.exercises.continuous import check_kl_exponential_gamma

    check_kl_exponential_gamma(kl_exponential_gamma)


def test_exact_value_public_check(exact_value):
    from klbook.exercises.continuous import check_exponential_gamma_value

    check_exponential_gamma_value(exact_value)


def test_exact_value_is_euler_gamma(exact_value):
    import sympy as sp

    assert isinstance(exact_value, sp.Basic), "exact_value should be exact (SymPy), not a float"
    assert sp.simplify(exact_value - sp.EulerGamma) == 0


def test_kl_exponential_gamma_against_quadrature(kl_exponential_gamma):
    import mpmath
    import numpy as np

    rng = np.random.default_rng(62)
    for rate, shape, beta in np.exp(rng.uniform(-1.5, 1.5, size=(5, 3))):
        with mpmath.workdps(30):
            lam, alpha, b = map(mpmath.mpf, (rate, shape, beta))

            def integrand(x):
                log_p = mpmath.log(lam) - lam * x
                log_q = (alpha * mpmath.log(b) + (alpha - 1) * mpmath.log(x) - b * x
                         - mpmath.loggamma(alpha))
                return mpmath.exp(log_p) * (log_p - log_q)

            expected = float(mpmath.quad(integrand, [0, 1 / lam, 10 / lam, mpmath.inf]))
        got = float(kl_exponential_gamma(rate, shape, beta))
        assert abs(got - expected) <= 1e-9 * expected, (rate, shape, beta, got, expected)


def test_kl_exponential_gamma_of_shape_one(kl_exponential_gamma):
    import mpmath

    for rate, beta in [(1.5, 0.5), (0.2, 3.0), (4.0, 4.5)]:
        with mpmath.workdps(50):
            ratio = mpmath.mpf(beta) / rate
            expected = float(ratio - 1 - mpmath.log(ratio))     # two exponentials: phi
        got = float(kl_exponential_gamma(rate, 1.0, beta))
        assert abs(got - expected) <= 1e-9 * expected, (rate, beta)


def test_kl_exponential_gamma_broadcasts_and_is_non_negative(kl_exponential_gamma):
    import numpy as np

    rng = np.random.default_rng(63)
    rates = np.exp(rng.uniform(-2, 2, size=(6, 1)))
    shapes = np.exp(rng.uniform(-2, 2, size=5))
    values = np.asarray(kl_exponential_gamma(rates, shapes, 1.3), dtype=float)
    assert values.shape == (6, 5)
    assert (values >= -1e-12).all()


# --- ex-cont-k3-tails --------------------------------------------------------------------


def test_finite_when_public_check(finite_when):
    from klbook.exercises.continuous import check_finite_when

    check_finite_when(finite_when)


def test_mean_square_ratio_public_check(mean_square_ratio):
    from klbook.exercises.continuous import check_mean_square_ratio

    check_mean_square_ratio(mean_square_ratio)


def test_mean_square_ratio_against_quadrature(mean_square_ratio):
    import mpmath
    import numpy as np

    for sigma in np.random.default_rng(64).uniform(0.15, 1.4, size=5):
        with mpmath.workdps(30):
            s = mpmath.mpf(sigma)

            def integrand(x):
                log_q = -x ** 2 / (2 * s ** 2) - mpmath.log(s) - mpmath.log(2 * mpmath.pi) / 2
                log_p = -x ** 2 / 2 - mpmath.log(2 * mpmath.pi) / 2
                return mpmath.exp(2 * log_q - log_p)

            expected = float(mpmath.quad(integrand, [-mpmath.inf, 0, mpmath.inf]))
        got = float(mean_square_ratio(sigma))
        assert abs(got - expected) <= 1e-9 * expected, (sigma, got, expected)


def test_mean_square_ratio_vectorised_and_at_least_one(mean_square_ratio):
    import numpy as np

    sigmas = np.random.default_rng(65).uniform(0.05, 3.0, size=40)
    values = np.asarray(mean_square_ratio(sigmas), dtype=float)
    assert values.shape == sigmas.shape
    finite = sigmas ** 2 < 2
    assert np.isinf(values[~finite]).all() and np.isfinite(values[finite]).all()
    # E[r^2] >= (E[r])^2 = 1, with equality only at sigma = 1
    assert (values[finite] >= 1 - 1e-12).all()


def test_finite_when_agrees_with_the_function(finite_when, mean_square_ratio):
    import numpy as np
    import sympy as sp

    assert isinstance(finite_when, sp.Set)
    for sigma in np.random.default_rng(66).uniform(0.05, 3.0, size=10):
        inside = bool(finite_when.contains(sp.Float(sigma)))
        assert inside == bool(np.isfinite(mean_square_ratio(sigma))), sigma


QUESTIONS = {
    "ex-cont-equal-variance": {
        "name": "equal_variance",
        "public": [(1, test_equal_var_public_check), (1, test_asymmetry_public_check)],
        "hidden": [
            (1, test_equal_var_starts_at_half_the_squared_gap),
            (2, test_asymmetry_is_exact),
            (1, test_asymmetry_vanishes_for_equal_variances),
        ],
    },
    "ex-cont-gamma-exponential": {
        "name": "exponential_gamma",
        "public": [(1, test_kl_exponential_gamma_public_check), (1, test_exact_value_public_check)],
        "hidden": [
            (1, test_exact_value_is_euler_gamma),
            (2, test_kl_exponential_gamma_against_quadrature),
            (1, test_kl_exponential_gamma_of_shape_one),
            (1, test_kl_exponential_gamma_broadcasts_and_is_non_negative),
        ],
    },
    "ex-cont-k3-tails": {
        "name": "k3_tails",
        "public": [(1, test_finite_when_public_check), (1, test_mean_square_ratio_public_check)],
        "hidden": [
            (2, test_mean_square_ratio_against_quadrature),
            (1, test_mean_square_ratio_vectorised_and_at_least_one),
            (1, test_finite_when_agrees_with_the_function),
        ],
    },
}


# --- Typical mistakes, and the partial credit they earn (tests/test_grading.py) -------------
# A student who inverts the variance ratio in phi when writing down the chapter's theorem, who
# reads gamma_rate as a scale, and who forgets that q^2 has sigma^2, not sigma, in its
# normalisation.
MISTAKES = {
    "ex-cont-equal-variance": (
        's = sp.Symbol("s", positive=True)\n'
        "kl_general = (phi(sigma2 ** 2 / sigma1 ** 2) + (mu1 - mu2) ** 2 / sigma2 ** 2) / 2\n"
        "equal_var = Derivation(kl_general.subs({sigma1: s, sigma2: s})).equals(\n"
        "    kl_general.subs({sigma1: s, sigma2: s, mu1: mu2, mu2: mu1}, simultaneous=True),\n"
        '    "swap the means")\n'
        "asymmetry = kl_general - kl_general.subs(\n"
        "    {sigma1: sigma2, sigma2: sigma1, mu1: mu2, mu2: mu1}, simultaneous=True)\n"
    ),
    "ex-cont-gamma-exponential": (
        "from scipy.special import gammaln\n"
        'lam_s, alpha_s, beta_s = sp.symbols("lambda alpha beta", positive=True)\n'
        "closed_form = (alpha_s * sp.log(lam_s * beta_s) + sp.log(sp.gamma(alpha_s))\n"
        "               + (alpha_s - 1) * sp.EulerGamma + 1 / (lam_s * beta_s) - 1)\n"
        "def kl_exponential_gamma(rate, shape, gamma_rate):\n"
        "    rate, shape, gamma_rate = (np.asarray(a, dtype=float)\n"
        "                               for a in (rate, shape, gamma_rate))\n"
        "    return (shape * np.log(rate * gamma_rate) + gammaln(shape)\n"
        "            + (shape - 1) * np.euler_gamma + 1 / (rate * gamma_rate) - 1)\n"
        "exact_value = closed_form.subs({lam_s: 1, alpha_s: 2, beta_s: 1})\n"
    ),
    "ex-cont-k3-tails": (
        'width = sp.Symbol("sigma", positive=True)\n'
        "log_integrand = sp.expand(sp.expand_log(\n"
        "    sp.log(normal_density(0, width) ** 2 / normal_density(0, 1)), force=True))\n"
        "coefficient = log_integrand.coeff(x, 2)\n"
        "finite_when = (sp.solve_univariate_inequality(coefficient < 0, width, relational=False)\n"
        "               & sp.Interval.open(0, sp.oo))\n"
        "def mean_square_ratio(sigma):\n"
        "    sigma = np.asarray(sigma, dtype=float)\n"
        "    with np.errstate(invalid='ignore', divide='ignore'):\n"
        "        finite = 1 / np.sqrt(2 - sigma ** 2)    # K sqrt(pi/-c), K = 1/(sqrt(2pi) sigma)\n"
        "    return np.where(sigma ** 2 < 2, finite, np.inf)\n"
    ),
}
MISTAKE_SCORES = {
    # phi(sigma2^2/sigma1^2) for phi(sigma1^2/sigma2^2): with equal variances phi(1) = 0 either
    # way, so the chain is right (public check, and it starts at (mu1 - mu2)^2/(2 s^2): 1 + 1)
    # and the asymmetry still vanishes at sigma2 = sigma1 (1); its variance part has the wrong
    # sign, phi(1/t) - phi(t) for phi(t) - phi(1/t), so klbook's values and the exact
    # difference fail (public check, and the 2 points of the exact test).
    "equal_variance": 3,
    # A scale for the rate: 1/(lambda beta) for beta/lambda and log(lambda beta) for
    # log(lambda/beta). At beta = 1 scale and rate agree, so exact_value is Euler's constant
    # (public check and exactness, 1 + 1); the function is still a divergence, of a gamma with
    # scale beta, so it broadcasts and is non-negative (1). It fails the public check (which
    # names the scale), quadrature (2) and two exponentials, where beta != 1 in every case.
    "exponential_gamma": 3,
    # 1/sqrt(2 - sigma^2) for 1/(sigma sqrt(2 - sigma^2)): the set is SymPy's, right (public
    # check, 1), and the function is finite exactly on it (agreement, 1). The values fail the
    # public check (sigma = 0.5), quadrature (2), and E[r^2] >= 1, which fails for sigma < 1.
    "k3_tails": 2,
}
