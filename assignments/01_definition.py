"""Assignment 1: what KL divergence is (chapter 1).

The statements, the solutions and the stubs come from the chapter; this file
holds the tests. Each test is a function whose arguments are names the
student's notebook defines; Otter passes them in. Public tests are the
chapter's public checks (``klbook.exercises``), which explain a mistake; the
hidden tests grade more, with values derived here from SymPy and mpmath.
"""

CHAPTER = "chapters/01_definition.ipynb"
NAME = "kl01_definition"
TITLE = "Assignment 1: what KL divergence is"


# --- ex-def-bits: D((1/4, 3/4) || (1/2, 1/2)) exactly, in bits ------------------------------


def test_coin_bits_public_check(exact_bits):
    from klbook.exercises.definition import check_coin_bits

    check_coin_bits(exact_bits)


def test_coin_bits_is_exact(exact_bits):
    import sympy as sp

    assert isinstance(exact_bits, sp.Basic), (
        "exact_bits should be an exact SymPy expression, not a float")
    p, q = [sp.Rational(1, 4), sp.Rational(3, 4)], [sp.Rational(1, 2), sp.Rational(1, 2)]
    exact = sum(pi * sp.log(pi / qi, 2) for pi, qi in zip(p, q))
    assert sp.simplify(exact_bits - exact) == 0, "exact_bits is not the divergence in bits"


def test_coin_bits_numeric_check(numeric_bits):
    import mpmath

    with mpmath.workdps(50):
        value = (mpmath.mpf(3) / 4) * mpmath.log(3, 2) - 1
    assert abs(float(numeric_bits) - float(value)) < 1e-14, (
        "numeric_bits should be klbook.kl_divergence of the two coins, in bits")


# --- ex-def-units: the factor between bits and hartleys, and a change of base --------------


def test_units_public_check(bits_to_hartleys, change_base):
    from klbook.exercises.definition import check_change_base

    check_change_base(bits_to_hartleys, change_base)


def test_bits_to_hartleys_is_exact(bits_to_hartleys):
    import sympy as sp

    assert isinstance(bits_to_hartleys, sp.Basic), (
        "bits_to_hartleys should be an exact SymPy expression, not a float")
    y = sp.Symbol("y", positive=True)
    # log10(y) = log2(y) * factor for every y > 0.
    factor = sp.simplify(sp.log(y, 10) / sp.log(y, 2))
    assert sp.simplify(bits_to_hartleys - factor) == 0


def test_change_base_values(change_base):
    import mpmath

    for value, b, c in [(0.25, 2, 10), (1.5, 10, 2), (0.7, 2.718281828459045, 2), (3.0, 3, 7)]:
        expected = mpmath.mpf(value) * mpmath.log(b) / mpmath.log(c)
        assert abs(float(change_base(value, b, c)) - float(expected)) <= 1e-14 * float(expected)


def test_change_base_same_base_is_identity(change_base):
    for value, base in [(0.3, 2), (2.5, 10)]:
        assert abs(float(change_base(value, base, base)) - value) <= 1e-15 * value


def test_change_base_round_trip(change_base):
    for value, b, c in [(0.3, 2, 10), (1.7, 10, 2.718281828459045)]:
        back = float(change_base(change_base(value, b, c), c, b))
        assert abs(back - value) <= 1e-14 * value


# --- ex-def-support: kl_uniform(a, b) = D(U[0, a] || U[0, b]) in nats ----------------------


def test_kl_uniform_public_check(kl_uniform):
    from klbook.exercises.definition import check_kl_uniform

    check_kl_uniform(kl_uniform)


def test_kl_uniform_non_integer_lengths(kl_uniform):
    import mpmath

    for a, b in [(0.5, 2.0), (0.3, 0.7), (1e-3, 1e3)]:
        with mpmath.workdps(50):
            expected = float(mpmath.log(mpmath.mpf(b) / mpmath.mpf(a)))
        assert abs(kl_uniform(a, b) - expected) <= 1e-12 * abs(expected), (a, b)


def test_kl_uniform_matches_the_integral(kl_uniform):
    import sympy as sp

    x = sp.symbols("x")
    a, b = sp.Rational(3, 2), sp.Integer(5)
    density_p, density_q = 1 / a, 1 / b  # both positive on [0, a], since a <= b
    integral = sp.integrate(density_p * sp.log(density_p / density_q), (x, 0, a))
    assert abs(kl_uniform(1.5, 5.0) - float(integral)) < 1e-12


def test_kl_uniform_equal_lengths_give_zero(kl_uniform):
    for a in (0.1, 1.0, 7.5):
        assert float(kl_uniform(a, a)) == 0, a


def test_kl_uniform_infinite_outside_the_support(kl_uniform):
    import math

    for a, b in [(2.0, 1.0), (1.0 + 1e-9, 1.0), (10.0, 0.5)]:
        assert kl_uniform(a, b) == math.inf, (a, b)


def test_kl_uniform_is_scale_free(kl_uniform):
    import math

    for a, b in [(1.0, 3.0), (4.0, 2.0)]:
        for scale in (0.5, 8.0):
            one, other = float(kl_uniform(a, b)), float(kl_uniform(scale * a, scale * b))
            assert one == other or math.isclose(one, other, rel_tol=1e-12), (a, b, scale)


QUESTIONS = {
    "ex-def-bits": {
        "name": "coin_bits",
        "public": [(1, test_coin_bits_public_check)],
        "hidden": [(2, test_coin_bits_is_exact), (1, test_coin_bits_numeric_check)],
    },
    "ex-def-units": {
        "name": "units",
        "public": [(1, test_units_public_check)],
        "hidden": [
            (2, test_bits_to_hartleys_is_exact),
            (2, test_change_base_values),
            (1, test_change_base_same_base_is_identity),
            (1, test_change_base_round_trip),
        ],
    },
    "ex-def-support": {
        "name": "kl_uniform",
        "public": [(1, test_kl_uniform_public_check)],
        "hidden": [
            (2, test_kl_uniform_non_integer_lengths),
            (2, test_kl_uniform_matches_the_integral),
            (1, test_kl_uniform_equal_lengths_give_zero),
            (1, test_kl_uniform_infinite_outside_the_support),
            (1, test_kl_uniform_is_scale_free),
        ],
    },
}


# --- Typical mistakes, and the partial credit they earn (tests/test_grading.py) -------------
# A student who computes the divergence in hartleys (log10, the pitfall chapter 1 warns of)
# but checks it correctly with klbook, who inverts the factor between two bases, and who
# swaps the two uniform distributions.
MISTAKES = {
    "ex-def-bits": (
        "exact_bits = sp.Rational(1, 4) * sp.log(sp.Rational(1, 2), 10)"
        " + sp.Rational(3, 4) * sp.log(sp.Rational(3, 2), 10)\n"
        "numeric_bits = klbook.kl_divergence([0.25, 0.75], [0.5, 0.5], base=2)\n"
    ),
    "ex-def-units": (
        "bits_to_hartleys = sp.log(10) / sp.log(2)\n"
        "def change_base(divergence, b, c):\n"
        "    return divergence * np.log(c) / np.log(b)\n"
    ),
    "ex-def-support": (
        "def kl_uniform(a, b):\n"
        "    return np.log(a / b) if b <= a else np.inf\n"
    ),
}
MISTAKE_SCORES = {
    # Only the klbook value in bits passes (numeric check, 1); the public check and the
    # exactness test compare with the value in bits.
    "coin_bits": 1,
    # Inverted: a base to itself and the round trip hold whatever the factor (1 + 1).
    "units": 2,
    # Swapped: equal lengths give 0 and scaling both lengths changes nothing (1 + 1); every
    # value and the infinite case fail.
    "kl_uniform": 2,
}
