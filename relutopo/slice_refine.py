"""Exact regions of a piecewise-linear graph on a segment (1-D) or a plane (2-D).

The network is walked stage by stage (:class:`relutopo.pl_graph.PLGraph`: affine steps, then a
ReLU-like or max-pool step). Before stage ``s`` the slice is cut into cells on which every
earlier nonlinearity is fixed, so on each cell every tensor computed so far is an *affine*
function of the slice coordinates. Its values at the cells' vertices (breakpoints in 1-D) are
therefore enough: values anywhere on a cell edge follow by linear interpolation, exactly. The
affine steps are evaluated on the vertices with torch in float64; then

* **ReLU-like stage** -- a cell whose vertex values of neuron ``k`` have both signs is cut along
  the neuron's zero line (in 1-D, at the zero crossing ``t = z_a / (z_a - z_b)`` of the interval);
  the new vertices get every live tensor by linear interpolation along the cut edge;
* **max-pool stage** -- a window whose winner (first entry attaining the maximum) is not the same
  at every vertex of a cell splits the cell into the winner regions ``{f_j >= f_i for all i}``
  (convex, so a winner at every vertex is the winner on the whole cell); in 1-D the breakpoints
  of the upper envelope of the window's entries.

On a segment a point where every tensor still needed downstream is affine (a ReLU crossing whose
neuron loses a max-pool window, say) becomes *inactive*, and stays so: it keeps its place among
the breakpoints (and its intervals their digests), but no row of values. Later stages work on
the intervals between *active* points, on which every tensor is affine across the inactive
points: crossings are found there, and each interval's bits hold for the inactive points'
intervals inside it (a crossing within ``SLICE_MERGE_RTOL`` of an inactive point is that point,
which gets a row again); outputs at inactive points are interpolated at the end.

A value counts as zero when ``|z| <= SLICE_ZERO_RTOL`` times the largest ``|z|`` of that neuron
on the chunk's vertices (2-D) or the interval's ends (1-D); 1-D crossings closer than
``SLICE_MERGE_RTOL`` of their interval are one breakpoint. The result is exact up to these
tolerances: every cell is one region (its pattern is constant and its region is convex, so a
region is never split in two).

The work per point is kept to a few passes over its values: the affine-point test scans column
blocks and drops a point at its first slope change (a new point's own neuron first), a 2-D
max-pool's windows are strided views of the padded input (one padded copy gives a chunk's
pooled values and its intervals' winners), a chunk's tensors are strided views of its rows, and
a ReLU stage's crossings are tested only where the sign changes. On a segment, the passes over a
chunk's long rows run over blocks that stay in a core's cache (a 2-D max-pool stage by blocks
of channels, ``POOL_BLOCK_ELEMS``; interpolation, relu bits and largest values by blocks of
columns or rows, ``CACHE_BLOCK_ELEMS``), with the same floats as on whole arrays. Large
temporary arrays come from glibc's heap rather than fresh mappings while a slice is refined
(``_large_array_heap``).

Memory is bounded: cells and breakpoints are processed depth first in chunks whose vertex values
fit ``chunk_elems`` floats (a ResNet-50 at 224^2 has ~10^7 neurons per point), splitting only
at breakpoints that are region boundaries already.

A segment's chunks are independent once cut, so ``refine_segment(..., n_jobs=k)`` refines them
on ``k`` forked processes: the parent cuts the segment breadth first until it holds
``SEGMENT_TASKS_PER_JOB`` chunks per worker, the workers (which inherit the graph and the chunks
from the fork) refine one chunk each at a time, depth first, and send back its pieces. Every
chunk is refined exactly as in one process, so every float and digest is the same for any
``n_jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import tolerances as tol
from .patterns import pack_bits, unpack_bits
from .pl_graph import DIGEST_BYTES, DIGEST_SEED, PLGraph, digest_chain

__all__ = ["refine_segment", "refine_plane", "SegmentPieces", "PlanePieces", "CHUNK_ELEMS",
           "upper_envelope"]

#: Floats of vertex values held per chunk (32 MB) before a chunk is split.
CHUNK_ELEMS = 1 << 22
#: Columns per block of the affine-point scan (:func:`_affine_points`).
AFFINE_BLOCK = 1024
#: Floats of padded input per block of channels in a segment's 2-D max-pool stage
#: (:func:`_pool_and_bits_2d`): 1 MB, so that a block's passes stay in a core's cache.
POOL_BLOCK_ELEMS = 1 << 17
#: Floats per block of the work on a chunk's long rows that is meant to stay in a core's cache
#: (256 KB): row interpolation (:func:`_lerp_rows`), relu bits, the chunk's largest ``|z|``.
CACHE_BLOCK_ELEMS = 1 << 15


#: glibc malloc settings while a slice is refined (:class:`_large_array_heap`): arrays up to
#: 32 MB (glibc's largest mmap threshold) come from the heap, which keeps its freed memory (the
#: largest trim threshold) and grows in 256 MB steps; afterwards the trim threshold is 64 MB
#: (where glibc's dynamic setting ends once arrays of 32 MB were freed) and the heap is trimmed.
MALLOC_MMAP_THRESHOLD = 32 << 20
MALLOC_TRIM_THRESHOLD = (1 << 31) - 1
MALLOC_TOP_PAD = 256 << 20
MALLOC_TRIM_AFTER = 64 << 20


class _large_array_heap:
    """Serve the refinement's large temporary arrays from the heap (glibc only; else a no-op).

    The refinement allocates and frees arrays of up to ``CHUNK_ELEMS`` floats (32 MB) per chunk
    and stage. Left to glibc's defaults, many of them are mapped and unmapped each time and
    every page is faulted in anew: on the ResNet-18 segment of ``benchmarks/bench_slices.py``
    1.4 million page faults, 5.6 of 34 CPU-s in the kernel. Served from a heap that keeps its
    freed memory they cost 0.2 million faults and 1.1 s. The heap is trimmed on the way out. Only where memory comes from changes,
    not a value: the results are the same.
    """

    _libc = None

    def __enter__(self):
        libc = type(self)._load()
        if libc is not None:
            libc.mallopt(-3, MALLOC_MMAP_THRESHOLD)   # M_MMAP_THRESHOLD
            libc.mallopt(-1, MALLOC_TRIM_THRESHOLD)   # M_TRIM_THRESHOLD
            libc.mallopt(-2, MALLOC_TOP_PAD)          # M_TOP_PAD
        return self

    def __exit__(self, *exc):
        libc = type(self)._libc
        if libc:
            libc.mallopt(-1, MALLOC_TRIM_AFTER)
            libc.mallopt(-2, 128 << 10)               # glibc's default top pad
            libc.malloc_trim(0)
        return False

    @classmethod
    def _load(cls):
        if cls._libc is None:
            cls._libc = False
            try:
                import ctypes
                import platform

                if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
                    libc = ctypes.CDLL("libc.so.6")
                    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                    libc.malloc_trim.argtypes = [ctypes.c_size_t]
                    cls._libc = libc
            except (OSError, AttributeError):
                cls._libc = False
        return cls._libc or None


def _on_large_array_heap(fn):
    """Run ``fn`` inside :class:`_large_array_heap`."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _large_array_heap():
            return fn(*args, **kwargs)

    return wrapper


# ============================================================================ frontier packing
def _pack(values: dict):
    """Live tensors as one float64 matrix ``(n, F)`` and the layout to rebuild them (a single
    contiguous float64 tensor is viewed, not copied: the caller owns its values then)."""
    layout, blocks, c = [], [], 0
    step = values["__step__"]
    n = None
    for node, v in values.items():
        if node == "__step__":
            continue
        a = v.detach().numpy()
        n = a.shape[0]
        flat = a.reshape(n, -1)
        layout.append((node, tuple(a.shape[1:]), c, c + flat.shape[1]))
        blocks.append(flat)
        c += flat.shape[1]
    if n is None:
        raise RuntimeError("internal: no live tensors")
    if len(blocks) == 1 and blocks[0].dtype == np.float64 and blocks[0].flags.c_contiguous:
        return blocks[0], (step, tuple(layout))
    M = np.empty((n, c), dtype=np.float64)
    for (node, shape, a, b), blk in zip(layout, blocks):
        M[:, a:b] = blk
    return M, (step, tuple(layout))


def _unpack(M: np.ndarray, layout, copy: bool = True) -> dict:
    """The tensors of a packed frontier; with ``copy=False`` strided views of ``M`` (which the
    caller then owns no more: the graph's steps read them and write new tensors)."""
    import torch

    step, entries = layout
    values = {"__step__": step}
    n = M.shape[0]
    for node, shape, a, b in entries:
        blk = np.ascontiguousarray(M[:, a:b]) if copy else M[:, a:b]
        values[node] = torch.from_numpy(blk.reshape((n,) + shape))
    return values


def _columns(graph: PLGraph, stage: int, layout):
    node = graph.steps[graph.stages[stage].step].node.args[0]
    for nd, shape, a, b in layout[1]:
        if nd is node:
            return a, b
    raise RuntimeError("internal: the stage input is not live")


# ============================================================================ 1-D envelope
def upper_envelope(A: np.ndarray, B: np.ndarray, scale: np.ndarray | None = None):
    """Breakpoints of ``max_j ((1 - tau) A[:, j] + tau B[:, j])`` on ``tau`` in ``(0, 1)``.

    Parameters
    ----------
    A, B : (n, K) arrays
        Values of ``K`` affine functions at ``tau = 0`` and ``tau = 1`` for ``n`` problems
        (``-inf`` entries never win).
    scale : (n,) array, optional
        Magnitude for the tolerances (default: the largest finite ``|A|, |B|`` per row).

    Returns
    -------
    rows, taus : int array, float array
        Problem index and position of every breakpoint (``SLICE_MERGE_RTOL < tau < 1 -
        SLICE_MERGE_RTOL``), in increasing ``tau`` per problem.

    Examples
    --------
    >>> r, t = upper_envelope(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]))
    >>> r.tolist(), t.tolist()
    ([0], [0.5])
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    n, K = A.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    finite = np.isfinite(A) & np.isfinite(B)
    Af = np.where(finite, A, 0.0)
    Bf = np.where(finite, B, 0.0)
    if scale is None:
        scale = np.maximum(np.abs(Af).max(axis=1), np.abs(Bf).max(axis=1))
    ztol = tol.SLICE_ZERO_RTOL * np.maximum(scale, tol.TINY)
    S = np.where(finite, Bf - Af, -np.inf)  # slopes; padding never wins
    a0 = np.where(finite, Af, -np.inf)
    rows = np.arange(n)
    # start: the entries maximal at tau = 0 (within tolerance), the steepest of them first
    top = a0.max(axis=1)
    near = a0 >= (top - ztol)[:, None]
    cur = np.argmax(np.where(near, S, -np.inf), axis=1)
    tau_cur = np.zeros(n)
    active = np.ones(n, dtype=bool)
    out_r, out_t = [], []
    for _ in range(K):
        if not active.any():
            break
        idx = rows[active]
        c = cur[idx]
        ds = S[idx] - S[idx, c][:, None]
        ok = ds > ztol[idx][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = np.where(ok, (Af[idx, c][:, None] - Af[idx]) / np.where(ok, ds, 1.0), np.inf)
        tau = np.maximum(tau, tau_cur[idx][:, None])
        tmin = tau.min(axis=1)
        done = tmin >= 1.0 - tol.SLICE_MERGE_RTOL
        go = ~done
        active[idx[done]] = False
        if not go.any():
            break
        g = idx[go]
        tm = tmin[go]
        cluster = tau[go] <= (tm + tol.SLICE_MERGE_RTOL)[:, None]
        nxt = np.argmax(np.where(cluster, S[g], -np.inf), axis=1)
        emit = tm > tol.SLICE_MERGE_RTOL
        out_r.append(g[emit])
        out_t.append(tm[emit])
        cur[g] = nxt
        tau_cur[g] = tm
    if not out_r:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    r = np.concatenate(out_r)
    t = np.concatenate(out_t)
    order = np.lexsort((t, r))
    return r[order], t[order]


def _consecutive_changes(A: np.ndarray):
    """``(i, k)`` where ``A[i + 1, k] != A[i, k]``, in row-major order (``np.nonzero(A[:-1] !=
    A[1:])``).

    The changes are few: the comparison goes to a flat buffer of whole 8-byte words, and only
    the words that are not zero are looked at entry by entry (``np.nonzero`` of a 2-D array
    scans every entry, several times slower).

    Examples
    --------
    >>> _consecutive_changes(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=bool))
    (array([0, 1]), array([1, 0]))
    """
    m, F = A.shape[0] - 1, int(np.prod(A.shape[1:], dtype=np.int64))
    size = m * F
    if size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    buf = np.empty(-(-size // 8) * 8, dtype=bool)
    buf[size:] = False
    np.not_equal(A[:-1], A[1:], out=buf[:size].reshape(A[1:].shape))
    words = np.flatnonzero(buf.view(np.uint64))
    idx = (words[:, None] * 8 + np.arange(8)).ravel()
    idx = idx[buf[idx]]
    return np.divmod(idx, F)


def _merge_points(iv: np.ndarray, tau: np.ndarray):
    """Sort crossing points by (interval, tau); merge those within ``SLICE_MERGE_RTOL`` of each
    other, drop those within it of an interval end.

    Returns the merged points ``(iv, tau)`` (sorted) and, per input point, the index of the
    merged point it went to (``-1``: dropped at an interval end).
    """
    assign = np.full(iv.size, -1, dtype=np.int64)
    keep = np.flatnonzero((tau > tol.SLICE_MERGE_RTOL) & (tau < 1.0 - tol.SLICE_MERGE_RTOL))
    if keep.size == 0:
        return iv[:0], tau[:0], assign
    order = keep[np.lexsort((tau[keep], iv[keep]))]
    ivs, taus = iv[order], tau[order]
    first = np.ones(ivs.size, dtype=bool)
    first[1:] = (ivs[1:] != ivs[:-1]) | (np.diff(taus) > tol.SLICE_MERGE_RTOL)
    assign[order] = np.cumsum(first) - 1
    return ivs[first], taus[first], assign


def _assemble_patterns(graph, rows):
    """Full packed patterns from per-stage packed rows (one list of stage arrays per region)."""
    n = len(rows)
    if n == 0 or graph.n_stages == 0:
        return np.zeros((n, (graph.n_bits + 7) // 8), dtype=np.uint8)
    parts = [unpack_bits(np.stack([r[i] for r in rows]), st.n_bits) for i, st in enumerate(graph.stages)]
    return pack_bits(np.concatenate(parts, axis=1))


# ============================================================================ 1-D
@dataclass
class SegmentPieces:
    """The pieces of a segment slice, in order: ``[t[i], t[i + 1]]`` is piece ``i``.

    Attributes
    ----------
    t : (n + 1,) breakpoints in slice coordinates
    outputs : (n + 1, n_out) network outputs at the breakpoints (affine in between)
    digests : (n, DIGEST_BYTES) uint8 pattern digests
    packed_patterns : (n, ceil(n_bits / 8)) uint8 or None
    stats : dict

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from relutopo.pl_graph import pl_graph
    >>> g = pl_graph(torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)), (1,))
    >>> p = refine_segment(g, -1.0, 1.0, lambda t: t)
    >>> len(p.t) == len(p.digests) + 1 == len(p.outputs), p.packed_patterns is None
    (True, True)
    """

    t: np.ndarray
    outputs: np.ndarray
    digests: np.ndarray
    packed_patterns: np.ndarray | None
    stats: dict = field(default_factory=dict)


def _stage_bits_1d(graph, stage, zL, zR, noise):
    """Bits of a stage on intervals from its input at the interval ends (affine in between):
    ``z > 0`` at the midpoint (relu), the first entry attaining the maximum at the midpoint (max);
    values within the noise floor of zero (of the maximum) count as zero (as tied)."""
    st = graph.stages[stage]
    if st.kind == "relu":  # twice the midpoint against twice the noise (scaling by 2 is exact)
        n = zL.shape[0]
        bits = np.empty(zL.shape, dtype=bool)
        step = max(1, CACHE_BLOCK_ELEMS // max(int(np.prod(zL.shape[1:])), 1))
        for r0 in range(0, n, step):  # by blocks of rows, in the cache
            np.greater(np.add(zL[r0:r0 + step], zR[r0:r0 + step]), 2.0 * noise, out=bits[r0:r0 + step])
        return bits
    mid = np.add(zL, zR)
    mid *= 0.5
    views, _ = _window_views(graph, stage, mid)
    return _winner_bits(views, noise, mid.shape[0])


def _winner_bits(views, noise, n):
    """One-hot winner rows ``(n, n_windows * K)`` from the window entries ``views`` (``K``
    arrays ``(*window_shape, n)``, NaN at padding): the first entry within the tolerance of the
    window's maximum (``SLICE_ZERO_RTOL`` times the window's largest ``|entry|``, at least
    ``noise``)."""
    top = views[0].copy()
    low = views[0].copy()
    for v in views[1:]:  # fmax / fmin skip the padding (NaN)
        np.fmax(top, v, out=top)
        np.fmin(low, v, out=low)
    # the largest |entry| of a window is max(top, -low)
    th = np.maximum(tol.SLICE_ZERO_RTOL * np.maximum(top, -low), noise)
    thr = top - th
    K = len(views)
    win = np.zeros(top.shape, dtype=_index_dtype(K))  # the first entry within th of the maximum
    for j in range(K - 1, -1, -1):
        np.copyto(win, j, where=views[j] >= thr)
    # one-hot rows (n, units, K): entry j of a window is set where it is the window's winner
    wt = np.ascontiguousarray(win.reshape(-1, n).T)
    out = np.empty(wt.shape + (K,), dtype=bool)
    for j in range(K):  # K passes over contiguous rows (a broadcast comparison is slower)
        np.equal(wt, j, out=out[:, :, j])
    return out.reshape(n, -1)


def _index_dtype(K: int):
    """The smallest integer type that holds the entry positions ``0 .. K - 1`` of a window."""
    return np.int8 if K <= 127 else (np.int16 if K <= 32767 else np.int64)


def _pool2d_geometry(graph, stage):
    """``(C, H, W, outs, size, k, s, p, d)`` of a 2-D max-pool stage on ``(C, H, W)`` inputs
    (``size``: the padded input's spatial size); ``None`` for other pools."""
    st = graph.stages[stage]
    dim, k, s, p, d, ceil = graph.steps[st.step].pool
    if not (dim == 2 and len(st.input_shape) == 3):
        return None
    C, H, W = st.input_shape
    outs = [graph._pool_len(N, k[i], s[i], p[i], d[i], ceil) for i, N in enumerate((H, W))]
    size = [max(N + 2 * p[i], (outs[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1) for i, N in enumerate((H, W))]
    return C, H, W, outs, size, k, s, p, d


def _padded_2d(geom, Z):
    """The rows ``Z`` (n, C * H * W) as a NaN-padded ``(C, *size, n)`` array (points last)."""
    C, H, W, outs, size, k, s, p, d = geom
    n = Z.shape[0]
    xp = np.empty((C, size[0], size[1], n))
    xp[:, :p[0]] = np.nan          # only the padding is filled: the interior is copied once
    xp[:, p[0] + H:] = np.nan
    xp[:, p[0]:p[0] + H, :p[1]] = np.nan
    xp[:, p[0]:p[0] + H, p[1] + W:] = np.nan
    xp[:, p[0]:p[0] + H, p[1]:p[1] + W, :] = Z.T.reshape(C, H, W, n)
    return xp


def _views_2d(geom, xp):
    """The ``K`` window-entry views ``(C, *outs, n)`` of a padded array from :func:`_padded_2d`."""
    C, H, W, outs, size, k, s, p, d = geom
    return [xp[:, i * d[0]:i * d[0] + (outs[0] - 1) * s[0] + 1:s[0],
               j * d[1]:j * d[1] + (outs[1] - 1) * s[1] + 1:s[1], :]
            for i in range(k[0]) for j in range(k[1])]


def _window_views(graph, stage, Z):
    """Max-pool window entries of the stage input rows ``Z`` (n, F): a list of ``K`` arrays
    ``(*window_shape, n)``, the ``j``-th entry of every window at every point (windows in the C
    order of the pool's output, entries in the kernel's C order, as
    :meth:`relutopo.pl_graph.PLGraph.window_index`; the points last, so that the work on them
    runs over contiguous memory), NaN at padding, and the windows' shape. A 2-D pool gives
    strided views of the padded input (one copy)."""
    geom = _pool2d_geometry(graph, stage)
    n = Z.shape[0]
    if geom is not None:
        C, outs = geom[0], geom[3]
        return _views_2d(geom, _padded_2d(geom, Z)), (C, outs[0], outs[1])
    W = graph.window_index(stage)
    F = Z.shape[1]
    flat = np.empty((F + 1, n), dtype=np.float64)
    flat[:F] = Z.T
    flat[F] = np.nan
    E = flat[np.where(W < 0, F, W)]  # (n_windows, K, n)
    return [E[:, j] for j in range(W.shape[1])], (W.shape[0],)


def _first_maxima(views):
    """Per window the position of the first entry attaining its maximum, from the window-entry
    arrays ``views`` (NaN at padding never wins)."""
    best = np.full(views[0].shape, -np.inf)
    am = np.zeros(views[0].shape, dtype=_index_dtype(len(views)))
    for j, v in enumerate(views):
        upd = v > best
        np.copyto(am, j, where=upd)
        np.copyto(best, v, where=upd)
    return am


def _point_winners(graph, stage, Z, block_elems: int = POOL_BLOCK_ELEMS):
    """The winners (first entry attaining the maximum) of a max-pool stage's windows at the
    points with input rows ``Z`` (n, F): an ``(n_windows, n)`` array, windows in the C order of
    the pool's output as :meth:`relutopo.pl_graph.PLGraph.window_index`. A 2-D pool runs over
    blocks of channels (as :func:`_pool_and_bits_2d`)."""
    geom = _pool2d_geometry(graph, stage)
    n = Z.shape[0]
    if geom is None:
        return _first_maxima(_window_views(graph, stage, Z)[0]).reshape(-1, n)
    C, H, W, outs, size, k, s, p, d = geom
    units = outs[0] * outs[1]
    am = np.empty((C * units, n), dtype=_index_dtype(k[0] * k[1]))
    step = max(1, int(block_elems) // max(size[0] * size[1] * n, 1))
    for c0 in range(0, C, step):
        c1 = min(C, c0 + step)
        block = (c1 - c0,) + tuple(geom[1:])
        views = _views_2d(block, _padded_2d(block, Z[:, c0 * H * W:c1 * H * W]))
        am[c0 * units:c1 * units] = _first_maxima(views).reshape(-1, n)
    return am


def _pool_and_bits_2d(graph, stage, geom, zc, noise, block_elems: int = POOL_BLOCK_ELEMS):
    """A 2-D max-pool stage on the rows ``zc`` (n, F) of consecutive points from one padded copy:
    the pooled rows ``(n, C, *outs)`` at the points (the windows' maxima, as torch's
    ``max_pool2d``) and the winner bits of the ``n - 1`` intervals (as :func:`_stage_bits_1d`).

    Windows never span channels, so the work runs over blocks of channels whose padded copy
    holds about ``block_elems`` floats: a block's dozens of passes (maxima, midpoints, winners)
    then stay in a core's cache, and no array of the chunk's full size is allocated. Every value
    is the one computed on the whole array at once (the blocks are slices of its C order).
    """
    import torch

    C, H, W, outs, size, k, s, p, d = geom
    n = zc.shape[0]
    units = outs[0] * outs[1]
    K = k[0] * k[1]
    pooled = np.empty((n, C * units))
    bits = np.empty((n - 1, C * units * K), dtype=bool)
    step = max(1, int(block_elems) // max(size[0] * size[1] * n, 1))
    for c0 in range(0, C, step):
        c1 = min(C, c0 + step)
        block = (c1 - c0,) + tuple(geom[1:])
        xp = _padded_2d(block, zc[:, c0 * H * W:c1 * H * W])
        views = _views_2d(block, xp)
        top = views[0].copy()
        for v in views[1:]:
            np.fmax(top, v, out=top)
        pooled[:, c0 * units:c1 * units] = top.reshape(-1, n).T
        del top, views
        xm = np.add(xp[..., :-1], xp[..., 1:])  # the midpoints of the intervals (NaN at padding)
        del xp
        xm *= 0.5
        bits[:, c0 * units * K:c1 * units * K] = _winner_bits(_views_2d(block, xm), noise, n - 1)
    return torch.from_numpy(pooled.reshape(n, C, outs[0], outs[1])), bits


def _pool_stage_2d(graph, stage, geom, zc, noise, compiled=None, lerp=None):
    """:func:`_pool_and_bits_2d`, by the compiled kernel (:func:`relutopo.kernels.pool.pool_and_bits_2d`,
    the same floats and bits in one pass) unless ``compiled`` (``None``: ``RELUTOPO_NUMBA``, see
    :func:`relutopo.kernels.use_compiled`) selects numpy. With ``lerp = (src, tau, nxt)`` (compiled
    only) the rows are a child chunk's, read from the parent rows ``zc`` as the kernel interpolates."""
    from .kernels import use_compiled

    if not use_compiled(compiled):
        return _pool_and_bits_2d(graph, stage, geom, zc, noise)
    import torch

    from .kernels.pool import pool_and_bits_2d

    C, H, W, outs, size, k, s, p, d = geom
    if lerp is None:
        none = np.zeros(0, dtype=np.int64)
        src, tau, nxt = none, np.zeros(0), none
    else:
        src, tau, nxt = (np.ascontiguousarray(x, dtype=dt) for x, dt in zip(lerp, (np.int64, np.float64, np.int64)))
    n = zc.shape[0] if lerp is None else src.size
    K = k[0] * k[1]
    pooled = np.empty((n, C * outs[0] * outs[1]))
    bits = np.empty((n - 1, C * outs[0] * outs[1] * K), dtype=bool)
    pool_and_bits_2d(zc, src, tau, nxt, C, H, W, outs[0], outs[1], k[0], k[1], s[0], s[1], p[0], p[1],
                     d[0], d[1], float(noise), tol.SLICE_ZERO_RTOL, pooled, bits)
    return torch.from_numpy(pooled.reshape(n, C, outs[0], outs[1])), bits


def _abs_max(Z) -> float:
    """``max(Z.max(initial=0), -Z.min(initial=0))`` of a 2-D array, by blocks of rows (both
    passes over a block while it is in the cache)."""
    step = max(1, CACHE_BLOCK_ELEMS // max(Z.shape[1], 1))
    top = low = 0.0
    for r0 in range(0, Z.shape[0], step):
        block = Z[r0:r0 + step]
        top = max(top, float(block.max(initial=0.0)))
        low = min(low, float(block.min(initial=0.0)))
    return max(top, -low)


def _row_abs_max(A, out) -> None:
    """``out = max(out, A.max(axis=1), -A.min(axis=1))`` in place for a 2-D array ``A``, by
    blocks of rows (both passes over a block while it is in the cache)."""
    step = max(1, CACHE_BLOCK_ELEMS // max(A.shape[1], 1))
    for r0 in range(0, A.shape[0], step):
        block = A[r0:r0 + step]
        o = out[r0:r0 + step]
        np.maximum(o, np.maximum(block.max(axis=1), -block.min(axis=1)), out=o)


def _lerp_rows(out, rows, L, left, R, right, w, block_elems: int = CACHE_BLOCK_ELEMS):
    """``out[rows] = L[left] + w (R[right] - L[left])``, row by row (``w``: (len(rows), 1)).

    The rows are long (a chunk's whole frontier): the work runs over blocks of columns of about
    ``block_elems`` floats, each gathered, combined in place and scattered while it is in the
    cache (twice as fast as on whole rows). Each entry is computed as on whole rows.
    """
    F = out.shape[1]
    cols = max(256, int(block_elems) // max(len(rows), 1))
    for c0 in range(0, F, cols):
        c1 = min(F, c0 + cols)
        lo, D = L[left, c0:c1], R[right, c0:c1]
        D -= lo
        D *= w
        D += lo
        out[rows, c0:c1] = D


def _run_active(graph, values, active, stage):
    """Run the affine steps up to ``stage`` on the *active* row points only (the others are
    affine between their active neighbours: no tensor downstream needs their rows).

    Returns the packed frontier ``(M, layout)`` of the active points and, at the last stage,
    their output.
    """
    import torch

    if not active.all():
        idx = np.flatnonzero(active)
        values = {k: (v if k == "__step__" else torch.from_numpy(v.detach().numpy()[idx]))
                  for k, v in values.items()}
    out = graph.run_to(values, stage)
    M, layout = _pack(values)
    return M, layout, (None if out is None else out.numpy())


def _lerp_inactive(O_act, t, ra):
    """Rows at every point ``t`` of a chunk from the rows ``O_act`` at its active points
    ``t[ra]`` (``ra`` ascending, from ``0`` to ``len(t) - 1``): the others by linear
    interpolation between their active neighbours (the values are affine there)."""
    O = np.empty((len(t),) + O_act.shape[1:])
    O[ra] = O_act
    rest = np.ones(len(t), dtype=bool)
    rest[ra] = False
    rest = np.flatnonzero(rest)
    if rest.size:
        pos = np.clip(np.searchsorted(ra, rest, side="right") - 1, 0, len(ra) - 2)
        tl, tr = t[ra[pos]], t[ra[pos + 1]]
        w = ((t[rest] - tl) / (tr - tl))[:, None]
        O[rest] = O_act[pos] + w * (O_act[pos + 1] - O_act[pos])
    return O


def _affine_points(values, t, active, first=None, hint=None, compiled=None):
    """Points where the frontier ``values`` is affine (no slope change) are made inactive: every
    later tensor is then affine across them too, so they need no evaluation downstream.

    A point is affine when every value deviates from the interpolation of its two neighbours by
    at most ``SLICE_AFFINE_RTOL`` times their largest magnitude. The deviations are scanned in
    column blocks (tensor ``first`` first; before it, ``hint = (points, columns)`` of that
    tensor, where a new point's own crossing shows), and a point leaves the scan at the first
    block that shows a slope change: the answer is the test over all columns at once. The
    compiled kernels (:mod:`relutopo.kernels.affine`; ``compiled``: as
    :func:`relutopo.kernels.use_compiled`) scan each point's rows in place, with the same answer.
    """
    from .kernels import use_compiled

    cand = np.flatnonzero(active[1:-1]) + 1
    if cand.size == 0:
        return active
    mats = [(k, v.detach().numpy().reshape(v.shape[0], -1)) for k, v in values.items() if k != "__step__"]
    mats.sort(key=lambda kv: kv[0] is not first)
    kernels = None
    if use_compiled(compiled):
        from .kernels import affine as kernels
    rowmax = np.zeros(len(t))
    for _, A in mats:
        if A.shape[1]:
            _row_abs_max(A, rowmax)
    scale = np.maximum(np.maximum(rowmax[cand - 1], rowmax[cand]), rowmax[cand + 1])
    thr = tol.SLICE_AFFINE_RTOL * scale
    w = ((t[cand] - t[cand - 1]) / (t[cand + 1] - t[cand - 1]))[:, None]
    alive = np.ones(cand.size, dtype=bool)
    if hint is not None and first in values and hint[0].size:
        A = mats[0][1]
        ci = np.searchsorted(cand, hint[0])
        ok = (ci < cand.size) & (cand[np.minimum(ci, cand.size - 1)] == hint[0])
        ci, col = ci[ok], hint[1][ok]
        cc = cand[ci]
        L, C, R = A[cc - 1, col][:, None], A[cc, col][:, None], A[cc + 1, col][:, None]
        dev = np.abs(C - (L + w[ci] * (R - L)))[:, 0]
        alive[ci[~(dev <= thr[ci])]] = False
    w1 = np.ascontiguousarray(w[:, 0]) if kernels is not None else None
    for _, A in mats:
        if kernels is not None and A.dtype == np.float64:
            kernels.scan_affine(A, cand, w1, thr, alive)
            continue
        for c0 in range(0, A.shape[1], AFFINE_BLOCK):
            ci = np.flatnonzero(alive)
            if ci.size == 0:
                break
            cc = cand[ci]
            B = A[:, c0:c0 + AFFINE_BLOCK]
            if cc[-1] - cc[0] == cc.size - 1:  # consecutive points: slices, not gathers
                L, C, R = B[cc[0] - 1:cc[-1]], B[cc[0]:cc[-1] + 1], B[cc[0] + 1:cc[-1] + 2]
                D = np.subtract(R, L)
            else:
                L, C, R = B[cc - 1], B[cc], B[cc + 1]
                D = np.subtract(R, L, out=R)
            # |(L + w (R - L)) - C| = |C - (L + w (R - L))|, in place
            D *= w[ci]
            D += L
            D -= C
            dev = np.abs(D, out=D).max(axis=1)
            alive[ci[~(dev <= thr[ci])]] = False
    out = active.copy()
    out[cand[alive]] = False
    return out


def _child_chunk(graph, ctx, a, b):
    """Rows ``a:b`` of a refined parent chunk's row sequence as a chunk of the next stage:
    frontier rows by linear interpolation (exact zeros where a neuron crosses), the stage's
    bits per interval between rows, the digests of every interval (the points without rows
    between them included), the nonlinearity applied, and which rows stay active downstream."""
    from .kernels import use_compiled

    all_iv, all_tau, nxt_iv = ctx["all_iv"], ctx["all_tau"], ctx["nxt_iv"]
    M, s, za, zb = ctx["M"], ctx["s"], ctx["za"], ctx["zb"]
    ivs, taus, nx = all_iv[a:b], all_tau[a:b], nxt_iv[a:b]
    zero_pos, zero_col = ctx["zero_pos"], ctx["zero_col"]
    zr = zcl = np.zeros(0, dtype=np.int64)
    if zero_pos is not None:
        sel = (zero_pos >= a) & (zero_pos < b)
        zr, zcl = zero_pos[sel] - a, zero_col[sel]
    st = graph.stages[s]
    relu = pooled = None
    geom = _pool2d_geometry(graph, s) if st.kind == "max" else None
    compiled = use_compiled(None) and M.dtype == np.float64 and M.flags.c_contiguous
    entries = ctx["layout"][1]
    if (compiled and geom is not None and zr.size == 0 and len(entries) == 1
            and (za, zb) == (0, M.shape[1])
            and graph.dies_at(entries[0][0], s)):
        # the pool's input is the whole frontier and dies here: the kernel reads the child's
        # rows from the parent's as it interpolates them, and they are never written out
        import torch

        pooled, bits = _pool_stage_2d(graph, s, geom, M, ctx["noise"], lerp=(ivs, taus, nx))
        node, shape = entries[0][:2]
        rows = None
        vals = {"__step__": ctx["layout"][0],  # the input, for its shape only: no values behind it
                node: torch.zeros((), dtype=torch.float64).expand((b - a,) + tuple(shape))}
    elif compiled:
        # one pass: rows, zeros, and for a plain ReLU its bits and values (the same floats)
        from .kernels.child import child_rows

        fuse = st.kind == "relu" and graph.steps[st.step].slope is None
        n = b - a
        rows = np.empty((n, M.shape[1]))
        bits = np.empty((n - 1, zb - za) if fuse else (0, 0), dtype=bool)
        relu = np.empty((n, zb - za) if fuse else (0, 0))
        order = np.argsort(zr, kind="stable")
        child_rows(M, np.ascontiguousarray(ivs, dtype=np.int64), np.ascontiguousarray(taus, dtype=np.float64),
                   np.ascontiguousarray(nx, dtype=np.int64), np.ascontiguousarray(zr[order], dtype=np.int64),
                   np.ascontiguousarray(zcl[order], dtype=np.int64), za if fuse else 0, zb if fuse else 0,
                   2.0 * ctx["noise"], rows, bits, relu)
        if not fuse:
            relu = None
    else:
        rows = M[ivs]  # old points (tau = 0) are copied; new ones interpolated
        new = np.flatnonzero(taus > 0)
        if new.size:
            _lerp_rows(rows, new, rows, new, M, nx[new], taus[new, None])
        rows[zr, zcl] = 0.0
    # the child's points: its rows' and, between them, those without rows
    rf = ctx["row_full"][a:b]
    f0, f1 = int(rf[0]), int(rf[-1])
    t = ctx["t_full"][f0:f1 + 1]
    rp = rf - f0
    parent = ctx["parent_full"][f0:f1]  # the parent's interval that each interval lies in
    within = np.searchsorted(rp, np.arange(f1 - f0), side="right") - 1  # and the rows' interval
    if rows is not None:
        zc = rows[:, za:zb]
        if geom is not None:
            pooled, bits = _pool_stage_2d(graph, s, geom, zc, ctx["noise"])
        elif relu is None:
            bits = _stage_bits_1d(graph, s, zc[:-1], zc[1:], ctx["noise"])
    packed = pack_bits(bits)
    del bits
    digs, pats = ctx["digs"], ctx["pats"]
    rows_b = [row.tobytes() for row in packed]  # an interval between rows may hold several
    new_d = [digest_chain(digs[p], rows_b[r]) for p, r in zip(parent, within)]
    new_p = None if pats is None else [pats[p] + [packed[r]] for p, r in zip(parent, within)]
    if rows is not None:
        vals = _unpack(rows, ctx["layout"], copy=False)
    del rows
    if relu is not None:
        import torch

        pooled = torch.from_numpy(relu).reshape(graph.nonlinear_input(vals, s).shape)
    graph.apply_nonlinear(vals, s, out=pooled)
    hint = None
    if ctx["hint_pos"] is not None:
        sel = (ctx["hint_pos"] >= a) & (ctx["hint_pos"] < b)
        hint = (ctx["hint_pos"][sel] - a, ctx["hint_col"][sel])
    act = _affine_points(vals, t[rp], np.ones(b - a, dtype=bool),
                         graph.steps[graph.stages[s].step].node, hint)
    return s + 1, t, vals, rp, act, new_d, new_p


def _place_points(t, ra, iv, tau):
    """Place a chunk's new points ``(iv, tau)`` (from :func:`_merge_points`: sorted, in the
    intervals ``[t[ra[i]], t[ra[i + 1]]]`` between its active points ``ra``) among all its
    points ``t``, of which those between active points have no rows.

    A new point within ``SLICE_MERGE_RTOL`` (of its interval's length) of a point without a row
    is that point, which gets a row again (several such new points are one); one that rounds to
    an interval end is dropped; the others are inserted into ``t``.

    Returns ``(kept, iv, tau, q, t_new, row_full_old, row_full_new, parent)``: the index of the
    new point that each input point became (``-1``: dropped), the kept points' ``iv`` and
    ``tau`` (a reused point's own), the point each reuses (``-1``: inserted), the refined
    points ``t_new``, the positions in ``t_new`` of the active points and of the kept new
    points, and for each interval of ``t_new`` the interval of ``t`` it lies in.

    Examples
    --------
    Rows at ``t = 0, 0.5, 1``; ``0.25`` has none. A new point at ``0.75`` is inserted, one at
    ``0.25`` (up to rounding) is that point:

    >>> t = np.array([0.0, 0.25, 0.5, 1.0])
    >>> kept, iv, tau, q, t_new, _, _, parent = _place_points(t, np.array([0, 2, 3]),
    ...                                                        np.array([0, 1]), np.array([0.5, 0.5]))
    >>> q.tolist(), t_new.tolist(), parent.tolist()
    ([1, -1], [0.0, 0.25, 0.5, 0.75, 1.0], [0, 1, 2, 2])
    """
    n = len(t)
    tr = t[ra]
    L, R = tr[iv], tr[iv + 1]
    tn = L + tau * (R - L)
    valid = (tn > L) & (tn < R)
    q = np.full(iv.size, -1, dtype=np.int64)
    dup = np.zeros(iv.size, dtype=bool)
    if iv.size and len(ra) < n:
        lo_f, hi_f = ra[iv], ra[iv + 1]
        pos = np.searchsorted(t, tn)  # t[pos - 1] < tn <= t[pos]
        tolt = tol.SLICE_MERGE_RTOL * (R - L)
        pa, pb = np.maximum(pos - 1, 0), np.minimum(pos, n - 1)
        da = np.where(pa > lo_f, tn - t[pa], np.inf)   # points without rows only
        db = np.where(pb < hi_f, t[pb] - tn, np.inf)
        q = np.where((da <= tolt) & (da <= db), pa, np.where(db <= tolt, pb, -1))
        q[~valid] = -1
        dup[1:] = (q[1:] >= 0) & (q[1:] == q[:-1])
    idx = np.arange(iv.size)
    first = np.maximum.accumulate(np.where(dup, 0, idx)) if iv.size else idx
    keep = valid & ~dup
    rank = np.cumsum(keep) - 1
    kept = np.where(valid, rank[first], -1) if iv.size else idx
    reuse = q >= 0
    tau = np.where(reuse, (t[np.maximum(q, 0)] - L) / np.where(R > L, R - L, 1.0), tau)[keep]
    iv, q, tn = iv[keep], q[keep], tn[keep]
    ins = q < 0
    pos_ins = np.searchsorted(t, tn[ins])
    t_new = np.insert(t, pos_ins, tn[ins])
    old_pos = np.arange(n) + np.searchsorted(pos_ins, np.arange(n), side="right")
    new_pos = np.empty(q.size, dtype=np.int64)
    new_pos[ins] = pos_ins + np.arange(pos_ins.size)
    new_pos[~ins] = old_pos[q[~ins]]
    parent = np.searchsorted(old_pos, np.arange(len(t_new) - 1), side="right") - 1
    return kept, iv, tau, q, t_new, old_pos[ra], new_pos, parent


@dataclass
class _SegmentRun:
    """What a depth-first run over some chunks of a segment found, in segment order."""

    t: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    digests: list = field(default_factory=list)
    patterns: list = field(default_factory=list)
    n_eval: int = 0
    n_chunks: int = 0
    n_skipped: int = 0
    per_stage: np.ndarray | None = None

    @classmethod
    def empty(cls, n_stages: int) -> "_SegmentRun":
        return cls(per_stage=np.zeros(n_stages, dtype=np.int64))

    def add(self, other: "_SegmentRun") -> None:
        self.t.extend(other.t)
        self.outputs.extend(other.outputs)
        self.digests.extend(other.digests)
        self.patterns.extend(other.patterns)
        self.n_eval += other.n_eval
        self.n_chunks += other.n_chunks
        self.n_skipped += other.n_skipped
        self.per_stage += other.per_stage


def _segment_step(graph, item, chunk_elems, run: _SegmentRun):
    """Process one chunk of a segment: at the output, record its breakpoints, outputs and
    digests in ``run`` and return ``[]``; else refine it at its stage and return its children
    (lazy: materialised when processed), in segment order."""
    if item[0] == "lazy":
        item = _child_chunk(graph, *item[1:])
    s, t, values, rp, active, digs, pats = item
    run.n_chunks += 1
    active = active.copy()
    active[0] = active[-1] = True
    ra = rp[active]  # the active points: rows of the frontier below
    run.n_eval += ra.size
    run.n_skipped += len(t) - ra.size
    if s == graph.n_stages:
        _, _, O = _run_active(graph, values, active, s)
        run.t.append(t)
        run.outputs.append(_lerp_inactive(O, t, ra))
        run.digests.extend(digs)
        if pats is not None:
            run.patterns.extend(pats)
        return []
    st = graph.stages[s]
    M, layout, _ = _run_active(graph, values, active, s)
    del values
    m = M.shape[0] - 1
    za, zb = _columns(graph, s, layout)
    Z = M[:, za:zb]
    noise = tol.SLICE_NOISE_RTOL * _abs_max(Z)
    cut_iv = cut_k = None
    if st.kind == "relu":
        # candidates: a sign change at all (cheap), then the test with its threshold
        pos = Z > 0
        iv, k = _consecutive_changes(pos)
        del pos
        zl, zr = Z[iv, k], Z[iv + 1, k]
        th = np.maximum(tol.SLICE_ZERO_RTOL * np.maximum(np.abs(zl), np.abs(zr)), noise)
        cross = ((zl > th) & (zr < -th)) | ((zl < -th) & (zr > th))
        iv, k, zl, zr = iv[cross], k[cross], zl[cross], zr[cross]
        tau = zl / (zl - zr)
        cut_iv, cut_k = iv, k
    else:
        am = _point_winners(graph, s, Z).T
        iv, w = _consecutive_changes(am)
        del am
        Wi = graph.window_index(s)[w]  # the windows' entries (NaN at padding: never wins)
        pad = Wi < 0
        Wi[pad] = 0
        Lc = Z[iv[:, None], Wi]
        Rc = Z[iv[:, None] + 1, Wi]
        Lc[pad] = np.nan
        Rc[pad] = np.nan
        fin = np.isfinite(Lc) & np.isfinite(Rc)
        sc = np.maximum(np.where(fin, np.abs(Lc), 0).max(axis=1, initial=0.0),
                        np.where(fin, np.abs(Rc), 0).max(axis=1, initial=0.0))
        r, tau = upper_envelope(Lc, Rc, np.maximum(sc, noise / tol.SLICE_ZERO_RTOL))
        iv = iv[r]
        cut_k = w[r]  # the window (a column of the pool's output)
    iv, tau, assign = _merge_points(iv.astype(np.int64), tau)
    # new points between active points: inserted, or a point without a row that gets one again
    kept, iv, tau, reused, t_new, full_old, full_new, parent_full = _place_points(t, ra, iv, tau)
    assign = np.where(assign >= 0, kept[np.maximum(assign, 0)], -1) if kept.size else assign
    run.per_stage[s] += int((reused < 0).sum())
    # the refined row sequence: old row i is (i, 0); new points (iv, tau)
    all_iv = np.concatenate([np.arange(m + 1), iv])
    all_tau = np.concatenate([np.zeros(m + 1), tau])
    order = np.lexsort((all_tau, all_iv))
    all_iv, all_tau = all_iv[order], all_tau[order]
    row_full = np.concatenate([full_old, full_new])[order]
    if row_full.size > 1 and not (np.diff(row_full) > 0).all():
        from .errors import InconsistentDecompositionError

        raise InconsistentDecompositionError(
            f"stage {s}: the breakpoints of a segment chunk near t = {t[0]:.17g} .. {t[-1]:.17g} came "
            f"out of order (crossings within SLICE_MERGE_RTOL = {tol.SLICE_MERGE_RTOL:g} of several "
            "points); the pieces cannot be trusted: report the model and segment")
    at = np.empty(order.size, dtype=np.int64)
    at[order] = np.arange(order.size)  # where each old row and new point went
    # where each crossing neuron vanishes: (position in the refined sequence, column)
    zero_pos = zero_col = hint_pos = hint_col = None
    if (assign >= 0).any():
        ok = assign >= 0
        # a new point's slope change shows in its own neuron's (window's) output column
        hint_pos = at[m + 1 + assign[ok]]
        hint_col = cut_k[ok]
        if cut_iv is not None:
            zero_pos, zero_col = hint_pos, za + cut_k[ok]
    nxt_iv = np.minimum(all_iv + 1, m)
    n_new = all_iv.size
    F = M.shape[1]
    per = max(3, int(chunk_elems // max(F, 1)))
    pieces = []
    start = 0
    while start < n_new - 1:
        stop = min(n_new, start + per)
        pieces.append((start, stop))
        start = stop - 1
    # children are materialised when processed: memory holds this chunk's frontier, not all of theirs
    ctx = dict(M=M, layout=layout, s=s, all_iv=all_iv, all_tau=all_tau, nxt_iv=nxt_iv,
               zero_pos=zero_pos, zero_col=zero_col, hint_pos=hint_pos, hint_col=hint_col,
               za=za, zb=zb, noise=noise, digs=digs, pats=pats,
               t_full=t_new, row_full=row_full, parent_full=parent_full)
    return [("lazy", ctx, a, b) for a, b in pieces]


def _segment_depth_first(graph, items, chunk_elems, bar=None) -> _SegmentRun:
    """Process ``items`` (chunks in segment order) and all their descendants depth first: the
    memory holds one chunk's frontier per stage."""
    run = _SegmentRun.empty(graph.n_stages)
    stack = list(reversed(items))
    while stack:
        before = len(run.digests)
        stack.extend(reversed(_segment_step(graph, stack.pop(), chunk_elems, run)))
        if bar is not None and len(run.digests) > before:
            bar.update(len(run.digests) - before)
    return run


#: Chunks per worker that a parallel segment refinement hands out (``n_jobs > 1``): the
#: parent refines the segment breadth first until it has this many per worker (or none is left
#: to refine), and the workers take them in turn, so a slow chunk does not hold the others up.
SEGMENT_TASKS_PER_JOB = 4
#: Seconds between checks, while the parent waits for a parallel refinement's results, that
#: no worker died.
WORKER_POLL_S = 1.0


def _segment_worker(graph, items, chunk_elems, tasks, results):
    """A forked worker of :func:`_segment_parallel`: refine ``items[i]`` for every index ``i`` it
    takes from ``tasks`` (until ``None``) and send ``(i, run)``, or ``(i, exception)``."""
    import pickle
    import traceback

    import torch

    torch.set_num_threads(1)
    while True:
        i = tasks.get()
        if i is None:
            return
        try:
            results.put((i, _segment_depth_first(graph, [items[i]], chunk_elems)))
        except BaseException as e:  # the parent raises it
            try:
                pickle.dumps(e)
            except Exception:
                e = RuntimeError(f"a worker of the parallel segment refinement failed:\n"
                                 f"{traceback.format_exc()}")
            results.put((i, e))
            return


def _segment_parallel(graph, root, chunk_elems, n_jobs, bar) -> _SegmentRun:
    """Refine the segment's chunks on ``n_jobs`` forked processes (the same chunks, each
    refined the same way, as :func:`_segment_depth_first`: the same numbers for any ``n_jobs``).

    The chunks live in the parent before the workers are forked, so a worker reads them (and
    the graph) from the memory it inherits; only each chunk's result travels back.
    """
    import multiprocessing as mp

    from .kernels import use_compiled

    if use_compiled(None):  # load the compiled kernels once, before the fork
        from .kernels import affine, child  # noqa: F401
        if any(st.kind == "max" for st in graph.stages):
            from .kernels import pool  # noqa: F401

    def empty():
        return _SegmentRun.empty(graph.n_stages)

    # breadth first in the parent: a list of chunks still to refine and of finished runs, in
    # segment order; the parent's counts for chunks it split go to ``counts``
    level, counts = [root], empty()
    while True:
        n_pending = sum(not isinstance(x, _SegmentRun) for x in level)
        if n_pending == 0 or n_pending >= SEGMENT_TASKS_PER_JOB * n_jobs:
            break
        nxt = []
        for x in level:
            if isinstance(x, _SegmentRun):
                nxt.append(x)
                continue
            run = empty()
            children = _segment_step(graph, x, chunk_elems, run)
            if children:
                counts.add(run)
                nxt.extend(children)
            else:
                nxt.append(run)
                if bar is not None:
                    bar.update(len(run.digests))
        level = nxt
    done = {i: x for i, x in enumerate(level) if isinstance(x, _SegmentRun)}
    pending = [i for i in range(len(level)) if i not in done]
    runs = dict(done)
    if pending:
        import queue

        ctx = mp.get_context("fork")
        tasks, results = ctx.SimpleQueue(), ctx.Queue()
        workers = [ctx.Process(target=_segment_worker, args=(graph, level, chunk_elems, tasks, results),
                               daemon=True) for _ in range(min(n_jobs, len(pending)))]
        for w in workers:
            w.start()
        try:
            for i in pending:
                tasks.put(i)
            for _ in workers:
                tasks.put(None)
            while len(runs) < len(level):
                try:
                    i, run = results.get(timeout=WORKER_POLL_S)
                except queue.Empty:
                    dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
                    if dead:
                        raise RuntimeError(
                            f"a worker of the parallel segment refinement died (exit code {dead[0]}; "
                            "out of memory?); rerun with n_jobs=1 or a smaller chunk_elems") from None
                    continue
                if isinstance(run, BaseException):
                    raise run
                runs[i] = run
                if bar is not None:
                    bar.update(len(run.digests))
        finally:
            for w in workers:
                if w.is_alive():
                    w.terminate()
                w.join()
    total = counts
    for i in range(len(level)):
        total.add(runs[i])
    return total


@_on_large_array_heap
def refine_segment(graph: PLGraph, lo: float, hi: float, to_input, *, keep_patterns: bool = False,
                   chunk_elems: int = CHUNK_ELEMS, progress: bool = False,
                   n_jobs: int = 1) -> SegmentPieces:
    """Exact pieces of ``graph`` on the segment ``t -> to_input(t)``, ``t`` in ``[lo, hi]``.

    ``to_input`` maps ``(m, 1)`` slice coordinates to ``(m, D)`` inputs (an affine map).
    See the module docstring for the algorithm. With ``n_jobs > 1`` the chunks are refined on
    that many forked processes (at most one per CPU) (where the platform can fork; see ``_segment_parallel``),
    with the same result as ``n_jobs=1``.

    Examples
    --------
    The exact pieces of a traced 2 -> 2 -> 1 model on the segment from ``(-1, -2)`` to ``(1, 2)``:
    both neurons switch at ``t = 1/2``.

    >>> import numpy as np
    >>> import torch
    >>> from relutopo.pl_graph import pl_graph
    >>> lin = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.eye(2)); _ = lin.bias.zero_()
    >>> g = pl_graph(torch.nn.Sequential(lin, torch.nn.ReLU(), torch.nn.Linear(2, 1)), (2,))
    >>> a, b = np.array([-1.0, -2.0]), np.array([1.0, 2.0])
    >>> pieces = refine_segment(g, 0.0, 1.0, lambda t: a + t * (b - a))
    >>> pieces.t.tolist(), len(pieces.digests)
    ([0.0, 0.5, 1.0], 2)
    """
    import multiprocessing as mp
    import os
    import warnings

    from tqdm.auto import tqdm

    from .validation import check_n_jobs

    # more workers than CPUs gain nothing, and the parent would cut (and hold) ever more chunks
    n_jobs = min(check_n_jobs(n_jobs), os.cpu_count() or 1)
    if n_jobs > 1 and "fork" not in mp.get_all_start_methods():
        warnings.warn(f"n_jobs={n_jobs}: this platform cannot fork worker processes (the parallel "
                      "segment refinement shares the model with them by forking); refining on one "
                      "process", RuntimeWarning, stacklevel=2)
        n_jobs = 1
    if n_jobs > 1 and mp.current_process().daemon:
        warnings.warn(f"n_jobs={n_jobs}: this is a daemonic worker process, which cannot start "
                      "processes of its own; refining on one process", RuntimeWarning, stacklevel=2)
        n_jobs = 1
    t0 = np.array([float(lo), float(hi)]) + 0.0  # an end at -0.0 is the breakpoint 0.0
    values = graph.initial_values(to_input(t0[:, None]))
    root = (0, t0, values, np.arange(2), np.ones(2, dtype=bool), [DIGEST_SEED],
            [[]] if keep_patterns else None)
    # items: a chunk (stage, t, values, rows' positions in t, which rows are active, digests,
    # patterns) or ("lazy", parent ctx, a, b)
    bar = tqdm(desc="segment pieces", unit="piece", disable=not progress, leave=False)
    try:
        if n_jobs > 1:
            run = _segment_parallel(graph, root, chunk_elems, n_jobs, bar)
        else:
            run = _segment_depth_first(graph, [root], chunk_elems, bar)
    finally:
        bar.close()
    out_t, out_o = run.t, run.outputs
    # assemble (chunks share their end points)
    t_all = [out_t[0]] + [x[1:] for x in out_t[1:]] if out_t else [np.zeros(1)]
    o_all = [out_o[0]] + [x[1:] for x in out_o[1:]] if out_o else [np.zeros((1, graph.output_dim))]
    t = np.concatenate(t_all)
    O = np.concatenate(o_all, axis=0)
    D = np.frombuffer(b"".join(run.digests), dtype=np.uint8).reshape(-1, DIGEST_BYTES).copy()
    P = _assemble_patterns(graph, run.patterns) if keep_patterns else None
    return SegmentPieces(t=t, outputs=O, digests=D, packed_patterns=P,
                         stats={"vertex_evaluations": int(run.n_eval), "chunks": int(run.n_chunks),
                                "skipped_evaluations": int(run.n_skipped),
                                "breakpoints_per_stage": run.per_stage.tolist()})


# ============================================================================ 2-D
class _Mesh:
    """Vertices (coordinates and live values, growing buffers) and convex cells of one chunk."""

    def __init__(self, P, M, layout, cells, digs, pats):
        self.n = P.shape[0]
        self.P = P
        self.M = M
        self.layout = layout
        self.cells = cells
        self.digs = digs
        self.pats = pats
        self.cache = {}

    def reserve(self, extra):
        need = self.n + extra
        if need > self.P.shape[0]:
            cap = max(need, 2 * self.P.shape[0])
            P = np.empty((cap, 2))
            P[:self.n] = self.P[:self.n]
            M = np.empty((cap, self.M.shape[1]))
            M[:self.n] = self.M[:self.n]
            self.P, self.M = P, M

    def vertex(self, a, b, va, vb, key, zero_col=None):
        """The point where the function with values ``va`` at ``a`` and ``vb`` at ``b`` (opposite
        signs) vanishes on edge ``ab``; shared with the neighbour cutting the same edge."""
        if a > b:
            a, b, va, vb = b, a, vb, va
        ck = (a, b, key)
        hit = self.cache.get(ck)
        if hit is not None:
            return hit
        f = va / (va - vb)
        self.reserve(1)
        i = self.n
        self.P[i] = self.P[a] + f * (self.P[b] - self.P[a])
        self.M[i] = self.M[a] + f * (self.M[b] - self.M[a])
        if zero_col is not None:
            self.M[i, zero_col] = 0.0
        self.n += 1
        self.cache[ck] = i
        return i


def _split(mesh: _Mesh, ids, v, th, key, zero_col=None):
    """Both halves (``v <= 0``, ``v >= 0``) of convex cell ``ids`` (counter-clockwise)."""
    s = np.where(v > th, 1, np.where(v < -th, -1, 0)).tolist()
    idl = ids.tolist()
    vl = v.tolist()
    nv = len(idl)
    neg, pos = [], []
    for i in range(nv):
        j = i + 1 if i + 1 < nv else 0
        si, sj = s[i], s[j]
        if si <= 0:
            neg.append(idl[i])
        if si >= 0:
            pos.append(idl[i])
        if si * sj < 0:
            w = mesh.vertex(idl[i], idl[j], vl[i], vl[j], key, zero_col)
            neg.append(w)
            pos.append(w)
    return np.array(neg, dtype=np.int64), np.array(pos, dtype=np.int64)


def _cut_relu(mesh: _Mesh, ids, bits, cand, th_all, z0):
    """Cut one cell by the zero lines of the candidate neurons; yields ``(ids, bits)``."""
    out = []
    items = [(ids, bits, cand)]
    while items:
        ids, bits, cand = items.pop()
        if cand.size == 0:
            out.append((ids, bits))
            continue
        Z = mesh.M[ids[:, None], z0 + cand[None, :]]
        th = th_all[cand]
        pos = (Z > th).any(axis=0)
        neg = (Z < -th).any(axis=0)
        cr = pos & neg
        nc = ~cr
        bits[cand[nc]] = pos[nc]
        if not cr.any():
            out.append((ids, bits))
            continue
        rest = cand[cr]
        k = int(rest[0])
        lo, hi = _split(mesh, ids, Z[:, np.flatnonzero(cr)[0]], th_all[k], k, z0 + k)
        b0 = bits.copy()
        b0[k] = False
        bits[k] = True
        items.append((lo, b0, rest[1:]))
        items.append((hi, bits, rest[1:]))
    return out


def _clip_keep(mesh, ids, v, th, key):
    """The part ``v >= 0`` of cell ``ids``: ``None`` when it has no interior."""
    if not (v > th).any():
        return None
    if not (v < -th).any():
        return ids
    return _split(mesh, ids, v, th, key)[1]


def _winner_cells(mesh, ids, cols, th, wkey):
    """Split cell ``ids`` into the winner regions of the entries in columns ``cols``
    (first entry wins ties): list of ``(entry position, ids)``."""
    E = mesh.M[ids[:, None], cols[None, :]]
    K = len(cols)
    cand = []
    for j in range(K):
        dominated = False
        for i in range(K):
            if i == j:
                continue
            d = E[:, i] - E[:, j]
            if (d > th).all() or (i < j and (np.abs(d) <= th).all()):
                dominated = True
                break
        if not dominated:
            cand.append(j)
    if len(cand) == 1:
        return [(cand[0], ids)]
    out = []
    for j in cand:
        poly = ids
        for i in cand:
            if i == j:
                continue
            v = mesh.M[poly, cols[j]] - mesh.M[poly, cols[i]]
            if (np.abs(v) <= th).all():
                if i < j:
                    poly = None
                    break
                continue
            poly = _clip_keep(mesh, poly, v, th, (wkey, min(i, j), max(i, j)))
            if poly is None:
                break
        if poly is not None and len(poly) >= 3:
            out.append((j, poly))
    return out


def _cut_max(mesh, ids, winners, cand_w, W, th_w, z0):
    out = []
    items = [(ids, winners, cand_w)]
    while items:
        ids, win, cw = items.pop()
        if cw.size == 0:
            out.append((ids, win))
            continue
        Wc = W[cw]                                  # (R, K)
        valid = Wc >= 0
        E = mesh.M[ids[:, None, None], z0 + np.where(valid, Wc, 0)[None]]
        E = np.where(valid[None], E, -np.inf)       # (nv, R, K)
        th = th_w[cw]
        top = E.max(axis=2)
        is_c = E >= (top - th[None, :])[:, :, None]
        common = is_c.all(axis=0)                   # (R, K)
        uni = common.any(axis=1)
        win[cw[uni]] = np.argmax(common[uni], axis=1)
        if uni.all():
            out.append((ids, win))
            continue
        rest = cw[~uni]
        w = int(rest[0])
        ks = np.flatnonzero(W[w] >= 0)
        cols = z0 + W[w, ks]
        for j, poly in _winner_cells(mesh, ids, cols, float(th_w[w]), ("max", w)):
            wj = win.copy()
            wj[w] = ks[j]
            items.append((poly, wj, rest[1:]))
    return out


@dataclass
class PlanePieces:
    """The cells of a plane slice.

    Attributes
    ----------
    polygons : list of (nv, 2) arrays, counter-clockwise, in slice coordinates
    output_maps : (n, n_out, 3) -- the output on cell ``i`` is ``A[:, :2] @ u + A[:, 2]``
    digests : (n, DIGEST_BYTES) uint8
    packed_patterns : (n, ceil(n_bits / 8)) uint8 or None
    stats : dict

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from relutopo.pl_graph import pl_graph
    >>> g = pl_graph(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)), (2,))
    >>> p = refine_plane(g, [-1.0, -1.0], [1.0, 1.0], lambda u: u, keep_patterns=True)
    >>> len(p.polygons) == len(p.output_maps) == len(p.digests) == len(p.packed_patterns)
    True
    """

    polygons: list
    output_maps: np.ndarray
    digests: np.ndarray
    packed_patterns: np.ndarray | None
    stats: dict = field(default_factory=dict)


def _fit_affine(polys_P, polys_O):
    """Per cell the affine map through its vertex outputs (least squares on centred coordinates;
    exact for affine data)."""
    sizes = np.array([len(p) for p in polys_P])
    P = np.concatenate(polys_P)
    O = np.concatenate(polys_O)
    off = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    cell = np.repeat(np.arange(len(sizes)), sizes)
    cen = np.add.reduceat(P, off, axis=0) / sizes[:, None]
    Q = P - cen[cell]
    X = np.concatenate([Q, np.ones((len(Q), 1))], axis=1)          # (V, 3)
    G = np.einsum("vi,vj->vij", X, X)
    G = np.add.reduceat(G, off, axis=0)                             # (n, 3, 3)
    R = np.add.reduceat(np.einsum("vi,vo->vio", X, O), off, axis=0)  # (n, 3, n_out)
    sol = np.linalg.solve(G, R)                                     # (n, 3, n_out)
    A = np.transpose(sol, (0, 2, 1)).copy()                         # (n, n_out, 3)
    A[:, :, 2] -= np.einsum("noi,ni->no", A[:, :, :2], cen)
    return A


@_on_large_array_heap
def refine_plane(graph: PLGraph, box_lo, box_hi, to_input, *, keep_patterns: bool = False,
                 chunk_elems: int = CHUNK_ELEMS, progress: bool = False) -> PlanePieces:
    """Exact cells of ``graph`` on the plane ``u -> to_input(u)``, ``u`` in the box.

    ``to_input`` maps ``(m, 2)`` slice coordinates to ``(m, D)`` inputs (an affine map).
    See the module docstring for the algorithm.

    Examples
    --------
    The four quadrants of a traced 2 -> 2 -> 1 model on the square ``[-1, 1]^2``:

    >>> import numpy as np
    >>> import torch
    >>> from relutopo.pl_graph import pl_graph
    >>> lin = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.eye(2)); _ = lin.bias.zero_()
    >>> g = pl_graph(torch.nn.Sequential(lin, torch.nn.ReLU(), torch.nn.Linear(2, 1)), (2,))
    >>> cells = refine_plane(g, [-1.0, -1.0], [1.0, 1.0], lambda u: u)
    >>> len(cells.polygons), sorted(len(p) for p in cells.polygons), cells.output_maps.shape
    (4, [4, 4, 4, 4], (4, 1, 3))
    """
    from tqdm.auto import tqdm

    (x0, y0), (x1, y1) = box_lo, box_hi
    P0 = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    values = graph.initial_values(to_input(P0))
    stack = [(0, P0, values, [np.arange(4, dtype=np.int64)], [DIGEST_SEED], [[]] if keep_patterns else None)]
    res_P, res_O, res_d, res_p = [], [], [], []
    n_eval = n_chunks = 0
    bar = tqdm(desc="plane cells", unit="cell", disable=not progress, leave=False)
    while stack:
        s, P, values, cells, digs, pats = stack.pop()
        n_chunks += 1
        if s == graph.n_stages:
            O = graph.run_to(values, s).numpy()
            for ids in cells:
                res_P.append(P[ids])
                res_O.append(O[ids])
            res_d.extend(digs)
            if pats is not None:
                res_p.extend(pats)
            bar.update(len(cells))
            continue
        graph.run_to(values, s)
        M, layout = _pack(values)
        del values
        n_eval += M.shape[0]
        st = graph.stages[s]
        z0, z1 = _columns(graph, s, layout)
        nV = M.shape[0]
        mesh = _Mesh(np.concatenate([P, np.empty((nV, 2))]), np.concatenate([M, np.empty_like(M)]),
                     layout, cells, digs, pats)
        mesh.n = nV
        del M
        Z = mesh.M[:nV, z0:z1]
        sizes = np.array([len(c) for c in cells])
        flat = np.concatenate(cells)
        off = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        new_cells, new_d, new_p = [], [], ([] if pats is not None else None)

        def emit(c, sub, packed):
            new_cells.append(sub)
            new_d.append(digest_chain(digs[c], packed))
            if new_p is not None:
                new_p.append(pats[c] + [packed])

        noise = tol.SLICE_NOISE_RTOL * float(np.abs(Z).max(initial=0.0))
        if st.kind == "relu":
            th = np.maximum(tol.SLICE_ZERO_RTOL * np.abs(Z).max(axis=0), noise)
            S = (Z > th).astype(np.int8) - (Z < -th).astype(np.int8)
            Smax = np.maximum.reduceat(S[flat], off, axis=0)
            Smin = np.minimum.reduceat(S[flat], off, axis=0)
            del S
            base = Smax > 0
            crossing = base & (Smin < 0)
            cut = crossing.any(axis=1)
            packed_base = pack_bits(base)
            for c, ids in enumerate(cells):
                if not cut[c]:
                    emit(c, ids, packed_base[c])
                    continue
                for sub, b in _cut_relu(mesh, ids, base[c].copy(), np.flatnonzero(crossing[c]), th, z0):
                    emit(c, sub, pack_bits(b))
        else:
            W = graph.window_index(s)
            valid = W >= 0
            E = Z[:, np.where(valid, W, 0)]
            E = np.where(valid[None], E, -np.inf)                    # (nV, nw, K)
            th_w = np.maximum(tol.SLICE_ZERO_RTOL * np.where(np.isfinite(E), np.abs(E), 0.0).max(axis=(0, 2)),
                              noise)
            top = E.max(axis=2)
            is_c = E >= (top - th_w[None, :])[:, :, None]
            del E, top
            common = np.logical_and.reduceat(is_c[flat], off, axis=0)  # (C, nw, K)
            del is_c
            uni = common.any(axis=2)
            first = np.argmax(common, axis=2)
            K = W.shape[1]
            nw = W.shape[0]
            onehot = np.zeros((len(cells), nw, K), dtype=bool)
            np.put_along_axis(onehot, first[:, :, None], True, axis=2)
            packed_base = pack_bits(onehot.reshape(len(cells), -1))
            del onehot
            cut = ~uni.all(axis=1)
            for c, ids in enumerate(cells):
                if not cut[c]:
                    emit(c, ids, packed_base[c])
                    continue
                parts = _cut_max(mesh, ids, first[c].copy(), np.flatnonzero(~uni[c]), W, th_w, z0)
                for sub, wv in parts:
                    oh = np.zeros((nw, K), dtype=bool)
                    oh[np.arange(nw), wv] = True
                    emit(c, sub, pack_bits(oh.reshape(-1)))
        nV = mesh.n
        P, M = mesh.P[:nV], mesh.M[:nV]
        del mesh
        # split into chunks that fit the memory budget (vertices are copied per chunk)
        F = M.shape[1]
        groups = [np.arange(len(new_cells))]
        if nV * F > chunk_elems and len(new_cells) > 1:
            sizes = np.array([len(c) for c in new_cells])
            target = max(16, int(chunk_elems // max(F, 1)) // 2)
            bounds = np.searchsorted(np.cumsum(sizes), np.arange(target, sizes.sum(), target))
            groups = [g for g in np.split(np.arange(len(new_cells)), np.unique(bounds)) if g.size]
        for g in reversed(groups):
            if len(groups) == 1:
                sub_P, sub_M, sub_cells = P, M, new_cells
            else:
                used = np.unique(np.concatenate([new_cells[i] for i in g]))
                remap = np.full(nV, -1, dtype=np.int64)
                remap[used] = np.arange(used.size)
                sub_P, sub_M = P[used], M[used]
                sub_cells = [remap[new_cells[i]] for i in g]
            vals = _unpack(sub_M, layout)
            graph.apply_nonlinear(vals, s)
            stack.append((s + 1, sub_P, vals, sub_cells, [new_d[i] for i in g],
                          None if new_p is None else [new_p[i] for i in g]))
        del P, M
    bar.close()
    A = _fit_affine(res_P, res_O) if res_P else np.zeros((0, graph.output_dim, 3))
    D = np.frombuffer(b"".join(res_d), dtype=np.uint8).reshape(-1, DIGEST_BYTES).copy()
    Pk = _assemble_patterns(graph, res_p) if keep_patterns else None
    return PlanePieces(polygons=res_P, output_maps=A, digests=D, packed_patterns=Pk,
                       stats={"vertex_evaluations": int(n_eval), "chunks": int(n_chunks)})
