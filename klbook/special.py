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


# ------------------------------------- fast Stirling remainder and its Bregman divergences
# kl_gamma needs mu, mu' and mu'' at arbitrary arguments, quickly. On [1/4, 8] each of
# x**(m+1) mu^(m)(x) is a polynomial in u = (2 log2(x) - 1)/5 (u in [-1, 1]): in log x the
# only singularities of mu are at x = -k (log x = log k + i pi), a strip of half-width pi
# around an interval of half-width 5 log(2)/2, so Chebyshev interpolation converges like
# 3.9**-n. _stirling_fit_coefficients computes the coefficients (mpmath, 50 digits);
# rounded to doubles and summed by Horner's rule they stay within 1.6 ulp of the function
# there (the test regenerates them and checks the values against mpmath). From x = 8 on,
# the asymptotic series with up to 16 terms; below 1/4, one step of the recurrence.
_FAST_LOWER, _FAST_UPPER = 0.25, 8.0
_FAST_COEFFICIENTS = (
    (0.08209573235566395, 0.00387483213720501, -0.0055477290124067635, 0.004398148489894627,
     -0.0015313535271778147, -0.0005819212302553839, 0.0008890034753202684,
     -0.00022882767170543162, -0.00022462959409456538, 0.00017105240645861404,
     2.2800121941815768e-05, -6.951752818891577e-05, 1.0932380043588626e-05,
     2.2557036852048527e-05, -8.948537861996059e-06, -6.359072086582863e-06,
     4.322118750124816e-06, 1.5859957883486984e-06, -1.7366931823504627e-06,
     -3.423427820226327e-07, 6.228480242581866e-07, 5.871258536192631e-08,
     -1.9781598053608748e-07, -5.760036670883104e-09, 5.178544321148071e-08,
     -5.644063159963609e-10, -9.620936685017407e-09, 3.306931016211127e-10,
     9.160208935586634e-10, -4.380640984115155e-11),
    (-0.07985965191221481, -0.010277777044721348, 0.013161953430964112, -0.007932990313063331,
     -0.00014771621899575094, 0.0036600674007776185, -0.0018133634068605519,
     -0.0008082026934667319, 0.0011130248352413587, -3.9478377158306834e-05,
     -0.0004640874381223743, 0.0001452269666007399, 0.00015829023256991534,
     -9.486987659058823e-05, -4.609406206570957e-05, 4.632376174965042e-05,
     1.1228993715420974e-05, -1.9765845125382187e-05, -1.9992625446246323e-06,
     7.776228491087761e-06, 6.074119433812993e-08, -2.877911349098491e-06,
     1.5284881466000527e-07, 9.958755245789233e-07, -8.460484362574963e-08,
     -3.092378988609775e-07, 2.7546822089597826e-08, 7.889851088311476e-08,
     -5.573884318457485e-09, -1.4170083102158042e-08, 5.419683387017218e-10,
     1.2955840889399745e-09),
    (0.15378822463491684, 0.035746502044053476, -0.04005776980282026, 0.015525005495550864,
     0.010856154614829768, -0.013598847747653924, 0.00036195476403265924, 0.0067548226880556565,
     -0.0024310886151410614, -0.0025991896711836577, 0.0018500552491209775,
     0.0008056944780446664, -0.0010282972853746621, -0.00018265057640907926,
     0.0004931842484313844, 1.1000481187943576e-05, -0.00021640700403321547,
     1.8859137634328217e-05, 8.937519540874732e-05, -1.5055597650512032e-05,
     -3.523580030689448e-05, 8.020681476726849e-06, 1.32704641893211e-05,
     -3.5409996342552705e-06, -4.67826404345642e-06, 1.3487851315769455e-06,
     1.4649374593350043e-06, -4.3405398820704515e-07, -3.7109112331418995e-07,
     1.0993352275203215e-07, 6.52245489333453e-08, -1.9091946742893184e-08,
     -5.7784634714025954e-09, 1.6662664217185962e-09),
)
#: The same, as one table padded with leading zeros (which change no bit of Horner's sums).
_FAST_TABLE = np.zeros((3, max(len(c) for c in _FAST_COEFFICIENTS)))
for _m, _coefficients in enumerate(_FAST_COEFFICIENTS):
    _FAST_TABLE[_m, :len(_coefficients)] = _coefficients
_FAST_TABLE.setflags(write=False)
#: B_2 ... B_32: sixteen terms of the asymptotic series reach 2**-56 from x = 8 on.
_BERNOULLI_2J_LONG = _BERNOULLI_2J + (854513 / 138, -236364091 / 2730, 8553103 / 6,
                                      -23749461029 / 870, 8615841276005 / 14322,
                                      -7709321041217 / 510)


def _stirling_fit_coefficients(derivative: int, n_coefficients: int) -> tuple[float, ...]:
    """Coefficients of ``_FAST_COEFFICIENTS[derivative]``, recomputed with mpmath.

    Interpolates ``x**(m+1) mu^(m)(x)`` at the ``n_coefficients`` Chebyshev points of
    ``u`` in [-1, 1] (``x = 2**((5u + 1)/2)``), at 50 digits, and returns the
    coefficients of the interpolating polynomial in powers of ``u``, rounded to doubles.
    """
    import mpmath

    with mpmath.workdps(50):
        half = mpmath.mpf(1) / 2

        def scaled_remainder(x):
            if derivative == 0:
                value = (mpmath.loggamma(x) - (x - half) * mpmath.log(x) + x
                         - mpmath.log(2 * mpmath.pi) / 2)
            elif derivative == 1:
                value = mpmath.digamma(x) - mpmath.log(x) + half / x
            else:
                value = mpmath.psi(1, x) - 1 / x - half / x**2
            return x ** (derivative + 1) * value

        n = n_coefficients
        nodes = [mpmath.cos(mpmath.pi * (j + half) / n) for j in range(n)]
        values = [scaled_remainder(mpmath.mpf(2) ** ((5 * u + 1) / 2)) for u in nodes]
        chebyshev = [2 * sum(v * mpmath.cos(mpmath.pi * k * (j + half) / n)
                             for j, v in enumerate(values)) / n for k in range(n)]
        chebyshev[0] /= 2
        powers = [mpmath.mpf(0)] * n
        previous, current = [mpmath.mpf(1)], [mpmath.mpf(0), mpmath.mpf(1)]   # T_0, T_1
        for k, coefficient in enumerate(chebyshev):
            if k >= 2:
                following = [mpmath.mpf(0)] + [2 * v for v in current]
                for i, v in enumerate(previous):
                    following[i] -= v
                previous, current = current, following
            for i, v in enumerate(previous if k == 0 else current):
                powers[i] += coefficient * v
        return tuple(float(v) for v in powers)


def _series_weight(j: int, derivative: int) -> float:
    """Coefficient of ``(-1)**m x**-(2j-1)`` in ``x**m mu^(m)(x)``: ``B_2j (2j+m-2)! / (2j)!``."""
    return _SERIES_WEIGHTS[derivative][j - 1]


_SERIES_WEIGHTS = tuple(
    tuple(b * math.factorial(2 * j + m - 2) / math.factorial(2 * j)
          for j, b in enumerate(_BERNOULLI_2J_LONG, start=1))
    for m in range(3))


def _series_length(x_min: float, derivative: int) -> int:
    """Number of asymptotic terms that reach 2**-56 (relative) for every x >= x_min >= 8."""
    first = abs(_series_weight(1, derivative))
    x_min = min(x_min, 1e10)            # one term from there on; keeps the powers in range
    for n in range(1, len(_BERNOULLI_2J_LONG)):
        if abs(_series_weight(n + 1, derivative)) * x_min ** (-2.0 * n) <= 2.0**-56 * first:
            return n
    return len(_BERNOULLI_2J_LONG)


def _stirling_fast(x: NDArray[np.float64], *derivatives: int) -> NDArray[np.float64] | tuple:
    """``x**m mu^(m)(x)`` for each ``m`` of `derivatives` (0, 1, 2), x a 1-D array > 0, unchecked.

    One array for one derivative, a tuple for several (which share the work). Within
    about two ulps of the value from 1/4 on (the fit, then the asymptotic series; the
    tests' bound is 4e-16). Below 1/4 it is ``x**m (d^(m)(x) + mu^(m)(1 + x))`` with
    ``d(x) = (x + 1/2) log(1 + 1/x) - 1``: for ``m = 2`` two positive terms (4e-16); for
    ``m = 0, 1`` the step cancels by up to a factor of five just below 1/4 (1.2e-15 for
    ``m = 0``, 4e-16 for ``m = 1``), less towards 0.
    """
    rows = _stirling_fast_rows([x] * len(derivatives), derivatives)
    return rows[0] if len(derivatives) == 1 else tuple(rows)


def _stirling_fast_rows(points: list[NDArray[np.float64]],
                        derivatives: tuple[int, ...]) -> NDArray[np.float64]:
    """Row ``i``: ``x**m mu^(m)(x)`` at ``x = points[i]``, ``m = derivatives[i]`` (equal lengths).

    All rows go through one Horner loop (a 2-D array, a row of coefficients each), so
    that several values cost one pass of numpy calls; elements beyond the fit are
    evaluated there too, at a harmless argument, and replaced.
    """
    x = np.stack(points)
    table = _FAST_TABLE[list(derivatives)]                  # (rows, coefficients)
    tiny = x < _FAST_LOWER
    series = x >= _FAST_UPPER
    # below 1/4 the fit is needed at 1 + x (one step of the recurrence)
    fit_at = np.where(tiny, 1.0 + x, np.minimum(x, _FAST_UPPER))
    u = np.log2(fit_at)
    u *= 2.0
    u -= 1.0
    u /= 5.0
    total = np.repeat(table[:, -1:], x.shape[1], axis=1)
    for j in range(table.shape[1] - 2, -1, -1):
        total *= u
        total += table[:, j:j + 1]
    total /= fit_at
    if tiny.any():
        for row, m in enumerate(derivatives):
            where = np.flatnonzero(tiny[row])
            if where.size == 0:
                continue
            xt = x[row].take(where)
            one = 1.0 + xt
            ratio = xt / one
            lifted = total[row].take(where)                 # (1 + x)**m mu^(m)(1 + x)
            log_step = np.log1p(xt) - np.log(xt)            # log(1 + 1/x), finite if subnormal
            if m == 0:
                value = ((xt + 0.5) * log_step - 1.0) + lifted
            elif m == 1:
                value = (xt * log_step - 0.5 * (1.0 + ratio)) + ratio * lifted
            else:
                value = 0.5 / (one * one) + ratio * ratio * lifted
            total[row, where] = value
    if series.any():
        for row, m in enumerate(derivatives):
            where = np.flatnonzero(series[row])
            if where.size == 0:
                continue
            xs = x[row].take(where)
            with np.errstate(over="ignore"):
                inv_square = 1.0 / (xs * xs)            # 0 beyond 1e154: the first term alone
            value = np.zeros_like(xs)
            for j in range(_series_length(float(xs.min()), m), 0, -1):
                value *= inv_square
                value += _series_weight(j, m)
            total[row, where] = (-value if m % 2 else value) / xs
    return total


def _stirling_bregman_series(x: NDArray[np.float64], y: NDArray[np.float64],
                             h: NDArray[np.float64]) -> NDArray[np.float64]:
    """``mu(y) - mu(x) - h mu'(x)`` for ``x, y >= 8`` and ``h = y - x``, without cancellation.

    The asymptotic series' term ``c_j x**-p`` (``p = 2j - 1``) has the Bregman divergence
    ``c_j h**2 / (x**2 y) * S_p(1/x, 1/y)`` with ``S_p(a, b) = sum_{k<p} (p - k) a**(p-1-k)
    b**k``, a polynomial with positive coefficients: every ``h``, small or large, of either
    sign, gives terms of one sign. ``S_{p+1} = a S_p + G_{p+1}``, ``G_{p+1} = a G_p + b**p``.
    """
    a, b = 1.0 / x, 1.0 / y
    low = min(float(min(x.min(), y.min())), 1e10)   # one term from 1e10 on: powers in range
    # terms relative to the first: 12 |c_j| p (p + 1)/2 / low**(2j - 2) (S_p <= p(p+1)/2 low**(1-p))
    n_terms = len(_BERNOULLI_2J_LONG)
    for n in range(1, len(_BERNOULLI_2J_LONG)):
        p = 2 * n + 1
        if 6 * p * (p + 1) * abs(_series_weight(n + 1, 0)) * low ** (-2.0 * n) <= 2.0**-56:
            n_terms = n
            break
    s = np.ones_like(a)               # S_1
    g = np.ones_like(a)               # G_1
    b_power = b.copy()                # b**1
    total = _series_weight(1, 0) * s
    for p in range(1, 2 * n_terms - 1):
        g = a * g + b_power           # G_{p+1}
        b_power = b_power * b
        s = a * s + g                 # S_{p+1}
        if p % 2 == 0:                # p + 1 = 2j - 1 is odd: a term of the series
            total += _series_weight(p // 2 + 1, 0) * s
    return (h / x) * (h / y) / x * total


#: Gauss-Legendre rules on [0, 1] for _stirling_bregman_quadrature: (largest |log(y/x)|, nodes,
#: weights). Each band's rule integrates to within 2e-17 of the whole divergence (mpmath
#: check over x in [1e-8, 12]: the integrand is analytic in a strip of half-width pi).
_QUADRATURE_BANDS = tuple(
    (limit, (np.polynomial.legendre.leggauss(n)[0] + 1.0) / 2.0,
     np.polynomial.legendre.leggauss(n)[1] / 2.0)
    for limit, n in ((2e-5, 2), (3e-3, 3), (0.03, 4), (0.13, 5), (0.35, 6), (0.6, 7),
                     (np.inf, 8)))             # eight nodes up to log 2 (and any rounding beyond)


def _stirling_bregman_quadrature(x: NDArray[np.float64],
                                 log_ratio: NDArray[np.float64]) -> NDArray[np.float64]:
    """``mu(y) - mu(x) - (y - x) mu'(x)`` for ``|log(y/x)| <= log 2``, given ``log(y/x)``.

    The Bregman divergence is ``integral_x^y (y - s) mu''(s) ds``; with ``s = x e**(L tau)``
    (``L = log(y/x)``) it is ``L * integral_0^1 expm1(L (1 - tau)) F(s) d tau`` where
    ``F(s) = s**2 mu''(s) > 0``: a positive integrand, summed by Gauss-Legendre with as
    few nodes as ``|L|`` allows (two for ``|L| <= 2e-5``, eight at ``log 2``).
    """
    out = np.empty_like(x)
    size = np.abs(log_ratio)
    # the nodes of every band are evaluated in one call (few numpy calls for short arrays)
    bands, positions, lower = [], [], -1.0
    for limit, nodes, weights in _QUADRATURE_BANDS:
        band = (size > lower) & (size <= limit)
        lower = limit
        if not band.any():
            continue
        index = None if band.all() else np.flatnonzero(band)
        xb, lb = (x, log_ratio) if index is None else (x.take(index), log_ratio.take(index))
        steps = lb[:, np.newaxis] * nodes
        positions.append((xb[:, np.newaxis] * np.exp(steps)).ravel())
        bands.append((index, lb, steps, weights))
    values = _stirling_fast(np.concatenate(positions) if len(positions) > 1 else positions[0], 2)
    start = 0
    for index, lb, steps, weights in bands:
        stop = start + steps.size
        integrand = np.expm1(lb[:, np.newaxis] - steps) * values[start:stop].reshape(steps.shape)
        start = stop
        result = lb * (integrand @ weights)
        if index is None:
            return result
        out[index] = result
    return out
