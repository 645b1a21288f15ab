"""Tests of relutopo.data.cifar10 on python batches written here in the real format, and of the
offline substitute PhotoPatches-10."""

import pickle

import numpy as np
import pytest

from relutopo.data.cifar10 import CIFAR10_TRAIN_BATCHES, load_cifar10, read_cifar_batch
from relutopo.data.image_dataset import DataError
from relutopo.data.photo_patches import PHOTO_NAMES, load_photo_patches


def write_batch(path, n, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    batch = {b"batch_label": b"testing batch", b"labels": labels, b"data": data,
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    with open(path, "wb") as fh:
        pickle.dump(batch, fh, protocol=2)
    return data, np.array(labels)


def write_cifar(folder, n=4):
    folder.mkdir(parents=True, exist_ok=True)
    out = [write_batch(folder / name, n, i) for i, name in enumerate(CIFAR10_TRAIN_BATCHES)]
    test = write_batch(folder / "test_batch", n, 99)
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": names, b"num_vis": 3072}, fh, protocol=2)
    return out, test


def test_load_cifar10_batches(tmp_path):
    train, (test_data, test_labels) = write_cifar(tmp_path / "cifar-10-batches-py")
    d = load_cifar10(tmp_path)
    assert d.name == "CIFAR-10" and d.input_shape == (3, 32, 32) and len(d.y_train) == 20
    # the real layout: 1024 red values (row-major), then green, then blue
    img = test_data[2]
    np.testing.assert_allclose(d.X_test[2, 0, 1, 5] * 255, img[32 + 5], atol=1e-4)
    np.testing.assert_allclose(d.X_test[2, 2, 31, 31] * 255, img[3071], atol=1e-4)
    np.testing.assert_array_equal(d.y_test, test_labels)
    np.testing.assert_array_equal(d.y_train[4:8], train[1][1])
    assert d.classes[3] == "cat"


def test_missing_batch_and_folder(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        load_cifar10(tmp_path / "nope")
    write_cifar(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3"):
        load_cifar10(tmp_path)
    (tmp_path / "test_batch").unlink()
    with pytest.raises(DataError, match="has no 'test_batch'"):
        load_cifar10(tmp_path)


def test_corrupt_and_malformed_batches(tmp_path):
    (tmp_path / "junk").write_bytes(b"this is not a pickle")
    with pytest.raises(DataError, match="not a CIFAR-10 python batch"):
        read_cifar_batch(tmp_path / "junk")
    with open(tmp_path / "nodata", "wb") as fh:
        pickle.dump({b"labels": [1]}, fh)
    with pytest.raises(DataError, match="lacks 'data'"):
        read_cifar_batch(tmp_path / "nodata")
    with open(tmp_path / "shape", "wb") as fh:
        pickle.dump({b"labels": [1], b"data": np.zeros((1, 100), np.uint8)}, fh)
    with pytest.raises(DataError, match=r"\(n, 3072\) uint8"):
        read_cifar_batch(tmp_path / "shape")
    with open(tmp_path / "labels", "wb") as fh:
        pickle.dump({b"labels": [12], b"data": np.zeros((1, 3072), np.uint8)}, fh)
    with pytest.raises(DataError, match="labels must be 0..9"):
        read_cifar_batch(tmp_path / "labels")


def test_photo_patches_substitute():
    d = load_photo_patches(n_train=200, n_test=50, seed=1)
    assert d.input_shape == (3, 32, 32) and "not CIFAR-10" in d.name
    assert d.classes == PHOTO_NAMES
    np.testing.assert_array_equal(np.bincount(d.y_train, minlength=10), [20] * 10)
    np.testing.assert_array_equal(np.bincount(d.y_test, minlength=10), [5] * 10)
    assert 0.0 <= d.X_train.min() and d.X_train.max() <= 1.0
    again = load_photo_patches(n_train=200, n_test=50, seed=1)
    np.testing.assert_array_equal(d.X_train, again.X_train)
    other = load_photo_patches(n_train=200, n_test=50, seed=2)
    assert not np.array_equal(d.X_train, other.X_train)
    # colour: the three channels differ (a real colour data set, not grey copies)
    assert np.abs(d.X_train[:, 0] - d.X_train[:, 1]).mean() > 0.01


def test_photo_patch_train_and_test_crops_come_from_disjoint_columns():
    from relutopo.data.photo_patches import _photos

    d = load_photo_patches(n_train=30, n_test=10, seed=0, side=64, test_fraction=0.5)
    photo = _photos(64)[0]
    cut = int(round(photo.shape[1] * 0.5))
    windows = np.lib.stride_tricks.sliding_window_view(photo, (32, 32), axis=(0, 1))  # (r, c, 3, 32, 32)
    for X, y, left in ((d.X_train, d.y_train, True), (d.X_test, d.y_test, False)):
        for crop in X[y == 0]:
            hits = np.argwhere(np.all(np.abs(windows - crop[None, None]) < 1e-6, axis=(2, 3, 4)))
            assert len(hits) >= 1
            cols = hits[:, 1]
            assert np.all(cols + 32 <= cut) if left else np.all(cols >= cut)


def test_default_is_substitute_and_bad_counts():
    d = load_cifar10(n_train=100, n_test=20)
    assert "PhotoPatches" in d.name and len(d.y_train) == 100
    with pytest.raises(ValueError, match="n_train must be a positive int"):
        load_photo_patches(n_train=0)
