"""A piecewise-linear torch model as a graph of affine steps, ReLU-like steps and max-pools.

:func:`pl_graph` traces a torch model with ``torch.fx`` (``nn.Sequential`` nests, torchvision's
``BasicBlock`` / ``Bottleneck``, any module whose ``forward`` is ``relu(f(x) + g(x))``), copies it
to float64 in evaluation mode, and sorts every step of the trace into one of

* **affine** -- affine in its input-dependent arguments: ``Linear``, ``Conv1d/2d/3d`` (any
  stride, padding, dilation, groups), ``BatchNorm`` with running statistics (evaluation mode),
  ``AvgPool``, ``AdaptiveAvgPool``, ``Flatten``, ``Dropout`` (the identity at evaluation),
  padding, reshapes, sums of tensors (residual connections), products with constants;
* **relu** -- ``ReLU``, ``LeakyReLU``, ``PReLU``: ``z -> z`` for ``z > 0``, ``z -> a z`` otherwise;
  one bit per neuron, ``1`` iff ``z > 0`` (Liu et al. 2023, eq. 4-5);
* **max** -- ``MaxPool1d/2d``: the winner of each window (the first entry attaining the maximum)
  is part of the pattern, as one-hot bits over the window's entries.

Anything else (``Sigmoid``, ``GELU``, ``Tanh``, attention, products of two inputs) raises
:class:`UnsupportedModelError` naming the module or function. The graph then runs batches of
points in float64 stage by stage -- the affine steps up to a nonlinear step, the nonlinear step
-- keeping only the tensors later steps still need (:meth:`PLGraph.run_to`,
:meth:`PLGraph.apply_nonlinear`). This is what the exact slice refinement of
:mod:`relutopo.slice_refine` walks through. A convolution on a small spatial input (ResNet's
2 x 2 and 1 x 1 stages at 32 x 32 inputs) runs as one dense matrix product whose entries are
the kernel's weights, and one with a few output positions (the 4 x 4 stage) as products over
the inputs its taps reach, without the padding (``PLGraph.dense_conv``; the same function up to
the order of the float64 sums), and a ``BatchNorm`` right after a convolution that nothing
else reads is folded into its weights (``PLGraph.fold_bn``; one pass over the output less).
:func:`dense_relunet` turns a model without skip
connections or max-pools into a :class:`relutopo.nets.ReluNet` with dense matrices (exact in all
of input space).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
import operator
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from . import tolerances as tol
from .nets import NetworkError, ReluNet
from .patterns import pack_bits
from .validation import check_finite_tensors

__all__ = ["PLGraph", "pl_graph", "dense_relunet", "UnsupportedModelError", "Stage",
           "digest_chain", "DIGEST_SEED", "DIGEST_BYTES"]

#: Bytes of a pattern digest (blake2b); the digest of a region is chained over its stages.
DIGEST_BYTES = 16
#: The digest before the first stage.
DIGEST_SEED = bytes(DIGEST_BYTES)


class UnsupportedModelError(NetworkError):
    """The model contains a module or function that is not piecewise linear (or not supported).

    Examples
    --------
    A sigmoid is not piecewise linear:

    >>> import torch
    >>> pl_graph(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid()), (2,))  # error expected
    Traceback (most recent call last):
        ...
    relutopo.pl_graph.UnsupportedModelError: module '1' is Sigmoid, which is not ...
    """


#: Batches whose live tensors hold fewer floats than this run on one torch thread: for small
#: operations OpenMP's start-up (tens of ms on a loaded machine) costs more than it saves.
SMALL_WORK = 1 << 20


#: A convolution whose dense matrix (input size x output size) has at most this many times its
#: multiply-adds (and at most ``DENSE_CONV_MAX_ELEMS`` entries) runs as one matrix product: at
#: small spatial sizes (ResNet's 2 x 2 and 1 x 1 stages) most of an im2col convolution's work
#: multiplies padding, and a dense float64 GEMM runs several times faster per multiply-add.
DENSE_CONV_FACTOR = 2.0
#: Entries of the largest dense convolution matrix kept (float64: 64 MB).
DENSE_CONV_MAX_ELEMS = 1 << 23
#: Keep a dense convolution matrix column-major (the transpose of a contiguous matrix). With one
#: torch thread, float64 products of 150-250 rows (a refinement chunk after ResNet-18's max-pool
#: has ~190) by a 2048 x 2048 matrix ran at 40 GMAC/s this way against 31 row-major (the same at
#: 256 rows and more); only the rounding of the products changes.
DENSE_CONV_COLUMN_MAJOR = True


#: Bytes of unfolded input (im2col: ``C_in * prod(kernel) * prod(output size)`` floats per
#: point) that one call of a torch convolution gets; a larger batch runs in slices of this size.
#: torch's float64 convolution unfolds the whole batch into one buffer: at a refinement chunk's
#: few hundred points that is 100+ MB of fresh memory, and ResNet-18's 8 x 8 x 64 convolutions
#: ran at 200 us per point against 95 in slices of 16-32 points (8 MB). In slices of 2 MB (7
#: points; the unfolded input stays in a core's cache) they take 100 us against 128 at 28 points
#: in the same run (the same floats: every point is convolved on its own either way).
CONV_SLICE_BYTES = 2 << 20


def _conv_in_slices(mod, x):
    """``mod(x)`` for a torch convolution module, in slices of the batch that keep its unfolded
    input within ``CONV_SLICE_BYTES`` (see there); the same floats as one call."""
    import torch

    n = x.shape[0]
    out_elems = int(np.prod(x.shape[2:])) // int(np.prod(mod.stride))  # about the output size
    per = 8 * int(np.prod(mod.weight.shape[1:])) * mod.groups * max(out_elems, 1)
    step = max(1, CONV_SLICE_BYTES // per)
    if n <= step:
        return mod(x)
    return torch.cat([mod(x[i:i + step]) for i in range(0, n, step)])


def _folded_conv_bn(conv, bn):
    """A copy of convolution ``conv`` whose weights and bias are those of ``bn(conv(x))`` for
    ``BatchNorm`` ``bn`` at evaluation (running statistics): ``W s`` and ``(b - mean) s + beta``
    per output channel, ``s = gamma / sqrt(var + eps)``. ``None`` when ``bn`` does not match
    (other channel count, no running statistics). The same function up to the rounding of the
    float64 products; one pass over the output less."""
    import torch

    mean, var = bn.running_mean, bn.running_var
    if mean is None or var is None or mean.numel() != conv.out_channels:
        return None
    with torch.no_grad():
        s = 1.0 / torch.sqrt(var.to(torch.float64) + bn.eps)
        shift = -mean.to(torch.float64) * s
        if bn.weight is not None:
            s = s * bn.weight.to(torch.float64)
            shift = shift * bn.weight.to(torch.float64)
        if conv.bias is not None:
            shift = shift + conv.bias.to(torch.float64) * s
        if bn.bias is not None:
            shift = shift + bn.bias.to(torch.float64)
        fused = copy.deepcopy(conv)
        fused.weight = torch.nn.Parameter(conv.weight.to(torch.float64)
                                          * s.reshape((-1,) + (1,) * (conv.weight.ndim - 1)), requires_grad=False)
        fused.bias = torch.nn.Parameter(shift, requires_grad=False)
    return fused


def _conv2d_reads(mod, in_shape, out_shape):
    """The taps of a zero-padded, ungrouped ``Conv2d`` that read its input: ``(ho, wo, i, j, hi,
    wi)`` for every output position ``(ho, wo)`` (in C order) and kernel tap ``(i, j)`` (in C
    order) whose input position ``(hi, wi) = (ho s - p + i d, wo s - p + j d)`` lies in the input
    (the others read zero padding); ``None`` for other convolutions."""
    import torch.nn as nn

    if (type(mod) is not nn.Conv2d or mod.padding_mode != "zeros" or mod.groups != 1
            or isinstance(mod.padding, str) or len(in_shape) != 3):
        return None
    _, H, Wd = in_shape
    _, Ho, Wo = out_shape
    kh, kw = mod.weight.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = mod.stride, mod.padding, mod.dilation
    return [(ho, wo, i, j, ho * sh - ph + i * dh, wo * sw - pw + j * dw)
            for ho in range(Ho) for wo in range(Wo) for i in range(kh) for j in range(kw)
            if 0 <= ho * sh - ph + i * dh < H and 0 <= wo * sw - pw + j * dw < Wd]


def _conv2d_matrix(mod, in_shape, out_shape):
    """The dense matrix ``(C_in H W, C_out H' W')`` of a zero-padded, ungrouped ``Conv2d``
    (without bias), placed from its kernel by index arithmetic (:func:`_conv2d_reads`); ``None``
    for other convolutions."""
    import torch

    reads = _conv2d_reads(mod, in_shape, out_shape)
    if reads is None:
        return None
    W = mod.weight.detach().to(torch.float64)
    co, ci = W.shape[:2]
    _, H, Wd = in_shape
    _, Ho, Wo = out_shape
    D = torch.zeros((ci, H, Wd, co, Ho, Wo), dtype=torch.float64)
    for ho, wo, i, j, hi, wi in reads:
        D[:, hi, wi, :, ho, wo] = W[:, :, i, j].T
    return D.reshape(ci * H * Wd, co * Ho * Wo)


#: A 2-D convolution with at most this many output positions may run *gathered*
#: (:func:`_gathered_conv2d`): per group of output positions that its kernel reaches with the
#: same taps, one matrix product of the inputs those taps read (channels last) by the stacked
#: taps' weights. No product multiplies padding (ResNet-18's 4 x 4 x 128 convolutions at 32 x 32
#: inputs have 100 of their 144 taps in range) and the products are large enough for MKL's fast
#: kernels; with more positions the products get small, and torch's convolution is faster.
GATHER_CONV_MAX_POSITIONS = 16
#: The gathered form is taken when its multiply-adds are at most this fraction of torch's
#: (which multiplies the padding too) ...
GATHER_CONV_TORCH_RATIO = 0.8
#: ... and the dense matrix (when one is kept) has more than this many times its multiply-adds:
#: a dense float64 product runs about 1.5x faster per multiply-add than the gathered one. With
#: one torch thread, ResNet-18's 4 x 4 x 128 convolution took 65 us per point gathered, 114 as a
#: dense matrix and 94 by torch (200 points); its 2 x 2 x 256 one stays dense.
GATHER_CONV_DENSE_RATIO = 1.5
#: Bytes of gathered input per slice of the batch in a gathered convolution (the products'
#: rows: a few hundred points at ResNet-18's 4 x 4 x 128).
GATHER_CONV_SLICE_BYTES = 16 << 20


@dataclass(frozen=True)
class _GatheredConv:
    """A zero-padded, ungrouped ``Conv2d`` (without bias) as products per group of output
    positions (:func:`_gathered_conv2d`). ``groups``: ``(outputs, inputs, weights)`` per group:
    the flat output positions ``(n,)``, the flat input positions each reads ``(n, taps)``, and
    the taps' stacked weights ``(taps * C_in, C_out)``."""

    in_shape: tuple
    out_shape: tuple
    groups: tuple
    macs: int       # multiply-adds per point (the taps in range only)
    complete: bool  # every output position reads at least one input

    def __call__(self, x):
        import torch

        ci, H, W = self.in_shape
        co, Ho, Wo = self.out_shape
        n = x.shape[0]
        per = max(1, GATHER_CONV_SLICE_BYTES // max(8 * self.macs // co, 1))
        out = (torch.empty if self.complete else torch.zeros)((n, Ho * Wo, co), dtype=torch.float64)
        for i in range(0, n, per):
            xcl = x[i:i + per].reshape(-1, ci, H * W).transpose(1, 2).contiguous()  # (m, H W, C_in)
            m = xcl.shape[0]
            for outs, ins, w in self.groups:
                y = xcl[:, ins, :].reshape(m * outs.numel(), -1) @ w
                out[i:i + m, outs, :] = y.reshape(m, outs.numel(), co)
        return out.transpose(1, 2).reshape(n, co, Ho, Wo).contiguous()


def _gathered_conv2d(mod, in_shape, out_shape):
    """The :class:`_GatheredConv` of a zero-padded, ungrouped ``Conv2d`` whose output has at most
    ``GATHER_CONV_MAX_POSITIONS`` positions (its taps that read the input: :func:`_conv2d_reads`);
    ``None`` for other convolutions."""
    import torch

    if len(out_shape) != 3 or out_shape[1] * out_shape[2] > GATHER_CONV_MAX_POSITIONS:
        return None
    co, Ho, Wo = out_shape
    reads = _conv2d_reads(mod, in_shape, out_shape)
    if reads is None:
        return None
    W = mod.weight.detach().to(torch.float64)
    ci, Wd = W.shape[1], in_shape[2]
    taps_at = {}  # output position -> (its taps, the input positions they read)
    for ho, wo, i, j, hi, wi in reads:
        taps, ins = taps_at.setdefault(ho * Wo + wo, ([], []))
        taps.append((i, j))
        ins.append(hi * Wd + wi)
    by_taps = {}  # output positions with the same taps form one group
    for o, (taps, ins) in taps_at.items():
        outs, group_reads = by_taps.setdefault(tuple(taps), ([], []))
        outs.append(o)
        group_reads.append(ins)
    groups = tuple((torch.tensor(outs), torch.tensor(group_reads),
                    torch.cat([W[:, :, i, j].T for i, j in taps]).contiguous())
                   for taps, (outs, group_reads) in by_taps.items())
    macs = len(reads) * ci * co
    return _GatheredConv(tuple(in_shape), tuple(out_shape), groups, macs, len(taps_at) == Ho * Wo)


class _threads_for:
    """Run small torch work on one thread; restores the thread count afterwards."""

    def __init__(self, values: dict):
        self.small = sum(v.numel() for k, v in values.items() if k != "__step__") < SMALL_WORK

    def __enter__(self):
        import torch

        self.saved = torch.get_num_threads()
        if self.small and self.saved != 1:
            torch.set_num_threads(1)

    def __exit__(self, *exc):
        import torch

        if torch.get_num_threads() != self.saved:
            torch.set_num_threads(self.saved)
        return False


def digest_chain(previous: bytes, packed_bits) -> bytes:
    """``blake2b(previous || packed_bits)``: the running digest of a pattern after one more stage.

    Two regions have equal digests iff their patterns are equal (up to a 2^-128 collision).

    Examples
    --------
    Equal patterns give equal digests, stage after stage:

    >>> import numpy as np
    >>> a = digest_chain(b"", np.array([3, 1], dtype=np.uint8))
    >>> a == digest_chain(b"", np.array([3, 1], dtype=np.uint8)), a == digest_chain(b"", np.array([3, 0], dtype=np.uint8))
    (True, False)
    >>> len(digest_chain(a, np.array([7], dtype=np.uint8))) == len(a)
    True

    The packed bits may come as their bytes:

    >>> digest_chain(b"", bytes([3, 1])) == a
    True
    """
    if not isinstance(packed_bits, bytes):  # a caller hashing one row many times passes its bytes
        packed_bits = np.ascontiguousarray(packed_bits, dtype=np.uint8).tobytes()
    return hashlib.blake2b(previous + packed_bits, digest_size=DIGEST_BYTES).digest()


@dataclass(frozen=True)
class Stage:
    """One nonlinear step of a :class:`PLGraph`.

    Attributes
    ----------
    name : str
        Qualified module name (``"layer1.0.relu"``) or the traced node's name.
    kind : {"relu", "max"}
    step : int
        Index of the step in the graph.
    input_shape : tuple
        Shape of the step's input for one point.
    n_bits : int
        Bits contributed to a pattern (neurons; windows x window entries for a max-pool).
    offset : int
        Index of the stage's first bit in a pattern.
    n_units : int
        Neurons (relu) or windows (max).
    window : int
        Entries per window (max), 0 for relu.

    Examples
    --------
    >>> import torch.nn as nn
    >>> g = pl_graph(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    ...                            nn.Linear(2, 3)), (1, 4, 4))
    >>> [(s.kind, s.input_shape, s.n_bits, s.offset) for s in g.stages]
    [('relu', (2, 2, 2), 8, 0), ('max', (2, 2, 2), 8, 8)]
    """

    name: str
    kind: str
    step: int
    input_shape: tuple
    n_bits: int
    offset: int
    n_units: int
    window: int = 0


_AFFINE_MODULE_NAMES = (
    "Linear", "Bilinear_", "Conv1d", "Conv2d", "Conv3d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d",
    "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d", "Flatten", "Unflatten", "Identity", "Dropout", "Dropout1d", "Dropout2d",
    "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d",
    "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
    "ReplicationPad2d", "CircularPad1d", "CircularPad2d")
_RELU_MODULE_NAMES = ("ReLU", "LeakyReLU", "PReLU")
_MAX_MODULE_NAMES = ("MaxPool1d", "MaxPool2d")
_DROPOUT_NAMES = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")

_SUPPORTED_TEXT = ("relutopo supports piecewise-linear models: Linear, Conv1d/2d/3d, BatchNorm "
                   "(running statistics), AvgPool, AdaptiveAvgPool, Flatten, Dropout, padding, "
                   "reshapes, sums (residual connections), products with constants, ReLU, "
                   "LeakyReLU, PReLU and MaxPool1d/2d")


def _function_tables():
    import torch
    import torch.nn.functional as F

    relu_fns = {F.relu: "relu", torch.relu: "relu", F.leaky_relu: "leaky", F.prelu: "prelu"}
    for name in ("relu_",):
        if hasattr(torch, name):
            relu_fns[getattr(torch, name)] = "relu"
    if hasattr(F, "relu_"):
        relu_fns[F.relu_] = "relu"
    max_fns = {F.max_pool1d: 1, F.max_pool2d: 2, torch.max_pool1d: 1, torch.max_pool2d: 2}
    linear_multi = {operator.add, operator.sub, operator.iadd, operator.isub, torch.add, torch.sub,
                    torch.cat, torch.concat, torch.stack}
    linear_unary = {operator.neg, torch.neg, torch.flatten, torch.reshape, torch.squeeze,
                    torch.unsqueeze, torch.transpose, torch.permute, F.avg_pool1d, F.avg_pool2d,
                    F.avg_pool3d, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d,
                    F.pad, torch.mean, torch.sum, F.dropout, F.dropout1d, F.dropout2d, F.dropout3d,
                    F.alpha_dropout, F.feature_alpha_dropout, F.linear, F.conv1d, F.conv2d, F.conv3d,
                    F.batch_norm, operator.getitem, torch.clone}
    scaling = {operator.mul, operator.imul, operator.truediv, operator.itruediv, torch.mul, torch.div}
    return relu_fns, max_fns, linear_multi, linear_unary, scaling


_LINEAR_METHODS = {"view", "reshape", "flatten", "contiguous", "permute", "transpose", "squeeze",
                   "unsqueeze", "add", "add_", "sub", "sub_", "neg", "mean", "sum", "clone",
                   "expand", "view_as", "reshape_as", "flip"}
_SCALING_METHODS = {"mul", "mul_", "div", "div_"}
_IDENTITY_METHODS = {"float", "double", "to", "type_as", "cpu", "detach"}
_META_METHODS = {"size", "dim", "numel"}


@dataclass(frozen=True, eq=False)
class _Step:
    index: int
    node: object          # the fx node
    kind: str             # input | const | meta | affine | relu | max | output
    label: str            # what error messages and stages call it
    slope: object = None  # relu: None (ReLU), float (LeakyReLU) or a tensor (PReLU)
    pool: tuple = ()      # max: (dim, kernel, stride, padding, dilation, ceil_mode)


class PLGraph:
    """A traced piecewise-linear model (float64, evaluation mode); build it with :func:`pl_graph`.

    Attributes
    ----------
    input_shape : tuple
        Shape of one input (e.g. ``(1, 28, 28)``).
    stages : tuple of Stage
        The nonlinear steps in execution order; a pattern concatenates their bits.
    n_bits : int
        Bits of a pattern.
    output_dim : int
        Outputs per point (flattened).
    dense_conv : bool
        Run convolutions whose dense matrix is small (``DENSE_CONV_FACTOR``) as one matrix
        product, or with few output positions as gathered products (``GATHER_CONV_MAX_POSITIONS``)
        (default ``True``); ``False``: torch's convolution.
    fold_bn : bool
        Evaluate a ``BatchNorm`` module that follows a convolution read by nothing else as part
        of that convolution, with folded weights (default ``True``); ``False``: as two steps.

    Examples
    --------
    A traced 2 -> 4 -> 2 torch model; its patterns are the bits of its ReLU (the bit vectors of Liu
    et al. eq. 4-5, for any piecewise-linear model):

    >>> import numpy as np
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> g = pl_graph(torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)), (2,))
    >>> g.input_shape, g.n_bits, g.output_dim, [s.kind for s in g.stages]
    ((2,), 4, 2, ['relu'])
    >>> g.forward(np.zeros((3, 2))).shape, g.patterns(np.zeros((3, 2))).shape
    ((3, 2), (3, 1))
    """

    def __init__(self, module, steps, input_shape, name):
        self.module = module
        self.steps = tuple(steps)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.name = name
        self._by_node = {s.node: s for s in self.steps}
        self._modules = dict(module.named_modules())
        self._last_use = self._liveness()
        self._consts = {}
        self.dense_conv = False  # switched on after the shape probe below
        self._dense = {}
        self.fold_bn = True
        self._folded = self._conv_bn_folds()
        self._window_index = {}
        self._stage_steps = tuple(s.index for s in self.steps if s.kind in ("relu", "max"))
        self._input_node = next(s.node for s in self.steps if s.kind == "input")
        self._output_step = next(s for s in self.steps if s.kind == "output")
        # shapes by a probe run of one zero input
        import torch

        with torch.no_grad():
            values = self.initial_values(np.zeros((1, int(np.prod(self.input_shape)))))
            stages, offset = [], 0
            for si, idx in enumerate(self._stage_steps):
                self.run_to(values, si)
                step = self.steps[idx]
                z = self.nonlinear_input(values, si)
                shape = tuple(int(s) for s in z.shape[1:])
                if step.kind == "relu":
                    n_units, window = int(np.prod(shape)), 0
                    n_bits = n_units
                else:
                    wi = self.window_index(si, shape)
                    n_units, window = int(wi.shape[0]), int(wi.shape[1])
                    n_bits = n_units * window
                stages.append(Stage(step.label, step.kind, idx, shape, n_bits, offset, n_units, window))
                offset += n_bits
                self.stages = tuple(stages)  # apply_nonlinear reads the stage table
                self.apply_nonlinear(values, si)
            self.stages = tuple(stages)
            out = self.run_to(values, len(stages))
        self.n_bits = int(offset)
        self.output_dim = int(np.prod(out.shape[1:])) if out.ndim > 1 else 1
        # small-spatial convolutions as dense matrix products (``False``: torch's convolution)
        self.dense_conv = True

    def __repr__(self) -> str:
        stages = getattr(self, "stages", ())
        kinds = ", ".join(f"{s.kind} {s.name} ({s.n_units})" for s in stages[:6])
        more = f", ... ({len(stages)} stages)" if len(stages) > 6 else ""
        return (f"PLGraph({self.name}: input {self.input_shape}, {kinds}{more}, "
                f"{getattr(self, 'output_dim', '?')} outputs)")

    @property
    def n_stages(self) -> int:
        return len(self.stages)

    # ------------------------------------------------------------------ analysis
    def _liveness(self):
        last = {}
        for s in self.steps:
            for a in s.node.all_input_nodes:
                last[a] = max(last.get(a, -1), s.index)
        # a meta node (size, shape) is evaluated on demand: its inputs live as long as its users
        changed = True
        while changed:
            changed = False
            for s in self.steps:
                if s.kind == "meta" and s.node in last:
                    for a in s.node.all_input_nodes:
                        if last.get(a, -1) < last[s.node]:
                            last[a] = last[s.node]
                            changed = True
        return last

    # ------------------------------------------------------------------ execution
    def initial_values(self, X) -> dict:
        """The per-point values before any step: ``{input node: tensor (n, *input_shape)}``.

        ``X`` is ``(n, D)`` (flattened inputs) or ``(n, *input_shape)``.
        """
        import torch

        X = np.asarray(X, dtype=np.float64)
        n = X.shape[0] if X.ndim > 1 else 1
        X = X.reshape((n,) + self.input_shape)
        return {"__step__": 0, self._input_node: torch.from_numpy(np.ascontiguousarray(X))}

    def _get(self, values, node, cache):
        step = self._by_node[node]
        if step.kind in ("input", "affine", "relu", "max"):
            try:
                return values[node]
            except KeyError:
                raise RuntimeError(f"internal: value of {step.label} was dropped too early") from None
        if step.kind == "const":
            if node not in self._consts:
                self._consts[node] = self._eval_node(step, {}, cache)
            return self._consts[node]
        if step.kind == "meta":
            if node not in cache:
                cache[node] = self._eval_node(step, values, cache)
            return cache[node]
        raise RuntimeError(f"internal: cannot read node {node}")

    def _eval_node(self, step, values, cache):
        import torch
        import torch.fx as fx

        node = step.node
        args = fx.node.map_arg(node.args, lambda n: self._get(values, n, cache))
        kwargs = fx.node.map_arg(node.kwargs, lambda n: self._get(values, n, cache))
        if node.op == "get_attr":
            obj = self.module
            for part in node.target.split("."):
                obj = getattr(obj, part)
            return obj
        if node.op == "call_module":
            mod = self._modules[node.target]
            if type(mod).__name__ in _DROPOUT_NAMES:
                return args[0]
            if self.fold_bn and node in self._folded:
                mod = self._folded[node]
                if mod is None:  # a BatchNorm folded into the convolution before it
                    return args[0]
            if self.dense_conv and not kwargs and len(args) == 1:
                D = self._dense_matrix(node, mod, args[0])
                if D is not None:
                    mat, bias, out_shape = D
                    x = args[0]
                    if isinstance(mat, _GatheredConv):
                        y = mat(x).reshape(x.shape[0], -1)
                    else:
                        y = x.reshape(x.shape[0], -1) @ mat
                    if bias is not None:
                        y += bias
                    return y.reshape((x.shape[0],) + out_shape)
            if (not kwargs and len(args) == 1 and isinstance(args[0], torch.Tensor)
                    and isinstance(mod, torch.nn.modules.conv._ConvNd)
                    and not isinstance(mod, torch.nn.modules.conv._ConvTransposeNd)):
                return _conv_in_slices(mod, args[0])
            return mod(*args, **kwargs)
        if node.op == "call_function":
            fn = node.target
            fn = {operator.iadd: operator.add, operator.isub: operator.sub, operator.imul: operator.mul,
                  operator.itruediv: operator.truediv}.get(fn, fn)
            if getattr(fn, "__name__", "") in ("dropout", "dropout1d", "dropout2d", "dropout3d",
                                                "alpha_dropout", "feature_alpha_dropout"):
                return args[0]
            if getattr(fn, "__name__", "") == "batch_norm":
                kwargs = dict(kwargs)
                if len(args) > 5:
                    args = tuple(args[:5]) + (False,) + tuple(args[6:])
                else:
                    kwargs["training"] = False
            return fn(*args, **kwargs)
        if node.op == "call_method":
            name = node.target
            if name in _IDENTITY_METHODS:
                return args[0]
            name = name[:-1] if name.endswith("_") and name[:-1] in _LINEAR_METHODS | _SCALING_METHODS else name
            return getattr(args[0], name)(*args[1:], **kwargs)
        raise RuntimeError(f"internal: cannot evaluate {node.op} node {node}")

    def _dense_matrix(self, node, mod, x):
        """``(matrix (in, out), bias (out,) or None, output shape)`` of convolution module ``mod``
        on inputs shaped like ``x`` when a dense matrix product is cheaper (see
        ``DENSE_CONV_FACTOR``), or ``(gathered, bias, output shape)`` with a
        :class:`_GatheredConv` when that is cheaper still (see ``GATHER_CONV_MAX_POSITIONS``);
        ``None`` otherwise. The matrix is the convolution of the unit inputs without bias: its
        entries are the kernel's weights (or zeros), exactly."""
        import torch
        import torch.nn as nn

        if not isinstance(mod, nn.modules.conv._ConvNd) or isinstance(mod, nn.modules.conv._ConvTransposeNd):
            return None
        if not isinstance(x, torch.Tensor) or x.dtype != torch.float64 or x.ndim != mod.weight.ndim:
            return None
        key = (node, tuple(x.shape[1:]), mod)
        if key in self._dense:
            return self._dense[key]
        D = None
        n_in = int(np.prod(x.shape[1:]))
        with torch.no_grad():
            out_shape = tuple(mod._conv_forward(torch.zeros((1,) + tuple(x.shape[1:]), dtype=torch.float64),
                                                mod.weight, None).shape[1:])
            n_out = int(np.prod(out_shape))
            macs = n_out * int(np.prod(mod.weight.shape[1:]))
            dense = n_in * n_out <= min(DENSE_CONV_FACTOR * macs, DENSE_CONV_MAX_ELEMS)
            gathered = _gathered_conv2d(mod, tuple(x.shape[1:]), out_shape)
            if (gathered is not None and gathered.macs <= GATHER_CONV_TORCH_RATIO * macs
                    and not (dense and n_in * n_out <= GATHER_CONV_DENSE_RATIO * gathered.macs)):
                dense = False
            else:
                gathered = None
            if gathered is not None:
                mat = gathered
            elif dense:
                mat = _conv2d_matrix(mod, tuple(x.shape[1:]), out_shape)
                if mat is None:
                    eye = torch.eye(n_in, dtype=torch.float64).reshape((n_in,) + tuple(x.shape[1:]))
                    mat = mod._conv_forward(eye, mod.weight, None).reshape(n_in, n_out).contiguous()
                # kept column-major (a transposed view): products with a few hundred rows (a
                # refinement chunk's) then run on MKL's faster kernel (see DENSE_CONV_COLUMN_MAJOR)
                if DENSE_CONV_COLUMN_MAJOR:
                    mat = mat.T.contiguous().T
            if gathered is not None or dense:
                bias = None
                if mod.bias is not None:
                    shape = [1] * (len(out_shape) + 1)
                    shape[1] = -1
                    bias = mod.bias.detach().reshape(shape).expand((1,) + out_shape).reshape(n_out).clone()
                D = (mat, bias, out_shape)
        self._dense[key] = D
        return D

    def _conv_bn_folds(self) -> dict:
        """``{conv node: folded convolution, bn node: None}`` for every ``BatchNorm`` module step
        whose input is a convolution module step read by nothing else (``_folded_conv_bn``)."""
        import torch.nn as nn

        folded = {}
        for step in self.steps:
            node = step.node
            if step.kind != "affine" or node.op != "call_module" or len(node.args) != 1 or node.kwargs:
                continue
            bn = self._modules[node.target]
            conv_node = node.args[0]
            if (not isinstance(bn, nn.modules.batchnorm._BatchNorm) or getattr(conv_node, "op", None) != "call_module"
                    or len(conv_node.users) != 1 or conv_node.kwargs or len(conv_node.args) != 1):
                continue
            conv = self._modules[conv_node.target]
            if type(conv) not in (nn.Conv1d, nn.Conv2d, nn.Conv3d) or conv.weight.ndim - 2 != {
                    nn.BatchNorm1d: 1, nn.BatchNorm2d: 2, nn.BatchNorm3d: 3}.get(type(bn), -1):
                continue
            fused = _folded_conv_bn(conv, bn)
            if fused is not None:
                folded[conv_node] = fused
                folded[node] = None
        return folded

    def _drop_dead(self, values, after: int):
        for node in [k for k in values if k != "__step__"]:
            if self._last_use.get(node, -1) <= after:
                del values[node]

    def dies_at(self, node, stage: int) -> bool:
        """Whether the tensor of ``node`` is read by no step after nonlinear stage ``stage``
        (:meth:`apply_nonlinear` drops it there)."""
        return self._last_use.get(node, -1) <= self._stage_steps[stage]

    def run_to(self, values: dict, stage: int):
        """Evaluate the affine steps up to nonlinear stage ``stage`` (``n_stages``: the output).

        ``values`` (from :meth:`initial_values` or a previous call) is updated in place, keeping
        only tensors that later steps read. Returns the output tensor when ``stage == n_stages``.
        """
        import torch

        stop = self._stage_steps[stage] if stage < len(self._stage_steps) else self._output_step.index
        start = values["__step__"]
        cache = {}
        with torch.no_grad(), _threads_for(values):
            for i in range(start, stop):
                step = self.steps[i]
                if step.kind == "affine":
                    out = self._eval_node(step, values, cache)
                    if not isinstance(out, torch.Tensor):
                        raise UnsupportedModelError(
                            f"step '{step.label}' returned {type(out).__name__}, not a tensor")
                    values[step.node] = out
                    self._drop_dead(values, i)
                    cache = {}
            values["__step__"] = stop
            if stage >= len(self._stage_steps):
                out = self._get(values, self._output_step.node.args[0], cache)
                if not isinstance(out, torch.Tensor):
                    raise UnsupportedModelError(
                        f"the model returns {type(out).__name__}; relutopo needs a single output tensor")
                return out.reshape(out.shape[0], -1)
        return None

    def nonlinear_input(self, values: dict, stage: int):
        """The input tensor ``(n, *shape)`` of nonlinear stage ``stage`` (after :meth:`run_to`)."""
        step = self.steps[self._stage_steps[stage]]
        return self._get(values, step.node.args[0], {})

    def _slope(self, step, z):
        import torch

        if step.slope is None:
            return None
        if isinstance(step.slope, float):
            return step.slope
        w = step.slope  # PReLU weight
        if w.numel() == 1:
            return w.reshape(())
        shape = [1] * z.ndim
        shape[1] = -1
        return w.reshape(shape).to(torch.float64)

    def apply_nonlinear(self, values: dict, stage: int, out=None) -> None:
        """Evaluate nonlinear stage ``stage`` on ``values`` (in place).

        Parameters
        ----------
        values : dict
            Live tensors after :meth:`run_to` up to ``stage``.
        stage : int
            The nonlinear stage.
        out : torch.Tensor, optional
            The stage's output when the caller computed it already (the pooled maxima of a
            max-pool stage, say); its shape is checked against the stage's output.
        """
        import torch

        idx = self._stage_steps[stage]
        step = self.steps[idx]
        z = self.nonlinear_input(values, stage)
        if out is not None:
            want = tuple(z.shape) if step.kind == "relu" else (z.shape[0],) + self._pool_out_shape(stage, z)
            if tuple(out.shape) != want:
                raise ValueError(f"out has shape {tuple(out.shape)}; stage {stage} gives {want}")
        with torch.no_grad(), _threads_for(values):
            if out is not None:
                pass
            elif step.kind == "relu":
                a = self._slope(step, z)
                out = torch.clamp(z, min=0.0) if a is None else torch.where(z > 0, z, a * z)
            else:
                shape = (z.shape[0],) + self._pool_out_shape(stage, z)
                dim, k, s, p, d, ceil = step.pool
                out = None
                if dim == 2 and z.ndim == 4:  # torch's own pool: the maximum of the same windows
                    import torch.nn.functional as F

                    out = F.max_pool2d(z, k, s, p, d, ceil_mode=ceil)
                if out is None or tuple(out.shape) != shape:
                    out = self.window_entries(stage, z).max(dim=-1).values.reshape(shape)
        values[step.node] = out
        values["__step__"] = idx + 1
        self._drop_dead(values, idx)

    # ------------------------------------------------------------------ max-pool windows
    def _pool_out_shape(self, stage, z):
        dim, k, s, p, d, ceil = self.steps[self._stage_steps[stage]].pool
        sizes = [self._pool_len(z.shape[2 + i], k[i], s[i], p[i], d[i], ceil) for i in range(dim)]
        return (int(z.shape[1]), *sizes)

    @staticmethod
    def _pool_len(n, k, s, p, d, ceil):
        num = n + 2 * p - d * (k - 1) - 1
        out = (-(-num // s) if ceil else num // s) + 1
        if ceil and (out - 1) * s >= n + p:
            out -= 1
        return int(out)

    def window_index(self, stage: int, shape: Optional[tuple] = None) -> np.ndarray:
        """``(n_windows, K)`` flat indices into the stage's input (``-1``: padding) per window.

        Windows are in the C order of the pool's output ``(C, *out)``, entries in the kernel's
        C order; the winner of a window is the first entry attaining its maximum.
        """
        if stage in self._window_index:
            return self._window_index[stage]
        import torch
        import torch.nn.functional as F

        step = self.steps[self._stage_steps[stage]]
        if step.kind != "max":
            raise ValueError(f"stage {stage} ({step.label}) is not a max-pool")
        shape = tuple(shape) if shape is not None else self.stages[stage].input_shape
        dim, k, s, p, d, ceil = step.pool
        if len(shape) == dim:  # unbatched channel-less input is not supported by the trace
            raise UnsupportedModelError(f"max-pool '{step.label}' needs a channel dimension; got input "
                                        f"shape {shape}")
        C = int(shape[0])
        spatial = [int(n) for n in shape[1:]]
        if dim == 1:
            spatial = [1] + spatial
            k, s, p, d = (1, k[0]), (1, s[0]), (0, p[0]), (1, d[0])
        outs = [self._pool_len(spatial[i], k[i], s[i], p[i], d[i], ceil) for i in range(2)]
        ids = torch.arange(C * spatial[0] * spatial[1], dtype=torch.float64).reshape(1, C, *spatial)
        extra = [max(0, (outs[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - (spatial[i] + 2 * p[i]))
                 for i in range(2)]
        ids = F.pad(ids, (p[1], p[1] + extra[1], p[0], p[0] + extra[0]), value=-1.0)
        cols = F.unfold(ids, kernel_size=k, dilation=d, stride=s)  # (1, C*K, L)
        K = k[0] * k[1]
        L = cols.shape[-1]
        if L != outs[0] * outs[1]:
            raise RuntimeError(f"internal: window count {L} != {outs}")
        W = cols.reshape(C, K, L).permute(0, 2, 1).reshape(C * L, K)
        W = W.numpy().astype(np.int64)
        self._window_index[stage] = W
        return W

    def window_entries(self, stage: int, z):
        """Window entries ``(n, n_windows, K)`` of the stage's input ``z`` (``-inf`` at padding)."""
        import torch

        W = self.window_index(stage, tuple(z.shape[1:]))
        key = ("padded", stage, tuple(z.shape[1:]))
        Wp = self._window_index.get(key)
        if Wp is None:  # padding entries read the extra last column (-inf)
            F = int(np.prod(z.shape[1:]))
            Wp = self._window_index[key] = np.where(W < 0, F, W).reshape(-1)
        n = z.shape[0]
        flat = np.empty((n, int(np.prod(z.shape[1:])) + 1), dtype=np.float64)
        flat[:, :-1] = z.detach().reshape(n, -1).numpy()
        flat[:, -1] = -math.inf
        return torch.from_numpy(np.take(flat, Wp, axis=1).reshape(n, W.shape[0], W.shape[1]))

    # ------------------------------------------------------------------ points
    def forward(self, X, chunk: int = 256) -> np.ndarray:
        """Outputs ``(n, output_dim)`` in float64 (``X``: ``(n, D)`` or ``(n, *input_shape)``)."""
        X = np.asarray(X, dtype=np.float64)
        X = X.reshape((-1,) + self.input_shape)
        outs = []
        for s in range(0, len(X), chunk):
            v = self.initial_values(X[s:s + chunk])
            for si in range(self.n_stages):
                self.run_to(v, si)
                self.apply_nonlinear(v, si)
            outs.append(self.run_to(v, self.n_stages).numpy())
        return np.concatenate(outs, axis=0) if outs else np.zeros((0, self.output_dim))

    __call__ = forward

    def stage_bits(self, stage: int, z) -> np.ndarray:
        """Bits ``(n, n_bits_stage)`` of stage ``stage`` at points whose stage input is ``z``:
        ``z > 0`` (relu), or the one-hot winner of each window (max)."""
        st = self.stages[stage]
        if st.kind == "relu":
            return (z.reshape(z.shape[0], -1) > 0).numpy()
        win = self.window_entries(stage, z).argmax(dim=-1).numpy()
        out = np.zeros((z.shape[0], st.n_units, st.window), dtype=bool)
        np.put_along_axis(out, win[:, :, None], True, axis=2)
        return out.reshape(z.shape[0], -1)

    def patterns(self, X, chunk: int = 256) -> np.ndarray:
        """Packed patterns ``(n, ceil(n_bits / 8))`` of the points ``X``."""
        return self._walk(X, chunk, packed=True)

    def digests(self, X, chunk: int = 256) -> np.ndarray:
        """Pattern digests ``(n, DIGEST_BYTES)`` uint8 of the points ``X`` (see :func:`digest_chain`)."""
        return self._walk(X, chunk, packed=False)

    def _walk(self, X, chunk, packed):
        X = np.asarray(X, dtype=np.float64).reshape((-1,) + self.input_shape)
        rows = []
        for s in range(0, len(X), chunk):
            v = self.initial_values(X[s:s + chunk])
            n = len(X[s:s + chunk])
            dig = [DIGEST_SEED] * n
            parts = []
            for si in range(self.n_stages):
                self.run_to(v, si)
                bits = self.stage_bits(si, self.nonlinear_input(v, si))
                if packed:
                    parts.append(bits)
                else:
                    dig = [digest_chain(d, row) for d, row in zip(dig, pack_bits(bits))]
                self.apply_nonlinear(v, si)
            if packed:
                rows.append(pack_bits(np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), bool)))
            else:
                rows.append(np.frombuffer(b"".join(dig), dtype=np.uint8).reshape(n, DIGEST_BYTES))
        if not rows:
            width = (self.n_bits + 7) // 8 if packed else DIGEST_BYTES
            return np.zeros((0, width), dtype=np.uint8)
        return np.concatenate(rows, axis=0)

    # ------------------------------------------------------------------ structure
    def sources(self) -> dict:
        """For each nonlinear stage (and ``"output"``), the nonlinear stages (or ``"input"``) its
        input depends on through affine steps only."""
        src = {}
        stage_of = {self.steps[i].node: si for si, i in enumerate(self._stage_steps)}
        for s in self.steps:
            node = s.node
            if s.kind == "input":
                src[node] = frozenset(["input"])
            elif s.kind in ("relu", "max"):
                src[node] = frozenset([stage_of[node]])
            elif s.kind in ("affine", "output"):
                acc = set()
                for a in node.all_input_nodes:
                    acc |= src.get(a, frozenset())
                src[node] = frozenset(acc)
            else:
                src[node] = frozenset()
        out = {}
        for si, i in enumerate(self._stage_steps):
            out[si] = src[self.steps[i].node.args[0]]
        out["output"] = src[self._output_step.node]
        return out


def _as_tuple(v, n):
    if isinstance(v, (tuple, list)):
        if len(v) == 1 and n > 1:
            return tuple(int(v[0]) for _ in range(n))
        return tuple(int(x) for x in v)
    return tuple(int(v) for _ in range(n))


def pl_graph(model, input_shape: Sequence[int], name: Optional[str] = None) -> PLGraph:
    """Trace ``model`` into a :class:`PLGraph` (a float64 copy in evaluation mode).

    Parameters
    ----------
    model : torch.nn.Module
        A piecewise-linear model (see the module docstring for what is accepted).
    input_shape : sequence of int
        Shape of one input, without the batch dimension (``(1, 28, 28)`` for MNIST).
    name : str, optional
        A name for messages and pictures (default: the model's class name).

    Raises
    ------
    UnsupportedModelError
        Naming the first module or function that is not piecewise linear, or a model that
        cannot be traced.

    Examples
    --------
    >>> import torch.nn as nn
    >>> g = pl_graph(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    ...                            nn.Linear(2, 3)), (1, 4, 4))
    >>> [(s.kind, s.n_bits) for s in g.stages]
    [('relu', 8), ('max', 8)]
    """
    import torch
    import torch.fx as fx
    import torch.nn as nn

    if isinstance(model, PLGraph):
        return model
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    try:
        input_shape = tuple(int(s) for s in input_shape)
    except TypeError:
        raise ValueError(f"input_shape must be a sequence of ints (one input, no batch dimension); "
                         f"got {input_shape!r}") from None
    if not input_shape or any(s <= 0 for s in input_shape):
        raise ValueError(f"input_shape must be positive ints (one input, no batch dimension); got "
                         f"{input_shape}")
    name = name or type(model).__name__
    for mname, mod in model.named_modules():
        tn = type(mod).__name__
        if tn.startswith("BatchNorm") and (getattr(mod, "running_mean", None) is None):
            raise UnsupportedModelError(
                f"module '{mname}' is {tn} without running statistics (track_running_stats=False): "
                "it normalises with each batch's statistics, so the model is not a fixed function "
                "of its input")
    m = copy.deepcopy(model).to(torch.float64).eval()
    check_finite_tensors(((n, t.detach().cpu().numpy()) for n, t in
                          itertools.chain(m.named_parameters(), m.named_buffers())),
                         owner=name, error=NetworkError)
    try:
        gm = fx.symbolic_trace(m)
    except Exception as exc:  # fx raises many types (TraceError, TypeError, ...)
        raise UnsupportedModelError(
            f"{name} cannot be traced by torch.fx ({type(exc).__name__}: {exc}); relutopo needs a "
            "forward pass without data-dependent control flow") from None
    gm.eval()
    modules = dict(gm.named_modules())
    relu_fns, max_fns, linear_multi, linear_unary, scaling = _function_tables()
    depends = {}
    steps = []

    def fname(fn):
        return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", repr(fn))

    for i, node in enumerate(gm.graph.nodes):
        ins = node.all_input_nodes
        var_in = []  # input-dependent arguments, with repetitions (x * x has two)
        fx.node.map_arg((node.args, node.kwargs),
                        lambda a: var_in.append(a) if depends.get(a) == "var" else None)
        meta_in = [a for a in ins if depends.get(a) == "meta"]
        label = node.name
        slope, pool = None, ()
        if node.op == "placeholder":
            if any(s.kind == "input" for s in steps):
                raise UnsupportedModelError(f"{name} takes several inputs; relutopo slices models of one input")
            kind, dep = "input", "var"
        elif node.op == "get_attr":
            kind, dep = "const", "const"
        elif node.op == "output":
            kind, dep = "output", "var"
        elif not var_in:
            # constants and shape queries: evaluated on demand
            is_meta = bool(meta_in) or (node.op == "call_method" and node.target in _META_METHODS)
            kind, dep = ("meta", "meta") if is_meta else ("const", "const")
            if node.op == "call_function" and node.target is getattr and ins and depends.get(ins[0]) == "var":
                kind, dep = "meta", "meta"
        elif node.op == "call_module":
            mod = modules[node.target]
            tn = type(mod).__name__
            label = node.target
            if tn in _AFFINE_MODULE_NAMES:
                kind = "affine"
            elif tn in _RELU_MODULE_NAMES:
                kind = "relu"
                if tn == "LeakyReLU":
                    slope = float(mod.negative_slope)
                elif tn == "PReLU":
                    slope = mod.weight.detach().clone()
            elif tn in _MAX_MODULE_NAMES:
                if mod.return_indices:
                    raise UnsupportedModelError(f"module '{node.target}' is {tn} with return_indices=True; "
                                                "relutopo needs the pooled values only")
                kind = "max"
                dim = 1 if tn == "MaxPool1d" else 2
                stride = mod.stride if mod.stride is not None else mod.kernel_size
                pool = (dim, _as_tuple(mod.kernel_size, dim), _as_tuple(stride, dim),
                        _as_tuple(mod.padding, dim), _as_tuple(mod.dilation, dim), bool(mod.ceil_mode))
            else:
                raise UnsupportedModelError(
                    f"module '{node.target}' is {tn}, which is not piecewise linear (or not supported); "
                    f"{_SUPPORTED_TEXT}")
            dep = "var"
        elif node.op == "call_function":
            fn = node.target
            if fn is getattr:
                kind, dep = "meta", "meta"
            elif fn in relu_fns:
                kind, dep = "relu", "var"
                label = f"{node.name} ({fname(fn)})"
                sort = relu_fns[fn]
                if sort == "leaky":
                    ns = node.kwargs.get("negative_slope", node.args[1] if len(node.args) > 1 else 0.01)
                    slope = float(ns)
                elif sort == "prelu":
                    w = node.args[1] if len(node.args) > 1 else node.kwargs.get("weight")
                    if depends.get(w) != "const":
                        raise UnsupportedModelError(f"{node.name}: prelu with an input-dependent weight")
                    slope = ("node", w)
            elif fn in max_fns:
                kind, dep = "max", "var"
                label = f"{node.name} ({fname(fn)})"
                dim = max_fns[fn]
                sig = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
                kw = dict(zip(sig, node.args[1:]))
                kw.update(node.kwargs)
                if kw.get("return_indices", False):
                    raise UnsupportedModelError(f"{node.name}: max_pool with return_indices=True")
                k = kw["kernel_size"]
                stride = kw.get("stride") or k
                pool = (dim, _as_tuple(k, dim), _as_tuple(stride, dim), _as_tuple(kw.get("padding", 0), dim),
                        _as_tuple(kw.get("dilation", 1), dim), bool(kw.get("ceil_mode", False)))
            elif fn in linear_multi or fn in linear_unary:
                if fn in linear_unary and fn is not operator.getitem and len(var_in) > 1 and fn not in (
                        torch.cat, torch.concat, torch.stack):
                    raise UnsupportedModelError(
                        f"{node.name} calls {fname(fn)} with several input-dependent arguments "
                        "(e.g. an input-dependent weight), which is not affine")
                if fn in (torch.cat, torch.concat, torch.stack):
                    dim_arg = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
                    if dim_arg == 0:
                        raise UnsupportedModelError(f"{node.name}: {fname(fn)} along the batch dimension")
                kind, dep = "affine", "var"
                label = f"{node.name} ({fname(fn)})"
            elif fn in scaling:
                is_div = fn in (operator.truediv, operator.itruediv, torch.div)
                if len(var_in) > 1 or (is_div and depends.get(node.args[1]) == "var"):
                    raise UnsupportedModelError(
                        f"{node.name} multiplies or divides two input-dependent tensors "
                        f"({fname(fn)}), which is not piecewise linear")
                kind, dep = "affine", "var"
                label = f"{node.name} ({fname(fn)})"
            else:
                raise UnsupportedModelError(
                    f"{node.name} calls {fname(fn)}, which is not piecewise linear (or not supported); "
                    f"{_SUPPORTED_TEXT}")
        elif node.op == "call_method":
            meth = node.target
            label = f"{node.name} (.{meth})"
            if meth in _META_METHODS:
                kind, dep = "meta", "meta"
            elif meth in ("relu", "relu_"):
                kind, dep = "relu", "var"
            elif meth in _LINEAR_METHODS or meth in _IDENTITY_METHODS:
                if meth in ("add", "add_", "sub", "sub_") or len(var_in) == 1:
                    kind, dep = "affine", "var"
                else:
                    raise UnsupportedModelError(f"{node.name}: .{meth} with several input-dependent arguments")
            elif meth in _SCALING_METHODS:
                if len(var_in) > 1 or (meth.startswith("div") and depends.get(node.args[1]) == "var"):
                    raise UnsupportedModelError(
                        f"{node.name} multiplies or divides two input-dependent tensors (.{meth}), "
                        "which is not piecewise linear")
                kind, dep = "affine", "var"
            else:
                raise UnsupportedModelError(
                    f"{node.name} calls the method .{meth}, which is not piecewise linear (or not "
                    f"supported); {_SUPPORTED_TEXT}")
        else:
            raise UnsupportedModelError(f"cannot handle fx node {node.op} {node.target}")
        if kind == "relu" and node.op != "call_module" and (len(var_in) != 1 or node.args[0] is not var_in[0]):
            raise UnsupportedModelError(f"{node.name}: a ReLU of something other than one tensor")
        depends[node] = dep
        steps.append((node, kind, label, slope, pool))

    built = []
    for i, (node, kind, label, slope, pool) in enumerate(steps):
        if isinstance(slope, tuple) and slope and slope[0] == "node":
            obj = gm
            for part in slope[1].target.split("."):
                obj = getattr(obj, part)
            slope = obj.detach().clone()
        built.append(_Step(i, node, kind, label, slope, pool))
    graph = PLGraph(gm, built, input_shape, name)
    _check_batch_independent(graph)
    return graph


def _check_batch_independent(graph: PLGraph) -> None:
    """Every point's output must not depend on the other points of its batch (BatchNorm in
    training mode, a reshape across the batch dimension)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, int(np.prod(graph.input_shape))))
    together = graph.forward(X)
    alone = np.concatenate([graph.forward(X[i:i + 1]) for i in range(2)], axis=0)
    if together.shape != alone.shape or not np.allclose(
            together, alone, rtol=tol.AFFINE_EQUAL_RTOL,
            atol=tol.ROUNDING_RTOL * float(np.abs(alone).max(initial=0.0))):
        raise UnsupportedModelError(
            f"{graph.name}: the output of a point depends on the other points of its batch (a "
            "reshape across the batch dimension?); relutopo needs a function of one input")


def dense_relunet(model, input_shape: Sequence[int]) -> ReluNet:
    """A :class:`ReluNet` with dense matrices equal to ``model`` on all of its input space.

    Every affine block between two ReLU stages (convolutions, BatchNorm folded, pooling,
    reshapes) becomes the matrix of its action on the standard basis of its input (plus the
    image of zero as the bias); inputs are flattened in C order. Accepts models whose ReLUs
    form a chain: no skip connections, no max-pools, no LeakyReLU/PReLU (a ReluNet has ReLU
    bits only) -- otherwise :class:`UnsupportedModelError` says which stage breaks the chain.

    Examples
    --------
    >>> import torch.nn as nn
    >>> net = dense_relunet(nn.Sequential(nn.Conv1d(1, 2, 2), nn.ReLU(), nn.Flatten(),
    ...                                   nn.Linear(4, 1)), (1, 3))
    >>> net.hidden_sizes
    (4,)
    """
    import torch

    graph = pl_graph(model, input_shape)
    src = graph.sources()
    for si, st in enumerate(graph.stages):
        if st.kind != "relu" or graph.steps[st.step].slope is not None:
            what = "a max-pool" if st.kind == "max" else "a LeakyReLU/PReLU"
            raise UnsupportedModelError(
                f"stage '{st.name}' is {what}; a ReluNet has ReLU neurons only. Use a slice "
                "(relutopo.decompose(model, Plane.through(...)) or Segment(a, b)) instead")
        want = frozenset(["input"]) if si == 0 else frozenset([si - 1])
        if src[si] != want:
            raise UnsupportedModelError(
                f"stage '{st.name}' reads {sorted(map(str, src[si]))} (a skip connection): the model "
                "is not a chain of layers. Use a slice (relutopo.decompose(model, Plane.through(...)) "
                "or Segment(a, b)) instead")
    last = frozenset(["input"]) if not graph.stages else frozenset([len(graph.stages) - 1])
    if src["output"] != last:
        raise UnsupportedModelError(
            f"the output reads {sorted(map(str, src['output']))} (a skip connection); the model is not "
            "a chain of layers")
    weights, biases = [], []
    D = int(np.prod(graph.input_shape))
    basis = np.vstack([np.zeros((1, D)), np.eye(D)])
    values = graph.initial_values(basis)
    for si in range(graph.n_stages + 1):
        out = graph.run_to(values, si)
        z = (graph.nonlinear_input(values, si) if si < graph.n_stages else out).reshape(D + 1, -1).numpy()
        b = z[0].copy()
        W = (z[1:] - b[None, :]).T
        weights.append(W)
        biases.append(b)
        if si < graph.n_stages:
            n = W.shape[0]
            values = {"__step__": values["__step__"], **{k: v for k, v in values.items() if k != "__step__"}}
            # the next block starts from the stage's output: feed it the standard basis of R^n
            step = graph.steps[graph.stages[si].step]
            shape = graph.stages[si].input_shape
            e = np.vstack([np.zeros((1, n)), np.eye(n)]).reshape((n + 1,) + shape)
            values = {"__step__": step.index + 1, step.node: torch.from_numpy(e)}
            D = n
    return ReluNet.from_weights(weights, biases)
