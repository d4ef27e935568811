"""Assignment 3: asymmetry (chapter 3).

A checked proof of the Jensen–Shannon/Jeffreys bound for one outcome
(``js_jeffreys_term``), the Jensen–Shannon divergence in bits, and the local
minima of a reverse-KL fit. Statements, solutions and stubs come from the
chapter; the tests are here, with values derived from SymPy, mpmath and a
quadrature independent of klbook's.
"""

CHAPTER = "chapters/03_asymmetry.ipynb"
NAME = "kl03_asymmetry"
TITLE = "Assignment 3: asymmetry"
# The two coins (and the exact divergences their cell checks against), and the
# positive symbols a, b of the one-outcome lemma.
SETUP_NAMES = ["D_PQ", "D_QP", "P_coin", "Q_coin", "a", "b"]


# --- ex-asym-js-jeffreys: JS <= J/4, one outcome at a time --------------------------------


def test_js_jeffreys_public_check(js_jeffreys_term):
    from klbook.exercises.asymmetry import check_js_jeffreys_term

    check_js_jeffreys_term(js_jeffreys_term)


def test_js_jeffreys_chain_starts_at_the_outcome_term(js_jeffreys_term):
    import sympy as sp
    from klbook.derivation import Derivation

    a, b = sp.symbols("a b", positive=True)
    assert isinstance(js_jeffreys_term, Derivation), "a Derivation chain is expected"
    start = a * sp.log(2 * a / (a + b)) + b * sp.log(2 * b / (a + b))
    assert sp.simplify(sp.expand_log(js_jeffreys_term.start - start, force=True)) == 0


def test_js_jeffreys_chain_ends_at_half_the_jeffreys_term(js_jeffreys_term):
    import sympy as sp

    a, b = sp.symbols("a b", positive=True)
    assert js_jeffreys_term.relation == "<=", "the chain should prove an upper bound"
    gap = js_jeffreys_term.result - (a - b) * sp.log(a / b) / 2
    assert sp.simplify(sp.expand_log(gap, force=True)) == 0, (
        "the chain should end at (a - b) log(a/b) / 2")


def test_js_jeffreys_chain_cites_a_lemma(js_jeffreys_term):
    assert len(js_jeffreys_term) >= 2
    assert any(step.lemma is not None for step in js_jeffreys_term.steps), (
        "the inequality needs a lemma (the concavity of the logarithm)")


# --- ex-asym-bits: JS in bits, a pair at one bit ----------------------------------------


def test_bits_public_check(coin_js_bits, one_bit_pair, one_bit_jeffreys):
    from klbook.exercises.asymmetry import check_coin_js_bits, check_one_bit_pair

    check_coin_js_bits(coin_js_bits)
    check_one_bit_pair(one_bit_pair, one_bit_jeffreys)


def test_coin_js_bits_at_50_digits(coin_js_bits):
    import mpmath

    with mpmath.workdps(50):
        p, q = [mpmath.mpf(1) / 2] * 2, [mpmath.mpf(1) / 10, mpmath.mpf(9) / 10]
        m = [(x + y) / 2 for x, y in zip(p, q)]
        js = mpmath.fsum(x * mpmath.log(x / z, 2) + y * mpmath.log(y / z, 2)
                         for x, y, z in zip(p, q, m)) / 2
    assert abs(float(coin_js_bits) - float(js)) <= 1e-13, "JS of the coins, in bits"


def test_one_bit_pair_has_disjoint_supports(one_bit_pair):
    from fractions import Fraction

    P, Q = ([Fraction(str(float(x))) for x in dist] for dist in one_bit_pair)
    assert len(P) == len(Q) == 3, "two distributions on three outcomes"
    assert sum(P) == 1 and sum(Q) == 1 and min(P + Q) >= 0
    # JS = log 2 exactly when no outcome has positive probability under both.
    assert all(x == 0 or y == 0 for x, y in zip(P, Q))


def test_one_bit_jeffreys_is_infinite(one_bit_jeffreys):
    import math

    assert float(one_bit_jeffreys) == math.inf


# --- ex-asym-three-minima: the local minima of D(Q || P) ---------------------------------


def test_minima_public_check(reverse_minima):
    from klbook.exercises.asymmetry import check_reverse_kl_minima

    check_reverse_kl_minima(reverse_minima)


def test_minima_divergences_by_quadrature(reverse_minima):
    import numpy as np
    from scipy import integrate, stats

    # D(N(m, s^2) || 0.6 N(-3, 1) + 0.4 N(3, 1)) by a fine trapezoid rule, independent of
    # klbook's Gauss-Hermite quadrature.
    x = np.linspace(-25.0, 25.0, 20_001)
    log_p = np.logaddexp(np.log(0.6) + stats.norm.logpdf(x, -3.0, 1.0),
                         np.log(0.4) + stats.norm.logpdf(x, 3.0, 1.0))
    triples = [(m.mean, m.scale, m.divergence) if hasattr(m, "divergence") else tuple(m)
               for m in reverse_minima]
    triples = [tuple(float(v) for v in t) for t in triples]
    assert triples, "no minimum reported"
    for mean, scale, divergence in triples:
        log_q = stats.norm.logpdf(x, mean, scale)
        expected = float(integrate.trapezoid(np.exp(log_q) * (log_q - log_p), x))
        assert abs(divergence - expected) <= 1e-6, (mean, scale, divergence, expected)


def test_there_are_three_minima(reverse_minima):
    triples = [(m.mean, m.scale, m.divergence) if hasattr(m, "divergence") else tuple(m)
               for m in reverse_minima]
    triples = [tuple(float(v) for v in t) for t in triples]
    assert len(triples) == 3, f"{len(triples)} minima reported"


def test_the_broad_minimum_lies_between_the_modes(reverse_minima):
    triples = [(m.mean, m.scale, m.divergence) if hasattr(m, "divergence") else tuple(m)
               for m in reverse_minima]
    triples = [tuple(float(v) for v in t) for t in triples]
    broad = [t for t in triples if abs(t[0]) < 1 and t[1] > 2]
    assert len(broad) == 1, "one broad minimum between the modes"
    others = [t[2] for t in triples if t not in broad]
    assert len(others) == 2 and min(others) < broad[0][2] < max(others)


def test_the_mode_minima_cost_minus_log_weight(reverse_minima):
    import math

    triples = [(m.mean, m.scale, m.divergence) if hasattr(m, "divergence") else tuple(m)
               for m in reverse_minima]
    triples = [tuple(float(v) for v in t) for t in triples]
    for centre, weight in [(-3.0, 0.6), (3.0, 0.4)]:
        near = [t for t in triples if abs(t[0] - centre) < 0.1 and abs(t[1] - 1) < 0.1]
        assert len(near) == 1, f"one minimum on the mode at {centre}"
        # Q close to one component: D(Q || P) is about -log of its weight (within 0.01).
        assert abs(near[0][2] + math.log(weight)) < 0.01


QUESTIONS = {
    "ex-asym-js-jeffreys": {
        "name": "js_jeffreys_term",
        "public": [(1, test_js_jeffreys_public_check)],
        "hidden": [
            (1, test_js_jeffreys_chain_starts_at_the_outcome_term),
            (2, test_js_jeffreys_chain_ends_at_half_the_jeffreys_term),
            (1, test_js_jeffreys_chain_cites_a_lemma),
        ],
    },
    "ex-asym-bits": {
        "name": "js_bits",
        "public": [(1, test_bits_public_check)],
        "hidden": [
            (2, test_coin_js_bits_at_50_digits),
            (1, test_one_bit_pair_has_disjoint_supports),
            (1, test_one_bit_jeffreys_is_infinite),
        ],
    },
    "ex-asym-three-minima": {
        "name": "reverse_minima",
        "public": [(1, test_minima_public_check)],
        "hidden": [
            (1, test_minima_divergences_by_quadrature),
            (1, test_there_are_three_minima),
            (1, test_the_broad_minimum_lies_between_the_modes),
            (1, test_the_mode_minima_cost_minus_log_weight),
        ],
    },
}


# --- Typical mistakes, and the partial credit they earn (tests/test_grading.py) -------------
# A student who stops the chain after the first use of the concavity (the b term "likewise"),
# who forgets base=2 and gives the Jensen-Shannon divergence of the coins in nats, and who
# finds the three reverse-KL minima but reports the forward divergence D(P || Q) at each.
MISTAKES = {
    "ex-asym-js-jeffreys": (
        "one_half = sp.Rational(1, 2)\n"
        "js_jeffreys_term = (\n"
        "    Derivation(a * sp.log(2 * a / (a + b)) + b * sp.log(2 * b / (a + b)))\n"
        "    .equals(-a * sp.log(one_half + one_half * b / a)"
        " - b * sp.log(one_half + one_half * a / b),\n"
        "            \"2a/(a+b) = 1/(1/2 + b/(2a))\")\n"
        "    .less_equal(-a * sp.log(b / a) / 2 - b * sp.log(one_half + one_half * a / b),\n"
        "                \"log is concave: values 1 and b/a\", lemma=JENSEN_LOG,\n"
        "                weights=[one_half, one_half], values=[1, b / a])\n"
        ")\n"
    ),
    "ex-asym-bits": (
        "coin_js_bits = klbook.js_divergence(P_coin, Q_coin)\n"
        "one_bit_pair = ([1, 0, 0], [0, 0.5, 0.5])\n"
        "one_bit_jeffreys = klbook.jeffreys_divergence(*one_bit_pair)\n"
    ),
    "ex-asym-three-minima": (
        "equal_widths = GaussianMixture(weights=[0.6, 0.4], means=[-3.0, 3.0],"
        " scales=[1.0, 1.0])\n"
        "grid_starts = [(mean, scale) for mean in np.linspace(-6, 6, 13)"
        " for scale in (0.3, 1.0, 3.0)]\n"
        "reverse_minima = [(fit.mean, fit.scale, forward_kl(equal_widths, fit.mean, fit.scale))\n"
        "                  for fit in fit_reverse_kl(equal_widths, grid_starts)]\n"
    ),
}
MISTAKE_SCORES = {
    # Stops short, at -a log(b/a)/2 - b log(1/2 + a/(2b)): it starts at the outcome term (1)
    # and has two steps, one citing JENSEN_LOG (1). The public check and the end test (2)
    # fail: the result differs from (a - b) log(a/b) / 2 by -b log((a + b) / (2 sqrt(ab))),
    # zero only at a = b.
    "js_jeffreys_term": 2,
    # In nats: the pair is disjoint (1) and its Jeffreys divergence infinite (1); the public
    # check (its first line, the coins in bits) and the 50-digit value (2) fail by the factor
    # 1/ln 2.
    "js_bits": 2,
    # The minima are found, so there are three (1); every divergence is D(P || Q), which the
    # public check names and the quadrature of D(Q || P) rejects. It fails the rest: the broad
    # fit, close to the moment-matched Gaussian, has the smallest forward divergence (about
    # 0.5 nats against about 6 and 9 on the modes), not one between the others, and the fits
    # on the modes are far from -log 0.6 and -log 0.4.
    "reverse_minima": 1,
}
