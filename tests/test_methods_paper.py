"""Issue #3: MixUp, Cutout, CutMixOrMixUp and the paper's CutMix variants."""

import numpy as np
import pytest
from helpers import (
    assert_labels_are_pixel_shares,
    draw,
    label_blends,
    label_mode_targets,
    pixel_shares,
    recovered_fractions,
    source_images,
    to_numpy,
)
from scipy import stats

import keras_cutmix
from keras_cutmix.methods import CutMixOptions, CutoutOptions, MixUpOptions

B, H, W = 10, 16, 24


# --- MixUp -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_mixup_pixels_are_the_lambda_weighted_sum(mode):
    rng = np.random.default_rng(0)
    images = rng.random((B, H, W, 3)).astype("float32")
    labels = np.eye(B, dtype="float32")
    params = draw(MixUpOptions, 5, B, H, W, alpha=0.4, mode=mode)
    partner, lam = to_numpy(params.partner), np.broadcast_to(to_numpy(params.lam), (B,))
    mixed, mixed_labels = keras_cutmix.mixup(images, labels, seed=5, alpha=0.4, mode=mode)
    expected = lam[:, None, None, None] * images + (1 - lam[:, None, None, None]) * images[partner]
    np.testing.assert_allclose(to_numpy(mixed), expected, atol=1e-6)
    np.testing.assert_allclose(
        to_numpy(mixed_labels), lam[:, None] * labels + (1 - lam[:, None]) * labels[partner], atol=1e-6
    )
    if mode == "sample":
        assert len(np.unique(lam)) == B


def test_mixup_uint8_is_rounded_back_and_keeps_dtype():
    images = np.stack([np.full((H, W, 3), 10 * i, "uint8") for i in range(B)])
    params = draw(MixUpOptions, 1, B, H, W, mode="sample")
    partner, lam = to_numpy(params.partner), to_numpy(params.lam)
    mixed = to_numpy(keras_cutmix.mixup(images, seed=1, mode="sample"))
    assert mixed.dtype == np.uint8
    expected = np.round(
        lam[:, None, None, None] * images + (1 - lam[:, None, None, None]) * images[partner].astype("float64")
    )
    assert np.abs(mixed.astype(int) - expected).max() <= 1


def test_mixup_rejects_segmentation_masks():
    with pytest.raises(ValueError, match="segmentation_masks"):
        keras_cutmix.MixUp(seed=0)(
            {"images": source_images(B, H, W), "segmentation_masks": np.zeros((B, H, W), "int32")}
        )


# --- Cutout ------------------------------------------------------------------


@pytest.mark.parametrize("size,expected_side", [(0.5, (8, 12)), (5, (5, 5)), ((3, 7), (3, 7)), ((0.25, 1.0), (4, 24))])
def test_cutout_erases_exactly_the_box(size, expected_side):
    images = source_images(B, H, W, dtype="uint8")
    labels = np.arange(B)
    erased_any = False
    for seed in range(4):
        out, out_labels = keras_cutmix.cutout(images, labels, seed=seed, size=size, fill_value=0, num_classes=B)
        out = to_numpy(out)
        params = draw(CutoutOptions, seed, B, H, W, size=size, mode="sample")
        top, bottom, left, right = (to_numpy(getattr(params, side)) for side in ("top", "bottom", "left", "right"))
        for i in range(B):
            erased = out[i, ..., 0] == 0
            expected = np.zeros((H, W), bool)
            expected[top[i] : bottom[i], left[i] : right[i]] = True
            np.testing.assert_array_equal(erased, expected)
            assert np.all(out[i][~erased] == i + 1) and np.all(out[i][erased] == 0)
            # Box side is the requested size unless clipped by an edge.
            assert bottom[i] - top[i] <= expected_side[0] and right[i] - left[i] <= expected_side[1]
            erased_any |= bool(erased.any())
        # Labels untouched (just one-hot).
        np.testing.assert_array_equal(to_numpy(out_labels), np.eye(B))
    assert erased_any


def test_cutout_fill_value_and_probability():
    images = np.ones((B, H, W, 1), "float32")
    out = to_numpy(keras_cutmix.Cutout(size=4, fill_value=-1.0, seed=0)(images))
    assert set(np.unique(out).tolist()) == {-1.0, 1.0}
    assert np.all((out == -1).sum(axis=(1, 2, 3)) <= 16)
    untouched = to_numpy(keras_cutmix.cutout(images, seed=0, probability=0.0))
    np.testing.assert_array_equal(untouched, images)


@pytest.mark.once
@pytest.mark.parametrize("size", [0, 1.5, -0.1, (1, 2, 3), "big", True])
def test_cutout_bad_size(size):
    with pytest.raises(ValueError, match="size"):
        keras_cutmix.Cutout(size=size)


# --- CutMix or MixUp -----------------------------------------------------------


@pytest.mark.once
def test_switch_frequency_matches_switch_probability_and_labels_stay_exact():
    images = source_images(B, H, W)
    labels = np.arange(B)
    n_cut = n_total = 0
    for seed in range(60):
        mixed, mixed_labels = keras_cutmix.cutmix_or_mixup(
            images, labels, seed=seed, switch_probability=0.3, mode="sample", num_classes=B
        )
        mixed, mixed_labels = to_numpy(mixed), to_numpy(mixed_labels)
        blends = label_blends(mixed_labels, B)
        for i in range(B):
            values = np.unique(mixed[i])
            is_cutmix = np.all(np.isin(values, np.arange(1, B + 1)))  # pasted, not blended
            if is_cutmix:
                np.testing.assert_allclose(mixed_labels[i], pixel_shares(mixed[i : i + 1], B)[0], atol=1e-6)
            else:  # blended: every pixel is the label-weighted mean of the two sources
                np.testing.assert_allclose(mixed[i], blends[i], atol=1e-4)
            n_cut += is_cutmix
            n_total += 1
    rate = n_cut / n_total
    assert abs(rate - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n_total), rate


@pytest.mark.once
def test_switch_probability_applied_once():
    params = keras_cutmix.methods.CutMixOrMixUpOptions(probability=0.4, mode="sample").sample(3, 4000, 8, 8, 0.4)
    applied = to_numpy(params.applied)
    touched = (to_numpy(params.blend) > 0) | (to_numpy(params.bottom) > to_numpy(params.top))
    assert abs(applied.mean() - 0.4) < 0.04
    assert not np.any(touched & ~applied)


# --- Variants of CutMix (Table 8) -------------------------------------------------


@pytest.mark.once
def test_gaussian_centres_spread():
    n, height, width = 20000, 64, 96
    one_pixel = lambda **options: draw(CutMixOptions, 2, n, height, width, mode="sample", box_size=(1, 1), **options)
    params = one_pixel(box_center="gaussian")
    cy, cx = to_numpy(params.top).astype(float), to_numpy(params.left).astype(float)

    def expected_std(std, side):  # N(side/2, (std·side)²), floored and clipped to the image
        z = np.random.default_rng(0).normal(side / 2, std * side, 10**6)
        return np.floor(np.clip(z, 0, side - 1)).std()

    np.testing.assert_allclose([cy.mean(), cx.mean()], [height / 2 - 0.5, width / 2 - 0.5], atol=0.6)
    np.testing.assert_allclose([cy.std(), cx.std()], [expected_std(0.25, height), expected_std(0.25, width)], rtol=0.03)
    uniform = one_pixel()
    counts = np.bincount(to_numpy(uniform.top), minlength=height)
    assert stats.chisquare(counts).pvalue > 1e-3  # uniform: all rows equally likely
    assert stats.chisquare(np.bincount(cy.astype(int), minlength=height)).pvalue < 1e-6  # Gaussian: not
    narrow = one_pixel(box_center="gaussian", center_std=0.1)
    np.testing.assert_allclose(to_numpy(narrow.top).std(), expected_std(0.1, height), rtol=0.03)


def test_fixed_box_size_pastes_exactly_that_many_pixels():
    images = source_images(B, 40, 40)
    labels = np.arange(B)
    exact = 0
    for seed in range(10):
        mixed, mixed_labels = keras_cutmix.cutmix(
            images, labels, seed=seed, box_size=(16, 16), num_classes=B, mode="sample"
        )
        fractions = assert_labels_are_pixel_shares(mixed, mixed_labels, B)
        pasted = 1 - np.diag(fractions)
        assert np.all(pasted * 1600 <= 256 + 1e-6)
        exact += int(np.isclose(pasted * 1600, 256).sum())
    assert exact > 0
    params = draw(CutMixOptions, 0, 4, 40, 40, mode="sample", correct_lambda=False, box_size=(16, 16))
    np.testing.assert_allclose(to_numpy(params.partner_weight), 256 / 1600, atol=1e-6)


@pytest.mark.parametrize("label_mode", ["one_hot", "complete"])
def test_label_modes(label_mode):
    images = source_images(B, H, W)
    labels = np.arange(B)
    for seed in range(5):
        mixed, mixed_labels = keras_cutmix.cutmix(
            images, labels, seed=seed, label_mode=label_mode, num_classes=B, mode="sample"
        )
        expected = label_mode_targets(recovered_fractions(mixed, B), label_mode)
        np.testing.assert_allclose(to_numpy(mixed_labels), expected, atol=1e-6)


# --- Layers, config, probability variable -------------------------------------------


@pytest.mark.parametrize(
    "layer",
    [
        # A Gamma draw in a tf.data graph is the same TensorFlow graph under every backend (~10 s to
        # trace): one leg runs these two (the jax leg, the lightest); under the other backends,
        # Gamma draws in tf.data are compared bit by bit in tests/integration/test_one_seed_one_draw.py.
        pytest.param(
            keras_cutmix.MixUp(alpha=0.4, probability=0.7, mode="sample", num_classes=3, label_smoothing=0.1, seed=1),
            marks=pytest.mark.once(leg="jax"),
        ),
        keras_cutmix.Cutout(size=(4, 0.5), probability=0.5, fill_value=3, seed=2),
        pytest.param(
            keras_cutmix.CutMixOrMixUp(
                cutmix_alpha=1.0, mixup_alpha=0.2, switch_probability=0.6, seed=3, num_classes=3
            ),
            marks=pytest.mark.once(leg="jax"),
        ),
        keras_cutmix.CutMix(box_center="gaussian", center_std=0.2, box_size=16, label_mode="complete", seed=4),
    ],
    ids=["mixup", "cutout", "switch", "cutmix-variants"],
)
def test_every_layer_round_trips_config_and_runs_in_tf_data(layer):
    import tensorflow as tf

    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    ds = tf.data.Dataset.from_tensor_slices((source_images(8, 16, 16, dtype="uint8"), np.arange(8) % 3)).batch(4)
    for images, labels in ds.map(layer if getattr(layer, "num_classes", None) else (lambda x, y: (layer(x), y))):
        assert images.dtype == tf.uint8 and images.shape == (4, 16, 16, 3)


def test_set_probability_takes_effect_without_retracing():
    import tensorflow as tf

    layer = keras_cutmix.CutMix(probability=0.0, seed=0)
    traces = []

    @tf.function
    def step(x):
        traces.append(1)
        return layer(x)

    images = tf.constant(source_images(B, H, W))
    np.testing.assert_array_equal(step(images).numpy(), images.numpy())
    traced = len(traces)  # 1, or 2 under JAX/torch, whose TF-side variables are made in the first trace
    layer.set_probability(1.0)
    assert not np.array_equal(step(images).numpy(), images.numpy())
    layer.set_probability(0.0)
    np.testing.assert_array_equal(step(images).numpy(), images.numpy())
    assert len(traces) == traced
    assert layer.probability == 0.0 and layer.get_config()["probability"] == 0.0
    with pytest.raises(ValueError, match="probability=1.5"):
        layer.set_probability(1.5)


def test_set_probability_reaches_a_running_tf_data_pipeline():
    import tensorflow as tf

    layer = keras_cutmix.CutMix(probability=0.0, seed=0)
    images = source_images(8, 8, 8)
    ds = tf.data.Dataset.from_tensor_slices(images).batch(8).map(layer)
    np.testing.assert_array_equal(next(iter(ds)).numpy(), images)
    layer.set_probability(1.0)
    assert not np.array_equal(next(iter(ds)).numpy(), images)
