"""Wang's Figs 1 and 2 (IJCAI 2022, §3) regenerated from our Intersect/Add/Cut.

Fig. 1 of the paper is a worked example: a small network with two inputs (weights written on its
edges, biases above its neurons) and, in the ``xy``-plane, the activation regions of its output
neuron, numbered; regions that are connected and have the same value (there: regions 5-7, value
0) form one linear region. Fig. 2 is the pipeline of §3: the activation regions of the neurons
of one layer are intersected pairwise, one neuron after the other (values appended to a list),
and every neuron of the next layer applies its weighted sum, Add and Cut to each intersection.

* :func:`trace` runs that pipeline on a network with the operations of
  :mod:`relutopo.activation_regions` (``intersect``, ``add``, ``cut``) and keeps every step, so the
  figures show what our implementation computes. It applies eq. (3.2) literally, without the
  pruning :func:`relutopo.activation_regions.propagate` adds (regions of different parent cells
  are still tried, and rejected by their bits); its last step has the same regions as
  ``propagate`` (``tests/test_wang_worked_example.py``).
* :data:`FIG1_WEIGHTS` is our example network, 2 -> 2 -> 2 -> 1 with small integer weights,
  chosen (the paper's weights are in its figure, which our text copy does not have) so that, as in
  the paper's example, three connected activation regions of value 0 form one linear region.
* :func:`plot_network`, :func:`plot_steps`, :func:`plot_fig1` and :func:`plot_pipeline` draw them.

Examples
--------
>>> steps = trace(fig1_net())
>>> [s.label for s in steps][:3]
['N^1_1: Cut(Add(w.x, b))', 'N^1_2: Cut(Add(w.x, b))', 'layer 1: Intersect(N^1_1, N^1_2)']
>>> len(steps[-1].regions)                     # seven activation regions; 5-7 form one linear region
7
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from relutopo.activation_regions import (ActivationRegion, Geometry, add, arrangement_scale, cut,
                                   intersect, whole_space)
from relutopo import tolerances as tol
from relutopo.domains import Box
from relutopo.nets import ReluNet

__all__ = ["FIG1_WEIGHTS", "fig1_net", "Step", "trace", "final_regions", "default_window", "display_order",
           "region_polygon",
           "plot_network", "plot_steps", "plot_fig1", "plot_pipeline"]

#: Our Fig. 1 network ``2 -> 2 -> 2 -> 1``: ``(weights, biases)`` per layer, ``x -> W x + b``.
FIG1_WEIGHTS = (
    ([[1.0, 1.0], [1.0, -1.0]], [0.0, -1.0]),
    ([[-1.0, 1.0], [1.0, -2.0]], [0.0, -2.0]),
    ([[1.0, -1.0]], [0.0]),
)


def fig1_net() -> ReluNet:
    """The network of :data:`FIG1_WEIGHTS`.

    Examples
    --------
    The network of Wang's Fig. 1 (two inputs, two hidden layers of two neurons, one output):

    >>> net = fig1_net()
    >>> net.input_dim, net.hidden_sizes, net.output_dim
    (2, (2, 2), 1)
    """
    return ReluNet.from_weights([w for w, _ in FIG1_WEIGHTS], [b for _, b in FIG1_WEIGHTS])


@dataclass(frozen=True)
class Step:
    """One step of the pipeline: its ``label``, the hidden ``layer`` (1-based; ``L + 1`` for the
    output neuron), the ``neuron`` (0-based, None for an intersection), the operation ``kind``
    (``"cut"``, ``"intersect"`` or ``"output"``) and the activation ``regions`` it produced.

    Examples
    --------
    >>> steps = trace(fig1_net())
    >>> s = steps[0]
    >>> s.label, s.layer, s.neuron, s.kind, len(s.regions)
    ('N^1_1: Cut(Add(w.x, b))', 1, 0, 'cut', 2)
    """

    label: str
    layer: int
    neuron: Optional[int]
    kind: str
    regions: tuple


def _weighted(cell: ActivationRegion, w: np.ndarray) -> ActivationRegion:
    """The cell with its list of values replaced by their weighted sum ``w . V``."""
    return ActivationRegion(cell.A, cell.b, (w @ cell.value)[None, :], cell.bits, cell.point,
                            cell.radius, cell.parent, cell.row_ids)


def trace(net: ReluNet) -> tuple:
    """Every step of Wang's pipeline (§3, Fig. 2) on ``net``: the regions of each hidden neuron
    (``Cut(Add(Intersect(...)))``, eq. 3.2), the pairwise intersections of each layer, and the
    output neuron's regions (Intersect and Add, no Cut).

    Examples
    --------
    Wang's pipeline (§3, Fig. 2) on the network of Fig. 1, step by step:

    >>> steps = trace(fig1_net())
    >>> [(s.kind, len(s.regions)) for s in steps]
    [('cut', 2), ('cut', 2), ('intersect', 4), ('cut', 5), ('cut', 6), ('intersect', 7), ('output', 7)]
    """
    if not isinstance(net, ReluNet):
        raise TypeError(f"net must be a relutopo.ReluNet; got {type(net).__name__}")
    geo = Geometry(net.input_dim, arrangement_scale(net))
    offs = net.layer_offsets
    cells = [whole_space(net.input_dim, net.n_hidden, geo)]
    steps = []
    for li, (W, b) in enumerate(zip(net.weights[:-1], net.biases[:-1])):
        layer = li + 1
        per_neuron = []
        for j in range(W.shape[0]):
            regs = []
            for pi, cell in enumerate(cells):
                regs += cut(add(_weighted(cell, W[j]), b[j]), geometry=geo,
                            bit=int(offs[li] + j), parent=pi)
            per_neuron.append(regs)
            what = "w.x" if layer == 1 else "Intersect(...)"
            steps.append(Step(f"N^{layer}_{j + 1}: Cut(Add({what}, b))", layer, j, "cut",
                              tuple(regs)))
        inter = per_neuron[0]
        for j in range(1, len(per_neuron)):
            inter = [x for c in inter for d in per_neuron[j]
                     for x in [intersect((c, d), geometry=geo)] if x is not None]
            names = ", ".join(f"N^{layer}_{k + 1}" for k in range(j + 1))
            steps.append(Step(f"layer {layer}: Intersect({names})", layer, None, "intersect",
                              tuple(inter)))
        cells = inter
    Wout, bout = net.weights[-1], net.biases[-1]
    out = [add(_weighted(c, Wout[0]), bout[0]) for c in cells]
    steps.append(Step("output: Add(Intersect(...), b)", len(net.weights), None, "output",
                      tuple(out)))
    return tuple(steps)


def final_regions(steps) -> tuple:
    """The output neuron's activation regions of a :func:`trace`.

    Examples
    --------
    Fig. 1 of Wang shows seven activation regions of the output neuron:

    >>> len(final_regions(trace(fig1_net())))
    7
    """
    return steps[-1].regions


def default_window(net: ReluNet, margin: float = 0.25) -> Box:
    """A square window around every vertex of the bounded regions of a 2-D network (from the
    engine's decomposition), enlarged by ``margin`` of its size on each side.

    Examples
    --------
    >>> w = default_window(fig1_net())
    >>> w.dim, bool((w.hi > w.lo).all())
    (2, True)
    """
    from relutopo.decompose import decompose
    from relutopo.plotting.decomposition import decomposition_window

    if net.input_dim != 2:
        raise ValueError(f"the worked example draws networks with two inputs; got {net.input_dim}")
    return decomposition_window(decompose(net, None), margin=margin)


def region_polygon(region: ActivationRegion, window: Box) -> Optional[np.ndarray]:
    """Vertices (counter-clockwise) of a 2-D region's shape clipped to ``window``; None when the
    shape does not meet the window's interior.

    Examples
    --------
    >>> net = fig1_net()
    >>> regions = final_regions(trace(net))
    >>> polys = [region_polygon(r, default_window(net)) for r in regions]
    >>> sum(p is not None for p in polys), polys[0].shape[1]
    (7, 2)
    """
    from relutopo.polyhedra import chebyshev_center, polytope_vertices

    Aw, cw = window.halfspaces()
    A = np.vstack([region.A, Aw])
    c = np.concatenate([region.b, cw])
    x0, r = chebyshev_center(A, c, radius_cap=window.scale)
    if x0 is None or not r > tol.CHEBYSHEV_RTOL * window.scale:
        return None
    V = polytope_vertices(A, c, x0)
    ctr = V.mean(axis=0)
    return V[np.argsort(np.arctan2(V[:, 1] - ctr[1], V[:, 0] - ctr[0]))]


def _value_text(v: np.ndarray) -> str:
    a, b, t = (float(x) for x in np.asarray(v).reshape(-1)[:3])
    terms = []
    for coef, name in ((a, "x"), (b, "y")):
        if coef:
            terms.append(f"{coef:+g}{name}")
    if t or not terms:
        terms.append(f"{t:+g}")
    s = "".join(terms)
    return s[1:] if s.startswith("+") else s


def plot_network(net: ReluNet, ax=None, *, fontsize: float = 8.0):
    """The network as the paper's Fig. 1 draws it: neurons as dots, layer by layer, the weight
    above each edge and the bias above each neuron; the output neuron in blue.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_network(fig1_net())
    >>> plt.close("all")
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    sizes = [net.input_dim, *net.hidden_sizes, net.output_dim]
    pos = {}
    for L, n in enumerate(sizes):
        for k in range(n):
            pos[L, k] = (L, (n - 1) / 2 - k)
    for L, (W, b) in enumerate(zip(net.weights, net.biases)):
        for k in range(W.shape[0]):
            for j in range(W.shape[1]):
                (x0, y0), (x1, y1) = pos[L, j], pos[L + 1, k]
                ax.plot([x0, x1], [y0, y1], color="0.6", lw=1, zorder=1)
                t = 0.25                       # next to the source neuron, along the edge
                ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0) + 0.06, f"{W[k, j]:g}",
                        fontsize=fontsize, ha="center", va="bottom", color="0.2", zorder=3)
            x, y = pos[L + 1, k]
            ax.text(x, y + 0.15, f"{b[k]:g}", fontsize=fontsize, ha="center", va="bottom",
                    color="tab:red", zorder=3)
    for (L, k), (x, y) in pos.items():
        color = "tab:blue" if L == len(sizes) - 1 else ("0.3" if L == 0 else "k")
        ax.plot(x, y, "o", ms=9, color=color, zorder=2)
        if L == 0:
            ax.text(x - 0.12, y, "xy"[k] if net.input_dim == 2 else f"x{k + 1}", ha="right",
                    va="center", fontsize=fontsize + 1)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-max(sizes) / 2 - 0.2, max(sizes) / 2 + 0.3)
    ax.axis("off")
    return ax


def display_order(linear_labels: Sequence[int]) -> list:
    """Region indices in the order Fig. 1 numbers them: regions that are a linear region by
    themselves first, then those that merge with others, grouped (the paper's "5-7").

    Examples
    --------
    Regions 0 and 3 are linear regions by themselves; 1, 2 and 4 form one linear region:

    >>> display_order([0, 1, 1, 2, 1])
    [0, 3, 1, 2, 4]
    """
    labels = np.asarray(linear_labels)
    sizes = np.bincount(labels)
    return sorted(range(len(labels)), key=lambda i: (sizes[labels[i]] > 1, labels[i], i))


def _draw_regions(ax, regions, window, *, numbers=True, groups=None, order=None, fontsize=7.0,
                  title=None):
    from matplotlib.patches import Polygon

    from relutopo.plotting.decomposition import region_colors

    fills = region_colors(max(len(regions), 1))
    number = {i: k for k, i in enumerate(order if order is not None else range(len(regions)))}
    for i, reg in enumerate(regions):
        V = region_polygon(reg, window)
        if V is None:
            continue
        color = fills[groups[i] if groups is not None else i]
        ax.add_patch(Polygon(V, closed=True, facecolor=color, edgecolor="tab:blue", lw=1.2))
        if numbers:
            x = V.mean(axis=0)
            ax.text(x[0], x[1], str(number[i] + 1), ha="center", va="center", fontsize=fontsize,
                    bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.75))
    ax.set_xlim(window.lo[0], window.hi[0])
    ax.set_ylim(window.lo[1], window.hi[1])
    ax.set_aspect("equal")
    ax.tick_params(labelsize=6)
    if title:
        ax.set_title(title, fontsize=fontsize + 1)


def plot_steps(steps, window: Box, *, ncols: int = 4):
    """One panel per step of a :func:`trace`: the regions it produced, numbered, with their
    values (the affine functions ``V(c)``) listed for the neurons' steps.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> net = fig1_net()
    >>> fig = plot_steps(trace(net), default_window(net))
    >>> len(fig.axes) >= len(trace(net))
    True
    >>> plt.close("all")
    """
    import matplotlib.pyplot as plt

    n = len(steps)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 3.2 * nrows), squeeze=False)
    for ax, s in zip(axes.ravel(), steps):
        _draw_regions(ax, s.regions, window, title=s.label.replace("^", "").replace("_", ""))
        if s.kind == "cut":
            lines = [f"{i + 1}: {_value_text(r.value[0])}" for i, r in enumerate(s.regions)]
            ax.text(0.02, 0.02, "\n".join(lines[:8]), transform=ax.transAxes, fontsize=5.5,
                    va="bottom", ha="left", bbox=dict(fc="white", ec="0.7", alpha=0.85))
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_fig1(net: ReluNet, steps, window: Box, linear_labels: Optional[Sequence[int]] = None):
    """Wang's Fig. 1: the network (left) and its output neuron's activation regions, numbered
    (right); regions of one linear region share a colour when ``linear_labels`` is given.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> net = fig1_net()
    >>> fig = plot_fig1(net, trace(net), default_window(net))
    >>> len(fig.axes)
    2
    >>> plt.close("all")
    """
    import matplotlib.pyplot as plt

    fig, (a0, a1) = plt.subplots(1, 2, figsize=(9, 4), gridspec_kw={"width_ratios": [1, 1.2]})
    plot_network(net, a0)
    regions = final_regions(steps)
    order = display_order(linear_labels) if linear_labels is not None else None
    _draw_regions(a1, regions, window, groups=linear_labels, order=order, fontsize=8,
                  title="activation regions of the output neuron")
    a1.set_xlabel("x")
    a1.set_ylabel("y")
    fig.tight_layout()
    return fig


def plot_pipeline(net: ReluNet, steps):
    """Wang's Fig. 2 with our numbers: per hidden layer, a column with its neurons' activation
    regions (``Cut(Add(...))``, eq. 3.2) and a column with the pairwise Intersect chain, which
    feeds every neuron of the next layer; then the output's Intersect + Add. Each box shows how
    many regions our implementation produced at that step.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> net = fig1_net()
    >>> fig = plot_pipeline(net, trace(net))
    >>> plt.close("all")
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if not isinstance(net, ReluNet):
        raise TypeError(f"net must be a relutopo.ReluNet; got {type(net).__name__}")
    columns = []                                   # list of lists of steps
    for L in sorted({s.layer for s in steps}):
        cuts = [s for s in steps if s.layer == L and s.kind == "cut"]
        inter = [s for s in steps if s.layer == L and s.kind == "intersect"]
        out = [s for s in steps if s.layer == L and s.kind == "output"]
        columns += [c for c in (cuts, inter, out) if c]
    height = max(len(c) for c in columns)
    W, H, dx, dy = 1.9, 0.7, 2.5, 0.95
    fig, ax = plt.subplots(figsize=(dx * len(columns) * 0.9 + 0.5, dy * height + 0.8))
    where = {}
    for col, group in enumerate(columns):
        top = (height - len(group)) * dy / 2
        for row, s in enumerate(group):
            x, y = dx * col, -top - row * dy
            color = {"cut": "#fde0dd", "intersect": "#deebf7", "output": "#c6dbef"}[s.kind]
            ax.add_patch(FancyBboxPatch((x, y - H / 2), W, H, boxstyle="round,pad=0.05",
                                        fc=color, ec="0.3"))
            name = s.label.split(":")[0].replace("^", "").replace("_", ".")
            if s.kind == "intersect":
                name = "Intersect(" + s.label.split("(", 1)[1].replace("^", "").replace("_", ".")
            op = {"cut": "Cut(Add(.)): ", "intersect": "", "output": "Intersect + Add, no Cut: "}[s.kind]
            ax.text(x + W / 2, y + 0.12, name, ha="center", va="center", fontsize=7)
            ax.text(x + W / 2, y - 0.15, f"{op}{len(s.regions)} regions", ha="center",
                    va="center", fontsize=6.5)
            where[id(s)] = (x, y)

    def arrow(a, b):
        (xa, ya), (xb, yb) = where[id(a)], where[id(b)]
        ax.annotate("", xy=(xb - 0.02, yb), xytext=(xa + W + 0.02, ya),
                    arrowprops=dict(arrowstyle="->", color="0.45", lw=0.9))

    for left, right in zip(columns[:-1], columns[1:]):
        if right[0].kind == "intersect":          # neuron j feeds the (j-1)-th intersection
            for j, s in enumerate(left):
                arrow(s, right[max(j - 1, 0)])
            for a, b in zip(right[:-1], right[1:]):
                (xa, ya), (xb, yb) = where[id(a)], where[id(b)]
                ax.annotate("", xy=(xb + W / 2, yb + H / 2 + 0.02), xytext=(xa + W / 2, ya - H / 2 - 0.02),
                            arrowprops=dict(arrowstyle="->", color="0.45", lw=0.9))
        else:                                      # the last intersection feeds every neuron
            for s in right:
                arrow(left[-1], s)
    ax.set_xlim(-0.2, dx * len(columns))
    ax.set_ylim(-dy * height + 0.2, 0.6)
    ax.axis("off")
    fig.tight_layout()
    return fig
