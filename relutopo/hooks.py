"""Bit vectors of any torch model, read by forward hooks on its ReLU modules.

Liu et al. (2023), Section 2.2 (eq. 4-5) define the bit vector ``s(x)`` of an input as the
stacked ReLU activation pattern of every hidden unit: bit 1 where the pre-activation is ``> 0``.
For an ``nn.Sequential`` MLP :meth:`relutopo.nets.ReluNet.bits` computes it from the weights; for
any other architecture (convolutions, skips, as in ResNet-50, Examples 4.3-4.5) this module
registers a forward hook on every ``nn.ReLU`` module and records ``output > 0`` (which equals
``pre-activation > 0`` for ReLU, also when the module works in place).

Every *call* of a ReLU module is a distinct set of bits: torchvision's ``Bottleneck`` calls one
``nn.ReLU`` three times per forward pass, giving three blocks of bits. The bit order is
deterministic: calls in the order the forward pass makes them, and within a call the output
tensor's C-order (channel, row, column) positions.

Bits are packed per image as they are produced (little-endian within a byte, like
:func:`relutopo.patterns.pack_bits`), so memory holds one call's unpacked bits for one batch at a
time, never the unpacked bits of all images. The packed rows are stored as 64-bit words, ready
for the popcount Hamming distance of :func:`relutopo.patterns.hamming_matrix`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .patterns import hamming_matrix, unpack_bits

__all__ = ["ActivationBits", "ReluCall", "activation_bits"]


@dataclass(frozen=True)
class ReluCall:
    """One call of one ReLU module during a forward pass: bits ``offset : offset + n_bits``.

    Attributes
    ----------
    name : str
        Qualified module name (``"layer1.0.relu"``; ``""`` for a bare ``nn.ReLU`` model).
    call : int
        0-based index of this call among the calls of the same module in one forward pass.
    shape : tuple of int
        Shape of the module's output for one input (``(C, H, W)`` for a convolutional layer).
    offset : int
        Index of the call's first bit in the bit vector.
    n_bits : int
        Number of bits (the product of ``shape``).

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3),
    ...                             torch.nn.ReLU(), torch.nn.Linear(3, 1))
    >>> [(c.name, c.shape, c.offset, c.n_bits) for c in activation_bits(model, torch.zeros(1, 2)).calls]
    [('1', (4,), 0, 4), ('3', (3,), 4, 3)]
    """

    name: str
    call: int
    shape: tuple
    offset: int
    n_bits: int


@dataclass(frozen=True, eq=False)
class ActivationBits:
    """Packed bit vectors ``s(x)`` of ``n`` inputs (Liu et al. eq. 5), one row per input.

    Attributes
    ----------
    words : ndarray (n, n_words) uint64
        The bits, little-endian (bit ``k`` is bit ``k % 64`` of word ``k // 64`` on a
        little-endian machine; equivalently bit ``k % 8`` of byte ``k // 8``), zero-padded.
    n_bits : int
        Length of a bit vector (total number of ReLU outputs over all calls).
    calls : tuple of ReluCall
        Where each ReLU call's bits live, in forward order.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> ab = activation_bits(model, torch.tensor([[0.0, 0.0], [1.0, -1.0], [-1.0, 1.0]]))
    >>> len(ab), ab.n_bits, ab.words.shape
    (3, 4, (3, 1))
    >>> ab.unpack().astype(int)
    array([[0, 1, 0, 0],
           [0, 1, 0, 0],
           [1, 1, 1, 1]])
    >>> ab.hamming()
    array([[0, 0, 3],
           [0, 0, 3],
           [3, 3, 0]])
    """

    words: np.ndarray
    n_bits: int
    calls: tuple

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @property
    def packed(self) -> np.ndarray:
        """``(n, ceil(n_bits / 8))`` uint8 view, the layout of :func:`relutopo.patterns.pack_bits`."""
        return self.words.view(np.uint8)[:, :(self.n_bits + 7) // 8]

    def unpack(self, rows=None) -> np.ndarray:
        """Unpacked bool bits ``(k, n_bits)`` of the selected rows (all rows by default).

        This is ``n_bits`` bytes per row: select few rows for large networks.
        """
        sel = self.packed if rows is None else self.packed[rows]
        return unpack_bits(np.atleast_2d(sel), self.n_bits)

    def call_bits(self, index: int, rows=None) -> np.ndarray:
        """Unpacked bits of ``calls[index]`` reshaped to ``(k, *shape)``."""
        c = self.calls[index]
        sel = self.words.view(np.uint8) if rows is None else np.atleast_2d(self.words.view(np.uint8)[rows])
        first, last = c.offset // 8, (c.offset + c.n_bits + 7) // 8
        bits = np.unpackbits(sel[:, first:last], axis=1, bitorder="little").astype(bool)
        start = c.offset - 8 * first
        return bits[:, start:start + c.n_bits].reshape((-1, *c.shape))

    def hamming(self, other: Optional["ActivationBits"] = None) -> np.ndarray:
        """Hamming distance matrix (popcount over the packed words) to ``other`` (default: self)."""
        if other is not None and other.n_bits != self.n_bits:
            raise ValueError(
                f"bit vectors of different length: {self.n_bits} vs other={other.n_bits} bits; "
                "compare inputs passed through the same model at the same input size")
        return hamming_matrix(self.words, None if other is None else other.words)


class _Packer:
    """Packs the bits of one batch into a byte buffer, call by call, carrying partial bytes."""

    def __init__(self, batch: int):
        self.batch = batch
        self.chunks: list = []        # packed uint8 arrays (batch, k), in order
        self.carry = np.zeros((batch, 0), dtype=bool)
        self.records: list = []       # (module name, per-image shape)

    def add(self, name: str, bits: np.ndarray) -> None:
        self.records.append((name, tuple(bits.shape[1:])))
        flat = bits.reshape(self.batch, -1)
        if self.carry.shape[1]:
            flat = np.concatenate([self.carry, flat], axis=1)
        n_full = (flat.shape[1] // 8) * 8
        if n_full:
            self.chunks.append(np.packbits(flat[:, :n_full], axis=1, bitorder="little"))
        self.carry = np.ascontiguousarray(flat[:, n_full:])

    def finish(self) -> list:
        if self.carry.shape[1]:
            self.chunks.append(np.packbits(self.carry, axis=1, bitorder="little"))
            self.carry = np.zeros((self.batch, 0), dtype=bool)
        return self.chunks


def _check_inputs(inputs):
    import torch

    if isinstance(inputs, np.ndarray):
        if not np.issubdtype(inputs.dtype, np.number):
            raise TypeError(f"inputs must be a numeric array; got dtype {inputs.dtype}")
        inputs = torch.from_numpy(np.ascontiguousarray(inputs))
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(
            f"inputs must be a torch.Tensor or numpy array with the batch on axis 0; got "
            f"{type(inputs).__name__}")
    if inputs.ndim < 1 or inputs.shape[0] == 0:
        raise ValueError(f"inputs must hold at least one input on axis 0; got shape {tuple(inputs.shape)}")
    if inputs.is_floating_point() and not bool(torch.isfinite(inputs).all()):
        raise ValueError("inputs contain NaN or infinite values")
    return inputs


def activation_bits(model, inputs, *, batch_size: int = 16,
                    module_types: Optional[Sequence[type]] = None,
                    progress: bool = False) -> ActivationBits:
    """Bit vectors of every ReLU call of ``model`` for each input (Liu et al. eq. 4-5).

    Parameters
    ----------
    model : torch.nn.Module
        Any model whose ReLUs are modules (``nn.ReLU``; functional ``F.relu`` calls are invisible
        to hooks). It runs in ``eval()`` mode (restored afterwards) under ``torch.inference_mode``,
        so BatchNorm uses its running statistics and a row's bits do not depend on its batch.
    inputs : torch.Tensor or ndarray, shape (n, ...)
        The inputs, batch on axis 0 (``(n, 3, 224, 224)`` for ResNet-50); cast to the dtype and
        device of the model's first parameter.
    batch_size : int
        Inputs per forward pass. Peak extra memory: one batch's activations plus one call's
        unpacked bits for the batch.
    module_types : sequence of types, optional
        Module classes whose calls are bits (default ``(torch.nn.ReLU,)``). The bit is
        ``output > 0``, correct for any activation that is positive exactly where its input is.
    progress : bool
        Show a tqdm bar over batches.

    Returns
    -------
    ActivationBits
        ``words`` ``(n, ceil(n_bits / 64))`` uint64, ``n_bits`` and the ``calls`` table.

    Raises
    ------
    ValueError
        No hooked module was called, or a later batch calls the ReLUs differently from the first
        (data-dependent control flow).

    Examples
    --------
    The bit vectors of a torch 2 -> 4 -> 1 model are those of the same network read by
    :class:`relutopo.nets.ReluNet` (Liu et al. eq. 4-5):

    >>> import torch
    >>> from relutopo import ReluNet
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> X = torch.randn(5, 2)
    >>> ab = activation_bits(model, X)
    >>> bool((ab.unpack() == ReluNet.from_torch(model).bits(X.numpy())).all())
    True
    """
    import torch
    import torch.nn as nn
    from tqdm.auto import tqdm

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    types = tuple(module_types) if module_types is not None else (nn.ReLU,)
    if not types or not all(isinstance(t, type) and issubclass(t, nn.Module) for t in types):
        raise TypeError(f"module_types must be torch.nn.Module subclasses; got {module_types!r}")
    inputs = _check_inputs(inputs)
    first_param = next(iter(model.parameters()), None)
    dtype = first_param.dtype if first_param is not None else torch.float32
    device = first_param.device if first_param is not None else torch.device("cpu")
    hooked = [(name, m) for name, m in model.named_modules() if isinstance(m, types)]
    if not hooked:
        raise ValueError(
            f"model {type(model).__name__} has no module of type {[t.__name__ for t in types]}; "
            "activation_bits reads ReLU *modules* (nn.ReLU), not functional relu calls")

    n = int(inputs.shape[0])
    state = {"packer": None}

    def make_hook(name):
        def hook(module, args, output):
            state["packer"].add(name, (output > 0).cpu().numpy())
        return hook

    handles = [m.register_forward_hook(make_hook(name)) for name, m in hooked]
    was_training = model.training
    model.eval()
    words = None
    layout = None
    try:
        with torch.inference_mode():
            starts = range(0, n, int(batch_size))
            for s in tqdm(starts, disable=not progress, desc="activation bits"):
                x = inputs[s:s + batch_size].to(device=device, dtype=dtype)
                packer = _Packer(int(x.shape[0]))
                state["packer"] = packer
                model(x)
                chunks = packer.finish()
                if not packer.records:
                    raise ValueError(
                        f"no {[t.__name__ for t in types]} module was called in the forward pass of "
                        f"{type(model).__name__}; its ReLUs may be functional calls")
                if layout is None:
                    layout = packer.records
                    widths = [c.shape[1] for c in chunks]
                    n_words = (sum(widths) + 7) // 8
                    words = np.zeros((n, max(n_words, 1)), dtype=np.uint64)
                elif packer.records != layout:
                    raise ValueError(
                        f"the batch starting at input {s} calls the ReLU modules differently from "
                        "the first batch (different order or output shapes); activation_bits needs "
                        "a forward pass whose structure does not depend on the input")
                buf = words.view(np.uint8)
                pos = 0
                for c in chunks:
                    buf[s:s + x.shape[0], pos:pos + c.shape[1]] = c
                    pos += c.shape[1]
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        state["packer"] = None

    calls, offset, seen = [], 0, {}
    for name, shape in layout:
        k = seen.get(name, 0)
        seen[name] = k + 1
        nb = int(np.prod(shape)) if shape else 1
        calls.append(ReluCall(name=name, call=k, shape=shape, offset=offset, n_bits=nb))
        offset += nb
    return ActivationBits(words=words, n_bits=offset, calls=tuple(calls))
