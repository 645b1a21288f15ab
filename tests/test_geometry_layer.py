"""One geometry layer (issue 15, section 2): one LP front-end (relutopo.lp.LPSolver), one
set of polytope helpers (relutopo.polytopes), results as frozen dataclasses.

The structural tests read the syntax trees of every module, lazy imports inside functions
included, so a second LP front-end or a second vertex enumerator cannot come back unnoticed."""

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import relutopo
from relutopo.errors import LPError
from relutopo.lp import ChebyshevBall, LPResult, LPSolver

ROOT = Path(relutopo.__file__).parent
LP_HOME = {"relutopo/lp.py", "relutopo/highs.py"}
POLYTOPE_HOME = {"relutopo/polytopes.py"}


def _trees():
    for path in sorted(ROOT.rglob("*.py")):
        yield path.relative_to(ROOT.parent).as_posix(), ast.parse(path.read_text(), str(path))


def _imported_names(tree):
    """``(module, name)`` for every import in the tree (``name`` None for ``import module``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, None
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                yield node.module, a.name


def _attribute_chains(tree):
    """Dotted names used in the tree, e.g. ``scipy.optimize.linprog``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            try:
                yield ast.unparse(node)
            except Exception:  # pragma: no cover
                continue


def test_only_the_lp_layer_talks_to_highs():
    """No module other than lp (the front-end) and highs (the quiet constructor) imports
    highspy, calls scipy.optimize.linprog, or builds its own quiet HiGHS instance."""
    offenders = []
    for rel, tree in _trees():
        if rel in LP_HOME:
            continue
        for module, name in _imported_names(tree):
            if module.split(".")[0] == "highspy":
                offenders.append(f"{rel}: imports {module}")
            if module in ("scipy.optimize", "scipy.optimize._linprog") and name == "linprog":
                offenders.append(f"{rel}: imports scipy.optimize.linprog")
            if module.endswith("highs") and name == "quiet_highs":
                offenders.append(f"{rel}: imports quiet_highs")
        for chain in _attribute_chains(tree):
            if chain.endswith("optimize.linprog") or chain.startswith("highspy."):
                offenders.append(f"{rel}: uses {chain}")
    assert not offenders, "LP code outside relutopo.lp:\n" + "\n".join(offenders)


def test_only_polytopes_enumerates_vertices_and_volumes():
    """Halfspace intersection (vertices from halfspaces) and hull volumes are computed in
    relutopo.polytopes only; other modules call it."""
    offenders = []
    for rel, tree in _trees():
        if rel in POLYTOPE_HOME:
            continue
        for module, name in _imported_names(tree):
            if module == "scipy.spatial" and name == "HalfspaceIntersection":
                offenders.append(f"{rel}: imports HalfspaceIntersection")
        for node in ast.walk(tree):
            # ConvexHull(...).volume: a hull volume written again
            if (isinstance(node, ast.Attribute) and node.attr == "volume"
                    and isinstance(node.value, ast.Call) and "ConvexHull" in ast.unparse(node.value.func)):
                offenders.append(f"{rel}:{node.lineno}: ConvexHull(...).volume")
    assert not offenders, "polytope code outside relutopo.polytopes:\n" + "\n".join(offenders)


def test_the_former_front_ends_are_gone():
    from relutopo import activation_regions, complex as cx, overlap

    assert not hasattr(overlap, "_LP")
    assert not hasattr(cx, "_chebyshev_center")
    geo = activation_regions.Geometry(2)
    assert isinstance(geo.solver, LPSolver)


# ------------------------------------------------------------------------- the front-end
def test_linprog_answers_known_lps():
    lp = LPSolver()
    # max x + y on the triangle x, y >= 0, x + 2y <= 2, 2x + y <= 2: the vertex (2/3, 2/3)
    res = lp.linprog([1, 1], A_ub=[[1, 2], [2, 1]], b_ub=[2, 2], lb=[0, 0], maximize=True)
    assert res.optimal and res.objective == pytest.approx(4 / 3, abs=1e-12)
    assert np.allclose(res.x, [2 / 3, 2 / 3], atol=1e-12)
    # an equality: min x subject to x + y = 1, 0 <= y <= 0.25  ->  x = 0.75
    res = lp.linprog([1, 0], A_eq=[[1, 1]], b_eq=[1], lb=[-np.inf, 0], ub=[np.inf, 0.25])
    assert res.optimal and res.objective == pytest.approx(0.75, abs=1e-12)
    assert lp.linprog([1, 0], A_ub=[[1, 0], [-1, 0]], b_ub=[-1, -1]).status == "infeasible"
    up = lp.linprog([1, 0], A_ub=[[-1, 0]], b_ub=[0], maximize=True)
    down = lp.linprog([1, 0], A_ub=[[1, 0]], b_ub=[0])
    assert (up.status, up.objective, down.status, down.objective) == ("unbounded", np.inf, "unbounded", -np.inf)
    assert lp.calls == 5


def _flaky(solver, fail_first: int):
    """Make HiGHS 'not settle' the first ``fail_first`` runs (its model status kUnknown)."""
    real, count = solver._run, {"n": 0}

    def run(lp, retry):
        count["n"] += 1
        if count["n"] <= fail_first:
            return solver._hs.HighsModelStatus.kUnknown
        return real(lp, retry)
    solver._run = run
    return count


def test_an_unsettled_lp_is_solved_again():
    """The second try (no presolve; simplex, then the interior point method) answers what the
    first left open -- optimal or infeasible -- and is counted."""
    lp = LPSolver()
    _flaky(lp, 1)
    # the strip |x_1| <= 1 holds a ball of radius 1 (variables x_1, x_2, r; r <= 1)
    res = lp.linprog([0, 0, 1], A_ub=[[1, 0, 1], [-1, 0, 1]], b_ub=[1, 1],
                     ub=[np.inf, np.inf, 1], maximize=True)
    assert res.optimal and res.objective == pytest.approx(1.0, abs=1e-7) and lp.retries == 1
    _flaky(lp, 1)
    assert lp.linprog([0, 0], A_ub=[[1, 0], [-1, 0]], b_ub=[-1, -1]).status == "infeasible"
    assert lp.retries == 2 and lp.calls == 2


def test_an_lp_that_never_settles_raises_lp_error_from_linprog_and_reports_error_from_solve():
    lp = LPSolver()
    _flaky(lp, 10)
    with pytest.raises(LPError, match="could not settle an LP with 2 variables and 1 constraints"):
        lp.linprog([1, 0], A_ub=[[1, 0]], b_ub=[1], lb=[0, 0])
    assert isinstance(LPError("x"), RuntimeError)
    _flaky(lp, 10)
    assert lp.solve(np.zeros(1), [0.0], [1.0], np.ones((1, 1)), [-np.inf], [1.0]).status == "error"


def test_results_are_frozen_dataclasses_that_still_unpack():
    from relutopo.overlap import data_regions
    from relutopo.nets import ReluNet

    lp = LPSolver()
    res = lp.linprog([1.0], A_ub=[[-1.0]], b_ub=[-2.0])
    status, x, objective = res
    assert (status, objective) == ("optimal", res.objective) and res[1] is x
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.status = "error"
    ball = lp.chebyshev(np.array([[1.0], [-1.0]]), np.array([1.0, 1.0]), 5.0)
    assert isinstance(ball, ChebyshevBall) and ball.radius == pytest.approx(1.0)
    centre, radius = ball
    assert radius == ball.radius and centre is ball.center
    net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    regions = data_regions(net, np.array([[1.0, 1.0], [-1.0, 1.0]]), 1)
    labels, patterns = regions
    assert labels is regions.labels and len(regions) == 2
    with pytest.raises(TypeError, match="use the field names: labels, patterns"):
        regions["labels"]
    assert isinstance(LPResult("optimal", None, 0.0), LPResult)


def test_wang_and_the_engine_share_the_solver_settings():
    """Wang's propagation solves its Chebyshev balls with the engine's HiGHS tolerances."""
    from relutopo.activation_regions import Geometry
    from relutopo.tolerances import HIGHS_FEAS_TOL

    geo = Geometry(2, scale=3.0)
    ball = geo.ball(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]), np.ones(4))
    assert ball.radius == pytest.approx(1.0) and geo.n_lp == 1
    assert geo.solver._h.getOptionValue("primal_feasibility_tolerance")[1] == HIGHS_FEAS_TOL
