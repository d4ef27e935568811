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
