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

# Inside this interval the atanh series below converges to full precision in at
# most _MAX_TERMS terms (|u| <= 1/3); outside it log1p(x) - x has no harmful
# cancellation (it loses under two bits).
_SERIES_LOWER = -0.5
_SERIES_UPPER = 1.0
_MAX_TERMS = 18


def _series_terms(w_max: float) -> int:
    """Number of terms of sum_k w**k / (2k + 3) needed for full precision."""
    if w_max <= 0.0:
        return 1
    # truncation error ~ w_max**K, relative to a leading term of order 1
    return int(min(_MAX_TERMS, max(1, np.ceil(np.log(1e-17) / np.log(w_max)))))


def _log1pmx_series(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """log(1 + x) - x for x in [-1/2, 1], by the atanh series.

    With u = x / (2 + x), log(1 + x) = 2 atanh(u) = 2 (u + u**3/3 + u**5/5 + ...)
    and x - 2u = x u, hence log(1 + x) - x = -x u + 2 u**3 (1/3 + u**2/5 + ...).
    Both parts have the same sign for x < 0 and the second is about x/6 of the
    first for x > 0, so nothing cancels. The number of terms adapts to the
    largest |x|: a near-identical pair needs one or two.
    """
    u = x / (2.0 + x)
    w = u * u
    n_terms = _series_terms(float(w.max(initial=0.0)))
    series = np.full_like(w, 1.0 / (2 * n_terms + 1))
    for k in range(n_terms - 2, -1, -1):
        series *= w
        series += 1.0 / (2 * k + 3)
    return 2.0 * u * w * series - x * u


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
