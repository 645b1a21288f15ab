"""Tests for relutopo.homology: barcodes against MSTs, brute-force GF(2) homology, closed forms."""

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import pdist, squareform

from relutopo.homology import (barcodes, betti_numbers, check_distance_matrix, combine_distances,
                               long_bar_counts)


def _rank_gf2(M):
    M = M.copy() % 2
    rank, rows, cols = 0, M.shape[0], M.shape[1]
    for c in range(cols):
        pivot = next((r for r in range(rank, rows) if M[r, c]), None)
        if pivot is None:
            continue
        M[[rank, pivot]] = M[[pivot, rank]]
        for r in range(rows):
            if r != rank and M[r, c]:
                M[r] ^= M[rank]
        rank += 1
    return rank


def _betti_brute(D, eps, maxdim):
    """Betti numbers over GF(2) of the clique complex of {D_ij <= eps}, by boundary-matrix ranks."""
    n = len(D)
    simplices = [[(i,) for i in range(n)]]
    for k in range(1, maxdim + 2):
        simplices.append([s for s in itertools.combinations(range(n), k + 1)
                          if all(D[a, b] <= eps for a, b in itertools.combinations(s, 2))])
    ranks = [0]
    for k in range(1, maxdim + 2):
        index = {s: i for i, s in enumerate(simplices[k - 1])}
        B = np.zeros((len(simplices[k - 1]), len(simplices[k])), dtype=np.uint8)
        for j, s in enumerate(simplices[k]):
            for face in itertools.combinations(s, k):
                B[index[face], j] = 1
        ranks.append(_rank_gf2(B) if B.size else 0)
    return np.array([len(simplices[k]) - ranks[k] - ranks[k + 1] for k in range(maxdim + 1)])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 7), seed=st.integers(0, 10_000), maxdim=st.integers(0, 2))
def test_betti_numbers_match_brute_force_simplicial_homology(n, seed, maxdim):
    """Integer (Hamming-like) distances with many ties; eps at and between the distance values."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, 6))
    D = (bits[:, None, :] != bits[None, :, :]).sum(axis=2).astype(float)
    # duplicate points give zero off-diagonal distances, which must be handled too
    bc = barcodes(D, maxdim=maxdim)
    for eps in [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]:
        np.testing.assert_array_equal(betti_numbers(bc, eps), _betti_brute(D, eps, maxdim))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), dim=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_h0_deaths_are_minimum_spanning_tree_edges(n, dim, seed):
    X = np.random.default_rng(seed).normal(size=(n, dim))
    D = squareform(pdist(X))
    bc = barcodes(D, maxdim=0)
    h0 = bc[0]
    assert np.sum(np.isinf(h0[:, 1])) == 1
    deaths = np.sort(h0[np.isfinite(h0[:, 1]), 1])
    mst = np.sort(minimum_spanning_tree(D).data)
    np.testing.assert_allclose(deaths, mst, rtol=1e-6)
    np.testing.assert_array_equal(h0[:, 0], 0.0)


def test_four_cycle_has_one_loop_from_one_to_two():
    D = np.array([[0, 1, 2, 1], [1, 0, 1, 2], [2, 1, 0, 1], [1, 2, 1, 0]], dtype=float)
    bc = barcodes(D, maxdim=1)
    np.testing.assert_array_equal(bc[1], [[1.0, 2.0]])
    assert bc.scale == 2.0
    assert bc.betti(1.0).tolist() == [1, 1] and bc.betti(2.0).tolist() == [1, 0]


def _circle(n, r=1.0, c=(0.0, 0.0)):
    t = 2 * np.pi * np.arange(n) / n
    return np.column_stack([c[0] + r * np.cos(t), c[1] + r * np.sin(t)])


def test_long_bars_circle_two_circles_and_torus():
    D = squareform(pdist(_circle(40)))
    assert long_bar_counts(barcodes(D, 1)) == (1, 1)
    two = np.vstack([_circle(30), _circle(30, c=(6.0, 0.0))])
    assert long_bar_counts(barcodes(squareform(pdist(two)), 1)) == (2, 2)
    t = 2 * np.pi * np.arange(10) / 10
    t1, t2 = (a.ravel() for a in np.meshgrid(t, t))
    torus = np.column_stack([np.cos(t1), np.sin(t1), np.cos(t2), np.sin(t2)])
    bc = barcodes(squareform(pdist(torus)), 2)
    assert bc.n_long(1) == 2 and bc.n_long(2) == 1


@settings(max_examples=15, deadline=None)
@given(n=st.integers(5, 25), seed=st.integers(0, 1000), c=st.floats(1e-3, 1e3),
       fraction=st.floats(0.05, 1.0))
def test_long_bar_rule_is_scale_free(n, seed, c, fraction):
    X = np.random.default_rng(seed).normal(size=(n, 3))
    D = squareform(pdist(X))
    a, b = barcodes(D, 1), barcodes(c * D, 1)
    lengths = np.concatenate([a.lengths(k) for k in range(2)])
    assume(not np.any(np.isclose(lengths, fraction * a.scale, rtol=1e-4)))
    assert long_bar_counts(a, fraction) == long_bar_counts(b, fraction)
    np.testing.assert_allclose(b[1], c * a[1], rtol=1e-5)


def test_threshold_and_infinite_bars():
    D = squareform(pdist(_circle(20)))
    bc = barcodes(D, 1, thresh=1.0)
    assert np.isinf(bc[1][0, 1])  # the loop never dies below thresh
    assert bc.n_long(1) == 1
    with pytest.raises(ValueError, match="beyond the filtration threshold"):
        bc.betti(1.5)


def test_combine_distances():
    rng = np.random.default_rng(0)
    A = squareform(pdist(rng.normal(size=(6, 2))))
    B = squareform(pdist(rng.normal(size=(6, 2))))
    G3, G4 = combine_distances([A, B], "max"), combine_distances([A, B], "min")
    for i, j in itertools.product(range(6), repeat=2):
        assert G3[i, j] == max(A[i, j], B[i, j]) and G4[i, j] == min(A[i, j], B[i, j])
    with pytest.raises(ValueError, match="how must be"):
        combine_distances([A, B], "mean")
    with pytest.raises(ValueError, match="differ in shape"):
        combine_distances([A, B[:5, :5]], "max")


@pytest.mark.parametrize("D, match", [
    (np.zeros((2, 3)), "square"),
    (np.array([[0, 1], [2, 0]]), "not symmetric"),
    (np.array([[0, -1], [-1, 0]]), "negative"),
    (np.array([[0, np.nan], [np.nan, 0]]), "NaN"),
    (np.array([[1, 1], [1, 0]]), "hollow"),
    (np.zeros((0, 0)), "empty"),
])
def test_bad_distance_matrices(D, match):
    with pytest.raises(ValueError, match=match):
        check_distance_matrix(D)
    with pytest.raises(ValueError, match=match):
        barcodes(D)


def test_bad_arguments():
    D = squareform(pdist(_circle(5)))
    with pytest.raises(ValueError, match="coeff"):
        barcodes(D, coeff=4)
    with pytest.raises(ValueError, match="maxdim"):
        barcodes(D, maxdim=-1)
    with pytest.raises(ValueError, match="fraction"):
        barcodes(D).n_long(1, fraction=0)
    with pytest.raises(ValueError, match="epsilon"):
        barcodes(D).betti(-1)
