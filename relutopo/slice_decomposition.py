"""Exact decompositions of a network restricted to a slice, and their decision boundaries.

``decompose(model, slice)`` (:func:`relutopo.decompose.decompose` with a
:class:`relutopo.slices.Slice` as domain, or any torch model) returns a
:class:`SliceDecomposition`: the regions of the network on the slice, in slice coordinates
(polygons on a plane, intervals on a segment), each with its pattern digest (and pattern), its
output map, an interior point, and -- for a classifier (argmax of the outputs; the sign of a
single output) -- the decision boundary as segments (plane) or points (segment).

* A :class:`relutopo.nets.ReluNet` is decomposed by the engine: its first layer is composed
  with the slice map (``W_1 basis^T``, ``W_1 origin + b_1``) and
  :func:`relutopo.decompose.decompose` runs on the slice's box, for a slice of any dimension;
  the engine's :class:`~relutopo.decomposition.Decomposition` (facets, dual graph) is kept.
* Any piecewise-linear torch model (convolutions, BatchNorm, pooling, residual blocks, LeakyReLU,
  max-pools; :mod:`relutopo.pl_graph`) is refined exactly on segments and planes by
  :mod:`relutopo.slice_refine`.

Both paths give the same regions on an MLP (the tests check it), with the same pattern digests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional

import numpy as np

from . import tolerances as tol
from .nets import ReluNet
from .patterns import pack_bits, unpack_bits
from .pl_graph import DIGEST_BYTES, DIGEST_SEED, PLGraph, pl_graph
from .slices import Slice
from .validation import check_n_jobs

__all__ = ["SliceDecomposition", "DecisionBoundary", "decompose_slice", "compose_slice",
           "first_stage_breakpoints",
           "polyline_regions", "PolylineRegions"]

#: Default: keep full patterns (not only digests) when a pattern has at most this many bits.
KEEP_PATTERNS_MAX_BITS = 1 << 16


@dataclass(frozen=True)
class DecisionBoundary:
    """Where the predicted class changes on a slice, in slice coordinates.

    Attributes
    ----------
    segments : (n, 2, 2) array (plane) or None
        Each row a segment ``[[u0, v0], [u1, v1]]`` where two classes tie and win.
    points : (n,) array (segment) or None
        Positions ``t`` where the winning class changes.
    classes : (n, 2) int array
        The two classes on either side of each segment / point.

    Examples
    --------
    Along a segment, ``x -> (x, -x)`` changes class once, at the midpoint:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Segment
    >>> net = ReluNet.from_weights([np.array([[1.0], [-1.0]]), np.eye(2)], [np.zeros(2), np.zeros(2)])
    >>> db = decompose_slice(net, Segment([-1.0], [1.0])).decision_boundary
    >>> db.points.tolist(), db.classes.tolist(), db.segments is None
    ([0.5], [[1, 0]], True)
    """

    segments: Optional[np.ndarray]
    points: Optional[np.ndarray]
    classes: np.ndarray

    def __len__(self) -> int:
        return int(len(self.classes))


def _class_entries(V, A):
    """Output entries at points ``V`` ``(m, k)`` from an output map ``A`` ``(n_out, k + 1)``;
    a single output ``f`` becomes the two entries ``(0, f)`` (class 1 iff ``f > 0``)."""
    k = V.shape[1]
    F = V @ A[:, :k].T + A[:, k]
    if F.shape[1] == 1:
        F = np.concatenate([np.zeros_like(F), F], axis=1)
    return F


def _clip_coords(V, vals, th):
    """The part ``vals >= 0`` of the convex polygon ``V`` (values affine, exact at vertices)."""
    s = np.where(vals > th, 1, np.where(vals < -th, -1, 0))
    if not (s > 0).any():
        return None
    if not (s < 0).any():
        return V
    out = []
    n = len(V)
    for i in range(n):
        j = (i + 1) % n
        if s[i] >= 0:
            out.append(V[i])
        if s[i] * s[j] < 0:
            f = vals[i] / (vals[i] - vals[j])
            out.append(V[i] + f * (V[j] - V[i]))
    return np.array(out)


def _class_polygons(V, A):
    """Winner regions of the classes on the convex polygon ``V`` with output map ``A``:
    list of ``(class, polygon)``; ties go to the smaller class index."""
    E = _class_entries(V, A)
    K = E.shape[1]
    th = tol.SLICE_ZERO_RTOL * max(float(np.abs(E).max()), tol.TINY)
    top = E.max(axis=1)
    common = (E >= (top - th)[:, None]).all(axis=0)
    if common.any():
        return [(int(np.argmax(common)), V)]
    grad = A[:, :2]
    const = A[:, 2]
    if A.shape[0] == 1:
        grad = np.vstack([np.zeros((1, 2)), grad])
        const = np.concatenate([[0.0], const])
    cand = [j for j in range(K) if not any(
        ((E[:, i] - E[:, j]) > th).all() or (i < j and (np.abs(E[:, i] - E[:, j]) <= th).all())
        for i in range(K) if i != j)]
    out = []
    for j in cand:
        poly = V
        for i in cand:
            if i == j:
                continue
            vals = poly @ (grad[j] - grad[i]) + (const[j] - const[i])
            if (np.abs(vals) <= th).all():
                if i < j:
                    poly = None
                    break
                continue
            poly = _clip_coords(poly, vals, th)
            if poly is None:
                break
        if poly is not None and len(poly) >= 3:
            out.append((j, poly))
    return out


def _uniform_classes(polys, maps) -> np.ndarray:
    """Per polygon the class winning at every vertex (hence on the whole convex polygon), or
    ``-1`` where the vertices disagree (within ``SLICE_ZERO_RTOL``)."""
    n = len(polys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    sizes = np.array([len(p) for p in polys])
    V = np.concatenate(polys)
    off = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    cell = np.repeat(np.arange(n), sizes)
    A = maps[cell]                                          # (nv, n_out, 3)
    F = np.einsum("vok,vk->vo", A[:, :, :2], V) + A[:, :, 2]
    if F.shape[1] == 1:
        F = np.concatenate([np.zeros_like(F), F], axis=1)
    scale = np.maximum.reduceat(np.abs(F).max(axis=1), off)
    th = tol.SLICE_ZERO_RTOL * np.maximum(scale, tol.TINY)
    top = F.max(axis=1)
    cand = F >= (top - th[cell])[:, None]
    common = np.logical_and.reduceat(cand, off, axis=0)      # (n, K)
    return np.where(common.any(axis=1), np.argmax(common, axis=1), -1)


def _tie_edges(j, poly, A, th):
    """Edges of class ``j``'s polygon lying on a tie line ``f_j = f_i`` with ``i > j``."""
    E = _class_entries(poly, A)
    out = []
    n = len(poly)
    for a in range(n):
        b = (a + 1) % n
        d = np.abs(E[[a, b]] - E[[a, b], j][:, None]) <= th
        d[:, j] = False
        both = np.flatnonzero(d.all(axis=0))
        both = both[both > j]
        if both.size:
            out.append((poly[a], poly[b], int(both[0])))
    return out


@dataclass(frozen=True, eq=False)
class SliceDecomposition:
    """The regions of a network on a :class:`~relutopo.slices.Slice`, in slice coordinates.

    Attributes
    ----------
    slice : Slice
    model : ReluNet or PLGraph
    output_maps : (n, n_out, k + 1)
        On region ``i`` the output is ``output_maps[i][:, :k] @ u + output_maps[i][:, k]``.
    packed_patterns : (n, ceil(n_bits / 8)) uint8 or None
        Full patterns (bits of every ReLU, one-hot winners of every max-pool window), kept when
        they are small.
    interior_points : (n, k)
    breakpoints : (n + 1,) or None
        Segments: region ``i`` is ``[breakpoints[i], breakpoints[i + 1]]``.
    n_bits : int
    decomposition : Decomposition or None
        The engine's decomposition in slice coordinates (ReluNet models).
    stats : dict
        Method, wall time, vertex evaluations.

    Examples
    --------
    The exact regions of a 3 -> 4 -> 2 network on the plane through three inputs, with the decision
    boundary between its two classes (seeded weights):

    >>> import numpy as np
    >>> from relutopo import ReluNet, Plane
    >>> rng = np.random.default_rng(1)
    >>> net = ReluNet.from_weights([rng.normal(size=(4, 3)), rng.normal(size=(2, 4))],
    ...                            [rng.normal(size=4), np.zeros(2)])
    >>> sd = decompose_slice(net, Plane.through([0, 0, 0], [1, 0, 0], [0, 1, 0]))
    >>> sd.dim, sd.n_outputs, sd.n_regions
    (2, 2, 3)
    >>> round(float(sd.areas().sum()), 9) == round(float(np.prod(sd.slice.box.widths)), 9)
    True
    """

    slice: Slice
    model: object
    output_maps: np.ndarray
    _digests: Optional[np.ndarray]  # None: computed from the packed patterns when first asked
    packed_patterns: Optional[np.ndarray]
    interior_points: np.ndarray
    breakpoints: Optional[np.ndarray]
    n_bits: int
    decomposition: object = None
    stats: dict = field(default_factory=dict)
    _polygons: Optional[list] = None

    # ------------------------------------------------------------------ facts
    @cached_property
    def digests(self) -> np.ndarray:
        """``(n, DIGEST_BYTES)`` uint8: the regions' pattern digests
        (:func:`relutopo.pl_graph.digest_chain` over the stages), equal iff the patterns are
        equal; for a ReluNet model computed from :attr:`packed_patterns` on first use."""
        if self._digests is not None:
            return self._digests
        return _digests_of_patterns(self.model, self.packed_patterns)

    @property
    def n_regions(self) -> int:
        return int(self.interior_points.shape[0])

    def __len__(self) -> int:
        return self.n_regions

    @property
    def dim(self) -> int:
        return self.slice.dim

    @property
    def n_outputs(self) -> int:
        return int(self.output_maps.shape[1])

    def __repr__(self) -> str:
        return f"SliceDecomposition({self.model!r} on {self.slice!r}: {self.n_regions} regions)"

    def to_input(self, points) -> np.ndarray:
        """Input-space points ``(n, *input_shape)`` of slice coordinates ``(n, k)``."""
        return self.slice.to_input(points)

    @property
    def patterns(self) -> np.ndarray:
        """Bit vectors ``(n, n_bits)`` (needs ``packed_patterns``)."""
        if self.packed_patterns is None:
            raise ValueError("this decomposition kept pattern digests only (the patterns have "
                             f"{self.n_bits} bits); decompose with keep_patterns=True")
        return unpack_bits(self.packed_patterns, self.n_bits)

    @property
    def intervals(self) -> np.ndarray:
        """Segments: ``(n, 2)`` ends of each region."""
        if self.dim != 1:
            raise ValueError(f"intervals exist for segments (k = 1); this slice has k = {self.dim}")
        if self.breakpoints is not None:
            return np.stack([self.breakpoints[:-1], self.breakpoints[1:]], axis=1)
        raise RuntimeError("internal: a 1-D slice decomposition without breakpoints")

    @cached_property
    def polygons(self) -> list:
        """Planes: per region its vertices ``(nv, 2)``, counter-clockwise, in slice coordinates."""
        if self.dim != 2:
            raise ValueError(f"polygons exist for planes (k = 2); this slice has k = {self.dim}")
        if self._polygons is not None:
            return self._polygons
        from .plotting.decomposition import region_polygons

        return [None if p is None else p[0] for p in region_polygons(self.decomposition, self.slice.box)]

    def areas(self) -> np.ndarray:
        """Planes: area of each region (shoelace formula)."""
        out = np.empty(self.n_regions)
        for i, V in enumerate(self.polygons):
            V = V - V.mean(axis=0)  # centred: no cancellation for small polygons far out
            x, y = V[:, 0], V[:, 1]
            out[i] = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
        return out

    def index_of_digest(self) -> dict:
        """``{digest bytes: region index}``."""
        return {bytes(d): i for i, d in enumerate(self.digests)}

    # ------------------------------------------------------------------ evaluation
    def locate(self, points) -> np.ndarray:
        """Region index of each slice point ``(m, k)`` found geometrically (``-1`` outside the
        box); a point on a boundary gets one of the regions it touches."""
        U = self.slice._coords(points)
        out = np.full(len(U), -1, dtype=np.int64)
        if self.dim == 1:
            t = self.breakpoints
            x = U[:, 0]
            slack = tol.ROUNDING_RTOL * max(t[-1] - t[0], abs(t[0]), abs(t[-1]))
            inside = (x >= t[0] - slack) & (x <= t[-1] + slack)  # the box's ends, up to rounding
            idx = np.clip(np.searchsorted(t, x, side="right") - 1, 0, self.n_regions - 1)
            out[inside] = idx[inside]
            return out
        if self.dim != 2:
            raise ValueError("locate supports segments and planes")
        return _locate_polygons(self.polygons, U, self.slice.box)

    def outputs(self, points) -> np.ndarray:
        """Network outputs at slice points from the regions' affine maps ``(m, n_out)``."""
        U = self.slice._coords(points)
        idx = self.locate(U)
        if (idx < 0).any():
            from .errors import SliceError

            bad = np.flatnonzero(idx < 0)
            raise SliceError(
                f"{bad.size} of {len(U)} point(s) lie outside the slice's box {self.slice.box} (the "
                f"first: {U[bad[0]].tolist()}); outputs are known on the box only. Pass slice "
                "coordinates inside slice.box (slice.box.sample, slice.grid; input-space points "
                "go through slice.project first), or decompose on a larger slice")
        A = self.output_maps[idx]
        k = self.dim
        return np.einsum("mok,mk->mo", A[:, :, :k], U) + A[:, :, k]

    # ------------------------------------------------------------------ decision boundary
    @cached_property
    def class_regions(self) -> list:
        """Planes: ``(class, polygon, region index)`` for the winner regions of the outputs in
        each region (argmax; for one output, class 1 iff it is positive). Segments: ``(class,
        (t0, t1), region index)``."""
        out = []
        if self.dim == 2:
            polys = self.polygons
            uniform = _uniform_classes(polys, self.output_maps)
            for i, V in enumerate(polys):
                if uniform[i] >= 0:
                    out.append((int(uniform[i]), V, i))
                    continue
                for j, poly in _class_polygons(V, self.output_maps[i]):
                    out.append((j, poly, i))
            return out
        if self.dim != 1:
            raise ValueError("class regions exist for segments and planes")
        from .slice_refine import upper_envelope

        t = self.breakpoints
        A = self.output_maps
        L = _entries_1d(A, t[:-1])
        R = _entries_1d(A, t[1:])
        rows, taus = upper_envelope(L, R)
        cuts = [[] for _ in range(self.n_regions)]
        for r, x in zip(rows.tolist(), taus.tolist()):
            cuts[r].append(x)
        for i in range(self.n_regions):
            taus_i = [0.0] + cuts[i] + [1.0]
            for a, b in zip(taus_i[:-1], taus_i[1:]):
                mid = 0.5 * (a + b)
                e = (1 - mid) * L[i] + mid * R[i]
                t0 = t[i] + a * (t[i + 1] - t[i])
                t1 = t[i] + b * (t[i + 1] - t[i])
                out.append((int(np.argmax(e)), (t0, t1), i))
        return out

    @cached_property
    def decision_boundary(self) -> DecisionBoundary:
        """The decision boundary (segments on a plane, points on a segment)."""
        if self.dim == 1:
            pts, cls = [], []
            reg = self.class_regions
            for (c0, (a0, b0), _), (c1, (a1, b1), _) in zip(reg[:-1], reg[1:]):
                if c0 != c1:
                    pts.append(b0)
                    cls.append((c0, c1))
            return DecisionBoundary(None, np.array(pts), np.array(cls, dtype=np.int64).reshape(-1, 2))
        segs, cls = [], []
        split = np.bincount([i for _, _, i in self.class_regions], minlength=self.n_regions) > 1
        for j, poly, i in self.class_regions:
            if not split[i]:
                continue  # a region of one class holds no boundary (up to boundaries on its edges)
            A = self.output_maps[i]
            E = _class_entries(self.polygons[i], A)
            th = tol.SLICE_ZERO_RTOL * max(float(np.abs(E).max()), tol.TINY)
            for a, b, other in _tie_edges(j, poly, A, th):
                segs.append((a, b))
                cls.append((j, other))
        return DecisionBoundary(np.array(segs).reshape(-1, 2, 2), None,
                                np.array(cls, dtype=np.int64).reshape(-1, 2))

    def class_at(self, points) -> np.ndarray:
        """The class region (side of the decision boundary) containing each slice point."""
        U = self.slice._coords(points)
        if self.dim == 1:
            reg = self.class_regions
            ends = np.array([b for _, (a, b), _ in reg])
            idx = np.clip(np.searchsorted(ends, U[:, 0], side="left"), 0, len(reg) - 1)
            return np.array([reg[i][0] for i in idx], dtype=np.int64)
        reg = self.class_regions
        loc = _locate_polygons([p for _, p, _ in reg], U, self.slice.box)
        return np.array([reg[i][0] if i >= 0 else -1 for i in loc], dtype=np.int64)


def _entries_1d(A, t):
    F = A[:, :, 0] * t[:, None] + A[:, :, 1]
    if F.shape[1] == 1:
        F = np.concatenate([np.zeros_like(F), F], axis=1)
    return F


def _locate_polygons(polys, U, box):
    """Index of a convex polygon containing each point (grid of buckets over the box)."""
    n = len(polys)
    out = np.full(len(U), -1, dtype=np.int64)
    if n == 0 or len(U) == 0:
        return out
    lo, hi = box.lo, box.hi
    G = int(max(1, min(512, np.sqrt(n / 4.0))))
    span = np.where(hi > lo, hi - lo, 1.0)
    bb_lo = np.array([p.min(axis=0) for p in polys])
    bb_hi = np.array([p.max(axis=0) for p in polys])
    eps = tol.VERTEX_MERGE_RTOL * span  # a point on a polygon's edge falls in its buckets
    c0 = np.clip(((bb_lo - eps - lo) / span * G).astype(np.int64), 0, G - 1)
    c1 = np.clip(((bb_hi + eps - lo) / span * G).astype(np.int64), 0, G - 1)
    buckets = {}
    for i in range(n):
        for bx in range(c0[i, 0], c1[i, 0] + 1):
            for by in range(c0[i, 1], c1[i, 1] + 1):
                buckets.setdefault((bx, by), []).append(i)
    cell = np.clip(((U - lo) / span * G).astype(np.int64), 0, G - 1)
    key = cell[:, 0] * G + cell[:, 1]
    order = np.argsort(key, kind="stable")
    uk, starts = np.unique(key[order], return_index=True)
    ends = np.append(starts[1:], len(order))
    for k, a, b in zip(uk.tolist(), starts.tolist(), ends.tolist()):
        pts_idx = order[a:b]
        pts = U[pts_idx]
        todo = np.ones(len(pts_idx), dtype=bool)
        for i in buckets.get((k // G, k % G), ()):
            V = polys[i]
            E = np.roll(V, -1, axis=0) - V
            cross = E[None, :, 0] * (pts[:, None, 1] - V[None, :, 1]) - E[None, :, 1] * (pts[:, None, 0] - V[None, :, 0])
            scale = np.linalg.norm(E, axis=1)[None, :] * max(float(np.abs(V).max()), tol.TINY)
            inside = (cross >= -tol.ROUNDING_RTOL * scale).all(axis=1) & todo
            out[pts_idx[inside]] = i
            todo &= ~inside
            if not todo.any():
                break
    return out


# ============================================================================ construction
def compose_slice(net: ReluNet, slc: Slice) -> ReluNet:
    """The ReLU net ``u -> net(origin + u @ basis)`` on slice coordinates (first layer composed).

    Examples
    --------
    The first layer absorbs the slice's affine map, so the composed network lives on slice
    coordinates:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Segment
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> seg = Segment([-1.0, -2.0], [1.0, 2.0])
    >>> small = compose_slice(net, seg)
    >>> small.input_dim, bool(np.allclose(small.forward([[0.3]]), net.forward(seg.to_input([[0.3]]))))
    (1, True)
    """
    if net.input_dim != slc.ambient_dim:
        raise ValueError(f"{net!r} takes {net.input_dim} inputs but the slice lives in R^{slc.ambient_dim}")
    W0, b0 = slc.compose_first_layer(net.weights[0], net.biases[0])
    if not (np.isfinite(W0).all() and np.isfinite(b0).all()):  # from_weights says which, how many
        return ReluNet.from_weights([W0, *net.weights[1:]], [b0, *net.biases[1:]])
    W0, b0 = np.ascontiguousarray(W0), np.ascontiguousarray(b0)  # the other layers: checked in net
    W0.setflags(write=False)
    b0.setflags(write=False)
    return ReluNet((W0, *net.weights[1:]), (b0, *net.biases[1:]))


def _digests_of_patterns(net: ReluNet, packed: np.ndarray) -> np.ndarray:
    """The digests (:func:`relutopo.pl_graph.digest_chain`, one stage per hidden layer) of
    packed patterns of ``net``, each layer's bits packed for all patterns at once."""
    bits = unpack_bits(packed, net.n_hidden)
    offs = net.layer_offsets
    layers = [pack_bits(bits[:, offs[l]:offs[l + 1]]) for l in range(len(offs) - 1)]
    # digest_chain's blake2b(previous || layer bytes), on slices of each layer's bytes (one
    # Python step per pattern and layer: no array per call)
    stages = [(L.tobytes(), L.shape[1]) for L in layers]
    blake2b = hashlib.blake2b
    out = []
    for r in range(len(bits)):
        d = DIGEST_SEED
        for buf, w in stages:
            d = blake2b(d + buf[r * w:(r + 1) * w], digest_size=DIGEST_BYTES).digest()
        out.append(d)
    return np.frombuffer(b"".join(out), dtype=np.uint8).reshape(len(bits), DIGEST_BYTES).copy()


def decompose_slice(model, slc, method: str = "auto", progress: bool = False,
                    keep_patterns: Optional[bool] = None, chunk_elems: Optional[int] = None,
                    on_inconsistency: str = "raise", n_jobs: int = 1) -> SliceDecomposition:
    """Exact regions of ``model`` on ``slc`` (see the module docstring).

    Parameters
    ----------
    model : ReluNet, torch.nn.Module or PLGraph
    slc : Slice (Segment, Plane or any k for a ReluNet)
    method : str
        For a ReluNet, passed to the engine (``"auto"``, ``"polygon"``, ``"vertex"``, ...);
        torch models use the slice refinement (``"auto"``).
    keep_patterns : bool, optional
        Keep full patterns besides the digests (default: when a pattern has at most
        ``KEEP_PATTERNS_MAX_BITS`` bits).
    chunk_elems : int, optional
        Memory budget of the refinement in floats (default ``slice_refine.CHUNK_ELEMS``).
    on_inconsistency : {"raise", "warn"}
        Passed to the engine for a ReluNet (see :func:`relutopo.decompose.decompose`).
    n_jobs : int
        Worker processes that refine a torch model's segment (``-1``: every CPU); the result
        is the same for any value (:func:`relutopo.slice_refine.refine_segment`). Planes and
        ReluNet slices run in this process.

    Examples
    --------
    >>> from relutopo.slices import Segment
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> decompose_slice(net, Segment([-1.0, -2.0], [1.0, 2.0])).n_regions
    2
    """
    import time

    from .decompose import _blas_one_thread, decompose

    t0 = time.perf_counter()
    n_jobs = check_n_jobs(n_jobs)
    if not isinstance(model, (ReluNet, PLGraph)) and not _is_torch_module(model):
        raise TypeError(f"net must be a relutopo.nets.ReluNet (build one with ReluNet.from_weights or "
                        f".from_torch), a torch.nn.Module or a PLGraph; got {type(model).__name__}")
    if not isinstance(slc, Slice):
        raise TypeError(f"a torch model (or a PLGraph) is decomposed on a slice: pass a "
                        f"relutopo.slices.Segment, Plane or Slice as the domain; got "
                        f"{type(slc).__name__}. In all of input space, an MLP-shaped model "
                        "becomes a ReluNet with ReluNet.from_torch(model, input_shape=...)")
    if isinstance(model, ReluNet):
        net = compose_slice(model, slc)
        dec = decompose(net, slc.box, method=method, progress=progress,
                        on_inconsistency=on_inconsistency)
        keep = True if keep_patterns is None else bool(keep_patterns)
        bp = None
        polys = None
        if slc.dim == 1:
            order, bp = _segment_breakpoints(net, dec, float(slc.box.lo[0]), float(slc.box.hi[0]))
        else:
            order = np.arange(dec.n_regions)
        packed = dec.packed_patterns[order]
        maps = np.zeros((dec.n_regions, model.output_dim, slc.dim + 1))
        with _blas_one_thread():  # products of a few hundred columns: a second BLAS thread only waits
            maps[:, :, :slc.dim], maps[:, :, slc.dim] = net.affine_maps(packed)  # in slice coordinates
        return SliceDecomposition(  # digests from the patterns when asked, or now (not kept)
            slice=slc, model=model, output_maps=maps, _digests=None if keep else _digests_of_patterns(model, packed),
            packed_patterns=packed if keep else None, interior_points=dec.interior_points[order],
            breakpoints=bp, n_bits=model.n_hidden, decomposition=dec,
            stats={"method": f"engine/{dec.stats.get('method', method)}",
                   "wall_s": time.perf_counter() - t0, "order": order},
            _polygons=polys)
    if method not in ("auto", "refine"):
        raise ValueError(f"method={method!r} selects an engine algorithm for ReluNet models; a torch "
                         "model is refined exactly on its slice (method='auto')")
    graph = pl_graph(model, slc.input_shape)
    if keep_patterns is None:
        keep_patterns = graph.n_bits <= KEEP_PATTERNS_MAX_BITS
    from . import slice_refine as sr

    chunk = sr.CHUNK_ELEMS if chunk_elems is None else int(chunk_elems)
    if slc.dim == 1:
        res = sr.refine_segment(graph, slc.box.lo[0], slc.box.hi[0], slc.to_input_flat,
                                keep_patterns=keep_patterns, chunk_elems=chunk, progress=progress,
                                n_jobs=n_jobs)
        t, O = res.t, res.outputs
        _check_breakpoints(t, float(slc.box.lo[0]), float(slc.box.hi[0]), "the refinement")
        dt = np.diff(t)
        slope = (O[1:] - O[:-1]) / dt[:, None]
        maps = np.stack([slope, O[:-1] - slope * t[:-1, None]], axis=2)
        mids = (0.5 * (t[:-1] + t[1:]))[:, None]
        return SliceDecomposition(slice=slc, model=graph, output_maps=maps, _digests=res.digests,
                                  packed_patterns=res.packed_patterns, interior_points=mids,
                                  breakpoints=t, n_bits=graph.n_bits,
                                  stats={"method": "refine", "wall_s": time.perf_counter() - t0,
                                         **res.stats})
    if slc.dim == 2:
        res = sr.refine_plane(graph, slc.box.lo, slc.box.hi, slc.to_input_flat,
                              keep_patterns=keep_patterns, chunk_elems=chunk, progress=progress)
        cents = _interior_points(res.polygons)
        return SliceDecomposition(slice=slc, model=graph, output_maps=res.output_maps,
                                  _digests=res.digests, packed_patterns=res.packed_patterns,
                                  interior_points=cents, breakpoints=None, n_bits=graph.n_bits,
                                  stats={"method": "refine", "wall_s": time.perf_counter() - t0,
                                         **res.stats},
                                  _polygons=res.polygons)
    raise ValueError(f"torch models are refined on segments (k = 1) and planes (k = 2); this slice "
                     f"has k = {slc.dim}. For an MLP-shaped model use ReluNet.from_torch(model, "
                     "input_shape=...) and decompose the ReluNet on the slice")


def _check_breakpoints(t, lo: float, hi: float, who: str) -> None:
    """Raise :class:`~relutopo.errors.InconsistentDecompositionError` unless ``t`` starts at
    ``lo``, ends at ``hi`` and increases strictly (no piece of zero length, no missing end)."""
    from .errors import InconsistentDecompositionError

    t = np.asarray(t, dtype=np.float64)
    problems = []
    if t.size < 2:
        problems.append(f"{t.size} breakpoint(s)")
    else:
        if t[0] != lo or t[-1] != hi:
            problems.append(f"the breakpoints run from {t[0]!r} to {t[-1]!r}, not over the whole "
                            f"segment [{lo!r}, {hi!r}]")
        short = np.flatnonzero(~(np.diff(t) > 0))
        if short.size:
            problems.append(f"{short.size} piece(s) of zero or negative length (first: piece "
                            f"{int(short[0])}, [{t[short[0]]!r}, {t[short[0] + 1]!r}])")
    if problems:
        raise InconsistentDecompositionError(
            f"{who} of the segment gave inconsistent pieces: " + "; ".join(problems) + ". The "
            "pieces are not trustworthy; try the other path (a ReluNet: decompose(net, segment) or "
            "decompose(net.to_torch(), segment)) and report the network")


def _segment_breakpoints(net: ReluNet, dec, lo: float, hi: float):
    """``(order, breakpoints)`` of the engine's regions of ``net`` (slice coordinates) on the
    segment ``[lo, hi]``.

    The regions are ordered by their interior points. The breakpoint between neighbours ``i`` and
    ``i + 1`` is where the neurons whose bits differ between them vanish: it is solved from the
    rows of those neurons in both regions' systems (eq. 9; each region's own row ``a t <= c``
    must end it on the right side), not from the regions' facet lists, so a facet missed or
    mislabelled by the engine cannot shift or drop a breakpoint. The ends are ``lo`` and ``hi``
    exactly. Pieces that do not tile the segment (a breakpoint outside its neighbours' interior
    points, the two regions disagreeing on it) raise
    :class:`~relutopo.errors.InconsistentDecompositionError`.
    """
    from .errors import InconsistentDecompositionError

    n = dec.n_regions
    order = np.argsort(dec.interior_points[:, 0], kind="stable")
    x = dec.interior_points[order, 0]
    bits = unpack_bits(dec.packed_patterns[order], net.n_hidden).astype(bool)
    span = max(hi - lo, abs(lo), abs(hi))
    agree = tol.VERTEX_MERGE_RTOL * span
    bp = np.empty(n + 1)
    bp[0], bp[-1] = lo, hi
    rows = [net.halfspaces(b) for b in bits]
    for i in range(n - 1):
        flip = bits[i] != bits[i + 1]
        (A0, c0), (A1, c1) = rows[i], rows[i + 1]
        a0, a1 = A0[flip, 0], A1[flip, 0]
        right = c0[flip][a0 > 0] / a0[a0 > 0]  # region i ends where a flipping row binds on its right
        left = c1[flip][a1 < 0] / a1[a1 < 0]  # region i + 1 starts where one binds on its left
        if not flip.any() or right.size == 0 or left.size == 0:
            raise InconsistentDecompositionError(
                f"the engine's regions {int(order[i])} and {int(order[i + 1])} on the segment are "
                "neighbours (by their interior points) but no neuron flipping between them bounds "
                "both; the pieces are not trustworthy. Decompose the torch model instead "
                "(decompose(net.to_torch(), segment)) and report the network")
        b0, b1 = float(right.min()), float(left.max())
        if abs(b0 - b1) > agree or not (x[i] < b0 < x[i + 1]):
            raise InconsistentDecompositionError(
                f"the engine's regions {int(order[i])} and {int(order[i + 1])} on the segment do "
                f"not meet: the first ends at {b0!r}, the second starts at {b1!r} (interior points "
                f"{x[i]!r}, {x[i + 1]!r}); the pieces are not trustworthy. Decompose the torch "
                "model instead (decompose(net.to_torch(), segment)) and report the network")
        bp[i + 1] = 0.5 * (b0 + b1)
    _check_breakpoints(bp, lo, hi, "the engine")
    return order, bp


def _is_torch_module(obj) -> bool:
    try:
        import torch.nn as nn
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, nn.Module)


def _interior_points(polys) -> np.ndarray:
    """Area centroids of convex polygons (the vertex mean for a degenerate one)."""
    if not polys:
        return np.zeros((0, 2))
    sizes = np.array([len(p) for p in polys])
    V = np.concatenate(polys)
    off = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    nxt = np.arange(len(V)) + 1
    nxt[off + sizes - 1] = off
    # relative to the vertex mean: the shoelace terms of a tiny polygon far from the origin would
    # otherwise cancel catastrophically
    mean = np.add.reduceat(V, off, axis=0) / sizes[:, None]
    V = V - np.repeat(mean, sizes, axis=0)
    x, y = V[:, 0], V[:, 1]
    xs, ys = x[nxt], y[nxt]
    cr = x * ys - xs * y
    a = np.add.reduceat(cr, off) / 2
    cx = np.add.reduceat((x + xs) * cr, off)
    cy = np.add.reduceat((y + ys) * cr, off)
    ok = np.abs(a) > tol.TINY
    out = mean.copy()
    out[ok, 0] += cx[ok] / (6 * a[ok])
    out[ok, 1] += cy[ok] / (6 * a[ok])
    return out


# ============================================================================ polylines
@dataclass(frozen=True)
class PolylineRegions:
    """Regions crossed along a polyline of inputs (consecutive points joined by segments).

    Attributes
    ----------
    pieces : (n_segments,) int
        Regions crossed by each segment (both end regions included).
    transitions : int
        Region changes along the whole polyline (pattern changes between consecutive pieces,
        across segment joints too).
    distinct : int
        Distinct patterns met (a region entered twice counts once).
    sample_distinct : int
        Distinct patterns at the polyline's points alone (what sampling sees).
    seconds : (n_segments,) float
        Wall time per segment.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> pr = polyline_regions(net, np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0]]), closed=False)
    >>> pr.pieces.tolist(), pr.distinct, pr.closed
    ([2, 2], 3, False)
    """

    pieces: np.ndarray
    transitions: int
    distinct: int
    sample_distinct: int
    seconds: np.ndarray
    closed: bool

    @property
    def total_pieces(self) -> int:
        return int(self.pieces.sum())


def polyline_regions(model, points, closed: bool = True, segments=None, progress: bool = False,
                     chunk_elems: Optional[int] = None, n_jobs: int = 1) -> PolylineRegions:
    """Count exactly the regions a polyline of inputs crosses, segment by segment.

    Liu et al. (2023), Examples 4.1-4.5, sample a closed curve (a circle of images) at ``n``
    points and count distinct bit vectors; between two samples the curve may cross regions that
    sampling never sees. This joins consecutive samples by segments and decomposes each exactly
    (:func:`decompose_slice` on a :class:`~relutopo.slices.Segment`).

    Parameters
    ----------
    model : torch.nn.Module, PLGraph or ReluNet
    points : array (n, D), or (n, C, H, W) for inputs of shape (C, H, W)
        The samples, in order.
    closed : bool
        Join the last sample to the first.
    segments : sequence of int, optional
        Decompose only these segments (``i`` joins point ``i`` to ``i + 1``); the counts of the
        others are 0 and ``transitions`` / ``distinct`` cover the decomposed ones.
    n_jobs : int
        Worker processes per segment of a torch model (:func:`decompose_slice`); the counts
        are the same for any value.

    Examples
    --------
    Liu et al. (Ex. 4.1) count the bit vectors of samples of a circle; the exact count crosses
    every region between samples too. Four samples of the unit circle under a 2 -> 2 -> 1 network:

    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.array([0.0, 0.5]), np.zeros(1)])
    >>> t = np.linspace(0, 2 * np.pi, 4, endpoint=False) + 0.3
    >>> pr = polyline_regions(net, np.c_[np.cos(t), np.sin(t)])
    >>> pr.sample_distinct, pr.distinct, pr.transitions, pr.pieces.tolist()
    (3, 4, 4, [2, 1, 3, 2])
    """
    import time

    from .slices import Segment

    X = np.asarray(points, dtype=np.float64)
    n = len(X)
    if n < 2:
        raise ValueError(f"points must hold at least 2 samples; got {n}")
    n_seg = n if closed else n - 1
    which = list(range(n_seg)) if segments is None else [int(i) for i in segments]
    for i in which:
        if not 0 <= i < n_seg:
            raise ValueError(f"segment index {i} out of range [0, {n_seg})")
    graph = model if isinstance(model, ReluNet) else pl_graph(model, X.shape[1:])
    pieces = np.zeros(n_seg, dtype=np.int64)
    secs = np.zeros(n_seg)
    seen = set()
    transitions = 0
    prev_end = first = None
    from tqdm.auto import tqdm

    for i in tqdm(which, disable=not progress, desc="segments", leave=False):
        t0 = time.perf_counter()
        dec = decompose_slice(graph, Segment(X[i], X[(i + 1) % n]), keep_patterns=False,
                              chunk_elems=chunk_elems, n_jobs=n_jobs)
        secs[i] = time.perf_counter() - t0
        pieces[i] = dec.n_regions
        digs = [bytes(d) for d in dec.digests]
        seen.update(digs)
        transitions += len(digs) - 1
        if prev_end is not None and prev_end[0] == i - 1 and prev_end[1] != digs[0]:
            transitions += 1
        prev_end = (i, digs[-1])
        if first is None:
            first = digs[0]
    if closed and segments is None and n_seg > 1 and prev_end[1] != first:
        transitions += 1
    if isinstance(graph, ReluNet):
        samp = graph.patterns(X.reshape(n, -1))
        sample_distinct = len({bytes(r) for r in samp})
    else:
        sample_distinct = len({bytes(r) for r in graph.digests(X)})
    return PolylineRegions(pieces=pieces, transitions=int(transitions), distinct=len(seen),
                           sample_distinct=int(sample_distinct), seconds=secs, closed=bool(closed))


def first_stage_breakpoints(model, points, closed: bool = True, batch: int = 8) -> np.ndarray:
    """Breakpoints of the first nonlinear stage on every segment of a polyline of inputs, exactly.

    The input of a network's first ReLU stage is an affine function of the input, so along a
    segment each of its neurons changes sign at most once, where the line through its values at
    the segment's ends crosses zero: the stage's breakpoints on the segment follow from two
    evaluations, with the tolerances of the exact refinement's first stage
    (:func:`relutopo.slice_refine.refine_segment`; a value within ``SLICE_ZERO_RTOL`` of the
    neuron's larger end value, or ``SLICE_NOISE_RTOL`` of the stage's, counts as zero;
    crossings within ``SLICE_MERGE_RTOL`` of each other are one). Every breakpoint is a region
    boundary and a segment meets each convex region at most once, so a segment crosses at least
    ``count + 1`` regions, all different: a lower bound on what Liu et al.'s sampling of a curve
    misses, for a network too deep to decompose whole (ResNet-50 at 224 x 224: 802,816 neurons in
    the first stage, two evaluations per sample).

    Parameters
    ----------
    model : torch.nn.Module, PLGraph or ReluNet
        A piecewise-linear model whose first nonlinear stage is a ReLU-like one.
    points : array ``(n, D)``, or ``(n, *input_shape)``
        The samples, in order.
    closed : bool
        Join the last sample to the first.
    batch : int
        Samples evaluated at once (bounds memory: ``batch`` times the stage's neurons).

    Returns
    -------
    ndarray of int, ``(n_segments,)``
        Segment ``i`` joins sample ``i`` to ``i + 1`` (the last to the first when closed).

    Examples
    --------
    Liu et al. (Ex. 4.1) sample a circle; here the unit circle at four points under a 2 -> 2 -> 1
    network whose neurons vanish on the two axes: each chord crosses one axis.

    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> t = np.linspace(0, 2 * np.pi, 4, endpoint=False) + 0.3
    >>> first_stage_breakpoints(net, np.c_[np.cos(t), np.sin(t)]).tolist()
    [1, 1, 1, 1]
    """
    from .slice_refine import _merge_points

    X = np.asarray(points, dtype=np.float64)
    n = len(X)
    if n < 2:
        raise ValueError(f"points must hold at least 2 samples; got {n}")
    if int(batch) < 1:
        raise ValueError(f"batch must be at least 1; got {batch}")
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X.reshape(n, -1))).any(axis=1).sum())
        raise ValueError(f"{bad} of the {n} points have NaN or infinite entries; a segment needs "
                         "finite ends (drop or repair those samples)")
    if isinstance(model, ReluNet):
        if model.n_hidden == 0:
            raise ValueError(f"{model!r} has no hidden layer: no first stage to cross")

        def stage_input(rows):
            return rows.reshape(len(rows), -1) @ model.weights[0].T + model.biases[0]
    else:
        graph = model if isinstance(model, PLGraph) else pl_graph(model, X.shape[1:])
        if graph.n_stages == 0 or graph.stages[0].kind != "relu":
            raise ValueError(f"the first nonlinear stage of {graph!r} is not a ReLU-like one; "
                             "first_stage_breakpoints needs one (decompose the segments instead)")

        def stage_input(rows):
            values = graph.initial_values(rows)
            graph.run_to(values, 0)
            return graph.nonlinear_input(values, 0).reshape(len(rows), -1).numpy()

    n_seg = n if closed else n - 1
    out = np.zeros(n_seg, dtype=np.int64)
    step = int(batch)
    prev = None  # the stage input at the first sample of the current batch's predecessor
    first = None
    for s in range(0, n, step):
        Z = np.asarray(stage_input(X[s:s + step]), dtype=np.float64)
        if first is None:
            first = Z[0].copy()
        if prev is not None:
            Z = np.concatenate([prev[None], Z])
            base = s - 1
        else:
            base = s
        for j in range(len(Z) - 1):
            out[base + j] = _breakpoints_between(Z[j], Z[j + 1], _merge_points)
        prev = Z[-1].copy()
    if closed:
        out[n - 1] = _breakpoints_between(prev, first, _merge_points)
    return out


def _breakpoints_between(zl, zr, merge) -> int:
    """Distinct zero crossings inside a segment of an affine stage input with end values
    ``zl``, ``zr`` (the first stage of :func:`relutopo.slice_refine.refine_segment`)."""
    noise = tol.SLICE_NOISE_RTOL * float(max(np.abs(zl).max(initial=0.0), np.abs(zr).max(initial=0.0)))
    th = np.maximum(tol.SLICE_ZERO_RTOL * np.maximum(np.abs(zl), np.abs(zr)), noise)
    cross = ((zl > th) & (zr < -th)) | ((zl < -th) & (zr > th))
    k = np.flatnonzero(cross)
    tau = zl[k] / (zl[k] - zr[k])
    iv, _, _ = merge(np.zeros(k.size, dtype=np.int64), tau)
    return int(iv.size)
