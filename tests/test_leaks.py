"""The leak test: no solution text or code anywhere in the student edition.

The first group checks the detector itself (tools/leaks.py) on material that
does contain solutions, so that a clean result on the edition means something.
The second group scans a built student edition: every file (HTML pages,
notebooks, downloadable ``_sources``, doctrees, the
Otter handout notebooks) and the search index. It needs the edition:
``make teaching-test`` builds it and sets ``KLBOOK_STUDENT_EDITION``.
"""

import os
import sys
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import leaks  # noqa: E402
from edition import PUBLIC_CHECK_TAG, find_solutions  # noqa: E402


@pytest.fixture(scope="module")
def secrets():
    return leaks.collect_secrets(ROOT)


def solution_cells(path):
    """(label, markdown sources, code sources) of each solution of a chapter."""
    nb = nbformat.read(path, as_version=4)
    for s in find_solutions(nb):
        cells = [nb.cells[i] for i in s.inner]
        yield (s.label, [nb.cells[s.start].source] + [c.source for c in cells if
                                                        c.cell_type == "markdown"],
               [c.source for c in cells if c.cell_type == "code"
                and PUBLIC_CHECK_TAG not in c.metadata.get("tags", [])])


# --- the detector ---------------------------------------------------------------------------


def test_every_solution_of_every_chapter_has_secrets(secrets):
    labels = {(s.path, s.label) for s in secrets}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for label, _, _ in solution_cells(path):
            assert (str(path.relative_to(ROOT)), label) in labels
    thin = [s.label for s in secrets if not s.shingles]
    assert not thin, f"solutions with nothing distinctive for the leak test to look for: {thin}"


def test_detector_finds_every_solution_in_the_instructor_notebooks(secrets):
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    found = {(leak.path.name, leak.label) for leak in leaks.scan_files(chapters, secrets)}
    assert found == {(Path(s.path).name, s.label) for s in secrets}


def test_detector_finds_solutions_rendered_as_html(secrets, tmp_path):
    # Each solution as a page would show it: prose through a Markdown renderer, code
    # through Pygments (which splits it into many <span>s), each in its own file.
    formatter = HtmlFormatter()
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for label, prose, code in solution_cells(path):
            secret = next(s for s in secrets if s.label == label)
            page = tmp_path / f"{label}.html"
            parts = [MarkdownIt().render(text) for text in prose]
            parts += [highlight(source, PythonLexer(), formatter) for source in code]
            page.write_text("<html><body>" + "".join(parts) + "</body></html>")
            assert leaks.scan_files([page], [secret]), label


def test_detector_finds_a_glue_key(tmp_path):
    secret = leaks.Secret("chapters/x.ipynb", "ex-x", glue_keys={"ex_secret_value"})
    page = tmp_path / "page.json"
    page.write_text('{"metadata": {"scrapbook": {"name": "ex_secret_value"}}}')
    assert [leak.what for leak in leaks.scan_files([page], [secret])] == [
        "glue key ex_secret_value"]


def test_detector_reads_stems_from_a_search_index():
    secret = leaks.Secret("chapters/x.ipynb", "ex-x", stems={leaks.stem("analogue")})
    index = {"docnames": ["intro", "chapters/x"], "terms": {leaks.stem("analogue"): [0, 1]}}
    assert [leak.label for leak in leaks.scan_search_index(index, [secret])] == ["ex-x"]
    index["terms"][leaks.stem("analogue")] = 0  # only on another page
    assert leaks.scan_search_index(index, [secret]) == []


def test_public_text_is_not_secret(secrets):
    exercise = "returning D(U[0,a] || U[0,b]) in nats".lower()
    everything = set().union(*(s.shingles for s in secrets))
    assert not leaks.shingles(exercise) & everything


# --- the built student edition ---------------------------------------------------------------

EDITION = os.environ.get("KLBOOK_STUDENT_EDITION")
needs_edition = pytest.mark.skipif(not EDITION, reason="build the student edition first: "
                                   "make teaching-test sets KLBOOK_STUDENT_EDITION")


@pytest.fixture(scope="module")
def edition():
    return Path(EDITION).resolve()


@needs_edition
def test_edition_is_built_from_the_current_sources(edition):
    # The secrets come from the working tree; an edition of older sources would be
    # scanned against the wrong ones.
    import json

    from edition import MANIFEST, source_digests

    recorded = json.loads((edition / MANIFEST).read_text())
    assert any(rel.startswith("chapters/") for rel in recorded)
    current = source_digests(ROOT, [rel for rel in recorded if (ROOT / rel).exists()])
    stale = sorted(rel for rel in recorded if current.get(rel) != recorded[rel])
    assert not stale, f"the student edition is older than {stale}: run make student again"


@needs_edition
def test_edition_has_the_site_the_notebooks_and_the_sources(edition):
    html = edition / "html"
    assert (html / "index.html").is_file() and (html / "searchindex.js").is_file()
    chapters = sorted((edition / "source" / "chapters").glob("*.ipynb"))
    assert chapters
    for path in chapters:
        assert (edition / "notebooks" / path.name).is_file()
    built_chapters = sorted((html / "chapters").glob("*.html"))
    assert built_chapters
    for page in built_chapters:
        assert (html / "_sources" / "chapters" / f"{page.stem}.ipynb").is_file()


@needs_edition
def test_exercises_and_stubs_are_in_the_edition(edition):
    # The scan below would pass on an empty site; the exercises must be there.
    page = (edition / "html" / "chapters" / "01_definition.html").read_text()
    assert 'id="ex-def-support"' in page
    assert "kl_uniform" in page and "check_kl_uniform" in page
    assert "ex-def-support" in (edition / "notebooks" / "01_definition.ipynb").read_text()


@needs_edition
def test_no_solution_element_in_any_page(edition):
    for page in sorted((edition / "html").rglob("*.html")):
        assert not leaks.html_page(page).select(".solution"), page


@needs_edition
def test_no_solution_text_or_code_in_any_file(edition, secrets):
    files = leaks.edition_files(edition)
    kinds = {path.suffix for path in files}
    assert {".html", ".ipynb", ".js", ".doctree"} <= kinds
    found = leaks.scan_files(files, secrets)
    assert not found, "\n".join(f"{l.path.relative_to(edition)}: {l.label}: {l.what}"
                                for l in found)


@needs_edition
def test_no_solution_word_in_the_search_index(edition, secrets):
    index = leaks.read_search_index(edition / "html" / "searchindex.js")
    assert not leaks.scan_search_index(index, secrets)
    # and the index is read where it matters: the exercise's own words are there
    doc = index["docnames"].index("chapters/01_definition")
    for word in ("absolutely", "uniform", "hartleys"):
        docs = index["terms"][leaks.stem(word)]
        assert doc in ([docs] if isinstance(docs, int) else docs), word


@needs_edition
def test_no_page_links_to_the_instructor_sources(edition):
    sys.path.insert(0, str(ROOT / "tools"))
    import repository

    # The book's address as a build sees it; "" (none yet) would match every link.
    address = repository.effective_url(repository.configured_url())
    forbidden = tuple(f for f in (address, "mybinder.org", "colab.research.google.com") if f)
    for page in sorted((edition / "html").rglob("*.html")):
        links = [a.get("href", "") for a in leaks.html_page(page).find_all("a")]
        assert not [link for link in links if any(f in link for f in forbidden)], page
