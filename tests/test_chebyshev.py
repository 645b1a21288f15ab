"""Vectorised certified Chebyshev centres (relutopo.chebyshev) against HiGHS and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from relutopo import tolerances as tol
from relutopo.chebyshev import certify, chebyshev_centres
from relutopo.polyhedra import LPSolver


def ragged(systems, d):
    A = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1, d) for a, _ in systems]) \
        if systems else np.zeros((0, d))
    c = np.concatenate([np.asarray(b, dtype=np.float64).reshape(-1) for _, b in systems]) \
        if systems else np.zeros(0)
    ptr = np.concatenate([[0], np.cumsum([len(b) for _, b in systems])]).astype(np.int64)
    return A, c, ptr


def highs(systems, cap):
    s = LPSolver()
    X, R = [], []
    for s0 in range(0, len(systems), 32):
        x, r = s.chebyshev_batch(systems[s0:s0 + 32], cap)
        X.append(x)
        R.append(r)
    return np.concatenate(X), np.concatenate(R)


def slacks_ok(systems, X, R, atol):
    """Every ball B(X_i, R_i) lies in its polyhedron (normalised slacks >= -atol)."""
    for (A, c), x, r in zip(systems, X, R):
        A = np.asarray(A, dtype=np.float64).reshape(-1, len(x))
        nrm = np.linalg.norm(A, axis=1)
        live = nrm > 0
        if np.any(live) and np.min((c[live] - A[live] @ x) / nrm[live] - r) < -atol:
            return False
    return True


def random_systems(rng, d, n, bounded):
    out = []
    for _ in range(n):
        m = int(rng.integers(d + 1, 4 * d + 4))
        A = rng.normal(size=(m, d)) * rng.uniform(0.1, 10.0, size=(m, 1))  # unnormalised rows
        if not bounded:  # normals in a half-space: the cone {y : A y <= 0} contains -e_0 ...
            A[:, 0] = np.abs(A[:, 0])
        x0 = rng.normal(size=d)
        dist = rng.uniform(0.01, 1.0, size=m) * np.linalg.norm(A, axis=1)
        out.append((A, A @ x0 + dist))
    return out


@pytest.mark.parametrize("d", [2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("bounded", [True, False])
def test_agrees_with_highs_on_random_polyhedra(d, bounded):
    rng = np.random.default_rng(100 * d + bounded)
    systems = random_systems(rng, d, 60, bounded)
    cap = 0.5
    A, c, ptr = ragged(systems, d)
    X, R, info = chebyshev_centres(A, c, ptr, cap, return_info=True)
    Xh, Rh = highs(systems, cap)
    assert np.allclose(R, Rh, rtol=0, atol=1e-9 * cap)
    assert np.all(R >= Rh - 1e-12 * cap)  # never worse than the LP
    assert slacks_ok(systems, X, R, 1e-10 * cap)
    assert info["fallback"] <= 2  # the vectorised path does the work
    if not bounded:
        assert np.sum(R >= cap) > 0  # some cells are wide enough to hit the cap


def test_hint_does_not_change_the_radius():
    rng = np.random.default_rng(7)
    systems = random_systems(rng, 4, 50, False)
    A, c, ptr = ragged(systems, 4)
    _, R0 = chebyshev_centres(A, c, ptr, 1.0)
    hint = rng.normal(size=(50, 4)) * 5
    X1, R1 = chebyshev_centres(A, c, ptr, 1.0, hint=hint)
    assert np.allclose(R0, R1, rtol=0, atol=1e-12)
    assert slacks_ok(systems, X1, R1, 1e-10)


def test_square_hypercube_and_regular_polygon_degenerate_optima():
    # the inscribed ball of a cube touches 2d facets: a degenerate optimal vertex
    systems = []
    for d in (2, 5):
        A = np.vstack([np.eye(d), -np.eye(d)])
        systems.append((A, np.ones(2 * d)))
    # regular 60-gon: every row is tight at the optimum
    th = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    systems.append((np.c_[np.cos(th), np.sin(th)] * 3.0, 3.0 * np.full(60, 0.7)))
    out = []
    for A, cc in systems:
        d = A.shape[1]
        X, R = chebyshev_centres(A, cc, np.array([0, len(cc)]), 10.0)
        out.append(R[0])
        assert np.allclose(X[0], 0.0, atol=1e-12)
    assert out == pytest.approx([1.0, 1.0, 0.7], abs=1e-13)


def test_duplicate_rows_and_many_rows_through_one_vertex():
    # a simplex in R^3 with its rows repeated (also rescaled) and 40 extra rows through vertex 0
    rng = np.random.default_rng(3)
    A = np.vstack([-np.eye(3), np.ones((1, 3))])
    c = np.array([0.0, 0.0, 0.0, 1.0])
    Ad = np.vstack([A, A, 2.5 * A, A[::-1]])
    cd = np.concatenate([c, c, 2.5 * c, c[::-1]])
    U = -np.abs(rng.normal(size=(40, 3)))  # u . x <= 0 holds on the simplex, tight at x = 0
    Av = np.vstack([A, U])
    cv = np.concatenate([c, np.zeros(40)])
    systems = [(A, c), (Ad, cd), (Av, cv)]
    Aa, ca, ptr = ragged(systems, 3)
    X, R = chebyshev_centres(Aa, ca, ptr, 1.0)
    r_exact = 1.0 / (3.0 + np.sqrt(3.0))  # inradius of the corner simplex
    assert R[:2] == pytest.approx([r_exact, r_exact], abs=1e-14)
    _, Rh = highs(systems, 1.0)
    assert np.allclose(R, Rh, atol=1e-12)
    assert R[2] <= r_exact + 1e-14  # extra rows cannot enlarge the ball
    # start the simplex exactly at the degenerate vertex: it must not cycle
    hint = np.zeros((3, 3))
    X2, R2, info = chebyshev_centres(Aa, ca, ptr, 1.0, hint=hint, return_info=True)
    assert np.allclose(R2, Rh, atol=1e-12) and info["fallback"] == 0


def test_thin_sliver():
    w = 2e-8  # 0 <= x_0 <= w inside [-1, 1]^3: radius w / 2
    A = np.vstack([np.eye(3), -np.eye(3), [[1.0, 0, 0]], [[-1.0, 0, 0]]])
    c = np.concatenate([np.ones(6), [w, 0.0]])
    X, R = chebyshev_centres(A, c, np.array([0, 8]), 2.0)
    assert R[0] == pytest.approx(w / 2, rel=1e-7)
    assert X[0, 0] == pytest.approx(w / 2, rel=1e-7)
    _, Rh = highs([(A, c)], 2.0)
    assert R[0] == pytest.approx(Rh[0], rel=1e-6)


def test_empty_infeasible_and_rowless_polyhedra():
    systems = [
        (np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([-1.0, 1.0])),  # violated zero row: -inf
        (np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-1.0, -1.0])),  # x <= -1 and x >= 1
        (np.zeros((0, 2)), np.zeros(0)),  # no rows: the cap
        (np.array([[0.0, 0.0]]), np.array([2.0])),  # a satisfied zero row only: the cap
        (np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([0.0, 0.0])),  # a line: radius 0
    ]
    A, c, ptr = ragged(systems, 2)
    X, R = chebyshev_centres(A, c, ptr, 3.0)
    Xh, Rh = highs(systems, 3.0)
    assert R[0] == -np.inf and np.all(np.isnan(X[0]))
    assert R[1] == pytest.approx(-1.0, abs=1e-14)  # as HiGHS: r < 0 measures the emptiness
    assert R[2] == 3.0 and R[3] == 3.0
    assert R[4] == pytest.approx(0.0, abs=1e-14)
    fin = np.isfinite(Rh)
    assert np.array_equal(np.isfinite(R), fin) and np.allclose(R[fin], Rh[fin], atol=1e-12)


def test_lineality_space():
    # rows independent of x_2: the polyhedron contains lines, the LP has no vertex
    rng = np.random.default_rng(5)
    A = np.c_[rng.normal(size=(7, 2)), np.zeros(7)]
    c = rng.uniform(0.2, 1.0, size=7)
    X, R, info = chebyshev_centres(A, c, np.array([0, 7]), 5.0, return_info=True)
    _, Rh = highs([(A, c)], 5.0)
    assert R[0] == pytest.approx(Rh[0], abs=1e-12)
    assert info["fallback"] == 0


def test_deterministic():
    rng = np.random.default_rng(11)
    systems = random_systems(rng, 5, 80, False) + random_systems(rng, 5, 80, True)
    A, c, ptr = ragged(systems, 5)
    X1, R1 = chebyshev_centres(A, c, ptr, 1.0)
    X2, R2 = chebyshev_centres(A.copy(), c.copy(), ptr.copy(), 1.0)
    assert np.array_equal(X1, X2) and np.array_equal(R1, R2)


def test_fallback_when_out_of_pivots_gives_highs_answer():
    rng = np.random.default_rng(2)
    systems = random_systems(rng, 4, 40, True)
    A, c, ptr = ragged(systems, 4)
    X, R, info = chebyshev_centres(A, c, ptr, 1.0, max_pivots=0, enumerate_max=0, return_info=True)
    Xh, Rh = highs(systems, 1.0)
    assert info["fallback"] == 40 and np.all(info["fallback_mask"])
    assert np.array_equal(R, Rh)  # literally HiGHS' numbers


def test_certify_rejects_wrong_answers():
    # unit square [-1, 1]^2, cap 5: optimum (0, 0), r = 1, multipliers 1/4 on every row
    A = np.vstack([np.eye(2), -np.eye(2)]) * 2.0
    c = np.full(4, 2.0)
    ptr = np.array([0, 4])
    lam = np.full(4, 0.25)
    good = certify(A, c, ptr, np.zeros((1, 2)), np.array([1.0]), lam, np.zeros(1), 5.0)
    assert good[0]
    # suboptimal but feasible point: the gap shows it
    assert not certify(A, c, ptr, np.zeros((1, 2)), np.array([0.9]), lam, np.zeros(1), 5.0)[0]
    # radius too large: infeasible
    assert not certify(A, c, ptr, np.zeros((1, 2)), np.array([1.0 + 1e-6]), lam, np.zeros(1), 5.0)[0]
    # multipliers that do not sum the normals to zero
    bad = np.array([0.5, 0.25, 0.0, 0.25])
    assert not certify(A, c, ptr, np.zeros((1, 2)), np.array([1.0]), bad, np.zeros(1), 5.0)[0]
    # a negative multiplier (normals still sum to zero, weights to one, every row tight)
    neg = np.array([-0.1, 0.6, -0.1, 0.6])
    assert not certify(A, c, ptr, np.zeros((1, 2)), np.array([1.0]), neg, np.zeros(1), 5.0)[0]
    # the cap's multiplier: a half-plane x_0 <= 2 with the cap 1 binding at x = 0
    assert certify(A[:1], c[:1], np.array([0, 1]), np.zeros((1, 2)), np.array([1.0]),
                   np.zeros(1), np.ones(1), 1.0)[0]
    assert not certify(A[:1], c[:1], np.array([0, 1]), np.zeros((1, 2)), np.array([1.0]),
                       np.ones(1), np.zeros(1), 1.0)[0]


def test_engine_like_systems_from_a_decomposition():
    from relutopo import Box, ReluNet, decompose
    from relutopo.polyhedra import full_system
    from relutopo.patterns import unpack_bits

    rng = np.random.default_rng(0)
    sizes = (3, 6, 6, 1)
    W = [rng.uniform(-1, 1, (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    net = ReluNet(W, [rng.uniform(-1, 1, b) for b in sizes[1:]])
    for domain in (Box(-1, 1, dim=3), None):
        dec = decompose(net, domain)
        systems = []
        for i in range(dec.n_regions):
            Aall, call, ids = full_system(net, unpack_bits(dec.packed_patterns[i], net.n_hidden), domain)
            pos = {int(k): j for j, k in enumerate(ids)}
            rows = [pos[int(k)] for k in dec.facet_neurons(i)]
            systems.append((Aall[rows], call[rows]))
        A, c, ptr = ragged(systems, 3)
        X, R, info = chebyshev_centres(A, c, ptr, dec.scale, return_info=True)
        assert np.allclose(R, dec.chebyshev_radii, rtol=1e-9, atol=1e-12 * dec.scale)
        assert info["fallback"] == 0
        assert np.all(R > tol.CHEBYSHEV_RTOL * dec.scale)


def test_input_errors_name_the_argument():
    A = np.eye(2)
    c = np.ones(2)
    with pytest.raises(ValueError, match="ptr"):
        chebyshev_centres(A, c, np.array([0, 3]), 1.0)
    with pytest.raises(ValueError, match="radius_cap"):
        chebyshev_centres(A, c, np.array([0, 2]), 0.0)
    with pytest.raises(ValueError, match="hint"):
        chebyshev_centres(A, c, np.array([0, 2]), 1.0, hint=np.zeros((2, 2)))
    X, R = chebyshev_centres(np.zeros((0, 2)), np.zeros(0), np.array([0]), 1.0)
    assert X.shape == (0, 2) and R.shape == (0,)


def test_certified_never_worse_than_highs_on_ill_conditioned_rows():
    # nearly parallel rows (angles ~1e-7) and their opposites: HiGHS' 1e-7 tolerances make its
    # optimum inexact here; every answer we certify must still be at least as good as HiGHS'
    # once both are made exactly feasible (lower r by the largest violation)
    rng = np.random.default_rng(4)
    systems = []
    for _ in range(60):
        d = 3
        m = int(rng.integers(2, 12))
        A = rng.normal(size=d) + 1e-7 * rng.normal(size=(m, d))
        A = np.vstack([A, -A[: m // 2]])
        systems.append((A, rng.uniform(-1, 1, len(A))))
    A, c, ptr = ragged(systems, 3)
    X, R, info = chebyshev_centres(A, c, ptr, 1.0, return_info=True)
    Xh, Rh = highs(systems, 1.0)

    def feasible_radius(x, r, Ai, ci):
        nrm = np.linalg.norm(Ai, axis=1)
        return r + min(0.0, float(np.min((ci - Ai @ x) / nrm - r)))

    cert = ~info["fallback_mask"]
    assert cert.sum() >= 8  # most go to HiGHS: far-away optima cannot be certified in floats
    for i in np.flatnonzero(cert):
        Ai, ci = systems[i]
        assert feasible_radius(X[i], R[i], Ai, ci) >= R[i] - 1.5e-10  # certified: feasible
        assert feasible_radius(X[i], R[i], Ai, ci) >= feasible_radius(Xh[i], Rh[i], Ai, ci) - 1e-9
    # (the rest is HiGHS' answer, which on these rows depends on how systems are batched)


@pytest.mark.parametrize("d", [2, 4, 7])
def test_recession_direction_shortcut_is_exact(d):
    """With a recession direction, cells whose far points reach the cap are answered at once:
    radii still equal HiGHS', the balls lie inside, and cells where the direction cannot reach
    the cap (a slab parallel to it) fall through to the simplex."""
    rng = np.random.default_rng(7 + d)
    systems = random_systems(rng, d, 40, bounded=False)   # all contain the ray -e_0
    # a slab |x_1| <= 0.3 with the same recession direction: radius 0.3, never the cap
    slab = np.zeros((2, d))
    slab[0, 1], slab[1, 1] = 1.0, -1.0
    systems.append((slab, np.array([0.3, 0.3])))
    A, c, ptr = ragged(systems, d)
    direction = np.zeros((len(systems), d))
    direction[:, 0] = -1.0
    hint = np.zeros((len(systems), d))  # need not be inside: the step along the ray decides
    cap = 5.0
    X, R = chebyshev_centres(A, c, ptr, cap, hint=hint, direction=direction)
    _, Rh = highs(systems, cap)
    np.testing.assert_allclose(R, Rh, atol=1e-9 * cap)
    assert slacks_ok(systems, X, R, 1e-9 * cap)
    assert R[-1] == pytest.approx(0.3)
    assert np.sum(R == cap) >= 30  # most random cones reach the cap


def test_basis_enumeration_in_2d_agrees_with_the_simplex_and_highs():
    """In d = 2, cells with few rows are solved by enumerating bases (a primal and dual feasible
    basis is optimal). Its answers must equal the simplex's and HiGHS' radii on bounded and
    unbounded cells, a square (four tight rows: degenerate), duplicate rows, and strips (no
    vertex: left to the simplex)."""
    rng = np.random.default_rng(21)
    systems = []
    for _ in range(60):
        m = int(rng.integers(2, 7))
        A = rng.normal(size=(m, 2)) * rng.uniform(0.1, 10.0, size=(m, 1))
        x0 = rng.normal(size=2)
        systems.append((A, A @ x0 + rng.uniform(0.01, 1.0, size=m) * np.linalg.norm(A, axis=1)))
    square = np.vstack([np.eye(2), -np.eye(2)])
    systems.append((square, np.full(4, 0.5)))                               # r = 0.5, 4 tight
    systems.append((np.vstack([square, square[:1]]), np.full(5, 0.5)))     # a duplicate row
    strip = np.array([[0.0, 1.0], [0.0, -1.0]])
    systems.append((strip, np.array([0.2, 0.2])))                           # no vertex
    systems.append((np.vstack([strip, [[1.0, 0.0]]]), np.array([0.2, 0.2, 3.0])))  # half strip
    A, c, ptr = ragged(systems, 2)
    cap = 2.0
    X, R, info = chebyshev_centres(A, c, ptr, cap, return_info=True)
    Xs, Rs, info_s = chebyshev_centres(A, c, ptr, cap, enumerate_max=0, return_info=True)
    _, Rh = highs(systems, cap)
    assert info["enumerated"] >= 50 and info_s["enumerated"] == 0
    np.testing.assert_allclose(R, Rs, rtol=0, atol=1e-12 * cap)
    np.testing.assert_allclose(R, Rh, rtol=0, atol=1e-9 * cap)
    assert slacks_ok(systems, X, R, 1e-10 * cap)
    assert R[-4] == pytest.approx(0.5) and R[-3] == pytest.approx(0.5)
    assert R[-2] == pytest.approx(0.2) and R[-1] == pytest.approx(0.2)
    assert info["fallback"] == 0


def test_closed_form_3x3_inverse_matches_numpy():
    from relutopo.chebyshev import _inv_det

    rng = np.random.default_rng(5)
    B = rng.normal(size=(4, 9, 3, 3))
    B[0, 0, 2] = B[0, 0, 0] + B[0, 0, 1]  # singular
    Binv, det = _inv_det(B)
    np.testing.assert_allclose(det, np.linalg.det(B), atol=1e-12)
    assert abs(det[0, 0]) < 1e-12
    ok = np.abs(det) > 1e-6
    np.testing.assert_allclose(Binv[ok], np.linalg.inv(B[ok]), rtol=1e-9, atol=1e-9)
