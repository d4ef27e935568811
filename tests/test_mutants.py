"""Tests of tools/mutants.py: the mutation operators, the recorder, the replay, the classifier."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import mutants  # noqa: E402
from mutants import Chain, Mutant, Op  # noqa: E402

import klbook.derivation as derivation  # noqa: E402

x, y = sp.symbols("x y", positive=True)
r = sp.Symbol("r", nonnegative=True)
i = sp.Symbol("i", integer=True)
n = sp.Symbol("n", integer=True, positive=True)
p, q = sp.IndexedBase("p", positive=True), sp.IndexedBase("q", positive=True)
t = sp.Symbol("t", real=True)
f = sp.Function("f", positive=True)


def exprs(results):
    return [expr for _, expr in results]


# ---------------------------------------------------------------- operators on expressions


def test_sign_negates_one_term_at_a_time():
    assert set(exprs(mutants.op_sign(x + 2 * y))) == {-x + 2 * y, x - 2 * y}
    assert exprs(mutants.op_sign(sp.log(x))) == [-sp.log(x)]   # no Add: the whole expression


def test_factor_doubles_or_halves_one_term_or_the_expression():
    found = set(exprs(mutants.op_factor(x + y)))
    assert {2 * x + y, x / 2 + y, x + 2 * y, x + y / 2, 2 * (x + y), (x + y) / 2} <= found


def test_exponent_raises_one_integer_exponent():
    assert exprs(mutants.op_exponent(x**2 + y)) == [x**3 + y]
    assert exprs(mutants.op_exponent(sp.sqrt(x))) == []   # 1/2 is not an integer


def test_index_shifts_an_index_or_swaps_the_vector():
    found = set(exprs(mutants.op_index(p[i] * sp.log(q[i]))))
    assert p[i + 1] * sp.log(q[i]) in found
    assert p[i] * sp.log(q[i + 1]) in found
    assert q[i] * sp.log(q[i]) in found and p[i] * sp.log(p[i]) in found


def test_limit_changes_one_limit_of_a_sum_or_an_integral():
    total = sp.Sum(p[i], (i, 1, n))
    assert set(exprs(mutants.op_limit(total))) == {
        sp.Sum(p[i], (i, 1, n + 1)), sp.Sum(p[i], (i, 1, 2 * n)),
        sp.Sum(p[i], (i, 0, n)), sp.Sum(p[i], (i, 2, n))}
    line = sp.Integral(f(t), (t, -sp.oo, sp.oo))
    assert exprs(mutants.op_limit(line)) == [sp.Integral(f(t), (t, 0, sp.oo))]


def test_log_base_replaces_one_logarithm():
    found = exprs(mutants.op_log_base(sp.log(x) + 1))
    assert found == [sp.log(x) / sp.log(2) + 1, sp.log(x, 10) + 1]


# ---------------------------------------------------------------- operators on justifications


def test_direction_swaps_an_inequality_and_weakens_an_equality():
    op = Op("less_equal", x - 1, "tangent", derivation.LOG_LE_X_MINUS_1, {"t": x}, "<=")
    (detail, flipped), = mutants.op_direction(op, derivation)
    assert (flipped.method, flipped.relation, flipped.expr) == ("greater_equal", ">=", x - 1)
    assert flipped.lemma is op.lemma and flipped.how == {"t": x}
    weakened = mutants.op_direction(Op("equals", x + y, "r"), derivation)
    assert [m.method for _, m in weakened] == ["less_equal"]   # the chain is an equality
    assert all(m.lemma is derivation.NONNEGATIVE and m.how == {"term": x} for _, m in weakened)
    assert mutants.op_direction(Op("equals", sp.log(x), "r"), derivation) == []   # nothing to drop


def test_lemma_arguments_are_doubled_or_swapped():
    op = Op("less_equal", 0, "r", derivation.LOG_LE_X_MINUS_1, {"t": q[i] / p[i]}, "<=")
    found = [how for _, how in mutants.op_lemma_argument(op, [p, q])]
    assert {"t": 2 * q[i] / p[i]} in found and {"t": p[i] / q[i]} in found
    jensen = Op("less_equal", 0, "r", derivation.JENSEN_LOG,
                {"weights": p[i], "values": q[i], "index": (i, 1, n)}, "<=")
    found = [how for _, how in mutants.op_lemma_argument(jensen, [p, q])]
    assert {"weights": q[i], "values": p[i], "index": (i, 1, n)} in found
    assert {"weights": p[i], "values": q[i], "index": (i, 1, n + 1)} in found


def test_a_hypothesis_is_perturbed():
    total = sp.Sum(p[i], (i, 1, n))
    assert mutants.perturb_relation(sp.Eq(total, 1))[0][1] == sp.Eq(total, 2)
    assert mutants.perturb_relation(sp.Eq(total, x))[0][1] == sp.Eq(total, 2 * x)
    assert mutants.perturb_relation(1 - r > 0)[0][1] == (1 - r < 0)


def toy_chain(ops, given=(), start=sp.log(x)):
    return Chain("00", 0, "00 cell 0 toy", start, None, tuple(given), tuple(ops))


def test_given_mutants_drop_each_item_and_perturb_each_hypothesis():
    given = (sp.Eq(sp.Sum(p[i], (i, 1, n)), 1), 1 - r > 0)
    if hasattr(derivation, "assume"):
        given = tuple(derivation.assume(g) for g in given)
    chain = toy_chain([Op("equals", sp.log(x), "r")], given)
    details = [m.detail for m in mutants.given_mutants(chain, derivation)]
    assert len(details) == 4
    assert sum(d.startswith("drop") for d in details) == 2


def test_step_mutants_are_bounded_and_deterministic():
    op = Op("less_equal", x - 1, "tangent", derivation.LOG_LE_X_MINUS_1, {"t": x}, "<=")
    chain = toy_chain([op])
    first = mutants.step_mutants(chain, 1, derivation, limit=5)
    again = mutants.step_mutants(chain, 1, derivation, limit=5)
    assert len(first) == 5
    assert [(m.operator, m.detail) for m in first] == [(m.operator, m.detail) for m in again]
    assert len({m.operator for m in first}) == 4   # round robin over the four that apply


# ---------------------------------------------------------------- recording and replay


class _FakeStep:
    def __init__(self, expr):
        self.expr, self.relation = expr, "="


class _Immutable:
    """A chain in the style of the new checker: every step returns a new chain."""

    def __init__(self, start, *, title=None, given=()):
        self.start, self.title, self.given, self.steps = start, title, tuple(given), ()

    def equals(self, expr, reason):
        new = _Immutable(self.start, title=self.title, given=self.given)
        new.steps = self.steps + (_FakeStep(expr),)
        return new


def test_recorder_keeps_the_maximal_chains_of_an_immutable_checker():
    module = types.SimpleNamespace(Derivation=_Immutable)
    recorder = mutants.Recorder(module)
    recorder.install()
    namespace = {"D": _Immutable, "x": x}
    source = "a = D(x).equals(x, 'one')\nb = a.equals(x, 'two')\nc = a.equals(x, 'three')\n"
    recorder.active, recorder.cell = True, 0
    exec(compile(source, "<chapter toy: code cell 0>", "exec"), namespace)
    recorder.active = False
    recorder.uninstall()
    recorder.name_chains(namespace)
    chains = recorder.chains("00")
    assert sorted(c.name for c in chains) == ["00 cell 0 b", "00 cell 0 c"]
    assert [[op.reason for op in c.ops] for c in chains] == [["one", "two"], ["one", "three"]]
    assert "equals" in vars(_Immutable) and not hasattr(_Immutable.equals, "__wrapped__")


def test_recorder_ignores_chains_built_outside_the_cells():
    recorder = mutants.Recorder(types.SimpleNamespace(Derivation=_Immutable))
    recorder.install()
    recorder.active = True
    _Immutable(x).equals(x, "from a library")     # this file is not a cell
    recorder.active = False
    recorder.uninstall()
    assert recorder.chains("00") == []


def test_replay_catches_a_reversed_inequality_at_its_step():
    op = Op("less_equal", x - 1, "tangent", derivation.LOG_LE_X_MINUS_1, {"t": x}, "<=")
    chain = toy_chain([op])
    replayer = mutants.Replayer(derivation)
    prefixes = replayer.prefixes(chain)
    (_, flipped), = mutants.op_direction(op, derivation)
    mutant = Mutant(chain, 1, "direction", "<= -> >=", op=flipped)
    replayer.run(mutant, prefixes)
    assert (mutant.outcome, mutant.caught_at) == ("caught", 1)
    untouched = Mutant(chain, 1, "none", "the step itself", op=op)
    replayer.run(untouched, prefixes)
    assert untouched.outcome == "accepted"


# ---------------------------------------------------------------- the numeric classifier


def test_classifier_calls_a_true_identity_equivalent_and_a_false_one_survived():
    true = [(sp.log(x * y), "=", sp.log(x) + sp.log(y))]
    false = [(sp.log(x + y), "=", sp.log(x) + sp.log(y))]
    assert mutants.classify(true, [])[0] == "equivalent"
    assert mutants.classify(false, [])[0] == "SURVIVED"


def test_classifier_samples_points_that_satisfy_the_hypotheses():
    total = lambda term: sp.Sum(term, (i, 1, n))  # noqa: E731
    divergence = total(p[i] * sp.log(p[i] / q[i]))
    normalised = [sp.Eq(total(p[i]), 1), sp.Eq(total(q[i]), 1)]
    assert mutants.classify([(divergence, ">=", 0)], normalised)[0] == "equivalent"
    assert mutants.classify([(divergence, "<=", 0)], normalised)[0] == "SURVIVED"
    # without the hypotheses Gibbs' inequality fails at some point
    assert mutants.classify([(divergence, ">=", 0)], [])[0] == "SURVIVED"
    # a hypothesis that defines a symbol, and a strict inequality met by rejection
    m = sp.Symbol("m", positive=True)
    assert mutants.classify([(sp.log(1 - y), "<=", -y)], [1 - y > 0])[0] == "equivalent"
    assert mutants.classify([(m, "=", total(p[i]))], [sp.Eq(total(p[i]), m)])[0] == "equivalent"


def test_classifier_evaluates_integrals_and_leaves_what_it_cannot_unclassified():
    line = sp.Integral(f(t), (t, -sp.oo, sp.oo))
    assert mutants.classify([(line, "=", 1)], [sp.Eq(line, 1)])[0] == "equivalent"
    assert mutants.classify([(line, "=", 2)], [sp.Eq(line, 1)])[0] == "SURVIVED"
    j = sp.Symbol("j", integer=True)
    series = sp.Sum(p[j], (j, 1, sp.oo))          # positive entries: sampled summable
    assert mutants.classify([(series, "=", 1)], [sp.Eq(series, 1)])[0] == "equivalent"
    z = sp.IndexedBase("z", real=True)              # entries of any sign: no series
    assert mutants.classify([(sp.Sum(z[j] ** 2, (j, 1, sp.oo)), ">=", 0)], [])[0] == "unclassified"


def test_a_chapter_whose_cell_raises_did_not_run(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import sympy as sp\nfrom klbook.derivation import Derivation\n"
                                  "x = sp.Symbol('x', positive=True)\n"
                                  "chain = Derivation(sp.log(x**2))"
                                  ".equals(2 * sp.log(x), 'power')"),
        nbformat.v4.new_code_cell("raise RuntimeError('not migrated')"),
    ]
    path = tmp_path / "99_broken.ipynb"
    nbformat.write(notebook, path)
    results = mutants.run([path], log=lambda *args: None)
    entry = results["chapters"]["99"]
    assert entry["status"] == "did not run"
    assert entry["error"] == "code cell 1: RuntimeError: not migrated"
    assert results["mutants"] == []
    # without the broken cell the chapter runs and its one chain is mutated
    notebook.cells.pop()
    nbformat.write(notebook, path)
    results = mutants.run([path], log=lambda *args: None)
    assert results["chapters"]["99"]["status"] == "ran"
    assert [c["name"] for c in results["chapters"]["99"]["chains"]] == ["99 cell 0 chain"]
    assert results["mutants"] and all(m.outcome == "caught" for m in results["mutants"]
                                      if m.operator != "given")


def test_a_checker_that_accepts_everything_lets_false_mutants_survive():
    # The harness must see an unsound checker: with one that verifies nothing, every mutant
    # is accepted, and the classifier sorts the false claims (survived) from the true ones.
    module = types.SimpleNamespace(Derivation=_Immutable, StepError=ValueError)
    chain = toy_chain([Op("equals", sp.log(x) + sp.log(y), "log of a product")],
                      start=sp.log(x * y))
    replayer = mutants.Replayer(module)
    prefixes = replayer.prefixes(chain)
    outcomes = {}
    for mutant in mutants.step_mutants(chain, 1, derivation):
        replayer.run(mutant, prefixes)
        assert mutant.outcome == "accepted"
        mutants.classify_mutant(mutant)
        outcomes[mutant.detail] = mutant.outcome
    assert outcomes["negate the term log(x)"] == "SURVIVED"
    assert outcomes["the expression times 2"] == "SURVIVED"
    assert set(outcomes.values()) == {"SURVIVED"}
