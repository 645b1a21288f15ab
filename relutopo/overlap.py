"""The overlap decomposition ``O_Phi`` of a ReLU network on a data set (Beshkov, arXiv 2502.01360).

For every depth ``l`` the data points are grouped by their activation pattern on the first ``l``
hidden layers; each group ``J`` is a convex polyhedron ``G_J`` (the pattern's halfspaces, Liu et
al. eq. 9, restricted to layers ``1..l`` and intersected with a large box), on which the first
``l`` layers act as an affine map ``Phi_J(x) = M_J x + m_J`` (Beshkov Sec. 3; ``M_J`` is the
masked product of Liu et al. eq. 8). Depth ``L + 1`` is the network's output, on the regions of
depth ``L``.

Two regions *overlap* when their images meet at images of interior points,
``Phi_J1(int G_J1) cap Phi_J2(int G_J2) != {}``: one LP per pair (HiGHS) maximising the common
inner depth ``t`` of a pair ``z in G_J1``, ``x in G_J2`` with ``Phi_J1(z) = Phi_J2(x)``.
(Closed images of *adjacent* regions always meet on their common facet, so closed images would
glue every neighbour; interior points exclude exactly that.) A prefilter that can never drop an
overlapping pair skips most LPs:

* at a hidden depth, the layer-``l`` active sets must be equal -- a neuron active on ``J1`` and
  inactive on ``J2`` is ``> 0`` on the image of ``int G_J1`` and ``0`` on the image of ``G_J2``;
* the images' bounding boxes must intersect: exact boxes from the region's vertices (qhull, for
  ``d <= 6``), otherwise ``2 d`` LPs for the input box and interval arithmetic for the image.

Pairs that pass are still decided without an LP when possible: exactly from the image polytopes
when both have rank ``<= 2`` (where their flats meet: a point, a line, or a common plane with the
separating axis theorem), or by an
interior data point whose image lies in the other image (then the images overlap at interior
points, because an affine map is open onto its image flat). The rest get the LP. Pairs of
polygons that fill the plane (the output of a two-class network, where nearly every pair is a
candidate) are decided all at once with the same two tests (``relutopo.plane_overlap``).

For every overlapping pair, the data points that are actually glued are found as in the paper's
code: points of ``J2`` whose image lies in ``Phi_J1(G_J1)`` and vice versa (least squares when
``M_J`` is injective, an LP otherwise); when the overlap is too thin to hold a data point (a
curve crossing itself), the LP ``conv Phi(X_J1) cap conv Phi(X_J2) != {}`` on the data's convex
hulls decides and glues the data points that carry the witness. Glued sets are merged by
union-find, accumulated over depth (points with equal images at depth ``l`` keep equal images
afterwards): these are the overlap classes of ``O_Phi``. Rank classes group points by the local
rank of ``M_J``; region volumes in the box are computed where ``d <= 6``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from . import tolerances as tol
from .domains import Box
from .errors import LPError, PolytopeError
from .nets import ReluNet
from .patterns import pack_bits
from .plane_overlap import BY_DATA, BY_GEOMETRY, SEPARATED, plane_images, plane_pair_status
from .lp import LPSolver
from .polytopes import hull_volume, normalise_rows, polytope_vertices
from .polytopes import polytope_volume  # re-exported: relutopo.overlap.polytope_volume
from .results import Unpackable
from .tolerances import CHEBYSHEV_RTOL, LP_FEAS_RTOL, MEMBERSHIP_RTOL, RANK_RTOL
from .validation import check_box, check_points

__all__ = [
    "DepthOverlap", "OverlapDecomposition", "overlap_decomposition", "data_regions", "DataRegions",
    "region_polyhedron", "region_map", "images_overlap", "ImageOverlap", "union_find_classes",
    "curve_self_crossings",
]

#: Largest input dimension for which region vertices and volumes are computed (qhull).
MAX_VOLUME_DIM = 6




# ------------------------------------------------------------------------------ checking input
def _check_net(net) -> ReluNet:
    if not isinstance(net, ReluNet):
        raise TypeError(f"net must be a relutopo.ReluNet (use ReluNet.from_torch(model)); got "
                        f"{type(net).__name__}")
    if not net.hidden_sizes:
        raise ValueError(f"net {net!r} has no hidden ReLU layer, so it has a single region and "
                         "no overlaps; give a network with at least one hidden layer")
    return net


def _check_domain(domain, X: np.ndarray) -> Box:
    """The box (a Box, or a half-width ``h`` for ``[-h, h]^d``) that must contain the data."""
    d = X.shape[1]
    box = check_box(domain, dim=d, name="domain", allow_none=False, half_width=True)
    if len(X) and not np.all(box.contains(X)):
        raise ValueError(
            f"the data leave the box {box} (data range [{X.min():g}, {X.max():g}]); pass a larger "
            "domain=")
    return box


def _check_points(net: ReluNet, X) -> np.ndarray:
    return check_points(X, dim=net.input_dim, owner=repr(net))


def _check_depth(net: ReluNet, depth: int) -> int:
    L = len(net.hidden_sizes)
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or not 1 <= depth <= L + 1:
        raise ValueError(f"depth must be an int in 1..{L + 1} for {net!r} (L + 1 = the output); "
                         f"got depth={depth!r}")
    return int(depth)


# ------------------------------------------------------------------------ regions and maps
@dataclass(frozen=True)
class DataRegions(Unpackable):
    """The regions a data set visits at one depth (unpacks as ``(labels, patterns)``).

    Attributes
    ----------
    labels : int array (n,)
        Region index of each point (regions ordered by first appearance in ``X``).
    patterns : bool array (R, n_hidden)
        The full bit vector of one representative point per region (its bits beyond layer
        ``l`` are irrelevant to the region's polyhedron and map at this depth).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> labels, patterns = data_regions(net, np.array([[1.0, 1.0], [-1.0, 2.0], [2.0, 3.0]]), 1)
    >>> labels.tolist(), patterns.astype(int).tolist()
    ([0, 1, 0], [[1, 1], [0, 1]])
    """

    labels: np.ndarray
    patterns: np.ndarray


def data_regions(net: ReluNet, X, depth: int) -> DataRegions:
    """Group the data by activation pattern on hidden layers ``1..l`` (``l = min(depth, L)``),
    Beshkov Sec. 3: the regions ``G_J`` the data visit.

    Examples
    --------
    >>> import numpy as np
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> r = data_regions(net, np.array([[1.0, 1.0], [-1.0, 2.0], [2.0, 3.0]]), 1)
    >>> r.labels.tolist(), r.patterns.astype(int).tolist()
    ([0, 1, 0], [[1, 1], [0, 1]])
    """
    net = _check_net(net)
    X = _check_points(net, X)
    depth = _check_depth(net, depth)
    bits = net.bits(X)
    k = int(net.layer_offsets[min(depth, len(net.hidden_sizes))])
    packed = pack_bits(bits[:, :k])
    _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(first)  # regions in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    labels = rank[inverse]
    return DataRegions(labels=labels.astype(np.int64), patterns=bits[first[order]])


def region_polyhedron(net: ReluNet, pattern, depth: int, domain: Box):
    """Halfspaces ``(A, c)`` of region ``G_J`` at ``depth``: ``{x : A x <= c}`` in the box.

    The rows of hidden layers ``1..min(depth, L)`` of Liu et al. eq. 9 (normalised to unit
    length; rows of dead hyperplanes, numerically zero, are dropped:
    :func:`relutopo.polytopes.normalise_rows`) followed by the ``2 d`` rows of ``domain``
    (:meth:`relutopo.domains.Box.halfspaces`).

    Examples
    --------
    >>> import numpy as np
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> A, c = region_polyhedron(net, [True, True], 1, Box(-2, 2, dim=2))
    >>> A.shape, c.tolist()
    ((6, 2), [0.0, 0.0, 2.0, 2.0, 2.0, 2.0])
    """
    depth = _check_depth(net, depth)
    domain = check_box(domain, dim=net.input_dim, owner=repr(net), allow_none=False)
    k = int(net.layer_offsets[min(depth, len(net.hidden_sizes))])
    A, c = net.halfspaces(pattern)
    A, c = normalise_rows(A[:k], c[:k], domain.scale)
    box_A, box_c = domain.halfspaces()
    return np.vstack([A, box_A]), np.concatenate([c, box_c])


def region_map(net: ReluNet, pattern, depth: int):
    """The affine map ``Phi_J = (M, m)`` from the input to the output of layer ``depth``.

    Hidden depth ``l``: ``M = D_l W^_l``, ``m = D_l b^_l`` (post-ReLU activations, Liu et al.
    eq. 8 with the layer's own mask ``D_l``); depth ``L + 1``: the network output map.

    Examples
    --------
    The map ``Phi_J`` of the quadrant where only the first neuron is on, at depth 1 (the post-ReLU
    activations) and at the output (depth 2):

    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.array([[1.0, 2.0]])], [np.zeros(2), np.ones(1)])
    >>> M, m = region_map(net, [True, False], 1)
    >>> M.tolist(), m.tolist()
    ([[1.0, 0.0], [0.0, 0.0]], [0.0, 0.0])
    >>> M, m = region_map(net, [True, False], 2)
    >>> M.tolist(), m.tolist()
    ([[1.0, 0.0]], [1.0])
    """
    depth = _check_depth(net, depth)
    L = len(net.hidden_sizes)
    if depth == L + 1:
        return net.affine_map(pattern)
    s = np.asarray(pattern).astype(bool).reshape(-1)
    W, b = net.layer_maps(s)[depth - 1]
    offs = net.layer_offsets
    on = s[offs[depth - 1]:offs[depth]]
    return W * on[:, None], b * on


def _bounding_box(lp: LPSolver, A, c, d):
    """Exact axis bounding box of ``{x : A x <= c}`` by ``2 d`` LPs."""
    lo, hi = np.empty(d), np.empty(d)
    for i in range(d):
        e = np.zeros(d)
        e[i] = 1.0
        low = lp.linprog(e, A, c)
        if low.status == "infeasible":
            return None
        lo[i] = low.objective
        hi[i] = lp.linprog(e, A, c, maximize=True).objective
    return lo, hi


@dataclass(frozen=True)
class ImageOverlap(Unpackable):
    """The answer of :func:`images_overlap` (unpacks as ``(overlap, depth, z, x)``).

    Attributes
    ----------
    overlap : bool          the images meet at images of interior points
    depth : float           the common inner depth ``t`` reached (0 when they do not)
    z, x : arrays (d,)      the witnesses in ``G_1`` and ``G_2`` (``None`` when they do not)

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import Box
    >>> A, c = Box(0, 1, dim=2).halfspaces()
    >>> I, zero = np.eye(2), np.zeros(2)
    >>> r = images_overlap(None, A, c, I, zero, A, c, I, np.array([0.5, 0.0]), 1.0)
    >>> r.overlap, r.z is not None and r.x is not None
    (True, True)
    """

    overlap: bool
    depth: float
    z: Optional[np.ndarray]
    x: Optional[np.ndarray]


def images_overlap(lp, A1, c1, M1, m1, A2, c2, M2, m2, scale: float) -> ImageOverlap:
    """LP test of ``Phi_1(int G_1) cap Phi_2(int G_2) != {}`` (Beshkov Sec. 3, the overlap of two
    regions).

    Maximises ``t`` subject to ``A1 z + t <= c1``, ``A2 x + t <= c2`` (unit rows, so ``t`` is
    the distance of ``z`` and ``x`` to their regions' boundaries), ``M1 z + m1 = M2 x + m2`` and
    ``0 <= t <= scale``; ``overlap`` when ``t`` exceeds ``CHEBYSHEV_RTOL * scale``. ``lp``: a
    :class:`relutopo.polyhedra.LPSolver` (``None``: a new one).

    Examples
    --------
    The unit square and its image under ``x -> x + (0.5, 0)`` overlap; shifted by 2 they do not:

    >>> import numpy as np
    >>> A, c = Box(0, 1, dim=2).halfspaces()
    >>> I, zero = np.eye(2), np.zeros(2)
    >>> images_overlap(None, A, c, I, zero, A, c, I, np.array([0.5, 0.0]), 1.0).overlap
    True
    >>> images_overlap(None, A, c, I, zero, A, c, I, np.array([2.0, 0.0]), 1.0).overlap
    False
    """
    if lp is None:
        lp = LPSolver()
    d = A1.shape[1]
    n1, n2 = len(A1), len(A2)
    A_ub = np.zeros((n1 + n2, 2 * d + 1))
    A_ub[:n1, :d] = A1
    A_ub[n1:, d:2 * d] = A2
    A_ub[:, -1] = 1.0
    b_ub = np.concatenate([c1, c2])
    # M1 z - M2 x = m2 - m1 has h rows but rank <= 2 d: keep an orthonormal basis of its row
    # space (well conditioned), and reject at once when the right-hand side leaves the range
    B = np.hstack([M1, -M2])
    rhs = m2 - m1
    U, S, Vt = np.linalg.svd(B, full_matrices=False)
    big = max(1.0, float(S.max()) if S.size else 1.0)
    r = int(np.sum(S > RANK_RTOL * big))
    resid = rhs - U[:, :r] @ (U[:, :r].T @ rhs)
    if np.linalg.norm(resid) > MEMBERSHIP_RTOL * max(1.0, float(np.abs(rhs).max()), big * scale):
        return ImageOverlap(False, 0.0, None, None)
    A_eq = np.hstack([S[:r, None] * Vt[:r] / big, np.zeros((r, 1))])
    b_eq = (U[:, :r].T @ rhs) / big
    cost = np.zeros(2 * d + 1)
    cost[-1] = 1.0
    lb = np.full(2 * d + 1, -np.inf)
    ub = np.full(2 * d + 1, np.inf)
    lb[-1], ub[-1] = 0.0, scale
    res = lp.linprog(cost, A_ub, b_ub, A_eq, b_eq, lb, ub, maximize=True)
    if res.x is None:
        return ImageOverlap(False, 0.0, None, None)
    t, v = res.objective, res.x
    return ImageOverlap(bool(t > CHEBYSHEV_RTOL * scale), float(t), v[:d], v[d:2 * d])


def _in_image(lp: LPSolver, Y, A, c, M, m, scale: float):
    """Which rows of ``Y`` lie in the closed image ``M G + m`` of ``G = {A x <= c}``."""
    if len(Y) == 0:
        return np.zeros(0, dtype=bool)
    tol = MEMBERSHIP_RTOL * scale
    rank = np.linalg.matrix_rank(M) if M.size else 0
    d = M.shape[1]
    if rank == d:  # injective: the preimage is unique
        Z, *_ = np.linalg.lstsq(M, (Y - m).T, rcond=None)
        Z = Z.T
        resid = np.linalg.norm(Z @ M.T + m - Y, axis=1)
        inside = np.all(Z @ A.T <= c + tol, axis=1)
        return (resid <= tol * max(1.0, float(np.abs(M).max()))) & inside
    out = np.zeros(len(Y), dtype=bool)
    for i, y in enumerate(Y):
        out[i] = lp.linprog(np.zeros(d), A, c, M, y - m).status != "infeasible"
    return out


def _hull_witness(lp: LPSolver, P1, P2):
    """Convex weights ``(lam, mu)`` with ``lam @ P1 = mu @ P2`` (rows are points), or ``None``."""
    n1, n2 = len(P1), len(P2)
    A_eq = np.zeros((P1.shape[1] + 2, n1 + n2))
    A_eq[:-2, :n1] = P1.T
    A_eq[:-2, n1:] = -P2.T
    A_eq[-2, :n1] = 1.0
    A_eq[-1, n1:] = 1.0
    b_eq = np.zeros(P1.shape[1] + 2)
    b_eq[-2:] = 1.0
    s = max(1.0, float(np.abs(A_eq[:-2]).max()) if A_eq[:-2].size else 1.0)
    A_eq[:-2] /= s
    try:
        v = lp.linprog(np.zeros(n1 + n2), None, None, A_eq, b_eq,
                       np.zeros(n1 + n2), np.full(n1 + n2, np.inf)).x
    except LPError:
        v = _nearest_hull_points(lp, A_eq)
    if v is None:
        return None
    lam, mu = np.clip(v[:n1], 0, None), np.clip(v[n1:], 0, None)
    return lam / lam.sum(), mu / mu.sum()


def _nearest_hull_points(lp: LPSolver, A_eq):
    """Fallback of :func:`_hull_witness` for a feasibility LP that HiGHS does not settle (a
    nearly touching pair of hulls): minimise the largest coordinate gap ``t`` between a point of
    each hull, an LP that always has an optimum; a witness when ``t <= MEMBERSHIP_RTOL``
    (coordinates are scaled to at most 1). Returns the weights ``(lam, mu)`` stacked, or ``None``.
    """
    h, n = A_eq.shape[0] - 2, A_eq.shape[1]
    G = A_eq[:h]
    A_ub = np.vstack([np.c_[G, -np.ones(h)], np.c_[-G, -np.ones(h)]])
    A_sum = np.c_[A_eq[h:], np.zeros(2)]
    cost = np.zeros(n + 1)
    cost[-1] = 1.0
    res = lp.linprog(cost, A_ub, np.zeros(2 * h), A_sum, np.ones(2), np.zeros(n + 1),
                     np.full(n + 1, np.inf))
    if res.x is None or res.objective > MEMBERSHIP_RTOL:
        return None
    return res.x[:n]


class _RegionGeometry:
    """Vertices of a bounded region ``G = {A x <= c}`` (:func:`relutopo.polytopes.polytope_vertices`,
    ``d <= MAX_VOLUME_DIM``).

    Gives the exact input bounding box, the volume, and per affine map the exact image
    bounding box and a vectorised membership test for the image polytope ``M G + m``.
    ``vertices`` is ``None`` when they are not computed (then callers fall back to LPs).
    """

    def __init__(self, A, c, interior, lp: LPSolver, scale: float):
        self.A, self.c = A, c
        self.vertices = None
        self.volume = float("nan")
        d = A.shape[1]
        if d > MAX_VOLUME_DIM:
            return
        if not np.all(c - A @ interior > LP_FEAS_RTOL * (1.0 + np.abs(c))):
            interior = None  # polytope_vertices finds a centre if it needs one
        try:
            self.vertices = polytope_vertices(A, c, interior, scale=scale, solver=lp)
            self.volume = hull_volume(self.vertices)
        except (PolytopeError, ValueError):
            self.vertices = None

    def image_tester(self, M, m, lp: LPSolver, scale: float):
        """``(bbox_lo, bbox_hi, test)`` for the image ``M G + m``; ``test(Y)`` -> bool mask."""
        from scipy.spatial import ConvexHull, QhullError

        A, c = self.A, self.c
        self.flat = self.plane = None
        if self.vertices is None:
            return None, None, lambda Y: _in_image(lp, Y, A, c, M, m, scale)
        W = self.vertices @ M.T + m
        lo, hi = W.min(axis=0), W.max(axis=0)
        tol = MEMBERSHIP_RTOL * max(1.0, float(np.abs(W).max()))
        U, S, _ = np.linalg.svd(M, full_matrices=False)
        r = int(np.sum(S > RANK_RTOL * max(1.0, float(S.max()) if S.size else 1.0)))
        Ur = U[:, :r]
        Q = (W - m) @ Ur
        if r >= 2:
            try:
                hull = ConvexHull(Q)
            except (QhullError, ValueError):
                return lo, hi, lambda Y: _in_image(lp, Y, A, c, M, m, scale)
            eq = hull.equations
            if r == 2 == W.shape[1]:  # a polygon filling the plane: batched in plane_overlap
                self.plane = (Ur, m, eq, tol, W[hull.vertices])
        qlo, qhi = (Q.min(axis=0), Q.max(axis=0)) if r else (None, None)
        self.flat = (r, Ur, m, W)

        def test(Y):
            Y = np.asarray(Y, dtype=np.float64)
            if len(Y) == 0:
                return np.zeros(0, dtype=bool)
            Z = Y - m
            q = Z @ Ur
            ok = np.linalg.norm(Z - q @ Ur.T, axis=1) <= tol
            if r == 1:
                ok &= (q[:, 0] >= qlo[0] - tol) & (q[:, 0] <= qhi[0] + tol)
            elif r >= 2:
                ok &= np.all(q @ eq[:, :-1].T + eq[:, -1] <= tol, axis=1)
            return ok
        return lo, hi, test


def _interiors_meet_in_flat(flat1, flat2):
    """Exact test for two convex images of equal rank ``r in {0, 1, 2}`` in one flat.

    ``flat = (r, U_r, m, W)``: rank, orthonormal basis of the image directions, offset and the
    images of the region's vertices. In the flat's coordinates the images are a point, an
    interval or a convex polygon; their relative interiors meet iff no separating axis exists (for polygons,
    among the edge normals of both: the separating axis theorem). Returns ``None`` when the
    test does not apply (then an LP decides).
    """
    from scipy.spatial import ConvexHull, QhullError

    if flat1 is None or flat2 is None or flat1[0] != flat2[0] or flat1[0] not in (0, 1, 2):
        return None
    r, U, m, W1 = flat1
    if r == 0:  # both maps constant: the images are points
        return bool(np.allclose(flat1[2], flat2[2], rtol=0,
                                atol=MEMBERSHIP_RTOL * max(1.0, float(np.abs(m).max()))))
    Q1 = (W1 - m) @ U
    Q2 = (flat2[3] - m) @ U
    tol = MEMBERSHIP_RTOL * max(1.0, float(np.abs(Q1).max()), float(np.abs(Q2).max()))
    if r == 1:
        return bool(min(Q1.max(), Q2.max()) - max(Q1.min(), Q2.min()) > tol)
    try:
        normals = np.vstack([ConvexHull(Q1).equations[:, :2], ConvexHull(Q2).equations[:, :2]])
    except (QhullError, ValueError):
        return None
    p1, p2 = Q1 @ normals.T, Q2 @ normals.T
    separated = (p1.max(axis=0) <= p2.min(axis=0) + tol) | (p2.max(axis=0) <= p1.min(axis=0) + tol)
    return not bool(np.any(separated))


def _flat_inequalities(flat):
    """Inequalities ``E[:, :-1] q + E[:, -1] <= 0`` of an image polytope in its flat's coordinates."""
    from scipy.spatial import ConvexHull

    r, U, m, W = flat
    Q = (W - m) @ U
    if r == 1:
        return np.array([[-1.0, Q[:, 0].min()], [1.0, -Q[:, 0].max()]])
    return ConvexHull(Q).equations


def _interiors_meet(flat1, flat2):
    """Exact test of ``relint P1 cap relint P2 != {}`` for images of rank 1 or 2 (no LP).

    The flats ``m_i + U_i q`` meet in an affine set ``{q0 + N lam}``: empty (no overlap), a point
    (inside both polytopes?), a line (do the two open intervals cut out by the polytopes
    overlap?), or, for two images spanning the same plane, the plane (separating axes, see
    :func:`_interiors_meet_in_flat`). Returns ``None`` when an LP must decide.
    """
    from scipy.spatial import QhullError

    if flat1 is None or flat2 is None:
        return None
    r1, U1, m1, _ = flat1
    r2, U2, m2, _ = flat2
    if r1 == 0 or r2 == 0 or r1 > 2 or r2 > 2:
        return _interiors_meet_in_flat(flat1, flat2) if r1 == r2 == 0 else None
    scale = max(1.0, float(np.abs(flat1[3]).max()), float(np.abs(flat2[3]).max()))
    tol = MEMBERSHIP_RTOL * scale
    B = np.hstack([U1, -U2])
    rhs = m2 - m1
    Ub, S, Vt = np.linalg.svd(B, full_matrices=True)
    rank = int(np.sum(S > RANK_RTOL * max(1.0, float(S.max()))))
    sol = Vt[:rank].T @ ((Ub[:, :rank].T @ rhs) / S[:rank])
    if np.linalg.norm(B @ sol - rhs) > tol:
        return False  # the flats do not meet
    N = Vt[rank:].T
    k = N.shape[1]
    if k == 2 and r1 == r2 == 2:
        return _interiors_meet_in_flat(flat1, flat2)
    if k > 1:
        return None
    try:
        E1, E2 = _flat_inequalities(flat1), _flat_inequalities(flat2)
    except (QhullError, ValueError):
        return None
    q1, q2 = sol[:r1], sol[r1:]
    if k == 0:
        return bool(np.all(E1[:, :-1] @ q1 + E1[:, -1] < -tol) and np.all(E2[:, :-1] @ q2 + E2[:, -1] < -tol))
    n1, n2 = N[:r1, 0], N[r1:, 0]
    coef = np.concatenate([E1[:, :-1] @ n1, E2[:, :-1] @ n2])
    const = np.concatenate([E1[:, :-1] @ q1 + E1[:, -1], E2[:, :-1] @ q2 + E2[:, -1]])
    flat_c = np.abs(coef) <= RANK_RTOL * max(1.0, float(np.abs(coef).max()))
    if np.any(flat_c & (const >= -tol)):
        return False
    lo = np.max(-const[(coef < 0) & ~flat_c] / coef[(coef < 0) & ~flat_c], initial=-np.inf)
    hi = np.min(-const[(coef > 0) & ~flat_c] / coef[(coef > 0) & ~flat_c], initial=np.inf)
    return bool(hi - lo > tol)


def _same_flat(M1, m1, M2, m2) -> bool:
    """Whether the image flat of ``(M1, m1)`` lies in that of ``(M2, m2)``."""
    U, S, _ = np.linalg.svd(M2, full_matrices=False)
    r = int(np.sum(S > RANK_RTOL * max(1.0, float(S.max()) if S.size else 1.0)))
    Ur = U[:, :r]
    B = np.hstack([M1, (m1 - m2)[:, None]])
    resid = B - Ur @ (Ur.T @ B)
    return bool(np.abs(resid).max() <= MEMBERSHIP_RTOL * max(1.0, float(np.abs(B).max())))


# -------------------------------------------------------------------------------- union-find
def union_find_classes(n: int, groups: Sequence, previous: Optional[np.ndarray] = None) -> np.ndarray:
    """Merge index sets into classes (union-find with path halving).

    Parameters
    ----------
    n : int
        Number of elements ``0..n-1``.
    groups : sequence of int arrays
        Each group's elements end up in one class.
    previous : int array (n,), optional
        Class labels to start from (``-1`` = alone); classes are accumulated over depth this way.

    Returns
    -------
    labels : int array (n,)
        ``-1`` for an element in no class of size ``>= 2``; otherwise classes numbered
        ``0, 1, ...`` in order of their smallest element.

    Examples
    --------
    Groups ``{0, 1}`` and ``{1, 2}`` share point 1 and merge; ``{4, 5}`` is a second class; point 3
    is in none (``-1``):

    >>> union_find_classes(6, [[0, 1], [1, 2], [4, 5]]).tolist()
    [0, 0, 0, -1, 1, 1]
    """
    parent = np.arange(n)

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def unite(members):
        members = np.asarray(members, dtype=np.int64).reshape(-1)
        if len(members) < 2:
            return
        r0 = find(members[0])
        for m in members[1:]:
            r = find(m)
            if r != r0:
                if r < r0:
                    r, r0 = r0, r
                parent[r] = r0
    if previous is not None:
        previous = np.asarray(previous)
        for lab in np.unique(previous[previous >= 0]):
            unite(np.nonzero(previous == lab)[0])
    for g in groups:
        unite(g)
    roots = np.array([find(i) for i in range(n)], dtype=np.int64)
    counts = np.bincount(roots, minlength=n)
    labels = np.full(n, -1, dtype=np.int64)
    nxt = 0
    seen = {}
    for i in range(n):
        r = roots[i]
        if counts[r] < 2:
            continue
        if r not in seen:
            seen[r] = nxt
            nxt += 1
        labels[i] = seen[r]
    return labels


def _classes_from_labels(labels: np.ndarray) -> tuple:
    if labels.size == 0 or labels.max() < 0:
        return ()
    return tuple(np.nonzero(labels == k)[0] for k in range(int(labels.max()) + 1))


def curve_self_crossings(net: ReluNet, lo: float, hi: float) -> np.ndarray:
    """Self-crossings of the piecewise-linear curve ``Phi([lo, hi])`` of a net with 1-D input.

    An independent check of the overlap decomposition for curves: the breakpoints of ``Phi``
    on ``[lo, hi]`` are found exactly (every neuron's pre-activation is affine between
    breakpoints; refine until no neuron changes sign inside a piece), and every pair of
    non-adjacent pieces whose image segments meet is solved for its parameters.

    Returns
    -------
    array (k, 2)
        Parameter pairs ``s1 < s2`` with ``Phi(s1) = Phi(s2)`` (one row per crossing).

    Examples
    --------
    A 1 -> 3 -> 2 network maps ``[0, 3]`` onto the polygonal path ``(0, 0) -> (1, 0) -> (1, 1) ->
    (0.5, -1)``, whose last piece crosses the first at ``(0.75, 0) = Phi(0.75) = Phi(2.5)`` (a
    self-overlap of the kind Beshkov's curves show):

    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.ones((3, 1)), np.array([[1.0, -1.0, -0.5], [0.0, 1.0, -3.0]])],
    ...                            [np.array([0.0, -1.0, -2.0]), np.zeros(2)])
    >>> np.round(curve_self_crossings(net, 0.0, 3.0), 12).tolist()
    [[0.75, 2.5]]
    """
    net = _check_net(net)
    if net.input_dim != 1:
        raise ValueError(f"curve_self_crossings needs a net with 1-D input; {net!r} has "
                         f"input dimension {net.input_dim}")
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"need finite lo < hi; got lo={lo!r}, hi={hi!r}")
    pts = [float(lo), float(hi)]
    reach = max(abs(float(lo)), abs(float(hi)))  # breakpoints are resolved relative to it
    changed = True
    while changed:  # insert the zero of every neuron that changes sign inside a piece
        changed = False
        new = []
        for a, b in zip(pts[:-1], pts[1:]):
            s = net.bits(np.array([[0.5 * (a + b)]]))[0]
            (A, c) = net.halfspaces(s)
            # pre-activation rows are -(w x + b) <= 0 for active bits: zero where A x = c
            with np.errstate(divide="ignore", invalid="ignore"):
                z = c / A[:, 0]
            inside = z[(z > a + tol.ROUNDING_RTOL * reach) & (z < b - tol.ROUNDING_RTOL * reach)]
            if len(inside):
                new.append(float(np.min(inside)))
                changed = True
        if changed:
            pts = sorted(set(pts) | set(new))
    P = net.forward(np.array(pts)[:, None])
    crossings = []
    k = len(pts) - 1
    for i in range(k):
        for j in range(i + 2, k):
            p, r = P[i], P[i + 1] - P[i]
            q, s2 = P[j], P[j + 1] - P[j]
            den = r[0] * s2[1] - r[1] * s2[0]
            if abs(den) <= tol.PARALLEL_RTOL * np.abs(r).max() * np.abs(s2).max():
                continue  # parallel pieces (collinear retracing is an overlap of positive length)
            qp = q - p
            u = (qp[0] * s2[1] - qp[1] * s2[0]) / den
            v = (qp[0] * r[1] - qp[1] * r[0]) / den
            if 0 < u < 1 and 0 < v < 1:
                crossings.append((pts[i] + u * (pts[i + 1] - pts[i]), pts[j] + v * (pts[j + 1] - pts[j])))
    return np.array(crossings, dtype=np.float64).reshape(-1, 2)


# ---------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class DepthOverlap:
    """The overlap decomposition at one depth.

    Attributes
    ----------
    depth : int
        ``1..L`` hidden layers, ``L + 1`` the output.
    labels : int array (n,)
        Region of each data point at this depth.
    n_regions : int
        Number of regions the data visit.
    ranks : int array (R,)
        Local rank of ``Phi_J`` per region (the rank source of Beshkov's Sec. 3).
    overlapping_pairs : int array (P, 2)
        Region pairs whose images overlap (interior points), ``i < j``.
    class_labels : int array (n,)
        Overlap class of each point (``-1``: in no class), accumulated over depths ``<= depth``.
    n_pairs : int
        All region pairs ``R (R - 1) / 2``.
    n_overlap_lps : int
        Overlap LPs solved (pairs that passed the prefilter and the exact shortcuts; with or
        without prefilter, a pair whose image flats do not meet at all is rejected by linear
        algebra while the LP is set up, and counts as saved).
    n_lps_saved : int
        Pairs decided without an overlap LP (``n_pairs - n_overlap_lps``): excluded by the
        prefilter, or shown to overlap by a data point (``n_decided_by_data``).
    n_decided_by_data : int
        Pairs whose overlap was proved by an interior data point mapped into the other image.
    n_decided_by_geometry : int
        Pairs decided exactly from the image polytopes (ranks 1 or 2: where their flats meet).
    n_other_lps : int
        Other LPs (bounding boxes, membership of non-injective maps, data-hull witnesses).
    seconds : float
        Wall time of this depth.
    region_volumes : float array (R,) or None
        Volume in the box of each region in an overlapping pair (``nan`` for the other
        regions; ``None`` if not computed).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]]),
    ...                             np.array([[1.0, 1, 0, 0], [0, 0, 1, -1]])],
    ...                            [np.zeros(4), np.zeros(2)])
    >>> th = np.linspace(0, 2 * np.pi, 8, endpoint=False) + np.pi / 8
    >>> d = overlap_decomposition(net, np.c_[np.cos(th), np.sin(th)], domain=Box(-2, 2, dim=2))[2]
    >>> d.n_regions, d.ranks.tolist(), d.overlapping_pairs.tolist(), d.class_labels.tolist()
    (4, [2, 2, 2, 2], [[0, 1], [2, 3]], [0, 0, 0, 0, 1, 1, 1, 1])
    """

    depth: int
    labels: np.ndarray
    n_regions: int
    ranks: np.ndarray
    overlapping_pairs: np.ndarray
    class_labels: np.ndarray
    n_pairs: int
    n_overlap_lps: int
    n_lps_saved: int
    n_decided_by_data: int
    n_decided_by_geometry: int
    n_other_lps: int
    seconds: float
    region_volumes: Optional[np.ndarray] = None

    @property
    def classes(self) -> tuple:
        """Overlap classes as sorted arrays of point indices (each of size ``>= 2``)."""
        return _classes_from_labels(self.class_labels)

    @property
    def n_classes(self) -> int:
        return int(self.class_labels.max() + 1) if self.class_labels.size else 0

    @property
    def overlapping_regions(self) -> np.ndarray:
        """Indices of regions in at least one overlapping pair."""
        return np.unique(self.overlapping_pairs.reshape(-1)).astype(np.int64)

    @property
    def glued_fraction(self) -> float:
        """Fraction of data points in some overlap class."""
        return float(np.mean(self.class_labels >= 0)) if self.class_labels.size else 0.0

    @property
    def overlap_volume(self) -> float:
        """Total box volume of the regions in an overlapping pair (``nan`` if not computed)."""
        if self.region_volumes is None:
            return float("nan")
        return float(self.region_volumes[self.overlapping_regions].sum())

    def rank_classes(self) -> np.ndarray:
        """Local rank of ``Phi_J`` at each data point (the rank decomposition)."""
        return self.ranks[self.labels]


@dataclass(frozen=True)
class OverlapDecomposition:
    """Overlap decompositions of a network on data, one :class:`DepthOverlap` per depth.

    Examples
    --------
    ``(x, y) -> (|x|, y)`` folds the plane (Beshkov Sec. 3); the classes appear at the output:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]]),
    ...                             np.array([[1.0, 1, 0, 0], [0, 0, 1, -1]])],
    ...                            [np.zeros(4), np.zeros(2)])
    >>> th = np.linspace(0, 2 * np.pi, 8, endpoint=False) + np.pi / 8
    >>> dec = overlap_decomposition(net, np.c_[np.cos(th), np.sin(th)], domain=Box(-2, 2, dim=2))
    >>> dec.n_points, [d.depth for d in dec.depths], dec[2].n_classes
    (8, [1, 2], 2)
    """

    depths: tuple
    n_points: int
    domain: Optional[Box] = field(repr=False, default=None)

    def __getitem__(self, depth: int) -> DepthOverlap:
        for d in self.depths:
            if d.depth == depth:
                return d
        raise KeyError(f"depth {depth} not computed; available: {[d.depth for d in self.depths]}")

    def summary(self) -> list:
        """One dict of counts per depth (JSON-friendly)."""
        return [dict(depth=d.depth, n_regions=d.n_regions, n_overlapping_pairs=len(d.overlapping_pairs),
                     n_overlapping_regions=len(d.overlapping_regions), n_classes=d.n_classes,
                     glued_fraction=d.glued_fraction, n_pairs=d.n_pairs, n_overlap_lps=d.n_overlap_lps,
                     n_lps_saved=d.n_lps_saved, n_decided_by_data=d.n_decided_by_data,
                     n_decided_by_geometry=d.n_decided_by_geometry, n_other_lps=d.n_other_lps, seconds=d.seconds,
                     overlap_volume=d.overlap_volume, mean_rank=float(np.mean(d.rank_classes())))
                for d in self.depths]


# ------------------------------------------------------------------------------ the algorithm
def _candidate_pairs(R: int, keys: Optional[np.ndarray], boxes_lo, boxes_hi):
    """All pairs ``i < j`` (same key when keys are given) whose image boxes intersect."""
    if keys is None:
        groups = [np.arange(R)]
    else:
        _, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        groups = [np.nonzero(inv == g)[0] for g in range(int(inv.max()) + 1)] if R else []
    out = []
    for g in groups:
        if len(g) < 2:
            continue
        if boxes_lo is None:
            i, j = np.triu_indices(len(g), 1)
            out.append(np.stack([g[i], g[j]], axis=1))
            continue
        lo, hi = boxes_lo[g], boxes_hi[g]
        for a in range(len(g) - 1):
            rest = slice(a + 1, None)
            ok = np.all((lo[rest] <= hi[a]) & (lo[a] <= hi[rest]), axis=1)
            js = g[a + 1:][ok]
            if len(js):
                out.append(np.stack([np.full(len(js), g[a]), js], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.int64)


def overlap_decomposition(net: ReluNet, X, *, domain=100.0, depths=None, prefilter: bool = True,
                          volumes: bool = False, glue_hulls: bool = True,
                          progress: bool = False, box=None) -> OverlapDecomposition:
    """The overlap decomposition ``O_Phi`` of ``net`` on the data ``X``, depth by depth.

    Parameters
    ----------
    net : ReluNet
        The network ``Phi``.
    X : array (n, d)
        Data points (a sample of the manifold ``M``); regions are those the data visit.
    domain : Box or float
        The box every region is intersected with, so that images and volumes are bounded: a
        :class:`~relutopo.domains.Box`, or a half-width ``h`` for ``[-h, h]^d`` (the paper
        uses 100, the default). It must contain the data.
    depths : sequence of int, optional
        Depths to report (default ``1..L+1``); the classes are always accumulated from depth 1.
    prefilter : bool
        Skip pairs that provably cannot overlap (equal active sets at hidden depths, image
        bounding boxes); ``False`` solves one LP for every pair (for testing the prefilter).
    volumes : bool
        Compute the box volume of every region in an overlapping pair (``d <= 6``).
    glue_hulls : bool
        For overlapping pairs of complementary rank (``rank M_1 + rank M_2 <= h``: a curve
        crossing itself) with no data point in the other's image, glue the data points carrying
        a witness of ``conv Phi(X_J1) cap conv Phi(X_J2)``. ``False`` glues only by membership
        (the paper's code).
    progress : bool
        Show a tqdm bar over depths.
    box : float or (lo, hi), deprecated
        The former spelling of ``domain`` (a half-width or the corners); kept for a transition.

    Returns
    -------
    OverlapDecomposition

    Examples
    --------
    ``(x, y) -> (|x|, y)`` folds the plane along ``x = 0`` (Beshkov Sec. 3): at depth 1 the four
    quadrants are four regions with injective maps; at the output the left and right quadrants
    have the same image, so the upper points form one class and the lower ones another:

    >>> import numpy as np
    >>> net = ReluNet.from_weights([np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]]),
    ...                             np.array([[1.0, 1, 0, 0], [0, 0, 1, -1]])],
    ...                            [np.zeros(4), np.zeros(2)])
    >>> th = np.linspace(0, 2 * np.pi, 8, endpoint=False) + np.pi / 8
    >>> dec = overlap_decomposition(net, np.c_[np.cos(th), np.sin(th)], domain=Box(-2, 2, dim=2))
    >>> [(d.depth, d.n_regions, len(d.overlapping_pairs), d.n_classes) for d in dec.depths]
    [(1, 4, 0, 0), (2, 4, 2, 2)]
    """
    from tqdm.auto import tqdm

    net = _check_net(net)
    X = _check_points(net, X)
    if len(X) < 2:
        raise ValueError(f"X needs at least 2 points to have overlaps; got {len(X)}")
    if box is not None:
        import warnings

        warnings.warn("overlap_decomposition(box=...) is deprecated: pass domain=Box(lo, hi) or "
                      "domain=<half-width>", DeprecationWarning, stacklevel=2)
        if not (isinstance(domain, float) and domain == 100.0):
            raise ValueError(f"give the box once: domain={domain!r} and box={box!r} were both given")
        if not np.isscalar(box):
            try:
                lo, hi = (np.broadcast_to(np.asarray(a, dtype=np.float64), (X.shape[1],)) for a in box)
            except (TypeError, ValueError):
                raise ValueError(f"box must be a positive half-width or a pair (lo, hi) of "
                                 f"length-{X.shape[1]} arrays; got box={box!r}") from None
            box = Box(lo, hi)
        domain = box
    domain = _check_domain(domain, X)
    lo_box, hi_box = domain.lo, domain.hi
    L = len(net.hidden_sizes)
    want = set(range(1, L + 2)) if depths is None else {_check_depth(net, d) for d in depths}
    if volumes and net.input_dim > MAX_VOLUME_DIM:
        raise ValueError(f"volumes=True needs input dimension <= {MAX_VOLUME_DIM}; the net has "
                         f"input dimension {net.input_dim}: pass volumes=False")
    d = net.input_dim
    scale = domain.scale
    lp = LPSolver()
    n = len(X)
    class_labels = np.full(n, -1, dtype=np.int64)
    results = []
    geom_cache = {}
    for depth in tqdm(range(1, max(want) + 1), disable=not progress, desc="overlap depth"):
        t0 = time.perf_counter()
        visited = data_regions(net, X, depth)
        labels, pats = visited.labels, visited.patterns
        R = len(pats)
        polys = [region_polyhedron(net, p, depth, domain) for p in pats]
        maps = [region_map(net, p, depth) for p in pats]
        ranks = np.array([np.linalg.matrix_rank(M) if M.size else 0 for M, _ in maps], dtype=np.int64)
        other_lps = 0
        members = [np.nonzero(labels == r)[0] for r in range(R)]
        images = [X[mem] @ M.T + m for mem, (M, m) in zip(members, maps)]
        h = maps[0][0].shape[0]
        k = int(net.layer_offsets[min(depth, L)])
        testers, flats, planes, ilo, ihi = [], [], [], np.empty((R, h)), np.empty((R, h))
        for r, ((A, c), (M, m)) in enumerate(zip(polys, maps)):
            key = pack_bits(pats[r, :k]).tobytes()
            if key not in geom_cache:
                c0 = lp.calls
                geo = _RegionGeometry(A, c, X[members[r]].mean(axis=0), lp, scale)
                if geo.vertices is None and prefilter:
                    bb = _bounding_box(lp, A, c, d)
                    geo.bbox = bb if bb is not None else (lo_box, hi_box)
                elif geo.vertices is not None:
                    geo.bbox = (geo.vertices.min(axis=0), geo.vertices.max(axis=0))
                else:
                    geo.bbox = (lo_box, hi_box)
                other_lps += lp.calls - c0
                geom_cache[key] = geo
            geo = geom_cache[key]
            blo, bhi, test = geo.image_tester(M, m, lp, scale)
            if blo is None:  # interval arithmetic on the input bounding box contains the image
                mid, half = (geo.bbox[0] + geo.bbox[1]) / 2, (geo.bbox[1] - geo.bbox[0]) / 2
                cen, rad = M @ mid + m, np.abs(M) @ half
                blo, bhi = cen - rad, cen + rad
            slack = MEMBERSHIP_RTOL * (1.0 + np.abs(blo) + np.abs(bhi))
            ilo[r], ihi[r] = blo - slack, bhi + slack
            testers.append(test)
            flats.append(geo.flat if hasattr(geo, "flat") else None)
            planes.append(getattr(geo, "plane", None))
        if prefilter:
            keys = None
            if depth <= L:
                offs = net.layer_offsets
                keys = pats[:, offs[depth - 1]:offs[depth]]
            cand = _candidate_pairs(R, keys, ilo, ihi)
        else:
            cand = _candidate_pairs(R, None, None, None)
        n_pairs = R * (R - 1) // 2
        groups = []
        overlapping = []
        c_before = lp.calls
        n_overlap_lps = 0
        n_by_data = 0
        n_by_geometry = 0
        interior = [np.all(X[mem] @ A.T < c - LP_FEAS_RTOL * (1.0 + np.abs(c)), axis=1)
                    for mem, (A, c) in zip(members, polys)]
        # pairs of polygons filling the plane (the output of a two-class net): decided all at
        # once, with the same tests as the loop below (relutopo.plane_overlap)
        batch = np.full(len(cand), -1, dtype=np.int64)
        if prefilter and h == 2 and len(cand):
            poly = plane_images(planes)
            sel = np.nonzero(poly.ok[cand[:, 0]] & poly.ok[cand[:, 1]])[0]
            if len(sel):
                counts = np.array([len(mem) for mem in members], dtype=np.int64)
                status, in_other, offs = plane_pair_status(
                    poly, cand[sel], np.concatenate(images), np.cumsum(counts) - counts, counts,
                    np.concatenate(interior))
                batch[sel] = np.arange(len(sel))
                n_by_geometry += int(np.sum(status == SEPARATED))
        todo = np.nonzero((batch < 0) | (status[batch] != SEPARATED))[0] if np.any(batch >= 0) \
            else range(len(cand))
        for idx in todo:
            i, j = cand[idx]
            (M1, m1), (M2, m2) = maps[i], maps[j]
            b = batch[idx]
            if b >= 0:  # decided in the batch: an overlap, by data or by geometry
                n_by_data += int(status[b] == BY_DATA)
                n_by_geometry += int(status[b] == BY_GEOMETRY)
                mask_j = in_other[offs[b]:offs[b] + counts[j]]
                mask_i = in_other[offs[b] + counts[j]:offs[b + 1]]
            else:
                mask_j = testers[i](images[j])  # points of J_j whose image lies in Phi_i(G_i)
                mask_i = testers[j](images[i])
                # an interior data point whose image lies in the other image proves an interior
                # overlap when both images span the same flat (Phi is open onto its flat there)
                decided = ((np.any(mask_j & interior[j]) and _same_flat(M1, m1, M2, m2))
                           or (np.any(mask_i & interior[i]) and _same_flat(M2, m2, M1, m1)))
                geometric = None
                if prefilter and not decided:
                    geometric = _interiors_meet(flats[i], flats[j])
                if decided and prefilter:
                    n_by_data += 1
                elif geometric is not None:
                    n_by_geometry += 1
                    if not geometric:
                        continue
                else:
                    (A1, c1), (A2, c2) = polys[i], polys[j]
                    c0 = lp.calls
                    ok = images_overlap(lp, A1, c1, M1, m1, A2, c2, M2, m2, scale).overlap
                    n_overlap_lps += lp.calls - c0
                    if not ok:
                        continue
            overlapping.append((i, j))
            in1, in2 = members[j][mask_j], members[i][mask_i]
            if len(in1) and len(in2):
                groups.append(np.concatenate([in1, in2]))
            elif glue_hulls and ranks[i] + ranks[j] <= h:
                # flats of complementary dimension meet in a null set (a curve crossing itself):
                # data points never land in it, so a witness on the data's hulls decides
                w = _hull_witness(lp, images[i], images[j])
                if w is not None:
                    # glue the data point nearest to each preimage of the crossing (one per
                    # side: gluing two far-apart points of one region would add a loop)
                    pair = []
                    for mem, lam in ((members[i], w[0]), (members[j], w[1])):
                        z = lam @ X[mem]
                        pair.append(mem[np.argmin(np.linalg.norm(X[mem] - z, axis=1))])
                    groups.append(np.array(pair))
        other_lps += (lp.calls - c_before) - n_overlap_lps
        class_labels = union_find_classes(n, groups, previous=class_labels)
        vols = None
        if volumes:  # only the regions that take part in an overlap (the others stay nan)
            vols = np.full(R, np.nan)
            for r in np.unique(np.array(overlapping, dtype=np.int64).reshape(-1)):
                key = pack_bits(pats[r, :k]).tobytes()
                v = geom_cache[key].volume
                vols[r] = v if np.isfinite(v) else polytope_volume(*polys[r], scale=scale, solver=lp)
        if depth in want:
            results.append(DepthOverlap(
                depth=depth, labels=labels, n_regions=R, ranks=ranks,
                overlapping_pairs=np.array(overlapping, dtype=np.int64).reshape(-1, 2),
                class_labels=class_labels.copy(), n_pairs=n_pairs, n_overlap_lps=n_overlap_lps,
                n_lps_saved=n_pairs - n_overlap_lps, n_decided_by_data=n_by_data,
                n_decided_by_geometry=n_by_geometry,
                n_other_lps=other_lps,
                seconds=time.perf_counter() - t0, region_volumes=vols))
    return OverlapDecomposition(depths=tuple(results), n_points=n, domain=domain)
