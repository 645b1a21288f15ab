"""A ReLU network as plain numpy arrays: ``x -> W_L+1 relu(... relu(W_1 x + b_1) ...) + b_L+1``.

Notation follows Liu et al. (2023), Section 2: layer ``i`` maps ``R^{h_{i-1}} -> R^{h_i}`` with
``(W_i, b_i)``; hidden layers apply ReLU, the last layer is affine. The *bit vector* of a point
(eq. 4-5) has one bit per hidden neuron, 1 when the neuron's pre-activation is ``> 0``.
On the polyhedron of a bit vector ``s`` the network is affine (eq. 8 and the map ``G`` after
eq. 10); :meth:`ReluNet.layer_maps` returns the per-layer maps ``(W^_j, b^_j)`` and
:meth:`ReluNet.affine_map` the output map.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from .errors import NetworkError  # re-exported: relutopo.nets.NetworkError
from .patterns import pack_bits, unpack_bits
from .validation import check_points, check_weights

__all__ = ["ReluNet"]

#: the cached shape facts of a :class:`ReluNet` (``cached_property``), which a network of the
#: same shapes can share (:meth:`ReluNet._reweighted`)
_SHAPE_FACTS = ("hidden_sizes", "n_hidden", "layer_offsets")


@dataclass(frozen=True, eq=False)
class ReluNet:
    """A feed-forward ReLU network ``R^d -> R^n`` with weights as float64 numpy arrays.

    Parameters
    ----------
    weights : tuple of arrays
        ``weights[i]`` has shape ``(h_{i+1}, h_i)``; the last one is the (linear) output layer.
    biases : tuple of arrays
        ``biases[i]`` has shape ``(h_{i+1},)``.

    Notes
    -----
    Build it with :meth:`from_weights` or :meth:`from_torch`, which check the input.

    Examples
    --------
    A 2 -> 3 -> 1 network; on the polyhedron of a bit vector it is affine (Liu et al. eq. 8-9):

    >>> import numpy as np
    >>> net = ReluNet.from_weights([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[1.0, -1.0, 2.0]]],
    ...                            [[0.0, 0.0, -0.5], [0.0]])
    >>> net.input_dim, net.hidden_sizes, net.output_dim
    (2, (3,), 1)
    >>> net.bits([[0.5, 0.25]])
    array([[ True,  True,  True]])
    >>> A, c = net.affine_map(net.bits([[0.5, 0.25]])[0])
    >>> A @ [0.5, 0.25] + c, net.forward([[0.5, 0.25]])[0]
    (array([0.75]), array([0.75]))
    """

    weights: tuple
    biases: tuple

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_weights(cls, weights: Sequence, biases: Sequence) -> "ReluNet":
        """Build from lists of weight matrices and bias vectors (layer i: ``x -> W_i x + b_i``).

        Hidden layers use ReLU; the last pair is the linear output layer. Raises
        :class:`NetworkError` naming the layer when shapes do not chain or values are not finite.
        """
        ws, bs = check_weights(weights, biases, error=NetworkError)
        return cls(ws, bs)

    @classmethod
    def from_torch(cls, model, input_shape=None) -> "ReluNet":
        """Read an ``nn.Sequential`` (possibly nested) of ``Linear`` and ``ReLU`` modules.

        ``Flatten``, ``Identity`` and ``Dropout`` (a no-op at evaluation) are accepted. Two
        ``Linear`` layers without a ReLU between them are composed into one. A final ``ReLU`` is
        kept as a hidden layer followed by an identity output layer, so its neurons are bits too.
        Any other module raises :class:`NetworkError` naming it.

        With ``input_shape`` (one input's shape, e.g. ``(1, 28, 28)``) any model whose ReLUs form
        a chain -- convolutions, BatchNorm (running statistics), average pooling, reshapes
        between them, no skip connections or max-pools -- becomes a ReluNet with dense matrices
        on the flattened input (:func:`relutopo.pl_graph.dense_relunet`).
        """
        import torch.nn as nn

        if input_shape is not None:
            from .pl_graph import dense_relunet

            return dense_relunet(model, input_shape)

        def leaves(module, prefix):
            if isinstance(module, nn.Sequential):
                for name, child in module.named_children():
                    yield from leaves(child, f"{prefix}.{name}" if prefix else name)
            else:
                yield prefix or type(module).__name__, module

        if isinstance(model, nn.Linear):
            model = nn.Sequential(model)
        if not isinstance(model, nn.Sequential):
            raise NetworkError(
                f"ReluNet.from_torch needs an nn.Sequential of Linear/ReLU layers; got "
                f"{type(model).__name__}. For other architectures use relutopo.activation_bits "
                "(forward hooks) for bit vectors.")
        weights, biases = [], []
        pending = None  # (W, b) of an affine map not yet followed by a ReLU
        for name, mod in leaves(model, ""):
            if isinstance(mod, nn.Linear):
                if mod.weight.is_complex() or (mod.bias is not None and mod.bias.is_complex()):
                    raise NetworkError(f"module '{name}' ({mod}) has complex parameters "
                                       f"({mod.weight.dtype}); a ReLU network needs real weights")
                w = mod.weight.detach().cpu().double().numpy()
                b = (mod.bias.detach().cpu().double().numpy() if mod.bias is not None
                     else np.zeros(w.shape[0]))
                if pending is None:
                    pending = (w, b)
                else:
                    pw, pb = pending
                    if w.shape[1] != pw.shape[0]:
                        raise NetworkError(
                            f"module '{name}' ({mod}) expects {w.shape[1]} inputs but the previous "
                            f"layer has {pw.shape[0]} outputs")
                    pending = (w @ pw, w @ pb + b)
            elif isinstance(mod, nn.ReLU):
                if pending is None:
                    if not weights:
                        raise NetworkError(
                            f"module '{name}' is a ReLU applied to the raw input; relutopo needs a "
                            "Linear layer first")
                    continue  # ReLU after ReLU is idempotent
                weights.append(pending[0])
                biases.append(pending[1])
                pending = None
            elif isinstance(mod, (nn.Flatten, nn.Identity, nn.Dropout)):
                continue
            else:
                raise NetworkError(
                    f"module '{name}' is {type(mod).__name__}; without input_shape ReluNet.from_torch "
                    "reads Linear, ReLU, Flatten, Identity and Dropout (pass input_shape= for "
                    "convolutions, BatchNorm and pooling; slices of any piecewise-linear model: "
                    "relutopo.decompose(model, Plane.through(...)))")
        if pending is not None:
            weights.append(pending[0])
            biases.append(pending[1])
        elif weights:  # ended with a ReLU: identity output layer
            n = weights[-1].shape[0]
            weights.append(np.eye(n))
            biases.append(np.zeros(n))
        else:
            raise NetworkError("the torch model contains no Linear layer")
        return cls.from_weights(weights, biases)

    def _reweighted(self, weights: tuple, biases: tuple) -> "ReluNet":
        """A network of the same shapes with other (already checked, read-only float64) weights,
        e.g. a rescaled frame (:func:`relutopo.normal_form.normal_form`): the shape facts this
        network has (computed once for it, when first asked) are handed over instead of being
        computed again for every new frame."""
        new = type(self)(weights, biases)
        for name in _SHAPE_FACTS:
            new.__dict__[name] = getattr(self, name)
        return new

    def to_torch(self):
        """The same network as a float64 ``torch.nn.Sequential`` of Linear/ReLU."""
        import torch
        import torch.nn as nn

        mods = []
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            lin = nn.Linear(w.shape[1], w.shape[0]).double()
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.array(w)))
                lin.bias.copy_(torch.from_numpy(np.array(b)))
            mods.append(lin)
            if i < len(self.weights) - 1:
                mods.append(nn.ReLU())
        return nn.Sequential(*mods)

    # ------------------------------------------------------------------ shape facts
    @property
    def input_dim(self) -> int:
        return int(self.weights[0].shape[1])

    @property
    def output_dim(self) -> int:
        return int(self.weights[-1].shape[0])

    # the shape facts below are computed once per network (the engine reads them in its inner
    # Python loops) and kept in the instance's __dict__ (the network is immutable)
    @cached_property
    def hidden_sizes(self) -> tuple:
        """``(h_1, ..., h_L)``: the widths of the ReLU layers."""
        return tuple(int(w.shape[0]) for w in self.weights[:-1])

    @cached_property
    def n_hidden(self) -> int:
        """Total number of hidden (ReLU) neurons = number of bits in a pattern."""
        return int(sum(self.hidden_sizes))

    @cached_property
    def layer_offsets(self) -> np.ndarray:
        """``offsets[l]:offsets[l+1]`` are the bit indices of hidden layer ``l`` (0-based;
        read-only)."""
        offs = np.concatenate([[0], np.cumsum(self.hidden_sizes)]).astype(np.int64)
        offs.setflags(write=False)
        return offs

    def layer_of_bit(self, bit: int) -> int:
        """The 0-based hidden layer that bit ``bit`` belongs to."""
        if not 0 <= bit < self.n_hidden:
            raise IndexError(f"bit {bit} out of range for a net with {self.n_hidden} hidden neurons")
        return int(np.searchsorted(self.layer_offsets, bit, side="right") - 1)

    def __repr__(self) -> str:
        arch = "→".join(str(s) for s in (self.input_dim, *self.hidden_sizes, self.output_dim))
        return f"ReluNet({arch})"

    # ------------------------------------------------------------------ evaluation
    def _check_points(self, X) -> np.ndarray:
        # NaN and inf are let through: the engine evaluates far-away points on purpose
        return check_points(X, dim=self.input_dim, name="points", owner=repr(self), allow_1d=True,
                            finite=False)

    def preactivations(self, X) -> list:
        """Pre-activations ``W_i F_{i-1}(x) + b_i`` of every hidden layer, each ``(n, h_i)``."""
        X = self._check_points(X)
        out, h = [], X
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            z = h @ w.T + b
            out.append(z)
            h = np.maximum(z, 0.0)
        return out

    def forward(self, X) -> np.ndarray:
        """Network output, shape ``(n, output_dim)``."""
        X = self._check_points(X)
        h = X
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            h = np.maximum(h @ w.T + b, 0.0)
        return h @ self.weights[-1].T + self.biases[-1]

    __call__ = forward

    def bits(self, X) -> np.ndarray:
        """Bit vectors ``s(x)`` (eq. 4-5) as a bool array ``(n, n_hidden)``: 1 iff pre-activation > 0."""
        pre = self.preactivations(X)
        if not pre:
            return np.zeros((len(self._check_points(X)), 0), dtype=bool)
        return np.concatenate([z > 0 for z in pre], axis=1)

    def patterns(self, X, chunk: int = 65536) -> np.ndarray:
        """Packed bit vectors ``(n, ceil(n_hidden / 8))`` uint8 (little bit order), in chunks."""
        X = self._check_points(X)
        nbytes = (self.n_hidden + 7) // 8
        out = np.empty((len(X), nbytes), dtype=np.uint8)
        for s in range(0, len(X), chunk):
            out[s:s + chunk] = pack_bits(self.bits(X[s:s + chunk]))
        return out

    # ------------------------------------------------------------------ affine pieces
    def _as_bits(self, pattern) -> np.ndarray:
        p = np.asarray(pattern)
        if p.dtype == np.uint8 and p.shape == ((self.n_hidden + 7) // 8,) and self.n_hidden != p.size:
            p = unpack_bits(p, self.n_hidden)
        p = p.astype(bool).reshape(-1)
        if p.shape[0] != self.n_hidden:
            raise ValueError(f"a pattern of {self!r} has {self.n_hidden} bits; got {p.shape[0]}")
        return p

    def layer_maps(self, pattern) -> list:
        """Per hidden layer ``j`` the map ``x -> W^_j x + b^_j`` giving its pre-activations on the
        polyhedron of ``pattern`` (Liu et al. eq. 8: ``W^_j = W_j diag(s_{j-1}) W^_{j-1}``)."""
        s = self._as_bits(pattern)
        offs = self.layer_offsets
        maps = []
        A = np.eye(self.input_dim)
        c = np.zeros(self.input_dim)
        for j, (w, b) in enumerate(zip(self.weights[:-1], self.biases[:-1])):
            Aj = w @ A
            cj = w @ c + b
            maps.append((Aj, cj))
            on = s[offs[j]:offs[j + 1]]
            A = Aj * on[:, None]
            c = cj * on
        return maps

    def halfspaces(self, pattern) -> tuple:
        """``(A, c)`` with the polyhedron of ``pattern`` = closure of ``{x : A x <= c}`` (eq. 9).

        Row ``k`` belongs to hidden neuron ``k``: ``-(W^ x + b^) <= 0`` for an active bit and
        ``W^ x + b^ <= 0`` for an inactive one.
        """
        s = self._as_bits(pattern)
        maps = self.layer_maps(s)
        if not maps:
            return np.zeros((0, self.input_dim)), np.zeros(0)
        W = np.concatenate([m[0] for m in maps], axis=0)
        b = np.concatenate([m[1] for m in maps], axis=0)
        sign = np.where(s, -1.0, 1.0)  # s' of eq. 6
        return sign[:, None] * W, -sign * b

    def affine_maps(self, patterns) -> tuple:
        """The maps of :meth:`affine_map` for many patterns at once: ``(A (n, n_out, d),
        c (n, n_out))`` with ``F(x) = A[i] x + c[i]`` on the polyhedron of pattern ``i``.

        ``patterns`` is ``(n, n_hidden)`` bits or ``(n, ceil(n_hidden / 8))`` packed bytes (as
        :meth:`patterns` returns them). The products run layer by layer over all patterns
        together (Liu et al. eq. 8; the linear part from the output side, ``n_out`` rows per
        pattern instead of ``d`` columns); they equal :meth:`affine_map`'s up to the order of
        float64 sums.

        Examples
        --------
        >>> import numpy as np
        >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
        >>> A, c = net.affine_maps(np.array([[True, False], [True, True]]))
        >>> A[:, 0].tolist(), c.tolist()
        ([[1.0, 0.0], [1.0, 1.0]], [[0.0], [0.0]])
        """
        P = np.asarray(patterns)
        nb = (self.n_hidden + 7) // 8
        if P.ndim != 2:
            raise ValueError(f"patterns must be a 2-D array (one pattern per row); got shape {P.shape}")
        if P.dtype == np.uint8 and P.shape[1] == nb and self.n_hidden != nb:
            P = unpack_bits(P, self.n_hidden)
        S = P.astype(bool)
        if S.shape[1] != self.n_hidden:
            raise ValueError(f"a pattern of {self!r} has {self.n_hidden} bits; got {S.shape[1]}")
        n, m = len(S), self.output_dim
        offs = self.layer_offsets
        L = len(self.weights) - 1  # hidden layers
        Sf = S.astype(np.float64)  # the bits as 0.0 / 1.0, converted at once (contiguous)
        on = [Sf[:, offs[j]:offs[j + 1]] for j in range(L)]
        # offsets, forward: one product per layer for all patterns (from the input side the
        # offset is 0, so the first layer's is its bias, masked)
        c = self.biases[0] * on[0] if L else np.zeros((n, self.input_dim))
        for j in range(1, L):
            c = c @ self.weights[j].T
            c += self.biases[j]
            c *= on[j]
        c = c @ self.weights[L].T + self.biases[L]
        # A = W_L diag(s_{L-1}) W_{L-1} ... diag(s_0) W_0, from the output side: the rows of
        # every pattern stacked, (n * n_out, width), one product per layer
        U = np.repeat(self.weights[L][None], n, axis=0)
        for j in range(L - 1, -1, -1):
            U *= on[j][:, None, :]
            U = (U.reshape(n * m, -1) @ self.weights[j]).reshape(n, m, -1)
        return U, c

    def affine_map(self, pattern) -> tuple:
        """``(A, c)`` with ``F(x) = A x + c`` on the polyhedron of ``pattern`` (map G, Sec. 2.3)."""
        s = self._as_bits(pattern)
        maps = self.layer_maps(s)
        if maps:
            offs = self.layer_offsets
            on = s[offs[-2]:offs[-1]]
            A, c = maps[-1][0] * on[:, None], maps[-1][1] * on
        else:
            A, c = np.eye(self.input_dim), np.zeros(self.input_dim)
        return self.weights[-1] @ A, self.weights[-1] @ c + self.biases[-1]
