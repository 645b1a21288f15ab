"""Per-network tasks of the Wang sweeps (relutopo.papers.wang.sweeps)."""

import numpy as np
import pytest

from relutopo.papers.wang.sweeps import (
    accuracy_bin, code_fingerprint, count_regions, cross_check, random_network_counts,
    trained_network_counts, uniform_net)
from relutopo.sweep import run_sweep


def test_uniform_net_is_seeded_and_in_range():
    a, b, c = uniform_net([7, 5, 3, 1], 1), uniform_net([7, 5, 3, 1], 1), uniform_net([7, 5, 3, 1], 2)
    assert a.hidden_sizes == (5, 3) and a.input_dim == 7 and a.output_dim == 1
    for wa, wb, wc in zip(a.weights + a.biases, b.weights + b.biases, c.weights + c.biases):
        assert np.array_equal(wa, wb) and not np.array_equal(wa, wc)
        assert np.all(np.abs(wa) <= 1.0)
    w = np.concatenate([x.ravel() for x in uniform_net([7, 200, 1], 0, scale=2.0).weights])
    assert np.all(np.abs(w) <= 2.0) and abs(w.mean()) < 0.1 and abs(w.var() - 4 / 3) < 0.15


def test_accuracy_bins():
    bins = (0.6, 0.7, 0.8, 0.9)
    assert accuracy_bin(0.59, bins) is None
    assert accuracy_bin(0.6, bins) == 0 and accuracy_bin(0.69, bins) == 0
    assert accuracy_bin(70 / 100, bins) == 1 and accuracy_bin(0.8999, bins) == 2
    assert accuracy_bin(0.99, bins) == 3 and accuracy_bin(1.0, bins) is None


def test_both_methods_count_the_same():
    for hidden in [(3, 2), (2, 2, 2)]:
        net = uniform_net([3, *hidden, 1], 5)
        e, w = count_regions(net, "engine"), count_regions(net, "wang")
        assert (e["n_activation"], e["n_linear"], e["constant"]) == \
               (w["n_activation"], w["n_linear"], w["constant"])
    r = cross_check([4, 2], 3, seed=9)
    assert r["same_patterns"] and r["n_linear_engine"] == r["n_linear_wang"]
    with pytest.raises(ValueError, match="method must be"):
        count_regions(net, "fast")


def test_sweep_results_do_not_depend_on_workers(tmp_path):
    tasks = [dict(hidden=[3, 2], input_dim=2, seed=s, method="wang") for s in range(6)]
    one = run_sweep(random_network_counts, tasks, n_jobs=1, progress=False)
    two = run_sweep(random_network_counts, tasks, n_jobs=2, progress=False, cache_dir=tmp_path)
    key = lambda rs: [(r["seed"], r["n_activation"], r["n_linear"]) for r in rs]
    assert key(one) == key(two)
    assert len(code_fingerprint()) == 16


def test_trained_network_counts_picks_first_epoch_per_bin():
    out = trained_network_counts([5, 5], seed=1, epochs=25, n_per_spiral=100, n_test=50,
                                 method="wang")
    bins = [r["bin"] for r in out]
    assert len(bins) == len(set(bins))
    for r in out:
        assert r["bin"] <= r["test_acc"] < r["bin"] + 0.1
        assert 1 <= r["n_linear"] <= r["n_activation"]
    epochs = [r["epoch"] for r in out]
    assert epochs == sorted(epochs)


def test_stopping_when_every_bin_is_reached_counts_the_same_networks():
    kw = dict(epochs=40, n_per_spiral=100, n_test=50, method="wang", bins=(0.5, 0.6))
    early = trained_network_counts([5, 5], seed=3, **kw)
    full = trained_network_counts([5, 5], seed=3, stop_when_binned=False, **kw)
    drop = {"seconds", "last_epoch", "last_test_acc"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in early] == \
           [{k: v for k, v in r.items() if k not in drop} for r in full]
    assert all(r["last_epoch"] == 40 for r in full)
    if len(early) == 2:
        assert all(r["last_epoch"] == max(x["epoch"] for x in early) for r in early)
