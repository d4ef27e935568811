"""pytest's configuration for the whole repository: deterministic Hypothesis examples, and
how nbval compares glued numbers.

Hypothesis draws its examples at random unless told otherwise, so a property test could
pass on one run and fail on the next, or on a reader's machine: every test here runs the
derandomized examples (the same on every run and every platform; `HYPOTHESIS_PROFILE=explore`
draws fresh ones, for looking for counterexamples).

nbval compares every stored output of a chapter with a fresh run, exactly. Numbers glued
into the prose with klbook.notebook.glue_number carry the accuracy their cell establishes;
before nbval's exact comparison, each one that agrees with its stored value within that
accuracy is replaced by the stored output (klbook.notebook.reconcile_glued_numbers). All
other outputs, and glued numbers that disagree, are compared as they are.
"""

from __future__ import annotations

import importlib.util
import os

try:
    from hypothesis import settings as hypothesis_settings
except ImportError:  # a test dependency; without it there are no property tests
    hypothesis_settings = None

if hypothesis_settings is not None:
    hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
    hypothesis_settings.register_profile("explore", derandomize=False)
    hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

try:
    from nbval.plugin import IPyNbCell
except ImportError:  # nbval is a test dependency; without it there is nothing to adjust
    IPyNbCell = None

if IPyNbCell is not None and not hasattr(IPyNbCell, "_klbook_exact_compare"):
    from klbook.notebook import reconcile_glued_numbers

    IPyNbCell._klbook_exact_compare = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        test, problems = reconcile_glued_numbers(test, ref)
        agree = self._klbook_exact_compare(test, ref, skip_compare)
        if problems:
            # nbval compares data by position and skips metadata, where a glue's name is
            self.comparison_traceback.extend(problems)
            return False
        return agree

    IPyNbCell.compare_outputs = compare_outputs


# The compiled kernels need the optional numba extra (`pip install -e ".[fast]"`); without
# it klbook runs its numpy kernels and the compiled module is not collected for doctests.
collect_ignore = [] if importlib.util.find_spec("numba") else ["klbook/_kl_kernel_compiled.py"]
