"""Grading end to end with Otter-Grader, locally: no Docker, no network.

The assignment of chapter 1 is built with ``otter assign`` from the chapter and
``assignments/01_definition.py``; three notebooks are then graded with
``otter run``:

* the solution notebook scores full marks;
* the untouched student notebook scores zero, and the grader does not crash;
* a notebook with two typical mistakes (log10 where the natural log is meant,
  the two distributions swapped) scores the partial credit its tests allow.

These runs take about a minute, so they run when ``KLBOOK_GRADING`` is set:
``make test`` (through ``make teaching-test``) sets it.
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import assign  # noqa: E402

pytestmark = pytest.mark.skipif(not os.environ.get("KLBOOK_GRADING"),
                                reason="grading runs take a minute: set KLBOOK_GRADING=1 "
                                       "(make teaching-test does)")

SPEC = ROOT / "assignments" / "01_definition.py"

# A student who computes the divergence in hartleys (log10, the pitfall chapter 1 warns
# of) but checks it correctly with klbook, who inverts the factor between two bases, and
# who swaps the two uniform distributions.
WRONG_ANSWERS = {
    "ex-def-bits": (
        "exact_bits = sp.Rational(1, 4) * sp.log(sp.Rational(1, 2), 10)"
        " + sp.Rational(3, 4) * sp.log(sp.Rational(3, 2), 10)\n"
        "numeric_bits = klbook.kl_divergence([0.25, 0.75], [0.5, 0.5], base=2)\n"
    ),
    "ex-def-units": (
        "bits_to_hartleys = sp.log(10) / sp.log(2)\n"
        "def change_base(divergence, b, c):\n"
        "    return divergence * np.log(c) / np.log(b)\n"
    ),
    "ex-def-support": (
        "def kl_uniform(a, b):\n"
        "    return np.log(a / b) if b <= a else np.inf\n"
    ),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    # The solution is graded below, so otter assign need not run the tests on it too.
    return assign.build(SPEC, tmp_path_factory.mktemp("assignments"), run_tests=False)


@pytest.fixture(scope="module")
def grades(built, tmp_path_factory):
    """The three notebooks graded at once (each run is mostly waiting for its kernel)."""
    wrong = fill_answers(built.student, WRONG_ANSWERS,
                         tmp_path_factory.mktemp("wrong") / built.student.name)
    notebooks = {"solution": built.solution, "untouched": built.student, "wrong": wrong}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(assign.grade, built.autograder, path)
                   for name, path in notebooks.items()}
        return {name: future.result() for name, future in futures.items()}


def answer_cells(nb):
    return [c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]


def fill_answers(student: Path, answers: dict[str, str], target: Path) -> Path:
    """The student's notebook with the answer cell of each exercise replaced."""
    nb = nbformat.read(student, as_version=4)
    for label, code in answers.items():
        cells = [c for c in answer_cells(nb) if c.source.startswith(f"# Exercise {label}:")]
        assert len(cells) == 1, f"one answer cell for {label}"
        cells[0].source = code
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


def test_solution_scores_full_marks(grades):
    result = grades["solution"]
    assert result.possible == 19
    assert result.total == result.possible


def test_untouched_student_notebook_scores_zero(grades):
    result = grades["untouched"]
    assert result.by_question == {"coin_bits": (0.0, 4.0), "units": (0.0, 7.0),
                                  "kl_uniform": (0.0, 8.0)}


def test_typical_mistakes_score_partial_credit(grades):
    result = grades["wrong"]
    # coin_bits: only the klbook check in bits passes (1 of 4). units, inverted: a base to
    # itself and the round trip hold whatever the factor (2 of 7). kl_uniform, swapped: equal
    # lengths give 0 and scaling both lengths changes nothing (2 of 8); every value and
    # the infinite case fail.
    assert result.by_question == {"coin_bits": (1.0, 4.0), "units": (2.0, 7.0),
                                  "kl_uniform": (2.0, 8.0)}
