"""The polyhedral cell complex of a ReLU network restricted to a box.

The closed activation regions of a network ``F : R^d -> R`` inside a box ``[lo, hi]`` are convex
polytopes; together with all their faces they form a polyhedral complex (the *canonical
polyhedral complex* of Grigsby & Lindsey; Tawfeek et al. 2025, Sec. 2, call its cells the
"polyhedral cells" of the network). A k-cell is a k-dimensional face of some region: the
regions are the d-cells, shared facets are (d-1)-cells, and so on down to the vertices.

:func:`cell_complex` builds every face of every region (exact in exact arithmetic, with the
relative tolerances of :mod:`relutopo.tolerances`), identifies faces shared by neighbouring
regions, and returns a :class:`CellComplex` with

* the vertices' coordinates and each cell's vertex set,
* the incidence (which (k-1)-cells bound which k-cells) as GF(2) boundary matrices
  ``boundary[k]`` of shape ``(f_{k-1}, f_k)`` (every codimension-one face of a convex polytope
  is regular, so every incidence number is 1 mod 2),
* the f-vector ``(f_0, ..., f_d)`` and Euler characteristic (1 for a complex covering the box).

Faces of one polytope: in 2-D its edges join cyclically consecutive vertices; for ``d >= 3`` they
come from its vertex-facet incidences (facets are the vertex sets of tight halfspaces of affine
dimension ``d-1`` and, by the diamond property of face lattices, every (k-1)-face is the
intersection of two k-faces). Vertices are enumerated from the halfspaces (Qhull, or all
``d``-subsets of rows for short descriptions, :mod:`relutopo.polytopes`) and re-solved from their
defining rows; vertices of
different regions closer than ``VERTEX_MERGE_RTOL`` times the box diameter are one vertex, and
faces of different regions are the same cell when they have the same vertices. This assumes the
regions meet face to face, which holds for generic weights (a bent hyperplane that ends on a
facet continues on the other side); :meth:`CellComplex.check` verifies it. Dimensions 1, 2 and 3 are supported; larger ``d`` works
for small complexes too (nothing in the construction is specific to ``d <= 3``) but is untested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from . import tolerances as tol
from .domains import Box
from .errors import ComplexError, PolytopeError
from .polytopes import affine_dimension, hull_volume, merge_points, polytope_faces
from .results import Unpackable
from .validation import check_box

# re-exported for the callers of the former copies here: relutopo.complex.polytope_vertices,
# PolytopeFaces, and cell_volume (= relutopo.polytopes.hull_volume)
from .polytopes import PolytopeFaces, polytope_vertices  # noqa: E402,F401
cell_volume = hull_volume

__all__ = ["CellComplex", "InteriorFacets", "SplitVolumes", "cell_complex",
           "cell_complex_from_halfspaces", "sample_convex_pieces"]


def sample_convex_pieces(pieces, spacing: float) -> np.ndarray:
    """Points on a union of convex pieces of dimension 1 or 2 (segments, polygons) at most
    ``spacing`` apart within each piece (used for Hausdorff distances between cell unions).

    Examples
    --------
    A segment of length 1 sampled at most 0.25 apart:

    >>> import numpy as np
    >>> sample_convex_pieces([np.array([[0.0, 0.0], [1.0, 0.0]])], 0.25).tolist()
    [[0.0, 0.0], [0.25, 0.0], [0.5, 0.0], [0.75, 0.0], [1.0, 0.0]]
    """
    if spacing <= 0:
        raise ValueError(f"spacing must be > 0; got {spacing}")
    out = []
    for Q in pieces:
        Q = np.asarray(Q, dtype=np.float64)
        C = Q.mean(axis=0)
        _, s, vt = np.linalg.svd(Q - C, full_matrices=False)
        k = min(int(np.sum(s > tol.ROUNDING_RTOL * s.max(initial=0.0))), len(Q) - 1)
        if k == 2:
            from scipy.spatial import ConvexHull, QhullError

            try:
                ConvexHull((Q - C) @ vt[:2].T)
            except QhullError:  # a sliver whose second direction is rounding: a segment
                k = 1
        if k == 0:
            out.append(Q[:1])
            continue
        Y = (Q - C) @ vt[:k].T
        if k == 1:
            lo, hi = Y.min(), Y.max()
            t = np.linspace(lo, hi, max(2, int(np.ceil((hi - lo) / spacing)) + 1))
            out.append(C + t[:, None] * vt[0])
        elif k == 2:
            from scipy.spatial import ConvexHull
            from matplotlib.path import Path

            hull = Y[ConvexHull(Y).vertices]
            lo, hi = Y.min(axis=0), Y.max(axis=0)
            g = np.stack(np.meshgrid(*[np.arange(l, h + spacing, spacing) for l, h in zip(lo, hi)]),
                         -1).reshape(-1, 2)
            inside = g[Path(hull).contains_points(g)]
            edges = [np.linspace(hull[j], hull[(j + 1) % len(hull)],
                                 max(2, int(np.ceil(np.linalg.norm(hull[(j + 1) % len(hull)] - hull[j])
                                                    / spacing)) + 1)) for j in range(len(hull))]
            Z = np.vstack([inside] + edges)
            out.append(C + Z @ vt[:2])
        else:
            raise ValueError("sample_convex_pieces handles pieces of dimension 1 and 2 only")
    return np.vstack(out) if out else np.zeros((0, 0))


# ---------------------------------------------------------------------------- the complex
@dataclass(frozen=True)
class InteriorFacets(Unpackable):
    """The interior (d-1)-cells of a complex (unpacks as ``(cells, pairs)``).

    Attributes
    ----------
    cells : int array (m,)     indices of the (d-1)-cells not on the box boundary
    pairs : int array (m, 2)   the two regions each one separates (smaller first)

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> cells, pairs = cell_complex(decompose(net, Box(-1, 1, dim=2))).interior_facets()
    >>> len(cells), sorted(map(tuple, pairs.tolist()))
    (4, [(0, 1), (0, 2), (1, 3), (2, 3)])
    """

    cells: np.ndarray
    pairs: np.ndarray


@dataclass(frozen=True)
class SplitVolumes(Unpackable):
    """Volume of each region on either side of an affine function (unpacks as
    ``(positive, negative)``).

    Attributes
    ----------
    positive : float array (n_regions,)   where ``a_r . x + b_r >= 0``
    negative : float array (n_regions,)   where it is ``< 0``

    Examples
    --------
    The output ``x + y`` of a 2 -> 2 -> 1 network splits each quadrant of ``[-1, 1]^2`` by sign
    (the areas Tawfeek et al. compare with the Fiedler cut):

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> a, b = np.array([[1.0, 1.0]] * 4), np.zeros(4)
    >>> pos, neg = K.split_volumes(a, b)
    >>> np.round(pos, 12).tolist(), np.round(neg, 12).tolist()
    ([0.0, 0.5, 0.5, 1.0], [1.0, 0.5, 0.5, 0.0])
    """

    positive: np.ndarray
    negative: np.ndarray


@dataclass(frozen=True, eq=False)
class CellComplex:
    """A polyhedral complex subdividing a box, with GF(2) boundary matrices.

    Attributes
    ----------
    dim : int
        The ambient (and top cell) dimension ``d``.
    lo, hi : arrays ``(d,)``
        The box.
    vertices : array ``(f_0, d)``
        Coordinates of the 0-cells.
    cells : tuple of length ``d+1``
        ``cells[k][i]`` is the sorted array of vertex indices of k-cell ``i``.
    boundary : tuple of length ``d+1``
        ``boundary[k]`` (``k >= 1``) is the ``(f_{k-1}, f_k)`` 0/1 CSR matrix with a 1 where the
        (k-1)-cell is a face of the k-cell (the cellular boundary over GF(2));
        ``boundary[0]`` is the ``(0, f_0)`` augmentation-free zero map.
    on_box_boundary : tuple of bool arrays
        ``on_box_boundary[k][i]``: k-cell ``i`` lies in a face of the box.
    region_of_cell : int array ``(f_d,)``
        The region (index in the source decomposition) of each d-cell.

    Examples
    --------
    The complex of a 2 -> 2 -> 1 network on ``[-1, 1]^2`` (Tawfeek et al. 2025, Sec. 2): four
    square 2-cells, their 12 edges and 9 vertices, Euler characteristic 1 (a disc):

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> K.f_vector.tolist(), K.euler_characteristic, K.n_cells
    ([9, 12, 4], 1, 25)
    >>> np.round(K.volumes(2), 12).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> K.check()["boundary_squared_zero"]
    True
    """

    dim: int
    lo: np.ndarray
    hi: np.ndarray
    vertices: np.ndarray
    cells: tuple
    boundary: tuple
    on_box_boundary: tuple
    region_of_cell: np.ndarray

    @property
    def domain(self) -> Box:
        """The box as a :class:`~relutopo.domains.Box`."""
        return Box(self.lo, self.hi)

    # ----------------------------------------------------------------- counts
    @property
    def f_vector(self) -> np.ndarray:
        """``(f_0, ..., f_d)``: the number of cells of each dimension."""
        return np.array([len(cs) for cs in self.cells], dtype=np.int64)

    @property
    def n_cells(self) -> int:
        return int(self.f_vector.sum())

    @property
    def euler_characteristic(self) -> int:
        """``sum_k (-1)^k f_k`` (1 when the complex covers a box)."""
        f = self.f_vector
        return int(sum((-1) ** k * f[k] for k in range(len(f))))

    def cell_dimensions(self) -> np.ndarray:
        """Dimension of every cell in the global numbering (all 0-cells, then 1-cells, ...)."""
        return np.repeat(np.arange(self.dim + 1), self.f_vector)

    def offsets(self) -> np.ndarray:
        """``offsets[k]`` is the global index of the first k-cell."""
        return np.concatenate([[0], np.cumsum(self.f_vector)]).astype(np.int64)

    # ----------------------------------------------------------------- incidence
    def faces_of(self, k: int, i: int) -> np.ndarray:
        """Indices of the (k-1)-cells bounding k-cell ``i``."""
        self._check_k(k, low=1)
        B = self.boundary[k].tocsc()
        return np.sort(B.indices[B.indptr[i]:B.indptr[i + 1]])

    def cofaces_of(self, k: int, i: int) -> np.ndarray:
        """Indices of the (k+1)-cells that have k-cell ``i`` as a face."""
        self._check_k(k, high=self.dim - 1)
        B = self.boundary[k + 1].tocsr()
        return np.sort(B.indices[B.indptr[i]:B.indptr[i + 1]])

    def _check_k(self, k, low=0, high=None):
        high = self.dim if high is None else high
        if not (isinstance(k, (int, np.integer)) and low <= k <= high):
            raise ValueError(f"k must be an integer in [{low}, {high}] for this {self.dim}-D "
                             f"complex; got {k!r}")

    def boundary_matrix(self) -> sp.csc_matrix:
        """The full GF(2) boundary matrix on all cells (global numbering, see :meth:`offsets`)."""
        off = self.offsets()
        n = int(off[-1])
        rows, cols = [], []
        for k in range(1, self.dim + 1):
            B = self.boundary[k].tocoo()
            rows.append(B.row + off[k - 1])
            cols.append(B.col + off[k])
        r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        cl = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        return sp.csc_matrix((np.ones(len(r), dtype=np.uint8), (r, cl)), shape=(n, n))

    def interior_facets(self) -> "InteriorFacets":
        """The (d-1)-cells not on the box boundary and the two regions each one separates, as
        :class:`InteriorFacets` (``cells`` and ``pairs``: the edges of the dual graph).

        Computed once and kept (the dual graph and every cut of it need them); callers get copies."""
        kept = self.__dict__.get("_interior_facets")
        if kept is None:
            kept = self.__dict__.setdefault("_interior_facets", self._interior_facets())
        return InteriorFacets(cells=kept.cells.copy(), pairs=kept.pairs.copy())

    def _interior_facets(self) -> "InteriorFacets":
        B = self.boundary[self.dim].tocsr()
        idx, pairs = [], []
        for i in np.flatnonzero(~self.on_box_boundary[self.dim - 1]):
            top = B.indices[B.indptr[i]:B.indptr[i + 1]]
            if len(top) != 2:
                raise ComplexError(f"interior (d-1)-cell {i} borders {len(top)} d-cells, not 2; "
                                   "the regions do not tile the box")
            idx.append(i)
            pairs.append(sorted(self.region_of_cell[top]))
        return InteriorFacets(cells=np.array(idx, dtype=np.int64),
                              pairs=np.array(pairs, dtype=np.int64).reshape(-1, 2))

    def volumes(self, k: int) -> np.ndarray:
        """k-dimensional volume of every k-cell (lengths of edges, areas of polygons, ...).

        Computed once per ``k`` and kept (the complex is immutable): :meth:`split_volumes` and
        :meth:`check` both need the top cells' volumes."""
        self._check_k(k)
        cache = self.__dict__.setdefault("_volumes", {})
        if k not in cache:
            cache[k] = np.array([hull_volume(self.vertices[v], k) for v in self.cells[k]])
        return cache[k].copy()

    def volumes_of(self, k: int, idx) -> np.ndarray:
        """k-dimensional volume of the k-cells ``idx``."""
        self._check_k(k)
        return np.array([hull_volume(self.vertices[self.cells[k][i]], k) for i in np.asarray(idx)])

    def region_edges(self) -> list:
        """For each d-cell, the indices of the 1-cells in its closure (its polytope's edges)."""
        if self.dim == 1:
            return [np.array([i]) for i in range(len(self.cells[1]))]
        M = self.boundary[2].astype(np.int64)
        for k in range(3, self.dim + 1):
            M = M @ self.boundary[k].astype(np.int64)
        M = M.tocsc()
        return [np.sort(M.indices[M.indptr[i]:M.indptr[i + 1]]) for i in range(M.shape[1])]

    def _region_maps(self, a, b, n_regions=None) -> tuple:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64).reshape(-1)
        n = int(self.region_of_cell.max()) + 1 if n_regions is None else n_regions
        if a.ndim != 2 or a.shape[1] != self.dim or a.shape[0] != b.shape[0] or a.shape[0] < n:
            raise ValueError(f"a must be (n_regions, {self.dim}) and b (n_regions,) with one affine "
                             f"function per region ({n}); got shapes {a.shape} and {b.shape}")
        return a[self.region_of_cell], b[self.region_of_cell]

    def _split_points(self, a, b) -> list:
        """Per d-cell: (values at its vertices, vertex ids, points where edges cross the zero)."""
        a_c, b_c = self._region_maps(a, b)
        out = []
        for i, edges in enumerate(self.region_edges()):
            vid = self.cells[self.dim][i]
            P = self.vertices[vid]
            val = P @ a_c[i] + b_c[i]
            ends = np.array([self.cells[1][e] for e in edges]).reshape(-1, 2)
            x0, x1 = self.vertices[ends[:, 0]], self.vertices[ends[:, 1]]
            s0, s1 = x0 @ a_c[i] + b_c[i], x1 @ a_c[i] + b_c[i]
            cross = (s0 < 0) != (s1 < 0)
            cross &= (s0 != 0) & (s1 != 0)
            lam = s0[cross] / (s0[cross] - s1[cross])
            X = x0[cross] + lam[:, None] * (x1[cross] - x0[cross])
            out.append((P, val, X))
        return out

    def split_volumes(self, a, b) -> "SplitVolumes":
        """Volume of each region where ``a_r . x + b_r >= 0`` and where it is ``< 0``.

        ``a`` (n_regions, d), ``b`` (n_regions,) give one affine function per region (e.g. the
        network's output logit, ``dec.affine_map(r)``). Exact up to rounding: the positive part
        of a convex polytope is the hull of its vertices with ``a.x + b >= 0`` and the points
        where its edges cross ``a.x + b = 0``. Returns :class:`SplitVolumes` (``positive``,
        ``negative``, by region).
        """
        n = int(self.region_of_cell.max()) + 1
        pos = np.zeros(n)
        tot = np.zeros(n)
        merge = tol.VERTEX_MERGE_RTOL * float(np.linalg.norm(self.hi - self.lo))
        top = self.volumes(self.dim)
        for i, (P, val, X) in enumerate(self._split_points(a, b)):
            r = self.region_of_cell[i]
            tot[r] = top[i]
            Q = np.vstack([P[val >= 0], X])
            if len(Q) > self.dim and affine_dimension(Q, merge) == self.dim:
                pos[r] = min(hull_volume(Q, self.dim), tot[r])
        return SplitVolumes(positive=pos, negative=tot - pos)

    def zero_set_pieces(self, a, b) -> list:
        """The pieces ``{x in region r : a_r . x + b_r = 0}`` of dimension d-1, as vertex arrays.

        With ``a, b`` the output logit's affine maps these are the decision boundary's pieces.
        """
        merge = tol.VERTEX_MERGE_RTOL * float(np.linalg.norm(self.hi - self.lo))
        pieces = []
        for P, val, X in self._split_points(a, b):
            Q = np.vstack([P[np.abs(val) <= merge], X])
            if len(Q) >= self.dim and affine_dimension(Q, merge) == self.dim - 1:
                pieces.append(Q)
        return pieces

    def barycenters(self, k: int) -> np.ndarray:
        """Mean of the vertices of every k-cell (a point in its relative interior)."""
        self._check_k(k)
        return np.array([self.vertices[v].mean(axis=0) for v in self.cells[k]]).reshape(-1, self.dim)

    def check(self) -> dict:
        """Invariants of a polyhedral subdivision of a box, as a dict of booleans.

        * ``boundary_squared_zero``: ``B_{k-1} B_k = 0`` over GF(2);
        * ``euler_one``: Euler characteristic 1;
        * ``facets_two_sided``: every interior (d-1)-cell bounds exactly two d-cells, every
          boundary one exactly one;
        * ``volume_sums``: the d-cells' volumes add up to the box volume.
        """
        ok_sq = True
        for k in range(2, self.dim + 1):
            P = (self.boundary[k - 1].astype(np.int64) @ self.boundary[k].astype(np.int64))
            ok_sq &= bool(np.all(P.toarray() % 2 == 0))
        deg = np.asarray(self.boundary[self.dim].sum(axis=1)).ravel()
        want = np.where(self.on_box_boundary[self.dim - 1], 1, 2)
        vol = self.volumes(self.dim).sum()
        box = float(np.prod(self.hi - self.lo))
        return {"boundary_squared_zero": ok_sq, "euler_one": self.euler_characteristic == 1,
                "facets_two_sided": bool(np.all(deg == want)),
                "volume_sums": bool(abs(vol - box) <= tol.VOLUME_SUM_RTOL * box)}


def _box_rows(domain: Box) -> tuple:
    """``(A, c)`` of the box's faces, lower faces first then upper ones (the order in which the
    complex has always numbered them: vertex numbers, and so seeded filtrations, depend on it)."""
    A, c = domain.halfspaces()
    order = np.r_[0:len(c):2, 1:len(c):2]
    return A[order], c[order]


def cell_complex_from_halfspaces(halfspaces: Sequence, domain: Box, interior_points=None,
                                 *, progress: bool = False) -> CellComplex:
    """The cell complex of a family of convex regions tiling the box ``domain``.

    Parameters
    ----------
    halfspaces : sequence of ``(A, c)``
        Region ``i`` is ``{x : A x <= c} ∩ domain`` (box rows are added here; redundant rows are
        fine), e.g. ``ReluNet.halfspaces(pattern)`` for each activation pattern.
    domain : Box
        The box the regions tile.
    interior_points : array ``(n_regions, d)``, optional
        A point strictly inside each region (Chebyshev centres are computed when omitted).
    progress : bool
        Show a tqdm progress bar over regions.

    Returns
    -------
    CellComplex

    Examples
    --------
    Two triangles tiling the unit square (Tawfeek et al. 2025, Sec. 2: the regions are the
    2-cells, shared facets the 1-cells):

    >>> import numpy as np
    >>> from relutopo.domains import Box
    >>> K = cell_complex_from_halfspaces([(np.array([[1.0, -1.0]]), np.array([0.0])),
    ...                                   (np.array([[-1.0, 1.0]]), np.array([0.0]))],
    ...                                  Box(0, 1, dim=2))
    >>> K.f_vector.tolist(), K.euler_characteristic
    ([4, 5, 2], 1)
    """
    from tqdm.auto import tqdm

    domain = check_box(domain, name="domain", allow_none=False, error=ComplexError)
    lo, hi = domain.lo.copy(), domain.hi.copy()
    d = lo.size
    scale = float(np.linalg.norm(hi - lo))
    merge = tol.VERTEX_MERGE_RTOL * scale
    Ab, cb = _box_rows(domain)
    halfspaces = list(halfspaces)
    if len(halfspaces) == 0:
        raise ComplexError("no regions given; a complex needs at least one region")
    if interior_points is not None:
        interior_points = np.asarray(interior_points, dtype=np.float64)
        if interior_points.shape != (len(halfspaces), d):
            raise ComplexError(f"interior_points must have shape ({len(halfspaces)}, {d}); got "
                               f"{interior_points.shape}")
    polys = []
    for i, hc in enumerate(tqdm(halfspaces, disable=not progress, desc="faces")):
        try:
            A, c = hc
            A = np.asarray(A, dtype=np.float64).reshape(-1, d)
            c = np.asarray(c, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ComplexError(f"halfspaces[{i}] must be a pair (A (m, {d}), c (m,)): {exc}") from None
        A = np.vstack([A, Ab])
        c = np.concatenate([c, cb])
        ip = None if interior_points is None else interior_points[i]
        try:
            polys.append(polytope_faces(A, c, ip, scale=scale))
        except PolytopeError as exc:
            raise ComplexError(f"region {i}: {exc}") from None
    # --- global vertices
    allV = np.vstack([p.vertices for p in polys])
    labels = merge_points(allV, merge)
    nv = int(labels.max()) + 1
    V = np.zeros((nv, d))
    np.add.at(V, labels, allV)
    V /= np.bincount(labels, minlength=nv)[:, None]
    starts = np.concatenate([[0], np.cumsum([len(p.vertices) for p in polys])])
    # --- global cells, keyed by their vertex sets
    index = [dict() for _ in range(d + 1)]
    index[0] = {(i,): i for i in range(nv)}
    incid = [set() for _ in range(d + 1)]
    region_of_top = {}
    for r, p in enumerate(polys):
        g = labels[starts[r]:starts[r + 1]]
        local = [dict() for _ in range(d + 1)]
        for k in range(d + 1):
            for f in p.faces[k]:
                key = tuple(sorted(set(int(x) for x in g[list(f)])))
                if len(key) != len(f):
                    raise ComplexError(f"region {r} has vertices closer than the merge tolerance "
                                       f"({merge:.3g}); the decomposition is too fine to resolve")
                if key not in index[k]:
                    index[k][key] = len(index[k])
                local[k][f] = index[k][key]
        top = local[d][p.faces[d][0]]
        if top in region_of_top:
            raise ComplexError(f"regions {region_of_top[top]} and {r} have the same vertices; "
                               "each region must be given once")
        region_of_top[top] = r
        for k in range(1, d + 1):
            lower = [(set(f), gi) for f, gi in local[k - 1].items()]
            for f, gi in local[k].items():
                fs = set(f)
                for h, hi_ in lower:
                    if h <= fs:
                        incid[k].add((hi_, gi))
    cells = []
    for k in range(d + 1):
        keys = sorted(index[k], key=index[k].get)
        cells.append(tuple(np.array(key, dtype=np.int64) for key in keys))
    boundary = [sp.csc_matrix((0, nv), dtype=np.uint8)]
    for k in range(1, d + 1):
        pairs = np.array(sorted(incid[k]), dtype=np.int64).reshape(-1, 2)
        boundary.append(sp.csc_matrix(
            (np.ones(len(pairs), dtype=np.uint8), (pairs[:, 0], pairs[:, 1])),
            shape=(len(cells[k - 1]), len(cells[k]))))
    on_lo = np.abs(V - lo) <= tol.VERTEX_TIGHT_FACTOR * merge
    on_hi = np.abs(V - hi) <= tol.VERTEX_TIGHT_FACTOR * merge
    on_face = np.hstack([on_lo, on_hi])  # (nv, 2d)
    onb = tuple(np.array([bool(np.any(np.all(on_face[v], axis=0))) for v in cells[k]], dtype=bool)
                if k < d else np.zeros(len(cells[k]), dtype=bool) for k in range(d + 1))
    region_of_cell = np.array([region_of_top[i] for i in range(len(cells[d]))], dtype=np.int64)
    for arr in (V, region_of_cell, lo, hi):
        arr.setflags(write=False)
    return CellComplex(dim=d, lo=lo, hi=hi, vertices=V, cells=tuple(cells), boundary=tuple(boundary),
                       on_box_boundary=onb, region_of_cell=region_of_cell)


def cell_complex(decomposition, domain: Box | None = None, *, progress: bool = False) -> CellComplex:
    """The cell complex of a decomposition (``relutopo.decompose.decompose(net, Box(...))``).

    Parameters
    ----------
    decomposition
        A :class:`relutopo.decomposition.Decomposition` (``net``, ``patterns``,
        ``facet_neurons(i)``, ``interior_points``, ``domain``) computed in a box.
    domain : Box, optional
        The box: the decomposition's own (``decomposition.domain``), which is the default. The
        regions and facets of a decomposition belong to its box, so any other box raises
        :class:`ComplexError` (decompose in that box instead).
    progress : bool
        Show a tqdm progress bar over regions.

    Returns
    -------
    CellComplex
        d-cell ``i`` has ``region_of_cell[i]`` = its region index in ``decomposition``.

    Examples
    --------
    Two neurons cutting the square into four quadrants (Tawfeek et al. 2025, Sec. 2):

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> cell_complex(decompose(net, Box(-1, 1, dim=2))).f_vector.tolist()
    [9, 12, 4]
    """
    own = getattr(decomposition, "domain", None)
    if own is None or not isinstance(own, Box):
        raise ComplexError("the decomposition has no box domain (it covers all of R^d); the cell "
                           "complex needs the box it was decomposed in: decompose(net, Box(lo, hi))")
    own = check_box(own, name="decomposition.domain", allow_none=False, error=ComplexError)
    if domain is not None:
        domain = check_box(domain, dim=own.dim, name="domain", owner=repr(decomposition.net),
                           error=ComplexError)
        if not (np.array_equal(domain.lo, own.lo) and np.array_equal(domain.hi, own.hi)):
            raise ComplexError(
                f"the box domain={domain} differs from the decomposition's box {own}; the complex "
                "of another box needs a decomposition in that box: "
                "cell_complex(decompose(net, Box(lo, hi)))")
    n = int(decomposition.n_regions)
    net = decomposition.net
    pats = decomposition.patterns
    halfspaces = []
    for i in range(n):
        A, c = net.halfspaces(pats[i])
        rows = decomposition.facet_neurons(i)
        rows = rows[rows >= 0]  # box faces (negative ids) are added by the complex builder
        halfspaces.append((A[rows], c[rows]))
    return cell_complex_from_halfspaces(halfspaces, own, decomposition.interior_points,
                                        progress=progress)
