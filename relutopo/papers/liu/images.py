"""Real photographs available offline, preprocessed the way torchvision feeds ImageNet models.

Liu et al. (2023), Example 4.3 and Fig. 4, use three ImageNet validation photographs (a miniature
poodle, a Persian cat, a Saluki) as ``224 x 224 x 3`` arrays. ImageNet cannot be downloaded
here, so :func:`sample_images` returns photographs that ship inside installed packages
(scikit-image's ``data`` folder: ``chelsea`` the cat, ``astronaut``, ``coffee``, ...; and
scikit-learn's ``china`` and ``flower``), and :func:`load_images` reads the user's own files
(for instance the paper's three ImageNet photographs).

Preprocessing (:func:`preprocess`) is torchvision's standard ImageNet evaluation transform,
re-implemented with PIL and numpy: resize so that the shorter side is ``resize`` pixels
(bilinear with antialiasing, as PIL's ``resize`` does), centre-crop ``crop x crop``, scale to
``[0, 1]``, then subtract the ImageNet mean and divide by the standard deviation per channel
(``normalize="imagenet"``, the default). The result is a float32 array ``(3, crop, crop)``
(channels first).

``normalize="raw"`` stops after the scaling to ``[0, 1]``: every entry is then >= 0, which is the
property Liu et al. (2023, after Example 4.3) point out for their shifted circle
``A_3 + sin(theta) A_1 + cos(theta) A_2`` ("the sample points in the second example have all
positive entries while the sample points in the first example do not"); ImageNet normalisation
makes about half of the entries negative and so removes it. The paper does not say which input
it fed ResNet-50; both are offered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "SAMPLE_IMAGES", "ImageSet", "preprocess",
           "load_images", "sample_images", "sample_image_path", "to_display", "NORMALIZATIONS"]

#: Values of the ``normalize`` argument: ImageNet mean/std normalisation, or raw pixels in [0, 1].
NORMALIZATIONS = ("imagenet", "raw")

#: torchvision's ImageNet channel means and standard deviations (RGB, on the [0, 1] scale).
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float64)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float64)

#: Photographs shipped with installed packages: name -> (package, file inside its data folder,
#: description).
SAMPLE_IMAGES = {
    "chelsea": ("skimage", "chelsea.png", "Chelsea the cat (scikit-image)"),
    "astronaut": ("skimage", "astronaut.png", "astronaut Eileen Collins (scikit-image)"),
    "coffee": ("skimage", "coffee.png", "a cup of coffee (scikit-image)"),
    "rocket": ("skimage", "rocket.jpg", "a rocket on its launch pad (scikit-image)"),
    "motorcycle": ("skimage", "motorcycle_left.png", "a motorcycle, left stereo view (scikit-image)"),
    "china": ("sklearn", "china.jpg", "a Chinese temple (scikit-learn)"),
    "flower": ("sklearn", "flower.jpg", "a flower (scikit-learn)"),
}


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Preprocessed images with where they came from.

    Attributes
    ----------
    arrays : ndarray (n, 3, crop, crop) float32
        Normalised, channels-first inputs for an ImageNet model.
    names : tuple of str
        A short name per image.
    sources : tuple of str
        File path per image.
    descriptions : tuple of str
        Human-readable description per image (for captions).
    """

    arrays: np.ndarray
    names: tuple
    sources: tuple
    descriptions: tuple

    def __len__(self) -> int:
        return int(self.arrays.shape[0])


def _check_size(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive int; got {v!r}")
    return int(v)


def _check_normalize(normalize: str) -> str:
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be 'imagenet' (mean/std normalisation) or 'raw' (pixels "
                         f"scaled to [0, 1]); got {normalize!r}")
    return normalize


def preprocess(image, resize: int = 256, crop: int = 224, normalize: str = "imagenet") -> np.ndarray:
    """torchvision's ImageNet evaluation transform, without torchvision.

    ``Resize(resize)`` (shorter side to ``resize``, longer side ``int(resize * long / short)``,
    bilinear with antialiasing) -> ``CenterCrop(crop)`` (offsets ``round((size - crop) / 2)``)
    -> ``ToTensor`` (``/255``, channels first) -> ``Normalize(IMAGENET_MEAN, IMAGENET_STD)``.

    Parameters
    ----------
    image : PIL.Image or array (H, W), (H, W, 3) or (H, W, 4) of uint8
        Grey images are repeated over three channels; an alpha channel is dropped.
    resize, crop : int
        ``crop <= resize``; the defaults give ``224 x 224`` inputs.
    normalize : {"imagenet", "raw"}
        ``"raw"`` skips the mean/std normalisation (entries in ``[0, 1]``).

    Returns
    -------
    ndarray (3, crop, crop) float32

    Examples
    --------
    The shifted circle of Liu et al., Example 4.3, has only positive entries in raw pixels:

    >>> img = np.full((8, 8, 3), 200, dtype=np.uint8)
    >>> float(preprocess(img, 8, 8, normalize="raw").min()) > 0
    True
    >>> float(preprocess(img, 8, 8).min()) > 0   # ImageNet normalised
    True
    """
    from PIL import Image

    resize = _check_size("resize", resize)
    crop = _check_size("crop", crop)
    _check_normalize(normalize)
    if crop > resize:
        raise ValueError(f"crop={crop} must not exceed resize={resize}")
    if isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            raise ValueError(f"image arrays must be uint8 (0-255); got dtype {arr.dtype}")
        if arr.ndim == 3 and arr.shape[2] == 4:
            arr = arr[:, :, :3]
        if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
            raise ValueError(f"image arrays must be (H, W), (H, W, 3) or (H, W, 4); got shape {arr.shape}")
        image = Image.fromarray(np.ascontiguousarray(arr))
    elif not isinstance(image, Image.Image):
        raise TypeError(f"image must be a PIL image or a uint8 array; got {type(image).__name__}")
    image = image.convert("RGB")
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = resize, int(resize * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    image = image.resize((new_w, new_h), Image.BILINEAR, reducing_gap=None)
    top = int(round((new_h - crop) / 2.0))
    left = int(round((new_w - crop) / 2.0))
    arr = np.asarray(image, dtype=np.float64)[top:top + crop, left:left + crop] / 255.0
    if normalize == "imagenet":
        arr = (arr - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32)


def load_images(paths: Sequence, resize: int = 256, crop: int = 224,
                normalize: str = "imagenet") -> ImageSet:
    """Read and preprocess image files (JPEG, PNG, ... anything PIL opens).

    Raises ``FileNotFoundError`` / ``ValueError`` naming the offending path.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ValueError("paths is empty; give at least one image file")
    _check_normalize(normalize)
    arrays, names = [], []
    for p in paths:
        p = Path(p)
        if not p.is_file():
            raise FileNotFoundError(f"image file {str(p)!r} does not exist (paths={[str(q) for q in paths]})")
        try:
            with Image.open(p) as im:
                im.load()
                arrays.append(preprocess(im, resize, crop, normalize))
        except UnidentifiedImageError:
            raise ValueError(f"{str(p)!r} is not an image file PIL can read") from None
        except OSError as exc:
            raise ValueError(f"cannot read image {str(p)!r}: {exc}") from None
        names.append(p.stem)
    return ImageSet(arrays=np.stack(arrays), names=tuple(names),
                    sources=tuple(str(Path(p)) for p in paths), descriptions=tuple(names))


def sample_image_path(name: str) -> Path:
    """File path of one of :data:`SAMPLE_IMAGES` inside its installed package."""
    if name not in SAMPLE_IMAGES:
        raise ValueError(f"unknown sample image {name!r}; available: {', '.join(SAMPLE_IMAGES)}")
    package, fname, _ = SAMPLE_IMAGES[name]
    if package == "skimage":
        import skimage.data

        folder = Path(skimage.data.__file__).parent
    else:
        import sklearn.datasets

        folder = Path(sklearn.datasets.__file__).parent / "images"
    path = folder / fname
    if not path.is_file():
        raise FileNotFoundError(
            f"sample image {name!r} should be at {path} but is missing; reinstall {package} "
            "or pass your own image files")
    return path


def sample_images(names: Sequence[str] = ("astronaut", "chelsea", "coffee"), resize: int = 256,
                  crop: int = 224, normalize: str = "imagenet") -> ImageSet:
    """Photographs shipped with scikit-image / scikit-learn, preprocessed (see :func:`preprocess`).

    The default triple plays the roles of Liu et al.'s ``A_1, A_2, A_3`` (poodle, Persian cat,
    Saluki); ``chelsea`` is a cat, as ``A_2`` is.
    """
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:
        raise ValueError("names is empty; choose from " + ", ".join(SAMPLE_IMAGES))
    paths = [sample_image_path(n) for n in names]
    s = load_images(paths, resize, crop, normalize)
    return ImageSet(arrays=s.arrays, names=tuple(names), sources=s.sources,
                    descriptions=tuple(SAMPLE_IMAGES[n][2] for n in names))


def to_display(array, normalize: str = "imagenet") -> np.ndarray:
    """Undo the normalisation of one ``(3, H, W)`` array: ``(H, W, 3)`` floats in ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> img = to_display(sample_images(("coffee",), resize=64, crop=56).arrays[0])
    >>> img.shape, float(img.min()) >= 0.0 and float(img.max()) <= 1.0
    ((56, 56, 3), True)
    """
    a = np.asarray(array, dtype=np.float64)
    if a.ndim != 3 or a.shape[0] != 3:
        raise ValueError(f"array must be (3, H, W); got shape {a.shape}")
    out = a.transpose(1, 2, 0)
    if _check_normalize(normalize) == "imagenet":
        out = out * IMAGENET_STD + IMAGENET_MEAN
    return np.clip(out, 0.0, 1.0)
