"""Find solution text or code in a built student edition.

Every solution of the instructor sources is reduced to *secret shingles*: runs
of six consecutive word tokens (code and prose alike) that occur in the
solution and nowhere in the rest of the book. A student edition leaks a
solution if any of its files holds one of them. What a stub is allowed to keep
(a function's signature and docstring) is left out of the secrets; a
solution's ``public-check`` cells are public by design.

Files are read as what they carry: HTML as its text, notebooks and JSON as
their strings, anything else (search index, pickled doctrees) as bytes
decoded leniently. The search index holds stemmed
words rather than text, so it is checked on its own: no stem that only a
solution uses may be indexed for the page of that solution. Glue keys set in a
solution must not appear anywhere in the edition.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from edition import PUBLIC_CHECK_TAG, find_solutions, strip_solution_text

SHINGLE = 6
_TOKEN = re.compile(r"[A-Za-z0-9_]+")
_WORD = re.compile(r"[A-Za-z]{3,}")
_GLUE = re.compile(r"""\bglue(?:_number|_bound)?\(\s*["']([^"']+)["']""")


# Role markup (``:math:`x` `` in reStructuredText, ``{ref}`x` `` in MyST) is not in the
# rendered page; dropped, so that the same sentence gives the same tokens in both.
_ROLE = re.compile(r"(?::[\w:+-]+:|\{[\w:+-]+\})(?=`)")


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(_ROLE.sub(" ", text))]


def shingles(text: str, size: int = SHINGLE) -> set[tuple[str, ...]]:
    toks = tokens(text)
    return {tuple(toks[i:i + size]) for i in range(len(toks) - size + 1)}


@dataclass
class Secret:
    """What must not leak from one solution."""

    path: str          # the chapter, relative to the book root
    label: str         # the exercise label
    shingles: set[tuple[str, ...]] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)  # search-index stems only it uses
    glue_keys: set[str] = field(default_factory=set)


def _interface_lines(source: str) -> set[int]:
    """1-based lines a stub may keep: each definition's signature and docstring."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    keep: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            body = node.body[0]
            if body.lineno > node.lineno:
                keep.update(range(first, body.lineno))
            if (isinstance(body, ast.Expr) and isinstance(body.value, ast.Constant)
                    and isinstance(body.value.value, str)):
                keep.update(range(body.lineno, body.end_lineno + 1))
    return keep


def _after_directive(text: str, name: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if f"{{{name}}}" in line:
            fence = line.strip().split("{")[0]
            for j in range(i + 1, len(lines)):
                if lines[j].strip() == fence:
                    return "\n".join(lines[j + 1:])
    return ""


def _before_directive(text: str, name: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if f"{{{name}}}" in line:
            return "\n".join(lines[:i])
    return text


def split_notebook(nb: nbformat.NotebookNode) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """``([(label, secret texts)], public texts)`` of one instructor notebook."""
    solutions = find_solutions(nb)
    in_solution: dict[int, str] = {}
    secret: dict[str, list[str]] = {}
    public: list[str] = []
    for s in solutions:
        texts = secret.setdefault(s.label, [])
        start, end = nb.cells[s.start].source, nb.cells[s.end].source
        texts.append(_after_directive(start, "solution-start"))
        public.append(_before_directive(start, "solution-start"))
        texts.append(_before_directive(end, "solution-end"))
        public.append(_after_directive(end, "solution-end"))
        for index in [s.start, s.end, *s.inner]:
            in_solution[index] = s.label
        for index in s.inner:
            cell = nb.cells[index]
            if cell.cell_type == "code" and PUBLIC_CHECK_TAG in cell.metadata.get("tags", []):
                public.append(cell.source)
            elif cell.cell_type == "code":
                keep = _interface_lines(cell.source)
                lines = cell.source.splitlines()
                texts.append("\n".join(l for n, l in enumerate(lines, 1) if n not in keep))
                public.append("\n".join(l for n, l in enumerate(lines, 1) if n in keep))
            else:
                texts.append(cell.source)
    for index, cell in enumerate(nb.cells):
        if index in in_solution:
            continue
        if cell.cell_type == "markdown":
            stripped = strip_solution_text(cell.source)
            public.append(stripped)
            if stripped != cell.source:  # an ungated {solution} directive
                secret.setdefault(f"cell-{index}", []).append(cell.source)
        else:
            public.append(cell.source)
    return list(secret.items()), public


def collect_secrets(root: Path, extra_public: Iterable[str] = ()) -> list[Secret]:
    """The secrets of every solution in the book's notebooks and markdown files.

    The public side is everything else the student edition is built from: the
    chapters outside their solutions, the other pages, the bibliography and the
    source of ``klbook`` (the API page renders its docstrings, and students have
    the package anyway).
    """
    found: list[tuple[str, str, list[str]]] = []
    public: list[str] = list(extra_public)
    public += [p.read_text(encoding="utf-8") for p in sorted((root / "klbook").rglob("*.py"))]
    public += [p.read_text(encoding="utf-8") for p in sorted(root.glob("*.bib"))]
    for path in sorted((root / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        secret_texts, public_texts = split_notebook(nb)
        rel = str(path.relative_to(root))
        found += [(rel, label, texts) for label, texts in secret_texts]
        public += public_texts
    for path in sorted(root.glob("*.md")) + sorted((root / "chapters").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        stripped = strip_solution_text(text)
        public.append(stripped)
        if stripped != text:
            found.append((str(path.relative_to(root)), path.stem, [text]))
    public_shingles = set().union(*(shingles(t) for t in public))
    public_stems = {stem(w) for t in public for w in _WORD.findall(t)}
    secrets = []
    for rel, label, texts in found:
        secret = Secret(rel, label)
        for text in texts:
            secret.shingles |= shingles(text) - public_shingles
            secret.stems |= {stem(w) for w in _WORD.findall(text)} - public_stems
            secret.glue_keys |= set(_GLUE.findall(text))
        secrets.append(secret)
    return secrets


# --- Reading a built edition --------------------------------------------------------------


def _json_strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


@functools.cache
def html_page(path: Path):
    """The parsed HTML page (BeautifulSoup), parsed once however often it is scanned."""
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_bytes(), "html.parser")


def file_text(path: Path) -> str:
    """The text a file carries, as a reader (or a search engine) would see it."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return html_page(path).get_text(" ")
    data = path.read_bytes()
    if suffix in (".ipynb", ".json"):
        try:
            return "\n".join(_json_strings(json.loads(data)))
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
    return data.decode("utf-8", errors="replace")


# Files that carry no text of the book: fonts, images, translations of the theme.
BINARY_ASSETS = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".eot",
                 ".otf", ".mo", ".po", ".map"}


def edition_files(folder: Path) -> list[Path]:
    """The files of an edition that can carry text.

    Symbolic links (to shared assets) are not followed; fonts and images are
    left out, and so are the theme's and vendored scripts and styles under
    ``_static`` (copied verbatim from packages, never generated from the book).
    """
    files = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        in_static = "_static" in Path(dirpath).relative_to(folder).parts
        for name in filenames:
            path = Path(dirpath) / name
            suffix = path.suffix.lower()
            if path.is_symlink() or suffix in BINARY_ASSETS:
                continue
            if in_static and suffix in {".js", ".css", ".svg", ".txt", ".mjs"}:
                continue
            files.append(path)
    return sorted(files)


@dataclass
class Leak:
    path: Path
    label: str
    what: str


def scan_files(files: Iterable[Path], secrets: list[Secret]) -> list[Leak]:
    """Leaks of secret shingles and glue keys in ``files``."""
    leaks = []
    for path in files:
        text = file_text(path)
        found = shingles(text)
        for secret in secrets:
            hits = secret.shingles & found
            if hits:
                leaks.append(Leak(path, secret.label, " ".join(sorted(hits)[0])))
            for key in secret.glue_keys:
                if re.search(rf"\b{re.escape(key)}\b", text):
                    leaks.append(Leak(path, secret.label, f"glue key {key}"))
    return leaks


@functools.cache
def _stemmer():
    from sphinx.search.en import SearchEnglish

    return SearchEnglish({})


@functools.cache
def stem(word: str) -> str:
    """Sphinx's English stem of ``word`` (the form its search index stores)."""
    return _stemmer().stem(word.lower())


def read_search_index(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    start, end = text.index("{"), text.rindex("}")
    return json.loads(text[start:end + 1])


def scan_search_index(index: dict, secrets: list[Secret]) -> list[Leak]:
    """Stems used only by a solution that the index lists for the solution's page."""
    docnames = index["docnames"]
    leaks = []
    for secret in secrets:
        docname = secret.path.rsplit(".", 1)[0]
        if docname not in docnames:
            continue
        doc = docnames.index(docname)
        for word_stem in sorted(secret.stems):
            for table in ("terms", "titleterms"):
                docs = index.get(table, {}).get(word_stem)
                docs = [docs] if isinstance(docs, int) else docs or []
                if doc in docs:
                    leaks.append(Leak(Path("searchindex.js"), secret.label,
                                      f"stem {word_stem!r} indexed for {docname}"))
    return leaks
