"""Linear regions (Montúfar et al. 2014, §2.1; Wang 2022, §3) from a polyhedral decomposition.

A *linear region* of the piecewise-linear function ``F`` computed by a ReLU network is a maximal
connected subset of the input space on which ``F`` is one affine function. Each linear region is
a union of activation regions (the cells of the decomposition). Following Wang §3 ("group
together those activation regions that are connected to each other and have the same value"),
we join two cells when they are neighbours in the dual graph (they share a facet) and their
output maps ``x -> A x + c`` are equal, and count the connected components.

Equality of maps is either

* numeric and scale-aware: ``max |A_i - A_j| <= rtol * s_A`` and ``max |c_i - c_j| <= rtol * s_c``,
  where ``s_A`` (``s_c``) is the largest entry of any cell's ``A`` (``c``) -- rescaling the input
  or the output of the network does not change the answer (``rtol`` defaults to
  ``tolerances.AFFINE_EQUAL_RTOL``); or
* exact (``exact=True``): the maps are recomputed in rational arithmetic from the network's
  float64 weights (each float is a dyadic rational) and compared exactly -- for small cases.

The "NC" column of Wang's Table 1 excludes networks whose output is constant everywhere (then
there is exactly one linear region); :attr:`LinearRegions.constant` flags them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import numpy as np

from .nets import ReluNet
from .tolerances import AFFINE_EQUAL_RTOL

__all__ = ["LinearRegions", "linear_regions", "output_maps", "pattern_output_maps",
           "exact_affine_map"]


@dataclass(frozen=True)
class LinearRegions:
    """Linear regions of a decomposition.

    Attributes
    ----------
    n_linear : int
        Number of linear regions.
    n_activation : int
        Number of activation regions (cells) they are made of.
    labels : int array ``(n_activation,)``
        Linear region of each cell, numbered ``0..n_linear-1`` in order of first appearance.
    sizes : int array ``(n_linear,)``
        Number of cells in each linear region.
    zero_slope : bool array ``(n_activation,)``
        Cells on which the output is constant (``A = 0``).
    constant : bool
        The output is constant on the whole domain (every cell has zero slope) -- the case the
        "NC" column of Wang's Table 1 excludes.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.zeros((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> lr = linear_regions(decompose(net, Box(-1, 1, dim=2)))
    >>> lr.n_activation, lr.n_linear, lr.constant
    (4, 1, True)
    """

    n_linear: int
    n_activation: int
    labels: np.ndarray
    sizes: np.ndarray
    zero_slope: np.ndarray
    constant: bool

    @property
    def ratio(self) -> float:
        """``#linear / #activation`` regions (Wang, Fig. 3 left)."""
        return self.n_linear / self.n_activation


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``0..n-1`` with ``edges`` ``(E, 2)``, numbered
    ``0..k-1`` in order of first appearance (the component of node 0 is 0, the first node not in
    it starts component 1, ...)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])),
                       shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # renumber by first appearance, whatever order scipy numbered the components in
    _, first = np.unique(comp, return_index=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[comp]


def _edge_array(dec):
    """The dual graph's edges as an ``(E, 2)`` int array when ``dec`` stores them so
    (:attr:`relutopo.decomposition.Decomposition.edges`), else ``None``."""
    edges = getattr(dec, "edges", None)
    if isinstance(edges, np.ndarray) and edges.ndim == 2 and edges.shape[1] == 2 \
            and (edges.size == 0 or np.issubdtype(edges.dtype, np.integer)):
        return edges.astype(np.int64, copy=False)
    return None


def output_maps(dec) -> tuple:
    """``(A, c)`` stacked over the cells of ``dec``: arrays ``(n, n_out, m)`` and ``(n, n_out)``.

    Wang's regions (:class:`relutopo.activation_regions.ActivationRegions`) carry their maps
    (``maps``, ``offsets``); a decomposition with ``net`` (a :class:`ReluNet`) and ``patterns``
    gets them from :func:`pattern_output_maps`, all cells at once; any other object is asked
    ``dec.affine_map(i)`` cell by cell.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> A, c = output_maps(decompose(net, Box(-1, 1, dim=2)))
    >>> A.shape, c.shape
    ((4, 1, 2), (4, 1))
    """
    n = int(dec.n_regions)
    maps, offsets = getattr(dec, "maps", None), getattr(dec, "offsets", None)
    if isinstance(maps, np.ndarray) and isinstance(offsets, np.ndarray) and len(maps) == n \
            and maps.ndim == 3 and offsets.ndim == 2:
        return np.asarray(maps, dtype=np.float64), np.asarray(offsets, dtype=np.float64)
    net = getattr(dec, "net", None)
    if isinstance(net, ReluNet) and hasattr(dec, "patterns"):
        return pattern_output_maps(net, dec.patterns)
    As, cs = [], []
    for i in range(n):
        A, c = dec.affine_map(i)
        As.append(np.atleast_2d(np.asarray(A, dtype=np.float64)))
        cs.append(np.atleast_1d(np.asarray(c, dtype=np.float64)))
    if n == 0:
        return np.zeros((0, 0, 0)), np.zeros((0, 0))
    return np.stack(As), np.stack(cs)


def pattern_output_maps(net: ReluNet, patterns) -> tuple:
    """The output maps ``F(x) = A x + c`` of ``net`` on the cells of many ``patterns`` at once.

    The composition ``W_{L+1} D_L W_L ... D_1 W_1`` of :meth:`relutopo.nets.ReluNet.affine_map` (``D_l`` = the
    diagonal of layer ``l``'s bits), batched over the patterns: per layer ``A <- D_l W_l A`` and
    ``c <- D_l (W_l c + b_l)`` -- the same products and maskings, in the same order, as
    ``affine_map`` (whose results it reproduces to the last bit with numpy's BLAS matmul).

    Parameters
    ----------
    net : ReluNet
    patterns : bool array ``(n, n_hidden)``

    Returns
    -------
    A, c : arrays ``(n, n_out, m)`` and ``(n, n_out)``

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> A, c = pattern_output_maps(net, np.array([[1, 0], [1, 1]], dtype=bool))
    >>> A.tolist(), c.tolist()
    ([[[1.0, 0.0]], [[1.0, 1.0]]], [[0.0], [0.0]])
    """
    bits = np.asarray(patterns).astype(bool)
    if bits.ndim != 2 or bits.shape[1] != net.n_hidden:
        raise ValueError(f"patterns must have shape (n, {net.n_hidden}) for {net!r}; "
                         f"got {np.shape(patterns)}")
    n, m = bits.shape[0], net.input_dim
    offs = net.layer_offsets
    A = np.broadcast_to(np.eye(m), (n, m, m))
    c = np.zeros((n, m, 1))                                   # column vectors: matmul as in gemv
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        A = np.matmul(W, A)
        c = np.matmul(W, c) + b[:, None]
        if l < len(net.weights) - 1:
            on = bits[:, offs[l]:offs[l + 1], None]
            A = A * on
            c = c * on
    return A, c[:, :, 0]


def exact_affine_map(net: ReluNet, pattern) -> tuple:
    """The output map ``(A, c)`` of ``net`` on the cell of ``pattern`` in exact rationals.

    Every float64 weight is converted exactly (:class:`fractions.Fraction`), and the composition
    ``W_{L+1} D_L W_L ... D_1 W_1`` (``D_l`` = diagonal of the layer's bits) is formed without
    rounding. Returns object arrays of Fractions, shapes ``(n_out, m)`` and ``(n_out,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2) * 0.1, np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> A, c = exact_affine_map(net, [True, False])
    >>> A[0, 0], c[0]
    (Fraction(3602879701896397, 36028797018963968), Fraction(0, 1))
    """
    bits = np.asarray(pattern).astype(bool).reshape(-1)
    if bits.shape[0] != net.n_hidden:
        raise ValueError(f"pattern has {bits.shape[0]} bits but {net!r} has {net.n_hidden} neurons")
    frac = np.vectorize(Fraction, otypes=[object])
    m = net.input_dim
    A = np.array([[Fraction(int(i == j)) for j in range(m)] for i in range(m)], dtype=object)
    c = np.array([Fraction(0)] * m, dtype=object)
    offs = net.layer_offsets
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        Wf, bf = frac(W), frac(b)
        A = Wf.dot(A)
        c = Wf.dot(c) + bf
        if l < len(net.weights) - 1:
            on = bits[offs[l]:offs[l + 1]]
            A = np.where(on[:, None], A, Fraction(0))
            c = np.where(on, c, Fraction(0))
    return A, c


def linear_regions(dec, *, rtol: float = AFFINE_EQUAL_RTOL, exact: bool = False,
                   net: Optional[ReluNet] = None) -> LinearRegions:
    """Linear regions (Montúfar's definition) of a decomposition, counted on its dual graph.

    Parameters
    ----------
    dec : Decomposition or ActivationRegions
        The engine's result (:func:`relutopo.decompose.decompose`): ``n_regions``,
        ``affine_map(i)``, ``dual_graph`` (networkx, nodes ``0..n-1``, an edge per shared
        facet) and ``patterns``; its ``edges`` array ``(E, 2)`` and ``net`` are used when
        present (the same edges and maps, without networkx or a Python loop). Wang's regions
        (:func:`relutopo.activation_regions.propagate`) work too: they offer
        ``candidate_facets()`` / ``verify_facets(pairs)``, and only candidates joining equal
        maps are verified (the result is the same as on their full ``dual_graph``).
    rtol : float
        Relative tolerance of the numeric equality of neighbouring maps (see the module doc).
    exact : bool
        Compare the maps in exact rational arithmetic (needs ``net``; slow, for small cases).
    net : ReluNet, optional
        The network of ``dec`` (only needed when ``exact=True``; taken from ``dec.net`` when
        that exists).

    Returns
    -------
    LinearRegions

    Examples
    --------
    Wang's linear regions: connected unions of activation regions with one affine map. Two neurons
    ``relu(x) + relu(-x)`` give ``|x|``, whose activation regions split along ``y = 0`` (a neuron of
    ``y`` with zero output weight) but whose linear regions do not:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]),
    ...                             np.array([[1.0, 1.0, 0.0]])], [np.zeros(3), np.zeros(1)])
    >>> lr = linear_regions(decompose(net, Box(-1, 1, dim=2)))
    >>> lr.n_activation, lr.n_linear, lr.sizes.tolist()
    (4, 2, [2, 2])
    """
    lazy = hasattr(dec, "candidate_facets") and hasattr(dec, "verify_facets")
    stored = None if lazy else _edge_array(dec)
    # (``dual_graph`` is only looked up when needed: on a Decomposition it builds a networkx graph)
    for attr in ("n_regions", "affine_map") + (() if lazy or stored is not None else ("dual_graph",)):
        if not hasattr(dec, attr):
            raise TypeError(f"dec must be a decomposition (relutopo.decompose.decompose(...)) with "
                            f"n_regions, affine_map and dual_graph; got {type(dec).__name__} "
                            f"without '{attr}'")
    if not (isinstance(rtol, (int, float)) and not isinstance(rtol, bool) and 0 <= rtol < 1):
        raise ValueError(f"rtol must be a number in [0, 1); got {rtol!r}")
    n = int(dec.n_regions)
    if n == 0:
        raise ValueError("the decomposition has no regions; nothing to merge")
    if lazy:
        # Wang's regions: facets are verified only between cells whose maps are equal
        cands = np.asarray(dec.candidate_facets(), dtype=np.int64)
        edges = cands[:, :2].reshape(-1, 2)
    elif stored is not None:
        # the decomposition's own edge array (the dual graph's edges, without building networkx)
        edges = stored.reshape(-1, 2)
    else:
        edges = np.array([(int(u), int(v)) for u, v in dec.dual_graph.edges()], dtype=np.int64)
        edges = edges.reshape(-1, 2)
    if len(edges) and (edges.min() < 0 or edges.max() >= n):
        raise ValueError(f"dec.dual_graph has nodes outside 0..{n - 1}")
    if exact:
        net = net if net is not None else getattr(dec, "net", None)
        if not isinstance(net, ReluNet):
            raise ValueError("linear_regions(exact=True) needs the network: pass net=<ReluNet>")
        patterns = np.asarray(dec.patterns, dtype=bool)
        maps = [exact_affine_map(net, p) for p in patterns]
        zero = np.array([all(x == 0 for x in A.ravel()) for A, _ in maps])
        same = np.array([np.array_equal(maps[u][0], maps[v][0]) and
                         np.array_equal(maps[u][1], maps[v][1]) for u, v in edges], dtype=bool)
    else:
        A, c = output_maps(dec)
        sA = float(np.max(np.abs(A))) if A.size else 0.0
        sc = float(np.max(np.abs(c))) if c.size else 0.0
        zero = np.all(np.abs(A.reshape(n, -1)) <= rtol * sA, axis=1)
        if len(edges):
            dA = np.max(np.abs(A[edges[:, 0]] - A[edges[:, 1]]).reshape(len(edges), -1), axis=1)
            dc = np.max(np.abs(c[edges[:, 0]] - c[edges[:, 1]]).reshape(len(edges), -1), axis=1)
            same = (dA <= rtol * sA) & (dc <= rtol * sc)
        else:
            same = np.zeros(0, dtype=bool)
    if lazy and np.any(same):
        verified = np.asarray(dec.verify_facets(cands[same]), dtype=bool)
        same = same.copy()
        same[np.flatnonzero(same)[~verified]] = False
    labels = _components(n, edges[same])
    sizes = np.bincount(labels)
    return LinearRegions(n_linear=int(len(sizes)), n_activation=n, labels=labels, sizes=sizes,
                         zero_slope=zero, constant=bool(np.all(zero)))
