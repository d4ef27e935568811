r"""Checked derivations: chains of ``=`` and ``<=`` steps that SymPy verifies as they are written.

A :class:`Derivation` starts at a SymPy expression and grows one step at a time.
Every step is checked the moment it is added, and a step that cannot be
verified raises :class:`StepError`, naming the step, its reason and the two
expressions. A chain that exists has therefore been verified, and its
``_repr_latex_`` shows exactly the steps that were.

* An ``=`` step (:meth:`Derivation.equals`) is verified symbolically: both sides
  are brought to a normal form (logarithms expanded and products multiplied out
  *under the symbols' declared assumptions*, sums and integrals split by
  linearity with constants pulled out, bound variables renamed), the facts in
  ``given`` are substituted, and the difference must simplify to zero. Nothing
  is forced: ``log(p/q) = log p - log q`` holds only for symbols declared
  positive, as in ``sp.symbols("p q", positive=True)`` or
  ``sp.IndexedBase("p", positive=True)``.
* An inequality step (:meth:`Derivation.less_equal`,
  :meth:`Derivation.greater_equal`) must be justified by a :class:`Lemma`,
  instantiated with keyword arguments (``t=q[i] / p[i]``). The lemma's side
  conditions are checked (positivity, weights that are non-negative and sum to
  one, the sign of a second derivative), and the step must be the lemma's
  inequality inside a *monotone context*: the new expression is the old one
  with the lemma's one side replaced by its other side, in a position where
  the surrounding expression is non-decreasing (or non-increasing, which flips
  the direction). Sums are monotone term by term, so a lemma about ``q[i]/p[i]``
  applies under ``Sum(p[i] * ..., (i, 1, n))``.

The module-level lemmas are proved in the book's chapter on Gibbs' inequality:

* :data:`LOG_LE_X_MINUS_1`: :math:`\ln t \le t - 1` for :math:`t > 0`;
* :data:`JENSEN`: Jensen's inequality for a function whose second derivative
  has a fixed sign on the values' domain;
* :data:`JENSEN_LOG`: its case :math:`f = \ln`;
* :data:`LOG_SUM`: the log-sum inequality;
* :data:`GIBBS`: Gibbs' inequality itself, for later chapters;
* :data:`NONNEGATIVE`: :math:`0 \le a` for an expression the assumptions make
  non-negative (it proves nothing new; it lets a chain drop such a term).

Examples
--------
>>> import sympy as sp
>>> from klbook.derivation import Derivation, LOG_LE_X_MINUS_1
>>> p, q = sp.symbols("p q", positive=True)
>>> chain = (Derivation(p * sp.log(q / p))
...          .less_equal(p * (q / p - 1), "ln t <= t - 1", lemma=LOG_LE_X_MINUS_1, t=q / p)
...          .equals(q - p, "multiply out"))
>>> len(chain), chain.result
(2, -p + q)
>>> Derivation(sp.log(p * q)).equals(sp.log(p) - sp.log(q), "log of a product")
Traceback (most recent call last):
...
klbook.derivation.StepError: step 1 (log of a product) fails: SymPy cannot show that the two sides are equal; their difference normalises to 2*log(q)
  from: log(p*q)
    to: log(p) - log(q)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import sympy as sp

__all__ = [
    "Derivation",
    "Lemma",
    "Step",
    "StepError",
    "LOG_LE_X_MINUS_1",
    "JENSEN",
    "JENSEN_LOG",
    "LOG_SUM",
    "GIBBS",
    "NONNEGATIVE",
]

_RELATIONS = {"=": r"=", "<=": r"\le", ">=": r"\ge"}


class StepError(Exception):
    """A step of a :class:`Derivation` that could not be verified.

    Attributes
    ----------
    step : int
        The step's number, counting from 1 (step ``k`` leads from expression
        ``k - 1`` to expression ``k``; expression 0 is the start).
    reason : str
        The justification the author gave.
    lhs, rhs : sympy.Expr
        The expressions before and after the step.
    problem : str
        What went wrong.
    """

    def __init__(self, step: int, reason: str, lhs: sp.Expr, rhs: sp.Expr, problem: str):
        self.step, self.reason, self.lhs, self.rhs, self.problem = step, reason, lhs, rhs, problem
        super().__init__(
            f"step {step} ({reason}) fails: {problem}\n  from: {lhs}\n    to: {rhs}"
        )


class _SideConditionError(Exception):
    """Raised inside a lemma when an instance violates a side condition."""


# --------------------------------------------------------------------------- facts


def _canonical_variable(kind: str, depth: int) -> sp.Symbol:
    # Bound variables are renamed so that sums over i and over j compare equal.
    if kind == "sum":
        return sp.Symbol(f"_k{depth}", integer=True)
    return sp.Symbol(f"_x{depth}", real=True)


class _Facts:
    """The assumptions a derivation works under, and the checks that use them.

    ``Eq(lhs, rhs)`` facts are rewrite rules applied to normal forms;
    ``expr > 0`` and ``expr >= 0`` facts let SymPy treat ``expr`` as a positive
    (non-negative) symbol, e.g. ``1 - theta > 0`` for a Bernoulli parameter.
    """

    def __init__(self, given: Iterable[Any]):
        self.given: tuple[sp.Basic, ...] = tuple(given)
        self.rules: list[tuple[sp.Expr, sp.Expr]] = []
        self.hidden: dict[sp.Expr, sp.Dummy] = {}
        for fact in self.given:
            if isinstance(fact, sp.Equality):
                continue
            if isinstance(fact, (sp.StrictGreaterThan, sp.StrictLessThan)):
                expr = fact.gts - fact.lts
                self.hidden[expr] = sp.Dummy("pos", positive=True)
            elif isinstance(fact, (sp.GreaterThan, sp.LessThan)):
                expr = fact.gts - fact.lts
                self.hidden[expr] = sp.Dummy("nonneg", nonnegative=True)
            else:
                raise TypeError(
                    "given must hold SymPy relations: Eq(a, b), a > b or a >= b; "
                    f"got {fact!r} of type {type(fact).__name__}"
                )
        self.revealed = {dummy: expr for expr, dummy in self.hidden.items()}
        for fact in self.given:
            if isinstance(fact, sp.Equality):
                self.rules.append((self.normalise(fact.lhs), self.normalise(fact.rhs)))

    # normal forms ---------------------------------------------------------

    def normalise(self, expr: sp.Expr) -> sp.Expr:
        """Expanded logs and products, linear sums and integrals, canonical bound variables."""
        expr = sp.sympify(expr).xreplace(self.hidden)
        expr = _linearise(sp.expand(sp.expand_log(expr)), 0)
        expr = sp.expand(sp.expand_log(expr))
        return expr.xreplace(self.revealed)

    def _apply_rules(self, expr: sp.Expr) -> sp.Expr:
        for _ in range(4):  # rules may expose one another, e.g. log(sum q) -> log(1)
            before = expr
            for lhs, rhs in self.rules:
                expr = expr.subs(lhs, rhs)
            expr = self.normalise(expr)
            if expr == before:
                break
        return expr

    def difference(self, a: sp.Expr, b: sp.Expr) -> sp.Expr:
        """``a - b`` reduced as far as the facts allow; zero means verified equal."""
        diff = self.normalise(a) - self.normalise(b)
        diff = self.normalise(diff)
        if diff == 0:
            return diff
        if self.rules:
            diff = self._apply_rules(diff)
            if diff == 0:
                return diff
        # Rational identities need the declared expressions as they are (1 - q is
        # not independent of q); logarithms need them hidden as positive symbols.
        simplified = sp.simplify(diff)
        if simplified == 0:
            return simplified
        hidden = diff.xreplace(self.hidden)
        for attempt in (sp.simplify(hidden), sp.simplify(sp.logcombine(hidden))):
            attempt = attempt.xreplace(self.revealed)
            if attempt == 0 or sp.simplify(attempt) == 0:
                return sp.Integer(0)
        return simplified

    def equal(self, a: sp.Expr, b: sp.Expr) -> bool:
        return self.difference(a, b) == 0

    # signs ----------------------------------------------------------------

    def _hide_signed_parts(self, expr: sp.Expr) -> sp.Expr:
        # A sum or integral of positive terms over a non-empty range is positive;
        # SymPy does not always see it, so such parts become positive symbols.
        expr = sp.sympify(expr).xreplace(self.hidden)
        replacements = {}
        for part in expr.atoms(sp.Sum, sp.Integral):
            inner = self._hide_signed_parts(part.function)
            if not _nonempty_range(part):
                continue
            if inner.is_positive:
                replacements[part] = sp.Dummy("pos", positive=True)
            elif inner.is_nonnegative:
                replacements[part] = sp.Dummy("nonneg", nonnegative=True)
        return expr.xreplace(replacements)

    def _forms(self, expr: sp.Expr):
        """`expr`, then `expr` with the facts substituted, with signed parts hidden."""
        expr = sp.sympify(expr)
        yield self._hide_signed_parts(expr)
        if self.rules:
            yield self._hide_signed_parts(self._apply_rules(self.normalise(expr)))

    def is_positive(self, expr: sp.Expr) -> bool:
        return any(form.is_positive or sp.simplify(form).is_positive for form in self._forms(expr))

    def is_nonnegative(self, expr: sp.Expr) -> bool:
        return any(form.is_nonnegative or sp.simplify(form).is_nonnegative
                   for form in self._forms(expr))

    def is_nonpositive(self, expr: sp.Expr) -> bool:
        return self.is_nonnegative(-expr)


def _nonempty_range(part: sp.Expr) -> bool:
    """True if every range of a Sum (Integral) is provably non-empty (ordered)."""
    for limit in part.limits:
        if len(limit) != 3:
            return False
        _, lower, upper = limit
        extra = 1 if isinstance(part, sp.Sum) else 0
        if not (upper - lower + extra).is_nonnegative:
            return False
    return True


def _linearise(expr: sp.Expr, depth: int) -> sp.Expr:
    """Split sums and integrals over added terms and pull out constant factors."""
    if expr.is_Atom or isinstance(expr, sp.Indexed):
        return expr
    if isinstance(expr, (sp.Sum, sp.Integral)) and all(len(lim) == 3 for lim in expr.limits):
        kind = "sum" if isinstance(expr, sp.Sum) else "integral"
        function = expr.function
        limits = []
        for offset, (var, lower, upper) in enumerate(expr.limits):
            canonical = _canonical_variable(kind, depth + offset)
            function = function.xreplace({var: canonical})
            limits.append((canonical, lower, upper))
        bound = {lim[0] for lim in limits}
        function = sp.expand(sp.expand_log(_linearise(function, depth + len(limits))))
        total = sp.Integer(0)
        for term in sp.Add.make_args(function):
            constant, varying = [], []
            for factor in sp.Mul.make_args(term):
                (varying if factor.free_symbols & bound else constant).append(factor)
            inner = expr.func(sp.Mul(*varying), *limits)
            if not varying:
                inner = inner.doit()  # a sum of 1 counts terms; an integral of 1 is a length
            total += sp.Mul(*constant) * inner
        return total
    return expr.func(*(_linearise(arg, depth) for arg in expr.args))


# --------------------------------------------------------------------------- lemmas


@dataclass(frozen=True)
class Lemma:
    r"""A named inequality that an inequality step may cite.

    Parameters
    ----------
    name : str
        Short name, shown next to the step.
    statement : str
        The inequality and its side conditions, in LaTeX.
    label : str or None
        The label of the block in the book that proves it; None for a lemma
        that only checks the declared assumptions (:data:`NONNEGATIVE`).
    parameters : tuple of str
        The keyword arguments an instance takes.
    instantiate : callable
        ``instantiate(facts, **how) -> (lesser, greater)``; checks the side
        conditions and raises if they fail.

    Examples
    --------
    >>> from klbook.derivation import LOG_LE_X_MINUS_1
    >>> LOG_LE_X_MINUS_1.name
    'ln t <= t - 1'
    """

    name: str
    statement: str
    label: str | None
    parameters: tuple[str, ...]
    instantiate: Callable[..., tuple[sp.Expr, sp.Expr]] = field(repr=False, compare=False)
    optional: tuple[str, ...] = ()

    def instance(self, facts: _Facts, how: dict[str, Any]) -> tuple[sp.Expr, sp.Expr]:
        missing = [name for name in self.parameters if name not in how]
        unknown = [name for name in how if name not in self.parameters + self.optional]
        if missing or unknown:
            raise TypeError(
                f"lemma {self.name!r} takes the keyword arguments "
                f"{', '.join(self.parameters + self.optional)}; "
                + (f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}")
            )
        return self.instantiate(facts, **how)


def _indexed_terms(values: Any, index: Any, name: str) -> tuple[Callable, tuple | None]:
    """Terms as a function of a wrapper: a Sum over `index`, or an explicit list."""
    if index is None:
        if not isinstance(values, (list, tuple)) or not values:
            raise TypeError(f"{name} must be a non-empty list when index is not given")
        return [sp.sympify(v) for v in values], None
    if not (isinstance(index, tuple) and len(index) == 3):
        raise TypeError("index must be a tuple (i, lower, upper), as in sympy.Sum")
    return sp.sympify(values), index


def _weighted_sum(weights, values, index, transform=lambda v: v) -> sp.Expr:
    if index is None:
        return sp.Add(*(w * transform(v) for w, v in zip(weights, values)))
    return sp.Sum(weights * transform(values), index)


def _each(terms, index) -> list:
    return list(terms) if index is None else [terms]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _SideConditionError(message)


def _check_weights(facts: _Facts, weights, index) -> None:
    for w in _each(weights, index):
        _require(facts.is_nonnegative(w), f"weight {w} is not provably >= 0")
    total = sp.Add(*weights) if index is None else sp.Sum(weights, index)
    _require(facts.equal(total, 1), f"the weights do not provably sum to 1 ({total} = 1 is not "
                                    "implied; declare it with given=[Eq(..., 1)])")


def _log_le_x_minus_1(facts: _Facts, *, t: Any) -> tuple[sp.Expr, sp.Expr]:
    t = sp.sympify(t)
    _require(facts.is_positive(t), f"t = {t} is not provably > 0")
    return sp.log(t), t - 1


def _jensen(facts: _Facts, *, f: Any, weights: Any, values: Any, index: Any = None):
    weights, index_w = _indexed_terms(weights, index, "weights")
    values, _ = _indexed_terms(values, index, "values")
    if index is None and len(weights) != len(values):
        raise TypeError("weights and values must have the same length")
    if isinstance(f, sp.Lambda):
        function = f
    elif callable(f):
        probe = sp.Dummy("u")
        function = sp.Lambda(probe, f(probe))
    else:
        raise TypeError("f must be a sympy.Lambda or a callable of one SymPy expression")
    _check_weights(facts, weights, index)
    positive_values = all(facts.is_positive(v) for v in _each(values, index))
    x = sp.Dummy("x", positive=True) if positive_values else sp.Dummy("x", real=True)
    _require(bool(function(x).is_real),
             "f is not provably real on the values' domain "
             f"({'positive' if positive_values else 'real'} numbers)")
    curvature = sp.simplify(sp.diff(function(x), x, 2))
    mean_of_f = _weighted_sum(weights, values, index, function)
    f_of_mean = function(_weighted_sum(weights, values, index))
    if curvature.is_nonpositive:  # concave: the mean of f is below f of the mean
        return mean_of_f, f_of_mean
    if curvature.is_nonnegative:  # convex
        return f_of_mean, mean_of_f
    raise _SideConditionError(f"the sign of f''(x) = {curvature} is not determined on the "
                              "values' domain, so f is not provably convex or concave")


def _jensen_log(facts: _Facts, *, weights: Any, values: Any, index: Any = None):
    return _jensen(facts, f=sp.log, weights=weights, values=values, index=index)


def _log_sum(facts: _Facts, *, a: Any, b: Any, index: Any = None):
    a, _ = _indexed_terms(a, index, "a")
    b, _ = _indexed_terms(b, index, "b")
    if index is None and len(a) != len(b):
        raise TypeError("a and b must have the same length")
    for term in _each(a, index) + _each(b, index):
        _require(facts.is_positive(term), f"{term} is not provably > 0")
    if index is None:
        total_a, total_b = sp.Add(*a), sp.Add(*b)
        left = sp.Add(*(ai * sp.log(ai / bi) for ai, bi in zip(a, b)))
    else:
        _require(_nonempty_range(sp.Sum(a, index)), f"the range {index} is not provably non-empty")
        total_a, total_b = sp.Sum(a, index), sp.Sum(b, index)
        left = sp.Sum(a * sp.log(a / b), index)
    return total_a * sp.log(total_a / total_b), left


def _nonnegative(facts: _Facts, *, term: Any) -> tuple[sp.Expr, sp.Expr]:
    term = sp.sympify(term)
    _require(facts.is_nonnegative(term), f"{term} is not provably >= 0")
    return sp.Integer(0), term


def _gibbs(facts: _Facts, *, p: Any, q: Any, index: Any = None):
    p, _ = _indexed_terms(p, index, "p")
    q, _ = _indexed_terms(q, index, "q")
    if index is None and len(p) != len(q):
        raise TypeError("p and q must have the same length")
    for term in _each(p, index) + _each(q, index):
        _require(facts.is_positive(term), f"{term} is not provably > 0")
    if index is None:
        total_p, total_q = sp.Add(*p), sp.Add(*q)
        divergence = sp.Add(*(pi * sp.log(pi / qi) for pi, qi in zip(p, q)))
    else:
        total_p, total_q = sp.Sum(p, index), sp.Sum(q, index)
        divergence = sp.Sum(p * sp.log(p / q), index)
    _require(facts.equal(total_p, 1), f"{total_p} = 1 is not implied by the given facts")
    _require(facts.is_nonnegative(1 - total_q), f"{total_q} <= 1 is not implied by the given facts")
    return sp.Integer(0), divergence


#: :math:`0 \le a` for an expression :math:`a` that is provably non-negative under
#: the declared assumptions and facts; used to drop a non-negative term.
#: Keyword: ``term``.
NONNEGATIVE = Lemma(
    name="non-negative term",
    statement=r"0 \le a \quad (a \ge 0 \text{ by the assumptions})",
    label=None,
    parameters=("term",),
    instantiate=_nonnegative,
)

#: Gibbs' inequality :math:`\sum_i p_i \ln\frac{p_i}{q_i} \ge 0` for :math:`p_i, q_i > 0`,
#: :math:`\sum_i p_i = 1` and :math:`\sum_i q_i \le 1` (the sum runs over the support of
#: :math:`P`). Keywords: ``p``, ``q`` and ``index=(i, lower, upper)``, or lists.
GIBBS = Lemma(
    name="Gibbs' inequality",
    statement=r"\textstyle\sum_i p_i \ln\frac{p_i}{q_i} \ge 0 \quad "
              r"(p_i, q_i > 0,\ \sum_i p_i = 1,\ \sum_i q_i \le 1)",
    label="thm-gibbs",
    parameters=("p", "q"),
    optional=("index",),
    instantiate=_gibbs,
)

#: :math:`\ln t \le t - 1` for :math:`t > 0`, with equality only at :math:`t = 1`.
#: Keyword: ``t``.
LOG_LE_X_MINUS_1 = Lemma(
    name="ln t <= t - 1",
    statement=r"\ln t \le t - 1 \quad (t > 0)",
    label="lem-log-le",
    parameters=("t",),
    instantiate=_log_le_x_minus_1,
)

#: Jensen's inequality :math:`\sum_i w_i f(t_i) \le f(\sum_i w_i t_i)` for concave
#: :math:`f` (reversed for convex), weights :math:`w_i \ge 0` summing to 1.
#: Keywords: ``f`` (a ``sympy.Lambda`` or callable), ``weights``, ``values`` and
#: ``index=(i, lower, upper)`` for a sum, or lists of ``weights`` and ``values``.
#: Concavity or convexity is established from the sign of :math:`f''` on the
#: positive numbers (if every value is provably positive) or on the reals.
JENSEN = Lemma(
    name="Jensen",
    statement=r"\textstyle\sum_i w_i f(t_i) \le f\big(\sum_i w_i t_i\big) \quad "
              r"(f'' \le 0,\ w_i \ge 0,\ \sum_i w_i = 1)",
    label="lem-jensen",
    parameters=("f", "weights", "values"),
    optional=("index",),
    instantiate=_jensen,
)

#: Jensen's inequality for the logarithm:
#: :math:`\sum_i w_i \ln t_i \le \ln \sum_i w_i t_i` for :math:`t_i > 0`,
#: :math:`w_i \ge 0`, :math:`\sum_i w_i = 1`. Keywords as for :data:`JENSEN`, without ``f``.
JENSEN_LOG = Lemma(
    name="Jensen for ln",
    statement=r"\textstyle\sum_i w_i \ln t_i \le \ln \sum_i w_i t_i \quad "
              r"(t_i > 0,\ w_i \ge 0,\ \sum_i w_i = 1)",
    label="lem-jensen",
    parameters=("weights", "values"),
    optional=("index",),
    instantiate=_jensen_log,
)

#: The log-sum inequality
#: :math:`\sum_i a_i \ln\frac{a_i}{b_i} \ge A \ln\frac{A}{B}` with
#: :math:`A = \sum_i a_i`, :math:`B = \sum_i b_i`, for :math:`a_i, b_i > 0`.
#: Keywords: ``a``, ``b`` and ``index=(i, lower, upper)``, or lists ``a`` and ``b``.
LOG_SUM = Lemma(
    name="log-sum inequality",
    statement=r"\textstyle\sum_i a_i \ln\frac{a_i}{b_i} \ge A \ln\frac{A}{B} \quad "
              r"(a_i, b_i > 0,\ A = \sum_i a_i,\ B = \sum_i b_i)",
    label="cor-log-sum",
    parameters=("a", "b"),
    optional=("index",),
    instantiate=_log_sum,
)


# --------------------------------------------------------------------------- monotone contexts


def _monotonicity(context: sp.Expr, hole: sp.Symbol, ends: tuple[sp.Expr, sp.Expr],
                  facts: _Facts) -> int | None:
    """+1 if `context` is non-decreasing in `hole` between `ends`, -1 if non-increasing.

    0 if it does not depend on the hole; None if neither can be shown.
    """
    if hole not in context.free_symbols:
        return 0
    if context == hole:
        return 1

    def at_ends_positive(inner: sp.Expr) -> bool:
        return all(facts.is_positive(inner.xreplace({hole: end})) for end in ends)

    def combine(signs: list[int | None]) -> int | None:
        if None in signs:
            return None
        nonzero = {s for s in signs if s != 0}
        return nonzero.pop() if len(nonzero) == 1 else (0 if not nonzero else None)

    if isinstance(context, sp.Add):
        return combine([_monotonicity(arg, hole, ends, facts) for arg in context.args])
    if isinstance(context, sp.Mul):
        holders = [arg for arg in context.args if hole in arg.free_symbols]
        if len(holders) == 1:
            coefficient = sp.Mul(*(arg for arg in context.args if hole not in arg.free_symbols))
            inner = _monotonicity(holders[0], hole, ends, facts)
            if inner in (None, 0):
                return inner
            if facts.is_nonnegative(coefficient):
                return inner
            if facts.is_nonpositive(coefficient):
                return -inner
            return None
    if isinstance(context, (sp.Sum, sp.Integral)):
        # Term by term: if every term is ordered, so is their sum over a non-empty range.
        if any(hole in arg.free_symbols for lim in context.limits for arg in lim[1:]):
            return None
        if not _nonempty_range(context):
            return None
        return _monotonicity(context.function, hole, ends, facts)
    if isinstance(context, (sp.log, sp.exp)) and len(context.args) == 1:
        inner = context.args[0]
        if isinstance(context, sp.log) and not at_ends_positive(inner):
            return None
        return _monotonicity(inner, hole, ends, facts)
    if isinstance(context, sp.Pow) and hole not in context.exp.free_symbols:
        base, exponent = context.args
        inner = _monotonicity(base, hole, ends, facts)
        if inner is None or inner == 0:
            return inner
        if not at_ends_positive(base):
            return None
        if facts.is_positive(exponent):
            return inner
        if facts.is_positive(-exponent):
            return -inner
        return None
    # Fallback: the sign of the derivative, with the hole ranging over the
    # positive numbers when both ends are positive, otherwise over the reals.
    ends_positive = all(facts.is_positive(end) for end in ends)
    probe = sp.Dummy("h", positive=True) if ends_positive else sp.Dummy("h", real=True)
    slope = sp.diff(context.xreplace({hole: probe}), probe)
    if facts.is_nonnegative(slope):
        return 1
    if facts.is_nonpositive(slope):
        return -1
    return None


def _contexts(expr: sp.Expr, part: sp.Expr, hole: sp.Symbol, facts: _Facts):
    """Candidate contexts C with expr = C[part] (verified by the caller)."""
    if facts.equal(expr, part):
        yield hole
    seen = set()
    for form in (expr, sp.expand_log(expr), sp.expand(sp.expand_log(expr))):
        for pattern in (part, sp.expand_log(part)):
            if pattern.is_Number:
                continue
            context = _plug(form, pattern, hole)
            if hole in context.free_symbols and context not in seen:
                seen.add(context)
                yield context


def _plug(expr: sp.Expr, pattern: sp.Expr, hole: sp.Symbol) -> sp.Expr:
    """Replace `pattern` by `hole`, also inside sums and integrals over its index.

    SymPy's ``subs`` leaves a sum's summand alone when the pattern contains the
    summation index; a lemma instance such as ``t = q[i] / p[i]`` does.
    """
    if isinstance(expr, (sp.Sum, sp.Integral)):
        return expr.func(_plug(expr.function, pattern, hole), *expr.limits)
    if expr.is_Atom:
        return hole if expr == pattern else expr
    if expr.has(sp.Sum, sp.Integral):
        expr = expr.func(*(_plug(arg, pattern, hole) for arg in expr.args))
    return expr.subs(pattern, hole)


def _justify(before: sp.Expr, after: sp.Expr, lesser: sp.Expr, greater: sp.Expr,
             facts: _Facts) -> bool:
    """True if ``before <= after`` follows from ``lesser <= greater`` in a monotone context."""
    hole = sp.Dummy("hole")
    ends = (lesser, greater)
    # before = C[lesser], after = C[greater], C non-decreasing; or the mirror image.
    for source, target, wanted in ((lesser, greater, 1), (greater, lesser, -1)):
        # The context is found from either side: C[source] in `before` or C[target] in `after`.
        candidates = list(_contexts(before, source, hole, facts))
        candidates += [c for c in _contexts(after, target, hole, facts) if c not in candidates]
        for context in candidates:
            if not facts.equal(context.xreplace({hole: target}), after):
                continue
            if not facts.equal(context.xreplace({hole: source}), before):
                continue
            if _monotonicity(context, hole, ends, facts) == wanted:
                return True
    return False


# --------------------------------------------------------------------------- derivations


@dataclass(frozen=True)
class Step:
    """One verified step: ``relation`` is ``"="``, ``"<="`` or ``">="``."""

    relation: str
    expr: sp.Expr
    reason: str
    lemma: Lemma | None = None


def _latex(expr: sp.Basic) -> str:
    # Factors in SymPy's internal order print as p_i log(q_i), not log(q_i) p_i.
    return sp.latex(expr, order="none")


def _latex_text(text: str) -> str:
    # \text{} accepts inline $math$; only the characters that break it are escaped.
    return text.replace("&", r"\&").replace("%", r"\%").replace("#", r"\#")


class Derivation:
    r"""A chain of steps, each verified by SymPy when it is added.

    Parameters
    ----------
    start : sympy.Expr
        The first expression. Declare the symbols' assumptions
        (``positive=True`` and the like): the checks use them and nothing else.
    title : str, optional
        A name for the chain, used in its plain-text form.
    given : iterable of sympy relations, optional
        Facts the steps may use: ``Eq(lhs, rhs)`` is substituted in ``=``
        steps and side conditions (e.g. ``Eq(Sum(p[i], (i, 1, n)), 1)``), and
        ``expr > 0`` or ``expr >= 0`` declares the sign of an expression that
        is not a symbol (e.g. ``1 - theta > 0``). They are displayed with the
        chain.

    Attributes
    ----------
    start : sympy.Expr
    steps : tuple of Step
    result : sympy.Expr
        The last expression.
    relation : str
        ``"="``, ``"<="`` or ``">="``: what the chain proves about
        ``start`` and ``result``.

    Raises
    ------
    StepError
        From a step method, when the step cannot be verified.

    Examples
    --------
    Cross-entropy is entropy plus divergence, for any number of outcomes:

    >>> import sympy as sp
    >>> from klbook.derivation import Derivation
    >>> i = sp.Symbol("i", integer=True)
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> p, q = sp.IndexedBase("p", positive=True), sp.IndexedBase("q", positive=True)
    >>> chain = Derivation(-sp.Sum(p[i] * sp.log(q[i]), (i, 1, n))).equals(
    ...     -sp.Sum(p[i] * sp.log(p[i]), (i, 1, n)) + sp.Sum(p[i] * sp.log(p[i] / q[i]), (i, 1, n)),
    ...     "add and subtract sum p log p")
    >>> len(chain)
    1
    >>> print(chain._repr_latex_())  # doctest: +NORMALIZE_WHITESPACE
    \begin{align*}
    - \sum_{i=1}^{n} {p}_{i} \log{\left({q}_{i} \right)} &= - \sum_{i=1}^{n} {p}_{i} \log{\left({p}_{i} \right)} + \sum_{i=1}^{n} {p}_{i} \log{\left(\frac{{p}_{i}}{{q}_{i}} \right)} && \text{add and subtract sum p log p}
    \end{align*}
    """

    def __init__(self, start: Any, *, title: str | None = None, given: Iterable[Any] = ()):
        if isinstance(start, str):
            raise TypeError("start must be a SymPy expression, not a string")
        try:
            start = sp.sympify(start, strict=True)
        except sp.SympifyError:
            raise TypeError(f"start must be a SymPy expression, got {type(start).__name__}") from None
        if title is not None and not isinstance(title, str):
            raise TypeError(f"title must be a string or None, got {type(title).__name__}")
        self.start: sp.Expr = start
        self.title = title
        self._facts = _Facts(given)
        self._steps: list[Step] = []

    # accessors ---------------------------------------------------------------

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(self._steps)

    @property
    def given(self) -> tuple[sp.Basic, ...]:
        return self._facts.given

    @property
    def result(self) -> sp.Expr:
        return self._steps[-1].expr if self._steps else self.start

    @property
    def relation(self) -> str:
        inequalities = {s.relation for s in self._steps} - {"="}
        return inequalities.pop() if inequalities else "="

    def __len__(self) -> int:
        return len(self._steps)

    # steps -------------------------------------------------------------------

    def _check_arguments(self, expr: Any, reason: Any) -> sp.Expr:
        if not isinstance(reason, str) or not reason.strip():
            raise TypeError("reason must be a non-empty string saying why the step holds")
        if isinstance(expr, str):
            raise TypeError("expr must be a SymPy expression, not a string")
        try:
            return sp.sympify(expr, strict=True)
        except sp.SympifyError:
            raise TypeError(f"expr must be a SymPy expression, got {type(expr).__name__}") from None

    def _fail(self, expr: sp.Expr, reason: str, problem: str) -> StepError:
        return StepError(len(self._steps) + 1, reason, self.result, expr, problem)

    def equals(self, expr: Any, reason: str) -> "Derivation":
        """Add the step ``result = expr``, verified symbolically.

        Parameters
        ----------
        expr : sympy.Expr
            The new expression.
        reason : str
            Why it holds, shown next to the step.

        Returns
        -------
        Derivation
            This chain, so that steps can be chained.

        Raises
        ------
        StepError
            If SymPy cannot reduce the difference of the two sides to zero
            under the declared assumptions and the ``given`` facts.
        """
        expr = self._check_arguments(expr, reason)
        residual = self._facts.difference(self.result, expr)
        if residual != 0:
            raise self._fail(expr, reason, "SymPy cannot show that the two sides are equal; "
                                           f"their difference normalises to {residual}")
        self._steps.append(Step("=", expr, reason))
        return self

    def less_equal(self, expr: Any, reason: str, *, lemma: Lemma, **how: Any) -> "Derivation":
        """Add the step ``result <= expr``, justified by `lemma`.

        Parameters
        ----------
        expr : sympy.Expr
            The new, larger-or-equal expression.
        reason : str
            Why it holds, shown next to the step with the lemma's name.
        lemma : Lemma
            The inequality cited, e.g. :data:`LOG_LE_X_MINUS_1`.
        **how
            The lemma's instance, e.g. ``t=q[i] / p[i]``.

        Returns
        -------
        Derivation
            This chain.

        Raises
        ------
        StepError
            If the instance violates a side condition of the lemma, if the
            step is not the lemma's inequality in a monotone context, if it
            points the wrong way, or if the chain already has a ``>=`` step.
        TypeError
            If `lemma` is not a :class:`Lemma` or `how` does not match its keywords.
        """
        return self._inequality("<=", expr, reason, lemma, how)

    def greater_equal(self, expr: Any, reason: str, *, lemma: Lemma, **how: Any) -> "Derivation":
        """Add the step ``result >= expr``, justified by `lemma`; see :meth:`less_equal`."""
        return self._inequality(">=", expr, reason, lemma, how)

    def _inequality(self, relation: str, expr: Any, reason: str, lemma: Lemma,
                    how: dict[str, Any]) -> "Derivation":
        expr = self._check_arguments(expr, reason)
        if not isinstance(lemma, Lemma):
            raise TypeError(f"lemma must be a klbook.derivation.Lemma, got {type(lemma).__name__}")
        if self.relation not in ("=", relation):
            raise self._fail(expr, reason, f"the chain already has a {self.relation} step; "
                                           f"mixing it with {relation} proves nothing")
        try:
            lesser, greater = lemma.instance(self._facts, how)
        except _SideConditionError as exc:
            raise self._fail(expr, reason, f"{lemma.name} does not apply: {exc}") from None
        before, after = self.result, expr
        small, large = (before, after) if relation == "<=" else (after, before)
        if not _justify(small, large, lesser, greater, self._facts):
            backwards = _justify(large, small, lesser, greater, self._facts)
            if backwards:
                problem = (f"illegal direction: {lemma.name} gives {large} {'>=' if relation == '<=' else '<='} "
                           f"{small} here, the opposite of the claimed {relation}")
            else:
                problem = (f"the step is not {lemma.name} ({lesser} <= {greater}) "
                           "in a monotone context")
            raise self._fail(expr, reason, problem)
        self._steps.append(Step(relation, expr, reason, lemma))
        return self

    # display -----------------------------------------------------------------

    def _repr_latex_(self) -> str:
        lines = []
        first = _latex(self.start)
        for k, step in enumerate(self._steps):
            reason = step.reason if step.lemma is None else f"{step.reason} ({step.lemma.name})"
            reason = _latex_text(reason.replace("<=", r"≤").replace(">=", "≥"))
            lead = first if k == 0 else ""
            lines.append(f"{lead} &{_RELATIONS[step.relation]} {_latex(step.expr)} "
                         rf"&& \text{{{reason}}}")
        if not self._steps:
            lines.append(f"{first} &")
        if self.given:
            facts = r",\quad ".join(_latex(fact) for fact in self.given)
            lines.append(rf"& && \text{{given }} {facts}")
        return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"

    def __repr__(self) -> str:
        head = f"Derivation {self.title!r}" if self.title else "Derivation"
        count = f"{len(self)} verified step" + ("" if len(self) == 1 else "s")
        rows = [f"{head} ({count})", f"    {self.start}"]
        for step in self._steps:
            cite = f"; {step.lemma.name}" if step.lemma else ""
            rows.append(f"  {step.relation:>2} {step.expr}    [{step.reason}{cite}]")
        if self.given:
            rows.append("  given " + ", ".join(str(fact) for fact in self.given))
        return "\n".join(rows)
