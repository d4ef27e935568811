"""Tests of tools/assign.py that need no grading run: the master notebooks it generates.

Grading end to end is in test_grading.py; ``make student`` runs ``otter assign``
with its own check that every test passes on the solution notebook.
"""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import assign  # noqa: E402

SPECS = assign.spec_files()


def test_there_are_assignments():
    assert [p.name for p in SPECS][:2] == ["01_definition.py", "02_gibbs.py"]


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.stem)
def test_master_notebook_follows_the_otter_format(spec_path):
    spec = assign.load_spec(spec_path)
    nb = assign.master_notebook(spec)
    raws = [c.source for c in nb.cells if c.cell_type == "raw"]
    assert raws[0].startswith("# ASSIGNMENT CONFIG\n")
    questions = assign.questions(spec)
    for marker in ("# BEGIN QUESTION", "# END QUESTION", "# BEGIN SOLUTION", "# END SOLUTION",
                   "# BEGIN TESTS", "# END TESTS"):
        assert sum(r.startswith(marker) for r in raws) == len(questions), marker
    solutions = [c.source for c in nb.cells if "# BEGIN SOLUTION NO PROMPT" in c.source]
    assert solutions and all(s.startswith("# Exercise ") and s.endswith("# END SOLUTION")
                             for s in solutions)


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.stem)
def test_every_question_has_public_and_hidden_tests(spec_path):
    for question in assign.questions(assign.load_spec(spec_path)):
        assert question.public and question.hidden, question.label
        assert question.points == sum(points for points, _ in question.public + question.hidden)


def test_test_cells_carry_points_and_visibility():
    spec = assign.load_spec(ROOT / "assignments" / "01_definition.py")
    nb = assign.master_notebook(spec)
    configs = [c.source.split('""" # END TEST CONFIG')[0] for c in nb.cells
               if c.cell_type == "code" and c.source.startswith('""" # BEGIN TEST CONFIG')]
    assert sum("hidden: true" in c for c in configs) == 11
    assert sum("hidden: false" in c for c in configs) == 3


def test_exercise_statements_lose_their_directive_options():
    chapter = nbformat.read(ROOT / "chapters" / "01_definition.ipynb", as_version=4)
    statement = assign.exercise_statements(chapter)["ex-def-support"]
    assert statement.startswith("Let $P$ be uniform") and ":label:" not in statement


def test_setup_cells_pick_the_cells_that_define_the_names():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        code("import numpy as np"), code("a = 1\nb = 2"), code("print(a)"),
        code("def total(x):\n    return x"), md("````{solution-start} ex-a\n````"),
        code("c = 3"), md("````{solution-end}\n````")])
    assert assign.setup_cells(nb, ["b", "total"]) == [
        "import numpy as np", "a = 1\nb = 2", "def total(x):\n    return x"]
    with pytest.raises(ValueError, match=r"no code cell of the chapter defines \['c'\]"):
        assign.setup_cells(nb, ["c"])  # defined only inside a solution


def test_unknown_exercise_is_an_error(tmp_path):
    spec_path = tmp_path / "99_bad.py"
    spec_path.write_text('CHAPTER = "chapters/01_definition.ipynb"\nNAME = "bad"\n'
                         'QUESTIONS = {"ex-nowhere": {"name": "q", "public": [], "hidden": []}}\n')
    with pytest.raises(ValueError, match="no exercise with a solution labelled 'ex-nowhere'"):
        assign.master_notebook(assign.load_spec(spec_path))


# --- Every code exercise of the book is checkable by the student and graded by Otter ---------

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def code_exercises(chapter_path):
    """The labels of the chapter's exercises whose solution has code, with the number
    of public-check cells in each solution."""
    nb = nbformat.read(chapter_path, as_version=4)
    found = {}
    for solution in assign.find_solutions(nb):
        cells = [nb.cells[i] for i in solution.inner if nb.cells[i].cell_type == "code"]
        answers = [c for c in cells if assign.PUBLIC_CHECK_TAG not in c.metadata.get("tags", [])]
        if answers:
            found[solution.label] = len(cells) - len(answers)
    return found


def graded_labels():
    labels = {}
    for spec_path in SPECS:
        spec = assign.load_spec(spec_path)
        for label in spec.QUESTIONS:
            labels[label] = spec.CHAPTER
    return labels


@pytest.mark.parametrize("chapter_path", CHAPTERS, ids=lambda p: p.stem)
def test_every_code_exercise_has_a_public_check(chapter_path):
    unchecked = [label for label, checks in code_exercises(chapter_path).items() if not checks]
    assert not unchecked, f"code exercises with no public-check cell: {unchecked}"


@pytest.mark.parametrize("chapter_path", CHAPTERS, ids=lambda p: p.stem)
def test_every_code_exercise_is_in_an_assignment(chapter_path):
    graded = graded_labels()
    chapter = str(chapter_path.relative_to(ROOT))
    ungraded = [label for label in code_exercises(chapter_path) if graded.get(label) != chapter]
    assert not ungraded, f"code exercises in no assignment of {chapter}: {ungraded}"
