"""Affine slices of a high-dimensional input space: segments, planes, and ``k``-dimensional slices.

A network on images (``784`` or ``150528`` inputs) cannot be decomposed in all of its input
space, but it can be on a low-dimensional affine slice through chosen inputs: the plane through
three images, the segment between two. A :class:`Slice` is the affine map

``x(u) = origin + u @ basis``,   ``u`` in a box of ``R^k``  (``basis`` has shape ``(k, D)``),

so a network ``F`` restricted to it is ``u -> F(origin + u @ basis)``: for a ReLU MLP, the same
network with its first layer composed with the slice map (``W_1 basis^T``, ``W_1 origin + b_1``).
:func:`relutopo.decompose.decompose` accepts a slice as its domain and returns a
:class:`relutopo.slice_decomposition.SliceDecomposition` in slice coordinates, which maps
coordinates back to input space with ``to_input``.

* :class:`Segment` ``(a, b)``: ``k = 1``, ``x(t) = a + t (b - a)``, ``t`` in ``[0, 1]`` (widened by
  ``margin``);
* :meth:`Plane.through` ``(x0, x1, x2, margin=...)``: ``k = 2``, origin the centroid of the three
  points and an orthonormal basis of their plane (Gram-Schmidt), so that distances in the
  picture are Euclidean distances in input space; the box is the anchors' bounding box widened
  by ``margin`` times its larger side (the picture regioncam draws);
* :class:`Slice` ``(origin, basis, box)``: any ``k``.

Points keep their shape: the inputs of an image model are ``(C, H, W)`` arrays, and
``to_input`` returns ``(n, C, H, W)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from . import tolerances as tol
from .domains import Box
from .errors import SliceError  # re-exported: relutopo.slices.SliceError

__all__ = ["Slice", "Plane", "Segment"]


def _as_point(x, name: str, shape: Optional[tuple] = None) -> np.ndarray:
    try:
        arr = np.array(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SliceError(f"{name} cannot be read as a float array: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if shape is not None and arr.shape != shape:
        raise SliceError(f"{name} has shape {arr.shape}, but the other points have shape {shape}; "
                         "every point of a slice lives in the same input space")
    if arr.size == 0:
        raise SliceError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise SliceError(f"{name} contains NaN or infinite values")
    return arr


@dataclass(frozen=True, eq=False, init=False)
class Slice:
    """The affine slice ``{origin + u @ basis : u in box}`` of an input space.

    Parameters
    ----------
    origin : array (D,) or an input of any shape (e.g. ``(C, H, W)``)
        The point at slice coordinates ``u = 0``.
    basis : array (k, D), or (k, C, H, W) for inputs of shape (C, H, W)
        Linearly independent directions; row ``i`` is the input-space step of coordinate ``i``.
    box : Box of dimension k
        The slice's domain in slice coordinates.
    anchors : array (a, k), optional
        Slice coordinates of marked points (the images a plane was built through), for plots.
    anchor_labels : sequence of str, optional
        A label per anchor.

    Examples
    --------
    >>> s = Slice(np.zeros(3), np.eye(3)[:2], Box(-1, 1, dim=2))
    >>> s.to_input([[0.5, -1.0]]).tolist()
    [[0.5, -1.0, 0.0]]
    """

    origin: np.ndarray
    basis: np.ndarray
    box: Box
    input_shape: tuple
    anchors: Optional[np.ndarray]
    anchor_labels: tuple

    def __init__(self, origin, basis, box: Box, anchors=None, anchor_labels: Sequence[str] = ()):
        o = _as_point(origin, "origin")
        input_shape = tuple(int(s) for s in o.shape)
        D = int(o.size)
        B = _as_point(basis, "basis")
        if B.ndim >= 1 and B.shape[1:] == input_shape:
            B = B.reshape(B.shape[0], D)
        elif B.ndim == 1 and B.size == D:
            B = B.reshape(1, D)
        if B.ndim != 2 or B.shape[1] != D:
            raise SliceError(f"basis must have shape (k, {D}) or (k, *{input_shape}) for an origin of "
                             f"shape {input_shape}; got {np.shape(basis)}")
        k = B.shape[0]
        if not isinstance(box, Box):
            raise SliceError(f"box must be a relutopo.domains.Box of dimension {k}; got "
                             f"{type(box).__name__}")
        if box.dim != k:
            raise SliceError(f"box has dimension {box.dim} but the basis has k = {k} rows; give "
                             f"Box(lo, hi, dim={k})")
        sv = np.linalg.svd(B, compute_uv=False)
        if sv.min() <= tol.ROUNDING_RTOL * max(sv.max(), tol.TINY):
            raise SliceError(f"the {k} basis vectors are linearly dependent (singular values "
                             f"{np.array2string(sv, precision=3)}); a slice needs independent directions")
        if anchors is not None:
            anchors = np.asarray(anchors, dtype=np.float64)
            if anchors.ndim == 1 and k == 1:
                anchors = anchors[:, None]
            if anchors.ndim != 2 or anchors.shape[1] != k:
                raise SliceError(f"anchors must have shape (a, {k}); got {anchors.shape}")
            anchors = anchors.copy()
            anchors.setflags(write=False)
        labels = tuple(str(s) for s in anchor_labels)
        if labels and (anchors is None or len(labels) != len(anchors)):
            raise SliceError(f"anchor_labels has {len(labels)} labels for "
                             f"{0 if anchors is None else len(anchors)} anchors")
        o = o.reshape(D).copy()
        o.setflags(write=False)
        B = np.ascontiguousarray(B)
        B.setflags(write=False)
        for name, val in (("origin", o), ("basis", B), ("box", box), ("input_shape", input_shape),
                          ("anchors", anchors), ("anchor_labels", labels)):
            object.__setattr__(self, name, val)

    # ------------------------------------------------------------------ facts
    @property
    def dim(self) -> int:
        """``k``, the dimension of the slice."""
        return int(self.basis.shape[0])

    @property
    def ambient_dim(self) -> int:
        """``D``, the number of inputs of the network."""
        return int(self.basis.shape[1])

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(k={self.dim} in R^{self.ambient_dim} "
                f"(inputs {self.input_shape}), box={self.box!r})")

    # ------------------------------------------------------------------ maps
    def _coords(self, points) -> np.ndarray:
        U = np.asarray(points, dtype=np.float64)
        if U.ndim == 1 and self.dim == 1:
            U = U[:, None]
        elif U.ndim == 1 and U.shape[0] == self.dim:
            U = U[None, :]
        if U.ndim != 2 or U.shape[1] != self.dim:
            raise ValueError(f"slice coordinates must have shape (n, {self.dim}); got {np.shape(points)}")
        return U

    def to_input_flat(self, points) -> np.ndarray:
        """``origin + u @ basis`` for each row ``u`` of ``points``: shape ``(n, D)``."""
        U = self._coords(points)
        return self.origin[None, :] + U @ self.basis

    def to_input(self, points) -> np.ndarray:
        """Input-space points ``(n, *input_shape)`` of slice coordinates ``points`` ``(n, k)``."""
        X = self.to_input_flat(points)
        return X.reshape((len(X),) + self.input_shape)

    def project(self, X) -> np.ndarray:
        """Slice coordinates of input points (least squares; exact for points on the slice)."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, self.ambient_dim)
        sol, *_ = np.linalg.lstsq(self.basis.T, (X - self.origin[None, :]).T, rcond=None)
        return sol.T

    def compose_first_layer(self, W, b) -> tuple:
        """``(W basis^T, W origin + b)``: the first layer ``x -> W x + b`` as a map of ``u``."""
        W = np.asarray(W, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if W.ndim != 2 or W.shape[1] != self.ambient_dim:
            raise ValueError(f"the first layer takes {W.shape[1] if W.ndim == 2 else '?'} inputs but "
                             f"this slice lives in R^{self.ambient_dim}")
        return W @ self.basis.T, W @ self.origin + b

    def grid(self, n: int) -> np.ndarray:
        """A regular grid of ``n`` points per side of the box, shape ``(n^k, k)`` (for sampling)."""
        axes = [np.linspace(lo, hi, int(n)) for lo, hi in zip(self.box.lo, self.box.hi)]
        mesh = np.meshgrid(*axes, indexing="xy")
        return np.stack([m.reshape(-1) for m in mesh], axis=1)


class Plane(Slice):
    """A 2-dimensional :class:`Slice`; build it with :meth:`Plane.through`.

    Examples
    --------
    The plane through three inputs of ``R^3`` and the exact regions of a 3 -> 4 -> 1 network on it:

    >>> import numpy as np
    >>> from relutopo import ReluNet, decompose
    >>> rng = np.random.default_rng(0)
    >>> net = ReluNet.from_weights([rng.normal(size=(4, 3)), rng.normal(size=(1, 4))],
    ...                            [rng.normal(size=4), np.zeros(1)])
    >>> plane = Plane.through([0, 0, 0], [1, 0, 0], [0, 1, 0])
    >>> plane.dim, plane.ambient_dim
    (2, 3)
    >>> decompose(net, plane).n_regions
    2
    """

    def __init__(self, origin, basis, box: Box, anchors=None, anchor_labels: Sequence[str] = ()):
        super().__init__(origin, basis, box, anchors, anchor_labels)
        if self.dim != 2:
            raise SliceError(f"a Plane has 2 basis vectors; got {self.dim}")

    @classmethod
    def through(cls, x0, x1, x2, margin: float = 0.15, labels: Sequence[str] = ("x0", "x1", "x2"),
                box: Optional[Box] = None) -> "Plane":
        """The plane through three inputs, with an orthonormal basis centred at their centroid.

        Parameters
        ----------
        x0, x1, x2 : arrays of one shape (e.g. three ``(1, 28, 28)`` images)
            Affinely independent points.
        margin : float
            The box is the anchors' bounding box widened on each side by ``margin`` times its
            larger side (``>= 0``).
        labels : three str
            Anchor labels shown on plots.
        box : Box, optional
            Use this box (in the plane's coordinates) instead.

        Examples
        --------
        >>> p = Plane.through([0, 0, 0], [1, 0, 0], [0, 1, 0], margin=0.0)
        >>> np.allclose(p.to_input(p.anchors), [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
        True
        """
        a = _as_point(x0, "x0")
        b = _as_point(x1, "x1", a.shape)
        c = _as_point(x2, "x2", a.shape)
        if not (isinstance(margin, (int, float, np.floating)) and np.isfinite(margin) and margin >= 0):
            raise SliceError(f"margin must be a finite number >= 0; got {margin!r}")
        P = np.stack([a.reshape(-1), b.reshape(-1), c.reshape(-1)])
        centre = P.mean(axis=0)
        u = P[1] - P[0]
        v = P[2] - P[0]
        nu = np.linalg.norm(u)
        if nu == 0:
            raise SliceError("x0 and x1 are the same point; a plane needs three affinely independent points")
        e1 = u / nu
        w = v - (v @ e1) * e1
        w = w - (w @ e1) * e1  # second Gram-Schmidt pass for accuracy
        nw = np.linalg.norm(w)
        if nw <= tol.ROUNDING_RTOL * max(nu, np.linalg.norm(v)):
            raise SliceError("x0, x1 and x2 are collinear; a plane needs three affinely independent points")
        e2 = w / nw
        basis = np.stack([e1, e2])
        anchors = (P - centre) @ basis.T
        if box is None:
            lo, hi = anchors.min(axis=0), anchors.max(axis=0)
            pad = float(margin) * float((hi - lo).max())
            box = Box(lo - pad, hi + pad)
        return cls(centre.reshape(a.shape), basis, box, anchors=anchors, anchor_labels=labels)


class Segment(Slice):
    """The segment ``a + t (b - a)``, ``t`` in ``[-margin, 1 + margin]`` (a 1-dimensional slice).

    Examples
    --------
    >>> s = Segment([0.0, 0.0], [2.0, 2.0])
    >>> s.to_input([0.5]).tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, a, b, margin: float = 0.0, labels: Sequence[str] = ("a", "b")):
        pa = _as_point(a, "a")
        pb = _as_point(b, "b", pa.shape)
        if not (isinstance(margin, (int, float, np.floating)) and np.isfinite(margin) and margin >= 0):
            raise SliceError(f"margin must be a finite number >= 0; got {margin!r}")
        d = (pb - pa).reshape(1, -1)
        if not np.any(d):
            raise SliceError("a and b are the same point; a segment needs two distinct points")
        super().__init__(pa, d, Box(0.0 - float(margin), 1.0 + float(margin), dim=1),
                         anchors=np.array([[0.0], [1.0]]), anchor_labels=labels)
