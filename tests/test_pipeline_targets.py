"""Property 4: dtypes kept; segmentation masks pasted with the same box; sample_weight passes."""

import keras
import numpy as np
import pytest
from helpers import backend_dtype, source_images, to_numpy

import keras_cutmix

B, H, W = 8, 14, 22


@pytest.mark.parametrize("dtype", ["uint8", "int32", "float16", "bfloat16", "float32"])
@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_images_keep_dtype_and_values(dtype, mode):
    images = keras.ops.cast(source_images(B, H, W), dtype)
    mixed, _ = keras_cutmix.CutMix(num_classes=B, seed=1, mode=mode)(images, np.arange(B))
    assert keras.backend.standardize_dtype(mixed.dtype) == dtype
    assert tuple(mixed.shape) == (B, H, W, 3)
    # Values are copied, never computed: every output pixel is one of the inputs'.
    values = np.unique(to_numpy(keras.ops.cast(mixed, "float32")))
    assert set(values.tolist()) <= set(range(1, B + 1))


def test_uint8_extremes_survive():
    images = np.zeros((4, 8, 8, 3), "uint8")
    images[::2] = 255
    mixed = to_numpy(keras_cutmix.cutmix(images, seed=0))
    assert mixed.dtype == np.uint8 and set(np.unique(mixed).tolist()) <= {0, 255}


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_policy_keeps_input_dtypes(policy):
    keras.config.set_dtype_policy(policy)
    layer = keras_cutmix.CutMix(num_classes=B, seed=0)
    for dtype in ("float32", "uint8", "float16"):
        images = keras.ops.cast(source_images(B, H, W), dtype)
        mixed, labels = layer(images, np.arange(B))
        assert keras.backend.standardize_dtype(mixed.dtype) == dtype
        assert keras.backend.standardize_dtype(labels.dtype) == "float32"
        np.testing.assert_allclose(to_numpy(labels).sum(1), 1, atol=1e-6)


@pytest.mark.parametrize("mask_shape", [(B, H, W), (B, H, W, 1)])
@pytest.mark.parametrize("mask_dtype", ["uint8", "int32", "int64"])
@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_segmentation_masks_get_the_same_box(mask_shape, mask_dtype, mode):
    images = source_images(B, H, W)
    masks = (np.arange(B).reshape(B, 1, 1) + np.zeros((B, H, W))).reshape(mask_shape).astype(mask_dtype)
    weights = np.linspace(0.1, 1.0, B).astype("float32")
    out = keras_cutmix.CutMix(num_classes=B, seed=4, mode=mode)(
        {
            "images": images,
            "labels": np.arange(B),
            "segmentation_masks": masks,
            "sample_weight": weights,
            "id": np.arange(B),
        }
    )
    mixed_masks = to_numpy(out["segmentation_masks"])
    assert mixed_masks.shape == mask_shape and mixed_masks.dtype == np.dtype(backend_dtype(mask_dtype))
    np.testing.assert_array_equal(mixed_masks.reshape(B, H, W) + 1, to_numpy(out["images"])[..., 0])
    np.testing.assert_array_equal(to_numpy(out["sample_weight"]), weights)
    np.testing.assert_array_equal(to_numpy(out["id"]), np.arange(B))
    assert (mixed_masks.reshape(B, -1) != np.arange(B)[:, None]).any()


def test_segmentation_masks_channels_first():
    images = source_images(B, H, W, data_format="channels_first")
    masks = (np.arange(B).reshape(B, 1, 1, 1) + np.zeros((B, 1, H, W))).astype("int32")
    out = keras_cutmix.cutmix({"images": images, "segmentation_masks": masks}, seed=2, data_format="channels_first")
    np.testing.assert_array_equal(to_numpy(out["segmentation_masks"])[:, 0] + 1, to_numpy(out["images"])[:, 0])


def test_segmentation_mask_shape_errors():
    images = source_images(B, H, W)
    for bad in (np.zeros((B, H, W, 3), "int32"), np.zeros((B, H + 1, W), "int32"), np.zeros((B, W, H), "int32")):
        with pytest.raises(ValueError, match="segmentation_masks"):
            keras_cutmix.cutmix({"images": images, "segmentation_masks": bad}, seed=0)
