"""Exact convex-polygon clipping for ``d = 2`` in a box, compiled (numba).

The compiled twin of :class:`relutopo.decompose._PolygonKernel` (``decompose(...,
method="polygon")``): cells are counter-clockwise vertex lists whose every edge carries its
halfspace ``a . x <= c`` and its neuron (or box face); hidden layer ``l`` cuts each cell of layer
``l - 1`` by the hyperplanes ``M x + mu = 0``, ``M = W_l G``, ``mu = W_l g + b_l`` (Liu et al.
2023, eq. 8) restricted to it, one neuron at a time, with both halves kept (Sutherland-Hodgman).
The same decisions in the same order: the same zero-row test (``ZERO_ROW_RTOL``), the same vertex
sign tolerance (``VERTEX_RTOL * scale * ||m||``), the same evaluation ``m0 x + m1 y + mu`` of
each vertex, the children in the same order (``<= 0`` half, then ``>= 0`` half, per cut). The
restricted maps of all cells of a chunk are one matrix product (BLAS) between compiled passes.

The numpy path and this one give the same cells (``tests/test_kernels.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import tolerances as tol
from .crossing import RegionMaps

__all__ = ["refine_polygons"]

_jit = njit(cache=True, error_model="numpy")
_inline = njit(cache=True, error_model="numpy", inline="always")

_VTOL = tol.VERTEX_RTOL
_ZTOL = tol.ZERO_ROW_RTOL
_TINY = tol.TINY

#: cells whose restricted maps are formed in one matrix product (bounds the memory of ``M``)
_CHUNK = 4096


def refine_polygons(net, domain, scale):
    """All cells of the last hidden layer of ``net`` in the box ``domain`` (``d = 2``).

    Returns ``(ptr, P, E, ids, bits, maps)``: cell ``i`` has the counter-clockwise vertices
    ``P[ptr[i]:ptr[i + 1]]`` and, for the edge leaving vertex ``j``, the halfspace ``E[j] =
    (a0, a1, c)`` (``a . x <= c``) carried by neuron ``ids[j]`` (``-1 - f`` for box face
    ``f``); ``bits`` is ``(n, n_hidden)`` bool, in the order of the numpy polygon kernel;
    ``maps`` (:class:`~relutopo.kernels.crossing.RegionMaps`) the pre-activation maps of every
    layer on every cell, which the refinement computed anyway.

    Examples
    --------
    The four square cells of a 2 -> 2 -> 1 network on ``[-1, 1]^2``, each with four edges:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> ptr, P, E, ids, bits, maps = refine_polygons(net, Box(-1, 1, dim=2), 2.0)
    >>> ptr.tolist(), bits.astype(int).tolist()
    ([0, 4, 8, 12, 16], [[0, 0], [0, 1], [1, 0], [1, 1]])
    """
    ptr, P, E, ids = _box_cell(domain.lo, domain.hi)
    bits = np.zeros((1, 0), dtype=np.bool_)
    rowbase = np.zeros((1, 0), dtype=np.int64)
    offsets = net.layer_offsets
    L = len(net.hidden_sizes)
    maps = []
    head = 0  # rows of the maps of the layers before l
    for l in range(L):
        W, b = net.weights[l], net.biases[l]
        h = W.shape[0]
        wnorm = np.sqrt(np.einsum("ij,ij->i", W, W))
        n = len(ptr) - 1
        if l == 0:  # G = I, g = 0 on the box
            M = np.ascontiguousarray(W[None, :, :])
            mu = np.ascontiguousarray(b[None, :])
            gmax = np.ones(1)
        else:
            # the restricted rows M = W_l G of every cell, G = M_prev[parent] masked by the
            # parent layer's bits: one matrix product per chunk of cells, (h, cells, 2), then
            # laid out cell by cell (the kernels read one cell's rows together)
            Mp, mup = maps[-1]
            hp = Mp.shape[1]
            if l == L - 1:  # the largest maps: written straight into the regions' flat buffer
                flat, flat_mu = np.empty((head + n * h, 2)), np.empty(head + n * h)
                M, mu = flat[head:].reshape(n, h, 2), flat_mu[head:].reshape(n, h)
            else:
                M, mu = np.empty((n, h, 2)), np.empty((n, h))
            gmax = np.empty(n)
            # the chunks' operands and products, in buffers reused from chunk to chunk (fresh
            # temporaries cost a page fault per page, every chunk; one buffer each, of the sizes
            # of numpy's temporaries, which malloc serves as well as it did those); the products
            # are the same calls as ever (the same shapes: BLAS's sums depend on them)
            m = min(n, _CHUNK)
            Gb, gb, Cb, cb = np.empty(2 * hp * m), np.empty(hp * m), np.empty(2 * h * m), np.empty(h * m)
            for s in range(0, n, _CHUNK):
                e = min(n, s + _CHUNK)
                k = e - s
                Gt, gt = Gb[:2 * hp * k].reshape(hp, 2 * k), gb[:hp * k].reshape(hp, k)
                C, c = Cb[:2 * h * k].reshape(h, 2 * k), cb[:h * k].reshape(h, k)
                _gather(Mp, mup, parent[s:e], bits[s:e], int(offsets[l - 1]), gmax[s:e], Gt, gt)
                _scatter(np.matmul(W, Gt, out=C), np.matmul(W, gt, out=c), b, M[s:e], mu[s:e])
        ptr, P, E, ids, bits, rowbase, parent = _arrange(ptr, P, E, ids, M, mu, wnorm, gmax, float(scale),
                                                         int(offsets[l]), bits, rowbase, head)
        maps.append((M, mu))
        head += M.shape[0] * M.shape[1]
    if L > 1:  # the earlier (smaller) layers' maps go in front of the last one's
        pos = 0
        for m, mv in maps[:-1]:
            k = m.shape[0] * m.shape[1]
            flat[pos:pos + k] = m.reshape(-1, 2)
            flat_mu[pos:pos + k] = mv.reshape(-1)
            pos += k
    else:
        flat, flat_mu = maps[0][0].reshape(-1, 2), maps[0][1].reshape(-1)
    return ptr, P, E, ids, bits, RegionMaps(M=flat, mu=flat_mu, rowbase=rowbase,
                                            kstride=np.ones(L, dtype=np.int64))


@_jit
def _box_cell(lo, hi):
    """The box ``[lo, hi]`` as the one cell of layer 0: ``(ptr, P, E, ids)``, counter-clockwise
    from ``lo``, the edge leaving each vertex on box face ``-x_1 <= -lo_1`` (id -3), ``x_0 <=
    hi_0`` (-2), ``x_1 <= hi_1`` (-4), ``-x_0 <= -lo_0`` (-1)."""
    x0, y0, x1, y1 = lo[0], lo[1], hi[0], hi[1]
    ptr = np.array([0, 4], dtype=np.int64)
    P = np.empty((4, 2))
    P[0, 0], P[0, 1], P[1, 0], P[1, 1] = x0, y0, x1, y0
    P[2, 0], P[2, 1], P[3, 0], P[3, 1] = x1, y1, x0, y1
    E = np.zeros((4, 3))
    E[0, 1], E[0, 2] = -1.0, -y0
    E[1, 0], E[1, 2] = 1.0, x1
    E[2, 1], E[2, 2] = 1.0, y1
    E[3, 0], E[3, 2] = -1.0, -x0
    ids = np.array([-3, -2, -4, -1], dtype=np.int64)
    return ptr, P, E, ids


@_jit
def _gather(Mp, mup, parent, bits, col, gmax, Gt, gt):
    """``Gt[j, 2 i + c] = Mp[parent[i], j, c] * Lb[i, j]`` and ``gt[j, i] = mup[parent[i], j] *
    Lb[i, j]`` with ``Lb = bits[:, col:]`` the previous layer's bits (the maps of cell ``i``'s
    outputs, transposed for one matrix product, into the caller's buffers), and ``gmax[i] =
    max(max |G_i|, TINY)``."""
    hp = Mp.shape[1]
    n = len(parent)
    for i in range(n):
        gmax[i] = 0.0
    for j in range(hp):
        for i in range(n):
            p = parent[i]
            if bits[i, col + j]:
                a, b = Mp[p, j, 0], Mp[p, j, 1]
                Gt[j, 2 * i] = a
                Gt[j, 2 * i + 1] = b
                gt[j, i] = mup[p, j]
                gmax[i] = max(gmax[i], abs(a), abs(b))
            else:
                Gt[j, 2 * i] = 0.0
                Gt[j, 2 * i + 1] = 0.0
                gt[j, i] = 0.0
    for i in range(n):
        gmax[i] = max(gmax[i], _TINY)


#: cells and neurons of a tile of :func:`_scatter`
_TILE = 64


@_jit
def _scatter(C, c, b, M, mu):
    """``M[i, k, :] = C[k, 2 i:2 i + 2]`` and ``mu[i, k] = c[k, i] + b[k]``: the chunk's
    products laid out cell by cell (the transposed copy and the addition of the biases that
    numpy made), tile by tile, over the flat arrays (C-contiguous, all four)."""
    h, n = c.shape
    Cf, cf, Mf, muf = C.reshape(-1), c.reshape(-1), M.reshape(-1), mu.reshape(-1)
    for i0 in range(0, n, _TILE):
        i1 = min(n, i0 + _TILE)
        for k0 in range(0, h, _TILE):
            k1 = min(h, k0 + _TILE)
            for i in range(i0, i1):
                for k in range(k0, k1):
                    Mf[2 * (i * h + k)] = Cf[2 * (k * n + i)]
                    Mf[2 * (i * h + k) + 1] = Cf[2 * (k * n + i) + 1]
        for k0 in range(0, h, _TILE):
            k1 = min(h, k0 + _TILE)
            for i in range(i0, i1):
                for k in range(k0, k1):
                    muf[i * h + k] = cf[k * n + i] + b[k]


def _arrange(cptr, P, E, ids, M, mu, wnorm, gmax, scale, offset, pbits, prow, base, caps=None):
    """:func:`_arrange_chunk` with buffers it never has to grow inside: when one is full it
    returns, the buffer is doubled here (the output's filled part copied over) and it resumes at
    the cell that did not fit (numba keeps arrays that are reassigned inside loops in reference-
    counted temporaries, which made the loops several times slower). ``pbits`` and ``prow``
    are the cells' bits and first map rows of the earlier layers, which each child copies and
    extends by its bits on this layer and ``base + i h`` (cell ``i``'s first row of this
    layer's maps). ``caps``: the initial ``(cells, vertices, slots, pool vertices)`` instead of
    the estimates below (tests). Returns ``(ptr, P, E, ids, bits, rows, parent)``."""
    n, h = M.shape[0], M.shape[1]
    # h lines cut a convex cell into at most 1 + h + h(h-1)/2 cells, each cut adding two slots:
    # a lone cell (the first layer) is sized for that (capped), many cells for a few cuts each;
    # buffers that turn out too small are grown when needed
    bound = 1 + h + h * (h - 1) // 2
    n_cap = 6 * n + 64 if n > 1 else min(bound, 1 << 14) + 64
    v_cap = 6 * n_cap + 256
    sub_cap = min(2 * bound + 1, 1 << 15)
    pool_cap = 6 * sub_cap + 256
    if caps is not None:
        n_cap, v_cap, sub_cap, pool_cap = caps
    nprev, lp = pbits.shape[1], prow.shape[1]
    out = [np.zeros(n_cap + 1, dtype=np.int64), np.empty((v_cap, 2)), np.empty((v_cap, 3)),
           np.empty(v_cap, dtype=np.int64), np.empty((n_cap, nprev + h), dtype=np.bool_),
           np.empty((n_cap, lp + 1), dtype=np.int64), np.empty(n_cap, dtype=np.int64)]
    start, no, nv = 0, 0, 0
    while True:
        pool = np.empty((pool_cap, 2)), np.empty((pool_cap, 3)), np.empty(pool_cap, dtype=np.int64)
        subs = np.empty(sub_cap, dtype=np.int64), np.empty(sub_cap, dtype=np.int64), \
            np.empty((sub_cap, h), dtype=np.bool_), np.empty((2, sub_cap), dtype=np.int64)
        while True:
            status, start, no, nv, need_c, need_v = _arrange_chunk(
                cptr, P, E, ids, M, mu, wnorm, gmax, scale, offset, pbits, prow, base, start, no, nv,
                *out, *pool, *subs)
            if status != 1:
                break
            # the output is full: at least double it, to what cell ``start`` needs (it is redone),
            # keeping what is written (cells 0..no-1)
            n_cap, v_cap = max(2 * n_cap, need_c), max(2 * v_cap, need_v)
            caps = (n_cap + 1, v_cap, v_cap, v_cap, n_cap, n_cap, n_cap)
            grown = [np.zeros((c,) + a.shape[1:], dtype=a.dtype) for a, c in zip(out, caps)]
            for a, b in zip(out, grown):
                b[:len(a)] = a
            out = grown
        if status == 0:
            break
        pool_cap, sub_cap = 2 * pool_cap, 2 * sub_cap  # a cell's scratch is full: redo that cell
    # the filled parts, as views: the engine keeps none of these arrays beyond the assembly
    # (it packs the bits, narrows the ids and builds its own facet pointers), so copies would
    # only cost time
    optr, oP, oE, oids, obits, orow, oparent = out
    return (optr[:no + 1], oP[:nv], oE[:nv], oids[:nv], obits[:no], orow[:no], oparent[:no])


@_inline
def _copy_edge(pE, pid, dst, src):
    pE[dst, 0] = pE[src, 0]
    pE[dst, 1] = pE[src, 1]
    pE[dst, 2] = pE[src, 2]
    pid[dst] = pid[src]


@_inline
def _cut_edge(pE, pid, dst, a0, a1, c, kid):
    pE[dst, 0] = a0
    pE[dst, 1] = a1
    pE[dst, 2] = c
    pid[dst] = kid


@_jit
def _arrange_chunk(cptr, P, E, ids, M, mu, wnorm, gmax, scale, offset, pbits, prow, base, start, no,
                   nv, optr, oP, oE, oids, obits, orow, oparent, pP, pE, pid, sst, sln, sbits,
                   order):
    """Cut each cell of a chunk by its restricted hyperplanes ``M[i] x + mu[i] = 0``
    (:meth:`relutopo.decompose._PolygonKernel.arrange`, cell by cell), into the caller's
    buffers. A cell's sub-polygons live in slots (``sst``/``sln``: start and length in the
    vertex pool ``pP`` points, ``pE`` edge halfspaces, ``pid`` edge neurons; ``sbits`` their
    bits), listed in order by ``order[cb]``: a neuron that cuts a sub-polygon replaces its slot
    in the next list by two new slots (``<= 0`` half, then ``>= 0`` half) appended to the pool;
    one that does not only sets its bit, in place -- no sub-polygon is copied unless it is cut
    (copying every one per neuron was quadratic in the layer's width). Starts at cell ``start``
    with ``no`` cells and ``nv`` vertices already in the output. Returns ``(status, cell,
    cells, vertices, cells needed, vertices needed)``: status 0 when done, 1 when the output
    buffers (then the cells and vertices the output needs with cell ``cell``), 2 when the
    scratch buffers are too small for cell ``cell`` (the output holds the cells before it)."""
    n = len(cptr) - 1
    h = M.shape[1]
    nprev, lp = pbits.shape[1], prow.shape[1]
    rt = _VTOL * scale
    n_cap, v_cap = oparent.shape[0], oP.shape[0]
    pool_cap, sub_cap = pP.shape[0], sst.shape[0]
    norms = np.empty(h)
    hmax = np.empty(h)
    hmin = np.empty(h)
    Mf = M.reshape(-1)
    zero_row = np.zeros(h, dtype=np.bool_)
    pos = np.zeros(h, dtype=np.bool_)
    neg = np.zeros(h, dtype=np.bool_)
    vals = np.empty(pool_cap)
    sg = np.empty(pool_cap, dtype=np.int64)
    for i in range(start, n):
        a0, a1 = cptr[i], cptr[i + 1]
        nvi = a1 - a0
        if nvi > pool_cap:
            return 2, i, no, nv, 0, 0
        # each neuron's largest and smallest value over the cell's vertices, vertex by vertex
        # over contiguous slices of the cell's rows (vectorised across neurons); a vertex beyond
        # the tolerance on either side is then max > tv or min < -tv (nan never counts)
        Mi = Mf[2 * h * i:2 * h * (i + 1)]
        mui = mu[i]
        for k in range(h):
            hmax[k] = -np.inf
            hmin[k] = np.inf
        for v in range(a0, a1):
            px, py = P[v, 0], P[v, 1]
            for k in range(h):
                hv = px * Mi[2 * k] + py * Mi[2 * k + 1] + mui[k]
                hmax[k] = hv if hv > hmax[k] else hmax[k]
                hmin[k] = hv if hv < hmin[k] else hmin[k]
        gi = gmax[i]
        b0 = sbits[0]  # slot 0: the cell itself, with every neuron's bit on the cell
        for k in range(h):
            m0, m1 = Mi[2 * k], Mi[2 * k + 1]
            norms[k] = np.sqrt(m0 * m0 + m1 * m1)
            zero_row[k] = norms[k] <= _ZTOL * (wnorm[k] * gi)
            tv = rt * norms[k]
            pos[k] = not zero_row[k] and hmax[k] > tv
            neg[k] = not zero_row[k] and hmin[k] < -tv
            b0[k] = (zero_row[k] and mui[k] > 0) or (pos[k] and not neg[k])
        for v in range(nvi):
            pP[v, 0] = P[a0 + v, 0]
            pP[v, 1] = P[a0 + v, 1]
            pE[v, 0] = E[a0 + v, 0]
            pE[v, 1] = E[a0 + v, 1]
            pE[v, 2] = E[a0 + v, 2]
            pid[v] = ids[a0 + v]
        sst[0] = 0
        sln[0] = nvi
        top = nvi  # the pool's first free vertex
        nslot = 1
        order[0, 0] = 0
        ncur = 1
        cb = 0  # the list holding the current sub-polygons, in order
        for k in range(h):
            if zero_row[k] or not (pos[k] and neg[k]):
                continue
            m0, m1, mk = Mi[2 * k], Mi[2 * k + 1], mui[k]
            tk = rt * norms[k]
            kid = offset + k
            nb = 1 - cb
            nn = 0
            for j in range(ncur):
                s = order[cb, j]
                st, ln = sst[s], sln[s]
                vmax = -np.inf  # branch-free first: most neurons cut few sub-polygons
                vmin = np.inf
                for v in range(ln):
                    val = m0 * pP[st + v, 0] + m1 * pP[st + v, 1] + mk
                    vals[v] = val
                    vmax = val if val > vmax else vmax
                    vmin = val if val < vmin else vmin
                has_p = vmax > tk
                if not (has_p and vmin < -tk):
                    sbits[s, k] = has_p
                    order[nb, nn] = s
                    nn += 1
                    continue
                for v in range(ln):
                    val = vals[v]
                    sg[v] = 1 if val > tk else (-1 if val < -tk else 0)
                if top + 2 * (ln + 2) > pool_cap or nslot + 2 > sub_cap:
                    return 2, i, no, nv, 0, 0
                lo = top
                nl = 0
                hs = top + ln + 2
                nh = 0
                for v in range(ln):
                    w = v + 1 if v + 1 < ln else 0
                    si, sj = sg[v], sg[w]
                    if si <= 0:
                        pP[lo + nl, 0] = pP[st + v, 0]
                        pP[lo + nl, 1] = pP[st + v, 1]
                        if si < 0 or sj < 0:
                            _copy_edge(pE, pid, lo + nl, st + v)
                        else:
                            _cut_edge(pE, pid, lo + nl, m0, m1, -mk, kid)
                        nl += 1
                    if si >= 0:
                        pP[hs + nh, 0] = pP[st + v, 0]
                        pP[hs + nh, 1] = pP[st + v, 1]
                        if si > 0 or sj > 0:
                            _copy_edge(pE, pid, hs + nh, st + v)
                        else:
                            _cut_edge(pE, pid, hs + nh, -m0, -m1, mk, kid)
                        nh += 1
                    if si * sj < 0:
                        t = vals[v] / (vals[v] - vals[w])
                        px = pP[st + v, 0] + t * (pP[st + w, 0] - pP[st + v, 0])
                        py = pP[st + v, 1] + t * (pP[st + w, 1] - pP[st + v, 1])
                        pP[lo + nl, 0] = px
                        pP[lo + nl, 1] = py
                        pP[hs + nh, 0] = px
                        pP[hs + nh, 1] = py
                        if sj < 0:  # entering the negative side
                            _copy_edge(pE, pid, lo + nl, st + v)
                            _cut_edge(pE, pid, hs + nh, -m0, -m1, mk, kid)
                        else:
                            _cut_edge(pE, pid, lo + nl, m0, m1, -mk, kid)
                            _copy_edge(pE, pid, hs + nh, st + v)
                        nl += 1
                        nh += 1
                # the >= 0 half right after the <= 0 half
                for v in range(nh):
                    pP[lo + nl + v, 0] = pP[hs + v, 0]
                    pP[lo + nl + v, 1] = pP[hs + v, 1]
                    _copy_edge(pE, pid, lo + nl + v, hs + v)
                sst[nslot] = lo
                sln[nslot] = nl
                sst[nslot + 1] = lo + nl
                sln[nslot + 1] = nh
                bs, blo, bhi = sbits[s], sbits[nslot], sbits[nslot + 1]
                for b in range(h):
                    blo[b] = bs[b]
                    bhi[b] = bs[b]
                blo[k] = False
                bhi[k] = True
                order[nb, nn] = nslot
                order[nb, nn + 1] = nslot + 1
                nn += 2
                nslot += 2
                top = lo + nl + nh
            cb = nb
            ncur = nn
        # emit the sub-polygons of cell i
        need = 0
        for j in range(ncur):
            need += sln[order[cb, j]]
        if no + ncur > n_cap or nv + need > v_cap:
            return 1, i, no, nv, no + ncur, nv + need
        for j in range(ncur):
            s = order[cb, j]
            st, ln = sst[s], sln[s]
            for v in range(ln):
                oP[nv + v, 0] = pP[st + v, 0]
                oP[nv + v, 1] = pP[st + v, 1]
                oE[nv + v, 0] = pE[st + v, 0]
                oE[nv + v, 1] = pE[st + v, 1]
                oE[nv + v, 2] = pE[st + v, 2]
                oids[nv + v] = pid[st + v]
            nv += ln
            ob, bs, pb = obits[no], sbits[s], pbits[i]
            for b in range(nprev):  # the parent's bits, then this layer's
                ob[b] = pb[b]
            for b in range(h):
                ob[nprev + b] = bs[b]
            orow[no, lp] = base + i * h  # the first row of this layer's maps on cell i
            for q in range(lp):
                orow[no, q] = prow[i, q]
            oparent[no] = i
            no += 1
            optr[no] = nv
    return 0, n, no, nv, 0, 0


#: the longest run that :func:`_pairwise_sum` sums as numpy does without recursing (numpy's
#: ``PW_BLOCKSIZE``); polygons with more vertices leave their means to numpy
_PW_BLOCK = 128


@_inline
def _pairwise_sum(P, a, n, j):
    """``P[a:a + n, j].sum()`` as numpy's ``pairwise_sum`` adds a run of ``n <= 128`` numbers
    (the inner loop of ``np.add.reduce`` and ``reduceat``): one by one from ``-0.0`` below 8,
    else in eight interleaved partial sums combined pairwise, the remainder added last."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += P[a + i, j]
        return res
    r0, r1, r2, r3 = P[a, j], P[a + 1, j], P[a + 2, j], P[a + 3, j]
    r4, r5, r6, r7 = P[a + 4, j], P[a + 5, j], P[a + 6, j], P[a + 7, j]
    m = n - n % 8
    for i in range(a + 8, a + m, 8):
        r0 += P[i, j]
        r1 += P[i + 1, j]
        r2 += P[i + 2, j]
        r3 += P[i + 3, j]
        r4 += P[i + 4, j]
        r5 += P[i + 5, j]
        r6 += P[i + 6, j]
        r7 += P[i + 7, j]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(a + m, a + n):
        res += P[i, j]
    return res


@_jit
def edge_geometry(ptr, P, E):
    """What :func:`relutopo.decompose._finalize_polygon_arrays` computes with numpy, in one pass
    and with the same arithmetic: the edge midpoints ``0.5 * (P[j] + P[next(j)])``, the unit
    normals ``E[j, :2] / ||E[j, :2]||`` and the vertex means ``np.add.reduceat(P, ptr[:-1],
    axis=0) / counts`` (numpy's order of summation: the first vertex plus the pairwise sum of
    the others, :func:`_pairwise_sum`). Returns ``(mids, nrm, means, ok, A, c)``; ``ok`` is
    False when a polygon has more than ``_PW_BLOCK + 1`` vertices (its mean is then not
    computed); ``A = E[:, :2]`` and ``c = E[:, 2]`` are contiguous copies (the centres' rows)."""
    n = len(ptr) - 1
    N = P.shape[0]
    mids = np.empty((N, 2))
    nrm = np.empty((N, 2))
    means = np.empty((n, 2))
    A = np.empty((N, 2))
    c = np.empty(N)
    ok = True
    for i in range(n):
        a, b = ptr[i], ptr[i + 1]
        for j in range(a, b):
            w = j + 1 if j + 1 < b else a
            mids[j, 0] = 0.5 * (P[j, 0] + P[w, 0])
            mids[j, 1] = 0.5 * (P[j, 1] + P[w, 1])
            e0, e1 = E[j, 0], E[j, 1]
            A[j, 0] = e0
            A[j, 1] = e1
            c[j] = E[j, 2]
            nn = np.sqrt(e0 * e0 + e1 * e1)
            nrm[j, 0] = e0 / nn
            nrm[j, 1] = e1 / nn
        k = b - a
        if k - 1 > _PW_BLOCK:
            ok = False
            continue
        for q in range(2):
            means[i, q] = (P[a, q] + _pairwise_sum(P, a + 1, k - 1, q)) / k
    return mids, nrm, means, ok, A, c
