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
from relutopo.spectral import (SpectralError, cut_agreement, cut_facets, cut_kappa,
                               dual_graph_of_complex, fiedler_partition, hausdorff_distance)

__all__ = ["WEIGHTS", "output_maps", "PartitionResult", "partition_vs_boundary", "BettiSummary",
           "betti_summary", "complex_checks", "grokking_task", "regression_task", "rise_epoch",
           "grokking_times", "scale_parameters_", "net_from_state", "checkpoint_schedule",
           "training_phase", "seed_spearman", "partial_spearman", "loss_spikes", "spike_windows",
           "dense_grid", "code_fingerprint"]

#: The weightings of the dual graph compared in the chapter. ``"unweighted"``: ``W_V = W_E = I``;
#: ``"train"``: ``W_V = 1 +`` (training points in the region) -- Tawfeek et al.'s weighting;
#: ``"dense"``: ``W_V = 1 +`` (points of a dense grid in the region), about proportional to the
#: region's area; ``"test"``: ``W_V = 1 +`` (test points in the region); ``"facet"``:
#: ``W_E`` = length (area) of the shared facet, ``W_V = I``.
WEIGHTS = ("unweighted", "train", "dense", "test", "facet")


#: Modules whose source is part of every cache key of this chapter's sweeps.
CODE_MODULES = ("relutopo.papers.tawfeek.dynamics", "relutopo.papers.tawfeek.grokking",
                "relutopo.papers.tawfeek.surfaces", "relutopo.complex", "relutopo.spectral",
                "relutopo.filtration", "relutopo.train")


def code_fingerprint(modules: Sequence[str] = CODE_MODULES) -> str:
    """A short hash of the source of ``modules``; pass it as the ``code`` argument of the task
    functions so that :func:`relutopo.sweep.run_sweep`'s cache is recomputed when that code changes.

    Examples
    --------
    >>> len(code_fingerprint())
    16
    """
    from relutopo import sweep

    return sweep.code_fingerprint(modules)


def output_maps(dec) -> tuple:
    """``(a, b)`` with the (single) output ``F(x) = a_r . x + b_r`` on region ``r`` of ``dec``."""
    if dec.net.output_dim != 1:
        raise ValueError(f"the decision boundary needs a network with one output logit; this one "
                         f"has {dec.net.output_dim} outputs")
    from relutopo.linear_regions import pattern_output_maps

    A, c = pattern_output_maps(dec.net, np.asarray(dec.patterns, dtype=bool))
    return A[:, 0, :].reshape(-1, dec.dim), c[:, 0]


def complex_checks(K: CellComplex, dec, edges=None) -> dict:
    """``K.check()`` plus agreement with the engine: one d-cell per region and the same dual
    graph (the engine finds neighbours by crossing facets, the complex by shared faces)."""
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


def dense_grid(lo, hi, n: int) -> np.ndarray:
    """The ``n x n`` (or ``n^3``) cell centres of a regular grid of the box ``[lo, hi]``.

    Examples
    --------
    >>> dense_grid([-1, -1], [1, 1], 2).tolist()
    [[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]]
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    if lo.shape != hi.shape or lo.ndim != 1 or np.any(hi <= lo):
        raise ValueError(f"need lo < hi, two vectors of one length; got {lo}, {hi}")
    axes = [lo[i] + (np.arange(n) + 0.5) * (hi[i] - lo[i]) / n for i in range(lo.size)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, lo.size)


def partition_vs_boundary(net: ReluNet, lo, hi, X_train, *, X_test=None, n_dense: int = 60,
                          weightings: Sequence[str] = WEIGHTS, spacing: float = 0.01,
                          keep_geometry: bool = False) -> PartitionResult:
    """Score each weighted Fiedler partition of a network's dual graph against its decision boundary.

    Decomposes ``[lo, hi]`` (2-D or 3-D), builds the cell complex, and for every weighting of
    :data:`WEIGHTS` solves ``L_E v = lambda W_V v`` (:func:`relutopo.spectral.fiedler_partition`)
    and compares the sign partition with the predicted classes (see :class:`PartitionResult`).

    Parameters
    ----------
    net : ReluNet with one output logit (class 1 where ``F > 0``).
    lo, hi : the box.
    X_train : (n, d) training points (the ``"train"`` weighting, Tawfeek et al.'s ``W_V``).
    X_test : (m, d) test points (the ``"test"`` weighting); needed only when it is asked for.
    n_dense : int
        Grid points per axis of the ``"dense"`` weighting.
    weightings : subset of :data:`WEIGHTS`.
    spacing : float
        Sampling step of the cut and of the decision boundary for the Hausdorff distance.
    keep_geometry : keep the complex, the sides and the boundary pieces (for plots).

    Examples
    --------
    The decision boundary ``x_1 = 0`` of a net whose regions are four vertical strips is exactly
    the Fiedler cut of the path ``P_4`` (the paper's Sec. on the Fiedler partition):

    >>> net = ReluNet.from_weights([np.array([[1.0, 0.0]] * 3), np.array([[1.0, 0.0, 0.0]])],
    ...                            [np.array([0.5, 0.0, -0.5]), np.array([-0.5])])
    >>> res = partition_vs_boundary(net, [-1, -1], [1, 1], np.zeros((1, 2)), weightings=["unweighted"])
    >>> res.n_regions, round(res.kappa["unweighted"], 6)
    (4, 1.0)
    """
    from relutopo.decompose import decompose
    from relutopo.domains import Box

    for w in weightings:
        if w not in WEIGHTS:
            raise ValueError(f"weightings must be among {WEIGHTS}; got {w!r}")
    if "test" in weightings and X_test is None:
        raise ValueError("the 'test' weighting needs X_test= (the test points)")
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    dec = decompose(net, Box(lo, hi, dim=net.input_dim))
    K = cell_complex(dec)
    a, b = output_maps(dec)
    pos, neg = K.split_volumes(a, b)
    pieces = K.zero_set_pieces(a, b)
    boundary_pts = sample_convex_pieces(pieces, spacing) if pieces else np.zeros((0, K.dim))
    edges, vols, _ = dual_graph_of_complex(K)
    points = {"train": X_train, "test": X_test,
              "dense": dense_grid(lo, hi, n_dense) if "dense" in weightings else None}
    agreement, kappa, haus, lam, sides = {}, {}, {}, {}, {}
    for w in weightings:
        kw = {}
        if w in points:
            kw = dict(weighting="data", point_regions=dec.locate(np.asarray(points[w], dtype=np.float64)))
        elif w == "facet":
            kw = dict(weighting="facet", facet_volumes=vols)
        else:
            kw = dict(weighting="unweighted")
        try:
            part = fiedler_partition(edges, dec.n_regions, **kw)
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
    """Summaries of the Betti curves of ``n_orders`` random filtrations of ``K``."""
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
    initialisation, Liu, Michaud & Tegmark 2023)."""
    import torch

    with torch.no_grad():
        for p in model.parameters():
            p.mul_(float(factor))


def net_from_state(sizes, state: dict) -> ReluNet:
    """The :class:`ReluNet` of an ``mlp(sizes)`` checkpoint (a state_dict of numpy arrays)."""
    ws = [np.asarray(v, dtype=np.float64) for k, v in state.items() if k.endswith("weight")]
    bs = [np.asarray(v, dtype=np.float64) for k, v in state.items() if k.endswith("bias")]
    net = ReluNet.from_weights(ws, bs)
    if (net.input_dim, *net.hidden_sizes, net.output_dim) != tuple(sizes):
        raise ValueError(f"checkpoint has architecture {net!r}, expected {tuple(sizes)}")
    return net


def rise_epoch(epochs, values, fraction: float = 0.5, start=None) -> float:
    """First epoch at which ``values`` has covered ``fraction`` of its rise from ``values[start]``
    (default the first value) to its final value; nan when it does not rise."""
    e = np.asarray(epochs, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    i0 = 0 if start is None else int(np.searchsorted(e, start))
    v0, v1 = v[i0], v[-1]
    if not np.isfinite(v0) or not np.isfinite(v1) or v1 <= v0:
        return float("nan")
    hit = np.flatnonzero(v[i0:] >= v0 + fraction * (v1 - v0))
    return float(e[i0 + hit[0]])


def grokking_times(epochs, train_acc, test_acc, *, train_threshold: float = 0.99,
                   test_threshold: float = 0.95, min_gap: int = 100) -> dict:
    """When a run memorises, when it generalises, and whether that is grokking.

    ``fit_epoch``: first epoch with training accuracy ``>= train_threshold``;
    ``generalise_epoch``: first epoch with test accuracy ``>= test_threshold`` (-1 if never);
    ``gap = generalise_epoch - fit_epoch`` (in full-batch steps); ``test_at_fit``,
    ``test_final``, ``test_max``. The run **grokked** when it memorised, generalised, and the
    generalisation came at least ``min_gap`` steps after the memorisation (so the test accuracy
    was below its threshold when the training accuracy crossed its own).

    Examples
    --------
    Training accuracy saturates at step 2, test accuracy reaches 0.95 at step 8 (a delay of 6):

    >>> e = np.arange(11)
    >>> tr = np.r_[0.5, 0.8, np.ones(9)]
    >>> te = np.r_[0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 0.9, 0.95, 0.96, 0.96]
    >>> t = grokking_times(e, tr, te, min_gap=5)
    >>> t["fit_epoch"], t["generalise_epoch"], t["gap"], t["grokked"]
    (2, 8, 6, True)
    """
    e = np.asarray(epochs)
    tr = np.asarray(train_acc, dtype=np.float64)
    te = np.asarray(test_acc, dtype=np.float64)
    if not (e.shape == tr.shape == te.shape) or e.ndim != 1 or e.size == 0:
        raise ValueError(f"epochs, train_acc and test_acc must be 1-D of one length; got "
                         f"{e.shape}, {tr.shape}, {te.shape}")
    full = np.flatnonzero(tr >= train_threshold)
    gen = np.flatnonzero(te >= test_threshold)
    fit_i = int(full[0]) if len(full) else -1
    gen_i = int(gen[0]) if len(gen) else -1
    fit_e = int(e[fit_i]) if fit_i >= 0 else -1
    gen_e = int(e[gen_i]) if gen_i >= 0 else -1
    gap = gen_e - fit_e if fit_i >= 0 and gen_i >= 0 else -1
    return {"fit_epoch": fit_e, "memorised": fit_i >= 0, "generalise_epoch": gen_e,
            "generalised": gen_i >= 0, "gap": int(gap),
            "test_at_fit": float(te[fit_i]) if fit_i >= 0 else float("nan"),
            "test_final": float(te[-1]), "test_max": float(te.max()),
            "grokked": bool(fit_i >= 0 and gen_i >= 0 and gap >= min_gap)}


def training_phase(epochs, fit_epoch: int, generalise_epoch: int) -> np.ndarray:
    """``"before"`` (epoch < fit), ``"during"`` (fit <= epoch < generalise) or ``"after"``
    (epoch >= generalise; never when the run did not generalise, ``generalise_epoch = -1``).

    Examples
    --------
    >>> training_phase([0, 5, 10, 50], 5, 20).tolist()
    ['before', 'during', 'during', 'after']
    """
    e = np.asarray(epochs)
    out = np.full(e.shape, "during", dtype=object)
    if fit_epoch < 0:
        out[:] = "before"
        return out
    out[e < fit_epoch] = "before"
    if generalise_epoch >= 0:
        out[e >= generalise_epoch] = "after"
    return out


def checkpoint_schedule(epochs: int, n: int) -> list:
    """About ``n`` distinct checkpoint epochs in ``[0, epochs]``: half log-spaced (dense early,
    where memorisation happens), half evenly spaced (the slow climb of the test accuracy).

    Examples
    --------
    >>> checkpoint_schedule(100, 6)
    [0, 1, 10, 33, 67, 100]
    >>> len(checkpoint_schedule(3000, 30)) >= 30
    True
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}")
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2; got {n!r}")
    k = n // 2
    out = set([0, int(epochs)])
    m = k
    while True:
        logs = np.unique(np.rint(np.geomspace(1, epochs, m)).astype(int))
        lins = np.unique(np.rint(np.linspace(0, epochs, n - k + 1)).astype(int))
        out = set(logs.tolist()) | set(lins.tolist()) | {0, int(epochs)}
        if len(out) >= min(n, epochs + 1) or m > 4 * n:
            return sorted(out)
        m += 1


def seed_spearman(x, y) -> np.ndarray:
    """Spearman's rho of every row pair ``(x[i], y[i])`` (one row per seed); nan where a row is
    constant or has fewer than 3 finite pairs.

    Examples
    --------
    >>> seed_spearman([[1, 2, 3], [1, 2, 3]], [[1, 2, 4], [3, 2, 1]]).tolist()
    [1.0, -1.0]
    """
    from scipy.stats import spearmanr

    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    if x.shape != y.shape:
        raise ValueError(f"x and y need one shape; got {x.shape} and {y.shape}")
    out = np.full(len(x), np.nan)
    for i, (a, b) in enumerate(zip(x, y)):
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() >= 3 and np.ptp(a[ok]) > 0 and np.ptp(b[ok]) > 0:
            out[i] = float(spearmanr(a[ok], b[ok]).statistic)
    return out


def partial_spearman(x, y, z) -> float:
    """Spearman partial correlation of ``x`` and ``y`` given ``z``: the Pearson correlation of
    the residuals of the ranks of ``x`` and ``y`` after a linear fit on the ranks of ``z``.

    Measures whether ``x`` says anything about ``y`` beyond what ``z`` says (used for "Betti
    numbers track the loss" beyond "the number of cells tracks the loss").

    Examples
    --------
    ``x`` is a function of ``z`` alone, so given ``z`` it says nothing about ``y``:

    >>> z = np.arange(20.0); x = 2 * z; y = z + np.sin(z)
    >>> abs(partial_spearman(x, y, z)) < 1e-9
    True
    """
    from scipy.stats import rankdata

    x, y, z = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (x, y, z))
    if not (x.shape == y.shape == z.shape):
        raise ValueError(f"x, y, z need one length; got {x.size}, {y.size}, {z.size}")
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    if ok.sum() < 4:
        return float("nan")
    rx, ry, rz = (rankdata(v[ok]) for v in (x, y, z))
    A = np.c_[np.ones_like(rz), rz]
    ex = rx - A @ np.linalg.lstsq(A, rx, rcond=None)[0]
    ey = ry - A @ np.linalg.lstsq(A, ry, rcond=None)[0]
    nx, ny = np.linalg.norm(ex), np.linalg.norm(ey)
    if nx < 1e-12 * max(1.0, np.linalg.norm(rx)) or ny < 1e-12 * max(1.0, np.linalg.norm(ry)):
        return 0.0
    return float(ex @ ey / (nx * ny))


def loss_spikes(losses, *, factor: float = 2.0, min_separation: int = 5) -> list:
    """Loss spikes: epochs ``t`` where the loss exceeds ``factor`` times the running minimum
    of the loss up to ``t - 1`` and is a local maximum; spikes closer than ``min_separation``
    epochs keep the highest. Returns ``(onset, peak)`` pairs: ``onset`` the last epoch before
    the peak at which the loss was below ``factor`` times that minimum.

    Examples
    --------
    >>> loss = [8, 4, 2, 1, 0.9, 5, 3, 0.8, 0.7, 0.6]
    >>> loss_spikes(loss)
    [(4, 5)]
    """
    L = np.asarray(losses, dtype=np.float64).reshape(-1)
    if factor <= 1:
        raise ValueError(f"factor must be > 1; got {factor}")
    if L.size < 3:
        return []
    run_min = np.minimum.accumulate(L)
    prev_min = np.r_[np.inf, run_min[:-1]]
    high = L > factor * prev_min
    peaks = [t for t in range(1, L.size) if high[t] and L[t] >= L[t - 1]
             and (t == L.size - 1 or L[t] >= L[t + 1])]
    kept: list = []
    for t in sorted(peaks, key=lambda t: -L[t]):
        if all(abs(t - u) >= min_separation for u in kept):
            kept.append(t)
    out = []
    for t in sorted(kept):
        s = t - 1
        while s > 0 and high[s]:
            s -= 1
        out.append((int(s), int(t)))
    return out


def spike_windows(spikes, epochs: int, *, before: int = 3, after: int = 6) -> list:
    """Checkpoint epochs around every ``(onset, peak)`` spike: ``before`` epochs before the onset
    up to ``after`` epochs after the peak, clipped to ``[0, epochs]``.

    Examples
    --------
    >>> spike_windows([(4, 5)], 100, before=1, after=2)
    [3, 4, 5, 6, 7]
    """
    out = set()
    for s, t in spikes:
        out.update(range(max(0, int(s) - before), min(int(epochs), int(t) + after) + 1))
    return sorted(out)


# ---------------------------------------------------------------------------- task functions
def grokking_task(*, seed: int, n_train: int, n_test: int, boundary: str, amplitude: float,
                  frequency: float, sizes: Sequence[int], init_scale: float, weight_decay: float,
                  lr: float, epochs: int, checkpoint_epochs: Sequence[int], init: str = "torch",
                  weightings: Sequence[str] = WEIGHTS, n_dense: int = 60, spacing: float = 0.01,
                  keep_geometry_at: Sequence[int] = (), code: str = "") -> dict:
    """Train one grokking run and analyse its checkpoints (see the module docstring).

    ``init="torch"``: PyTorch's initialisation with every parameter multiplied by
    ``init_scale``; ``"normal"``: i.i.d. ``N(0, init_scale^2)`` weights and biases (large:
    many hyperplanes cross the box and the first interpolation of the data is rough).
    Full-batch AdamW (``lr``, decoupled ``weight_decay``), logistic loss. Returns a dict with the
    data, the per-epoch history (``epochs, train_acc, test_acc, train_loss, test_loss``),
    ``checkpoints``: a list of ``(epoch, PartitionResult)`` (geometry kept at the epochs in
    ``keep_geometry_at``) and ``weight_norm``: the parameters' l2 norm at each checkpoint.
    ``code`` is not used: it keys the sweep cache (:func:`code_fingerprint`).
    """
    import torch

    from relutopo.papers.tawfeek.grokking import grokking_data
    from relutopo.train import fit, mlp

    torch.set_num_threads(1)
    data = grokking_data(n_train, n_test, seed=seed, boundary=boundary, amplitude=amplitude,
                         frequency=frequency)
    if init == "torch":
        model = mlp(list(sizes), seed=seed)
        scale_parameters_(model, init_scale)
    else:
        model = mlp(list(sizes), seed=seed, init=init, scale=init_scale)
    _, hist = fit(model, data.X_train, data.y_train, task="binary", epochs=epochs, seed=seed, lr=lr,
                  weight_decay=weight_decay, optimizer="adamw", X_test=data.X_test,
                  y_test=data.y_test, checkpoint_epochs=checkpoint_epochs)
    results, norms = [], []
    keep = set(int(e) for e in keep_geometry_at)
    for ep in sorted(hist.checkpoints):
        state = hist.checkpoints[ep]
        norms.append(float(np.sqrt(sum(float((np.asarray(v, dtype=np.float64) ** 2).sum())
                                       for v in state.values()))))
        net = net_from_state(sizes, state)
        results.append((ep, partition_vs_boundary(net, [data.lo] * 2, [data.hi] * 2, data.X_train,
                                                  X_test=data.X_test, n_dense=n_dense,
                                                  weightings=weightings, spacing=spacing,
                                                  keep_geometry=ep in keep)))
    return {"seed": seed, "data": data, "epochs": np.array(hist.epochs),
            "train_acc": np.array(hist.train_acc), "test_acc": np.array(hist.test_acc),
            "train_loss": np.array(hist.train_loss), "test_loss": np.array(hist.test_loss),
            "checkpoints": results, "weight_norm": np.array(norms)}


def regression_task(*, seed: int, n_train: int, surface: str, sizes: Sequence[int], lr: float,
                    weight_decay: float, epochs: int, checkpoint_epochs: Sequence[int],
                    n_orders: int, kind: str = "random", keep_geometry_at: Sequence[int] = (),
                    spike_factor: Optional[float] = None, max_spike_checkpoints: int = 40,
                    code: str = "") -> dict:
    """Train one regression run; at each checkpoint the complex's f-vector and Betti summary.

    With ``spike_factor`` set, the run is first trained without checkpoints, its loss spikes
    are found by :func:`loss_spikes` (loss above ``spike_factor`` times its running minimum),
    and the same run (same seed, deterministic full-batch Adam) is trained again with
    checkpoints added around every spike (:func:`spike_windows`, at most
    ``max_spike_checkpoints`` of them, the highest spikes first).

    Returns the per-epoch training loss, ``spikes`` (``(onset, peak)`` pairs, empty without
    ``spike_factor``) and ``checkpoints``: a list of ``(epoch, train_loss, BettiSummary,
    checks)`` (``checks`` from :func:`complex_checks`); ``complexes`` maps the epochs in
    ``keep_geometry_at`` to their :class:`CellComplex`. ``code`` only keys the sweep cache.
    """
    import torch

    from relutopo.papers.tawfeek.surfaces import surface_regression_data
    from relutopo.decompose import decompose
    from relutopo.domains import Box
    from relutopo.train import fit, mlp

    torch.set_num_threads(1)
    X, y = surface_regression_data(n_train, seed=seed, kind=surface)

    def train(ckpts):
        model = mlp(list(sizes), seed=seed)
        return fit(model, X, y, task="regression", epochs=epochs, seed=seed, lr=lr,
                   weight_decay=weight_decay, optimizer="adam", checkpoint_epochs=ckpts)[1]

    ckpts = sorted(set(int(e) for e in checkpoint_epochs))
    spikes: list = []
    if spike_factor is not None:
        first = train([])
        spikes = loss_spikes(first.train_loss, factor=spike_factor)
        extra: list = []
        by_height = sorted(spikes, key=lambda st: -first.train_loss[st[1]])
        for st in by_height:
            w = spike_windows([st], epochs)
            if len(set(extra) | set(w)) > max_spike_checkpoints:
                break
            extra = sorted(set(extra) | set(w))
        ckpts = sorted(set(ckpts) | set(extra))
    hist = train(ckpts)
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
            "checkpoints": out, "complexes": keep, "spikes": spikes}
