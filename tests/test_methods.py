"""The methods' options and draws beyond the paper's: timm's box_ratio_range and α = 0,
KerasCV's Cutout size_range and noise fill, MixUp with boxes, ResizeMix and FMix."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    assert_labels_are_pixel_shares,
    backend_dtype,
    draw,
    pasted_box,
    source_images,
    to_numpy,
)

import keras_cutmix
from keras_cutmix.methods import CutMixOptions, CutoutOptions, FMixOptions

B, H, W, K = 8, 12, 10, 8


# ---------------------------------------------------------------------------
# CutMix(box_ratio_range) — timm's cutmix_minmax


@pytest.mark.once
def test_box_ratio_range_sides_are_uniform_in_range_and_every_border_is_reached():
    n, height, width, (lo, hi) = 20000, 10, 16, (0.2, 0.6)
    params = draw(CutMixOptions, np.array([1, 2], "int32"), n, height, width, mode="sample", box_ratio_range=(lo, hi))
    top, bottom, left, right = (to_numpy(getattr(params, k)).astype(int) for k in ("top", "bottom", "left", "right"))
    heights, widths = bottom - top, right - left
    assert set(heights) == set(range(2, 7)) and set(widths) == set(range(3, 11))  # round(lo·side) … round(hi·side)
    for sides, count in ((heights, 5), (widths, 8)):
        frequencies = np.bincount(sides)[sides.min() :] / n
        np.testing.assert_allclose(frequencies, 1 / count, atol=0.015)
    # Fully inside, every position reachable: boxes touch all four borders.
    assert top.min() == 0 and left.min() == 0 and bottom.max() == height and right.max() == width
    assert (top >= 0).all() and (bottom <= height).all() and (left >= 0).all() and (right <= width).all()
    # Labels exact: the partner's weight is the box share.
    np.testing.assert_allclose(to_numpy(params.partner_weight), heights * widths / (height * width), rtol=1e-6)


def test_box_ratio_range_labels_equal_pixels_through_the_layer():
    images, ids = source_images(B, H, W), np.arange(B)
    mixed, labels = keras_cutmix.CutMix(num_classes=K, box_ratio_range=(0.3, 0.7), mode="sample", seed=4)(images, ids)
    assert_labels_are_pixel_shares(mixed, labels, B)
    for bad in ((0.0, 0.5), (0.6, 0.5), (0.5, 1.5), 0.5, (0.1, 0.2, 0.3)):
        with pytest.raises(ValueError, match=r"`box_ratio_range` must be a pair \(lo, hi\)"):
            keras_cutmix.CutMix(box_ratio_range=bad)
    with pytest.raises(ValueError, match="not both"):
        keras_cutmix.CutMix(box_ratio_range=(0.2, 0.5), box_size=4)


# ---------------------------------------------------------------------------
# CutMixOrMixUp: α = 0 switches a method off (timm)


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_cutmix_or_mixup_alpha_zero_means_the_other_only(mode):
    images, ids = source_images(B, H, W), np.arange(B)
    for seed in range(4):
        cut_only, labels = keras_cutmix.cutmix_or_mixup(
            images, ids, seed=seed, num_classes=K, mixup_alpha=0.0, mode=mode
        )
        assert np.allclose(to_numpy(cut_only), np.round(to_numpy(cut_only)))  # whole source pixels: never a blend
        assert_labels_are_pixel_shares(cut_only, labels, B)
        mix_only, labels = keras_cutmix.cutmix_or_mixup(
            images, ids, seed=seed, num_classes=K, cutmix_alpha=0.0, mode=mode
        )
        mix_only = to_numpy(mix_only)
        assert np.allclose(mix_only, mix_only[:, :1, :1], atol=1e-5)  # every pixel the same blend: no box
    with_range, _ = keras_cutmix.cutmix_or_mixup(
        images, ids, seed=0, num_classes=K, cutmix_alpha=0.0, mixup_alpha=0.0, box_ratio_range=(0.2, 0.5)
    )
    assert pasted_box(to_numpy(with_range)[0], 1.0) is not None  # box_ratio_range keeps CutMix on, as in timm
    with pytest.raises(ValueError, match="switches that method off"):
        keras_cutmix.CutMixOrMixUp(cutmix_alpha=0.0, mixup_alpha=0.0)


# ---------------------------------------------------------------------------
# Cutout(size_range, fill_mode) — KerasCV's RandomCutout


@pytest.mark.once
def test_cutout_size_range_draws_each_side_per_sample():
    n, (lo, hi) = 20000, (0.2, 0.5)
    params = draw(CutoutOptions, np.array([3, 4], "int32"), n, 20, 30, size=0.5, size_range=(lo, hi), mode="sample")
    # Centre away from the border (clipping would shorten the box).
    top, bottom, left, right = (to_numpy(t).astype(int) for t in params.box)
    inside = (top > 0) & (bottom < 20) & (left > 0) & (right < 30)
    heights, widths = (bottom - top)[inside], (right - left)[inside]
    assert set(heights) == set(range(4, 11)) and set(widths) == set(range(6, 16))
    assert abs(np.corrcoef(heights, widths)[0, 1]) < 0.05  # drawn independently


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_cutout_gaussian_noise_fills_the_box_in_the_value_range_and_dtype(dtype):
    rng = np.random.default_rng(0)
    images = (rng.integers(50, 200, (B, 16, 16, 3)) if dtype == "uint8" else rng.uniform(-1, 1, (B, 16, 16, 3))).astype(
        dtype
    )
    out = keras_cutmix.cutout(images, seed=1, size=8, fill_mode="gaussian_noise")
    assert keras.backend.standardize_dtype(out.dtype) == backend_dtype(dtype)
    out = to_numpy(out).astype("float64")
    changed = np.any(out != images, axis=-1)
    assert changed.any()
    for i in range(B):
        lo, hi = images[i].min(), images[i].max()
        assert out[i].min() >= lo and out[i].max() <= hi
    noise = out[changed[..., None].repeat(3, -1)]
    assert noise.std() > 0.05 * (images.max() - images.min())  # noise, not a constant
    with pytest.raises(ValueError, match="fill_mode"):
        keras_cutmix.Cutout(fill_mode="reflect")


# ---------------------------------------------------------------------------
# MixUp with bounding boxes: the union


def test_mixup_keeps_every_box_of_both_images():
    boxes = np.zeros((B, 2, 4), "float32") - 1
    labels = -np.ones((B, 2), "int32")
    for i in range(B):  # image i has i % 2 + 1 boxes; the rest padded (Keras' densify pads boxes with 0)
        for j in range(i % 2 + 1):
            boxes[i, j] = [i, j, i + 2, j + 3]
            labels[i, j] = 10 * i + j
    boxes[0, 1] = 0.0  # densify-style padding: box 0, label −1
    data = {"images": source_images(B, H, W), "bounding_boxes": {"boxes": boxes, "labels": labels}}
    out = keras_cutmix.MixUp(seed=0, mode="sample")(data)
    out_boxes, out_labels = to_numpy(out["bounding_boxes"]["boxes"]), to_numpy(out["bounding_boxes"]["labels"])
    assert out_boxes.shape == (B, 4, 4) and out_labels.dtype == labels.dtype
    mixed = to_numpy(out["images"])
    for i in range(B):
        own = labels[i][labels[i] >= 0].tolist()
        blended = not np.allclose(mixed[i], i + 1)
        valid = out_labels[i][out_labels[i] >= 0].tolist()
        assert valid[: len(own)] == own  # the image's own boxes first, unchanged
        np.testing.assert_array_equal(out_boxes[i, : len(own)], boxes[i, : len(own)])
        assert (len(valid) > len(own)) == blended  # the partner's boxes exactly when the images were blended
        assert np.all(out_boxes[i, len(valid) :] == -1) and np.all(out_labels[i, len(valid) :] == -1)
    inference = keras_cutmix.MixUp(seed=0)(data, training=False)
    np.testing.assert_array_equal(to_numpy(inference["bounding_boxes"]["boxes"]), boxes)


# ---------------------------------------------------------------------------
# ResizeMix


@pytest.mark.parametrize("mode", ["batch", "sample"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_resizemix_pastes_the_whole_partner_resized_with_exact_labels(mode, data_format):
    images = source_images(B, H, W, data_format=data_format)
    mixed, labels = keras_cutmix.resizemix(
        images, np.arange(B), seed=2, num_classes=K, mode=mode, data_format=data_format, interpolation="nearest"
    )
    assert_labels_are_pixel_shares(mixed, labels, B, data_format)
    mixed = to_numpy(mixed)
    if data_format == "channels_first":
        mixed = np.transpose(mixed, (0, 2, 3, 1))
    for i in range(B):
        box = pasted_box(mixed[i], i + 1)
        if box is None:
            continue
        top, bottom, left, right = box
        assert top >= 0 and bottom <= H and left >= 0 and right <= W  # fully inside
        side = (bottom - top) / H
        assert 0.1 - 1 / H <= side <= 0.8 + 1 / H


def test_resizemix_is_the_resized_partner_bilinear_and_keeps_uint8():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (B, 16, 16, 3)).astype("uint8")
    mixed = keras_cutmix.ResizeMix(scale=(0.5, 0.5), seed=0, mode="sample")(images)
    assert keras.backend.standardize_dtype(mixed.dtype) == "uint8"
    mixed = to_numpy(mixed)
    reference = tf.image.resize(images.astype("float32"), (8, 8), method="bilinear", antialias=False).numpy()
    for i in range(B):
        changed = np.any(mixed[i] != images[i], axis=-1)
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        top, left = rows[0], cols[0]
        patch = mixed[i, top : top + 8, left : left + 8].astype("float64")
        # The patch is one partner resized to 8×8 (a bilinear halving), rounded back to uint8.
        errors = [np.abs(patch - np.round(reference[j])).max() for j in range(B) if j != i]
        assert min(errors) <= 1.0
        outside = np.ones((16, 16), bool)
        outside[top : top + 8, left : left + 8] = False
        np.testing.assert_array_equal(mixed[i][outside], images[i][outside])


def test_resizemix_segmentation_masks_follow_by_nearest_and_work_in_tf_data_and_xla():
    images = source_images(B, H, W)
    masks = (np.arange(B)[:, None, None] + np.zeros((B, H, W))).astype("int32")
    layer = keras_cutmix.ResizeMix(seed=0, mode="sample")
    out = next(iter(tf.data.Dataset.from_tensors({"images": images, "segmentation_masks": masks}).map(layer)))
    np.testing.assert_array_equal(to_numpy(out["segmentation_masks"]) + 1, to_numpy(out["images"])[..., 0].round())
    if keras.backend.backend() == "tensorflow":
        compiled = tf.function(lambda x, s: keras_cutmix.resizemix(x, seed=s, mode="sample"), jit_compile=True)
        np.testing.assert_array_equal(to_numpy(compiled(images, tf.constant([1, 2]))).shape, images.shape)


# ---------------------------------------------------------------------------
# FMix


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_fmix_labels_are_the_exact_mask_shares(mode):
    images = source_images(B, 16, 16)
    mixed, labels = keras_cutmix.fmix(images, np.arange(B), seed=3, num_classes=K, mode=mode)
    shares = assert_labels_are_pixel_shares(mixed, labels, B, rectangle=False)
    # Each image mixes with one partner only.
    assert np.all((shares > 0).sum(axis=1) <= 2)


@pytest.mark.once
def test_fmix_keeps_round_lambda_pixels_and_masks_are_low_frequency():
    n, size = 256, 32
    params = draw(FMixOptions, np.array([5, 6], "int32"), n, size, size, decay_power=3.0, mode="sample")
    mask = to_numpy(params.extras.mask)
    kept = size * size - mask.reshape(n, -1).sum(axis=1)
    np.testing.assert_array_equal(kept, np.floor(to_numpy(params.lam) * size * size + 0.5))
    np.testing.assert_allclose(to_numpy(params.partner_weight), 1 - kept / (size * size), rtol=1e-6)
    # Low frequency: far fewer label changes between neighbouring pixels than a random mask of the same share.
    edges = (mask[:, 1:, :] != mask[:, :-1, :]).mean() + (mask[:, :, 1:] != mask[:, :, :-1]).mean()
    share = mask.mean(axis=(1, 2))
    random_edges = 2 * (2 * share * (1 - share)).mean()
    assert edges < 0.25 * random_edges
    # λ ~ Beta(1, 1) = U(0, 1).
    lam = to_numpy(params.lam)
    assert 0.4 < lam.mean() < 0.6 and lam.min() < 0.1 and lam.max() > 0.9


def test_fmix_in_tf_data_and_under_xla():
    images = source_images(B, 16, 16)
    layer = keras_cutmix.FMix(num_classes=K, seed=0, mode="sample")
    mixed, labels = next(iter(tf.data.Dataset.from_tensors((images, np.arange(B))).map(layer)))
    assert_labels_are_pixel_shares(mixed, labels, B, rectangle=False)
    if keras.backend.backend() == "tensorflow":
        compiled = tf.function(lambda x, s: keras_cutmix.fmix(x, seed=s), jit_compile=True)
        assert tuple(compiled(images, tf.constant([1, 2])).shape) == images.shape
    with pytest.raises(ValueError, match="decay_power"):
        keras_cutmix.FMix(decay_power=0)


# ---------------------------------------------------------------------------
# Arguments users bring from other libraries


@pytest.mark.once
@pytest.mark.parametrize(
    "wrong,ours",
    [
        ("factor", "alpha"),
        ("prob", "probability"),
        ("mix_prob", "probability"),
        ("switch_prob", "switch_probability"),
        ("cutmix_minmax", "box_ratio_range"),
        ("correct_lam", "correct_lambda"),
        ("alhpa", "alpha"),
    ],
)
def test_arguments_from_other_libraries_name_ours(wrong, ours):
    for make in (
        lambda **kw: keras_cutmix.CutMix(**kw),
        lambda **kw: keras_cutmix.cutmix(source_images(2, 4, 4), seed=0, **kw),
    ):
        with pytest.raises(TypeError, match=rf"`{wrong}`: did you mean `{ours}`"):
            make(**{wrong: 0.5})
