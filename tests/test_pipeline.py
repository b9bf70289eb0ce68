"""Property 1 and 2: label weights equal the pixels actually pasted, exactly."""

import numpy as np
import pytest
from helpers import recovered_fractions, source_images, to_numpy

import keras_cutmix

SIZES = [(32, 32), (17, 45), (45, 17), (7, 3), (1, 9)]


@pytest.mark.parametrize("mode", ["batch", "sample"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("height,width", SIZES)
def test_label_weights_equal_pasted_pixel_fractions(mode, data_format, height, width):
    batch = 7
    images = source_images(batch, height, width, channels=3, data_format=data_format)
    labels = np.arange(batch)
    seen_mixed = 0
    for seed in range(6):
        mixed, mixed_labels = keras_cutmix.cutmix(
            images, labels, seed=seed, num_classes=batch, mode=mode, data_format=data_format
        )
        fractions = recovered_fractions(mixed, batch, data_format)
        mixed_labels = to_numpy(mixed_labels)
        # Exact: an integer pixel count over H·W, up to float32 rounding.
        np.testing.assert_allclose(mixed_labels, fractions, rtol=0, atol=1e-6)
        np.testing.assert_allclose(mixed_labels.sum(axis=1), 1.0, atol=1e-6)
        seen_mixed += int((fractions.max(axis=1) < 1).sum())
    assert seen_mixed > 0, "nothing was ever mixed: the test would prove nothing"


def test_batch_mode_shares_one_box_sample_mode_does_not():
    batch, height, width = 16, 24, 40
    images = source_images(batch, height, width, channels=1)
    labels = np.arange(batch)

    def boxes(mode, seed):
        mixed = to_numpy(keras_cutmix.cutmix(images, labels, seed=seed, mode=mode, num_classes=batch)[0])
        return {
            tuple(np.argwhere(mixed[i, ..., 0] != i + 1).min(0)) + tuple(np.argwhere(mixed[i, ..., 0] != i + 1).max(0))
            for i in range(batch)
            if (mixed[i, ..., 0] != i + 1).any()
        }

    for seed in range(5):
        assert len(boxes("batch", seed)) <= 1
    assert max(len(boxes("sample", seed)) for seed in range(5)) > 1


def test_correct_lambda_false_uses_the_sampled_lambda():
    batch, height, width = 9, 13, 21
    images = source_images(batch, height, width)
    labels = np.arange(batch)
    for mode in ("batch", "sample"):
        seed = np.array([5, 11], dtype="int32")
        params = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode=mode, correct_lambda=False).sample(
            seed, batch, height, width, 1.0
        )
        lam = np.broadcast_to(to_numpy(params.lam), (batch,))
        partner = to_numpy(params.partner)
        _, mixed_labels = keras_cutmix.cutmix(
            images, labels, seed=seed, num_classes=batch, mode=mode, correct_lambda=False
        )
        mixed_labels = to_numpy(mixed_labels)
        np.testing.assert_allclose(mixed_labels[np.arange(batch), partner], 1 - lam, atol=1e-6)
        np.testing.assert_allclose(mixed_labels[np.arange(batch), np.arange(batch)], lam, atol=1e-6)
        # ... and that differs from the pixel share whenever the box was clipped.
        fractions = recovered_fractions(keras_cutmix.cutmix(images, seed=seed, mode=mode), batch)
        assert not np.allclose(fractions[np.arange(batch), partner], 1 - lam, atol=1e-3)


def test_partner_is_never_self_and_each_sample_is_pasted_once():
    for batch in (2, 3, 7, 64):
        for seed in range(5):
            params = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode="batch", correct_lambda=True).sample(
                np.array([seed, 0], "int32"), batch, 8, 8, 1.0
            )
            partner = to_numpy(params.partner)
            assert sorted(partner.tolist()) == list(range(batch))
            assert np.all(partner != np.arange(batch))


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_probability_leaves_unmixed_samples_bit_identical(mode):
    batch, height, width = 32, 8, 12
    images = source_images(batch, height, width, dtype="uint8")
    labels = np.eye(batch, dtype="float32")
    applied = []
    for seed in range(40):
        mixed, mixed_labels = keras_cutmix.cutmix(images, labels, seed=seed, probability=0.3, mode=mode)
        mixed, mixed_labels = to_numpy(mixed), to_numpy(mixed_labels)
        untouched = np.all(mixed == images, axis=(1, 2, 3))
        # A sample whose box is empty keeps its image *and* its label exactly.
        np.testing.assert_array_equal(mixed_labels[untouched], labels[untouched])
        params = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode=mode, correct_lambda=True).sample(
            seed, batch, height, width, 0.3
        )
        applied.append(np.broadcast_to(to_numpy(params.applied), (batch,)))
        np.testing.assert_array_equal(mixed[~applied[-1]], images[~applied[-1]])
    rate = np.mean(applied)
    trials = len(applied) * (batch if mode == "sample" else 1)
    assert abs(rate - 0.3) < 4 * np.sqrt(0.3 * 0.7 / trials)


def test_probability_zero_and_one():
    images = source_images(6, 10, 10)
    for seed in range(3):
        out = to_numpy(keras_cutmix.cutmix(images, seed=seed, probability=0.0))
        np.testing.assert_array_equal(out, images)
    params = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode="sample", correct_lambda=True).sample(
        np.array([1, 2], "int32"), 50, 10, 10, 1.0
    )
    assert to_numpy(params.applied).all()
