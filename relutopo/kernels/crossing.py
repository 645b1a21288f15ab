"""Crossing facets with the regions' own affine maps, compiled (numba).

:func:`relutopo.decompose._cross_facets` finds the neighbour across a facet by evaluating the
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

from dataclasses import dataclass

import numpy as np
from numba import njit

from .. import tolerances as tol

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

    ``M[rowbase[i, l] + k]`` and ``mu[rowbase[i, l] + k]`` are the row and offset of neuron ``k``
    of hidden layer ``l`` restricted to final cell ``i`` (``z = M x + mu``).
    """

    M: np.ndarray
    mu: np.ndarray
    rowbase: np.ndarray

    @classmethod
    def build(cls, maps, parents, hidden_sizes):
        """From the maps ``(M_l (n_{l-1}, h_l, d), mu_l (n_{l-1}, h_l))`` of the cells that layer
        ``l`` cut and each layer's parent pointers ``parents[l]`` (cells of layer ``l`` into those
        of layer ``l - 1``)."""
        L = len(maps)
        d = maps[0][0].shape[2]
        n = len(parents[-1])
        anc = np.empty((n, L), dtype=np.int64)
        anc[:, L - 1] = parents[L - 1]
        for l in range(L - 2, -1, -1):
            anc[:, l] = parents[l][anc[:, l + 1]]
        base = 0
        rowbase = np.empty((n, L), dtype=np.int64)
        for l, (Ml, _) in enumerate(maps):
            rowbase[:, l] = base + anc[:, l] * int(hidden_sizes[l])
            base += Ml.shape[0] * Ml.shape[1]
        M = np.concatenate([Ml.reshape(-1, d) for Ml, _ in maps])
        mu = np.concatenate([ml.reshape(-1) for _, ml in maps])
        return cls(M=M, mu=mu, rowbase=rowbase)

    def take(self, rows):
        """The maps of cells ``rows`` only (e.g. those kept as regions)."""
        return RegionMaps(M=self.M, mu=self.mu, rowbase=self.rowbase[rows])


def _zobrist(n_bits):
    return np.random.default_rng(_ZOBRIST_SEED).integers(0, 2**63, size=n_bits, dtype=np.int64) \
        .astype(np.uint64) * np.uint64(2) + np.uint64(1)


def cross_by_maps(maps, bits, radii, ptr, owner, fids, fpts, fnrm, scale, domain, offsets):
    """Neighbour of every network facet that the maps settle (``-1`` elsewhere).

    ``bits (n, n_hidden)`` are the regions' bit vectors, ``maps`` their
    :class:`RegionMaps`; facet ``f`` belongs to region ``owner[f]`` (facets of region ``i``:
    ``ptr[i]:ptr[i + 1]``), lies on neuron ``fids[f]`` (``< 0``: a box face, left alone) at
    point ``fpts[f]`` with outward unit normal ``fnrm[f]``.

    Each shared facet is tested from one side only: when the facet of ``R`` on neuron ``k``
    leads to ``R'``, the facet of ``R'`` on neuron ``k`` leads back to ``R`` (a convex region
    has at most one facet on a hyperplane, and ``R`` and ``R'`` share one on neuron ``k``).
    """
    n, nb = bits.shape
    keys = _zobrist(nb)
    h = _hashes(np.ascontiguousarray(bits), keys)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    net_f = fids >= 0
    want = h[owner] ^ np.where(net_f, keys[np.maximum(fids, 0)], np.uint64(0))
    pos = np.minimum(np.searchsorted(hs, want), max(n - 1, 0))
    cand = np.where(net_f & (n > 0) & (hs[pos] == want), order[pos], -1) if n else np.full(len(fids), -1)
    eps0 = tol.CROSSING_STEP_FRACTION * np.minimum(radii[owner], scale)
    if domain is None:
        lo = np.full(fpts.shape[1], -np.inf)
        hi = np.full(fpts.shape[1], np.inf)
    else:
        lo, hi = np.asarray(domain.lo, dtype=np.float64), np.asarray(domain.hi, dtype=np.float64)
    return _verify(maps.M, maps.mu, maps.rowbase, np.asarray(offsets, dtype=np.int64),
                   np.ascontiguousarray(bits), ptr, owner.astype(np.int64), cand.astype(np.int64),
                   fids.astype(np.int64), fpts, fnrm, eps0, tol.CHEBYSHEV_RTOL * scale, lo, hi)


@_jit
def _hashes(bits, keys):
    """Zobrist hash of each bit vector: XOR of the keys of its set bits."""
    n, nb = bits.shape
    h = np.zeros(n, dtype=np.uint64)
    for i in range(n):
        v = np.uint64(0)
        for b in range(nb):
            if bits[i, b]:
                v ^= keys[b]
        h[i] = v
    return h


@_inline
def _inside(M, mu, rowbase, offsets, bits, i, x, flip):
    """Whether the signs of region ``i``'s maps at ``x`` reproduce its bits, with bit ``flip``
    negated (``-1``: none): ``x`` lies in that region."""
    L = rowbase.shape[1]
    d = M.shape[1]
    for l in range(L):
        r0 = rowbase[i, l]
        for k in range(offsets[l + 1] - offsets[l]):
            z = mu[r0 + k]
            for j in range(d):
                z += M[r0 + k, j] * x[j]
            b = offsets[l] + k
            want = bits[i, b] != (b == flip)
            if (z > 0) != want:
                return False
    return True


@_jit
def _verify(M, mu, rowbase, offsets, bits, ptr, owner, cand, fids, fpts, fnrm, eps0, floor, lo, hi):
    nf, d = fpts.shape
    found = np.full(nf, -1, dtype=np.int64)
    nb = bits.shape[1]
    q = np.empty(d)
    w = np.empty(d)
    for f in range(nf):
        c = cand[f]
        if c < 0 or found[f] >= 0:
            continue
        i = owner[f]
        k = fids[f]
        same = True
        for b in range(nb):
            if bits[c, b] != (bits[i, b] != (b == k)):
                same = False
                break
        if not same:  # a hash collision
            continue
        eps = eps0[f]
        for _ in range(4):
            box_ok = True
            for j in range(d):
                q[j] = fpts[f, j] + eps * fnrm[f, j]
                w[j] = fpts[f, j] - eps * fnrm[f, j]
                if not (q[j] >= lo[j] and q[j] <= hi[j]):
                    box_ok = False
            if box_ok and _inside(M, mu, rowbase, offsets, bits, i, w, -1) \
                    and _inside(M, mu, rowbase, offsets, bits, c, q, -1):
                found[f] = c
                for g in range(ptr[c], ptr[c + 1]):  # the same facet seen from c
                    if fids[g] == k:
                        if found[g] < 0:
                            found[g] = i
                        break
                break
            eps = max(eps * 1e-3, floor)
    return found
