"""The compiled passes behind :func:`klbook.kl_divergence` and :func:`klbook.continuous.kl_normal`.

Loops compiled by numba, used when numba imports: :mod:`klbook._kl_kernel`
chooses between them and the numpy forms at import (see there). For
kl_divergence, :func:`kl_row_sums` returns, per row, the four sums
``A = sum p phi(q/p)``, ``Sp = sum p``, ``Sq = sum q`` and ``Sd = sum (q - p)``
by the formulas of the numpy pass, reading `p` and `q` once, with every loop
vectorised by LLVM; :func:`kl_normal_values` evaluates the Gaussian closed form
with the same reduction (at the end of this module).

How a term is computed (``phi(r) = r - 1 - log r``):

* every entry is reduced: ``q_k = q * 2**-k`` with ``k = trunc(log2(q/p))``, so
  that ``q_k / p`` lies in ``(1/2, 2)``, and
  ``p phi(q/p) = u ((q_k - p) - p T(w)) + ((q - q_k) - k log(2) p)`` with
  ``u = (q_k - p) / (q_k + p)``, ``w = u**2 <= 1/9`` and the series ``T`` of
  :mod:`klbook.special` (its 11-term polynomial for all of ``[0, 1/9]``). For
  ``q/p`` in ``(1/2, 2)``, ``k = 0`` and the second part is exactly 0: the near
  formula, with ``q - p`` exact (Sterbenz) and nothing cancelling. Otherwise
  both parts are >= 0 (for ``k = -1`` they cancel by at most a factor 3.6).
* ``k`` is read off the exponent and fraction bits of `p` and `q`: it is the
  truncated base-2 logarithm of the *exact* quotient, and ``q_k`` is formed by
  subtracting ``k`` from the exponent field, which is exact.
* only IEEE double operations, in a fixed order: additions, multiplications,
  one division and explicit fused multiply-adds (``llvm.fma``: one rounding).
  No fast-math, so LLVM neither reorders nor contracts anything; no logarithm
  or other C-library function is called, and the result is the same bits on
  every CPU and C library. (On a CPU without an FMA instruction, LLVM calls the
  C library's ``fma``, which C99 requires to be correctly rounded: the same bits.)
* entries where the bit operations are not exact (a zero, subnormal or infinite
  entry, ``p`` below ``2**-1021`` or from ``2**1023`` up) are recomputed one by
  one (`_special_term`): ``p = 0`` gives ``q``, ``q = 0 < p`` gives ``inf``, and
  other ratios, also beyond the double range, take the same reduction with
  ``frexp`` and ``ldexp``. A NaN or negative entry makes the pass return False.

How the sums are taken: in chunks of ``CHUNK`` entries. One loop computes four
terms at a time, ``i``, ``i + m``, ``i + 2m`` and ``i + 3m`` (``m`` a quarter of the
chunk), and stores the first two levels of a pairwise sum, ``(t_i + t_{i+2m}) +
(t_{i+m} + t_{i+3m})``, for the terms, p, q and q - p; each of these four buffers
is then summed by halving (``b[i] += b[i + h]``, elementwise). The chunks' sums
are combined pairwise too (a binary counter of partial sums). So a sum of ``n``
non-negative numbers carries a rounding error of at most about
``(log2(n) + 2) * 2**-53`` of itself, as numpy's pairwise ``np.sum``; the bits
differ from the numpy pass's, the accuracy does not.

A row's sums depend only on that row: rows give bit-identical results alone or
in a batch.
"""

from __future__ import annotations

import math

import numpy as np
from numba import config, njit, types
from numba.extending import intrinsic

from klbook.special import _CHEBYSHEV_COEFFICIENTS

#: Under NUMBA_DISABLE_JIT=1 the functions below stay plain Python, in which the bit
#: casts do not run: klbook._kl_kernel does not use this module then.
JIT_DISABLED = bool(config.DISABLE_JIT)

#: Entries per chunk: the chunk of p and q (64 KiB) and the four quarter buffers
#: (32 KiB) stay in the L2 cache.
CHUNK = 4096
_LN2 = 0.6931471805599453
# T(w) = w (c0 + c1 w + ... + c10 w**10), by Horner's rule from c10.
_TOP = _CHEBYSHEV_COEFFICIENTS[-1]
_REST = tuple(reversed(_CHEBYSHEV_COEFFICIENTS[:-1]))
# Where the bit-level reduction is exact: p and q normal and finite, and q_k (within a
# factor 2 of p) normal and finite too.
_P_LOW, _P_HIGH = 2.0**-1021, 2.0**1023
_Q_LOW, _Q_HIGH = 2.0**-1022, float(np.finfo(np.float64).max)
_P_LOW_BITS, _P_HIGH_BITS, _Q_LOW_BITS, _Q_HIGH_BITS = (
    int(np.float64(x).view(np.int64)) for x in (_P_LOW, _P_HIGH, _Q_LOW, _Q_HIGH))
_FRACTION = (1 << 52) - 1
# error_model="numpy": IEEE division as in numpy, not Python's ZeroDivisionError check,
# which would stop the vectorisation (no entry divides by 0 anyway).
_JIT = dict(cache=True, error_model="numpy")


@intrinsic
def _as_float(typingctx, bits):
    """The float64 whose IEEE bit pattern is the int64 `bits`."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@intrinsic
def _as_bits(typingctx, value):
    """The IEEE bit pattern of the float64 `value`, as an int64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` with one rounding (IEEE fusedMultiplyAdd)."""
    def codegen(context, builder, signature, args):
        return builder.fma(*args)
    return types.float64(types.float64, types.float64, types.float64), codegen


@njit(inline="always")
def _series(w):
    t = _TOP
    for coefficient in _REST:
        t = _fma(t, w, coefficient)
    return t * w


@njit(inline="always")
def _reduced_term(p, q, q_k, k):
    """``p phi(q/p)`` from ``q_k = q 2**-k`` with ``q_k / p`` in ``(1/2, 2)``."""
    difference = q_k - p
    u = difference / (q_k + p)
    near = _fma(-p, _series(u * u), difference)   # (q_k - p) - p T(w), both parts >= 0
    rest = _fma(-(k * _LN2), p, q - q_k)           # (q - q_k) - k log(2) p >= 0
    return _fma(u, near, rest)


@njit(inline="always")
def _regular_term(p, q):
    """The term for p and q in the regular range, by bit operations (see the module)."""
    p_bits, q_bits = _as_bits(p), _as_bits(q)
    p_fraction, q_fraction = p_bits & _FRACTION, q_bits & _FRACTION
    # the exponents' difference, less one (q > p) or plus one (q < p) where the
    # significands' quotient lies on the other side of 1
    k = (q_bits >> 52) - (p_bits >> 52)
    k -= np.int64((q_bits > p_bits) & (q_fraction < p_fraction))
    k += np.int64((q_bits < p_bits) & (q_fraction > p_fraction))
    return _reduced_term(p, q, _as_float(q_bits - (k << 52)), k)


@njit(**_JIT)
def _special_term(p, q):
    """The term of an entry outside the regular range (p, q >= 0)."""
    if p == 0.0:
        return q
    if q == 0.0:
        return math.inf
    if p == math.inf or q == math.inf:
        return math.nan  # the totals are infinite: the caller rejects the input
    q_significand, q_exponent = math.frexp(q)
    p_significand, p_exponent = math.frexp(p)
    k = q_exponent - p_exponent
    if q > p and q_significand < p_significand:
        k -= 1
    elif q < p and q_significand > p_significand:
        k += 1
    # For p below 2**-1021, q_k may be subnormal and rounded: the error, below
    # p * 2**-1074 / q_k, is far below the term, which is about q - p.
    return _reduced_term(p, q, math.ldexp(q, -k), k)


@njit(**_JIT)
def _term(p, q):
    """One term, any entry (NaN for a NaN or negative one)."""
    if (p >= _P_LOW) & (p < _P_HIGH) & (q >= _Q_LOW) & (q <= _Q_HIGH):
        return _regular_term(p, q)
    if not (p >= 0.0 and q >= 0.0):
        return math.nan
    return _special_term(p, q)


@njit(**_JIT)
def _quarter_sums(p, q, sums):
    """The first two levels of a chunk's four pairwise sums, into ``sums[:, :m]``.

    The chunk's length is ``4 m``. ``sums[0, i] = (t_i + t_{i+2m}) + (t_{i+m} +
    t_{i+3m})`` for the terms ``t``, and likewise ``sums[1]``, ``sums[2]``,
    ``sums[3]`` for p, q and q - p. Returns True if an entry is outside the
    regular range; its term (and so ``sums[0]``) is then wrong.
    """
    quarter = p.shape[0] >> 2
    # The range check on bit patterns, by integer min and max (which vectorise): those
    # of non-negative doubles are ordered like the values; negative entries (and NaN
    # with the sign bit) are negative integers, other NaN lie above inf.
    p_low = q_low = np.int64(0x7FF0000000000000)
    p_high = q_high = np.int64(0)
    for i in range(quarter):
        p0, p1, p2, p3 = p[i], p[i + quarter], p[i + 2 * quarter], p[i + 3 * quarter]
        q0, q1, q2, q3 = q[i], q[i + quarter], q[i + 2 * quarter], q[i + 3 * quarter]
        b0, b1, b2, b3 = _as_bits(p0), _as_bits(p1), _as_bits(p2), _as_bits(p3)
        c0, c1, c2, c3 = _as_bits(q0), _as_bits(q1), _as_bits(q2), _as_bits(q3)
        p_low = min(p_low, min(min(b0, b1), min(b2, b3)))
        p_high = max(p_high, max(max(b0, b1), max(b2, b3)))
        q_low = min(q_low, min(min(c0, c1), min(c2, c3)))
        q_high = max(q_high, max(max(c0, c1), max(c2, c3)))
        t0, t1 = _regular_term(p0, q0), _regular_term(p1, q1)
        t2, t3 = _regular_term(p2, q2), _regular_term(p3, q3)
        sums[0, i] = (t0 + t2) + (t1 + t3)
        sums[1, i] = (p0 + p2) + (p1 + p3)
        sums[2, i] = (q0 + q2) + (q1 + q3)
        sums[3, i] = ((q0 - p0) + (q2 - p2)) + ((q1 - p1) + (q3 - p3))
    return not (p_low >= _P_LOW_BITS and p_high < _P_HIGH_BITS
                and q_low >= _Q_LOW_BITS and q_high <= _Q_HIGH_BITS)


@njit(**_JIT)
def _quarter_term_sums(p, q, terms, sums):
    """``sums[0]`` of `_quarter_sums` entry by entry, any entries; False at NaN or < 0.

    Regular entries get the same bits as in `_quarter_sums` (the same operations).
    """
    m = p.shape[0]
    quarter = m >> 2
    for i in range(m):
        if not (p[i] >= 0.0 and q[i] >= 0.0):  # False for NaN too
            return False
        terms[i] = _term(p[i], q[i])
    for i in range(quarter):
        sums[0, i] = ((terms[i] + terms[i + 2 * quarter])
                      + (terms[i + quarter] + terms[i + 3 * quarter]))
    return True


@njit(**_JIT)
def _halving_sum(buffer, m):
    """Sum of ``buffer[:m]``, pairwise: the upper half added to the lower until 8 remain.

    Overwrites the buffer. An odd element left over moves down a level unchanged.
    """
    while m > 8:
        half = m >> 1
        for i in range(half):
            buffer[i] = buffer[i] + buffer[i + half]
        if m & 1:
            buffer[half] = buffer[m - 1]
            m = half + 1
        else:
            m = half
    if m == 8:
        return (((buffer[0] + buffer[1]) + (buffer[2] + buffer[3]))
                + ((buffer[4] + buffer[5]) + (buffer[6] + buffer[7])))
    total = 0.0
    for i in range(m):
        total += buffer[i]
    return total


@njit(**_JIT)
def _row_sums(p, q, out, terms, sums, stack):
    """The four sums of one row into `out`; False at a NaN or negative entry."""
    n = p.shape[0]
    depth = 0
    for chunk in range((n + CHUNK - 1) // CHUNK):
        start = chunk * CHUNK
        stop = min(n, start + CHUNK)
        fused = start + ((stop - start) & ~3)
        p_chunk, q_chunk = p[start:fused], q[start:fused]
        if _quarter_sums(p_chunk, q_chunk, sums):
            if not _quarter_term_sums(p_chunk, q_chunk, terms, sums):
                return False
        quarter = (fused - start) >> 2
        chunk_sums = (_halving_sum(sums[0], quarter), _halving_sum(sums[1], quarter),
                      _halving_sum(sums[2], quarter), _halving_sum(sums[3], quarter))
        for i in range(fused, stop):  # the last 1 to 3 entries of a row
            if not (p[i] >= 0.0 and q[i] >= 0.0):
                return False
            chunk_sums = (chunk_sums[0] + _term(p[i], q[i]), chunk_sums[1] + p[i],
                          chunk_sums[2] + q[i], chunk_sums[3] + (q[i] - p[i]))
        # pairwise over chunks: a partial sum of 2**j chunks merges with its equal
        count = chunk + 1
        while count & 1 == 0:
            depth -= 1
            chunk_sums = (stack[depth, 0] + chunk_sums[0], stack[depth, 1] + chunk_sums[1],
                          stack[depth, 2] + chunk_sums[2], stack[depth, 3] + chunk_sums[3])
            count >>= 1
        for j in range(4):
            stack[depth, j] = chunk_sums[j]
        depth += 1
    for j in range(4):
        total = stack[depth - 1, j]
        for level in range(depth - 2, -1, -1):
            total = stack[level, j] + total
        out[j] = total
    return True


_ROWS = types.Array(types.float64, 2, "C", readonly=True)  # also takes writeable arrays


@njit(types.boolean(_ROWS, _ROWS, types.float64[:, ::1]), **_JIT)
def kl_row_sums(p, q, out):
    """The four sums of each row of C-contiguous ``(rows, n)`` arrays, ``n >= 1``.

    Writes ``sum p phi(q/p)``, ``sum p``, ``sum q`` and ``sum (q - p)`` of row
    ``r`` into ``out[0:4, r]``. Returns False, leaving `out` incomplete, at the
    first NaN or negative entry.
    """
    terms = np.empty(CHUNK)
    sums = np.empty((4, CHUNK // 4))
    stack = np.empty((64, 4))  # one level per doubling of the number of chunks
    row = np.empty(4)
    for r in range(p.shape[0]):
        if not _row_sums(p[r], q[r], row, terms, sums, stack):
            return False
        for j in range(4):
            out[j, r] = row[j]
    return True


# --- the Gaussian closed form -------------------------------------------------------------
#
# D = (phi(r) + z**2) / 2 with r = (s1/s2)**2 and z = (m1 - m2)/s2, as kl_normal's numpy
# form, but phi(r) by the reduced term above with p = 1 (no logarithm) wherever r is a
# normal double; where r under- or overflows, phi(r) = (r - 1) - log r with log r from
# log(s1/s2) or log(s1) - log(s2), as the numpy form computes it (the one place where a
# C-library function, log, enters).

_R_LOW_BITS = int(np.float64(2.0**-1022).view(np.int64))  # r = (s1/s2)**2 must be normal


@njit(inline="always")
def _normal_term(m1, s1, m2, s2):
    """``(phi(r) + z**2) / 2``, ``r = (s1/s2)**2``, ``z = (m1 - m2)/s2``; r must be normal.

    Returns the value and the bit pattern of r (for the range check). ``phi(r)``
    is the kernel's reduced term with p = 1: for r in (1/2, 2) (k = 0) the series
    from the offset ``x = d (2 + d) = r - 1``, ``d = (s1 - s2)/s2``, exact where
    s1 and s2 are within a factor 2; farther out from r itself, whose relative
    rounding error (1.5 units) costs phi at most 5 units.
    """
    d = (s1 - s2) / s2
    ratio = s1 / s2
    r = ratio * ratio
    r_bits = _as_bits(r)
    # k = trunc(log2 r) as in _regular_term with p = 1 (exponent 1023, fraction 0)
    k = (r_bits >> 52) - 1023
    k += np.int64((r_bits < 0x3FF0000000000000) & ((r_bits & _FRACTION) != 0))
    r_k = _as_float(r_bits - (k << 52))
    offset = d * (2.0 + d) if k == 0 else r_k - 1.0
    u = offset / (offset + 2.0)
    phi = _fma(u, offset - _series(u * u), (r - r_k) - k * _LN2)
    z = (m1 - m2) / s2
    return 0.5 * _fma(z, z, phi), r_bits


@njit(**_JIT)
def _normal_special(m1, s1, m2, s2):
    """`_normal_term` where r under- or overflows: phi(r) = (r - 1) - log r from logarithms."""
    d = (s1 - s2) / s2
    ratio = s1 / s2
    if 2.2250738585072014e-308 < ratio < math.inf:
        log_ratio = math.log(ratio)
    else:
        log_ratio = math.log(s1) - math.log(s2)
    phi = d * (2.0 + d) - 2.0 * log_ratio
    z = (m1 - m2) / s2
    return 0.5 * _fma(z, z, phi)


@njit(**_JIT)
def _normal_chunk(m1, s1, m2, s2, out):
    """`_normal_term` of each entry into `out`; True if some r is not normal (then wrong)."""
    low, high = np.int64(0x7FF0000000000000), np.int64(0)
    for i in range(out.shape[0]):
        value, r_bits = _normal_term(m1[i], s1[i], m2[i], s2[i])
        out[i] = value
        low, high = min(low, r_bits), max(high, r_bits)
    return not (low >= _R_LOW_BITS and high < 0x7FF0000000000000)


_VECTOR = types.Array(types.float64, 1, "C", readonly=True)


@njit(types.void(_VECTOR, _VECTOR, _VECTOR, _VECTOR, types.float64[::1]), **_JIT)
def kl_normal_values(m1, s1, m2, s2, out):
    """``D(N(m1, s1**2) || N(m2, s2**2))`` of each entry of four equal-length arrays.

    The parameters must be valid (finite, s1 and s2 > 0): nothing is checked.
    Writes the divergences in nats into `out`.
    """
    n = out.shape[0]
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        if _normal_chunk(m1[start:stop], s1[start:stop], m2[start:stop], s2[start:stop],
                         out[start:stop]):
            for i in range(start, stop):
                ratio = s1[i] / s2[i]
                if not (2.2250738585072014e-308 <= ratio * ratio < math.inf):
                    out[i] = _normal_special(m1[i], s1[i], m2[i], s2[i])
