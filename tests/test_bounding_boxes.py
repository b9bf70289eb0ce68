"""Bounding boxes through CutMix (issue #3): hand-computed cases.

Geometry: boxes in "xyxy" are [x1, y1, x2, y2] = [left, top, right, bottom]
in pixels; a paste is (top, bottom, left, right), the pixels
[top, bottom) × [left, right). Most cases use a batch of two, partner = [1, 0]:
image 0 holds the box under test and image 1 the partner's boxes.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import to_numpy
from keras.utils import bounding_boxes as keras_boxes

from keras_cutmix.bounding_boxes import mix_bounding_boxes
from keras_cutmix.validation import BOUNDING_BOX_FORMATS as SUPPORTED_FORMATS

H, W = 20, 20
A = [4, 4, 12, 12]  # x 4..12, y 4..12: 64 px²
PAD = [-1, -1, -1, -1]


def mix(boxes, labels, paste, partner=(1, 0), *, fmt="xyxy", min_visibility=0.0, height=H, width=W, dtype="float32"):
    """Run `mix_bounding_boxes`; `paste` is one (top, bottom, left, right), or a list of them (one per sample)."""
    paste = np.array(paste, "int32").reshape(-1, 4)
    top, bottom, left, right = paste.T
    data = {"boxes": np.array(boxes, dtype), "labels": np.array(labels, "int32")}
    out = mix_bounding_boxes(
        data,
        np.array(partner, "int32"),
        top,
        bottom,
        left,
        right,
        height,
        width,
        bounding_box_format=fmt,
        min_visibility=min_visibility,
    )
    return to_numpy(out["boxes"]), to_numpy(out["labels"])


def kept(out, i):
    """Sample i's valid (box, label) pairs, in output order."""
    boxes, labels = out
    return [(list(b), int(c)) for b, c in zip(boxes[i].tolist(), labels[i]) if c >= 0]


def check_padding(out):
    """Valid boxes come first; every padded slot is -1 throughout."""
    boxes, labels = out
    for row_boxes, row_labels in zip(boxes, labels):
        n = int(np.sum(row_labels >= 0))
        assert np.all(row_labels[:n] >= 0)
        np.testing.assert_array_equal(row_labels[n:], -1)
        np.testing.assert_array_equal(row_boxes[n:], -1)


# --- the sample's own boxes ----------------------------------------------------


@pytest.mark.once
@pytest.mark.parametrize(
    "paste, expected",
    [
        pytest.param((14, 20, 0, 20), A, id="outside"),
        pytest.param((0, 20, 12, 20), A, id="touching-the-border"),  # column 12 is outside the box
        pytest.param((0, 20, 0, 8), [8, 4, 12, 12], id="straddles-left"),
        pytest.param((0, 20, 8, 20), [4, 4, 8, 12], id="straddles-right"),
        pytest.param((0, 8, 0, 20), [4, 8, 12, 12], id="straddles-top"),
        pytest.param((8, 20, 0, 20), [4, 4, 12, 8], id="straddles-bottom"),
        pytest.param((3, 13, 10, 16), [4, 4, 10, 12], id="spans-box-height-only"),
        pytest.param((0, 8, 0, 8), A, id="corner-bite"),  # visible: an L, bounding box A
        pytest.param((6, 10, 0, 8), A, id="edge-bite"),  # a notch in the left edge
        pytest.param((6, 10, 6, 10), A, id="hole"),
        pytest.param((0, 20, 6, 10), A, id="band-through-the-middle"),  # two pieces
        pytest.param((2, 14, 2, 14), None, id="fully-covered"),
        pytest.param((4, 12, 4, 12), None, id="exactly-covered"),
    ],
)
def test_base_box(paste, expected):
    out = mix([[A], [PAD]], [[7], [-1]], paste, min_visibility=0.0)
    assert out[0].shape == (2, 2, 4) and out[1].shape == (2, 2)
    assert kept(out, 0) == ([] if expected is None else [(expected, 7)])
    check_padding(out)


@pytest.mark.once
def test_order_own_boxes_then_partner_boxes():
    boxes = [[[0, 0, 4, 4], A, [2, 14, 6, 18], [14, 0, 18, 4]], [[0, 0, 6, 20], PAD, [16, 16, 20, 20], PAD]]
    labels = [[1, 2, 3, 4], [5, -1, 6, -1]]
    out = mix(boxes, labels, (0, 20, 0, 8))  # columns 0..8, full height
    # Image 0: boxes 1 and 3 are covered, 2 is cut, 4 untouched; then image 1's box 5 (inside the paste).
    assert kept(out, 0) == [([8, 4, 12, 12], 2), ([14, 0, 18, 4], 4), ([0, 0, 6, 20], 5)]
    # Image 1: box 5 is covered, 6 untouched; then image 0's boxes inside the paste, in their order.
    assert kept(out, 1) == [([16, 16, 20, 20], 6), ([0, 0, 4, 4], 1), ([4, 4, 8, 12], 2), ([2, 14, 6, 18], 3)]
    check_padding(out)


# --- the partner's boxes ---------------------------------------------------------


@pytest.mark.once
def test_partner_boxes():
    partner_boxes = [
        [2, 2, 6, 6],  # inside the paste
        [6, 4, 14, 8],  # straddles: x 6..10 of 6..14 inside, 0.5
        [8, 8, 16, 16],  # a corner inside: 4 / 64
        [12, 12, 16, 16],  # outside
        [10, 0, 14, 4],  # touches the paste's right side only
    ]
    boxes = [[PAD] * 5, partner_boxes]
    paste = (0, 10, 0, 10)  # rows 0..10, columns 0..10
    out = mix(boxes, [[-1] * 5, [1, 2, 3, 4, 5]], paste, min_visibility=0.5)
    assert kept(out, 0) == [([2, 2, 6, 6], 1), ([6, 4, 10, 8], 2)]
    out = mix(boxes, [[-1] * 5, [1, 2, 3, 4, 5]], paste, min_visibility=0.0)
    assert kept(out, 0) == [([2, 2, 6, 6], 1), ([6, 4, 10, 8], 2), ([8, 8, 10, 10], 3)]
    # Image 1's own boxes: 1 is covered, 2 is cut (the paste spans its height),
    # 3 loses a corner (kept as it is), 4 and 5 are untouched.
    assert kept(out, 1) == [([10, 4, 14, 8], 2), ([8, 8, 16, 16], 3), ([12, 12, 16, 16], 4), ([10, 0, 14, 4], 5)]
    check_padding(out)


# --- min_visibility at its boundaries ----------------------------------------------


@pytest.mark.once
@pytest.mark.parametrize("min_visibility, survives", [(0.0, True), (0.5, True), (0.5000001, False), (1.0, False)])
def test_base_threshold_half(min_visibility, survives):
    out = mix([[A], [PAD]], [[7], [-1]], (0, 20, 0, 8), min_visibility=min_visibility)  # 32 of 64 px² stay
    assert kept(out, 0) == ([([8, 4, 12, 12], 7)] if survives else [])


@pytest.mark.once
@pytest.mark.parametrize("min_visibility, survives", [(0.3, True), (0.30001, False)])
def test_base_threshold_not_a_binary_fraction(min_visibility, survives):
    out = mix([[[0, 0, 10, 1]], [PAD]], [[7], [-1]], (0, 20, 0, 7), min_visibility=min_visibility)  # 3 of 10 stay
    assert kept(out, 0) == ([([7, 0, 10, 1], 7)] if survives else [])


@pytest.mark.once
@pytest.mark.parametrize("min_visibility, survives", [(0.25, True), (0.26, False)])
def test_partner_threshold(min_visibility, survives):
    out = mix([[PAD], [A]], [[-1], [7]], (0, 20, 0, 6), min_visibility=min_visibility)  # x 4..6: 16 of 64 inside
    assert kept(out, 0) == ([([4, 4, 6, 12], 7)] if survives else [])


@pytest.mark.once
def test_min_visibility_one_keeps_only_whole_boxes():
    boxes = [[A, [14, 0, 18, 4]], [[0, 0, 4, 4], [6, 0, 10, 4]]]
    out = mix(boxes, [[1, 2], [3, 4]], (0, 20, 0, 8), min_visibility=1.0)
    assert kept(out, 0) == [([14, 0, 18, 4], 2), ([0, 0, 4, 4], 3)]


# --- untouched samples ---------------------------------------------------------------

ODD = [[1.1, 2.3, 5.7, 3.3], [12.9, 0.1, 3.3, 1.7]]  # center_xywh, values not exact in binary


@pytest.mark.once
@pytest.mark.parametrize(
    "paste, partner",
    [
        pytest.param((5, 5, 0, 20), (1, 0), id="bottom==top"),
        pytest.param((0, 20, 3, 3), (1, 0), id="right==left"),
        pytest.param((0, 20, 0, 20), (0, 1), id="partner-is-self"),
    ],
)
def test_empty_paste_leaves_boxes_untouched(paste, partner):
    boxes = [ODD, [ODD[1], PAD]]
    out = mix(boxes, [[1, 2], [3, -1]], paste, partner, fmt="center_xywh", min_visibility=0.9)
    np.testing.assert_array_equal(out[0][0, :2], np.array(ODD, "float32"))  # bit for bit
    np.testing.assert_array_equal(out[0][1, :1], np.array(ODD[1:], "float32"))
    assert out[1].tolist() == [[1, 2, -1, -1], [3, -1, -1, -1]]
    check_padding(out)


def test_sample_mode_and_batch_mode():
    boxes = [[A], [A], [A]]
    labels = [[0], [1], [2]]
    # Sample mode (n = B): left band, no paste, top band.
    out = mix(boxes, labels, [(0, 20, 0, 8), (0, 0, 0, 20), (0, 8, 0, 20)], partner=(1, 2, 0))
    assert kept(out, 0) == [([8, 4, 12, 12], 0), ([4, 4, 8, 12], 1)]
    assert kept(out, 1) == [(A, 1)]
    assert kept(out, 2) == [([4, 8, 12, 12], 2), ([4, 4, 12, 8], 0)]
    # Batch mode (n = 1): the same left band everywhere.
    out = mix(boxes, labels, (0, 20, 0, 8), partner=(1, 2, 0))
    for i in range(3):
        assert kept(out, i) == [([8, 4, 12, 12], i), ([4, 4, 8, 12], (i + 1) % 3)]
    check_padding(out)


# --- padding, degenerate boxes, structure and dtypes ------------------------------------


@pytest.mark.once
def test_padded_and_degenerate_boxes_never_come_back():
    boxes = [
        [[0, 0, 0, 0], A, PAD, [3, 3, 3, 9]],  # Keras' zero padding, a box, -1 padding, zero-area box
        [[1, 1, 5, 5], [2, 2, 2, 2], [0, 0, 4, 4], PAD],  # padded box with real-looking coordinates
    ]
    labels = [[-1, 5, -1, 2], [-1, 6, 8, -1]]
    out = mix(boxes, labels, (0, 20, 0, 20), min_visibility=0.0)  # paste the whole image
    assert out[0].shape == (2, 8, 4) and out[1].shape == (2, 8)
    assert kept(out, 0) == [([0, 0, 4, 4], 8)]
    assert kept(out, 1) == [(A, 5)]
    check_padding(out)
    out = mix(boxes, labels, (0, 0, 0, 0))  # no paste: only the valid boxes come back
    assert kept(out, 0) == [(A, 5)]
    assert kept(out, 1) == [([0, 0, 4, 4], 8)]


def test_other_keys_pass_through():
    data = {"boxes": np.array([[A], [A]], "float32"), "labels": np.array([[1], [2]], "int32"), "id": "abc"}
    i32 = lambda *v: np.array(v, "int32")
    out = mix_bounding_boxes(
        data, i32(1, 0), i32(0), i32(20), i32(0), i32(8), H, W, bounding_box_format="xyxy", min_visibility=0.5
    )
    assert out["id"] == "abc" and set(out) == {"boxes", "labels", "id"}
    assert data["boxes"].shape == (2, 1, 4)  # the input is not modified


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype")  # JAX without x64 stores 64-bit as 32-bit
@pytest.mark.parametrize(
    "boxes_dtype, labels_dtype", [("float16", "int64"), ("bfloat16", "int32"), ("float64", "int32")]
)
def test_dtypes_are_kept(boxes_dtype, labels_dtype):
    boxes = keras.ops.convert_to_tensor(np.array([[A], [A]], "float32"), dtype=boxes_dtype)
    labels = keras.ops.convert_to_tensor(np.array([[1], [2]]), dtype=labels_dtype)
    i32 = lambda *v: np.array(v, "int32")
    out = mix_bounding_boxes(
        {"boxes": boxes, "labels": labels},
        i32(1, 0),
        i32(0),
        i32(20),
        i32(0),
        i32(8),
        H,
        W,
        bounding_box_format="xyxy",
        min_visibility=0.5,
    )
    assert keras.backend.standardize_dtype(out["boxes"].dtype) == keras.backend.standardize_dtype(boxes.dtype)
    assert keras.backend.standardize_dtype(out["labels"].dtype) == keras.backend.standardize_dtype(labels.dtype)
    boxes = to_numpy(keras.ops.cast(out["boxes"], "float32"))
    np.testing.assert_array_equal(boxes[0, :2], [[8, 4, 12, 12], [4, 4, 8, 12]])


# --- formats ----------------------------------------------------------------------------


def convert(boxes, target, height, width):
    boxes = np.array(boxes, "float32")
    return to_numpy(keras_boxes.convert_format(boxes, source="xyxy", target=target, height=height, width=width))


@pytest.mark.once
@pytest.mark.parametrize("fmt", SUPPORTED_FORMATS)
def test_every_format(fmt):
    h, w = 16, 32  # not square: x and y must not be swapped
    a, b = [4, 2, 12, 10], [20, 4, 28, 12]  # x 4..12, y 2..10 and x 20..28, y 4..12
    boxes = [[a, b], [[0, 0, 8, 8], PAD]]
    paste = (0, 16, 0, 8)  # columns 0..8, full height
    out = mix(convert(boxes, fmt, h, w), [[1, 2], [3, -1]], paste, fmt=fmt, min_visibility=0.5, height=h, width=w)
    expected = convert([[[8, 2, 12, 10], b, [0, 0, 8, 8], PAD], [[4, 2, 8, 10], PAD, PAD, PAD]], fmt, h, w)
    assert out[1].tolist() == [[1, 2, 3, -1], [1, -1, -1, -1]]
    np.testing.assert_allclose(out[0][0, :3], expected[0, :3], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out[0][1, :1], expected[1, :1], rtol=1e-6, atol=1e-6)
    # Untouched boxes come back bit for bit.
    np.testing.assert_array_equal(out[0][0, 1], convert(boxes, fmt, h, w)[0, 1])
    np.testing.assert_array_equal(out[0][0, 2], convert(boxes, fmt, h, w)[1, 0])
    check_padding(out)


@pytest.mark.once
def test_bad_arguments():
    with pytest.raises(ValueError, match=r"bounding_box_format.*'xyxy_abs'"):
        mix([[A], [A]], [[1], [2]], (0, 20, 0, 8), fmt="xyxy_abs")
    with pytest.raises(ValueError, match=r"min_visibility=1.5"):
        mix([[A], [A]], [[1], [2]], (0, 20, 0, 8), min_visibility=1.5)
    with pytest.raises(ValueError, match=r"\(B, N, 4\).*\(2, 4\)"):
        mix([A, A], [[1], [2]], (0, 20, 0, 8))


# --- against a pixel-by-pixel reference, on random boxes and pastes ----------------------------


def reference(boxes, labels, partner, paste, min_visibility, height, width):
    """For integer boxes: visible and pasted pixels counted one by one, a loop per box."""
    rows, cols = np.arange(height)[:, None], np.arange(width)[None, :]

    def pixels(x1, y1, x2, y2):
        return (rows >= y1) & (rows < y2) & (cols >= x1) & (cols < x2)

    def bbox(mask):
        r, c = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        return [float(c[0]), float(r[0]), float(c[-1] + 1), float(r[-1] + 1)]

    result = []
    for i, j in enumerate(partner):
        top, bottom, left, right = paste[i % len(paste)]
        pasted = pixels(left, top, right, bottom) & (j != i)
        row = []
        for box, label in zip(boxes[i], labels[i]):
            whole = pixels(*box)
            visible = whole & ~pasted
            if label >= 0 and visible.any() and visible.sum() / whole.sum() >= min_visibility:
                row.append((bbox(visible), int(label)))
        for box, label in zip(boxes[j], labels[j]):
            whole = pixels(*box)
            inside = whole & pasted
            if label >= 0 and inside.any() and inside.sum() / whole.sum() >= min_visibility:
                row.append((bbox(inside), int(label)))
        result.append(row)
    return result


@pytest.mark.once
@pytest.mark.parametrize("n", ["batch", "sample"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_pixel_reference(n, seed):
    """The visible region's bounding box, on random integer boxes (some empty or padded)."""
    b, count, height, width = 8, 6, 12, 16
    rng = np.random.default_rng(seed)

    def spans(size, shape):
        return np.sort(rng.integers(0, size + 1, shape + (2,)), axis=-1)

    x, y = spans(width, (b, count)), spans(height, (b, count))
    boxes = np.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], -1)
    labels = np.where(rng.random((b, count)) < 0.2, -1, rng.integers(0, 9, (b, count))).astype("int32")
    rows, cols = spans(height, (b if n == "sample" else 1,)), spans(width, (b if n == "sample" else 1,))
    paste = np.concatenate([rows, cols], -1)  # (top, bottom, left, right), some empty
    partner = rng.permutation(b).astype("int32")  # some samples are their own partner
    for min_visibility in (0.0, 0.3, 1.0):
        out = mix(boxes, labels, paste, partner, min_visibility=min_visibility, height=height, width=width)
        expected = reference(boxes, labels, partner, paste, min_visibility, height, width)
        for i in range(b):
            assert kept(out, i) == expected[i], f"sample {i}, min_visibility={min_visibility}"
        check_padding(out)


# --- graphs: tf.function, XLA, tf.data (under every Keras backend) -------------------------------


# Sample mode, partner = (1, 2, 0): a left band into image 0, no paste into image 1, a top band into image 2.
GRAPH_BOXES = np.array([[A, PAD], [A, [14, 0, 18, 4]], [A, [0, 0, 6, 20]]], "float32")
GRAPH_LABELS = np.array([[0, -1], [1, 2], [3, 4]], "int32")
GRAPH_ARGS = (np.array([1, 2, 0], "int32"), *np.array([(0, 20, 0, 8), (0, 0, 0, 20), (0, 8, 0, 20)], "int32").T)
GRAPH_EXPECTED = [
    [([8, 4, 12, 12], 0), ([4, 4, 8, 12], 1)],
    [(A, 1), ([14, 0, 18, 4], 2)],
    [([4, 8, 12, 12], 3), ([0, 8, 6, 20], 4), ([4, 4, 12, 8], 0)],  # box 4 is cut: the band spans its width
]


def graph_inputs(fmt):
    return {"boxes": convert(GRAPH_BOXES, fmt, H, W), "labels": GRAPH_LABELS}


def mix_fn(fmt):
    return lambda bb, *args: mix_bounding_boxes(bb, *args, H, W, bounding_box_format=fmt, min_visibility=0.25)


def check_graph_output(out, fmt):
    boxes = to_numpy(keras_boxes.convert_format(to_numpy(out["boxes"]), source=fmt, target="xyxy", height=H, width=W))
    for i, row in enumerate(GRAPH_EXPECTED):
        got = kept((boxes, to_numpy(out["labels"])), i)
        assert [c for _, c in got] == [c for _, c in row]
        np.testing.assert_allclose([b for b, _ in got], [b for b, _ in row], atol=1e-5)
    check_padding((to_numpy(out["boxes"]), to_numpy(out["labels"])))


@pytest.mark.parametrize("jit_compile", [False, True])
def test_under_tf_function_and_xla(jit_compile):
    fn = tf.function(mix_fn("rel_xyxy"), jit_compile=jit_compile)
    args = [tf.constant(a) for a in GRAPH_ARGS]
    inputs = {key: tf.constant(value) for key, value in graph_inputs("rel_xyxy").items()}
    check_graph_output(fn(inputs, *args), "rel_xyxy")
    # Vectorized: no loop in the traced graph.
    ops = {op.type for op in fn.get_concrete_function(inputs, *args).graph.get_operations()}
    assert not ops & {"While", "StatelessWhile", "For"}, ops


def test_unknown_batch_and_box_count():
    spec = {"boxes": tf.TensorSpec((None, None, 4), tf.float32), "labels": tf.TensorSpec((None, None), tf.int32)}
    fn = tf.function(mix_fn("xywh"), input_signature=[spec, *[tf.TensorSpec((None,), tf.int32)] * 5])
    check_graph_output(fn(graph_inputs("xywh"), *GRAPH_ARGS), "xywh")


def test_in_tf_data():
    data = dict(graph_inputs("xyxy"), id=np.arange(3))
    ds = tf.data.Dataset.from_tensor_slices(data).batch(3).map(lambda bb: mix_fn("xyxy")(bb, *GRAPH_ARGS))
    out = next(iter(ds))
    check_graph_output(out, "xyxy")
    np.testing.assert_array_equal(out["id"].numpy(), [0, 1, 2])


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="jax.jit")
def test_under_jax_jit():
    import jax

    check_graph_output(jax.jit(mix_fn("center_xywh"))(graph_inputs("center_xywh"), *GRAPH_ARGS), "center_xywh")


# --- Through the CutMix layer and function -------------------------------------------


def _box_batch(batch=6, n=3, height=32, width=48):
    rng = np.random.default_rng(1)
    x1 = rng.integers(0, width - 8, (batch, n)).astype("float32")
    y1 = rng.integers(0, height - 8, (batch, n)).astype("float32")
    boxes = np.stack([x1, y1, x1 + rng.integers(2, 9, (batch, n)), y1 + rng.integers(2, 9, (batch, n))], -1)
    labels = rng.integers(0, 5, (batch, n)).astype("int32")
    labels[:, -1] = -1  # padding
    boxes[:, -1] = -1
    return {"boxes": boxes, "labels": labels}


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_cutmix_moves_boxes_with_the_paste(mode):
    import keras_cutmix

    batch, height, width = 6, 32, 48
    bbox = _box_batch(batch, 3, height, width)
    images = np.zeros((batch, height, width, 3), "uint8")
    out = keras_cutmix.cutmix(
        {"images": images, "bounding_boxes": bbox, "labels": np.arange(batch)},
        seed=4,
        mode=mode,
        num_classes=batch,
        bounding_box_format="xyxy",
        min_visibility=0.3,
    )
    params = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode=mode, correct_lambda=True).sample(
        4, batch, height, width, 1.0
    )
    expected = mix_bounding_boxes(
        bbox,
        params.partner,
        params.top,
        params.bottom,
        params.left,
        params.right,
        height,
        width,
        bounding_box_format="xyxy",
        min_visibility=0.3,
    )
    np.testing.assert_array_equal(to_numpy(out["bounding_boxes"]["boxes"]), to_numpy(expected["boxes"]))
    np.testing.assert_array_equal(to_numpy(out["bounding_boxes"]["labels"]), to_numpy(expected["labels"]))
    assert to_numpy(out["bounding_boxes"]["labels"]).shape == (batch, 6)


def test_cutmix_layer_boxes_in_tf_data_and_errors():
    import tensorflow as tf

    import keras_cutmix

    bbox = _box_batch(8, 3, 32, 48)
    data = {"images": np.zeros((8, 32, 48, 3), "uint8"), "bounding_boxes": bbox}
    layer = keras_cutmix.CutMix(bounding_box_format="xyxy", seed=0)
    for out in tf.data.Dataset.from_tensor_slices(data).batch(4).map(layer):
        assert out["bounding_boxes"]["boxes"].shape == (4, 6, 4)
    inference = layer(data, training=False)
    np.testing.assert_array_equal(to_numpy(inference["bounding_boxes"]["boxes"]), bbox["boxes"])
    with pytest.raises(ValueError, match="bounding_box_format"):
        keras_cutmix.CutMix(seed=0)(data)
    with pytest.raises(ValueError, match="bounding_box_format"):
        keras_cutmix.CutMix(bounding_box_format="xyxz")
    # MixUp keeps the boxes of both images (tests/test_bounding_boxes_mixup...); Cutout has none.
    with pytest.raises(ValueError, match="not supported by Cutout"):
        keras_cutmix.Cutout(seed=0)(data)


def test_keras_densified_padding_and_minus_one_padding_are_padding():
    import keras_cutmix

    # Keras' densify_bounding_boxes (keras.src...bounding_boxes.validation) pads boxes with 0 and labels with -1.
    dense = {"boxes": np.zeros((4, 3, 4), "float32"), "labels": -np.ones((4, 3), "int32")}
    dense["boxes"][:, 0], dense["labels"][:, 0] = [2.0, 2.0, 10.0, 10.0], 1
    minus_one = {
        "boxes": np.where(dense["labels"][..., None] < 0, -1.0, dense["boxes"]).astype("float32"),
        "labels": dense["labels"],
    }
    images = np.zeros((4, 16, 16, 3), "uint8")
    for padded in (dense, minus_one):
        for layer in (keras_cutmix.CutMix(bounding_box_format="xyxy", seed=0), keras_cutmix.MixUp(seed=0)):
            out = layer({"images": images, "bounding_boxes": padded})
            labels = to_numpy(out["bounding_boxes"]["labels"])
            assert labels.shape == (4, 6)
            assert ((labels == 1) | (labels == -1)).all() and (labels == 1).sum(
                axis=1
            ).max() <= 2  # no padded box came back
