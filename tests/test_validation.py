"""Every bad input of docs/bad_inputs.md gets the error (or behaviour) it says.

Each row runs through four call paths: the `CutMix` layer called eagerly, the
functional `keras_cutmix.cutmix`, the layer in `Dataset.map` (a TensorFlow
graph with static shapes), and in `Dataset.map` with an unknown batch size
(`from_generator`), under every Keras backend.
"""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import function_of, layer_of, recovered_fractions, source_images, to_numpy

import keras_cutmix

B, H, W, K = 4, 8, 8, 3
BACKEND = keras.backend.backend()
FORMS = ("layer", "function", "tf.data", "tf.data unknown batch")


def _images(b=B, h=H, w=W, c=3, dtype="float32"):
    return source_images(b, h, w, channels=c, dtype=dtype)


def _labels(b=B):
    return np.arange(b) % K


def run(form, args, layer_class=keras_cutmix.CutMix, **options):
    """Call `layer_class` (or `keras_cutmix.cutmix`) on `args` along one call path."""
    if layer_class is keras_cutmix.CutMix or layer_class is keras_cutmix.MixUp:
        options.setdefault("num_classes", K)
    if form == "function":
        return keras_cutmix.cutmix(*args, seed=0, **options)
    layer = layer_class(seed=0, **options)
    if form == "layer":
        return layer(*args)
    args = tuple(a if isinstance(a, dict) else np.asarray(a) for a in args)
    if form == "tf.data":
        ds = tf.data.Dataset.from_tensors(args)
    else:
        signature = tuple(tf.TensorSpec((None,) * min(a.ndim, 1) + a.shape[1:], tf.as_dtype(a.dtype)) for a in args)
        ds = tf.data.Dataset.from_generator(lambda: iter([args]), output_signature=signature)
    return next(iter(ds.map(layer)))


def _expect_error(form, args, error, message, **options):
    with pytest.raises(error, match=message):
        run(form, args, **options)


# (row, args, options, eager error and message, graph error and message[,
# "unknown batch only": the graph error only where the batch size is unknown])
# A graph-time check raises ValueError when `Dataset.map` traces the layer; a
# run-time assertion raises InvalidArgumentError when the batch is produced.
_RUNTIME = tf.errors.InvalidArgumentError
ROWS = [
    (
        "images rank 2",
        (np.zeros((H, W), "float32"),),
        {},
        (ValueError, r"`images` must be a batch \(B, H, W, C\) or one image \(H, W, C\).*\(rank 2\)"),
        None,
    ),
    (
        "images rank 5",
        (np.zeros((B, H, W, 3, 1), "float32"),),
        {},
        (ValueError, r"`images` must be a batch .*\(rank 5\)"),
        None,
    ),
    (
        "float labels rank 3",
        (_images(), np.zeros((B, K, 1), "float32")),
        {},
        (
            ValueError,
            r"Float `labels` must be one-hot or soft labels of shape \(B, K\); received labels of shape \((4|None), 3, 1\)",
        ),
        None,
    ),
    (
        "integer labels rank 3",
        (_images(), np.zeros((B, K, 1), "int32")),
        {},
        (ValueError, r"Integer `labels` are read as class ids and must have shape \(B,\) or \(B, 1\)"),
        None,
    ),
    (
        "sample_weight scalar",
        (_images(), _labels(), np.float32(1.0)),
        {},
        (ValueError, r"`sample_weight` must have the batch size of `images`.*sample_weight have shape \(\)"),
        None,
    ),
    (
        "labels batch mismatch",
        (_images(), _labels(3)),
        {},
        (
            ValueError,
            r"`labels` must have the batch size of `images`: images have shape \(4, 8, 8, 3\), labels have shape \(3,\)",
        ),
        (_RUNTIME, r"`labels` must have the batch size of `images`"),
        "unknown batch only",
    ),
    (
        "sample_weight batch mismatch",
        (_images(), _labels(), np.ones(3, "float32")),
        {},
        (ValueError, r"`sample_weight` must have the batch size of `images`.*sample_weight have shape \(3,\)"),
        (_RUNTIME, r"`sample_weight` must have the batch size of `images`"),
        "unknown batch only",
    ),
    (
        "string labels",
        (_images(), np.array(["a", "b", "c", "d"])),
        {},
        (ValueError, r"`labels` must be a numeric"),
        None,
    ),
    (
        "bool labels",
        (_images(), np.array([True, False, True, False])),
        {},
        (ValueError, r"`labels` must be integer class ids or float one-hot/soft labels; received labels of dtype bool"),
        None,
    ),
    (
        "float class ids (B,) without num_classes",
        (_images(), _labels().astype("float32")),
        {"num_classes": None},
        (ValueError, r"A float tensor of rank 1 is ambiguous"),
        None,
    ),
    (
        "float class id not a whole number",
        (_images(), np.array([0, 1.5, 2, 0], "float32")),
        {},
        (
            ValueError,
            r"`labels` must be class ids \(whole numbers\) in \[0, 3\) for num_classes=3; received ids \[1.5\]",
        ),
        (_RUNTIME, r"`labels` must be class ids \(whole numbers\) in \[0, 3\)"),
    ),
    (
        "float class id >= num_classes",
        (_images(), np.array([0, 1, 3, 0], "float32")),
        {},
        (
            ValueError,
            r"`labels` must be class ids \(whole numbers\) in \[0, 3\) for num_classes=3; received ids \[3.0\]",
        ),
        (_RUNTIME, r"`labels` must be class ids \(whole numbers\) in \[0, 3\)"),
    ),
    (
        "class id >= num_classes",
        (_images(), np.array([0, 1, 2, 5])),
        {},
        (
            ValueError,
            r"`labels` must be class ids in \[0, 3\) for num_classes=3; received ids \[5\] \(at positions \[3\]",
        ),
        (_RUNTIME, r"`labels` must be class ids in \[0, 3\) for num_classes=3"),
    ),
    (
        "negative class id",
        (_images(), np.array([[0], [-1], [2], [1]])),
        {},
        (
            ValueError,
            r"`labels` must be class ids in \[0, 3\) for num_classes=3; received ids \[-1\] \(at positions \[1\]",
        ),
        (_RUNTIME, r"`labels` must be class ids in \[0, 3\)"),
    ),
    (
        "NaN labels",
        (_images(), np.array([[1, 0, 0], [np.nan, 0, 1], [0, 1, 0], [0, 0, 1]], "float32")),
        {},
        (
            ValueError,
            r"Float `labels` must be finite \(no NaN or Inf\); received labels of shape \(4, 3\) with NaN/Inf in rows \[1\]",
        ),
        (_RUNTIME, r"Float `labels` must be finite"),
    ),
    (
        "Inf labels",
        (_images(), np.array([[1, 0, 0]] * 3 + [[0, np.inf, 0]], "float32")),
        {},
        (ValueError, r"must be finite.*rows \[3\]"),
        (_RUNTIME, r"must be finite"),
    ),
    (
        "channels_last data, data_format='channels_first'",
        (_images(h=32, w=32), _labels()),
        {"data_format": "channels_first"},
        (
            ValueError,
            r"`images` of shape \((4|None), 32, 32, 3\) look channels_last .* Pass data_format='channels_last'",
        ),
        None,
    ),
    (
        "channels_first data, data_format='channels_last'",
        (np.zeros((B, 3, 32, 32), "float32"), _labels()),
        {"data_format": "channels_last"},
        (ValueError, r"look channels_first \(B, C, H, W\) with C=3.* Pass data_format='channels_first'"),
        None,
    ),
    ("string images", (np.full((B, 2, 2, 1), "x"), _labels()), {}, (ValueError, r"`images` must be a numeric"), None),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("row", ROWS, ids=[row[0] for row in ROWS])
def test_bad_input_raises_naming_it(row, form):
    _, args, options, eager, graph, *only = row
    if graph is None and BACKEND != "tensorflow" and form != "layer":
        # A static check: Python on shapes and dtypes, the same code on every backend and path.
        pytest.skip("static check: every form runs in the tensorflow leg, the layer form here")
    error, message = eager
    if graph is not None and (form == "tf.data unknown batch" or (form == "tf.data" and not only)):
        error, message = graph
    _expect_error(form, args, error, message, **options)


@pytest.mark.parametrize("form", FORMS)
def test_2d_sample_weight_passes_through(form):
    weights = np.arange(2 * B, dtype="float32").reshape(B, 2)
    _, _, out = run(form, (_images(), _labels(), weights))
    np.testing.assert_array_equal(to_numpy(out), weights)


@pytest.mark.parametrize("form,dtype", [(form, "uint8") for form in FORMS] + [("layer", "float32")])
def test_empty_batch_returns_empty_outputs(form, dtype):
    images = np.zeros((0, H, W, 3), dtype)
    mixed, labels, weights = run(form, (images, np.zeros((0,), "int64"), np.zeros((0,), "float32")))
    assert tuple(mixed.shape) == (0, H, W, 3)
    assert keras.backend.standardize_dtype(mixed.dtype) == dtype
    assert tuple(labels.shape) == (0, K)
    assert keras.backend.standardize_dtype(labels.dtype) == "float32"
    assert tuple(weights.shape) == (0,)


@pytest.mark.parametrize("method", keras_cutmix.methods.ALL, ids=lambda method: method.name())
@pytest.mark.parametrize(
    "form",
    # In tf.data every backend runs the same TensorFlow graph: the tensorflow leg runs it for every
    # method; CutMix's runs under every backend in test_empty_batch_returns_empty_outputs above.
    ["layer", "function", pytest.param("tf.data unknown batch", marks=pytest.mark.once)],
)
def test_empty_batch_every_method(method, form):
    args = (np.zeros((0, H, W, 3), "uint8"), np.zeros((0, K), "float32"))
    if form == "function":
        mixed, labels = function_of(method)(*args, seed=0)
    else:
        mixed, labels = run(form, args, layer_class=layer_of(method))
    assert tuple(mixed.shape) == (0, H, W, 3) and tuple(labels.shape) == (0, K)
    assert keras.backend.standardize_dtype(mixed.dtype) == "uint8"


@pytest.mark.parametrize("form", ["layer", "function", "tf.data unknown batch"])
@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_1x1_images_have_exact_labels(form, mode):
    n = 6
    images = source_images(n, 1, 1, channels=1)
    mixed, labels = run(form, (images, np.arange(n)), num_classes=n, mode=mode)
    fractions = recovered_fractions(mixed, n)
    assert set(np.unique(fractions)) <= {0.0, 1.0}
    np.testing.assert_array_equal(to_numpy(labels), fractions)


@pytest.mark.parametrize(
    "shape,data_format",
    [
        ((B, 3, 32, 32), "channels_first"),
        ((B, 32, 32, 3), "channels_last"),
        ((B, 1, 28, 28), "channels_first"),
        ((B, 28, 28, 1), "channels_last"),
        ((B, 3, 32, 48), "channels_last"),  # not square: warned about (test_channels_first_looking_batches_warn_once)
        ((B, 8, 8, 8), "channels_first"),
        ((B, 8, 8, 8), "channels_last"),
        ((B, 4, 4, 3), "channels_first"),  # too small to tell
        ((B, 3, 4, 4), "channels_last"),
    ],
)
def test_layout_check_has_no_false_positives(shape, data_format):
    # training=False runs every input check, then returns the pixels untouched (no per-shape compile on JAX).
    out = keras_cutmix.cutmix(np.zeros(shape, "float32"), seed=0, data_format=data_format, training=False)
    assert tuple(out.shape) == shape


@pytest.mark.parametrize("form", ["layer", "function"])
def test_missing_images(form):
    with pytest.raises(ValueError, match=r"`images` is None"):
        run(form, (None,))
    with pytest.raises(ValueError, match=r"A dict input needs an 'images' key \(not None\)"):
        run(form, ({"images": None, "labels": _labels()},))


@pytest.mark.parametrize("form", ["layer", "tf.data"])
def test_segmentation_masks_batch_mismatch(form):
    data = {"images": _images(), "segmentation_masks": np.zeros((3, H, W), "int32")}
    with pytest.raises(ValueError, match=r"`segmentation_masks` must have the batch size of `images`"):
        run(form, (data,))


def test_segmentation_masks_batch_mismatch_unknown_batch():
    masks = np.zeros((3, H, W), "int32")
    signature = {"images": tf.TensorSpec((None, H, W, 3)), "segmentation_masks": tf.TensorSpec((None, H, W), tf.int32)}
    ds = tf.data.Dataset.from_generator(
        lambda: iter([{"images": _images(), "segmentation_masks": masks}]), output_signature=signature
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`segmentation_masks` must have the batch size"):
        next(iter(ds.map(keras_cutmix.CutMix(seed=0))))


@pytest.mark.parametrize("form", ["layer", "function", "tf.data"])
def test_bounding_boxes_batch_mismatch(form):
    data = {
        "images": _images(),
        "bounding_boxes": {"boxes": np.zeros((3, 2, 4), "float32"), "labels": np.zeros((3, 2), "int32")},
    }
    message = r"`bounding_boxes` need .* with B the batch size of `images` \(4\); received boxes of shape \(3, 2, 4\)"
    with pytest.raises(ValueError, match=message):
        run(form, (data,), bounding_box_format="xyxy")
    data["bounding_boxes"] = {"boxes": np.zeros((B, 2, 4), "float32"), "labels": np.zeros((B, 1), "int32")}
    with pytest.raises(ValueError, match=r"labels of shape \(4, 1\)"):
        run(form, (data,), bounding_box_format="xyxy")


def test_unknown_dict_keys_pass_through_whatever_their_shape():
    ids = np.arange(7)
    out = keras_cutmix.CutMix(seed=0)({"images": _images(), "id": ids})
    assert out["id"] is ids


@pytest.mark.parametrize("layer_class", [keras_cutmix.MixUp, keras_cutmix.Cutout, keras_cutmix.CutMixOrMixUp])
@pytest.mark.parametrize("form", ["layer", "tf.data unknown batch"])
def test_every_layer_checks_ids_and_batch(layer_class, form):
    bad_ids = (_images(), np.array([0, 1, 2, 3]))
    error = ValueError if form == "layer" else tf.errors.InvalidArgumentError
    with pytest.raises(error, match=r"class ids in \[0, 3\) for num_classes=3"):
        run(form, bad_ids, layer_class=layer_class, num_classes=K)
    error, message = ValueError, r"images have shape \(4, 8, 8, 3\), labels have shape \(3,\)"
    if form == "tf.data unknown batch":
        error, message = tf.errors.InvalidArgumentError, r"`labels` must have the batch size"
    with pytest.raises(error, match=message):
        run(form, (_images(), _labels(3)), layer_class=layer_class, num_classes=K)


def test_a_failed_first_trace_does_not_break_the_layer():
    # The layer's TF-side seed stream (JAX/torch backends) is created on the
    # first tf.data trace; a trace that fails must not leave it unusable.
    layer = keras_cutmix.CutMix(num_classes=K, seed=0)
    with pytest.raises(ValueError):
        tf.data.Dataset.from_tensors((_images(), _labels(3))).map(layer)
    images, labels = next(iter(tf.data.Dataset.from_tensors((_images(), _labels())).map(layer)))
    assert tuple(images.shape) == (B, H, W, 3) and tuple(labels.shape) == (B, K)


def test_traced_without_asserts_out_of_range_ids_give_zero_rows():
    """Where values can't be read or asserted on (XLA, jax.jit), one_hot's rule applies."""
    images, ids = _images(), np.array([0, 1, 2, 7])
    if BACKEND == "tensorflow":
        fn = tf.function(
            lambda x, y: keras_cutmix.cutmix(x, y, seed=0, num_classes=K, training=False), jit_compile=True
        )
    elif BACKEND == "jax":
        import jax

        fn = jax.jit(lambda x, y: keras_cutmix.cutmix(x, y, seed=0, num_classes=K, training=False))
    else:
        pytest.skip("torch runs eagerly here (no torch.compile on CPU CI): ids are always checked")
    _, labels = fn(images, ids)
    np.testing.assert_array_equal(to_numpy(labels), np.eye(K, dtype="float32")[[0, 1, 2]].tolist() + [[0, 0, 0]])


# Bad labels given to CutMixModel (issue #19): a compiled step (jax.jit,
# XLA) can neither read nor assert on label values, so they are checked
# before it: arrays once on the host (ValueError before the first step),
# tf.data datasets in the pipeline (a tf.debugging.Assert: InvalidArgumentError
# when the batch is made). Steps that read values check them there too.
BAD_LABELS = {
    # (the host's message names the bad ids; a graph assert prints the labels after it)
    "id = num_classes": (
        np.array([0, 1, 2, 3]),
        r"class ids in \[0, 3\) for num_classes=3; received (ids \[3\]|labels)",
    ),
    "id = -1": (np.array([0, -1, 2, 1]), r"class ids in \[0, 3\) for num_classes=3; received (ids \[-1\]|labels)"),
    "NaN one-hot": (np.where(np.eye(B, K) > 0, np.nan, 0.0).astype("float32"), r"must be finite \(no NaN or Inf\)"),
    "one-hot of the wrong width": (np.eye(B, K + 1, dtype="float32"), r"`labels` have 4 classes \(shape \(.*4\)\)"),
}


def _bad_labels_trainer(jit_compile):
    if jit_compile and BACKEND == "torch":
        pytest.skip("torch's jit_compile (torch.compile) is not a supported Keras compile path on CPU CI")
    model = keras.Sequential([keras.Input((H, W, 3)), keras.layers.Flatten(), keras.layers.Dense(K)])
    trainer = keras_cutmix.CutMixModel(model, seed=0)
    trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), jit_compile=jit_compile)
    return trainer


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("case", list(BAD_LABELS))
def test_cutmix_model_checks_array_labels_on_the_host(case, jit_compile):
    trainer = _bad_labels_trainer(jit_compile)
    labels, message = BAD_LABELS[case]
    before = [to_numpy(v).copy() for v in trainer.trainable_variables]
    with pytest.raises(ValueError, match=message):
        trainer.fit(_images(), labels, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=message):
        trainer.fit(_images(), _labels(), epochs=1, verbose=0, validation_data=(_images(), labels))
    with pytest.raises(ValueError, match=message):
        trainer.evaluate(_images(), labels, verbose=0)
    # Raised before any step: the weights are untouched.
    assert all(np.array_equal(a, to_numpy(b)) for a, b in zip(before, trainer.trainable_variables))


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("case", ["id = num_classes", "NaN one-hot", "one-hot of the wrong width"])
def test_cutmix_model_checks_tf_data_labels(case, jit_compile):
    trainer = _bad_labels_trainer(jit_compile)
    labels, message = BAD_LABELS[case]
    ds = tf.data.Dataset.from_tensors((_images(), labels))
    static = case == "one-hot of the wrong width"  # a shape: raised when traced, with the same message
    # Values: the pipeline's assert (compiled steps), TF's graph step assert, or the eager step's ValueError.
    error = ValueError if static or (BACKEND != "tensorflow" and not jit_compile) else tf.errors.InvalidArgumentError
    with pytest.raises(error, match=message):
        trainer.fit(ds, epochs=1, verbose=0)


def test_channels_first_looking_batches_warn_once(monkeypatch):
    from keras_cutmix import inputs

    monkeypatch.setattr(inputs, "_warned", set())
    images = np.zeros((B, 3, 32, 48), "float32")  # (B, C, H, W) under the default data_format
    with pytest.warns(UserWarning, match=r"look channels_first .* data_format='channels_first'") as record:
        keras_cutmix.CutMix(seed=0)(images)
    assert len([w for w in record if "channels_first" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once: no second warning
        keras_cutmix.cutmix(images, seed=0)
        monkeypatch.setattr(inputs, "_warned", set())
        keras_cutmix.cutmix(np.zeros((B, 32, 48, 3), "float32"), seed=0)  # channels_last: silent
        keras_cutmix.cutmix(images, seed=0, data_format="channels_first")  # declared: silent
