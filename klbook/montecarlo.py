r"""Monte Carlo estimators of the KL divergence, and quadrature for checks.

Given samples :math:`x_i \sim P` and the log-densities of both distributions
there, write :math:`\log r_i = \log q(x_i) - \log p(x_i)`. Three per-sample
estimators of :math:`D(P\,\|\,Q)` are in use (Schulman, "Approximating KL divergence", 2020):

* ``k1`` :math:`= -\log r`: unbiased, but negative for the samples where
  :math:`q > p`;
* ``k2`` :math:`= \tfrac12 (\log r)^2`: non-negative, but biased: its mean
  :math:`\tfrac12\mathbb E_P[(\log r)^2]` agrees with the divergence only to
  second order in :math:`\log r`;
* ``k3`` :math:`= (r - 1) - \log r = \varphi(r)`: non-negative for every
  sample. Since :math:`\mathbb E_P[r] = Q(p > 0)`, its mean is
  :math:`D(P\,\|\,Q) - Q(p = 0)`. When the divergence is finite, ``k3`` is
  therefore unbiased exactly when :math:`Q \ll P` (Q puts no mass where
  p = 0), and otherwise underestimates the divergence by the mass Q puts there.

``k3 = k1 + (r - 1)`` is ``k1`` plus a control variate (of mean zero when
:math:`Q \ll P`) with the fixed coefficient 1. When
:math:`\operatorname{Var} k_1` and :math:`\int q^2/p` are finite and
:math:`Q \ne P`, the coefficient that minimises the variance is
:math:`c^* = -\operatorname{Cov}(k_1, r)/\operatorname{Var}(r)`, which is
:math:`\ge 0` (Chebyshev's association inequality: ``log r`` and ``r`` both
increase with ``r``) but not 1 in general, and ``k3`` has the smaller
variance exactly when :math:`c^* > 1/2`. For two normals with a common
variance :math:`\sigma^2` whose means differ by :math:`\mu\sigma` (e.g.
:math:`P = \mathcal N(0, 1)` and :math:`Q = \mathcal N(\mu, 1)`),
:math:`\operatorname{Var} k_1 = \mu^2` and
:math:`\operatorname{Var} k_3 = e^{\mu^2} - 1 - \mu^2`: ``k3`` is much quieter
for small :math:`\mu` (its variance is :math:`\mu^4/2 + O(\mu^6)`), and noisier
once :math:`|\mu|` exceeds about 1.12, the positive root of
:math:`e^{\mu^2} = 1 + 2\mu^2`. The variance of ``k3`` is infinite when
:math:`\mathbb E_P[r^2] = \int q^2/p` is (for two normals, when
:math:`\sigma_Q^2 \ge 2\sigma_P^2`), and its standard error is then
meaningless.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate

from klbook import _validation
from klbook.special import log1pmx

__all__ = ["ESTIMATORS", "MonteCarloEstimate", "kl_samples", "estimate_kl",
           "kl_monte_carlo", "kl_quadrature"]

#: Names of the per-sample estimators.
ESTIMATORS = ("k1", "k2", "k3")


class MonteCarloEstimate(NamedTuple):
    """A Monte Carlo estimate with its standard error and sample size."""

    estimate: float
    stderr: float
    n: int


def _log_values(value: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def kl_samples(log_p: ArrayLike, log_q: ArrayLike, estimator: str = "k3") -> NDArray[np.float64]:
    r"""Per-sample values of an estimator of D(P || Q), from log-densities at samples of P.

    Parameters
    ----------
    log_p, log_q : array_like
        1-D arrays: :math:`\log p(x_i)` and :math:`\log q(x_i)` at the same
        points :math:`x_i \sim P`.
    estimator : {"k1", "k2", "k3"}
        Which estimator (see the module docstring).

    Returns
    -------
    ndarray
        One value per sample; their mean estimates the divergence: ``k1``
        without bias, ``k3`` without bias when Q is absolutely continuous
        with respect to P (and biased low by Q's mass where p = 0
        otherwise), ``k2`` with a bias.

    Raises
    ------
    TypeError
        If the log-densities are not numeric.
    ValueError
        If they are not 1-D of equal length, contain NaN or ``log_p = -inf``
        (a point P cannot produce), or `estimator` is unknown.

    Notes
    -----
    ``k3`` is evaluated, for ``|log r| <= 1/2``, as ``-log1pmx(expm1(log r))``:
    ``r - 1`` comes from ``expm1`` without cancellation, so each value is
    accurate and ``>= 0`` even when ``r`` is within rounding of 1. Further out
    it is ``expm1(log r) - log r``. The subtraction multiplies the relative
    error of ``expm1`` by ``|r - 1| / k3``, at most 4.4 (at ``log r = 1/2``),
    and one ulp of ``expm1`` is at most 6.7 units of roundoff of ``k3``: with
    an ``expm1`` accurate to one ulp, ``k3`` is within 8 units of roundoff (it
    loses at most three bits).

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.montecarlo import kl_samples
    >>> log_p, log_q = np.log([0.5, 0.5]), np.log([0.25, 0.75])
    >>> kl_samples(log_p, log_q, "k1").round(6)
    array([ 0.693147, -0.405465])
    >>> kl_samples(log_p, log_q, "k3").round(6)     # r - 1 - log r >= 0
    array([0.193147, 0.094535])
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    lp = _log_values(log_p, "log_p")
    lq = _log_values(log_q, "log_q")
    if lp.shape != lq.shape:
        raise ValueError(f"log_p and log_q must have the same shape, got {lp.shape} and {lq.shape}")
    if np.isneginf(lp).any():
        raise ValueError("log_p contains -inf: the points must be samples of P")
    with np.errstate(over="ignore"):
        log_r = lq - lp
        if estimator == "k1":
            return -log_r
        if estimator == "k2":
            return 0.5 * log_r * log_r
        r_minus_1 = np.expm1(log_r)
        near = np.abs(log_r) <= 0.5
        # near r = 1 the three parts of phi cancel, so use the accurate kernel; far from
        # it the direct form is better (1 + expm1(log r) would lose the digits of small r)
        return np.where(near, -log1pmx(np.where(near, r_minus_1, 0.0)), r_minus_1 - log_r) + 0.0


def estimate_kl(log_p: ArrayLike, log_q: ArrayLike, *, estimator: str = "k3",
                base: float | None = None) -> MonteCarloEstimate:
    r"""Mean of :func:`kl_samples` and its standard error ``std(ddof=1) / sqrt(n)``.

    Parameters
    ----------
    log_p, log_q : array_like
        Log-densities of P and Q at samples of P.
    estimator : {"k1", "k2", "k3"}
        Which estimator.
    base : float, optional
        Logarithm base of the unit.

    Returns
    -------
    MonteCarloEstimate
        ``(estimate, stderr, n)``. The standard error measures the spread
        only, not a bias (that of ``k2``, or of ``k3`` when Q puts mass where
        p = 0), and means nothing when the estimator's variance is infinite
        (``k3`` when :math:`\int q^2/p` is).

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.montecarlo import estimate_kl
    >>> result = estimate_kl(np.log([0.5, 0.5]), np.log([0.25, 0.75]), estimator="k1")
    >>> round(result.estimate, 6), result.n
    (0.143841, 2)
    """
    log_base = _validation.check_base(base)
    values = kl_samples(log_p, log_q, estimator)
    n = values.size
    stderr = float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return MonteCarloEstimate(float(values.mean()) / log_base, stderr / log_base, n)


def kl_monte_carlo(p, q, n: int, *, rng: np.random.Generator, estimator: str = "k3",
                   base: float | None = None) -> MonteCarloEstimate:
    """Estimate D(p || q) from ``n`` samples of ``p``.

    Parameters
    ----------
    p, q : object
        Anything with ``sample(rng, size)`` (for `p`) and ``log_prob(x)``,
        e.g. the classes of :mod:`klbook.distributions` with scalar
        parameters.
    n : int
        Number of samples, ``>= 2``.
    rng : numpy.random.Generator
        The source of randomness (seed it for reproducible results).
    estimator : {"k1", "k2", "k3"}
        Which estimator. The default, ``k3``, is unbiased only when `q`
        puts no mass where `p` has density 0, and its variance may exceed
        that of ``k1`` (see the module docstring).
    base : float, optional
        Logarithm base of the unit.

    Returns
    -------
    MonteCarloEstimate

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.distributions import Normal
    >>> from klbook.montecarlo import kl_monte_carlo
    >>> est = kl_monte_carlo(Normal(0, 1), Normal(1, 1), 10_000, rng=np.random.default_rng(0))
    >>> bool(abs(est.estimate - 0.5) < 4 * est.stderr)
    True
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    if n < 2:
        raise ValueError(f"n must be at least 2 to estimate a standard error, got {n}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator, e.g. np.random.default_rng(0)")
    x = p.sample(rng, n)
    return estimate_kl(p.log_prob(x), q.log_prob(x), estimator=estimator, base=base)


def kl_quadrature(p, q, lower: float = -np.inf, upper: float = np.inf, *,
                  base: float | None = None, **quad_options) -> float:
    r"""D(p || q) for 1-D densities by adaptive quadrature (``scipy.integrate.quad``).

    Integrates :math:`p(x)\,(\log p(x) - \log q(x))` over ``[lower, upper]``,
    which should cover the support of `p`. Meant for checking closed forms.

    Parameters
    ----------
    p, q : object
        Anything with a vectorised ``log_prob(x)`` on the real line.
    lower, upper : float
        The integration range (may be infinite).
    base : float, optional
        Logarithm base of the unit.
    **quad_options
        Passed to ``scipy.integrate.quad`` (e.g. ``epsabs``, ``limit``).

    Returns
    -------
    float
        The divergence by quadrature.

    Examples
    --------
    >>> from klbook.distributions import Exponential
    >>> from klbook.montecarlo import kl_quadrature
    >>> round(kl_quadrature(Exponential(1.0), Exponential(2.0), 0.0), 10)  # 1 - log 2
    0.3068528194
    """
    log_base = _validation.check_base(base)
    options = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 200} | quad_options

    def integrand(x: float) -> float:
        log_p = float(p.log_prob(x))
        if log_p == -np.inf:
            return 0.0
        return float(np.exp(log_p) * (log_p - float(q.log_prob(x))))

    value, _ = integrate.quad(integrand, lower, upper, **options)
    return value / log_base
