"""Public checks of the exercises of chapter 2, *Gibbs' inequality*.

The proofs are answered with :class:`klbook.derivation.Derivation` chains in the
chapter's setting: the support of :math:`P` is numbered :math:`i = 1, \\dots, n`
with a symbolic :math:`n`, :math:`p_i, q_i` are entries of positive indexed
symbols, and the chain may assume (``assume(...)`` in its ``given``) the
chapter's two hypotheses, :math:`\\sum_i p_i = 1` and
:math:`\\sum_i q_i = 1 - r` with :math:`r \\ge 0`, and nothing else. The checks
rebuild those symbols and hypotheses with the same names and assumptions, so
that a chain built in the chapter is compared with the statement SymPy expects,
and verify the chain again from its premises. Each check raises
:class:`klbook.exercises.CheckFailed` with a message naming the likely mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from klbook.discrete import kl_divergence
from klbook.distances import total_variation
from klbook.exercises import CheckFailed, _as_real, call_answer, check_derivation, compare_value

__all__ = [
    "check_cross_entropy_chain",
    "check_chi_square_chain",
    "check_chi_square_divergence",
    "check_pinsker_ratio",
    "check_pinsker_expansion",
]


def _setting() -> tuple[sp.Symbol, sp.IndexedBase, sp.IndexedBase,
                        Callable[[sp.Expr], sp.Expr], list[sp.Basic]]:
    """The chapter's index ``i``, ``p``, ``q``, ``total`` (a sum over i = 1..n) and the
    hypotheses a chain may assume: sum_i p_i = 1 and sum_i q_i = 1 - r, r >= 0."""
    i = sp.Symbol("i", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    p, q = sp.IndexedBase("p", positive=True), sp.IndexedBase("q", positive=True)
    r = sp.Symbol("r", nonnegative=True)

    def total(term: sp.Expr) -> sp.Expr:
        return sp.Sum(term, (i, 1, n))

    return i, p, q, total, [sp.Eq(total(p[i]), 1), sp.Eq(total(q[i]), 1 - r)]


def _assumed_too_much(message: str) -> str:
    """The hint for a chain that assumes a hypothesis the statement does not allow."""
    return message + (" The chapter's setting assumes only sum_i p_i = 1 and "
                      "sum_i q_i = 1 - r: given=setting.")


def check_cross_entropy_chain(chain: Any) -> None:
    """Public check of exercise ``ex-gibbs-cross-entropy``: :math:`H(P, Q) \\ge H(P)`.

    The chain must start at the cross-entropy :math:`-\\sum_i p_i \\ln q_i`, end
    at the entropy :math:`-\\sum_i p_i \\ln p_i`, and prove a lower bound,
    assuming nothing but the chapter's setting; it is verified again from its
    premises.

    Raises
    ------
    CheckFailed
        If `chain` is not a finished chain proving the statement.

    Examples
    --------
    Stopping at the decomposition :math:`H(P) + D(P \\| Q)` proves an equality,
    not yet the bound:

    >>> import sympy as sp
    >>> from klbook.derivation import Derivation
    >>> i, n = sp.Symbol("i", integer=True), sp.Symbol("n", integer=True, positive=True)
    >>> p, q = sp.IndexedBase("p", positive=True), sp.IndexedBase("q", positive=True)
    >>> def total(term):
    ...     return sp.Sum(term, (i, 1, n))
    >>> halfway = Derivation(-total(p[i] * sp.log(q[i]))).equals(
    ...     -total(p[i] * sp.log(p[i])) + total(p[i] * sp.log(p[i] / q[i])), "add and subtract")
    >>> check_cross_entropy_chain(halfway)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: cross_entropy_chain ends at Sum(log(p[i]/q[i])*p[i], (i, 1, n)) - Sum(log(p[i])*p[i], (i, 1, n)), but the statement to prove ends at -Sum(log(p[i])*p[i], (i, 1, n)). The last step cites GIBBS to drop the divergence.
    """
    i, p, q, total, setting = _setting()
    try:
        check_derivation(chain, start=-total(p[i] * sp.log(q[i])),
                         end=-total(p[i] * sp.log(p[i])), relation=">=",
                         what="cross_entropy_chain", hypotheses=setting)
    except CheckFailed as failure:
        message = str(failure)
        if "does not allow" in message:
            message = _assumed_too_much(message)
        elif "ends at" in message:
            message += " The last step cites GIBBS to drop the divergence."
        elif "starts at" in message:
            message += (" The cross-entropy is -sum_i p_i log q_i: P supplies the weights, "
                        "Q sits inside the logarithm, and the minus sign makes it positive.")
        raise CheckFailed(message) from None


def check_chi_square_chain(chain: Any) -> None:
    """Public check of exercise ``ex-gibbs-chi-square``: :math:`D(P \\| Q) \\le \\chi^2(P \\| Q)`.

    The chain must start at :math:`\\sum_i p_i \\ln(p_i / q_i)`, end at
    :math:`\\sum_i p_i^2 / q_i - 1` and prove an upper bound, assuming nothing
    but the chapter's setting; it is verified again from its premises.

    Raises
    ------
    CheckFailed
        If `chain` is not a finished chain proving the statement.

    Examples
    --------
    >>> check_chi_square_chain(...)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: chi_square: got Ellipsis. The chain is not written yet: build it with Derivation(start).equals(...), .less_equal(...) or .greater_equal(...).
    """
    i, p, q, total, setting = _setting()
    try:
        check_derivation(chain, start=total(p[i] * sp.log(p[i] / q[i])),
                         end=total(p[i] ** 2 / q[i]) - 1, relation="<=", what="chi_square",
                         hypotheses=setting)
    except CheckFailed as failure:
        message = str(failure)
        if "does not allow" in message:
            raise CheckFailed(_assumed_too_much(message)) from None
        raise


def _chi_square_reference(p: Any, q: Any) -> np.ndarray:
    """sum_x p^2 / q - 1 along the last axis; inf where q = 0 < p."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    support = p > 0
    with np.errstate(divide="ignore"):
        terms = np.where(support, p ** 2 / np.where(support, q, 1.0), 0.0)
    return np.sum(terms, axis=-1) - 1


def check_chi_square_divergence(chi_square_divergence: Callable[[Any, Any], Any]) -> None:
    """Public check of exercise ``ex-gibbs-chi-square``: the function ``chi_square_divergence(p, q)``.

    It must return :math:`\\chi^2(P \\| Q) = \\sum_x p(x)^2 / q(x) - 1` along the
    last axis of its arguments (one value per row of a 2-D array), and ``inf``
    where :math:`q(x) = 0 < p(x)`.

    Raises
    ------
    CheckFailed
        At the first case that differs, with the likely mistake.

    Examples
    --------
    Forgetting the ``- 1`` is named:

    >>> import numpy as np
    >>> check_chi_square_divergence(lambda p, q: np.sum(np.asarray(p) ** 2 / np.asarray(q), axis=-1))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: <lambda>([0.5, 0.5], [0.25, 0.75]): expected 0.333333333333 nats, got 1.33333333333. It is one too large: the sum of p^2 / q is 1 + chi^2, so subtract 1.
    """
    name = getattr(chi_square_divergence, "__name__", "your function")
    cases = [([0.5, 0.5], [0.25, 0.75]), ([0.25, 0.75], [0.5, 0.5]),
             ([0.2, 0.3, 0.5], [0.5, 0.3, 0.2]), ([0.1, 0.0, 0.9], [0.3, 0.4, 0.3]),
             ([0.6, 0.4, 0.0], [0.6, 0.4, 0.0]), ([0.5, 0.5, 0.0], [1.0, 0.0, 0.0])]
    for p, q in cases:
        call = f"{name}({p!r}, {q!r})"
        got = call_answer(chi_square_divergence, call, np.array(p), np.array(q))
        expected = float(_chi_square_reference(p, q))
        value = _as_real(got)
        if value is not None and math.isnan(value):
            raise CheckFailed(f"{call}: expected {expected:.12g} nats, got nan. A term with "
                              "p(x) = q(x) = 0 gives 0/0 = nan in floating point; outcomes "
                              "with p(x) = 0 contribute nothing and must be left out.")
        if value is not None and math.isfinite(expected) and math.isclose(
                value, expected + 1, rel_tol=1e-9):
            raise CheckFailed(f"{call}: expected {expected:.12g} nats, got {value:.12g}. It is "
                              "one too large: the sum of p^2 / q is 1 + chi^2, so subtract 1.")
        compare_value(got, expected, what=call, unit="nats",
                      swapped=float(_chi_square_reference(q, p)))
    rows_p = np.array([c[0] for c in cases[2:4]])
    rows_q = np.array([c[1] for c in cases[2:4]])
    call = f"{name}(a 2 x 3 array, a 2 x 3 array)"
    got = np.asarray(call_answer(chi_square_divergence, call, rows_p, rows_q), dtype=float)
    if got.shape != (2,):
        raise CheckFailed(f"{call} returned shape {got.shape}, expected (2,): one value per "
                          "row. Sum along the last axis (axis=-1).")
    expected_rows = _chi_square_reference(rows_p, rows_q)
    if not np.allclose(got, expected_rows, rtol=1e-9, atol=1e-12):
        raise CheckFailed(f"{call}: expected {expected_rows}, got {got}. Each row is one pair "
                          "(P, Q): sum along the last axis.")
    print(f"{name} agrees with the reference on {len(cases) + 1} cases.")


def _pinsker_reference(p: float, q: float) -> float:
    P, Q = [p, 1 - p], [q, 1 - q]
    return float(kl_divergence(P, Q) / (2 * total_variation(P, Q) ** 2))


def check_pinsker_ratio(pinsker_ratio: Callable[[Any, Any], Any]) -> None:
    """Public check of exercise ``ex-gibbs-pinsker-constant``: ``pinsker_ratio(p, q)``.

    For :math:`P = (p, 1 - p)` and :math:`Q = (q, 1 - q)` with :math:`p \\ne q`
    the function must return :math:`D(P \\| Q) / (2\\,\\mathrm{TV}(P, Q)^2)`, the
    divergence in nats, elementwise over arrays of `p` and `q` (broadcasting).

    Raises
    ------
    CheckFailed
        At the first case that differs, with the likely mistake.

    Examples
    --------
    Forgetting the factor 1/2 in the total variation distance:

    >>> import numpy as np
    >>> def pinsker_ratio(p, q):
    ...     d = p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))
    ...     return d / (2 * (2 * abs(p - q)) ** 2)
    >>> check_pinsker_ratio(pinsker_ratio)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: pinsker_ratio(0.5, 0.6): expected 1.02054986301 nats, got 0.255137465752. It is a quarter of the answer: TV(P, Q) = (1/2) sum |p - q| = |p - q| for two outcomes.
    """
    name = getattr(pinsker_ratio, "__name__", "your function")
    cases = [(0.5, 0.6), (0.1, 0.4), (0.9, 0.2), (0.3, 0.7), (0.02, 0.03)]
    for p, q in cases:
        call = f"{name}({p!r}, {q!r})"
        got = call_answer(pinsker_ratio, call, p, q)
        expected = _pinsker_reference(p, q)
        value = _as_real(got)
        if value is not None and math.isclose(4 * value, expected, rel_tol=1e-9):
            raise CheckFailed(f"{call}: expected {expected:.12g} nats, got {value:.12g}. It is a "
                              "quarter of the answer: TV(P, Q) = (1/2) sum |p - q| = |p - q| "
                              "for two outcomes.")
        compare_value(got, expected, what=call, unit="nats", swapped=_pinsker_reference(q, p))
    grid = np.array([0.2, 0.5, 0.8])
    call = f"{name}(p[:, None], q[None, :]) on a 3 x 3 grid"
    got = np.asarray(call_answer(pinsker_ratio, call, grid[:, None], grid[None, :] + 0.05),
                     dtype=float)
    expected_grid = np.array([[_pinsker_reference(a, b + 0.05) for b in grid] for a in grid])
    if got.shape != (3, 3):
        raise CheckFailed(f"{call} returned shape {got.shape}, expected (3, 3): compute "
                          "elementwise with numpy, without loops over Python lists.")
    if not np.allclose(got, expected_grid, rtol=1e-9, atol=0):
        raise CheckFailed(f"{call}: expected {expected_grid}, got {got}.")
    print(f"{name} agrees with the reference on {len(cases) + 1} cases.")


def check_pinsker_expansion(D_eps: Any) -> None:
    """Public check of exercise ``ex-gibbs-pinsker-constant``: the expression ``D_eps``.

    ``D_eps`` must be :math:`D\\big((\\tfrac12, \\tfrac12) \\,\\|\\,
    (\\tfrac12 + \\varepsilon, \\tfrac12 - \\varepsilon)\\big)` in nats, a SymPy
    expression in one symbol :math:`\\varepsilon`; it is compared with
    :func:`klbook.kl_divergence` at a few values of :math:`\\varepsilon`.

    Raises
    ------
    CheckFailed
        If `D_eps` is not such an expression, or differs from the divergence.

    Examples
    --------
    >>> import sympy as sp
    >>> eps = sp.Symbol("epsilon", positive=True)
    >>> half = sp.Rational(1, 2)
    >>> check_pinsker_expansion(half * sp.log(half / (half + eps)) + half * sp.log(half / (half - eps)))
    D_eps is the divergence of the two coins.
    """
    if D_eps is None or D_eps is Ellipsis:
        raise CheckFailed(f"D_eps: got {D_eps!r}. The expression is not written yet.")
    if not isinstance(D_eps, sp.Basic):
        raise CheckFailed(f"D_eps: expected a SymPy expression in epsilon, got "
                          f"{type(D_eps).__name__}.")
    symbols = sorted(D_eps.free_symbols, key=str)
    if len(symbols) != 1:
        raise CheckFailed(f"D_eps should depend on one symbol, epsilon; it depends on "
                          f"{symbols or 'none'}.")
    [eps] = symbols
    for value in (0.01, 0.1, 0.3):
        P, Q = [0.5, 0.5], [0.5 + value, 0.5 - value]
        compare_value(D_eps.subs(eps, value), float(kl_divergence(P, Q)),
                      what=f"D_eps at epsilon = {value}", unit="nats",
                      swapped=float(kl_divergence(Q, P)))
    print("D_eps is the divergence of the two coins.")
