"""Helpers for the book's notebooks: numbers glued into the prose, with their accuracy.

The prose of every chapter takes its numbers from code through myst-nb's ``glue``, and
``pytest --nbval`` compares every stored output with a fresh run. Platforms differ in
the last bits of ``log``, ``exp`` and of BLAS sums, so a number stored to 17 digits on
one machine is not reproduced on another. The rule of this book:

* a number glued with :func:`glue_number` carries the accuracy the cell establishes
  (``rtol``, default 1e-12 for a well-conditioned double-precision computation); it is
  stored with the digits that accuracy justifies, and the test accepts a fresh value
  within ``3 * rtol`` of the stored text (two correct runs may each be ``rtol`` away
  from the exact value), so two accepted values differ by less than ``4 * rtol`` with
  the rounding of the text. ``rtol`` is at most 1e-6, so a change of 1e-5 or more,
  any change in the fifth significant digit, always fails. Glued numbers are matched
  by position and must keep their names and accuracies;
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
    # One more digit than the first decimal place rtol reaches: d + 1 for the smallest d
    # with 10**-d <= rtol. Found by parsing decimal literals (correctly rounded everywhere),
    # not by log10, whose last bit varies between platforms (log10(1e-12) may be
    # -11.999999999999998 and ceil would give one digit less).
    places = next(d for d in range(0, 400) if float(f"1e-{d}") <= rtol)
    digits = min(places + 1, 17)
    rounded = float(f"{value:.{digits}g}")
    return repr(rounded) if math.isfinite(rounded) else repr(value)  # near the largest float


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
        with ``d + 1`` significant digits, ``d`` the first decimal place `rtol` reaches
        (``10**-d <= rtol``; at most 17 digits), and nbval accepts a fresh value within
        ``3 * rtol`` of the stored one.

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


def _glued(output: Any) -> tuple[str, str, float] | None:
    """Name, stored text and rtol of an output published by glue_number or glue_bound."""
    metadata = output.get("metadata") or {}
    name = (metadata.get("scrapbook") or {}).get("name")
    accuracy = metadata.get("klbook")
    text = (output.get("data") or {}).get(_TEXT)
    if name is None or not isinstance(accuracy, dict) or not isinstance(text, str):
        return None
    try:
        rtol = float(accuracy["rtol"])
    except (KeyError, TypeError, ValueError):
        rtol = math.nan
    return name, text, rtol


def reconcile_glued_numbers(fresh: Sequence[Any], stored: Sequence[Any]) -> tuple[list, list[str]]:
    """Fresh outputs with each glued number that agrees with its stored one replaced by it.

    The comparison rule of ``pytest --nbval`` for glued numbers (the book's conftest.py
    applies it before nbval's exact comparison, and fails the cell if any problem is
    returned). The glued outputs of a cell are matched in order: fresh and stored must
    glue the same names with the same accuracies, in the same order (a value moved to
    another name is a different result). The k-th fresh number, glued with accuracy
    `rtol`, agrees with the k-th stored one when they differ by at most ``3 * rtol``
    relative to the stored value; with the rounding of the stored text, two values that
    agree differ by less than ``4 * rtol``, below 1e-5 for every allowed `rtol`. Exact
    values (``rtol = 0``: integers, bounds), outputs with other data than the glued
    text, and every other output are left as they are, so nbval compares them exactly.

    Returns
    -------
    outputs : list
        `fresh`, with agreeing glued texts replaced by (copies of) the stored ones.
    problems : list of str
        Why glued numbers disagree; the cell fails if there is any.

    Examples
    --------
    >>> def out(text, rtol, name="x"):
    ...     return {"output_type": "display_data", "data": {_TEXT: text},
    ...             "metadata": {"scrapbook": {"name": name}, "klbook": {"rtol": rtol}}}
    >>> outputs, problems = reconcile_glued_numbers([out("1.0000000000001", 1e-12)],
    ...                                             [out("1.0", 1e-12)])
    >>> outputs[0]["data"][_TEXT], problems
    ('1.0', [])
    >>> outputs, problems = reconcile_glued_numbers([out("1.00001", 1e-6)], [out("1.0", 1e-6)])
    >>> problems
    ['glued x: fresh 1.00001, stored 1.0, relative difference 1e-05 > 3 * rtol = 3e-06']
    >>> swapped = reconcile_glued_numbers([out("1.0", 1e-12, "b"), out("2.0", 1e-12, "a")],
    ...                                   [out("1.0", 1e-12, "a"), out("2.0", 1e-12, "b")])
    >>> swapped[1]
    ["glued numbers differ from the stored ones in name or accuracy: fresh [('b', 1e-12), ('a', 1e-12)], stored [('a', 1e-12), ('b', 1e-12)]"]
    """
    fresh_glued = [(i, g) for i, g in enumerate(map(_glued, fresh)) if g is not None]
    stored_glued = [g for g in map(_glued, stored) if g is not None]
    fresh_keys = [(name, rtol) for _, (name, _, rtol) in fresh_glued]
    stored_keys = [(name, rtol) for name, _, rtol in stored_glued]
    outputs = list(fresh)
    if fresh_keys != stored_keys:
        return outputs, ["glued numbers differ from the stored ones in name or accuracy: "
                         f"fresh {fresh_keys}, stored {stored_keys}"]
    problems = []
    for (index, (name, fresh_text, rtol)), (_, stored_text, _) in zip(fresh_glued, stored_glued):
        if fresh_text == stored_text or rtol == 0:
            continue  # equal, or exact: nbval compares the texts
        if not 0 < rtol <= MAX_RTOL:
            problems.append(f"glued {name}: accuracy rtol = {rtol!r} is outside "
                            f"[0, {MAX_RTOL:g}]")
            continue
        if set(fresh[index].get("data", {})) != {_TEXT}:
            continue  # not as glue_number publishes it: compared exactly
        try:
            fresh_value, stored_value = float(fresh_text), float(stored_text)
        except ValueError:
            continue
        difference = abs(fresh_value - stored_value)
        if difference <= 3 * rtol * abs(stored_value):
            replaced = copy.deepcopy(fresh[index])
            replaced["data"][_TEXT] = stored_text
            outputs[index] = replaced
        else:
            relative = difference / abs(stored_value) if stored_value else math.inf
            problems.append(f"glued {name}: fresh {fresh_value!r}, stored {stored_value!r}, "
                            f"relative difference {relative:.2g} > 3 * rtol = {3 * rtol:g}")
    return outputs, problems
