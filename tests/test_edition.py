"""Tests of tools/edition.py: finding solutions, stubbing them, the student notebooks."""

import ast
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import edition  # noqa: E402
from edition import find_solutions, strip_solution_text, stub_code, student_notebook  # noqa: E402

md = nbformat.v4.new_markdown_cell
code = nbformat.v4.new_code_cell

EXERCISE = "````{exercise}\n:label: ex-a\n\nWrite `f(p, q)`.\n````"
START = "````{solution-start} ex-a\n:class: dropdown\n````\nThe idea: SECRET-TEXT."
END = "````{solution-end}\n````"
SOLUTION_CODE = ('def f(p, q):\n    """Divergence of q from p."""\n'
                 "    return secret_helper(p, q)  # SECRET-CODE\n\nf_value = f(1, 2)\nprint(f_value)")


def notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def chapter():
    return notebook(md("# Title"), code("x = 1\nx"), md(EXERCISE), md(START), code(SOLUTION_CODE),
                    code("check(f)", metadata={"tags": ["public-check"]}),
                    md("More SECRET-TEXT."), md(END), md("## After"))


def sources(nb):
    return "\n".join(c.source for c in nb.cells)


# --- find_solutions ------------------------------------------------------------------------


def test_find_solutions_locates_the_gated_solution():
    [solution] = find_solutions(chapter())
    assert (solution.label, solution.start, solution.end, solution.inner) == ("ex-a", 3, 7,
                                                                             [4, 5, 6])


def test_colon_fences_count_as_markers():
    nb = notebook(md(":::{solution-start} ex-b\n:::\ntext"), md(":::{solution-end}\n:::"))
    assert [(s.label, s.start, s.end) for s in find_solutions(nb)] == [("ex-b", 0, 1)]


def test_unclosed_solution_is_an_error_naming_the_cell():
    with pytest.raises(ValueError, match=r"cell 1: the solution 'ex-a' has no \{solution-end\}"):
        find_solutions(notebook(md("x"), md(START), code("1")))


def test_end_without_start_is_an_error():
    with pytest.raises(ValueError, match=r"cell 0: \{solution-end\} without"):
        find_solutions(notebook(md(END)))


def test_nested_start_is_an_error():
    with pytest.raises(ValueError, match="starts inside the solution 'ex-a'"):
        find_solutions(notebook(md(START), md(START.replace("ex-a", "ex-b")), md(END)))


# --- strip_solution_text -------------------------------------------------------------------


def test_ungated_solution_directive_is_removed_with_nested_fences():
    text = ("Before.\n\n````{solution} ex-a\n:class: dropdown\n\n```python\nSECRET()\n```\n"
            "Still secret.\n````\n\nAfter.\n")
    assert strip_solution_text(text) == "Before.\n\n\nAfter.\n"


def test_gated_solution_in_one_text_is_removed():
    text = f"{EXERCISE}\n\n{START}\n\nmore\n{END}\nAfter.\n"
    assert strip_solution_text(text) == f"{EXERCISE}\n\nAfter.\n"


def test_text_without_solutions_is_unchanged():
    text = f"{EXERCISE}\n\n```python\nprint(1)\n```\n"
    assert strip_solution_text(text) == text


# --- stub_code -----------------------------------------------------------------------------


def test_stub_keeps_signature_and_docstring_and_assigned_names():
    stub = stub_code(SOLUTION_CODE, "ex-a")
    assert stub == ("# Exercise ex-a: replace each ... with your code.\n"
                    'def f(p, q):\n    """Divergence of q from p."""\n    ...\nf_value = ...')
    assert "SECRET" not in stub


def test_stub_keeps_decorators_multiline_signatures_and_type_hints():
    source = ("@functools.cache\ndef g(\n    p: float,\n    q: float = 2.0,\n) -> float:\n"
              "    return p * q\n")
    stub = stub_code(source, "ex-g")
    assert stub.splitlines()[1:] == ["@functools.cache", "def g(", "    p: float,",
                                     "    q: float = 2.0,", ") -> float:", "    ..."]


def test_stub_of_a_one_line_definition_is_rebuilt():
    stub = stub_code("def h(x): return x + 1  # SECRET", "ex-h")
    assert "SECRET" not in stub and "x + 1" not in stub
    tree = ast.parse(stub)
    assert [n.name for n in tree.body] == ["h"]


def test_stub_of_a_class_stubs_its_methods():
    source = "class Model:\n    rate = 3\n\n    def fit(self, x):\n        return x * self.rate\n"
    stub = stub_code(source, "ex-m")
    assert stub.splitlines()[1:] == ["class Model:", "    def fit(self, x):", "        ..."]


def test_stub_of_code_without_names_is_a_comment():
    assert stub_code("assert 1 + 1 == 2\nprint('SECRET')", "ex-p") == "# Exercise ex-p: your code here."


def test_stub_of_ipython_syntax_is_a_comment():
    assert stub_code("%timeit secret()", "ex-t") == "# Exercise ex-t: your code here."


@pytest.mark.parametrize("source", [SOLUTION_CODE, "a, b = 1, 2\nc: int = 3",
                                    "def k(x):\n    '''doc'''\n    return x"])
def test_every_stub_is_valid_python_that_runs(source):
    namespace = {}
    exec(compile(stub_code(source, "ex-r"), "<stub>", "exec"), namespace)


# --- student_notebook ----------------------------------------------------------------------


@pytest.mark.parametrize("for_site", [True, False])
def test_student_notebook_has_no_solution_text_or_code(for_site):
    student = student_notebook(chapter(), for_site=for_site)
    text = sources(student)
    assert "SECRET" not in text and "secret_helper" not in text
    assert "solution-start" not in text and "solution-end" not in text
    assert EXERCISE in text and "## After" in text and "def f(p, q):" in text
    nbformat.validate(student)


def test_public_checks_survive_and_are_skipped_on_the_site():
    site = student_notebook(chapter(), for_site=True)
    [check] = [c for c in site.cells if c.source == "check(f)"]
    assert check.metadata["tags"] == ["public-check", "skip-execution"]
    handout = student_notebook(chapter(), for_site=False)
    [check] = [c for c in handout.cells if c.source == "check(f)"]
    assert check.metadata["tags"] == ["public-check"]


def test_handout_has_an_answer_cell_per_exercise():
    handout = student_notebook(chapter(), for_site=False)
    tags = [c.metadata.get("tags", []) for c in handout.cells]
    assert tags.count([edition.ANSWER_TAG]) == 1


def chapter_with_outputs():
    nb = chapter()
    for index in (1, 4, 5):  # a cell outside the solution, the solution, its public check
        nb.cells[index].outputs = [nbformat.v4.new_output("stream", text=f"output {index}\n")]
        nb.cells[index].execution_count = index
    return nb


def test_handout_outputs_are_cleared():
    student = student_notebook(chapter_with_outputs(), for_site=False)
    assert all(c.outputs == [] and c.execution_count is None
               for c in student.cells if c.cell_type == "code")


def test_site_keeps_the_outputs_of_cells_outside_solutions_only():
    student = student_notebook(chapter_with_outputs(), for_site=True)
    outputs = {c.source: [o.text for o in c.outputs] for c in student.cells
               if c.cell_type == "code"}
    assert outputs == {"x = 1\nx": ["output 1\n"], "check(f)": [],
                       "# Exercise ex-a: replace each ... with your code.\n"
                       'def f(p, q):\n    """Divergence of q from p."""\n    ...': []}


# --- solution_dependencies -----------------------------------------------------------------


def with_cells_after(*sources):
    nb = chapter()
    nb.cells += [code(source) for source in sources]
    return nb


def test_a_cell_reading_a_solution_name_depends_on_the_solution():
    nb = with_cells_after("y = 2", "print(f_value + y)", "def g():\n    return f(1, 2)",
                          "with open(f_value) as f:\n    pass", "f_value = f_value + 1")
    assert edition.solution_dependencies(nb) == [(10, ["f_value"]), (11, ["f"]),
                                                 (12, ["f_value"]), (13, ["f_value"])]


def test_a_cell_that_binds_the_name_first_does_not_depend_on_the_solution():
    nb = with_cells_after("f_value = 3\nprint(f_value)", "print(f_value)",
                          "for f in range(2):\n    print(f)",
                          "def g(f):\n    f_value = f\n    return f_value",
                          "print([f for f in range(3)], (lambda f: f)(1))")
    assert edition.solution_dependencies(nb) == []


def test_public_checks_may_read_the_solution():
    assert edition.solution_dependencies(chapter()) == []


def test_no_chapter_reads_what_a_solution_set():
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        assert edition.solution_dependencies(nbformat.read(path, as_version=4)) == [], path.name


def test_strip_sources_refuses_a_chapter_that_reads_a_solution(tmp_path):
    nbformat.write(with_cells_after("print(f_value)"), tmp_path / "chapter.ipynb")
    with pytest.raises(ValueError, match=r"chapter.ipynb: .*\(9, \['f_value'\]\)"):
        edition.strip_sources(tmp_path)


def test_text_around_the_markers_is_kept():
    nb = notebook(md(EXERCISE + "\n\n" + START), code("secret = 1"), md(END + "\n\nKept after."))
    student = student_notebook(nb, for_site=True)
    assert [c.source for c in student.cells] == [
        EXERCISE, "# Exercise ex-a: replace each ... with your code.\nsecret = ...", "Kept after."]


def test_every_chapter_converts():
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        student = student_notebook(nb, for_site=True)
        nbformat.validate(student)
        assert "{solution-start}" not in sources(student), path.name


def test_student_config_links_nowhere_and_executes_nothing(tmp_path):
    import yaml

    config_path = tmp_path / "_config.yml"
    config_path.write_text((ROOT / "_config.yml").read_text(encoding="utf-8"), encoding="utf-8")
    edition.student_config(config_path)
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    assert config["title"].endswith("(student edition)")
    assert config["execute"]["execute_notebooks"] == "off"
    assert "launch_buttons" not in config
    assert config["html"]["use_repository_button"] is False
    assert config["sphinx"]["config"]["klbook_repository_buttons"] == []
    original = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    original["sphinx"]["config"]["klbook_repository_buttons"] = []
    assert config["sphinx"] == original["sphinx"]  # the book's extensions and settings stay


def test_stub_keeps_only_the_deliverables_when_asked():
    source = ("width = 2\nprefactor = width * 3\n"
              "def mean_square_ratio(sigma):\n    \"\"\"E[r^2].\"\"\"\n    return prefactor\n"
              "finite_when = (0, width)\n")
    stub = stub_code(source, "ex-k", keep={"mean_square_ratio", "finite_when"})
    assert stub == ("# Exercise ex-k: replace each ... with your code.\n"
                    "def mean_square_ratio(sigma):\n    \"\"\"E[r^2].\"\"\"\n    ...\n"
                    "finite_when = ...")


def test_deliverables_are_the_names_the_statement_gives():
    from edition import deliverables

    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        md("````{exercise}\n:label: ex-k\n\nWrite `f(x)` and give `value`; use `np.log`.\n````"),
        md("````{solution-start} ex-k\n:class: dropdown\n````"),
        code("helper = 3\ndef f(x):\n    return x\nvalue = f(helper)"),
        md("````{solution-end}\n````"),
        md("````{exercise}\n:label: ex-m\n\nCompute it.\n````"),
        md("````{solution-start} ex-m\n:class: dropdown\n````"),
        code("answer = 1"),
        md("````{solution-end}\n````")])
    named, unnamed = find_solutions(nb)
    assert deliverables(nb, named) == {"f", "value"}
    assert deliverables(nb, unnamed) is None  # the statement names nothing: keep every name
