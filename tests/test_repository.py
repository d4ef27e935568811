"""Tests of tools/repository.py: the repository URL's one place, the chapters' install cell,
and the site's buttons (tools/sphinx_klbook.py)."""

import importlib.util
import shlex
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import nbformat
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import edition  # noqa: E402
import repository  # noqa: E402
from repository import install_source, with_install_cell  # noqa: E402

md = nbformat.v4.new_markdown_cell
code = nbformat.v4.new_code_cell

URL = "https://github.com/owner/book"
VERSION = "0.1.0"
REQUIREMENT = f"klbook @ git+{URL}@v{VERSION}"


def notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def chapter():
    return notebook(md("(chap-x)=\n# Title\n\nIntroduction."), code("import klbook"),
                    md("Text."), code("klbook.kl_divergence([1], [1])"))


def install_cells(nb):
    return [c for c in nb.cells if repository.INSTALL_TAG in c.metadata.get("tags", [])]


# --- the install cell, run without a kernel ------------------------------------------------


class Shell:
    """What the cell uses of IPython's shell: records %pip, and 'installs' klbook or not."""

    def __init__(self, state, installs, events):
        self.state, self.installs, self.events = state, installs, events

    def run_line_magic(self, name, line):
        self.events.append((name, line))
        self.state["installed"] = self.installs


def run_install_cell(source, *, installed, pip_installs=True):
    """Execute the cell's code as a kernel would, with klbook present or absent; the %pip
    calls it made and its clearing of the import system's caches, in order."""
    state, events = {"installed": installed}, []
    shell = Shell(state, pip_installs, events)
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "klbook":
            return real_find_spec("klbook") if state["installed"] else None
        return real_find_spec(name, *args, **kwargs)

    with mock.patch("importlib.util.find_spec", find_spec), \
            mock.patch("importlib.invalidate_caches", lambda: events.append("invalidate_caches")):
        exec(compile(source, "<install cell>", "exec"),
             {"__name__": "__main__", "get_ipython": lambda: shell})
    return events


def test_without_a_url_the_cell_says_how_to_install_klbook():
    with pytest.raises(ModuleNotFoundError, match=r"`pip install \.`") as raised:
        run_install_cell(install_source("", VERSION), installed=False)
    assert raised.value.name == "klbook"
    assert "clone of the book's repository" in str(raised.value)


def test_with_a_url_the_cell_pip_installs_the_release_tag():
    [(name, line), invalidated] = run_install_cell(install_source(URL, VERSION), installed=False)
    assert name == "pip"
    # a package installed while the kernel runs is found only once the caches are cleared
    assert invalidated == "invalidate_caches"
    assert shlex.split(line) == ["install", "--quiet", REQUIREMENT]  # as the shell splits it
    requirement = Requirement(shlex.split(line)[-1])
    assert (requirement.name, requirement.url) == ("klbook", f"git+{URL}@v{VERSION}")


def test_a_failed_pip_install_is_a_clear_error():
    with pytest.raises(ModuleNotFoundError, match="pip did not install klbook"):
        run_install_cell(install_source(URL, VERSION), installed=False, pip_installs=False)


@pytest.mark.parametrize("url", ["", URL])
def test_where_klbook_is_installed_the_cell_does_nothing(url, capsys):
    assert run_install_cell(install_source(url, VERSION), installed=True) == []
    assert capsys.readouterr() == ("", "")


def test_the_cell_names_the_url_it_installs_from():
    assert repository.installed_url(install_source(URL, VERSION)) == URL
    assert repository.installed_url(install_source("", VERSION)) == ""


# --- the URL -------------------------------------------------------------------------------


def test_urls_are_normalised():
    assert repository.normalise_url(f" {URL}/ ") == URL
    assert repository.normalise_url(None) == repository.normalise_url("  ") == ""


@pytest.mark.parametrize("url", [f"{URL}.git", "http://github.com/owner/book", "github.com/o/b",
                                 "https://github.com/owner", "https://github.com/o/b/tree/main",
                                 'https://github.com/o/b"; import os'])
def test_a_url_that_is_not_https_host_owner_repo_is_refused(url):
    with pytest.raises(ValueError, match="must be https://HOST/OWNER/REPO"):
        repository.normalise_url(url)


def test_the_environment_variable_overrides_the_configured_url():
    assert repository.effective_url("", {repository.ENV_VAR: URL + "/"}) == URL
    assert repository.effective_url(URL, {repository.ENV_VAR: ""}) == ""
    assert repository.effective_url(URL, {}) == URL


def test_set_configured_url_changes_only_the_url_line(tmp_path):
    config = tmp_path / "_config.yml"
    shutil.copy(ROOT / "_config.yml", config)
    committed = repository.configured_url(config)
    before = config.read_text(encoding="utf-8").splitlines()
    other = "https://gitlab.com/someone/fork"
    repository.set_configured_url(other + "/", config)
    after = config.read_text(encoding="utf-8").splitlines()
    assert repository.configured_url(config) == other
    assert [(a, b) for a, b in zip(before, after) if a != b] == [
        (f'  url: "{committed}"', f'  url: "{other}"')]
    repository.set_configured_url(committed, config)
    assert config.read_text(encoding="utf-8").splitlines() == before


def test_set_configured_url_refuses_a_config_without_the_key(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("title: x\nrepository:\n  branch: main\nurl: elsewhere\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no `url:` line under `repository:`"):
        repository.set_configured_url(URL, config)


def test_the_version_is_the_package_version():
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert repository.package_version() == pyproject["project"]["version"]


# --- writing the cell ----------------------------------------------------------------------


def test_the_cell_is_inserted_before_the_first_code_cell():
    nb = with_install_cell(chapter(), URL, VERSION)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "markdown", "code"]
    cell = nb.cells[1]
    assert cell.source == install_source(URL, VERSION)
    assert cell.metadata["tags"] == [repository.INSTALL_TAG, repository.SITE_TAG]
    assert cell.id == repository.INSTALL_CELL_ID and cell.outputs == []
    nbformat.validate(nb)


def test_a_notebook_without_code_gets_the_cell_at_the_top():
    nb = with_install_cell(notebook(md("# Only text")), "", VERSION)
    assert nb.cells[0].source == install_source("", VERSION)


def test_the_cell_is_updated_in_place_keeping_its_id_and_other_tags():
    nb = with_install_cell(chapter(), "", VERSION)
    nb.cells[1].metadata["tags"].append("keep-me")
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="pip said something\n")]
    updated = with_install_cell(nb, URL, VERSION)
    assert len(install_cells(updated)) == 1 and updated.cells[1].id == nb.cells[1].id
    assert updated.cells[1].source == install_source(URL, VERSION)
    assert "keep-me" in updated.cells[1].metadata["tags"]
    assert updated.cells[1].outputs == []  # the old command's output is not this one's


def test_a_cell_after_other_code_moves_up_and_one_above_the_text_stays():
    nb = with_install_cell(chapter(), URL, VERSION)
    nb.cells.append(nb.cells.pop(1))
    assert repository.install_cell_problem(nb, URL, VERSION, "ch.ipynb").startswith(
        "ch.ipynb: the install cell (cell 4) comes after the code cell 1")
    assert with_install_cell(nb, URL, VERSION).cells[1].source == install_source(URL, VERSION)
    nb.cells.insert(0, nb.cells.pop())
    assert with_install_cell(nb, URL, VERSION).cells == nb.cells


def test_two_install_cells_are_refused():
    nb = with_install_cell(chapter(), URL, VERSION)
    nb.cells.append(code("pass", metadata={"tags": [repository.INSTALL_TAG]}))
    with pytest.raises(ValueError, match=r"ch.ipynb: cells \[1, 5\] are all tagged"):
        with_install_cell(nb, URL, VERSION, "ch.ipynb")


@pytest.fixture
def chapter_copies(tmp_path):
    """Copies of two of the book's chapters (one with solutions), without an install cell
    whether or not the committed ones have it, and a small notebook."""
    paths = []
    for name in ("01_definition.ipynb", "common_slips.ipynb"):
        nb = nbformat.read(ROOT / "chapters" / name, as_version=4)
        nb.cells = [c for c in nb.cells if repository.INSTALL_TAG not in c.metadata.get("tags", [])]
        nbformat.write(nb, tmp_path / name)
        paths.append(tmp_path / name)
    nbformat.write(chapter(), tmp_path / "small.ipynb")
    return paths + [tmp_path / "small.ipynb"]


def test_write_changes_nothing_but_the_install_cell(chapter_copies):
    originals = {path: nbformat.read(path, as_version=4) for path in chapter_copies}
    assert repository.write_install_cells(chapter_copies, URL, VERSION) == chapter_copies
    for path, original in originals.items():
        written = nbformat.read(path, as_version=4)
        [cell] = install_cells(written)
        assert [c for c in written.cells if c is not cell] == original.cells
        assert written.metadata == original.metadata


def test_write_is_idempotent_and_check_agrees(chapter_copies):
    assert repository.stale_install_cells(chapter_copies, URL, VERSION) != []
    repository.write_install_cells(chapter_copies, URL, VERSION)
    contents = [path.read_bytes() for path in chapter_copies]
    assert repository.write_install_cells(chapter_copies, URL, VERSION) == []
    assert [path.read_bytes() for path in chapter_copies] == contents
    assert repository.stale_install_cells(chapter_copies, URL, VERSION) == []


def test_check_names_the_notebook_with_a_stale_cell(chapter_copies):
    repository.write_install_cells(chapter_copies, "", VERSION)
    assert repository.stale_install_cells(chapter_copies[:1], "", VERSION) == []
    [problem] = repository.stale_install_cells(chapter_copies[:1], URL, VERSION)
    assert problem == (f"{chapter_copies[0]}: the install cell is stale (it names no "
                       "repository; by _config.yml and pyproject.toml it installs klbook "
                       f"v{VERSION} from {URL})")
    repository.write_install_cells(chapter_copies, URL, VERSION)
    [problem] = repository.stale_install_cells(chapter_copies[:1], URL, "0.2.0")
    assert problem.endswith(f"it installs klbook v0.2.0 from {URL})")
    nb = nbformat.read(chapter_copies[0], as_version=4)
    install_cells(nb)[0].source += "\n# edited by hand"
    assert repository.install_cell_problem(nb, URL, VERSION).endswith(
        "(its code is not what tools/repository.py writes)")


def test_check_requires_the_site_tag(chapter_copies):
    repository.write_install_cells(chapter_copies, URL, VERSION)
    nb = nbformat.read(chapter_copies[0], as_version=4)
    install_cells(nb)[0].metadata["tags"] = [repository.INSTALL_TAG]
    assert repository.install_cell_problem(nb, URL, VERSION).endswith("lacks the tag 'remove-cell'")


def test_the_command_line_check_fails_until_write(chapter_copies, capsys):
    assert repository.main(["check", *map(str, chapter_copies)]) == 1
    assert str(chapter_copies[0]) in capsys.readouterr().err
    assert repository.main(["write", *map(str, chapter_copies)]) == 0
    assert repository.main(["check", *map(str, chapter_copies)]) == 0


def test_the_site_copies_are_rewritten_but_never_given_a_cell(chapter_copies):
    with_cell, without = chapter_copies[0], chapter_copies[1]
    repository.write_install_cells([with_cell], "", VERSION)
    untouched = without.read_bytes()
    assert repository.write_install_cells([with_cell, without], URL, VERSION,
                                          insert=False) == [with_cell]
    assert without.read_bytes() == untouched
    assert repository.stale_install_cells([with_cell], URL, VERSION) == []


def test_colab_needs_every_install_cell_to_name_a_repository(chapter_copies):
    assert not repository.colab_ready(chapter_copies)  # no install cells yet
    repository.write_install_cells(chapter_copies, "", VERSION)
    assert not repository.colab_ready(chapter_copies)
    repository.write_install_cells(chapter_copies, URL, VERSION)
    assert repository.colab_ready(chapter_copies)
    assert not repository.colab_ready([])


# --- the student edition and the assignments -----------------------------------------------


@pytest.mark.parametrize("for_site", [True, False], ids=["site", "handout"])
def test_the_cell_survives_the_student_edition(for_site):
    nb = with_install_cell(nbformat.read(ROOT / "chapters" / "01_definition.ipynb",
                                         as_version=4), URL, VERSION)
    student = edition.student_notebook(nb, for_site=for_site)
    assert repository.install_cell_problem(student, URL, VERSION) is None
    assert edition.solution_dependencies(nb) == []  # the build would refuse the chapter


def test_assignments_keep_the_chapter_imports_after_the_install_cell():
    # tools/assign.py copies "the chapter's first code cell" (its imports) into each
    # assignment: with the install cell first, that must still bring the imports.
    import assign

    original = nbformat.read(ROOT / "chapters" / "01_definition.ipynb", as_version=4)
    imports = next(c.source for c in original.cells if c.cell_type == "code"
                   and repository.INSTALL_TAG not in c.metadata.get("tags", []))
    setup = assign.setup_cells(with_install_cell(original, URL, VERSION), [])
    assert imports in setup


# --- the site's buttons --------------------------------------------------------------------


def theme_options():
    return {"repository_url": "", "use_repository_button": False, "use_issues_button": False,
            "launch_buttons": {"notebook_interface": "jupyterlab", "thebe": False,
                               "binderhub_url": "https://mybinder.org",
                               "colab_url": "https://colab.research.google.com"}}


def test_without_a_url_no_button_leads_to_a_repository():
    options = theme_options()
    repository.apply_repository(options, "", ["repository", "issues"], colab_ready=True)
    assert options["launch_buttons"] == {"notebook_interface": "jupyterlab"}
    assert not any(options[o] for o in repository.REPOSITORY_BUTTONS.values())


def test_with_a_url_the_wanted_buttons_and_binder_appear():
    options = theme_options()
    repository.apply_repository(options, URL, ["repository"], colab_ready=False)
    assert options["repository_url"] == URL
    assert options["use_repository_button"] and not options["use_issues_button"]
    assert "binderhub_url" in options["launch_buttons"]
    assert "colab_url" not in options["launch_buttons"]


def test_colab_appears_when_the_cells_install_klbook_from_github():
    options = theme_options()
    repository.apply_repository(options, URL, [], colab_ready=True)
    assert options["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    options = theme_options()
    repository.apply_repository(options, "https://gitlab.com/owner/book", [], colab_ready=True)
    assert "colab_url" not in options["launch_buttons"]  # Colab opens GitHub notebooks only


def test_an_unknown_button_name_is_refused():
    with pytest.raises(ValueError, match=r"unknown \['repo'\]"):
        repository.apply_repository(theme_options(), URL, ["repo"], colab_ready=False)


def sphinx_app(srcdir, buttons=("repository",)):
    config = SimpleNamespace(html_theme_options=theme_options(),
                             klbook_repository_buttons=list(buttons))
    return SimpleNamespace(srcdir=str(srcdir)), config


def test_the_extension_takes_the_url_from_the_environment(tmp_path, monkeypatch):
    import sphinx_klbook

    (tmp_path / "chapters").mkdir()
    nbformat.write(with_install_cell(chapter(), URL, VERSION), tmp_path / "chapters" / "a.ipynb")
    app, config = sphinx_app(tmp_path)
    monkeypatch.setenv(repository.ENV_VAR, URL)
    sphinx_klbook._apply_repository(app, config)
    options = config.html_theme_options
    assert options["repository_url"] == URL and options["use_repository_button"]
    assert {"binderhub_url", "colab_url"} <= set(options["launch_buttons"])

    monkeypatch.delenv(repository.ENV_VAR)
    app, config = sphinx_app(tmp_path)
    sphinx_klbook._apply_repository(app, config)
    assert config.html_theme_options["launch_buttons"] == {"notebook_interface": "jupyterlab"}


def test_the_extension_reports_a_bad_url_as_a_configuration_error(tmp_path, monkeypatch):
    import sphinx_klbook
    from sphinx.errors import ConfigError

    monkeypatch.setenv(repository.ENV_VAR, "git@github.com:owner/book.git")
    with pytest.raises(ConfigError, match=f"must be https://HOST/OWNER/REPO.*{repository.ENV_VAR}"):
        sphinx_klbook._apply_repository(*sphinx_app(tmp_path))


# --- the committed chapters ----------------------------------------------------------------


def test_committed_chapters_carry_the_install_cell():
    # Fails until `python tools/repository.py write` has written the cells (and again
    # whenever the URL in _config.yml or the version in pyproject.toml changes without it).
    problems = repository.stale_install_cells(repository.chapters(), repository.configured_url(),
                                              repository.package_version())
    assert problems == [], "\n".join(problems + ["run: python tools/repository.py write"])
