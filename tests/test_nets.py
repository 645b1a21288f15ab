"""ReluNet: construction checks, torch round trip, bits and the affine pieces of eq. 8-9."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from relutopo.nets import NetworkError, ReluNet
from relutopo.patterns import unpack_bits
from conftest import random_net


def normal_net(sizes, seed):
    return random_net(sizes, seed, dist="normal")


def test_shapes_and_repr():
    net = normal_net((3, 5, 4, 2), 0)
    assert net.input_dim == 3 and net.output_dim == 2
    assert net.hidden_sizes == (5, 4) and net.n_hidden == 9
    assert net.layer_offsets.tolist() == [0, 5, 9]
    assert [net.layer_of_bit(k) for k in (0, 4, 5, 8)] == [0, 0, 1, 1]
    assert repr(net) == "ReluNet(3→5→4→2)"


@pytest.mark.parametrize("weights,biases,match", [
    ([np.ones((2, 2)), np.ones((1, 3))], [np.zeros(2), np.zeros(1)], "layer 1 does not chain"),
    ([np.ones((2, 2))], [np.zeros(3)], r"biases\[0\]"),
    ([np.array([[np.nan, 1.0]])], [np.zeros(1)], r"weights\[0\] contains 1 NaN"),
    ([np.ones((1, 2))], [np.array([np.inf])], r"biases\[0\] contains"),
    ([np.ones((2, 2))], [], "bias vectors"),
    ([], [], "at least one layer"),
    ([np.ones(3)], [np.zeros(1)], "2-D"),
])
def test_bad_weights_raise_clear_errors(weights, biases, match):
    with pytest.raises(NetworkError, match=match):
        ReluNet.from_weights(weights, biases)


def test_from_torch_round_trip_and_forward():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3, 6), nn.ReLU(), nn.Dropout(0.1),
                          nn.Sequential(nn.Linear(6, 4), nn.ReLU()), nn.Linear(4, 2)).double().eval()
    net = ReluNet.from_torch(model)
    assert net.hidden_sizes == (6, 4)
    X = np.random.default_rng(0).normal(size=(50, 3))
    with torch.no_grad():
        ref = model(torch.from_numpy(X)).numpy()
    assert np.allclose(net.forward(X), ref, atol=1e-12)
    back = net.to_torch()
    with torch.no_grad():
        assert np.allclose(back(torch.from_numpy(X)).numpy(), ref, atol=1e-12)


def test_from_torch_composes_consecutive_linears_and_rejects_other_modules():
    lin = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    net = ReluNet.from_torch(lin)
    X = np.random.default_rng(1).normal(size=(20, 2))
    with torch.no_grad():
        assert np.allclose(net.forward(X), lin(torch.from_numpy(X)).numpy())
    assert net.hidden_sizes == (4,)
    with pytest.raises(NetworkError, match="'1' is Tanh"):
        ReluNet.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)))
    with pytest.raises(NetworkError, match="nn.Sequential"):
        ReluNet.from_torch(nn.ReLU())


def test_bits_patterns_and_preactivations_agree():
    net = normal_net((2, 9, 9, 1), 3)
    X = np.random.default_rng(2).normal(size=(300, 2))
    pre = net.preactivations(X)
    bits = net.bits(X)
    assert np.array_equal(bits, np.concatenate([z > 0 for z in pre], axis=1))
    P = net.patterns(X, chunk=37)
    assert P.shape == (300, 3)
    assert np.array_equal(np.unpackbits(P, axis=1, count=18, bitorder="little").astype(bool), bits)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_affine_map_and_halfspaces_match_forward(seed):
    """On the polyhedron of s(x) the net equals G (Liu et al. Sec. 2.3) and x satisfies eq. 9."""
    net = normal_net((3, 5, 4, 2), seed)
    X = np.random.default_rng(seed).normal(size=(20, 3))
    for x, s in zip(X, net.bits(X)):
        A, c = net.affine_map(s)
        assert np.allclose(A @ x + c, net.forward(x[None])[0], atol=1e-10)
        H, h = net.halfspaces(s)
        assert np.all(H @ x <= h + 1e-10)
        # the pre-activations from layer_maps equal the forward pass
        maps = net.layer_maps(s)
        for (Wj, bj), z in zip(maps, net.preactivations(x[None])):
            assert np.allclose(Wj @ x + bj, z[0], atol=1e-10)


def test_point_checks():
    net = normal_net((3, 2, 1), 0)
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        net.forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="9 bits|2 bits"):
        net.affine_map(np.ones(5, dtype=bool))


def test_affine_maps_equal_affine_map_per_pattern():
    """The batched maps (all patterns at once, the linear part from the output side) equal the
    per-pattern maps of eq. 8 and the network itself at points of each pattern's region."""
    rng = np.random.default_rng(3)
    for sizes in ((2, 5, 1), (3, 7, 6, 2), (4, 8, 1, 5, 3), (1, 3, 3, 1)):
        Ws = [rng.normal(size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
        bs = [rng.normal(size=b) for b in sizes[1:]]
        net = ReluNet.from_weights(Ws, bs)
        X = rng.normal(size=(40, sizes[0])) * 3
        P = net.patterns(X)
        A, c = net.affine_maps(P)
        assert A.shape == (40, sizes[-1], sizes[0]) and c.shape == (40, sizes[-1])
        for i in range(40):
            Ai, ci = net.affine_map(P[i])
            np.testing.assert_allclose(A[i], Ai, rtol=1e-12, atol=1e-12 * np.abs(Ai).max(initial=1.0))
            np.testing.assert_allclose(c[i], ci, rtol=1e-12, atol=1e-12 * np.abs(ci).max(initial=1.0))
        np.testing.assert_allclose(np.einsum("nij,nj->ni", A, X) + c, net.forward(X), rtol=1e-10, atol=1e-10)
        A2, c2 = net.affine_maps(unpack_bits(P, net.n_hidden))  # bits as booleans: the same maps
        assert np.array_equal(A, A2) and np.array_equal(c, c2)
    with pytest.raises(ValueError, match="bits"):
        net.affine_maps(np.zeros((2, net.n_hidden + 1), dtype=bool))
