"""Per-network tasks of the region-counting sweeps of Wang (IJCAI 2022), §4.

Module-level functions (picklable for :func:`relutopo.sweep.run_sweep`), each taking its own
seed, so a sweep's results never depend on the number of workers:

* :func:`random_network_counts` -- a network with U(-scale, scale) weights and biases (§4.1):
  its numbers of activation and linear regions over ``R^M``;
* :func:`cross_check` -- one random network counted by both algorithms.

The training runs of Table 1 (§4.2) are in :mod:`relutopo.papers.wang.table1`.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from relutopo.nets import ReluNet

__all__ = ["uniform_net", "count_regions", "random_network_counts", "code_fingerprint",
           "cross_check"]

_COMMON = ("relutopo.nets", "relutopo.linear_regions", "relutopo.papers.wang.sweeps", "relutopo.train",
           "relutopo.papers.wang.spirals", "relutopo.tolerances", "relutopo.patterns")
#: Modules whose source decides the numbers of a sweep, per counting method.
COUNTING_MODULES = {
    "wang": _COMMON + ("relutopo.activation_regions", "relutopo.lp"),
    "engine": _COMMON + ("relutopo.decompose", "relutopo.vertex_refine", "relutopo.chebyshev",
                         "relutopo.decomposition", "relutopo.polyhedra", "relutopo.lp",
                         "relutopo.normal_form", "relutopo.domains", "relutopo.kernels.centres",
                         "relutopo.kernels.crossing", "relutopo.kernels.polygon",
                         "relutopo.kernels.vertex"),
}
COUNTING_MODULES["both"] = tuple(dict.fromkeys(COUNTING_MODULES["wang"] + COUNTING_MODULES["engine"]))


def code_fingerprint(method: str = "both", extra: Sequence[str] = ()) -> str:
    """A short hash of the source of the modules that compute the counts of ``method``
    (``"wang"``, ``"engine"`` or ``"both"``; see ``COUNTING_MODULES``) and of the modules named in
    ``extra`` (e.g. ``("relutopo.papers.wang.table1",)`` for the training runs).

    Pass it as the ``code`` argument of the task functions: it is part of each task's cache key
    in :func:`relutopo.sweep.run_sweep`, so cached results are recomputed when that code changes.

    Examples
    --------
    >>> fp = code_fingerprint("engine")
    >>> len(fp) > 0, fp == code_fingerprint("engine"), fp == code_fingerprint("wang")
    (True, True, False)
    """
    from relutopo import sweep

    if method not in COUNTING_MODULES:
        raise ValueError(f"method must be one of {sorted(COUNTING_MODULES)}; got {method!r}")
    return sweep.code_fingerprint([*COUNTING_MODULES[method], *extra])


def uniform_net(sizes: Sequence[int], seed: int, scale: float = 1.0) -> ReluNet:
    """A ReluNet whose weights and biases are i.i.d. U(-scale, scale) (Wang §4.1), built with
    :func:`relutopo.train.mlp` (``init="uniform"``) so trained and random nets share one init.

    Examples
    --------
    Wang §4.1: weights and biases i.i.d. ``U(-1, 1)``:

    >>> net = uniform_net((2, 3, 1), seed=0)
    >>> net.hidden_sizes, all(abs(w).max() <= 1 for w in net.weights)
    ((3,), True)
    """
    from relutopo.train import mlp

    return ReluNet.from_torch(mlp(list(sizes), seed=int(seed), init="uniform", scale=float(scale)))


def count_regions(net: ReluNet, method: str = "engine") -> dict:
    """Numbers of activation and linear regions of ``net`` over all of ``R^M``.

    ``method="engine"``: the traversal engine (:func:`relutopo.decompose.decompose`);
    ``method="wang"``: Wang's Intersect/Add/Cut (:func:`relutopo.activation_regions.propagate`).
    Either way the linear regions are counted by :func:`relutopo.linear_regions.linear_regions`
    (neighbouring cells with equal output maps joined). The two methods give the same numbers
    (tests/test_linear_regions.py); their speeds differ (benchmarks/bench_wang.py).

    When the engine reports an inconsistent decomposition
    (:class:`relutopo.errors.InconsistentDecompositionError`: a facet whose neighbour it cannot
    find), the network is counted by Intersect/Add/Cut instead; ``counted_by`` says which
    algorithm gave the numbers.

    Examples
    --------
    >>> counts = count_regions(uniform_net((2, 3, 1), seed=0))
    >>> counts["n_activation"], counts["n_linear"]
    (7, 7)
    """
    from relutopo.errors import InconsistentDecompositionError
    from relutopo.linear_regions import linear_regions

    t0 = time.perf_counter()
    counted_by = method
    if method == "engine":
        from relutopo.decompose import decompose

        try:
            dec = decompose(net, domain=None)
        except InconsistentDecompositionError:
            from relutopo.activation_regions import propagate

            dec, counted_by = propagate(net), "wang"
    elif method == "wang":
        from relutopo.activation_regions import propagate

        dec = propagate(net)
    else:
        raise ValueError(f"method must be 'engine' or 'wang'; got {method!r}")
    lin = linear_regions(dec)
    return {"n_activation": int(dec.n_regions), "n_linear": int(lin.n_linear),
            "constant": bool(lin.constant), "method": method, "counted_by": counted_by,
            "seconds": time.perf_counter() - t0}


def cross_check(hidden: Sequence[int], input_dim: int, seed: int, scale: float = 1.0,
                code: str = "") -> dict:
    """Count one random network (as :func:`random_network_counts`) with both algorithms.

    Returns both counts and whether the two sets of activation patterns are identical.

    Examples
    --------
    Wang's Intersect/Add/Cut and the exact engine agree on a random 2 -> 3 -> 2 -> 1 network:

    >>> r = cross_check((3, 2), 2, seed=0)
    >>> r["same_patterns"]
    True
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

    Examples
    --------
    >>> r = random_network_counts((3,), 2, seed=0)
    >>> r["n_activation"] <= 7
    True
    """
    net = uniform_net([int(input_dim), *[int(h) for h in hidden], 1], seed, scale)
    out = count_regions(net, method)
    out.update(hidden=list(hidden), seed=int(seed))
    return out
