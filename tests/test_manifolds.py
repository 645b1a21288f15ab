"""Tests for relutopo.papers.liu.manifolds: closed-form distances of the sampled manifolds."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.spatial.distance import cdist

from relutopo.papers.liu.manifolds import (circle_3d, circle_angles, image_circle, image_torus,
                                     random_orthogonal_tensors, torus_angles)


def test_circle_3d_closed_form():
    X = circle_3d(20, radius=2.0)
    assert X.shape == (20, 3)
    np.testing.assert_array_equal(X[:, 0], 0.0)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 2.0)
    np.testing.assert_allclose(X[0], [0.0, 2.0, 0.0])
    # evenly spaced: every consecutive chord (including the wrap-around) is 2 r sin(pi / n)
    chords = np.linalg.norm(X - np.roll(X, -1, axis=0), axis=1)
    np.testing.assert_allclose(chords, 2 * 2.0 * np.sin(np.pi / 20))


def test_angles():
    t = circle_angles(50, 1.0)
    assert t[0] == 1.0 and t[-1] < 1.0 + 2 * np.pi and np.allclose(np.diff(t), 2 * np.pi / 50)
    r1 = circle_angles(10, sampling="random", seed=3)
    np.testing.assert_array_equal(r1, circle_angles(10, sampling="random", seed=3))
    assert np.all(np.diff(r1) >= 0) and 0 <= r1.min() and r1.max() < 2 * np.pi
    g = torus_angles(16)
    assert g.shape == (16, 2) and len({tuple(p) for p in g}) == 16
    with pytest.raises(ValueError, match="perfect square"):
        torus_angles(10)
    with pytest.raises(ValueError, match="seed"):
        circle_angles(10, sampling="random")
    with pytest.raises(ValueError, match="sampling"):
        torus_angles(9, sampling="sobol")


@settings(max_examples=20, deadline=None)
@given(k=st.integers(1, 6), size=st.integers(6, 60), seed=st.integers(0, 1000),
       rms=st.floats(0.1, 10))
def test_random_orthogonal_tensors_gram_matrix(k, size, seed, rms):
    T = random_orthogonal_tensors(k, (size,), seed=seed, rms=rms)
    G = T @ T.T
    np.testing.assert_allclose(G, rms ** 2 * size * np.eye(k), atol=1e-9 * rms ** 2 * size)


def test_image_circle_points_lie_on_the_circle():
    A = random_orthogonal_tensors(3, (3, 4, 5), seed=0)
    theta = circle_angles(12, 1.0)
    X = image_circle(A[0], A[1], theta, center=A[2], dtype=np.float64)
    assert X.shape == (12, 3, 4, 5)
    flat = (X - A[2]).reshape(12, -1)
    coef = np.linalg.lstsq(A[:2].reshape(2, -1).T, flat.T, rcond=None)[0].T
    np.testing.assert_allclose(coef, np.column_stack([np.sin(theta), np.cos(theta)]), atol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        image_circle(A[0], A[1][:2], theta)


def test_image_torus_distances_closed_form():
    """Orthogonal factors: |x(t) - x(s)|^2 = alpha^2 r^2 (4 - 2 cos(t1 - s1) - 2 cos(t2 - s2))."""
    T = random_orthogonal_tensors(5, (2, 6, 6), seed=1, rms=0.5)
    ang = torus_angles(25, sampling="random", seed=2)
    X = image_torus(T, ang, alpha=1.5, dtype=np.float64).reshape(25, -1)
    r2 = 0.5 ** 2 * 72
    d1 = ang[:, None, 0] - ang[None, :, 0]
    d2 = ang[:, None, 1] - ang[None, :, 1]
    expected = 1.5 ** 2 * r2 * (4 - 2 * np.cos(d1) - 2 * np.cos(d2))
    np.testing.assert_allclose(cdist(X, X) ** 2, expected, atol=1e-9)
    # on the evenly spaced grid the sines and cosines sum to zero: the centroid is A5
    grid = image_torus(T, torus_angles(16), alpha=1.5, dtype=np.float64)
    np.testing.assert_allclose(grid.mean(axis=0), T[4], atol=1e-12)
    with pytest.raises(ValueError, match="5 tensors"):
        image_torus(T[:4], ang)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        image_torus(T, ang[:, 0])
    with pytest.raises(ValueError, match="cannot have k=5"):
        random_orthogonal_tensors(5, (2, 2), seed=0)
