"""Tests of relutopo.cnt: hand-computed networks, brute-force graphs (Toeplitz, unrolled RNN), torch."""

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from relutopo.cnt import (
    CNTNetwork, ConvLayer, DenseLayer, RecurrentLayer, activate, as_sequence, count_modes,
    layer_fluctuation, link_weights, network_cnt, neuron_strength, node_strength_in,
    node_strength_out, rnn_pixel_elicitation,
)
from relutopo.papers.lamalfa.zoo import ae_widths, build_cnt_model, to_cnt_network


# ----------------------------------------------------------------------------- brute-force graph
def graph_metrics(edges, bias, n_nodes):
    """Metrics of an explicit weighted graph: edges (src, dst, w); bias per dst node.

    Returns (s_in over dst nodes, s_out over src nodes, link mean, link variance) with the
    bias of the target node added to each link, as the module's reading of eq. 1-3.
    """
    s_in = np.zeros(n_nodes[1])
    s_out = np.zeros(n_nodes[0])
    vals = []
    for src, dst, w in edges:
        s_in[dst] += w
        s_out[src] += w
        vals.append(w + bias[dst])
    s_in += bias
    vals = np.array(vals)
    return s_in, s_out, vals.mean(), vals.var()


def toeplitz_edges(K, in_shape, stride, padding):
    """Edges of a convolution as a dense layer, by brute force over output neurons and kernel entries."""
    co, ci, kh, kw = K.shape
    _, h, w = in_shape
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    edges = []
    for o in range(co):
        for y in range(ho):
            for x in range(wo):
                dst = (o * ho + y) * wo + x
                for c in range(ci):
                    for a in range(kh):
                        for b in range(kw):
                            iy, ix = y * stride + a - padding, x * stride + b - padding
                            if 0 <= iy < h and 0 <= ix < w:
                                edges.append(((c * h + iy) * w + ix, dst, K[o, c, a, b]))
    return edges, (co, ho, wo)


def dense_from_edges(edges, n_in, n_out, bias):
    W = np.zeros((n_in, n_out))
    for s, d, w in edges:
        W[s, d] += w
    return DenseLayer(W, bias)


# ----------------------------------------------------------------------------- hand-computed FC
def test_fc_hand_computed():
    # layer 1: Omega (2 inputs x 2 neurons), beta; layer 2: 2 -> 1
    W1 = [[1, -2], [3, 4]]
    b1 = [1, -1]
    W2 = [[2], [-1]]
    b2 = [Fraction(1, 2)]
    net = CNTNetwork((DenseLayer(W1, b1, "relu"), DenseLayer(np.array(W2, float), [0.5], "linear")), (2,))
    res = network_cnt(net, np.array([[1.0, 2.0]]))
    # links omega_ij + beta_j: [[2, -3], [4, 3]] -> mean 3/2, variance 29/4
    assert res[0].link_weights.mean == pytest.approx(1.5)
    assert res[0].link_weights.variance == pytest.approx(7.25)
    np.testing.assert_allclose(res[0].node_strength_in, [5, 1])   # 1+3+1, -2+4-1
    np.testing.assert_allclose(res[0].node_strength_out, [2, -1])
    np.testing.assert_allclose(res[0].node_strength, [7, 0])
    assert res[0].layer_fluctuation == pytest.approx(3.5)
    np.testing.assert_allclose(res[0].neuron_strength, [[8, 5]])  # 1+6+1, -2+8-1
    np.testing.assert_allclose(res[1].neuron_strength, [[float(2 * 8 - 5 + b2[0])]])
    np.testing.assert_allclose(res[1].node_strength_out, [0])     # output layer: empty sum
    np.testing.assert_allclose(res[1].node_strength_in, [2 - 1 + 0.5])


def test_sigmoid_activation_hand_computed():
    layer = DenseLayer([[0.0], [1.0]], [0.0], "sigmoid")
    a = activate(neuron_strength(layer, np.array([[5.0, 0.0], [0.0, np.log(3.0)]])), "sigmoid")
    np.testing.assert_allclose(a[:, 0], [0.5, 0.75])


def test_link_weights_without_bias():
    lw = link_weights(DenseLayer([[1.0, 3.0]], [10.0, -10.0]), include_bias=False)
    assert lw.mean == 2.0 and lw.variance == 1.0


@settings(max_examples=30, deadline=None)
@given(n_in=st.integers(1, 6), n_out=st.integers(1, 6), n_next=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_fc_matches_brute_force_graph(n_in, n_out, n_next, seed):
    rng = np.random.default_rng(seed)
    W, b, W2 = rng.normal(size=(n_in, n_out)), rng.normal(size=n_out), rng.normal(size=(n_out, n_next))
    layer, nxt = DenseLayer(W, b), DenseLayer(W2, np.zeros(n_next))
    edges = [(i, j, W[i, j]) for i in range(n_in) for j in range(n_out)]
    s_in, _, mu, var = graph_metrics(edges, b, (n_in, n_out))
    _, s_out, _, _ = graph_metrics([(i, j, W2[i, j]) for i in range(n_out) for j in range(n_next)],
                                   np.zeros(n_next), (n_out, n_next))
    lw = link_weights(layer)
    assert lw.mean == pytest.approx(mu) and lw.variance == pytest.approx(var)
    np.testing.assert_allclose(node_strength_in(layer, (n_in,)), s_in)
    np.testing.assert_allclose(node_strength_out(layer, (n_in,), nxt), s_out)


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(-5, 5).filter(lambda a: abs(a) > 1e-3), shift=st.floats(-5, 5), seed=st.integers(0, 999))
def test_layer_fluctuation_is_shift_invariant_and_scales(scale, shift, seed):
    s = np.random.default_rng(seed).normal(size=7)
    assert layer_fluctuation(scale * s + shift) == pytest.approx(abs(scale) * layer_fluctuation(s), rel=1e-9, abs=1e-12)


# ----------------------------------------------------------------------------- convolution vs Toeplitz
@settings(max_examples=25, deadline=None)
@given(ci=st.integers(1, 3), co=st.integers(1, 3), k=st.integers(1, 4), stride=st.integers(1, 3),
       padding=st.integers(0, 2), h=st.integers(4, 8), w=st.integers(4, 8), seed=st.integers(0, 10_000))
def test_conv_metrics_equal_explicit_toeplitz(ci, co, k, stride, padding, h, w, seed):
    rng = np.random.default_rng(seed)
    K, b = rng.normal(size=(co, ci, k, k)), rng.normal(size=co)
    conv = ConvLayer(K, b, stride, padding, "relu")
    in_shape = (ci, h, w)
    edges, out_shape = toeplitz_edges(K, in_shape, stride, padding)
    n_in, n_out = ci * h * w, int(np.prod(out_shape))
    bias_per_neuron = np.repeat(b, out_shape[1] * out_shape[2])
    toeplitz = dense_from_edges(edges, n_in, n_out, bias_per_neuron)
    X = rng.normal(size=(3,) + in_shape)
    # neurons strength (eq. 7) per patch == dense product with the Toeplitz matrix == torch conv2d
    zeta = neuron_strength(conv, X)
    np.testing.assert_allclose(zeta.reshape(3, -1), neuron_strength(toeplitz, X.reshape(3, -1)), atol=1e-10)
    ref = torch.nn.functional.conv2d(torch.tensor(X), torch.tensor(K), torch.tensor(b), stride=stride, padding=padding)
    np.testing.assert_allclose(zeta, ref.numpy(), atol=1e-10)
    # nodes strength and link weights == those of the explicit graph
    s_in, _, mu, var = graph_metrics(edges, bias_per_neuron, (n_in, n_out))
    np.testing.assert_allclose(node_strength_in(conv, in_shape).ravel(), s_in, atol=1e-10)
    lw = link_weights(conv, in_shape)
    assert lw.n_links == len(edges)
    assert lw.mean == pytest.approx(mu, abs=1e-12) and lw.variance == pytest.approx(var, abs=1e-12)
    # out-strength of the input pixels (neurons of a previous layer of shape in_shape) when this
    # convolution is the next layer: row sums of the Toeplitz matrix
    _, s_out, _, _ = graph_metrics(edges, bias_per_neuron, (n_in, n_out))
    previous = ConvLayer(np.zeros((ci, 1, 1, 1)), np.zeros(ci))  # (1, h, w) -> (ci, h, w)
    out = node_strength_out(previous, (1, h, w), conv)
    np.testing.assert_allclose(out.ravel(), s_out, atol=1e-10)


# ----------------------------------------------------------------------------- recurrent: unrolled graph, torch
def unrolled_rnn_edges(Om, U, T):
    """The unrolled RNN graph: inputs (t, i) and hidden (t, k) nodes; edges Omega and U (t > 0)."""
    F, H = Om.shape
    edges = []
    for t in range(T):
        for k in range(H):
            for i in range(F):
                edges.append(("x", t * F + i, t * H + k, Om[i, k]))
            if t > 0:
                for j in range(H):
                    edges.append(("h", (t - 1) * H + j, t * H + k, U[j, k]))
    return edges


@settings(max_examples=20, deadline=None)
@given(T=st.integers(1, 5), F=st.integers(1, 4), H=st.integers(1, 4), n_next=st.integers(1, 3),
       seed=st.integers(0, 10_000))
def test_rnn_metrics_equal_unrolled_graph(T, F, H, n_next, seed):
    rng = np.random.default_rng(seed)
    Om, U, b, W2 = rng.normal(size=(F, H)), rng.normal(size=(H, H)), rng.normal(size=H), rng.normal(size=(H, n_next))
    layer, nxt = RecurrentLayer(Om, U, b, "sigmoid"), DenseLayer(W2, np.zeros(n_next))
    edges = unrolled_rnn_edges(Om, U, T)
    bias = np.tile(b, T)
    s_in = np.zeros(T * H)
    s_out = np.zeros(T * H)
    vals = []
    for kind, src, dst, w in edges:
        s_in[dst] += w
        vals.append(w + bias[dst])
        if kind == "h":
            s_out[src] += w
    s_out[(T - 1) * H:] += W2.sum(axis=1)  # last step feeds the next layer
    s_in += bias
    shape = (T, F)
    np.testing.assert_allclose(node_strength_in(layer, shape).ravel(), s_in, atol=1e-10)
    np.testing.assert_allclose(node_strength_out(layer, shape, nxt).ravel(), s_out, atol=1e-10)
    lw = link_weights(layer, shape)
    assert lw.n_links == len(edges)
    assert lw.mean == pytest.approx(np.mean(vals)) and lw.variance == pytest.approx(np.var(vals))


def test_rnn_neuron_strength_matches_torch_rnn():
    rng = np.random.default_rng(3)
    T, F, H = 6, 5, 4
    Om, U, b = rng.normal(size=(F, H)), rng.normal(size=(H, H)) * 0.5, rng.normal(size=H)
    X = rng.normal(size=(7, T, F))
    rnn = torch.nn.RNN(F, H, nonlinearity="relu", batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(Om.T))
        rnn.weight_hh_l0.copy_(torch.tensor(U.T))
        rnn.bias_ih_l0.copy_(torch.tensor(b))
        rnn.bias_hh_l0.zero_()
    states, _ = rnn(torch.tensor(X))
    zeta = neuron_strength(RecurrentLayer(Om, U, b, "relu"), X)
    np.testing.assert_allclose(np.maximum(zeta, 0), states.detach().numpy(), atol=1e-10)


def test_as_sequence_reads_rows_channel_major():
    X = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    S = as_sequence(X)
    assert S.shape == (2, 4, 15)
    np.testing.assert_array_equal(S[1, 2], np.concatenate([X[1, c, 2] for c in range(3)]))


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid"])
def test_rnn_pixel_elicitation_is_input_times_autograd_gradient(activation):
    rng = np.random.default_rng(0)
    Om, U, b = rng.normal(size=(6, 3)), rng.normal(size=(3, 3)) * 0.7, rng.normal(size=3)
    X = rng.random((9, 1, 4, 6))
    E = rnn_pixel_elicitation(RecurrentLayer(Om, U, b, activation), X)
    # independent: torch autograd through an explicit unroll of eq. 8-9
    x = torch.tensor(X[:, 0], requires_grad=True)
    f = {"linear": lambda z: z, "relu": torch.relu, "sigmoid": torch.sigmoid}[activation]
    h, total = torch.zeros(9, 3, dtype=torch.float64), 0.0
    for t in range(4):
        zeta = x[:, t] @ torch.tensor(Om) + h @ torch.tensor(U) + torch.tensor(b)
        total = total + zeta.sum()
        h = f(zeta)
    total.backward()
    np.testing.assert_allclose(E, (x * x.grad).mean(dim=0).detach().numpy(), atol=1e-10)
    assert E.shape == (4, 6)


def test_rnn_pixel_elicitation_last_row_is_direct_drive():
    rng = np.random.default_rng(1)
    layer = RecurrentLayer(rng.normal(size=(5, 2)), rng.normal(size=(2, 2)), rng.normal(size=2), "sigmoid")
    X = rng.random((4, 1, 3, 5))
    E = rnn_pixel_elicitation(layer, X)
    np.testing.assert_allclose(E[-1], X[:, 0, -1].mean(axis=0) * layer.input_weight.sum(axis=1))


# ----------------------------------------------------------------------------- zoo <-> numpy
@pytest.mark.parametrize("arch", ["fc", "cnn", "rnn", "ae"])
@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid"])
def test_numpy_network_reproduces_torch_model(arch, activation):
    model = build_cnt_model(arch, (2, 12, 10), 5, depth=4, activation=activation, init_variance=0.05,
                            seed=7, width=9, channels=3, bottleneck=4).double()
    X = np.random.default_rng(1).random((6, 2, 12, 10))
    net = to_cnt_network(model)
    ref = model(torch.tensor(X)).detach().numpy()
    np.testing.assert_allclose(net.predict(X), ref, rtol=1e-9, atol=1e-9)
    res = network_cnt(net, X)
    assert len(res) == 4
    for layer in res:
        assert layer.neuron_strength.shape == (6, int(np.prod(layer.neuron_shape)))
        assert layer.node_strength.shape == (int(np.prod(layer.neuron_shape)),)


def test_paper_gaussian_init_variance():
    model = build_cnt_model("fc", (1, 28, 28), 10, init_variance=0.5, seed=0, width=64)
    w = model.layers[0].weight.detach().numpy().ravel()  # 50176 draws
    assert np.var(w) == pytest.approx(0.5, rel=0.03)
    assert abs(np.mean(w)) < 4 * np.sqrt(0.5 / w.size)


def test_rnn_recurrent_matrix_variance():
    model = build_cnt_model("rnn", (1, 28, 28), 10, init_variance=0.5, seed=0, width=200)
    rnn = model.layers[0]
    assert np.var(rnn.recurrent_weight.detach().numpy()) == pytest.approx(1 / 200, rel=0.05)
    assert np.var(rnn.input_weight.detach().numpy()) == pytest.approx(0.5, rel=0.05)
    with pytest.raises(ValueError, match="recurrent_variance"):
        build_cnt_model("rnn", (1, 28, 28), 10, recurrent_variance=-1.0)


def test_ae_widths_shape():
    assert ae_widths(3, 64, 16) == (64, 16)
    w = ae_widths(7, 128, 16)
    assert len(w) == 6 and min(w) == 16 and w[0] == 128 and w[-1] == 64
    assert list(w[:3]) == sorted(w[:3], reverse=True)


# ----------------------------------------------------------------------------- statistics and errors
def test_count_modes_separates_mixtures():
    rng = np.random.default_rng(0)
    assert count_modes(rng.normal(size=3000)) == 1
    assert count_modes(np.concatenate([rng.normal(-6, 1, 2000), rng.normal(6, 1, 2000)])) == 2
    assert count_modes(np.concatenate([rng.normal(m, 0.5, 1500) for m in (-8, 0, 8)])) == 3


@pytest.mark.parametrize("make, match", [
    (lambda: DenseLayer(np.ones((3, 2)), np.ones(3)), "bias must have shape"),
    (lambda: DenseLayer(np.ones((3, 2)), np.ones(2), "tanh"), "activation"),
    (lambda: ConvLayer(np.ones((2, 1, 3, 3)), np.ones(2), stride=0), "stride"),
    (lambda: RecurrentLayer(np.ones((3, 2)), np.ones((3, 3)), np.ones(2)), "recurrent_weight"),
    (lambda: DenseLayer([[np.nan]], [0.0]), "non-finite"),
    (lambda: CNTNetwork((DenseLayer(np.ones((4, 2)), np.ones(2)),), (5,)), "expects 4 inputs"),
    (lambda: CNTNetwork((DenseLayer(np.ones((4, 3)), np.ones(3)),
                         RecurrentLayer(np.ones((3, 2)), np.ones((2, 2)), np.ones(2))), (4,)), "only the first"),
])
def test_bad_layers_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_input_shape_raises():
    net = CNTNetwork((DenseLayer(np.ones((4, 2)), np.ones(2)),), (4,))
    with pytest.raises(ValueError, match=r"X must have shape \(n, 4\)"):
        network_cnt(net, np.ones((3, 5)))


def test_negative_fraction_and_concentration():
    from relutopo.cnt import elicitation_concentration, negative_fraction

    assert negative_fraction([-1.0, 2.0, -3.0, 4.0]) == 0.5
    assert negative_fraction([-1.0, 2.0], weights=[3, 1]) == 0.75
    assert elicitation_concentration(np.ones((10, 10)), 0.1) == pytest.approx(0.1)
    spike = np.zeros((10, 10))
    spike[3, 4] = -2.0
    assert elicitation_concentration(spike, 0.1) == 1.0
    with pytest.raises(ValueError, match="zero everywhere"):
        elicitation_concentration(np.zeros(4))


@pytest.mark.parametrize("arch", ["fc", "cnn", "ae"])
def test_out_strength_is_gradient_of_next_layer_sum(arch):
    # s_out,k = sum_j omega^[l+1]_kj = d/dz_k sum_j (next layer's pre-activation without bias):
    # torch autograd through nn.Conv2d / Flatten + nn.Linear is an independent computation.
    model = build_cnt_model(arch, (2, 10, 9), 4, depth=4, seed=3, width=7, channels=3, bottleneck=3).double()
    net = to_cnt_network(model)
    shape = net.input_shape
    for i, layer in enumerate(model.layers[:-1]):
        out_shape = net.neuron_shapes()[i]
        z = torch.zeros((1,) + tuple(out_shape), dtype=torch.float64, requires_grad=True)
        nxt = model.layers[i + 1]
        pre = nxt(z.reshape(1, -1) if isinstance(nxt, torch.nn.Linear) else z) - (
            nxt.bias if isinstance(nxt, torch.nn.Linear) else nxt.bias[:, None, None])
        pre.sum().backward()
        expected = z.grad[0].numpy()
        got = node_strength_out(net.layers[i], shape, net.layers[i + 1])
        np.testing.assert_allclose(got, expected, atol=1e-10)
        shape = out_shape
