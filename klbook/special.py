"""Elementwise kernels that keep their digits where the textbook formulas lose them.

The divergences in :mod:`klbook` are sums of terms of the form
``p * phi(q / p)`` with ``phi(r) = r - 1 - log(r)``. Near ``r = 1`` the three
parts of ``phi`` cancel, so the kernels here take the *offset* ``x = r - 1``
(which callers can usually form exactly) and evaluate ``log(1 + x) - x``
without subtracting nearly equal numbers.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["log1pmx"]

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
    >>> float(np.log1p(1e-9) - 1e-9)    # the naive form: seven digits lost
    -5.000000746056408e-19
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
