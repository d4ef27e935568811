"""Public checks of the exercises of chapter 6, *KL divergence between densities*.

Each check runs the student's answer against :mod:`klbook` (or, for a checked
proof, against the statement to prove) and raises
:class:`klbook.exercises.CheckFailed` with a message naming the likely mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from klbook.continuous import kl_gamma, kl_normal
from klbook.exercises import CheckFailed, call_answer, check_derivation, compare_value

__all__ = [
    "normal_symbols",
    "check_equal_variance",
    "check_asymmetry",
    "check_exponential_gamma_value",
    "check_kl_exponential_gamma",
    "check_finite_when",
    "check_mean_square_ratio",
]


def normal_symbols() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol, sp.Symbol, sp.Symbol]:
    """The chapter's symbols for two normals: ``mu1, mu2, sigma1, sigma2`` and a common ``s``.

    Means are real, standard deviations positive, as in the chapter.

    Examples
    --------
    >>> normal_symbols()
    (mu1, mu2, sigma1, sigma2, s)
    """
    mu1, mu2 = sp.symbols("mu1 mu2", real=True)
    sigma1, sigma2, s = sp.symbols("sigma1 sigma2 s", positive=True)
    return mu1, mu2, sigma1, sigma2, s


def _normal_kl(m1: sp.Expr, s1: sp.Expr, m2: sp.Expr, s2: sp.Expr) -> sp.Expr:
    """D(N(m1, s1^2) || N(m2, s2^2)), the first form of the chapter's theorem."""
    return sp.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - sp.Rational(1, 2)


def check_equal_variance(chain: Any) -> None:
    """Public check of ``ex-cont-equal-variance``, the proof: the chain ``equal_var``.

    The chain must start at :math:`D(\\mathcal N(\\mu_1, s^2)\\,\\|\\,\\mathcal N(\\mu_2, s^2))`
    and end, by equalities, at
    :math:`D(\\mathcal N(\\mu_2, s^2)\\,\\|\\,\\mathcal N(\\mu_1, s^2))`, in the
    symbols of :func:`normal_symbols`, each side in any form SymPy can
    simplify to the closed form of the chapter's theorem. The statement holds
    for all real means and every :math:`s > 0`, so the chain may assume
    nothing (no ``assume(...)`` in its ``given``).

    Raises
    ------
    CheckFailed
        If `chain` is not a :class:`klbook.derivation.Derivation` proving that
        equality without a hypothesis, saying which part is off.

    Examples
    --------
    >>> check_equal_variance(None)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: equal_var: got None. The chain is not written yet: build it with Derivation(start).equals(...), .less_equal(...) or .greater_equal(...).
    """
    mu1, mu2, _, _, s = normal_symbols()
    check_derivation(chain, start=_normal_kl(mu1, s, mu2, s), end=_normal_kl(mu2, s, mu1, s),
                     relation="=", what="equal_var", hypotheses=())


#: Parameter points (mu1, sigma1, mu2, sigma2) at which expressions are compared.
_NORMAL_POINTS = [(0.3, 1.7, -1.1, 0.6), (2.0, 0.5, 1.0, 2.5), (-0.4, 1.2, 0.9, 1.3)]


def _evaluate(expression: Any, values: dict[str, float]) -> float:
    """`expression` at the given values of its free symbols, matched by name."""
    names = {symbol.name for symbol in expression.free_symbols}
    unknown = names - set(values)
    if unknown:
        raise CheckFailed(f"the expression has symbols {sorted(unknown)} that are not among "
                          f"{sorted(values)}: use the chapter's mu1, mu2, sigma1, sigma2.")
    substitution = {symbol: values[symbol.name] for symbol in expression.free_symbols}
    return float(sp.N(expression.subs(substitution), 30))


def check_asymmetry(asymmetry: Any) -> None:
    """Public check of ``ex-cont-equal-variance``, the second part: ``asymmetry``.

    `asymmetry` must be a SymPy expression in ``mu1, mu2, sigma1, sigma2`` for
    :math:`D(P\\,\\|\\,Q) - D(Q\\,\\|\\,P)` with
    :math:`P = \\mathcal N(\\mu_1, \\sigma_1^2)` and
    :math:`Q = \\mathcal N(\\mu_2, \\sigma_2^2)`. It is compared with
    :func:`klbook.kl_normal` at a few parameter points.

    Raises
    ------
    CheckFailed
        If it is not such an expression, is identically zero, or has the
        wrong sign or value.

    Examples
    --------
    >>> check_asymmetry(sp.Integer(0))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: asymmetry is identically 0, but with different variances the two directions differ: at mu1=0.3, sigma1=1.7, mu2=-1.1, sigma2=0.6 they are 5.19465723628 and 0.942837957873 nats.
    """
    if asymmetry is None or asymmetry is Ellipsis:
        raise CheckFailed(f"asymmetry: got {asymmetry!r}. The answer is not written yet.")
    if not isinstance(asymmetry, sp.Expr):
        raise CheckFailed(f"asymmetry: expected a SymPy expression in mu1, mu2, sigma1, "
                          f"sigma2, got {type(asymmetry).__name__}.")
    for m1, s1, m2, s2 in _NORMAL_POINTS:
        where = f"mu1={m1}, sigma1={s1}, mu2={m2}, sigma2={s2}"
        forward, backward = float(kl_normal(m1, s1, m2, s2)), float(kl_normal(m2, s2, m1, s1))
        if not asymmetry.free_symbols and asymmetry.is_zero:
            raise CheckFailed(f"asymmetry is identically 0, but with different variances the "
                              f"two directions differ: at {where} they are {forward:.12g} and "
                              f"{backward:.12g} nats.")
        got = _evaluate(asymmetry, {"mu1": m1, "sigma1": s1, "mu2": m2, "sigma2": s2})
        compare_value(got, forward - backward, what=f"asymmetry at {where}", rtol=1e-10,
                      swapped=backward - forward)
    print(f"asymmetry agrees with klbook.kl_normal at {len(_NORMAL_POINTS)} points.")


def check_exponential_gamma_value(value: Any) -> None:
    """Public check of ``ex-cont-gamma-exponential``: the value of D(Exp(1) || Gamma(2, 1)).

    Compares `value` (a number or a SymPy expression) with
    :func:`klbook.kl_gamma` ``(1, 1, 2, 1)``.

    Raises
    ------
    CheckFailed
        If `value` is not the divergence in nats, naming the likely mistake.

    Examples
    --------
    >>> check_exponential_gamma_value(sp.EulerGamma)
    The value is D(Exp(1) || Gamma(2, 1)) in nats.
    """
    compare_value(value, float(kl_gamma(1.0, 1.0, 2.0, 1.0)), what="D(Exp(1) || Gamma(2, 1))",
                  rtol=1e-12, swapped=float(kl_gamma(2.0, 1.0, 1.0, 1.0)))
    print("The value is D(Exp(1) || Gamma(2, 1)) in nats.")


def _as_float(got: Any, call: str) -> float:
    """`got` as a float, or a CheckFailed for the stub and for non-numbers."""
    if got is None or got is Ellipsis:
        compare_value(got, 0.0, what=call)      # raises the "not written yet" message
    try:
        arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{call}: expected a real number, got {got!r}.") from None
    if arr.ndim != 0:
        raise CheckFailed(f"{call}: expected one number for scalar arguments, got an array "
                          f"of shape {arr.shape}.")
    return float(arr)


def check_kl_exponential_gamma(kl_exponential_gamma: Callable[..., Any]) -> None:
    """Public check of ``ex-cont-gamma-exponential``: ``kl_exponential_gamma(rate, shape, gamma_rate)``.

    The function must return
    :math:`D(\\mathrm{Exp}(\\lambda)\\,\\|\\,\\Gamma(\\alpha, \\beta))` in nats,
    with :math:`\\Gamma(\\alpha, \\beta)` given by shape and *rate*. The
    reference is :func:`klbook.kl_gamma` with the exponential as the gamma of
    shape 1; the check also runs it on arrays.

    Raises
    ------
    CheckFailed
        With the first failing case and the likely mistake (the divergence the
        other way round, the rate taken for a scale, a wrong log base, a
        non-vectorised function).

    Examples
    --------
    The divergence between two exponentials is right only for shape 1:

    >>> import klbook
    >>> check_kl_exponential_gamma(lambda rate, shape, beta: klbook.kl_exponential(rate, beta))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: kl_exponential_gamma(1.0, 2.0, 1.0): expected 0.577215664902 nats, got 0.
    """
    cases = [(1.0, 2.0, 1.0), (1.5, 1.0, 0.5), (0.5, 3.0, 2.0), (2.0, 0.5, 4.0), (3.0, 2.5, 0.7)]
    name = getattr(kl_exponential_gamma, "__name__", "kl_exponential_gamma")
    if name == "<lambda>":
        name = "kl_exponential_gamma"
    for rate, shape, gamma_rate in cases:
        call = f"{name}({rate}, {shape}, {gamma_rate})"
        got = _as_float(call_answer(kl_exponential_gamma, call, rate, shape, gamma_rate), call)
        expected = float(kl_gamma(1.0, rate, shape, gamma_rate))
        as_scale = float(kl_gamma(1.0, rate, shape, 1.0 / gamma_rate))
        if not math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12) and not math.isclose(
                as_scale, expected, rel_tol=1e-6) and math.isclose(got, as_scale, rel_tol=1e-9):
            raise CheckFailed(f"{call}: expected {expected:.12g} nats, got {got:.12g}, the "
                              "divergence with gamma_rate taken as a scale. Gamma(shape, rate) "
                              "has density rate^shape x^(shape-1) exp(-rate x) / Gamma(shape).")
        compare_value(got, expected, what=call, rtol=1e-9,
                      swapped=float(kl_gamma(shape, gamma_rate, 1.0, rate)))
    rates = np.array([0.5, 1.0, 2.0])
    call = f"{name}(array([0.5, 1, 2]), 2.0, 1.0)"
    vectorise = ("Use numpy functions (np.log, scipy.special.gammaln), not those of math, "
                 "so that arrays work.")
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.asarray(kl_exponential_gamma(rates, 2.0, 1.0), dtype=float)
    except Exception as exc:  # typically math.log on an array
        raise CheckFailed(f"{call} raised {type(exc).__name__}: {exc}. {vectorise}") from exc
    if values.shape != rates.shape:
        raise CheckFailed(f"{call}: expected an array of shape {rates.shape}, one value per "
                          f"rate; got shape {values.shape}. {vectorise}")
    expected_values = kl_gamma(1.0, rates, 2.0, 1.0)
    for index, rate in enumerate(rates):
        compare_value(values[index], float(expected_values[index]), what=f"{call}[{index}]",
                      rtol=1e-9)
    print(f"{name} agrees with klbook.kl_gamma on {len(cases)} cases and on an array.")


def check_finite_when(finite_when: Any) -> None:
    """Public check of ``ex-cont-k3-tails``, the condition: the set ``finite_when``.

    `finite_when` must be the SymPy set of standard deviations
    :math:`\\sigma > 0` for which :math:`\\int q^2/p < \\infty`, with
    :math:`P = \\mathcal N(0, 1)` and :math:`Q = \\mathcal N(0, \\sigma^2)`:
    the open interval :math:`(0, \\sqrt 2)`.

    Raises
    ------
    CheckFailed
        If it is another set or not a set, naming the likely mistake.

    Examples
    --------
    >>> check_finite_when(sp.Interval.open(0, sp.sqrt(2)))
    finite_when is the set of sigma with a finite second moment of r.
    >>> check_finite_when(sp.Interval.Lopen(0, sp.sqrt(2)))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: finite_when contains sigma = sqrt(2), where the integrand q^2/p is a positive constant: the integral diverges there. The interval is open at sqrt(2).
    """
    if finite_when is None or finite_when is Ellipsis:
        raise CheckFailed(f"finite_when: got {finite_when!r}. The answer is not written yet.")
    if not isinstance(finite_when, sp.Set):
        raise CheckFailed(f"finite_when: expected a SymPy set, such as sp.Interval.open(a, b), "
                          f"got {type(finite_when).__name__}.")
    root2 = sp.sqrt(2)
    if finite_when.contains(sp.Rational(3, 2)) == sp.true:
        raise CheckFailed("finite_when contains sigma = 3/2 > sqrt(2), where q^2/p grows like "
                          "exp(c x^2) with c = 1/2 - 1/sigma^2 > 0. (Is the bound on sigma^2, "
                          "2, used as a bound on sigma?)")
    if finite_when.contains(root2) == sp.true:
        raise CheckFailed("finite_when contains sigma = sqrt(2), where the integrand q^2/p is a "
                          "positive constant: the integral diverges there. The interval is "
                          "open at sqrt(2).")
    if finite_when.contains(0) == sp.true or finite_when.contains(-1) == sp.true:
        raise CheckFailed("finite_when contains sigma <= 0, which is not a standard deviation: "
                          "intersect with sp.Interval.open(0, sp.oo).")
    if finite_when != sp.Interval.open(0, root2):
        raise CheckFailed(f"finite_when is {finite_when}, expected the sigma in (0, sqrt(2)).")
    print("finite_when is the set of sigma with a finite second moment of r.")


def _mean_square_ratio(sigma: float) -> float:
    """E_P[(q/p)^2] for P = N(0, 1), Q = N(0, sigma^2): 1 / (sigma sqrt(2 - sigma^2)), or inf."""
    return 1.0 / (sigma * math.sqrt(2.0 - sigma ** 2)) if sigma ** 2 < 2.0 else math.inf


def check_mean_square_ratio(mean_square_ratio: Callable[[Any], Any]) -> None:
    """Public check of ``ex-cont-k3-tails``, the function: ``mean_square_ratio(sigma)``.

    The function must return :math:`\\mathbb E_P[r^2] = \\int q^2/p`, with
    :math:`r = q/p`, :math:`P = \\mathcal N(0, 1)` and
    :math:`Q = \\mathcal N(0, \\sigma^2)`: finite for :math:`\\sigma < \\sqrt 2`
    and ``inf`` from :math:`\\sqrt 2` on.

    Raises
    ------
    CheckFailed
        With the first failing value of sigma and the likely mistake.

    Examples
    --------
    The chi-square divergence is the answer minus 1:

    >>> check_mean_square_ratio(lambda sigma: 1 / (sigma * np.sqrt(2 - sigma**2)) - 1)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: mean_square_ratio(1.0): expected 1, got 0. That is E_P[r^2] - 1, the chi-square divergence; the integral of q^2/p is one more.
    """
    cases = [1.0, 0.5, 1.2, 1.4, math.sqrt(2.0), 2.0]
    for sigma in cases:
        call = f"mean_square_ratio({sigma!r})"
        got = _as_float(call_answer(mean_square_ratio, call, sigma), call)
        expected = _mean_square_ratio(sigma)
        if math.isfinite(expected) and math.isclose(got, expected - 1, rel_tol=1e-9, abs_tol=1e-12):
            raise CheckFailed(f"{call}: expected {expected:.12g}, got {got:.12g}. That is "
                              "E_P[r^2] - 1, the chi-square divergence; the integral of q^2/p "
                              "is one more.")
        if math.isinf(expected) and not math.isinf(got):
            raise CheckFailed(f"{call}: expected inf, got {got:.12g}. For sigma >= sqrt(2) the "
                              "integral of q^2/p diverges: return np.inf there.")
        if math.isinf(got) and not math.isinf(expected):
            raise CheckFailed(f"{call}: expected {expected:.12g}, got inf. The integral is "
                              "finite for sigma < sqrt(2).")
        if not (got == expected or math.isclose(got, expected, rel_tol=1e-9)):
            raise CheckFailed(f"{call}: expected {expected:.12g}, got {got:.12g}.")
    print(f"mean_square_ratio agrees with the closed form at {len(cases)} values of sigma.")
