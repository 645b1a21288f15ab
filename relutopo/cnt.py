"""Complex-network (CNT) metrics of FC, CNN, RNN and AE networks (La Malfa et al., Sec. 3).

A network is read as a directed graph whose nodes are neurons and whose links carry the weights.
Notation of the paper: layer ``l`` maps ``z^[l-1] -> z^[l] = f^[l](z^[l-1] Omega^[l] + beta^[l])``
with ``Omega^[l]`` of shape ``N^[l-1] x N^[l]`` (rows: input neurons ``i``, columns: output
neurons ``j``). The metrics of layer ``l`` describe its *output* neurons and the links into them:

* link weights mean and variance (eq. 1-2) over the links ``omega_ij + beta_j``;
* nodes strength (eq. 3): ``s_in,k = sum_i omega_ik + beta_k`` (links into ``k``),
  ``s_out,k = sum_j omega^[l+1]_kj`` (links out of ``k``), ``s_k = s_in,k + s_out,k``;
* layers fluctuation (eq. 4): ``Y = sqrt(sum_k (s_k - mean s)^2 / N^[l])``;
* neurons strength (eq. 5): ``zeta_k = sum_i z_i^[l-1] omega_ik + beta_k`` for inputs ``x ~ X``;
* neurons activation (eq. 6): ``a_k = f^[l](zeta_k)``.

**Readings of the paper's index slips** (tested in ``tests/test_cnt.py``): eq. 1-2 add
``beta_i`` indexed by the *input* neuron; we add the bias of the link's *target* neuron,
``beta_j`` (the bias belongs to the neuron it enters). Eq. 3 read literally adds ``beta_k`` once
per in-link (``N^[l-1] beta_k``); we count the bias once, as the weight of a link from a
constant unit, so that ``s_in`` is the neuron strength of an all-ones input. The output layer
has no outgoing links: its ``s_out`` is the empty sum, 0. Eq. 4's unexplained ``I`` is read as
``N^[l]`` (the population standard deviation of the layer's nodes strengths).

**Convolutions (eq. 7)** are handled per patch, without Toeplitz matrices: a neuron is one
output channel at one position, its in-links are the kernel entries that fall on real (not
padded) input pixels of its patch. Neurons strength is computed by unfolding the input into
patches; nodes strength, link multiplicities and out-strengths by the same arithmetic on
all-ones arrays (a transposed convolution of ones gives the out-strengths). These equal the
metrics of the equivalent dense (Toeplitz) layer, as the tests check.

**Recurrent layers (eq. 8-9)** are unrolled over time: the image is read row by row
(``x^(t)`` = row ``t``, all channels), ``h^(1) = 0`` and ``h^(t+1) = f(x^(t) Omega + h^(t) U + beta)``;
the unrolled graph has one neuron per (time step, hidden unit), whose strength is
``zeta^(t) = x^(t) Omega + h^(t) U + beta``. Its in-links are ``Omega`` (and ``U`` for
``t > 1``), its out-links ``U`` towards step ``t + 1`` or, at the last step, the next layer.

All functions take numpy arrays and return arrays or frozen dataclasses; a network is a
:class:`CNTNetwork` of :class:`DenseLayer`, :class:`ConvLayer` and :class:`RecurrentLayer`
(:func:`relutopo.papers.lamalfa.zoo.to_cnt_network` builds one from a trained torch model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np

__all__ = [
    "ACTIVATIONS", "activate", "DenseLayer", "ConvLayer", "RecurrentLayer", "CNTNetwork",
    "LinkWeights", "LayerCNT", "link_weights", "node_strength_in", "node_strength_out",
    "layer_fluctuation", "neuron_strength", "neuron_activation", "conv_output_shape",
    "conv_link_counts", "rnn_pixel_elicitation", "as_sequence", "network_cnt", "count_modes",
    "negative_fraction", "elicitation_concentration",
]

#: Activation functions f of eq. 6.
ACTIVATIONS = ("linear", "relu", "sigmoid")


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    """``f(z)`` for ``activation`` in :data:`ACTIVATIONS` (elementwise).

    Examples
    --------
    >>> import numpy as np
    >>> activate(np.array([-1.0, 0.0, 2.0]), "relu").tolist(), activate(np.array([0.0]), "sigmoid").tolist()
    ([0.0, 0.0, 2.0], [0.5])
    """
    if activation == "linear":
        return np.asarray(z, dtype=np.float64)
    if activation == "relu":
        return np.maximum(z, 0.0)
    if activation == "sigmoid":
        from scipy.special import expit

        return expit(z)
    raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")


def _array(value, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} cannot be read as a float array ({exc})") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite entries (NaN or inf); check the trained weights")
    return arr


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")
    return activation


# --------------------------------------------------------------------------- layers
@dataclass(frozen=True, eq=False)
class DenseLayer:
    """A fully connected layer ``z -> f(z Omega + beta)``.

    Parameters
    ----------
    weight : ndarray, shape (N_in, N_out)
        ``Omega`` in the paper's orientation (the transpose of ``torch.nn.Linear.weight``).
    bias : ndarray, shape (N_out,)
    activation : {"linear", "relu", "sigmoid"}

    Examples
    --------
    A 2 -> 3 layer in the paper's orientation (``Omega`` is ``N_in x N_out``, La Malfa et al.
    Sec. 3):

    >>> import numpy as np
    >>> layer = DenseLayer(np.array([[1.0, -1.0, 0.5], [0.0, 2.0, 1.0]]), np.array([0.0, 1.0, -1.0]), "relu")
    >>> layer.output_shape((2,))
    (3,)
    >>> round(link_weights(layer).mean, 6)
    0.583333
    """

    weight: np.ndarray
    bias: np.ndarray
    activation: str = "linear"

    def __post_init__(self):
        w = _array(self.weight, "DenseLayer.weight", 2)
        b = _array(self.bias, "DenseLayer.bias", 1)
        if b.shape != (w.shape[1],):
            raise ValueError(f"DenseLayer.bias must have shape ({w.shape[1]},) to match weight "
                             f"{w.shape} (N_in, N_out); got {b.shape}")
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)
        _check_activation(self.activation)

    def output_shape(self, input_shape: tuple) -> tuple:
        if int(np.prod(input_shape)) != self.weight.shape[0]:
            raise ValueError(f"DenseLayer expects {self.weight.shape[0]} inputs; the previous layer "
                             f"gives {input_shape} = {int(np.prod(input_shape))}")
        return (self.weight.shape[1],)


@dataclass(frozen=True, eq=False)
class ConvLayer:
    """A 2-D convolution ``z -> f(z * K + beta)`` (cross-correlation, as in torch).

    Parameters
    ----------
    kernel : ndarray, shape (C_out, C_in, k_h, k_w)
    bias : ndarray, shape (C_out,)
    stride, padding : int
        Same stride and zero padding along both axes.
    activation : {"linear", "relu", "sigmoid"}

    Examples
    --------
    One 2x2 kernel of ones on a 1 x 3 x 3 image (stride 1, no padding) gives a 1 x 2 x 2 map:

    >>> import numpy as np
    >>> conv = ConvLayer(np.ones((1, 1, 2, 2)), np.zeros(1), activation="relu")
    >>> conv.output_shape((1, 3, 3))
    (1, 2, 2)
    >>> conv_link_counts(conv, (1, 3, 3)).tolist()
    [[4, 4], [4, 4]]
    """

    kernel: np.ndarray
    bias: np.ndarray
    stride: int = 1
    padding: int = 0
    activation: str = "linear"

    def __post_init__(self):
        k = _array(self.kernel, "ConvLayer.kernel", 4)
        b = _array(self.bias, "ConvLayer.bias", 1)
        if b.shape != (k.shape[0],):
            raise ValueError(f"ConvLayer.bias must have shape ({k.shape[0]},) (one per output "
                             f"channel of kernel {k.shape}); got {b.shape}")
        for name in ("stride", "padding"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (1 if name == "stride" else 0):
                raise ValueError(f"ConvLayer.{name} must be an int >= {1 if name == 'stride' else 0}; got {v!r}")
        object.__setattr__(self, "kernel", k)
        object.__setattr__(self, "bias", b)
        _check_activation(self.activation)

    def output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3 or input_shape[0] != self.kernel.shape[1]:
            raise ValueError(f"ConvLayer with kernel {self.kernel.shape} needs inputs of shape "
                             f"({self.kernel.shape[1]}, H, W); the previous layer gives {input_shape}")
        h, w = conv_output_shape(input_shape[1:], self.kernel.shape[2:], self.stride, self.padding)
        return (self.kernel.shape[0], h, w)


@dataclass(frozen=True, eq=False)
class RecurrentLayer:
    """An Elman recurrent layer unrolled over the rows of its input (eq. 8).

    ``h^(1) = 0``, ``h^(t+1) = f(x^(t) Omega + h^(t) U + beta)`` for ``t = 1..T``; the layer's
    output (to the next layer) is the last state ``h^(T+1)``.

    Parameters
    ----------
    input_weight : ndarray, shape (F, H)
        ``Omega`` (features of one time step -> hidden units).
    recurrent_weight : ndarray, shape (H, H)
        ``U``.
    bias : ndarray, shape (H,)
    activation : {"linear", "relu", "sigmoid"}

    Examples
    --------
    An Elman layer reading a 1 x 3 x 2 image row by row (three steps of two features, eq. 8):

    >>> import numpy as np
    >>> rnn = RecurrentLayer(np.ones((2, 4)) * 0.5, np.eye(4) * 0.1, np.zeros(4), "relu")
    >>> rnn.output_shape((1, 3, 2))
    (3, 4)
    >>> neuron_strength(rnn, as_sequence(np.ones((1, 1, 3, 2)))).shape
    (1, 3, 4)
    """

    input_weight: np.ndarray
    recurrent_weight: np.ndarray
    bias: np.ndarray
    activation: str = "linear"

    def __post_init__(self):
        om = _array(self.input_weight, "RecurrentLayer.input_weight", 2)
        u = _array(self.recurrent_weight, "RecurrentLayer.recurrent_weight", 2)
        b = _array(self.bias, "RecurrentLayer.bias", 1)
        h = om.shape[1]
        if u.shape != (h, h) or b.shape != (h,):
            raise ValueError(f"RecurrentLayer: input_weight {om.shape} has {h} hidden units, so "
                             f"recurrent_weight must be ({h}, {h}) and bias ({h},); got {u.shape}, {b.shape}")
        object.__setattr__(self, "input_weight", om)
        object.__setattr__(self, "recurrent_weight", u)
        object.__setattr__(self, "bias", b)
        _check_activation(self.activation)

    def output_shape(self, input_shape: tuple) -> tuple:
        """Shape of the unrolled neurons, ``(T, H)``."""
        t, f = _sequence_shape(input_shape)
        if f != self.input_weight.shape[0]:
            raise ValueError(f"RecurrentLayer expects {self.input_weight.shape[0]} features per time "
                             f"step; input {input_shape} gives {f} (channels x width)")
        return (t, self.input_weight.shape[1])


Layer = Union[DenseLayer, ConvLayer, RecurrentLayer]


def _sequence_shape(input_shape: tuple) -> tuple:
    if len(input_shape) == 3:  # (C, H, W): T = H rows of C * W features
        return input_shape[1], input_shape[0] * input_shape[2]
    if len(input_shape) == 2:  # (T, F)
        return tuple(input_shape)
    raise ValueError(f"a recurrent layer reads (C, H, W) images row by row or (T, F) sequences; "
                     f"got input shape {input_shape}")


def as_sequence(X: np.ndarray) -> np.ndarray:
    """Images ``(n, C, H, W)`` as sequences ``(n, T=H, F=C*W)``: ``x^(t)`` is row ``t``, channel-major.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(1, 2, 2, 3)     # one image, 2 channels, 2 rows, 3 columns
    >>> as_sequence(X).tolist()
    [[[0.0, 1.0, 2.0, 6.0, 7.0, 8.0], [3.0, 4.0, 5.0, 9.0, 10.0, 11.0]]]
    """
    X = np.asarray(X)
    if X.ndim == 3:
        return X
    if X.ndim != 4:
        raise ValueError(f"X must be images (n, C, H, W) or sequences (n, T, F); got shape {X.shape}")
    n, c, h, w = X.shape
    return X.transpose(0, 2, 1, 3).reshape(n, h, c * w)


@dataclass(frozen=True, eq=False)
class CNTNetwork:
    """A feed-forward stack of layers on inputs of shape ``input_shape`` (e.g. ``(1, 28, 28)``).

    A recurrent layer may only come first (it reads the image row by row); a convolution needs
    an image-shaped input; a dense layer flattens whatever it receives (C, H, W order).

    Examples
    --------
    A 2 -> 4 -> 1 network as La Malfa et al.'s graph of neurons (seeded weights):

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> net = CNTNetwork((DenseLayer(rng.normal(size=(2, 4)), rng.normal(size=4), "relu"),
    ...                   DenseLayer(rng.normal(size=(4, 1)), rng.normal(size=1))), (2,))
    >>> net.neuron_shapes()
    ((4,), (1,))
    >>> net.predict(np.zeros((3, 2))).shape
    (3, 1)
    """

    layers: tuple
    input_shape: tuple

    def __post_init__(self):
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("a CNTNetwork needs at least one layer")
        shape = tuple(int(s) for s in self.input_shape)
        for i, layer in enumerate(layers):
            if not isinstance(layer, (DenseLayer, ConvLayer, RecurrentLayer)):
                raise TypeError(f"layer {i} must be a DenseLayer, ConvLayer or RecurrentLayer; "
                                f"got {type(layer).__name__}")
            if isinstance(layer, RecurrentLayer) and i > 0:
                raise ValueError(f"layer {i} is recurrent: only the first layer may be recurrent")
            out = layer.output_shape(shape)
            shape = (out[1],) if isinstance(layer, RecurrentLayer) else out
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "input_shape", tuple(int(s) for s in self.input_shape))

    def neuron_shapes(self) -> tuple:
        """Shape of each layer's neurons (``(N,)``, ``(C, H, W)`` or unrolled ``(T, H)``)."""
        shapes, shape = [], self.input_shape
        for layer in self.layers:
            out = layer.output_shape(shape)
            shapes.append(out)
            shape = (out[1],) if isinstance(layer, RecurrentLayer) else out
        return tuple(shapes)

    def forward(self, X: np.ndarray) -> list:
        """Per layer, the neurons strength ``zeta`` (eq. 5/7/9), shape ``(n, *neuron_shape)``."""
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1:] != self.input_shape:
            if X.ndim < 2 or int(np.prod(X.shape[1:])) != int(np.prod(self.input_shape)):
                raise ValueError(f"X must have shape (n, {', '.join(map(str, self.input_shape))}) or "
                                 f"(n, {int(np.prod(self.input_shape))}); got {X.shape}")
            X = X.reshape((X.shape[0],) + self.input_shape)
        zetas, z = [], X
        for layer in self.layers:
            zeta = neuron_strength(layer, z)
            zetas.append(zeta)
            a = activate(zeta, layer.activation)
            z = a[:, -1] if isinstance(layer, RecurrentLayer) else a
        return zetas

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The network's output ``f^[L](zeta^[L])``, flattened to ``(n, N^[L])``."""
        last = self.forward(X)[-1]
        return activate(last, self.layers[-1].activation).reshape(len(last), -1)


# --------------------------------------------------------------------------- convolution arithmetic
def conv_output_shape(spatial: Sequence[int], kernel: Sequence[int], stride: int, padding: int) -> tuple:
    """Output ``(H', W')`` of a convolution: ``floor((H + 2p - k) / s) + 1`` per axis.

    Examples
    --------
    >>> conv_output_shape((28, 28), (3, 3), stride=2, padding=1)
    (14, 14)
    """
    out = tuple((int(n) + 2 * padding - int(k)) // stride + 1 for n, k in zip(spatial, kernel))
    if any(o < 1 for o in out):
        raise ValueError(f"a {tuple(kernel)} kernel with padding {padding} does not fit an input of "
                         f"size {tuple(spatial)}")
    return out


def _patches(Z: np.ndarray, layer: ConvLayer) -> np.ndarray:
    """Unfold ``Z (n, C, H, W)`` into patches ``(n, C, H', W', k_h, k_w)`` (zero padding)."""
    p, s = layer.padding, layer.stride
    kh, kw = layer.kernel.shape[2:]
    Zp = np.pad(Z, ((0, 0), (0, 0), (p, p), (p, p))) if p else Z
    windows = np.lib.stride_tricks.sliding_window_view(Zp, (kh, kw), axis=(2, 3))
    ho, wo = conv_output_shape(Z.shape[2:], (kh, kw), s, p)
    return windows[:, :, : (ho - 1) * s + 1: s, : (wo - 1) * s + 1: s]


def _axis_counts(n_in: int, k: int, stride: int, padding: int) -> np.ndarray:
    """For each kernel offset ``a``, how many output positions put it on a real input pixel."""
    n_out = (n_in + 2 * padding - k) // stride + 1
    pos = np.arange(n_out)[:, None] * stride + np.arange(k)[None, :] - padding
    return ((pos >= 0) & (pos < n_in)).sum(axis=0)


def conv_link_counts(layer: ConvLayer, input_shape: tuple) -> np.ndarray:
    """Multiplicity of each kernel entry as a link of the unrolled (Toeplitz) graph, ``(k_h, k_w)``.

    Entry ``(a, b)`` connects one input pixel to one output neuron for every output position
    whose patch puts offset ``(a, b)`` on a real input pixel (padding pixels are not neurons).

    Examples
    --------
    A 2x2 kernel on a 3x3 image: without padding each kernel entry is a link at all four output
    positions; with padding 1 there are 16 positions, but each entry falls on a real pixel at only
    9 of them:

    >>> import numpy as np
    >>> conv_link_counts(ConvLayer(np.ones((1, 1, 2, 2)), np.zeros(1)), (1, 3, 3)).tolist()
    [[4, 4], [4, 4]]
    >>> conv_link_counts(ConvLayer(np.ones((1, 1, 2, 2)), np.zeros(1), padding=1), (1, 3, 3)).tolist()
    [[9, 9], [9, 9]]
    """
    kh, kw = layer.kernel.shape[2:]
    ca = _axis_counts(input_shape[1], kh, layer.stride, layer.padding)
    cb = _axis_counts(input_shape[2], kw, layer.stride, layer.padding)
    return np.outer(ca, cb)


def _conv_transpose_ones(layer: ConvLayer, input_shape: tuple) -> np.ndarray:
    """``sum_o sum_patches covering (c, y, x) K[o, c, a, b]``: the out-strength of each input pixel."""
    c, h, w = input_shape
    kh, kw = layer.kernel.shape[2:]
    s, p = layer.stride, layer.padding
    ho, wo = conv_output_shape((h, w), (kh, kw), s, p)
    ksum = layer.kernel.sum(axis=0)  # (C_in, kh, kw): all output channels
    acc = np.zeros((c, h + 2 * p, w + 2 * p))
    for a in range(kh):
        for b in range(kw):
            acc[:, a: a + (ho - 1) * s + 1: s, b: b + (wo - 1) * s + 1: s] += ksum[:, a, b][:, None, None]
    return acc[:, p: p + h, p: p + w]


# --------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class LinkWeights:
    """Eq. 1-2: mean ``mu`` and variance ``delta`` of the link weights ``omega_ij + beta_j``.

    ``values``/``counts``: the distinct link values and how many links carry each (a kernel
    entry of a convolution is one link per patch; an RNN weight one link per time step).

    Examples
    --------
    Eq. 1-2 on a 2 -> 2 layer: the links are ``omega_ij + beta_j``:

    >>> import numpy as np
    >>> lw = link_weights(DenseLayer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0])))
    >>> lw.values.tolist(), lw.mean, lw.variance
    ([1.0, 3.0, 3.0, 5.0], 3.0, 2.0)
    """

    mean: float
    variance: float
    values: np.ndarray
    counts: np.ndarray

    @property
    def n_links(self) -> int:
        return int(self.counts.sum())


def _weighted_link_weights(values: np.ndarray, counts: np.ndarray) -> LinkWeights:
    values = np.asarray(values, dtype=np.float64).ravel()
    counts = np.asarray(counts, dtype=np.int64).ravel()
    keep = counts > 0
    values, counts = values[keep], counts[keep]
    total = counts.sum()
    mean = float(np.dot(values, counts) / total)
    var = float(np.dot((values - mean) ** 2, counts) / total)
    return LinkWeights(mean, var, values, counts)


def link_weights(layer: Layer, input_shape: Optional[tuple] = None, *,
                 include_bias: bool = True) -> LinkWeights:
    """Link weights mean and variance of a layer (eq. 1-2), bias of the target neuron added.

    Parameters
    ----------
    layer : DenseLayer, ConvLayer or RecurrentLayer
    input_shape : tuple
        The layer's input shape ``(C, H, W)``; needed for convolutions (which links exist
        depends on the padding at the border) and recurrent layers (the number of steps).
    include_bias : bool
        ``False`` gives the statistics of the bare weights ``omega_ij``.

    Examples
    --------
    Link weights mean and variance (La Malfa et al. eq. 1-2), the bias of the target neuron added to
    each of its links:

    >>> import numpy as np
    >>> lw = link_weights(DenseLayer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0])))
    >>> lw.mean, lw.variance
    (3.0, 2.0)
    >>> link_weights(DenseLayer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0])),
    ...              include_bias=False).mean
    2.5
    """
    if isinstance(layer, DenseLayer):
        vals = layer.weight + (layer.bias[None, :] if include_bias else 0.0)
        return _weighted_link_weights(vals, np.ones(vals.shape, dtype=np.int64))
    if input_shape is None:
        raise ValueError(f"link_weights of a {type(layer).__name__} needs input_shape= (C, H, W)")
    if isinstance(layer, ConvLayer):
        layer.output_shape(tuple(input_shape))
        vals = layer.kernel + (layer.bias[:, None, None, None] if include_bias else 0.0)
        counts = np.broadcast_to(conv_link_counts(layer, input_shape)[None, None], vals.shape)
        return _weighted_link_weights(vals, counts)
    if isinstance(layer, RecurrentLayer):
        t, _ = layer.output_shape(tuple(input_shape))
        b = layer.bias[None, :] if include_bias else 0.0
        v_in, v_rec = layer.input_weight + b, layer.recurrent_weight + b
        counts = np.concatenate([np.full(v_in.size, t), np.full(v_rec.size, t - 1)])
        return _weighted_link_weights(np.concatenate([v_in.ravel(), v_rec.ravel()]), counts)
    raise TypeError(f"layer must be a DenseLayer, ConvLayer or RecurrentLayer; got {type(layer).__name__}")


def node_strength_in(layer: Layer, input_shape: tuple) -> np.ndarray:
    """``s_in,k = sum_i omega_ik + beta_k`` for every neuron of the layer (eq. 3), neuron-shaped.

    For a convolution the sum runs over the kernel entries on real pixels of the neuron's
    patch; for a recurrent layer over ``Omega`` and, for ``t > 1``, ``U``.

    Examples
    --------
    ``s_in,k = sum_i omega_ik + beta_k`` (eq. 3), the bias counted once:

    >>> import numpy as np
    >>> node_strength_in(DenseLayer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0])), (2,)).tolist()
    [4.0, 7.0]
    """
    if isinstance(layer, RecurrentLayer):
        t, _ = layer.output_shape(tuple(input_shape))
        s = np.tile(layer.input_weight.sum(axis=0) + layer.bias, (t, 1))
        s[1:] += layer.recurrent_weight.sum(axis=0)
        return s
    ones = np.ones((1,) + tuple(input_shape))
    return neuron_strength(layer, ones)[0]


def node_strength_out(layer: Layer, input_shape: tuple, next_layer: Optional[Layer]) -> np.ndarray:
    """``s_out,k = sum_j omega^[l+1]_kj`` for every neuron of ``layer`` (eq. 3), neuron-shaped.

    ``next_layer=None`` (the output layer): zeros, the empty sum. A recurrent layer's neurons
    at steps ``t < T`` link through ``U``; those at ``T`` to ``next_layer``.

    Examples
    --------
    ``s_out,k = sum_j omega^[l+1]_kj`` (eq. 3); the output layer has no out-links:

    >>> import numpy as np
    >>> hidden = DenseLayer(np.ones((2, 2)), np.zeros(2), "relu")
    >>> out = DenseLayer(np.array([[1.0], [-2.0]]), np.zeros(1))
    >>> node_strength_out(hidden, (2,), out).tolist(), node_strength_out(out, (2,), None).tolist()
    ([1.0, -2.0], [0.0])
    """
    shape = layer.output_shape(tuple(input_shape))
    if isinstance(layer, RecurrentLayer):
        out = np.zeros(shape)
        out[:-1] = layer.recurrent_weight.sum(axis=1)
        if isinstance(next_layer, DenseLayer):
            if next_layer.weight.shape[0] != shape[1]:
                raise ValueError(f"next layer expects {next_layer.weight.shape[0]} inputs; the recurrent "
                                 f"layer has {shape[1]} hidden units")
            out[-1] = next_layer.weight.sum(axis=1)
        elif next_layer is not None:
            raise ValueError(f"a {type(next_layer).__name__} cannot follow a RecurrentLayer")
        return out
    if next_layer is None:
        return np.zeros(shape)
    if isinstance(next_layer, DenseLayer):
        if next_layer.weight.shape[0] != int(np.prod(shape)):
            raise ValueError(f"next layer expects {next_layer.weight.shape[0]} inputs; this layer has "
                             f"{int(np.prod(shape))} neurons")
        return next_layer.weight.sum(axis=1).reshape(shape)
    if isinstance(next_layer, ConvLayer):
        next_layer.output_shape(shape)
        return _conv_transpose_ones(next_layer, shape)
    raise ValueError(f"a {type(next_layer).__name__} cannot follow a {type(layer).__name__}")


def layer_fluctuation(strength: np.ndarray) -> float:
    """Layers fluctuation (eq. 4): ``sqrt(sum_i (s_i - mean s)^2 / N)`` over the layer's neurons.

    Examples
    --------
    Eq. 4, the population standard deviation of the nodes strengths:

    >>> import numpy as np
    >>> layer_fluctuation(np.array([1.0, 3.0]))
    1.0
    """
    s = np.asarray(strength, dtype=np.float64).ravel()
    if s.size == 0:
        raise ValueError("layer_fluctuation needs at least one node strength")
    return float(np.sqrt(np.mean((s - s.mean()) ** 2)))


def neuron_strength(layer: Layer, Z: np.ndarray) -> np.ndarray:
    """Neurons strength ``zeta`` of ``layer`` for the previous layer's outputs ``Z`` (eq. 5, 7, 9).

    Returns ``(n, *neuron_shape)``: ``Z Omega + beta`` (dense); per patch ``<patch, K_o> + beta_o``
    by unfolding (convolution, eq. 7); per time step ``x^(t) Omega + h^(t) U + beta``
    (recurrent, eq. 9, with ``h^(t)`` the activated state of the previous step).

    Examples
    --------
    ``zeta_k = sum_i z_i omega_ik + beta_k`` (eq. 5) for two inputs:

    >>> import numpy as np
    >>> layer = DenseLayer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, -10.0]), "relu")
    >>> neuron_strength(layer, np.array([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [[1.0, -8.0], [3.0, -6.0]]
    """
    Z = np.asarray(Z, dtype=np.float64)
    if isinstance(layer, DenseLayer):
        Z = Z.reshape(len(Z), -1)
        if Z.shape[1] != layer.weight.shape[0]:
            raise ValueError(f"Z has {Z.shape[1]} features but the layer expects {layer.weight.shape[0]}")
        return Z @ layer.weight + layer.bias
    if isinstance(layer, ConvLayer):
        if Z.ndim != 4:
            raise ValueError(f"a ConvLayer needs Z of shape (n, C, H, W); got {Z.shape}")
        layer.output_shape(Z.shape[1:])
        return np.einsum("ncyxab,ocab->noyx", _patches(Z, layer), layer.kernel, optimize=True) \
            + layer.bias[None, :, None, None]
    if isinstance(layer, RecurrentLayer):
        X = as_sequence(Z)
        if X.shape[2] != layer.input_weight.shape[0]:
            raise ValueError(f"sequences have {X.shape[2]} features per step; the layer expects "
                             f"{layer.input_weight.shape[0]}")
        n, t, _ = X.shape
        drive = X @ layer.input_weight + layer.bias  # (n, T, H)
        zeta = np.empty_like(drive)
        h = np.zeros((n, layer.input_weight.shape[1]))
        for step in range(t):
            zeta[:, step] = drive[:, step] + h @ layer.recurrent_weight
            h = activate(zeta[:, step], layer.activation)
        return zeta
    raise TypeError(f"layer must be a DenseLayer, ConvLayer or RecurrentLayer; got {type(layer).__name__}")


def neuron_activation(layer: Layer, Z: np.ndarray) -> np.ndarray:
    """Neurons activation ``a = f^[l](zeta)`` (eq. 6).

    Examples
    --------
    ``a_k = f(zeta_k)`` (eq. 6):

    >>> import numpy as np
    >>> layer = DenseLayer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, -10.0]), "relu")
    >>> neuron_activation(layer, np.array([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [[1.0, 0.0], [3.0, 0.0]]
    """
    return activate(neuron_strength(layer, Z), layer.activation)


def _activation_derivative(zeta: np.ndarray, activation: str) -> np.ndarray:
    if activation == "linear":
        return np.ones_like(zeta)
    if activation == "relu":
        return (zeta > 0).astype(np.float64)
    a = activate(zeta, "sigmoid")
    return a * (1.0 - a)


def rnn_pixel_elicitation(layer: RecurrentLayer, X: np.ndarray) -> np.ndarray:
    """How much each input pixel elicits the recurrent neurons (Fig. 3 heatmaps), ``(T, F)``.

    The attribution of pixel ``i`` of row ``t`` to the total neurons strength of the unrolled
    layer, ``S = sum_t' sum_k zeta_k^(t')`` (eq. 9), is input times gradient,
    ``x_i^(t) dS/dx_i^(t)``, averaged over the samples. The gradient follows the recursion
    backwards: ``g^(T) = 1``, ``g^(t) = 1 + f'(zeta^(t)) * (U g^(t+1))`` (``g^(t) = dS/dzeta^(t)``),
    and ``dS/dx^(t) = Omega g^(t)``. A pixel of row ``t`` thus counts both its direct drive
    ``x^(t) Omega`` and its effect, through the state, on all later steps. For a one-channel
    image the map has the image's shape.

    Examples
    --------
    Input times gradient of the total neurons strength (Fig. 3 of La Malfa et al.) for 2x2 images
    read row by row:

    >>> import numpy as np
    >>> rnn = RecurrentLayer(np.ones((2, 3)), np.eye(3) * 0.5, np.zeros(3), "relu")
    >>> rnn_pixel_elicitation(rnn, np.ones((4, 1, 2, 2))).tolist()
    [[4.5, 4.5], [3.0, 3.0]]
    """
    if not isinstance(layer, RecurrentLayer):
        raise TypeError(f"layer must be a RecurrentLayer; got {type(layer).__name__}")
    S = as_sequence(np.asarray(X, dtype=np.float64))
    if S.shape[2] != layer.input_weight.shape[0]:
        raise ValueError(f"X has {S.shape[2]} features per row; the layer expects {layer.input_weight.shape[0]}")
    zeta = neuron_strength(layer, S)  # (n, T, H)
    g = np.ones(zeta.shape[::2])  # (n, H) at the last step
    grads = np.empty_like(zeta)
    grads[:, -1] = g
    for t in range(zeta.shape[1] - 2, -1, -1):
        g = 1.0 + _activation_derivative(zeta[:, t], layer.activation) * (g @ layer.recurrent_weight.T)
        grads[:, t] = g
    return (S * (grads @ layer.input_weight.T)).mean(axis=0)


@dataclass(frozen=True)
class LayerCNT:
    """All CNT metrics of one layer (its output neurons), for one network and one sample of inputs.

    Arrays over neurons are flattened in the layer's neuron order (``neuron_shape``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> net = CNTNetwork((DenseLayer(rng.normal(size=(2, 4)), rng.normal(size=4), "relu"),
    ...                   DenseLayer(rng.normal(size=(4, 1)), rng.normal(size=1))), (2,))
    >>> first = network_cnt(net, rng.normal(size=(10, 2)))[0]
    >>> first.index, first.kind, first.neuron_shape, first.neuron_strength.shape
    (0, 'dense', (4,), (10, 4))
    >>> bool(np.allclose(first.node_strength, first.node_strength_in + first.node_strength_out))
    True
    """

    index: int
    kind: str
    neuron_shape: tuple
    link_weights: LinkWeights
    node_strength_in: np.ndarray
    node_strength_out: np.ndarray
    neuron_strength: np.ndarray
    neuron_activation: np.ndarray

    @property
    def node_strength(self) -> np.ndarray:
        """``s_k = s_in,k + s_out,k`` (eq. 3)."""
        return self.node_strength_in + self.node_strength_out

    @property
    def layer_fluctuation(self) -> float:
        """Eq. 4 on the total nodes strength."""
        return layer_fluctuation(self.node_strength)


def network_cnt(network: CNTNetwork, X: np.ndarray) -> tuple:
    """Every CNT metric of every layer of ``network`` on the inputs ``X`` (``(n, *input_shape)``).

    Returns a tuple of :class:`LayerCNT`, one per layer (layer ``l`` = ``index + 1`` in the
    paper's numbering).

    Examples
    --------
    Every metric of La Malfa et al. (eq. 1-6) for each layer of a seeded 2 -> 4 -> 1 network:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> net = CNTNetwork((DenseLayer(rng.normal(size=(2, 4)), rng.normal(size=4), "relu"),
    ...                   DenseLayer(rng.normal(size=(4, 1)), rng.normal(size=1))), (2,))
    >>> layers = network_cnt(net, rng.normal(size=(10, 2)))
    >>> [(m.index, m.kind, m.neuron_shape) for m in layers]
    [(0, 'dense', (4,)), (1, 'dense', (1,))]
    >>> [round(m.layer_fluctuation, 4) for m in layers]
    [1.5003, 0.0]
    """
    if not isinstance(network, CNTNetwork):
        raise TypeError(f"network must be a CNTNetwork; got {type(network).__name__}")
    zetas = network.forward(X)
    shapes = network.neuron_shapes()
    out, shape = [], network.input_shape
    for i, layer in enumerate(network.layers):
        nxt = network.layers[i + 1] if i + 1 < len(network.layers) else None
        zeta = zetas[i]
        n = len(zeta)
        out.append(LayerCNT(
            index=i, kind=type(layer).__name__.replace("Layer", "").lower(), neuron_shape=shapes[i],
            link_weights=link_weights(layer, shape),
            node_strength_in=node_strength_in(layer, shape).ravel(),
            node_strength_out=node_strength_out(layer, shape, nxt).ravel(),
            neuron_strength=zeta.reshape(n, -1),
            neuron_activation=activate(zeta, layer.activation).reshape(n, -1)))
        shape = (shapes[i][1],) if isinstance(layer, RecurrentLayer) else shapes[i]
    return tuple(out)


# --------------------------------------------------------------------------- distribution statistics
def count_modes(values: np.ndarray, *, bandwidth: Union[str, float] = "scott", grid_size: int = 512,
                min_prominence: float = 0.05, max_points: int = 20000, seed: int = 0) -> int:
    """Number of modes of the Gaussian KDE of ``values`` (used for "the distribution is multimodal").

    A mode is a local maximum of the density whose prominence is at least ``min_prominence``
    times the highest density (so sampling wiggles are not counted). The KDE is evaluated on
    ``grid_size`` points spanning the data +- 3 bandwidths; at most ``max_points`` values
    (a seeded subsample) enter the estimate.

    Examples
    --------
    A mixture of two well separated Gaussians has two modes (seeded sample):

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> count_modes(np.r_[rng.normal(-3, 0.5, 500), rng.normal(3, 0.5, 500)]), count_modes(rng.normal(size=500))
    (2, 1)
    """
    from scipy.signal import find_peaks
    from scipy.stats import gaussian_kde

    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2 or np.ptp(v) == 0:
        return 1 if v.size else 0
    if v.size > max_points:
        v = np.random.default_rng(seed).choice(v, max_points, replace=False)
    kde = gaussian_kde(v, bw_method=bandwidth)
    bw = float(np.sqrt(kde.covariance[0, 0]))
    grid = np.linspace(v.min() - 3 * bw, v.max() + 3 * bw, int(grid_size))
    dens = kde(grid)
    peaks, _ = find_peaks(np.concatenate([[0.0], dens, [0.0]]), prominence=min_prominence * dens.max())
    return int(len(peaks))


def negative_fraction(values: np.ndarray, weights: Optional[np.ndarray] = None) -> float:
    """Share of ``values`` below zero, optionally weighted (e.g. links by multiplicity).

    Examples
    --------
    >>> import numpy as np
    >>> negative_fraction(np.array([-1.0, 2.0, -3.0, 4.0])), negative_fraction(np.array([-1.0, 2.0]), np.array([3.0, 1.0]))
    (0.5, 0.75)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if v.size == 0 or w.shape != v.shape or w.sum() <= 0:
        raise ValueError(f"need non-empty values and positive weights of the same shape; got {v.shape}, {w.shape}")
    return float(w[v < 0].sum() / w.sum())


def elicitation_concentration(elicitation: np.ndarray, top_fraction: float = 0.1) -> float:
    """Share of the total ``|E|`` held by the top ``top_fraction`` of pixels of an elicitation map.

    1 means a few pixels drive the neurons (a localised map); ``top_fraction`` means a uniform
    map. Used to compare trained and untrained RNNs (Fig. 3).

    Examples
    --------
    A map with all its mass on one of ten pixels is fully concentrated; a uniform one is not:

    >>> import numpy as np
    >>> elicitation_concentration(np.eye(1, 10)), elicitation_concentration(np.ones(10))
    (1.0, 0.1)
    """
    e = np.sort(np.abs(np.asarray(elicitation, dtype=np.float64)).ravel())[::-1]
    if not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction must lie in (0, 1]; got {top_fraction!r}")
    if e.size == 0 or e.sum() == 0:
        raise ValueError("the elicitation map is empty or zero everywhere")
    k = max(1, int(round(top_fraction * e.size)))
    return float(e[:k].sum() / e.sum())
