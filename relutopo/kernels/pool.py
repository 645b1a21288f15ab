"""A segment's 2-D max-pool stage in one pass, compiled (numba).

On a segment, a 2-D max-pool stage needs, from the stage input at consecutive points (rows of
``Z``), the pooled maxima at every point and, for every interval between two points, the
winner of every window at the interval's midpoint (the first entry within the tolerance of the
maximum; see ``relutopo.slice_refine._winner_bits``). The numpy form
(``relutopo.slice_refine._pool_and_bits_2d``) builds a NaN-padded copy of the input, the
window views, the midpoints and a dozen passes over them; this kernel reads each input row once
while it is in the cache and computes the same floats with the same operations in the same
order: ``fmax`` / ``fmin`` over the window's entries in the kernel's C order as numpy's
array loops do (``fmax(a, b)`` is ``b`` unless ``b`` is NaN or ``a > b``, so a tie of ``-0.0``
and ``0.0`` gives the later entry), midpoints ``(x_r + x_{r+1}) * 0.5``, the threshold
``top - max(rtol * max(top, -low), noise)``, and the first entry at or above it
(``tests/test_slice_refine.py`` compares every float and bit with the numpy form).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["pool_and_bits_2d"]

#: Side of the square tiles in which a channel is transposed (points last).
_TILE = 16


#: The one signature, compiled (or loaded from numba's cache) when this module is imported: the
#: input rows in any layout (a chunk's column block is a strided view), so that a process that
#: forks workers can load the kernel once, before the fork.
_SIGNATURE = ("void(float64[:, :], int64[::1], float64[::1], int64[::1], " + "int64, " * 13
              + "float64, float64, float64[:, :], boolean[:, :])")


@njit(_SIGNATURE, cache=True)
def pool_and_bits_2d(Z, src, tau, nxt, C, H, W, o0, o1, k0, k1, s0, s1, p0, p1, d0, d1, noise, rtol,
                     pooled, bits):
    """Fill ``pooled`` ``(n, C * o0 * o1)`` with the windows' maxima at ``n`` rows of stage input
    ``(C * H * W)`` values and ``bits`` ``(n - 1, C * o0 * o1 * k0 * k1)`` with the one-hot
    winners at the intervals' midpoints (windows in the C order of the pool's output, entries in
    the kernel's C order; entries outside the ``H x W`` input are padding and never count).

    The rows are those of ``Z`` when ``src`` is empty; else row ``r`` is read from ``Z`` as a
    child chunk's row (``relutopo.kernels.child.child_rows``): ``Z[src[r]]`` where
    ``tau[r] == 0``, else ``((Z[nxt[r]] - Z[src[r]]) * tau[r]) + Z[src[r]]``, so that the
    rows need not be written out first.

    Examples
    --------
    One channel of 2 x 2 inputs, one 2 x 2 window, two points: the maximum moves from the first
    entry to the last, and at the midpoint the last entry is ahead.

    >>> import numpy as np
    >>> Z = np.array([[3.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 4.0]])
    >>> pooled, bits = np.empty((2, 1)), np.empty((1, 4), dtype=np.bool_)
    >>> none, no = np.zeros(0, dtype=np.int64), np.zeros(0)
    >>> pool_and_bits_2d(Z, none, no, none, 1, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0, 1, 1, 0.0, 1e-9, pooled, bits)
    >>> pooled.ravel().tolist(), bits.ravel().tolist()
    ([3.0, 4.0], [False, False, False, True])
    """
    lerp = src.size > 0
    n = src.size if lerp else Z.shape[0]
    K = k0 * k1
    units = o0 * o1
    HW = H * W
    rows = np.empty((units, K), dtype=np.int64)  # position h * W + w of each window entry (-1: padding)
    for oh in range(o0):
        for ow in range(o1):
            for i in range(k0):
                h = oh * s0 - p0 + i * d0
                for j in range(k1):
                    w = ow * s1 - p1 + j * d1
                    rows[oh * o1 + ow, i * k1 + j] = h * W + w if (0 <= h < H and 0 <= w < W) else -1
    T = np.empty((HW, n))  # one channel, points last: the loops over points run on contiguous memory
    M = np.empty((K, max(n - 1, 1)))  # the entries at the midpoints
    top = np.empty(n)
    low = np.empty(n)
    win = np.empty((units, max(n - 1, 1)), dtype=np.int64)  # the winners of one channel
    P = np.empty((units, n))  # the maxima of one channel
    for c in range(C):
        for r0 in range(0, n, _TILE):  # the channel transposed by tiles (both sides in the cache)
            r1 = min(n, r0 + _TILE)
            for q0 in range(0, HW, _TILE):
                q1 = min(HW, q0 + _TILE)
                for r in range(r0, r1):
                    if not lerp:
                        for q in range(q0, q1):
                            T[q, r] = Z[r, c * HW + q]
                        continue
                    a = src[r]
                    wr = tau[r]
                    if wr > 0:
                        b = nxt[r]
                        for q in range(q0, q1):
                            lo = Z[a, c * HW + q]
                            d = Z[b, c * HW + q] - lo
                            d = d * wr
                            T[q, r] = d + lo
                    else:
                        for q in range(q0, q1):
                            T[q, r] = Z[a, c * HW + q]
        for v in range(units):
            u = c * units + v
            first = True
            for e in range(K):  # pooled maxima: fmax over the entries, padding skipped
                q = rows[v, e]
                if q < 0:
                    continue
                if first:
                    for r in range(n):
                        top[r] = T[q, r]
                    first = False
                else:
                    for r in range(n):
                        x = T[q, r]
                        top[r] = top[r] if top[r] > x else x
            for r in range(n):
                P[v, r] = top[r]
            first = True
            for e in range(K):  # midpoints, their fmax and fmin
                q = rows[v, e]
                if q < 0:
                    for r in range(n - 1):
                        M[e, r] = np.nan
                    continue
                for r in range(n - 1):
                    M[e, r] = (T[q, r] + T[q, r + 1]) * 0.5
                if first:
                    for r in range(n - 1):
                        top[r] = M[e, r]
                        low[r] = M[e, r]
                    first = False
                else:
                    for r in range(n - 1):
                        x = M[e, r]
                        top[r] = top[r] if top[r] > x else x
                        low[r] = low[r] if low[r] < x else x
            for r in range(n - 1):
                big = top[r] if top[r] > -low[r] else -low[r]
                th = rtol * big
                if not (th > noise):
                    th = noise
                thr = top[r] - th
                w = 0
                for e in range(K - 1, -1, -1):
                    if M[e, r] >= thr:
                        w = e
                win[v, r] = w
        for r in range(n):  # the channel's maxima and one-hot winners, row by row (contiguous)
            for v in range(units):
                pooled[r, c * units + v] = P[v, r]
            if r == n - 1:
                break
            b0 = c * units * K
            for v in range(units):
                w = win[v, r]
                for e in range(K):
                    bits[r, b0 + v * K + e] = e == w
