"""Sampled manifolds of Liu et al. (2023), Section 4.2 and Appendix C.

* :func:`circle_3d` -- the circle ``(0, cos t, sin t)`` in the input space ``R^3`` of model (12)
  (Examples 4.1-4.2);
* :func:`image_circle` -- circles in image space ``center + sin(theta) A_1 + cos(theta) A_2``
  (Examples 4.3-4.5; ``center = A_3`` for the shifted circle, and ``theta`` in ``[0, 2 pi]`` or
  ``[1, 2 pi + 1]``);
* :func:`random_orthogonal_tensors` and :func:`image_torus` -- the torus of Example C.1,
  ``A_5 + alpha (sin t1 A_1 + cos t1 A_2 + sin t2 A_3 + cos t2 A_4)`` from five random
  mutually orthogonal tensors.

Angles come from :func:`circle_angles` / :func:`torus_angles`: evenly spaced (``"grid"``) or
uniformly random (``"random"``, seeded). Evenly spaced samples leave out the end point
``start + 2 pi``, which is the start point again.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

__all__ = ["circle_angles", "torus_angles", "circle_3d", "image_circle",
           "random_orthogonal_tensors", "image_torus"]

TWO_PI = 2.0 * math.pi


def _check_n(name: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive int; got {n!r}")
    return int(n)


def _check_sampling(sampling: str, seed) -> None:
    if sampling not in ("grid", "random"):
        raise ValueError(f"sampling must be 'grid' (evenly spaced) or 'random'; got {sampling!r}")
    if sampling == "random" and (seed is None or isinstance(seed, bool)
                                 or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"sampling='random' needs an int seed; got seed={seed!r}")


def circle_angles(n: int, start: float = 0.0, *, sampling: str = "grid",
                  seed: Optional[int] = None) -> np.ndarray:
    """``n`` angles in ``[start, start + 2 pi)``: ``start + 2 pi k / n`` or sorted uniform draws.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(circle_angles(4), 6).tolist()
    [0.0, 1.570796, 3.141593, 4.712389]
    >>> a = circle_angles(5, sampling="random", seed=0)
    >>> bool((np.diff(a) > 0).all() and a.min() >= 0 and a.max() < 2 * np.pi)
    True
    """
    n = _check_n("n", n)
    _check_sampling(sampling, seed)
    if not np.isfinite(start):
        raise ValueError(f"start must be finite; got {start!r}")
    if sampling == "grid":
        return float(start) + TWO_PI * np.arange(n) / n
    rng = np.random.default_rng(int(seed))
    return float(start) + np.sort(rng.uniform(0.0, TWO_PI, size=n))


def torus_angles(n: int, *, sampling: str = "grid", seed: Optional[int] = None) -> np.ndarray:
    """``n`` angle pairs ``(t1, t2)`` in ``[0, 2 pi)^2``, shape ``(n, 2)``.

    ``"grid"``: the ``k x k`` product grid of :func:`circle_angles` (``n = k^2`` must be a square);
    ``"random"``: independent uniform draws.

    Examples
    --------
    >>> torus_angles(9).shape, torus_angles(5, sampling="random", seed=0).shape
    ((9, 2), (5, 2))
    """
    n = _check_n("n", n)
    _check_sampling(sampling, seed)
    if sampling == "grid":
        k = math.isqrt(n)
        if k * k != n:
            raise ValueError(f"sampling='grid' needs n to be a perfect square (k x k grid); got "
                             f"n={n}; use n={k * k} or {(k + 1) ** 2}, or sampling='random'")
        t = circle_angles(k)
        t1, t2 = np.meshgrid(t, t, indexing="ij")
        return np.column_stack([t1.ravel(), t2.ravel()])
    rng = np.random.default_rng(int(seed))
    return rng.uniform(0.0, TWO_PI, size=(n, 2))


def circle_3d(n: int, *, radius: float = 1.0, start: float = 0.0) -> np.ndarray:
    """The circle ``(0, r cos t, r sin t)`` at ``n`` evenly spaced ``t`` (Liu et al. Ex. 4.1-4.2).

    Returns an ``(n, 3)`` float64 array.

    Examples
    --------
    The circle of Liu et al. Ex. 4.1-4.2, in the plane ``x_1 = 0`` of ``R^3``:

    >>> import numpy as np
    >>> (np.round(circle_3d(4, radius=2.0), 6) + 0.0).tolist()
    [[0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [0.0, -2.0, 0.0], [0.0, 0.0, -2.0]]
    """
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a positive number; got {radius!r}")
    t = circle_angles(n, start)
    return np.column_stack([np.zeros_like(t), radius * np.cos(t), radius * np.sin(t)])


def _stack_tensors(tensors, count: int, name: str) -> np.ndarray:
    arrs = [np.asarray(a, dtype=np.float64) for a in tensors]
    if len(arrs) != count:
        raise ValueError(f"{name} must hold {count} tensors; got {len(arrs)}")
    shapes = {a.shape for a in arrs}
    if len(shapes) != 1:
        raise ValueError(f"{name} must all have the same shape; got {[a.shape for a in arrs]}")
    for i, a in enumerate(arrs):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}[{i}] has NaN or infinite entries")
    return np.stack(arrs)


def image_circle(A1, A2, theta, center=None, dtype=np.float32) -> np.ndarray:
    """Points ``center + sin(theta) A1 + cos(theta) A2`` (Liu et al. Ex. 4.3-4.5).

    Parameters
    ----------
    A1, A2 : arrays of one shape (e.g. ``(3, 224, 224)`` preprocessed images)
    theta : array (n,)
        Angles (see :func:`circle_angles`).
    center : array like ``A1``, optional
        ``A_3`` for the shifted circle; ``None`` for the origin.

    Returns
    -------
    ndarray (n, *A1.shape) of ``dtype``

    Examples
    --------
    A circle of images through two orthogonal directions (Liu et al. Ex. 4.3-4.5):

    >>> import numpy as np
    >>> A1, A2 = random_orthogonal_tensors(2, (1, 4, 4), seed=0)
    >>> X = image_circle(A1, A2, circle_angles(8))
    >>> X.shape, X.dtype, bool(np.allclose(np.linalg.norm(X.reshape(8, -1), axis=1), np.linalg.norm(A1)))
    ((8, 1, 4, 4), dtype('float32'), True)
    """
    tensors = [A1, A2] if center is None else [A1, A2, center]
    T = _stack_tensors(tensors, len(tensors), "A1, A2 and center")
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    if theta.size == 0 or not np.all(np.isfinite(theta)):
        raise ValueError("theta must be a non-empty array of finite angles")
    coef = np.column_stack([np.sin(theta), np.cos(theta)])
    out = np.tensordot(coef, T[:2], axes=(1, 0))
    if center is not None:
        out += T[2]
    return out.astype(dtype, copy=False)


def random_orthogonal_tensors(k: int, shape: Sequence[int], *, seed: int,
                              rms: float = 1.0) -> np.ndarray:
    """``k`` mutually orthogonal random tensors of ``shape`` (Liu et al. Example C.1).

    Gaussian tensors orthonormalised by a QR decomposition (so their directions are uniform on the
    Stiefel manifold), each then scaled to root-mean-square entry ``rms`` (norm
    ``rms * sqrt(prod(shape))``; ``rms = 1`` matches the spread of ImageNet-normalised pixels).

    Returns
    -------
    ndarray (k, *shape) float64 with ``<T_i, T_j> = 0`` for ``i != j``.

    Examples
    --------
    >>> import numpy as np
    >>> T = random_orthogonal_tensors(3, (2, 5), seed=0)
    >>> G = T.reshape(3, -1) @ T.reshape(3, -1).T
    >>> T.shape, bool(np.allclose(G - np.diag(np.diag(G)), 0, atol=1e-9))
    ((3, 2, 5), True)
    """
    k = _check_n("k", k)
    shape = tuple(int(s) for s in shape)
    size = int(np.prod(shape)) if shape else 1
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"shape must be a tuple of positive ints; got {shape}")
    if k > size:
        raise ValueError(f"cannot have k={k} orthogonal tensors in a space of dimension {size}")
    if not (np.isfinite(rms) and rms > 0):
        raise ValueError(f"rms must be a positive number; got {rms!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int; got {seed!r}")
    rng = np.random.default_rng(int(seed))
    G = rng.standard_normal((size, k))
    Q, R = np.linalg.qr(G)
    Q = Q * np.sign(np.diag(R))  # unique QR: makes the distribution Haar
    return (Q.T * (rms * math.sqrt(size))).reshape((k, *shape))


def image_torus(tensors, angles, alpha: float = 1.0, dtype=np.float32) -> np.ndarray:
    """Points ``A5 + alpha (sin t1 A1 + cos t1 A2 + sin t2 A3 + cos t2 A4)`` (Example C.1).

    Parameters
    ----------
    tensors : 5 arrays of one shape ``A1 .. A5`` (e.g. from :func:`random_orthogonal_tensors`)
    angles : array (n, 2)
        ``(t1, t2)`` per point (see :func:`torus_angles`).
    alpha : float
        Radius of both circle factors.

    Returns
    -------
    ndarray (n, *A1.shape) of ``dtype``

    Examples
    --------
    A torus of images (Liu et al. Example C.1): two circles of directions, ``A5`` the centre:

    >>> T = random_orthogonal_tensors(5, (1, 4, 4), seed=0)
    >>> image_torus(T, torus_angles(16)).shape
    (16, 1, 4, 4)
    """
    T = _stack_tensors(tensors, 5, "tensors")
    ang = np.asarray(angles, dtype=np.float64)
    if ang.ndim != 2 or ang.shape[1] != 2 or ang.shape[0] == 0 or not np.all(np.isfinite(ang)):
        raise ValueError(f"angles must be a non-empty finite (n, 2) array; got shape {ang.shape}")
    if not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive number; got {alpha!r}")
    coef = alpha * np.column_stack([np.sin(ang[:, 0]), np.cos(ang[:, 0]),
                                    np.sin(ang[:, 1]), np.cos(ang[:, 1])])
    out = np.tensordot(coef, T[:4], axes=(1, 0)) + T[4]
    return out.astype(dtype, copy=False)
