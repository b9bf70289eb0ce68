"""Where Keras users put an augmentation: after Keras' own layers, in a Pipeline,
in dicts with extra entries, under Keras' layer-test protocol, and the traps
(map before batch, missing channel axis, singular keys, a layer inside a model).
Each under the tensorflow, jax and torch backends.
"""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import pixel_shares, source_images, to_numpy
from keras.src import testing

import keras_cutmix

BACKEND = keras.backend.backend()
B, H, W, K = 8, 12, 10, 4
LAYERS = (
    keras_cutmix.CutMix,
    keras_cutmix.MixUp,
    keras_cutmix.Cutout,
    keras_cutmix.CutMixOrMixUp,
    keras_cutmix.ResizeMix,
    keras_cutmix.FMix,
)
PASTING = (keras_cutmix.CutMix, keras_cutmix.FMix)  # whole pixels of one partner: shares recoverable


def _pipeline(layer):
    return keras.layers.Pipeline([keras.layers.RandomFlip("horizontal", seed=0), layer])


def _labels_match_pixels(images, labels):
    """Rows sum to 1 and each weight is the share of pixels from that source (constant images)."""
    labels = to_numpy(labels).astype("float64")
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-6)
    shares = pixel_shares(images, B)
    classes = np.stack([np.bincount(np.arange(B) % K, weights=row, minlength=K) for row in shares])
    np.testing.assert_allclose(labels, classes, atol=1e-6)


@pytest.mark.parametrize("layer_class", PASTING)
@pytest.mark.parametrize("label_form", ["sparse", "one_hot"])
def test_after_keras_random_flip_in_a_pipeline_in_tf_data(layer_class, label_form):
    # Keras' layers cast labels to float32: sparse ids arrive as float (B,).
    ids = np.arange(B) % K
    labels = ids if label_form == "sparse" else np.eye(K, dtype="float32")[ids]
    pipeline = _pipeline(layer_class(num_classes=K, seed=0, mode="sample"))
    ds = tf.data.Dataset.from_tensor_slices({"images": source_images(B, H, W), "labels": labels}).batch(B)
    for _ in range(2):  # the first trace must leave the layer whole for the next one
        out = next(iter(ds.map(pipeline)))
        assert set(out) == {"images", "labels"} and tuple(out["labels"].shape) == (B, K)
        _labels_match_pixels(out["images"], out["labels"])


def test_float_class_ids_are_checked_like_integer_ones():
    layer = keras_cutmix.CutMix(num_classes=K, seed=0)
    out = layer(source_images(B, H, W), (np.arange(B) % K).astype("float32"))
    assert tuple(out[1].shape) == (B, K)
    with pytest.raises(ValueError, match=r"class ids \(whole numbers\) in \[0, 4\)"):
        layer(source_images(B, H, W), np.full(B, 0.5, "float32"))
    with pytest.raises(ValueError, match=r"class ids \(whole numbers\) in \[0, 4\)"):
        layer(source_images(B, H, W), np.full((B, 1), 4.0, "float32"))
    with pytest.raises(ValueError, match="A float tensor of rank 1 is ambiguous"):
        keras_cutmix.CutMix(seed=0)(source_images(B, H, W), np.zeros(B, "float32"))


@pytest.mark.parametrize("layer_class", LAYERS)
def test_pipeline_round_trips_config_and_keras_saving(layer_class, tmp_path):
    pipeline = _pipeline(layer_class(num_classes=K, seed=3, probability=0.5))
    clone = keras.layers.Pipeline.from_config(pipeline.get_config())
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in pipeline.layers]
    assert clone.layers[1].get_config() == pipeline.layers[1].get_config()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a mixing layer in a model: see the warning test below
        model = keras.Sequential([keras.Input((H, W, 3)), pipeline, keras.layers.Flatten(), keras.layers.Dense(2)])
        model.save(tmp_path / "model.keras")
        loaded = keras.saving.load_model(tmp_path / "model.keras")
    mixer = loaded.layers[0].layers[1]
    assert type(mixer) is layer_class and mixer.get_config() == pipeline.layers[1].get_config()
    x = source_images(B, H, W)
    np.testing.assert_allclose(to_numpy(loaded.predict(x, verbose=0)), to_numpy(model.predict(x, verbose=0)), atol=1e-6)


def test_extra_entries_of_any_type_pass_through_every_call_form():
    images = keras.ops.convert_to_tensor(source_images(B, H, W))
    boxes = {
        "boxes": np.tile(np.array([[1.0, 1.0, 5.0, 5.0]], "float32"), (B, 1, 1)),
        "labels": np.zeros((B, 1), "int32"),
    }
    element = {
        "images": images,
        "labels": np.arange(B) % K,
        "sample_weight": np.ones(B, "float32"),
        "bounding_boxes": boxes,
        "id": "abc",
        "index": 3,
        "meta": None,
    }
    for call in (
        lambda e: keras_cutmix.CutMix(num_classes=K, bounding_box_format="xyxy", seed=0)(e),
        lambda e: keras_cutmix.cutmix(e, seed=0, num_classes=K, bounding_box_format="xyxy"),
        lambda e: keras_cutmix.MixUp(num_classes=K, seed=0)(e),
    ):
        out = call(element)
        assert set(out) == set(element)
        assert out["id"] == "abc" and out["index"] == 3 and out["meta"] is None
        assert tuple(out["labels"].shape) == (B, K) and tuple(out["bounding_boxes"]["boxes"].shape) == (B, 2, 4)
        np.testing.assert_array_equal(to_numpy(out["sample_weight"]), np.ones(B))


def test_extra_tensor_entries_pass_through_tf_data():
    data = {"images": source_images(B, H, W), "labels": np.arange(B) % K, "id": np.array([b"x"] * B)}
    out = next(iter(tf.data.Dataset.from_tensor_slices(data).batch(B).map(keras_cutmix.CutMix(num_classes=K, seed=0))))
    assert out["id"].numpy().tolist() == [b"x"] * B and tuple(out["labels"].shape) == (B, K)


class KerasLayerProtocolTest(testing.TestCase):
    """Keras' own layer-test protocol: symbolic and eager calls, a fit step, serialization, mixed precision."""

    def test_every_layer(self):
        for layer_class in LAYERS:
            self.run_layer_test(
                layer_class,
                init_kwargs={"seed": 1},
                input_shape=(8, 6, 5, 3),
                supports_masking=False,
                expected_output_shape=(8, 6, 5, 3),
                expected_num_trainable_weights=0,
                expected_num_non_trainable_weights=1,  # the probability
                expected_num_seed_generators=1,
            )


@pytest.mark.skipif(BACKEND != "torch", reason="torch modules only")
def test_torch_module_attributes_resolve():
    layer = keras_cutmix.CutMix(num_classes=K, seed=0)
    assert len(list(layer.torch_params)) >= 1  # nn.Module machinery reaches the probability variable
    assert layer.alpha == 1.0 and layer.num_classes == K
    with pytest.raises(AttributeError, match="nope"):
        layer.nope


def test_map_before_batch_warns_once():
    ds = tf.data.Dataset.from_tensor_slices((source_images(B, H, W), np.arange(B) % K))
    layer = keras_cutmix.CutMix(num_classes=K, seed=0)
    with pytest.warns(UserWarning, match="batch, then map") as record:
        ds.map(layer)
        ds.map(layer)
    assert sum("batch, then map" in str(w.message) for w in record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ds.batch(4).map(keras_cutmix.CutMix(num_classes=K, seed=0))  # batched: no warning
        keras_cutmix.CutMix(num_classes=K, seed=0)(source_images(B, H, W)[0], 1)  # one image, eagerly: no warning


@pytest.mark.parametrize("form", ["layer", "function", "tf.data"])
def test_grayscale_batch_without_channel_axis_names_the_fix(form):
    images, labels = source_images(B, H, W)[..., 0], np.arange(B) % K  # (B, H, W), as load_fashion_mnist returns
    with pytest.raises(ValueError, match=r"without a channel axis.*images\[\.\.\., None\]"):
        if form == "layer":
            keras_cutmix.CutMix(num_classes=K, seed=0)(images, labels)
        elif form == "function":
            keras_cutmix.cutmix(images, labels, seed=0, num_classes=K)
        else:
            tf.data.Dataset.from_tensor_slices((images, labels)).batch(B).map(keras_cutmix.CutMix(num_classes=K))


def test_tensorflow_datasets_singular_keys():
    images, ids = source_images(B, H, W), np.arange(B) % K
    layer = keras_cutmix.CutMix(num_classes=K, seed=0, mode="sample")
    for element in (
        {"image": images, "label": ids},
        {"images": images, "label": ids},
        {"image": images, "labels": ids},
    ):
        out = layer(element)
        assert set(out) == set(element)
        label_key = "label" if "label" in element else "labels"
        image_key = "image" if "image" in element else "images"
        assert tuple(out[label_key].shape) == (B, K)  # never images mixed and labels left sparse
        _labels_match_pixels(out[image_key], out[label_key])
    ds = tf.data.Dataset.from_tensor_slices({"image": images, "label": ids}).batch(B).map(layer)
    out = next(iter(ds))
    _labels_match_pixels(out["image"], out["label"])
    with pytest.raises(ValueError, match="names 'labels' twice"):
        layer({"images": images, "label": ids, "labels": ids})


def test_mixing_layer_inside_a_model_warns_once_and_points_to_cutmixmodel():
    with pytest.warns(UserWarning, match="CutMixModel") as record:
        inputs = keras.Input((H, W, 3))
        x = keras_cutmix.CutMix(seed=0)(inputs)
        keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    assert sum("CutMixModel" in str(w.message) for w in record) == 1
    assert [w.filename for w in record if "CutMixModel" in str(w.message)] == [__file__]  # points at the call
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        keras.Sequential([keras.Input((H, W, 3)), keras_cutmix.Cutout(seed=0)])  # Cutout mixes no labels
        labels = keras.Input((), dtype="int32")
        keras_cutmix.CutMix(num_classes=K)(keras.Input((H, W, 3)), labels)  # labels reach it
