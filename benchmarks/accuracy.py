"""Accuracy survey of klbook against mpmath over fixed, seeded fuzz ranges (issue 15).

Run with ``make accuracy`` (or ``.venv/bin/python benchmarks/accuracy.py``). For every
public numerical function of klbook it draws inputs from fixed seeded ranges that move
all parameters jointly (across the documented range, toward equality along every
direction, near the ends of the double range), calls the function once per case, and
compares the result with a reference computed by mpmath from the *exact* float64 inputs
(``mpmath.mpf(x)`` is exact). It prints one table: for each function the number of
cases, the largest relative error, the share of cases above 1e-14 and the worst input
(as float reprs, so that it can be reproduced), with counts of NaN or inf results where
the exact value is finite and of results of the wrong sign (negative divergences).

Measurements, not tests: the script exits 0 whatever it finds. It does assert the
quality of its own references (see "References" below) and stops if one is in doubt.

Errors. ``|computed - exact| / max(|exact|, 2**-1022)``: relative, except that in the
subnormal range it is measured against the smallest normal double, so that a correctly
rounded subnormal result counts as at most 2**-53. Where the exact value is 0 the error
is ``|computed|`` (column ``zero`` counts those cases). An exact value beyond the double
range (column ``out``: above the overflow threshold, or below 2**-1022 in magnitude)
has the correctly signed ``inf`` as its correct rounding, which scores 0. A function
with a vector result (log_softmax) scores the largest error of its entries.

References. Each reference is a list of terms whose sum is the exact value, written so
that every term is accurate to the working precision (offsets such as ``(b - a) / a``
and ``log1p`` where the textbook form would round an argument near 1), plus the
magnitudes that bound how far the working precision can move the sum. The precision
starts at 60 digits and is raised until it exceeds the digits those magnitudes can
cancel by at least 40 (several hundred digits for parameters at 1e300 moving toward
equality, for instance). A sample of the references of every row, its worst cases
among them, is recomputed at twice the digits and must agree to 1e-25; otherwise the
script stops with an AssertionError.

Columns. ``cases``: inputs evaluated. ``rej``: inputs inside the documented domain on
which the function raised (listed below the table). ``warn``: cases that leaked a
warning. ``zero``/``out``: see above. ``max err``: the largest error over cases with a
finite result or a correctly rounded infinite one. ``>1e-14``: the share of cases above
1e-14, those of ``nan/inf`` included. ``nan/inf``: NaN, an infinity where the exact value
rounds to a finite double (or one of the wrong sign), or a finite value where it is
infinite. ``sign``: results of the wrong sign (a negative
divergence or entropy, a positive log-probability, a Stirling-remainder derivative whose
sign is not (-1)**m). ``worst``: the group of the worst case; the inputs follow the table.

Options: --quick (a smaller run, about a minute), --seed N, --only name1,name2 (function
names, e.g. ``--only kl_gamma,entropy``), --by-group (also a table per fuzz group).
Run against another checkout with ``PYTHONPATH=/path/to/checkout``; the header names the
klbook it imported and its git commit.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import math
import platform
import subprocess
import sys
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import mpmath
import numpy as np
import scipy

import klbook

mp = mpmath.mp
M = mpmath.mpf

#: Working precision of a well-separated case, and the digits kept beyond the cancellation.
START_DIGITS = 60
MARGIN_DIGITS = 40
#: No reference needs more: a larger demand means the reference itself is broken.
MAX_DIGITS = 3000
#: A reference recomputed at twice the digits must agree to this (relative).
AGREEMENT = 1e-25
THRESHOLD = 1e-14

DBL_MIN = M(2) ** -1022
#: Exact values at or beyond this magnitude round to inf in double precision.
OVERFLOW = M(2) ** 1024 - M(2) ** 970


# ------------------------------------------------------------------------------ cases


@dataclass
class Case:
    """One input: the arguments, the group it was drawn from and its exact reference.

    ``reference()`` runs under ``mp.workdps`` and returns one ``(terms, magnitudes)`` pair
    per output entry: the exact value is ``fsum(terms)``; ``magnitudes`` (with the terms)
    bound the absolute error that the working precision can cause. An exactly zero value
    has no non-zero terms (identical inputs return none), so that a sum that cancels to 0
    always means "more digits".
    """

    group: str
    args: tuple
    kwargs: dict
    reference: Callable[[], list[tuple[list, list]]]
    meta: dict = field(default_factory=dict)


@dataclass
class Row:
    """A function (with a variant) of the table, and how to fuzz it."""

    label: str          # as printed, e.g. "kl_divergence(normalize=True)"
    module: str         # where the function lives
    name: str           # its name there (also what --only matches)
    make_cases: Callable[[np.random.Generator, int], list[Case]]
    sign: int = 1       # documented sign of every result: +1 (>= 0), -1 (<= 0), 0 (m-dependent)
    note: str = ""


@dataclass
class Outcome:
    case: Case
    error: float = 0.0          # inf for NaN, a wrong infinity or a finite for an infinity
    worst_entry: int = 0
    wrong_sign: bool = False
    zero: bool = False
    out: bool = False
    rejected: str = ""
    warned: str = ""
    computed: Any = None
    exact: list = field(default_factory=list)
    digits: int = 0


def floats(array) -> str:
    """``array`` as a nested list of float reprs: what the function was called with."""
    arr = np.asarray(array, dtype=np.float64)
    if arr.ndim == 0:
        return repr(float(arr))
    return "[" + ", ".join(floats(x) for x in arr) + "]"


def call_text(row: Row, case: Case) -> str:
    parts = [floats(a) if isinstance(a, (np.ndarray, float, np.floating)) else repr(a)
             for a in case.args]
    parts += [f"{k}={v!r}" for k, v in case.kwargs.items()]
    return f"{row.name}({', '.join(parts)})"


# ------------------------------------------------------------------------- references


def evaluate(reference) -> tuple[list, int]:
    """The exact outputs, at a precision that keeps MARGIN_DIGITS beyond the cancellation."""
    digits = START_DIGITS
    while True:
        with mp.workdps(digits):
            outputs = reference()
            values, need = [], 0.0
            for terms, magnitudes in outputs:
                value = mp.fsum(terms)
                values.append(value)
                if mp.isnan(value):
                    raise AssertionError("a reference is NaN")
                if not mp.isfinite(value) or all(t == 0 for t in terms):
                    continue  # an exact 0 has no terms (the references see to it)
                if value == 0:  # terms that cancel to the last digit: more digits
                    need = max(need, 2 * digits)
                    continue
                scale = max([abs(t) for t in terms] + [abs(m) for m in magnitudes])
                lost = max(0.0, float(mp.log10(scale / abs(value))))
                need = max(need, lost + MARGIN_DIGITS)
        if need <= digits:
            return values, digits
        digits = int(need) + 10
        if digits > MAX_DIGITS:
            raise AssertionError(f"a reference needs more than {MAX_DIGITS} digits")


def check_reference(reference, values, digits, text):
    """Recompute at twice the digits; the two must agree to AGREEMENT."""
    with mp.workdps(2 * digits):
        again = [mp.fsum(terms) for terms, _ in reference()]
    for a, b in zip(values, again):
        if mp.isnan(a) or mp.isnan(b):
            raise AssertionError(f"NaN reference for {text}")
        if mp.isinf(a) or mp.isinf(b) or a == 0 or b == 0:
            assert a == b, f"reference disagrees at {2 * digits} digits for {text}: {a} vs {b}"
            continue
        assert abs(a - b) <= AGREEMENT * abs(b), (
            f"reference disagrees at {2 * digits} digits for {text}: {a} vs {b}")


def entry_error(computed: float, exact) -> tuple[float, bool]:
    """The error of one output entry (inf: NaN or wrongly (in)finite), and whether the
    exact value lies outside the normal range of doubles."""
    out = not DBL_MIN <= abs(exact) < OVERFLOW and exact != 0
    if math.isnan(computed):
        return math.inf, out
    if mp.isinf(exact) or abs(exact) >= OVERFLOW:  # correctly rounded: inf of its sign
        if math.isinf(computed):
            return (0.0 if (computed > 0) == (exact > 0) else math.inf), out
        return (math.inf if mp.isinf(exact) else float(abs(M(computed) - exact) / abs(exact))), out
    if math.isinf(computed):
        return math.inf, out
    if exact == 0:
        return abs(computed), out
    return float(abs(M(computed) - exact) / max(abs(exact), DBL_MIN)), out


# ------------------------------------------------------------------------ input helpers


def log_uniform(rng, low, high, size=None):
    """10**U(log10 low, log10 high): every decade equally likely."""
    return 10.0 ** rng.uniform(math.log10(low), math.log10(high), size)


def signed_offset(rng):
    """A random direction component in [-1, 1], away from 0 (so that t sets the scale)."""
    return rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 1.0)


def near_step(rng):
    """t = 10**-k, k = 1..15 (equally likely), or 0 now and then: identical inputs."""
    return 0.0 if rng.random() < 1 / 16 else 10.0 ** -int(rng.integers(1, 16))


def mpf_list(values) -> list:
    return [M(float(v)) for v in np.ravel(values)]


def log_of_ratio(num, den, offset=None):
    """log(num / den), through log1p of the offset num / den - 1 when the ratio is near 1.

    Pass ``offset`` when num and den are themselves rounded (1 - b over 1 - a, say).
    """
    if offset is None:
        offset = (num - den) / den
    return mp.log1p(offset) if abs(offset) < 0.5 else mp.log(num / den)


def exact_sum(xs: list):
    """The sum of floats, exactly (at most about 2100 bits)."""
    with mp.workprec(2200):
        return mp.fsum(xs)


def normalised(values) -> list:
    """The exact entries divided by their exact sum, each quotient rounded once."""
    xs = mpf_list(values)
    total = exact_sum(xs)
    return [x / total for x in xs]


def divided_exactly(values) -> bool:
    """Whether ``normalised(values)`` is exact: the sum is a power of two."""
    total = exact_sum(mpf_list(values))
    return mp.frexp(total)[0] == 0.5


# ------------------------------------------------------------------ discrete distributions


def dirichlet(rng, n):
    p = rng.dirichlet(np.full(n, log_uniform(rng, 0.3, 3.0)))
    return p / p.sum()


def point_mass(rng, n):
    """1.0 at one outcome and tiny entries (1e-300 .. 1e-17) elsewhere."""
    p = log_uniform(rng, 1e-300, 1e-17, n)
    p[rng.integers(n)] = 1.0
    return p


def shared_zeros(rng, p, q):
    """Now and then a few outcomes impossible under both (they must contribute nothing)."""
    if rng.random() < 0.25 and p.size > 2:
        zero = rng.random(p.size) < 0.3
        zero[np.argmax(p)] = zero[np.argmax(q)] = False
        # renormalised, except a point mass, which keeps its 1.0 (and a total 1 + tiny)
        p, q = (arr / arr.sum() if arr.max() < 1.0 else arr
                for arr in (np.where(zero, 0.0, p), np.where(zero, 0.0, q)))
    return p, q


def near(rng, p):
    """q = p (1 + t u), with u centred under p so that q keeps p's total."""
    t = near_step(rng)
    u = rng.uniform(-1.0, 1.0, p.size)
    u -= np.dot(p, u) / p.sum()
    return p * (1.0 + t * u), t


def base_pair(rng, kind, n):
    if kind == "dirichlet":
        p, q = dirichlet(rng, n), dirichlet(rng, n)
    elif kind == "near":
        p = dirichlet(rng, n)
        q, _ = near(rng, p)
    else:  # point masses: against a Dirichlet, another point mass, a near copy
        p = point_mass(rng, n)
        choice = rng.integers(4)
        if choice == 0:
            q = dirichlet(rng, n)
        elif choice == 1:
            q = point_mass(rng, n)
            j, k = np.argmax(q), np.argmax(p)
            q[j], q[k] = q[k], q[j]  # the mass where p has its own
        elif choice == 2:
            q = point_mass(rng, n)  # the mass elsewhere (or at the same place, by chance)
        else:
            q, _ = near(rng, p)
    return shared_zeros(rng, p, q)


def total_scale(rng):
    """A factor for a total: a power of two or not, 1e-300 .. 1e300."""
    if rng.random() < 0.5:
        return 2.0 ** int(rng.integers(-996, 997))
    return log_uniform(rng, 1e-300, 1e300)


def scaled(rng, arrays, mode):
    """Scale each array's total: all by one factor ("same") or each by its own ("apart")."""
    if mode == "":
        return arrays
    factor = total_scale(rng)
    out = []
    with np.errstate(under="ignore"):
        for arr in arrays:
            out.append(arr * factor)
            if mode == "apart":
                factor = total_scale(rng)
    return out


def pair_groups(normalize):
    bases = ("dirichlet", "near", "pointmass")
    modes = ("", "same", "apart") if normalize else ("",)
    return [(b, m) for m in modes for b in bases]


def discrete_pair_cases(reference_of, normalize):
    def make(rng, per_group):
        cases = []
        for base, mode in pair_groups(normalize):
            for _ in range(per_group):
                n = int(rng.integers(2, 51))
                p, q = scaled(rng, base_pair(rng, base, n), mode)
                group = base + (f"*{mode}" if mode else "")
                cases.append(Case(group, (p, q), {"normalize": normalize}, reference_of(p, q)))
        return cases
    return make


def entropy_cases(normalize):
    def make(rng, per_group):
        cases = []
        kinds = ("dirichlet", "pointmass", "uniform")
        for mode in (("", "scaled") if normalize else ("",)):
            for kind in kinds:
                for _ in range(per_group):
                    n = int(rng.integers(2, 51))
                    if kind == "uniform":  # nearly uniform: entropy near log n
                        p, _t = near(rng, np.full(n, 1.0 / n))
                    else:
                        p = dirichlet(rng, n) if kind == "dirichlet" else point_mass(rng, n)
                    p, _ = shared_zeros(rng, p, p)
                    if mode:
                        (p,) = scaled(rng, [p], "same")
                    cases.append(Case(kind + (f"*{mode}" if mode else ""), (p,),
                                      {"normalize": normalize}, ref_entropy(p)))
        return cases
    return make


def ref_kl(p, q):
    def reference():
        terms = []
        for a, b in zip(normalised(p), normalised(q)):
            if a == b:
                continue
            if a == 0:
                terms.append(b)
            elif b == 0:
                return [([mp.inf], [])]
            else:  # a phi(b/a) = b - a - a log(b/a): the sum of b - a is 0
                terms += [b, -a, -a * mp.log(b / a)]
        return [(terms, [])]
    return reference


def ref_entropy(p):
    def reference():
        P = normalised(p)
        return [([-a * mp.log(a) for a in P if a > 0], P)]
    return reference


def ref_cross_entropy(p, q):
    def reference():
        P, terms = normalised(p), []
        for a, b in zip(P, normalised(q)):
            if a > 0:
                if b == 0:
                    return [([mp.inf], [])]
                terms.append(-a * mp.log(b))
        return [(terms, P)]
    return reference


def ref_js(p, q):
    def reference():
        terms = []
        for a, b in zip(normalised(p), normalised(q)):
            if a == b:
                continue
            m = (a + b) / 2
            terms += [m, -a / 2, -b / 2]
            if a > 0:
                terms.append(-(a / 2) * mp.log(m / a))
            if b > 0:
                terms.append(-(b / 2) * mp.log(m / b))
        return [(terms, [])]
    return reference


def ref_jeffreys(p, q):
    def reference():
        terms = []
        for a, b in zip(normalised(p), normalised(q)):
            if a == b:
                continue
            if a == 0 or b == 0:
                return [([mp.inf], [])]
            terms += [b, -a, -a * mp.log(b / a), a, -b, -b * mp.log(a / b)]
        return [(terms, [])]
    return reference


# ------------------------------------------------------------------- parametric families


def ref_normal(m1, s1, m2, s2):
    def reference():
        r = (M(s1) / M(s2)) ** 2
        z = (M(m1) - M(m2)) / M(s2)
        terms = [] if s1 == s2 else [r / 2, -M(1) / 2, -mp.log(r) / 2]
        return [(terms + [z * z / 2], [])]
    return reference


def normal_cases(rng, per_group):
    cases = []
    for _ in range(per_group):  # every parameter on its own across the range
        s1, s2 = log_uniform(rng, 1e-300, 1e300, 2)
        m1, m2 = rng.choice([-1.0, 1.0], 2) * log_uniform(rng, 1e-300, 1e300, 2)
        cases.append(Case("wide", (m1, s1, m2, s2), {}, ref_normal(m1, s1, m2, s2)))
    for _ in range(per_group):  # jointly: one scale, moderate ratios, a common offset
        c = log_uniform(rng, 1e-300, 1e300)
        s1, s2 = c * log_uniform(rng, 0.01, 100.0, 2)
        offset = 0.0
        if rng.random() < 0.5:
            offset = rng.choice([-1.0, 1.0]) * c * log_uniform(rng, 1e-3, 1e3)
        m1, m2 = offset + c * rng.standard_normal(2)
        cases.append(Case("joint", (m1, s1, m2, s2), {}, ref_normal(m1, s1, m2, s2)))
    for group in ("near", "near-scale"):  # toward equality, means and scales together
        for _ in range(per_group):
            t = near_step(rng)
            s1 = log_uniform(rng, 1e-300, 1e300)
            m1 = rng.choice([-1.0, 1.0]) * s1 * log_uniform(rng, 1e-3, 1e3)
            s2 = s1 * (1.0 + t * signed_offset(rng))
            m2 = m1 if group == "near-scale" else m1 + t * signed_offset(rng) * s1
            cases.append(Case(group, (m1, s1, m2, s2), {}, ref_normal(m1, s1, m2, s2)))
    return cases


def ref_exponential(r1, r2):
    def reference():
        x = (M(r2) - M(r1)) / M(r1)
        return [([x, -log_of_ratio(M(r2), M(r1))] if r1 != r2 else [], [])]
    return reference


def ref_poisson(l1, l2):
    def reference():
        a, b = M(l1), M(l2)
        return [([b - a, -a * log_of_ratio(b, a)] if a != b else [], [])]
    return reference


def two_rate_cases(reference_of):
    def make(rng, per_group):
        cases = []
        for _ in range(per_group):
            r1, r2 = log_uniform(rng, 1e-300, 1e300, 2)
            cases.append(Case("wide", (r1, r2), {}, reference_of(r1, r2)))
        for _ in range(per_group):
            r1 = log_uniform(rng, 1e-300, 1e300)
            r2 = r1 * log_uniform(rng, 0.01, 100.0)
            cases.append(Case("joint", (r1, r2), {}, reference_of(r1, r2)))
        for _ in range(per_group):
            r1 = log_uniform(rng, 1e-300, 1e300)
            r2 = r1 * (1.0 + near_step(rng) * signed_offset(rng))
            cases.append(Case("near", (r1, r2), {}, reference_of(r1, r2)))
        return cases
    return make


def ref_bernoulli(a, b):
    def reference():
        pa, pb = M(a), M(b)
        if a == b:
            return [([], [])]
        # a phi(b/a) + (1-a) phi((1-b)/(1-a)) from the offsets, never from 1 - b over 1 - a
        return [([pb - pa, -pa * log_of_ratio(pb, pa),
                  pa - pb, -(1 - pa) * log_of_ratio(1 - pb, 1 - pa, (pa - pb) / (1 - pa))], [])]
    return reference


def probability(rng):
    """1e-320 .. 1/2 or 1/2 .. 1 - 1e-16, log-uniform toward each end."""
    if rng.random() < 0.5:
        return log_uniform(rng, 1e-320, 0.5)
    return 1.0 - log_uniform(rng, 1e-16, 0.5)


def bernoulli_cases(rng, per_group):
    cases = []
    for _ in range(per_group):
        a, b = probability(rng), probability(rng)
        cases.append(Case("wide", (a, b), {}, ref_bernoulli(a, b)))
    for _ in range(per_group):  # toward equality, from either end
        a, t = probability(rng), near_step(rng)
        step = t * signed_offset(rng)
        b = a * (1.0 + step) if a <= 0.5 else 1.0 - (1.0 - a) * (1.0 + step)
        b = min(max(b, 5e-324), 1.0 - 2.0**-53)
        cases.append(Case("near", (a, b), {}, ref_bernoulli(a, b)))
    return cases


def ref_gamma(a1, b1, a2, b2):
    def reference():
        x1, y1, x2, y2 = M(a1), M(b1), M(a2), M(b2)
        psi = mp.digamma(x1)
        terms = [] if a1 == a2 else [(x1 - x2) * psi, -mp.loggamma(x1), mp.loggamma(x2)]
        if b1 != b2:
            terms += [x2 * log_of_ratio(y1, y2), x1 * (y2 - y1) / y1]
        # log-gamma is trusted to its working precision times x psi(x) (its condition)
        return [(terms, [x1 * psi, x2 * mp.digamma(x2), x1, x2])]
    return reference


def shape_rate_groups(rng, per_group, reference_of, *, joint_ratio=10.0):
    """Four positive parameters: wide, joint, and toward equality along every direction.

    Toward equality, (x2, y2) = (x1 (1 + t u1), y1 (1 + t u2)): ``near``, independent u1
    and u2; ``near-ratio``, u1 = u2, which keeps x/y and so the mean fixed (gamma: shape
    over rate; beta: a / (a + b)), where first-order terms cancel; ``near-first`` and
    ``near-second``, u2 = 0 or u1 = 0 (gamma: the shapes or the rates alone).
    """
    cases = []
    for _ in range(per_group):
        params = tuple(log_uniform(rng, 1e-300, 1e300, 4))
        cases.append(Case("wide", params, {}, reference_of(*params)))
    for _ in range(per_group):
        A, B = log_uniform(rng, 1e-300, 1e300, 2)
        x1, x2 = A * log_uniform(rng, 1 / joint_ratio, joint_ratio, 2)
        y1, y2 = B * log_uniform(rng, 1 / joint_ratio, joint_ratio, 2)
        cases.append(Case("joint", (x1, y1, x2, y2), {}, reference_of(x1, y1, x2, y2)))
    for group in ("near", "near-ratio", "near-first", "near-second"):
        for _ in range(per_group):
            x1, y1 = log_uniform(rng, 1e-300, 1e300, 2)
            if rng.random() < 0.5:  # half of them with both parameters of one size
                y1 = x1 * log_uniform(rng, 0.1, 10.0)
            t = near_step(rng)
            u1, u2 = signed_offset(rng), signed_offset(rng)
            if group == "near-ratio":
                u2 = u1
            elif group == "near-first":
                u2 = 0.0
            elif group == "near-second":
                u1 = 0.0
            x2, y2 = x1 * (1.0 + t * u1), y1 * (1.0 + t * u2)
            cases.append(Case(group, (x1, y1, x2, y2), {}, reference_of(x1, y1, x2, y2)))
    return cases


def gamma_cases(rng, per_group):
    cases = shape_rate_groups(rng, per_group, ref_gamma)
    for _ in range(per_group):  # shapes moderate (1e-3 .. 1e3) where polygamma series run
        x1 = log_uniform(rng, 1e-3, 1e3)
        y1 = log_uniform(rng, 1e-3, 1e3)
        t = near_step(rng)
        u1, u2 = signed_offset(rng), signed_offset(rng)
        x2, y2 = x1 * (1.0 + t * u1), y1 * (1.0 + t * u2)
        cases.append(Case("near-moderate", (x1, y1, x2, y2), {}, ref_gamma(x1, y1, x2, y2)))
    return cases


def ref_beta(a1, b1, a2, b2):
    def reference():
        if (a1, b1) == (a2, b2):
            return [([], [])]
        x1, y1, x2, y2 = M(a1), M(b1), M(a2), M(b2)
        s1, s2 = x1 + y1, x2 + y2
        pa, pb, ps = mp.digamma(x1), mp.digamma(y1), mp.digamma(s1)
        terms = [mp.loggamma(x2), mp.loggamma(y2), -mp.loggamma(s2),
                 -mp.loggamma(x1), -mp.loggamma(y1), mp.loggamma(s1),
                 (x1 - x2) * pa, (y1 - y2) * pb, ((x2 - x1) + (y2 - y1)) * ps]
        magnitudes = [x1 * pa, y1 * pb, s1 * ps, x2 * mp.digamma(x2), y2 * mp.digamma(y2),
                      s2 * mp.digamma(s2), s1, s2]
        return [(terms, magnitudes)]
    return reference


def beta_cases(rng, per_group):
    cases = shape_rate_groups(rng, per_group, ref_beta)
    for _ in range(per_group):  # tiny shapes next to moderate ones (the issue's 1e-6, 1e-30)
        x1 = log_uniform(rng, 1e-300, 1e-3)
        y1 = log_uniform(rng, 1e-3, 1e3) if rng.random() < 0.5 else x1 * log_uniform(rng, 0.1, 10)
        t = near_step(rng)
        x2 = x1 * (1.0 + t * signed_offset(rng))
        y2 = y1 * (1.0 + t * signed_offset(rng))
        cases.append(Case("tiny-shape", (x1, y1, x2, y2), {}, ref_beta(x1, y1, x2, y2)))
    return cases


# --------------------------------------------------------------- multivariate normal


def spd(rng, k, condition, scale):
    """scale * Q diag(1 .. condition) Q^T, exactly symmetric in floating point."""
    eigenvalues = np.exp(rng.uniform(0.0, math.log(condition), k))
    eigenvalues[0], eigenvalues[-1] = 1.0, condition
    q, _ = np.linalg.qr(rng.standard_normal((k, k)))
    matrix = scale * (q * eigenvalues) @ q.T
    return (matrix + matrix.T) / 2.0


def ref_mvnormal(m1, c1, m2, c2, kappa):
    def reference():
        if np.array_equal(c1, c2) and np.array_equal(m1, m2):
            return [([], [])]
        S1, S2 = mpmath.matrix(c1.tolist()), mpmath.matrix(c2.tolist())
        k = c1.shape[0]
        inverse = mpmath.inverse(S2)
        trace = mp.fsum(inverse[i, j] * S1[j, i] for i in range(k) for j in range(k))
        d = [M(a) - M(b) for a, b in zip(m1, m2)]
        quad = mp.fsum(d[i] * inverse[i, j] * d[j] for i in range(k) for j in range(k))
        terms = [trace / 2, -M(k) / 2, -mp.log(mpmath.det(S1)) / 2, mp.log(mpmath.det(S2)) / 2,
                 quad / 2]
        # solving with S2 and the determinants are accurate to about kappa digits less
        return [(terms, [kappa * trace, kappa * k, kappa * quad])]
    return reference


def mvnormal_cases(rng, per_group):
    cases = []
    for group in ("random", "near"):
        for _ in range(per_group):
            k = int(rng.integers(2, 7))
            kappa2 = log_uniform(rng, 1.0, 1e12)
            scale = log_uniform(rng, 1e-3, 1e3)
            c2 = spd(rng, k, kappa2, scale)
            m1 = rng.standard_normal(k) * math.sqrt(scale)
            if group == "random":
                c1 = spd(rng, k, log_uniform(rng, 1.0, 1e12), scale * log_uniform(rng, 0.1, 10))
                m2 = rng.standard_normal(k) * math.sqrt(scale)
            else:  # c1 = L (I + t E) L^T: near c2 in c2's own metric, whatever its condition
                t = near_step(rng)
                factor = np.linalg.cholesky(c2)
                e = rng.uniform(-1.0, 1.0, (k, k))
                c1 = factor @ (np.eye(k) + t * (e + e.T) / (2 * k)) @ factor.T
                c1 = (c1 + c1.T) / 2.0
                m2 = m1 + t * factor @ rng.uniform(-1.0, 1.0, k)
            kappa = max(np.linalg.cond(c1), np.linalg.cond(c2))
            cases.append(Case(group, (m1, c1, m2, c2), {}, ref_mvnormal(m1, c1, m2, c2, kappa),
                              meta={"decade": int(math.floor(math.log10(np.linalg.cond(c2))))}))
    return cases


# ----------------------------------------------------------------------------- logits


def logit_vector(rng, n, wide=False):
    """c + s u, u in [-1, 1], s from 1e-300 to 1.79e308; with `wide`, s above 4.5e307,
    so that the spread max - min exceeds the largest double."""
    scale = log_uniform(rng, 4.5e307 if wide else 1e-300, 1.79e308)
    u = rng.uniform(-1.0, 1.0, n)
    if rng.random() < 0.25:
        u[:2] = [-1.0, 1.0]
        rng.shuffle(u)
    z = scale * u
    if rng.random() < 0.5:
        with np.errstate(over="ignore"):
            shifted = rng.choice([-1.0, 1.0]) * log_uniform(rng, 1e-300, 1e300) + z
        if np.isfinite(shifted).all():
            z = shifted
    return z


def labels(rng, n):
    kind = rng.integers(3)
    if kind == 0:
        return dirichlet(rng, n)
    if kind == 1:
        y = np.zeros(n)
        y[rng.integers(n)] = 1.0
        return y
    return point_mass(rng, n)


def log_softmax_terms(z):
    """``d_k = z_k - z_max`` exactly and ``L = log1p(sum of exp(d_k), k != top)``.

    ``y_j = d_j - L``. With exact arguments mpmath's ``exp`` is accurate to the working
    precision even at ``d = -1e308``; terms below the working precision of the largest
    one are left out of the tail (they cannot change it).
    """
    top = int(np.argmax(z))
    with mp.workprec(2200):  # exact differences of doubles
        d = [M(float(x)) - M(float(z[top])) for x in z]
    others = [x for i, x in enumerate(d) if i != top]
    cutoff = max(others) - (mp.dps + 20) * mp.log(10)
    tail = mp.fsum(mp.exp(x) for x in others if x >= cutoff)
    return d, mp.log1p(tail)


def ref_log_softmax(z):
    def reference():
        d, L = log_softmax_terms(z)
        return [([x, -L], []) for x in d]
    return reference


def ref_softmax_cross_entropy(y, z):
    def reference():
        d, L = log_softmax_terms(z)
        Y = normalised(y)
        return [([t for w, x in zip(Y, d) if w > 0 for t in (-w * x, w * L)], [])]
    return reference


def ref_softmax_kl(y, z):
    def reference():
        d, L = log_softmax_terms(z)
        Y = normalised(y)
        terms = [t for w, x in zip(Y, d) if w > 0 for t in (w * mp.log(w), -w * x, w * L)]
        # a rounded w_j moves the sum by w_j times that rounding (from the 1 in d/dw w log w)
        return [(terms, [] if divided_exactly(y) else Y)]
    return reference


def log_softmax_cases(rng, per_group):
    cases = []
    for group, count in (("spread", 3 * per_group), ("beyond-range", per_group)):
        for _ in range(count):
            z = logit_vector(rng, int(rng.integers(2, 51)), wide=group == "beyond-range")
            cases.append(Case(group, (z,), {}, ref_log_softmax(z)))
    return cases


def softmax_cases(reference_of, groups=("spread", "near")):
    def make(rng, per_group):
        cases = []
        for group, count in (("spread", 3 * per_group), ("beyond-range", per_group)):
            for _ in range(count if "spread" in groups else 0):
                n = int(rng.integers(2, 51))
                y, z = labels(rng, n), logit_vector(rng, n, wide=group == "beyond-range")
                cases.append(Case(group, (y, z), {}, reference_of(y, z)))
        for _ in range(per_group if "near" in groups else 0):  # softmax near labels: log y + t u
            n = int(rng.integers(2, 51))
            y = dirichlet(rng, n)
            z = np.log(y) + near_step(rng) * rng.uniform(-1.0, 1.0, n)
            cases.append(Case("near", (y, z), {}, reference_of(y, z)))
        return cases
    return make


# ---------------------------------------------------------------------------- kernels


def ref_log1pmx(x):
    def reference():
        X = M(x)
        if x == 0:
            return [([], [])]
        if abs(x) < 0.01:  # the series -x**2/2 + x**3/3 - ...: no cancellation
            terms, k = [], 2
            while not terms or abs(terms[-1]) > abs(terms[0]) * mp.eps:
                terms.append(-(-X) ** k / k)
                k += 1
            return [(terms, [])]
        return [([mp.log1p(X), -X], [])]
    return reference


def log1pmx_cases(rng, per_group):
    draws = {
        "small": lambda: rng.choice([-1.0, 1.0]) * log_uniform(rng, 1e-320, 0.1),
        "moderate": lambda: rng.uniform(-0.9, 10.0),
        "large": lambda: log_uniform(rng, 10.0, 1.7e308),
        "near -1": lambda: -1.0 + log_uniform(rng, 1.2e-16, 0.1),
    }
    cases = []
    for group, draw in draws.items():
        for _ in range(per_group):
            x = float(draw())
            cases.append(Case(group, (x,), {}, ref_log1pmx(x)))
    return cases


def ref_stirling(x, m):
    def reference():
        X = M(x)
        if m == 0:
            psi = mp.digamma(X)
            terms = [mp.loggamma(X), -(X - M(1) / 2) * mp.log(X), X, -mp.log(2 * mp.pi) / 2]
            return [(terms, [X * psi, X])]
        if m == 1:
            return [([mp.digamma(X), -mp.log(X), 1 / (2 * X)], [1])]
        sign = -1 if m % 2 else 1
        terms = [mp.polygamma(m - 1, X), -sign * mp.factorial(m - 2) * X ** (1 - m),
                 -sign * mp.factorial(m - 1) * X ** (-m) / 2]
        return [(terms, [m * abs(t) for t in terms])]
    return reference


def stirling_cases(orders):
    def make(rng, per_group):
        cases = []
        for group, low, high in (("wide", 1e-310, 1e300), ("moderate", 0.01, 100.0)):
            for _ in range(per_group):
                x = float(log_uniform(rng, low, high))
                m = int(rng.choice(orders))
                cases.append(Case(group, (x, m), {}, ref_stirling(x, m), meta={"m": m}))
        return cases
    return make


# ------------------------------------------------------------------------------- rows


def rows() -> list[Row]:
    table = []
    for normalize in (False, True):
        suffix = "(normalize=True)" if normalize else ""
        for name, module, reference_of in (
                ("kl_divergence", "klbook", ref_kl),
                ("cross_entropy", "klbook", ref_cross_entropy),
                ("js_divergence", "klbook", ref_js),
                ("jeffreys_divergence", "klbook", ref_jeffreys)):
            table.append(Row(name + suffix, module, name,
                             discrete_pair_cases(reference_of, normalize)))
        table.append(Row("entropy" + suffix, "klbook", "entropy", entropy_cases(normalize)))
    table.sort(key=lambda row: ["kl_divergence", "entropy", "cross_entropy", "js_divergence",
                                "jeffreys_divergence"].index(row.name))
    table += [
        Row("kl_normal", "klbook.continuous", "kl_normal", normal_cases),
        Row("kl_exponential", "klbook.continuous", "kl_exponential",
            two_rate_cases(ref_exponential)),
        Row("kl_poisson", "klbook.continuous", "kl_poisson", two_rate_cases(ref_poisson)),
        Row("kl_bernoulli", "klbook.continuous", "kl_bernoulli", bernoulli_cases),
        Row("kl_gamma", "klbook.continuous", "kl_gamma", gamma_cases),
        Row("kl_beta", "klbook.continuous", "kl_beta", beta_cases),
        Row("kl_mvnormal", "klbook.continuous", "kl_mvnormal", mvnormal_cases),
        Row("log_softmax", "klbook.logits", "log_softmax", log_softmax_cases, sign=-1),
        Row("softmax_cross_entropy", "klbook.logits", "softmax_cross_entropy",
            softmax_cases(ref_softmax_cross_entropy)),
        Row("softmax_kl_divergence", "klbook.logits", "softmax_kl_divergence",
            softmax_cases(ref_softmax_kl, ("spread",))),
        Row("softmax_kl_divergence(near labels)", "klbook.logits", "softmax_kl_divergence",
            softmax_cases(ref_softmax_kl, ("near",)),
            note="the docstring bounds the error by about 1e-16 |t_j| (absolute) for labels "
                 "near the prediction: a relative error of about 1e-16 / t"),
        Row("log1pmx", "klbook.special", "log1pmx", log1pmx_cases, sign=-1),
        Row("stirling_remainder(m=0,1,2)", "klbook.special", "stirling_remainder",
            stirling_cases((0, 1, 2)), sign=0),
        Row("stirling_remainder(m=3..8)", "klbook.special", "stirling_remainder",
            stirling_cases(tuple(range(3, 9))), sign=0),
    ]
    return table


# ---------------------------------------------------------------------------- running


def run_case(row: Row, function, case: Case) -> Outcome:
    outcome = Outcome(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = function(*case.args, **case.kwargs)
        except Exception as exc:  # inside the domain: any exception is a rejection
            outcome.rejected = f"{type(exc).__name__}: {exc}"
            return outcome
    if caught:
        outcome.warned = f"{caught[0].category.__name__}: {caught[0].message}"
    computed = [float(v) for v in np.ravel(np.asarray(result, dtype=np.float64))]
    outcome.computed = computed
    outcome.exact, outcome.digits = evaluate(case.reference)
    if len(computed) != len(outcome.exact):
        raise AssertionError(f"{row.label}: {len(computed)} results, "
                             f"{len(outcome.exact)} references")
    sign = row.sign if row.sign else (-1 if case.args[1] % 2 else 1)
    for index, (value, exact) in enumerate(zip(computed, outcome.exact)):
        error, out = entry_error(value, exact)
        outcome.zero |= exact == 0
        outcome.out |= out
        outcome.wrong_sign |= value * sign < 0
        if error > outcome.error:
            outcome.error, outcome.worst_entry = error, index
    return outcome


def seeded(seed: int, label: str) -> np.random.Generator:
    """One stream per row, so that --only draws the same cases as a full run."""
    return np.random.default_rng([seed, zlib.crc32(label.encode())])


def verify(row: Row, outcomes: list[Outcome], seed: int, share: float) -> int:
    """Recompute the worst references and a random sample at twice the digits."""
    evaluated = [o for o in outcomes if o.exact]
    if not evaluated:
        return 0
    worst = sorted(evaluated, key=lambda o: -o.error)[:3]
    rng = np.random.default_rng([seed, zlib.crc32(row.label.encode()), 1])
    count = max(2, int(share * len(evaluated)))
    sample = [evaluated[i] for i in rng.choice(len(evaluated), min(count, len(evaluated)),
                                               replace=False)]
    chosen = {id(o): o for o in worst + sample}
    for outcome in chosen.values():
        check_reference(outcome.case.reference, outcome.exact, outcome.digits,
                        call_text(row, outcome.case))
    return len(chosen)


@dataclass
class Summary:
    row: Row
    outcomes: list[Outcome]
    verified: int
    seconds: float
    skipped: str = ""


def survey(row: Row, seed: int, per_group: int, share: float) -> Summary:
    start = time.perf_counter()
    try:
        function = getattr(importlib.import_module(row.module), row.name)
    except (ImportError, AttributeError):
        return Summary(row, [], 0, 0.0, skipped=f"{row.module}.{row.name} not in this klbook")
    cases = row.make_cases(seeded(seed, row.label), per_group)
    outcomes = [run_case(row, function, case) for case in cases]
    verified = verify(row, outcomes, seed, share)
    return Summary(row, outcomes, verified, time.perf_counter() - start)


# ---------------------------------------------------------------------------- report


def entry_text(outcome: Outcome) -> str:
    """The exact and the computed value of the worst entry of an outcome."""
    i = outcome.worst_entry
    where = f" at entry {i}" if len(outcome.exact) > 1 else ""
    return f"exact {value_text(outcome.exact[i])}, got {outcome.computed[i]!r}{where}"


def value_text(value) -> str:
    """17 digits, or only the decimal exponent of a value far beyond the double range."""
    if mp.isfinite(value) and value != 0 and abs(mp.log10(abs(value))) > 1000:
        return f"{'-' if value < 0 else ''}10**{float(mp.log10(abs(value))):.6g}"
    return mp.nstr(value, 17)


def error_text(error: float) -> str:
    return "inf" if math.isinf(error) else f"{error:.1e}"


def tally(outcomes: list[Outcome]) -> dict:
    done = [o for o in outcomes if not o.rejected]
    worst = max((o for o in done if o.error < math.inf), key=lambda o: o.error, default=None)
    return {
        "cases": len(outcomes),
        "rej": sum(bool(o.rejected) for o in outcomes),
        "warn": sum(bool(o.warned) for o in outcomes),
        "zero": sum(o.zero for o in done),
        "out": sum(o.out for o in done),
        "max": worst.error if worst else math.nan,
        "above": (sum(o.error > THRESHOLD for o in done) / len(done)) if done else math.nan,
        "nonfinite": sum(o.error == math.inf for o in done),
        "sign": sum(o.wrong_sign for o in done),
        "worst": worst,
    }


def header(args) -> list[str]:
    path = Path(klbook.__file__).resolve().parent
    root = path.parent

    def git(*command):
        result = subprocess.run(["git", "-C", str(root), *command], capture_output=True,
                                text=True)
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "unknown (not a git checkout)"
    modified = git("status", "--porcelain", "--", str(path))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(path.glob("*.py"))))
    return [
        f"klbook accuracy survey against mpmath (issue 15); seed {args.seed}, "
        f"{'quick' if args.quick else 'full'} run",
        f"klbook {path} at commit {commit}"
        + (" with uncommitted changes to klbook" if modified else ""),
        f"klbook/*.py sha256 {digest.hexdigest()[:16]}; numpy {np.__version__}, "
        f"scipy {scipy.__version__}, mpmath {mpmath.__version__}, "
        f"Python {platform.python_version()} on {platform.machine()}",
    ]


def report(summaries: list[Summary], args) -> list[str]:
    lines = header(args)
    width = max(len(s.row.label) for s in summaries)
    lines.append("")
    lines.append(f"{'function':<{width}} {'cases':>6} {'rej':>4} {'warn':>5} {'zero':>5} "
                 f"{'out':>5} {'max err':>8} {'>1e-14':>7} {'nan/inf':>7} {'sign':>5}  worst")
    details, notes = [], []
    for s in summaries:
        if s.skipped:
            lines.append(f"{s.row.label:<{width}}  skipped: {s.skipped}")
            continue
        st = tally(s.outcomes)
        worst = st["worst"]
        lines.append(
            f"{s.row.label:<{width}} {st['cases']:>6} {st['rej']:>4} {st['warn']:>5} "
            f"{st['zero']:>5} {st['out']:>5} {error_text(st['max']):>8} "
            f"{st['above']:>7.1%} {st['nonfinite']:>7} {st['sign']:>5}  "
            f"{worst.case.group if worst else '-'}")
        if worst:
            details.append(f"{s.row.label}: error {error_text(worst.error)}, "
                           f"{entry_text(worst)}\n    {call_text(s.row, worst.case)}")
        bad = [o for o in s.outcomes if o.error == math.inf and not o.rejected]
        if bad:
            details.append(f"{s.row.label}: {len(bad)} NaN or wrongly (in)finite, e.g. "
                           f"{entry_text(bad[0])}\n    {call_text(s.row, bad[0].case)}")
        for kind, attribute in (("rejected", "rejected"), ("warned", "warned")):
            hits = [o for o in s.outcomes if getattr(o, attribute)]
            if hits:
                notes.append(f"{s.row.label}: {len(hits)} {kind}, e.g. "
                             f"{getattr(hits[0], attribute)}\n    {call_text(s.row, hits[0].case)}")
        if s.row.note:
            notes.append(f"{s.row.label}: {s.row.note}")
    lines += ["", "Worst inputs (worst finite case; first NaN/inf case)"] + details
    if notes:
        lines += ["", "Notes"] + notes

    mv = next((s for s in summaries if s.row.name == "kl_mvnormal" and not s.skipped), None)
    if mv:
        lines += ["", "kl_mvnormal by decade of cond(cov2): cases, max err (random / near)"]
        decades = sorted({o.case.meta["decade"] for o in mv.outcomes})
        for decade in decades:
            cells = []
            for group in ("random", "near"):
                st = tally([o for o in mv.outcomes
                                 if o.case.meta["decade"] == decade and o.case.group == group])
                cells.append(f"{st['cases']:>4} {error_text(st['max']):>8}"
                             + (f" ({st['nonfinite']} nan/inf, {st['rej']} rej)"
                                if st['nonfinite'] or st['rej'] else ""))
            lines.append(f"  1e{decade:<3}  " + "   ".join(cells))

    if args.by_group:
        lines += ["", "By fuzz group"]
        for s in summaries:
            for group in dict.fromkeys(o.case.group for o in s.outcomes):
                st = tally([o for o in s.outcomes if o.case.group == group])
                lines.append(f"  {s.row.label:<{width}} {group:<16} {st['cases']:>5} "
                             f"{error_text(st['max']):>8} {st['above']:>7.1%} "
                             f"{st['nonfinite']:>4} nan/inf {st['rej']:>3} rej "
                             f"{st['sign']:>3} sign")
    checked = sum(s.verified for s in summaries)
    lines += ["", f"{checked} references recomputed at twice the digits, all agreeing to "
              f"{AGREEMENT:g}; {sum(s.seconds for s in summaries):.0f} s in all"]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (about a minute)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--only", default="", help="comma-separated function names")
    parser.add_argument("--by-group", action="store_true", help="also a table per fuzz group")
    args = parser.parse_args(argv)
    chosen = rows()
    if args.only:
        wanted = {name.strip() for name in args.only.split(",") if name.strip()}
        unknown = wanted - {row.name for row in chosen} - {row.label for row in chosen}
        if unknown:
            parser.error(f"unknown function(s): {', '.join(sorted(unknown))}")
        chosen = [row for row in chosen if row.name in wanted or row.label in wanted]
    # cases per fuzz group (most rows have 3 to 9 groups); about 1 and 5 minutes on one core
    per_group = 30 if args.quick else 400
    share = 0.05  # of each row's references, with its three worst, checked at twice the digits
    summaries = []
    for row in chosen:
        summaries.append(survey(row, args.seed, per_group, share))
        print(f"  {row.label}: {summaries[-1].seconds:.1f} s", file=sys.stderr, flush=True)
    print("\n".join(report(summaries, args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
