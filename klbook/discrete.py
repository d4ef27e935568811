"""Entropy, cross-entropy and KL divergence of discrete distributions.

All three functions share one set of conventions:

* results are in nats unless ``base`` is given (``base=2``: bits,
  ``base=10``: hartleys);
* inputs are array-like, broadcast against each other like numpy arrays and
  are reduced over ``axis``;
* each distribution must sum to 1 along ``axis`` unless ``normalize=True``,
  within ``max(1e-9, 2 * n * eps)`` for ``n`` outcomes, ``eps`` being the
  machine epsilon of the input's own dtype (float64 for lists, integers and
  Python numbers): 1e-9 for float64 (up to two million outcomes), about
  ``2.4e-7 * n`` for float32, which covers the rounding of a distribution
  normalised in float32 (see :mod:`klbook._validation`);
* in both cases the functions compute the quantity for ``p / p.sum(axis)``
  and ``q / q.sum(axis)`` without forming those quotients, with
  ``normalize=True`` for any positive totals, from subnormal entries to totals
  beyond the overflow threshold (``[1e308, 1e308]``): each row is first scaled
  by a power of two, which is exact;
* ``0 * log(0 / q) = 0``, and ``p * log(p / 0) = inf`` for ``p > 0``.

Accuracy: the relative error of every result against the exact value for the
normalised inputs (as mpmath computes it from the float64 entries) is below
``1e-15`` (a few units in the last place), measured against ``max(|exact|,
2**-1022)`` where the result is subnormal. The tests check this claim with
mpmath across the whole range of totals, for random pairs, near-identical pairs
and near point masses.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from klbook import _kl_kernel, _validation
from klbook.special import _SERIES_LOWER, _SERIES_UPPER, _SPLIT, _log1pmx_series, log1pmx

__all__ = ["entropy", "cross_entropy", "kl_divergence"]

Result = NDArray[np.float64] | np.float64


def _prepare_one(p: ArrayLike, axis: int, normalize: bool) -> NDArray[np.float64]:
    arr = _validation.as_measure(p, "p")
    arr = _validation.move_axis_last(arr, axis)
    _validation.totals(arr, "p", normalize=normalize, dtype=_validation.source_dtype(p))
    return arr


def _prepare_pair(p: ArrayLike, q: ArrayLike, axis: int, normalize: bool):
    p_arr = _validation.as_measure(p, "p")
    q_arr = _validation.as_measure(q, "q")
    p_arr, q_arr = _validation.broadcast_pair(p_arr, q_arr, axis)
    p_sum = _validation.totals(p_arr, "p", normalize=normalize,
                               dtype=_validation.source_dtype(p))
    q_sum = _validation.totals(q_arr, "q", normalize=normalize,
                               dtype=_validation.source_dtype(q))
    return p_arr, q_arr, p_sum, q_sum


# --- rows at any scale ----------------------------------------------------------------
#
# Every careful computation first scales each row by a power of two (exact) so that its
# largest entry lies in [2**399, 2**400): totals, products of an entry and a total, and
# the sums of terms then neither overflow nor lose bits, whatever the input's scale
# (from subnormal entries to totals beyond the overflow threshold). Only entries below
# 2**-1421 of their row's largest can fall into the subnormal range; their own weight in
# any result is below 2**-1400 (invisible in a double), and where one sits inside a
# logarithm, the logarithm is taken of the unscaled entry (`_log_of_scaled`).

_SCALED_TOP = 400
_SMALLEST_NORMAL = 2.0**-1022
_LN2 = 0.6931471805599453


def _row_shifts(arr: NDArray[np.float64]) -> NDArray[np.intc]:
    """Per-row exponents ``k`` (keepdims) that put the row's largest entry of ``arr * 2**k``
    in ``[2**399, 2**400)``."""
    return _SCALED_TOP - np.frexp(np.max(arr, axis=-1, keepdims=True))[1].astype(np.intc)


def _scaled(arr: NDArray[np.float64], shift: NDArray[np.intc]) -> NDArray[np.float64]:
    with np.errstate(under="ignore"):
        return np.ldexp(arr, shift)


def _log_of_scaled(scaled: NDArray[np.float64], original: NDArray[np.float64],
                   shift: NDArray[np.intc]) -> NDArray[np.float64]:
    """``log(original * 2**shift)``, also where the scaled entry lost bits (or underflowed).

    There the scaled value is below 2**-1022, so the result is below -708 and the
    sum ``log(original) + shift * log(2)`` loses nothing to cancellation.
    """
    with np.errstate(divide="ignore"):
        out = np.log(scaled)
    lost = (scaled < _SMALLEST_NORMAL) & (original > 0)
    if lost.any():
        shift = np.broadcast_to(shift, scaled.shape)
        out[lost] = np.log(original[lost]) + shift[lost] * _LN2
    return out


#: Up to this many entries one split of each entry suffices (see `_row_sums`).
_ONE_SPLIT = 1 << 20
#: One row this short is summed by math.fsum: fewer calls, and correctly rounded.
_FSUM_LENGTH = 4096


def _row_sums(arr: NDArray[np.float64], work: NDArray[np.float64] | None = None
              ) -> NDArray[np.float64]:
    """Row sums of finite non-negative entries, within about one rounding of the exact sum.

    ``np.sum`` may be off by ``log2(n)`` roundings, which would show in results whose
    accuracy is claimed to a few. See `_row_sums_exactly`; `work`, if given, is a
    scratch array of `arr`'s shape.
    """
    return _row_sums_exactly(arr, work)[0]


def _row_sums_exactly(arr: NDArray[np.float64], work: NDArray[np.float64] | None = None
                      ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Row sums as ``high + low``: ``high`` within about one rounding of the exact sum
    and ``low`` the rest, up to the rounding errors bounded below.

    Each entry is split at a power-of-two grid chosen from the row's largest entry
    ``M < 2**e`` and ``n <= 2**(b - 1)``: the coarse parts, multiples of
    ``2**(e + b - 53)``, sum exactly in any order (every partial sum stays below
    ``2**53`` grids), and the remainders, each at most half a grid, sum to at most
    ``2**(2b - 55) M``, so their rounding errors stay below ``b 2**(2b - 53) u`` of the
    sum (u = 2**-53): ``2**-94`` of it for 10 entries, ``2**-81`` for a thousand,
    ``2**-60`` for a million. Longer rows split the remainders once more. One row of
    up to `_FSUM_LENGTH` entries goes to ``math.fsum`` instead (exact to ``2**-106``).
    """
    n = arr.shape[-1]
    if arr.size == n and n <= _FSUM_LENGTH:  # one row
        values = arr.ravel().tolist()
        high = math.fsum(values)  # correctly rounded
        values.append(-high)
        low = math.fsum(values)
        return np.full(arr.shape[:-1], high), np.full(arr.shape[:-1], low)
    bits = (n - 1).bit_length() + 1  # 2**(bits - 1) >= n
    buffer = np.empty_like(arr) if work is None else work
    with np.errstate(under="ignore"):
        top = np.frexp(np.max(arr, axis=-1, keepdims=True))[1].astype(np.intc)
        grid = top + (bits - 53)
        sums, source = [], arr
        for level in range(1 if n <= _ONE_SPLIT else 2):
            np.ldexp(source, -grid, out=buffer)
            np.rint(buffer, out=buffer)
            np.ldexp(buffer, grid, out=buffer)
            sums.append(np.add.reduce(buffer, axis=-1))
            np.subtract(source, buffer, out=buffer)  # the remainders, exactly
            if n > _ONE_SPLIT and level == 0:
                source = buffer.copy()
                grid = grid + (bits - 54)  # the remainders are at most half a grid
        high, low = sums[-1], np.add.reduce(buffer, axis=-1)
        high, low = _two_difference(high, -low)
        if len(sums) == 2:
            high, error = _two_difference(sums[0], -high)
            low = error + low
        return high, low


# --- entropy and cross-entropy ---------------------------------------------------------


def _cross_entropy_rows(p: NDArray[np.float64], q: NDArray[np.float64] | None
                        ) -> NDArray[np.float64]:
    """``H(p/Sp, q/Sq)`` per row, in nats; ``q=None`` for the entropy of `p`.

    ``H = sum_i (p_i/Sp) log(Sq/q_i)``, a sum of non-negative terms (``q_i <= Sq``),
    so the result is ``>= 0`` and keeps its relative accuracy. ``log(Sq/q_i)`` is
    ill-conditioned only near ``q_i = Sq``, which only the largest ``q_i`` can
    approach (every other ``q_i`` is at most ``Sq/2``, where the logarithm is at
    least ``log 2``). For that one, if it exceeds ``Sq/2``, the log is
    ``log1p(R/q_max)``, with ``R`` the sum of the other entries, summed directly: the
    entropy of a near point mass keeps its digits.
    (Large temporaries are few and reused: allocating them costs as much as the arithmetic.)
    """
    shape, n = p.shape[:-1], p.shape[-1]
    p = p.reshape(-1, n)
    p_shift = _row_shifts(p)
    p2 = _scaled(p, p_shift)
    if q is None:
        q, q_shift, q2 = p, p_shift, p2
    else:
        q = q.reshape(-1, n)
        q_shift = _row_shifts(q)
        q2 = _scaled(q, q_shift)
    rows = np.arange(q2.shape[0])
    top = np.argmax(q2, axis=-1)
    q_top = q2[rows, top][:, np.newaxis]
    log_ratio = q2.copy()
    log_ratio[rows, top] = 0.0
    work = np.empty_like(q2) if q2.size > _FSUM_LENGTH else None  # (else math.fsum)
    rest = _row_sums(log_ratio, work)[:, np.newaxis]
    q_sum = rest + q_top
    with np.errstate(divide="ignore", over="ignore"):
        np.divide(q_sum, q2, out=log_ratio)  # inf where q2 = 0 (or the quotient overflows)
        np.log(log_ratio, out=log_ratio)
    # q_i so small next to Sq (at least 2**399) that the quotient overflows, or q_i below
    # the normal range once scaled: log Sq - log q_i, above 700, costs nothing to cancellation
    beyond = ~(log_ratio < np.inf)
    if beyond.any():
        log_q = _log_of_scaled(q2, q, q_shift)
        log_ratio[beyond] = (np.log(q_sum) - log_q)[beyond]
    # the largest q_i, if above half the total: log1p(R / q_max), R summed directly
    # (a zero row was rejected); below, the quotient is at least 2, and the log of its
    # rounding is as accurate and agrees with the other entries' (so that, for one,
    # the entropy of two equal halves is exactly log 2)
    dominant = (rest < q_top)[:, 0]
    log_ratio[rows[dominant], top[dominant]] = np.log1p(rest[dominant, 0] / q_top[dominant, 0])
    # p = 0 contributes nothing, even where q = 0 (log_ratio = inf there)
    log_ratio[p2 == 0] = 0.0
    terms = np.multiply(p2, log_ratio, out=log_ratio)
    infinite = np.isinf(terms).any(axis=-1)
    if infinite.any():
        terms[np.isinf(terms)] = 0.0
    total = _row_sums(terms, work) / _row_sums(p2, work)
    return np.where(infinite, np.inf, total).reshape(shape)


def entropy(p: ArrayLike, *, base: float | None = None, axis: int = -1,
            normalize: bool = False) -> Result:
    r"""Shannon entropy :math:`H(P) = -\sum_x p(x) \log p(x)`.

    Computed as :math:`\sum_x (p(x)/S) \log(S/p(x))`, ``S = sum(p)``, a sum of
    non-negative terms: the result is never negative, and keeps a relative
    error below ``1e-15`` for every input, the near point masses included
    (where the entropy is tiny and ``log S - sum(p log p) / S`` cancels).

    Parameters
    ----------
    p : array_like
        Probabilities, non-negative, summing to 1 along `axis` (within
        ``max(1e-9, 2 * n * eps)``, ``eps`` the machine epsilon of `p`'s dtype).
    base : float, optional
        Logarithm base of the unit: None (nats, the default), 2 (bits),
        10 (hartleys) or any positive number other than 1.
    axis : int, optional
        The axis holding the outcomes. Default: the last.
    normalize : bool, optional
        If True, `p` may have any positive total (subnormal entries, or a
        total beyond the largest double) and is normalised.

    Returns
    -------
    float or ndarray
        The entropy, ``>= 0``; an array when `p` has more than one dimension.

    Raises
    ------
    TypeError
        If `p` is not numeric.
    ValueError
        If `p` is empty, a scalar, holds NaN, infinite or negative entries,
        does not sum to 1 within the tolerance above (and `normalize` is
        False) or sums to 0; if `base` or `axis` is invalid.

    Examples
    --------
    >>> from klbook import entropy
    >>> float(entropy([0.5, 0.5], base=2))
    1.0
    >>> entropy([[1, 0], [0.25, 0.75]], base=2).round(4)
    array([0.    , 0.8113])
    >>> round(float(entropy([1, 1, 1, 1], normalize=True, base=4)), 12)  # 1 up to rounding
    1.0
    >>> round(float(entropy([1e-20, 3e-20], normalize=True)), 12)   # any positive total
    0.562335144619
    """
    log_base = _validation.check_base(base)
    p_arr = _prepare_one(p, axis, normalize)
    return _validation.finish(_cross_entropy_rows(p_arr, None), log_base)


def cross_entropy(p: ArrayLike, q: ArrayLike, *, base: float | None = None, axis: int = -1,
                  normalize: bool = False) -> Result:
    r"""Cross-entropy :math:`H(P, Q) = -\sum_x p(x) \log q(x)`.

    The expected code length, per symbol drawn from `p`, of a code built for
    `q`. It equals ``entropy(p) + kl_divergence(p, q)``, but do not compute
    the divergence as the difference: see :func:`kl_divergence`. Computed as
    :math:`\sum_x (p(x)/S_p) \log(S_q/q(x))`, non-negative terms, with a
    relative error below ``1e-15``.

    Parameters
    ----------
    p : array_like
        The distribution the outcomes are drawn from; it sums to 1 along
        `axis` (within ``max(1e-9, 2 * n * eps)``, ``eps`` the machine epsilon
        of its dtype) unless `normalize` is True.
    q : array_like
        The distribution the code (or the model) assumes; broadcast against `p`.
    base : float, optional
        Logarithm base of the unit: None (nats), 2 (bits), 10 (hartleys).
    axis : int, optional
        The axis holding the outcomes. Default: the last.
    normalize : bool, optional
        If True, `p` and `q` may have any positive totals and are normalised.

    Returns
    -------
    float or ndarray
        The cross-entropy, ``>= 0``; ``inf`` if ``q = 0`` where ``p > 0``.

    Raises
    ------
    TypeError
        If `p` or `q` is not numeric.
    ValueError
        As for :func:`kl_divergence`.

    Examples
    --------
    >>> from klbook import cross_entropy
    >>> round(float(cross_entropy([0.5, 0.5], [0.25, 0.75], base=2)), 6)
    1.207519
    >>> float(cross_entropy([1, 0], [0.5, 0.5], base=2))
    1.0
    >>> float(cross_entropy([0.5, 0.5], [1, 0]))
    inf
    """
    log_base = _validation.check_base(base)
    p_arr, q_arr, _, _ = _prepare_pair(p, q, axis, normalize)
    return _validation.finish(_cross_entropy_rows(p_arr, q_arr), log_base)


def kl_divergence(p: ArrayLike, q: ArrayLike, *, base: float | None = None, axis: int = -1,
                  normalize: bool = False) -> Result:
    r"""Kullback–Leibler divergence :math:`D(P \| Q) = \sum_x p(x) \log \frac{p(x)}{q(x)}`.

    Accurate to a few units in the last place (relative error below ``1e-15``)
    for every pair, including nearly identical ones, where the textbook sum
    (and ``scipy.stats.entropy``) returns noise of either sign, and, with
    ``normalize=True``, for any positive totals, however far apart. The
    result is never negative.

    Parameters
    ----------
    p : array_like
        The reference distribution (the one expectations are taken under).
    q : array_like
        The approximating distribution; broadcast against `p`.
    base : float, optional
        Logarithm base of the unit: None (nats, the default), 2 (bits),
        10 (hartleys).
    axis : int, optional
        The axis holding the outcomes. Default: the last.
    normalize : bool, optional
        If False (the default) `p` and `q` must each sum to 1 along `axis`
        within ``max(1e-9, 2 * n * eps)``, ``n`` the number of outcomes and
        ``eps`` the machine epsilon of the argument's dtype (1e-9 for float64,
        about ``2.4e-7 * n`` for float32). If True they may have any positive
        totals (subnormal entries, totals beyond the largest double) and the
        divergence of the normalised distributions is returned.

    Returns
    -------
    float or ndarray
        The divergence, ``>= 0``. It is ``inf`` when ``q = 0`` at an outcome
        with ``p > 0`` (P is not absolutely continuous with respect to Q),
        which is the mathematical value, not an error. Outcomes with
        ``p = 0`` contribute nothing.

    Raises
    ------
    TypeError
        If `p` or `q` is not numeric, or `axis` is not an integer.
    ValueError
        If `p` or `q` is empty, a scalar, holds NaN, infinite or negative
        entries, does not sum to 1 within the tolerance above (and `normalize`
        is False) or sums to 0; if the shapes do not broadcast; if `base` or
        `axis` is invalid.

    Notes
    -----
    The divergence is computed as :math:`\sum_x p(x)\,\varphi(q(x)/p(x))` with
    :math:`\varphi(r) = r - 1 - \log r \ge 0`, a sum of non-negative terms
    (the extra :math:`\sum (q - p)` is zero for distributions). Near
    :math:`r = 1`, :math:`\varphi` is evaluated from the exactly computed
    difference :math:`q - p` through :func:`klbook.special.log1pmx`, so no
    logarithms of nearly equal numbers are subtracted. Totals that differ
    from 1 by rounding are divided out analytically, not by dividing the
    arrays. The sums are taken in one pass over cache-sized blocks
    (:mod:`klbook._kl_kernel`), which also checks the entries; chapter 8 of
    the book derives each step. Totals far apart (``normalize=True``), where
    that correction would cancel, and totals near the ends of the double
    range take a slower path: rows scaled by powers of two, the normalised
    ratio formed from exact cross products, and each term from its own offset.

    Examples
    --------
    >>> from klbook import kl_divergence
    >>> round(float(kl_divergence([0.4, 0.6], [0.5, 0.5])), 8)
    0.02013551
    >>> round(float(kl_divergence([0.4, 0.6], [0.5, 0.5], base=2)), 8)
    0.02904941
    >>> float(kl_divergence([0.5, 0.5], [1.0, 0.0]))
    inf
    >>> kl_divergence([[1, 3], [1, 1]], [2, 2], normalize=True).round(6)
    array([0.130812, 0.      ])
    """
    log_base = _validation.check_base(base)
    return _validation.finish(_kl_nats(p, q, axis, normalize), log_base)


# The totals' correction phi(1 + c) = u (c - (2/3) u**2), u = c / (2 + c), is exact to
# 2**-56 for |c| below this (one term of the series in klbook.special).
_ONE_TERM_OFFSET = 6e-6
# Where phi(Sq/Sp) exceeds this share of A/Sp, subtracting it would cost digits: the
# totals are far apart (normalize=True) and the careful path with exact products runs.
_CORRECTION_SHARE = 1.0 / 16.0


def _kl_nats(p: ArrayLike, q: ArrayLike, axis: int, normalize: bool) -> NDArray[np.float64]:
    """D(p/Sp || q/Sq) in nats, reduced over `axis`, from one blocked pass.

    The pass (:mod:`klbook._kl_kernel`) returns ``A = sum p phi(q/p)``, the
    totals and ``Sd = sum (q - p)``; then ``Sp D = A - Sp phi(Sq/Sp)`` exactly,
    with ``Sq/Sp - 1 = Sd / Sp`` free of the rounding of the totals. Float64
    arrays skip the separate entry checks: the pass finds NaN, negative and
    infinite entries itself, and only then do the full checks run, to raise
    the same error with the same message.
    """
    arrays = _fast_pair(p, q, axis)
    if arrays is None:
        arrays = _validation.broadcast_pair(_validation.as_measure(p, "p"),
                                            _validation.as_measure(q, "q"), axis)
    sums = _kl_kernel.kl_sums(*arrays)
    if normalize and sums.valid and _totals_out_of_range(sums.p_sum, sums.q_sum):
        # totals near the ends of the double range (subnormal entries, totals that
        # overflow): the careful path scales each row by a power of two, exactly
        p_arr, q_arr, _, _ = _prepare_pair(p, q, axis, normalize)  # raises on bad input
        return _kl_rows(p_arr, q_arr)
    if not (sums.valid and (_totals_acceptable(sums.p_sum, sums.q_sum, normalize)
                            or not normalize
                            and _totals_within_precision(p, q, arrays[0].shape[-1], sums))):
        # raises, naming the argument and the problem
        p_arr, q_arr, _, _ = _prepare_pair(p, q, axis, normalize)
        return _kl_rows(p_arr, q_arr)
    if np.ndim(sums.p_sum) == 0:  # one distribution: Python floats, same IEEE arithmetic
        p_total = float(sums.p_sum)
        mean, offset = float(sums.phi_sum) / p_total, float(sums.difference_sum) / p_total
        if offset < _SERIES_LOWER:  # Sq < Sp / 2: from the ratio (see _phi_of_totals)
            ratio = float(sums.q_sum) / p_total
            correction = (ratio - 1.0) - math.log(ratio)
        else:
            correction = (_phi_of_offset(np.asarray(offset)).item()
                          if abs(offset) > _ONE_TERM_OFFSET else _phi_one_term(offset))
        # (an infinite or NaN correction means a subnormal total: the careful path)
        if correction <= _CORRECTION_SHARE * mean and correction < np.inf:
            return np.float64(mean - correction)
    mean = sums.phi_sum / sums.p_sum
    correction = _phi_of_totals(sums)
    careful = ~((correction <= _CORRECTION_SHARE * mean) & (correction < np.inf))
    with np.errstate(invalid="ignore"):  # (inf - inf only in careful rows, redone below)
        result = np.asarray(mean - correction)
    if careful.any():
        result[careful] = _kl_rows(arrays[0][careful], arrays[1][careful])
    return result


def _fast_pair(p: ArrayLike, q: ArrayLike, axis: int):
    """Two non-empty real arrays as float64, broadcast with `axis` last; None if anything else.

    Only arrays, lists and tuples of plain numbers qualify; everything else (and
    anything to report) goes through the full checks of `_validation`.
    """
    p, q = _plain_float_array(p), _plain_float_array(q)
    if p is None or q is None or not (p.ndim and q.ndim and p.size and q.size):
        return None
    if p.shape == q.shape and (axis == -1 or axis == p.ndim - 1) and type(axis) is int:
        return p, q  # the common case, without broadcast_to and moveaxis views
    try:
        return _validation.broadcast_pair(p, q, axis)
    except (TypeError, ValueError):  # reported by the full checks, in their order
        return None


def _plain_float_array(value: ArrayLike) -> NDArray[np.float64] | None:
    """`value` as a float64 array if it is an array, list or tuple of reals; else None."""
    if type(value) is not np.ndarray:
        if type(value) not in (list, tuple):
            return None
        try:
            value = np.asarray(value)
        except ValueError:  # ragged: the full checks say so
            return None
    if value.dtype == np.float64:
        return value
    return value.astype(np.float64) if value.dtype.kind in "iuf" else None


def _totals_out_of_range(p_sum, q_sum) -> bool:
    """Whether a positive total lies outside [2**-500, 2**500] (or overflowed to inf).

    An infinite total may also come from an infinite entry: the careful path's
    checks tell the two apart.
    """
    totals = np.concatenate([np.ravel(p_sum), np.ravel(q_sum)])
    return bool(np.any((totals > 0) & ((totals < 2.0**-500) | (totals > 2.0**500))))


def _totals_within_precision(p: ArrayLike, q: ArrayLike, n: int, sums) -> bool:
    """Whether the totals of `n` outcomes are 1 within the tolerance of the inputs' dtypes.

    Asked only when they are not within `_validation.SUM_TOLERANCE` (float32 input, or
    float64 with millions of outcomes), so the common case never pays for it.
    """
    p_tolerance = _validation.sum_tolerance(n, _validation.source_dtype(p))
    q_tolerance = _validation.sum_tolerance(n, _validation.source_dtype(q))
    return bool(np.all(np.abs(sums.p_sum - 1.0) <= p_tolerance)
                and np.all(np.abs(sums.q_sum - 1.0) <= q_tolerance))


def _totals_acceptable(p_sum: NDArray[np.float64], q_sum: NDArray[np.float64],
                       normalize: bool) -> bool:
    """The conditions of `_validation.totals` (finite totals also rule out inf entries)."""
    if p_sum.ndim == 0:  # one row: Python floats are quicker than array calls
        p_total, q_total = float(p_sum), float(q_sum)
        if normalize:
            return 0.0 < p_total < np.inf and 0.0 < q_total < np.inf
        tolerance = _validation.SUM_TOLERANCE
        return abs(p_total - 1.0) <= tolerance and abs(q_total - 1.0) <= tolerance
    if normalize:
        return bool(np.all(np.isfinite(p_sum) & np.isfinite(q_sum) & (p_sum > 0) & (q_sum > 0)))
    tolerance = _validation.SUM_TOLERANCE
    return bool(np.all((np.abs(p_sum - 1.0) <= tolerance) & (np.abs(q_sum - 1.0) <= tolerance)))


def _phi_of_totals(sums) -> NDArray[np.float64]:
    """``phi(Sq/Sp)`` per row, from the offset ``Sd/Sp`` or, below ``Sq/Sp = 1/2``, the ratio.

    The offset is free of the totals' rounding, which matters near ``Sq = Sp``; far
    below, ``1 + Sd/Sp`` keeps only the absolute accuracy of the offset, and a ratio
    of 1e-8 would lose eight digits of its logarithm (issue 15: 1.3e-12 in the
    divergence). There the correction is at most 1/16 of ``A/Sp`` (else the careful
    path runs), so the ratio's own rounding costs the divergence under an ulp.
    """
    offset = np.asarray(sums.difference_sum / sums.p_sum)
    correction = _phi_of_offset(offset)
    small = offset < _SERIES_LOWER
    if small.any():  # (both totals lie in [2**-500, 2**500] here: the ratio is normal)
        ratio = np.asarray(sums.q_sum / sums.p_sum)[small]
        correction = np.asarray(correction)
        correction[small] = (ratio - 1.0) - np.log(ratio)
    return correction


def _phi_one_term(offset):
    """``phi(1 + c)`` for ``|c| <= _ONE_TERM_OFFSET``: ``u (c - (2/3) u**2)``, ``u = c / (2 + c)``."""
    u = offset / (2.0 + offset)
    return u * (offset - (2.0 / 3.0) * u * u)


def _phi_of_offset(offset: NDArray[np.float64]) -> NDArray[np.float64]:
    """``phi(1 + c) = c - log(1 + c)`` elementwise (each entry on its own)."""
    with np.errstate(invalid="ignore", over="ignore"):  # inf offset: NaN, sent to the careful path
        phi = _phi_one_term(offset)
        large = np.abs(offset) > _ONE_TERM_OFFSET
        if large.any():
            phi = np.asarray(phi)
            phi[large] = -log1pmx(offset[large])
    return phi


# r = 1/4: the smallest ratio that 1 + x gives exactly
_QUARTER_OFFSET = -0.75
# log(2) as a sum of two doubles, the first with 11 trailing zero bits so that e * _LN2_HIGH
# is exact for every exponent e of a double
_LN2_HIGH = 0.6931471805598903
_LN2_LOW = 5.497923018708371e-14


class _Pair(NamedTuple):
    """Rows of p and q scaled by powers of two, with what the careful paths need.

    ``p``, ``q``: the scaled rows; ``p_shift``, ``q_shift``: their exponents;
    ``p_sum``, ``q_sum``: their totals (`_row_sums`, keepdims); ``offset``: ``x``
    with ``1 + x = r = (q/Sq) / (p/Sp)`` where ``p > 0`` (0 where ``p = 0``);
    ``scale``: ``s`` with ``r = (q / p) * s`` (keepdims).
    """

    p: NDArray[np.float64]
    q: NDArray[np.float64]
    p_shift: NDArray[np.intc]
    q_shift: NDArray[np.intc]
    p_sum: NDArray[np.float64]
    q_sum: NDArray[np.float64]
    offset: NDArray[np.float64]
    scale: NDArray[np.float64]


def _pair_offsets(p: NDArray[np.float64], q: NDArray[np.float64]) -> _Pair:
    """The normalised ratio ``r = (q/Sq) / (p/Sp)`` as an offset ``x = r - 1``, accurately.

    ``x = (q Sp - p Sq) / (p Sq)`` on rows scaled by powers of two (each by its own),
    with the totals as pairs of doubles (`_row_sums_exactly`) and every product split
    exactly into two doubles: the numerator, however far below its parts (a near pair,
    or a pair equal up to the rounding of its entries), is formed as if in twice the
    precision, and the quotient is rounded once. A near pair's numerator must not
    lose 1e-32 of its parts, which the rounding of a plain total (or of a difference
    ``q - p`` shifted by the totals' mismatch) would cost. A last correction ``eps``
    makes ``sum(p * x) = 0`` hold for the offsets actually used (``p = 0`` entries
    count ``q * s``): the divergences are stationary in that normalisation, so what
    is left of the totals' rounding enters only at second order.
    """
    return _pair_offsets_both(p, q, both=False)[0]


def _pair_offsets_both(p: NDArray[np.float64], q: NDArray[np.float64], both: bool = True
                       ) -> tuple[_Pair, ...]:
    """`_pair_offsets` of ``(p, q)`` and, if `both`, of ``(q, p)``, which shares its
    numerator (negated) and half of its products."""
    p_shift, q_shift = _row_shifts(p), _row_shifts(q)
    p2, q2 = _scaled(p, p_shift), _scaled(q, q_shift)
    p_sum, p_low = (total[..., np.newaxis] for total in _row_sums_exactly(p2))
    q_sum, q_low = (total[..., np.newaxis] for total in _row_sums_exactly(q2))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # x = (high + low) / (p_high + p_lower): q (Sp + Sp') - p (Sq + Sq') from eight
        # exact parts, added with their rounding errors kept (Sum2), over p (Sq + Sq')
        q_halves, p_halves = _split(q2), _split(p2)
        q_high, q_lower = _split_product(q2, q_halves, p_sum)
        p_high, p_lower = _split_product(p2, p_halves, q_sum)
        a_high, a_lower = _split_product(q2, q_halves, p_low)
        b_high, b_lower = _split_product(p2, p_halves, q_low)
        high, low = _sum_of_parts([q_high, -p_high, q_lower, -p_lower,
                                   a_high, -b_high, a_lower, -b_lower])
        pairs = [_offsets_from_parts(p2, q2, p_shift, q_shift, (p_sum, p_low), (q_sum, q_low),
                                     high, low, p_high, p_lower + b_high)]
        if both:
            pairs.append(_offsets_from_parts(q2, p2, q_shift, p_shift, (q_sum, q_low),
                                             (p_sum, p_low), -high, -low, q_high,
                                             q_lower + a_high))
    return tuple(pairs)


def _offsets_from_parts(p2, q2, p_shift, q_shift, p_total, q_total, high, low,
                        d_high, d_low) -> _Pair:
    """The `_Pair` whose offsets are ``(high + low) / (d_high + d_low)``, corrected."""
    (p_sum, p_low), (q_sum, q_low) = p_total, q_total
    # s = Sp / Sq to half an ulp, from the pairs
    scale = p_sum / q_sum
    product, product_error = _split_product(scale, _split(scale), q_sum)
    scale = scale + (((p_sum - product) - product_error) + (p_low - scale * q_low)) / q_sum
    positive = p2 > 0
    # the quotient, then its correction from the exact residual (one rounding in all)
    x0 = np.divide(high, d_high, out=np.zeros_like(p2), where=positive)
    product, product_error = _split_product(x0, _split(x0), d_high)
    correction = np.divide(((high - product) - product_error) + (low - x0 * d_low), d_high,
                           out=np.zeros_like(p2), where=positive)
    # (where x0 is beyond 2**996, the split overflows; its last bit does not matter there)
    correction[~np.isfinite(correction)] = 0.0
    x = x0 + correction
    # sum(p * x) over finite offsets; p = 0 entries (and overflowing ones) add q*s - p
    weighted = np.where(positive, p2 * x, 0.0)
    weighted = np.where(positive & np.isfinite(weighted), weighted, q2 * scale - p2)
    excess = np.sum(weighted, axis=-1, keepdims=True)
    eps = -excess / (p_sum + excess)
    # (1 + x)(1 + eps) - 1, rounded once more only at the end
    offset = x0 + (correction + eps * (1.0 + x0))
    return _Pair(p2, q2, p_shift, q_shift, p_sum, q_sum, offset, scale * (1.0 + eps))


def _split(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``a = high + low`` exactly, each with at most 26 significant bits (Veltkamp)."""
    t = _SPLIT * a
    high = t - (t - a)
    return high, a - high


def _split_product(a: NDArray[np.float64], halves, b: NDArray[np.float64]
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``a * b = high + low`` exactly (Dekker), `a`'s halves given (`_split`), so that an
    array multiplied by several columns is split once. Exact unless a product under-
    or overflows: the rows are scaled so that neither happens."""
    a_high, a_low = halves
    b_high, b_low = _split(b)
    high = a * b
    low = ((a_high * b_high - high) + a_high * b_low + a_low * b_high) + a_low * b_low
    return high, low


def _sum_of_parts(parts: list) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``sum(parts)`` as ``high + low``, as if in twice the precision (Ogita, Rump and
    Oishi's Sum2: a cascade of TwoSums, the rounding errors added on the side)."""
    high, low = parts[0], 0.0
    for part in parts[1:]:
        high, error = _two_difference(high, -part)
        low = low + error
    return high, low


def _two_difference(a: NDArray[np.float64], b: NDArray[np.float64]
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``a - b`` as ``d + e`` exactly, ``d`` the rounded difference (Knuth's TwoSum)."""
    d = a - b
    b_virtual = a - d
    return d, (a - (d + b_virtual)) + (b_virtual - b)


def _log_ratio(pair: _Pair, p_orig, q_orig, where) -> NDArray[np.float64]:
    """``log r`` at the entries `where`, where ``r`` over- or underflows: from logarithms.

    There ``|log r| > 700``, so adding the logarithms of the entries and of the
    scale (at most ``log(2n)``) costs no digits.
    """
    log_q = _log_of_scaled(pair.q, q_orig, pair.q_shift)[where]
    log_p = _log_of_scaled(pair.p, p_orig, pair.p_shift)[where]
    return log_q - log_p + np.broadcast_to(np.log(pair.scale), pair.p.shape)[where]


def _kl_rows(p: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    """``D(p/Sp || q/Sq)`` per row, the careful way: any totals, any entries.

    Terms ``p phi(r)`` with ``phi(r) = r - 1 - log r >= 0`` and ``r - 1 = x`` from
    `_pair_offsets`: near ``r = 1`` (``x`` in ``[-1/2, 1]``) by the series of
    :mod:`klbook.special`; above, ``x - log1p(x)``; below, from ``r`` itself (see
    the comment there); where ``r`` leaves the double range, from logarithms
    (`_log_ratio`). The terms are non-negative and summed by `_row_sums`.
    """
    pair = _pair_offsets(p, q)
    p2, q2, x = pair.p, pair.q, pair.offset
    positive = p2 > 0
    near = positive & (x >= _SERIES_LOWER) & (x <= _SERIES_UPPER)
    terms = np.zeros_like(x)
    terms[near] = -p2[near] * _log1pmx_series(x[near])
    far = positive & ~near
    if far.any():
        scale = np.broadcast_to(pair.scale, p2.shape)
        with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
            above = far & (x > _SERIES_UPPER) & (x < np.inf)
            terms[above] = p2[above] * (x[above] - np.log1p(x[above]))
            # r below 1/2: 1 + x, exact down to r = 1/4; below, where 1 + x has lost
            # digits of r, r itself as a quotient. With r = m 2**e, m in [1/2, 1),
            # e <= -1, phi(r) = phi(m) + (r - m) - e log 2: phi(m) by the series
            # (m - 1 is exact), and the rest cancels by at most a factor 3.6 (at e = -1)
            ratio = np.where(far & (x >= _QUARTER_OFFSET), 1.0 + x, q2 / p2 * scale)
            below = (far & (x < _SERIES_LOWER) & (ratio >= _SMALLEST_NORMAL)
                     & (q2 >= _SMALLEST_NORMAL))
            mantissa, exponent = np.frexp(ratio[below])
            terms[below] = p2[below] * (
                -_log1pmx_series(mantissa - 1.0)
                + (-exponent * _LN2_HIGH + ((ratio[below] - mantissa) - exponent * _LN2_LOW)))
        # r beyond the double range (or q below the normal range once scaled): from logarithms
        extreme = far & ~above & ~below & (q > 0)
        if extreme.any():
            log_r = _log_ratio(pair, p, q, extreme)
            terms[extreme] = (q2[extreme] * scale[extreme] - p2[extreme]) - p2[extreme] * log_r
        terms[far & (q == 0)] = np.inf
    # p = 0 contributes q * s (the "+ q" of p log(p/q) - p + q)
    zero = ~positive
    if zero.any():
        terms[zero] = (q2 * pair.scale)[zero]
    infinite = np.isinf(terms).any(axis=-1)
    if infinite.any():
        terms = np.where(np.isinf(terms), 0.0, terms)
    return np.where(infinite, np.inf, _row_sums(terms) / pair.p_sum[..., 0])
