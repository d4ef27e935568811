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
``s``. Logits may be any finite doubles: where they spread over more than the
largest double (``z_j - m`` overflows), a log-probability is below ``-1.8e308``
and is returned as ``-inf``, its rounding, while the losses, whose terms
``y_j log softmax(z)_j`` may still be representable, are computed from halved
differences and are ``inf`` only when they themselves exceed the largest double.
The conventions are those of :mod:`klbook.discrete`: nats unless
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
    return _log_softmax_parts(z)[0]


def _log_softmax_parts(z: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """log softmax along the last axis as ``high + low``: ``high`` is the rounded value,
    ``low`` its rounding error (0 where ``high`` is ``-inf``), up to that of ``log1p``.

    ``exp(high) * (1 + low)`` is then the probability to a few ulps even where
    ``|high|`` is in the hundreds and its rounding alone would cost ``|high| * eps``.
    """
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
    correction = np.log1p(others.sum(axis=-1, keepdims=True))
    high = shifted - correction
    with np.errstate(invalid="ignore"):  # the same two-sum, for this subtraction
        b_virtual = high - shifted
        low = rounding + ((shifted - (high - b_virtual)) + (-correction - b_virtual))
    low[~np.isfinite(high)] = 0.0
    return high, low


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
        probability itself underflows to 0, except where the log-probability is
        below the most negative double (logits spread over more than ``1.8e308``):
        there it is ``-inf``, its rounding.

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
    """Validated labels (normalised), logits, and log softmax(logits) as ``high, low``
    (:func:`_log_softmax_parts`), outcomes on the last axis."""
    _check_normalize(normalize)
    y = _validation.as_measure(labels, "labels")
    z = _as_logits(logits)
    y, z = _validation.broadcast_pair(y, z, axis, names=("labels", "logits"))
    if normalize:
        # Labels near the largest double have a total that overflows, subnormal ones a
        # total with few significant bits. Scaling by the power of two of the largest
        # label is exact (the quotients y / total are those of the unscaled labels) and
        # leaves a total in [1/2, k).
        _, exponent = np.frexp(y.max(axis=-1, keepdims=True))
        y = np.ldexp(y, -exponent)
    with np.errstate(over="ignore"):  # a total that overflows is reported as not 1
        total = _validation.totals(y, "labels", normalize=bool(normalize))
    return (y / total, z, *_log_softmax_parts(z))


def _half_log_softmax_beyond(z: NDArray[np.float64], log_q: NDArray[np.float64]
                             ) -> NDArray[np.float64]:
    """``log softmax(z) / 2``, finite, for the entries where ``log_q`` is ``-inf``.

    There ``z_j - max(z)`` overflowed (the logits spread over more than the largest
    double); half of it does not. The top class's log-probability is ``-log1p(s)``,
    the same correction every entry carries. Other entries are left meaningless.
    """
    largest = z.max(axis=-1, keepdims=True)
    top = np.take_along_axis(log_q, np.argmax(z, axis=-1)[..., np.newaxis], axis=-1)
    return (0.5 * z - 0.5 * largest) + 0.5 * top


def softmax_cross_entropy(labels: ArrayLike, logits: ArrayLike, *, base: float | None = None,
                          axis: int = -1, normalize: bool = False) -> Result:
    r"""Cross-entropy :math:`H(y, \operatorname{softmax}(z)) = -\sum_j y_j \log \operatorname{softmax}(z)_j`.

    The loss of a classifier with logits `z` on an example whose label
    distribution is `y`. For a one-hot `y` (class ``c``) it is the negative
    log-probability of the true class, :math:`\log\sum_k e^{z_k} - z_c`.
    Computed from the logits by the log-sum-exp shift, so it is accurate for
    finite logits of any size (``±1000`` included, and up to the largest
    double, to a few units in the last place).

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
        The cross-entropy, ``>= 0``; an array for batched input. It is finite
        unless it exceeds the largest double (possible only for logits that
        spread over more than it), where it is ``inf``.

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
    y, z, log_q, _ = _prepare(labels, logits, axis, normalize)
    # -y * log q >= 0 termwise: the sum has no cancellation. Terms with y = 0 are 0 (also
    # where log q is -inf, beyond the double range: 0 * -inf is not evaluated into them).
    positive = y > 0
    beyond = positive & np.isneginf(log_q)
    with np.errstate(invalid="ignore"):
        products = np.where(positive & ~beyond, y * log_q, 0.0)
    total = np.sum(products, axis=-1)
    if beyond.any():
        # log q below -max double, y log q perhaps not: sum the halves, double once at
        # the end (the terms share a sign, so the doubling overflows only when the exact
        # loss exceeds the largest double).
        halves = np.where(beyond, y * _half_log_softmax_beyond(z, log_q), 0.0)
        with np.errstate(over="ignore"):
            total = 2.0 * (0.5 * total + np.sum(halves, axis=-1))
    return _validation.finish(0.0 - total, log_base)  # 0.0 - : no "-0.0"


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
        The divergence, ``>= 0`` and finite (a softmax is never exactly 0),
        unless it exceeds the largest double (logits spread over more than
        it), where it is ``inf``.

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
    so nothing overflows; a class with ``y_j = 0`` contributes :math:`q_j`
    taken from the rounded :math:`\log q_j` and its rounding error, so that
    it keeps its digits when :math:`|\log q_j|` is in the hundreds. Where
    :math:`\log q_j` is below the most negative double, :math:`-y_j t_j` is
    formed from halves. The result is therefore never negative. For labels
    that nearly equal the prediction, the divergence (about half the squared
    relative difference) is ill-conditioned in the logits themselves: a
    rounding of ``1e-16`` in ``log q_j`` moves it by about ``1e-16 * y_j
    |t_j|``. The error of this function is a few ulps of the divergence plus
    that effect of the roundings of :math:`\log q_j` and :math:`\log y_j`:
    at most a few units of :math:`\epsilon \sum_j y_j |t_j|
    (|\log q_j| + |\log y_j|)` more (tested against mpmath for logits spread
    from ``1e-300`` to beyond the largest double).

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
    >>> float(softmax_kl_divergence([0.5, 0.5], [9e307, -9e307]))  # 9e307 - log 2: spread 1.8e308
    9e+307
    """
    log_base = _validation.check_base(base)
    y, z, log_q, log_q_low = _prepare(labels, logits, axis, normalize)
    positive = y > 0
    log_y = np.log(y, out=np.zeros_like(y), where=positive)
    t = np.where(positive, log_q - log_y, 0.0)
    # A class with y = 0 contributes q itself: take it from log q and the rounding error
    # of log q, which would otherwise cost |log q| * eps (6e-14 at q ~ e^-700).
    q = np.exp(log_q)
    q += q * log_q_low
    terms = np.where(positive, 0.0, q)
    near = positive & (np.abs(t) <= _SERIES_RADIUS)
    terms[near] = y[near] * _expm1mx(t[near])
    far = positive & ~near
    beyond = far & np.isneginf(log_q)
    far &= ~beyond
    # y (e^t - 1 - t) = (q - y) - y t; computing e^t itself could overflow when y is tiny
    terms[far] = (q[far] - y[far]) - y[far] * t[far]
    if beyond.any():
        # log q below -max double (the logits spread beyond the double range): q is 0 and
        # -y t = 2 y (log y / 2 - log q / 2), whose halves are finite. The terms are >= 0,
        # so a doubling that overflows means that the divergence exceeds the largest double.
        half = _half_log_softmax_beyond(z, log_q)[beyond]
        with np.errstate(over="ignore"):
            terms[beyond] = 2.0 * (y[beyond] * (0.5 * log_y[beyond] - half)) - y[beyond]
    with np.errstate(over="ignore"):  # only where the divergence exceeds the largest double
        return _validation.finish(np.sum(terms, axis=-1), log_base)
