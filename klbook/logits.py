"""Softmax, cross-entropy and KL divergence computed from logits.

A classifier outputs *logits* ``z``; its predicted distribution is
``softmax(z)_j = exp(z_j) / sum_k exp(z_k)``. Forming that quotient directly
overflows as soon as a logit exceeds about 709 (``exp(1000)`` is ``inf`` in
double precision, and ``inf / inf`` is NaN), and underflows to an exact 0 for a
logit far below the largest, after which ``log`` returns ``-inf``. The functions
here never form ``exp(z)``: they work with

    log softmax(z)_j = (z_j - m) - log1p(s),   m = max_k z_k,
    s = sum over k other than one maximiser of exp(z_k - m),

in which every exponent is ``<= 0`` and ``log1p`` keeps the digits of a tiny
``s``. The conventions are those of :mod:`klbook.discrete`: nats unless
``base`` is given, outcomes along ``axis``, labels (the distribution the data
come from, one-hot or soft) summing to 1 unless ``normalize=True``, and
arguments in the order *(data, model)* as in ``kl_divergence(p, q)``.
"""

from __future__ import annotations

import numbers
from math import factorial

import numpy as np
from numpy.typing import ArrayLike, NDArray

from klbook import _validation

__all__ = ["log_softmax", "softmax", "softmax_cross_entropy", "softmax_kl_divergence"]

Result = NDArray[np.float64] | np.float64

# Inside |t| <= _SERIES_RADIUS the Taylor series of exp(t) - 1 - t below is
# summed to full precision; outside it the direct formula loses under two bits.
_SERIES_RADIUS = 0.5
_SERIES_TERMS = 17  # 0.5**18 / 18! < 1e-21


def _as_logits(value: ArrayLike, name: str = "logits") -> NDArray[np.float64]:
    """Return ``value`` as a float64 array of finite reals (any sign)."""
    arr = _validation.as_real_array(value, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains an infinite entry; logits must be finite")
    return arr


def _log_softmax_last(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """log softmax along the last axis, without overflow and without losing tiny tails."""
    top = np.argmax(z, axis=-1)[..., np.newaxis]
    largest = np.take_along_axis(z, top, axis=-1)
    with np.errstate(over="ignore"):
        shifted = z - largest                  # every entry <= 0: exp cannot overflow
    # The rounding error of z - largest, recovered exactly (Knuth's two-sum): a shift of
    # d ~ -700 is rounded by up to 6e-14, which exp would turn into a relative error of
    # 6e-14 in a tail that log1p then passes on to the loss of the top class.
    # A spread beyond the double range makes the shift -inf (exact log-probability below
    # -1.8e308: -inf is its rounding); its exp is 0 and needs no correction, while the
    # two-sum would give inf - inf.
    with np.errstate(invalid="ignore"):
        b_virtual = shifted - z
        rounding = (z - (shifted - b_virtual)) + (-largest - b_virtual)
    rounding[~np.isfinite(shifted)] = 0.0
    others = np.exp(shifted)
    others += others * rounding
    np.put_along_axis(others, top, 0.0, axis=-1)  # the maximiser contributes the "1" of log1p
    return shifted - np.log1p(others.sum(axis=-1, keepdims=True))


def _expm1mx(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """``exp(t) - 1 - t`` without cancellation, elementwise, for finite ``t``.

    For small ``|t|`` the result is about ``t**2 / 2`` while ``expm1(t)`` and
    ``t`` agree in almost every digit, so the difference is taken from the
    Taylor series ``sum_{k>=2} t**k / k!`` (Horner's scheme) instead.
    """
    out = np.empty_like(t)
    near = np.abs(t) <= _SERIES_RADIUS
    with np.errstate(over="ignore"):
        out[~near] = np.expm1(t[~near]) - t[~near]
    tn = t[near]
    series = np.full_like(tn, 1.0 / factorial(_SERIES_TERMS + 1))
    for k in range(_SERIES_TERMS, 1, -1):
        series = series * tn + 1.0 / factorial(k)
    out[near] = series * tn * tn
    return out


def _check_normalize(normalize: bool) -> None:
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {type(normalize).__name__}")


def log_softmax(logits: ArrayLike, *, axis: int = -1) -> NDArray[np.float64]:
    r"""Logarithm of the softmax, :math:`z_j - \log \sum_k e^{z_k}`, along `axis`.

    Parameters
    ----------
    logits : array_like
        Finite real numbers; the outcomes lie along `axis`.
    axis : int, optional
        The axis holding the outcomes. Default: the last.

    Returns
    -------
    ndarray
        Same shape as `logits`; every entry ``<= 0`` and finite, even where the
        probability itself underflows to 0.

    Raises
    ------
    TypeError
        If `logits` is not real and numeric, or `axis` is not an integer.
    ValueError
        If `logits` is empty, a scalar, or holds NaN or infinite entries; if
        `axis` is out of range.

    Examples
    --------
    >>> from klbook.logits import log_softmax
    >>> log_softmax([1000.0, -1000.0]).tolist()   # naive exp(1000) overflows
    [0.0, -2000.0]
    >>> log_softmax([0.0, 0.0]).round(6).tolist()
    [-0.693147, -0.693147]
    """
    z = _validation.move_axis_last(_as_logits(logits), axis)
    return np.moveaxis(_log_softmax_last(z), -1, axis)


def softmax(logits: ArrayLike, *, axis: int = -1) -> NDArray[np.float64]:
    r"""The distribution :math:`e^{z_j} / \sum_k e^{z_k}` along `axis`, without overflow.

    Parameters
    ----------
    logits : array_like
        Finite real numbers; the outcomes lie along `axis`.
    axis : int, optional
        The axis holding the outcomes. Default: the last.

    Returns
    -------
    ndarray
        Probabilities summing to 1 along `axis` (up to rounding). An entry whose
        probability is below the smallest double is 0; use
        :func:`log_softmax` when such tails matter.

    Raises
    ------
    TypeError, ValueError
        As for :func:`log_softmax`.

    Examples
    --------
    >>> from klbook.logits import softmax
    >>> softmax([1000.0, 1000.0]).round(15).tolist()   # exp's last bit varies by platform
    [0.5, 0.5]
    >>> softmax([[0.0, 0.0, 0.0, 0.0]]).round(15).tolist()
    [[0.25, 0.25, 0.25, 0.25]]
    """
    return np.exp(log_softmax(logits, axis=axis))


def _prepare(labels: ArrayLike, logits: ArrayLike, axis: int, normalize: bool):
    """Validated labels (normalised) and log softmax(logits), outcomes on the last axis."""
    _check_normalize(normalize)
    y = _validation.as_measure(labels, "labels")
    z = _as_logits(logits)
    y, z = _validation.broadcast_pair(y, z, axis, names=("labels", "logits"))
    total = _validation.totals(y, "labels", normalize=bool(normalize))
    return y / total, _log_softmax_last(z)


def softmax_cross_entropy(labels: ArrayLike, logits: ArrayLike, *, base: float | None = None,
                          axis: int = -1, normalize: bool = False) -> Result:
    r"""Cross-entropy :math:`H(y, \operatorname{softmax}(z)) = -\sum_j y_j \log \operatorname{softmax}(z)_j`.

    The loss of a classifier with logits `z` on an example whose label
    distribution is `y`. For a one-hot `y` (class ``c``) it is the negative
    log-probability of the true class, :math:`\log\sum_k e^{z_k} - z_c`.
    Computed from the logits by the log-sum-exp shift, so it is finite and
    accurate for logits of any size (``±1000`` included).

    Parameters
    ----------
    labels : array_like
        The target distribution, one-hot or soft: non-negative, summing to 1
        along `axis`. Broadcast against `logits`.
    logits : array_like
        The model's logits, finite reals.
    base : float, optional
        Logarithm base of the unit: None (nats, the default), 2 (bits), 10
        (hartleys).
    axis : int, optional
        The axis holding the classes. Default: the last.
    normalize : bool, optional
        If True, `labels` may have any positive total and is normalised.

    Returns
    -------
    float or ndarray
        The cross-entropy, ``>= 0`` and finite; an array for batched input.

    Raises
    ------
    TypeError
        If `labels` or `logits` is not numeric, `axis` is not an integer or
        `normalize` is not a bool.
    ValueError
        If either input is empty or a scalar or holds NaN or infinite entries;
        if `labels` has a negative entry or does not sum to 1 (and `normalize`
        is False); if the shapes do not broadcast; if `base` or `axis` is
        invalid.

    Examples
    --------
    >>> from klbook.logits import softmax_cross_entropy
    >>> float(softmax_cross_entropy([0, 1], [1000.0, -1000.0]))   # log(1 + e^2000) - (-1000) - 1000
    2000.0
    >>> round(float(softmax_cross_entropy([0.5, 0.5], [0.0, 0.0], base=2)), 12)
    1.0
    >>> softmax_cross_entropy([[1, 0], [0, 1]], [2.0, 0.0]).round(6)
    array([0.126928, 2.126928])
    """
    log_base = _validation.check_base(base)
    y, log_q = _prepare(labels, logits, axis, normalize)
    # -y * log q >= 0 termwise: the sum has no cancellation. Terms with y = 0 are 0 (also
    # where log q is -inf, beyond the double range: 0 * -inf is not evaluated into them).
    with np.errstate(invalid="ignore"):
        total = 0.0 - np.sum(np.where(y > 0, y * log_q, 0.0), axis=-1)  # 0.0 - : no "-0.0"
    return _validation.finish(total, log_base)


def softmax_kl_divergence(labels: ArrayLike, logits: ArrayLike, *, base: float | None = None,
                          axis: int = -1, normalize: bool = False) -> Result:
    r"""KL divergence :math:`D(y \,\|\, \operatorname{softmax}(z))` computed from logits.

    It differs from :func:`softmax_cross_entropy` by the entropy of the labels,
    a constant that does not depend on the logits (and is 0 for one-hot
    labels), but it is **not** computed as that difference, which cancels
    when the prediction is close to the labels.

    Parameters
    ----------
    labels : array_like
        The target distribution, one-hot or soft (non-negative, summing to 1
        along `axis`). Broadcast against `logits`.
    logits : array_like
        The model's logits, finite reals.
    base : float, optional
        Logarithm base of the unit: None (nats, the default), 2 (bits), 10
        (hartleys).
    axis : int, optional
        The axis holding the classes. Default: the last.
    normalize : bool, optional
        If True, `labels` may have any positive total and is normalised.

    Returns
    -------
    float or ndarray
        The divergence, ``>= 0`` and finite (a softmax is never exactly 0).

    Raises
    ------
    TypeError, ValueError
        As for :func:`softmax_cross_entropy`.

    Notes
    -----
    With :math:`t_j = \log q_j - \log y_j` the divergence is the sum of the
    non-negative terms :math:`y_j (e^{t_j} - 1 - t_j)` over ``y_j > 0`` plus
    :math:`q_j` over ``y_j = 0`` (the two sums of :math:`q_j - y_j` cancel
    because both are distributions). :math:`e^{t} - 1 - t` is taken from its
    Taylor series near 0, and :math:`y_j e^{t_j}` as :math:`q_j` far from it,
    so nothing overflows. The result is therefore never negative. For labels
    that nearly equal the prediction, the divergence (about half the squared
    relative difference) is ill-conditioned in the logits themselves: a
    rounding of ``1e-16`` in ``log q_j`` moves it by about ``1e-16 *
    |t_j|``, and this function is accurate to that level.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.logits import softmax_kl_divergence
    >>> round(float(softmax_kl_divergence([0.5, 0.5], [1000.0, -1000.0])), 9)  # 1000 - log 2
    999.306852819
    >>> round(float(softmax_kl_divergence([0.5, 0.5], [3.0, 3.0])), 15)   # 0 up to rounding
    0.0
    >>> round(float(softmax_kl_divergence([1, 0], [0.0, 0.0], base=2)), 15)
    1.0
    """
    log_base = _validation.check_base(base)
    y, log_q = _prepare(labels, logits, axis, normalize)
    positive = y > 0
    with np.errstate(divide="ignore"):
        log_y = np.log(y, out=np.zeros_like(y), where=positive)
    t = np.where(positive, log_q - log_y, 0.0)
    q = np.exp(log_q)
    terms = np.where(positive, 0.0, q)
    near = positive & (np.abs(t) <= _SERIES_RADIUS)
    terms[near] = y[near] * _expm1mx(t[near])
    far = positive & ~near
    # y (e^t - 1 - t) = (q - y) - y t; computing e^t itself could overflow when y is tiny
    terms[far] = (q[far] - y[far]) - y[far] * t[far]
    return _validation.finish(np.sum(terms, axis=-1), log_base)
