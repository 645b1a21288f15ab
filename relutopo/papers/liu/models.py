"""Models (11) and (12) of Liu et al. (2023), Section 3.2, and the per-seed tasks built on them.

* model (11): ``R^2 -> 3 -> 3 -> 1`` fitted to ``f_1(x) = x_1^2 + x_2^2 - 2/3``;
* model (12): ``R^3 -> 10 -> 10 -> 10 -> 1`` fitted to ``f_2(x) = (x_1 - 1)^2 + 2 x_2^2 + x_3^2 + 1``;

both on points drawn uniformly from ``[-1, 1]^m`` (the paper: 10 000 and 125 000 points, batch
size 50, TensorFlow with early stopping on the validation loss; here Adam for a fixed number of
epochs, every size a parameter). :func:`train_liu_model` trains one seeded network and
:func:`liu_region_counts` counts its regions in the box and in ``R^m`` (a picklable task for
:func:`relutopo.sweep.run_sweep`). :func:`neighbour_bit_violations` checks the statement of
Sec. 1 and App. B on a decomposition: neighbouring regions differ in exactly one bit, the bit of
the neuron carrying their shared facet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from relutopo.nets import ReluNet

__all__ = ["LIU_MODELS", "LiuModel", "liu_target", "liu_training_data", "train_liu_model",
           "liu_region_counts", "neighbour_bit_violations"]


@dataclass(frozen=True)
class LiuModel:
    """Architecture and target of one of the paper's models.

    Examples
    --------
    >>> m = LIU_MODELS[11]
    >>> m.name, m.sizes, m.target
    ('model (11)', (2, 3, 3, 1), 'x1^2 + x2^2 - 2/3')
    """

    name: str
    sizes: tuple
    target: str
    paper_n_train: int


#: The paper's two regression models, keyed by equation number.
LIU_MODELS = {
    11: LiuModel("model (11)", (2, 3, 3, 1), "x1^2 + x2^2 - 2/3", 10_000),
    12: LiuModel("model (12)", (3, 10, 10, 10, 1), "(x1 - 1)^2 + 2 x2^2 + x3^2 + 1", 125_000),
}


def _check_model(model) -> LiuModel:
    if model not in LIU_MODELS:
        raise ValueError(f"model must be 11 or 12 (the equation numbers of Liu et al.); got {model!r}")
    return LIU_MODELS[model]


def liu_target(model: int, X) -> np.ndarray:
    """The regression target of model (11) (``f_1``) or (12) (``f_2``) at the rows of ``X``.

    Examples
    --------
    Model (11) of Liu et al. fits ``f_1 = x_1^2 + x_2^2 - 2/3``; model (12) fits
    ``f_2 = (x_1 - 1)^2 + 2 x_2^2 + x_3^2 + 1``:

    >>> import numpy as np
    >>> np.round(liu_target(11, np.array([[1.0, 0.0], [0.0, 0.0]])), 6).tolist()
    [0.333333, -0.666667]
    >>> liu_target(12, np.array([[1.0, 0.0, 0.0]])).tolist()
    [1.0]
    """
    spec = _check_model(model)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != spec.sizes[0]:
        raise ValueError(f"X must have shape (n, {spec.sizes[0]}) for {spec.name}; got {X.shape}")
    if model == 11:
        return X[:, 0] ** 2 + X[:, 1] ** 2 - 2.0 / 3.0
    return (X[:, 0] - 1.0) ** 2 + 2.0 * X[:, 1] ** 2 + X[:, 2] ** 2 + 1.0


def liu_training_data(model: int, n: int, seed: int) -> tuple:
    """``(X, y)``: ``n`` points uniform in ``[-1, 1]^m`` and the model's target.

    Examples
    --------
    >>> X, y = liu_training_data(11, 100, seed=0)
    >>> X.shape, y.shape, bool(abs(X).max() <= 1)
    ((100, 2), (100,), True)
    """
    spec = _check_model(model)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}")
    X = np.random.default_rng(int(seed)).uniform(-1.0, 1.0, size=(int(n), spec.sizes[0]))
    return X, liu_target(model, X)


def train_liu_model(model: int, seed: int, *, n_train: int, epochs: int, batch_size: int = 50,
                    lr: float = 3e-3) -> tuple:
    """Train model (11) or (12) from a seeded initialisation (PyTorch's default scheme).

    The seed drives the initialisation, the training sample (``seed + 1``) and the batch order.
    Returns ``(ReluNet, final_mse)``.
    """
    from relutopo.train import fit, mlp

    spec = _check_model(model)
    X, y = liu_training_data(model, n_train, int(seed) + 1)
    net = mlp(spec.sizes, seed=int(seed))
    net, hist = fit(net, X, y, task="regression", epochs=int(epochs), seed=int(seed), lr=lr,
                    batch_size=int(batch_size))
    return ReluNet.from_torch(net), float(hist.train_loss[-1])


def liu_region_counts(model: int, seed: int, *, n_train: int, epochs: int, batch_size: int = 50,
                      lr: float = 3e-3, circle_sizes: Sequence[int] = (), keep: bool = False) -> dict:
    """Train one network and count its regions in ``[-1, 1]^m`` and in ``R^m``.

    A module-level task for :func:`relutopo.sweep.run_sweep` (one torch thread per worker).
    For model (12), ``circle_sizes`` adds Examples 4.1-4.2 for this network: the circle
    ``(0, cos t, sin t)`` at each number of points, its number of distinct bit vectors and the
    number of long ``H_1`` bars of the Hamming distances between them.

    Returns a dict: ``seed``, ``mse``, ``box`` (regions in the box), ``whole`` (in ``R^m``),
    ``bounded`` / ``unbounded`` (in ``R^m``), ``seconds``, and per circle size ``n``
    ``distinct_<n>`` and ``long_h1_<n>``. With ``keep=True`` also ``net`` (the ReluNet) and the
    decompositions ``box_decomposition`` and ``whole_decomposition``.
    """
    import torch

    from relutopo.papers.liu.manifolds import circle_3d
    from relutopo.decompose import decompose
    from relutopo.domains import Box
    from relutopo.homology import barcodes
    from relutopo.patterns import hamming_matrix

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    net, mse = train_liu_model(model, seed, n_train=n_train, epochs=epochs, batch_size=batch_size, lr=lr)
    box = decompose(net, Box(-1.0, 1.0, dim=net.input_dim))
    whole = decompose(net, None)
    out = {"model": int(model), "seed": int(seed), "mse": mse, "box": box.n_regions,
           "whole": whole.n_regions, "bounded": whole.n_bounded, "unbounded": whole.n_unbounded}
    for n in circle_sizes:
        if net.input_dim != 3:
            raise ValueError(f"circle_sizes needs model 12 (input R^3); got model {model}")
        distinct = np.unique(net.patterns(circle_3d(int(n))), axis=0)
        out[f"distinct_{n}"] = int(len(distinct))
        out[f"long_h1_{n}"] = barcodes(hamming_matrix(distinct), 1).n_long(1) if len(distinct) > 1 else 0
    out["seconds"] = time.perf_counter() - t0
    if keep:
        out.update(net=net, box_decomposition=box, whole_decomposition=whole)
    return out


def neighbour_bit_violations(dec) -> dict:
    """Check "two regions share a facet iff their bit vectors differ in exactly one bit" (Sec. 1,
    App. B), in both directions, from the stored patterns.

    * forward: for every edge ``(a, b)`` of the dual graph with facet neuron ``k``, the bit
      vectors of ``a`` and ``b`` must differ exactly in position ``k``;
    * converse: every pair of regions at Hamming distance 1 should be an edge.

    Returns
    -------
    dict
        ``edges`` (number checked), ``violations`` (edges failing the forward test),
        ``examples`` (up to 5 ``(a, b, k, differing bits)``), ``hamming_one_pairs`` (pairs of
        regions at Hamming distance 1), ``one_bit_not_adjacent`` (of those, pairs with no edge).

    Examples
    --------
    Liu et al. (Sec. 1, App. B): two regions share a facet iff their bit vectors differ in exactly
    one bit. It holds for the quadrants of a 2 -> 2 -> 1 network:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> neighbour_bit_violations(decompose(net, Box(-1, 1, dim=2)))
    {'edges': 4, 'violations': 0, 'examples': [], 'hamming_one_pairs': 4, 'one_bit_not_adjacent': 0}
    """
    from relutopo.patterns import hamming_matrix

    P = dec.patterns
    edges = np.asarray(dec.edges, dtype=np.int64).reshape(-1, 2)
    bad, examples = 0, []
    for (a, b), k in zip(edges, np.asarray(dec.edge_neuron)):
        diff = np.flatnonzero(P[a] != P[b])
        if not (len(diff) == 1 and diff[0] == k):
            bad += 1
            if len(examples) < 5:
                examples.append((int(a), int(b), int(k), diff.tolist()))
    D = hamming_matrix(P) if len(P) else np.zeros((0, 0), dtype=np.int64)
    ii, jj = np.nonzero(np.triu(D == 1, 1))
    edge_set = {(int(min(a, b)), int(max(a, b))) for a, b in edges}
    not_adjacent = sum((int(i), int(j)) not in edge_set for i, j in zip(ii, jj))
    return {"edges": int(len(edges)), "violations": bad, "examples": examples,
            "hamming_one_pairs": int(len(ii)), "one_bit_not_adjacent": int(not_adjacent)}
