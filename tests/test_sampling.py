"""Tests of klbook.sampling: the pairs are distributions of the kinds promised."""

from __future__ import annotations

import numpy as np
import pytest

from klbook.sampling import PAIR_KINDS, random_distribution_pairs


@pytest.mark.parametrize("kind", PAIR_KINDS)
@pytest.mark.parametrize("concentration", [0.05, 1.0, 50.0])
@pytest.mark.parametrize("size", [1, 2, 7])
def test_rows_are_distributions(kind, concentration, size):
    p, q = random_distribution_pairs(np.random.default_rng(1), 50, size,
                                     concentration=concentration, kind=kind)
    for a in (p, q):
        assert a.shape == (50, size)
        assert (a >= 0).all()
        assert np.allclose(a.sum(axis=1), 1, atol=1e-12)


def test_near_pairs_differ_by_at_most_the_closeness():
    p, q = random_distribution_pairs(np.random.default_rng(2), 100, 5, kind="near",
                                     closeness=1e-7)
    assert 0 < np.abs(p - q).max() <= 1e-7
    assert ((q > 0) | (p == 0)).all()  # Q covers the support of P


def test_sparse_pairs_zero_the_requested_fraction_but_never_all():
    p, q = random_distribution_pairs(np.random.default_rng(3), 200, 10, kind="sparse",
                                     zero_fraction=0.7, concentration=0.05)
    zeros = (p == 0).sum(axis=1)
    assert (zeros >= 7).all() and (zeros <= 9).all()
    p, _ = random_distribution_pairs(np.random.default_rng(3), 20, 3, kind="sparse",
                                     zero_fraction=0.99)
    assert ((p > 0).sum(axis=1) >= 1).all()


def test_same_seed_same_pairs_and_different_seed_different_pairs():
    a = random_distribution_pairs(np.random.default_rng(4), 3, 4)
    b = random_distribution_pairs(np.random.default_rng(4), 3, 4)
    c = random_distribution_pairs(np.random.default_rng(5), 3, 4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_small_concentration_is_spikier_than_large():
    def largest(concentration):
        p, _ = random_distribution_pairs(np.random.default_rng(6), 500, 10,
                                         concentration=concentration)
        return p.max(axis=1).mean()
    assert largest(0.05) > 0.6 and largest(50.0) < 0.2  # uniform rows have max 0.1


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(rng=0), TypeError, "rng"),
    (dict(n_pairs=0), ValueError, "n_pairs"),
    (dict(size=2.5), TypeError, "size"),
    (dict(concentration=0.0), ValueError, "concentration"),
    (dict(kind="close"), ValueError, "kind"),
    (dict(closeness=0.0), ValueError, "closeness"),
    (dict(zero_fraction=1.0), ValueError, "zero_fraction"),
])
def test_bad_arguments(kwargs, error, message):
    arguments = dict(rng=np.random.default_rng(0), n_pairs=2, size=3) | kwargs
    with pytest.raises(error, match=message):
        random_distribution_pairs(**arguments)


@pytest.mark.parametrize("kind", PAIR_KINDS)
@pytest.mark.parametrize("concentration", [5e-324, 1e-300, 1e300, 1e308, 1.7e308])
def test_extreme_concentrations_still_give_distributions(kind, concentration):
    # numpy's Dirichlet sampler returns rows of zeros, silently, once the sum of its gamma
    # draws overflows (a concentration of 1e308 and 5 outcomes)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, q = random_distribution_pairs(np.random.default_rng(7), 30, 5,
                                         concentration=concentration, kind=kind)
    for a in (p, q):
        assert np.isfinite(a).all() and (a >= 0).all()
        assert np.allclose(a.sum(axis=1), 1, atol=1e-12)
    if concentration >= 1e300:  # the uniform distribution to rounding
        assert np.allclose(q, 0.2, rtol=1e-15, atol=0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(concentration="1"), "concentration must be a real number"),
    (dict(closeness="0.5"), "closeness must be a real number"),
    (dict(zero_fraction=None), "zero_fraction must be a real number"),
    (dict(concentration=True), "concentration must be a real number"),
])
def test_parameters_that_are_not_numbers_are_type_errors_naming_them(kwargs, message):
    arguments = dict(rng=np.random.default_rng(0), n_pairs=2, size=3) | kwargs
    with pytest.raises(TypeError, match=message):
        random_distribution_pairs(**arguments)


@pytest.mark.parametrize("kwargs", [dict(concentration=np.nan), dict(closeness=np.nan),
                                    dict(zero_fraction=np.nan), dict(concentration=np.inf)])
def test_nan_and_infinite_parameters_are_value_errors(kwargs):
    arguments = dict(rng=np.random.default_rng(0), n_pairs=2, size=3) | kwargs
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        random_distribution_pairs(**arguments)
