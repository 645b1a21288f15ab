"""Tests of the per-checkpoint pipeline (relutopo.papers.tawfeek.dynamics) and its data modules."""

import numpy as np
import pytest

from relutopo.papers.tawfeek.dynamics import (betti_summary, grokking_times, net_from_state, output_maps,
                                    partition_vs_boundary, rise_epoch)
from relutopo.complex import cell_complex
from relutopo.papers.tawfeek.grokking import boundary_function, grokking_data
from relutopo.papers.tawfeek.surfaces import surface, surface_regression_data
from relutopo.decompose import decompose
from relutopo.domains import Box
from relutopo.nets import ReluNet


def _net(seed=0, sizes=(2, 6, 5, 1)):
    rng = np.random.default_rng(seed)
    return ReluNet.from_weights([rng.normal(size=(sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)],
                                [0.5 * rng.normal(size=sizes[i + 1]) for i in range(len(sizes) - 1)])


def test_output_maps_reproduce_the_network():
    net = _net(1)
    dec = decompose(net, Box(-1, 1, dim=2))
    a, b = output_maps(dec)
    X = np.random.default_rng(0).uniform(-1, 1, (300, 2))
    r = dec.locate(X)
    ok = r >= 0
    np.testing.assert_allclose((a[r[ok]] * X[ok]).sum(1) + b[r[ok]], net.forward(X[ok])[:, 0], atol=1e-10)


def test_partition_of_a_linear_classifier_matches_its_boundary():
    # hyperplanes x1 = -0.5, 0, 0.5 cut the box into 4 strips: the dual graph is the path P4,
    # whose Fiedler vector cos(pi (k + 1/2) / 4) changes sign between strips 1 and 2, i.e. at
    # x1 = 0. The output relu(x1 + 0.5) - 0.5 has its decision boundary exactly there.
    net = ReluNet.from_weights([np.array([[1.0, 0.0]] * 3), np.array([[1.0, 0.0, 0.0]])],
                               [np.array([0.5, 0.0, -0.5]), np.array([-0.5])])
    X = np.random.default_rng(0).uniform(-1, 1, (50, 2))
    res = partition_vs_boundary(net, [-1, -1], [1, 1], X)
    assert res.n_regions == 4 and all(res.checks.values())
    assert res.positive_fraction == pytest.approx(0.5)
    for w in ("unweighted", "facet"):
        assert res.agreement[w] == pytest.approx(1.0)
        assert res.hausdorff[w] <= 0.011
    assert 0.5 <= res.agreement["data"] <= 1.0


def test_betti_summary_bounds_and_sorted_maxima():
    K = cell_complex(decompose(_net(2), Box(-1, 1, dim=2)))
    s = betti_summary(K, 5, seed=(1, 2))
    assert s.dimension_max[0] == s.f_vector[0] and s.dimension_max[1] == s.f_vector[2]
    assert all(m <= z + 1e-12 for m, z in zip(s.mean_max, s.cycle_ranks))
    assert all(mm <= m + 1e-12 for mm, m in zip(s.max_mean, s.mean_max))  # max of mean <= mean of max
    assert s.mean_curve.shape == (101, 3) and s.mean_curve[0].tolist() == [0, 0, 0]
    assert s.mean_curve[-1].tolist() == [1, 0, 0]


def test_grokking_times_and_rise_epoch_closed_forms():
    e = np.arange(11)
    train = np.r_[0.5, 0.8, np.ones(9)]
    test = np.r_[0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 0.9, 0.95, 0.95, 0.95]
    t = grokking_times(e, train, test)
    assert t["fit_epoch"] == 2 and t["generalise_epoch"] == 8 and t["delay_ratio"] == 4.0
    assert t["gain"] == pytest.approx(0.35) and t["memorised"]
    assert rise_epoch(e, test) == 6.0  # half way from 0.5 to 0.95 is 0.725
    assert np.isnan(rise_epoch(e, test[::-1]))


def test_net_from_state_roundtrip_and_error():
    import torch

    from relutopo.train import mlp

    m = mlp([2, 4, 3, 1], seed=0)
    state = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    net = net_from_state((2, 4, 3, 1), state)
    X = np.random.default_rng(0).normal(size=(5, 2))
    with torch.no_grad():
        ref = m(torch.as_tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(net.forward(X), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="architecture"):
        net_from_state((2, 5, 1), state)


def test_data_generators():
    D = grokking_data(30, 100, seed=3, boundary="circle")
    assert D.X_train.shape == (30, 2) and set(np.unique(D.y_train)) == {0.0, 1.0}
    np.testing.assert_array_equal(D.y_test, (D.g(D.X_test) > 0).astype(float))
    # the disc holds half the box: Monte Carlo fraction close to 1/2
    X = np.random.default_rng(0).uniform(-1, 1, (200000, 2))
    assert (boundary_function(X, "circle") > 0).mean() == pytest.approx(0.5, abs=0.005)
    D2 = grokking_data(30, 100, seed=3, boundary="circle")
    np.testing.assert_array_equal(D.X_train, D2.X_train)
    noisy = grokking_data(2000, 10, seed=1, label_noise=0.2)
    assert 0.15 < np.mean(noisy.y_train != (noisy.g(noisy.X_train) > 0)) < 0.25
    X, y = surface_regression_data(50, seed=0)
    np.testing.assert_allclose(y, (X ** 2).sum(1) - 1)
    with pytest.raises(ValueError, match="boundary"):
        grokking_data(10, 10, seed=0, boundary="square")
    with pytest.raises(ValueError, match="n_train"):
        grokking_data(1, 10, seed=0)
    with pytest.raises(ValueError, match="label_noise"):
        grokking_data(10, 10, seed=0, label_noise=0.7)
    with pytest.raises(ValueError, match="kind"):
        surface(X, "cone")
