"""Tests of klbook.derivation: true chains verify, false ones fail at the right step."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from klbook.derivation import (
    GIBBS,
    JENSEN,
    JENSEN_LOG,
    LOG_LE_X_MINUS_1,
    LOG_SUM,
    NONNEGATIVE,
    Derivation,
    Lemma,
    StepError,
    assume,
)

i, j = sp.symbols("i j", integer=True)
n = sp.Symbol("n", integer=True, positive=True)
p, q = sp.IndexedBase("p", positive=True), sp.IndexedBase("q", positive=True)
x, y, t = sp.symbols("x y t", positive=True)
r = sp.Symbol("r", real=True)


def total(term, index=i):
    return sp.Sum(term, (index, 1, n))


NORMALISED = [assume(sp.Eq(total(p[i]), 1)), assume(sp.Eq(total(q[i]), 1))]
MINUS_D = total(p[i] * sp.log(q[i] / p[i]))  # -D(P || Q)
D = total(p[i] * sp.log(p[i] / q[i]))


def expect_failure(build, step: int, *fragments: str) -> StepError:
    with pytest.raises(StepError) as info:
        build()
    error = info.value
    assert error.step == step, str(error)
    for fragment in fragments:
        assert fragment in str(error), str(error)
    return error


# ---------------------------------------------------------------- correct chains pass


def test_gibbs_via_log_le_x_minus_1_for_general_n():
    chain = (Derivation(MINUS_D, given=NORMALISED)
             .less_equal(total(p[i] * (q[i] / p[i] - 1)), "termwise", lemma=LOG_LE_X_MINUS_1,
                         t=q[i] / p[i])
             .equals(total(q[i]) - total(p[i]), "linearity")
             .equals(0, "both sum to 1"))
    assert len(chain) == 3
    assert chain.result == 0
    assert chain.relation == "<="
    assert [s.relation for s in chain.steps] == ["<=", "=", "="]


def test_gibbs_via_jensen_for_log():
    chain = (Derivation(MINUS_D, given=NORMALISED)
             .less_equal(sp.log(total(q[i])), "Jensen", lemma=JENSEN_LOG, weights=p[i],
                         values=q[i] / p[i], index=(i, 1, n))
             .equals(0, "sum of q is 1"))
    assert chain.relation == "<=" and chain.result == 0


def test_gibbs_via_convexity_of_minus_log_established_from_second_derivative():
    chain = (Derivation(D, given=NORMALISED)
             .equals(total(-p[i] * sp.log(q[i] / p[i])), "log of a reciprocal")
             .greater_equal(-sp.log(total(q[i])), "convexity of -log", lemma=JENSEN,
                            f=lambda u: -sp.log(u), weights=p[i], values=q[i] / p[i],
                            index=(i, 1, n))
             .equals(0, "sum of q is 1"))
    assert chain.relation == ">=" and len(chain) == 3


def test_gibbs_via_log_sum_inequality():
    chain = (Derivation(D, given=NORMALISED)
             .greater_equal(total(p[i]) * sp.log(total(p[i]) / total(q[i])), "log-sum",
                            lemma=LOG_SUM, a=p[i], b=q[i], index=(i, 1, n))
             .equals(0, "both sum to 1"))
    assert chain.result == 0


def test_cross_entropy_is_entropy_plus_divergence_for_general_n():
    chain = Derivation(-total(q[i] ** 0 * p[i] * sp.log(q[i]))).equals(
        -total(p[i] * sp.log(p[i])) + D, "add and subtract sum p log p")
    assert len(chain) == 1


def test_sums_over_differently_named_indices_and_constant_factors():
    c = sp.Symbol("c", positive=True)
    chain = (Derivation(total(c * (p[i] + q[i]), i))
             .equals(c * total(p[j], j) + c * total(q[i], i), "linearity, renamed index")
             .equals(c * (total(p[i]) + total(q[j], j)), "factor out c"))
    assert len(chain) == 2


def test_bernoulli_log_likelihood_with_a_declared_positive_expression():
    theta = sp.Symbol("theta", positive=True)
    data = sp.IndexedBase("x", real=True)
    chain = Derivation(total(sp.log(theta ** data[i] * (1 - theta) ** (1 - data[i]))),
                       given=[assume(1 - theta > 0)]).equals(
        sp.log(theta) * total(data[i]) + sp.log(1 - theta) * (n - total(data[i])),
        "log of a product; sum of 1 over n terms")
    assert len(chain) == 1


def test_jensen_with_explicit_lists():
    w = [sp.Rational(1, 3), sp.Rational(2, 3)]
    chain = Derivation(w[0] * sp.log(x) + w[1] * sp.log(y)).less_equal(
        sp.log(x / 3 + 2 * y / 3), "concavity", lemma=JENSEN_LOG, weights=w, values=[x, y])
    assert chain.relation == "<="


def test_lemma_inside_a_decreasing_context_flips_the_direction():
    chain = Derivation(-sp.log(t)).greater_equal(1 - t, "ln t <= t - 1, negated",
                                                 lemma=LOG_LE_X_MINUS_1, t=t)
    assert chain.relation == ">="


def test_gibbs_when_q_has_mass_outside_the_support_of_p():
    outside = sp.Symbol("r", nonnegative=True)
    facts = [assume(sp.Eq(total(p[i]), 1)), assume(sp.Eq(total(q[i]), 1 - outside)), assume(1 - outside > 0)]
    chain = (Derivation(D, given=facts)
             .equals(total(-p[i] * sp.log(q[i] / p[i])), "log of a reciprocal")
             .greater_equal(-sp.log(total(q[i])), "convexity of -log", lemma=JENSEN,
                            f=lambda u: -sp.log(u), weights=p[i], values=q[i] / p[i],
                            index=(i, 1, n))
             .equals(-sp.log(1 - outside), "mass outside")
             .greater_equal(outside, "ln t <= t - 1", lemma=LOG_LE_X_MINUS_1, t=1 - outside)
             .greater_equal(0, "r >= 0", lemma=NONNEGATIVE, term=outside))
    assert len(chain) == 5 and chain.result == 0


def test_log_sum_inequality_from_gibbs_lemma():
    a, b = sp.IndexedBase("a", positive=True), sp.IndexedBase("b", positive=True)
    A, B = sp.symbols("A B", positive=True)
    pa, qb = a[i] / A, b[i] / B
    chain = (Derivation(total(a[i] * sp.log(a[i] / b[i])),
                        given=[assume(sp.Eq(total(a[i]), A)), assume(sp.Eq(total(b[i]), B))])
             .equals(A * total(pa * sp.log(pa / qb)) + A * sp.log(A / B), "normalise")
             .greater_equal(A * sp.log(A / B), "Gibbs", lemma=GIBBS, p=pa, q=qb, index=(i, 1, n)))
    assert chain.relation == ">="
    # without the totals the weights are not known to sum to 1
    expect_failure(lambda: Derivation(A * total(pa * sp.log(pa / qb))).greater_equal(
        0, "Gibbs", lemma=GIBBS, p=pa, q=qb, index=(i, 1, n)), 1, "is not implied")


def test_rational_identity_with_a_declared_positive_expression():
    u, v = sp.symbols("u v", positive=True)
    slope = sp.diff(u * sp.log(u / v) + (1 - u) * sp.log((1 - u) / (1 - v)) - 2 * (u - v) ** 2, v)
    chain = Derivation(slope, given=[assume(1 - u > 0), assume(1 - v > 0)]).equals(
        (v - u) * (1 - 2 * v) ** 2 / (v * (1 - v)), "common denominator")
    assert len(chain) == 1


def test_nonnegative_needs_a_provable_sign():
    expect_failure(lambda: Derivation(-r).less_equal(0, "r real", lemma=NONNEGATIVE, term=r),
                   1, "not provably >= 0")


# ---------------------------------------------------------------- wrong chains fail at their step


def test_dropped_sign_fails_at_its_step():
    expect_failure(
        lambda: (Derivation(-total(p[i] * sp.log(q[i])))
                 .equals(-total(p[i] * sp.log(p[i])) + D, "add and subtract")
                 .equals(total(p[i] * sp.log(p[i])) + D, "dropped sign")),
        2, "dropped sign", "cannot show that the two sides are equal")


def test_wrong_log_base_fails():
    bits = total(p[i] * sp.log(p[i] / q[i], 2))
    expect_failure(lambda: Derivation(D).equals(bits, "nats are bits"), 1, "nats are bits")
    # the right conversion passes
    assert len(Derivation(D).equals(bits * sp.log(2), "bits times ln 2")) == 1


def test_illegal_inequality_direction_fails():
    expect_failure(
        lambda: (Derivation(MINUS_D, given=NORMALISED)
                 .equals(total(p[i] * sp.log(q[i] / p[i])), "restate")
                 .greater_equal(total(p[i] * (q[i] / p[i] - 1)), "wrong way",
                                lemma=LOG_LE_X_MINUS_1, t=q[i] / p[i])),
        2, "illegal direction", "wrong way")


def test_jensen_direction_is_tied_to_the_sign_of_the_second_derivative():
    # -log is convex, so Jensen gives >= and a <= claim must fail
    expect_failure(
        lambda: Derivation(total(-p[i] * sp.log(q[i] / p[i])), given=NORMALISED).less_equal(
            -sp.log(total(q[i])), "concavity claimed", lemma=JENSEN, f=lambda u: -sp.log(u),
            weights=p[i], values=q[i] / p[i], index=(i, 1, n)),
        1, "illegal direction")


def test_log_le_outside_its_side_condition_fails():
    expect_failure(lambda: Derivation(sp.log(r)).less_equal(r - 1, "r real", lemma=LOG_LE_X_MINUS_1,
                                                            t=r),
                   1, "does not apply", "not provably > 0")


def test_jensen_needs_weights_that_sum_to_one():
    expect_failure(
        lambda: Derivation(MINUS_D).less_equal(sp.log(total(q[i])), "no normalisation",
                                               lemma=JENSEN_LOG, weights=p[i], values=q[i] / p[i],
                                               index=(i, 1, n)),
        1, "do not provably sum to 1")
    expect_failure(
        lambda: Derivation(sp.log(x) / 2 + sp.log(y) / 3).less_equal(
            sp.log(x / 2 + y / 3), "weights 1/2, 1/3", lemma=JENSEN_LOG,
            weights=[sp.Rational(1, 2), sp.Rational(1, 3)], values=[x, y]),
        1, "do not provably sum to 1")


def test_jensen_needs_non_negative_weights():
    w = [sp.Rational(3, 2), -sp.Rational(1, 2)]
    expect_failure(
        lambda: Derivation(w[0] * sp.log(x) + w[1] * sp.log(y)).less_equal(
            sp.log(w[0] * x + w[1] * y), "negative weight", lemma=JENSEN_LOG, weights=w,
            values=[x, y]),
        1, "is not provably >= 0")


def test_jensen_needs_a_second_derivative_of_fixed_sign():
    w = [sp.Rational(1, 2), sp.Rational(1, 2)]
    expect_failure(
        lambda: Derivation((sp.sin(x) + sp.sin(y)) / 2).less_equal(
            sp.sin((x + y) / 2), "sin is not concave", lemma=JENSEN, f=sp.sin, weights=w,
            values=[x, y]),
        1, "not provably convex or concave")


def test_lemma_in_a_context_of_unknown_sign_fails():
    expect_failure(lambda: Derivation(r * sp.log(t)).less_equal(r * (t - 1), "times r",
                                                                lemma=LOG_LE_X_MINUS_1, t=t),
                   1, "monotone context")


def test_step_that_is_not_the_lemma_fails():
    expect_failure(lambda: Derivation(sp.log(t)).less_equal(t - 2, "too strong",
                                                            lemma=LOG_LE_X_MINUS_1, t=t),
                   1, "monotone context")


def test_logs_are_not_expanded_without_positivity():
    a, b = sp.symbols("a b", real=True)
    expect_failure(lambda: Derivation(sp.log(a * b)).equals(sp.log(a) + sp.log(b), "unsound"),
                   1, "unsound")


def test_mixing_directions_fails():
    expect_failure(
        lambda: (Derivation(sp.log(t))
                 .less_equal(t - 1, "ln t <= t - 1", lemma=LOG_LE_X_MINUS_1, t=t)
                 .greater_equal(sp.log(t + 1) - 1, "back down", lemma=LOG_LE_X_MINUS_1, t=t)),
        2, "mixing")


def test_error_names_step_reason_and_both_expressions():
    error = expect_failure(lambda: Derivation(x + y).equals(x - y, "sign slip"), 1)
    assert (error.reason, error.lhs, error.rhs) == ("sign slip", x + y, x - y)
    assert str(x + y) in str(error) and str(x - y) in str(error)


@settings(max_examples=20, deadline=None)
@given(st.integers(-5, 5), st.integers(-5, 5), st.integers(1, 4))
def test_log_power_law_verifies_and_a_perturbed_exponent_fails(a, b, shift):
    assert len(Derivation(a * sp.log(x) + b * sp.log(y)).equals(sp.log(x ** a * y ** b),
                                                                "log laws")) == 1
    with pytest.raises(StepError):
        Derivation(a * sp.log(x) + b * sp.log(y)).equals(sp.log(x ** a * y ** (b + shift)),
                                                         "off by a power")


@settings(max_examples=15, deadline=None)
@given(st.fractions(min_value=0, max_value=1).filter(lambda w: 0 < w < 1))
def test_two_point_jensen_verifies_for_any_rational_weight(w):
    w = sp.Rational(w.numerator, w.denominator)
    chain = Derivation(w * sp.log(x) + (1 - w) * sp.log(y)).less_equal(
        sp.log(w * x + (1 - w) * y), "concavity", lemma=JENSEN_LOG, weights=[w, 1 - w],
        values=[x, y])
    assert chain.relation == "<="


# ---------------------------------------------------------------- display and bad input


def test_latex_is_an_align_with_one_row_per_step_and_the_facts():
    chain = (Derivation(MINUS_D, given=NORMALISED)
             .less_equal(total(p[i] * (q[i] / p[i] - 1)), "termwise", lemma=LOG_LE_X_MINUS_1,
                         t=q[i] / p[i])
             .equals(0, "sums are 1 & linearity"))
    latex = chain._repr_latex_()
    assert latex.startswith(r"\begin{align*}") and latex.endswith(r"\end{align*}")
    rows = latex.split(r"\\")
    assert len(rows) == 4  # two steps, the symbols' assumptions and the hypotheses
    assert r"&\le" in rows[0] and r"&=" in rows[1]
    assert r"\text{for } n \in \mathbb{Z}_{>0}" in rows[2] and "> 0" in rows[2]
    assert r"\text{assume }" in rows[3] and r"\sum_{i=1}^{n} {q}_{i} = 1" in rows[3]
    assert r"\text{sums are 1 \& linearity}" in rows[1]
    assert "termwise" in repr(chain) and "2 verified steps" in repr(chain)


def test_empty_chain():
    chain = Derivation(x, title="just x")
    assert len(chain) == 0 and chain.result == x and chain.relation == "="
    assert "just x" in repr(chain)


@pytest.mark.parametrize("build, message", [
    (lambda: Derivation("x + 1"), "start"),
    (lambda: Derivation(object()), "start"),
    (lambda: Derivation(x, title=3), "title"),
    (lambda: Derivation(x, given=[x]), "given"),
    (lambda: Derivation(x).equals(x, ""), "reason"),
    (lambda: Derivation(x).equals("x", "why"), "expr"),
    (lambda: Derivation(sp.log(t)).less_equal(t - 1, "why", lemma="ln"), "lemma"),
    (lambda: Derivation(sp.log(t)).less_equal(t - 1, "why", lemma=LOG_LE_X_MINUS_1), "missing t"),
    (lambda: Derivation(sp.log(t)).less_equal(t - 1, "why", lemma=LOG_LE_X_MINUS_1, t=t, s=t),
     "unknown s"),
    (lambda: Derivation(sp.log(t)).less_equal(t - 1, "why", lemma=JENSEN_LOG, weights=[1],
                                             values=[t, t]), "same length"),
])
def test_bad_arguments_raise_type_error_naming_them(build, message):
    with pytest.raises(TypeError, match=message):
        build()


def test_lemmas_are_named_and_labelled():
    for lemma in (LOG_LE_X_MINUS_1, JENSEN, JENSEN_LOG, LOG_SUM, GIBBS):
        assert isinstance(lemma, Lemma) and lemma.name and lemma.label and lemma.statement
    assert NONNEGATIVE.label is None  # it only checks the declared assumptions


# ---------------------------------------------------------------- premises and immutability


def test_a_step_returns_a_new_chain_and_leaves_the_old_one_unchanged():
    first = Derivation(sp.log(x * y)).equals(sp.log(x) + sp.log(y), "log of a product")
    second = first.equals(sp.log(y) + sp.log(x), "reorder")
    assert len(first) == 1 and len(second) == 2
    with pytest.raises(AttributeError, match="immutable"):
        first.start = x


def test_verify_refuses_a_chain_tampered_with_after_it_was_built():
    from klbook.derivation import Step
    chain = Derivation(sp.log(x * y)).equals(sp.log(x) + sp.log(y), "log of a product")
    assert chain.verify() is chain
    object.__setattr__(chain, "_steps", chain._steps + (Step("=", sp.log(x), "forged"),))
    expect_failure(chain.verify, 2, "forged")


def test_a_cited_chain_is_a_premise_with_its_hypotheses():
    from klbook.derivation import assume
    theta = sp.Symbol("theta", positive=True)
    below_one = assume(1 - theta > 0)
    log_bound = Derivation(sp.log(1 - theta), given=[below_one]).less_equal(
        -theta, "tangent line", lemma=LOG_LE_X_MINUS_1, t=1 - theta)
    cited = Derivation(-theta - sp.log(1 - theta), given=[below_one, log_bound]).greater_equal(
        0, "the cited bound", lemma=NONNEGATIVE, term=-theta - sp.log(1 - theta))
    assert cited.result == 0 and cited.hypotheses == (below_one,)
    assert r"\text{by a verified chain: }" in cited._repr_latex_()
    with pytest.raises(StepError, match="not a hypothesis here"):
        Derivation(-theta - sp.log(1 - theta), given=[log_bound])


def test_definitions_and_hypotheses_are_displayed():
    from klbook.derivation import assume, define
    m = sp.Symbol("m", positive=True)
    chain = Derivation(2 * m, given=[define(m, (x + y) / 2), assume(x - y > 0)]).equals(
        x + y, "the definition of m")
    latex = chain._repr_latex_()
    assert r"\text{where } m = " in latex and r"\text{assume } x - y > 0" in latex
    assert r"\text{for } m, x, y > 0" in latex


def test_a_bare_relation_in_given_is_a_type_error_that_names_the_choices():
    with pytest.raises(TypeError, match="assume"):
        Derivation(x, given=[sp.Eq(x, 1)])


def test_evaluation_is_a_step_of_its_own_and_is_cross_checked():
    lam = sp.Symbol("lambda", positive=True)
    u = sp.Symbol("u", real=True)
    mass = sp.Integral(lam * sp.exp(-lam * u), (u, 0, sp.oo))
    expect_failure(lambda: Derivation(mass).equals(1, "integrate"), 1, "cannot show")
    assert Derivation(mass).evaluate(1, "integrate").result == 1
    expect_failure(lambda: Derivation(mass).evaluate(2, "integrate"), 1, "after evaluating")


def test_a_closed_sum_inside_another_sum_is_a_constant_factor():
    # Its bound variable is renamed as at the top level, whatever encloses it.
    z = sp.IndexedBase("z", real=True)
    partition = sp.Sum(sp.exp(z[j]), (j, 1, n))
    chain = Derivation(total(p[i] * sp.log(partition)), given=NORMALISED).equals(
        sp.log(partition), "the log-partition is constant in i; sum p = 1")
    assert chain.result == sp.log(partition)
    expect_failure(lambda: Derivation(total(p[i] * sp.Sum(z[j] * q[i], (j, 1, n)))).equals(
        total(q[i]) * total(p[i] * z[i]), "not constant: the inner sum depends on i"), 1, "cannot show")


# ---------------------------------------------------------------- true statements found refused once


@pytest.mark.parametrize("build", [
    # a convergent piece splits off a series or an integral; the rest stays together
    lambda: Derivation(sp.Sum(p[i] * sp.log(p[i] / q[i]), (i, 1, sp.oo)),
                       given=[assume(sp.Eq(sp.Sum(p[i], (i, 1, sp.oo)), 1)),
                              assume(sp.Eq(sp.Sum(q[i], (i, 1, sp.oo)), 1 - y))]).equals(
        sp.Sum(p[i] * (q[i] / p[i] - 1 - sp.log(q[i] / p[i])), (i, 1, sp.oo)) + y, "regroup"),
    lambda: Derivation(-sp.Sum(p[i] * sp.log(p[i] / q[i]), (i, 1, sp.oo))).equals(
        sp.Sum(p[i] * sp.log(q[i] / p[i]), (i, 1, sp.oo)), "the sign goes in"),
    # a linear bound on one symbol decides the sign of another linear expression in it
    lambda: Derivation(r - 2 * r / (2 + r), given=[assume(r > -1)]).equals(
        r**2 / (2 + r), "common denominator"),
    lambda: Derivation((1 + r / (2 + r)) / (1 - r / (2 + r)), given=[assume(r + 2 > 0)]).equals(
        1 + r, "clear the fractions"),
    # a true hypothesis never makes a provable sign unprovable
    lambda: Derivation(1 - total(q[i]), given=[assume(sp.Eq(total(q[i]), 1 - y)),
                                                assume(1 - y > 0)]).greater_equal(
        0, "Q's mass outside", lemma=NONNEGATIVE, term=1 - total(q[i])),
    # nor hides a linear identity
    lambda: Derivation(-total(p[i] * sp.log(q[i])), given=[assume(D >= 0)]).equals(
        -total(p[i] * sp.log(p[i])) + D, "add and subtract"),
], ids=["convergent-piece", "sign-into-series", "margin", "margin-fraction",
        "extra-hypothesis", "hidden-sum"])
def test_true_statements_that_once_were_refused(build):
    assert len(build()) == 1


def test_reasons_in_code_style_are_set_as_math_not_text():
    # MathJax's text mode has no _ or ^: a word that holds one becomes inline math.
    chain = Derivation(D, given=NORMALISED).less_equal(
        total(p[i] * (p[i] / q[i] - 1)), "ln t <= t - 1 at t = p_i/q_i, times s^2",
        lemma=LOG_LE_X_MINUS_1, t=p[i] / q[i])
    reason = chain._repr_latex_().split(r"\text{")[1].split("}", 1)[0]
    assert "$p_i/q_i$, times $s^2$" in reason
    outside_math = reason.split("$")[::2]
    assert not any("_" in part or "^" in part for part in outside_math)
