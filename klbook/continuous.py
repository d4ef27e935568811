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
from exactly computed parameter differences. The textbook formulas
(``log(s2/s1) + (s1**2 + (m1-m2)**2)/(2*s2**2) - 1/2``, as in torch and
TensorFlow Probability) subtract numbers of order 1 to produce a result of
order :math:`\\varepsilon^2` and lose half the digits when the parameters
differ by a relative :math:`\\varepsilon`; the forms here keep them.
"""

from __future__ import annotations


import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special as sc

from klbook import _validation
from klbook.special import _stirling_remainder, _two_product, log1pmx

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


def _lgamma_bregman(x: NDArray[np.float64], h: NDArray[np.float64]) -> NDArray[np.float64]:
    """``lnG(x + h) - lnG(x) - h psi(x)`` (``lnG`` = log-gamma), accurately for small h.

    This Bregman divergence of the convex ``lnG`` is ``>= 0`` and of order
    ``h**2``. Where ``|h| <= x / 4`` it is summed as the Taylor series
    ``sum_{k >= 2} psi^(k-1)(x) h**k / k!`` (radius of convergence ``x``, the
    distance to the pole of lnG at 0), whose terms are each accurate; elsewhere
    it is evaluated directly.
    """
    x, h = np.broadcast_arrays(x, h)
    out = np.empty(x.shape)
    t = np.abs(h) / x
    near = t <= 0.25
    if near.any():
        xs, hs = x[near], h[near]
        t_max = float(t[near].max())
        # terms fall off like t**k; stop when they are below 1e-17 of the first
        n_terms = 1 if t_max == 0 else int(np.ceil(np.log(1e-17) / np.log(t_max))) + 1
        total = np.zeros_like(xs)
        power = hs * hs / 2.0  # h**k / k!
        for k in range(2, n_terms + 2):
            total += sc.polygamma(k - 1, xs) * power
            power = power * hs / (k + 1)
        out[near] = total
    far = ~near
    if far.any():
        xf, hf = x[far], h[far]
        out[far] = sc.gammaln(xf + hf) - sc.gammaln(xf) - hf * sc.digamma(xf)
    return np.maximum(out, 0.0)


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
    with np.errstate(over="ignore", under="ignore"):
        d = (s1 - s2) / s2
        offset = d * (2.0 + d)                      # sigma1**2 / sigma2**2 - 1
        log_ratio = 2.0 * _log_ratio(s1, s2)        # log(sigma1**2 / sigma2**2)
        scale_term = _phi(offset, log_ratio)
        mean_term = np.square((m1 - m2) / s2)       # one rounding, not a libm pow
    return _finish(0.5 * (scale_term + mean_term), log_base)


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
          = B(\alpha_1, \alpha_2) + \alpha_1\,\varphi(r)
            + (\alpha_1 - \alpha_2)\log r,

    with :math:`r = \beta_2/\beta_1` and
    :math:`B(\alpha_1, \alpha_2) = \log\Gamma(\alpha_2) - \log\Gamma(\alpha_1)
    - (\alpha_2 - \alpha_1)\psi(\alpha_1) \ge 0`.

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
        The divergence, ``>= 0``.

    Raises
    ------
    TypeError
        If a parameter is not numeric.
    ValueError
        If a parameter is NaN, infinite or ``<= 0``.

    Notes
    -----
    :math:`B` is summed as its Taylor series in :math:`\alpha_2 - \alpha_1`
    (polygamma coefficients) when the shapes are within 25 % of each other,
    so neither part cancels catastrophically near equality. When both shapes
    and rates differ, the last term may be negative and cancel part of the
    first two; that loses a bounded number of digits, not half of them.

    Examples
    --------
    >>> from klbook.continuous import kl_gamma, kl_exponential
    >>> bool(kl_gamma(1.0, 1.0, 1.0, 2.0) == kl_exponential(1.0, 2.0))   # shape 1: exponential
    True
    >>> round(float(kl_gamma(2.0, 1.0, 3.0, 1.0)), 12)   # log 2 - psi(2)
    0.270362845461
    """
    log_base = _check_base(base)
    a1 = _parameter(shape1, "shape1", kind="positive")
    b1 = _parameter(rate1, "rate1", kind="positive")
    a2 = _parameter(shape2, "shape2", kind="positive")
    b2 = _parameter(rate2, "rate2", kind="positive")
    a1, b1, a2, b2 = _broadcast({"shape1": a1, "rate1": b1, "shape2": a2, "rate2": b2})
    with np.errstate(over="ignore", under="ignore"):
        log_r = _log_ratio(b2, b1)
        rate_term = a1 * _phi((b2 - b1) / b1, log_r)
        shape_term = _lgamma_bregman(a1, a2 - a1)
        value = shape_term + rate_term + (a1 - a2) * log_r
    return _finish(np.maximum(value, 0.0), log_base)


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
