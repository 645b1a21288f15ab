"""The FC, CNN, RNN and AE architectures of La Malfa et al. (Sec. 4), with the paper's Gaussian init.

Every model is a :class:`CNTModel`: a stack of ``nn.Linear`` / ``nn.Conv2d`` / :class:`ElmanRNN`
layers, each followed by its activation (``linear``, ``relu`` or ``sigmoid``); the last layer is
affine, as in the paper's ``y = z^[L-1] Omega^[L] + beta^[L]`` (Sec. 3.1). "Depth" counts the
layers with weights (the paper's "three-layer" networks have three):

* ``fc``  -- ``d -> width -> ... -> width -> n_classes``;
* ``cnn`` -- ``depth - 1`` convolutions (kernel 5, stride 2, padding 2; channels doubling from
  ``channels``) and a dense read-out;
* ``rnn`` -- an Elman layer reading the image row by row (eq. 8), ``depth - 2`` dense layers of
  ``width`` on its last state, and a dense read-out;
* ``ae``  -- a dense encoder-decoder ``d -> ... -> d`` whose widths shrink geometrically from
  ``width`` to ``bottleneck`` and grow back (e.g. depth 3: ``d -> width -> bottleneck -> d``).

All weights and biases are drawn from a centred Gaussian with a seeded generator. The paper says
"a Gaussian distribution of known variance between 0.05 (MNIST) and 0.5 (CIFAR10)";
``init_reading="variance"`` reads that number as the variance (standard deviation
``sqrt(0.05) = 0.224``), ``init_reading="std"`` as the standard deviation (what the authors'
earlier public code does with the number). In both readings the exception is the recurrent matrix ``U`` of the RNN,
whose variance defaults to ``1 / width`` (spectral radius about 1): with variance 0.5 and 64 hidden
units a linear RNN's state grows like ``(0.5 * 64)^(T/2)``, about ``10^24`` after the 32 rows of a
CIFAR-10 image, before any training (the paper does not say how it avoided this). :func:`to_cnt_network` converts a model into
the numpy :class:`relutopo.cnt.CNTNetwork` on which the CNT metrics are computed.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from relutopo.cnt import ACTIVATIONS, CNTNetwork, ConvLayer, DenseLayer, RecurrentLayer

__all__ = ["ARCHITECTURES", "PAPER_INIT_VARIANCE", "INIT_READINGS", "build_cnt_model", "to_cnt_network",
           "ae_widths", "init_std", "rnn_input_shape", "CNTModel", "ElmanRNN"]

ARCHITECTURES = ("fc", "cnn", "rnn", "ae")
#: Variance of the Gaussian initialisation per data set (La Malfa et al., Sec. 4).
PAPER_INIT_VARIANCE = {"mnist": 0.05, "cifar10": 0.5}

#: How the paper's initialisation number is read: as the variance or as the standard deviation.
INIT_READINGS = ("variance", "std")

_KERNEL, _STRIDE, _PADDING = 5, 2, 2


def init_std(value: float, reading: str = "variance") -> float:
    """The standard deviation of the Gaussian initialisation for the paper's number ``value``.

    Examples
    --------
    The paper's MNIST number 0.05 (Sec. 4) under its two readings:

    >>> round(init_std(0.05, "variance"), 4), init_std(0.05, "std")
    (0.2236, 0.05)
    """
    if reading not in INIT_READINGS:
        raise ValueError(f"init_reading must be one of {INIT_READINGS}; got {reading!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not value > 0:
        raise ValueError(f"the initialisation number must be a positive number; got {value!r}")
    return float(np.sqrt(value)) if reading == "variance" else float(value)


def rnn_input_shape(input_shape: Sequence[int], rnn_steps: Optional[int] = None) -> tuple:
    """The image shape ``(C, H, W)`` as the RNN reads it: ``(C, T, W H / T)`` for ``T = rnn_steps``.

    Step ``t`` reads rows ``t H/T .. (t+1) H/T - 1`` of every channel (channel-major, as
    :func:`relutopo.cnt.as_sequence`); ``None`` reads one row per step (``T = H``).

    Examples
    --------
    An MNIST digit read in 7 steps of 4 rows (eq. 8 with ``x^(t)`` a block of rows):

    >>> rnn_input_shape((1, 28, 28), 7)
    (1, 7, 112)
    """
    c, h, w = (int(s) for s in input_shape)
    t = h if rnn_steps is None else rnn_steps
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1 or h % t:
        raise ValueError(f"rnn_steps must be a positive divisor of the image height {h}; got {rnn_steps!r}")
    return (c, int(t), w * (h // int(t)))


def ae_widths(depth: int, width: int, bottleneck: int) -> tuple:
    """Hidden widths of a depth-``depth`` auto-encoder: ``width`` shrinking to ``bottleneck``, then back.

    The bottleneck is hidden layer ``m = floor((depth - 1) / 2) + 1``; hidden layer ``i`` has
    ``round(bottleneck * (width / bottleneck) ** (|i - m| / r))`` units, ``r`` the largest
    distance to ``m``.
    """
    n_hidden = int(depth) - 1
    if n_hidden < 1:
        raise ValueError(f"an auto-encoder needs depth >= 2; got {depth}")
    if not 1 <= bottleneck <= width:
        raise ValueError(f"need 1 <= bottleneck <= width; got bottleneck={bottleneck}, width={width}")
    m = n_hidden // 2 + 1
    r = max(m - 1, n_hidden - m, 1)
    return tuple(int(round(bottleneck * (width / bottleneck) ** (abs(i - m) / r)))
                 for i in range(1, n_hidden + 1))


def _apply(z, activation: str):
    if activation == "relu":
        return torch.relu(z)
    if activation == "sigmoid":
        return torch.sigmoid(z)
    return z


class ElmanRNN(nn.Module):
    """``h^(t+1) = f(x^(t) Omega + h^(t) U + beta)``, ``h^(1) = 0``, over the rows of an image (eq. 8).

    ``forward`` returns the last state ``h^(T+1)``. ``input_weight`` is ``Omega`` (F, H) and
    ``recurrent_weight`` ``U`` (H, H), in the paper's orientation; row ``t`` of a ``(C, H, W)``
    image, channel-major, is ``x^(t)`` (as :func:`relutopo.cnt.as_sequence`).
    """

    def __init__(self, n_features: int, n_hidden: int, activation: str):
        super().__init__()
        self.input_weight = nn.Parameter(torch.empty(n_features, n_hidden))
        self.recurrent_weight = nn.Parameter(torch.empty(n_hidden, n_hidden))
        self.bias = nn.Parameter(torch.empty(n_hidden))
        self.activation = activation

    def forward(self, x):
        n, c, h, w = x.shape
        seq = x.permute(0, 2, 1, 3).reshape(n, h, c * w)
        drive = seq @ self.input_weight + self.bias
        state = x.new_zeros(n, self.bias.shape[0])
        for t in range(h):
            state = _apply(drive[:, t] + state @ self.recurrent_weight, self.activation)
        return state


class CNTModel(nn.Module):
    """A stack of layers with one activation each; inputs ``(n, C, H, W)`` or flat ``(n, C*H*W)``."""

    def __init__(self, arch: str, input_shape: tuple, layers: list, activations: tuple):
        super().__init__()
        self.arch = arch
        self.input_shape = tuple(int(s) for s in input_shape)
        self.layers = nn.ModuleList(layers)
        self.activations = tuple(activations)

    def forward(self, x):
        z = x.reshape((x.shape[0],) + self.input_shape)
        for layer, act in zip(self.layers, self.activations):
            if isinstance(layer, nn.Linear):
                z = z.reshape(z.shape[0], -1)
            z = layer(z) if isinstance(layer, ElmanRNN) else _apply(layer(z), act)  # Elman: f inside
        return z


def _positive(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive int; got {v!r}")
    return int(v)


def build_cnt_model(arch: str, input_shape: Sequence[int], n_outputs: int, *, depth: int = 3,
                    activation: str = "sigmoid", init_variance: float = 0.05, seed: int = 0,
                    width: int = 64, channels: int = 8, bottleneck: int = 16,
                    recurrent_variance: Optional[float] = None, init_reading: str = "variance",
                    rnn_steps: Optional[int] = None):
    """A seeded, Gaussian-initialised model of the paper's zoo (see the module docstring).

    Parameters
    ----------
    arch : {"fc", "cnn", "rnn", "ae"}
    input_shape : (C, H, W)
    n_outputs : int
        Number of classes (ignored for ``ae``, whose output is the input size).
    depth : int
        Layers with weights (>= 2; >= 3 for ``rnn``).
    activation : {"linear", "relu", "sigmoid"}
        Of every hidden layer; the output layer is affine.
    init_variance : float
        The paper's initialisation number for every weight and bias, read per ``init_reading``.
    width, channels, bottleneck : int
        Hidden width (fc, rnn, ae), first convolution's channels (cnn), AE bottleneck.
    recurrent_variance : float, optional
        Variance of the RNN's recurrent matrix ``U`` (default ``1 / width``; always a variance).
    init_reading : {"variance", "std"}
        Whether ``init_variance`` is the variance or the standard deviation (:func:`init_std`).
    rnn_steps : int, optional
        Time steps of the RNN (a divisor of H; ``None``: one row per step). See
        :func:`rnn_input_shape`.

    Examples
    --------
    The three-layer sigmoid FC of Fig. 2 on MNIST, with the paper's MNIST initialisation:

    >>> m = build_cnt_model("fc", (1, 28, 28), 10, depth=3, init_variance=0.05)
    >>> [tuple(l.weight.shape) for l in m.layers]
    [(64, 784), (64, 64), (10, 64)]
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}; got {arch!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes; got {input_shape!r}")
    depth = _positive("depth", depth)
    width, channels, bottleneck = (_positive(n, v) for n, v in
                                   (("width", width), ("channels", channels), ("bottleneck", bottleneck)))
    if depth < (3 if arch == "rnn" else 2):
        raise ValueError(f"depth of a{'n' if arch in ('ae', 'rnn') else ''} {arch} must be >= "
                         f"{3 if arch == 'rnn' else 2}; got {depth}")
    if not (isinstance(init_variance, (int, float)) and init_variance > 0):
        raise ValueError(f"init_variance must be a positive number; got {init_variance!r}")
    sigma = init_std(init_variance, init_reading)
    if arch == "rnn":
        shape = rnn_input_shape(shape, rnn_steps)
    elif rnn_steps is not None:
        raise ValueError(f"rnn_steps is for arch='rnn' only; got rnn_steps={rnn_steps!r} for {arch!r}")
    d = int(np.prod(shape))
    n_out = d if arch == "ae" else _positive("n_outputs", n_outputs)
    layers = []
    if arch in ("fc", "ae"):
        hidden = (width,) * (depth - 1) if arch == "fc" else ae_widths(depth, width, bottleneck)
        sizes = (d,) + hidden + (n_out,)
        layers = [nn.Linear(sizes[i], sizes[i + 1]) for i in range(depth)]
    elif arch == "cnn":
        c, (h, w) = shape[0], shape[1:]
        for i in range(depth - 1):
            c_out = channels * 2 ** i
            layers.append(nn.Conv2d(c, c_out, _KERNEL, stride=_STRIDE, padding=_PADDING))
            c, h, w = c_out, (h + 2 * _PADDING - _KERNEL) // _STRIDE + 1, (w + 2 * _PADDING - _KERNEL) // _STRIDE + 1
            if h < 1 or w < 1:
                raise ValueError(f"a cnn of depth {depth} shrinks {shape} below one pixel; lower depth")
        layers.append(nn.Linear(c * h * w, n_out))
    else:  # rnn
        layers.append(ElmanRNN(shape[0] * shape[2], width, activation))
        layers += [nn.Linear(width, width) for _ in range(depth - 2)]
        layers.append(nn.Linear(width, n_out))
    if recurrent_variance is None:
        recurrent_variance = 1.0 / width
    if not (isinstance(recurrent_variance, (int, float)) and recurrent_variance > 0):
        raise ValueError(f"recurrent_variance must be a positive number or None; got {recurrent_variance!r}")
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for layer in layers:
            for name, p in layer.named_parameters():
                std = float(np.sqrt(recurrent_variance)) if name == "recurrent_weight" else sigma
                p.normal_(0.0, std, generator=gen)
    activations = (activation,) * (len(layers) - 1) + ("linear",)
    return CNTModel(arch, shape, layers, activations)


def to_cnt_network(model) -> CNTNetwork:
    """The numpy :class:`~relutopo.cnt.CNTNetwork` of a :class:`CNTModel` (weights copied, float64)."""
    if not isinstance(model, CNTModel):
        raise TypeError(f"model must be a CNTModel from build_cnt_model; got {type(model).__name__}")

    def arr(t):
        return t.detach().cpu().double().numpy().copy()

    layers = []
    for layer, act in zip(model.layers, model.activations):
        if isinstance(layer, nn.Linear):
            layers.append(DenseLayer(arr(layer.weight).T, arr(layer.bias), act))
        elif isinstance(layer, nn.Conv2d):
            layers.append(ConvLayer(arr(layer.weight), arr(layer.bias), int(layer.stride[0]),
                                    int(layer.padding[0]), act))
        elif isinstance(layer, ElmanRNN):
            layers.append(RecurrentLayer(arr(layer.input_weight), arr(layer.recurrent_weight),
                                         arr(layer.bias), act))
        else:
            raise TypeError(f"unsupported layer {type(layer).__name__}")
    return CNTNetwork(tuple(layers), model.input_shape)
