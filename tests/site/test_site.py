"""The built site, read the way a reader reads it: in a real browser, offline.

Every page of the table of contents is opened once in headless Chromium from a
local server; what the page did (console messages, requests, typeset math,
blocks, figures, links, the axe-core accessibility audit) is recorded, and the
tests below check it page by page. Chapter pages (under ``chapters/``) must
also show their theorem-style blocks and figures.
"""

from __future__ import annotations

import io
import pkgutil
import re
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import urlopen

import pytest
from PIL import Image

from sitecheck import AXE, LOCAL_HOST, REPO, SUMMARY, is_chapter, toc_docnames

sys.path.insert(0, str(REPO / "tools"))
import repository  # noqa: E402

PAGES = toc_docnames()
CHAPTERS = [name for name in PAGES if is_chapter(name)]
SCREENSHOT_CHAPTER = CHAPTERS[0] if CHAPTERS else PAGES[0]

# Runs in the page once it has loaded: waits for MathJax, then reports what is there.
COLLECT_JS = r"""
async () => {
  const mathjax = Boolean(window.MathJax && MathJax.startup && MathJax.startup.promise);
  if (mathjax) { await MathJax.startup.promise; }
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const SKIP = 'pre, code, script, style, textarea, kbd, samp, mjx-container, .highlight, .sig';
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest(SKIP) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const pieces = [];
  while (walker.nextNode()) pieces.push(walker.currentNode.nodeValue);
  const mathNodes = [...article.querySelectorAll('.math')];
  return {
    title: document.title,
    mathjax,
    text: pieces.join(' '),
    mathNodes: mathNodes.length,
    mathTypeset: mathNodes.filter(n => n.querySelector('mjx-container')).length,
    mathErrors: article.querySelectorAll('mjx-merror').length,
    blocks: [...article.querySelectorAll('div.proof')].map(d => [...d.classList]),
    figures: [...article.querySelectorAll('img')].map((img, index) => ({
      index, src: img.getAttribute('src'), alt: img.getAttribute('alt'),
      loaded: img.complete && img.naturalWidth > 0,
      visible: img.getClientRects().length > 0 && img.getBoundingClientRect().width > 0,
    })),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  };
}
"""

# The axe-core audit, all rules on the whole page, with one economy: colours come from the
# stylesheets, so elements with the same ancestry (tag, classes and inline style at every
# level up to <html>) have the same text colour, background and font. The contrast rule
# checks the first element of each ancestry that holds text: a few hundred per page
# instead of thousands (code tokens, signature parts, MathJax's hidden MathML), which
# halves the audit on the API page.
AXE_JS = """
async () => {
  const ancestry = element => {
    const parts = [];
    for (let e = element; e; e = e.parentElement) {
      parts.push(`${e.tagName}.${e.className}[${e.getAttribute('style') || ''}]`);
    }
    return parts.join('<');
  };
  const seen = new Set();
  for (const element of document.body.querySelectorAll('*')) {
    const hasText = [...element.childNodes].some(n => n.nodeType === 3 && n.nodeValue.trim());
    if (!hasText) continue;
    const kind = ancestry(element);
    if (!seen.has(kind)) { seen.add(kind); element.dataset.axeSample = ''; }
  }
  axe.configure({rules: [{id: 'color-contrast', selector: '[data-axe-sample]'}]});
  // preload: false, or axe fetches the stylesheets again and resolves their @import
  // against the page instead of the stylesheet (a 404 that no reader's browser makes).
  const result = await axe.run(document, {resultTypes: ['violations'], preload: false});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
    targets: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.html.slice(0, 200)),
  }));
}
"""

# TeX or MyST that reached the reader untypeset (code and typeset math are excluded).
RAW_SOURCE = [
    (r"\$\$", "display-math delimiter $$"),
    (r"\\\(|\\\)|\\\[|\\\]", r"math delimiter \( \) \[ \]"),
    (r"\$[^\s$][^$\n]*\$", "inline math between $ signs"),
    (r"\\[A-Za-z]{2,}", "TeX command"),
    (r"\{(prf|glue|cite|ref|eq|term|numref|doc|index)[:}]", "MyST role or directive"),
    (r"^\s*(:::|```)", "MyST fence"),
]
DARK_FIGURES_PER_PAGE = 3
THEOREM_KINDS = {"theorem", "lemma", "corollary", "proposition"}
PROOF_KINDS = THEOREM_KINDS | {"definition", "example", "remark", "conjecture", "axiom",
                               "criterion", "algorithm", "observation", "property",
                               "assumption", "notation"}


class _Anchors(HTMLParser):
    """Collects the ids and names a fragment (#...) may point to."""

    def __init__(self):
        super().__init__()
        self.anchors: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.anchors.add(value)


class Site:
    """Visits each page once and keeps what it recorded; fetches link targets."""

    def __init__(self, url, context, offsite, site_dir):
        self.url, self.context, self.offsite, self.site_dir = url, context, offsite, site_dir
        self.visits: dict[str, dict] = {}
        self.targets: dict[str, tuple[int, set[str]]] = {}
        SUMMARY["report_dir"] = str(site_dir.parent)

    def page_url(self, docname: str) -> str:
        return urljoin(self.url, f"{docname}.html")

    def visit(self, docname: str) -> dict:
        if docname not in self.visits:
            self.visit_all([docname])
        found = self.visits[docname]
        if isinstance(found, Exception):
            pytest.fail(f"could not visit {docname}: {found}")
        return found

    def visit_all(self, docnames) -> None:
        """Visit the pages one after another. (Two tabs at once took longer: Chromium
        throttles the tab in the background, and the tests share two cores with the
        rest of ``make test``.)"""
        for docname in docnames:
            if docname in self.visits:
                continue
            try:
                self.visits[docname] = self._visit(docname)
            except Exception as error:  # every test of the page reports it
                self.visits[docname] = error

    def _visit(self, docname: str) -> dict:
        """Load the page, record what it shows, audit it, and look at its figures in
        dark mode."""
        if not (self.site_dir / f"{docname}.html").is_file():
            raise AssertionError(f"{docname}.html was not built, though it is in _toc.yml")
        page = self.context.new_page()
        console, failed, offsite = [], [], []
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
        page.on("response", lambda r: failed.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)
        page.on("request", lambda r: offsite.append(r.url) if urlsplit(r.url).hostname not in (LOCAL_HOST, None) else None)
        try:
            page.goto(self.page_url(docname), wait_until="load")
            found = page.evaluate(COLLECT_JS)
            # Console and requests of the page itself, before the test injects anything.
            found["console_errors"], found["failed_requests"] = list(console), list(failed)
            found["offsite"] = offsite
            page.add_script_tag(path=str(AXE))
            found["axe"] = page.evaluate(AXE_JS)
            # Dark mode, as the theme applies it: what does each figure look like?
            page.evaluate("document.documentElement.dataset.theme = 'dark'")
            # The legibility rule is one stylesheet for all figures: look at the first few
            # on screen (figures inside a closed dropdown, e.g. a solution, are not).
            images = page.locator("article.bd-article img")
            on_screen = [fig for fig in found["figures"] if fig["loaded"] and fig["visible"]]
            found["dark_figures"] = [
                _legibility(images.nth(fig["index"]).screenshot(timeout=10_000,
                                                                animations="disabled"))
                for fig in on_screen[:DARK_FIGURES_PER_PAGE]
            ]
            if docname == SCREENSHOT_CHAPTER:
                found["screenshots"] = self._screenshots(page, docname)
        finally:
            page.close()
        SUMMARY["pages"][docname] = {
            "math": found["mathNodes"], "figures": len(found["figures"]),
            "blocks": len(found["blocks"]), "axe": found["axe"],
        }
        SUMMARY["offsite_requests"] = list(self.offsite)
        for violation in found["axe"]:
            impact = violation["impact"] or "none"
            SUMMARY["axe_by_impact"][impact] = SUMMARY["axe_by_impact"].get(impact, 0) + 1
        return found

    def _screenshots(self, page, docname: str) -> list[str]:
        """Light and dark screenshots of a chapter, kept in _build/ (not committed)."""
        stem = docname.replace("/", "-")
        paths = []
        for theme in ("light", "dark"):
            page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
            path = self.site_dir.parent / f"site-screenshot-{stem}-{theme}.png"
            page.screenshot(path=str(path), full_page=False)
            paths.append(str(path))
        SUMMARY["screenshots"] = paths
        return paths

    def target(self, url: str) -> tuple[int, set[str]]:
        """HTTP status and anchors of a local URL (without its fragment)."""
        if url not in self.targets:
            try:
                with urlopen(url, timeout=10) as response:
                    body = response.read()
                    status = response.status
            except HTTPError as error:
                status, body = error.code, b""
            anchors = _Anchors()
            if url.split("?")[0].endswith((".html", "/")):
                anchors.feed(body.decode("utf-8", errors="replace"))
            self.targets[url] = (status, anchors.anchors)
        return self.targets[url]


def _legibility(png: bytes) -> dict:
    """Lightness of a figure's background (its border) and of its darkest ink, 0-255."""
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    border = [image.getpixel((x, y)) for x in range(width) for y in (1, height - 2)]
    border += [image.getpixel((x, y)) for y in range(height) for x in (1, width - 2)]
    border.sort()
    return {"background": border[len(border) // 2], "ink": image.getextrema()[0]}


@pytest.fixture(scope="session")
def site(site_url, browser_context, offsite_requests, site_dir):
    site = Site(site_url, browser_context, offsite_requests, site_dir)
    site.visit_all(PAGES)
    return site


def test_table_of_contents_has_chapters():
    assert CHAPTERS, "no chapter under chapters/ in _toc.yml"


@pytest.mark.parametrize("docname", PAGES)
def test_page_loads_without_console_errors(site, docname):
    found = site.visit(docname)
    assert found["console_errors"] == []
    assert found["failed_requests"] == []


@pytest.mark.parametrize("docname", PAGES)
def test_no_request_leaves_localhost(site, docname):
    assert site.visit(docname)["offsite"] == []


@pytest.mark.parametrize("docname", PAGES)
def test_math_is_typeset(site, docname):
    found = site.visit(docname)
    if found["mathNodes"]:
        assert found["mathjax"], "the page has math but MathJax did not load"
    assert found["mathTypeset"] == found["mathNodes"], "math left untypeset"
    assert found["mathErrors"] == 0, "MathJax reported TeX errors (mjx-merror)"
    raw = [
        f"{what}: ...{found['text'][max(m.start() - 40, 0):m.end() + 40]}..."
        for pattern, what in RAW_SOURCE
        for m in re.finditer(pattern, found["text"], flags=re.MULTILINE)
    ]
    assert raw == [], "source text reached the reader"


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_shows_theorem_blocks_and_figures(site, docname):
    found = site.visit(docname)
    kinds = Counter(kind for classes in found["blocks"] for kind in classes if kind in PROOF_KINDS)
    proofs = sum(1 for classes in found["blocks"] if not PROOF_KINDS & set(classes))
    assert sum(kinds.values()) >= 1, "no {prf:...} definition or theorem block rendered"
    if THEOREM_KINDS & set(kinds):
        assert proofs >= 1, f"theorem-like blocks {dict(kinds)} but no proof block"
    assert found["figures"], "no figure"
    assert all(fig["loaded"] for fig in found["figures"]), "a figure did not load"


@pytest.mark.parametrize("docname", PAGES)
def test_figures_have_alt_text(site, docname):
    # In a notebook: cell metadata {"mystnb": {"image": {"alt": "..."}}} on the plotting cell.
    missing = []
    for fig in site.visit(docname)["figures"]:
        alt = (fig["alt"] or "").strip()
        filename = Path(urlsplit(fig["src"] or "").path).name
        # myst-nb's default alt is the image's path: that describes nothing.
        if not alt or filename in alt:
            missing.append(fig["src"])
    assert missing == [], f"{len(missing)} figure(s) without alt text"


@pytest.mark.parametrize("docname", PAGES)
def test_figures_are_legible_in_dark_mode(site, docname):
    for fig in site.visit(docname)["dark_figures"]:
        assert fig["background"] >= 200, f"figure background too dark in dark mode: {fig}"
        assert fig["ink"] <= 100, f"figure has no dark ink to read on its light background: {fig}"


@pytest.mark.parametrize("docname", PAGES)
def test_internal_links_resolve(site, docname):
    found = site.visit(docname)
    local = {url for url in found["links"] if urlsplit(url).hostname == LOCAL_HOST}
    broken = []
    for url in sorted(local):
        page, _, fragment = url.partition("#")
        status, anchors = site.target(page)
        if status != 200:
            broken.append(f"{url}: HTTP {status}")
        elif fragment and unquote(fragment) not in anchors:
            broken.append(f"{url}: no element with id {unquote(fragment)!r}")
    assert broken == []


@pytest.mark.parametrize("docname", PAGES)
def test_accessibility_has_no_serious_or_critical_violation(site, docname):
    found = site.visit(docname)
    severe = [v for v in found["axe"] if v["impact"] in ("serious", "critical")]
    assert severe == []


@pytest.mark.parametrize("docname", [name for name in PAGES if name != "genindex"])  # generated
def test_page_offers_its_source_and_launchers(site, docname):
    links = site.visit(docname)["links"]
    source = next(REPO.glob(f"{docname}.*"), None)
    assert source is not None, f"no source file for {docname}"
    assert any(urlsplit(url).path.endswith(f"/_sources/{docname}{source.suffix}") for url in links), \
        f"no download button for {source.name}"
    if source.suffix == ".ipynb":
        # The launchers tools/sphinx_klbook.py gives a build with this environment.
        url = repository.effective_url(repository.configured_url())
        expected = set()
        if url:
            expected.add("mybinder.org")
            if url.startswith("https://github.com/") and repository.colab_ready(repository.chapters()):
                expected.add("colab.research.google.com")
        launchers = {urlsplit(u).hostname for u in links if f"{docname}.ipynb" in u} & {
            "mybinder.org", "colab.research.google.com"}
        assert launchers == expected, f"launch buttons {sorted(launchers)}, expected {sorted(expected)}"


def test_api_page_documents_every_public_module(site_dir):
    import klbook

    modules = [f"klbook.{m.name}" for m in pkgutil.iter_modules(klbook.__path__) if not m.name.startswith("_")]
    anchors = _Anchors()
    anchors.feed((site_dir / "api.html").read_text(encoding="utf-8"))
    missing = [name for name in modules if f"module-{name}" not in anchors.anchors]
    assert modules and missing == []


def test_screenshot_of_a_chapter_is_saved(site):
    paths = site.visit(SCREENSHOT_CHAPTER)["screenshots"]
    for path in paths:
        with Image.open(path) as image:
            assert image.size == (1280, 900)


def test_whole_site_made_no_request_to_another_host(site, offsite_requests):
    for docname in PAGES:
        site.visit(docname)
    assert offsite_requests == []
