"""Scale-free numerics of ``decompose`` (issue 14): rescalings that change no activation pattern
change no answer, in every method; far-away cones and wedges are found; and whatever the engine
knows to be inconsistent raises instead of being returned.

Ground truth: the same network at scale one (rescalings that preserve every bit vector), an
exact rational refinement of the plane (no tolerance at all), the network evaluated at every
interior point, and the four methods agreeing.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relutopo import tolerances as tol
from relutopo.decompose import decompose
from relutopo.domains import Box
from relutopo.errors import (InconsistencyWarning, InconsistentDecompositionError, RelutopoError,
                             ResolutionWarning, ScaleRangeError)
from relutopo.nets import ReluNet
from relutopo.normal_form import normal_form
from relutopo.patterns import unpack_bits


def random_net(sizes, seed):
    rng = np.random.default_rng(seed)
    ws = [rng.uniform(-1.0, 1.0, (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.uniform(-1.0, 1.0, b) for b in sizes[1:]]
    return ReluNet.from_weights(ws, bs)


def pattern_set(dec):
    return {row.tobytes() for row in dec.packed_patterns}


def edge_set(dec):
    P = dec.packed_patterns
    return {frozenset((P[a].tobytes(), P[b].tobytes())) for a, b in dec.edges}


def bounded_set(dec):
    return {row.tobytes() for row, b in zip(dec.packed_patterns, dec.bounded) if b}


# ----------------------------------------------------------------------------- rescalings
def scale_one_layer(net, layer, k):
    """Hidden layer ``layer``'s weights and biases times ``k``, the next layer's weights times
    ``1 / k``: the same function, the same bit vectors."""
    ws, bs = [np.array(w) for w in net.weights], [np.array(b) for b in net.biases]
    ws[layer] = ws[layer] * k
    bs[layer] = bs[layer] * k
    ws[layer + 1] = ws[layer + 1] / k
    return ReluNet.from_weights(ws, bs)


def scale_every_layer(net, k):
    """Every hidden layer ``l`` (1-based) gets ``W_l * k`` and ``b_l * k^l``: pre-activations of
    layer ``l`` become ``k^l`` times the original ones, so no bit changes."""
    ws, bs = [np.array(w) for w in net.weights], [np.array(b) for b in net.biases]
    for l in range(len(ws) - 1):
        ws[l] = ws[l] * k
        bs[l] = bs[l] * k ** (l + 1)
    return ReluNet.from_weights(ws, bs)


def scale_first_layer(net, k):
    """All of the first layer (weights and biases) times ``k``, nothing compensated: for a
    one-hidden-layer net this changes the output but no bit vector."""
    ws, bs = [np.array(w) for w in net.weights], [np.array(b) for b in net.biases]
    ws[0], bs[0] = ws[0] * k, bs[0] * k
    return ReluNet.from_weights(ws, bs)


def stretch_input(net, width):
    """The network in coordinates ``x' = width x``: bit vectors at ``x'`` are those at ``x``."""
    ws, bs = [np.array(w) for w in net.weights], [np.array(b) for b in net.biases]
    ws[0] = ws[0] / width
    return ReluNet.from_weights(ws, bs)


def methods_for(d, boxed, n_hidden):
    out = ["vertex", "lp"]
    if d == 2 and boxed:
        out.append("polygon")
    if n_hidden <= 8:
        out.append("brute")
    return out


# ----------------------------------------------------------------------------- exact reference
def exact_regions_2d(net, lo, hi):
    """Bit vectors of the full-dimensional activation regions of a net on R^2 inside the box
    ``[lo, hi]^2``, in exact rationals: refine the box layer by layer, each cell a convex polygon
    with its affine pre-activations, split at each neuron's line; a piece is a region when its
    area is positive. No tolerance anywhere."""
    F = Fraction
    Ws = [[[F(float(v)) for v in row] for row in W] for W in net.weights[:-1]]
    bs = [[F(float(v)) for v in b] for b in net.biases[:-1]]
    lo, hi = F(lo), F(hi)
    box = [(lo, lo), (hi, lo), (hi, hi), (lo, hi)]
    # cell: (polygon, layer, bits, input maps as (a, b, c): a x + b y + c)
    stack = [(box, 0, (), [(F(1), F(0), F(0)), (F(0), F(1), F(0))])]
    out = []

    def area2(P):
        return sum(P[i][0] * P[(i + 1) % len(P)][1] - P[(i + 1) % len(P)][0] * P[i][1]
                   for i in range(len(P)))

    def clip(P, f, keep_pos):
        vals = [f[0] * x + f[1] * y + f[2] for x, y in P]
        res = []
        for i in range(len(P)):
            j = (i + 1) % len(P)
            vi, vj = vals[i], vals[j]
            if (vi >= 0) if keep_pos else (vi <= 0):
                res.append(P[i])
            if (vi > 0 and vj < 0) or (vi < 0 and vj > 0):
                t = vi / (vi - vj)
                res.append((P[i][0] + t * (P[j][0] - P[i][0]), P[i][1] + t * (P[j][1] - P[i][1])))
        return res

    while stack:
        P, l, bits, G = stack.pop()
        if l == len(Ws):
            out.append(bits)
            continue
        z = [tuple(sum(w * g[t] for w, g in zip(row, G)) + (b if t == 2 else 0) for t in range(3))
             for row, b in zip(Ws[l], bs[l])]
        pieces = [(P, ())]
        for f in z:
            nxt = []
            for Q, bb in pieces:
                for keep_pos in (True, False):
                    R = clip(Q, f, keep_pos)
                    if len(R) >= 3 and area2(R) > 0:
                        nxt.append((R, bb + (keep_pos,)))
            pieces = nxt
        for Q, bb in pieces:
            # a piece on the positive side of a neuron that is zero all over it has bit 0: the
            # positive clip of a zero function keeps everything, so test the value inside
            cx = sum(x for x, _ in Q) / len(Q)
            cy = sum(y for _, y in Q) / len(Q)
            on = tuple(f[0] * cx + f[1] * cy + f[2] > 0 for f in z)
            if on != bb:
                continue  # the duplicate (negative) copy of a zero neuron's piece
            stack.append((Q, l + 1, bits + on,
                          [f if o else (F(0), F(0), F(0)) for f, o in zip(z, on)]))
    return {tuple(b) for b in out}


def dec_bits(dec):
    return {tuple(bool(v) for v in row) for row in unpack_bits(dec.packed_patterns, dec.net.n_hidden)}


# ----------------------------------------------------------------------------- the cases
ALL = ["vertex", "lp", "brute"]
BOX_ALL = ["vertex", "polygon", "lp", "brute"]


@pytest.mark.parametrize("k", [1e-12, 1e-11, 1e-9, 1e9, 1e12])
def test_one_hidden_layer_net_scaled_by_k_is_unchanged(k):
    """The issue's first case: a 2 -> 4 -> 1 net with W1, b1 times k. Before: lp and brute
    reported every bit pattern (16) at 1e-9 and 1e-11, every method 2-4 at 1e-12, brute force 10
    in the box at 1e12 (true: 11 in R^2, the closed form 1 + 4 + 6, and 5 in the box)."""
    net = random_net((2, 4, 1), 0)
    scaled = scale_first_layer(net, k)
    exact_box = exact_regions_2d(net, -1, 1)
    assert len(exact_box) == 5
    for method in ALL:
        dec = decompose(scaled, None, method=method)
        assert dec.n_regions == 1 + 4 + 6, method
        assert pattern_set(dec) == pattern_set(decompose(net, None, method=method)), method
    for method in BOX_ALL:
        dec = decompose(scaled, Box(-1, 1, dim=2), method=method)
        assert dec_bits(dec) == exact_box, method


@pytest.mark.parametrize("k", [1e-3, 1e3])
def test_deep_net_with_every_layer_scaled_agrees_with_exact_rationals(k):
    """The issue's second case: 2 -> 4 -> 4 -> 4 -> 4 -> 1 with every layer's W, b times k (a
    different function: deeper hyperplanes move out to 1e3 .. 1e9). Before: lp 641 regions
    instead of 50 (or a bare RuntimeError at 1e3), vertex 37 with 21 unmatched facets. Now every
    method agrees with an exact rational refinement in the box, and all four agree in R^2 with
    every facet matched and every interior point evaluating to its region."""
    base = random_net((2, 4, 4, 4, 4, 1), 0)
    net = ReluNet.from_weights([w * k for w in base.weights], [b * k for b in base.biases])
    exact = exact_regions_2d(net, -1, 1)
    for method in ["vertex", "polygon", "lp"]:  # brute force (2^16 LPs): the smaller net below
        assert dec_bits(decompose(net, Box(-1, 1, dim=2), method=method)) == exact, method
    decs = [decompose(net, None, method=m) for m in ["vertex", "lp"]]
    for dec in decs:
        assert dec.stats["unmatched_facets"] == 0
        assert np.array_equal(net.bits(dec.interior_points), unpack_bits(dec.packed_patterns, net.n_hidden))
    assert pattern_set(decs[0]) == pattern_set(decs[1])
    assert edge_set(decs[0]) == edge_set(decs[1])
    # the plane's regions: those of a box holding every vertex of the arrangement (exact)
    assert dec_bits(decs[0]) == exact_regions_2d(net, -2 ** 60, 2 ** 60)
    small = random_net((2, 3, 3, 3, 1), 0)
    small = ReluNet.from_weights([w * k for w in small.weights], [b * k for b in small.biases])
    assert dec_bits(decompose(small, None, method="brute")) == exact_regions_2d(small, -2 ** 60, 2 ** 60)
    assert dec_bits(decompose(small, Box(-1, 1, dim=2), method="brute")) == exact_regions_2d(small, -1, 1)


@pytest.mark.parametrize("k", [1e-3, 1e3])
def test_deep_net_with_pattern_preserving_scaling_is_unchanged(k):
    base = random_net((2, 4, 4, 4, 4, 1), 0)
    net = scale_every_layer(base, k)
    for dom in (None, Box(-1, 1, dim=2)):
        for method in (["vertex", "polygon", "lp"] if dom is not None else ["vertex"]):
            got, ref = decompose(net, dom, method=method), decompose(base, dom, method=method)
            assert pattern_set(got) == pattern_set(ref), (dom, method)
            assert edge_set(got) == edge_set(ref), (dom, method)


def test_huge_box_gives_a_consistent_answer_and_a_resolution_warning():
    """The issue's third case: a net of unit scale in a box of +-1e200 (and +-1e12). Before:
    vertex 4 regions, polygon 8, overflow RuntimeWarnings. Now every method gives the same
    regions -- those thicker than the resolution 1e-9 * box side -- without any float warning,
    and a ResolutionWarning says that smaller regions go unreported."""
    net = random_net((2, 6, 6, 1), 3)
    for half in (1e12, 1e200):
        sets = []
        for method in BOX_ALL:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                dec = decompose(net, Box(-half, half, dim=2), method=method)
            kinds = {type(w.message) for w in caught}
            assert kinds == {ResolutionWarning}, (half, method, [str(w.message) for w in caught])
            assert "resolution" in str(caught[0].message)
            assert dec.stats["unmatched_facets"] == 0
            sets.append(pattern_set(dec))
        assert all(s == sets[0] for s in sets)
    # a box of ordinary size: no warning at all
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decompose(net, Box(-1, 1, dim=2))


def test_box_and_net_rescaled_together_up_to_1e200():
    """Input coordinates stretched by w (box +-w, first layer / w): the same regions, radii and
    interior points times w, for w from 1e-6 to 1e200, in every method."""
    net = random_net((2, 5, 4, 1), 11)
    ref = {m: decompose(net, Box(-1, 1, dim=2), method=m) for m in BOX_ALL}
    for w in (1e-6, 1e12, 1e100, 1e200):
        moved = stretch_input(net, w)
        for method in BOX_ALL:
            dec = decompose(moved, Box(-w, w, dim=2), method=method)
            assert pattern_set(dec) == pattern_set(ref[method]), (w, method)
            assert edge_set(dec) == edge_set(ref[method]), (w, method)
            order = [ref[method].index_of(p) for p in dec.packed_patterns]
            np.testing.assert_allclose(dec.chebyshev_radii, w * ref[method].chebyshev_radii[order],
                                       rtol=1e-6)
            assert np.array_equal(moved.patterns(dec.interior_points), dec.packed_patterns)


# ----------------------------------------------------------------------------- far-away geometry
def two_lines(X, through_origin):
    """``y = 0`` and a line tilted by ``1 / X``: crossing at ``(X, 0)`` (a far wedge beyond it,
    the two lines one apart near the origin), or crossing at the origin (two wedges of angle
    ``1 / X``)."""
    if through_origin:
        return ReluNet.from_weights([np.array([[0.0, 1.0], [1.0 / X, -1.0]]), np.ones((1, 2))],
                                    [np.zeros(2), [0.0]])
    return ReluNet.from_weights([np.array([[0.0, 1.0], [-1.0 / X, -1.0]]), np.ones((1, 2))],
                                [np.array([0.0, 1.0]), [0.0]])


@pytest.mark.parametrize("through_origin", [False, True])
@pytest.mark.parametrize("X", [1e3, 1e9, 1e11])
def test_two_nearly_parallel_lines(X, through_origin):
    """Two lines crossing near x = 1e9 (the issue's example; before: lp and brute 3 regions) or
    crossing at the origin at an angle of 1e-9 (before: vertex 2 regions): four regions, each
    wedge adjacent to the two big regions and nothing else, in every method."""
    net = two_lines(X, through_origin)
    for method in ALL:
        dec = decompose(net, None, method=method)
        assert dec.n_regions == 4, method
        bits = [tuple(int(v) for v in p) for p in unpack_bits(dec.packed_patterns, 2)]
        edges = {frozenset((bits[a], bits[b])) for a, b in dec.edges}
        # (0,1) and (1,0) meet only at the crossing point: never adjacent
        assert edges == {frozenset(e) for e in [((0, 0), (0, 1)), ((0, 0), (1, 0)),
                                                ((1, 1), (0, 1)), ((1, 1), (1, 0))]}, method
        assert np.array_equal(net.bits(dec.interior_points), unpack_bits(dec.packed_patterns, 2))
        far = np.abs(dec.interior_points).max()
        assert far >= (X if not through_origin else 0.5 * X)


# ----------------------------------------------------------------------------- property test
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(d=st.sampled_from([1, 2, 3]),
       hidden=st.lists(st.integers(2, 4), min_size=1, max_size=2),
       seed=st.integers(0, 10 ** 6),
       how=st.sampled_from(["one layer", "every layer", "first layer"]),
       log_k=st.floats(-12, 12),
       log_w=st.floats(-6, 100),
       boxed=st.booleans())
def test_pattern_preserving_rescalings_change_no_answer(d, hidden, seed, how, log_k, log_w, boxed):
    """Random small nets under a pattern-preserving rescaling with k in [1e-12, 1e12] (one hidden
    layer compensated by the next, every layer at once, or all of the first layer of a
    one-hidden-layer net), with the input stretched by w in [1e-6, 1e100] (box +-w, or R^d):
    every method gives the same regions, dual graph and boundedness as the same method on the
    original net in the box +-1 (a clear relutopo error would be allowed; none occurs here)."""
    net = random_net((d, *hidden, 1), seed)
    k, w = 10.0 ** log_k, 10.0 ** log_w
    if how == "one layer":
        scaled = scale_one_layer(net, seed % len(hidden), k)
    elif how == "every layer":
        scaled = scale_every_layer(net, k)
    else:
        scaled = scale_first_layer(random_net((d, hidden[0], 1), seed), k)
        net = random_net((d, hidden[0], 1), seed)
    moved = stretch_input(scaled, w)
    ref_dom = Box(-1, 1, dim=d) if boxed else None
    dom = Box(-w, w, dim=d) if boxed else None
    for method in methods_for(d, boxed, net.n_hidden):
        ref = decompose(net, ref_dom, method=method)
        try:
            got = decompose(moved, dom, method=method)
        except RelutopoError as exc:  # allowed, if it says why
            assert isinstance(exc, (ScaleRangeError, InconsistentDecompositionError)) and str(exc)
            continue
        assert pattern_set(got) == pattern_set(ref), method
        assert edge_set(got) == edge_set(ref), method
        assert bounded_set(got) == bounded_set(ref), method


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(d=st.integers(2, 4),
       hidden=st.lists(st.integers(2, 4), min_size=1, max_size=2),
       seed=st.integers(0, 10 ** 6),
       how=st.sampled_from(["one layer", "every layer"]),
       log_k=st.floats(-12, 12),
       log_w=st.floats(-6, 100),
       k_dim=st.sampled_from([1, 2]))
def test_pattern_preserving_rescalings_change_no_slice(d, hidden, seed, how, log_k, log_w, k_dim):
    """The same property on slices (segments and planes; issue 14 asks it of every method): the
    net rescaled by k in [1e-12, 1e12] (one hidden layer, or every layer) and the inputs stretched
    by w in [1e-6, 1e100], the slice through the stretched anchors. The engine (on the slice's
    box) and the exact refinement of the torch model give the pieces of the unscaled net: the
    same digests (in order on a segment, whose coordinate t does not change; its breakpoints to
    rounding) and, on a plane, areas times w^2 (or a clear relutopo error)."""
    from relutopo.slices import Plane, Segment

    net = random_net((d, *hidden, 1), seed)
    k, w = 10.0 ** log_k, 10.0 ** log_w
    scaled = scale_one_layer(net, seed % len(hidden), k) if how == "one layer" else scale_every_layer(net, k)
    moved = stretch_input(scaled, w)
    anchors = np.random.default_rng(seed).normal(size=(k_dim + 1, d))
    make = (lambda P: Segment(*P, margin=0.3)) if k_dim == 1 else (lambda P: Plane.through(*P, margin=0.3))
    slc, slc_w = make(anchors), make(anchors * w)
    for model, ref_model in ((moved, net), (moved.to_torch(), net.to_torch())):
        ref = decompose(ref_model, slc)
        try:
            got = decompose(model, slc_w)
        except RelutopoError as exc:  # allowed, if it says why
            assert isinstance(exc, (ScaleRangeError, InconsistentDecompositionError)) and str(exc)
            continue
        what = (type(model).__name__, got.stats["method"])
        if k_dim == 1:
            assert [bytes(x) for x in got.digests] == [bytes(x) for x in ref.digests], what
            np.testing.assert_allclose(got.breakpoints, ref.breakpoints, rtol=0, atol=1e-9, err_msg=str(what))
        else:
            assert {bytes(x) for x in got.digests} == {bytes(x) for x in ref.digests}, what
            order = [ref.index_of_digest()[bytes(x)] for x in got.digests]
            np.testing.assert_allclose(got.areas(), w ** 2 * ref.areas()[order], rtol=1e-6,
                                       atol=1e-9 * w ** 2 * ref.slice.box.volume, err_msg=str(what))


@pytest.mark.parametrize("seed", range(6))
def test_methods_agree_with_exact_rationals_in_the_square(seed):
    net = random_net((2, 4, 3, 1), seed)
    exact = exact_regions_2d(net, -1, 1)
    for method in BOX_ALL:
        assert dec_bits(decompose(net, Box(-1, 1, dim=2), method=method)) == exact, method


# ----------------------------------------------------------------------------- the working frame
def test_power_of_two_rescalings_give_a_bit_identical_normal_form():
    net = random_net((3, 5, 4, 1), 2)
    other = scale_every_layer(scale_one_layer(net, 0, 2.0 ** -40), 2.0 ** 30)
    for dom in (None, Box(-3, 5, dim=3)):
        a, b = normal_form(net, dom), normal_form(stretch_input(other, 2.0 ** 20),
                                                   None if dom is None else Box(-3 * 2.0 ** 20, 5 * 2.0 ** 20, dim=3))
        for wa, wb in zip(a.net.weights[:-1], b.net.weights[:-1]):
            assert np.array_equal(wa, wb)
        for ba, bb in zip(a.net.biases[:-1], b.net.biases[:-1]):
            assert np.array_equal(ba, bb)


def test_normal_form_has_the_same_bit_vectors():
    net = random_net((2, 6, 5, 1), 4)
    dom = Box([-30.0, 2.0], [10.0, 9.0])
    nf = normal_form(net, dom)
    Y = nf.domain.sample(2000, 0)
    assert np.array_equal(nf.net.bits(Y), net.bits(nf.to_user(Y)))
    assert np.all(dom.contains(nf.to_user(Y)))
    for W, b in zip(nf.net.weights[:-1], nf.net.biases[:-1]):
        top = np.abs(np.hstack([W, b[:, None]])).max(axis=1)
        assert np.all((top >= 1) & (top < 2))


# ----------------------------------------------------------------------------- what raises
def test_inconsistent_results_raise_or_warn(lose_one_facet):
    """A facet whose neighbour is not a region means a missing region: never returned quietly."""
    net = random_net((2, 5, 1), 1)
    with pytest.raises(InconsistentDecompositionError, match="1 facet"):
        decompose(net, Box(-1, 1, dim=2))
    with pytest.warns(InconsistencyWarning, match="1 facet"):
        dec = decompose(net, Box(-1, 1, dim=2), on_inconsistency="warn")
    assert dec.stats["unmatched_facets"] == 1


def test_highs_keeps_tilts_of_1e_9():
    """HiGHS' default small_matrix_value (1e-9) turned the unit row (1e-9, -1) into (0, -1)."""
    from relutopo.polyhedra import LPSolver

    A = np.array([[0.0, 1.0], [-1e-9, -1.0]])
    c = np.array([0.0, -0.5])  # y <= 0 and y >= 0.5 - 1e-9 x: non-empty for x > 5e8
    x, r = LPSolver().chebyshev(A, c, 1.0)
    assert r == pytest.approx(1.0)
    assert x[0] > 5e8 and np.all(A @ x + r * np.linalg.norm(A, axis=1) <= c + 1e-6)


def test_tolerances_are_relative_and_named():
    assert 0 < tol.HIGHS_FEAS_TOL < tol.CHEBYSHEV_RTOL
    assert tol.HIGHS_SMALL_MATRIX_VALUE <= tol.ZERO_ROW_RTOL
    assert tol.CERTIFICATE_REACH * np.finfo(float).eps > tol.CHEBYSHEV_RTOL  # beyond: unresolvable
