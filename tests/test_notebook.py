"""Tests of klbook.notebook: glue_number publishes what myst-nb's glue would."""

import math

import pytest
from IPython.core.formatters import format_display_data

import klbook.notebook
from klbook.notebook import glue_number


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


@pytest.mark.parametrize("value", [math.log(2), 0.0, -3.5e-300, 12345678901234.5, math.inf])
def test_glue_number_publishes_what_myst_nb_glue_publishes(published, value):
    from myst_nb import glue

    rounded = float(f"{value:.12g}")
    glue("key", rounded, display=False)
    glue_number("key", value)
    assert len(published) == 2 and published[0] == published[1]


def test_glue_number_rounds_to_the_digits_asked(published):
    glue_number("third", 1 / 3, digits=4)
    [((bundle,), kwargs)] = published
    assert bundle == {klbook.notebook.GLUE_MIME_PREFIX + "text/plain": "0.3333"}
    assert kwargs["metadata"]["scrapbook"]["name"] == "third"


def test_glue_number_takes_numpy_and_sympy_numbers(published):
    import numpy as np
    import sympy as sp

    glue_number("a", np.float32(0.5))
    glue_number("b", sp.Rational(1, 4))
    assert [objs[0] for objs, _ in published] == [
        {klbook.notebook.GLUE_MIME_PREFIX + "text/plain": "0.5"},
        {klbook.notebook.GLUE_MIME_PREFIX + "text/plain": "0.25"}]


def test_glue_number_outside_ipython_publishes_nothing(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: calls.append(a))
    assert glue_number("x", 0.5) is None
    assert calls == [] and capsys.readouterr().out == ""


def test_plain_text_is_the_float_repr():
    # myst-nb renders {glue:text} from the text/plain of IPython's formatter: repr(float).
    bundle, _ = format_display_data(0.1)
    assert bundle["text/plain"] == repr(0.1)
