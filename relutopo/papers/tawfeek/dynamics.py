"""The cell complex of a network along training (Tawfeek et al. 2025): per-checkpoint geometry.

Two experiments, each a module-level task function for :func:`relutopo.sweep.run_sweep` (one
call = one seed; everything random is seeded by the task's ``seed``):

* :func:`grokking_task` -- binary classification in 2-D (:mod:`relutopo.papers.tawfeek.grokking`): train
  with AdamW from a scaled-up initialisation, and at each checkpoint decompose the box, build the
  cell complex, compute the weighted Fiedler partition of the dual graph for every weighting and
  compare it with the decision boundary (:func:`partition_vs_boundary`).
* :func:`regression_task` -- regression of a surface (:mod:`relutopo.papers.tawfeek.surfaces`): at each
  checkpoint the f-vector and the Betti curves of random face-respecting filtrations
  (:func:`betti_summary`).

Everything here composes :mod:`relutopo.complex`, :mod:`relutopo.filtration` and
:mod:`relutopo.spectral`; the notebook only plots and states claims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from relutopo.tolerances import ROUNDING_RTOL
from relutopo.complex import CellComplex, cell_complex, sample_convex_pieces
from relutopo.filtration import betti_curve, betti_curves, cycle_ranks, filtration_order
from relutopo.nets import ReluNet
from relutopo.spectral import (WEIGHTINGS, SpectralError, cut_agreement, cut_facets, cut_kappa,
                       dual_graph_of_complex, fiedler_partition, hausdorff_distance)

__all__ = ["output_maps", "PartitionResult", "partition_vs_boundary", "BettiSummary",
           "betti_summary", "complex_checks", "grokking_task", "regression_task", "rise_epoch", "grokking_times", "scale_parameters_",
           "net_from_state"]


def output_maps(dec) -> tuple:
    """``(a, b)`` with the (single) output ``F(x) = a_r . x + b_r`` on region ``r`` of ``dec``.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> a, b = output_maps(decompose(net, Box(-1, 1, dim=2)))
    >>> a.shape, b.shape
    ((4, 2), (4,))
    """
    if dec.net.output_dim != 1:
        raise ValueError(f"the decision boundary needs a network with one output logit; this one "
                         f"has {dec.net.output_dim} outputs")
    from relutopo.linear_regions import pattern_output_maps

    A, c = pattern_output_maps(dec.net, np.asarray(dec.patterns, dtype=bool))
    return A[:, 0, :].reshape(-1, dec.dim), c[:, 0]


def complex_checks(K: CellComplex, dec, edges=None) -> dict:
    """``K.check()`` plus agreement with the engine: one d-cell per region and the same dual
    graph (the engine finds neighbours by crossing facets, the complex by shared faces).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> dec = decompose(net, Box(-1, 1, dim=2))
    >>> checks = complex_checks(cell_complex(dec), dec)
    >>> all(bool(v) for k, v in checks.items() if isinstance(v, (bool, np.bool_)))
    True
    """
    out = K.check()
    if edges is None:
        edges = dual_graph_of_complex(K).edges
    out["regions_equal"] = bool(K.f_vector[K.dim] == dec.n_regions)
    out["dual_graph_equal"] = (set(map(frozenset, map(tuple, np.asarray(edges).tolist())))
                               == set(map(frozenset, dec.dual_graph.edges())))
    return out


@dataclass(frozen=True)
class PartitionResult:
    """Fiedler partitions of one network's dual graph against its decision boundary.

    ``agreement[w]``: fraction of the box where the side of weighting ``w`` matches the predicted
    class (best over the label swap; :func:`relutopo.spectral.cut_agreement`);
    ``hausdorff[w]``: Hausdorff distance between the cut facets and the decision boundary
    (sampled at ``spacing``; nan if either is empty); ``kappa[w]``: the chance-corrected
    agreement (:func:`relutopo.spectral.cut_kappa`); ``fiedler_value[w]``: ``lambda_2``.
    ``complex``, ``sides`` and ``boundary_pieces`` are kept only with ``keep_geometry=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), -np.ones(1)])
    >>> res = partition_vs_boundary(net, [-1, -1], [1, 1], np.zeros((1, 2)), weightings=("unweighted",))
    >>> 0.5 <= res.agreement["unweighted"] <= 1.0, 0.0 <= res.positive_fraction <= 1.0
    (True, True)
    """

    n_regions: int
    f_vector: tuple
    checks: dict
    agreement: dict
    kappa: dict
    hausdorff: dict
    fiedler_value: dict
    positive_fraction: float
    complex: Optional[CellComplex] = None
    sides: dict = field(default_factory=dict)
    boundary_pieces: tuple = ()


def partition_vs_boundary(net: ReluNet, lo, hi, X_train, *, weightings: Sequence[str] = WEIGHTINGS,
                          spacing: float = 0.01, keep_geometry: bool = False) -> PartitionResult:
    """Decompose ``[lo, hi]`` (2-D or 3-D), build the complex, and score each weighted Fiedler
    partition against the decision boundary ``F = 0`` (see :class:`PartitionResult`).

    Examples
    --------
    Tawfeek et al.'s weighted Fiedler partitions against the decision boundary ``F = 0`` of a
    2 -> 2 -> 1 network on ``[-1, 1]^2``:

    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), -np.ones(1)])
    >>> X = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    >>> res = partition_vs_boundary(net, [-1, -1], [1, 1], X, weightings=("unweighted",))
    >>> res.n_regions, res.f_vector, sorted(res.agreement)
    (4, (9, 12, 4), ['unweighted'])
    """
    from relutopo.decompose import decompose
    from relutopo.domains import Box

    for w in weightings:
        if w not in WEIGHTINGS:
            raise ValueError(f"weightings must be among {WEIGHTINGS}; got {w!r}")
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    dec = decompose(net, Box(lo, hi, dim=net.input_dim))
    K = cell_complex(dec)
    a, b = output_maps(dec)
    pos, neg = K.split_volumes(a, b)
    pieces = K.zero_set_pieces(a, b)
    boundary_pts = sample_convex_pieces(pieces, spacing) if pieces else np.zeros((0, K.dim))
    edges, vols, _ = dual_graph_of_complex(K)
    regions_of_x = dec.locate(X_train)
    agreement, kappa, haus, lam, sides = {}, {}, {}, {}, {}
    for w in weightings:
        try:
            part = fiedler_partition(edges, dec.n_regions, weighting=w, point_regions=regions_of_x,
                                     facet_volumes=vols)
        except SpectralError:  # a single region: no partition
            agreement[w] = kappa[w] = haus[w] = lam[w] = float("nan")
            continue
        agreement[w] = cut_agreement(part.side, pos, neg)
        kappa[w] = cut_kappa(part.side, pos, neg)
        cut = cut_facets(K, part.side)
        cut_pts = sample_convex_pieces([K.vertices[K.cells[K.dim - 1][i]] for i in cut], spacing) \
            if len(cut) else np.zeros((0, K.dim))
        haus[w] = hausdorff_distance(cut_pts, boundary_pts)
        lam[w] = part.value
        sides[w] = part.side
    return PartitionResult(
        n_regions=dec.n_regions, f_vector=tuple(int(x) for x in K.f_vector),
        checks=complex_checks(K, dec, edges), agreement=agreement, kappa=kappa,
        hausdorff=haus, fiedler_value=lam, positive_fraction=float(pos.sum() / (pos.sum() + neg.sum())),
        complex=K if keep_geometry else None, sides=sides if keep_geometry else {},
        boundary_pieces=tuple(pieces) if keep_geometry else ())


@dataclass(frozen=True)
class BettiSummary:
    """Betti curves of one complex under random face-respecting filtrations.

    ``mean_curve`` (``n_grid``, d+1): the mean over orders of ``beta_k`` at filtration fraction
    ``t / n_cells`` on an even grid of [0, 1]; ``max_mean`` the maxima of the mean curve;
    ``mean_max`` the mean over orders of each curve's maxima; ``area`` the mean curve's area
    (``sum_t beta_k(t) / n_cells``); ``dimension_max`` the maxima of the dimension-sorted
    order; ``cycle_ranks`` ``z_k`` (the bound of every maximum).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> s = betti_summary(cell_complex(decompose(net, Box(-1, 1, dim=2))), 4, seed=0, n_grid=11)
    >>> s.f_vector, s.cycle_ranks, s.mean_curve.shape
    ((9, 12, 4), (9, 4, 0), (11, 3))
    """

    f_vector: tuple
    cycle_ranks: tuple
    dimension_max: tuple
    max_mean: tuple
    mean_max: tuple
    area: tuple
    mean_curve: np.ndarray


def betti_summary(K: CellComplex, n_orders: int, *, seed, kind: str = "random",
                  n_grid: int = 101) -> BettiSummary:
    """Summaries of the Betti curves of ``n_orders`` random filtrations of ``K``.

    Examples
    --------
    Tawfeek et al.: Betti curves of random filtrations; their maxima are bounded by the cycle ranks
    and reveal the f-vector:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> s = betti_summary(cell_complex(decompose(net, Box(-1, 1, dim=2))), 4, seed=0, n_grid=11)
    >>> s.dimension_max, all(m <= z for m, z in zip(s.dimension_max, s.cycle_ranks))
    ((9, 4, 0), True)
    """
    curves = betti_curves(K, n_orders, kind=kind, seed=seed).astype(np.float64)
    n = K.n_cells
    mean = curves.mean(axis=0)
    grid = np.linspace(0, 1, n_grid)
    idx = np.rint(grid * n).astype(int)
    dim_max = betti_curve(K, filtration_order(K, "dimension")).maxima
    return BettiSummary(
        f_vector=tuple(int(x) for x in K.f_vector), cycle_ranks=tuple(int(x) for x in cycle_ranks(K)),
        dimension_max=tuple(int(x) for x in dim_max), max_mean=tuple(mean.max(axis=0).tolist()),
        mean_max=tuple(curves.max(axis=1).mean(axis=0).tolist()),
        area=tuple((mean.sum(axis=0) / n).tolist()), mean_curve=mean[idx])


# ---------------------------------------------------------------------------- training helpers
def scale_parameters_(model, factor: float) -> None:
    """Multiply every parameter of a torch model by ``factor`` in place (Omnigrok-style large
    initialisation, Liu, Michaud & Tegmark 2023).

    Examples
    --------
    >>> import torch
    >>> from relutopo.train import mlp
    >>> m = mlp((2, 3, 1), seed=0)
    >>> w = m[0].weight.detach().clone()
    >>> scale_parameters_(m, 8.0)
    >>> torch.allclose(m[0].weight, 8.0 * w)
    True
    """
    import torch

    with torch.no_grad():
        for p in model.parameters():
            p.mul_(float(factor))


def net_from_state(sizes, state: dict) -> ReluNet:
    """The :class:`ReluNet` of an ``mlp(sizes)`` checkpoint (a state_dict of numpy arrays).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from relutopo.train import mlp
    >>> m = mlp((2, 3, 1), seed=0)
    >>> net = net_from_state((2, 3, 1), {k: v.detach().numpy() for k, v in m.state_dict().items()})
    >>> x = np.array([[0.5, -0.25]])
    >>> ours = net.forward(x)
    >>> theirs = m(torch.as_tensor(x, dtype=m[0].weight.dtype)).detach().numpy()
    >>> net.hidden_sizes, bool(np.allclose(ours, theirs, atol=1e-6))
    ((3,), True)
    """
    ws = [np.asarray(v, dtype=np.float64) for k, v in state.items() if k.endswith("weight")]
    bs = [np.asarray(v, dtype=np.float64) for k, v in state.items() if k.endswith("bias")]
    net = ReluNet.from_weights(ws, bs)
    if (net.input_dim, *net.hidden_sizes, net.output_dim) != tuple(sizes):
        raise ValueError(f"checkpoint has architecture {net!r}, expected {tuple(sizes)}")
    return net


def rise_epoch(epochs, values, fraction: float = 0.5, start=None) -> float:
    """First epoch at which ``values`` has covered ``fraction`` of its rise from ``values[start]``
    (default the first value) to its final value; nan when it does not rise.

    Examples
    --------
    Half of the rise from 0.5 to 1.0 is reached at epoch 20:

    >>> rise_epoch([0, 10, 20, 30], [0.5, 0.6, 0.8, 1.0])
    20.0
    """
    e = np.asarray(epochs, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    i0 = 0 if start is None else int(np.searchsorted(e, start))
    v0, v1 = v[i0], v[-1]
    if not np.isfinite(v0) or not np.isfinite(v1) or v1 <= v0:
        return float("nan")
    hit = np.flatnonzero(v[i0:] >= v0 + fraction * (v1 - v0))
    return float(e[i0 + hit[0]])


def grokking_times(epochs, train_acc, test_acc, *, tol: float = 0.02) -> dict:
    """When a run memorises and when it generalises.

    ``fit_epoch``: first epoch with training accuracy 1; ``generalise_epoch``: the first epoch
    from which on the test accuracy never drops below ``final - tol``; ``test_at_fit`` / ``test_final``;
    ``delay_ratio = generalise_epoch / max(fit_epoch, 1)``; ``gain = test_final - test_at_fit``.

    Examples
    --------
    A run that fits at epoch 10 and generalises at epoch 40 (grokking):

    >>> t = grokking_times([0, 10, 20, 40, 50], [0.5, 1.0, 1.0, 1.0, 1.0], [0.5, 0.6, 0.6, 0.99, 1.0])
    >>> t["fit_epoch"], t["generalise_epoch"]
    (10, 40)
    """
    e = np.asarray(epochs)
    tr = np.asarray(train_acc, dtype=np.float64)
    te = np.asarray(test_acc, dtype=np.float64)
    full = np.flatnonzero(tr >= 1.0 - ROUNDING_RTOL)
    fit_i = int(full[0]) if len(full) else len(e) - 1
    final = float(te[-1])
    below = np.flatnonzero(te < final - tol)
    gen_i = int(below[-1]) + 1 if len(below) else 0
    gen_i = min(gen_i, len(e) - 1)
    return {"fit_epoch": int(e[fit_i]), "memorised": bool(len(full)),
            "generalise_epoch": int(e[gen_i]), "test_at_fit": float(te[fit_i]), "test_final": final,
            "delay_ratio": float(e[gen_i] / max(e[fit_i], 1)), "gain": float(final - te[fit_i])}


# ---------------------------------------------------------------------------- task functions
def grokking_task(*, seed: int, n_train: int, n_test: int, boundary: str, amplitude: float,
                  frequency: float, sizes: Sequence[int], init_scale: float, weight_decay: float,
                  lr: float, epochs: int, checkpoint_epochs: Sequence[int],
                  weightings: Sequence[str] = WEIGHTINGS, spacing: float = 0.01,
                  keep_geometry: bool = False) -> dict:
    """Train one grokking run and analyse its checkpoints (see the module docstring).

    Returns a dict with the data, the per-epoch history (``epochs, train_acc, test_acc,
    train_loss, test_loss``) and ``checkpoints``: a list of ``(epoch, PartitionResult)``.
    """
    import torch

    from relutopo.papers.tawfeek.grokking import grokking_data
    from relutopo.train import fit, mlp

    torch.set_num_threads(1)
    data = grokking_data(n_train, n_test, seed=seed, boundary=boundary, amplitude=amplitude,
                         frequency=frequency)
    model = mlp(list(sizes), seed=seed)
    scale_parameters_(model, init_scale)
    _, hist = fit(model, data.X_train, data.y_train, task="binary", epochs=epochs, seed=seed, lr=lr,
                  weight_decay=weight_decay, optimizer="adamw", X_test=data.X_test,
                  y_test=data.y_test, checkpoint_epochs=checkpoint_epochs)
    results = []
    for ep in sorted(hist.checkpoints):
        net = net_from_state(sizes, hist.checkpoints[ep])
        results.append((ep, partition_vs_boundary(net, [data.lo] * 2, [data.hi] * 2, data.X_train,
                                                  weightings=weightings, spacing=spacing,
                                                  keep_geometry=keep_geometry)))
    return {"seed": seed, "data": data, "epochs": np.array(hist.epochs),
            "train_acc": np.array(hist.train_acc), "test_acc": np.array(hist.test_acc),
            "train_loss": np.array(hist.train_loss), "test_loss": np.array(hist.test_loss),
            "checkpoints": results}


def regression_task(*, seed: int, n_train: int, surface: str, sizes: Sequence[int], lr: float,
                    weight_decay: float, epochs: int, checkpoint_epochs: Sequence[int],
                    n_orders: int, kind: str = "random", keep_geometry_at: Sequence[int] = ()) -> dict:
    """Train one regression run; at each checkpoint the complex's f-vector and Betti summary.

    Returns the per-epoch training loss and ``checkpoints``: a list of
    ``(epoch, train_loss, BettiSummary, checks)`` (``checks`` from :func:`complex_checks`); ``complexes`` maps the epochs in ``keep_geometry_at``
    to their :class:`CellComplex`.
    """
    import torch

    from relutopo.papers.tawfeek.surfaces import surface_regression_data
    from relutopo.decompose import decompose
    from relutopo.domains import Box
    from relutopo.train import fit, mlp

    torch.set_num_threads(1)
    X, y = surface_regression_data(n_train, seed=seed, kind=surface)
    model = mlp(list(sizes), seed=seed)
    _, hist = fit(model, X, y, task="regression", epochs=epochs, seed=seed, lr=lr,
                  weight_decay=weight_decay, optimizer="adam", checkpoint_epochs=checkpoint_epochs)
    out, keep = [], {}
    for ep in sorted(hist.checkpoints):
        net = net_from_state(sizes, hist.checkpoints[ep])
        dec = decompose(net, Box(-1, 1, dim=2))
        K = cell_complex(dec)
        out.append((ep, float(hist.train_loss[ep]), betti_summary(K, n_orders, seed=(seed, ep), kind=kind),
                    complex_checks(K, dec)))
        if ep in keep_geometry_at:
            keep[ep] = K
    return {"seed": seed, "epochs": np.array(hist.epochs), "train_loss": np.array(hist.train_loss),
            "checkpoints": out, "complexes": keep}
