"""relutopo's one LP front-end, and the plain LP-backed tests on ``{x : A x <= c}`` systems.

* :class:`LPSolver` -- a warm ``highspy.Highs`` model reused across many small LPs
  (:meth:`LPSolver.solve` in HiGHS' row form, :meth:`LPSolver.linprog` in
  ``scipy.optimize.linprog``'s form, :meth:`LPSolver.maximize`), with a batched Chebyshev-centre
  solve (many independent polyhedra in one block-diagonal LP). The engine, Wang's
  Intersect/Add/Cut (:mod:`relutopo.activation_regions`), the overlap decomposition, the polytope
  helpers (:mod:`relutopo.polytopes`) and the regions of :mod:`relutopo.polyhedra` all solve their
  LPs here; no other module imports ``highspy`` or calls ``scipy.optimize.linprog``
  (``tests/test_geometry_layer.py`` checks it).
* :func:`chebyshev_center`, :func:`is_bounded`, :func:`row_norms`, :func:`zero_rows` -- plain
  functions on ``(A, c)`` arrays, every tolerance relative (scale-free).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import tolerances as tol
from .errors import LPError
from .highs import quiet_highs
from .results import Unpackable

__all__ = ["LPSolver", "LPResult", "ChebyshevBall", "chebyshev_center", "is_bounded", "row_norms",
           "zero_rows"]


def zero_rows(A, c, owner, n):
    """Row norms of stacked polyhedra (row ``k`` belongs to polyhedron ``owner[k]`` of ``n``),
    which rows are zero (norm below ``ZERO_ROW_RTOL`` times the largest row norm of their
    polyhedron; no absolute floor, so rescaling a polyhedron's rows changes nothing), and which
    polyhedra are empty because a zero row is violated (``0 <= c`` fails). Returns
    ``(norms, zero, empty)``; the norms are computed without overflow or underflow
    (:func:`row_norms`).

    Examples
    --------
    Two stacked polyhedra; the second holds a zero row ``0 . x <= -1`` that no point satisfies:

    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> c = np.array([1.0, 1.0, -1.0])
    >>> norms, zero, empty = zero_rows(A, c, np.array([0, 1, 1]), 2)
    >>> zero.tolist(), empty.tolist()
    ([False, False, True], [False, True])
    """
    norms = row_norms(A) if len(A) else np.zeros(0)
    block_max = np.zeros(n)
    np.maximum.at(block_max, owner, norms)
    zero = norms <= tol.ZERO_ROW_RTOL * block_max[owner]
    empty = np.zeros(n, dtype=bool)
    empty[owner[zero & (c < 0)]] = True  # a violated row of zeros: no point at all
    return norms, zero, empty


# ---------------------------------------------------------------------------- LP solver
@dataclass(frozen=True)
class LPResult(Unpackable):
    """The answer of one LP (unpacks as ``(status, x, objective)``).

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"infeasible"``, ``"unbounded"``, or (from :meth:`LPSolver.solve` only)
        ``"error"`` when HiGHS settled neither on the first nor on the second try.
    x : array or None
        The optimal point (``None`` unless optimal).
    objective : float
        The optimal value; from :meth:`LPSolver.linprog` ``+inf`` (``-inf``) for an unbounded
        maximisation (minimisation); ``nan`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> r = LPResult("optimal", np.array([1.0, 0.0]), -1.0)
    >>> status, x, objective = r
    >>> status, objective
    ('optimal', -1.0)
    """

    status: str
    x: Optional[np.ndarray]
    objective: float

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


@dataclass(frozen=True)
class ChebyshevBall(Unpackable):
    """The largest ball ``B(center, radius)`` in a polyhedron, its radius capped (unpacks as
    ``(center, radius)``): ``radius <= 0`` when the polyhedron is not full-dimensional, ``-inf``
    with ``center = None`` when a row of zeros is violated (no point at all).

    Examples
    --------
    >>> import numpy as np
    >>> center, radius = ChebyshevBall(np.zeros(2), 1.0)
    >>> radius
    1.0
    """

    center: Optional[np.ndarray]
    radius: float


class LPSolver:
    """A reusable HiGHS instance for many small LPs: relutopo's one LP front-end.

    One object per computation (never shared between threads). ``seconds`` and ``calls``
    accumulate the time spent inside HiGHS and the LPs solved, for the benchmark's LP-vs-Python
    split and the LP counts that results report; ``retries`` counts the LPs HiGHS settled only
    on the second try (see :meth:`solve`); ``centre_seconds`` the time in the vectorised
    Chebyshev simplex.

    Parameters
    ----------
    presolve : bool
        HiGHS' presolve. Off suits streams of tiny LPs (Wang's propagation: one Chebyshev ball
        or redundancy test per shape); on suits the engine's block-diagonal batches.

    Examples
    --------
    ``max x + y`` over the triangle ``x, y >= 0, x + 2 y <= 2, 2 x + y <= 2``:

    >>> import numpy as np
    >>> lp = LPSolver()
    >>> res = lp.linprog([1.0, 1.0], A_ub=[[1.0, 2.0], [2.0, 1.0]], b_ub=[2.0, 2.0],
    ...                  lb=[0.0, 0.0], maximize=True)
    >>> res.status, round(res.objective, 9), np.round(res.x, 9).tolist()
    ('optimal', 1.333333333, [0.666666667, 0.666666667])
    >>> lp.linprog([1.0, 0.0], A_ub=[[-1.0, 0.0]], b_ub=[0.0], maximize=True).objective
    inf
    """

    def __init__(self, presolve: bool = True):
        import highspy

        self._hs = highspy
        self._highs = None  # created on the first solve: many decompositions need no LP at all
        self._inf = highspy.kHighsInf
        self._presolve = "on" if presolve else "off"
        self.seconds = 0.0
        self.calls = 0
        self.retries = 0
        self.last_solution = None
        self.centre_seconds = 0.0  # vectorised Chebyshev simplex (relutopo.chebyshev), HiGHS excluded
        self.uncertified_centres = 0  # centres neither certified nor solved by HiGHS (see there)
        self.uncertain_cells = 0  # HiGHS called them thin and no certificate confirmed it
        self.corrected_cells = 0  # HiGHS called them thin and a certificate showed otherwise

    @property
    def _h(self):
        if self._highs is None:
            self._highs = quiet_highs()
            # the engine's LPs have unit rows and order-one coordinates (relutopo.normal_form);
            # HiGHS' default absolute tolerances (1e-7) are coarser than CHEBYSHEV_RTOL
            for option in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
                self._highs.setOptionValue(option, tol.HIGHS_FEAS_TOL)
            # HiGHS drops matrix entries below 1e-9 by default: a unit row (1e-9, -1) of two lines
            # crossing at x = 1e9 would lose its first entry
            self._highs.setOptionValue("small_matrix_value", tol.HIGHS_SMALL_MATRIX_VALUE)
            self._highs.setOptionValue("presolve", self._presolve)
        return self._highs

    def _run(self, lp, retry: bool):
        """Pass ``lp`` to HiGHS and run it; ``retry``: presolve off, the simplex then the interior
        point method at HiGHS' default tolerances (``HIGHS_RETRY_FEAS_TOL``), until one of them
        settles the LP. Returns HiGHS' model status."""
        h = self._h
        MS = self._hs.HighsModelStatus
        tries = [None] if not retry else ["simplex", "ipm"]
        for solver in tries:
            if solver is not None:
                h.setOptionValue("presolve", "off")
                h.setOptionValue("solver", solver)
                for option in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
                    h.setOptionValue(option, tol.HIGHS_RETRY_FEAS_TOL)
            try:
                h.clearSolver()
                h.passModel(lp)
                h.run()
                status = h.getModelStatus()
            finally:
                if solver is not None:
                    h.setOptionValue("presolve", self._presolve)
                    h.setOptionValue("solver", "choose")
                    for option in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
                        h.setOptionValue(option, tol.HIGHS_FEAS_TOL)
            if status in (MS.kOptimal, MS.kInfeasible, MS.kUnbounded):
                break
        return status

    # -- low level -----------------------------------------------------------------
    def solve(self, cost, col_lo, col_hi, A_rows, row_lo, row_hi) -> LPResult:
        """Minimise ``cost @ x`` s.t. ``row_lo <= A_rows x <= row_hi``, ``col_lo <= x <= col_hi``.

        ``A_rows`` is dense ``(m, n)`` or a tuple ``(start, index, value)`` in row-wise CSR form.
        Returns an :class:`LPResult` with status ``"optimal"``, ``"infeasible"``,
        ``"unbounded"`` or ``"error"``. An LP that HiGHS does not settle (its "unknown" on a
        degenerate LP at the tight ``HIGHS_FEAS_TOL``, or "unbounded or infeasible" from
        presolve) is solved again without presolve, by the simplex and then the interior point
        method at ``HIGHS_RETRY_FEAS_TOL``; ``"error"`` only when that fails too.
        """
        hs = self._hs
        lp = hs.HighsLp()
        n = len(cost)
        lp.num_col_ = n
        lp.col_cost_ = np.asarray(cost, dtype=np.float64)
        lp.col_lower_ = np.asarray(col_lo, dtype=np.float64)
        lp.col_upper_ = np.asarray(col_hi, dtype=np.float64)
        if isinstance(A_rows, tuple):
            start, index, value = A_rows
            m = len(start) - 1
        else:
            A_rows = np.asarray(A_rows, dtype=np.float64).reshape(-1, n)
            m = A_rows.shape[0]
            nz = A_rows != 0  # HiGHS drops explicit zeros anyway; pass the structure
            start = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int32)
            index = np.nonzero(nz)[1].astype(np.int32)
            value = A_rows[nz]
        lp.num_row_ = m
        lp.row_lower_ = np.asarray(row_lo, dtype=np.float64)
        lp.row_upper_ = np.asarray(row_hi, dtype=np.float64)
        lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_ = n
        lp.a_matrix_.num_row_ = m
        lp.a_matrix_.start_ = np.asarray(start, dtype=np.int32)
        lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.asarray(value, dtype=np.float64)
        t0 = time.perf_counter()
        MS = hs.HighsModelStatus
        status = self._run(lp, retry=False)
        if status not in (MS.kOptimal, MS.kInfeasible, MS.kUnbounded):
            self.retries += 1
            status = self._run(lp, retry=True)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        h = self._h
        if status == MS.kOptimal:
            self.last_solution = h.getSolution()  # duals, for callers that certify
            x = np.array(self.last_solution.col_value)
            return LPResult("optimal", x, float(h.getInfo().objective_function_value))
        if status == MS.kInfeasible:
            return LPResult("infeasible", None, np.nan)
        if status == MS.kUnbounded:
            return LPResult("unbounded", None, np.nan)
        return LPResult("error", None, np.nan)

    def linprog(self, cost, A_ub=None, b_ub=None, A_eq=None, b_eq=None, lb=None, ub=None, *,
                maximize: bool = False) -> LPResult:
        """Optimise ``cost @ x`` s.t. ``A_ub x <= b_ub``, ``A_eq x = b_eq``, ``lb <= x <= ub``
        (``scipy.optimize.linprog``'s form; ``lb``/``ub`` default to ``-inf``/``+inf``).

        Returns an :class:`LPResult`: ``objective`` is the optimum of the stated sense
        (``maximize``), ``+inf``/``-inf`` when unbounded in that sense. Raises
        :class:`relutopo.errors.LPError` when HiGHS cannot settle the LP (see :meth:`solve`).
        """
        cost = np.asarray(cost, dtype=np.float64).reshape(-1)
        n = cost.shape[0]
        blocks, lo, hi = [], [], []
        if A_ub is not None and len(A_ub):
            blocks.append(np.asarray(A_ub, dtype=np.float64).reshape(-1, n))
            lo.append(np.full(blocks[-1].shape[0], -self._inf))
            hi.append(np.asarray(b_ub, dtype=np.float64).reshape(-1))
        if A_eq is not None and len(A_eq):
            blocks.append(np.asarray(A_eq, dtype=np.float64).reshape(-1, n))
            lo.append(np.asarray(b_eq, dtype=np.float64).reshape(-1))
            hi.append(lo[-1])
        A = np.vstack(blocks) if blocks else np.zeros((0, n))
        col_lo = np.full(n, -self._inf) if lb is None else np.asarray(lb, dtype=np.float64)
        col_hi = np.full(n, self._inf) if ub is None else np.asarray(ub, dtype=np.float64)
        res = self.solve(-cost if maximize else cost, np.maximum(col_lo, -self._inf),
                         np.minimum(col_hi, self._inf), A,
                         np.concatenate(lo) if lo else np.zeros(0),
                         np.concatenate(hi) if hi else np.zeros(0))
        if res.status == "error":
            raise LPError(f"HiGHS could not settle an LP with {n} variables and {A.shape[0]} "
                          "constraints, neither with its defaults nor by the simplex or interior "
                          "point method without presolve; the data may be badly scaled "
                          "(see relutopo.tolerances)")
        if res.status == "optimal":
            return LPResult("optimal", res.x, -res.objective if maximize else res.objective)
        if res.status == "unbounded":
            return LPResult("unbounded", None, np.inf if maximize else -np.inf)
        return res

    # -- Chebyshev centres -----------------------------------------------------------
    def chebyshev(self, A, c, radius_cap: float, origin=None) -> ChebyshevBall:
        """Largest ball ``B(x, r)`` inside ``{x : A x <= c}`` with ``r <= radius_cap``.

        Returns a :class:`ChebyshevBall` ``(x, r)``; ``r <= 0`` when the polyhedron is empty or
        not full-dimensional (``-inf`` with ``x = None`` when a row of zeros is violated).
        ``origin``: a point near the polyhedron, HiGHS' local origin (see
        :meth:`chebyshev_batch`).
        """
        x, r = self.chebyshev_batch([(A, c)], radius_cap,
                                    origins=None if origin is None else np.asarray(origin)[None, :])
        return ChebyshevBall(x[0] if np.isfinite(r[0]) else None, float(r[0]))

    def chebyshev_batch(self, systems, radius_cap: float, origins=None, return_duals: bool = False):
        """Chebyshev centres of many independent polyhedra in one block-diagonal LP.

        ``systems`` is a list of ``(A_k, c_k)`` with a common dimension ``d``. Maximising the sum
        of the radii maximises each one, since the blocks share no variable. Returns
        ``(X, r)`` with ``X`` of shape ``(K, d)`` and ``r`` of shape ``(K,)`` (``-inf`` for empty
        polyhedra). One LP per call keeps HiGHS' per-call overhead out of the inner loop.

        HiGHS' tolerances are absolute, so what it sees is put at order one first: every row is
        normalised to ``||a|| = 1`` (each row on its own, so a deep neuron's row of norm ``1e-9``
        is as well posed as a first-layer one), and block ``k`` is solved in coordinates
        ``x - origins[k]`` (default: the origin) -- a local origin near the polyhedron keeps a
        far-away cell's coordinates, and HiGHS' absolute errors times them, small.
        ``return_duals`` also returns the multipliers ``(lam_rows, lam_cap)`` of the
        unit-normalised rows (in the order of the stacked rows, 0 for rows of zeros) and of the
        cap, for :func:`relutopo.chebyshev.certify`.
        """
        K = len(systems)
        if K == 0:
            out = (np.zeros((0, 0)), np.zeros(0))
            return out + ((np.zeros(0), np.zeros(0)),) if return_duals else out
        d = int(np.shape(systems[0][0])[1])
        X = np.full((K, d), np.nan)
        R = np.full(K, -np.inf)
        cs = [np.asarray(c, dtype=np.float64).reshape(-1) for _, c in systems]
        sizes = np.array([len(c) for c in cs], dtype=np.int64)
        A = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1, d) for a, _ in systems])
        c = np.concatenate(cs)
        owner = np.repeat(np.arange(K), sizes)
        norms, zero, empty = zero_rows(A, c, owner, K)
        O = np.zeros((K, d)) if origins is None else np.asarray(origins, dtype=np.float64).reshape(K, d)
        O = np.where(np.isfinite(O), O, 0.0)
        lam_rows, lam_cap = np.zeros(len(c)), np.zeros(K)
        live = ~empty
        owners = np.flatnonzero(live)
        if owners.size:
            nb = owners.size
            block = np.cumsum(live) - 1
            keep = ~zero & live[owner]
            rows = block[owner[keep]]
            An = A[keep] / norms[keep, None]
            cn = c[keep] / norms[keep] - np.einsum("ij,ij->i", An, O[owner[keep]])
            M = np.hstack([An, np.ones((An.shape[0], 1))])
            m = M.shape[0]
            n = nb * (d + 1)
            start = np.arange(0, m * (d + 1) + 1, d + 1, dtype=np.int32)
            index = (rows[:, None] * (d + 1) + np.arange(d + 1)[None, :]).astype(np.int32).ravel()
            cost = np.zeros(n)
            cost[d::d + 1] = -1.0
            lo = np.full(n, -self._inf)  # r is free below: every block is feasible, and r < 0
            hi = np.full(n, self._inf)   # measures how empty an empty polyhedron is
            hi[d::d + 1] = radius_cap
            res = self.solve(cost, lo, hi, (start, index, M.ravel()), np.full(m, -self._inf), cn)
            status, x = res.status, res.x
            if status != "optimal":
                from .errors import InconsistentDecompositionError

                raise InconsistentDecompositionError(
                    f"HiGHS returned '{status}' for a Chebyshev-centre LP of {nb} polyhedra in R^{d} "
                    "(always feasible and bounded; rows unit-normalised): the halfspaces are too "
                    "ill-conditioned for it")
            sol = x.reshape(nb, d + 1)
            X[owners] = sol[:, :d] + O[owners]
            # report a ball that is verifiably inside: r no larger than the smallest slack at x
            slack = np.full(nb, np.inf)
            np.minimum.at(slack, rows, cn - np.einsum("ij,ij->i", An, sol[rows, :d]))
            R[owners] = np.minimum(sol[:, d], slack)
            if return_duals:
                sol_obj = self.last_solution
                lam_rows[keep] = -np.asarray(sol_obj.row_dual)
                lam_cap[owners] = -np.asarray(sol_obj.col_dual)[d::d + 1]
        if return_duals:
            return X, R, (lam_rows, lam_cap)
        return X, R

    def maximize(self, a, A, c, upper: float | None = None):
        """``max a @ x`` over ``{A x <= c}`` (and ``a @ x <= upper`` if given); ``inf`` if unbounded,
        ``-inf`` if empty."""
        a = np.asarray(a, dtype=np.float64)
        d = a.shape[0]
        A = np.asarray(A, dtype=np.float64).reshape(-1, d)
        c = np.asarray(c, dtype=np.float64).reshape(-1)
        if upper is not None:
            A = np.vstack([A, a[None, :]])
            c = np.append(c, upper)
        if A.shape[0] == 0:
            return np.inf if np.any(a != 0) else 0.0
        res = self.solve(-a, np.full(d, -self._inf), np.full(d, self._inf), A,
                         np.full(A.shape[0], -self._inf), c)
        if res.status == "optimal":
            return -res.objective
        if res.status == "infeasible":
            return -np.inf
        return np.inf


# ---------------------------------------------------------------------------- plain functions
def row_norms(A) -> np.ndarray:
    """Euclidean norms of the rows of ``A`` without overflow or underflow: each row is first
    scaled exactly by a power of two to largest entry in ``[1/2, 1)`` (entries from ``1e-300`` to
    ``1e300`` keep full precision, where ``sqrt(sum(a * a))`` gives ``0`` or ``inf``).

    Examples
    --------
    >>> import numpy as np
    >>> row_norms(np.array([[3.0, 4.0], [3e-200, 4e-200], [3e200, 4e200]]))
    array([5.e+000, 5.e-200, 5.e+200])
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] == 0:
        return np.zeros(A.shape[0] if A.ndim else 0)
    m = np.abs(A).max(axis=1, initial=0.0)
    _, e = np.frexp(m)
    e = np.where(m > 0, e, 0)
    S = np.ldexp(A, -e[:, None])
    return np.ldexp(np.sqrt(np.einsum("ij,ij->i", S, S)), e)


def chebyshev_center(A, c, radius_cap: float = 1.0, solver: LPSolver | None = None) -> ChebyshevBall:
    """Chebyshev centre ``(x, r)`` of ``{x : A x <= c}``: the centre and radius of the largest
    inscribed ball, radius capped at ``radius_cap`` so that unbounded polyhedra have a finite
    answer (a :class:`ChebyshevBall`). ``r = -inf`` and ``x = None`` when a row of zeros is
    violated; ``r <= 0`` when the set has no interior.

    Examples
    --------
    The triangle ``x, y >= 0, x + y <= 1`` holds a ball of radius ``1 / (2 + sqrt 2)``:

    >>> import numpy as np
    >>> ball = chebyshev_center(np.array([[-1.0, 0], [0, -1], [1, 1]]), np.array([0, 0, 1.0]))
    >>> round(ball.radius, 9), np.round(ball.center, 9).tolist()
    (0.292893219, [0.292893219, 0.292893219])
    """
    return (solver or LPSolver()).chebyshev(A, c, radius_cap)


def is_bounded(A, solver: LPSolver | None = None) -> bool:
    """Whether a non-empty ``{x : A x <= c}`` is bounded: its recession cone ``{y : A y <= 0}``
    is ``{0}``, i.e. ``rank A = d`` and some ``lambda > 0`` has ``A^T lambda = 0`` (Stiemke).

    Examples
    --------
    >>> import numpy as np
    >>> is_bounded(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))       # a triangle
    True
    >>> is_bounded(np.array([[1.0, 0.0], [0.0, 1.0]]))                     # a quadrant
    False
    """
    A = np.asarray(A, dtype=np.float64)
    m, d = A.shape
    if m <= d:
        return False
    norms = row_norms(A)
    An = A / np.where(norms > 0, norms, 1.0)[:, None]  # unit rows: the rank test is scale-free
    if np.linalg.matrix_rank(An) < d:
        return False
    solver = solver or LPSolver()
    inf = solver._inf
    return solver.solve(np.zeros(m), np.ones(m), np.full(m, inf), An.T, np.zeros(d), np.zeros(d)).optimal
