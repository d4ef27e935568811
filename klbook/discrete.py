"""Entropy, cross-entropy and KL divergence of discrete distributions.

All three functions share one set of conventions:

* results are in nats unless ``base`` is given (``base=2``: bits,
  ``base=10``: hartleys);
* inputs are array-like, broadcast against each other like numpy arrays and
  are reduced over ``axis``;
* each distribution must sum to 1 along ``axis`` (within ``1e-9``) unless
  ``normalize=True``; in both cases the functions compute the quantity for
  ``p / p.sum(axis)`` and ``q / q.sum(axis)`` without forming those quotients;
* ``0 * log(0 / q) = 0``, and ``p * log(p / 0) = inf`` for ``p > 0``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from klbook import _kl_kernel, _validation
from klbook.special import _SERIES_LOWER, _SERIES_UPPER, _log1pmx_series, _two_product, log1pmx

__all__ = ["entropy", "cross_entropy", "kl_divergence"]

Result = NDArray[np.float64] | np.float64


def _prepare_one(p: ArrayLike, axis: int, normalize: bool):
    arr = _validation.as_measure(p, "p")
    arr = _validation.move_axis_last(arr, axis)
    return arr, _validation.totals(arr, "p", normalize=normalize)


def _prepare_pair(p: ArrayLike, q: ArrayLike, axis: int, normalize: bool):
    p_arr = _validation.as_measure(p, "p")
    q_arr = _validation.as_measure(q, "q")
    p_arr, q_arr = _validation.broadcast_pair(p_arr, q_arr, axis)
    p_sum = _validation.totals(p_arr, "p", normalize=normalize)
    q_sum = _validation.totals(q_arr, "q", normalize=normalize)
    return p_arr, q_arr, p_sum, q_sum


def _log_total(arr: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log(arr.sum(-1))`` accurate to a few ulps even when the total is 1 + 1e-16.

    A distribution near a point mass has an entropy of, say, 1e-4, and the
    rounding of a plain ``np.sum`` (about 1e-16) inside ``log`` would cost three
    of its digits. Splitting each entry into a multiple of 2**-30 (whose sum is
    exact) and a remainder below 2**-31 gives the total to about 1e-24.
    """
    coarse = np.rint(arr * 2.0**30) * 2.0**-30
    coarse_total = coarse.sum(axis=-1)
    remainder_total = (arr - coarse).sum(axis=-1)
    # coarse_total - 1 is exact (Sterbenz) when the total is within [1/2, 2]
    return np.log1p((coarse_total - 1.0) + remainder_total)


def entropy(p: ArrayLike, *, base: float | None = None, axis: int = -1,
            normalize: bool = False) -> Result:
    r"""Shannon entropy :math:`H(P) = -\sum_x p(x) \log p(x)`.

    Parameters
    ----------
    p : array_like
        Probabilities, non-negative, summing to 1 along `axis`.
    base : float, optional
        Logarithm base of the unit: None (nats, the default), 2 (bits),
        10 (hartleys) or any positive number other than 1.
    axis : int, optional
        The axis holding the outcomes. Default: the last.
    normalize : bool, optional
        If True, `p` may have any positive total and is normalised.

    Returns
    -------
    float or ndarray
        The entropy, ``>= 0``; an array when `p` has more than one dimension.

    Raises
    ------
    TypeError
        If `p` is not numeric.
    ValueError
        If `p` is empty, a scalar, holds NaN, infinite or negative entries, or
        does not sum to 1 (and `normalize` is False); if `base` or `axis` is
        invalid.

    Examples
    --------
    >>> from klbook import entropy
    >>> float(entropy([0.5, 0.5], base=2))
    1.0
    >>> entropy([[1, 0], [0.25, 0.75]], base=2).round(4)
    array([0.    , 0.8113])
    >>> round(float(entropy([1, 1, 1, 1], normalize=True, base=4)), 12)  # 1 up to rounding
    1.0
    """
    log_base = _validation.check_base(base)
    p_arr, p_sum = _prepare_one(p, axis, normalize)
    log_p = np.log(p_arr, out=np.zeros_like(p_arr), where=p_arr > 0)
    # H(p / S) = log S - sum(p log p) / S
    total = _log_total(p_arr) - np.sum(p_arr * log_p, axis=-1) / p_sum[..., 0]
    return _validation.finish(total, log_base)


def cross_entropy(p: ArrayLike, q: ArrayLike, *, base: float | None = None, axis: int = -1,
                  normalize: bool = False) -> Result:
    r"""Cross-entropy :math:`H(P, Q) = -\sum_x p(x) \log q(x)`.

    The expected code length, per symbol drawn from `p`, of a code built for
    `q`. It equals ``entropy(p) + kl_divergence(p, q)``, but do not compute
    the divergence as the difference: see :func:`kl_divergence`.

    Parameters
    ----------
    p : array_like
        The distribution the outcomes are drawn from.
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
        The cross-entropy; ``inf`` if ``q = 0`` where ``p > 0``.

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
    p_arr, q_arr, p_sum, q_sum = _prepare_pair(p, q, axis, normalize)
    positive = p_arr > 0
    with np.errstate(divide="ignore"):
        log_q = np.log(q_arr, out=np.zeros_like(q_arr), where=positive)
    # H(p / Sp, q / Sq) = log Sq - sum(p log q) / Sp
    total = _log_total(q_arr) - np.sum(p_arr * log_q, axis=-1) / p_sum[..., 0]
    return _validation.finish(total, log_base)


def kl_divergence(p: ArrayLike, q: ArrayLike, *, base: float | None = None, axis: int = -1,
                  normalize: bool = False) -> Result:
    r"""Kullback–Leibler divergence :math:`D(P \| Q) = \sum_x p(x) \log \frac{p(x)}{q(x)}`.

    Accurate to a few units in the last place for every pair, including
    nearly identical ones, where the textbook sum (and ``scipy.stats.entropy``)
    returns noise of either sign. The result is never negative.

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
        within ``1e-9``. If True they may have any positive totals and the
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
        entries, does not sum to 1 (and `normalize` is False) or sums to 0; if
        the shapes do not broadcast; if `base` or `axis` is invalid.

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
    the book derives each step.

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
        # totals near the ends of the double range (subnormal entries, say): scale each
        # row by a power of two, which is exact and leaves the normalised pair unchanged
        arrays = tuple(np.ldexp(arr, -np.frexp(total)[1][..., np.newaxis])
                       for arr, total in zip(arrays, (sums.p_sum, sums.q_sum)))
        sums = _kl_kernel.kl_sums(*arrays)
    if not (sums.valid and _totals_acceptable(sums.p_sum, sums.q_sum, normalize)):
        # raises, naming the argument and the problem; returns only if a total overflowed
        p_arr, q_arr, p_sum, q_sum = _prepare_pair(p, q, axis, normalize)
        return np.sum(_kl_terms(p_arr, q_arr, p_sum, q_sum), axis=-1) / p_sum[..., 0]
    if np.ndim(sums.p_sum) == 0:  # one distribution: Python floats, same IEEE arithmetic
        p_total = float(sums.p_sum)
        mean, offset = float(sums.phi_sum) / p_total, float(sums.difference_sum) / p_total
        correction = (_phi_of_offset(np.asarray(offset)).item()
                      if abs(offset) > _ONE_TERM_OFFSET else _phi_one_term(offset))
        # (an infinite or NaN correction means a subnormal total: the careful path)
        if correction <= _CORRECTION_SHARE * mean and correction < np.inf:
            return np.float64(mean - correction)
    mean = sums.phi_sum / sums.p_sum
    correction = _phi_of_offset(np.asarray(sums.difference_sum / sums.p_sum))
    careful = ~((correction <= _CORRECTION_SHARE * mean) & (correction < np.inf))
    result = np.asarray(mean - correction)
    if careful.any():
        p_arr, q_arr = arrays[0][careful], arrays[1][careful]
        p_sum, q_sum = p_arr.sum(axis=-1, keepdims=True), q_arr.sum(axis=-1, keepdims=True)
        result[careful] = np.sum(_kl_terms(p_arr, q_arr, p_sum, q_sum), axis=-1) / p_sum[..., 0]
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
    """Whether a positive finite total lies outside [2**-500, 2**500]."""
    totals = np.concatenate([np.ravel(p_sum), np.ravel(q_sum)])
    return bool(np.any((totals > 0) & (totals < np.inf)
                       & ((totals < 2.0**-500) | (totals > 2.0**500))))


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


# Totals closer than this (relatively) are treated as equal up to rounding: the
# offsets are then formed from the exact differences q - p. Farther apart (counts,
# normalize=True) the cross products q*Sp - p*Sq are formed exactly instead.
_TOTALS_CLOSE = 1e-13
def _ratio_offsets(p, q, p_sum, q_sum):
    """Return ``x`` and ``scale`` with ``(q / p) * scale = 1 + x`` accurately.

    ``scale`` approximates ``Sp / Sq``; a final correction (see `_kl_terms`)
    makes it exact, so only the offsets need to be accurate.
    """
    if np.all(np.abs(p_sum - q_sum) <= _TOTALS_CLOSE * q_sum):
        # q - p is exact wherever q and p are within a factor of 2 (Sterbenz)
        return (q - p) / p, np.ones_like(p_sum)
    # Rescale by powers of two (exact) so that the products below cannot overflow.
    p_exponent, q_exponent = np.frexp(p_sum)[1], np.frexp(q_sum)[1]
    p = np.ldexp(p, -p_exponent)
    q = np.ldexp(q, -q_exponent)
    p_sum, q_sum = p.sum(axis=-1, keepdims=True), q.sum(axis=-1, keepdims=True)
    q_hi, q_lo = _two_product(q, np.broadcast_to(p_sum, q.shape))
    p_hi, p_lo = _two_product(p, np.broadcast_to(q_sum, p.shape))
    # q*Sp - p*Sq, with the leading difference exact when the two are close
    x = ((q_hi - p_hi) + (q_lo - p_lo)) / p_hi
    return x, np.ldexp(p_sum / q_sum, p_exponent - q_exponent)


def _kl_terms(p: NDArray[np.float64], q: NDArray[np.float64],
              p_sum: NDArray[np.float64], q_sum: NDArray[np.float64]) -> NDArray[np.float64]:
    """Terms ``p * phi(r)`` with ``r = (q / p) * (Sp / Sq)``; they sum to ``Sp * D``.

    Scaling q by ``s = Sp / Sq`` makes the two totals equal, so the terms are
    non-negative and their sum is exactly ``Sp * D(p/Sp || q/Sq)``. ``s`` is
    never multiplied into q: ``r - 1 = x + eps * (1 + x)``, where
    ``1 + x = (q / p) * scale`` is formed without cancellation and the small
    ``eps`` restores the exact normalisation ``sum(p * r) = Sp``. The sum of
    terms is stationary in ``eps`` at its true value, so rounding in the
    totals enters the divergence only at second order.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x, scale = _ratio_offsets(p, q, p_sum, q_sum)
        # sum(p * x) computed from finite offsets only; p = 0 entries add q * scale
        q_scaled = q * scale
        weighted = np.where(p > 0, p * x, q_scaled)
        # where q/p overflowed, p * x is inf; its exact value is q * scale - p
        weighted = np.where(np.isfinite(weighted), weighted, q_scaled - p)
        excess = np.sum(weighted, axis=-1, keepdims=True)
        eps = -excess / (p_sum + excess)
        offset = x + eps * (1.0 + x) if (eps != 0).any() else x
    near = (offset >= _SERIES_LOWER) & (offset <= _SERIES_UPPER)
    if near.all():
        return -p * _log1pmx_series(offset)

    terms = np.empty_like(offset)
    terms[near] = -p[near] * _log1pmx_series(offset[near])
    far = ~near
    p_far, q_far = p[far], q[far]
    s = np.broadcast_to(scale * (1.0 + eps), p.shape)[far]
    log_s = np.broadcast_to(np.log(scale) + np.log1p(eps), p.shape)[far]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = q_far / p_far
        # log(p / q) from the quotient when it is representable, else from logs
        log_pq = np.where((ratio > 0) & np.isfinite(ratio), -np.log(ratio),
                          np.log(p_far) - np.log(q_far))
        far_terms = p_far * (log_pq - log_s) + (q_far * s - p_far)
    # p = 0 contributes q * s (the "+ q" of p log(p/q) - p + q); q = 0 < p gives inf
    far_terms = np.where(p_far > 0, far_terms, q_far * s)
    far_terms[(p_far > 0) & (q_far == 0)] = np.inf
    terms[far] = far_terms
    return terms
