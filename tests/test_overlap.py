"""Known-answer and invariant tests of relutopo.overlap (Beshkov's overlap decomposition)."""

from fractions import Fraction
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.spatial.distance import cdist

from relutopo.domains import Box
from relutopo.nets import ReluNet
from relutopo.overlap import (
    curve_self_crossings, data_regions, overlap_decomposition, polytope_volume,
    region_map, region_polyhedron, union_find_classes,
)
from relutopo.relative import betti_at, quotient_barcodes, rips_barcodes


def circle(n, r=1.0, phase=0.1):
    th = np.linspace(0, 2 * np.pi, n, endpoint=False) + phase
    return r * np.c_[np.cos(th), np.sin(th)]


def injective_net(seed, width_extra=0):
    """x -> relu(Qx + b), relu(-Qx - b) -> Q^T(h1 - h2): a bijection R^2 -> R^2 (identity + shift)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    b = rng.standard_normal(2)
    W1 = np.vstack([Q, -Q])
    b1 = np.r_[b, -b]
    W2 = np.eye(4) * rng.uniform(0.5, 2.0, 4)  # positive diagonal: stays injective
    W3 = np.hstack([Q.T, -Q.T]) @ np.linalg.inv(W2)
    return ReluNet.from_weights([W1, W2, W3], [b1, np.zeros(4), np.zeros(2)])


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000))
def test_injective_net_has_no_overlaps_and_keeps_homology(seed):
    net = injective_net(seed)
    X = circle(60, r=1.0 + (seed % 3))
    assert np.allclose(net.forward(X) - X, net.forward(np.zeros((1, 2))), atol=1e-9)
    dec = overlap_decomposition(net, X, domain=20.0)
    for d in dec.depths:
        assert len(d.overlapping_pairs) == 0
        assert d.n_classes == 0
    D = cdist(X, X)
    eps = 0.5
    assert list(betti_at(quotient_barcodes(D, dec.depths[-1].classes, 1), eps)) == [1, 1]


def fold_net(k=2.0):
    """(x, y) -> (x, relu(y) + k relu(-y)): folds the lower half-plane up (stretched by k)."""
    W1 = np.array([[1.0, 0], [-1.0, 0], [0, 1.0], [0, -1.0]])
    W2 = np.array([[1.0, -1.0, 0, 0], [0, 0, 1.0, k]])
    return ReluNet.from_weights([W1, W2], [np.zeros(4), np.zeros(2)])


def test_fold_glues_exactly_the_points_with_a_partner_image():
    net = fold_net()
    X = circle(72, phase=0.05)
    box = 1.2
    dec = overlap_decomposition(net, X, domain=box, volumes=True)
    hidden, out = dec[1], dec[2]
    assert len(hidden.overlapping_pairs) == 0
    # regions are the four open quadrants; overlaps only between mirror quadrants
    quad = lambda p: (p[0] > 0, p[1] > 0)  # noqa: E731
    pairs = {frozenset((quad(X[out.labels == i][0]), quad(X[out.labels == j][0])))
             for i, j in out.overlapping_pairs}
    assert pairs == {frozenset({(True, True), (True, False)}), frozenset({(False, True), (False, False)})}
    # known answer: an upper point (x, y) is glued iff (x, y/2) ... always (its image (x, y) lies in
    # the image [0, 1.2] x [0, 2.4] of the lower quadrant); a lower point iff -2y <= box
    expect = (X[:, 1] > 0) | (-2 * X[:, 1] <= box)
    assert np.array_equal(out.class_labels >= 0, expect)
    # right and left halves never share a class
    right = X[:, 0] > 0
    labs = out.class_labels
    assert not set(labs[right & expect]) & set(labs[~right & expect])
    # Phi(circle) is still a loop (upper arc and the stretched lower arc meet at (+-1, 0)); so is
    # the quotient
    D = cdist(X, X)
    assert list(betti_at(quotient_barcodes(D, out.classes, 1), 0.2)) == [1, 1]
    Y = net.forward(X)
    assert list(betti_at(rips_barcodes(cdist(Y, Y), 1), 0.2)) == [1, 1]
    # box volumes of the overlapping quadrants: 1.2^2 each
    vols = out.region_volumes[out.overlapping_regions]
    assert np.allclose(vols, box ** 2)


def test_circle_folded_onto_an_arc():
    """k = 1: (x, y) -> (x, |y|) maps the circle onto the upper half circle (a segment)."""
    net = fold_net(1.0)
    X = circle(72, phase=0.05)
    out = overlap_decomposition(net, X, domain=1.5).depths[-1]
    assert out.glued_fraction == 1.0
    right = X[:, 0] > 0
    assert out.n_classes == 2
    assert len(set(out.class_labels[right])) == 1 and len(set(out.class_labels[~right])) == 1
    D = cdist(X, X)
    Y = net.forward(X)
    assert list(betti_at(rips_barcodes(cdist(Y, Y), 1), 0.2)) == [1, 0]
    assert list(betti_at(quotient_barcodes(D, out.classes, 1), 0.2)) == [1, 0]
    assert list(betti_at(rips_barcodes(D, 1), 0.2)) == [1, 1]


def test_hand_made_1d_overlap_known_interval():
    """|x| on data in [-1, 2] with the box [-1, 2]: the class is exactly {x : |x| <= 1}."""
    net = ReluNet.from_weights([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    X = (np.arange(-20, 40) + 0.5)[:, None] / 20  # -0.975 .. 1.975, never on 0 or 1
    dec = overlap_decomposition(net, X, domain=Box(-1.0, 2.0, dim=1))
    assert len(dec[1].overlapping_pairs) == 0
    out = dec[2]
    assert len(out.overlapping_pairs) == 1
    glued = out.class_labels >= 0
    assert np.array_equal(glued, np.abs(X[:, 0]) <= 1)
    assert out.n_classes == 1


def zigzag_net():
    """A 1-D polyline with a single transversal crossing: P0..P3 = (0,0),(2,2),(2,0),(0,2) at s=0..3."""
    P = np.array([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]], dtype=float)
    slopes = np.diff(P, axis=0)  # slope on [k, k+1]
    W1 = np.ones((4, 1))
    b1 = -np.arange(4.0)
    W2 = np.column_stack([slopes[0]] + [slopes[k] - slopes[k - 1] for k in range(1, 4)])
    return ReluNet.from_weights([W1, W2], [b1, P[0]]), P


def test_curve_crossing_exact_and_glued():
    net, P = zigzag_net()
    S = np.array([[Fraction(k, 8)] for k in range(1, 32)], dtype=float)  # s in (0, 4)
    out = net.forward(S)
    # the net reproduces the polyline at its vertices
    assert np.allclose(net.forward(np.arange(4.0)[:, None]), P[:4])
    cr = curve_self_crossings(net, 0.0, 3.0)
    assert cr.shape == (1, 2)
    assert np.allclose(cr, [[0.5, 2.5]])
    dec = overlap_decomposition(net, S[S[:, 0] < 3], domain=Box(0.0, 3.0, dim=1))
    last = dec.depths[-1]
    assert last.n_classes == 1
    glued = np.sort(S[S[:, 0] < 3][last.classes[0], 0])
    assert np.allclose(glued, [0.5, 2.5])  # the data points at the crossing
    del out


def test_prefilter_never_drops_an_overlapping_pair():
    for seed in range(6):
        rng = np.random.default_rng(seed)
        sizes = [2, 5, 4, 2] if seed < 3 else [2, 6, 3, 3, 2]
        W = [rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(3)]
        b = [0.5 * rng.standard_normal(sizes[i + 1]) for i in range(3)]
        net = ReluNet.from_weights(W, b)
        X = rng.uniform(-2, 2, size=(50, 2))
        fast = overlap_decomposition(net, X, domain=5.0, prefilter=True)
        full = overlap_decomposition(net, X, domain=5.0, prefilter=False)
        for a, b_ in zip(fast.depths, full.depths):
            assert {tuple(p) for p in a.overlapping_pairs} == {tuple(p) for p in b_.overlapping_pairs}
            assert np.array_equal(a.class_labels, b_.class_labels)
            # without prefilter every pair is tested (an LP, unless the image flats do not even
            # meet, which the LP set-up detects by linear algebra)
            assert b_.n_decided_by_data == b_.n_decided_by_geometry == 0
            assert a.n_overlap_lps <= b_.n_overlap_lps <= b_.n_pairs
            assert a.n_overlap_lps + a.n_lps_saved == a.n_pairs


def test_union_find_matches_connected_components():
    rng = np.random.default_rng(3)
    n = 40
    groups = [rng.choice(n, size=rng.integers(1, 4), replace=False) for _ in range(15)]
    labels = union_find_classes(n, groups)
    G = nx.Graph()
    G.add_nodes_from(range(n))
    for g in groups:
        G.add_edges_from(zip(g[:-1], g[1:]))
    comps = [sorted(c) for c in nx.connected_components(G) if len(c) > 1]
    ours = [sorted(np.nonzero(labels == k)[0]) for k in range(labels.max() + 1)]
    assert sorted(map(tuple, comps)) == sorted(map(tuple, ours))
    # accumulation: merging with previous labels never splits a class
    more = union_find_classes(n, [np.array([0, n - 1])], previous=labels)
    for k in range(labels.max() + 1):
        assert len(set(more[labels == k])) == 1


def test_region_volumes_sum_to_box_volume():
    rng = np.random.default_rng(0)
    net = ReluNet.from_weights([rng.standard_normal((4, 2)), rng.standard_normal((1, 4))],
                               [0.3 * rng.standard_normal(4), [0.0]])
    g = np.linspace(-1.999, 1.999, 120)
    X = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    labels, pats = data_regions(net, X, 1)
    vols = [polytope_volume(*region_polyhedron(net, p, 1, Box(-2, 2, dim=2))) for p in pats]
    assert abs(sum(vols) - 16.0) < 1e-6
    # a closed form: the triangle x, y >= 0, x + y <= 1
    assert abs(polytope_volume(np.array([[-1.0, 0], [0, -1.0], [1.0, 1.0]]), np.array([0, 0, 1.0])) - 0.5) < 1e-12


def test_region_map_agrees_with_forward():
    rng = np.random.default_rng(1)
    net = ReluNet.from_weights([rng.standard_normal((5, 3)), rng.standard_normal((4, 5)), rng.standard_normal((2, 4))],
                               [rng.standard_normal(5), rng.standard_normal(4), rng.standard_normal(2)])
    X = rng.standard_normal((30, 3))
    pre = net.preactivations(X)
    for depth in (1, 2, 3):
        labels, pats = data_regions(net, X, depth)
        for r in range(len(pats)):
            M, m = region_map(net, pats[r], depth)
            want = net.forward(X[labels == r]) if depth == 3 else np.maximum(pre[depth - 1][labels == r], 0)
            assert np.allclose(X[labels == r] @ M.T + m, want)
            A, c = region_polyhedron(net, pats[r], depth, Box(-10, 10, dim=3))
            assert np.all(X[labels == r] @ A.T <= c + 1e-9)


def test_bad_input_messages():
    net = fold_net()
    with pytest.raises(ValueError, match="box"):
        overlap_decomposition(net, circle(10, r=3.0), domain=1.0)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        overlap_decomposition(net, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="depth"):
        overlap_decomposition(net, circle(10), depths=[7])
    with pytest.raises(TypeError, match="ReluNet"):
        overlap_decomposition("not a net", circle(10))
    with pytest.raises(ValueError, match="1-D input"):
        curve_self_crossings(net, 0, 1)
    with pytest.raises(ValueError, match="domain=None .* a bounded box is needed"):
        overlap_decomposition(net, circle(10), domain=None)
    with pytest.raises(TypeError, match="domain must be a relutopo.domains.Box or a positive half-width"):
        overlap_decomposition(net, circle(10), domain="wide")


def test_deprecated_box_keyword_still_works():
    """``box=`` (a half-width or corners) was renamed ``domain=``; it warns and gives the same."""
    net, X = fold_net(), circle(16)
    with pytest.warns(DeprecationWarning, match="box="):
        old = overlap_decomposition(net, X, box=(-2.0, 2.0))
    new = overlap_decomposition(net, X, domain=Box(-2, 2, dim=2))
    assert old.domain.lo.tolist() == new.domain.lo.tolist() == [-2.0, -2.0]
    for a, b in zip(old.depths, new.depths):
        assert np.array_equal(a.class_labels, b.class_labels)
        assert np.array_equal(a.overlapping_pairs, b.overlapping_pairs)
    with pytest.raises(ValueError, match="give the box once"), pytest.warns(DeprecationWarning):
        overlap_decomposition(net, X, domain=3.0, box=2.0)


def test_train_net_checkpoints_are_the_torch_models():
    """The ReluNets rebuilt from checkpoints compute what the trained torch model computes."""
    import torch

    from relutopo.papers.beshkov.experiments import train_net
    from relutopo.train import mlp

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    nets, hist = train_net(X, y, [6, 5], seed=3, epochs=5, checkpoint_epochs=[2])
    assert sorted(nets) == [0, 2, 5]
    init = mlp([2, 6, 5, 2], seed=3)
    with torch.no_grad():
        want = init(torch.as_tensor(X, dtype=torch.float32)).numpy()
    assert np.allclose(nets[0].forward(X), want, atol=1e-5)
    assert nets[5].hidden_sizes == (6, 5)


def test_plane_pair_status_equals_an_lp_on_random_polygons():
    """The batched separating-axis test (relutopo.plane_overlap) against an independent LP:
    two polygons' interiors meet iff some point lies inside both with a positive margin."""
    from scipy.optimize import linprog
    from scipy.spatial import ConvexHull

    from relutopo.plane_overlap import BY_GEOMETRY, SEPARATED, plane_images, plane_pair_status

    rng = np.random.default_rng(7)
    polys, hulls = [], []
    for k in range(40):
        P = rng.uniform(-1, 1, size=(rng.integers(3, 12), 2)) * rng.uniform(0.2, 1.5) + rng.uniform(-2, 2, 2)
        h = ConvexHull(P)
        theta = rng.uniform(0, 2 * np.pi)  # a random orthonormal basis of the plane
        U = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        m = rng.uniform(-1, 1, 2)
        hq = ConvexHull((P - m) @ U)  # qhull in the region's own flat coordinates
        polys.append((U, m, hq.equations, 1e-8, P[h.vertices]))
        hulls.append(h.equations)
    # two squares sharing an edge: closed sets meet, interiors do not
    sq = np.array([[0.0, 0], [1, 0], [1, 1], [0, 1]])
    for Q in (sq, sq + [1.0, 0]):
        h = ConvexHull(Q)
        polys.append((np.eye(2), np.zeros(2), h.equations, 1e-8, Q[h.vertices]))
        hulls.append(h.equations)
    P = plane_images(polys)
    pairs = np.array([(i, j) for i in range(len(polys)) for j in range(i + 1, len(polys))])
    far = np.full((len(polys), 2), 1e6)  # data points far away: geometry decides every pair
    status, _, _ = plane_pair_status(P, pairs, far, np.arange(len(polys)), np.ones(len(polys), dtype=np.int64),
                                     np.ones(len(polys), dtype=bool), chunk=37)
    for (i, j), s in zip(pairs, status):
        E = np.vstack([hulls[i], hulls[j]])
        res = linprog([0, 0, -1], A_ub=np.c_[E[:, :2], np.ones(len(E))], b_ub=-E[:, 2],
                      bounds=[(None, None), (None, None), (None, 1)], method="highs")
        assert s == (BY_GEOMETRY if -res.fun > 1e-7 else SEPARATED), (i, j, -res.fun)
    assert status[-1] == SEPARATED  # the two squares
    assert SEPARATED in status and BY_GEOMETRY in status


def test_trained_two_class_output_depth_equals_lps_for_every_pair():
    """At the output of a trained 3 -> 8 -> 8 -> 2 classifier (polygons in the plane, decided in
    batch) the overlapping pairs and classes equal those of one LP per pair."""
    from relutopo.papers.beshkov.experiments import classification_data, train_net

    X, y = classification_data("spheres2", 12, 3)
    nets, _ = train_net(X, y, [8, 8], seed=3, epochs=150)
    for net in nets.values():
        fast = overlap_decomposition(net, X, domain=10.0, prefilter=True)
        full = overlap_decomposition(net, X, domain=10.0, prefilter=False)
        a, b_ = fast.depths[-1], full.depths[-1]
        assert a.n_decided_by_geometry + a.n_decided_by_data > 0
        assert {tuple(p) for p in a.overlapping_pairs} == {tuple(p) for p in b_.overlapping_pairs}
        assert np.array_equal(a.class_labels, b_.class_labels)


def test_hull_witness_settles_a_nearly_touching_pair():
    """Two data hulls 1e-3 apart (from an untrained 2 -> 10^4 -> 2 net on S^1, the author's grid)
    on which HiGHS' feasibility LP returned no status: the gap LP decides, as scipy does."""
    from scipy.optimize import linprog

    from relutopo.lp import LPSolver
    from relutopo.overlap import _hull_witness, _nearest_hull_points

    f = np.load(Path(__file__).parent / "fixtures" / "hull_witness_unsettled.npz")
    P1, P2 = f["P1"], f["P2"]
    assert _hull_witness(LPSolver(), P1, P2) is None
    n1, n2 = len(P1), len(P2)
    A = np.zeros((P1.shape[1] + 2, n1 + n2))
    A[:-2, :n1], A[:-2, n1:], A[-2, :n1], A[-1, n1:] = P1.T, -P2.T, 1.0, 1.0
    b = np.r_[np.zeros(P1.shape[1]), 1.0, 1.0]
    assert linprog(np.zeros(n1 + n2), A_eq=A, b_eq=b, bounds=(0, None), method="highs").status == 2
    # the fallback finds a witness when the hulls do meet: shift P2 onto a point of conv P1
    P2m = P2 + (P1[:5].mean(axis=0) - P2[0])
    A[:-2, n1:] = -P2m.T
    v = _nearest_hull_points(LPSolver(), A)
    assert v is not None
    lam, mu = v[:n1], v[n1:]
    assert np.allclose(lam @ P1, mu @ P2m, atol=1e-7) and abs(lam.sum() - 1) < 1e-9
