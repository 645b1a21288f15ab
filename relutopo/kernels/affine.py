"""The affine-point test of a segment's refinement, compiled (numba).

``relutopo.slice_refine._affine_points`` makes a point inactive when every value of the
frontier deviates from the interpolation of its two neighbours by at most a tolerance. The
numpy form scans blocks of columns for all candidate points at once (gathers of three rows per
point and block); these kernels scan each candidate's three rows in place, in column blocks of
``_BLOCK`` floats (counting the deviations above the threshold, a loop without branches), and
stop at the first block that shows a slope change. The deviation is
computed with numpy's operations in numpy's order, ``|(((R - L) * w) + L) - C|``, and a point
stays a candidate only where every deviation is ``<=`` its threshold (NaN is a slope change),
so the answer is the same (``tests/test_slice_refine.py`` compares both forms).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["scan_affine"]

#: Columns per block of the scan: the deviations above the threshold are counted over a block
#: without a branch per column, then tested.
_BLOCK = 256


@njit("void(float64[:, :], int64[:], float64[:], float64[:], boolean[:])", cache=True)
def scan_affine(A, cand, w, thr, alive):
    """For each candidate ``k`` still ``alive``: row ``i = cand[k]`` of ``A`` against the
    interpolation of rows ``i - 1`` and ``i + 1`` with weight ``w[k]``; ``alive[k]`` becomes
    ``False`` at the first deviation ``|(((R - L) * w) + L) - C|`` that is not ``<= thr[k]``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0], [4.0, 3.0]])
    >>> alive = np.ones(2, dtype=bool)
    >>> scan_affine(A, np.array([1, 2]), np.array([0.5, 0.5]), np.array([1e-12, 1e-12]), alive)
    >>> alive.tolist()
    [True, False]
    """
    F = A.shape[1]
    for k in range(cand.size):
        if not alive[k]:
            continue
        i = cand[k]
        wk = w[k]
        tk = thr[k]
        for c0 in range(0, F, _BLOCK):
            c1 = min(F, c0 + _BLOCK)
            over = 0
            for j in range(c0, c1):
                L = A[i - 1, j]
                d = A[i + 1, j] - L
                d = d * wk
                d = d + L
                d = d - A[i, j]
                d = d if d > -d else -d
                over += 0 if d <= tk else 1  # NaN counts
            if over:
                alive[k] = False
                break
