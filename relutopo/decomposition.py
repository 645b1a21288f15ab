"""The result of :func:`relutopo.decompose.decompose`: regions, their facets and the dual graph.

Storage is compact so that ``10^6`` regions fit in a few GB: bit vectors are packed
(``pack_bits``), and a region's halfspaces are not copied -- only the *indices* of its facet
neurons are kept (CSR: ``facet_ptr``, ``facet_ids``); :meth:`Decomposition.region` rebuilds the
rows from the network's per-layer maps (Liu et al. eq. 9) on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import tolerances as tol
from .domains import Box
from .patterns import PatternTable, pack_bits, unpack_bits

__all__ = ["Decomposition"]


@dataclass(frozen=True, eq=False)
class Decomposition:
    """Every full-dimensional activation region of ``net`` in ``domain`` (``None`` = ``R^d``).

    Attributes
    ----------
    net : ReluNet
    domain : Box or None
    packed_patterns : (n_regions, ceil(n_hidden / 8)) uint8
        Bit vectors packed little-endian (:func:`relutopo.patterns.pack_bits`).
    interior_points : (n_regions, d)
        The Chebyshev centre of each region (radius capped at ``scale`` for unbounded regions).
    chebyshev_radii : (n_regions,)
    bounded : (n_regions,) bool
    facet_ptr, facet_ids : CSR arrays
        ``facet_ids[facet_ptr[i]:facet_ptr[i+1]]`` are the facets of region ``i``: a hidden
        neuron index, or ``-1 - k`` for face ``k`` of the box.
    edges : (n_edges, 2) int
        Pairs of regions sharing a facet (``i < j``).
    edge_neuron : (n_edges,) int
        The neuron whose hyperplane carries the shared facet.
    edge_flip_ptr, edge_flip_ids : CSR arrays
        ``edge_flip_ids[edge_flip_ptr[e]:edge_flip_ptr[e+1]]`` are all bits that differ between
        the two patterns of edge ``e`` (the carrying neuron, plus duplicates of its hyperplane
        and deeper neurons whose zero set contains the facet); :attr:`edge_flips` as tuples.
    scale : float
        Length scale of the domain (tolerances are relative to it).
    stats : dict
        Method, wall time, LP time and calls, dropped thin cells, unmatched facets.

    Examples
    --------
    The result of :func:`relutopo.decompose.decompose` for a 2 -> 3 -> 1 network on
    ``[-1, 1]^2`` (the regions of Liu et al. Alg. 2, with their dual graph):

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones((1, 3))],
    ...                            [np.array([0.0, 0.0, -0.5]), np.zeros(1)])
    >>> dec = decompose(net, Box(-1, 1, dim=2))
    >>> dec.n_regions, dec.n_bounded, dec.dual_graph.number_of_edges()
    (7, 7, 9)
    >>> i = dec.locate([[0.9, 0.9]])[0]
    >>> dec.patterns[i].astype(int)
    array([1, 1, 1])
    >>> round(float(dec.volumes().sum()), 6)
    4.0
    """

    net: object
    domain: Box | None
    packed_patterns: np.ndarray
    interior_points: np.ndarray
    chebyshev_radii: np.ndarray
    bounded: np.ndarray
    facet_ptr: np.ndarray
    facet_ids: np.ndarray
    edges: np.ndarray
    edge_neuron: np.ndarray
    edge_flip_ptr: np.ndarray
    edge_flip_ids: np.ndarray
    scale: float
    stats: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ counts
    @property
    def n_regions(self) -> int:
        return int(self.packed_patterns.shape[0])

    @property
    def n_bounded(self) -> int:
        return int(np.count_nonzero(self.bounded))

    @property
    def n_unbounded(self) -> int:
        return self.n_regions - self.n_bounded

    @property
    def dim(self) -> int:
        return int(self.net.input_dim)

    def __len__(self) -> int:
        return self.n_regions

    def __repr__(self) -> str:
        where = self.domain if self.domain is not None else f"R^{self.dim}"
        return (f"Decomposition({self.net!r} in {where}: {self.n_regions} regions, "
                f"{self.n_bounded} bounded, {len(self.edges)} adjacencies)")

    # ------------------------------------------------------------------ patterns
    @property
    def patterns(self) -> np.ndarray:
        """Bit vectors as a bool array ``(n_regions, n_hidden)`` (unpacked on each access)."""
        return unpack_bits(self.packed_patterns, self.net.n_hidden)

    @cached_property
    def _table(self) -> PatternTable:
        return PatternTable(self.packed_patterns)

    def _pack_one(self, pattern) -> bytes:
        p = np.asarray(pattern)
        nbytes = self.packed_patterns.shape[1]
        if p.dtype == np.uint8 and p.shape == (nbytes,) and self.net.n_hidden != nbytes:
            return np.ascontiguousarray(p).tobytes()
        p = p.reshape(-1)
        if p.shape[0] != self.net.n_hidden:
            raise ValueError(f"a pattern of {self.net!r} has {self.net.n_hidden} bits (or {nbytes} packed "
                             f"bytes); got shape {np.shape(pattern)}")
        return pack_bits(p.astype(bool)).tobytes()

    def index_of(self, pattern) -> int:
        """Region index of a bit vector (bool ``(n_hidden,)`` or packed uint8); ``KeyError`` if the
        pattern is not a full-dimensional region of this decomposition."""
        key = np.frombuffer(self._pack_one(pattern), dtype=np.uint8)
        i = int(self._table.find(key[None, :])[0])
        if i < 0:
            raise KeyError(f"pattern is not a region of this decomposition (active neurons: "
                           f"{np.flatnonzero(unpack_bits(key, self.net.n_hidden)).tolist()})")
        return i

    def locate(self, X) -> np.ndarray:
        """Region index of each point of ``X`` ``(n, d)``; ``-1`` for points outside the domain, on
        a region boundary (a pre-activation is zero up to ``BOUNDARY_RTOL`` of its terms'
        magnitude), or whose pattern is not a region."""
        X = self.net._check_points(X)
        out = np.full(len(X), -1, dtype=np.int64)
        inside = np.ones(len(X), dtype=bool) if self.domain is None else self.domain.contains(X)
        h = X
        on_boundary = np.zeros(len(X), dtype=bool)
        for W, b in zip(self.net.weights[:-1], self.net.biases[:-1]):
            z = h @ W.T + b
            mag = np.abs(h) @ np.abs(W).T + np.abs(b)
            on_boundary |= np.any(np.abs(z) <= tol.BOUNDARY_RTOL * mag, axis=1) & np.any(mag > 0, axis=1)
            h = np.maximum(z, 0.0)
        ok = np.flatnonzero(inside & ~on_boundary)
        if ok.size:
            out[ok] = self._table.find(self.net.patterns(X[ok]))
        return out

    # ------------------------------------------------------------------ geometry
    def facet_neurons(self, i: int) -> np.ndarray:
        """Facets of region ``i``: neuron indices, ``-1 - k`` for box face ``k``."""
        i = self._check_index(i)
        return self.facet_ids[self.facet_ptr[i]:self.facet_ptr[i + 1]]

    def _check_index(self, i) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -self.n_regions <= i < self.n_regions:
            raise IndexError(f"region index must be an int in [0, {self.n_regions}); got {i!r}")
        return int(i) % self.n_regions

    def affine_map(self, i: int) -> tuple:
        """``(A, c)``: the network output is ``F(x) = A x + c`` on region ``i`` (Liu et al., map G)."""
        i = self._check_index(i)
        return self.net.affine_map(unpack_bits(self.packed_patterns[i], self.net.n_hidden))

    def region(self, i: int):
        """The :class:`relutopo.polyhedra.Region` of region ``i`` (halfspaces rebuilt from the
        network; vertices and volume for bounded regions when ``d <= 3``)."""
        from .polyhedra import region_of

        i = self._check_index(i)
        return region_of(self.net, unpack_bits(self.packed_patterns[i], self.net.n_hidden), self.domain,
                         facet_neurons=self.facet_neurons(i), interior_point=self.interior_points[i],
                         chebyshev_radius=float(self.chebyshev_radii[i]), bounded=bool(self.bounded[i]))

    def volumes(self) -> np.ndarray:
        """Volume of every region (``nan`` for unbounded ones); needs ``d <= 3``."""
        if self.dim > 3:
            raise ValueError(f"volumes() computes vertices with qhull and supports d <= 3; this "
                             f"decomposition has d = {self.dim}")
        out = np.full(self.n_regions, np.nan)
        for i in np.flatnonzero(self.bounded):
            out[i] = self.region(int(i)).volume
        return out

    # ------------------------------------------------------------------ graph
    @cached_property
    def edge_flips(self) -> list:
        """For each edge, the sorted tuple of bits that differ across it."""
        ids = self.edge_flip_ids.tolist()
        p = self.edge_flip_ptr.tolist()
        return [tuple(ids[a:b]) for a, b in zip(p[:-1], p[1:])]

    @cached_property
    def dual_graph(self):
        """``networkx.Graph`` on regions ``0..n-1``; an edge joins regions sharing a facet, with
        attributes ``neuron`` (the neuron carrying the facet) and ``neurons`` (sorted list of all
        bits that differ between the two patterns)."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(self.n_regions))
        g.add_edges_from(
            (int(a), int(b), {"neuron": int(k), "neurons": list(f)})
            for (a, b), k, f in zip(self.edges, self.edge_neuron, self.edge_flips))
        return g

    def linear_regions(self):
        """Linear regions (neighbouring regions with equal affine maps merged); delegates to
        :func:`relutopo.linear_regions.linear_regions`."""
        from .linear_regions import linear_regions

        return linear_regions(self)

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the arrays (bytes)."""
        arrs = (self.packed_patterns, self.interior_points, self.chebyshev_radii, self.bounded,
                self.facet_ptr, self.facet_ids, self.edges, self.edge_neuron, self.edge_flip_ptr,
                self.edge_flip_ids)
        return int(sum(a.nbytes for a in arrs))
