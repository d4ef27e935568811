"""Closed forms of the KL divergence between common parametric families.

Every function here follows the conventions of :mod:`klbook.discrete`:

* results are in nats unless ``base`` is given (``base=2``: bits);
* parameters are array-like and broadcast against each other, so one call
  evaluates a whole grid of pairs; scalar parameters give a scalar;
* bad input raises ``TypeError`` (not numeric) or ``ValueError`` (NaN, out of
  range) naming the argument; a divergence that is mathematically infinite
  is returned as ``inf``.

**Accuracy near equality.** Each closed form is written as a sum of terms
built from :math:`\\varphi(r) = r - 1 - \\log r \\ge 0`, evaluated through
:func:`klbook.special.log1pmx` from the *offset* :math:`r - 1`, which is formed
from exactly computed parameter differences. For the normal pair, with the
parameters differing by a relative :math:`t` and :math:`u = 2^{-53}`
(chapter 8 of the book measures all four forms against mpmath):

* the textbook formula ``log(s2/s1) + (s1**2 + (m1-m2)**2)/(2*s2**2) - 1/2``
  subtracts numbers of order 1 to produce a result of order :math:`t^2`: a
  relative error of order :math:`u/t^2`, no correct digit below
  :math:`t \\approx 10^{-8}`;
* torch (``torch/distributions/kl.py``, ``_kl_normal_normal``) computes
  ``var_ratio = (s1/s2)**2`` and ``0.5*(var_ratio + t1 - 1 - log(var_ratio))``
  with ``t1 = ((m1-m2)/s2)**2``: the rounding of ``var_ratio`` costs a relative
  :math:`u/t` in the scale term, and ``t1``, added to ``var_ratio`` before the
  cancellation, is rounded to an absolute :math:`u`, so the mean term is lost
  once ``t1 < u``;
* TensorFlow Probability (``tensorflow_probability/python/distributions/normal.py``,
  ``_kl_normal_normal``) computes ``d = log(s1) - log(s2)`` and
  ``0.5*(m1/s2 - m2/s2)**2 + 0.5*expm1(2*d) - d``: ``expm1`` keeps
  :math:`r - 1` accurate, but ``d`` is a difference of two rounded logarithms
  and ``0.5*expm1(2*d) - d`` cancels to :math:`d^2`, a relative error of
  order :math:`u(1 + |\\log s_2|)/t`; the mean term loses
  :math:`u|m_1|/|m_1 - m_2|` to the rounding of the two quotients;
* the forms here keep every digit (a few units of :math:`u`).
"""

from __future__ import annotations


import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special as sc

from klbook import _kl_kernel, _validation
from klbook.special import _log1pmx_series, _stirling_remainder, _two_product, log1pmx
from klbook.special import (_stirling_bregman_quadrature, _stirling_bregman_series,
                            _stirling_fast_rows)

__all__ = [
    "kl_normal",
    "kl_mvnormal",
    "kl_bernoulli",
    "kl_poisson",
    "kl_exponential",
    "kl_gamma",
    "kl_beta",
]

Result = NDArray[np.float64] | np.float64

#: Relative asymmetry tolerated in a covariance matrix before it is rejected.
SYMMETRY_TOLERANCE = 1e-10


# ----------------------------------------------------------------- validation
def _parameter(value: ArrayLike, name: str, *, kind: str) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array, checked for ``kind``.

    ``kind`` is ``"real"`` (finite), ``"positive"`` (finite and > 0) or
    ``"probability"`` (in [0, 1]). Scalars are allowed.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, not a boolean")
    arr = _validation.as_real_array(value, name)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    # One test on the extremes (NaN propagates through min and max); the detailed
    # checks below run only to report what is wrong.
    low, high = float(arr.min()), float(arr.max())
    if kind == "real" and -np.inf < low and high < np.inf:
        return arr
    if kind == "positive" and 0.0 < low and high < np.inf:
        return arr
    if kind == "probability" and 0.0 <= low and high <= 1.0:
        return arr
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if np.isinf(arr).any():
        raise ValueError(f"{name} must be finite, but it contains {arr[np.isinf(arr)].flat[0]}")
    if kind == "positive" and (arr <= 0).any():
        raise ValueError(f"{name} must be > 0, but it contains {arr.min():g}")
    if kind == "probability" and ((arr < 0) | (arr > 1)).any():
        bad = arr[(arr < 0) | (arr > 1)].flat[0]
        raise ValueError(f"{name} must lie in [0, 1], but it contains {bad:g}")
    return arr


def _broadcast(arrays: dict[str, NDArray[np.float64]]) -> list[NDArray[np.float64]]:
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
        raise ValueError(f"the parameter shapes do not broadcast together: {shapes}") from None


# -------------------------------------------------------------------- kernels
def _log_ratio(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log(num / den)`` for positive arrays, without overflow or underflow."""
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        ratio = num / den
        direct = np.log(ratio)
    representable = np.isfinite(ratio) & (ratio > np.finfo(np.float64).tiny)
    if representable.all():
        return direct
    return np.where(representable, direct, np.log(num) - np.log(den))


def _phi(offset: NDArray[np.float64], log_ratio: NDArray[np.float64]) -> NDArray[np.float64]:
    """``phi(r) = r - 1 - log r`` from the offset ``r - 1`` (accurate) and ``log r``.

    Near ``r = 1`` the value comes from ``-log1pmx(offset)`` and ``log_ratio`` is
    not used; far from it, ``offset - log_ratio`` loses at most two bits, and
    ``log_ratio`` is the better source of the logarithm when ``r`` under- or
    overflows.
    """
    near = (offset >= -0.5) & (offset <= 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        value = np.where(near, -log1pmx(np.where(near, offset, 0.0)), offset - log_ratio)
    return value + 0.0  # turns the -0.0 of -log1pmx(0) into 0.0


def _weighted_phi(p: NDArray[np.float64], q: NDArray[np.float64],
                  difference: NDArray[np.float64]) -> NDArray[np.float64]:
    """``p * phi(q / p)`` for ``p, q >= 0``, given ``difference = q - p`` accurately.

    This is the generalised KL term ``p log(p/q) - p + q``: it is ``q`` at
    ``p = 0`` and ``inf`` at ``q = 0 < p``.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        offset = difference / p
        value = p * _phi(offset, _log_ratio(q, p))
        # q / p beyond the double range (p subnormal next to q): the term is q - p plus
        # p log(p/q), a tiny correction, with nothing to cancel; phi(inf) would give inf.
        far = ~np.isfinite(offset) & (p > 0) & (q > 0)
        if far.any():
            value = np.where(far, (q - p) + p * (np.log(p) - np.log(q)), value)
    value = np.where(p == 0, q, value)
    return np.where((q == 0) & (p > 0), np.inf, value)


def _lgamma_bregman(x: NDArray[np.float64], y: NDArray[np.float64],
                    h: NDArray[np.float64]) -> NDArray[np.float64]:
    """``lnG(y) - lnG(x) - h psi(x) - y phi(x/y)`` for 1-D arrays ``x, y > 0``, ``h = y - x``.

    The Bregman divergence of ``g(x) = lnG(x) - x log x + x`` (``lnG`` = log-gamma),
    which is convex (``g'' = psi' - 1/x > 0``), so the value is ``>= 0``; ``h`` must be
    exact (it is when ``x`` and ``y`` are within a factor 2). Stirling's formula
    ``g(x) = -log(x)/2 + log(2 pi)/2 + mu(x)`` splits it into ``phi(y/x)/2`` plus the
    Bregman divergence ``B_mu`` of the remainder ``mu``, both ``>= 0``. With
    ``L = log(y/x)``, ``B_mu`` is computed

    * for ``min(x, y) >= 8``, as a series of positive terms, for any ``L``
      (:func:`klbook.special._stirling_bregman_series`);
    * for ``|L| <= 0.35``, and ``|L| <= log 2`` if ``min(x, y) < 1/2``, by Gauss-Legendre
      quadrature of ``mu''``, a positive integrand
      (:func:`klbook.special._stirling_bregman_quadrature`);
    * if both are below 2, one below 1/4, and ``|L| > log 2``, from
      ``lnG(x) = lnG(x + 1) - log x``: the whole divergence is then
      ``phi(y/x) - y phi(x/y) + (y + 1) phi((x + 1)/(y + 1))`` (the Bregman divergence of
      a convex function, with second derivative ``1/(x**2 (x + 1))``; here its terms cancel
      by a factor of 3 at most) plus the same divergence at ``(x + 1, y + 1)``, taken
      directly (its error is at most an ulp of the first part). Directly, ``mu(x)`` and
      ``mu(y)``, about ``-log(x)/2``, would cancel badly;
    * otherwise as ``mu(y) - mu(x) - h mu'(x)`` (:func:`klbook.special._stirling_fast`),
      whose terms cancel by a factor of about 3 at most in that range.

    The limits come from comparing each method with mpmath: every choice stays within
    about 3 ulps of the divergence.
    """
    t = h / x
    moderate = (t >= -0.5) & (t <= 1.0)                  # |L| <= log 2
    # log1p of the exact offset near 1; far from it, log1p(t) would lose the digits of y/x
    log_ratio = np.where(moderate, np.log1p(np.where(moderate, t, 0.0)), _log_ratio(y, x))
    value = 0.5 * _phi(t, log_ratio)
    low = np.minimum(x, y)
    series = low >= 8.0
    quadrature = ~series & ((np.abs(log_ratio) <= 0.35) | (moderate & (low < 0.5)))
    lift = ~(moderate | series) & (low < 0.25) & (np.maximum(x, y) < 2.0)
    direct = ~(series | quadrature | lift)
    for regime in (series, quadrature, direct, lift):
        if not regime.any():
            continue
        index = None if regime.all() else np.flatnonzero(regime)
        xr, yr, hr, lr, tr = ((x, y, h, log_ratio, t) if index is None else
                              (a.take(index) for a in (x, y, h, log_ratio, t)))
        if regime is series:
            part = _stirling_bregman_series(xr, yr, hr)
        elif regime is quadrature:
            part = _stirling_bregman_quadrature(xr, lr)
        elif regime is direct:
            mu_y, mu_x, dmu_x = _stirling_fast_rows([yr, xr, xr], (0, 0, 1))
            part = (mu_y - mu_x) - tr * dmu_x
        else:
            x1, y1 = xr + 1.0, yr + 1.0
            t1 = hr / x1
            mu_y, mu_x, dmu_x = _stirling_fast_rows([y1, x1, x1], (0, 0, 1))
            part = ((_phi(tr, lr) - _weighted_phi(yr, xr, -hr)) + _weighted_phi(y1, x1, -hr)
                    + 0.5 * _phi(t1, _log_ratio(y1, x1)) + ((mu_y - mu_x) - t1 * dmu_x))
            if index is None:
                return part
            value[index] = part
            continue
        if index is None:
            value += part
        else:
            value[index] += part
    return value


def _mean_ratio_term(a1: NDArray[np.float64], b1: NDArray[np.float64],
                     a2: NDArray[np.float64], b2: NDArray[np.float64]) -> NDArray[np.float64]:
    """``a2 phi(q)`` with ``q = a1 b2 / (a2 b1)``, the ratio of the means, for 1-D arrays.

    The offset ``q - 1 = (a1 b2 - a2 b1) / (a2 b1)`` is formed from exact two-products
    (of the mantissas, when a parameter is beyond ``2**+-400``), so it keeps its digits
    however the shapes and rates move together; far from ``q = 1``, ``phi(q)`` is
    ``q - 1 - log q`` with ``a2 q = a1 b2 / b1`` and ``log q`` assembled from mantissas
    and exponents, so that ``q`` itself may lie beyond the double range.
    """
    lowest = min(float(v.min()) for v in (a1, b1, a2, b2))
    highest = max(float(v.max()) for v in (a1, b1, a2, b2))
    if lowest >= 2.0**-400 and highest <= 2.0**400:
        # products and their rounding errors are normal doubles: no scaling needed
        p_hi, p_lo = _two_product(a1, b2)
        q_hi, q_lo = _two_product(a2, b1)
        close_hi, close_lo, exponent = p_hi, p_lo, 0
        a2_q = a1 * b2 / b1
    else:
        (m1, e1), (n1, f1), (m2, e2), (n2, f2) = (np.frexp(v) for v in (a1, b1, a2, b2))
        p_hi, p_lo = _two_product(m1, n2)
        q_hi, q_lo = _two_product(m2, n1)
        exponent = (e1 + f2) - (e2 + f1)               # q = (p / q') 2**exponent
        # q within [1/2, 2] needs |exponent| <= 2, where ldexp is exact
        scale = np.where(np.abs(exponent) <= 2, exponent, 0)
        close_hi, close_lo = np.ldexp(p_hi, scale), np.ldexp(p_lo, scale)
        a2_q = np.ldexp(m1 * n2 / n1, e1 + f2 - f1)
    # (p - q') exactly enough: the high parts cancel exactly (Sterbenz) where q is near 1,
    # and the low parts are added by a two-sum so that nothing of them is lost
    lo_sum = close_lo - q_lo
    lo_virtual = lo_sum - close_lo
    lo_err = (close_lo - (lo_sum - lo_virtual)) - (q_lo + lo_virtual)
    offset = (((close_hi - q_hi) + lo_sum) + lo_err) / q_hi
    ratio = p_hi / q_hi
    if not np.isscalar(exponent):
        offset = np.where(scale == exponent, offset, np.ldexp(ratio, exponent) - 1.0)
    near = (offset >= -0.5) & (offset <= 1.0)
    log_q = np.log(ratio) + exponent * _LN2
    far = np.where(np.isinf(a2_q), np.inf, (a2_q - a2) - a2 * log_q)
    return np.where(near, -a2 * log1pmx(np.where(near, offset, 0.0)), far) + 0.0


_LN2 = 0.6931471805599453     # log 2, correctly rounded (not the platform's log)
#: Elements per pass of :func:`kl_gamma`: bounded temporaries for any length (2**14 was the
#: fastest block in timings of 1e5 random pairs).
_GAMMA_BLOCK = 1 << 14


#: Bands of t = |h| / x in which :func:`_stirling_bregman` sums its Taylor series, each
#: with as many terms as its widest t needs (a few near equality, up to 29 at t = 1/4).
_SERIES_BANDS = (1e-6, 1e-3, 0.01, 0.05, 0.12, 0.25)


def _stirling_bregman(x: NDArray[np.float64], y: NDArray[np.float64],
                      h: NDArray[np.float64]) -> NDArray[np.float64]:
    """``mu(y) - mu(x) - h mu'(x)`` for the Stirling remainder ``mu`` of log-gamma.

    ``h`` is ``y - x``, accurately. Where ``t = |h| / x <= 1/4`` it is the Taylor
    series ``sum_{m >= 2} x**m mu^(m)(x) (h/x)**m / m!`` (radius ``x``: the pole
    of log-gamma at 0), summed smallest term first, with accurate coefficients
    from :func:`klbook.special.stirling_remainder` (scaled by ``x**m``, which
    keeps them finite for tiny ``x``); elsewhere the three values are combined
    directly (they cancel by a factor of about ``(x / h)**2 <= 16``).
    """
    out = np.empty(x.shape)
    t = h / x
    lower = -1.0
    for upper in _SERIES_BANDS:
        band = (np.abs(t) > lower) & (np.abs(t) <= upper)
        lower = upper
        if not band.any():
            continue
        xb, tb = x[band], t[band]
        t_max = float(np.abs(tb).max())
        # terms fall off like t**m; stop below 1e-17 of the first
        n_terms = 1 if t_max == 0 else int(np.ceil(np.log(1e-17) / np.log(t_max))) + 1
        terms = []
        power = tb * tb / 2.0  # t**m / m!
        for m in range(2, n_terms + 2):
            terms.append(_stirling_remainder(xb, m, scaled=True) * power)
            power = power * tb / (m + 1)
        total = np.zeros_like(xb)
        for term in reversed(terms):
            total += term
        out[band] = total
    far = np.abs(t) > _SERIES_BANDS[-1]
    if far.any():
        xf = x[far]
        out[far] = (_stirling_remainder(y[far], 0) - _stirling_remainder(xf, 0)
                    - t[far] * _stirling_remainder(xf, 1, scaled=True))
    return out


def _check_base(base: float | None) -> float:
    return _validation.check_base(base)


def _finish(values: NDArray[np.float64], log_base: float) -> Result:
    return _validation.finish(np.asarray(values, dtype=np.float64), log_base)


# --------------------------------------------------------------- closed forms
def kl_normal(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike, *,
              base: float | None = None) -> Result:
    r"""KL divergence :math:`D(\mathcal N(\mu_1, \sigma_1^2)\,\|\,\mathcal N(\mu_2, \sigma_2^2))`.

    .. math::

        D = \log\frac{\sigma_2}{\sigma_1}
            + \frac{\sigma_1^2 + (\mu_1 - \mu_2)^2}{2\sigma_2^2} - \frac12
          = \frac12\left[\varphi\!\left(\frac{\sigma_1^2}{\sigma_2^2}\right)
            + \frac{(\mu_1 - \mu_2)^2}{\sigma_2^2}\right].

    Parameters
    ----------
    mu1, sigma1 : array_like
        Mean and standard deviation (> 0) of the first normal, P.
    mu2, sigma2 : array_like
        Mean and standard deviation (> 0) of the second normal, Q.
    base : float, optional
        Logarithm base of the unit: None (nats), 2 (bits), 10 (hartleys).

    Returns
    -------
    float or ndarray
        The divergence, ``>= 0``, broadcast over the parameters.

    Raises
    ------
    TypeError
        If a parameter is not numeric.
    ValueError
        If a parameter is NaN or infinite, a standard deviation is ``<= 0``,
        or the shapes do not broadcast.

    Notes
    -----
    With :math:`d = (\sigma_1 - \sigma_2)/\sigma_2` (the difference is exact
    when the two are within a factor 2), the offset
    :math:`\sigma_1^2/\sigma_2^2 - 1 = d(2 + d)` carries no cancellation and
    :math:`\varphi` is evaluated from it by :func:`klbook.special.log1pmx`.
    Where numba is installed, one compiled loop evaluates the same forms
    (:mod:`klbook._kl_kernel`), to the same accuracy; the last bits may differ.

    Examples
    --------
    >>> from klbook.continuous import kl_normal
    >>> round(float(kl_normal(0.0, 1.0, 1.0, 2.0)), 12)   # log 2 + 2/8 - 1/2
    0.44314718056
    >>> float(kl_normal(0.0, 1.0 + 1e-9, 0.0, 1.0))      # about (sigma1 - sigma2)**2
    1.0000001651474154e-18
    >>> kl_normal(0.0, 1.0, [0.0, 1.0, 2.0], 1.0)        # (mu1 - mu2)**2 / 2
    array([0. , 0.5, 2. ])
    """
    log_base = _check_base(base)
    m1 = _parameter(mu1, "mu1", kind="real")
    s1 = _parameter(sigma1, "sigma1", kind="positive")
    m2 = _parameter(mu2, "mu2", kind="real")
    s2 = _parameter(sigma2, "sigma2", kind="positive")
    m1, s1, m2, s2 = _broadcast({"mu1": m1, "sigma1": s1, "mu2": m2, "sigma2": s2})
    if _kl_kernel.IMPLEMENTATION == "compiled":  # the same formulas, in one compiled loop
        return _finish(_kl_kernel.compiled_normal(m1, s1, m2, s2), log_base)
    with np.errstate(over="ignore", under="ignore"):
        d = (s1 - s2) / s2
        offset = d * (2.0 + d)                      # sigma1**2 / sigma2**2 - 1
        # phi(r) as _phi computes it, each branch only where it is taken: the series
        # near r = 1, offset - log r (which loses at most two bits) elsewhere
        near = (offset >= -0.5) & (offset <= 1.0)
        if near.all():
            scale_term = -_log1pmx_series(offset)
        else:
            scale_term = offset - 2.0 * _log_ratio(s1, s2)  # log(sigma1**2 / sigma2**2)
            if near.any():
                scale_term[near] = -_log1pmx_series(offset[near])
        mean_term = np.square((m1 - m2) / s2)       # one rounding, not a libm pow
        scale_term += mean_term                     # (never -0.0: turns a -0.0 into 0.0)
        scale_term *= 0.5
    return _finish(scale_term, log_base)


def kl_exponential(rate1: ArrayLike, rate2: ArrayLike, *, base: float | None = None) -> Result:
    r"""KL divergence between exponential distributions with rates ``rate1`` and ``rate2``.

    .. math:: D(\mathrm{Exp}(\lambda_1)\,\|\,\mathrm{Exp}(\lambda_2))
              = \log\frac{\lambda_1}{\lambda_2} + \frac{\lambda_2}{\lambda_1} - 1
              = \varphi\!\left(\frac{\lambda_2}{\lambda_1}\right).

    Parameters
    ----------
    rate1, rate2 : array_like
        Rates (> 0) of P and Q; the densities are :math:`\lambda e^{-\lambda x}`.
    base : float, optional
        Logarithm base of the unit.

    Returns
    -------
    float or ndarray
        The divergence, ``>= 0``.

    Raises
    ------
    TypeError
        If a rate is not numeric.
    ValueError
        If a rate is NaN, infinite or ``<= 0``.

    Examples
    --------
    >>> from klbook.continuous import kl_exponential
    >>> round(float(kl_exponential(1.0, 2.0)), 12)    # 1 - log 2
    0.30685281944
    >>> float(kl_exponential(2.0, 2.0))
    0.0
    """
    log_base = _check_base(base)
    r1 = _parameter(rate1, "rate1", kind="positive")
    r2 = _parameter(rate2, "rate2", kind="positive")
    r1, r2 = _broadcast({"rate1": r1, "rate2": r2})
    with np.errstate(over="ignore", under="ignore"):
        value = _phi((r2 - r1) / r1, _log_ratio(r2, r1))
    return _finish(value, log_base)


def kl_poisson(rate1: ArrayLike, rate2: ArrayLike, *, base: float | None = None) -> Result:
    r"""KL divergence between Poisson distributions with means ``rate1`` and ``rate2``.

    .. math:: D(\mathrm{Poi}(\lambda_1)\,\|\,\mathrm{Poi}(\lambda_2))
              = \lambda_1 \log\frac{\lambda_1}{\lambda_2} - \lambda_1 + \lambda_2
              = \lambda_1\,\varphi\!\left(\frac{\lambda_2}{\lambda_1}\right).

    Parameters
    ----------
    rate1, rate2 : array_like
        Means (> 0) of P and Q.
    base : float, optional
        Logarithm base of the unit.

    Returns
    -------
    float or ndarray
        The divergence, ``>= 0``.

    Raises
    ------
    TypeError
        If a rate is not numeric.
    ValueError
        If a rate is NaN, infinite or ``<= 0``.

    Examples
    --------
    >>> from klbook.continuous import kl_poisson
    >>> round(float(kl_poisson(2.0, 1.0)), 12)   # 2 log 2 - 1
    0.38629436112
    >>> kl_poisson([1.0, 4.0], 4.0).round(6)
    array([1.613706, 0.      ])
    """
    log_base = _check_base(base)
    r1 = _parameter(rate1, "rate1", kind="positive")
    r2 = _parameter(rate2, "rate2", kind="positive")
    r1, r2 = _broadcast({"rate1": r1, "rate2": r2})
    return _finish(_weighted_phi(r1, r2, r2 - r1), log_base)


def kl_bernoulli(a: ArrayLike, b: ArrayLike, *, base: float | None = None) -> Result:
    r"""KL divergence between Bernoulli distributions with success probabilities ``a``, ``b``.

    .. math:: D(\mathrm{Bern}(a)\,\|\,\mathrm{Bern}(b))
              = a \log\frac{a}{b} + (1 - a)\log\frac{1 - a}{1 - b}
              = a\,\varphi\!\left(\frac{b}{a}\right)
                + (1 - a)\,\varphi\!\left(\frac{1 - b}{1 - a}\right).

    Parameters
    ----------
    a, b : array_like
        Probabilities in [0, 1] of success under P and under Q.
    base : float, optional
        Logarithm base of the unit.

    Returns
    -------
    float or ndarray
        The divergence, ``>= 0``; ``inf`` when Q rules out an outcome P can
        produce (``b = 0 < a`` or ``b = 1 > a``).

    Raises
    ------
    TypeError
        If a probability is not numeric.
    ValueError
        If a probability is NaN or outside [0, 1].

    Notes
    -----
    The two offsets are ``(b - a) / a`` and ``(a - b) / (1 - a)``: the
    difference of the failure probabilities is taken as ``a - b``, never as
    ``(1 - b) - (1 - a)``, which would lose every digit for small ``a`` and ``b``.

    Examples
    --------
    >>> from klbook.continuous import kl_bernoulli
    >>> round(float(kl_bernoulli(0.4, 0.5)), 8)        # as kl_divergence([.4, .6], [.5, .5])
    0.02013551
    >>> float(kl_bernoulli(0.5, 0.0))
    inf
    >>> float(kl_bernoulli(1e-10, 1.000001e-10))       # about a (b/a - 1)**2 / 2
    4.9999966664794706e-23
    """
    log_base = _check_base(base)
    pa = _parameter(a, "a", kind="probability")
    pb = _parameter(b, "b", kind="probability")
    pa, pb = _broadcast({"a": pa, "b": pb})
    success = _weighted_phi(pa, pb, pb - pa)
    failure = _weighted_phi(1.0 - pa, 1.0 - pb, pa - pb)
    return _finish(success + failure, log_base)


def kl_gamma(shape1: ArrayLike, rate1: ArrayLike, shape2: ArrayLike, rate2: ArrayLike, *,
             base: float | None = None) -> Result:
    r"""KL divergence between gamma distributions given by shape and rate.

    The density of :math:`\Gamma(\alpha, \beta)` is
    :math:`\beta^\alpha x^{\alpha - 1} e^{-\beta x} / \Gamma(\alpha)`, and

    .. math::

        D = (\alpha_1 - \alpha_2)\psi(\alpha_1) - \log\Gamma(\alpha_1)
            + \log\Gamma(\alpha_2) + \alpha_2 \log\frac{\beta_1}{\beta_2}
            + \alpha_1\frac{\beta_2 - \beta_1}{\beta_1}
          = \alpha_2\,\varphi(q) + \tfrac12\,\varphi\!\left(\frac{\alpha_2}{\alpha_1}\right)
            + B_\mu(\alpha_1, \alpha_2),

    three terms ``>= 0``, with :math:`q = (\alpha_1/\beta_1)/(\alpha_2/\beta_2)` the
    ratio of the means, :math:`\varphi(r) = r - 1 - \log r`, and
    :math:`B_\mu(x, y) = \mu(y) - \mu(x) - (y - x)\mu'(x)` the Bregman divergence of
    the convex remainder :math:`\mu` of Stirling's formula (see Notes).

    Parameters
    ----------
    shape1, rate1 : array_like
        Shape and rate (both > 0) of P.
    shape2, rate2 : array_like
        Shape and rate (both > 0) of Q.
    base : float, optional
        Logarithm base of the unit.

    Returns
    -------
    float or ndarray
        The divergence, ``>= 0``; ``inf`` where it exceeds the largest double.

    Raises
    ------
    TypeError
        If a parameter is not numeric.
    ValueError
        If a parameter is NaN, infinite or ``<= 0``.

    Notes
    -----
    Stirling's formula :math:`\log\Gamma(x) = (x - \tfrac12)\log x - x
    + \tfrac12\log 2\pi + \mu(x)` splits the log-gamma terms: their
    :math:`x\log x - x` part and the rate terms add up to :math:`\alpha_2\varphi(q)`,
    their :math:`-\tfrac12\log x` part gives :math:`\tfrac12\varphi(\alpha_2/\alpha_1)`,
    and the rest is :math:`B_\mu`. The textbook form adds terms of both signs whose
    first-order parts cancel when shape and rate move together; near equality it
    loses up to every digit (at the last example it returns a negative number).
    Here nothing is subtracted:

    * :math:`q - 1 = (\alpha_1\beta_2 - \alpha_2\beta_1)/(\alpha_2\beta_1)` comes from
      exact two-products (of the mantissas, for parameters beyond :math:`2^{\pm 400}`),
      so it keeps its digits when the means are equal to first order, and :math:`\varphi`
      is evaluated from it by :func:`klbook.special.log1pmx`;
    * :math:`B_\mu` is a series of positive terms when both shapes are at least 8, a
      Gauss-Legendre quadrature of :math:`\mu'' > 0` when the shapes are close, and
      otherwise :math:`\mu(\alpha_2) - \mu(\alpha_1) - (\alpha_2 - \alpha_1)\mu'(\alpha_1)`
      from polynomial fits of :math:`\mu` or, for two small shapes, after one step of
      :math:`\log\Gamma(x) = \log\Gamma(x + 1) - \log x` (:func:`_lgamma_bregman`):
      each is used where it cancels by a factor of about 3 at most.

    **Accuracy.** The relative error is below ``2e-15`` (the largest measured is
    1.1e-15), against mpmath on the exact double inputs, for shapes and rates
    log-uniform in [1e-300, 1e300] and for pairs moved toward equality,
    :math:`\alpha_2 = \alpha_1(1 + t u_1)`, :math:`\beta_2 = \beta_1(1 + t u_2)` with
    ``t`` from 1e-1 to 1e-15, in every direction (both free, the mean fixed, the
    log-mean fixed, one parameter at a time). A divergence below the smallest normal
    double (2.2e-308) is within ``2e-15 * 2.2e-308`` of the exact one. The bound is
    about the divergence of the doubles given: when the parameters differ by a relative
    ``t``, the divergence itself changes by a relative ``2 eps / t`` or so when they
    are rounded to doubles (``eps`` = 2.2e-16), so a near-equal pair typed as decimals
    has only as many digits as that rounding leaves.

    Examples
    --------
    >>> from klbook.continuous import kl_gamma, kl_exponential
    >>> bool(kl_gamma(1.0, 1.0, 1.0, 2.0) == kl_exponential(1.0, 2.0))   # shape 1: exponential
    True
    >>> round(float(kl_gamma(2.0, 1.0, 3.0, 1.0)), 12)   # log 2 - psi(2)
    0.270362845461
    >>> print(f"{kl_gamma(2.0, 3.7, 2.000000000002, 3.70000000000037):.6e}")   # means 1e-12 apart
    1.100116e-24
    """
    log_base = _check_base(base)
    a1 = _parameter(shape1, "shape1", kind="positive")
    b1 = _parameter(rate1, "rate1", kind="positive")
    a2 = _parameter(shape2, "shape2", kind="positive")
    b2 = _parameter(rate2, "rate2", kind="positive")
    a1, b1, a2, b2 = _broadcast({"shape1": a1, "rate1": b1, "shape2": a2, "rate2": b2})
    shape = a1.shape
    x1, y1, x2, y2 = (np.ravel(p) for p in (a1, b1, a2, b2))
    value = np.empty(x1.size)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        # in blocks, so that the temporaries stay small (and in cache) for long arrays
        for start in range(0, x1.size, _GAMMA_BLOCK):
            part = slice(start, start + _GAMMA_BLOCK)
            s1, r1, s2, r2 = x1[part], y1[part], x2[part], y2[part]
            # h = s2 - s1 is exact when the shapes are within a factor 2 (Sterbenz)
            value[part] = _mean_ratio_term(s1, r1, s2, r2) + _lgamma_bregman(s1, s2, s2 - s1)
    return _finish(value.reshape(shape), log_base)


def kl_beta(a1: ArrayLike, b1: ArrayLike, a2: ArrayLike, b2: ArrayLike, *,
            base: float | None = None) -> Result:
    r"""KL divergence :math:`D(\mathrm{Beta}(a_1, b_1)\,\|\,\mathrm{Beta}(a_2, b_2))`.

    .. math::

        D = \log\frac{B(a_2, b_2)}{B(a_1, b_1)} + (a_1 - a_2)\psi(a_1)
            + (b_1 - b_2)\psi(b_1) + (a_2 - a_1 + b_2 - b_1)\psi(a_1 + b_1),

    the Bregman divergence of :math:`A(a, b) = \log\Gamma(a) + \log\Gamma(b)
    - \log\Gamma(a + b)`, which splits into three log-gamma Bregman terms
    :math:`B(a_1, a_2) + B(b_1, b_2) - B(a_1 + b_1, a_2 + b_2)`.

    Parameters
    ----------
    a1, b1 : array_like
        Shape parameters (> 0) of P.
    a2, b2 : array_like
        Shape parameters (> 0) of Q.
    base : float, optional
        Logarithm base of the unit.

    Returns
    -------
    float or ndarray
        The divergence, ``>= 0``.

    Raises
    ------
    TypeError
        If a parameter is not numeric.
    ValueError
        If a parameter is NaN, infinite or ``<= 0``.

    Notes
    -----
    The log-gamma Bregman terms cancel each other near equality (each is of
    order :math:`h^2\psi'`, the sum can be smaller by a factor of the
    parameters' size), so they are not summed as they stand. Stirling's
    formula :math:`\log\Gamma(x) = (x - \tfrac12)\log x - x
    + \tfrac12\log 2\pi + \mu(x)` splits :math:`D` into three parts. With
    :math:`s_i = a_i + b_i`, :math:`w = a_1/s_1` and :math:`\varphi(r) = r - 1 - \log r`:

    * the :math:`x\log x - x` part is :math:`s_2\,
      D(\mathrm{Bern}(a_2/s_2)\,\|\,\mathrm{Bern}(a_1/s_1))
      = a_2\varphi(\tfrac{a_1 s_2}{s_1 a_2}) + b_2\varphi(\tfrac{b_1 s_2}{s_1 b_2})`;
    * the :math:`-\tfrac12\log x` part is
      :math:`\tfrac12[(1 - w)(\varphi(\tfrac{a_2}{a_1}) + \varphi(\tfrac{b_2 s_1}{s_2 b_1}))
      + w(\varphi(\tfrac{b_2}{b_1}) + \varphi(\tfrac{a_2 s_1}{s_2 a_1}))]`;
    * the rest is :math:`B_\mu(a_1, a_2) + B_\mu(b_1, b_2) - B_\mu(s_1, s_2)`,
      Bregman terms of the Stirling remainder :math:`\mu \approx 1/(12x)`.

    The first two are sums of non-negative terms. Their offsets all come from
    :math:`c = a_1 b_2/(a_2 b_1) - 1`, formed from an exact two-product, so
    they are accurate even when the parameters move in proportion (where
    :math:`c` vanishes). The third is small (about :math:`1/(6x)` of the rest
    for large parameters) and is summed as Taylor series with accurate
    derivatives of :math:`\mu` (:func:`klbook.special.stirling_remainder`).

    Examples
    --------
    >>> from klbook.continuous import kl_beta
    >>> round(float(kl_beta(2.0, 1.0, 1.0, 1.0)), 12)   # log 2 - 1/2
    0.19314718056
    >>> float(kl_beta(3.0, 4.0, 3.0, 4.0))
    0.0
    """
    log_base = _check_base(base)
    pa1 = _parameter(a1, "a1", kind="positive")
    pb1 = _parameter(b1, "b1", kind="positive")
    pa2 = _parameter(a2, "a2", kind="positive")
    pb2 = _parameter(b2, "b2", kind="positive")
    pa1, pb1, pa2, pb2 = _broadcast({"a1": pa1, "b1": pb1, "a2": pa2, "b2": pb2})
    shape = pa1.shape
    value = _beta_divergence(*(p.ravel() for p in (pa1, pb1, pa2, pb2)))
    return _finish(value.reshape(shape), log_base)


def _beta_divergence(a1: NDArray[np.float64], b1: NDArray[np.float64],
                     a2: NDArray[np.float64], b2: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`kl_beta` on checked 1-D arrays (see its Notes for the three parts)."""
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        s1, s2 = a1 + b1, a2 + b2
        ha, hb = a2 - a1, b2 - b1        # exact when the parameters are within a factor 2
        # c = a1 b2 / (a2 b1) - 1 from an exact two-product; scaling a's and b's by
        # powers of two keeps the products away from over- and underflow
        exp_a, exp_b = np.frexp(a1)[1], np.frexp(b1)[1]
        a1s, a2s = np.ldexp(a1, -exp_a), np.ldexp(a2, -exp_a)
        b1s, b2s = np.ldexp(b1, -exp_b), np.ldexp(b2, -exp_b)
        p_hi, p_lo = _two_product(a1s, b2s)
        q_hi, q_lo = _two_product(a2s, b1s)
        c = ((p_hi - q_hi) + (p_lo - q_lo)) / (a2s * b1s)
        log_a, log_b, log_s = _log_ratio(a2, a1), _log_ratio(b2, b1), _log_ratio(s2, s1)
        weight_a, weight_b = a1 / s1, b1 / s1
        # x log x - x part: a2 phi(a1 s2 / (s1 a2)) + b2 phi(b1 s2 / (s1 b2))
        stirling_main = (a2 * _phi(c * weight_b, log_s - log_a)
                         + b2 * _phi(-c * (a2 / s1) * (b1 / b2), log_s - log_b))
        # -(1/2) log x part
        stirling_half = 0.5 * (
            weight_b * (_phi(ha / a1, log_a) + _phi(c * (a2 / s2), log_b - log_s))
            + weight_a * (_phi(hb / b1, log_b) + _phi(-c * (b1 / s2) * (a2 / a1), log_a - log_s)))
        remainder = (_stirling_bregman(a1, a2, ha) + _stirling_bregman(b1, b2, hb)
                     - _stirling_bregman(s1, s2, ha + hb))
        value = stirling_main + stirling_half + remainder
        # Parameter ratios beyond the double range (1e-200 against 1e200, say) can make
        # two parts overflow with opposite signs; there the textbook form is used, and
        # inf where it fails too (such a divergence is beyond the double range anyway).
        lost = np.isnan(value)
        if lost.any():
            la1, lb1, la2, lb2 = a1[lost], b1[lost], a2[lost], b2[lost]
            textbook = (sc.betaln(la2, lb2) - sc.betaln(la1, lb1) + (la1 - la2) * sc.digamma(la1)
                        + (lb1 - lb2) * sc.digamma(lb1)
                        + (la2 - la1 + lb2 - lb1) * sc.digamma(la1 + lb1))
            value[lost] = np.where(np.isnan(textbook), np.inf, textbook)
    return np.maximum(value, 0.0)


# ------------------------------------------------------------- multivariate
def _mean(value: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = _parameter(value, name, kind="real")
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a vector (last axis: the dimensions), got a scalar")
    return arr


def _covariance(value: ArrayLike, name: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The covariance array and its Cholesky factor; checks square, symmetric, definite."""
    arr = _parameter(value, name, kind="real")
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name} must be a (stack of) square matrices, got shape {arr.shape}")
    asymmetry = np.abs(arr - np.swapaxes(arr, -1, -2)).max()
    if asymmetry > SYMMETRY_TOLERANCE * max(np.abs(arr).max(), np.finfo(float).tiny):
        raise ValueError(f"{name} is not symmetric (largest asymmetry {asymmetry:g})")
    try:
        factor = np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} is not positive definite") from None
    if not np.isfinite(factor).all():
        raise ValueError(f"{name} is not positive definite")
    return arr, factor


def kl_mvnormal(mean1: ArrayLike, cov1: ArrayLike, mean2: ArrayLike, cov2: ArrayLike, *,
                base: float | None = None) -> Result:
    r"""KL divergence between multivariate normals :math:`\mathcal N(m_1, S_1)`, :math:`\mathcal N(m_2, S_2)`.

    .. math::

        D = \frac12\left[\operatorname{tr}(S_2^{-1}S_1) - k
            - \log\det(S_2^{-1}S_1) + (m_1 - m_2)^\top S_2^{-1}(m_1 - m_2)\right]
          = \frac12\left[\sum_{i=1}^k \varphi(\lambda_i)
            + (m_1 - m_2)^\top S_2^{-1}(m_1 - m_2)\right],

    where :math:`\lambda_i` are the eigenvalues of :math:`S_2^{-1}S_1`.

    Parameters
    ----------
    mean1, mean2 : array_like
        Means, shape ``(..., k)``.
    cov1, cov2 : array_like
        Symmetric positive-definite covariances, shape ``(..., k, k)``.
        Leading dimensions broadcast with those of the means.
    base : float, optional
        Logarithm base of the unit.

    Returns
    -------
    float or ndarray
        The divergence, ``>= 0``, one per broadcast leading index.

    Raises
    ------
    TypeError
        If an argument is not numeric.
    ValueError
        If an argument holds NaN or infinities, a covariance is not square,
        symmetric (within a relative ``1e-10``) or positive definite, or the
        dimensions disagree.

    Notes
    -----
    With :math:`S_2 = LL^\top`, the offsets :math:`\lambda_i - 1` are the
    eigenvalues of the symmetric matrix :math:`L^{-1}(S_1 - S_2)L^{-\top}`,
    computed from the difference :math:`S_1 - S_2` and never from
    :math:`S_2^{-1}S_1` itself, so nearly equal covariances keep their digits
    (to the accuracy of a symmetric eigensolver, about ``k`` ulps of the
    largest offset).

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.continuous import kl_mvnormal, kl_normal
    >>> cov = np.diag([1.0, 4.0])
    >>> round(float(kl_mvnormal([0, 0], np.eye(2), [1, 0], cov)), 12)
    0.81814718056
    >>> round(float(kl_normal(0, 1, 1, 1) + kl_normal(0, 1, 0, 2)), 12)   # independent parts add
    0.81814718056
    """
    log_base = _check_base(base)
    m1 = _mean(mean1, "mean1")
    m2 = _mean(mean2, "mean2")
    c1, _ = _covariance(cov1, "cov1")
    c2, factor2 = _covariance(cov2, "cov2")
    k = c1.shape[-1]
    for name, size in (("cov2", c2.shape[-1]), ("mean1", m1.shape[-1]), ("mean2", m2.shape[-1])):
        if size != k:
            raise ValueError(f"{name} has dimension {size} but cov1 has dimension {k}")
    try:
        batch = np.broadcast_shapes(m1.shape[:-1], m2.shape[:-1], c1.shape[:-2], c2.shape[:-2])
    except ValueError:
        raise ValueError(
            f"the leading shapes do not broadcast: mean1 {m1.shape}, cov1 {c1.shape}, "
            f"mean2 {m2.shape}, cov2 {c2.shape}"
        ) from None
    difference = np.broadcast_to(c1 - c2 if c1.shape == c2.shape else
                                 np.subtract(*np.broadcast_arrays(c1, c2)), batch + (k, k))
    factor = np.broadcast_to(factor2, batch + (k, k))
    # L^{-1} D L^{-T}: solve twice, using the symmetry of D
    half = np.linalg.solve(factor, difference)
    middle = np.linalg.solve(factor, np.swapaxes(half, -1, -2))
    middle = 0.5 * (middle + np.swapaxes(middle, -1, -2))
    offsets = np.linalg.eigvalsh(middle)
    # an eigenvalue of S2^{-1} S1 is positive; rounding may push 1 + offset to 0
    offsets = np.maximum(offsets, -1.0 + np.finfo(np.float64).eps)
    scale_term = _phi(offsets, np.log1p(offsets)).sum(axis=-1)
    gap = np.broadcast_to(m1 - m2, batch + (k,))[..., None]
    whitened = np.linalg.solve(factor, gap)[..., 0]
    mean_term = np.sum(whitened ** 2, axis=-1)
    return _finish(0.5 * (scale_term + mean_term), log_base)
