"""PhotoPatches-10: a real colour-image classification set that ships offline (CIFAR-10 stand-in).

Ten colour photographs come with scikit-image (astronaut, Chelsea the cat, coffee, rocket,
Hubble deep field, immunohistochemistry, retina, motorcycle) and scikit-learn (China, flower).
Each image is one class. Every photograph is resized (anti-aliased) so its shorter side is
``side`` pixels; training crops (32x32 RGB, like CIFAR-10) are drawn at seeded random positions
from the left ``1 - test_fraction`` of its width and test crops from the right part, so that
no test pixel was seen in training. The task -- name the photograph a small patch was cut from
-- is a texture/colour recognition task on natural images, not object recognition: numbers on
it are not CIFAR-10 numbers, and figures must say so.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .image_dataset import DataError, ImageDataset

__all__ = ["load_photo_patches", "PHOTO_NAMES", "PHOTO_PATCHES_NAME"]

#: The ten photographs, in class order.
PHOTO_NAMES = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
               "immunohistochemistry", "retina", "motorcycle", "china", "flower")
PHOTO_PATCHES_NAME = "PhotoPatches-10 (32x32 crops of 10 photos from scikit-image/scikit-learn; not CIFAR-10)"


@lru_cache(maxsize=4)
def _photos(side: int) -> tuple:
    import skimage.data as skd
    from skimage.transform import resize
    from sklearn.datasets import load_sample_image

    photos = []
    for name in PHOTO_NAMES:
        if name == "motorcycle":
            img = skd.stereo_motorcycle()[0]
        elif name in ("china", "flower"):
            img = load_sample_image(f"{name}.jpg")
        else:
            img = getattr(skd, name)()
        img = np.asarray(img)[..., :3]
        scale = side / min(img.shape[:2])
        shape = (max(side, round(img.shape[0] * scale)), max(side, round(img.shape[1] * scale)))
        photos.append(resize(img, shape, anti_aliasing=True, preserve_range=True).astype(np.float32) / 255.0)
    return tuple(photos)


def _crops(photo: np.ndarray, n: int, lo: int, hi: int, size: int, rng) -> np.ndarray:
    rows = rng.integers(0, photo.shape[0] - size + 1, n)
    cols = rng.integers(lo, hi - size + 1, n)
    out = np.stack([photo[r:r + size, c:c + size] for r, c in zip(rows, cols)])
    return out.transpose(0, 3, 1, 2)


def load_photo_patches(n_train: int = 5000, n_test: int = 1000, *, size: int = 32, side: int = 256,
                       test_fraction: float = 0.3, seed: int = 0) -> ImageDataset:
    """Crops of the ten photographs, balanced over classes, as an :class:`ImageDataset`.

    Parameters
    ----------
    n_train, n_test : int
        Number of crops (split as evenly as possible over the ten classes).
    size : int
        Crop side in pixels (32 matches CIFAR-10).
    side : int
        Shorter side of each photograph after resizing.
    test_fraction : float
        Right-hand fraction of each photograph's width reserved for test crops.
    seed : int
        Seeds the crop positions.

    Examples
    --------
    >>> ds = load_photo_patches(n_train=20, n_test=10, seed=0)
    >>> ds.X_train.shape, ds.classes[:3], len(set(ds.y_train.tolist()))
    ((20, 3, 32, 32), ('astronaut', 'chelsea', 'coffee'), 10)
    """
    for name, v in (("n_train", n_train), ("n_test", n_test), ("size", size), ("side", side)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive int; got {v!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1); got {test_fraction!r}")
    photos = _photos(int(side))
    rng = np.random.default_rng(seed)
    Xtr, ytr, Xte, yte = [], [], [], []
    k = len(photos)
    for label, photo in enumerate(photos):
        width = photo.shape[1]
        cut = int(round(width * (1.0 - test_fraction)))
        if cut < size or width - cut < size or photo.shape[0] < size:
            raise DataError(f"photo {PHOTO_NAMES[label]} ({photo.shape[:2]}) is too small for "
                            f"{size}px crops with test_fraction={test_fraction}; lower size or raise side")
        m_tr = n_train // k + (label < n_train % k)
        m_te = n_test // k + (label < n_test % k)
        Xtr.append(_crops(photo, m_tr, 0, cut, size, rng))
        Xte.append(_crops(photo, m_te, cut, width, size, rng))
        ytr.append(np.full(m_tr, label, dtype=np.int64))
        yte.append(np.full(m_te, label, dtype=np.int64))
    perm_tr = rng.permutation(n_train)
    perm_te = rng.permutation(n_test)
    return ImageDataset(PHOTO_PATCHES_NAME, "skimage.data + sklearn.datasets.load_sample_image",
                        np.concatenate(Xtr)[perm_tr], np.concatenate(ytr)[perm_tr],
                        np.concatenate(Xte)[perm_te], np.concatenate(yte)[perm_te], PHOTO_NAMES)
