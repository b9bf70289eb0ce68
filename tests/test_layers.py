"""The layer: call forms, training flag, unbatched input, config, saving, errors."""

import keras
import numpy as np
import pytest
from helpers import assert_labels_are_pixel_shares, source_images, to_numpy

import keras_cutmix

B, H, W, K = 6, 10, 14, 6


def test_call_forms_return_the_structure_they_got():
    layer = keras_cutmix.CutMix(num_classes=K, seed=0)
    images = source_images(B, H, W)
    labels = np.arange(B)
    weights = np.ones(B, "float32")
    only = layer(images)
    assert tuple(only.shape) == (B, H, W, 3)
    pair = layer(images, labels)
    assert isinstance(pair, tuple) and len(pair) == 2 and tuple(pair[1].shape) == (B, K)
    triple = layer(images, labels, weights)
    assert isinstance(triple, tuple) and len(triple) == 3
    np.testing.assert_array_equal(to_numpy(triple[2]), weights)
    as_dict = layer({"images": images, "labels": labels, "extra": weights})
    assert set(as_dict) == {"images", "labels", "extra"}
    # Every form mixes with exact labels.
    for mixed, mixed_labels in (pair, triple[:2], (as_dict["images"], as_dict["labels"])):
        assert_labels_are_pixel_shares(mixed, mixed_labels, B)


def test_layer_and_function_share_the_math():
    images = source_images(B, H, W)
    layer = keras_cutmix.CutMix(num_classes=K, seed=3, alpha=0.5, mode="sample")
    seed = layer.seed_generator.state.value * 1  # the seed the next call will use
    from_layer = layer(images, np.arange(B))
    from_function = keras_cutmix.cutmix(images, np.arange(B), seed=seed, num_classes=K, alpha=0.5, mode="sample")
    for a, b in zip(from_layer, from_function):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def test_training_false_leaves_pixels_but_makes_labels_dense():
    layer = keras_cutmix.CutMix(num_classes=K, label_smoothing=0.1, seed=0)
    images = source_images(B, H, W, dtype="uint8")
    out_images, out_labels = layer(images, np.arange(B), training=False)
    np.testing.assert_array_equal(to_numpy(out_images), images)
    np.testing.assert_allclose(to_numpy(out_labels), np.eye(K)[np.arange(B)] * 0.9 + 0.1 / K, atol=1e-6)


def test_unbatched_image_is_returned_unchanged_with_dense_label():
    layer = keras_cutmix.CutMix(num_classes=K, seed=0)
    image = source_images(1, H, W)[0]
    out_image, out_label = layer(image, np.array(2))
    np.testing.assert_array_equal(to_numpy(out_image), image)
    np.testing.assert_array_equal(to_numpy(out_label), np.eye(K)[2])


def test_same_seed_reproduces_and_calls_differ():
    images = source_images(B, H, W)
    a, b = keras_cutmix.CutMix(seed=5), keras_cutmix.CutMix(seed=5)
    first_a, first_b = to_numpy(a(images)), to_numpy(b(images))
    np.testing.assert_array_equal(first_a, first_b)
    assert any(not np.array_equal(first_a, to_numpy(a(images))) for _ in range(3))


def test_symbolic_call_in_a_functional_model():
    images = keras.Input((H, W, 3))
    labels = keras.Input((), dtype="int32")
    mixed, mixed_labels = keras_cutmix.CutMix(num_classes=K)(images, labels)
    assert tuple(mixed.shape) == (None, H, W, 3)
    assert tuple(mixed_labels.shape) == (None, K) and mixed_labels.dtype == "float32"
    model = keras.Model([images, labels], [mixed, mixed_labels])
    out = model.predict([source_images(B, H, W), np.arange(B)], verbose=0)
    np.testing.assert_array_equal(out[0], source_images(B, H, W))  # inference: untouched


def test_get_config_round_trip():
    options = dict(
        alpha=0.4,
        probability=0.5,
        mode="sample",
        num_classes=10,
        label_smoothing=0.1,
        correct_lambda=False,
        seed=3,
        data_format="channels_first",
    )
    layer = keras_cutmix.CutMix(**options, name="mix")
    config = layer.get_config()
    clone = keras_cutmix.CutMix.from_config(config)
    assert clone.get_config() == config and config["name"] == "mix"
    for key, value in options.items():
        assert config[key] == value and getattr(clone, key) == value
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, keras_cutmix.CutMix) and restored.get_config() == config


def test_set_probability_is_one_value_for_options_config_and_draw():
    images, labels = source_images(B, H, W), np.arange(B)
    layer = keras_cutmix.CutMix(num_classes=K, seed=5, mode="sample")
    layer.set_probability(0.3)
    assert layer.probability == layer.options.probability == layer.get_config()["probability"] == 0.3
    assert float(to_numpy(layer.probability_variable)) == pytest.approx(0.3)
    # The draw is the one of a layer made with probability=0.3 (and of one restored from the config).
    fresh = keras_cutmix.CutMix(num_classes=K, seed=5, mode="sample", probability=0.3)
    restored = keras_cutmix.CutMix.from_config(layer.get_config())
    mixed = to_numpy(layer(images, labels)[1])
    unmixed = int((mixed.max(axis=1) == 1).sum())
    assert 0 < unmixed < B, "per-sample coins of 0.3: some samples mixed, some not"
    for other in (fresh, restored):
        np.testing.assert_array_equal(to_numpy(other(images, labels)[1]), mixed)


def test_model_with_the_layer_saves_and_loads(tmp_path):
    model = keras.Sequential(
        [keras.Input((H, W, 3)), keras_cutmix.CutMix(alpha=0.3, seed=1), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[0], keras_cutmix.CutMix)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    x = source_images(B, H, W)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(alpha=0), r"`alpha` must be a number in \(0.0, ∞\). Received: alpha=0"),
        (dict(alpha=-1.0), r"alpha=-1.0"),
        (dict(alpha=float("nan")), r"alpha=nan"),
        (dict(probability=1.5), r"`probability` must be a number in \[0.0, 1.0\]. Received: probability=1.5"),
        (dict(probability=-0.1), r"probability=-0.1"),
        (dict(mode="pixel"), r"`mode` must be one of \('batch', 'sample'\). Received: mode='pixel'"),
        (dict(num_classes=0), r"num_classes=0"),
        (dict(num_classes=2.0), r"num_classes=2.0"),
        (dict(num_classes=True), r"num_classes=True"),
        (dict(label_smoothing=2.0), r"label_smoothing=2.0"),
        (dict(correct_lambda="yes"), r"correct_lambda='yes'"),
        (dict(data_format="NHWC"), r"data_format='NHWC'"),
        (dict(seed=1.5), r"seed=1.5"),
    ],
)
def test_bad_arguments_raise_naming_argument_and_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_cutmix.CutMix(**kwargs)


def test_numpy_integer_num_classes_is_accepted_as_int():
    layer = keras_cutmix.CutMix(num_classes=np.int64(5), seed=0)
    assert type(layer.get_config()["num_classes"]) is int and layer.get_config()["num_classes"] == 5
    _, labels = layer(np.zeros((4, 8, 8, 1), "float32"), np.arange(4))
    assert tuple(labels.shape) == (4, 5)


def test_bad_inputs_raise_clear_errors():
    layer = keras_cutmix.CutMix(seed=0)
    with pytest.raises(ValueError, match=r"`images` must be .*received shape \(4, 8, 8, 3, 1\) \(rank 5\)"):
        layer(np.zeros((4, 8, 8, 3, 1), "float32"))
    with pytest.raises(ValueError, match=r"rank 2"):
        layer(np.zeros((8, 8), "float32"))
    with pytest.raises(ValueError, match=r"'images' key"):
        layer({"pixels": np.zeros((2, 4, 4, 3))})
    with pytest.raises(ValueError, match=r"need `num_classes`"):
        layer(source_images(B, H, W), np.arange(B))
    with pytest.raises(ValueError, match=r"sample_weight"):
        keras_cutmix.cutmix(source_images(B, H, W), None, np.ones(B), seed=0)
    images, labels = source_images(B, H, W), np.arange(B)
    with pytest.raises(
        ValueError, match=r"one tuple \(images\[, labels\[, sample_weight\]\]\); received a tuple of 4 entries\.$"
    ):
        keras_cutmix.cutmix((images, labels, labels, labels), seed=0, num_classes=B)
    with pytest.raises(ValueError, match=r"received a tuple of 2 entries and more positional arguments"):
        keras_cutmix.cutmix((images, labels), labels, seed=0, num_classes=B)


@pytest.mark.parametrize(
    "layer_class", [getattr(keras_cutmix.layers, name) for name in keras_cutmix.layers.__all__ if name != "MixLayer"]
)
def test_every_layer_takes_keras_base_arguments(layer_class):
    # Keras' image preprocessing layers all take bounding_box_format, data_format and seed.
    layer = layer_class(bounding_box_format="xyxy", data_format="channels_last", seed=1)
    config = layer.get_config()
    assert (config["bounding_box_format"], config["data_format"], config["seed"]) == ("xyxy", "channels_last", 1)
    assert layer_class.from_config(config).bounding_box_format == "xyxy"
    with pytest.raises(
        ValueError, match=r"`bounding_box_format` must be one of .* Received: bounding_box_format='xyz'"
    ):
        layer_class(bounding_box_format="xyz")
    # The images are mixed as without it.
    images = source_images(B, H, W)
    np.testing.assert_array_equal(
        to_numpy(layer(images)), to_numpy(layer_class(seed=1, data_format="channels_last")(images))
    )


def test_mixup_with_a_bounding_box_format_keeps_both_images_boxes():
    images = source_images(B, H, W)
    boxes = {"boxes": np.tile([[[1, 1, 5, 5]]], (B, 1, 1)).astype("float32"), "labels": np.ones((B, 1), "int32")}
    out = keras_cutmix.MixUp(bounding_box_format="xyxy", seed=0)({"images": images, "bounding_boxes": boxes})
    assert tuple(out["bounding_boxes"]["boxes"].shape) == (B, 2, 4)
    assert (to_numpy(out["bounding_boxes"]["labels"])[:, 0] == 1).all()
