"""The book's repository address, kept in one place, and the cell that installs klbook.

The address is ``repository.url`` in ``_config.yml``, empty while the book has no
public repository. The environment variable ``KLBOOK_REPOSITORY_URL``, when set,
replaces it for one build of the site (the Pages workflow sets it from the repository
it runs in); ``write`` and ``check`` below ignore it: they keep the committed chapters
in step with ``_config.yml``.

Every chapter's first code cell is the *install cell* (tagged ``klbook-install``).
Where klbook is importable it does nothing and prints nothing, so its stored output
(none) is what nbval finds. Where it is not (Colab, a downloaded chapter in a bare
Jupyter), it installs the release of klbook that matches the book, ``klbook @
git+URL@vVERSION`` (VERSION from ``pyproject.toml``: that tag must exist on the remote,
see CONTRIBUTING.md); with no URL it stops with a ModuleNotFoundError that says how to
install klbook from a clone. The cell is written as plain Python, not with the ``%pip``
magic, because the book's tools run chapters' cells without IPython (``make mutants``).
It is tagged ``remove-cell``: the site leaves it out, the notebooks keep it.

Usage::

    python tools/repository.py write [--url URL] [NOTEBOOK ...]
    python tools/repository.py check [NOTEBOOK ...]

``write`` sets ``repository.url`` in ``_config.yml`` when given ``--url`` (``--url ""``
empties it), then writes the install cell of each notebook (default: every
``chapters/*.ipynb``) from that one place: it updates the cell, moves it before the
first other code cell if it is not there, or inserts it there (at the top of a notebook
without code). ``check`` exits non-zero, naming each notebook whose install cell is not
what ``write`` would write.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Mapping

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
PYPROJECT = ROOT / "pyproject.toml"
ENV_VAR = "KLBOOK_REPOSITORY_URL"

INSTALL_TAG = "klbook-install"
# Jupyter Book's tag: the site's readers do not run the cell; a notebook's users do.
SITE_TAG = "remove-cell"
INSTALL_CELL_ID = "klbook-install"

# https://HOST/OWNER/REPO: the form sphinx-book-theme splits into its buttons' links, and
# characters that cannot break out of the quoted requirement in the install cell.
_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+")
_INSTALLED = re.compile(r'"klbook @ git\+(?P<url>[^"@\s]+)@v(?P<version>[^"\s]+)"')

_INSTALL_WITH_URL = '''\
# klbook, the book's helper package: installed here if this Jupyter lacks it (Colab, a
# downloaded chapter). Where klbook is installed, this cell does nothing.
import importlib.util

if importlib.util.find_spec("klbook") is None:
    klbook_release = "{requirement}"
    # %pip install, written as plain Python (the book's tools run cells without IPython)
    get_ipython().run_line_magic("pip", f'install --quiet "{{klbook_release}}"')
    importlib.invalidate_caches()  # so that the new package is found without a restart
    if importlib.util.find_spec("klbook") is None:
        raise ModuleNotFoundError("pip did not install klbook: see its messages above",
                                  name="klbook")'''

_INSTALL_WITHOUT_URL = '''\
# klbook, the book's helper package, must be installed for this kernel. Where it is,
# this cell does nothing.
import importlib.util

if importlib.util.find_spec("klbook") is None:
    raise ModuleNotFoundError(
        "This chapter needs klbook, the book's helper package, which this kernel's Python "
        "does not have. In a clone of the book's repository, run `pip install .` in its top "
        "folder with that Python (or run `%pip install PATH-TO-THE-CLONE` here), then run "
        "this cell again.", name="klbook")'''


# --- The address ---------------------------------------------------------------------------


def normalise_url(url: str | None) -> str:
    """``url`` without surrounding blanks or a trailing slash; "" for none.

    Raises
    ------
    ValueError
        If the URL is not of the form ``https://HOST/OWNER/REPO`` (without ``.git``).
    """
    url = (url or "").strip().rstrip("/")
    if url and (not _URL.fullmatch(url) or url.endswith(".git")):
        raise ValueError(f"the repository URL must be https://HOST/OWNER/REPO, without .git "
                         f"(as the repository's page shows it), not {url!r}")
    return url


def configured_url(config_path: Path = CONFIG) -> str:
    """``repository.url`` of ``_config.yml`` ("" when unset)."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    return normalise_url((config.get("repository") or {}).get("url"))


def effective_url(configured: str, environ: Mapping[str, str] = os.environ) -> str:
    """The URL a build uses: ``KLBOOK_REPOSITORY_URL`` when set (even empty), else
    ``configured``."""
    return normalise_url(environ[ENV_VAR] if ENV_VAR in environ else configured)


def set_configured_url(url: str, config_path: Path = CONFIG) -> None:
    """Write ``url`` as ``repository.url`` in ``_config.yml``, leaving every other line
    (comments included) as it is."""
    url = normalise_url(url)
    lines = config_path.read_text(encoding="utf-8").splitlines(keepends=True)
    in_repository = False
    for index, line in enumerate(lines):
        if re.match(r"repository:\s*(#.*)?$", line):
            in_repository = True
        elif in_repository and re.match(r"\S", line):  # the next top-level key
            break
        elif in_repository and (match := re.match(r"(\s+)url:", line)):
            lines[index] = f"{match[1]}url: {json.dumps(url)}\n"
            config_path.write_text("".join(lines), encoding="utf-8")
            if configured_url(config_path) != url:
                raise ValueError(f"{config_path}: wrote url: {json.dumps(url)}, but the "
                                 "file does not read back as that repository.url")
            return
    raise ValueError(f"{config_path} has no `url:` line under `repository:` to set")


def package_version(pyproject: Path = PYPROJECT) -> str:
    """klbook's version, from ``pyproject.toml``."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    if "version" not in project:
        raise ValueError(f"{pyproject}: [project] has no static version; the install cell "
                         "names the release tag v<version>")
    return project["version"]


# --- The install cell ----------------------------------------------------------------------


def install_source(url: str, version: str) -> str:
    """The code of the install cell for the repository ``url`` ("" for none)."""
    url = normalise_url(url)
    if not url:
        return _INSTALL_WITHOUT_URL
    return _INSTALL_WITH_URL.format(requirement=f"klbook @ git+{url}@v{version}")


def installed_url(source: str) -> str:
    """The repository URL an install cell's code installs from ("" for none)."""
    match = _INSTALLED.search(source)
    return match["url"] if match else ""


def _what_it_installs(source: str) -> str:
    match = _INSTALLED.search(source)
    return f"installs klbook v{match['version']} from {match['url']}" if match else \
        "names no repository"


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def install_cell_index(nb: nbformat.NotebookNode, name: str = "the notebook") -> int | None:
    """Index of the install cell, or None.

    Raises
    ------
    ValueError
        If more than one cell is tagged as the install cell.
    """
    found = [i for i, cell in enumerate(nb.cells) if INSTALL_TAG in _tags(cell)]
    if len(found) > 1:
        raise ValueError(f"{name}: cells {found} are all tagged {INSTALL_TAG!r}; keep one")
    return found[0] if found else None


def _first_other_code_cell(nb: nbformat.NotebookNode) -> int | None:
    return next((i for i, cell in enumerate(nb.cells)
                 if cell.cell_type == "code" and INSTALL_TAG not in _tags(cell)), None)


def install_cell_problem(nb: nbformat.NotebookNode, url: str, version: str,
                         name: str = "the notebook") -> str | None:
    """Why the notebook's install cell is not what :func:`with_install_cell` writes, or None."""
    try:
        index = install_cell_index(nb, name)
    except ValueError as error:
        return str(error)
    if index is None:
        return f"{name}: no install cell (a code cell tagged {INSTALL_TAG!r})"
    cell = nb.cells[index]
    first_other = _first_other_code_cell(nb)
    if cell.cell_type != "code":
        return f"{name}: the install cell (cell {index}) is not a code cell"
    if first_other is not None and index > first_other:
        return (f"{name}: the install cell (cell {index}) comes after the code cell "
                f"{first_other}; it must run first")
    expected = install_source(url, version)
    if cell.source != expected:
        found, wanted = _what_it_installs(cell.source), _what_it_installs(expected)
        detail = (f"it {found}; by _config.yml and pyproject.toml it {wanted}"
                  if found != wanted else "its code is not what tools/repository.py writes")
        return f"{name}: the install cell is stale ({detail})"
    if SITE_TAG not in _tags(cell):
        return f"{name}: the install cell lacks the tag {SITE_TAG!r}"
    return None


def with_install_cell(nb: nbformat.NotebookNode, url: str, version: str,
                      name: str = "the notebook") -> nbformat.NotebookNode:
    """A copy of ``nb`` whose install cell is the one for ``url`` and ``version``, placed
    before the first other code cell (inserted there, or at the top without code)."""
    nb = copy.deepcopy(nb)
    source = install_source(url, version)
    index = install_cell_index(nb, name)
    first_other = _first_other_code_cell(nb)
    # A cell that already runs first stays where it is; one after other code moves up.
    keep_place = index is not None and (first_other is None or index < first_other)
    if index is None:
        cell = nbformat.v4.new_code_cell(source)
        if nb.get("nbformat_minor", 0) >= 5:
            taken = {c.get("id") for c in nb.cells}
            cell["id"] = INSTALL_CELL_ID if INSTALL_CELL_ID not in taken else cell["id"]
        else:  # cell ids came with nbformat 4.5
            cell.pop("id", None)
    else:
        cell = nb.cells.pop(index)
        if cell.cell_type != "code":
            raise ValueError(f"{name}: the cell tagged {INSTALL_TAG!r} is not a code cell")
        if cell.source != source:
            cell.source = source
            # Outputs of another install command would not be this cell's.
            cell.outputs, cell.execution_count = [], None
    tags = _tags(cell)
    cell.setdefault("metadata", {})["tags"] = tags + [t for t in (INSTALL_TAG, SITE_TAG)
                                                       if t not in tags]
    if keep_place:
        nb.cells.insert(index, cell)
    else:
        first_other = _first_other_code_cell(nb)
        nb.cells.insert(0 if first_other is None else first_other, cell)
    return nb


def _serialised(nb: nbformat.NotebookNode) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"  # as nbformat.write stores it


def write_install_cells(notebooks: list[Path], url: str, version: str, *,
                        insert: bool = True) -> list[Path]:
    """Write the install cell into each notebook; the notebooks that changed.

    With ``insert=False``, only notebooks that have an install cell are rewritten (the
    site's downloadable copies mirror the sources: no cell is added to them).
    """
    changed = []
    for path in notebooks:
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        if not insert and install_cell_index(nb, str(path)) is None:
            continue
        new = _serialised(with_install_cell(nb, url, version, str(path)))
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def stale_install_cells(notebooks: list[Path], url: str, version: str) -> list[str]:
    """The problems :func:`install_cell_problem` finds, one per notebook that has one."""
    problems = []
    for path in notebooks:
        problem = install_cell_problem(nbformat.read(path, as_version=4), url, version,
                                       str(path))
        if problem:
            problems.append(problem)
    return problems


def colab_ready(notebooks: list[Path]) -> bool:
    """Whether every notebook's install cell installs klbook from a repository (else Colab,
    which opens the committed notebook, could not install klbook)."""
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        index = install_cell_index(nb, str(path))
        if index is None or not installed_url(nb.cells[index].source):
            return False
    return bool(notebooks)


# --- The site's buttons --------------------------------------------------------------------

# Names in the Sphinx setting klbook_repository_buttons, and the theme's options they set.
REPOSITORY_BUTTONS = {"repository": "use_repository_button", "issues": "use_issues_button",
                      "edit": "use_edit_page_button", "source": "use_source_button"}
# Launchers that open the repository's notebooks (thebe runs them on Binder).
LAUNCHERS = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "thebe")


def apply_repository(theme_options: dict, url: str, wanted: list[str], *,
                     colab_ready: bool) -> None:
    """Set sphinx-book-theme's options for the repository ``url`` ("" for none), in place.

    Without a URL, every button that needs one is off: the repository buttons and the
    launchers. With one, the repository buttons in ``wanted`` are on; the launchers are
    those the book configures, Colab only on GitHub and when ``colab_ready``.
    """
    unknown = sorted(set(wanted) - set(REPOSITORY_BUTTONS))
    if unknown:
        raise ValueError(f"klbook_repository_buttons: unknown {unknown}; the buttons are "
                         f"{sorted(REPOSITORY_BUTTONS)}")
    theme_options["repository_url"] = url
    for name, option in REPOSITORY_BUTTONS.items():
        theme_options[option] = bool(url) and name in wanted
    launch = dict(theme_options.get("launch_buttons") or {})
    if not url:
        for key in LAUNCHERS:
            launch.pop(key, None)
    elif not (colab_ready and url.startswith("https://github.com/")):
        launch.pop("colab_url", None)
    theme_options["launch_buttons"] = launch


# --- Command line --------------------------------------------------------------------------


def chapters(root: Path = ROOT) -> list[Path]:
    return sorted((root / "chapters").glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="set the URL (with --url) and write the "
                                              "install cells")
    write.add_argument("--url", help='the repository, https://HOST/OWNER/REPO ("" for none)')
    check = commands.add_parser("check", help="exit non-zero if an install cell is stale")
    for command in (write, check):
        command.add_argument("notebooks", nargs="*", type=Path,
                             help="notebooks (default: chapters/*.ipynb)")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or chapters()
    try:
        if args.command == "write" and args.url is not None:
            set_configured_url(args.url)
        url, version = configured_url(), package_version()
        if args.command == "write":
            changed = write_install_cells(notebooks, url, version)
            print(f"install cells for {url or 'no URL'}, klbook v{version}: "
                  f"{len(changed)} of {len(notebooks)} notebooks changed")
            return 0
        problems = stale_install_cells(notebooks, url, version)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("run: python tools/repository.py write", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
