r"""Soundness of klbook.derivation: a referee's attempts to make the checker accept a false statement.

The chains in the book are evidence only if the checker cannot be talked into a false
statement. This file is the adversarial half of its tests (``test_derivation.py`` is the
friendly half). It proves four things:

1. **Every false statement below is refused** (:func:`test_false_statement_is_refused`),
   with :class:`StepError`, or :class:`TypeError` where the specification says so (a bare
   relation in ``given``, a direct ``Lemma(...)``), at the step that is wrong, and with a
   message that says why (a loose fragment: 'converge', 'non-zero', 'hypothes', ...).
   The cases are grouped by the hole they probe; each id starts with its class:

   ``capture``      a fact about a free index (``1 - w[i] >= 0``) used inside a sum or an
                    integral over that same variable, in ``=`` steps, side conditions
                    (NONNEGATIVE, ln t <= t - 1, Jensen's weights, a user lemma) and
                    monotone contexts; free symbols named like the checker's bound variables;
   ``multi``        multi-limit sums and integrals whose inner limit names the outer variable;
   ``nonsmooth``    Jensen with a convex Piecewise/Abs/Max (or concave Min) function used the
                    wrong way, "monotone" contexts with a jump (floor, Heaviside, sign,
                    Piecewise) or with a pole between the lemma's two ends;
   ``empty``        ranges that may be empty (``Sum(..., (i, 1, m))``, ``m >= 0``;
                    an integral over ``[r, r + h]``, ``h >= 0``) treated as positive, and a
                    range that may be reversed (SymPy's sum from 1 to -2 is negative);
   ``integration``  SymPy's integrator or summation trusted without a check (SymPy itself
                    says the integral of ``|sin x cos x|`` over ``[0, 2 pi]`` is 1; it is 2),
                    divergent integrals and series given a value, SymPy's conditional
                    answers used outside their condition (a geometric series with ratio
                    c > 0), ``doit`` inside ``.equals``;
   ``numeric``      signs of constants near zero: Floats, Ramanujan's constant, near ties of
                    square roots and pi, exact zeros SymPy cannot recognise;
   ``lemma``        user lemmas: ``Lemma(...)`` directly, subclasses, ``Lemma.from_chain``
                    instances that break the chain's hypotheses or its symbols' assumptions
                    (positivity, primality), or that point the wrong way;
   ``divergent``    linearity over an infinite range splitting a convergent sum or integral
                    into divergent pieces (log 2 = sum 1/(2k-1) - sum 1/(2k), ...);
   ``given``        bare relations, hypotheses refuted by the assumptions or by each other,
                    circular conclusions, definitions that are not fresh, cited chains whose
                    hypotheses the new chain does not carry, ``evaluated`` with a wrong value;
   ``removable``    cancelling a denominator that may vanish: ``(x^2 - 1)/(x - 1) = x + 1``;
   ``slip``         the classic mistakes: a sign, a factor 2, the log base, p and q swapped,
                    an inequality or Jensen the wrong way, a forgotten normalisation.

   A few refusals are of *true* statements that the specification nevertheless rejects
   because the justification is not checked (ids ending in ``-policy``: an ``.equals`` that
   needs ``doit``, a Float, a conclusion that is one of the hypotheses).
2. **The false statements are false** (:func:`test_false_claim_has_a_counterexample`): for
   every case whose claim is an ordinary relation, a numerical counterexample (computed
   here with mpmath through ``sympy.N``, independently of the checker) shows the claim
   fails, so a refusal is never the refusal of a true statement by mistake.
3. **True statements pass** (:func:`test_true_statement_is_accepted`): the book's chains in
   miniature (Gibbs by ln t <= t - 1 and by Jensen, log-sum, cross-entropy, chi-square,
   Bernoulli score, Pinsker's slope, Poisson, normal and exponential moments through
   ``evaluated`` and ``.evaluate``, chains cited as givens, ``Lemma.from_chain`` used term
   by term, ...) and the true counterparts of the traps above (the multi-limit sums
   evaluated correctly, the removable singularity with its hypothesis, ...).
4. **Tampering and forgery do not pass** ``verify()``: a chain changed after it was built
   (``object.__setattr__`` on the chain or on a step), cited as a given or turned into a
   lemma, and copies of genuine facts and lemmas with new contents
   (``dataclasses.replace``) are refused when built or when verified; chains are
   immutable (:func:`test_chains_are_immutable`).
"""

from __future__ import annotations

import copy
import dataclasses
import functools

import mpmath
import pytest
import sympy as sp

from klbook.derivation import (
    GIBBS,
    JENSEN,
    JENSEN_LOG,
    LOG_LE_X_MINUS_1,
    LOG_SUM,
    NONNEGATIVE,
    Derivation,
    Lemma,
    Step,
    StepError,
    assume,
    define,
    evaluated,
)

# ------------------------------------------------------------------------------ symbols

i, j = sp.symbols("i j", integer=True)
k = sp.Symbol("k", integer=True, positive=True)
n = sp.Symbol("n", integer=True, positive=True)
m = sp.Symbol("m", integer=True, nonnegative=True)          # m = 0 is allowed: empty ranges
p, q = sp.IndexedBase("p", positive=True), sp.IndexedBase("q", positive=True)
y = sp.IndexedBase("y", positive=True)
w = sp.IndexedBase("w", real=True)                          # weights of unknown sign
xr = sp.IndexedBase("x", real=True)                         # real data
a2 = sp.IndexedBase("a", real=True)                         # a doubly indexed array
t, u, v, c = sp.symbols("t u v c", positive=True)
r, s = sp.symbols("r s", real=True)
z, zeta = sp.symbols("z zeta", real=True)                   # integration variables
h = sp.Symbol("h", nonnegative=True)
lam, sigma = sp.symbols("lambda sigma", positive=True)
mu1, mu2 = sp.symbols("mu1 mu2", real=True)
HALF = sp.Rational(1, 2)
LINE = (z, -sp.oo, sp.oo)
PHI = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)                # the standard normal density


def total(term, index=i, upper=n):
    return sp.Sum(term, (index, 1, upper))


D = total(p[i] * sp.log(p[i] / q[i]))                       # D(P || Q)
MINUS_D = total(p[i] * sp.log(q[i] / p[i]))
ENTROPY = -total(p[i] * sp.log(p[i]))


def normalised():
    return [assume(sp.Eq(total(p[i]), 1)), assume(sp.Eq(total(q[i]), 1))]


def witness_pq():
    # a two-point P and Q: D(P || Q) = 0.1438..., D(Q || P) = 0.1308...
    return {n: 2, p[1]: HALF, p[2]: HALF, q[1]: sp.Rational(1, 4), q[2]: sp.Rational(3, 4)}


# ------------------------------------------------------------------------------ fragments
# Loose: one of them must occur (case-insensitively) in the error's message.

WHY_CAPTURE = ("equal", "provabl", "index", "bound", "captur", "hypothes", "does not apply",
               "monoton")
WHY_MULTI = ("equal", "limit", "bound", "differ")
WHY_NONSMOOTH_F = ("piecewise", "smooth", "differentiab", "abs", "max", "min", "convex", "concave")
WHY_JUMP = ("piecewise", "smooth", "differentiab", "floor", "heaviside", "sign", "jump",
            "continu", "monoton")
WHY_POLE = ("singular", "pole", "non-zero", "nonzero", "denominator", "continu", "monoton")
WHY_EMPTY = ("empty", "non-zero", "nonzero", "positive", "> 0", "provabl")
WHY_INTEGRATION = ("numer", "evaluat", "integr", "disagree", "mpmath", "check", "doit", "equal",
                   "converg", "diverg")
WHY_NUMERIC = ("sign", "interval", "provabl", "positive", "negative", "> 0", ">= 0", "zero",
               "direction")
WHY_FLOAT = ("float",)
WHY_LEMMA = ("lemma", "from_chain", "registry", "hypothes", "assum", "provabl")
WHY_DIVERGENT = ("converg", "diverg", "infinite", "linearity")
WHY_BARE = ("assume", "define", "hypothes", "evaluated")
WHY_CONTRADICTION = ("contradict", "refut", "inconsistent", "hypothes", "false")
WHY_CIRCULAR = ("circular", "hypothes")
WHY_DEFINE = ("fresh", "defin", "assum", "occur", "twice", "already")
WHY_REMOVABLE = ("non-zero", "nonzero", "zero", "denominator", "!= 0", "≠", "singular")
WHY_SLIP = ("equal", "direction", "monoton", "does not apply", "lemma", "provabl", "convex",
            "concave", "sum to 1", "implied")


def case(name, build, why, *, steps=None, kinds=StepError, claim=None, at=None):
    """One false statement: `build()` must raise `kinds` at one of `steps` (None: any).

    `claim` is the false relation (lhs, "=" | "<=" | ">=", rhs) and `at` a counterexample.
    """
    return pytest.param(build, kinds, why, steps, claim, at, id=name)


# ------------------------------------------------------------------------------ user lemmas
# Small verified chains turned into lemmas, for the lemma cases and their true counterparts.

@functools.cache  # chains and lemmas are immutable: build each once
def square_le_chain():
    """u^2 <= u for 0 < u <= 1: hypothesis 1 - u >= 0, symbol assumption u > 0."""
    return (Derivation(u**2, given=[assume(1 - u >= 0)])
            .less_equal(u**2 + u * (1 - u), "add u(1 - u) >= 0", lemma=NONNEGATIVE, term=u * (1 - u))
            .equals(u, "multiply out"))


@functools.cache
def square_le_lemma():
    return Lemma.from_chain(square_le_chain(), name="u^2 <= u", label="lem-square-le",
                            parameters=(u,))


@functools.cache
def term_chain():
    """a ln(a/b) >= a - b for a, b > 0 (ln t <= t - 1 at t = b/a, times -a)."""
    a, b = sp.symbols("a b", positive=True)
    chain = (Derivation(a * sp.log(a / b))
             .equals(-a * sp.log(b / a), "log of a reciprocal")
             .greater_equal(-a * (b / a - 1), "ln t <= t - 1 at t = b/a", lemma=LOG_LE_X_MINUS_1,
                            t=b / a)
             .equals(a - b, "multiply out"))
    return chain, (a, b)


@functools.cache
def term_lemma():
    chain, parameters = term_chain()
    return Lemma.from_chain(chain, name="a ln(a/b) >= a - b", label="lem-term",
                            parameters=parameters)


@functools.cache
def sqrt_product_chain():
    """sqrt((1-u)(1-v)) = sqrt(1-u) sqrt(1-v) under the hypotheses 1 - u > 0, 1 - v > 0."""
    return Derivation(sp.sqrt((1 - u) * (1 - v)),
                      given=[assume(1 - u > 0), assume(1 - v > 0)]).equals(
        sp.sqrt(1 - u) * sp.sqrt(1 - v), "square root of a product of positive numbers")


# ------------------------------------------------------------------------------ false: capture

def _capture_pull_out():
    return Derivation(total((1 - w[i]) * y[i]), given=[assume(1 - w[i] >= 0)]).equals(
        (1 - w[i]) * total(y[i]), "pull the non-negative factor 1 - w_i out of the sum")


def _capture_nonnegative_term():
    return Derivation(total(w[i] * y[i]), given=[assume(w[i] >= 0)]).greater_equal(
        0, "every term is >= 0", lemma=NONNEGATIVE, term=w[i] * y[i])


def _capture_nonnegative_sum():
    return Derivation(total(w[i] * y[i]), given=[assume(w[i] >= 0)]).greater_equal(
        0, "a sum of non-negative terms", lemma=NONNEGATIVE, term=total(w[i] * y[i]))


def _capture_monotone_coefficient():
    return Derivation(total(w[i] * sp.log(t)), given=[assume(w[i] >= 0)]).less_equal(
        total(w[i] * (t - 1)), "ln t <= t - 1, times w_i >= 0", lemma=LOG_LE_X_MINUS_1, t=t)


def _capture_jensen_weights():
    return Derivation(total(w[i] * sp.log(y[i])),
                      given=[assume(w[i] >= 0), assume(sp.Eq(total(w[i]), 1))]).less_equal(
        sp.log(total(w[i] * y[i])), "Jensen", lemma=JENSEN_LOG, weights=w[i], values=y[i],
        index=(i, 1, n))


def _capture_log_of_product():
    return Derivation(total(sp.log(xr[i] * w[i])),
                      given=[assume(xr[i] > 0), assume(w[i] > 0)]).equals(
        total(sp.log(xr[i])) + total(sp.log(w[i])), "log of a product of positive numbers")


def _capture_log_le_side_condition():
    return Derivation(total(y[i] * sp.log(xr[i])), given=[assume(xr[i] > 0)]).less_equal(
        total(y[i] * (xr[i] - 1)), "ln t <= t - 1 at t = x_i", lemma=LOG_LE_X_MINUS_1, t=xr[i])


def _capture_integration_variable_whole():
    return Derivation(sp.Integral(z, (z, -2, 1)), given=[assume(z >= 0)]).greater_equal(
        0, "integral of a non-negative function", lemma=NONNEGATIVE,
        term=sp.Integral(z, (z, -2, 1)))


def _capture_integration_variable_term():
    return Derivation(sp.Integral(z, (z, -2, 1)), given=[assume(z >= 0)]).greater_equal(
        0, "the integrand is >= 0", lemma=NONNEGATIVE, term=z)


def _capture_lemma_from_chain():
    return Derivation(total(y[i]**2), given=[assume(1 - y[i] >= 0)]).less_equal(
        total(y[i]), "u^2 <= u term by term", lemma=square_le_lemma(), u=y[i])


W01 = {n: 2, i: 1, w[1]: 0, w[2]: -1, y[1]: 1, y[2]: 1}

CAPTURE = [
    case("capture-pull-factor-out-of-sum", _capture_pull_out, WHY_CAPTURE, steps=(0, 1),
         claim=(total((1 - w[i]) * y[i]), "=", (1 - w[i]) * total(y[i])),
         at={n: 2, i: 1, w[1]: 0, w[2]: 1, y[1]: 1, y[2]: 1}),
    case("capture-nonnegative-termwise", _capture_nonnegative_term, WHY_CAPTURE, steps=(0, 1),
         claim=(total(w[i] * y[i]), ">=", 0), at=W01),
    case("capture-nonnegative-whole-sum", _capture_nonnegative_sum, WHY_CAPTURE, steps=(0, 1),
         claim=(total(w[i] * y[i]), ">=", 0), at=W01),
    case("capture-monotone-coefficient", _capture_monotone_coefficient, WHY_CAPTURE,
         steps=(0, 1), claim=(total(w[i] * sp.log(t)), "<=", total(w[i] * (t - 1))),
         at={**W01, t: 2}),
    case("capture-jensen-weights", _capture_jensen_weights, WHY_CAPTURE, steps=(0, 1),
         claim=(total(w[i] * sp.log(y[i])), "<=", sp.log(total(w[i] * y[i]))),
         at={n: 2, i: 1, w[1]: 2, w[2]: -1, y[1]: 1, y[2]: sp.Rational(3, 2)}),
    case("capture-log-of-product", _capture_log_of_product, WHY_CAPTURE, steps=(0, 1),
         claim=(total(sp.log(xr[i] * w[i])), "=", total(sp.log(xr[i])) + total(sp.log(w[i]))),
         at={n: 2, i: 1, xr[1]: 1, w[1]: 1, xr[2]: -1, w[2]: -1}),
    case("capture-log-le-side-condition", _capture_log_le_side_condition, WHY_CAPTURE,
         steps=(0, 1), claim=(total(y[i] * sp.log(xr[i])), "<=", total(y[i] * (xr[i] - 1))),
         at={n: 2, i: 1, xr[1]: 1, xr[2]: -1, y[1]: 1, y[2]: 1}),
    case("capture-integration-variable-whole", _capture_integration_variable_whole, WHY_CAPTURE,
         steps=(0, 1), claim=(sp.Integral(z, (z, -2, 1)), ">=", 0), at={}),
    case("capture-integration-variable-termwise", _capture_integration_variable_term, WHY_CAPTURE,
         steps=(0, 1), claim=(sp.Integral(z, (z, -2, 1)), ">=", 0), at={}),
    case("capture-free-symbol-named-like-a-canonical-index",
         lambda: Derivation(total(i * p[i])).equals(
             sp.Symbol("_k0ip", integer=True) * total(p[i]), "pull the index out"),
         WHY_CAPTURE + ("name", "reserved"), steps=(1,),
         claim=(total(i * p[i]), "=", sp.Symbol("_k0ip", integer=True) * total(p[i])),
         at={n: 2, p[1]: 1, p[2]: 1, sp.Symbol("_k0ip", integer=True): 1}),
    case("capture-free-symbol-named-like-an-old-canonical-index",
         lambda: Derivation(total(i * p[i])).equals(
             sp.Symbol("_k0", integer=True) * total(p[i]), "pull the index out"),
         WHY_CAPTURE + ("name", "reserved"), steps=(1,),
         claim=(total(i * p[i]), "=", sp.Symbol("_k0", integer=True) * total(p[i])),
         at={n: 2, p[1]: 1, p[2]: 1, sp.Symbol("_k0", integer=True): 1}),
    case("capture-lemma-from-chain-termwise", _capture_lemma_from_chain, WHY_CAPTURE + WHY_LEMMA,
         steps=(0, 1), claim=(total(y[i]**2), "<=", total(y[i])),
         at={n: 2, i: 1, y[1]: HALF, y[2]: 2}),
]

# ------------------------------------------------------------------------------ false: multi-limit

TRIANGLE = sp.Sum(1, (j, 1, i), (i, 1, n))                  # n(n + 1)/2 terms
AREA = sp.Integral(1, (zeta, 0, z), (z, 0, 1))              # 1/2

MULTI = [
    case("multi-sum-count-equals-n-times-i",
         lambda: Derivation(TRIANGLE).equals(n * i, "count the terms"), WHY_MULTI, steps=(1,),
         claim=(TRIANGLE, "=", n * i), at={n: 2, i: 1}),
    case("multi-sum-count-evaluate-n-times-i",
         lambda: Derivation(TRIANGLE).evaluate(n * i, "count the terms"),
         WHY_MULTI + WHY_INTEGRATION, steps=(1,), claim=(TRIANGLE, "=", n * i), at={n: 2, i: 1}),
    case("multi-integral-equals-x",
         lambda: Derivation(AREA).equals(z, "area under the diagonal"), WHY_MULTI, steps=(1,),
         claim=(AREA, "=", z), at={z: 1}),
    case("multi-integral-evaluate-x",
         lambda: Derivation(AREA).evaluate(z, "area under the diagonal"),
         WHY_MULTI + WHY_INTEGRATION, steps=(1,), claim=(AREA, "=", z), at={z: 1}),
    case("multi-sum-summand-names-outer-index",
         lambda: Derivation(sp.Sum(j, (j, 1, i), (i, 1, n))).equals(
             sp.Sum(i, (j, 1, i), (i, 1, n)), "rename the bound variable"),
         WHY_MULTI, steps=(1,),
         claim=(sp.Sum(j, (j, 1, i), (i, 1, n)), "=", sp.Sum(i, (j, 1, i), (i, 1, n))), at={n: 2}),
    case("multi-integral-summand-names-outer-variable",
         lambda: Derivation(sp.Integral(zeta, (zeta, 0, z), (z, 0, 1))).equals(
             sp.Integral(z, (zeta, 0, z), (z, 0, 1)), "rename the bound variable"),
         WHY_MULTI, steps=(1,),
         claim=(sp.Integral(zeta, (zeta, 0, z), (z, 0, 1)), "=",
                sp.Integral(z, (zeta, 0, z), (z, 0, 1))), at={}),
    case("multi-sum-triangle-as-square",
         lambda: Derivation(sp.Sum(a2[i, j], (j, 1, i), (i, 1, n))).equals(
             sp.Sum(a2[i, j], (j, 1, n), (i, 1, n)), "exchange the order of summation"),
         WHY_MULTI, steps=(1,),
         claim=(sp.Sum(a2[i, j], (j, 1, i), (i, 1, n)), "=", sp.Sum(a2[i, j], (j, 1, n), (i, 1, n))),
         at={n: 2, a2[1, 1]: 1, a2[1, 2]: 1, a2[2, 1]: 1, a2[2, 2]: 1}),
]

# ------------------------------------------------------------------------------ false: non-smooth

_g = sp.Symbol("g", real=True)
PW_ABS = sp.Lambda(_g, sp.Piecewise((-_g, _g < 0), (_g, True)))     # |g|, convex
PW_HINGE = sp.Lambda(_g, sp.Piecewise((1 - _g, _g < 1), (_g - 1, True)))   # |g - 1|, convex
MAX0 = sp.Lambda(_g, sp.Max(_g, 0))                                 # convex
MIN0 = sp.Lambda(_g, sp.Min(_g, 0))                                 # concave
X_ABS_X = sp.Lambda(_g, _g * sp.Abs(_g))                            # C^1, neither
EQUAL_WEIGHTS = [HALF, HALF]


def _jensen_two_point(f, values, direction="<="):
    mean_of_f = (f(values[0]) + f(values[1])) / 2
    f_of_mean = f((values[0] + values[1]) / 2)
    chain = Derivation(mean_of_f)
    step = chain.less_equal if direction == "<=" else chain.greater_equal
    return step(f_of_mean, "Jensen", lemma=JENSEN, f=f, weights=EQUAL_WEIGHTS, values=values)


def _jensen_claim(f, values, direction="<="):
    return ((f(values[0]) + f(values[1])) / 2, direction, f((values[0] + values[1]) / 2))


def _context(C):
    """ln t <= t - 1 inside the context C, claimed to preserve the order."""
    return lambda: Derivation(C(sp.log(t))).less_equal(C(t - 1), "ln t <= t - 1 in a monotone context",
                                                       lemma=LOG_LE_X_MINUS_1, t=t)


def _shifted(C):
    """v >= 0 (NONNEGATIVE) inside the context C(u + .), claimed to preserve the order."""
    return lambda: Derivation(C(u)).less_equal(C(u + v), "v >= 0 in a monotone context",
                                               lemma=NONNEGATIVE, term=v)


C_FLOOR = lambda e: -sp.floor(e)                                     # noqa: E731
C_PIECEWISE = lambda e: sp.Piecewise((e, e < 1), (e - 5, True))      # noqa: E731
C_HEAVISIDE = lambda e: e - 3 * sp.Heaviside(e - 1)                  # noqa: E731
C_SIGN = lambda e: e - 3 * sp.sign(e - 1)                            # noqa: E731
C_TAN = sp.tan


NONSMOOTH = [
    case("nonsmooth-jensen-piecewise-abs-wrong-direction",
         lambda: _jensen_two_point(PW_ABS, [r, s]), WHY_NONSMOOTH_F, steps=(1,),
         claim=_jensen_claim(PW_ABS, [r, s]), at={r: -1, s: 1}),
    case("nonsmooth-jensen-abs-wrong-direction",
         lambda: _jensen_two_point(sp.Abs, [r, s]), WHY_NONSMOOTH_F, steps=(1,),
         claim=_jensen_claim(sp.Abs, [r, s]), at={r: -1, s: 1}),
    case("nonsmooth-jensen-max-wrong-direction",
         lambda: _jensen_two_point(MAX0, [r, s]), WHY_NONSMOOTH_F, steps=(1,),
         claim=_jensen_claim(MAX0, [r, s]), at={r: -1, s: 1}),
    case("nonsmooth-jensen-min-wrong-direction",
         lambda: _jensen_two_point(MIN0, [r, s], ">="), WHY_NONSMOOTH_F, steps=(1,),
         claim=_jensen_claim(MIN0, [r, s], ">="), at={r: -1, s: 1}),
    case("nonsmooth-jensen-piecewise-hinge-positive-values",
         lambda: _jensen_two_point(PW_HINGE, [u, v]), WHY_NONSMOOTH_F, steps=(1,),
         claim=_jensen_claim(PW_HINGE, [u, v]), at={u: HALF, v: sp.Rational(3, 2)}),
    case("nonsmooth-jensen-x-abs-x-claimed-convex",
         lambda: _jensen_two_point(X_ABS_X, [r, s], ">="), WHY_NONSMOOTH_F, steps=(1,),
         claim=_jensen_claim(X_ABS_X, [r, s], ">="), at={r: -2, s: 0}),
    case("nonsmooth-context-floor", _context(C_FLOOR), WHY_JUMP, steps=(1,),
         claim=(C_FLOOR(sp.log(t)), "<=", C_FLOOR(t - 1)), at={t: 2}),
    case("nonsmooth-context-piecewise-jump", _shifted(C_PIECEWISE), WHY_JUMP, steps=(1,),
         claim=(C_PIECEWISE(u), "<=", C_PIECEWISE(u + v)), at={u: HALF, v: 1}),
    case("nonsmooth-context-heaviside", _context(C_HEAVISIDE), WHY_JUMP, steps=(1,),
         claim=(C_HEAVISIDE(sp.log(t)), "<=", C_HEAVISIDE(t - 1)), at={t: sp.Rational(5, 2)}),
    case("nonsmooth-context-sign", _context(C_SIGN), WHY_JUMP, steps=(1,),
         claim=(C_SIGN(sp.log(t)), "<=", C_SIGN(t - 1)), at={t: sp.Rational(5, 2)}),
    case("nonsmooth-pole-tan-between-ends", _shifted(C_TAN), WHY_POLE, steps=(1,),
         claim=(C_TAN(u), "<=", C_TAN(u + v)), at={u: 1, v: 1}),
    case("nonsmooth-pole-reciprocal-ends-of-opposite-sign",
         lambda: Derivation(1 / r).greater_equal(1 / (r + v), "v >= 0 and 1/x is decreasing",
                                                 lemma=NONNEGATIVE, term=v),
         WHY_POLE + WHY_REMOVABLE, steps=(1,), claim=(1 / r, ">=", 1 / (r + v)), at={r: -1, v: 2}),
    case("nonsmooth-pole-shifted-reciprocal",
         lambda: Derivation(sp.Integer(1)).less_equal(-1 / (u - 1), "u >= 0 and -1/(x - 1) increases",
                                                      lemma=NONNEGATIVE, term=u),
         WHY_POLE + WHY_REMOVABLE, steps=(1,), claim=(sp.Integer(1), "<=", -1 / (u - 1)), at={u: 2}),
]

# ------------------------------------------------------------------------------ false: empty ranges

S_M = sp.Sum(p[i], (i, 1, m))
S_M_J = sp.Sum(p[j], (j, 1, m))
I_H = sp.Integral(sp.exp(-z**2), (z, r, r + h))

EMPTY = [
    case("empty-sum-as-log-le-argument",
         lambda: Derivation(sp.log(S_M)).less_equal(S_M - 1, "ln t <= t - 1 at t = sum p_i",
                                                    lemma=LOG_LE_X_MINUS_1, t=S_M),
         WHY_EMPTY, steps=(1,), claim=(sp.log(S_M), "<=", S_M - 1), at={m: 0}),
    case("empty-sum-normalised-jensen-weights",
         lambda: Derivation(sp.Sum(p[i] / S_M_J * sp.log(q[i]), (i, 1, m))).less_equal(
             sp.log(sp.Sum(p[i] / S_M_J * q[i], (i, 1, m))), "Jensen with weights p_i / sum p",
             lemma=JENSEN_LOG, weights=p[i] / S_M_J, values=q[i], index=(i, 1, m)),
         WHY_EMPTY + ("sum to 1",), steps=(1,),
         claim=(sp.Sum(p[i] / S_M_J * sp.log(q[i]), (i, 1, m)), "<=",
                sp.log(sp.Sum(p[i] / S_M_J * q[i], (i, 1, m)))), at={m: 0}),
    case("empty-sum-cancelled-denominator",
         lambda: Derivation(sp.Sum(c * p[i], (i, 1, m)) / S_M).equals(c, "pull c out and cancel"),
         WHY_EMPTY + WHY_REMOVABLE, steps=(1,),
         claim=(sp.Sum(c * p[i], (i, 1, m)) / S_M, "=", c), at={m: 0, c: 2}),
    case("empty-integral-as-log-le-argument",
         lambda: Derivation(sp.log(I_H)).less_equal(I_H - 1, "ln t <= t - 1 at the integral",
                                                    lemma=LOG_LE_X_MINUS_1, t=I_H),
         WHY_EMPTY, steps=(1,), claim=(sp.log(I_H), "<=", I_H - 1), at={h: 0, r: 0}),
    case("empty-or-reversed-range-claimed-nonnegative",
         lambda: Derivation(sp.Sum(p[i], (i, 1, j))).greater_equal(
             0, "a sum of positive terms", lemma=NONNEGATIVE, term=sp.Sum(p[i], (i, 1, j))),
         WHY_EMPTY + (">= 0",), steps=(1,), claim=(sp.Sum(p[i], (i, 1, j)), ">=", 0),
         at={j: -2, p[-1]: 1, p[0]: 1}),
    case("empty-range-log-sum",
         lambda: Derivation(sp.Sum(p[i] * sp.log(p[i] / q[i]), (i, 1, m))).greater_equal(
             S_M * sp.log(S_M / sp.Sum(q[i], (i, 1, m))), "log-sum inequality", lemma=LOG_SUM,
             a=p[i], b=q[i], index=(i, 1, m)),
         WHY_EMPTY, steps=(1,),
         claim=(sp.Sum(p[i] * sp.log(p[i] / q[i]), (i, 1, m)), ">=",
                S_M * sp.log(S_M / sp.Sum(q[i], (i, 1, m)))), at={m: 0}),
]

# ------------------------------------------------------------------------------ false: integration

ABS_SIN_COS = sp.Integral(sp.Abs(sp.sin(z) * sp.cos(z)), (z, 0, 2 * sp.pi))   # = 2; SymPy says 1
GAUSS = sp.Integral(sp.exp(-z**2), LINE)                                      # = sqrt(pi)
CAUCHY_PV = sp.Integral(z / (1 + z**2), LINE)                                 # diverges
BASEL = sp.Sum(1 / k**2, (k, 1, sp.oo))                                       # = pi^2/6
K0 = sp.Symbol("k0", integer=True, nonnegative=True)
GEOMETRIC = sp.Sum(c**K0, (K0, 0, sp.oo))                                     # 1/(1 - c) if c < 1
LAPLACE_R = sp.Integral(sp.exp(-r * z), (z, 0, sp.oo))                         # 1/r if r > 0

INTEGRATION = [
    case("integration-abs-sin-cos-equals-sympys-1",
         lambda: Derivation(ABS_SIN_COS).equals(1, "integrate"), WHY_INTEGRATION, steps=(1,),
         claim=(ABS_SIN_COS, "=", 1), at={}),
    case("integration-abs-sin-cos-evaluate-sympys-1",
         lambda: Derivation(ABS_SIN_COS).evaluate(1, "integrate"), WHY_INTEGRATION, steps=(1,),
         claim=(ABS_SIN_COS, "=", 1), at={}),
    case("integration-evaluate-wrong-gaussian",
         lambda: Derivation(GAUSS).evaluate(sp.pi, "Gaussian integral"), WHY_INTEGRATION,
         steps=(1,), claim=(GAUSS, "=", sp.pi), at={}),
    case("integration-evaluate-divergent-cauchy-principal-value",
         lambda: Derivation(CAUCHY_PV).evaluate(0, "odd integrand"), WHY_INTEGRATION, steps=(1,)),
    case("integration-evaluate-divergent-1-over-z",
         lambda: Derivation(sp.Integral(1 / z, (z, -1, 1))).evaluate(0, "odd integrand"),
         WHY_INTEGRATION + WHY_REMOVABLE, steps=(0, 1)),
    case("integration-evaluate-grandi-series",
         lambda: Derivation(sp.Sum((-1)**k, (k, 1, sp.oo))).evaluate(-HALF, "Abel sum"),
         WHY_INTEGRATION, steps=(1,)),
    case("integration-evaluated-wrong-gaussian",
         lambda: Derivation(2 * GAUSS, given=[evaluated(GAUSS, sp.pi)]).equals(
             2 * sp.pi, "Gaussian integral (given)"), WHY_INTEGRATION,
         claim=(GAUSS, "=", sp.pi), at={}),
    case("integration-evaluated-wrong-basel",
         lambda: Derivation(BASEL, given=[evaluated(BASEL, sp.pi**2 / 8)]).equals(
             sp.pi**2 / 8, "Basel (given)"), WHY_INTEGRATION,
         claim=(BASEL, "=", sp.pi**2 / 8), at={}),
    case("integration-evaluated-wrong-parametric-right-at-c-1",
         lambda: Derivation(c * sp.Integral(sp.exp(-c * z), (z, 0, sp.oo)),
                            given=[evaluated(sp.Integral(sp.exp(-c * z), (z, 0, sp.oo)), 1 / c**2)])
         .equals(1 / c, "Laplace transform of 1 (given)"), WHY_INTEGRATION,
         claim=(sp.Integral(sp.exp(-c * z), (z, 0, sp.oo)), "=", 1 / c**2), at={c: 2}),
    case("integration-evaluated-divergent",
         lambda: Derivation(CAUCHY_PV + 1, given=[evaluated(CAUCHY_PV, 0)]).equals(
             1, "odd integrand (given)"), WHY_INTEGRATION),
    case("integration-evaluated-geometric-series-outside-convergence",
         lambda: Derivation(c * GEOMETRIC, given=[evaluated(GEOMETRIC, 1 / (1 - c))]).equals(
             c / (1 - c), "geometric series (given)"), WHY_INTEGRATION + ("condition", "|")),
    case("integration-evaluate-geometric-series-outside-convergence",
         lambda: Derivation(GEOMETRIC).evaluate(1 / (1 - c), "geometric series"),
         WHY_INTEGRATION + ("condition", "|"), steps=(1,)),
    case("integration-evaluated-laplace-transform-of-real-rate",
         lambda: Derivation(r * LAPLACE_R, given=[evaluated(LAPLACE_R, 1 / r)]).equals(
             1, "Laplace transform (given)"), WHY_INTEGRATION + ("condition",)),
    case("integration-equals-needs-doit-gaussian-policy",
         lambda: Derivation(GAUSS).equals(sp.sqrt(sp.pi), "Gaussian integral"), WHY_INTEGRATION,
         steps=(1,)),
    case("integration-equals-needs-doit-basel-policy",
         lambda: Derivation(BASEL).equals(sp.pi**2 / 6, "Basel"), WHY_INTEGRATION, steps=(1,)),
]

# ------------------------------------------------------------------------------ false: numeric

RAMANUJAN = sp.exp(sp.pi * sp.sqrt(163)) - 640320**3 - 744          # -7.5e-13
FLOAT_LOG3 = sp.log(3) - sp.Float("1.0986122886681098")             # -9.1e-17
PI_NEAR_TIE = sp.pi - sp.sqrt(2) - sp.sqrt(3)                       # -4.7e-3
ROOT_GAP = sp.sqrt(1001) - sp.sqrt(999) - 1 / sp.sqrt(1000)         # +4.0e-9
HIDDEN_ZERO_LOG = sp.log(6) - sp.log(2) - sp.log(3)                 # exactly 0
HIDDEN_ZERO_ATAN = sp.atan(HALF) + sp.atan(sp.Rational(1, 3)) - sp.pi / 4   # exactly 0
DENESTED_ZERO = sp.sqrt(5 + 2 * sp.sqrt(6)) - sp.sqrt(2) - sp.sqrt(3)      # exactly 0


def _claimed_nonnegative(constant):
    return lambda: Derivation(sp.Integer(0)).less_equal(constant, "the constant is >= 0",
                                                        lemma=NONNEGATIVE, term=constant)


def _claimed_positive(constant):
    return lambda: Derivation(sp.log(constant)).less_equal(
        constant - 1, "ln t <= t - 1 at a positive constant", lemma=LOG_LE_X_MINUS_1, t=constant)


NUMERIC = [
    case("numeric-ramanujan-claimed-nonnegative", _claimed_nonnegative(RAMANUJAN), WHY_NUMERIC,
         steps=(1,), claim=(0, "<=", RAMANUJAN), at={}),
    case("numeric-ramanujan-claimed-upper-bound",
         lambda: Derivation(sp.Integer(640320**3 + 744)).less_equal(
             sp.exp(sp.pi * sp.sqrt(163)), "e^(pi sqrt 163) exceeds it", lemma=NONNEGATIVE,
             term=RAMANUJAN), WHY_NUMERIC, steps=(1,),
         claim=(sp.Integer(640320**3 + 744), "<=", sp.exp(sp.pi * sp.sqrt(163))), at={}),
    case("numeric-float-log3-claimed-nonnegative", _claimed_nonnegative(FLOAT_LOG3),
         WHY_FLOAT + WHY_NUMERIC, steps=(0, 1), claim=(0, "<=", FLOAT_LOG3), at={}),
    case("numeric-float-true-side-policy", _claimed_nonnegative(-FLOAT_LOG3), WHY_FLOAT,
         steps=(0, 1)),
    case("numeric-near-tie-pi-negative-coefficient",
         lambda: Derivation(PI_NEAR_TIE * sp.log(t)).less_equal(
             PI_NEAR_TIE * (t - 1), "ln t <= t - 1 times a constant", lemma=LOG_LE_X_MINUS_1, t=t),
         WHY_NUMERIC + ("monoton",), steps=(1,),
         claim=(PI_NEAR_TIE * sp.log(t), "<=", PI_NEAR_TIE * (t - 1)), at={t: 2}),
    case("numeric-near-tie-roots-claimed-positive", _claimed_positive(-ROOT_GAP), WHY_NUMERIC,
         steps=(0, 1), claim=(sp.log(-ROOT_GAP), "<=", -ROOT_GAP - 1), at={}),
    case("numeric-hidden-zero-log-claimed-positive", _claimed_positive(HIDDEN_ZERO_LOG),
         WHY_NUMERIC, steps=(0, 1)),
    case("numeric-hidden-zero-atan-claimed-positive", _claimed_positive(HIDDEN_ZERO_ATAN),
         WHY_NUMERIC, steps=(0, 1)),
    case("numeric-denested-zero-as-denominator",
         lambda: Derivation((DENESTED_ZERO * u + DENESTED_ZERO) / DENESTED_ZERO).equals(
             u + 1, "cancel the common factor"), WHY_NUMERIC + WHY_REMOVABLE, steps=(0, 1)),
]

# ------------------------------------------------------------------------------ false: user lemmas


def _direct_lemma():
    forged = Lemma(name="ln t <= t - 2", statement=r"\ln t \le t - 2", label=None,
                   parameters=("t",), instantiate=lambda facts, t: (sp.log(t), t - 2))
    return Derivation(sp.log(t)).less_equal(t - 2, "my lemma", lemma=forged, t=t)


def _subclassed_lemma():
    class Forged(type(LOG_LE_X_MINUS_1)):
        def instance(self, *args, **kwargs):
            return sp.log(t), t - 2

    forged = copy.copy(LOG_LE_X_MINUS_1)
    object.__setattr__(forged, "__class__", Forged)        # past a frozen dataclass's guard
    return Derivation(sp.log(t)).less_equal(t - 2, "my lemma", lemma=forged, t=t)


@functools.cache
def prime_lemma():
    prime = sp.Symbol("P", prime=True)
    chain = Derivation(sp.Integer(2)).less_equal(prime, "a prime is at least 2", lemma=NONNEGATIVE,
                                                 term=prime - 2)
    return Lemma.from_chain(chain, name="P >= 2 for a prime P", label="lem-prime", parameters=(prime,))


LEMMA = [
    case("lemma-direct-construction", _direct_lemma, WHY_LEMMA, kinds=TypeError,
         claim=(sp.log(t), "<=", t - 2), at={t: 1}),
    case("lemma-subclass-of-a-registered-lemma", _subclassed_lemma, WHY_LEMMA,
         kinds=(StepError, TypeError), claim=(sp.log(t), "<=", t - 2), at={t: 1}),
    case("lemma-from-chain-hypothesis-not-met",
         lambda: Derivation(t**2).less_equal(t, "u^2 <= u", lemma=square_le_lemma(), u=t),
         WHY_LEMMA, steps=(1,), claim=(t**2, "<=", t), at={t: 2}),
    case("lemma-from-chain-symbol-assumption-not-met",
         lambda: Derivation(t**2 / 4).less_equal(-t / 2, "u^2 <= u", lemma=square_le_lemma(),
                                                 u=-t / 2),
         WHY_LEMMA, steps=(1,), claim=(t**2 / 4, "<=", -t / 2), at={t: 1}),
    case("lemma-from-chain-prime-parameter-instance-not-prime",
         lambda: Derivation(sp.Integer(2)).less_equal(sp.Integer(1), "P >= 2", lemma=prime_lemma(),
                                                      P=sp.Integer(1)),
         WHY_LEMMA + ("prime",), steps=(1,), claim=(2, "<=", 1), at={}),
    case("lemma-from-chain-wrong-direction",
         lambda: Derivation(total(p[i] * sp.log(p[i] / q[i]))).less_equal(
             total(p[i] - q[i]), "a ln(a/b) >= a - b, termwise", lemma=term_lemma(), a=p[i], b=q[i]),
         WHY_LEMMA + WHY_SLIP, steps=(1,),
         claim=(D, "<=", total(p[i] - q[i])), at={**witness_pq(), q[1]: 1, q[2]: 1}),
]

# ------------------------------------------------------------------------------ false: divergent

ODD = 1 / (2 * k - 1)
EVEN = 1 / (2 * k)


def inf_sum(term):
    return sp.Sum(term, (k, 1, sp.oo))


def _split(whole, pieces, reason="linearity"):
    return lambda: Derivation(whole).equals(pieces, reason)


DIVERGENT = [
    case("divergent-log2-split-into-harmonic-halves",
         _split(inf_sum(ODD - EVEN), inf_sum(ODD) - inf_sum(EVEN)), WHY_DIVERGENT, steps=(1,)),
    case("divergent-log2-after-partial-fractions",
         lambda: (Derivation(inf_sum(1 / ((2 * k - 1) * (2 * k))))
                  .equals(inf_sum(ODD - EVEN), "partial fractions, term by term")
                  .equals(inf_sum(ODD) - inf_sum(EVEN), "linearity")),
         WHY_DIVERGENT, steps=(2,)),
    case("divergent-telescoping-split",
         _split(inf_sum(1 / k - 1 / (k + 1)), inf_sum(1 / k) - inf_sum(1 / (k + 1))),
         WHY_DIVERGENT, steps=(1,)),
    case("divergent-cancelling-polynomial-split",
         _split(inf_sum(k * (k + 1) - k**2 - k), inf_sum(k * (k + 1)) - inf_sum(k**2) - inf_sum(k)),
         WHY_DIVERGENT, steps=(1,)),
    case("divergent-grandi-split",
         _split(inf_sum((-1)**k + (-1)**(k + 1)), inf_sum((-1)**k) + inf_sum((-1)**(k + 1))),
         WHY_DIVERGENT, steps=(1,)),
    case("divergent-integral-x-minus-x-split",
         _split(sp.Integral(z - z * (1 - sp.exp(-z**2)), LINE),
                sp.Integral(z, LINE) - sp.Integral(z * (1 - sp.exp(-z**2)), LINE)),
         WHY_DIVERGENT, steps=(1,)),
    case("divergent-two-unknown-pieces-one-given",
         lambda: Derivation(inf_sum(2**-k + ODD - EVEN),
                            given=[evaluated(inf_sum(2**-k), 1)]).equals(
             1 + inf_sum(ODD) - inf_sum(EVEN), "linearity; the geometric series (given)"),
         WHY_DIVERGENT, steps=(1,)),
]

# ------------------------------------------------------------------------------ false: givens

_sd = sp.Symbol("s_d", positive=True)
_d = sp.Symbol("d_")
_a, _b = sp.symbols("a_ b_")


def _refuted(relation):
    return lambda: Derivation(t, given=[assume(relation)]).less_equal(
        0, "the hypothesis", lemma=NONNEGATIVE, term=-t)


GIVEN = [
    case("given-bare-equality",
         lambda: Derivation(sp.log(t), given=[sp.Eq(sp.log(t), t - 1)]).equals(t - 1, "given"),
         WHY_BARE, kinds=TypeError, claim=(sp.log(t), "=", t - 1), at={t: 2}),
    case("given-bare-strict-inequality",
         lambda: Derivation(t, given=[t - 1 > 0]).greater_equal(1, "given", lemma=NONNEGATIVE,
                                                               term=t - 1),
         WHY_BARE, kinds=TypeError, claim=(t, ">=", 1), at={t: HALF}),
    case("given-bare-inequality",
         lambda: Derivation(t, given=[t - 1 >= 0]), WHY_BARE, kinds=TypeError),
    case("given-refuted-by-symbol-assumption",
         _refuted(sp.StrictGreaterThan(-t, 0, evaluate=False)), WHY_CONTRADICTION, steps=(0,),
         claim=(t, "<=", 0), at={t: 1}),
    case("given-refuted-evaluates-to-false",
         lambda: Derivation(t, given=[assume(-t > 0)]).less_equal(
             0, "the hypothesis", lemma=NONNEGATIVE, term=-t),
         WHY_CONTRADICTION + WHY_BARE, kinds=(StepError, TypeError),
         claim=(t, "<=", 0), at={t: 1}),
    case("given-refuted-by-indexed-assumption",
         lambda: Derivation(total(p[i]), given=[assume(sp.LessThan(p[i] + q[i], 0, evaluate=False))]),
         WHY_CONTRADICTION, steps=(0,)),
    case("given-refuted-equation",
         lambda: Derivation(t, given=[assume(sp.Eq(t**2 + 1, 0, evaluate=False))]),
         WHY_CONTRADICTION, steps=(0,)),
    case("given-contradictory-pair-of-bounds",
         lambda: Derivation(r, given=[assume(r > 1), assume(r < 0)]), WHY_CONTRADICTION,
         steps=(0,)),
    case("given-contradictory-equations",
         lambda: Derivation(r, given=[assume(sp.Eq(r, 1)), assume(sp.Eq(r, 2))]),
         WHY_CONTRADICTION, steps=(0,)),
    case("given-contradictory-normalisations",
         lambda: Derivation(D, given=[assume(sp.Eq(total(p[i]), 1)), assume(sp.Eq(total(p[i]), 2))]),
         WHY_CONTRADICTION, steps=(0,)),
    case("given-circular-inequality-policy",
         lambda: Derivation(D, given=[assume(D >= 0)]).greater_equal(
             0, "D >= 0", lemma=NONNEGATIVE, term=D), WHY_CIRCULAR, steps=(1,)),
    case("given-circular-equality-policy",
         lambda: Derivation(r, given=[assume(sp.Eq(r, s))]).equals(s, "hypothesis"),
         WHY_CIRCULAR, steps=(1,)),
    case("given-circular-equivalent-form-policy",
         lambda: Derivation(D, given=[assume(-D <= 0)]).greater_equal(
             0, "D >= 0", lemma=NONNEGATIVE, term=D), WHY_CIRCULAR, steps=(1,)),
    case("given-circular-after-a-rewrite-policy",
         lambda: (Derivation(D, given=[assume(D >= 0)])
                  .equals(total(-p[i] * sp.log(q[i] / p[i])), "log of a reciprocal")
                  .greater_equal(0, "D >= 0", lemma=NONNEGATIVE,
                                 term=total(-p[i] * sp.log(q[i] / p[i])))),
         WHY_CIRCULAR + ("provabl",), steps=(2,)),
    case("given-define-not-fresh",
         lambda: Derivation(t, given=[define(t, t + 1)]).equals(t + 1, "definition"),
         WHY_DEFINE, claim=(t, "=", t + 1), at={t: 1}),
    case("given-define-positive-symbol-nonpositive-value",
         lambda: Derivation(sp.log(_sd), given=[define(_sd, r - 1)]).less_equal(
             _sd - 1, "ln t <= t - 1 at t = s_d > 0", lemma=LOG_LE_X_MINUS_1, t=_sd),
         WHY_DEFINE, claim=(sp.log(r - 1), "<=", r - 2), at={r: HALF}),
    case("given-define-twice",
         lambda: Derivation(_d, given=[define(_d, 1), define(_d, 2)]).equals(1, "first definition"),
         WHY_DEFINE),
    case("given-define-mutually-recursive",
         lambda: (Derivation(_a, given=[define(_a, _b + 1), define(_b, _a + 1)])
                  .equals(_b + 1, "definition of a").equals(_a + 2, "definition of b")),
         WHY_DEFINE + WHY_CONTRADICTION, claim=(_a, "=", _a + 2), at={_a: 0}),
    case("given-chain-whose-hypotheses-are-dropped",
         lambda: Derivation(sp.sqrt((1 - u) * (1 - v)) + 1, given=[sqrt_product_chain()]).equals(
             sp.sqrt(1 - u) * sp.sqrt(1 - v) + 1, "the cited chain"),
         WHY_LEMMA, steps=(0, 1),
         claim=(sp.sqrt((1 - u) * (1 - v)) + 1, "=", sp.sqrt(1 - u) * sp.sqrt(1 - v) + 1),
         at={u: 2, v: 3}),
    case("given-chain-conclusion-whose-hypotheses-are-dropped",
         lambda: Derivation(sp.sqrt((1 - u) * (1 - v)) + 1,
                            given=[sqrt_product_chain().conclusion]).equals(
             sp.sqrt(1 - u) * sp.sqrt(1 - v) + 1, "the cited chain"),
         WHY_LEMMA, steps=(0, 1),
         claim=(sp.sqrt((1 - u) * (1 - v)) + 1, "=", sp.sqrt(1 - u) * sp.sqrt(1 - v) + 1),
         at={u: 2, v: 3}),
]

# ------------------------------------------------------------------------------ false: removable


def _cancel(start, result, given=()):
    return lambda: Derivation(start, given=list(given)).equals(result, "cancel the common factor")


X_OVER_X = sp.Mul(r, sp.Pow(r, -1), evaluate=False)

REMOVABLE = [
    case("removable-x2-minus-1-over-x-minus-1-real",
         _cancel((r**2 - 1) / (r - 1), r + 1), WHY_REMOVABLE, steps=(0, 1),
         claim=((r**2 - 1) / (r - 1), "=", r + 1), at={r: 1}),
    case("removable-x2-minus-1-over-x-minus-1-positive",
         _cancel((t**2 - 1) / (t - 1), t + 1), WHY_REMOVABLE, steps=(0, 1),
         claim=((t**2 - 1) / (t - 1), "=", t + 1), at={t: 1}),
    case("removable-x-over-x", _cancel(X_OVER_X, 1), WHY_REMOVABLE, steps=(0, 1),
         claim=(X_OVER_X, "=", 1), at={r: 0}),
    case("removable-polynomial-over-x", _cancel((r**2 + r) / r, r + 1), WHY_REMOVABLE,
         steps=(0, 1), claim=((r**2 + r) / r, "=", r + 1), at={r: 0}),
    case("removable-cubic", _cancel((t**3 - 1) / (t - 1), t**2 + t + 1), WHY_REMOVABLE,
         steps=(0, 1), claim=((t**3 - 1) / (t - 1), "=", t**2 + t + 1), at={t: 1}),
    case("removable-singularity-introduced-on-the-right",
         lambda: Derivation(r + 1).equals((r**2 - 1) / (r - 1), "factor"), WHY_REMOVABLE,
         steps=(1,), claim=(r + 1, "=", (r**2 - 1) / (r - 1)), at={r: 1}),
    case("removable-inside-a-log",
         _cancel(sp.log((t**2 - 1) / (t - 1)), sp.log(t + 1)), WHY_REMOVABLE, steps=(0, 1),
         claim=(sp.log((t**2 - 1) / (t - 1)), "=", sp.log(t + 1)), at={t: 1}),
    case("removable-wrong-hypothesis",
         _cancel((r**2 - 1) / (r - 1), r + 1, given=[assume(r + 1 > 0)]), WHY_REMOVABLE,
         steps=(0, 1), claim=((r**2 - 1) / (r - 1), "=", r + 1), at={r: 1}),
    case("removable-pole-hidden-in-tan",
         _cancel(sp.tan(r) * sp.cos(r), sp.sin(r)), WHY_REMOVABLE + WHY_POLE, steps=(0, 1),
         claim=(sp.tan(r) * sp.cos(r), "=", sp.sin(r)), at={r: sp.pi / 2}),
]

# ------------------------------------------------------------------------------ false: classic slips

PQ = witness_pq()

SLIP = [
    case("slip-sign-cross-entropy",
         lambda: Derivation(-total(p[i] * sp.log(q[i]))).equals(ENTROPY - D, "add and subtract"),
         WHY_SLIP, steps=(1,), claim=(-total(p[i] * sp.log(q[i])), "=", ENTROPY - D), at=PQ),
    case("slip-factor-2-log-of-square",
         lambda: Derivation(sp.log(t**2)).equals(sp.log(t), "log of a power"), WHY_SLIP,
         steps=(1,), claim=(sp.log(t**2), "=", sp.log(t)), at={t: 2}),
    case("slip-factor-2-gaussian-kl",
         lambda: Derivation(((mu1 - mu2)**2 + sigma**2) / (2 * sigma**2) - HALF).equals(
             (mu1 - mu2)**2 / sigma**2, "equal variances"), WHY_SLIP, steps=(1,),
         claim=(((mu1 - mu2)**2 + sigma**2) / (2 * sigma**2) - HALF, "=", (mu1 - mu2)**2 / sigma**2),
         at={mu1: 1, mu2: 0, sigma: 1}),
    case("slip-log-base",
         lambda: Derivation(D).equals(total(p[i] * sp.log(p[i] / q[i], 2)), "nats are bits"),
         WHY_SLIP, steps=(1,), claim=(D, "=", total(p[i] * sp.log(p[i] / q[i], 2))), at=PQ),
    case("slip-swapped-p-q-divergence",
         lambda: Derivation(D).equals(total(q[i] * sp.log(q[i] / p[i])), "symmetry"),
         WHY_SLIP, steps=(1,), claim=(D, "=", total(q[i] * sp.log(q[i] / p[i]))), at=PQ),
    case("slip-swapped-p-q-decomposition",
         lambda: Derivation(-total(p[i] * sp.log(q[i]))).equals(
             ENTROPY + total(q[i] * sp.log(q[i] / p[i])), "add and subtract"),
         WHY_SLIP, steps=(1,),
         claim=(-total(p[i] * sp.log(q[i])), "=", ENTROPY + total(q[i] * sp.log(q[i] / p[i]))),
         at=PQ),
    case("slip-wrong-direction-log-le",
         lambda: Derivation(sp.log(t)).greater_equal(t - 1, "ln t <= t - 1", lemma=LOG_LE_X_MINUS_1,
                                                     t=t),
         WHY_SLIP, steps=(1,), claim=(sp.log(t), ">=", t - 1), at={t: 2}),
    case("slip-wrong-direction-gibbs",
         lambda: Derivation(D, given=normalised()).less_equal(
             0, "Gibbs", lemma=GIBBS, p=p[i], q=q[i], index=(i, 1, n)),
         WHY_SLIP, steps=(1,), claim=(D, "<=", 0), at=PQ),
    case("slip-jensen-log-wrong-direction",
         lambda: Derivation(MINUS_D, given=normalised()).greater_equal(
             sp.log(total(q[i])), "Jensen", lemma=JENSEN_LOG, weights=p[i], values=q[i] / p[i],
             index=(i, 1, n)),
         WHY_SLIP, steps=(1,), claim=(MINUS_D, ">=", sp.log(total(q[i]))), at=PQ),
    case("slip-jensen-exp-wrong-direction",
         lambda: _jensen_two_point(sp.exp, [u, v]), WHY_SLIP, steps=(1,),
         claim=_jensen_claim(sp.exp, [u, v]), at={u: 1, v: 2}),
    case("slip-jensen-unnormalised-weights",
         lambda: Derivation(sp.log(u) / 2 + sp.log(v) / 3).less_equal(
             sp.log(u / 2 + v / 3), "Jensen", lemma=JENSEN_LOG,
             weights=[HALF, sp.Rational(1, 3)], values=[u, v]),
         WHY_SLIP, steps=(1,), claim=(sp.log(u) / 2 + sp.log(v) / 3, "<=", sp.log(u / 2 + v / 3)),
         at={u: 1, v: 1}),
    case("slip-gibbs-without-normalisation",
         lambda: Derivation(D).greater_equal(0, "Gibbs", lemma=GIBBS, p=p[i], q=q[i],
                                             index=(i, 1, n)),
         WHY_SLIP, steps=(1,), claim=(D, ">=", 0), at={n: 2, p[1]: 1, p[2]: 1, q[1]: 2, q[2]: 2}),
    case("slip-log-of-sum",
         lambda: Derivation(sp.log(u + v)).equals(sp.log(u) + sp.log(v), "log is additive"),
         WHY_SLIP, steps=(1,), claim=(sp.log(u + v), "=", sp.log(u) + sp.log(v)), at={u: 1, v: 1}),
    case("slip-log-of-product-of-reals",
         lambda: Derivation(sp.log(r * s)).equals(sp.log(r) + sp.log(s), "log of a product"),
         WHY_SLIP + WHY_REMOVABLE, steps=(0, 1),
         claim=(sp.log(r * s), "=", sp.log(r) + sp.log(s)), at={r: -1, s: -1}),
    case("slip-sqrt-of-square",
         lambda: Derivation(sp.sqrt(r**2)).equals(r, "square root of a square"), WHY_SLIP,
         steps=(1,), claim=(sp.sqrt(r**2), "=", r), at={r: -1}),
    case("slip-sqrt-of-product-of-reals",
         lambda: Derivation(sp.sqrt(r * s)).equals(sp.sqrt(r) * sp.sqrt(s), "root of a product"),
         WHY_SLIP, steps=(1,), claim=(sp.sqrt(r * s), "=", sp.sqrt(r) * sp.sqrt(s)),
         at={r: -1, s: -1}),
    case("slip-nonnegative-real",
         lambda: Derivation(-r).less_equal(0, "r >= 0", lemma=NONNEGATIVE, term=r), WHY_SLIP,
         steps=(1,), claim=(-r, "<=", 0), at={r: -1}),
    case("slip-log-le-too-strong",
         lambda: Derivation(sp.log(t)).less_equal(t - 2, "ln t <= t - 1", lemma=LOG_LE_X_MINUS_1,
                                                  t=t),
         WHY_SLIP, steps=(1,), claim=(sp.log(t), "<=", t - 2), at={t: 1}),
]

FALSE_STATEMENTS = (CAPTURE + MULTI + NONSMOOTH + EMPTY + INTEGRATION + NUMERIC + LEMMA
                    + DIVERGENT + GIVEN + REMOVABLE + SLIP)


@pytest.mark.parametrize("build, kinds, why, steps, claim, at", FALSE_STATEMENTS)
def test_false_statement_is_refused(build, kinds, why, steps, claim, at):
    with pytest.raises(kinds) as info:
        build()
    error = info.value
    message = str(error).lower()
    assert any(fragment.lower() in message for fragment in why), (
        f"the message does not say why (expected one of {why}): {error}")
    if steps is not None and isinstance(error, StepError):
        assert error.step in steps, f"refused at step {error.step}, expected {steps}: {error}"


# ------------------------------------------------------------------------------ the claims are false

def _unroll(expr):
    """Finite sums written out term by term (outermost limit first), with SymPy's (Karr's)
    convention for a reversed range; other nodes rebuilt."""
    if isinstance(expr, sp.Sum):
        var, lower, upper = expr.limits[-1]
        if lower.is_Integer and upper.is_Integer:
            inner = sp.Sum(expr.function, *expr.limits[:-1]) if len(expr.limits) > 1 else expr.function
            sign, (lower, upper) = (1, (lower, upper)) if upper >= lower - 1 else (-1, (upper + 1, lower - 1))
            return sign * sp.Add(*(_unroll(inner.subs(var, value)) for value in range(lower, upper + 1)))
    if not expr.args:
        return expr
    return expr.func(*(_unroll(arg) for arg in expr.args))


def _value(expr, at):
    """`expr` at the point `at`, numerically (30 digits): finite sums written out, integrals
    and infinite series by mpmath's quadrature and summation (``sympy.N``), never by ``doit``."""
    expr = sp.sympify(expr)
    for _ in range(3):
        expr = _unroll(expr.subs(at))
    return sp.N(expr.replace(_finite_integral, _quadrature), 30)


def _finite_integral(expr):
    return (isinstance(expr, sp.Integral) and len(expr.limits) == 1 and not expr.free_symbols
            and all(end.is_finite for end in expr.limits[0][1:]))


def _quadrature(integral):
    # Eight panels, so that kinks at multiples of a quarter period are panel ends.
    var, lower, upper = integral.limits[0]
    with mpmath.workdps(30):
        f = sp.lambdify(var, integral.function, "mpmath")
        nodes = mpmath.linspace(mpmath.mpf(sp.N(lower, 40)), mpmath.mpf(sp.N(upper, 40)), 9)
        return sp.Float(mpmath.quad(f, nodes), 30)


def _holds(lhs, relation, rhs, at) -> bool:
    left, right = _value(lhs, at), _value(rhs, at)
    finite = all(value.is_finite for value in (left, right))
    if not finite or sp.nan in (left, right):
        return False                                  # undefined at the point: no identity there
    if relation == "=":
        return abs(complex(left - right)) < 1e-20
    if abs(sp.im(left)) > 1e-20 or abs(sp.im(right)) > 1e-20:
        return False                                  # not even real: no order
    left, right = sp.re(left), sp.re(right)
    return bool(left <= right + 1e-25) if relation == "<=" else bool(left + 1e-25 >= right)


WITNESSED = [param for param in FALSE_STATEMENTS if param.values[4] is not None]


@pytest.mark.parametrize("build, kinds, why, steps, claim, at", WITNESSED)
def test_false_claim_has_a_counterexample(build, kinds, why, steps, claim, at):
    lhs, relation, rhs = claim
    assert not _holds(lhs, relation, rhs, at), f"{lhs} {relation} {rhs} holds at {at}"


def test_the_suite_is_adversarial_enough():
    classes = {param.id.split("-")[0] for param in FALSE_STATEMENTS}
    assert len(FALSE_STATEMENTS) >= 50 and len(WITNESSED) >= 50
    assert classes == {"capture", "multi", "nonsmooth", "empty", "integration", "numeric", "lemma",
                       "divergent", "given", "removable", "slip"}


# ------------------------------------------------------------------------------ tampering


def _honest_chain():
    return Derivation(sp.log(t)).less_equal(t - 1, "ln t <= t - 1", lemma=LOG_LE_X_MINUS_1, t=t)


def _forged_step(step, expr):
    try:
        return dataclasses.replace(step, expr=expr)
    except TypeError:
        forged = copy.copy(step)
        object.__setattr__(forged, "expr", expr)
        return forged


def _step_attributes(chain):
    names = list(getattr(chain, "__dict__", {}))
    names += [name for cls in type(chain).__mro__ for name in getattr(cls, "__slots__", ())]
    return [name for name in names
            if isinstance(getattr(chain, name, None), (list, tuple))
            and getattr(chain, name) and all(isinstance(s, Step) for s in getattr(chain, name))]


def _append_step(chain):
    chain._steps.append(_forged_step(chain.steps[-1], t - 2))


def _set_start(chain):
    setattr(chain, "start", sp.log(t) + 1)


def _overwrite_start(chain):
    for name in ("start", "_start"):
        if hasattr(chain, name):
            object.__setattr__(chain, name, sp.log(t) + 1)


def _step_expr(chain):
    object.__setattr__(chain.steps[-1], "expr", t - 2)


def _replace_steps(chain):
    for name in _step_attributes(chain):
        steps = getattr(chain, name)
        object.__setattr__(chain, name, type(steps)([*steps[:-1], _forged_step(steps[-1], t - 2)]))


def _view(chain):
    return (chain.start, chain.relation, chain.result, tuple(step.expr for step in chain.steps))


TAMPERING = [pytest.param(_append_step, id="lemma-tamper-append-step"),
             pytest.param(_set_start, id="lemma-tamper-setattr-start"),
             pytest.param(_overwrite_start, id="lemma-tamper-object-setattr-start"),
             pytest.param(_step_expr, id="lemma-tamper-step-expr"),
             pytest.param(_replace_steps, id="lemma-tamper-replace-steps")]


def _tampered(tamper):
    """An honest chain ``log t <= t - 1`` after `tamper`, and whether what it shows changed."""
    chain = _honest_chain()
    honest = _view(chain)
    try:
        tamper(chain)
    except (AttributeError, TypeError, dataclasses.FrozenInstanceError):
        pass                                           # the chain refused to be changed
    return chain, _view(chain) != honest


@pytest.mark.parametrize("tamper", TAMPERING)
def test_tampered_chain_does_not_verify(tamper):
    chain, changed = _tampered(tamper)
    if not changed:
        chain.verify()                                 # what it shows is still what was proved
        return
    with pytest.raises(StepError):
        chain.verify()                                 # log t <= t - 2, or log t + 1 <= t - 1


@pytest.mark.parametrize("tamper", TAMPERING)
def test_tampered_chain_cited_as_given_does_not_verify(tamper):
    chain, changed = _tampered(tamper)
    if not changed:
        return
    try:
        citing = Derivation(u, given=[chain]).equals(u, "cite the chain")
    except (StepError, TypeError):
        return                                         # refused when cited
    with pytest.raises(StepError):
        citing.verify()


@pytest.mark.parametrize("tamper", TAMPERING)
def test_tampered_chain_as_lemma_does_not_verify(tamper):
    chain, changed = _tampered(tamper)
    if not changed:
        return
    try:
        forged = Lemma.from_chain(chain, name="forged", label="lem-forged", parameters=(t,))
        lesser, greater = chain.start.subs(t, u), chain.result.subs(t, u)   # what it states
        using = Derivation(lesser).less_equal(greater, "the forged lemma", lemma=forged, t=u)
    except (StepError, TypeError):
        return                                         # refused when made or used
    with pytest.raises(StepError):
        using.verify()                                 # u's version of the tampered statement


# Forgeries with the standard library: copies of genuine facts and lemmas with new contents.

def _forge_chain_conclusion():
    genuine = _honest_chain().conclusion                                   # log t <= t - 1
    forged = dataclasses.replace(genuine, relation=sp.LessThan(sp.log(t), t - 2, evaluate=False))
    return Derivation(sp.log(t), given=[forged]).less_equal(
        t - 2, "the cited fact", lemma=NONNEGATIVE, term=t - 2 - sp.log(t))


def _forge_evaluated_fact():
    genuine = evaluated(GAUSS, sp.sqrt(sp.pi))
    forged = dataclasses.replace(genuine, relation=sp.Eq(GAUSS, sp.pi, evaluate=False))
    return Derivation(2 * GAUSS, given=[forged]).equals(2 * sp.pi, "the cited fact")


def _forge_builtin_lemma():
    forged = dataclasses.replace(LOG_LE_X_MINUS_1, instantiate=lambda facts, t: (sp.log(t), t - 2))
    return Derivation(sp.log(t)).less_equal(t - 2, "the forged lemma", lemma=forged, t=t)


def _forge_user_lemma():
    forged = dataclasses.replace(square_le_lemma(), instantiate=lambda facts, u: (u**2, u / 2))
    return Derivation(t**2).less_equal(t / 2, "the forged lemma", lemma=forged, u=t)


FORGERIES = [pytest.param(_forge_chain_conclusion, id="given-forge-chain-conclusion-relation"),
             pytest.param(_forge_evaluated_fact, id="given-forge-evaluated-fact-relation"),
             pytest.param(_forge_builtin_lemma, id="lemma-forge-builtin-lemma-instantiate"),
             pytest.param(_forge_user_lemma, id="lemma-forge-user-lemma-instantiate")]


@pytest.mark.parametrize("build", FORGERIES)
def test_forgery_is_refused_or_does_not_verify(build):
    """log t <= t - 2, sqrt(pi) = pi, t^2 <= t/2: refused when built, or when verified."""
    try:
        chain = build()
    except (StepError, TypeError):
        return
    with pytest.raises(StepError):
        chain.verify()


def test_chains_are_immutable():
    empty = Derivation(sp.log(t))
    step = empty.less_equal(t - 1, "ln t <= t - 1", lemma=LOG_LE_X_MINUS_1, t=t)
    assert step is not empty
    assert len(empty) == 0 and empty.result == sp.log(t) and empty.relation == "="
    assert len(step) == 1 and step.result == t - 1 and step.relation == "<="
    branch = step.equals(t - 1 + 0 * t, "the same")   # a second branch leaves the first alone
    assert len(step) == 1 and len(branch) == 2


# ------------------------------------------------------------------------------ true statements


def _gibbs_log_le():
    return (Derivation(MINUS_D, given=normalised())
            .less_equal(total(p[i] * (q[i] / p[i] - 1)), "ln t <= t - 1 at t = q_i/p_i",
                        lemma=LOG_LE_X_MINUS_1, t=q[i] / p[i])
            .equals(total(q[i]) - total(p[i]), "multiply out; linearity")
            .equals(0, "both sum to 1"))


def _gibbs_jensen_log():
    return (Derivation(MINUS_D, given=normalised())
            .less_equal(sp.log(total(q[i])), "Jensen for ln, weights p_i", lemma=JENSEN_LOG,
                        weights=p[i], values=q[i] / p[i], index=(i, 1, n))
            .equals(0, "sum q_i = 1"))


def _gibbs_convex_minus_log():
    return (Derivation(D, given=normalised())
            .equals(total(-p[i] * sp.log(q[i] / p[i])), "log of a reciprocal")
            .greater_equal(-sp.log(total(q[i])), "Jensen for the convex -ln", lemma=JENSEN,
                           f=lambda e: -sp.log(e), weights=p[i], values=q[i] / p[i], index=(i, 1, n))
            .equals(0, "sum q_i = 1"))


def _gibbs_mass_outside_support():
    rr = sp.Symbol("r_out", nonnegative=True)
    facts = [assume(sp.Eq(total(p[i]), 1)), assume(sp.Eq(total(q[i]), 1 - rr)), assume(1 - rr > 0)]
    return (Derivation(D, given=facts)
            .equals(total(-p[i] * sp.log(q[i] / p[i])), "log of a reciprocal")
            .greater_equal(-sp.log(total(q[i])), "Jensen for the convex -ln", lemma=JENSEN,
                           f=lambda e: -sp.log(e), weights=p[i], values=q[i] / p[i], index=(i, 1, n))
            .equals(-sp.log(1 - rr), "Q has mass r outside the support of P")
            .greater_equal(rr, "ln t <= t - 1 at t = 1 - r", lemma=LOG_LE_X_MINUS_1, t=1 - rr)
            .greater_equal(0, "r >= 0", lemma=NONNEGATIVE, term=rr))


def _log_sum():
    return (Derivation(D, given=normalised())
            .greater_equal(total(p[i]) * sp.log(total(p[i]) / total(q[i])), "log-sum inequality",
                           lemma=LOG_SUM, a=p[i], b=q[i], index=(i, 1, n))
            .equals(0, "both sum to 1"))


def _log_sum_from_gibbs():
    a, b = sp.IndexedBase("a", positive=True), sp.IndexedBase("b", positive=True)
    A, B = sp.symbols("A B", positive=True)
    pa, qb = a[i] / A, b[i] / B
    return (Derivation(total(a[i] * sp.log(a[i] / b[i])),
                       given=[assume(sp.Eq(total(a[i]), A)), assume(sp.Eq(total(b[i]), B))])
            .equals(A * total(pa * sp.log(pa / qb)) + A * sp.log(A / B), "a_i = A p_i, b_i = B q_i")
            .greater_equal(A * sp.log(A / B), "Gibbs", lemma=GIBBS, p=pa, q=qb, index=(i, 1, n)))


def _cross_entropy():
    return Derivation(-total(p[i] * sp.log(q[i]))).equals(ENTROPY + D, "add and subtract sum p log p")


def _cross_entropy_bound():
    return (Derivation(-total(p[i] * sp.log(q[i])), given=normalised())
            .equals(ENTROPY + D, "add and subtract sum p log p")
            .greater_equal(ENTROPY, "Gibbs", lemma=GIBBS, p=p[i], q=q[i], index=(i, 1, n)))


def _chi_square():
    return (Derivation(D, given=normalised())
            .less_equal(total(p[i] * (p[i] / q[i] - 1)), "ln t <= t - 1 at t = p_i/q_i",
                        lemma=LOG_LE_X_MINUS_1, t=p[i] / q[i])
            .equals(total(p[i]**2 / q[i]) - 1, "multiply out; sum p_i = 1"))


def _jensen_tangent_line():
    wn, xp = sp.IndexedBase("w", nonnegative=True), sp.IndexedBase("x", positive=True)
    mm = sp.Symbol("m_mean", positive=True)
    return (Derivation(total(wn[i] * sp.log(xp[i])),
                       given=[assume(sp.Eq(total(wn[i]), 1)), assume(sp.Eq(total(wn[i] * xp[i]), mm))])
            .equals(total(wn[i] * sp.log(xp[i] / mm)) + sp.log(mm), "add and subtract log m")
            .less_equal(total(wn[i] * (xp[i] / mm - 1)) + sp.log(mm), "tangent line at m",
                        lemma=LOG_LE_X_MINUS_1, t=xp[i] / mm)
            .equals(sp.log(mm), "the two sums are m/m and 1"))


THETA = sp.Symbol("theta", positive=True)
S_X = total(xr[i])


def _bernoulli_log_likelihood():
    return Derivation(total(xr[i] * sp.log(THETA) + (1 - xr[i]) * sp.log(1 - THETA)),
                      given=[assume(1 - THETA > 0)]).equals(
        S_X * sp.log(THETA) + total(1 - xr[i]) * sp.log(1 - THETA), "linearity")


def _bernoulli_score():
    score = sp.diff(S_X * sp.log(THETA) + (n - S_X) * sp.log(1 - THETA), THETA)
    return Derivation(score, given=[assume(1 - THETA > 0)]).equals(
        (S_X - n * THETA) / (THETA * (1 - THETA)), "common denominator")


def _pinsker_slope():
    al, be = sp.symbols("alpha beta", positive=True)
    binary = al * sp.log(al / be) + (1 - al) * sp.log((1 - al) / (1 - be))
    g = binary - 2 * (al - be)**2
    return (Derivation(sp.diff(g, be), given=[assume(1 - al > 0), assume(1 - be > 0)])
            .equals((be - al) * (1 / (be * (1 - be)) - 4), "collect beta - alpha")
            .equals((be - al) * (1 - 2 * be)**2 / (be * (1 - be)), "common denominator"))


def _nested_exchange():
    return Derivation(sp.Sum(sp.Sum(a2[i, j], (j, 1, n)), (i, 1, n))).equals(
        sp.Sum(sp.Sum(a2[i, j], (i, 1, n)), (j, 1, n)), "exchange two finite sums")


def _multi_limit_exchange():
    return Derivation(sp.Sum(a2[i, j], (i, 1, n), (j, 1, n))).equals(
        sp.Sum(a2[i, j], (j, 1, n), (i, 1, n)), "exchange two finite sums")


def _multi_sum_renamed():
    return Derivation(sp.Sum(j, (j, 1, i), (i, 1, n))).equals(
        sp.Sum(i, (i, 1, j), (j, 1, n)), "rename i <-> j everywhere")


def _multi_integral_renamed():
    return Derivation(sp.Integral(zeta, (zeta, 0, z), (z, 0, 1))).equals(
        sp.Integral(z, (z, 0, zeta), (zeta, 0, 1)), "rename x <-> y everywhere")




def _poisson_mean():
    pmf = sp.exp(-lam) * lam**K0 / sp.factorial(K0)
    return Derivation(sp.Sum(K0 * pmf, (K0, 0, sp.oo))).evaluate(lam, "Poisson mean")


@functools.cache
def _mass_of_phi():
    return evaluated(sp.Integral(PHI, LINE), 1)


@functools.cache
def _second_moment_of_phi():
    return evaluated(sp.Integral(z**2 * PHI, LINE), 1)


def _normal_moments():
    facts = [_mass_of_phi(), _second_moment_of_phi()]
    return (Derivation(sp.Integral((z**2 + 3) * PHI, LINE), given=facts)
            .equals(sp.Integral(z**2 * PHI, LINE) + 3 * sp.Integral(PHI, LINE), "linearity")
            .equals(4, "the moments (evaluated)"))


def _normal_variance_parametric():
    density = sp.exp(-z**2 / (2 * sigma**2)) / sp.sqrt(2 * sp.pi * sigma**2)
    second = sp.Integral(z**2 * density, LINE)
    return Derivation(second / sigma**2, given=[evaluated(second, sigma**2)]).equals(
        1, "the variance (evaluated)")


def _all_but_one_given_integral():
    return Derivation(sp.Integral((z**2 + z**4) * PHI, LINE),
                      given=[_second_moment_of_phi()]).equals(
        1 + sp.Integral(z**4 * PHI, LINE), "linearity; the second moment (evaluated)")


def _all_but_one_given_series():
    return Derivation(inf_sum(1 / k**2 + 2**-k), given=[evaluated(inf_sum(2**-k), 1)]).equals(
        inf_sum(1 / k**2) + 1, "linearity; the geometric series (evaluated)")


def _exponential_kl():
    x = sp.Symbol("x", positive=True)
    l1, l2 = sp.symbols("lambda1 lambda2", positive=True)
    pe, qe = l1 * sp.exp(-l1 * x), l2 * sp.exp(-l2 * x)
    half = (x, 0, sp.oo)
    facts = [evaluated(sp.Integral(pe, half), 1), evaluated(sp.Integral(x * pe, half), 1 / l1)]
    return (Derivation(sp.Integral(pe * sp.log(pe / qe), half), given=facts)
            .equals(sp.Integral(pe * (sp.log(l1 / l2) - (l1 - l2) * x), half), "log of the ratio")
            .equals(sp.log(l1 / l2) * sp.Integral(pe, half) - (l1 - l2) * sp.Integral(x * pe, half),
                    "linearity")
            .equals(sp.log(l1 / l2) - (l1 - l2) / l1, "mass 1, mean 1/lambda1 (evaluated)"))


@functools.cache
def _second_moment_chain():
    return Derivation(sp.Integral(z**2 * PHI, LINE)).evaluate(1, "second moment of N(0, 1)")


def _chain_cited():
    return Derivation(3 * sp.Integral(z**2 * PHI, LINE) + 1, given=[_second_moment_chain()]).equals(
        4, "the second moment (cited chain)")


def _conclusion_cited():
    return Derivation(3 * sp.Integral(z**2 * PHI, LINE) + 1,
                      given=[_second_moment_chain().conclusion]).equals(4, "the second moment")


def _chain_cited_with_its_hypotheses():
    return Derivation(2 * sp.sqrt((1 - u) * (1 - v)),
                      given=[sqrt_product_chain(), assume(1 - u > 0), assume(1 - v > 0)]).equals(
        2 * sp.sqrt(1 - u) * sp.sqrt(1 - v), "the cited chain")


def _lemma_termwise():
    return (Derivation(D, given=normalised())
            .greater_equal(total(p[i] - q[i]), "a ln(a/b) >= a - b, term by term", lemma=term_lemma(),
                           a=p[i], b=q[i])
            .equals(0, "both sum to 1"))


def _lemma_hypothesis_met():
    return Derivation(c**2, given=[assume(1 - c >= 0)]).less_equal(
        c, "u^2 <= u at u = c", lemma=square_le_lemma(), u=c)


TRUE_STATEMENTS = [
    # (id, build, expected relation, expected start, expected result)
    ("gibbs-log-le-general-n", _gibbs_log_le, "<=", MINUS_D, 0),
    ("gibbs-jensen-log", _gibbs_jensen_log, "<=", MINUS_D, 0),
    ("gibbs-jensen-convex-minus-log", _gibbs_convex_minus_log, ">=", D, 0),
    ("gibbs-mass-outside-support", _gibbs_mass_outside_support, ">=", D, 0),
    ("log-sum-inequality", _log_sum, ">=", D, 0),
    ("log-sum-from-gibbs", _log_sum_from_gibbs, ">=", None, None),
    ("cross-entropy-decomposition", _cross_entropy, "=", -total(p[i] * sp.log(q[i])), ENTROPY + D),
    ("cross-entropy-at-least-entropy", _cross_entropy_bound, ">=", -total(p[i] * sp.log(q[i])),
     ENTROPY),
    ("chi-square-bound", _chi_square, "<=", D, total(p[i]**2 / q[i]) - 1),
    ("jensen-log-by-tangent-line", _jensen_tangent_line, "<=", None, None),
    ("bernoulli-log-likelihood", _bernoulli_log_likelihood, "=", None, None),
    ("bernoulli-score", _bernoulli_score, "=", None, (S_X - n * THETA) / (THETA * (1 - THETA))),
    ("pinsker-slope", _pinsker_slope, "=", None, None),
    ("nested-finite-sums-exchanged", _nested_exchange, "=", None, None),
    ("multi-limit-sums-exchanged", _multi_limit_exchange, "=", None, None),
    ("multi-limit-sum-evaluated", lambda: Derivation(TRIANGLE).evaluate(n * (n + 1) / 2, "count"),
     "=", TRIANGLE, n * (n + 1) / 2),
    ("multi-limit-integral-evaluated", lambda: Derivation(AREA).evaluate(HALF, "area"), "=", AREA,
     HALF),
    ("multi-limit-sum-renamed-consistently", _multi_sum_renamed, "=", None, None),
    ("multi-limit-integral-renamed-consistently", _multi_integral_renamed, "=", None, None),
    ("poisson-mean-evaluated", _poisson_mean, "=", None, lam),
    ("normal-moments-by-evaluated-facts", _normal_moments, "=", None, 4),
    ("normal-variance-parametric-evaluated-fact", _normal_variance_parametric, "=", None, 1),
    ("infinite-linearity-all-but-one-given-integral", _all_but_one_given_integral, "=", None, None),
    ("infinite-linearity-all-but-one-given-series", _all_but_one_given_series, "=", None, None),
    ("exponential-kl-by-evaluated-facts", _exponential_kl, "=", None, None),
    ("series-partial-fractions-termwise",
     lambda: Derivation(inf_sum(1 / ((2 * k - 1) * (2 * k)))).equals(
         inf_sum(ODD - EVEN), "partial fractions, term by term"), "=", None, inf_sum(ODD - EVEN)),
    ("geometric-series-evaluated-under-its-hypothesis",
     lambda: Derivation(GEOMETRIC, given=[assume(1 - c > 0)]).evaluate(1 / (1 - c), "geometric"),
     "=", GEOMETRIC, 1 / (1 - c)),
    ("telescoping-series-evaluated",
     lambda: Derivation(inf_sum(1 / (k * (k + 1)))).evaluate(1, "telescoping"), "=", None, 1),
    ("gaussian-integral-evaluated", lambda: Derivation(GAUSS).evaluate(sp.sqrt(sp.pi), "Gauss"),
     "=", GAUSS, sp.sqrt(sp.pi)),
    ("chain-cited-by-object", _chain_cited, "=", None, 4),
    ("chain-conclusion-cited", _conclusion_cited, "=", None, 4),
    ("chain-cited-with-its-hypotheses", _chain_cited_with_its_hypotheses, "=", None, None),
    ("lemma-from-chain-termwise-under-sum", _lemma_termwise, ">=", D, 0),
    ("lemma-from-chain-hypothesis-met", _lemma_hypothesis_met, "<=", c**2, c),
    ("removable-with-its-hypothesis",
     lambda: Derivation((r**2 - 1) / (r - 1), given=[assume(r - 1 > 0)]).equals(r + 1, "cancel"),
     "=", None, r + 1),
    ("removable-positive-denominator",
     lambda: Derivation(sp.Mul(t, sp.Pow(t, -1), evaluate=False)).equals(1, "cancel")
     .equals((t**2 + t) / t - t, "add and subtract"), "=", None, None),
    ("numeric-near-tie-certified-positive",
     lambda: Derivation(sp.log(-PI_NEAR_TIE)).less_equal(-PI_NEAR_TIE - 1, "ln t <= t - 1",
                                                         lemma=LOG_LE_X_MINUS_1, t=-PI_NEAR_TIE),
     "<=", None, None),
    ("numeric-ramanujan-certified-upper-bound",
     lambda: Derivation(sp.Integer(640320**3 + 743)).less_equal(
         sp.exp(sp.pi * sp.sqrt(163)), "the difference is >= 0", lemma=NONNEGATIVE,
         term=sp.exp(sp.pi * sp.sqrt(163)) - 640320**3 - 743),
     "<=", None, None),
    ("capture-free-index-fact-in-sum-over-another-index",
     lambda: Derivation(total(w[i] * y[j], j), given=[assume(w[i] >= 0)]).greater_equal(
         0, "w_i >= 0 is a constant of the sum over j", lemma=NONNEGATIVE, term=total(w[i] * y[j], j)),
     ">=", None, 0),
    ("capture-free-index-factor-out-of-sum-over-another-index",
     lambda: Derivation(total((1 - w[i]) * y[j], j)).equals((1 - w[i]) * total(y[j], j), "linearity"),
     "=", None, None),
    ("nonempty-sum-as-log-le-argument",
     lambda: Derivation(sp.log(total(p[i]))).less_equal(total(p[i]) - 1, "ln t <= t - 1",
                                                        lemma=LOG_LE_X_MINUS_1, t=total(p[i])),
     "<=", None, None),
    ("possibly-empty-sum-is-nonnegative",
     lambda: Derivation(u).less_equal(u + S_M, "a sum of positive terms is >= 0",
                                      lemma=NONNEGATIVE, term=S_M), "<=", u, u + S_M),
    ("possibly-empty-integral-is-nonnegative",
     lambda: Derivation(u).less_equal(u + I_H, "an integral of a positive function is >= 0",
                                      lemma=NONNEGATIVE, term=I_H), "<=", u, u + I_H),
    ("log-le-in-a-decreasing-context",
     lambda: Derivation(-sp.log(t)).greater_equal(1 - t, "ln t <= t - 1, negated",
                                                  lemma=LOG_LE_X_MINUS_1, t=t), ">=", -sp.log(t), 1 - t),
    ("jensen-with-explicit-lists",
     lambda: Derivation(sp.log(u) / 3 + 2 * sp.log(v) / 3).less_equal(
         sp.log(u / 3 + 2 * v / 3), "concavity of ln", lemma=JENSEN_LOG,
         weights=[sp.Rational(1, 3), sp.Rational(2, 3)], values=[u, v]), "<=", None, None),
    ("jensen-exp-convex-right-direction",
     lambda: _jensen_two_point(sp.exp, [u, v], ">="), ">=", None, None),
]


@pytest.mark.parametrize("build, relation, start, result",
                         [pytest.param(*rest, id=name) for name, *rest in TRUE_STATEMENTS])
def test_true_statement_is_accepted(build, relation, start, result):
    chain = build()
    assert chain.relation == relation
    if start is not None:
        assert chain.start == start
    if result is not None:
        assert sp.simplify(chain.result - result) == 0


VERIFIED_AGAIN = ["gibbs-log-le-general-n", "infinite-linearity-all-but-one-given-series",
                  "chain-cited-by-object", "lemma-from-chain-termwise-under-sum",
                  "removable-with-its-hypothesis"]


@pytest.mark.parametrize("name", VERIFIED_AGAIN)
def test_verify_rechecks_an_honest_chain(name):
    build = dict((case_name, rest[0]) for case_name, *rest in TRUE_STATEMENTS)[name]
    chain = build()
    assert chain.verify() is chain


def test_enough_true_statements():
    assert len(TRUE_STATEMENTS) >= 25
