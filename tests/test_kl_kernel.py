"""Tests of klbook._kl_kernel, the one pass behind kl_divergence, in both implementations.

Every accuracy and edge test runs against the numpy pass and the compiled (numba) pass,
calling them directly or making kl_divergence and kl_normal use one of them: short rows,
near rows, rows with far ratios, the edges of the near/far triage, zeros, subnormal
entries, ratios beyond the double range, infinite, NaN and negative entries, rows longer
than a block or a chunk, and batches against the same rows one at a time, bit for bit.
References are mpmath at 50 digits from the exact float64 inputs, or, for rows of a
million entries, exact sums (math.fsum) of groups that share one exactly known ratio.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from klbook import _kl_kernel, kl_divergence
from klbook.continuous import kl_normal
from klbook.special import log1pmx

# mpmath's precision is global: the references raise it locally, never for the module.
DIGITS = 50
LONG = _kl_kernel._BLOCK + 1000  # two blocks of the numpy pass, the second partial
U = 2.0**-53

try:
    from klbook import _kl_kernel_compiled
except ImportError as error:  # numba is not installed (pip install klbook[fast])
    _kl_kernel_compiled, NO_COMPILED = None, f"no compiled pass: {error}"
else:
    if _kl_kernel_compiled.JIT_DISABLED:
        _kl_kernel_compiled, NO_COMPILED = None, "no compiled pass: NUMBA_DISABLE_JIT is set"
SUMS = {"numpy": _kl_kernel.numpy_sums, "compiled": _kl_kernel.compiled_sums}
IMPLEMENTATIONS = ["numpy", pytest.param("compiled", marks=pytest.mark.skipif(
    _kl_kernel_compiled is None, reason=_kl_kernel_compiled is None and NO_COMPILED))]
CHUNK = 4096 if _kl_kernel_compiled is None else _kl_kernel_compiled.CHUNK


@contextlib.contextmanager
def using(implementation: str):
    """kl_divergence and kl_normal computed by `implementation` inside the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_kl_kernel, "kl_sums", SUMS[implementation])
        patch.setattr(_kl_kernel, "IMPLEMENTATION", implementation)
        yield


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
def reference_phi_sum(p, q) -> mpmath.mpf:
    """sum p phi(q/p) = sum (q - p - p log(q/p)) at 50 digits (q where p = 0)."""
    total = mpmath.mpf(0)
    for a, b in zip(map(float, p), map(float, q)):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        if a == 0:
            total += b
        elif b == 0:
            return mpmath.inf
        else:
            total += b - a - a * mpmath.log(b / a)
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


# --- kl_divergence through either pass ----------------------------------------------------


@functools.cache
def awkward_case(n: int):
    """An awkward pair and its reference, computed once for both implementations."""
    p, q = awkward_pair(n, seed=n)
    return p, q, reference_kl(p, q)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n", [10, 64, 65, 500, CHUNK + 3, LONG])
def test_awkward_rows_match_mpmath(n, implementation):
    p, q, reference = awkward_case(n)
    with using(implementation):
        value = kl_divergence(p, q)
    assert relative_error(value, reference) <= 1e-14


@functools.cache
def clean_case(n: int, kind: str):
    rng = np.random.default_rng(n)
    p = rng.standard_exponential(n)
    p /= p.sum()
    if kind == "near":
        q = p * (1 + 1e-8 * rng.standard_normal(n))
    else:
        q = rng.standard_exponential(n)
    q /= q.sum()
    return p, q, reference_kl(p, q)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n", [10, 200, LONG])
@pytest.mark.parametrize("kind", ["near", "random"])
def test_clean_rows_match_mpmath(n, kind, implementation):
    p, q, reference = clean_case(n, kind)
    bound = 1e-15 if kind == "near" else 1e-14
    with using(implementation):
        value = kl_divergence(p, q)
    assert relative_error(value, reference) <= bound


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n", [10, CHUNK + 1, LONG])
def test_zero_q_in_a_later_block_gives_inf(n, implementation):
    p = np.full(n, 1.0 / n)
    q = p.copy()
    q[-1], q[-2] = 0.0, 2.0 * q[-2]
    with using(implementation):
        assert kl_divergence(p, q) == np.inf


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("bad, message", [(np.nan, "NaN"), (np.inf, "infinite"), (-1e-3, "negative")])
def test_bad_entry_in_a_later_block_is_reported_as_before(bad, message, implementation):
    p = np.full(LONG, 1.0 / LONG)
    q = p.copy()
    q[-3] = bad
    with using(implementation), pytest.raises(ValueError, match=message) as info:
        kl_divergence(p, q)
    assert str(info.value).startswith("q ")


def batch_rows(n: int):
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
    return rows


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n", [7, 64, 300, CHUNK + 5])
def test_batch_is_bit_identical_to_rows(n, implementation):
    rows = batch_rows(n)
    P = np.array([r[0] for r in rows])
    Q = np.array([r[1] for r in rows])
    with using(implementation):
        one_by_one = [kl_divergence(p, q) for p, q in rows]
        np.testing.assert_array_equal(kl_divergence(P, Q), one_by_one)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 120),
                  elements=st.floats(0.0, 1.0) | st.sampled_from([0.0, 1e-300, 5e-324])),
       st.integers(0, 2**32 - 1))
def test_never_negative_and_matches_mpmath_on_arbitrary_entries(implementation, weights, seed):
    rng = np.random.default_rng(seed)
    q = weights * np.exp(rng.uniform(-2, 2, weights.size)) + rng.random(weights.size) * (weights > 0)
    if weights.sum() == 0 or q.sum() == 0:
        return
    with using(implementation):
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


# --- the passes themselves -----------------------------------------------------------------


def sum_bound(values, n: int) -> float:
    """Rounding allowed in a pairwise sum of `values`: (log2 n + 3) u of the sum of |values|."""
    return (math.log2(max(n, 2)) + 3) * U * math.fsum(np.abs(values))


def assert_totals(sums, p, q):
    """Sp, Sq and Sd against math.fsum of the same numbers (exactly rounded)."""
    n = p.size
    difference = q - p
    for value, exact in [(sums.p_sum, p), (sums.q_sum, q), (sums.difference_sum, difference)]:
        assert abs(float(value) - math.fsum(exact)) <= sum_bound(exact, n)


def exact_ratio_row(n: int, seed: int):
    """A row in groups whose ratio q/p is one exactly known number per group, plus zeros.

    Every p has a 30-bit significand and every ratio at most 20 bits, so each
    q = p * ratio is exact and sum p phi(q/p) = sum over groups of phi(ratio) * (sum of
    the group's p), both factors known exactly. The ratios cover the near side (1 +
    2**-30, 1 - 2**-20), the edges of the series' interval (1/2, 2 and their
    neighbours within 2**-19), far ratios and the double range's ends (2**-1000, 2**1000).
    """
    ratios = [1 + 2.0**-30, 1 - 2.0**-20, 0.5, 2.0, 0.5 + 2.0**-20, 2.0 - 2.0**-19,
              0.5 - 2.0**-21, 2.0 + 2.0**-19, 3.0, 0.375, 1023.0, 2.0**-10 * 1.5,
              2.0**1000, 2.0**-1000]
    rng = np.random.default_rng(seed)
    group = rng.integers(0, len(ratios) + 1, n)  # the last group: p = 0
    p = np.ldexp(rng.integers(2**29, 2**30, n).astype(np.float64), -50 - rng.integers(0, 8, n))
    p[group == len(ratios)] = 0.0
    ratio = np.array(ratios + [1.0])[group]
    q = p * ratio
    zero_p = group == len(ratios)
    q[zero_p] = np.ldexp(rng.integers(2**29, 2**30, zero_p.sum()).astype(np.float64), -60)
    with mpmath.workdps(DIGITS):
        reference = mpmath.fsum(
            (mpmath.mpf(r) - 1 - mpmath.log(mpmath.mpf(r))) * mpmath.mpf(math.fsum(p[group == g]))
            for g, r in enumerate(ratios))
        reference += mpmath.mpf(math.fsum(q[zero_p]))
    return p, q, reference


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n", [5, 1000, CHUNK - 1, 3 * CHUNK + 2, LONG, 10**6])
def test_sums_of_exact_ratio_rows_against_exact_references(n, implementation):
    p, q, reference = exact_ratio_row(n, seed=n)
    sums = SUMS[implementation](p, q)
    assert sums.valid
    assert relative_error(sums.phi_sum, reference) <= 4e-15
    assert_totals(sums, p, q)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n", [3, 10, 4 * CHUNK + 3])
def test_sums_of_random_rows_against_mpmath(n, implementation):
    rng = np.random.default_rng(n)
    p = rng.standard_exponential(n)
    q = p * np.exp(rng.uniform(-40, 40, n))
    q[::3] = p[::3] * (1 + 1e-9 * rng.standard_normal(q[::3].size))
    sums = SUMS[implementation](p, q)
    assert relative_error(sums.phi_sum, reference_phi_sum(p, q)) <= 1e-14
    assert_totals(sums, p, q)


def edge_pairs():
    """Ratios next to the ends of the triage interval [1/2, 2] and next to powers of two."""
    p = np.array([1.0, 0.7, 3e-5, 1.3e200, 7e-200])
    pairs = []
    for base in p:
        for ratio in (0.5, 2.0, 4.0, 0.25, 1.0, 2.0**40, 2.0**-40):
            q = base * ratio
            for step in range(-3, 4):
                pairs.append((base, q * (1 + step * 2.0**-52)))
            pairs.append((base, np.nextafter(q, 0)))
            pairs.append((base, np.nextafter(q, np.inf)))
    return np.array(pairs).T


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_each_term_at_the_triage_edges_matches_mpmath(implementation):
    """One entry per row, so that each term is checked on its own."""
    p, q = edge_pairs()
    sums = SUMS[implementation](p[:, np.newaxis], q[:, np.newaxis])
    for value, a, b in zip(sums.phi_sum, p, q):
        reference = reference_phi_sum([a], [b])
        if reference == 0:
            assert value == 0
        else:
            assert relative_error(value, reference) <= 4 * U, (a, b, value)


def special_cases():
    """(p, q) pairs of single entries: zeros, subnormals, the double range's ends."""
    tiny, huge = 5e-324, 1.7976931348623157e308
    return [(0.0, 0.0), (0.0, 0.3), (0.3, 0.0), (tiny, 1.0), (1.0, tiny), (tiny, tiny),
            (tiny, 3 * tiny), (2.2e-308, 1.0), (1.0, 2.2e-308), (1e-310, 3e-310),
            (2.0**-1021, 1.0), (2.0**-1022, 2.0**-1021), (2.0**1023, 2.0**-1000),
            (huge, huge), (huge, 1.0), (1.0, huge), (1e300, 1e-300), (1e-300, 1e300),
            (0.0, huge), (huge, 0.0)]


@mpmath.workdps(DIGITS)
def reference_terms(p, q) -> list:
    return [reference_phi_sum([a], [b]) for a, b in zip(p, q)]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n", [1, 9, CHUNK + 9])
def test_special_entries_take_their_limits_anywhere_in_a_row(n, implementation):
    """Each special entry at the start, in the middle and last (in the tail) of a row."""
    rng = np.random.default_rng(n)
    base_p = rng.uniform(0.5, 1.5, n)
    base_q = base_p * rng.uniform(0.25, 4, n)
    base_terms = reference_terms(base_p, base_q)
    for p, q in special_cases():
        [special] = reference_terms([p], [q])
        for position in sorted({0, n // 2, n - 1}):
            row_p, row_q = base_p.copy(), base_q.copy()
            row_p[position], row_q[position] = p, q
            sums = SUMS[implementation](row_p, row_q)
            assert sums.valid
            with mpmath.workdps(DIGITS):
                reference = special + mpmath.fsum(base_terms[:position] + base_terms[position + 1:])
            if reference > 1.7976931348623157e308:  # inf too, as the exact sum exceeds the range
                assert sums.phi_sum == np.inf, (p, q, position)
            elif reference == 0:
                assert sums.phi_sum == 0, (p, q, position)
            else:  # a subnormal term is rounded to a multiple of 2**-1074
                error = abs(mpmath.mpf(float(sums.phi_sum)) - reference)
                assert error <= 1e-14 * reference + 2.0**-1072, (p, q, position)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("bad", [np.nan, -1e-300, -0.5, -np.inf])
@pytest.mark.parametrize("n", [1, 10, CHUNK + 2, LONG])
def test_nan_and_negative_entries_make_the_pass_invalid(bad, n, implementation):
    for position in sorted({0, n // 2, n - 1}):
        for which in ("p", "q"):
            p, q = np.full(n, 1.0), np.full(n, 2.0)
            (p if which == "p" else q)[position] = bad
            assert not SUMS[implementation](p, q).valid, (position, which)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_infinite_entries_give_infinite_totals(implementation):
    p, q = np.full(12, 0.5), np.full(12, 0.25)
    q[7] = np.inf
    with np.errstate(invalid="ignore"):
        sums = SUMS[implementation](p, q)
    assert sums.q_sum == np.inf


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_negative_zero_is_zero(implementation):
    p = np.array([-0.0, 0.5, 0.5])
    q = np.array([0.25, 0.25, 0.5])
    sums = SUMS[implementation](p, q)
    assert sums.valid and relative_error(sums.phi_sum, reference_phi_sum(p, q)) <= 4 * U


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n", [1, 5, 300, CHUNK + 7])
def test_rows_alone_and_in_a_batch_give_the_same_bits(n, implementation):
    rows = batch_rows(max(n, 7))
    rows = [(p[:n], q[:n]) for p, q in rows]
    P = np.array([r[0] for r in rows])
    Q = np.array([r[1] for r in rows])
    batch = SUMS[implementation](P.reshape(2, 3, -1), Q.reshape(2, 3, -1))
    for index, (p, q) in enumerate(rows):
        alone = SUMS[implementation](p, q)
        for name in ("phi_sum", "p_sum", "q_sum", "difference_sum"):
            assert getattr(alone, name) == getattr(batch, name).reshape(-1)[index], (index, name)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_non_contiguous_and_read_only_inputs(implementation):
    rng = np.random.default_rng(1)
    p = rng.random((6, 40))
    q = rng.random((6, 40))
    sums = SUMS[implementation]
    strided, broadcast = p[:, ::2], np.broadcast_to(q[0, ::2], (6, 20))  # the latter read-only
    copies = sums(np.ascontiguousarray(strided), np.tile(q[0, ::2], (6, 1)))
    assert np.array_equal(sums(strided, broadcast).phi_sum, copies.phi_sum)
    frozen = np.ascontiguousarray(strided)
    frozen.setflags(write=False)
    assert np.array_equal(sums(frozen, np.tile(q[0, ::2], (6, 1))).phi_sum, copies.phi_sum)


# --- kl_normal through either pass ---------------------------------------------------------


@mpmath.workdps(DIGITS)
def reference_normal(m1, s1, m2, s2) -> mpmath.mpf:
    m1, s1, m2, s2 = (mpmath.mpf(float(v)) for v in (m1, s1, m2, s2))
    r = (s1 / s2) ** 2
    return (r - 1 - mpmath.log(r) + ((m1 - m2) / s2) ** 2) / 2


def normal_cases(n: int = 400):
    """Parameters moved jointly toward equality, at the r = 1/2 and r = 2 edges, far apart,
    and with ratios whose square under- or overflows."""
    rng = np.random.default_rng(15)
    m1 = rng.standard_normal(n)
    s1 = np.exp(3 * rng.standard_normal(n))
    t = 10.0 ** rng.uniform(-14, 0, n) * rng.choice([-1.0, 1.0], n)
    cases = [(m1, s1, m1 + t * s1 * rng.standard_normal(n), s1 * (1 + t)),
             (m1, s1, m1, s1 * np.sqrt(2.0) ** rng.choice([-1.0, 1.0], n)
              * (1 + 2.0**-50 * rng.integers(-8, 9, n))),
             (m1, s1, rng.standard_normal(n), np.exp(3 * rng.standard_normal(n))),
             (m1, 10.0 ** rng.uniform(-200, -160, n), m1, 10.0 ** rng.uniform(-5, 5, n)),
             (m1, 10.0 ** rng.uniform(-5, 5, n), m1, 10.0 ** rng.uniform(-320, -160, n))]
    return [tuple(np.asarray(a, dtype=np.float64) for a in case) for case in cases]


# At r = 1/2 and r = 2 (where the series meets offset - log r) the numpy pass's error
# reaches 11.4 units of 2**-53 on these cases with glibc's log, the compiled pass's 7.8
# (it takes no logarithm there); elsewhere both stay below 7. A libm whose log is one ulp
# off adds up to 3.3 units to the numpy pass at r = 2 (offset - log r cancels by 3.3).
NORMAL_BOUND = 16 * U


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_kl_normal_matches_mpmath_in_either_pass(implementation):
    for case in normal_cases():
        with using(implementation), np.errstate(over="ignore"):
            values = kl_normal(*case)
        for value, *parameters in zip(values, *case):
            reference = reference_normal(*parameters)
            if reference > 0.9e308:
                # r - 1 overflows before phi(r) = r - 1 - log r is halved: inf from 2**1023 up
                assert value == np.inf or relative_error(value, reference) <= NORMAL_BOUND
            elif reference == 0:
                assert value == 0
            else:
                assert relative_error(value, reference) <= NORMAL_BOUND, (parameters, value)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_kl_normal_broadcasts_and_returns_scalars_in_either_pass(implementation):
    with using(implementation):
        assert kl_normal(0.0, 1.0, 0.0, 1.0) == 0.0
        assert isinstance(kl_normal(0.0, 1.0, 1.0, 2.0), float)
        grid = kl_normal(np.zeros((3, 1)), 1.0, [0.0, 1.0], np.ones((1, 2)))
    assert grid.shape == (3, 2)
    np.testing.assert_array_equal(grid, np.tile([0.0, 0.5], (3, 1)))


# --- the choice of implementation ----------------------------------------------------------


def implementation_in_a_fresh_process(**environment) -> str:
    env = {**os.environ, **environment}
    result = subprocess.run(
        [sys.executable, "-c", "from klbook import _kl_kernel; print(_kl_kernel.IMPLEMENTATION)"],
        capture_output=True, text=True, env=env, check=True)
    return result.stdout.strip()


def test_the_implementation_is_chosen_at_import():
    assert _kl_kernel.IMPLEMENTATION == ("numpy" if _kl_kernel._COMPILED is None else "compiled")
    assert implementation_in_a_fresh_process(KLBOOK_PURE_NUMPY="1") == "numpy"
    if _kl_kernel_compiled is not None:
        assert implementation_in_a_fresh_process(KLBOOK_PURE_NUMPY="",
                                                 NUMBA_DISABLE_JIT="1") == "numpy"
