"""Course assignments from the book's chapters, graded by Otter-Grader.

An assignment is a file ``assignments/NN_topic.py`` that names a chapter
(``CHAPTER``), the exercises of that chapter it asks (``QUESTIONS``, by their
``ex-`` label), the names its solutions use from earlier in the chapter
(``SETUP_NAMES``: the cells defining them are copied into the assignment, after
the chapter's first code cell) and, for each exercise, the tests: public ones (the student runs them with ``grader.check``) and hidden ones
(only the autograder runs them), with points. Statements, solutions and stubs
are not copied into the assignment file; they are read from the chapter when
the assignment is built, so that one source serves the book and the course.

The build writes an Otter Assign master notebook and runs ``otter assign`` on
it, which gives Otter's usual split::

    OUT/NAME/master.ipynb            the generated master notebook (instructor)
    OUT/NAME/dist/student/NAME.ipynb the notebook to hand out (stubs, public tests)
    OUT/NAME/dist/autograder/        the solution notebook and the autograder zip
                                     (public and hidden tests)

Grading runs ``otter run``: Otter's non-containerised grader, in this Python
environment, without Docker and without network.

Usage::

    python tools/assign.py build [--out _build/assignments] [--no-run-tests]
                                 [assignments/01_definition.py ...]
    python tools/assign.py grade AUTOGRADER_ZIP SUBMISSION.ipynb [...]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import inspect
import io
import os
import shutil
import sys
import textwrap
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from edition import (PUBLIC_CHECK_TAG, bound_names, deliverables,  # noqa: E402
                     exercise_statements, find_solutions, stub_code)
from repository import INSTALL_TAG  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ROOT / "assignments"


@dataclass
class Question:
    label: str        # the exercise's label in the chapter
    name: str         # Otter's question name (what grader.check takes)
    public: list      # [(points, test function)]
    hidden: list      # [(points, test function)]

    @property
    def points(self) -> float:
        return sum(points for points, _ in self.public + self.hidden)


def load_spec(path: Path) -> ModuleType:
    """Import an assignment file; it defines CHAPTER, NAME, TITLE and QUESTIONS."""
    spec = importlib.util.spec_from_file_location(f"assignment_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attribute in ("CHAPTER", "NAME", "QUESTIONS"):
        if not hasattr(module, attribute):
            raise ValueError(f"{path}: the assignment file must define {attribute}")
    return module


def questions(spec: ModuleType) -> list[Question]:
    return [Question(label, q["name"], list(q.get("public", [])), list(q.get("hidden", [])))
            for label, q in spec.QUESTIONS.items()]


def spec_files() -> list[Path]:
    return sorted(p for p in ASSIGNMENTS.glob("[0-9]*.py"))


# --- The master notebook -------------------------------------------------------------------


def setup_cells(chapter: nbformat.NotebookNode, names: list[str]) -> list[str]:
    """The chapter's install cell (tools/repository.py) if it has one, its first other code
    cell (the imports), then each code cell outside the solutions that binds one of
    ``names``, in the chapter's order."""
    in_solution = {i for s in find_solutions(chapter) for i in [s.start, s.end, *s.inner]}
    install = [c.source for c in chapter.cells if INSTALL_TAG in c.metadata.get("tags", [])]
    code = [(i, c.source) for i, c in enumerate(chapter.cells)
            if c.cell_type == "code" and i not in in_solution
            and INSTALL_TAG not in c.metadata.get("tags", [])]
    wanted, chosen, found = set(names), install + [code[0][1]], set()
    for _, source in code[1:]:
        bound = bound_names(source) & wanted
        if bound:
            chosen.append(source)
            found |= bound
    missing = wanted - found - bound_names(code[0][1])
    if missing:
        raise ValueError(f"no code cell of the chapter defines {sorted(missing)}")
    return chosen


def _raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def _test_cell(function, points: float, hidden: bool) -> nbformat.NotebookNode:
    config = yaml.safe_dump({"points": points, "hidden": hidden}, sort_keys=False).strip()
    source = textwrap.dedent(inspect.getsource(function)).strip()
    return nbformat.v4.new_code_cell(
        f'""" # BEGIN TEST CONFIG\n{config}\n""" # END TEST CONFIG\n{source}')


def master_notebook(spec: ModuleType, root: Path = ROOT, *,
                    run_tests: bool = True) -> nbformat.NotebookNode:
    """The Otter Assign master notebook of an assignment, built from its chapter.

    With `run_tests`, ``otter assign`` runs every test on the solution notebook.
    """
    chapter = nbformat.read(root / spec.CHAPTER, as_version=4)
    statements = exercise_statements(chapter)
    solutions = {s.label: s for s in find_solutions(chapter)}
    # The chapter's imports, and the cells that define what the solutions use (SETUP_NAMES).
    setup = setup_cells(chapter, list(getattr(spec, "SETUP_NAMES", [])))
    config = {
        "name": spec.NAME,
        "init_cell": True,
        "check_all_cell": True,
        "export_cell": False,
        "run_tests": run_tests,
        "tests": {"ok_format": False},
        "generate": True,
    }
    title = getattr(spec, "TITLE", spec.NAME)
    cells = [
        _raw("# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False)),
        nbformat.v4.new_markdown_cell(
            f"# {title}\n\nThese exercises come from the chapter `{Path(spec.CHAPTER).stem}` "
            "of *The Kullback–Leibler Divergence, with Proofs That Run*. Replace each `...` "
            "with your code, and run the `grader.check` cell after each answer: it runs the "
            "public checks. More tests, hidden from you, grade the submission."),
        *(nbformat.v4.new_code_cell(source) for source in setup),
    ]
    for question in questions(spec):
        if question.label not in statements or question.label not in solutions:
            raise ValueError(f"{spec.CHAPTER} has no exercise with a solution labelled "
                             f"{question.label!r}")
        code = [chapter.cells[i] for i in solutions[question.label].inner
                if chapter.cells[i].cell_type == "code"
                and PUBLIC_CHECK_TAG not in chapter.cells[i].metadata.get("tags", [])]
        if not code:
            raise ValueError(f"exercise {question.label!r} has no solution code to grade")
        answers = deliverables(chapter, solutions[question.label])
        cells.append(_raw(yaml.safe_dump({"name": question.name, "points": question.points},
                                         sort_keys=False).join(["# BEGIN QUESTION\n", ""])))
        cells.append(nbformat.v4.new_markdown_cell(
            f"**Exercise `{question.label}`.** {statements[question.label]}"))
        cells.append(_raw("# BEGIN SOLUTION"))
        # Otter keeps a solution cell's code in the student's notebook except between these
        # markers: the student gets the stub (the same as in the student edition of the book),
        # the solution notebook the stub and then the solution, which overrides it.
        cells += [nbformat.v4.new_code_cell(
            f"{stub_code(c.source, question.label, keep=answers)}\n"
            f"# BEGIN SOLUTION NO PROMPT\n{c.source}\n# END SOLUTION") for c in code]
        cells.append(_raw("# END SOLUTION"))
        cells.append(_raw("# BEGIN TESTS"))
        cells += [_test_cell(fn, points, False) for points, fn in question.public]
        cells += [_test_cell(fn, points, True) for points, fn in question.hidden]
        cells.append(_raw("# END TESTS"))
        cells.append(_raw("# END QUESTION"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


@dataclass
class Built:
    master: Path
    student: Path        # the notebook handed out
    solution: Path       # the autograder's solution notebook
    autograder: Path     # the autograder zip (hidden tests)


def build(spec_path: Path, out: Path, *, run_tests: bool = True,
          handout: Path | None = None) -> Built:
    """Generate the master notebook of one assignment and run Otter Assign on it.

    With `run_tests`, Otter grades the solution notebook with the autograder (as
    ``otter run`` would, in a kernel) and the build fails unless it scores full marks.
    If `handout` is given, the student's notebook is also copied to ``handout/NAME/``.
    """
    # Otter Assign's Python entry point, not its command: importing otter takes about
    # three seconds, and a build without tests then takes a twentieth of a second.
    from otter.assign import main as otter_assign

    spec = load_spec(spec_path)
    folder = (out / spec.NAME).resolve()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    master = folder / f"{spec.NAME}.ipynb"
    nbformat.write(master_notebook(spec, run_tests=run_tests), master)
    dist = folder / "dist"
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            otter_assign(str(master), str(dist))  # run_tests is in the notebook's config
    except Exception as error:
        raise RuntimeError(f"otter assign failed on {spec_path}: {error}\n{log.getvalue()}") \
            from error
    zips = sorted((dist / "autograder").glob("*.zip"))
    if handout is not None:
        if (handout / spec.NAME).exists():
            shutil.rmtree(handout / spec.NAME)
        shutil.copytree(dist / "student", handout / spec.NAME)
    return Built(master, dist / "student" / master.name, dist / "autograder" / master.name,
                 zips[-1])


def build_all(specs: list[Path], out: Path, *, run_tests: bool = True,
              handout: Path | None = None, jobs: int = 1) -> list[Built]:
    """Build several assignments; with `run_tests`, on `jobs` processes at once.

    Otter Assign changes the working directory while it runs, so builds in one
    process run one after the other; each test run spends seconds in its kernel,
    so those run in parallel processes.
    """
    task = functools.partial(build, out=out, run_tests=run_tests, handout=handout)
    if not run_tests or jobs <= 1:
        return [task(spec) for spec in specs]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(task, specs))


@dataclass
class Grade:
    total: float
    possible: float
    by_question: dict[str, tuple[float, float]]


def grade(autograder: Path, submission: Path) -> Grade:
    """Grade one submission as ``otter run`` does (a kernel; no container, no network).

    This is Otter's own entry point for ``otter run``, called in this process, so
    that grading many notebooks imports Otter once.
    """
    from otter.api import grade_submission

    with warnings.catch_warnings():
        # Otter's use of pandas, not the submission: nothing for a grader to act on.
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.drop")
        results = grade_submission(str(submission), str(autograder), quiet=True)
    by_question = {name: (float(results.get_result(name).score),
                          float(results.get_result(name).possible))
                   for name in results.test_files}
    total = sum(score for score, _ in by_question.values())
    possible = sum(most for _, most in by_question.values())
    return Grade(total, possible, by_question)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build assignments with otter assign")
    build_cmd.add_argument("specs", nargs="*", type=Path,
                           help="assignment files (default: all in assignments/)")
    build_cmd.add_argument("--out", type=Path, default=ROOT / "_build" / "assignments")
    build_cmd.add_argument("--handout", type=Path,
                           help="also copy each student notebook to HANDOUT/NAME/")
    build_cmd.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                           help="solutions graded at once (default: one per core)")
    build_cmd.add_argument("--no-run-tests", action="store_true",
                           help="do not grade the solutions (the test suite grades them)")
    grade_cmd = commands.add_parser("grade", help="grade submissions with otter run")
    grade_cmd.add_argument("autograder", type=Path)
    grade_cmd.add_argument("submissions", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        specs = args.specs or spec_files()
        builds = build_all(specs, args.out, run_tests=not args.no_run_tests,
                           handout=args.handout, jobs=args.jobs)
        for spec_path, built in zip(specs, builds):
            print(f"{spec_path.name}: hand out {built.student}\n"
                  f"{' ' * len(spec_path.name)}  grade with {built.autograder}")
    else:
        for submission in args.submissions:
            result = grade(args.autograder, submission)
            print(f"{submission}: {result.total:g} / {result.possible:g}  " + ", ".join(
                f"{name} {score:g}/{most:g}" for name, (score, most) in result.by_question.items()))


if __name__ == "__main__":
    main()
