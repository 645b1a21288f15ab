"""Experiment tasks of the relative-homology notebook (Beshkov, arXiv 2502.01360).

Module-level functions so that :func:`relutopo.sweep.run_sweep` can ship them to worker
processes: each trains a seeded ReLU MLP on a generated data set (:mod:`relutopo.papers.beshkov.nested`)
and summarises its overlap decomposition (:mod:`relutopo.overlap`) and quotient homology
(:mod:`relutopo.relative`). They return plain dicts of numbers.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from relutopo.papers.beshkov.nested import concentric_spheres, nested_dataset, xor_blobs
from relutopo.errors import LPError
from relutopo.nets import ReluNet
from relutopo.overlap import OverlapDecomposition, overlap_decomposition
from relutopo.relative import betti_at, quotient_barcodes

__all__ = ["classification_data", "train_net", "overlap_summary", "overlap_training_task",
           "init_overlap_task", "quotient_betti_by_depth", "quotient_betti_task", "curve_task",
           "unglued_crossings", "Stopwatch"]

def _timed(fn):
    """Add ``cpu_seconds`` (this process's CPU time of the call) to a task's result dict, so that
    a chapter can report compute independently of the machine's load."""
    import functools
    import time

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t0 = time.process_time()
        out = fn(*args, **kwargs)
        out["cpu_seconds"] = time.process_time() - t0
        return out

    return wrapper


_DATASETS = ("spheres1", "spheres2", "spheres3", "xor", "D-I", "D-II", "D-III")


def classification_data(name: str, n: int, seed: int):
    """``(X, y)`` of a named data set: ``spheresK`` (two interleaved pairs of ``S^K``, ``n`` points
    per sphere), ``xor`` (``n`` per blob), ``D-I``/``D-II``/``D-III`` (``n`` per component)."""
    if name.startswith("spheres") and name in _DATASETS:
        return concentric_spheres(n, int(name[-1]), seed=seed)
    if name == "xor":
        return xor_blobs(n, seed=seed)
    if name in ("D-I", "D-II", "D-III"):
        ds = nested_dataset(name, n, seed=seed)
        return ds.X, ds.y
    raise ValueError(f"unknown data set {name!r}; choose one of {_DATASETS}")


def train_net(X, y, hidden: Sequence[int], *, seed: int, epochs: int, lr: float = 1e-2,
              task: str = "multiclass", batch_size=None, checkpoint_epochs: Sequence[int] = ()):
    """Train ``mlp([d, *hidden, out])`` with :func:`relutopo.train.fit`.

    Returns ``(nets, history)`` where ``nets`` maps each checkpoint epoch (always including 0
    and ``epochs``) to the :class:`ReluNet` at that epoch.
    """
    import torch

    from relutopo.train import fit, mlp

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if task == "multiclass":
        out = int(y.max()) + 1
    else:
        out = 1 if y.ndim == 1 else y.shape[1]
    torch.set_num_threads(1)
    model = mlp([X.shape[1], *hidden, out], seed=seed)
    ckpts = sorted(set(int(e) for e in checkpoint_epochs) | {0, int(epochs)})
    model, hist = fit(model, X, y, task=task, epochs=epochs, seed=seed, lr=lr,
                      batch_size=batch_size, checkpoint_epochs=ckpts)
    nets = {}
    for e, state in hist.checkpoints.items():
        keys = sorted({k.rsplit(".", 1)[0] for k in state}, key=lambda k: int(k))
        nets[e] = ReluNet.from_weights([state[f"{k}.weight"] for k in keys],
                                       [state[f"{k}.bias"] for k in keys])
    return nets, hist


def overlap_summary(dec: OverlapDecomposition, input_dim: int = None) -> dict:
    """Counts at the deepest computed depth plus per-depth lists (JSON-friendly).

    Besides the overlap classes, the *rank classes* of the paper's equivalence (points grouped by
    the local rank of ``Phi_J`` on their region, :meth:`relutopo.overlap.DepthOverlap.rank_classes`):
    ``n_rank_classes`` distinct ranks among the data points, ``rank_histogram`` the points per
    rank, and ``rank_deficient_fraction`` the fraction of points in a region whose map has a
    kernel (rank below ``input_dim``, so points of one region can share an image).

    Examples
    --------
    The fold ``(x, y) -> (|x|, y)`` of Beshkov Sec. 3 glues the left and right halves:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, overlap_decomposition
    >>> net = ReluNet.from_weights([np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]]),
    ...                             np.array([[1.0, 1, 0, 0], [0, 0, 1, -1]])],
    ...                            [np.zeros(4), np.zeros(2)])
    >>> th = np.linspace(0, 2 * np.pi, 8, endpoint=False) + np.pi / 8
    >>> s = overlap_summary(overlap_decomposition(net, np.c_[np.cos(th), np.sin(th)], domain=Box(-2, 2, dim=2)))
    >>> sorted(s)[:4]
    ['by_depth', 'glued_fraction', 'mean_rank', 'n_classes']
    """
    last = dec.depths[-1]
    pr = last.rank_classes()
    d = int(input_dim) if input_dim is not None else int(pr.max(initial=0))
    return dict(
        n_rank_classes=int(len(np.unique(pr))),
        rank_histogram={int(k): int(v) for k, v in zip(*np.unique(pr, return_counts=True))},
        rank_deficient_fraction=float(np.mean(pr < d)) if pr.size else 0.0,
        mean_rank=float(pr.mean()) if pr.size else 0.0,
        n_regions=last.n_regions, n_overlapping_pairs=int(len(last.overlapping_pairs)),
        n_overlapping_regions=int(len(last.overlapping_regions)), n_classes=last.n_classes,
        glued_fraction=last.glued_fraction,
        overlapping_region_fraction=float(len(last.overlapping_regions) / max(1, last.n_regions)),
        overlap_volume=last.overlap_volume,
        overlap_region_volumes=[float(v) for v in (last.region_volumes[last.overlapping_regions]
                                                   if last.region_volumes is not None else [])],
        by_depth=dec.summary())


@_timed
def overlap_training_task(dataset: str, n: int, width: int, depth: int, seed: int, epochs: int,
                          lr: float = 1e-2, checkpoint_epochs: Sequence[int] = (),
                          volumes: bool = False, box: float = 100.0) -> dict:
    """Train a ``depth x width`` ReLU MLP on ``dataset`` and decompose it at each checkpoint.

    Returns ``{"accuracy": final train accuracy, "epochs": [...], "stats": [overlap_summary per
    checkpoint]}``.
    """
    X, y = classification_data(dataset, n, seed)
    nets, hist = train_net(X, y, [width] * depth, seed=seed, epochs=epochs, lr=lr,
                           checkpoint_epochs=checkpoint_epochs)
    out = {"accuracy": float(hist.train_acc[-1]), "epochs": sorted(nets), "stats": []}
    for e in sorted(nets):
        dec = overlap_decomposition(nets[e], X, domain=box, volumes=volumes)
        out["stats"].append(overlap_summary(dec, X.shape[1]))
    return out


@_timed
def init_overlap_task(dataset: str, n: int, width: int, depth: int, seed: int,
                      volumes: bool = False, box: float = 100.0) -> dict:
    """Overlap and rank classes of an untrained ``depth x width`` network (PyTorch's default
    initialisation, seeded) on ``dataset``: the author's width x depth grid, which decomposes
    networks at initialisation (``analysis/num_overlap_test.py``).

    Returns :func:`overlap_summary` of the output depth plus ``seconds``.
    """
    import time

    import torch

    from relutopo.train import mlp

    t0 = time.perf_counter()
    X, y = classification_data(dataset, n, seed)
    torch.set_num_threads(1)
    net = ReluNet.from_torch(mlp([X.shape[1], *([width] * depth), int(y.max()) + 1], seed=seed))
    dec = overlap_decomposition(net, X, domain=box, volumes=volumes)
    out = overlap_summary(dec, X.shape[1])
    out["seconds"] = time.perf_counter() - t0
    return out


def quotient_betti_by_depth(dec: OverlapDecomposition, D, eps: float, maxdim: int,
                            thresh: float = None) -> np.ndarray:
    """Betti numbers at ``eps`` of the data quotiented by the overlap classes, per depth.

    Row 0 is the input (no classes), row ``l`` depth ``l`` of ``dec`` (method (a)). The Rips
    complexes are built up to ``thresh`` (default ``2 eps``).

    Examples
    --------
    Eight points on a circle through the fold ``(x, y) -> (|x|, y)`` (rows: input, depth 1, output):
    the loop survives depth 1; at the output the left and right halves are glued and the circle
    folds onto an arc, without a loop:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, overlap_decomposition
    >>> net = ReluNet.from_weights([np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]]),
    ...                             np.array([[1.0, 1, 0, 0], [0, 0, 1, -1]])],
    ...                            [np.zeros(4), np.zeros(2)])
    >>> th = np.linspace(0, 2 * np.pi, 8, endpoint=False) + np.pi / 8
    >>> X = np.c_[np.cos(th), np.sin(th)]
    >>> dec = overlap_decomposition(net, X, domain=Box(-2, 2, dim=2))
    >>> D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    >>> quotient_betti_by_depth(dec, D, 0.8, 1).tolist()
    [[1, 1], [1, 1], [1, 0]]
    """
    th = 2 * eps if thresh is None else thresh
    seen = {}

    def betti(classes):
        key = tuple(tuple(int(i) for i in c) for c in classes)
        if key not in seen:  # classes often stay the same over several depths
            seen[key] = betti_at(quotient_barcodes(D, classes, maxdim=maxdim, thresh=th), eps)
        return seen[key]

    rows = [betti([])]
    for d in dec.depths:
        rows.append(betti(d.classes))
    return np.array(rows)


def _distances(X, metric: str, k: int):
    """Euclidean distances, or Naitzat's hop distances in the k-NN graph (``metric="knn"``)."""
    from scipy.spatial.distance import cdist

    from relutopo.relative import knn_geodesic_distances

    if metric == "euclidean":
        return cdist(X, X)
    if metric == "knn":
        return knn_geodesic_distances(X, k)
    raise ValueError(f"metric must be 'euclidean' or 'knn'; got {metric!r}")


@_timed
def quotient_betti_task(dataset: str, n: int, hidden: Sequence[int], seed: int, epochs: int,
                        label: int, eps: float, maxdim: int, metric: str = "euclidean",
                        k: int = 10, lr: float = 1e-2, box: float = 100.0,
                        batch_size=None) -> dict:
    """Betti numbers of one class through depth: quotient by ``O_Phi`` vs the representation.

    Trains ``mlp([d, *hidden, classes])`` on ``dataset`` (Adam, ``lr``, ``batch_size``; full batch
    when ``None``), keeps the correctly classified points
    of class ``label`` (misclassified points would be glued to the other class, as in the
    paper's analysis), decomposes the network on them and returns, per depth ``0..L+1``, the
    Betti numbers at ``eps`` of (i) the data quotiented by the accumulated overlap classes
    (method (a)) and (ii) the layer's representation (Vietoris--Rips of the activations with the
    same metric), plus the overlap counts and ``class_betti``, the Betti numbers of the whole class
    (all its points, before the misclassified ones are dropped). ``k_used`` is the number of
    neighbours of the k-NN metric (``k``, or fewer when fewer points are left). When a linear
    program of the decomposition cannot be solved (:class:`relutopo.errors.LPError`), the result
    holds ``error`` (the message) instead of the Betti numbers; so does a network that classifies
    fewer than three points of ``label`` correctly (``"untrained: ..."``).
    """
    from relutopo.relative import rips_barcodes

    X, y = classification_data(dataset, n, seed)
    # with the hop metric (integer distances) the complex at eps is all we need
    th = eps if metric == "knn" else 2 * eps
    full = betti_at(rips_barcodes(_distances(X[y == label], metric, k), maxdim, thresh=th), eps)
    nets, hist = train_net(X, y, hidden, seed=seed, epochs=epochs, lr=lr, batch_size=batch_size)
    net = nets[epochs]
    pred = net.forward(X).argmax(axis=1)
    keep = (pred == y) & (y == label)
    Xa = X[keep]
    if len(Xa) < 3:  # the network did not learn the class: reported, the chapter counts these
        return dict(accuracy=float(hist.train_acc[-1]), n_points=int(len(Xa)), k_used=int(k),
                    class_betti=full.tolist(),
                    error=f"untrained: only {len(Xa)} points of class {label} classified correctly "
                          f"after {epochs} epochs")
    k = min(int(k), len(Xa) - 1)  # the k-NN graph needs k < number of points
    D = _distances(Xa, metric, k)
    try:
        dec = overlap_decomposition(net, Xa, domain=box)
    except LPError as exc:  # reported, not hidden: the chapter counts these
        return dict(accuracy=float(hist.train_acc[-1]), n_points=int(len(Xa)), k_used=k,
                    class_betti=full.tolist(), error=f"{type(exc).__name__}: {exc}")
    quotient = quotient_betti_by_depth(dec, D, eps, maxdim, thresh=th)
    rep = [betti_at(rips_barcodes(D, maxdim, thresh=th), eps)]
    h = Xa
    for w, b in zip(net.weights[:-1], net.biases[:-1]):
        h = np.maximum(h @ w.T + b, 0.0)
        rep.append(betti_at(rips_barcodes(_distances(h, metric, k), maxdim, thresh=th), eps))
    out = net.forward(Xa)
    rep.append(betti_at(rips_barcodes(_distances(out, metric, k), maxdim, thresh=th), eps))
    return dict(accuracy=float(hist.train_acc[-1]), n_points=int(len(Xa)), k_used=k, class_betti=full.tolist(),
                quotient_betti=quotient.tolist(), representation_betti=np.array(rep).tolist(),
                n_classes=[d.n_classes for d in dec.depths],
                glued_fraction=[d.glued_fraction for d in dec.depths])


@_timed
def curve_task(n: int, n_loops: int, seed: int, epochs: int, eps: float = 2.5, lr: float = 1e-2,
               hidden: Sequence[int] = (8, 8, 8), box: float = 10.0) -> dict:
    """The self-intersecting-curve experiment for one seed.

    Fits ``1 -> hidden -> 2`` to :func:`relutopo.papers.beshkov.nested.self_intersecting_curve` (MSE), decomposes it on the
    inputs, and returns the quotient Betti numbers at the output depth by both methods, the
    exact crossings of the fitted curve (:func:`relutopo.overlap.curve_self_crossings`), the
    Betti numbers of the fitted curve's sample, and arrays for plotting. ``eps`` is in units of
    the sampling step: ``eps`` times the input spacing for the input and its quotient, ``eps``
    times the largest step between consecutive outputs for the fitted curve.
    """
    from scipy.spatial.distance import cdist

    from relutopo.papers.beshkov.nested import self_intersecting_curve
    from relutopo.overlap import curve_self_crossings
    from relutopo.relative import relative_betti, rips_barcodes

    s, Y, _ = self_intersecting_curve(n, n_loops)
    nets, hist = train_net(s, Y, list(hidden), seed=seed, epochs=epochs, lr=lr, task="regression")
    net = nets[epochs]
    dec = overlap_decomposition(net, s, domain=box)
    last = dec.depths[-1]
    D = cdist(s, s)
    out = net.forward(s)
    cr = curve_self_crossings(net, float(s.min()), float(s.max()))
    eps_in = eps * float(np.max(np.diff(s[:, 0])))
    eps_out = eps * float(np.max(np.linalg.norm(np.diff(out, axis=0), axis=1)))
    return dict(eps_input=eps_in, eps_output=eps_out,
        loss=float(hist.train_loss[-1]), n_crossings=int(len(cr)), crossings=cr.tolist(),
        quotient_betti=betti_at(quotient_barcodes(D, last.classes, 1), eps_in).tolist(),
        complex_betti=relative_betti(D, last.classes, eps_in, 1, method="quotient").tolist(),
        output_betti=betti_at(rips_barcodes(cdist(out, out), 1), eps_out).tolist(),
        input_betti=betti_at(rips_barcodes(D, 1), eps_in).tolist(),
        n_overlapping_pairs=int(len(last.overlapping_pairs)),
        class_labels=last.class_labels.tolist(), s=s[:, 0].tolist(), output=out.tolist(),
        target=Y.tolist(), by_depth=dec.summary())


def unglued_crossings(result: dict, reach: float = 3.0) -> list:
    """The exact self-crossings of a fitted curve that the overlap classes did not glue.

    ``result`` is a :func:`curve_task` result. A crossing ``Phi(a) = Phi(b)`` counts as glued when
    one overlap class has data points within ``reach`` input spacings of both ``a`` and ``b``. The
    quotient is computed on the sample, so a crossing whose preimages have no data on both sides
    in their linear pieces (the data's convex hulls then do not meet) is not glued, and the
    quotient's ``beta_1`` misses its loop: a limit of the discretisation, not of the theory.

    Returns the unglued crossings as ``(a, b)`` pairs.

    Examples
    --------
    Two crossings; only the points near the first one share a class:

    >>> r = dict(s=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5], class_labels=[0, -1, 0, -1, -1, -1],
    ...          crossings=[[0.0, 0.2], [0.3, 0.5]])
    >>> unglued_crossings(r, reach=0.6)
    [(0.3, 0.5)]
    """
    s = np.asarray(result["s"], dtype=np.float64)
    lab = np.asarray(result["class_labels"])
    step = float(np.max(np.diff(s))) if len(s) > 1 else 1.0
    out = []
    for a, b in result["crossings"]:
        near_a = set(lab[(np.abs(s - a) <= reach * step) & (lab >= 0)].tolist())
        near_b = set(lab[(np.abs(s - b) <= reach * step) & (lab >= 0)].tolist())
        if not near_a & near_b:
            out.append((float(a), float(b)))
    return out


class Stopwatch:
    """Wall and CPU seconds per notebook section, CPU counted across sweep workers.

    ``start(name)`` opens a section; ``stop(results)`` closes it, adding the ``cpu_seconds``
    that :func:`relutopo.sweep.run_sweep` tasks of this module report when they ran in worker
    processes (``in_process=False``; with one job they ran here and this process's CPU time
    already holds them). CPU seconds do not depend on the machine's load, wall seconds do.

    Examples
    --------
    >>> sw = Stopwatch(in_process=False)
    >>> sw.start("a"); sw.stop([{"cpu_seconds": 2.0}])
    >>> sw.table["a"]["cpu"] >= 2.0
    True
    """

    def __init__(self, in_process: bool):
        self.in_process = bool(in_process)
        self.table = {}
        self._open = None

    def start(self, name: str) -> None:
        import time

        self._open = (name, time.perf_counter(), time.process_time())

    def stop(self, results=()) -> None:
        import time

        if self._open is None:
            raise RuntimeError("Stopwatch.stop() without start()")
        name, w0, c0 = self._open
        cpu = time.process_time() - c0
        if not self.in_process:
            cpu += sum(float(r.get("cpu_seconds", 0.0)) for r in results if isinstance(r, dict))
        self.table[name] = {"wall": time.perf_counter() - w0, "cpu": cpu}
        self._open = None
