"""A refined segment chunk's rows, relu bits and relu values in one pass, compiled (numba).

When :mod:`relutopo.slice_refine` refines a segment chunk at a ReLU stage, each child chunk
needs its frontier rows (a parent row copied, or a new point's row interpolated between two
parent rows, with the crossing neuron set to an exact zero), the stage's bits on each interval
(``z_left + z_right > 2 * noise``: the sign at the midpoint) and the ReLU of the stage's input.
The numpy form makes a pass over the rows for each; this kernel writes a row, its zeros, the
bits of the interval that ends at it and its ReLU while the row is in the cache, with numpy's
and torch's operations: ``((R - L) * tau) + L`` as ``relutopo.slice_refine._lerp_rows``,
``(zL + zR) > noise2``, and ``torch.clamp(z, min=0)`` (``0.0`` where ``z < 0``, else ``z``:
``-0.0`` and NaN pass), so every float and bit is the same
(``tests/test_slice_refine.py`` compares both forms).
"""

from __future__ import annotations

from numba import njit

__all__ = ["child_rows"]

_SIGNATURE = ("void(float64[:, ::1], int64[::1], float64[::1], int64[::1], int64[::1], int64[::1], "
              "int64, int64, float64, float64[:, ::1], boolean[:, ::1], float64[:, ::1])")


@njit(_SIGNATURE, cache=True)
def child_rows(M, src, tau, nxt, zrow, zcol, za, zb, noise2, rows, bits, relu):
    """Row ``i`` of ``rows`` is ``M[src[i]]`` where ``tau[i] == 0``, else
    ``((M[nxt[i]] - M[src[i]]) * tau[i]) + M[src[i]]``; then ``rows[zrow[k], zcol[k]] = 0.0``
    (``zrow`` ascending); with ``za < zb``, ``bits[i - 1] = rows[i - 1, za:zb] + rows[i, za:zb] >
    noise2`` and ``relu[i] = clamp(rows[i, za:zb], min=0)``.

    Examples
    --------
    Two parent rows, a new point halfway whose first entry crosses zero:

    >>> import numpy as np
    >>> M = np.array([[-1.0, 2.0], [1.0, 4.0]])
    >>> rows, bits, relu = np.empty((3, 2)), np.empty((2, 2), dtype=bool), np.empty((3, 2))
    >>> child_rows(M, np.array([0, 0, 1]), np.array([0.0, 0.5, 0.0]), np.array([1, 1, 1]),
    ...            np.array([1]), np.array([0]), 0, 2, 0.0, rows, bits, relu)
    >>> rows.tolist(), bits.tolist(), relu[0].tolist()
    ([[-1.0, 2.0], [0.0, 3.0], [1.0, 4.0]], [[False, True], [True, True]], [0.0, 2.0])
    """
    n = src.size
    F = M.shape[1]
    k = 0
    for i in range(n):
        s = src[i]
        w = tau[i]
        if w > 0:
            t = nxt[i]
            for j in range(F):
                lo = M[s, j]
                d = M[t, j] - lo
                d = d * w
                rows[i, j] = d + lo
        else:
            for j in range(F):
                rows[i, j] = M[s, j]
        while k < zrow.size and zrow[k] == i:
            rows[i, zcol[k]] = 0.0
            k += 1
        if za < zb:
            if i > 0:
                for j in range(za, zb):
                    bits[i - 1, j - za] = rows[i - 1, j] + rows[i, j] > noise2
            for j in range(za, zb):
                z = rows[i, j]
                relu[i, j - za] = 0.0 if z < 0.0 else z
