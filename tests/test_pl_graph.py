"""PL graphs from torch: every accepted module equals torch, dense matrices equal torch (also at every
region's interior point), patterns equal forward hooks, and everything else is refused by name."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from relutopo import Box, ReluNet, decompose
from relutopo.hooks import activation_bits
from relutopo.papers.engine_slices.basic_resnet import BasicBlock, resnet18
from relutopo.papers.liu.resnet import Bottleneck
from relutopo.patterns import unpack_bits
from relutopo.pl_graph import UnsupportedModelError, dense_relunet, pl_graph

RTOL = 1e-9


def randomise_bn(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0.0, 0.3, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.normal_(0.0, 0.3, generator=gen)
    return model.eval()


def torch_out(model, X):
    m = model.double().eval()
    with torch.no_grad():
        return m(torch.from_numpy(np.asarray(X, dtype=np.float64))).reshape(len(X), -1).numpy()


def close(a, b, rtol=RTOL):
    scale = max(float(np.abs(b).max()), 1e-300)
    assert np.abs(a - b).max() <= rtol * scale, np.abs(a - b).max() / scale


# chains of affine layers and ReLUs: each becomes a ReluNet with dense matrices
CHAINS = {
    "conv1d_stride_pad_dilation_groups": (lambda: nn.Sequential(
        nn.Conv1d(2, 4, 3, stride=2, padding=2, dilation=2, groups=2), nn.BatchNorm1d(4), nn.ReLU(),
        nn.AvgPool1d(2, padding=1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(12, 3)), (2, 9)),
    "conv2d_stride_groups_bn": (lambda: nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 3, 2, dilation=1, padding=0), nn.ReLU(), nn.AdaptiveAvgPool2d((2, 2)),
        nn.Flatten(), nn.Linear(12, 2)), (2, 7, 7)),
    "conv2d_dilation_avgpool_ceil": (lambda: nn.Sequential(
        nn.Conv2d(1, 3, 3, dilation=2, padding=2, padding_mode="reflect"), nn.ReLU(),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), nn.Dropout2d(0.3),
        nn.Flatten(), nn.Linear(48, 4), nn.ReLU(), nn.Linear(4, 2)), (1, 6, 6)),
    "adaptive_avg_1d_bn1d_linear": (lambda: nn.Sequential(
        nn.Flatten(), nn.Linear(10, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Unflatten(1, (2, 4)),
        nn.AdaptiveAvgPool1d(3), nn.Flatten(), nn.Linear(6, 1)), (10,)),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_models_equal_their_dense_matrices(name):
    make, shape = CHAINS[name]
    torch.manual_seed(0)
    model = randomise_bn(make(), seed=1)
    X = np.random.default_rng(0).normal(size=(64, *shape))
    net = ReluNet.from_torch(model, input_shape=shape)
    close(net.forward(X.reshape(64, -1)), torch_out(model, X))
    graph = pl_graph(model, shape)
    close(graph.forward(X), torch_out(model, X))
    # patterns: the graph's relu bits equal the dense net's bits
    np.testing.assert_array_equal(graph.patterns(X), net.patterns(X.reshape(64, -1)))


@pytest.mark.parametrize("name", ["conv1d_small", "conv2d_small"])
def test_affine_maps_at_every_region_interior_point_equal_torch(name):
    """Decompose the dense net in a box of its (small) input space; at each region's interior point
    the region's affine map must equal the torch forward pass."""
    torch.manual_seed(3)
    if name == "conv1d_small":
        model, shape = nn.Sequential(nn.Conv1d(1, 2, 2, stride=1, padding=1), nn.BatchNorm1d(2),
                                     nn.ReLU(), nn.AvgPool1d(2), nn.Flatten(), nn.Linear(4, 2)), (1, 3)
    else:
        model, shape = nn.Sequential(nn.Conv2d(1, 2, 2, stride=1, padding=0, bias=True), nn.BatchNorm2d(2),
                                     nn.ReLU(), nn.Flatten(), nn.Linear(2, 1)), (1, 2, 2)
    model = randomise_bn(model, seed=2)
    net = ReluNet.from_torch(model, input_shape=shape)
    dec = decompose(net, Box(-2, 2, dim=net.input_dim))
    assert dec.n_regions > 3
    X = dec.interior_points
    ref = torch_out(model, X.reshape(len(X), *shape))
    for i in range(dec.n_regions):
        A, c = dec.affine_map(i)
        close(A @ X[i] + c, ref[i])


def test_bn_is_folded_with_running_statistics_even_if_the_model_trains():
    model = randomise_bn(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1)))
    model.train()
    X = np.random.default_rng(1).normal(size=(8, 3))
    ref = torch_out(model.eval(), X)
    model.train()
    close(pl_graph(model, (3,)).forward(X), ref)
    close(ReluNet.from_torch(model, input_shape=(3,)).forward(X), ref)
    assert model.training  # the caller's model is untouched


# ----------------------------------------------------------------------------- general graphs
class UserBlock(nn.Module):
    """A user module whose forward is relu(f(x) + g(x)), with functional calls."""

    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3))
        self.g = nn.Conv2d(2, 3, 1)
        self.head = nn.Linear(3 * 4 * 4, 5)
        self.prelu = nn.PReLU(3, init=0.2)

    def forward(self, x):
        h = F.relu(self.f(x) + self.g(x))
        h = self.prelu(h - 0.5 * x.mean(dim=1, keepdim=True))
        h = F.leaky_relu(h, negative_slope=0.1)
        h = F.max_pool2d(h, 2, stride=1, padding=1)
        h = h[:, :, :4, :4]
        return self.head(h.reshape(h.size(0), -1))


GRAPHS = {
    "basic_block_downsample": (lambda: nn.Sequential(
        BasicBlock(3, 4, stride=2, downsample=nn.Sequential(nn.Conv2d(3, 4, 1, stride=2, bias=False),
                                                            nn.BatchNorm2d(4))),
        BasicBlock(4, 4), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)), (3, 6, 6)),
    "bottleneck_downsample": (lambda: nn.Sequential(
        Bottleneck(8, 2, stride=2, downsample=nn.Sequential(nn.Conv2d(8, 8, 1, stride=2, bias=False),
                                                            nn.BatchNorm2d(8))),
        Bottleneck(8, 2), nn.Flatten(), nn.Linear(8 * 9, 2)), (8, 5, 5)),
    "maxpool_padding_dilation_ceil": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 2), nn.LeakyReLU(0.05), nn.MaxPool2d(3, stride=2, padding=1, dilation=1, ceil_mode=True),
        nn.MaxPool2d(2, stride=1, dilation=2), nn.Flatten(), nn.Linear(8, 2)), (1, 8, 8)),
    "maxpool1d": (lambda: nn.Sequential(
        nn.Conv1d(1, 3, 3), nn.ReLU(), nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True), nn.Flatten(),
        nn.Linear(12, 2)), (1, 9)),
    "user_block_functional": (UserBlock, (2, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_graph_forward_equals_torch(name):
    make, shape = GRAPHS[name]
    torch.manual_seed(4)
    model = randomise_bn(make(), seed=5)
    X = np.random.default_rng(2).normal(size=(16, *shape))
    g = pl_graph(model, shape)
    close(g.forward(X), torch_out(model, X))


def test_resnet18_graph_equals_torch_and_hook_bits():
    model = resnet18(num_classes=10, seed=0)
    randomise_bn(model, seed=3)
    X = np.random.default_rng(0).normal(size=(2, 3, 32, 32))
    g = pl_graph(model, (3, 32, 32))
    close(g.forward(X), torch_out(model, X))
    # the relu stages' bits equal those read by forward hooks (an independent implementation)
    hooks = activation_bits(model.double(), X)
    bits = unpack_bits(g.patterns(X), g.n_bits)
    relu = np.concatenate([bits[:, st.offset:st.offset + st.n_bits] for st in g.stages if st.kind == "relu"],
                          axis=1)
    ref = unpack_bits(hooks.words.view(np.uint8), hooks.n_bits)
    np.testing.assert_array_equal(relu, ref)
    kinds = [st.kind for st in g.stages]
    assert kinds.count("max") == 1 and kinds.count("relu") == 1 + 2 * 8


def test_maxpool_window_entries_and_winners():
    model = nn.Sequential(nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True))
    g = pl_graph(model, (2, 7, 6))
    X = torch.from_numpy(np.random.default_rng(0).normal(size=(5, 2, 7, 6)))
    E = g.window_entries(0, X)
    ref = F.max_pool2d(X, 3, stride=2, padding=1, dilation=2, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(E.max(dim=-1).values.reshape(ref[0].shape).numpy(), ref[0].numpy())
    # the winner's flat index equals torch's argmax index (no ties in random data)
    W = g.window_index(0)
    win = E.argmax(dim=-1).numpy()
    flat = W[np.arange(W.shape[0])[None, :], win] % (7 * 6)
    np.testing.assert_array_equal(flat, ref[1].reshape(5, -1).numpy())
    bits = unpack_bits(g.patterns(X.numpy()), g.n_bits).reshape(5, W.shape[0], W.shape[1])
    assert np.all(bits.sum(axis=2) == 1)  # one winner per window


# ----------------------------------------------------------------------------- refusals
class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.att = nn.MultiheadAttention(4, 2, batch_first=True)

    def forward(self, x):
        return self.att(x, x, x)[0].flatten(1)


class Square(nn.Module):
    def forward(self, x):
        return (x * x).sum(dim=1, keepdim=True)


class SigmoidFn(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return torch.sigmoid(self.lin(x))


class Softmaxed(nn.Module):
    def forward(self, x):
        return x.softmax(dim=1)


class BatchMixer(nn.Module):
    def forward(self, x):
        return x - x.mean(dim=0, keepdim=True)


@pytest.mark.parametrize("model, shape, match", [
    (nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1)), (3,), "'1' is Sigmoid"),
    (nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 1)), (3,), "'1' is GELU"),
    (nn.Sequential(nn.Linear(3, 4), nn.Tanh()), (3,), "'1' is Tanh"),
    (nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU6()), (1, 3, 3), "'1' is ReLU6"),
    (Attention(), (3, 4), "'att' is MultiheadAttention"),
    (Square(), (3,), "multiplies or divides two input-dependent"),
    (SigmoidFn(), (3,), "sigmoid"),
    (Softmaxed(), (3,), "softmax"),
    (nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2, track_running_stats=False)), (3,), "running statistics"),
    (nn.Sequential(nn.MaxPool1d(2, return_indices=True)), (1, 4), "return_indices"),
    (BatchMixer(), (3,), "other points of its batch"),
])
def test_unsupported_modules_are_named(model, shape, match):
    with pytest.raises(UnsupportedModelError, match=match):
        pl_graph(model, shape)


@pytest.mark.parametrize("model, shape, match", [
    (GRAPHS["basic_block_downsample"][0](), (3, 6, 6), "skip connection"),
    (nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 1)), (1, 5, 5),
     "max-pool"),
    (nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(), nn.Linear(4, 1)), (3,), "LeakyReLU"),
])
def test_dense_relunet_refuses_what_is_not_an_mlp(model, shape, match):
    with pytest.raises(UnsupportedModelError, match=match):
        dense_relunet(model, shape)


def test_from_torch_without_input_shape_names_the_module_and_the_way_out():
    from relutopo.nets import NetworkError

    with pytest.raises(NetworkError, match="Conv2d.*input_shape"):
        ReluNet.from_torch(nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU()))
    with pytest.raises(ValueError, match="input_shape"):
        pl_graph(nn.Linear(2, 2), ())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        pl_graph("not a model", (2,))


@pytest.mark.parametrize("cfg", [(3, 4, 3, 1, 1, 1, 4, 5), (2, 3, 3, 2, 1, 1, 5, 5), (2, 2, 2, 1, 0, 2, 5, 4),
                                 (3, 5, 1, 2, 0, 1, 4, 4), (2, 3, 5, 2, 3, 1, 3, 3)])
def test_dense_convolution_matrix_is_the_convolution_of_the_unit_inputs(cfg):
    """The matrix placed from the kernel by index arithmetic equals torch's convolution of every
    unit input, entry for entry (stride, padding, dilation, kernels larger than the input)."""
    from relutopo.pl_graph import _conv2d_matrix

    ci, co, k, s, p, d, H, W = cfg
    torch.manual_seed(0)
    conv = nn.Conv2d(ci, co, k, stride=s, padding=p, dilation=d).double()
    eye = torch.eye(ci * H * W, dtype=torch.float64).reshape(-1, ci, H, W)
    with torch.no_grad():
        ref = conv._conv_forward(eye, conv.weight, None)
    mat = _conv2d_matrix(conv, (ci, H, W), tuple(ref.shape[1:]))
    assert torch.equal(mat, ref.reshape(ci * H * W, -1))


@pytest.mark.parametrize("name", ["small_spatial_block", "reflect_grouped_bias"])
def test_dense_convolutions_equal_torch_convolutions(name, monkeypatch):
    """Graphs whose small-spatial convolutions run as dense matrix products (``dense_conv``, with
    the unit-input fallback for reflect padding and groups) equal the same graphs with torch's
    convolutions, and torch's forward pass."""
    import relutopo.pl_graph as plg

    torch.manual_seed(1)
    if name == "small_spatial_block":
        model = randomise_bn(nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=True), nn.ReLU(),
                                           BasicBlock(4, 4), nn.Flatten(), nn.Linear(16, 3)))
        shape = (2, 4, 4)
    else:
        monkeypatch.setattr(plg, "DENSE_CONV_FACTOR", 1e9)
        model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect", groups=2), nn.ReLU(),
                              nn.Conv2d(4, 2, 2, dilation=2), nn.Flatten(), nn.Linear(2 * 2 * 2, 2))
        shape = (2, 4, 4)
    X = np.random.default_rng(2).normal(size=(9, int(np.prod(shape))))
    g = pl_graph(model, shape)
    dense = g.forward(X)
    assert any(v is not None for v in g._dense.values())
    g.dense_conv = False
    plain = g.forward(X)
    close(dense, plain, rtol=1e-13)
    close(dense, torch_out(model, X.reshape((-1,) + shape)), rtol=1e-12)


@pytest.mark.parametrize("conv", [nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.Conv2d(4, 8, 3, groups=2, dilation=2),
                                  nn.Conv1d(4, 5, 3, padding=1)])
def test_convolutions_in_slices_of_the_batch_are_the_same_floats(conv, monkeypatch):
    """A large batch is convolved in slices (``CONV_SLICE_BYTES``): every point's output is the
    one of a single call, to the bit, at any slice size."""
    import relutopo.pl_graph as plg

    conv = conv.double()
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(23, 4) + (9,) * (conv.weight.ndim - 2)))
    with torch.no_grad():
        ref = conv(x)
        for budget in (1, 3000, 1 << 30):
            monkeypatch.setattr(plg, "CONV_SLICE_BYTES", budget)
            assert torch.equal(plg._conv_in_slices(conv, x), ref)


@pytest.mark.parametrize("cfg", [(3, 4, 3, 1, 1, 1, 4, 4), (2, 3, 3, 2, 1, 1, 5, 5), (2, 2, 2, 1, 0, 2, 5, 4),
                                 (3, 5, 1, 2, 0, 1, 4, 4), (2, 3, 5, 2, 3, 1, 3, 3), (2, 3, 1, 1, 2, 1, 3, 3)])
def test_gathered_convolution_equals_torch(cfg, monkeypatch):
    """The gathered form (products per group of output positions over the taps in range) equals
    torch's convolution, with bias, in slices of the batch and with output positions that read
    only padding (the last configuration)."""
    import relutopo.pl_graph as plg

    ci, co, k, s, p, d, H, W = cfg
    monkeypatch.setattr(plg, "GATHER_CONV_MAX_POSITIONS", 1 << 20)
    monkeypatch.setattr(plg, "GATHER_CONV_SLICE_BYTES", 1000)  # a few points per slice
    torch.manual_seed(3)
    conv = nn.Conv2d(ci, co, k, stride=s, padding=p, dilation=d).double()
    x = torch.from_numpy(np.random.default_rng(4).normal(size=(11, ci, H, W)))
    with torch.no_grad():
        ref = conv(x)
        gathered = plg._gathered_conv2d(conv, (ci, H, W), tuple(ref.shape[1:]))
        out = gathered(x) + conv.bias.reshape(1, -1, 1, 1)
    assert gathered.complete == (cfg != (2, 3, 1, 1, 2, 1, 3, 3))
    assert gathered.macs <= co * ci * k * k * ref.shape[2] * ref.shape[3]
    close(out.numpy(), ref.numpy(), rtol=1e-13)


def test_small_spatial_convolutions_run_gathered_and_equal_torch():
    """A residual block at 4 x 4 runs its 3 x 3 convolutions gathered (100 of their 144 taps
    read the input); the graph equals itself with torch's convolutions and torch's forward."""
    from relutopo.pl_graph import _GatheredConv

    torch.manual_seed(5)
    model = randomise_bn(nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), BasicBlock(16, 16),
                                       nn.Flatten(), nn.Linear(16 * 4 * 4, 3)))
    shape = (3, 4, 4)
    X = np.random.default_rng(6).normal(size=(40, int(np.prod(shape))))
    g = pl_graph(model, shape)
    out = g.forward(X)
    assert sum(isinstance(v[0], _GatheredConv) for v in g._dense.values() if v is not None) == 3
    g.dense_conv = False
    close(out, g.forward(X), rtol=1e-13)
    close(out, torch_out(model, X.reshape((-1,) + shape)), rtol=1e-12)


class TwoReaders(nn.Module):
    """A convolution read by its BatchNorm and by a skip: not folded."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.head = nn.Linear(3 * 4 * 4, 2)

    def forward(self, x):
        c = self.conv(x)
        return self.head(F.relu(self.bn(c) + c).flatten(1))


@pytest.mark.parametrize("name", ["bn_affine_bias", "bn_plain_no_bias", "conv1d_conv3d", "two_readers", "resnet18_16"])
def test_batchnorm_folded_into_its_convolution_equals_torch(name):
    """A BatchNorm whose input is a convolution read by nothing else is folded into it
    (``fold_bn``): the graph equals itself unfolded and torch's forward; a convolution read
    twice keeps its BatchNorm."""
    torch.manual_seed(7)
    if name == "bn_affine_bias":
        model, shape, n_fold = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                                             nn.Flatten(), nn.Linear(3 * 16, 2)), (2, 4, 4), 1
    elif name == "bn_plain_no_bias":
        model, shape, n_fold = nn.Sequential(nn.Conv2d(2, 3, 3, bias=False), nn.BatchNorm2d(3, affine=False),
                                             nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4, 2)), (2, 4, 4), 1
    elif name == "conv1d_conv3d":
        model, shape, n_fold = nn.Sequential(nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Flatten(),
                                             nn.Linear(9, 2)), (2, 5), 1
    elif name == "two_readers":
        model, shape, n_fold = TwoReaders(), (2, 4, 4), 0
    else:
        model, shape, n_fold = resnet18(num_classes=10, seed=0), (3, 16, 16), 20
    if name == "bn_plain_no_bias":  # no affine parameters: the running statistics only
        with torch.no_grad():
            model[1].running_mean.normal_(0.0, 0.3)
            model[1].running_var.uniform_(0.5, 2.0)
        model.eval()
    elif name != "resnet18_16":
        model = randomise_bn(model)
    X = np.random.default_rng(8).normal(size=(7, int(np.prod(shape))))
    g = pl_graph(model, shape)
    assert sum(v is None for v in g._folded.values()) == n_fold
    folded = g.forward(X)
    g.fold_bn = False
    close(folded, g.forward(X), rtol=1e-13)
    close(folded, torch_out(model, X.reshape((-1,) + shape)), rtol=1e-12)
    if name == "conv1d_conv3d":
        model3 = randomise_bn(nn.Sequential(nn.Conv3d(1, 2, 2), nn.BatchNorm3d(2), nn.ReLU(), nn.Flatten(),
                                            nn.Linear(2 * 8, 2)))
        X3 = np.random.default_rng(9).normal(size=(5, 27))
        g3 = pl_graph(model3, (1, 3, 3, 3))
        assert sum(v is None for v in g3._folded.values()) == 1
        close(g3.forward(X3), torch_out(model3, X3.reshape(-1, 1, 3, 3, 3)), rtol=1e-12)


@pytest.mark.parametrize("where", ["conv weight", "bn running_var", "prelu"])
def test_non_finite_weights_and_statistics_are_named(where):
    """A NaN or inf weight or BatchNorm statistic is named, not reported as something else (it
    used to surface as 'the output of a point depends on the other points of its batch')."""
    from relutopo.nets import NetworkError

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.PReLU(), nn.Flatten(), nn.Linear(8, 1)).eval()
    with torch.no_grad():
        if where == "conv weight":
            model[0].weight[1, 0, 2, 2] = float("inf")
        elif where == "bn running_var":
            model[1].running_var[0] = float("nan")
        else:
            model[2].weight[0] = float("nan")
    name = {"conv weight": "0.weight", "bn running_var": "1.running_var", "prelu": "2.weight"}[where]
    with pytest.raises(NetworkError, match=rf"{name} has 1 non-finite entry"):
        pl_graph(model, (1, 4, 4))
