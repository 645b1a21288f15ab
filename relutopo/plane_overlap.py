"""Batched exact overlap tests for region images that fill a plane (two-dimensional output).

At the output depth of a two-class network every region's image ``Phi_J(G_J)`` is a convex
polygon in ``R^2`` (when ``M_J`` has rank 2), and :func:`relutopo.overlap.overlap_decomposition`
must decide, for up to ``R (R - 1) / 2`` pairs, whether two such polygons meet at interior points.
Pair by pair in Python that costs about a millisecond (two convex hulls, an SVD, the data-membership
tests), i.e. tens of minutes for the ~10^6 candidate pairs of a trained ``4 -> 25^4 -> 2`` network
on 2000 points. This module makes the same decisions for all pairs at once, in numpy:

* **data**: the images of a region's data points are tested against the other polygon with the
  per-region facet inequalities (the test of ``_RegionGeometry.image_tester``); an *interior* data
  point whose image lies in the other polygon proves an interior overlap (an affine map of rank 2
  is open onto the plane);
* **geometry** otherwise: the separating axis theorem on the two polygons' facet normals (two
  convex polygons' interiors are disjoint iff one of their edge normals separates them), with
  the tolerance of ``_interiors_meet_in_flat``.

Polygons are given by their qhull hulls (vertices and facet equations), computed once per region.
Regions whose image has rank < 2 or whose hull failed are not handled here (``PlaneImages.ok``
is ``False``); the caller decides those pairs one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tolerances import MEMBERSHIP_RTOL

__all__ = ["PlaneImages", "plane_images", "plane_pair_status", "SEPARATED", "BY_DATA", "BY_GEOMETRY"]

#: Status of a pair: the polygons' interiors are disjoint (a separating axis exists).
SEPARATED = 0
#: Status of a pair: an interior data point of one region maps into the other polygon.
BY_DATA = 1
#: Status of a pair: no data point decides and no edge normal separates the polygons.
BY_GEOMETRY = 2

#: Pairs per numpy batch (bounds the working set: ``chunk * hull_size * 2 * hull_size`` floats).
PAIR_CHUNK = 2048


@dataclass(frozen=True)
class PlaneImages:
    """Per-region polygon data for :func:`plane_pair_status` (``R`` regions, ``H`` = largest hull).

    Attributes
    ----------
    ok : bool array (R,)
        Whether the region's image is a polygon with a hull (rank 2); other regions are skipped.
    basis, offset : arrays (R, 2, 2), (R, 2)
        ``U_J`` (orthonormal basis of the image directions) and ``m_J``; a point ``y`` has flat
        coordinates ``q = (y - m_J) @ U_J``.
    equations : array (R, H, 3)
        Facet inequalities ``E[:, :2] q + E[:, 2] <= tol`` in flat coordinates (qhull's), padded
        with rows that always hold.
    tol : array (R,)
        Membership tolerance of each polygon (``MEMBERSHIP_RTOL * max(1, |vertex images|)``).
    hull : array (R, H, 2)
        The polygon's vertices in the plane, padded by repeating the first one.
    axes : array (R, H, 2)
        Outer facet normals in the plane (``U_J`` applied to qhull's normals), zero where padded.
    axis_ok : bool array (R, H)
        Which rows of ``axes`` are real.

    Examples
    --------
    Built by :func:`plane_images`; a triangle's three facet normals, padded to the square's four:

    >>> import numpy as np
    >>> from scipy.spatial import ConvexHull
    >>> def poly(Q):
    ...     h = ConvexHull(Q)
    ...     return np.eye(2), np.zeros(2), h.equations, 1e-8, Q[h.vertices]
    >>> P = plane_images([poly(np.array([[0., 0], [1, 0], [0, 1]])),
    ...                   poly(np.array([[0., 0], [1, 0], [1, 1], [0, 1]]))])
    >>> P.axis_ok.sum(axis=1).tolist()
    [3, 4]
    """

    ok: np.ndarray
    basis: np.ndarray
    offset: np.ndarray
    equations: np.ndarray
    tol: np.ndarray
    hull: np.ndarray
    axes: np.ndarray
    axis_ok: np.ndarray


def plane_images(polygons) -> PlaneImages:
    """Pack per-region polygons into :class:`PlaneImages`.

    Parameters
    ----------
    polygons : sequence of tuple or None
        Per region, ``(U, m, equations, tol, hull_vertices)`` in the conventions of
        :class:`PlaneImages` (unpadded), or ``None`` for a region this module does not handle.

    Examples
    --------
    The unit square and the triangle with vertices (2, 0), (3, 0), (2, 1) (basis = identity):

    >>> import numpy as np
    >>> from scipy.spatial import ConvexHull
    >>> def poly(P):
    ...     h = ConvexHull(P)
    ...     return np.eye(2), np.zeros(2), h.equations, 1e-8, P[h.vertices]
    >>> sq, tri = np.array([[0., 0], [1, 0], [1, 1], [0, 1]]), np.array([[2., 0], [3, 0], [2, 1]])
    >>> pi = plane_images([poly(sq), poly(tri), None])
    >>> pi.ok.tolist(), pi.hull.shape
    ([True, True, False], (3, 4, 2))
    """
    R = len(polygons)
    H = max((len(p[4]) for p in polygons if p is not None), default=1)
    ok = np.zeros(R, dtype=bool)
    basis = np.zeros((R, 2, 2))
    offset = np.zeros((R, 2))
    equations = np.zeros((R, H, 3))
    equations[:, :, 2] = -1.0  # padding rows: 0 . q - 1 <= tol always holds
    tol = np.zeros(R)
    hull = np.zeros((R, H, 2))
    axes = np.zeros((R, H, 2))
    axis_ok = np.zeros((R, H), dtype=bool)
    for r, p in enumerate(polygons):
        if p is None:
            continue
        U, m, E, t, V = p
        ok[r] = True
        basis[r], offset[r], tol[r] = U, m, t
        equations[r, :len(E)] = E
        hull[r, :len(V)] = V
        hull[r, len(V):] = V[0]
        axes[r, :len(E)] = E[:, :2] @ U.T
        axis_ok[r, :len(E)] = True
    return PlaneImages(ok, basis, offset, equations, tol, hull, axes, axis_ok)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for each (start, count)."""
    total = int(counts.sum())
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + (np.arange(total) - first)


def _inside(P: PlaneImages, owner: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Whether each point ``Y[k]`` lies in the polygon of region ``owner[k]`` (up to its tol)."""
    U, t = P.basis[owner], P.tol[owner]
    Z = Y - P.offset[owner]
    q = np.einsum("pk,pkr->pr", Z, U)
    ok = np.linalg.norm(Z - np.einsum("pr,pkr->pk", q, U), axis=1) <= t
    E = P.equations[owner]
    return ok & np.all(np.einsum("pr,phr->ph", q, E[:, :, :2]) + E[:, :, 2] <= t[:, None], axis=1)


def plane_pair_status(P: PlaneImages, pairs: np.ndarray, images: np.ndarray, starts: np.ndarray,
                      counts: np.ndarray, interior: np.ndarray, chunk: int = PAIR_CHUNK):
    """Decide, for every pair of polygon regions, whether their images meet at interior points.

    Parameters
    ----------
    P : PlaneImages
        The regions' polygons; every region in ``pairs`` must have ``P.ok``.
    pairs : int array (K, 2)
        Region pairs ``(i, j)``.
    images : array (n, 2)
        Images of the data points, grouped by region: region ``r`` owns rows
        ``starts[r] : starts[r] + counts[r]`` (``counts >= 1``).
    starts, counts : int arrays (R,)
        See ``images``.
    interior : bool array (n,)
        Whether each data point (same order as ``images``) lies in the interior of its region.
    chunk : int
        Pairs per batch.

    Returns
    -------
    status : int8 array (K,)
        :data:`SEPARATED`, :data:`BY_DATA` or :data:`BY_GEOMETRY` per pair.
    in_other : bool array
        For every pair, first the flags of region ``j``'s points (is its image in polygon ``i``),
        then those of region ``i``'s points (in polygon ``j``); pair ``k``'s flags start at
        ``offsets[k]``.
    offsets : int array (K + 1,)
        See ``in_other``.

    Examples
    --------
    The unit square against a triangle to its right (separated) and against a shifted square
    (overlapping: the point (0.75, 0.5) of the shifted square lies in the first):

    >>> import numpy as np
    >>> from scipy.spatial import ConvexHull
    >>> def poly(Q):
    ...     h = ConvexHull(Q)
    ...     return np.eye(2), np.zeros(2), h.equations, 1e-8, Q[h.vertices]
    >>> sq = np.array([[0., 0], [1, 0], [1, 1], [0, 1]])
    >>> P = plane_images([poly(sq), poly(np.array([[2., 0], [3, 0], [2, 1]])), poly(sq + 0.5)])
    >>> Y = np.array([[0.25, 0.25], [2.2, 0.2], [0.75, 0.5]])
    >>> st, flags, off = plane_pair_status(P, np.array([[0, 1], [0, 2]]), Y, np.arange(3),
    ...                                    np.ones(3, dtype=np.int64), np.ones(3, dtype=bool))
    >>> st.tolist(), flags.tolist()
    ([0, 1], [False, False, True, False])
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    K = len(pairs)
    status = np.zeros(K, dtype=np.int8)
    sizes = counts[pairs[:, 1]] + counts[pairs[:, 0]]
    offsets = np.zeros(K + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    in_other = np.zeros(int(offsets[-1]), dtype=bool)
    for a in range(0, K, chunk):
        i, j = pairs[a:a + chunk, 0], pairs[a:a + chunk, 1]
        C = len(i)
        # data: the points of j against polygon i, then the points of i against polygon j,
        # interleaved pair by pair in the order of ``offsets``
        first = np.stack([j, i], axis=1).reshape(-1)  # whose points
        against = np.stack([i, j], axis=1).reshape(-1)  # whose polygon
        cnt = counts[first]
        rows = _ranges(starts[first], cnt)
        owner = np.repeat(against, cnt)
        flags = _inside(P, owner, images[rows])
        in_other[offsets[a]:offsets[a + C]] = flags
        hit = (flags & interior[rows]).astype(np.int64)
        seg = np.add.reduceat(hit, np.cumsum(cnt) - cnt).reshape(C, 2)
        by_data = seg.sum(axis=1) > 0
        # geometry: separating axes among both polygons' edge normals (in flat coordinates of i)
        Hi, Hj = P.hull[i], P.hull[j]
        m, U = P.offset[i][:, None, :], P.basis[i]
        q1 = np.abs(np.einsum("chk,ckr->chr", Hi - m, U)).max(axis=(1, 2))
        q2 = np.abs(np.einsum("chk,ckr->chr", Hj - m, U)).max(axis=(1, 2))
        t = (MEMBERSHIP_RTOL * np.maximum(1.0, np.maximum(q1, q2)))[:, None]
        axes = np.concatenate([P.axes[i], P.axes[j]], axis=1)
        aok = np.concatenate([P.axis_ok[i], P.axis_ok[j]], axis=1)
        at = np.transpose(axes, (0, 2, 1))
        p1, p2 = Hi @ at, Hj @ at
        p1lo, p1hi, p2lo, p2hi = p1.min(axis=1), p1.max(axis=1), p2.min(axis=1), p2.max(axis=1)
        sep = ((p1hi <= p2lo + t) | (p2hi <= p1lo + t)) & aok
        meets = ~np.any(sep, axis=1)
        status[a:a + C] = np.where(by_data, BY_DATA, np.where(meets, BY_GEOMETRY, SEPARATED))
    return status, in_other, offsets
