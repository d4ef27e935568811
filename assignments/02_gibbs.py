"""Assignment 2: Gibbs' inequality (chapter 2).

Two checked proofs the student completes (``cross_entropy_chain`` and
``chi_square``, ``klbook.derivation`` chains that SymPy verifies step by step,
under no hypothesis but the chapter's ``setting``),
the chi-square divergence as a function, and the sharpness of Pinsker's
constant. Statements, solutions and stubs come from the chapter; the tests are
here, with values derived from SymPy and mpmath.
"""

CHAPTER = "chapters/02_gibbs.ipynb"
NAME = "kl02_gibbs"
TITLE = "Assignment 2: Gibbs' inequality"
# The chapter's symbols for the proofs: the index, the sums, P and Q, their setting.
SETUP_NAMES = ["total", "p", "q", "setting", "divergence"]


# --- ex-gibbs-cross-entropy: H(P, Q) >= H(P) ----------------------------------------------


def test_cross_entropy_public_check(cross_entropy_chain):
    from klbook.exercises.gibbs import check_cross_entropy_chain

    check_cross_entropy_chain(cross_entropy_chain)


def test_cross_entropy_chain_starts_at_the_cross_entropy(cross_entropy_chain, total, p, q, i):
    import sympy as sp
    from klbook.derivation import Derivation

    assert isinstance(cross_entropy_chain, Derivation), "a Derivation chain is expected"
    assert cross_entropy_chain.start == -total(p[i] * sp.log(q[i])), (
        "the chain should start at -sum_i p_i log q_i")


def test_cross_entropy_first_step_is_the_decomposition(cross_entropy_chain, total, p, q, i):
    import sympy as sp

    assert len(cross_entropy_chain) >= 1, "the chain has no step"
    first = cross_entropy_chain.steps[0]
    decomposition = -total(p[i] * sp.log(p[i])) + total(p[i] * sp.log(p[i] / q[i]))
    gap = sp.expand_log((first.expr - decomposition).doit(), force=True)
    assert first.relation == "=" and sp.simplify(gap) == 0, (
        "the first step should be the decomposition H(P) + D(P || Q)")


def test_cross_entropy_chain_cites_gibbs_and_ends_at_the_entropy(cross_entropy_chain, total,
                                                                  p, i, setting):
    import sympy as sp
    from klbook.derivation import GIBBS

    assert any(step.lemma is GIBBS for step in cross_entropy_chain.steps), "cite GIBBS"
    assert cross_entropy_chain.relation == ">="
    assert cross_entropy_chain.result == -total(p[i] * sp.log(p[i])), (
        "the chain should end at the entropy -sum_i p_i log p_i")
    # Verified again from its premises, which are the chapter's hypotheses at most.
    cross_entropy_chain.verify()
    allowed = {hypothesis.relation for hypothesis in setting}
    assert {h.relation for h in cross_entropy_chain.hypotheses} <= allowed, (
        "assume nothing but the chapter's setting: sum p_i = 1 and sum q_i = 1 - r")


# --- ex-gibbs-chi-square: D(P || Q) <= chi^2(P || Q) ---------------------------------------


def test_chi_square_public_check(chi_square, chi_square_divergence):
    from klbook.exercises.gibbs import check_chi_square_chain, check_chi_square_divergence

    check_chi_square_chain(chi_square)
    check_chi_square_divergence(chi_square_divergence)


def test_chi_square_chain_proves_the_bound(chi_square, divergence, total, p, q, i, setting):
    import sympy as sp
    from klbook.derivation import Derivation

    assert isinstance(chi_square, Derivation), "chi_square should be a Derivation chain"
    assert chi_square.start == divergence, "the chain should start from D(P || Q)"
    assert chi_square.relation == "<=", "the chain should prove an upper bound"
    chi2_symbolic = total(p[i] ** 2 / q[i]) - 1
    gap = sp.simplify((chi_square.result - chi2_symbolic).doit())
    assert chi_square.result == chi2_symbolic or gap == 0, (
        "the chain should end at sum p_i^2 / q_i - 1")
    # Verified again from its premises, which are the chapter's hypotheses at most.
    chi_square.verify()
    allowed = {hypothesis.relation for hypothesis in setting}
    assert {h.relation for h in chi_square.hypotheses} <= allowed, (
        "assume nothing but the chapter's setting: sum p_i = 1 and sum q_i = 1 - r")


def test_chi_square_values_at_50_digits(chi_square_divergence):
    import mpmath
    import numpy as np

    rng = np.random.default_rng(20260202)
    P = rng.dirichlet(np.full(6, 0.7), size=40)
    Q = rng.dirichlet(np.full(6, 0.7), size=40)
    got = np.asarray(chi_square_divergence(P, Q), dtype=float)
    assert got.shape == (40,), "one value per row"
    with mpmath.workdps(50):
        for row in range(40):
            expected = mpmath.fsum(mpmath.mpf(a) ** 2 / mpmath.mpf(b)
                                   for a, b in zip(P[row], Q[row])) - 1
            assert abs(got[row] - float(expected)) <= 1e-11 * (1 + abs(float(expected))), row


def test_chi_square_exact_and_infinite_cases(chi_square_divergence):
    import math

    # (1/3, 2/3) against (2/3, 1/3): (1/9)/(2/3) + (4/9)/(1/3) - 1 = 1/6 + 4/3 - 1 = 1/2.
    assert math.isclose(float(chi_square_divergence([1 / 3, 2 / 3], [2 / 3, 1 / 3])), 0.5,
                        rel_tol=1e-12)
    # P = Q gives 0; a point of Q's mass outside P's support adds nothing for P.
    assert abs(float(chi_square_divergence([0.5, 0.5, 0.0], [0.5, 0.5, 0.0]))) <= 1e-15
    # q = 0 < p: infinite.
    assert float(chi_square_divergence([0.5, 0.5], [1.0, 0.0])) == math.inf


def test_chi_square_bounds_the_divergence(chi_square_divergence):
    import numpy as np
    import klbook

    rng = np.random.default_rng(7)
    P, Q = rng.dirichlet(np.ones(5), size=2000), rng.dirichlet(np.ones(5), size=2000)
    assert (klbook.kl_divergence(P, Q) <= np.asarray(chi_square_divergence(P, Q)) + 1e-12).all()


# --- ex-gibbs-pinsker-constant: the constant 2 is sharp -----------------------------------


def test_pinsker_public_check(pinsker_ratio, D_eps):
    from klbook.exercises.gibbs import check_pinsker_expansion, check_pinsker_ratio

    check_pinsker_ratio(pinsker_ratio)
    check_pinsker_expansion(D_eps)


def test_pinsker_ratio_at_50_digits(pinsker_ratio):
    import mpmath

    for p, q in [(0.5, 0.51), (0.05, 0.95), (0.3, 0.2), (0.999, 0.9)]:
        with mpmath.workdps(50):
            P, Q = mpmath.mpf(p), mpmath.mpf(q)
            D = P * mpmath.log(P / Q) + (1 - P) * mpmath.log((1 - P) / (1 - Q))
            expected = float(D / (2 * (P - Q) ** 2))
        assert abs(float(pinsker_ratio(p, q)) - expected) <= 1e-9 * expected, (p, q)


def test_pinsker_ratio_is_at_least_one_on_a_grid(pinsker_ratio):
    import numpy as np

    values = np.linspace(0.01, 0.99, 50)
    p, q = np.meshgrid(values, values + 0.005)      # p != q everywhere
    ratio = np.asarray(pinsker_ratio(p, q), dtype=float)
    assert ratio.shape == p.shape, "pinsker_ratio should work elementwise on arrays"
    assert (ratio >= 1 - 1e-9).all() and ratio.min() < 1.01


def test_pinsker_limit_is_one(D_eps):
    import sympy as sp

    [eps] = D_eps.free_symbols
    assert sp.limit(D_eps / (2 * eps ** 2), eps, 0) == 1


def test_pinsker_expansion_is_exact(D_eps):
    import sympy as sp

    [eps] = D_eps.free_symbols
    # D((1/2, 1/2) || (1/2 + e, 1/2 - e)) = -(1/2) log(1 - 4 e^2), by hand.
    exact = -sp.log(1 - 4 * eps ** 2) / 2
    # Equal derivatives and equal values at 0 (simplify cannot always merge the logarithms).
    assert sp.simplify(sp.diff(D_eps - exact, eps)) == 0
    assert sp.simplify((D_eps - exact).subs(eps, 0)) == 0


QUESTIONS = {
    "ex-gibbs-cross-entropy": {
        "name": "cross_entropy_chain",
        "public": [(1, test_cross_entropy_public_check)],
        "hidden": [
            (1, test_cross_entropy_chain_starts_at_the_cross_entropy),
            (1, test_cross_entropy_first_step_is_the_decomposition),
            (2, test_cross_entropy_chain_cites_gibbs_and_ends_at_the_entropy),
        ],
    },
    "ex-gibbs-chi-square": {
        "name": "chi_square",
        "public": [(1, test_chi_square_public_check)],
        "hidden": [
            (2, test_chi_square_chain_proves_the_bound),
            (1, test_chi_square_values_at_50_digits),
            (1, test_chi_square_exact_and_infinite_cases),
            (1, test_chi_square_bounds_the_divergence),
        ],
    },
    "ex-gibbs-pinsker-constant": {
        "name": "pinsker_constant",
        "public": [(1, test_pinsker_public_check)],
        "hidden": [
            (1, test_pinsker_ratio_at_50_digits),
            (1, test_pinsker_ratio_is_at_least_one_on_a_grid),
            (1, test_pinsker_limit_is_one),
            (1, test_pinsker_expansion_is_exact),
        ],
    },
}


# --- Typical mistakes, and the partial credit they earn (tests/test_grading.py) -------------
# A student whose cross-entropy chain stops at the decomposition H(P) + D(P || Q), short of
# citing GIBBS; whose chi-square function forgets to leave out the outcomes with p(x) = 0
# (0/0 = nan where both vanish); and who writes D_eps with Q's probabilities as the weights.
MISTAKES = {
    "ex-gibbs-cross-entropy": (
        "entropy_term = -total(p[i] * sp.log(p[i]))\n"
        "cross_entropy_chain = (\n"
        "    Derivation(-total(p[i] * sp.log(q[i])), given=setting)\n"
        "    .equals(entropy_term + divergence, \"add and subtract sum p_i log p_i\")\n"
        ")\n"
    ),
    "ex-gibbs-chi-square": (
        "chi_square = (\n"
        "    Derivation(divergence, given=setting)\n"
        "    .less_equal(total(p[i] * (p[i] / q[i] - 1)), \"ln t <= t - 1 at t = p_i/q_i\",\n"
        "                lemma=LOG_LE_X_MINUS_1, t=p[i] / q[i])\n"
        "    .equals(total(p[i] ** 2 / q[i]) - 1, \"multiply out; sum p_i = 1\")\n"
        ")\n"
        "def chi_square_divergence(p, q):\n"
        "    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)\n"
        "    return np.sum(p ** 2 / q, axis=-1) - 1\n"
    ),
    "ex-gibbs-pinsker-constant": (
        "def pinsker_ratio(p, q):\n"
        "    p, q = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(q, dtype=float))\n"
        "    P, Q = np.stack([p, 1 - p], axis=-1), np.stack([q, 1 - q], axis=-1)\n"
        "    return klbook.kl_divergence(P, Q) / (2 * total_variation(P, Q) ** 2)\n"
        "eps = sp.symbols(\"epsilon\", positive=True)\n"
        "half = sp.Rational(1, 2)\n"
        "D_eps = ((half + eps) * sp.log((half + eps) / half)\n"
        "         + (half - eps) * sp.log((half - eps) / half))\n"
    ),
}
MISTAKE_SCORES = {
    # Stops short: the chain starts at the cross-entropy and its one step is the decomposition
    # (1 + 1); it ends at H(P) + D and proves an equality, so neither the public check (it ends
    # elsewhere) nor the test that wants GIBBS, >= and the entropy at the end (2) passes.
    "cross_entropy_chain": 2,
    # The chain is right (2). Without a mask on p > 0, p = q = 0 gives 0/0 = nan: the exact
    # cases fail at P = Q with a zero, and so does the public check, which has such a pair too.
    # The Dirichlet rows have no zeros, so the 50-digit values and the bound pass (1 + 1).
    "chi_square": 4,
    # D((1/2 + e, 1/2 - e) || (1/2, 1/2)), the reverse divergence: pinsker_ratio is right, so
    # its values and the grid pass (1 + 1); the two directions agree to second order, so the
    # limit of D_eps / (2 e^2) is still 1 (1). The exact expansion, -(1/2) log(1 - 4 e^2), and
    # the public check, which compares D_eps with the divergence at three values, fail.
    "pinsker_constant": 3,
}
