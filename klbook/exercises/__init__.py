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

A proof exercise is answered with a :class:`klbook.derivation.Derivation`
chain, whose every step SymPy verifies as it is built; :func:`check_derivation`
verifies the whole chain again (a chain object can be tampered with after it
was built) and checks that it proves the statement asked for (the right start,
end and relation, under no hypothesis beyond those allowed) and says which part
is off.

This module holds these generic helpers, :func:`compare_value`,
:func:`compare_function` and :func:`check_derivation`, which serve any chapter. The public checks of each
chapter's exercises are in a submodule named after the chapter, e.g.
:mod:`klbook.exercises.definition` for chapter 1. The autograder's hidden tests
(``assignments/``) go beyond these checks.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "CheckFailed",
    "UNITS",
    "compare_value",
    "compare_function",
    "check_derivation",
    "call_answer",
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


def call_answer(student: Any, call: str, *args: Any) -> Any:
    """Call the student's function; turn a stub, a crash or a missing result into a message.

    Parameters
    ----------
    student : callable
        The student's function (or what the student's notebook holds under its
        name: the stub ``...`` of an unanswered exercise).
    call : str
        How to name the call in a message, e.g. ``"kl_uniform(2, 5)"``.
    *args
        The arguments of the call.

    Returns
    -------
    object
        What ``student(*args)`` returns. NumPy's warnings for a division by zero
        or an invalid operation are silenced during the call: the checks report
        the ``inf`` or ``nan`` that results, with its likely cause.

    Raises
    ------
    CheckFailed
        If `student` is not a function, if the call raises (``NotImplementedError``
        is reported as an unwritten function), or if it returns ``None`` or ``...``.

    Examples
    --------
    >>> call_answer(lambda a, b: a / b, "ratio(1, 2)", 1, 2)
    0.5
    >>> call_answer(..., "kl_uniform(2, 5)", 2, 5)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: kl_uniform(2, 5): got Ellipsis instead of a function. The answer is not written yet.
    """
    if student is None or student is Ellipsis:
        raise CheckFailed(f"{call}: got {student!r} instead of a function. The answer is not "
                          "written yet.")
    if not callable(student):
        raise CheckFailed(f"{call}: expected a function, got {type(student).__name__}.")
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            got = student(*args)
    except NotImplementedError:
        raise CheckFailed(f"{call} raised NotImplementedError: the function is not "
                          "written yet.") from None
    except Exception as exc:  # the student's bug, reported rather than re-raised
        raise CheckFailed(f"{call} raised {type(exc).__name__}: {exc}") from exc
    if got is None or got is Ellipsis:
        raise CheckFailed(f"{call}: got {got!r}. The function is not written yet, or a "
                          "`return` statement is missing.")
    return got


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
        got = call_answer(student, call, *case)
        expected = float(reference(*case))
        swapped = None
        if swap and len(case) >= 2:
            swapped = float(reference(case[1], case[0], *case[2:]))
        compare_value(got, expected, what=call, unit=unit, rtol=rtol, atol=atol,
                      swapped=swapped)
    if not quiet:
        print(f"{name} agrees with the reference on {len(cases)} cases.")


_RELATION_WORDS = {"=": "an equality", "<=": "an upper bound (<=)", ">=": "a lower bound (>=)"}


def _same_expression(a: Any, b: Any) -> bool:
    import sympy

    if a == b:
        return True
    try:
        return sympy.simplify(sympy.expand_log((a - b).doit(), force=True)) == 0
    except (TypeError, AttributeError):
        return False


def check_derivation(chain: Any, *, start: Any, end: Any, relation: str,
                     what: str = "the chain", quiet: bool = False,
                     hypotheses: Sequence[Any] | None = None) -> None:
    """Check that a derivation chain proves ``start <relation> end``; explain a mismatch.

    Every step of a :class:`klbook.derivation.Derivation` is verified when it is
    added (a wrong step raises :class:`klbook.derivation.StepError` at once).
    This check verifies the whole chain again from its premises
    (:meth:`~klbook.derivation.Derivation.verify`), so that a chain altered after
    it was built does not pass, and checks that it proves the statement asked
    for, under no hypothesis but those the statement allows.

    Parameters
    ----------
    chain : Derivation
        The student's chain.
    start, end : sympy.Expr
        The two sides of the statement to prove. The chain must start at `start`
        and end at `end`, up to a symbolic simplification.
    relation : {"=", "<=", ">="}
        The relation the statement asserts between `start` and `end`. A chain of
        equalities also proves either bound.
    what : str, optional
        How to name the chain in the message.
    quiet : bool, optional
        If False, print one line when the chain proves the statement.
    hypotheses : sequence of sympy relations, optional
        The hypotheses the statement allows; every ``assume(...)`` of the chain
        must be one of them (a chain that assumes what it should prove proves
        nothing). None allows any.

    Raises
    ------
    CheckFailed
        If `chain` is not a Derivation, has no step, does not verify, assumes a
        hypothesis the statement does not allow, starts or ends elsewhere, or
        proves a different relation.
    ValueError
        If `relation` is not one of ``"="``, ``"<="``, ``">="``.

    Examples
    --------
    >>> import sympy as sp
    >>> from klbook.derivation import Derivation
    >>> x = sp.Symbol("x", positive=True)
    >>> chain = Derivation(sp.log(x**2)).equals(2 * sp.log(x), "log of a power")
    >>> check_derivation(chain, start=sp.log(x**2), end=2 * sp.log(x), relation="=")
    the chain proves the statement in 1 verified step.
    >>> check_derivation(chain, start=sp.log(x**2), end=sp.log(x), relation="=")
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: the chain ends at 2*log(x), but the statement to prove ends at log(x).
    """
    from klbook.derivation import Derivation, StepError

    if relation not in _RELATION_WORDS:
        raise ValueError(f"relation must be one of {sorted(_RELATION_WORDS)}, got {relation!r}")
    if chain is None or chain is Ellipsis:
        raise CheckFailed(f"{what}: got {chain!r}. The chain is not written yet: build it "
                          "with Derivation(start).equals(...), .less_equal(...) or "
                          ".greater_equal(...).")
    if not isinstance(chain, Derivation):
        raise CheckFailed(f"{what}: expected a klbook.derivation.Derivation, got "
                          f"{type(chain).__name__}.")
    if len(chain) == 0:
        raise CheckFailed(f"{what} has no step yet: add steps with .equals(...), "
                          ".less_equal(...) or .greater_equal(...).")
    try:
        chain.verify()
    except StepError as error:
        raise CheckFailed(f"{what} does not verify when it is checked again: {error}") from None
    if hypotheses is not None:
        for hypothesis in chain.hypotheses:
            if not any(_same_expression(hypothesis.relation.lhs - hypothesis.relation.rhs,
                                        h.lhs - h.rhs) and type(hypothesis.relation) is type(h)
                       for h in hypotheses):
                raise CheckFailed(f"{what} assumes {hypothesis.relation}, which the statement "
                                  "does not allow: prove it, or use only the hypotheses given.")
    if not _same_expression(chain.start, start):
        raise CheckFailed(f"{what} starts at {chain.start}, but the statement to prove starts "
                          f"at {start}.")
    if not _same_expression(chain.result, end):
        raise CheckFailed(f"{what} ends at {chain.result}, but the statement to prove ends "
                          f"at {end}.")
    # An equality chain proves both bounds.
    if chain.relation not in ("=", relation):
        raise CheckFailed(f"{what} proves {_RELATION_WORDS[chain.relation]}, but the "
                          f"statement is {_RELATION_WORDS[relation]}.")
    if not quiet:
        steps = len(chain)
        print(f"{what} proves the statement in {steps} verified step{'s' * (steps != 1)}.")
