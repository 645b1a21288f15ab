"""Exact refinement of piecewise-linear torch models on planes and segments, checked by dense
sampling, by each region's own interior point, by bisection, and against chunking."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from relutopo import decompose
from relutopo.papers.engine_slices.basic_resnet import BasicBlock
from relutopo.papers.engine_slices.residual_cnn import residual_cnn
from relutopo.slice_decomposition import decompose_slice
from relutopo.slice_refine import upper_envelope
from relutopo.slices import Plane, Segment

from test_pl_graph import randomise_bn
from test_slices import bisection_pieces


def small_cnn(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, stride=2), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        BasicBlock(3, 3), nn.Flatten(), nn.Linear(3 * 2 * 2, 4))
    return randomise_bn(model, seed=seed)


def images(seed, n=3, shape=(1, 9, 9)):
    return np.random.default_rng(seed).normal(size=(n, *shape))


def check_plane(model, plane, grid=120):
    dec = decompose(model, plane)
    g = dec.model
    # areas tile the box
    assert dec.areas().sum() == pytest.approx(plane.box.volume, rel=1e-9)
    # each region's interior point has the region's pattern
    dig = g.digests(plane.to_input(dec.interior_points))
    np.testing.assert_array_equal(dig, dec.digests)
    assert len({bytes(d) for d in dec.digests}) == dec.n_regions  # no region is split in two
    # dense sampling: every sampled pattern is a region, found where the point lies
    U = plane.grid(grid)
    X = plane.to_input(U)
    sampled = g.digests(X)
    index = dec.index_of_digest()
    hits = np.array([index.get(bytes(d), -1) for d in sampled])
    assert np.all(hits >= 0)
    assert np.array_equal(dec.locate(U), hits)
    # outputs from the regions' affine maps equal torch's forward pass
    with torch.no_grad():
        ref = model.double()(torch.from_numpy(X)).numpy()
    assert np.abs(dec.outputs(U) - ref).max() <= 1e-9 * np.abs(ref).max()
    assert np.array_equal(dec.class_at(U), ref.argmax(axis=1))
    return dec


def test_cnn_with_bn_maxpool_and_residual_block_on_a_plane():
    model = small_cnn(0)
    plane = Plane.through(*images(0), margin=0.3)
    dec = check_plane(model, plane)
    assert dec.n_regions > 100
    classes = set(dec.class_at(plane.grid(60)).tolist())
    assert (len(dec.decision_boundary) > 0) == (len(classes) > 1)


def test_maxpool_regions_are_winner_changes():
    """A max-pool directly on affine inputs: regions are the cells of constant window winners."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 2, 2), nn.MaxPool2d(2, stride=1), nn.Flatten(), nn.Linear(8, 2))
    plane = Plane.through(*images(1, shape=(1, 4, 4)), margin=0.5)
    dec = check_plane(model.eval(), plane, grid=150)
    W = dec.patterns.reshape(dec.n_regions, -1, 4)
    assert np.all(W.sum(axis=2) == 1)
    # a fine grid meets every region that holds a disc wider than its spacing: a convex region of
    # area A and perimeter P has inradius >= A / P
    g = dec.model
    n = 250
    seen = {bytes(d) for d in g.digests(plane.to_input(plane.grid(n)))}
    spacing = float((plane.box.widths / (n - 1)).max())
    areas = dec.areas()
    for i, d in enumerate(dec.digests):
        if bytes(d) not in seen:
            V = dec.polygons[i]
            perimeter = np.linalg.norm(np.roll(V, -1, axis=0) - V, axis=1).sum()
            assert areas[i] / perimeter <= spacing / np.sqrt(2)


def test_leaky_relu_prelu_and_functional_blocks_on_a_plane():
    from test_pl_graph import UserBlock

    torch.manual_seed(2)
    model = randomise_bn(UserBlock(), seed=2)
    plane = Plane.through(*images(2, shape=(2, 4, 4)), margin=0.2)
    check_plane(model, plane, grid=80)


def test_trained_residual_cnn_module():
    model = randomise_bn(residual_cnn(width=2, seed=0, size=16), seed=4)
    plane = Plane.through(*images(4, shape=(1, 16, 16)), margin=0.1)
    check_plane(model, plane, grid=80)


@pytest.mark.parametrize("seed", [0, 1])
def test_cnn_segment_equals_a_bisection_on_patterns(seed):
    model = small_cnn(seed)
    a, b = images(10 + seed, n=2)
    seg = Segment(a, b, margin=0.2)
    dec = decompose(model, seg)
    g = dec.model
    n = bisection_pieces(lambda t: g.digests(seg.to_input(t[:, None])), seg.box.lo[0], seg.box.hi[0])
    assert dec.n_regions == n
    np.testing.assert_array_equal(g.digests(seg.to_input(dec.interior_points)), dec.digests)


def test_chunking_does_not_change_the_result():
    model = small_cnn(3)
    plane = Plane.through(*images(3), margin=0.3)
    big = decompose(model, plane)
    small = decompose_slice(model, plane, chunk_elems=2000)
    assert small.stats["chunks"] > big.stats["chunks"]
    assert small.n_regions == big.n_regions
    assert {bytes(d) for d in small.digests} == {bytes(d) for d in big.digests}
    seg = Segment(*images(5, n=2), margin=0.5)
    a, b = decompose(model, seg), decompose_slice(model, seg, chunk_elems=500)
    assert b.stats["chunks"] > a.stats["chunks"]
    assert a.n_regions == b.n_regions
    np.testing.assert_allclose(a.breakpoints, b.breakpoints, atol=1e-12)
    assert [bytes(x) for x in a.digests] == [bytes(x) for x in b.digests]


def test_upper_envelope_against_dense_evaluation():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(200, 6))
    B = rng.normal(size=(200, 6))
    A[:, 5] = -np.inf  # padding never wins
    B[:, 5] = -np.inf
    rows, taus = upper_envelope(A, B)
    tau = np.linspace(0, 1, 20001)
    Af, Bf = np.where(np.isfinite(A), A, -1e300), np.where(np.isfinite(B), B, -1e300)
    for r in range(200):
        win = np.argmax((1 - tau)[:, None] * Af[r] + tau[:, None] * Bf[r], axis=1)
        changes = tau[1:][win[1:] != win[:-1]]
        mine = taus[rows == r]
        assert len(mine) == len(changes)
        np.testing.assert_allclose(mine, changes, atol=1e-4)
    # ties: two identical entries are one line
    r, t = upper_envelope(np.array([[1.0, 1.0, 0.0]]), np.array([[0.0, 0.0, 1.0]]))
    assert r.tolist() == [0] and t.tolist() == [0.5]


def test_plots_draw_planes_and_segments():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from relutopo.plotting.slices import plot_segment, plot_slice

    model = small_cnn(0)
    x = images(0)
    dec = decompose(model, Plane.through(*x, margin=0.3, labels=("a", "b", "c")))
    fig = plot_slice(dec, anchor_images=True)
    ax = fig.axes[0]
    assert len(ax.collections) >= 2  # regions and boundary
    plt.close(fig)
    fig = plot_slice(dec, color_by="region", boundary=False)
    plt.close(fig)
    seg = decompose(model, Segment(x[0], x[1]))
    fig = plot_segment(seg)
    plt.close(fig)
    with pytest.raises(ValueError, match="k = 1"):
        plot_slice(seg)
    with pytest.raises(ValueError, match="color_by"):
        plot_slice(dec, color_by="bits")


def test_interior_points_of_tiny_polygons_far_from_the_origin():
    """A triangle of side 1e-6 at (10, 7): the shoelace terms cancel catastrophically unless the
    coordinates are centred first; the centroid must lie inside and the area be exact."""
    from relutopo.slice_decomposition import _interior_points

    base = np.array([[10.0, 7.0], [10.0 + 1e-6, 7.0], [10.0, 7.0 + 2e-6]])
    rng = np.random.default_rng(0)
    polys = [base + rng.normal(scale=1e-3, size=2) for _ in range(50)]
    cents = _interior_points(polys)
    for V, c in zip(polys, cents):
        np.testing.assert_allclose(c, V.mean(axis=0), rtol=0, atol=1e-15 * 10)
        E = np.roll(V, -1, axis=0) - V
        cross = E[:, 0] * (c[1] - V[:, 1]) - E[:, 1] * (c[0] - V[:, 0])
        assert np.all(cross > 0)  # strictly inside (counter-clockwise)


def _affine_points_reference(values, t, active):
    """The affine-point test over all columns at once (the scan without blocks)."""
    from relutopo import tolerances as tol

    cand = np.flatnonzero(active[1:-1]) + 1
    if cand.size == 0:
        return active
    V = np.concatenate([v.numpy().reshape(len(t), -1) for k, v in values.items() if k != "__step__"], axis=1)
    L, C, R = V[cand - 1], V[cand], V[cand + 1]
    w = ((t[cand] - t[cand - 1]) / (t[cand + 1] - t[cand - 1]))[:, None]
    dev = np.abs(C - (L + w * (R - L))).max(axis=1)
    scale = np.maximum(np.maximum(np.abs(L).max(axis=1), np.abs(C).max(axis=1)), np.abs(R).max(axis=1))
    out = active.copy()
    out[cand[dev <= tol.SLICE_AFFINE_RTOL * scale]] = False
    return out


@pytest.mark.parametrize("block", [1, 7, 1024])
def test_affine_point_scan_in_blocks_equals_the_test_over_all_columns(block, monkeypatch):
    """Frontiers piecewise linear in ``t`` with kinks at chosen points and columns (one column,
    a column in the second tensor, kinks below and above the tolerance): the block scan with
    early exit, with and without hints, marks exactly the points the full test marks."""
    import relutopo.slice_refine as sr

    monkeypatch.setattr(sr, "AFFINE_BLOCK", block)
    rng = np.random.default_rng(0)
    n, F1, F2 = 40, 30, 12
    t = np.sort(rng.uniform(0, 1, n))
    t[0], t[-1] = 0.0, 1.0
    base = rng.normal(size=(2, F1 + F2))
    V = base[0] + t[:, None] * base[1]          # affine in t everywhere
    kinks = {3: (5, 1.0), 8: (F1 + 2, 1.0), 15: (29, 1e-3), 20: (0, 1e-16), 27: (F1 + 11, 1e-11)}
    for i, (col, size) in kinks.items():
        V[:, col] += size * np.maximum(t - t[i], 0.0)
    first, second = object(), object()
    values = {"__step__": 0, first: torch.from_numpy(V[:, :F1].reshape(n, 3, 10).copy()),
              second: torch.from_numpy(V[:, F1:].copy())}
    active = np.ones(n, dtype=bool)
    active[[10, 11]] = False
    ref = _affine_points_reference(values, t, active)
    # big kinks stay active, a kink below the tolerance and no kink do not
    assert ref[[0, 3, 8, 15, n - 1]].all() and not ref[[2, 10, 11, 20]].any()
    hint = (np.array([3, 15, 20, 10]), np.array([5, 29, 0, 4]))
    hint2 = (np.array([8, 27, 5]), np.array([2, 11, 0]))
    modes = (False, True) if _has_numba() else (False,)
    for compiled in modes:  # the numpy block scan and the compiled row scan
        for kw in ({}, {"first": first}, {"first": first, "hint": hint}, {"first": second, "hint": hint2}):
            got = sr._affine_points(values, t, active, compiled=compiled, **kw)
            np.testing.assert_array_equal(got, ref)
    # a NaN is a slope change in both forms (its point and both neighbours stay active)
    values[second][30, 3] = np.nan
    for compiled in modes:
        got = sr._affine_points(values, t, active, compiled=compiled, first=first)
        assert got[[29, 30, 31]].all()
        np.testing.assert_array_equal(got[:29], ref[:29])
        np.testing.assert_array_equal(got[32:], ref[32:])


def _has_numba():
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("seed", [0, 1])
def test_dense_convolutions_do_not_change_the_pieces(seed):
    """The pieces of a CNN with a residual block at 2 x 2 (dense convolution matrices) on a
    segment and a plane equal those of the same graph with torch's convolutions."""
    from relutopo.pl_graph import pl_graph
    from relutopo.slice_refine import refine_plane, refine_segment

    model = small_cnn(seed)
    seg = Segment(*images(20 + seed, n=2), margin=0.3)
    plane = Plane.through(*images(30 + seed), margin=0.2)
    res = {}
    for dense in (True, False):
        g = pl_graph(model, (1, 9, 9))
        g.dense_conv = dense
        s = refine_segment(g, seg.box.lo[0], seg.box.hi[0], seg.to_input_flat)
        p = refine_plane(g, plane.box.lo, plane.box.hi, plane.to_input_flat)
        res[dense] = (s, p, g)
    (s1, p1, g1), (s0, p0, _) = res[True], res[False]
    assert any(v is not None for v in g1._dense.values())
    assert len(s1.t) == len(s0.t) > 10
    np.testing.assert_allclose(s1.t, s0.t, rtol=0, atol=1e-12 * float(np.abs(s0.t).max()))
    np.testing.assert_array_equal(s1.digests, s0.digests)
    assert len(p1.polygons) == len(p0.polygons) > 10
    assert sorted(bytes(d) for d in p1.digests) == sorted(bytes(d) for d in p0.digests)


@pytest.mark.parametrize("pool", [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2),
                                  dict(kernel_size=3, stride=2, ceil_mode=True),
                                  dict(kernel_size=2, stride=1, padding=1, dilation=2),
                                  dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), ceil_mode=True)])
def test_window_views_are_the_window_entries(pool):
    """The strided views of a 2-D max-pool's windows (NaN at padding) equal the graph's window
    entries (-inf at padding), and its 1-D fallback does too."""
    from relutopo.pl_graph import pl_graph
    from relutopo.slice_refine import _window_views

    for model, shape in ((nn.Sequential(nn.MaxPool2d(**pool), nn.Flatten()), (2, 7, 6)),
                         (nn.Sequential(nn.MaxPool1d(3, stride=2, padding=1), nn.Flatten()), (2, 7))):
        g = pl_graph(model, shape)
        Z = np.random.default_rng(0).normal(size=(5, int(np.prod(shape))))
        E = g.window_entries(0, torch.from_numpy(Z).reshape((5,) + shape)).numpy()
        views, wshape = _window_views(g, 0, Z)
        V = np.stack([v.reshape(-1, 5).T for v in views], axis=2)
        assert V.shape == E.shape and int(np.prod(wshape)) == g.stages[0].n_units
        np.testing.assert_array_equal(np.where(np.isnan(V), -np.inf, V), E)


@pytest.mark.parametrize("pool", [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2),
                                  dict(kernel_size=3, stride=2, ceil_mode=True),
                                  dict(kernel_size=2, stride=1, padding=1, dilation=2),
                                  dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), ceil_mode=True)])
def test_pool_and_bits_from_one_padded_copy_equal_torch_and_the_bits_of_midpoints(pool):
    """The fast path of a child chunk's 2-D max-pool stage (pooled rows and interval winners from
    one padded copy, whole or one channel at a time) equals torch's max_pool2d at the points and
    the winner bits of the midpoints (:func:`_stage_bits_1d`), ties included; the winners at the
    points (whole or by channels) are the first maximal entries of the windows."""
    import torch.nn.functional as F

    from relutopo.pl_graph import pl_graph
    from relutopo.slice_refine import _point_winners, _pool2d_geometry, _pool_and_bits_2d, _stage_bits_1d

    shape = (2, 7, 6)
    g = pl_graph(nn.Sequential(nn.MaxPool2d(**pool), nn.Flatten()), shape)
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(9, int(np.prod(shape))))
    Z[3] = np.round(Z[3])           # ties within windows
    Z[4] = 0.0                      # all entries tied
    Z[5] = -Z[4]
    geom = _pool2d_geometry(g, 0)
    assert geom is not None
    for noise, block in ((0.0, 1 << 17), (1e-3, 1 << 17), (0.0, 1), (1e-3, 1)):
        pooled, bits = _pool_and_bits_2d(g, 0, geom, Z, noise, block_elems=block)
        ref = F.max_pool2d(torch.from_numpy(Z).reshape((9,) + shape), pool["kernel_size"],
                           pool.get("stride"), pool.get("padding", 0), pool.get("dilation", 1),
                           ceil_mode=pool.get("ceil_mode", False))
        np.testing.assert_array_equal(pooled.numpy(), ref.numpy())
        np.testing.assert_array_equal(bits, _stage_bits_1d(g, 0, Z[:-1], Z[1:], noise))
    W = g.window_index(0)
    E = np.where(W >= 0, Z[:, np.maximum(W, 0)], -np.inf)  # (points, windows, entries)
    for block in (1 << 17, 1):
        np.testing.assert_array_equal(_point_winners(g, 0, Z, block_elems=block), E.argmax(axis=2).T)


@pytest.mark.parametrize("pool", [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2),
                                  dict(kernel_size=3, stride=2, ceil_mode=True),
                                  dict(kernel_size=2, stride=1, padding=1, dilation=2),
                                  dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), ceil_mode=True)])
def test_compiled_pool_stage_equals_the_numpy_form_to_the_bit(pool):
    """The compiled max-pool stage (:mod:`relutopo.kernels.pool`) gives the numpy form's pooled
    maxima and winner bits exactly, on strided rows, with ties, signed zeros and large ranges, and
    the maxima equal torch's max_pool2d."""
    pytest.importorskip("numba")
    import torch.nn.functional as F

    from relutopo.pl_graph import pl_graph
    from relutopo.slice_refine import _pool2d_geometry, _pool_stage_2d

    shape = (3, 7, 6)
    g = pl_graph(nn.Sequential(nn.MaxPool2d(**pool), nn.Flatten()), shape)
    geom = _pool2d_geometry(g, 0)
    rng = np.random.default_rng(2)
    F0 = int(np.prod(shape))
    big = rng.normal(size=(12, F0 + 5)) * np.exp(rng.uniform(-30, 30, size=(12, 1)))
    Z = big[:, 2:2 + F0]            # strided rows
    Z[3] = np.round(Z[3])           # ties within windows
    Z[4] = 0.0                      # all entries tied
    Z[5] = -0.0
    Z[6] = np.where(rng.random(F0) < 0.5, 0.0, -0.0)  # signed zeros mixed
    Z[7] = np.maximum(Z[7], 0.0)    # relu output
    Z[8] = Z[7] + 0.0
    for noise in (0.0, 1e-3, 1e3):
        p0, b0 = _pool_stage_2d(g, 0, geom, Z, noise, compiled=False)
        p1, b1 = _pool_stage_2d(g, 0, geom, Z, noise, compiled=True)
        assert np.array_equal(p0.numpy().view(np.int64), p1.numpy().view(np.int64))  # bit for bit
        np.testing.assert_array_equal(b0, b1)
        K = int(np.prod(np.broadcast_to(pool["kernel_size"], (2,))))
        assert (b1.reshape(len(Z) - 1, -1, K).sum(axis=2) == 1).all()  # one winner per window
        ref = F.max_pool2d(torch.from_numpy(np.ascontiguousarray(Z)).reshape((len(Z),) + shape),
                           pool["kernel_size"], pool.get("stride"), pool.get("padding", 0),
                           pool.get("dilation", 1), ceil_mode=pool.get("ceil_mode", False))
        np.testing.assert_array_equal(p1.numpy(), ref.numpy())
    # a child chunk's rows read from the parent's as the kernel interpolates them: the same as
    # on the rows written out first (copies where tau = 0, interpolations elsewhere)
    src = np.array([0, 1, 1, 2, 3, 3, 5, 7, 8, 10])
    tau = np.array([0.0, 0.0, 0.25, 0.0, 0.0, 0.5, 0.0, 1 / 3, 0.0, 0.0])
    nxt = np.minimum(src + 1, len(Z) - 1)
    rows = Z[src].copy()
    new = tau > 0
    rows[new] = ((Z[nxt[new]] - Z[src[new]]) * tau[new, None]) + Z[src[new]]
    for noise in (0.0, 1e-3):
        p0, b0 = _pool_stage_2d(g, 0, geom, rows, noise, compiled=True)
        p1, b1 = _pool_stage_2d(g, 0, geom, Z, noise, compiled=True, lerp=(src, tau, nxt))
        assert np.array_equal(p0.numpy().view(np.int64), p1.numpy().view(np.int64))
        np.testing.assert_array_equal(b0, b1)


def test_large_array_heap_and_strided_child_tensors_do_not_change_the_pieces():
    """The malloc settings around the refinement change where memory comes from, not a value:
    the pieces equal those of the unwrapped function; the heap settings leave no error behind."""
    from relutopo.pl_graph import pl_graph
    from relutopo.slice_refine import _large_array_heap, refine_segment

    model = small_cnn(1)
    a, b = images(1)[:2]
    g = pl_graph(model, a.shape)
    to_input = lambda t: a.reshape(1, -1) + t * (b - a).reshape(1, -1)  # noqa: E731
    p0 = refine_segment.__wrapped__(g, 0.0, 1.0, to_input, keep_patterns=True)
    p1 = refine_segment(g, 0.0, 1.0, to_input, keep_patterns=True)
    np.testing.assert_array_equal(p0.t, p1.t)
    np.testing.assert_array_equal(p0.digests, p1.digests)
    np.testing.assert_array_equal(p0.packed_patterns, p1.packed_patterns)
    with _large_array_heap():
        with _large_array_heap():  # nested: harmless
            x = np.ones(5 << 20)
        assert x.sum() == 5 << 20


def test_unpacked_views_equal_unpacked_copies():
    """A child chunk's tensors as strided views of its rows equal the contiguous copies."""
    from relutopo.slice_refine import _pack, _unpack

    vals = {"__step__": 3, "x": torch.randn(4, 2, 3, 3, dtype=torch.float64),
            "y": torch.randn(4, 5, dtype=torch.float64)}
    M, layout = _pack(vals)
    for copy in (True, False):
        out = _unpack(M, layout, copy=copy)
        assert out["__step__"] == 3
        for k in ("x", "y"):
            assert torch.equal(out[k], vals[k])


@pytest.mark.parametrize("seed", [0, 3])
def test_mlp_slice_digests_equal_the_torch_graphs(seed):
    """The MLP path names its regions by digests computed from packed patterns in one pass
    (``_digests_of_patterns``); the torch path's graph computes them by evaluating the network:
    at every region's interior point the two agree (an independent second implementation)."""
    from relutopo import ReluNet
    from relutopo.pl_graph import pl_graph

    rng = np.random.default_rng(seed)
    sizes = (6, 16, 12, 8, 1)
    ws = [rng.uniform(-1, 1, (o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    net = ReluNet.from_weights(ws, [rng.uniform(-1, 1, o) for o in sizes[1:]])
    plane = Plane.through(*rng.normal(size=(3, 6)))
    dec = decompose(net, plane)
    graph = pl_graph(net.to_torch(), (6,))
    assert dec.n_regions > 50
    np.testing.assert_array_equal(graph.digests(plane.to_input(dec.interior_points)), dec.digests)


def test_row_interpolation_and_sign_changes_by_blocks_equal_the_whole_array_forms():
    """:func:`_lerp_rows` (by blocks of columns) gives the same floats as the whole-row formula,
    and :func:`_consecutive_changes` the same indices as ``np.nonzero`` (odd sizes, no change)."""
    from relutopo.slice_refine import _consecutive_changes, _lerp_rows

    rng = np.random.default_rng(3)
    M = rng.normal(size=(40, 1000))
    rows = np.array([1, 5, 6, 30])
    left, right = rows - 1, rows + 1
    w = rng.uniform(size=(rows.size, 1))
    L, D = M[left], M[right]
    want = M.copy()
    want[rows] = L + w * (D - L)
    for block in (1, 700, 1 << 20):
        out = M.copy()
        _lerp_rows(out, rows, M, left, M, right, w, block_elems=block)
        np.testing.assert_array_equal(out, want)
    for shape in [(7, 13), (2, 1), (1, 5), (33, 64)]:
        A = rng.normal(size=shape) > 0.8
        np.testing.assert_array_equal(np.stack(_consecutive_changes(A)), np.stack(np.nonzero(A[:-1] != A[1:])))
    B = rng.integers(0, 3, size=(9, 11)).astype(np.int8)
    np.testing.assert_array_equal(np.stack(_consecutive_changes(B)), np.stack(np.nonzero(B[:-1] != B[1:])))


def _segment_arrays(dec):
    return (dec.breakpoints, dec.output_maps, np.asarray(dec.digests),
            None if dec.packed_patterns is None else np.asarray(dec.packed_patterns))


@pytest.mark.parametrize("chunk_elems", [None, 400])
def test_parallel_segment_equals_one_process_and_a_bisection(chunk_elems):
    """Worker processes refine the same chunks the same way: every float and digest equals the
    one-process result, and the pieces equal a bisection on sampled patterns."""
    model = residual_cnn(seed=1).eval()
    a, b = images(21, n=2, shape=(1, 28, 28))
    seg = Segment(a, b)
    one = decompose_slice(model, seg, chunk_elems=chunk_elems)
    two = decompose_slice(model, seg, chunk_elems=chunk_elems, n_jobs=2)
    assert two.n_regions == one.n_regions > 50
    for x, y in zip(_segment_arrays(one), _segment_arrays(two)):
        np.testing.assert_array_equal(x, y)
    assert {k: v for k, v in one.stats.items() if k != "wall_s"} == \
        {k: v for k, v in two.stats.items() if k != "wall_s"}
    g = two.model
    n = bisection_pieces(lambda t: g.digests(seg.to_input(t[:, None])), seg.box.lo[0], seg.box.hi[0])
    assert two.n_regions == n


def test_parallel_segment_errors_reach_the_caller(monkeypatch):
    """An error in a worker is raised in the caller with its own type; a worker that dies says so."""
    import os

    import relutopo.slice_refine as sr

    parent = os.getpid()
    real = sr._child_chunk

    def failing(graph, ctx, a, b):
        if os.getpid() != parent and ctx["s"] >= 1:
            raise FloatingPointError("boom in a worker")
        return real(graph, ctx, a, b)

    model = small_cnn(2)
    seg = Segment(*images(7, n=2), margin=0.5)
    monkeypatch.setattr(sr, "_child_chunk", failing)
    with pytest.raises(FloatingPointError, match="boom in a worker"):
        decompose_slice(model, seg, chunk_elems=200, n_jobs=2)

    def dying(graph, ctx, a, b):
        if os.getpid() != parent:
            os._exit(3)
        return real(graph, ctx, a, b)

    monkeypatch.setattr(sr, "_child_chunk", dying)
    with pytest.raises(RuntimeError, match="died .exit code 3"):
        decompose_slice(model, seg, chunk_elems=200, n_jobs=2)


def test_more_workers_than_cpus_give_the_same_pieces():
    seg = Segment(*images(7, n=2), margin=0.5)
    one = decompose_slice(small_cnn(2), seg, chunk_elems=200)
    many = decompose_slice(small_cnn(2), seg, chunk_elems=200, n_jobs=512)
    for x, y in zip(_segment_arrays(one), _segment_arrays(many)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, "2", True])
def test_bad_n_jobs_is_a_clear_error(n_jobs):
    from relutopo.errors import ValidationError, ValidationTypeError

    seg = Segment(*images(7, n=2))
    with pytest.raises((ValidationError, ValidationTypeError), match="n_jobs"):
        decompose(small_cnn(0), seg, n_jobs=n_jobs)


def _refine_in_a_daemon(queue):
    import warnings

    torch.set_num_threads(1)  # a forked child must not use the parent's OpenMP pool

    model = small_cnn(2)
    seg = Segment(*images(7, n=2), margin=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dec = decompose_slice(model, seg, chunk_elems=200, n_jobs=2)
    queue.put((dec.n_regions, [str(w.message) for w in caught]))


def test_parallel_segment_in_a_daemonic_process_runs_on_one_process():
    """A daemonic process (a multiprocessing pool's worker) cannot fork workers: the refinement
    says so and runs on one process, with the same pieces."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_refine_in_a_daemon, args=(q,), daemon=True)
    p.start()
    n, messages = q.get(timeout=120)
    p.join()
    seg = Segment(*images(7, n=2), margin=0.5)
    assert n == decompose_slice(small_cnn(2), seg, chunk_elems=200).n_regions
    assert any("daemonic" in m for m in messages)


@pytest.mark.parametrize("which", ["residual_cnn", "small_cnn", "leaky"])
def test_compiled_and_numpy_segment_refinements_are_the_same_floats(which, monkeypatch):
    """The compiled kernels of a segment's refinement (child rows with relu bits and values,
    the max-pool stage, the affine-point scan) give every breakpoint, output and pattern of the
    numpy forms to the bit (``RELUTOPO_NUMBA=0``: numpy)."""
    pytest.importorskip("numba")
    if which == "residual_cnn":
        model, (a, b) = residual_cnn(seed=2).eval(), images(31, n=2, shape=(1, 28, 28))
    elif which == "small_cnn":
        model, (a, b) = small_cnn(4), images(32, n=2)
    else:
        torch.manual_seed(5)
        model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.LeakyReLU(0.1), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(4 * 3 * 3, 6), nn.ReLU(), nn.Linear(6, 3)).double()
        a, b = images(33, n=2)
    seg = Segment(a, b, margin=0.3)
    runs = []
    for flag in ("0", "1"):
        monkeypatch.setenv("RELUTOPO_NUMBA", flag)
        runs.append(decompose_slice(model, seg, keep_patterns=True, chunk_elems=3000))
    assert runs[0].n_regions == runs[1].n_regions > 10
    for x, y in zip(_segment_arrays(runs[0]), _segment_arrays(runs[1])):
        assert np.array_equal(np.asarray(x).view(np.uint8), np.asarray(y).view(np.uint8))


class _PoolAndSkip(nn.Module):
    """The pre-pool features are used again after the pool (a U-Net-style skip)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 3 * 3 + 2 * 7 * 7, 3)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        p = torch.nn.functional.max_pool2d(h, 2)
        return self.fc(torch.cat([p.flatten(1), h.flatten(1)], dim=1))


def test_pool_input_used_after_the_pool_keeps_its_values(monkeypatch):
    """When the max-pool's input is still needed downstream, its rows are written out (the pool
    kernel must not read them from the parent only): the same floats with and without numba,
    and the pieces of a bisection."""
    pytest.importorskip("numba")
    torch.manual_seed(3)
    model = _PoolAndSkip().double()
    a, b = images(41, n=2)
    seg = Segment(a, b, margin=0.3)
    runs = []
    for flag in ("0", "1"):
        monkeypatch.setenv("RELUTOPO_NUMBA", flag)
        runs.append(decompose_slice(model, seg, keep_patterns=True))
    for x, y in zip(_segment_arrays(runs[0]), _segment_arrays(runs[1])):
        assert np.array_equal(np.asarray(x).view(np.uint8), np.asarray(y).view(np.uint8))
    g = runs[1].model
    n = bisection_pieces(lambda t: g.digests(seg.to_input(t[:, None])), seg.box.lo[0], seg.box.hi[0])
    assert runs[1].n_regions == n
    X = seg.to_input(runs[1].interior_points)
    with torch.no_grad():
        ref = model(torch.from_numpy(X)).numpy()
    assert np.abs(runs[1].outputs(runs[1].interior_points) - ref).max() <= 1e-9 * np.abs(ref).max()


def test_new_points_are_placed_among_the_points_without_rows():
    from relutopo import tolerances as tol
    from relutopo.slice_refine import _place_points

    # rows at t = 0, 0.5, 1; the points 0.2 and 0.7 have none (the frontier is affine there)
    t = np.array([0.0, 0.2, 0.5, 0.7, 1.0])
    ra = np.array([0, 2, 4])
    eps = 0.1 * tol.SLICE_MERGE_RTOL
    tn = np.array([0.2 + eps, 0.1, 0.7 - eps, 0.7 + eps, 0.9, 1.0])  # last: rounds to the end
    iv = np.array([0, 0, 1, 1, 1, 1])
    iv_order = np.lexsort((tn, iv))
    iv, tn = iv[iv_order], tn[iv_order]
    L, R = t[ra][iv], t[ra][iv + 1]
    tau = (tn - L) / (R - L)
    kept, iv_k, tau_k, q, t_new, full_old, full_new, parent = _place_points(t, ra, iv, tau)
    # 0.1 and 0.9 are inserted; 0.2 and 0.7 get rows again (the two points at 0.7 are one)
    np.testing.assert_array_equal(t_new, [0.0, 0.1, 0.2, 0.5, 0.7, 0.9, 1.0])
    np.testing.assert_array_equal(q, [-1, 1, 3, -1])
    np.testing.assert_array_equal(kept, [0, 1, 2, 2, 3, -1])
    np.testing.assert_array_equal(iv_k, [0, 0, 1, 1])
    # a reused point's tau is its own, so that its row is interpolated where it lies
    np.testing.assert_allclose(L[[0, 1, 2, 4]] + tau_k * (R - L)[[0, 1, 2, 4]], [0.1, 0.2, 0.7, 0.9],
                               rtol=0, atol=1e-15)
    assert tau_k[1] == (0.2 - 0.0) / 0.5 and tau_k[2] == (0.7 - 0.5) / 0.5
    np.testing.assert_array_equal(t_new[full_old], t[ra])
    np.testing.assert_array_equal(full_new, [1, 2, 4, 5])
    # each new interval lies in the old interval that contains it
    np.testing.assert_array_equal(parent, [0, 0, 1, 2, 3, 3])
    for i, p in enumerate(parent):
        assert t[p] <= t_new[i] and t_new[i + 1] <= t[p + 1]


def test_a_crossing_at_a_point_without_a_row_gives_it_a_row_again():
    # t -> relu(t - 1/2), relu(t - 1/4); the first is unused downstream, so after the second
    # stage t = 1/2 is a breakpoint whose frontier is affine (no row); the third stage's neuron
    # relu(relu(t - 1/4)) - 1/4 crosses zero there: one breakpoint, not two
    from relutopo.pl_graph import pl_graph
    from relutopo.slice_refine import refine_segment

    def lin(W, b):
        m = nn.Linear(len(W[0]), len(W)).double()
        with torch.no_grad():
            m.weight.copy_(torch.tensor(W, dtype=torch.float64))
            m.bias.copy_(torch.tensor(b, dtype=torch.float64))
        return m

    model = nn.Sequential(lin([[1.0], [1.0]], [-0.5, -0.25]), nn.ReLU(),
                          lin([[0.0, 1.0], [0.0, 0.0]], [0.0, 0.0]), nn.ReLU(),
                          lin([[1.0, 0.0]], [-0.25]), nn.ReLU(), lin([[2.0]], [0.0]))
    g = pl_graph(model, (1,))
    p = refine_segment(g, 0.0, 1.0, lambda t: t, keep_patterns=True)
    np.testing.assert_array_equal(p.t, [0.0, 0.25, 0.5, 1.0])
    assert p.stats["breakpoints_per_stage"] == [2, 0, 0]
    assert p.stats["skipped_evaluations"] > 0  # t = 1/2 had no row at the third stage
    mid = 0.5 * (p.t[:-1] + p.t[1:])
    np.testing.assert_array_equal(g.digests(mid[:, None]), p.digests)
    with torch.no_grad():
        ref = model(torch.from_numpy(p.t[:, None])).numpy()
    np.testing.assert_allclose(p.outputs, ref, rtol=0, atol=1e-15)


def test_a_segment_from_zero_starts_at_positive_zero():
    """``Segment(a, b)`` (no margin) spans ``[0, 1]``, not ``[-0, 1]``, and an end given as
    ``-0.0`` is the breakpoint ``0.0``: the book prints the ranges."""
    from relutopo.pl_graph import pl_graph
    from relutopo.slice_refine import refine_segment

    seg = Segment(np.zeros(2), np.ones(2))
    assert not np.signbit(seg.box.lo[0])
    g = pl_graph(nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1)), (1,))
    p = refine_segment(g, -0.0, 1.0, lambda t: t)
    assert not np.signbit(p.t[0]) and p.t[-1] == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_segments_with_inactive_points_equal_a_bisection_on_patterns(seed):
    """Max-pool CNNs in which many breakpoints go inactive (their neuron loses its window): the
    pieces equal a bisection on the patterns of the traced graph, each piece's midpoint has the
    piece's pattern, and a small chunk size (chunk ends at other points) gives the same pieces."""
    from relutopo.pl_graph import pl_graph
    from relutopo.slice_refine import refine_segment

    torch.manual_seed(seed)
    if seed % 2:
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1),
                              nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 2 * 2, 3))
    else:
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, padding=1),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 3))
    g = pl_graph(model.double().eval(), (1, 8, 8))
    a, b = np.random.default_rng(100 + seed).normal(size=(2, 64))

    def to_input(t):
        return a + t * (b - a)

    p = refine_segment(g, 0.0, 1.0, to_input, keep_patterns=True)
    assert p.stats["skipped_evaluations"] > 0  # some breakpoints were inactive
    assert len(p.digests) == bisection_pieces(lambda t: g.digests(to_input(t[:, None])), 0.0, 1.0)
    mid = 0.5 * (p.t[:-1] + p.t[1:])
    np.testing.assert_array_equal(g.digests(to_input(mid[:, None])), p.digests)
    small = refine_segment(g, 0.0, 1.0, to_input, keep_patterns=True, chunk_elems=300)
    assert small.stats["chunks"] > p.stats["chunks"]
    assert [bytes(d) for d in small.digests] == [bytes(d) for d in p.digests]
    np.testing.assert_allclose(small.t, p.t, rtol=0, atol=1e-12)
