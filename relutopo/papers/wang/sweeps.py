"""Per-network tasks of the region-counting sweeps of Wang (IJCAI 2022), §4.

Module-level functions (picklable for :func:`relutopo.sweep.run_sweep`), each taking its own
seed, so a sweep's results never depend on the number of workers:

* :func:`random_network_counts` -- a network with U(-scale, scale) weights and biases (§4.1):
  its numbers of activation and linear regions over ``R^M``;
* :func:`trained_network_counts` -- train one network on the two spirals (§4.2) and count the
  regions of the first checkpoint whose test accuracy falls in each accuracy bin.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

import numpy as np

from relutopo.nets import ReluNet

__all__ = ["uniform_net", "count_regions", "random_network_counts", "trained_network_counts",
           "accuracy_bin", "code_fingerprint", "cross_check"]

_COMMON = ("relutopo.nets", "relutopo.linear_regions", "relutopo.papers.wang.sweeps", "relutopo.train",
           "relutopo.papers.wang.spirals", "relutopo.tolerances", "relutopo.patterns")
#: Modules whose source decides the numbers of a sweep, per counting method.
COUNTING_MODULES = {
    "wang": _COMMON + ("relutopo.activation_regions",),
    "engine": _COMMON + ("relutopo.decompose", "relutopo.vertex_refine", "relutopo.chebyshev",
                         "relutopo.decomposition", "relutopo.polyhedra",
                         "relutopo.domains"),
}
COUNTING_MODULES["both"] = tuple(dict.fromkeys(COUNTING_MODULES["wang"] + COUNTING_MODULES["engine"]))


def code_fingerprint(method: str = "both") -> str:
    """A short hash of the source of the modules that compute the counts of ``method``
    (``"wang"``, ``"engine"`` or ``"both"``; see ``COUNTING_MODULES``).

    Pass it as the ``code`` argument of the task functions: it is part of each task's cache key
    in :func:`relutopo.sweep.run_sweep`, so cached results are recomputed when that code changes.
    """
    import hashlib
    import importlib
    import inspect

    if method not in COUNTING_MODULES:
        raise ValueError(f"method must be one of {sorted(COUNTING_MODULES)}; got {method!r}")
    h = hashlib.sha256()
    for name in COUNTING_MODULES[method]:
        try:
            h.update(inspect.getsource(importlib.import_module(name)).encode())
        except (ImportError, OSError, TypeError):
            h.update(f"<missing {name}>".encode())
    return h.hexdigest()[:16]


def uniform_net(sizes: Sequence[int], seed: int, scale: float = 1.0) -> ReluNet:
    """A ReluNet whose weights and biases are i.i.d. U(-scale, scale) (Wang §4.1), built with
    :func:`relutopo.train.mlp` (``init="uniform"``) so trained and random nets share one init."""
    from relutopo.train import mlp

    return ReluNet.from_torch(mlp(list(sizes), seed=int(seed), init="uniform", scale=float(scale)))


def count_regions(net: ReluNet, method: str = "engine") -> dict:
    """Numbers of activation and linear regions of ``net`` over all of ``R^M``.

    ``method="engine"``: the traversal engine (:func:`relutopo.decompose.decompose`);
    ``method="wang"``: Wang's Intersect/Add/Cut (:func:`relutopo.activation_regions.propagate`).
    Either way the linear regions are counted by :func:`relutopo.linear_regions.linear_regions`
    (neighbouring cells with equal output maps joined). The two methods give the same numbers
    (tests/test_linear_regions.py); their speeds differ (benchmarks/bench_wang.py).
    """
    from relutopo.linear_regions import linear_regions

    t0 = time.perf_counter()
    if method == "engine":
        from relutopo.decompose import decompose

        dec = decompose(net, domain=None)
    elif method == "wang":
        from relutopo.activation_regions import propagate

        dec = propagate(net)
    else:
        raise ValueError(f"method must be 'engine' or 'wang'; got {method!r}")
    lin = linear_regions(dec)
    return {"n_activation": int(dec.n_regions), "n_linear": int(lin.n_linear),
            "constant": bool(lin.constant), "method": method,
            "seconds": time.perf_counter() - t0}


def cross_check(hidden: Sequence[int], input_dim: int, seed: int, scale: float = 1.0,
                code: str = "") -> dict:
    """Count one random network (as :func:`random_network_counts`) with both algorithms.

    Returns both counts and whether the two sets of activation patterns are identical.
    """
    from relutopo.activation_regions import propagate
    from relutopo.decompose import decompose
    from relutopo.linear_regions import linear_regions

    net = uniform_net([int(input_dim), *[int(h) for h in hidden], 1], seed, scale)
    t0 = time.perf_counter()
    dec = decompose(net, domain=None)
    lin_e = linear_regions(dec)
    t1 = time.perf_counter()
    res = propagate(net)
    lin_w = linear_regions(res)
    t2 = time.perf_counter()
    pe = {bytes(np.packbits(p)) for p in np.asarray(dec.patterns, dtype=bool)}
    pw = {bytes(np.packbits(p)) for p in res.patterns}
    return {"hidden": list(hidden), "seed": int(seed),
            "n_activation_engine": int(dec.n_regions), "n_activation_wang": int(res.n_regions),
            "n_linear_engine": int(lin_e.n_linear), "n_linear_wang": int(lin_w.n_linear),
            "same_patterns": pe == pw, "seconds_engine": t1 - t0, "seconds_wang": t2 - t1}


def random_network_counts(hidden: Sequence[int], input_dim: int, seed: int,
                          scale: float = 1.0, method: str = "engine", code: str = "") -> dict:
    """Regions of one random network ``input_dim -> hidden -> 1`` (Wang §4.1, Figs 3-4).

    ``code`` is not used: it only enters the sweep's cache key (see :func:`code_fingerprint`).
    """
    net = uniform_net([int(input_dim), *[int(h) for h in hidden], 1], seed, scale)
    out = count_regions(net, method)
    out.update(hidden=list(hidden), seed=int(seed))
    return out


def accuracy_bin(acc: float, bins: Sequence[float]) -> Optional[int]:
    """Index ``k`` with ``bins[k] <= acc < bins[k] + 0.1`` (Wang's 60-69 %, ..., 90-99 %), else None.

    Accuracies are rounded to 1e-9 first so that 0.7 computed as 70/100 lands in the 70-79 % bin.
    """
    a = round(float(acc), 9)
    for k, lo in enumerate(bins):
        if round(lo, 9) <= a < round(lo + 0.1, 9):
            return k
    return None


def trained_network_counts(hidden: Sequence[int], seed: int, *, data_seed: int = 0,
                           epochs: int = 300, lr: float = 1e-2, batch_size: int = 64,
                           bins: Sequence[float] = (0.6, 0.7, 0.8, 0.9),
                           n_per_spiral: int = 500, n_test: int = 100, method: str = "engine",
                           stop_when_binned: bool = True, code: str = "") -> list:
    """Train ``7 -> hidden -> 1`` on the two spirals (Wang §4.2) and count regions per accuracy bin.

    The network starts from U(-1, 1) weights (as in §4.1) and is trained with Adam on the logistic
    loss. After every epoch its test accuracy is measured; for each bin of ``bins`` the *first*
    epoch whose accuracy falls in the bin gives one network of that bin ("networks during the
    training process"), whose activation and linear regions are counted by ``method`` (see
    :func:`count_regions`).

    With ``stop_when_binned`` (default) training ends at the epoch at which the last bin is
    reached, or after ``epochs``: the counted networks are the same as with full training (the
    epochs before the stop are unchanged), only the time differs.

    ``code`` is not used: it only enters the sweep's cache key (see :func:`code_fingerprint`).

    Returns
    -------
    list of dict
        One entry per bin reached: ``bin`` (its lower edge), ``epoch``, ``test_acc``,
        ``n_activation``, ``n_linear``, ``constant``, and ``last_epoch``, ``last_test_acc``: the
        last epoch trained and its test accuracy (``last_epoch == epochs`` unless training stopped
        early because every bin was reached).
    """
    import torch

    from relutopo.papers.wang.spirals import spiral_dataset
    from relutopo.train import fit, mlp

    torch.set_num_threads(1)
    data = spiral_dataset(n_per_spiral, n_test, seed=data_seed)
    sizes = [data.X_train.shape[1], *[int(h) for h in hidden], 1]
    model = mlp(sizes, seed=int(seed), init="uniform")
    first = {}   # bin -> (epoch, test accuracy, weights) of the first epoch in that bin

    def watch(epoch, record):
        # called by fit after each epoch's evaluation: keep the weights of each bin's first epoch
        k = accuracy_bin(record["test_acc"], bins)
        if k is not None and k not in first:
            first[k] = (epoch, record["test_acc"], ReluNet.from_torch(model))
        return stop_when_binned and len(first) == len(bins)

    _, hist = fit(model, data.X_train, data.y_train, task="binary", epochs=int(epochs),
                  seed=int(seed), lr=lr, batch_size=batch_size, X_test=data.X_test,
                  y_test=data.y_test, stop=watch)
    out = []
    for k, (epoch, acc, net) in sorted(first.items(), key=lambda item: item[1][0]):
        counts = count_regions(net, method)
        counts.update(bin=float(bins[k]), epoch=int(epoch), test_acc=float(acc),
                      last_epoch=int(hist.epochs[-1]), last_test_acc=float(hist.test_acc[-1]),
                      hidden=list(hidden), seed=int(seed))
        out.append(counts)
    return out
