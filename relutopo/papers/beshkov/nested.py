"""Generated data sets of the relative-homology experiments (Beshkov, arXiv 2502.01360).

* :func:`self_intersecting_curve` -- a regression target ``[-pi, pi] -> R^2`` that crosses
  itself a known number of times (a prolate cycloid with ``n_loops`` loops), for the
  ``1 -> 8 -> 8 -> 8 -> 2`` "self-intersecting curves" experiment;
* :func:`concentric_spheres` -- interleaved concentric spheres ``S^k`` (``k = 1, 2, 3``) of two
  classes (radii 1, 2 and 1.5, 2.5 as in the paper's code);
* :func:`nested_dataset` -- nested manifolds of Naitzat, Zhitnikov & Lim (2020), generated to the
  geometry of the author's subsample of their data: ``D-I`` (nine discs inside a square with nine
  holes; the discs have ``beta_0 = 9``), ``D-II`` (nine pairs of linked solid rings; each class
  ``beta_0 = beta_1 = 9``), ``D-III`` (nine thick spheres, each between a small and a large
  sphere of the other class; the tracked spheres have ``beta = (9, 0, 9)``), and
  :func:`nested_class_betti`, their homology in Naitzat's k-NN metric;
* :func:`xor_blobs` -- four Gaussian blobs labelled by XOR of the quadrant signs.

Every function takes a ``seed`` and returns ``(X, y)`` (float64, int64) plus, where useful,
the known Betti numbers of each class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relutopo import tolerances as tol

__all__ = ["self_intersecting_curve", "concentric_spheres", "nested_dataset", "NestedData",
           "xor_blobs", "NESTED_BETTI", "NESTED_BETTI_OTHER", "NESTED_GEOMETRY", "NAITZAT_K",
           "NAITZAT_EPS", "nested_class_betti"]


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
#: Betti numbers of the other class (label 0).
NESTED_BETTI_OTHER = {"D-I": (1, 9, 0), "D-II": (9, 9, 0), "D-III": (18, 0, 18)}
#: Naitzat's k-NN hop metric: neighbours per data set and the scale of the Betti numbers
#: (the author's ``analysis/hom_propagation.py``: k = 14 for D-I, 19 otherwise; eps = 2.5).
NAITZAT_K = {"D-I": 14, "D-II": 19, "D-III": 19}
NAITZAT_EPS = 2.5

#: The geometry of each data set, measured on the author's subsample of Naitzat et al.'s data
#: (``data/D-*-train.npy`` of GitHub KBeshkov/QuotientHomology; centres by k-means, radii by
#: percentiles): D-I in ``[-10, 10]^2``, D-II and D-III in ``[-1, 1]^3``.
NESTED_GEOMETRY = {
    "D-I": dict(half_width=10.0, disc_radius=1.35, hole_radius=1.75, ring_radius=7.0),
    "D-II": dict(corner=0.7, ring_radius=0.19, tube_radius=0.05),
    "D-III": dict(corner=0.6, inner=(0.09, 0.11), middle=(0.185, 0.22), outer=(0.39, 0.42)),
}


@dataclass(frozen=True)
class NestedData:
    """A Naitzat-style data set: points, labels, and the class whose topology is tracked."""

    name: str
    X: np.ndarray
    y: np.ndarray
    betti: tuple  # of class 1 (the tracked class)
    centers: np.ndarray


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


def _even_shell(rng, n, r_in, r_out):
    """``n`` points spread evenly over the sphere (a Fibonacci lattice turned by a random
    rotation), radius uniform in ``[r_in, r_out]``: a thick sphere whose ``beta_2`` a k-NN graph
    sees with ~90 points (uniform random points need ~350)."""
    i = np.arange(n) + 0.5
    polar = np.arccos(1.0 - 2.0 * i / n)
    azim = np.pi * (1.0 + 5.0 ** 0.5) * i
    U = np.c_[np.cos(azim) * np.sin(polar), np.sin(azim) * np.sin(polar), np.cos(polar)]
    Q, R = np.linalg.qr(rng.standard_normal((3, 3)))
    Q = Q * np.sign(np.diag(R))
    return (U @ Q.T) * rng.uniform(r_in, r_out, n)[:, None]


def _cube_centres(c):
    """The origin and the eight corners ``(+-c, +-c, +-c)``."""
    corners = np.array([[sx, sy, sz] for sx in (-c, c) for sy in (-c, c) for sz in (-c, c)], dtype=float)
    return np.vstack([np.zeros((1, 3)), corners])


def nested_dataset(name: str, n_per_component: int = 100, seed: int = 0) -> NestedData:
    """Nine nested pairs of manifolds as in Naitzat, Zhitnikov & Lim (2020), two classes.

    The geometry is :data:`NESTED_GEOMETRY`, measured on the author's subsample of Naitzat's data:

    ``D-I`` (``[-10, 10]^2``): class 1 = nine discs of radius 1.35 (centres: the origin and eight
    points on the circle of radius 7), ``beta = (9, 0, 0)``; class 0 = the square minus discs of
    radius 1.75 around them, ``beta = (1, 9, 0)``.
    ``D-II`` (``[-1, 1]^3``): at the origin and the eight corners ``(+-0.7)^3``, a pair of linked
    solid rings (core radius 0.19, tube 0.05), one per class; each class ``beta = (9, 9, 0)``.
    ``D-III`` (``[-1, 1]^3``): around the origin and the corners ``(+-0.6)^3``, class 1 = a thick
    sphere ``0.185 <= |x - c| <= 0.22`` (``beta = (9, 0, 9)``); class 0 = a small sphere
    ``0.09 <= r <= 0.11`` inside it and a large one ``0.39 <= r <= 0.42`` around it
    (``beta = (18, 0, 18)``). (The author's D-III files label the tracked class 0; here it is 1.)
    The D-III spheres are sampled evenly (``_even_shell``): with uniform random points,
    ``beta_2 = 9`` needs about 350 points per sphere in Naitzat's metric (the author's own test
    subsample, ~89 per sphere, shows ``beta_2 = 6`` with k = 19, eps = 2.5).

    ``n_per_component`` points per component of class 1; class 0 of D-I gets ``9 n_per_component``
    (both classes the same size, so that full-batch training does not settle on the majority
    class; the author's D-I files have about six times more class-0 points), the two spheres of
    D-III class 0 get ``n_per_component`` each.

    Examples
    --------
    >>> ds = nested_dataset("D-III", 10, seed=0)
    >>> ds.X.shape, ds.betti, int(ds.y.sum())
    ((270, 3), (9, 0, 9), 90)
    """
    if name not in NESTED_BETTI:
        raise ValueError(f"name must be one of {sorted(NESTED_BETTI)}; got name={name!r}")
    m = _check_int("n_per_component", n_per_component)
    g = NESTED_GEOMETRY[name]
    rng = np.random.default_rng(seed)
    Xs, ys = [], []
    if name == "D-I":
        th = np.arange(8) * np.pi / 4
        C = np.vstack([np.zeros((1, 2)), g["ring_radius"] * np.c_[np.cos(th), np.sin(th)]])
        for c in C:
            Xs.append(c + _ball(rng, m, 2, 0.0, g["disc_radius"]))
            ys.append(np.ones(m))
        n0 = 9 * m
        pts = np.zeros((0, 2))
        h = g["half_width"]
        while len(pts) < n0:
            cand = rng.uniform(-h, h, size=(2 * n0, 2))
            dmin = np.min(np.linalg.norm(cand[:, None, :] - C[None], axis=2), axis=1)
            pts = np.vstack([pts, cand[dmin > g["hole_radius"]]])
        Xs.append(pts[:n0])
        ys.append(np.zeros(n0))
    elif name == "D-II":
        C = _cube_centres(g["corner"])
        ex, ey, ez = np.eye(3)
        R, rho = g["ring_radius"], g["tube_radius"]
        for c in C:
            Xs.append(c + _solid_torus(rng, m, R, rho, (ex, ey, ez)))
            ys.append(np.ones(m))
            Xs.append(c + R * ex + _solid_torus(rng, m, R, rho, (ex, ez, ey)))
            ys.append(np.zeros(m))
    else:
        C = _cube_centres(g["corner"])
        for c in C:
            Xs.append(c + _even_shell(rng, m, *g["middle"]))
            ys.append(np.ones(m))
            for shell in (g["inner"], g["outer"]):
                Xs.append(c + _even_shell(rng, m, *shell))
                ys.append(np.zeros(m))
    X = np.concatenate(Xs)
    y = np.concatenate(ys).astype(np.int64)
    perm = rng.permutation(len(X))
    return NestedData(name, X[perm], y[perm], NESTED_BETTI[name], C)


def nested_class_betti(X, name: str, k=None, eps: float = NAITZAT_EPS) -> tuple:
    """Betti numbers ``(beta_0, beta_1, beta_2)`` of a point cloud in Naitzat's metric.

    Vietoris--Rips at ``eps`` of hop distances in the symmetric ``k``-nearest-neighbour graph
    (:func:`relutopo.relative.knn_geodesic_distances`), ``k = NAITZAT_K[name]`` by default; up to
    ``beta_1`` for D-I/D-II and ``beta_2`` for D-III (the author's ``hom_dim``).

    Examples
    --------
    >>> ds = nested_dataset("D-I", 40, seed=0)
    >>> nested_class_betti(ds.X[ds.y == 1], "D-I")
    (9, 0, 0)
    """
    from relutopo.relative import betti_at, knn_geodesic_distances, rips_barcodes

    if name not in NESTED_BETTI:
        raise ValueError(f"name must be one of {sorted(NESTED_BETTI)}; got name={name!r}")
    k = NAITZAT_K[name] if k is None else k
    maxdim = 2 if name == "D-III" else 1
    D = knn_geodesic_distances(X, k)
    b = betti_at(rips_barcodes(D, maxdim, thresh=eps), eps).tolist()
    return tuple(int(v) for v in b + [0] * (3 - len(b)))


def xor_blobs(n_per_blob: int, std: float = 0.15, seed: int = 0):
    """Four Gaussian blobs at ``(+-1, +-1)``; label ``1`` when the signs differ (XOR).

    Each class has ``beta_0 = 2`` (two blobs) at scales below the blob distance.
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
