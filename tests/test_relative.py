"""Tests of relutopo.relative: quotient metric, cone/quotient complexes, relative Betti numbers."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
import networkx as nx
from scipy.spatial.distance import cdist

from relutopo.relative import (
    betti_at, classes_from_labels, knn_geodesic_distances, quotient_barcodes,
    quotient_distance_matrix, relative_barcodes, relative_betti, rips_barcodes,
)


def circle(n, r=1.0):
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return r * np.c_[np.cos(th), np.sin(th)]


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_quotient_metric_equals_shortest_paths_with_free_jumps(seed, n_classes):
    """Second algorithm: Dijkstra on the complete graph plus zero-length edges inside classes."""
    rng = np.random.default_rng(seed)
    n = 25
    X = rng.standard_normal((n, 2))
    D = cdist(X, X)
    perm = rng.permutation(n)
    cuts = np.sort(rng.choice(np.arange(1, 12), size=n_classes, replace=False))
    classes = [perm[a:b] for a, b in zip(np.r_[0, cuts[:-1]], cuts) if b - a >= 1]
    q = quotient_distance_matrix(D, classes)
    Dq, lab = q.distances, q.labels
    G = nx.Graph()
    for i in range(n):
        for j in range(i + 1, n):
            G.add_edge(i, j, weight=D[i, j])
    for c in classes:
        for i in c:
            for j in c:
                if i < j:
                    G[i][j]["weight"] = 0.0
    S = nx.floyd_warshall_numpy(G, nodelist=range(n))
    assert np.allclose(Dq[np.ix_(lab, lab)], S, atol=1e-10)
    # metric axioms on the quotient
    assert np.allclose(Dq, Dq.T) and np.all(np.diag(Dq) == 0)
    assert np.all(Dq[:, :, None] <= Dq[:, None, :] + Dq.T[None, :, :] + 1e-12)


def test_segment_with_glued_ends_becomes_a_circle_in_both_methods():
    t = np.linspace(0, 1, 50)[:, None]
    D = cdist(t, t)
    cls = [np.r_[0, 1, 2, 47, 48, 49]]
    eps = 0.05
    assert list(betti_at(rips_barcodes(D, 1), eps)) == [1, 0]
    assert list(betti_at(quotient_barcodes(D, cls, 1), eps)) == [1, 1]
    for method in ("quotient", "cones"):
        assert list(relative_betti(D, cls, eps, 1, method=method)) == [1, 1]
    # one class: relative homology H_k(K, A) = reduced homology of the quotient
    assert list(relative_betti(D, cls, eps, 1, method="relative")) == [0, 1]


def test_folded_circle_quotient_vs_cones():
    """x ~ mirror(x) pairs: the quotient is an arc; separate cones keep each pair's 2-gon."""
    X = circle(60)
    D = cdist(X, X)
    pairs = [np.array([i, 60 - i]) for i in range(1, 30)]
    eps = 0.2
    assert list(betti_at(quotient_barcodes(D, pairs, 1), eps)) == [1, 0]
    assert list(relative_betti(D, pairs, eps, 1, method="quotient")) == [1, 0]
    # cones on two-point classes glue vertices but not the edges between them: 29 extra loops
    assert list(relative_betti(D, pairs, eps, 1, method="cones")) == [1, 30]


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_quotient_and_relative_agree_for_one_arc_class(seed):
    """Collapsing one arc of a circle (a contractible class) keeps the circle: (a) = (b) = (b-rel)+."""
    rng = np.random.default_rng(seed)
    n = 48
    X = circle(n, r=1.0 + rng.random())
    D = cdist(X, X)
    start = int(rng.integers(0, n))
    length = int(rng.integers(2, n // 2))
    cls = [np.sort((start + np.arange(length)) % n)]
    eps = 1.5 * D[0, 1]
    a = betti_at(quotient_barcodes(D, cls, 1), eps)
    b = relative_betti(D, cls, eps, 1, method="quotient")
    rel = relative_betti(D, cls, eps, 1, method="relative")
    assert list(a) == list(b) == [1, 1]
    assert list(rel) == [0, 1]  # H_0(K, A) = 0 (A meets the only component)


def test_two_components_glued():
    """Two circles far apart, one point of each glued: wedge of two circles."""
    X = np.vstack([circle(40), circle(40) + [10.0, 0]])
    D = cdist(X, X)
    cls = [np.array([0, 60])]
    eps = 0.3
    assert list(betti_at(rips_barcodes(D, 1), eps)) == [2, 2]
    assert list(betti_at(quotient_barcodes(D, cls, 1), eps)) == [1, 2]
    assert list(relative_betti(D, cls, eps, 1)) == [1, 2]
    assert list(relative_betti(D, cls, eps, 1, method="cones")) == [1, 2]


def test_relative_barcodes_of_circle_have_one_long_h1_bar():
    X = circle(30)
    D = cdist(X, X)
    dg = relative_barcodes(D, [], 2.5, 1)
    ours = betti_at(dg, 0.5)
    assert list(ours) == list(betti_at(rips_barcodes(D, 1), 0.5)) == [1, 1]


def test_betti_at_counts_half_open_bars():
    dgs = [np.array([[0, np.inf], [0, 1.0]]), np.array([[0.5, 2.0]])]
    assert list(betti_at(dgs, 0.0)) == [2, 0]
    assert list(betti_at(dgs, 1.0)) == [1, 1]
    assert list(betti_at(dgs, 2.0)) == [1, 0]


def test_knn_geodesic_hops():
    X = np.arange(10.0)[:, None]
    D = knn_geodesic_distances(X, 1)
    assert np.array_equal(D, np.abs(np.subtract.outer(np.arange(10), np.arange(10))))
    Y = np.r_[np.arange(5.0), 100 + np.arange(5.0)][:, None]
    assert np.isinf(knn_geodesic_distances(Y, 2)[0, 9])
    # unreachable pairs never connect: two components
    assert betti_at(rips_barcodes(knn_geodesic_distances(Y, 2), 0), 3)[0] == 2


def test_classes_from_labels():
    cl = classes_from_labels([-1, 0, 1, 0, -1, 1])
    assert [list(c) for c in cl] == [[1, 3], [2, 5]]


def test_bad_input_messages():
    D = cdist(circle(5), circle(5))
    with pytest.raises(ValueError, match="square"):
        quotient_distance_matrix(np.zeros((3, 4)), [])
    with pytest.raises(ValueError, match="disjoint"):
        quotient_distance_matrix(D, [[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="out of range"):
        quotient_distance_matrix(D, [[0, 9]])
    with pytest.raises(ValueError, match="eps"):
        betti_at([np.zeros((0, 2))], -1.0)
    with pytest.raises(ValueError, match="method"):
        relative_betti(D, [], 0.5, 1, method="nope")
    with pytest.raises(ValueError, match="symmetric"):
        rips_barcodes(np.triu(D), 1)
    with pytest.raises(ValueError, match="k must be"):
        knn_geodesic_distances(circle(5), 5)
