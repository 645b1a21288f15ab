"""The working frame's rescaling of hidden neurons, compiled (numba).

:func:`relutopo.normal_form.normal_form` scales each hidden neuron's row ``(w, b)`` by a power of
two ``2^-e`` to a largest entry in ``[1, 2)`` and the next layer's column by ``2^e`` (ReLU is
positively homogeneous: no bit vector changes). With numpy that is about ten array operations
per layer; this kernel does a layer in one pass, with the same operations on every entry
(``frexp`` of the row's largest magnitude, ``ldexp`` by the exponent -- a product by the power
of two when that is a normal number, the same correctly rounded result -- exact, or correctly
rounded where the result underflows), so the frame is the same to the bit
(``tests/test_normal_form.py``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["rows_to_order_one"]

#: exponents ``|e|`` up to which ``2^e`` is a normal float64, so that ``x * 2^e`` is exactly
#: ``ldexp(x, e)`` (one correctly rounded operation, also where the result is subnormal or
#: overflows); beyond, ``ldexp`` itself
_EXP = 1022


@njit(cache=True, error_model="numpy")
def rows_to_order_one(W, b, Wn, s, add_zero):
    """One hidden layer of the working frame: ``(W', b', Wn', first_finite, finite)``.

    The layer's weights are first ``W * s`` (the first layer absorbs the box side ``s``; ``1.0``
    for the others) and its biases ``b + 0.0`` where ``add_zero`` (as numpy's ``b + 0.0`` of a
    centred box: ``-0.0`` becomes ``0.0``), else ``b``; ``first_finite``: all of those are
    finite. Then rows ``(W[k], b[k])`` are multiplied by ``2^-e_k`` and columns ``Wn[:, k]`` by
    ``2^e_k``, ``e_k = frexp(max(max_j |W[k, j]|, |b[k]|))[1] - 1`` (a zero row has ``e_k = -1``
    and stays zero); ``finite``: every entry of ``Wn'`` is finite.

    Examples
    --------
    >>> import numpy as np
    >>> W2, b2, Wn2, _, ok = rows_to_order_one(np.array([[4.0, 1.0]]), np.array([-2.0]),
    ...                                        np.array([[3.0]]), 1.0, False)
    >>> W2.tolist(), b2.tolist(), Wn2.tolist(), ok
    ([[1.0, 0.25]], [-0.5], [[12.0]], True)
    """
    h, d = W.shape
    W2 = np.empty((h, d))
    b2 = np.empty(h)
    e = np.empty(h, dtype=np.int64)
    up = np.empty(h)
    first_finite = True
    for k in range(h):
        bk = b[k] + 0.0 if add_zero else b[k]
        first_finite &= math.isfinite(bk)
        top = abs(bk)
        for j in range(d):
            w = W[k, j] * s
            W2[k, j] = w
            first_finite &= math.isfinite(w)
            a = abs(w)
            top = a if a > top else top  # the largest magnitude (no nan here: all finite)
        ek = math.frexp(top)[1] - 1
        e[k] = ek
        if -_EXP <= ek <= _EXP:  # 2^-ek and 2^ek are normal numbers: a product is the ldexp
            down = math.ldexp(1.0, -ek)
            up[k] = math.ldexp(1.0, ek)
            for j in range(d):
                W2[k, j] = W2[k, j] * down
            b2[k] = bk * down
        else:
            up[k] = 0.0  # (not used: ldexp below)
            for j in range(d):
                W2[k, j] = math.ldexp(W2[k, j], -ek)
            b2[k] = math.ldexp(bk, -ek)
    m = Wn.shape[0]
    Wn2 = np.empty((m, h))
    finite = True
    for i in range(m):
        for k in range(h):
            if -_EXP <= e[k] <= _EXP:
                v = Wn[i, k] * up[k]
            else:
                v = math.ldexp(Wn[i, k], e[k])
            Wn2[i, k] = v
            finite &= math.isfinite(v)
    return W2, b2, Wn2, first_finite, finite
