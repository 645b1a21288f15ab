"""Layer-by-layer refinement of cells held as generators, vectorised over many cells at once.

This is ``decompose(..., method="vertex")``: the layer-wise construction of Xiang et al. (2018)
and Wang (2022, "Cut"). A region of hidden layer ``l`` is cut only by the hyperplanes of layer
``l + 1`` restricted to it, ``M x + mu = 0`` with ``M = W_{l+1} G``, ``mu = W_{l+1} g + b_{l+1}``
(its pre-activations, Liu et al. 2023 eq. 8). Cells are held in the double description (Fukuda &
Prodon 1996): homogeneous generators ``(x, 1)`` (vertices) and ``(r, 0)`` (unit rays) with their
incidences as bit masks (bit 0: the face at infinity ``t = 0``; bit ``j + 1``: the cell's row
``j``). A hyperplane cuts a cell iff generators lie strictly on both sides; the new generators are
the crossing points of the adjacent ``(+, -)`` pairs, adjacency by the combinatorial test (no third
generator is incident to every row the pair shares). No LP is solved while refining.

All cells of a batch are cut by neuron ``k`` together: generators, rows and per-cell data are
ragged arrays (``gptr``/``rptr`` pointers), so the work per neuron is a few dozen numpy calls for
the whole batch instead of per cell. A cell cut by neuron ``k`` is replaced, in place, by its
``>= 0`` child then its ``<= 0`` child, so regions come out in a fixed order (depth first, the
positive side first). Batches larger than ``REFINE_CHUNK`` cells are refined and finalised in
chunks, depth first, so the refinement holds only one chunk's cells per layer at a time: peak
memory is bounded by the chunk size, not by the number of regions.

For ``R^d`` the first layer starts from the ``2^d`` orthants of ``d`` independent hyperplanes
(the caller reduces a rank-deficient first layer to its row space first).
"""

from __future__ import annotations

import numpy as np

from . import tolerances as tol

__all__ = ["CellBatch", "refine", "REFINE_CHUNK"]

#: Cells refined together at one layer; larger batches are split depth first (memory bound).
REFINE_CHUNK = 1024

#: Elements (pair x generator) tested at once in the adjacency test.
_ADJ_CHUNK = 1 << 21


class CellBatch:
    """Cells of one layer in ragged form (internal, mutable while refining).

    ``V (Ng, d+1)``, ``Z (Ng, words) uint64``, ``gptr (n+1)``: generators and incidences;
    ``A (Nr, d)``, ``c (Nr,)``, ``ids (Nr,)``, ``rptr (n+1)``: rows ``A x <= c`` (neuron id, or
    ``-1 - j`` for box face ``j``); ``bits (n, n_bits)``: the bits fixed so far; ``G (n, h, d)``,
    ``g (n, h)``: the affine map of the current layer's outputs (``None`` after the last layer).
    ``whole`` marks the single cell "all of R^d" (no generators yet).
    """

    __slots__ = ("V", "Z", "gptr", "A", "c", "ids", "rptr", "bits", "G", "g", "whole")

    @property
    def n(self) -> int:
        return len(self.gptr) - 1

    def take(self, lo: int, hi: int) -> "CellBatch":
        """Cells ``lo:hi`` as a new batch (views where possible)."""
        out = CellBatch()
        g0, g1 = self.gptr[lo], self.gptr[hi]
        r0, r1 = self.rptr[lo], self.rptr[hi]
        out.V, out.Z = self.V[g0:g1], self.Z[g0:g1]
        out.gptr = self.gptr[lo:hi + 1] - g0
        out.A, out.c, out.ids = self.A[r0:r1], self.c[r0:r1], self.ids[r0:r1]
        out.rptr = self.rptr[lo:hi + 1] - r0
        out.bits = self.bits[lo:hi]
        out.G = None if self.G is None else self.G[lo:hi]
        out.g = None if self.g is None else self.g[lo:hi]
        out.whole = False
        return out


def _masks(bool_cols, words=None):
    """Pack a bool incidence matrix ``(n_gen, n_cols)`` into uint64 words."""
    n, m = bool_cols.shape
    W = max(1, (m + 63) // 64) if words is None else words
    buf = np.zeros((n, W * 64), dtype=bool)
    buf[:, :m] = bool_cols
    return np.packbits(buf, axis=1, bitorder="little").view(np.uint64).reshape(n, W)


def _ragged_arange(counts):
    """``concatenate([arange(k) for k in counts])`` without a Python loop."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def initial_batch(domain, d):
    """The root: the box with its ``2^d`` corners, or the marker for all of ``R^d``."""
    b = CellBatch()
    b.bits = np.zeros((1, 0), dtype=bool)
    b.G, b.g = np.eye(d)[None], np.zeros((1, d))
    b.gptr = np.array([0, 0], dtype=np.int64)
    b.rptr = np.array([0, 0], dtype=np.int64)
    b.V, b.Z = np.zeros((0, d + 1)), np.zeros((0, 1), dtype=np.uint64)
    b.A, b.c, b.ids = np.zeros((0, d)), np.zeros(0), np.zeros(0, dtype=np.int64)
    b.whole = domain is None
    if domain is None:
        return b
    A, c = domain.halfspaces()
    Vx = domain.vertices()
    b.A, b.c = A, c
    b.ids = -1 - np.arange(2 * d, dtype=np.int64)
    b.rptr = np.array([0, 2 * d], dtype=np.int64)
    b.V = np.hstack([Vx, np.ones((len(Vx), 1))])
    Zb = np.zeros((len(Vx), 2 * d + 1), dtype=bool)
    Zb[:, 1::2] = Vx == domain.lo  # row 2i: x_i = lo_i
    Zb[:, 2::2] = Vx == domain.hi
    b.Z = _masks(Zb)
    b.gptr = np.array([0, len(Vx)], dtype=np.int64)
    return b


def _orthants(M, mu, live, d, offset):
    """The ``2^d`` orthant cones of ``d`` independent rows among ``live`` (whole-space root).

    Returns the batch and the chosen rows ``S`` with each orthant's bits on ``S``. Orthants come
    in decreasing code order when other rows remain to cut them (the order a depth-first
    traversal emits them), else in increasing code order (the order of earlier releases, kept
    so that region numbering does not change).
    """
    import scipy.linalg

    _, _, piv = scipy.linalg.qr(M[live].T, pivoting=True, mode="economic")
    S = live[piv[:d]]
    MS = M[S]
    x_star = np.linalg.solve(MS, -mu[S])
    D = np.linalg.inv(MS)  # column j: direction raising row j only
    Zb = np.ones((d + 1, d + 1), dtype=bool)
    Zb[0, 0] = False  # the vertex is not at infinity
    Zb[1 + np.arange(d), 1 + np.arange(d)] = False  # ray j leaves row j
    Z1 = _masks(Zb)
    codes = np.arange(2 ** d)
    if live.size > d:
        codes = codes[::-1]
    sig = np.where((codes[:, None] >> np.arange(d)[None, :]) & 1, 1.0, -1.0)  # (2^d, d)
    n = len(codes)
    b = CellBatch()
    # sigma_i (m_i x + mu_i) >= 0  <=>  -sigma_i m_i x <= sigma_i mu_i
    b.A = (-sig[:, :, None] * MS[None, :, :]).reshape(-1, d)
    b.c = (sig * mu[S][None, :]).reshape(-1)
    b.ids = np.tile((offset + S).astype(np.int64), n)
    b.rptr = np.arange(0, n * d + 1, d, dtype=np.int64)
    rays = D.T[None, :, :] * sig[:, :, None]  # (n, d rays, d)
    rays /= np.linalg.norm(rays, axis=2)[:, :, None]
    V = np.zeros((n, d + 1, d + 1))
    V[:, 0, :d] = x_star
    V[:, 0, d] = 1.0
    V[:, 1:, :d] = rays
    b.V = V.reshape(-1, d + 1)
    b.Z = np.tile(Z1, (n, 1))
    b.gptr = np.arange(0, n * (d + 1) + 1, d + 1, dtype=np.int64)
    b.whole = False
    return b, S, sig > 0


def refine(net, domain, scale, progress=False):
    """Yield the cells of the last hidden layer in chunks (:class:`CellBatch`), depth first."""
    from tqdm.auto import tqdm

    d = net.input_dim
    L = len(net.hidden_sizes)
    bar = tqdm(desc="regions", unit="cell", leave=False) if progress else None
    stack = [(initial_batch(domain, d), 0)]
    try:
        while stack:
            batch, l = stack.pop()
            if l == L:
                if bar is not None:
                    bar.update(batch.n)
                yield batch
                continue
            if batch.n > REFINE_CHUNK:  # split depth first: the first chunk is refined first
                for lo in reversed(range(0, batch.n, REFINE_CHUNK)):
                    stack.append((batch.take(lo, min(lo + REFINE_CHUNK, batch.n)), l))
                continue
            stack.append((_refine_layer(batch, net, l, scale), l + 1))
    finally:
        if bar is not None:
            bar.close()


def _refine_layer(b, net, l, scale):
    """Cut every cell of ``b`` by the hyperplanes of hidden layer ``l`` (neuron by neuron)."""
    W, bias = net.weights[l], net.biases[l]
    offset = int(net.layer_offsets[l])
    last = l == len(net.hidden_sizes) - 1
    d = net.input_dim
    h = W.shape[0]
    M = np.einsum("ij,njd->nid", W, b.G)
    mu = b.g @ W.T + bias[None, :]
    norms = np.sqrt(np.einsum("nid,nid->ni", M, M))
    wnorm = np.sqrt(np.einsum("ij,ij->i", W, W))
    gmax = np.maximum(np.abs(b.G).reshape(b.n, -1).max(axis=1, initial=0.0), 1e-300)
    zero_row = norms <= tol.ZERO_ROW_RTOL * (wnorm[None, :] * gmax[:, None])
    Lb = zero_row & (mu > 0)  # a neuron constant on the cell: its bit is its sign
    fixed = np.zeros(h, dtype=bool)
    if b.whole:
        live = np.flatnonzero(~zero_row[0])
        if live.size == 0:  # nothing cuts the whole space (cannot happen after rank reduction)
            b.bits = np.hstack([b.bits, Lb])
            b.G, b.g = (None, None) if last else (M * Lb[:, :, None], mu * Lb)
            return b
        ob, S, sb = _orthants(M[0], mu[0], live, d, offset)
        n = ob.n
        ob.bits = np.repeat(b.bits, n, axis=0)
        M, mu = np.repeat(M, n, axis=0), np.repeat(mu, n, axis=0)
        norms, zero_row = np.repeat(norms, n, axis=0), np.repeat(zero_row, n, axis=0)
        Lb = np.repeat(Lb, n, axis=0)
        Lb[:, S] = sb
        fixed[S] = True
        b = ob
    cell_of = np.repeat(np.arange(b.n), np.diff(b.gptr))
    H = _values(b.V, M, mu, cell_of, d)
    tl = tol.VERTEX_RTOL * norms
    st = _State(b, H, M, mu, tl, zero_row, Lb, cell_of)
    for k in range(h):
        if not fixed[k]:
            _cut_by(st, k, offset + k, d, scale)
    b = st.b
    b.bits = np.hstack([b.bits, st.Lb])
    if last:
        b.G = b.g = None
    else:
        b.G = st.M * st.Lb[:, :, None]
        b.g = st.mu * st.Lb
    return b


def _values(V, M, mu, cell_of, d):
    """``H[g, k] = M[cell(g), k] . x_g + mu[cell(g), k] t_g`` in chunks (bounded memory)."""
    H = np.empty((len(V), M.shape[1]))
    step = max(1, (1 << 22) // max(1, M.shape[1] * d))
    for s in range(0, len(V), step):
        cs = cell_of[s:s + step]
        H[s:s + step] = np.einsum("gd,gkd->gk", V[s:s + step, :d], M[cs]) + V[s:s + step, d:] * mu[cs]
    return H


class _State:
    """A batch being cut by one layer, with its per-generator values and per-cell rows."""

    __slots__ = ("b", "H", "M", "mu", "tl", "zero_row", "Lb", "cell_of")

    def __init__(self, b, H, M, mu, tl, zero_row, Lb, cell_of):
        self.b, self.H, self.M, self.mu, self.tl = b, H, M, mu, tl
        self.zero_row, self.Lb, self.cell_of = zero_row, Lb, cell_of


def _cut_by(st, k, kid, d, scale):
    """Cut every cell of the batch by its neuron-``k`` hyperplane, vectorised over cells."""
    b = st.b
    n = b.n
    V, Z, gptr = b.V, b.Z, b.gptr
    cell_of = st.cell_of
    vals = st.H[:, k]
    tv = st.tl[cell_of, k] * np.where(V[:, d] > 0, scale, 1.0)
    above = vals > tv
    below = vals < -tv
    active = ~st.zero_row[:, k]
    starts = gptr[:-1]
    pos = np.logical_or.reduceat(above, starts) & active
    neg = np.logical_or.reduceat(below, starts) & active
    cut = pos & neg
    st.Lb[active, k] = pos[active]
    if not cut.any():
        return
    gcut = cut[cell_of]
    P = above & gcut
    N = below & gcut
    zero = gcut & ~above & ~below
    # ---- candidate (+, -) pairs of each cut cell, P-major (as np.nonzero on a P x N matrix)
    Pidx, Nidx = np.flatnonzero(P), np.flatnonzero(N)
    nN = np.bincount(cell_of[Nidx], minlength=n)
    Nstart = np.cumsum(nN) - nN
    cP = cell_of[Pidx]
    reps = nN[cP]
    pair_p = np.repeat(Pidx, reps)
    pair_n = Nidx[np.repeat(Nstart[cP], reps) + _ragged_arange(reps)]
    common = Z[pair_p] & Z[pair_n]
    ok = np.bitwise_count(common).sum(axis=1) >= d - 1
    pair_p, pair_n, common = pair_p[ok], pair_n[ok], common[ok]
    pcell = cell_of[pair_p]
    # ---- adjacency: no third generator of the cell is incident to every shared row
    if pair_p.size:
        ng = np.diff(gptr)
        adj = np.empty(pair_p.size, dtype=bool)
        cost = ng[pcell]
        bounds = np.searchsorted(np.cumsum(cost), np.arange(_ADJ_CHUNK, int(cost.sum()), _ADJ_CHUNK))
        edges = np.concatenate([[0], bounds, [pair_p.size]])
        for a, e in zip(edges[:-1], edges[1:]):
            if e <= a:
                continue
            cnt = cost[a:e]
            rep = np.repeat(np.arange(a, e), cnt)
            gi = np.repeat(gptr[pcell[a:e]], cnt) + _ragged_arange(cnt)
            inside = ~((common[rep] & ~Z[gi]) != 0).any(axis=1)
            inside &= (gi != pair_p[rep]) & (gi != pair_n[rep])
            seg = np.cumsum(cnt) - cnt
            adj[a:e] = ~np.logical_or.reduceat(inside, seg)
        pair_p, pair_n, common, pcell = pair_p[adj], pair_n[adj], common[adj], pcell[adj]
    # ---- the new generators: crossing points of adjacent pairs
    gP, gN = V[pair_p], V[pair_n]
    vP, vN = vals[pair_p], vals[pair_n]
    newV = vP[:, None] * gN - vN[:, None] * gP
    t = newV[:, d]
    isv = t > 0
    newV[isv] /= t[isv, None]
    if not np.all(isv):
        nr = newV[~isv]
        nr[:, d] = 0.0
        newV[~isv] = nr / np.linalg.norm(nr[:, :d], axis=1)[:, None]
    # ---- the new row's incidence bit (row index = the cell's row count; bit = index + 1)
    nrow = np.diff(b.rptr)
    need = int((nrow[cut].max() + 1) // 64 + 1)
    if need > Z.shape[1]:  # a fresh array, safe to write into
        Z = np.hstack([Z, np.zeros((len(Z), need - Z.shape[1]), dtype=np.uint64)])
        common = np.hstack([common, np.zeros((len(common), need - common.shape[1]), dtype=np.uint64)])
    word, bit = np.divmod(nrow + 1, 64)
    flag = np.left_shift(np.uint64(1), bit.astype(np.uint64))
    common[np.arange(len(common)), word[pcell]] |= flag[pcell]
    zi = np.flatnonzero(zero)
    if Z is b.Z:
        Z = Z.copy()  # never write into a batch another chunk may share
    Z[zi, word[cell_of[zi]]] |= flag[cell_of[zi]]
    newH = np.einsum("gd,gkd->gk", newV[:, :d], st.M[pcell]) + newV[:, d:] * st.mu[pcell]
    # ---- reassemble: a cut cell becomes (>= 0 child, <= 0 child) in place
    width = 1 + cut.astype(np.int64)
    first = np.cumsum(width) - width  # position of each old cell's first output
    n_out = int(width.sum())
    parent = np.repeat(np.arange(n), width)
    is_lo = np.zeros(n_out, dtype=bool)
    is_lo[first[cut] + 1] = True
    n_old = len(V)
    keep_hi = ~gcut | P | zero
    keep_lo = gcut & (N | zero)
    src_old_hi = np.flatnonzero(keep_hi)
    src_old_lo = np.flatnonzero(keep_lo)
    new_ids = np.arange(len(newV))
    src = np.concatenate([src_old_hi, src_old_lo, n_old + new_ids, n_old + new_ids])
    dst = np.concatenate([first[cell_of[src_old_hi]], first[cell_of[src_old_lo]] + 1,
                          first[pcell], first[pcell] + 1])
    order = np.argsort(dst, kind="stable")
    src, dst = src[order], dst[order]
    nb = CellBatch()
    nb.V = np.concatenate([V, newV])[src]
    nb.Z = np.concatenate([Z, common])[src]
    H = np.concatenate([st.H, newH])[src]
    nb.gptr = np.concatenate([[0], np.cumsum(np.bincount(dst, minlength=n_out))]).astype(np.int64)
    # rows: the parent's rows, then the cut row (hi: -m x <= mu; lo: m x <= -mu)
    rsrc = np.repeat(np.arange(n_out), nrow[parent])
    rrow = np.repeat(b.rptr[:-1][parent], nrow[parent]) + _ragged_arange(nrow[parent])
    kids = np.flatnonzero(cut[parent])
    m_k = st.M[parent[kids], k]
    sgn = np.where(is_lo[kids], 1.0, -1.0)
    A_new = sgn[:, None] * m_k
    c_new = -sgn * st.mu[parent[kids], k]
    rdst = np.concatenate([rsrc, kids])
    rorder = np.argsort(rdst, kind="stable")
    nb.A = np.concatenate([b.A[rrow], A_new])[rorder]
    nb.c = np.concatenate([b.c[rrow], c_new])[rorder]
    nb.ids = np.concatenate([b.ids[rrow], np.full(len(kids), kid, dtype=np.int64)])[rorder]
    nb.rptr = np.concatenate([[0], np.cumsum(nrow[parent] + cut[parent])]).astype(np.int64)
    nb.bits = b.bits[parent]
    nb.G = nb.g = None
    nb.whole = False
    st.b = nb
    st.H = H
    st.M, st.mu, st.tl = st.M[parent], st.mu[parent], st.tl[parent]
    st.zero_row = st.zero_row[parent]
    Lb = st.Lb[parent]
    Lb[kids, k] = ~is_lo[kids]
    st.Lb = Lb
    st.cell_of = np.repeat(np.arange(n_out), np.diff(nb.gptr))
