"""Sphinx extension of the book: the klbook API reference lists every public module.

``api.md`` holds the page's introduction; this extension appends, when Sphinx
reads the page, one section per public module of :mod:`klbook` (every module
whose name does not start with an underscore): a summary table
(``autosummary``) and the documentation generated from the docstrings
(``automodule``). A module added to klbook therefore appears in the book
without anyone editing ``api.md``, and the page is re-read on every build so
that a new module or docstring is never served from Sphinx's cache. A reference
to a re-export such as ``klbook.kl_divergence`` resolves to the documented
``klbook.discrete.kl_divergence``. It keeps the pages free of scripts that
are switched off (thebe) and gives bibliography entries a valid ARIA role.

Finally, it gives the buttons that lead to the book's repository the address
of ``tools/repository.py`` (``repository.url`` of ``_config.yml``, or
``KLBOOK_REPOSITORY_URL`` for one build). Without an address there is none of
them: no repository button, no Binder or Colab launcher. With one, the
repository buttons named in the setting ``klbook_repository_buttons`` appear
(Jupyter Book refuses its own ``html.use_repository_button`` while the URL is
empty), the launchers of ``launch_buttons`` too, except Colab unless the
chapters' install cells install klbook from a repository (Colab opens the
repository's notebooks as they are). The notebooks offered for download get
the install cell for the build's address.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

from sphinx.errors import ConfigError

import repository

API_DOCNAME = "api"


def public_modules() -> list[str]:
    """Dotted names of klbook's public modules, sorted."""
    import klbook

    return sorted(
        info.name
        for info in pkgutil.walk_packages(klbook.__path__, prefix="klbook.")
        if not any(part.startswith("_") for part in info.name.split("."))
    )


def module_section(name: str) -> str:
    """The MyST source of one module's section of the API page."""
    try:
        module = importlib.import_module(name)
    except Exception:  # autodoc will report the import error as a build warning
        module = None
    exported = [
        member
        for member in getattr(module, "__all__", [])
        if getattr(getattr(module, member, None), "__module__", None) == name
    ]
    # Docstrings are reStructuredText, so the directives sit in an eval-rst block
    # (inside MyST they would be parsed as Markdown). The module's docstring comes
    # first, then a summary table, then each member in full.
    rst = [f".. automodule:: {name}", ""]
    if exported:
        rst += [".. autosummary::", "", *(f"   {member}" for member in exported), ""]
        for member in exported:
            obj = getattr(module, member)
            kind = "autoclass" if inspect.isclass(obj) else "autofunction" if callable(obj) else "autodata"
            option = {"autoclass": ["   :members:"], "autodata": ["   :no-value:"]}.get(kind, [])
            rst += [f".. {kind}:: {name}.{member}", *option, ""]
    else:
        rst[1:1] = ["   :members:"]
    lines = [f"## `{name}`", "", "````{eval-rst}", *rst, "````", ""]
    return "\n".join(lines)


def _append_modules(app, docname: str, source: list[str]) -> None:
    if docname == API_DOCNAME:
        source[0] += "\n\n" + "\n".join(module_section(name) for name in public_modules())


def _always_reread_api(app, env, added, changed, removed) -> list[str]:
    # The page depends on klbook's source, which Sphinx does not track.
    return [API_DOCNAME] if API_DOCNAME in env.found_docs else []


def _resolve_reexport(app, env, node, contnode):
    """Resolve ``klbook.name`` (a re-export) to where the object is documented."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("klbook."):
        return None
    package, _, attribute = target.rpartition(".")
    try:
        obj = getattr(importlib.import_module(package), attribute)
    except (ImportError, AttributeError):
        return None
    home = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
    if home == target or not home.startswith("klbook."):
        return None
    node["reftarget"] = home
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], home, node, contnode)


def _drop_thebe_loader(app, pagename, templatename, context, doctree) -> None:
    """Leave out sphinx-thebe's loader while live code (thebe) is switched off.

    Jupyter Book always loads sphinx-thebe, which adds to every page a script that
    names a CDN copy of thebe, twice (the second copy is an uncaught
    "already declared" error in the browser's console). With ``launch_buttons:
    thebe: false`` nothing on the page uses it.
    """
    if app.config.html_theme_options.get("launch_buttons", {}).get("thebe"):
        return

    def is_thebe(asset) -> bool:
        name = str(getattr(asset, "filename", None) or asset)
        body = getattr(asset, "attributes", {}).get("body", "")
        return "thebe" in name or "THEBE" in body

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not is_thebe(asset)]


def _fix_citation_roles(app, pagename, templatename, context, doctree) -> None:
    """Give bibliography entries a valid ARIA role.

    docutils writes the reference list as ``role="list"`` holding entries with
    the deprecated ``role="doc-biblioentry"``, so assistive technology sees a
    list without items (axe-core: aria-required-children, critical).
    """
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def _apply_repository(app, config) -> None:
    """Give the repository buttons and launchers the build's address, or remove them."""
    options = config.html_theme_options
    try:
        url = repository.effective_url(options.get("repository_url", ""))
        chapters = repository.chapters(Path(app.srcdir))
        repository.apply_repository(options, url, list(config.klbook_repository_buttons),
                                    colab_ready=bool(url) and repository.colab_ready(chapters))
    except ValueError as error:
        raise ConfigError(f"{error} ({repository.ENV_VAR} or repository.url in "
                          "_config.yml)") from error


def _publish_install_cells(app, exception) -> None:
    """Give the downloadable notebooks (``_sources``) the install cell for the build's URL.

    The sources keep the committed cell; a reader who downloads a chapter from the
    published site gets one that installs klbook from the repository the site names.
    """
    if exception is not None or app.builder.format != "html":
        return
    url = app.config.html_theme_options.get("repository_url", "")
    sources = Path(app.outdir) / "_sources"
    repository.write_install_cells(sorted(sources.rglob("*.ipynb")), url,
                                   repository.package_version(), insert=False)


def setup(app):
    # Which of the theme's repository buttons to show when the book has an address.
    app.add_config_value("klbook_repository_buttons", [], "html", types=[list])
    app.connect("config-inited", _apply_repository)
    app.connect("build-finished", _publish_install_cells)
    app.connect("source-read", _append_modules)
    app.connect("missing-reference", _resolve_reexport)
    app.connect("html-page-context", _drop_thebe_loader)
    app.connect("html-page-context", _fix_citation_roles)
    app.connect("env-get-outdated", _always_reread_api)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
