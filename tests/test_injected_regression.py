"""A regression in the fifth significant digit of a result fails the chapter tests.

Stored outputs are compared within the accuracy each glued number carries (conftest.py,
klbook.notebook.reconcile_glued_numbers), so that the tests pass on every CPU. These tests
show that the allowance hides no real change: a change of one unit in the fifth
significant digit, injected either into a stored output or into klbook's result while the
chapter runs, makes nbval fail, on the cells where it is injected. They run a chapter under
nbval three times (about 20 s) and are part of `make platforms`, not `make test`.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from klbook.notebook import GLUE_MIME_PREFIX

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "01_definition.ipynb"
TEXT = GLUE_MIME_PREFIX + "text/plain"

# Loaded by the chapter's kernel through PYTHONPATH: multiplies every value klbook's
# kl_divergence returns by 1 + 1e-4 / 9.99..., a change of one unit in the fifth
# significant digit whatever the value's leading digit.
INJECTION = '''
import klbook, klbook.discrete
_exact = klbook.discrete.kl_divergence
def kl_divergence(*args, **kwargs):
    return _exact(*args, **kwargs) * (1 + 1.00001e-5)
klbook.kl_divergence = klbook.discrete.kl_divergence = kl_divergence
'''


def run_nbval(notebook: Path, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """nbval's verdict on each code cell of `notebook`: {"Cell N": "passed" | report}."""
    report = notebook.with_suffix(".xml")
    env = {**os.environ, **(extra_env or {})}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
                    "--nbval-current-env", f"--junitxml={report}", str(notebook)],
                   cwd=ROOT, env=env, capture_output=True, text=True)
    verdicts = {}
    for case in ElementTree.parse(report).iter("testcase"):
        failure = case.find("failure")
        verdicts[case.get("name")] = "passed" if failure is None else (failure.text or "failed")
    return verdicts


def glued_cells(notebook: dict) -> list[tuple[int, int, str, float]]:
    """(code cell number, output index, name, value) of every glued real number."""
    found = []
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    for number, cell in enumerate(code_cells):
        for index, output in enumerate(cell.get("outputs", [])):
            metadata = output.get("metadata", {})
            text = output.get("data", {}).get(TEXT)
            accuracy = metadata.get("klbook", {})
            if text is None or "rtol" not in accuracy or accuracy.get("bound"):
                continue
            value = float(text)
            if math.isfinite(value) and value != 0 and value != int(value):
                found.append((number, index, metadata["scrapbook"]["name"], value))
    return found


def fifth_digit_changed(value: float) -> float:
    unit = 10.0 ** (math.floor(math.log10(abs(value))) - 4)
    return value + unit


@pytest.fixture(scope="module")
def workdir():
    # Inside the repository, so that its conftest.py (the comparison rule) applies.
    (ROOT / "_build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "_build", prefix="injected-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def chapter() -> dict:
    return json.loads(CHAPTER.read_text())


def test_the_unmodified_chapter_passes_where_the_injections_run(workdir, chapter):
    copy = workdir / "control.ipynb"
    copy.write_text(json.dumps(chapter))
    verdicts = run_nbval(copy)
    assert verdicts and all(v == "passed" for v in verdicts.values()), verdicts


def test_a_fifth_digit_change_in_a_stored_glued_number_fails_that_cell(workdir, chapter):
    glued = glued_cells(chapter)
    assert len(glued) >= 3, "the chapter should glue real numbers to test with"
    changed = json.loads(json.dumps(chapter))
    code_cells = [cell for cell in changed["cells"] if cell["cell_type"] == "code"]
    targets = glued[:: max(1, len(glued) // 3)][:3]
    for number, index, _, value in targets:
        code_cells[number]["outputs"][index]["data"][TEXT] = repr(fifth_digit_changed(value))
    copy = workdir / "stored.ipynb"
    copy.write_text(json.dumps(changed))
    verdicts = run_nbval(copy)
    failing = {name for name, verdict in verdicts.items() if verdict != "passed"}
    assert failing == {f"Cell {number}" for number, _, _, _ in targets}
    for number, _, name, _ in targets:
        assert f"glued {name}: fresh" in verdicts[f"Cell {number}"]


def test_a_fifth_digit_change_in_klbooks_result_fails_the_cells_that_show_it(workdir, chapter):
    inject = workdir / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(INJECTION)
    copy = workdir / "computed.ipynb"
    copy.write_text(json.dumps(chapter))
    verdicts = run_nbval(copy, {"PYTHONPATH": str(inject)})
    failing = [name for name, verdict in verdicts.items() if verdict != "passed"]
    glued_failures = [name for name, verdict in verdicts.items() if "glued " in verdict]
    assert len(failing) >= 3 and glued_failures, verdicts
