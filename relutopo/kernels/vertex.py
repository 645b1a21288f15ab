"""The double-description refinement of :mod:`relutopo.vertex_refine`, compiled (numba).

``decompose(..., method="vertex")`` cuts every cell of a batch by the hyperplanes of the next
layer restricted to it, ``M x + mu = 0`` (Liu et al. 2023, eq. 8), one neuron at a time. Cells
are generators (vertices ``(x, 1)`` and unit rays ``(r, 0)``) with their incidences as bit
masks (bit 0: the face at infinity, bit ``j + 1``: row ``j``); a hyperplane cuts a cell iff
generators lie strictly on both sides, and the new generators are the crossing points of the
adjacent ``(+, -)`` pairs (adjacency by the combinatorial test). This module does exactly that,
cell by cell instead of neuron by neuron over the batch, which changes nothing: a cell's cuts
never depend on another cell. Same tolerances, same pair order (``+`` generators in order,
then ``-``), same generator and row order in the children (``>= 0`` child first), so the
batches it returns equal ``relutopo.vertex_refine._refine_layer``'s
(``tests/test_kernels.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import tolerances as tol
from ..vertex_refine import CellBatch, _layer_setup

__all__ = ["refine_layer", "MapRecorder", "restrict"]

_jit = njit(cache=True, error_model="numpy")


class MapRecorder:
    """:func:`refine_layer` that also records the restricted maps ``(M, mu)`` of every cell it
    cuts, so that the finished regions' pre-activation maps on every layer are known
    (:class:`~relutopo.kernels.crossing.RegionMaps`, for the compiled facet crossing). The rows
    of all layers are appended to one growing array as they are recorded, and each cell carries
    its ancestors' row starts (``CellBatch.anc``): entry ``l`` is where the rows of its layer-``l``
    ancestor start (one row per neuron). The last hidden layer's rows are not recorded, only
    its offsets (``lazy_last``, for ``d >= 2`` and two hidden layers or more): the crossing
    recomputes them (:class:`~relutopo.kernels.crossing.RegionMaps`), which at 10^6 regions
    saves most of the maps' memory.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> from relutopo.vertex_refine import refine
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> rec = MapRecorder(net)
    >>> batches = list(refine(net, Box(-1, 1, dim=2), 2.0, layer=rec))
    >>> maps = rec.maps(np.concatenate([b.anc for b in batches]))
    >>> type(maps).__name__, maps.M.shape[1]
    ('RegionMaps', 2)
    """

    def __init__(self, net, lazy_last=True):
        from ..patterns import GrowingArray

        self.hidden = net.hidden_sizes
        self.d = net.input_dim
        self.M = GrowingArray((self.d,), np.float64)  # every recorded row, in recording order
        self.mu = GrowingArray((), np.float64)
        # the last layer's rows are recomputed by the crossing instead (RegionMaps.W_last); its
        # sums equal numpy.einsum's for d >= 2 (for d = 1 einsum sums differently: rows stored)
        L = len(self.hidden)
        self.W_last = np.ascontiguousarray(net.weights[L - 1], dtype=np.float64) \
            if lazy_last and L >= 2 and self.d >= 2 else None
        self.mu_last = GrowingArray((), np.float64)
        self.hints = {}  # layer -> output per input (cells, generators, rows), see CAPACITY_HINTS

    def __call__(self, b, net, l, scale, offset, last):
        if b.anc is None:
            b.anc = np.zeros((b.n, 0), dtype=np.int64)
        return refine_layer(b, net, l, scale, offset, last, recorder=self)

    def record(self, l, b_anc, M, mu):
        """Record the maps ``M (n, h, d)``, ``mu (n, h)`` of ``n`` cells of layer ``l``; returns the
        cells' ancestors with, appended, the row where each cell's rows start."""
        n, h = mu.shape
        if self.W_last is not None and l == len(self.hidden) - 1:  # offsets only (see __init__)
            base = len(self.mu_last)
            self.mu_last.append(mu.reshape(-1))
        else:
            base = len(self.mu)
            self.M.append(M.reshape(-1, self.d))
            self.mu.append(mu.reshape(-1))
        return np.concatenate([b_anc, (base + h * np.arange(n, dtype=np.int64))[:, None]], axis=1)

    def maps(self, anc):
        """:class:`~relutopo.kernels.crossing.RegionMaps` of the regions with ancestors ``anc``
        (their rows' starts, layer by layer). The recorder hands its rows over: it is spent."""
        from .crossing import RegionMaps

        return RegionMaps(M=self.M.take(), mu=self.mu.take(), rowbase=np.ascontiguousarray(anc, dtype=np.int64),
                          kstride=np.ones(len(self.hidden), dtype=np.int64), W_last=self.W_last,
                          mu_last=None if self.W_last is None else self.mu_last.take())


#: initial buffer capacities of :func:`refine_layer`: output cells per input cell, and the
#: per-cell pool in generators per generator of the largest input cell. Buffers grow
#: geometrically when full (the output resumes at the cell that did not fit, the pool redoes
#: that cell) and are trimmed at the end; tests shrink these to force many growths.
INITIAL_CAPACITY = {"cells_per_cell": 4, "pool_per_generator": 32}

#: with a :class:`MapRecorder`, size the output buffers of a layer's next batch by the most
#: that layer's earlier batches needed per input cell, generator and row (a quarter to spare),
#: instead of ``INITIAL_CAPACITY``: fewer growths (tests turn this off to force them)
CAPACITY_HINTS = True


def _resized(a, m):
    """``a`` (a buffer of this module, referenced nowhere else) with first-axis length ``m``,
    its leading entries kept: ``realloc`` in place (pages remapped, not copied, for large
    buffers), both to grow a full buffer and to trim the finished output."""
    a.resize((m,) + a.shape[1:], refcheck=False)
    return a


def _capacity(cap, used, done, n):
    """The next capacity of an output buffer that is full after ``done`` of ``n`` input cells
    filled ``used`` entries: at least twice ``cap``, and the rate so far extrapolated to all
    ``n`` cells with a quarter to spare."""
    if done == 0:
        return 2 * cap
    return max(2 * cap, int(used / done * n * 1.25) + 64)


def restrict(W, G, mu, wnorm):
    """The restricted rows of a layer and their checks, compiled, in one pass over the cells:
    ``M = numpy.einsum("ij,njd->nid", W, G)``, the rows' norms (squares summed in order of the
    coordinate, as ``relutopo.vertex_refine.row_norms_3d``), which rows count as zero
    (``norm <= ZERO_ROW_RTOL * |W_i| * max(max |G| on the cell, TINY)``) and the bits of those
    (``mu > 0``): what ``relutopo.vertex_refine._layer_setup`` computes with numpy. For
    ``d >= 2`` einsum sums each entry of ``M`` over ``j`` in order from zero, which ``_restrict``
    does too, skipping the zero rows of ``G`` (the neurons that are off: their terms are zeros,
    which leave the sum as it is); for ``d = 1`` einsum sums in another order and is called
    itself.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W, G = rng.normal(size=(5, 4)), rng.normal(size=(3, 4, 2)) * (rng.random((3, 4, 1)) < 0.5)
    >>> M, norms, zero_row, Lb = restrict(W, G, rng.normal(size=(3, 5)), np.linalg.norm(W, axis=1))
    >>> bool(np.array_equal(M, np.einsum("ij,njd->nid", W, G)))
    True
    """
    W = np.ascontiguousarray(W, dtype=np.float64)
    G = np.ascontiguousarray(G, dtype=np.float64)
    mu = np.ascontiguousarray(mu, dtype=np.float64)
    if G.shape[2] < 2:
        M = np.einsum("ij,njd->nid", W, G)
        return (M, *_checks(M, G, mu, wnorm, tol.ZERO_ROW_RTOL, tol.TINY))
    M = _restrict(W, G)
    return (M, *_checks(M, G, mu, wnorm, tol.ZERO_ROW_RTOL, tol.TINY))


@_jit
def _children(bits, M, mu, parent, Lc):
    """The new cells' bits (the parent's, then the layer's), maps ``G = M[parent] * Lc`` and
    offsets ``g = mu[parent] * Lc`` (a bit times a float as numpy multiplies them: ``-0.0``
    where a negative entry meets a 0 bit)."""
    n, h = Lc.shape
    d = M.shape[2]
    nb = bits.shape[1]
    out = np.empty((n, nb + h), dtype=np.bool_)
    G = np.empty((n, h, d))
    g = np.empty((n, h))
    for c in range(n):
        p = parent[c]
        for j in range(nb):
            out[c, j] = bits[p, j]
        for i in range(h):
            on = Lc[c, i]
            out[c, nb + i] = on
            f = 1.0 if on else 0.0
            for e in range(d):
                G[c, i, e] = M[p, i, e] * f
            g[c, i] = mu[p, i] * f
    return out, G, g


@_jit
def _checks(M, G, mu, wnorm, rtol, tiny):
    """Norms, zero rows and their bits of ``M (n, h, d)`` (see :func:`restrict`)."""
    n, h, d = M.shape
    norms = np.empty((n, h))
    zero = np.empty((n, h), dtype=np.bool_)
    Lb = np.empty((n, h), dtype=np.bool_)
    for c in range(n):
        gm = 0.0
        for j in range(G.shape[1]):
            for e in range(G.shape[2]):
                a = abs(G[c, j, e])
                if a > gm:
                    gm = a
        gm = max(gm, tiny)
        for i in range(h):
            s = M[c, i, 0] * M[c, i, 0]
            for e in range(1, d):
                s = s + M[c, i, e] * M[c, i, e]
            r = np.sqrt(s)
            norms[c, i] = r
            z = r <= rtol * (wnorm[i] * gm)
            zero[c, i] = z
            Lb[c, i] = z and mu[c, i] > 0
    return norms, zero, Lb


@_jit
def _restrict(W, G):
    n, hp, d = G.shape
    h = W.shape[0]
    M = np.empty((n, h, d))
    act = np.empty(hp, dtype=np.int64)
    for c in range(n):
        na = 0
        for j in range(hp):
            nz = False
            for e in range(d):
                if G[c, j, e] != 0.0:
                    nz = True
            if nz:
                act[na] = j
                na += 1
        for i in range(h):
            for e in range(d):
                M[c, i, e] = 0.0
            for t in range(na):  # each column's sum in order of j (independent columns)
                j = act[t]
                w = W[i, j]
                for e in range(d):
                    M[c, i, e] += w * G[c, j, e]
    return M


def refine_layer(b, net, l, scale, offset, last, recorder=None):
    """``relutopo.vertex_refine._refine_layer`` with the compiled cutting.

    Examples
    --------
    The compiled cutting gives the same cells as the numpy one:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> from relutopo.vertex_refine import refine
    >>> net = ReluNet.from_weights([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones((1, 3))],
    ...                            [np.array([0.0, 0.0, -0.5]), np.zeros(1)])
    >>> sum(b.n for b in refine(net, Box(-1, 1, dim=2), 2.0, layer=refine_layer))
    7
    """
    anc = b.anc
    setup = _layer_setup(b, net, l, offset, last, restrict)
    if not isinstance(setup, tuple):
        if recorder is not None:
            raise NotImplementedError("a whole-space layer without cuts")  # rank-reduced first
        return setup
    b, M, mu, norms, zero_row, Lb, fixed = setup
    if recorder is not None:
        if len(anc) != b.n:  # the whole-space root became its orthants
            anc = np.repeat(anc, b.n, axis=0)
        anc = recorder.record(l, anc, np.ascontiguousarray(M), np.ascontiguousarray(mu))
    d, h = net.input_dim, M.shape[1]
    n = b.n
    tl = tol.VERTEX_RTOL * norms
    nrow = b.rptr[1:] - b.rptr[:-1]
    rn_max = int(nrow.max(initial=0))
    words = max(b.Z.shape[1], (rn_max + h + 1) // 64 + 1)
    Z = b.Z if b.Z.shape[1] == words else np.hstack(
        [b.Z, np.zeros((len(b.Z), words - b.Z.shape[1]), dtype=np.uint64)])
    ng = b.gptr[1:] - b.gptr[:-1]
    cap = INITIAL_CAPACITY
    # output: grown geometrically, the kernel resuming at the first cell that did not fit
    n_in, g_in, r_in = n, int(ng.sum()), int(nrow.sum()) + n
    n_cap = max(1, cap["cells_per_cell"] * n_in)
    g_cap = max(1, cap["cells_per_cell"] * g_in)
    r_cap = max(1, cap["cells_per_cell"] * r_in)
    hint = recorder.hints.get(l) if recorder is not None and CAPACITY_HINTS else None
    if hint is not None:  # the most this layer's earlier batches needed, with a quarter to spare
        n_cap, g_cap, r_cap = (int(q * m * 1.25) + 64 for q, m in zip(hint, (n_in, g_in, r_in)))
    o_gptr = np.zeros(n_cap + 1, dtype=np.int64)
    o_rptr = np.zeros(n_cap + 1, dtype=np.int64)
    oV = np.empty((g_cap, d + 1))
    oZ = np.empty((g_cap, words), dtype=np.uint64)
    oA = np.empty((r_cap, d))
    oc = np.empty(r_cap)
    oid = np.empty(r_cap, dtype=np.int64)
    oL = np.empty((n_cap, h), dtype=np.bool_)
    opar = np.empty(n_cap, dtype=np.int64)
    # the pool of one cell's sub-cells along its depth-first path (a stack: small)
    gp = max(2, cap["pool_per_generator"] * int(ng.max(initial=1)))
    rp = max(2, (cap["pool_per_generator"] // 2) * (h + 1) * (rn_max + h + 1))  # rows of the children
    i, no, nv, nr = 0, 0, 0, 0
    pool = None
    while True:
        if pool is None:
            sp = 2 * h + 4
            pool = (np.empty((gp, d + 1)), np.empty((gp, words), dtype=np.uint64), np.empty((gp, h)),
                    np.empty((rp, d)), np.empty(rp), np.empty(rp, dtype=np.int64),
                    np.empty((sp, 4), dtype=np.int64), np.empty((sp, h), dtype=np.bool_),
                    np.empty((h + 2, 5), dtype=np.int64),
                    np.empty((rn_max + h + 2, gp // 64 + 1), dtype=np.uint64))
        status, i, no, nv, nr = _cut_cells(
            b.V, Z, b.gptr, b.A, b.c, b.ids, b.rptr, M, mu, tl, zero_row, Lb, fixed, d, float(scale),
            offset, i, no, nv, nr, o_gptr, o_rptr, oV, oZ, oA, oc, oid, oL, opar, *pool)
        if status == 0:
            break
        if status == 1:  # the output is full: more room, keeping what was written
            n_cap = _capacity(len(opar), no, i, n)
            g_cap = _capacity(len(oV), nv, i, n)
            r_cap = _capacity(len(oA), nr, i, n)
            o_gptr, o_rptr = _resized(o_gptr, n_cap + 1), _resized(o_rptr, n_cap + 1)
            oL, opar = _resized(oL, n_cap), _resized(opar, n_cap)
            oV, oZ = _resized(oV, g_cap), _resized(oZ, g_cap)
            oA, oc, oid = _resized(oA, r_cap), _resized(oc, r_cap), _resized(oid, r_cap)
        else:  # one cell's pool is too small: a larger pool, and that cell again
            gp, rp, pool = 2 * gp, 2 * rp, None
    del pool
    nb = CellBatch()  # trimmed in place: views would keep the generous buffers alive
    nb.V, nb.Z, nb.gptr = _resized(oV, nv), _resized(oZ, nv), _resized(o_gptr, no + 1)
    nb.A, nb.c, nb.ids, nb.rptr = _resized(oA, nr), _resized(oc, nr), _resized(oid, nr), _resized(o_rptr, no + 1)
    parent = _resized(opar, no)
    Lc = _resized(oL, no)
    nb.anc = None if recorder is None else anc[parent]
    if last:
        nb.bits = np.concatenate([b.bits[parent], Lc], axis=1)
        nb.G = nb.g = None
    else:  # numpy.concatenate([b.bits[parent], Lc], axis=1), M[parent] * Lc[:, :, None] and
        nb.bits, nb.G, nb.g = _children(b.bits, M, mu, parent, Lc)  # mu[parent] * Lc, at once
    nb.whole = False
    if recorder is not None:
        used = (no / max(n_in, 1), nv / max(g_in, 1), nr / max(r_in, 1))
        recorder.hints[l] = used if hint is None else tuple(max(a, b) for a, b in zip(hint, used))
    return nb


@_jit
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@_jit
def _cut_cells(V, Z, gptr, A, c, ids, rptr, M, mu, tl, zero_row, Lb, fixed, d, scale, offset,
               i0, no, nv, nr, o_gptr, o_rptr, oV, oZ, oA, oc, oid, oL, opar,
               PV, PZ, PH, RA, Rc, Rid, sub, sL, stk, GM):
    """Cut cells ``i0, i0 + 1, ...`` by every neuron not ``fixed``, appending their sub-cells to
    the caller's output buffers (``no, nv, nr`` cells, generators and rows written so far).

    A cell is cut depth first: a sub-cell is cut by the next neuron that cuts it into its
    ``>= 0`` (hi) and ``<= 0`` (lo) children, hi is finished before lo, and a sub-cell that no
    remaining neuron cuts is emitted. This emits the sub-cells in the order of cutting every
    sub-cell by neuron ``k`` in place, ``k`` by ``k`` (a sub-cell's cuts never depend on
    another's), while the pool holds only the sub-cells along one path: generators ``PV, PZ``
    with their values ``PH`` on every neuron, rows ``RA, Rc, Rid``, ``sub[s] = (gen start, gen
    count, row start, row count)`` and bits ``sL[s]``, reclaimed last in first out (``stk``:
    pending sub-cells with their first neuron and the pool tops to restore); ``GM`` holds the
    rows' generator masks of one cut.

    Returns ``(status, i, no, nv, nr)``: status 0 when every cell is done; 1 when the output is
    full and 2 when the pool (or ``GM``) is too small for cell ``i``, with the counts written
    before cell ``i`` (grow, then call again from cell ``i``).
    """
    n = len(gptr) - 1
    h = M.shape[1]
    W = PZ.shape[1]
    n_cap, g_cap, r_cap = opar.shape[0], oV.shape[0], oA.shape[0]
    gp, rp, sp = PV.shape[0], RA.shape[0], sub.shape[0]
    above = np.empty(gp, dtype=np.bool_)
    below = np.empty(gp, dtype=np.bool_)
    common = np.empty(W, dtype=np.uint64)
    acc = np.empty(GM.shape[1], dtype=np.uint64)
    full = ~np.uint64(0)
    for i in range(i0, n):
        no_i, nv_i, nr_i = no, nv, nr
        g0, gn = gptr[i], gptr[i + 1] - gptr[i]
        r0, rn = rptr[i], rptr[i + 1] - rptr[i]
        if gn > gp or rn > rp:
            return 2, i, no_i, nv_i, nr_i
        for a in range(gn):
            for j in range(d + 1):
                PV[a, j] = V[g0 + a, j]
            for w in range(W):
                PZ[a, w] = Z[g0 + a, w] if w < Z.shape[1] else np.uint64(0)
            for k in range(h):
                s = 0.0
                for j in range(d):
                    s += PV[a, j] * M[i, k, j]
                PH[a, k] = s + PV[a, d] * mu[i, k]
        for a in range(rn):
            for j in range(d):
                RA[a, j] = A[r0 + a, j]
            Rc[a] = c[r0 + a]
            Rid[a] = ids[r0 + a]
        sub[0, 0], sub[0, 1], sub[0, 2], sub[0, 3] = 0, gn, 0, rn
        for k in range(h):
            sL[0, k] = Lb[i, k]
        # stack entry: sub-cell, first neuron, and the pool tops (generators, rows, sub-cells)
        stk[0, 0], stk[0, 1], stk[0, 2], stk[0, 3], stk[0, 4] = 0, 0, gn, rn, 1
        depth = 1
        while depth > 0:
            depth -= 1
            s, k0 = stk[depth, 0], stk[depth, 1]
            gtop, rtop, nsub = stk[depth, 2], stk[depth, 3], stk[depth, 4]
            sg0, sgn, sr0, srn = sub[s, 0], sub[s, 1], sub[s, 2], sub[s, 3]
            kc = -1
            npos = 0
            nneg = 0
            for k in range(k0, h):
                if fixed[k]:
                    continue
                pos = False
                neg = False
                npos = 0
                nneg = 0
                for a in range(sg0, sg0 + sgn):
                    tv = tl[i, k] * (scale if PV[a, d] > 0 else 1.0)
                    above[a] = PH[a, k] > tv
                    below[a] = PH[a, k] < -tv
                    if above[a]:
                        pos = True
                        npos += 1
                    if below[a]:
                        neg = True
                        nneg += 1
                if zero_row[i, k]:
                    continue
                sL[s, k] = pos
                if pos and neg:
                    kc = k
                    break
            if kc < 0:  # no neuron left cuts it: emit
                if no + 1 > n_cap or nv + sgn > g_cap or nr + srn > r_cap:
                    return 1, i, no_i, nv_i, nr_i
                for a in range(sgn):
                    for j in range(d + 1):
                        oV[nv + a, j] = PV[sg0 + a, j]
                    for w in range(W):
                        oZ[nv + a, w] = PZ[sg0 + a, w]
                for a in range(srn):
                    for j in range(d):
                        oA[nr + a, j] = RA[sr0 + a, j]
                    oc[nr + a] = Rc[sr0 + a]
                    oid[nr + a] = Rid[sr0 + a]
                nv += sgn
                nr += srn
                for kk in range(h):
                    oL[no, kk] = sL[s, kk]
                opar[no] = i
                no += 1
                o_gptr[no] = nv
                o_rptr[no] = nr
                continue
            k = kc
            # ---- the children: >= 0 (hi) then <= 0 (lo); new generators at the end of each
            n_hi = sgn - nneg
            n_lo = sgn - npos
            GW = (sgn + 63) // 64
            nbit = srn + 1
            if (nsub + 2 > sp or depth + 2 > stk.shape[0] or rtop + 2 * (srn + 1) > rp
                    or gtop + n_hi + n_lo > gp or GW > GM.shape[1] or nbit > GM.shape[0]):
                return 2, i, no_i, nv_i, nr_i
            row = srn  # index of the new row in both children; incidence bit row + 1
            wd, bt = (row + 1) // 64, np.uint64((row + 1) % 64)
            flag = np.uint64(1) << bt
            # zero generators get the new row's bit (they lie on the hyperplane)
            for a in range(sg0, sg0 + sgn):
                if not above[a] and not below[a]:
                    PZ[a, wd] |= flag
            hi_g = gtop
            new0 = hi_g + n_hi  # new generators are written once, after hi's old ones
            n_new = 0
            # generator masks of the rows (incidence bits 0 .. srn): GM[bit, word]
            for bb in range(nbit):
                for gw in range(GW):
                    GM[bb, gw] = np.uint64(0)
            for a in range(sgn):
                ga = np.uint64(1) << np.uint64(a & 63)
                for w in range(W):
                    x = PZ[sg0 + a, w]
                    while x != np.uint64(0):
                        low = x & (~x + np.uint64(1))
                        bpos = 64 * w + int(_popcount(low - np.uint64(1)))
                        x ^= low
                        if bpos < nbit:
                            GM[bpos, a >> 6] |= ga
            rem = sgn - 64 * (GW - 1)
            last_mask = full if rem == 64 else (np.uint64(1) << np.uint64(rem)) - np.uint64(1)
            for p in range(sg0, sg0 + sgn):
                if not above[p]:
                    continue
                for q in range(sg0, sg0 + sgn):
                    if not below[q]:
                        continue
                    cnt = 0
                    for w in range(W):
                        common[w] = PZ[p, w] & PZ[q, w]
                        cnt += _popcount(common[w])
                    if cnt < d - 1:
                        continue
                    # adjacent iff no other generator's incidences contain ``common``: the
                    # generators incident to every row of ``common`` (AND of the rows'
                    # generator masks) must be p and q only
                    for gw in range(GW):
                        acc[gw] = full
                    acc[GW - 1] = last_mask
                    stray = False
                    for w in range(W):
                        x = common[w]
                        while x != np.uint64(0):
                            low = x & (~x + np.uint64(1))
                            bpos = 64 * w + int(_popcount(low - np.uint64(1)))
                            x ^= low
                            if bpos >= nbit:
                                stray = True
                                break
                            for gw in range(GW):
                                acc[gw] &= GM[bpos, gw]
                        if stray:
                            break
                    if stray:  # a bit outside the sub-cell's rows: test generator by generator
                        adj = True
                        for g in range(sg0, sg0 + sgn):
                            if g == p or g == q:
                                continue
                            inside = True
                            for w in range(W):
                                if (common[w] & ~PZ[g, w]) != 0:
                                    inside = False
                                    break
                            if inside:
                                adj = False
                                break
                    else:
                        pa, qa = p - sg0, q - sg0
                        acc[pa >> 6] &= ~(np.uint64(1) << np.uint64(pa & 63))
                        acc[qa >> 6] &= ~(np.uint64(1) << np.uint64(qa & 63))
                        adj = True
                        for gw in range(GW):
                            if acc[gw] != np.uint64(0):
                                adj = False
                                break
                    if not adj:
                        continue
                    t = new0 + n_new
                    if t + 1 + n_lo + n_new + 1 > gp:  # room for it here and in lo
                        return 2, i, no_i, nv_i, nr_i
                    vp, vq = PH[p, k], PH[q, k]
                    for j in range(d + 1):
                        PV[t, j] = vp * PV[q, j] - vq * PV[p, j]
                    tt = PV[t, d]
                    if tt > 0:
                        for j in range(d + 1):
                            PV[t, j] /= tt
                    else:
                        PV[t, d] = 0.0
                        s2 = 0.0
                        for j in range(d):
                            s2 += PV[t, j] * PV[t, j]
                        nrm = np.sqrt(s2)
                        for j in range(d):
                            PV[t, j] = PV[t, j] / nrm
                    for w in range(W):
                        PZ[t, w] = common[w]
                    PZ[t, wd] |= flag
                    for kk in range(k + 1, h):  # neurons <= k are done with
                        sv = 0.0
                        for j in range(d):
                            sv += PV[t, j] * M[i, kk, j]
                        PH[t, kk] = sv + PV[t, d] * mu[i, kk]
                    n_new += 1
            # hi: old generators with value >= 0 (in order) at hi_g.., then the new ones
            # (already in place right after them)
            a2 = hi_g
            for a in range(sg0, sg0 + sgn):
                if not below[a]:
                    _copy_gen(PV, PZ, PH, a, a2)
                    a2 += 1
            lo_g = new0 + n_new
            a2 = lo_g
            for a in range(sg0, sg0 + sgn):
                if not above[a]:
                    _copy_gen(PV, PZ, PH, a, a2)
                    a2 += 1
            for a in range(n_new):
                _copy_gen(PV, PZ, PH, new0 + a, a2 + a)
            gtop = a2 + n_new
            # rows: the parent's, then the cut row (hi: -m x <= mu; lo: m x <= -mu)
            hi_r, lo_r = rtop, rtop + srn + 1
            for a in range(srn):
                for j in range(d):
                    RA[hi_r + a, j] = RA[sr0 + a, j]
                    RA[lo_r + a, j] = RA[sr0 + a, j]
                Rc[hi_r + a] = Rc[sr0 + a]
                Rc[lo_r + a] = Rc[sr0 + a]
                Rid[hi_r + a] = Rid[sr0 + a]
                Rid[lo_r + a] = Rid[sr0 + a]
            for j in range(d):
                RA[hi_r + srn, j] = -M[i, k, j]
                RA[lo_r + srn, j] = M[i, k, j]
            Rc[hi_r + srn] = mu[i, k]
            Rc[lo_r + srn] = -mu[i, k]
            Rid[hi_r + srn] = offset + k
            Rid[lo_r + srn] = offset + k
            rtop = lo_r + srn + 1
            hs, ls = nsub, nsub + 1
            nsub += 2
            sub[hs, 0], sub[hs, 1], sub[hs, 2], sub[hs, 3] = hi_g, n_hi + n_new, hi_r, srn + 1
            sub[ls, 0], sub[ls, 1], sub[ls, 2], sub[ls, 3] = lo_g, n_lo + n_new, lo_r, srn + 1
            for kk in range(h):
                sL[hs, kk] = sL[s, kk]
                sL[ls, kk] = sL[s, kk]
            sL[ls, k] = False
            # lo waits below hi; both keep the pool up to lo's end until they are done
            stk[depth, 0], stk[depth, 1], stk[depth, 2], stk[depth, 3], stk[depth, 4] = \
                ls, k + 1, gtop, rtop, nsub
            stk[depth + 1, 0], stk[depth + 1, 1], stk[depth + 1, 2], stk[depth + 1, 3], \
                stk[depth + 1, 4] = hs, k + 1, gtop, rtop, nsub
            depth += 2
    return 0, n, no, nv, nr


@_jit
def _copy_gen(PV, PZ, PH, a, b):
    if a == b:
        return
    for j in range(PV.shape[1]):
        PV[b, j] = PV[a, j]
    for w in range(PZ.shape[1]):
        PZ[b, w] = PZ[a, w]
    for k in range(PH.shape[1]):
        PH[b, k] = PH[a, k]


def facets(batch, d, scale):
    """:func:`relutopo.decompose._facets` compiled: ``(frows, fpts, fptr, bounded, hint,
    direction)`` of a batch's cells (``direction`` is ``None`` when every cell is bounded)."""
    n = batch.n
    frows = np.empty(len(batch.c), dtype=np.int64)
    fpts = np.empty((len(batch.c), d))
    fptr = np.zeros(n + 1, dtype=np.int64)
    bounded = np.empty(n, dtype=np.bool_)
    hint = np.empty((n, d))
    direction = np.empty((n, d))
    nf = _facets(batch.V, batch.Z, batch.gptr, batch.rptr, d, scale, frows, fpts, fptr, bounded, hint,
                 direction)
    return frows[:nf], fpts[:nf], fptr, bounded, hint, (None if bounded.all() else direction)


@_jit
def _facets(V, Z, gptr, rptr, d, scale, frows, fpts, fptr, bounded, hint, direction):
    """Row ``j`` of a cell carries a facet iff its face ``F_j`` (incident generators) holds a
    vertex, has at least ``d`` generators, is not the whole cell, and is inclusion-maximal:
    every row incident to all of ``F_j`` has as many generators (purely combinatorial). The
    facet point is the mean incident vertex plus ``scale`` times the mean incident ray."""
    n = len(gptr) - 1
    W = Z.shape[1]
    nf = 0
    maxr = 0
    for i in range(n):
        maxr = max(maxr, rptr[i + 1] - rptr[i])
    cnt = np.zeros(maxr, dtype=np.int64)
    T = np.empty(W, dtype=np.uint64)
    sv = np.empty(d)
    sr = np.empty(d)
    for i in range(n):
        g0, g1 = gptr[i], gptr[i + 1]
        nr = rptr[i + 1] - rptr[i]
        ng = g1 - g0
        # per-cell hint and boundedness
        nvc = 0
        for j in range(d):
            hint[i, j] = 0.0
            direction[i, j] = 0.0
        for g in range(g0, g1):
            if V[g, d] > 0:
                nvc += 1
                for j in range(d):
                    hint[i, j] += V[g, j]
            else:
                for j in range(d):
                    direction[i, j] += V[g, j]
        nrc = ng - nvc
        bounded[i] = nrc == 0
        for j in range(d):
            hint[i, j] /= max(nvc, 1)
            direction[i, j] /= max(nrc, 1)
            if nrc > 0:
                hint[i, j] += scale * direction[i, j]
        # incidence counts per row
        for r in range(nr):
            c = 0
            w, bt = (r + 1) // 64, np.uint64((r + 1) % 64)
            for g in range(g0, g1):
                if (Z[g, w] >> bt) & np.uint64(1):
                    c += 1
            cnt[r] = c
        for r in range(nr):
            w, bt = (r + 1) // 64, np.uint64((r + 1) % 64)
            nv = 0
            for q in range(W):
                T[q] = ~np.uint64(0)
            for j in range(d):
                sv[j] = 0.0
                sr[j] = 0.0
            for g in range(g0, g1):
                if (Z[g, w] >> bt) & np.uint64(1):
                    for q in range(W):
                        T[q] &= Z[g, q]
                    if V[g, d] > 0:
                        nv += 1
                        for j in range(d):
                            sv[j] += V[g, j]
                    else:
                        for j in range(d):
                            sr[j] += V[g, j]
            c = cnt[r]
            if not (nv >= 1 and c >= d and c < ng):
                continue
            ok = True
            for k in range(nr):
                wk, bk = (k + 1) // 64, np.uint64((k + 1) % 64)
                if (T[wk] >> bk) & np.uint64(1) and cnt[k] != c:
                    ok = False
                    break
            if not ok:
                continue
            frows[nf] = rptr[i] + r
            nrr = c - nv
            for j in range(d):
                fpts[nf, j] = sv[j] / max(nv, 1) + scale * sr[j] / max(nrr, 1)
            nf += 1
        fptr[i + 1] = nf
    return nf
