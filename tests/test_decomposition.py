"""The Decomposition result: lookups, locate, affine maps, regions and storage."""

from __future__ import annotations

import numpy as np
import pytest

from relutopo.decompose import decompose
from relutopo.domains import Box
from relutopo.patterns import unpack_bits
from conftest import random_net


@pytest.fixture(scope="module")
def dec2():
    return decompose(random_net((2, 7, 7, 1), 1), Box(-1.0, 1.0, dim=2))


@pytest.fixture(scope="module")
def dec3_rd():
    return decompose(random_net((3, 5, 5, 2), 2))


def test_counts_and_shapes(dec2, dec3_rd):
    for dec in (dec2, dec3_rd):
        n = dec.n_regions
        assert dec.patterns.shape == (n, dec.net.n_hidden)
        assert dec.packed_patterns.shape == (n, (dec.net.n_hidden + 7) // 8)
        assert dec.interior_points.shape == (n, dec.dim)
        assert dec.n_bounded + dec.n_unbounded == n
        assert sorted(dec.dual_graph.nodes) == list(range(n))
    assert dec2.n_bounded == dec2.n_regions
    assert 0 < dec3_rd.n_bounded < dec3_rd.n_regions


def test_index_of_bool_and_packed(dec2):
    for i in (0, dec2.n_regions // 2, dec2.n_regions - 1):
        assert dec2.index_of(dec2.patterns[i]) == i
        assert dec2.index_of(dec2.packed_patterns[i]) == i
    missing = np.ones(dec2.net.n_hidden, dtype=bool)
    if missing.tobytes() not in {p.tobytes() for p in dec2.patterns}:
        with pytest.raises(KeyError):
            dec2.index_of(missing)
    with pytest.raises(ValueError, match="bits"):
        dec2.index_of(np.ones(3, dtype=bool))


def test_locate(dec2):
    X = dec2.interior_points
    assert np.array_equal(dec2.locate(X), np.arange(dec2.n_regions))
    assert dec2.locate([[5.0, 0.0]])[0] == -1  # outside the box
    # a point on a first-layer hyperplane is on a boundary
    w, b = dec2.net.weights[0][0], dec2.net.biases[0][0]
    t = -b / (w @ w)
    p = t * w
    if np.all(np.abs(p) < 1):
        assert dec2.locate(p[None])[0] == -1
    # random points: locate agrees with pattern lookup
    Y = Box(-1, 1, dim=2).sample(500, seed=0)
    loc = dec2.locate(Y)
    assert np.all(loc >= 0)
    assert np.array_equal(dec2.packed_patterns[loc], dec2.net.patterns(Y))


def test_affine_map_matches_forward(dec3_rd):
    net = dec3_rd.net
    rng = np.random.default_rng(0)
    for i in range(0, dec3_rd.n_regions, 7):
        A, c = dec3_rd.affine_map(i)
        x = dec3_rd.interior_points[i]
        r = dec3_rd.chebyshev_radii[i]
        pts = x + 0.5 * r * rng.uniform(-1, 1, (5, 3)) / np.sqrt(3)
        assert np.allclose(pts @ A.T + c, net.forward(pts), atol=1e-10)


def test_region_geometry(dec2):
    for i in range(dec2.n_regions):
        reg = dec2.region(i)
        assert np.array_equal(reg.pattern, dec2.patterns[i])
        assert reg.contains(reg.interior_point[None])[0]
        slack = reg.c - reg.A @ reg.interior_point
        assert np.min(slack / np.linalg.norm(reg.A, axis=1)) == pytest.approx(reg.chebyshev_radius, rel=1e-6)
        # every vertex is on >= 2 facets and satisfies all of them
        s = reg.vertices @ reg.A.T - reg.c
        assert np.all(s <= 1e-9)
        assert np.all(np.sum(np.abs(s) <= 1e-9, axis=1) >= 2)
        # every facet carries >= 2 vertices (it is an edge of the polygon)
        assert np.all(np.sum(np.abs(s) <= 1e-9, axis=0) >= 2)


def test_edges_have_matching_facets(dec2):
    for (a, b), k in zip(dec2.edges, dec2.edge_neuron):
        assert k in dec2.facet_neurons(int(a)) and k in dec2.facet_neurons(int(b))


def test_region_index_errors(dec2):
    with pytest.raises(IndexError, match="region index"):
        dec2.region(dec2.n_regions)
    with pytest.raises(IndexError):
        dec2.affine_map(1.5)


def test_storage_is_compact():
    dec = decompose(random_net((2, 16, 16, 1), 0), Box(-1, 1, dim=2))
    per_region = dec.nbytes / dec.n_regions
    assert per_region < 400  # packed bits + centre + facet ids + edges, no halfspace copies
    assert np.array_equal(unpack_bits(dec.packed_patterns, dec.net.n_hidden), dec.patterns)


def test_repr_and_stats(dec2):
    assert "regions" in repr(dec2)
    assert dec2.stats["method"] == "polygon"  # auto picks exact polygon clipping for d = 2 boxes
    assert dec2.stats["unmatched_facets"] == 0
    assert dec2.stats["lp_seconds"] <= dec2.stats["seconds"]
