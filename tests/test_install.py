"""klbook as ``pip install`` gives it: the wheel, and every chapter run against it alone.

The wheel is built from a copy of the repository's files (all but what .gitignore lists),
with the build backend of this environment and no network: it must hold every module of
klbook and nothing else of the repository (no tests, chapters or tools), with the
version, dependencies and licence of ``pyproject.toml``, and import from the wheel alone
outside the repository. These tests take a few seconds and run with the others.

End to end (``make install-check``, which sets ``KLBOOK_INSTALL_CHECK``; a few minutes,
most of them spent installing): a fresh virtual environment, without this one's packages,
builds the wheel as ``pip install`` builds a source checkout (in an isolated build
environment), installs it with the pinned versions of its dependencies
(``requirements/constraints.txt``) and a kernel, then runs every chapter, copied alone
into an empty folder, top to bottom in that environment's kernel, as a downloaded chapter
runs in a plain Jupyter. A chapter that needs a package klbook's dependencies do not
bring, or a file of the repository, fails there.
"""

import email.parser
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
# setuptools reads a licence given as an SPDX expression with license-files (PEP 639),
# as pyproject.toml gives it, from version 77 on.
PEP_639_SETUPTOOLS = "77"

end_to_end = pytest.mark.skipif(
    not os.environ.get("KLBOOK_INSTALL_CHECK"),
    reason="a fresh environment and every chapter take minutes: set KLBOOK_INSTALL_CHECK=1 "
           "(make install-check does)")


def setuptools_requirement() -> Requirement:
    [requirement] = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]
                     if Requirement(r).name == "setuptools"]
    return requirement


def copy_repository(dest: Path) -> Path:
    """The repository's files that git does not ignore (.gitignore), copied to ``dest``."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    ignored = [".git", "build", "dist"] + [line.strip().rstrip("/") for line in lines
                                            if line.strip() and not line.startswith("#")]
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*ignored), symlinks=True)
    return dest


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                            **kwargs)
    if result.returncode:
        pytest.fail(f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


# --- the wheel -----------------------------------------------------------------------------


def test_the_required_setuptools_reads_the_licence_fields():
    older = [f"{major}.0" for major in range(61, int(PEP_639_SETUPTOOLS))]
    admitted = [v for v in older if setuptools_requirement().specifier.contains(v, True)]
    assert not admitted, (
        f"pyproject.toml gives the licence as an SPDX expression with license-files, which "
        f"setuptools reads from {PEP_639_SETUPTOOLS} on, but [build-system] requires "
        f"{setuptools_requirement()}, which admits setuptools {admitted[0] if admitted else ''}")


def test_this_environment_has_the_build_backend():
    installed = importlib.metadata.version("setuptools")
    assert setuptools_requirement().specifier.contains(installed, True), (
        f"setuptools {installed} is installed, but pyproject.toml's [build-system] requires "
        f"{setuptools_requirement()}: make setup should install the pinned setuptools")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    installed = importlib.metadata.version("setuptools")
    if not setuptools_requirement().specifier.contains(installed, True):
        pytest.fail(f"cannot build the wheel with setuptools {installed}: "
                    f"{setuptools_requirement()} is required")
    tmp = tmp_path_factory.mktemp("wheel")
    source = copy_repository(tmp / "source")
    # No isolation and no index: the build uses this environment's backend and no network.
    run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "-w", tmp / "dist"])
    [built] = (tmp / "dist").glob("klbook-*.whl")
    return built


def test_the_wheel_holds_every_file_of_klbook_and_nothing_else(wheel):
    version = PROJECT["version"]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    package = {str(p.relative_to(ROOT).as_posix()) for p in (ROOT / "klbook").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert {name.split("/")[0] for name in names} == {"klbook", f"klbook-{version}.dist-info"}
    assert {name for name in names if name.startswith("klbook/")} == package


def test_the_wheel_carries_the_metadata_of_pyproject(wheel):
    version = PROJECT["version"]
    with zipfile.ZipFile(wheel) as archive:
        metadata = email.parser.Parser().parsestr(
            archive.read(f"klbook-{version}.dist-info/METADATA").decode())
        licence = archive.read(f"klbook-{version}.dist-info/licenses/LICENSE")
        licence_files = [n for n in archive.namelist() if "/licenses/" in n]
    assert (metadata["Name"], metadata["Version"]) == ("klbook", version)
    assert metadata["Requires-Python"] == PROJECT["requires-python"]
    required = [Requirement(r) for r in metadata.get_all("Requires-Dist")]
    assert sorted(str(r) for r in required if not r.marker) == sorted(
        str(Requirement(r)) for r in PROJECT["dependencies"])
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert licence == (ROOT / "LICENSE").read_bytes()
    assert licence_files == [f"klbook-{version}.dist-info/licenses/LICENSE"]  # not the text's


def test_the_wheel_alone_imports_outside_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--target", target, wheel])
    # Every module, imported from the wheel's files: PYTHONPATH comes before this
    # environment's editable klbook, and the working directory holds no klbook.
    probe = ("import json, pkgutil, importlib, klbook\n"
             "names = [m.name for m in pkgutil.walk_packages(klbook.__path__, 'klbook.')]\n"
             "files = [importlib.import_module(n).__file__ for n in names]\n"
             "print(json.dumps([klbook.__file__, *files]))")
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = run([sys.executable, "-c", probe], cwd=tmp_path, env=env)
    files = [Path(f) for f in json.loads(result.stdout)]
    assert len(files) > 10 and all(target in f.parents for f in files), files


# --- end to end ----------------------------------------------------------------------------

# Runs in the fresh environment: one notebook, top to bottom in a kernel of that
# environment, its own folder the working directory; then a probe in the same kernel.
RUN_NOTEBOOK = """
import json, os, sys
import nbformat
from nbclient import NotebookClient

path, timeout = sys.argv[1], int(sys.argv[2])
nb = nbformat.read(path, as_version=4)
client = NotebookClient(nb, timeout=timeout, allow_errors=False,
                        resources={"metadata": {"path": os.path.dirname(path)}})
probe = nbformat.v4.new_code_cell(
    "import json, sys, klbook; print(json.dumps([sys.executable, klbook.__file__]))")
nb.cells.append(probe)  # in memory only: the file stays as downloaded
with client.setup_kernel():
    for index, cell in enumerate(nb.cells):
        client.execute_cell(cell, index)
print(probe.outputs[0]["text"], end="")
"""


@pytest.fixture(scope="module")
def fresh_environment(tmp_path_factory) -> dict:
    """A virtual environment with klbook's wheel, its pinned dependencies and a kernel."""
    tmp = tmp_path_factory.mktemp("fresh")
    venv, python = tmp / "venv", tmp / "venv" / "bin" / "python"
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV",
                          "MPLBACKEND")}
    # Jupyter's and IPython's user folders in the temporary folder: no kernel or setting
    # of this machine's user takes part.
    for key in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[key] = str(tmp / key.lower())
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    run([sys.executable, "-m", "venv", venv])
    source = copy_repository(tmp / "source")
    run([python, "-m", "pip", "wheel", source, "--no-deps", "--quiet", "-w", tmp / "dist"],
        env=env)
    [wheel] = (tmp / "dist").glob("klbook-*.whl")
    constraints = ROOT / "requirements" / "constraints.txt"
    run([python, "-m", "pip", "install", "--quiet", "-c", constraints, wheel, "ipykernel",
         "nbclient"], env=env)
    return {"venv": venv, "python": python, "env": env, "tmp": tmp}


@end_to_end
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_chapter_runs_alone_against_the_installed_wheel(chapter, fresh_environment):
    folder = fresh_environment["tmp"] / "run" / chapter.stem
    folder.mkdir(parents=True)
    shutil.copy(chapter, folder / chapter.name)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    timeout = int(config.get("execute", {}).get("timeout", 300))
    result = run([fresh_environment["python"], "-c", RUN_NOTEBOOK, folder / chapter.name,
                  timeout], cwd=folder, env=fresh_environment["env"])
    executable, klbook_file = map(Path, json.loads(result.stdout))
    venv = fresh_environment["venv"]
    assert executable.parent == venv / "bin", f"the kernel ran {executable}, not the new venv"
    assert venv in klbook_file.parents, f"klbook came from {klbook_file}, not the wheel"
