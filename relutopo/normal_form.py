"""The working frame of a decomposition: the same bit vectors, every number of order one.

Two kinds of rescaling leave every activation pattern unchanged (Liu et al. 2023, eq. 4-5: a
bit is the sign of a pre-activation):

* an affine change of input coordinates ``x = o + s y`` (``s > 0``), with the first layer
  absorbing it (``W_1 -> s W_1``, ``b_1 -> b_1 + W_1 o``);
* multiplying hidden neuron ``j``'s incoming row ``(W_l[j], b_l[j])`` by ``k_j > 0`` and its
  outgoing column ``W_{l+1}[:, j]`` by ``1 / k_j`` (ReLU is positively homogeneous).

:func:`normal_form` uses both to put a network and its domain in a canonical frame: the box is
centred at the origin with its longest side in ``[1/2, 1)`` (``R^d``: the first layer's
hyperplane distance scale, :func:`domain_scale`, in ``[1/2, 1)``), and
every hidden neuron's row ``(w, b)`` has largest entry in ``[1, 2)``. The scale factors are
powers of two, so the only rounding is in the shift ``b_1 + W_1 o`` of an off-centre box; a
network rescaled by powers of two has a bit-identical normal form, and one rescaled by any
``k > 0`` a normal form equal up to the rounding of its own weights. The decomposition engine
works in this frame (its tolerances are then relative to quantities of order one) and maps
points and lengths back with :meth:`NormalForm.to_user` and ``length``.

A frame that cannot be built in float64 -- a box whose side overflows, or weights whose
products overflow once every neuron is scaled to order one (the network's own output overflows
on the domain) -- raises :class:`relutopo.errors.ScaleRangeError`.

Examples
--------
>>> import numpy as np
>>> from relutopo.domains import Box
>>> from relutopo.nets import ReluNet
>>> net = ReluNet.from_weights([1e-9 * np.eye(2), np.ones((1, 2))], [1e-9 * np.ones(2), [0.0]])
>>> nf = normal_form(net, Box(-1e6, 1e6, dim=2))
>>> nf.length, nf.domain
(2097152.0, Box(-0.476837, 0.476837, dim=2))
>>> np.abs(nf.net.weights[0]).max(axis=1)  # every hidden row has its largest entry in [1, 2)
array([1.07374182, 1.07374182])
>>> net.bits([[5e5, -2.0]]).tolist() == nf.net.bits([[5e5 / nf.length, -2.0 / nf.length]]).tolist()
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .domains import Box
from .errors import ScaleRangeError
from .lp import row_norms
from .nets import ReluNet

__all__ = ["NormalForm", "normal_form", "domain_scale", "power_of_two_scales"]


@dataclass(frozen=True, eq=False)
class NormalForm:
    """A network and domain in the canonical frame (see the module docstring).

    Attributes
    ----------
    net : ReluNet
        The working network: the same bit vector at ``y`` as the user's network at
        ``origin + length * y``.
    domain : Box or None
        The working domain (``None``: all of ``R^d``).
    origin : (d,) array
    length : float
        A power of two; user coordinates are ``x = origin + length * y``.

    Examples
    --------
    A network and box rescaled by powers of two: the working network has the same bit vectors at
    the mapped points (``y = (x - origin) / length``):

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.eye(2) * 1e3, np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> nf = normal_form(net, Box(-1e-3, 3e-3, dim=2))
    >>> nf.origin.tolist(), nf.length
    ([0.001, 0.001], 0.0078125)
    >>> x = np.array([[1e-3, -5e-4]])
    >>> bool((nf.net.bits((x - nf.origin) / nf.length) == net.bits(x)).all())
    True
    """

    net: ReluNet
    domain: Box | None
    origin: np.ndarray
    length: float

    def to_user(self, Y) -> np.ndarray:
        """Points ``Y`` of the working frame in user coordinates (``origin + length * Y``)."""
        Y = np.asarray(Y, dtype=np.float64)
        if not self.origin.any():
            return self.length * Y
        return self.origin + self.length * Y


def power_of_two_scales(rows) -> np.ndarray:
    """Exponents ``e`` with ``max_j |rows[i, j]| * 2^-e[i]`` in ``[1/2, 1)`` (0 for a zero row), so
    that ``np.ldexp(rows, -e[:, None])`` rescales each row exactly (no rounding).

    Examples
    --------
    >>> import numpy as np
    >>> e = power_of_two_scales(np.array([[3.0, -0.5], [0.0, 0.0], [1e-300, 0.0]]))
    >>> e.tolist()
    [2, 0, -996]
    >>> np.ldexp(np.array([[3.0, -0.5]]), -e[:1, None]).tolist()
    [[0.75, -0.125]]
    """
    m = np.abs(np.asarray(rows, dtype=np.float64)).max(axis=1, initial=0.0)
    _, e = np.frexp(m)
    return np.where(m > 0, e, 0).astype(np.int64)


def normal_form(net: ReluNet, domain: Box | None, scale: float | None = None,
                compiled: bool = False) -> NormalForm:
    """The network and domain in the canonical frame (module docstring); raises
    :class:`~relutopo.errors.ScaleRangeError` when float64 cannot hold it. ``scale``: the
    caller's ``domain_scale(net, domain)`` if it has it (not computed again). ``compiled``:
    rescale the hidden layers with :mod:`relutopo.kernels.frame` (numba; the same frame).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> nf = normal_form(net, Box(0, 8, dim=2))
    >>> nf.domain.lo.tolist(), nf.domain.hi.tolist(), nf.length
    ([-0.25, -0.25], [0.25, 0.25], 16.0)
    """

    d = net.input_dim
    # every array below is replaced by a new one except the output bias (kept, read-only)
    ws = [np.asarray(w, dtype=np.float64) for w in net.weights]
    bs = [np.asarray(b, dtype=np.float64) for b in net.biases]
    # overflow, underflow and nan are checked explicitly below (float64 cannot hold the frame)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if domain is not None:
            dlo, dhi = domain.lo, domain.hi
            widths = dhi - dlo
            wmax = float(widths.max())
            if not math.isfinite(wmax):  # the sides are finite numbers: only overflow is infinite
                raise ScaleRangeError(
                    f"the box {domain} has a side wider than float64 can represent (hi - lo overflows "
                    "~1.8e308); use a smaller box, or domain=None for all of R^d")
            length = math.ldexp(1.0, math.frexp(wmax)[1])
            if (dlo == -dhi).all():
                origin = np.zeros(d)
                lo, hi = dlo / length, dhi / length  # (x - 0) / length: the same numbers
            else:
                origin = 0.5 * dlo + 0.5 * dhi
                lo = (dlo - origin) / length
                hi = (dhi - origin) / length
            if not ((lo < hi).all() and np.isfinite(lo).all() and np.isfinite(hi).all()):
                raise ScaleRangeError(
                    f"the box {domain} is too thin relative to its distance from the origin for "
                    "float64: its sides vanish once it is centred; shift the input coordinates")
            wdom = Box._trusted(lo, hi)  # checked just above
        else:
            origin = np.zeros(d)
            s = domain_scale(net, None) if scale is None else scale
            # no first-layer hyperplane off the origin: domain_scale falls back to 1 in every frame
            off = (np.abs(net.weights[0]).max(axis=1, initial=0.0) > 0) & (net.biases[0] != 0) \
                if len(net.weights) > 1 else np.zeros(0, dtype=bool)
            length = float(np.ldexp(1.0, int(np.frexp(s)[1]))) if off.any() else 1.0
            wdom = None
        shifted = origin.any()
        if len(ws) > 1:  # the first hidden layer absorbs the input map; each hidden neuron's
            # row (w, b) to max |.| in [1, 2) (the same operations either way)
            hidden = _hidden_rows_compiled if compiled else _hidden_rows_numpy
            hidden(net, domain, ws, bs, origin, length, shifted)
        else:  # no hidden layer: the output layer absorbs it (never used for bit vectors)
            bs[0] = bs[0] + (ws[0] @ origin if shifted else 0.0)
            ws[0] = ws[0] * length
    if bs[-1] is net.biases[-1] and bs[-1].flags.writeable:  # the caller's array: not frozen here
        bs[-1] = bs[-1].copy()
    for a in (*ws, *bs):
        a.setflags(write=False)
    origin.setflags(write=False)
    return NormalForm(net=net._reweighted(tuple(ws), tuple(bs)), domain=wdom, origin=origin,
                      length=length)


def _overflow_message(net, l):
    return (f"layer {l} of {net!r} once every neuron of layer {l - 1} is scaled to order one "
            "(products of its weights) overflows float64 arithmetic; rescale the network or the "
            "domain so that pre-activations on the domain stay below ~1e300")


def _hidden_rows_numpy(net, domain, ws, bs, origin, length, shifted):
    """The hidden layers' part of :func:`normal_form` (``ws``, ``bs`` replaced in place): the
    first layer times the box side and shifted to its centre, then every hidden neuron's row
    scaled by ``2^-e`` and its outgoing column by ``2^e``; raises where float64 overflows."""
    bs[0] = bs[0] + ws[0] @ origin if shifted else bs[0] + 0.0
    ws[0] = ws[0] * length
    if not (np.isfinite(ws[0]).all() and np.isfinite(bs[0]).all()):
        raise ScaleRangeError(_first_layer_message(domain))
    for l in range(len(ws) - 1):
        top = np.abs(ws[l]).max(axis=1)
        np.maximum(top, np.abs(bs[l]), out=top)
        e = np.frexp(top)[1]
        e -= 1  # a zero row (e = -1) stays zero
        ne = -e
        ws[l] = np.ldexp(ws[l], ne[:, None])
        bs[l] = np.ldexp(bs[l], ne)
        ws[l + 1] = np.ldexp(ws[l + 1], e)
    for l in range(1, len(ws)):
        if not np.isfinite(ws[l]).all():
            raise ScaleRangeError(_overflow_message(net, l))


def _hidden_rows_compiled(net, domain, ws, bs, origin, length, shifted):
    """The hidden layers' part of :func:`normal_form` with
    :func:`relutopo.kernels.frame.rows_to_order_one` (``ws``, ``bs`` replaced in place, the
    same numbers and the same errors as :func:`_hidden_rows_numpy`)."""
    from .kernels.frame import rows_to_order_one

    if shifted:
        bs[0] = bs[0] + ws[0] @ origin
    bad = 0
    for l in range(len(ws) - 1):
        ws[l], bs[l], ws[l + 1], first_ok, ok = rows_to_order_one(
            ws[l], bs[l], ws[l + 1], length if l == 0 else 1.0, l == 0 and not shifted)
        if l == 0 and not first_ok:
            raise ScaleRangeError(_first_layer_message(domain))
        if not ok and not bad:
            bad = l + 1
    if bad:
        raise ScaleRangeError(_overflow_message(net, bad))


def _first_layer_message(domain):
    return (f"the first layer on the domain {domain} (weights times the box side) overflows "
            "float64 arithmetic; rescale the network or the domain so that pre-activations on "
            "the domain stay below ~1e300")


def domain_scale(net, domain) -> float:
    """The length scale that relative tolerances multiply.

    For a :class:`Box` it is the longest side. For ``R^d`` it is the largest distance from the
    origin to a first-layer hyperplane ``{w_k . x + b_k = 0}`` (1.0 when every one passes through
    the origin); rescaling the input by ``alpha`` rescales it by ``alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.array([3.0, 0.0]), np.zeros(1)])
    >>> domain_scale(net, Box([0, 0], [2, 5]))
    5.0
    >>> domain_scale(net, None)
    3.0
    """
    if domain is not None:
        return domain.scale
    W, b = net.weights[0], net.biases[0]
    if net.n_hidden == 0:
        return 1.0
    norms = row_norms(W)
    live = norms > 0
    if not np.any(live):
        return 1.0
    with np.errstate(over="ignore"):
        dist = np.abs(b[live]) / norms[live]
    s = float(dist.max())
    if not np.isfinite(s):
        raise ScaleRangeError(f"a first-layer hyperplane of {net!r} lies farther from the origin than "
                              "float64 can represent (|b| / ||w|| overflows)")
    return s if s > 0 else 1.0
