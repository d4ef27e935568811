"""Tests of klbook._kl_kernel, the blocked pass behind kl_divergence.

The paths of the kernel (short rows, near rows, rows with far ratios reduced by
powers of two, zeros and ratios beyond the double range, rows longer than one
block) are each checked against a 50-digit mpmath reference, and batches
against the same rows one at a time, bit for bit.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from klbook import _kl_kernel, kl_divergence
from klbook.special import log1pmx

# mpmath's precision is global: the references raise it locally, never for the module.
DIGITS = 50
LONG = _kl_kernel._BLOCK + 1000  # two blocks, the second partial


@mpmath.workdps(DIGITS)
def reference_kl(p, q) -> mpmath.mpf:
    """KL(p/sum p || q/sum q) at 50 digits from the exact float64 entries (inf if q = 0 < p)."""
    P = [mpmath.mpf(float(v)) for v in p]
    Q = [mpmath.mpf(float(v)) for v in q]
    sp, sq = mpmath.fsum(P), mpmath.fsum(Q)
    total = mpmath.mpf(0)
    for a, b in zip(P, Q):
        if a > 0:
            if b == 0:
                return mpmath.inf
            total += (a / sp) * mpmath.log((a * sq) / (b * sp))
    return total


@mpmath.workdps(DIGITS)
def relative_error(value, reference) -> float:
    return float(abs((mpmath.mpf(float(value)) - reference) / reference))


def awkward_pair(n: int, seed: int):
    """Zeros in p, zeros in both, ratios of 1e±300, exact ratios 1/2 and 2, near and far entries."""
    rng = np.random.default_rng(seed)
    p = rng.standard_exponential(n)
    q = p * np.exp(rng.uniform(-3, 3, n))
    near = rng.random(n) < 0.3
    q[near] = p[near] * (1 + 1e-6 * rng.standard_normal(near.sum()))
    p[0], q[1], q[2] = 0.0, 0.5 * p[1], 2.0 * p[2]
    p[3] = q[3] = 0.0
    p[4], q[4] = 1e-300, 1.0
    p[5], q[5] = 1.0, 1e-300
    return p / p.sum(), q / q.sum()


@pytest.mark.parametrize("n", [10, 64, 65, 500, LONG])
def test_awkward_rows_match_mpmath(n):
    p, q = awkward_pair(n, seed=n)
    assert relative_error(kl_divergence(p, q), reference_kl(p, q)) <= 1e-14


@pytest.mark.parametrize("n", [10, 200, LONG])
@pytest.mark.parametrize("kind", ["near", "random"])
def test_clean_rows_match_mpmath(n, kind):
    rng = np.random.default_rng(n)
    p = rng.standard_exponential(n)
    p /= p.sum()
    if kind == "near":
        q = p * (1 + 1e-8 * rng.standard_normal(n))
    else:
        q = rng.standard_exponential(n)
    q /= q.sum()
    bound = 1e-15 if kind == "near" else 1e-14
    assert relative_error(kl_divergence(p, q), reference_kl(p, q)) <= bound


@pytest.mark.parametrize("n", [10, LONG])
def test_zero_q_in_a_later_block_gives_inf(n):
    p = np.full(n, 1.0 / n)
    q = p.copy()
    q[-1], q[-2] = 0.0, 2.0 * q[-2]
    assert kl_divergence(p, q) == np.inf


@pytest.mark.parametrize("bad, message", [(np.nan, "NaN"), (np.inf, "infinite"), (-1e-3, "negative")])
def test_bad_entry_in_a_later_block_is_reported_as_before(bad, message):
    p = np.full(LONG, 1.0 / LONG)
    q = p.copy()
    q[-3] = bad
    with pytest.raises(ValueError, match=message) as info:
        kl_divergence(p, q)
    assert str(info.value).startswith("q ")


@pytest.mark.parametrize("n", [7, 64, 300])
def test_batch_is_bit_identical_to_rows(n):
    rows = [awkward_pair(n, seed) for seed in range(3)]
    rng = np.random.default_rng(n)
    p = rng.dirichlet(np.ones(n))
    rows.append((p, rng.dirichlet(np.ones(n))))
    near = p * (1 + 1e-9 * rng.standard_normal(n))
    rows.append((p, near / near.sum()))
    # an all-near row with the exact ratios 2 and 1/2 (the edges of the series' interval)
    edge = p.copy()
    edge[0] = 0.25 * edge[1]
    edge /= edge.sum()
    q = edge.copy()
    q[0], q[1] = 2.0 * edge[0], edge[1] - edge[0]
    q[2] = 0.5 * edge[2]
    q[3] = edge[3] + 0.5 * edge[2]
    rows.append((edge, q))
    P = np.array([r[0] for r in rows])
    Q = np.array([r[1] for r in rows])
    one_by_one = [kl_divergence(p, q) for p, q in rows]
    np.testing.assert_array_equal(kl_divergence(P, Q), one_by_one)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 120),
                  elements=st.floats(0.0, 1.0) | st.sampled_from([0.0, 1e-300, 5e-324])),
       st.integers(0, 2**32 - 1))
def test_never_negative_and_matches_mpmath_on_arbitrary_entries(weights, seed):
    rng = np.random.default_rng(seed)
    q = weights * np.exp(rng.uniform(-2, 2, weights.size)) + rng.random(weights.size) * (weights > 0)
    if weights.sum() == 0 or q.sum() == 0:
        return
    value = kl_divergence(weights, q, normalize=True)
    reference = reference_kl(weights, q)
    assert value >= 0
    if reference == mpmath.inf:
        assert value == np.inf
    elif reference > 1e-250:
        assert relative_error(value, reference) <= 1e-13


def test_series_matches_mpmath_across_its_interval():
    """The 11-term polynomial on [0, 1/9] and the short Taylor sets, through log1pmx."""
    x = np.concatenate([np.linspace(-0.5, 1.0, 2001), 10.0 ** -np.arange(1, 17, 0.25)])
    values = log1pmx(x)
    with mpmath.workdps(DIGITS):
        worst = max(
            float(abs((mpmath.mpf(float(v)) - (mpmath.log1p(mpmath.mpf(float(t))) - mpmath.mpf(float(t))))
                      / (mpmath.log1p(mpmath.mpf(float(t))) - mpmath.mpf(float(t)))))
            for v, t in zip(values, x) if t != 0
        )
    assert worst <= 5e-16
