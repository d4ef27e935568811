"""Helpers for the book's notebooks: numbers glued into the prose, with their accuracy.

The prose of every chapter takes its numbers from code through myst-nb's ``glue``, and
``pytest --nbval`` compares every stored output with a fresh run. Platforms differ in
the last bits of ``log``, ``exp`` and of BLAS sums, so a number stored to 17 digits on
one machine is not reproduced on another. The rule of this book:

* a number glued with :func:`glue_number` carries the accuracy the cell establishes
  (``rtol``, default 1e-12 for a well-conditioned double-precision computation); it is
  stored with the digits that accuracy justifies, and the test accepts a fresh value
  within ``3 * rtol`` of the stored one (two correct runs may each be ``rtol`` away from
  the exact value, and each is rounded to ``rtol``). ``rtol`` is at most 1e-6, so a
  change in the fifth significant digit always fails;
* a quantity at the level of rounding errors (a cancellation's residue, a gap that is
  zero in exact arithmetic) has no stable digits; it is glued as the bound it was
  checked against, with :func:`glue_bound`;
* everything else a cell prints is compared exactly, so a cell prints only what every
  platform computes identically (counts, exactly rounded values, numbers formatted to
  far fewer digits than their accuracy).
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Sequence
from typing import Any

__all__ = ["glue_number", "glue_bound", "reconcile_glued_numbers", "MAX_RTOL"]

#: The MIME-type prefix under which myst-nb stores a glued value without displaying it.
GLUE_MIME_PREFIX = "application/papermill.record/"
_TEXT = GLUE_MIME_PREFIX + "text/plain"

#: The largest accuracy a glued number may claim: three times it is below 1e-5, so a
#: change in a value's fifth significant digit is always a test failure.
MAX_RTOL = 1e-6


def _stored_text(value: float, rtol: float) -> str:
    """`value` with the significant digits `rtol` justifies, as a float literal."""
    if rtol == 0 or not math.isfinite(value) or value == 0:
        return repr(value)
    digits = math.ceil(-math.log10(rtol)) + 1
    return repr(float(f"{value:.{digits}g}"))


def _publish(name: str, text: str, accuracy: dict[str, Any]) -> None:
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        return
    # myst-nb's glue(name, value, display=False), written out (importing myst_nb pulls in
    # Sphinx, about two seconds per kernel), plus the accuracy nbval compares within.
    display({_TEXT: text}, raw=True,
            metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_MIME_PREFIX},
                      "klbook": accuracy})


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")


def _real(value: Any, argument: str) -> float:
    if isinstance(value, (str, bytes, bool)) or not isinstance(value, (numbers.Real, float)):
        try:
            import sympy

            if isinstance(value, sympy.Basic) and value.is_real:
                return float(value)
        except ImportError:  # pragma: no cover - sympy is a dependency
            pass
        raise TypeError(f"{argument} must be a real number, got {type(value).__name__}")
    return float(value)


def glue_number(name: str, value: Any, *, rtol: float = 1e-12) -> None:
    """Glue a number into the prose, with the relative accuracy `rtol` it is known to.

    Parameters
    ----------
    name : str
        The key used in the text, as in ``{glue:text}`name:.4f```.
    value : real number or integer
        A Python, NumPy or SymPy number. Integers are glued exactly.
    rtol : float, optional
        The relative accuracy the cell establishes for `value`, in [0, 1e-6]: the
        tolerance of the assertion that checks it, or 1e-12 (the default) for a
        well-conditioned double-precision computation. 0 means exact (an exactly
        representable value every platform computes bit for bit). The value is stored
        with ``ceil(-log10(rtol)) + 1`` significant digits, and nbval accepts a fresh
        value within ``3 * rtol`` of the stored one.

    Raises
    ------
    TypeError
        If `name` is not a string or `value` not a real number.
    ValueError
        If `rtol` is not in [0, 1e-6], or `value` is NaN.

    Notes
    -----
    Returns None, so that a call on a cell's last line displays nothing (a trailing
    semicolon does not suppress output under nbval). Outside IPython (a script, a
    doctest) nothing is published or printed. A quantity at the level of rounding
    errors has no digits to glue: use :func:`glue_bound`.

    Examples
    --------
    >>> import math
    >>> glue_number("ln2", math.log(2))  # in a notebook: {glue:text}`ln2:.4f` shows 0.6931
    >>> glue_number("fit", 1.0000012, rtol=1e-6)
    >>> glue_number("fit", 1.0, rtol=0.01)
    Traceback (most recent call last):
    ...
    ValueError: rtol of glued number 'fit' must be in [0, 1e-06], got 0.01; a value known to fewer digits is glued as a bound (glue_bound)
    """
    _check_name(name)
    if isinstance(rtol, bool) or not isinstance(rtol, numbers.Real) or not 0 <= rtol <= MAX_RTOL:
        raise ValueError(f"rtol of glued number {name!r} must be in [0, {MAX_RTOL:g}], got "
                         f"{rtol!r}; a value known to fewer digits is glued as a bound "
                         f"(glue_bound)")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        _publish(name, repr(int(value)), {"rtol": 0.0})
        return
    number = _real(value, "value")
    if math.isnan(number):
        raise ValueError(f"value of glued number {name!r} is NaN")
    _publish(name, _stored_text(number, float(rtol)), {"rtol": float(rtol)})


def glue_bound(name: str, value: Any, bound: float) -> None:
    """Check that ``|value| <= bound`` and glue `bound`: the way to report a rounding error.

    A rounding-level quantity (the residue of a cancellation, 1e-17 where exact
    arithmetic gives 0) changes in its first digit from one platform to another; what a
    cell establishes about it is a bound, and the bound is what the prose states.

    Parameters
    ----------
    name : str
        The key used in the text for the bound.
    value : real number
        The quantity checked.
    bound : float
        A positive number, glued exactly.

    Raises
    ------
    AssertionError
        If ``|value| > bound`` (or `value` is NaN): the claim the prose makes is false.
    TypeError, ValueError
        If `value` is not a real number, or `bound` is not positive and finite.

    Examples
    --------
    >>> glue_bound("residue", -2.2e-17, 1e-15)  # in the text: "below {glue:text}`residue`"
    >>> glue_bound("residue", 3e-15, 1e-15)
    Traceback (most recent call last):
    ...
    AssertionError: |residue| = 3e-15 is not below its bound 1e-15
    """
    _check_name(name)
    limit = _real(bound, "bound")
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"bound of glued number {name!r} must be positive and finite, "
                         f"got {bound!r}")
    number = _real(value, "value")
    if not abs(number) <= limit:
        raise AssertionError(f"|{name}| = {number:.3g} is not below its bound {limit:g}")
    _publish(name, repr(limit), {"rtol": 0.0, "bound": True})


def _glued(output: Any) -> tuple[str, float, float] | None:
    """Name, value and rtol of a number glued by glue_number, else None."""
    metadata = output.get("metadata") or {}
    name = (metadata.get("scrapbook") or {}).get("name")
    accuracy = metadata.get("klbook")
    text = (output.get("data") or {}).get(_TEXT)
    if name is None or not isinstance(accuracy, dict) or not isinstance(text, str):
        return None
    try:
        return name, float(text), float(accuracy["rtol"])
    except (KeyError, TypeError, ValueError):
        return None


def reconcile_glued_numbers(fresh: Sequence[Any], stored: Sequence[Any]) -> tuple[list, list[str]]:
    """Fresh outputs with each glued number that agrees with its stored one replaced by it.

    The comparison rule of ``pytest --nbval`` for glued numbers (the book's conftest.py
    applies it before nbval's exact comparison): a fresh number glued with accuracy
    `rtol` agrees with the stored one of the same name and accuracy when they differ by
    at most ``3 * rtol`` relative to the stored value. Every other output is left as it
    is, so nbval compares it exactly.

    Returns
    -------
    outputs : list
        `fresh`, with agreeing glued outputs replaced by (copies of) the stored ones.
    notes : list of str
        Why glued numbers that did not agree failed, for nbval's report.

    Examples
    --------
    >>> def out(text, rtol):
    ...     return {"output_type": "display_data", "data": {_TEXT: text},
    ...             "metadata": {"scrapbook": {"name": "x"}, "klbook": {"rtol": rtol}}}
    >>> outputs, notes = reconcile_glued_numbers([out("1.0000000000001", 1e-12)],
    ...                                          [out("1.0", 1e-12)])
    >>> outputs[0]["data"][_TEXT], notes
    ('1.0', [])
    >>> outputs, notes = reconcile_glued_numbers([out("1.00001", 1e-6)], [out("1.0", 1e-6)])
    >>> outputs[0]["data"][_TEXT], notes
    ('1.00001', ['glued x: fresh 1.00001, stored 1.0, relative difference 1e-05 > 3 * rtol = 3e-06'])
    """
    stored_by_name = {}
    for output in stored:
        glued = _glued(output)
        if glued is not None:
            stored_by_name[glued[0]] = (glued, output)
    outputs, notes = [], []
    for output in fresh:
        glued = _glued(output)
        if glued is None or glued[0] not in stored_by_name:
            outputs.append(output)
            continue
        (name, fresh_value, rtol) = glued
        (_, stored_value, stored_rtol), stored_output = stored_by_name[name]
        if rtol != stored_rtol:
            notes.append(f"glued {name}: accuracy changed from rtol = {stored_rtol:g} to "
                         f"{rtol:g}; store the outputs again (make outputs)")
            outputs.append(output)
            continue
        difference = abs(fresh_value - stored_value)
        if difference <= 3 * rtol * abs(stored_value):
            replaced = copy.deepcopy(output)
            replaced["data"] = copy.deepcopy(stored_output["data"])
            outputs.append(replaced)
        else:
            relative = difference / abs(stored_value) if stored_value else math.inf
            notes.append(f"glued {name}: fresh {fresh_value!r}, stored {stored_value!r}, "
                         f"relative difference {relative:.2g} > 3 * rtol = {3 * rtol:g}")
            outputs.append(output)
    return outputs, notes
