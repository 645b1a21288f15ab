"""Homology of data relative to / quotient by the overlap classes (Beshkov, arXiv 2502.01360).

Beshkov's theorem: when every region meets the data manifold ``M`` in a convex set,
``H_k(Phi(M)) ~= H_k(M / O_Phi)``, the homology of the quotient of ``M`` by the overlap classes
(and in the relative form ``H_k(M, O_Phi)``). Two computations on a finite sample:

(a) **quotient metric** (:func:`quotient_distance_matrix`, :func:`quotient_barcodes`): each class
    is collapsed to one point -- distance 0 inside a class, a point's distance to a class is its
    minimum distance to the class's points, and the result is closed under shortest paths (the
    quotient pseudo-metric of a metric space by an equivalence relation); then Vietoris--Rips
    persistence with ripser.
(b) **filtered complexes with gudhi** (:func:`relative_betti`, :func:`relative_barcodes`): the
    Vietoris--Rips complex ``K`` of the data and

    - its simplicial quotient ``K / ~`` (:func:`quotient_complex`; each class one vertex,
      simplices with identified vertices identified), the complex version of (a);
    - ``K`` with a cone on each class (:func:`cone_complex`), which glues the vertices of a
      class but not the simplices between them;
    - ``K`` with one cone on ``A = cup A_i``: the relative homology ``H_k(K, A) ~= H~_k(K cup CA)``
      (Beshkov's ``H_k(M, O_Phi)``), equal to the quotient when there is one class.

(a) and the simplicial quotient agree on Betti numbers at scales where the sample's features
are stable (both shrink each class to a point; (a) through the metric, (b) combinatorially);
the cones agree with them when every class is a connected piece at that scale, and the relative
version when there is a single class (tests check these).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .results import Unpackable
from .validation import check_distance_matrix  # inf allowed: k-NN geodesics between components

__all__ = [
    "quotient_distance_matrix", "QuotientMetric", "quotient_barcodes", "rips_barcodes", "betti_at",
    "cone_complex", "quotient_complex", "relative_betti", "relative_barcodes",
    "knn_geodesic_distances",
    "classes_from_labels",
]


# ------------------------------------------------------------------------------------ checks
def _check_classes(classes, n: int) -> list:
    out = []
    seen = np.zeros(n, dtype=bool)
    for k, cls in enumerate(classes):
        c = np.unique(np.asarray(cls, dtype=np.int64).reshape(-1))
        if c.size == 0:
            raise ValueError(f"classes[{k}] is empty; every class needs at least one point")
        if c.min() < 0 or c.max() >= n:
            raise ValueError(f"classes[{k}] has point index out of range 0..{n - 1}: {c.min()}..{c.max()}")
        if np.any(seen[c]):
            raise ValueError(f"classes[{k}] shares points with an earlier class; classes must be "
                             "disjoint (merge them with relutopo.overlap.union_find_classes)")
        seen[c] = True
        out.append(c)
    return out


def _check_maxdim(maxdim) -> int:
    if isinstance(maxdim, bool) or not isinstance(maxdim, (int, np.integer)) or maxdim < 0:
        raise ValueError(f"maxdim must be an int >= 0; got maxdim={maxdim!r}")
    return int(maxdim)


def classes_from_labels(labels) -> list:
    """Classes (arrays of indices) from class labels (``-1`` = in no class).

    Examples
    --------
    >>> [c.tolist() for c in classes_from_labels([0, -1, 0, 1, 1])]
    [[0, 2], [3, 4]]
    """
    labels = np.asarray(labels)
    return [np.nonzero(labels == k)[0] for k in np.unique(labels[labels >= 0])]


# ------------------------------------------------------------------------------ (a) quotient
@dataclass(frozen=True)
class QuotientMetric(Unpackable):
    """A quotient metric (unpacks as ``(distances, labels)``).

    Attributes
    ----------
    distances : array (m, m)   distances between the quotient points
    labels : int array (n,)    quotient point of every data point

    Examples
    --------
    Three points on a line with the outer two glued (one overlap class):

    >>> import numpy as np
    >>> distances, labels = quotient_distance_matrix(np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0.0]]),
    ...                                              [[0, 2]])
    >>> distances.tolist(), labels.tolist()
    ([[0.0, 1.0], [1.0, 0.0]], [0, 1, 0])
    """

    distances: np.ndarray
    labels: np.ndarray


def quotient_distance_matrix(D, classes) -> QuotientMetric:
    """The quotient metric of a finite metric space by disjoint classes (Beshkov's ``M / O_Phi``,
    computation (a) of the module docstring).

    Parameters
    ----------
    D : array (n, n)
        A metric on the data (Euclidean, geodesic, ...); ``inf`` allowed for "unreachable".
    classes : sequence of int arrays
        Disjoint sets of point indices, each collapsed to one point.

    Returns
    -------
    QuotientMetric
        ``distances`` (m, m) between quotient points: the shortest chain that may jump for free
        inside a class, ``min(D[x, y], min_{i, j} d(x, A_i) + G*[i, j] + d(A_j, y))`` where
        ``G*`` is the shortest-path closure of the class-to-class distances; ``labels`` (n,)
        the quotient point of every data point (the points of class ``i`` all map to one row).

    Examples
    --------
    Three points on a line, the outer two glued: the middle one is 1 from the glued pair.

    >>> import numpy as np
    >>> q = quotient_distance_matrix(np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0.0]]), [[0, 2]])
    >>> q.distances.tolist(), q.labels.tolist()
    ([[0.0, 1.0], [1.0, 0.0]], [0, 1, 0])
    """
    D = check_distance_matrix(D, allow_inf=True)
    n = len(D)
    classes = _check_classes(classes, n)
    c = len(classes)
    if c == 0:
        return QuotientMetric(distances=D.copy(), labels=np.arange(n))
    dA = np.stack([D[:, cls].min(axis=1) for cls in classes], axis=1)  # (n, c)
    G = np.stack([dA[cls].min(axis=0) for cls in classes], axis=0)    # (c, c)
    np.fill_diagonal(G, 0.0)
    for k in range(c):  # Floyd-Warshall on the class graph
        G = np.minimum(G, G[:, k:k + 1] + G[k:k + 1, :])
    # F[x, j] = min_i d(x, A_i) + G*[i, j]
    F = np.min(dA[:, :, None] + G[None, :, :], axis=1)
    Dfull = D.copy()
    for j in range(c):
        Dfull = np.minimum(Dfull, F[:, j:j + 1] + dA[None, :, j])
    labels = np.full(n, -1, dtype=np.int64)
    for k, cls in enumerate(classes):
        labels[cls] = k
    reps = [cls[0] for cls in classes]
    single = np.nonzero(labels < 0)[0]
    keep = np.concatenate([np.array(reps, dtype=np.int64), single])
    out_labels = np.empty(n, dtype=np.int64)
    for k, cls in enumerate(classes):
        out_labels[cls] = k
    out_labels[single] = c + np.arange(len(single))
    Dq = Dfull[np.ix_(keep, keep)]
    np.fill_diagonal(Dq, 0.0)
    Dq = np.minimum(Dq, Dq.T)
    return QuotientMetric(distances=Dq, labels=out_labels)


def rips_barcodes(D, maxdim: int = 1, thresh: float = np.inf) -> list:
    """Vietoris--Rips persistence diagrams of a distance matrix that may hold ``inf`` entries.

    Unreachable pairs (``inf``, e.g. disconnected k-NN geodesics) are replaced by a value above
    ``thresh`` so they never connect; then :func:`relutopo.homology.barcodes` (ripser, Z/2) runs.

    Returns a list of ``(k, 2)`` arrays ``[birth, death]``, one per dimension ``0..maxdim``.

    Examples
    --------
    Two points that cannot reach each other (``inf``) stay two components:

    >>> import numpy as np
    >>> dgms = rips_barcodes(np.array([[0.0, np.inf], [np.inf, 0.0]]), maxdim=0)
    >>> dgms[0].tolist()
    [[0.0, inf], [0.0, inf]]
    """
    from .homology import barcodes

    D = check_distance_matrix(D, allow_inf=True)
    maxdim = _check_maxdim(maxdim)
    if len(D) == 0:
        return [np.zeros((0, 2)) for _ in range(maxdim + 1)]
    Df = D.copy()
    finite_max = Df[np.isfinite(Df)].max() if np.any(np.isfinite(Df)) else 1.0
    if np.any(~np.isfinite(Df)):
        # ripser needs finite entries: unreachable pairs never connect below thresh
        big = 2.0 * max(finite_max, 1.0) if not np.isfinite(thresh) else 2.0 * max(thresh, finite_max)
        Df[~np.isfinite(Df)] = big
        thresh = min(thresh, big * 0.99)
    return list(barcodes(Df, maxdim=maxdim, thresh=thresh).diagrams)


def quotient_barcodes(D, classes, maxdim: int = 1, thresh: float = np.inf) -> list:
    """Persistence diagrams of the data with every overlap class collapsed (method (a)).

    Examples
    --------
    Eight points on a circle have one loop; collapsing two opposite points into one class pinches
    the circle into two loops (Beshkov's quotient, method (a)):

    >>> import numpy as np
    >>> t = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    >>> X = np.c_[np.cos(t), np.sin(t)]
    >>> D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    >>> betti_at(rips_barcodes(D), 0.8).tolist(), betti_at(quotient_barcodes(D, [[0, 4]]), 0.8).tolist()
    ([1, 1], [1, 2])
    """
    Dq = quotient_distance_matrix(D, classes).distances
    return rips_barcodes(Dq, maxdim=maxdim, thresh=thresh)


def betti_at(diagrams, eps: float) -> np.ndarray:
    """Betti numbers at scale ``eps``: bars with ``birth <= eps < death`` per dimension.

    Examples
    --------
    >>> import numpy as np
    >>> dgms = [np.array([[0.0, np.inf], [0.0, 1.0]]), np.array([[0.5, 2.0]])]
    >>> betti_at(dgms, 0.75).tolist(), betti_at(dgms, 1.5).tolist()
    ([2, 1], [1, 1])
    """
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite scale >= 0; got eps={eps!r}")
    return np.array([int(np.sum((dg[:, 0] <= eps) & (dg[:, 1] > eps))) if len(dg) else 0
                     for dg in diagrams], dtype=np.int64)


# ------------------------------------------------------------------------ (b) cone complexes
def cone_complex(D, classes, max_edge: float, maxdim: int = 1, mode: str = "separate"):
    """Vietoris--Rips complex of ``D`` up to ``max_edge``, with a cone on each class.

    Parameters
    ----------
    D : array (n, n)
        Distances; the complex has the simplices of diameter ``<= max_edge`` and dimension
        ``<= maxdim + 1`` (enough for ``H_0..H_maxdim``), filtered by diameter.
    classes : sequence of int arrays
        Disjoint sets of vertices.
    mode : {"separate", "single"}
        ``separate``: apex ``n + i`` over class ``i`` (``~ K / A_1 / ... / A_c``);
        ``single``: one apex ``n`` over the union ``A`` (``H~_k(K cup CA) = H_k(K, A)``).
        Each cone simplex ``sigma + apex`` enters with the filtration value of ``sigma``.

    Returns
    -------
    gudhi.SimplexTree

    Examples
    --------
    >>> import numpy as np
    >>> D = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0.0]])
    >>> st = cone_complex(D, [[0, 2]], max_edge=1.0)
    >>> st.num_vertices(), st.num_simplices()
    (4, 8)
    """
    import gudhi

    D = check_distance_matrix(D, allow_inf=True)
    n = len(D)
    classes = _check_classes(classes, n)
    maxdim = _check_maxdim(maxdim)
    if mode not in ("separate", "single"):
        raise ValueError(f"mode must be 'separate' or 'single'; got mode={mode!r}")
    if not np.isfinite(max_edge) or max_edge < 0:
        raise ValueError(f"max_edge must be a finite scale >= 0; got {max_edge!r}")
    Df = np.where(np.isfinite(D), D, 2.0 * max_edge + 1.0)
    st = gudhi.RipsComplex(distance_matrix=Df, max_edge_length=max_edge).create_simplex_tree(
        max_dimension=maxdim + 1)
    groups = [np.concatenate(classes)] if (mode == "single" and classes) else classes
    for a, cls in enumerate(groups):
        apex = n + a
        st.insert([apex], 0.0)
        sub = gudhi.RipsComplex(distance_matrix=Df[np.ix_(cls, cls)], max_edge_length=max_edge)
        sub_st = sub.create_simplex_tree(max_dimension=maxdim)
        for simplex, filt in sub_st.get_simplices():
            st.insert([int(cls[v]) for v in simplex] + [apex], filt)
    return st


def quotient_complex(D, classes, max_edge: float, maxdim: int = 1):
    """Simplicial quotient ``K / ~`` of the Vietoris--Rips complex ``K`` of ``D``.

    Every vertex is replaced by its class (each class becomes one vertex), every simplex of
    ``K`` (diameter ``<= max_edge``, dimension ``<= maxdim + 1``) by the simplex spanned by the
    classes of its vertices, with the smallest filtration value among its preimages. Unlike
    separate cones, this also identifies simplices whose vertices are identified (a circle
    folded by ``x ~ -x`` becomes a path), like the quotient metric of method (a).

    Returns
    -------
    gudhi.SimplexTree
        Vertices ``0..c-1`` are the classes, ``c, c+1, ...`` the unglued points in order.

    Examples
    --------
    Three points on a line, the outer two glued: the quotient has two vertices and one edge.

    >>> import numpy as np
    >>> D = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0.0]])
    >>> st = quotient_complex(D, [[0, 2]], max_edge=1.0)
    >>> st.num_vertices(), st.num_simplices()
    (2, 3)
    """
    import gudhi

    D = check_distance_matrix(D, allow_inf=True)
    n = len(D)
    classes = _check_classes(classes, n)
    maxdim = _check_maxdim(maxdim)
    if not np.isfinite(max_edge) or max_edge < 0:
        raise ValueError(f"max_edge must be a finite scale >= 0; got {max_edge!r}")
    lab = np.full(n, -1, dtype=np.int64)
    for k, cls in enumerate(classes):
        lab[cls] = k
    single = np.nonzero(lab < 0)[0]
    lab[single] = len(classes) + np.arange(len(single))
    Df = np.where(np.isfinite(D), D, 2.0 * max_edge + 1.0)
    st = gudhi.RipsComplex(distance_matrix=Df, max_edge_length=max_edge).create_simplex_tree(
        max_dimension=maxdim + 1)
    q = gudhi.SimplexTree()
    for simplex, filt in st.get_simplices():
        q.insert(sorted({int(lab[v]) for v in simplex}), filt)
    return q


def _persistence(st, maxdim: int) -> list:
    st.compute_persistence(homology_coeff_field=2, persistence_dim_max=True)
    out = []
    for k in range(maxdim + 1):
        iv = np.asarray(st.persistence_intervals_in_dimension(k), dtype=np.float64).reshape(-1, 2)
        out.append(iv[np.argsort(iv[:, 0], kind="stable")] if len(iv) else iv)
    return out


_METHODS = ("quotient", "cones", "relative")


def _complex(D, classes, max_edge, maxdim, method):
    if method == "quotient":
        return quotient_complex(D, classes, max_edge, maxdim)
    if method == "cones":
        return cone_complex(D, classes, max_edge, maxdim, mode="separate")
    if method == "relative":
        return cone_complex(D, classes, max_edge, maxdim, mode="single")
    raise ValueError(f"method must be one of {_METHODS}; got method={method!r}")


def relative_barcodes(D, classes, max_edge: float, maxdim: int = 1, method: str = "quotient") -> list:
    """Persistence diagrams (gudhi, Z/2) of the filtered complex of method (b) up to ``max_edge``.

    ``method``: ``quotient`` (simplicial quotient, :func:`quotient_complex`), ``cones`` (a cone
    on each class) or ``relative`` (one cone on the union ``A``: persistent ``H~_k(K cup CA)``).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    >>> X = np.c_[np.cos(t), np.sin(t)]
    >>> D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    >>> dgms = relative_barcodes(D, [[0, 4]], max_edge=1.0)
    >>> betti_at(dgms, 0.8).tolist()
    [1, 2]
    """
    return _persistence(_complex(D, classes, max_edge, maxdim, method), _check_maxdim(maxdim))


def relative_betti(D, classes, eps: float, maxdim: int = 1, method: str = "quotient") -> np.ndarray:
    """Betti numbers at scale ``eps`` of the Rips complex ``K_eps`` relative to the classes.

    ``method="quotient"``: Betti numbers of the simplicial quotient ``K_eps / ~`` (method (b)
    of the quotient homology); ``"cones"``: of ``K_eps`` with a cone on each class;
    ``"relative"``: ``dim H_k(K_eps, A)`` for ``A`` the union of the classes (reduced in degree
    0 when ``A`` is non-empty: ``H_0(K, A)`` counts the components of ``K`` that miss ``A``).

    Examples
    --------
    Eight points on a circle (``H_0 = 1``, ``H_1 = 1`` at scale 0.8) with two opposite points in one
    class: the quotient has one more loop (Beshkov, relative homology with respect to the overlap
    classes):

    >>> import numpy as np
    >>> t = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    >>> X = np.c_[np.cos(t), np.sin(t)]
    >>> D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    >>> relative_betti(D, [], 0.8).tolist(), relative_betti(D, [[0, 4]], 0.8).tolist()
    ([1, 1], [1, 2])
    >>> relative_betti(D, [[0, 4]], 0.8, method="relative").tolist()
    [0, 2]
    """
    D = check_distance_matrix(D, allow_inf=True)
    classes = _check_classes(classes, len(D))
    maxdim = _check_maxdim(maxdim)
    st = _complex(D, classes, eps, maxdim, method)
    st.compute_persistence(homology_coeff_field=2, persistence_dim_max=True)
    b = np.array(list(st.betti_numbers()) + [0] * (maxdim + 1), dtype=np.int64)[:maxdim + 1]
    if method == "relative" and classes:
        b[0] -= 1
    return b


# ------------------------------------------------------------------------------- metrics
def knn_geodesic_distances(X, k: int, weighted: bool = False) -> np.ndarray:
    """Shortest-path distances in the symmetric ``k``-nearest-neighbour graph of ``X``.

    With ``weighted=False`` every edge has length 1 (hop counts, the metric Naitzat et al. use
    for their Betti numbers); otherwise Euclidean edge lengths. Unreachable pairs are ``inf``.

    Examples
    --------
    Hop counts along a path of four points (each joined to its nearest neighbour):

    >>> import numpy as np
    >>> knn_geodesic_distances(np.array([[0.0], [1.0], [2.0], [3.0]]), k=1)
    array([[0., 1., 2., 3.],
           [1., 0., 1., 2.],
           [2., 1., 0., 1.],
           [3., 2., 1., 0.]])
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path
    from scipy.spatial import cKDTree

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n, d); got shape {X.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < len(X):
        raise ValueError(f"k must be an int in 1..{len(X) - 1} for {len(X)} points; got k={k!r}")
    n = len(X)
    dist, idx = cKDTree(X).query(X, k=int(k) + 1)  # column 0 is the point itself
    rows = np.repeat(np.arange(n), int(k))
    cols = idx[:, 1:].reshape(-1)
    w = dist[:, 1:].reshape(-1) if weighted else np.ones(n * int(k))
    G = csr_matrix((w, (rows, cols)), shape=(n, n))
    G = G.maximum(G.T)
    return shortest_path(G, method="D", directed=False, unweighted=not weighted)
