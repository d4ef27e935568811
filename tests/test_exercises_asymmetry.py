"""Tests of klbook.exercises.asymmetry: chapter 3's public checks.

Correct answers are computed here without klbook: mpmath at 50 digits for the
divergences, a fine trapezoid rule and Nelder–Mead for the reverse-KL minima,
SymPy chains built in the test.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import integrate, optimize, stats

from klbook.derivation import JENSEN_LOG, LOG_LE_X_MINUS_1, Derivation, assume
from klbook.exercises import CheckFailed
from klbook.exercises.asymmetry import (check_coin_js_bits, check_js_jeffreys_term,
                                        check_one_bit_pair, check_reverse_kl_minima)

a, b = sp.symbols("a b", positive=True)
half = sp.Rational(1, 2)


@pytest.fixture(autouse=True, scope="module")
def fifty_digits():
    with mpmath.workdps(50):
        yield


# --- the chain ---------------------------------------------------------------------------


def halfway_chain():
    return (Derivation(a * sp.log(2 * a / (a + b)) + b * sp.log(2 * b / (a + b)))
            .equals(-a * sp.log(half + half * b / a) - b * sp.log(half + half * a / b), "invert")
            .less_equal(-a * sp.log(b / a) / 2 - b * sp.log(half + half * a / b), "concave",
                        lemma=JENSEN_LOG, weights=[half, half], values=[1, b / a])
            .less_equal(-a * sp.log(b / a) / 2 - b * sp.log(a / b) / 2, "concave",
                        lemma=JENSEN_LOG, weights=[half, half], values=[1, a / b]))


def test_js_jeffreys_term_passes_the_proof(capsys):
    chain = halfway_chain().equals((a - b) * sp.log(a / b) / 2, "collect")
    check_js_jeffreys_term(chain)
    assert capsys.readouterr().out == (
        "js_jeffreys_term proves the statement in 4 verified steps.\n")


def test_js_jeffreys_term_names_the_weaker_bound():
    # (a - b) log(a/b) bounds the term too, but only gives JS <= J/2. A verified chain
    # reaches it: X/2 = X - X/2, and X/2 = (a log(a/b) + b log(b/a)) / 2 >= 0 by ln t <= t - 1.
    X = (a - b) * sp.log(a / b)
    chain = (halfway_chain().equals(X / 2, "collect")
             .equals(X + a * sp.log(b / a) / 2 + b * sp.log(a / b) / 2, "X/2 = X - X/2")
             .less_equal(X + a * (b / a - 1) / 2 + b * sp.log(a / b) / 2, "t = b/a",
                         lemma=LOG_LE_X_MINUS_1, t=b / a)
             .less_equal(X + a * (b / a - 1) / 2 + b * (a / b - 1) / 2, "t = a/b",
                         lemma=LOG_LE_X_MINUS_1, t=a / b)
             .equals(X, "collect"))
    with pytest.raises(CheckFailed, match=r"JS <= J/2"):
        check_js_jeffreys_term(chain)


def test_js_jeffreys_term_refuses_an_extra_hypothesis():
    # The proof, under the hypothesis a > b: true, but not the statement for all a, b > 0.
    chain = Derivation(a * sp.log(2 * a / (a + b)) + b * sp.log(2 * b / (a + b)),
                       given=[assume(a > b)])
    chain = (chain
             .equals(-a * sp.log(half + half * b / a) - b * sp.log(half + half * a / b), "invert")
             .less_equal(-a * sp.log(b / a) / 2 - b * sp.log(half + half * a / b), "concave",
                         lemma=JENSEN_LOG, weights=[half, half], values=[1, b / a])
             .less_equal(-a * sp.log(b / a) / 2 - b * sp.log(a / b) / 2, "concave",
                         lemma=JENSEN_LOG, weights=[half, half], values=[1, a / b])
             .equals((a - b) * sp.log(a / b) / 2, "collect"))
    with pytest.raises(CheckFailed, match=r"assumes .*does not allow"):
        check_js_jeffreys_term(chain)


def test_js_jeffreys_term_gives_a_hint_when_unfinished():
    chain = Derivation(a * sp.log(2 * a / (a + b)) + b * sp.log(2 * b / (a + b))).equals(
        -a * sp.log(half + half * b / a) - b * sp.log(half + half * a / b), "invert")
    with pytest.raises(CheckFailed, match="ends at .* Hint: 2a/"):
        check_js_jeffreys_term(chain)


def test_js_jeffreys_term_rejects_the_wrong_start():
    chain = Derivation(a * sp.log(a / b) + b * sp.log(b / a)).equals(
        (a - b) * sp.log(a / b), "collect")
    with pytest.raises(CheckFailed, match="starts at"):
        check_js_jeffreys_term(chain)


def test_js_jeffreys_term_stub():
    with pytest.raises(CheckFailed, match="not written yet"):
        check_js_jeffreys_term(...)


# --- JS of the coins in bits -------------------------------------------------------------


def js_mp(p, q, base):
    p, q = [mpmath.mpf(x) for x in p], [mpmath.mpf(x) for x in q]
    m = [(x + y) / 2 for x, y in zip(p, q)]
    terms = [x * mpmath.log(x / z, base) for x, z in zip(p, m) if x > 0]
    terms += [y * mpmath.log(y / z, base) for y, z in zip(q, m) if y > 0]
    return float(mpmath.fsum(terms) / 2)


COINS = (["0.5", "0.5"], ["0.1", "0.9"])


def test_coin_js_bits_passes_the_value(capsys):
    check_coin_js_bits(js_mp(*COINS, 2))
    assert "in bits" in capsys.readouterr().out


def test_coin_js_bits_passes_an_exact_sympy_value():
    p, q = [half, half], [sp.Rational(1, 10), sp.Rational(9, 10)]
    m = [(x + y) / 2 for x, y in zip(p, q)]
    exact = sum(x * sp.log(x / z, 2) + y * sp.log(y / z, 2) for x, y, z in zip(p, q, m)) / 2
    check_coin_js_bits(exact)


def test_coin_js_bits_names_nats():
    with pytest.raises(CheckFailed, match="right answer in nats"):
        check_coin_js_bits(js_mp(*COINS, math.e))


@pytest.mark.parametrize("answer", [..., None, "0.1468"])
def test_coin_js_bits_rejects_non_answers(answer):
    with pytest.raises(CheckFailed):
        check_coin_js_bits(answer)


# --- a pair at one bit -------------------------------------------------------------------


def test_one_bit_pair_passes_disjoint_supports(capsys):
    check_one_bit_pair(([0.25, 0.75, 0], [0, 0, 1]), math.inf)
    assert capsys.readouterr().out == "JS(P, Q) is one bit, and J(P, Q) is infinite.\n"


def test_one_bit_pair_names_the_shared_outcome():
    with pytest.raises(CheckFailed, match="outcome 1"):
        check_one_bit_pair(([0.5, 0.5, 0], [0, 0.5, 0.5]), math.inf)


def test_one_bit_pair_names_a_finite_jeffreys_divergence():
    with pytest.raises(CheckFailed, match="infinite here"):
        check_one_bit_pair(([1, 0, 0], [0, 0.5, 0.5]), 0.0)


@pytest.mark.parametrize("pair", [([1, 0], [0, 1]), ([0.5, 0.6, 0], [0, 0, 1]),
                                  ([1, 0, 0],), None])
def test_one_bit_pair_rejects_what_is_not_two_distributions_on_three_outcomes(pair):
    with pytest.raises(CheckFailed):
        check_one_bit_pair(pair, math.inf)


# --- the reverse-KL minima ---------------------------------------------------------------

WEIGHTS, MEANS = (0.6, 0.4), (-3.0, 3.0)


# A trapezoid rule on [-25, 25], step 0.0025: exponentially accurate for these smooth,
# rapidly decaying integrands, negligible beyond (the widest Q below has s < 3), and
# independent of klbook's Gauss-Hermite rule.
GRID = np.linspace(-25.0, 25.0, 20_001)


def log_mixture(x):
    return np.logaddexp(*(np.log(w) + stats.norm.logpdf(x, mu, 1.0)
                          for w, mu in zip(WEIGHTS, MEANS)))


def divergence_by_trapezoid(mean, scale, reverse=True):
    """D(Q || P) (or D(P || Q)) for Q = N(mean, scale^2)."""
    log_q, log_p = stats.norm.logpdf(GRID, mean, scale), log_mixture(GRID)
    if reverse:
        return float(integrate.trapezoid(np.exp(log_q) * (log_q - log_p), GRID))
    return float(integrate.trapezoid(np.exp(log_p) * (log_p - log_q), GRID))


@pytest.fixture(scope="module")
def minima_by_quad():
    found = []
    for start in [(-3.0, 0.0), (3.0, 0.0), (0.0, 1.0)]:     # (mean, log scale)
        fit = optimize.minimize(lambda th: divergence_by_trapezoid(th[0], np.exp(th[1])), start,
                                method="Nelder-Mead",
                                options={"xatol": 1e-8, "fatol": 1e-14, "maxiter": 3000})
        found.append((float(fit.x[0]), float(np.exp(fit.x[1])), float(fit.fun)))
    return found


def test_reverse_minima_pass(minima_by_quad, capsys):
    check_reverse_kl_minima(minima_by_quad[::-1])
    assert capsys.readouterr().out == "The 3 local minima of D(Q || P) are right.\n"


def test_reverse_minima_name_the_missing_broad_minimum(minima_by_quad):
    with pytest.raises(CheckFailed, match="Missing: the broad one between the modes"):
        check_reverse_kl_minima([minima_by_quad[0], minima_by_quad[1]])


def test_reverse_minima_name_the_forward_divergence(minima_by_quad):
    wrong = [(m, s, divergence_by_trapezoid(m, s, reverse=False)) for m, s, _ in minima_by_quad]
    with pytest.raises(CheckFailed, match="forward divergence D\\(P \\|\\| Q\\)"):
        check_reverse_kl_minima(wrong)


def test_reverse_minima_name_bits(minima_by_quad):
    wrong = [(m, s, d / math.log(2)) for m, s, d in minima_by_quad]
    with pytest.raises(CheckFailed, match="right answer in bits"):
        check_reverse_kl_minima(wrong)


def test_reverse_minima_name_a_point_that_is_no_minimum(minima_by_quad):
    wrong = [(m + 0.05, s, d) for m, s, d in minima_by_quad]
    with pytest.raises(CheckFailed, match="is not a local minimum"):
        check_reverse_kl_minima(wrong)


def test_reverse_minima_name_duplicates(minima_by_quad):
    with pytest.raises(CheckFailed, match="merge"):
        check_reverse_kl_minima(minima_by_quad + minima_by_quad[:1])


@pytest.mark.parametrize("answer", [..., None, [(1.0, 2.0)], [object()]])
def test_reverse_minima_reject_non_answers(answer):
    with pytest.raises(CheckFailed):
        check_reverse_kl_minima(answer)
