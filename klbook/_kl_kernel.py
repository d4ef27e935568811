"""The one pass behind :func:`klbook.kl_divergence` (row sums), in two implementations.

:func:`kl_sums` returns, per row,

* ``A = sum p * phi(q / p)`` with ``phi(r) = r - 1 - log r`` (each term >= 0),
* ``Sp = sum p``, ``Sq = sum q`` and ``Sd = sum (q - p)`` (differences exact
  where ``q`` and ``p`` are within a factor of 2, by Sterbenz's lemma),

from which ``D(p/Sp || q/Sq) = A / Sp - phi(1 + Sd / Sp)`` (see
:func:`klbook.discrete.kl_divergence`). The same pass checks the entries, so
no separate validation pass is needed.

**Which implementation.** Chosen once, when this module is imported, and
recorded in :data:`IMPLEMENTATION`:

* ``"compiled"``: :mod:`klbook._kl_kernel_compiled`, loops compiled by numba
  (``pip install "klbook[fast]"``; ``make setup`` installs it). As accurate,
  and several times faster (``make bench``: about ten times on random pairs of
  1e5 entries, three on near-identical ones); its bits do not depend on the
  CPU or the C library.
* ``"numpy"``: the pure-numpy pass below (:func:`numpy_sums`), used when numba
  is not installed, when its JIT is disabled (``NUMBA_DISABLE_JIT=1``), or when
  the environment variable ``KLBOOK_PURE_NUMPY`` is set to anything but ``""``
  or ``"0"`` (to test or compare the fallback: ``KLBOOK_PURE_NUMPY=1 pytest``).

Both give every row's sums to a few units in the last place, and each row's
result depends only on that row (alone or in a batch: the same bits). The two
implementations need not agree to the last bit.

**The numpy pass.** For distributions of millions of entries the cost of KL is
memory traffic, not arithmetic: every numpy operation on whole arrays reads and
writes 8 bytes per entry. :func:`numpy_sums` walks the inputs in blocks of
``_BLOCK`` entries that stay in the CPU's L2 cache, runs the vectorised
operations of the accurate formula on each block with preallocated buffers
(``out=``), and reads `p` and `q` from memory once. The loop is over blocks,
never over entries. Each entry's term is computed by a sequence of operations
that depends only on its own row.

How a term is computed (``u = (q - p) / (q + p)``, ``w = u**2``):

* if ``q/p`` is in ``[1/2, 2]`` (``w <= 1/9``), ``p phi(q/p) = u ((q - p) - p T(w))``
  with the series ``T`` of :mod:`klbook.special`; nothing cancels;
* otherwise ``q`` is first scaled by ``2**-k`` (``ldexp``, exact), ``k = trunc(log2(q/p))``,
  so that ``q_k/p`` is in ``(1/2, 2)``, and
  ``p phi(q/p) = p phi(q_k/p) + (q - q_k) - k log(2) p``: both parts are >= 0
  or, for ``k = -1``, cancel by at most a factor 3.6. No logarithm of a ratio
  near 1 is ever taken; zeros and ratios beyond the double range take the
  limits (``p = 0``: ``q``; ``q = 0 < p``: ``inf``).

The compiled pass uses the same formulas (see its module). It also evaluates
the Gaussian closed form for :func:`klbook.continuous.kl_normal`
(:func:`compiled_normal`), which uses it under the same rule.
"""

from __future__ import annotations

import importlib
import math
import os

import numpy as np
from numpy.typing import NDArray

from klbook.special import (_CHEBYSHEV_COEFFICIENTS, _COEFFICIENT_TABLE, _W_NEAR,
                            _series_coefficients, _series_row, _series_t)

#: Entries per block: six float64 buffers of 256 KiB stay in a 2-4 MiB L2 cache.
_BLOCK = 1 << 15
#: Rows this short are dominated by per-call overhead: they skip the near/far
#: triage and evaluate the series by powers and one sum (`_series_t_short`).
_SHORT_ROW = 64
_LN2 = 0.6931471805599453
_JUST_BELOW_ONE = 1.0 - 2.0**-50
#: The series polynomial for all of [0, 1/9], padded to the table width.
_FULL_POLYNOMIAL = np.asarray(_COEFFICIENT_TABLE[-1])
_IGNORE = dict(divide="ignore", invalid="ignore", over="ignore", under="ignore")


class KLSums:
    """Per-row sums of one pass; ``valid`` is False if an entry was NaN or negative."""

    __slots__ = ("phi_sum", "p_sum", "q_sum", "difference_sum", "valid")

    def __init__(self, phi_sum, p_sum, q_sum, difference_sum, valid=True):
        self.phi_sum, self.p_sum, self.q_sum = phi_sum, p_sum, q_sum
        self.difference_sum, self.valid = difference_sum, valid


_INVALID = KLSums(None, None, None, None, False)


def _load_compiled():
    """The compiled module and the name of the implementation in use (see the module)."""
    if os.environ.get("KLBOOK_PURE_NUMPY", "") not in ("", "0"):
        return None, "numpy"
    try:
        from klbook import _kl_kernel_compiled
    except ImportError:  # numba is not installed
        return None, "numpy"
    if _kl_kernel_compiled.JIT_DISABLED:
        return None, "numpy"
    return _kl_kernel_compiled, "compiled"


_COMPILED, IMPLEMENTATION = _load_compiled()


def kl_sums(p: NDArray[np.float64], q: NDArray[np.float64]) -> KLSums:
    """Sums of ``p * phi(q / p)``, ``p``, ``q`` and ``q - p`` along the last axis.

    `p` and `q` are non-empty float64 arrays of the same shape. Entries are not
    checked beforehand: the pass stops early (``valid=False``) at a NaN or
    negative entry; infinite entries show up as infinite totals. One row gives
    numpy scalars, several give arrays of the leading shape.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook._kl_kernel import kl_sums
    >>> sums = kl_sums(np.array([0.5, 0.5]), np.array([0.25, 0.75]))
    >>> [round(float(s), 9) for s in (sums.phi_sum, sums.p_sum, sums.q_sum, sums.difference_sum)]
    [0.143841036, 1.0, 1.0, 0.0]
    >>> kl_sums(np.array([0.5, np.nan]), np.array([0.5, 0.5])).valid
    False
    """
    if _COMPILED is not None:
        return compiled_sums(p, q)
    return numpy_sums(p, q)


def compiled_sums(p: NDArray[np.float64], q: NDArray[np.float64]) -> KLSums:
    """:func:`kl_sums` by :mod:`klbook._kl_kernel_compiled` (which must be importable)."""
    kernel = _COMPILED or importlib.import_module("klbook._kl_kernel_compiled")
    shape, n = p.shape[:-1], p.shape[-1]
    rows = math.prod(shape)
    # C-contiguous (rows, n) arrays: views of contiguous input, else copies
    if not (p.flags.c_contiguous and p.flags.aligned):
        p = np.ascontiguousarray(p)
    if not (q.flags.c_contiguous and q.flags.aligned):
        q = np.ascontiguousarray(q)
    out = np.empty((4, rows))
    if not kernel.kl_row_sums(p.reshape(rows, n), q.reshape(rows, n), out):
        return _INVALID
    if not shape:
        return KLSums(out[0, 0], out[1, 0], out[2, 0], out[3, 0])
    return KLSums(*(row.reshape(shape) for row in out))


def compiled_normal(mu1: NDArray[np.float64], sigma1: NDArray[np.float64],
                    mu2: NDArray[np.float64], sigma2: NDArray[np.float64]) -> NDArray[np.float64]:
    """``D(N(mu1, sigma1**2) || N(mu2, sigma2**2))`` in nats, by the compiled kernel.

    The four arrays have one shape and valid entries (finite, standard
    deviations > 0); :func:`klbook.continuous.kl_normal` checks them. Returns an
    array of that shape. The numpy form is in :func:`klbook.continuous.kl_normal`.
    """
    kernel = _COMPILED or importlib.import_module("klbook._kl_kernel_compiled")
    flat = [np.ascontiguousarray(a).reshape(-1) for a in (mu1, sigma1, mu2, sigma2)]
    out = np.empty(flat[0].shape[0])
    kernel.kl_normal_values(*flat, out)
    return out.reshape(np.shape(mu1))


def numpy_sums(p: NDArray[np.float64], q: NDArray[np.float64]) -> KLSums:
    """:func:`kl_sums` by the numpy pass (see the module)."""
    shape = p.shape[:-1]
    n = p.shape[-1]
    with np.errstate(**_IGNORE):
        if not shape and n <= _SHORT_ROW:
            return _short_vector_sums(p, q)
        if not shape and n < _BLOCK:
            sums = _block_sums(p, q, list(np.empty((6, n))))
            return _INVALID if sums is None else KLSums(*sums)
        return _batch_sums(p, q, shape, n)


def _short_vector_sums(p, q) -> KLSums:
    """One short row: the four totals from two reductions of a stacked copy."""
    stacked = np.empty((3, p.shape[-1]))
    stacked[0], stacked[1] = p, q
    np.subtract(q, p, out=stacked[2])
    # ufunc reductions directly: the ndarray methods add a Python layer per call
    p_min, q_min = np.minimum.reduce(stacked[:2], axis=1).tolist()
    if not (p_min >= 0.0 and q_min >= 0.0):  # False for NaN too
        return _INVALID
    p_sum, q_sum, difference_sum = np.add.reduce(stacked, axis=1)
    if p_min > 0.0 and q_min > 0.0:
        phi_sum = np.add.reduce(_reduced_terms(p, q, None, None))
        if math.isfinite(phi_sum):
            return KLSums(phi_sum, p_sum, q_sum, difference_sum)
    phi_sum = np.add.reduce(_short_terms(p, q, p_min, q_min))
    return KLSums(phi_sum, p_sum, q_sum, difference_sum)


def _batch_sums(p, q, shape, n) -> KLSums:
    rows = math.prod(shape)
    p2 = np.ascontiguousarray(p).reshape(rows, n)
    q2 = np.ascontiguousarray(q).reshape(rows, n)
    out = np.empty((4, rows))
    if n >= _BLOCK:  # long rows: each in blocks, partial sums added pairwise
        buffers = _Buffers(_BLOCK)
        for row in range(rows):
            partial = np.empty((4, -(-n // _BLOCK)))
            for index, start in enumerate(range(0, n, _BLOCK)):
                block = slice(start, start + _BLOCK)
                sums = _block_sums(p2[row:row + 1, block], q2[row:row + 1, block], buffers)
                if sums is None:
                    return _INVALID
                partial[:, index] = [s[0] for s in sums]
            out[:, row] = partial.sum(axis=1)
    else:  # short rows: as many per block as fit
        step = max(1, _BLOCK // n)
        buffers = _Buffers(min(step, rows) * n)
        for start in range(0, rows, step):
            sums = _block_sums(p2[start:start + step], q2[start:start + step], buffers)
            if sums is None:
                return _INVALID
            out[:, start:start + step] = sums
    phi_sum, p_sum, q_sum, difference_sum = (out[k].reshape(shape) for k in range(4))
    return KLSums(phi_sum, p_sum, q_sum, difference_sum)


class _Buffers:
    """Scratch arrays reused by every block (flat; reshaped per block)."""

    def __init__(self, size: int):
        self.flat = [np.empty(size) for _ in range(6)]

    def get(self, shape: tuple[int, int]) -> list[NDArray[np.float64]]:
        size = shape[0] * shape[1]
        return [buffer[:size].reshape(shape) for buffer in self.flat]


def _block_sums(p, q, buffers):
    """Row sums (phi, p, q, q - p) of one block, or None on a NaN/negative entry.

    The block is 1-D (one row) or 2-D (rows); `buffers` are six scratch arrays
    of its shape, or a `_Buffers` to take them from.
    """
    p_min, q_min = p.min(), q.min()
    if not (p_min >= 0.0 and q_min >= 0.0):  # False for NaN too
        return None
    p_sum, q_sum = p.sum(axis=-1), q.sum(axis=-1)
    if p.shape[-1] <= _SHORT_ROW:
        difference_sum = np.subtract(q, p).sum(axis=-1)
        return _short_terms(p, q, p_min, q_min).sum(axis=-1), p_sum, q_sum, difference_sum
    bufs = buffers.get(p.shape) if isinstance(buffers, _Buffers) else buffers
    difference, u, w, terms = bufs[:4]
    np.subtract(q, p, out=difference)
    difference_sum = difference.sum(axis=-1)
    _offsets(p, q, difference, u, w)
    w_max = w.max(axis=-1)  # NaN where p = q = 0
    near_rows = w_max <= _W_NEAR
    if near_rows.all():  # every q/p in [1/2, 2]: the series alone
        coefficients = _row_coefficients(w_max)
        return (_near_terms(p, difference, u, w, coefficients, terms).sum(axis=-1),
                p_sum, q_sum, difference_sum)
    # Some ratio is far from 1: near rows keep their own series, the others the full one
    coefficients = _row_coefficients(np.where(near_rows, w_max, _W_NEAR))
    terms = None
    if p_min > 0.0 and q_min > 0.0:
        terms = _reduced_terms(p, q, coefficients, bufs)
        row_sums = terms.sum(axis=-1)
        if np.isfinite(row_sums).all():  # q/p stayed within the double range
            return row_sums, p_sum, q_sum, difference_sum
    terms = _special_terms(p, q, lambda p1, q1: _reduced_terms(p1, q1, coefficients, bufs))
    return terms.sum(axis=-1), p_sum, q_sum, difference_sum


def _short_terms(p, q, p_min, q_min):
    """Terms of short rows: always the reduced form and the full polynomial."""
    if p_min > 0.0 and q_min > 0.0:
        terms = _reduced_terms(p, q, None, None)
        if np.isfinite(terms.sum(axis=-1)).all():
            return terms
    return _special_terms(p, q, lambda p1, q1: _reduced_terms(p1, q1, None, None))


def _offsets(p, q, difference, u, w):
    """u = (q - p) / (q + p) = x / (2 + x) with x = q/p - 1, and w = u**2.

    |u| <= 1/3 (w <= 1/9) exactly when q/p is in [1/2, 2], where q - p is exact.
    """
    np.add(q, p, out=u)
    np.divide(difference, u, out=u)
    np.multiply(u, u, out=w)


def _near_terms(p, difference, u, w, coefficients, out):
    """p * phi(q/p) = u * ((q - p) - p * T(w)); the two parts of the difference never cancel.

    ``coefficients=None`` selects the short-row evaluation of the full polynomial.
    """
    if coefficients is None:
        _series_t_short(w, out=out)
    else:
        _series_t(w, coefficients, out=out)
    out *= p
    np.subtract(difference, out, out=out)
    out *= u
    return out


def _reduced_terms(p, q, coefficients, bufs):
    """Terms after scaling q by 2**-k, k = trunc(log2(q/p)), so that q_k/p is in (1/2, 2).

    ``p phi(q/p) = p phi(q_k/p) + (q - q_k) - k log(2) p``. Where k = 0 (every
    entry of a near row) the second part is exactly 0 and the term is bit for
    bit the series term. If q/p leaves the double range, some term is not
    finite and the caller falls back to `_special_terms`.
    """
    if bufs is None:
        bufs = list(np.empty((6,) + p.shape))
    difference, u, w, terms, exponent, q_reduced = bufs
    np.divide(q, p, out=exponent)
    np.log2(exponent, out=exponent)
    # shrunk by 4 ulps first, so that k = 0 for every q/p that the triage calls near
    # (w <= 1/9, so |log2(q/p)| <= 1 up to rounding): near rows are then bit for
    # bit the same here and in `_near_terms`
    exponent *= _JUST_BELOW_ONE
    np.trunc(exponent, out=exponent)
    # q_k = q * 2**-k by ldexp, exact on every platform: the identity below needs q/q_k to
    # be 2**k exactly, and a libm's exp2 need not return an exact power of two (one ulp
    # off at k = 0 would leave an error of about q * 2**-52 in every term). Where log2(q/p) is
    # not finite the last part of the term is not finite either, and the caller falls
    # back to `_special_terms`, whatever q_k is there.
    shift = np.nan_to_num(exponent, nan=0.0, posinf=2200.0, neginf=-2200.0)
    np.ldexp(q, -shift.astype(np.int32), out=q_reduced)
    np.subtract(q_reduced, p, out=difference)
    _offsets(p, q_reduced, difference, u, w)
    _near_terms(p, difference, u, w, coefficients, terms)
    # + (q - q_k) - k log(2) p
    np.subtract(q, q_reduced, out=q_reduced)
    exponent *= _LN2
    exponent *= p
    np.subtract(q_reduced, exponent, out=q_reduced)
    terms += q_reduced
    return terms


def _special_terms(p, q, regular_terms):
    """Terms when some p or q is 0 or q/p leaves the double range (rare).

    The regular entries are computed by `regular_terms`, the same operations as
    always (the special entries replaced by 1 meanwhile); then the special
    entries get their limits.
    """
    ratio = q / p
    special = ~((p > 0) & (q > 0) & (np.abs(np.log2(ratio)) < 1000.0))
    terms = regular_terms(np.where(special, 1.0, p), np.where(special, 1.0, q)).copy()
    # p = 0: the limit of p phi(q/p) is q; q = 0 < p: inf; otherwise q/p over- or
    # underflowed: log(q) - log(p) in place of log(q/p)
    p_s, q_s = p[special], q[special]
    limits = np.where(p_s == 0, q_s,
                      np.where(q_s == 0, np.inf, (q_s - p_s) - p_s * (np.log(q_s) - np.log(p_s))))
    terms[special] = limits
    return terms


def _row_coefficients(w_bound: NDArray[np.float64]):
    """Series coefficients per row, accurate for 0 <= w <= `w_bound` (<= 1/9).

    Floats for one row; for several, a list of (rows, 1) columns, zero-padded
    at the high end, which changes no bit of a row's result.
    """
    if w_bound.size == 1:
        return _series_coefficients(float(w_bound.reshape(())))
    table_rows = [_series_row(w) for w in w_bound.tolist()]
    coefficients = _COEFFICIENT_TABLE[table_rows]
    return [coefficients[:, j:j + 1] for j in range(max(table_rows))]


def _series_t_short(w, out):
    """T(w) = sum_k c_k w**(k+1) with the full polynomial, in four array calls.

    Per call, numpy's overhead dwarfs the arithmetic on a few entries, so the
    powers come from one cumulative product and the sum from one reduction.
    """
    powers = np.repeat(w[..., np.newaxis], len(_CHEBYSHEV_COEFFICIENTS), axis=-1)
    np.multiply.accumulate(powers, axis=-1, out=powers)
    powers *= _FULL_POLYNOMIAL
    return np.sum(powers, axis=-1, out=out)
