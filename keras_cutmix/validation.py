"""Every check of the package: arguments, static shapes, and values.

- Arguments are checked when a layer, function, model or callback is made,
  with messages that name the argument and the bad value.
- Shapes and dtypes are checked statically, at trace time, with the shapes named.
- Values can be checked only where they are known or where the graph can
  assert on them:
  - eager (NumPy, TF eager tensors, concrete JAX arrays, torch tensors outside
    `torch.compile`): the small tensors (B ids, B×K labels) are read and a
    `ValueError` names the bad values;
  - a TensorFlow graph that XLA does not compile (`tf.data`, `tf.function`,
    Keras' TF `fit` without `jit_compile`): an `Assert` op on the same
    condition fails the batch with `InvalidArgumentError` when it runs;
  - traced without asserts (JAX `jit`, `jit_compile=True`, `torch.compile`):
    no check; ids out of range give all-zero one-hot rows, NaN labels propagate.
  Only tensors of B or B×K elements are read, never images.
"""

from __future__ import annotations

import difflib
import functools
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from keras_cutmix import inputs
from keras_cutmix._backend import backend_name, in_tensorflow_graph, in_xla_context, ops

if TYPE_CHECKING:
    from keras_cutmix.methods.base import MixOptions

MODES = ("batch", "sample")
DATA_FORMATS = ("channels_last", "channels_first")
BOUNDING_BOX_FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)
_SHOWN = 10  # bad values named in a message

# ---------------------------------------------------------------------------
# Arguments


def check_number(name: str, value: Any, low: float, high: float | None = None, low_open: bool = False) -> float:
    """`value` as a float, if it is a number in [low, high] (or (low, high])."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    ok = ok and value == value  # not NaN
    if ok:
        ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        opening = "(" if low_open else "["
        bounds = f"{opening}{low}, ∞)" if high is None else f"{opening}{low}, {high}]"
        raise ValueError(f"Argument `{name}` must be a number in {bounds}. Received: {name}={value!r}")
    return float(value)


def check_alpha(name: str, value: Any) -> float:
    """A Beta(α, α) parameter: a number > 0."""
    return check_number(name, value, low=0.0, low_open=True)


def check_choice(name: str, value: Any, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"Argument `{name}` must be one of {choices}. Received: {name}={value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Argument `{name}` must be a bool. Received: {name}={value!r}")
    return bool(value)


def check_box_sides(name: str, value: Any) -> tuple:
    """A (h, w) box size: ints are pixels (>= 1), floats fractions in (0, 1]."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    ok = len(pair) == 2
    for side in pair if ok else ():
        if (
            isinstance(side, bool)
            or not isinstance(side, (int, float))
            or (isinstance(side, int) and side < 1)
            or (isinstance(side, float) and not 0.0 < side <= 1.0)
        ):
            ok = False
    if not ok:
        raise ValueError(
            f"Argument `{name}` must be a side or a (height, width) pair: ints are pixels (>= 1), "
            f"floats are fractions of the image side in (0, 1]. Received: {name}={value!r}"
        )
    return pair


def check_ratio_range(name: str, value: Any) -> tuple[float, float] | None:
    """None, or (lo, hi) with 0 < lo <= hi <= 1: box sides as fractions of the image's."""
    if value is None:
        return None
    pair = tuple(value) if isinstance(value, (tuple, list)) else ()
    ok = len(pair) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
    if not ok or not 0.0 < pair[0] <= pair[1] <= 1.0:
        raise ValueError(
            f"Argument `{name}` must be a pair (lo, hi) with 0 < lo <= hi <= 1: fractions of each image side. "
            f"Received: {name}={value!r}"
        )
    return float(pair[0]), float(pair[1])


def check_num_classes(value: Any, name: str = "num_classes") -> Any:
    """None, a positive int (NumPy ints too), or one per label head (a dict, tuple or list of them)."""
    if isinstance(value, dict):
        return {key: check_num_classes(v, f"num_classes[{key!r}]") for key, v in value.items()}
    if isinstance(value, (tuple, list)) and name == "num_classes":
        return [check_num_classes(v, f"num_classes[{i}]") for i, v in enumerate(value)]
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"Argument `{name}` must be a positive int or None (or, for label heads, a dict or list of them). "
            f"Received: {name}={value!r}"
        )
    return int(value)


def check_data_format(value: Any) -> str:
    """The data format, `keras.config.image_data_format()` for None."""
    data_format = value if value is not None else keras.config.image_data_format()
    return str(check_choice("data_format", data_format, DATA_FORMATS))


def check_seed(seed: Any) -> int | None:
    """A layer's or model's seed: an int or None."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
    return None if seed is None else int(seed)


def check_bounding_box_format(value: Any) -> str:
    return str(check_choice("bounding_box_format", value, BOUNDING_BOX_FORMATS))


def check_options(
    owner: str, kwargs: Mapping[str, Any], option_names: Iterable[str], passed_on: Iterable[str] = ()
) -> None:
    """Raise for keyword arguments that are neither options nor `passed_on`.

    Arguments users bring from other libraries get the name of ours; other
    unknown names get the closest option names.
    """
    option_names, passed_on = list(option_names), set(passed_on)
    unknown = [key for key in kwargs if key not in option_names and key not in passed_on]
    if not unknown:
        return
    hints = []
    for key in unknown:
        ours = MIGRATED_ARGUMENTS.get(key)
        if ours is not None:
            hints.append(f"`{key}`: did you mean {ours}?")
            continue
        close = difflib.get_close_matches(key, option_names, n=2)
        hints.append(f"`{key}`: did you mean " + " or ".join(f"`{c}`" for c in close) + "?" if close else f"`{key}`")
    raise TypeError(
        f"{owner} got unexpected keyword arguments: {'; '.join(hints)} Its options are: {', '.join(option_names)}."
    )


# Names users bring from keras.layers.CutMix/MixUp, KerasCV, timm, torchvision
# and the TF Model Garden, and what ours are (docs/migration.md).
MIGRATED_ARGUMENTS = {
    "factor": "`alpha` (Keras' `factor` is not α: see docs/migration.md)",
    "prob": "`probability`",
    "mix_prob": "`probability`",
    "p": "`probability`",
    "rate": "`probability`",
    "switch_prob": "`switch_probability`",
    "cutmix_minmax": "`box_ratio_range`",
    "correct_lam": "`correct_lambda`",
    "lam": "`alpha` (λ is drawn from Beta(α, α))",
    "beta": "`alpha`",
    "smoothing": "`label_smoothing`",
    "classes": "`num_classes`",
    "fill_mode": "`fill_mode` (Cutout only)",
}

# ---------------------------------------------------------------------------
# Static shapes


def check_inputs(data: dict, options: MixOptions) -> None:
    """Static checks of a call's tensors, at trace time, with the shapes named."""
    images = data[inputs.IMAGES]
    rank = len(images.shape)
    if rank not in (3, 4):
        raise ValueError(
            "`images` must be a batch (B, H, W, C) or one image (H, W, C) "
            f"({options.data_format}); received shape {tuple(images.shape)} (rank {rank})."
        )
    if rank == 3:
        _check_not_a_batch_without_channels(data, options)
    batch = images.shape[0] if rank == 4 else None
    if rank == 4:
        _check_layout(images, options.data_format)
    options.check_targets(data)
    if inputs.BOUNDING_BOXES in data and rank == 4:
        _check_bounding_box_batch(data[inputs.BOUNDING_BOXES], batch)
    for key in PER_SAMPLE_KEYS:
        for tensor in inputs.tensors_of(data.get(key)) if rank == 4 else ():
            other = tensor.shape
            if len(other) == 0 or (batch is not None and other[0] is not None and other[0] != batch):
                raise ValueError(
                    f"`{key}` must have the batch size of `images`: images have shape "
                    f"{tuple(images.shape)}, {key} have shape {tuple(other)}."
                )
    if inputs.SEGMENTATION_MASKS in data:
        _check_segmentation_masks(images, data[inputs.SEGMENTATION_MASKS], options.data_format)


# Targets with one row per image: their batch size must be the images'.
PER_SAMPLE_KEYS = (inputs.LABELS, inputs.SEGMENTATION_MASKS, inputs.SAMPLE_WEIGHT)


def _check_not_a_batch_without_channels(data: dict, options: MixOptions) -> None:
    """Rank-3 images with batched labels: a grayscale batch (B, H, W) missing its channel axis."""
    labels = data.get(inputs.LABELS)
    if labels is None or not hasattr(labels, "shape"):
        return
    shape, images_shape = tuple(labels.shape), tuple(data[inputs.IMAGES].shape)
    integer = keras.backend.is_int_dtype(keras.backend.standardize_dtype(labels.dtype))
    batched_ids = integer and len(shape) >= 1 and shape[0] != 1
    batched_dense = not integer and len(shape) >= 2
    if batched_ids or batched_dense:
        fix = "images[..., None]" if options.data_format == "channels_last" else "images[:, None]"
        raise ValueError(
            f"`images` of shape {images_shape} with labels of shape {shape} look like a batch of grayscale images "
            f"without a channel axis, but rank-3 images are read as one image (H, W, C). Add the channel axis: "
            f"`{fix}` gives a batch of shape "
            + (
                f"{images_shape + (1,)}."
                if options.data_format == "channels_last"
                else f"{images_shape[:1] + (1,) + images_shape[1:]}."
            )
        )


def _check_layout(images: Any, data_format: str | None) -> None:
    """Catch images in the other data format, where that is unambiguous.

    Conservative, static shapes only, never for shapes a real image in the
    declared format could plausibly have:
    - channels_first, images (B, a, b, c) with c in (1, 3, 4) and a, b >= 8:
      read as `a` channels of b×c pixels, i.e. images at most 4 pixels wide
      with 8+ channels; they are channels_last (B, H, W, C).
    - channels_last, images (B, c, h, w) with c in (1, 3, 4) and h == w >= 8:
      read as images 1–4 pixels tall with as many channels as columns; they
      are channels_first (B, C, H, W) square images.
    - channels_last, non-square (B, c, h, w) with c in (1, 3, 4) and w > 4:
      a warning, once per process: they look channels_first too (torch
      users hold such tensors), but an image c pixels tall with w channels
      (a small feature map, say) is possible, so they are mixed as given.
    """
    shape = tuple(images.shape)
    if len(shape) != 4 or any(d is None for d in shape[1:]):
        return
    _, a, b, c = shape
    if data_format == "channels_first" and c in (1, 3, 4) and a >= 8 and b >= 8:
        raise ValueError(
            f"`images` of shape {shape} look channels_last (B, H, W, C) with C={c}, but data_format="
            f"'channels_first' reads them as {a} channels of {b}x{c} pixels. Pass data_format='channels_last' "
            "(or transpose the images to (B, C, H, W))."
        )
    if data_format == "channels_last" and a in (1, 3, 4) and b == c and b >= 8:
        raise ValueError(
            f"`images` of shape {shape} look channels_first (B, C, H, W) with C={a}, but data_format="
            f"'channels_last' reads them as {c} channels of {a}x{b} pixels. Pass data_format='channels_first' "
            "(or transpose the images to (B, H, W, C))."
        )
    global _warned_channels_first
    if data_format == "channels_last" and a in (1, 3, 4) and c > 4 and not _warned_channels_first:
        _warned_channels_first = True
        warnings.warn(
            f"`images` of shape {shape} look channels_first (B, C, H, W) with C={a}, but data_format="
            f"'channels_last' (the default, keras.config.image_data_format()) mixes them as {a}x{b} images with "
            f"{c} channels. Pass data_format='channels_first' if they are (B, C, H, W). (Warned once.)",
            UserWarning,
            stacklevel=2,
        )


# `_check_layout` warns about a channels_first-looking layout once per process.
_warned_channels_first = False


def check_bounding_boxes(bounding_boxes: Any) -> None:
    """A batched Keras bounding-box dict: "boxes" (B, N, 4) and "labels" (B, N)."""
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        keys = sorted(bounding_boxes) if isinstance(bounding_boxes, dict) else type(bounding_boxes).__name__
        raise ValueError(f'`bounding_boxes` must be a dict with "boxes" and "labels"; received {keys}.')
    boxes_shape, labels_shape = tuple(bounding_boxes["boxes"].shape), tuple(bounding_boxes["labels"].shape)
    if len(boxes_shape) != 3 or boxes_shape[-1] != 4 or len(labels_shape) != 2:
        raise ValueError(
            'Batched `bounding_boxes` need "boxes" of shape (B, N, 4) and "labels" of shape (B, N); '
            f"received boxes of shape {boxes_shape} and labels of shape {labels_shape}."
        )


def _check_bounding_box_batch(bounding_boxes: Any, batch: Any) -> None:
    check_bounding_boxes(bounding_boxes)
    boxes_shape, labels_shape = tuple(bounding_boxes["boxes"].shape), tuple(bounding_boxes["labels"].shape)
    known = lambda a, b: a is not None and b is not None and a != b
    if known(boxes_shape[0], batch) or known(labels_shape[0], batch) or known(boxes_shape[1], labels_shape[1]):
        raise ValueError(
            '`bounding_boxes` need "boxes" of shape (B, N, 4) and "labels" of shape (B, N), with B the '
            f"batch size of `images` ({batch}); received boxes of shape {boxes_shape} and labels of shape "
            f"{labels_shape}."
        )


def _check_segmentation_masks(images: Any, masks: Any, data_format: str | None) -> None:
    rank = len(images.shape)
    channels_first = data_format == "channels_first"
    hw = images.shape[-2:] if channels_first else images.shape[-3:-1]
    m = tuple(masks.shape)
    if len(m) == rank - 1:
        ranked, m_hw = True, m[-2:]
    elif len(m) == rank:
        ranked = (m[-3] if channels_first else m[-1]) in (1, None)
        m_hw = m[-2:] if channels_first else m[-3:-1]
    else:
        ranked, m_hw = False, ()
    if not ranked or any(a is not None and b is not None and a != b for a, b in zip(hw, m_hw)):
        expect = "(B, H, W) or " + ("(B, 1, H, W)" if channels_first else "(B, H, W, 1)")
        raise ValueError(
            f"`segmentation_masks` must have shape {expect} matching images {tuple(images.shape)}; received shape {m}."
        )


# ---------------------------------------------------------------------------
# Values


def values_known(x: Any) -> bool:
    """True when `x`'s values can be read now (eager), False while tracing."""
    if isinstance(x, keras.KerasTensor):
        return False
    name = backend_name()
    if name == "numpy":
        return True
    if name == "tensorflow":
        import tensorflow as tf

        return bool(tf.executing_eagerly()) and not in_tensorflow_graph()
    if name == "jax":
        import jax

        return not isinstance(x, jax.core.Tracer)
    if name == "torch":
        import torch

        compiling = getattr(getattr(torch, "compiler", None), "is_compiling", None)
        if compiling is not None and compiling():
            return False
        # Keras' symbolic shape inference runs torch code on "meta" tensors.
        return not (isinstance(x, torch.Tensor) and x.device.type == "meta")
    return False


def graph_asserts() -> bool:
    """True in a TensorFlow graph that can run an `Assert` op (not XLA)."""
    return backend_name() == "tensorflow" and in_tensorflow_graph() and not in_xla_context()


def _assert(condition: Any, message: str, shown: Any, guarded: Any) -> Any:
    """`guarded`, run only after asserting `condition` (TF graphs)."""
    import tensorflow as tf

    # The Assert op itself: `tf.debugging.Assert` wraps it in a `cond`, an If
    # node with two branch functions that a fresh tf.data iterator
    # instantiates again every epoch (benchmarks/README.md). Same error.
    check = tf.raw_ops.Assert(condition=condition, data=[message, shown], summarize=2 * _SHOWN)
    with tf.control_dependencies([check]):
        return tf.identity(guarded)


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def check_class_ids(ids: Any, num_classes: int) -> Any:
    """`ids` after checking they are whole numbers in [0, num_classes), where values can be checked.

    Float ids (Keras' preprocessing layers cast labels to float32) must be
    whole numbers too. Where values cannot be checked (traced without
    asserts), ids out of range are mapped to -1, so `one_hot` gives all-zero
    rows on every backend (TensorFlow and JAX already do; torch's one_hot
    would fail or assert on the device).
    """
    expected = f"`labels` must be class ids in [0, {num_classes}) for num_classes={num_classes}"
    floats = keras.backend.is_float_dtype(keras.backend.standardize_dtype(ids.dtype))
    if floats:
        expected = expected.replace("class ids", "class ids (whole numbers)")
    if values_known(ids):
        values = _numpy(ids).reshape(-1)
        bad = ~np.isfinite(values) if floats else np.zeros(values.shape, bool)
        whole = np.where(bad, 0, values)
        if floats:
            bad |= whole != np.round(whole)
        bad |= (whole < 0) | (whole >= num_classes)
        if bad.any():
            shown = sorted(set(values[bad].tolist()), key=str)[:_SHOWN]
            raise ValueError(
                f"{expected}; received ids {shown} (at positions {np.flatnonzero(bad)[:_SHOWN].tolist()}, "
                f"labels of shape {tuple(ids.shape)}). Check num_classes, or remap the ids."
            )
        return ids
    if graph_asserts():
        import tensorflow as tf

        wide = tf.cast(ids, tf.float64) if floats else tf.cast(ids, tf.int64)
        ok = tf.logical_and(wide >= 0, wide < num_classes)
        if floats:
            ok = tf.logical_and(ok, tf.equal(wide, tf.round(wide)))
        return _assert(tf.reduce_all(ok), f"{expected}; received labels:", ids, ids)
    if backend_name() == "torch" or floats:
        in_range = ops.logical_and(ids >= 0, ids < num_classes)
        if floats:
            in_range = ops.logical_and(in_range, ops.equal(ids, ops.round(ids)))
        return ops.where(in_range, ops.cast(ids, "int32"), -1)
    return ids


def check_finite(labels: Any) -> Any:
    """Float `labels` after checking they hold no NaN or Inf, where checkable."""
    expected = "Float `labels` must be finite (no NaN or Inf)"
    if values_known(labels):
        values = _numpy(ops.cast(labels, "float32"))
        bad = ~np.isfinite(values)
        if bad.any():
            rows = np.flatnonzero(bad.reshape(bad.shape[0], -1).any(axis=1)) if bad.ndim > 1 else np.zeros(1, int)
            raise ValueError(
                f"{expected}; received labels of shape {tuple(labels.shape)} with NaN/Inf in rows "
                f"{rows[:_SHOWN].tolist()}."
            )
        return labels
    if graph_asserts():
        import tensorflow as tf

        ok = tf.reduce_all(tf.math.is_finite(labels))
        return _assert(ok, f"{expected}; received labels:", labels, labels)
    return labels


def assert_same_batch(data: dict, keys: tuple) -> dict:
    """In TF graphs, assert at run time that `keys` share the images' batch size.

    Only for batch sizes unknown when tracing (static ones are checked by
    `check_inputs`); a mismatch would otherwise surface as an unclear
    gather or broadcast error, or silently broadcast a batch of 1.
    """
    images = data[inputs.IMAGES]
    if not graph_asserts():
        return data
    import tensorflow as tf

    def checked(key: str, tensor: Any) -> Any:
        if len(tensor.shape) == 0 or (images.shape[0] is not None and tensor.shape[0] is not None):
            return tensor
        batch, other = tf.shape(images)[0], tf.shape(tensor)[0]
        message = f"`{key}` must have the batch size of `images` (batch sizes of images, {key}):"
        return _assert(tf.equal(other, batch), message, tf.stack([batch, other]), tensor)

    out = dict(data)
    for key in keys:
        if key in data:
            out[key] = inputs.map_tensors(functools.partial(checked, key), data[key])
    return out
