"""Experiment tasks of the relative-homology notebook (Beshkov, arXiv 2502.01360).

Module-level functions so that :func:`relutopo.sweep.run_sweep` can ship them to worker
processes: each trains a seeded ReLU MLP on a generated data set (:mod:`relutopo.data.nested`)
and summarises its overlap decomposition (:mod:`relutopo.overlap`) and quotient homology
(:mod:`relutopo.relative`). They return plain dicts of numbers.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .data.nested import concentric_spheres, nested_dataset, xor_blobs
from .nets import ReluNet
from .overlap import OverlapDecomposition, overlap_decomposition
from .relative import betti_at, quotient_barcodes

__all__ = ["classification_data", "train_net", "overlap_summary", "overlap_training_task",
           "quotient_betti_by_depth"]

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

    from .train import fit, mlp

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


def overlap_summary(dec: OverlapDecomposition) -> dict:
    """Counts at the deepest computed depth plus per-depth lists (JSON-friendly)."""
    last = dec.depths[-1]
    return dict(
        n_regions=last.n_regions, n_overlapping_pairs=int(len(last.overlapping_pairs)),
        n_overlapping_regions=int(len(last.overlapping_regions)), n_classes=last.n_classes,
        glued_fraction=last.glued_fraction,
        overlapping_region_fraction=float(len(last.overlapping_regions) / max(1, last.n_regions)),
        overlap_volume=last.overlap_volume,
        overlap_region_volumes=[float(v) for v in (last.region_volumes[last.overlapping_regions]
                                                   if last.region_volumes is not None else [])],
        by_depth=dec.summary())


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
        dec = overlap_decomposition(nets[e], X, box=box, volumes=volumes)
        out["stats"].append(overlap_summary(dec))
    return out


def quotient_betti_by_depth(dec: OverlapDecomposition, D, eps: float, maxdim: int) -> np.ndarray:
    """Betti numbers at ``eps`` of the data quotiented by the overlap classes, per depth.

    Row 0 is the input (no classes), row ``l`` depth ``l`` of ``dec`` (method (a)).
    """
    rows = [betti_at(quotient_barcodes(D, [], maxdim=maxdim, thresh=2 * eps), eps)]
    for d in dec.depths:
        rows.append(betti_at(quotient_barcodes(D, d.classes, maxdim=maxdim, thresh=2 * eps), eps))
    return np.array(rows)
