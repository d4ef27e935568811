r"""Checked derivations: chains of ``=`` and ``<=`` steps that SymPy verifies as they are written.

A :class:`Derivation` starts at a SymPy expression and grows one step at a time.
Every step is checked the moment it is added, and a step that cannot be
verified raises :class:`StepError`, naming the step, its reason and the two
expressions. A chain that exists has therefore been verified, and its
``_repr_latex_`` shows exactly the steps that were, *under the premises it
shows*: the hypotheses (``assume``), the definitions (``define``), the verified
facts it cites, and the assumptions declared on its symbols.

What a step may use
-------------------
* An ``=`` step (:meth:`Derivation.equals`) is verified symbolically: both
  sides are brought to a normal form (logarithms expanded and products
  multiplied out *under the symbols' declared assumptions*, sums and integrals
  split by linearity with constants pulled out, bound variables renamed), the
  equalities among the premises are substituted, and the difference must
  simplify to zero. Nothing is forced: ``log(p/q) = log p - log q`` holds only
  for symbols declared positive.
* Sums and integrals are never *evaluated* inside an ``=`` step. Evaluation is
  its own step, :meth:`Derivation.evaluate`, or a fact, :func:`evaluated`: SymPy
  evaluates, and an independent high-precision numerical evaluation (mpmath's
  quadrature or series summation at several points of the parameters) must
  agree.
* An inequality step (:meth:`Derivation.less_equal`,
  :meth:`Derivation.greater_equal`) must be justified by a :class:`Lemma` from
  a closed registry: the module's lemmas below, or a lemma made from a verified
  chain (:meth:`Lemma.from_chain`). The lemma's side conditions are checked,
  and the step must be the lemma's inequality inside a *monotone context*.

The rules that make it sound
----------------------------
1. A premise about a free index (``1 - w[i] >= 0``) is never used under a sum or
   integral that binds that index; bound variables get fresh canonical names,
   in every limit of a multiple sum or integral.
2. A bound variable's declared assumptions must follow from its range
   (``i`` declared positive cannot run from 0).
3. Linearity over an infinite range (a series, or any integral) splits a sum
   or integral only when every piece but at most one is known to converge
   (its value is a premise), so ``log 2 = infinity - infinity`` is refused.
4. Every denominator and every logarithm's argument on either side of a step
   must be provably non-zero: ``(x**2 - 1)/(x - 1) = x + 1`` needs ``x != 1``.
5. Smoothness is proved, not presumed: Jensen's curvature and monotonicity by a
   derivative are refused for non-smooth functions (``Piecewise``, ``Abs``,
   ``Max``, ``floor``, ...), undefined functions, and functions that are not
   finite on the whole domain.
6. A sum over a possibly empty range is not positive.
7. Signs of numeric constants are certified by interval arithmetic
   (``mpmath.iv``); floating-point numbers are refused.
8. Premises are explicit: ``given`` takes hypotheses (:func:`assume`),
   definitions (:func:`define`) and verified facts (a :class:`Derivation`, its
   :attr:`~Derivation.conclusion`, or :func:`evaluated`); a bare relation is a
   ``TypeError``. Hypotheses that SymPy refutes are refused, and so is a chain
   whose conclusion is one of its hypotheses.
9. Chains are immutable (a step returns a new chain) and
   :meth:`Derivation.verify` re-checks every step and premise from scratch.

The module-level lemmas are proved in the book's chapter on Gibbs' inequality:

* :data:`LOG_LE_X_MINUS_1`: :math:`\ln t \le t - 1` for :math:`t > 0`;
* :data:`JENSEN`: Jensen's inequality for a finite sum and a function whose
  second derivative has a fixed sign on the values' domain;
* :data:`JENSEN_LOG`: its case :math:`f = \ln`;
* :data:`LOG_SUM`: the log-sum inequality;
* :data:`GIBBS`: Gibbs' inequality itself, for later chapters;
* :data:`NONNEGATIVE`: :math:`0 \le a` for an expression the premises make
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

import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import mpmath
import sympy as sp
from sympy.core.function import AppliedUndef

__all__ = [
    "Derivation",
    "Lemma",
    "Step",
    "StepError",
    "Hypothesis",
    "Definition",
    "Fact",
    "assume",
    "define",
    "evaluated",
    "LOG_LE_X_MINUS_1",
    "JENSEN",
    "JENSEN_LOG",
    "LOG_SUM",
    "GIBBS",
    "NONNEGATIVE",
]

_RELATIONS = {"=": r"=", "<=": r"\le", ">=": r"\ge"}
_BINDERS = (sp.Sum, sp.Integral)
# Functions that are not smooth everywhere: refused wherever a derivative decides.
_NONSMOOTH = (sp.Piecewise, sp.Abs, sp.sign, sp.Heaviside, sp.floor, sp.ceiling, sp.Max,
              sp.Min, sp.DiracDelta, sp.frac, sp.Mod, sp.KroneckerDelta, sp.re, sp.im, sp.arg)


class StepError(ValueError):
    """A step of a :class:`Derivation`, or a premise, that could not be verified.

    Attributes
    ----------
    step : int
        The step's number, counting from 1 (step ``k`` leads from expression
        ``k - 1`` to expression ``k``; expression 0 is the start). Step 0 is a
        problem with the premises or the start.
    reason : str
        The justification the author gave.
    lhs, rhs : sympy.Expr
        The expressions before and after the step.
    problem : str
        What went wrong.
    """

    def __init__(self, step: int, reason: str, lhs: Any, rhs: Any, problem: str):
        self.step, self.reason, self.lhs, self.rhs, self.problem = step, reason, lhs, rhs, problem
        super().__init__(
            f"step {step} ({reason}) fails: {problem}\n  from: {lhs}\n    to: {rhs}"
        )


class _Refused(Exception):
    """Raised inside the checks; becomes a StepError naming the step."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _Refused(message)


# --------------------------------------------------------------------------- premises

_TOKEN = object()  # only this module makes lemmas and facts


def _made_here(item: Any, message: str) -> None:
    if item._token is not _TOKEN:
        raise TypeError(message)


@dataclass(frozen=True)
class Hypothesis:
    """A hypothesis of the theorem a chain proves; made by :func:`assume`."""

    relation: sp.Basic
    name: str | None = None


@dataclass(frozen=True)
class Definition:
    """A definition ``symbol = expr``; made by :func:`define`."""

    symbol: sp.Symbol
    expr: sp.Expr


@dataclass(frozen=True, eq=False)
class Fact:
    """A verified relation: a chain's conclusion, or an evaluated sum or integral.

    Facts are made only by this module (:attr:`Derivation.conclusion`,
    :func:`evaluated`); each keeps what verified it, and :meth:`recheck`
    verifies it again.
    """

    relation: sp.Basic
    source: str
    hypotheses: tuple = ()
    definitions: tuple = ()
    _origin: Any = field(default=None, repr=False)
    _token: Any = field(default=None, repr=False)

    def __post_init__(self):
        _made_here(self, "facts are made by klbook.derivation only: cite a verified "
                         "Derivation, its .conclusion, or evaluated(...)")

    def recheck(self) -> "Fact":
        kind, payload = self._origin
        if kind == "chain":
            payload.verify()
        else:
            expr, value, facts_given = payload
            evaluated(expr, value, given=facts_given)
        return self


def assume(relation: Any, name: str | None = None) -> Hypothesis:
    """A hypothesis of the theorem, for a chain's ``given``; shown as "assume ...".

    Parameters
    ----------
    relation : sympy relation
        ``Eq(a, b)``, ``a > b``, ``a >= b``, ``a < b`` or ``a <= b``.
    name : str, optional
        How the text refers to it.

    Examples
    --------
    >>> import sympy as sp
    >>> theta = sp.Symbol("theta", positive=True)
    >>> assume(1 - theta > 0).relation
    1 - theta > 0
    """
    if not isinstance(relation, (sp.Equality, sp.StrictGreaterThan, sp.StrictLessThan,
                                 sp.GreaterThan, sp.LessThan)):
        raise TypeError("assume takes a SymPy relation: Eq(a, b), a > b, a >= b, a < b or "
                        f"a <= b; got {relation!r} of type {type(relation).__name__}")
    return Hypothesis(relation, name)


def define(symbol: Any, expr: Any) -> Definition:
    """A definition ``symbol = expr``, for a chain's ``given``; shown as "where ...".

    `symbol` must be a plain ``sympy.Symbol`` that does not occur in `expr`
    nor in any hypothesis, and an assumption declared on it
    (``positive=True``, ...) must be provable of `expr`; the chain checks all
    three and raises :class:`StepError` otherwise.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b = sp.symbols("a b", positive=True)
    >>> define(sp.Symbol("m", positive=True), (a + b) / 2).symbol
    m
    """
    if not isinstance(symbol, sp.Symbol) or isinstance(symbol, sp.Dummy):
        raise TypeError(f"define names a plain sympy.Symbol, got {symbol!r}")
    if isinstance(expr, str):
        raise TypeError("expr must be a SymPy expression, not a string")
    return Definition(symbol, sp.sympify(expr, strict=True))


# --------------------------------------------------------------------------- certified numbers


def _to_interval(expr: sp.Expr, ctx):
    """`expr` (no free symbols) as an mpmath interval; None if not supported."""
    if expr.is_Integer:
        return ctx.mpf(int(expr))
    if expr.is_Rational:
        return ctx.mpf(int(expr.p)) / ctx.mpf(int(expr.q))
    if expr is sp.pi:
        return ctx.pi
    if expr is sp.E:
        return ctx.e
    if expr is sp.EulerGamma:
        return ctx.euler
    args = [_to_interval(a, ctx) for a in expr.args]
    if any(a is None for a in args):
        return None
    if isinstance(expr, sp.Add):
        total = args[0]
        for a in args[1:]:
            total = total + a
        return total
    if isinstance(expr, sp.Mul):
        total = args[0]
        for a in args[1:]:
            total = total * a
        return total
    if isinstance(expr, sp.Pow):
        base, exponent = args
        if expr.exp.is_Integer:
            return base ** int(expr.exp)
        if base.a > 0:
            return ctx.exp(exponent * ctx.log(base))
        return None
    functions = {sp.exp: ctx.exp, sp.log: ctx.log, sp.sin: ctx.sin, sp.cos: ctx.cos,
                 sp.gamma: ctx.gamma}
    for kind, function in functions.items():
        if isinstance(expr, kind) and len(args) == 1:
            if kind is sp.log and not args[0].a > 0:
                return None
            return function(args[0])
    return None


def _certified_sign(expr: sp.Expr) -> int | None:
    """The sign of a constant, certified by interval arithmetic: -1, 0, 1, or None."""
    if expr.is_Rational:
        return 1 if expr.is_positive else -1 if expr.is_negative else 0
    ctx = mpmath.iv
    saved = ctx.prec
    try:
        for bits in (80, 300, 1200):
            ctx.prec = bits
            try:
                value = _to_interval(expr, ctx)
            except (ValueError, ZeroDivisionError, TypeError, ArithmeticError):
                value = None
            if value is None:
                break
            if value.a > 0:
                return 1
            if value.b < 0:
                return -1
    finally:
        ctx.prec = saved
    # Zero, or beyond reach: only an exact proof of zero counts.
    if sp.simplify(expr) == 0:
        return 0
    return None


def _certify_constants(expr: sp.Expr, cache: dict) -> sp.Expr:
    """Replace constant parts by symbols whose sign interval arithmetic certified."""
    if not isinstance(expr, sp.Basic) or expr.is_Atom and not isinstance(expr, sp.NumberSymbol):
        return expr
    if not expr.free_symbols and not expr.is_Rational:
        if expr not in cache:
            sign = _certified_sign(expr)
            if sign == 0:
                cache[expr] = sp.Integer(0)
            elif sign == 1:
                cache[expr] = sp.Dummy("c", positive=True)
            elif sign == -1:
                cache[expr] = sp.Dummy("c", negative=True)
            else:
                cache[expr] = sp.Dummy("c", real=True) if expr.is_real else sp.Dummy("c")
        return cache[expr]
    if isinstance(expr, (sp.Add, sp.Mul)):
        constant = [a for a in expr.args if not a.free_symbols]
        varying = [a for a in expr.args if a.free_symbols]
        if len(constant) > 1 or (constant and not constant[0].is_Rational):
            folded = expr.func(*constant)
            return expr.func(_certify_constants(folded, cache),
                             *(_certify_constants(a, cache) for a in varying))
        return expr.func(*constant, *(_certify_constants(a, cache) for a in varying))
    if isinstance(expr, _BINDERS):
        return expr
    return expr.func(*(_certify_constants(a, cache) for a in expr.args))


def _outside_limits(expr: sp.Basic):
    """The subexpressions of `expr` that are not the limits of a sum or integral."""
    yield expr
    if isinstance(expr, _BINDERS):
        yield from _outside_limits(expr.function)
    elif not expr.is_Atom:
        for arg in expr.args:
            yield from _outside_limits(arg)


def _tie_orders(limits: list) -> list:
    """The orders of `limits` (sorted by range) that permute only equal ranges; at most 24."""
    from itertools import groupby, permutations, product
    groups = [list(g) for _, g in groupby(limits, key=lambda lim: sp.Tuple(*lim[1:]))]
    orders = []
    for choice in product(*(permutations(g) for g in groups)):
        orders.append([lim for group in choice for lim in group])
        if len(orders) == 24:
            break
    return orders


def _free(expr: sp.Basic) -> set:
    """The free symbols of `expr`, without SymPy's Indexed objects.

    SymPy lists ``z[j]`` among the free symbols of ``Sum(z[j], (j, 1, n))``
    although ``j`` is bound; an Indexed object contributes its base and its
    free indices instead.
    """
    return {s for s in expr.free_symbols if not isinstance(s, sp.Indexed)}


_CANONICAL_NAME = re.compile(r"^_[kx](\d+)")


def _canonical_number(symbol: sp.Basic) -> int:
    """k for a bound variable renamed _k<k>..., -1 for any other symbol."""
    match = _CANONICAL_NAME.match(getattr(symbol, "name", ""))
    return int(match.group(1)) if match and not isinstance(symbol, sp.Dummy) else -1


def _check_exact(expr: sp.Basic, what: str) -> None:
    reserved = [s for s in expr.free_symbols | {v for part in expr.atoms(*_BINDERS)
                                                for v, *_ in part.limits}
                if _canonical_number(s) >= 0]
    _require(not reserved, f"{what} uses the symbol {reserved[0] if reserved else ''}, whose name "
                           "is reserved for the checker's bound variables")
    _require(not any(part in (sp.oo, -sp.oo) for part in _outside_limits(expr)
                     if part.is_Atom or part == -sp.oo),
             f"{what} contains an infinite value; a chain manipulates finite quantities only")
    unevaluated = expr.atoms(sp.Product, sp.Limit, sp.Derivative, sp.Lambda, sp.Subs)
    _require(not unevaluated, f"{what} contains {next(iter(unevaluated), '')}: evaluate it "
                              "(sympy.diff, .doit()) before it enters a chain, or prove its "
                              "value in a chain of its own")
    floats = expr.atoms(sp.Float)
    _require(not floats, f"{what} contains the floating-point number {next(iter(floats), '')}; "
                         "a proof uses exact numbers (sympy.Rational, sympy.log(3), ...)")
    _require(not expr.has(sp.zoo, sp.nan), f"{what} contains an undefined value (zoo or nan)")


# --------------------------------------------------------------------------- binders


def _binders_around(expr: sp.Basic, target: sp.Basic) -> set:
    """The variables bound around any occurrence of `target` in `expr`."""
    if expr == target or expr.is_Atom or target not in expr.free_symbols:
        return set()
    found: set = set()
    for arg in expr.args:
        inner = _binders_around(arg, target)
        if isinstance(expr, _BINDERS) and arg is expr.function and target in arg.free_symbols:
            inner |= {lim[0] for lim in expr.limits}
        found |= inner
    return found


# --------------------------------------------------------------------------- facts


class _Facts:
    """The premises of a chain, and the checks that use them.

    Equalities become rewrite rules applied to normal forms; strict and
    non-strict inequalities ``e > 0``, ``e >= 0`` let SymPy treat ``e`` as a
    positive (non-negative) symbol. Sums and integrals in a normal form are
    opaque placeholders (undefined functions of their free symbols), so that
    nothing but this module's own linearity rules splits them.
    """

    def __init__(self, relations: Iterable[sp.Basic], excluded: frozenset = frozenset(),
                 defined: Iterable[sp.Symbol] = (), constants: dict | None = None):
        self.relations = tuple(relations)
        self.excluded = excluded
        self.defined = tuple(defined)
        self.placeholders: dict = {}
        self.atoms_of: dict = {}
        self.constants: dict = {} if constants is None else constants
        self._without: dict = {}
        self._decided: dict = {}
        self.hidden: dict = {}
        self.revealed: dict = {}
        self.convergent: set = set()
        self.rules: list = []
        inequalities, equalities = [], []
        for fact in self.relations:
            if _free(fact) & excluded:
                continue
            (equalities if isinstance(fact, sp.Equality) else inequalities).append(fact)
        for fact in inequalities:
            expr = self.canonical(fact.gts - fact.lts)
            if isinstance(fact, (sp.StrictGreaterThan, sp.StrictLessThan)):
                self.hidden[expr] = sp.Dummy("pos", positive=True)
            else:
                self.hidden[expr] = sp.Dummy("nonneg", nonnegative=True)
        self.revealed = {dummy: expr for expr, dummy in self.hidden.items()}
        for _ in range(4):  # known values make more splits legal, which expose more values
            self._decided.clear()
            rules = [(self.normalise(f.lhs), self.normalise(f.rhs)) for f in equalities]
            convergent = set()
            for lhs, rhs in rules:
                for side, other in ((lhs, rhs), (rhs, lhs)):
                    if self._finite(other):
                        pending = [a for a in side.atoms(AppliedUndef) if self._is_placeholder(a)
                                   and a not in self.convergent]
                        if len(pending) == 1:
                            convergent.add(pending[0])
            self.rules = [self._orient(lhs, rhs) for lhs, rhs in rules]
            if convergent <= self.convergent:
                break
            self.convergent |= convergent
        self._decided.clear()

    def without(self, variables: set) -> "_Facts":
        """The same premises less those that mention one of `variables` (bound here)."""
        key = frozenset(variables) | self.excluded
        if not any(_free(r) & (key - self.excluded) for r in self.relations):
            return self
        if key not in self._without:
            self._without[key] = _Facts(self.relations, key, self.defined, self.constants)
        return self._without[key]

    # canonical forms -------------------------------------------------------

    def _range_assumptions(self, kind, lower, upper) -> dict:
        assumptions = {"integer": True} if kind is sp.Sum else {"real": True}
        threshold = 1 if kind is sp.Sum else 0
        if self.is_nonnegative(lower - threshold):
            assumptions["positive"] = True
        elif self.is_nonnegative(lower):
            assumptions["nonnegative"] = True
        elif self.is_nonnegative(-threshold - upper):
            assumptions["negative"] = True
        elif self.is_nonnegative(-upper):
            assumptions["nonpositive"] = True
        return assumptions

    def canonical(self, expr: sp.Basic, bound: frozenset = frozenset(), ordered=None):
        """Bound variables renamed _k0, _k1, ..., in the summand and in every limit.

        The outermost variable of a multiple sum or integral is renamed first, in
        the summand and in the inner limits that depend on it. A variable's
        number is one more than the largest number of the enclosing variables
        its sum or integral depends on (0 if none), so a closed sum has the same
        form wherever it stands. A renamed variable carries the assumptions its
        range implies (a sum index from 1 is a positive integer), and the
        author's declared assumptions must follow from the range.
        """
        expr = sp.sympify(expr)
        if isinstance(expr, _BINDERS):
            limits = [tuple(limit) for limit in expr.limits]
            for limit in limits:
                _require(len(limit) == 3, f"{expr} has an indefinite range {limit}: give both "
                                          "limits")
            variables = {limit[0] for limit in limits}
            if ordered is None and expr.func is sp.Sum and len(limits) > 1 and all(
                    lo.is_finite and hi.is_finite and
                    not (lo.free_symbols | hi.free_symbols) & variables for _, lo, hi in limits):
                # Finite sums over independent ranges commute: one order for all, the
                # ranges sorted, and ties broken by the smallest canonical form.
                limits.sort(key=lambda limit: sp.default_sort_key(sp.Tuple(*limit[1:])))
                forms = [self.canonical(expr.func(expr.function, *order), bound, ordered=True)
                         for order in _tie_orders(limits)]
                return min(forms, key=sp.default_sort_key)
            function, renamed = expr.function, [None] * len(limits)
            depth = 1 + max((_canonical_number(s) for s in _free(expr)), default=-1)
            for position in reversed(range(len(limits))):
                var, lower, upper = limits[position]
                _require(var not in bound, f"{var} is bound twice in {expr}")
                lower = self.canonical(lower, bound)
                upper = self.canonical(upper, bound)
                assumptions = self._range_assumptions(expr.func, lower, upper)
                self._check_declared(var, expr.func, lower, upper)
                tag = "".join(k[0] for k in sorted(assumptions))
                fresh = sp.Symbol(("_k" if expr.func is sp.Sum else "_x") + f"{depth}{tag}",
                                  **assumptions)
                function = function.xreplace({var: fresh})
                limits[:position] = [(v, lo.xreplace({var: fresh}), hi.xreplace({var: fresh}))
                                     for v, lo, hi in limits[:position]]
                renamed[position] = (fresh, lower, upper)
                bound, depth = bound | {var}, depth + 1
            return expr.func(self.canonical(function, bound), *renamed)
        if expr.is_Atom or not expr.args or not expr.has(*_BINDERS):
            return expr  # as written: an unevaluated x * (1/x) keeps its division
        return expr.func(*(self.canonical(a, bound) for a in expr.args))

    def _check_declared(self, var, kind, lower, upper) -> None:
        """A bound variable's declared assumptions must follow from its range."""
        if kind is sp.Integral:
            _require(not var.is_integer, f"the integration variable {var} is declared integer")
        checks = {"positive": lower - (1 if kind is sp.Sum else 0),
                  "nonnegative": lower,
                  "negative": -upper - (1 if kind is sp.Sum else 0),
                  "nonpositive": -upper}
        for name, margin in checks.items():
            if getattr(var, f"is_{name}") and not self.is_nonnegative(margin):
                raise _Refused(f"the bound variable {var} is declared {name}, but its range "
                               f"{lower}..{upper} does not make it so")

    # normal forms ----------------------------------------------------------

    def _is_placeholder(self, expr) -> bool:
        return isinstance(expr, AppliedUndef) and expr.func in self.atoms_of

    def repeated_series(self, expr: sp.Expr):
        """A series or integral of unknown convergence that two terms of `expr` share, or None.

        Two copies of a divergent series do not cancel (infinity - infinity), and
        merging them is not linearity: such an expression needs the series' value.
        """
        seen: dict = {}
        for term in sp.Add.make_args(self.canonical(expr).xreplace(self.hidden)):
            for a in self._opaque(term).atoms(AppliedUndef):
                if self._is_placeholder(a) and a not in self.convergent and \
                        not _finite_sum(self.atoms_of[a.func]):
                    seen.setdefault(a, set()).add(term)
        for a, terms in seen.items():
            if len(terms) > 1:
                return self.reveal(a)
        return None

    def _converges(self, expr: sp.Expr) -> bool:
        """Every sum and integral in `expr` has a known (finite) value."""
        return all(a in self.convergent for a in expr.atoms(AppliedUndef)
                   if self._is_placeholder(a))

    def _finite(self, expr: sp.Expr) -> bool:
        if expr.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
            return False
        unknown = [a for a in expr.atoms(AppliedUndef)
                   if self._is_placeholder(a) and a not in self.convergent]
        return not unknown and expr.is_finite is not False

    def _placeholder(self, atom: sp.Basic) -> sp.Expr:
        """An opaque stand-in for a canonical sum or integral, shared by equal ones."""
        if atom in self.placeholders:
            return self.placeholders[atom]
        # A sum or integral whose terms equal a known one's, term by term, is that one.
        for known, stand_in in list(self.placeholders.items()):
            if known.func is atom.func and known.limits == atom.limits:
                # a sum of c*f, for a non-zero constant c, is c times the sum of f
                factor = _constant_ratio(known.function, atom.function, known.limits[0][0])
                if factor is not None:
                    self.placeholders[atom] = factor * stand_in
                    return factor * stand_in
        sign = self._sign_of_atom(atom)
        function = sp.Function(f"_S{len(self.atoms_of)}", **sign)
        self.atoms_of[function] = atom
        stand_in = function(*sorted(_free(atom), key=sp.default_sort_key))
        self.placeholders[atom] = stand_in
        return stand_in

    def _sign_of_atom(self, atom) -> dict:
        """The sign a sum or integral has as a whole, from its terms' and its range's."""
        if not (_ordered_range(self, atom)):
            return {}
        function = atom.function
        nonempty = _nonempty_range(self, atom)
        if self.is_nonnegative(function):
            return {"positive": True} if nonempty and self.is_positive(function) \
                else {"nonnegative": True}
        if self.is_nonpositive(function):
            return {"negative": True} if nonempty and self.is_negative(function) \
                else {"nonpositive": True}
        return {}

    def normalise(self, expr: sp.Basic, canonical: bool = True) -> sp.Expr:
        """Canonical binders, premises hidden, sums and integrals split and made opaque."""
        if canonical:
            expr = self.canonical(sp.sympify(expr))
        expr = expr.xreplace(self.hidden)
        expr = self._opaque(expr)
        return sp.expand(sp.expand_log(expr))

    def _opaque(self, expr: sp.Basic) -> sp.Basic:
        if isinstance(expr, _BINDERS):
            return self._linearise(expr)
        if expr.is_Atom or not expr.args or not expr.has(*_BINDERS):
            return expr
        return expr.func(*(self._opaque(a) for a in expr.args))

    def _linearise(self, atom: sp.Basic) -> sp.Expr:
        """Split a (single-limit, canonical) sum or integral by linearity, where sound.

        A finite sum always splits. A series or an integral (which may be improper)
        splits off only the pieces known to converge (their value is a premise); the
        other pieces stay together, as one series or integral, and a constant comes
        out of it only if it is non-zero: 0 times a divergent series is not 0.
        """
        *inner_limits, (var, lower, upper) = atom.limits
        limits = (var, lower, upper)
        body = atom.func(atom.function, *inner_limits) if inner_limits else atom.function
        function = self.normalise(body, canonical=False)
        pieces: dict = {}
        for term in sp.Add.make_args(function):
            constant, varying = [], []
            for factor in sp.Mul.make_args(term):
                (varying if var in _free(factor) else constant).append(factor)
            key = sp.Mul(*varying)
            pieces[key] = pieces.get(key, 0) + sp.Mul(*constant)
        pieces = {v: c for v, c in pieces.items() if c != 0}
        if not pieces:
            return sp.Integer(0)
        length = upper - lower + (1 if isinstance(atom, sp.Sum) else 0)
        finite = lower.is_finite and upper.is_finite
        if finite and (isinstance(atom, sp.Sum) or set(pieces) == {sp.Integer(1)}):
            return sp.Add(*(c * (length if v == 1 else self._placeholder(atom.func(v, limits)))
                            for v, c in pieces.items()))
        # Pieces of known value split off (a convergent series or integral can be added
        # to anything); all the others stay together as one piece.
        known = {v: c for v, c in pieces.items()
                 if v != 1 and self._converges(self._placeholder(atom.func(v, limits)))}
        rest = {v: c for v, c in pieces.items() if v not in known}
        total = sp.Add(*(c * self._placeholder(atom.func(v, limits)) for v, c in known.items()))
        if not rest:
            return total
        if len(rest) == 1:
            (v, c), = rest.items()
            if v != 1 and self.is_nonzero(c):
                return total + c * self._placeholder(atom.func(v, limits))
        # One sign and numerical content for the rest, so that -S(f) and S(-f) agree.
        content, primitive = sp.Add(*(c * v for v, c in rest.items())).as_content_primitive()
        if primitive.could_extract_minus_sign():
            content, primitive = -content, -primitive
        return total + content * self._placeholder(atom.func(primitive, limits))

    def reveal(self, expr: sp.Expr) -> sp.Expr:
        """A normal form back in the author's terms, for messages."""
        for _ in range(8):
            stand_ins = [a for a in expr.atoms(AppliedUndef) if self._is_placeholder(a)]
            if not stand_ins:
                break
            expr = expr.xreplace({a: self.atoms_of[a.func] for a in stand_ins})
        return expr.xreplace(self.revealed)

    def _orient(self, lhs: sp.Expr, rhs: sp.Expr) -> tuple:
        """A rule eliminating a defined symbol, a sum or integral, or a symbol."""
        difference = sp.expand(lhs - rhs)
        placeholders = sorted((a for a in difference.atoms(AppliedUndef)
                               if self._is_placeholder(a)), key=sp.default_sort_key)
        symbols = sorted(_free(difference), key=sp.default_sort_key)
        targets = [s for s in self.defined if s in symbols] + placeholders + symbols
        for target in targets:
            coefficient = difference.coeff(target)
            rest = sp.expand(difference - coefficient * target)
            if coefficient != 0 and not rest.has(target) and not coefficient.has(target) \
                    and self.is_nonzero(coefficient):
                return target, sp.expand(-rest / coefficient)
        return lhs, rhs

    def _apply_rules(self, expr: sp.Expr) -> sp.Expr:
        for _ in range(6):  # rules may expose one another
            before = expr
            for lhs, rhs in self.rules:
                expr = expr.xreplace({lhs: rhs}) if lhs.is_Atom or self._is_placeholder(lhs) \
                    else expr.subs(lhs, rhs)
            expr = sp.expand(sp.expand_log(expr))
            if expr == before:
                break
        return expr

    def difference(self, a: sp.Expr, b: sp.Expr, quick: bool = False) -> sp.Expr:
        """``a - b`` reduced as far as the premises allow; zero means verified equal.

        With `quick`, a non-zero difference is returned as it is, not simplified for a
        message.
        """
        diff = sp.expand(self.normalise(a) - self.normalise(b))
        if diff == 0:
            return diff
        if self.rules:
            diff = self._apply_rules(diff)
            if diff == 0:
                return diff
        # Logarithms need the premises' expressions hidden as signed symbols; rational
        # identities need them as they are (1 - q is not independent of q). Sums and
        # integrals stay opaque: simplify sees only their stand-ins.
        revealed = diff.xreplace(self.revealed)
        # A cheap refutation first: if the difference is far from zero at random points,
        # with the premises' expressions hidden and shown, no simplification can make it
        # zero. (This only ever refuses; a verified equality still needs SymPy's proof.)
        if not revealed.has(*_BINDERS) and _numerically_nonzero(diff) and \
                _numerically_nonzero(revealed):
            return self.reveal(diff) if not quick else diff
        for attempt in (diff, sp.logcombine(diff), revealed):
            if sp.simplify(attempt, doit=False) == 0:
                return sp.Integer(0)
        # A premise's expression hidden as a signed symbol can hide a linear identity;
        # the equalities alone may show it.
        if self.hidden and self._plain().difference(a, b, quick=True) == 0:
            return sp.Integer(0)
        return diff if quick else self.reveal(sp.simplify(diff, doit=False))

    def _plain(self) -> "_Facts":
        """The equalities among the premises only (no expression hidden as a symbol)."""
        if not hasattr(self, "_plain_facts"):
            self._plain_facts = _Facts([r for r in self.relations if isinstance(r, sp.Equality)],
                                       self.excluded, self.defined, self.constants)
        return self._plain_facts

    def equal(self, a: sp.Expr, b: sp.Expr) -> bool:
        return self.difference(a, b, quick=True) == 0

    # signs -----------------------------------------------------------------

    def _forms(self, expr: sp.Expr):
        """`expr` in normal form with constants certified, then with the rules applied,
        then with each symbol bounded by a premise written through its margin."""
        # As written first (a square is non-negative before it is multiplied out).
        yield _certify_constants(self._opaque(self.canonical(expr).xreplace(self.hidden)),
                                 self.constants)
        normal = self.normalise(expr)
        yield _certify_constants(normal, self.constants)
        for symbol, replacement in self._margins():
            if symbol in normal.free_symbols:
                shifted = sp.expand(normal.xreplace(self.revealed).xreplace({symbol: replacement}))
                yield _certify_constants(shifted, self.constants)
        if self.rules:
            ruled = self._apply_rules(normal)
            yield _certify_constants(ruled, self.constants)
            if self.revealed:  # a premise's expression may cancel once it is shown again
                yield _certify_constants(sp.expand(ruled.xreplace(self.revealed)),
                                         self.constants)

    def _margins(self) -> list:
        """For a premise a*x + b > 0 (or >= 0) on a plain symbol x: x = (m - b)/a, m > 0."""
        if not hasattr(self, "_margin_list"):
            margins = []
            for expr, dummy in self.hidden.items():
                symbols = [s for s in _free(expr) if isinstance(s, sp.Symbol)]
                if len(symbols) != 1 or not expr.is_polynomial(symbols[0]):
                    continue
                x = symbols[0]
                a, b = sp.Poly(expr, x).all_coeffs() if sp.degree(expr, x) == 1 else (0, 0)
                if a == 0 or not (a.is_Rational and b.is_Rational):
                    continue
                margin = sp.Dummy("m", positive=True) if dummy.is_positive \
                    else sp.Dummy("m", nonnegative=True)
                margins.append((x, (margin - b) / a))
            self._margin_list = margins
        return self._margin_list

    def _decide(self, expr: sp.Expr, prop: str) -> bool:
        key = (expr, prop)
        if key not in self._decided:
            self._decided[key] = False
            for form in self._forms(expr):
                if getattr(form, prop) or getattr(
                        _certify_constants(sp.simplify(form, doit=False), self.constants), prop):
                    self._decided[key] = True
                    break
        return self._decided[key]

    def is_positive(self, expr: sp.Expr) -> bool:
        return self._decide(expr, "is_positive")

    def is_nonnegative(self, expr: sp.Expr) -> bool:
        return self._decide(expr, "is_nonnegative")

    def is_nonpositive(self, expr: sp.Expr) -> bool:
        return self.is_nonnegative(-expr)

    def is_negative(self, expr: sp.Expr) -> bool:
        return self.is_positive(-expr)

    def is_nonzero(self, expr: sp.Expr) -> bool:
        return self._decide(expr, "is_nonzero") or self.is_positive(expr) or self.is_negative(expr)

    def is_real(self, expr: sp.Expr) -> bool:
        return self._decide(expr, "is_real")

    def is_finite(self, expr: sp.Expr) -> bool:
        return self._decide(expr, "is_finite")

    # definedness -----------------------------------------------------------

    def undefined_parts(self, expr: sp.Expr) -> list:
        """Denominators and logarithm arguments that are not provably non-zero."""
        problems = []
        self._collect_undefined(self.canonical(expr), problems)
        return problems

    def _collect_undefined(self, expr: sp.Basic, problems: list) -> None:
        if expr.is_Atom:
            return
        if isinstance(expr, _BINDERS):
            self._collect_undefined(expr.function, problems)
            for _, lower, upper in expr.limits:
                self._collect_undefined(lower, problems)
                self._collect_undefined(upper, problems)
            return
        if isinstance(expr, sp.Pow) and expr.exp.is_negative is not False \
                and not expr.exp.is_nonnegative:
            if not self.is_nonzero(expr.base):
                problems.append(self.reveal(expr.base))
        if isinstance(expr, sp.log) and not self.is_nonzero(expr.args[0]):
            problems.append(self.reveal(expr.args[0]))
        # Functions with poles: tan(u) = sin(u)/cos(u) needs cos(u) != 0, and so on.
        poles = {sp.tan: sp.cos, sp.sec: sp.cos, sp.cot: sp.sin, sp.csc: sp.sin,
                 sp.coth: sp.sinh, sp.csch: sp.sinh}
        for kind, denominator in poles.items():
            if isinstance(expr, kind) and not self.is_nonzero(denominator(expr.args[0])):
                problems.append(denominator(self.reveal(expr.args[0])))
        if isinstance(expr, (sp.gamma, sp.loggamma, sp.digamma, sp.polygamma)):
            argument = expr.args[-1]  # poles at 0, -1, -2, ...
            if not (self.is_positive(argument) or argument.is_integer is False):
                problems.append(self.reveal(argument))
        for arg in expr.args:
            self._collect_undefined(arg, problems)


def _constant_ratio(f: sp.Expr, g: sp.Expr, var: sp.Symbol):
    """The non-zero constant c (free of `var`) with g = c f identically, or None."""
    if f == g:
        return sp.Integer(1)
    if f.atoms(AppliedUndef) or g.atoms(AppliedUndef) or f == 0:
        return None
    rng = random.Random(11)
    labels = {a.base.label for a in (f - g).atoms(sp.Indexed)}
    symbols = sorted((f.free_symbols | g.free_symbols) - labels, key=sp.default_sort_key)
    ratios = []
    for _ in range(2):
        point = {s: _sample_value(s, rng) for s in symbols}
        fv, gv = sp.N(f.xreplace(point), 20), sp.N(g.xreplace(point), 20)
        if not (fv.is_number and gv.is_number and fv.is_finite and gv.is_finite) or fv == 0:
            return None
        ratios.append(gv / fv)
    if abs(ratios[0] - ratios[1]) > sp.Float("1e-12") * (1 + abs(ratios[0])):
        return None
    if abs(ratios[0]) < sp.Float("1e-12") and all(abs(r) < sp.Float("1e-12") for r in ratios):
        return None
    for candidate in (sp.nsimplify(ratios[0], rational=True), sp.simplify(g / f, doit=False)):
        if var in _free(candidate) or candidate == 0:
            continue
        if sp.expand(g - candidate * f) == 0 or sp.simplify(g - candidate * f, doit=False) == 0:
            nonzero = (candidate.is_nonzero is True if candidate.free_symbols
                       else _certified_sign(candidate) in (1, -1))
            if nonzero:
                return candidate
    return None


def _numerically_nonzero(expr: sp.Expr) -> bool:
    """True if `expr` is clearly non-zero at two random points (symbols sampled by their
    assumptions, undefined functions and sums replaced by random values)."""
    labels = {a.base.label for a in expr.atoms(sp.Indexed)}
    for seed in (3, 5):
        rng = random.Random(seed)
        point = {f: _sample_value(f, rng) for f in sorted(expr.atoms(AppliedUndef),
                                                          key=sp.default_sort_key)}
        point.update({s: _sample_value(s, rng) for s in sorted(expr.free_symbols - labels,
                                                             key=sp.default_sort_key)})
        try:
            at_point = expr.xreplace(point)
            value = complex(sp.N(at_point, 20))
            scale = sum(abs(complex(sp.N(term, 20))) for term in sp.Add.make_args(at_point))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return False
        if not (abs(value) < float("inf")) or abs(value) <= 1e-9 * (1 + scale):
            return False
    return True


def _ordered_range(facts: _Facts, part: sp.Basic) -> bool:
    """Every range of a Sum (Integral) runs upwards (possibly empty)."""
    for limit in part.limits:
        _, lower, upper = limit
        extra = 1 if isinstance(part, sp.Sum) else 0
        if not facts.is_nonnegative(upper - lower + extra):
            return False
    return True


def _nonempty_range(facts: _Facts, part: sp.Basic) -> bool:
    """Every range of a Sum holds a term (of an Integral, has positive length)."""
    for limit in part.limits:
        _, lower, upper = limit
        if isinstance(part, sp.Sum):
            if not facts.is_nonnegative(upper - lower):
                return False
        elif not facts.is_positive(upper - lower):
            return False
    return True


def _finite_sum(part: sp.Basic) -> bool:
    return isinstance(part, sp.Sum) and _finite_range(part)


def _finite_range(part: sp.Basic) -> bool:
    return all(lim[1].is_finite and lim[2].is_finite for lim in part.limits)


# --------------------------------------------------------------------------- evaluation

_SAMPLES = 3


def _sample_value(symbol: sp.Symbol, rng: random.Random) -> sp.Expr:
    if symbol.is_integer:
        low = 1 if symbol.is_positive else 0 if symbol.is_nonnegative else -3
        return sp.Integer(rng.randint(max(low, 0) if symbol.is_nonnegative else low, 5))
    magnitude = sp.Rational(rng.randint(3, 30), 10)
    if symbol.is_positive or symbol.is_nonnegative:
        return magnitude
    if symbol.is_negative or symbol.is_nonpositive:
        return -magnitude
    return magnitude * rng.choice((-1, 1)) / 2


def _numeric(expr: sp.Expr, dps: int = 30):
    """`expr` (no free symbols) with mpmath: quadrature for integrals, nsum for series."""
    with mpmath.workdps(dps):
        return _numeric_value(expr)


def _numeric_value(expr: sp.Expr):
    if isinstance(expr, _BINDERS):
        *inner_limits, (var, lower, upper) = expr.limits
        a, b = _numeric_value(lower), _numeric_value(upper)
        body = expr.func(expr.function, *inner_limits) if inner_limits else expr.function
        term = _numeric_function(body, var)
        if isinstance(expr, sp.Integral):
            points = [a, b]
            if expr.function.has(*_NONSMOOTH) and mpmath.isfinite(a) and mpmath.isfinite(b):
                # kinks and jumps defeat quadrature's error estimate: many short panels
                points = list(mpmath.linspace(a, b, 257))
            return mpmath.quad(term, points)
        if mpmath.isfinite(a) and mpmath.isfinite(b) and b - a < 10_000:
            return mpmath.fsum(term(k) for k in range(int(a), int(b) + 1))
        return mpmath.nsum(term, [a, b])
    if expr == sp.oo:
        return mpmath.inf
    if expr == -sp.oo:
        return -mpmath.inf
    if expr.has(*_BINDERS):
        return _numeric_function(expr, None)(None)
    value = sp.N(expr, mpmath.mp.dps + 5)
    if not value.is_number or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise _Refused(f"{expr} has no numerical value")
    real, imag = value.as_real_imag()
    if imag != 0:
        return mpmath.mpc(str(sp.N(real, mpmath.mp.dps)), str(sp.N(imag, mpmath.mp.dps)))
    return mpmath.mpf(str(sp.N(real, mpmath.mp.dps)))


def _numeric_function(expr: sp.Expr, var):
    """`expr` as an mpmath function of `var` (sums and integrals inside evaluated numerically)."""
    compiled = None
    if not _outer_binders(expr):
        try:
            compiled = sp.lambdify([var] if var is not None else [], expr, modules="mpmath")
        except Exception:  # a function lambdify cannot translate: SymPy evaluates it
            compiled = None

    def by_sympy(t):
        local = expr
        if var is not None:
            point = sp.Integer(t) if isinstance(t, int) else sp.Float(str(t), mpmath.mp.dps)
            local = expr.xreplace({var: point})
        local = local.xreplace({b: sp.Float(str(_numeric_value(b)), mpmath.mp.dps)
                                for b in _outer_binders(local)})
        return _numeric_value(local)

    def function(t):
        if compiled is not None:
            try:
                return compiled(t) if var is not None else compiled()
            except Exception:
                pass
        return by_sympy(t)
    return function


def _evaluate_atom(atom: sp.Basic, facts: _Facts) -> sp.Expr:
    """SymPy's value of a sum or integral, cross-checked numerically; refused otherwise."""
    if isinstance(atom, sp.Integral):
        value = sp.integrate(atom.function, *atom.limits, conds="piecewise")
    else:
        value = atom.doit()
    value = _resolve_piecewise(value, facts, atom)
    _require(not value.has(*_BINDERS), f"SymPy cannot evaluate {atom}")
    _cross_check(atom, value, facts)
    return value


def _resolve_piecewise(value: sp.Expr, facts: _Facts, atom) -> sp.Expr:
    """Pick the branch of a Piecewise result whose condition the premises prove."""
    for piecewise in sorted(value.atoms(sp.Piecewise), key=sp.count_ops):
        for branch, condition in piecewise.args:
            if _holds(condition, facts):
                value = value.xreplace({piecewise: branch})
                break
            _require(_fails(condition, facts), f"SymPy's value of {atom} holds only under the "
                                                f"condition {condition}, which the premises do "
                                                "not decide")
        else:
            raise _Refused(f"no branch of SymPy's value of {atom} applies")
    return value


def _holds(condition, facts: _Facts) -> bool:
    if condition is sp.true:
        return True
    if isinstance(condition, sp.And):
        return all(_holds(c, facts) for c in condition.args)
    if isinstance(condition, sp.Or):
        return any(_holds(c, facts) for c in condition.args)
    if isinstance(condition, (sp.StrictGreaterThan, sp.StrictLessThan)):
        return facts.is_positive(condition.gts - condition.lts)
    if isinstance(condition, (sp.GreaterThan, sp.LessThan)):
        return facts.is_nonnegative(condition.gts - condition.lts)
    if isinstance(condition, sp.Unequality):
        return facts.is_nonzero(condition.lhs - condition.rhs)
    if isinstance(condition, sp.Equality):
        return facts.equal(condition.lhs, condition.rhs)
    return False


def _fails(condition, facts: _Facts) -> bool:
    if condition is sp.false:
        return True
    if isinstance(condition, sp.Rel):
        return _holds(condition.negated, facts)
    if isinstance(condition, sp.And):
        return any(_fails(c, facts) for c in condition.args)
    if isinstance(condition, sp.Or):
        return all(_fails(c, facts) for c in condition.args)
    return False


def _cross_check(atom: sp.Basic, value: sp.Expr, facts: _Facts) -> None:
    """High-precision numerics at several parameter points must agree with `value`."""
    free = atom.free_symbols | value.free_symbols
    _require(not atom.atoms(AppliedUndef, sp.Indexed),
             f"{atom} involves undefined functions or indexed symbols, so its value cannot be "
             "cross-checked numerically")
    rng = random.Random(20261202 + len(str(atom)))
    checked, tries = 0, 0
    inequalities = [r for r in facts.relations if not isinstance(r, sp.Equality)]
    while checked < _SAMPLES and tries < 60:
        tries += 1
        point = {s: _sample_value(s, rng) for s in sorted(free, key=sp.default_sort_key)}
        if not all(bool(r.xreplace(point)) for r in inequalities
                   if r.free_symbols <= free and not r.has(*_BINDERS)):
            continue
        try:
            numeric = _numeric(atom.xreplace(point))
            claimed = _numeric(value.xreplace(point))
        except (_Refused, ValueError, ZeroDivisionError, TypeError, ArithmeticError) as exc:
            raise _Refused(f"{atom} could not be evaluated numerically to cross-check SymPy "
                           f"({exc})") from None
        scale = max(abs(numeric), mpmath.mpf(1))
        _require(abs(numeric - claimed) <= scale * mpmath.mpf(10) ** -12,
                 f"SymPy's value {value} of {atom} disagrees with numerical evaluation at "
                 f"{point}: {mpmath.nstr(numeric, 15)} against {mpmath.nstr(claimed, 15)}")
        checked += 1
    _require(checked > 0, f"no parameter point satisfying the premises was found to "
                          f"cross-check {atom}")


def evaluated(expr: Any, value: Any, *, given: Iterable[Any] = ()) -> Fact:
    """A verified fact ``expr = value`` for a sum or integral, for a chain's ``given``.

    SymPy evaluates `expr` (under the hypotheses in `given`), the result must
    equal `value`, and an independent numerical evaluation (mpmath quadrature
    or series summation at 30 digits) at several points of the parameters must
    agree with `value` to 12 digits.

    Raises
    ------
    StepError
        If SymPy cannot evaluate `expr`, its value differs from `value`, or the
        numerical check disagrees or cannot be made.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> lam = sp.Symbol("lambda", positive=True)
    >>> evaluated(sp.Integral(lam * sp.exp(-lam * x), (x, 0, sp.oo)), 1).relation
    Eq(Integral(lambda*exp(-lambda*x), (x, 0, oo)), 1)
    """
    if isinstance(expr, str) or isinstance(value, str):
        raise TypeError("evaluated takes SymPy expressions, not strings")
    expr, value = sp.sympify(expr, strict=True), sp.sympify(value, strict=True)
    if not isinstance(expr, _BINDERS):
        raise TypeError(f"evaluated takes a Sum or an Integral, got {type(expr).__name__}")
    given = tuple(given)
    statement = sp.Eq(expr, value, evaluate=False)
    try:
        _check_exact(expr, "the sum or integral")
        _check_exact(value, "the value")
        facts = _premises(given)[0]
        facts.canonical(expr)  # bound variables consistent with their ranges
        computed = _evaluate_atom(expr, facts)
        _require(facts.equal(computed, value),
                 f"SymPy evaluates it to {computed}, not {value}")
    except _Refused as exc:
        raise StepError(0, "evaluation", expr, value, str(exc)) from None
    hypotheses = tuple(g for g in given if isinstance(g, Hypothesis))
    return Fact(statement, "evaluated", hypotheses, (), ("evaluated", (expr, value, given)),
                _TOKEN)


# --------------------------------------------------------------------------- lemmas


@dataclass(frozen=True, eq=False)
class Lemma:
    r"""A named inequality that an inequality step may cite.

    Lemmas form a closed registry: the module's lemmas, and those made from a
    verified chain by :meth:`from_chain`. Calling ``Lemma(...)`` directly raises
    ``TypeError``.

    Attributes
    ----------
    name : str
        Short name, shown next to the step.
    statement : str
        The inequality and its side conditions, in LaTeX.
    label : str or None
        The label of the block in the book that proves it.
    parameters : tuple of str
        The keyword arguments an instance takes.

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
    instantiate: Callable[..., tuple[sp.Expr, sp.Expr]] = field(repr=False)
    optional: tuple[str, ...] = ()
    _chain: Any = field(default=None, repr=False)
    _token: Any = field(default=None, repr=False)

    def __post_init__(self):
        _made_here(self, "lemmas come from a closed registry: use the lemmas of "
                         "klbook.derivation or Lemma.from_chain(verified_chain, ...)")

    def instance(self, facts: _Facts, how: dict[str, Any]) -> tuple[sp.Expr, sp.Expr]:
        missing = [name for name in self.parameters if name not in how]
        unknown = [name for name in how if name not in self.parameters + self.optional]
        if missing or unknown:
            raise TypeError(
                f"lemma {self.name!r} takes the keyword arguments "
                f"{', '.join(self.parameters + self.optional)}; "
                + (f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}")
            )
        for name, value in how.items():
            if isinstance(value, sp.Basic):
                _check_exact(value, f"the lemma's argument {name}")
        return self.instantiate(facts, **how)

    @classmethod
    def from_chain(cls, chain: "Derivation", *, name: str, parameters: Iterable[sp.Symbol],
                   label: str | None = None) -> "Lemma":
        """A lemma stating a verified inequality chain's conclusion for any values of `parameters`.

        An instance substitutes values for the plain symbols `parameters`
        (keyword arguments named after them). Each value must provably satisfy
        its symbol's declared assumptions, and the chain's hypotheses must hold
        for the instance; so the lemma states no more than the chain proved.

        Examples
        --------
        >>> import sympy as sp
        >>> from klbook.derivation import Derivation, LOG_LE_X_MINUS_1
        >>> a = sp.Symbol("a", positive=True)
        >>> chain = Derivation(sp.log(a)).less_equal(a - 1, "tangent", lemma=LOG_LE_X_MINUS_1, t=a)
        >>> TANGENT = Lemma.from_chain(chain, name="tangent line", parameters=[a])
        >>> y = sp.Symbol("y", positive=True)
        >>> Derivation(2 * sp.log(y)).less_equal(2 * (y - 1), "the lemma", lemma=TANGENT, a=y).result
        2*y - 2
        """
        if not isinstance(chain, Derivation):
            raise TypeError(f"from_chain takes a verified Derivation, got {type(chain).__name__}")
        # The chain was verified as it was built; Derivation.verify re-checks it with every
        # chain that cites the lemma.
        if chain.relation == "=" or not chain.steps:
            raise TypeError("a lemma is an inequality: the chain must prove <= or >=")
        parameters = tuple(parameters)
        for symbol in parameters:
            if not isinstance(symbol, sp.Symbol) or isinstance(symbol, sp.Dummy):
                raise TypeError(f"parameters must be plain sympy.Symbol, got {symbol!r}")
            if symbol not in chain.start.free_symbols | chain.result.free_symbols:
                raise TypeError(f"{symbol} does not occur in the chain's statement")
        statement = sp.Tuple(chain.start, chain.result)
        for symbol in parameters:
            _bound = {lim[0] for part in statement.atoms(*_BINDERS) for lim in part.limits}
            if symbol in _bound:
                raise TypeError(f"{symbol} is bound in the chain's statement; it cannot be a "
                                "parameter")
        # A defined symbol stands for its definition: the lemma states the chain's
        # conclusion about the definition, not about any value of the symbol.
        definitions = {g.symbol: g.expr for g in chain.given if isinstance(g, Definition)}
        for fact in (g for g in chain.given if isinstance(g, Fact)):
            definitions.update({d.symbol: d.expr for d in fact.definitions})
        start, result = chain.start.xreplace(definitions), chain.result.xreplace(definitions)
        lesser, greater = (start, result) if chain.relation == "<=" else (result, start)
        premises = chain.hypotheses

        def instantiate(facts: _Facts, **how):
            values = {symbol: sp.sympify(how[symbol.name]) for symbol in parameters}
            for symbol, value in values.items():
                _require_assumptions(symbol, value, facts)
            for hypothesis in premises:
                relation = hypothesis.relation.xreplace(values)
                _require(_holds(relation, facts),
                         f"the lemma's hypothesis {relation} does not follow from the premises")
            return lesser.xreplace(values), greater.xreplace(values)

        return cls(name=name, statement=f"{sp.latex(lesser)} \\le {sp.latex(greater)}",
                   label=label, parameters=tuple(s.name for s in parameters),
                   instantiate=instantiate, _chain=chain, _token=_TOKEN)


def _require_assumptions(symbol: sp.Symbol, value: sp.Expr, facts: _Facts) -> None:
    """`value` has every property declared on `symbol` (positive, integer, prime, ...)."""
    signs = {"positive": facts.is_positive, "nonnegative": facts.is_nonnegative,
             "negative": facts.is_negative, "nonpositive": facts.is_nonpositive,
             "nonzero": facts.is_nonzero, "real": facts.is_real, "finite": facts.is_finite}
    for prop, holds in symbol.assumptions0.items():
        if not holds or prop in ("commutative", "complex", "extended_real", "hermitian",
                                 "infinite") or prop.startswith("extended_"):
            continue
        test = signs.get(prop, lambda v, prop=prop: getattr(v, f"is_{prop}") is True)
        _require(test(value), f"{symbol} = {value} is not provably {prop}")


def _indexed_terms(values: Any, index: Any, name: str) -> tuple:
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


def _per_term(facts: _Facts, index) -> _Facts:
    # A side condition about the terms holds for every index value only if it was
    # proved without premises about that particular index.
    return facts if index is None else facts.without({index[0]})


def _finite_index(facts: _Facts, index, lemma: str) -> None:
    if index is not None:
        _require(sp.sympify(index[1]).is_finite and sp.sympify(index[2]).is_finite,
                 f"{lemma} is applied here to finite sums only; the range {index} is infinite")
        _require(_nonempty_range(facts, sp.Sum(1, index)),
                 f"the range {index} is not provably non-empty")


def _check_weights(facts: _Facts, weights, index) -> None:
    for w in _each(weights, index):
        _require(_per_term(facts, index).is_nonnegative(w), f"weight {w} is not provably >= 0")
    total = sp.Add(*weights) if index is None else sp.Sum(weights, index)
    _require(facts.equal(total, 1), f"the weights do not provably sum to 1 ({total} = 1 is not "
                                    "implied; state it with given=[assume(Eq(..., 1))])")


def _log_le_x_minus_1(facts: _Facts, *, t: Any) -> tuple[sp.Expr, sp.Expr]:
    t = sp.sympify(t)
    _require(facts.is_positive(t), f"t = {t} is not provably > 0")
    return sp.log(t), t - 1


def _smooth_on(function_of_x: sp.Expr, x: sp.Symbol, facts: _Facts, order: int) -> None:
    """`function_of_x` and its derivatives up to `order` are finite and smooth on x's domain."""
    _require(not function_of_x.has(*_NONSMOOTH),
             f"{function_of_x} is not smooth (Piecewise, Abs, Max, floor, ...): its derivatives "
             "do not decide convexity or monotonicity")
    _require(not any(x in a.free_symbols for a in function_of_x.atoms(AppliedUndef)),
             f"{function_of_x} involves an undefined function of the variable")
    derivative = function_of_x
    for k in range(order + 1):
        _require(facts.is_finite(derivative) and facts.is_real(derivative),
                 f"{derivative} is not provably finite and real on the whole domain of {x}; "
                 "the function may have a pole or a jump")
        derivative = sp.diff(derivative, x)


def _jensen(facts: _Facts, *, f: Any, weights: Any, values: Any, index: Any = None):
    weights, _ = _indexed_terms(weights, index, "weights")
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
    _finite_index(facts, index, "Jensen")
    _check_weights(facts, weights, index)
    term_facts = _per_term(facts, index)
    positive_values = all(term_facts.is_positive(v) for v in _each(values, index))
    x = sp.Dummy("x", positive=True) if positive_values else sp.Dummy("x", real=True)
    if not positive_values:
        _require(all(term_facts.is_real(v) for v in _each(values, index)),
                 "the values are not provably real")
    _smooth_on(function(x), x, facts, 2)
    curvature = sp.simplify(sp.diff(function(x), x, 2))
    mean_of_f = _weighted_sum(weights, values, index, function)
    f_of_mean = function(_weighted_sum(weights, values, index))
    if facts.is_nonpositive(curvature):  # concave: the mean of f is below f of the mean
        return mean_of_f, f_of_mean
    if facts.is_nonnegative(curvature):  # convex
        return f_of_mean, mean_of_f
    raise _Refused(f"the sign of f''(x) = {curvature} is not determined on the "
                   "values' domain, so f is not provably convex or concave")


def _jensen_log(facts: _Facts, *, weights: Any, values: Any, index: Any = None):
    return _jensen(facts, f=sp.log, weights=weights, values=values, index=index)


def _log_sum(facts: _Facts, *, a: Any, b: Any, index: Any = None):
    a, _ = _indexed_terms(a, index, "a")
    b, _ = _indexed_terms(b, index, "b")
    if index is None and len(a) != len(b):
        raise TypeError("a and b must have the same length")
    _finite_index(facts, index, "the log-sum inequality")
    for term in _each(a, index) + _each(b, index):
        _require(_per_term(facts, index).is_positive(term), f"{term} is not provably > 0")
    if index is None:
        total_a, total_b = sp.Add(*a), sp.Add(*b)
        left = sp.Add(*(ai * sp.log(ai / bi) for ai, bi in zip(a, b)))
    else:
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
        _require(_per_term(facts, index).is_positive(term), f"{term} is not provably > 0")
    if index is None:
        total_p, total_q = sp.Add(*p), sp.Add(*q)
        divergence = sp.Add(*(pi * sp.log(pi / qi) for pi, qi in zip(p, q)))
    else:
        total_p, total_q = sp.Sum(p, index), sp.Sum(q, index)
        divergence = sp.Sum(p * sp.log(p / q), index)
    _require(facts.equal(total_p, 1), f"{total_p} = 1 is not implied by the premises")
    _require(facts.is_nonnegative(1 - total_q), f"{total_q} <= 1 is not implied by the premises")
    return sp.Integer(0), divergence


#: :math:`0 \le a` for an expression :math:`a` that is provably non-negative under
#: the declared assumptions and premises; used to drop a non-negative term.
#: Keyword: ``term``.
NONNEGATIVE = Lemma(
    name="non-negative term",
    statement=r"0 \le a \quad (a \ge 0 \text{ by the assumptions})",
    label=None,
    parameters=("term",),
    instantiate=_nonnegative,
    _token=_TOKEN,
)

#: Gibbs' inequality :math:`\sum_i p_i \ln\frac{p_i}{q_i} \ge 0` for :math:`p_i, q_i > 0`,
#: :math:`\sum_i p_i = 1` and :math:`\sum_i q_i \le 1` (the sum runs over the support of
#: :math:`P`, finite or countable). Keywords: ``p``, ``q`` and ``index=(i, lower, upper)``,
#: or lists.
GIBBS = Lemma(
    name="Gibbs' inequality",
    statement=r"\textstyle\sum_i p_i \ln\frac{p_i}{q_i} \ge 0 \quad "
              r"(p_i, q_i > 0,\ \sum_i p_i = 1,\ \sum_i q_i \le 1)",
    label="thm-gibbs",
    parameters=("p", "q"),
    optional=("index",),
    instantiate=_gibbs,
    _token=_TOKEN,
)

#: :math:`\ln t \le t - 1` for :math:`t > 0`, with equality only at :math:`t = 1`.
#: Keyword: ``t``.
LOG_LE_X_MINUS_1 = Lemma(
    name="ln t <= t - 1",
    statement=r"\ln t \le t - 1 \quad (t > 0)",
    label="lem-log-le",
    parameters=("t",),
    instantiate=_log_le_x_minus_1,
    _token=_TOKEN,
)

#: Jensen's inequality :math:`\sum_i w_i f(t_i) \le f(\sum_i w_i t_i)` for concave
#: :math:`f` (reversed for convex), weights :math:`w_i \ge 0` summing to 1, over a
#: finite range. Keywords: ``f`` (a ``sympy.Lambda`` or callable), ``weights``,
#: ``values`` and ``index=(i, lower, upper)`` for a sum, or lists of ``weights`` and
#: ``values``. Concavity or convexity is established from the sign of :math:`f''` on
#: the positive numbers (if every value is provably positive) or on the reals; ``f``
#: must be smooth and finite there.
JENSEN = Lemma(
    name="Jensen",
    statement=r"\textstyle\sum_i w_i f(t_i) \le f\big(\sum_i w_i t_i\big) \quad "
              r"(f'' \le 0,\ w_i \ge 0,\ \sum_i w_i = 1)",
    label="lem-jensen",
    parameters=("f", "weights", "values"),
    optional=("index",),
    instantiate=_jensen,
    _token=_TOKEN,
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
    _token=_TOKEN,
)

#: The log-sum inequality
#: :math:`\sum_i a_i \ln\frac{a_i}{b_i} \ge A \ln\frac{A}{B}` with
#: :math:`A = \sum_i a_i`, :math:`B = \sum_i b_i`, for :math:`a_i, b_i > 0` over a finite range.
#: Keywords: ``a``, ``b`` and ``index=(i, lower, upper)``, or lists ``a`` and ``b``.
LOG_SUM = Lemma(
    name="log-sum inequality",
    statement=r"\textstyle\sum_i a_i \ln\frac{a_i}{b_i} \ge A \ln\frac{A}{B} \quad "
              r"(a_i, b_i > 0,\ A = \sum_i a_i,\ B = \sum_i b_i)",
    label="cor-log-sum",
    parameters=("a", "b"),
    optional=("index",),
    instantiate=_log_sum,
    _token=_TOKEN,
)

_BUILTIN_LEMMAS = (NONNEGATIVE, GIBBS, LOG_LE_X_MINUS_1, JENSEN, JENSEN_LOG, LOG_SUM)


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
    if isinstance(context, _BINDERS):
        # Term by term over an ordered finite range: if every term is ordered, so is the sum.
        # Under a series or an integral the two sides might not exist: refused.
        if any(hole in arg.free_symbols for lim in context.limits for arg in lim[1:]):
            return None
        if not isinstance(context, sp.Sum) or not _finite_range(context):
            return None
        if not _ordered_range(facts, context):
            return None
        inner = facts.without({lim[0] for lim in context.limits})
        return _monotonicity(context.function, hole, ends, inner)
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
    # Fallback: the sign of the derivative, with the hole ranging over the positive
    # numbers when both ends are positive, otherwise over the reals; the context must be
    # smooth and finite on that whole domain (no jump, kink or pole between the ends).
    ends_positive = all(facts.is_positive(end) for end in ends)
    if not ends_positive and not all(facts.is_real(end) for end in ends):
        return None
    probe = sp.Dummy("h", positive=True) if ends_positive else sp.Dummy("h", real=True)
    local = context.xreplace({hole: probe})
    try:
        _smooth_on(local, probe, facts, 1)
    except _Refused:
        return None
    slope = sp.diff(local, probe)
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
    if isinstance(expr, _BINDERS):
        return expr.func(_plug(expr.function, pattern, hole), *expr.limits)
    if expr.is_Atom:
        return hole if expr == pattern else expr
    if expr.has(*_BINDERS):
        expr = expr.func(*(_plug(arg, pattern, hole) for arg in expr.args))
    return expr.subs(pattern, hole)


def _justify(before: sp.Expr, after: sp.Expr, lemma: "Lemma", how: dict,
             facts: _Facts) -> bool:
    """True if ``before <= after`` follows from the lemma's instance in a monotone context."""
    lesser, greater = lemma.instance(facts, how)
    hole = sp.Dummy("hole")
    instance_symbols = _free(lesser) | _free(greater)
    # before = C[lesser], after = C[greater], C non-decreasing; or the mirror image.
    for source, target, wanted in ((lesser, greater, 1), (greater, lesser, -1)):
        candidates = list(_contexts(before, source, hole, facts))
        candidates += [c for c in _contexts(after, target, hole, facts) if c not in candidates]
        # The lemma added to both sides: C(h) = before - source + h.
        candidates.append(before - source + hole)
        for context in candidates:
            if not facts.equal(context.xreplace({hole: target}), after):
                continue
            if not facts.equal(context.xreplace({hole: source}), before):
                continue
            # An instance about a variable the context binds must hold for every value of
            # it: its side conditions are re-checked without premises about that variable.
            bound = _binders_around(context, hole)
            if bound & instance_symbols:
                try:
                    lemma.instance(facts.without(bound), how)
                except _Refused:
                    continue
            if _monotonicity(context, hole, (lesser, greater), facts) == wanted:
                return True
    return False


# --------------------------------------------------------------------------- derivations


@dataclass(frozen=True)
class Step:
    """One verified step.

    Attributes
    ----------
    kind : str
        ``"equals"``, ``"less_equal"``, ``"greater_equal"`` or ``"evaluate"``.
    relation : str
        ``"="``, ``"<="`` or ``">="``.
    expr : sympy.Expr
        The expression the step leads to.
    reason : str
        The author's justification.
    lemma : Lemma or None
        The lemma an inequality step cites.
    how : dict
        The lemma's keyword arguments.
    """

    relation: str
    expr: sp.Expr
    reason: str
    lemma: Lemma | None = None
    kind: str = "equals"
    how: dict = field(default_factory=dict, compare=False)


def _latex(expr: sp.Basic) -> str:
    # Factors in SymPy's internal order print as p_i log(q_i), not log(q_i) p_i.
    return sp.latex(expr, order="none")


def _latex_text(text: str) -> str:
    """A reason for \\text{}: inline $math$ kept, code-style words (q_i/p_i, s^2) set as math.

    Outside math, ``_`` and ``^`` are errors in MathJax's text mode; a word that holds
    one is set in inline math instead, and &, %, # are escaped.
    """
    parts = re.split(r"(\$[^$]*\$)", text)
    for k, part in enumerate(parts):
        if k % 2 == 0:  # outside $...$
            part = part.replace("&", r"\&").replace("%", r"\%").replace("#", r"\#")
            parts[k] = re.sub(r"([^\s,;:]*[_^][^\s,;:]*)", lambda m: f"${m.group(1)}$", part)
    return "".join(parts)


def _premise_relation(item: Any) -> sp.Basic:
    if isinstance(item, Hypothesis):
        relation = item.relation
    elif isinstance(item, Definition):
        relation = sp.Eq(item.symbol, item.expr, evaluate=False)
    elif isinstance(item, Fact):
        relation = item.relation
    else:
        raise TypeError(f"unknown premise {item!r}")
    if isinstance(relation, sp.StrictLessThan):
        relation = sp.StrictGreaterThan(relation.rhs, relation.lhs, evaluate=False)
    elif isinstance(relation, sp.LessThan):
        relation = sp.GreaterThan(relation.rhs, relation.lhs, evaluate=False)
    return relation


def _premise_items(given: Iterable[Any]) -> tuple:
    items = []
    for item in given:
        if isinstance(item, Derivation):
            item = item.conclusion
        if isinstance(item, (Hypothesis, Definition, Fact)):
            items.append(item)
        elif isinstance(item, sp.Basic) and isinstance(item, sp.Rel):
            raise TypeError(
                f"given holds {item}, a bare relation: say what it is: assume({item}) for a "
                "hypothesis of the theorem, define(symbol, expr) for a definition, or a verified "
                "fact (a Derivation, chain.conclusion, or evaluated(...))")
        else:
            raise TypeError("given must hold assume(...), define(...), evaluated(...) or verified "
                            f"Derivation objects; got {item!r} of type {type(item).__name__}")
    return tuple(items)


def _premises(given: Iterable[Any]) -> tuple[_Facts, tuple]:
    """The facts of a list of premises, after checking them; raises _Refused."""
    items = _premise_items(given)
    hypotheses = [i for i in items if isinstance(i, Hypothesis)]
    definitions = [i for i in items if isinstance(i, Definition)]
    cited = [i for i in items if isinstance(i, Fact)]
    for item in items:
        relation = item.relation if not isinstance(item, Definition) else item.expr
        _check_exact(relation, f"the premise {relation}")
    # A cited fact states what its origin proves (a fact copied with another relation is
    # refused); its hypotheses must be hypotheses here too, and its definitions agree.
    for fact in cited:
        _require(fact.relation == _proved_relation(fact),
                 f"the fact {fact.relation} is not what its origin proves")
        for hypothesis in fact.hypotheses:
            _require(any(_same_relation(hypothesis.relation, h.relation) for h in hypotheses),
                     f"the cited fact {fact.relation} assumes {hypothesis.relation}, which is "
                     "not a hypothesis here")
        for definition in fact.definitions:
            if definition not in definitions:
                definitions.append(definition)
    symbols = [d.symbol for d in definitions]
    duplicates = {s for s in symbols if symbols.count(s) > 1}
    _require(not duplicates, f"{', '.join(map(str, duplicates))} is defined twice")
    relations = [_premise_relation(i) for i in hypotheses + cited] + \
                [_premise_relation(d) for d in definitions]
    facts = _Facts(relations, defined=symbols)
    for definition in definitions:
        _check_definition(definition, hypotheses, relations)
    for hypothesis in hypotheses:
        _check_consistent(hypothesis, relations)
    return facts, tuple(items)


def _proved_relation(fact: Fact) -> sp.Basic:
    kind, payload = fact._origin if isinstance(fact._origin, tuple) else (None, None)
    if kind == "chain" and isinstance(payload, Derivation) and payload.steps:
        relation = {"=": sp.Eq, "<=": sp.LessThan, ">=": sp.GreaterThan}[payload.relation]
        return relation(payload.start, payload.result, evaluate=False)
    if kind == "evaluated":
        expr, value, _ = payload
        return sp.Eq(expr, value, evaluate=False)
    return sp.false


def _same_relation(a: sp.Basic, b: sp.Basic) -> bool:
    a, b = _premise_relation(Hypothesis(a)), _premise_relation(Hypothesis(b))
    if type(a) is not type(b):
        return False
    return sp.simplify((a.lhs - a.rhs) - (b.lhs - b.rhs), doit=False) == 0 or (
        isinstance(a, sp.Equality) and sp.simplify((a.lhs - a.rhs) + (b.lhs - b.rhs),
                                                   doit=False) == 0)


def _check_definition(definition: Definition, hypotheses: list, relations: list) -> None:
    symbol, expr = definition.symbol, definition.expr
    _require(symbol not in expr.free_symbols,
             f"define({symbol}, {expr}): {symbol} occurs in its own definition")
    # The defined symbol is new: no hypothesis may say anything about it.
    for hypothesis in hypotheses:
        _require(symbol not in _free(hypothesis.relation),
                 f"{symbol} is defined, but the hypothesis {hypothesis.relation} says something "
                 "about it")
    without = _Facts([r for r in relations if symbol not in r.free_symbols])
    for prop in ("positive", "nonnegative", "negative", "nonpositive", "nonzero", "real",
                 "integer"):
        if getattr(symbol, f"is_{prop}"):
            test = {"real": without.is_real, "integer": lambda v: bool(v.is_integer),
                    "nonzero": without.is_nonzero}.get(prop) or getattr(without, f"is_{prop}")
            _require(test(expr), f"{symbol} is declared {prop}, but its definition {expr} is "
                                 f"not provably {prop}")


def _check_consistent(hypothesis: Hypothesis, relations: list) -> None:
    """Refuse a hypothesis that the symbols' assumptions and the other premises refute."""
    relation = _premise_relation(hypothesis)
    others = [r for r in relations if r != relation]
    facts = _Facts(others)
    difference = relation.lhs - relation.rhs
    if isinstance(relation, sp.Equality):
        refuted = facts.is_nonzero(difference)
    elif isinstance(relation, sp.StrictGreaterThan):
        refuted = facts.is_nonpositive(difference)
    else:
        refuted = facts.is_negative(difference)
    _require(not refuted, f"the hypothesis {hypothesis.relation} contradicts the symbols' "
                          "assumptions or the other premises")


def _assumption_lines(symbols: Iterable[Any]) -> list[str]:
    """The declared assumptions of a chain's symbols, as hypotheses in LaTeX."""
    groups: dict[str, list[str]] = {}
    for item in sorted(symbols, key=lambda s: sp.default_sort_key(s)):
        if isinstance(item, tuple):  # (IndexedBase, an index it is used with)
            base, index = item
            name, source = f"{_latex(base.label)}_{{{_latex(index)}}}", base[index]
        elif isinstance(item, AppliedUndef):
            name, source = _latex(item), item
        else:
            name, source = _latex(item), item
        if source.is_integer and source.is_positive:
            key = r"\in \mathbb{Z}_{>0}"
        elif source.is_integer and source.is_nonnegative:
            key = r"\in \mathbb{Z}_{\ge 0}"
        elif source.is_integer:
            key = r"\in \mathbb{Z}"
        elif source.is_positive:
            key = "> 0"
        elif source.is_nonnegative:
            key = r"\ge 0"
        elif source.is_negative:
            key = "< 0"
        elif source.is_real:
            key = r"\in \mathbb{R}"
        else:
            continue
        groups.setdefault(key, []).append(name)
    return [", ".join(names) + " " + key for key, names in groups.items()]


class Derivation:
    r"""A chain of steps, each verified by SymPy when it is added.

    A chain is immutable: every step method returns a new chain, so a chain
    that was cited (as a premise or a lemma) can never change afterwards.

    Parameters
    ----------
    start : sympy.Expr
        The first expression. Declare the symbols' assumptions
        (``positive=True`` and the like): they are hypotheses of the chain,
        and shown with it.
    title : str, optional
        A name for the chain, used in its plain-text form and when it is cited.
    given : iterable, optional
        The premises: :func:`assume` (a hypothesis of the theorem),
        :func:`define` (a definition), :func:`evaluated` (a verified value of
        a sum or integral) and verified chains (a :class:`Derivation` or its
        :attr:`conclusion`, whose hypotheses must be hypotheses here too). A
        bare relation raises ``TypeError``. Equalities are substituted in
        ``=`` steps and side conditions; inequalities declare the sign of an
        expression that is not a symbol (``assume(1 - theta > 0)``).

    Attributes
    ----------
    start : sympy.Expr
    steps : tuple of Step
    given : tuple
        The premises.
    hypotheses : tuple of Hypothesis
    result : sympy.Expr
        The last expression.
    relation : str
        ``"="``, ``"<="`` or ``">="``: what the chain proves about
        ``start`` and ``result``.

    Raises
    ------
    StepError
        From a step method, when the step cannot be verified; from the
        constructor (step 0), when the premises are refuted or malformed.
    TypeError
        When an argument has the wrong type (a bare relation in `given`).

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
    - \sum_{i=1}^{n} {p}_{i} \log{\left({q}_{i} \right)} &= - \sum_{i=1}^{n} {p}_{i} \log{\left({p}_{i} \right)} + \sum_{i=1}^{n} {p}_{i} \log{\left(\frac{{p}_{i}}{{q}_{i}} \right)} && \text{add and subtract sum p log p} \\
    & && \text{for } n \in \mathbb{Z}_{>0},\quad p_{i}, q_{i} > 0
    \end{align*}
    """

    __slots__ = ("start", "title", "_given", "_facts", "_steps", "_frozen")

    def __init__(self, start: Any, *, title: str | None = None, given: Iterable[Any] = ()):
        if isinstance(start, str):
            raise TypeError("start must be a SymPy expression, not a string")
        try:
            start = sp.sympify(start, strict=True)
        except sp.SympifyError:
            raise TypeError(f"start must be a SymPy expression, got {type(start).__name__}") from None
        if title is not None and not isinstance(title, str):
            raise TypeError(f"title must be a string or None, got {type(title).__name__}")
        given = tuple(given)
        try:
            _check_exact(start, "the start")
            facts, items = _premises(given)
            facts.canonical(start)  # bound variables consistent with their ranges
        except _Refused as exc:
            raise StepError(0, "premises", start, start, str(exc)) from None
        self._init(start, title, items, facts, ())

    def _init(self, start, title, given, facts, steps) -> None:
        object.__setattr__(self, "_frozen", False)
        self.start: sp.Expr = start
        self.title = title
        self._given = given
        self._facts = facts
        self._steps: tuple[Step, ...] = tuple(steps)
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name, value):
        if getattr(self, "_frozen", False):
            raise AttributeError("a Derivation is immutable: each step returns a new chain")
        object.__setattr__(self, name, value)

    def _extended(self, step: Step) -> "Derivation":
        chain = object.__new__(Derivation)
        chain._init(self.start, self.title, self._given, self._facts, self._steps + (step,))
        return chain

    # accessors ---------------------------------------------------------------

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(self._steps)

    @property
    def given(self) -> tuple:
        return self._given

    @property
    def hypotheses(self) -> tuple:
        own = [g for g in self._given if isinstance(g, Hypothesis)]
        for fact in (g for g in self._given if isinstance(g, Fact)):
            own += [h for h in fact.hypotheses if h not in own]
        return tuple(own)

    @property
    def result(self) -> sp.Expr:
        return self._steps[-1].expr if self._steps else self.start

    @property
    def relation(self) -> str:
        inequalities = {s.relation for s in self._steps} - {"="}
        return inequalities.pop() if inequalities else "="

    @property
    def conclusion(self) -> Fact:
        """``start relation result`` as a verified fact, with the chain's hypotheses."""
        if not self._steps:
            raise TypeError("a chain with no step proves nothing")
        relation = {"=": sp.Eq, "<=": sp.LessThan, ">=": sp.GreaterThan}[self.relation]
        definitions = tuple(g for g in self._given if isinstance(g, Definition))
        return Fact(relation(self.start, self.result, evaluate=False),
                    self.title or "a verified chain", self.hypotheses, definitions,
                    ("chain", self), _TOKEN)

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

    def _check_defined(self, expr: sp.Expr) -> None:
        for side in (self.result, expr):
            undefined = self._facts.undefined_parts(side)
            _require(not undefined, f"{undefined[0] if undefined else ''} may be zero, and "
                                    f"{side} divides by it or takes its logarithm; a step "
                                    "that cancels it needs it non-zero (state a hypothesis)")

    def _check_not_circular(self, relation: str, expr: sp.Expr) -> None:
        """Refuse a conclusion that is one of the hypotheses (up to a positive factor)."""
        hypotheses = self.hypotheses
        if not hypotheses:
            return
        facts = self._facts
        statement = facts.normalise(self.start - expr if relation != "<=" else expr - self.start)
        if statement == 0:
            return
        for hypothesis in hypotheses:
            rel = _premise_relation(hypothesis)
            if relation == "=" and not isinstance(rel, sp.Equality):
                continue
            hyp = facts.normalise(rel.lhs - rel.rhs)
            if hyp == 0 or _free(hyp) != _free(statement):
                continue
            ratio = sp.simplify(statement / hyp, doit=False)
            if ratio.is_number and ratio != 0 and (ratio.is_positive
                                                   or isinstance(rel, sp.Equality)):
                raise _Refused(f"the chain concludes its own hypothesis {hypothesis.relation} "
                               "(circular)")

    def _add(self, kind: str, relation: str, expr: Any, reason: str, lemma: Lemma | None,
             how: dict) -> "Derivation":
        expr = self._check_arguments(expr, reason)
        if lemma is not None and not isinstance(lemma, Lemma):
            raise TypeError(f"lemma must be a klbook.derivation.Lemma, got {type(lemma).__name__}")
        try:
            _check_exact(expr, "the new expression")
            self._facts.canonical(expr)
            for side in ((self.start, expr) if not self._steps else (expr,)):
                repeated = self._facts.repeated_series(side)
                _require(repeated is None,
                         f"{repeated} occurs in two terms of {side}; a series or integral that "
                         "may diverge does not cancel or merge with a copy of itself "
                         "(infinity - infinity): state its value (assume or evaluated) first")
            if kind == "equals":
                residual = self._facts.difference(self.result, expr)
                _require(residual == 0, "SymPy cannot show that the two sides are equal; "
                                        f"their difference normalises to {residual}"
                                        + _linearity_hint(residual))
            elif kind == "evaluate":
                self._check_evaluation(expr)
            else:
                self._check_inequality(relation, expr, lemma, how)
            self._check_defined(expr)
            self._check_not_circular(self.relation if relation == "=" else relation, expr)
        except _Refused as exc:
            raise self._fail(expr, reason, str(exc)) from None
        return self._extended(Step(relation, expr, reason, lemma, kind, dict(how)))

    def equals(self, expr: Any, reason: str) -> "Derivation":
        """The chain extended by the step ``result = expr``, verified symbolically.

        Sums and integrals are split by linearity (where sound) but never
        evaluated: use :meth:`evaluate` for that.

        Parameters
        ----------
        expr : sympy.Expr
            The new expression.
        reason : str
            Why it holds, shown next to the step.

        Returns
        -------
        Derivation
            A new chain, one step longer.

        Raises
        ------
        StepError
            If SymPy cannot reduce the difference of the two sides to zero
            under the premises, or a denominator or logarithm's argument on
            either side is not provably non-zero.
        """
        return self._add("equals", "=", expr, reason, None, {})

    def evaluate(self, expr: Any, reason: str) -> "Derivation":
        """The chain extended by ``result = expr``, evaluating its sums and integrals.

        Each sum or integral in the current expression that is not inside
        another is evaluated by SymPy under the premises, and each value is
        cross-checked by mpmath (quadrature or series summation at 30 digits,
        at several points of the parameters); then the result must equal
        `expr` as in :meth:`equals`.

        Raises
        ------
        StepError
            If SymPy cannot evaluate a sum or integral, the numerical check
            disagrees or cannot be made, or the result is not `expr`.

        Examples
        --------
        >>> import sympy as sp
        >>> k = sp.Symbol("k", integer=True)
        >>> n = sp.Symbol("n", integer=True, positive=True)
        >>> Derivation(sp.Sum(k, (k, 1, n))).evaluate(n * (n + 1) / 2, "Gauss").result
        n*(n + 1)/2
        """
        return self._add("evaluate", "=", expr, reason, None, {})

    def _check_evaluation(self, expr: sp.Expr) -> None:
        current = self.result
        atoms = _outer_binders(current)
        _require(atoms, "the expression has no sum or integral to evaluate")
        values = {atom: _evaluate_atom(atom, self._facts) for atom in atoms}
        residual = self._facts.difference(current.xreplace(values), expr)
        _require(residual == 0, "after evaluating the sums and integrals, SymPy cannot show "
                                f"that the two sides are equal; their difference normalises "
                                f"to {residual}")

    def less_equal(self, expr: Any, reason: str, *, lemma: Lemma, **how: Any) -> "Derivation":
        """The chain extended by the step ``result <= expr``, justified by `lemma`.

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
            A new chain, one step longer.

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
        """The chain extended by ``result >= expr``, justified by `lemma`; see :meth:`less_equal`."""
        return self._inequality(">=", expr, reason, lemma, how)

    def _inequality(self, relation, expr, reason, lemma, how) -> "Derivation":
        if not isinstance(lemma, Lemma):
            raise TypeError(f"lemma must be a klbook.derivation.Lemma, got {type(lemma).__name__}")
        if lemma not in _BUILTIN_LEMMAS and isinstance(lemma._chain, Derivation):
            # What the lemma states is its chain's conclusion, whatever its other fields say.
            lemma = Lemma.from_chain(lemma._chain, name=lemma.name, label=lemma.label,
                                     parameters=_parameters_of(lemma))
        kind = "less_equal" if relation == "<=" else "greater_equal"
        return self._add(kind, relation, expr, reason, lemma, how)

    def _check_inequality(self, relation: str, expr: sp.Expr, lemma: Lemma, how: dict) -> None:
        _require(lemma in _BUILTIN_LEMMAS or isinstance(lemma._chain, Derivation),
                 f"{lemma.name} is not a registered lemma")
        if self.relation not in ("=", relation):
            raise _Refused(f"the chain already has a {self.relation} step; mixing it with "
                           f"{relation} proves nothing")
        try:
            lemma.instance(self._facts, how)
        except _Refused as exc:
            raise _Refused(f"{lemma.name} does not apply: {exc}") from None
        before, after = self.result, expr
        small, large = (before, after) if relation == "<=" else (after, before)
        if _justify(small, large, lemma, how, self._facts):
            return
        lesser, greater = lemma.instance(self._facts, how)
        if _justify(large, small, lemma, how, self._facts):
            raise _Refused(f"illegal direction: {lemma.name} gives {large} "
                           f"{'>=' if relation == '<=' else '<='} {small} here, the opposite "
                           f"of the claimed {relation}")
        why = ""
        if before.has(*_NONSMOOTH) or after.has(*_NONSMOOTH):
            why = ("; the expression involves a non-smooth function (Piecewise, Abs, floor, "
                   "sign, ...), where no derivative decides monotonicity")
        bound = {v for part in (before.atoms(*_BINDERS) | after.atoms(*_BINDERS))
                 for v, *_ in part.limits}
        captured = bound & (_free(lesser) | _free(greater))
        if captured:
            why += (f"; the instance mentions {', '.join(map(str, captured))}, which a sum or "
                    "integral binds here: its side conditions must hold for every value, "
                    "without premises about one particular value")
        raise _Refused(f"the step is not {lemma.name} ({lesser} <= {greater}) in a monotone "
                       f"context{why}")

    def verify(self) -> "Derivation":
        """Re-check the premises and every step from scratch; return the chain.

        A chain is verified as it is built, but a Python object can be
        tampered with; grading and citing call this.

        Raises
        ------
        StepError
            If a premise or a step does not verify.
        """
        for item in self._given:
            if isinstance(item, Fact):
                item.recheck()
        chain = Derivation(self.start, title=self.title, given=self._given)
        for step in self._steps:
            if not isinstance(step, Step):
                raise StepError(len(chain) + 1, "?", chain.result, step, "not a Step")
            lemma = step.lemma
            if step.kind in ("less_equal", "greater_equal"):
                if lemma not in _BUILTIN_LEMMAS:
                    if not isinstance(lemma, Lemma) or lemma._chain is None:
                        raise StepError(len(chain) + 1, step.reason, chain.result, step.expr,
                                        "the step cites a lemma outside the registry")
                    lemma._chain.verify()
                    lemma = Lemma.from_chain(lemma._chain, name=lemma.name, label=lemma.label,
                                             parameters=[s for s in _parameters_of(lemma)])
                method = chain.less_equal if step.kind == "less_equal" else chain.greater_equal
                chain = method(step.expr, step.reason, lemma=lemma, **step.how)
            elif step.kind == "evaluate":
                chain = chain.evaluate(step.expr, step.reason)
            elif step.kind == "equals" and step.relation == "=":
                chain = chain.equals(step.expr, step.reason)
            else:
                raise StepError(len(chain) + 1, step.reason, chain.result, step.expr,
                                f"unknown kind of step {step.kind!r}")
        return self

    # display -----------------------------------------------------------------

    def _premise_lines(self) -> list[str]:
        lines = []
        expressions = [self.start] + [s.expr for s in self._steps] + \
                      [_premise_relation(g) for g in self._given]
        symbols: set = set()
        indexed: dict = {}
        for expr in expressions:
            for a in sorted(expr.atoms(sp.Indexed), key=sp.default_sort_key):
                indexed.setdefault(a.base, a.indices[0] if len(a.indices) == 1
                                   else sp.Symbol("i", integer=True))
        labels = {b.label for b in indexed}
        for expr in expressions:
            symbols |= set(expr.atoms(AppliedUndef))
            symbols |= {s for s in expr.free_symbols if isinstance(s, sp.Symbol)
                        and not isinstance(s, sp.Dummy) and s not in labels}
        symbols |= set(indexed.items())
        assumptions = _assumption_lines(symbols)
        if assumptions:
            lines.append(r"\text{for } " + r",\quad ".join(assumptions))
        hypotheses = [_latex(h.relation) for h in self.hypotheses]
        if hypotheses:
            lines.append(r"\text{assume } " + r",\quad ".join(hypotheses))
        definitions = [g for g in self._given if isinstance(g, Definition)]
        if definitions:
            lines.append(r"\text{where } " + r",\quad ".join(
                f"{_latex(d.symbol)} = {_latex(d.expr)}" for d in definitions))
        for fact in (g for g in self._given if isinstance(g, Fact)):
            source = "evaluated" if fact.source == "evaluated" else f"by {fact.source}"
            lines.append(rf"\text{{{_latex_text(source)}: }} {_latex(fact.relation)}")
        return lines

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
        for premise in self._premise_lines():
            lines.append(rf"& && {premise}")
        return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"

    def __repr__(self) -> str:
        head = f"Derivation {self.title!r}" if self.title else "Derivation"
        count = f"{len(self)} verified step" + ("" if len(self) == 1 else "s")
        rows = [f"{head} ({count})", f"    {self.start}"]
        for step in self._steps:
            cite = f"; {step.lemma.name}" if step.lemma else ""
            rows.append(f"  {step.relation:>2} {step.expr}    [{step.reason}{cite}]")
        if self._given:
            rows.append("  given " + ", ".join(str(_premise_relation(g)) for g in self._given))
        return "\n".join(rows)


def _linearity_hint(residual: sp.Expr) -> str:
    if any(isinstance(a, sp.Integral) or not _finite_range(a) for a in residual.atoms(*_BINDERS)):
        return (" (a series or an integral is split by linearity only into pieces whose "
                "value is known, as it may diverge: give the values of the convergent pieces "
                "with assume or evaluated)")
    return ""


def _outer_binders(expr: sp.Basic) -> list:
    if isinstance(expr, _BINDERS):
        return [expr]
    if expr.is_Atom:
        return []
    found = []
    for arg in expr.args:
        found += [a for a in _outer_binders(arg) if a not in found]
    return found


def _parameters_of(lemma: Lemma) -> list:
    chain = lemma._chain
    names = set(lemma.parameters)
    return sorted((s for s in chain.start.free_symbols | chain.result.free_symbols
                   if s.name in names), key=lambda s: lemma.parameters.index(s.name))
