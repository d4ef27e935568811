"""Input checks shared by the public functions: clear errors, never silent guesses."""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: How far a distribution's total may stray from 1 before it is rejected.
SUM_TOLERANCE = 1e-9


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


def totals(arr: NDArray[np.float64], name: str, *, normalize: bool) -> NDArray[np.float64]:
    """Sums along the last axis (keepdims), checked to be 1 unless ``normalize``."""
    total = arr.sum(axis=-1, keepdims=True)
    if normalize:
        if (total == 0).any():
            raise ValueError(f"{name} sums to 0 along axis; it cannot be normalised")
        return total
    bad = np.abs(total - 1.0) > SUM_TOLERANCE
    if bad.any():
        worst = total[bad].flat[0]
        raise ValueError(
            f"{name} must sum to 1 along axis (within {SUM_TOLERANCE:g}), but a sum is "
            f"{worst!r}; pass normalize=True to normalise it"
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
