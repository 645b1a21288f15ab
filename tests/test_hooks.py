"""Tests for relutopo.hooks: bits from forward hooks against independent computations."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from relutopo.hooks import ActivationBits, activation_bits
from relutopo.nets import ReluNet
from relutopo.patterns import pack_bits


def _mlp(sizes, seed):
    gen = torch.Generator().manual_seed(seed)
    layers = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1]).double()
        with torch.no_grad():
            lin.weight.normal_(0, 1, generator=gen)
            lin.bias.normal_(0, 1, generator=gen)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@settings(max_examples=25, deadline=None)
@given(widths=st.lists(st.integers(1, 13), min_size=1, max_size=4),
       n=st.integers(1, 9), batch=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_mlp_bits_equal_relunet_bits(widths, n, batch, seed):
    """Hook bits of an MLP equal ReluNet's bits computed from the weights (eq. 4-5)."""
    model = _mlp([3, *widths, 2], seed)
    X = np.random.default_rng(seed).normal(size=(n, 3))
    ab = activation_bits(model, X, batch_size=batch)
    expected = ReluNet.from_torch(model).bits(X)
    assert ab.n_bits == sum(widths) == expected.shape[1]
    np.testing.assert_array_equal(ab.unpack(), expected)
    np.testing.assert_array_equal(ab.packed, pack_bits(expected))
    # padding bits beyond n_bits are zero, so popcount Hamming distances are exact
    brute = (expected[:, None, :] != expected[None, :, :]).sum(axis=2)
    np.testing.assert_array_equal(ab.hamming(), brute)


class _Block(nn.Module):
    """A torchvision-style block: one ReLU module called three times, odd channel counts."""

    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(3)
        self.conv1 = nn.Conv2d(3, 5, 3, padding=1).double()
        self.conv2 = nn.Conv2d(5, 3, 3, padding=1, stride=2).double()
        self.skip = nn.Conv2d(3, 3, 1, stride=2).double()
        self.bn = nn.BatchNorm2d(5).double()
        with torch.no_grad():
            for p in self.parameters():
                p.normal_(0, 1, generator=gen)
            self.bn.running_mean.normal_(0, 1, generator=gen)
            self.bn.running_var.uniform_(0.5, 2, generator=gen)
        self.relu = nn.ReLU(inplace=True)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 7).double(), nn.ReLU())

    def forward(self, x):
        out = self.relu(self.bn(self.conv1(x)))
        out = self.relu(self.conv2(out))
        out = self.relu(out + self.skip(x))
        return self.head(out)

    def reference_preactivations(self, x):
        """The four pre-activation tensors, computed functionally (no module calls of relu)."""
        bn = self.bn
        z1 = F.batch_norm(F.conv2d(x, self.conv1.weight, self.conv1.bias, padding=1),
                          bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
        z2 = F.conv2d(z1.clamp(min=0), self.conv2.weight, self.conv2.bias, stride=2, padding=1)
        z3 = z2.clamp(min=0) + F.conv2d(x, self.skip.weight, self.skip.bias, stride=2)
        lin = self.head[1]
        z4 = z3.clamp(min=0).flatten(1) @ lin.weight.T + lin.bias
        return [z1, z2, z3, z4]


def test_reused_relu_module_gives_one_block_of_bits_per_call():
    model = _Block()
    model.train()  # activation_bits must switch to eval (running BN stats) and restore this
    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ab = activation_bits(model, x, batch_size=4)
    assert model.training
    assert [(c.name, c.call, c.shape) for c in ab.calls] == [
        ("relu", 0, (5, 8, 8)), ("relu", 1, (3, 4, 4)), ("relu", 2, (3, 4, 4)), ("head.2", 0, (7,))]
    with torch.no_grad():
        pre = model.reference_preactivations(x)
    ref = np.concatenate([(z > 0).reshape(6, -1).numpy() for z in pre], axis=1)
    assert ab.n_bits == ref.shape[1] == 5 * 64 + 48 + 48 + 7
    np.testing.assert_array_equal(ab.unpack(), ref)
    np.testing.assert_array_equal(ab.packed, pack_bits(ref))
    assert [c.offset for c in ab.calls] == [0, 320, 368, 416]
    for i, z in enumerate(pre):
        np.testing.assert_array_equal(ab.call_bits(i), (z > 0).numpy())
    np.testing.assert_array_equal(ab.call_bits(1, rows=[2]), (pre[1][2:3] > 0).numpy())


def test_bits_do_not_depend_on_batch_size():
    model = _Block()
    x = torch.randn(7, 3, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    a = activation_bits(model, x, batch_size=1)
    b = activation_bits(model, x, batch_size=7)
    c = activation_bits(model, x.numpy(), batch_size=3)
    np.testing.assert_array_equal(a.words, b.words)
    np.testing.assert_array_equal(a.words, c.words)
    assert a.words.dtype == np.uint64 and a.words.shape == (7, (a.n_bits + 63) // 64)


def test_hamming_between_two_sets():
    model = _mlp([2, 9, 11, 1], 0)
    X = np.random.default_rng(0).normal(size=(5, 2))
    Y = np.random.default_rng(1).normal(size=(3, 2))
    a, b = activation_bits(model, X), activation_bits(model, Y)
    ba, bb = ReluNet.from_torch(model).bits(X), ReluNet.from_torch(model).bits(Y)
    np.testing.assert_array_equal(a.hamming(b), (ba[:, None] != bb[None]).sum(axis=2))
    other = activation_bits(_mlp([2, 4, 1], 0), X)
    with pytest.raises(ValueError, match="different length"):
        a.hamming(other)


class _FunctionalRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 3)

    def forward(self, x):
        return F.relu(self.lin(x))


class _DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(x)
        return self.relu(y - 1) if float(x.sum()) > 0 else y


def test_errors_are_clear():
    X = np.zeros((2, 2))
    with pytest.raises(ValueError, match="no module of type"):
        activation_bits(_FunctionalRelu(), X)
    with pytest.raises(ValueError, match="batch_size"):
        activation_bits(_mlp([2, 3, 1], 0), X, batch_size=0)
    with pytest.raises(TypeError, match="inputs must be"):
        activation_bits(_mlp([2, 3, 1], 0), [[0.0, 0.0]])
    with pytest.raises(ValueError, match="NaN"):
        activation_bits(_mlp([2, 3, 1], 0), np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="at least one input"):
        activation_bits(_mlp([2, 3, 1], 0), np.zeros((0, 2)))
    with pytest.raises(TypeError, match="nn.Module"):
        activation_bits(lambda x: x, X)
    x = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    with pytest.raises(ValueError, match="differently from the first batch"):
        activation_bits(_DataDependent(), x, batch_size=1)


def test_activation_bits_is_exported_shape():
    ab = activation_bits(_mlp([2, 3, 1], 0), np.zeros((1, 2)))
    assert isinstance(ab, ActivationBits) and len(ab) == 1
