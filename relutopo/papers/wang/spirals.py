"""Two spirals as in the TensorFlow Playground, and the Playground's input features.

The Playground (``src/dataset.ts``, ``classifySpiralData``) draws ``n`` points per spiral with
radius ``r_i = 5 i / n`` and angle ``t_i = 1.75 * 2π i / n + δ`` (``δ = 0`` for the positive spiral,
``π`` for the negative one), at ``(r sin t, r cos t)`` plus uniform noise ``U(-1, 1) * noise``.
Wang (IJCAI 2022, §4.2) doubles the radii (``radius = 10``), takes 500 points per spiral, splits
them 900/100 at random, and feeds the network the Playground's seven features
``(x, y, x², y², xy, sin x, sin y)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["two_spirals", "playground_features", "SpiralData", "spiral_dataset",
           "PLAYGROUND_FEATURES"]

#: Names of the seven Playground features, in the column order of :func:`playground_features`.
PLAYGROUND_FEATURES = ("x", "y", "x^2", "y^2", "xy", "sin x", "sin y")


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def two_spirals(n_per_spiral: int = 500, *, radius: float = 10.0, turns: float = 1.75,
                noise: float = 0.0, seed: int = 0):
    """The Playground's two spirals (Wang §4.2 uses ``radius = 10``, twice the Playground's 5).

    Parameters
    ----------
    n_per_spiral : int
        Points per spiral (``n``).
    radius : float
        Radius reached at the end of a spiral (``r_i = radius * i / n``).
    turns : float
        Turns of each spiral (the Playground's ``1.75``).
    noise : float
        Amplitude of the uniform noise ``U(-1, 1) * noise`` added to each coordinate
        (the Playground's default is 0).
    seed : int
        Seeds the noise.

    Returns
    -------
    X : array ``(2 n, 2)``
        Points ``(x, y)``: the positive spiral first.
    y : array ``(2 n,)`` int
        1 for the positive spiral, 0 for the negative one (the Playground's +1 / -1).

    Examples
    --------
    >>> X, y = two_spirals(50, seed=0)
    >>> X.shape, sorted(set(y.tolist())), round(float(abs(X).max()), 6) <= 10
    ((100, 2), [0, 1], True)
    """
    n = _positive_int("n_per_spiral", n_per_spiral)
    for name, v in (("radius", radius), ("turns", turns), ("noise", noise)):
        if not np.isfinite(v) or (v <= 0 if name != "noise" else v < 0):
            raise ValueError(f"{name} must be a finite {'non-negative' if name == 'noise' else 'positive'} "
                             f"number; got {v!r}")
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    r = radius * i / n
    pts, labels = [], []
    for delta, label in ((0.0, 1), (np.pi, 0)):
        t = turns * i / n * 2 * np.pi + delta
        x = r * np.sin(t) + rng.uniform(-1, 1, n) * noise
        y = r * np.cos(t) + rng.uniform(-1, 1, n) * noise
        pts.append(np.column_stack([x, y]))
        labels.append(np.full(n, label))
    return np.concatenate(pts), np.concatenate(labels).astype(np.int64)


def playground_features(X) -> np.ndarray:
    """The seven Playground features ``(x, y, x², y², xy, sin x, sin y)`` of points ``(n, 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(playground_features(np.array([[1.0, 2.0]])), 4).tolist()
    [[1.0, 2.0, 1.0, 4.0, 2.0, 0.8415, 0.9093]]
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must be points of the plane, shape (n, 2); got {X.shape}")
    x, y = X[:, 0], X[:, 1]
    return np.column_stack([x, y, x * x, y * y, x * y, np.sin(x), np.sin(y)])


@dataclass(frozen=True)
class SpiralData:
    """Train/test split of the two-spiral features (Wang §4.2).

    Examples
    --------
    >>> d = spiral_dataset(50, 10, seed=0)
    >>> d.X_train.shape, d.X_test.shape, d.points_test.shape
    ((90, 7), (10, 7), (10, 2))
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    points_train: np.ndarray
    points_test: np.ndarray


def spiral_dataset(n_per_spiral: int = 500, n_test: int = 100, *, radius: float = 10.0,
                   noise: float = 0.0, seed: int = 0) -> SpiralData:
    """Wang's two-spiral task: ``2 n`` points, features of :func:`playground_features`, a random
    split with ``n_test`` test points (900/100 for ``n = 500``), seeded by ``seed``.

    Examples
    --------
    Wang §4.2: ``2 n`` points, seven features each, ``n_test`` of them held out:

    >>> d = spiral_dataset(500, 100, seed=0)
    >>> d.X_train.shape, d.X_test.shape, float(d.y_train.mean()) > 0.4
    ((900, 7), (100, 7), True)
    """
    n = _positive_int("n_per_spiral", n_per_spiral)
    n_test = _positive_int("n_test", n_test)
    if n_test >= 2 * n:
        raise ValueError(f"n_test must be smaller than the {2 * n} points; got {n_test}")
    pts, y = two_spirals(n, radius=radius, noise=noise, seed=seed)
    perm = np.random.default_rng([seed, 1]).permutation(len(y))
    test, train = perm[:n_test], perm[n_test:]
    F = playground_features(pts)
    return SpiralData(F[train], y[train], F[test], y[test], pts[train], pts[test])
