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
    """
    (x0, y0), (x1, y1) = domain.lo, domain.hi
    ptr = np.array([0, 4], dtype=np.int64)
    P = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    E = np.array([[0.0, -1.0, -y0], [1.0, 0.0, x1], [0.0, 1.0, y1], [-1.0, 0.0, -x0]])
    ids = np.array([-3, -2, -4, -1], dtype=np.int64)
    bits = np.zeros((1, 0), dtype=np.bool_)
    G = np.eye(2)[None]  # (n, h_prev, 2): the affine map of the current layer's outputs
    g = np.zeros((1, 2))
    offsets = net.layer_offsets
    L = len(net.hidden_sizes)
    maps, parents = [], []
    for l in range(L):
        W, b = net.weights[l], net.biases[l]
        wnorm = np.sqrt(np.einsum("ij,ij->i", W, W))
        last = l == L - 1
        parts = []
        n = len(ptr) - 1
        for s in range(0, n, _CHUNK):
            e = min(n, s + _CHUNK)
            Gc = G[s:e]
            M = _restrict(W, Gc)
            mu = g[s:e] @ W.T + b[None, :]
            gmax = np.maximum(np.abs(Gc).reshape(e - s, -1).max(axis=1, initial=0.0), 1e-300)
            cptr = ptr[s:e + 1] - ptr[s]
            out = _arrange_chunk(cptr, P[ptr[s]:ptr[e]], E[ptr[s]:ptr[e]], ids[ptr[s]:ptr[e]],
                                 np.ascontiguousarray(M), np.ascontiguousarray(mu), wnorm, gmax,
                                 float(scale), int(offsets[l]))
            parts.append(out + (M, mu, s))
        ptr, P, E, ids, bits, G, g, parent = _join(parts, bits, last)
        maps.append((np.concatenate([p[6] for p in parts]), np.concatenate([p[7] for p in parts])))
        parents.append(parent)
    return ptr, P, E, ids, bits, RegionMaps.build(maps, parents, net.hidden_sizes)


def _restrict(W, G):
    """``M[i] = W @ G[i]`` for every cell, as one matrix product (BLAS) over all cells."""
    n, hp, d = G.shape
    Gt = np.ascontiguousarray(G.transpose(1, 0, 2)).reshape(hp, n * d)
    return np.ascontiguousarray((W @ Gt).reshape(W.shape[0], n, d).transpose(1, 0, 2))


def _join(parts, bits_prev, last):
    """Concatenate the chunks of one layer; the children's bits and (unless ``last``) maps
    ``G = M[parent] * bits``, ``g = mu[parent] * bits`` (a part's ``parent`` is chunk-relative,
    ``start`` is the chunk's first cell)."""
    counts = [len(p[0]) - 1 for p in parts]
    ptr = np.zeros(sum(counts) + 1, dtype=np.int64)
    pos, base = 0, 0
    for p, c in zip(parts, counts):
        ptr[pos + 1:pos + c + 1] = p[0][1:] + base
        pos += c
        base += p[0][-1]
    P = np.concatenate([p[1] for p in parts])
    E = np.concatenate([p[2] for p in parts])
    ids = np.concatenate([p[3] for p in parts])
    lb = np.concatenate([p[4] for p in parts])
    parent = np.concatenate([p[5] + p[8] for p in parts])
    bits = np.concatenate([bits_prev[parent], lb], axis=1)
    if last:
        return ptr, P, E, ids, bits, None, None, parent
    G = np.concatenate([p[6][p[5]] * p[4][:, :, None] for p in parts])
    g = np.concatenate([p[7][p[5]] * p[4] for p in parts])
    return ptr, P, E, ids, bits, G, g, parent


@_jit
def _grow1(a, need):
    if need <= a.shape[0]:
        return a
    out = np.empty(max(need, 2 * a.shape[0]), dtype=a.dtype)
    out[:a.shape[0]] = a
    return out


@_jit
def _grow2(a, need):
    if need <= a.shape[0]:
        return a
    out = np.empty((max(need, 2 * a.shape[0]), a.shape[1]), dtype=a.dtype)
    out[:a.shape[0]] = a
    return out


@_jit
def _arrange_chunk(cptr, P, E, ids, M, mu, wnorm, gmax, scale, offset):
    """Cut each cell of a chunk by its restricted hyperplanes ``M[i] x + mu[i] = 0``
    (:meth:`relutopo.decompose._PolygonKernel.arrange`, cell by cell)."""
    n = len(cptr) - 1
    h = M.shape[1]
    rt = _VTOL * scale
    cap = max(16, 4 * n)
    optr = np.zeros(cap + 1, dtype=np.int64)
    oP = np.empty((max(64, 8 * n), 2))
    oE = np.empty((oP.shape[0], 3))
    oids = np.empty(oP.shape[0], dtype=np.int64)
    obits = np.zeros((cap, h), dtype=np.bool_)
    oparent = np.empty(cap, dtype=np.int64)
    no = 0
    nv = 0
    # scratch pool of sub-polygons of the current cell
    sP = np.empty((256, 2))
    sE = np.empty((256, 3))
    sid = np.empty(256, dtype=np.int64)
    sstart = np.empty(64, dtype=np.int64)
    slen = np.empty(64, dtype=np.int64)
    sbits = np.zeros((64, h), dtype=np.bool_)
    cur = np.empty(64, dtype=np.int64)
    nxt = np.empty(64, dtype=np.int64)
    norms = np.empty(h)
    zero_row = np.zeros(h, dtype=np.bool_)
    pos = np.zeros(h, dtype=np.bool_)
    neg = np.zeros(h, dtype=np.bool_)
    bits0 = np.zeros(h, dtype=np.bool_)
    vals = np.empty(256)
    sg = np.empty(256, dtype=np.int64)
    for i in range(n):
        a0, a1 = cptr[i], cptr[i + 1]
        nvi = a1 - a0
        for k in range(h):
            norms[k] = np.sqrt(M[i, k, 0] * M[i, k, 0] + M[i, k, 1] * M[i, k, 1])
            zero_row[k] = norms[k] <= _ZTOL * (wnorm[k] * gmax[i])
            bits0[k] = zero_row[k] and mu[i, k] > 0
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
                    bits0[k] = pos[k]
                if not pos[k]:
                    bits0[k] = False
        # the cell itself is sub-polygon 0
        sP = _grow2(sP, nvi)
        sE = _grow2(sE, nvi)
        sid = _grow1(sid, nvi)
        for v in range(nvi):
            sP[v, 0] = P[a0 + v, 0]
            sP[v, 1] = P[a0 + v, 1]
            sE[v, 0] = E[a0 + v, 0]
            sE[v, 1] = E[a0 + v, 1]
            sE[v, 2] = E[a0 + v, 2]
            sid[v] = ids[a0 + v]
        sstart[0] = 0
        slen[0] = nvi
        sbits[0, :] = bits0
        nsub = 1
        top = nvi  # next free slot of the pool
        ncur = 1
        cur[0] = 0
        for k in range(h):
            if zero_row[k] or not (pos[k] and neg[k]):
                continue
            m0, m1, mk = M[i, k, 0], M[i, k, 1], mu[i, k]
            tk = rt * norms[k]
            kid = offset + k
            nn = 0
            for ci in range(ncur):
                s = cur[ci]
                st, ln = sstart[s], slen[s]
                vals = _grow1(vals, ln)
                sg = _grow1(sg, ln)
                has_p = False
                has_n = False
                for v in range(ln):
                    val = m0 * sP[st + v, 0] + m1 * sP[st + v, 1] + mk
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
                    # two new sub-polygons (each at most ln + 1 vertices)
                    need = top + 2 * (ln + 2)
                    sP = _grow2(sP, need)
                    sE = _grow2(sE, need)
                    sid = _grow1(sid, need)
                    if nsub + 2 > sstart.shape[0]:
                        sstart = _grow1(sstart, nsub + 2)
                        slen = _grow1(slen, nsub + 2)
                        sbits = _grow2(sbits, nsub + 2)
                    lo, hi = nsub, nsub + 1
                    nsub += 2
                    sstart[lo] = top
                    nl = 0
                    # first pass: the <= 0 side into slots top..; the >= 0 side after it
                    hstart = top + ln + 2
                    nh = 0
                    for v in range(ln):
                        w = v + 1 if v + 1 < ln else 0
                        si, sj = sg[v], sg[w]
                        if si <= 0:
                            sP[top + nl, 0] = sP[st + v, 0]
                            sP[top + nl, 1] = sP[st + v, 1]
                            if si < 0 or sj < 0:
                                sE[top + nl, 0] = sE[st + v, 0]
                                sE[top + nl, 1] = sE[st + v, 1]
                                sE[top + nl, 2] = sE[st + v, 2]
                                sid[top + nl] = sid[st + v]
                            else:
                                sE[top + nl, 0] = m0
                                sE[top + nl, 1] = m1
                                sE[top + nl, 2] = -mk
                                sid[top + nl] = kid
                            nl += 1
                        if si >= 0:
                            sP[hstart + nh, 0] = sP[st + v, 0]
                            sP[hstart + nh, 1] = sP[st + v, 1]
                            if si > 0 or sj > 0:
                                sE[hstart + nh, 0] = sE[st + v, 0]
                                sE[hstart + nh, 1] = sE[st + v, 1]
                                sE[hstart + nh, 2] = sE[st + v, 2]
                                sid[hstart + nh] = sid[st + v]
                            else:
                                sE[hstart + nh, 0] = -m0
                                sE[hstart + nh, 1] = -m1
                                sE[hstart + nh, 2] = mk
                                sid[hstart + nh] = kid
                            nh += 1
                        if si * sj < 0:
                            t = vals[v] / (vals[v] - vals[w])
                            px = sP[st + v, 0] + t * (sP[st + w, 0] - sP[st + v, 0])
                            py = sP[st + v, 1] + t * (sP[st + w, 1] - sP[st + v, 1])
                            sP[top + nl, 0] = px
                            sP[top + nl, 1] = py
                            sP[hstart + nh, 0] = px
                            sP[hstart + nh, 1] = py
                            if sj < 0:  # entering the negative side
                                sE[top + nl, 0] = sE[st + v, 0]
                                sE[top + nl, 1] = sE[st + v, 1]
                                sE[top + nl, 2] = sE[st + v, 2]
                                sid[top + nl] = sid[st + v]
                                sE[hstart + nh, 0] = -m0
                                sE[hstart + nh, 1] = -m1
                                sE[hstart + nh, 2] = mk
                                sid[hstart + nh] = kid
                            else:
                                sE[top + nl, 0] = m0
                                sE[top + nl, 1] = m1
                                sE[top + nl, 2] = -mk
                                sid[top + nl] = kid
                                sE[hstart + nh, 0] = sE[st + v, 0]
                                sE[hstart + nh, 1] = sE[st + v, 1]
                                sE[hstart + nh, 2] = sE[st + v, 2]
                                sid[hstart + nh] = sid[st + v]
                            nl += 1
                            nh += 1
                    slen[lo] = nl
                    sstart[hi] = hstart
                    slen[hi] = nh
                    top = hstart + nh
                    sbits[lo, :] = sbits[s, :]
                    sbits[lo, k] = False
                    sbits[hi, :] = sbits[s, :]
                    sbits[hi, k] = True
                    if nn + 2 > nxt.shape[0]:
                        nxt = _grow1(nxt, nn + 2)
                    nxt[nn] = lo
                    nxt[nn + 1] = hi
                    nn += 2
                else:
                    sbits[s, k] = has_p
                    if nn + 1 > nxt.shape[0]:
                        nxt = _grow1(nxt, nn + 1)
                    nxt[nn] = s
                    nn += 1
            if nn > cur.shape[0]:
                cur = np.empty(nxt.shape[0], dtype=np.int64)
            cur[:nn] = nxt[:nn]
            ncur = nn
        # emit the sub-polygons of cell i
        if no + ncur > oparent.shape[0]:
            need = no + ncur
            optr = _grow1(optr, need + 1)
            obits = _grow2(obits, need)
            oparent = _grow1(oparent, need)
        for ci in range(ncur):
            s = cur[ci]
            st, ln = sstart[s], slen[s]
            if nv + ln > oP.shape[0]:
                oP = _grow2(oP, nv + ln)
                oE = _grow2(oE, nv + ln)
                oids = _grow1(oids, nv + ln)
            for v in range(ln):
                oP[nv + v, 0] = sP[st + v, 0]
                oP[nv + v, 1] = sP[st + v, 1]
                oE[nv + v, 0] = sE[st + v, 0]
                oE[nv + v, 1] = sE[st + v, 1]
                oE[nv + v, 2] = sE[st + v, 2]
                oids[nv + v] = sid[st + v]
            nv += ln
            obits[no, :] = sbits[s, :]
            oparent[no] = i
            no += 1
            optr[no] = nv
    return optr[:no + 1].copy(), oP[:nv].copy(), oE[:nv].copy(), oids[:nv].copy(), \
        obits[:no].copy(), oparent[:no].copy()
