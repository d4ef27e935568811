"""Build the student edition of the book from the same source as the instructor edition.

The instructor edition is the book as it is: each exercise is followed by a
gated solution (a ``{solution-start}`` markdown cell, the solution's cells, a
``{solution-end}`` markdown cell; see CONTRIBUTING.md). The student edition is
made from a copy of the sources in which

* every solution's markdown is deleted, and not hidden: no solution text
  reaches the HTML, the search index or the downloadable sources;
* every solution code cell becomes a stub that keeps the interface (function
  signatures and docstrings, the names the exercise asks for) and replaces the
  rest with ``...``;
* code cells tagged ``public-check`` inside a solution stay as they are: they
  are the checks students run on their own answers;
* solution cells go with their outputs; stubs and public checks have none;
  every other code cell keeps its stored output, which ``make test`` (nbval)
  finds to reproduce. The build refuses a chapter in which a cell outside the
  solutions reads a name that only a solution has set (``solution_dependencies``),
  so those outputs are the ones a student's run of the stubbed chapter gives.

Usage::

    python tools/edition.py [--out _build/student] [--no-site]

writes ``OUT/html`` (the site), ``OUT/notebooks`` (the chapters as student
notebooks, answers stubbed) and ``OUT/source`` (the stripped book sources).
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]

PUBLIC_CHECK_TAG = "public-check"
STUB_TAG = "solution-stub"
ANSWER_TAG = "answer"

# Top-level entries of the repository that are not part of the book's sources: they are not
# copied into the student edition (the book's build needs none of them; klbook is installed).
NOT_BOOK = {".git", ".venv", "_build", ".jupyter_cache", ".ci", "tests", "assignments",
            "benchmarks", "klbook", "requirements", ".pytest_cache", ".hypothesis"}
NOT_BOOK_PATTERNS = ("*.egg-info", "__pycache__", ".ipynb_checkpoints")
# Entries the build needs but that hold no prose: linked, not copied (vendored static
# assets are large; tools/ holds the book's Sphinx extension).
LINKED = {"_vendor", "tools"}

_FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}(?P<arg>.*)$")


# --- Finding solutions -------------------------------------------------------------------


@dataclass
class Solution:
    """A gated solution in a notebook: cells ``start`` .. ``end`` (inclusive)."""

    label: str
    start: int
    end: int
    inner: list[int] = field(default_factory=list)


def _directive_span(lines: list[str], name: str) -> tuple[int, int] | None:
    """First and last line of the first ``{name}`` fenced directive in ``lines``."""
    for i, line in enumerate(lines):
        match = _FENCE_OPEN.match(line)
        if match and match["name"] == name:
            fence = match["fence"]
            closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
            for j in range(i + 1, len(lines)):
                if closing.match(lines[j]):
                    return i, j
            raise ValueError(f"the {{{name}}} directive opened on line {i + 1} is never closed")
    return None


def _solution_label(cell_source: str) -> str:
    lines = cell_source.splitlines()
    start, _ = _directive_span(lines, "solution-start")
    return _FENCE_OPEN.match(lines[start])["arg"].strip()


def find_solutions(nb: nbformat.NotebookNode) -> list[Solution]:
    """The gated solutions of a notebook, in order.

    Raises
    ------
    ValueError
        If the ``{solution-start}`` and ``{solution-end}`` markers do not pair up,
        naming the cell.
    """
    solutions: list[Solution] = []
    current: Solution | None = None
    for index, cell in enumerate(nb.cells):
        lines = cell.source.splitlines() if cell.cell_type == "markdown" else []
        opens = _directive_span(lines, "solution-start") is not None
        closes = _directive_span(lines, "solution-end") is not None
        if opens:
            if current is not None:
                raise ValueError(f"cell {index}: a solution starts inside the solution "
                                 f"{current.label!r} (cell {current.start})")
            current = Solution(_solution_label(cell.source), index, -1)
        if closes:
            if current is None:
                raise ValueError(f"cell {index}: {{solution-end}} without {{solution-start}}")
            current.end = index
            solutions.append(current)
            current = None
        elif current is not None and not opens:
            current.inner.append(index)
    if current is not None:
        raise ValueError(f"cell {current.start}: the solution {current.label!r} has no "
                         "{solution-end}")
    return solutions


def strip_solution_text(text: str) -> str:
    """Remove ``{solution}`` directives, and gated solutions, from markdown text."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i].rstrip("\n"))
        if match and match["name"] in ("solution", "solution-start"):
            span = _directive_span([line.rstrip("\n") for line in lines[i:]], match["name"])
            last = i + span[1]
            if match["name"] == "solution-start":  # gated: everything up to the end marker goes
                rest = [line.rstrip("\n") for line in lines[last + 1:]]
                end = _directive_span(rest, "solution-end")
                if end is None:
                    raise ValueError(f"line {i + 1}: {{solution-start}} without {{solution-end}}")
                last = last + 1 + end[1]
            i = last + 1
            continue
        out.append(lines[i])
        i += 1
    return "".join(out)


def _text_outside(source: str, name: str) -> tuple[str, str]:
    """The text of a cell before and after its ``{name}`` directive."""
    lines = source.splitlines()
    first, last = _directive_span(lines, name)
    return "\n".join(lines[:first]).strip(), "\n".join(lines[last + 1:]).strip()


# --- Stubs ---------------------------------------------------------------------------------


def _header_lines(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
                  lines: list[str]) -> list[str] | None:
    """Source lines of a definition's decorators, signature and docstring, or None."""
    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
    body = node.body
    has_doc = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
               and isinstance(body[0].value.value, str))
    if body[0].lineno == node.lineno:  # a one-line definition: no separate header
        return None
    last = body[0].end_lineno if has_doc else body[0].lineno - 1
    header = lines[first - 1:last]
    rest = body[1:] if has_doc else body
    if rest and rest[0].lineno <= last:  # docstring and code share a line
        return None
    return header


def _stub_definition(node, lines: list[str]) -> list[str]:
    header = _header_lines(node, lines)
    indent = " " * (node.body[0].col_offset if header is not None else node.col_offset + 4)
    if header is None:  # rebuild the signature from the syntax tree
        bare = copy.deepcopy(node)
        bare.body = [ast.Expr(ast.Constant(Ellipsis))]
        return ast.unparse(bare).splitlines()
    if isinstance(node, ast.ClassDef):
        body = [stub for child in node.body if isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef))
                for stub in _stub_definition(child, lines)]
        return header + (body or [indent + "..."])
    return header + [indent + "..."]


def exercise_statements(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Each ``{exercise}`` directive's body, as plain Markdown, by label."""
    statements = {}
    pattern = re.compile(r"^(`{3,}|:{3,})\{exercise\}[^\n]*\n(.*?)^\1\s*$", re.M | re.S)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for match in pattern.finditer(cell.source):
            body = match.group(2)
            label = re.search(r"^:label:\s*(\S+)", body, re.M)
            if label:
                text = "\n".join(line for line in body.splitlines()
                                 if not re.match(r"^:\w[\w-]*:", line))
                statements[label.group(1)] = text.strip()
    return statements


def _statement_names(statement: str) -> set[str]:
    """The identifiers an exercise statement names in code spans (`name`, `f(a, b)`)."""
    names = set()
    for span in re.findall(r"`([^`]+)`", statement):
        match = re.match(r"\s*([A-Za-z_]\w*)", span)
        if match:
            names.add(match.group(1))
    return names


def deliverables(nb: nbformat.NotebookNode, solution: "Solution") -> set[str] | None:
    """The names the student must define for an exercise: those its statement names
    (in code spans) among the names its solution code binds at top level. None when
    the statement names none of them: then every name the solution binds is kept."""
    statement = exercise_statements(nb).get(solution.label, "")
    bound = set()
    for index in solution.inner:
        cell = nb.cells[index]
        if cell.cell_type == "code" and PUBLIC_CHECK_TAG not in _tags(cell):
            bound |= _top_level_names(cell.source)
    named = bound & _statement_names(statement)
    return named or None


def _top_level_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)
                      and isinstance(n.ctx, ast.Store)}
    return names


def stub_code(source: str, label: str, keep: set[str] | None = None) -> str:
    """The student's version of a solution code cell.

    Definitions keep their decorators, signature and docstring, with ``...`` as
    the body; top-level assignments keep their target (``name = ...``); every
    other statement is removed. With `keep`, only the definitions and
    assignments of those names are kept (the exercise's deliverables: the
    solution's intermediate names would be hints).

    Examples
    --------
    >>> print(stub_code("import numpy as np\\ndef f(a, b):\\n    return a + b\\nx = f(1, 2)", "ex-a"))
    # Exercise ex-a: replace each ... with your code.
    def f(a, b):
        ...
    x = ...
    """
    intro = f"# Exercise {label}: replace each ... with your code."
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax (magics): nothing can be kept safely
        return f"# Exercise {label}: your code here."
    lines = source.splitlines()
    out: list[str] = []
    assigned: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if keep is None or node.name in keep:
                out.extend(_stub_definition(node, lines))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            # Each name gets its own `name = ...` (unpacking `...` into a tuple would fail).
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Store)]
            for name in names:
                if name not in assigned and (keep is None or name in keep):
                    assigned.append(name)
                    out.append(f"{name} = ...")
    if not out:
        return f"# Exercise {label}: your code here."
    return "\n".join([intro, *out])


# --- Student notebooks ---------------------------------------------------------------------


def _clean_code_cell(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = copy.deepcopy(cell)
    cell.outputs = []
    cell.execution_count = None
    cell.metadata.pop("execution", None)
    return cell


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.metadata.get("tags", []))


def student_notebook(nb: nbformat.NotebookNode, *, for_site: bool) -> nbformat.NotebookNode:
    """The student version of a chapter notebook.

    Parameters
    ----------
    nb : NotebookNode
        The instructor notebook.
    for_site : bool
        If True, the version the student site is built from: the cells outside
        the solutions keep their stored outputs, and public checks are tagged
        ``skip-execution`` (they would fail on the stubs). If False, the handout
        notebook, with every output cleared: each solution becomes an answer
        cell (markdown, for the written part) followed by the stubs and the
        public checks.
    """
    solutions = {s.start: s for s in find_solutions(nb)}
    out = copy.deepcopy(nb)
    cells: list[nbformat.NotebookNode] = []
    index = 0
    while index < len(nb.cells):
        cell = nb.cells[index]
        if index not in solutions:
            if cell.cell_type == "code":
                cells.append(copy.deepcopy(cell) if for_site else _clean_code_cell(cell))
            elif cell.cell_type == "markdown":
                text = strip_solution_text(cell.source)
                if text.strip():
                    new = copy.deepcopy(cell)
                    new.source = text
                    cells.append(new)
            else:
                cells.append(copy.deepcopy(cell))
            index += 1
            continue
        solution = solutions[index]
        answers = deliverables(nb, solution)
        before, _ = _text_outside(cell.source, "solution-start")
        if before:
            cells.append(nbformat.v4.new_markdown_cell(before))
        if not for_site:
            cells.append(nbformat.v4.new_markdown_cell(
                f"**Your answer** (exercise `{solution.label}`):", metadata={"tags": [ANSWER_TAG]}))
        for inner in solution.inner:
            inner_cell = nb.cells[inner]
            if inner_cell.cell_type != "code":
                continue
            if PUBLIC_CHECK_TAG in _tags(inner_cell):
                check = _clean_code_cell(inner_cell)
                if for_site:
                    check.metadata["tags"] = _tags(check) + ["skip-execution"]
                cells.append(check)
            else:
                cells.append(nbformat.v4.new_code_cell(
                    stub_code(inner_cell.source, solution.label, keep=answers),
                    metadata={"tags": [STUB_TAG]}))
        _, after = _text_outside(nb.cells[solution.end].source, "solution-end")
        if after:
            cells.append(nbformat.v4.new_markdown_cell(strip_solution_text(after)))
        index = solution.end + 1
    out.cells = cells
    return _with_ids(out)


def _bindings(node: ast.AST) -> set[str]:
    """Names a statement binds in the notebook's namespace (not inside a function,
    class, lambda or comprehension, whose names are local)."""
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
              ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    names: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(current.name)
        elif isinstance(current, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in current.names}
        elif isinstance(current, ast.Name) and isinstance(current.ctx, (ast.Store, ast.Del)):
            names.add(current.id)
        if current is node or not isinstance(current, scopes):
            stack.extend(ast.iter_child_nodes(current))
    return names


def bound_names(source: str) -> set[str]:
    """Names a code cell binds in the notebook's namespace (assignments, loop and
    ``with`` targets, definitions, imports); none if it is not Python (IPython syntax)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return _bindings(tree)


def _reads(node: ast.AST) -> set[str]:
    """Names an expression or a simple statement reads from the notebook's namespace;
    in a function, lambda or comprehension, the names it does not bind itself."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = node.args
        local = {a.arg for a in [*arguments.posonlyargs, *arguments.args,
                                 *arguments.kwonlyargs, arguments.vararg, arguments.kwarg] if a}
        body = node.body if isinstance(node.body, list) else [node.body]
        local |= set().union(*(_bindings(child) for child in body))
        outer = set().union(*(_reads(d) for d in [*arguments.defaults,
                                                   *arguments.kw_defaults] if d))
        if not isinstance(node, ast.Lambda):
            outer |= set().union(*(_reads(d) for d in node.decorator_list))
        return outer | (set().union(*(_reads(child) for child in body)) - local)
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        local = set().union(*(_bindings(g.target) for g in node.generators))
        inner = set().union(*(_reads(child) for child in ast.iter_child_nodes(node)))
        return inner - local
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    return set().union(*(_reads(child) for child in ast.iter_child_nodes(node)))


def solution_dependencies(nb: nbformat.NotebookNode) -> list[tuple[int, list[str]]]:
    """Code cells outside the solutions that read a name last set by a solution.

    In the chapter's order, a name is *from a solution* when the last cell that
    bound it is solution code (not a public check). A cell outside the solutions
    that reads such a name before binding it itself behaves differently in the
    student's notebook, where the solution is a stub. Returns ``(cell index,
    names)`` for each such cell; reads inside function bodies count, since they
    run when the function is called.
    """
    in_solution = {i for s in find_solutions(nb) for i in s.inner}
    from_solution: set[str] = set()
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython syntax: nothing Python can bind or read
            continue
        bound: set[str] = set()
        reads: set[str] = set()

        def read(node):
            reads.update((_reads(node) & from_solution) - bound)

        def scan(statements):
            # In execution order: a loop's or a with-block's target is bound before its
            # body reads it.
            for statement in statements:
                if isinstance(statement, (ast.For, ast.AsyncFor)):
                    read(statement.iter)
                    bound.update(_bindings(statement.target))
                    scan(statement.body + statement.orelse)
                elif isinstance(statement, (ast.With, ast.AsyncWith)):
                    for item in statement.items:
                        read(item.context_expr)
                        if item.optional_vars is not None:
                            bound.update(_bindings(item.optional_vars))
                    scan(statement.body)
                elif isinstance(statement, (ast.If, ast.While)):
                    read(statement.test)
                    scan(statement.body + statement.orelse)
                elif isinstance(statement, ast.Try):
                    scan(statement.body)
                    for handler in statement.handlers:
                        if handler.type is not None:
                            read(handler.type)
                        if handler.name:
                            bound.add(handler.name)
                        scan(handler.body)
                    scan(statement.orelse + statement.finalbody)
                else:
                    read(statement)
                    bound.update(_bindings(statement))

        scan(tree.body)
        if index in in_solution and PUBLIC_CHECK_TAG not in _tags(cell):
            from_solution |= bound
            continue
        if reads and index not in in_solution:
            found.append((index, sorted(reads)))
        from_solution -= bound
    return found


def _with_ids(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Number the cells afresh: ids must be unique, and the old ones carry nothing."""
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{number}"
    nb.nbformat, nb.nbformat_minor = 4, max(nb.get("nbformat_minor", 5), 5)
    return nb


# --- The build -----------------------------------------------------------------------------


def _is_book_path(path: Path) -> bool:
    return not any(path.match(pattern) for pattern in NOT_BOOK_PATTERNS)


def copy_book_sources(root: Path, dest: Path) -> list[Path]:
    """Copy the book's sources (not the package, tests or builds) to ``dest``.

    Entries in ``LINKED`` are symbolic links to the originals.
    """
    copied = []
    for entry in sorted(root.iterdir()):
        if entry.name in NOT_BOOK or not _is_book_path(entry):
            continue
        target = dest / entry.name
        if entry.name in LINKED:
            target.symlink_to(entry, target_is_directory=entry.is_dir())
        elif entry.is_dir():
            shutil.copytree(entry, target, ignore=shutil.ignore_patterns(*NOT_BOOK_PATTERNS))
        else:
            shutil.copy2(entry, target)
        copied.append(target)
    return copied


def _own_files(source: Path, pattern: str) -> list[Path]:
    """Files matching ``pattern`` in the copy, not under a linked folder."""
    return sorted(path for path in source.rglob(pattern)
                  if path.relative_to(source).parts[0] not in LINKED)


def strip_sources(source: Path) -> dict[str, int]:
    """Turn a copy of the book's sources into the student edition's, in place.

    Returns the number of solutions removed per notebook or markdown file.
    """
    removed: dict[str, int] = {}
    for path in _own_files(source, "*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        dependent = solution_dependencies(nb)
        if dependent:
            raise ValueError(f"{path.name}: cells outside the solutions read names a solution "
                             f"set (cell index, names): {dependent}; the student edition would "
                             "show outputs that its stubs cannot produce")
        removed[str(path.relative_to(source))] = len(find_solutions(nb))
        nbformat.write(student_notebook(nb, for_site=True), path)
    for path in _own_files(source, "*.md"):
        text = path.read_text(encoding="utf-8")
        stripped = strip_solution_text(text)
        if stripped != text:
            removed[str(path.relative_to(source))] = text.count("{solution")
            path.write_text(stripped, encoding="utf-8")
    return removed


def student_config(config_path: Path) -> None:
    """Adapt ``_config.yml`` of the copy: a title that says which edition, no
    execution, no links to the instructor's sources."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["title"] = f"{config.get('title', 'The book')} (student edition)"
    execute = config.setdefault("execute", {})
    # The chapters carry the outputs of the cells students also get (student_notebook);
    # the stubs have none, and executing them would only produce errors.
    execute["execute_notebooks"] = "off"
    # Launch, repository and edit buttons open the instructor's notebooks (with solutions)
    # in the repository: the student edition has none of them.
    config.pop("launch_buttons", None)
    html = config.setdefault("html", {})
    for button in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
        html[button] = False
    # tools/sphinx_klbook.py shows these when the book has a repository URL.
    config.setdefault("sphinx", {}).setdefault("config", {})["klbook_repository_buttons"] = []
    config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                           encoding="utf-8")


def write_handout_notebooks(root: Path, dest: Path) -> list[Path]:
    """The chapters as student notebooks (stubs and answer cells), into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted((root / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        target = dest / path.name
        nbformat.write(student_notebook(nb, for_site=False), target)
        written.append(target)
    return written


MANIFEST = "manifest.json"


def source_digests(root: Path, rel_paths: list[str]) -> dict[str, str]:
    """SHA-256 of each file, by path relative to ``root``."""
    return {rel: hashlib.sha256((root / rel).read_bytes()).hexdigest() for rel in rel_paths}


def write_manifest(root: Path, source: Path, target: Path) -> None:
    """Record which instructor files (by digest) the edition was made from.

    The leak test compares these with the working tree: an edition built from
    older sources is reported as stale rather than scanned against new ones.
    """
    rels = [str(p.relative_to(source)) for p in _own_files(source, "*.ipynb")
            + _own_files(source, "*.md")]
    target.write_text(json.dumps(source_digests(root, sorted(rels)), indent=1), encoding="utf-8")


def build(out: Path, *, site: bool = True, root: Path = ROOT) -> None:
    """Build the student edition into ``out`` (see the module docstring)."""
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    source = out / "source"
    source.mkdir(parents=True)
    copy_book_sources(root, source)
    write_manifest(root, source, out / MANIFEST)
    removed = strip_sources(source)
    student_config(source / "_config.yml")
    notebooks = write_handout_notebooks(root, out / "notebooks")
    print(f"student sources: {sum(removed.values())} solutions removed from "
          f"{len(removed)} files; {len(notebooks)} handout notebooks in {out / 'notebooks'}")
    if not site:
        return
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([str(jupyter_book), "build", str(source), "--path-output", str(out / "site"),
                    "-W", "-n", "--keep-going"], check=True)
    shutil.move(out / "site" / "_build" / "html", out / "html")
    print(f"student site: {out / 'html' / 'index.html'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "student",
                        help="output folder (default: _build/student)")
    parser.add_argument("--no-site", action="store_true",
                        help="write the stripped sources and notebooks only, not the HTML")
    args = parser.parse_args(argv)
    build(args.out, site=not args.no_site)


if __name__ == "__main__":
    main()
