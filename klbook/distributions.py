"""Small distribution objects and a closed-form KL dispatch by type pair.

Each class holds validated parameters (arrays, broadcast like numpy) and
offers ``log_prob(x)`` and ``sample(rng, size)``, which is all that
:mod:`klbook.montecarlo` needs. :func:`kl_closed_form` looks up the closed
form registered for the pair of types, in the manner of
``torch.distributions.kl_divergence``; :func:`register_kl` adds one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special as sc

from klbook import continuous
from klbook.continuous import _parameter

__all__ = [
    "Distribution",
    "Normal",
    "MultivariateNormal",
    "Bernoulli",
    "Poisson",
    "Exponential",
    "Gamma",
    "Beta",
    "register_kl",
    "kl_closed_form",
]

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


class Distribution:
    """Base class: a distribution with a log-density (or log-mass) and a sampler."""

    def log_prob(self, x: ArrayLike) -> NDArray[np.float64]:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] | None = None):
        raise NotImplementedError  # pragma: no cover - abstract


@dataclass(frozen=True, init=False, eq=False)
class Normal(Distribution):
    """The normal distribution N(loc, scale**2).

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.distributions import Normal
    >>> round(float(Normal(0.0, 1.0).log_prob(0.0)), 12)   # -log(2 pi) / 2
    -0.918938533205
    >>> Normal(0.0, 1.0).sample(np.random.default_rng(0), 3).shape
    (3,)
    """

    loc: NDArray[np.float64]
    scale: NDArray[np.float64]

    def __init__(self, loc: ArrayLike, scale: ArrayLike):
        object.__setattr__(self, "loc", _parameter(loc, "loc", kind="real"))
        object.__setattr__(self, "scale", _parameter(scale, "scale", kind="positive"))

    def log_prob(self, x):
        z = (np.asarray(x, dtype=np.float64) - self.loc) / self.scale
        return -0.5 * z * z - np.log(self.scale) - _HALF_LOG_2PI

    def sample(self, rng, size=None):
        return rng.normal(self.loc, self.scale, size)


@dataclass(frozen=True, init=False, eq=False)
class MultivariateNormal(Distribution):
    """The multivariate normal N(mean, cov) in ``k`` dimensions (no batching).

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.distributions import MultivariateNormal
    >>> mvn = MultivariateNormal([0.0, 0.0], np.eye(2))
    >>> round(float(mvn.log_prob([0.0, 0.0])), 12)   # -log(2 pi)
    -1.837877066409
    """

    mean: NDArray[np.float64]
    cov: NDArray[np.float64]

    def __init__(self, mean: ArrayLike, cov: ArrayLike):
        mean_arr = continuous._mean(mean, "mean")
        cov_arr, factor = continuous._covariance(cov, "cov")
        if mean_arr.ndim != 1 or cov_arr.shape != (mean_arr.size, mean_arr.size):
            raise ValueError(
                f"mean must have shape (k,) and cov shape (k, k); got {mean_arr.shape} "
                f"and {cov_arr.shape}"
            )
        object.__setattr__(self, "mean", mean_arr)
        object.__setattr__(self, "cov", cov_arr)
        object.__setattr__(self, "_factor", factor)

    def log_prob(self, x):
        gap = np.asarray(x, dtype=np.float64) - self.mean
        whitened = np.linalg.solve(self._factor, gap[..., None])[..., 0]
        log_det = 2.0 * np.sum(np.log(np.diag(self._factor)))
        k = self.mean.size
        return -0.5 * np.sum(whitened ** 2, axis=-1) - 0.5 * log_det - k * _HALF_LOG_2PI

    def sample(self, rng, size=None):
        return rng.multivariate_normal(self.mean, self.cov, size, method="cholesky")


@dataclass(frozen=True, init=False, eq=False)
class Bernoulli(Distribution):
    """The Bernoulli distribution with success probability ``prob``.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.distributions import Bernoulli
    >>> np.exp(Bernoulli(0.25).log_prob([0, 1]))
    array([0.75, 0.25])
    """

    prob: NDArray[np.float64]

    def __init__(self, prob: ArrayLike):
        object.__setattr__(self, "prob", _parameter(prob, "prob", kind="probability"))

    def log_prob(self, x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return sc.xlogy(x, self.prob) + sc.xlog1py(1.0 - x, -self.prob)

    def sample(self, rng, size=None):
        return (rng.random(size) < self.prob).astype(np.float64)


@dataclass(frozen=True, init=False, eq=False)
class Poisson(Distribution):
    """The Poisson distribution with mean ``rate`` (> 0).

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.distributions import Poisson
    >>> round(float(np.exp(Poisson(2.0).log_prob(0))), 12)   # exp(-2)
    0.135335283237
    """

    rate: NDArray[np.float64]

    def __init__(self, rate: ArrayLike):
        object.__setattr__(self, "rate", _parameter(rate, "rate", kind="positive"))

    def log_prob(self, x):
        x = np.asarray(x, dtype=np.float64)
        return sc.xlogy(x, self.rate) - self.rate - sc.gammaln(x + 1.0)

    def sample(self, rng, size=None):
        return rng.poisson(self.rate, size).astype(np.float64)


@dataclass(frozen=True, init=False, eq=False)
class Exponential(Distribution):
    """The exponential distribution with density ``rate * exp(-rate * x)`` on x >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.distributions import Exponential
    >>> bool(Exponential(2.0).log_prob(0.0) == np.log(2.0))
    True
    """

    rate: NDArray[np.float64]

    def __init__(self, rate: ArrayLike):
        object.__setattr__(self, "rate", _parameter(rate, "rate", kind="positive"))

    def log_prob(self, x):
        x = np.asarray(x, dtype=np.float64)
        return np.where(x >= 0, np.log(self.rate) - self.rate * x, -np.inf)

    def sample(self, rng, size=None):
        return rng.exponential(1.0 / self.rate, size)


@dataclass(frozen=True, init=False, eq=False)
class Gamma(Distribution):
    """The gamma distribution with ``shape`` and ``rate`` (density ∝ x**(shape-1) exp(-rate x)).

    Examples
    --------
    >>> from klbook.distributions import Gamma, Exponential
    >>> float(Gamma(1.0, 2.0).log_prob(0.5)) == float(Exponential(2.0).log_prob(0.5))
    True
    """

    shape: NDArray[np.float64]
    rate: NDArray[np.float64]

    def __init__(self, shape: ArrayLike, rate: ArrayLike):
        object.__setattr__(self, "shape", _parameter(shape, "shape", kind="positive"))
        object.__setattr__(self, "rate", _parameter(rate, "rate", kind="positive"))

    def log_prob(self, x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = (self.shape * np.log(self.rate) + sc.xlogy(self.shape - 1.0, x)
                     - self.rate * x - sc.gammaln(self.shape))
        return np.where(x > 0, value, -np.inf)

    def sample(self, rng, size=None):
        return rng.gamma(self.shape, 1.0 / self.rate, size)


@dataclass(frozen=True, init=False, eq=False)
class Beta(Distribution):
    """The beta distribution with shape parameters ``a`` and ``b`` on (0, 1).

    Examples
    --------
    >>> from klbook.distributions import Beta
    >>> float(Beta(1.0, 1.0).log_prob(0.3))   # uniform
    0.0
    """

    a: NDArray[np.float64]
    b: NDArray[np.float64]

    def __init__(self, a: ArrayLike, b: ArrayLike):
        object.__setattr__(self, "a", _parameter(a, "a", kind="positive"))
        object.__setattr__(self, "b", _parameter(b, "b", kind="positive"))

    def log_prob(self, x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = (sc.xlogy(self.a - 1.0, x) + sc.xlog1py(self.b - 1.0, -x)
                     - sc.betaln(self.a, self.b))
        return np.where((x > 0) & (x < 1), value, -np.inf)

    def sample(self, rng, size=None):
        return rng.beta(self.a, self.b, size)


# ------------------------------------------------------------------ dispatch
KLFunction = Callable[..., "NDArray[np.float64] | np.float64"]
_REGISTRY: dict[tuple[type, type], KLFunction] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[KLFunction], KLFunction]:
    """Decorator registering ``fn(p, q, base=None)`` as the closed form for the pair.

    Examples
    --------
    >>> from klbook.distributions import register_kl, kl_closed_form, Normal
    >>> class Standard(Normal):
    ...     pass
    >>> float(kl_closed_form(Standard(0, 1), Normal(0, 1)))   # found through the base class
    0.0
    """
    if not (isinstance(type_p, type) and isinstance(type_q, type)):
        raise TypeError("register_kl takes two classes")

    def decorator(fn: KLFunction) -> KLFunction:
        _REGISTRY[(type_p, type_q)] = fn
        return fn

    return decorator


def kl_closed_form(p: Distribution, q: Distribution, *, base: float | None = None):
    """KL divergence D(p || q) from the closed form registered for ``(type(p), type(q))``.

    The lookup walks both method resolution orders, most specific first, so a
    subclass inherits its parent's closed forms.

    Parameters
    ----------
    p, q : Distribution
        The two distributions.
    base : float, optional
        Logarithm base of the unit.

    Returns
    -------
    float or ndarray
        The divergence.

    Raises
    ------
    NotImplementedError
        If no closed form is registered for the pair; the message names it.

    Examples
    --------
    >>> from klbook.distributions import kl_closed_form, Normal, Exponential, Gamma
    >>> round(float(kl_closed_form(Normal(0, 1), Normal(1, 1))), 12)
    0.5
    >>> round(float(kl_closed_form(Exponential(1.0), Gamma(2.0, 1.0))), 12)  # -psi(1), Euler's gamma
    0.577215664902
    >>> kl_closed_form(Normal(0, 1), Exponential(1.0))
    Traceback (most recent call last):
    ...
    NotImplementedError: no closed form registered for KL(Normal || Exponential); ...
    """
    for type_p in type(p).__mro__:
        for type_q in type(q).__mro__:
            fn = _REGISTRY.get((type_p, type_q))
            if fn is not None:
                return fn(p, q, base=base)
    raise NotImplementedError(
        f"no closed form registered for KL({type(p).__name__} || {type(q).__name__}); "
        "estimate it with klbook.montecarlo.kl_monte_carlo, or add one with "
        "klbook.distributions.register_kl"
    )


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q, base=None):
    return continuous.kl_normal(p.loc, p.scale, q.loc, q.scale, base=base)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q, base=None):
    return continuous.kl_mvnormal(p.mean, p.cov, q.mean, q.cov, base=base)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q, base=None):
    return continuous.kl_bernoulli(p.prob, q.prob, base=base)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q, base=None):
    return continuous.kl_poisson(p.rate, q.rate, base=base)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q, base=None):
    return continuous.kl_exponential(p.rate, q.rate, base=base)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q, base=None):
    return continuous.kl_gamma(p.shape, p.rate, q.shape, q.rate, base=base)


# An exponential is the gamma distribution of shape 1.
@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q, base=None):
    return continuous.kl_gamma(1.0, p.rate, q.shape, q.rate, base=base)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q, base=None):
    return continuous.kl_gamma(p.shape, p.rate, 1.0, q.rate, base=base)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q, base=None):
    return continuous.kl_beta(p.a, p.b, q.a, q.b, base=base)
