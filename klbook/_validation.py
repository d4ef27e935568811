"""Input checks shared by the public functions: clear errors, never silent guesses.

How far a distribution's total may stray from 1 (`sum_tolerance`) depends on the
precision the entries were computed in: ``max(1e-9, 2 * n * eps)``, with ``n`` the
number of outcomes and ``eps`` the machine epsilon of the input's dtype (that of
float64 for integers, Python numbers and anything else that is not a numpy float).
So a float64 distribution may be off by 1e-9 (more only beyond two million
outcomes), a float32 one by about ``2.4e-7 * n``, which is what normalising in
float32 leaves, and an unnormalised float32 vector of moderate length is still
rejected.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: How far a float64 distribution's total may stray from 1 before it is rejected (the
#: floor of `sum_tolerance`).
SUM_TOLERANCE = 1e-9
#: Normalising n numbers in a floating type (sum them, divide each by the sum) leaves the
#: exact total of the quotients within n * u of 1, u = eps / 2, whatever the order of the
#: summation (the sum's rounding error is at most (n - 1) u of it, Higham's gamma_(n-1),
#: and each quotient adds u of itself). Our own float64 sum of the entries adds at most
#: n * u64 more. 2 * n * eps is twice that worst case, so a correctly normalised input is
#: never rejected while an unnormalised float32 vector of up to ~4000 entries off by 1e-3
#: still is.
SUM_EPS_MULTIPLE = 2
_EPS = {np.dtype(np.float64): float(np.finfo(np.float64).eps),
        np.dtype(np.float32): float(np.finfo(np.float32).eps)}


def sum_tolerance(n: int, dtype: np.dtype | type = np.float64) -> float:
    """How far from 1 the total of `n` entries computed in `dtype` may be.

    ``max(SUM_TOLERANCE, SUM_EPS_MULTIPLE * n * eps)`` with ``eps`` the machine
    epsilon of `dtype` if it is a floating type, else of float64.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook._validation import sum_tolerance
    >>> sum_tolerance(10)
    1e-09
    >>> print(f"{sum_tolerance(100, np.float32):.3g}")  # 2 * 100 * 2**-23
    2.38e-05
    """
    dtype = np.dtype(dtype)
    eps = _EPS.get(dtype)
    if eps is None:
        eps = float(np.finfo(dtype).eps) if dtype.kind == "f" else _EPS[np.dtype(np.float64)]
    return max(SUM_TOLERANCE, SUM_EPS_MULTIPLE * n * eps)


def source_dtype(value: ArrayLike) -> np.dtype:
    """The floating dtype in which `value`'s entries were computed; float64 if it has none.

    A numpy float array (or a sequence of numpy float scalars) of float16, float32,
    float64 or longdouble gives its own dtype; integers, Python numbers, object arrays
    and anything numpy cannot read as one array give float64.

    Examples
    --------
    >>> import numpy as np
    >>> from klbook._validation import source_dtype
    >>> source_dtype(np.ones(2, dtype=np.float32)), source_dtype([1, 0])
    (dtype('float32'), dtype('float64'))
    """
    dtype = getattr(value, "dtype", None)
    if not isinstance(dtype, np.dtype):
        try:
            dtype = np.asarray(value).dtype
        except (TypeError, ValueError):  # ragged: reported by as_real_array
            return np.dtype(np.float64)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def as_real_array(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array; ``TypeError`` unless it holds real numbers.

    Booleans, complex numbers, strings and ``None`` are rejected rather than
    silently turned into 0/1, a real part, a parse or NaN. Ragged nested
    sequences raise ``ValueError``. Values are not checked further.
    """
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} is not a rectangular array: {exc}") from None
    if arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold numbers, not booleans")
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    if arr.dtype.kind in "USVMm":
        # numpy would parse "1e-3" as a number and a date as days: text is not a number
        raise TypeError(f"{name} must be numeric, got {arr.dtype} values")
    if arr.dtype.kind == "O":
        # Python numbers (Fraction, SymPy Rational, Decimal) are fine; None, strings and
        # booleans would otherwise become NaN, a parse, or 0/1 without a word.
        if any(v is None or isinstance(v, (str, bytes, bool, complex)) for v in arr.flat):
            raise TypeError(f"{name} must be numeric, got a non-numeric entry")
    if arr.dtype.kind not in "iuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}") from None
    return arr.astype(np.float64, copy=False)


def as_measure(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array of finite, non-negative entries.

    Raises ``TypeError`` for non-numeric input and ``ValueError`` for empty,
    zero-dimensional, NaN, infinite or negative input, naming ``name``.
    """
    arr = as_real_array(value, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains an infinite entry")
    if (arr < 0).any():
        raise ValueError(f"{name} has a negative entry ({arr.min():g}); probabilities are >= 0")
    return arr


def check_base(base: float | None) -> float:
    """Return ``log(base)``, the divisor that converts nats to the requested unit."""
    if base is None:
        return 1.0
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(f"base must be a real number or None, got {type(base).__name__}")
    if not np.isfinite(base) or base <= 0 or base == 1:
        raise ValueError(f"base must be positive, finite and not 1, got {base!r}")
    return float(np.log(base))


def totals(arr: NDArray[np.float64], name: str, *, normalize: bool,
           dtype: np.dtype | type = np.float64) -> NDArray[np.float64]:
    """Sums along the last axis (keepdims), checked to be 1 unless ``normalize``.

    `dtype` is the type the entries were computed in (see `source_dtype`): the sums
    must be within ``sum_tolerance(n, dtype)`` of 1. With ``normalize`` they must be
    positive; a sum of finite entries that overflows is returned as ``inf``, without a
    warning (the callers that accept any total scale the entries first).
    """
    with np.errstate(over="ignore"):
        total = arr.sum(axis=-1, keepdims=True)
    if normalize:
        if (total == 0).any():
            raise ValueError(f"{name} sums to 0 along axis; it cannot be normalised")
        return total
    tolerance = sum_tolerance(arr.shape[-1], dtype)
    bad = ~(np.abs(total - 1.0) <= tolerance)
    if bad.any():
        worst = total[bad].flat[0]
        raise ValueError(
            f"{name} must sum to 1 along axis (within {tolerance:.3g} for "
            f"{arr.shape[-1]} {np.dtype(dtype).name} entries), but a sum is "
            f"{float(worst)!r}; pass normalize=True to normalise it"
        )
    return total


def broadcast_pair(
    p: NDArray[np.float64], q: NDArray[np.float64], axis: int, names: tuple[str, str] = ("p", "q")
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Broadcast ``p`` and ``q`` together and move ``axis`` to the end."""
    try:
        shape = np.broadcast_shapes(p.shape, q.shape)
    except ValueError:
        raise ValueError(
            f"{names[0]} with shape {p.shape} and {names[1]} with shape {q.shape} "
            "do not broadcast together"
        ) from None
    p, q = np.broadcast_to(p, shape), np.broadcast_to(q, shape)
    return move_axis_last(p, axis), move_axis_last(q, axis)


def move_axis_last(arr: NDArray[np.float64], axis: int) -> NDArray[np.float64]:
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be an integer, got {type(axis).__name__}")
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis {axis} is out of range for an array of dimension {arr.ndim}")
    return np.moveaxis(arr, axis, -1)


def finish(values: NDArray[np.float64], log_base: float) -> NDArray[np.float64] | np.float64:
    """Convert nats to the requested unit; return a scalar for 1-D input."""
    result = values / log_base if log_base != 1.0 else values
    return result[()] if result.ndim == 0 else result
