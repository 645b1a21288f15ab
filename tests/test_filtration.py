"""Tests of Betti curves of filtered cell complexes (relutopo.filtration).

Ground truth: gudhi persistence on a simplicial subdivision (an independent algorithm), the
homology of a box (contractible) and of an annulus of squares (one loop), GF(2) ranks by a
separate dense elimination, and the order-independence theorem of the module docstring.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from relutopo.complex import cell_complex, cell_complex_from_halfspaces
from relutopo.decompose import decompose
from relutopo.domains import Box
from relutopo.filtration import (FiltrationError, _gf2_rank, betti_curve, betti_curve_gudhi,
                                 betti_curves, betti_numbers, check_order, cycle_ranks,
                                 filtration_order)
from relutopo.nets import ReluNet

SETTINGS = dict(max_examples=8, deadline=None)


def net_complex(seed, d, sizes):
    rng = np.random.default_rng(seed)
    dims = [d, *sizes, 1]
    net = ReluNet.from_weights([rng.normal(size=(dims[i + 1], dims[i])) for i in range(len(dims) - 1)],
                               [rng.normal(size=dims[i + 1]) * 0.5 for i in range(len(dims) - 1)])
    return cell_complex(decompose(net, Box(-1, 1, dim=d)))


def square(x0, y0, s=1.0):
    """Halfspaces of the square [x0, x0+s] x [y0, y0+s]."""
    return (np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]]), np.array([x0 + s, -x0, y0 + s, -y0]))


def annulus():
    """Eight unit squares around the missing centre of a 3 x 3 grid: homotopic to a circle."""
    sq = [square(i, j) for i in range(3) for j in range(3) if (i, j) != (1, 1)]
    return cell_complex_from_halfspaces(sq, Box([0, 0], [3, 3]))


def dense_gf2_rank(M):
    M = (np.array(M, dtype=np.uint8) % 2).copy()
    r = 0
    rows, cols = M.shape
    for c in range(cols):
        piv = [i for i in range(r, rows) if M[i, c]]
        if not piv:
            continue
        M[[r, piv[0]]] = M[[piv[0], r]]
        for i in range(rows):
            if i != r and M[i, c]:
                M[i] ^= M[r]
        r += 1
    return r


# ----------------------------------------------------------------------------- homology
def test_box_is_acyclic_and_annulus_has_one_loop():
    K = net_complex(1, 2, [6, 4])
    assert betti_numbers(K).tolist() == [1, 0, 0]
    A = annulus()
    assert A.f_vector.tolist() == [16, 24, 8]
    assert A.euler_characteristic == 0
    assert betti_numbers(A).tolist() == [1, 1, 0]
    assert betti_curve(A).betti[-1].tolist() == [1, 1, 0]
    assert not A.check()["facets_two_sided"]  # the inner boundary is not on the box


@given(seed=st.integers(0, 10**6))
@settings(**SETTINGS)
def test_gf2_rank_against_dense_elimination(seed):
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    M = (rng.random((rng.integers(1, 9), rng.integers(1, 9))) < 0.4).astype(np.uint8)
    assert _gf2_rank(sp.csr_matrix(M)) == dense_gf2_rank(M)


@given(seed=st.integers(0, 10**6), d=st.sampled_from([2, 3]),
       kind=st.sampled_from(["random", "lower_star", "dimension"]))
@settings(**SETTINGS)
def test_betti_curve_matches_gudhi_on_subdivision(seed, d, kind):
    K = net_complex(seed, d, [4, 3] if d == 2 else [3, 2])
    order = filtration_order(K, kind, seed=seed)
    ours = betti_curve(K, order).betti
    np.testing.assert_array_equal(ours, betti_curve_gudhi(K, order))


def test_betti_curve_matches_gudhi_on_annulus():
    A = annulus()
    for s in range(3):
        order = filtration_order(A, "random", seed=s)
        np.testing.assert_array_equal(betti_curve(A, order).betti, betti_curve_gudhi(A, order))


# ----------------------------------------------------------------------------- the f-vector theorem
@given(seed=st.integers(0, 10**6), d=st.sampled_from([2, 3]),
       kind=st.sampled_from(["random", "lower_star"]))
@settings(**SETTINGS)
def test_positive_cells_are_cycle_ranks_for_every_order(seed, d, kind):
    K = net_complex(seed, d, [5, 4] if d == 2 else [3, 3])
    z = cycle_ranks(K)
    bc = betti_curve(K, filtration_order(K, kind, seed=seed))
    positives = np.bincount(bc.dims[bc.positive], minlength=d + 1)
    assert positives.tolist() == z.tolist()
    assert bc.f_vector().tolist() == K.f_vector.tolist()  # read off the curve's steps
    assert np.all(bc.maxima <= z)
    assert bc.betti[-1].tolist() == [1] + [0] * d


@given(seed=st.integers(0, 10**6), d=st.sampled_from([2, 3]))
@settings(**SETTINGS)
def test_dimension_order_maxima_reveal_f_vector(seed, d):
    K = net_complex(seed, d, [5, 4] if d == 2 else [3, 3])
    f = K.f_vector
    bc = betti_curve(K, filtration_order(K, "dimension", seed=seed))
    assert bc.maxima[0] == f[0]
    assert bc.maxima[d - 1] == f[d]  # Euler's relation for a box
    # z_k = sum_{j<=k} (-1)^{k-j} f_j - (-1)^k for k >= 1
    for k in range(1, d):
        alt = sum((-1) ** (k - j) * int(f[j]) for j in range(k + 1)) - (-1) ** k
        assert bc.maxima[k] == alt


def test_random_orders_maxima_below_f_vector_and_averaging():
    K = net_complex(4, 2, [8, 8])
    curves = betti_curves(K, 6, kind="random", seed=3)
    assert curves.shape == (6, K.n_cells + 1, 3)
    assert np.all(curves.max(axis=1)[:, 0] < K.f_vector[0])
    again = betti_curves(K, 3, kind="random", seed=3)
    np.testing.assert_array_equal(curves[:3], again)  # order i does not depend on n_orders


# ----------------------------------------------------------------------------- orders and errors
@given(seed=st.integers(0, 10**6), kind=st.sampled_from(["random", "lower_star", "dimension"]))
@settings(**SETTINGS)
def test_orders_are_face_respecting_permutations(seed, kind):
    K = net_complex(seed % 97, 2, [4, 3])
    order = filtration_order(K, kind, seed=seed)
    check_order(K, order)
    assert sorted(order.tolist()) == list(range(K.n_cells))
    np.testing.assert_array_equal(order, filtration_order(K, kind, seed=seed))


def test_bad_orders_and_arguments():
    K = net_complex(0, 2, [3])
    order = filtration_order(K, "dimension")
    bad = order[::-1].copy()
    with pytest.raises(FiltrationError, match="face-respecting"):
        betti_curve(K, bad)
    with pytest.raises(FiltrationError, match="permutation"):
        betti_curve(K, np.zeros(K.n_cells, dtype=int))
    with pytest.raises(FiltrationError, match="length"):
        betti_curve(K, order[:-1])
    with pytest.raises(FiltrationError, match="seed"):
        filtration_order(K, "random")
    with pytest.raises(FiltrationError, match="kind"):
        filtration_order(K, "height", seed=0)
    with pytest.raises(FiltrationError, match="n_orders"):
        betti_curves(K, 0)
