"""Assignment 2: Gibbs' inequality (chapter 2).

A checked proof the student completes (``chi_square``, a ``klbook.derivation``
chain that SymPy verifies step by step), a randomized test of the bound it
proves, and the sharpness of Pinsker's constant. Statements, solutions and stubs
come from the chapter; the tests are here, with values derived from SymPy and
mpmath.
"""

CHAPTER = "chapters/02_gibbs.ipynb"
NAME = "kl02_gibbs"
TITLE = "Assignment 2: Gibbs' inequality"
# The chapter's symbols for the proofs: the index, the sums, P and Q, their setting.
SETUP_NAMES = ["total", "p", "q", "setting", "divergence"]


# --- ex-gibbs-chi-square: D(P || Q) <= chi^2(P || Q) -------------------------------------


def test_chi_square_chain_starts_at_the_divergence(chi_square, divergence):
    from klbook.derivation import Derivation

    assert isinstance(chi_square, Derivation), "chi_square should be a Derivation chain"
    assert chi_square.start == divergence, "the chain should start from D(P || Q)"
    assert chi_square.relation == "<=", "the chain should prove an upper bound"


def test_chi_square_chain_ends_at_chi_square(chi_square, total, p, q, i):
    import sympy as sp

    chi2_symbolic = total(p[i] ** 2 / q[i]) - 1
    gap = sp.simplify((chi_square.result - chi2_symbolic).doit())
    assert chi_square.result == chi2_symbolic or gap == 0, (
        "the chain should end at sum p_i^2 / q_i - 1")
    assert len(chi_square) >= 1


def test_chi_square_values(P_test, Q_test, chi2):
    import mpmath
    import numpy as np

    P_test, Q_test, chi2 = np.asarray(P_test), np.asarray(Q_test), np.asarray(chi2)
    assert P_test.ndim == 2 and P_test.shape == Q_test.shape and len(P_test) >= 1000
    assert chi2.shape == (len(P_test),)
    for row in range(0, len(P_test), max(1, len(P_test) // 7)):
        expected = mpmath.fsum(mpmath.mpf(a) ** 2 / b for a, b in zip(P_test[row], Q_test[row]))
        assert abs(chi2[row] - float(expected - 1)) <= 1e-9 * (1 + abs(float(expected))), row


def test_chi_square_bounds_the_divergence(P_test, Q_test, chi2):
    import numpy as np
    import klbook

    assert (klbook.kl_divergence(P_test, Q_test) <= np.asarray(chi2) + 1e-12).all()


# --- ex-gibbs-pinsker-constant: the constant 2 is sharp -----------------------------------


def test_pinsker_ratio_is_at_least_one(ratio_grid):
    import numpy as np

    ratio_grid = np.asarray(ratio_grid, dtype=float)
    assert ratio_grid.ndim == 2 and ratio_grid.size >= 100, "ratio_grid: a 2-D grid of ratios"
    finite = ratio_grid[np.isfinite(ratio_grid)]
    assert finite.size > 0 and (finite >= 1 - 1e-9).all(), "Pinsker: every ratio is >= 1"


def test_pinsker_ratio_approaches_one(ratio_grid):
    import numpy as np

    finite = np.asarray(ratio_grid, dtype=float)
    finite = finite[np.isfinite(finite)]
    assert finite.size > 0 and finite.min() < 1.01, "the smallest ratio should be close to 1"


def test_pinsker_limit_is_one(D_eps):
    import sympy as sp

    [eps] = D_eps.free_symbols
    assert sp.limit(D_eps / (2 * eps ** 2), eps, 0) == 1


QUESTIONS = {
    "ex-gibbs-chi-square": {
        "name": "chi_square",
        "public": [(1, test_chi_square_chain_starts_at_the_divergence)],
        "hidden": [
            (2, test_chi_square_chain_ends_at_chi_square),
            (1, test_chi_square_values),
            (1, test_chi_square_bounds_the_divergence),
        ],
    },
    "ex-gibbs-pinsker-constant": {
        "name": "pinsker_constant",
        "public": [(1, test_pinsker_ratio_is_at_least_one)],
        "hidden": [(1, test_pinsker_ratio_approaches_one), (2, test_pinsker_limit_is_one)],
    },
}
