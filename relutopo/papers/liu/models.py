"""Models (11) and (12) of Liu et al. (2023), Section 3.2, and the per-seed tasks built on them.

* model (11): ``R^2 -> 3 -> 3 -> 1`` fitted to ``f_1(x) = x_1^2 + x_2^2 - 2/3``;
* model (12): ``R^3 -> 10 -> 10 -> 10 -> 1`` fitted to ``f_2(x) = (x_1 - 1)^2 + 2 x_2^2 + x_3^2 + 1``;

both on points drawn uniformly from ``[-1, 1]^m`` (the paper: 10 000 and 125 000 points, batch
size 50, TensorFlow with early stopping on the validation loss). :func:`train_liu_model` trains
one seeded network (initialisation, early stopping and data size are options;
:data:`PAPER_TRAINING` is the paper's setup). The region counts are a two-stage sweep for
:func:`relutopo.sweep.run_sweep`, each stage cached on its own: :func:`liu_train_task` trains,
:func:`liu_count_task` decomposes the trained weights in the box and in ``R^m`` and adds the
circle (:func:`circle_statistics`, Examples 4.1-4.2) and the "polytope landscape" of the
conclusion (:func:`landscape_statistics`). :func:`neighbour_bit_violations` checks the statement of
Sec. 1 and App. B on a decomposition: neighbouring regions differ in exactly one bit, the bit of
the neuron carrying their shared facet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from relutopo.nets import ReluNet

__all__ = ["LIU_MODELS", "LiuModel", "PAPER_TRAINING", "FIT_R2", "liu_target", "liu_training_data",
           "target_variance", "is_fitted", "train_liu_model", "liu_train_task", "liu_count_task",
           "circle_statistics", "landscape_statistics", "net_of", "neighbour_bit_violations",
           "training_fingerprint", "counting_fingerprint", "train_tasks"]


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


#: Training setups of the chapter's profiles. ``paper``: Liu et al.'s Sec. 3.2 as far as it is
#: stated (TensorFlow/Keras defaults: Glorot-uniform weights, zero biases; batch 50; early stopping
#: on the validation loss) plus what it leaves open, chosen as Keras's defaults (Adam, learning rate
#: 1e-3, ``validation_split=0.2``, i.e. the last 20 % of the points) and a patience of 5 epochs.
PAPER_TRAINING = {"init": "glorot_uniform", "batch_size": 50, "lr": 1e-3, "val_fraction": 0.2,
                  "patience": 5, "min_delta": 0.0}

#: Default threshold of :func:`is_fitted`: a network *fits* when its validation ``R^2`` reaches it.
FIT_R2 = 0.9


def target_variance(model: int) -> float:
    """Variance of the model's target under ``U([-1, 1]^m)`` (closed form).

    With ``Var(x^2) = 4/45`` and ``Var(x) = 1/3`` for ``x ~ U(-1, 1)``: ``8/45`` for ``f_1`` and
    ``(4/45 + 4/3) + 4 (4/45) + 4/45 = 84/45`` for ``f_2``. An ``R^2`` of 0 (a constant network)
    has MSE equal to this.

    Examples
    --------
    >>> round(target_variance(11), 4), round(target_variance(12), 4)
    (0.1778, 1.8667)
    """
    _check_model(model)
    return 8.0 / 45.0 if model == 11 else 84.0 / 45.0


def is_fitted(r2, threshold: float = FIT_R2):
    """Whether a network fits its target: validation ``R^2 >= threshold`` (elementwise).

    Liu et al. do not state a loss level; ``FIT_R2 = 0.9`` separates the two groups our seeds fall
    in (MSE about 1 % of the target variance, or a network stuck near a constant or with dead
    neurons, ``R^2`` below 0.6).
    """
    if not (0.0 < float(threshold) <= 1.0):
        raise ValueError(f"threshold must lie in (0, 1]; got {threshold!r}")
    return np.asarray(r2, dtype=float) >= float(threshold)


def train_liu_model(model: int, seed: int, *, n_train: int, epochs: int, batch_size: int = 50,
                    lr: float = 3e-3, init: str = "torch", val_fraction: float = 0.0,
                    patience=None, min_delta: float = 0.0) -> tuple:
    """Train model (11) or (12) of Liu et al. (2023), Sec. 3.2, from a seeded initialisation.

    Parameters
    ----------
    model : {11, 12}
        Equation number of the model.
    seed : int
        Drives the initialisation, the sample of ``n_train`` points (``seed + 1``) and the batch
        order.
    n_train : int
        Points drawn uniformly from ``[-1, 1]^m`` (paper: 10 000 and 125 000); with
        ``val_fraction > 0`` the last ``round(val_fraction * n_train)`` of them are the
        validation set (Keras's ``validation_split``) and the rest are trained on.
    epochs : int
        Passes over the training points; with ``patience`` the *most* epochs.
    init : {"torch", "glorot_uniform", "uniform", "normal"}
        See :func:`relutopo.train.mlp`; ``glorot_uniform`` (with zero biases) is TensorFlow's.
    patience : int, optional
        Early stopping (:class:`relutopo.train.early_stopping`): stop once the validation loss
        has not improved by more than ``min_delta`` for ``patience`` epochs; needs
        ``val_fraction > 0``.

    Returns
    -------
    (ReluNet, dict)
        The network and ``mse`` (final training MSE), ``val_mse`` (validation MSE, or the MSE on a
        fresh sample of 10 000 points when ``val_fraction == 0``), ``r2`` (``1 - val_mse /``
        :func:`target_variance`), ``epochs_run``, ``best_epoch`` (of early stopping, else ``None``).

    Examples
    --------
    Model (11) as the paper trained it (Sec. 3.2), on fewer points:

    >>> net, info = train_liu_model(11, 0, n_train=500, epochs=3, init="glorot_uniform",
    ...                             val_fraction=0.2, patience=2)
    >>> net.hidden_sizes, info["epochs_run"] <= 3
    ((3, 3), True)
    """
    from relutopo.train import early_stopping, fit, mlp

    spec = _check_model(model)
    if not (0.0 <= float(val_fraction) < 1.0):
        raise ValueError(f"val_fraction must lie in [0, 1); got {val_fraction!r}")
    if patience is not None and float(val_fraction) == 0.0:
        raise ValueError("early stopping (patience) monitors the validation loss; give val_fraction > 0")
    X, y = liu_training_data(model, n_train, int(seed) + 1)
    n_val = int(round(float(val_fraction) * len(X)))
    if val_fraction and not 1 <= n_val < len(X):
        raise ValueError(f"val_fraction={val_fraction} of n_train={n_train} leaves no training or "
                         "no validation points")
    if n_val:
        X, y, Xv, yv = X[:-n_val], y[:-n_val], X[-n_val:], y[-n_val:]
    else:
        Xv, yv = liu_training_data(model, 10_000, int(seed) + 2)
    net = mlp(spec.sizes, seed=int(seed), init=init)
    stop = None if patience is None else early_stopping(int(patience), min_delta=min_delta)
    net, hist = fit(net, X, y, task="regression", epochs=int(epochs), seed=int(seed), lr=lr,
                    batch_size=int(batch_size), X_test=Xv, y_test=yv, stop=stop)
    val_mse = float(hist.test_loss[-1])
    info = {"mse": float(hist.train_loss[-1]), "val_mse": val_mse,
            "r2": 1.0 - val_mse / target_variance(model), "epochs_run": int(hist.epochs[-1]),
            "best_epoch": None if stop is None else stop.best_epoch}
    return ReluNet.from_torch(net), info


def liu_train_task(model: int, seed: int, *, code: str = "", **training) -> dict:
    """Stage 1 of the count sweep: train one network (a :func:`relutopo.sweep.run_sweep` task).

    ``training`` are the keyword arguments of :func:`train_liu_model`; ``code`` only enters the
    cache key. Returns ``model``, ``seed``, ``weights`` and ``biases`` (lists of arrays), the
    training ``info`` of :func:`train_liu_model` and ``seconds``.
    """
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    net, info = train_liu_model(model, seed, **training)
    return {"model": int(model), "seed": int(seed), "weights": [np.asarray(W) for W in net.weights],
            "biases": [np.asarray(b) for b in net.biases], **info,
            "seconds": time.perf_counter() - t0}


def circle_statistics(net: ReluNet, n: int, fraction: float = 0.25) -> dict:
    """Examples 4.1-4.2 for one network: the circle ``(0, cos t, sin t)`` at ``n`` points.

    Returns ``distinct`` (distinct bit vectors), ``long_h1`` / ``short_h1`` (long and short
    ``H_1`` bars of their Hamming matrix, long meaning length ``>= fraction`` x the barcode's
    scale), ``h0_merge`` (the largest finite ``H_0`` death: where the sample becomes connected;
    the paper: 4 for 20 points, 2 for 500), ``circle_birth`` (birth of the longest ``H_1`` bar;
    the paper: 4 and 2) and ``short_h1_births`` (births of the short ones; the paper's spurious
    loop of the 20-point sample is born at 3).

    Examples
    --------
    >>> from relutopo.nets import ReluNet
    >>> net = ReluNet([np.eye(3)[1:], np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> circle_statistics(net, 8)["distinct"]   # the signs of cos t and sin t: four quadrants
    4
    """
    from relutopo.homology import barcodes
    from relutopo.papers.liu.manifolds import circle_3d
    from relutopo.patterns import hamming_matrix

    if net.input_dim != 3:
        raise ValueError(f"the circle (0, cos t, sin t) lives in R^3; the network has input "
                         f"dimension {net.input_dim}")
    distinct = np.unique(net.patterns(circle_3d(int(n))), axis=0)
    out = {"distinct": int(len(distinct)), "long_h1": 0, "short_h1": 0, "h0_merge": 0.0,
           "circle_birth": float("nan"), "short_h1_births": []}
    if len(distinct) < 2:
        return out
    bc = barcodes(hamming_matrix(distinct), 1)
    h0 = bc[0][np.isfinite(bc[0][:, 1]), 1]
    long = bc.long_bars(1, fraction)
    out.update(long_h1=int(len(long)), short_h1=int(len(bc[1]) - len(long)),
               h0_merge=float(h0.max(initial=0.0)))
    if len(bc[1]):
        lengths = bc.lengths(1)
        out["circle_birth"] = float(bc[1][int(np.argmax(lengths)), 0])
        is_long = lengths >= fraction * bc.scale if np.isfinite(bc.scale) and bc.scale > 0 else lengths > 0
        out["short_h1_births"] = [float(b) for b in bc[1][~is_long, 0]]
    return out


def landscape_statistics(dec) -> dict:
    """The "polytope landscape" of Liu et al.'s conclusion on one decomposition of ``R^m``.

    Small polytopes near the training data (``[-1, 1]^m``), larger ones away from it: for every
    bounded region its volume and the distance ``max(0, |x|_inf - 1)`` of its Chebyshev centre
    from the box. Returns ``n_inside`` / ``n_outside`` (bounded regions centred inside / outside
    the box), ``median_inside`` / ``median_outside`` (their median volumes, ``nan`` when a group
    is empty) and ``rho`` (Spearman correlation of the distance ``|x|_inf`` of the centre with
    the volume over all bounded regions; ``nan`` below 3 regions).
    """
    from scipy.stats import spearmanr

    if dec.domain is not None:
        raise ValueError("landscape_statistics needs the decomposition of all of R^m (domain=None)")
    bounded = np.flatnonzero(dec.bounded)
    vol = dec.volumes()[bounded]
    r = np.abs(np.asarray(dec.interior_points)[bounded]).max(axis=1) if len(bounded) else np.zeros(0)
    inside = r <= 1.0
    med = lambda v: float(np.median(v)) if len(v) else float("nan")  # noqa: E731
    rho = float(spearmanr(r, vol).statistic) if len(bounded) >= 3 and np.ptp(r) > 0 else float("nan")
    return {"n_inside": int(inside.sum()), "n_outside": int((~inside).sum()),
            "median_inside": med(vol[inside]), "median_outside": med(vol[~inside]), "rho": rho}


def liu_count_task(model: int, seed: int, weights, biases, *, circle_sizes: Sequence[int] = (),
                   fraction: float = 0.25, landscape: bool = True, code: str = "") -> dict:
    """Stage 2 of the count sweep: count one trained network's regions (a
    :func:`relutopo.sweep.run_sweep` task; the weights are part of its cache key).

    Returns ``model``, ``seed``, ``box`` (regions in ``[-1, 1]^m``), ``whole`` (in ``R^m``),
    ``bounded`` / ``unbounded`` (in ``R^m``), per circle size ``n`` (model (12) only) the
    entries of :func:`circle_statistics` suffixed ``_<n>``, with ``landscape`` the entries of
    :func:`landscape_statistics` prefixed ``landscape_``, and ``seconds``.
    """
    from relutopo.decompose import decompose
    from relutopo.domains import Box

    t0 = time.perf_counter()
    net = ReluNet([np.asarray(W) for W in weights], [np.asarray(b) for b in biases])
    box = decompose(net, Box(-1.0, 1.0, dim=net.input_dim))
    whole = decompose(net, None)
    out = {"model": int(model), "seed": int(seed), "box": box.n_regions,
           "whole": whole.n_regions, "bounded": whole.n_bounded, "unbounded": whole.n_unbounded}
    for n in circle_sizes:
        if net.input_dim != 3:
            raise ValueError(f"circle_sizes needs model 12 (input R^3); got model {model}")
        out.update({f"{k}_{n}": v for k, v in circle_statistics(net, int(n), fraction).items()})
    if landscape:
        out.update({f"landscape_{k}": v for k, v in landscape_statistics(whole).items()})
    out["seconds"] = time.perf_counter() - t0
    return out


def net_of(row: dict) -> ReluNet:
    """The :class:`~relutopo.nets.ReluNet` of a row of :func:`liu_train_task`."""
    return ReluNet([np.asarray(W) for W in row["weights"]], [np.asarray(b) for b in row["biases"]])



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


def _source_hash(objects) -> str:
    import hashlib
    import importlib
    import inspect

    h = hashlib.sha256()
    for obj in objects:
        try:
            obj = importlib.import_module(obj) if isinstance(obj, str) else obj
            h.update(inspect.getsource(obj).encode())
        except (ImportError, OSError, TypeError):
            h.update(f"<missing {obj}>".encode())
    return h.hexdigest()[:16]


def training_fingerprint() -> str:
    """A hash of the code that trains the networks (``relutopo.train`` and this module's training
    functions); pass it as ``code`` to :func:`liu_train_task` so cached networks are retrained
    when that code changes, and only then."""
    return _source_hash(["relutopo.train", "relutopo.nets", liu_target, liu_training_data,
                         train_liu_model, liu_train_task])


def counting_fingerprint() -> str:
    """A hash of the code that counts the regions (the engine's modules and this module's
    counting functions); ``code`` of :func:`liu_count_task`."""
    return _source_hash(["relutopo.decompose", "relutopo.vertex_refine", "relutopo.chebyshev",
                         "relutopo.decomposition", "relutopo.polyhedra", "relutopo.domains",
                         "relutopo.homology", "relutopo.patterns", "relutopo.nets",
                         circle_statistics, landscape_statistics, liu_count_task])


def train_tasks(models: Sequence[int], n_seeds: int, base_seed: int, training: dict) -> list:
    """The stage-1 tasks of the count sweep: ``n_seeds`` seeds per model, each seed
    ``task_seed(base_seed, "liu", model, i)``; ``training[model]`` holds the keyword arguments of
    :func:`train_liu_model` for that model."""
    from relutopo.sweep import task_seed

    code = training_fingerprint()
    return [dict(model=int(m), seed=task_seed(int(base_seed), "liu", int(m), i), code=code,
                 **training[m]) for m in models for i in range(int(n_seeds))]
