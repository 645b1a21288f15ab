"""Ground truth for ``decompose``: closed forms, three independent algorithms agreeing, volumes,
the Euler characteristic, sampling lower bounds, exact rational counts and degenerate nets."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from math import comb

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relutopo import tolerances as tol
from relutopo.decompose import decompose
from relutopo.domains import Box
from relutopo.nets import ReluNet
from relutopo.patterns import unpack_bits

SETTINGS = dict(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_net(sizes, seed, low=-1.0, high=1.0):
    rng = np.random.default_rng(seed)
    ws = [rng.uniform(low, high, (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.uniform(low, high, b) for b in sizes[1:]]
    return ReluNet.from_weights(ws, bs)


def pattern_set(dec):
    return {row.tobytes() for row in dec.packed_patterns}


def edge_set(dec):
    P = dec.packed_patterns
    return {frozenset((P[a].tobytes(), P[b].tobytes())) for a, b in dec.edges}


# ----------------------------------------------------------------------------- closed forms
@settings(**SETTINGS)
@given(d=st.integers(1, 3), n=st.integers(1, 7), seed=st.integers(0, 10_000),
       method=st.sampled_from(["vertex", "lp"]))
def test_one_layer_generic_count_closed_form(d, n, seed, method):
    """n generic hyperplanes in R^d: sum_{i<=d} C(n, i) regions, C(n-1, d) of them bounded."""
    net = random_net((d, n, 1), seed)
    dec = decompose(net, None, method=method)
    assert dec.n_regions == sum(comb(n, i) for i in range(d + 1))
    assert dec.n_bounded == comb(n - 1, d)
    assert dec.n_bounded + dec.n_unbounded == dec.n_regions


def test_one_layer_bounded_count_closed_form_d3():
    net = random_net((3, 7, 1), 5)
    dec = decompose(net)
    assert dec.n_regions == 1 + 7 + 21 + 35
    assert dec.n_bounded == comb(6, 3)


# ----------------------------------------------------------------------------- algorithms agree
@settings(**SETTINGS)
@given(sizes=st.sampled_from([(2, 3, 3, 1), (2, 4, 3, 1), (3, 3, 4, 1), (2, 2, 2, 2, 1), (1, 4, 4, 1)]),
       seed=st.integers(0, 10_000), boxed=st.booleans())
def test_vertex_lp_and_brute_force_agree(sizes, seed, boxed):
    net = random_net(sizes, seed)
    dom = Box(-1.0, 1.0, dim=sizes[0]) if boxed else None
    dv = decompose(net, dom, method="vertex")
    dl = decompose(net, dom, method="lp")
    db = decompose(net, dom, method="brute")
    assert pattern_set(dv) == pattern_set(db) == pattern_set(dl)
    assert edge_set(dv) == edge_set(dl) == edge_set(db)
    assert dv.n_bounded == dl.n_bounded == db.n_bounded
    for dec in (dv, dl, db):
        assert dec.stats["unmatched_facets"] == 0
    if boxed and sizes[0] == 2:
        dp = decompose(net, dom, method="polygon")
        assert pattern_set(dp) == pattern_set(dv) and edge_set(dp) == edge_set(dv)
        assert np.allclose(np.sort(dp.chebyshev_radii), np.sort(dv.chebyshev_radii), rtol=1e-7)


@pytest.mark.parametrize("sizes,boxed", [((2, 8, 8, 1), True), ((3, 4, 4, 1), False),
                                         ((4, 4, 4, 1), True), ((2, 4, 4, 4, 1), False)])
def test_vertex_and_lp_agree_on_deeper_nets(sizes, boxed):
    net = random_net(sizes, 11)
    dom = Box(-1.0, 1.0, dim=sizes[0]) if boxed else None
    dv = decompose(net, dom, method="vertex")
    dl = decompose(net, dom, method="lp")
    assert pattern_set(dv) == pattern_set(dl)
    assert edge_set(dv) == edge_set(dl)
    assert dv.n_bounded == dl.n_bounded
    # exact-enumeration centres (vertex path) equal HiGHS centres (LP path)
    order_v = np.argsort([p.tobytes() for p in dv.packed_patterns])
    order_l = np.argsort([p.tobytes() for p in dl.packed_patterns])
    assert np.allclose(dv.chebyshev_radii[order_v], dl.chebyshev_radii[order_l], rtol=1e-7, atol=1e-12)


# ----------------------------------------------------------------------------- geometry of a box
@pytest.mark.parametrize("sizes,seed", [((2, 10, 10, 1), 0), ((2, 6, 6, 6, 1), 3), ((3, 6, 6, 1), 1)])
def test_volumes_sum_to_box_volume(sizes, seed):
    box = Box([-1.0, -0.5, 0.0][:sizes[0]], [1.0, 2.0, 1.5][:sizes[0]])
    for method in (["polygon", "vertex"] if sizes[0] == 2 else ["vertex"]):
        dec = decompose(random_net(sizes, seed), box, method=method)
        vols = dec.volumes()
        assert np.all(vols > 0)
        assert vols.sum() == pytest.approx(box.volume, rel=1e-9)


def _segment_split(p, q, points, tol_=1e-9):
    """Split segment pq at every point of ``points`` strictly inside it; return the sub-edges."""
    d = q - p
    L2 = d @ d
    t = (points - p) @ d / L2
    foot = p + t[:, None] * d
    on = (np.linalg.norm(points - foot, axis=1) <= tol_) & (t > tol_) & (t < 1 - tol_)
    ts = np.concatenate([[0.0], np.sort(t[on]), [1.0]])
    return [(p + a * d, p + b * d) for a, b in zip(ts[:-1], ts[1:])]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_euler_characteristic_of_subdivided_square_is_one(seed):
    """V - E + F = 1 for the subdivision of [-1, 1]^2 (T-junctions split edges)."""
    dec = decompose(random_net((2, 6, 5, 1), seed), Box(-1.0, 1.0, dim=2))
    polys = []
    for i in range(dec.n_regions):
        V = dec.region(i).vertices
        ctr = V.mean(axis=0)
        polys.append(V[np.argsort(np.arctan2(V[:, 1] - ctr[1], V[:, 0] - ctr[0]))])
    allv = np.concatenate(polys)
    key = lambda x: tuple(np.round(x, 8))  # noqa: E731
    verts = {key(v): v for v in allv}
    pts = np.array(list(verts.values()))
    edges = set()
    for P in polys:
        for a, b in zip(P, np.roll(P, -1, axis=0)):
            for s, t in _segment_split(a, b, pts):
                edges.add(frozenset((key(s), key(t))))
    assert len(verts) - len(edges) + dec.n_regions == 1


# ----------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("sizes,boxed", [((2, 8, 8, 1), True), ((3, 5, 5, 5, 1), True),
                                         ((2, 6, 6, 1), False)])
def test_dense_sampling_is_a_lower_bound(sizes, boxed):
    net = random_net(sizes, 7)
    dom = Box(-1.0, 1.0, dim=sizes[0]) if boxed else None
    dec = decompose(net, dom)
    X = (dom or Box(-30.0, 30.0, dim=sizes[0])).sample(40_000, seed=1)
    seen = {row.tobytes() for row in net.patterns(X)}
    assert seen <= pattern_set(dec)
    if boxed:  # most regions are hit by 40k samples of a small box
        assert len(seen) >= 0.5 * dec.n_regions


def test_every_interior_point_has_its_own_pattern():
    net = random_net((3, 6, 6, 1), 2)
    dec = decompose(net)
    assert np.array_equal(net.patterns(dec.interior_points), dec.packed_patterns)
    assert np.all(dec.chebyshev_radii > tol.CHEBYSHEV_RTOL * dec.scale)


# ----------------------------------------------------------------------------- exact rationals
def _exact_line_arrangement_regions_in_box(lines, lo, hi):
    """Regions of lines a x + b y + c = 0 inside the open square (lo, hi)^2, exactly.

    Euler: F = 1 + (lines meeting the open square) + sum over intersection points p in the open
    square of (multiplicity(p) - 1); parallel / duplicate lines are merged first."""
    norm = set()
    for a, b, c in lines:
        a, b, c = Fraction(a), Fraction(b), Fraction(c)
        if a == 0 and b == 0:
            continue
        k = a if a != 0 else b
        if k < 0:
            k = -k
        norm.add((a / k, b / k, c / k) if (a / k > 0 or (a == 0 and b / k > 0)) else (-a / k, -b / k, -c / k))
    L = list(norm)
    corners = [(x, y) for x in (lo, hi) for y in (lo, hi)]

    def crosses(line):
        vals = [line[0] * x + line[1] * y + line[2] for x, y in corners]
        return min(vals) < 0 < max(vals)

    inside = [ln for ln in L if crosses(ln)]
    pts = {}
    for (a1, b1, c1), (a2, b2, c2) in combinations(inside, 2):
        det = a1 * b2 - a2 * b1
        if det == 0:
            continue
        x = (b1 * c2 - b2 * c1) / det
        y = (a2 * c1 - a1 * c2) / det
        if lo < x < hi and lo < y < hi:
            pts.setdefault((x, y), set()).update({(a1, b1, c1), (a2, b2, c2)})
    return 1 + len(inside) + sum(len(s) - 1 for s in pts.values())


@pytest.mark.parametrize("eps", ["1e-3", "1e-6", "0"])
def test_exact_rational_counts_near_degeneracy(eps):
    """Three lines nearly (or exactly) concurrent, a line through a corner, parallel and duplicate
    lines: counts equal the exact rational Euler count."""
    e = Fraction(eps)
    lines = [(1, 1, 0), (1, -1, 0), (1, 0, e), (1, 1, -2), (2, 2, 0), (0, 1, Fraction(1, 3)),
             (0, 2, Fraction(-1, 2)), (3, -1, Fraction(1, 7))]
    W = np.array([[float(a), float(b)] for a, b, _ in lines])
    b = np.array([float(c) for _, _, c in lines])
    net = ReluNet.from_weights([W, np.ones((1, len(lines)))], [b, np.zeros(1)])
    expected = _exact_line_arrangement_regions_in_box(lines, Fraction(-1), Fraction(1))
    for method in ("vertex", "lp"):
        assert decompose(net, Box(-1.0, 1.0, dim=2), method=method).n_regions == expected


# ----------------------------------------------------------------------------- degenerate nets
def _net(W1, b1, W2=None, b2=None):
    W1 = np.asarray(W1, float)
    b1 = np.asarray(b1, float)
    layers_w, layers_b = [W1], [b1]
    if W2 is not None:
        layers_w.append(np.asarray(W2, float))
        layers_b.append(np.asarray(b2, float))
    layers_w.append(np.ones((1, layers_w[-1].shape[0])))
    layers_b.append(np.zeros(1))
    return ReluNet.from_weights(layers_w, layers_b)


BOX2 = Box(-1.0, 1.0, dim=2)


@pytest.mark.parametrize("method", ["polygon", "vertex", "lp", "brute"])
def test_dead_neurons(method):
    # a row of zeros with positive and with negative bias, and a neuron inactive on the whole box
    net = _net([[1, 0], [0, 0], [0, 0], [1, 1]], [0, 0.5, -0.5, -5.0])
    dec = decompose(net, BOX2, method=method)
    assert dec.n_regions == 2
    P = dec.patterns
    assert np.all(P[:, 1]) and not np.any(P[:, 2]) and not np.any(P[:, 3])


@pytest.mark.parametrize("method", ["polygon", "vertex", "lp", "brute"])
def test_duplicate_and_parallel_hyperplanes(method):
    net = _net([[1, 0], [2, 0], [1, 0], [1, 0]], [0, 0, 0.5, -0.25])
    dec = decompose(net, BOX2, method=method)
    assert dec.n_regions == 4  # x = -0.5, 0, 0.25
    # the facet x = 0 is carried by neurons 0 and 1 at once: both bits flip across it
    flips = [tuple(dec.dual_graph.edges[e]["neurons"]) for e in dec.dual_graph.edges]
    assert (0, 1) in flips


@pytest.mark.parametrize("method", ["polygon", "vertex", "lp"])
def test_hyperplanes_through_box_corners(method):
    net = _net([[1, 1], [1, -1], [1, 0]], [0, 0, -1.0])  # both diagonals; x = 1 is a box face
    dec = decompose(net, BOX2, method=method)
    assert dec.n_regions == 4
    assert dec.volumes() == pytest.approx(np.ones(4))


@pytest.mark.parametrize("method", ["polygon", "vertex", "lp", "brute"])
def test_very_thin_region_is_found(method):
    w = 1e-6
    net = _net([[1, 0], [1, 0]], [0, -w])
    dec = decompose(net, BOX2, method=method)
    assert dec.n_regions == 3
    assert np.min(dec.chebyshev_radii) == pytest.approx(w / 2, rel=1e-6)


@pytest.mark.parametrize("method", ["polygon", "vertex", "lp"])
def test_box_with_no_hyperplane_inside(method):
    net = _net([[1, 0], [0, 1]], [5.0, -5.0], W2=[[1, 1]], b2=[-100.0])
    dec = decompose(net, BOX2, method=method)
    assert dec.n_regions == 1
    assert dec.patterns.tolist() == [[True, False, False]]
    assert len(dec.edges) == 0


@pytest.mark.parametrize("method", ["polygon", "vertex", "lp", "brute"])
def test_deeper_bit_flips_where_the_geometry_says_so(method):
    """z2 = relu(x) - 0 is zero left of x = 0 and positive right of it: crossing x = 0 flips
    neuron 0 and neuron 1 together (a deeper bit), which a one-bit flip would miss."""
    net = _net([[1, 0], [0, 1]], [0, 0], W2=[[1, 0]], b2=[0.0])
    dec = decompose(net, BOX2, method=method)
    assert dec.n_regions == 4
    g = dec.dual_graph
    flips = sorted(tuple(g.edges[e]["neurons"]) for e in g.edges)
    assert flips == [(0, 2), (0, 2), (1,), (1,)]
    assert sorted(g.edges[e]["neuron"] for e in g.edges) == [0, 0, 1, 1]


def test_neighbours_differ_in_the_flipped_neuron_and_deeper_bits_only():
    net = random_net((2, 6, 6, 6, 1), 4)
    dec = decompose(net, BOX2)
    layer = [net.layer_of_bit(k) for k in range(net.n_hidden)]
    for (a, b), k, flips in zip(dec.edges, dec.edge_neuron, dec.edge_flips):
        assert k in flips
        assert all(layer[f] >= layer[k] for f in flips)
    # generic net: every edge flips exactly one bit, so the dual graph is bipartite (Liu App. B)
    assert all(len(f) == 1 for f in dec.edge_flips)
    import networkx as nx

    assert nx.is_bipartite(dec.dual_graph)


def test_rank_deficient_first_layer_in_Rd():
    """7 -> 2 -> ... : the net factors through a 2-D projection; every region is unbounded."""
    net = random_net((7, 2, 3, 1), 0)
    dv = decompose(net)
    dl = decompose(net, method="lp")
    db = decompose(net, method="brute")
    assert pattern_set(dv) == pattern_set(dl) == pattern_set(db)
    assert dv.n_bounded == 0
    assert np.array_equal(net.patterns(dv.interior_points), dv.packed_patterns)


def test_zero_first_layer_in_Rd():
    net = _net([[0, 0], [0, 0]], [1.0, -1.0])
    dec = decompose(net)
    assert dec.n_regions == 1 and dec.n_bounded == 0
    assert dec.patterns.tolist() == [[True, False]]


def test_scale_invariance():
    net = random_net((2, 6, 6, 1), 9)
    alpha = 1e3
    big = ReluNet.from_weights([net.weights[0] / alpha, *net.weights[1:]], list(net.biases))
    d1 = decompose(net, BOX2)
    d2 = decompose(big, Box(-alpha, alpha, dim=2))
    assert pattern_set(d1) == pattern_set(d2)
    assert d2.volumes().sum() == pytest.approx(4 * alpha ** 2, rel=1e-9)


# ----------------------------------------------------------------------------- errors
def test_brute_force_refuses_large_nets_and_states_the_limit():
    net = random_net((2, tol.BRUTE_FORCE_MAX_BITS + 1, 1), 0)
    with pytest.raises(ValueError, match=str(tol.BRUTE_FORCE_MAX_BITS)):
        decompose(net, BOX2, method="brute")


def test_bad_arguments_are_named():
    net = random_net((2, 3, 1), 0)
    with pytest.raises(ValueError, match="method"):
        decompose(net, BOX2, method="fast")
    with pytest.raises(ValueError, match="polygon"):
        decompose(net, None, method="polygon")
    with pytest.raises(ValueError, match="dim=2"):
        decompose(net, Box(-1, 1, dim=3))
    with pytest.raises(TypeError, match="domain"):
        decompose(net, (-1, 1))
    with pytest.raises(TypeError, match="ReluNet"):
        decompose([np.eye(2)], BOX2)


def test_progress_bar_does_not_change_the_result():
    net = random_net((2, 5, 5, 1), 3)
    assert pattern_set(decompose(net, BOX2, progress=True)) == pattern_set(decompose(net, BOX2))


def test_progress_bar_on_the_vertex_path_does_not_change_the_result():
    net = random_net((3, 5, 5, 1), 4)
    a, b = decompose(net, None, progress=True), decompose(net, None)
    assert np.array_equal(a.packed_patterns, b.packed_patterns) and np.array_equal(a.edges, b.edges)


# ----------------------------------------------------------------------------- invariances
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), boxed=st.booleans())
def test_permuting_hidden_neurons_permutes_the_patterns(seed, boxed):
    """Relabelling the neurons of a hidden layer (rows of W_l, columns of W_{l+1}) is the same
    network: the regions are the same, with permuted bits."""
    net = random_net((2, 5, 4, 1), seed)
    perm = np.random.default_rng(seed).permutation(5)
    W = list(net.weights)
    b = list(net.biases)
    permuted = ReluNet.from_weights([W[0][perm], W[1][:, perm], W[2]], [b[0][perm], b[1], b[2]])
    dom = BOX2 if boxed else None
    d1, d2 = decompose(net, dom), decompose(permuted, dom)
    P1 = d1.patterns
    P1[:, :5] = P1[:, :5][:, perm]
    assert {p.tobytes() for p in P1} == {p.tobytes() for p in d2.patterns}
    assert d1.n_bounded == d2.n_bounded and len(d1.edges) == len(d2.edges)


def test_from_torch_network_decomposes_like_its_weights():
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.ReLU(), torch.nn.Linear(6, 5),
                                torch.nn.ReLU(), torch.nn.Linear(5, 1))
    net = ReluNet.from_torch(model)
    dec = decompose(net, BOX2)
    X = BOX2.sample(5000, seed=0)
    assert {p.tobytes() for p in net.patterns(X)} <= pattern_set(dec)
    assert dec.volumes().sum() == pytest.approx(4.0)


def test_linear_regions_delegates():
    dec = decompose(random_net((2, 4, 4, 1), 0), BOX2)
    lr = dec.linear_regions()
    assert 1 <= lr.n_linear <= dec.n_regions


@pytest.mark.parametrize("method", ["vertex", "lp", "brute"])
def test_parallel_lines_and_central_arrangements_in_R2(method):
    # parallel (rank-1 first layer, strips with a line in their lineality space)
    dec = decompose(_net([[1, 0], [2, 0], [1, 0]], [0, -1.0, 0]), None, method=method)
    assert dec.n_regions == 3 and dec.n_bounded == 0  # x < 0, 0 < x < 0.5, x > 0.5
    # three lines through the origin: 6 cones, none bounded
    dec = decompose(_net([[1, 0], [0, 1], [1, 1]], [0, 0, 0]), None, method=method)
    assert dec.n_regions == 6 and dec.n_bounded == 0
    assert nx_cycle(dec)


def nx_cycle(dec):
    import networkx as nx

    g = dec.dual_graph
    return nx.is_connected(g) and all(deg == 2 for _, deg in g.degree())


# ----------------------------------------------------------------------------- published peer
RELUCENT_PYTHON = __import__("os").environ.get("RELUTOPO_RELUCENT_PYTHON", ".bench-venv/bin/python")


@pytest.mark.skipif(not __import__("os").path.exists(RELUCENT_PYTHON),
                    reason="relucent 1.0.0 venv not installed (see requirements-bench.txt)")
@pytest.mark.slow
@pytest.mark.parametrize("sizes,boxed", [((3, 4, 4, 1), False)])
def test_counts_match_relucent(sizes, boxed, tmp_path):
    """relucent 1.0.0 (PyPI), run in its own venv, finds the same number of regions."""
    import json
    import subprocess
    from pathlib import Path

    net = random_net(sizes, 5)
    path = tmp_path / "net.npz"
    arrays = {f"W{i}": w for i, w in enumerate(net.weights)}
    arrays.update({f"b{i}": b for i, b in enumerate(net.biases)})
    np.savez(path, box=np.float64(1.0 if boxed else -1.0), **arrays)
    runner = Path(__file__).resolve().parents[1] / "benchmarks" / "_relucent_runner.py"
    proc = subprocess.run([RELUCENT_PYTHON, str(runner), str(path), "1"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])
    ours = decompose(net, Box(-1.0, 1.0, dim=sizes[0]) if boxed else None)
    assert theirs["regions"] == ours.n_regions
    if not boxed:
        assert theirs["bounded"] == ours.n_bounded


@pytest.mark.parametrize("method", ["auto", "vertex", "lp", "brute"])
def test_affine_net_without_hidden_layer_is_one_region(method):
    net = ReluNet.from_weights([np.array([[1.0, -2.0]])], [np.array([0.5])])
    for dom, bounded in ((None, 0), (BOX2, 1)):
        dec = decompose(net, dom, method=method)
        assert dec.n_regions == 1 and dec.n_bounded == bounded and len(dec.edges) == 0
    assert dec.volumes()[0] == pytest.approx(4.0)


# ----------------------------------------------------------------------------- dual graph = LP facets
def _lp_facet_balls(A, c, cap):
    """Independent of the engine's facet code (scipy HiGHS): for each row ``j`` of ``A x <= c``
    the largest ball *within the hyperplane* ``a_j . x = c_j`` that stays in the polyhedron
    (rows normalised; distances to the other rows measured inside the hyperplane). Returns the
    radius (``-inf`` if the hyperplane misses the polyhedron; capped at ``cap``) and the centre
    of each ball. Row ``j`` carries a facet iff the radius is positive (Liu et al., LP (10))."""
    from scipy.optimize import linprog

    m, d = A.shape
    nrm = np.linalg.norm(A, axis=1)
    radii, centres = np.full(m, -np.inf), np.full((m, d), np.nan)
    for j in range(m):
        if nrm[j] <= 1e-12 * max(1.0, nrm.max()):
            continue
        a, cj = A[j] / nrm[j], c[j] / nrm[j]
        keep = (np.arange(m) != j) & (nrm > 1e-12 * max(1.0, nrm.max()))
        Ao, co = A[keep], c[keep]
        within = np.linalg.norm(Ao - (Ao @ a)[:, None] * a[None, :], axis=1)
        res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.hstack([Ao, within[:, None]]), b_ub=co,
                      A_eq=np.r_[a, 0.0][None, :], b_eq=[cj],
                      bounds=[(None, None)] * d + [(None, cap)], method="highs")
        if res.status == 0:
            radii[j], centres[j] = -res.fun, res.x[:d]
    return radii, centres


# a facet is certain above CLEAR and certainly absent below AMBIGUOUS (both times the scale);
# in between the two answers may legitimately differ, which random nets essentially never hit
_CLEAR, _AMBIGUOUS = 1e-6, 1e-9


def _lp_dual_graph(net, dom, dec):
    """The dual graph from scratch, on the region set of ``dec``: every region's facets by the LP
    above; the neighbour is the region of the pattern the *network* has just across the facet's
    ball centre. Keyed by packed patterns: returns (required edges as frozensets of two keys,
    {key: clear facet ids}, {key: ambiguous facet ids})."""
    keys = [row.tobytes() for row in dec.packed_patterns]
    key_set = set(keys)
    n_hidden = net.n_hidden
    required, clear_facets, unsure_facets = set(), {}, {}
    for key, s in zip(keys, dec.patterns):
        A, c = net.halfspaces(s)
        ids = np.arange(n_hidden)
        if dom is not None:
            Ab, cb = dom.halfspaces()
            A, c = np.vstack([A, Ab]), np.concatenate([c, cb])
            ids = np.concatenate([ids, -1 - np.arange(len(cb))])
        r, X = _lp_facet_balls(A, c, dec.scale)
        clear = r > _CLEAR * dec.scale
        unsure = (r > _AMBIGUOUS * dec.scale) & ~clear
        clear_facets[key] = set(ids[clear].tolist())
        unsure_facets[key] = set(ids[unsure].tolist())
        for j in np.flatnonzero(clear & (ids >= 0)):
            # shrink the step until it stays in this region on one side and, on the other,
            # lands in a pattern whose closed polyhedron contains the facet point (a thin slab
            # next to the facet must not be jumped over)
            t = 1e-3 * min(r[j], dec.scale)
            for _ in range(12):
                step = t * A[j] / np.linalg.norm(A[j])
                inside, beyond = net.patterns(np.stack([X[j] - step, X[j] + step]))
                Aq, cq = net.halfspaces(unpack_bits(beyond, n_hidden))
                viol = Aq @ X[j] - cq
                if inside.tobytes() == key and \
                        np.all(viol <= 1e-9 * dec.scale * (1 + np.linalg.norm(Aq, axis=1))):
                    break
                t *= 0.1
            else:
                raise AssertionError(f"no step from the LP's facet point of region {s.astype(int)} "
                                     f"(neuron {ids[j]}) crosses into a neighbouring region")
            assert beyond.tobytes() in key_set, (
                f"crossing facet {ids[j]} (LP ball radius {r[j]:.3g}) of region {s.astype(int)} "
                "lands in a pattern that is not a region")
            required.add(frozenset((key, beyond.tobytes())))
    return required, clear_facets, unsure_facets


def _check_dual_graph_against_lp(net, dom, methods):
    """Every method's dual graph equals the LP-derived one (no missing, no extra edge), and
    every ``dec.region(i)`` carries exactly the LP facets (box faces included)."""
    reference = None
    for method in methods:
        dec = decompose(net, dom, method=method)
        if reference is None:
            reference = _lp_dual_graph(net, dom, dec)
        required, clear, unsure = reference
        keys = [row.tobytes() for row in dec.packed_patterns]
        assert set(keys) == set(clear), f"method={method!r} finds a different region set"
        engine = {frozenset((keys[a], keys[b])) for a, b in dec.edges}
        missing = required - engine
        assert not missing, (f"method={method!r}: {len(missing)} of {len(required)} LP-certified "
                             f"facet crossings are missing from the dual graph ({net!r}, "
                             f"domain={dom})")
        shaky = {k for k, u in unsure.items() if u}
        extra = {e for e in engine - required if not (e & shaky)}
        assert not extra, (f"method={method!r}: {len(extra)} dual-graph edges are not LP facet "
                           f"crossings ({net!r}, domain={dom})")
        assert dec.stats["unmatched_facets"] == 0
        for i, key in enumerate(keys):  # Region objects carry exactly the LP facets
            got = set(dec.region(i).facet_neurons.tolist())
            assert clear[key] <= got <= clear[key] | unsure[key], (
                f"method={method!r}: region {i} has facets {sorted(got)}, LP (10) says "
                f"{sorted(clear[key])}")


_DUAL_SIZES = {2: [(2, 5, 4, 1), (2, 3, 3, 3, 1), (2, 6, 1)], 3: [(3, 4, 4, 1), (3, 5, 3, 1)],
               4: [(4, 4, 4, 1, 1), (4, 5, 3, 1)], 5: [(5, 4, 3, 1), (5, 5, 2, 1)],
               6: [(6, 4, 3, 1), (6, 5, 2, 1)], 7: [(7, 4, 3, 1), (7, 5, 2, 1)]}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=st.integers(2, 7), which=st.integers(0, 2), seed=st.integers(0, 10_000), boxed=st.booleans())
def test_dual_graph_equals_lp_facet_crossings(d, which, seed, boxed):
    """Invariant: the dual graph's edges are exactly the (region, region across an LP-certified
    facet) pairs, for every method; box faces carry no edge. Each region's facets equal LP (10)."""
    sizes = _DUAL_SIZES[d][which % len(_DUAL_SIZES[d])]
    net = random_net(sizes, seed)
    dom = Box(-1.0, 1.0, dim=d) if boxed else None
    methods = ["vertex", "lp"] + (["polygon"] if boxed and d == 2 else [])
    _check_dual_graph_against_lp(net, dom, methods)


@pytest.mark.parametrize("sizes,seed,boxed", [((4, 4, 4, 1, 1), 0, False), ((7, 5, 2, 1), 0, False),
                                              ((7, 6, 2, 1), 0, True)])
def test_dual_graph_equals_lp_facet_crossings_regressions(sizes, seed, boxed):
    """Nets on which the vertex path lost real facets (16, 16 and 3 missing edges) while its
    facet test was a Gram-rank tolerance relative to ``|x|^2``: in homogeneous coordinates a far
    vertex ``(x, 1)`` is nearly parallel to a ray and the facet looked rank-deficient."""
    net = random_net(sizes, seed)
    dom = Box(-1.0, 1.0, dim=sizes[0]) if boxed else None
    _check_dual_graph_against_lp(net, dom, ["vertex", "lp"])


@pytest.mark.parametrize("sizes,boxed", [((3, 6, 6, 5, 1), True), ((3, 6, 6, 1), False),
                                         ((7, 5, 5, 1), False)])
def test_chunked_refinement_gives_the_same_decomposition(monkeypatch, sizes, boxed):
    """The vertex path refines and finalises in chunks of REFINE_CHUNK cells (bounded memory);
    the chunk size must not change the regions, their order, centres or the dual graph."""
    from relutopo import vertex_refine

    net = random_net(sizes, 11)
    dom = Box(-1.0, 1.0, dim=sizes[0]) if boxed else None
    ref = decompose(net, dom, method="vertex")
    assert ref.n_regions > 40
    monkeypatch.setattr(vertex_refine, "REFINE_CHUNK", 3)
    small = decompose(net, dom, method="vertex")
    assert np.array_equal(small.packed_patterns, ref.packed_patterns)
    assert np.array_equal(small.edges, ref.edges)
    assert np.array_equal(small.bounded, ref.bounded)
    np.testing.assert_allclose(small.chebyshev_radii, ref.chebyshev_radii, rtol=1e-9)
    assert pattern_set(small) == pattern_set(decompose(net, dom, method="lp"))


def _exact_intervals_1d(net):
    """Activation regions of a net on R^1 in exact rationals: refine the line layer by layer
    (each interval has one affine pre-activation per neuron; split at its zeros). Returns the
    bit vectors of the full-dimensional intervals, in order along the line."""
    Ws = [[[Fraction(float(v)) for v in row] for row in np.atleast_2d(W)] for W in net.weights[:-1]]
    bs = [[Fraction(float(v)) for v in b] for b in net.biases[:-1]]
    # (lo, hi, layer, bits so far, slope and offset of each input of the layer on the interval)
    cells = [(None, None, 0, (), [Fraction(1)], [Fraction(0)])]
    out = []
    while cells:
        lo, hi, l, bits, g, h = cells.pop()
        if l == len(Ws):
            out.append((lo, bits))
            continue
        slopes = [sum(w * gi for w, gi in zip(row, g)) for row in Ws[l]]
        offs = [sum(w * hi_ for w, hi_ in zip(row, h)) + b for row, b in zip(Ws[l], bs[l])]
        cuts = sorted({-o / s for s, o in zip(slopes, offs) if s != 0
                       and (lo is None or -o / s > lo) and (hi is None or -o / s < hi)})
        edges = [lo] + cuts + [hi]
        for a, b in zip(edges[:-1], edges[1:]):
            if a is None and b is None:
                x = Fraction(0)
            elif a is None:
                x = b - 1
            elif b is None:
                x = a + 1
            else:
                x = (a + b) / 2
            on = tuple(s * x + o > 0 for s, o in zip(slopes, offs))
            cells.append((a, b, l + 1, bits + on,
                          [s if o_ else Fraction(0) for s, o_ in zip(slopes, on)],
                          [o if o_ else Fraction(0) for o, o_ in zip(offs, on)]))
    return [bits for _, bits in sorted(out, key=lambda t: (t[0] is not None, t[0]))]


@pytest.mark.parametrize("method", ["vertex", "lp"])
def test_far_away_regions_of_a_deep_1d_net(method):
    """A deep 1-D net whose breakpoints reach |x| ~ 1e10 while the hyperplane scale is ~1e2: every
    region is found by both paths (HiGHS sees unit rows around a local origin; the lp path used
    to fail here) -- checked in exact rationals, and each interior point evaluates to its
    region's bit vector."""
    from relutopo.papers.wang.sweeps import uniform_net

    net = uniform_net([1] + [2] * 8 + [1], 715397745)  # from Wang's Fig. 4 paper-profile sweep
    dec = decompose(net, None, method=method)
    exact = _exact_intervals_1d(net)
    assert dec.n_regions == len(exact)
    assert {tuple(p) for p in np.asarray(dec.patterns, dtype=bool).tolist()} == set(exact)
    assert np.abs(dec.interior_points).max() > 1e9
    assert np.array_equal(net.bits(dec.interior_points), dec.patterns)
    assert np.all(dec.chebyshev_radii > 0)
    # the dual graph of a line is a path through the regions in order
    assert len(dec.edges) == len(exact) - 1
    assert dec.stats["unmatched_facets"] == 0


@pytest.mark.parametrize("seed", range(8))
def test_exact_1d_interval_refinement_agrees(seed):
    net = random_net((1, 3, 3, 2, 1), seed)
    exact = _exact_intervals_1d(net)
    dec = decompose(net, None)
    assert {tuple(p) for p in np.asarray(dec.patterns, dtype=bool).tolist()} == set(exact)


def _wang_fig3_net_684():
    """Wang's Fig. 3 network #684 of the (7, 3) arrangement in R^7 (paper profile): one of its
    336 regions is a cone whose Chebyshev ball (radius = the cap) lies ~5e7 from the origin."""
    from relutopo.papers.wang.sweeps import uniform_net
    from relutopo.sweep import task_seed

    return uniform_net([7, 7, 3, 1], task_seed(0, "fig3", [7, 3], 684))


def test_far_away_cone_is_found_and_certified_by_evaluation():
    """The vertex path and Wang's Intersect/Add/Cut (no shared code) find the same 336 regions;
    the network evaluated at every interior point gives that region's bit vector, and the ball
    of the reported radius around it lies inside the region's halfspaces."""
    from relutopo.activation_regions import propagate
    from relutopo.polyhedra import full_system

    net = _wang_fig3_net_684()
    dec = decompose(net, None)
    res = propagate(net)
    assert dec.n_regions == res.n_regions == 336
    assert {p.tobytes() for p in dec.packed_patterns} == \
        {np.packbits(p, bitorder="little").tobytes() for p in np.asarray(res.patterns, dtype=bool)}
    bits = unpack_bits(dec.packed_patterns, net.n_hidden)
    assert np.array_equal(net.bits(dec.interior_points), bits)
    far = int(np.argmax(np.abs(dec.interior_points).max(axis=1)))
    assert np.abs(dec.interior_points[far]).max() > 1e7
    A, c, _ = full_system(net, bits[far], None)
    slack = (c - A @ dec.interior_points[far]) / np.linalg.norm(A, axis=1)
    assert slack.min() >= dec.chebyshev_radii[far] * (1 - 1e-6)


@pytest.mark.parametrize("method", ["brute", "lp"])
def test_lp_paths_find_the_far_away_cone(method):
    """HiGHS' block-diagonal Chebyshev LPs used to return a non-optimal negative radius for the
    far-away cone (unnormalised rows, default 1e-7 tolerances, every block around the origin),
    so both HiGHS paths reported 335 regions; with unit rows, local origins and 1e-10
    tolerances they find all 336, with every facet matched."""
    net = _wang_fig3_net_684()
    dec = decompose(net, None, method=method)
    assert dec.n_regions == 336
    assert dec.stats["unmatched_facets"] == 0
    ref = decompose(net, None)
    assert pattern_set(dec) == pattern_set(ref)
    assert edge_set(dec) == edge_set(ref)
