"""Wang's activation regions: the Intersect / Add / Cut propagation of Wang (IJCAI 2022), §3.

An *activation region* ``c`` (Wang, §3) is a pair

* a **shape** ``S(c) = {x in R^M : A x <= b}`` -- a convex polyhedron given by restrictions
  ``u_i . x + s_i <= 0`` (stored as rows of ``A`` and ``b = -s``, normalised to unit length), and
* a **value** ``V(c)`` -- affine functions ``x -> v . x + t`` on the input space, stored as rows
  ``[v | t]``: one row for a neuron's region, a *list* of rows for the intermediate regions of the
  pairwise optimisation (the "list of values" of §3).

Three operations build every region of a ReLU network, layer by layer and neuron by neuron:

* ``Intersect(c_1..c_k, w_1..w_k)`` -- shape ``∩ S(c_i)``, value ``Σ w_i V(c_i)`` (or the list of the
  values when no weights are given); kept only when the shape is full-dimensional;
* ``Add(c, b)`` -- the value's constant term ``t`` becomes ``t + b``;
* ``Cut(c)`` -- apply the ReLU: ``c_1 = (S(c) ∩ {V(c) <= 0}, 0)`` and ``c_2 = (S(c) ∩ {V(c) >= 0}, V(c))``,
  keeping the full-dimensional ones.

Eq. (3.2): the regions of neuron ``N_j^i`` are ``Cut(Add(Intersect(c_1..c_{n_{i-1}}, w_{1j}..), b_j))``
over all combinations of regions ``c_k`` of the neurons of layer ``i - 1``. :func:`propagate` uses the
paper's *pairwise* optimisation: the regions of the first two neurons of a layer are intersected, the
result with those of the third, and so on, the values being appended to a list; the weighted sum
(Add) and the Cut are then applied for every neuron of the next layer. The output neuron gets
Intersect and Add without Cut.

Numerics. "Non-empty" (the paper's word) is taken as *full-dimensional*: two regions of
neighbouring cells share a facet, so a closed intersection is never empty; what matters is whether
it contains a ball. Each shape is tested with the Chebyshev-ball LP (HiGHS, through the library's
one LP front-end :class:`relutopo.polyhedra.LPSolver`),
``max r  s.t.  a_i . x + r <= b_i`` (unit rows), and is a region when ``r > CHEBYSHEV_RTOL * scale``
(``relutopo.tolerances``; ``scale`` is the distance scale of the first layer's hyperplanes, so
rescaling the input space does not change any answer). A region carries a point with its ball
radius; when such a point already certifies the ball (a cheap, exact check) the LP is skipped.
Restrictions that a Cut proves redundant (the other side has no interior) are not added; with
``remove_redundant=True`` every restriction is also tested by the LP redundancy test after each
layer, as the paper describes. Regions lying in different cells of the previous layer have disjoint
interiors, so Intersect is only attempted between regions descending from the same cell (an exact
pruning: no LP is needed to reject the other combinations).

Linear regions (end of §3): "group together those activation regions that are connected to each
other and have the same value". :func:`facet_pairs` finds the regions sharing a facet (for weights
in general position their patterns differ in one bit; a witness point or an LP confirms the
shared ``(M - 1)``-dimensional face), and :class:`ActivationRegions` offers the interface of
:func:`relutopo.linear_regions.linear_regions`, which does the grouping.

This module is deliberately independent of the traversal engine (:mod:`relutopo.decompose`): the
tests use it as a second algorithm that must find exactly the same activation regions.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .nets import ReluNet
from .lp import LPSolver
from .tolerances import CHEBYSHEV_RTOL, ZERO_ROW_RTOL

__all__ = [
    "ActivationRegion", "ActivationRegions", "Geometry",
    "intersect", "add", "cut", "propagate", "whole_space", "facet_pairs", "candidate_facets",
    "verify_facets", "arrangement_scale",
]


# ---------------------------------------------------------------------------- LP backend
class Geometry:
    """The LP solver and tolerances of one propagation (not shared between networks).

    Parameters
    ----------
    input_dim : int
        ``M``, the dimension of the input space.
    scale : float
        Distance scale of the arrangement; ball radii are capped at ``scale`` (regions may be
        unbounded) and a shape is full-dimensional when its Chebyshev radius exceeds
        ``CHEBYSHEV_RTOL * scale``.

    Attributes
    ----------
    solver : relutopo.polyhedra.LPSolver
        The LP front-end (presolve off: a stream of tiny LPs); ``n_lp`` counts its LPs.

    Examples
    --------
    The shape ``{x : |x_1| <= 1}`` (unit rows) holds a ball of radius 1 (Wang §3: "non-empty"
    read as full-dimensional):

    >>> import numpy as np
    >>> geo = Geometry(2, scale=5.0)
    >>> ball = geo.ball(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([1.0, 1.0]))
    >>> round(ball.radius, 9), geo.n_lp
    (1.0, 1)
    """

    def __init__(self, input_dim: int, scale: float = 1.0):
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive finite number; got {scale!r}")
        self.input_dim = int(input_dim)
        self.scale = float(scale)
        self.tol = CHEBYSHEV_RTOL * self.scale
        self.solver = LPSolver(presolve=False)
        self._next_row = 0

    @property
    def n_lp(self) -> int:
        """Linear programs solved so far."""
        return self.solver.calls

    def new_row_id(self, bit: int = -1) -> tuple:
        """A fresh identifier ``(bit, serial)`` for a restriction created by the Cut of neuron
        ``bit`` (shared rows are deduplicated by identifier when shapes are intersected)."""
        self._next_row += 1
        return (int(bit), self._next_row)

    def ball(self, A: np.ndarray, b: np.ndarray):
        """Largest ball in ``{A y <= b}`` (unit rows), radius capped at ``scale``, as a
        :class:`relutopo.polyhedra.ChebyshevBall`; ``radius <= tol`` means the shape is not
        full-dimensional (``< 0``: empty)."""
        return self.solver.chebyshev(np.asarray(A, dtype=np.float64).reshape(-1, self.input_dim),
                                     b, self.scale)

    def is_redundant(self, A: np.ndarray, b: np.ndarray, i: int) -> bool:
        """LP redundancy test: row ``i`` is implied by the others (max ``a_i . x`` <= ``b_i``)."""
        others = np.delete(np.arange(len(A)), i)
        # bound the objective so the LP is never unbounded: a_i . x <= b_i + scale
        top = self.solver.maximize(A[i], A[others], b[others], upper=b[i] + self.scale)
        return bool(np.isfinite(top) and top <= b[i] + self.tol)

    def certify(self, A: np.ndarray, b: np.ndarray, x: np.ndarray) -> float:
        """Radius of the largest ball around ``x`` inside ``{A y <= b}`` (unit rows); no LP."""
        if len(A) == 0:
            return self.scale
        return min(float(np.min(b - A @ x)), self.scale)


# ---------------------------------------------------------------------------- regions
@dataclass(frozen=True, eq=False)
class ActivationRegion:
    """One activation region ``c`` of Wang §3: shape ``S(c)``, value ``V(c)`` and bookkeeping.

    Attributes
    ----------
    A, b : arrays ``(r, M)``, ``(r,)``
        The shape ``S(c) = {x : A x <= b}``; rows have unit length (restriction
        ``u . x + s <= 0`` is stored as ``A = u/|u|``, ``b = -s/|u|``).
    value : array ``(k, M + 1)``
        ``V(c)``: ``k`` affine functions ``x -> value[:, :M] x + value[:, M]`` (``k = 1`` for the
        region of one neuron, ``k = n_{i-1}`` for an intermediate region of the pairwise Intersect).
    bits : array ``(n_hidden,)`` int8
        Activation bits decided so far (1 active, 0 inactive, -1 not yet decided).
    point, radius :
        A point of ``S(c)`` whose ball of ``radius`` lies in ``S(c)`` (``radius > tol``).
    parent : int
        Index of the cell of the previous layer it lies in (-1 for the whole input space).
    row_ids : tuple of (int, int)
        Identifier ``(neuron, serial)`` of each restriction: the hidden neuron whose Cut created
        it, and a serial number (rows shared by regions cut from a common ancestor have the same
        identifier, so Intersect keeps one copy).

    Examples
    --------
    The region ``R^2`` whose value list is the two input neurons, cut by the ReLU of ``x_1``
    (Wang §3, Cut):

    >>> geo = Geometry(2)
    >>> c = whole_space(2, n_hidden=1, geometry=geo)
    >>> c.value.tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    >>> off, on = cut(add(ActivationRegion(c.A, c.b, c.value[:1], c.bits, c.point, c.radius), 0.0),
    ...               geometry=geo, bit=0)
    >>> off.value.tolist(), on.value.tolist()
    ([[0.0, 0.0, 0.0]], [[1.0, 0.0, 0.0]])
    """

    A: np.ndarray
    b: np.ndarray
    value: np.ndarray
    bits: np.ndarray
    point: np.ndarray
    radius: float
    parent: int = -1
    row_ids: tuple = ()

    def __post_init__(self):
        if len(self.row_ids) != len(self.A):
            raise ValueError(f"row_ids has {len(self.row_ids)} entries for {len(self.A)} restrictions")


def whole_space(input_dim: int, n_hidden: int, geometry: Geometry) -> ActivationRegion:
    """The region ``R^M`` with value list ``(x_1, ..., x_M)`` (the input neurons).

    Examples
    --------
    >>> geo = Geometry(2)
    >>> c = whole_space(2, n_hidden=3, geometry=geo)
    >>> c.A.shape, c.value.tolist(), c.bits.shape
    ((0, 2), [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], (3,))
    """
    M = int(input_dim)
    value = np.hstack([np.eye(M), np.zeros((M, 1))])
    return ActivationRegion(np.zeros((0, M)), np.zeros(0), value, np.full(n_hidden, -1, np.int8),
                            np.zeros(M), geometry.scale, -1)


def _stack_shapes(regions):
    """Restrictions of all regions together; a restriction shared by several (same identifier,
    inherited from a common ancestor) is kept once."""
    if len(regions) == 1:
        return regions[0].A, regions[0].b, regions[0].row_ids
    where = {}
    for k, r in enumerate(regions):
        for i, rid in enumerate(r.row_ids):
            where.setdefault(rid, (k, i))
    ids = tuple(where)
    A = np.array([regions[k].A[i] for k, i in where.values()]).reshape(len(ids), -1)
    b = np.array([regions[k].b[i] for k, i in where.values()])
    return A, b, ids


def intersect(regions: Sequence[ActivationRegion], weights=None, *,
              geometry: Geometry) -> Optional[ActivationRegion]:
    """``Intersect(c_1, ..., c_k, w_1, ..., w_k)`` (Wang §3).

    Shape ``∩ S(c_i)``; value ``Σ w_i V(c_i)`` when ``weights`` is given, otherwise the list of the
    values (rows stacked: the intermediate regions of the pairwise optimisation). Returns ``None``
    when the intersection is not full-dimensional (Chebyshev radius ``<= tol``), or when two
    regions have decided a bit differently (opposite open half-spaces: disjoint interiors).

    Examples
    --------
    The half-planes ``x_1 >= 0`` (value ``x_1``) and ``x_2 >= 0`` (value ``x_2``), made by Cut,
    intersect in a quadrant; with weights ``(1, 2)`` its value is ``x_1 + 2 x_2`` (Wang §3,
    Intersect):

    >>> import dataclasses
    >>> geo = Geometry(2)
    >>> c = whole_space(2, n_hidden=2, geometry=geo)
    >>> _, on1 = cut(dataclasses.replace(c, value=c.value[:1]), geometry=geo, bit=0)
    >>> _, on2 = cut(dataclasses.replace(c, value=c.value[1:]), geometry=geo, bit=1)
    >>> q = intersect([on1, on2], [1.0, 2.0], geometry=geo)
    >>> (q.A + 0.0).tolist(), q.value.tolist(), q.bits.astype(int).tolist()
    ([[-1.0, 0.0], [0.0, -1.0]], [[1.0, 2.0, 0.0]], [1, 1])
    """
    regions = list(regions)
    if not regions:
        raise ValueError("intersect needs at least one activation region; got none")
    bits = regions[0].bits.copy()
    for r in regions[1:]:
        both = (bits >= 0) & (r.bits >= 0)
        if np.any(bits[both] != r.bits[both]):
            return None
        bits = np.where(bits >= 0, bits, r.bits)
    A, b, ids = _stack_shapes(regions)
    # a point of one region that has a ball inside all the others certifies full dimension;
    # a point violating exactly one restriction is also tried mirrored across it
    best_r, best_x = -np.inf, None
    for r in regions:
        for x in _candidate_points(A, b, r.point, geometry):
            rad = geometry.certify(A, b, x)
            if rad > best_r:
                best_r, best_x = rad, x
        if best_r > geometry.tol:
            break
    if best_r <= geometry.tol:
        ball = geometry.ball(A, b)
        best_r, best_x = ball.radius, ball.center
        if best_r <= geometry.tol:
            return None
    if weights is None:
        value = np.vstack([r.value for r in regions])
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if len(w) != len(regions):
            raise ValueError(f"intersect: got {len(regions)} regions but {len(w)} weights; give one "
                             "weight per region")
        value = sum(wi * r.value for wi, r in zip(w, regions))
    parent = regions[0].parent if all(r.parent == regions[0].parent for r in regions) else -1
    return ActivationRegion(A, b, value, bits, best_x, float(best_r), parent, ids)


def _candidate_points(A, b, x, geometry):
    """``x``, and its mirror image across the single restriction it violates (if only one)."""
    yield x
    if len(A) == 0:
        return
    slack = b - A @ x
    bad = np.flatnonzero(slack <= geometry.tol)
    if len(bad) == 1:
        k = bad[0]
        yield x + 2.0 * (slack[k] - geometry.tol) * A[k] - geometry.tol * A[k]


def add(region: ActivationRegion, bias) -> ActivationRegion:
    """``Add(c, b)``: the value's constant term ``t`` becomes ``t + b`` (Wang §3).

    Examples
    --------
    >>> geo = Geometry(1)
    >>> c = whole_space(1, n_hidden=0, geometry=geo)
    >>> c.value.tolist(), add(c, 0.5).value.tolist()
    ([[1.0, 0.0]], [[1.0, 0.5]])
    """
    value = region.value.copy()
    value[:, -1] = value[:, -1] + np.asarray(bias, dtype=np.float64).reshape(-1)
    return ActivationRegion(region.A, region.b, value, region.bits, region.point, region.radius,
                            region.parent, region.row_ids)


def cut(region: ActivationRegion, *, geometry: Geometry, bit: Optional[int] = None,
        parent: Optional[int] = None) -> list:
    """``Cut(c)``: the ReLU applied to ``V(c) = v . x + t`` (Wang §3).

    Returns the full-dimensional ones of ``c_1 = (S(c) ∩ {v.x + t <= 0}, 0)`` and
    ``c_2 = (S(c) ∩ {v.x + t >= 0}, V(c))``. When one of them has no interior, the other is
    ``S(c)`` itself and the redundant restriction is not added. ``bit`` (the neuron's index) records
    the activation bit in the regions; ``parent`` overrides their parent cell index.

    Examples
    --------
    ``Cut`` of the value ``x`` on ``R^1``: ``{x <= 0}`` with value 0 and ``{x >= 0}`` with value
    ``x`` (Wang §3):

    >>> geo = Geometry(1)
    >>> off, on = cut(whole_space(1, n_hidden=1, geometry=geo), geometry=geo, bit=0)
    >>> off.A.tolist(), off.value.tolist(), on.A.tolist(), on.value.tolist()
    ([[1.0]], [[0.0, 0.0]], [[-1.0]], [[1.0, 0.0]])
    >>> off.bits.tolist(), on.bits.tolist()
    ([0], [1])
    """
    if region.value.shape[0] != 1:
        raise ValueError("cut needs a region whose value is one affine function; got a list of "
                         f"{region.value.shape[0]} (apply the weighted sum with add/intersect first)")
    M = geometry.input_dim
    v, t = region.value[0, :M], float(region.value[0, M])
    par = region.parent if parent is None else parent
    zero = np.zeros_like(region.value)

    def child(active, A, b, x, r, ids):
        bits = region.bits.copy()
        if bit is not None:
            bits[bit] = 1 if active else 0
        return ActivationRegion(A, b, region.value if active else zero, bits, x, float(r), par, ids)

    norm = float(np.linalg.norm(v))
    # zero slope: the variation of V over the distance scale is negligible against |t|
    # (exactly 0 for dead paths); rescaling the input space leaves the test unchanged
    if norm == 0.0 or norm * geometry.scale <= ZERO_ROW_RTOL * abs(t):
        # constant value t on S(c): the neuron is active on all of it iff t > 0
        return [child(t > 0, region.A, region.b, region.point, region.radius, region.row_ids)]
    a_off, b_off = v / norm, -t / norm            # v.x + t <= 0  (inactive side)
    sides = {False: (a_off, b_off), True: (-a_off, -b_off)}
    h0 = float(v @ region.point + t) / norm       # signed distance of the known point
    out = []
    own = h0 > 0                                   # the side of the region's point
    for active in (own, not own):
        a, bb = sides[active]
        A = np.vstack([region.A, a[None, :]])
        b = np.concatenate([region.b, [bb]])
        x, r = region.point, min(region.radius, abs(h0)) if active == own else -np.inf
        if r <= geometry.tol:
            # try the mirror image of the point across the hyperplane before solving an LP
            if active != own:
                xm = region.point - 2.0 * h0 * a_off
                rm = geometry.certify(A, b, xm)
                if rm > geometry.tol:
                    x, r = xm, rm
            if r <= geometry.tol:
                ball = geometry.ball(A, b)
                r, x = ball.radius, ball.center
        if r > geometry.tol:
            out.append((active, A, b, x, r))
    if len(out) == 1:  # the other side has no interior: the new restriction is redundant
        active = out[0][0]
        return [child(active, region.A, region.b, region.point, region.radius, region.row_ids)]
    ids = [region.row_ids + (geometry.new_row_id(-1 if bit is None else bit),) for _ in out]
    return [child(*o, i) for o, i in zip(out, ids)]


# ---------------------------------------------------------------------------- propagation
@dataclass(frozen=True)
class ActivationRegions:
    """The activation regions of a network's output neuron over ``R^M`` (Wang §3).

    Attributes
    ----------
    patterns : bool array ``(n, n_hidden)``
        Activation pattern of each region (bit order of :class:`ReluNet`: layer by layer).
    maps, offsets : arrays ``(n, n_out, M)``, ``(n, n_out)``
        ``V(c)`` of the output neuron(s): ``F(x) = maps[k] x + offsets[k]`` on region ``k``.
    halfspaces : tuple of ``(A, b)``
        ``S(c) = {x : A x <= b}`` of each region (unit rows).
    interior_points, radii : arrays ``(n, M)``, ``(n,)``
        A point of each region and the radius of a ball around it inside the region.
    layer_counts : tuple of int
        Number of intermediate regions (cells) after each hidden layer.
    neuron_counts : tuple of tuple of int
        Number of activation regions of each hidden neuron ``N_j^i``.
    n_lp : int
        Linear programs solved.
    row_neurons : tuple of int arrays
        For each region, the hidden neuron whose Cut created each row of its shape.
    scale : float
        The distance scale of the tolerances (see :class:`Geometry`).

    The object also offers the engine's interface used by
    :func:`relutopo.linear_regions.linear_regions`: ``affine_map(i)`` and ``dual_graph`` (see
    :func:`facet_pairs`), so Wang's regions can be grouped into linear regions as in §3.

    Examples
    --------
    Wang's activation regions of a 2 -> 2 -> 1 network over ``R^2``: the four quadrants.

    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> regions = propagate(net)
    >>> regions.n_regions, regions.patterns.astype(int).tolist()
    (4, [[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> regions.affine_map(3)
    (array([[1., 1.]]), array([0.]))
    """

    patterns: np.ndarray
    maps: np.ndarray
    offsets: np.ndarray
    halfspaces: tuple
    interior_points: np.ndarray
    radii: np.ndarray
    layer_counts: tuple
    neuron_counts: tuple
    n_lp: int
    row_neurons: tuple = ()
    scale: float = 1.0

    @property
    def n_regions(self) -> int:
        return int(len(self.patterns))

    def affine_map(self, i: int) -> tuple:
        """``(A, c)``: the network is ``x -> A x + c`` on region ``i`` (its value ``V(c)``)."""
        return self.maps[i], self.offsets[i]

    def candidate_facets(self) -> np.ndarray:
        """Unverified facet candidates ``(i, j, k, r)`` (see :func:`candidate_facets`)."""
        return candidate_facets(self)

    def verify_facets(self, candidates) -> np.ndarray:
        """Which candidates share a facet (see :func:`verify_facets`)."""
        return verify_facets(self, candidates)

    @functools.cached_property
    def facets(self) -> np.ndarray:
        """``(E, 3)`` int array of ``(i, j, neuron)``: regions ``i < j`` share a facet lying on the
        bent hyperplane of ``neuron`` (computed once by :func:`facet_pairs`)."""
        return facet_pairs(self)

    @functools.cached_property
    def dual_graph(self):
        """networkx Graph on ``0..n-1`` with an edge (attribute ``neuron``) per shared facet."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(self.n_regions))
        g.add_edges_from((int(i), int(j), {"neuron": int(k)}) for i, j, k in self.facets)
        return g


def arrangement_scale(net: ReluNet) -> float:
    """Distance scale of a network's first-layer hyperplanes: ``max_k |b_k| / |w_k|`` (1 if all 0).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.array([[3.0, 4.0], [1.0, 0.0]]), np.ones((1, 2))],
    ...                            [np.array([10.0, 1.0]), np.zeros(1)])
    >>> arrangement_scale(net)
    2.0
    """
    W, b = net.weights[0], net.biases[0]
    norms = np.linalg.norm(W, axis=1)
    ok = norms > 0
    d = np.abs(b[ok]) / norms[ok] if np.any(ok) else np.zeros(0)
    s = float(d.max()) if d.size else 0.0
    return s if s > 0 else 1.0


def _remove_redundant(region: ActivationRegion, geometry: Geometry) -> ActivationRegion:
    A, b, ids = region.A, region.b, list(region.row_ids)
    i = 0
    while i < len(A):
        if len(A) > 1 and geometry.is_redundant(A, b, i):
            A, b = np.delete(A, i, axis=0), np.delete(b, i)
            del ids[i]
        else:
            i += 1
    return ActivationRegion(A, b, region.value, region.bits, region.point, region.radius,
                            region.parent, tuple(ids))


def propagate(net: ReluNet, *, remove_redundant: bool = False,
              geometry: Optional[Geometry] = None) -> ActivationRegions:
    """All activation regions of ``net`` over ``R^M`` by Wang's Intersect/Add/Cut (§3, eq. 3.1-3.2).

    Parameters
    ----------
    net : ReluNet
        The network (any input/output dimension; the paper's has one output).
    remove_redundant : bool
        Also run the LP redundancy test on every restriction after each layer (the paper's
        "remove the redundant ones"). Does not change the regions found, only their descriptions
        (and costs one LP per restriction).
    geometry : Geometry, optional
        LP solver and tolerances; by default built for ``net`` with
        ``scale = arrangement_scale(net)``.

    Returns
    -------
    ActivationRegions

    Examples
    --------
    Wang's Intersect/Add/Cut for a 2 -> 3 -> 1 network; the regions are those of the exact engine
    (:func:`relutopo.decompose.decompose`):

    >>> import numpy as np
    >>> from relutopo import ReluNet, decompose
    >>> net = ReluNet.from_weights([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones((1, 3))],
    ...                            [np.array([0.0, 0.0, -0.5]), np.zeros(1)])
    >>> regions = propagate(net)
    >>> regions.n_regions, decompose(net).n_regions
    (7, 7)
    """
    if not isinstance(net, ReluNet):
        raise TypeError(f"net must be a relutopo.ReluNet (build one with ReluNet.from_weights or "
                        f"ReluNet.from_torch); got {type(net).__name__}")
    M, n_hidden = net.input_dim, net.n_hidden
    geo = geometry if geometry is not None else Geometry(M, arrangement_scale(net))
    if geo.input_dim != M:
        raise ValueError(f"geometry is for input dimension {geo.input_dim} but {net!r} has {M}")
    offs = net.layer_offsets
    cells = [whole_space(M, n_hidden, geo)]       # intermediate regions of the previous layer
    layer_counts, neuron_counts = [], []
    for li, (W, bvec) in enumerate(zip(net.weights[:-1], net.biases[:-1])):
        # regions of every neuron N_j^i: Cut(Add(weighted value of the intermediate region, b_j))
        per_neuron = []
        for j in range(W.shape[0]):
            regs = []
            for pi, cell in enumerate(cells):
                valued = ActivationRegion(cell.A, cell.b, (W[j] @ cell.value)[None, :], cell.bits,
                                          cell.point, cell.radius, pi, cell.row_ids)
                regs.extend(cut(add(valued, bvec[j]), geometry=geo, bit=int(offs[li] + j),
                                parent=pi))
            per_neuron.append(regs)
        neuron_counts.append(tuple(len(r) for r in per_neuron))
        # pairwise Intersect of the neurons' regions, values appended to a list (Wang §3)
        by_parent = [dict() for _ in range(len(per_neuron))]
        for j, regs in enumerate(per_neuron):
            for r in regs:
                by_parent[j].setdefault(r.parent, []).append(r)
        new_cells = []
        for pi in range(len(cells)):
            inter = by_parent[0].get(pi, [])
            for j in range(1, len(per_neuron)):
                nxt = by_parent[j].get(pi, [])
                if len(nxt) == 1:
                    # the neuron does not cut this cell: S(d) = S(parent) contains S(c)
                    d = nxt[0]
                    inter = [_append(c, d) for c in inter]
                    continue
                inter = [x for c in inter for d in nxt
                         for x in [intersect((c, d), geometry=geo)] if x is not None]
            new_cells.extend(inter)
        if remove_redundant:
            new_cells = [_remove_redundant(c, geo) for c in new_cells]
        cells = new_cells
        layer_counts.append(len(cells))
    # output neuron(s): Intersect + Add, no Cut
    Wout, bout = net.weights[-1], net.biases[-1]
    vals = np.stack([Wout @ c.value for c in cells])           # (n, n_out, M + 1)
    vals[:, :, -1] += bout
    patterns = np.array([c.bits for c in cells], dtype=np.int8).reshape(len(cells), n_hidden)
    if np.any(patterns < 0):  # cannot happen: every hidden neuron cuts every cell
        raise RuntimeError("internal error: an activation region with an undecided bit")
    return ActivationRegions(
        patterns=patterns.astype(bool),
        maps=vals[:, :, :M].copy(),
        offsets=vals[:, :, M].copy(),
        halfspaces=tuple((c.A, c.b) for c in cells),
        interior_points=np.array([c.point for c in cells]).reshape(len(cells), M),
        radii=np.array([c.radius for c in cells]),
        layer_counts=tuple(layer_counts),
        neuron_counts=tuple(neuron_counts),
        n_lp=geo.n_lp,
        row_neurons=tuple(np.array([rid[0] for rid in c.row_ids], dtype=np.int64) for c in cells),
        scale=geo.scale,
    )


def _append(c: ActivationRegion, d: ActivationRegion) -> ActivationRegion:
    """Intersect ``c`` with a region ``d`` whose shape contains ``S(c)``: values appended, no LP."""
    bits = np.where(c.bits >= 0, c.bits, d.bits)
    return ActivationRegion(c.A, c.b, np.vstack([c.value, d.value]), bits, c.point, c.radius,
                            c.parent, c.row_ids)


# ---------------------------------------------------------------------------- adjacency
def candidate_facets(regions: ActivationRegions) -> np.ndarray:
    """Pairs of regions that may share a facet: ``(i, j, k, r)`` with ``i < j``, the patterns of
    ``i`` and ``j`` differing exactly in bit ``k``, and row ``r`` of ``S(c_i)`` created by neuron
    ``k`` (a facet of ``c_i`` lies on one of its rows). Unverified; see :func:`verify_facets`.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> cand = candidate_facets(propagate(net))
    >>> cand.shape[1], sorted({(int(i), int(j)) for i, j, k, r in cand})
    (4, [(0, 1), (0, 2), (1, 3), (2, 3)])
    """
    n = regions.n_regions
    if len(regions.row_neurons) != n:
        raise ValueError("these regions carry no row-to-neuron labels (build them with propagate)")
    patterns = np.asarray(regions.patterns, dtype=bool).reshape(n, -1)
    counts = np.array([len(r) for r in regions.row_neurons], dtype=np.int64)
    if n == 0 or counts.sum() == 0:
        return np.zeros((0, 4), dtype=np.int64)
    # one query per (region i, row r): the pattern of i with the bit k of row r flipped
    i = np.repeat(np.arange(n), counts)
    k = np.concatenate([np.asarray(r, dtype=np.int64) for r in regions.row_neurons])
    r = np.arange(len(k)) - np.repeat(np.cumsum(counts) - counts, counts)
    flipped = patterns[i]
    flipped[np.arange(len(k)), k] ^= True
    # look the flipped patterns up among the regions' patterns (equal packed rows, one group id)
    _, group = np.unique(np.packbits(np.concatenate([patterns, flipped]), axis=1), axis=0,
                         return_inverse=True)
    group = group.reshape(-1)
    owner = np.full(int(group.max()) + 1, -1, dtype=np.int64)
    np.maximum.at(owner, group[:n], np.arange(n))
    j = owner[group[n:]]
    keep = j > i
    return np.stack([i[keep], j[keep], k[keep], r[keep]], axis=1).astype(np.int64).reshape(-1, 4)


def verify_facets(regions: ActivationRegions, candidates, *,
                  geometry: Optional[Geometry] = None) -> np.ndarray:
    """For each candidate ``(i, j, k, r)`` of :func:`candidate_facets`: do ``c_i`` and ``c_j``
    share a facet on the bent hyperplane ``H_k``?

    They do when some point ``y`` of ``H_k`` lies strictly inside every other restriction of both
    shapes (slack ``> tol``): then a small disc of ``H_k`` around ``y`` is in both closures. ``y``
    is first sought without an LP (where the segment between the two interior points meets
    ``H_k``, then the projections of the interior points on ``H_k``); otherwise a
    Chebyshev-ball LP centred on ``H_k`` decides.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> regions = propagate(net)
    >>> bool(verify_facets(regions, candidate_facets(regions)).all())
    True
    """
    cands = np.asarray(candidates, dtype=np.int64).reshape(-1, 4)
    geo = geometry if geometry is not None else Geometry(regions.interior_points.shape[1],
                                                         regions.scale)
    M = geo.input_dim
    ok = np.zeros(len(cands), dtype=bool)
    for e, (i, j, k, r) in enumerate(cands):
        A_i, b_i = regions.halfspaces[i]
        A_j, b_j = regions.halfspaces[j]
        keep_i, keep_j = regions.row_neurons[i] != k, regions.row_neurons[j] != k
        A = np.vstack([A_i[keep_i], A_j[keep_j]])
        b = np.concatenate([b_i[keep_i], b_j[keep_j]])
        a, c = A_i[r], b_i[r]                    # H_k = {a . x = c}
        if _facet_certified(A, b, a, c, regions.interior_points[i], regions.interior_points[j], geo):
            ok[e] = True
            continue
        # LP: the largest ball centred on H_k inside all the other restrictions
        cost = np.zeros(M + 1)
        cost[-1] = 1.0
        upper = np.full(M + 1, np.inf)
        upper[-1] = geo.scale
        res = geo.solver.linprog(cost, np.hstack([A, np.ones((len(A), 1))]), b,
                                 np.hstack([a, [0.0]])[None, :], [c], ub=upper, maximize=True)
        ok[e] = bool(res.optimal and res.objective > geo.tol)
    return ok


def facet_pairs(regions: ActivationRegions, *, geometry: Optional[Geometry] = None) -> np.ndarray:
    """Pairs of Wang's activation regions that share a facet (the dual graph's edges).

    For weights in general position, two regions sharing a facet have patterns that differ in
    exactly the bit of the neuron whose bent hyperplane carries the facet (every other neuron's
    pre-activation is continuous and non-zero at a generic point of the facet), and each has a
    restriction from that neuron's Cut: :func:`candidate_facets` lists these pairs and
    :func:`verify_facets` keeps those that share an ``(M - 1)``-dimensional face.

    Returns
    -------
    array ``(E, 3)`` int
        Rows ``(i, j, k)`` with ``i < j``.

    Examples
    --------
    The four quadrants of a 2 -> 2 -> 1 network share four facets (the dual graph is a 4-cycle):

    >>> import numpy as np
    >>> from relutopo import ReluNet
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> facet_pairs(propagate(net)).tolist()
    [[0, 2, 0], [0, 1, 1], [1, 3, 0], [2, 3, 1]]
    """
    cands = candidate_facets(regions)
    keep = verify_facets(regions, cands, geometry=geometry)
    return cands[keep][:, :3]


def _facet_certified(A, b, a, c, x_i, x_j, geo) -> bool:
    """Is there an LP-free witness ``y`` on ``{a . y = c}`` strictly inside ``A y <= b``?"""
    d_i, d_j = float(a @ x_i - c), float(a @ x_j - c)
    cands = [x_i - d_i * a, x_j - d_j * a]
    if d_i != d_j:
        t = d_i / (d_i - d_j)
        cands.insert(0, x_i + t * (x_j - x_i))
    for y in cands:
        if len(A) == 0 or float(np.min(b - A @ y)) > geo.tol:
            return True
    return False
