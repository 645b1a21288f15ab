"""Tests of Liu et al.'s training options and two-stage count sweep (relutopo.papers.liu.models),
the Glorot initialisation and early stopping of relutopo.train, the raw-pixel preprocessing and the
positive-homogeneity test of the untrained ResNet."""

import numpy as np
import pytest
import torch

from relutopo.decompose import decompose
from relutopo.domains import Box
from relutopo.nets import ReluNet
from relutopo.papers.liu.models import (circle_statistics, is_fitted, landscape_statistics,
                                        liu_count_task, liu_train_task, liu_training_data, net_of,
                                        target_variance, train_liu_model, train_tasks,
                                        training_fingerprint)
from relutopo.sweep import run_sweep
from relutopo.train import early_stopping, fit, mlp


def test_glorot_uniform_has_zero_biases_and_keras_limit():
    m = mlp([3, 10, 10, 1], seed=4, init="glorot_uniform")
    lins = [l for l in m if isinstance(l, torch.nn.Linear)]
    for lin in lins:
        fan_out, fan_in = lin.weight.shape
        limit = (6.0 / (fan_in + fan_out)) ** 0.5
        assert float(lin.bias.detach().abs().max()) == 0.0
        w = lin.weight.detach().numpy()
        assert np.abs(w).max() <= limit
        assert np.abs(w).max() > 0.5 * limit          # uniform over the whole interval, not a point
    again = mlp([3, 10, 10, 1], seed=4, init="glorot_uniform")
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), again.state_dict().values()))


def test_mlp_rejects_unknown_init():
    with pytest.raises(ValueError, match="init must be one of"):
        mlp([2, 3, 1], seed=0, init="he")


def test_early_stopping_counts_epochs_without_improvement():
    stop = early_stopping(patience=3, min_delta=0.1)
    losses = [1.0, 0.5, 0.45, 0.44, 0.43]           # 0.45.. improve by less than min_delta
    out = [stop(e, {"test_loss": v}) for e, v in enumerate(losses)]
    assert out == [False, False, False, False, True]
    assert stop.best_epoch == 1 and stop.best_loss == 0.5


def test_early_stopping_errors():
    with pytest.raises(ValueError, match="patience"):
        early_stopping(0)
    with pytest.raises(ValueError, match="min_delta"):
        early_stopping(2, min_delta=-1.0)
    with pytest.raises(ValueError, match="validation set"):
        early_stopping(2)(1, {"train_loss": 1.0})


def test_fit_stops_early_on_a_flat_validation_loss():
    X, y = liu_training_data(11, 200, 0)
    model = mlp([2, 3, 1], seed=0)
    stop = early_stopping(patience=2)
    _, hist = fit(model, X, y, task="regression", epochs=200, seed=0, lr=0.0, batch_size=50,
                  X_test=X, y_test=y, stop=stop)
    assert hist.epochs[-1] == 2                      # lr 0: no epoch improves on epoch 0


def test_target_variance_matches_a_sample():
    for m in (11, 12):
        _, y = liu_training_data(m, 200_000, 1)
        assert abs(y.var() - target_variance(m)) < 0.01 * target_variance(m)


def test_is_fitted_threshold():
    assert is_fitted([0.95, 0.2, 0.9]).tolist() == [True, False, True]
    with pytest.raises(ValueError):
        is_fitted([0.5], threshold=0.0)


def test_train_liu_model_options_and_errors():
    net, info = train_liu_model(11, 3, n_train=300, epochs=4, init="glorot_uniform",
                                val_fraction=0.2, patience=2, lr=1e-3)
    assert isinstance(net, ReluNet) and net.hidden_sizes == (3, 3)
    assert set(info) >= {"mse", "val_mse", "r2", "epochs_run", "best_epoch"}
    assert info["epochs_run"] <= 4
    assert info["r2"] == pytest.approx(1 - info["val_mse"] / target_variance(11))
    with pytest.raises(ValueError, match="val_fraction"):
        train_liu_model(11, 0, n_train=100, epochs=1, patience=2)
    with pytest.raises(ValueError, match="val_fraction"):
        train_liu_model(11, 0, n_train=100, epochs=1, val_fraction=1.5)


def test_untrained_glorot_net_is_bias_free():
    net, _ = train_liu_model(12, 0, n_train=100, epochs=0, init="glorot_uniform", val_fraction=0.2)
    assert all(np.all(b == 0) for b in net.biases)
    # zero biases: every hyperplane of the first layer passes through the origin
    assert decompose(net, None).n_unbounded == decompose(net, None).n_regions


def test_circle_statistics_of_a_hand_made_net():
    # bits: [cos t > 0, sin t > 0] -> four quadrants, a 4-cycle of Hamming distance 1
    net = ReluNet([np.eye(3)[1:], np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    s = circle_statistics(net, 40)
    assert s["distinct"] == 4 and s["h0_merge"] == 1.0
    assert s["long_h1"] == 1 and s["circle_birth"] == 1.0
    with pytest.raises(ValueError, match="R\\^3"):
        circle_statistics(ReluNet([np.eye(2)], [np.zeros(2)]), 10)


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
def test_landscape_statistics_on_a_grid_net():
    # lines x = k/2 and y = k/2, k = -4..4 (spacing 0.5): every bounded cell has volume 0.25
    W = np.vstack([np.tile([[1.0, 0.0]], (9, 1)), np.tile([[0.0, 1.0]], (9, 1))])
    b = -np.tile(np.arange(-4, 5) / 2.0, 2)
    net = ReluNet([W, np.ones((1, 18))], [b, np.zeros(1)])
    s = landscape_statistics(decompose(net, None))
    assert s["n_inside"] + s["n_outside"] == 64
    assert s["median_inside"] == pytest.approx(0.25) and s["median_outside"] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="R\\^m"):
        landscape_statistics(decompose(net, Box(-1.0, 1.0, dim=2)))


def test_two_stage_sweep_is_cached_and_deterministic(tmp_path):
    training = {11: dict(n_train=200, epochs=2, batch_size=50, lr=1e-3, init="glorot_uniform",
                         val_fraction=0.2, patience=2, min_delta=0.0)}
    tasks = train_tasks((11,), 2, 0, training)
    assert tasks[0]["code"] == training_fingerprint() and tasks[0]["seed"] != tasks[1]["seed"]
    first = run_sweep(liu_train_task, tasks, n_jobs=1, cache_dir=tmp_path, progress=False)
    n_files = len(list(tmp_path.rglob("*.pkl")))
    assert n_files == 2
    again = run_sweep(liu_train_task, tasks, n_jobs=1, cache_dir=tmp_path, progress=False)
    assert [r["seconds"] for r in again] == [r["seconds"] for r in first]     # read from the cache
    counts = [dict(model=r["model"], seed=r["seed"], weights=r["weights"], biases=r["biases"])
              for r in first]
    c1 = run_sweep(liu_count_task, counts, n_jobs=1, cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.rglob("*.pkl"))) == 4
    net = net_of(first[0])
    assert c1[0]["box"] == decompose(net, Box(-1.0, 1.0, dim=2)).n_regions
    assert c1[0]["whole"] == c1[0]["bounded"] + c1[0]["unbounded"]


def test_raw_preprocessing_is_positive_and_normalize_is_checked():
    from relutopo.papers.liu.images import preprocess, to_display

    img = (np.arange(16 * 16 * 3) % 256).astype(np.uint8).reshape(16, 16, 3)
    raw = preprocess(img, 16, 16, normalize="raw")
    assert raw.min() >= 0 and raw.max() <= 1
    net = preprocess(img, 16, 16)
    assert net.min() < 0
    assert np.allclose(to_display(raw, "raw"), to_display(net), atol=1e-5)
    with pytest.raises(ValueError, match="normalize"):
        preprocess(img, 16, 16, normalize="zscore")


def test_untrained_resnet_is_positively_homogeneous():
    from relutopo.papers.liu.resnet import ResNet, _init_weights_, is_positively_homogeneous

    model = ResNet((1, 1, 1, 1), num_classes=3)
    _init_weights_(model, 0)
    model.eval()
    assert is_positively_homogeneous(model)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(model(2 * x) - model.fc.bias, 2 * (model(x) - model.fc.bias), atol=1e-4)
        model.bn1.bias.fill_(0.1)
    assert not is_positively_homogeneous(model)
    with pytest.raises(ValueError, match="eval"):
        is_positively_homogeneous(model.train())
