"""Public checks of the exercises of chapter 8, *Computing KL in floating point*.

Each check runs the student's answer against :mod:`klbook` (or, for the exactness
of a floating-point difference, against Knuth's error-free two-sum; for the
conditioning of the logits exercise, against mpmath at 50 digits) and raises
:class:`klbook.exercises.CheckFailed` with a message naming the likely mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from klbook.continuous import kl_bernoulli
from klbook.exercises import CheckFailed, call_answer, compare_function, compare_value
from klbook.logits import softmax_cross_entropy, softmax_kl_divergence

__all__ = [
    "check_difference_is_exact",
    "check_sterbenz_counterexample",
    "check_bernoulli_leading",
    "check_kl_bernoulli",
    "check_kl_from_logits",
    "check_logits_condition",
    "check_logits_forward_error",
    "LOGITS_LABELS",
    "LOGITS_Z",
]


# --- Sterbenz's lemma -------------------------------------------------------------------------


def _rounding_error_of_difference(a: float, b: float) -> float:
    """The exact error (a - b) - fl(a - b), by Knuth's two-sum (no branch, no rational).

    Exact in binary floating point with round-to-nearest, provided nothing overflows.
    """
    s = a - b
    b_virtual = s - a
    a_virtual = s - b_virtual
    return (a - a_virtual) + (-b - b_virtual)


def _float_repr(value: float) -> str:
    exponent = math.frexp(value)[1] - 1
    # ldexp is exact by construction; 2.0 ** exponent goes through the C library's pow,
    # and this check should not depend on how a platform's pow treats 2^-1074.
    if value == math.ldexp(1.0, exponent) and abs(exponent) > 10:
        return f"2.0**{exponent}"
    return repr(value)


def check_difference_is_exact(difference_is_exact: Callable[[float, float], Any]) -> None:
    """Public check of exercise ``ex-num-sterbenz``: ``difference_is_exact(a, b)``.

    The function must return True exactly when the computed difference
    ``a - b`` of two finite doubles equals their exact difference. The reference
    is Knuth's two-sum, which recovers the rounding error of ``a - b`` exactly.

    Raises
    ------
    CheckFailed
        At the first pair where the answer is wrong or not a bool, naming the
        likely cause: Sterbenz's condition tested in place of exactness (it is
        sufficient, not necessary), or a round trip ``(a - b) + b == a``, which
        rounding can satisfy.

    Examples
    --------
    >>> check_difference_is_exact(lambda a, b: b / 2 <= a <= 2 * b)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: difference_is_exact(3.0, 1.0) returned False, but 3.0 - 1.0 = 2.0 is exact. The condition b/2 <= a <= 2b is sufficient for an exact difference, not necessary: compare the rounded difference with the exact one (fractions.Fraction).
    """
    pairs = [(1.0, 0.75), (1.0, 2.0 ** -60), (3.0, 1.0), (0.1, 0.3), (1e300, 1e-300),
             (5e-324, 1.5e-323), (2.0 ** 60 + 2.0 ** 8, 1.0), (0.7, 0.3), (-2.5, 1.0)]
    for a, b in pairs:
        what = f"difference_is_exact({_float_repr(a)}, {_float_repr(b)})"
        got = call_answer(difference_is_exact, what, a, b)
        if not isinstance(got, (bool, np.bool_)):
            raise CheckFailed(f"{what}: expected True or False, got {got!r}.")
        exact = _rounding_error_of_difference(a, b) == 0
        if bool(got) == exact:
            continue
        if exact:
            hint = ""
            if not (b / 2 <= a <= 2 * b):
                hint = (" The condition b/2 <= a <= 2b is sufficient for an exact difference, "
                        "not necessary: compare the rounded difference with the exact one "
                        "(fractions.Fraction).")
            raise CheckFailed(f"{what} returned False, but {a!r} - {b!r} = {a - b!r} is "
                              f"exact.{hint}")
        hint = ""
        if (a - b) + b == a:
            hint = (" Here (a - b) + b == a although a - b was rounded: adding b back rounds "
                    "again. Compare exact rational values (fractions.Fraction).")
        raise CheckFailed(f"{what} returned True, but the exact difference is not a double: "
                          f"a - b rounds it by {_rounding_error_of_difference(a, b)!r}.{hint}")
    print(f"difference_is_exact is right on {len(pairs)} pairs.")


def check_sterbenz_counterexample(a: Any, b: Any) -> None:
    """Public check of exercise ``ex-num-sterbenz``: a pair with ``a > 2b > 0``, ``a - b`` inexact.

    Raises
    ------
    CheckFailed
        If `a` or `b` is not a double, the pair is not outside Sterbenz's
        condition as asked, or its difference is exact.

    Examples
    --------
    >>> check_sterbenz_counterexample(3.0, 1.0)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: 3.0 - 1.0 = 2.0 is exact: the condition a > 2b does not make a difference inexact, it only stops guaranteeing exactness. Take b far smaller than a, so that a - b needs more than 53 significant bits.
    """
    for name, value in (("sterbenz_a", a), ("sterbenz_b", b)):
        if value is None or value is Ellipsis:
            raise CheckFailed(f"{name}: got {value!r}. The answer is not written yet.")
        if not isinstance(value, (float, np.float64)):
            raise CheckFailed(f"{name}: expected a double (a Python float), got {value!r} "
                              f"of type {type(value).__name__}.")
        if not math.isfinite(value):
            raise CheckFailed(f"{name}: expected a finite number, got {value!r}.")
    a, b = float(a), float(b)
    if not b > 0:
        raise CheckFailed(f"sterbenz_b = {b!r}: the exercise asks for b > 0.")
    if not a > 2 * b:
        raise CheckFailed(f"the pair ({a!r}, {b!r}) has a <= 2b: inside Sterbenz's condition "
                          "its difference is exact by the lemma. The exercise asks for a > 2b.")
    if Fraction(a - b) == Fraction(a) - Fraction(b):
        raise CheckFailed(f"{a!r} - {b!r} = {a - b!r} is exact: the condition a > 2b does not "
                          "make a difference inexact, it only stops guaranteeing exactness. "
                          "Take b far smaller than a, so that a - b needs more than 53 "
                          "significant bits.")
    print(f"a > 2b > 0 and a - b is rounded (by {float(Fraction(a) - Fraction(b) - Fraction(a - b))!r}).")


# --- The Bernoulli divergence near equality -----------------------------------------------------


def check_bernoulli_leading(bernoulli_leading: Any) -> None:
    """Public check of exercise ``ex-num-bernoulli``: the leading term of ``D`` in ``epsilon``.

    `bernoulli_leading` is a SymPy expression in the positive symbols ``a`` and
    ``epsilon``: the term of order :math:`\\epsilon^2` of
    :math:`D(\\mathrm{Bern}(a) \\,\\|\\, \\mathrm{Bern}(a(1 + \\epsilon)))`. It is
    compared with :math:`a\\epsilon^2 / (2(1 - a))`.

    Raises
    ------
    CheckFailed
        If it is not that expression, naming a missing factor 1/2 and the
        success term alone.

    Examples
    --------
    >>> import sympy as sp
    >>> a, eps = sp.symbols("a epsilon", positive=True)
    >>> check_bernoulli_leading(a * eps**2 / 2)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: bernoulli_leading is a*epsilon**2/2, the contribution of the outcome 1 alone: the outcome 0 adds a**2 epsilon**2 / (2 (1 - a)).
    """
    import sympy as sp

    if bernoulli_leading is None or bernoulli_leading is Ellipsis:
        raise CheckFailed(f"bernoulli_leading: got {bernoulli_leading!r}. The answer is not "
                          "written yet.")
    try:
        expr = sp.sympify(bernoulli_leading)
    except (sp.SympifyError, TypeError):
        raise CheckFailed("bernoulli_leading: expected a SymPy expression, got "
                          f"{type(bernoulli_leading).__name__}.") from None
    a, eps = sp.symbols("a epsilon", positive=True)
    by_name = {"a": a, "epsilon": eps}
    unknown = sorted(str(s) for s in expr.free_symbols if s.name not in by_name)
    if unknown:
        raise CheckFailed(f"bernoulli_leading uses the symbols {unknown}; write it in `a` and "
                          "`epsilon` (sp.symbols('a epsilon', positive=True)).")
    expr = expr.xreplace({s: by_name[s.name] for s in expr.free_symbols})
    want = a * eps ** 2 / (2 * (1 - a))
    if sp.simplify(expr - want) == 0:
        print("bernoulli_leading is a epsilon^2 / (2 (1 - a)).")
        return
    if sp.simplify(expr - 2 * want) == 0:
        hint = "twice the leading term: phi(1 + x) = x^2/2 + O(x^3), with a factor 1/2."
    elif sp.simplify(expr - a * eps ** 2 / 2) == 0:
        hint = ("the contribution of the outcome 1 alone: the outcome 0 adds "
                "a**2 epsilon**2 / (2 (1 - a)).")
    else:
        hint = f"not a*epsilon**2/(2*(1 - a)); the difference is {sp.simplify(expr - want)}."
    raise CheckFailed(f"bernoulli_leading is {expr}, {hint}")


def _kl_bernoulli_reference(a: float, b: float) -> float:
    return float(kl_bernoulli(a, b))


def check_kl_bernoulli(kl_bernoulli_accurate: Callable[[float, float], Any]) -> None:
    """Public check of exercise ``ex-num-bernoulli``: ``kl_bernoulli_accurate(a, b)``.

    The function must return :math:`D(\\mathrm{Bern}(a) \\,\\|\\, \\mathrm{Bern}(b))` in
    nats to a relative ``1e-12``, also when ``b`` is within a relative ``1e-7``
    of ``a``, where the textbook formula has no correct digit; ``inf`` where
    the divergence is infinite. The reference is :func:`klbook.kl_bernoulli`.

    Raises
    ------
    CheckFailed
        At the first failing case, naming the likely mistake (cancellation near
        ``a = b``, swapped arguments, base, a missing infinity, NaN from
        ``0 log 0``).

    Examples
    --------
    >>> import klbook
    >>> check_kl_bernoulli(lambda a, b: klbook.kl_bernoulli(b, a))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: <lambda>(0.3, 0.30000003): expected 2.14285705897e-15 nats, got 2.14285709979e-15. It equals the answer with the two arguments exchanged: you computed D(Q || P) instead of D(P || Q). The divergence is not symmetric.
    """
    near = [(0.3, 0.30000003), (1e-10, 1.000001e-10), (0.999, 0.999 - 1e-12)]
    name = getattr(kl_bernoulli_accurate, "__name__", "your function")
    for a, b in near:
        what = f"{name}({a!r}, {b!r})"
        got = call_answer(kl_bernoulli_accurate, what, a, b)
        expected = _kl_bernoulli_reference(a, b)
        try:
            compare_value(got, expected, what=what, rtol=1e-12, atol=0,
                          swapped=_kl_bernoulli_reference(b, a))
        except CheckFailed as failure:
            try:
                value = float(got)
            except (TypeError, ValueError):
                raise failure from None
            if math.isfinite(value) and not ("exchanged" in str(failure) or "right answer in"
                                             in str(failure)):
                raise CheckFailed(
                    f"{what} is off by a relative {abs(value - expected) / expected:.2g}: near "
                    "a = b the terms a log(a/b) and (1 - a) log((1 - a)/(1 - b)) cancel. Write "
                    "the divergence as a sum of non-negative terms p phi(q/p) with exact "
                    "offsets b - a and a - b, and phi(1 + x) = -log1pmx(x).") from None
            raise failure from None
    # Away from a = b: the conventions at 0 and 1, infinities, argument order.
    far = [(0.4, 0.5), (0.1, 0.9), (0.75, 0.25), (0.0, 0.5), (1.0, 0.25), (0.5, 0.0),
           (0.3, 1.0), (0.3, 0.3)]
    compare_function(kl_bernoulli_accurate, _kl_bernoulli_reference, far, rtol=1e-12,
                     quiet=True)
    print(f"{name} agrees with klbook.kl_bernoulli on {len(far) + len(near)} cases, "
          f"{len(near)} of them near a = b.")


# --- KL from logits ---------------------------------------------------------------------------


def check_kl_from_logits(kl_from_logits: Callable[[np.ndarray, np.ndarray], Any]) -> None:
    """Public check of exercise ``ex-num-logits``: ``kl_from_logits(y, z)``.

    The function must return :math:`D(y \\,\\|\\, \\operatorname{softmax}(z))` in
    nats for a distribution `y` (zeros allowed) and finite logits `z`, however
    large, to a relative ``1e-12`` on pairs far from equality. The reference
    is :func:`klbook.softmax_kl_divergence`.

    Raises
    ------
    CheckFailed
        At the first failing case, naming the likely mistake: overflow of
        ``exp``, NaN from ``0 log 0``, the cross-entropy returned in place of
        the divergence, a logarithm in the wrong base.

    Examples
    --------
    >>> import numpy as np
    >>> def naive(y, z):
    ...     q = np.exp(z) / np.exp(z).sum()
    ...     return np.sum(y * np.log(y / q))
    >>> check_kl_from_logits(naive)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: kl_from_logits(y=[0.5, 0.5, 0.0], z=[800.0, 0.0, -800.0]) returned nan. If y has a zero entry, the convention 0 log 0 = 0 has to be applied explicitly (sum over y > 0 only); if the logits are large, exp(z) overflows: subtract the largest logit first (log-sum-exp).
    """
    cases = [([0.2, 0.3, 0.5], [1.0, 2.0, 3.0]), ([0.5, 0.5, 0.0], [800.0, 0.0, -800.0]),
             ([1.0, 0.0, 0.0], [0.0, 1000.0, -1000.0]), ([0.1, 0.6, 0.3], [-5.0, 0.5, 2.0]),
             ([0.25, 0.25, 0.25, 0.25], [3.0, 3.0, 3.0, 2.0])]
    for y_list, z_list in cases:
        y, z = np.array(y_list), np.array(z_list)
        what = f"kl_from_logits(y={y_list}, z={z_list})"
        with np.errstate(all="ignore"):
            got = call_answer(kl_from_logits, what, y.copy(), z.copy())
        expected = float(softmax_kl_divergence(y, z))
        try:
            value = float(got)
        except (TypeError, ValueError):
            raise CheckFailed(f"{what}: expected a real number, got {got!r}.") from None
        if math.isnan(value):
            raise CheckFailed(f"{what} returned nan. If y has a zero entry, the convention "
                              "0 log 0 = 0 has to be applied explicitly (sum over y > 0 only); "
                              "if the logits are large, exp(z) overflows: subtract the largest "
                              "logit first (log-sum-exp).")
        if math.isinf(value):
            raise CheckFailed(f"{what} returned {value}, but the divergence is finite "
                              f"({expected:.12g}): a softmax is never 0. exp(z) overflowed or "
                              "underflowed: work with log softmax(z) = z - LSE(z).")
        cross = float(softmax_cross_entropy(y, z))
        if cross != expected and abs(value - cross) <= 1e-12 * abs(cross):
            raise CheckFailed(f"{what}: expected {expected:.12g} nats, got {value:.12g}, the "
                              "cross-entropy H(y, q). The divergence subtracts the entropy of "
                              "y: sum y_j (log y_j - log q_j).")
        compare_value(value, expected, what=what, rtol=1e-12, atol=1e-15)
    print(f"kl_from_logits agrees with klbook.softmax_kl_divergence on {len(cases)} cases.")


# --- KL from logits: the problem's conditioning and the algorithm's error ---------------------

#: The labels of exercise ``ex-num-logits``: 1/3 each, rounded to doubles (they sum to 1 only
#: up to rounding; the references normalise them exactly).
LOGITS_LABELS = (1 / 3, 1 / 3, 1 / 3)
#: Its logits: 1000, 1000 and the double nearest to 1000 - 1e-6.
LOGITS_Z = (1000.0, 1000.0, 1000.0 - 1e-6)


def _logits_reference() -> dict[str, mpmath.mpf]:
    """The divergence of the exercise's pair and its condition numbers, at 50 digits.

    ``kappa_z``: for relative perturbations of the logits; ``kappa_w``: of the differences
    ``z_j - max z``; ``kappa_y``: of the labels (renormalised), all from the exact doubles.
    """
    with mpmath.workdps(50):
        y = [mpmath.mpf(v) for v in LOGITS_LABELS]
        total = mpmath.fsum(y)
        y = [v / total for v in y]
        z = [mpmath.mpf(v) for v in LOGITS_Z]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in z))
        q = [mpmath.exp(v - lse) for v in z]
        d = mpmath.fsum(a * (mpmath.log(a) - (v - lse)) for a, v in zip(y, z))
        top = max(z)
        return {
            "D": d,
            "kappa_z": mpmath.fsum(abs(v) * abs(b - a) for v, a, b in zip(z, y, q)) / d,
            "kappa_w": mpmath.fsum(abs(v - top) * abs(b - a) for v, a, b in zip(z, y, q)) / d,
            "kappa_y": mpmath.fsum(a * abs(mpmath.log(a / b) - d) for a, b in zip(y, q)) / d,
        }


def _real_or_none(value: Any) -> float | None:
    """`value` as a float if it is a real number (not a bool, a stub or anything else)."""
    if value is None or value is Ellipsis or isinstance(value, (bool, np.bool_, str, bytes)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def check_logits_condition(logits_condition: Any) -> None:
    """Public check of exercise ``ex-num-logits``: the condition number ``logits_condition``.

    It is the relative condition number of :math:`D(y \\,\\|\\, \\operatorname{softmax}(z))`
    for componentwise relative perturbations of the logits,
    :math:`\\kappa_z = \\sum_j |z_j|\\,|q_j - y_j| / D`, at the exercise's pair
    (:data:`LOGITS_LABELS`, :data:`LOGITS_Z`), to a relative ``1e-6``. The
    reference is computed by mpmath at 50 digits from the exact doubles.

    Raises
    ------
    CheckFailed
        If it differs, naming the likely mistake: the condition number for the
        differences ``z_j - max z`` or for the labels in place of the logits'
        one, a missing division by ``D``, or its reciprocal.

    Examples
    --------
    >>> check_logits_condition(2.0)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: logits_condition: expected 3999999785.88, got 2. That is the condition number for relative perturbations of the differences z_j - max z, which D depends on (it is invariant under a common shift); the exercise asks for perturbations of the logits themselves, weighted by |z_j|.
    """
    reference = _logits_reference()
    kappa = float(reference["kappa_z"])
    what = "logits_condition"
    value = _real_or_none(logits_condition)
    if value is None:  # a stub or not a number: the generic messages
        compare_value(logits_condition, kappa, what=what)
        raise CheckFailed(f"{what}: expected a finite real number, got {logits_condition!r}.")
    if not math.isclose(value, kappa, rel_tol=1e-6):
        hints = [
            (float(reference["kappa_w"]), "That is the condition number for relative "
             "perturbations of the differences z_j - max z, which D depends on (it is "
             "invariant under a common shift); the exercise asks for perturbations of the "
             "logits themselves, weighted by |z_j|."),
            (float(reference["kappa_y"]), "That is the condition number for relative "
             "perturbations of the labels y; the exercise asks for the logits z."),
            (float(reference["kappa_z"] * reference["D"]), "The sum sum_j |z_j| |q_j - y_j| "
             "must still be divided by D: the condition number is relative."),
            (1 / kappa, "That is the reciprocal of the condition number."),
        ]
        hint = next((h for wrong, h in hints if math.isclose(value, wrong, rel_tol=1e-6)),
                    "It is sum_j |z_j| |q_j - y_j| / D, with q = softmax(z) and D from mpmath.")
        raise CheckFailed(f"{what}: expected {kappa:.12g}, got {value:.12g}. {hint}")
    print(f"logits_condition is kappa_z = {kappa:.1e}: logits perturbed by a relative "
          f"u = 2^-53 move D by a relative {kappa * 2.0**-53:.1e} at most (to first order).")


def check_logits_forward_error(logits_forward_error: Any,
                               kl_from_logits: Callable[[np.ndarray, np.ndarray], Any]) -> None:
    """Public check of exercise ``ex-num-logits``: ``logits_forward_error``.

    It is the relative error :math:`|\\hat D - D| / D` of ``kl_from_logits`` at the
    exercise's pair, against the divergence of the exact doubles (labels
    normalised exactly; not normalising them moves the reference by a relative
    5e-4 only), to a relative ``1e-2``. The value depends on the student's
    function (and, in its last digits, on the platform's ``log``); this check
    computes it from the same function.

    Raises
    ------
    CheckFailed
        If it differs, naming the likely mistake: an absolute error in place
        of the relative one, or the error of another function.

    Examples
    --------
    >>> def zero(y, z):  # returns 0: a relative error of exactly 1
    ...     return 0.0
    >>> check_logits_forward_error(0.5, zero)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: logits_forward_error: expected 1 (the relative error of kl_from_logits at the exercise's pair), got 0.5. Compute abs(kl_from_logits(y, z) - D) / D with D from mpmath, from the same y and z.
    """
    reference = _logits_reference()
    y, z = np.array(LOGITS_LABELS), np.array(LOGITS_Z)
    got = call_answer(kl_from_logits, "kl_from_logits(y, z)", y.copy(), z.copy())
    try:
        computed = float(got)
    except (TypeError, ValueError):
        raise CheckFailed(f"kl_from_logits(y, z): expected a real number, got {got!r}.") from None
    if not math.isfinite(computed):
        raise CheckFailed(f"kl_from_logits(y, z) returned {computed}: check_kl_from_logits "
                          "names the likely cause.")
    with mpmath.workdps(50):
        d = reference["D"]
        expected = float(abs(mpmath.mpf(computed) - d) / d)
        absolute = float(abs(mpmath.mpf(computed) - d))
    what = "logits_forward_error"
    value = _real_or_none(logits_forward_error)
    if value is None:  # a stub or not a number: the generic messages
        compare_value(logits_forward_error, expected, what=what)
        raise CheckFailed(f"{what}: expected a finite real number, got {logits_forward_error!r}.")
    if not math.isclose(value, expected, rel_tol=1e-2, abs_tol=1e-15):
        if math.isclose(value, absolute, rel_tol=1e-2):
            hint = "That is the absolute error; the forward error here is relative: divide by D."
        else:
            hint = ("Compute abs(kl_from_logits(y, z) - D) / D with D from mpmath, from the "
                    "same y and z.")
        raise CheckFailed(f"{what}: expected {expected:.3g} (the relative error of "
                          f"kl_from_logits at the exercise's pair), got {value:.3g}. {hint}")
    kappa_u = float(reference["kappa_z"]) * 2.0**-53
    size = "above 0.1: no correct digit" if expected > 0.1 else "below 0.1"
    print(f"logits_forward_error is the relative error of kl_from_logits here, {size}; "
          f"kappa_z u = {kappa_u:.1e}.")
