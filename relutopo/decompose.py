"""Exact polyhedral decomposition of a ReLU network's input space (a box or all of ``R^d``).

``decompose(net, domain)`` returns every full-dimensional activation region (Liu et al. 2023,
Sec. 2.2: the closure of the inputs sharing a bit vector, eq. 9), their facets, interior points
and the dual graph. Four algorithms are available; the tests require them to agree:

``method="vertex"`` (default, except ``d = 2`` boxes)
    Layer-by-layer refinement (the layer-wise construction of Xiang et al. 2018 / Wang 2022,
    "Cut"): a region of hidden layer ``l`` is cut only by the hyperplanes of layer ``l + 1``
    restricted to it, whose rows come from the region's affine map (Liu et al. eq. 8).
    Cells are held as generators (vertices and rays, double description; Fukuda & Prodon 1996)
    with their incidences, so deciding whether a hyperplane cuts a cell is a sign test on its
    generators and cutting it is exact clipping: no LP is solved while refining. All cells of a
    chunk are cut by one neuron at a time, vectorised over cells (:mod:`relutopo.vertex_refine`).
    For ``R^d`` the cells are the homogenised cones ``{(x, t) : A x <= c t, t >= 0}``; the first
    layer starts from the ``2^d`` orthants of ``d`` independent hyperplanes (if the first layer
    has rank ``r < d`` the problem is solved in the ``r``-dimensional row space and lifted, since
    the network is constant along the kernel).
``method="polygon"`` (default for ``d = 2`` in a box)
    The same refinement with cells held as counter-clockwise vertex lists and cut by exact
    convex-polygon clipping (Sutherland-Hodgman, both halves) in plain Python floats.
``method="lp"``
    The same refinement, but every cut is decided by Chebyshev-centre LPs (HiGHS) on halfspace
    representations: a second algorithm that shares no geometry code with ``"vertex"``.
``method="brute"``
    Liu et al., Alg. 1: test all ``2^n`` bit vectors with one LP each (batched). Refused above
    ``tolerances.BRUTE_FORCE_MAX_BITS`` hidden neurons.

Every method works in a canonical frame (:func:`relutopo.normal_form.normal_form`): the box is
centred and scaled by a power of two to a longest side in ``[1/2, 1)`` (``R^d``: the first layer's
hyperplane distance scale), and every hidden neuron's row ``(w, b)`` is scaled by a power of two to
largest entry in ``[1, 2)``. Results are mapped back (points ``origin + length * y``, radii times
``length``). HiGHS sees unit-normalised rows around a local origin (the parent cell's centre, the
hint, or its own previous answer), with feasibility tolerances of ``1e-10`` and matrix entries
kept down to ``1e-12`` (``tolerances.HIGHS_*``); no test has an absolute floor.

Scale invariance (what is guaranteed)
    Rescalings that change no activation pattern change no answer: multiplying hidden neuron
    ``j``'s weights and bias by ``k > 0`` and its outgoing weights by ``1 / k`` (one neuron, one
    layer, or every layer at once), multiplying all of a one-hidden-layer net's first layer by
    ``k``, and stretching the input (box and first layer together) give the same regions, dual
    graph and boundedness -- bit for bit when the factors are powers of two, and up to the
    rounding of the rescaled weights otherwise (``tests/test_scale_invariance.py`` checks
    ``k`` from ``1e-12`` to ``1e12`` and boxes from ``1e-6`` to ``1e100`` wide in every method;
    ``tests/test_adversarial.py`` single factors from ``1e-300`` to ``1e300``). Radii and
    interior points scale with the input. The resolution is relative: a cell is a region when
    its Chebyshev radius exceeds ``CHEBYSHEV_RTOL`` times the domain scale (the box's longest
    side; in ``R^d`` the first layer's hyperplane distance scale, which is also the radius cap).
    Far-away regions -- a cone whose balls all lie ``5e7`` times the scale out, two lines crossing
    at ``1e9`` times the scale, wedges of angle ``1e-9`` -- are found by every method, with the
    right dual graph.

What raises
    :class:`~relutopo.errors.ScaleRangeError` (a ``ValueError``): a box whose side overflows
    float64, a box whose shortest side is below the resolution of its longest, or weights whose
    products overflow once every neuron is scaled to order one (the network's own output
    overflows on the domain). :class:`~relutopo.errors.InconsistentDecompositionError` (a
    ``RuntimeError``), unless ``on_inconsistency="warn"`` turns it into an
    :class:`~relutopo.errors.InconsistencyWarning` with the counts: a facet whose neighbour
    (found by evaluating the network beyond it) is not among the regions
    (``stats["unmatched_facets"]``), an interior point that evaluates to another bit vector
    (``stats["wrong_interior_points"]``), a cell the HiGHS paths drop as thin without a
    certificate (``stats["uncertain_cells"]``: HiGHS' multipliers must bound every ball within
    the box, or within ``CERTIFICATE_REACH`` times the scale in ``R^d``; else the certified
    simplex of :mod:`relutopo.chebyshev` decides, and last HiGHS' multipliers in exact rational
    arithmetic), or a HiGHS LP that does not finish. A
    :class:`~relutopo.errors.ResolutionWarning` says when a box is so much larger than the
    network's first-layer features that regions below the resolution may go unreported (a
    unit-scale net in a box of ``+-1e12``). A cell whose Chebyshev centre neither the certificate
    nor HiGHS can solve keeps a verified inscribed ball (``stats["uncertified_centres"]``): its
    region exists, only its radius may be smaller than the largest.

All methods finish the same way: each region gets its Chebyshev centre (``vertex``: the certified
centres of :mod:`relutopo.chebyshev` -- basis enumeration for small calls in ``d <= 2``, a
vectorised simplex otherwise -- and HiGHS for any cell they cannot certify; ``polygon``: the same
certified centres; ``lp``/``brute``: HiGHS, many regions per LP) and only cells with radius
``> CHEBYSHEV_RTOL * scale`` are kept; then each facet is
crossed by a small step and the network is *evaluated* there to find the neighbour (deeper bits
may change too, and neurons whose hyperplanes contain the facet, such as a duplicated neuron, flip
with it; a neighbour is never guessed by flipping one bit). A facet narrower than the
resolution may border a cell that is no region because it is thinner than the resolution (a
tiny simplex of hyperplanes that nearly meet in a point): it is crossed by a step below the
resolution, and its neighbour, when no region, must have a certified Chebyshev radius at most the
resolution (``stats["facets_onto_thin_cells"]`` counts such facets; they are no edges). Regions
are stored compactly
(:class:`~relutopo.decomposition.Decomposition`). The ``vertex`` refinement works on chunks of
``vertex_refine.REFINE_CHUNK`` cells depth first and finalises each chunk of last-layer cells
as soon as it is complete, so its working memory is bounded by the chunk size; the ``lp`` and
``polygon`` paths hold every cell of the current layer (a few kB each).
"""

from __future__ import annotations

import contextlib
import sys
import time

import numpy as np

from . import tolerances as tol
from .decomposition import Decomposition
from .domains import Box
from .errors import InconsistencyWarning, InconsistentDecompositionError, ResolutionWarning
from .kernels import use_compiled
from .nets import ReluNet
from .normal_form import domain_scale, normal_form
from .patterns import GrowingArray, PatternTable, pack_bits, unpack_bits
from .lp import LPSolver, is_bounded, row_norms
from .polyhedra import check_domain, facet_rows, full_system

__all__ = ["decompose", "METHODS"]

METHODS = ("auto", "polygon", "vertex", "lp", "brute")


# ============================================================================ entry point
def decompose(net: ReluNet, domain: Box | None = None, method: str = "auto",
              progress: bool = False, on_inconsistency: str = "raise",
              compiled: bool | None = None, n_jobs: int = 1) -> Decomposition:
    """All full-dimensional activation regions of ``net`` in ``domain``.

    Parameters
    ----------
    net : ReluNet, or a piecewise-linear torch model (on a slice)
        The network ``R^d -> R^n`` (hidden layers ReLU, last layer affine). A torch model
        (convolutions, pooling, residual blocks, ...; :mod:`relutopo.pl_graph`) needs a slice.
    domain : Box, Slice or None
        A box, ``None`` for all of ``R^d``, or a :class:`relutopo.slices.Slice` (``Segment``,
        ``Plane.through(...)``): then the result is a
        :class:`relutopo.slice_decomposition.SliceDecomposition` in slice coordinates.
    method : {"auto", "polygon", "vertex", "lp", "brute"}
        ``"auto"`` = ``"polygon"`` for ``d = 2`` in a box, else ``"vertex"``. See the module
        docstring; every method returns the same regions.
    progress : bool
        Show a tqdm bar over the cells of each layer.
    on_inconsistency : {"raise", "warn"}
        What to do when the result fails one of its own consistency checks (module docstring,
        "What raises"): ``"raise"`` an :class:`~relutopo.errors.InconsistentDecompositionError`
        (default), or ``"warn"``: return it anyway with an
        :class:`~relutopo.errors.InconsistencyWarning` that gives the counts.
    compiled : bool or None
        Run the ``polygon`` and ``vertex`` paths with the compiled kernels of
        :mod:`relutopo.kernels` (numba) or with numpy; both give the same decomposition.
        ``None`` (default): compiled unless the environment variable ``RELUTOPO_NUMBA`` is ``0``
        or numba is not installed.
    n_jobs : int
        Worker processes for a torch model on a segment (the segment's chunks are refined in
        parallel, with the same result for any ``n_jobs``; ``-1``: every CPU). The other paths
        run in this process and do not use it.

    Returns
    -------
    Decomposition
        Regions (patterns, interior points, facets, boundedness) and the dual graph.

    Raises
    ------
    relutopo.errors.ScaleRangeError
        The box side, or the weights once rescaled to the working frame, overflow float64.
    relutopo.errors.InconsistentDecompositionError
        The engine's own checks found the result inconsistent (``on_inconsistency="raise"``).

    Examples
    --------
    >>> import numpy as np
    >>> from relutopo.nets import ReluNet
    >>> net = ReluNet.from_weights([np.array([[1.0, 0.0], [0.0, 1.0]]), np.ones((1, 2))],
    ...                            [np.zeros(2), np.zeros(1)])
    >>> decompose(net, Box(-1, 1, dim=2)).n_regions
    4
    """
    from .slices import Slice

    if isinstance(domain, Slice) or not isinstance(net, ReluNet):
        # a slice of the input space, or a piecewise-linear torch model (on a slice)
        from .slice_decomposition import decompose_slice

        return decompose_slice(net, domain, method=method, progress=progress,
                               on_inconsistency=on_inconsistency, n_jobs=n_jobs)
    domain = check_domain(net, domain)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got method={method!r}")
    if method == "auto":
        method = "polygon" if (domain is not None and net.input_dim == 2) else "vertex"
    if method == "polygon" and (domain is None or net.input_dim != 2):
        raise ValueError(f"method='polygon' clips polygons and needs d = 2 with a Box domain; got "
                         f"d = {net.input_dim}, domain={domain}. Use method='vertex' instead.")
    if on_inconsistency not in ("raise", "warn"):
        raise ValueError(f"on_inconsistency must be 'raise' or 'warn'; got {on_inconsistency!r}")
    # products of a chunk of cells and a layer: a second BLAS thread mostly spins (CPU, no
    # speed); limiting it costs ~0.1 ms a call, so small networks (whose products OpenBLAS does
    # not split anyway) are left alone
    with _blas_one_thread() if net.n_hidden >= _BLAS_ONE_THREAD_FROM else contextlib.nullcontext():
        return _decompose(net, domain, method, progress, on_inconsistency, compiled)


def _decompose(net, domain, method, progress, on_inconsistency, compiled):
    """:func:`decompose` once its arguments are checked."""
    use_kernels = use_compiled(compiled)
    t_start = time.perf_counter()
    solver = LPSolver()
    user_scale = domain_scale(net, domain)
    nf = normal_form(net, domain, user_scale, use_kernels)
    user = _UserFrame(net, domain, user_scale, nf, method, on_inconsistency)
    net, domain = user.nf.net, user.nf.domain  # from here on: the working frame
    scale = domain_scale(net, domain)
    _warn_if_below_resolution(net, domain, scale, user)

    if domain is None and net.n_hidden > 0 and method in ("vertex", "lp"):
        W1 = net.weights[0]
        U, S, Vt = np.linalg.svd(W1, full_matrices=True)
        rank = int(np.sum(S > tol.ZERO_ROW_RTOL * float(S.max(initial=0.0))))
        if rank < net.input_dim:
            return _decompose_reduced(net, Vt[:rank].T, method, progress, solver, t_start, scale, user,
                                      use_kernels)

    crosser = None
    if net.n_hidden == 0:
        cells = [_whole_domain_cell(net, domain, scale)]
        raw = _finalize_lp(net, domain, cells, scale, solver)
    elif method == "brute":
        raw = _brute_force(net, domain, scale, solver, progress)
    elif method == "lp":
        cells = _refine(net, domain, _LPKernel(net, domain, scale, solver), progress)
        raw = _finalize_lp(net, domain, cells, scale, solver)
    elif method == "polygon" and use_kernels:
        from .kernels.polygon import refine_polygons

        ptr, P, E, ids, bits, maps = refine_polygons(net, domain, scale)
        raw = _finalize_polygon_arrays(ptr, P, E, ids, bits, scale, solver, True)
        kept = raw.kept[0]
        crosser = _map_crosser(net, domain, scale, maps if kept.all() else maps.take(kept),
                               bits if kept.all() else bits[kept])
    elif method == "polygon":
        cells = _refine(net, domain, _PolygonKernel(net, domain, scale), progress)
        raw = _finalize_polygon(net, domain, cells, scale, solver)
    else:
        raw = _vertex_path(net, domain, scale, solver, progress, use_kernels)
        crosser = raw.crosser
    return _assemble(net, domain, raw, scale, solver, t_start, user, compiled=use_kernels,
                     crosser=crosser)


_BLAS = None

#: hidden neurons from which :func:`decompose` runs BLAS on one thread (see ``_blas_one_thread``)
_BLAS_ONE_THREAD_FROM = 72


def _blas_one_thread():
    """A context in which BLAS (numpy's OpenBLAS) runs on one thread (threadpoolctl).

    The engine's matrix products are small (a chunk of cells times one layer's weights); with
    the default thread count OpenBLAS wakes a second thread for them that mostly waits, spinning:
    on 4-24-24-24-1 in a box 3.3 CPU-s for 1.84 s wall, against 1.9 CPU-s for 1.9 s on one
    thread. The partition of a product among threads does not change its entries (each is one
    dot product, computed the same way), so the results are the same. A no-op without
    threadpoolctl (a dependency of scikit-learn)."""
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController()
        except ImportError:  # pragma: no cover - scikit-learn brings it
            _BLAS = False
    if _BLAS is False:
        return contextlib.nullcontext()
    return _BLAS.limit(limits=1, user_api="blas")


def _warn_if_below_resolution(net, domain, scale, user) -> None:
    """Warn (:class:`~relutopo.errors.ResolutionWarning`) when every first-layer hyperplane that
    meets the box passes within ``RESOLUTION_WARN_FACTOR`` resolutions of the box centre: the
    arrangement's features are then about as small as the resolution ``CHEBYSHEV_RTOL * scale``
    and regions may be dropped as thin (``net``, ``domain``: the working frame, centred)."""
    if domain is None or net.n_hidden == 0:
        return
    W, b = net.weights[0], net.biases[0]
    # in the working frame every row (w, b) has its largest entry in [1, 2): the plain norms are
    # exact to rounding unless w is below ~1e-150 next to b (then the scaled norms)
    norms = np.sqrt(np.einsum("ij,ij->i", W, W))
    ab = np.abs(b)
    meets = ab <= np.abs(W) @ (0.5 * (domain.hi - domain.lo))
    if not norms.min() > 1e-140:
        norms = row_norms(W)
        meets &= norms > 0
    if meets.all():  # the usual case: no selection
        spread = float((ab / norms).max())
    elif meets.any():
        spread = float((ab[meets] / norms[meets]).max())
    else:
        return
    resolution = tol.CHEBYSHEV_RTOL * scale
    if 0 < spread < tol.RESOLUTION_WARN_FACTOR * resolution:
        import warnings

        length = user.nf.length
        warnings.warn(
            f"decompose: the first-layer hyperplanes of {user.net!r} that meet {user.domain} all pass "
            f"within {spread * length:.3g} of its centre, only {spread / resolution:.3g} times the "
            f"resolution CHEBYSHEV_RTOL * scale = {resolution * length:.3g}; regions thinner than "
            "the resolution are not reported. Decompose in a smaller box around the network's "
            "features, or in all of R^d (domain=None).", ResolutionWarning, stacklevel=3)


class _UserFrame:
    """What :func:`decompose` returns results in: the caller's network, domain and scale, the
    working frame (:func:`relutopo.normal_form.normal_form`) and the inconsistency policy."""

    __slots__ = ("net", "domain", "scale", "nf", "method", "policy")

    def __init__(self, net, domain, scale, nf, method, policy):
        self.net, self.domain, self.scale, self.nf = net, domain, scale, nf
        self.method, self.policy = method, policy


def _whole_domain_cell(net, domain, scale):
    d = net.input_dim
    cell = _Cell()
    if domain is None:
        cell.A, cell.c, cell.ids = np.zeros((0, d)), np.zeros(0), np.zeros(0, dtype=np.int64)
    else:
        cell.A, cell.c = domain.halfspaces()
        cell.ids = -1 - np.arange(2 * d, dtype=np.int64)
    cell.bits = np.zeros(0, dtype=bool)
    return cell


# ============================================================================ refinement
class _Cell:
    """A cell during refinement (internal, mutable): rows ``A x <= c`` with neuron ids, the bits
    fixed so far, the affine map ``F_l(x) = G x + g`` of the current layer's outputs, and
    kernel-specific geometry (the polygon for the polygon kernel, a centre for the LP kernel;
    the vertex path holds its cells in :class:`relutopo.vertex_refine.CellBatch` instead)."""

    __slots__ = ("A", "c", "ids", "bits", "G", "g", "V", "x0", "r")


def _refine(net, domain, kernel, progress):
    """Layer-by-layer refinement shared by the vertex and LP kernels.

    For hidden layer ``l`` every cell of layer ``l - 1`` is cut by the hyperplanes
    ``M x + mu = 0`` with ``M = W_l G``, ``mu = W_l g + b_l`` (its pre-activations, Liu et al. eq. 8);
    the kernel returns the cells of that arrangement inside the parent together with the bits
    of layer ``l``.
    """
    from tqdm.auto import tqdm

    d = net.input_dim
    root = kernel.initial()
    root.bits = np.zeros(0, dtype=bool)
    root.G, root.g = np.eye(d), np.zeros(d)
    cells = [root]
    offsets = net.layer_offsets
    for l, (W, b) in enumerate(zip(net.weights[:-1], net.biases[:-1])):
        out = []
        wnorm = np.sqrt(np.einsum("ij,ij->i", W, W))
        last = l == len(net.hidden_sizes) - 1
        it = tqdm(cells, desc=f"layer {l + 1}/{len(net.hidden_sizes)}", leave=False,
                  unit="cell") if progress else cells
        for cell in it:
            M = W @ cell.G
            mu = W @ cell.g + b
            for sub, bits in kernel.arrange(cell, M, mu, int(offsets[l]), wnorm):
                sub.bits = np.concatenate([cell.bits, bits])
                if last:  # the output map is rebuilt from the pattern when asked for
                    sub.G = sub.g = None
                else:
                    sub.G = M * bits[:, None]
                    sub.g = mu * bits
                out.append(sub)
        cells = out
    return cells


def _row_scale(W_row_norms, G):
    """Magnitude against which a restricted row ``W_l[k] G`` counts as zero."""
    return W_row_norms * max(float(np.abs(G).max(initial=0.0)), tol.TINY)


def _zero_rows(M, G, wnorm):
    """Row norms of ``M = W_l G`` and which rows are zero (a neuron constant on the cell), relative
    to ``||W_l[k]|| max |G|`` (``wnorm`` = the row norms of ``W_l``)."""
    norms = np.sqrt(np.einsum("ij,ij->i", M, M))
    return norms, norms <= tol.ZERO_ROW_RTOL * _row_scale(wnorm, G)


class _PolygonKernel:
    """Exact convex-polygon clipping for ``d = 2`` in a box (Sutherland-Hodgman, both halves).

    A cell is its counter-clockwise vertex list ``P`` and, for each edge ``P[i] -> P[i+1]``, the
    edge's halfspace ``(a0, a1, c, id)`` with ``a . x <= c``. Every edge is a facet, so nothing is
    redundant and nothing needs an LP. Plain Python floats: polygons have a handful of vertices,
    where per-call numpy overhead would dominate.
    """

    def __init__(self, net, domain, scale):
        self.net, self.domain, self.scale = net, domain, scale

    def initial(self):
        (x0, y0), (x1, y1) = self.domain.lo, self.domain.hi
        cell = _Cell()
        # counter-clockwise; box rows: 0: -x <= -x0, 1: x <= x1, 2: -y <= -y0, 3: y <= y1
        cell.V = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        cell.A = [(0.0, -1.0, -y0, -3), (1.0, 0.0, x1, -2), (0.0, 1.0, y1, -4), (-1.0, 0.0, -x0, -1)]
        return cell

    def arrange(self, cell, M, mu, offset, wnorm):
        h = M.shape[0]
        norms, zero_row = _zero_rows(M, cell.G, wnorm)
        bits = np.zeros(h, dtype=bool)
        bits[zero_row] = mu[zero_row] > 0
        live = np.flatnonzero(~zero_row)
        if live.size == 0:
            return [(cell, bits)]
        V = np.array(cell.V)
        H = V @ M[live].T + mu[live][None, :]
        tv = (tol.VERTEX_RTOL * self.scale) * norms[live][None, :]
        pos = (H > tv).any(axis=0)
        neg = (H < -tv).any(axis=0)
        bits[live[~neg]] = pos[~neg]
        bits[live[~pos]] = False
        cand = live[pos & neg]
        current = [(cell, bits)]
        rt = tol.VERTEX_RTOL * self.scale
        for k in cand.tolist():
            m0, m1 = float(M[k, 0]), float(M[k, 1])
            mk = float(mu[k])
            tk = rt * float(norms[k])
            kid = int(offset + k)
            nxt = []
            for sub, b in current:
                vals = [m0 * x + m1 * y + mk for x, y in sub.V]
                sg = [1 if v > tk else (-1 if v < -tk else 0) for v in vals]
                if 1 in sg and -1 in sg:
                    lo, hi = self._split(sub, vals, sg, m0, m1, mk, kid)
                    b0 = b.copy()
                    b0[k] = False
                    b[k] = True
                    nxt.append((lo, b0))
                    nxt.append((hi, b))
                else:
                    b[k] = 1 in sg
                    nxt.append((sub, b))
            current = nxt
        return current

    @staticmethod
    def _split(cell, vals, sg, m0, m1, mk, kid):
        P, E = cell.V, cell.A
        n = len(P)
        negP, negE, posP, posE = [], [], [], []
        cut_neg = (m0, m1, -mk, kid)     # m . x + mu <= 0
        cut_pos = (-m0, -m1, mk, kid)    # m . x + mu >= 0
        for i in range(n):
            j = i + 1 if i + 1 < n else 0
            si, sj = sg[i], sg[j]
            v = P[i]
            # the part of edge i leaving v lies on v's side; from a vertex on the line it lies
            # on the side of the next vertex (both on the line cannot happen when cutting)
            if si <= 0:
                negP.append(v)
                negE.append(E[i] if (si < 0 or sj < 0) else cut_neg)
            if si >= 0:
                posP.append(v)
                posE.append(E[i] if (si > 0 or sj > 0) else cut_pos)
            if si * sj < 0:
                t = vals[i] / (vals[i] - vals[j])
                w = P[j]
                p = (v[0] + t * (w[0] - v[0]), v[1] + t * (w[1] - v[1]))
                negP.append(p)
                posP.append(p)
                if sj < 0:   # entering the negative side: the rest of edge i is negative
                    negE.append(E[i])
                    posE.append(cut_pos)
                else:
                    negE.append(cut_neg)
                    posE.append(E[i])
        lo, hi = _Cell(), _Cell()
        lo.V, lo.A = negP, negE
        hi.V, hi.A = posP, posE
        return lo, hi


class _LPKernel:
    """Cutting decided by Chebyshev-centre LPs on halfspace representations (the general path).

    A cell keeps its rows and a Chebyshev centre ``x0`` with radius ``r`` (capped at the domain
    scale). A hyperplane at signed distance ``delta`` from ``x0`` cuts the cell iff the part on
    the far side of ``x0`` (or both parts, when ``|delta| < r``) has Chebyshev radius above
    ``CHEBYSHEV_RTOL * scale``.
    """

    def __init__(self, net, domain, scale, solver):
        self.net, self.domain, self.scale, self.solver = net, domain, scale, solver
        self.rtol = tol.CHEBYSHEV_RTOL * scale

    def initial(self):
        cell = _whole_domain_cell(self.net, self.domain, self.scale)
        if self.domain is None:
            cell.x0, cell.r = np.zeros(self.net.input_dim), self.scale
        else:
            cell.x0, cell.r = self.domain.center, min(self.scale, 0.5 * float(self.domain.widths.min()))
        return cell

    def _child(self, cell, m, mu, side, k_id):
        """``cell`` intersected with ``m . x + mu <= 0`` (side 0) or ``>= 0`` (side 1), with its
        Chebyshev centre."""
        sgn = 1.0 if side == 0 else -1.0
        sub = _Cell()
        sub.A = np.vstack([cell.A, sgn * m[None, :]])
        sub.c = np.append(cell.c, -sgn * mu)
        sub.ids = np.append(cell.ids, k_id)
        X, R = _highs_centres(self.solver, [(sub.A, sub.c)], self.scale, self.rtol, cell.x0[None, :],
                              self.domain)
        sub.x0, sub.r = X[0], float(R[0])
        return sub

    def arrange(self, cell, M, mu, offset, wnorm):
        h = M.shape[0]
        norms, zero_row = _zero_rows(M, cell.G, wnorm)
        base = np.zeros(h, dtype=bool)
        base[zero_row] = mu[zero_row] > 0
        current = [(cell, base)]
        for k in np.flatnonzero(~zero_row):
            m, mk, kid = M[k], mu[k], int(offset + k)
            nxt = []
            for sub, bits in current:
                delta = (m @ sub.x0 + mk) / norms[k]
                if abs(delta) < sub.r:  # the hyperplane meets the inscribed ball: both sides exist
                    lo, hi = self._child(sub, m, mk, 0, kid), self._child(sub, m, mk, 1, kid)
                else:  # x0's side exists; test the far side
                    x0_side = int(delta > 0)
                    far = self._child(sub, m, mk, 1 - x0_side, kid)
                    if not far.r > self.rtol:
                        bits[k] = bool(x0_side)
                        nxt.append((sub, bits))
                        continue
                    near = self._child(sub, m, mk, x0_side, kid)
                    lo, hi = (near, far) if x0_side == 0 else (far, near)
                if lo.r > self.rtol and hi.r > self.rtol:
                    b0 = bits.copy()
                    b0[k] = False
                    bits[k] = True
                    nxt.append((lo, b0))
                    nxt.append((hi, bits))
                else:  # one side is thinner than the tolerance: no cut
                    bits[k] = bool(hi.r > lo.r)
                    nxt.append((sub, bits))
            current = nxt
        return current


# ============================================================================ brute force
def _brute_force(net, domain, scale, solver, progress):
    """Liu et al., Alg. 1: every bit vector ``s in {0,1}^n`` whose polyhedron (eq. 9, with the box
    faces) is full-dimensional. Feasibility by Chebyshev LPs, batched 256 per HiGHS call."""
    from tqdm.auto import tqdm

    n = net.n_hidden
    if n > tol.BRUTE_FORCE_MAX_BITS:
        raise ValueError(
            f"method='brute' tests all 2^{n} bit vectors of {net!r} (Liu et al., Alg. 1) and is "
            f"limited to n_hidden <= {tol.BRUTE_FORCE_MAX_BITS} (tolerances.BRUTE_FORCE_MAX_BITS); "
            "use method='vertex' or method='lp'")
    rtol = tol.CHEBYSHEV_RTOL * scale
    row_scale = max(float(np.abs(W).max()) for W in net.weights[:-1]) ** len(net.hidden_sizes)
    if domain is not None:
        Ab, cb = domain.halfspaces()
    cells = []
    chunk = 256
    total = 2 ** n
    codes = np.arange(total, dtype=np.int64)
    for s0 in tqdm(range(0, total, chunk), disable=not progress, desc="bit vectors", leave=False):
        block = codes[s0:s0 + chunk]
        pats = ((block[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)
        systems = []
        for p in pats:
            A, c = net.halfspaces(p)
            if domain is not None:
                A, c = np.vstack([A, Ab]), np.concatenate([c, cb])
            systems.append((A, c))
        X, R = _highs_centres(solver, systems, scale, rtol, None, domain)
        for p, (A, c), x, r in zip(pats, systems, X, R):
            # a neuron whose pre-activation is constant on the cell (a zero row) has bit 1 iff
            # that constant is > 0; eq. (9) alone would accept bit 1 for a constant 0
            zero = np.sqrt(np.einsum("ij,ij->i", A[:n], A[:n])) <= tol.ZERO_ROW_RTOL * row_scale
            if np.any(zero & p & (c[:n] <= 0)):
                continue
            if r > rtol:
                cell = _Cell()
                cell.A, cell.c = A, c
                ids = np.arange(n, dtype=np.int64)
                cell.ids = ids if domain is None else np.concatenate([ids, -1 - np.arange(len(cb))])
                cell.bits = p
                cell.x0, cell.r = x, r
                cells.append(cell)
    return _finalize_lp(net, domain, cells, scale, solver, centres_known=True)


def _thin_by_duals(A, c, ptr, X, lam_rows, lam_cap, cap, rtol, reach):
    """Whether multipliers prove that polyhedron ``i`` (rows ``ptr[i]:ptr[i+1]`` of ``A x <= c``)
    has no ball of radius above ``rtol`` centred within ``reach[i]`` of ``X[i]``.

    With unit rows ``(a_j, c_j) / ||a_j||``, slacks ``s_j = c_j - a_j . X`` and multipliers ``y >= 0``
    (negative ones clipped), every ``(x, r)`` with ``B(x, r)`` inside and ``r <= cap`` obeys
    ``r (sum y_j + y_cap) <= sum y_j s_j + y_cap cap + |sum y_j a_j| |x - X|`` (add the rows);
    rounding errors of the slacks and of the residual are added at their worst. Unlike
    :func:`relutopo.chebyshev.certify`, which bounds the optimum to within its tolerance, this
    only needs the bound below ``rtol``, so it holds however far ``X`` lies from the origin."""
    from .chebyshev import _segment

    n = len(ptr) - 1
    norms = row_norms(A)
    live = norms > 0
    safe = np.where(live, norms, 1.0)
    owner = np.arange(n).repeat(ptr[1:] - ptr[:-1])
    An = A / safe[:, None]
    y = np.where(live, np.maximum(lam_rows, 0.0), 0.0)
    ycap = np.maximum(lam_cap, 0.0)
    eps = np.finfo(np.float64).eps
    s = c / safe - np.einsum("ij,ij->i", An, X[owner])
    err = tol.ROUNDING_ERROR_ULPS * eps * (np.abs(c / safe) + np.einsum("ij,ij->i", np.abs(An), np.abs(X[owner])))
    terms = np.hstack([y[:, None] * An, (y * s + y * err)[:, None], y[:, None]])
    sums = _segment(np.add, terms, ptr, 0.0)
    d = A.shape[1]
    res = np.sqrt(np.einsum("ij,ij->i", sums[:, :d], sums[:, :d]))
    res += tol.ROUNDING_ERROR_ULPS * eps * (A.shape[1] + np.diff(ptr)) * sums[:, d + 1]  # rounding of the residual
    weight = sums[:, d + 1] + ycap
    bound = sums[:, d] + ycap * cap + res * reach
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weight > 0) & (bound <= rtol * weight)


def _thin_exactly(A, c, X, lam_rows, lam_cap, cap, rtol, reach) -> bool:
    """Whether multipliers prove, in exact rational arithmetic, that the polyhedron ``A x <= c``
    has no ball of radius above ``rtol`` centred within ``reach`` of ``X``.

    The bound of :func:`_thin_by_duals` without its rounding: with ``w_j = y_j / ||a_j||`` (any
    ``w >= 0`` will do; ``y`` the multipliers of the unit rows, negative ones clipped), every ball
    ``B(x, r)`` inside with ``r <= cap`` obeys ``r (sum w_j ||a_j|| + y_cap) <= sum w_j c_j - G . X
    + ||G|| |x - X| + y_cap cap``, ``G = sum w_j a_j``, evaluated on the floats as rationals, with
    ``||a_j||`` bounded below and ``||G||`` above by floats whose squares are compared exactly.
    Far from the origin (``|X|`` 10^6 times the scale) the float bound's rounding, ``eps |X|``
    per slack, can exceed the resolution although the rows cancel exactly (the two opposite rows
    of a duplicated neuron whose bits disagree: an empty slab of width zero)."""
    from fractions import Fraction as Q

    def sqrt_bound(sq, up):
        b = float(np.sqrt(float(sq)))
        while (Q(b) ** 2 < sq) if up else (Q(b) ** 2 > sq):
            b = float(np.nextafter(b, np.inf if up else 0.0))
        return Q(b)

    norms = row_norms(A)
    y = np.maximum(np.where(norms > 0, lam_rows, 0.0), 0.0)
    if not np.all(np.isfinite(y)) or not np.isfinite(lam_cap) or not np.all(np.isfinite(X)):
        return False
    d = A.shape[1]
    G, rhs, weight = [Q(0)] * d, Q(0), Q(max(float(lam_cap), 0.0))
    for j in np.flatnonzero(y > 0):
        w = Q(float(y[j] / norms[j]))
        a = [Q(float(v)) for v in A[j]]
        G = [g + w * v for g, v in zip(G, a)]
        rhs += w * Q(float(c[j]))
        weight += w * sqrt_bound(sum(v * v for v in a), up=False)
    rhs += -sum(g * Q(float(x)) for g, x in zip(G, X)) + sqrt_bound(sum(g * g for g in G), up=True) * Q(reach)
    rhs += Q(max(float(lam_cap), 0.0)) * Q(float(cap))
    return weight > 0 and rhs <= Q(float(rtol)) * weight


def _highs_centres(solver, systems, cap, rtol, origins=None, domain=None):
    """Chebyshev centres of ``systems`` by HiGHS (one block-diagonal LP,
    :meth:`~relutopo.polyhedra.LPSolver.chebyshev_batch`, around ``origins``), every decision
    that a cell is thinner than ``rtol`` backed by a certificate.

    A radius above ``rtol`` is a ball verified to lie inside (``chebyshev_batch`` checks every
    slack), so a kept cell is sound. A radius at or below ``rtol`` (the cell is dropped) must be
    certified: by HiGHS' own multipliers (:func:`relutopo.chebyshev.certify`), else by the
    certified simplex of :mod:`relutopo.chebyshev` started at HiGHS' point; a cell that turns out
    thicker is kept (``solver.corrected_cells``), one that the simplex cannot certify either is
    tried last with HiGHS' multipliers in exact arithmetic (:func:`_thin_exactly`), and one that
    no certificate settles is counted in ``solver.uncertain_cells`` (``decompose`` then raises).
    Returns ``(X, R)``."""
    from .chebyshev import ENUMERATE_MAX, _centres, certify

    X, R, (lam_rows, lam_cap) = solver.chebyshev_batch(systems, cap, origins=origins, return_duals=True)
    dropped = np.isfinite(R) & ~(R > rtol)  # R = -inf: a violated row of zeros, certainly empty
    if not dropped.any():
        return X, R
    d = X.shape[1]
    sizes = np.array([len(c) for _, c in systems], dtype=np.int64)
    ptr = np.zeros(len(systems) + 1, dtype=np.int64)
    sizes.cumsum(out=ptr[1:])
    A = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1, d) for a, _ in systems])
    c = np.concatenate([np.asarray(cc, dtype=np.float64).reshape(-1) for _, cc in systems])
    todo = dropped.nonzero()[0]
    sel = np.zeros(len(c), dtype=bool)
    sel[np.concatenate([np.arange(ptr[i], ptr[i + 1]) for i in todo])] = True
    sub_ptr = np.zeros(len(todo) + 1, dtype=np.int64)
    sizes[todo].cumsum(out=sub_ptr[1:])
    if domain is None:
        reach = np.full(len(todo), tol.CERTIFICATE_REACH * cap)
    else:  # a ball of radius > rtol lies in the box: within the farthest corner's distance
        reach = np.sqrt((np.maximum(np.abs(domain.lo - X[todo]), np.abs(domain.hi - X[todo])) ** 2).sum(axis=1))
    ok = _thin_by_duals(A[sel], c[sel], sub_ptr, X[todo], lam_rows[sel], lam_cap[todo], cap, rtol, reach)
    ok[~ok] = certify(A[sel], c[sel], sub_ptr, X[todo], R[todo], lam_rows[sel], lam_cap[todo], cap)[~ok]
    todo = todo[~ok]
    if todo.size == 0:
        return X, R
    rows = np.concatenate([np.arange(ptr[i], ptr[i + 1]) for i in todo])
    sub_ptr = np.zeros(len(todo) + 1, dtype=np.int64)
    sizes[todo].cumsum(out=sub_ptr[1:])
    X2, R2, info = _centres(A[rows], c[rows], sub_ptr, float(cap), X[todo], True, solver, None, None,
                            ENUMERATE_MAX, True)
    unsure = (info["fallback_mask"] | np.isin(np.arange(len(todo)), info["uncertified"])) & ~(R2 > rtol)
    for u in unsure.nonzero()[0]:  # last resort: HiGHS' multipliers in exact arithmetic
        i = todo[u]
        rng = slice(ptr[i], ptr[i + 1])
        reach = (tol.CERTIFICATE_REACH * cap if domain is None else
                 float(np.sqrt((np.maximum(np.abs(domain.lo - X[i]), np.abs(domain.hi - X[i])) ** 2).sum())))
        if _thin_exactly(A[rng], c[rng], X[i], lam_rows[rng], lam_cap[i], cap, rtol, reach):
            unsure[u] = False
    solver.uncertain_cells += int(unsure.sum())
    solver.corrected_cells += int((R2 > rtol).sum())
    X[todo], R[todo] = X2, R2
    return X, R


# ============================================================================ finishing
class _Raw:
    """Regions before assembly, appended block by block to growing arrays (internal; compact
    for many regions: :class:`~relutopo.patterns.GrowingArray`, grown in place and trimmed, so
    that the regions are never held twice, as blocks and joined)."""

    _FIELDS = ("bits", "x0", "r", "bounded", "counts", "fids", "fpts", "fnrm")

    def __init__(self):
        self.fields = None
        self.single = None  # the first block's arrays, until a second one comes
        self.no_normals = False  # some block came without normals: fnrm is None
        self.dropped = 0
        self.unbounded = False  # every region is unbounded (rank-reduced R^d)
        self.kept = []  # per block added by _collect: which of its cells became regions
        self.crosser = None  # the compiled facet crossing, when the refinement recorded maps

    def add(self, bits, x0, r, bounded, fids, fpts, fnrm) -> None:
        """One region: its bits, centre, radius, boundedness and facets (ids, points, normals)."""
        d = len(x0)
        self.add_block(np.asarray(bits, dtype=bool)[None], np.asarray(x0, dtype=np.float64)[None],
                       np.array([r], dtype=np.float64), np.array([bool(bounded)]),
                       np.array([len(fids)], dtype=np.int64), np.asarray(fids, dtype=np.int64),
                       np.asarray(fpts, dtype=np.float64).reshape(-1, d),
                       np.asarray(fnrm, dtype=np.float64).reshape(-1, d))

    def add_block(self, bits, x0, r, bounded, counts, fids, fpts, fnrm, owned=False) -> None:
        """Regions ``0..m-1`` of a block; facets of region ``i`` are the ``counts[i]`` next rows
        of ``fids``, ``fpts``, ``fnrm`` (``fnrm`` may be ``None`` when a crosser recomputes the
        normals). Bits are stored packed and facet ids as int32 (compact at 10^6 regions).
        ``owned``: the arrays are the caller's own, handed over (no view of a larger buffer,
        not written to afterwards): a first block keeps them instead of copies."""
        parts = (pack_bits(np.asarray(bits, dtype=bool).reshape(len(r), -1)), np.asarray(x0), np.asarray(r),
                 np.asarray(bounded), np.asarray(counts), np.asarray(fids).astype(np.int32, copy=False),
                 np.asarray(fpts), fnrm)
        if fnrm is None:
            self.no_normals = True
        if self.fields is None and self.single is None:  # the first block: copies (or the arrays
            # handed over), kept as they are (often the only block)
            self.single = [p if (p is None or owned) else np.array(p) for p in parts]
            return
        if self.fields is None:  # a second block: both go to growing arrays
            first, self.single = self.single, None
            self.fields = [None if p is None else GrowingArray(p.shape[1:], p.dtype, max(len(p), 1024))
                           for p in first]
            for grow, p in zip(self.fields, first):
                if p is not None and grow is not None:
                    grow.append(p)
        for grow, p in zip(self.fields, parts):
            if p is not None and grow is not None:
                grow.append(p)

    def all_unbounded(self) -> None:
        self.unbounded = True

    def arrays(self, n_bits, d):
        """``(bits, x0, r, bounded, counts, fids, fpts, fnrm)`` over all blocks, trimmed in place
        (facet points dominate: a decomposition with 10^6 regions in ``d = 4`` carries ~10^7
        facets)."""
        nbytes = (n_bits + 7) // 8
        if self.single is not None:  # one block: its arrays as they are
            out, self.single = list(self.single), None
        elif self.fields is None:
            return (np.zeros((0, nbytes), dtype=np.uint8), np.zeros((0, d)), np.zeros(0),
                    np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64),
                    np.zeros(0, dtype=np.int32), np.zeros((0, d)), np.zeros((0, d)))
        else:
            fields, self.fields = self.fields, None
            out = [None if g is None else g.take() for g in fields]
        if self.no_normals:
            out[7] = None
        out[0] = out[0].reshape(len(out[1]), nbytes)
        if self.unbounded:
            out[3][:] = False
        return tuple(out)


def _finalize_lp(net, domain, cells, scale, solver, centres_known=False):
    """Facets by LP (10), a point inside each facet by a Chebyshev LP within its hyperplane,
    boundedness by Stiemke's LP."""
    raw = _Raw()
    rtol = tol.CHEBYSHEV_RTOL * scale
    d = net.input_dim
    if not centres_known and cells:
        origins = np.array([c.x0 if getattr(c, "x0", None) is not None else np.zeros(d) for c in cells])
        X, R = _highs_centres(solver, [(c.A, c.c) for c in cells], scale, rtol, origins, domain)
        for cell, x, r in zip(cells, X, R):
            cell.x0, cell.r = x, r
    inf = solver._inf
    for cell in cells:
        if not cell.r > rtol:
            raw.dropped += 1
            continue
        A, c, ids = cell.A, cell.c, cell.ids
        x0 = cell.x0
        rows = facet_rows(A, c, scale, solver, origin=x0)
        # HiGHS sees unit rows in coordinates relative to the cell's centre (a local origin)
        norms = row_norms(A)
        nz = norms > 0
        An = A / np.where(nz, norms, 1.0)[:, None]
        cn = np.where(nz, c / np.where(nz, norms, 1.0) - An @ x0, c)
        pts, nrm = [], []
        for j in rows:
            a = An[j]
            others = (np.arange(len(A)) != j) & nz
            Ao, co = An[others], cn[others]
            proj = Ao - (Ao @ a)[:, None] * a[None, :]
            pn = np.sqrt(np.einsum("ij,ij->i", proj, proj))
            M = np.vstack([np.hstack([Ao, pn[:, None]]), np.append(a, 0.0)[None, :]])
            lo = np.append(np.full(len(co), -inf), cn[j])
            hi = np.append(co, cn[j])
            cost = np.zeros(d + 1)
            cost[d] = -1.0
            status, x, _ = solver.solve(cost, np.append(np.full(d, -inf), -inf),
                                        np.append(np.full(d, inf), scale), M, lo, hi)
            pts.append(x[:d] + x0 if status == "optimal" else np.full(d, np.nan))
            nrm.append(a)
        raw.add(cell.bits, cell.x0, cell.r,
                True if domain is not None else is_bounded(A[rows], solver),
                ids[rows], np.array(pts).reshape(-1, d), np.array(nrm).reshape(-1, d))
    return raw


def _vertex_path(net, domain, scale, solver, progress, use_kernels=False):
    """``method="vertex"``: batched refinement (:mod:`relutopo.vertex_refine`), each chunk of
    last-layer cells finalised as soon as it is complete (bounded memory)."""
    from .vertex_refine import refine

    layer = None
    if use_kernels:
        from .kernels.vertex import MapRecorder

        layer = MapRecorder(net)
    raw = _Raw()
    anc = GrowingArray((len(net.hidden_sizes),), np.int64)
    i = 0
    for i, batch in enumerate(refine(net, domain, scale, progress, layer)):
        _finalize_vertex(batch, net.input_dim, scale, solver, raw, use_kernels)
        if use_kernels and batch.n:
            anc.append(batch.anc[raw.kept[-1]])
        if i % _TRIM_EVERY == _TRIM_EVERY - 1:
            _release_free_heap()
    if i >= _TRIM_EVERY:  # a large refinement (a trim costs milliseconds: not for small ones)
        _release_free_heap()
    if use_kernels and len(anc):
        raw.crosser = _map_crosser(net, domain, scale, layer.maps(anc.take()))
    return raw


#: batches of last-layer cells between two ``_release_free_heap`` calls of the vertex path
_TRIM_EVERY = 64

_MALLOC_TRIM = None


def _release_free_heap() -> bool:
    """Hand the C heap's free pages back to the operating system (glibc ``malloc_trim(0)``).

    The refinement allocates and frees many chunk-sized arrays; glibc keeps freed heap memory
    resident unless it is at the top of the heap, so without this the process's resident size
    at 10^6 regions carried 100-200 MB of freed chunks besides the regions. Returns whether it
    ran (``False`` where the C library has no ``malloc_trim``: not glibc).

    Examples
    --------
    >>> _release_free_heap() in (True, False)
    True
    """
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        _MALLOC_TRIM = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _MALLOC_TRIM = ctypes.CDLL("libc.so.6").malloc_trim
                _MALLOC_TRIM.argtypes, _MALLOC_TRIM.restype = [ctypes.c_size_t], ctypes.c_int
            except (OSError, AttributeError):
                _MALLOC_TRIM = False
    if _MALLOC_TRIM is False:
        return False
    _MALLOC_TRIM(0)
    return True


def _finalize_vertex(batch, d, scale, solver, raw, use_kernels=False):
    """Facets and centres of a :class:`~relutopo.vertex_refine.CellBatch` from its generators,
    vectorised over all its cells; the regions are appended to ``raw``.

    Row ``j`` of a cell is a facet iff its face ``F_j`` (the generators incident to it) contains a
    vertex and is inclusion-maximal among the faces of the cell's rows: purely combinatorial,
    exact given the incidences (a numerical rank test on the generators is not: in homogeneous
    coordinates a far vertex ``(x, 1)`` is nearly parallel to a ray, and a rank tolerance
    relative to ``|x|^2`` silently dropped genuine facets in ``d >= 4``). The facet's point is
    the mean of its incident vertices plus ``scale`` times the mean of its incident rays, which
    lies in its relative interior. Chebyshev centres use only the facet rows and come from
    :func:`~relutopo.chebyshev.chebyshev_centres` (:func:`_certified_centres`: basis enumeration
    for small calls in ``d <= 2``, the vectorised simplex otherwise, every answer certified;
    HiGHS for any cell whose certificate fails).
    """
    n = batch.n
    rtol = tol.CHEBYSHEV_RTOL * scale
    if n == 0:
        return
    if use_kernels:
        from .kernels.vertex import facets

        frows, fpts, fptr, bounded, hint, direction = facets(batch, d, float(scale))
    else:
        frows, fpts, fptr, bounded, hint, direction = _facets(batch, d, scale)
    Aall, call, idall = batch.A, batch.c, batch.ids
    X, R = _certified_centres(solver, Aall[frows], call[frows], fptr, scale, hint, direction,
                              use_kernels)
    if use_kernels:  # the compiled crossing recomputes normals from its maps
        nrm_all = None
    else:
        Af = Aall[frows]
        nrm_all = Af / np.sqrt(np.einsum("ij,ij->i", Af, Af))[:, None]
    _collect(raw, batch.bits, X, R, rtol, bounded, fptr, idall[frows], fpts, nrm_all)


def _facets(batch, d, scale):
    """Facet rows (global row indices, per cell in row order), facet points and their CSR
    pointer, boundedness, hints and recession directions (``None`` if all bounded) of a
    batch's cells (see :func:`_finalize_vertex`)."""
    n = batch.n
    gptr, rptr = batch.gptr, batch.rptr
    n_gen, n_row = gptr[1:] - gptr[:-1], rptr[1:] - rptr[:-1]
    Vall, Zall, Aall, call, idall = batch.V, batch.Z, batch.A, batch.c, batch.ids
    # incidences (generator g, row j) as sorted (cell, row) keys
    Zbits = np.unpackbits(Zall.view(np.uint8), axis=1, bitorder="little")[:, 1:].astype(bool)
    g_of, j_of = Zbits.nonzero()
    cell_of = np.arange(n).repeat(n_gen)[g_of]
    valid = j_of < n_row[cell_of]
    g_of, j_of, cell_of = g_of[valid], j_of[valid], cell_of[valid]
    key = rptr[cell_of] + j_of  # global row index; np.nonzero is generator-major: sort by row
    order = key.argsort(kind="stable")
    g_of, key = g_of[order], key[order]
    starts = np.concatenate([[True], key[1:] != key[:-1]]).nonzero()[0]  # key is sorted
    rows_u = key[starts]
    counts = np.concatenate([starts[1:], [len(key)]]) - starts
    G = Vall[g_of]
    isv = G[:, d] > 0
    nv = np.add.reduceat(isv.astype(np.int64), starts)
    # sums in generator order (np.add.at is sequential; reduceat's order is not specified), so
    # that the compiled finaliser (relutopo.kernels.vertex.facets) gives the same bits
    seg = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(key))))
    sv = np.zeros((len(starts), d))
    sr = np.zeros((len(starts), d))
    np.add.at(sv, seg, G[:, :d] * isv[:, None])
    np.add.at(sr, seg, G[:, :d] * ~isv[:, None])
    nr = counts - nv
    pts = sv / np.maximum(nv, 1)[:, None] + scale * sr / np.maximum(nr, 1)[:, None]
    # Combinatorial facet test (exact given the incidences; no rank tolerance). The face of row
    # j is F_j = its incident generators; T_j = the rows incident to every generator of F_j (the
    # AND of their masks), so k in T_j <=> F_j is a subset of F_k. Row j carries a facet iff F_j
    # holds a vertex (else it is a face at infinity), is not the whole cell, and is maximal:
    # every k in T_j has F_k = F_j, i.e. the same number of generators (duplicate hyperplanes).
    cell_u = np.searchsorted(rptr, rows_u, side="right") - 1
    cnt_row = np.zeros(len(call), dtype=np.int64)
    cnt_row[rows_u] = counts
    facet = (nv >= 1) & (counts >= d) & (counts < n_gen[cell_u])
    Zg = Zall[g_of]
    for s0 in range(0, len(rows_u), 20000):
        sl = slice(s0, s0 + 20000)
        a, b = starts[sl][0], (starts[s0 + 20000] if s0 + 20000 < len(starts) else len(g_of))
        T = np.bitwise_and.reduceat(Zg[a:b], starts[sl] - a, axis=0)
        Tb = np.unpackbits(np.ascontiguousarray(T).view(np.uint8), axis=1, bitorder="little")[:, 1:]
        r, k = Tb.nonzero()
        r = r + s0
        cr = cell_u[r]
        ok = k < n_row[cr]
        r, k, cr = r[ok], k[ok], cr[ok]
        larger = cnt_row[rptr[cr] + k] != counts[r]
        facet[r[larger]] = False
    frows, fpts = rows_u[facet], pts[facet]
    fcell = np.searchsorted(rptr, frows, side="right") - 1
    fptr = np.searchsorted(fcell, np.arange(n + 1))
    # hint: the mean vertex plus the scale times the mean ray (inside the cell); a cell's
    # generators are contiguous (gptr), so per-cell sums are one reduceat each
    is_vertex = Vall[:, d] > 0
    gstart = gptr[:-1]
    nvc = np.add.reduceat(is_vertex.astype(np.int64), gstart)
    nrc = n_gen - nvc
    bounded = nrc == 0
    gcell = np.arange(n).repeat(n_gen)
    hint = np.zeros((n, d))
    np.add.at(hint, gcell, Vall[:, :d] * is_vertex[:, None])
    hint /= np.maximum(nvc, 1)[:, None]
    direction = None
    if not bounded.all():  # unbounded cells: the mean ray is in the recession cone
        ray = np.zeros((n, d))
        np.add.at(ray, gcell, Vall[:, :d] * ~is_vertex[:, None])
        direction = ray / np.maximum(nrc, 1)[:, None]
        hint += scale * direction
    return frows, fpts, fptr, bounded, hint, direction


def _certified_centres(solver, A, c, ptr, scale, hint, direction, use_kernels=False):
    """Chebyshev centres of the cells ``ptr[i]:ptr[i + 1]`` of ``A x <= c`` by
    :func:`~relutopo.chebyshev.chebyshev_centres` through its checked-input entry point (the
    engine builds float64, finite arrays with int64 pointers), or by its compiled port
    (:mod:`relutopo.kernels.centres`, ``use_kernels``), with the time spent outside HiGHS and
    the uncertified cells counted on ``solver``. Returns ``(X, R)``."""
    from .chebyshev import ENUMERATE_MAX, _centres

    if use_kernels:
        from .kernels.centres import centres as _centres  # noqa: F811 (same signature)
    t0, lp0 = time.perf_counter(), solver.seconds
    X, R, info = _centres(A, c, ptr, float(scale), hint, True, solver, direction, None, ENUMERATE_MAX,
                          True)
    solver.centre_seconds += time.perf_counter() - t0 - (solver.seconds - lp0)  # HiGHS excluded
    solver.uncertified_centres += len(info["uncertified"])
    return X, R


def _collect(raw, bits, X, R, rtol, bounded, ptr, ids, pts, nrm, owned=False) -> None:
    """Append every full-dimensional cell (radius above ``rtol``) with its facets to ``raw`` as
    one block; ``bits`` is ``(n, n_bits)`` and the facet rows of cell ``i`` are
    ``ptr[i]:ptr[i + 1]`` of ``ids``, ``pts`` and ``nrm`` (``owned``: see ``_Raw.add_block``)."""
    keep = R > rtol
    raw.kept.append(keep)
    counts = ptr[1:] - ptr[:-1]
    if keep.all():  # the usual case: every cell is a region, nothing to select (views are
        raw.add_block(bits, X, R, bounded, counts, ids, pts, nrm, owned)  # (copied into raw's
        return                                                             # arrays unless owned)
    raw.dropped += int((~keep).sum())
    frow = keep.repeat(counts)
    raw.add_block(np.asarray(bits, dtype=bool)[keep], X[keep], R[keep], np.asarray(bounded)[keep],
                  counts[keep], ids[frow], pts[frow], None if nrm is None else nrm[frow], owned=True)


def _finalize_polygon(net, domain, cells, scale, solver):
    """The polygon kernel's cells as arrays, finalised by :func:`_finalize_polygon_arrays`."""
    counts = np.array([len(cell.V) for cell in cells], dtype=np.int64)
    E = np.array([e for cell in cells for e in cell.A], dtype=np.float64).reshape(-1, 4)
    P = np.array([v for cell in cells for v in cell.V], dtype=np.float64).reshape(-1, 2)
    ptr = np.zeros(len(cells) + 1, dtype=np.int64)
    counts.cumsum(out=ptr[1:])
    bits = np.array([cell.bits for cell in cells], dtype=bool).reshape(len(cells), -1)
    return _finalize_polygon_arrays(ptr, P, np.ascontiguousarray(E[:, :3]), E[:, 3].astype(np.int64),
                                    bits, scale, solver, False)


def _finalize_polygon_arrays(ptr, P, E, ids, bits, scale, solver, use_kernels):
    """Every edge of a clipped polygon is a facet; its midpoint is the facet point; centres from
    :func:`~relutopo.chebyshev.chebyshev_centres` (its checked-input entry point, the vertex mean
    as the hint: certified, HiGHS for any it cannot certify), as in the vertex path. Polygon
    ``i`` has vertices ``P[ptr[i]:ptr[i + 1]]`` and edge halfspaces ``E`` (``a0, a1, c``) with
    neurons ``ids``."""
    raw = _Raw()
    rtol = tol.CHEBYSHEV_RTOL * scale
    n = len(ptr) - 1
    counts = ptr[1:] - ptr[:-1]
    hint = None
    if use_kernels and n:  # the same arithmetic, compiled
        from .kernels.polygon import edge_geometry

        mids, nrm, hint, ok, A, c = edge_geometry(ptr, P, E)
        hint = hint if ok else None
    else:
        A, c = np.ascontiguousarray(E[:, :2]), E[:, 2].copy()
        nxt = np.arange(len(P)) + 1
        nxt[ptr[1:] - 1] = ptr[:-1]  # wrap around within each polygon
        mids = 0.5 * (P + P[nxt])
        nrm = E[:, :2] / np.sqrt(np.einsum("ij,ij->i", E[:, :2], E[:, :2]))[:, None]
    if n:  # numpy's reduceat, whose summation order the hint (hence the centre) depends on
        if hint is None:
            hint = np.add.reduceat(P, ptr[:-1], axis=0) / counts[:, None]  # >= 3 vertices each
        X, R = _certified_centres(solver, A, c, ptr, scale, hint, None, use_kernels)
    else:
        X, R = np.zeros((0, 2)), np.zeros(0)
    _collect(raw, bits, X, R, rtol, np.ones(n, dtype=bool), ptr, ids, mids, nrm, owned=True)
    return raw


def _map_crosser(net, domain, scale, maps, bits=None):
    """The compiled crossing of :mod:`relutopo.kernels.crossing` with the refinement's maps, as a
    ``crosser`` for :func:`_assemble` (``bits``: the regions' unpacked bits, if at hand)."""
    return _MapCrosser(maps, scale, domain, net.layer_offsets, bits)


class _MapCrosser:
    """The compiled facet crossing bound to the refinement's maps (see :func:`_assemble`)."""

    def __init__(self, maps, scale, domain, offsets, bits=None):
        self.maps, self.scale, self.domain, self.offsets = maps, scale, domain, offsets
        self.bits = bits  # the regions' unpacked bit vectors (the polygon path), or None
        self.prep = None  # (packed, the sign tests' arguments for it): made once for both calls

    def _prepared(self, packed):
        from .kernels.crossing import prepared

        if self.prep is None or self.prep[0] is not packed:
            self.prep = packed, prepared(self.maps, packed, self.offsets, self.bits)
        return self.prep[1]

    def __call__(self, packed, radii, ptr, owner, fids, fpts):
        from .kernels.crossing import cross_by_maps

        return cross_by_maps(self.maps, packed, radii, ptr, owner, fids, fpts, self.scale, self.domain,
                             self.offsets, self.bits, self._prepared(packed))

    def normals(self, packed, owner, fids, found):
        """Outward unit normals of the network facets with ``found < 0`` (others: zero rows of a
        sparse result: only those facets are evaluated)."""
        from .kernels.crossing import facet_normals

        return facet_normals(self.maps, packed, owner, fids, found, self.offsets)

    def count_outside(self, packed, X):
        """Interior points that their region's maps place outside it (see :func:`_assemble`)."""
        from .kernels.crossing import count_outside

        return count_outside(self.maps, packed, X, self.offsets, self.bits, self._prepared(packed))

    def release(self):
        """Drop the maps (the assembly is done with them; they are the largest array then)."""
        self.maps = self.bits = self.prep = None


class _FacetRows:
    """Rows ``vals`` of the facets ``which`` (sorted) of a per-facet array, indexed like it by
    facet (one facet or an array of facets among ``which``): the points and normals of the
    few facets the compiled crossing leaves, without the ~10^7 of all facets."""

    __slots__ = ("which", "vals")

    def __init__(self, which, vals):
        self.which, self.vals = which, vals

    def __getitem__(self, f):
        pos = np.searchsorted(self.which, f)
        if not np.all(self.which[np.minimum(pos, len(self.which) - 1)] == f):
            raise IndexError("a facet whose row was not kept")
        return self.vals[pos]

    def __matmul__(self, other):
        return _FacetRows(self.which, self.vals @ other)


def _assemble(net, domain, raw, scale, solver, t_start, user, lift=None, compiled=False,
              crosser=None):
    """Pack patterns, find neighbours by crossing facets, check the result's consistency and
    build the :class:`Decomposition` in the caller's frame (``user``). ``net``, ``domain`` and
    ``scale`` are the working frame's. ``crosser(packed, radii, ptr, owner, fids, fpts)``, if
    given, settles facets first (the neighbour, or ``-1`` for those left to the evaluation of
    :func:`_cross_facets`); the facet normals may then be ``None`` (the crosser recomputes those
    of the facets it left)."""
    d_full = net.input_dim
    n_bits = net.n_hidden
    d_red = d_full if lift is None else lift.shape[1]
    packed, X0, radii, bounded, counts, fids, fpts, fnrm = raw.arrays(n_bits, d_red)
    n = len(packed)
    ptr = np.zeros(n + 1, dtype=np.int64)
    counts.cumsum(out=ptr[1:])
    owner = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64).repeat(counts)
    pre = left = None
    if crosser is not None:  # settles facets first; those it leaves (network facets) follow
        pre = crosser(packed, radii, ptr, owner, fids, fpts)
        left = ((pre < 0) & (fids >= 0)).nonzero()[0]
        if fnrm is None and left.size:  # their normals, from the crosser's maps
            fnrm = crosser.normals(packed, owner, fids, pre)
    # interior points that do not evaluate to their region's bit vector; with maps, by the same
    # sign test as the crossing (equivalent to evaluating the network, at n_hidden * d per point)
    wrong_centres = None if crosser is None or not n else crosser.count_outside(packed, X0)
    if crosser is not None and hasattr(crosser, "release"):
        crosser.release()  # the maps are not needed any more (the crossing's pairs come from pre)
    if pre is not None:  # only the facets the crosser left need their points and normals now
        fpts = _FacetRows(left, fpts[left])
        fnrm = None if fnrm is None else _FacetRows(left, fnrm[left])
    if lift is not None:  # rows live in the reduced coordinates y; x = Q y (crossed above in y)
        X0, fpts = X0 @ lift.T, fpts @ lift.T
        fnrm = None if fnrm is None else fnrm @ lift.T
    crossing = {}
    edges, edge_neuron, edge_flips, unmatched = _cross_facets(
        net, domain, packed, X0, radii, owner, fids, fpts, fnrm, scale, solver, pre, crossing, left)
    if wrong_centres is None:
        wrong_centres = int(np.count_nonzero((net.patterns(X0) != packed).any(axis=1))) if n else 0
    stats = {
        "method": user.method,
        "compiled": bool(compiled),
        "seconds": time.perf_counter() - t_start,
        "lp_seconds": solver.seconds,
        "lp_calls": solver.calls,
        "centre_seconds": solver.centre_seconds,
        "uncertified_centres": solver.uncertified_centres,
        "dropped_thin_cells": int(raw.dropped),
        "unmatched_facets": int(unmatched),
        "facets_onto_thin_cells": int(crossing.get("facets_onto_thin_cells", 0)),
        "wrong_interior_points": wrong_centres,
        "uncertain_cells": int(solver.uncertain_cells),
        "corrected_cells": int(solver.corrected_cells),
    }
    assert X0.shape[1] == d_full
    nf = user.nf
    radii = np.minimum(radii * nf.length, user.scale)  # the cap is the scale in both frames
    dec = Decomposition(
        net=user.net, domain=user.domain, packed_patterns=packed, interior_points=nf.to_user(X0),
        chebyshev_radii=radii, bounded=bounded.astype(bool).reshape(n),
        facet_ptr=ptr, facet_ids=fids.astype(np.int32, copy=False), edges=edges, edge_neuron=edge_neuron,
        edge_flip_ptr=edge_flips[0], edge_flip_ids=edge_flips[1], scale=user.scale, stats=stats)
    _check_consistency(dec, user)
    return dec


def _check_consistency(dec, user) -> None:
    """Raise :class:`~relutopo.errors.InconsistentDecompositionError` (or warn, with
    ``on_inconsistency="warn"``) when the engine's own checks failed: facets whose neighbour is
    not a region, interior points that evaluate to another bit vector, or uncertain
    full-dimensionality decisions."""
    st = dec.stats
    problems = []
    if st["unmatched_facets"]:
        problems.append(f"{st['unmatched_facets']} facet(s) whose neighbour, found by evaluating the "
                        "network just beyond the facet, is not among the regions")
    if st["wrong_interior_points"]:
        problems.append(f"{st['wrong_interior_points']} interior point(s) whose bit vector is not "
                        "their region's")
    if st["uncertain_cells"]:
        problems.append(f"{st['uncertain_cells']} cell(s) that HiGHS calls thinner than the "
                        "resolution without a certificate backing it")
    if not problems:
        return
    where = user.domain if user.domain is not None else f"R^{user.net.input_dim}"
    other = "lp" if user.method == "vertex" else "vertex"  # a method other than the one used
    msg = (f"decompose({user.net!r}, {where}, method={user.method!r}) found {dec.n_regions} regions "
           f"but the result is inconsistent: {'; '.join(problems)}. The count is not trustworthy; "
           f"try another method (e.g. method={other!r}), or pass on_inconsistency='warn' to get the "
           "result anyway.")
    if user.policy == "warn":
        import warnings

        warnings.warn(msg, InconsistencyWarning, stacklevel=3)
        return
    raise InconsistentDecompositionError(msg)


_CROSS_CHUNK = 20000  # facets evaluated at once when crossing (3 points each)


def _cross_facets(net, domain, packed, X0, radii, owner, fids, fpts, fnrm, scale, solver, pre=None,
                  info=None, todo=None):
    """Neighbours across every network facet, by evaluating the network just beyond it.

    For a facet point ``p`` with outward unit normal ``n``, ``p + eps n`` is evaluated; ``p - eps n``
    must give the region's own pattern (else ``eps`` shrinks). The step starts at
    ``CROSSING_STEP_FRACTION`` times the region's Chebyshev radius and shrinks by 1000x up to
    three times when the pattern beyond is not a region, or when a bit flips whose pre-activation
    does not vanish at ``p`` (``CROSSING_ZERO_RTOL``): a genuine neighbour differs only in bits
    whose zero set contains the facet. Returns ``(edges, neuron, (flip_ptr, flip_ids),
    n_unmatched)``; the CSR pair lists all bits that differ across each edge. ``pre``: facets
    already settled (their neighbour; ``-1``: to evaluate), from the compiled crossing, and
    ``todo`` (with ``pre``) the network facets it left, if the caller has them.

    Facets the first steps leave are crossed again from a point away from the other hyperplanes
    (:func:`_facet_centres`). A facet whose clearance there is at or below the resolution cannot
    be crossed at the resolution: its neighbour is named by a step below it and, when it is no
    region, must be a cell thinner than the resolution, certified (:func:`_onto_thin_cells`); a
    wider facet that every step still jumps over such a cell (a slab) is settled the same way by
    the cell immediately beyond it (:func:`_onto_thin_slabs`). ``info["facets_onto_thin_cells"]``
    (when ``info`` is a dict) counts those facets, which are neither edges nor unmatched.
    """
    dtype = np.int32 if len(packed) < 2**31 else np.int64
    if pre is not None:
        if todo is None:
            todo = ((fids >= 0) & (pre < 0)).nonzero()[0]
        found = pre if pre.dtype == dtype else pre.astype(dtype)  # written into: the caller's
    else:                                                        # ``pre`` is spent
        todo = (fids >= 0).nonzero()[0]
        found = np.full(len(fids), -1, dtype=dtype)
    net_facets = todo.astype(np.int32 if len(fids) < 2**31 else np.int64, copy=False)
    table = PatternTable(packed) if len(net_facets) else None
    floor = tol.CHEBYSHEV_RTOL * scale
    left = []
    for c0 in range(0, len(net_facets), _CROSS_CHUNK):  # bounded memory: chunks of facets
        todo = net_facets[c0:c0 + _CROSS_CHUNK]
        eps = tol.CROSSING_STEP_FRACTION * np.minimum(radii[owner[todo]], scale)
        left.append(_step_across(net, domain, table, packed, owner, fids, todo, fpts[todo], fnrm[todo],
                                 eps, floor, found, defer_multi=True))
    rest = np.concatenate(left) if left else np.zeros(0, dtype=np.int64)
    n_thin = 0
    if rest.size:  # facet points near a lower face (a far cone's apex, a thin wedge): move them
        P, gap, along = _facet_centres(net, domain, packed, owner, fids, fpts, fnrm, rest, scale,
                                       solver)
        thick = gap > floor
        eps = tol.CROSSING_STEP_FRACTION * np.minimum(np.minimum(gap, radii[owner[rest]]), scale)
        crossed = _step_across(net, domain, table, packed, owner, fids, rest[thick], P[thick],
                               fnrm[rest[thick]], eps[thick], floor, found, along=along[thick])
        narrow, n_thin = _onto_thin_cells(net, domain, table, packed, owner, fids, rest[~thick],
                                          P[~thick], fnrm[rest[~thick]], gap[~thick], scale, solver,
                                          found, along[~thick])
        if crossed.size:  # a wide facet onto a slab thinner than the resolution: every step
            pos = thick.nonzero()[0]  # crossed: the facets of rest[thick] left, in their order
            pos = pos[np.isin(rest[pos], crossed)]
            crossed, n_slab = _onto_thin_slabs(net, domain, table, packed, owner, crossed, P[pos],
                                               fnrm[crossed], along[pos], scale, solver)
            n_thin += n_slab  # jumps it (flipping bits that do not vanish on the facet)
        rest = np.concatenate([narrow, crossed])
    if info is not None:
        info["facets_onto_thin_cells"] = n_thin
    unmatched = int(rest.size)
    if pre is not None:  # the compiled path: the same pairs in one pass
        from .kernels.crossing import edge_pairs

        a, b, k = edge_pairs(owner, found, fids, len(packed))
    else:
        ok = found >= 0
        u, v, k = owner[ok].astype(np.int64), found[ok].astype(np.int64), fids[ok]
        a, b = np.minimum(u, v), np.maximum(u, v)
        key = a * max(len(packed), 1) + b
        order = key.argsort(kind="stable")  # the first facet of each pair of regions, by pair
        ks = key[order]
        first = order[np.concatenate([[True], ks[1:] != ks[:-1]])] if len(ks) else order
        a, b, k = a[first], b[first], k[first]
    if a.size and pre is not None:  # the compiled path: the same CSR without unpacking
        from .kernels.crossing import edge_flips

        flip_ptr, flip_ids = edge_flips(packed, a, b, net.n_hidden)
    elif a.size:
        diff = unpack_bits(packed[a] ^ packed[b], net.n_hidden)
        rr, cc = diff.nonzero()
        flip_ptr = np.searchsorted(rr, np.arange(len(a) + 1)).astype(np.int64)
        flip_ids = cc.astype(np.int32)
    else:
        flip_ptr, flip_ids = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    edges = np.empty((len(a), 2), dtype=np.int64)
    edges[:, 0], edges[:, 1] = a, b
    return edges, k.astype(np.int64), (flip_ptr, flip_ids), unmatched


def _step_across(net, domain, table, packed, owner, fids, todo, P, N, eps, floor, found,
                 defer_multi=False, along=None):
    """Evaluate the network at ``P +- eps N`` for facets ``todo`` (points ``P``, outward unit
    normals ``N``), shrinking ``eps`` by 1000x up to three times (not below ``floor``); record
    each neighbour in ``found`` and return the facets left unmatched (see :func:`_cross_facets`).
    ``defer_multi``: a crossing that flips more bits than the facet's own is not accepted but
    returned too, for a second try from a point far from every other hyperplane. ``along``
    (``(len(todo), n_hidden)`` bools, from :func:`_facet_centres`): the neurons whose rows contain
    each facet (a duplicate of its neuron, or a deeper one vanishing on it), which flip with it
    whatever their value at ``P``: there it is rounding, of the order of the carrier's, which for
    a short step need not be ``CROSSING_ZERO_RTOL`` times below the values beyond."""
    deferred = []
    for _ in range(4):
        if todo.size == 0:
            break
        e = eps[:, None]
        m = len(todo)
        z_all = np.concatenate(net.preactivations(np.concatenate([P, P + e * N, P - e * N])), axis=1)
        z_at, z_out, z_in = z_all[:m], z_all[m:2 * m], z_all[2 * m:]
        sides = z_all[m:] > 0  # beyond (m rows), then within (m rows)
        pk = pack_bits(sides)
        beyond, within = pk[:m], pk[m:]
        ok_self = (within == packed[owner[todo]]).all(axis=1)
        inside = np.ones(m, dtype=bool) if domain is None else domain.contains(P + e * N)
        hits = table.find(beyond)
        # every bit that flips must vanish at the facet point (its zero set contains the
        # facet); else the step left the facet's relative interior (near a lower face)
        flipped = sides[:m] != sides[m:]
        carrier = fids[todo]
        rows = np.arange(m)
        flipped_k = flipped[rows, carrier]
        vanishes = np.abs(z_at) <= tol.CROSSING_ZERO_RTOL * (np.abs(z_out) + np.abs(z_in))
        vanishes[rows, carrier] = True  # z_k(p) = 0 up to rounding, by construction
        if along is not None:  # and so on every row that contains the facet
            vanishes |= along
        clean = flipped_k & (~flipped | vanishes).all(axis=1)
        good = ok_self & inside & clean & (hits >= 0) & (hits != owner[todo])
        if defer_multi:  # other bits flip too: contained in the facet, or a thin wedge jumped
            multi = good & (flipped.sum(axis=1) > 1)  # over? Decided from a point with a gap
            deferred.append(todo[multi])
            good &= ~multi
            keep = ~good & ~multi
        else:
            keep = ~good
        found[todo[good]] = hits[good]
        todo, P, N = todo[keep], P[keep], N[keep]
        along = None if along is None else along[keep]
        eps = np.maximum(eps[keep] * tol.CROSSING_STEP_SHRINK, floor)
    return np.concatenate([todo] + deferred) if deferred else todo


def _limit_bits(net, P, N, along):
    """Bit vectors at ``P + t N`` for every small enough ``t > 0``: each pre-activation is ``z + t
    z'`` near ``t = 0`` (value and derivative along ``N``, layer by layer through the bits chosen so
    far); its sign is that of ``z``, except for the neurons ``along`` (``(m, n_hidden)`` bools: their
    rows contain the facet through ``P``, so ``z`` is rounding there), whose sign is that of ``z'``.
    The cell immediately beyond the facet, however thin: no step length is involved."""
    h, dh, out, off = P, N, [], 0
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        z, dz = h @ W.T + b, dh @ W.T
        on = np.where(along[:, off:off + W.shape[0]], dz > 0, z > 0)
        out.append(on)
        off += W.shape[0]
        h, dh = np.where(on, z, 0.0), np.where(on, dz, 0.0)
    return np.concatenate(out, axis=1) if out else np.zeros((len(P), 0), dtype=bool)


def _onto_thin_slabs(net, domain, table, packed, owner, which, P, N, along, scale, solver):
    """Settle facets ``which`` that a step from their centre ``P`` (:func:`_facet_centres`, with a
    clearance above the resolution) could not cross: the cell immediately beyond, named by
    :func:`_limit_bits` (the cell within, by the same rule, must be the facet's region), may be a
    slab thinner than the resolution that every step jumps (a deeper neuron whose zero set runs
    within the resolution of the facet's hyperplane beyond it). It is accepted only when it is no
    region and its certified Chebyshev radius (:func:`_highs_centres`) is at most the resolution.
    Returns ``(unmatched facets, number of facets onto cells thinner than the resolution)``."""
    floor = tol.CHEBYSHEV_RTOL * scale
    beyond, within = _limit_bits(net, P, N, along), _limit_bits(net, P, -N, along)
    ok = (pack_bits(within) == packed[owner[which]]).all(axis=1)
    if domain is not None:
        ok &= domain.contains(P)
    ok &= table.find(pack_bits(beyond)) < 0
    cand = ok.nonzero()[0]
    if cand.size == 0:
        return which, 0
    systems = [full_system(net, s, domain)[:2] for s in beyond[cand]]
    _, R = _highs_centres(solver, systems, scale, floor, origins=P[cand], domain=domain)
    thin = np.zeros(len(which), dtype=bool)
    thin[cand[~(R > floor)]] = True
    return which[~thin], int(thin.sum())


def _onto_thin_cells(net, domain, table, packed, owner, fids, which, P, N, gap, scale, solver,
                     found, along):
    """Settle facets ``which`` whose clearance ``gap`` at the points ``P`` (from
    :func:`_facet_centres`; outward unit normals ``N``) is at or below the resolution
    ``CHEBYSHEV_RTOL * scale``: facets of a region onto a cell that is not one because it is
    thinner than the resolution (e.g. a tiny simplex of hyperplanes that nearly meet in a point,
    whose every facet is as small as itself), which the refinement rightly dropped but whose
    neighbours keep their facets on it.

    Within ``gap`` of ``P`` on the facet's hyperplane no other hyperplane of the region passes, so
    a step of ``CROSSING_STEP_FRACTION * gap`` crosses the facet alone (the same checks as
    :func:`_step_across`: the point within evaluates to the region, every flipped bit vanishes at
    ``P`` or is one of ``along``, the rows that contain the facet, the point beyond lies in the
    domain). A neighbour that is a region is recorded in
    ``found`` (an edge); one that is not is accepted only when its Chebyshev radius, computed from
    its own rows and certified (:func:`_highs_centres`), is at most the resolution: a cell below
    it, not a missing region. Every other facet is returned as unmatched, e.g. one without a
    positive gap, or whose neighbour turns out to be thicker than the resolution.

    Returns ``(unmatched facets, number of facets onto cells thinner than the resolution)``.
    """
    floor = tol.CHEBYSHEV_RTOL * scale
    crossable = np.isfinite(gap) & (gap > 0)
    left = [which[~crossable]]
    which, P, N, gap, along = which[crossable], P[crossable], N[crossable], gap[crossable], along[crossable]
    m = len(which)
    if m == 0:
        return left[0], 0
    e = (tol.CROSSING_STEP_FRACTION * gap)[:, None]
    z_all = np.concatenate(net.preactivations(np.concatenate([P, P + e * N, P - e * N])), axis=1)
    z_at, z_out, z_in = z_all[:m], z_all[m:2 * m], z_all[2 * m:]
    sides = z_all[m:] > 0
    pk = pack_bits(sides)
    beyond, within = pk[:m], pk[m:]
    ok_self = (within == packed[owner[which]]).all(axis=1)
    inside = np.ones(m, dtype=bool) if domain is None else domain.contains(P + e * N)
    flipped = sides[:m] != sides[m:]
    rows = np.arange(m)
    vanishes = np.abs(z_at) <= tol.CROSSING_ZERO_RTOL * (np.abs(z_out) + np.abs(z_in))
    vanishes[rows, fids[which]] = True
    vanishes |= along
    clean = flipped[rows, fids[which]] & (~flipped | vanishes).all(axis=1)
    hits = table.find(beyond)
    good = ok_self & inside & clean
    edge = good & (hits >= 0) & (hits != owner[which])
    found[which[edge]] = hits[edge]
    cand = (good & (hits < 0)).nonzero()[0]
    left.append(which[~good | ((hits >= 0) & ~edge)])
    n_thin = 0
    if cand.size:
        systems = [full_system(net, s, domain)[:2] for s in sides[cand]]
        _, R = _highs_centres(solver, systems, scale, floor, origins=P[cand] + e[cand] * N[cand],
                              domain=domain)
        thin = ~(R > floor)
        n_thin = int(thin.sum())
        left.append(which[cand[~thin]])
    return np.concatenate(left), n_thin


def _facet_centres(net, domain, packed, owner, fids, fpts, fnrm, which, scale, solver):
    """A point of each facet ``which`` as far as possible from every other hyperplane of its
    region, for crossing it: maximise ``r`` over points ``p`` of the facet's hyperplane whose
    distance to every other row of the region (eq. 9 and the box; rows that contain the facet,
    duplicates or deeper neurons vanishing on it, are left out) is at least ``r``, capped at
    ``scale`` -- one small HiGHS LP per facet, in coordinates of the hyperplane around the
    facet's current point. Near a far cone's apex, or in a thin wedge, the mean of the facet's
    vertices lies within a hair of other hyperplanes; this point does not. Returns
    ``(points, gaps, along)``; a gap at or below the full-dimensionality tolerance means the facet
    cannot be crossed at the resolution; ``along[i, j]``: hidden neuron ``j``'s row contains facet
    ``which[i]`` (it flips with the facet's own neuron)."""
    d = net.input_dim
    m = len(which)
    P, gap = fpts[which].copy(), np.full(m, -np.inf)
    along = np.zeros((m, net.n_hidden), dtype=bool)
    inf = solver._inf
    bits = unpack_bits(packed[owner[which]], net.n_hidden)
    on = tol.VERTEX_RTOL * scale  # a row within this of the facet's point contains the facet
    for i, (f, s) in enumerate(zip(which.tolist(), bits)):
        if not np.isfinite(fpts[f]).all():  # the lp path's facet LP may have failed
            continue
        A, c, ids = full_system(net, s, domain)
        norms = row_norms(A)
        live = norms > tol.ZERO_ROW_RTOL * norms.max(initial=0.0)
        An = A[live] / norms[live, None]
        j = int(np.flatnonzero(ids[live] == fids[f])[0])
        a = An[j]
        cn = c[live] / norms[live]
        p0 = fpts[f] - (a @ fpts[f] - cn[j]) * a  # onto the hyperplane
        dist = cn - An @ p0
        # how far a row parallel to the facet's lies from the facet's hyperplane, measured
        # against that row rather than at p0: at p0 both distances carry p0's rounding,
        # ~eps |p0|, which far out (a cone's facet 10^6 times the scale away) exceeds ``on``
        # and made a duplicate neuron's row a wall of the facet (a gap below the resolution)
        sgn = np.where(An @ a < 0, -1.0, 1.0)
        offset = cn - sgn * cn[j] - (An - sgn[:, None] * a) @ p0
        if d == 1:
            others = np.abs(offset) > on
            along[i, ids[live][~others & (ids[live] >= 0)]] = True
            others[j] = False
            gap[i] = min(float(scale), float(dist[others].min(initial=np.inf)))
            P[i] = p0
            continue
        N = np.linalg.svd(a[None, :])[2][1:].T  # (d, d - 1) orthonormal basis of the hyperplane
        B = An @ N  # rows in the hyperplane's coordinates; unit rows keep their full-space norm
        contains = (np.sqrt(np.einsum("ij,ij->i", B, B)) <= tol.ZERO_ROW_RTOL) & (np.abs(offset) <= on)
        along[i, ids[live][contains & (ids[live] >= 0)]] = True
        keep = ~contains
        keep[j] = False
        M = np.hstack([B[keep], np.ones((int(keep.sum()), 1))])
        cost = np.zeros(d)
        cost[-1] = -1.0
        status, z, _ = solver.solve(cost, np.full(d, -inf), np.append(np.full(d - 1, inf), scale), M,
                                    np.full(len(M), -inf), dist[keep])
        if status != "optimal":
            continue
        p = p0 + N @ z[:-1]
        slack = c[live][keep] / norms[live][keep] - An[keep] @ p  # recomputed at the point
        P[i], gap[i] = p, min(float(z[-1]), float(slack.min(initial=np.inf)))
    return P, gap, along


# ============================================================================ rank-deficient R^d
def _decompose_reduced(net, Q, method, progress, solver, t_start, scale, user, use_kernels=False):
    """``R^d`` with ``rank W_1 = r < d``: the network factors through ``y = Q^T x``; decompose the
    reduced net in ``R^r`` and lift (every region is a cylinder, hence unbounded). ``net`` and
    ``scale`` are the working frame's (``domain_scale(net, None)``)."""
    r = Q.shape[1]
    ws = list(net.weights)
    if r == 0:  # the first layer is constant: one region, all of R^d
        x = np.zeros((1, net.input_dim))
        raw = _Raw()
        raw.add(net.bits(x)[0], x[0], scale, False, np.zeros(0, dtype=np.int64),
                np.zeros((0, net.input_dim)), np.zeros((0, net.input_dim)))
        return _assemble(net, None, raw, scale, solver, t_start, user, compiled=use_kernels)
    w0 = np.ascontiguousarray(np.asarray(net.weights[0]) @ Q)
    w0.setflags(write=False)
    ws[0] = w0
    small = ReluNet(tuple(ws), tuple(net.biases))  # the other layers were checked in ``net``
    if method == "lp":
        cells = _refine(small, None, _LPKernel(small, None, scale, solver), progress)
        raw = _finalize_lp(small, None, cells, scale, solver)
    else:
        raw = _vertex_path(small, None, scale, solver, progress, use_kernels)
    raw.all_unbounded()
    return _assemble(net, None, raw, scale, solver, t_start, user, lift=Q, compiled=use_kernels,
                     crosser=raw.crosser)
