"""Forward and reverse KL fits of a single Gaussian to a one-dimensional Gaussian mixture.

Fitting ``q = N(m, s^2)`` to a mixture ``p`` by minimising

* the **forward** divergence ``D(p || q)`` (data distribution first) has a
  closed-form answer: ``q`` takes the mean and variance of ``p`` (moment
  matching), and spreads over every mode — *mode covering*;
* the **reverse** divergence ``D(q || p)`` has no closed form. It is
  ``-H(q) - E_q[log p]`` with the Gaussian entropy
  ``H(q) = log(2 pi e s^2) / 2``; the expectation is computed here by
  Gauss–Hermite quadrature, so the objective is deterministic and smooth, and
  it is minimised with :func:`scipy.optimize.minimize` from several starting
  points, with its exact gradient (:func:`reverse_kl_gradient`), then refined by
  Newton steps on that gradient. It has a local minimum near each well-separated
  mode — *mode seeking* — and may have a broad one between modes.

All divergences are in nats. Parameters and points are validated (NaN, an
infinite mean or a scale that is not positive raise ``ValueError``); no numpy
warning reaches the caller. A log-density below the most negative double is
``-inf``, and a quadrature whose nodes ``mean + sqrt(2) scale t_j`` leave the
range of doubles raises ``ValueError`` rather than returning a NaN.
"""

from __future__ import annotations

import math

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize
from scipy.special import roots_hermite

__all__ = [
    "GaussianMixture",
    "GaussianFit",
    "gaussian_logpdf",
    "gauss_hermite_expectation",
    "moment_matched_gaussian",
    "forward_kl",
    "reverse_kl",
    "reverse_kl_gradient",
    "fit_reverse_kl",
]

#: Gauss–Hermite nodes used by default. Between two well-separated modes the
#: log-density of a mixture turns from one parabola to the other within a short
#: interval, which a rule with few nodes, spread over a wide ``q``, does not
#: resolve: for the book's mixture and ``q`` as wide as the whole mixture, 100
#: nodes err by about 1e-3, 1000 by about 1e-6 and 3000 by about 1e-11 (see
#: the tests). Near a single mode far fewer would do.
DEFAULT_NODES = 3000

_LOG_2PI = float(np.log(2 * np.pi))


@lru_cache(maxsize=8)
def _hermite_rule(n_nodes: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nodes and weights for the weight exp(-t^2); numpy's hermgauss overflows beyond ~350."""
    nodes, weights = roots_hermite(n_nodes)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


def _finite_array(value: ArrayLike, name: str, *, positive: bool = False) -> NDArray[np.float64]:
    """``value`` as a float64 array, checked finite (and positive); errors name ``name``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric") from None
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if np.isinf(arr).any():
        raise ValueError(f"{name} must be finite")
    if positive and (arr <= 0).any():
        raise ValueError(f"{name} must be positive")
    return arr


def _points(x: ArrayLike) -> NDArray[np.float64]:
    """Points at which a density is evaluated: reals, ``±inf`` allowed, NaN refused."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("x must be numeric") from None
    if np.isnan(arr).any():
        raise ValueError("x contains NaN")
    return arr


def _standardised(x: NDArray[np.float64], mean: NDArray[np.float64],
                  scale: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(x - mean) / scale``, ``±inf`` only where the quotient itself exceeds the doubles."""
    with np.errstate(over="ignore"):
        z = (x - mean) / scale
        spill = np.isinf(z) & np.isfinite(x)
        if spill.any():  # x - mean beyond the doubles: halving is exact, and so is doubling
            z = np.where(spill, 2.0 * ((0.5 * x - 0.5 * mean) / scale), z)
    return z


def _gaussian_logpdf(x: NDArray[np.float64], mean: NDArray[np.float64],
                     scale: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`gaussian_logpdf` without the checks, for the quadratures' inner loops."""
    z = _standardised(x, mean, scale)
    with np.errstate(over="ignore"):  # z**2 beyond the doubles: the log-density is -inf
        return -0.5 * z * z - np.log(scale) - 0.5 * _LOG_2PI


def _as_parameter(value: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty one-dimensional sequence, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


@dataclass(frozen=True)
class GaussianMixture:
    """A mixture ``sum_k w_k N(mu_k, sigma_k^2)`` on the real line.

    Parameters
    ----------
    weights : array_like
        Non-negative, summing to 1 (within 1e-9).
    means : array_like
        Component means.
    scales : array_like
        Component standard deviations, positive.

    Raises
    ------
    TypeError
        If a parameter is not numeric.
    ValueError
        If the parameters have different lengths, are not finite, or if a
        weight is negative, the weights do not sum to 1, or a scale is not
        positive.

    Examples
    --------
    >>> from klbook.gaussian_fit import GaussianMixture
    >>> p = GaussianMixture(weights=[0.5, 0.5], means=[-1.0, 1.0], scales=[1.0, 1.0])
    >>> float(p.mean), float(p.variance)          # variance = 1 + 1 (spread of the means)
    (0.0, 2.0)
    >>> round(float(p.pdf(0.0)), 6)               # exp(-1/2) / sqrt(2 pi)
    0.241971
    """

    weights: NDArray[np.float64]
    means: NDArray[np.float64]
    scales: NDArray[np.float64]

    def __post_init__(self) -> None:
        weights = _as_parameter(self.weights, "weights")
        means = _as_parameter(self.means, "means")
        scales = _as_parameter(self.scales, "scales")
        if not weights.size == means.size == scales.size:
            raise ValueError(
                f"weights, means and scales must have the same length, got "
                f"{weights.size}, {means.size} and {scales.size}")
        if (weights < 0).any():
            raise ValueError(f"weights has a negative entry ({weights.min():g})")
        if abs(weights.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1, but they sum to {weights.sum()!r}")
        if (scales <= 0).any():
            raise ValueError(f"scales must be positive, got {scales.min():g}")
        # frozen dataclass: store the validated arrays
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "scales", scales)

    @property
    def mean(self) -> np.float64:
        """``sum_k w_k mu_k``."""
        return np.sum(self.weights * self.means)

    @property
    def variance(self) -> np.float64:
        """``sum_k w_k (sigma_k^2 + (mu_k - mean)^2)``: within- plus between-component spread.

        ``inf`` only where it exceeds the largest double.
        """
        with np.errstate(over="ignore"):
            value = np.sum(self.weights * (self.scales**2 + (self.means - self.mean) ** 2))
            if np.isfinite(value):
                return value
            # a square overflowed: w (s^2 + d^2) = (sqrt(w) s)^2 + (sqrt(w) d)^2, with the
            # halves of s and d (exact) and a final factor 4
            root = np.sqrt(self.weights)
            half_gap = 0.5 * self.means - 0.5 * self.mean
            return 4.0 * np.sum((root * (0.5 * self.scales)) ** 2 + (root * half_gap) ** 2)

    def logpdf(self, x: ArrayLike) -> NDArray[np.float64]:
        """Log-density at `x` (any shape), by log-sum-exp: finite far in the tails.

        ``-inf`` at ``±inf`` and where the value is below the most negative double;
        NaN in `x` raises ``ValueError``.
        """
        return self._logpdf(_points(x))

    def _logpdf(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        x = x[..., None]
        with np.errstate(divide="ignore"):  # a zero weight contributes log 0 = -inf
            log_weights = np.log(self.weights)
            terms = log_weights + _gaussian_logpdf(x, self.means, self.scales)
            # log-sum-exp, shifted by the largest term so that every exp() is <= 1; written
            # out because scipy's logsumexp costs three times as much on the large arrays of
            # the quadratures. If every term is -inf, the shift is 0 and the result -inf.
            top = np.max(terms, axis=-1)
            shift = np.where(np.isfinite(top), top, 0.0)
            return shift + np.log(np.sum(np.exp(terms - shift[..., None]), axis=-1))

    def pdf(self, x: ArrayLike) -> NDArray[np.float64]:
        """Density at `x`; ``inf`` where it exceeds the largest double (a tiny scale)."""
        log_density = self.logpdf(x)
        with np.errstate(over="ignore"):
            return np.exp(log_density)

    def score(self, x: ArrayLike) -> NDArray[np.float64]:
        r"""Derivative of the log-density at `x` (any shape), ``d log p(x) / dx``.

        It is :math:`\sum_k r_k(x) (\mu_k - x) / \sigma_k^2` with the responsibilities
        :math:`r_k(x) = w_k N(x; \mu_k, \sigma_k^2) / p(x)`, formed from log-densities,
        so the score stays finite far in the tails.

        Examples
        --------
        >>> from klbook.gaussian_fit import GaussianMixture
        >>> p = GaussianMixture(weights=[0.5, 0.5], means=[-1.0, 1.0], scales=[1.0, 1.0])
        >>> float(p.score(0.0))                       # symmetric: the slope is zero
        0.0
        >>> float(p.score(-1000.0))                   # about -(x + 1): the left component
        999.0

        At ``±inf`` the score is ``∓inf``. Where every component's log-density is
        below the most negative double (``x`` more than about 1e154 standard
        deviations from each), the component nearest in standard deviations takes all
        the responsibility (the others' are smaller by a factor beyond the doubles);
        if two are equally near to rounding, which one wins is not determined by
        doubles and ``ValueError`` is raised. NaN in `x` raises ``ValueError``.
        """
        x = _points(x)
        xs = x[..., None]
        z = _standardised(xs, self.means, self.scales)
        with np.errstate(divide="ignore", over="ignore"):  # a zero weight: responsibility 0
            terms = np.log(self.weights) - 0.5 * z * z - np.log(self.scales)
        top = np.max(terms, axis=-1, keepdims=True)
        lost = ~np.isfinite(top) & np.isfinite(xs)
        with np.errstate(invalid="ignore"):
            responsibilities = np.exp(terms - np.where(np.isfinite(top), top, 0.0))
            responsibilities /= np.sum(responsibilities, axis=-1, keepdims=True)
        if lost.any():
            responsibilities = np.where(lost, self._nearest(xs, lost), responsibilities)
        with np.errstate(over="ignore", invalid="ignore"):
            # (mu - x) / sigma^2 as -z / sigma: sigma^2 may underflow where z / sigma does not;
            # where z overflowed, from the halves of x and mu (exact), doubled at the end
            slopes = -z / self.scales
            spill = np.isinf(z) & np.isfinite(xs)
            if spill.any():
                halves = ((0.5 * xs - 0.5 * self.means) / self.scales) / self.scales
                slopes = np.where(spill, -2.0 * halves, slopes)
            value = np.sum(np.where(responsibilities > 0, responsibilities * slopes, 0.0),
                           axis=-1)
        return np.where(np.isinf(x), -x, value)

    def _nearest(self, xs: NDArray[np.float64], lost: NDArray[np.bool_]) -> NDArray[np.float64]:
        """Responsibilities at the points where every log-density underflowed (`lost`).

        Relative to the component ``c`` nearest in standard deviations, a component of
        the same scale has ``log r_k - log r_c = log(w_k / w_c)
        - (mu_c - mu_k)(x - (mu_c + mu_k) / 2) / sigma^2``, exact in doubles (no
        ``z_k**2 - z_c**2`` of two numbers beyond 1e308); one of another scale is
        farther by a relative ``|z|`` gap that makes its responsibility 0, unless the
        two are equally far to rounding: then ``ValueError``.
        """
        with np.errstate(divide="ignore", over="ignore"):
            # log |z| without overflow: log|x - mu| from the halves, minus log sigma
            log_distance = (np.log(np.abs(0.5 * xs - 0.5 * self.means)) + np.log(2.0)
                            - np.log(self.scales))
        log_distance = np.where(self.weights > 0, log_distance, np.inf)
        c = np.argmin(log_distance, axis=-1)[..., None]
        mu_c = self.means[c]
        sigma_c = self.scales[c]
        best = np.take_along_axis(log_distance, c, axis=-1)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            same_scale = self.scales == sigma_c
            # halves throughout: exact, and no difference of two doubles overflows
            gap = (0.5 * mu_c - 0.5 * self.means) / sigma_c
            offset = (0.5 * xs - (0.25 * mu_c + 0.25 * self.means)) / sigma_c
            log_ratio = (np.log(self.weights) - np.log(self.weights[c])) - 4.0 * (gap * offset)
            # |z| >= 1e154: a relative gap of 1e-12 in log|z| is one of 1e-10 in z, and
            # one in z^2 / 2 beyond 1e298, which no weight or scale ratio offsets
            farther = log_distance - best > 1e-12 * np.abs(best)
        log_ratio = np.where(same_scale, log_ratio, np.where(farther, -np.inf, np.nan))
        log_ratio = np.where(self.weights > 0, log_ratio, -np.inf)
        if (np.isnan(log_ratio) & lost).any():
            raise ValueError("x is beyond 1e154 standard deviations of every component and "
                             "equally far, to rounding, from two components of different "
                             "scales: which one dominates is not resolved in double precision")
        log_ratio = np.where(lost, log_ratio, 0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            shift = np.max(log_ratio, axis=-1, keepdims=True)
            weights = np.exp(log_ratio - shift)
            return weights / np.sum(weights, axis=-1, keepdims=True)


def gaussian_logpdf(x: ArrayLike, mean: ArrayLike, scale: ArrayLike) -> NDArray[np.float64]:
    """Log-density of ``N(mean, scale^2)`` at `x`; arguments broadcast.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.gaussian_fit import gaussian_logpdf
    >>> bool(np.isclose(gaussian_logpdf(0.0, 0.0, 1.0), -0.5 * np.log(2 * np.pi)))
    True
    >>> float(gaussian_logpdf(1e200, 0.0, 1.0))   # below the most negative double
    -inf

    `x` may be ``±inf`` (the value is ``-inf``); NaN, an infinite `mean` or a
    `scale` that is not positive raise ``ValueError``.
    """
    return _gaussian_logpdf(_points(x), _finite_array(mean, "mean"),
                            _finite_array(scale, "scale", positive=True))


def gauss_hermite_expectation(function, mean: ArrayLike, scale: ArrayLike, *,
                              n_nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
    r"""``E[f(X)]`` for ``X ~ N(mean, scale^2)`` by ``n_nodes``-point Gauss–Hermite quadrature.

    With the nodes :math:`t_j` and weights :math:`w_j` of the weight
    :math:`e^{-t^2}`,
    :math:`E[f(X)] \approx \pi^{-1/2} \sum_j w_j f(\text{mean} + \sqrt2\,\text{scale}\,t_j)`,
    exact when `f` is a polynomial of degree below ``2 * n_nodes``.

    Parameters
    ----------
    function : callable
        Vectorised: takes an array of points, returns values of the same shape.
    mean, scale : array_like
        Parameters of the Gaussian; broadcast together (``scale > 0``).
    n_nodes : int, optional
        Number of quadrature nodes.

    Returns
    -------
    ndarray
        The expectation, with the broadcast shape of `mean` and `scale`.

    Examples
    --------
    >>> from klbook.gaussian_fit import gauss_hermite_expectation
    >>> round(float(gauss_hermite_expectation(lambda x: x**2, 1.0, 2.0, n_nodes=5)), 12)
    5.0
    """
    mean, scale = _gaussian(mean, scale, n_nodes)
    nodes, weights = _hermite_rule(int(n_nodes))
    return _weighted_sum(weights, function(_nodes(mean, scale, nodes))) / np.sqrt(np.pi)


def _gaussian(mean: ArrayLike, scale: ArrayLike, n_nodes: int
              ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Checked parameters of ``q = N(mean, scale^2)`` (broadcast) and node count."""
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, (int, np.integer)) or n_nodes < 1:
        raise ValueError(f"n_nodes must be a positive integer, got {n_nodes!r}")
    mean = _finite_array(mean, "mean")
    scale = _finite_array(scale, "scale", positive=True)
    try:
        mean, scale = np.broadcast_arrays(mean, scale)
    except ValueError:
        raise ValueError(f"mean with shape {mean.shape} and scale with shape {scale.shape} "
                         "do not broadcast together") from None
    return mean, scale


def _nodes(mean: NDArray[np.float64], scale: NDArray[np.float64],
           nodes: NDArray[np.float64]) -> NDArray[np.float64]:
    """The points ``mean + sqrt(2) scale t_j``; ``ValueError`` if one leaves the doubles."""
    with np.errstate(over="ignore"):
        points = mean[..., None] + np.sqrt(2.0) * scale[..., None] * nodes
    if not np.isfinite(points).all():
        raise ValueError("the quadrature nodes mean + sqrt(2) * scale * t_j exceed the largest "
                         "double: N(mean, scale^2) is too wide (or too far out) for this rule")
    return points


def _weighted_sum(weights: NDArray[np.float64], values: NDArray[np.float64]
                  ) -> NDArray[np.float64]:
    """``sum_j w_j f_j`` over the last axis; nodes whose weight underflowed to 0 count 0
    even where ``f`` is infinite there (0 * inf would be NaN)."""
    with np.errstate(invalid="ignore", over="ignore"):
        products = weights * values
    products = np.where(weights > 0, products, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.sum(products, axis=-1)


def moment_matched_gaussian(mixture: GaussianMixture) -> tuple[float, float]:
    """The Gaussian ``(mean, scale)`` minimising the forward divergence ``D(p || q)``.

    Among all Gaussians ``q``, ``D(p || q)`` is smallest when ``q`` has the
    mean and variance of ``p`` (the book derives this in closed form).

    Examples
    --------
    >>> from klbook.gaussian_fit import GaussianMixture, moment_matched_gaussian
    >>> p = GaussianMixture([0.5, 0.5], [-3.0, 3.0], [1.0, 1.0])
    >>> moment_matched_gaussian(p)                # sd sqrt(1 + 9)
    (0.0, 3.1622776601683795)
    """
    return float(mixture.mean), float(np.sqrt(mixture.variance))


def reverse_kl(mixture: GaussianMixture, mean: ArrayLike, scale: ArrayLike, *,
               n_nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
    r"""``D(q || p)`` for ``q = N(mean, scale^2)``, vectorised over `mean` and `scale`.

    Computed as :math:`-H(q) - E_q[\log p]` with
    :math:`H(q) = \tfrac12 \log(2\pi e\,\text{scale}^2)` and the expectation by
    Gauss–Hermite quadrature (:func:`gauss_hermite_expectation`).

    Examples
    --------
    >>> from klbook.gaussian_fit import GaussianMixture, reverse_kl
    >>> p = GaussianMixture([1.0], [0.0], [1.0])                  # a single N(0, 1)
    >>> round(float(reverse_kl(p, 0.0, 2.0)), 10)                 # 3/2 - log 2
    0.8068528194
    """
    mean, scale = _gaussian(mean, scale, n_nodes)
    entropy = 0.5 * (_LOG_2PI + 1.0) + np.log(scale)
    return -entropy - gauss_hermite_expectation(mixture._logpdf, mean, scale, n_nodes=n_nodes)


def forward_kl(mixture: GaussianMixture, mean: ArrayLike, scale: ArrayLike, *,
               n_nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
    r"""``D(p || q)`` for ``q = N(mean, scale^2)``, vectorised over `mean` and `scale`.

    :math:`E_p[\log p - \log q] = \sum_k w_k E_{N_k}[\log p - \log q]`, one
    Gauss–Hermite rule per component.

    Examples
    --------
    >>> from klbook.gaussian_fit import GaussianMixture, forward_kl
    >>> p = GaussianMixture([1.0], [0.0], [2.0])                  # a single N(0, 4)
    >>> round(float(forward_kl(p, 0.0, 1.0)), 10)                 # 4/2 - 1/2 - log 2
    0.8068528194
    """
    mean, scale = _gaussian(mean, scale, n_nodes)

    def log_ratio(x: NDArray[np.float64]) -> NDArray[np.float64]:
        # x has shape (..., nodes); q's parameters broadcast over the nodes. At p's own
        # nodes log p is finite, so the difference is finite or +inf (never inf - inf).
        return mixture._logpdf(x) - _gaussian_logpdf(x, mean[..., None], scale[..., None])

    total = np.zeros(mean.shape)
    for weight, mu, sigma in zip(mixture.weights, mixture.means, mixture.scales):
        if weight > 0:
            total = total + weight * gauss_hermite_expectation(
                log_ratio, np.full(mean.shape, mu), np.full(mean.shape, sigma), n_nodes=n_nodes)
    return total


def reverse_kl_gradient(mixture: GaussianMixture, mean: ArrayLike, scale: ArrayLike, *,
                        n_nodes: int = DEFAULT_NODES) -> NDArray[np.float64]:
    r"""Gradient of ``D(q || p)`` for ``q = N(mean, scale^2)`` in ``(mean, log scale)``.

    With :math:`X = \text{mean} + \text{scale}\,Z`, :math:`Z \sim N(0, 1)`, and the
    score :math:`(\log p)'` of the mixture (:meth:`GaussianMixture.score`),

    .. math::
        \frac{\partial D}{\partial\,\text{mean}} = -E[(\log p)'(X)], \qquad
        \frac{\partial D}{\partial \log \text{scale}}
        = -1 - E[(\log p)'(X)\,\text{scale}\,Z],

    the expectations by the same Gauss–Hermite rule as :func:`reverse_kl`, so this is
    the exact gradient of what :func:`reverse_kl` computes (up to rounding), not a
    difference quotient.

    Parameters
    ----------
    mixture : GaussianMixture
        The target ``p``.
    mean, scale : array_like
        Parameters of ``q``; broadcast together (``scale > 0``).
    n_nodes : int, optional
        Gauss–Hermite nodes.

    Returns
    -------
    ndarray
        Shape ``broadcast shape + (2,)``: the derivatives with respect to the mean
        and to the log of the scale.

    Examples
    --------
    For a single Gaussian target ``N(0, 1)``, ``D = s^2/2 + m^2/2 - 1/2 - log s``, whose
    derivatives in ``(m, log s)`` are ``m`` and ``s^2 - 1``:

    >>> from klbook.gaussian_fit import GaussianMixture, reverse_kl_gradient
    >>> p = GaussianMixture([1.0], [0.0], [1.0])
    >>> reverse_kl_gradient(p, 0.5, 2.0).round(12)
    array([0.5, 3. ])
    """
    mean, scale = _gaussian(mean, scale, n_nodes)
    nodes, weights = _hermite_rule(int(n_nodes))
    points = _nodes(mean, scale, nodes)
    offsets = np.sqrt(2.0) * scale[..., None] * nodes         # x - mean at the nodes
    score = mixture.score(points)
    with np.errstate(over="ignore", invalid="ignore"):
        by_mean = -_weighted_sum(weights, score) / np.sqrt(np.pi)
        by_log_scale = -1.0 - _weighted_sum(weights, score * offsets) / np.sqrt(np.pi)
    if np.isnan(by_mean).any() or np.isnan(by_log_scale).any():
        # scores of both signs beyond the doubles (q spans p's modes by more than 1e154
        # of their scales): their sum is not representable, and would silently be NaN
        raise ValueError("the mixture's score at the quadrature nodes exceeds the largest "
                         "double with both signs; the gradient cannot be evaluated here")
    return np.stack([by_mean, by_log_scale], axis=-1)


@dataclass(frozen=True)
class GaussianFit:
    """A stationary point of the reverse divergence found by :func:`fit_reverse_kl`.

    ``q = N(mean, scale^2)``. BFGS lowers the objective at every step, so from a typical
    start it ends near a local minimum; the Newton steps that follow do not check descent,
    so a start at or very near a saddle point returns the saddle. :func:`fit_reverse_kl`
    checks only that the gradient vanishes, not the curvature.
    """

    mean: float
    scale: float
    divergence: float
    #: the starting points ``(mean, scale)`` that converged here
    starts: tuple[tuple[float, float], ...]


def fit_reverse_kl(mixture: GaussianMixture, starts: ArrayLike, *,
                   n_nodes: int = DEFAULT_NODES, tolerance: float = 1e-6) -> list[GaussianFit]:
    """Stationary points of ``D(q || p)`` over Gaussians ``q``, reached from several starts.

    Each start ``(mean, scale)`` is refined by BFGS on ``(mean, log scale)``
    (so the scale stays positive) with the exact gradient of the quadrature
    objective (:func:`reverse_kl_gradient`), then by Newton's method on that
    gradient: BFGS's line search compares values of the objective, whose
    rounding errors stall it once the gradient is near 1e-8, while Newton's
    method needs only the gradient and takes it to its rounding level (the
    result must have a gradient below 1e-10). BFGS is a descent method, so from
    a typical start the point reached is a local minimum, but only the gradient
    is checked (a start near a saddle point returns the saddle): confirm a
    minimum by its curvature (the Hessian's eigenvalues) where it matters. Results closer than `tolerance` (relative to the
    mixture's standard deviation) are merged.

    Parameters
    ----------
    mixture : GaussianMixture
        The target ``p``.
    starts : array_like, shape (k, 2)
        Starting ``(mean, scale)`` pairs, ``scale > 0``.
    n_nodes : int, optional
        Gauss–Hermite nodes of the objective.
    tolerance : float, optional
        Points closer than ``tolerance * sqrt(mixture.variance)`` are one.

    Returns
    -------
    list of GaussianFit
        The distinct points reached, the smallest divergence first.

    Raises
    ------
    ValueError
        If `starts` is not a ``(k, 2)`` array with positive scales, or an
        optimisation fails (its gradient stays above 1e-10).

    Examples
    --------
    >>> from klbook.gaussian_fit import GaussianMixture, fit_reverse_kl
    >>> p = GaussianMixture([0.5, 0.5], [-4.0, 4.0], [1.0, 1.0])
    >>> fits = fit_reverse_kl(p, [[-3.0, 2.0], [3.0, 2.0]])
    >>> sorted((round(f.mean, 2), round(f.scale, 2)) for f in fits)   # one fit per mode
    [(-4.0, 1.0), (4.0, 1.0)]
    >>> round(fits[0].divergence, 2)              # about log 2: q covers half of p's mass
    0.69
    """
    starts = np.asarray(starts, dtype=np.float64)
    if starts.ndim != 2 or starts.shape[1] != 2 or starts.shape[0] == 0:
        raise ValueError(f"starts must have shape (k, 2), got {starts.shape}")
    if not np.isfinite(starts).all() or (starts[:, 1] <= 0).any():
        raise ValueError("starts must be finite with positive scales")

    def objective(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        mean, scale = theta[0], np.exp(theta[1])
        value = reverse_kl(mixture, mean, scale, n_nodes=n_nodes)
        return float(value), reverse_kl_gradient(mixture, mean, scale, n_nodes=n_nodes)

    def gradient(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        return reverse_kl_gradient(mixture, theta[0], np.exp(theta[1]), n_nodes=n_nodes)

    spread = float(np.sqrt(mixture.variance))
    found: list[dict] = []
    for start in starts:
        failure = f"the fit from {tuple(float(v) for v in start)} did not converge"
        # A run that diverges overflows exp(log scale); it is reported below, not warned of.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                result = optimize.minimize(objective, [start[0], np.log(start[1])], jac=True,
                                           method="BFGS", options={"gtol": 1e-10})
            except ValueError:  # the line search left the representable scales
                raise ValueError(f"{failure}: the scale left the range of doubles") from None
            theta = np.asarray(result.x, dtype=np.float64)
            try:
                if not _in_range(theta):
                    raise ValueError
                theta = _newton_on_gradient(gradient, theta)
                converged = _in_range(theta) and np.max(np.abs(gradient(theta))) <= 1e-10
            except ValueError:  # a Newton step left the representable scales
                converged = False
            if not converged:
                raise ValueError(f"{failure}: {result.message}")
            mean, scale = float(theta[0]), float(np.exp(theta[1]))
        for fit in found:
            if abs(fit["mean"] - mean) + abs(fit["scale"] - scale) <= tolerance * spread:
                fit["starts"].append((float(start[0]), float(start[1])))
                break
        else:
            divergence = float(reverse_kl(mixture, mean, scale, n_nodes=n_nodes))
            found.append({"mean": mean, "scale": scale, "divergence": divergence,
                          "starts": [(float(start[0]), float(start[1]))]})
    fits = [GaussianFit(f["mean"], f["scale"], f["divergence"], tuple(f["starts"])) for f in found]
    return sorted(fits, key=lambda fit: (fit.divergence, fit.mean))


def _in_range(theta: NDArray[np.float64]) -> bool:
    """Whether ``(mean, log scale)`` is a Gaussian that doubles can represent."""
    with np.errstate(over="ignore"):
        return bool(np.isfinite(theta).all() and 0 < np.exp(theta[1]) < np.inf)


def _newton_on_gradient(gradient: Callable[[NDArray[np.float64]], NDArray[np.float64]],
                        theta: NDArray[np.float64], *, max_steps: int = 10) -> NDArray[np.float64]:
    """Newton's method for ``gradient(theta) = 0`` from a nearby `theta`, Hessian by central
    differences of the gradient; returns the iterate with the smallest gradient."""
    best, best_size = theta, np.max(np.abs(gradient(theta)))
    for _ in range(max_steps):
        columns = [(gradient(theta + e) - gradient(theta - e)) / 2e-6 for e in 1e-6 * np.eye(2)]
        hessian = (np.column_stack(columns) + np.vstack(columns)) / 2
        try:
            theta = theta - np.linalg.solve(hessian, gradient(theta))
        except np.linalg.LinAlgError:
            break
        size = np.max(np.abs(gradient(theta)))
        if not size < best_size:             # rounding level reached (or no progress)
            break
        best, best_size = theta, size
    return best
