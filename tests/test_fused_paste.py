"""The fused paste (issue #5): exact on every backend, and still loop-free and
free of channel masks and float grids inside the function TensorFlow compiles."""

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
    np.testing.assert_array_equal(to_numpy(mixing.paste_from(x_cf, partner, mask_cf)), _reference(x_cf, partner, mask_cf))
    np.testing.assert_array_equal(
        to_numpy(mixing.paste_from(x[..., 0], partner, mask[..., 0])), _reference(x[..., 0], partner, mask[..., 0])
    )


def test_fused_paste_graph_has_no_loops_channel_masks_or_float_grids():
    b, h, w = 8, 24, 40
    fn = mixing._xla_function(mixing._where_taken)
    spec = (
        tf.TensorSpec((1, h, w, 1), tf.bool),
        tf.TensorSpec((b, h, w, 3), tf.uint8),
        tf.TensorSpec((b,), tf.int32),
        tf.TensorSpec((b, h, w, 3), tf.uint8),
    )
    graph = fn.get_concrete_function(*spec).graph
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


def test_paste_is_compiled_once_not_nested_inside_xla():
    seen = {}

    def probe(name):
        seen[name] = _backend.in_xla_context()

    tf.function(lambda: probe("graph"))()
    tf.function(lambda: probe("xla"), jit_compile=True)()
    probe("eager")
    assert seen == {"graph": False, "xla": True, "eager": False}
