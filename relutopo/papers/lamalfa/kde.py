"""Distribution panels in the layout of La Malfa et al. (Figs 2-8): seaborn KDEs and scatter plots.

A figure is a grid of panels: each column an architecture, each row a metric (or a layer), and
inside a panel one KDE curve per group (layers, activation functions, trained/untrained).
Large samples are thinned to a seeded random subset before the KDE (the curve of 4000 points is
indistinguishable from that of a million at this resolution), so figures are cheap and
reproducible.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from relutopo import tolerances as tol

__all__ = ["kde_panel", "kde_grid", "scatter_panel", "thin", "cnt_kde_grid", "strength_scatter_figure",
           "METRIC_LABELS"]


def thin(values: np.ndarray, max_points: int, seed: int = 0, weights: Optional[np.ndarray] = None):
    """A seeded subsample of at most ``max_points`` finite values (and their weights).

    Examples
    --------
    >>> import numpy as np
    >>> v, w = thin(np.array([1.0, np.nan, 2.0, 3.0, np.inf]), 2, seed=0)
    >>> len(v), bool(np.isfinite(v).all()), w
    (2, True, None)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    w = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w is not None and w.shape != v.shape:
        raise ValueError(f"weights {w.shape} must match values {v.shape}")
    keep = np.isfinite(v)
    v = v[keep]
    w = None if w is None else w[keep]
    if v.size > max_points:
        idx = np.random.default_rng(seed).choice(v.size, int(max_points), replace=False)
        v = v[idx]
        w = None if w is None else w[idx]
    return v, w


def kde_panel(ax, series: Mapping[str, np.ndarray], *, weights: Optional[Mapping[str, np.ndarray]] = None,
              max_points: int = 4000, seed: int = 0, palette: Optional[Sequence] = None,
              title: Optional[str] = None, xlabel: Optional[str] = None, legend: bool = True,
              fill: bool = True):
    """One KDE curve per entry of ``series`` (label -> values) on ``ax``.

    A group whose values are all equal (no density) is drawn as a vertical line; an empty
    group is skipped. ``weights`` (label -> multiplicities) weights the KDE (link weights).

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> rng = np.random.default_rng(0)
    >>> _ = kde_panel(ax, {"trained": rng.normal(1, 0.2, 200), "untrained": rng.normal(0, 0.2, 200)})
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['trained', 'untrained']
    >>> plt.close(fig)
    """
    import seaborn as sns

    colors = palette or sns.color_palette("deep", max(len(series), 1))
    for k, (label, values) in enumerate(series.items()):
        w = None if weights is None else weights.get(label)
        v, w = thin(values, max_points, seed + k, w)
        if v.size == 0:
            continue
        color = colors[k % len(colors)]
        if v.size < 2 or np.ptp(v) <= tol.ROUNDING_RTOL * max(1.0, float(np.abs(v).max())):
            ax.axvline(float(v[0]), color=color, label=label, lw=2)
            continue
        sns.kdeplot(x=v, weights=w, ax=ax, color=color, label=label, fill=fill, alpha=0.25 if fill else 1,
                    linewidth=1.3, warn_singular=False, cut=0)  # no density outside the data (sigmoid in (0, 1))
    if title:
        ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel or "")
    ax.set_ylabel("density", fontsize=8)
    ax.tick_params(labelsize=7)
    if legend and len(series) > 1:
        ax.legend(fontsize=7, frameon=False)
    return ax


def kde_grid(panels: Mapping[tuple, Mapping[str, np.ndarray]], row_labels: Sequence[str],
             col_labels: Sequence[str], *, suptitle: Optional[str] = None,
             panel_size: tuple = (3.0, 2.1), max_points: int = 4000, seed: int = 0,
             weights: Optional[Mapping[tuple, Mapping[str, np.ndarray]]] = None):
    """A ``len(row_labels) x len(col_labels)`` grid of :func:`kde_panel` s.

    ``panels[(r, c)]`` maps group labels to values for row ``r`` and column ``c`` (missing
    keys leave a panel empty and hidden). Row labels name the y axis (metric), column labels
    the column titles (architecture). Returns the figure.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> rng = np.random.default_rng(0)
    >>> panels = {(0, 0): {"a": rng.normal(size=50)}, (0, 1): {"a": rng.normal(size=50)}}
    >>> fig = kde_grid(panels, ["link weights"], ["FC", "CNN"])
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    nr, nc = len(row_labels), len(col_labels)
    fig, axes = plt.subplots(nr, nc, figsize=(panel_size[0] * nc, panel_size[1] * nr), squeeze=False)
    for r in range(nr):
        for c in range(nc):
            ax = axes[r][c]
            if (r, c) not in panels:
                ax.set_visible(False)
                continue
            kde_panel(ax, panels[(r, c)], weights=None if weights is None else weights.get((r, c)),
                      max_points=max_points, seed=seed + 101 * r + c,
                      title=col_labels[c] if r == 0 else None, legend=(c == nc - 1) or nc == 1)
            if c == 0:
                ax.set_ylabel(f"{row_labels[r]}\ndensity", fontsize=8)
            else:
                ax.set_ylabel("")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def scatter_panel(ax, x: np.ndarray, y: np.ndarray, *, label: Optional[str] = None,
                  max_points: int = 3000, seed: int = 0, color=None, xlabel: str = "", ylabel: str = "",
                  title: Optional[str] = None):
    """Scatter of aligned ``x``/``y`` (e.g. nodes strength vs mean neurons strength per neuron).

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = scatter_panel(ax, np.arange(5.0), np.arange(5.0) ** 2, xlabel="nodes strength", ylabel="neurons strength")
    >>> ax.get_xlabel()
    'nodes strength'
    >>> plt.close(fig)
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x {x.shape} and y {y.shape} must be aligned")
    if x.size > max_points:
        idx = np.random.default_rng(seed).choice(x.size, int(max_points), replace=False)
        x, y = x[idx], y[idx]
    ax.scatter(x, y, s=4, alpha=0.4, label=label, color=color, rasterized=True)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


#: Row labels of the CNT metrics (keys of :meth:`relutopo.papers.lamalfa.pools.PoolCNT.values`).
METRIC_LABELS = {
    "link_weights": "link weights $\\omega+\\beta$",
    "node_strength": "nodes strength $s$",
    "node_strength_in": "nodes in-strength $s_{in}$",
    "neuron_strength": "neurons strength $\\zeta$",
    "neuron_activation": "neurons activation $a$",
}


def cnt_kde_grid(columns: Mapping[str, Mapping[str, tuple]], metrics: Sequence[str], *,
                 suptitle: Optional[str] = None, max_points: int = 4000, seed: int = 0,
                 panel_size: tuple = (3.0, 2.1)):
    """The paper's distribution figure: rows = CNT metrics, columns = architectures, hue = groups.

    Parameters
    ----------
    columns : mapping column label -> {group label -> (PoolCNT, layer)}
        E.g. ``{"FC": {"layer 2": (fc, 2), "layer 3": (fc, 3)}, ...}`` (Fig. 2) or
        ``{"FC": {"linear": (fc_lin, 2), "ReLU": (fc_relu, 2)}, ...}`` (Fig. 4).
    metrics : sequence of str
        Rows, keys of :data:`METRIC_LABELS`; link weights are weighted by link multiplicity.
    """
    panels, weights = {}, {}
    for c, groups in enumerate(columns.values()):
        for r, metric in enumerate(metrics):
            panels[(r, c)] = {g: pool.values(metric, layer) for g, (pool, layer) in groups.items()}
            if metric == "link_weights":
                weights[(r, c)] = {g: pool.link_counts(layer) for g, (pool, layer) in groups.items()}
    return kde_grid(panels, [METRIC_LABELS.get(m, m) for m in metrics], list(columns), suptitle=suptitle,
                    max_points=max_points, seed=seed, weights=weights, panel_size=panel_size)


def strength_scatter_figure(rows: Mapping[str, object], layers: Sequence[int], *,
                            suptitle: Optional[str] = None, max_points: int = 4000, seed: int = 0):
    """Figs 5-7 layout: per architecture (row), KDEs of neurons strength and activation by layer,
    and scatter plots of nodes strength against the per-neuron mean neurons strength and activation.

    ``rows`` maps a row label to a :class:`~relutopo.papers.lamalfa.pools.PoolCNT`; ``layers`` are the
    paper's (1-based) layers shown, one colour each.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    colors = sns.color_palette("viridis", len(layers))
    fig, axes = plt.subplots(len(rows), 4, figsize=(12.5, 2.5 * len(rows)), squeeze=False)
    for r, (label, pool) in enumerate(rows.items()):
        for m, metric in enumerate(("neuron_strength", "neuron_activation")):
            kde_panel(axes[r][m], {f"layer {l}": pool.values(metric, l) for l in layers}, palette=colors,
                      max_points=max_points, seed=seed + 10 * r + m, legend=(m == 0),
                      xlabel=METRIC_LABELS[metric] if r == len(rows) - 1 else None)
            axes[r][m].set_ylabel(f"{label}\ndensity" if m == 0 else "", fontsize=8)
        for m, metric in enumerate(("neuron_strength", "neuron_activation")):
            ax = axes[r][2 + m]
            for k, l in enumerate(layers):
                scatter_panel(ax, pool.per_neuron("node_strength", l), pool.per_neuron(metric, l),
                              max_points=max_points // len(layers), seed=seed + k, color=colors[k],
                              xlabel="nodes strength $s$" if r == len(rows) - 1 else "",
                              ylabel=f"mean {METRIC_LABELS[metric].split(' $')[0]}")
    for m, title in enumerate(("neurons strength", "neurons activation", "$s$ vs $\\zeta$", "$s$ vs $a$")):
        axes[0][m].set_title(title, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig
