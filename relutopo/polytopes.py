"""Bounded convex polytopes ``{x : A x <= c}``: vertices, faces and volumes.

The one implementation of these helpers in relutopo: the regions of a decomposition
(:func:`relutopo.polyhedra.region_of`), the cells of the cell complex
(:mod:`relutopo.complex`), the regions of the overlap decomposition (:mod:`relutopo.overlap`)
and the figures (:mod:`relutopo.plotting`) all use them.

* :func:`normalise_rows` -- unit-length rows, rows of zeros dropped (a violated one raises);
* :func:`polytope_vertices` -- the vertices, by Qhull's halfspace intersection on the polytope
  shifted to an interior point, or by every ``d``-subset of rows for short descriptions (an
  independent second algorithm), each vertex re-solved from its defining rows and vertices
  closer than ``VERTEX_MERGE_RTOL`` times the scale merged;
* :func:`polytope_faces` -- the face lattice by vertex-facet incidence;
* :func:`polytope_volume` -- the volume from the halfspaces; :func:`hull_volume` -- the
  ``k``-volume of the convex hull of points spanning a ``k``-flat.

Tolerances are relative to a length ``scale`` (the box diameter in a cell complex; by default
the largest distance from the interior point to a row's hyperplane), so that a polytope and its
image under ``x -> alpha x + t`` are treated alike.

Examples
--------
The simplex of Liu et al. (2023)'s Fig. 1 example, ``x >= 0, y >= 0, x + y <= 1``:

>>> import numpy as np
>>> A, c = np.array([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]]), np.array([0.0, 0.0, 1.0])
>>> sorted(map(tuple, np.round(polytope_vertices(A, c), 12).tolist()))
[(0.0, 0.0), (0.0, 1.0), (1.0, 0.0)]
>>> round(polytope_volume(A, c), 12)
0.5
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from . import tolerances as tol
from .errors import PolytopeError

__all__ = ["normalise_rows", "polytope_vertices", "polytope_faces", "PolytopeFaces",
           "polytope_volume", "hull_volume", "affine_dimension", "merge_points",
           "BRUTE_FORCE_MAX_SUBSETS"]

#: Up to this many ``d``-subsets of rows, vertices are enumerated directly (faster than Qhull).
BRUTE_FORCE_MAX_SUBSETS = 400

#: Up to this many points (in ``d <= 3``) :func:`merge_points` compares all pairs directly (no
#: KD-tree: for the vertices of one polytope building the tree costs more than it saves).
MERGE_DIRECT_MAX_POINTS = 64


def _as_system(A, c) -> tuple:
    A = np.asarray(A, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    if A.ndim != 2 or A.shape[0] != c.shape[0]:
        raise PolytopeError(f"A must be (m, d) and c (m,); got shapes {A.shape} and {c.shape}")
    return A, c


def normalise_rows(A, c, scale: float = 1.0) -> tuple:
    """``(A, c)`` with unit-length rows; rows of zeros (norm at most ``ZERO_ROW_RTOL`` times the
    largest) are dropped: they hold everywhere when ``c >= 0``, and a violated one (``c`` below
    ``-LP_FEAS_RTOL * scale``) makes the set empty, which raises :class:`PolytopeError`.

    Examples
    --------
    >>> An, cn = normalise_rows(np.array([[3.0, 4.0], [0.0, 0.0]]), np.array([10.0, 1.0]))
    >>> An.tolist(), cn.tolist()
    ([[0.6, 0.8]], [2.0])
    """
    from .lp import row_norms

    A, c = _as_system(A, c)
    norms = row_norms(A)
    keep = norms > tol.ZERO_ROW_RTOL * float(np.max(norms, initial=0.0))
    if np.any(~keep & (c < -tol.LP_FEAS_RTOL * scale)):
        raise PolytopeError("a halfspace row 0 . x <= c with c < 0 makes the region empty; "
                            "pass the halfspaces of a non-empty region")
    return A[keep] / norms[keep, None], c[keep] / norms[keep]


def merge_points(P, radius: float) -> np.ndarray:
    """Labels ``0..k-1`` of points after merging those within ``radius`` (connected components of
    the KD-tree's close pairs; components numbered in order of their smallest point index).

    Examples
    --------
    >>> merge_points(np.array([[0.0, 0.0], [1.0, 0.0], [1e-12, 0.0]]), 1e-9).tolist()
    [0, 1, 0]
    """
    n = len(P)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    P = np.asarray(P, dtype=np.float64)
    if n <= MERGE_DIRECT_MAX_POINTS and P.ndim == 2 and P.shape[1] <= 3:
        return _merge_points_direct(P, radius)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    pairs = cKDTree(P).query_pairs(radius, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def _merge_points_direct(P: np.ndarray, radius: float) -> np.ndarray:
    """:func:`merge_points` for a few points in ``d <= 3``, without a KD-tree: all pairwise
    squared distances, summed over the coordinates in order as the KD-tree sums them for
    ``d < 4``, compared with ``radius * radius`` as the KD-tree compares them (so the two give the
    same labels), then the components numbered in order of their smallest point index."""
    n = len(P)
    D = P[:, None, :] - P[None, :, :]
    D *= D
    d2 = D[:, :, 0].copy()
    for j in range(1, P.shape[1]):
        d2 += D[:, :, j]
    close = np.argwhere(np.triu(d2 <= radius * radius, 1))
    if len(close) == 0:
        return np.arange(n, dtype=np.int64)
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in close.tolist():
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    labels = np.empty(n, dtype=np.int64)
    first: dict = {}
    for i in range(n):
        labels[i] = first.setdefault(root(i), len(first))
    return labels


def _subset_vertices(A, c, slack) -> np.ndarray:
    """All feasible intersections of ``d`` hyperplanes among the (unit) rows (exhaustive)."""
    m, d = A.shape
    subsets = np.array(list(combinations(range(m), d)), dtype=np.int64).reshape(-1, d)
    if len(subsets) == 0:
        return np.zeros((0, d))
    M = A[subsets]
    rhs = c[subsets]
    ok = np.abs(np.linalg.det(M)) > tol.VERTEX_DET_TOL
    if not np.any(ok):
        return np.zeros((0, d))
    V = np.linalg.solve(M[ok], rhs[ok][..., None])[..., 0]
    return V[np.all(V @ A.T <= c + slack, axis=1)]


def _qhull_vertices(A, c, x0, slack):
    """Vertices by Qhull's halfspace intersection on the polytope shifted to ``x0`` and scaled to
    order one, each re-solved from the rows Qhull says define it; ``None`` when Qhull fails or a
    re-solved vertex violates a row by more than ``slack``."""
    from scipy.spatial import HalfspaceIntersection, QhullError

    d = A.shape[1]
    dist = c - A @ x0  # distance from x0 to each (unit) row's hyperplane, > 0
    s = float(dist.min())
    if not (np.isfinite(s) and s > 0):
        return None
    try:
        hs = HalfspaceIntersection(np.hstack([A, -(dist / s)[:, None]]), np.zeros(d))
        # the dual-hull coordinates are not exact: solve each vertex from its defining rows
        V = np.array([x0 + np.linalg.lstsq(A[list(rows)], dist[list(rows)], rcond=None)[0]
                      for rows in hs.dual_facets]).reshape(-1, d)
    except (QhullError, ValueError, np.linalg.LinAlgError):
        return None
    V = V[np.all(np.isfinite(V), axis=1)]
    if len(V) == 0 or np.any(V @ A.T > c + slack):
        return None
    return V


def _interior_point(A, c, cap, solver=None):
    """The Chebyshev centre of ``{A x <= c}`` (unit rows) with its radius capped at ``cap``, or
    ``None`` when the set has no interior (one LP, :class:`relutopo.polyhedra.LPSolver`)."""
    from .lp import LPSolver

    x, r = (solver or LPSolver()).chebyshev(A, c, cap)
    return x if (x is not None and r > tol.CHEBYSHEV_RTOL * cap) else None


def polytope_vertices(A, c, interior_point=None, *, scale: float | None = None,
                      method: str = "qhull", solver=None) -> np.ndarray:
    """Vertices of the bounded polytope ``{x : A x <= c}``.

    Parameters
    ----------
    A, c : arrays ``(m, d)``, ``(m,)``
        Halfspaces (redundant rows allowed; they must describe a bounded, full-dimensional set).
    interior_point : array ``(d,)``, optional
        A point strictly inside (the Chebyshev centre is computed when Qhull needs one and it is
        omitted or not strictly inside).
    scale : float, optional
        Length scale of the problem (e.g. the box diameter); the merge tolerance is
        ``VERTEX_MERGE_RTOL * scale``. Default: the largest distance from the interior point to
        a row's hyperplane.
    method : {"qhull", "brute"}
        ``qhull``: halfspace intersection by Qhull (every ``d``-subset of rows instead when there
        are at most ``BRUTE_FORCE_MAX_SUBSETS`` of them, or when Qhull fails); ``brute``: every
        ``d``-subset of rows solved and kept when feasible (an independent second algorithm,
        exponential in ``d``, for checks).
    solver : relutopo.polyhedra.LPSolver, optional
        The LP solver for the Chebyshev centre.

    Returns
    -------
    V : array ``(n_vertices, d)``
        Each vertex re-solved from its defining rows, without duplicates.

    Raises
    ------
    PolytopeError
        Malformed arrays, a violated row of zeros, or halfspaces with no vertex (an empty or
        unbounded set).

    Examples
    --------
    The unit square (Liu et al. 2023, Sec. 4: the bounded domain ``[l, u]^d``) with a redundant row:

    >>> A = np.array([[-1.0, 0], [1, 0], [0, -1], [0, 1], [1, 1]])
    >>> c = np.array([0.0, 1, 0, 1, 5])
    >>> sorted(map(tuple, np.round(polytope_vertices(A, c), 12).tolist()))
    [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    """
    return _polytope_vertices(A, c, interior_point, scale, method, solver)[0]


def _polytope_vertices(A, c, interior_point, scale, method, solver) -> tuple:
    """:func:`polytope_vertices` and the unit rows ``(An, cn)`` it worked with (the same as
    ``normalise_rows(A, c, scale)``), so that :func:`polytope_faces` need not normalise again."""
    if method not in ("qhull", "brute"):
        raise PolytopeError(f"method must be 'qhull' or 'brute'; got {method!r}")
    A, c = _as_system(A, c)
    x0 = None if interior_point is None else np.asarray(interior_point, dtype=np.float64).reshape(-1)
    if scale is None:
        An, cn = normalise_rows(A, c, 0.0)
        if x0 is None or not np.all(An @ x0 < cn):
            dist = np.abs(cn)
            cap = float(dist.max(initial=0.0)) or 1.0
            x0 = _interior_point(An, cn, cap, solver) if len(An) else None
        scale = float(np.max(cn - An @ x0, initial=0.0)) if x0 is not None else \
            float(np.max(np.abs(cn), initial=0.0))
        scale = scale if scale > 0 else 1.0
    else:
        An, cn = normalise_rows(A, c, scale)
    d = An.shape[1]
    merge = tol.VERTEX_MERGE_RTOL * scale
    V = None
    if method == "qhull" and comb(An.shape[0], d) <= BRUTE_FORCE_MAX_SUBSETS:
        method = "brute"  # few rows (an irredundant description): enumeration is faster
    if method == "qhull" and d >= 2:
        if x0 is None or not np.all(An @ x0 < cn):
            x0 = _interior_point(An, cn, scale, solver)
        if x0 is not None:
            V = _qhull_vertices(An, cn, x0, tol.VERTEX_CHECK_FACTOR * merge)
    if V is None:
        V = _subset_vertices(An, cn, merge)
    if len(V) == 0:
        raise PolytopeError("the halfspaces describe an empty or unbounded set; a region in a box "
                            "must be a bounded, full-dimensional polytope")
    labels = merge_points(V, merge)
    out = np.zeros((labels.max() + 1, d))
    np.add.at(out, labels, V)
    out /= np.bincount(labels)[:, None]
    if len(out) <= d:  # a bounded, full-dimensional polytope has at least d + 1 vertices
        raise PolytopeError(f"the halfspaces have {len(out)} vertex(es) in R^{d}: they describe an "
                            "unbounded or lower-dimensional set (a 1-D interval needs a row on "
                            "each side); a region in a box must be a bounded, full-dimensional "
                            "polytope -- pass all of its facet rows, the box faces included")
    return out, An, cn


def affine_dimension(P, radius: float) -> int:
    """Dimension of the affine hull of the points ``P`` (rows): singular values of the centred
    points above ``radius`` (a length, e.g. the merge tolerance) count.

    Examples
    --------
    >>> affine_dimension(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), 1e-9)
    1
    """
    P = np.asarray(P, dtype=np.float64)
    if len(P) <= 1:
        return 0
    s = np.linalg.svd(P[1:] - P[0], compute_uv=False)
    return int(np.sum(s > radius))


@dataclass(frozen=True)
class PolytopeFaces:
    """The face lattice of one convex polytope, each face as a sorted tuple of vertex indices.

    ``faces[k]`` lists the k-faces (``faces[d]`` is the polytope itself, ``faces[0]`` the
    vertices ``(i,)``); ``tight[i]`` is the set of (normalised) halfspace rows tight at vertex i.

    Examples
    --------
    The face lattice of the unit square: 4 vertices, 4 edges, 1 square.

    >>> import numpy as np
    >>> A = np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1]])
    >>> pf = polytope_faces(A, np.array([1.0, 1, 0, 0]))
    >>> [len(f) for f in pf.faces], pf.vertices.shape
    ([4, 4, 1], (4, 2))
    """

    vertices: np.ndarray
    faces: tuple
    tight: np.ndarray


def polytope_faces(A, c, interior_point=None, *, scale: float = 1.0, solver=None) -> PolytopeFaces:
    """Every face of the bounded polytope ``{A x <= c}`` by vertex-facet incidence.

    In 2-D the edges join cyclically consecutive vertices (sorted by angle about the centroid).
    For ``d >= 3`` facets are the vertex sets of tight rows with affine dimension ``d-1``, and a
    (k-1)-face is the intersection of two k-faces with affine dimension ``k-1`` (diamond property
    of face lattices). Raises :class:`PolytopeError` when the polytope is not full-dimensional.

    Examples
    --------
    A triangle has three vertices and three edges:

    >>> A, c = np.array([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]]), np.array([0.0, 0.0, 1.0])
    >>> [len(f) for f in polytope_faces(A, c).faces]
    [3, 3, 1]
    """
    A, c = _as_system(A, c)
    V, An, cn = _polytope_vertices(A, c, interior_point, scale, "qhull", solver)
    if scale is None:
        An, cn = normalise_rows(A, c, scale)
    d = A.shape[1]
    merge = tol.VERTEX_MERGE_RTOL * scale
    tight = np.abs(V @ An.T - cn) <= tol.VERTEX_TIGHT_FACTOR * merge
    faces = [None] * (d + 1)
    faces[d] = [tuple(range(len(V)))]
    faces[0] = [(i,) for i in range(len(V))]
    if d == 2:
        # a convex polygon's edges join cyclically consecutive vertices (no tolerance involved)
        C = V.mean(axis=0)
        cyc = np.argsort(np.arctan2(V[:, 1] - C[1], V[:, 0] - C[0]))
        faces[1] = sorted(tuple(sorted((int(cyc[i]), int(cyc[(i + 1) % len(cyc)]))))
                          for i in range(len(cyc)))
    elif d >= 3:
        cand = {tuple(np.flatnonzero(tight[:, j])) for j in range(An.shape[0])}
        faces[d - 1] = sorted(f for f in cand if len(f) >= d and affine_dimension(V[list(f)], merge) == d - 1)
        for k in range(d - 1, 1, -1):
            nxt = set()
            for f, g in combinations(faces[k], 2):
                h = tuple(sorted(set(f) & set(g)))
                if len(h) >= k and affine_dimension(V[list(h)], merge) == k - 1:
                    nxt.add(h)
            faces[k - 1] = sorted(nxt)
    if affine_dimension(V, merge) != d:
        raise PolytopeError(f"a region is not full-dimensional (its vertices span fewer than {d} "
                            "dimensions); pass full-dimensional regions only")
    return PolytopeFaces(vertices=V, faces=tuple(tuple(f) for f in faces), tight=tight)


def hull_volume(points, k: int | None = None) -> float:
    """``k``-dimensional volume of the convex hull of ``points`` (rows), which span a ``k``-flat
    (default ``k`` = their dimension: the volume, area or length of a full-dimensional hull).

    Examples
    --------
    >>> round(hull_volume(np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]])), 12)
    1.0
    >>> hull_volume(np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]]), k=1)
    5.0
    """
    P = np.asarray(points, dtype=np.float64)
    k = P.shape[1] if k is None else int(k)
    if k == 0:
        return 1.0
    Q = P - P.mean(axis=0)
    _, _, vt = np.linalg.svd(Q, full_matrices=False)
    Y = Q @ vt[:k].T
    if k == 1:
        return float(Y.max() - Y.min())
    from scipy.spatial import ConvexHull

    return float(ConvexHull(Y).volume)


def polytope_volume(A, c, interior_point=None, *, scale: float | None = None, solver=None) -> float:
    """Volume of the polytope ``{x : A x <= c}``: ``0.0`` when it is empty or not
    full-dimensional, ``inf`` when it is unbounded (its recession cone is not ``{0}``).

    For ``d = 1`` the interval length is exact; otherwise the volume of the hull of
    :func:`polytope_vertices`.

    Examples
    --------
    >>> A, c = np.array([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]]), np.array([0.0, 0.0, 1.0])
    >>> round(polytope_volume(A, c), 12), polytope_volume(A[:2], c[:2])
    (0.5, inf)
    """
    from .lp import LPSolver, is_bounded

    A, c = _as_system(A, c)
    d = A.shape[1]
    if d == 1:
        a = A[:, 0]
        if np.any((a == 0) & (c < 0)):
            return 0.0
        up = np.min(c[a > 0] / a[a > 0], initial=np.inf)
        lo = np.max(c[a < 0] / a[a < 0], initial=-np.inf)
        return float(max(0.0, up - lo))
    solver = solver or LPSolver()
    try:
        An, cn = normalise_rows(A, c, 0.0)
    except PolytopeError:
        return 0.0
    cap = float(np.max(np.abs(cn), initial=0.0)) or 1.0
    x0, r = solver.chebyshev(An, cn, cap)
    if x0 is None or not r > tol.CHEBYSHEV_RTOL * cap:
        return 0.0
    if not is_bounded(An, solver):
        return float("inf")
    try:
        V = polytope_vertices(An, cn, interior_point if interior_point is not None else x0,
                              scale=scale, solver=solver)
    except PolytopeError:
        return 0.0
    return hull_volume(V) if affine_dimension(V, tol.VERTEX_MERGE_RTOL * (scale or cap)) == d else 0.0
