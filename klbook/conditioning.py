r"""The condition number of the KL divergence: how much the inputs determine it.

Perturb every entry of :math:`p` and :math:`q` by a relative amount of at most
:math:`\varepsilon` (:math:`\tilde p_i = p_i(1 + \alpha_i)`,
:math:`\tilde q_i = q_i(1 + \beta_i)`, :math:`|\alpha_i|, |\beta_i| \le \varepsilon`).
The perturbed arrays no longer sum to 1, so the problem is taken to be the
divergence of the *normalised* pair,

.. math:: f(p, q) = D\!\left(\frac{p}{S_p} \,\Big\|\, \frac{q}{S_q}\right),
          \qquad S_p = \sum_i p_i,\quad S_q = \sum_i q_i,

which is what :func:`klbook.kl_divergence` computes (with ``normalize=True``, or
for distributions whose totals differ from 1 by rounding). Its relative
condition number for componentwise relative perturbations (Higham, *Accuracy
and Stability of Numerical Algorithms*, 2nd ed., §1.6 and §7.2) is

.. math:: \kappa(p, q) = \lim_{\varepsilon \to 0}\ \sup
          \frac{|f(\tilde p, \tilde q) - f(p, q)|}{\varepsilon\, f(p, q)}
          = \kappa_p + \kappa_q,

.. math:: \kappa_q = \frac{\sum_i |\hat q_i - \hat p_i|}{D}, \qquad
          \kappa_p = \frac{\sum_i \hat p_i\,\bigl|\log(\hat p_i/\hat q_i) - D\bigr|}{D},

with :math:`\hat p = p/S_p`, :math:`\hat q = q/S_q` and :math:`D = f(p, q)`.
Chapter 8 of the book derives it and checks it by finite differences. An
algorithm that returns the exact divergence of inputs perturbed by a relative
:math:`\delta` (a backward error :math:`\delta`) has a relative forward error up
to about :math:`\kappa\delta`. Near-identical pairs have a large
:math:`\kappa`: with :math:`t` the largest relative difference
:math:`|\hat q_i/\hat p_i - 1|`, :math:`t\kappa` tends to
:math:`4\sum_i \hat p_i|x_i| / \sum_i \hat p_i x_i^2 \ge 4` as :math:`t \to 0`
(:math:`x_i = (\hat q_i/\hat p_i - 1)/t`), so :math:`\kappa \gtrsim 4/t`,
with near equality when every entry moves by :math:`\pm t`.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from numpy.typing import ArrayLike, NDArray

from klbook import _validation
from klbook.special import _two_product, log1pmx

__all__ = ["kl_condition_number"]

Result = NDArray[np.float64] | np.float64

_PARTS = ("both", "p", "q")
_TINY = np.finfo(np.float64).tiny
_HUGE = np.finfo(np.float64).max
# Below this divergence the terms, and the entries of the normalised pair that carry
# them, may be subnormal or underflow in double precision: such rows are recomputed
# in mpmath (`_exact_row`). Above it, the terms lost to underflow (each below 2^-960
# of the total) change the result by a relative 2^-50 at most.
_SMALL_DIVERGENCE = 2.0**-900
_SMALL_ENTRY = 2.0**-960


def _scaled_to_one(arr: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """`arr` times the power of two that brings each row's total into [1, 2), and the shift.

    Exact, and the normalised row is unchanged (entries below 2^-1022 of their total may
    lose digits or vanish: their weight is below that). Then no product of an entry
    with a total over- or underflows, unless the entry is that small.
    """
    with np.errstate(over="ignore"):
        total = arr.sum(axis=-1, keepdims=True)
    first = np.zeros(total.shape, dtype=np.int64)
    if not np.all(np.isfinite(total)):  # finite entries whose sum overflows: scale first
        first = np.frexp(arr.max(axis=-1, keepdims=True))[1].astype(np.int64)
        arr = np.ldexp(arr, -first)
        total = arr.sum(axis=-1, keepdims=True)
    shift = np.frexp(total)[1] - 1
    return np.ldexp(arr, -shift), first + shift


def _normalised_pair(p: NDArray[np.float64], q: NDArray[np.float64]):
    """The normalised pair ``p^ = p/Sp``, ``q^ = q/Sq``, as the condition number needs it.

    Returns ``p_hat``, ``difference`` (``Sp' (q^ - p^)`` for the scaled total ``Sp'``),
    the scaled total, ``offset`` (``q^/p^ - 1`` where ``p > 0``) and ``log_ratio``
    (``log(p^/q^)`` where ``p > 0``). The differences come from exact cross products
    ``q * Sp - p * Sq`` (Dekker), so that near-identical pairs keep their digits whatever
    their totals, and nothing is divided by a product that may have underflowed; the
    rounding of the totals is removed by one correction ``eps`` that restores
    ``sum(q^) = 1`` exactly, as in :func:`klbook.kl_divergence`.
    """
    positive = p > 0
    p_scaled, p_shift = _scaled_to_one(p)
    q_scaled, q_shift = _scaled_to_one(q)
    p_sum = p_scaled.sum(axis=-1, keepdims=True)
    q_sum = q_scaled.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        q_hi, q_lo = _two_product(q_scaled, np.broadcast_to(p_sum, q.shape))
        p_hi, p_lo = _two_product(p_scaled, np.broadcast_to(q_sum, p.shape))
        # q s - p with s = Sp/Sq for the totals as rounded; the leading difference is
        # exact when the two products are within a factor of 2 (Sterbenz)
        mass = ((q_hi - p_hi) + (q_lo - p_lo)) / q_sum
        excess = np.sum(mass, axis=-1, keepdims=True)
        eps = -excess / (p_sum + excess)          # (1 + eps) s is the exact ratio of the totals
        difference = mass * (1.0 + eps) + eps * p_scaled
        offset = np.where(positive, difference / p_scaled, 0.0)
        # log(p^/q^): log1p of the accurate offset near 1; far from it, the log of the
        # scaled quotient, which differs from q^/p^ by the factor s' = (1 + eps) s in
        # (1/2, 2), where that quotient is a normal number (a subnormal one has lost
        # digits), else of each entry (then |log(p^/q^)| > 700: nothing cancels much)
        ratio = q_scaled / p_scaled
        log_pq = np.where((ratio >= _TINY) & (ratio <= _HUGE), -np.log(ratio),
                          (np.log(p) - np.log(q)) - (p_shift - q_shift) * np.log(2.0))
        log_s = (np.log(p_sum) - np.log(q_sum)) + np.log1p(eps)
        near = positive & (offset >= -0.5) & (offset <= 1.0)
        log_ratio = np.where(near, -np.log1p(np.where(near, offset, 0.0)), log_pq - log_s)
    return p_scaled / p_sum, q_scaled / q_sum, difference, p_sum, offset, log_ratio


def _exact_row(p: NDArray[np.float64], q: NDArray[np.float64]) -> tuple[float, float]:
    """``(kappa_p, kappa_q)`` of one row from the formula in mpmath, for tiny divergences.

    Used where the divergence is below `_SMALL_DIVERGENCE`, which double precision
    cannot represent to full relative accuracy (it may be subnormal or underflow while
    the condition number is modest). The working precision covers the exponent range
    of the row twice, so that the cross products ``q_i S_p - p_i S_q`` keep their
    leading bits whatever they cancel; ``phi(1 + x)`` gets extra bits where ``x`` is
    small. Slow (one high-precision logarithm per entry), and rarely needed.
    """
    entries = np.concatenate([p[p > 0], q[q > 0]])
    exponents = np.frexp(entries)[1]
    spread = int(exponents.max() - exponents.min()) + 53 + math.ceil(math.log2(p.size)) + 8
    prec = 2 * spread + 64
    with mpmath.workprec(prec):
        P = [mpmath.mpf(float(v)) for v in p]   # exact
        Q = [mpmath.mpf(float(v)) for v in q]
        sp_, sq_ = mpmath.fsum(P), mpmath.fsum(Q)
        scale = sp_ * sq_
        differences = [b * sp_ - a * sq_ for a, b in zip(P, Q)]   # S_p S_q (q^ - p^)
        q_part = mpmath.fsum(abs(c) for c in differences) / scale
        terms, ells = [], []
        for a, c in zip(P, differences):
            if a == 0:
                terms.append(c / scale)
                ells.append(None)
                continue
            x = c / (a * sq_)                              # q^/p^ - 1
            extra = max(0, -2 * int(mpmath.mag(x))) if x else 0
            with mpmath.workprec(prec + extra):
                phi = x - mpmath.log1p(x)
            terms.append(a / sp_ * phi)
            ells.append(-mpmath.log1p(x))
        divergence = mpmath.fsum(terms)
        if divergence == 0:
            return math.inf, math.inf
        p_part = mpmath.fsum(a / sp_ * abs(ell - divergence)
                             for a, ell in zip(P, ells) if ell is not None)
        return float(p_part / divergence), float(q_part / divergence)


def kl_condition_number(p: ArrayLike, q: ArrayLike, *, wrt: str = "both", axis: int = -1,
                        normalize: bool = False) -> Result:
    r"""Relative condition number of :math:`D(P \| Q)` for relative perturbations of the entries.

    The number :math:`\kappa` such that changing every entry of `p` and `q` by
    a relative amount of at most :math:`\varepsilon` changes the divergence of
    the normalised pair by a relative :math:`\kappa\varepsilon` at most, to
    first order in :math:`\varepsilon` (see the module's description for the
    definition and the formula).

    Parameters
    ----------
    p : array_like
        The reference distribution.
    q : array_like
        The approximating distribution; broadcast against `p`.
    wrt : {"both", "p", "q"}, optional
        Which entries are perturbed: all of them (the default, :math:`\kappa_p +
        \kappa_q`), those of `p` only (:math:`\kappa_p`) or those of `q` only
        (:math:`\kappa_q`).
    axis : int, optional
        The axis holding the outcomes. Default: the last.
    normalize : bool, optional
        As for :func:`klbook.kl_divergence`: if False (the default) `p` and `q`
        must each sum to 1 within ``max(1e-9, 2 * n * eps)`` for ``n``
        outcomes, ``eps`` the machine epsilon of the argument's own dtype
        (float32 input is accepted with its own rounding); if True they may
        have any positive totals. In both cases the divergence is that of the normalised pair,
        and so is its condition number.

    Returns
    -------
    float or ndarray
        :math:`\kappa \ge 0`. It is ``inf`` where the divergence is 0 (the
        normalised pair is equal): a relative change of 0 is unbounded. (When
        `p` and `q` are the same point mass no componentwise perturbation
        changes the divergence at all, the ratio is 0/0, and ``inf`` is
        returned as well.)

    Raises
    ------
    TypeError
        If `p` or `q` is not numeric, or `axis` is not an integer.
    ValueError
        If `wrt` is not one of the three names; for the inputs, as for
        :func:`klbook.kl_divergence`; and if ``q = 0`` at an outcome where
        ``p > 0``: the divergence is then infinite, and so is every perturbed
        one, so a relative change is undefined.

    Notes
    -----
    On the simplex, :math:`\hat q_j \partial f/\partial q_j = \hat q_j - \hat
    p_j` and :math:`\hat p_j \partial f/\partial p_j = \hat p_j(\log(\hat
    p_j/\hat q_j) - D)`; the supremum of the linearised change over the box of
    perturbations is the sum of the absolute values. Entries with ``p = 0``
    contribute :math:`\hat q_j` to :math:`\kappa_q` and nothing to
    :math:`\kappa_p` (a relative perturbation of 0 is 0).

    The differences :math:`\hat q_j - \hat p_j` are formed from exact cross
    products, so they keep their digits for near-identical pairs with any
    totals, and :math:`D` is computed from them as a sum of non-negative terms
    :math:`\hat p_j\varphi(\hat q_j/\hat p_j)` (as in
    :func:`klbook.kl_divergence`). The result is within
    ``1e-12 * max(1, kappa)`` of the exact condition number of the given
    floating-point arrays (tested against mpmath, with entries from 1e-300 to
    1e300) whenever :math:`\sum_j |\hat q_j - \hat p_j| \ge 10^{-17}`:
    relatively accurate when :math:`\kappa \ge 1`, absolutely when it is
    smaller. Pairs whose normalised entries differ by less than the rounding of
    their totals (:math:`q` a multiple of :math:`p` up to a few units of the
    last place) give the differences with an absolute error near
    :math:`u^2` only, and a relative error up to about
    ``1e-30 / sum(abs(q^ - p^))``. A divergence below ``2**-900`` (about
    ``1e-271``) may be subnormal or underflow in double precision while
    :math:`\kappa` is modest (``p = [1, 4e-323]``, ``q = [1, 2e-323]``:
    :math:`D \approx 10^{-323}`, :math:`\kappa \approx 12.35`); such rows are
    recomputed from the same formula in mpmath, with a precision that covers
    the row's exponent range, which is slow (a high-precision logarithm per
    entry) but accurate. ``inf`` is returned only where the normalised pair is
    equal.

    Examples
    --------
    >>> from klbook.conditioning import kl_condition_number
    >>> round(float(kl_condition_number([0.5, 0.5], [0.25, 0.75])), 6)
    7.294901

    Entries that differ by a relative ``t`` make :math:`\kappa_q` about
    ``2 / t`` (here ``t = 1e-6``):

    >>> p = [0.5, 0.5]
    >>> q = [0.5 * (1 + 1e-6), 0.5 * (1 - 1e-6)]
    >>> round(float(kl_condition_number(p, q, wrt="q")) * 1e-6, 6)
    2.0
    >>> float(kl_condition_number(p, p))
    inf
    """
    if not isinstance(wrt, str) or wrt not in _PARTS:
        raise ValueError(f"wrt must be one of {_PARTS}, got {wrt!r}")
    p_arr, q_arr = _validation.broadcast_pair(_validation.as_measure(p, "p"),
                                              _validation.as_measure(q, "q"), axis)
    # numpy sums a contiguous last axis pairwise, a strided one (axis=0, Fortran
    # order, broadcasting) one by one: 1e-11 instead of 1e-16 for a million entries
    p_arr, q_arr = np.ascontiguousarray(p_arr), np.ascontiguousarray(q_arr)
    with np.errstate(over="ignore"):  # a total that overflows is scaled below
        for arr, name, value in ((p_arr, "p", p), (q_arr, "q", q)):
            _validation.totals(arr, name, normalize=normalize,
                               dtype=_validation.source_dtype(value))
    positive = p_arr > 0
    if np.any(positive & (q_arr == 0)):
        raise ValueError("q is 0 at an outcome where p is positive: D(p || q) is infinite "
                         "there, and its relative condition number is undefined")
    p_hat, q_hat, difference, p_sum, offset, log_ratio = _normalised_pair(p_arr, q_arr)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        p_log_ratio = np.where(positive, p_hat * log_ratio, 0.0)
        # D as a sum of non-negative terms p^ phi(q^/p^), plus q^ where p = 0
        # (thm-nonnegative-terms of chapter 8): phi from the series near 1, else
        # phi(r) = (r - 1) - log r, whose two parts do not cancel there
        near = positive & (offset >= -0.5) & (offset <= 1.0)
        terms = np.where(near, -p_hat * log1pmx(np.where(near, offset, 0.0)),
                         difference / p_sum + p_log_ratio)
        divergence = np.sum(terms, axis=-1, keepdims=True)
        q_part = np.sum(np.abs(difference) / p_sum, axis=-1)
        p_part = np.sum(np.where(positive, p_hat * np.abs(log_ratio - divergence), 0.0), axis=-1)
        divergence = divergence[..., 0]
        # rows whose divergence is too small for double precision, unless the pair is
        # equal: every difference exactly 0 and no entry so small that it lost digits
        tiny_entry = np.any(((p_arr > 0) & (p_hat < _SMALL_ENTRY))
                            | ((q_arr > 0) & (q_hat < _SMALL_ENTRY)), axis=-1)
        equal = (q_part == 0) & (p_part == 0) & ~tiny_entry
        redo = (divergence < _SMALL_DIVERGENCE) & ~equal
        if np.any(redo):
            p_part, q_part = np.array(p_part, dtype=float), np.array(q_part, dtype=float)
            divergence = np.array(divergence, dtype=float)
            for index in np.ndindex(redo.shape):
                if redo[index]:
                    p_part[index], q_part[index] = _exact_row(p_arr[index], q_arr[index])
                    divergence[index] = 1.0
        numerator = {"both": p_part + q_part, "p": p_part, "q": q_part}[wrt]
        result = np.where(divergence > 0, numerator / divergence, np.inf)
    return result[()] if result.ndim == 0 else result
