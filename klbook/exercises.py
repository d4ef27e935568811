"""Public checks for the book's code exercises: helpful messages, not bare assertions.

A student who writes a function for an exercise calls a check from here. The
check runs the function on a few cases, compares each result with a reference
built on :mod:`klbook`, and on the first mismatch raises :class:`CheckFailed`
with a message that says which case failed, what was expected, what came back,
and, when the numbers reveal it, the likely mistake:

* a logarithm in the wrong base (``log10`` or ``log2`` where the natural log is
  meant): the result is off by the constant factor ``ln 10`` or ``ln 2``;
* the two distributions swapped: the result equals the reference with its
  arguments exchanged, ``D(Q || P)`` instead of ``D(P || Q)``;
* a flipped sign (``log q/p`` for ``log p/q``);
* a finite value where the divergence is infinite, or the reverse;
* ``None`` (a missing ``return``, or the unfinished ``...`` placeholder) or an
  exception.

The generic helpers :func:`compare_function` and :func:`compare_value` serve any
chapter; the ``check_*`` functions are the public checks of particular
exercises. The autograder's hidden tests go beyond these checks.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from klbook.discrete import kl_divergence

__all__ = [
    "CheckFailed",
    "UNITS",
    "compare_value",
    "compare_function",
    "check_kl_uniform",
    "check_coin_bits",
]

#: The units of information and the logarithm base that defines each.
UNITS: dict[str, float] = {"nats": math.e, "bits": 2.0, "hartleys": 10.0}

_LOG_NAME = {"nats": "the natural log (np.log)", "bits": "log2 (np.log2)",
             "hartleys": "log10 (np.log10)"}


class CheckFailed(AssertionError):
    """A public check failed; the message says which case, and the likely cause.

    A subclass of ``AssertionError``, so that test runners and graders treat it
    as an ordinary failed assertion.
    """


def _as_real(value: Any) -> float | None:
    """``value`` as a float if it is a real scalar (Python, NumPy, 0-d array, SymPy)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        return float(value)
    try:  # SymPy numbers and expressions that evaluate to a real number
        import sympy

        if isinstance(value, sympy.Basic):
            number = complex(sympy.N(value, 30))
            return number.real if number.imag == 0 else None
    except (ImportError, TypeError, ValueError):
        return None
    return None


def _close(got: float, expected: float, rtol: float, atol: float) -> bool:
    if math.isinf(expected) or math.isinf(got):
        return got == expected
    return abs(got - expected) <= atol + rtol * abs(expected)


def _diagnose(got: float, expected: float, *, unit: str, rtol: float, atol: float,
              swapped: float | None) -> str:
    """The likeliest explanation of ``got`` where ``expected`` was due, or ''."""
    if math.isnan(got):
        return ("The result is NaN. A term 0 * log(0) gives NaN in floating point; the "
                "convention 0 log(0/q) = 0 has to be applied explicitly.")
    if swapped is not None and _close(got, swapped, rtol, atol) and not _close(
            swapped, expected, rtol, atol):
        return ("It equals the answer with the two arguments exchanged: you computed "
                "D(Q || P) instead of D(P || Q). The divergence is not symmetric.")
    if math.isinf(expected) and not math.isinf(got):
        return ("The divergence is infinite here: the first distribution puts mass where "
                "the second has none. Return np.inf in that case.")
    if math.isinf(got) and not math.isinf(expected):
        return ("The result is infinite but the divergence is finite here: check which "
                "support must contain which.")
    if expected != 0 and _close(-got, expected, rtol, atol):
        return ("It is the answer with the wrong sign: the log ratio is log(p/q), "
                "not log(q/p).")
    if expected != 0 and got != 0:
        for other, base in UNITS.items():
            if other == unit:
                continue
            # A value computed in `other` units is the value in `unit` times ln(b_unit)/ln(b_other).
            factor = math.log(UNITS[unit]) / math.log(base)
            if _close(got, expected * factor, rtol, atol):
                return (f"It is the right answer in {other}, not in {unit}: it looks as if "
                        f"{_LOG_NAME[other]} was used where {_LOG_NAME[unit]} is meant. "
                        f"The two differ by the constant factor {1 / factor:.6g}.")
    return ""


def compare_value(got: Any, expected: float, *, what: str = "the value", unit: str = "nats",
                  rtol: float = 1e-9, atol: float = 1e-12, swapped: float | None = None) -> None:
    """Check one number against the expected one; explain a mismatch.

    Parameters
    ----------
    got : object
        The student's value: a real number (Python, NumPy or SymPy).
    expected : float
        The correct value, in `unit`; ``inf`` where the quantity is infinite.
    what : str, optional
        How to name the value in the message, e.g. ``"kl_uniform(2, 5)"``.
    unit : {"nats", "bits", "hartleys"}, optional
        The unit `expected` is in; used to recognise a value in another unit.
    rtol, atol : float, optional
        Relative and absolute tolerances.
    swapped : float, optional
        The value with the two distributions exchanged, to recognise a swap.

    Raises
    ------
    CheckFailed
        If `got` is not a real number or differs from `expected`.
    ValueError
        If `unit` is not one of :data:`UNITS`.

    Examples
    --------
    >>> import numpy as np
    >>> compare_value(np.log(2), np.log(2))
    >>> compare_value(np.log10(2), np.log(2), what="D")
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: D: expected 0.69314718056 nats, got 0.301029995664. It is the right answer in hartleys, not in nats: it looks as if log10 (np.log10) was used where the natural log (np.log) is meant. The two differ by the constant factor 2.30259.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {sorted(UNITS)}, got {unit!r}")
    if got is None or got is Ellipsis:
        raise CheckFailed(f"{what}: got {got!r}. The answer is not written yet, or a "
                          "`return` statement is missing.")
    value = _as_real(got)
    if value is None:
        raise CheckFailed(f"{what}: expected a real number, got {got!r} "
                          f"(of type {type(got).__name__}).")
    expected = float(expected)
    if _close(value, expected, rtol, atol):
        return
    message = f"{what}: expected {expected:.12g} {unit}, got {value:.12g}."
    hint = _diagnose(value, expected, unit=unit, rtol=rtol, atol=atol, swapped=swapped)
    raise CheckFailed(f"{message} {hint}".rstrip())


def compare_function(student: Callable[..., Any], reference: Callable[..., Any],
                     cases: Sequence[tuple], *, unit: str = "nats", rtol: float = 1e-9,
                     atol: float = 1e-12, swap: bool = True, quiet: bool = False) -> None:
    """Run `student` and `reference` on each case; explain the first mismatch.

    Parameters
    ----------
    student : callable
        The student's function.
    reference : callable
        A correct implementation (usually built on :mod:`klbook`), called with
        the same arguments.
    cases : sequence of tuple
        Positional arguments for each call.
    unit : {"nats", "bits", "hartleys"}, optional
        The unit the reference returns.
    rtol, atol : float, optional
        Relative and absolute tolerances.
    swap : bool, optional
        If True, the first two arguments are the two distributions, and a result
        equal to the reference with them exchanged is reported as a swap.
    quiet : bool, optional
        If False, print one line when every case agrees.

    Raises
    ------
    CheckFailed
        At the first case where `student` raises, or returns a value that is not
        a real number or differs from the reference.
    TypeError
        If `student` or `reference` is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> def reference(a, b):
    ...     return np.log(b / a)
    >>> def student(a, b):
    ...     return np.log(a / b)
    >>> compare_function(reference, reference, [(1, 2), (2, 3)])
    reference agrees with the reference on 2 cases.
    >>> compare_function(student, reference, [(1, 2)])
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: student(1, 2): expected 0.69314718056 nats, got -0.69314718056. It equals the answer with the two arguments exchanged: you computed D(Q || P) instead of D(P || Q). The divergence is not symmetric.
    """
    for role, fn in (("student", student), ("reference", reference)):
        if not callable(fn):
            raise TypeError(f"{role} must be callable, got {type(fn).__name__}")
    name = getattr(student, "__name__", "your function")
    for case in cases:
        call = f"{name}({', '.join(map(repr, case))})"
        try:
            got = student(*case)
        except NotImplementedError:
            raise CheckFailed(f"{call} raised NotImplementedError: the function is not "
                              "written yet.") from None
        except Exception as exc:  # the student's bug, reported rather than re-raised
            raise CheckFailed(f"{call} raised {type(exc).__name__}: {exc}") from exc
        expected = float(reference(*case))
        swapped = None
        if swap and len(case) >= 2:
            swapped = float(reference(case[1], case[0], *case[2:]))
        compare_value(got, expected, what=call, unit=unit, rtol=rtol, atol=atol,
                      swapped=swapped)
    if not quiet:
        print(f"{name} agrees with the reference on {len(cases)} cases.")


# --- Public checks of particular exercises -------------------------------------------------


def _discrete_uniform_kl(m: int, n: int) -> float:
    """D(U{1..m} || U{1..n}) from :func:`klbook.kl_divergence`, on a common support."""
    size = max(m, n)
    p = np.zeros(size)
    q = np.zeros(size)
    p[:m] = 1 / m
    q[:n] = 1 / n
    return float(kl_divergence(p, q))


def check_kl_uniform(kl_uniform: Callable[[float, float], float]) -> None:
    """Public check of exercise ``ex-def-support``: ``kl_uniform(a, b)``.

    The divergence :math:`D(U[0,a] \\,\\|\\, U[0,b])` has the same value as the
    divergence of the discrete uniform distributions on :math:`\\{1..a\\}` and
    :math:`\\{1..b\\}` when `a` and `b` are whole numbers; the check compares
    `kl_uniform` with that, computed by :func:`klbook.kl_divergence`.

    Raises
    ------
    CheckFailed
        With the first failing case and the likely mistake.

    Examples
    --------
    A function that returns the same number for every pair is caught at the
    first case:

    >>> check_kl_uniform(lambda a, b: 1.0)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: <lambda>(2, 5): expected 0.916290731874 nats, got 1.
    """
    cases = [(2, 5), (1, 8), (3, 3), (4, 7), (5, 2)]
    compare_function(kl_uniform, _discrete_uniform_kl, cases, unit="nats")


def check_coin_bits(value: Any) -> None:
    """Public check of exercise ``ex-def-bits``: D((1/4, 3/4) || (1/2, 1/2)) in bits.

    Compares `value` (a number or a SymPy expression) with
    :func:`klbook.kl_divergence` in base 2.

    Raises
    ------
    CheckFailed
        If `value` is not the divergence in bits, naming the likely mistake.

    Examples
    --------
    The divergence in nats is not the answer:

    >>> check_coin_bits(0.1308)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: D(P || Q) in bits: expected 0.188721875541 bits, got 0.1308.
    """
    p, q = [0.25, 0.75], [0.5, 0.5]
    compare_value(value, float(kl_divergence(p, q, base=2)), what="D(P || Q) in bits",
                  unit="bits", rtol=1e-12, swapped=float(kl_divergence(q, p, base=2)))
    print("The value is the divergence in bits.")
