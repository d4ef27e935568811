"""Elementwise kernels that keep their digits where the textbook formulas lose them.

The divergences in :mod:`klbook` are sums of terms of the form
``p * phi(q / p)`` with ``phi(r) = r - 1 - log(r)``. Near ``r = 1`` the three
parts of ``phi`` cancel, so the kernels here take the *offset* ``x = r - 1``
(which callers can usually form exactly) and evaluate ``log(1 + x) - x``
without subtracting nearly equal numbers.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["log1pmx", "stirling_remainder"]

# Inside this interval the series below is used (|u| <= 1/3 with u = x / (2 + x));
# outside it log1p(x) - x has no harmful cancellation (it loses under two bits).
_SERIES_LOWER = -0.5
_SERIES_UPPER = 1.0
#: The same interval in terms of w = u**2: |u| <= 1/3.
_W_NEAR = 1.0 / 9.0

# log(1 + x) - x = u * (T(w) - x) with u = x / (2 + x), w = u**2 and
# T(w) = 2 w S(w), S(w) = sum_k w**k / (2k + 3)  (the atanh series of log(1 + x)).
# T(w) / w is a polynomial: near w = 0 a few Taylor terms 2 / (2k + 3) suffice; up
# to w = 1/9 the Taylor series would need 18 terms, and this 11-term polynomial,
# which interpolates 2 S(w) at the 11 Chebyshev points of [0, 1/9] (solved with
# mpmath at 50 digits), stays within 3.5e-18 (relative) of it there; rounded to
# doubles, within 6.2e-17, half an ulp of its constant term 2/3.
_CHEBYSHEV_COEFFICIENTS = (
    0.6666666666666666, 0.39999999999999525, 0.285714285716001, 0.2222222219823677,
    0.18181819897962714, 0.1538454396486055, 0.13335178631449257, 0.11734279061303197,
    0.10845178394880015, 0.07492143795550767, 0.1563057780092285,
)
_MAX_TAYLOR_TERMS = len(_CHEBYSHEV_COEFFICIENTS) - 1


def _taylor_limit(n_terms: int) -> float:
    """Largest w for which n_terms Taylor terms of S leave < 2**-56 in the result.

    Truncating S after K terms leaves a relative error below
    3 w**K / ((2K + 3)(1 - w)) in S, and S enters ``phi`` multiplied by at most
    0.6 |u| relative to the whole; bisection on that bound.
    """
    def bound(w: float) -> float:
        return 0.6 * np.sqrt(w) * 3 * w**n_terms / ((2 * n_terms + 3) * (1 - w))

    low, high = 0.0, _W_NEAR
    for _ in range(80):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if bound(mid) <= 2.0**-56 else (low, mid)
    return low


#: _TAYLOR_LIMITS[K - 1]: largest w_max that K Taylor terms handle.
_TAYLOR_LIMITS = tuple(_taylor_limit(k) for k in range(1, _MAX_TAYLOR_TERMS + 1))
#: Row K (1 .. 10): K Taylor coefficients 2 / (2k + 3), zero-padded; last row: Chebyshev.
_COEFFICIENT_TABLE = np.zeros((_MAX_TAYLOR_TERMS + 2, len(_CHEBYSHEV_COEFFICIENTS)))
for _k in range(1, _MAX_TAYLOR_TERMS + 1):
    _COEFFICIENT_TABLE[_k, :_k] = [2.0 / (2 * j + 3) for j in range(_k)]
_COEFFICIENT_TABLE[-1] = _CHEBYSHEV_COEFFICIENTS
_COEFFICIENT_TABLE.setflags(write=False)


def _series_row(w_max: float) -> int:
    """Row of _COEFFICIENT_TABLE that is accurate for 0 <= w <= w_max (<= 1/9)."""
    for n_terms, limit in enumerate(_TAYLOR_LIMITS, start=1):
        if w_max <= limit:
            return n_terms
    return _MAX_TAYLOR_TERMS + 1


def _series_coefficients(w_max: float) -> tuple[float, ...]:
    """Coefficients c_0, c_1, ... of T(w) / w, accurate for 0 <= w <= w_max (<= 1/9)."""
    row = _series_row(w_max)
    return _CHEBYSHEV_COEFFICIENTS if row > _MAX_TAYLOR_TERMS else tuple(
        _COEFFICIENT_TABLE[row, :row].tolist())


def _series_t(w: NDArray[np.float64], coefficients, out: NDArray[np.float64]) -> NDArray[np.float64]:
    """T(w) = w * (c_0 + c_1 w + ...) by Horner's rule, written into ``out``.

    ``coefficients`` is a sequence of floats, or of arrays that broadcast against
    `w` (one polynomial per row). Leading zero coefficients change nothing, bit
    for bit: ``(0 * w + 0) * w + c`` is exactly ``c``.
    """
    np.multiply(w, coefficients[-1], out=out)
    for coefficient in coefficients[-2::-1]:
        out += coefficient
        out *= w
    return out


def _log1pmx_series(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """log(1 + x) - x for x in [-1/2, 1], by the atanh series.

    With u = x / (2 + x), log(1 + x) = 2 atanh(u) = 2 (u + u**3/3 + u**5/5 + ...)
    and x - 2u = x u, hence log(1 + x) - x = u (T - x) with
    T = 2 u**2 (1/3 + u**2/5 + ...). The two parts of ``T - x`` have opposite
    signs and T is at most about x/6 of x, so nothing cancels. The number of
    terms adapts to the largest |x|: a near-identical pair needs one.
    """
    u = x / (2.0 + x)
    w = u * u
    t = _series_t(w, _series_coefficients(float(w.max(initial=0.0))), out=np.empty_like(w))
    t -= x
    t *= u
    return t


def log1pmx(x: ArrayLike) -> NDArray[np.float64] | np.float64:
    """Compute ``log(1 + x) - x`` accurately, elementwise.

    For small ``|x|`` the result is about ``-x**2 / 2``; evaluating
    ``np.log1p(x) - x`` there loses every digit. This function keeps a
    relative error of a few units in the last place for all ``x > -1``.

    Parameters
    ----------
    x : array_like
        Real numbers, ``x >= -1``.

    Returns
    -------
    ndarray or float
        ``log(1 + x) - x``; ``-inf`` at ``x = -1`` and NaN below it.

    Notes
    -----
    ``phi(r) = r - 1 - log(r) = -log1pmx(r - 1)`` is the kernel of every
    divergence in this package: ``D(P||Q) = sum_i p_i * phi(q_i / p_i)``.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.special import log1pmx
    >>> float(log1pmx(1e-9))            # -x**2/2 + x**3/3 - ...
    -4.999999996666666e-19
    >>> naive = float(np.log1p(1e-9) - 1e-9)   # the naive form loses about seven digits
    >>> bool(abs(naive / float(log1pmx(1e-9)) - 1) > 1e-9)
    True
    >>> bool(np.isclose(log1pmx(1.0), np.log(2) - 1))
    True
    """
    x_arr = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x_arr)
    near = (x_arr >= _SERIES_LOWER) & (x_arr <= _SERIES_UPPER)
    if near.all():
        out[...] = _log1pmx_series(x_arr)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[...] = np.log1p(x_arr) - x_arr
        out[near] = _log1pmx_series(x_arr[near])
        # log1p(-1) - (-1) is -inf + 1; log1p(inf) - inf would be NaN
        out[np.isposinf(x_arr)] = -np.inf
    return out[()] if out.ndim == 0 else out


# Dekker's splitting constant 2**27 + 1: splits a double into two 26-bit halves.
_SPLIT = 134217729.0


def _two_product(a: NDArray[np.float64], b: NDArray[np.float64]
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``a * b`` as an unevaluated sum ``hi + lo`` of two doubles, exactly (Dekker).

    Exact unless a product over- or underflows; callers rescale by powers of two.
    """
    hi = a * b
    t = _SPLIT * a
    a_hi = t - (t - a)
    a_lo = a - a_hi
    t = _SPLIT * b
    b_hi = t - (t - b)
    b_lo = b - b_hi
    lo = ((a_hi * b_hi - hi) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return hi, lo



# ------------------------------------------- the Stirling remainder of log-gamma
# log Gamma(x) = (x - 1/2) log x - x + log(2 pi)/2 + mu(x), and mu(x) has the asymptotic
# series sum_j B_2j / (2j (2j - 1) x**(2j - 1)). Ten terms leave a relative error below
# 1e-18 at x >= 10 for mu, mu', mu''; the m-th derivative needs x >= 2m as well (the
# terms grow like (2j + m)! / (2 pi x)**(2j)), hence _asymptotic_from below. Smaller
# arguments are shifted up by the recurrence mu(x) = mu(x + 1) + d(x), whose step
# d(y) = (y + 1/2) log(1 + 1/y) - 1 and its derivatives are evaluated below without
# cancellation.
_BERNOULLI_2J = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
                 43867 / 798, -174611 / 330)


def _asymptotic_from(derivative: int) -> float:
    """Smallest x at which the asymptotic series gives mu^(derivative) to ~1e-17."""
    return 10.0 if derivative <= 2 else max(15.0, 2.0 * derivative)


def _stirling_asymptotic(x: NDArray[np.float64], derivative: int,
                         scaled: bool = False) -> NDArray[np.float64]:
    """``mu^(m)(x)`` (times ``x**m`` if ``scaled``) from ten terms of the asymptotic series.

    The m-th derivative of ``x**-(2j - 1) / (2j (2j - 1))`` is
    ``(-1)**m (2j + m - 2)! / (2j)! * x**-(2j - 1 + m)`` for ``m >= 1``.
    """
    with np.errstate(over="ignore", under="ignore"):
        inv_square = 1.0 / (x * x)
        total = np.zeros_like(x)
        for j in range(len(_BERNOULLI_2J), 0, -1):
            if derivative == 0:
                weight = 1.0 / (2 * j * (2 * j - 1))
            else:
                weight = math.factorial(2 * j + derivative - 2) / math.factorial(2 * j)
            total = total * inv_square + _BERNOULLI_2J[j - 1] * weight
        sign = -1.0 if derivative % 2 else 1.0
        if scaled:
            return sign * total / x
        return sign * total * x ** -float(derivative + 1)


def _atanh_tail(z: NDArray[np.float64], derivative: int) -> NDArray[np.float64]:
    """``d(y)`` (``derivative=0``) or ``d'(y)`` (1) through ``z = 1/(2y + 1) <= 1/3``.

    With ``y + 1/2 = 1/(2z)`` and ``log(1 + 1/y) = 2 atanh z``,
    ``d = sum_{j>=1} z**(2j) / (2j + 1)`` and, since ``dz/dy = -2 z**2``,
    ``d' = -sum_{j>=1} 4j z**(2j + 1) / (2j + 1)``: every term has one sign.
    Eighteen terms reach ``9**-18 < 1e-17``.
    """
    w = z * z
    total = np.zeros_like(z)
    for j in range(18, 0, -1):
        total = total * w + (4.0 * j if derivative else 1.0) / (2 * j + 1)
    return -total * w * z if derivative else total * w


def _shift_step(y: NDArray[np.float64], derivative: int,
                x: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """``d^(m)(y)`` for ``d(y) = mu(y) - mu(y + 1) = (y + 1/2) log(1 + 1/y) - 1``.

    If ``x`` is given, ``x**m d^(m)(y)`` (for ``y >= x``), which stays finite
    when ``d^(m)(y)`` alone would overflow. ``d'' = 1 / (2 y**2 (y + 1)**2)``,
    so by Leibniz's rule, for ``m >= 2``,
    ``d^(m) = (-1)**m (m - 2)!/2 * y**-m (y + 1)**-2 * sum_j (j + 1)(m - 1 - j) q**j``
    with ``q = y / (y + 1)`` (``j = 0 .. m - 2``): a sum of terms of one sign.
    For ``m = 0, 1`` the series of :func:`_atanh_tail` serves ``y >= 1``; below,
    ``d`` is formed from ``log1pmx`` (cancelling at most a factor of three) or,
    under ``y = 1/4`` where ``z`` is too close to 1 to be formed accurately,
    directly.
    """
    m = derivative
    if m >= 2:
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            q = y / (y + 1.0)
            total = np.zeros_like(y)
            for j in range(m - 2, -1, -1):
                total = total * q + (j + 1) * (m - 1 - j)
            total *= 0.5 * math.factorial(m - 2) * (-1.0 if m % 2 else 1.0) / (y + 1.0) ** 2
            return total * (x / y) ** m if x is not None else total / y ** m
    if x is not None and m == 1:
        return x * _shift_step(y, 1)
    z = 1.0 / (2.0 * y + 1.0)
    large = y >= 1.0
    out = _atanh_tail(np.where(large, z, 0.0), m)
    if large.all():
        return out
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        zm = np.where(large, 0.5, z)
        atanh_gap = log1pmx(zm) - log1pmx(-zm)          # 2 (atanh z - z)
        tiny = y < 0.25
        if m == 0:
            middle = atanh_gap / (2.0 * zm)
            direct = (y + 0.5) * np.log1p(1.0 / y) - 1.0
        else:
            middle = atanh_gap - 2.0 * zm ** 3 / ((1.0 - zm) * (1.0 + zm))
            direct = np.log1p(1.0 / y) - (y + 0.5) / (y * (y + 1.0))
    return np.where(large, out, np.where(tiny, direct, middle))


def stirling_remainder(x: ArrayLike, derivative: int = 0) -> NDArray[np.float64] | np.float64:
    """The remainder of Stirling's formula for log-gamma, or one of its derivatives.

    ``mu(x) = log Gamma(x) - (x - 1/2) log x + x - log(2 pi) / 2``, which is
    about ``1/(12 x)`` for large ``x``. Subtracting the Stirling terms from
    ``scipy.special.gammaln`` or ``polygamma`` loses about ``2 log10(x) + 1``
    digits; this function keeps a relative error of a few units in the last
    place for every ``x > 0``, so that divergences built from log-gamma can
    separate the Stirling part (exact in logarithms) from this small rest.

    Parameters
    ----------
    x : array_like
        Positive real numbers.
    derivative : int, optional
        Order ``m >= 0`` of the derivative.

    Returns
    -------
    ndarray or float
        ``mu^(m)(x)``. Its sign is ``(-1)**m``.

    Raises
    ------
    ValueError
        If ``derivative`` is negative or ``x`` holds a value that is not positive.

    Notes
    -----
    For large ``x`` ten terms of the asymptotic series
    ``sum_j B_2j / (2j (2j - 1) x**(2j - 1))`` are used; smaller ``x`` are
    shifted up by ``mu(x) = mu(x + 1) + (x + 1/2) log(1 + 1/x) - 1``, whose
    step and its derivatives are sums of terms of one sign.

    Examples
    --------
    >>> from klbook.special import stirling_remainder
    >>> round(float(stirling_remainder(1.0)), 15)        # 1 - log(2 pi) / 2
    0.081061466795327
    >>> float(stirling_remainder(1e6) * 12e6)     # 1 - 1/(30 x**2) + ...: 1 / (12 x) at large x
    0.9999999999999666
    """
    if isinstance(derivative, (bool, np.bool_)) or not isinstance(derivative, (int, np.integer)):
        raise TypeError(f"derivative must be an integer, got {derivative!r}")
    if derivative < 0:
        raise ValueError(f"derivative must be >= 0, got {derivative}")
    x_arr = np.asarray(x, dtype=np.float64)
    if not (x_arr > 0).all():
        raise ValueError("x must be > 0 (and not NaN)")
    out = _stirling_remainder(x_arr.ravel(), int(derivative)).reshape(x_arr.shape)
    return out[()] if out.ndim == 0 else out


def _stirling_remainder(x: NDArray[np.float64], derivative: int,
                        scaled: bool = False) -> NDArray[np.float64]:
    """:func:`stirling_remainder` for a 1-D array of positive floats, unchecked.

    With ``scaled``, ``x**m mu^(m)(x)``: the coefficient of ``(h/x)**m / m!`` in
    the Taylor series of ``mu(x + h)``, finite for every positive ``x``.
    """
    start = _asymptotic_from(derivative)
    out = np.empty_like(x)
    large = x >= start
    if large.any():
        out[large] = _stirling_asymptotic(x[large], derivative, scaled)
    if not large.all():
        x_small = x[~large]
        # every element takes the same number of unit steps (each ends >= start), all
        # at once as a 2-D array; the steps of one derivative share one sign
        n_steps = int(np.ceil(start - x_small.min()))
        column = x_small[:, np.newaxis]
        steps = _shift_step(column + np.arange(n_steps), derivative, column if scaled else None)
        total = steps.sum(axis=1)
        y = x_small + n_steps
        if scaled and derivative > 0:
            tail = _stirling_asymptotic(y, derivative, True) * (x_small / y) ** derivative
        else:
            tail = _stirling_asymptotic(y, derivative)
        out[~large] = total + tail
    return out
