"""Tests of the polyhedral cell complex (relutopo.complex).

Ground truth: closed forms for hyperplane arrangements in a box (one hidden layer), the Euler
characteristic and two-sidedness of a subdivided box, the engine's regions / dual graph /
volumes (a different algorithm), dense sampling, and exact areas of halfplanes in a square.
"""

from itertools import combinations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import linprog

from relutopo.complex import (ComplexError, cell_complex, cell_complex_from_halfspaces,
                              polytope_vertices, sample_convex_pieces)
from relutopo.decompose import decompose
from relutopo.domains import Box
from conftest import random_net

SETTINGS = dict(max_examples=8, deadline=None)


def complex_net(seed, d, sizes, bias=0.5):
    """A ``d -> sizes -> 1`` network with N(0, 1) weights and N(0, bias^2) biases."""
    return random_net([d, *sizes, 1], seed, dist="normal", bias_scale=bias)


def complex_of(net, d):
    dec = decompose(net, Box(-1, 1, dim=d))
    return dec, cell_complex(dec)


# ----------------------------------------------------------------------------- closed forms
def _meets_box(A_eq, b_eq, d):
    """Does the flat {A_eq x = b_eq} meet the open box (-1, 1)^d? (LP with a margin)."""
    res = linprog(np.r_[np.zeros(d), -1.0], A_eq=np.hstack([A_eq, np.zeros((len(A_eq), 1))]),
                  b_eq=b_eq, A_ub=np.vstack([np.hstack([np.eye(d), np.ones((d, 1))]),
                                             np.hstack([-np.eye(d), np.ones((d, 1))])]),
                  b_ub=np.ones(2 * d), bounds=[(None, None)] * d + [(0, 1)], method="highs")
    return res.status == 0 and -res.fun > 1e-9


def arrangement_f_vector(W, b, d):
    """f-vector of a generic hyperplane arrangement {w_i x + b_i = 0} cut by [-1, 1]^d.

    Regions: one plus one per flat of the intersection lattice meeting the open box (Zaslavsky's
    count for a convex body, all Mobius values +-1 for a generic arrangement). Vertices: box
    corners + crossings of flats with the box's edges / faces + interior points. The remaining
    numbers follow from Euler's relation (d = 2) or are counted directly (d = 3).
    """
    n = len(W)
    flats = {k: [S for S in combinations(range(n), k) if _meets_box(W[list(S)], -b[list(S)], d)]
             for k in range(1, d + 1)}
    f_top = 1 + sum(len(v) for v in flats.values())
    corners = np.array(np.meshgrid(*[[-1, 1]] * d)).reshape(d, -1).T
    box_edges = [(p, q) for p, q in combinations(range(len(corners)), 2)
                 if np.abs(corners[p] - corners[q]).sum() == 2]
    f0 = len(corners) + len(flats[d])
    for i in range(n):  # hyperplane i crosses box edges
        s = corners @ W[i] + b[i]
        f0 += sum(1 for p, q in box_edges if s[p] * s[q] < 0)
    if d == 3:
        f0 += 2 * len(flats[2])  # each interior line leaves the box through two faces
        f1_box_edges = len(box_edges) + sum(
            sum(1 for p, q in box_edges if (corners[[p, q]] @ W[i] + b[i]).prod() < 0) for i in range(n))
        return f0, f_top, f1_box_edges
    return f0, f_top


@given(seed=st.integers(0, 10**6), n=st.integers(1, 7))
@settings(**SETTINGS)
def test_line_arrangement_closed_form_2d(seed, n):
    net = complex_net(seed, 2, [n])
    _, K = complex_of(net, 2)
    f0, f2 = arrangement_f_vector(net.weights[0], net.biases[0], 2)
    assert K.f_vector[0] == f0
    assert K.f_vector[2] == f2
    assert K.f_vector[1] == f0 + f2 - 1  # Euler: f0 - f1 + f2 = 1


@given(seed=st.integers(0, 10**6), n=st.integers(1, 5))
@settings(**SETTINGS)
def test_plane_arrangement_closed_form_3d(seed, n):
    net = complex_net(seed, 3, [n])
    _, K = complex_of(net, 3)
    f0, f3, _ = arrangement_f_vector(net.weights[0], net.biases[0], 3)
    assert K.f_vector[0] == f0
    assert K.f_vector[3] == f3
    assert K.euler_characteristic == 1


def test_single_square_and_cube():
    for d, f in ((2, [4, 4, 1]), (3, [8, 12, 6, 1])):
        K = cell_complex_from_halfspaces([(np.zeros((0, d)), np.zeros(0))], Box(-1, 1, dim=d))
        assert K.f_vector.tolist() == f
        assert all(K.check().values())
        assert K.on_box_boundary[d - 1].all()


# ----------------------------------------------------------------------------- invariants
@given(seed=st.integers(0, 10**6), d=st.sampled_from([2, 3]))
@settings(**SETTINGS)
def test_invariants_deep_nets(seed, d):
    net = complex_net(seed, d, [6, 5] if d == 2 else [4, 4])
    dec, K = complex_of(net, d)
    checks = K.check()
    assert all(checks.values()), checks
    # every interior (d-1)-cell borders two d-cells, boundary ones exactly one
    deg = np.asarray(K.boundary[d].sum(axis=1)).ravel()
    assert np.all(deg[~K.on_box_boundary[d - 1]] == 2) and np.all(deg[K.on_box_boundary[d - 1]] == 1)
    # every k-cell (k >= 1) has at least k + 1 faces, every edge exactly 2 vertices
    assert np.all(np.asarray(K.boundary[1].sum(axis=0)).ravel() == 2)
    for k in range(2, d + 1):
        assert np.asarray(K.boundary[k].sum(axis=0)).min() >= k + 1


@given(seed=st.integers(0, 10**6), d=st.sampled_from([2, 3]))
@settings(**SETTINGS)
def test_agrees_with_engine_regions_dual_graph_volumes(seed, d):
    net = complex_net(seed, d, [5, 4])
    dec, K = complex_of(net, d)
    assert K.f_vector[d] == dec.n_regions
    assert sorted(K.region_of_cell.tolist()) == list(range(dec.n_regions))
    _, pairs = K.interior_facets()
    ours = nx.Graph()
    ours.add_nodes_from(range(dec.n_regions))
    ours.add_edges_from(map(tuple, pairs))
    assert set(map(frozenset, ours.edges())) == set(map(frozenset, dec.dual_graph.edges()))
    vol = np.zeros(dec.n_regions)
    vol[K.region_of_cell] = K.volumes(d)
    np.testing.assert_allclose(vol, dec.volumes(), rtol=1e-7, atol=1e-12)


def test_dense_sampling_finds_only_complex_regions_and_all_big_ones():
    net = complex_net(3, 2, [8, 6])
    dec, K = complex_of(net, 2)
    g = np.stack(np.meshgrid(np.linspace(-0.999, 0.999, 600), np.linspace(-0.999, 0.999, 600)),
                 -1).reshape(-1, 2)
    seen = {p.tobytes() for p in np.unique(net.bits(g), axis=0)}
    ours = {dec.patterns[r].tobytes() for r in K.region_of_cell}
    assert seen <= ours
    # every region with a vertex-free disc of radius > 2 grid steps must have been sampled
    areas = K.volumes(2)
    big = [dec.patterns[K.region_of_cell[i]].tobytes() for i in np.flatnonzero(areas > 0.01)]
    assert set(big) <= seen
    # vertices of the complex are exactly where >= 2 region boundaries meet: each vertex is in
    # the closure of >= 2 regions unless it is a box corner
    star = np.zeros(K.f_vector[0], dtype=int)
    for vs in K.cells[2]:
        star[vs] += 1
    corners = np.all(np.abs(np.abs(K.vertices) - 1) < 1e-12, axis=1)
    assert np.all(star[corners] == 1) and np.all(star[~corners] >= 2)


# ----------------------------------------------------------------------------- vertices, volumes
@given(seed=st.integers(0, 10**6), d=st.sampled_from([2, 3]))
@settings(**SETTINGS)
def test_qhull_and_brute_force_vertices_agree(seed, d):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(8, d))
    c = np.abs(rng.normal(size=8)) + 0.1  # the origin is inside
    A = np.vstack([A, np.eye(d), -np.eye(d)])
    c = np.concatenate([c, 2 * np.ones(2 * d)])
    V1 = polytope_vertices(A, c, np.zeros(d), scale=4.0, method="qhull")
    V2 = polytope_vertices(A, c, None, scale=4.0, method="brute")
    assert V1.shape == V2.shape
    D = np.linalg.norm(V1[:, None] - V2[None], axis=2)
    assert D.min(axis=1).max() < 1e-10 and D.min(axis=0).max() < 1e-10


def test_split_volumes_exact_halfplanes():
    net = complex_net(7, 2, [6, 4])
    dec, K = complex_of(net, 2)
    n = dec.n_regions
    for a, b, area in (((1.0, 0.0), -0.3, 2 * 0.7), ((1.0, 1.0), 0.0, 2.0), ((0.0, -1.0), 0.5, 2 * 1.5)):
        pos, neg = K.split_volumes(np.tile(a, (n, 1)), np.full(n, b))
        assert pos.sum() == pytest.approx(area, rel=1e-9)
        assert (pos + neg).sum() == pytest.approx(4.0, rel=1e-9)
        assert np.all(pos >= -1e-12) and np.all(neg >= -1e-12)


def test_zero_set_pieces_of_a_line_have_its_length():
    net = complex_net(11, 2, [7])
    dec, K = complex_of(net, 2)
    n = dec.n_regions
    pieces = K.zero_set_pieces(np.tile([1.0, 1.0], (n, 1)), np.zeros(n))  # x + y = 0: length 2 sqrt 2
    length = sum(np.linalg.norm(P.max(axis=0) - P.min(axis=0)) for P in pieces)
    assert length == pytest.approx(2 * np.sqrt(2), rel=1e-9)
    pts = sample_convex_pieces(pieces, 0.01)
    assert np.abs(pts.sum(axis=1)).max() < 1e-9


def test_split_volumes_against_network_sign_on_grid():
    net = complex_net(5, 2, [6, 6])
    dec, K = complex_of(net, 2)
    maps = [dec.affine_map(i) for i in range(dec.n_regions)]
    a = np.array([m[0][0] for m in maps])
    b = np.array([m[1][0] for m in maps])
    pos, _ = K.split_volumes(a, b)
    g = (np.stack(np.meshgrid(*[np.linspace(-1, 1, 801)] * 2), -1).reshape(-1, 2))
    frac = float((net.forward(g)[:, 0] >= 0).mean())
    assert pos.sum() / 4.0 == pytest.approx(frac, abs=5e-3)


# ----------------------------------------------------------------------------- bad input
def test_bad_input_messages():
    unit = Box(0, 1, dim=2)
    with pytest.raises(ValueError, match="lo < hi"):  # the box itself refuses (relutopo.domains)
        Box([1, 1], [0, 2])
    with pytest.raises(TypeError, match=r"domain must be a relutopo.domains.Box; got list \[0, 0\]"):
        cell_complex_from_halfspaces([(np.zeros((0, 2)), np.zeros(0))], [0, 0], [1, 1])
    with pytest.raises(ComplexError, match="domain=None .* a bounded box is needed"):
        cell_complex_from_halfspaces([(np.zeros((0, 2)), np.zeros(0))], None)
    with pytest.raises(ComplexError, match="no regions"):
        cell_complex_from_halfspaces([], unit)
    with pytest.raises(ComplexError, match="interior_points"):
        cell_complex_from_halfspaces([(np.zeros((0, 2)), np.zeros(0))], unit,
                                     interior_points=np.zeros((2, 2)))
    with pytest.raises(ComplexError, match="halfspaces\\[0\\]"):
        cell_complex_from_halfspaces([(np.zeros((3, 3)), np.zeros(2))], unit)
    with pytest.raises(ComplexError, match="empty"):
        cell_complex_from_halfspaces([(np.array([[1.0, 0.0]]), np.array([-5.0]))], unit)
    K = cell_complex_from_halfspaces([(np.zeros((0, 2)), np.zeros(0))], unit)
    with pytest.raises(ValueError, match="k must be"):
        K.volumes(3)


def test_split_volumes_and_zero_set_in_3d():
    net = complex_net(8, 3, [4, 3])
    dec, K = complex_of(net, 3)
    n = dec.n_regions
    pos, neg = K.split_volumes(np.tile([1.0, 0.0, 0.0], (n, 1)), np.full(n, -0.3))
    assert pos.sum() == pytest.approx(0.7 * 4, rel=1e-9)
    assert neg.sum() == pytest.approx(1.3 * 4, rel=1e-9)
    pieces = K.zero_set_pieces(np.tile([0.0, 0.0, 1.0], (n, 1)), np.full(n, -0.25))  # z = 0.25
    from relutopo.complex import cell_volume

    assert sum(cell_volume(P, 2) for P in pieces) == pytest.approx(4.0, rel=1e-9)


def test_sample_convex_pieces_degenerate_pieces():
    # two points (a tiny segment whose second singular value is rounding), and a sliver of
    # collinear points: both are sampled as segments instead of failing in Qhull
    tiny = np.array([[0.1, 0.2], [0.1 + 3e-6, 0.2 + 1e-6]])
    sliver = np.array([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0 + 1e-15]])
    pts = sample_convex_pieces([tiny, sliver], 0.1)
    assert pts.shape[1] == 2 and len(pts) >= 2 + 11
    np.testing.assert_allclose(pts[:, 0], pts[:, 1] + np.r_[np.full(2, -0.1), np.zeros(len(pts) - 2)],
                               atol=1e-5)


def test_volumes_are_kept_and_split_volumes_uses_them():
    """``volumes(k)`` is computed once per k (callers get a copy), and split_volumes' totals are
    exactly those volumes (the same Qhull areas, not recomputed)."""
    from relutopo.nets import ReluNet
    from relutopo.polytopes import hull_volume

    net = ReluNet.from_weights([np.array([[1.0, 0.3], [-0.2, 1.0], [0.7, -0.5]]), np.ones((1, 3))],
                               [np.array([0.1, -0.2, 0.05]), np.array([-0.3])])
    dec = decompose(net, Box(-1, 1, dim=2))
    K = cell_complex(dec)
    v = K.volumes(2)
    v[:] = -1.0  # a copy: the kept volumes are not changed
    fresh = np.array([hull_volume(K.vertices[c], 2) for c in K.cells[2]])
    assert K.volumes(2).tolist() == fresh.tolist()
    from relutopo.linear_regions import pattern_output_maps

    A, c = pattern_output_maps(net, np.asarray(dec.patterns, dtype=bool))
    pos, neg = K.split_volumes(A[:, 0, :], c[:, 0])
    tot = np.zeros(dec.n_regions)
    tot[K.region_of_cell] = fresh
    assert (pos + neg).tolist() == pytest.approx(tot.tolist(), rel=1e-15)
    assert K.check()["volume_sums"]
