"""Tests of relutopo.papers.beshkov.nested: the generated data have the topology they claim."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from relutopo.papers.beshkov.nested import (
    NESTED_BETTI, NESTED_GEOMETRY, concentric_spheres, nested_class_betti, nested_dataset,
    self_intersecting_curve, xor_blobs,
)
from relutopo.relative import betti_at, knn_geodesic_distances, rips_barcodes


def _segment_crossings(P):
    """Brute force: proper crossings of the non-adjacent segments of a polyline."""
    out = []
    for i in range(len(P) - 1):
        for j in range(i + 2, len(P) - 1):
            p, r = P[i], P[i + 1] - P[i]
            q, s = P[j], P[j + 1] - P[j]
            den = r[0] * s[1] - r[1] * s[0]
            if den == 0:
                continue
            u = ((q - p)[0] * s[1] - (q - p)[1] * s[0]) / den
            v = ((q - p)[0] * r[1] - (q - p)[1] * r[0]) / den
            if 0 <= u < 1 and 0 <= v < 1:
                out.append((i, j))
    return out


@pytest.mark.parametrize("n_loops", [1, 2, 3])
def test_curve_has_exactly_n_loops_crossings(n_loops):
    s, Y, cross = self_intersecting_curve(600, n_loops)
    assert s.shape == (600, 1) and Y.shape == (600, 2)
    assert np.all(np.abs(Y) <= 1 + 1e-12)
    assert len(_segment_crossings(Y)) == n_loops  # brute force on the dense polyline
    # the returned parameters are crossings of the exact curve, pairwise distinct
    _, Yc, _ = self_intersecting_curve(0 + 2, n_loops, s=cross.reshape(-1))
    assert np.allclose(Yc[0::2], Yc[1::2], atol=1e-9)
    assert np.all(np.abs(cross[:, 0] - cross[:, 1]) > 0.1)


def test_curve_rejects_bad_lambda():
    with pytest.raises(ValueError, match="lam"):
        self_intersecting_curve(10, 2, lam=0.5)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_concentric_spheres_radii_and_labels(dim):
    X, y = concentric_spheres(50, dim, seed=1)
    assert X.shape == (200, dim + 1)
    r = np.linalg.norm(X, axis=1)
    assert np.allclose(np.sort(np.unique(np.round(r[y == 0], 9))), [1.0, 2.0])
    assert np.allclose(np.sort(np.unique(np.round(r[y == 1], 9))), [1.5, 2.5])
    assert np.bincount(y).tolist() == [100, 100]
    X2, y2 = concentric_spheres(50, dim, seed=1)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_circles_have_the_homology_of_two_circles():
    X, y = concentric_spheres(150, 1, seed=0)
    Xa = X[y == 0]
    assert list(betti_at(rips_barcodes(cdist(Xa, Xa), 1), 0.8)) == [2, 2]


@pytest.mark.parametrize("name,m", [("D-I", 30), ("D-II", 90), ("D-III", 90)])
def test_nested_betti_numbers_in_naitzat_metric(name, m):
    """The tracked class has the construction's Betti numbers with the author's k and eps."""
    ds = nested_dataset(name, m, seed=0)
    assert nested_class_betti(ds.X[ds.y == 1], name) == NESTED_BETTI[name]


def test_nested_metric_can_fail():
    """Too few points per D-III sphere: beta_2 is not seen (the check is not vacuous)."""
    ds = nested_dataset("D-III", 40, seed=0)
    assert nested_class_betti(ds.X[ds.y == 1], "D-III")[2] != 9


def test_nested_geometry_d3():
    g = NESTED_GEOMETRY["D-III"]
    ds = nested_dataset("D-III", 50, seed=2)
    mid = ds.X[ds.y == 1]
    other = ds.X[ds.y == 0]
    r_mid = cdist(mid, ds.centers).min(axis=1)
    r_other = cdist(other, ds.centers).min(axis=1)
    assert r_mid.min() >= g["middle"][0] - 1e-12 and r_mid.max() <= g["middle"][1] + 1e-12
    inner = r_other < 0.15
    assert r_other[inner].max() <= g["inner"][1] + 1e-12 and r_other[inner].min() >= g["inner"][0] - 1e-12
    assert r_other[~inner].min() >= g["outer"][0] - 1e-12 and r_other[~inner].max() <= g["outer"][1] + 1e-12
    # nine components: each point's nearest centre splits the middle spheres into nine equal groups
    near = cdist(mid, ds.centers).argmin(axis=1)
    assert np.bincount(near, minlength=9).tolist() == [50] * 9
    assert ds.betti == (9, 0, 9)
    assert np.all(np.abs(ds.X) <= 1.05)  # the outer spheres of the corners reach 0.6 + 0.42


def test_nested_d1_geometry_and_balance():
    ds = nested_dataset("D-I", 20, seed=1)
    assert np.bincount(ds.y).tolist() == [180, 180]
    d = cdist(ds.X, ds.centers).min(axis=1)
    assert d[ds.y == 1].max() <= 1.35 + 1e-12 and d[ds.y == 0].min() > 1.75
    assert np.all(np.abs(ds.X) <= 10.0)


def test_nested_d2_linked_rings_are_disjoint():
    ds = nested_dataset("D-II", 80, seed=3)
    a, b = ds.X[ds.y == 1], ds.X[ds.y == 0]
    assert cdist(a, b).min() > 0.05  # cores 0.19 apart at least, tubes 0.05 thick


def test_xor_labels():
    X, y = xor_blobs(100, seed=4)
    assert np.array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))
    assert np.bincount(y).tolist() == [200, 200]


def test_bad_names():
    with pytest.raises(ValueError, match="D-IV"):
        nested_dataset("D-IV")
    with pytest.raises(ValueError, match="n_per_sphere"):
        concentric_spheres(0)
