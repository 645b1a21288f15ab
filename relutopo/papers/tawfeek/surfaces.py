"""Two-dimensional regression targets ``y = h(x_1, x_2)`` on a box (Tawfeek et al. 2025 regression).

``"paraboloid"``: ``h(x) = x_1^2 + x_2^2 - 1`` (its zero set is the unit circle, so the trained
network's zero level set approximates a circle inside ``[-1, 1]^2``); ``"saddle"``:
``h(x) = x_1 x_2``; ``"ripple"``: ``h(x) = sin(pi x_1) cos(pi x_2)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SURFACES", "surface", "surface_regression_data"]

SURFACES = ("paraboloid", "saddle", "ripple")


def surface(X, kind: str = "paraboloid") -> np.ndarray:
    """``h(X)`` for ``X`` of shape ``(n, 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> surface(np.array([[0.0, 0.0], [1.0, 1.0]])).tolist()
    [-1.0, 1.0]
    """
    if kind not in SURFACES:
        raise ValueError(f"kind must be one of {SURFACES}; got {kind!r}")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2); got {X.shape}")
    if kind == "paraboloid":
        return (X ** 2).sum(axis=1) - 1.0
    if kind == "saddle":
        return X[:, 0] * X[:, 1]
    return np.sin(np.pi * X[:, 0]) * np.cos(np.pi * X[:, 1])


def surface_regression_data(n: int, *, seed, kind: str = "paraboloid", noise: float = 0.0,
                            lo: float = -1.0, hi: float = 1.0) -> tuple:
    """``(X, y)``: ``n`` points uniform in ``[lo, hi]^2`` and ``y = h(X) + noise * N(0, 1)``.

    Examples
    --------
    >>> X, y = surface_regression_data(50, seed=0)
    >>> X.shape, y.shape, bool(abs(y - surface(X)).max() == 0)
    ((50, 2), (50,), True)
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0; got {noise}")
    if not hi > lo:
        raise ValueError(f"need lo < hi; got lo={lo}, hi={hi}")
    rng = np.random.default_rng(seed)
    X = rng.uniform(lo, hi, size=(int(n), 2))
    y = surface(X, kind) + noise * rng.normal(size=int(n))
    return X, y
