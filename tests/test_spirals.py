"""Two spirals of the TensorFlow Playground with Wang's doubled radii (relutopo.papers.wang.spirals)."""

import numpy as np
import pytest

from relutopo.papers.wang.spirals import PLAYGROUND_FEATURES, playground_features, spiral_dataset, two_spirals


def test_spiral_geometry():
    X, y = two_spirals(500, radius=10.0)
    assert X.shape == (1000, 2) and set(np.unique(y)) == {0, 1}
    r = np.linalg.norm(X, axis=1)
    # radius grows linearly from 0 to radius * (n-1)/n on each spiral
    np.testing.assert_allclose(r[:500], 10.0 * np.arange(500) / 500, atol=1e-12)
    np.testing.assert_allclose(r[500:], r[:500], atol=1e-12)
    # the negative spiral is the positive one rotated by pi (point reflection)
    np.testing.assert_allclose(X[500:], -X[:500], atol=1e-12)
    # 1.75 turns: the unwrapped angle of the positive spiral spans 1.75 * 2 pi
    ang = np.unwrap(np.arctan2(X[1:500, 0], X[1:500, 1]))
    assert abs((ang[-1] - ang[0]) - 1.75 * 2 * np.pi * 498 / 500) < 1e-9
    # doubling the radius doubles the points of the Playground's spiral
    X5, _ = two_spirals(500, radius=5.0)
    np.testing.assert_allclose(X, 2 * X5)


def test_noise_is_seeded_and_bounded():
    a, _ = two_spirals(50, noise=0.5, seed=3)
    b, _ = two_spirals(50, noise=0.5, seed=3)
    c, _ = two_spirals(50, noise=0.5, seed=4)
    clean, _ = two_spirals(50)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.max(np.abs(a - clean)) <= 0.5


def test_features():
    X = np.array([[0.5, -2.0], [3.0, 1.0]])
    F = playground_features(X)
    assert F.shape == (2, len(PLAYGROUND_FEATURES))
    x, y = X[:, 0], X[:, 1]
    for col, want in zip(F.T, [x, y, x ** 2, y ** 2, x * y, np.sin(x), np.sin(y)]):
        np.testing.assert_allclose(col, want)


def test_dataset_split():
    d = spiral_dataset(500, 100, seed=7)
    assert d.X_train.shape == (900, 7) and d.X_test.shape == (100, 7)
    # the split is a partition of the 1000 points
    allpts = np.concatenate([d.points_train, d.points_test])
    X, y = two_spirals(500)
    key = lambda P: sorted(map(tuple, np.round(P, 12)))
    assert key(allpts) == key(X)
    np.testing.assert_allclose(d.X_test, playground_features(d.points_test))
    # labels follow their points: the positive spiral is the one with angle offset 0
    # (both spirals start at the origin, the Playground's one ambiguous point: skip it)
    label_of = {tuple(np.round(p, 12) + 0.0): int(l) for p, l in zip(X, y) if np.any(p)}
    for P, Y in ((d.points_test, d.y_test), (d.points_train, d.y_train)):
        keep = np.any(P != 0, axis=1)
        assert [label_of[tuple(np.round(p, 12) + 0.0)] for p in P[keep]] == list(Y[keep])
    e = spiral_dataset(500, 100, seed=7)
    assert np.array_equal(d.y_test, e.y_test)
    assert not np.array_equal(spiral_dataset(500, 100, seed=8).y_test, d.y_test)


def test_bad_input():
    with pytest.raises(ValueError, match="n_per_spiral"):
        two_spirals(0)
    with pytest.raises(ValueError, match="noise"):
        two_spirals(10, noise=-1)
    with pytest.raises(ValueError, match="n_test"):
        spiral_dataset(10, 20)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        playground_features(np.zeros((3, 3)))
