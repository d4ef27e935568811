"""Random pairs of discrete distributions, for the randomised checks of inequalities.

A claim such as ``D(P || Q) >= 0`` is tested on many pairs, and the pairs must
include the hard cases: tiny and large alphabets, flat and spiky distributions
(small Dirichlet concentrations put almost all mass on a few outcomes), pairs
that are almost identical (where the divergence is tiny and rounding matters
most) and pairs where ``P`` has zeros.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import NDArray

__all__ = ["PAIR_KINDS", "random_distribution_pairs"]

#: The kinds of pairs :func:`random_distribution_pairs` draws.
PAIR_KINDS = ("independent", "near", "sparse")


#: numpy's Dirichlet sampler normalises a sum of gamma draws, which overflows (giving rows
#: of zeros, without a warning) once the concentration times the size nears 1.8e308.
#: Above this value every row is the uniform distribution to rounding (its relative spread
#: is about 1 / sqrt(concentration * size) < 1e-150), so drawing at this value instead
#: gives the same rows in double precision.
_LARGEST_CONCENTRATION = 1e300


def _real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def random_distribution_pairs(rng: np.random.Generator, n_pairs: int, size: int, *,
                              concentration: float = 1.0, kind: str = "independent",
                              closeness: float = 1e-6,
                              zero_fraction: float = 0.5) -> tuple[NDArray[np.float64],
                                                                   NDArray[np.float64]]:
    """Draw `n_pairs` pairs of distributions on `size` outcomes.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness, e.g. ``np.random.default_rng(seed)``.
    n_pairs : int
        Number of pairs, ``>= 1``.
    size : int
        Number of outcomes, ``>= 1``.
    concentration : float, optional
        Parameter of the symmetric Dirichlet distribution the rows are drawn
        from: 1 is uniform on the simplex, small values give spiky rows (some
        entries may underflow to 0), large values rows close to uniform (above
        1e300, the uniform distribution to rounding).
    kind : {"independent", "near", "sparse"}, optional
        ``"independent"``: P and Q drawn independently. ``"near"``:
        ``Q = (1 - closeness) P + closeness R`` with R drawn independently, so
        Q is close to P and has full support wherever P does. ``"sparse"``: P
        is drawn, then a random `zero_fraction` of its entries (but never all)
        is set to 0 and the row renormalised; Q is drawn independently.
    closeness : float, optional
        For ``kind="near"``: the weight of R, in ``(0, 1]``.
    zero_fraction : float, optional
        For ``kind="sparse"``: the fraction of P's entries set to zero, in ``[0, 1)``.

    Returns
    -------
    p, q : ndarray of shape (n_pairs, size)
        Rows are probability vectors (non-negative, summing to 1 up to rounding).

    Raises
    ------
    TypeError
        If `rng` is not a Generator, a count is not an integer or
        `concentration`, `closeness` or `zero_fraction` is not a real number.
    ValueError
        If a count is below 1, `concentration` is not positive and finite,
        `kind` is unknown, or `closeness` or `zero_fraction` is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.sampling import random_distribution_pairs
    >>> p, q = random_distribution_pairs(np.random.default_rng(0), 3, 4, kind="near",
    ...                                  closeness=1e-3)
    >>> p.shape, bool(np.allclose(p.sum(axis=1), 1)), bool(np.abs(p - q).max() < 1e-3)
    ((3, 4), True, True)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n_pairs = _positive_int(n_pairs, "n_pairs")
    size = _positive_int(size, "size")
    concentration = _real(concentration, "concentration")
    if not (np.isfinite(concentration) and concentration > 0):
        raise ValueError(f"concentration must be positive and finite, got {concentration!r}")
    if kind not in PAIR_KINDS:
        raise ValueError(f"kind must be one of {PAIR_KINDS}, got {kind!r}")
    if not 0 < _real(closeness, "closeness") <= 1:
        raise ValueError(f"closeness must be in (0, 1], got {closeness!r}")
    if not 0 <= _real(zero_fraction, "zero_fraction") < 1:
        raise ValueError(f"zero_fraction must be in [0, 1), got {zero_fraction!r}")

    alpha = np.full(size, min(concentration, _LARGEST_CONCENTRATION))
    p = rng.dirichlet(alpha, n_pairs)
    other = rng.dirichlet(alpha, n_pairs)
    if kind == "independent":
        return p, other
    if kind == "near":
        return p, (1.0 - closeness) * p + closeness * other
    # sparse: zero the entries of P with the smallest random keys, keeping the largest key
    n_zero = min(int(round(zero_fraction * size)), size - 1)
    keys = rng.random((n_pairs, size))
    zeroed = np.argsort(keys, axis=1)[:, :n_zero]
    np.put_along_axis(p, zeroed, 0.0, axis=1)
    totals = p.sum(axis=1, keepdims=True)
    # a spiky Dirichlet row can have all its mass on the zeroed entries: keep one entry
    empty = totals[:, 0] == 0
    if empty.any():
        keep = np.argsort(keys[empty], axis=1)[:, -1]
        p[np.flatnonzero(empty), keep] = 1.0
        totals = p.sum(axis=1, keepdims=True)
    return p / totals, other
