"""Symmetrised divergences: Jeffreys and Jensen–Shannon.

The KL divergence is not symmetric. Two classical repairs:

* the **Jeffreys divergence** ``J(P, Q) = D(P||Q) + D(Q||P)``;
* the **Jensen–Shannon divergence**
  ``JS(P, Q) = (D(P||M) + D(Q||M)) / 2`` with the mixture ``M = (P + Q) / 2``.

Both functions follow the conventions of :mod:`klbook.discrete`: results in
nats unless ``base`` is given, numpy broadcasting, reduction over ``axis``,
totals checked to be 1 unless ``normalize=True``, and the same errors for bad
input.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from klbook import _validation
from klbook.discrete import _TOTALS_CLOSE, _prepare_pair, kl_divergence
from klbook.special import _SERIES_LOWER, _SERIES_UPPER, _log1pmx_series, _two_product

__all__ = ["jeffreys_divergence", "js_divergence"]

Result = NDArray[np.float64] | np.float64


def jeffreys_divergence(p: ArrayLike, q: ArrayLike, *, base: float | None = None,
                        axis: int = -1, normalize: bool = False) -> Result:
    r"""Jeffreys divergence :math:`J(P, Q) = D(P \| Q) + D(Q \| P)`.

    Equivalently :math:`\sum_x (p(x) - q(x)) \log \frac{p(x)}{q(x)}`. It is
    symmetric and non-negative, zero only when ``P = Q``, but, like KL, it
    does not satisfy the triangle inequality.

    Parameters
    ----------
    p, q : array_like
        Probabilities, non-negative, each summing to 1 along `axis`;
        broadcast against each other.
    base : float, optional
        Logarithm base of the unit: None (nats, the default), 2 (bits),
        10 (hartleys).
    axis : int, optional
        The axis holding the outcomes. Default: the last.
    normalize : bool, optional
        If True, `p` and `q` may have any positive totals and are normalised.

    Returns
    -------
    float or ndarray
        The divergence, ``>= 0``. It is ``inf`` unless `p` and `q` have the
        same support (one of the two KL divergences is then infinite).

    Raises
    ------
    TypeError
        If `p` or `q` is not numeric, or `axis` is not an integer.
    ValueError
        As for :func:`klbook.kl_divergence`.

    Notes
    -----
    The two directions come from :func:`klbook.kl_divergence`, which sums
    non-negative terms without cancellation, so the result keeps its relative
    accuracy for nearly identical pairs, where ``sum((p - q) * log(p / q))``
    returns rounding noise.

    Examples
    --------
    >>> from klbook import jeffreys_divergence, kl_divergence
    >>> round(float(jeffreys_divergence([0.5, 0.5], [0.1, 0.9])), 8)
    0.87888983
    >>> p, q = [0.2, 0.3, 0.5], [0.1, 0.6, 0.3]
    >>> bool(jeffreys_divergence(p, q) == jeffreys_divergence(q, p))
    True
    >>> float(jeffreys_divergence([1.0, 0.0], [0.5, 0.5]))
    inf
    """
    forward = kl_divergence(p, q, base=base, axis=axis, normalize=normalize)
    return forward + kl_divergence(q, p, base=base, axis=axis, normalize=normalize)


def js_divergence(p: ArrayLike, q: ArrayLike, *, base: float | None = None,
                  axis: int = -1, normalize: bool = False) -> Result:
    r"""Jensen–Shannon divergence :math:`\frac12 D(P \| M) + \frac12 D(Q \| M)`.

    Here :math:`M = \frac12 (P + Q)`. The JS divergence is symmetric, always
    finite, zero only when ``P = Q``, and at most :math:`\log 2` (1 bit), a
    value reached exactly when the supports of `p` and `q` are disjoint. Its
    square root is a metric.

    Parameters
    ----------
    p, q : array_like
        Probabilities, non-negative, each summing to 1 along `axis`;
        broadcast against each other.
    base : float, optional
        Logarithm base of the unit: None (nats, the default), 2 (bits),
        10 (hartleys).
    axis : int, optional
        The axis holding the outcomes. Default: the last.
    normalize : bool, optional
        If True, `p` and `q` may have any positive totals and are normalised.

    Returns
    -------
    float or ndarray
        The divergence, in ``[0, log(2)]`` (``[0, 1]`` in bits), up to
        rounding in the last place.

    Raises
    ------
    TypeError
        If `p` or `q` is not numeric, or `axis` is not an integer.
    ValueError
        As for :func:`klbook.kl_divergence`.

    Notes
    -----
    The mixture is never formed. JS is stationary in ``m`` at
    ``(p + q) / 2``, so the rounding of ``m`` to a double enters only at
    second order, as ``(ulp / (p - q))**2`` relative: harmless for distant
    pairs, but every digit is lost once ``p`` and ``q`` agree to the last
    few places. Instead, with ``r = q / p`` (normalised),

    .. math:: \frac{m}{p} - 1 = \frac{r - 1}{2},

    and ``r - 1`` is formed from the exact difference ``q - p`` (or, for
    totals far from each other, from exact cross products), as in
    :func:`klbook.kl_divergence`. Each half is then
    :math:`\sum_x p(x)\,\varphi(m(x)/p(x))` with
    :math:`\varphi(t) = t - 1 - \log t \ge 0`, a sum of non-negative terms
    evaluated through :func:`klbook.special.log1pmx`; the result keeps a
    relative error of a few units in the last place.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook import js_divergence
    >>> round(float(js_divergence([0.5, 0.5], [0.1, 0.9])), 8)
    0.10174923
    >>> round(float(js_divergence([1, 0], [0, 1], base=2)), 15)   # disjoint supports: 1 bit
    1.0
    >>> js_divergence([[1, 1], [1, 3]], [1, 1], normalize=True).round(6)
    array([0.      , 0.033822])
    >>> p = np.array([0.3, 0.7]); q = p + [1e-9, -1e-9]
    >>> float(js_divergence(p, q))           # about 1e-18 / (8 * 0.3 * 0.7) = 5.95e-19
    5.952381072615285e-19
    """
    log_base = _validation.check_base(base)
    p_arr, q_arr, p_sum, q_sum = _prepare_pair(p, q, axis, normalize)
    half_p = np.sum(_half_mixture_terms(p_arr, q_arr, p_sum, q_sum), axis=-1) / p_sum[..., 0]
    half_q = np.sum(_half_mixture_terms(q_arr, p_arr, q_sum, p_sum), axis=-1) / q_sum[..., 0]
    return _validation.finish(0.5 * (half_p + half_q), log_base)


def _ratio_offsets(p: NDArray[np.float64], q: NDArray[np.float64],
                   p_sum: NDArray[np.float64], q_sum: NDArray[np.float64]
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``r - 1`` for ``r = (q / Sq) / (p / Sp)`` where ``p > 0``, and ``Sp / Sq``.

    Formed without cancellation: from the exact difference ``q - p`` when the
    totals agree, else from the exact cross products ``q * Sp - p * Sq``. A
    last correction ``eps`` makes ``sum(p * (r - 1)) = 0`` hold for the offsets
    actually used (``p = 0`` entries count ``q * Sp / Sq``): the divergence is
    stationary in that normalisation, so rounding in the totals enters only at
    second order.
    """
    positive = p > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if np.all(np.abs(p_sum - q_sum) <= _TOTALS_CLOSE * q_sum):
            # q - p is exact wherever q and p are within a factor of 2 (Sterbenz)
            numerator, denominator, scale = q - p, p, np.ones_like(p_sum)
        else:
            # scale by powers of two (exact) so that the products cannot overflow
            p2 = np.ldexp(p, -np.frexp(p_sum)[1])
            q2 = np.ldexp(q, -np.frexp(q_sum)[1])
            p2_sum, q2_sum = p2.sum(axis=-1, keepdims=True), q2.sum(axis=-1, keepdims=True)
            q_hi, q_lo = _two_product(q2, np.broadcast_to(p2_sum, q2.shape))
            p_hi, p_lo = _two_product(p2, np.broadcast_to(q2_sum, p2.shape))
            numerator, denominator = (q_hi - p_hi) + (q_lo - p_lo), p_hi
            scale = p_sum / q_sum
        x = np.divide(numerator, denominator, out=np.zeros_like(p), where=positive)
        # sum(p * x) over finite offsets; p = 0 entries (and overflowing ones) add q*s - p
        weighted = np.where(positive, p * x, 0.0)
        weighted = np.where(positive & np.isfinite(weighted), weighted,
                            np.broadcast_to(q * scale, p.shape) - p)
        excess = np.sum(weighted, axis=-1, keepdims=True)
        eps = -excess / (p_sum + excess)
        offset = x + eps * (1.0 + x) if (eps != 0).any() else x
    return offset, np.broadcast_to(scale * (1.0 + eps), p.shape)


def _half_mixture_terms(p: NDArray[np.float64], q: NDArray[np.float64],
                        p_sum: NDArray[np.float64], q_sum: NDArray[np.float64]
                        ) -> NDArray[np.float64]:
    """Terms ``p * phi(m / p')`` whose sum is ``Sp * D(p' || m)``.

    ``p' = p / Sp``, ``q' = q / Sq`` and ``m = (p' + q') / 2``. With
    ``r = q' / p'``, ``m / p' = (1 + r) / 2``, so the offset ``t = m / p' - 1``
    is ``(r - 1) / 2``. ``t >= -1/2`` always: ``m`` is at least half of
    ``p'``, which is why JS is finite.
    """
    offset, scale = _ratio_offsets(p, q, p_sum, q_sum)
    half_offset = 0.5 * offset
    positive = p > 0
    near = positive & (half_offset >= _SERIES_LOWER) & (half_offset <= _SERIES_UPPER)
    if near.all():
        return -p * _log1pmx_series(half_offset)

    terms = np.empty_like(half_offset)
    terms[near] = -p[near] * _log1pmx_series(half_offset[near])
    far = ~near
    p_far, q_far, t_far, s_far = p[far], q[far], half_offset[far], scale[far]
    # p * phi(1 + t) = p * t - p * log(1 + t), with p * t = (q * Sp/Sq - p) / 2
    # formed without t, which overflows when p is tiny next to q.
    p_times_t = 0.5 * (q_far * s_far - p_far)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = np.where(np.isfinite(t_far), np.log1p(t_far),
                             np.log(0.5 * (p_far + q_far * s_far)) - np.log(p_far))
        far_terms = p_times_t - p_far * log_ratio
    # p = 0: p * phi(m / p) -> Sp * m = q * Sp / (2 Sq) (the "+ m" of the phi form)
    terms[far] = np.where(p_far > 0, far_terms, p_times_t)
    return terms
