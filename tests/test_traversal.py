"""Tests for relutopo.traversal (Liu et al. Alg. 2) against the engine and brute force (Alg. 1)."""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from relutopo.decompose import decompose
from relutopo.domains import Box
from relutopo.papers.liu.models import liu_target, neighbour_bit_violations
from relutopo.nets import ReluNet
from relutopo.traversal import traverse


def _net(seed, widths, d=2):
    rng = np.random.default_rng(seed)
    sizes = [d, *widths, 1]
    W = [rng.normal(size=(sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    b = [rng.normal(size=sizes[i + 1]) for i in range(len(sizes) - 1)]
    return ReluNet.from_weights(W, b)


def _set(P):
    return {row.tobytes() for row in P}


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), widths=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       box=st.booleans())
def test_traversal_finds_the_engine_regions(seed, widths, box):
    net = _net(seed, widths)
    dom = Box(-2.0, 2.0, dim=2) if box else None
    start = np.random.default_rng(seed).uniform(-1, 1, 2)
    tr = traverse(net, dom, start=start)
    dec = decompose(net, dom)
    assert tr.n_regions == dec.n_regions
    assert _set(tr.packed_patterns) == _set(dec.packed_patterns)


def test_one_hidden_layer_closed_form_count():
    """n generic lines in R^2 make 1 + n + C(n, 2) regions; Alg. 2 must find all of them."""
    net = _net(3, [7])
    assert traverse(net).n_regions == 1 + 7 + 21
    assert decompose(net, None, method="brute").n_regions == 29


def test_duplicate_hyperplanes_use_the_evaluation_fallback():
    """Two neurons with the same hyperplane: flipping one bit alone gives an empty cell."""
    W1 = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    net = ReluNet.from_weights([W1, np.ones((1, 3))], [np.array([0.5, 1.0, 0.0]), np.zeros(1)])
    tr = traverse(net, start=[0.3, 0.2])
    assert tr.n_regions == 4 and tr.n_fallback >= 1
    assert _set(tr.packed_patterns) == _set(decompose(net, None).packed_patterns)


def test_bad_start_points():
    net = _net(0, [3])
    with pytest.raises(ValueError, match="not inside the domain"):
        traverse(net, Box(-1, 1, dim=2), start=[3.0, 0.0])
    with pytest.raises(ValueError, match="finite point"):
        traverse(net, start=[0.0])
    edge = ReluNet.from_weights([np.array([[1.0, 0.0]]), np.ones((1, 1))], [np.zeros(1), np.zeros(1)])
    with pytest.raises(ValueError, match="hyperplane"):
        traverse(edge, start=[0.0, 0.5])


def test_liu_targets_and_violation_counter():
    X = np.array([[0.0, 0.0], [1.0, -1.0]])
    np.testing.assert_allclose(liu_target(11, X), [-2 / 3, 2 - 2 / 3])
    np.testing.assert_allclose(liu_target(12, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0]])), [1.0, 5.0])
    with pytest.raises(ValueError, match="model must be 11 or 12"):
        liu_target(13, X)
    fake = SimpleNamespace(patterns=np.array([[1, 0, 0], [0, 0, 0], [0, 1, 1]], dtype=bool),
                           edges=np.array([[0, 1], [1, 2]]), edge_neuron=np.array([0, 1]))
    out = neighbour_bit_violations(fake)
    assert out["edges"] == 2 and out["violations"] == 1 and out["examples"] == [(1, 2, 1, [1, 2])]
    assert out["hamming_one_pairs"] == 1 and out["one_bit_not_adjacent"] == 0
