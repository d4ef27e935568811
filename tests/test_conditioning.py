"""Tests of klbook.conditioning: the condition number of D against mpmath and finite differences.

The reference is the formula of the module evaluated from the exact float64 inputs at
400 digits (normalising entries that differ by factors down to 1e-300 needs that many);
the formula itself is checked against its definition, the supremum of the relative
change of D over componentwise relative perturbations, by finite differences at 60
digits.
"""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from klbook.conditioning import kl_condition_number


@pytest.fixture(autouse=True, scope="module")
def mpmath_precision():
    """mpmath at 50 digits by default for this module only (restored afterwards); the
    references and finite differences below set their own precision."""
    with mpmath.workdps(50):
        yield


#: Enough digits for the normalised entries of any pair drawn below to keep their differences.
REFERENCE_DPS = 400


def normalised(values):
    exact = [mpmath.mpf(float(v)) for v in values]
    total = mpmath.fsum(exact)
    return [v / total for v in exact]


def divergence_mp(P, Q):
    """D(P || Q) of two lists of mpf that sum to 1."""
    return mpmath.fsum(a * mpmath.log(a / b) for a, b in zip(P, Q) if a > 0)


def usable(p, q):
    """Whether the divergence of the normalised pair is finite and positive."""
    with mpmath.workdps(REFERENCE_DPS):
        P, Q = normalised(p), normalised(q)
        return all(b > 0 for a, b in zip(P, Q) if a > 0) and divergence_mp(P, Q) > 0


def reference_parts(p, q):
    """(kappa_p, kappa_q) from the module's formula, at REFERENCE_DPS digits."""
    with mpmath.workdps(REFERENCE_DPS):
        P, Q = normalised(p), normalised(q)
        d = divergence_mp(P, Q)
        kappa_q = mpmath.fsum(abs(b - a) for a, b in zip(P, Q)) / d
        kappa_p = mpmath.fsum(a * abs(mpmath.log(a / b) - d) for a, b in zip(P, Q) if a > 0) / d
        return +kappa_p, +kappa_q


def reference(p, q, wrt="both"):
    kappa_p, kappa_q = reference_parts(p, q)
    return {"p": kappa_p, "q": kappa_q, "both": kappa_p + kappa_q}[wrt]


def within_claim(value, exact, p=None, q=None):
    """The docstring's claim: within 1e-12 * max(1, kappa) of the exact value, or, for a
    normalised pair closer than sum |q^ - p^| = 1e-17, a relative 1e-30 / sum |q^ - p^|."""
    tolerance = mpmath.mpf(1e-12)
    if p is not None:
        with mpmath.workdps(REFERENCE_DPS):
            spread = mpmath.fsum(abs(b - a) for a, b in zip(normalised(p), normalised(q)))
        if spread < mpmath.mpf(1e-17):
            tolerance = max(tolerance, mpmath.mpf(1e-30) / spread)
    return abs(mpmath.mpf(float(value)) - exact) <= tolerance * max(1, exact)


# --- the formula is the definition --------------------------------------------------------


def perturbed_divergence(p, q, alpha, beta, h):
    P = normalised(p)
    Q = normalised(q)
    P = [a * (1 + h * s) for a, s in zip(P, alpha)]
    Q = [b * (1 + h * s) for b, s in zip(Q, beta)]
    sp_, sq_ = mpmath.fsum(P), mpmath.fsum(Q)
    return divergence_mp([a / sp_ for a in P], [b / sq_ for b in Q])


def relative_slope(p, q, alpha, beta):
    """d/dh of f(p(1 + h alpha), q(1 + h beta)) at 0, over f: a central difference."""
    with mpmath.workdps(60):
        h = mpmath.mpf(10) ** -25
        d = divergence_mp(normalised(p), normalised(q))
        return (perturbed_divergence(p, q, alpha, beta, h)
                - perturbed_divergence(p, q, alpha, beta, -h)) / (2 * h * d)


PAIRS = [
    ([0.5, 0.5], [0.25, 0.75]),
    ([0.2, 0.3, 0.5], [0.6, 0.3, 0.1]),
    ([0.1, 0.2, 0.3, 0.4], [0.1000001, 0.1999999, 0.3000002, 0.3999998]),
    ([0.7, 0.2, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4]),
    ([1e-30, 1.0 - 1e-30], [0.5, 0.5]),
]


@pytest.mark.parametrize(("p", "q"), PAIRS)
def test_the_worst_perturbation_attains_kappa(p, q):
    # The linearised change is sum_i alpha_i p_i df/dp_i + beta_i q_i df/dq_i; over the box
    # |alpha|, |beta| <= 1 its largest value takes the signs of the terms.
    with mpmath.workdps(60):
        P, Q = normalised(p), normalised(q)
        d = divergence_mp(P, Q)
        alpha = [mpmath.sign(a * (mpmath.log(a / b) - d)) if a > 0 else 0 for a, b in zip(P, Q)]
        beta = [mpmath.sign(b - a) for a, b in zip(P, Q)]
        kappa = reference(p, q)
        assert abs(relative_slope(p, q, alpha, beta) - kappa) <= mpmath.mpf(10) ** -20 * kappa


@pytest.mark.parametrize(("p", "q"), PAIRS)
def test_each_partial_derivative_is_the_formulas(p, q):
    with mpmath.workdps(60):
        P, Q = normalised(p), normalised(q)
        d = divergence_mp(P, Q)
        n = len(p)
        for i in range(n):
            unit = [1 if j == i else 0 for j in range(n)]
            zero = [0] * n
            want_p = P[i] * (mpmath.log(P[i] / Q[i]) - d) / d if P[i] > 0 else 0
            want_q = (Q[i] - P[i]) / d
            tolerance = mpmath.mpf(10) ** -20 * (1 + reference(p, q))
            assert abs(relative_slope(p, q, unit, zero) - want_p) <= tolerance
            assert abs(relative_slope(p, q, zero, unit) - want_q) <= tolerance


@pytest.mark.parametrize(("p", "q"), PAIRS)
def test_random_perturbations_stay_below_kappa(p, q):
    rng = np.random.default_rng(3)
    kappa = reference(p, q)
    for _ in range(20):
        alpha, beta = rng.uniform(-1, 1, len(p)).tolist(), rng.uniform(-1, 1, len(p)).tolist()
        assert abs(relative_slope(p, q, alpha, beta)) <= kappa * (1 + mpmath.mpf(10) ** -20)


# --- values and accuracy against the formula at REFERENCE_DPS digits ----------------------


@pytest.mark.parametrize("wrt", ["both", "p", "q"])
@pytest.mark.parametrize(("p", "q"), PAIRS)
def test_fixed_pairs(p, q, wrt):
    assert within_claim(kl_condition_number(p, q, wrt=wrt, normalize=True), reference(p, q, wrt))


@pytest.mark.parametrize(("p", "q"), [([5e-324, 1.0], [0.5, 0.5]), ([0.5, 0.5], [5e-324, 1.0]),
                                    ([1e-300, 1.0, 0.0], [1.0, 1e-300, 1.0])])
def test_ratios_beyond_the_double_range(p, q):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for wrt in ("both", "p", "q"):
            value = kl_condition_number(p, q, wrt=wrt, normalize=True)
            assert within_claim(value, reference(p, q, wrt), p, q)


# Pairs whose entries span hundreds of orders of magnitude, found by a random search (they
# hit products that underflow, quotients that are subnormal or out of range, a divergence of
# 1e-112, totals that overflow): each was wrong before the computation was made robust.
WIDE_PAIRS = [
    ([5.067989275410471e-171, 1.6352952147063278e-127], [1.4517852377592652e-147, 1.1931262625738874e-286]),
    ([1.782380026538706e-244, 1.3084150038430409e-130], [4.963091819415968e-289, 1.3072551169634554e-123]),
    ([0.0004046420668708961, 6.397360898568188e-117, 2.51956852190691e+36, 6.8220151667895e+51,
      3121295689768249.0, 3.3765133925712384e+77, 2.7524054839867573e-59, 3.570791322174076e+120,
      5.931884681313215e+52],
     [4.3894297015995265e-230, 3.473465963822701e-98, 6.494508152501532e-92, 1.3115252465680656e-27,
      2.7375378572404346e-156, 2.794887169266023e-230, 3.6726768728485804e-259, 9.16489385263951e-201,
      2.9399163146685892e-173]),
    ([2.4597559343362183e-172, 1.2329881864859528e-167, 4.755754557454097e-33, 2.6621804935418568e-11],
     [2.8383646549422984e-265, 5.106364102699789e-279, 2.729545518538544e-23, 8.679701012487366e-206]),
    ([0.0, 4.067592278161717e+148, 7.194390065943451e+148, 1.8048966269996073e+150],
     [4.855028737041252e-253, 5.588843967143218e-251, 2.4857028408870243e-251, 7.172398366765588e-251]),
    ([1e308, 1e308, 1e300], [1e308, 5e307, 1e307]),
]


@pytest.mark.parametrize("wrt", ["both", "p", "q"])
@pytest.mark.parametrize(("p", "q"), WIDE_PAIRS)
def test_pairs_across_the_double_range(p, q, wrt):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = kl_condition_number(p, q, wrt=wrt, normalize=True)
    assert within_claim(value, reference(p, q, wrt), p, q)


# Divergences that are subnormal or underflow in double precision while kappa is modest
# (found by a referee): the first warned (divide by zero) and the next two were wrong
# (10.0 for 12.355; off by 1.3e-4), the last was inf for a kappa of 2.01.
TINY_DIVERGENCES = [
    ([1.0, 1e-323], [1.0, 5e-324]),
    ([1.0, 4e-323], [1.0, 2e-323]),
    ([1.0, 1e-320], [1.0, 2e-320]),
    ([7.49e240, 3.71e-142], [3.77e224, 2.96e-316]),
    ([1.0, 1e-300], [1.0, 1e-300 * (1 + 1e-8)]),       # normal entries, D about 5e-317
]


@pytest.mark.parametrize("wrt", ["both", "p", "q"])
@pytest.mark.parametrize(("p", "q"), TINY_DIVERGENCES)
def test_divergences_below_the_normal_range(p, q, wrt):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = kl_condition_number(p, q, wrt=wrt, normalize=True)
    assert np.isfinite(value)
    # recomputed in high precision: the strict claim, although the entries differ by less
    # than 1e-17 (the weaker claim for such pairs would let 10.0 for 12.355 pass)
    assert within_claim(value, reference(p, q, wrt))


def test_rows_with_tiny_divergences_among_others():
    # one row recomputed in high precision, the others not; along either axis
    p = np.array([[0.5, 0.5], [1.0, 4e-323], [0.2, 0.8]])
    q = np.array([[0.25, 0.75], [1.0, 2e-323], [0.2, 0.8]])
    rows = kl_condition_number(p, q, normalize=True)
    columns = kl_condition_number(p.T, q.T, axis=0, normalize=True)
    assert rows[2] == np.inf and columns[2] == np.inf          # the equal pair
    for i in range(2):
        assert within_claim(rows[i], reference(p[i].tolist(), q[i].tolist()))
        assert columns[i] == rows[i]


@pytest.mark.parametrize("layout", ["axis0", "fortran"])
def test_a_strided_axis_keeps_the_accuracy(layout):
    # numpy sums a strided axis one entry after another, not pairwise: with 4e5 outcomes
    # the result was off by 5.5e-12 along axis 0 (1.5e-16 along a contiguous last axis)
    n = 400_000
    p = np.full(n, 1 / n)
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    q = p * (1 + 0.01 * sign)
    with mpmath.workdps(40):   # two distinct entries of each: the formula in closed form
        b_up, b_down = mpmath.mpf(float(q[0])), mpmath.mpf(float(q[1]))
        P, half = 1 / mpmath.mpf(n), n // 2
        Q_up, Q_down = b_up / (half * (b_up + b_down)), b_down / (half * (b_up + b_down))
        # p^ = 1/n exactly, all entries of p being equal
        d = half * P * (mpmath.log(P / Q_up) + mpmath.log(P / Q_down))
        exact = (half * (abs(Q_up - P) + abs(Q_down - P))
                 + half * P * (abs(mpmath.log(P / Q_up) - d) + abs(mpmath.log(P / Q_down) - d))) / d
    if layout == "axis0":
        value = kl_condition_number(np.stack([p, p], axis=1), np.stack([q, q], axis=1), axis=0)
    else:
        value = kl_condition_number(np.asfortranarray(np.stack([p, p])),
                                    np.asfortranarray(np.stack([q, q])))
    assert all(within_claim(v, exact) for v in value)


def test_float32_distributions_are_accepted_with_their_own_rounding():
    # a distribution normalised in float32 sums to 1 within a few float32 roundings only
    rng = np.random.default_rng(11)
    p = rng.dirichlet(np.ones(7)).astype(np.float32)
    q = np.full(7, 1 / 7, dtype=np.float32)
    assert abs(float(p.astype(np.float64).sum()) - 1) > 1e-9      # rejected before
    value = kl_condition_number(p, q)
    assert within_claim(value, reference(p.tolist(), q.tolist()))
    with pytest.raises(ValueError, match=r"^p must sum to 1.*float32"):
        kl_condition_number(np.array([0.5, 0.6], dtype=np.float32), q[:2])


def test_the_docstring_example_by_hand():
    # D = log(4/3)/2, |q - p| sums to 1/2, |log(p/q) - D| = log(3)/2 for both outcomes
    d = mpmath.log(mpmath.mpf(4) / 3) / 2
    exact = (mpmath.mpf(1) / 2 + mpmath.log(3) / 2) / d
    assert within_claim(kl_condition_number([0.5, 0.5], [0.25, 0.75]), exact)


def positive_arrays(n, low=-3.0):
    return st.lists(st.floats(low, 0.0), min_size=n, max_size=n).map(
        lambda e: 10.0 ** np.array(e))


@st.composite
def pairs(draw):
    n = draw(st.integers(2, 8))
    p = draw(positive_arrays(n))
    kind = draw(st.sampled_from(["random", "near", "zeros", "wide"]))
    if kind == "random":
        q = draw(positive_arrays(n))
    elif kind == "near":
        t = 10.0 ** -draw(st.integers(1, 14))
        z = np.array(draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n)))
        q = p * (1 + t * z)
    elif kind == "zeros":
        q = draw(positive_arrays(n))
        p = np.where(np.arange(n) < draw(st.integers(1, n - 1)), 0.0, p)
    else:  # magnitudes from 1e-300 to 1
        p, q = draw(positive_arrays(n, -300.0)), draw(positive_arrays(n, -300.0))
    # totals far from 1 and from each other, by factors that are not powers of two
    p_scale = draw(st.sampled_from([1.0, 3.0, 1e-200, 7e150]))
    q_scale = draw(st.sampled_from([1.0, 0.7, 1e-250, 5e200]))
    p, q = p * p_scale, q * q_scale
    assume(0 < p.sum() < np.inf and 0 < q.sum() < np.inf)  # nothing underflows to all zeros
    return p, q


@settings(max_examples=150, deadline=None)
@given(pairs(), st.sampled_from(["both", "p", "q"]))
def test_accuracy_against_the_formula(pair, wrt):
    p, q = pair
    assume(usable(p, q))  # finite, and the normalised pair differs
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning may reach the user
        value = kl_condition_number(p, q, wrt=wrt, normalize=True)
    assert within_claim(value, reference(p, q, wrt), p, q), (p.tolist(), q.tolist())


@settings(max_examples=60, deadline=None)
@given(pairs())
def test_distributions_without_normalize(pair):
    p, q = pair
    p, q = p / p.sum(), q / q.sum()  # totals 1 up to rounding: accepted without normalize
    assume(usable(p, q))
    assert within_claim(kl_condition_number(p, q), reference(p, q), p, q)


def test_a_pair_closer_than_the_rounding_of_its_totals():
    # p and 0.7 p, each divided by its total: the normalised entries differ by about 1e-21
    p = np.array([1.0, 1.0, 1.0, 0.001, 1.0, 1.0])
    p, q = p / p.sum(), 0.7 * p / (0.7 * p).sum()
    spread = mpmath.fsum(abs(b - a) for a, b in zip(normalised(p), normalised(q)))
    assert 0 < spread < 1e-17
    value = kl_condition_number(p, q)
    assert within_claim(value, reference(p, q), p, q)
    assert value > 1e17  # and it is huge, as it should be


# --- laws -----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(pairs())
def test_the_parts_add_up(pair):
    p, q = pair
    assume(usable(p, q))
    parts = [float(kl_condition_number(p, q, wrt=w, normalize=True)) for w in ("p", "q")]
    assert float(kl_condition_number(p, q, normalize=True)) == pytest.approx(sum(parts),
                                                                              rel=1e-14)


@settings(max_examples=60, deadline=None)
@given(pairs())
def test_kappa_q_is_at_least_one_over_the_largest_relative_difference(pair):
    # the chapter's bound, from D <= chi^2(P || Q): kappa_q >= 1 / max |p^/q^ - 1|
    p, q = pair
    assume(usable(p, q))
    with mpmath.workdps(REFERENCE_DPS):
        P, Q = normalised(p), normalised(q)
        assume(all(b > 0 for b in Q))
        largest = max(abs(a / b - 1) for a, b in zip(P, Q))
        value = mpmath.mpf(float(kl_condition_number(p, q, wrt="q", normalize=True)))
        assert value * largest >= 1 - mpmath.mpf(1e-12)


@pytest.mark.parametrize("t", [1e-3, 1e-6, 1e-9])
def test_near_identical_pairs_have_kappa_about_four_over_t(t):
    # q = p (1 + t x) with sum p x = 0 and |x_i| = 1: kappa_p and kappa_q tend to 2 / t each
    p = np.array([0.125, 0.375, 0.25, 0.25])
    x = np.array([1.0, 1.0, -1.0, -1.0])         # sum p x = 0.125 + 0.375 - 0.25 - 0.25 = 0
    q = p * (1 + t * x)
    # (up to O(t), and the rounding of q, which moves each x_i by up to 2^-53 / t)
    tolerance = 3 * t + 10 * 2.0**-53 / t
    for wrt in ("p", "q"):
        assert float(kl_condition_number(p, q, wrt=wrt)) * t == pytest.approx(2.0, rel=tolerance)
    assert float(kl_condition_number(p, q)) * t == pytest.approx(4.0, rel=tolerance)


def test_invariant_under_scaling_and_permutation():
    rng = np.random.default_rng(5)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    base = float(kl_condition_number(p, q))
    assert float(kl_condition_number(2.0**40 * p, 2.0**-30 * q, normalize=True)) == \
        pytest.approx(base, rel=1e-14)
    order = rng.permutation(6)
    assert float(kl_condition_number(p[order], q[order])) == pytest.approx(base, rel=1e-13)


def test_arrays_along_an_axis():
    rng = np.random.default_rng(6)
    p, q = rng.dirichlet(np.ones(4), size=3), rng.dirichlet(np.ones(4), size=3)
    rows = kl_condition_number(p, q)
    assert rows.shape == (3,)
    columns = kl_condition_number(p.T, q.T, axis=0, wrt="q")
    for i in range(3):
        assert rows[i] == pytest.approx(float(kl_condition_number(p[i], q[i])), rel=1e-15)
        assert columns[i] == pytest.approx(float(kl_condition_number(p[i], q[i], wrt="q")),
                                           rel=1e-15)
    assert kl_condition_number(p, q[0]).shape == (3,)  # broadcast


def test_zero_divergence_is_infinitely_ill_conditioned():
    p = np.array([0.2, 0.3, 0.5])
    assert kl_condition_number(p, p) == np.inf
    assert kl_condition_number(p, 4.0 * p, normalize=True) == np.inf   # 4 p is exact
    assert kl_condition_number([1.0, 0.0], [1.0, 0.0], wrt="p") == np.inf


def test_a_point_mass_p_has_no_p_part():
    # perturbing p = (1, 0) relatively leaves its normalisation unchanged
    assert kl_condition_number([1.0, 0.0], [0.5, 0.5], wrt="p") == 0.0


# --- bad input ---------------------------------------------------------------------------------


def test_an_infinite_divergence_has_no_condition_number():
    with pytest.raises(ValueError, match="infinite"):
        kl_condition_number([0.5, 0.5], [1.0, 0.0])


@pytest.mark.parametrize("wrt", ["x", "P", None, 1])
def test_wrt_is_checked(wrt):
    with pytest.raises(ValueError, match="wrt must be one of"):
        kl_condition_number([0.5, 0.5], [0.4, 0.6], wrt=wrt)


@pytest.mark.parametrize(("p", "q", "error", "name"), [
    (["0.5", "0.5"], [0.4, 0.6], TypeError, "p"),
    ([0.5, 0.5], [0.4, np.nan], ValueError, "q"),
    ([0.5, 0.6], [0.4, 0.6], ValueError, "p"),
    ([0.5, 0.5], [-0.4, 1.4], ValueError, "q"),
])
def test_bad_input_names_the_argument(p, q, error, name):
    with pytest.raises(error, match=rf"^{name}\b"):
        kl_condition_number(p, q)
