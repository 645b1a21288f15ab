"""Input domains for a decomposition: an axis-aligned box, or (``None``) all of ``R^d``.

Liu et al. (2023) decompose the input space inside a bounded box ``[l, u]^d`` (their Sec. 4,
"bounded domain") or in all of ``R^d``. A :class:`Box` is the product of closed intervals
``[lo_i, hi_i]``; as a polyhedron it is ``{x : A x <= c}`` with ``2 d`` rows, row ``2 i`` the
lower face ``-x_i <= -lo_i`` and row ``2 i + 1`` the upper face ``x_i <= hi_i``. The face number
``k`` is what :class:`relutopo.polyhedra.Region` stores as ``facet_neurons = -1 - k``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ValidationError

__all__ = ["Box"]


@dataclass(frozen=True, eq=False, init=False)
class Box:
    """The closed box ``prod_i [lo_i, hi_i]`` in ``R^d``.

    Parameters
    ----------
    lo, hi : float or array-like (d,)
        Lower and upper corners. Scalars are broadcast to ``dim`` coordinates.
    dim : int, optional
        Dimension, required when both ``lo`` and ``hi`` are scalars.

    Examples
    --------
    >>> Box(-1.0, 1.0, dim=2).volume
    4.0
    """

    lo: np.ndarray
    hi: np.ndarray

    def __init__(self, lo, hi, dim: int | None = None):
        lo_a = np.asarray(lo, dtype=np.float64)
        hi_a = np.asarray(hi, dtype=np.float64)
        if lo_a.ndim > 1 or hi_a.ndim > 1:
            raise ValidationError(f"Box corners must be scalars or 1-D arrays; got lo shape {lo_a.shape}, "
                             f"hi shape {hi_a.shape}")
        if dim is not None:
            if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
                raise ValidationError(f"Box dim must be a positive integer; got dim={dim!r}")
            dim = int(dim)
        sizes = {a.shape[0] for a in (lo_a, hi_a) if a.ndim == 1}
        if len(sizes) > 1:
            raise ValidationError(f"Box lo and hi have different lengths: {lo_a.shape[0]} vs {hi_a.shape[0]}")
        if sizes:
            n = sizes.pop()
            if dim is not None and dim != n:
                raise ValidationError(f"Box dim={dim} contradicts corners of length {n}")
            dim = n
        if dim is None:
            raise ValidationError("Box(lo, hi) with scalar corners needs dim=..., e.g. Box(-1, 1, dim=2)")
        lo_a = np.broadcast_to(lo_a, (dim,)).copy()
        hi_a = np.broadcast_to(hi_a, (dim,)).copy()
        if not (np.all(np.isfinite(lo_a)) and np.all(np.isfinite(hi_a))):
            raise ValidationError(f"Box corners must be finite; got lo={lo_a}, hi={hi_a}. "
                             "Use domain=None for all of R^d.")
        if np.any(hi_a <= lo_a):
            bad = int(np.flatnonzero(hi_a <= lo_a)[0])
            raise ValidationError(f"Box needs lo < hi in every coordinate; coordinate {bad} has "
                             f"lo={lo_a[bad]}, hi={hi_a[bad]}")
        lo_a.setflags(write=False)
        hi_a.setflags(write=False)
        object.__setattr__(self, "lo", lo_a)
        object.__setattr__(self, "hi", hi_a)

    @classmethod
    def _trusted(cls, lo: np.ndarray, hi: np.ndarray) -> "Box":
        """A box from corners the caller has already checked (1-D float64 arrays of one length,
        finite, ``lo < hi``): the engine's working frame, built on every call, skips the
        checks of the constructor."""
        box = object.__new__(cls)
        lo, hi = np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64)
        lo.setflags(write=False)
        hi.setflags(write=False)
        object.__setattr__(box, "lo", lo)
        object.__setattr__(box, "hi", hi)
        return box

    @property
    def dim(self) -> int:
        return int(self.lo.shape[0])

    @property
    def widths(self) -> np.ndarray:
        return self.hi - self.lo

    @property
    def center(self) -> np.ndarray:
        return 0.5 * (self.lo + self.hi)

    @property
    def volume(self) -> float:
        return float(np.prod(self.widths))

    @property
    def scale(self) -> float:
        """Length scale of the box (its largest side); tolerances are relative to it."""
        return float((self.hi - self.lo).max())

    def halfspaces(self) -> tuple:
        """``(A, c)`` of shape ``(2 d, d)``, ``(2 d,)``: row ``2 i`` is ``-x_i <= -lo_i``, row
        ``2 i + 1`` is ``x_i <= hi_i``."""
        d = self.dim
        A = np.zeros((2 * d, d))
        A[0::2] = -np.eye(d)
        A[1::2] = np.eye(d)
        c = np.empty(2 * d)
        c[0::2] = -self.lo
        c[1::2] = self.hi
        return A, c

    def vertices(self) -> np.ndarray:
        """The ``2^d`` corners, shape ``(2^d, d)``."""
        d = self.dim
        corners = (np.arange(2 ** d)[:, None] >> np.arange(d)[None, :]) & 1
        return np.where(corners.astype(bool), self.hi, self.lo)

    def contains(self, X, strict: bool = False) -> np.ndarray:
        """Whether each row of ``X`` lies in the box (``strict``: in its interior)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if strict:
            return np.all((X > self.lo) & (X < self.hi), axis=1)
        return np.all((X >= self.lo) & (X <= self.hi), axis=1)

    def sample(self, n: int, seed) -> np.ndarray:
        """``n`` uniform points in the box from ``numpy.random.default_rng(seed)``."""
        rng = np.random.default_rng(seed)
        return self.lo + rng.random((int(n), self.dim)) * self.widths

    def __repr__(self) -> str:
        if np.all(self.lo == self.lo[0]) and np.all(self.hi == self.hi[0]):
            return f"Box({self.lo[0]:g}, {self.hi[0]:g}, dim={self.dim})"
        return f"Box(lo={self.lo.tolist()}, hi={self.hi.tolist()})"
