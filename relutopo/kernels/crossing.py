"""Crossing facets with the regions' own affine maps, compiled (numba).

``relutopo.decompose._cross_facets`` finds the neighbour across a facet by evaluating the
network at three points: the facet point ``p``, ``p + eps n`` (beyond) and ``p - eps n``
(within). Three forward passes per facet dominate the cost of large 2-D decompositions. This
module decides the same question with the maps the refinement has already computed: on region
``R`` with bit vector ``s_R``, every hidden layer's pre-activations are the affine functions
``z_l(x) = M_l^R x + mu_l^R`` (Liu et al. 2023, eq. 8), and a point ``x`` lies in ``R`` exactly
when the signs of these functions at ``x`` reproduce ``s_R`` (by induction over the layers, the
network then follows ``s_R`` at ``x``, so its pre-activations *are* these functions). So for the
facet of ``R`` on neuron ``k``

* the candidate neighbour is the region with bit vector ``s_R`` XOR ``e_k`` (found by a Zobrist
  hash: XOR of fixed random 64-bit keys of the set bits, so flipping bit ``k`` is one XOR;
  a hit is confirmed by comparing the bit vectors);
* it is accepted when ``p - eps n`` lies in ``R`` and ``p + eps n`` lies in the candidate (and in
  the box), both decided by the sign tests above -- the same conditions as the evaluation, whose
  only flipped bit is then ``k``, which vanishes on the facet by construction;
* ``eps`` starts at ``CROSSING_STEP_FRACTION`` times the region's radius (at most the scale) and
  shrinks by ``10^3`` up to three times, as there.

Facets it does not settle (no candidate, or a step that leaves both regions: a neighbour that
differs in more than one bit, near a lower-dimensional face) are left to the evaluation, which
therefore still decides every degenerate case.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from .. import tolerances as tol

_SHRINK = tol.CROSSING_STEP_SHRINK

__all__ = ["RegionMaps", "cross_by_maps"]

_jit = njit(cache=True, error_model="numpy")
#: helpers called in inner loops are inlined by numba (no reference counting of their array
#: arguments per call)
_inline = njit(cache=True, error_model="numpy", inline="always")

#: seed of the Zobrist keys (any fixed value: a hash collision is caught by comparing patterns)
_ZOBRIST_SEED = 20261206


@dataclass(frozen=True)
class RegionMaps:
    """Pre-activation maps of every hidden layer on every cell of a refinement.

    ``M[rowbase[i, l] + k * kstride[l]]`` and ``mu[...]`` (same index) are the row and offset of
    neuron ``k`` of hidden layer ``l`` restricted to final cell ``i`` (``z = M x + mu``).

    With ``W_last`` (the last hidden layer's weights, ``(h_{L-1}, h_{L-2})``; empty when every
    layer's rows are stored) the last layer's rows are not stored: its offsets are
    ``mu_last[rowbase[i, L - 1] + k]`` and its rows are recomputed when needed as the refinement
    computed them (``numpy.einsum("ij,njd->nid", W, G)``, a sum over ``j`` in order), from the
    rows of layer ``L - 2`` and the cell's bits on that layer (``G`` is those rows times the
    bits): the largest part of the maps at 10^6 regions, left out (``_last_rows``).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> from relutopo.kernels.polygon import refine_polygons
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> maps = refine_polygons(net, Box(-1, 1, dim=2), 2.0)[-1]
    >>> maps.M.shape, maps.rowbase.shape
    ((2, 2), (4, 1))
    """

    M: np.ndarray
    mu: np.ndarray
    rowbase: np.ndarray
    kstride: np.ndarray
    W_last: np.ndarray = None
    mu_last: np.ndarray = None

    def lazy(self):
        """``(W_last, mu_last)`` as the kernels take them (empty arrays when nothing is lazy)."""
        if self.W_last is None:
            return np.zeros((0, 0)), np.zeros(0)
        return self.W_last, self.mu_last

    @classmethod
    def build(cls, maps, parents, hidden_sizes, layout="ckd", flat=None):
        """From the maps of the cells that each layer ``l`` cut -- ``layout="ckd"``: ``M_l (n_{l-1},
        h_l, d)``, ``mu_l (n_{l-1}, h_l)``; ``"kcd"``: ``(h_l, n_{l-1}, d)``, ``(h_l, n_{l-1})`` --
        and each layer's parent pointers ``parents[l]`` (cells of layer ``l`` into those of layer
        ``l - 1``). ``flat``: the layers' rows already concatenated, ``(M (rows, d), mu (rows,))``."""
        L = len(maps)
        d = maps[0][0].shape[2]
        n = len(parents[-1])
        anc = np.empty((n, L), dtype=np.int64)
        anc[:, L - 1] = parents[L - 1]
        for l in range(L - 2, -1, -1):
            anc[:, l] = parents[l][anc[:, l + 1]]
        base = 0
        rowbase = np.empty((n, L), dtype=np.int64)
        kstride = np.empty(L, dtype=np.int64)
        for l, (Ml, _) in enumerate(maps):
            if layout == "ckd":
                rowbase[:, l] = base + anc[:, l] * int(hidden_sizes[l])
                kstride[l] = 1
            else:
                rowbase[:, l] = base + anc[:, l]
                kstride[l] = Ml.shape[1]
            base += Ml.shape[0] * Ml.shape[1]
        if flat is None:
            flat = (np.concatenate([Ml.reshape(-1, d) for Ml, _ in maps]),
                    np.concatenate([ml.reshape(-1) for _, ml in maps]))
        return cls(M=flat[0], mu=flat[1], rowbase=rowbase, kstride=kstride)

    def take(self, rows):
        """The maps of cells ``rows`` only (e.g. those kept as regions)."""
        return RegionMaps(M=self.M, mu=self.mu, rowbase=self.rowbase[rows], kstride=self.kstride,
                          W_last=self.W_last, mu_last=self.mu_last)


@lru_cache(maxsize=16)
def _zobrist(n_bits):
    """Fixed random 64-bit keys of the bits (odd, so never zero); read-only and cached."""
    keys = _zobrist_keys(n_bits)
    keys.setflags(write=False)
    return keys


def _zobrist_keys(n_bits):
    return np.random.default_rng(_ZOBRIST_SEED).integers(0, 2**63, size=n_bits, dtype=np.int64) \
        .astype(np.uint64) * np.uint64(2) + np.uint64(1)


def cross_by_maps(maps, packed, radii, ptr, owner, fids, fpts, scale, domain, offsets, bits=None,
                  prep=None):
    """Neighbour of every network facet that the maps settle (``-1`` elsewhere).

    ``packed (n, n_bytes)`` are the regions' bit vectors (little bit order), ``maps`` their
    :class:`RegionMaps`; facet ``f`` belongs to region ``owner[f]`` (facets of region ``i``:
    ``ptr[i]:ptr[i + 1]``), lies on neuron ``fids[f]`` (``< 0``: a box face, left alone) at
    point ``fpts[f]``; its outward normal is the region's row of that neuron, from the maps.
    ``bits``: the regions' bit vectors unpacked, ``(n, n_bits)`` bool or uint8, when the caller
    has them (the polygon path's sign test reads them; else they are unpacked here); ``prep``:
    ``prepared`` of these arguments, if the caller has it.

    Each shared facet is tested from one side only: when the facet of ``R`` on neuron ``k``
    leads to ``R'``, the facet of ``R'`` on neuron ``k`` leads back to ``R`` (a convex region
    has at most one facet on a hyperplane, and ``R`` and ``R'`` share one on neuron ``k``).

    Examples
    --------
    The neighbour across each edge of the four quadrant cells of ``[-1, 1]^2`` (``-1``: a box face):

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> from relutopo.patterns import pack_bits
    >>> from relutopo.kernels.polygon import refine_polygons
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> box = Box(-1, 1, dim=2)
    >>> ptr, P, E, ids, bits, maps = refine_polygons(net, box, 2.0)
    >>> n = len(ptr) - 1
    >>> owner = np.repeat(np.arange(n), np.diff(ptr))
    >>> nxt = np.concatenate([np.r_[ptr[i] + 1:ptr[i + 1], ptr[i]] for i in range(n)])
    >>> mid = (P + P[nxt]) / 2                       # a point of each edge
    >>> cross_by_maps(maps, pack_bits(bits), np.ones(n), ptr, owner, ids, mid, 2.0, box,
    ...               net.layer_offsets).reshape(n, 4).tolist()
    [[-1, 2, 1, -1], [3, -1, -1, 0], [-1, -1, 3, 0], [-1, -1, 1, 2]]
    """
    n = len(packed)
    offsets, U, lazy, cache = prepared(maps, packed, offsets, bits) if prep is None else prep
    nb = int(offsets[-1])
    keys = _zobrist(max(nb, 1))
    h = _hashes(np.ascontiguousarray(packed), keys, nb)
    slots = _hash_table(h)
    if domain is None:
        lo = np.full(fpts.shape[1], -np.inf)
        hi = np.full(fpts.shape[1], np.inf)
    else:
        lo, hi = np.asarray(domain.lo, dtype=np.float64), np.asarray(domain.hi, dtype=np.float64)
    found = np.full(len(fids), -1, dtype=np.int32 if n < 2**31 else np.int64)  # region indices
    if n == 0:
        return found
    _verify(maps.M, maps.mu, maps.rowbase, maps.kstride, offsets, packed, U, ptr, owner, fids, found, h,
            slots, keys, radii, float(scale), tol.CROSSING_STEP_FRACTION, fpts, tol.CHEBYSHEV_RTOL * scale,
            lo, hi, *lazy, *cache)
    return found


def count_outside(maps, packed, X, offsets, bits=None, prep=None):
    """How many regions' points ``X[i]`` do not lie in their region by the sign test of its maps
    (the compiled form of evaluating the network at every interior point). ``bits``: the
    regions' bit vectors unpacked, ``(n, n_bits)`` bool or uint8, when the caller has them;
    ``prep``: ``prepared`` of these arguments, if the caller has it."""
    offsets, U, lazy, cache = prepared(maps, packed, offsets, bits) if prep is None else prep
    return int(_count_outside(maps.M, maps.mu, maps.rowbase, maps.kstride, offsets, packed,
                              np.ascontiguousarray(X), U, *lazy, *cache))


def prepared(maps, packed, offsets, bits=None):
    """What the sign tests of :func:`cross_by_maps` and :func:`count_outside` take besides the
    maps: ``(offsets int64, U, (W_last, mu_last), (cache keys, cache rows))`` (``U``:
    :func:`_plane_bits`; the cache of recomputed last-layer rows may be shared: a cell's rows
    are the same whoever recomputes them), made once for both."""
    offsets = np.asarray(offsets, dtype=np.int64)
    return offsets, _plane_bits(maps, packed, int(offsets[-1]), bits), maps.lazy(), _cache(maps)


def _plane_bits(maps, packed, n_bits, bits):
    """The bits unpacked as ``uint8 (n, n_bits)`` for :func:`_inside_plane` when the maps are
    the polygon path's (``d = 2``, every layer's rows stored, ``kstride`` 1); else an array
    with no rows (the general sign test). ``bits``: the caller's unpacked bits, if any."""
    if maps.M.shape[1] != 2 or maps.W_last is not None or not (maps.kstride == 1).all() \
            or not maps.M.flags.c_contiguous:
        return np.zeros((0, 0), dtype=np.uint8)
    if bits is not None:
        return np.ascontiguousarray(bits).view(np.uint8)
    return np.unpackbits(packed, axis=1, count=n_bits, bitorder="little")


#: most cells whose recomputed last-layer rows are kept (direct-mapped by cell; regions come
#: depth first, so a region's own cell and its siblings' are found again), and most bytes: up to
#: ~16 MB every cell of a smaller decomposition has a slot of its own (each computed once)
LAST_ROWS_CACHE = 1 << 16
LAST_ROWS_CACHE_BYTES = 16 << 20


def _cache(maps):
    """An empty cache of recomputed last-layer rows: ``(keys, rows)``."""
    if maps.W_last is None:
        return np.full(1, -1, dtype=np.int64), np.zeros((1, 0, 0))
    h, d = maps.W_last.shape[0], maps.M.shape[1]
    cells = len(maps.mu_last) // max(h, 1)
    slots = max(1, min(cells, LAST_ROWS_CACHE, LAST_ROWS_CACHE_BYTES // (8 * max(h * d, 1))))
    return np.full(slots, -1, dtype=np.int64), np.empty((slots, h, d))


def last_rows(maps, packed, i, offsets):
    """The last hidden layer's rows ``(h_{L-1}, d)`` on region ``i``, recomputed (lazy maps only;
    for tests: they equal the refinement's own)."""
    keys, cache = _cache(maps)
    return _last_rows(maps.M, maps.rowbase, maps.kstride, np.asarray(offsets, dtype=np.int64), packed, i,
                      maps.W_last, keys, cache).copy()


@_jit
def _count_outside(M, mu, rowbase, kstride, offsets, packed, X, U, Wl, mul, ckey, cval):
    bad = 0
    if U.shape[0] > 0:  # the polygon path (plane, every layer's rows stored with kstride 1)
        Mf = M.reshape(-1)
        for i in range(X.shape[0]):
            if not _inside_plane(Mf, mu, rowbase, offsets, U, i, X[i, 0], X[i, 1]):
                bad += 1
        return bad
    for i in range(X.shape[0]):
        if not _inside(M, mu, rowbase, kstride, offsets, packed, i, X[i], Wl, mul, ckey, cval):
            bad += 1
    return bad


def edge_flips(packed, a, b, n_bits):
    """The bits that differ between regions ``a[e]`` and ``b[e]`` of every edge, as a CSR pair
    ``(flip_ptr int64, flip_ids int32)`` in increasing bit order (what unpacking ``packed[a] ^
    packed[b]`` and taking its non-zeros gives). One pass when the edges flip one bit each on
    average or a few more (the usual case: a neighbour differs in the bit of the facet's
    neuron); else a second pass into the exact size."""
    packed = np.ascontiguousarray(packed)
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    ptr = np.empty(len(a) + 1, dtype=np.int64)
    ids = np.empty(len(a) + 64, dtype=np.int32)
    if packed.shape[1] % 8 == 0 and packed.shape[1] and sys.byteorder == "little":
        # whole 64-bit words (bit 8 j + q of a row is bit 8 j + q of its words, little-endian)
        words = packed.view(np.uint64)

        def flips(ids):
            return _flips_words(words, a, b, ptr, ids, _DEBRUIJN)
    else:
        def flips(ids):
            return _flips(packed, a, b, ptr, ids)
    total = flips(ids)
    if total <= len(ids):
        return ptr, ids[:total].copy() if total < len(ids) else ids
    ids = np.empty(total, dtype=np.int32)  # the second pass writes them all
    flips(ids)
    return ptr, ids


#: de Bruijn sequence for the index of a 64-bit word's lowest set bit, and its table
_DEBRUIJN_MUL = 0x03F79D71B4CA8B09
_DEBRUIJN = np.zeros(64, dtype=np.int64)
for _q in range(64):
    _DEBRUIJN[(((1 << _q) * _DEBRUIJN_MUL) % (1 << 64)) >> 58] = _q
del _q


@_jit
def _flips_words(words, a, b, ptr, ids, table):
    """:func:`_flips` over 64-bit words: each set bit of a word's XOR found from its lowest set
    bit (``x & -x``) by the de Bruijn multiplication, no test per byte or per bit."""
    cap = len(ids)
    t = 0
    ptr[0] = 0
    mul = np.uint64(_DEBRUIJN_MUL)
    for e in range(len(a)):
        for j in range(words.shape[1]):
            x = words[a[e], j] ^ words[b[e], j]
            while x:
                low = x & (~x + np.uint64(1))
                q = table[(low * mul) >> np.uint64(58)]
                if t < cap:
                    ids[t] = 64 * j + q
                t += 1
                x ^= low
        ptr[e + 1] = t
    return t


@_jit
def _flips(packed, a, b, ptr, ids):
    """``ptr`` of :func:`edge_flips` and as many of its ``ids`` as ``ids`` holds (all, when the
    returned total fits)."""
    cap = len(ids)
    t = 0
    ptr[0] = 0
    for e in range(len(a)):
        for j in range(packed.shape[1]):
            x = packed[a[e], j] ^ packed[b[e], j]
            if x == 0:  # most bytes: an edge flips one bit or a few
                continue
            for q in range(8):
                if (x >> q) & 1:
                    if t < cap:
                        ids[t] = 8 * j + q
                    t += 1
        ptr[e + 1] = t
    return t


def facet_normals(maps, packed, owner, fids, found, offsets):
    """Outward unit normals ``(n_facets, d)`` of the network facets with ``found < 0`` (rows of
    zeros elsewhere), from the maps: the region's row of neuron ``k`` is ``-m`` where its bit
    is 1 (``m . x + mu >= 0``) and ``m`` where it is 0."""
    d = maps.M.shape[1]
    out = np.zeros((len(fids), d))
    _normals(maps.M, maps.rowbase, maps.kstride, np.asarray(offsets, dtype=np.int64), packed, owner, fids,
             np.asarray(found), out, maps.lazy()[0], *_cache(maps))
    return out


@_inline
def _bit(packed, i, b):
    return (packed[i, b >> 3] >> (b & 7)) & 1


@_inline
def _last_rows(M, rowbase, kstride, offsets, packed, i, Wl, ckey, cval):
    """Region ``i``'s rows of the last hidden layer (lazy maps), from the cache or recomputed as
    ``numpy.einsum("ij,njd->nid", W, G)`` computes them: for each row and column a sum over
    ``j`` in order, from zero (the terms of the bits that are 0 are zeros, which leave the sum as
    it is, and are skipped)."""
    L = rowbase.shape[1]
    key = rowbase[i, L - 1]
    h = Wl.shape[0]
    s = (key // max(h, 1)) % len(ckey)
    if ckey[s] != key:
        d = M.shape[1]
        r0 = rowbase[i, L - 2]
        ks = kstride[L - 2]
        b0 = offsets[L - 2]
        hp = Wl.shape[1]
        act = np.empty(hp, dtype=np.int64)
        G = np.empty((hp, d))  # the rows of the active neurons, gathered
        na = 0
        for j in range(hp):
            b = b0 + j
            if (packed[i, b >> 3] >> (b & 7)) & 1:
                act[na] = j
                for e in range(d):
                    G[na, e] = M[r0 + j * ks, e]
                na += 1
        for k in range(h):
            out = cval[s, k]
            for e in range(d):
                out[e] = 0.0
            for t in range(na):  # each column's sum in order of j (independent columns)
                w = Wl[k, act[t]]
                for e in range(d):
                    out[e] += w * G[t, e]
        ckey[s] = key
    return cval[s]


@_inline
def _normal(M, rowbase, kstride, offsets, packed, i, k, out, Wl, ckey, cval):
    l = 0
    while offsets[l + 1] <= k:
        l += 1
    d = M.shape[1]
    if l == rowbase.shape[1] - 1 and Wl.shape[0] > 0:  # lazy last layer
        row = _last_rows(M, rowbase, kstride, offsets, packed, i, Wl, ckey, cval)[k - offsets[l]]
    else:
        row = M[rowbase[i, l] + (k - offsets[l]) * kstride[l]]
    s2 = 0.0
    for j in range(d):
        s2 += row[j] * row[j]
    nrm = np.sqrt(s2)
    sgn = -1.0 if _bit(packed, i, k) else 1.0
    for j in range(d):
        out[j] = sgn * row[j] / nrm


@_jit
def _normals(M, rowbase, kstride, offsets, packed, owner, fids, found, out, Wl, ckey, cval):
    for f in range(len(fids)):
        if fids[f] >= 0 and found[f] < 0:
            _normal(M, rowbase, kstride, offsets, packed, owner[f], fids[f], out[f], Wl, ckey, cval)


@_jit
def _hashes(packed, keys, nb):
    """Zobrist hash of each bit vector: XOR of the keys of its set bits."""
    n = packed.shape[0]
    h = np.zeros(n, dtype=np.uint64)
    for i in range(n):
        v = np.uint64(0)
        for b in range(nb):
            if (packed[i, b >> 3] >> (b & 7)) & 1:
                v ^= keys[b]
        h[i] = v
    return h


@_jit
def _hash_table(h):
    """An open-addressing table of the regions by hash: ``slots`` (a power of two, at least
    twice the regions) holds region indices (``-1``: empty), each at the first free slot from
    ``h[i] mod len(slots)`` on, inserted in index order (so a probe meets equal hashes in index
    order)."""
    n = len(h)
    size = 4
    while size < 2 * n:
        size *= 2
    slots = np.full(size, -1, dtype=np.int64)
    mask = np.uint64(size - 1)
    for i in range(n):
        s = np.int64(h[i] & mask)
        while slots[s] >= 0:
            s = (s + 1) & (size - 1)
        slots[s] = i
    return slots


@_inline
def _lookup(slots, h, want):
    """The first region (in index order) whose hash is ``want``, or ``-1``."""
    size = len(slots)
    s = np.int64(want & np.uint64(size - 1))
    while slots[s] >= 0:
        if h[slots[s]] == want:
            return slots[s]
        s = (s + 1) & (size - 1)
    return -1


@_inline
def _row_sum(c, M, r, x, x0, x1, x2, x3, d):
    """``c + M[r, 0] x_0 + M[r, 1] x_1 + ...`` summed left to right, the first four coordinates
    from locals (the order every sign test of this module uses, so results are bit-identical)."""
    z = c + M[r, 0] * x0
    if d > 1:
        z = z + M[r, 1] * x1
        if d > 2:
            z = z + M[r, 2] * x2
            if d > 3:
                z = z + M[r, 3] * x3
                for j in range(4, d):
                    z += M[r, j] * x[j]
    return z


@_jit
def _inside_plane(Mf, mu, rowbase, offsets, U, i, x0, x1):
    """:func:`_inside` for ``d = 2`` with every layer's rows stored, one after another (the
    polygon path, ``kstride`` 1): the same sums ``mu + M[r, 0] x_0 + M[r, 1] x_1``, left to
    right, over contiguous slices of the flat rows ``Mf = M.reshape(-1)`` and of the unpacked
    bits ``U (n, n_bits) uint8``, one branch-free loop per layer (vectorised: ~4x faster than
    indexing the 2-D arrays and unpacking bits in the loop)."""
    Ui = U[i]
    for l in range(rowbase.shape[1]):
        r0 = rowbase[i, l]
        b = offsets[l]
        h = offsets[l + 1] - b
        a = Mf[2 * r0:2 * (r0 + h)]
        m = mu[r0:r0 + h]
        u = Ui[b:b + h]
        bad = np.uint8(0)
        for k in range(h):
            z = m[k] + a[2 * k] * x0
            z = z + a[2 * k + 1] * x1
            bad |= np.uint8(z > 0) ^ u[k]
        if bad:
            return False
    return True


@_inline
def _inside(M, mu, rowbase, kstride, offsets, packed, i, x, Wl, mul, ckey, cval):
    """Whether the signs of region ``i``'s maps at ``x`` reproduce its bits: ``x`` lies in it
    (with lazy maps, ``Wl`` non-empty, the last layer's rows come from ``_last_rows``)."""
    L = rowbase.shape[1]
    d = M.shape[1]
    lazy = Wl.shape[0] > 0
    # the sums z = mu + M[r, 0] x_0 + M[r, 1] x_1 + ..., left to right, with the first four
    # coordinates in locals (d <= 4 is the usual case)
    x0 = x[0]
    x1 = x[1] if d > 1 else 0.0
    x2 = x[2] if d > 2 else 0.0
    x3 = x[3] if d > 3 else 0.0
    for l in range(L - 1 if lazy else L):
        r0 = rowbase[i, l]
        ks = kstride[l]
        b = offsets[l]
        if d == 2:  # the same sums for the plane, every neuron of the layer at once (no branch)
            ok = True
            for k in range(offsets[l + 1] - offsets[l]):
                r = r0 + k * ks
                z = mu[r] + M[r, 0] * x0
                z = z + M[r, 1] * x1
                ok &= (z > 0) == (((packed[i, (b + k) >> 3] >> ((b + k) & 7)) & 1) == 1)
            if not ok:
                return False
            continue
        for k in range(offsets[l + 1] - offsets[l]):
            r = r0 + k * ks
            z = _row_sum(mu[r], M, r, x, x0, x1, x2, x3, d)
            if (z > 0) != (((packed[i, b >> 3] >> (b & 7)) & 1) == 1):
                return False
            b += 1
    if lazy:  # the same sums with the recomputed rows
        R = _last_rows(M, rowbase, kstride, offsets, packed, i, Wl, ckey, cval)
        r0 = rowbase[i, L - 1]
        b = offsets[L - 1]
        for k in range(offsets[L] - offsets[L - 1]):
            z = _row_sum(mul[r0 + k], R, k, x, x0, x1, x2, x3, d)
            if (z > 0) != (((packed[i, b >> 3] >> (b & 7)) & 1) == 1):
                return False
            b += 1
    return True


@_jit
def _verify(M, mu, rowbase, kstride, offsets, packed, U, ptr, owner, fids, found, h, slots, keys,
            radii, scale, fraction, fpts, floor, lo, hi, Wl, mul, ckey, cval):
    """Every network facet: its candidate neighbour (the region whose hash ``h`` is the owner's
    hash XOR the key of the facet's neuron, the first in index order among equal hashes: the
    first that :func:`_hash_table`'s probe meets), accepted where ``p - eps n`` lies in the owner and
    ``p + eps n`` in the candidate (and the box); both sides are written into ``found``.
    ``eps`` starts at ``fraction * min(radius, scale)``. ``U``: the unpacked bits for
    :func:`_inside_plane` (no rows: the general :func:`_inside`)."""
    d = fpts.shape[1]
    nbytes = packed.shape[1]
    q = np.empty(d)
    w = np.empty(d)
    nv = np.empty(d)
    plane = U.shape[0] > 0  # the polygon path: _inside_plane
    Mf = M.reshape(-1)
    for f in range(len(fids)):
        k = fids[f]
        if k < 0 or found[f] >= 0:
            continue
        i = owner[f]
        want = h[i] ^ keys[k]
        c = _lookup(slots, h, want)
        if c < 0:
            continue
        kb, kbit = k >> 3, np.uint8(1 << (k & 7))
        same = True
        for b in range(nbytes):
            x = packed[i, b] ^ kbit if b == kb else packed[i, b]
            if packed[c, b] != x:
                same = False
                break
        if not same:  # a hash collision
            continue
        if plane:  # _normal's arithmetic on the flat rows (no row view, no lazy branch)
            l = 0
            while offsets[l + 1] <= k:
                l += 1
            r = rowbase[i, l] + (k - offsets[l])
            m0, m1 = Mf[2 * r], Mf[2 * r + 1]
            nrm = np.sqrt(m0 * m0 + m1 * m1)
            sgn = -1.0 if U[i, k] else 1.0
            nv[0] = sgn * m0 / nrm
            nv[1] = sgn * m1 / nrm
        else:
            _normal(M, rowbase, kstride, offsets, packed, i, k, nv, Wl, ckey, cval)
        eps = fraction * min(radii[i], scale)
        for _ in range(4):
            box_ok = True
            for j in range(d):
                q[j] = fpts[f, j] + eps * nv[j]
                w[j] = fpts[f, j] - eps * nv[j]
                if not (q[j] >= lo[j] and q[j] <= hi[j]):
                    box_ok = False
            if not box_ok:
                ok = False
            elif plane:
                ok = _inside_plane(Mf, mu, rowbase, offsets, U, i, w[0], w[1]) \
                    and _inside_plane(Mf, mu, rowbase, offsets, U, c, q[0], q[1])
            else:
                ok = _inside(M, mu, rowbase, kstride, offsets, packed, i, w, Wl, mul, ckey, cval) \
                    and _inside(M, mu, rowbase, kstride, offsets, packed, c, q, Wl, mul, ckey, cval)
            if ok:
                found[f] = c
                for g in range(ptr[c], ptr[c + 1]):  # the same facet seen from c
                    if fids[g] == k:
                        if found[g] < 0:
                            found[g] = i
                        break
                break
            eps = max(eps * _SHRINK, floor)


@_jit
def edge_pairs(owner, found, fids, n):
    """The dual graph's edges from the crossing, as :func:`relutopo.decompose._cross_facets`
    forms them with numpy: every facet with a neighbour gives the pair ``(min, max)`` of its
    region and the neighbour; the pairs sorted (stably) by ``min * n + max``, and of each pair
    the first facet's neuron. Returns ``(a, b, k)`` (int64, int64, the dtype of ``fids``).

    The stable sort is a counting sort by ``min`` (facets in order) followed by a stable
    insertion sort by ``max`` within each region's group (a region has few neighbours): one
    index per facet instead of keys, both ends and neurons of every facet and a merge sort."""
    nn = max(n, 1)
    start = np.zeros(nn + 1, dtype=np.int64)
    m = 0
    for f in range(len(found)):
        if found[f] >= 0:
            start[min(np.int64(owner[f]), np.int64(found[f])) + 1] += 1
            m += 1
    for a in range(nn):
        start[a + 1] += start[a]
    fill = start[:nn].copy()
    perm = np.empty(m, dtype=np.int64)
    for f in range(len(found)):
        if found[f] >= 0:
            a = min(np.int64(owner[f]), np.int64(found[f]))
            perm[fill[a]] = f
            fill[a] += 1
    e = 0
    for a in range(nn):
        s0, s1 = start[a], start[a + 1]
        for j in range(s0 + 1, s1):
            f = perm[j]
            key = max(np.int64(owner[f]), np.int64(found[f]))
            t = j
            while t > s0 and max(np.int64(owner[perm[t - 1]]), np.int64(found[perm[t - 1]])) > key:
                perm[t] = perm[t - 1]
                t -= 1
            perm[t] = f
        prev = -1
        for j in range(s0, s1):
            f = perm[j]
            b = max(np.int64(owner[f]), np.int64(found[f]))
            if b != prev:
                e += 1
                prev = b
    a_out = np.empty(e, dtype=np.int64)
    b_out = np.empty(e, dtype=np.int64)
    k_out = np.empty(e, dtype=fids.dtype)
    e = 0
    for a in range(nn):
        prev = -1
        for j in range(start[a], start[a + 1]):
            f = perm[j]
            b = max(np.int64(owner[f]), np.int64(found[f]))
            if b != prev:
                a_out[e], b_out[e], k_out[e] = a, b, fids[f]
                e += 1
                prev = b
    return a_out, b_out, k_out
