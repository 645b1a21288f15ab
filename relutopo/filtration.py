"""Homology of filtered cell complexes: Betti curves of (random) face-respecting orders.

A *filtration* of a cell complex ``K`` (:class:`relutopo.complex.CellComplex`) is an order
``sigma_1, sigma_2, ..., sigma_N`` of all its cells in which a face never enters after a cell it
bounds; ``K_t = {sigma_1..sigma_t}`` is then a subcomplex for every ``t``. The *Betti curve*
``t -> beta_k(K_t)`` (over GF(2)) is computed by the standard reduction of the boundary matrix
in filtration order (Edelsbrunner-Letscher-Zomorodian; Tawfeek et al. 2025 compute Betti
numbers of random filtrations of the polyhedral complex):

adding a k-cell either creates a k-cycle (its reduced column is zero: a *positive* cell,
``beta_k += 1``) or kills a (k-1)-class (a *negative* cell, ``beta_{k-1} -= 1``).

The relation between Betti-curve maxima and the f-vector (proved here, tested in
``tests/test_filtration.py``). Let ``z_k = dim Z_k = f_k - rank d_k`` (the k-cycles of ``K``).

1. For **every** face-respecting order the number of positive k-cells is ``z_k`` (the positive
   k-cells' columns are a basis of ``Z_k``) and the number of negative ones is ``rank d_k``.
   Hence ``f_k = (#increments of beta_k) + (#decrements of beta_{k-1})``: the f-vector is read
   off *any* filtration's Betti curves exactly, by counting steps.
2. ``max_t beta_k(K_t) <= z_k``, with equality for the dimension-sorted order ("all vertices,
   then all edges, ...": after all cells of dimension <= k, ``beta_k = z_k``). For a complex
   subdividing a box (contractible), ``z_0 = f_0`` and ``z_k = sum_{j<=k} (-1)^{k-j} f_j
   - (-1)^k`` for ``k >= 1``; in particular ``max beta_0 = f_0`` and ``max beta_{d-1} = f_d``
   for the dimension-sorted order (the last by Euler's relation).
3. For random face-respecting orders the maxima are strictly below these values in general
   (cells of dimension k+1 start killing k-cycles before all k-cells are in): the maxima of
   random Betti curves are *bounds*, not the f-vector; they reveal it only up to a factor,
   which :func:`betti_curves` lets one measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import FiltrationError  # re-exported: relutopo.filtration.FiltrationError

__all__ = ["filtration_order", "check_order", "betti_curve", "betti_curves", "BettiCurve",
           "cycle_ranks", "betti_numbers", "betti_curve_gudhi", "ORDER_KINDS"]

#: The face-respecting orders :func:`filtration_order` draws.
ORDER_KINDS = ("random", "lower_star", "dimension")


def _faces_lists(K) -> list:
    """For each global cell index, the global indices of its codimension-one faces."""
    off = K.offsets()
    faces = [np.zeros(0, dtype=np.int64)] * int(off[0 + 1])
    for k in range(1, K.dim + 1):
        B = K.boundary[k].tocsc()
        for i in range(B.shape[1]):
            faces.append(B.indices[B.indptr[i]:B.indptr[i + 1]].astype(np.int64) + off[k - 1])
    return faces


def filtration_order(K, kind: str = "random", *, seed=None) -> np.ndarray:
    """A face-respecting order of all cells of ``K`` (global cell indices, see ``K.offsets()``).

    Parameters
    ----------
    K : CellComplex
    kind : {"random", "lower_star", "dimension"}
        ``random``: every cell draws ``u ~ U(0, 1)`` and enters at ``max`` of ``u`` over itself
        and all its faces (ties: lower dimension first), i.e. a uniformly random
        function made monotone -- the "random filtration" of Tawfeek et al.;
        ``lower_star``: every vertex draws ``u ~ U(0, 1)``, a cell enters at the max over its
        vertices (lower dimension first at ties), the filtration of a random PL height function;
        ``dimension``: all vertices, then all edges, ... (cells of one dimension in a random
        order when ``seed`` is given, else in index order).
    seed : int or numpy Generator
        Required for ``random`` and ``lower_star``.

    Returns
    -------
    order : int array ``(n_cells,)``, a permutation of ``0..n_cells-1``.

    Examples
    --------
    A face-respecting order of the 25 cells of the four-square complex (Tawfeek et al.'s random
    filtrations): every cell comes after its faces.

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> order = filtration_order(K, "random", seed=0)
    >>> len(order), K.cell_dimensions()[order[:9]].tolist()
    (25, [0, 0, 0, 1, 0, 0, 1, 0, 0])
    >>> K.cell_dimensions()[filtration_order(K, "dimension")].tolist() == sorted(K.cell_dimensions().tolist())
    True
    """
    if kind not in ORDER_KINDS:
        raise FiltrationError(f"kind must be one of {ORDER_KINDS}; got {kind!r}")
    n = K.n_cells
    dims = K.cell_dimensions()
    if kind == "dimension":
        if seed is None:
            return np.arange(n, dtype=np.int64)
        rng = np.random.default_rng(seed)
        return np.lexsort((rng.random(n), dims)).astype(np.int64)
    if seed is None:
        raise FiltrationError(f"kind={kind!r} draws random values; pass seed= (an int) so the "
                              "order is reproducible")
    rng = np.random.default_rng(seed)
    off = K.offsets()
    if kind == "random":
        value = rng.random(n)
        for k in range(1, K.dim + 1):  # value(cell) = max over faces, bottom-up
            B = K.boundary[k].tocsc()
            face_vals = value[off[k - 1]:off[k]]
            seg = B.multiply(face_vals[:, None]).tocsc().max(axis=0).toarray().ravel()
            value[off[k]:off[k + 1]] = np.maximum(value[off[k]:off[k + 1]], seg)
    else:
        vv = rng.random(int(off[1]))
        value = np.concatenate([np.array([vv[c].max() for c in K.cells[k]]) if len(K.cells[k])
                                else np.zeros(0) for k in range(K.dim + 1)])
    return np.lexsort((np.arange(n), dims, value)).astype(np.int64)


def check_order(K, order) -> np.ndarray:
    """Validate that ``order`` is a permutation of the cells in which faces come first.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> len(check_order(K, filtration_order(K, "dimension")))
    25
    >>> check_order(K, np.arange(K.n_cells)[::-1])  # 2-cells before their faces: error expected
    Traceback (most recent call last):
        ...
    relutopo.errors.FiltrationError: order is not face-respecting: cell 9 enters at step 15 before its face 0
    """
    order = np.asarray(order)
    n = K.n_cells
    if order.shape != (n,) or not np.issubdtype(order.dtype, np.integer):
        raise FiltrationError(f"order must be an integer array of length {n} (one entry per cell); "
                              f"got shape {order.shape}, dtype {order.dtype}")
    pos = np.full(n, -1, dtype=np.int64)
    if order.min() < 0 or order.max() >= n:
        raise FiltrationError(f"order holds indices outside 0..{n - 1}")
    pos[order] = np.arange(n)
    if np.any(pos < 0):
        raise FiltrationError("order is not a permutation of the cells (some cell is missing)")
    faces = _faces_lists(K)
    for c, fs in enumerate(faces):
        if len(fs) and pos[fs].max() > pos[c]:
            raise FiltrationError(f"order is not face-respecting: cell {c} enters at step "
                                  f"{pos[c]} before its face {fs[np.argmax(pos[fs])]}")
    return order.astype(np.int64)


@dataclass(frozen=True)
class BettiCurve:
    """Betti numbers along one filtration.

    Attributes
    ----------
    betti : int array ``(n_cells + 1, d + 1)``
        ``betti[t, k] = beta_k(K_t)`` over GF(2), ``K_t`` the first ``t`` cells.
    positive : bool array ``(n_cells,)``
        Whether the t-th cell of the order created a class (else it killed one).
    dims : int array ``(n_cells,)``
        Dimension of the t-th cell of the order.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> bc = betti_curve(K)
    >>> bc.betti.shape, int(bc.positive.sum()), np.bincount(bc.dims).tolist()
    ((26, 3), 13, [9, 12, 4])
    """

    betti: np.ndarray
    positive: np.ndarray
    dims: np.ndarray

    @property
    def maxima(self) -> np.ndarray:
        """``max_t beta_k(K_t)`` for each k."""
        return self.betti.max(axis=0)

    def f_vector(self) -> np.ndarray:
        """The f-vector read off the curve: ``f_k`` = increments of beta_k + decrements of
        beta_{k-1} (exact for every face-respecting order; see the module docstring)."""
        step = np.diff(self.betti, axis=0)
        inc = (step == 1).sum(axis=0)
        dec = (step == -1).sum(axis=0)
        return inc + np.concatenate([[0], dec[:-1]])


def betti_curve(K, order=None, *, check: bool = True) -> BettiCurve:
    """Betti numbers ``beta_k(K_t)`` for ``t = 0..n_cells`` by GF(2) boundary-matrix reduction.

    Parameters
    ----------
    K : CellComplex
    order : int array, optional
        A face-respecting order (default: the dimension-sorted order).
    check : bool
        Validate ``order`` first (:func:`check_order`).

    Notes
    -----
    Columns are Python integers used as GF(2) bit vectors over filtration positions; the pivot
    of a column is its highest set bit. Each cell is reduced against earlier pivots
    (Edelsbrunner-Letscher-Zomorodian), so one pass costs about ``sum`` of the column fill-ins.

    Examples
    --------
    Adding the cells of the four-square complex one by one (faces first): ``beta_0`` ends at 1 and
    ``beta_1`` at 0 (a disc); along the way loops are born and filled.

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> bc = betti_curve(K, filtration_order(K, "dimension"))
    >>> bc.betti[-1].tolist(), bc.betti[9].tolist(), int(bc.betti[:, 1].max())
    ([1, 0, 0], [9, 0, 0], 4)
    """
    n = K.n_cells
    order = np.arange(n, dtype=np.int64) if order is None else np.asarray(order)
    if check:
        order = check_order(K, order)
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    faces = _faces_lists(K)
    dims_all = K.cell_dimensions()
    d = K.dim
    pivots: dict = {}
    positive = np.zeros(n, dtype=bool)
    for t, c in enumerate(order.tolist()):
        col = 0
        for f in pos[faces[c]].tolist():
            col ^= 1 << f
        while col:
            low = col.bit_length() - 1
            other = pivots.get(low)
            if other is None:
                pivots[low] = col
                break
            col ^= other
        positive[t] = col == 0
    dims = dims_all[order]
    delta = np.zeros((n, d + 1), dtype=np.int64)
    t = np.arange(n)
    pos_t = positive
    delta[t[pos_t], dims[pos_t]] = 1
    neg = ~pos_t
    delta[t[neg], dims[neg] - 1] = -1
    betti = np.vstack([np.zeros((1, d + 1), dtype=np.int64), np.cumsum(delta, axis=0)])
    return BettiCurve(betti=betti, positive=positive, dims=dims)


def betti_curves(K, n_orders: int, *, kind: str = "random", seed=0) -> np.ndarray:
    """Betti curves of ``n_orders`` independent random face-respecting orders.

    Returns an int array ``(n_orders, n_cells + 1, d + 1)``; average over axis 0 for the mean
    curve. Order ``i`` uses the seed ``(*seed, i)`` (``seed`` an int or a tuple of ints), so each
    order is reproducible and independent of ``n_orders``.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> curves = betti_curves(K, 3, seed=0)
    >>> curves.shape, curves[:, -1].tolist()
    ((3, 26, 3), [[1, 0, 0], [1, 0, 0], [1, 0, 0]])
    """
    if not isinstance(n_orders, (int, np.integer)) or n_orders < 1:
        raise FiltrationError(f"n_orders must be a positive integer; got {n_orders!r}")
    out = []
    for i in range(int(n_orders)):
        entropy = [int(x) for x in np.atleast_1d(np.asarray(seed, dtype=np.int64))] + [i]
        order = filtration_order(K, kind, seed=np.random.SeedSequence(entropy).generate_state(2))
        out.append(betti_curve(K, order, check=False).betti)
    return np.stack(out)


def _gf2_rank(B) -> int:
    """Rank over GF(2) of a sparse 0/1 matrix (Gaussian elimination on bit-vector rows)."""
    B = B.tocsr()
    rows = []
    for i in range(B.shape[0]):
        v = 0
        for j in B.indices[B.indptr[i]:B.indptr[i + 1]].tolist():
            v ^= 1 << j
        rows.append(v)
    basis: dict = {}
    for v in rows:
        while v:
            h = v.bit_length() - 1
            if h in basis:
                v ^= basis[h]
            else:
                basis[h] = v
                break
    return len(basis)


def cycle_ranks(K) -> np.ndarray:
    """``z_k = dim Z_k = f_k - rank_GF(2) d_k`` for ``k = 0..d`` (rank of the row space).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> cycle_ranks(cell_complex(decompose(net, Box(-1, 1, dim=2)))).tolist()
    [9, 4, 0]
    """
    f = K.f_vector
    ranks = [0] + [_gf2_rank(K.boundary[k]) for k in range(1, K.dim + 1)]
    return np.array([f[k] - ranks[k] for k in range(K.dim + 1)], dtype=np.int64)


def betti_numbers(K) -> np.ndarray:
    """``beta_k(K) = z_k - rank d_{k+1}`` over GF(2) for the whole complex.

    Examples
    --------
    The complex of a decomposition of a box is contractible:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> betti_numbers(cell_complex(decompose(net, Box(-1, 1, dim=2)))).tolist()
    [1, 0, 0]
    """
    z = cycle_ranks(K)
    ranks = [_gf2_rank(K.boundary[k]) for k in range(1, K.dim + 1)] + [0]
    return np.array([z[k] - ranks[k] for k in range(K.dim + 1)], dtype=np.int64)


def betti_curve_gudhi(K, order) -> np.ndarray:
    """The same Betti curve by gudhi, on a simplicial subdivision (an independent check).

    Every cell of dimension >= 2 is subdivided as the cone from a new centre vertex over the
    subdivision of its boundary (edges and vertices are simplices already); all simplices of
    that cone enter at the cell's step. A subdivision of each cell is a ball with the cell's
    boundary, so ``beta_k`` of the subcomplex after step ``t`` is unchanged. Persistence over
    GF(2) in a ``gudhi.SimplexTree``. Returns an int array ``(n_cells + 1, d + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose, cell_complex
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> K = cell_complex(decompose(net, Box(-1, 1, dim=2)))
    >>> order = filtration_order(K, seed=1)
    >>> bool((betti_curve_gudhi(K, order) == betti_curve(K, order).betti).all())
    True
    """
    import gudhi

    order = check_order(K, order)
    n = K.n_cells
    off = K.offsets()
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    faces = _faces_lists(K)
    dims = K.cell_dimensions()
    st = gudhi.SimplexTree()
    subdiv: dict = {}  # global cell -> list of simplices (tuples of vertex ids)
    next_vertex = int(off[1])
    for c in order.tolist():
        t = float(pos[c] + 1)
        k = dims[c]
        if k == 0:
            simp = [(c,)]
        elif k == 1:
            simp = [tuple(sorted(faces[c].tolist())), ]
        else:
            centre = next_vertex
            next_vertex += 1
            below = set()
            for f in faces[c].tolist():
                below.update(subdiv[f])
            simp = [(centre,)] + [s + (centre,) for s in sorted(below)]
        full = set(simp)
        if k >= 1:
            for f in faces[c].tolist():
                full.update(subdiv[f])
        subdiv[c] = sorted(full)
        for s in sorted(simp, key=len):
            st.insert(list(s), filtration=t)
    st.make_filtration_non_decreasing()
    st.compute_persistence(homology_coeff_field=2, persistence_dim_max=True)
    d = K.dim
    out = np.zeros((n + 1, d + 1), dtype=np.int64)
    for t in range(1, n + 1):
        b = st.persistent_betti_numbers(float(t), float(t))
        out[t, : min(len(b), d + 1)] = b[: d + 1]
    return out
