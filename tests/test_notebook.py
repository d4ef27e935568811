"""Tests of klbook.notebook: what glue_number and glue_bound publish, and the rule by
which nbval compares a glued number with its stored value."""

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from IPython.core.formatters import format_display_data

import klbook.notebook
from klbook.notebook import MAX_RTOL, glue_bound, glue_number, reconcile_glued_numbers

TEXT = klbook.notebook.GLUE_MIME_PREFIX + "text/plain"


@pytest.fixture
def published(monkeypatch):
    """Every display call, from IPython.display.display, recorded instead of shown."""
    calls = []

    def display(*objs, **kwargs):
        calls.append((objs, kwargs))

    monkeypatch.setattr("IPython.get_ipython", lambda: object())  # as in a kernel
    monkeypatch.setattr("IPython.display.display", display)
    monkeypatch.setattr("myst_nb.ext.glue.ipy_display", display)
    return calls


def as_output(call):
    """A published call as the display_data output nbval reads from the notebook."""
    (bundle,), kwargs = call
    return {"output_type": "display_data", "data": dict(bundle),
            "metadata": kwargs["metadata"]}


@pytest.mark.parametrize("value", [math.log(2), 0.0, -3.5e-300, 12345678901234.5, math.inf])
def test_glue_number_publishes_what_myst_nb_glue_publishes(published, value):
    from myst_nb import glue

    glue("key", float(f"{value:.13g}"), display=False)
    glue_number("key", value)
    (myst_objs, myst_kwargs), (objs, kwargs) = published
    assert objs == myst_objs
    assert kwargs["metadata"]["scrapbook"] == myst_kwargs["metadata"]["scrapbook"]
    assert kwargs["raw"] == myst_kwargs["raw"]


@pytest.mark.parametrize("rtol, text", [(1e-12, "0.3333333333333"), (1e-6, "0.3333333"),
                                        (3e-7, "0.33333333"), (0.0, repr(1 / 3))])
def test_glue_number_stores_the_digits_its_accuracy_justifies(published, rtol, text):
    glue_number("third", 1 / 3, rtol=rtol)
    [((bundle,), kwargs)] = published
    assert bundle == {TEXT: text}
    assert kwargs["metadata"]["scrapbook"]["name"] == "third"
    assert kwargs["metadata"]["klbook"] == {"rtol": rtol}


def test_glue_number_takes_numpy_and_sympy_numbers_and_glues_integers_exactly(published):
    glue_number("a", np.float32(0.5))
    glue_number("b", sp.Rational(1, 4))
    glue_number("c", np.int64(123456789123456789))
    glue_number("d", sp.Integer(7))
    assert [objs[0][TEXT] for objs, _ in published] == ["0.5", "0.25", "123456789123456789", "7"]
    assert [kw["metadata"]["klbook"]["rtol"] for _, kw in published] == [1e-12, 1e-12, 0, 0]


@pytest.mark.parametrize("rtol", [1e-5, 2 * MAX_RTOL, -1e-12, math.nan, True, "1e-9"])
def test_glue_number_refuses_an_accuracy_that_would_hide_a_fifth_digit_change(published, rtol):
    with pytest.raises(ValueError, match="rtol of glued number 'x'"):
        glue_number("x", 1.0, rtol=rtol)


@pytest.mark.parametrize("value, error", [("0.5", TypeError), (None, TypeError),
                                           (True, TypeError), (1 + 2j, TypeError),
                                           (math.nan, ValueError)])
def test_glue_number_refuses_what_is_not_a_real_number(published, value, error):
    with pytest.raises(error, match="value"):
        glue_number("x", value)
    assert published == []


def test_glue_bound_checks_and_publishes_the_bound_exactly(published):
    glue_bound("residue", -2.2e-17, 1e-15)
    [call] = published
    assert call[0][0] == {TEXT: "1e-15"}
    assert call[1]["metadata"]["klbook"] == {"rtol": 0.0, "bound": True}
    with pytest.raises(AssertionError, match="not below its bound"):
        glue_bound("residue", 1.1e-15, 1e-15)
    with pytest.raises(AssertionError):
        glue_bound("residue", math.nan, 1e-15)
    for bad in (0.0, -1e-15, math.inf):
        with pytest.raises(ValueError, match="bound"):
            glue_bound("residue", 0.0, bad)


def test_outside_ipython_nothing_is_published(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: calls.append(a))
    assert glue_number("x", 0.5) is None and glue_bound("y", 0.0, 1e-15) is None
    assert calls == [] and capsys.readouterr().out == ""


def test_plain_text_is_the_float_repr():
    # myst-nb renders {glue:text} from the text/plain of IPython's formatter: repr(float).
    bundle, _ = format_display_data(0.1)
    assert bundle["text/plain"] == repr(0.1)


def nbval_fails(fresh, stored):
    """Whether nbval, with the book's conftest.py, fails a cell: a problem reported, or
    outputs that differ after reconciliation (nbval compares data exactly)."""
    outputs, problems = reconcile_glued_numbers(fresh, stored)
    return bool(problems) or [o["data"] for o in outputs] != [o["data"] for o in stored]


def glued(published, name, value, rtol):
    published.clear()
    glue_number(name, value, rtol=rtol)
    return as_output(published[0])


@pytest.mark.parametrize("rtol", [1e-12, 1e-9, 1e-6, 3e-7])
@pytest.mark.parametrize("value", [math.pi, -2.5e-300, 6.02e23, 1 / 3])
def test_a_value_within_its_accuracy_reproduces_and_one_outside_fails(published, rtol, value):
    stored = glued(published, "v", value, rtol)
    for factor in (1 + rtol, 1 - rtol, 1 + 2 * rtol):  # two correct runs, within rtol each
        fresh = glued(published, "v", value * factor, rtol)
        outputs, notes = reconcile_glued_numbers([fresh], [stored])
        assert outputs == [stored] and notes == []
    fresh = glued(published, "v", value * (1 + 4 * rtol), rtol)
    outputs, problems = reconcile_glued_numbers([fresh], [stored])
    assert outputs == [fresh] and outputs != [stored] and "relative difference" in problems[0]


@pytest.mark.parametrize("rtol", [MAX_RTOL, 1e-9, 1e-12])
@pytest.mark.parametrize("value", [1.0, 9.9999, 1.00004, 123456.0, 7.25e-9, -99999.5])
def test_a_change_in_the_fifth_significant_digit_always_fails(published, rtol, value):
    # The smallest change of the fifth significant digit: one unit in it.
    exponent = math.floor(math.log10(abs(value)))
    unit = 10.0 ** (exponent - 4)
    stored = glued(published, "v", value, rtol)
    for changed in (value + unit, value - unit):
        fresh = glued(published, "v", changed, rtol)
        assert nbval_fails([fresh], [stored])


def test_exact_values_bounds_and_changed_accuracies_are_compared_as_stored(published):
    stored = glued(published, "n", 12, 1e-12)
    fresh = glued(published, "n", 13, 1e-12)
    assert reconcile_glued_numbers([fresh], [stored])[0] == [fresh] and nbval_fails([fresh], [stored])
    # integers beyond 2**53 are compared as text, not as floats
    stored = glued(published, "n", 123456789123456789, 1e-12)
    fresh = glued(published, "n", 123456789123456788, 1e-12)
    assert nbval_fails([fresh], [stored])
    stored = glued(published, "x", 0.5, 1e-9)
    fresh = glued(published, "x", 0.5, 1e-12)
    outputs, problems = reconcile_glued_numbers([fresh], [stored])
    assert outputs == [fresh] and "name or accuracy" in problems[0]
    published.clear()
    glue_bound("b", 1e-17, 1e-15)
    glue_bound("b", 1e-17, 1e-14)
    first, second = (as_output(call) for call in published)
    assert reconcile_glued_numbers([second], [first])[0] == [second]
    assert nbval_fails([second], [first])


def test_a_value_moved_to_another_name_fails(published):
    forward = glued(published, "forward", 0.5108256237659907, 1e-12)
    reverse = glued(published, "reverse", 0.36806421286081, 1e-12)
    swapped_forward = copy.deepcopy(forward)
    swapped_reverse = copy.deepcopy(reverse)
    swapped_forward["metadata"]["scrapbook"]["name"] = "reverse"
    swapped_reverse["metadata"]["scrapbook"]["name"] = "forward"
    assert not nbval_fails([forward, reverse], [forward, reverse])
    assert nbval_fails([swapped_forward, swapped_reverse], [forward, reverse])
    assert nbval_fails([reverse], [forward])  # a rename


def test_an_accuracy_beyond_the_cap_in_an_output_is_refused(published):
    stored = glued(published, "x", 1.0, 1e-6)
    fresh = glued(published, "x", 1.2, 1e-6)
    for outputs in (stored, fresh):
        outputs["metadata"]["klbook"]["rtol"] = 0.1  # edited by hand, or by a chapter
    assert nbval_fails([fresh], [stored])


def test_only_the_glued_text_is_reconciled(published):
    stored = glued(published, "x", 0.5, 1e-12)
    fresh = glued(published, "x", 0.5 * (1 + 1e-12), 1e-12)
    fresh["data"]["text/plain"] = "REGRESSED 0.7"
    stored["data"]["text/plain"] = "0.5"
    assert nbval_fails([fresh], [stored])


def test_the_largest_float_is_stored_finite(published):
    import sys

    assert float(glued(published, "big", sys.float_info.max, 1e-9)["data"][TEXT]) == sys.float_info.max


def test_other_outputs_pass_through_untouched():
    stream = {"output_type": "stream", "name": "stdout", "text": "0.1234567890123\n"}
    other = {"output_type": "display_data", "data": {TEXT: "1.0"},
             "metadata": {"scrapbook": {"name": "old"}}}  # glued without an accuracy
    assert reconcile_glued_numbers([stream, other], [stream, other]) == ([stream, other], [])


CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))


def stored_glued_outputs(path):
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            if "scrapbook" in output.get("metadata", {}):
                yield output


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_glued_number_of_the_book_carries_its_accuracy(path):
    outputs = list(stored_glued_outputs(path))
    assert outputs
    for output in outputs:
        name = output["metadata"]["scrapbook"]["name"]
        accuracy = output["metadata"].get("klbook")
        assert accuracy is not None, f"{name} was not glued by glue_number or glue_bound"
        assert 0 <= accuracy["rtol"] <= MAX_RTOL, name


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_fifth_digit_change_of_any_glued_result_of_the_book_fails(path):
    for output in stored_glued_outputs(path):
        value = float(output["data"][TEXT])
        if value == 0 or not math.isfinite(value):
            continue
        unit = 10.0 ** (math.floor(math.log10(abs(value))) - 4)
        for changed in (value + unit, value - unit):
            fresh = copy.deepcopy(output)
            fresh["data"][TEXT] = repr(changed)
            assert nbval_fails([fresh], [output]), output["metadata"]["scrapbook"]["name"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_code_cell_is_stored_run(path):
    # nbval skips a cell stored without an execution count (JupyterLab's "Clear Outputs",
    # or an install cell just written by tools/repository.py): store the executed notebook.
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("execution_count") is not None, cell["source"][:80]
