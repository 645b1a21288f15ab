"""Barcodes, persistence diagrams and distance-matrix heatmaps (Liu et al. Figs 3, 5-7, 9).

Every function draws on given matplotlib axes (or makes a new figure) and returns the figure;
nothing is shown or saved here. Long bars (the rule of :mod:`relutopo.homology`) are drawn in a
strong colour, short bars in a pale one, so the figure shows exactly what the claims count.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..homology import LONG_BAR_FRACTION, Barcodes

__all__ = ["plot_barcodes", "plot_diagram", "plot_distance_matrix", "DIM_COLORS"]

#: One colour per homology dimension (H0, H1, H2, H3).
DIM_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _new_axes(n, ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, axes = plt.subplots(n, 1, figsize=figsize, sharex=True, squeeze=False,
                                 gridspec_kw={"hspace": 0.35})
        return fig, list(axes[:, 0])
    axes = list(np.atleast_1d(ax))
    if len(axes) != n:
        raise ValueError(f"ax must hold {n} axes (one per dimension); got {len(axes)}")
    return axes[0].figure, axes


def plot_barcodes(bc: Barcodes, dims: Optional[Sequence[int]] = None, *, ax=None,
                  fraction: float = LONG_BAR_FRACTION, title: Optional[str] = None,
                  xlabel: str = "filtration value (distance)", figsize=(6.0, 3.5)):
    """Horizontal bars ``[birth, death)`` per homology dimension, longest on top.

    Parameters
    ----------
    bc : Barcodes
    dims : dimensions to draw (default: all computed).
    ax : one axes per dimension, optional.
    fraction : long-bar rule (see :mod:`relutopo.homology`); long bars are drawn in full colour
        and counted in each panel's label.

    Examples
    --------
    The barcodes of Liu et al. Figs 3 and 5-7, one panel per homology dimension (twelve points on a
    circle: one long ``H_1`` bar):

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from relutopo.homology import barcodes
    >>> t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    >>> X = np.c_[np.cos(t), np.sin(t)]
    >>> fig = plot_barcodes(barcodes(np.linalg.norm(X[:, None] - X[None], axis=-1), maxdim=1))
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    dims = list(range(len(bc))) if dims is None else [int(k) for k in dims]
    for k in dims:
        if not 0 <= k < len(bc):
            raise ValueError(f"dims contains {k}, but the barcode has dimensions 0..{len(bc) - 1}")
    fig, axes = _new_axes(len(dims), ax, figsize)
    finite = np.concatenate([bc[k][np.isfinite(bc[k][:, 1])].ravel() for k in range(len(bc))] + [[0.0]])
    right = float(finite.max()) * 1.08 if finite.max() > 0 else 1.0
    thr = fraction * bc.scale
    for a, k in zip(axes, dims):
        d = bc[k]
        L = d[:, 1] - d[:, 0]
        long_ = np.isinf(L) | ((L >= thr) & (L > 0))
        color = DIM_COLORS[k % len(DIM_COLORS)]
        for i, (b, e) in enumerate(d):
            end = right if np.isinf(e) else e
            a.plot([b, end], [i, i], color=color, lw=2.2 if long_[i] else 1.2,
                   alpha=1.0 if long_[i] else 0.35, solid_capstyle="butt")
            if np.isinf(e):
                a.plot([right], [i], marker=">", color=color, ms=5)
        a.set_ylim(len(d) - 0.5 if len(d) else 0.5, -0.5 - 0.02 * max(len(d), 1))
        a.set_yticks([])
        a.set_xlim(min(0.0, float(finite.min())), right * 1.02)
        a.set_ylabel(f"$H_{k}$", rotation=0, labelpad=12, va="center")
        a.text(1.0, 1.0, f"{int(long_.sum())} long / {len(d)} bars", transform=a.transAxes,
               ha="right", va="bottom", fontsize=8)
    axes[-1].set_xlabel(xlabel)
    if title:
        axes[0].set_title(title, fontsize=10, loc="left")
    return fig


def plot_diagram(bc: Barcodes, dims: Optional[Sequence[int]] = None, *, ax=None,
                 title: Optional[str] = None, figsize=(4.0, 4.0)):
    """Persistence diagram: one point ``(birth, death)`` per bar; infinite bars on a top line.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from relutopo.homology import barcodes
    >>> fig = plot_diagram(barcodes(np.array([[0.0, 1.0, 3.0], [1.0, 0.0, 3.0], [3.0, 3.0, 0.0]]), maxdim=0))
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    dims = list(range(len(bc))) if dims is None else [int(k) for k in dims]
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    finite = np.concatenate([bc[k][np.isfinite(bc[k][:, 1])].ravel() for k in dims] + [[0.0, 1e-9]])
    top = float(finite.max()) * 1.1
    ax.plot([0, top], [0, top], color="0.6", lw=0.8)
    ax.axhline(top, color="0.6", lw=0.8, ls="--")
    for k in dims:
        d = bc[k]
        deaths = np.where(np.isinf(d[:, 1]), top, d[:, 1])
        ax.scatter(d[:, 0], deaths, s=14, color=DIM_COLORS[k % len(DIM_COLORS)], label=f"$H_{k}$",
                   zorder=3)
    ax.set_xlabel("birth")
    ax.set_ylabel("death")
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_distance_matrix(D, *, ax=None, title: Optional[str] = None, label: str = "Hamming distance",
                         cmap: str = "viridis", figsize=(4.2, 3.6)):
    """Heatmap of a distance matrix (e.g. Hamming distances of bit vectors) with a colour bar.

    Examples
    --------
    Hamming distances of bit vectors as a heatmap with its colour bar (Liu et al. Fig. 9):

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_distance_matrix(np.array([[0, 1, 3], [1, 0, 2], [3, 2, 0]]))
    >>> len(fig.axes)                                 # the heatmap and its colour bar
    2
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    D = np.asarray(D)
    if D.ndim != 2:
        raise ValueError(f"D must be a 2-D matrix; got shape {D.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    im = ax.imshow(D, cmap=cmap, interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.set_label(label, fontsize=8)
    cb.ax.tick_params(labelsize=7)
    ax.set_xlabel("point $j$")
    ax.set_ylabel("point $i$")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
