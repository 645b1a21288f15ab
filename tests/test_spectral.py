"""Tests of weighted Laplacians and Fiedler partitions (relutopo.spectral).

Ground truth: the path graph's closed-form spectrum, networkx's Fiedler vector, the generalised
eigen-equation and its Rayleigh-quotient characterisation, dense vs sparse solvers, and the
engine's dual graph.
"""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from relutopo.complex import cell_complex
from relutopo.decompose import decompose
from relutopo.domains import Box
from relutopo.nets import ReluNet
from relutopo.spectral import (SpectralError, cut_agreement, cut_facets, cut_kappa, dual_graph_of_complex,
                               fiedler_partition, fiedler_vector, hausdorff_distance, laplacian,
                               region_mass)

SETTINGS = dict(max_examples=10, deadline=None)


def path_edges(n):
    return np.array([(i, i + 1) for i in range(n - 1)])


def random_connected(seed, n):
    rng = np.random.default_rng(seed)
    G = nx.random_labeled_tree(n, seed=int(seed)) if hasattr(nx, "random_labeled_tree") else nx.random_tree(n, seed=int(seed))
    E = set(map(tuple, map(sorted, G.edges())))
    for _ in range(n):
        a, b = rng.integers(0, n, 2)
        if a != b:
            E.add(tuple(sorted((int(a), int(b)))))
    E = np.array(sorted(E))
    return E, rng.uniform(0.2, 3.0, len(E)), rng.uniform(0.5, 5.0, n)


def test_path_graph_closed_form():
    n = 9
    lam, v = fiedler_vector(laplacian(path_edges(n), n))
    assert lam == pytest.approx(2 - 2 * np.cos(np.pi / n), rel=1e-10)
    ref = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    ref /= np.linalg.norm(ref)
    assert abs(abs(v @ ref) - 1) < 1e-10


def test_uniform_mass_scales_eigenvalue_only():
    E, w, _ = random_connected(3, 12)
    L = laplacian(E, 12, w)
    lam1, v1 = fiedler_vector(L)
    lam3, v3 = fiedler_vector(L, np.full(12, 3.0))
    assert lam3 == pytest.approx(lam1 / 3, rel=1e-10)
    np.testing.assert_allclose(v3 * np.sqrt(3.0), v1, atol=1e-9)


def test_unweighted_matches_networkx():
    E, _, _ = random_connected(5, 15)
    G = nx.Graph()
    G.add_nodes_from(range(15))
    G.add_edges_from(map(tuple, E))
    part = fiedler_partition(G, weighting="unweighted")
    ref = nx.fiedler_vector(G, method="lanczos", tol=1e-12, seed=0)
    ref /= np.linalg.norm(ref)
    assert abs(abs(part.vector @ ref) - 1) < 1e-6
    assert part.value == pytest.approx(nx.algebraic_connectivity(G, tol=1e-12, seed=0), rel=1e-6)


@given(seed=st.integers(0, 10**6), n=st.integers(4, 30))
@settings(**SETTINGS)
def test_generalised_eigenproblem_and_rayleigh_minimum(seed, n):
    E, w, m = random_connected(seed, n)
    L = laplacian(E, n, w).toarray()
    lam, v = fiedler_vector(laplacian(E, n, w), m)
    np.testing.assert_allclose(L @ v, lam * m * v, atol=1e-8 * max(1, lam))
    assert v @ (m * v) == pytest.approx(1.0)
    assert abs(m @ v) < 1e-8  # M-orthogonal to the constant vector
    rng = np.random.default_rng(seed)
    for _ in range(20):
        u = rng.normal(size=n)
        u -= (m @ u) / m.sum()  # M-orthogonal to constants
        assert u @ L @ u / (u @ (m * u)) >= lam - 1e-9


@given(seed=st.integers(0, 10**6))
@settings(max_examples=5, deadline=None)
def test_dense_and_sparse_solvers_agree(seed):
    E, w, m = random_connected(seed, 60)
    L = laplacian(E, 60, w)
    l1, v1 = fiedler_vector(L, m, method="dense")
    l2, v2 = fiedler_vector(L, m, method="sparse")
    assert l1 == pytest.approx(l2, rel=1e-7)
    np.testing.assert_allclose(v1, v2, atol=1e-6)


def test_sparse_solver_is_deterministic_whatever_ran_before():
    """ARPACK's own start vector depends on earlier calls in the process; ours is seeded, so the
    same graph gives the same bits after unrelated eigsh calls (fails without the seeded start)."""
    from scipy.sparse.linalg import eigsh

    E, w, m = random_connected(7, 400)
    L = laplacian(E, 400, w)
    first = fiedler_vector(L, m, method="sparse")
    rng = np.random.default_rng(1)
    for _ in range(3):  # advance ARPACK's internal generator
        A = rng.standard_normal((50, 50))
        eigsh(A + A.T, k=2)
    again = fiedler_vector(L, m, method="sparse")
    assert first.value == again.value
    assert np.array_equal(first.vector, again.vector)


def test_two_cliques_are_split():
    a = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    b = [(i + 6, j + 6) for i, j in a]
    part = fiedler_partition(np.array(a + b + [(0, 6)]), 12, weighting="unweighted")
    assert len(set(part.side[:6])) == 1 and len(set(part.side[6:])) == 1
    assert part.side[0] != part.side[6]


def test_data_weighting_matches_nonsymmetric_form_and_balances_mass():
    # path of 10 with 50 points in each of nodes 0..4: the M-orthogonality to constants forces
    # the sign change into the heavy half (the cut balances data mass, not node count)
    E = path_edges(10)
    counts = np.repeat(np.arange(5), 50)
    part = fiedler_partition(E, 10, weighting="data", point_regions=counts)
    assert part.mass.tolist() == [51.0] * 5 + [1.0] * 5
    cut = int(np.flatnonzero(part.side[:-1] != part.side[1:])[0])
    assert cut < 4
    # the paper's L = W_V^-1 D^T W_E D as a non-symmetric matrix, eigen-decomposed by numpy
    Lw = np.diag(1 / part.mass) @ laplacian(E, 10).toarray()
    w, V = np.linalg.eig(Lw)
    o = np.argsort(w.real)
    assert w.real[o[1]] == pytest.approx(part.value, rel=1e-9)
    ref = V[:, o[1]].real
    ref /= np.sqrt(ref @ (part.mass * ref))
    assert abs(abs(ref @ (part.mass * part.vector)) - 1) < 1e-9
    unweighted = fiedler_partition(E, 10, weighting="unweighted")
    assert int(np.flatnonzero(unweighted.side[:-1] != unweighted.side[1:])[0]) == 4


def test_facet_weighting_and_engine_dual_graph():
    rng = np.random.default_rng(0)
    net = ReluNet.from_weights([rng.normal(size=(6, 2)), rng.normal(size=(5, 6)), rng.normal(size=(1, 5))],
                               [rng.normal(size=6) * 0.5, rng.normal(size=5) * 0.5, np.zeros(1)])
    dec = decompose(net, Box(-1, 1, dim=2))
    K = cell_complex(dec)
    g = dual_graph_of_complex(K)
    edges, vols, cells = g.edges, g.facet_volumes, g.facet_cells
    assert set(map(frozenset, map(tuple, edges))) == set(map(frozenset, dec.dual_graph.edges()))
    # interior edge lengths + box perimeter = total length of all 1-cells
    assert vols.sum() + 8.0 == pytest.approx(K.volumes(1).sum(), rel=1e-10)
    part = fiedler_partition(edges, dec.n_regions, weighting="facet", facet_volumes=vols)
    assert part.edge_weights.mean() == pytest.approx(1.0)
    cut = cut_facets(K, part.side)
    assert 0 < len(cut) < len(cells)
    X = rng.uniform(-1, 1, (200, 2))
    pd = fiedler_partition(dec.dual_graph, weighting="data", point_regions=dec.locate(X))
    assert pd.mass.sum() == dec.n_regions + np.count_nonzero(dec.locate(X) >= 0)


def test_cut_agreement_and_hausdorff_closed_forms():
    side = np.array([True, False, True])
    pos = np.array([1.0, 0.0, 0.5])
    neg = np.array([0.0, 2.0, 0.5])
    assert cut_agreement(side, pos, neg) == pytest.approx(3.5 / 4)
    assert cut_agreement(~side, pos, neg) == pytest.approx(3.5 / 4)  # label swap
    # kappa: p = 2/4 (area of side True), q = 1.5/4 (positive), a = 3.5/4, E = p q + (1-p)(1-q)
    p, q = 2 / 4, 1.5 / 4
    E = p * q + (1 - p) * (1 - q)
    assert cut_kappa(side, pos, neg) == pytest.approx((3.5 / 4 - E) / (1 - E))
    assert cut_kappa(~side, pos, neg) == pytest.approx((3.5 / 4 - E) / (1 - E))
    # one side covering everything: raw agreement is the larger class fraction, kappa is 0
    assert cut_agreement(np.ones(3, bool), pos, neg) == pytest.approx(2.5 / 4)
    assert cut_kappa(np.ones(3, bool), pos, neg) == pytest.approx(0.0)
    # an independent split (half of each class on each side) has kappa 0
    assert cut_kappa(np.array([True, False]), np.array([1.0, 1.0]), np.array([3.0, 3.0])) == pytest.approx(0.0)
    P = np.array([[0.0, 0.0], [1.0, 0.0]])
    Q = np.array([[0.0, 1.0], [1.0, 3.0]])
    assert hausdorff_distance(P, Q) == pytest.approx(3.0)
    assert np.isnan(hausdorff_distance(P, np.zeros((0, 2))))


def test_errors_name_the_argument():
    E = path_edges(4)
    with pytest.raises(SpectralError, match="weighting must be"):
        fiedler_partition(E, 4, weighting="mass")
    with pytest.raises(SpectralError, match="point_regions"):
        fiedler_partition(E, 4, weighting="data")
    with pytest.raises(SpectralError, match="facet_volumes"):
        fiedler_partition(E, 4, weighting="facet")
    with pytest.raises(SpectralError, match="facet_volumes"):
        fiedler_partition(E, 4, weighting="facet", facet_volumes=[1.0, 0.0, 1.0])
    with pytest.raises(SpectralError, match="disconnected"):
        fiedler_partition(np.array([(0, 1), (2, 3)]), 4, weighting="unweighted")
    with pytest.raises(SpectralError, match="n_nodes"):
        fiedler_partition(E, weighting="unweighted")
    with pytest.raises(SpectralError, match="outside"):
        laplacian(np.array([(0, 7)]), 4)
    with pytest.raises(SpectralError, match="region"):
        region_mass(3, [0, 5])
