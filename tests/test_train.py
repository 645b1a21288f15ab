"""Tests of the seeded training loop (relutopo.train)."""

import numpy as np
import pytest
import torch

from relutopo import ReluNet
from relutopo.train import fit, mlp


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    return X, (X ** 2).sum(1) - 2 / 3


def test_mlp_shapes_and_readable_by_relunet():
    m = mlp([3, 5, 4, 2], seed=1)
    net = ReluNet.from_torch(m)
    assert net.hidden_sizes == (5, 4) and net.input_dim == 3 and net.output_dim == 2
    X = np.random.default_rng(0).normal(size=(7, 3))
    with torch.no_grad():
        ref = m(torch.as_tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(net.forward(X), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("init", ["torch", "uniform", "normal"])
def test_same_seed_same_weights_different_seed_different(init):
    a, b, c = mlp([2, 4, 1], seed=3, init=init), mlp([2, 4, 1], seed=3, init=init), mlp([2, 4, 1], seed=4, init=init)
    for (ka, va), (_, vb), (_, vc) in zip(a.state_dict().items(), b.state_dict().items(), c.state_dict().items()):
        assert torch.equal(va, vb), ka
        assert not torch.equal(va, vc), ka


def test_uniform_init_range():
    m = mlp([7, 50, 1], seed=0, init="uniform", scale=1.0)
    w = m[0].weight.detach().numpy()
    assert w.min() >= -1 and w.max() <= 1 and w.min() < -0.9 and w.max() > 0.9


def test_fit_is_deterministic_and_learns():
    X, y = _data()
    runs = []
    for _ in range(2):
        m, h = fit(mlp([2, 16, 16, 1], seed=0), X, y, task="regression", epochs=60, seed=5,
                   lr=0.01, batch_size=32, checkpoint_epochs=[0, 60])
        runs.append((m, h))
    (m1, h1), (m2, h2) = runs
    assert h1.train_loss == h2.train_loss
    assert h1.train_loss[-1] < 0.25 * h1.train_loss[0]
    assert set(h1.checkpoints) == {0, 60}
    # the final checkpoint is the returned model
    for k, v in m1.state_dict().items():
        np.testing.assert_array_equal(h1.checkpoints[60][k], v.numpy())


def test_fit_binary_accuracy_and_test_curve():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    _, h = fit(mlp([2, 8, 1], seed=0), X[:200], y[:200], task="binary", epochs=100, seed=0, lr=0.05,
               X_test=X[200:], y_test=y[200:])
    assert len(h.test_acc) == len(h.train_acc) == 101
    assert h.test_acc[-1] > 0.9


@pytest.mark.parametrize("kwargs, match", [
    (dict(task="ranking"), "task must be"),
    (dict(task="regression", optimizer="lbfgs"), "optimizer must be"),
    (dict(task="regression", epochs=-1), "epochs must be"),
])
def test_fit_bad_arguments(kwargs, match):
    X, y = _data(20)
    kw = dict(epochs=1, seed=0)
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fit(mlp([2, 3, 1], seed=0), X, y, **kw)


def test_mlp_bad_sizes():
    with pytest.raises(ValueError, match="sizes"):
        mlp([2], seed=0)
    with pytest.raises(ValueError, match="init"):
        mlp([2, 1], seed=0, init="xavier")


def _binary_data(seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 2))
    return X, (X[:, 0] - X[:, 1] > 0.2).astype(float)


def test_stop_ends_training_without_changing_the_epochs_before():
    X, y = _binary_data()
    kw = dict(task="binary", epochs=30, seed=2, lr=0.02, batch_size=32, X_test=X[200:],
              y_test=y[200:], checkpoint_epochs=range(31))
    _, full = fit(mlp([2, 6, 1], seed=0), X[:200], y[:200], **kw)
    calls = []

    def stop(epoch, record):
        calls.append((epoch, dict(record)))
        return epoch == 7

    m, part = fit(mlp([2, 6, 1], seed=0), X[:200], y[:200], stop=stop, **kw)
    assert part.epochs == tuple(range(8)) and [e for e, _ in calls] == list(range(8))
    for name in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert getattr(part, name) == getattr(full, name)[:8]
        assert [r[name] for _, r in calls] == list(getattr(full, name)[:8])
    assert set(part.checkpoints) == set(range(8))
    for e in range(8):
        for k, v in part.checkpoints[e].items():
            np.testing.assert_array_equal(v, full.checkpoints[e][k])
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), full.checkpoints[7][k])
    # stopping before training; a record without a test set; a stop that never fires
    _, h0 = fit(mlp([2, 6, 1], seed=0), X, y, task="binary", epochs=5, seed=0,
                stop=lambda e, r: set(r) == {"train_loss", "train_acc"})
    assert h0.epochs == (0,)
    _, h5 = fit(mlp([2, 6, 1], seed=0), X, y, task="binary", epochs=5, seed=0, stop=lambda e, r: False)
    assert h5.epochs == tuple(range(6))
    with pytest.raises(ValueError, match="stop must be"):
        fit(mlp([2, 6, 1], seed=0), X, y, task="binary", epochs=1, seed=0, stop=3)


def _weights(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_skipping_the_training_evaluation_changes_no_weight():
    X, y = _data()
    a, ha = fit(mlp([2, 8, 1], seed=0), X, y, task="regression", epochs=4, seed=1, batch_size=32,
                X_test=X[:50], y_test=y[:50])
    b, hb = fit(mlp([2, 8, 1], seed=0), X, y, task="regression", epochs=4, seed=1, batch_size=32,
                X_test=X[:50], y_test=y[:50], eval_train=False)
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_array_equal(wa, wb)
    assert hb.train_loss == () and hb.train_acc == () and hb.test_loss == ha.test_loss
    assert hb.epochs == ha.epochs == (0, 1, 2, 3, 4)


def test_evals_per_epoch_adds_fractional_evaluations_and_keeps_whole_epochs():
    X, y = _data()
    a, ha = fit(mlp([2, 8, 1], seed=0), X, y, task="regression", epochs=3, seed=1, batch_size=50,
                X_test=X[:50], y_test=y[:50])
    b, hb = fit(mlp([2, 8, 1], seed=0), X, y, task="regression", epochs=3, seed=1, batch_size=50,
                X_test=X[:50], y_test=y[:50], evals_per_epoch=2)
    # 4 batches per epoch: evaluated after batches 2 and 4
    assert hb.epochs == (0, 0.5, 1, 1.5, 2, 2.5, 3)
    assert hb.test_loss[::2] == ha.test_loss
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_array_equal(wa, wb)


def test_a_stop_inside_an_epoch_ends_training_there():
    X, y = _data()
    seen = []

    def stop(epoch, record):
        seen.append(epoch)
        return epoch >= 1.25

    _, h = fit(mlp([2, 8, 1], seed=0), X, y, task="regression", epochs=5, seed=1, batch_size=50,
               X_test=X[:50], y_test=y[:50], evals_per_epoch=4, stop=stop, eval_train=False)
    assert h.epochs == (0, 0.25, 0.5, 0.75, 1, 1.25) and seen == list(h.epochs)
    assert len(h.test_loss) == 6 and h.train_loss == ()


@pytest.mark.parametrize("impl", ["foreach", "fused"])
@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_foreach_and_fused_optimisers_agree_with_the_default_to_rounding(impl, optimizer):
    X, y = _data()
    kw = dict(task="regression", epochs=5, seed=1, batch_size=32, lr=1e-2, optimizer=optimizer)
    a, ha = fit(mlp([2, 8, 8, 1], seed=0), X, y, **kw)
    b, hb = fit(mlp([2, 8, 8, 1], seed=0), X, y, optimizer_impl=impl, **kw)
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ha.train_loss, hb.train_loss, rtol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    ({"eval_train": 1}, "eval_train"),
    ({"evals_per_epoch": 0}, "evals_per_epoch"),
    ({"evals_per_epoch": 1.5}, "evals_per_epoch"),
    ({"optimizer_impl": "fast"}, "optimizer_impl"),
])
def test_fit_bad_speed_options(kwargs, match):
    X, y = _data(20)
    with pytest.raises(ValueError, match=match):
        fit(mlp([2, 3, 1], seed=0), X, y, task="regression", epochs=1, seed=0, **kwargs)
