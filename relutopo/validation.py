"""Checks of the arguments relutopo takes, in scikit-learn's ``check_*`` style.

Each ``check_*`` function takes the argument as the caller received it, returns it in the form
the library computes with (a :class:`~relutopo.domains.Box` or ``None``, a float64 array, a
tuple of read-only weight matrices), and raises an error that names the argument, shows its
value and says what was expected. Errors derive from :class:`relutopo.errors.RelutopoError` and
from the builtin they refine: :class:`~relutopo.errors.ValidationError` (a ``ValueError``) for a
bad value, :class:`~relutopo.errors.ValidationTypeError` (a ``TypeError``) for an argument of the
wrong kind. A module with its own error class (``ComplexError``, ``NetworkError``) passes it as
``error=`` so that its callers keep catching what they caught before.

The rules, one per kind of argument:

* **domain** (:func:`check_box`): a :class:`~relutopo.domains.Box` of the right dimension, or
  ``None`` for all of ``R^d`` where the computation allows it, or -- only where an API took one
  historically -- a positive half-width ``h`` meaning ``Box(-h, h, dim=d)``. The box must be
  representable at the library's resolution (``tolerances.CHEBYSHEV_RTOL`` times its longest
  side): a side that overflows float64 or a shortest side below the resolution raises
  :class:`~relutopo.errors.ScaleRangeError`.
* **points** (:func:`check_points`): a finite 2-D float array ``(n, d)``.
* **distance matrix** (:func:`check_distance_matrix`): square and non-empty, no NaN, entries
  ``>= 0``, symmetric within ``tolerances.DISTANCE_SYMMETRY_RTOL`` times its largest finite
  entry, and a zero diagonal; ``+inf`` ("unreachable", e.g. geodesic distances between two
  components) only where the caller allows it. This one rule replaces the two that
  ``relutopo.homology`` (finite, hollow) and ``relutopo.relative`` (``inf`` allowed, diagonal
  unchecked, absolute symmetry floor) used to apply.
* **worker count** (:func:`check_n_jobs`): a positive integer, or ``-1`` for every CPU, as
  joblib and scikit-learn take it.
* **weights** (:func:`check_weights`): one real, finite weight matrix and bias vector per layer,
  chaining (Liu et al. 2023, Sec. 2: layer ``i`` maps ``R^{h_{i-1}} -> R^{h_i}``).

Examples
--------
>>> import numpy as np
>>> from relutopo.domains import Box
>>> from relutopo.validation import check_box, check_points, check_distance_matrix
>>> check_box(None, dim=2) is None
True
>>> check_box(2.0, dim=3, half_width=True)
Box(-2, 2, dim=3)
>>> check_box(Box(-1, 1, dim=2), dim=3)
Traceback (most recent call last):
...
relutopo.errors.ValidationError: domain has dimension 2 but 3 was expected; use Box(lo, hi, dim=3)
>>> check_points([[0.0, 1.0]], dim=2).shape
(1, 2)
>>> check_distance_matrix([[0, 1], [1, 0]]).dtype
dtype('float64')
"""

from __future__ import annotations

import math
import numbers
from typing import Optional, Sequence

import numpy as np

from . import tolerances as tol
from .domains import Box
from .errors import ScaleRangeError, ValidationError, ValidationTypeError

#: boxes of at most this many dimensions are checked with Python floats (no array temporaries)
_FEW = 8

__all__ = ["check_box", "check_points", "check_distance_matrix", "check_weights", "check_n_jobs"]


def _show(value, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (arrays in error messages stay readable)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


# ------------------------------------------------------------------------------------ domain
def check_box(domain, *, dim: Optional[int] = None, name: str = "domain", owner: str = "",
              allow_none: bool = True, half_width: bool = False,
              error: type = ValidationError) -> Optional[Box]:
    """Validate a domain: a :class:`~relutopo.domains.Box`, ``None`` (all of ``R^d``), or a
    positive half-width where ``half_width=True``.

    Parameters
    ----------
    domain : Box, None or float
        The argument as received.
    dim : int, optional
        The dimension the box must have (the network's input dimension); required to turn a
        half-width into a box.
    name : str
        The argument's name, for messages.
    owner : str
        What takes the domain (e.g. ``repr(net)``), for the dimension message.
    allow_none : bool
        Whether ``None`` (all of ``R^d``) is accepted; where it is not, ``None`` raises.
    half_width : bool
        Accept a positive finite number ``h`` as ``Box(-h, h, dim=dim)`` (for the APIs that took
        a scalar box historically, e.g. ``overlap_decomposition``).
    error : type
        The class of value errors (a subclass of ``RelutopoError`` and ``ValueError``).

    Returns
    -------
    Box or None

    Raises
    ------
    ValidationTypeError
        ``domain`` is not a box (nor ``None``, nor a number where one is allowed).
    ValidationError
        (or the class given as ``error``) Wrong dimension, ``None`` where a box is needed, a non-positive half-width.
    ScaleRangeError
        A side that overflows float64, or a shortest side below the resolution
        ``CHEBYSHEV_RTOL`` times the longest one.

    Examples
    --------
    >>> from relutopo.domains import Box
    >>> check_box(Box([0, 0], [1, 2]), dim=2)
    Box(lo=[0.0, 0.0], hi=[1.0, 2.0])
    >>> check_box([0, 1])
    Traceback (most recent call last):
    ...
    relutopo.errors.ValidationTypeError: domain must be a relutopo.domains.Box or None (all of R^d); got list [0, 1]
    """
    if domain is None:
        if allow_none:
            return None
        raise error(f"{name}=None (all of R^d) is not allowed here: a bounded box is needed; pass "
                    f"{name}=Box(lo, hi{'' if dim is None else f', dim={dim}'})")
    if half_width and _is_number(domain):
        h = float(domain)
        if not (np.isfinite(h) and h > 0):
            raise error(f"{name} must be a positive finite half-width (or a Box); got {name}={domain!r}")
        if dim is None:
            raise error(f"{name}={domain!r} is a half-width, but the dimension of the box is unknown")
        domain = Box(-h, h, dim=dim)
    if not isinstance(domain, Box):
        kinds = "a relutopo.domains.Box" + (" or None (all of R^d)" if allow_none else "") \
            + (" or a positive half-width" if half_width else "")
        raise ValidationTypeError(f"{name} must be {kinds}; got {type(domain).__name__} {_show(domain)}")
    if dim is not None and domain.dim != int(dim):
        who = f" but {owner} takes {int(dim)} inputs" if owner else f" but {int(dim)} was expected"
        raise error(f"{name} has dimension {domain.dim}{who}; use Box(lo, hi, dim={int(dim)})")
    if domain.lo.shape[0] <= _FEW:  # Python floats: overflow gives inf, quietly
        widths = [h - lo for lo, h in zip(domain.lo.tolist(), domain.hi.tolist())]
        wmin, wmax = min(widths), max(widths)
    else:
        with np.errstate(over="ignore"):
            widths = domain.hi - domain.lo
        wmin, wmax = float(widths.min()), float(widths.max())
    if not math.isfinite(wmax):  # (the corners are finite: a side is inf or a number)
        raise ScaleRangeError(f"{name} {domain} has a side wider than float64 can represent (hi - lo "
                              "overflows ~1.8e308); use a smaller box, or domain=None for all of R^d")
    if 0.5 * wmin <= tol.CHEBYSHEV_RTOL * wmax:
        raise ScaleRangeError(
            f"{name} {domain} is too thin: its shortest side {wmin:.3g} is below the "
            f"resolution CHEBYSHEV_RTOL * longest side = {tol.CHEBYSHEV_RTOL * wmax:.3g} "
            "(relutopo.tolerances), so no region could be told from a lower-dimensional one; "
            "rescale the input coordinates so that the sides are comparable")
    return domain


# ------------------------------------------------------------------------------------ points
def check_points(X, *, dim: Optional[int] = None, name: str = "X", owner: str = "",
                 min_points: int = 0, allow_1d: bool = False, finite: bool = True,
                 error: type = ValidationError) -> np.ndarray:
    """Validate points: a 2-D float array ``(n, dim)``, finite unless ``finite=False``.

    Parameters
    ----------
    X : array-like
        The argument as received.
    dim : int, optional
        The number of coordinates each point must have.
    name, owner : str
        The argument's name and what takes it (e.g. ``repr(net)``), for messages.
    min_points : int
        The fewest points accepted.
    allow_1d : bool
        Read a 1-D array ``(dim,)`` as one point.
    finite : bool
        Refuse NaN and infinite coordinates.
    error : type
        The class of value errors (a subclass of ``RelutopoError`` and ``ValueError``).

    Returns
    -------
    ndarray of float64, shape ``(n, dim)``

    Examples
    --------
    >>> check_points([[0, 1], [2, 3]], dim=2).dtype
    dtype('float64')
    >>> check_points([[0, float("nan")]], dim=2)
    Traceback (most recent call last):
    ...
    relutopo.errors.ValidationError: X contains 1 NaN or infinite value(s) (first in row 0); give finite points
    """
    try:
        A = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise error(f"{name} cannot be read as a float array ({exc}); got {_show(X)}") from None
    if allow_1d and A.ndim == 1:
        A = A[None, :]
    shape = f"(n, {dim})" if dim is not None else "(n, d)"
    if A.ndim != 2 or (dim is not None and A.shape[1] != int(dim)):
        who = f" for {owner}" if owner else ""
        raise error(f"{name} must have shape {shape}{who}; got {np.shape(X)}")
    if finite:
        bad = ~np.isfinite(A)
        if bad.any():
            row = int(np.flatnonzero(bad.any(axis=1))[0])
            raise error(f"{name} contains {int(bad.sum())} NaN or infinite value(s) (first in row "
                        f"{row}); give finite points")
    if A.shape[0] < int(min_points):
        raise error(f"{name} needs at least {int(min_points)} points; got {A.shape[0]}")
    return A


# --------------------------------------------------------------------------- distance matrix
def check_distance_matrix(D, *, name: str = "D", allow_inf: bool = False,
                          error: type = ValidationError) -> np.ndarray:
    """Validate a distance matrix (the rule is stated in the module docstring).

    Parameters
    ----------
    D : array-like ``(n, n)``
        The argument as received.
    name : str
        The argument's name, for messages.
    allow_inf : bool
        Accept ``+inf`` entries ("unreachable"; symmetric ones only).
    error : type
        The class of value errors (a subclass of ``RelutopoError`` and ``ValueError``).

    Returns
    -------
    ndarray of float64 ``(n, n)`` (a new array)

    Examples
    --------
    >>> check_distance_matrix([[0, 1], [2, 0]])
    Traceback (most recent call last):
    ...
    relutopo.errors.ValidationError: D is not symmetric: D[0, 1] = 1.0 but D[1, 0] = 2.0
    >>> float(check_distance_matrix([[0, float("inf")], [float("inf"), 0]], allow_inf=True)[0, 1])
    inf
    """
    try:
        A = np.array(D, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise error(f"{name} cannot be read as a float matrix ({exc}); got {_show(D)}") from None
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise error(f"{name} must be a square distance matrix (n, n); got shape {A.shape}")
    if A.shape[0] == 0:
        raise error(f"{name} is empty (shape (0, 0)); give at least one point")
    if np.isnan(A).any():
        i, j = np.argwhere(np.isnan(A))[0]
        raise error(f"{name} has NaN entries (first {name}[{i}, {j}]); distances must be numbers")
    if np.any(A < 0):
        i, j = np.argwhere(A < 0)[0]
        raise error(f"{name}[{i}, {j}] = {A[i, j]} is negative; distances must be >= 0")
    inf = np.isinf(A)
    if inf.any() and not allow_inf:
        i, j = np.argwhere(inf)[0]
        raise error(f"{name}[{i}, {j}] = inf: {name} has infinite entries; distances must be finite "
                    "here")
    fin = ~inf
    big = float(A[fin].max(initial=0.0))
    with np.errstate(invalid="ignore"):
        asym = np.where(fin & fin.T, np.abs(A - A.T), np.where(inf == inf.T, 0.0, np.inf))
    if np.any(asym > tol.DISTANCE_SYMMETRY_RTOL * big):
        i, j = np.unravel_index(np.argmax(asym), A.shape)
        raise error(f"{name} is not symmetric: {name}[{i}, {j}] = {A[i, j]} but {name}[{j}, {i}] = "
                    f"{A[j, i]}")
    diag = np.diag(A)
    if np.any(diag != 0):
        i = int(np.flatnonzero(diag != 0)[0])
        raise error(f"{name} must be hollow (zero diagonal); {name}[{i}, {i}] = {A[i, i]}")
    return A


# ----------------------------------------------------------------------------------- weights
def _as_real_array(w, name: str, error: type) -> np.ndarray:
    """``w`` as a float64 array; real numbers only (complex, text and other objects are refused,
    never silently converted: numpy would drop an imaginary part with only a warning)."""
    try:
        raw = np.asarray(w)
    except (TypeError, ValueError) as exc:
        raise error(f"{name} cannot be read as a float array: {exc}") from None
    kind = raw.dtype.kind
    if kind == "c":
        raise error(
            f"{name} has complex dtype {raw.dtype}; a ReLU network needs real weights (pass "
            "the real part explicitly, e.g. w.real, if the imaginary part is known to be zero)")
    if kind not in "biufO":
        what = "text" if kind in "US" else "not numbers"
        raise error(f"{name} has dtype {raw.dtype} ({what}); give real numbers (a float array)")
    if kind == "O":
        for v in raw.reshape(-1):
            if not isinstance(v, numbers.Real):
                raise error(f"{name} holds a {type(v).__name__} entry ({v!r}); give real "
                            "numbers (a float array)")
    try:
        return np.array(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise error(f"{name} cannot be read as a float array: {exc}") from None


def check_finite_tensors(named, *, owner: str, error: type = ValidationError) -> None:
    """Raise ``error`` naming the first of the ``(name, array)`` pairs ``named`` with a NaN or
    infinite entry (integer and boolean arrays pass): a network with such a weight or statistic
    computes NaN, and every later check would fail with a message about something else.

    Examples
    --------
    >>> import numpy as np
    >>> check_finite_tensors([("w", np.ones(2)), ("steps", np.arange(2))], owner="net")
    >>> check_finite_tensors([("bn.running_var", np.array([1.0, np.nan]))], owner="net")
    Traceback (most recent call last):
    ...
    relutopo.errors.ValidationError: net: bn.running_var has 1 non-finite entry (NaN or inf) of 2; a network's weights and statistics must be finite (check the checkpoint, or the training run that produced it)
    """
    for name, a in named:
        a = np.asarray(a)
        if a.dtype.kind != "f":
            continue
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        if bad:
            raise error(f"{owner}: {name} has {bad} non-finite entr{'y' if bad == 1 else 'ies'} (NaN or "
                        f"inf) of {a.size}; a network's weights and statistics must be finite (check the "
                        "checkpoint, or the training run that produced it)")


def check_n_jobs(n_jobs, *, name: str = "n_jobs") -> int:
    """The number of worker processes ``n_jobs`` asks for: a positive integer, or ``-1`` for
    every CPU of the machine (``os.cpu_count()``).

    Examples
    --------
    >>> check_n_jobs(2)
    2
    >>> check_n_jobs(0)
    Traceback (most recent call last):
    ...
    relutopo.errors.ValidationError: n_jobs=0 is not a worker count; use a positive integer, or -1 for every CPU
    """
    import os

    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise ValidationTypeError(f"{name} must be an integer; got {_show(n_jobs)} "
                                  f"({type(n_jobs).__name__}); use a positive integer, or -1 for every CPU")
    n_jobs = int(n_jobs)
    if n_jobs == -1:
        return max(1, os.cpu_count() or 1)
    if n_jobs < 1:
        raise ValidationError(f"{name}={n_jobs} is not a worker count; use a positive integer, "
                              "or -1 for every CPU")
    return n_jobs


def check_weights(weights: Sequence, biases: Sequence, *, error: type = ValidationError) -> tuple:
    """Validate the layers of a ReLU network (Liu et al. 2023, Sec. 2).

    ``weights[i]`` must be a real 2-D matrix ``(h_{i+1}, h_i)`` and ``biases[i]`` a vector
    ``(h_{i+1},)`` (a ``(h, 1)`` or ``(1, h)`` matrix is read as one), finite, with consecutive
    layers chaining. Returns ``(weights, biases)``: two tuples of read-only contiguous float64
    arrays, the form :class:`relutopo.nets.ReluNet` stores.

    Examples
    --------
    >>> import numpy as np
    >>> ws, bs = check_weights([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> [w.shape for w in ws], ws[0].flags.writeable
    ([(2, 2), (1, 2)], False)
    >>> check_weights([np.eye(2), np.ones((1, 3))], [np.zeros(2), [0.0]])
    Traceback (most recent call last):
    ...
    relutopo.errors.ValidationError: layer 1 does not chain: weights[1] expects 3 inputs but layer 0 has 2 outputs
    """
    weights = list(weights)
    biases = list(biases)
    if len(weights) == 0:
        raise error("a ReluNet needs at least one layer (the output layer); got no weights")
    if len(weights) != len(biases):
        raise error(f"got {len(weights)} weight matrices but {len(biases)} bias vectors; "
                    "give one bias vector per layer")
    ws, bs = [], []
    for i, (w, b) in enumerate(zip(weights, biases)):
        w = _as_real_array(w, f"weights[{i}]", error)
        b = _as_real_array(b, f"biases[{i}]", error)
        if w.ndim != 2:
            raise error(f"weights[{i}] must be a 2-D matrix (out, in); got shape {w.shape}")
        b = b.reshape(-1) if b.ndim == 2 and 1 in b.shape else b
        if b.ndim != 1 or b.shape[0] != w.shape[0]:
            raise error(f"biases[{i}] must have shape ({w.shape[0]},) to match weights[{i}] of shape "
                        f"{w.shape}; got {b.shape}")
        if i > 0 and w.shape[1] != ws[-1].shape[0]:
            raise error(f"layer {i} does not chain: weights[{i}] expects {w.shape[1]} inputs but "
                        f"layer {i - 1} has {ws[-1].shape[0]} outputs")
        if w.shape[0] == 0 or w.shape[1] == 0:
            raise error(f"weights[{i}] has an empty dimension: shape {w.shape}")
        for arr, nm in ((w, f"weights[{i}]"), (b, f"biases[{i}]")):
            if not np.all(np.isfinite(arr)):
                bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
                raise error(f"{nm} contains {bad} NaN or infinite value(s); relutopo needs finite "
                            "weights (check the training run that produced them)")
        w = np.ascontiguousarray(w)
        w.setflags(write=False)
        b = np.ascontiguousarray(b)
        b.setflags(write=False)
        ws.append(w)
        bs.append(b)
    return tuple(ws), tuple(bs)
