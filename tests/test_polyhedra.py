"""Box, LP helpers and Region against closed forms (inradii, volumes, vertex sets)."""

from __future__ import annotations

from math import factorial, sqrt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relutopo.domains import Box
from relutopo.nets import ReluNet
from relutopo.polyhedra import LPSolver, RegionError, chebyshev_center, facet_rows, is_bounded, region_of
from relutopo.polytopes import hull_volume, polytope_vertices, polytope_volume


# ----------------------------------------------------------------------------- Box
def test_box_construction_and_faces():
    b = Box([-1.0, 0.0], [1.0, 3.0])
    assert b.dim == 2 and b.volume == 6.0 and b.scale == 3.0
    A, c = b.halfspaces()
    V = b.vertices()
    assert V.shape == (4, 2)
    assert np.all(V @ A.T <= c + 1e-15)
    # every corner lies on exactly d faces
    assert np.all(np.sum(np.isclose(V @ A.T, c), axis=1) == 2)
    assert Box(-2, 2, dim=3).volume == 64.0


@pytest.mark.parametrize("args,kw,match", [
    ((-1, 1), {}, "dim"), ((1, -1), {"dim": 2}, "lo < hi"), (([0, 0], [1, 1, 1]), {}, "lengths"),
    ((-np.inf, 1), {"dim": 2}, "finite"), (([0, 0], [1, 1]), {"dim": 3}, "contradicts"),
    ((0, 1), {"dim": 0}, "positive"),
])
def test_box_errors_name_the_argument(args, kw, match):
    with pytest.raises(ValueError, match=match):
        Box(*args, **kw)


def test_box_sample_is_seeded_and_inside():
    b = Box([-1, 2], [0, 5])
    X = b.sample(1000, seed=3)
    assert np.array_equal(X, b.sample(1000, seed=3))
    assert np.all(b.contains(X))


# ----------------------------------------------------------------------------- LPs
def test_chebyshev_of_square_and_triangle():
    A, c = Box(-1, 1, dim=2).halfspaces()
    x, r = chebyshev_center(A, c, radius_cap=10)
    assert r == pytest.approx(1.0) and np.allclose(x, 0, atol=1e-9)
    # right triangle with legs 3, 4: inradius (3 + 4 - 5) / 2 = 1, centre (1, 1)
    T = np.array([[-1.0, 0], [0, -1.0], [4.0, 3.0]])
    cT = np.array([0.0, 0.0, 12.0])
    x, r = chebyshev_center(T, cT, radius_cap=10)
    assert r == pytest.approx(1.0) and np.allclose(x, [1, 1], atol=1e-9)


def test_chebyshev_empty_lower_dimensional_and_capped():
    s = LPSolver()
    _, r = s.chebyshev(np.array([[1.0], [-1.0]]), np.array([-1.0, -1.0]), 5)  # x <= -1, x >= 1
    assert r < 0
    _, r = s.chebyshev(np.array([[1.0], [-1.0]]), np.array([0.0, 0.0]), 5)  # the point 0
    assert abs(r) < 1e-12
    _, r = s.chebyshev(np.array([[1.0, 0.0]]), np.array([0.0]), 5)  # a half-plane
    assert r == pytest.approx(5)


def test_chebyshev_batch_equals_one_by_one():
    rng = np.random.default_rng(0)
    s = LPSolver()
    systems = []
    for _ in range(20):
        A = rng.normal(size=(7, 3))
        systems.append((A, rng.uniform(-0.2, 1, 7)))
    X, R = s.chebyshev_batch(systems, 3.0)
    for (A, c), r in zip(systems, R):
        _, r1 = s.chebyshev(A, c, 3.0)
        assert r == pytest.approx(r1, abs=1e-9)


def test_facet_rows_drop_redundant_duplicate_and_zero_rows():
    A, c = Box(-1, 1, dim=2).halfspaces()
    A2 = np.vstack([A, [[1.0, 0.0]], [[2.0, 0.0]], [[1.0, 1.0]], [[0.0, 0.0]]])
    c2 = np.concatenate([c, [5.0], [2.0], [3.0], [1.0]])  # x<=5, 2x<=2 (dup of x<=1), x+y<=3, 0<=1
    rows = facet_rows(A2, c2)
    assert sorted(rows.tolist()) == [0, 1, 2, 3]


def test_is_bounded():
    A, _ = Box(-1, 1, dim=3).halfspaces()
    assert is_bounded(A)
    assert not is_bounded(A[:-1])
    simplex = np.vstack([-np.eye(3), np.ones((1, 3))])
    assert is_bounded(simplex)
    assert not is_bounded(np.vstack([-np.eye(3), [[1.0, 1.0, -1.0]]]))


@pytest.mark.parametrize("d", [1, 2, 3])
def test_vertices_and_volume_of_a_simplex(d):
    A = np.vstack([-np.eye(d), np.ones((1, d))])
    c = np.concatenate([np.zeros(d), [2.0]])
    V = polytope_vertices(A, c, np.full(d, 0.1))
    assert len(V) == d + 1
    assert hull_volume(V) == pytest.approx(2.0 ** d / factorial(d))
    assert polytope_volume(A, c) == pytest.approx(2.0 ** d / factorial(d))  # from the halfspaces


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_polygon_volume_equals_shoelace(seed):
    rng = np.random.default_rng(seed)
    ang = np.sort(rng.uniform(0, 2 * np.pi, 7))
    P = np.c_[np.cos(ang), np.sin(ang)] * rng.uniform(0.5, 2)
    nxt = np.roll(P, -1, axis=0)
    area = 0.5 * abs(np.sum(P[:, 0] * nxt[:, 1] - nxt[:, 0] * P[:, 1]))
    assert hull_volume(P) == pytest.approx(area, rel=1e-12)


# ----------------------------------------------------------------------------- Region
def test_region_of_pattern_in_box():
    # lines x = 0 and y = 0: the pattern (1, 1) is the quadrant [0, 1]^2
    net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    reg = region_of(net, [True, True], Box(-1, 1, dim=2))
    assert reg.bounded and reg.volume == pytest.approx(1.0)
    assert reg.chebyshev_radius == pytest.approx(0.5)
    assert sorted(reg.facet_neurons.tolist()) == [-4, -2, 0, 1]  # x>=0, y>=0, x<=1, y<=1
    assert sorted(map(tuple, np.round(reg.vertices, 12).tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert reg.contains([[0.5, 0.5]])[0] and not reg.contains([[-0.5, 0.5]])[0]


def test_region_of_in_Rd_is_unbounded_and_rejects_infeasible_patterns():
    W = np.array([[1.0, 0.0], [1.0, 0.0]])
    net = ReluNet.from_weights([W, np.ones((1, 2))], [np.array([0.0, -1.0]), np.zeros(1)])
    reg = region_of(net, [True, False])  # 0 < x < 1, a strip
    assert not reg.bounded and reg.vertices is None
    assert reg.chebyshev_radius == pytest.approx(0.5)
    with pytest.raises(RegionError, match="full-dimensional"):
        region_of(net, [False, True])  # x < 0 and x > 1


def test_chebyshev_radius_uses_unit_normals():
    A = np.ones((1, 4)) / sqrt(4)
    _, r = chebyshev_center(np.vstack([A, -A]), np.array([1.0, 1.0]), 100)
    assert r == pytest.approx(1.0)


# ----------------------------------------------------------------------------- merge_points
def _merge_points_kdtree(P, radius):
    """The KD-tree version of merge_points (the path for large point sets), for comparison."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(P)
    pairs = cKDTree(P).query_pairs(radius, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), d=st.integers(1, 3), n=st.integers(2, 64))
def test_merge_points_direct_equals_kdtree(seed, d, n):
    """The direct path for few points (no KD-tree) gives the KD-tree's labels, on inputs with
    clusters of near-duplicates, chains of points each within the radius of the next, and points
    just inside and just outside the radius."""
    from relutopo.polytopes import MERGE_DIRECT_MAX_POINTS, merge_points

    assert n <= MERGE_DIRECT_MAX_POINTS
    rng = np.random.default_rng(seed)
    radius = 1e-9
    k = max(1, n // 3)
    centres = rng.uniform(-1, 1, size=(k, d))
    P = centres[rng.integers(0, k, n)]
    kind = rng.integers(0, 4, n)
    P = P + np.where((kind == 0)[:, None], rng.normal(scale=0.3 * radius, size=(n, d)), 0.0)
    P = P + np.where((kind == 1)[:, None], rng.normal(scale=3 * radius, size=(n, d)), 0.0)
    P = P + np.where((kind == 2)[:, None], rng.uniform(-1, 1, size=(n, d)), 0.0)
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    if n >= 4:  # a chain 0.9 r apart (merged through its links) and a pair at 1.0000001 r
        P[1] = P[0] + 0.9 * radius * u
        P[2] = P[1] + 0.9 * radius * u
        P[3] = P[0] - 1.0000001 * radius * u
    P = P[rng.permutation(n)]
    got = merge_points(P, radius)
    want = _merge_points_kdtree(P, radius)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()


def test_merge_points_direct_boundary_cases():
    from relutopo.polytopes import merge_points

    P = np.array([[0.0, 0.0], [3e-10, 4e-10], [1.0, 1.0], [1.0 + 6e-10, 1.0 + 8e-10], [0.5, 0.5]])
    # the second point is exactly 5e-10 from the first (within r), the fourth 1e-9 from the third
    for r in (5e-10, 9.99e-10, 1e-9, 1e-8):
        assert merge_points(P, r).tolist() == _merge_points_kdtree(P, r).tolist()
    assert merge_points(np.zeros((1, 2)), 1e-9).tolist() == [0]
    assert merge_points(np.zeros((0, 2)), 1e-9).tolist() == []
    # many points take the KD-tree path, with the same labels
    rng = np.random.default_rng(0)
    Q = np.repeat(rng.uniform(size=(50, 2)), 2, axis=0) + rng.normal(scale=1e-11, size=(100, 2))
    assert merge_points(Q, 1e-9).tolist() == _merge_points_kdtree(Q, 1e-9).tolist()
