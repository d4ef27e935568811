"""Empirical distributions and log-likelihoods of samples over a finite alphabet.

A sample ``x_1, ..., x_n`` of outcomes from the alphabet ``{0, 1, ..., k - 1}``
defines its *empirical distribution*

    p_hat(x) = (number of i with x_i = x) / n,

which puts mass ``1/n`` on each observation (so ``c/n`` on a value observed
``c`` times). Its cross-entropy with a model ``q`` is the average negative
log-likelihood of the sample, ``H(p_hat, q) = -(1/n) sum_i log q(x_i)``:
:func:`log_likelihood` computes the sum over the observations, the
right-hand side, and the chapter on maximum likelihood proves the two equal.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike, NDArray

from klbook import _validation

__all__ = ["empirical_distribution", "log_likelihood"]


def _as_sample(sample: ArrayLike, alphabet_size: int) -> NDArray[np.intp]:
    """A 1-D array of integer outcomes in ``range(alphabet_size)``."""
    try:
        arr = np.asarray(sample)
    except ValueError as exc:
        raise ValueError(f"sample is not a rectangular array: {exc}") from None
    if arr.dtype.kind == "b":
        raise TypeError("sample must hold integer outcomes, not booleans")
    if arr.ndim != 1:
        raise ValueError(f"sample must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("sample is empty; its empirical distribution is undefined")
    if arr.dtype.kind == "f":
        if np.isnan(arr).any():
            raise ValueError("sample contains NaN")
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise TypeError("sample must hold integer outcomes, got non-integer floats")
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"sample must hold integer outcomes, got dtype {arr.dtype}")
    # The range is checked in the sample's own dtype: casting 1e20 or a uint64 beyond
    # 2**63 to intp first would wrap (and warn) and name a different outcome.
    outside = (arr < 0) | (arr >= alphabet_size)
    if outside.any():
        bad = arr[outside][0]
        bad = int(bad) if arr.dtype.kind in "iu" else (int(bad) if abs(bad) < 2**63 else bad)
        raise ValueError(
            f"sample holds the outcome {bad}, outside the alphabet 0..{alphabet_size - 1}"
        )
    return arr.astype(np.intp)


def _check_alphabet_size(alphabet_size: int) -> int:
    if isinstance(alphabet_size, bool) or not isinstance(alphabet_size, numbers.Integral):
        raise TypeError(f"alphabet_size must be an integer, got {type(alphabet_size).__name__}")
    if alphabet_size < 1:
        raise ValueError(f"alphabet_size must be at least 1, got {alphabet_size}")
    return int(alphabet_size)


def empirical_distribution(sample: ArrayLike, alphabet_size: int) -> NDArray[np.float64]:
    """The empirical distribution of `sample` over ``{0, ..., alphabet_size - 1}``.

    Parameters
    ----------
    sample : array_like
        One-dimensional sequence of integer outcomes ``0 <= x_i < alphabet_size``
        (integer-valued floats are accepted).
    alphabet_size : int
        Number of possible outcomes ``k``; outcomes never observed get 0.

    Returns
    -------
    ndarray
        Shape ``(alphabet_size,)``: the proportion of the sample equal to each
        outcome. It sums to 1 and is a multiple of ``1/n`` entrywise.

    Raises
    ------
    TypeError
        If `sample` does not hold integers or `alphabet_size` is not an integer.
    ValueError
        If `sample` is empty or not one-dimensional, an outcome lies outside
        the alphabet, or `alphabet_size` is below 1.

    Examples
    --------
    >>> from klbook.empirical import empirical_distribution
    >>> empirical_distribution([0, 2, 2, 1, 2], 4).tolist()
    [0.2, 0.2, 0.6, 0.0]
    """
    k = _check_alphabet_size(alphabet_size)
    x = _as_sample(sample, k)
    return np.bincount(x, minlength=k) / x.size


def log_likelihood(sample: ArrayLike, q: ArrayLike, *, base: float | None = None,
                   axis: int = -1) -> NDArray[np.float64] | np.float64:
    r"""Log-likelihood :math:`\sum_{i=1}^n \log q(x_i)` of a sample under a model `q`.

    The sum runs over the observations ``x_i``, one term each, not over the
    alphabet. Divided by ``-n`` it is the cross-entropy of the empirical
    distribution with `q`.

    Parameters
    ----------
    sample : array_like
        One-dimensional sequence of integer outcomes ``x_i`` in ``0..k-1``,
        where ``k`` is the length of `q` along `axis`.
    q : array_like
        The model's probabilities over the alphabet along `axis`, summing to 1.
        Other axes index several models at once (e.g. a grid of parameters).
    base : float, optional
        Logarithm base: None (natural log, the default), 2, 10, ...
    axis : int, optional
        The axis of `q` holding the outcomes. Default: the last.

    Returns
    -------
    float or ndarray
        The log-likelihood, ``<= 0``; one value per model. It is ``-inf`` when
        the model gives probability 0 to an observed outcome.

    Raises
    ------
    TypeError
        If `sample` does not hold integers or `q` is not numeric.
    ValueError
        If `sample` is empty or has an outcome outside ``0..k-1``; if `q` is
        not a probability vector along `axis`; if `base` or `axis` is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook.empirical import log_likelihood
    >>> float(log_likelihood([0, 1, 1], [0.5, 0.5], base=2))
    -3.0
    >>> log_likelihood([0, 1, 1], [[0.5, 0.5], [0.25, 0.75]]).round(4)
    array([-2.0794, -1.9617])
    >>> float(log_likelihood([0, 1], [0.0, 1.0]))
    -inf
    """
    log_base = _validation.check_base(base)
    q_arr = _validation.as_measure(q, "q")
    q_arr = _validation.move_axis_last(q_arr, axis)
    with np.errstate(over="ignore"):  # a total that overflows is reported as not 1
        _validation.totals(q_arr, "q", normalize=False)
    x = _as_sample(sample, q_arr.shape[-1])
    # Group the n terms by value: sum_i log q(x_i) = sum_x count(x) log q(x), so each
    # model costs O(k) logs however long the sample is. Unobserved values contribute 0.
    counts = np.bincount(x, minlength=q_arr.shape[-1]).astype(np.float64)
    observed = counts > 0
    with np.errstate(divide="ignore"):
        log_q = np.log(q_arr, out=np.zeros_like(q_arr), where=observed)
    return _validation.finish(np.sum(counts * log_q, axis=-1), log_base)
