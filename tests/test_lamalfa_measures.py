"""Tests of relutopo.papers.lamalfa.measures (the numbers the La Malfa claims are decided on)."""

from types import SimpleNamespace

import numpy as np
import pytest

from relutopo.papers.lamalfa import measures as M


class FakePool:
    """A PoolCNT stand-in: per network one layer item with the strengths and the metrics."""

    def __init__(self, items):
        self.items = items

    def layer(self, layer):
        return tuple(self.items)

    def per_neuron(self, metric, layer):
        if metric in ("neuron_strength", "neuron_activation"):
            return np.concatenate([getattr(it, metric).mean(axis=0) for it in self.items])
        if metric == "node_strength":
            return np.concatenate([it.node_strength for it in self.items])
        return np.concatenate([getattr(it, metric) for it in self.items])


def item(s_in, s_out, zeta):
    return SimpleNamespace(node_strength_in=s_in, node_strength_out=s_out, node_strength=s_in + s_out,
                           neuron_strength=zeta, neuron_activation=1 / (1 + np.exp(-zeta)))


def test_modes_are_counted_per_network():
    rng = np.random.default_rng(0)
    bimodal = np.concatenate([rng.normal(-3, 0.3, 500), rng.normal(3, 0.3, 500)])
    unimodal = rng.normal(0, 1, 1000)
    z = np.zeros((2, 1000))
    pool = FakePool([item(bimodal, 0 * bimodal, z), item(unimodal, 0 * unimodal, z)])
    np.testing.assert_array_equal(M.modes_per_network(pool, "node_strength_in", 2), [2, 1])
    # pooling would have hidden the unimodal network
    with pytest.raises(ValueError, match="metric"):
        M.modes_per_network(pool, "link_weights", 2)


def test_strength_correlations_separate_s_in_and_s_out():
    rng = np.random.default_rng(1)
    s_in = rng.normal(size=200)
    s_out = rng.normal(size=200)
    zeta = np.tile(3 * s_in, (5, 1)) + rng.normal(scale=0.1, size=(5, 200))  # tracks s_in only
    r = M.strength_correlations(FakePool([item(s_in, s_out, zeta)]), 2)
    assert r["s_in"]["rho"] > 0.9 and r["s_in"]["p"] < 1e-10
    assert abs(r["s_out"]["rho"]) < 0.2 and r["s_out"]["p"] > 0.01
    assert r["s"]["n"] == 200
    const = M.strength_correlations(FakePool([item(s_in, 0 * s_out, zeta)]), 2)
    assert np.isnan(const["s_out"]["rho"])


def test_central_mass_and_the_shuffled_baseline():
    assert M.central_mass(np.ones((28, 28))) == pytest.approx(0.25)
    assert M.central_window((32, 32), 0.5) == (slice(8, 24), slice(8, 24))
    E = np.zeros((28, 28))
    E[0, 0] = 1
    assert M.central_mass(E) == 0.0
    with pytest.raises(ValueError, match="zero"):
        M.central_mass(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="fraction"):
        M.central_window((4, 4), 0)
    X = np.zeros((3, 1, 28, 28))
    X[:, :, 7:21, 7:21] = 1.0  # central ink
    Y, perm = M.shuffle_pixels(X, seed=0)
    assert M.central_mass(X[0, 0]) == 1.0
    assert M.central_mass(Y[0, 0]) < 0.5  # the ink is spread out
    np.testing.assert_array_equal(Y, M.shuffle_pixels(X, seed=0)[0])  # seeded
    np.testing.assert_array_equal(M.unshuffle_map(Y[0, 0], perm), X[0, 0])


def test_kurtosis_measures_can_fail():
    rng = np.random.default_rng(2)
    gauss = M.kurtosis_test(rng.normal(size=5000))
    heavy = M.kurtosis_test(rng.standard_t(3, size=5000))
    assert gauss["p"] > 0.01 and abs(gauss["excess"]) < 0.3
    assert heavy["p"] < 1e-6 and heavy["excess"] > 1
    assert np.isnan(M.kurtosis_test(np.ones(5))["p"])
    pool = FakePool([item(np.zeros(3), np.zeros(3), rng.normal(size=(50, 40))),
                     item(np.zeros(3), np.zeros(3), rng.standard_t(3, size=(50, 40)))])
    k = M.excess_kurtosis_per_network(pool, "neuron_strength", 1)
    assert k.shape == (2,) and k[1] > k[0]


def test_activation_shares():
    v = np.array([0.01, 0.5, 0.95, 0.45])
    assert M.extreme_share(v) == 0.5
    assert M.middle_share(v) == 0.5
    assert M.uniform_distance(np.random.default_rng(0).random(5000)) < 0.03
    assert M.uniform_distance(np.full(100, 0.99)) > 0.9
    with pytest.raises(ValueError):
        M.extreme_share([])
