"""Small distribution objects and a closed-form KL dispatch by type pair.

Each class holds validated parameters (arrays, broadcast like numpy) and
offers ``log_prob(x)`` and ``sample(rng, size)``, which is all that
:mod:`klbook.montecarlo` needs.

``log_prob`` accepts any real outcome, as ``scipy.stats`` does: outside the
support the log-density (or log-mass) is ``-inf``, not an error and never a
number. For the discrete classes the support is a set of integers, and any
other real (a non-integer, a negative count, ``±inf``) has mass 0. At an
endpoint of a continuous support the value is the density's limit there
(``Gamma(1, rate)`` at 0 is ``log(rate)``, like ``Exponential(rate)``; a shape
below 1 gives ``+inf``). NaN or a non-numeric outcome raises an error naming
``x``. The log-densities are evaluated in forms that neither overflow nor
cancel for large parameters (``Poisson(1e308)``, ``Gamma(1e308, 1e308)``):
Stirling's formula with its remainder, and ``k (s - 1 - log s)`` from
:func:`klbook.special.log1pmx`, as in Loader's algorithm for the binomial and
Poisson masses. :func:`kl_closed_form` looks up the closed
form registered for the pair of types, in the manner of
``torch.distributions.kl_divergence``; :func:`register_kl` adds one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import linalg
from scipy import special as sc

from klbook import _validation, continuous
from klbook.continuous import _parameter
from klbook.special import _two_product, log1pmx, stirling_remainder

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
_LOG_2 = np.log(2.0)


def _outcomes(x: ArrayLike) -> NDArray[np.float64]:
    """``x`` as a float64 array of reals (``±inf`` allowed); an error names ``x`` otherwise."""
    arr = _validation.as_real_array(x, "x")
    if np.isnan(arr).any():
        raise ValueError("x contains NaN; an outcome must be a real number")
    return arr


def _unwrap(arr: NDArray[np.float64]) -> NDArray[np.float64] | np.float64:
    return arr[()] if arr.ndim == 0 else arr


def _standardised(x: NDArray[np.float64], loc: NDArray[np.float64],
                  scale: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(x - loc) / scale``; ``±inf`` only where the quotient exceeds the largest double."""
    with np.errstate(over="ignore"):
        z = (x - loc) / scale
        # x - loc beyond the double range while the quotient is not (a scale near
        # 1e308): halving is exact for such numbers, and so is the final doubling
        spill = np.isinf(z) & np.isfinite(x)
        if spill.any():
            z = np.where(spill, 2.0 * ((0.5 * x - 0.5 * loc) / scale), z)
    return z


def _log_gamma_part(a: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """``g(a) + log y`` with ``g(a) = log Gamma(a) - a log a + a``, for positive finite arrays.

    The log-densities of the gamma and beta families are sums of such terms and of
    ``k phi(s)``. Each is formed without cancellation: for ``a < 1``,
    ``log(y / a) + (log Gamma(1 + a) - a log a + a)`` (the bracket is below 1); for
    ``a >= 1``, ``log(y**2 / a) / 2 + log(2 pi) / 2 + mu(a)``. The logarithms of
    products and quotients are taken from the mantissas and the powers of two
    separately, so that they neither overflow nor lose digits to ``log y - log a``.
    """
    my, ey = np.frexp(y)
    ma, ea = np.frexp(a)
    ey, ea = ey.astype(np.int64), ea.astype(np.int64)
    out = np.empty_like(a)
    small = a < 1
    if small.any():
        at = a[small]
        rest = sc.gammaln(1.0 + at) + (at - sc.xlogy(at, at))
        out[small] = (np.log(my[small] / ma[small]) + (ey - ea)[small] * _LOG_2) + rest
    large = ~small
    if large.any():
        half_log = 0.5 * (np.log(my[large] * my[large] / ma[large])
                          + (2 * ey - ea)[large] * _LOG_2)
        out[large] = (half_log + _HALF_LOG_2PI) + _stirling(a[large])
    return out


def _log_of_quotient(u: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log(u / w)`` for positive finite arrays, without over- or underflow."""
    mu, eu = np.frexp(u)
    mw, ew = np.frexp(w)
    return np.log(mu / mw) + (eu.astype(np.int64) - ew) * _LOG_2


#: Shapes in this range use the textbook form, in which the exponent ``shape - 1`` of the
#: density multiplies ``log x`` exactly (the saddle-point form would cancel ``log x``
#: against ``shape * log x`` there); all of its terms are bounded by about 1500.
_TEXTBOOK_SHAPES = (0.5, 2.0)


def _textbook_shape(a: NDArray[np.float64]) -> NDArray[np.bool_]:
    return (a >= _TEXTBOOK_SHAPES[0]) & (a <= _TEXTBOOK_SHAPES[1])


def _mantissa_product(u: NDArray[np.float64], v: NDArray[np.float64],
                      w: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """``u * v / w`` as ``(hi + lo) / mw`` exactly, with ``mw`` the mantissa of ``w``.

    ``hi + lo`` is the exact product of the mantissas of ``u`` and ``v`` times the
    power of two of ``u v / w``: exact wherever that quotient is within a few powers
    of two of 1 (elsewhere it may over- or underflow, harmlessly: ``k phi`` is then
    evaluated from ``s`` and ``log s``).
    """
    mu, eu = np.frexp(u)
    mv, ev = np.frexp(v)
    mw, ew = np.frexp(w)
    exponent = np.clip(eu.astype(np.int64) + ev - ew, -2200, 2200).astype(np.int32)
    hi, lo = _two_product(mu, mv)
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(hi, exponent), np.ldexp(lo, exponent), mw


def _stirling(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """The remainder ``log Gamma(a) - (a - 1/2) log a + a - log(2 pi) / 2`` for ``a > 0``.

    Below 1e-8 the direct formula is exact to rounding (log Gamma(a) is about
    ``-log a``, twice the subtracted term: no cancellation), and
    :func:`klbook.special.stirling_remainder` need not handle subnormal ``a``.
    """
    a = np.asarray(a, dtype=np.float64)
    tiny = a < 1e-8
    out = np.empty_like(a)
    out[~tiny] = stirling_remainder(a[~tiny]) if (~tiny).any() else 0.0
    at = a[tiny]
    out[tiny] = sc.gammaln(at) - (at - 0.5) * np.log(at) + at - _HALF_LOG_2PI
    return out


def _scaled_quotient(u: NDArray[np.float64], v: NDArray[np.float64], w: NDArray[np.float64],
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``s = u * v / w`` and ``log s`` for positive finite arrays, with no intermediate
    over- or underflow: the mantissas and the powers of two are combined separately, so
    ``s`` is ``inf`` or subnormal only if it is so itself, and ``log s`` is always finite.
    """
    mu, eu = np.frexp(u)
    mv, ev = np.frexp(v)
    mw, ew = np.frexp(w)
    mantissa = mu * mv / mw
    exponent = eu.astype(np.int64) + ev + -ew.astype(np.int64)
    with np.errstate(over="ignore", under="ignore"):
        s = np.ldexp(mantissa, np.clip(exponent, -2200, 2200).astype(np.int32))
    return s, np.log(mantissa) + exponent * _LOG_2


def _k_phi(k: NDArray[np.float64], offset: NDArray[np.float64], s: NDArray[np.float64],
           log_s: NDArray[np.float64], product: NDArray[np.float64]) -> NDArray[np.float64]:
    """``k * phi(s) = k (s - 1 - log s) >= 0`` from ``offset = s - 1`` (accurate near 1),
    ``s``, ``log s`` and ``product = k * s`` (used where ``s`` overflowed).

    Near ``s = 1`` the three terms cancel and ``-log1pmx(offset)`` keeps the digits;
    elsewhere they lose at most two bits. Where ``s`` overflowed, ``k s`` may not have:
    ``k phi(s) = k s - k - k log s``. An ``offset`` that over- or underflowed (formed
    from a quotient beyond the doubles) is replaced by ``s - 1``.
    """
    with np.errstate(invalid="ignore"):
        offset = np.where(np.isfinite(offset), offset, s - 1.0)
    near = (offset >= -0.5) & (offset <= 1.0)
    out = np.empty_like(k)
    out[near] = -k[near] * log1pmx(offset[near])
    far = ~near
    with np.errstate(over="ignore", invalid="ignore"):
        direct = k[far] * (offset[far] - log_s[far])
        spill = np.isinf(s[far])
        direct[spill] = (product[far][spill] - k[far][spill]) - k[far][spill] * log_s[far][spill]
    out[far] = direct
    return out


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
        """Log-density at `x` (any real; ``-inf`` at ``±inf``); broadcasts with the parameters.

        ``-inf`` also where the exact value is below the most negative double.
        """
        z = _standardised(_outcomes(x), self.loc, self.scale)
        with np.errstate(over="ignore"):
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
        """Log-density at points `x` of shape ``(..., k)``; ``-inf`` at infinite points.

        ``-inf`` also where the exact value is below the most negative double.
        """
        x = _outcomes(x)
        k = self.mean.size
        if x.ndim == 0 or x.shape[-1] != k:
            raise ValueError(f"x must have shape (..., {k}) for a {k}-dimensional normal, "
                             f"got shape {x.shape}")
        # Half the gap: x - mean may exceed the double range where its half does not.
        # Scaling by 2 commutes with rounding, so the result is that of the full gap.
        half_gap = 0.5 * x - 0.5 * self.mean
        lead = half_gap.shape[:-1]
        columns = half_gap.reshape(-1, k).T
        with np.errstate(over="ignore", invalid="ignore"):
            # forward substitution: an entry that overflows (or an inf - inf after it)
            # means a squared distance beyond the double range, whose log-density is -inf
            whitened = linalg.solve_triangular(self._factor, columns, lower=True,
                                               check_finite=False)
            half_distance = np.sum(whitened * whitened, axis=0).reshape(lead)
        half_distance = np.where(np.isnan(half_distance), np.inf, half_distance)
        log_det = 2.0 * np.sum(np.log(np.diag(self._factor)))
        with np.errstate(over="ignore"):
            return _unwrap(-2.0 * half_distance - 0.5 * log_det - k * _HALF_LOG_2PI)

    def sample(self, rng, size=None):
        return rng.multivariate_normal(self.mean, self.cov, size, method="cholesky")


@dataclass(frozen=True, init=False, eq=False)
class Bernoulli(Distribution):
    """The Bernoulli distribution with success probability ``prob``.

    Its support is ``{0, 1}``: ``log_prob`` is ``-inf`` at any other real
    outcome (a mass of 0), as in ``scipy.stats.bernoulli``.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.distributions import Bernoulli
    >>> np.exp(Bernoulli(0.25).log_prob([0, 1]))
    array([0.75, 0.25])
    >>> Bernoulli(0.25).log_prob([2, -1, 0.5]).tolist()    # outside the support
    [-inf, -inf, -inf]
    """

    prob: NDArray[np.float64]

    def __init__(self, prob: ArrayLike):
        object.__setattr__(self, "prob", _parameter(prob, "prob", kind="probability"))

    def log_prob(self, x):
        """Log-mass at `x`: ``log(prob)`` at 1, ``log1p(-prob)`` at 0, ``-inf`` elsewhere."""
        x = _outcomes(x)
        with np.errstate(divide="ignore"):  # prob 0 or 1: a mass of 0 at one outcome
            success, failure = np.log(self.prob), np.log1p(-self.prob)
        return _unwrap(np.where(x == 1, success, np.where(x == 0, failure, -np.inf)))

    def sample(self, rng, size=None):
        return (rng.random(size) < self.prob).astype(np.float64)


@dataclass(frozen=True, init=False, eq=False)
class Poisson(Distribution):
    """The Poisson distribution with mean ``rate`` (> 0).

    Its support is the non-negative integers: ``log_prob`` is ``-inf`` at any
    other real outcome (a mass of 0), as in ``scipy.stats.poisson``. At a count
    ``k >= 1`` it is ``-mu(k) - k phi(rate / k) - log(2 pi k) / 2``, with
    Stirling's remainder ``mu`` and ``phi(s) = s - 1 - log s``: three terms of
    one sign, so the result keeps its relative accuracy (a few ulps) where
    ``k log(rate) - rate - log(k!)`` would cancel (``k`` near a large rate) or
    overflow (``Poisson(1e308)``).

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.distributions import Poisson
    >>> round(float(np.exp(Poisson(2.0).log_prob(0))), 12)   # exp(-2)
    0.135335283237
    >>> Poisson(2.0).log_prob([-1, 1.5]).tolist()            # outside the support
    [-inf, -inf]
    >>> round(float(Poisson(1e308).log_prob(1e308)), 6)       # about -log(2 pi 1e308) / 2
    -355.517043
    """

    rate: NDArray[np.float64]

    def __init__(self, rate: ArrayLike):
        object.__setattr__(self, "rate", _parameter(rate, "rate", kind="positive"))

    def log_prob(self, x):
        """Log-mass at `x`; ``-inf`` unless `x` is a non-negative integer."""
        x, rate = np.broadcast_arrays(_outcomes(x), self.rate)
        out = np.full(x.shape, -np.inf)
        count = np.isfinite(x) & (x >= 0) & (x == np.floor(x))
        zero = count & (x == 0)
        out[zero] = -rate[zero]
        positive = count & (x > 0)
        if positive.any():
            k, r = x[positive], rate[positive]
            s, log_s = _scaled_quotient(r, np.ones_like(r), k)
            # r - k is exact where it matters (r within a factor 2 of k)
            out[positive] = -((_stirling(k) + _k_phi(k, (r - k) / k, s, log_s, r))
                              + 0.5 * (np.log(k) + 2.0 * _HALF_LOG_2PI))
        return _unwrap(out)

    def sample(self, rng, size=None):
        return rng.poisson(self.rate, size).astype(np.float64)


@dataclass(frozen=True, init=False, eq=False)
class Exponential(Distribution):
    """The exponential distribution with density ``rate * exp(-rate * x)`` on x >= 0.

    ``log_prob`` is ``-inf`` at negative outcomes and at ``inf``.

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
        """Log-density at `x`: ``log(rate) - rate * x`` for ``x >= 0``, ``-inf`` elsewhere."""
        x = _outcomes(x)
        with np.errstate(over="ignore", invalid="ignore"):  # rate * x beyond the doubles: -inf
            return _unwrap(np.where(x >= 0, np.log(self.rate) - self.rate * x, -np.inf))

    def sample(self, rng, size=None):
        with np.errstate(over="ignore"):  # a subnormal rate: draws beyond the doubles are inf
            return rng.exponential(1.0 / self.rate, size)



@dataclass(frozen=True, init=False, eq=False)
class Gamma(Distribution):
    """The gamma distribution with ``shape`` and ``rate`` (density ∝ x**(shape-1) exp(-rate x)).

    ``log_prob`` is ``-inf`` for ``x < 0`` and at ``inf``; at ``x = 0`` it is
    the density's limit: ``+inf`` for a shape below 1, ``log(rate)`` for shape
    1, ``-inf`` above. For ``x > 0`` it is computed as
    ``-(g(a) + log x) - a phi(rate x / a)`` with shape ``a``,
    ``g(a) = log Gamma(a) - a log a + a`` and ``phi(s) = s - 1 - log s``, each
    part formed without cancellation (Stirling's formula with its remainder for
    ``a >= 1``, ``Gamma(a) = Gamma(1 + a) / a`` below; the offset ``s - 1`` from
    the exact product ``rate * x``), so that it neither overflows nor loses
    digits for shapes from subnormal to 1e308. Near the mode of a large shape
    ``a`` the value is ill-conditioned in ``x`` itself (a relative change
    ``e`` in ``x`` moves it by about ``|a - rate x| e``); its error is a few
    ulps of ``max(|log f|, 1, |a - rate x|)``.

    Examples
    --------
    >>> from klbook.distributions import Gamma, Exponential
    >>> round(float(Gamma(1.0, 2.0).log_prob(0.5)), 14) == round(float(Exponential(2.0).log_prob(0.5)), 14)
    True
    >>> Gamma(2.0, 1.0).log_prob([-1.0, 0.0]).tolist()
    [-inf, -inf]
    >>> round(float(Gamma(1e308, 1e308).log_prob(1.0)), 6)   # about log(1e308 / 2 pi) / 2
    353.679166
    """

    shape: NDArray[np.float64]
    rate: NDArray[np.float64]

    def __init__(self, shape: ArrayLike, rate: ArrayLike):
        object.__setattr__(self, "shape", _parameter(shape, "shape", kind="positive"))
        object.__setattr__(self, "rate", _parameter(rate, "rate", kind="positive"))

    def log_prob(self, x):
        """Log-density at `x`; see the class for the support's endpoint."""
        x, a, b = np.broadcast_arrays(_outcomes(x), self.shape, self.rate)
        out = np.full(x.shape, -np.inf)
        at_zero = x == 0
        out[at_zero & (a < 1)] = np.inf
        exponential = at_zero & (a == 1)
        out[exponential] = np.log(b[exponential])
        inside = (x > 0) & np.isfinite(x)
        if inside.any():
            xi, ai, bi = x[inside], a[inside], b[inside]
            s, log_s = _scaled_quotient(bi, xi, ai)
            # s - 1 = (b x - a) / a from the exact product b x: near the mode of a large
            # shape, the rounding of b x would otherwise dominate the tiny offset
            hi, lo, ma = _mantissa_product(bi, xi, ai)
            with np.errstate(over="ignore", invalid="ignore"):
                offset = ((hi - ma) + lo) / ma
                product = bi * xi
            with np.errstate(over="ignore"):
                value = -(_log_gamma_part(ai, xi) + _k_phi(ai, offset, s, log_s, product))
                # shapes near 1: a log b + (a - 1) log x + log a - b x - log Gamma(1 + a)
                mid = _textbook_shape(ai)
                am, bm, xm = ai[mid], bi[mid], xi[mid]
                value[mid] = ((am * np.log(bm) + (am - 1.0) * np.log(xm) + np.log(am))
                              - product[mid] - sc.gammaln(1.0 + am))
            out[inside] = value
        return _unwrap(out + 0.0)  # + 0.0: no "-0.0"

    def sample(self, rng, size=None):
        return rng.gamma(self.shape, 1.0 / self.rate, size)


@dataclass(frozen=True, init=False, eq=False)
class Beta(Distribution):
    """The beta distribution with shape parameters ``a`` and ``b`` on (0, 1).

    ``log_prob`` is ``-inf`` outside ``[0, 1]``; at 0 it is the density's
    limit (``+inf`` for ``a < 1``, ``log b`` for ``a = 1``, ``-inf`` above), and
    at 1 likewise with the roles of ``a`` and ``b`` exchanged. Inside, with
    ``n = a + b``, ``g(a) = log Gamma(a) - a log a + a`` and
    ``phi(s) = s - 1 - log s``, it is computed as
    ``g(n) - (g(a) + log x) - (g(b) + log(1 - x)) - a phi(n x / a)
    - b phi(n (1 - x) / b)``, each part without cancellation (as for
    :class:`Gamma`; the offsets ``s - 1`` from ``b x - a (1 - x)``, formed with
    exact products), so that it neither overflows nor loses digits for shapes
    up to 1e308. Near the mode of large shapes the value is ill-conditioned in
    ``x`` itself (a relative change ``e`` in ``x`` moves it by about
    ``|a - 1 - (b - 1) x / (1 - x)| e``); its error is a few ulps of that,
    of ``|log f|`` or of 1, whichever is largest.

    Examples
    --------
    >>> from klbook.distributions import Beta
    >>> round(float(Beta(1.0, 1.0).log_prob(0.3)), 14) + 0.0   # uniform (+ 0.0: not "-0.0")
    0.0
    >>> Beta(2.0, 3.0).log_prob([-0.5, 0.0, 1.5]).tolist()
    [-inf, -inf, -inf]
    >>> round(float(Beta(1e308, 1e308).log_prob(0.5)), 6)   # about log(4e308 / pi) / 2
    354.718887
    """

    a: NDArray[np.float64]
    b: NDArray[np.float64]

    def __init__(self, a: ArrayLike, b: ArrayLike):
        object.__setattr__(self, "a", _parameter(a, "a", kind="positive"))
        object.__setattr__(self, "b", _parameter(b, "b", kind="positive"))

    def log_prob(self, x):
        """Log-density at `x`; see the class for the support's endpoints."""
        x, a, b = np.broadcast_arrays(_outcomes(x), self.a, self.b)
        out = np.full(x.shape, -np.inf)
        for end, near, far in ((0.0, a, b), (1.0, b, a)):
            at_end = x == end
            out[at_end & (near < 1)] = np.inf
            uniform_side = at_end & (near == 1)
            out[uniform_side] = -sc.betaln(near[uniform_side], far[uniform_side])
        inside = (x > 0) & (x < 1)
        if inside.any():
            xi, ai, bi = x[inside], a[inside], b[inside]
            with np.errstate(over="ignore"):
                n = ai + bi
            # a + b beyond the doubles: use half of it (exact) and twice its ratios;
            # g(2m) = g(m) - log(2) / 2 + (mu(2m) - mu(m)), the last below 1e-308
            spill = np.isinf(n)
            half_n = np.where(spill, 0.5 * ai + 0.5 * bi, 0.5 * n)
            g_n = np.where(spill, _log_gamma_part(half_n, np.ones_like(half_n)) - 0.5 * _LOG_2,
                           _log_gamma_part(np.where(spill, 1.0, n), np.ones_like(n)))
            # 1 - x = c + c_low exactly (Dekker's fast two-sum: 1 >= x)
            c = 1.0 - xi
            c_low = (1.0 - c) - xi
            # n x / a - 1 = D / a and n (1 - x) / b - 1 = -D / b, D = b x - a (1 - x):
            # D from exact products, so that the rounding of n and of 1 - x does not
            # swamp it near the mode
            hi, lo, ma = _mantissa_product(bi, xi, ai)            # b x / a = (hi + lo) / ma
            c_hi, c_lo = _two_product(ma, c)
            with np.errstate(over="ignore", invalid="ignore"):
                d_over = (hi - c_hi) + ((lo - c_lo) - ma * c_low)  # D / a = d_over / ma
                offset_a = d_over / ma
                mb, eb = np.frexp(bi)
                _, ea = np.frexp(ai)
                shift = np.clip(ea.astype(np.int64) - eb, -2200, 2200).astype(np.int32)
                offset_b = -np.ldexp(d_over / mb, shift)
                gap = np.ldexp(d_over, np.clip(ea, -2200, 2200).astype(np.int32))  # D
            sides = []
            for shape, part, offset, log_part, sign in ((ai, xi, offset_a, np.log(xi), -1.0),
                                                        (bi, c, offset_b, np.log1p(-xi), 1.0)):
                s, log_s = _scaled_quotient(half_n, part, shape)
                with np.errstate(over="ignore", invalid="ignore"):
                    s = 2.0 * s
                    product = 2.0 * half_n * part
                    side = -(_log_gamma_part(shape, part)
                             + _k_phi(shape, offset, s, log_s + _LOG_2, product))
                # a shape near 1: (shape - 1) log(part) + shape log(n / shape) - g(shape) -+ D,
                # the same side without phi (the D of the two sides cancel)
                mid = _textbook_shape(shape) & np.isfinite(gap)
                sm = shape[mid]
                log_ratio = _log_of_quotient(half_n[mid], sm) + _LOG_2
                side[mid] = (((sm - 1.0) * log_part[mid] + sm * log_ratio)
                             - _log_gamma_part(sm, np.ones_like(sm)) + sign * gap[mid])
                sides.append(side)
            with np.errstate(over="ignore"):
                out[inside] = g_n + (sides[0] + sides[1])
        return _unwrap(out + 0.0)  # + 0.0: no "-0.0"

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
