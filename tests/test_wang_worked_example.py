"""relutopo.papers.wang.worked_example: the traced pipeline of eq. (3.2) finds exactly the
regions of propagate() and of the engine, with the network's own affine maps; the Fig. 1
network has the paper's feature (three connected regions of value 0, one linear region)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from relutopo.activation_regions import propagate  # noqa: E402
from relutopo.decompose import decompose  # noqa: E402
from relutopo.linear_regions import linear_regions  # noqa: E402
from relutopo.papers.wang import worked_example as we  # noqa: E402
from relutopo.papers.wang.sweeps import uniform_net  # noqa: E402


def _patterns(regions):
    return {tuple(np.asarray(r.bits, dtype=int)) for r in regions}


@pytest.mark.parametrize("sizes, seed", [((2, 2, 2, 1), 0), ((2, 3, 2, 1), 4), ((2, 3, 2, 2, 1), 7),
                                         ((3, 3, 2, 1), 1)])
def test_trace_finds_the_regions_of_propagate_and_the_engine(sizes, seed):
    net = uniform_net(list(sizes), seed)
    steps = we.trace(net)
    final = we.final_regions(steps)
    eng = {tuple(p) for p in np.asarray(decompose(net, None).patterns, dtype=int)}
    assert _patterns(final) == _patterns_of(propagate(net)) == eng
    for r in final:                      # V(c) is the network's affine map on the region
        A, c = net.affine_map(np.asarray(r.bits, dtype=bool))
        assert np.allclose(r.value[0, :-1], A[0]) and np.isclose(r.value[0, -1], c[0])
    # every hidden neuron has a Cut step, every layer its Intersect chain
    cuts = [s for s in steps if s.kind == "cut"]
    assert len(cuts) == net.n_hidden
    assert sum(s.kind == "intersect" for s in steps) == sum(h - 1 for h in net.hidden_sizes)


def _patterns_of(res):
    return {tuple(p) for p in np.asarray(res.patterns, dtype=int)}


def test_fig1_network_has_a_linear_region_of_three_zero_valued_regions():
    net = we.fig1_net()
    steps = we.trace(net)
    regions = we.final_regions(steps)
    lin = linear_regions(propagate(net))
    assert len(regions) == 7 and lin.n_linear == 5
    sizes = np.bincount(lin.labels)
    assert sorted(sizes) == [1, 1, 1, 1, 3]
    merged = np.flatnonzero(lin.labels == np.argmax(sizes))
    res = propagate(net)
    assert np.all(res.maps[merged] == 0) and np.all(res.offsets[merged] == 0)   # value 0
    order = we.display_order(lin.labels)
    assert sorted(order[-3:]) == sorted(merged.tolist())        # numbered 5-7, as in the paper


def test_figures_draw():
    import matplotlib.pyplot as plt

    net = we.fig1_net()
    steps = we.trace(net)
    window = we.default_window(net)
    lin = linear_regions(propagate(net))
    for fig in (we.plot_fig1(net, steps, window, lin.labels), we.plot_steps(steps, window),
                we.plot_pipeline(net, steps)):
        assert fig.axes
        plt.close(fig)
    with pytest.raises(ValueError, match="two inputs"):
        we.default_window(uniform_net([3, 2, 1], 0))
    with pytest.raises(TypeError, match="ReluNet"):
        we.trace("net")
