"""The host path (keras_cutmix.host): host data in, host data out; mixed in NumPy bit for bit as the ops path mixes tensors.

On every backend: every registered method's function and layer given NumPy
arrays returns NumPy arrays; where the batch is mixed in NumPy, they equal,
value and dtype, what the ops path returns for the same batch and seed
(`ops_path()` turns NumPy mixing off); the layer's draw keeps its seed
stream and counter across both paths. On torch, CPU tensors come out as
CPU tensors.
"""

import contextlib

import keras
import numpy as np
import pytest
from helpers import to_numpy

import keras_cutmix
from keras_cutmix import host
from keras_cutmix._backend import numpy_backend

pytestmark = pytest.mark.skipif(numpy_backend() is None, reason="Keras' NumPy backend does not import here")

FUNCTIONS = {"CutMix": keras_cutmix.cutmix, "MixUp": keras_cutmix.mixup, "Cutout": keras_cutmix.cutout}
B, H, W, CLASSES = 8, 12, 10, 5


def _batch(dtype, data_format="channels_last"):
    images = np.random.default_rng(0).integers(0, 256, (B, H, W, 3)).astype(dtype)
    if data_format == "channels_first":
        images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    return images, np.arange(B, dtype="int32") % CLASSES


@contextlib.contextmanager
def ops_path():
    """The host path off: every call runs the keras.ops path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(host, "mixes_in_numpy", lambda data, options: False)
        yield


def _assert_same(host_out, ops_out):
    for mine, theirs in zip(host_out, ops_out):
        assert isinstance(mine, np.ndarray), type(mine)
        theirs = to_numpy(theirs)
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
        np.testing.assert_array_equal(mine, theirs)


def test_the_host_path_covers_registered_methods():
    assert set(host.METHODS) == set(FUNCTIONS)
    assert set(host.METHODS) <= {method.name() for method in keras_cutmix.methods.ALL}


def _takes_host_path(method):
    if method not in host.methods():
        pytest.skip(f"{method} keeps the ops path on the {keras.backend.backend()} backend (host.methods())")


@pytest.mark.parametrize("method", sorted(FUNCTIONS))
@pytest.mark.parametrize(("mode", "dtype"), [("batch", "float32"), ("sample", "uint8")])  # each compile costs
def test_functional_on_numpy_is_the_ops_path_bit_for_bit(method, mode, dtype):
    _takes_host_path(method)
    images, labels = _batch(dtype)
    for seed in (0, 7, (3, 2**31 - 5)):
        options = dict(seed=seed, num_classes=CLASSES, mode=mode)
        on_host = FUNCTIONS[method](images, labels, **options)
        with ops_path():
            on_ops = FUNCTIONS[method](images, labels, **options)
        _assert_same(on_host, on_ops)
        assert not np.array_equal(on_host[0], images)  # something was mixed


@pytest.mark.parametrize("mode", ["sample"])  # batch mode's slices: the other tests; each compile costs
def test_channels_first_and_masks_on_numpy_are_the_ops_path(mode):
    images, labels = _batch("float32", "channels_first")
    masks = (images[:, 0] > 127).astype("int32")
    data = {"images": images, "labels": labels, "segmentation_masks": masks, "extra": "kept"}
    options = dict(seed=11, num_classes=CLASSES, mode=mode, data_format="channels_first")
    on_host = keras_cutmix.cutmix(data, **options)
    with ops_path():
        on_ops = keras_cutmix.cutmix(data, **options)
    assert on_host["extra"] == "kept"
    keys = ["images", "labels", "segmentation_masks"]
    _assert_same([on_host[k] for k in keys], [on_ops[k] for k in keys])


@pytest.mark.parametrize("layer_class", [keras_cutmix.CutMix, keras_cutmix.MixUp, keras_cutmix.Cutout])
def test_layer_on_numpy_draws_as_on_tensors(layer_class):
    _takes_host_path(layer_class.__name__)
    images, labels = _batch("uint8")
    on_host = layer_class(num_classes=CLASSES, seed=5, mode="sample")
    on_ops = layer_class(num_classes=CLASSES, seed=5, mode="sample")
    first = on_host((images, labels))  # one (images, labels) element, as grain's `.map(layer)` passes it
    assert isinstance(first, tuple)
    with ops_path():
        _assert_same(first, on_ops((images, labels)))
        second_by_ops = on_ops(images, labels)
    second = on_host(images, labels)  # the next call: the layer's counter moved on
    _assert_same(second, second_by_ops)
    assert not np.array_equal(first[0], second[0])
    # The paths share the counter: an ops call after two host calls draws the third.
    with ops_path():
        third = on_host(images, labels)
    _assert_same(on_ops(images, labels), third)
    # The host path counts on the host (`_next_host_seed`): the same state as Keras' `SeedGenerator.next`.
    on_host(images, labels)
    on_ops.seed_generator.next()
    np.testing.assert_array_equal(
        to_numpy(on_host.seed_generator.state.value), to_numpy(on_ops.seed_generator.state.value)
    )


def test_layer_on_numpy_outside_training_leaves_pixels_and_makes_labels_dense():
    images, labels = _batch("uint8")
    out_images, out_labels = keras_cutmix.CutMix(num_classes=CLASSES, seed=1)(images, labels, training=False)
    assert isinstance(out_images, np.ndarray) and isinstance(out_labels, np.ndarray)
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, np.eye(CLASSES, dtype="float32")[labels])


def test_tensors_boxes_and_other_methods_keep_the_ops_path():
    images, labels = _batch("float32")
    cutmix = keras_cutmix.methods.CutMixOptions()
    assert host.kind_of({"images": images, "labels": labels}) == "numpy"
    assert host.mixes_in_numpy({"images": images, "labels": labels}, cutmix)
    if keras.backend.backend() != "torch":  # torch: CPU tensors are host data too (below)
        assert host.kind_of({"images": keras.ops.convert_to_tensor(images), "labels": labels}) is None
        assert host.kind_of({"images": images, "labels": keras.ops.convert_to_tensor(labels)}) is None
    boxes = {"boxes": np.zeros((B, 1, 4), "float32"), "labels": np.zeros((B, 1), "int32")}
    assert not host.mixes_in_numpy({"images": images, "bounding_boxes": boxes}, cutmix)
    assert not host.mixes_in_numpy({"images": images}, keras_cutmix.methods.FMixOptions())
    out, _ = keras_cutmix.cutmix(keras.ops.convert_to_tensor(images), labels, seed=0, num_classes=CLASSES)
    assert not isinstance(out, np.ndarray)


def test_symbolic_calls_are_not_host_batches():
    # Keras infers output specs in a symbolic scope (torch: on CPU zeros): the ops path, no draw on the host.
    from keras.src.backend.common.symbolic_scope import SymbolicScope

    images, labels = _batch("float32")
    with SymbolicScope():
        assert host.kind_of({"images": images, "labels": labels}) is None


@pytest.mark.parametrize("method", keras_cutmix.methods.ALL, ids=lambda method: method.name())
def test_every_method_returns_numpy_for_numpy(method):
    # One rule for every method and both call forms, whichever path mixes: NumPy in, NumPy out, the ops path's values.
    images, labels = _batch("float32")
    masks = (images[..., 0] > 127).astype("int32")
    data = {"images": images, "labels": labels, "segmentation_masks": masks}
    targets = [key for key in data if key == "images" or key in method.targets]
    data = {key: data[key] for key in targets}
    function = getattr(keras_cutmix, method.function_name)
    on_host = function(data, seed=4, num_classes=CLASSES)
    on_tensors = function({k: keras.ops.convert_to_tensor(v) for k, v in data.items()}, seed=4, num_classes=CLASSES)
    layer = getattr(keras_cutmix, method.name())(num_classes=CLASSES, seed=4)
    by_layer = layer(data)
    for key in targets:
        assert isinstance(on_host[key], np.ndarray) and isinstance(by_layer[key], np.ndarray), key
        np.testing.assert_array_equal(on_host[key], to_numpy(on_tensors[key]))
        assert on_host[key].dtype == to_numpy(on_tensors[key]).dtype


@pytest.mark.parametrize(
    "layer_class", [keras_cutmix.CutMix, keras_cutmix.Cutout, keras_cutmix.MixUp, keras_cutmix.FMix]
)
@pytest.mark.parametrize(("mode", "dtype", "form"), [("batch", "float32", "tuple"), ("sample", "uint8", "dict")])
def test_collate_mixes_the_batch_it_stacks_in_place_as_the_layer_mixes_that_batch(layer_class, mode, dtype, form):
    # `layer.collate(samples)` (called directly: NumPy; from a torch DataLoader: test_pipelines.py): the batch
    # `host.collate` stacks, mixed (in place where NumPy mixes it: CutMix and Cutout; MixUp and FMix into new
    # arrays), the same as the layer mixes that batch with the same seed.
    images, labels = _batch(dtype)
    masks = (images[..., 0] > 127).astype("int32")
    originals = [images.copy(), labels.copy(), masks.copy()]
    if form == "tuple":
        samples, parts = [(images[i], labels[i]) for i in range(B)], [0, 1]
    else:
        parts = ["images", "labels"] + (["segmentation_masks"] if layer_class is not keras_cutmix.MixUp else [])
        samples = [dict(zip(parts, (images[i], labels[i], masks[i]))) for i in range(B)]
    stacked = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            host,
            "collate",
            lambda s, torch_loader, stack=host.collate: stacked.append(stack(s, torch_loader)) or stacked[-1],
        )
        by_collate = layer_class(num_classes=CLASSES, seed=7, mode=mode).collate(samples)
    batch = stacked[0]
    expected = layer_class(num_classes=CLASSES, seed=7, mode=mode)(host.collate(samples))
    assert type(by_collate) is type(batch)
    for part in parts:
        assert isinstance(by_collate[part], np.ndarray), part
        np.testing.assert_array_equal(to_numpy(by_collate[part]), to_numpy(expected[part]))
    mixed_in_place = layer_class in (keras_cutmix.CutMix, keras_cutmix.Cutout)
    assert (by_collate[parts[0]] is batch[parts[0]]) == mixed_in_place, "the stacked batch is the one mixed"
    assert not np.array_equal(to_numpy(by_collate[parts[0]]), images), "nothing was mixed"
    for array, original in zip((images, labels, masks), originals):  # the samples are never written
        np.testing.assert_array_equal(array, original)


@pytest.mark.parametrize("samples", [[], "images", None, np.zeros((B, H, W, 3))])
def test_collate_refuses_what_is_not_a_list_of_samples(samples):
    with pytest.raises(ValueError, match="`samples` must be a non-empty list of samples"):
        keras_cutmix.CutMix(num_classes=CLASSES, seed=0).collate(samples)


@pytest.mark.parametrize(
    "make",
    [
        lambda i: (np.full((2, 2), i), i),
        lambda i: [np.full((2, 2), i), i, np.float32(i)],
        lambda i: {"images": np.full((2, 2), i), "labels": i},
        lambda i: {"images": np.full((2, 2), i), "labels": {"a": i, "b": (i, -i)}},  # nested: the tree walk
    ],
    ids=["tuple", "list", "dict", "nested"],
)
def test_collate_stacks_each_part_as_the_tree_walk_does(make):
    samples = [make(i) for i in range(3)]
    stacked = host.collate(samples)
    expected = keras.tree.map_structure(lambda *parts: np.stack(parts), *samples)
    assert type(stacked) is type(expected)
    keras.tree.assert_same_structure(stacked, expected)
    for got, want in zip(keras.tree.flatten(stacked), keras.tree.flatten(expected)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "samples",
    [
        [(np.zeros(2), 0), (np.zeros(2), 0, 1)],  # a part more
        [{"images": np.zeros(2), "labels": 0}, {"images": np.zeros(2), "label": 0}],  # another key
        [(np.zeros(2), 0), [np.zeros(2), 0]],  # another container
    ],
)
def test_collate_refuses_samples_of_different_structures(samples):
    with pytest.raises((ValueError, TypeError)):
        host.collate(samples)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX without x64 holds 64-bit numbers as 32-bit")
def test_64_bit_host_data_comes_back_in_the_backends_dtypes():
    images, labels = _batch("float64")
    masks = (images[..., 0] > 127).astype("int64")
    data = {"images": images, "labels": labels.astype("int64"), "segmentation_masks": masks}
    assert host.mixes_in_numpy(data, keras_cutmix.methods.CutMixOptions())  # the fast path is kept
    on_host = keras_cutmix.cutmix(data, seed=2, num_classes=CLASSES)
    with ops_path():
        on_ops = keras_cutmix.cutmix(data, seed=2, num_classes=CLASSES)
    assert on_host["images"].dtype == "float32" and on_host["segmentation_masks"].dtype == "int32"
    keys = ["images", "labels", "segmentation_masks"]
    _assert_same([on_host[k] for k in keys], [on_ops[k] for k in keys])


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="CPU tensors take the host path on torch")
def test_torch_cpu_tensors_take_the_host_path_and_come_out_as_tensors():
    import torch

    images, labels = _batch("uint8")
    tensors = (torch.from_numpy(images), torch.from_numpy(labels))
    on_host = keras_cutmix.cutmix(*tensors, seed=3, num_classes=CLASSES, mode="sample")
    assert all(isinstance(x, torch.Tensor) and x.device.type == "cpu" for x in on_host)
    assert host.kind_of({"images": tensors[0], "labels": tensors[1]}) == "torch"
    with ops_path():
        on_ops = keras_cutmix.cutmix(*tensors, seed=3, num_classes=CLASSES, mode="sample")
    _assert_same([x.numpy() for x in on_host], on_ops)
    features = torch.zeros((B, H, W, 3), requires_grad=True)  # a model's features: the ops path keeps gradients
    assert host.kind_of({"images": features}) is None
    fmixed = keras_cutmix.fmix(*tensors, seed=3, num_classes=CLASSES)  # mixed on the ops path, back on the CPU
    assert all(isinstance(x, torch.Tensor) and x.device.type == "cpu" for x in fmixed)


@pytest.mark.parametrize(
    "options",
    [
        keras_cutmix.methods.CutMixOptions(alpha=0.4),
        keras_cutmix.methods.CutMixOptions(box_center="gaussian"),
        keras_cutmix.methods.MixUpOptions(alpha=0.2),
        keras_cutmix.methods.CutoutOptions(fill_mode="gaussian_noise"),
    ],
)
def test_draws_through_transcendental_functions_keep_the_ops_path(options):
    # NumPy's log, cos and sigmoid round differently from XLA's and torch's in the last bit.
    images, labels = _batch("float32")
    assert not host.mixes_in_numpy({"images": images, "labels": labels}, options)


@pytest.mark.once  # NumPy against Keras' NumPy backend: the same whatever the Keras backend
@pytest.mark.parametrize(
    "name", ["minimum", "maximum", "floor", "sqrt", "where", "cast", "unstack", "roll", "scatter", "one_hot"]
)
def test_numpy_shortcuts_give_keras_numpy_backends_results(name):
    """`_backend.numpy_ops` skips Keras' conversions where nothing is to promote: same values, same dtype."""
    from keras_cutmix import _backend

    keras_np = numpy_backend()
    ints, floats = np.array([-3, 0, 7], "int32"), np.array([-2.5, 0.25, 9.0], "float32")
    cases = {
        "minimum": [
            (ints, 2),
            (ints, ints[::-1]),
            (floats, 1),
            (floats, 0.5),
            (ints, 0.5),
            (ints, floats),
            (ints, 2**40),
        ],
        "maximum": [
            (ints, -1),
            (np.array([1, 200], "uint8"), 3),
            (floats, floats[::-1]),
            (floats.astype("float16"), 1),
        ],
        "floor": [(floats,), (np.float32(2.5),), (ints,)],
        "sqrt": [(np.abs(floats),), (np.abs(ints),)],
        "where": [(ints > 0, ints, ints[::-1]), (ints > 0, ints, floats), (ints > 0, 1, floats)],
        "cast": [
            (3, "int32"),
            (2.5, "float32"),
            (True, "bool"),
            (ints, "float32"),
            (7, np.dtype("uint8")),
            (1.5, "bfloat16"),
            (floats, "int32"),
            (np.float32(2.5), "int32"),
            (ints, "bfloat16"),
        ],
        "unstack": [(floats.reshape(3, 1),), (np.arange(6).reshape(2, 3), None, 1), (np.zeros((0, 2)),)],
        "roll": [(ints, -1), (ints, 4, 0), (ints, 0), (np.arange(6).reshape(2, 3), 1, 1), (np.zeros(0), -1)],
        "scatter": [
            (np.array([[2], [0], [1]]), floats, (3,)),
            (np.array([[1], [1]]), np.array([2, 3], "int32"), (4,)),  # duplicates add up
            (np.array([[0, 1], [1, 0]]), np.array([5.0, 7.0], "float32"), (2, 2)),
            ([[1]], [4.0], (2,)),
        ],
        "one_hot": [
            (np.array([0, 2, 1], "int32"), 3),
            (np.array([[1, -1]], "int64"), 4),  # negative ids give zero rows
            (np.array([1, 0], "uint8"), 2, -1, "int32"),
            (np.array([1.0, 0.0], "float32"), 2),
            (np.array([1, 0]), 3, 0),
        ],
    }[name]
    reference = getattr(keras_np.numpy, name, None) or getattr(keras_np.core, name, None) or getattr(keras_np.nn, name)
    for args in cases:
        try:
            expected = reference(*args)
        except Exception as error:  # the same error, whichever way
            with pytest.raises(type(error)):
                _backend._numpy_op(name)(*args)
            continue
        got = _backend._numpy_op(name)(*args)
        if name == "unstack":  # a list of arrays
            assert len(got) == len(expected) and all(a.shape == b.shape for a, b in zip(got, expected))
            got, expected = np.asarray(got), np.asarray(expected)
        assert np.asarray(got).dtype == np.asarray(expected).dtype, (name, args)
        np.testing.assert_array_equal(got, expected, err_msg=f"{name}{args}")
    # The shortcut is taken where nothing is to promote, and only there.
    assert _backend._one_dtype((ints, 2), "iuf") and _backend._one_dtype((floats, floats, 0.5), "f")
    assert not _backend._one_dtype((ints, 0.5), "iuf") and not _backend._one_dtype((ints, 2**40), "iuf")
    assert not _backend._one_dtype((ints, floats), "iuf") and not _backend._one_dtype((ints,), "f")
