"""Assignment 5: maximum likelihood is minimum KL (chapter 5).

A checked derivation and a numerical estimator for the Poisson model, the
average negative log-likelihood with its index kept, and the reverse divergence
that cannot rank models. Statements, solutions and stubs come from the chapter;
the tests are here, with values derived from SymPy and mpmath.
"""

CHAPTER = "chapters/05_mle.ipynb"
NAME = "kl05_mle"
TITLE = "Assignment 5: maximum likelihood is minimum KL"
# The chapter's sample symbols (the Bernoulli derivation) and its binomial fit on a grid.
SETUP_NAMES = ["xb", "i", "n", "models", "p_hat_binom"]


# --- ex-mle-poisson: the score chain and the numerical estimate --------------------------


def test_poisson_score_public_check(poisson_score):
    from klbook.exercises.mle import check_poisson_score

    check_poisson_score(poisson_score)


def test_poisson_mle_public_check(poisson_mle):
    from klbook.exercises.mle import check_poisson_mle

    check_poisson_mle(poisson_mle)


def test_poisson_score_vanishes_at_the_sample_mean(poisson_score, xb, i, n):
    import sympy as sp

    lam = sp.Symbol("lambda", positive=True)
    total = sp.Symbol("S", positive=True)
    score = poisson_score.result.subs(sp.Sum(xb[i], (i, 1, n)), total)
    assert sp.solve(sp.numer(sp.together(score)), lam) == [total / n], (
        "setting the score to zero should give lambda = sum x_i / n")


def test_poisson_mle_on_more_samples(poisson_mle):
    import mpmath
    import numpy as np

    from klbook.exercises.mle import poisson_mle_tolerance   # an optimiser's accuracy

    for rate, size, seed in [(0.05, 400, 7), (120.0, 50, 8), (2.5, 1, 9), (9.0, 3000, 10)]:
        counts = np.random.default_rng(seed).poisson(rate, size=size)
        if counts.sum() == 0:
            continue
        with mpmath.workdps(50):
            mean = float(mpmath.fsum(int(c) for c in counts) / size)
        got = float(poisson_mle(counts))
        assert abs(got - mean) <= poisson_mle_tolerance(mean), (rate, size, got, mean)


def test_poisson_mle_takes_a_list_and_ignores_order(poisson_mle):
    from klbook.exercises.mle import poisson_mle_tolerance

    counts = [4, 0, 7, 2, 2, 9, 1]
    forward, backward = float(poisson_mle(counts)), float(poisson_mle(counts[::-1]))
    assert abs(forward - 25 / 7) <= poisson_mle_tolerance(25 / 7)
    assert abs(backward - 25 / 7) <= poisson_mle_tolerance(25 / 7)


# --- ex-mle-index: the average negative log-likelihood -------------------------------------


def test_average_nll_public_check(average_nll):
    from klbook.exercises.mle import check_average_nll

    check_average_nll(average_nll)


def test_average_nll_exact_case(average_nll):
    import numpy as np
    import sympy as sp

    model = [sp.Rational(1, 8), sp.Rational(1, 4), sp.Rational(1, 2), sp.Rational(1, 8)]
    sample = [0, 2, 2, 3]
    exact = -sum(sp.log(model[x]) for x in sample) / len(sample)     # (3/2) log 2
    got = float(average_nll(np.array(sample), np.array([float(m) for m in model])))
    assert abs(got - float(exact)) <= 1e-14


def test_average_nll_random_cases(average_nll):
    import mpmath
    import numpy as np

    rng = np.random.default_rng(2024)
    for size, alphabet in [(5, 3), (40, 6), (200, 10)]:
        model = rng.dirichlet(np.ones(alphabet))
        sample = rng.integers(0, alphabet, size=size)
        with mpmath.workdps(50):
            expected = float(-mpmath.fsum(mpmath.log(mpmath.mpf(float(model[x]))) for x in sample)
                             / size)
        got = float(average_nll(sample, model))
        assert abs(got - expected) <= 1e-12 * abs(expected), (size, alphabet, got, expected)


def test_average_nll_infinite_only_for_impossible_observations(average_nll):
    import math

    import numpy as np

    model = np.array([0.5, 0.0, 0.5])
    # q(1) = 0 is never needed: the answer is log 2
    assert math.isclose(float(average_nll(np.array([0, 2, 2]), model)), math.log(2),
                        rel_tol=1e-15)
    assert average_nll(np.array([0, 1, 2]), model) == math.inf


def test_average_nll_depends_on_the_counts_only(average_nll):
    import math

    import numpy as np

    model = np.array([0.1, 0.2, 0.3, 0.4])
    sample = np.array([3, 0, 1, 3, 2])
    one = float(average_nll(sample, model))
    assert math.isclose(one, float(average_nll(sample[::-1].copy(), model)), rel_tol=1e-14)
    assert math.isclose(one, float(average_nll(np.tile(sample, 4), model)), rel_tol=1e-14)


# --- ex-mle-reverse: D(q_theta || p_hat) -----------------------------------------------------


def test_reverse_divergences_public_check(reverse_divergences):
    from klbook.exercises.mle import check_reverse_divergences

    check_reverse_divergences(reverse_divergences)


def test_reverse_divergences_random_rows(reverse_divergences):
    import mpmath
    import numpy as np

    rng = np.random.default_rng(77)
    p_hat = rng.dirichlet(np.ones(6))
    models = rng.dirichlet(np.ones(6), size=5)
    got = np.asarray(reverse_divergences(p_hat, models), dtype=float)
    assert got.shape == (5,)
    for row, q in enumerate(models):
        with mpmath.workdps(50):
            expected = float(mpmath.fsum(mpmath.mpf(float(a)) * mpmath.log(
                mpmath.mpf(float(a)) / mpmath.mpf(float(b))) for a, b in zip(q, p_hat)))
        assert abs(got[row] - expected) <= 1e-12 * expected, row


def test_reverse_divergences_infinite_exactly_off_the_support(reverse_divergences):
    import numpy as np

    p_hat = np.array([0.5, 0.0, 0.5])
    models = np.array([[0.3, 0.0, 0.7], [0.3, 0.1, 0.6], [1.0, 0.0, 0.0]])
    got = np.asarray(reverse_divergences(p_hat, models), dtype=float)
    assert np.isfinite(got[0]) and np.isinf(got[1]) and np.isfinite(got[2])
    assert abs(got[2] - np.log(2)) <= 1e-15


def test_reverse_divergences_vanish_on_p_hat_and_are_non_negative(reverse_divergences):
    import numpy as np

    rng = np.random.default_rng(78)
    p_hat = rng.dirichlet(np.ones(5))
    models = np.vstack([p_hat, rng.dirichlet(np.ones(5), size=6)])
    got = np.asarray(reverse_divergences(p_hat, models), dtype=float)
    assert abs(got[0]) <= 1e-15, "D(p_hat || p_hat) = 0"
    assert (got[1:] > 0).all(), "Gibbs: D(q || p_hat) > 0 for q != p_hat"


def test_reverse_divergences_on_the_chapter_sample(reverse_divergences, p_hat_binom, models):
    import numpy as np

    got = np.asarray(reverse_divergences(p_hat_binom, models), dtype=float)
    assert got.shape == (len(models),)
    # the sample misses a value of {0..6} and every binomial model charges it
    assert (p_hat_binom == 0).any() and np.isinf(got).all()


QUESTIONS = {
    "ex-mle-poisson": {
        "name": "poisson",
        "public": [(1, test_poisson_score_public_check), (1, test_poisson_mle_public_check)],
        "hidden": [
            (2, test_poisson_score_vanishes_at_the_sample_mean),
            (2, test_poisson_mle_on_more_samples),
            (1, test_poisson_mle_takes_a_list_and_ignores_order),
        ],
    },
    "ex-mle-index": {
        "name": "average_nll",
        "public": [(1, test_average_nll_public_check)],
        "hidden": [
            (1, test_average_nll_exact_case),
            (2, test_average_nll_random_cases),
            (1, test_average_nll_infinite_only_for_impossible_observations),
            (1, test_average_nll_depends_on_the_counts_only),
        ],
    },
    "ex-mle-reverse": {
        "name": "reverse_divergences",
        "public": [(1, test_reverse_divergences_public_check)],
        "hidden": [
            (2, test_reverse_divergences_random_rows),
            (1, test_reverse_divergences_infinite_exactly_off_the_support),
            (1, test_reverse_divergences_vanish_on_p_hat_and_are_non_negative),
            (1, test_reverse_divergences_on_the_chapter_sample),
        ],
    },
}


# --- Typical mistakes, and the partial credit they earn (tests/test_grading.py) -------------
# A student who writes the Poisson log-likelihood with -lambda once instead of once per
# observation (losing the n of sum_i 1), who clips the model away from 0 to avoid log 0, and
# who computes the forward divergence D(p_hat || q) where the reverse one is asked for.
MISTAKES = {
    "ex-mle-poisson": (
        'lam_p = sp.Symbol("lambda", positive=True)\n'
        "poisson_ll = sp.Sum(xb[i] * sp.log(lam_p) - sp.log(sp.factorial(xb[i])), (i, 1, n))"
        " - lam_p\n"
        "poisson_score = Derivation(sp.diff(poisson_ll, lam_p)).equals(\n"
        '    sp.Sum(xb[i], (i, 1, n)) / lam_p - 1, "linearity")\n'
        "def poisson_mle(counts):\n"
        "    counts = np.asarray(counts)\n"
        "    fit = optimize.minimize(\n"
        "        lambda u: -np.mean(stats.poisson.logpmf(counts, np.exp(u[0]))), [0.0],\n"
        "        jac=lambda u: np.array([np.exp(u[0]) - counts.mean()]),\n"
        '        method="BFGS", options={"gtol": 1e-7})\n'
        "    return float(np.exp(fit.x[0]))\n"
    ),
    "ex-mle-index": (
        "def average_nll(sample, model):\n"
        "    # clipped so that log 0 never happens\n"
        "    model = np.clip(np.asarray(model, dtype=float), 1e-12, 1.0)\n"
        "    return -np.mean(np.log(model[np.asarray(sample)]))\n"
    ),
    "ex-mle-reverse": (
        "def reverse_divergences(p_hat, models):\n"
        "    return klbook.kl_divergence(p_hat, models)\n"
    ),
}
MISTAKE_SCORES = {
    # The estimator is the chapter's and never uses the score: its public check, the further
    # samples and the list in either order pass (1 + 2 + 1). The chain is verified, but it
    # starts at the derivative of another log-likelihood and ends at sum x_i / lambda - 1, so
    # the public check of the chain fails, and setting that score to zero gives lambda = S,
    # not S / n.
    "poisson": 4,
    # No probability in the exact case (1/8 at least) or the Dirichlet draws is below 1e-12,
    # so the exact value, the random cases and the count-only dependence pass (1 + 2 + 1).
    # Where the model gives an observed value probability 0 the answer is finite (10.4 nats on
    # the public [0 2 6], 9.7 on the hidden [0 1 2]) where inf is due: the public check's third
    # case and the second half of the infinite-case test fail.
    "average_nll": 4,
    # Swapped: D(p_hat || p_hat) = 0 and Gibbs' inequality hold in either direction (1). The
    # public check names the swap; the random rows differ, since the divergence is not
    # symmetric; off the support the forward divergence is finite where the reverse one is
    # infinite (and infinite on a model missing a value p_hat has); on the chapter's sample it
    # is the finite curve the chapter minimises, not inf for every theta.
    "reverse_divergences": 1,
}
