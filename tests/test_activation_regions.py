"""Wang's Intersect/Add/Cut propagation (relutopo.activation_regions).

Ground truth: the closed form (1.2) for one hidden layer, dense sampling (every sampled pattern
must be found; every region found must be realised by its own interior point), the network's
forward pass for the values, invariances (rescaling, neuron permutation), and -- the main
check -- the traversal engine (relutopo.decompose) finding exactly the same set of patterns.
"""

from dataclasses import replace
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from relutopo.activation_regions import (
    Geometry, add, cut, intersect, propagate, whole_space)
from relutopo.nets import ReluNet
from conftest import random_net

ARRANGEMENTS_R7 = [(8, 2), (7, 3), (5, 5), (5, 3, 2), (4, 3, 3), (3, 3, 2, 2), (2, 2, 2, 2, 2)]


def pattern_set(patterns):
    return {bytes(np.packbits(p)) for p in np.asarray(patterns, dtype=bool)}


def sampled_patterns(net, seed, n=40000, spread=(1.0, 4.0, 20.0)):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(size=(n, net.input_dim)) * s for s in spread])
    return pattern_set(net.bits(X))


# ----------------------------------------------------------------------------- closed forms
@settings(max_examples=15, deadline=None)
@given(M=st.integers(1, 5), n=st.integers(1, 7), seed=st.integers(0, 10_000))
def test_one_hidden_layer_matches_eq_1_2(M, n, seed):
    net = random_net([M, n, 1], seed)
    res = propagate(net)
    assert res.n_regions == sum(comb(n, i) for i in range(M + 1))
    assert len(pattern_set(res.patterns)) == res.n_regions


def test_always_active_second_layer_keeps_first_layer_count():
    # layer 2 = relu(h1) + 1 > 0 everywhere: the second layer never cuts, count = eq. (1.2)
    rng = np.random.default_rng(3)
    M, n = 3, 6
    W1, b1 = rng.uniform(-1, 1, (n, M)), rng.uniform(-1, 1, n)
    net = ReluNet.from_weights([W1, np.eye(n), np.ones((1, n))], [b1, np.ones(n), [0.0]])
    res = propagate(net)
    assert res.n_regions == sum(comb(n, i) for i in range(M + 1))
    assert np.all(res.patterns[:, n:])


def test_dead_network_has_one_region():
    net = ReluNet.from_weights([np.ones((2, 2)), -np.ones((2, 2)), np.ones((1, 2))],
                               [[0.5, -0.5], [-1.0, -2.0], [0.0]])
    res = propagate(net)
    # the second layer is dead everywhere: only the first layer's 3 regions remain
    assert res.n_regions == 3
    assert not res.patterns[:, 2:].any()
    assert np.allclose(res.maps, 0) and np.allclose(res.offsets, 0)


# ----------------------------------------------------------------------------- sampling + forward
@pytest.mark.parametrize("arch", ARRANGEMENTS_R7)
def test_regions_are_real_and_contain_all_sampled_patterns_r7(arch):
    net = random_net([7, *arch, 1], seed=hash(arch) % 1000)
    res = propagate(net)
    found = pattern_set(res.patterns)
    assert len(found) == res.n_regions, "a pattern was produced twice"
    assert sampled_patterns(net, 1, n=20000) <= found
    # every region's interior point realises its pattern, and the value is the network's output
    assert np.array_equal(net.bits(res.interior_points), res.patterns)
    out = net.forward(res.interior_points)
    pred = np.einsum("kom,km->ko", res.maps, res.interior_points) + res.offsets
    np.testing.assert_allclose(pred, out, rtol=1e-9, atol=1e-9)
    # the radius certifies a ball inside the shape
    for (A, b), x, r in zip(res.halfspaces, res.interior_points, res.radii):
        assert r > 0
        if len(A):
            assert np.all(b - A @ x >= r * (1 - 1e-9))


@settings(max_examples=10, deadline=None)
@given(M=st.integers(1, 3), widths=st.lists(st.integers(1, 4), min_size=2, max_size=3),
       seed=st.integers(0, 10_000))
def test_maps_match_network_affine_maps(M, widths, seed):
    net = random_net([M, *widths, 2], seed)
    res = propagate(net)
    assert sampled_patterns(net, seed, n=5000) <= pattern_set(res.patterns)
    for k in range(res.n_regions):
        A, c = net.affine_map(res.patterns[k])
        np.testing.assert_allclose(res.maps[k], A, atol=1e-12)
        np.testing.assert_allclose(res.offsets[k], c, atol=1e-12)


def test_shapes_are_exactly_the_pattern_polyhedra():
    # points drawn at random fall in exactly one shape, the one of their own pattern
    net = random_net([2, 4, 3, 1], seed=11)
    res = propagate(net, remove_redundant=True)
    X = np.random.default_rng(0).uniform(-6, 6, (4000, 2))
    bits = net.bits(X)
    inside = np.array([np.all(X @ A.T <= b + 1e-12, axis=1) for A, b in res.halfspaces])  # (n, pts)
    assert np.all(inside.sum(axis=0) == 1)
    idx = inside.argmax(axis=0)
    assert np.array_equal(res.patterns[idx], bits)


def test_remove_redundant_keeps_regions_and_leaves_only_facets():
    net = random_net([3, 5, 4, 1], seed=5)
    plain = propagate(net)
    pruned = propagate(net, remove_redundant=True)
    assert pattern_set(plain.patterns) == pattern_set(pruned.patterns)
    geo = Geometry(3)
    for A, b in pruned.halfspaces:
        for i in range(len(A)):
            assert not geo.is_redundant(A, b, i)


# ----------------------------------------------------------------------------- invariances
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), log_scale=st.floats(-3, 3))
def test_input_rescaling_does_not_change_regions(seed, log_scale):
    net = random_net([3, 4, 3, 1], seed)
    lam = 10.0 ** log_scale
    scaled = ReluNet.from_weights([net.weights[0] / lam, *net.weights[1:]], net.biases)
    a, b = propagate(net), propagate(scaled)
    assert pattern_set(a.patterns) == pattern_set(b.patterns)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_permuting_and_positively_rescaling_neurons(seed):
    rng = np.random.default_rng(seed)
    net = random_net([2, 4, 3, 1], seed)
    perm = rng.permutation(4)
    alpha = rng.uniform(0.1, 10, 4)
    W1 = net.weights[0][perm] * alpha[:, None]
    b1 = net.biases[0][perm] * alpha
    W2 = net.weights[1][:, perm] / alpha[None, :]
    other = ReluNet.from_weights([W1, W2, net.weights[2]], [b1, *net.biases[1:]])
    a, b = propagate(net), propagate(other)
    mapped = a.patterns.copy()
    mapped[:, :4] = a.patterns[:, perm]
    assert pattern_set(mapped) == pattern_set(b.patterns)


# ----------------------------------------------------------------------------- the operations
def test_cut_add_intersect_follow_the_definitions():
    geo = Geometry(2)
    R = whole_space(2, 2, geo)
    # first neuron x1 - 1: Cut gives {x1 <= 1} with value 0 and {x1 >= 1} with value x1 - 1
    c = replace(R, value=np.array([[1.0, 0.0, 0.0]]))
    parts = cut(add(c, -1.0), geometry=geo, bit=0)
    assert len(parts) == 2
    off = [p for p in parts if p.bits[0] == 0][0]
    on = [p for p in parts if p.bits[0] == 1][0]
    assert np.allclose(off.value, 0) and np.allclose(on.value, [[1.0, 0.0, -1.0]])
    assert np.allclose(off.A, [[1, 0]]) and np.allclose(off.b, [1])
    assert np.allclose(on.A, [[-1, 0]]) and np.allclose(on.b, [-1])
    # second neuron x2 + 2 cut inside {x1 >= 1}
    d = replace(on, value=np.array([[0.0, 1.0, 2.0]]))
    p2 = cut(d, geometry=geo, bit=1)
    assert len(p2) == 2
    # intersection with weights: value = 2 * V(on) + 3 * V(p)
    both = intersect((on, p2[0]), (2.0, 3.0), geometry=geo)
    assert both is not None
    assert np.allclose(both.value, 2 * on.value + 3 * p2[0].value)
    # opposite sides of one neuron have disjoint interiors
    assert intersect((on, off), geometry=geo) is None
    # a constant value is never cut: the neuron is on (t > 0) or off everywhere
    const = replace(R, value=np.array([[0.0, 0.0, 0.5]]))
    only = cut(const, geometry=geo, bit=0)
    assert len(only) == 1 and only[0].bits[0] == 1 and len(only[0].A) == 0


def test_cut_does_not_add_a_redundant_restriction():
    geo = Geometry(1)
    R = whole_space(1, 2, geo)
    left = cut(replace(R, value=np.array([[1.0, 0.0]])),
               geometry=geo, bit=0)
    half = [p for p in left if p.bits[0] == 0][0]          # {x <= 0}
    # x - 5 <= 0 everywhere on {x <= 0}: the region is unchanged, only the inactive bit is set
    v = replace(half, value=np.array([[1.0, -5.0]]))
    out = cut(v, geometry=geo, bit=1)
    assert len(out) == 1 and out[0].bits[1] == 0 and len(out[0].A) == 1


def test_bad_input_is_reported():
    with pytest.raises(TypeError, match="net must be a relutopo.ReluNet"):
        propagate([np.eye(2)])
    geo = Geometry(2)
    R = whole_space(2, 1, geo)
    with pytest.raises(ValueError, match="one affine function"):
        cut(R, geometry=geo)
    with pytest.raises(ValueError, match="at least one"):
        intersect([], geometry=geo)
    with pytest.raises(ValueError, match="scale"):
        Geometry(2, scale=0.0)
    with pytest.raises(ValueError, match="input dimension"):
        propagate(random_net([3, 2, 1], 0), geometry=Geometry(2))


# ----------------------------------------------------------------------------- vs the engine
def _engine():
    return pytest.importorskip("relutopo.decompose", reason="the traversal engine is not available")


def _engine_patterns(net):
    dec = _engine().decompose(net, domain=None)
    return dec


@pytest.mark.parametrize("arch", ARRANGEMENTS_R7)
def test_same_regions_as_engine_r7(arch):
    for seed in range(2):
        net = random_net([7, *arch, 1], seed=1000 * len(arch) + seed)
        dec = _engine_patterns(net)
        res = propagate(net)
        assert dec.n_regions == res.n_regions, (arch, seed)
        assert pattern_set(dec.patterns) == pattern_set(res.patterns), (arch, seed)


@settings(max_examples=25, deadline=None)
@given(M=st.integers(1, 4), widths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       seed=st.integers(0, 100_000))
def test_same_regions_as_engine_random_architectures(M, widths, seed):
    _engine()
    net = random_net([M, *widths, 1], seed)
    dec = _engine_patterns(net)
    res = propagate(net)
    assert pattern_set(dec.patterns) == pattern_set(res.patterns)
    assert dec.n_regions == res.n_regions


@settings(max_examples=20, deadline=None)
@given(M=st.integers(1, 4), widths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       seed=st.integers(0, 100_000))
def test_candidate_facets_equal_a_pattern_lookup_loop(M, widths, seed):
    from relutopo.activation_regions import candidate_facets

    res = propagate(random_net([M, *widths, 1], seed))
    # reference: for each region and each of its rows, flip the row's bit and look the pattern up
    index = {bytes(np.packbits(p)): i for i, p in enumerate(res.patterns)}
    expected = []
    for i, p in enumerate(res.patterns):
        for r, k in enumerate(res.row_neurons[i]):
            q = p.copy()
            q[k] = not q[k]
            j = index.get(bytes(np.packbits(q)))
            if j is not None and j > i:
                expected.append((i, j, int(k), r))
    got = candidate_facets(res)
    assert got.dtype == np.int64 and got.shape == (len(expected), 4)
    assert got.tolist() == [list(e) for e in expected]
