"""The fused paste (issues #5, #15): exact on every backend, and still loop-free and
free of channel masks and float grids inside the function TensorFlow compiles."""

import contextlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import to_numpy

from keras_cutmix import _backend, mixing


def _reference(x, partner, mask):
    return np.where(mask, x[partner], x)


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("per_sample", [False, True])
def test_paste_from_is_an_exact_copy_of_the_partner_pixels(dtype, per_sample):
    rng = np.random.default_rng(0)
    b, h, w, c = 5, 7, 9, 3
    x = rng.integers(0, 256, (b, h, w, c)).astype(dtype)
    partner = np.roll(np.arange(b), 1).astype("int32")
    n = b if per_sample else 1
    mask = rng.random((n, h, w, 1)) < 0.5
    out = mixing.paste_from(x, partner, mask)
    np.testing.assert_array_equal(to_numpy(out), _reference(x, partner, mask))
    # channels_first and (B, H, W) targets broadcast the same mask.
    x_cf = np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))
    mask_cf = np.transpose(mask, (0, 3, 1, 2))
    np.testing.assert_array_equal(
        to_numpy(mixing.paste_from(x_cf, partner, mask_cf)), _reference(x_cf, partner, mask_cf)
    )
    np.testing.assert_array_equal(
        to_numpy(mixing.paste_from(x[..., 0], partner, mask[..., 0])), _reference(x[..., 0], partner, mask[..., 0])
    )


def _box_reference(target, source, box, data_format, partner=None):
    """The box paste in NumPy: a loop over samples, boxes broadcast from n = 1."""
    top, bottom, left, right = (np.broadcast_to(np.asarray(v), (len(target),)) for v in box)
    source = np.broadcast_to(source, target.shape) if partner is None else source[partner]
    out = target.copy()
    for i in range(len(target)):
        rows, cols = slice(top[i], bottom[i]), slice(left[i], right[i])
        index = (i, slice(None), rows, cols) if data_format == "channels_first" else (i, rows, cols)
        out[index] = source[index]
    return out


def _random_boxes(rng, n, h, w):
    top = rng.integers(0, h + 1, n)
    left = rng.integers(0, w + 1, n)
    bottom = np.minimum(top + rng.integers(0, h + 1, n), h)
    right = np.minimum(left + rng.integers(0, w + 1, n), w)
    return tuple(v.astype("int32") for v in (top, bottom, left, right))


@pytest.mark.parametrize("dtype", ["uint8", "float32", "int32"])
@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first", "masks"])
@pytest.mark.parametrize("inputs", ["numpy", "tensors", "host", "host, in place"])
def test_paste_box_is_an_exact_copy_of_each_box(dtype, per_sample, data_format, inputs):
    # Backend tensors take torch's CPU path for one box (copy, then slices); NumPy the general one;
    # "host": NumPy on Keras' NumPy backend (`host.mix`), whose one box is pasted into a copy
    # (small boxes) or the target copied around it into the gathered partners (boxes over a third);
    # "host, in place": into a batch that may be overwritten (`MixLayer.collate`).
    tensor = keras.ops.convert_to_tensor if inputs == "tensors" else np.asarray
    scope = _backend.numpy_ops if inputs.startswith("host") else contextlib.nullcontext
    check = _check_paste_box_in_place if inputs == "host, in place" else _check_paste_box
    rng = np.random.default_rng(1)
    b, h, w, c = 6, 7, 9, 3
    shape = {"channels_last": (b, h, w, c), "channels_first": (b, c, h, w), "masks": (b, h, w)}[data_format]
    x = rng.integers(0, 256, shape).astype(dtype)
    noise = rng.integers(0, 256, shape).astype(dtype)
    partner = np.roll(np.arange(b), 2).astype("int32")
    fmt = "channels_last" if data_format == "masks" else data_format
    n = b if per_sample else 1
    whole, empty = ((0,) * n, (h,) * n, (0,) * n, (w,) * n), ((3,) * n, (3,) * n, (0,) * n, (w,) * n)
    small, large = ((1,) * n, (3,) * n, (2,) * n, (4,) * n), ((1,) * n, (6,) * n, (0,) * n, (7,) * n)  # 4/63, 35/63
    edges = [whole, empty, small, large]
    for trial in range(7):
        box = edges[trial] if trial < len(edges) else _random_boxes(rng, n, h, w)
        box = tuple(np.asarray(v, "int32") for v in box)
        xt, noise_t, partner_t = tensor(x), tensor(noise), tensor(partner)
        box_t = tuple(tensor(v) for v in box)
        with scope():
            check(x, noise, xt, noise_t, partner, partner_t, box, box_t, fmt, dtype)


def _check_paste_box(x, noise, xt, noise_t, partner, partner_t, box, box_t, fmt, dtype):
    """Each form of `paste_box` (partners of the target, of another source; a source; a fill) against the loop."""
    np.testing.assert_array_equal(
        to_numpy(mixing.paste_box(xt, xt, box_t, fmt, partner=partner_t)), _box_reference(x, x, box, fmt, partner)
    )
    np.testing.assert_array_equal(
        to_numpy(mixing.paste_box(xt, noise_t, box_t, fmt, partner=partner_t)),
        _box_reference(x, noise, box, fmt, partner),
    )
    np.testing.assert_array_equal(to_numpy(mixing.paste_box(x, noise, box, fmt)), _box_reference(x, noise, box, fmt))
    fill = np.array(7, dtype)
    out = mixing.paste_box(x, keras.ops.convert_to_tensor(fill), box, fmt)
    assert keras.backend.standardize_dtype(out.dtype) == dtype
    np.testing.assert_array_equal(to_numpy(out), _box_reference(x, fill, box, fmt))


def _check_paste_box_in_place(x, noise, xt, noise_t, partner, partner_t, box, box_t, fmt, dtype):
    """`_check_paste_box`'s forms into a target that `overwriting` names: the same pixels, in the target itself."""
    noise_before = noise.copy()
    for source, partners in ((None, partner), (noise, partner), (noise, None), (np.array(7, dtype), None)):
        target = x.copy()
        with _backend.overwriting([target]):
            out = mixing.paste_box(target, target if source is None else source, box, fmt, partner=partners)
        assert out is target
        np.testing.assert_array_equal(out, _box_reference(x, x if source is None else source, box, fmt, partners))
    np.testing.assert_array_equal(noise, noise_before)


def test_paste_box_rejects_a_source_it_cannot_lay_over_the_target():
    x = np.zeros((2, 4, 4, 3), "float32")
    box = tuple(np.array([1], "int32") for _ in range(4))
    with pytest.raises(ValueError, match="scalar or have the target's shape"):
        mixing.paste_box(x, np.zeros((2, 4, 4, 1), "float32"), box, "channels_last")


def _traced(kernel):
    """The kernel as `_fused` compiles it, traced afresh for exact shapes (the compiled
    function itself generalizes shapes across calls: reduce_retracing)."""
    return _backend.compiled("tensorflow", None, kernel, jit_compile=True)


def _assert_no_loops_channel_masks_or_float_grids(graph, b, h, w):
    op_types = {op.type for op in graph.get_operations()}
    assert not op_types & {"While", "StatelessWhile", "TensorListReserve"}, op_types
    for op in graph.get_operations():
        for t in op.outputs:
            if t.shape.rank is None or not t.shape.is_fully_defined():
                continue
            size = int(np.prod(t.shape.as_list())) if t.shape.rank else 1
            if t.dtype == tf.bool:
                assert size <= b * h * w, (op.type, t.shape)
            assert not t.dtype.is_floating, (op.type, t.shape)


def test_fused_paste_graph_has_no_loops_channel_masks_or_float_grids():
    b, h, w = 8, 24, 40
    fn = _traced(mixing._where_taken)
    spec = (
        tf.TensorSpec((1, h, w, 1), tf.bool),
        tf.TensorSpec((b, h, w, 3), tf.uint8),
        tf.TensorSpec((b,), tf.int32),
        tf.TensorSpec((b, h, w, 3), tf.uint8),
    )
    _assert_no_loops_channel_masks_or_float_grids(fn.get_concrete_function(*spec).graph, b, h, w)


@pytest.mark.parametrize("layout", ["channels_last", "channels_first", "masks"])
@pytest.mark.parametrize("n", [1, 8])
def test_fused_box_paste_graph_has_no_loops_pixel_masks_or_float_grids(layout, n):
    """The box is a row test and a column test: no bool tensor of B×H×W or more (nor any float)."""
    b, h, w = 8, 24, 40
    shape = {"channels_last": (b, h, w, 3), "channels_first": (b, 3, h, w), "masks": (b, h, w)}[layout]
    image = tf.TensorSpec(shape, tf.uint8)
    box = tf.TensorSpec((4, n), tf.int32)

    def paste(box, images, partner):
        with _backend.tensorflow_ops():
            tests = mixing._box_tests(tf.unstack(box), layout, tuple(images.shape))
            return mixing._paste_partners_box(layout, *tests, images, partner, images)

    fn = tf.function(paste, jit_compile=True, autograph=False)
    graph = fn.get_concrete_function(box, image, tf.TensorSpec((b,), tf.int32)).graph
    _assert_no_loops_channel_masks_or_float_grids(graph, b, h, w)
    largest = max(
        int(np.prod(t.shape.as_list()))
        for op in graph.get_operations()
        for t in op.outputs
        if t.dtype == tf.bool and t.shape.is_fully_defined()
    )
    assert largest < b * h * w, largest


def test_paste_is_compiled_once_not_nested_inside_xla():
    seen = {}

    def probe(name):
        seen[name] = _backend.in_xla_context()

    tf.function(lambda: probe("graph"))()
    tf.function(lambda: probe("xla"), jit_compile=True)()
    probe("eager")
    assert seen == {"graph": False, "xla": True, "eager": False}


def test_compiled_functions_are_made_once_per_key_and_options_and_trace_tensorflow_ops():
    def double(x):
        return _backend.ops.multiply(x, 2)  # Keras' TF ops under every backend: `compiled` routes them

    first = _backend.compiled("tensorflow", "test: double", double, jit_compile=True)
    assert _backend.compiled("tensorflow", "test: double", double, jit_compile=True) is first
    assert _backend.compiled("tensorflow", "test: double", double, jit_compile=False) is not first
    assert _backend.compiled("tensorflow", None, double, jit_compile=True) is not first  # None: uncached
    with pytest.raises(TypeError):
        _backend.compiled("tensorflow", ("test: double", {}), double)
    np.testing.assert_array_equal(first(tf.constant([1, 2])).numpy(), [2, 4])


def test_in_place_scratch_is_kept_per_thread_and_bounded():
    # The in-place paste's gathered partners (boxes per sample) reuse one array per shape and dtype in each
    # thread (test_paste_box_is_an_exact_copy_of_each_box["host, in place"] pastes 7 boxes into one), up to 32 MiB.
    import threading

    images, masks = np.zeros((4, 8, 8, 3), "float32"), np.zeros((4, 8, 8), "int32")
    first = mixing._scratch(images)
    assert first.shape == images.shape and first.dtype == images.dtype and first is not images
    assert mixing._scratch(masks) is not first and mixing._scratch(images) is first  # images and masks both kept
    assert mixing._scratch(images.astype("uint8")).dtype == np.uint8
    other = []
    thread = threading.Thread(target=lambda: other.append(mixing._scratch(images)))
    thread.start()
    thread.join()
    assert other[0] is not first  # another thread, another scratch
    large = np.broadcast_to(np.float32(0), (mixing._SCRATCH_BYTES // 4 + 1,))  # over the bound: never kept
    assert mixing._scratch(large) is not mixing._scratch(large)
    assert mixing._scratch(images) is not first  # the bound dropped what was kept
