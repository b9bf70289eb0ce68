"""Properties 5–8: tf.function, XLA, tf.data, unknown shapes, seeds, vectorization.

TensorFlow graphs are exercised under every Keras backend: under JAX or torch
the same math runs on Keras' TensorFlow backend inside the graph.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import assert_labels_are_pixel_shares, source_images, to_numpy

import keras_cutmix

B, H, W = 8, 24, 40
# Under JAX and torch the same TensorFlow graphs run (the package enters TensorFlow ops inside
# them), and each case compiles its own XLA function (5–12 s on 2 cores): those legs run one
# representative case of each matrix below and the tf.data tests, the tensorflow leg every case,
# the unknown-shape test and the graph's op census.
TENSORFLOW_LEG = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the same TensorFlow graph as under the TensorFlow backend: runs in the tensorflow leg",
)


def everywhere_or_tensorflow_leg(cases, everywhere):
    """pytest params of `cases`; those not in `everywhere` run in the tensorflow leg only."""
    return [pytest.param(*case, marks=() if case in everywhere else TENSORFLOW_LEG) for case in cases]


@pytest.mark.parametrize(
    "jit_compile, alpha, mode",
    everywhere_or_tensorflow_leg(
        # Every level of each option, each pair of two options once (4 of the 8 combinations).
        [(False, 1.0, "batch"), (False, 0.4, "sample"), (True, 1.0, "sample"), (True, 0.4, "batch")],
        everywhere=[(False, 0.4, "sample")],
    ),
)
def test_functional_under_tf_function(jit_compile, alpha, mode):
    fn = tf.function(
        lambda x, y, s: keras_cutmix.cutmix(x, y, seed=s, alpha=alpha, mode=mode, num_classes=B),
        jit_compile=jit_compile,
    )
    images = tf.constant(source_images(B, H, W, dtype="uint8"))
    out1 = fn(images, tf.range(B), tf.constant([3, 4]))
    out2 = fn(images, tf.range(B), tf.constant([3, 4]))
    assert_labels_are_pixel_shares(*out1, B)
    assert out1[0].dtype == tf.uint8
    np.testing.assert_array_equal(out1[0].numpy(), out2[0].numpy())


@pytest.mark.parametrize("jit_compile", everywhere_or_tensorflow_leg([(False,), (True,)], everywhere=[(False,)]))
def test_layer_under_tf_function_and_xla(jit_compile):
    layer = keras_cutmix.CutMix(num_classes=B, seed=1, alpha=0.5, mode="sample")
    fn = tf.function(lambda x, y: layer(x, y), jit_compile=jit_compile)
    images = tf.constant(source_images(B, H, W))
    first = fn(images, tf.range(B))
    second = fn(images, tf.range(B))
    assert_labels_are_pixel_shares(*first, B)
    assert_labels_are_pixel_shares(*second, B)
    assert not np.array_equal(first[0].numpy(), second[0].numpy()), "the seed stream did not advance"


@TENSORFLOW_LEG
def test_unknown_batch_height_and_width():
    layer = keras_cutmix.CutMix(num_classes=5, seed=0, mode="sample")
    spec = (tf.TensorSpec((None, None, None, 3), tf.float32), tf.TensorSpec((None,), tf.int32))
    fn = tf.function(lambda x, y: layer(x, y), input_signature=spec)
    fx = tf.function(lambda x, y: keras_cutmix.cutmix(x, y, seed=[1, 2], num_classes=5), input_signature=spec)
    for batch, height, width in ((1, 5, 9), (5, 31, 17), (3, 16, 16)):
        images = tf.constant(source_images(batch, height, width))
        labels = tf.range(batch)
        for f in (fn, fx):
            mixed, mixed_labels = f(images, labels)
            assert mixed.shape == (batch, height, width, 3)
            assert mixed_labels.shape == (batch, 5)
            if batch <= 5:
                assert_labels_are_pixel_shares(mixed, mixed_labels, batch)


def test_batch_size_one_is_left_intact():
    images = source_images(1, 9, 7)
    mixed, labels = keras_cutmix.cutmix(images, np.array([2]), seed=0, num_classes=3)
    np.testing.assert_array_equal(to_numpy(mixed), images)
    np.testing.assert_allclose(to_numpy(labels), [[0, 0, 1]], atol=1e-6)


def _dataset(n=20, batch=6, **kwargs):
    images = source_images(n, 12, 10, dtype="uint8")
    # Images of one batch are distinct; labels are class = index within data.
    return tf.data.Dataset.from_tensor_slices((images, np.arange(n))).batch(batch, **kwargs)


def test_dataset_map_after_batch_with_partial_last_batch():
    layer = keras_cutmix.CutMix(num_classes=20, seed=0)
    sizes = []
    for images, labels in _dataset().map(layer, num_parallel_calls=tf.data.AUTOTUNE):
        sizes.append(images.shape[0])
        assert images.dtype == tf.uint8 and labels.shape == (images.shape[0], 20)
        # Sources by value: image k of the dataset is the constant k + 1, of class k.
        assert_labels_are_pixel_shares(images, labels, 20, rectangle=False)
    assert sizes == [6, 6, 6, 2]


def _epoch(ds):
    return [images.numpy() for images, _ in ds]


def test_dataset_randomness_differs_per_batch_and_epoch_and_seed_reproduces():
    def run(seed):
        ds = _dataset(n=24, batch=6, drop_remainder=True).map(keras_cutmix.CutMix(num_classes=24, seed=seed))
        return _epoch(ds), _epoch(ds)

    first, second = run(7)
    assert not all(np.array_equal(a, b) for a, b in zip(first, second)), "epochs repeat"
    boxes = {tuple(np.argwhere(batch[0, ..., 0] != batch[0, 0, 0, 0]).ravel()[:2]) for batch in first}
    assert len(boxes) > 1 or len({b.tobytes() for b in first}) == len(first)
    again_first, again_second = run(7)
    for a, b in zip(first + second, again_first + again_second):
        np.testing.assert_array_equal(a, b)
    other, _ = run(8)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_dataset_map_dict_and_triple_elements():
    images = source_images(8, 6, 6, dtype="uint8")
    weights = np.linspace(0, 1, 8).astype("float32")
    layer = keras_cutmix.CutMix(num_classes=8, seed=0)
    triple = tf.data.Dataset.from_tensor_slices((images, np.arange(8), weights)).batch(4).map(layer)
    for x, y, w in triple:
        assert x.shape == (4, 6, 6, 3) and y.shape == (4, 8) and w.shape == (4,)
    dicts = (
        tf.data.Dataset.from_tensor_slices(
            {"images": images, "labels": np.arange(8), "name": [str(i) for i in range(8)]}
        )
        .batch(4)
        .map(layer)
    )
    for d in dicts:
        assert set(d) == {"images", "labels", "name"} and d["name"].dtype == tf.string
    images_only = tf.data.Dataset.from_tensor_slices(images).batch(4).map(layer)
    for x in images_only:
        assert x.shape == (4, 6, 6, 3)


def test_functional_with_per_element_seeds_in_tf_data():
    def build():
        seeds = tf.data.Dataset.random(seed=11).batch(2)
        ds = tf.data.Dataset.zip(_dataset(n=24, batch=6), seeds)
        return ds.map(
            lambda batch, s: keras_cutmix.cutmix(*batch, seed=s, num_classes=24),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )

    a, b = _epoch(build()), _epoch(build())
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    enumerated = (
        _dataset(n=24, batch=6)
        .enumerate()
        .map(lambda i, batch: keras_cutmix.cutmix(*batch, seed=[42, i], num_classes=24))
    )
    outs = _epoch(enumerated)
    assert len({o.tobytes() for o in outs}) == len(outs)


@TENSORFLOW_LEG
def test_graph_is_vectorized_without_loops_channel_masks_or_float_grids():
    images = tf.constant(source_images(B, H, W, channels=3, dtype="uint8"))
    for mode in ("batch", "sample"):
        for alpha in (1.0, 0.3):
            call = lambda x, y: keras_cutmix.cutmix(x, y, seed=[1, 2], mode=mode, alpha=alpha, num_classes=B)
            # Under XLA the whole call is one flat graph; in a plain graph it is a
            # call to one XLA function (in the graph's library), checked below.
            graph = tf.function(call, jit_compile=True).get_concrete_function(images, tf.range(B)).graph
            library = tf.function(call).get_concrete_function(images, tf.range(B)).graph.as_graph_def().library
            op_types = {op.type for op in graph.get_operations()}
            op_types |= {node.op for function in library.function for node in function.node_def}
            assert not op_types & {"While", "StatelessWhile", "MapDataset", "TensorListReserve"}, op_types
            for op in graph.get_operations():
                for t in op.outputs:
                    shape = t.shape
                    if shape.rank is None or not shape.is_fully_defined():
                        continue
                    size = int(np.prod(shape.as_list())) if shape.rank else 1
                    # The only full-size tensors are the uint8 images themselves.
                    if t.dtype == tf.bool:
                        assert size <= B * H * W, (op.type, shape)
                    if t.dtype.is_floating:
                        assert size < H * W, (op.type, shape, "float grid or float image copy")


def test_layer_in_model_compiled_with_jit():
    if keras.backend.backend() == "torch":
        pytest.skip("torch's jit_compile (torch.compile) is not a supported Keras compile path on CPU CI")
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras_cutmix.CutMix(seed=0),
            keras.layers.Conv2D(4, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    x = np.random.default_rng(0).random((16, 16, 16, 3)).astype("float32")
    y = np.arange(16) % 3
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    # Inference leaves the images alone: predict == the model without CutMix.
    head = keras.Sequential(model.layers[1:])
    np.testing.assert_allclose(model.predict(x, verbose=0), head.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_tf_data_map_function_is_small(mode):
    """A fresh tf.data iterator instantiates every node of the map function again (issue #22).

    The layer's map function is its checks and one call to one XLA function
    (draw, labels and paste), with no nested loops or conds; 506 nodes in
    five graphs before issue #22, 253 in two after. The bounds leave room,
    and fail on a return of the draw's ~250 unrolled rounds.
    """
    layer = keras_cutmix.CutMix(seed=1, mode=mode)
    spec = (tf.TensorSpec((None, H, W, 3), tf.float32), tf.TensorSpec((None,), tf.int32))
    ds = tf.data.Dataset.from_tensors((tf.zeros((B, H, W, 3)), tf.range(B))).map(
        lambda x, y: layer(x, tf.one_hot(y, B))
    )
    next(iter(ds))  # the layer runs in tf.data
    function = tf.function(lambda x, y: layer(x, tf.one_hot(y, B)), autograph=False)
    graph = function.get_concrete_function(*spec).graph.as_graph_def()
    calls = [node for node in graph.node if node.op in ("StatefulPartitionedCall", "PartitionedCall")]
    assert len(calls) == 1 and len(graph.library.function) == 1, [f.signature.name for f in graph.library.function]
    assert len(graph.node) <= 80, len(graph.node)
    assert len(graph.library.function[0].node_def) <= 300, len(graph.library.function[0].node_def)
