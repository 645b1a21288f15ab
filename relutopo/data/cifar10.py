"""CIFAR-10: the real python batches from a folder the user names, or an offline substitute.

``load_cifar10(cifar10_root="path")`` reads Krizhevsky's "CIFAR-10 python version": the pickled
batches ``data_batch_1`` ... ``data_batch_5`` and ``test_batch`` (each a dict with ``b"data"``,
a ``(10000, 3072)`` uint8 array in channel-major order, and ``b"labels"``) and ``batches.meta``
(``b"label_names"``), in the folder or its ``cifar-10-batches-py`` sub-folder. The batches are
pickles: only load files you trust.

No package ships CIFAR-10 (it is 170 MB; foolbox bundles a handful of samples, too few to train
on). Without a folder this returns the offline substitute
:func:`relutopo.data.photo_patches.load_photo_patches`: 32x32 RGB crops of ten real colour
photographs shipped by scikit-image and scikit-learn, ten classes, the same tensor shape as
CIFAR-10 -- a different task, whose name (``dataset.name``) notebooks put on every figure.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Optional

import numpy as np

from .image_dataset import DataError, ImageDataset, subsample

__all__ = ["load_cifar10", "read_cifar_batch", "CIFAR10_TRAIN_BATCHES", "CIFAR10_TEST_BATCH"]

CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
_DEFAULT_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                  "truck")


def read_cifar_batch(path) -> tuple:
    """One CIFAR-10 python batch as ``(images (n, 3, 32, 32) uint8, labels (n,) int64)``.

    Raises
    ------
    DataError
        Missing file, not a pickle, or a dict without ``data``/``labels`` of matching sizes.

    Examples
    --------
    A batch in the CIFAR-10 python format, written here with two blank images:

    >>> import pathlib, pickle, tempfile
    >>> import numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data_batch_1"
    >>> _ = path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 5]}))
    >>> images, labels = read_cifar_batch(path)
    >>> images.shape, labels.tolist()
    ((2, 3, 32, 32), [3, 5])
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
    except FileNotFoundError:
        raise DataError(f"CIFAR-10 batch {path} does not exist") from None
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError,
            ImportError, IndexError) as exc:
        raise DataError(f"{path} is not a CIFAR-10 python batch (unpickling failed: {exc})") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path} holds a {type(batch).__name__}, not the dict of a CIFAR-10 batch")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise DataError(f"CIFAR-10 batch {path} lacks 'data' or 'labels' (keys: {sorted(batch)})")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.dtype != np.uint8:
        raise DataError(f"CIFAR-10 batch {path}: 'data' must be a (n, 3072) uint8 array; got "
                        f"{data.shape} {data.dtype}")
    if labels.shape != (len(data),):
        raise DataError(f"CIFAR-10 batch {path}: {len(data)} images but {labels.size} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"CIFAR-10 batch {path}: labels must be 0..9; found {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels


def _folder(root: Path) -> Path:
    if not root.is_dir():
        raise DataError(f"cifar10_root={str(root)!r} is not a folder; pass the folder holding the "
                        "CIFAR-10 python batches, or None for the offline substitute")
    for folder in (root, root / "cifar-10-batches-py"):
        if (folder / CIFAR10_TEST_BATCH).is_file():
            return folder
    raise DataError(f"cifar10_root={str(root)!r} has no '{CIFAR10_TEST_BATCH}' (also looked in "
                    f"cifar-10-batches-py/); it must hold {list(CIFAR10_TRAIN_BATCHES)} and "
                    f"'{CIFAR10_TEST_BATCH}' of the CIFAR-10 python version")


def _from_batches(root: Path) -> ImageDataset:
    folder = _folder(root)
    missing = [b for b in CIFAR10_TRAIN_BATCHES if not (folder / b).is_file()]
    if missing:
        raise DataError(f"cifar10_root={str(root)!r} lacks training batch(es) {missing}")
    train = [read_cifar_batch(folder / b) for b in CIFAR10_TRAIN_BATCHES]
    Xte, yte = read_cifar_batch(folder / CIFAR10_TEST_BATCH)
    Xtr = np.concatenate([x for x, _ in train])
    ytr = np.concatenate([y for _, y in train])
    names = _DEFAULT_NAMES
    meta = folder / "batches.meta"
    if meta.is_file():
        try:
            with open(meta, "rb") as fh:
                m = pickle.load(fh, encoding="bytes")
            raw = m.get(b"label_names", m.get("label_names"))
            if raw is not None and len(raw) == 10:
                names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in raw)
        except (pickle.UnpicklingError, EOFError, OSError, AttributeError) as exc:
            raise DataError(f"{meta} is not a CIFAR-10 batches.meta pickle ({exc})") from None
    return ImageDataset("CIFAR-10", str(folder), Xtr.astype(np.float32) / 255.0, ytr,
                        Xte.astype(np.float32) / 255.0, yte, names)


def load_cifar10(cifar10_root: Optional[os.PathLike] = None, *, n_train: Optional[int] = None,
                 n_test: Optional[int] = None, seed: int = 0) -> ImageDataset:
    """CIFAR-10 (or its offline substitute) as ``(n, 3, 32, 32)`` float32 images in ``[0, 1]``.

    Parameters
    ----------
    cifar10_root : path, optional
        Folder of the CIFAR-10 python batches (50000 train, 10000 test images). ``None``: the
        offline substitute of :func:`relutopo.data.photo_patches.load_photo_patches`.
    n_train, n_test : int, optional
        Seeded random subsets (``None``: all).
    seed : int
        Seeds the subsets (and the substitute's crops).

    Examples
    --------
    A folder in the CIFAR-10 python layout (written here: two blank images per batch); without
    a folder, ``load_cifar10()`` returns the offline substitute, whose ``name`` says so:

    >>> import pathlib, pickle, tempfile
    >>> import numpy as np
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> batch = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 5]})
    >>> for name in CIFAR10_TRAIN_BATCHES + (CIFAR10_TEST_BATCH,):
    ...     _ = (root / name).write_bytes(batch)
    >>> ds = load_cifar10(root)
    >>> ds.name, ds.X_train.shape, ds.X_test.shape, ds.classes[3]
    ('CIFAR-10', (10, 3, 32, 32), (2, 3, 32, 32), 'cat')
    """
    if cifar10_root is None:
        from .photo_patches import load_photo_patches

        return load_photo_patches(n_train=n_train or 5000, n_test=n_test or 1000, seed=seed)
    data = _from_batches(Path(cifar10_root))
    if n_train is None and n_test is None:
        return data
    return subsample(data, n_train, n_test, seed=seed)
