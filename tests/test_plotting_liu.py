"""Tests for relutopo.plotting.decomposition and relutopo.plotting.barcodes (geometry they draw)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.spatial.distance import pdist, squareform  # noqa: E402

from relutopo.decompose import decompose  # noqa: E402
from relutopo.domains import Box  # noqa: E402
from relutopo.homology import barcodes  # noqa: E402
from relutopo.nets import ReluNet  # noqa: E402
from relutopo.plotting.barcodes import plot_barcodes, plot_diagram, plot_distance_matrix  # noqa: E402
from relutopo.plotting.decomposition import (bit_string, decomposition_window,  # noqa: E402
                                             plot_bit_table, plot_decomposition_2d,
                                             plot_decomposition_3d, region_polygons)


def _net(seed, sizes):
    rng = np.random.default_rng(seed)
    W = [rng.normal(size=(sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    b = [rng.normal(size=sizes[i + 1]) for i in range(len(sizes) - 1)]
    return ReluNet.from_weights(W, b)


def _area(V):
    x, y = V[:, 0], V[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


@pytest.mark.parametrize("domain", [Box(-1.5, 1.5, dim=2), None])
def test_polygons_tile_the_window_and_edges_lie_on_their_neuron(domain):
    net = _net(4, [2, 4, 3, 1])
    dec = decompose(net, domain)
    window = decomposition_window(dec)
    polys = region_polygons(dec, window)
    assert all(p is not None for p in polys)
    # the clipped regions tile the window
    total = sum(_area(V) for V, _ in polys)
    assert total == pytest.approx(window.volume, rel=1e-8)
    # every vertex of every bounded region is inside the window
    for i in np.flatnonzero(dec.bounded):
        assert np.all(window.contains(dec.region(int(i)).vertices))
    # an edge labelled with neuron k lies on that neuron's zero set (pre-activation ~ 0)
    for V, ids in polys:
        for j, k in enumerate(ids):
            if k < 0:
                continue
            mid = 0.5 * (V[j] + V[(j + 1) % len(V)])
            z = np.concatenate(net.preactivations(mid[None, :]), axis=1)[0]
            assert abs(z[k]) < 1e-7 * (1 + np.abs(z).max())


def test_figures_draw_what_they_are_given():
    net = _net(1, [2, 3, 3, 1])
    dec = decompose(net, None)
    fig = plot_decomposition_2d(dec, labels="bits")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(texts) == sorted(bit_string(p, net.hidden_sizes) for p in dec.patterns)
    fig2 = plot_bit_table(dec)
    digits = [t for t in fig2.axes[0].texts if t.get_text() in ("0", "1")
              and t.get_position()[0] >= 0 and t.get_position()[1] <= dec.n_regions]
    assert len(digits) == dec.n_regions * net.n_hidden
    plt.close("all")
    with pytest.raises(ValueError, match="labels"):
        plot_decomposition_2d(dec, labels="colour")
    with pytest.raises(ValueError, match="2-D box"):
        plot_decomposition_2d(decompose(_net(0, [3, 4, 1]), Box(-1, 1, dim=3)))


def test_3d_plot_refuses_unbounded_regions():
    net = _net(2, [3, 5, 1])
    box = decompose(net, Box(-1, 1, dim=3))
    fig = plot_decomposition_3d(box, points=np.zeros((2, 3)))
    assert len(fig.axes) == 1
    whole = decompose(net, None)
    with pytest.raises(ValueError, match="unbounded"):
        plot_decomposition_3d(whole, regions=range(whole.n_regions))
    plt.close("all")


def test_barcode_plot_draws_one_segment_per_bar():
    t = 2 * np.pi * np.arange(12) / 12
    D = squareform(pdist(np.column_stack([np.cos(t), np.sin(t)])))
    bc = barcodes(D, 1)
    fig = plot_barcodes(bc)
    for ax, k in zip(fig.axes, (0, 1)):
        segments = [ln for ln in ax.lines if len(ln.get_xdata()) == 2]
        assert len(segments) == len(bc[k])
    assert "1 long / 1 bars" in [t.get_text() for t in fig.axes[1].texts]
    plot_diagram(bc)
    plot_distance_matrix(D)
    with pytest.raises(ValueError, match="dims contains 3"):
        plot_barcodes(bc, dims=[3])
    plt.close("all")
