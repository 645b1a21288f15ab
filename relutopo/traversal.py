"""Liu et al. (2023), Algorithm 2: traversal-and-pruning enumeration of the regions.

Start from the bit vector ``s(x0)`` of a point, find its *active bits* (the rows of eq. (9) that
carry a facet, LP (10), via :func:`relutopo.polyhedra.facet_rows`), flip each active bit to get
the neighbouring bit vectors, and repeat on every newly found bit vector until none is left
unlabelled. In a box the box faces are extra rows; they carry facets but are not flipped.

The paper's algorithm assumes that flipping one active bit always gives the neighbour's bit
vector. That holds for networks in general position; for safety each flipped vector is checked
for a full-dimensional region (Chebyshev LP), and when the check fails the neighbour is found by
stepping across the facet and evaluating the network (counted in ``n_fallback``).

This is the algorithm of the paper, written for comparison with Alg. 1 (``decompose(...,
method="brute")``) and the engine's refinement (:func:`relutopo.decompose.decompose`); the
engine is the faster general tool.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import tolerances as tol
from .domains import Box
from .nets import ReluNet
from .patterns import pack_bits
from .lp import LPSolver
from .normal_form import domain_scale
from .polyhedra import check_domain, facet_rows, full_system as _full_system

__all__ = ["TraversalResult", "traverse"]


@dataclass(frozen=True, eq=False)
class TraversalResult:
    """Bit vectors found by Algorithm 2.

    Attributes
    ----------
    packed_patterns : (n_regions, ceil(n_hidden / 8)) uint8, in discovery order
    n_regions : int
    n_lp : int
        Linear programs solved (facet tests and full-dimensionality checks).
    n_fallback : int
        Flipped bit vectors without a full-dimensional region (neighbour found by evaluation).
    seconds : float

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo import ReluNet, Box
    >>> net = ReluNet.from_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> res = traverse(net, Box(-1, 1, dim=2), start=[0.5, 0.25])
    >>> res.n_regions, res.packed_patterns.shape, res.n_lp > 0
    (4, (4, 1), True)
    """

    packed_patterns: np.ndarray
    n_regions: int
    n_lp: int
    n_fallback: int
    seconds: float


def traverse(net: ReluNet, domain: Optional[Box] = None, start=None, progress: bool = False,
             max_regions: int = 10_000_000) -> TraversalResult:
    """Enumerate the full-dimensional regions of ``net`` in ``domain`` by Algorithm 2.

    Parameters
    ----------
    net : ReluNet
    domain : Box or None (all of ``R^d``)
    start : array (d,), optional
        The point ``x^(0)``; default the box centre, or the origin for ``R^d``. It must lie in
        the interior of a region (not on a hyperplane).
    max_regions : int
        Stop with an error beyond this many regions (a guard for huge networks).

    Examples
    --------
    Liu et al.'s Algorithm 2 (traversal and pruning: from a start region, flip the bit of each
    facet to reach the neighbours) finds the seven regions of a 2 -> 3 -> 1 network on ``[-1, 1]^2``,
    as the exact engine does:

    >>> import numpy as np
    >>> from relutopo import ReluNet, Box, decompose
    >>> net = ReluNet.from_weights([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones((1, 3))],
    ...                            [np.array([0.0, 0.0, -0.5]), np.zeros(1)])
    >>> res = traverse(net, Box(-1, 1, dim=2), start=[0.5, 0.25])
    >>> res.n_regions, decompose(net, Box(-1, 1, dim=2)).n_regions
    (7, 7)
    """
    from tqdm.auto import tqdm

    if not isinstance(net, ReluNet):
        raise TypeError(f"net must be a relutopo.nets.ReluNet; got {type(net).__name__}")
    domain = check_domain(net, domain)
    d = net.input_dim
    x0 = (domain.center if domain is not None else np.zeros(d)) if start is None else \
        np.asarray(start, dtype=np.float64).reshape(-1)
    if x0.shape != (d,) or not np.all(np.isfinite(x0)):
        raise ValueError(f"start must be a finite point of R^{d}; got {start!r}")
    if domain is not None and not bool(domain.contains(x0, strict=True)[0]):
        raise ValueError(f"start={x0.tolist()} is not inside the domain {domain}")
    t0 = time.perf_counter()
    solver = LPSolver()
    scale = domain_scale(net, domain)
    thin = tol.CHEBYSHEV_RTOL * scale
    calls0 = solver.calls

    h = x0[None, :]
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        z = h @ W.T + b
        mag = np.abs(h) @ np.abs(W).T + np.abs(b)
        if np.any((np.abs(z) <= tol.BOUNDARY_RTOL * mag) & (np.abs(W).sum(axis=1) > 0)):
            raise ValueError(f"start={x0.tolist()} lies on a hyperplane of the network (a "
                             "pre-activation is zero there); choose another point")
        h = np.maximum(z, 0.0)
    s0 = net.bits(x0)[0]
    found = {pack_bits(s0).tobytes(): s0}
    order = [pack_bits(s0)]
    queue = deque([s0])
    n_fallback = 0
    bar = tqdm(total=None, disable=not progress, desc="traversal", unit="region")
    while queue:
        s = queue.popleft()
        bar.update(1)
        A, c, ids = _full_system(net, s, domain)
        x_c, r = solver.chebyshev(A, c, scale)
        rows = facet_rows(A, c, scale, solver)
        for i in rows:
            k = int(ids[i])
            if k < 0:
                continue  # a face of the box: the traversal stops there
            t = s.copy()
            t[k] = ~t[k]
            key = pack_bits(t).tobytes()
            if key in found:
                continue
            At, ct, _ = _full_system(net, t, domain)
            _, rt = solver.chebyshev(At, ct, scale)
            if not rt > thin:
                # not a region: step across the facet from the region's centre and evaluate
                n_fallback += 1
                t = _neighbour_by_evaluation(net, A, c, int(i), x_c, r)
                key = pack_bits(t).tobytes()
                if key in found:
                    continue
            found[key] = t
            order.append(pack_bits(t))
            queue.append(t)
            if len(found) > max_regions:
                raise RuntimeError(f"more than max_regions={max_regions} regions; raise the limit")
    bar.close()
    packed = np.vstack(order) if order else np.zeros((0, (net.n_hidden + 7) // 8), np.uint8)
    return TraversalResult(packed_patterns=packed, n_regions=len(found),
                           n_lp=int(solver.calls - calls0), n_fallback=n_fallback,
                           seconds=time.perf_counter() - t0)


def _neighbour_by_evaluation(net, A, c, row, x_c, r):
    """Bit vector just across facet ``row`` of ``{A x <= c}``.

    A relative-interior point of the facet is the centre of the largest ball (radius ``rho``)
    within the hyperplane ``a_row . x = c_row`` that satisfies the other rows (one LP); the
    network is evaluated a step ``CROSSING_STEP_FRACTION * rho`` beyond it along the outer normal.
    """
    solver = LPSolver()
    inf = solver._inf
    a = A[row]
    na = float(np.linalg.norm(a))
    others = np.arange(len(c)) != row
    norms = np.linalg.norm(A[others], axis=1)
    d = A.shape[1]
    cost = np.zeros(d + 1)
    cost[-1] = -1.0  # maximise rho
    M = np.vstack([np.hstack([A[others], norms[:, None]]), np.concatenate([a, [0.0]])[None, :]])
    lo = np.concatenate([np.full(len(norms), -inf), [c[row]]])
    hi = np.concatenate([c[others], [c[row]]])
    col_lo = np.concatenate([np.full(d, -inf), [0.0]])
    col_hi = np.concatenate([np.full(d, inf), [max(float(r), tol.TINY)]])
    status, z, _ = solver.solve(cost, col_lo, col_hi, M, lo, hi)
    if status == "optimal" and z[d] > 0:
        xf, rho = z[:d], float(z[d])
    else:  # degenerate facet: project the centre onto the hyperplane
        xf, rho = x_c + (c[row] - a @ x_c) / na ** 2 * a, float(r)
    # the nearest region beyond the facet: shrink the step while the point stays across row ``row``
    # (a thin neighbour is not jumped over)
    normal = a / na
    best = None
    for e in range(3, 13):
        x = xf + rho * 10.0 ** -e * normal
        if not a @ x > c[row]:
            break
        best = net.bits(x)[0]
    return best if best is not None else net.bits(xf + tol.CROSSING_STEP_FRACTION * rho * normal)[0]
