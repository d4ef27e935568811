"""Public checks of the exercises of chapter 1, *The definition*.

Each check runs the student's answer against :mod:`klbook` and raises
:class:`klbook.exercises.CheckFailed` with a message naming the likely mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from klbook.discrete import kl_divergence
from klbook.exercises import compare_function, compare_value

__all__ = ["check_kl_uniform", "check_coin_bits"]



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
