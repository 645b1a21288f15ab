"""What the chapter measures on the pools of La Malfa et al. to test the paper's statements.

Each function turns the CNT metrics of a pool (:class:`~relutopo.papers.lamalfa.pools.PoolCNT`)
into the numbers a claim is decided on, with the rule's parameters (bandwidth, centre window,
thresholds) as arguments so that the chapter states them:

* :func:`modes_per_network` -- modes of each network's KDE (Fig. 2, "multimodal"), one count per
  network (pooling networks would merge or multiply modes);
* :func:`strength_correlations` -- Spearman's rho and its two-sided p-value between each neuron's
  ``s_in``, ``s_out`` and ``s = s_in + s_out`` and its mean neurons strength or activation
  (Figs 5/6, "the Nodes Strength does not correlate");
* :func:`central_mass` and :func:`shuffle_pixels` -- the share of an elicitation map inside a
  centre window, and the seeded pixel permutation of the baseline (Fig. 3, "central part");
* :func:`excess_kurtosis_per_network` and :func:`kurtosis_test` -- per-network excess kurtosis
  and D'Agostino's kurtosis test against a Gaussian (Fig. 2, "pronounced kurtosis");
* :func:`extreme_share`, :func:`middle_share`, :func:`uniform_distance` -- where sigmoid
  activations sit (Figs 2 and 4).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

__all__ = ["modes_per_network", "strength_correlations", "central_window", "central_mass",
           "shuffle_pixels", "unshuffle_map", "excess_kurtosis_per_network", "kurtosis_test",
           "extreme_share", "middle_share", "uniform_distance", "STRENGTHS"]

#: The nodes strengths of eq. 3 and the PoolCNT metric holding each.
STRENGTHS = {"s_in": "node_strength_in", "s_out": "node_strength_out", "s": "node_strength"}


def modes_per_network(pool, metric: str, layer: int, *, bandwidth="scott", min_prominence: float = 0.05,
                      max_points: int = 20000, seed: int = 0) -> np.ndarray:
    """The number of KDE modes of ``metric`` at ``layer`` for each network of ``pool`` separately.

    The bandwidth rule (``"scott"``, ``"silverman"`` or a factor, as
    ``scipy.stats.gaussian_kde``) is applied to each network's own values; a mode needs a
    prominence of ``min_prominence`` times the peak density (:func:`relutopo.cnt.count_modes`).

    Examples
    --------
    Fig. 2 (CNN nodes strength "multimodal"): ``modes_per_network(cnn3, "node_strength", 2)``
    gives one count per network; the chapter reports their distribution.
    """
    from relutopo.cnt import count_modes

    counts = []
    for k, net in enumerate(pool.layer(layer)):
        values = _network_values(net, metric)
        counts.append(count_modes(values, bandwidth=bandwidth, min_prominence=min_prominence,
                                  max_points=max_points, seed=seed + k))
    return np.array(counts, dtype=int)


def _network_values(item, metric: str) -> np.ndarray:
    if metric == "node_strength":
        return np.ravel(item.node_strength)
    if metric in ("node_strength_in", "node_strength_out", "neuron_strength", "neuron_activation"):
        return np.ravel(getattr(item, metric))
    raise ValueError(f"metric must be a nodes/neurons strength or activation; got {metric!r}")


def strength_correlations(pool, layer: int, metric: str = "neuron_strength") -> dict:
    """Spearman's rho (two-sided p) between each nodes strength and the per-neuron mean ``metric``.

    Neurons of every network of ``pool`` at ``layer`` are pooled (one point per neuron and
    network). Returns ``{"s_in": {"rho", "p", "n"}, "s_out": ..., "s": ...}``; a constant
    strength (e.g. ``s_out`` of the output layer, 0) gives ``nan``.

    Examples
    --------
    Figs 5/6: ``strength_correlations(fc7, 3)["s_out"]["rho"]`` -- the paper states the nodes
    strength does not correlate with the neurons strength; eq. 3's two parts are tested apart.
    """
    from scipy.stats import spearmanr

    y = pool.per_neuron(metric, layer)
    out = {}
    for name, m in STRENGTHS.items():
        x = pool.per_neuron(m, layer)
        if x.shape != y.shape:
            raise ValueError(f"{m} ({x.shape}) and {metric} ({y.shape}) are not aligned at layer {layer}")
        keep = np.isfinite(x) & np.isfinite(y)
        x_, y_ = x[keep], y[keep]
        if x_.size < 3 or np.ptp(x_) == 0 or np.ptp(y_) == 0:
            rho, p = float("nan"), float("nan")
        else:
            r = spearmanr(x_, y_)
            rho, p = float(r.statistic), float(r.pvalue)
        out[name] = {"rho": rho, "p": p, "n": int(x_.size)}
    return out


def central_window(shape: Sequence[int], fraction: float = 0.5) -> tuple:
    """The centre window of an ``(H, W)`` map: the middle ``fraction`` of rows and of columns.

    Returns ``(row slice, column slice)``; its area share is about ``fraction ** 2``.

    Examples
    --------
    The central 14 x 14 of a 28 x 28 MNIST map (a quarter of its pixels):

    >>> central_window((28, 28), 0.5)
    (slice(7, 21, None), slice(7, 21, None))
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1]; got {fraction!r}")
    h, w = (int(s) for s in shape)
    dh, dw = max(1, int(round(h * fraction))), max(1, int(round(w * fraction)))
    r0, c0 = (h - dh) // 2, (w - dw) // 2
    return slice(r0, r0 + dh), slice(c0, c0 + dw)


def central_mass(elicitation: np.ndarray, fraction: float = 0.5) -> float:
    """Share of ``sum |E|`` of an ``(H, W)`` map inside :func:`central_window` (Fig. 3).

    A uniform map gives the window's area share (``fraction ** 2`` up to rounding).

    Examples
    --------
    >>> E = np.zeros((28, 28)); E[10:18, 10:18] = 1.0
    >>> central_mass(E)
    1.0
    >>> round(central_mass(np.ones((28, 28))), 4)
    0.25
    """
    E = np.abs(np.asarray(elicitation, dtype=np.float64))
    if E.ndim != 2:
        raise ValueError(f"the elicitation map must be 2-D (H, W); got shape {E.shape}")
    total = E.sum()
    if not total > 0:
        raise ValueError("the elicitation map is zero everywhere")
    rows, cols = central_window(E.shape, fraction)
    return float(E[rows, cols].sum() / total)


def shuffle_pixels(X: np.ndarray, seed: int) -> tuple:
    """Images ``(n, C, H, W)`` with their pixel positions permuted by one seeded permutation.

    The same permutation of the ``H * W`` positions is applied to every image and channel, so
    the ink no longer sits in the centre while each image keeps its pixel values. Returns the
    shuffled images and the permutation (``shuffled[..., k] = X[..., perm[k]]`` over flattened
    positions). The baseline of Fig. 3: an elicitation map computed on shuffled inputs, read in
    the network's input coordinates, shows where the *network* (not the data) concentrates.

    Examples
    --------
    >>> X = np.arange(8.0).reshape(1, 2, 2, 2)
    >>> Y, perm = shuffle_pixels(X, seed=0)
    >>> bool(np.array_equal(np.sort(Y.ravel()), X.ravel())), sorted(perm.tolist())
    (True, [0, 1, 2, 3])
    """
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"X must be images (n, C, H, W); got shape {X.shape}")
    n, c, h, w = X.shape
    perm = np.random.default_rng(seed).permutation(h * w)
    return X.reshape(n, c, h * w)[:, :, perm].reshape(X.shape), perm


def unshuffle_map(E: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Inverse of :func:`shuffle_pixels` for an ``(H, W)`` map (back to the images' positions)."""
    E = np.asarray(E)
    out = np.empty(E.size, dtype=E.dtype)
    out[np.asarray(perm)] = E.ravel()
    return out.reshape(E.shape)


def excess_kurtosis_per_network(pool, metric: str, layer: int) -> np.ndarray:
    """Fisher's excess kurtosis (0 for a Gaussian) of ``metric`` at ``layer``, one per network.

    Examples
    --------
    Fig. 2 (RNN neurons strength "pronounced kurtosis"):
    ``excess_kurtosis_per_network(rnn3, "neuron_strength", 1)``.
    """
    from scipy.stats import kurtosis

    return np.array([float(kurtosis(_network_values(net, metric))) for net in pool.layer(layer)])


def kurtosis_test(values: np.ndarray) -> dict:
    """D'Agostino's test of the kurtosis of ``values`` against a Gaussian's, two-sided.

    Returns ``{"excess": excess kurtosis, "z": statistic, "p": p-value, "n": size}`` (needs at
    least 20 values; ``nan`` below).

    Examples
    --------
    >>> kurtosis_test(np.random.default_rng(0).standard_t(3, 2000))["p"] < 0.05
    True
    """
    from scipy.stats import kurtosis, kurtosistest

    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 20 or np.ptp(v) == 0:
        return {"excess": float("nan"), "z": float("nan"), "p": float("nan"), "n": int(v.size)}
    r = kurtosistest(v)
    return {"excess": float(kurtosis(v)), "z": float(r.statistic), "p": float(r.pvalue), "n": int(v.size)}


def extreme_share(values: np.ndarray, margin: float = 0.1) -> float:
    """Share of sigmoid activations within ``margin`` of 0 or 1 ("at the extremes", Figs 2 and 4)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("no values")
    return float(np.mean((v <= margin) | (v >= 1 - margin)))


def middle_share(values: np.ndarray, lo: float = 0.4, hi: float = 0.6) -> float:
    """Share of activations in ``[lo, hi]`` (Fig. 2: RNN activations "between 0.4 and 0.6")."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("no values")
    return float(np.mean((v >= lo) & (v <= hi)))


def uniform_distance(values: np.ndarray, max_points: Optional[int] = 20000, seed: int = 0) -> float:
    """Kolmogorov-Smirnov distance of sigmoid activations from the uniform law on [0, 1].

    Fig. 4: sigmoid AEs' activation "distributed evenly around its support" -- a small distance.

    Examples
    --------
    >>> round(uniform_distance(np.linspace(0, 1, 1001)), 3)
    0.001
    """
    from scipy.stats import kstest

    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("no values")
    if max_points is not None and v.size > max_points:
        v = np.random.default_rng(seed).choice(v, int(max_points), replace=False)
    return float(kstest(v, "uniform").statistic)
