"""Hypothesis strategies shared by the tests of the whole documented range (issue 15):
distributions scaled from the subnormal range to near overflow."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def scaled(p, k: int, factor: float):
    """p * 2**k * factor, the power of two applied in two exact steps (2**k may not exist)."""
    with np.errstate(under="ignore", over="ignore"):
        return p * 2.0 ** (k // 2) * 2.0 ** (k - k // 2) * factor


base_distributions = st.integers(1, 12).flatmap(
    lambda k: hnp.arrays(np.float64, k, elements=st.floats(1e-6, 1.0))).map(lambda w: w / w.sum())
# 2**k, k from the subnormal range to near overflow, times 1 (exact) or a factor in [1, 2)
exponents = st.integers(-1070, 1020)
factors = st.one_of(st.just(1.0), st.floats(1.0, 2.0, exclude_max=True))


def usable(*arrays) -> bool:
    """Whether every array is finite with a positive total (scaling may over- or underflow)."""
    return all(np.isfinite(a).all() and a.sum() > 0 for a in arrays)
