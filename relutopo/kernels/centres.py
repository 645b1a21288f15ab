"""Certified Chebyshev centres of many small polyhedra, compiled (numba).

A polyhedron-by-polyhedron port of :func:`relutopo.chebyshev.chebyshev_centres`: the same LP
(C), the same start, pivot rules and tolerances (the lockstep simplex treats every polyhedron
independently, so running them one after another changes nothing but the speed), the same basis
enumeration for small calls in ``d <= 2`` (first best basis in lexicographic order), the same
recession shortcut, and the same independent certificate
(:func:`relutopo.chebyshev.certify`, ported). Polyhedra that fail the certificate go to HiGHS
exactly as there (``relutopo.chebyshev._redo_with_highs``). Results agree with the numpy
solver to rounding (``tests/test_kernels.py``).
"""

from __future__ import annotations

import math
import sys
from functools import lru_cache
from math import comb

import numpy as np
from numba import njit

from .. import tolerances as tol
from ..chebyshev import _REFACTOR

__all__ = ["centres"]

#: compiled once and cached on disk; float division by zero gives inf/nan as in numpy
_jit = njit(cache=True, error_model="numpy")
#: helpers called per polyhedron are inlined by numba: no reference counting of their array
#: arguments per call, and constant arguments (``k = 3``) reach LLVM as constants
_inline = njit(cache=True, error_model="numpy", inline="always")

_PRICE = tol.CHEBYSHEV_PRICE_TOL
_PIVOT = tol.CHEBYSHEV_PIVOT_TOL
_HARRIS = tol.CHEBYSHEV_HARRIS_TOL
_DEGEN = tol.CHEBYSHEV_DEGENERATE_STEP
_DET = tol.CHEBYSHEV_ENUM_DET_TOL
_PRIMAL = tol.CHEBYSHEV_ENUM_PRIMAL_TOL
_CERT = tol.CHEBYSHEV_CERT_RTOL
_ZERO = tol.ZERO_ROW_RTOL
_EPS = float(np.finfo(np.float64).eps)
_ULPS = tol.ROUNDING_ERROR_ULPS
_REACH = tol.CHEBYSHEV_HINT_REACH
_OVERSHOOT = 1.0 + tol.CHEBYSHEV_HINT_OVERSHOOT
_TINY = tol.TINY
#: :func:`_row_norm` sums the squares of a row as they are when its non-zero entries lie in
#: ``[1 / _PLAIN, _PLAIN]`` within a factor ``_PLAIN`` of each other: then every square and
#: partial sum is a normal number both as they are and scaled by ``2^-e`` (the largest entry in
#: ``[1/2, 1)``, entries at least ``2^-501``), so the scaled sum is exactly ``4^-e`` times this
#: one, its correctly rounded square root ``2^-e`` times this one's: the same bits
_PLAIN = 2.0 ** 500


def centres(A, c, ptr, cap, hint, hint_given, solver, direction, max_pivots, enumerate_max,
            return_info):
    """``relutopo.chebyshev._centres`` with compiled inner loops (same arguments and
    results: ``(X, R)`` or ``(X, R, info)``).

    Examples
    --------
    The compiled simplex gives the Chebyshev centres of :func:`relutopo.chebyshev.chebyshev_centres`:

    >>> import numpy as np
    >>> from relutopo.chebyshev import chebyshev_centres
    >>> from relutopo.polyhedra import LPSolver
    >>> A = np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1]])
    >>> c = np.array([1.0, 1, 1, 1])
    >>> X, R = centres(A, c, np.array([0, 4]), 10.0, np.zeros((1, 2)), False, LPSolver(), None, None, 0, False)
    >>> X.tolist(), R.tolist(), chebyshev_centres(A, c, [0, 4], 10.0)[1].tolist()
    ([[0.0, 0.0]], [1.0], [1.0])
    """
    from ..chebyshev import _redo_with_highs

    n, d = len(ptr) - 1, A.shape[1]
    info = {"n": n, "fallback": 0, "pivots": 0, "enumerated": 0,
            "fallback_mask": np.zeros(n, dtype=bool)}
    if n == 0:
        X, R = np.full((0, d), np.nan), np.full(0, -np.inf)
        info["uncertified"] = np.zeros(0, dtype=np.int64)
        return (X, R, info) if return_info else (X, R)
    max_pivots = 10 * (d + 1) + 20 if max_pivots is None else int(max_pivots)
    norms, zero, empty, An, cn, m_live = _normalise(A, c, ptr)
    enum = None
    if enumerate_max > 0 and d <= 2:
        enum = _enumerable(m_live, empty, d, enumerate_max, A.shape[0])
    if enum is None:
        enum = np.zeros(n, dtype=np.bool_)
    use_dir = direction is not None and hint_given
    # without a direction _solve_all reads no row of dirs
    dirs = np.asarray(direction, dtype=np.float64) if use_dir else np.zeros((0, d))
    X, R, lam_rows, lam_cap, done, rounds, n_enum = _solve_all(
        An, cn, zero, empty, ptr, hint, float(cap), dirs, use_dir, enum, max_pivots)
    info["pivots"], info["enumerated"] = int(rounds), int(n_enum)
    redo = _to_redo(A, c, ptr, X, R, lam_rows, lam_cap, float(cap), zero, done, empty)
    uncertified = _redo_with_highs(redo, A, c, ptr, An, cn, zero, hint, hint_given, cap, solver, X, R) \
        if redo.size else []
    info["fallback"] = int(redo.size)
    info["uncertified"] = np.array(uncertified, dtype=np.int64)
    info["fallback_mask"][redo] = True
    return (X, R, info) if return_info else (X, R)


def _enumerable(m_live, empty, d, enumerate_max, bound):
    """The polyhedra that the numpy solver solves by basis enumeration (``relutopo.chebyshev.
    _centres``), as a mask, or ``None``: the non-empty ones with ``m >= d`` live rows and at most
    ``enumerate_max`` candidate bases ``C(m + 1, d + 1)`` (capped at ``2^62``, as
    ``relutopo.chebyshev._n_bases``), all of them when their number times the largest count is
    at most ``ENUMERATE_BUDGET``. The count grows with ``m``, so these are the ``m`` in
    ``[d, m_few]``, and the largest count is that of the largest such ``m`` (``m <= bound``)."""
    from ..chebyshev import ENUMERATE_BUDGET

    # the bases grow with m: the m_few of the numpy rule is the largest m whose count is within
    # enumerate_max (at least d - 1), capped at bound
    m_few = max(d - 1, min(bound, _most_rows(d, enumerate_max)))
    mask, count, m_top = _live_rows_between(m_live, empty, d, m_few)
    return mask if count and count * _n_bases(int(m_top), d) <= ENUMERATE_BUDGET else None


def _n_bases(m, d):
    """Candidate bases of ``m`` rows in ``d`` dimensions, ``C(m + 1, d + 1)`` capped at ``2^62``
    (``relutopo.chebyshev._n_bases``)."""
    return min(comb(m + 1, d + 1), 1 << 62)


@lru_cache(maxsize=64)
def _most_rows(d, enumerate_max):
    """The largest ``m >= d - 1`` with at most ``enumerate_max`` candidate bases (a pure function
    of its arguments, kept per pair: the same for every call of a decomposition)."""
    if enumerate_max >= 1 << 62:  # every count is within it (capped): no largest m
        return sys.maxsize
    m = d - 1
    while _n_bases(m + 1, d) <= enumerate_max:  # ends: C(m + 1, d + 1) grows without bound
        m += 1
    return m


@_jit
def _live_rows_between(m_live, empty, lo, hi):
    """The non-empty polyhedra with ``lo <= m_live <= hi`` (a mask), their number and their
    largest ``m_live``."""
    mask = np.zeros(len(m_live), dtype=np.bool_)
    count = 0
    top = 0
    for i in range(len(m_live)):
        if not empty[i] and lo <= m_live[i] <= hi:
            mask[i] = True
            count += 1
            top = max(top, m_live[i])
    return mask, count, top


@_inline
def _row_norm(A, k, d=-1):
    """:func:`relutopo.polyhedra.row_norms` of row ``k``: scaled exactly by a power of two to a
    largest entry in ``[1/2, 1)`` first (no overflow or underflow). ``d``: ``A.shape[1]``
    (default), passed as a constant where that lets LLVM unroll the loops."""
    if d < 0:
        d = A.shape[1]
    m = 0.0
    mn = np.inf  # the smallest non-zero |entry|
    for j in range(d):
        a = abs(A[k, j])
        m = max(m, a)
        if a != 0.0 and a < mn:
            mn = a
    if m == 0.0:
        return 0.0
    if m <= _PLAIN and mn >= 1.0 / _PLAIN and mn >= m / _PLAIN:  # scaling changes no bit (below)
        s = 0.0
        for j in range(d):
            s += A[k, j] * A[k, j]
        return math.sqrt(s)
    e = math.frexp(m)[1]
    s = 0.0
    for j in range(d):
        v = math.ldexp(A[k, j], -e)
        s += v * v
    return math.ldexp(math.sqrt(s), e)


@_jit
def _normalise(A, c, ptr):
    """:func:`relutopo.polyhedra.zero_rows` and the unit rows, per polyhedron."""  # noqa: D401
    if A.shape[1] == 2:  # the plane: d a constant, as in _solve_all
        return _normalise_d(A, c, ptr, 2)
    return _normalise_d(A, c, ptr, A.shape[1])


@_inline
def _normalise_d(A, c, ptr, d):
    n = len(ptr) - 1
    N = A.shape[0]
    norms = np.empty(N)
    zero = np.zeros(N, dtype=np.bool_)
    empty = np.zeros(n, dtype=np.bool_)
    An = np.empty((N, d))
    cn = np.empty(N)
    m_live = np.zeros(n, dtype=np.int64)
    for i in range(n):
        bmax = 0.0  # no absolute floor: rescaling a polyhedron's rows changes nothing
        for k in range(ptr[i], ptr[i + 1]):
            norms[k] = _row_norm(A, k, d)
            if norms[k] > bmax:
                bmax = norms[k]
        for k in range(ptr[i], ptr[i + 1]):
            zero[k] = norms[k] <= _ZERO * bmax
            if zero[k] and c[k] < 0:
                empty[i] = True
        for k in range(ptr[i], ptr[i + 1]):
            safe = 1.0 if zero[k] else norms[k]
            for j in range(d):
                An[k, j] = A[k, j] / safe
            cn[k] = c[k] / safe
            if not zero[k] and not empty[i]:
                m_live[i] += 1
    return norms, zero, empty, An, cn, m_live


@_jit
def _solve_all(An, cn, zero, empty, ptr, hint, cap, dirs, use_dir, enum, max_pivots):
    """Centres of all polyhedra: ``(X, R, lam_rows, lam_cap, done, rounds, n_enum)``. The plane
    (``d = 2``) gets its own copy of :func:`_solve_k` with ``k = 3`` known when compiling, so
    that LLVM unrolls the loops over the basis (the same operations in the same order)."""
    if An.shape[1] == 2:
        return _solve_k(An, cn, zero, empty, ptr, hint, cap, dirs, use_dir, enum, max_pivots, 3)
    return _solve_k(An, cn, zero, empty, ptr, hint, cap, dirs, use_dir, enum, max_pivots,
                    An.shape[1] + 1)


@_inline
def _solve_k(An, cn, zero, empty, ptr, hint, cap, dirs, use_dir, enum, max_pivots, k):
    """:func:`_solve_all` for ``k = d + 1``. The simplex (:func:`relutopo.chebyshev._simplex_block`
    for one polyhedron) is written out in the loop over polyhedra rather than called: every
    array passed to a helper, inlined or not, costs atomic reference counting per call, which
    took most of the time of the small LPs of a plane."""
    n, d = len(ptr) - 1, k - 1
    X = np.full((n, d), np.nan)
    R = np.full(n, -np.inf)
    lam_rows = np.zeros(len(cn))
    lam_cap = np.zeros(n)
    done = np.zeros(n, dtype=np.bool_)
    rounds = 0
    n_enum = 0
    Mmax = 0
    for i in range(n):
        Mmax = max(Mmax, ptr[i + 1] - ptr[i])
    rows = np.empty(Mmax, dtype=np.int64)
    G = np.zeros((Mmax + 1, k))
    H = np.ones(Mmax + 1)
    # the simplex's scratch, allocated once for all polyhedra (it is fully rewritten per call)
    W = np.empty(k, dtype=np.int64)
    Binv = np.empty((k, k))
    B = np.empty((k, k))
    lam, z, p, u, g, gB, rhs = (np.empty(k), np.empty(k), np.empty(k), np.empty(k), np.empty(k),
                                np.empty(k), np.empty(k))
    slack, gp, t = np.empty(Mmax + 1), np.empty(Mmax + 1), np.empty(Mmax + 1)
    cand = np.empty(Mmax + 1, dtype=np.bool_)
    for i in range(n):
        if empty[i]:
            continue
        m = 0
        for r in range(ptr[i], ptr[i + 1]):
            if not zero[r]:
                rows[m] = r
                m += 1
        # G: rows 0..m-1 real (a_j, 1), m the cap (0, 1); H the right-hand sides shifted to the
        # hint and scaled by the cap
        for a in range(m):
            r = rows[a]
            s = 0.0
            for j in range(d):
                G[a, j] = An[r, j]
                s += An[r, j] * hint[i, j]
            G[a, d] = 1.0
            H[a] = (cn[r] - s) / cap
        for j in range(d):
            G[m, j] = 0.0
        G[m, d] = 1.0
        H[m] = 1.0
        if enum[i] and _enumerate(G, H, m, d, rows, hint[i], cap, X[i], R, lam_rows, lam_cap, i):
            done[i] = True
            n_enum += 1
            continue
        if use_dir and _along_recession(An, cn, rows, m, hint[i], dirs[i], cap, X[i]):
            R[i] = cap
            lam_cap[i] = 1.0
            done[i] = True
            continue
        # the simplex: basis W (rows of G, or m + 1 + j for the virtual row e_j), B^-1 updated
        # by Sherman-Morrison after each pivot and refactorised every _REFACTOR pivots
        for j in range(d):
            W[j] = m + 1 + j
        jmin = 0
        for a in range(1, m + 1):
            if H[a] < H[jmin]:
                jmin = a
        W[d] = jmin
        for a in range(k):
            for b in range(k):
                Binv[a, b] = 0.0
            Binv[a, a] = 1.0
        for j in range(d):
            Binv[d, j] = -G[jmin, j]
        bland = False
        stop = 0  # the round at which it stopped
        for it in range(max_pivots + 1):
            stop = it
            if it > 0 and it % _REFACTOR == 0:
                _refactor(G, W, m, d, B, Binv)
            for j in range(k):
                lam[j] = Binv[d, j]
            # pricing
            q_v = 0
            best_v = -np.inf
            has_r = False
            for j in range(k):
                if W[j] > m:
                    if abs(lam[j]) > _PRICE and abs(lam[j]) > best_v:
                        best_v = abs(lam[j])
                        q_v = j
                elif lam[j] < -_PRICE:
                    has_r = True
            has_v = best_v > -np.inf
            for j in range(k):
                rhs[j] = H[W[j]] if W[j] <= m else 0.0
            if not has_v and not has_r:  # optimal
                for a in range(k):
                    s = 0.0
                    for b in range(k):
                        s += Binv[a, b] * rhs[b]
                    z[a] = s
                for j in range(d):
                    X[i, j] = hint[i, j] + cap * z[j]
                R[i] = cap * min(z[d], 1.0)
                lc = 0.0
                for j in range(k):
                    if W[j] < m:
                        lam_rows[rows[W[j]]] = lam[j]
                    elif W[j] == m:
                        lc += lam[j]
                lam_cap[i] = lc
                done[i] = True
                break
            if it == max_pivots:
                break
            if has_v:
                q = q_v
            elif bland:
                q = -1
                for j in range(k):
                    if W[j] <= m and lam[j] < -_PRICE and (q < 0 or W[j] < W[q]):
                        q = j
            else:
                q = -1
                best_s = -np.inf
                for j in range(k):
                    if W[j] <= m and lam[j] < -_PRICE:
                        cn2 = 0.0
                        for a in range(k):
                            cn2 += Binv[a, j] * Binv[a, j]
                        s = -lam[j] / max(np.sqrt(cn2), _TINY)
                        if s > best_s:
                            best_s = s
                            q = j
            lq = lam[q]
            if W[q] > m:
                sgn = 1.0 if lq > 0 else (-1.0 if lq < 0 else 0.0)
            else:
                sgn = -1.0
            pmax = 0.0
            for a in range(k):
                u[a] = Binv[a, q]
                p[a] = u[a] * sgn
                pmax = max(pmax, abs(p[a]))
            for a in range(k):
                s = 0.0
                for b in range(k):
                    s += Binv[a, b] * rhs[b]
                z[a] = s
            # ratio test (Harris)
            tmax = np.inf
            anynan = False
            for r in range(m + 1):
                s = 0.0
                sp = 0.0
                for b in range(k):
                    s += G[r, b] * z[b]
                    sp += G[r, b] * p[b]
                sl = H[r] - s
                slack[r] = sl if sl > 0 else (0.0 if sl <= 0 else sl)  # np.maximum keeps nan
                gp[r] = sp
                cand[r] = sp > _PIVOT * pmax
            for j in range(k):
                if W[j] <= m:
                    cand[W[j]] = False
            for r in range(m + 1):
                if cand[r]:
                    t[r] = slack[r] / gp[r]
                    v = t[r] + _HARRIS / gp[r]
                else:
                    t[r] = np.inf
                    v = np.inf + _HARRIS / gp[r]
                if np.isnan(v):
                    anynan = True
                elif v < tmax:
                    tmax = v
            if anynan:
                tmax = np.nan
            jsel = 0
            if bland:
                for r in range(m + 1):
                    if cand[r] and t[r] <= tmax:
                        jsel = r
                        break
            else:
                bestg = -np.inf
                for r in range(m + 1):
                    if cand[r] and t[r] <= tmax and gp[r] > bestg:
                        bestg = gp[r]
                        jsel = r
            bland = t[jsel] < _DEGEN
            if not tmax < np.inf:
                break
            # row q of B becomes g = G[jsel]: B'^-1 = B^-1 - u (g B^-1 - e_q) / (g . u)
            for b in range(k):
                g[b] = G[jsel, b]
            gu = 0.0
            for b in range(k):
                s = 0.0
                for a in range(k):
                    s += g[a] * Binv[a, b]
                gB[b] = s
                gu += g[b] * u[b]
            gB[q] -= 1.0
            inv_gu = 1.0 / gu
            for a in range(k):
                ua = u[a] * inv_gu
                for b in range(k):
                    Binv[a, b] -= ua * gB[b]
            W[q] = jsel
        rounds = max(rounds, stop)
    return X, R, lam_rows, lam_cap, done, rounds, n_enum


@_jit
def _refactor(G, W, m, d, B, Binv):
    """``Binv`` recomputed from the basis ``W`` (``numpy.linalg.inv``; ``nan`` when singular or
    not finite), ``B`` scratch: the periodic refactorisation of the simplex."""
    k = d + 1
    for a in range(k):
        w = W[a]
        for b in range(k):  # row a of the basis: a real row of G or the virtual row e_(w-m-1)
            B[a, b] = G[w, b] if w <= m else (1.0 if b == w - m - 1 else 0.0)
    singular = False
    for a in range(k):
        for b in range(k):
            if not np.isfinite(B[a, b]):
                singular = True
    if not singular:
        if np.linalg.det(B) == 0.0:
            singular = True
    if singular:
        Binv[:, :] = np.nan
    else:
        Binv[:, :] = np.linalg.inv(B)
        for a in range(k):
            for b in range(k):
                if not np.isfinite(Binv[a, b]):
                    Binv[:, :] = np.nan


@_jit
def _inv3(B, out):
    """Inverse of a 3 x 3 matrix by the adjugate, as :func:`relutopo.chebyshev._inv_det`
    (cross products of rows); returns the determinant."""
    # C_i = b_{i+1} x b_{i+2}
    for i in range(3):
        p, q = (i + 1) % 3, (i + 2) % 3
        out[0, i] = B[p, 1] * B[q, 2] - B[p, 2] * B[q, 1]
        out[1, i] = B[p, 2] * B[q, 0] - B[p, 0] * B[q, 2]
        out[2, i] = B[p, 0] * B[q, 1] - B[p, 1] * B[q, 0]
    det = B[0, 0] * out[0, 0] + B[0, 1] * out[1, 0] + B[0, 2] * out[2, 0]
    for a in range(3):
        for b in range(3):
            out[a, b] /= det
    return det


@_jit
def _inv_small(B, out):
    """Inverse of a ``k x k`` matrix (``k = 3`` by the adjugate, else LAPACK); the determinant."""
    k = B.shape[0]
    if k == 3:
        return _inv3(B, out)
    det = np.linalg.det(B)
    if det != 0.0 and np.isfinite(det):
        out[:, :] = np.linalg.inv(B)
    else:
        out[:, :] = np.nan
    return det


@_jit
def _enumerate(G, H, m, d, rows, x0, cap, Xi, R, lam_rows, lam_cap, i):
    """Basis enumeration (:func:`relutopo.chebyshev._enumerate_block` for one polyhedron): the
    first (lexicographic) primal and dual feasible basis with the largest radius."""
    k = d + 1
    idx = np.arange(k)
    B = np.empty((k, k))
    Binv = np.empty((k, k))
    z = np.empty(k)
    hmax = 0.0
    for a in range(m):
        hmax = max(hmax, abs(H[a]))
    tol_p = _PRIMAL * (1.0 + hmax)
    best = -np.inf
    best_z = np.empty(k)
    best_lam = np.empty(k)
    best_idx = np.empty(k, dtype=np.int64)
    found = False
    while True:
        for a in range(k):
            B[a, :] = G[idx[a], :]
        det = _inv_small(B, Binv)
        if abs(det) > _DET:
            for a in range(k):
                s = 0.0
                for b in range(k):
                    s += Binv[a, b] * H[idx[b]]
                z[a] = s
            good = z[d] <= 1.0 + _PRIMAL
            for b in range(k):
                if Binv[d, b] < -_PRICE:
                    good = False
            if good:
                for a in range(m):
                    s = 0.0
                    for b in range(k):
                        s += G[a, b] * z[b]
                    if H[a] - s < -tol_p:
                        good = False
                        break
            if good and z[d] > best:
                best = z[d]
                found = True
                best_z[:] = z
                best_lam[:] = Binv[d, :]
                best_idx[:] = idx
        # next k-subset of 0..m in lexicographic order
        a = k - 1
        while a >= 0 and idx[a] == m - (k - 1 - a):
            a -= 1
        if a < 0:
            break
        idx[a] += 1
        for b in range(a + 1, k):
            idx[b] = idx[b - 1] + 1
    if not found:
        return False
    for j in range(d):
        Xi[j] = x0[j] + cap * best_z[j]
    R[i] = cap * min(best_z[d], 1.0)
    lc = 0.0
    for b in range(k):
        if best_idx[b] < m:
            lam_rows[rows[best_idx[b]]] = best_lam[b]
        else:
            lc += best_lam[b]
    lam_cap[i] = lc
    return True


@_jit
def _along_recession(An, cn, rows, m, x0, direction, cap, Xi):
    """:func:`relutopo.chebyshev._along_recession` for one polyhedron: ``True`` and ``Xi`` set
    when ``hint + t direction`` has slack ``>= cap`` on every row."""
    d = An.shape[1]
    dn = 0.0
    for j in range(d):
        dn += direction[j] * direction[j]
    dnorm = np.sqrt(dn)
    if not dnorm > 0:
        return False
    t = 0.0
    for a in range(m):
        r = rows[a]
        s0 = cn[r]
        g = 0.0
        ax = 0.0
        for j in range(d):
            ax += An[r, j] * x0[j]
            g -= An[r, j] * direction[j]
        s0 = cn[r] - ax
        if g > 0:
            need = (cap - s0) / g
        elif s0 >= cap:
            need = -np.inf
        else:
            need = np.inf
        if need > t or np.isnan(need):
            t = need
    hmax = 0.0
    for j in range(d):
        hmax = max(hmax, abs(x0[j]))
    limit = _REACH * (cap + hmax)
    if not (np.isfinite(t) and t * dnorm <= limit):
        return False
    x = np.empty(d)
    for j in range(d):
        x[j] = x0[j] + (t * _OVERSHOOT) * direction[j]
    for a in range(m):
        r = rows[a]
        ax = 0.0
        for j in range(d):
            ax += An[r, j] * x[j]
        if cn[r] - ax < cap:
            return False
    Xi[:] = x
    return True


@_jit
def _to_redo(A, c, ptr, X, R, lam_rows, lam_cap, cap, zero, done, empty):
    """The polyhedra for HiGHS (indices, increasing): the non-empty ones that the simplex did
    not finish (``done``) or whose result :func:`_certify` does not certify."""
    ok = _certify(A, c, ptr, X, R, lam_rows, lam_cap, cap, zero)
    m = 0
    for i in range(len(ok)):
        ok[i] = (done[i] and ok[i]) or empty[i]
        if not ok[i]:
            m += 1
    redo = np.empty(m, dtype=np.int64)
    m = 0
    for i in range(len(ok)):
        if not ok[i]:
            redo[m] = i
            m += 1
    return redo


@_inline
def _certify(A, c, ptr, X, R, lam_rows, lam_cap, cap, zero):
    """:func:`relutopo.chebyshev.certify`, polyhedron by polyhedron (the rows with ``zero``
    set are left out)."""
    if A.shape[1] == 2:  # the plane: d a constant, as in _solve_all
        return _certify_d(A, c, ptr, X, R, lam_rows, lam_cap, cap, zero, 2)
    return _certify_d(A, c, ptr, X, R, lam_rows, lam_cap, cap, zero, A.shape[1])


@_inline
def _certify_d(A, c, ptr, X, R, lam_rows, lam_cap, cap, zero, d):
    n = len(ptr) - 1
    ok = np.zeros(n, dtype=np.bool_)
    tau = _CERT * cap
    res = np.empty(d + 1)
    x = np.empty(d)
    for i in range(n):
        good = np.isfinite(R[i]) and R[i] <= cap
        for j in range(d):
            if np.isfinite(X[i, j]):
                x[j] = X[i, j]
            else:
                good = False
                x[j] = 0.0
        r = R[i] if np.isfinite(R[i]) else 0.0
        viol = 0.0
        lam_min = 0.0
        for j in range(d + 1):
            res[j] = 0.0
        gapsum = 0.0
        for kk in range(ptr[i], ptr[i + 1]):
            if zero[kk]:
                continue
            nrm2 = 0.0
            ax = 0.0
            aax = 0.0
            for j in range(d):
                nrm2 += A[kk, j] * A[kk, j]
                ax += A[kk, j] * x[j]
                aax += abs(A[kk, j]) * abs(x[j])
            nrm = np.sqrt(nrm2)
            safe = nrm if nrm > 0 else 1.0
            sl = (c[kk] - ax) / safe - r
            err = _ULPS * _EPS * (abs(c[kk]) + aax + nrm * abs(r)) / safe
            viol = min(viol, sl - err)
            lam = lam_rows[kk]
            lam_min = min(lam_min, lam)
            for j in range(d):
                res[j] += lam * A[kk, j] / safe
            res[d] += lam
            gapsum += lam * (sl if np.isfinite(sl) else 0.0) + abs(lam) * err
        good = good and viol >= -tau
        good = good and lam_min >= -_CERT and lam_cap[i] >= -_CERT
        res[d] += lam_cap[i] - 1.0
        rmax = 0.0
        for j in range(d + 1):
            rmax = max(rmax, abs(res[j]))
        good = good and rmax <= _CERT
        gap = gapsum + lam_cap[i] * (cap - r) + r * res[d]
        good = good and gap <= tau
        ok[i] = good
    return ok
