"""Compiled kernels of the decomposition engine (numba), and the switch that selects them.

The engine has two interchangeable implementations of its inner loops, which give the same
decompositions (``tests/test_kernels.py`` compares patterns, facets and centres):

* the compiled kernels of this package (numba, ``@njit(cache=True)``: compiled on first use and
  cached on disk, so later processes load machine code instead of compiling again), and
* the pure-numpy path (:mod:`relutopo.vertex_refine`, :mod:`relutopo.chebyshev`, the polygon
  kernel of :mod:`relutopo.decompose`), used when numba is not installed or when switched off.

Selection: the ``compiled`` argument of :func:`relutopo.decompose.decompose` (``True``,
``False``, or ``None`` = the default below); the default is the environment variable
``RELUTOPO_NUMBA`` (``0``/``false``/``no``/``off``: numpy; anything else or unset: compiled when
numba can be imported).

Modules: :mod:`.centres` (certified Chebyshev centres, the port of :mod:`relutopo.chebyshev`),
:mod:`.polygon` (2-D boxes), :mod:`.vertex` (the double-description refinement in any ``d``),
:mod:`.crossing` (facet crossing), and for a segment's refinement in
:mod:`relutopo.slice_refine` (the same floats and bits as its numpy forms) :mod:`.child` (a
child chunk's rows, relu bits and values in one pass), :mod:`.pool` (the 2-D max-pool stage),
:mod:`.affine` (the affine-point scan).

Numba writes its cache next to these sources (``__pycache__``) when that folder is writable, else
in the user's cache folder (``NUMBA_CACHE_DIR`` overrides both), so a read-only installation
still caches.
"""

from __future__ import annotations

import os
from functools import lru_cache

__all__ = ["ENV_VAR", "numba_available", "use_compiled"]

#: Environment variable that switches the compiled kernels off (``0``) or on.
ENV_VAR = "RELUTOPO_NUMBA"

_OFF = ("0", "false", "no", "off")


@lru_cache(maxsize=1)
def numba_available() -> bool:
    """Whether numba can be imported (cached for the process)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def use_compiled(compiled: bool | None = None) -> bool:
    """Resolve the ``compiled`` argument of the engine: ``None`` reads ``RELUTOPO_NUMBA``.

    Examples
    --------
    >>> use_compiled(False)
    False
    """
    if compiled is None:
        compiled = os.environ.get(ENV_VAR, "1").strip().lower() not in _OFF
        return bool(compiled) and numba_available()
    if not isinstance(compiled, (bool, int)) or compiled not in (0, 1):
        raise ValueError(f"compiled must be True, False or None (read {ENV_VAR}); got compiled={compiled!r}")
    if compiled and not numba_available():
        raise ImportError("compiled=True needs numba (pip install numba); or pass compiled=False "
                          f"(or set {ENV_VAR}=0) for the numpy path")
    return bool(compiled)
