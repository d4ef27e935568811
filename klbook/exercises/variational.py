"""Public checks of the exercises of chapter 7, *KL divergence in variational inference*.

Each check runs the student's answer against :mod:`klbook` and raises
:class:`klbook.exercises.CheckFailed` with a message naming the likely mistake.
The model of the chapter is the normal mean with a normal prior,
:math:`z \\sim \\mathcal N(0, \\tau^2)`, :math:`x_i \\mid z \\sim \\mathcal N(z, \\sigma^2)`,
with the variational family :math:`q = \\mathcal N(m, s^2)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from klbook.continuous import kl_mvnormal, kl_normal
from klbook.exercises import CheckFailed, call_answer, compare_value

__all__ = [
    "check_elbo_normal_mean",
    "check_fit_normal_mean",
    "check_vae_term",
    "check_mean_field_fit",
]


# --- The normal-mean model ------------------------------------------------------------------


def _posterior(x_obs: np.ndarray, tau: float, sigma: float) -> tuple[float, float]:
    """Mean and standard deviation of the exact posterior of z."""
    precision = 1 / tau ** 2 + x_obs.size / sigma ** 2
    return float(x_obs.sum() / sigma ** 2 / precision), float(precision ** -0.5)


def _log_evidence(x_obs: np.ndarray, tau: float, sigma: float) -> float:
    """log p(x): the data are jointly normal with covariance sigma^2 I + tau^2 11^T.

    Its determinant is sigma^(2(n-1)) (sigma^2 + n tau^2), and by Sherman-Morrison
    x^T Sigma^-1 x = (T - tau^2 S^2 / (sigma^2 + n tau^2)) / sigma^2 with S, T the sum
    of the data and of their squares.
    """
    n = x_obs.size
    total, squares = float(x_obs.sum()), float(np.sum(x_obs ** 2))
    spread = sigma ** 2 + n * tau ** 2
    log_det = 2 * (n - 1) * math.log(sigma) + math.log(spread)
    quadratic = (squares - tau ** 2 * total ** 2 / spread) / sigma ** 2
    return -0.5 * (n * math.log(2 * math.pi) + log_det + quadratic)


def _reference_elbo(x_obs: np.ndarray, m: float, s: float, tau: float, sigma: float) -> float:
    """ELBO(q) = log p(x) - D(q || p(. | x)), the evidence decomposition of the chapter."""
    post_mean, post_sd = _posterior(x_obs, tau, sigma)
    return _log_evidence(x_obs, tau, sigma) - float(kl_normal(m, s, post_mean, post_sd))


def _expected_log_likelihood(x_obs, m, s, sigma, *, with_variance=True):
    n = x_obs.size
    spread = np.sum((x_obs - m) ** 2) + (n * s ** 2 if with_variance else 0.0)
    return float(-n / 2 * np.log(2 * np.pi * sigma ** 2) - spread / (2 * sigma ** 2))


def _data_sets() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.normal(1.0, 1.5, n) for n in (1, 10, 100)]


def _not_written(what: str, got: Any) -> None:
    if got is None or got is Ellipsis:
        raise CheckFailed(f"{what}: got {got!r}. The answer is not written yet, or a `return` "
                          "statement is missing.")


#: The accuracy a fit of ``ex-vi-precision`` must reach. A student's fit by BFGS without a
#: gradient uses forward differences with step h of about sqrt(eps) = 1.5e-8 (times
#: max(1, |w|)), whose gradient errs by about eps |f| / h + h |f''| / 2; for 100
#: observations |f| is about 200, an error of about 3e-6 in the derivative in log s, and
#: the curvature of -ELBO in log s is 2 at the optimum, so s is off by a relative 1.5e-6,
#: more or less according to the last bits of the platform's log and sums (1.2e-6 to 1.7e-6
#: with the objective moved by one ulp, 4e-6 by four). 1e-5 accepts every such fit; the
#: mistakes the check names are off by far more (a variance for s, log s, the mean without
#: the prior's shrinkage: 0.5 % at least).
FIT_RTOL = 1e-5


def _near(got: float, value: float, rtol: float) -> bool:
    return math.isfinite(got) and abs(got - value) <= rtol * max(abs(value), 1.0)


def check_elbo_normal_mean(elbo_normal_mean: Callable[..., Any]) -> None:
    """Public check of exercise ``ex-vi-precision``: ``elbo_normal_mean(x_obs, m, s, tau, sigma)``.

    The reference is the evidence decomposition of the chapter,
    :math:`\\mathrm{ELBO}(q) = \\log p(x) - D(q \\,\\|\\, p(\\cdot \\mid x))`, with the
    evidence of the jointly normal data and :func:`klbook.kl_normal` for the
    divergence of q from the exact posterior: a route independent of the closed form
    the exercise asks for.

    Raises
    ------
    CheckFailed
        With the first failing case and the likely mistake: the variance term
        :math:`n s^2` of :math:`\\mathbb E_q[(x_i - z)^2]` left out, the divergence
        to the prior taken the wrong way round or with the wrong sign, the
        negative ELBO returned, a logarithm in the wrong base.

    Examples
    --------
    >>> check_elbo_normal_mean(lambda x_obs, m, s, tau, sigma: 0.0)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: elbo_normal_mean(x_obs with n = 1, m=0.0, s=1.0, tau=2.0, sigma=1.5): expected -2.08781612519 nats, got 0.
    """
    cases = [(0.0, 1.0, 2.0, 1.5), (0.8, 0.3, 2.0, 1.5), (-2.0, 3.0, 1.0, 0.5)]
    count = 0
    for x_obs in _data_sets():
        for m, s, tau, sigma in cases:
            what = (f"elbo_normal_mean(x_obs with n = {x_obs.size}, m={m}, s={s}, tau={tau}, "
                    f"sigma={sigma})")
            got = call_answer(elbo_normal_mean, what, x_obs.copy(), m, s, tau, sigma)
            expected = _reference_elbo(x_obs, m, s, tau, sigma)
            try:
                compare_value(got, expected, what=what, rtol=1e-9, atol=1e-9)
            except CheckFailed as failure:
                value = float(got) if np.ndim(got) == 0 else math.nan
                ell = _expected_log_likelihood(x_obs, m, s, sigma)
                mistakes = [
                    (_expected_log_likelihood(x_obs, m, s, sigma, with_variance=False)
                     - float(kl_normal(m, s, 0.0, tau)),
                     "It leaves out the spread of q: E_q[(x_i - z)^2] = (x_i - m)^2 + s^2, "
                     "so the expected log-likelihood has a term -n s^2 / (2 sigma^2)."),
                    (ell - float(kl_normal(0.0, tau, m, s)),
                     "It subtracts D(prior || q): the divergence in the ELBO is "
                     "D(q || prior), with q first."),
                    (ell + float(kl_normal(m, s, 0.0, tau)),
                     "It adds the divergence of q from the prior: ELBO = E_q[log p(x | z)] - "
                     "D(q || prior)."),
                    (-expected, "It is minus the ELBO: return the ELBO itself, and minimise "
                     "its negative when fitting."),
                ]
                for wrong, hint in mistakes:
                    if _near(value, wrong, 1e-9):
                        raise CheckFailed(f"{what}: expected {expected:.12g} nats, got "
                                          f"{value:.12g}. {hint}") from None
                raise failure from None
            count += 1
    print(f"elbo_normal_mean agrees with log p(x) - D(q || posterior) on {count} cases.")


def check_fit_normal_mean(fit_normal_mean: Callable[..., Any]) -> None:
    """Public check of exercise ``ex-vi-precision``: ``fit_normal_mean(x_obs, tau, sigma)``.

    The fitted ``(m, s)`` must be the exact posterior mean and standard
    deviation, to a relative ``1e-5`` (:data:`FIT_RTOL`; absolute for a mean below 1),
    for data sets of 1, 10 and 100 observations with :math:`\\tau = 2`,
    :math:`\\sigma = 1.5`.

    Raises
    ------
    CheckFailed
        If the result is not a pair of numbers or is not the posterior, naming a
        variance or a log standard deviation returned in place of `s`.

    Examples
    --------
    >>> check_fit_normal_mean(lambda x_obs, tau, sigma: (0.0, tau))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: fit_normal_mean(x_obs with n = 1, tau=2.0, sigma=1.5): the mean m is 0, but the posterior mean is 0.641180947223.
    """
    tau, sigma = 2.0, 1.5
    data_sets = _data_sets()
    for x_obs in data_sets:
        what = f"fit_normal_mean(x_obs with n = {x_obs.size}, tau={tau}, sigma={sigma})"
        got = call_answer(fit_normal_mean, what, x_obs.copy(), tau, sigma)
        try:
            m, s = (float(v) for v in got)
        except (TypeError, ValueError):
            raise CheckFailed(f"{what}: expected a pair (m, s) of numbers, got {got!r}.") from None
        post_mean, post_sd = _posterior(x_obs, tau, sigma)
        if not abs(m - post_mean) <= FIT_RTOL * max(abs(post_mean), 1.0):
            raise CheckFailed(f"{what}: the mean m is {m:.12g}, but the posterior mean is "
                              f"{post_mean:.12g}.")
        if not abs(s - post_sd) <= FIT_RTOL * post_sd:
            hint = ""
            if abs(s - post_sd ** 2) <= FIT_RTOL * post_sd ** 2:
                hint = " It is the variance s^2: return the standard deviation s."
            elif abs(s - math.log(post_sd)) <= FIT_RTOL:
                hint = (" It is log s, the parameter the optimiser works with: return "
                        "np.exp of it.")
            raise CheckFailed(f"{what}: s is {s:.12g}, but the posterior standard deviation "
                              f"is {post_sd:.12g}.{hint}")
    print(f"fit_normal_mean recovers the exact posterior on {len(data_sets)} data sets.")


# --- The VAE term in the log-variance -------------------------------------------------------


def _symbols():
    import sympy as sp

    return sp.Symbol("mu", real=True), sp.Symbol("ell", real=True)


def _in_check_symbols(value: Any, what: str):
    """`value` as a SymPy object written in this module's symbols mu and ell."""
    import sympy as sp

    _not_written(what, value)
    try:
        expr = sp.sympify(value)
    except (sp.SympifyError, TypeError):
        raise CheckFailed(f"{what}: expected a SymPy expression, got {type(value).__name__}.") \
            from None
    mu, ell = _symbols()
    by_name = {"mu": mu, "ell": ell}
    free = getattr(expr, "free_symbols", set())
    unknown = sorted(str(s) for s in free if s.name not in by_name)
    if unknown:
        raise CheckFailed(f"{what} uses the symbols {unknown}; write it in the symbols `mu` "
                          "and `ell` (sp.symbols('mu ell', real=True)).")
    return expr.xreplace({s: by_name[s.name] for s in free})


def _is_zero(expr) -> bool:
    import sympy as sp

    if isinstance(expr, sp.MatrixBase):
        return all(sp.simplify(entry) == 0 for entry in expr)
    return sp.simplify(expr) == 0


def check_vae_term(vae_term: Any, vae_gradient: Any, vae_hessian: Any,
                   vae_stationary: Any) -> None:
    """Public check of exercise ``ex-vi-vae-gradient``.

    The four answers are SymPy objects in the real symbols ``mu`` and ``ell``
    (the log-variance): the one-dimensional VAE term
    :math:`D(\\mathcal N(\\mu, e^\\ell) \\,\\|\\, \\mathcal N(0, 1))`, its gradient
    ``[d/dmu, d/dell]``, its 2 x 2 Hessian and the list of its stationary
    points as returned by ``sp.solve(..., dict=True)``. The term is checked
    against :func:`klbook.kl_normal` at a few points, the derivatives against
    SymPy's derivatives of the correct term.

    Raises
    ------
    CheckFailed
        At the first answer that is off, naming a missing factor 1/2, the
        log standard deviation used in place of the log-variance, or the
        derivatives in the wrong order.

    Examples
    --------
    >>> import sympy as sp
    >>> mu, ell = sp.symbols("mu ell", real=True)
    >>> check_vae_term(mu**2 + sp.exp(ell) - 1 - ell, None, None, None)
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: vae_term at mu = 0.5, ell = 0: expected 0.125 nats, got 0.25. The term is twice the divergence: the factor 1/2 is missing.
    """
    import sympy as sp

    mu, ell = _symbols()
    term = _in_check_symbols(vae_term, "vae_term")
    for mu_value, ell_value in [(0.5, 0.0), (-1.2, 0.7), (0.3, -2.0)]:
        what = f"vae_term at mu = {mu_value:g}, ell = {ell_value:g}"
        expected = float(kl_normal(mu_value, math.exp(ell_value / 2), 0.0, 1.0))
        got = term.subs({mu: mu_value, ell: ell_value})
        got_value = complex(sp.N(got))
        if not _near(got_value.real, expected, 1e-12) and got_value.imag == 0:
            value = got_value.real
            if _near(value, 2 * expected, 1e-12):
                raise CheckFailed(f"{what}: expected {expected:.12g} nats, got {value:.12g}. "
                                  "The term is twice the divergence: the factor 1/2 is missing.")
            as_log_sd = float(kl_normal(mu_value, math.exp(ell_value), 0.0, 1.0))
            if _near(value, as_log_sd, 1e-12):
                raise CheckFailed(f"{what}: expected {expected:.12g} nats, got {value:.12g}. "
                                  "It treats ell as log sigma; ell is the log-variance, "
                                  "sigma^2 = exp(ell).")
        compare_value(got, expected, what=what, rtol=1e-12)
    reference = (mu ** 2 + sp.exp(ell) - 1 - ell) / 2
    want_gradient = [sp.diff(reference, v) for v in (mu, ell)]
    _not_written("vae_gradient", vae_gradient)
    try:
        gradient = [_in_check_symbols(g, "vae_gradient") for g in vae_gradient]
    except TypeError:
        raise CheckFailed("vae_gradient: expected a list [d/dmu, d/dell] of two expressions.") \
            from None
    if len(gradient) != 2:
        raise CheckFailed(f"vae_gradient: expected two partial derivatives, got {len(gradient)}.")
    if not all(_is_zero(g - w) for g, w in zip(gradient, want_gradient)):
        if all(_is_zero(g - w) for g, w in zip(gradient, want_gradient[::-1])):
            raise CheckFailed("vae_gradient: the two derivatives are in the wrong order: "
                              "the first is d/dmu, the second d/dell.")
        raise CheckFailed(f"vae_gradient: expected {want_gradient}, got {gradient}.")
    _not_written("vae_hessian", vae_hessian)
    try:
        hessian = sp.Matrix(vae_hessian)
    except (TypeError, ValueError, sp.SympifyError):
        raise CheckFailed("vae_hessian: expected a 2 x 2 SymPy matrix.") from None
    hessian = _in_check_symbols(hessian, "vae_hessian")
    if hessian.shape != (2, 2):
        raise CheckFailed(f"vae_hessian: expected a 2 x 2 matrix, got shape {hessian.shape}.")
    want_hessian = sp.hessian(reference, (mu, ell))
    if not _is_zero(hessian - want_hessian):
        raise CheckFailed(f"vae_hessian: expected {want_hessian.tolist()}, got "
                          f"{hessian.tolist()}.")
    _not_written("vae_stationary", vae_stationary)
    points = [vae_stationary] if isinstance(vae_stationary, dict) else vae_stationary
    try:
        points = [{str(k): sp.sympify(v) for k, v in point.items()} for point in points]
    except (AttributeError, TypeError, sp.SympifyError):
        raise CheckFailed("vae_stationary: expected the list of solutions of sp.solve(..., "
                          f"dict=True), got {vae_stationary!r}.") from None
    if points != [{"mu": 0, "ell": 0}]:
        raise CheckFailed(f"vae_stationary: expected exactly one stationary point, mu = 0 and "
                          f"ell = 0, got {vae_stationary!r}.")
    print("vae_term, its gradient, Hessian and stationary point are right.")


# --- Mean-field fits to a correlated normal -------------------------------------------------


def check_mean_field_fit(mean_field_fit: Callable[[float, str], Any]) -> None:
    """Public check of exercise ``ex-vi-forward-fit``: ``mean_field_fit(rho, direction)``.

    The answer is a pair ``(variances, divergence)``: the two variances of the
    factorised normal ``q = N(0, diag(v1, v2))`` closest to the posterior
    ``p = N(0, [[1, rho], [rho, 1]])`` in the given direction
    (``"reverse"``: :math:`D(q \\,\\|\\, p)`; ``"forward"``: :math:`D(p \\,\\|\\, q)`),
    and the divergence it achieves, in nats: the variances to a relative
    ``1e-4`` (the divergence is flat near its minimum, so an optimiser pins
    them down less well than the value), the divergence to ``1e-9``. The
    references are the known optima, :math:`v_i = 1 - \\rho^2` (reverse) and
    :math:`v_i = 1` (forward), which the chapter derives with SymPy, with the
    divergence there computed by :func:`klbook.kl_mvnormal`.

    Raises
    ------
    CheckFailed
        At the first case that is off, naming exchanged directions and
        log-variances returned as variances.

    Examples
    --------
    >>> check_mean_field_fit(lambda rho, direction: ([1.0, 1.0], 0.0))
    Traceback (most recent call last):
    ...
    klbook.exercises.CheckFailed: mean_field_fit(0.5, 'reverse'): the variances are [1. 1.], expected [0.75 0.75]. These are the forward fit's: 'reverse' minimises D(q || p), with q first.
    """
    cases = [(0.5, "reverse"), (0.5, "forward"), (0.99, "reverse"), (0.99, "forward")]
    for rho, direction in cases:
        what = f"mean_field_fit({rho}, {direction!r})"
        got = call_answer(mean_field_fit, what, rho, direction)
        try:
            variances, divergence = got
            variances = np.asarray(variances, dtype=float)
        except (TypeError, ValueError):
            raise CheckFailed(f"{what}: expected a pair (variances, divergence), got "
                              f"{got!r}.") from None
        if variances.shape != (2,):
            raise CheckFailed(f"{what}: expected two variances, got an array of shape "
                              f"{variances.shape}.")
        cov = np.array([[1.0, rho], [rho, 1.0]])
        optimum = {"reverse": np.full(2, 1 - rho ** 2), "forward": np.ones(2)}
        want = optimum[direction]
        if not np.allclose(variances, want, rtol=1e-4, atol=0):
            other = optimum["forward" if direction == "reverse" else "reverse"]
            hint = ""
            if np.allclose(variances, other, rtol=1e-4, atol=0):
                first = "q" if direction == "reverse" else "p"
                hint = (f" These are the {'forward' if direction == 'reverse' else 'reverse'} "
                        f"fit's: {direction!r} minimises D({first} || "
                        f"{'p' if first == 'q' else 'q'}), with {first} first.")
            elif np.allclose(np.exp(variances), want, rtol=1e-4, atol=0):
                hint = " These are the log-variances: return np.exp of them."
            raise CheckFailed(f"{what}: the variances are {variances.round(6)}, expected "
                              f"{want.round(6)}.{hint}")
        zero = np.zeros(2)
        expected = (kl_mvnormal(zero, np.diag(want), zero, cov) if direction == "reverse"
                    else kl_mvnormal(zero, cov, zero, np.diag(want)))
        compare_value(divergence, float(expected), what=f"{what}: the divergence", rtol=1e-9)
    print(f"mean_field_fit finds the optimum in both directions on {len(cases)} cases.")
