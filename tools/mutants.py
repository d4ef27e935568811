r"""Mutation testing of the derivation checker on every chain of the book.

Does :mod:`klbook.derivation` refuse a chain with one small mistake in it? This
harness answers for every chain the chapters build:

1. **Collect.** The code cells of each chapter (``chapters/*.ipynb``) run in
   this process, one namespace per chapter, in ``chapters/`` (matplotlib Agg,
   ``display`` a no-op), with ``Derivation``'s constructor and step methods
   wrapped so that every chain built by a cell is recorded: its start, title,
   ``given`` and, per step, the method, expression, reason, lemma and the
   lemma's keyword arguments. Steps made by library code (e.g. inside
   ``klbook``) are not recorded, only those written in a cell. A chain that is
   a prefix of another (the new checker returns a new chain from every step)
   is dropped. A chapter in which a cell raises is reported as "did not run".
2. **Mutate and replay.** For each step ``k`` of each chain, up to
   ``MAX_PER_STEP`` one-edit mutants of the step (operators below, chosen
   round-robin over the operators and, within one, by a seeded shuffle) are
   applied after steps ``1..k-1`` and followed by the chain's later steps. The
   prefix ``1..k-1`` is verified once per chain and shared (a chain of the new
   checker is immutable; one of the old checker is copied). A mutant is
   *caught* if the checker raises ``StepError`` or ``TypeError`` at step ``k``
   or a later step. For each chain, the given items are also mutated (one
   dropped, one hypothesis perturbed) and the whole chain replayed.
3. **Classify what the checker accepted.** An uncaught mutant is evaluated
   numerically (mpmath, 25 digits; ``quad`` for integrals, ``nsum`` for infinite
   series): every claim of the mutated chain from the mutated step on
   (``before REL after``; for a given mutant every step) at ``POINTS`` random
   points that satisfy the hypotheses: symbols sampled by their assumptions,
   ``n`` and other positive integers in 2..5, ``IndexedBase`` entries random
   (positive if declared so), undefined functions random Gaussian mixtures;
   an equation of a hypothesis defines a symbol (``m = sum w x``), rescales a
   vector or a function (``sum p = 1``) or is solved for one symbol, and
   inequalities are met by rejection. The mutant is *equivalent* if every claim
   holds at every point, *SURVIVED* if one fails at one point, *unclassified*
   if a claim cannot be evaluated (e.g. a sum over ``1..oo`` of a vector) or no
   point satisfies the hypotheses. A mutant that only changes the
   justification (a lemma's keyword, ``=`` turned into ``<=`` by
   ``NONNEGATIVE``) states a true claim, so it is equivalent when accepted;
   such acceptances are listed apart. A checker step that takes longer than
   ``TIMEOUT`` seconds is a *timeout* (neither caught nor classified).

Mutation operators (step ``k``'s expression ``E`` or its justification):

* ``sign``: negate one term of an ``Add`` (of ``E`` itself if it has none);
* ``factor``: one term, or ``E``, times 2 or 1/2;
* ``exponent``: one integer exponent ``e`` becomes ``e + 1``;
* ``index``: one ``x[i]`` becomes ``x[i + 1]``, or ``p[i]`` becomes ``q[i]``
  (another ``IndexedBase`` of the chain) in one place;
* ``limit``: one ``Sum``/``Integral`` limit: upper ``n`` to ``n + 1`` or ``2n``,
  lower ``1`` to ``0`` or ``2``, ``0`` to ``1``, ``-oo`` to ``0``;
* ``log base``: one ``log(u)`` becomes ``log(u)/log(2)`` or ``log(u, 10)``;
* ``direction``: ``less_equal`` <-> ``greater_equal`` (same lemma and
  keywords); ``equals`` -> ``less_equal`` (``greater_equal`` in a ``>=``
  chain) by ``NONNEGATIVE``, where meaningful: with a non-negative symbol that
  is a term of ``E`` (the lemma would drop it, but nothing is dropped);
* ``lemma argument``: one keyword of the lemma instance times 2, two keywords
  swapped (weights/values, p/q, a/b), the vectors of a keyword swapped
  (``p[i]`` <-> ``q[i]``), an ``index`` range's upper limit plus one;
* ``given``: drop one given item; perturb one hypothesis (a right-hand side
  ``1`` becomes ``2``, another becomes twice itself; a strict inequality is
  reversed, a non-strict one made strict the other way).

Usage::

    python tools/mutants.py [--chapter 02] [--json FILE] [--max-per-step 12]

The exit status is 1 if a mutant SURVIVED (2 if no chapter ran). Everything is
seeded: two runs give the same mutants and the same table.

Runtime (one process, one core; measured on the shared 2-core build machine,
December 2026): the whole book, about 50 chains, 100 steps and 800-900
mutants, takes about 1.5 minutes of CPU time with the new checker (90 s at
commit 18be89f; 416 s before the checker refuted false equalities numerically
first) and 14 minutes with the old one (842 s CPU, 1006 s wall), of which
executing the chapters is under a minute. The ``runtime`` line at the end (and
the JSON) gives wall and CPU time. Timeouts count CPU time, so a busy machine
does not change the outcome.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import io
import json
import math
import os
import random
import signal
import sys
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mpmath
import sympy as sp
from sympy.core.function import AppliedUndef

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
SEED = 20261202
MAX_PER_STEP = 8
MAX_GIVEN = 4
POINTS = 6
TIMEOUT = 30.0
CLASSIFY_TIMEOUT = 60.0
OPERATORS = ("sign", "factor", "exponent", "index", "limit", "log base", "direction",
             "lemma argument")
#: Operators that change only the justification of a step, never its claim.
JUSTIFICATION_ONLY = {"lemma argument"}
SOURCE_PREFIX = "<chapter "


# =============================================================================== recording


@dataclass(eq=False)
class Op:
    """One step as the author called it: ``chain.<method>(expr, reason, lemma=..., **how)``."""

    method: str
    expr: Any
    reason: str
    lemma: Any = None
    how: dict = field(default_factory=dict)
    relation: str = "="

    def apply(self, chain):
        if self.method in ("less_equal", "greater_equal"):
            return getattr(chain, self.method)(self.expr, self.reason, lemma=self.lemma, **self.how)
        return getattr(chain, self.method)(self.expr, self.reason)


RELATION = {"equals": "=", "evaluate": "=", "less_equal": "<=", "greater_equal": ">="}


@dataclass(eq=False)
class Chain:
    chapter: str
    cell: int
    name: str
    start: Any
    title: str | None
    given: tuple
    ops: tuple


class Recorder:
    """Wraps ``Derivation``'s constructor and step methods; records the chains cells build."""

    STEP_METHODS = ("equals", "less_equal", "greater_equal", "evaluate")

    def __init__(self, module):
        self.module = module
        self.cls = module.Derivation
        self.roots: list[dict] = []
        self.nodes: dict[int, tuple] = {}   # id(chain) -> (chain, root, ops, cell)
        self.names: dict[int, str] = {}
        self.cell = -1
        self.active = False
        self.originals: dict[str, Any] = {}

    @staticmethod
    def _from_cell() -> bool:
        return sys._getframe(2).f_code.co_filename.startswith(SOURCE_PREFIX)

    def install(self):
        recorder, cls = self, self.cls
        init = cls.__init__
        self.originals["__init__"] = init

        @functools.wraps(init)
        def __init__(chain, start, *args, **kwargs):
            mine = recorder.active and Recorder._from_cell()
            if mine and "given" in kwargs:
                kwargs["given"] = tuple(kwargs["given"])
            init(chain, start, *args, **kwargs)
            if mine:
                recorder.roots.append(dict(start=chain.start, title=kwargs.get("title"),
                                           given=tuple(kwargs.get("given", ())),
                                           cell=recorder.cell))
                recorder.nodes[id(chain)] = (chain, len(recorder.roots) - 1, (), recorder.cell)

        cls.__init__ = __init__
        for name in self.STEP_METHODS:
            if name in cls.__dict__:
                self.originals[name] = cls.__dict__[name]
                setattr(cls, name, self._wrap(name, cls.__dict__[name]))

    def _wrap(self, name, method):
        recorder = self

        @functools.wraps(method)
        def step(chain, expr, reason, *args, **kwargs):
            parent = (recorder.nodes.get(id(chain))
                      if recorder.active and Recorder._from_cell() else None)
            if parent is not None:
                parent = parent[1:3]   # the chain's ops before this step (the old checker mutates)
            result = method(chain, expr, reason, *args, **kwargs)
            if parent is not None and isinstance(result, recorder.cls):
                how = dict(kwargs)
                lemma = how.pop("lemma", None)
                last = result.steps[-1]
                op = Op(getattr(last, "kind", name), last.expr, reason, lemma, how,
                        getattr(last, "relation", RELATION[name]))
                op.method = name
                recorder.nodes[id(result)] = (result, parent[0], parent[1] + (op,), recorder.cell)
            return result

        return step

    def uninstall(self):
        for name, method in self.originals.items():
            setattr(self.cls, name, method)
        self.originals.clear()

    def name_chains(self, namespace: dict) -> None:
        for var, value in namespace.items():
            if isinstance(value, self.cls) and id(value) in self.nodes and not var.startswith("_"):
                self.names.setdefault(id(value), var)

    def chains(self, chapter: str) -> list[Chain]:
        """The maximal recorded chains (no prefix of another), in the order they were built."""
        by_root: dict[int, list] = {}
        for key, (chain, root, ops, cell) in self.nodes.items():
            by_root.setdefault(root, []).append((key, ops, cell))
        out, unnamed = [], {}
        for root in sorted(by_root):
            records = by_root[root]
            for key, ops, cell in records:
                if not ops:
                    continue
                longer = any(len(other) > len(ops) and all(a is b for a, b in zip(ops, other))
                             for _, other, _ in records)
                same = [k for k, other, _ in records
                        if len(other) == len(ops) and all(a is b for a, b in zip(ops, other))]
                if longer or same[0] != key:
                    continue
                info = self.roots[root]
                label = self.names.get(key) or info["title"]
                if not label:
                    unnamed[cell] = unnamed.get(cell, 0) + 1
                    label = f"unnamed #{unnamed[cell]}"
                out.append(Chain(chapter, cell, f"{chapter} cell {cell} {label}", info["start"],
                                 info["title"], info["given"], ops))
        return out


def _display(*objects, **kwargs):
    return None


def run_chapter(path: Path, recorder: Recorder) -> tuple[list[Chain], str | None]:
    """Execute the chapter's code cells in one namespace; the chains and the first error."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat

    chapter = path.stem.split("_")[0]
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    namespace = {"__name__": "__main__", "display": _display}
    error = None
    cwd = os.getcwd()
    os.chdir(path.parent)
    recorder.active = True
    try:
        for index, cell in enumerate(cells):
            recorder.cell = index
            code = compile(cell.source, f"{SOURCE_PREFIX}{path.stem}: code cell {index}>", "exec")
            try:
                with contextlib.redirect_stdout(io.StringIO()), \
                        contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    exec(code, namespace)
            except Exception as exc:   # a broken chapter is reported, not fatal
                error = f"code cell {index}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                break
            finally:
                plt.close("all")
            recorder.name_chains(namespace)
    finally:
        recorder.active = False
        os.chdir(cwd)
    return recorder.chains(chapter), error


# =============================================================================== expressions


def _nodes(expr, path=()):
    """Pre-order (path, node) pairs of `expr`, not descending into symbols or IndexedBases."""
    yield path, expr
    if expr.is_Atom or isinstance(expr, (sp.IndexedBase, sp.Symbol)):
        return
    for k, arg in enumerate(expr.args):
        if isinstance(expr, sp.Indexed) and k == 0:
            continue
        yield from _nodes(arg, path + (k,))


def _replace(expr, path, new):
    if not path:
        return new
    args = list(expr.args)
    args[path[0]] = _replace(args[path[0]], path[1:], new)
    if isinstance(expr, sp.Tuple):
        return sp.Tuple(*args)
    return expr.func(*args)


def _terms(expr):
    """(path, term) for every term of every Add in `expr`."""
    for path, node in _nodes(expr):
        if isinstance(node, sp.Add):
            for k, term in enumerate(node.args):
                yield path, k, node, term


def _with_term(add, k, new):
    args = list(add.args)
    args[k] = new
    return sp.Add(*args)


def op_sign(expr):
    out = []
    for path, k, add, term in _terms(expr):
        out.append((f"negate the term {term}", _replace(expr, path, _with_term(add, k, -term))))
    if not out:
        out.append(("negate the expression", -expr))
    return out


def op_factor(expr):
    out = []
    for path, k, add, term in _terms(expr):
        for c in (2, sp.Rational(1, 2)):
            new = _replace(expr, path, _with_term(add, k, c * term))
            out.append((f"term {term} times {c}", new))
    for c in (2, sp.Rational(1, 2)):
        out.append((f"the expression times {c}", c * expr))
    return out


def op_exponent(expr):
    out = []
    for path, node in _nodes(expr):
        if isinstance(node, sp.Pow) and node.exp.is_Integer:
            out.append((f"exponent of {node}: {node.exp} -> {node.exp + 1}",
                        _replace(expr, path, sp.Pow(node.base, node.exp + 1))))
    return out


def _bases(expr):
    return sorted({node.base for node in expr.atoms(sp.Indexed)}, key=str)


def op_index(expr, bases=()):
    out = []
    bases = sorted(set(bases) | set(_bases(expr)), key=str)
    for path, node in _nodes(expr):
        if isinstance(node, sp.Indexed):
            idx = node.indices
            out.append((f"{node} -> {node.base[(idx[0] + 1,) + idx[1:]]}",
                        _replace(expr, path, node.base[(idx[0] + 1,) + idx[1:]])))
            for other in bases:
                if other != node.base:
                    out.append((f"{node} -> {other[idx]}", _replace(expr, path, other[idx])))
    return out


def op_limit(expr):
    out = []
    for path, node in _nodes(expr):
        if not isinstance(node, (sp.Sum, sp.Integral)):
            continue
        for j, limit in enumerate(node.limits):
            if len(limit) != 3:
                continue
            var, lower, upper = limit
            changes = []
            if upper not in (sp.oo, -sp.oo):
                changes += [("upper", upper, upper + 1), ("upper", upper, 2 * upper)]
            if lower == 1:
                changes += [("lower", lower, sp.Integer(0)), ("lower", lower, sp.Integer(2))]
            elif lower == 0:
                changes += [("lower", lower, sp.Integer(1))]
            elif lower == -sp.oo:
                changes += [("lower", lower, sp.Integer(0))]
            for which, old, new in changes:
                limits = list(node.limits)
                limits[j] = (var, new, upper) if which == "lower" else (var, lower, new)
                out.append((f"{which} limit of {var}: {old} -> {new}",
                            _replace(expr, path, node.func(node.function, *limits))))
    return out


def op_log_base(expr):
    out = []
    for path, node in _nodes(expr):
        if isinstance(node, sp.log) and len(node.args) == 1:
            for base in (2, 10):
                out.append((f"{node} -> log base {base}",
                            _replace(expr, path, node / sp.log(base))))
    return out


def _twice(value):
    if isinstance(value, sp.Lambda):
        return sp.Lambda(value.variables, 2 * value.expr)
    if callable(value) and not isinstance(value, sp.Basic):
        return lambda u, f=value: 2 * f(u)
    return 2 * value


def _swap_bases(value, bases):
    """`value` with its IndexedBases exchanged in pairs (p <-> q), or None."""
    present = _bases(value) if isinstance(value, sp.Basic) else []
    if len(present) >= 2:
        a, b = present[:2]
        return value.xreplace({a: b, b: a})
    if len(present) == 1:
        others = [b for b in bases if b != present[0]]
        if others:
            return value.xreplace({present[0]: others[0]})
    return None


PAIRS = (("weights", "values"), ("p", "q"), ("a", "b"), ("a_value", "b_value"))


def op_lemma_argument(op: Op, bases=()):
    out = []
    if op.lemma is None:
        return out
    for key in sorted(op.how):
        value = op.how[key]
        if key == "index" and isinstance(value, tuple) and len(value) == 3:
            out.append((f"index range {value} -> upper + 1",
                        dict(op.how, index=(value[0], value[1], value[2] + 1))))
            continue
        if isinstance(value, (list, tuple)):
            if len(value) >= 2 and value[0] != value[1]:
                swapped = [value[1], value[0], *value[2:]]
                out.append((f"{key}: swap the first two entries", dict(op.how, **{key: swapped})))
            doubled = [2 * value[0], *value[1:]]
            out.append((f"{key}: first entry times 2", dict(op.how, **{key: doubled})))
            continue
        out.append((f"{key} -> 2 * {key}", dict(op.how, **{key: _twice(value)})))
        swapped = _swap_bases(value, bases) if isinstance(value, sp.Basic) else None
        if swapped is not None and swapped != value:
            out.append((f"{key}: {value} -> {swapped}", dict(op.how, **{key: swapped})))
    for a, b in PAIRS:
        if a in op.how and b in op.how:
            out.append((f"swap {a} and {b}", dict(op.how, **{a: op.how[b], b: op.how[a]})))
    return out


def op_direction(op: Op, module, chain_relation: str = "="):
    """The relation of a step turned around; an equality weakened to the chain's inequality."""
    out = []
    if op.method == "less_equal":
        out.append(("<= -> >=", Op("greater_equal", op.expr, op.reason, op.lemma, op.how, ">=")))
    elif op.method == "greater_equal":
        out.append((">= -> <=", Op("less_equal", op.expr, op.reason, op.lemma, op.how, "<=")))
    elif op.method == "equals" and hasattr(module, "NONNEGATIVE"):
        # meaningful where the lemma could drop something: a non-negative symbol that is a
        # term of the expression (not a count, not a vector's name)
        expr = sp.sympify(op.expr)
        terms = {term for _, _, _, term in _terms(expr)}
        symbols = sorted((s for s in terms
                          if isinstance(s, sp.Symbol) and s.is_nonnegative and not s.is_integer),
                         key=str)
        if symbols:
            method, rel = (("greater_equal", ">=") if chain_relation == ">="
                           else ("less_equal", "<="))
            out.append((f"= -> {rel} by NONNEGATIVE, term={symbols[0]}",
                        Op(method, op.expr, op.reason, module.NONNEGATIVE,
                           {"term": symbols[0]}, rel)))
    return out


@dataclass(eq=False)
class Mutant:
    chain: Chain
    step: int                 # 1-based; 0 for a given mutant
    operator: str
    detail: str
    op: Op | None = None      # the mutated step
    given: tuple | None = None
    outcome: str = ""         # caught / equivalent / SURVIVED / unclassified / timeout
    caught_at: int | None = None
    error: str = ""
    note: str = ""
    seconds: float = 0.0      # CPU seconds of the replay

    @property
    def shown(self) -> str:
        if self.op is not None:
            how = ""
            if self.op.lemma is not None:
                how = f"  [{getattr(self.op.lemma, 'name', self.op.lemma)}; " + ", ".join(
                    f"{k}={_show(v)}" for k, v in self.op.how.items()) + "]"
            return f"{self.op.relation} {self.op.expr}{how}"
        return "given: " + ", ".join(_show(g) for g in self.given)


def _show(value) -> str:
    if hasattr(value, "start") and hasattr(value, "steps"):   # a chain cited as a fact
        return f"the chain {value.title or value.start!s}"
    if callable(value) and not isinstance(value, sp.Basic):
        try:
            u = sp.Symbol("u")
            return f"lambda u: {value(u)}"
        except Exception:
            return repr(value)
    return str(value).splitlines()[0] if str(value) else ""


def step_mutants(chain: Chain, k: int, module, limit: int = MAX_PER_STEP) -> list[Mutant]:
    """At most `limit` mutants of step `k` (1-based), deterministic."""
    op = chain.ops[k - 1]
    expr = sp.sympify(op.expr)
    bases = set()
    for o in (chain.start, *[x.expr for x in chain.ops]):
        bases |= set(_bases(sp.sympify(o)))
    bases = sorted(bases, key=str)
    candidates: dict[str, list] = {name: [] for name in OPERATORS}

    def expr_mutant(name, detail, new):
        if new != expr:
            candidates[name].append((detail, Op(op.method, new, op.reason, op.lemma, op.how,
                                                op.relation)))

    for name, make in (("sign", op_sign), ("factor", op_factor), ("exponent", op_exponent),
                       ("limit", op_limit), ("log base", op_log_base)):
        for detail, new in make(expr):
            expr_mutant(name, detail, new)
    for detail, new in op_index(expr, bases):
        expr_mutant("index", detail, new)
    relations = {o.relation for o in chain.ops} - {"="}
    candidates["direction"] = op_direction(op, module, relations.pop() if relations else "=")
    for detail, how in op_lemma_argument(op, bases):
        candidates["lemma argument"].append(
            (detail, Op(op.method, op.expr, op.reason, op.lemma, how, op.relation)))
    rng = random.Random(f"{SEED}|{chain.name}|{k}")
    for name in OPERATORS:
        seen, unique = set(), []
        for detail, new in candidates[name]:
            key = (new.method, sp.srepr(sp.sympify(new.expr)), detail if name == "lemma argument"
                   or name == "direction" else "")
            if key not in seen:
                seen.add(key)
                unique.append((detail, new))
        rng.shuffle(unique)
        candidates[name] = unique
    order = list(OPERATORS)   # which operators come first varies from step to step
    rng.shuffle(order)
    chosen = []
    while len(chosen) < limit and any(candidates.values()):
        for name in order:
            if candidates[name] and len(chosen) < limit:
                detail, new = candidates[name].pop(0)
                chosen.append(Mutant(chain, k, name, detail, op=new))
    return chosen


# --------------------------------------------------------------------------- givens


def _is_verified_fact(item) -> bool:
    """A given item that cites a verified result: a chain, its conclusion, an evaluated fact.

    (New checker: ``Fact`` has a ``source``; a ``Derivation`` has a ``start``.)
    """
    return not isinstance(item, sp.Basic) and (hasattr(item, "source") or hasattr(item, "start"))


def _hypothesis(item):
    """The relation a given item states if it is a hypothesis or a definition, else None.

    Old checker: the item is the relation. New checker: ``assume(r)`` has ``.relation``,
    ``define(s, e)`` has ``.symbol`` and ``.expr`` (read as ``Eq(s, e)``). A verified fact
    is true whatever the point, so it is neither perturbed nor sampled from.
    """
    if isinstance(item, sp.Basic):
        return item if isinstance(item, sp.core.relational.Relational) else None
    if _is_verified_fact(item):
        return None
    value = getattr(item, "relation", None)
    if isinstance(value, sp.core.relational.Relational):
        return value
    symbol, expr = getattr(item, "symbol", None), getattr(item, "expr", None)
    if isinstance(symbol, sp.Symbol) and isinstance(expr, sp.Basic):
        return sp.Eq(symbol, expr, evaluate=False)
    return None


def _rebuild(item, relation, module):
    """`item` with its relation replaced, in the form the checker takes."""
    if isinstance(item, sp.Basic):
        return relation
    if isinstance(relation, sp.Equality) and getattr(item, "symbol", None) is not None \
            and relation.lhs == item.symbol and hasattr(module, "define"):
        return module.define(relation.lhs, relation.rhs)
    if hasattr(module, "assume"):
        return module.assume(relation)
    return relation


def perturb_relation(rel):
    """(description, relation) perturbations of one hypothesis."""
    out = []
    if isinstance(rel, sp.Equality):
        rhs = rel.rhs
        new = sp.Integer(2) if rhs == 1 else 2 * rhs
        if new != rhs:
            out.append((f"right-hand side {rhs} -> {new}", sp.Eq(rel.lhs, new, evaluate=False)))
        else:
            out.append((f"right-hand side {rhs} -> {rhs + 1}", sp.Eq(rel.lhs, rhs + 1,
                                                                     evaluate=False)))
    elif isinstance(rel, (sp.StrictGreaterThan, sp.StrictLessThan)):
        out.append((f"{rel} reversed", sp.StrictLessThan(rel.gts, rel.lts, evaluate=False)))
    elif isinstance(rel, (sp.GreaterThan, sp.LessThan)):
        out.append((f"{rel} reversed (strict)", sp.StrictLessThan(rel.gts, rel.lts,
                                                                  evaluate=False)))
    return out


def given_mutants(chain: Chain, module) -> list[Mutant]:
    out = []
    for j, item in enumerate(chain.given):
        rest = chain.given[:j] + chain.given[j + 1:]
        rel = _hypothesis(item)
        shown = _show(item if rel is None else rel)
        out.append(Mutant(chain, 0, "given", f"drop given {j + 1}: {shown}", given=rest))
        if rel is not None:
            for detail, new in perturb_relation(rel):
                try:
                    rebuilt = _rebuild(item, new, module)
                except (TypeError, ValueError):   # not a premise the checker can take
                    continue
                perturbed = chain.given[:j] + (rebuilt,) + chain.given[j + 1:]
                out.append(Mutant(chain, 0, "given", f"given {j + 1}: {detail}", given=perturbed))
    rng = random.Random(f"{SEED}|{chain.name}|given")
    if len(out) > MAX_GIVEN:
        out = sorted(rng.sample(out, MAX_GIVEN), key=out.index)
    return out


# =============================================================================== replay


class Timeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` swallows it."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise Timeout after `seconds` of this process's CPU time (not wall time, so that the
    outcome does not depend on how busy the machine is). Nested limits: the inner one wins
    while it runs, and the outer one is restored, shortened by the time spent."""
    def ring(signum, frame):
        raise Timeout()
    outer_left, _ = signal.getitimer(signal.ITIMER_VIRTUAL)
    started = time.process_time()
    previous = signal.signal(signal.SIGVTALRM, ring)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds if not outer_left else min(seconds, outer_left))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)
        if outer_left:
            signal.setitimer(signal.ITIMER_VIRTUAL,
                             max(outer_left - (time.process_time() - started), 0.001))


class Replayer:
    """Rebuilds a chain with the checker, unwrapped; shares the verified prefixes."""

    def __init__(self, module):
        self.module = module
        self.cls = module.Derivation
        self.errors = (module.StepError, TypeError)
        self.mutable = None

    def new(self, chain: Chain, given=None):
        kwargs = {"given": chain.given if given is None else given}
        if chain.title is not None:
            kwargs["title"] = chain.title
        return self.cls(chain.start, **kwargs)

    def fork(self, derivation):
        """A copy that a step of the old (mutable) checker may extend without harm."""
        if not self.mutable:
            return derivation
        twin = copy.copy(derivation)
        for key, value in vars(derivation).items():
            if isinstance(value, list):
                setattr(twin, key, list(value))
        return twin

    def prefixes(self, chain: Chain) -> list:
        """The verified chains after steps 0..len (unmutated); raises if the chain fails."""
        if self.mutable is None:   # does a step return its own chain, extended (old checker)?
            probe = self.new(chain)
            self.mutable = chain.ops[0].apply(probe) is probe
        current = self.new(chain)
        out = [current]
        for op in chain.ops:
            current = op.apply(self.fork(current))
            out.append(current)
        return out

    def run(self, mutant: Mutant, prefixes: list) -> None:
        chain = mutant.chain
        ops = list(chain.ops)
        try:
            with time_limit(TIMEOUT):
                if mutant.step == 0:
                    try:
                        current = self.new(chain, mutant.given)
                    except self.errors as exc:
                        mutant.outcome, mutant.caught_at = "caught", 0
                        mutant.error = _first_line(exc)
                        return
                    start = 0
                else:
                    current = self.fork(prefixes[mutant.step - 1])
                    ops[mutant.step - 1] = mutant.op
                    start = mutant.step - 1
                for k in range(start, len(ops)):
                    try:
                        current = ops[k].apply(current)
                    except self.errors as exc:
                        mutant.outcome, mutant.caught_at = "caught", k + 1
                        mutant.error = _first_line(exc)
                        return
        except Timeout:
            mutant.outcome = "timeout"
            mutant.note = f"the checker took more than {TIMEOUT:.0f} s"
            return
        mutant.outcome = "accepted"


def _first_line(exc) -> str:
    text = str(exc).splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


# =============================================================================== numerics


class Unevaluable(Exception):
    """An expression the numeric evaluator cannot compute."""


def _assumption_key(obj) -> str:
    probe = sp.Indexed(obj, 1) if isinstance(obj, sp.IndexedBase) else obj
    facts = [name for name in ("integer", "positive", "nonnegative", "negative", "real")
             if getattr(probe, f"is_{name}", None)]
    return ",".join(facts)


def _sample_value(rng: random.Random, probe) -> mpmath.mpf:
    if probe.is_integer:
        if probe.is_positive:
            return mpmath.mpf(rng.randint(2, 5))
        if probe.is_nonnegative:
            return mpmath.mpf(rng.randint(0, 4))
        return mpmath.mpf(rng.randint(1, 4))
    if probe.is_positive or probe.is_nonnegative:
        return mpmath.mpf(math.exp(rng.uniform(math.log(0.05), math.log(4.0))))
    if probe.is_negative or probe.is_nonpositive:
        return -mpmath.mpf(math.exp(rng.uniform(math.log(0.05), math.log(4.0))))
    return mpmath.mpf(rng.uniform(-3.0, 3.0))


class Point:
    """A random point: values of symbols, entries of IndexedBases, undefined functions."""

    def __init__(self, seed: int):
        self.seed = seed
        self.symbols: dict = {}
        self.scales: dict = {}
        self.functions: dict = {}
        self.raw: dict = {}

    def symbol(self, s):
        if s not in self.symbols:
            rng = random.Random(f"{self.seed}|sym|{s.name}|{_assumption_key(s)}")
            self.symbols[s] = _sample_value(rng, s)
        return self.symbols[s]

    def entry(self, base, index: int):
        key = (base, index)
        if key not in self.raw:
            self.raw[key] = self._raw_entry(base, index)
        return self.raw[key] * self.scales.get(base, 1)

    def _raw_entry(self, base, index: int):
        rng = random.Random(f"{self.seed}|vec|{base.label}|{_assumption_key(base)}|{index}")
        probe = sp.Indexed(base, 1)
        if probe.is_integer:
            value = mpmath.mpf(rng.randint(1, 5))
        elif probe.is_positive or probe.is_nonnegative:
            # entries past the tenth decay geometrically, so that a series of them converges
            value = mpmath.mpf(rng.uniform(0.05, 1.0)) * mpmath.mpf(0.6) ** max(index - 10, 0)
        else:
            value = mpmath.mpf(rng.uniform(-2.0, 2.0))
        return value

    def function(self, func):
        if func in self.functions:
            return self.functions[func]
        rng = random.Random(f"{self.seed}|fun|{func}|{_assumption_key(func(sp.Symbol('u')))}")
        components = [(rng.uniform(0.3, 1.0), rng.uniform(-1.5, 1.5), rng.uniform(0.5, 2.0))
                      for _ in range(2)]
        if not func(sp.Symbol("u")).is_positive:   # a function that may change sign
            components[1] = (-0.3 * components[1][0],) + components[1][1:]
        total = sum(abs(c[0]) for c in components)

        def raw(*args):
            value = 0
            for w, m, s in components:
                exponent = -sum((a - m) ** 2 for a in args) / (2 * s * s)
                value += (w / total) * mpmath.exp(exponent) / (mpmath.sqrt(2 * mpmath.pi) * s)
            return value

        def scaled(*args):
            return raw(*args) * self.scales.get(func, 1)

        self.functions[func] = scaled
        return scaled


_FUNCTIONS = {sp.log: mpmath.log, sp.exp: mpmath.exp, sp.sin: mpmath.sin, sp.cos: mpmath.cos,
              sp.atanh: mpmath.atanh, sp.gamma: mpmath.gamma, sp.factorial: mpmath.factorial,
              sp.Abs: abs, sp.loggamma: mpmath.loggamma}


def evaluate(expr, point: Point, bound: dict | None = None):
    """The numeric value of `expr` at `point` (mpmath), or Unevaluable."""
    bound = bound or {}
    return _ev(sp.sympify(expr), point, bound)


def _ev(e, pt: Point, bound: dict):
    if e.is_Number:
        if e is sp.oo:
            return mpmath.inf
        if e is -sp.oo:
            return -mpmath.inf
        if e is sp.nan or e is sp.zoo:
            raise Unevaluable(str(e))
        return mpmath.mpf(e.p) / e.q if e.is_Rational else mpmath.mpf(str(e))
    if e is sp.pi:
        return +mpmath.pi
    if e is sp.E:
        return mpmath.e
    if e is sp.EulerGamma:
        return +mpmath.euler
    if e is sp.I:
        return mpmath.mpc(0, 1)
    if isinstance(e, sp.Symbol):
        if e in bound:
            return bound[e]
        return pt.symbol(e)
    if isinstance(e, sp.Indexed):
        idx = _ev(e.indices[0], pt, bound)
        if mpmath.im(idx) != 0 or idx != int(idx):
            raise Unevaluable(f"non-integer index {e}")
        return pt.entry(e.base, int(idx))
    if isinstance(e, sp.Add):
        return mpmath.fsum(_ev(a, pt, bound) for a in e.args)
    if isinstance(e, sp.Mul):
        value = mpmath.mpf(1)
        for a in e.args:
            value *= _ev(a, pt, bound)
        return value
    if isinstance(e, sp.Pow):
        base, exponent = _ev(e.base, pt, bound), _ev(e.exp, pt, bound)
        if base == 0 and mpmath.re(exponent) < 0:
            raise Unevaluable("division by zero")
        return mpmath.power(base, exponent)
    if isinstance(e, sp.Sum):
        return _ev_sum(e.function, list(e.limits), pt, bound)
    if isinstance(e, sp.Integral):
        return _ev_integral(e.function, list(e.limits), pt, bound)
    if isinstance(e, AppliedUndef):
        f = pt.function(e.func)
        return f(*(_ev(a, pt, bound) for a in e.args))
    if isinstance(e, sp.log) and len(e.args) == 1:
        u = _ev(e.args[0], pt, bound)
        if u == 0:
            raise Unevaluable("log(0)")
        return mpmath.log(u)
    if type(e) in _FUNCTIONS and len(e.args) == 1:
        return _FUNCTIONS[type(e)](_ev(e.args[0], pt, bound))
    if isinstance(e, sp.KroneckerDelta):
        a, b = (_ev(x, pt, bound) for x in e.args[:2])
        return mpmath.mpf(1 if a == b else 0)
    if isinstance(e, (sp.Derivative, sp.Subs, sp.Limit, sp.Order)):
        raise Unevaluable(f"{type(e).__name__}")
    if isinstance(e, sp.Function) or isinstance(e, sp.Piecewise):
        args = [_ev(a, pt, bound) for a in e.args] if not isinstance(e, sp.Piecewise) else None
        if args is not None:
            value = e.func(*(sp.Float(a, 30) if mpmath.im(a) == 0 else
                             sp.Float(mpmath.re(a), 30) + sp.I * sp.Float(mpmath.im(a), 30)
                             for a in args)).evalf(30)
        else:
            subs = {s: sp.Float(_ev(s, pt, bound), 30) for s in e.free_symbols}
            value = e.xreplace(subs).evalf(30)
        if not value.is_number:
            raise Unevaluable(str(e))
        re, im = value.as_real_imag()
        return mpmath.mpc(mpmath.mpf(str(sp.Float(re, 30))), mpmath.mpf(str(sp.Float(im, 30)))) \
            if im != 0 else mpmath.mpf(str(sp.Float(re, 30)))
    raise Unevaluable(f"cannot evaluate {type(e).__name__}")


def _integer(value) -> int:
    if mpmath.im(value) != 0 or value != int(value):
        raise Unevaluable("non-integer summation limit")
    return int(value)


def _ev_sum(function, limits, pt, bound):
    var, lower, upper = limits[0]
    rest = limits[1:]

    def term(k):
        inner = {**bound, var: mpmath.mpf(k)}
        if rest:
            return _ev_sum(function, rest, pt, inner)
        return _ev(function, pt, inner)

    lo = _ev(lower, pt, bound)
    hi = _ev(upper, pt, bound)
    if hi == mpmath.inf:
        if any(var in x.free_symbols for x in function.atoms(sp.Indexed)):
            # a series of vector entries: partial sums, which must have settled
            lo = _integer(lo)
            if any(not (x.base.is_positive or x.base.is_nonnegative)
                   for x in function.atoms(sp.Indexed)):
                raise Unevaluable("a series of entries that do not decay")
            head = mpmath.fsum(term(k) for k in range(lo, lo + 160))
            tail = mpmath.fsum(term(k) for k in range(lo + 160, lo + 320))
            if abs(tail) > 1e-15 * (1 + abs(head)):
                raise Unevaluable("a series that does not settle")
            return head + tail
        return mpmath.nsum(term, [_integer(lo), mpmath.inf])
    lo, hi = _integer(lo), _integer(hi)
    if hi - lo > 2000:
        raise Unevaluable("a sum of more than 2000 terms")
    if hi >= lo:
        return mpmath.fsum(term(k) for k in range(lo, hi + 1))
    if hi == lo - 1:
        return mpmath.mpf(0)
    return -mpmath.fsum(term(k) for k in range(hi + 1, lo))   # Karr's convention, as SymPy


def _ev_integral(function, limits, pt, bound):
    limit = limits[0]
    if len(limit) != 3:
        raise Unevaluable("an indefinite integral")
    var, lower, upper = limit
    rest = limits[1:]

    def integrand(t):
        inner = {**bound, var: t}
        if rest:
            return _ev_integral(function, rest, pt, inner)
        return _ev(function, pt, inner)

    lo, hi = _ev(lower, pt, bound), _ev(upper, pt, bound)
    points = [lo, hi]
    if lo == -mpmath.inf and hi == mpmath.inf:
        points = [lo, 0, hi]
    with mpmath.workdps(15):   # enough for the 1e-8 tolerance of the comparisons
        return mpmath.quad(integrand, points)


def _close(a, b, tol=1e-8) -> bool:
    return abs(a - b) <= tol * (1 + abs(a) + abs(b))


def claim_holds(lhs, relation: str, rhs, pt: Point) -> bool:
    """Whether ``lhs relation rhs`` holds at `pt`; Unevaluable if it cannot be computed."""
    a, b = evaluate(lhs, pt), evaluate(rhs, pt)
    for value in (a, b):
        if mpmath.isnan(value) or mpmath.isinf(value):
            raise Unevaluable("not finite")
    if relation == "=":
        return _close(a, b)
    tol = 1e-8 * (1 + abs(a) + abs(b))
    if abs(mpmath.im(a)) > tol or abs(mpmath.im(b)) > tol:
        return False   # an order between non-real numbers is false
    a, b = mpmath.re(a), mpmath.re(b)
    return a <= b + tol if relation == "<=" else a + tol >= b


def _objects(expr):
    """The plain symbols, IndexedBases and undefined functions that `expr` depends on."""
    expr = sp.sympify(expr)
    bases = {x.base for x in expr.atoms(sp.Indexed)}
    labels = {b.label for b in bases}
    symbols = {s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s not in labels
               and not isinstance(s, sp.Indexed)}
    functions = {f.func for f in expr.atoms(AppliedUndef)}
    return symbols | bases | functions


def _with_scale(pt: Point, obj, factor):
    old = pt.scales.get(obj, 1)
    pt.scales[obj] = old * factor
    return old


def _satisfy(eq, pt: Point, frozen: set) -> bool:
    """Adjust `pt` so that the equation `eq` holds; False if it cannot."""
    lhs, rhs = eq.lhs, eq.rhs
    with contextlib.suppress(Unevaluable, ZeroDivisionError, ValueError, TypeError):
        if claim_holds(lhs, "=", rhs, pt):   # e.g. a moment that is a fact, not a constraint
            return True
    # 1. a definition: one side is a free symbol (not an integer) or an undefined function
    for side, other in ((lhs, rhs), (rhs, lhs)):
        if isinstance(side, sp.Symbol) and side not in frozen and not side.is_integer \
                and side not in _objects(other):
            pt.symbols[side] = evaluate(other, pt)
            return True
        if isinstance(side, AppliedUndef) and side.func not in frozen \
                and all(isinstance(a, sp.Symbol) for a in side.args) \
                and side.func not in _objects(other):
            args = side.args
            pt.functions[side.func] = (lambda *values, other=other, args=args:
                                       evaluate(other, pt, dict(zip(args, values))))
            return True
    # 2. a vector or a function on one side, scaled (the side must be linear in it)
    candidates = sorted((o for o in _objects(lhs - rhs)
                         if isinstance(o, (sp.IndexedBase, sp.core.function.UndefinedFunction))),
                        key=str)
    for obj in candidates:
        if obj in frozen:
            continue
        in_lhs, in_rhs = obj in _objects(lhs), obj in _objects(rhs)
        if in_lhs == in_rhs:
            continue
        side, other = (lhs, rhs) if in_lhs else (rhs, lhs)
        target = evaluate(other, pt)
        one = evaluate(side, pt)
        old = _with_scale(pt, obj, 2)
        two = evaluate(side, pt)
        pt.scales[obj] = old
        if one == 0 or not _close(two, 2 * one, 1e-12):
            continue
        factor = target / one
        probe = sp.Indexed(obj, 1) if isinstance(obj, sp.IndexedBase) else obj(sp.Symbol("u"))
        if mpmath.im(factor) != 0 or (factor <= 0 and (probe.is_positive or probe.is_nonnegative)):
            return False
        pt.scales[obj] = old * factor
        return True
    # 3. solved for one free symbol
    for s in sorted((o for o in _objects(lhs - rhs) if isinstance(o, sp.Symbol)), key=str):
        if s in frozen or s.is_integer:
            continue
        try:
            solutions = sp.solve(lhs - rhs, s)
        except Exception:
            continue
        if len(solutions) == 1:
            pt.symbols[s] = evaluate(solutions[0], pt)
            return True
    return claim_holds(lhs, "=", rhs, pt)


def _assumptions_hold(pt: Point) -> bool:
    for s, value in pt.symbols.items():
        if mpmath.im(value) != 0:
            return False
        if s.is_positive and not value > 0 or s.is_nonnegative and not value >= 0:
            return False
        if s.is_negative and not value < 0 or s.is_integer and value != int(value):
            return False
    return True


def sample_points(hypotheses, count: int = POINTS, seed: int = SEED, attempts: int = 300):
    """Up to `count` points satisfying the hypotheses (relations), found by construction."""
    hypotheses = [h for h in hypotheses if h is not None and h is not sp.true]
    equations = [h for h in hypotheses if isinstance(h, sp.Equality)]
    others = [h for h in hypotheses if not isinstance(h, sp.Equality)]
    points = []
    for attempt in range(attempts):
        if len(points) >= count:
            break
        pt = Point(seed + 7919 * attempt)
        frozen: set = set()
        try:
            ok = True
            for eq in equations:
                if not _satisfy(eq, pt, frozen):
                    ok = False
                    break
                frozen |= _objects(eq.lhs - eq.rhs)
            ok = ok and all(claim_holds(h.lhs, "=", h.rhs, pt) for h in equations)
            for h in others:
                if not ok:
                    break
                gap = evaluate(h.gts - h.lts, pt)
                if mpmath.im(gap) != 0:
                    ok = False
                elif isinstance(h, (sp.StrictGreaterThan, sp.StrictLessThan)):
                    ok = gap > 0
                elif isinstance(h, (sp.GreaterThan, sp.LessThan)):
                    ok = gap >= 0
                elif isinstance(h, sp.Unequality):
                    ok = gap != 0
            ok = ok and _assumptions_hold(pt)
        except (Unevaluable, ZeroDivisionError, ValueError, TypeError, OverflowError):
            ok = False
        if ok:
            points.append(pt)
    return points


def classify(claims, hypotheses, seed: int = SEED) -> tuple[str, str]:
    """'equivalent', 'SURVIVED' or 'unclassified' for claims [(lhs, rel, rhs)], with a note."""
    try:
        with time_limit(CLASSIFY_TIMEOUT), mpmath.workdps(25):
            points = sample_points(hypotheses, seed=seed)
            if not points:
                return "unclassified", "no point satisfies the hypotheses"
            for lhs, relation, rhs in claims:
                evaluated = 0
                for pt in points:
                    try:
                        holds = claim_holds(lhs, relation, rhs, pt)
                    except (Unevaluable, ZeroDivisionError, ValueError, TypeError, OverflowError):
                        continue
                    evaluated += 1
                    if not holds:
                        values = sorted((str(s), mpmath.nstr(v, 6))
                                        for s, v in pt.symbols.items())
                        where = ", ".join(f"{k}={v}" for k, v in values)
                        return "SURVIVED", f"false at a point: {lhs} {relation} {rhs} ({where})"
                if evaluated == 0:
                    return "unclassified", f"cannot evaluate {lhs} {relation} {rhs}"
            return "equivalent", f"numerically true at {len(points)} points"
    except Timeout:
        return "unclassified", f"numeric evaluation took more than {CLASSIFY_TIMEOUT:.0f} s"


def hypotheses_of(given) -> list:
    return [h for h in (_hypothesis(item) for item in given) if h is not None]


def mutant_claims(mutant: Mutant) -> list:
    """The claims of the mutated chain that the classification evaluates."""
    chain = mutant.chain
    ops = list(chain.ops)
    exprs = [chain.start] + [op.expr for op in ops]
    if mutant.step == 0:
        return [(exprs[k], ops[k].relation, exprs[k + 1]) for k in range(len(ops))]
    k = mutant.step
    ops[k - 1] = mutant.op
    exprs[k] = mutant.op.expr
    return [(exprs[j], ops[j].relation, exprs[j + 1]) for j in range(k - 1, len(ops))]


def classify_mutant(mutant: Mutant) -> None:
    given = mutant.given if mutant.step == 0 else mutant.chain.given
    seed = SEED + zlib.crc32(mutant.chain.name.encode())
    outcome, note = classify(mutant_claims(mutant), hypotheses_of(given), seed=seed)
    mutant.note = note if not mutant.note else f"{mutant.note}; {note}"
    if mutant.outcome == "accepted":
        mutant.outcome = outcome


# =============================================================================== driver


def chapter_paths(only: str | None) -> list[Path]:
    paths = sorted(CHAPTERS.glob("*.ipynb"))
    if only:
        paths = [p for p in paths if p.stem.split("_")[0] == only or p.stem == only]
    return paths


def checker_version(module) -> str:
    return "new" if hasattr(module, "assume") else "old"


def run(chapters: list[Path], *, max_per_step: int = MAX_PER_STEP, log=print,
        only_chain: str | None = None, verbose: bool = False) -> dict:
    import klbook.derivation as module

    started, cpu = time.monotonic(), time.process_time()
    results = {"checker": checker_version(module), "klbook": module.__file__,
               "chapters": {}, "mutants": [],
               "seed": SEED, "max_per_step": max_per_step}
    replayer = Replayer(module)
    for path in chapters:
        chapter = path.stem.split("_")[0]
        entry = {"notebook": path.name, "status": "ran", "chains": [], "error": None}
        results["chapters"][chapter] = entry
        t0 = time.monotonic()
        if "derivation" not in path.read_text(encoding="utf-8"):
            entry["status"] = "no chains"
            log(f"{chapter}: no chains (klbook.derivation not used)")
            continue
        recorder = Recorder(module)
        recorder.install()
        try:
            chains, error = run_chapter(path, recorder)
        except Exception as exc:  # noqa: BLE001 - whatever breaks a chapter is reported
            chains, error = [], f"{type(exc).__name__}: {exc}"
        finally:
            recorder.uninstall()
        entry["execute_seconds"] = round(time.monotonic() - t0, 1)
        if error:
            entry["status"], entry["error"] = "did not run", error
            log(f"{chapter}: did not run ({error})")
            continue
        log(f"{chapter}: {len(chains)} chains, {sum(len(c.ops) for c in chains)} steps "
            f"(executed in {entry['execute_seconds']} s)")
        for chain in chains:
            if only_chain and only_chain not in chain.name:
                continue
            info = {"name": chain.name, "steps": len(chain.ops), "given": len(chain.given)}
            entry["chains"].append(info)
            t1 = time.monotonic()
            try:
                with time_limit(10 * TIMEOUT):
                    prefixes = replayer.prefixes(chain)
            except (Timeout, Exception) as exc:  # noqa: BLE001
                info["replay_error"] = _first_line(exc)
                log(f"  {chain.name}: the unmutated chain does not replay ({info['replay_error']})")
                continue
            mutants = []
            for k in range(1, len(chain.ops) + 1):
                mutants += step_mutants(chain, k, module, max_per_step)
            mutants += given_mutants(chain, module)
            for mutant in mutants:
                t2 = time.process_time()
                replayer.run(mutant, prefixes)
                mutant.seconds = round(time.process_time() - t2, 2)
                if mutant.outcome in ("accepted", "timeout"):
                    classify_mutant(mutant)
                if verbose:
                    log(f"    step {mutant.step} {mutant.operator}: {mutant.detail[:60]} -> "
                        f"{mutant.outcome} at {mutant.caught_at} ({mutant.seconds} s)")
                results["mutants"].append(mutant)
            counts = _count(mutants)
            info["seconds"] = round(time.monotonic() - t1, 1)
            log(f"  {chain.name}: {len(chain.ops)} steps, {counts['mutants']} mutants, "
                f"{counts['caught']} caught, {counts['equivalent']} equivalent, "
                f"{counts['SURVIVED']} survived, {counts['unclassified']} unclassified, "
                f"{counts['timeout']} timeout ({info['seconds']} s)")
        entry["seconds"] = round(time.monotonic() - t0, 1)
    results["runtime_seconds"] = round(time.monotonic() - started, 1)
    results["cpu_seconds"] = round(time.process_time() - cpu, 1)
    return results


def _count(mutants) -> dict:
    counts = {"mutants": len(mutants)}
    for key in ("caught", "equivalent", "SURVIVED", "unclassified", "timeout"):
        counts[key] = sum(m.outcome == key for m in mutants)
    return counts


def score(counts) -> float | None:
    denominator = counts["mutants"] - counts["equivalent"]
    return counts["caught"] / denominator if denominator else None


def report(results: dict) -> str:
    rows = [f"checker: {results['checker']}",
            f"{'chapter':<8} {'status':<14} {'chains':>6} {'steps':>5} {'mutants':>7} "
            f"{'caught':>6} {'equiv':>5} {'survived':>8} {'unclass':>7} {'timeout':>7} "
            f"{'score':>6}"]
    total = {"chains": 0, "steps": 0}
    all_mutants = []
    for chapter, entry in results["chapters"].items():
        mine = [m for m in results["mutants"] if m.chain.chapter == chapter]
        counts = _count(mine)
        all_mutants += mine
        chains = len(entry["chains"])
        steps = sum(c["steps"] for c in entry["chains"])
        total["chains"] += chains
        total["steps"] += steps
        status = entry["status"] if len(entry["status"]) <= 14 else entry["status"][:14]
        s = score(counts)
        rows.append(f"{chapter:<8} {status:<14} {chains:>6} {steps:>5} {counts['mutants']:>7} "
                    f"{counts['caught']:>6} {counts['equivalent']:>5} {counts['SURVIVED']:>8} "
                    f"{counts['unclassified']:>7} {counts['timeout']:>7} "
                    f"{'' if s is None else f'{s:.3f}':>6}")
    counts = _count(all_mutants)
    s = score(counts)
    rows.append(f"{'total':<8} {'':<14} {total['chains']:>6} {total['steps']:>5} "
                f"{counts['mutants']:>7} {counts['caught']:>6} {counts['equivalent']:>5} "
                f"{counts['SURVIVED']:>8} {counts['unclassified']:>7} {counts['timeout']:>7}")
    denominator = counts["mutants"] - counts["equivalent"]
    rows.append(f"mutation score: {counts['caught']} / {denominator}"
                + (f" = {s:.3f}" if s is not None else ""))
    for chapter, entry in results["chapters"].items():
        if entry["status"] == "did not run":
            rows.append(f"{chapter} did not run: {entry['error']}")
        for info in entry["chains"]:
            if "replay_error" in info:
                rows.append(f"{info['name']}: does not replay: {info['replay_error']}")
    survivors = [m for m in all_mutants if m.outcome == "SURVIVED"]
    rows.append(f"\nsurvivors ({len(survivors)}):")
    for m in survivors:
        rows.append(f"  {m.chain.name} | step {m.step} | {m.operator}: {m.detail}\n"
                    f"      mutated: {m.shown}\n      {m.note}")
    justified = [m for m in all_mutants if m.outcome == "equivalent"
                 and (m.operator in JUSTIFICATION_ONLY or "NONNEGATIVE" in m.detail)]
    rows.append(f"\naccepted with a perturbed justification (claims true, so equivalent) "
                f"({len(justified)}):")
    for m in justified:
        rows.append(f"  {m.chain.name} | step {m.step} | {m.operator}: {m.detail}")
    for kind in ("unclassified", "timeout"):
        rest = [m for m in all_mutants if m.outcome == kind]
        rows.append(f"\n{kind} ({len(rest)}):")
        for m in rest:
            rows.append(f"  {m.chain.name} | step {m.step} | {m.operator}: {m.detail} -- {m.note}")
    rows.append(f"\nruntime: {results['runtime_seconds']:.0f} s wall, "
                f"{results['cpu_seconds']:.0f} s CPU")
    return "\n".join(rows)


def to_json(results: dict) -> dict:
    out = {key: value for key, value in results.items() if key != "mutants"}
    out["mutants"] = [
        {"chapter": m.chain.chapter, "chain": m.chain.name, "step": m.step,
         "operator": m.operator, "detail": m.detail, "mutated": m.shown,
         "outcome": m.outcome, "caught_at": m.caught_at, "error": m.error, "note": m.note,
         "seconds": m.seconds}
        for m in results["mutants"]]
    chapters = {}
    for chapter in results["chapters"]:
        counts = _count([m for m in results["mutants"] if m.chain.chapter == chapter])
        chapters[chapter] = dict(results["chapters"][chapter], counts=counts, score=score(counts))
    out["chapters"] = chapters
    counts = _count(results["mutants"])
    out["total"] = dict(counts, score=score(counts))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", help="one chapter, by its number (02) or file stem")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--max-per-step", type=int, default=MAX_PER_STEP)
    parser.add_argument("--chain", help="only the chains whose name contains this")
    parser.add_argument("--verbose", action="store_true", help="a progress line per mutant")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    paths = chapter_paths(args.chapter)
    if not paths:
        parser.error(f"no chapter {args.chapter!r} in {CHAPTERS}")
    log = (lambda *a: None) if args.quiet else functools.partial(print, file=sys.stderr, flush=True)
    results = run(paths, max_per_step=args.max_per_step, log=log, only_chain=args.chain,
                  verbose=args.verbose)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(to_json(results), indent=1, default=str), encoding="utf-8")
    if not any(entry["status"] == "ran" for entry in results["chapters"].values()):
        return 2
    return 1 if any(m.outcome == "SURVIVED" for m in results["mutants"]) else 0


if __name__ == "__main__":
    sys.exit(main())
