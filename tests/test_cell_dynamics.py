"""Tests of the per-checkpoint pipeline (relutopo.papers.tawfeek.dynamics) and its data modules."""

import numpy as np
import pytest

from relutopo.papers.tawfeek.dynamics import (WEIGHTS, betti_summary, checkpoint_schedule,
                                              code_fingerprint, dense_grid, grokking_times,
                                              loss_spikes, net_from_state, output_maps,
                                              partial_spearman, partition_vs_boundary,
                                              regression_task, rise_epoch, seed_spearman,
                                              spike_windows, training_phase)
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
    Xt = np.random.default_rng(1).uniform(-1, 1, (400, 2))
    res = partition_vs_boundary(net, [-1, -1], [1, 1], X, X_test=Xt, n_dense=40)
    assert res.n_regions == 4 and all(res.checks.values())
    assert res.positive_fraction == pytest.approx(0.5)
    assert set(res.kappa) == set(WEIGHTS)
    # equal strips: area-like weightings keep the symmetric cut at x1 = 0
    for w in ("unweighted", "facet", "dense"):
        assert res.agreement[w] == pytest.approx(1.0)
        assert res.kappa[w] == pytest.approx(1.0)
        assert res.hausdorff[w] <= 0.011
    for w in ("train", "test"):
        assert 0.5 <= res.agreement[w] <= 1.0
    with pytest.raises(ValueError, match="X_test"):
        partition_vs_boundary(net, [-1, -1], [1, 1], X, weightings=["test"])
    with pytest.raises(ValueError, match="weightings"):
        partition_vs_boundary(net, [-1, -1], [1, 1], X, weightings=["data"])


def test_point_weighting_moves_the_cut():
    # all points in the left strip: W_V loads strip 0, the mass-weighted Fiedler cut moves away
    # from the symmetric cut (the dense weighting does not)
    net = ReluNet.from_weights([np.array([[1.0, 0.0]] * 3), np.array([[1.0, 0.0, 0.0]])],
                               [np.array([0.5, 0.0, -0.5]), np.array([-0.5])])
    X = np.column_stack([np.full(200, -0.9), np.linspace(-0.9, 0.9, 200)])
    res = partition_vs_boundary(net, [-1, -1], [1, 1], X, weightings=["train", "dense"], keep_geometry=True)
    assert res.kappa["dense"] == pytest.approx(1.0)
    assert res.kappa["train"] < 0.9
    assert res.sides["train"].sum() in (1, 3)


def test_dense_grid():
    G = dense_grid([-1, -1], [1, 1], 10)
    assert G.shape == (100, 2) and np.all(np.abs(G) < 1)
    np.testing.assert_allclose(G.mean(0), 0, atol=1e-12)
    assert dense_grid([0, 0, 0], [1, 1, 1], 3).shape == (27, 3)
    with pytest.raises(ValueError):
        dense_grid([0, 0], [1, 1], 0)
    with pytest.raises(ValueError):
        dense_grid([1, 0], [0, 1], 3)


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
    t = grokking_times(e, train, test, min_gap=6)
    assert t["fit_epoch"] == 2 and t["generalise_epoch"] == 8 and t["gap"] == 6
    assert t["test_at_fit"] == pytest.approx(0.6) and t["memorised"] and t["grokked"]
    assert not grokking_times(e, train, test, min_gap=7)["grokked"]
    # never generalises: not grokked, gap -1
    t2 = grokking_times(e, train, np.full(11, 0.9))
    assert t2["generalise_epoch"] == -1 and t2["gap"] == -1 and not t2["grokked"]
    # generalises together with memorisation (no delay): not grokked
    assert not grokking_times(e, train, np.r_[0.5, 0.6, np.full(9, 0.97)])["grokked"]
    with pytest.raises(ValueError):
        grokking_times(e, train, test[:5])
    assert rise_epoch(e, test) == 6.0  # half way from 0.5 to 0.95 is 0.725
    assert np.isnan(rise_epoch(e, test[::-1]))


def test_training_phase_and_schedule():
    assert training_phase([0, 5, 10, 50], 5, 20).tolist() == ["before", "during", "during", "after"]
    assert training_phase([0, 5, 50], 5, -1).tolist() == ["before", "during", "during"]
    assert training_phase([0, 5], -1, -1).tolist() == ["before", "before"]
    ck = checkpoint_schedule(3000, 30)
    assert len(ck) >= 30 and ck[0] == 0 and ck[-1] == 3000 and ck == sorted(set(ck))
    assert checkpoint_schedule(5, 30) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError):
        checkpoint_schedule(0, 5)
    with pytest.raises(ValueError):
        checkpoint_schedule(10, 1)


def test_rank_statistics():
    rho = seed_spearman([[1, 2, 3, 4], [1, 1, 1, 1]], [[2, 1, 4, 3], [1, 2, 3, 4]])
    assert rho[0] == pytest.approx(0.6) and np.isnan(rho[1])
    rng = np.random.default_rng(0)
    z = rng.normal(size=200)
    y = z + 0.1 * rng.normal(size=200)
    x_noise = 3 * z + 0.01 * rng.normal(size=200)        # x is z: nothing beyond z
    assert abs(partial_spearman(x_noise, y, z)) < 0.2
    x_info = z + (y - z) * 5                             # x carries y's residual
    assert partial_spearman(x_info, y, z) > 0.8
    assert np.isnan(partial_spearman([1, 2, 3], [1, 2, 3], [1, 2, 3]))
    with pytest.raises(ValueError):
        partial_spearman([1, 2, 3, 4], [1, 2, 3], [1, 2, 3, 4])


def test_loss_spikes_and_windows():
    loss = [8, 4, 2, 1, 0.9, 5, 3, 0.8, 0.7, 0.6]
    assert loss_spikes(loss) == [(4, 5)]
    assert loss_spikes(loss, factor=10) == []
    assert loss_spikes(np.geomspace(1, 1e-3, 50)) == []  # a falling loss has no spike
    two = [1.0, 0.5, 0.4, 3.0, 0.3, 0.25, 0.2, 0.19, 0.18, 2.0, 0.15]
    assert loss_spikes(two, min_separation=3) == [(2, 3), (8, 9)]
    assert loss_spikes(two, min_separation=20) == [(2, 3)]  # the higher spike is kept
    assert spike_windows([(2, 3)], 4, before=5, after=5) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        loss_spikes(loss, factor=1.0)


def test_spike_regression_checkpoints_cover_the_spikes():
    r = regression_task(seed=1, n_train=100, surface="paraboloid", sizes=[2, 6, 6, 1], lr=0.1,
                        weight_decay=0.0, epochs=60, checkpoint_epochs=[0, 60], n_orders=2,
                        spike_factor=2.0, max_spike_checkpoints=15)
    eps = [e for e, *_ in r["checkpoints"]]
    assert eps[0] == 0 and eps[-1] == 60 and len(eps) <= 17
    for s, t in r["spikes"]:
        if t in eps:
            assert s in eps
    for e, loss, b, checks in r["checkpoints"]:
        assert loss == pytest.approx(r["train_loss"][e]) and all(checks.values())


def test_code_fingerprint_changes_with_the_modules():
    a = code_fingerprint()
    assert a == code_fingerprint() and len(a) == 16
    assert code_fingerprint(("relutopo.spectral",)) != a


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


def test_grokking_task_end_to_end_small():
    from relutopo.papers.tawfeek.dynamics import grokking_task

    r = grokking_task(seed=0, n_train=20, n_test=100, boundary="linear", amplitude=0.5, frequency=1.0,
                      sizes=[2, 4, 4, 1], init="normal", init_scale=2.0, weight_decay=0.2, lr=0.01,
                      epochs=20, checkpoint_epochs=[0, 10, 20], n_dense=10, spacing=0.05,
                      keep_geometry_at=[20])
    assert [e for e, _ in r["checkpoints"]] == [0, 10, 20] and len(r["weight_norm"]) == 3
    assert len(r["test_acc"]) == 21 and r["data"].X_train.shape == (20, 2)
    for e, res in r["checkpoints"]:
        assert set(res.kappa) == set(WEIGHTS) and all(res.checks.values())
        assert (res.complex is not None) == (e == 20)
    with pytest.raises(ValueError, match="init"):
        grokking_task(seed=0, n_train=20, n_test=10, boundary="linear", amplitude=0.5, frequency=1.0,
                      sizes=[2, 4, 1], init="orthogonal", init_scale=1.0, weight_decay=0.0, lr=0.01,
                      epochs=1, checkpoint_epochs=[1])
