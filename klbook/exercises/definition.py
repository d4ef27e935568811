"""Public checks of the exercises of chapter 1, *The definition*.

Each check runs the student's answer against :mod:`klbook` and raises
:class:`klbook.exercises.CheckFailed` with a message naming the likely mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from klbook.discrete import kl_divergence
from klbook.exercises import CheckFailed, compare_function, compare_value

__all__ = ["check_kl_uniform", "check_coin_bits", "check_change_base"]


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


def _factor_message(what: str, got: float, expected: float, *, inverted: bool) -> str:
    message = f"{what}: expected {expected:.12g}, got {got:.12g}."
    if inverted:
        message += (" It is the factor inverted: a log to base b is ln(.)/ln b, so a value "
                    "in base b is multiplied by ln b / ln c to give it in base c.")
    return message


def check_change_base(bits_to_hartleys: Any, change_base: Callable[[float, float, float], float]
                      ) -> None:
    """Public check of exercise ``ex-def-units``: the factor between units, and a converter.

    `bits_to_hartleys` must be the exact factor :math:`\\ln 2 / \\ln 10` as a SymPy
    expression; ``change_base(divergence, b, c)`` must turn a divergence computed
    with logarithms to base ``b`` into base ``c``. The references are
    :func:`klbook.kl_divergence` of one pair of distributions in each base.

    Raises
    ------
    CheckFailed
        With the first failing part and the likely mistake (an inverted factor).

    Examples
    --------
    >>> import numpy as np, sympy as sp
    >>> check_change_base(sp.log(10) / sp.log(2), lambda d, b, c: d * np.log(b) / np.log(c))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: bits_to_hartleys: expected 0.301029995664, got 3.32192809489. It is the factor inverted: a log to base b is ln(.)/ln b, so a value in base b is multiplied by ln b / ln c to give it in base c.
    """
    import sympy

    if bits_to_hartleys is None or bits_to_hartleys is Ellipsis:
        raise CheckFailed(f"bits_to_hartleys: got {bits_to_hartleys!r}. The answer is not "
                          "written yet.")
    if not isinstance(bits_to_hartleys, sympy.Basic):
        raise CheckFailed("bits_to_hartleys should be an exact SymPy expression (built with "
                          f"sp.log), got {type(bits_to_hartleys).__name__}.")
    p, q = [0.4, 0.6], [0.5, 0.5]
    in_base = {base: float(kl_divergence(p, q, base=base)) for base in (2, 10, math.e)}
    factor = in_base[10] / in_base[2]
    got = float(sympy.N(bits_to_hartleys, 30))
    if not math.isclose(got, factor, rel_tol=1e-12):
        raise CheckFailed(_factor_message("bits_to_hartleys", got, factor,
                                          inverted=math.isclose(got * factor, 1.0, rel_tol=1e-9)))
    if not callable(change_base):
        raise CheckFailed(f"change_base should be a function, got {change_base!r}.")
    for b, c in [(2, 10), (10, 2), (math.e, 2), (2, math.e)]:
        call = f"change_base({in_base[b]!r}, {b!r}, {c!r})"
        try:
            converted = change_base(in_base[b], b, c)
        except Exception as exc:  # the student's bug, reported rather than re-raised
            raise CheckFailed(f"{call} raised {type(exc).__name__}: {exc}") from exc
        if converted is None or converted is Ellipsis:
            raise CheckFailed(f"{call}: got {converted!r}. The function is not written yet, "
                              "or a `return` statement is missing.")
        value = float(converted)
        if not math.isclose(value, in_base[c], rel_tol=1e-12):
            # Inverted, the factor ln c / ln b gives value / d = d / expected.
            inverted = math.isclose(value * in_base[c], in_base[b] ** 2, rel_tol=1e-9)
            raise CheckFailed(_factor_message(call, value, in_base[c], inverted=inverted))
    print("The factor and change_base are right.")
