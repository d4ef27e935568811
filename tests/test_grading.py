"""Grading with Otter-Grader: every assignment in process, and one end to end.

Every assignment is built with Otter Assign from its chapter and its file in
``assignments/`` (without Otter's own test run), then graded in this process:
the notebook's code cells run in order in one namespace, as in a kernel, and
each of the autograder's test files (public and hidden) runs against it with
Otter's test runner. So for every assignment

* the solution notebook scores full marks;
* the untouched student notebook (the stubs) scores zero, and no test crashes
  the grader;
* a notebook with a typical mistake in every exercise (``MISTAKES`` in the
  assignment file) scores the points reasoned there (``MISTAKE_SCORES``).

End to end, the assignment of chapter 1 is graded as ``otter run`` grades it
(Otter's own entry point: a kernel per notebook, no Docker, no network) on
three notebooks: the solution (full marks), the
untouched student notebook (zero), and a notebook with typical mistakes (log10
where the natural log is meant, an inverted factor, the two distributions
swapped), which scores the partial credit its tests allow. The in-process
scores of the same three notebooks must equal Otter's, question by question.
These runs take about fifteen seconds, so they run when ``KLBOOK_GRADING`` is
set: ``make test`` (through ``make teaching-test``) sets it.
"""

import contextlib
import io
import os
import sys
import warnings
import zipfile
from pathlib import Path

import matplotlib
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import assign  # noqa: E402

end_to_end = pytest.mark.skipif(not os.environ.get("KLBOOK_GRADING"),
                                reason="otter run takes fifteen seconds: set KLBOOK_GRADING=1 "
                                       "(make teaching-test does)")

SPEC = ROOT / "assignments" / "01_definition.py"
SPECS = assign.spec_files()

@pytest.fixture(scope="module")
def all_built(tmp_path_factory):
    # Graded below, so Otter Assign need not run the tests on the solutions too.
    out = tmp_path_factory.mktemp("assignments")
    return dict(zip(SPECS, assign.build_all(SPECS, out, run_tests=False)))


@pytest.fixture(scope="module")
def built(all_built):
    return all_built[SPEC]


@pytest.fixture(scope="module")
def wrong(built, tmp_path_factory):
    return fill_answers(built.student, assign.load_spec(SPEC).MISTAKES,
                        tmp_path_factory.mktemp("wrong") / built.student.name)


@pytest.fixture(scope="module")
def grades(built, wrong):
    """The three notebooks graded as otter run grades them, each in its own kernel."""
    notebooks = {"solution": built.solution, "untouched": built.student, "wrong": wrong}
    return {name: assign.grade(built.autograder, path) for name, path in notebooks.items()}


def run_cells(notebook: Path) -> dict:
    """The namespace left by the notebook's code cells, run in order as in a kernel.

    Otter's own cells (``otter.Notebook``, ``grader.check``) are left out: the tests run
    after. A cell that raises is left behind and the next cell runs, as under otter run.
    """
    matplotlib.use("Agg")
    namespace = {"__name__": "__main__"}
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    for index, cell in enumerate(cells):
        if "= otter.Notebook(" in cell.source or cell.source.lstrip().startswith("grader."):
            continue
        code = compile(cell.source, f"<{notebook.name}: code cell {index}>", "exec")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
            exec(code, namespace)
    return namespace


def grade_in_process(built: assign.Built, notebook: Path, tmp_path: Path) -> assign.Grade:
    """The notebook graded with the autograder's test files and Otter's test runner."""
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    with zipfile.ZipFile(built.autograder) as archive:
        tests = [Path(archive.extract(name, tmp_path)) for name in archive.namelist()
                 if name.startswith("tests/") and name.endswith(".py")]
    by_question = {}
    # Warnings come from the student's code (a mistake may divide 0 by 0), not the test's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        namespace = run_cells(notebook)
        for path in sorted(tests):
            test_file = create_test_file(str(path), NBMetadataConfig())
            test_file.run(namespace)
            by_question[test_file.name] = (float(test_file.score), float(test_file.possible))
    return assign.Grade(sum(score for score, _ in by_question.values()),
                        sum(most for _, most in by_question.values()), by_question)


def points(spec_path: Path) -> dict[str, float]:
    """The points of each question of an assignment, from its file."""
    return {q.name: float(q.points) for q in assign.questions(assign.load_spec(spec_path))}


# --- every assignment, graded in process -----------------------------------------------------


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.stem)
def test_solution_of_every_assignment_scores_full_marks(all_built, spec_path, tmp_path):
    built = all_built[spec_path]
    result = grade_in_process(built, built.solution, tmp_path)
    assert result.by_question == {name: (most, most) for name, most in points(spec_path).items()}


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.stem)
def test_typical_mistakes_in_every_assignment_score_the_partial_credit_reasoned(
        all_built, spec_path, tmp_path):
    # Each assignment file gives a typical mistake for every question (MISTAKES) and the
    # points it should earn, reasoned from the tests beside it (MISTAKE_SCORES).
    spec, built = assign.load_spec(spec_path), all_built[spec_path]
    assert set(spec.MISTAKES) == set(spec.QUESTIONS), "a typical mistake for every question"
    wrong = fill_answers(built.student, spec.MISTAKES, tmp_path / built.student.name)
    result = grade_in_process(built, wrong, tmp_path)
    assert result.by_question == {name: (float(spec.MISTAKE_SCORES[name]), most)
                                  for name, most in points(spec_path).items()}
    assert all(score < most for score, most in result.by_question.values()), \
        "a mistake that earns full marks is not a mistake"


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.stem)
def test_untouched_student_notebook_of_every_assignment_scores_zero(all_built, spec_path,
                                                                    tmp_path):
    built = all_built[spec_path]
    result = grade_in_process(built, built.student, tmp_path)
    assert result.by_question == {name: (0.0, most) for name, most in points(spec_path).items()}


def answer_cells(nb):
    return [c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]


def fill_answers(student: Path, answers: dict[str, str], target: Path) -> Path:
    """The student's notebook with each exercise's whole answer written into its first
    answer cell, and the exercise's other answer cells (a solution with several code
    cells has one per cell) left empty."""
    nb = nbformat.read(student, as_version=4)
    for label, code in answers.items():
        cells = [c for c in answer_cells(nb) if c.source.startswith(f"# Exercise {label}:")]
        assert cells, f"no answer cell for {label}"
        for cell, source in zip(cells, [code] + [""] * (len(cells) - 1)):
            cell.source = source
    nbformat.write(nb, target)
    return target


def test_student_notebook_holds_stubs_not_solutions(built):
    student = nbformat.read(built.student, as_version=4)
    solution = nbformat.read(built.solution, as_version=4)
    stubs = [c.source for c in answer_cells(student)]
    assert stubs == [
        "# Exercise ex-def-bits: replace each ... with your code.\n"
        "exact_bits = ...\nnumeric_bits = ...",
        "# Exercise ex-def-units: replace each ... with your code.\n"
        "bits_to_hartleys = ...\n"
        'def change_base(divergence, b, c):\n    """The divergence `divergence`, computed '
        'with logarithms to base `b`, in base `c`."""\n    ...',
        "# Exercise ex-def-support: replace each ... with your code.\n"
        "def kl_uniform(a, b):\n    ...",
    ]
    assert "np.log(b / a)" in "\n".join(c.source for c in solution.cells)
    assert "np.log(b / a)" not in built.student.read_text()


def test_hidden_tests_stay_out_of_the_student_notebook(built):
    tests = nbformat.read(built.student, as_version=4).metadata["otter"]["tests"]
    assert "check_kl_uniform" in tests["kl_uniform"]
    assert "non_integer_lengths" not in tests["kl_uniform"]
    assert "is_exact" not in tests["coin_bits"]


@end_to_end
def test_solution_scores_full_marks(grades):
    result = grades["solution"]
    assert result.possible == 19
    assert result.total == result.possible


@end_to_end
def test_untouched_student_notebook_scores_zero(grades):
    result = grades["untouched"]
    assert result.by_question == {"coin_bits": (0.0, 4.0), "units": (0.0, 7.0),
                                  "kl_uniform": (0.0, 8.0)}


@end_to_end
def test_typical_mistakes_score_partial_credit(grades):
    # The points reasoned in assignments/01_definition.py (MISTAKE_SCORES).
    result = grades["wrong"]
    assert result.by_question == {"coin_bits": (1.0, 4.0), "units": (2.0, 7.0),
                                  "kl_uniform": (2.0, 8.0)}


@end_to_end
@pytest.mark.parametrize("name", ["solution", "untouched", "wrong"])
def test_grading_in_process_agrees_with_otter_run(built, wrong, grades, name, tmp_path):
    notebook = {"solution": built.solution, "untouched": built.student, "wrong": wrong}[name]
    assert grade_in_process(built, notebook, tmp_path) == grades[name]
