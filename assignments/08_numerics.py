"""Assignment 8: computing KL in floating point (chapter 8).

Exact differences (Sterbenz's lemma and a counterexample), the Bernoulli
divergence near equality (its leading term in SymPy and an accurate function),
and KL from logits. Statements, solutions and stubs come from the chapter; the
tests are here. Public tests are the chapter's public checks
(``klbook.exercises.numerics``); the hidden tests grade more, with values
derived here from mpmath at 50 digits, SymPy and error-free transformations.
"""

CHAPTER = "chapters/08_numerics.ipynb"
NAME = "kl08_numerics"
TITLE = "Assignment 8: computing KL in floating point"
# The chapter's helpers that the solutions use: the relative error against a reference (its
# cell also builds the chapter's example pair with reference_kl) and the log-softmax.
SETUP_NAMES = ["reference_kl", "relative_error", "log_softmax"]


# --- ex-num-sterbenz: difference_is_exact(a, b); sterbenz_a, sterbenz_b ---------------------


def test_difference_is_exact_public_check(difference_is_exact):
    from klbook.exercises.numerics import check_difference_is_exact

    check_difference_is_exact(difference_is_exact)


def test_counterexample_public_check(sterbenz_a, sterbenz_b):
    from klbook.exercises.numerics import check_sterbenz_counterexample

    check_sterbenz_counterexample(sterbenz_a, sterbenz_b)


def test_difference_is_exact_on_random_pairs(difference_is_exact):
    import numpy as np

    rng = np.random.default_rng(81)
    # Magnitudes from subnormal to 1e300, signs mixed, some pairs close together.
    a = np.ldexp(rng.random(600) + 0.5, rng.integers(-1074, 990, 600)) * rng.choice([-1, 1], 600)
    b = np.where(rng.random(600) < 0.5, a * rng.uniform(0.3, 3.0, 600),
                 np.ldexp(rng.random(600) + 0.5, rng.integers(-1074, 990, 600)))
    for x, y in zip(a.tolist(), b.tolist()):
        # Knuth's two-sum recovers the rounding error of x - y exactly: exact iff it is 0.
        s = x - y
        y_virtual = s - x
        error = (x - (s - y_virtual)) + (-y - y_virtual)
        assert bool(difference_is_exact(x, y)) == (error == 0), (x, y)


def test_difference_is_exact_inside_the_lemma(difference_is_exact):
    import numpy as np

    rng = np.random.default_rng(82)
    b = np.ldexp(rng.random(500) + 0.5, rng.integers(-1074, 1000, 500))
    a = b * rng.uniform(0.5, 2.0, 500)
    inside = (b / 2 <= a) & (a <= 2 * b) & (b > 0)
    assert inside.sum() > 400
    # Sterbenz's lemma: every one of these differences is exact.
    assert all(bool(difference_is_exact(x, y)) for x, y in zip(a[inside].tolist(), b[inside].tolist()))


def test_counterexample_in_high_precision(sterbenz_a, sterbenz_b):
    import mpmath

    a, b = float(sterbenz_a), float(sterbenz_b)
    assert a > 2 * b > 0
    # 2200 bits hold the exact difference of any two finite doubles.
    with mpmath.workprec(2200):
        exact = mpmath.mpf(a) - mpmath.mpf(b)
        assert mpmath.mpf(a - b) != exact


# --- ex-num-bernoulli: bernoulli_leading; kl_bernoulli_accurate(a, b) ------------------------


def test_bernoulli_leading_public_check(bernoulli_leading):
    from klbook.exercises.numerics import check_bernoulli_leading

    check_bernoulli_leading(bernoulli_leading)


def test_kl_bernoulli_public_check(kl_bernoulli_accurate):
    from klbook.exercises.numerics import check_kl_bernoulli

    check_kl_bernoulli(kl_bernoulli_accurate)


def test_bernoulli_leading_is_exact(bernoulli_leading):
    import sympy as sp

    expr = sp.sympify(bernoulli_leading)
    assert not expr.atoms(sp.Float), "bernoulli_leading should be exact, without float coefficients"
    a, eps = sp.symbols("a epsilon", positive=True)
    expr = expr.xreplace({s: {"a": a, "epsilon": eps}[s.name] for s in expr.free_symbols})
    # The second derivative in epsilon at 0 of D(Bern(a) || Bern(a (1 + eps))), over 2.
    d = (1 - a) * sp.log((1 - a) / (1 - a * (1 + eps))) + a * sp.log(1 / (1 + eps))
    assert sp.simplify(expr - sp.diff(d, eps, 2).subs(eps, 0) / 2 * eps ** 2) == 0


def test_kl_bernoulli_near_equality(kl_bernoulli_accurate):
    import mpmath
    import numpy as np

    rng = np.random.default_rng(83)
    a_values = rng.uniform(1e-6, 1 - 1e-6, 40)
    offsets = np.exp(rng.uniform(np.log(1e-12), np.log(1e-3), 40)) * rng.choice([-1, 1], 40)
    # b moves a by a relative 1e-12 .. 1e-3 of the smaller of a and 1 - a: it stays in (0, 1).
    b_values = a_values + offsets * np.minimum(a_values, 1 - a_values)
    for a, b in zip(a_values.tolist(), b_values.tolist()):
        with mpmath.workdps(50):
            A, B = mpmath.mpf(a), mpmath.mpf(b)
            expected = float(A * mpmath.log(A / B) + (1 - A) * mpmath.log((1 - A) / (1 - B)))
        got = float(kl_bernoulli_accurate(a, b))
        assert abs(got - expected) <= 1e-12 * expected, (a, b, got, expected)


def test_kl_bernoulli_edges(kl_bernoulli_accurate):
    import math

    import mpmath

    with mpmath.workdps(50):
        cases = {(0.0, 0.25): float(-mpmath.log(1 - mpmath.mpf(0.25))),
                 (1.0, 0.25): float(-mpmath.log(mpmath.mpf(0.25))),
                 (0.0, 0.0): 0.0, (1.0, 1.0): 0.0, (0.6, 0.6): 0.0,
                 (0.2, 0.0): math.inf, (0.2, 1.0): math.inf, (1.0, 0.0): math.inf}
    for (a, b), expected in cases.items():
        got = float(kl_bernoulli_accurate(a, b))
        assert got == expected or abs(got - expected) <= 1e-15 * abs(expected), (a, b, got)


def test_kl_bernoulli_in_the_tails(kl_bernoulli_accurate):
    import mpmath

    # Tiny success probabilities: the textbook sum is negative here.
    for a, b in [(1e-300, 2e-300), (3e-20, 1e-20), (1e-9, 1.5e-9)]:
        with mpmath.workdps(50):
            A, B = mpmath.mpf(a), mpmath.mpf(b)
            # log((1 - A)/(1 - B)) through log1p: 1 - 1e-300 is 1 at any working precision here.
            expected = float(A * mpmath.log(A / B)
                             + (1 - A) * (mpmath.log1p(-A) - mpmath.log1p(-B)))
        got = float(kl_bernoulli_accurate(a, b))
        assert got >= 0 and abs(got - expected) <= 1e-12 * expected, (a, b, got, expected)


# --- ex-num-logits: kl_from_logits(y, z) -----------------------------------------------------


def test_kl_from_logits_public_check(kl_from_logits):
    from klbook.exercises.numerics import check_kl_from_logits

    check_kl_from_logits(kl_from_logits)


def test_kl_from_logits_random(kl_from_logits):
    import mpmath
    import numpy as np

    rng = np.random.default_rng(84)
    for k in range(30):
        n = int(rng.integers(2, 8))
        y = rng.dirichlet(np.ones(n))
        y[rng.random(n) < 0.3] = 0.0
        if y.sum() == 0:
            y[0] = 1.0
        y /= y.sum()
        z = rng.normal(0, 5, n) + rng.choice([0.0, 300.0, -2000.0])
        with mpmath.workdps(50):
            lse = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in z.tolist()))
            expected = float(mpmath.fsum(mpmath.mpf(w) * (mpmath.log(mpmath.mpf(w)) - mpmath.mpf(v) + lse)
                                         for w, v in zip(y.tolist(), z.tolist()) if w > 0))
        got = float(kl_from_logits(y.copy(), z.copy()))
        assert abs(got - expected) <= 1e-10 * max(expected, 1e-3), (k, got, expected)


def test_kl_from_logits_shift_invariance(kl_from_logits):
    import numpy as np

    rng = np.random.default_rng(85)
    y, z = rng.dirichlet(np.ones(5)), rng.normal(0, 3, 5)
    base = float(kl_from_logits(y.copy(), z.copy()))
    for shift in (-700.0, 710.0, 5000.0):
        assert abs(float(kl_from_logits(y.copy(), z + shift)) - base) <= 1e-10, shift


def test_kl_from_logits_one_hot_extremes(kl_from_logits):
    import numpy as np

    # D(e_1 || softmax(z)) = -log softmax(z)_1 = LSE(z) - z_1 = 2000 + log(1 + e^-1000 + e^-2000).
    got = float(kl_from_logits(np.array([1.0, 0.0, 0.0]), np.array([-1000.0, 1000.0, 0.0])))
    assert got == 2000.0
    # The label's class has the largest logit by far: D = log(1 + e^-2000), which is 0.0 in doubles.
    got = float(kl_from_logits(np.array([0.0, 1.0]), np.array([-1000.0, 1000.0])))
    assert got == 0.0


QUESTIONS = {
    "ex-num-sterbenz": {
        "name": "sterbenz",
        "public": [(1, test_difference_is_exact_public_check), (1, test_counterexample_public_check)],
        "hidden": [
            (2, test_difference_is_exact_on_random_pairs),
            (1, test_difference_is_exact_inside_the_lemma),
            (1, test_counterexample_in_high_precision),
        ],
    },
    "ex-num-bernoulli": {
        "name": "bernoulli",
        "public": [(1, test_bernoulli_leading_public_check), (1, test_kl_bernoulli_public_check)],
        "hidden": [
            (1, test_bernoulli_leading_is_exact),
            (2, test_kl_bernoulli_near_equality),
            (1, test_kl_bernoulli_edges),
            (1, test_kl_bernoulli_in_the_tails),
        ],
    },
    "ex-num-logits": {
        "name": "kl_from_logits",
        "public": [(1, test_kl_from_logits_public_check)],
        "hidden": [
            (2, test_kl_from_logits_random),
            (1, test_kl_from_logits_shift_invariance),
            (1, test_kl_from_logits_one_hot_extremes),
        ],
    },
}


# --- Typical mistakes, and the partial credit they earn (tests/test_grading.py) -------------
# A student who tests Sterbenz's condition in place of exactness, who sums the textbook terms
# a log(a/b) + (1 - a) log((1 - a)/(1 - b)) (with the right conventions at 0, 1 and infinity),
# and who returns the cross-entropy H(y, softmax(z)) for the divergence.
MISTAKES = {
    "ex-num-sterbenz": (
        "def difference_is_exact(a, b):\n"
        '    """Whether the computed difference a - b of two doubles equals the exact'
        ' difference."""\n'
        "    return b / 2 <= a <= 2 * b\n"
        "\n"
        "\n"
        "sterbenz_a, sterbenz_b = 1.0, 2.0**-60\n"
    ),
    "ex-num-bernoulli": (
        'aa, eps = sp.symbols("a epsilon", positive=True)\n'
        "bb = aa * (1 + eps)\n"
        "exact_d = (1 - aa) * sp.log((1 - aa) / (1 - bb)) + aa * sp.log(aa / bb)\n"
        "bernoulli_leading = sp.series(exact_d, eps, 0, 3).removeO()\n"
        "\n"
        "\n"
        "def kl_bernoulli_accurate(a, b):\n"
        "    if (b == 0 and a > 0) or (b == 1 and a < 1):\n"
        "        return np.inf\n"
        "    success = a * np.log(a / b) if a > 0 else 0.0\n"
        "    failure = (1 - a) * np.log((1 - a) / (1 - b)) if a < 1 else 0.0\n"
        "    return float(success + failure)\n"
    ),
    "ex-num-logits": (
        "def kl_from_logits(y, z):\n"
        "    return -np.sum(y * log_softmax(z))\n"
    ),
}
MISTAKE_SCORES = {
    # The condition: the counterexample passes both its checks (1 + 1), and inside the lemma
    # the condition is right, so the test there passes (1); the public check fails at 3 - 1
    # (exact, outside the condition), and the random pairs at the many exact differences it
    # calls inexact: two negatives (it holds only for b > 0), subnormals, a/b in (2, 3).
    "sterbenz": 3,
    # The textbook sum: the leading term is right (1 + 1), and at the edges the terms are
    # log(4/3), log 4, log 1 = 0 or infinite, all to a unit in the last place (1); near a = b
    # the terms cancel (the public check and the near-equality test fail), and in the tails
    # the second term rounds to log 1 = 0, so the sum is negative.
    "bernoulli": 3,
    # The cross-entropy: it is shift-invariant too (1), and for a one-hot y, whose entropy is
    # 0, it is the divergence (1); the public check names the mistake and the random y fail.
    "kl_from_logits": 2,
}
