"""relutopo.papers.wang.table1: targets, the folded input scaling, one training run, the rounds
of runs per (arrangement, range), the selection, and the statistics against scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from relutopo.nets import ReluNet
from relutopo.papers.wang.table1 import (DEAD_EPOCHS, _dead_on, fill_ranges, fold_input_scaling,
                                         paired_change, select_networks, table1_statistics,
                                         train_to_range, welch_change)
from relutopo.papers.wang.sweeps import count_regions, uniform_net


def test_folded_scaling_is_the_same_function_and_has_the_same_regions():
    net = uniform_net([3, 4, 2, 1], seed=5)
    mu, sd = np.array([1.0, -2.0, 0.5]), np.array([2.0, 0.5, 3.0])
    folded = fold_input_scaling(net, mu, sd)
    X = np.random.default_rng(0).normal(size=(200, 3)) * 5
    assert np.allclose(folded.forward(X), net.forward((X - mu) / sd))
    a, b = count_regions(net), count_regions(folded)
    assert (a["n_activation"], a["n_linear"]) == (b["n_activation"], b["n_linear"])
    with pytest.raises(ValueError, match="positive"):
        fold_input_scaling(net, mu, np.array([1.0, 0.0, 1.0]))


def test_a_training_run_keeps_a_trained_network_inside_its_range():
    kw = dict(n_per_spiral=100, n_test=50, max_epochs=40)
    out = train_to_range([5, 5], seed=3, bin_lo=0.6, **kw)
    assert out["status"] in ("reached", "skipped", "dead", "not reached")
    assert out["init_n_linear"] >= 1 and out["init_n_activation"] >= out["init_n_linear"]
    if out["status"] == "reached":
        assert 0.6 <= out["test_acc"] < 0.7 and 1 <= out["epoch"] <= out["last_epoch"]
        assert out["epochs_in_range"] >= 1
        assert 1 <= out["n_linear"] <= out["n_activation"]
    again = train_to_range([5, 5], seed=3, bin_lo=0.6, **kw)
    assert {k: v for k, v in again.items() if k != "seconds"} == \
           {k: v for k, v in out.items() if k != "seconds"}
    with pytest.raises(ValueError, match="lower edge"):
        train_to_range([5, 5], seed=3, bin_lo=1.0)
    with pytest.raises(ValueError, match="patience"):
        train_to_range([5, 5], seed=3, bin_lo=0.6, patience=0)


def test_reached_runs_over_seeds_sit_in_their_range_and_spread_over_it():
    seen, accs = set(), []
    for s in range(6):
        r = train_to_range([8, 2], seed=s, bin_lo=0.7, n_per_spiral=100, n_test=50, max_epochs=60)
        seen.add(r["status"])
        if r["status"] == "reached":
            assert 0.7 <= r["test_acc"] < 0.8
            accs.append(r["test_acc"])
        else:
            assert r["epochs_in_range"] == 0 and r["n_linear"] is None
    assert "reached" in seen


def test_the_network_kept_is_the_one_training_had_at_that_epoch():
    # retrain the same seed for exactly `epoch` epochs without stopping: the same network
    import torch

    from relutopo.papers.wang.spirals import spiral_dataset
    from relutopo.train import fit, mlp

    for seed in range(10):
        r = train_to_range([5, 5], seed=seed, bin_lo=0.7, n_per_spiral=100, n_test=50,
                           max_epochs=60)
        if r["status"] == "reached":
            break
    assert r["status"] == "reached"
    torch.set_num_threads(1)
    d = spiral_dataset(100, 50, seed=0)
    mu, sd = d.X_train.mean(axis=0), d.X_train.std(axis=0)
    model = mlp([7, 5, 5, 1], seed=seed, init="uniform")
    _, hist = fit(model, (d.X_train - mu) / sd, d.y_train, task="binary", epochs=r["epoch"],
                  seed=seed, lr=1e-2, batch_size=64, X_test=(d.X_test - mu) / sd,
                  y_test=d.y_test)
    assert hist.test_acc[-1] == pytest.approx(r["test_acc"])
    c = count_regions(fold_input_scaling(ReluNet.from_torch(model), mu, sd))
    assert (c["n_activation"], c["n_linear"]) == (r["n_activation"], r["n_linear"])


def test_dead_network_detection():
    import torch

    from relutopo.train import mlp

    model = mlp([3, 2, 2, 1], seed=0, init="uniform")
    X = torch.randn(50, 3)
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.fill_(1.0)                          # first layer constant but active
        model[2].weight.fill_(1.0)
        model[2].bias.fill_(0.0)
    assert not _dead_on(model, X)                         # gradients still flow
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.fill_(-1.0)                         # second hidden layer never active
    assert _dead_on(model, X)
    assert DEAD_EPOCHS >= 1


def _fake_run(tasks):
    # deterministic stand-in for train_to_range: a run reaches its range when its seed says so,
    # more often in lower ranges
    out = []
    for t in tasks:
        rate = {0.6: 0.9, 0.7: 0.6, 0.8: 0.3, 0.9: 0.1}[t["bin_lo"]]
        ok = (t["seed"] % 1000) / 1000 < rate
        out.append({"hidden": t["hidden"], "seed": t["seed"], "bin": t["bin_lo"],
                    "status": "reached" if ok else "dead",
                    "n_linear": t["seed"] % 17 + 1 if ok else None})
    return out


def test_fill_ranges_adds_runs_until_each_range_is_full_or_capped():
    from relutopo.sweep import task_seed

    calls = []

    def run(tasks):
        calls.append(len(tasks))
        return _fake_run(tasks)

    seed_of = lambda a, b, i: task_seed(1, "t", list(a), b, i)  # noqa: E731
    archs, bins = [(3, 2), (2, 2, 2)], (0.6, 0.7, 0.8, 0.9)
    runs = fill_ranges(run, archs, bins, 8, seed_of=seed_of, first=5, max_runs=60)
    df = pd.DataFrame(runs)
    assert len(calls) >= 2 and calls[0] == 5 * len(archs) * len(bins)
    for (h, b), g in df.groupby([df["hidden"].map(tuple), "bin"]):
        assert list(g["run"]) == list(range(len(g)))                 # runs in order, no gaps
        assert (g["status"] == "reached").sum() >= 8 or len(g) == 60
        assert len(g) <= 60
    assert df["seed"].is_unique                                       # distinct runs everywhere
    again = fill_ranges(_fake_run, archs, bins, 8, seed_of=seed_of, first=5, max_runs=60)
    assert again == runs                                              # deterministic
    sel = select_networks(df, 8)
    for (a, b), g in sel.groupby(["arrangement", "bin"]):
        full = df[(df["hidden"].map(tuple) == a) & (df["bin"] == b) & (df["status"] == "reached")]
        assert list(g["run"]) == sorted(full["run"])[:8]
    with pytest.raises(ValueError, match="max_runs >= first"):
        fill_ranges(run, archs, bins, 8, seed_of=seed_of, first=5, max_runs=4)


def test_welch_change_is_scipys_welch_interval():
    rng = np.random.default_rng(1)
    trained, random = rng.normal(590, 60, 120), rng.normal(600, 70, 5000)
    c = welch_change(trained, random)
    ci = stats.ttest_ind(trained, random, equal_var=False).confidence_interval(0.95)
    assert np.allclose([c.lo, c.hi], [ci.low, ci.high])
    assert math.isclose(c.change, trained.mean() - random.mean())
    assert (c.n_trained, c.n_random) == (120, 5000)
    assert c.allows(-1) == (ci.low < 0) and c.allows(+1) == (ci.high > 0)
    up = welch_change(trained + 100, random)                       # a clear increase
    assert up.significant and not up.allows(-1) and up.allows(+1)
    assert math.isnan(welch_change([1.0], random).lo)
    with pytest.raises(ValueError, match="sign"):
        c.allows(0)


def test_paired_change_is_scipys_paired_t_interval():
    rng = np.random.default_rng(2)
    a = rng.normal(10, 3, 40)
    b = a - rng.normal(1, 1, 40)
    p = paired_change(a, b)
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert np.allclose(p["interval"], [ci.low, ci.high]) and p["n"] == 40
    with pytest.raises(ValueError, match="pair up"):
        paired_change(a, b[:-1])


def test_table1_statistics():
    t = pd.DataFrame({"arrangement": ["A", "B", "A", "B"], "accuracy": ["60", "60", "70", "70"],
                      "trained": [95.0, 52.0, 110.0, 45.0], "random": [100.0, 50.0, 100.0, 50.0]})
    s = table1_statistics(t, "trained", "random")
    assert s.ranking_kept and math.isclose(s.median_change, np.median([0.05, 0.04, 0.1, 0.1]))
    assert math.isclose(s.median_gap, 0.5)
    t.loc[3, "trained"] = 130.0                                        # B overtakes A at 70 %
    assert not table1_statistics(t, "trained", "random").ranking_kept
