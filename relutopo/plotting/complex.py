"""Pictures of cell complexes, Fiedler partitions and Betti curves (Tawfeek et al. 2025).

* :func:`plot_complex_2d` -- a 2-D cell complex with its cells coloured by dimension (2-cells
  filled, 1-cells as lines, 0-cells as dots);
* :func:`plot_partition_2d` -- the two sides of a (Fiedler) partition of the regions, the cut
  between them and the decision boundary pieces;
* :func:`plot_betti_curves` -- mean Betti curves (with a band over orders) against the filtration
  fraction, with the f-vector bounds marked;
* :func:`plot_curves_with_agreement` -- training/test accuracy per epoch with the agreement score
  at the checkpoints on a twin axis.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

__all__ = ["DIM_COLORS", "plot_complex_2d", "plot_partition_2d", "plot_betti_curves",
           "plot_curves_with_agreement", "polygon_of_cell"]

#: Colour of the cells of each dimension (vertices, edges, faces, solids).
DIM_COLORS = ("#d62728", "#1f77b4", "#ffe9a8", "#9edae5")


def _ax(ax, figsize=(4.5, 4.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def polygon_of_cell(K, i: int) -> np.ndarray:
    """The vertices of 2-cell ``i`` of a 2-D complex in counter-clockwise order.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> P = polygon_of_cell(cell_complex(decompose(net, Box(-1, 1, dim=2))), 0)
    >>> P.shape, sorted(map(tuple, np.abs(P).tolist()))
    ((4, 2), [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)])
    """
    P = K.vertices[K.cells[2][i]]
    C = P.mean(axis=0)
    return P[np.argsort(np.arctan2(P[:, 1] - C[1], P[:, 0] - C[0]))]


def _check_2d(K):
    if K.dim != 2:
        raise ValueError(f"this plot draws 2-D complexes; got a {K.dim}-D one")


def plot_complex_2d(K, *, ax=None, face_values=None, cmap: str = "viridis", vertex_size: float = 9.0,
                    edge_width: float = 0.5, title: Optional[str] = None):
    """Draw every cell of a 2-D complex, coloured by dimension (:data:`DIM_COLORS`).

    ``face_values`` (one per 2-cell) colours the faces through ``cmap`` instead.

    Examples
    --------
    The 25 cells of the four-square complex of a 2 -> 2 -> 1 network (Tawfeek et al., Sec. 2):

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> ax = plot_complex_2d(cell_complex(decompose(net, Box(-1, 1, dim=2))))
    >>> type(ax).__name__
    'Axes'
    >>> plt.close(ax.figure)
    """
    from matplotlib.collections import LineCollection, PolyCollection

    _check_2d(K)
    ax = _ax(ax)
    polys = [polygon_of_cell(K, i) for i in range(len(K.cells[2]))]
    pc = PolyCollection(polys, edgecolors="none")
    if face_values is None:
        pc.set_facecolor(DIM_COLORS[2])
    else:
        pc.set_array(np.asarray(face_values, dtype=float))
        pc.set_cmap(cmap)
    ax.add_collection(pc)
    segs = [K.vertices[e] for e in K.cells[1]]
    ax.add_collection(LineCollection(segs, colors=DIM_COLORS[1], linewidths=edge_width))
    ax.scatter(K.vertices[:, 0], K.vertices[:, 1], s=vertex_size, c=DIM_COLORS[0], zorder=3,
               linewidths=0)
    _frame(ax, K)
    ax.set_title(title if title is not None else f"f = {tuple(K.f_vector.tolist())}", fontsize=9)
    return ax


def _frame(ax, K):
    ax.set_xlim(K.lo[0], K.hi[0])
    ax.set_ylim(K.lo[1], K.hi[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_partition_2d(K, side, *, ax=None, boundary_pieces: Sequence = (), X=None, y=None,
                      true_boundary=None, colors=("#9ecae1", "#fdae6b"), title: Optional[str] = None):
    """Regions coloured by ``side`` (indexed by region), the cut between the sides (black), the
    decision boundary pieces (red) and optionally data points and a true boundary ``g`` (a
    function ``g(X)``, drawn dashed at ``g = 0``).

    Examples
    --------
    The Fiedler partition of Tawfeek et al. drawn over the regions (left half against right half):

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> ax = plot_partition_2d(K, K.barycenters(2)[:, 0] > 0)
    >>> type(ax).__name__
    'Axes'
    >>> plt.close(ax.figure)
    """
    from matplotlib.collections import LineCollection, PolyCollection

    from ..spectral import cut_facets

    _check_2d(K)
    ax = _ax(ax)
    side = np.asarray(side, dtype=bool)
    polys = [polygon_of_cell(K, i) for i in range(len(K.cells[2]))]
    fc = [colors[int(side[r])] for r in K.region_of_cell]
    ax.add_collection(PolyCollection(polys, facecolors=fc, edgecolors="0.6", linewidths=0.15))
    cut = cut_facets(K, side)
    ax.add_collection(LineCollection([K.vertices[K.cells[1][i]] for i in cut], colors="k",
                                     linewidths=1.6, label="Fiedler cut"))
    if len(boundary_pieces):
        ax.add_collection(LineCollection([np.asarray(P)[np.argsort(np.asarray(P)[:, 0])][[0, -1]]
                                          for P in boundary_pieces], colors="#d62728",
                                         linewidths=1.2, label="decision boundary"))
    if true_boundary is not None:
        g = np.linspace(K.lo[0], K.hi[0], 200), np.linspace(K.lo[1], K.hi[1], 200)
        GX, GY = np.meshgrid(*g)
        Z = true_boundary(np.stack([GX.ravel(), GY.ravel()], 1)).reshape(GX.shape)
        ax.contour(GX, GY, Z, levels=[0], colors="0.2", linestyles="--", linewidths=0.8)
    if X is not None:
        ax.scatter(X[:, 0], X[:, 1], c=np.asarray(y) if y is not None else "k", cmap="coolwarm",
                   s=8, edgecolors="k", linewidths=0.3, zorder=4)
    _frame(ax, K)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_betti_curves(mean_curve, *, ax=None, band=None, bounds=None, f_marks: Optional[dict] = None,
                      dims: Optional[Sequence[int]] = None, title: Optional[str] = None):
    """Mean Betti curves against the filtration fraction ``t / n_cells``.

    ``band`` = ``(low, high)`` arrays of the same shape (e.g. 10 %/90 % over orders) is shaded;
    ``bounds`` (per dimension, e.g. the cycle ranks ``z_k``) are drawn as dotted lines;
    ``f_marks`` maps a dimension ``k`` to ``(name, value)`` drawn dashed in beta_k's colour (e.g.
    ``{0: ("f_0", f0), 1: ("f_2", f2)}``: in a box, the maxima bounds of beta_0 and beta_1).

    Examples
    --------
    Mean Betti curves of five random filtrations (Tawfeek et al.), with the cycle ranks as bounds:

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from relutopo import ReluNet, Box, decompose, cell_complex, betti_curves
    >>> from relutopo.filtration import cycle_ranks
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> ax = plot_betti_curves(betti_curves(K, 5, seed=0).mean(axis=0), bounds=cycle_ranks(K))
    >>> type(ax).__name__
    'Axes'
    >>> plt.close(ax.figure)
    """
    ax = _ax(ax, figsize=(5, 3.5))
    mean_curve = np.asarray(mean_curve, dtype=float)
    x = np.linspace(0, 1, len(mean_curve))
    dims = range(mean_curve.shape[1]) if dims is None else dims
    colors = ["C0", "C1", "C2", "C3"]
    for k in dims:
        ax.plot(x, mean_curve[:, k], color=colors[k], label=fr"$\beta_{k}$")
        if band is not None:
            ax.fill_between(x, band[0][:, k], band[1][:, k], color=colors[k], alpha=0.2, lw=0)
        if bounds is not None:
            ax.axhline(bounds[k], color=colors[k], ls=":", lw=1)
            ax.text(1.0, bounds[k], f" $z_{k}$={bounds[k]}", color=colors[k], va="center", fontsize=8)
        if f_marks is not None and k in f_marks:
            name, val = f_marks[k]
            ax.axhline(val, color=colors[k], ls="--", lw=0.8, alpha=0.6)
            ax.text(0.0, val, f"${name}$={val} ", color=colors[k], va="bottom", ha="left", fontsize=8)
    ax.set_xlabel("filtration fraction t / #cells")
    ax.set_ylabel("Betti number")
    ax.legend(fontsize=8, loc="center right")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_curves_with_agreement(epochs, train_acc, test_acc, ckpt_epochs, agreement: dict, *,
                               ax=None, log_x: bool = True, title: Optional[str] = None,
                               ylim2=(0.45, 1.02), ylabel2: str = "Fiedler / decision-boundary agreement",
                               label2: str = "agreement"):
    """Accuracy curves (left axis) and agreement per weighting at checkpoints (right axis).

    ``agreement`` maps a label to an array ``(n_seeds, n_checkpoints)`` or ``(n_checkpoints,)``;
    the mean is drawn with a min-max band. ``train_acc``/``test_acc`` may be ``(n_seeds, n_epochs)``.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> epochs = np.arange(1, 11)
    >>> axes = plot_curves_with_agreement(epochs, np.linspace(0.5, 1, 10), np.linspace(0.5, 0.9, 10),
    ...                                  [1, 5, 10], {"data": np.array([0.6, 0.8, 0.95])})
    >>> [type(a).__name__ for a in axes]             # accuracy and agreement axes
    ['Axes', 'Axes']
    >>> plt.close(axes[0].figure)
    """
    ax = _ax(ax, figsize=(6, 3.5))
    e = np.asarray(epochs, dtype=float)
    xe = np.maximum(e, 0.5) if log_x else e
    for arr, lab, col in ((train_acc, "train accuracy", "0.3"), (test_acc, "test accuracy", "k")):
        a = np.atleast_2d(np.asarray(arr, dtype=float))
        ax.plot(xe, a.mean(axis=0), color=col, lw=1.5, ls="-" if "test" in lab else "--", label=lab)
        if a.shape[0] > 1:
            ax.fill_between(xe, a.min(axis=0), a.max(axis=0), color=col, alpha=0.08, lw=0)
    ax.set_ylabel("accuracy")
    ax.set_xlabel("epoch")
    ax2 = ax.twinx()
    xc = np.maximum(np.asarray(ckpt_epochs, dtype=float), 0.5) if log_x else np.asarray(ckpt_epochs, float)
    for j, (lab, vals) in enumerate(agreement.items()):
        v = np.atleast_2d(np.asarray(vals, dtype=float))
        ax2.plot(xc, np.nanmean(v, axis=0), "o-", color=f"C{j}", ms=4, label=f"{label2} ({lab})")
        if v.shape[0] > 1:
            ax2.fill_between(xc, np.nanmin(v, axis=0), np.nanmax(v, axis=0), color=f"C{j}", alpha=0.06, lw=0)
    ax2.set_ylabel(ylabel2)
    ax2.set_ylim(*ylim2)
    ax.set_ylim(0.3, 1.02)
    if log_x:
        ax.set_xscale("log")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    if title:
        ax.set_title(title, fontsize=9)
    return ax, ax2
