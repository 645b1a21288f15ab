"""Tests for relutopo.papers.liu.images: torchvision-style preprocessing without torchvision."""

import numpy as np
import pytest
from PIL import Image

from relutopo.papers.liu.images import (IMAGENET_MEAN, IMAGENET_STD, SAMPLE_IMAGES, load_images,
                                  preprocess, sample_images, to_display)


def _normalise(rgb_uint8_hwc):
    return ((rgb_uint8_hwc / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)


def test_constant_image_is_the_normalised_colour():
    img = np.empty((300, 400, 3), dtype=np.uint8)
    img[:] = (200, 10, 128)
    out = preprocess(img)
    assert out.shape == (3, 224, 224) and out.dtype == np.float32
    expected = (np.array([200, 10, 128]) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    np.testing.assert_allclose(out, np.broadcast_to(expected[:, None, None], out.shape), atol=1e-6)


@pytest.mark.parametrize("h, w", [(256, 300), (300, 256), (256, 256), (256, 257)])
def test_no_resampling_when_the_short_side_already_fits(h, w):
    """Resize(256) is the identity here, so the output is the exact centre crop, normalised."""
    img = np.random.default_rng(h * w).integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    out = preprocess(img, resize=256, crop=224)
    top, left = int(round((h - 224) / 2)), int(round((w - 224) / 2))
    expected = _normalise(img[top:top + 224, left:left + 224])
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_allclose(to_display(out), img[top:top + 224, left:left + 224] / 255.0, atol=1e-6)


def test_resize_keeps_the_aspect_ratio_like_torchvision():
    """A 2x-downscaled image of vertical stripes: columns keep their relative position."""
    h, w = 512, 800  # short side 512 -> 256, long side int(256 * 800 / 512) = 400
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[:, ::2] = 255  # 1-pixel stripes average to grey after an antialiased 2x reduction
    out = to_display(preprocess(img, resize=256, crop=224))
    np.testing.assert_allclose(out, 0.5, atol=0.01)
    grey = np.random.default_rng(0).integers(0, 256, size=(256, 260), dtype=np.uint8)
    rgb = preprocess(grey)
    np.testing.assert_allclose(to_display(rgb)[..., 0], to_display(rgb)[..., 2], atol=1e-6)


def test_sample_images_ship_offline_and_are_distinct():
    s = sample_images()
    assert s.arrays.shape == (3, 3, 224, 224) and s.names == ("astronaut", "chelsea", "coffee")
    assert np.all(np.isfinite(s.arrays))
    flat = s.arrays.reshape(3, -1)
    assert min(np.abs(flat[i] - flat[j]).mean() for i in range(3) for j in range(i)) > 0.1
    assert all("scikit-image" in d for d in s.descriptions)
    small = sample_images(list(SAMPLE_IMAGES), resize=37, crop=32)
    assert small.arrays.shape == (len(SAMPLE_IMAGES), 3, 32, 32)


def test_load_images_equals_preprocess_of_the_pixels(tmp_path):
    img = np.random.default_rng(1).integers(0, 256, size=(240, 310, 3), dtype=np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(img).save(path)
    s = load_images([path])
    assert s.names == ("photo",)
    np.testing.assert_array_equal(s.arrays[0], preprocess(img))
    rgba = np.concatenate([img, np.full((240, 310, 1), 255, np.uint8)], axis=2)
    np.testing.assert_array_equal(preprocess(rgba), preprocess(img))


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_images([tmp_path / "missing.jpg"])
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="not an image file"):
        load_images([bad])
    with pytest.raises(ValueError, match="paths is empty"):
        load_images([])
    with pytest.raises(ValueError, match="crop=300 must not exceed resize=256"):
        preprocess(np.zeros((10, 10, 3), np.uint8), crop=300)
    with pytest.raises(ValueError, match="uint8"):
        preprocess(np.zeros((10, 10, 3)))
    with pytest.raises(ValueError, match="unknown sample image"):
        sample_images(["poodle"])
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        to_display(np.zeros((224, 224, 3)))
