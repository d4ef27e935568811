"""Assignment 4: entropy, cross-entropy and KL (chapter 4).

Exact entropies in bits, a checked proof that a common shift of the logits does
not change the softmax cross-entropy (``shift_chain``), and the loss floor of a
smoothed label. Statements, solutions and stubs come from the chapter; the tests
are here, with values derived by hand, with SymPy and with mpmath.
"""

CHAPTER = "chapters/04_cross_entropy.ipynb"
NAME = "kl04_cross_entropy"
TITLE = "Assignment 4: entropy, cross-entropy and KL"
# The chapter's symbols: the sums over i, the labels y, the logits z and their partition sum.
SETUP_NAMES = ["total", "y", "z", "partition"]


# --- ex-ce-bits: H(P), H(P, Q), D(P || Q) exactly, in bits --------------------------------


def test_bits_public_check(H_ex, CE_ex, D_ex):
    from klbook.exercises.cross_entropy import check_bits_decomposition

    check_bits_decomposition(H_ex, CE_ex, D_ex)


def test_bits_are_exact(H_ex, CE_ex, D_ex):
    import sympy as sp

    # By hand, P = (1/2, 1/4, 1/4), Q = (1/4, 1/4, 1/2), log2 of powers of two:
    # H(P) = 1/2*1 + 2*(1/4*2) = 3/2; H(P, Q) = 1/2*2 + 1/4*2 + 1/4*1 = 7/4; D = 1/4.
    for value, exact in [(H_ex, sp.Rational(3, 2)), (CE_ex, sp.Rational(7, 4)),
                         (D_ex, sp.Rational(1, 4))]:
        assert isinstance(value, sp.Basic), "an exact SymPy expression, not a float"
        assert sp.simplify(value - exact) == 0, (value, exact)


def test_bits_decomposition_holds_exactly(H_ex, CE_ex, D_ex):
    import sympy as sp

    assert sp.simplify(sp.sympify(CE_ex) - sp.sympify(H_ex) - sp.sympify(D_ex)) == 0, (
        "H(P, Q) = H(P) + D(P || Q)")


# --- ex-ce-shift: a common shift of the logits leaves the loss unchanged ------------------


def test_shift_public_check(shift_chain):
    from klbook.exercises.cross_entropy import check_shift_chain

    check_shift_chain(shift_chain)


def test_shift_chain_starts_at_the_shifted_loss(shift_chain, total, y, z, i, j, n):
    import sympy as sp
    from klbook.derivation import Derivation

    c = sp.Symbol("c", real=True)
    assert isinstance(shift_chain, Derivation), "a Derivation chain is expected"
    assert shift_chain.relation == "=", "the statement is an equality"
    assert shift_chain.start == sp.log(sp.Sum(sp.exp(z[j] + c), (j, 1, n))) - total(
        y[i] * (z[i] + c)), "the chain should start at the loss with shifted logits"


def test_shift_chain_ends_at_the_loss(shift_chain, total, y, z, i, partition):
    import sympy as sp

    end = sp.log(partition) - total(y[i] * z[i])
    assert shift_chain.result == end or sp.simplify((shift_chain.result - end).doit()) == 0, (
        "the chain should end at log sum_j exp(z_j) - sum_i y_i z_i")


def test_shift_chain_assumes_that_the_labels_sum_to_one(shift_chain, total, y, i):
    import sympy as sp

    assumed = [hypothesis.relation for hypothesis in shift_chain.hypotheses]
    assert sp.Eq(total(y[i]), 1) in assumed, (
        "assume the hypothesis sum_i y_i = 1: given=[assume(sp.Eq(total(y[i]), 1))]")


# --- ex-ce-smoothing: the loss floor of a smoothed label -----------------------------------


def test_smoothing_public_check(smoothing_floor, floor_logits):
    from klbook.exercises.cross_entropy import check_label_smoothing

    check_label_smoothing(smoothing_floor, floor_logits)


def test_smoothing_floor_at_50_digits(smoothing_floor):
    import mpmath

    for k, epsilon in [(5, 0.1), (3, 0.3), (100, 0.05), (7, 0.0), (6, 1.0)]:
        with mpmath.workdps(50):
            eps = mpmath.mpf(epsilon)
            label = [1 - eps + eps / k] + [eps / k] * (k - 1)
            floor = -mpmath.fsum(v * mpmath.log(v) for v in label if v > 0)
        assert abs(float(smoothing_floor(k, epsilon)) - float(floor)) <= 1e-12, (k, epsilon)


def test_floor_logits_predict_the_label(floor_logits):
    import numpy as np

    for k, epsilon, c in [(5, 0.1, 2), (3, 0.3, 0), (8, 0.9, 7)]:
        z = np.asarray(floor_logits(k, epsilon, c), dtype=float)
        assert z.shape == (k,)
        predicted = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        label = np.full(k, epsilon / k)
        label[c] += 1 - epsilon
        assert np.allclose(predicted, label, rtol=1e-10, atol=0), (k, epsilon, c)


def test_smoothing_floor_is_below_every_loss(smoothing_floor):
    import numpy as np

    rng = np.random.default_rng(44)
    k, epsilon, c = 6, 0.2, 1
    label = np.full(k, epsilon / k)
    label[c] += 1 - epsilon
    floor = float(smoothing_floor(k, epsilon))
    logits = rng.normal(scale=3.0, size=(500, k))
    top = logits.max(axis=1, keepdims=True)
    log_partition = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    losses = log_partition - logits @ label
    assert floor > 0 and (losses >= floor - 1e-12).all()


QUESTIONS = {
    "ex-ce-bits": {
        "name": "entropies_in_bits",
        "public": [(1, test_bits_public_check)],
        "hidden": [(2, test_bits_are_exact), (1, test_bits_decomposition_holds_exactly)],
    },
    "ex-ce-shift": {
        "name": "shift_chain",
        "public": [(1, test_shift_public_check)],
        "hidden": [
            (1, test_shift_chain_starts_at_the_shifted_loss),
            (2, test_shift_chain_ends_at_the_loss),
            (1, test_shift_chain_assumes_that_the_labels_sum_to_one),
        ],
    },
    "ex-ce-smoothing": {
        "name": "label_smoothing",
        "public": [(1, test_smoothing_public_check)],
        "hidden": [
            (2, test_smoothing_floor_at_50_digits),
            (1, test_floor_logits_predict_the_label),
            (1, test_smoothing_floor_is_below_every_loss),
        ],
    },
}


# --- Typical mistakes, and the partial credit they earn (tests/test_grading.py) -------------
# A student who writes sp.log(x) (the natural log) where bits are asked for, whose shift chain
# factors out e^c but stops before sum_i y_i = 1 cancels the two c, and who counts the class
# of the smoothed label from 1 instead of 0.
MISTAKES = {
    "ex-ce-bits": (
        "P_ex = [sp.Rational(1, 2), sp.Rational(1, 4), sp.Rational(1, 4)]\n"
        "Q_ex = [sp.Rational(1, 4), sp.Rational(1, 4), sp.Rational(1, 2)]\n"
        "H_ex = -sum(a * sp.log(a) for a in P_ex)\n"
        "CE_ex = -sum(a * sp.log(b) for a, b in zip(P_ex, Q_ex))\n"
        "D_ex = sum(a * sp.log(a / b) for a, b in zip(P_ex, Q_ex))\n"
    ),
    "ex-ce-shift": (
        'c = sp.Symbol("c", real=True)\n'
        "shifted_sum = sp.Sum(sp.exp(z[j] + c), (j, 1, n))\n"
        "shift_chain = (\n"
        "    Derivation(sp.log(shifted_sum) - total(y[i] * (z[i] + c)),\n"
        "               given=[assume(sp.Eq(total(y[i]), 1))])\n"
        "    .equals(c + sp.log(partition) - total(y[i] * z[i]) - c * total(y[i]),\n"
        '            r"factor $e^c$ out of the sum; multiply out")\n'
        ")\n"
    ),
    "ex-ce-smoothing": (
        "def smoothed_label(k, epsilon, c):\n"
        "    return (1 - epsilon) * np.eye(k)[c - 1] + epsilon / k\n"
        "def smoothing_floor(k, epsilon):\n"
        "    return klbook.entropy(smoothed_label(k, epsilon, 0))\n"
        "def floor_logits(k, epsilon, c):\n"
        "    return np.log(smoothed_label(k, epsilon, c))\n"
    ),
}
MISTAKE_SCORES = {
    # In nats: the public check and the exactness test compare with 3/2, 7/4, 1/4 bits and fail;
    # H(P, Q) = H(P) + D(P || Q) holds in any one unit, so the decomposition test passes (1).
    "entropies_in_bits": 1,
    # Stops short at c + log sum_j e^{z_j} - sum_i y_i z_i - c sum_i y_i (a verified step): it
    # starts at the shifted loss (1) and assumes sum_i y_i = 1 (1), but without using it the
    # result differs from the loss by c (1 - sum_i y_i): the end test and the public check fail.
    "shift_chain": 2,
    # Class c - 1 (c = 0 wraps to the last class): the entropy does not see which class is
    # smoothed, so the floor is right at 50 digits (2) and below all 500 losses (1); the
    # logits put the peak on the wrong class, so their test and the public check fail.
    "label_smoothing": 3,
}
