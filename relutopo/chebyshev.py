
"""Certified Chebyshev centres of many small polyhedra at once, without an LP solver call each.

The Chebyshev centre of ``P = {x : A x <= c}`` (radius capped at ``radius_cap``) solves the LP

    max r   s.t.   a_j . x + ||a_j|| r <= c_j  (every row j),   r <= radius_cap,          (C)

in the ``d + 1`` unknowns ``z = (x, r)``, with ``x`` and ``r`` free (``r < 0`` measures how empty an
empty ``P`` is). :func:`chebyshev_centres` solves (C) for ``n`` polyhedra given in ragged (CSR)
form with one *primal simplex* run in lockstep over all of them (numpy arrays of shape
``(n, rows, d + 1)``, rows padded with dummies):

* rows are normalised (``||a_j|| = 1``), coordinates are shifted to the hint and scaled by the
  cap, so every number is of order one;
* the start is the hint ``x0`` with ``r0 = min(cap, min_j slack_j)``; its basis is the tight row
  plus ``d`` *virtual* rows ``x_i = x0_i`` (the free variables ``x``, non-basic at first);
* each pivot prices the basis (multipliers ``lambda = B^{-T} e_r``): a virtual row with
  ``lambda != 0`` or a real row with ``lambda < 0`` leaves (virtual rows first, then steepest
  edge; Bland's smallest-index rule while the last step was degenerate, so it cannot cycle in
  exact arithmetic), a Harris ratio test picks the entering row; the cap row is always a
  candidate, so no step is unbounded; ``B^-1`` is updated by Sherman-Morrison and refactorised
  every few rounds;
* a polyhedron stops when no row prices out: its multipliers on the real rows and the cap are a
  dual certificate. A polyhedron whose start already has every slack ``>= cap`` (e.g. an
  unbounded region of ``R^d`` with a far hint) stops at once with ``lambda = e_cap``.

A small call in ``d <= 2`` (a few dozen polyhedra with few rows) skips the simplex
(``_enumerate_block``): every ``(d + 1)``-subset of a polyhedron's rows and the cap is a
candidate basis, solved all at once, and a basis that is primal feasible (every slack ``>= 0``)
and dual feasible (``lambda = B^-T e_r >= 0``) is optimal by LP duality. That is a few batched
numpy calls instead of one lockstep round per pivot; a polyhedron without such a basis (a strip
has none: its feasible set is not pointed) goes on to the simplex.

Every answer is then checked *independently of the iteration* on the original rows
(:func:`certify`): primal feasibility, ``y >= 0`` with ``sum_j y_j (a_j, ||a_j||) + y_cap (0, 1) =
(0, 1)``, and a zero duality gap, all within ``tolerances.CHEBYSHEV_CERT_RTOL``. Polyhedra that
fail, or run out of pivots (``max_pivots``), are recomputed by HiGHS
(:meth:`relutopo.polyhedra.LPSolver.chebyshev_batch`, 32 per LP). The result is deterministic
(fixed pivot rules, fixed order).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np

from . import tolerances as tol
from .lp import zero_rows

__all__ = ["chebyshev_centres", "certify"]

#: polyhedra per lockstep block (sorted by row count, so padding stays small)
_BLOCK = 8192
#: ... and at most this many entries in its padded (polyhedra, rows, d + 1) array (~32 MB)
_BLOCK_ENTRIES = 4_000_000
#: rounds between fresh factorisations of the basis inverses (rank-one updates in between)
_REFACTOR = 8
#: polyhedra with at most this many candidate bases (``(d + 1)``-subsets of rows + cap) are
#: solved by basis enumeration instead of the simplex ...
ENUMERATE_MAX = 64
#: ... when the whole call has at most this many (padded) bases: enumeration wins for a few dozen
#: cells, where the simplex's fixed cost per round dominates; from about a hundred cells on
#: the simplex is faster (benchmarks/bench_chebyshev.py, 2-32-32-1 in R^2)
ENUMERATE_BUDGET = 3000


def chebyshev_centres(A, c, ptr, radius_cap, *, solver=None, hint=None, direction=None,
                      max_pivots=None, enumerate_max=ENUMERATE_MAX, return_info=False):
    """Chebyshev centres of ``n`` polyhedra given in ragged form.

    Polyhedron ``i`` is ``{x : A[k] . x <= c[k], ptr[i] <= k < ptr[i + 1]}``.

    Parameters
    ----------
    A : (N, d) array
    c : (N,) array
    ptr : (n + 1,) int array
        Non-decreasing, ``ptr[0] = 0``, ``ptr[-1] = N``.
    radius_cap : float
        Upper bound on the radius (the domain scale), so unbounded polyhedra have an answer.
    solver : relutopo.polyhedra.LPSolver, optional
        HiGHS instance for the fallback (created on first need).
    hint : (n, d) array, optional
        A point inside (or near) each polyhedron, e.g. the mean of its vertices plus the scale
        times the mean of its rays; the simplex starts there (default: the origin).
    direction : (n, d) array, optional
        A direction of each polyhedron's recession cone (e.g. the mean of its unit rays; zero
        for a bounded one). A polyhedron in which ``hint + t direction`` reaches a slack of at
        least ``radius_cap`` on every row, for some ``0 <= t`` with ``t |direction| <= 10^3
        (radius_cap + |hint|)``, is answered ``(hint + t direction, radius_cap)`` at once --
        optimal, since ``r <= radius_cap`` -- and certified like every other answer.
    max_pivots : int, optional
        Pivots per polyhedron before it is handed to HiGHS (default ``10 (d + 1) + 20``).
    enumerate_max : int
        In ``d <= 2``, polyhedra whose ``m`` rows give at most this many candidate bases,
        ``C(m + 1, d + 1)``, are solved by basis enumeration first (0: never), provided the
        call has at most ``ENUMERATE_BUDGET`` candidate bases in all (padded to the largest).
        Elsewhere the simplex was faster on the engine's systems (``benchmarks/``).
    return_info : bool
        Also return a dict with ``n``, ``enumerated`` (solved by basis enumeration),
        ``fallback`` (count), ``pivots`` (lockstep rounds),
        ``fallback_mask`` and ``uncertified``: polyhedra that neither the certificate nor HiGHS
        could solve (coordinates far beyond the cap, e.g. a cell at ``1e10`` with a cap of
        ``1e2``); they get the hint with its largest inscribed ball -- a genuine ball inside the
        polyhedron, not necessarily the largest. Without a hint such a polyhedron raises.

    Returns
    -------
    X : (n, d)
        A maximiser of LP (C) for each polyhedron (``nan`` where ``R = -inf``).
    R : (n,)
        ``max r`` s.t. ``a_j . x + ||a_j|| r <= c_j`` for all rows ``j`` of the polyhedron and
        ``r <= radius_cap``; negative for empty polyhedra, ``-inf`` when a row of zeros is
        violated (as :meth:`~relutopo.polyhedra.LPSolver.chebyshev_batch` returns), the cap for
        a polyhedron without rows.

    Examples
    --------
    Two polyhedra in ragged form: the square ``[-1, 1]^2`` and the strip ``|x_1| <= 1, x_2 <= -5``
    (unbounded; its ball is limited by the strip's width):

    >>> import numpy as np
    >>> A = np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1], [1, 0], [-1, 0], [0, 1]])
    >>> c = np.array([1.0, 1, 1, 1, 1, 1, -5])
    >>> X, R = chebyshev_centres(A, c, [0, 4, 7], radius_cap=10.0)
    >>> X[0].tolist(), R.tolist()
    ([0.0, 0.0], [1.0, 1.0])
    """
    hint_given = hint is not None
    A, c, ptr, hint, cap = _check_inputs(A, c, ptr, hint, radius_cap)
    return _centres(A, c, ptr, cap, hint, hint_given, solver, direction, max_pivots, enumerate_max,
                    return_info)


def _centres(A, c, ptr, cap, hint, hint_given, solver, direction, max_pivots, enumerate_max,
             return_info):
    """:func:`chebyshev_centres` on checked input (float64 ``A, c, hint``, int64 ``ptr``, finite)."""
    n, d = len(ptr) - 1, A.shape[1]
    X = np.full((n, d), np.nan)
    R = np.full(n, -np.inf)
    lam_rows = np.zeros(len(c))
    lam_cap = np.zeros(n)
    info = {"n": n, "fallback": 0, "pivots": 0, "enumerated": 0,
            "fallback_mask": np.zeros(n, dtype=bool)}
    if n == 0:
        return (X, R, info) if return_info else (X, R)
    max_pivots = 10 * (d + 1) + 20 if max_pivots is None else int(max_pivots)

    counts = ptr[1:] - ptr[:-1]
    owner = np.arange(n).repeat(counts)
    norms, zero, empty = zero_rows(A, c, owner, n)
    live_rows = (~zero & ~empty[owner]).nonzero()[0]
    safe = np.where(zero, 1.0, norms)
    An, cn = A / safe[:, None], c / safe
    m_live = np.bincount(owner[live_rows], minlength=n)

    done = empty.copy()
    order = (~empty).nonzero()[0]
    order = order[m_live[order].argsort(kind="stable")]
    # rows of each polyhedron, live rows only, as a CSR over ``live_rows``
    lptr = np.zeros(n + 1, dtype=np.int64)
    m_live.cumsum(out=lptr[1:])
    if enumerate_max > 0 and d <= 2 and order.size:  # d >= 3: the simplex measured faster
        nbases = _n_bases(m_live[order], d)
        few = (m_live[order] >= d) & (nbases <= enumerate_max)
        sel = order[few]  # sorted by row count: the last has the most bases (padding)
        if sel.size and sel.size * int(nbases[few][-1]) <= ENUMERATE_BUDGET:
            _enumerate_block(An, cn, live_rows, lptr, sel, hint, cap, X, R, lam_rows, lam_cap, done)
            info["enumerated"] = int(done[sel].sum())
            order = order[~done[order]]
    if direction is not None and hint_given and order.size:
        _along_recession(An, cn, owner, zero, hint, np.asarray(direction, dtype=np.float64),
                         cap, done, X, R, lam_cap, done)
        order = order[~done[order]]
    s0 = 0
    while s0 < len(order):
        # at most _BLOCK polyhedra, and at most _BLOCK_ENTRIES padded matrix entries per block
        rows_last = int(m_live[order[min(s0 + _BLOCK, len(order)) - 1]])
        size = max(64, min(_BLOCK, _BLOCK_ENTRIES // ((rows_last + 1) * (d + 1))))
        idx = order[s0:s0 + size]
        s0 += size
        rounds = _simplex_block(An, cn, live_rows, lptr, idx, hint, cap, max_pivots,
                                X, R, lam_rows, lam_cap, done)
        info["pivots"] = max(info["pivots"], rounds)

    ok = done.copy()
    ok[~empty] &= certify(A, c, ptr, X, R, lam_rows, lam_cap, cap, rows=~zero)[~empty]
    redo = (~ok).nonzero()[0]
    uncertified = _redo_with_highs(redo, A, c, ptr, An, cn, zero, hint, hint_given, cap, solver, X, R) \
        if redo.size else []
    info["fallback"] = int(redo.size)
    info["uncertified"] = np.array(uncertified, dtype=np.int64)
    info["fallback_mask"][redo] = True
    return (X, R, info) if return_info else (X, R)


def _redo_with_highs(redo, A, c, ptr, An, cn, zero, hint, hint_given, cap, solver, X, R):
    """Recompute the polyhedra ``redo`` (not certified) with HiGHS, 32 per LP, in place in
    ``X, R``; returns the list of those neither certified nor solvable by HiGHS (they keep the
    hint's inscribed ball; without a hint they raise). Shared by the numpy solver and the
    compiled one (:mod:`relutopo.kernels.centres`)."""
    if solver is None:
        from .lp import LPSolver

        solver = LPSolver()
    uncertified = []
    for s0 in range(0, redo.size, 32):
        chunk = redo[s0:s0 + 32]
        systems = [(A[ptr[i]:ptr[i + 1]], c[ptr[i]:ptr[i + 1]]) for i in chunk]
        try:  # HiGHS sees unit rows in coordinates relative to the hint (a local origin)
            X[chunk], R[chunk] = solver.chebyshev_batch(systems, cap, origins=hint[chunk])
        except RuntimeError:  # one ill-scaled system spoils its batch: retry one at a time
            for i, system in zip(chunk, systems):
                try:
                    Xi, Ri = solver.chebyshev_batch([system], cap, origins=hint[i:i + 1])
                    X[i], R[i] = Xi[0], Ri[0]
                except RuntimeError as exc:
                    if not hint_given:
                        raise type(exc)(f"polyhedron {i} (rows {ptr[i]}:{ptr[i + 1]}): {exc}") from None
                    # neither certified nor solvable by HiGHS (coordinates far beyond the
                    # cap, e.g. 1e10 vs 1e2): keep the hint's inscribed ball, which is a
                    # genuine ball inside the polyhedron, if not the largest
                    X[i], R[i] = _hint_ball(An[ptr[i]:ptr[i + 1]], cn[ptr[i]:ptr[i + 1]],
                                            zero[ptr[i]:ptr[i + 1]], hint[i], cap)
                    uncertified.append(i)
    return uncertified


def _along_recession(An, cn, owner, zero, hint, direction, cap, skip, X, R, lam_cap, done):
    """Answer ``(hint + t direction, cap)`` where that point has slack ``>= cap`` on every row
    (unit rows ``An x <= cn``; rows of zeros skipped; polyhedra with ``skip`` left alone): ``t``
    is the smallest such step, taken per row in closed form (slack is affine in ``t``);
    accepted only when the slacks recomputed at the point are all ``>= cap``."""
    n = len(done)
    dnorm = np.sqrt(np.einsum("ij,ij->i", direction, direction))
    cand = (dnorm > 0) & ~skip
    if not cand.any():
        return
    rows = (cand[owner] & ~zero).nonzero()[0]
    o = owner[rows]
    s0 = cn[rows] - np.einsum("ij,ij->i", An[rows], hint[o])
    g = -np.einsum("ij,ij->i", An[rows], direction[o])  # slack gained per unit of t
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(g > 0, (cap - s0) / g, np.where(s0 >= cap, -np.inf, np.inf))
    t = np.zeros(n)
    np.maximum.at(t, o, need)
    limit = tol.CHEBYSHEV_HINT_REACH * (cap + np.abs(hint).max(axis=1, initial=0.0))
    with np.errstate(invalid="ignore"):
        cand &= np.isfinite(t) & (t * dnorm <= limit)
    t[~cand] = 0.0
    x = hint + (t * (1.0 + tol.CHEBYSHEV_HINT_OVERSHOOT))[:, None] * direction  # a hair beyond: rounding must not undo it
    slack = cn[rows] - np.einsum("ij,ij->i", An[rows], x[o])
    low = np.zeros(n, dtype=bool)
    low[o[slack < cap]] = True
    ok = cand & ~low
    X[ok], R[ok] = x[ok], cap
    lam_cap[ok] = 1.0
    done[ok] = True


def _hint_ball(An, cn, zero, x, cap):
    """``(x, r)`` with ``r = min(cap, smallest slack of x)`` on unit rows ``An x <= cn`` (rows of
    zeros skipped): the largest ball centred at ``x`` (the last resort of :func:`chebyshev_centres`)."""
    live = ~zero
    slack = cn[live] - An[live] @ x
    return x, float(min(cap, slack.min(initial=np.inf)))


def _check_inputs(A, c, ptr, hint, radius_cap):
    """Validate and convert the ragged input once, at the boundary."""
    A = np.asarray(A, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    ptr = np.asarray(ptr)
    if A.ndim != 2:
        raise ValueError(f"A must be a 2-D (N, d) array; got shape {A.shape}")
    if c.shape[0] != A.shape[0]:
        raise ValueError(f"c must have one entry per row of A ({A.shape[0]}); got {c.shape[0]}")
    if ptr.ndim != 1 or ptr.size < 1 or not np.issubdtype(ptr.dtype, np.integer) or ptr[0] != 0 \
            or ptr[-1] != A.shape[0] or (np.diff(ptr) < 0).any():
        raise ValueError(f"ptr must be a non-decreasing int array from 0 to len(A) = {A.shape[0]}; "
                         f"got {ptr!r}")
    if not np.isfinite(A).all() or not np.isfinite(c).all():
        raise ValueError("A and c must be finite")
    cap = float(radius_cap)
    if not (np.isfinite(cap) and cap > 0):
        raise ValueError(f"radius_cap must be a positive finite number; got {radius_cap!r}")
    n, d = len(ptr) - 1, A.shape[1]
    if hint is None:
        hint = np.zeros((n, d))
    else:
        hint = np.asarray(hint, dtype=np.float64)
        if hint.shape != (n, d):
            raise ValueError(f"hint must have shape (n, d) = ({n}, {d}); got {hint.shape}")
        hint = np.where(np.isfinite(hint), hint, 0.0)
    return A, c, ptr.astype(np.int64), hint, cap


def _simplex_block(An, cn, live_rows, lptr, idx, hint, cap, max_pivots,
                   X, R, lam_rows, lam_cap, done):
    """Run the lockstep simplex on polyhedra ``idx`` (rows ``An x <= cn`` normalised to unit
    length); write ``X, R``, the multipliers and ``done`` for those that reach optimality.
    Returns the number of lockstep rounds."""
    d = An.shape[1]
    k = d + 1
    nb = len(idx)
    m = lptr[idx + 1] - lptr[idx]
    M = int(m.max(initial=0))
    # G: padded rows 0..M-1 real (dummies: zero rows with infinite slack), M the cap. Rows
    # M+1..M+d are the virtual rows x_i = x0_i: never stored, they only appear in bases (W).
    pos = np.arange(M)[None, :]
    valid = pos < m[:, None]
    src = live_rows[np.minimum(lptr[idx][:, None] + pos, len(live_rows) - 1)] if len(live_rows) \
        else np.zeros((nb, M), dtype=np.int64)
    gidx = np.where(valid, src, -1)  # global row index of each padded real row
    x0 = hint[idx]
    G = np.zeros((nb, M + 1, k))
    G[:, :M, :d] = An[src] * valid[:, :, None]
    G[:, :M, d] = valid
    G[:, M, d] = 1.0
    H = np.ones((nb, M + 1))
    H[:, :M] = np.where(valid, (cn[src] - np.einsum("nmd,nd->nm", G[:, :M, :d], x0)) / cap, np.inf)
    cand_row = np.ones((nb, M + 1), dtype=bool)
    cand_row[:, :M] = valid

    # start: z = (0, r0), basis = virtual rows + the tightest row j (or the cap), whose inverse
    # is [[I, 0], [-a_j, 1]]
    W = np.empty((nb, k), dtype=np.int64)
    W[:, :d] = np.arange(M + 1, M + 1 + d)
    W[:, d] = np.argmin(H, axis=1)
    Binv = np.zeros((nb, k, k))
    Binv[:, np.arange(k), np.arange(k)] = 1.0
    Binv[:, d, :d] = -G[np.arange(nb), W[:, d], :d]
    # state of the polyhedra still pivoting; compacted when a quarter of them have finished.
    # B^-1 is updated by Sherman-Morrison after each pivot and refactorised every _REFACTOR
    # rounds; answers are checked afterwards by ``certify`` on the original rows.
    pid = np.arange(nb)  # position in the block
    bland = np.zeros(nb, dtype=bool)
    run = np.ones(nb, dtype=bool)
    rounds = 0
    for it in range(max_pivots + 1):
        if run.sum() < 0.75 * len(pid):
            G, H, W, cand_row, pid, bland, x0, run, Binv = (
                G[run], H[run], W[run], cand_row[run], pid[run], bland[run], x0[run], run[run],
                Binv[run])
        if pid.size == 0:
            break
        rounds = it
        if it > 0 and it % _REFACTOR == 0:
            Binv = _inverse(G, W, M)
        na = pid.size
        al = np.arange(na)
        lam = Binv[:, d, :]
        virt = W > M
        # pricing: virtual rows with lambda != 0 first (largest |lambda|), then real rows with
        # lambda < 0 (steepest edge, or Bland's smallest row index after a degenerate step)
        vscore = np.where(virt & (np.abs(lam) > tol.CHEBYSHEV_PRICE_TOL), np.abs(lam), -np.inf)
        neg = ~virt & (lam < -tol.CHEBYSHEV_PRICE_TOL)
        has_r = neg.any(axis=1)
        q_v = np.argmax(vscore, axis=1)
        has_v = vscore[al, q_v] > -np.inf
        optimal = run & ~has_v & ~has_r
        if optimal.any():
            fin = pid[optimal]
            gi = idx[fin]
            Wo, Bo = W[optimal], Binv[optimal]
            z = np.einsum("nij,nj->ni", Bo, _rhs(H[optimal], Wo, M))
            lo = Bo[:, d, :]
            X[gi] = x0[optimal] + cap * z[:, :d]
            R[gi] = cap * np.minimum(z[:, d], 1.0)
            rr, cc = np.nonzero(Wo < M)
            lam_rows[gidx[fin[rr], Wo[rr, cc]]] = lo[rr, cc]
            lam_cap[gi] = np.sum(np.where(Wo == M, lo, 0.0), axis=1)
            done[gi] = True
            run &= ~optimal
        if it == max_pivots or not run.any():
            break
        colnorm = np.sqrt(np.einsum("nij,nij->nj", Binv, Binv))
        steep = np.where(neg, -lam / np.maximum(colnorm, tol.TINY), -np.inf)
        blandkey = np.where(neg, W, np.iinfo(np.int64).max)
        q_r = np.where(bland, np.argmin(blandkey, axis=1), np.argmax(steep, axis=1))
        q = np.where(has_v, q_v, q_r)
        # B p = -s e_q gains e_r . p = -s lambda_q: a real row leaves with s = 1 (its slack
        # grows), a virtual one with s = -sign(lambda_q) (a free variable moves either way)
        lq = lam[al, q]
        u = Binv[al, :, q]
        p = u * np.where(W[al, q] > M, np.sign(lq), -1.0)[:, None]
        z = np.einsum("nij,nj->ni", Binv, _rhs(H, W, M))
        with np.errstate(invalid="ignore"):
            slack = np.maximum(H - np.einsum("nrk,nk->nr", G, z), 0.0)
        gp = np.einsum("nrk,nk->nr", G, p)
        cand = cand_row & (gp > tol.CHEBYSHEV_PIVOT_TOL * np.abs(p).max(axis=1)[:, None])
        real = W <= M
        cand[al[:, None].repeat(k, axis=1)[real], W[real]] = False
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(cand, slack / gp, np.inf)
            tmax = np.min(t + tol.CHEBYSHEV_HARRIS_TOL / gp, axis=1)
        elig = cand & (t <= tmax[:, None])
        j = np.where(bland, np.argmax(elig, axis=1),  # Bland: smallest eligible row index
                     np.argmax(np.where(elig, gp, -np.inf), axis=1))  # else the largest pivot
        bland = t[al, j] < tol.CHEBYSHEV_DEGENERATE_STEP
        mv = run & (tmax < np.inf)  # no blocking row is impossible (the cap row blocks): HiGHS
        run &= mv
        # row q of B becomes g = G[j]: B'^-1 = B^-1 - u (g B^-1 - e_q) / (g . u)
        g = G[al, j]
        gB = np.einsum("nk,nkl->nl", g, Binv)
        gB[al, q] -= 1.0
        gu = np.where(mv, np.einsum("nk,nk->n", g, u), 1.0)
        u *= (mv / gu)[:, None]
        Binv -= u[:, :, None] * gB[:, None, :]
        W[al[mv], q[mv]] = j[mv]
    return rounds


def _n_bases(m, d):
    """``C(m + 1, d + 1)``: candidate bases of a polyhedron with ``m`` rows (and the cap row),
    elementwise for an int array ``m`` (capped at 2^62)."""
    m = np.asarray(m, dtype=np.int64)
    table = np.array([min(comb(i + 1, d + 1), 1 << 62) for i in range(int(m.max(initial=0)) + 1)],
                     dtype=np.int64)
    return table[m]


@lru_cache(maxsize=64)
def _subsets(rows, k):
    """All ``k``-subsets of ``range(rows)``, lexicographic, as a ``(S, k)`` int array."""
    return np.array(list(combinations(range(rows), k)), dtype=np.int64).reshape(-1, k)


def _enumerate_block(An, cn, live_rows, lptr, idx, hint, cap, X, R, lam_rows, lam_cap, done):
    """Chebyshev LP (C) of polyhedra ``idx`` by basis enumeration (unit rows ``An x <= cn``;
    coordinates shifted to the hint and scaled by the cap, as in :func:`_simplex_block`).

    Every ``(d + 1)``-subset of a polyhedron's rows and the cap row is a candidate basis ``B``
    (rows ``(a_j, 1)`` and ``(0, 1)``). Its vertex ``z = B^-1 h`` and multipliers ``lambda =
    B^-T e_r`` (row ``d`` of ``B^-1``) are computed for all subsets at once; a basis with every
    slack ``>= 0`` and ``lambda >= 0`` (to rounding) is optimal by LP duality, and the one with the
    largest ``r`` is kept. Polyhedra without one are left as they are (``done`` false) for the
    simplex; every answer is certified afterwards like the simplex's."""
    d = An.shape[1]
    k = d + 1
    nb = len(idx)
    m = lptr[idx + 1] - lptr[idx]
    M = int(m.max(initial=0))
    sub = _subsets(M + 1, k)  # rows 0..M-1 real (padded), M the cap
    usable = ((sub[None, :, :] < m[:, None, None]) | (sub[None, :, :] == M)).all(axis=2)
    pos = np.arange(M)[None, :]
    valid = pos < m[:, None]
    src = live_rows[np.minimum(lptr[idx][:, None] + pos, len(live_rows) - 1)] if len(live_rows) \
        else np.zeros((nb, M), dtype=np.int64)
    x0 = hint[idx]
    G = np.zeros((nb, M + 1, k))
    G[:, :M, :d] = An[src] * valid[:, :, None]
    G[:, :, d] = 1.0
    H = np.ones((nb, M + 1))
    H[:, :M] = np.where(valid, (cn[src] - np.einsum("nmd,nd->nm", G[:, :M, :d], x0)) / cap, 0.0)
    B = G[:, sub]  # (nb, S, k, k)
    with np.errstate(all="ignore"):
        Binv, det = _inv_det(B)
        usable &= np.abs(det) > tol.CHEBYSHEV_ENUM_DET_TOL
        z = np.einsum("nsij,nsj->nsi", Binv, H[:, sub])
        lam = Binv[:, :, d, :]
        slack = np.where(valid[:, None, :], H[:, None, :M] - np.einsum("nrk,nsk->nsr", G[:, :M], z),
                         np.inf)
    tol_p = tol.CHEBYSHEV_ENUM_PRIMAL_TOL * (1.0 + np.abs(H[:, :M]).max(axis=1, initial=0.0))
    good = usable & (slack.min(axis=2, initial=np.inf) >= -tol_p[:, None]) \
        & (z[:, :, d] <= 1.0 + tol.CHEBYSHEV_ENUM_PRIMAL_TOL) & (lam.min(axis=2) >= -tol.CHEBYSHEV_PRICE_TOL)
    best = np.argmax(np.where(good, z[:, :, d], -np.inf), axis=1)
    al = np.arange(nb)
    found = good[al, best]
    if not found.any():
        return
    f = al[found]
    gi = idx[f]
    zb, lb, sb = z[f, best[f]], lam[f, best[f]], sub[best[f]]
    X[gi] = x0[f] + cap * zb[:, :d]
    R[gi] = cap * np.minimum(zb[:, d], 1.0)
    real = sb < M
    rr, cc = real.nonzero()
    lam_rows[src[f[rr], sb[rr, cc]]] = lb[rr, cc]
    lam_cap[gi] = np.sum(np.where(real, 0.0, lb), axis=1)
    done[gi] = True


_ROT1, _ROT2 = np.array([1, 2, 0]), np.array([2, 0, 1])


def _inv_det(B):
    """Inverses and determinants of a stack of ``k x k`` matrices; ``k = 3`` by the adjugate
    (cross products of rows: a few array operations instead of one LAPACK call per matrix),
    else numpy. Singular matrices give ``det = 0`` and a non-finite or meaningless inverse (the
    caller discards them)."""
    k = B.shape[-1]
    if k == 3:
        P, Q = B[..., _ROT1, :], B[..., _ROT2, :]  # rows i + 1 and i + 2
        C = P[..., _ROT1] * Q[..., _ROT2] - P[..., _ROT2] * Q[..., _ROT1]  # C_i = b_{i+1} x b_{i+2}
        det = np.einsum("...j,...j->...", B[..., 0, :], C[..., 0, :])
        return C.swapaxes(-1, -2) / det[..., None, None], det
    det = np.linalg.det(B)
    Bs = np.where((np.abs(det) > 0)[..., None, None], B, np.eye(k))
    return np.linalg.inv(Bs), det


def _rhs(H, W, M):
    """Right-hand sides of the basis rows ``W`` (virtual rows ``x_i = x0_i``: zero)."""
    return np.where(W <= M, np.take_along_axis(H, np.minimum(W, M), axis=1), 0.0)


def _inverse(G, W, M):
    """``B^-1`` for the bases ``B = rows W of G`` (row ``M + 1 + i`` is the virtual row ``e_i``);
    ``nan`` where singular (the answer then fails certification and goes to HiGHS)."""
    k = G.shape[2]
    Gx = np.concatenate([G, np.broadcast_to(np.eye(k)[:k - 1], (len(G), k - 1, k))], axis=1)
    B = np.take_along_axis(Gx, W[:, :, None], axis=1)
    with np.errstate(all="ignore"):
        try:
            Binv = np.linalg.inv(B)
        except np.linalg.LinAlgError:
            Binv = np.stack([_safe_inv(b) for b in B]) if len(B) else B
    bad = ~np.isfinite(Binv).all(axis=(1, 2))
    Binv[bad] = np.nan
    return Binv


def _safe_inv(b):
    try:
        return np.linalg.inv(b)
    except np.linalg.LinAlgError:
        return np.full_like(b, np.nan)


def certify(A, c, ptr, X, R, lam_rows, lam_cap, radius_cap, rows=None):
    """Check Chebyshev centres ``(X, R)`` with dual multipliers, independently of how they were
    found. ``lam_rows[k]`` is the multiplier of row ``k`` *normalised to unit length*
    (``y_k = lam_rows[k] / ||a_k||`` in the unnormalised dual), ``lam_cap[i]`` the cap's; only
    rows with ``rows[k]`` true take part (default all). Returns a bool per polyhedron, true when

    * primal feasibility: every normalised slack ``s_k = (c_k - a_k . x) / ||a_k|| - r >= -tau``
      and ``r <= cap``;
    * dual feasibility: ``lam >= -CHEBYSHEV_CERT_RTOL`` and ``res = sum_k lam_k (a_k/||a_k||, 1) +
      lam_cap (0, 1) - (0, 1)`` has ``|res| <= CHEBYSHEV_CERT_RTOL`` componentwise;
    * zero duality gap: the dual objective with the rows shifted to ``x``,
      ``sum_k lam_k (c_k - a_k . x) / ||a_k|| + lam_cap cap``, exceeds ``r`` by at most ``tau``
      (it equals ``r + sum_k lam_k s_k + lam_cap (cap - r) + r res_r``);

    with ``tau = CHEBYSHEV_CERT_RTOL * cap``, each slack taken at the worst end of its
    floating-point error bound (so points far from the origin, ``|x| / cap >~ 1e5``, fail).
    Then the LP optimum ``R*`` obeys
    ``R - tau <= R* <= R + tau + |res_x| |x* - x|``: lowering ``r`` by the largest violation
    makes ``(x, r)`` feasible (every row has the coefficient ``||a_k||`` on ``r``), and the
    multipliers bound every feasible ``r`` from above (weak duality).

    Examples
    --------
    The unit ball is the Chebyshev ball of the square ``[-1, 1]^2``; multipliers ``1/4`` on each
    row prove it (LP duality). A smaller claimed radius has a duality gap and fails:

    >>> import numpy as np
    >>> A = np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1]])
    >>> c = np.ones(4)
    >>> args = dict(lam_rows=np.full(4, 0.25), lam_cap=np.zeros(1), radius_cap=10.0)
    >>> certify(A, c, [0, 4], np.zeros((1, 2)), np.array([1.0]), **args).tolist()
    [True]
    >>> certify(A, c, [0, 4], np.zeros((1, 2)), np.array([0.5]), **args).tolist()
    [False]
    """
    A = np.asarray(A, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    ptr = np.asarray(ptr, dtype=np.int64)
    n, d = len(ptr) - 1, A.shape[1]
    cap = float(radius_cap)
    owner = np.arange(n).repeat(ptr[1:] - ptr[:-1])
    use = np.ones(len(c), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    ok = np.isfinite(X).all(axis=1) & np.isfinite(R) & (R <= cap)
    Xs = np.where(np.isfinite(X), X, 0.0)
    Rs = np.where(np.isfinite(R), R, 0.0)
    tau = tol.CHEBYSHEV_CERT_RTOL * cap
    norms = np.sqrt(np.einsum("ij,ij->i", A, A))
    safe = np.where(use & (norms > 0), norms, 1.0)
    slack = (c - np.einsum("ij,ij->i", A, Xs[owner])) / safe - Rs[owner]
    slack = np.where(use, slack, np.inf)
    # a bound on the rounding error of each computed slack: the checks below hold for every
    # slack within ``err`` of the computed one (far from the origin, |x| >> cap, they fail)
    err = tol.ROUNDING_ERROR_ULPS * np.finfo(np.float64).eps * (
        np.abs(c) + np.einsum("ij,ij->i", np.abs(A), np.abs(Xs[owner])) + norms * np.abs(Rs[owner])) / safe
    err = np.where(use, err, 0.0)
    lam = np.where(use, lam_rows, 0.0)
    viol = _segment(np.minimum, slack - err, ptr, 0.0)
    ok &= viol >= -tau
    lam_min = _segment(np.minimum, lam, ptr, 0.0)
    ok &= (lam_min >= -tol.CHEBYSHEV_CERT_RTOL) & (lam_cap >= -tol.CHEBYSHEV_CERT_RTOL)
    terms = np.hstack([lam[:, None] * A / safe[:, None], lam[:, None],
                       (lam * np.where(np.isfinite(slack), slack, 0.0) + np.abs(lam) * err)[:, None]])
    sums = _segment(np.add, terms, ptr, 0.0)
    res = sums[:, :d + 1]
    res[:, d] += lam_cap - 1.0
    ok &= np.abs(res).max(axis=1) <= tol.CHEBYSHEV_CERT_RTOL
    gap = sums[:, d + 1] + lam_cap * (cap - Rs) + Rs * res[:, d]
    ok &= gap <= tau
    return ok


def _segment(ufunc, values, ptr, empty):
    """``ufunc.reduce`` of ``values[ptr[i]:ptr[i+1]]`` along axis 0 for each ``i``; ``empty``
    (combined with the result) for empty segments and as the identity."""
    values = np.asarray(values)
    n = len(ptr) - 1
    out = np.full((n,) + values.shape[1:], empty, dtype=np.float64)
    nonempty = ptr[1:] > ptr[:-1]
    if nonempty.any():
        red = ufunc.reduceat(values, ptr[:-1][nonempty], axis=0)
        out[nonempty] = ufunc(red, empty)
    return out

