"""Slices of ReLU MLPs: geometry, the engine path against an explicitly composed MLP and against the
refinement of the same network as a torch model, segments against a bisection on patterns."""

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from relutopo import Box, ReluNet, decompose
from relutopo.decomposition import Decomposition
from relutopo.errors import InconsistentDecompositionError, PolytopeError
from relutopo.polytopes import polytope_vertices
from relutopo.slice_decomposition import SliceDecomposition, compose_slice, polyline_regions
from relutopo.slices import Plane, Segment, Slice, SliceError


def random_net(sizes, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(scale=scale, size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(scale=scale, size=b) for b in sizes[1:]]
    return ReluNet.from_weights(Ws, bs)


def digest_set(dec):
    return {bytes(d) for d in dec.digests}


# ----------------------------------------------------------------------------- geometry
def test_plane_through_three_points_maps_anchors_back():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2, 3, 4))
    p = Plane.through(*x, margin=0.2)
    assert p.dim == 2 and p.input_shape == (2, 3, 4) and p.ambient_dim == 24
    np.testing.assert_allclose(p.to_input(p.anchors), x, atol=1e-12)
    np.testing.assert_allclose(p.basis @ p.basis.T, np.eye(2), atol=1e-12)  # orthonormal
    # the box holds the anchors with the margin on each side
    lo, hi = p.anchors.min(0), p.anchors.max(0)
    pad = 0.2 * (hi - lo).max()
    np.testing.assert_allclose(p.box.lo, lo - pad)
    np.testing.assert_allclose(p.box.hi, hi + pad)
    # distances in slice coordinates are Euclidean distances in input space
    d_slice = np.linalg.norm(p.anchors[0] - p.anchors[1])
    assert d_slice == pytest.approx(np.linalg.norm(x[0] - x[1]))
    np.testing.assert_allclose(p.project(x), p.anchors, atol=1e-12)


def test_segment_and_general_slice():
    s = Segment([0.0, 1.0], [2.0, 3.0], margin=0.5)
    assert s.dim == 1 and s.box.lo[0] == -0.5 and s.box.hi[0] == 1.5
    np.testing.assert_allclose(s.to_input([[0.0], [1.0], [0.5]]), [[0, 1], [2, 3], [1, 2]])
    sl = Slice(np.zeros(4), np.eye(4)[:3], Box(-1, 1, dim=3))
    assert sl.dim == 3
    np.testing.assert_allclose(sl.to_input([[1, 2, 3]]), [[1, 2, 3, 0]])


@pytest.mark.parametrize("make, match", [
    (lambda: Plane.through([0, 0, 0], [1, 1, 1], [2, 2, 2]), "collinear"),
    (lambda: Plane.through([0, 0], [0, 0], [1, 2]), "same point"),
    (lambda: Plane.through([0, 0], [1, 0], [0, 1, 2]), "shape"),
    (lambda: Plane.through([0, 0], [1, 0], [0, 1], margin=-1), "margin"),
    (lambda: Segment([1.0, 2.0], [1.0, 2.0]), "same point"),
    (lambda: Segment([0.0, np.nan], [1.0, 2.0]), "NaN"),
    (lambda: Slice(np.zeros(3), [[1, 0, 0], [2, 0, 0]], Box(-1, 1, dim=2)), "dependent"),
    (lambda: Slice(np.zeros(3), np.eye(3)[:2], Box(-1, 1, dim=3)), "dimension"),
    (lambda: Slice(np.zeros(3), np.eye(2), Box(-1, 1, dim=2)), "basis"),
])
def test_bad_slices_are_named(make, match):
    with pytest.raises(SliceError, match=match):
        make()


def test_torch_model_needs_a_slice_and_k_at_most_2():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    with pytest.raises(TypeError, match="slice"):
        decompose(model, Box(-1, 1, dim=3))
    with pytest.raises(ValueError, match="k = 3"):
        decompose(model, Slice(np.zeros(3), np.eye(3), Box(-1, 1, dim=3)))
    with pytest.raises(ValueError, match="method"):
        decompose(model, Segment(np.zeros(3), np.ones(3)), method="vertex")


# ----------------------------------------------------------------------------- engine path
def explicitly_composed(net: ReluNet, slc: Slice) -> ReluNet:
    """``u -> net(origin + u basis)`` built as a torch Sequential (Linear slice map, then the net)
    and read back by ReluNet.from_torch, which composes the two Linear layers itself."""
    embed = nn.Linear(slc.dim, slc.ambient_dim).double()
    with torch.no_grad():
        embed.weight.copy_(torch.from_numpy(slc.basis.T.copy()))
        embed.bias.copy_(torch.from_numpy(slc.origin.copy()))
    return ReluNet.from_torch(nn.Sequential(embed, net.to_torch()))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_slice_decomposition_equals_the_explicitly_composed_mlp(k):
    net = random_net((6, 7, 6, 3), seed=k)
    rng = np.random.default_rng(10 + k)
    slc = Slice(rng.normal(size=6), rng.normal(size=(k, 6)), Box(-2, 2, dim=k))
    dec = decompose(net, slc)
    assert isinstance(dec, SliceDecomposition)
    ref = decompose(explicitly_composed(net, slc), slc.box)
    assert dec.n_regions == ref.n_regions
    assert {bytes(r) for r in dec.packed_patterns} == {bytes(r) for r in ref.packed_patterns}
    # output maps in slice coordinates agree with the network evaluated in input space
    U = slc.box.sample(200, seed=k)
    if k <= 2:
        np.testing.assert_allclose(dec.outputs(U), net.forward(slc.to_input_flat(U)), rtol=1e-9,
                                   atol=1e-9)
    # every region's interior point has the region's pattern
    pats = net.patterns(slc.to_input_flat(dec.interior_points))
    np.testing.assert_array_equal(pats, dec.packed_patterns)


def test_compose_slice_is_the_network_on_slice_coordinates():
    net = random_net((5, 4, 2), seed=3)
    slc = Plane.through(*np.random.default_rng(1).normal(size=(3, 5)))
    U = slc.box.sample(50, seed=0)
    np.testing.assert_allclose(compose_slice(net, slc).forward(U), net.forward(slc.to_input_flat(U)),
                               rtol=1e-12, atol=1e-12)


small_mlps = st.tuples(
    st.integers(3, 6),                                   # input dimension
    st.lists(st.integers(2, 7), min_size=1, max_size=3),  # hidden widths
    st.integers(1, 3),                                   # outputs
    st.integers(0, 10_000),                              # seed
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_mlps)
@example((3, [2], 1, 1))  # CI: the engine's segment ended at its last breakpoint, not at 1.3
def test_refinement_of_the_torch_mlp_equals_the_engine_vertex_path(spec):
    d, hidden, n_out, seed = spec
    net = random_net((d, *hidden, n_out), seed)
    rng = np.random.default_rng(seed + 1)
    plane = Plane.through(*rng.normal(size=(3, d)), margin=0.5)
    engine = decompose(net, plane, method="vertex")
    refined = decompose(net.to_torch(), plane)
    assert refined.stats["method"] == "refine"
    assert refined.n_regions == engine.n_regions
    assert digest_set(refined) == digest_set(engine)
    # areas tile the box
    assert refined.areas().sum() == pytest.approx(plane.box.volume, rel=1e-9)
    seg = Segment(*rng.normal(size=(2, d)), margin=0.3)
    e1, r1 = decompose(net, seg, method="vertex"), decompose(net.to_torch(), seg)
    assert r1.n_regions == e1.n_regions
    np.testing.assert_allclose(r1.breakpoints, e1.breakpoints, rtol=0, atol=1e-9)
    assert [bytes(x) for x in r1.digests] == [bytes(x) for x in e1.digests]


def _ci_segment():
    """The CI case of the refine-vs-engine test: spec ``(3, [2], 1, 1)``, three pieces."""
    net = random_net((3, 2, 1), 1)
    rng = np.random.default_rng(2)
    rng.normal(size=(3, 3))  # the plane's anchors, drawn first in the test
    return net, Segment(*rng.normal(size=(2, 3)), margin=0.3)


def test_segment_breakpoints_do_not_depend_on_the_engines_facet_lists(monkeypatch):
    # CI found the engine path ending at [..., 1.134225, 1.134225] instead of [..., 1.134225, 1.3]:
    # its breakpoints were the vertices of each region's facet rows, so a region whose facet list
    # lacked its right end gave a one-vertex "interval". They now come from the rows of the
    # neurons that flip between neighbours, and the ends are the box's.
    net, seg = _ci_segment()
    ref = decompose(net.to_torch(), seg).breakpoints
    np.testing.assert_allclose(ref, [-0.3, 0.77782703, 1.1342251, 1.3], atol=1e-8)
    monkeypatch.setattr(Decomposition, "facet_neurons", lambda self, i: np.array([0, -1]))
    dec = decompose(net, seg, method="vertex")
    assert dec.breakpoints[0] == seg.box.lo[0] and dec.breakpoints[-1] == seg.box.hi[0]
    np.testing.assert_allclose(dec.breakpoints, ref, rtol=0, atol=1e-12)
    # and the vertices of such a facet list (a half-line) are an error, not one "vertex"
    with pytest.raises(PolytopeError, match="unbounded or lower-dimensional"):
        polytope_vertices(np.array([[-1.0], [-2.0]]), np.array([-1.0, -1.0]))


def test_segment_pieces_that_do_not_tile_the_segment_raise():
    from relutopo.slice_decomposition import _check_breakpoints

    _check_breakpoints(np.array([0.0, 0.5, 1.0]), 0.0, 1.0, "t")
    for t, match in [([0.0, 0.5, 0.5], "not over the whole"), ([0.0, 0.5, 0.5, 1.0], "zero or negative"),
                     ([0.0, 0.7, 0.5, 1.0], "zero or negative"), ([0.0], "1 breakpoint")]:
        with pytest.raises(InconsistentDecompositionError, match=match):
            _check_breakpoints(np.array(t), 0.0, 1.0, "t")


@pytest.mark.parametrize("k", [1, 2])
def test_outputs_on_the_box_boundary_and_a_clear_error_outside(k):
    net = random_net((6, 7, 6, 3), seed=1)
    rng = np.random.default_rng(11)
    slc = Slice(rng.normal(size=6), rng.normal(size=(k, 6)), Box(-2, 2, dim=k))
    dec = decompose(net, slc)
    corners = np.array([[-2.0] * k, [2.0] * k, [2.0 * (1 + 1e-15)] + [2.0] * (k - 1)])
    np.testing.assert_allclose(dec.outputs(corners), net.forward(slc.to_input_flat(corners)),
                               rtol=1e-9, atol=1e-9)
    with pytest.raises(SliceError, match=r"1 of 2 point\(s\) lie outside the slice's box"):
        dec.outputs(np.array([[0.0] * k, [2.5] * k]))
    with pytest.raises(ValueError):  # SliceError is a ValueError, as before
        dec.outputs(np.array([[-3.0] * k]))


# ----------------------------------------------------------------------------- segments
def bisection_pieces(pattern_fn, lo, hi, n_samples=64, min_len=1e-10):
    """Number of pieces of a segment by a bisection on patterns: dense samples, then halving every
    interval whose end patterns differ until it is shorter than ``min_len``. Regions are convex,
    so an interval whose ends share a pattern lies in one region."""
    t = list(np.linspace(lo, hi, n_samples))
    pats = [bytes(p) for p in pattern_fn(np.array(t))]
    stack = [(t[i], t[i + 1], pats[i], pats[i + 1]) for i in range(len(t) - 1)]
    samples = dict(zip(t, pats))
    while stack:
        a, b, pa, pb = stack.pop()
        if pa == pb or b - a < min_len:
            continue
        m = 0.5 * (a + b)
        pm = bytes(pattern_fn(np.array([m]))[0])
        samples[m] = pm
        stack.append((a, m, pa, pm))
        stack.append((m, b, pm, pb))
    ordered = [samples[k] for k in sorted(samples)]
    return 1 + sum(1 for x, y in zip(ordered[:-1], ordered[1:]) if x != y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_segment_pieces_equal_a_bisection_on_patterns(seed):
    net = random_net((8, 12, 10, 6, 2), seed)
    rng = np.random.default_rng(seed)
    seg = Segment(*rng.normal(size=(2, 8)), margin=0.5)

    def pats(t):
        return net.patterns(seg.to_input_flat(t[:, None]))  # numpy forward, not the refinement

    expected = bisection_pieces(pats, seg.box.lo[0], seg.box.hi[0])
    assert decompose(net, seg).n_regions == expected
    assert decompose(net.to_torch(), seg).n_regions == expected


# ----------------------------------------------------------------------------- decision boundary
def test_plane_decision_boundary_is_where_the_top_two_classes_tie():
    net = random_net((4, 10, 8, 3), seed=5)
    plane = Plane.through(*np.random.default_rng(2).normal(size=(3, 4)), margin=1.0)
    for model in (net, net.to_torch()):
        dec = decompose(model, plane)
        db = dec.decision_boundary
        assert len(db) > 0
        mids = db.segments.mean(axis=1)
        out = net.forward(plane.to_input_flat(mids))
        top2 = np.sort(out, axis=1)[:, -2:]
        scale = np.abs(out).max(axis=1)
        assert np.all(top2[:, 1] - top2[:, 0] <= 1e-8 * scale)
        rows = np.arange(len(out))
        np.testing.assert_allclose(out[rows, db.classes[:, 0]], top2[:, 1], rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(out[rows, db.classes[:, 1]], top2[:, 1], rtol=1e-8, atol=1e-8)
        # every sampled point lies on the side of its predicted class
        U = plane.grid(80)
        pred = net.forward(plane.to_input_flat(U)).argmax(axis=1)
        assert np.array_equal(dec.class_at(U), pred)


def test_scalar_output_boundary_is_the_zero_set():
    net = random_net((3, 8, 8, 1), seed=7)
    plane = Plane.through(*np.random.default_rng(3).normal(size=(3, 3)), margin=1.0)
    dec = decompose(net, plane)
    mids = dec.decision_boundary.segments.mean(axis=1)
    assert len(mids) > 0
    f = net.forward(plane.to_input_flat(mids))[:, 0]
    assert np.abs(f).max() <= 1e-9 * np.abs(net.forward(plane.to_input_flat(plane.grid(20)))).max()
    U = plane.grid(60)
    assert np.array_equal(dec.class_at(U), (net.forward(plane.to_input_flat(U))[:, 0] > 0).astype(int))


def test_segment_decision_points_bracket_every_class_change():
    net = random_net((5, 16, 16, 4), seed=11)
    rng = np.random.default_rng(4)
    seg = Segment(*rng.normal(scale=3, size=(2, 5)))
    for model in (net, net.to_torch()):
        dec = decompose(model, seg)
        pts = dec.decision_boundary.points
        t = np.linspace(0, 1, 4001)
        pred = net.forward(seg.to_input_flat(t[:, None])).argmax(axis=1)
        assert np.array_equal(dec.class_at(t[:, None]), pred)
        changes = np.flatnonzero(pred[1:] != pred[:-1])
        for c in changes:  # a boundary point between the two samples
            assert np.any((pts >= t[c]) & (pts <= t[c + 1]))
        out = net.forward(seg.to_input_flat(pts[:, None]))
        rows = np.arange(len(pts))
        np.testing.assert_allclose(out[rows, dec.decision_boundary.classes[:, 0]],
                                   out[rows, dec.decision_boundary.classes[:, 1]], rtol=1e-8, atol=1e-8)


# ----------------------------------------------------------------------------- polylines
def test_polyline_counts_every_crossing():
    net = random_net((4, 10, 10, 2), seed=2)
    theta = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    rng = np.random.default_rng(0)
    A1, A2 = rng.normal(size=(2, 4))
    X = np.sin(theta)[:, None] * A1 + np.cos(theta)[:, None] * A2
    res_net = polyline_regions(net, X)
    res_torch = polyline_regions(net.to_torch(), X)
    np.testing.assert_array_equal(res_net.pieces, res_torch.pieces)
    assert res_net.distinct == res_torch.distinct
    # transitions along the closed polyline by bisection, segment by segment
    total = 0
    for i in range(len(X)):
        seg = Segment(X[i], X[(i + 1) % len(X)])
        n = bisection_pieces(lambda t: net.patterns(seg.to_input_flat(t[:, None])), 0.0, 1.0)
        assert n == res_net.pieces[i]
        total += n - 1
    # joints are sample points inside regions: no extra change there
    assert res_net.transitions == total
    assert res_net.distinct >= res_net.sample_distinct
    assert res_net.distinct <= res_net.transitions + 1


def test_first_stage_breakpoints_equal_the_refinement_and_dense_sampling():
    """The first stage's breakpoints on every chord of a polyline, from two evaluations per
    sample, equal the exact refinement's count for that stage, the number of sign changes of
    the stage's neurons on a fine grid of each chord, and bound its pieces from below."""
    import torch
    import torch.nn as nn

    from relutopo.pl_graph import pl_graph
    from relutopo.slice_decomposition import decompose_slice, first_stage_breakpoints

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(3 * 3 * 3, 5), nn.ReLU(), nn.Linear(5, 2)).eval()
    with torch.no_grad():
        model[1].running_mean.normal_(); model[1].bias.normal_()
    rng = np.random.default_rng(1)
    theta = np.linspace(0, 2 * np.pi, 7, endpoint=False)
    A1, A2, A3 = rng.normal(size=(3, 1, 8, 8))
    X = A3 + np.sin(theta)[:, None, None, None] * A1 + np.cos(theta)[:, None, None, None] * A2
    graph = pl_graph(model, (1, 8, 8))
    for batch in (1, 3, 8):  # batches of samples joined across their borders
        got = first_stage_breakpoints(model, X, batch=batch)
        assert got.shape == (7,)
        if batch == 1:
            ref = got
        np.testing.assert_array_equal(got, ref)
    assert ref.sum() > 10
    np.testing.assert_array_equal(first_stage_breakpoints(graph, X, closed=False), ref[:-1])
    s = np.linspace(0.0, 1.0, 20001)
    for i in range(len(X)):
        seg = Segment(X[i], X[(i + 1) % len(X)])
        dec = decompose_slice(graph, seg)
        assert dec.stats["breakpoints_per_stage"][0] == ref[i]
        assert dec.n_regions >= ref[i] + 1
        values = graph.initial_values(seg.to_input(s[:, None]))
        graph.run_to(values, 0)
        Z = graph.nonlinear_input(values, 0).reshape(len(s), -1).numpy()
        changes = (np.diff(Z > 0, axis=0)).any(axis=1).sum()  # grid steps where some neuron flips
        assert changes == ref[i]  # no two crossings within one grid step here


def test_first_stage_breakpoints_of_a_relunet_and_bad_input():
    from relutopo.slice_decomposition import first_stage_breakpoints

    net = random_net((3, 6, 4, 1), 2)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(9, 3)) * 3
    got = first_stage_breakpoints(net, X)
    for i in range(len(X)):  # the first layer's hyperplanes a chord crosses, one by one
        a, b = X[i], X[(i + 1) % len(X)]
        za, zb = net.weights[0] @ a + net.biases[0], net.weights[0] @ b + net.biases[0]
        assert got[i] == int(((za > 0) != (zb > 0)).sum())
    with pytest.raises(ValueError, match="at least 2"):
        first_stage_breakpoints(net, X[:1])
    with pytest.raises(ValueError, match="batch"):
        first_stage_breakpoints(net, X, batch=0)
    Y = X.copy()
    Y[3, 1] = np.nan
    with pytest.raises(ValueError, match="1 of the 9 points have NaN"):
        first_stage_breakpoints(net, Y)
    import torch.nn as nn

    with pytest.raises(ValueError, match="not a ReLU-like"):
        first_stage_breakpoints(nn.Sequential(nn.MaxPool1d(2), nn.Flatten(), nn.Linear(2, 1)),
                                rng.normal(size=(3, 1, 4)))
