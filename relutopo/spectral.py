"""Weighted Laplacians of dual graphs, Fiedler vectors and sign partitions.

The dual graph of a decomposition has one node per region and one edge per shared facet.
With the node-edge incidence matrix ``D`` (``|E| x |V|``, rows ``e_u - e_v``), edge weights
``W_E`` and node (mass) weights ``W_V``, Tawfeek et al. (2025) use the weighted Laplacian
``L = W_V^{-1} D^T W_E D``; its eigenvectors solve the symmetric *generalised* problem

    ``L_E v = lambda W_V v``,   ``L_E = D^T W_E D``,

which is how it is solved here (``scipy.linalg.eigh(L_E, W_V)``, or shift-invert ``eigsh`` for
large graphs), never by forming the non-symmetric ``W_V^{-1} L_E``. The Fiedler vector is the
eigenvector of the second-smallest eigenvalue ``lambda_2`` (the first is ``0`` with constant
eigenvector on a connected graph), normalised to ``v^T W_V v = 1``; its sign splits the regions
in two (the Fiedler partition). It minimises the Rayleigh quotient ``v^T L_E v / v^T W_V v``
over vectors with ``1^T W_V v = 0``.

Weightings (``WEIGHTINGS``):

* ``"unweighted"``: ``W_E = I``, ``W_V = I`` (the combinatorial Laplacian);
* ``"data"`` (default, the paper's): ``W_E = I``, ``W_V = 1 + (number of training points in
  the region)``;
* ``"facet"``: ``W_E`` = (d-1)-volume of the shared facet divided by the mean facet volume,
  ``W_V = I``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

from . import tolerances as tol
from .errors import SpectralError  # re-exported: relutopo.spectral.SpectralError
from .results import Unpackable

__all__ = ["WEIGHTINGS", "laplacian", "fiedler_vector", "FiedlerVector", "fiedler_partition",
           "FiedlerPartition", "region_mass", "dual_graph_of_complex", "DualGraph", "cut_agreement",
           "cut_facets", "cut_kappa", "hausdorff_distance"]

WEIGHTINGS = ("unweighted", "data", "facet")

#: Graphs with more nodes than this use sparse shift-invert ``eigsh`` instead of dense ``eigh``.
DENSE_MAX_NODES = 300

#: Seed of the start vector of ``eigsh`` (ARPACK otherwise draws it from a generator whose state
#: depends on every earlier call in the process, so the same graph could give a vector differing in
#: its last digits, and a near-zero entry its sign, from one run to the next).
EIGSH_START_SEED = 0


def _check_edges(edges, n_nodes) -> tuple:
    if hasattr(edges, "edges") and hasattr(edges, "number_of_nodes"):  # a networkx graph
        G = edges
        n = G.number_of_nodes()
        if sorted(G.nodes()) != list(range(n)):
            raise SpectralError("the graph's nodes must be 0..n-1 (region indices)")
        if n_nodes is not None and int(n_nodes) != n:
            raise SpectralError(f"n_nodes={n_nodes} but the graph has {n} nodes")
        E = np.array(list(G.edges()), dtype=np.int64).reshape(-1, 2)
        return E, n
    E = np.asarray(edges)
    if E.ndim != 2 or E.shape[1] != 2 or (E.size and not np.issubdtype(E.dtype, np.integer)):
        raise SpectralError(f"edges must be an integer array of shape (m, 2) or a networkx graph; "
                            f"got shape {E.shape}, dtype {E.dtype}")
    if n_nodes is None:
        raise SpectralError("pass n_nodes= with an edge array (isolated nodes cannot be inferred)")
    n = int(n_nodes)
    if E.size and (E.min() < 0 or E.max() >= n):
        raise SpectralError(f"edges reference nodes outside 0..{n - 1}")
    if E.size and np.any(E[:, 0] == E[:, 1]):
        raise SpectralError("edges contain self-loops, which a dual graph never has")
    return E.astype(np.int64), n


def laplacian(edges, n_nodes: Optional[int] = None, edge_weights=None) -> sp.csr_matrix:
    """``L_E = D^T W_E D``: the (edge-)weighted combinatorial Laplacian, sparse ``(n, n)``.

    Examples
    --------
    The path ``0 - 1 - 2``:

    >>> import numpy as np
    >>> laplacian(np.array([[0, 1], [1, 2]]), 3).toarray()
    array([[ 1., -1.,  0.],
           [-1.,  2., -1.],
           [ 0., -1.,  1.]])
    >>> laplacian(np.array([[0, 1], [1, 2]]), 3, edge_weights=[2.0, 1.0]).toarray()
    array([[ 2., -2.,  0.],
           [-2.,  3., -1.],
           [ 0., -1.,  1.]])
    """
    E, n = _check_edges(edges, n_nodes)
    w = np.ones(len(E)) if edge_weights is None else np.asarray(edge_weights, dtype=np.float64)
    if w.shape != (len(E),):
        raise SpectralError(f"edge_weights must have one value per edge ({len(E)}); got {w.shape}")
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise SpectralError("edge_weights must be finite and > 0")
    W = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([E[:, 0], E[:, 1]]),
                                                 np.concatenate([E[:, 1], E[:, 0]]))), shape=(n, n)).tocsr()
    deg = np.asarray(W.sum(axis=1)).ravel()
    return (sp.diags(deg) - W).tocsr()


@dataclass(frozen=True)
class FiedlerVector(Unpackable):
    """The second eigenpair of ``L v = lambda M v`` (unpacks as ``(value, vector)``).

    Attributes
    ----------
    value : float            lambda_2
    vector : array (n,)      the Fiedler vector, ``v^T M v = 1``

    Examples
    --------
    >>> import numpy as np
    >>> fv = fiedler_vector(laplacian(np.array([[0, 1], [1, 2], [2, 3]]), 4))
    >>> round(fv.value, 6), np.round(fv.vector, 6).tolist()
    (0.585786, [0.653281, 0.270598, -0.270598, -0.653281])
    """

    value: float
    vector: np.ndarray


def fiedler_vector(L, mass=None, *, method: str = "auto") -> FiedlerVector:
    """The Fiedler pair ``(lambda_2, v)`` of ``L v = lambda M v`` with ``M = diag(mass)``
    (default identity), as a :class:`FiedlerVector`; deterministic (the sparse solver starts from
    a seeded vector, ``EIGSH_START_SEED``).

    ``v`` is normalised to ``v^T M v = 1`` and signed so that its largest-magnitude entry
    (lowest index at ties) is positive. ``method``: ``"dense"`` (``scipy.linalg.eigh``),
    ``"sparse"`` (shift-invert ``eigsh``) or ``"auto"`` (dense up to ``DENSE_MAX_NODES``).
    Raises :class:`SpectralError` on a disconnected graph (``lambda_2 = 0``).

    Examples
    --------
    The Fiedler vector of a path of four nodes changes sign in its middle:

    >>> import numpy as np
    >>> L = laplacian(np.array([[0, 1], [1, 2], [2, 3]]), 4)
    >>> value, vector = fiedler_vector(L)
    >>> round(value, 6), np.sign(vector).tolist()
    (0.585786, [1.0, 1.0, -1.0, -1.0])
    """
    import scipy.linalg as sla

    n = L.shape[0]
    if n < 2:
        raise SpectralError(f"a Fiedler vector needs at least 2 nodes; the graph has {n}")
    m = np.ones(n) if mass is None else np.asarray(mass, dtype=np.float64).reshape(-1)
    if m.shape != (n,) or np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise SpectralError(f"mass must be {n} finite positive node weights")
    if method not in ("auto", "dense", "sparse"):
        raise SpectralError(f"method must be 'auto', 'dense' or 'sparse'; got {method!r}")
    if method == "auto":
        method = "dense" if n <= DENSE_MAX_NODES else "sparse"
    if method == "dense" or n < 4:
        Ld = L.toarray() if sp.issparse(L) else np.asarray(L, dtype=np.float64)
        w, V = sla.eigh(Ld, np.diag(m), subset_by_index=[0, 1])
    else:
        from scipy.sparse.linalg import eigsh

        scale = float(np.abs(L.diagonal()).max() / m.max())
        v0 = np.random.default_rng(EIGSH_START_SEED).uniform(0.5, 1.5, n)
        w, V = eigsh(sp.csc_matrix(L), k=2, M=sp.diags(m).tocsc(), sigma=-tol.EIGSH_SHIFT_FRACTION * scale,
                     which="LM", v0=v0)
        o = np.argsort(w)
        w, V = w[o], V[:, o]
    lam, v = float(w[1]), V[:, 1].copy()
    gap_tol = tol.FIEDLER_GAP_RTOL * float(np.abs(L.diagonal()).max() / m.min())
    if lam <= gap_tol:
        from scipy.sparse.csgraph import connected_components

        ncomp = connected_components(sp.csr_matrix(L) != 0, directed=False)[0]
        raise SpectralError(f"the graph is disconnected ({ncomp} components, lambda_2 = {lam:.3g}); "
                            "the Fiedler partition is defined for connected graphs only")
    v /= np.sqrt(v @ (m * v))
    i = int(np.argmax(np.abs(v)))
    if v[i] < 0:
        v = -v
    return FiedlerVector(value=lam, vector=v)


def region_mass(n_regions: int, point_regions) -> np.ndarray:
    """``W_V = 1 + (number of points located in each region)`` (Tawfeek et al.'s vertex weights).

    ``point_regions`` is the region index of every training point (``dec.locate(X)``);
    points outside the box (index ``-1``) are ignored.

    Examples
    --------
    >>> region_mass(3, [0, 0, 2, -1]).tolist()
    [3.0, 1.0, 2.0]
    """
    r = np.asarray(point_regions).reshape(-1)
    if r.size and not np.issubdtype(r.dtype, np.integer):
        raise SpectralError(f"point_regions must hold integer region indices; got dtype {r.dtype}")
    if r.size and r.max() >= n_regions:
        raise SpectralError(f"point_regions holds region {r.max()} but there are {n_regions} regions")
    r = r[r >= 0]
    return 1.0 + np.bincount(r, minlength=n_regions).astype(np.float64)


@dataclass(frozen=True)
class FiedlerPartition:
    """The Fiedler vector of a weighted dual graph and its sign partition.

    Attributes
    ----------
    value : float            lambda_2 of ``L_E v = lambda W_V v``
    vector : array (n,)      the Fiedler vector (``v^T W_V v = 1``)
    side : bool array (n,)   ``vector > 0``
    mass, edge_weights       the ``W_V`` diagonal and ``W_E`` diagonal used
    weighting : str

    Examples
    --------
    >>> import numpy as np
    >>> part = fiedler_partition(np.array([[0, 1], [1, 2], [2, 3]]), 4, weighting="unweighted")
    >>> part.side.tolist(), part.weighting, part.edge_weights.tolist()
    ([True, True, False, False], 'unweighted', [1.0, 1.0, 1.0])
    """

    value: float
    vector: np.ndarray
    side: np.ndarray
    mass: np.ndarray
    edge_weights: np.ndarray
    weighting: str


def fiedler_partition(edges, n_nodes: Optional[int] = None, *, weighting: str = "data",
                      point_regions=None, facet_volumes=None, method: str = "auto") -> FiedlerPartition:
    """Fiedler partition of a dual graph under one of ``WEIGHTINGS``.

    Parameters
    ----------
    edges : networkx graph (nodes 0..n-1) or int array ``(m, 2)``
        The dual graph (e.g. ``dec.dual_graph`` or :func:`dual_graph_of_complex`).
    n_nodes : int
        Number of regions (needed with an edge array).
    weighting : {"unweighted", "data", "facet"}
        See the module docstring. ``"data"`` needs ``point_regions``; ``"facet"`` needs
        ``facet_volumes`` (one per edge, same order as ``edges``).

    Examples
    --------
    Tawfeek et al.'s weighted Fiedler partition of the dual graph of a 2 -> 2 -> 1 network on
    ``[-1, 1]^2`` (a 4-cycle), with the training points as vertex weights (``W_V = 1 +`` the number
    of points in the region): the sign of the Fiedler vector splits the cycle into two halves, each
    holding one of the two heavy regions.

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> dec = decompose(net, Box(-1, 1, dim=2))
    >>> X = np.array([[0.5, 0.5]] * 5 + [[-0.5, 0.5]] * 5)
    >>> part = fiedler_partition(dec.dual_graph, weighting="data", point_regions=dec.locate(X))
    >>> part.mass.tolist(), part.side[dec.locate([[0.5, 0.5], [-0.5, 0.5], [0.5, -0.5], [-0.5, -0.5]])].tolist()
    ([1.0, 6.0, 1.0, 6.0], [True, False, True, False])
    """
    if weighting not in WEIGHTINGS:
        raise SpectralError(f"weighting must be one of {WEIGHTINGS}; got {weighting!r}")
    E, n = _check_edges(edges, n_nodes)
    mass = np.ones(n)
    w = np.ones(len(E))
    if weighting == "data":
        if point_regions is None:
            raise SpectralError("weighting='data' needs point_regions= (the region of every "
                                "training point, e.g. dec.locate(X_train))")
        mass = region_mass(n, point_regions)
    elif weighting == "facet":
        if facet_volumes is None:
            raise SpectralError("weighting='facet' needs facet_volumes= (the (d-1)-volume of the "
                                "facet of each edge, e.g. from dual_graph_of_complex)")
        fv = np.asarray(facet_volumes, dtype=np.float64).reshape(-1)
        if fv.shape != (len(E),) or np.any(~np.isfinite(fv)) or np.any(fv <= 0):
            raise SpectralError(f"facet_volumes must be {len(E)} finite positive values (one per "
                                "edge)")
        w = fv / fv.mean()
    fv = fiedler_vector(laplacian(E, n, w), mass, method=method)
    return FiedlerPartition(value=fv.value, vector=fv.vector, side=fv.vector > 0, mass=mass, edge_weights=w,
                            weighting=weighting)


@dataclass(frozen=True)
class DualGraph(Unpackable):
    """The dual graph of a cell complex (unpacks as ``(edges, facet_volumes, facet_cells)``).

    Attributes
    ----------
    edges : int array (m, 2)          region pairs sharing an interior (d-1)-cell (smaller first)
    facet_volumes : float array (m,)  the (d-1)-volume of that cell
    facet_cells : int array (m,)      its index among the (d-1)-cells

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> edges, facet_volumes, facet_cells = dual_graph_of_complex(cell_complex(decompose(net, Box(-1, 1, dim=2))))
    >>> edges.tolist(), np.round(facet_volumes, 12).tolist()
    ([[0, 2], [0, 1], [1, 3], [2, 3]], [1.0, 1.0, 1.0, 1.0])
    """

    edges: np.ndarray
    facet_volumes: np.ndarray
    facet_cells: np.ndarray


def dual_graph_of_complex(K) -> DualGraph:
    """The dual graph of a :class:`~relutopo.complex.CellComplex`: one node per region, one edge
    per interior (d-1)-cell, weighted by its (d-1)-volume (Tawfeek et al. 2025's facet weighting).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> g = dual_graph_of_complex(cell_complex(decompose(net, Box(-1, 1, dim=2))))
    >>> len(g.edges), np.round(g.facet_volumes, 12).tolist()
    (4, [1.0, 1.0, 1.0, 1.0])
    """
    facets = K.interior_facets()
    vols = np.array([K.volumes_of(K.dim - 1, facets.cells)]).reshape(-1)
    return DualGraph(edges=facets.pairs, facet_volumes=vols, facet_cells=facets.cells)


def cut_facets(K, side) -> np.ndarray:
    """Indices of the interior (d-1)-cells between regions on different sides of a partition.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> side = K.barycenters(2)[:, 0] > 0           # the right half
    >>> len(cut_facets(K, side)), np.round(K.barycenters(1)[cut_facets(K, side)][:, 0], 12).tolist()
    (2, [0.0, 0.0])
    """
    side = np.asarray(side, dtype=bool)
    facets = K.interior_facets()
    return facets.cells[side[facets.pairs[:, 0]] != side[facets.pairs[:, 1]]]


def cut_agreement(side, volume_positive, volume_negative) -> float:
    """Fraction of the box on which the partition side matches the predicted class.

    ``side[r]`` is region r's side; ``volume_positive[r]`` / ``volume_negative[r]`` the volume of
    region r where the network predicts class 1 / class 0 (``K.split_volumes``). The score is
    ``max(a, 1 - a)`` with ``a = sum_r [side_r] vol+_r + [not side_r] vol-_r / total`` (best over
    swapping the two sides' labels): 1 = the cut is the decision boundary, 0.5 = unrelated
    halves of equal size.

    Examples
    --------
    Two regions of equal area; the cut puts region 0 on the ``True`` side, where the network
    predicts class 1 on all of region 0 and class 0 on all of region 1 (perfect agreement), then
    half of each (chance):

    >>> import numpy as np
    >>> cut_agreement(np.array([True, False]), np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    1.0
    >>> cut_agreement(np.array([True, False]), np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    0.5
    """
    side = np.asarray(side, dtype=bool)
    vp = np.asarray(volume_positive, dtype=np.float64)
    vn = np.asarray(volume_negative, dtype=np.float64)
    if not (side.shape == vp.shape == vn.shape):
        raise SpectralError(f"side, volume_positive and volume_negative need the same shape; got "
                            f"{side.shape}, {vp.shape}, {vn.shape}")
    total = vp.sum() + vn.sum()
    if total <= 0:
        raise SpectralError("the regions have zero total volume")
    a = (vp[side].sum() + vn[~side].sum()) / total
    return float(max(a, 1.0 - a))


def cut_kappa(side, volume_positive, volume_negative) -> float:
    """Chance-corrected agreement (Cohen's kappa on areas), best over the label swap.

    With ``a`` the unswapped agreement of :func:`cut_agreement`, ``p`` the area fraction of the
    ``True`` side and ``q`` that of the positive class, independent partitions agree on
    ``E = p q + (1 - p)(1 - q)`` of the box; ``kappa = (a - E) / (1 - E)`` and, swapped,
    ``(E - a) / E``. 1 = the cut is the decision boundary, 0 = no better than chance (and 0 when
    one side or one class covers the whole box, where the raw agreement can be close to 1).
    nan only when both the partition and the prediction are constant.

    Examples
    --------
    >>> import numpy as np
    >>> cut_kappa(np.array([True, False]), np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    1.0
    >>> cut_kappa(np.array([True, False]), np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    0.0
    """
    side = np.asarray(side, dtype=bool)
    vp = np.asarray(volume_positive, dtype=np.float64)
    vn = np.asarray(volume_negative, dtype=np.float64)
    cut_agreement(side, vp, vn)  # validates the inputs
    total = vp.sum() + vn.sum()
    a = (vp[side].sum() + vn[~side].sum()) / total
    p = (vp[side].sum() + vn[side].sum()) / total
    q = vp.sum() / total
    E = p * q + (1 - p) * (1 - q)
    if E <= 0 or E >= 1:
        return float("nan")
    return float(max((a - E) / (1 - E), (E - a) / E))


def hausdorff_distance(P, Q) -> float:
    """Hausdorff distance between two finite point sets (rows), by KD-trees; nan if one is empty.

    Examples
    --------
    >>> import numpy as np
    >>> hausdorff_distance(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 2.0]]))
    2.0
    """
    from scipy.spatial import cKDTree

    P = np.asarray(P, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    if len(P) == 0 or len(Q) == 0:
        return float("nan")
    return float(max(cKDTree(Q).query(P)[0].max(), cKDTree(P).query(Q)[0].max()))
