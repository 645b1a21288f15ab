"""One region of a ReLU network's polyhedral decomposition, and the LP machinery behind it.

Liu et al. (2023), Sec. 2.2: the closure of the set of inputs with bit vector ``s`` is the
polyhedron ``{x : A x <= c}`` of eq. (9) (one row per hidden neuron, built by
:meth:`relutopo.nets.ReluNet.halfspaces`), intersected with the domain box when there is one.
Rows that are not redundant by LP (10) are the *active bits*: they carry the facets.

This module holds

* :func:`facet_rows` (LP (10)) -- the non-redundant rows of ``(A, c)``, solved through relutopo's
  one LP front-end :class:`relutopo.lp.LPSolver` (re-exported here with :func:`chebyshev_center`,
  :func:`is_bounded`, :func:`row_norms`; vertices and volumes: :mod:`relutopo.polytopes`);
* :class:`Region` and :func:`region_of` -- a full description of one region from its pattern.

A region is *full-dimensional* when its Chebyshev radius (rows normalised to unit length)
exceeds ``tolerances.CHEBYSHEV_RTOL`` times the domain scale; lower-dimensional bit vectors are
not regions (Liu et al., Alg. 1 step 3).
"""


from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import tolerances as tol
from .domains import Box
from .errors import LPError, RegionError  # noqa: F401  (re-exported: relutopo.polyhedra.RegionError)
from .lp import ChebyshevBall, LPResult, LPSolver, chebyshev_center, is_bounded, row_norms, zero_rows  # noqa: F401
from .normal_form import domain_scale, normal_form
from .polytopes import hull_volume
from .polytopes import polytope_vertices  # re-exported: relutopo.polyhedra.polytope_vertices
from .validation import check_box

__all__ = [
    "LPSolver", "LPResult", "ChebyshevBall", "Region", "region_of", "chebyshev_center",
    "facet_rows", "full_system", "is_bounded", "domain_scale", "zero_rows", "row_norms",
]


# ---------------------------------------------------------------------------- plain functions
def _dedupe_rows(A, c, scale: float = 1.0):
    """Group rows describing the same halfspace (after normalising ``||a|| = 1``): unit normals
    within ``HYPERPLANE_DUP_RTOL`` and offsets within ``HYPERPLANE_DUP_RTOL * (scale + |c|)``
    (``scale``: the length scale of the problem; relative, so rescaling changes nothing).

    Returns ``(rep, group)``: ``rep`` the first row index of each group, ``group[i]`` the group
    number of row ``i``.
    """
    norms = row_norms(A)
    safe = np.where(norms > 0, norms, 1.0)
    An = A / safe[:, None]
    cn = c / safe
    m = A.shape[0]
    group = -np.ones(m, dtype=np.int64)
    reps = []
    for i in range(m):
        if group[i] >= 0:
            continue
        same = (np.max(np.abs(An - An[i]), axis=1, initial=0.0) <= tol.HYPERPLANE_DUP_RTOL) \
            & (np.abs(cn - cn[i]) <= tol.HYPERPLANE_DUP_RTOL * (scale + np.abs(cn[i]))) & (group < 0)
        group[same] = len(reps)
        reps.append(i)
    return np.array(reps, dtype=np.int64), group


def facet_rows(A, c, scale: float = 1.0, solver: LPSolver | None = None, origin=None) -> np.ndarray:
    """Indices of the rows of ``{x : A x <= c}`` that carry a facet (Liu et al., LP (10)).

    Row ``i`` is irredundant when ``max a_i . x`` over the other rows exceeds ``c_i`` by more
    than ``LP_FEAS_RTOL * ||a_i|| * scale``. Rows of zeros (norm below ``ZERO_ROW_RTOL`` times
    the largest) never carry a facet. Among rows that describe the same halfspace (duplicate
    hyperplanes) only the first is returned. The polyhedron must be full-dimensional. HiGHS
    sees unit-normalised rows in coordinates relative to ``origin`` (a point in or near the
    polyhedron, e.g. its Chebyshev centre; default the origin).

    Examples
    --------
    The unit square ``0 <= x, y <= 1`` given with a redundant row ``x + y <= 3`` (LP (10) of Liu
    et al. drops it):

    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]])
    >>> c = np.array([1.0, 1.0, 0.0, 0.0, 3.0])
    >>> facet_rows(A, c).tolist()
    [0, 1, 2, 3]
    """
    solver = solver or LPSolver()
    A = np.asarray(A, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    norms = row_norms(A)
    live = np.flatnonzero(norms > tol.ZERO_ROW_RTOL * float(norms.max(initial=0.0)))
    if live.size == 0:
        return np.zeros(0, dtype=np.int64)
    reps, _ = _dedupe_rows(A[live], c[live], scale)
    rows = live[reps]
    Ar = A[rows] / norms[rows, None]
    cr = c[rows] / norms[rows]
    if origin is not None:
        cr = cr - Ar @ np.asarray(origin, dtype=np.float64)
    out = []
    slack = tol.LP_FEAS_RTOL * scale
    for j, i in enumerate(rows):
        others = np.arange(len(rows)) != j
        val = solver.maximize(Ar[j], Ar[others], cr[others], upper=cr[j] + scale)
        if val > cr[j] + slack:
            out.append(i)
    return np.array(out, dtype=np.int64)


# ---------------------------------------------------------------------------- Region
@dataclass(frozen=True, eq=False)
class Region:
    """One full-dimensional region (activation region) of a decomposition.

    Attributes
    ----------
    pattern : (n_hidden,) bool
        The bit vector ``s`` (Liu et al. eq. 4-5).
    A, c : (m, d), (m,)
        Irredundant halfspaces ``A x <= c`` (the facets), network rows as in eq. (9) (not
        normalised) followed by box faces.
    facet_neurons : (m,) int
        For each row, the hidden neuron whose hyperplane carries it, or ``-1 - k`` for the face
        ``k`` of the domain box (see :meth:`relutopo.domains.Box.halfspaces`).
    interior_point : (d,)
        The Chebyshev centre (radius capped at the domain scale for unbounded regions).
    chebyshev_radius : float
    bounded : bool
    vertices : (n_v, d) array or None
        For bounded regions with ``d <= 3``; else ``None``.
    volume : float or None
        For bounded regions with ``d <= 3``; else ``None``.

    Examples
    --------
    A region of a 2 -> 2 -> 1 network in the box ``[-1, 1]^2``: the quadrant where both neurons
    are on (Liu et al. eq. 9 with the irredundant rows of LP (10)):

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> r = region_of(net, [True, True], Box(-1, 1, dim=2))
    >>> r.pattern, r.bounded, r.facet_neurons
    (array([ True,  True]), True, array([ 0,  1, -2, -4]))
    >>> round(float(r.volume), 6)
    1.0
    """

    pattern: np.ndarray
    A: np.ndarray
    c: np.ndarray
    facet_neurons: np.ndarray
    interior_point: np.ndarray
    chebyshev_radius: float
    bounded: bool
    vertices: np.ndarray | None = None
    volume: float | None = None

    @property
    def dim(self) -> int:
        return int(self.A.shape[1])

    @property
    def n_facets(self) -> int:
        return int(self.A.shape[0])

    def contains(self, X, strict: bool = True) -> np.ndarray:
        """Whether points ``X`` lie in the region (``strict``: in its interior)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        s = X @ self.A.T - self.c
        return np.all(s < 0, axis=1) if strict else np.all(s <= 0, axis=1)


def full_system(net, pattern, domain):
    """All rows of eq. (9) for ``pattern`` plus the faces of ``domain`` (a :class:`Box` or
    ``None``): ``(A, c, ids)`` with ``ids[k]`` the hidden neuron of row ``k``, or ``-1 - f`` for
    face ``f`` of the box (rows not reduced: redundant ones included).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> A, c, ids = full_system(net, [True, False], Box(-1, 1, dim=2))
    >>> A.shape, ids.tolist()
    ((6, 2), [0, 1, -1, -2, -3, -4])
    """
    A, c = net.halfspaces(pattern)
    ids = np.arange(A.shape[0], dtype=np.int64)
    if domain is not None:
        Ab, cb = domain.halfspaces()
        A = np.vstack([A, Ab])
        c = np.concatenate([c, cb])
        ids = np.concatenate([ids, -1 - np.arange(Ab.shape[0], dtype=np.int64)])
    return A, c, ids


_full_system = full_system  # the former private name, kept for existing callers


def check_domain(net, domain):
    """``domain`` validated for ``net``: ``None`` or a :class:`Box` of the net's input dimension
    that float64 resolves (:func:`relutopo.validation.check_box`)."""
    d = net.input_dim
    owner = repr(net) if isinstance(domain, Box) and domain.dim != d else ""  # for the message
    return check_box(domain, dim=d, owner=owner)


def region_of(net, pattern, domain: Box | None = None, solver: LPSolver | None = None,
              facet_neurons=None, interior_point=None, chebyshev_radius=None,
              bounded=None) -> Region:
    """The :class:`Region` of bit vector ``pattern`` of ``net`` inside ``domain``.

    Builds eq. (9), keeps the full-dimensionality test (Chebyshev radius above
    ``CHEBYSHEV_RTOL * scale``) and the facets of LP (10). Known facts (from a decomposition)
    can be passed to skip the LPs. Raises :class:`RegionError` when the pattern has no
    full-dimensional region. The LPs and the vertices are computed in the working frame of
    :func:`relutopo.normal_form.normal_form` (so a network rescaled without changing its bit
    vectors gives the same region, up to the input rescaling) and mapped back.

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> r = region_of(net, [True, False], Box(-1, 1, dim=2))
    >>> r.A.shape[1], len(r.c) >= 3, round(float(r.volume), 6)
    (2, True, 1.0)
    >>> region_of(net, [True, False]).bounded          # in R^2 the quadrant is unbounded
    False
    """

    domain = check_domain(net, domain)
    s = net._as_bits(pattern)
    solver = solver or LPSolver()
    scale = domain_scale(net, domain)
    nf = normal_form(net, domain)
    scale_w = domain_scale(nf.net, nf.domain)
    A_all, c_all, ids_all = full_system(net, s, domain)
    A_w, c_w, _ = full_system(nf.net, s, nf.domain)  # the same rows, in the working frame
    if interior_point is None or chebyshev_radius is None:
        y0, r_w = solver.chebyshev(A_w, c_w, scale_w)
        if not (r_w > tol.CHEBYSHEV_RTOL * scale_w):
            raise RegionError(
                f"pattern {np.flatnonzero(s).tolist()} (active neurons) has no full-dimensional "
                f"region in {domain if domain is not None else 'R^d'}: Chebyshev radius "
                f"{r_w * nf.length:.3g} <= {tol.CHEBYSHEV_RTOL * scale:.3g}")
        x0, r = nf.to_user(y0), min(float(r_w) * nf.length, scale)
    else:
        x0, r = np.asarray(interior_point, dtype=np.float64), float(chebyshev_radius)
        y0 = (x0 - nf.origin) / nf.length
    if facet_neurons is None:
        rows = facet_rows(A_w, c_w, scale_w, solver, origin=y0)
    else:
        pos = {int(k): i for i, k in enumerate(ids_all)}
        try:
            rows = np.array([pos[int(k)] for k in facet_neurons], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"facet_neurons contains {exc.args[0]}, not a neuron or box face "
                             f"of {net!r} in {domain}") from None
    A, c, ids = A_all[rows], c_all[rows], ids_all[rows]
    if bounded is None:
        bounded = True if domain is not None else is_bounded(A_w[rows], solver)
    V = vol = None
    if bounded and net.input_dim <= 3 and A.shape[0] > net.input_dim:
        Vy = polytope_vertices(A_w[rows], c_w[rows], y0, solver=solver)
        V = nf.to_user(Vy)
        with np.errstate(over="ignore"):
            vol = hull_volume(Vy) * nf.length ** net.input_dim
    for arr in (A, c, ids, s, x0):
        arr.setflags(write=False)
    return Region(pattern=s, A=A, c=c, facet_neurons=ids, interior_point=x0, chebyshev_radius=r,
                  bounded=bool(bounded), vertices=V, volume=vol)
