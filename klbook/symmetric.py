"""Symmetrised divergences: Jeffreys and Jensen–Shannon.

The KL divergence is not symmetric. Two classical repairs:

* the **Jeffreys divergence** ``J(P, Q) = D(P||Q) + D(Q||P)``;
* the **Jensen–Shannon divergence**
  ``JS(P, Q) = (D(P||M) + D(Q||M)) / 2`` with the mixture ``M = (P + Q) / 2``.

Both functions follow the conventions of :mod:`klbook.discrete`: results in
nats unless ``base`` is given, numpy broadcasting, reduction over ``axis``,
totals checked to be 1 (within the tolerance of the input's dtype) unless
``normalize=True``, which accepts any positive totals, and the same errors for
bad input. Both keep a relative error below ``1e-15`` against the exact value
for the normalised inputs, nearly identical pairs included.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from klbook import _validation
from klbook.discrete import (_log_of_scaled, _Pair, _pair_offsets_both, _prepare_pair,
                             _row_sums, kl_divergence)
from klbook.special import _SERIES_UPPER, _log1pmx_series

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
        Probabilities, non-negative, each summing to 1 along `axis` (within
        ``max(1e-9, 2 * n * eps)``, ``eps`` the machine epsilon of the
        argument's dtype) unless `normalize` is True; broadcast against each
        other.
    base : float, optional
        Logarithm base of the unit: None (nats, the default), 2 (bits),
        10 (hartleys).
    axis : int, optional
        The axis holding the outcomes. Default: the last.
    normalize : bool, optional
        If True, `p` and `q` may have any positive totals (subnormal entries,
        totals beyond the largest double) and are normalised.

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
    accuracy (below ``1e-15``) for nearly identical pairs, where
    ``sum((p - q) * log(p / q))`` returns rounding noise.

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
        Probabilities, non-negative, each summing to 1 along `axis` (within
        ``max(1e-9, 2 * n * eps)``, ``eps`` the machine epsilon of the
        argument's dtype) unless `normalize` is True; broadcast against each
        other.
    base : float, optional
        Logarithm base of the unit: None (nats, the default), 2 (bits),
        10 (hartleys).
    axis : int, optional
        The axis holding the outcomes. Default: the last.
    normalize : bool, optional
        If True, `p` and `q` may have any positive totals (subnormal entries,
        totals beyond the largest double) and are normalised.

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

    and ``r - 1 = (q S_p - p S_q) / (p S_q)`` is formed from exact cross
    products and exactly summed totals, on rows scaled by powers of two, as in
    the careful path of :func:`klbook.kl_divergence`, so that neither a near
    pair nor totals far apart (or at the ends of the double range) cost digits;
    a last correction makes the offsets consistent with the exact totals.
    Each half is then :math:`\sum_x p(x)\,\varphi(m(x)/p(x))` with
    :math:`\varphi(t) = t - 1 - \log t \ge 0`, a sum of non-negative terms
    evaluated through the series of :mod:`klbook.special`; the result keeps a
    relative error below ``1e-15``, for any positive totals with
    ``normalize=True``.

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
    p_arr, q_arr, _, _ = _prepare_pair(p, q, axis, normalize)
    forward, backward = _pair_offsets_both(p_arr, q_arr)
    half_p, half_q = _half_mixture(forward, p_arr), _half_mixture(backward, q_arr)
    return _validation.finish(0.5 * (half_p + half_q), log_base)


def _half_mixture(pair: _Pair, p: NDArray[np.float64]) -> NDArray[np.float64]:
    """``D(p' || m)`` per row, ``p' = p / Sp``, ``q' = q / Sq``, ``m = (p' + q') / 2``.

    With ``r = q' / p' = 1 + x`` (`klbook.discrete._pair_offsets`, on rows scaled
    by powers of two), ``m / p' = (1 + r) / 2``, so the offset ``t = m / p' - 1``
    is ``x / 2``, and the terms ``p phi(1 + t)`` sum to ``Sp D(p' || m)``.
    ``t >= -1/2`` always: ``m`` is at least half of ``p'``, which is why JS is
    finite. Near ``t = 0`` (up to ``t = 1``) the series of :mod:`klbook.special`;
    above, ``t - log1p(t)``, or logarithms where ``t`` overflows.
    """
    p2, q2, t = pair.p, pair.q, 0.5 * pair.offset
    positive = p2 > 0
    near = positive & (t >= -0.5) & (t <= _SERIES_UPPER)
    if near.all():
        return _row_sums(-p2 * _log1pmx_series(t)) / pair.p_sum[..., 0]
    terms = np.zeros_like(t)
    terms[near] = -p2[near] * _log1pmx_series(t[near])
    scale = np.broadcast_to(pair.scale, p2.shape)
    # p * t = (q * s - p) / 2, formed without t where t overflows; p = 0 gives this alone
    # (the "+ m" of the phi form)
    p_times_t = 0.5 * (q2 * scale - p2)
    far = positive & ~near
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        finite = far & (t < np.inf)
        terms[finite] = p2[finite] * (t[finite] - np.log1p(t[finite]))
        # log(1 + t) = log(m / p'), both logarithms far beyond the scale's log(2n)
        beyond = far & ~finite
        if beyond.any():
            log_m = np.log(0.5 * (p2[beyond] + q2[beyond] * scale[beyond]))
            log_p = _log_of_scaled(p2, p, pair.p_shift)[beyond]
            terms[beyond] = p_times_t[beyond] - p2[beyond] * (log_m - log_p)
    terms[~positive] = p_times_t[~positive]
    return _row_sums(terms) / pair.p_sum[..., 0]
