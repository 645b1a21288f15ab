"""Wang's Table 1 (IJCAI 2022, §4.2): linear regions of networks trained on two spirals, per
test-accuracy range, against the random networks of §4.1.

The paper counts "30 networks in each accuracy range from 60%-69% to 90%-99%" of networks
"during the training process", and compares their means with the random networks' mean. It does
not say how the networks were trained or picked. Our protocol:

* **one network per training run, the run's range fixed before it trains.** Run ``i`` of a
  (arrangement, range) cell has its own seed; it is assigned to that range only, so the networks
  of different ranges (and of one range) come from distinct runs and are independent;
* **a network drawn from the run's passage through the range**: the run trains until its test
  accuracy rises above the range (or stops improving); among the networks after the epochs
  (>= 1) whose test accuracy lay inside the range, one is drawn with the run's seed, uniformly
  over those epochs. A run that jumps over the range in one epoch gives none ("skipped").
  Networks are thus spread over the range as training spends time in it, rather than sitting on
  its lower edge;
* **training** (:func:`train_to_range`): U(-1, 1) initial weights and biases (the networks of
  §4.1) on standardised features, Adam, logistic loss; a run with a hidden layer that has been
  zero on all training points for :data:`DEAD_EPOCHS` epochs is abandoned ("dead": its output
  is constant on the data and no gradient reaches the layers before it);
* **as many runs as needed** (:func:`fill_ranges`): runs are added, in rounds, to each cell with
  fewer than ``n_per_bin`` networks, until it has them or has used ``max_runs`` runs; the first
  ``n_per_bin`` networks of each cell (in run order) are kept (:func:`select_networks`). Every
  decision depends only on earlier results, so the outcome is deterministic and a rerun reads
  every run back from the sweep cache.

Statistics: :func:`welch_change` (the change of the mean against the random networks, with a
Welch interval: "a slight decrease" is not ruled out when the interval reaches below 0),
:func:`paired_change` (each trained network against its own initial network) and
:func:`table1_statistics` (training changes little compared with the gaps between
arrangements).

Examples
--------
>>> c = welch_change([600.0, 610, 590, 605], [620.0, 640, 600, 630, 610])
>>> round(c.change, 2), c.allows(-1), c.allows(+1), c.significant     # within noise
(-18.75, True, True, False)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from relutopo.nets import ReluNet

__all__ = ["DEAD_EPOCHS", "TRAINING", "fold_input_scaling", "train_to_range", "range_tasks", "fill_ranges",
           "select_networks", "Change", "welch_change", "paired_change", "Table1Statistics",
           "table1_statistics", "our_setup"]

#: A run with a hidden layer that has been zero on every training point for this many
#: consecutive epochs is abandoned (with Adam, a few epochs let the momentum die out first).
DEAD_EPOCHS: int = 5
#: Accuracies are compared after rounding to this many decimals (70/100 must equal 0.7).
_ACC_DECIMALS: int = 9
#: Our training settings (the paper gives none; see PAPER_SETUP). ``patience``: a run whose best
#: test accuracy has not improved for this many epochs stops ("not reached").
TRAINING = {"lr": 1e-2, "batch_size": 64, "max_epochs": 300, "patience": 30, "optimizer": "adam",
            "standardize": True}


def _range(lo: float) -> tuple:
    lo = float(lo)
    if not 0.0 <= lo < 1.0:
        raise ValueError(f"an accuracy range's lower edge must lie in [0, 1); got {lo!r}")
    return round(lo, _ACC_DECIMALS), round(lo + 0.1, _ACC_DECIMALS)


def fold_input_scaling(net: ReluNet, mean, scale) -> ReluNet:
    """The network ``x -> net((x - mean) / scale)`` as a :class:`ReluNet` on raw inputs ``x``.

    An invertible affine change of the input coordinates maps regions onto regions, so the
    numbers of activation and linear regions over ``R^M`` are those of ``net``.

    Examples
    --------
    Standardising the inputs does not change the regions: the folded network on raw inputs gives
    the same outputs as the original on standardised ones.

    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> raw = fold_input_scaling(net, mean=np.array([1.0, 2.0]), scale=np.array([2.0, 4.0]))
    >>> x = np.array([[3.0, 10.0]])
    >>> bool(np.allclose(raw.forward(x), net.forward((x - [1.0, 2.0]) / [2.0, 4.0])))
    True
    """
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    if mean.shape != (net.input_dim,) or scale.shape != (net.input_dim,):
        raise ValueError(f"mean and scale must have one entry per input ({net.input_dim}); got "
                         f"shapes {mean.shape} and {scale.shape}")
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise ValueError(f"scale must be positive and finite; got {scale}")
    W, b = net.weights[0], net.biases[0]
    W1 = W / scale[None, :]
    b1 = b - W1 @ mean
    return ReluNet.from_weights([W1, *net.weights[1:]], [b1, *net.biases[1:]])


def _dead_on(model, X) -> bool:
    """Is some hidden layer of ``model`` zero on every row of ``X``? Then the output is constant
    on ``X`` and no gradient reaches the layers before it."""
    import torch

    with torch.no_grad():
        h = X
        for m in model:
            h = m(h)
            if isinstance(m, torch.nn.ReLU) and not bool(torch.any(h != 0)):
                return True
    return False


def train_to_range(hidden: Sequence[int], seed: int, bin_lo: float, *, data_seed: int = 0,
                   max_epochs: int = 300, patience: int = 30, lr: float = 1e-2,
                   batch_size: int = 64, standardize: bool = True, n_per_spiral: int = 500,
                   n_test: int = 100, method: str = "engine", code: str = "") -> dict:
    """One training run of Table 1: train ``7 -> hidden -> 1`` on the two spirals through the
    accuracy range ``[bin_lo, bin_lo + 0.1)``, draw one network of that passage, and count its
    regions and those of the initial network.

    The network starts from U(-1, 1) weights and biases (Wang §4.1) -- on the standardised
    features when ``standardize`` (training-set mean and deviation; the scaling is folded into
    the first layer before counting, which changes no count, see :func:`fold_input_scaling`) --
    and is trained with Adam (``lr``, ``batch_size``) on the logistic loss. Training stops when
    the test accuracy reaches the top of the range, when the best test accuracy has not improved
    for ``patience`` epochs, after ``max_epochs``, or when a hidden layer has been zero on all
    training points for :data:`DEAD_EPOCHS` epochs. The network kept is drawn with ``seed``
    uniformly among those after the epochs (>= 1) with test accuracy in the range. ``code``
    only enters the sweep's cache key.

    Returns
    -------
    dict
        ``status``: ``"reached"`` (a network was kept), ``"skipped"`` (the accuracy jumped over
        the range), ``"dead"`` or ``"not reached"`` (patience or epochs ran out below the range);
        ``epoch``, ``test_acc`` of the network kept (of the last epoch otherwise),
        ``epochs_in_range``, ``n_activation``, ``n_linear``, ``constant`` of the network kept
        (None unless reached); ``init_n_activation``, ``init_n_linear``, ``init_constant`` of
        the initial network; ``last_epoch``, ``hidden``, ``seed``, ``bin``, ``seconds``.
    """
    import torch

    from relutopo.papers.wang.spirals import spiral_dataset
    from relutopo.papers.wang.sweeps import count_regions
    from relutopo.train import fit, mlp

    t0 = time.perf_counter()
    lo, hi = _range(bin_lo)
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
        raise ValueError(f"patience must be a positive number of epochs; got {patience!r}")
    torch.set_num_threads(1)
    data = spiral_dataset(n_per_spiral, n_test, seed=data_seed)
    X, Xt = data.X_train, data.X_test
    if standardize:
        mu, sd = X.mean(axis=0), X.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        X, Xt = (X - mu) / sd, (Xt - mu) / sd
    else:
        mu, sd = np.zeros(X.shape[1]), np.ones(X.shape[1])
    model = mlp([X.shape[1], *[int(h) for h in hidden], 1], seed=int(seed), init="uniform")
    init = count_regions(fold_input_scaling(ReluNet.from_torch(model), mu, sd), method)
    Xtorch = torch.as_tensor(X, dtype=torch.float32)
    state = {"inside": [], "status": "not reached", "dead_for": 0, "best": -1.0, "since": 0}

    def watch(epoch, record):
        acc = round(float(record["test_acc"]), _ACC_DECIMALS)
        if epoch >= 1 and lo <= acc < hi:        # a trained network inside the range
            state["inside"].append((epoch, acc, ReluNet.from_torch(model)))
        if epoch >= 1 and acc >= hi:             # above the range: the passage is over
            state["status"] = "skipped"
            return True
        state["dead_for"] = state["dead_for"] + 1 if _dead_on(model, Xtorch) else 0
        if state["dead_for"] >= DEAD_EPOCHS:
            state["status"] = "dead"
            return True
        if acc > state["best"]:
            state["best"], state["since"] = acc, 0
        else:
            state["since"] += 1
        return state["since"] >= patience

    _, hist = fit(model, X, data.y_train, task="binary", epochs=int(max_epochs), seed=int(seed),
                  lr=lr, batch_size=batch_size, X_test=Xt, y_test=data.y_test, stop=watch)
    out = {"hidden": list(hidden), "seed": int(seed), "bin": lo, "status": state["status"],
           "epoch": int(hist.epochs[-1]), "test_acc": float(hist.test_acc[-1]),
           "epochs_in_range": len(state["inside"]), "last_epoch": int(hist.epochs[-1]),
           "n_activation": None, "n_linear": None, "constant": None,
           "init_n_activation": init["n_activation"], "init_n_linear": init["n_linear"],
           "init_constant": init["constant"]}
    if state["inside"]:
        k = int(np.random.default_rng([int(seed), 11]).integers(len(state["inside"])))
        epoch, acc, net = state["inside"][k]
        counts = count_regions(fold_input_scaling(net, mu, sd), method)
        out.update(status="reached", epoch=int(epoch), test_acc=float(acc),
                   n_activation=counts["n_activation"], n_linear=counts["n_linear"],
                   constant=counts["constant"])
    out["seconds"] = time.perf_counter() - t0
    return out


def range_tasks(arrangement: Sequence[int], bin_lo: float, runs: range, *, seed_of: Callable,
                **kw) -> list:
    """Task dicts of :func:`train_to_range` for runs ``runs`` of one (arrangement, range) cell;
    ``seed_of(arrangement, bin_lo, i)`` gives run ``i``'s seed (e.g. from
    :func:`relutopo.sweep.task_seed`).

    Examples
    --------
    >>> tasks = range_tasks((8, 2), 0.7, range(2), seed_of=lambda arr, lo, i: 100 + i)
    >>> [(t["hidden"], t["bin_lo"], t["seed"]) for t in tasks]
    [([8, 2], 0.7, 100), ([8, 2], 0.7, 101)]
    """
    out = []
    for i in runs:
        s = int(seed_of(tuple(arrangement), float(bin_lo), int(i)))
        out.append(dict(hidden=list(arrangement), seed=s, bin_lo=float(_range(bin_lo)[0]), **kw))
    return out


def fill_ranges(run: Callable, arrangements: Sequence[tuple], bins: Sequence[float],
                n_per_bin: int, *, seed_of: Callable, first: int, max_runs: int,
                margin: float = 1.25, **kw) -> list:
    """Train runs, in rounds, until every (arrangement, range) cell has ``n_per_bin`` networks.

    Round 1 gives every cell ``first`` runs. Each later round gives a cell still short of
    ``n_per_bin`` networks the runs its success rate so far says it needs (times ``margin``),
    never more than ``max_runs`` runs in all. ``run(tasks)`` runs a list of task dicts of
    :func:`train_to_range` and returns the results in order (e.g. a wrapper of
    :func:`relutopo.sweep.run_sweep`); ``kw`` goes into every task.

    Returns
    -------
    list of dict
        Every run's result, with ``run`` (its index in its cell), in cell order then run order.
    """
    if n_per_bin < 1 or first < 1 or max_runs < first:
        raise ValueError(f"need n_per_bin >= 1, first >= 1 and max_runs >= first; got "
                         f"n_per_bin={n_per_bin}, first={first}, max_runs={max_runs}")
    cells = [(tuple(a), float(b)) for a in arrangements for b in bins]
    done = {c: [] for c in cells}
    want = {c: first for c in cells}
    while any(want.values()):
        tasks, owner = [], []
        for c in cells:
            start = len(done[c])
            new = range_tasks(c[0], c[1], range(start, start + want[c]), seed_of=seed_of, **kw)
            tasks += new
            owner += [(c, start + k) for k in range(len(new))]
        for (c, i), res in zip(owner, run(tasks)):
            done[c].append({**res, "run": i})
        for c in cells:
            n_runs = len(done[c])
            got = sum(r["status"] == "reached" for r in done[c])
            if got >= n_per_bin or n_runs >= max_runs:
                want[c] = 0
            else:
                rate = max(got, 1) / n_runs
                want[c] = min(max_runs - n_runs, math.ceil(margin * (n_per_bin - got) / rate))
    return [r for c in cells for r in done[c]]


def select_networks(runs, n_per_bin: int):
    """The first ``n_per_bin`` networks (in run order) of each (arrangement, range) cell.

    ``runs``: a DataFrame of :func:`fill_ranges` results (columns ``hidden``, ``bin``, ``run``,
    ``status``, ...). Returns the kept rows with a column ``arrangement`` (tuple).
    """
    df = runs.copy()
    df["arrangement"] = df["hidden"].map(tuple)
    ok = df[df["status"] == "reached"].sort_values(["bin", "run"], kind="stable")
    return ok.groupby(["arrangement", "bin"], group_keys=False, sort=False).head(int(n_per_bin))


def _welch(a: np.ndarray, b: np.ndarray, level: float) -> tuple:
    from scipy import stats

    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    d = float(a.mean() - b.mean())
    if se == 0:
        return d, 0.0, d, d, float("inf")
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return d, se, d - half, d + half, df


@dataclass(frozen=True)
class Change:
    """``mean(trained) - mean(random)`` with its standard error and ``level`` Welch interval
    ``[lo, hi]`` (Welch-Satterthwaite degrees of freedom ``df``); ``significant`` when the
    interval excludes 0; ``relative`` is the change over ``mean(random)``. NaN below two values
    on either side.

    Examples
    --------
    >>> c = welch_change([10.0, 12.0, 11.0], [8.0, 9.0, 10.0])
    >>> round(c.change, 6), c.n_trained, c.n_random, c.lo < c.change < c.hi
    (2.0, 3, 3, True)
    """

    change: float
    se: float
    lo: float
    hi: float
    df: float
    level: float
    n_trained: int
    n_random: int
    relative: float

    @property
    def significant(self) -> bool:
        return bool(self.lo > 0 or self.hi < 0)

    def allows(self, sign: int) -> bool:
        """Does the interval reach the side of 0 of ``sign`` (-1: a decrease, +1: an increase),
        i.e. do the data not rule a change of that sign out?"""
        if sign not in (-1, 1):
            raise ValueError(f"sign must be -1 (decrease) or +1 (increase); got {sign!r}")
        return bool(self.lo < 0) if sign < 0 else bool(self.hi > 0)


def welch_change(trained, random, *, level: float = 0.95) -> Change:
    """The change of the mean number of linear regions from ``random`` networks to ``trained``
    ones, with a ``level`` Welch t interval (unequal variances).

    Examples
    --------
    Trained networks with about 2 more linear regions than random ones, a Welch 95 % interval:

    >>> c = welch_change([10.0, 12.0, 11.0, 13.0], [8.0, 9.0, 10.0, 9.0])
    >>> round(c.change, 3), round(c.relative, 3), bool(c.lo > 0)
    (2.5, 0.278, True)
    """
    from scipy import stats

    a = np.asarray(trained, dtype=float).ravel()
    b = np.asarray(random, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1); got {level!r}")
    nan = float("nan")
    if a.size < 2 or b.size < 2:
        return Change(nan, nan, nan, nan, nan, level, int(a.size), int(b.size), nan)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    d = float(a.mean() - b.mean())
    if se == 0:
        lo = hi = d
        df = float("inf")
    else:
        df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
        half = float(stats.t.ppf(0.5 + level / 2, df)) * se
        lo, hi = d - half, d + half
    rel = d / float(b.mean()) if b.mean() else nan
    return Change(d, se, lo, hi, float(df), level, int(a.size), int(b.size), rel)


def paired_change(trained, initial, *, level: float = 0.95) -> dict:
    """Mean of ``trained - initial`` over paired networks (each trained network and its own
    initial weights), its standard error and ``level`` t interval.

    Examples
    --------
    >>> r = paired_change([10.0, 12.0, 11.0], [9.0, 10.0, 10.0])
    >>> sorted(r), round(r["change"], 6), r["n"]
    (['change', 'interval', 'n', 'se'], 1.333333, 3)
    """
    from scipy import stats

    a = np.asarray(trained, dtype=float).ravel()
    b = np.asarray(initial, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"trained and initial must pair up; got {a.size} and {b.size} values")
    d = a - b
    n = int(d.size)
    if n < 2:
        return {"change": float(d.mean()) if n else None, "se": None, "interval": [None, None], "n": n}
    m, se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
    return {"change": m, "se": se, "interval": [m - half, m + half], "n": n}


@dataclass(frozen=True)
class Table1Statistics:
    """Does training change the number of linear regions little compared with the gaps between
    arrangements? ``ranking_kept``: in every accuracy range the trained means rank the
    arrangements as the random means do; ``median_change``: median over (arrangement, range) of
    ``|trained - random| / random``; ``median_gap``: median relative gap between consecutive
    arrangements' random means.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"arrangement": [(8,), (8,), (4, 4), (4, 4)], "accuracy": [0.6, 0.7, 0.6, 0.7],
    ...                       "trained": [20.0, 21.0, 10.0, 11.0], "random": [19.0, 19.0, 10.0, 10.0]})
    >>> s = table1_statistics(table, "trained", "random")
    >>> s.ranking_kept, round(s.median_change, 4)
    (True, 0.0763)
    """

    ranking_kept: bool
    median_change: float
    median_gap: float


def table1_statistics(table, mean_col: str, random_col: str) -> Table1Statistics:
    """:class:`Table1Statistics` of a Table 1 frame (one row per arrangement and range, columns
    ``arrangement``, ``accuracy``, ``mean_col`` (trained mean), ``random_col`` (random mean));
    rows in arrangement order, shallow to deep. Ranges with fewer than two means are skipped.

    Examples
    --------
    Wang's Table 1 question, on a made-up frame: training moves the means little (a few %)
    compared with the gaps between arrangements (about 50 %), and keeps their ranking:

    >>> import pandas as pd
    >>> table = pd.DataFrame({"arrangement": [(8,), (8,), (4, 4), (4, 4)], "accuracy": [0.6, 0.7, 0.6, 0.7],
    ...                       "trained": [20.0, 21.0, 10.0, 11.0], "random": [19.0, 19.0, 10.0, 10.0]})
    >>> s = table1_statistics(table, "trained", "random")
    >>> s.ranking_kept, round(s.median_change, 4), round(s.median_gap, 4)
    (True, 0.0763, 0.4737)
    """
    rank_ok, changes = True, []
    for _, g in table.groupby("accuracy", sort=False):
        g = g.dropna(subset=[mean_col])
        if len(g) >= 2:
            same = (list(g.sort_values(mean_col, ascending=False, kind="stable")["arrangement"])
                    == list(g.sort_values(random_col, ascending=False, kind="stable")["arrangement"]))
            rank_ok &= same
        changes += list((g[mean_col] - g[random_col]).abs() / g[random_col])
    rand = table.drop_duplicates("arrangement")[random_col].to_numpy(dtype=float)
    gaps = np.abs(np.diff(rand)) / np.maximum(rand[:-1], rand[1:])
    return Table1Statistics(bool(rank_ok), float(np.median(changes)) if changes else float("nan"),
                            float(np.median(gaps)) if gaps.size else float("nan"))


def our_setup(**settings) -> dict:
    """Our Table 1 setup in the words of :data:`relutopo.papers.wang.paper.PAPER_SETUP`'s keys,
    filled with the notebook's ``settings`` (``n_per_bin``, ``first``, ``max_runs``,
    ``max_epochs``, ``lr``, ``batch_size``, ``data_seed``).

    Examples
    --------
    >>> setup = our_setup(n_per_bin=5, first=8, max_runs=40, max_epochs=300, lr=0.01, batch_size=64, data_seed=0)
    >>> isinstance(setup, dict) and len(setup) > 0
    True
    """
    s = {**TRAINING, **settings}
    return {
        "data": "two spirals of the TensorFlow Playground formula, radius 10 (twice 5), no noise; "
                "500 points per spiral",
        "split": f"random 900 training / 100 test points (seed {s.get('data_seed', 0)})",
        "features": "(x, y, x^2, y^2, xy, sin x, sin y)",
        "architecture": "7 -> hidden layers of Sec. 4.1 -> 1",
        "initialisation": "U(-1, 1) weights and biases, as the random networks of Sec. 4.1",
        "input scaling": "features standardised with the training set's mean and deviation "
                         "(folded into the first layer before counting: no count changes)"
                         if s["standardize"] else "none",
        "loss": "logistic (binary cross-entropy on one output logit)",
        "optimiser, learning rate, batch size": f"Adam, {s['lr']:g}, {s['batch_size']}",
        "epochs / stopping": f"until the test accuracy rises above the run's range, at most "
                             f"{s['max_epochs']} epochs; earlier when the best test accuracy "
                             f"has not improved for {s['patience']} epochs, or when a hidden layer "
                             f"has been zero on all training points for {DEAD_EPOCHS} epochs",
        "networks counted": f"{s.get('n_per_bin', '?')} per range: one network per run, drawn "
                            "uniformly among the epochs (>= 1) the run spent in the range",
        "runs per range": f"one network per run, the run's range fixed before training; "
                          f"{s.get('first', '?')} runs per range first, more while a range has "
                          f"too few networks (at most {s.get('max_runs', '?')})",
        "baseline": "our random networks of Sec. 4.1 (Fig. 3 sweep); also each network's own "
                    "initial weights (paired)",
    }
