"""Pictures of polyhedral decompositions (Liu et al. Figs 1, 2 and 8).

* :func:`plot_decomposition_2d` -- a 2-D decomposition, regions coloured, unbounded regions
  (clipped to a window) hatched, every edge coloured by the neuron whose hyperplane carries it
  (Fig. 1(a), Fig. 8);
* :func:`plot_bit_table` -- the look-up table of bit vectors per region, each bit in its
  neuron's colour (Fig. 8);
* :func:`plot_decomposition_3d` -- bounded regions of a 3-D decomposition as shaded polytopes,
  optionally only some of them and with sample points (Figs 1(b), 2).

The geometry comes from the decomposition (:class:`relutopo.decomposition.Decomposition`):
region halfspaces, interior points, facet neurons. Unbounded regions of ``R^2`` are drawn inside
a window (:func:`decomposition_window`) that contains every vertex of the bounded regions.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..domains import Box
from .. import tolerances as tol
from ..polytopes import polytope_vertices

__all__ = ["decomposition_window", "region_polygons", "neuron_colors", "region_colors",
           "plot_decomposition_2d", "plot_bit_table", "plot_decomposition_3d", "bit_string"]

BOUNDARY_COLOR = "0.15"


def neuron_colors(n: int) -> list:
    """``n`` distinct colours, one per hidden neuron (bit).

    Examples
    --------
    >>> len(neuron_colors(5)), len(set(neuron_colors(5)))
    (5, 5)
    """
    import matplotlib

    if n <= 10:
        cmap = matplotlib.colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    cmap = matplotlib.colormaps["turbo"]
    return [cmap(x) for x in np.linspace(0.05, 0.95, n)]


def region_colors(n: int, seed: int = 0) -> np.ndarray:
    """``n`` pale colours for regions, shuffled with ``seed`` so neighbours rarely look alike.

    Examples
    --------
    >>> region_colors(4, seed=0).shape
    (4, 4)
    """
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    base = np.array([cmap(i % 20) for i in range(n)])
    order = np.random.default_rng(seed).permutation(n)
    out = base[order]
    out[:, :3] = 0.55 * out[:, :3] + 0.45  # pastel
    return out


def bit_string(pattern, layer_sizes: Optional[Sequence[int]] = None) -> str:
    """``"011 101"``: the bits of a pattern, a space between hidden layers.

    Examples
    --------
    >>> bit_string([1, 0, 1, 1, 0], layer_sizes=(3, 2))
    '101 10'
    """
    bits = "".join("1" if b else "0" for b in np.asarray(pattern, dtype=bool))
    if not layer_sizes:
        return bits
    parts, s = [], 0
    for h in layer_sizes:
        parts.append(bits[s:s + h])
        s += h
    return " ".join(parts)


def _check_2d(dec):
    if dec.dim != 2:
        raise ValueError(f"this plot needs a decomposition of R^2 or a 2-D box; got dimension {dec.dim}")


def decomposition_window(dec, margin: float = 0.15) -> Box:
    """A box containing the domain (if bounded), every vertex of the bounded regions and every
    interior point, enlarged by ``margin`` of its size on each side.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> w = decomposition_window(decompose(net, Box(-1, 1, dim=2)), margin=0.0)
    >>> w.lo.tolist(), w.hi.tolist()
    ([-1.0, -1.0], [1.0, 1.0])
    """
    if dec.domain is not None:
        return dec.domain
    pts = [np.asarray(dec.interior_points)]
    for i in np.flatnonzero(dec.bounded):
        V = dec.region(int(i)).vertices
        if V is not None:
            pts.append(V)
    P = np.vstack(pts)
    lo, hi = P.min(axis=0), P.max(axis=0)
    span = np.maximum(hi - lo, tol.WINDOW_MIN_SPAN_RTOL * max(1.0, float(np.abs(P).max())))
    side = float(span.max())
    center = 0.5 * (lo + hi)
    half = 0.5 * side * (1 + 2 * margin)
    return Box(center - half, center + half)


def _order_ccw(V):
    c = V.mean(axis=0)
    ang = np.arctan2(V[:, 1] - c[1], V[:, 0] - c[0])
    return V[np.argsort(ang)]


def region_polygons(dec, window: Optional[Box] = None) -> list:
    """Per region ``(vertices (k, 2) counter-clockwise, edge_ids (k,))`` inside ``window``.

    ``edge_ids[j]`` labels the polygon edge from vertex ``j`` to ``j + 1``: the hidden neuron
    whose hyperplane carries it, ``-1 - k`` for face ``k`` of the domain box, and ``-100`` for the
    window's edges (where an unbounded region is cut off for display). Regions that do not meet
    the window's interior get ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> polys = region_polygons(decompose(net, Box(-1, 1, dim=2)))
    >>> len(polys), [len(v) for v, ids in polys], sorted(polys[0][1].tolist())
    (4, [4, 4, 4, 4], [-3, -1, 0, 1])
    """
    _check_2d(dec)
    window = window if window is not None else decomposition_window(dec)
    Aw, cw = window.halfspaces()
    out = []
    for i in range(dec.n_regions):
        reg = dec.region(i)
        # unit rows: a network row and a window row differ in norm by the ratio of the two
        # scales (1e-12 for a net whose input was stretched by 1e12), and polytope_vertices
        # would take the smaller for a zero row of the larger's system
        nr = np.linalg.norm(reg.A, axis=1)
        nr = np.where(nr > 0, nr, 1.0)
        A = np.vstack([reg.A / nr[:, None], Aw])
        c = np.concatenate([reg.c / nr, cw])
        ids = np.concatenate([reg.facet_neurons, np.full(len(cw), -100)])
        x0 = np.asarray(reg.interior_point, dtype=np.float64)
        if not np.all(A @ x0 < c):
            # interior point outside the window: take the Chebyshev centre of the clipped cell
            from ..lp import chebyshev_center

            x0, r = chebyshev_center(A, c, radius_cap=window.scale)
            if x0 is None or not r > tol.CHEBYSHEV_RTOL * window.scale:
                out.append(None)
                continue
        V = _order_ccw(polytope_vertices(A, c, x0))
        mids = 0.5 * (V + np.roll(V, -1, axis=0))
        norms = np.linalg.norm(A, axis=1)
        resid = np.abs(mids @ A.T - c) / np.where(norms > 0, norms, 1.0)
        # prefer network rows over box/window rows that coincide with them
        edge_ids = ids[np.argmin(resid + tol.HYPERPLANE_DUP_RTOL * window.scale * (ids < 0), axis=1)]
        out.append((V, edge_ids))
    return out


def plot_decomposition_2d(dec, *, ax=None, window: Optional[Box] = None, labels: str = "index",
                          color_edges_by_neuron: bool = True, seed: int = 0, title: Optional[str] = None,
                          mark_box: Optional[Box] = None, figsize=(6.0, 6.0), fontsize: float = 7.0):
    """A 2-D decomposition: regions filled, unbounded ones hatched, edges coloured by neuron.

    Parameters
    ----------
    dec : Decomposition of a 2-D input space
    window : Box, optional
        Display window (default :func:`decomposition_window`; the domain for a box).
    labels : {"index", "bits", "none"}
        Text at each region's interior point: its index, its bit vector, or nothing.
    color_edges_by_neuron : bool
        Colour each edge by the neuron whose hyperplane carries it (Fig. 8); else black.
    mark_box : Box, optional
        Outline this box (e.g. the training domain) with a dashed rectangle.

    Examples
    --------
    The regions of a 2 -> 3 -> 1 network on ``[-1, 1]^2`` (as Liu et al. Fig. 1(a)), edges coloured
    by the neuron whose hyperplane carries them:

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones((1, 3))],
    ...                            [np.array([0.0, 0.0, -0.5]), np.zeros(1)])
    >>> fig = plot_decomposition_2d(decompose(net, Box(-1, 1, dim=2)))
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Polygon

    if labels not in ("index", "bits", "none"):
        raise ValueError(f"labels must be 'index', 'bits' or 'none'; got {labels!r}")
    window = window if window is not None else decomposition_window(dec)
    polys = region_polygons(dec, window)
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    fills = region_colors(dec.n_regions, seed)
    ncol = neuron_colors(dec.net.n_hidden)
    sizes = dec.net.hidden_sizes
    P = dec.patterns
    for i, poly in enumerate(polys):
        if poly is None:
            continue
        V, edge_ids = poly
        ax.add_patch(Polygon(V, closed=True, facecolor=fills[i], edgecolor="none",
                             hatch=None if dec.bounded[i] else "///", zorder=1))
        for j, k in enumerate(edge_ids):
            a, b = V[j], V[(j + 1) % len(V)]
            if k >= 0:
                col = ncol[k] if color_edges_by_neuron else BOUNDARY_COLOR
                ax.plot([a[0], b[0]], [a[1], b[1]], color=col, lw=1.6, zorder=3,
                        solid_capstyle="round")
            elif k != -100:
                ax.plot([a[0], b[0]], [a[1], b[1]], color=BOUNDARY_COLOR, lw=1.0, zorder=2)
        if labels != "none":
            # interior point of a bounded region; the clipped polygon's centroid otherwise
            x = dec.interior_points[i] if dec.bounded[i] else V.mean(axis=0)
            text = str(i) if labels == "index" else bit_string(P[i], sizes)
            ax.text(x[0], x[1], text, ha="center", va="center", fontsize=fontsize, zorder=4,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.7))
    if mark_box is not None:
        from matplotlib.patches import Rectangle

        ax.add_patch(Rectangle(mark_box.lo, *mark_box.widths, fill=False, ls="--", lw=1.2,
                               edgecolor="k", zorder=5))
    ax.set_xlim(window.lo[0], window.hi[0])
    ax.set_ylim(window.lo[1], window.hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if dec.domain is None:
        handles = [Patch(facecolor="0.85", edgecolor="0.3", label=f"bounded ({dec.n_bounded})"),
                   Patch(facecolor="0.85", edgecolor="0.3", hatch="///",
                         label=f"unbounded ({dec.n_unbounded}), clipped")]
    else:
        handles = [Patch(facecolor="0.85", edgecolor="0.3", label=f"{dec.n_regions} regions in the box")]
    if color_edges_by_neuron:
        handles += [Line2D([], [], color=ncol[k], lw=2, label=f"neuron {k + 1}")
                    for k in range(dec.net.n_hidden)] if dec.net.n_hidden <= 12 else []
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_bit_table(dec, *, ax=None, rows: Optional[Sequence[int]] = None, title: Optional[str] = None,
                   figsize=None, fontsize: float = 7.0):
    """Look-up table of bit vectors (Fig. 8): one line per region, each bit in its neuron's colour.

    Regions are listed by index (or ``rows``); ``U`` marks unbounded regions.

    Examples
    --------
    The look-up table of bit vectors of Liu et al. Fig. 8:

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> fig = plot_bit_table(decompose(net, Box(-1, 1, dim=2)))
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    rows = list(range(dec.n_regions)) if rows is None else [int(r) for r in rows]
    n_hidden = dec.net.n_hidden
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize or (0.22 * n_hidden + 1.4, 0.17 * len(rows) + 0.6))
    else:
        fig = ax.figure
    ncol = neuron_colors(n_hidden)
    P = dec.patterns
    offs = np.concatenate([[0], np.cumsum(dec.net.hidden_sizes)])
    xs = np.arange(n_hidden) + 0.45 * np.searchsorted(offs[1:], np.arange(n_hidden), side="right")
    for r, i in enumerate(rows):
        y = len(rows) - r
        ax.text(-1.2, y, f"{i}{'' if dec.bounded[i] else ' U'}", ha="right", va="center",
                fontsize=fontsize, family="monospace")
        for k in range(n_hidden):
            ax.text(xs[k], y, "1" if P[i, k] else "0", ha="center", va="center", color=ncol[k],
                    fontsize=fontsize, family="monospace", fontweight="bold")
    for k in range(n_hidden):
        ax.text(xs[k], len(rows) + 1, f"{k + 1}", ha="center", va="center", color=ncol[k],
                fontsize=fontsize - 1)
    ax.set_xlim(-3.5, xs[-1] + 1 if n_hidden else 1)
    ax.set_ylim(0.3, len(rows) + 1.7)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_decomposition_3d(dec, *, ax=None, regions: Optional[Sequence[int]] = None, shrink: float = 0.9,
                          alpha: float = 0.35, points=None, seed: int = 0, title: Optional[str] = None,
                          elev: float = 22.0, azim: float = -60.0, figsize=(6.0, 6.0)):
    """Bounded regions of a 3-D decomposition as shaded polytopes (Figs 1(b) and 2).

    Parameters
    ----------
    regions : region indices to draw (default: every bounded region).
    shrink : each polytope is scaled by this factor about its centroid, so that the cells of the
        decomposition stay distinguishable in a static picture (1.0: no gaps).
    points : array (n, 3), optional
        Sample points drawn on top (e.g. the circle of Examples 4.1-4.2).

    Examples
    --------
    The eight octants of a 3 -> 3 -> 1 network in ``[-1, 1]^3`` (as Liu et al. Figs 1(b) and 2):

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(3), np.ones((1, 3))], [np.zeros(3), np.zeros(1)])
    >>> fig = plot_decomposition_3d(decompose(net, Box(-1, 1, dim=3)))
    >>> fig.axes[0].name
    '3d'
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection
    from scipy.spatial import ConvexHull

    if dec.dim != 3:
        raise ValueError(f"plot_decomposition_3d needs a 3-D decomposition; got dimension {dec.dim}")
    if not 0 < shrink <= 1:
        raise ValueError(f"shrink must be in (0, 1]; got {shrink}")
    idx = np.flatnonzero(dec.bounded) if regions is None else np.asarray(regions, dtype=np.int64)
    unbounded = [int(i) for i in idx if not dec.bounded[i]]
    if unbounded:
        raise ValueError(f"regions {unbounded[:5]} are unbounded; decompose in a Box to draw them")
    if ax is None:
        fig = plt.figure(figsize=figsize)
        ax = fig.add_subplot(projection="3d")
    else:
        fig = ax.figure
    fills = region_colors(dec.n_regions, seed)
    tris, cols = [], []
    for i in idx:
        V = dec.region(int(i)).vertices
        if V is None or len(V) < 4:
            continue
        c = V.mean(axis=0)
        V = c + shrink * (V - c)
        hull = ConvexHull(V)
        for s in hull.simplices:
            tris.append(V[s])
            cols.append(fills[i])
    if tris:
        cols = np.array(cols)
        cols[:, 3] = alpha
        ax.add_collection3d(Poly3DCollection(tris, facecolors=cols, edgecolors="none"))
    if points is not None:
        pts = np.asarray(points, dtype=np.float64)
        ax.plot(pts[:, 0], pts[:, 1], pts[:, 2], "k.", ms=3, zorder=10)
    if dec.domain is not None:
        lo, hi = dec.domain.lo, dec.domain.hi
    else:
        allv = np.vstack([dec.region(int(i)).vertices for i in idx]) if len(idx) else np.zeros((1, 3))
        lo, hi = allv.min(axis=0), allv.max(axis=0)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_zlim(lo[2], hi[2])
    ax.set_box_aspect((1, 1, 1))
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_zlabel("$x_3$")
    ax.view_init(elev=elev, azim=azim)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
