"""Helpers for the book's notebooks."""

from __future__ import annotations

__all__ = ["glue_number"]

#: The MIME-type prefix under which myst-nb stores a glued value without displaying it.
GLUE_MIME_PREFIX = "application/papermill.record/"


def glue_number(name: str, value: float, *, digits: int = 12) -> None:
    """Glue a number into the prose, rounded to `digits` significant digits.

    The prose of every chapter takes its numbers from code through myst-nb's
    ``glue``. Rounding to 12 significant digits keeps the stored output (which
    ``pytest --nbval`` compares in strict mode) independent of the last bit of
    a platform's vectorised ``log``, while the prose formats far fewer digits.

    Parameters
    ----------
    name : str
        The key used in the text, as in ``{glue:text}`name:.4f```.
    value : float
        A real number (Python, NumPy or SymPy).
    digits : int, optional
        Significant digits kept.

    Notes
    -----
    Returns None, so that a call on a cell's last line displays nothing (a
    trailing semicolon does not suppress output under nbval). Outside IPython
    (a script, a doctest) there is no notebook to store the value in, and
    nothing is published or printed.

    Examples
    --------
    >>> import math
    >>> glue_number("ln2", math.log(2))  # in a notebook: {glue:text}`ln2:.4f` shows 0.6931
    """
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        return

    # myst-nb's glue(name, value, display=False), written out: importing myst_nb pulls in
    # Sphinx and costs about two seconds per kernel. tests/test_notebook.py checks that
    # the two publish the same output.
    rounded = float(f"{float(value):.{digits}g}")
    display({GLUE_MIME_PREFIX + "text/plain": repr(rounded)}, raw=True,
            metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_MIME_PREFIX}})
