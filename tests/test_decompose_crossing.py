"""Facet crossing on degenerate arrangements, checked with exact rational arithmetic.

Facets of these kinds once made ``decompose`` raise ``InconsistentDecompositionError`` although
the regions were right:

* facets on duplicated neurons far out (4e6 times the scale; a net found by the hypothesis tests
  of ``tests/test_kernels.py``): the duplicate's row was taken for a wall of the facet because
  its distance was measured at a far, rounded point; ``brute`` also could not certify the empty
  bit vectors whose duplicates disagree (a slab of width zero) because of the same rounding;
* the facets of a cell thinner than the resolution (a tiny simplex of hyperplanes that nearly
  meet in a point, or a slab that every step across jumps), which the refinement drops while its
  neighbours keep their facets on it;
* a facet on two identical neurons crossed from a thin region (a short step): the duplicate's
  pre-activation at the facet point, rounding, was taken for another hyperplane through it.

The expectations come from exact arithmetic (:mod:`fractions`) on the nets' float weights: every
facet of every region is found on the exact lines and crossed exactly, and the cells below the
resolution are measured exactly; in R^3 the three algorithms must agree -- never is a result
compared with itself.
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction
from itertools import combinations, product

import numpy as np
import pytest

from relutopo import tolerances as tol
from relutopo.decompose import decompose
from relutopo.domains import Box
from relutopo.errors import InconsistentDecompositionError
from relutopo.nets import ReluNet
from relutopo.patterns import unpack_bits
from test_kernels import _net


# ----------------------------------------------------------------------------- exact helpers
def _exact(net):
    """The net's float weights and biases as Fractions (exactly)."""
    return ([[[Fraction(float(v)) for v in row] for row in W] for W in net.weights],
            [[Fraction(float(v)) for v in b] for b in net.biases])


def _pattern(ex, x):
    """Bit vector at the rational point ``x`` (pre-activation > 0), exactly."""
    Ws, bs = ex
    h, bits = list(x), []
    for W, b in zip(Ws[:-1], bs[:-1]):
        z = [sum((w * v for w, v in zip(row, h)), Fraction(0)) + c for row, c in zip(W, b)]
        bits += [v > 0 for v in z]
        h = [max(v, Fraction(0)) for v in z]
    return tuple(bits)


def _pattern_beyond(ex, x, u):
    """Bit vector at ``x + t u`` for every small enough ``t > 0``, exactly: each pre-activation is
    ``z + t z'`` near ``t = 0`` (value and derivative along ``u``), and its sign for small ``t``
    is the sign of ``z``, or of ``z'`` where ``z = 0``; a ReLU passes ``(z, z')`` on when that sign
    is positive."""
    Ws, bs = ex
    h, dh, bits = list(x), list(u), []
    for W, b in zip(Ws[:-1], bs[:-1]):
        z = [sum((w * v for w, v in zip(row, h)), Fraction(0)) + c for row, c in zip(W, b)]
        dz = [sum((w * v for w, v in zip(row, dh)), Fraction(0)) for row in W]
        on = [v > 0 or (v == 0 and dv > 0) for v, dv in zip(z, dz)]
        bits += on
        h = [v if o else Fraction(0) for v, o in zip(z, on)]
        dh = [dv if o else Fraction(0) for dv, o in zip(dz, on)]
    return tuple(bits)


def _rows(ex, bits, d):
    """``[(a_k, b_k)]``: pre-activation ``z_k = a_k . x + b_k`` of every hidden neuron on the
    polyhedron of ``bits`` (Liu et al. eq. 8), exactly."""
    Ws, bs = ex
    A = [[Fraction(int(i == j)) for j in range(d)] for i in range(d)]
    c = [Fraction(0)] * d
    rows, off = [], 0
    for W, b in zip(Ws[:-1], bs[:-1]):
        Aj = [[sum((r[k] * A[k][j] for k in range(len(A))), Fraction(0)) for j in range(d)] for r in W]
        cj = [sum((r[k] * c[k] for k in range(len(A))), Fraction(0)) + bb for r, bb in zip(W, b)]
        rows += list(zip(Aj, cj))
        on = bits[off:off + len(W)]
        off += len(W)
        A = [row if s else [Fraction(0)] * d for row, s in zip(Aj, on)]
        c = [v if s else Fraction(0) for v, s in zip(cj, on)]
    return rows


def _dot(a, x):
    return sum((p * q for p, q in zip(a, x)), Fraction(0))


def _exact_neighbours_2d(ex, bits, box=None):
    """Every facet of the region ``bits`` of a net on ``R^2`` (or in the square ``box = (lo,
    hi)``) on a network hyperplane, with the bit vector beyond it: ``{neuron: pattern}``.

    The facet on neuron ``k`` is the part of the line ``z_k = 0`` where every other row keeps its
    sign (rows that vanish on the whole line, e.g. a duplicate neuron, flip with it); it is a
    facet when it has positive length. It is crossed at an interior point ``p``: the bit vector
    beyond is the network's at ``p + t n`` for every small enough ``t > 0`` (``n`` the outward
    normal; :func:`_pattern_beyond`), and the one within, at ``p - t n``, must be ``bits``."""
    rows = _rows(ex, bits, 2)
    cons = [(a, b, 1 if s else -1) for (a, b), s in zip(rows, bits)]  # s * (a . x + b) >= 0
    if box is not None:
        lo, hi = box
        cons += [([Fraction(1), Fraction(0)], -lo, 1), ([Fraction(-1), Fraction(0)], hi, 1),
                 ([Fraction(0), Fraction(1)], -lo, 1), ([Fraction(0), Fraction(-1)], hi, 1)]
    out = {}
    for k, (a, b) in enumerate(rows):
        if a[0] == 0 and a[1] == 0:
            continue
        x0 = [-b / a[0], Fraction(0)] if a[0] != 0 else [Fraction(0), -b / a[1]]
        v = [-a[1], a[0]]
        lo_t, hi_t, empty = None, None, False
        for j, (aj, bj, s) in enumerate(cons):
            if j == k:
                continue
            av, r0 = s * _dot(aj, v), s * (_dot(aj, x0) + bj)
            if av == 0:  # parallel: a wall beyond the line, or it vanishes on it (flips with it)
                empty |= r0 < 0
                continue
            t = -r0 / av
            if av > 0:
                lo_t = t if lo_t is None else max(lo_t, t)
            else:
                hi_t = t if hi_t is None else min(hi_t, t)
        if empty or (lo_t is not None and hi_t is not None and lo_t >= hi_t):
            continue
        t = ((lo_t + hi_t) / 2 if lo_t is not None and hi_t is not None
             else lo_t + 1 if lo_t is not None else hi_t - 1 if hi_t is not None else Fraction(0))
        p = [x0[0] + t * v[0], x0[1] + t * v[1]]
        out_dir = -1 if bits[k] else 1  # z_k grows beyond the facet of an inactive neuron
        n = [out_dir * a[0], out_dir * a[1]]
        assert _pattern_beyond(ex, p, [-n[0], -n[1]]) == tuple(bits)
        out[k] = _pattern_beyond(ex, p, n)
    return out


def _exact_adjacency_2d(net, dec, box=None):
    """The dual graph the exact facets give, from the regions of ``dec``: ``(edges, outside)``,
    edges as frozensets of bit vectors, ``outside`` the bit vectors beyond some facet that are
    not among the regions."""
    ex = _exact(net)
    regions = {tuple(r) for r in unpack_bits(dec.packed_patterns, net.n_hidden).astype(bool).tolist()}
    edges, outside = set(), set()
    for bits in regions:
        for nb in _exact_neighbours_2d(ex, list(bits), box).values():
            if nb in regions:
                edges.add(frozenset((bits, nb)))
            else:
                outside.add(nb)
    return edges, outside


def _edges_of(dec):
    P = unpack_bits(dec.packed_patterns, dec.net.n_hidden).astype(bool)
    return {frozenset((tuple(P[a].tolist()), tuple(P[b].tolist()))) for a, b in dec.edges}


def _regions_of(dec):
    return {tuple(r) for r in unpack_bits(dec.packed_patterns, dec.net.n_hidden).astype(bool).tolist()}


# ----------------------------------------------------------------------------- duplicate neurons
#: nets on R^2 whose facets on duplicated neurons were left unmatched: (sizes, seed, weight scale,
#: dead, duplicated). "far": regions 4e6 times the scale out meet on two identical first-layer
#: neurons (found by tests/test_kernels.py; every method raised); "deeper": two identical
#: second-layer neurons, and a third-layer neuron parallel to them (found by a sweep of random
#: nets; method='vertex' raised)
NETS_R2 = {"far": ((2, 6, 1, 3, 1), 1768, 1e-2, (), [(0, 1)]),
           "deeper": ((2, 6, 2, 4, 1), 1274101521, 10 ** 2.421164945642566, (), [(0, 5), (1, 1)])}


@pytest.mark.parametrize("name", sorted(NETS_R2))
@pytest.mark.parametrize("method,compiled", [("vertex", True), ("vertex", False), ("lp", None),
                                             ("brute", None)])
def test_facets_on_duplicate_neurons_are_crossed(name, method, compiled):
    """Crossing a facet on duplicated neurons flips both bits: every such facet is crossed, and
    the dual graph is exactly the one the exact facets give; every exact neighbour is a region,
    so (R^2 being connected) no region is missing."""
    net = _net(*NETS_R2[name])
    dec = decompose(net, None, method=method, compiled=compiled)
    assert dec.stats["unmatched_facets"] == 0
    edges, outside = _exact_adjacency_2d(net, dec)
    assert outside == set()
    assert _edges_of(dec) == edges
    ex = _exact(net)  # every interior point lies in its region, exactly
    for x, bits in zip(dec.interior_points, unpack_bits(dec.packed_patterns, net.n_hidden).tolist()):
        assert _pattern(ex, [Fraction(float(v)) for v in x]) == tuple(map(bool, bits))
    if name == "far":  # the case: facets where float64 rounds a point by more than VERTEX_RTOL
        assert max(np.abs(dec.interior_points).max(axis=1)) / dec.scale > 1e6


# ----------------------------------------------------------------------------- cells below the resolution
#: corner of the tiny simplex (dyadic: exact in float64), away from the box's centre
CORNER = (0.25, -0.375, 0.125, 0.5)


def _tiny_simplex_net(d, delta):
    """First layer: ``x_i = t_i`` (i < d, ``t = CORNER``) and ``sum (x - t) = delta``; the cell
    ``x > t, sum (x - t) < delta`` is a simplex of inradius ``delta' / (d + sqrt(d))``, ``delta'``
    the float bias's exact excess over ``sum t`` (see :func:`_exact_delta`)."""
    t = np.array(CORNER[:d])
    W = np.vstack([np.eye(d), -np.ones((1, d))])
    b = np.concatenate([-t, [t.sum() + delta]])
    return ReluNet.from_weights([W, np.ones((1, d + 1))], [b, np.zeros(1)])


def _exact_delta(net):
    """``delta'`` of :func:`_tiny_simplex_net`: last bias minus ``sum t``, exactly."""
    b = [Fraction(float(v)) for v in net.biases[0]]
    return b[-1] + sum(b[:-1])


def _exact_polygon(cons, lo, hi):
    """The polygon ``{x in [lo, hi]^2 : a . x + b >= 0 for (a, b) in cons}``, exactly (clipping)."""
    poly = [(lo, lo), (hi, lo), (hi, hi), (lo, hi)]
    for a, b in cons:
        out = []
        for i, p in enumerate(poly):
            q = poly[(i + 1) % len(poly)]
            fp, fq = _dot(a, p) + b, _dot(a, q) + b
            if fp >= 0:
                out.append(p)
            if (fp > 0 > fq) or (fp < 0 < fq):
                t = fp / (fp - fq)
                out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
        poly = out
        if not poly:
            break
    return poly


def _inradius_bounds(poly):
    """``(A / P, 2 A / P)``: bounds on the inradius of a convex polygon (area ``A``, perimeter
    ``P``; ``A <= r P`` for any convex body, ``A >= r P / 2`` for any polygon containing its
    inscribed circle)."""
    n = len(poly)
    area = abs(sum(poly[i][0] * poly[(i + 1) % n][1] - poly[(i + 1) % n][0] * poly[i][1]
                   for i in range(n))) / 2
    perim = sum(math.dist(map(float, poly[i]), map(float, poly[(i + 1) % n])) for i in range(n))
    return float(area) / perim, 2 * float(area) / perim


def _exact_cells_2d(net, scale, lo, hi):
    """The full-dimensional cells of a 3-neuron net in the square ``[lo, hi]^2``, exactly: each bit
    vector's polygon clipped in rationals, split into those whose inradius is above the
    resolution and those below it (every cell is decided exactly: its bounds do not straddle it)."""
    res = tol.CHEBYSHEV_RTOL * scale
    ex = _exact(net)
    thick, thin = set(), set()
    for bits in product((False, True), repeat=3):
        cons = [(a, b) if s else ([-v for v in a], -b) for (a, b), s in zip(_rows(ex, bits, 2), bits)]
        poly = _exact_polygon(cons, lo, hi)
        if len(poly) < 3 or _inradius_bounds(poly)[1] == 0:
            continue
        r_lo, r_hi = _inradius_bounds(poly)
        assert r_lo > res or r_hi < res
        (thick if r_lo > res else thin).add(bits)
    return thick, thin


@pytest.mark.parametrize("method,compiled", [("polygon", True), ("polygon", False), ("vertex", True),
                                             ("vertex", False), ("lp", None), ("brute", None)])
def test_facets_onto_a_triangle_below_the_resolution(method, compiled):
    """Three lines bound a triangle of inradius ~3e-10 in a square of side 2 (resolution 2e-9),
    away from its centre:
    it is no region, and the facets its neighbours keep on it are not taken for missing regions.
    The regions are exactly the cells whose inradius exceeds the resolution (enumerated over all
    bit vectors, clipped exactly), and the dual graph is the exact one."""
    net = _tiny_simplex_net(2, 1e-9)
    lo, hi = Fraction(-1), Fraction(1)
    dec = decompose(net, Box(-1.0, 1.0, dim=2), method=method, compiled=compiled)
    thick, thin = _exact_cells_2d(net, dec.scale, lo, hi)
    assert len(thick) == 6 and thin == {(True, True, True)}
    assert _regions_of(dec) == thick
    edges, outside = _exact_adjacency_2d(net, dec, (lo, hi))
    assert outside <= thin  # only the triangle lies beyond a facet and is no region
    assert _edges_of(dec) == edges
    assert dec.stats["unmatched_facets"] == 0
    if method in ("polygon", "vertex"):  # their facets come from the cells' vertices: all three
        assert dec.stats["facets_onto_thin_cells"] == 3  # sides of the triangle are facets


@pytest.mark.parametrize("compiled", [True, False])
def test_facets_onto_a_4_simplex_below_the_resolution(compiled):
    """Five hyperplanes in general position in R^4 cut 31 cells, one a simplex of inradius
    ~1e-9 / 6 (below the resolution 2e-9 of the box [-1, 1]^4): 30 regions, two adjacent exactly
    when their bit vectors differ in one bit (generic arrangement), and the simplex's five facets
    are facets onto a cell below the resolution, not missing regions."""
    net = _tiny_simplex_net(4, 1e-9)
    dec = decompose(net, Box(-1.0, 1.0, dim=4), method="vertex", compiled=compiled)
    simplex = (True,) * 5
    delta = _exact_delta(net)
    assert 0 < float(delta) / (4 + 2) < tol.CHEBYSHEV_RTOL * dec.scale  # inradius delta / (d + sqrt d)
    every = set(product((False, True), repeat=5)) - {(False,) * 5}  # sum(x - t) > delta > 0 >= x - t
    assert _regions_of(dec) == every - {simplex}
    expected = {frozenset((s, t)) for s, t in combinations(sorted(every - {simplex}), 2)
                if sum(u != v for u, v in zip(s, t)) == 1}
    assert _edges_of(dec) == expected
    assert dec.stats["facets_onto_thin_cells"] == 5 and dec.stats["unmatched_facets"] == 0


@pytest.mark.parametrize("method,compiled", [("polygon", True), ("polygon", False), ("vertex", True),
                                             ("vertex", False), ("brute", None)])
def test_long_facets_onto_a_slab_below_the_resolution(method, compiled):
    """A second-layer neuron ``1e-9 - relu(x)`` cuts the slab ``0 < x < 1e-9`` (width below the
    resolution 2e-9 of the square of side 2) beyond the first-layer line ``x = 0``: the slab is no
    region, and the long facets on ``x = 0`` beside it, which every step across jumps, are not
    taken for missing regions. Regions and dual graph as exactly computed (as for the triangle)."""
    net = ReluNet.from_weights([np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[-1.0, 0.0]]), np.ones((1, 1))],
                               [np.array([0.0, -0.3]), np.array([1e-9]), np.zeros(1)])
    lo, hi = Fraction(-1), Fraction(1)
    dec = decompose(net, Box(-1.0, 1.0, dim=2), method=method, compiled=compiled)
    thick, thin = _exact_cells_2d(net, dec.scale, lo, hi)
    assert len(thick) == 4 and len(thin) == 2  # the slab, cut by y = 0.3
    assert _regions_of(dec) == thick
    edges, outside = _exact_adjacency_2d(net, dec, (lo, hi))
    assert outside <= thin
    assert _edges_of(dec) == edges
    assert dec.stats["unmatched_facets"] == 0 and dec.stats["facets_onto_thin_cells"] >= 2


def test_a_thick_cell_beyond_a_narrow_facet_is_still_reported(monkeypatch):
    """The narrow facets are accepted only because the cell beyond them is certified thinner than
    the resolution: with that certificate replaced by a thick radius, they are unmatched."""
    mod = sys.modules["relutopo.decompose"]
    real = mod._highs_centres

    def thick(solver, systems, cap, rtol, origins=None, domain=None):
        X, R = real(solver, systems, cap, rtol, origins, domain)
        return X, np.full_like(R, cap)

    monkeypatch.setattr(mod, "_highs_centres", thick)
    with pytest.raises(InconsistentDecompositionError, match="3 facet"):
        decompose(_tiny_simplex_net(2, 1e-9), Box(-1.0, 1.0, dim=2), method="polygon")


def test_inconsistency_message_suggests_another_method(lose_one_facet):
    """The message names a method other than the one that was used."""
    net = _tiny_simplex_net(2, 0.5)
    for method, other in (("vertex", "lp"), ("polygon", "vertex"), ("lp", "vertex"), ("brute", "vertex")):
        with pytest.raises(InconsistentDecompositionError) as err:
            decompose(net, Box(-1.0, 1.0, dim=2), method=method)
        assert f"method={method!r}) found" in str(err.value)
        assert f"e.g. method={other!r}" in str(err.value)


@pytest.mark.slow  # ~7 s: method='brute' tests 2^14 bit vectors
def test_coincident_last_layer_neurons_crossed_from_a_thin_region():
    """Two identical last-hidden-layer neurons bound a region of radius ~3e-6 (a short crossing
    step): their pre-activation at the facet point is rounding, of the order of the carrier's,
    which the vanishing test took for another hyperplane through the point (``lp`` and ``brute``
    lost an edge and raised). All three algorithms now give the same regions and dual graph."""
    net = _net((3, 6, 5, 3, 1), 534488400, 10 ** 2.600256281646712, [(2, 1)], [(2, 1)])
    decs = [decompose(net, None, method=m) for m in ("vertex", "lp", "brute")]
    assert decs[0].n_regions == 350
    for dec in decs:
        assert dec.stats["unmatched_facets"] == 0
        assert _regions_of(dec) == _regions_of(decs[0])
        assert _edges_of(dec) == _edges_of(decs[0])
    assert min(dec.chebyshev_radii.min() for dec in decs) < 1e-5 * decs[0].scale


def test_exact_thinness_certificate_far_from_the_origin():
    """The last-resort certificate (multipliers in exact arithmetic) proves a slab of width zero
    4e6 out thin, where the float bound's rounding (eps |x| per slack) exceeds the resolution,
    and never a slab of width 1e-3 (its inscribed balls have radius 5e-4)."""
    thin_exactly = sys.modules["relutopo.decompose"]._thin_exactly
    x0 = 4e6 + 0.1
    A = np.array([[1.0, 0.0], [-1.0, 0.0]])
    X = np.array([x0, 0.0])
    y = np.array([0.5, 0.5])
    assert thin_exactly(A, np.array([x0, -x0]), X, y, 0.0, 1.0, 1e-9, 1e12)
    assert not thin_exactly(A, np.array([x0 + 1e-3, -x0]), X, y, 0.0, 1.0, 1e-9, 1e12)
    # multipliers that do not cancel the rows leave |G| reach in the bound: no proof
    assert not thin_exactly(A, np.array([x0, -x0]), X, np.array([0.5, 0.25]), 0.0, 1.0, 1e-9, 1e12)
