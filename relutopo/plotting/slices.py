"""Pictures of slice decompositions: regions, decision boundary and anchor points.

* :func:`plot_slice` -- a plane slice (:class:`relutopo.slice_decomposition.SliceDecomposition`
  with ``k = 2``): every region filled (a pastel colour per region, or a shade of the colour of
  its predicted class), region edges thin, the decision boundary thick, and the anchor points
  the plane was built through, optionally with thumbnails of the anchor images (the picture
  regioncam draws for MLPs, here for any piecewise-linear model);
* :func:`plot_segment` -- a segment slice: the outputs along the segment (affine between
  breakpoints), the regions as a band of colours, the breakpoints as a rug and the decision
  boundary as dashed lines.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .. import tolerances as tol

__all__ = ["plot_slice", "plot_segment", "class_colors"]


def class_colors(n: int) -> list:
    """``n`` distinct colours, one per class.

    Examples
    --------
    >>> len(class_colors(10)), len(set(class_colors(10)))
    (10, 10)
    """
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _region_fill(dec, color_by, seed):
    from .decomposition import region_colors

    n = dec.n_regions
    if color_by == "region":
        return region_colors(n, seed)
    cls = np.array([int(np.argmax(_entries(dec, i))) for i in range(n)], dtype=np.int64)
    n_cls = max(2, dec.n_outputs if dec.n_outputs > 1 else 2)
    base = np.array(class_colors(n_cls))
    rng = np.random.default_rng(seed)
    light = 0.45 + 0.4 * rng.random(n)
    out = base[np.clip(cls, 0, n_cls - 1)].copy()
    out[:, :3] = out[:, :3] * (1 - light[:, None]) + light[:, None]
    return out


def _entries(dec, i):
    A = dec.output_maps[i]
    x = dec.interior_points[i]
    f = A[:, :-1] @ x + A[:, -1]
    return np.concatenate([[0.0], f]) if len(f) == 1 else f


def _thumbnail(ax, img, xy, zoom, label, offset=(0, 26)):
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = np.transpose(a, (1, 2, 0))
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    lo, hi = float(a.min()), float(a.max())
    a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    box = OffsetImage(a, zoom=zoom, cmap="gray_r" if a.ndim == 2 else None)
    ab = AnnotationBbox(box, xy, xybox=offset, xycoords="data", boxcoords="offset points",
                        frameon=True, pad=0.15, bboxprops=dict(edgecolor="k", lw=0.6),
                        arrowprops=dict(arrowstyle="-", lw=0.6, color="k"))
    ab.set_zorder(6)
    ax.add_artist(ab)


def plot_slice(dec, *, ax=None, color_by: str = "class", boundary: bool = True,
               edges: bool = True, anchors: bool = True, anchor_images: bool = False,
               image_zoom: float = 1.0, class_names: Optional[Sequence[str]] = None,
               seed: int = 0, title: Optional[str] = None, figsize=(6.0, 6.0),
               boundary_color: str = "k", edge_width: float = 0.25):
    """Regions, decision boundary and anchors of a plane slice decomposition.

    Parameters
    ----------
    dec : SliceDecomposition with ``k = 2``
    color_by : {"class", "region"}
        ``"class"``: each region in a random shade of its predicted class's colour (regions stay
        distinguishable, classes readable); ``"region"``: a pastel colour per region.
    boundary : bool
        Draw the decision boundary (argmax of the outputs; sign of a single output).
    edges : bool
        Draw the region edges.
    anchors, anchor_images : bool
        Mark the anchor points (and show the anchor inputs as thumbnails when they are images).
    class_names : sequence of str, optional
        Legend labels of the classes (``color_by="class"``).

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> from relutopo.slices import Plane  # doctest: +SKIP
    >>> fig = plot_slice(decompose(model, Plane.through(x0, x1, x2)))  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.patches import Patch

    if dec.dim != 2:
        raise ValueError(f"plot_slice draws planes (k = 2); this decomposition has k = {dec.dim} "
                         "(use plot_segment for segments)")
    if color_by not in ("class", "region"):
        raise ValueError(f"color_by must be 'class' or 'region'; got {color_by!r}")
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    polys = dec.polygons
    fills = _region_fill(dec, color_by, seed)
    pc = PolyCollection(polys, facecolors=fills,
                        edgecolors=(0.25, 0.25, 0.25, 0.55) if edges else "none",
                        linewidths=edge_width if edges else 0.0, zorder=1)
    ax.add_collection(pc)
    if boundary:
        db = dec.decision_boundary
        if len(db):
            ax.add_collection(LineCollection(db.segments, colors=boundary_color, linewidths=1.8,
                                             zorder=3, capstyle="round"))
    box = dec.slice.box
    if anchors and dec.slice.anchors is not None:
        A = dec.slice.anchors
        labels = dec.slice.anchor_labels or tuple(str(i) for i in range(len(A)))
        ax.scatter(A[:, 0], A[:, 1], s=46, c="white", edgecolors="k", linewidths=1.2, zorder=5)
        for (x, y), lab in zip(A, labels):
            ax.annotate(lab, (x, y), xytext=(6, -12), textcoords="offset points", fontsize=9,
                        zorder=6, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
        if anchor_images:
            imgs = dec.to_input(A)
            centre = box.center
            for (x, y), img, lab in zip(A, imgs, labels):
                d = np.array([x, y]) - centre
                d = d / (np.linalg.norm(d / box.widths) * box.widths.max() + tol.TINY)
                _thumbnail(ax, img, (x, y), image_zoom, lab, offset=tuple(-34 * d / max(np.abs(d).max(), tol.TINY)))
    ax.set_xlim(box.lo[0], box.hi[0])
    ax.set_ylim(box.lo[1], box.hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel("$u_1$ (slice coordinate)")
    ax.set_ylabel("$u_2$")
    if color_by == "class":
        n_cls = dec.n_outputs if dec.n_outputs > 1 else 2
        present = sorted(set(int(c) for c, _, _ in dec.class_regions))
        names = class_names or [str(c) for c in range(n_cls)]
        cols = class_colors(n_cls)
        handles = [Patch(facecolor=cols[c], label=names[c]) for c in present if c < len(names)]
        if handles:
            ax.legend(handles=handles, loc="upper right", fontsize=7, title="class", title_fontsize=7,
                      framealpha=0.85)
    ax.set_title(title if title is not None else
                 f"{dec.n_regions} regions, {len(dec.decision_boundary)} boundary segments")
    return fig


def plot_segment(dec, *, ax=None, class_names: Optional[Sequence[str]] = None,
                 outputs: Optional[Sequence[int]] = None, seed: int = 0,
                 title: Optional[str] = None, figsize=(8.0, 3.6), rug: bool = True):
    """Outputs, regions and decision boundary along a segment slice decomposition.

    Parameters
    ----------
    dec : SliceDecomposition with ``k = 1``
    outputs : sequence of int, optional
        Which outputs to draw (default: all, up to 10).
    rug : bool
        Mark every breakpoint (region boundary) under the curves.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    Outputs, regions and the decision boundary of ``x -> (x, -x)`` along a segment:

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from relutopo import ReluNet, Segment
    >>> from relutopo.slice_decomposition import decompose_slice
    >>> net = ReluNet.from_weights([np.array([[1.0], [-1.0]]), np.eye(2)], [np.zeros(2), np.zeros(2)])
    >>> fig = plot_segment(decompose_slice(net, Segment([-1.0], [1.0])), class_names=["a", "b"])
    >>> len(fig.axes) >= 1
    True
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from .decomposition import region_colors

    if dec.dim != 1:
        raise ValueError(f"plot_segment draws segments (k = 1); this decomposition has k = {dec.dim}")
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    t = dec.breakpoints
    A = dec.output_maps
    vals = np.concatenate([A[:, :, 0] * t[:-1, None] + A[:, :, 1],
                           (A[-1:, :, 0] * t[-1] + A[-1:, :, 1])], axis=0)
    n_out = vals.shape[1]
    which = list(range(min(n_out, 10))) if outputs is None else [int(o) for o in outputs]
    cols = class_colors(max(n_out, 2))
    names = class_names or [str(i) for i in range(n_out)]
    for o in which:
        ax.plot(t, vals[:, o], color=cols[o], lw=1.2, label=names[o] if n_out > 1 else "output")
    lo, hi = ax.get_ylim()
    band = lo - 0.08 * (hi - lo)
    fills = region_colors(dec.n_regions, seed)
    segs = [[(a, band), (b, band)] for a, b in zip(t[:-1], t[1:])]
    ax.add_collection(LineCollection(segs, colors=fills, linewidths=9, zorder=2))
    if rug:
        ax.plot(t[1:-1], np.full(len(t) - 2, band), "|", color="k", ms=9, mew=0.4, zorder=3)
    for p in dec.decision_boundary.points:
        ax.axvline(p, color="k", ls="--", lw=1.0, zorder=4)
    ax.set_ylim(band - 0.06 * (hi - lo), hi)
    ax.set_xlim(t[0], t[-1])
    if dec.slice.anchors is not None:
        labels = dec.slice.anchor_labels or ("a", "b")
        ax.set_xticks(list(dec.slice.anchors[:, 0]))
        ax.set_xticklabels(labels)
    ax.set_xlabel("position on the segment")
    ax.set_ylabel("network output")
    if len(which) > 1:
        ax.legend(fontsize=7, ncol=min(5, len(which)), loc="upper center", framealpha=0.85)
    ax.set_title(title if title is not None else
                 f"{dec.n_regions} regions, {len(dec.decision_boundary)} class changes")
    return fig
