
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
chunks, depth first (each chunk a copy, freed once refined), so the refinement holds only one
chunk's cells per layer at a time: peak memory is bounded by the chunk size, not by the number
of regions.

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

    Examples
    --------
    The one cell a refinement starts from, the box, then the four cells of a 2 -> 2 -> 1 network:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> initial_batch(Box(-1, 1, dim=2), 2).n
    1
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> [b.bits.astype(int).tolist() for b in refine(net, Box(-1, 1, dim=2), 2.0)]
    [[[1, 1], [1, 0], [0, 1], [0, 0]]]
    """

    __slots__ = ("V", "Z", "gptr", "A", "c", "ids", "rptr", "bits", "G", "g", "whole", "anc")

    def __init__(self):
        self.anc = None  # (n, layers so far) ancestor ids, kept by the compiled path only

    @property
    def n(self) -> int:
        return len(self.gptr) - 1

    def take(self, lo: int, hi: int, copy: bool = False) -> "CellBatch":
        """Cells ``lo:hi`` as a new batch (views where possible; ``copy``: arrays of its own, so
        that this batch's memory is not kept alive by the new one)."""
        out = CellBatch()
        g0, g1 = self.gptr[lo], self.gptr[hi]
        r0, r1 = self.rptr[lo], self.rptr[hi]
        own = np.array if copy else (lambda a: a)
        out.V, out.Z = own(self.V[g0:g1]), own(self.Z[g0:g1])
        out.gptr = self.gptr[lo:hi + 1] - g0
        out.A, out.c, out.ids = own(self.A[r0:r1]), own(self.c[r0:r1]), own(self.ids[r0:r1])
        out.rptr = self.rptr[lo:hi + 1] - r0
        out.bits = own(self.bits[lo:hi])
        out.G = None if self.G is None else own(self.G[lo:hi])
        out.g = None if self.g is None else own(self.g[lo:hi])
        out.anc = None if self.anc is None else own(self.anc[lo:hi])
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
    S = live[_pivots(M[live].T)[:d]]
    MS = M[S]
    x_star = np.linalg.solve(MS, -mu[S])
    D = np.linalg.inv(MS)  # column j: direction raising row j only
    if d + 1 <= 63:  # one word: the vertex lies on every row, ray j on every row but j and at infinity
        full = (1 << (d + 1)) - 1
        Z1 = np.array([full & ~1] + [full & ~(1 << (j + 1)) for j in range(d)], dtype=np.uint64)[:, None]
    else:
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
    b.ids = (offset + S).astype(np.int64)[None].repeat(n, axis=0).reshape(-1)
    b.rptr = np.arange(0, n * d + 1, d, dtype=np.int64)
    unit = D.T / np.sqrt(np.einsum("ij,ij->i", D.T, D.T))[:, None]
    rays = unit[None, :, :] * sig[:, :, None]  # (n, d rays, d): unit, as sign flips keep the norm
    V = np.zeros((n, d + 1, d + 1))
    V[:, 0, :d] = x_star
    V[:, 0, d] = 1.0
    V[:, 1:, :d] = rays
    b.V = V.reshape(-1, d + 1)
    b.Z = Z1[None].repeat(n, axis=0).reshape(-1, Z1.shape[1])
    b.gptr = np.arange(0, n * (d + 1) + 1, d + 1, dtype=np.int64)
    b.whole = False
    return b, S, sig > 0


def _pivots(a):
    """Column order of a QR factorisation with column pivoting of ``a`` (LAPACK ``dgeqp3``, as
    ``scipy.linalg.qr(a, pivoting=True)`` computes it, without that wrapper's per-call checks)."""
    from scipy.linalg.lapack import dgeqp3

    a = np.array(a, dtype=np.float64, order="F")
    lwork = int(dgeqp3(a, lwork=-1)[3][0].real)  # workspace query, as scipy.linalg.qr does
    _, jpvt, _, _, info = dgeqp3(a, lwork=max(lwork, 1), overwrite_a=1)
    if info != 0:
        raise RuntimeError(f"LAPACK dgeqp3 failed (info = {info}) on the first layer's rows")
    return jpvt - 1


def refine(net, domain, scale, progress=False, layer=None):
    """Yield the cells of the last hidden layer in chunks (:class:`CellBatch`), depth first.
    ``layer`` cuts a batch by one layer (default ``_refine_layer``; the compiled
    :func:`relutopo.kernels.vertex.refine_layer` gives the same batches).

    Examples
    --------
    Layer by layer, each cell is cut by the hyperplanes of the next layer's neurons restricted to
    it (the regions Liu et al. count, without their brute force over bit vectors):

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones((1, 3))],
    ...                            [np.array([0.0, 0.0, -0.5]), np.zeros(1)])
    >>> sum(b.n for b in refine(net, Box(-1, 1, dim=2), 2.0))
    7
    """
    layer = _refine_layer if layer is None else layer
    from tqdm.auto import tqdm

    d = net.input_dim
    L = len(net.hidden_sizes)
    offsets = net.layer_offsets
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
            if batch.n > REFINE_CHUNK:  # split depth first: the first chunk is refined first;
                # copies, so that each chunk's memory goes when it is refined (views would keep
                # the whole batch until its last chunk: ~80 MB for the first layer at 10^6 regions)
                for lo in reversed(range(0, batch.n, REFINE_CHUNK)):
                    stack.append((batch.take(lo, min(lo + REFINE_CHUNK, batch.n), copy=True), l))
                del batch
                continue
            stack.append((layer(batch, net, l, scale, int(offsets[l]), l == L - 1), l + 1))
    finally:
        if bar is not None:
            bar.close()


def _refine_layer(b, net, l, scale, offset, last):
    """Cut every cell of ``b`` by the hyperplanes of hidden layer ``l`` (neuron by neuron); its
    bits start at ``offset``; ``last``: no layer follows."""
    setup = _layer_setup(b, net, l, offset, last)
    if not isinstance(setup, tuple):  # nothing cuts the whole space
        return setup
    b, M, mu, norms, zero_row, Lb, fixed = setup
    d, h = net.input_dim, M.shape[1]
    cell_of = np.arange(b.n).repeat(b.gptr[1:] - b.gptr[:-1])
    H = _values(b.V, M, mu, cell_of, d)
    tl = tol.VERTEX_RTOL * norms
    st = _State(b, H, M, mu, tl, zero_row, Lb, cell_of)
    for k in range(h):
        if not fixed[k]:
            _cut_by(st, k, offset + k, d, scale)
    b = st.b
    b.bits = np.concatenate([b.bits, st.Lb], axis=1)
    if last:
        b.G = b.g = None
    else:
        b.G = st.M * st.Lb[:, :, None]
        b.g = st.mu * st.Lb
    return b


def _layer_setup(b, net, l, offset, last, restrict=None):
    """The restricted rows of layer ``l`` on every cell of ``b``, ``M = W_l G``, ``mu = W_l g +
    b_l``, their norms, which are zero, the bits fixed so far and which neurons are fixed (the
    orthant rows of the whole-space root, whose cells replace ``b``). Returns ``(b, M, mu, norms,
    zero_row, Lb, fixed)``, or the finished batch when nothing cuts the whole space. Shared by
    the numpy cutting below and the compiled one (:mod:`relutopo.kernels.vertex`), which passes
    ``restrict(W, G, mu, wnorm) -> (M, norms, zero_row, Lb)`` computing the same numbers."""
    W, bias = net.weights[l], net.biases[l]
    d = net.input_dim
    h = W.shape[0]
    mu = b.g @ W.T + bias[None, :]
    wnorm = np.sqrt(np.einsum("ij,ij->i", W, W))
    if restrict is None:
        M = np.einsum("ij,njd->nid", W, b.G)
        gmax = np.abs(b.G).reshape(b.n, -1).max(axis=1, initial=0.0)
        norms = row_norms_3d(M)
        gmax = np.maximum(gmax, tol.TINY)
        zero_row = norms <= tol.ZERO_ROW_RTOL * (wnorm[None, :] * gmax[:, None])
        Lb = zero_row & (mu > 0)  # a neuron constant on the cell: its bit is its sign
    else:  # the same numbers, compiled, in one pass
        M, norms, zero_row, Lb = restrict(W, b.G, mu, wnorm)
    fixed = np.zeros(h, dtype=bool)
    if b.whole:
        live = (~zero_row[0]).nonzero()[0]
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
    return b, M, mu, norms, zero_row, Lb, fixed


def row_norms_3d(M):
    """``|M[n, i, :]|`` for every cell ``n`` and row ``i``, the squares summed in order of the
    coordinate (as the compiled :func:`relutopo.kernels.vertex.restrict` sums them, so both
    paths compare the same norms).

    Examples
    --------
    >>> import numpy as np
    >>> row_norms_3d(np.array([[[3.0, 4.0], [0.0, 0.0]]])).tolist()
    [[5.0, 0.0]]
    """
    s = M[..., 0] * M[..., 0]
    for e in range(1, M.shape[2]):
        s = s + M[..., e] * M[..., e]
    return np.sqrt(s)


def _values(V, M, mu, cell_of, d):
    """``H[g, k] = M[cell(g), k] . x_g + mu[cell(g), k] t_g`` in chunks (bounded memory)."""
    step = max(1, (1 << 22) // max(1, M.shape[1] * d))
    if len(V) <= step:
        return np.einsum("gd,gkd->gk", V[:, :d], M[cell_of]) + V[:, d:] * mu[cell_of]
    H = np.empty((len(V), M.shape[1]))
    for s in range(0, len(V), step):
        cs = cell_of[s:s + step]
        H[s:s + step] = np.einsum("gd,gkd->gk", V[s:s + step, :d], M[cs]) + V[s:s + step, d:] * mu[cs]
    return H


class _State:
    """A batch being cut by one layer, with its per-generator values and per-cell rows."""

    __slots__ = ("b", "H", "M", "mu", "tl", "zero_row", "any_zero", "Lb", "cell_of")

    def __init__(self, b, H, M, mu, tl, zero_row, Lb, cell_of):
        self.b, self.H, self.M, self.mu, self.tl = b, H, M, mu, tl
        self.zero_row, self.Lb, self.cell_of = zero_row, Lb, cell_of
        self.any_zero = bool(zero_row.any())  # else every neuron is live on every cell


def _cut_by(st, k, kid, d, scale):
    """Cut every cell of the batch by its neuron-``k`` hyperplane, vectorised over cells.

    Written for few numpy calls per neuron (small batches are dominated by per-call overhead):
    method forms instead of module functions, one pass where two would do."""
    b = st.b
    V, Z, gptr = b.V, b.Z, b.gptr
    n = len(gptr) - 1
    cell_of = st.cell_of
    vals = st.H[:, k]
    tv = st.tl[cell_of, k] * np.where(V[:, d] > 0, scale, 1.0)
    above = vals > tv
    below = vals < -tv
    starts = gptr[:-1]
    pos = np.logical_or.reduceat(above, starts)
    neg = np.logical_or.reduceat(below, starts)
    if st.any_zero:
        active = ~st.zero_row[:, k]
        pos &= active
        neg &= active
        st.Lb[active, k] = pos[active]
    else:
        st.Lb[:, k] = pos
    cut = pos & neg
    if not cut.any():
        return
    gcut = cut[cell_of]
    P = above & gcut
    N = below & gcut
    zero = gcut ^ P ^ N  # P and N are disjoint subsets of gcut
    # ---- candidate (+, -) pairs of each cut cell, P-major (as np.nonzero on a P x N matrix)
    Pidx, Nidx = P.nonzero()[0], N.nonzero()[0]
    nN = np.bincount(cell_of[Nidx], minlength=n)
    cP = cell_of[Pidx]
    reps = nN[cP]
    pair_p = Pidx.repeat(reps)
    # pair_n runs through the N generators of the pair's cell: Nstart[cell] + (0, 1, ...)
    rcum = reps.cumsum()
    pair_n = Nidx[np.arange(int(rcum[-1])) + ((nN.cumsum() - nN)[cP] - (rcum - reps)).repeat(reps)]
    common = Z[pair_p] & Z[pair_n]
    ok = np.bitwise_count(common).sum(axis=1) >= d - 1
    pair_p, pair_n, common = pair_p[ok], pair_n[ok], common[ok]
    pcell = cell_of[pair_p]
    # ---- adjacency: no third generator of the cell is incident to every shared row
    if pair_p.size:
        ng = gptr[1:] - gptr[:-1]
        adj = np.empty(pair_p.size, dtype=bool)
        cost = ng[pcell]
        ccum = cost.cumsum()
        if ccum[-1] <= _ADJ_CHUNK:
            edges = (0, pair_p.size)
        else:
            edges = np.concatenate([[0], np.searchsorted(ccum, np.arange(_ADJ_CHUNK, int(ccum[-1]), _ADJ_CHUNK)),
                                    [pair_p.size]])
        for a, e in zip(edges[:-1], edges[1:]):
            if e <= a:
                continue
            cnt = cost[a:e]
            seg = cnt.cumsum() - cnt
            rep = np.arange(a, e).repeat(cnt)
            gi = np.arange(len(rep)) + (gptr[pcell[a:e]] - seg).repeat(cnt)
            inside = ~((common[rep] & ~Z[gi]) != 0).any(axis=1)
            inside &= (gi != pair_p[rep]) & (gi != pair_n[rep])
            adj[a:e] = ~np.logical_or.reduceat(inside, seg)
        pair_p, pair_n, common, pcell = pair_p[adj], pair_n[adj], common[adj], pcell[adj]
    # ---- the new generators: crossing points of adjacent pairs
    gP, gN = V[pair_p], V[pair_n]
    vP, vN = vals[pair_p], vals[pair_n]
    newV = vP[:, None] * gN - vN[:, None] * gP
    t = newV[:, d]
    isv = t > 0
    if isv.all():
        newV /= t[:, None]
    else:
        newV[isv] /= t[isv, None]
        nr = newV[~isv]
        nr[:, d] = 0.0
        newV[~isv] = nr / np.linalg.norm(nr[:, :d], axis=1)[:, None]
    # ---- the new row's incidence bit (row index = the cell's row count; bit = index + 1)
    rptr = b.rptr
    nrow = rptr[1:] - rptr[:-1]
    need = int((nrow[cut].max() + 1) // 64 + 1)
    if need > Z.shape[1]:  # a fresh array, safe to write into
        Z = np.hstack([Z, np.zeros((len(Z), need - Z.shape[1]), dtype=np.uint64)])
        common = np.hstack([common, np.zeros((len(common), need - common.shape[1]), dtype=np.uint64)])
    elif Z is b.Z:
        Z = Z.copy()  # never write into a batch another chunk may share
    word, bit = np.divmod(nrow + 1, 64)
    flag = np.left_shift(np.uint64(1), bit.astype(np.uint64))
    common[np.arange(len(common)), word[pcell]] |= flag[pcell]
    zi = zero.nonzero()[0]
    zc = cell_of[zi]
    Z[zi, word[zc]] |= flag[zc]
    newH = np.einsum("gd,gkd->gk", newV[:, :d], st.M[pcell]) + newV[:, d:] * st.mu[pcell]
    # ---- reassemble: a cut cell becomes (>= 0 child, <= 0 child) in place
    width = 1 + cut
    wcum = width.cumsum()
    first = wcum - width  # position of each old cell's first output
    n_out = int(wcum[-1])
    parent = np.arange(n).repeat(width)
    kids = first[cut] + 1  # the <= 0 children
    n_old = len(V)
    src_old_hi = (P | zero | ~gcut).nonzero()[0]
    src_old_lo = (N | zero).nonzero()[0]
    new_ids = np.arange(n_old, n_old + len(newV))
    src = np.concatenate([src_old_hi, src_old_lo, new_ids, new_ids])
    fp = first[pcell]
    dst = np.concatenate([first[cell_of[src_old_hi]], first[cell_of[src_old_lo]] + 1, fp, fp + 1])
    order = dst.argsort(kind="stable")
    src = src[order]
    nb = CellBatch()
    nb.V = np.concatenate([V, newV])[src]
    nb.Z = np.concatenate([Z, common])[src]
    H = np.concatenate([st.H, newH])[src]
    gcount = np.bincount(dst, minlength=n_out)
    gp = np.zeros(n_out + 1, dtype=np.int64)
    gcount.cumsum(out=gp[1:])
    nb.gptr = gp
    # rows: the parent's rows, then the cut row (hi child: -m x <= mu; lo child: m x <= -mu)
    cutp = cut[parent]
    rcnt = nrow[parent] + cutp
    rp = np.zeros(n_out + 1, dtype=np.int64)
    rcnt.cumsum(out=rp[1:])
    ridx = np.arange(int(rp[-1])) + (rptr[:-1][parent] - rp[:-1]).repeat(rcnt)
    hi = first[cut]
    cc = cut.nonzero()[0]
    m_k = st.M[cc, k]
    mu_k = st.mu[cc, k]
    n_rows = len(b.c)
    nk = len(cc)
    ridx[rp[hi + 1] - 1] = np.arange(n_rows, n_rows + nk)
    ridx[rp[kids + 1] - 1] = np.arange(n_rows + nk, n_rows + 2 * nk)
    nb.A = np.concatenate([b.A, -m_k, m_k])[ridx]
    nb.c = np.concatenate([b.c, mu_k, -mu_k])[ridx]
    nb.ids = np.concatenate([b.ids, np.full(2 * nk, kid, dtype=np.int64)])[ridx]
    nb.rptr = rp
    nb.bits = b.bits[parent]
    nb.G = nb.g = None
    nb.whole = False
    st.b = nb
    st.H = H
    st.M, st.mu, st.tl = st.M[parent], st.mu[parent], st.tl[parent]
    st.zero_row = st.zero_row[parent]
    Lb = st.Lb[parent]
    Lb[kids, k] = False  # the hi child keeps pos = True
    st.Lb = Lb
    st.cell_of = np.arange(n_out).repeat(gcount)

