"""Public checks of the exercises of chapter 4, *Entropy, cross-entropy and KL*.

Each check compares the student's answer with :mod:`klbook` (entropy,
cross-entropy, divergence, the softmax loss) or, for a proof, checks that a
:class:`klbook.derivation.Derivation` chain proves the statement asked for; it
raises :class:`klbook.exercises.CheckFailed` with a message naming the likely
mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from klbook.discrete import cross_entropy, entropy, kl_divergence
from klbook.exercises import CheckFailed, _as_real, check_derivation, compare_value
from klbook.logits import softmax_cross_entropy

__all__ = ["check_bits_decomposition", "check_shift_chain", "check_label_smoothing"]

#: The distributions of exercise ``ex-ce-bits``.
BITS_P, BITS_Q = (0.5, 0.25, 0.25), (0.25, 0.25, 0.5)


def check_bits_decomposition(H_ex: Any, CE_ex: Any, D_ex: Any) -> None:
    """Public check of exercise ``ex-ce-bits``: :math:`H(P)`, :math:`H(P, Q)`, :math:`D(P \\| Q)` in bits.

    For :math:`P = (\\tfrac12, \\tfrac14, \\tfrac14)` and
    :math:`Q = (\\tfrac14, \\tfrac14, \\tfrac12)`, each value (a number or an
    exact SymPy expression) is compared with :func:`klbook.entropy`,
    :func:`klbook.cross_entropy` and :func:`klbook.kl_divergence` in base 2.
    (Exchanging this P and Q changes none of the three values, so there is no
    swap to diagnose.)

    Raises
    ------
    CheckFailed
        At the first value that differs, naming the likely mistake.

    Examples
    --------
    The entropy without its minus sign:

    >>> check_bits_decomposition(-1.5, 1.75, 0.25)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: H_ex = H(P) in bits: expected 1.5 bits, got -1.5. The entropy is -sum p log p: the minus sign is missing (every log p is <= 0).
    """
    expected_h = float(entropy(BITS_P, base=2))
    value = _as_real(H_ex)
    if value is not None and expected_h != 0 and math.isclose(value, -expected_h, rel_tol=1e-9):
        raise CheckFailed(f"H_ex = H(P) in bits: expected {expected_h:.12g} bits, got "
                          f"{value:.12g}. The entropy is -sum p log p: the minus sign is "
                          "missing (every log p is <= 0).")
    compare_value(H_ex, expected_h, what="H_ex = H(P) in bits", unit="bits")
    compare_value(CE_ex, float(cross_entropy(BITS_P, BITS_Q, base=2)),
                  what="CE_ex = H(P, Q) in bits", unit="bits")
    compare_value(D_ex, float(kl_divergence(BITS_P, BITS_Q, base=2)),
                  what="D_ex = D(P || Q) in bits", unit="bits")
    print("H(P), H(P, Q) and D(P || Q) are right, in bits.")


def check_shift_chain(chain: Any) -> None:
    """Public check of exercise ``ex-ce-shift``: the loss does not see a common shift.

    With the chapter's symbols (indices ``i``, ``j``, a symbolic number of
    classes ``n``, labels ``y[i] > 0``, real logits ``z[i]`` and a real shift
    ``c``), the chain must prove the equality

    .. math:: \\log\\sum_j e^{z_j + c} - \\sum_i y_i (z_i + c)
              = \\log\\sum_j e^{z_j} - \\sum_i y_i z_i

    under no hypothesis but :math:`\\sum_i y_i = 1` (``assume``-d in the
    chain's ``given``). The chain is verified again from its premises.

    Raises
    ------
    CheckFailed
        If `chain` is not a finished chain proving this equality.

    Examples
    --------
    >>> check_shift_chain(...)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: shift_chain: got Ellipsis. The chain is not written yet: build it with Derivation(start).equals(...), .less_equal(...) or .greater_equal(...).
    """
    i, j = sp.Symbol("i", integer=True), sp.Symbol("j", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    y, z = sp.IndexedBase("y", positive=True), sp.IndexedBase("z", real=True)
    c = sp.Symbol("c", real=True)
    start = (sp.log(sp.Sum(sp.exp(z[j] + c), (j, 1, n)))
             - sp.Sum(y[i] * (z[i] + c), (i, 1, n)))
    end = sp.log(sp.Sum(sp.exp(z[j]), (j, 1, n))) - sp.Sum(y[i] * z[i], (i, 1, n))
    labels_sum_to_one = sp.Eq(sp.Sum(y[i], (i, 1, n)), 1)
    try:
        check_derivation(chain, start=start, end=end, relation="=", what="shift_chain",
                         hypotheses=[labels_sum_to_one])
    except CheckFailed as failure:
        message = str(failure)
        if "ends at" in message:
            message += (" Factor e^c out of the sum (log of a product), and use the hypothesis "
                        "sum_i y_i = 1 (given=[assume(Eq(total(y[i]), 1))]) so that the two c "
                        "cancel.")
        raise CheckFailed(message) from None


def _smoothed_label(k: int, epsilon: float, c: int) -> np.ndarray:
    label = np.full(k, epsilon / k)
    label[c] += 1 - epsilon
    return label


def check_label_smoothing(smoothing_floor: Callable[[int, float], Any],
                          floor_logits: Callable[[int, float, int], Any]) -> None:
    """Public check of exercise ``ex-ce-smoothing``: the loss floor of a smoothed label.

    ``smoothing_floor(k, epsilon)`` must return the smallest value, over all
    logits, of the softmax cross-entropy (nats) of the label
    :math:`y = (1 - \\varepsilon) e_c + \\varepsilon / k`; it is compared with
    :func:`klbook.entropy` of the label. ``floor_logits(k, epsilon, c)`` must
    return logits (length `k`) that attain it, with `c` the class index counted
    from 0; their loss is computed with :func:`klbook.softmax_cross_entropy`.

    Raises
    ------
    CheckFailed
        At the first case that differs, naming the likely mistake.

    Examples
    --------
    A one-hot label has zero loss floor, but a smoothed one does not:

    >>> check_label_smoothing(lambda k, epsilon: 0.0, lambda k, epsilon, c: [0.0] * k)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: smoothing_floor(5, 0.1): expected 0.389672920658 nats, got 0. The floor is the entropy H(y) of the smoothed label, which is positive when epsilon > 0.
    """
    for role, fn in (("smoothing_floor", smoothing_floor), ("floor_logits", floor_logits)):
        if fn is None or fn is Ellipsis:
            raise CheckFailed(f"{role}: got {fn!r}. The function is not written yet.")
        if not callable(fn):
            raise CheckFailed(f"{role} should be a function, got {type(fn).__name__}.")
    cases = [(5, 0.1, 2), (2, 0.5, 0), (10, 0.01, 9), (3, 0.0, 1), (4, 1.0, 3)]
    for k, epsilon, c in cases:
        call = f"smoothing_floor({k}, {epsilon})"
        expected = float(entropy(_smoothed_label(k, epsilon, c)))
        try:
            got = smoothing_floor(k, epsilon)
        except Exception as exc:  # the student's bug, reported rather than re-raised
            raise CheckFailed(f"{call} raised {type(exc).__name__}: {exc}") from exc
        value = _as_real(got)
        if value == 0 and expected > 0:
            raise CheckFailed(f"{call}: expected {expected:.12g} nats, got 0. The floor is the "
                              "entropy H(y) of the smoothed label, which is positive when "
                              "epsilon > 0.")
        compare_value(got, expected, what=call, unit="nats")
    for k, epsilon, c in cases[:3] + cases[4:]:
        call = f"floor_logits({k}, {epsilon}, {c})"
        label = _smoothed_label(k, epsilon, c)
        try:
            logits = np.asarray(floor_logits(k, epsilon, c), dtype=float)
        except Exception as exc:  # the student's bug, reported rather than re-raised
            raise CheckFailed(f"{call} raised {type(exc).__name__}: {exc}") from exc
        if logits.shape != (k,):
            raise CheckFailed(f"{call} returned shape {logits.shape}, expected ({k},): one "
                              "logit per class.")
        if not np.isfinite(logits).all():
            raise CheckFailed(f"{call} returned {logits}: every logit must be finite (log y "
                              "is finite, since each class keeps at least epsilon / k).")
        loss = float(softmax_cross_entropy(label, logits))
        if not math.isclose(loss, float(entropy(label)), rel_tol=1e-9, abs_tol=1e-12):
            raise CheckFailed(f"{call}: the loss of these logits is {loss:.12g} nats, above the "
                              f"floor {float(entropy(label)):.12g}. The loss is H(y) + "
                              "D(y || softmax(z)): it is smallest where softmax(z) = y, that is "
                              "z = log y + any constant.")
    print("smoothing_floor and floor_logits are right on "
          f"{len(cases)} and {len(cases) - 1} cases.")
