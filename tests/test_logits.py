"""Tests of klbook.logits: softmax, cross-entropy and KL from logits.

References are computed independently at 50 digits with mpmath from the exact
float64 inputs: log softmax(z)_j = -log(1 + sum_{k != j} exp(z_k - z_j)), which mpmath
evaluates without overflow (its exponent range is unbounded), written with
log1p so that the reference itself does not cancel.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from klbook import cross_entropy, entropy, kl_divergence
from klbook.logits import log_softmax, softmax, softmax_cross_entropy, softmax_kl_divergence

mpmath.mp.dps = 50
EPS = np.finfo(float).eps


def reference_log_softmax(z) -> list[mpmath.mpf]:
    # log q_j = -log(1 + sum_{k != j} exp(z_k - z_j)): the differences of doubles are
    # exact at 50 digits, and log1p keeps a tiny tail that z_j - log(sum) would cancel.
    Z = [mpmath.mpf(float(v)) for v in z]
    return [
        -mpmath.log1p(mpmath.fsum(mpmath.exp(b - a) for k, b in enumerate(Z) if k != j))
        for j, a in enumerate(Z)
    ]


def reference_cross_entropy(y, z) -> mpmath.mpf:
    Y = [mpmath.mpf(float(v)) for v in y]
    total = mpmath.fsum(Y)
    return -mpmath.fsum(a / total * lq for a, lq in zip(Y, reference_log_softmax(z)) if a > 0)


def reference_kl(y, z) -> mpmath.mpf:
    Y = [mpmath.mpf(float(v)) for v in y]
    total = mpmath.fsum(Y)
    return mpmath.fsum(
        a / total * (mpmath.log(a / total) - lq)
        for a, lq in zip(Y, reference_log_softmax(z)) if a > 0
    )


TINIEST = 2.0**-1074  # the smallest subnormal double


def relative_error(value: float, reference: mpmath.mpf) -> float:
    """Relative error, except that results in the subnormal range (or underflowing to 0)
    are judged by their absolute error in units of the smallest subnormal: a double
    cannot hold them any better."""
    error = abs(mpmath.mpf(float(value)) - reference)
    if abs(reference) < 2.0**-1022:
        return float(error / TINIEST) * EPS
    return float(error / abs(reference))


def random_simplex(rng, k):
    return rng.dirichlet(np.ones(k))


# --- known values ---------------------------------------------------------------------


def test_uniform_logits_give_log_k():
    for k in [1, 2, 5, 1000]:
        y = np.eye(k)[0]
        assert softmax_cross_entropy(y, np.zeros(k)) == pytest.approx(np.log(k), rel=1e-15, abs=0)


def test_one_hot_cross_entropy_is_lse_minus_true_logit():
    # H(e_c, softmax z) = log(e^2 + e^0 + e^-1) - z_c, computed exactly by mpmath
    z = [2.0, 0.0, -1.0]
    lse = mpmath.log(mpmath.e**2 + 1 + mpmath.e**-1)
    for c in range(3):
        expected = float(lse - z[c])
        assert softmax_cross_entropy(np.eye(3)[c], z) == pytest.approx(expected, rel=1e-15)


def test_extreme_logits_exact_values():
    # z = (1000, -1000): log softmax = (-log(1 + e^-2000), -2000 - log(1 + e^-2000));
    # e^-2000 is far below the double range, so the doubles are exactly 0 and -2000.
    assert log_softmax([1000.0, -1000.0]).tolist() == [0.0, -2000.0]
    assert softmax_cross_entropy([0, 1], [1000.0, -1000.0]) == 2000.0
    assert softmax_cross_entropy([1, 0], [1000.0, -1000.0]) == 0.0
    # soft label (1/2, 1/2): KL = 1/2 log(1/2) + 1/2 (log(1/2) + 2000) = 1000 - log 2
    expected = float(1000 - mpmath.log(2))
    assert softmax_kl_divergence([0.5, 0.5], [1000.0, -1000.0]) == pytest.approx(expected, rel=1e-15)


def test_naive_softmax_really_overflows_where_klbook_does_not():
    # The premise of the module: the textbook formula fails at these logits.
    z = np.array([1000.0, -1000.0, 0.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(z) / np.exp(z).sum()
    assert np.isnan(naive).any()
    assert np.isfinite(softmax(z)).all()
    assert softmax(z) == pytest.approx([1.0, 0.0, 0.0], abs=0)


def test_softmax_is_shift_invariant_and_sums_to_one():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(20, 6)) * 30
    p = softmax(z)
    assert np.allclose(p.sum(axis=-1), 1.0, rtol=0, atol=4 * EPS)
    assert np.array_equal(softmax(z + 1e3), softmax(z + 1e3))  # deterministic
    assert np.allclose(softmax(z + 500.0), p, rtol=1e-12, atol=1e-300)


def test_kl_is_cross_entropy_minus_label_entropy_away_from_cancellation():
    rng = np.random.default_rng(3)
    for _ in range(50):
        y, z = random_simplex(rng, 5), rng.normal(size=5) * 3
        ce = softmax_cross_entropy(y, z)
        assert softmax_kl_divergence(y, z) == pytest.approx(ce - entropy(y), rel=1e-12, abs=1e-14)


def test_one_hot_kl_equals_cross_entropy():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(30, 7)) * 10
    labels = np.eye(7)[rng.integers(0, 7, size=30)]
    assert np.allclose(softmax_kl_divergence(labels, z), softmax_cross_entropy(labels, z),
                       rtol=1e-14, atol=0)


def test_agrees_with_core_functions_on_moderate_logits():
    rng = np.random.default_rng(5)
    y, z = random_simplex(rng, 8), rng.normal(size=8)
    q = softmax(z)
    assert softmax_cross_entropy(y, z) == pytest.approx(cross_entropy(y, q, normalize=True), rel=1e-14)
    assert softmax_kl_divergence(y, z) == pytest.approx(kl_divergence(y, q, normalize=True), rel=1e-13)


# --- units, shapes, axis ------------------------------------------------------------------


@pytest.mark.parametrize("function", [softmax_cross_entropy, softmax_kl_divergence])
@pytest.mark.parametrize("base", [2, 10, 0.5])
def test_base_divides_by_log_base(function, base):
    y, z = [0.2, 0.3, 0.5], [1.0, -2.0, 0.5]
    assert function(y, z, base=base) == pytest.approx(function(y, z) / np.log(base), rel=1e-14)


@pytest.mark.parametrize("function", [softmax_cross_entropy, softmax_kl_divergence])
def test_batches_broadcast_and_axis(function):
    rng = np.random.default_rng(6)
    y = rng.dirichlet(np.ones(4), size=3)            # (3, 4)
    z = rng.normal(size=(2, 1, 4))                   # broadcasts to (2, 3, 4)
    batched = function(y, z)
    assert batched.shape == (2, 3)
    for a in range(2):
        for b in range(3):
            assert batched[a, b] == pytest.approx(function(y[b], z[a, 0]), rel=1e-15)
    full_y, full_z = np.broadcast_arrays(y, z)
    moved = function(np.moveaxis(full_y, -1, 0), np.moveaxis(full_z, -1, 0), axis=0)
    assert np.allclose(moved, batched, rtol=1e-15, atol=0)


def test_log_softmax_axis():
    z = np.arange(12.0).reshape(3, 4)
    assert np.allclose(log_softmax(z, axis=0), log_softmax(z.T).T, rtol=0, atol=1e-15)


def test_lists_tuples_and_integer_logits():
    assert softmax_cross_entropy((0, 1), [3, 4]) == softmax_cross_entropy(
        np.array([0.0, 1.0]), np.array([3.0, 4.0]))


def test_normalize_accepts_unnormalised_labels():
    z = [0.3, -0.2, 1.0]
    assert softmax_cross_entropy([2, 1, 1], z, normalize=True) == pytest.approx(
        softmax_cross_entropy([0.5, 0.25, 0.25], z), rel=1e-15)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("function", [softmax_cross_entropy, softmax_kl_divergence])
@pytest.mark.parametrize(
    "labels, logits, error, words",
    [
        ([0.5, 0.6], [0.0, 0.0], ValueError, "labels must sum to 1"),
        ([-0.5, 1.5], [0.0, 0.0], ValueError, "labels has a negative entry"),
        ([0.5, np.nan], [0.0, 0.0], ValueError, "labels contains NaN"),
        ([0.5, 0.5], [0.0, np.nan], ValueError, "logits contains NaN"),
        ([0.5, 0.5], [0.0, np.inf], ValueError, "logits contains an infinite entry"),
        ([0.5, 0.5], [0.0, -np.inf], ValueError, "logits contains an infinite entry"),
        ([0.5, 0.5], [0.0, 0.0, 0.0], ValueError, "do not broadcast"),
        ([], [], ValueError, "empty"),
        (0.5, 1.0, ValueError, "scalar"),
        ([0.5, 0.5], ["a", "b"], TypeError, "logits must be numeric"),
        ([0.5, 0.5], [1 + 1j, 0], TypeError, "logits must be real"),
        ([True, False], [0.0, 0.0], TypeError, "labels must hold numbers"),
    ],
)
def test_bad_input_names_the_argument(function, labels, logits, error, words):
    with pytest.raises(error, match=words):
        function(labels, logits)


@pytest.mark.parametrize("function", [softmax_cross_entropy, softmax_kl_divergence])
def test_bad_base_axis_normalize(function):
    with pytest.raises(ValueError, match="base"):
        function([0.5, 0.5], [0.0, 0.0], base=1)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        function([0.5, 0.5], [0.0, 0.0], axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        function([0.5, 0.5], [0.0, 0.0], axis=0.0)
    with pytest.raises(TypeError, match="normalize must be True or False"):
        function([0.5, 0.5], [0.0, 0.0], normalize="yes")


def test_log_softmax_bad_input():
    with pytest.raises(ValueError, match="logits contains NaN"):
        log_softmax([0.0, np.nan])
    with pytest.raises(TypeError, match="logits must hold numbers"):
        softmax([True, False])


# --- accuracy against mpmath ---------------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_log_softmax_accuracy(scale):
    rng = np.random.default_rng(11)
    for _ in range(40):
        z = rng.uniform(-scale, scale, size=6)
        ref = reference_log_softmax(z)
        got = log_softmax(z)
        for value, r in zip(got, ref):
            # absolute error relative to the size of the terms that form it
            assert abs(mpmath.mpf(float(value)) - r) <= 4 * EPS * (abs(r) + 1)


def test_log_softmax_keeps_the_tail_of_the_top_class():
    # log softmax of the top class is -log(1 + e^-40) ~ -4.25e-18; log(sum) would give 0
    z = [40.0, 0.0]
    ref = reference_log_softmax(z)[0]
    assert relative_error(log_softmax(z)[0], ref) <= 2 * EPS
    assert relative_error(softmax_cross_entropy([1, 0], z), -ref) <= 2 * EPS


def test_confident_correct_prediction_keeps_its_tiny_loss():
    # Top logit ~ 1000 ahead of the rest by ~700: the loss is ~e^-700, and the rounding
    # of the shift z_k - max(z) (up to 6e-14 absolute) must not reach it.
    rng = np.random.default_rng(13)
    for _ in range(50):
        top = rng.uniform(900, 1000)
        z = np.r_[top, rng.uniform(top - 740, top - 600, size=3)]
        ref = reference_cross_entropy([1, 0, 0, 0], z)
        assert relative_error(softmax_cross_entropy([1, 0, 0, 0], z), ref) <= 2 * EPS


@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
@pytest.mark.parametrize("one_hot", [True, False])
def test_cross_entropy_accuracy_including_extreme_logits(scale, one_hot):
    rng = np.random.default_rng(int(scale) + one_hot)
    worst = 0.0
    for _ in range(60):
        k = int(rng.integers(2, 12))
        z = rng.uniform(-scale, scale, size=k)
        y = np.eye(k)[rng.integers(k)] if one_hot else random_simplex(rng, k)
        worst = max(worst, relative_error(softmax_cross_entropy(y, z), reference_cross_entropy(y, z)))
    assert worst <= 2e-15


@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_kl_accuracy_including_extreme_logits(scale):
    rng = np.random.default_rng(100 + int(scale))
    worst = 0.0
    for _ in range(60):
        k = int(rng.integers(2, 12))
        y, z = random_simplex(rng, k), rng.uniform(-scale, scale, size=k)
        worst = max(worst, relative_error(softmax_kl_divergence(y, z), reference_kl(y, z)))
    assert worst <= 3e-14


def test_kl_near_identical_is_non_negative_and_accurate_to_its_conditioning():
    # labels = softmax(z) perturbed by a relative 1e-8: D ~ 1e-16. Rounding of about
    # EPS * |log q| in each log term is inherent in the inputs, so the attainable error
    # is about EPS * max|log q| * sqrt(2 D); the cross-entropy difference is far worse.
    rng = np.random.default_rng(12)
    for _ in range(40):
        z = rng.normal(size=10)
        q = softmax(z)
        y = q * (1 + 1e-8 * rng.normal(size=10))
        y /= y.sum()
        ref = reference_kl(y, z)
        got = softmax_kl_divergence(y, z)
        assert got >= 0
        scale = EPS * float(np.max(np.abs(np.log(q)))) * float(mpmath.sqrt(2 * ref))
        assert abs(mpmath.mpf(float(got)) - ref) <= 8 * scale


# --- laws ------------------------------------------------------------------------------------

logit_vectors = hnp.arrays(np.float64, st.integers(2, 8),
                           elements=st.floats(-1000, 1000, allow_nan=False, allow_infinity=False))


@settings(max_examples=200, deadline=None)
@given(logit_vectors, st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))
def test_cross_entropy_is_invariant_to_adding_a_constant_to_logits(z, shift):
    y = softmax(np.zeros_like(z))          # uniform labels
    # adding a constant rounds each logit by at most half an ulp of 2000: the values
    # agree up to that perturbation
    assert softmax_cross_entropy(y, z + shift) == pytest.approx(
        softmax_cross_entropy(y, z), rel=1e-12, abs=1e-12 * 2000)


@settings(max_examples=200, deadline=None)
@given(logit_vectors, st.data())
def test_kl_non_negative_zero_at_match_and_gibbs_for_cross_entropy(z, data):
    k = z.size
    weights = data.draw(hnp.arrays(np.float64, k, elements=st.floats(0, 1)))
    if weights.sum() == 0:
        weights[0] = 1.0
    y = weights / weights.sum()
    kl = softmax_kl_divergence(y, z)
    assert kl >= 0
    # H(y, softmax z) >= H(y) (Gibbs), up to rounding of the two sums
    assert softmax_cross_entropy(y, z) >= entropy(y) - 1e-12 * (1 + entropy(y))
    # the prediction itself, as labels, has divergence 0 (to rounding of softmax)
    assert softmax_kl_divergence(softmax(z), z, normalize=True) <= 1e-15


@settings(max_examples=100, deadline=None)
@given(logit_vectors, st.data())
def test_permuting_classes_changes_nothing(z, data):
    perm = data.draw(st.permutations(range(z.size)))
    y = np.linspace(1.0, 2.0, z.size)
    y /= y.sum()
    perm = np.asarray(perm)
    assert softmax_kl_divergence(y[perm], z[perm]) == pytest.approx(
        softmax_kl_divergence(y, z), rel=1e-12, abs=1e-300)


def test_a_spread_beyond_the_double_range_gives_the_rounded_log_probabilities(recwarn):
    # log softmax of (9e307, -9e307) is (0, -1.8e308): the second rounds to -inf, and its
    # probability to 0. It was NaN (the two-sum correction computed inf - inf).
    assert log_softmax([9e307, -9e307]).tolist() == [0.0, -np.inf]
    assert softmax([9e307, -9e307]).tolist() == [1.0, 0.0]
    assert log_softmax([[1e308, -1e308, 0.0]]).tolist() == [[0.0, -np.inf, -1e308]]
    assert float(softmax_cross_entropy([1.0, 0.0], [9e307, -9e307])) == 0.0
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# --- logits spread over more than the largest double (issue 15) ----------------------------

MAX = float(np.finfo(np.float64).max)
HALF_MAX = MAX / 2  # exact: a spread of twice it is the largest double


def exact_kl_and_cross_entropy(y, z, digits):
    """KL and cross-entropy at `digits` digits, from the exact doubles (label totals,
    logit differences and all: mpmath's exponent range is unbounded)."""
    with mpmath.workdps(digits):
        return reference_kl(y, z), reference_cross_entropy(y, z)


def judged(value, reference, allowance=0):
    """The relative error, or 0 when the exact value rounds to inf and `value` is inf
    (a result beyond the largest double is inf, its rounding): inf otherwise. An absolute
    `allowance` (the effect of rounded logarithms that the docstring documents) is
    subtracted from the error first."""
    if abs(reference) > mpmath.mpf(MAX) * (1 + mpmath.mpf(2) ** -54):
        return 0.0 if value == np.inf else np.inf
    if not np.isfinite(value):
        return np.inf
    error = abs(mpmath.mpf(float(value)) - reference)
    if allowance and error > 0:
        return relative_error(value, reference) * float(max(error - allowance, 0) / error)
    return relative_error(value, reference)


def log_rounding_allowance(y, z, digits):
    """4 eps sum_j y_j |t_j| (|log q_j| + |log y_j|), t_j = log q_j - log y_j: what the
    roundings of log q_j and log y_j (an ulp each, on any libm) move the divergence by,
    as softmax_kl_divergence's Notes state."""
    with mpmath.workdps(digits):
        Y = [mpmath.mpf(float(v)) for v in y]
        total = mpmath.fsum(Y)
        terms = []
        for a, log_q in zip(Y, reference_log_softmax(z)):
            if a > 0:
                log_y = mpmath.log(a / total)
                terms.append(a / total * abs(log_q - log_y) * (abs(log_q) + abs(log_y)))
        return 4 * EPS * mpmath.fsum(terms)


SPREAD_CASES = [
    # the issue's example: exact 9e307 - log 2, was inf
    ([0.5, 0.5], [9e307, -9e307]),
    ([0.3, 0.7], [9e307, -9e307]),
    ([0.3, 0.0, 0.7], [9e307, 0.0, -9e307]),            # a label of 0 between the extremes
    ([0.25, 0.25, 0.5], [MAX, -MAX, -MAX]),             # the largest spread there is
    ([1.0, 0.0], [MAX, -MAX]),                          # the top class: loss 0
    ([0.0, 1.0], [1e308, -1e308]),                      # loss 2e308: beyond the doubles, inf
    ([1e-300, 1.0], [MAX, -MAX]),                       # a tiny label times a huge log q
    # neighbours of the overflow threshold of z - max(z) (a spread of MAX)
    ([0.5, 0.5], [HALF_MAX, -HALF_MAX]),
    ([0.5, 0.5], [HALF_MAX, -np.nextafter(HALF_MAX, np.inf)]),
    ([0.5, 0.5], [np.nextafter(HALF_MAX, 0), -HALF_MAX]),
    ([0.1, 0.2, 0.7], [1e308, 0.0, -1e308 + 1e292]),
    ([0.5, 0.5], [1e307, -1e307]),                      # far below the threshold
]


@pytest.mark.parametrize("labels, logits", SPREAD_CASES)
def test_losses_of_logits_spread_beyond_the_double_range(labels, logits, recwarn):
    kl_ref, ce_ref = exact_kl_and_cross_entropy(labels, logits, 50)
    assert judged(softmax_kl_divergence(labels, logits), kl_ref) <= 4 * EPS
    assert judged(softmax_cross_entropy(labels, logits), ce_ref) <= 4 * EPS
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_the_issue_example_is_finite():
    # 9e307 - log 2 rounds to 9e307: the doubles cannot hold the log 2
    assert softmax_kl_divergence([0.5, 0.5], [9e307, -9e307]) == 9e307
    assert softmax_cross_entropy([0.5, 0.5], [9e307, -9e307]) == 9e307
    # log_softmax itself is below the doubles there, and says so with -inf
    assert log_softmax([9e307, -9e307]).tolist() == [0.0, -np.inf]


@pytest.mark.parametrize("top_range", [1.0, 30.0, 700.0])
def test_one_hot_kl_keeps_the_digits_of_the_other_classes(top_range):
    # D(e_c || softmax z) = -log q_c = sum of the other probabilities, to first order: the
    # classes with y = 0 contribute q_j, taken from log q_j and its rounding error (the
    # rounding of z_j - max z alone costs |log q_j| * eps, 6e-14 at q ~ e^-700). The
    # shifts are rounded only if the top logit is not much larger than they are.
    rng = np.random.default_rng(int(top_range))
    worst = 0.0
    for _ in range(20):
        top = rng.uniform(-top_range, top_range)
        z = np.r_[top, top - rng.uniform(600, 740, size=3)]
        y = np.eye(4)[0]
        kl_ref, _ = exact_kl_and_cross_entropy(y, z, 50)
        worst = max(worst, judged(softmax_kl_divergence(y, z), kl_ref))
    assert worst <= 4 * EPS


def labels_and_logits():
    """Labels (flat, one-hot, with zeros, or near a point mass down to 1e-300) and logits
    whose spread ranges over 1e-300 .. 1.7e308, around centres from 0 to 1e307."""
    def build(k, spread, centre, kind, seed):
        rng = np.random.default_rng(seed)
        z = np.clip(centre + spread * rng.uniform(-1, 1, size=k), -MAX, MAX)
        if kind == 0:
            y = rng.dirichlet(np.ones(k))
        elif kind == 1:
            y = np.eye(k)[rng.integers(k)]
        elif kind == 2:
            y = rng.dirichlet(np.ones(k))
            y[rng.integers(k)] = 0.0
            y = y / y.sum() if y.sum() > 0 else np.eye(k)[0]
        else:
            y = np.full(k, 10.0 ** rng.uniform(-300, -5))
            y[0] = 1.0 - y[1:].sum()
        return y, z
    spreads = st.sampled_from([1e-300, 1e-100, 1e-16, 1.0, 30.0, 700.0, 1e5, 1e100, 1e300,
                               1e307, 8.9e307, 1e308, 1.7e308])
    centres = st.sampled_from([0.0, 1.0, -1e300, 1e307])
    return st.builds(build, st.integers(2, 6), spreads, centres, st.integers(0, 3),
                     st.integers(0, 2**32 - 1))


@settings(max_examples=120, deadline=None)
@given(labels_and_logits())
def test_losses_against_mpmath_over_the_whole_double_range(case):
    y, z = case
    # Labels that do not sum exactly to 1 in doubles are normalised by the exact total:
    # the reference needs the digits of the smallest label relative to 1.
    digits = 40 + int(-np.log10(y[y > 0].min()))
    kl_ref, ce_ref = exact_kl_and_cross_entropy(y, z, digits)
    allowance = log_rounding_allowance(y, z, digits)
    assert judged(softmax_kl_divergence(y, z, normalize=True), kl_ref, allowance) <= 4 * EPS
    assert judged(softmax_cross_entropy(y, z, normalize=True), ce_ref) <= 4 * EPS


@settings(max_examples=25, deadline=None)  # mpmath's exp(-1e308) is slow: few, varied cases
@given(st.floats(0.5, 1.0), st.floats(0.5, 1.0), st.floats(1e-6, 0.45), st.integers(0, 3),
       st.integers(0, 2**32 - 1))
def test_a_spread_beyond_the_doubles_leaves_a_representable_loss_finite(u, v, y_low, extra, seed):
    # logits MAX u and -MAX v: a spread beyond the largest double; with at most 0.45 of
    # the labels' mass on the lowest class the losses are below 0.9 MAX, so finite
    rng = np.random.default_rng(seed)
    z = np.r_[MAX * u, -MAX * v, rng.uniform(-1e300, 1e300, size=extra)]
    rest = rng.dirichlet(np.ones(extra + 1)) * (1 - y_low)
    y = np.r_[rest[0], y_low, rest[1:]]
    digits = 40 + int(-np.log10(y[y > 0].min()))
    kl_ref, ce_ref = exact_kl_and_cross_entropy(y, z, digits)
    assert abs(kl_ref) < MAX and abs(ce_ref) < MAX
    assert judged(softmax_kl_divergence(y, z, normalize=True), kl_ref) <= 4 * EPS
    assert judged(softmax_cross_entropy(y, z, normalize=True), ce_ref) <= 4 * EPS


def test_normalize_takes_totals_from_subnormal_to_beyond_the_largest_double():
    z = [0.3, -1.2, 2.0]
    flat = softmax_kl_divergence([1.0, 2.0, 1.0], z, normalize=True)
    # scaling the labels by a power of two changes no quotient y / total
    for scale in (2.0**1020, 2.0**-1060, 2.0**-1070):
        labels = np.array([1.0, 2.0, 1.0]) * scale
        assert softmax_kl_divergence(labels, z, normalize=True) == flat
        assert softmax_cross_entropy(labels, z, normalize=True) == softmax_cross_entropy(
            [1.0, 2.0, 1.0], z, normalize=True)
    # labels whose total overflows: the result is that of their exact proportions
    big = [1e308, 1.7e308, 5e307]
    kl_ref, ce_ref = exact_kl_and_cross_entropy(big, z, 50)
    assert relative_error(softmax_kl_divergence(big, z, normalize=True), kl_ref) <= 4 * EPS
    assert relative_error(softmax_cross_entropy(big, z, normalize=True), ce_ref) <= 4 * EPS
    # without normalize, such labels are simply not a distribution
    with pytest.raises(ValueError, match="labels must sum to 1"):
        softmax_kl_divergence(big, z)


# --- no numpy warning reaches the caller ----------------------------------------------------

EDGE_LOGITS = [[0.0, 0.0], [9e307, -9e307], [1e308, -1e308, 0.0], [MAX, -MAX], [1e-300, -1e-300],
               [5e-324, 0.0], [1000.0, -1000.0], [745.0, 0.0], [-800.0, 0.0, 800.0], [MAX, MAX],
               [-MAX, -MAX], [0.0], [np.nan, 0.0], [np.inf, 0.0], [], 0.0]
EDGE_LABELS = [[0.5, 0.5], [1.0, 0.0], [0.0, 1.0], [1 - 1e-16, 1e-16], [5e-324, 1.0],
               [1.0, 5e-324], [1.0], [1e308, 1e308], [MAX, 1.0], [1e-320, 3e-320], [0.0, 0.0],
               [np.nan, 1.0], [np.inf, 1.0], [2.0, 2.0], [], 1.0]


def test_no_warning_on_edge_inputs():
    # Every call returns a value that is not NaN, or raises a clear error; any numpy
    # warning is turned into an error and fails the test.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for z in EDGE_LOGITS:
            for function in (log_softmax, softmax):
                try:
                    assert not np.isnan(function(z)).any()
                except (ValueError, TypeError):
                    pass
            for y in EDGE_LABELS:
                for normalize in (False, True):
                    for function in (softmax_cross_entropy, softmax_kl_divergence):
                        try:
                            value = function(y, z, normalize=normalize)
                        except (ValueError, TypeError):
                            continue
                        assert not np.isnan(value).any() and (np.asarray(value) >= 0).all()
