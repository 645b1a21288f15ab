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
    (x0, y0), (x1, y1) = domain.lo, domain.hi
    ptr = np.array([0, 4], dtype=np.int64)
    P = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    E = np.array([[0.0, -1.0, -y0], [1.0, 0.0, x1], [0.0, 1.0, y1], [-1.0, 0.0, -x0]])
    ids = np.array([-3, -2, -4, -1], dtype=np.int64)
    bits = np.zeros((1, 0), dtype=np.bool_)
    offsets = net.layer_offsets
    L = len(net.hidden_sizes)
    maps, parents = [], []
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
            if l == L - 1:  # the largest maps: written straight into the regions' flat buffer
                head = sum(m.shape[0] * m.shape[1] for m, _ in maps)
                flat, flat_mu = np.empty((head + n * h, 2)), np.empty(head + n * h)
                M, mu = flat[head:].reshape(n, h, 2), flat_mu[head:].reshape(n, h)
            else:
                M, mu = np.empty((n, h, 2)), np.empty((n, h))
            gmax = np.empty(n)
            for s in range(0, n, _CHUNK):
                e = min(n, s + _CHUNK)
                Gt, gt = _gather(Mp, mup, parent[s:e], Lb[s:e], gmax[s:e])
                M[s:e] = (W @ Gt).reshape(h, e - s, 2).transpose(1, 0, 2)
                mu[s:e] = (W @ gt + b[:, None]).T
        ptr, P, E, ids, Lb, parent = _arrange(ptr, P, E, ids, M, mu, wnorm, gmax, float(scale),
                                             int(offsets[l]))
        bits = np.concatenate([bits[parent], Lb], axis=1)
        maps.append((M, mu))
        parents.append(parent)
    if L > 1:  # the earlier (smaller) layers' maps go in front of the last one's
        pos = 0
        for m, mv in maps[:-1]:
            k = m.shape[0] * m.shape[1]
            flat[pos:pos + k] = m.reshape(-1, 2)
            flat_mu[pos:pos + k] = mv.reshape(-1)
            pos += k
    else:
        flat, flat_mu = maps[0][0].reshape(-1, 2), maps[0][1].reshape(-1)
    return ptr, P, E, ids, bits, RegionMaps.build(maps, parents, net.hidden_sizes, flat=(flat, flat_mu))


@_jit
def _gather(Mp, mup, parent, Lb, gmax):
    """``Gt[j, 2 i + c] = Mp[parent[i], j, c] * Lb[i, j]`` and ``gt[j, i] = mup[parent[i], j] *
    Lb[i, j]`` (the maps of cell ``i``'s outputs, transposed for one matrix product), and
    ``gmax[i] = max(max |G_i|, TINY)``."""
    hp = Mp.shape[1]
    n = len(parent)
    Gt = np.empty((hp, 2 * n))
    gt = np.empty((hp, n))
    for i in range(n):
        gmax[i] = 0.0
    for j in range(hp):
        for i in range(n):
            p = parent[i]
            if Lb[i, j]:
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
    return Gt, gt


def _arrange(cptr, P, E, ids, M, mu, wnorm, gmax, scale, offset):
    """:func:`_arrange_chunk` with buffers it never has to grow: too small ones are doubled and
    the chunk is redone (numba keeps arrays that are reassigned inside loops in reference-
    counted temporaries, which made the loops several times slower)."""
    n, h = M.shape[0], M.shape[1]
    n_cap, v_cap, pool_cap, sub_cap = 4 * n + 64, 24 * n + 256, 4096, 512
    while True:
        optr = np.zeros(n_cap + 1, dtype=np.int64)
        oP = np.empty((v_cap, 2))
        oE = np.empty((v_cap, 3))
        oids = np.empty(v_cap, dtype=np.int64)
        obits = np.zeros((n_cap, h), dtype=np.bool_)
        oparent = np.empty(n_cap, dtype=np.int64)
        pool = np.empty((2, pool_cap, 3)), np.empty((2, pool_cap, 3)), np.empty((2, pool_cap), dtype=np.int64)
        subs = np.empty((2, sub_cap), dtype=np.int64), np.empty((2, sub_cap), dtype=np.int64), \
            np.zeros((2, sub_cap, h), dtype=np.bool_)
        status, no, nv = _arrange_chunk(cptr, P, E, ids, M, mu, wnorm, gmax, scale, offset,
                                        optr, oP, oE, oids, obits, oparent, *pool, *subs)
        if status == 0:
            return (optr[:no + 1].copy(), oP[:nv].copy(), oE[:nv].copy(), oids[:nv].copy(),
                    obits[:no].copy(), oparent[:no].copy())
        if status == 1:
            n_cap, v_cap = 2 * n_cap, 2 * v_cap
        else:
            pool_cap, sub_cap = 2 * pool_cap, 2 * sub_cap


@_jit
def _arrange_chunk(cptr, P, E, ids, M, mu, wnorm, gmax, scale, offset,
                   optr, oP, oE, oids, obits, oparent, pP, pE, pid, sst, sln, sbits):
    """Cut each cell of a chunk by its restricted hyperplanes ``M[i] x + mu[i] = 0``
    (:meth:`relutopo.decompose._PolygonKernel.arrange`, cell by cell), into the caller's
    buffers. The current sub-polygons of a cell live in one half of the double buffers
    (``pP`` points, ``pE`` edge halfspaces, ``pid`` edge neurons; ``sst``/``sln`` their starts
    and lengths, ``sbits`` their bits), the next neuron's in the other. Returns ``(status,
    cells, vertices)``: status 1 when the output buffers, 2 when the scratch buffers are too
    small."""
    n = len(cptr) - 1
    h = M.shape[1]
    rt = _VTOL * scale
    n_cap, v_cap = oparent.shape[0], oP.shape[0]
    pool_cap, sub_cap = pP.shape[1], sst.shape[1]
    no = 0
    nv = 0
    norms = np.empty(h)
    zero_row = np.zeros(h, dtype=np.bool_)
    pos = np.zeros(h, dtype=np.bool_)
    neg = np.zeros(h, dtype=np.bool_)
    vals = np.empty(pool_cap)
    sg = np.empty(pool_cap, dtype=np.int64)
    for i in range(n):
        a0, a1 = cptr[i], cptr[i + 1]
        nvi = a1 - a0
        if nvi > pool_cap:
            return 2, no, nv
        for k in range(h):
            norms[k] = np.sqrt(M[i, k, 0] * M[i, k, 0] + M[i, k, 1] * M[i, k, 1])
            zero_row[k] = norms[k] <= _ZTOL * (wnorm[k] * gmax[i])
            sbits[0, 0, k] = zero_row[k] and mu[i, k] > 0
            pos[k] = False
            neg[k] = False
            if not zero_row[k]:
                tv = rt * norms[k]
                for v in range(a0, a1):
                    hv = P[v, 0] * M[i, k, 0] + P[v, 1] * M[i, k, 1] + mu[i, k]
                    if hv > tv:
                        pos[k] = True
                    elif hv < -tv:
                        neg[k] = True
                if not neg[k]:
                    sbits[0, 0, k] = pos[k]
                if not pos[k]:
                    sbits[0, 0, k] = False
        # the cell itself is sub-polygon 0 of buffer 0
        for v in range(nvi):
            pP[0, v, 0] = P[a0 + v, 0]
            pP[0, v, 1] = P[a0 + v, 1]
            pE[0, v, 0] = E[a0 + v, 0]
            pE[0, v, 1] = E[a0 + v, 1]
            pE[0, v, 2] = E[a0 + v, 2]
            pid[0, v] = ids[a0 + v]
        sst[0, 0] = 0
        sln[0, 0] = nvi
        ncur = 1
        cb = 0  # the buffer holding the current sub-polygons
        for k in range(h):
            if zero_row[k] or not (pos[k] and neg[k]):
                continue
            m0, m1, mk = M[i, k, 0], M[i, k, 1], mu[i, k]
            tk = rt * norms[k]
            kid = offset + k
            nb = 1 - cb
            nn = 0
            top = 0
            for s in range(ncur):
                st, ln = sst[cb, s], sln[cb, s]
                has_p = False
                has_n = False
                for v in range(ln):
                    val = m0 * pP[cb, st + v, 0] + m1 * pP[cb, st + v, 1] + mk
                    vals[v] = val
                    if val > tk:
                        sg[v] = 1
                        has_p = True
                    elif val < -tk:
                        sg[v] = -1
                        has_n = True
                    else:
                        sg[v] = 0
                if has_p and has_n:
                    if top + 2 * (ln + 2) > pool_cap or nn + 2 > sub_cap:
                        return 2, no, nv
                    lo = top
                    nl = 0
                    hs = top + ln + 2
                    nh = 0
                    for v in range(ln):
                        w = v + 1 if v + 1 < ln else 0
                        si, sj = sg[v], sg[w]
                        if si <= 0:
                            pP[nb, lo + nl, 0] = pP[cb, st + v, 0]
                            pP[nb, lo + nl, 1] = pP[cb, st + v, 1]
                            if si < 0 or sj < 0:
                                pE[nb, lo + nl, 0] = pE[cb, st + v, 0]
                                pE[nb, lo + nl, 1] = pE[cb, st + v, 1]
                                pE[nb, lo + nl, 2] = pE[cb, st + v, 2]
                                pid[nb, lo + nl] = pid[cb, st + v]
                            else:
                                pE[nb, lo + nl, 0] = m0
                                pE[nb, lo + nl, 1] = m1
                                pE[nb, lo + nl, 2] = -mk
                                pid[nb, lo + nl] = kid
                            nl += 1
                        if si >= 0:
                            pP[nb, hs + nh, 0] = pP[cb, st + v, 0]
                            pP[nb, hs + nh, 1] = pP[cb, st + v, 1]
                            if si > 0 or sj > 0:
                                pE[nb, hs + nh, 0] = pE[cb, st + v, 0]
                                pE[nb, hs + nh, 1] = pE[cb, st + v, 1]
                                pE[nb, hs + nh, 2] = pE[cb, st + v, 2]
                                pid[nb, hs + nh] = pid[cb, st + v]
                            else:
                                pE[nb, hs + nh, 0] = -m0
                                pE[nb, hs + nh, 1] = -m1
                                pE[nb, hs + nh, 2] = mk
                                pid[nb, hs + nh] = kid
                            nh += 1
                        if si * sj < 0:
                            t = vals[v] / (vals[v] - vals[w])
                            px = pP[cb, st + v, 0] + t * (pP[cb, st + w, 0] - pP[cb, st + v, 0])
                            py = pP[cb, st + v, 1] + t * (pP[cb, st + w, 1] - pP[cb, st + v, 1])
                            pP[nb, lo + nl, 0] = px
                            pP[nb, lo + nl, 1] = py
                            pP[nb, hs + nh, 0] = px
                            pP[nb, hs + nh, 1] = py
                            if sj < 0:  # entering the negative side
                                pE[nb, lo + nl, 0] = pE[cb, st + v, 0]
                                pE[nb, lo + nl, 1] = pE[cb, st + v, 1]
                                pE[nb, lo + nl, 2] = pE[cb, st + v, 2]
                                pid[nb, lo + nl] = pid[cb, st + v]
                                pE[nb, hs + nh, 0] = -m0
                                pE[nb, hs + nh, 1] = -m1
                                pE[nb, hs + nh, 2] = mk
                                pid[nb, hs + nh] = kid
                            else:
                                pE[nb, lo + nl, 0] = m0
                                pE[nb, lo + nl, 1] = m1
                                pE[nb, lo + nl, 2] = -mk
                                pid[nb, lo + nl] = kid
                                pE[nb, hs + nh, 0] = pE[cb, st + v, 0]
                                pE[nb, hs + nh, 1] = pE[cb, st + v, 1]
                                pE[nb, hs + nh, 2] = pE[cb, st + v, 2]
                                pid[nb, hs + nh] = pid[cb, st + v]
                            nl += 1
                            nh += 1
                    # compact: the >= 0 half right after the <= 0 half
                    for v in range(nh):
                        pP[nb, lo + nl + v, 0] = pP[nb, hs + v, 0]
                        pP[nb, lo + nl + v, 1] = pP[nb, hs + v, 1]
                        pE[nb, lo + nl + v, 0] = pE[nb, hs + v, 0]
                        pE[nb, lo + nl + v, 1] = pE[nb, hs + v, 1]
                        pE[nb, lo + nl + v, 2] = pE[nb, hs + v, 2]
                        pid[nb, lo + nl + v] = pid[nb, hs + v]
                    sst[nb, nn] = lo
                    sln[nb, nn] = nl
                    sst[nb, nn + 1] = lo + nl
                    sln[nb, nn + 1] = nh
                    for b in range(h):
                        sbits[nb, nn, b] = sbits[cb, s, b]
                        sbits[nb, nn + 1, b] = sbits[cb, s, b]
                    sbits[nb, nn, k] = False
                    sbits[nb, nn + 1, k] = True
                    nn += 2
                    top = lo + nl + nh
                else:
                    if top + ln > pool_cap or nn + 1 > sub_cap:
                        return 2, no, nv
                    for v in range(ln):
                        pP[nb, top + v, 0] = pP[cb, st + v, 0]
                        pP[nb, top + v, 1] = pP[cb, st + v, 1]
                        pE[nb, top + v, 0] = pE[cb, st + v, 0]
                        pE[nb, top + v, 1] = pE[cb, st + v, 1]
                        pE[nb, top + v, 2] = pE[cb, st + v, 2]
                        pid[nb, top + v] = pid[cb, st + v]
                    sst[nb, nn] = top
                    sln[nb, nn] = ln
                    for b in range(h):
                        sbits[nb, nn, b] = sbits[cb, s, b]
                    sbits[nb, nn, k] = has_p
                    nn += 1
                    top += ln
            cb = nb
            ncur = nn
        # emit the sub-polygons of cell i
        if no + ncur > n_cap:
            return 1, no, nv
        for s in range(ncur):
            st, ln = sst[cb, s], sln[cb, s]
            if nv + ln > v_cap:
                return 1, no, nv
            for v in range(ln):
                oP[nv + v, 0] = pP[cb, st + v, 0]
                oP[nv + v, 1] = pP[cb, st + v, 1]
                oE[nv + v, 0] = pE[cb, st + v, 0]
                oE[nv + v, 1] = pE[cb, st + v, 1]
                oE[nv + v, 2] = pE[cb, st + v, 2]
                oids[nv + v] = pid[cb, st + v]
            nv += ln
            for b in range(h):
                obits[no, b] = sbits[cb, s, b]
            oparent[no] = i
            no += 1
            optr[no] = nv
    return 0, no, nv
