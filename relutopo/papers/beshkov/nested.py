"""Generated data sets of the relative-homology experiments (Beshkov, arXiv 2502.01360).

* :func:`self_intersecting_curve` -- a regression target ``[-pi, pi] -> R^2`` that crosses
  itself a known number of times (a prolate cycloid with ``n_loops`` loops), for the
  ``1 -> 8 -> 8 -> 8 -> 2`` "self-intersecting curves" experiment;
* :func:`concentric_spheres` -- interleaved concentric spheres ``S^k`` (``k = 1, 2, 3``) of two
  classes (radii 1, 2 and 1.5, 2.5 as in the paper's code);
* :func:`nested_dataset` -- nested manifolds in the style of Naitzat, Zhitnikov & Lim (2020):
  ``D-I`` (nine discs inside a square with nine holes; the discs have ``beta_0 = 9``), ``D-II``
  (nine pairs of linked solid tori; each class ``beta_0 = beta_1 = 9``), ``D-III`` (nine thick
  spherical shells around nine balls; the shells have ``beta = (9, 0, 9)``);
* :func:`xor_blobs` -- four Gaussian blobs labelled by XOR of the quadrant signs.

Every function takes a ``seed`` and returns ``(X, y)`` (float64, int64) plus, where useful,
the known Betti numbers of each class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relutopo import tolerances as tol

__all__ = ["self_intersecting_curve", "concentric_spheres", "nested_dataset", "NestedData",
           "xor_blobs", "NESTED_BETTI"]


def _check_int(name, v, lo=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be an int >= {lo}; got {name}={v!r}")
    return int(v)


def self_intersecting_curve(n: int, n_loops: int = 2, lam: float = 2.5, s=None):
    """A planar curve over ``s in [-pi, pi]`` with exactly ``n_loops`` transversal crossings.

    The prolate cycloid ``gamma(t) = (t - lam sin t, -lam cos t)`` (``lam > 1``) makes one loop
    per period, closed by a transversal self-crossing at ``t = 2 pi k +- t0`` where
    ``t0 = lam sin t0``. We take ``t in [-pi, pi (2 n_loops - 1)]`` (loops centred at
    ``t = 0, 2 pi, ...``; for ``lam < pi/2 + 1`` neighbouring loops do not meet) and rescale to
    ``[-1, 1]`` in x. The image has ``beta_0 = 1`` and ``beta_1 = n_loops``.

    ``s`` (optional, values in ``[-pi, pi]``) evaluates the curve at given parameters instead
    of ``n`` evenly spaced ones.

    Returns
    -------
    s : array (n, 1)
        Evenly spaced inputs in ``[-pi, pi]`` (or the given ``s``).
    Y : array (n, 2)
        Targets ``gamma(t(s))`` scaled into ``[-1, 1] x [-1, 1]``.
    crossings : array (n_loops, 2)
        The exact parameters ``s`` of each crossing pair.

    Examples
    --------
    A prolate cycloid with two crossings (Beshkov's self-intersecting curves):

    >>> s, Y, crossings = self_intersecting_curve(200, n_loops=2)
    >>> s.shape, Y.shape, crossings.shape, bool(abs(Y).max() <= 1)
    ((200, 1), (200, 2), (2, 2), True)
    """
    n = _check_int("n", n, 2)
    n_loops = _check_int("n_loops", n_loops)
    if not 1.0 < lam < np.pi / 2 + 1.0:
        raise ValueError(f"lam must be in (1, pi/2 + 1) so that loops exist and do not touch; got {lam!r}")
    from scipy.optimize import brentq

    t0 = brentq(lambda t: t - lam * np.sin(t), 1e-6, np.pi)
    t_lo, t_hi = -np.pi, np.pi * (2 * n_loops - 1)
    if s is None:
        s = np.linspace(-np.pi, np.pi, n)
    else:
        s = np.asarray(s, dtype=np.float64).reshape(-1)
        if np.any(np.abs(s) > np.pi * (1.0 + tol.ROUNDING_RTOL)):
            raise ValueError(f"s must lie in [-pi, pi]; got values in [{s.min():g}, {s.max():g}]")
    t = t_lo + (s + np.pi) / (2 * np.pi) * (t_hi - t_lo)
    x = t - lam * np.sin(t)
    y = -lam * np.cos(t)
    x_min, x_max = t_lo - lam, t_hi + lam
    Y = np.stack([2 * (x - x_min) / (x_max - x_min) - 1, y / lam], axis=1)
    to_s = lambda tt: (tt - t_lo) / (t_hi - t_lo) * 2 * np.pi - np.pi  # noqa: E731
    cross = np.array([[to_s(2 * np.pi * k - t0), to_s(2 * np.pi * k + t0)] for k in range(n_loops)])
    return s[:, None], Y, cross


def _unit_sphere(rng, n, dim):
    Z = rng.standard_normal((n, dim + 1))
    return Z / np.linalg.norm(Z, axis=1, keepdims=True)


def concentric_spheres(n_per_sphere: int, dim: int = 1, n_shells: int = 2, seed: int = 0):
    """Interleaved concentric spheres ``S^dim`` in ``R^{dim+1}`` of two classes.

    Class 0 has radii ``1, 2, ..., n_shells``; class 1 radii ``1.5, 2.5, ...`` (the paper's
    ``construct_data``). Points uniform on each sphere; order shuffled with ``seed``.

    Examples
    --------
    >>> X, y = concentric_spheres(50, dim=1, n_shells=2, seed=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((200, 2), [0, 1])
    """
    n_per_sphere = _check_int("n_per_sphere", n_per_sphere)
    dim = _check_int("dim", dim)
    n_shells = _check_int("n_shells", n_shells)
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label, offset in ((0, 0.0), (1, 0.5)):
        for r in np.arange(1, n_shells + 1) + offset:
            X.append(r * _unit_sphere(rng, n_per_sphere, dim))
            y.append(np.full(n_per_sphere, label))
    X, y = np.concatenate(X), np.concatenate(y)
    perm = rng.permutation(len(X))
    return X[perm], y[perm].astype(np.int64)


#: Betti numbers (beta_0, beta_1, beta_2) of the class of interest (label 1) of each data set.
NESTED_BETTI = {"D-I": (9, 0, 0), "D-II": (9, 9, 0), "D-III": (9, 0, 9)}


@dataclass(frozen=True)
class NestedData:
    """A Naitzat-style data set: points, labels, and the class whose topology is tracked.

    Examples
    --------
    >>> d = nested_dataset("D-III", n_per_component=10, seed=0)
    >>> d.name, d.X.shape[1], d.betti, d.centers.shape
    ('D-III', 3, (9, 0, 9), (9, 3))
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    betti: tuple  # of class 1 (the tracked class)
    centers: np.ndarray


def _grid_centers(spacing, dim):
    g = (np.arange(3) - 1.0) * spacing
    cx, cy = np.meshgrid(g, g, indexing="ij")
    c = np.stack([cx.ravel(), cy.ravel()], axis=1)
    return c if dim == 2 else np.hstack([c, np.zeros((9, 1))])


def _ball(rng, n, dim, r_in, r_out):
    """Uniform in the shell ``r_in <= |x| <= r_out`` of ``R^dim`` (a ball when ``r_in = 0``)."""
    u = rng.random(n)
    r = (r_in ** dim + u * (r_out ** dim - r_in ** dim)) ** (1.0 / dim)
    return r[:, None] * _unit_sphere(rng, n, dim - 1)


def _solid_torus(rng, n, R, rho, frame):
    """Uniform-ish in a solid torus of radii ``R, rho`` (rows of ``frame``: plane axes, normal)."""
    phi = rng.random(n) * 2 * np.pi
    a = rng.random(n) * 2 * np.pi
    r = rho * np.sqrt(rng.random(n))
    e1, e2, e3 = frame
    radial = np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2
    return (R + r * np.cos(a))[:, None] * radial + (r * np.sin(a))[:, None] * e3


def nested_dataset(name: str, n_per_component: int = 100, seed: int = 0) -> NestedData:
    """Nine nested pairs of manifolds in the style of Naitzat et al. (2020), two classes.

    ``D-I`` (R^2): class 1 = nine discs (radius 1) on a 3x3 grid, ``beta = (9, 0, 0)``; class 0
    = the square ``[-6.5, 6.5]^2`` minus discs of radius 1.6 around them (``beta = (1, 9)``).
    ``D-II`` (R^3): nine pairs of linked solid tori (core radius 1, tube 0.25), one of each pair
    per class; each class ``beta = (9, 9, 0)``.
    ``D-III`` (R^3): class 1 = nine shells ``1.2 <= |x - c| <= 1.6``, ``beta = (9, 0, 9)``;
    class 0 = the balls ``|x - c| <= 0.8`` inside them (``beta = (9, 0, 0)``).

    ``n_per_component`` points per component (class 0 of D-I gets nine times as many). The
    tracked class is label 1; its Betti numbers are :data:`NESTED_BETTI`.

    Examples
    --------
    >>> d = nested_dataset("D-I", n_per_component=10, seed=0)
    >>> d.X.shape[1], d.betti, sorted(set(d.y.tolist()))
    (2, (9, 0, 0), [0, 1])
    """
    if name not in NESTED_BETTI:
        raise ValueError(f"name must be one of {sorted(NESTED_BETTI)}; got name={name!r}")
    m = _check_int("n_per_component", n_per_component)
    rng = np.random.default_rng(seed)
    Xs, ys = [], []
    if name == "D-I":
        C = _grid_centers(4.5, 2)
        for c in C:
            Xs.append(c + _ball(rng, m, 2, 0.0, 1.0))
            ys.append(np.ones(m))
        pts = np.zeros((0, 2))
        while len(pts) < 9 * m:
            cand = rng.uniform(-6.5, 6.5, size=(4 * 9 * m, 2))
            dmin = np.min(np.linalg.norm(cand[:, None, :] - C[None], axis=2), axis=1)
            pts = np.vstack([pts, cand[dmin > 1.6]])
        Xs.append(pts[:9 * m])
        ys.append(np.zeros(9 * m))
    elif name == "D-II":
        C = _grid_centers(4.0, 3)
        ex, ey, ez = np.eye(3)
        for c in C:
            Xs.append(c + _solid_torus(rng, m, 1.0, 0.25, (ex, ey, ez)))
            ys.append(np.ones(m))
            Xs.append(c + ex + _solid_torus(rng, m, 1.0, 0.25, (ex, ez, ey)))
            ys.append(np.zeros(m))
    else:
        C = _grid_centers(6.0, 3)
        for c in C:
            Xs.append(c + _ball(rng, m, 3, 1.2, 1.6))
            ys.append(np.ones(m))
            Xs.append(c + _ball(rng, m, 3, 0.0, 0.8))
            ys.append(np.zeros(m))
    X = np.concatenate(Xs)
    y = np.concatenate(ys).astype(np.int64)
    perm = rng.permutation(len(X))
    return NestedData(name, X[perm], y[perm], NESTED_BETTI[name], C)


def xor_blobs(n_per_blob: int, std: float = 0.15, seed: int = 0):
    """Four Gaussian blobs at ``(+-1, +-1)``; label ``1`` when the signs differ (XOR).

    Each class has ``beta_0 = 2`` (two blobs) at scales below the blob distance.

    Examples
    --------
    >>> X, y = xor_blobs(5, seed=0)
    >>> X.shape, int(y.sum())
    ((20, 2), 10)
    """
    n = _check_int("n_per_blob", n_per_blob)
    if not 0 < std < 0.5:
        raise ValueError(f"std must be in (0, 0.5) so that the blobs stay apart; got std={std!r}")
    rng = np.random.default_rng(seed)
    centers = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=np.float64)
    labels = np.array([0, 0, 1, 1])
    X = np.concatenate([c + std * rng.standard_normal((n, 2)) for c in centers])
    y = np.repeat(labels, n)
    perm = rng.permutation(len(X))
    return X[perm], y[perm].astype(np.int64)
