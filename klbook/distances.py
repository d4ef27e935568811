"""Distances between discrete distributions that bound or are bounded by the divergence."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from klbook import _validation

__all__ = ["total_variation"]


def total_variation(p: ArrayLike, q: ArrayLike, *, axis: int = -1,
                    normalize: bool = False) -> NDArray[np.float64] | np.float64:
    r"""Total variation distance :math:`\operatorname{TV}(P, Q) = \frac12 \sum_x |p(x) - q(x)|`.

    It equals :math:`\max_A |P(A) - Q(A)|` over events :math:`A`, lies in
    :math:`[0, 1]`, and by Pinsker's inequality
    :math:`D(P\,\|\,Q) \ge 2\,\operatorname{TV}(P, Q)^2` in nats.

    Parameters
    ----------
    p, q : array_like
        Probabilities along `axis`, broadcast against each other.
    axis : int, optional
        The axis holding the outcomes. Default: the last.
    normalize : bool, optional
        If True, `p` and `q` may have any positive totals (subnormal to beyond
        the largest double) and are normalised first; otherwise each must sum
        to 1 within ``1e-9``.

    Returns
    -------
    float or ndarray
        The distance; an array when the inputs have more than one dimension.

    Raises
    ------
    TypeError
        If an input is not numeric or `axis` is not an integer.
    ValueError
        As for :func:`klbook.kl_divergence`: empty, scalar, NaN, infinite or
        negative input, totals other than 1, shapes that do not broadcast.

    Examples
    --------
    >>> from klbook.distances import total_variation
    >>> float(total_variation([0.5, 0.5], [0.9, 0.1]))
    0.4
    >>> total_variation([[1, 0], [0.5, 0.5]], [0.5, 0.5]).round(3)
    array([0.5, 0. ])
    """
    p_arr = _validation.as_measure(p, "p")
    q_arr = _validation.as_measure(q, "q")
    p_arr, q_arr = _validation.broadcast_pair(p_arr, q_arr, axis)
    if normalize:
        # Totals near the largest double overflow, subnormal ones have few bits: scale
        # each row by the power of two of its largest entry first (exact, and the
        # quotients are those of the unscaled entries).
        p_arr, q_arr = _scaled_by_largest(p_arr), _scaled_by_largest(q_arr)
    with np.errstate(over="ignore"):  # a total that overflows is reported as not 1
        p_sum = _validation.totals(p_arr, "p", normalize=normalize)
        q_sum = _validation.totals(q_arr, "q", normalize=normalize)
    if normalize:
        p_arr, q_arr = p_arr / p_sum, q_arr / q_sum
    distance = 0.5 * np.sum(np.abs(p_arr - q_arr), axis=-1)
    return _validation.finish(distance, 1.0)


def _scaled_by_largest(arr: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row divided by the power of two of its largest entry (exact); zero rows stay."""
    _, exponent = np.frexp(arr.max(axis=-1, keepdims=True))
    return np.ldexp(arr, -exponent)
