"""The call forms: positional (images[, labels[, sample_weight]]) or a dict.

`unpack` turns any accepted form into a dict with the keys below and returns a
`repack` that rebuilds the caller's structure, so every entry point returns
exactly the structure it was given: the keys it was given (tensorflow-datasets'
singular "image" and "label" too) and every other entry untouched.

`check_inputs` checks a call's tensors statically, at trace time, with the
shapes named (ranks, batch sizes, the images' layout, masks and boxes);
`assert_same_batch` asserts batch sizes unknown when tracing where a
TensorFlow graph runs.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import keras

from keras_cutmix._backend import asserted, dtype_name, graph_asserts, ops

if TYPE_CHECKING:
    from keras_cutmix.methods.base import MixOptions

IMAGES = "images"
LABELS = "labels"
SEGMENTATION_MASKS = "segmentation_masks"
SAMPLE_WEIGHT = "sample_weight"
BOUNDING_BOXES = "bounding_boxes"  # a dict {"boxes": (B, N, 4), "labels": (B, N)}; dict inputs only
KNOWN_KEYS = (IMAGES, LABELS, SEGMENTATION_MASKS, SAMPLE_WEIGHT, BOUNDING_BOXES)
# tensorflow-datasets names the parts of an element in the singular.
ALIASES = {"image": IMAGES, "label": LABELS, "segmentation_mask": SEGMENTATION_MASKS}


def canonical_keys(element: dict) -> dict[str, str]:
    """{key in `element`: the package's name for it}, for the keys it mixes."""
    names: dict[str, str] = {}
    for key in element:
        name = key if key in KNOWN_KEYS else ALIASES.get(key) if isinstance(key, str) else None
        if name is None:
            continue
        if name in names.values():
            given = [k for k, v in names.items() if v == name] + [key]
            raise ValueError(f"A dict input names {name!r} twice, as {given}: pass one of them.")
        names[key] = name
    return names


def unpack(images: Any, labels: Any = None, sample_weight: Any = None) -> tuple[dict, Callable[[dict], Any]]:
    """Normalize a call to a dict of its parts, plus the function to undo it."""
    if isinstance(images, dict):
        if labels is not None or sample_weight is not None:
            raise ValueError(
                "Pass either a dict, or images[, labels[, sample_weight]] positionally, not both. "
                f"Received a dict with keys {sorted(images, key=str)} and extra positional arguments."
            )
        original = images
        names = {key: name for key, name in canonical_keys(original).items() if original[key] is not None}
        if IMAGES not in names.values():
            raise ValueError(
                f"A dict input needs an {IMAGES!r} key (not None), or 'image'; received keys "
                f"{sorted(original, key=str)}. Recognized keys: {list(KNOWN_KEYS)} and their singular forms "
                f"{list(ALIASES)} (others pass through untouched)."
            )
        data = {name: original[key] for key, name in names.items()}

        def repack_dict(out: dict) -> dict:
            result = dict(original)
            result.update({key: out[name] for key, name in names.items()})
            return result

        return data, repack_dict
    if isinstance(images, (tuple, list)):
        # One (images[, labels[, sample_weight]]) element, as grain's `.map(layer)` passes it.
        if labels is not None or sample_weight is not None or not 1 <= len(images) <= 3:
            raise ValueError(
                "Pass images, labels and sample_weight as separate arguments, as a dict, or as one tuple "
                f"(images[, labels[, sample_weight]]); received a {type(images).__name__} of {len(images)} "
                f"entries{' and more positional arguments' if labels is not None or sample_weight is not None else ''}."
            )
        data, repack_parts = unpack(*images)
        element_type = type(images)
        return data, lambda out: _as_sequence(repack_parts(out), element_type)
    if images is None:
        raise ValueError("`images` is None: pass a batch (B, H, W, C) or (B, C, H, W), or one image.")
    data = {IMAGES: images}
    if labels is not None:
        data[LABELS] = labels
    if sample_weight is not None:
        if labels is None:
            raise ValueError("`sample_weight` was given without `labels`.")
        data[SAMPLE_WEIGHT] = sample_weight
    count = len(data)

    def repack_positional(out: dict) -> Any:
        parts = tuple(out[key] for key in (IMAGES, LABELS, SAMPLE_WEIGHT)[:count])
        return parts[0] if count == 1 else parts

    return data, repack_positional


def _as_sequence(parts: Any, element_type: type) -> Any:
    """What `repack_positional` returned, as the tuple or list the element was."""
    return element_type(parts if isinstance(parts, tuple) else (parts,))


def split_passthrough(element: dict) -> tuple[dict, dict]:
    """(the entries that are mixed, the entries that pass through untouched)."""
    names = canonical_keys(element)
    mixed = {key: value for key, value in element.items() if key in names}
    return mixed, {key: value for key, value in element.items() if key not in names}


def spatial_dims(images: Any, data_format: str | None) -> tuple[Any, Any, Any]:
    """(batch, height, width) of a rank-4 batch; dynamic sizes as tensors."""
    height, width = spatial_size(images, data_format)
    return ops.shape(images)[0], height, width


def spatial_size(target: Any, data_format: str | None) -> tuple[Any, Any]:
    """(height, width) of images (B, H, W, C) / (B, C, H, W) or masks (B, H, W)."""
    shape = ops.shape(target)
    if len(target.shape) == 3:
        return shape[1], shape[2]
    return (shape[2], shape[3]) if data_format == "channels_first" else (shape[1], shape[2])


# Label heads: the one rule of the package for a value that holds several tensors.


def is_heads(value: Any) -> bool:
    """Whether `value` holds several tensors: label heads (one per model output) or a dict of parts.

    A dict or a tuple always does (as Keras reads a multi-output model's
    labels); a list does when it is non-empty and every item is an array or
    tensor with at least one axis. A list of numbers (Python's or NumPy's
    scalars) or of lists is one array: class ids, rows of one-hot labels. A
    call's (images, labels) element is not a value of this kind: `unpack`
    splits it into its parts first.
    """
    if isinstance(value, (dict, tuple)):
        return True
    return isinstance(value, list) and len(value) > 0 and all(_has_axes(item) for item in value)


def _has_axes(item: Any) -> bool:
    """An array or tensor that is not a scalar (unknown ranks count as arrays)."""
    return hasattr(item, "shape") and getattr(item, "ndim", None) != 0


def map_heads(function: Callable[[Any, Any], Any], value: Any) -> Any:
    """`function(key, head)` over each head of `value`, rebuilt as a dict, tuple or list like it.

    Keys are a dict's keys or a tuple's or list's positions; a single
    tensor (not `is_heads`) gives `function(None, value)`.
    """
    if isinstance(value, dict):
        return {key: function(key, head) for key, head in value.items()}
    if is_heads(value):
        return type(value)(function(i, head) for i, head in enumerate(value))
    return function(None, value)


def heads_of(value: Any) -> list:
    """The tensors of `value`, one or several (`is_heads`); [] for None."""
    if value is None:
        return []
    heads: list = []
    map_heads(lambda _, head: heads.append(head), value)
    return heads


# ---------------------------------------------------------------------------
# Static checks of a call's tensors: at trace time, with the shapes named


def check_inputs(data: dict, options: MixOptions) -> None:
    """Static checks of a call's tensors, at trace time, with the shapes named."""
    images = data[IMAGES]
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
    if BOUNDING_BOXES in data and rank == 4:
        _check_bounding_box_batch(data[BOUNDING_BOXES], batch)
    for key in PER_SAMPLE_KEYS:
        for tensor in heads_of(data.get(key)) if rank == 4 else ():
            other = tensor.shape
            if len(other) == 0 or (batch is not None and other[0] is not None and other[0] != batch):
                raise ValueError(
                    f"`{key}` must have the batch size of `images`: images have shape "
                    f"{tuple(images.shape)}, {key} have shape {tuple(other)}."
                )
    if SEGMENTATION_MASKS in data:
        _check_segmentation_masks(images, data[SEGMENTATION_MASKS], options.data_format)


# Targets with one row per image: their batch size must be the images'.
PER_SAMPLE_KEYS = (LABELS, SEGMENTATION_MASKS, SAMPLE_WEIGHT)


def _check_not_a_batch_without_channels(data: dict, options: MixOptions) -> None:
    """Rank-3 images with batched labels: a grayscale batch (B, H, W) missing its channel axis."""
    labels = data.get(LABELS)
    if labels is None or not hasattr(labels, "shape"):
        return
    shape, images_shape = tuple(labels.shape), tuple(data[IMAGES].shape)
    integer = keras.backend.is_int_dtype(dtype_name(labels.dtype))
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
    if data_format == "channels_last" and a in (1, 3, 4) and c > 4:
        warn_once(
            "channels_first layout",
            f"`images` of shape {shape} look channels_first (B, C, H, W) with C={a}, but data_format="
            f"'channels_last' (the default, keras.config.image_data_format()) mixes them as {a}x{b} images with "
            f"{c} channels. Pass data_format='channels_first' if they are (B, C, H, W). (Warned once.)",
        )


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


# The one-time warnings already given in this process, by topic.
_warned: set[str] = set()


def warn_once(topic: str, message: str) -> None:
    """A `UserWarning` with `message`, the first time only that `topic` comes up in this process."""
    if topic in _warned:
        return
    _warned.add(topic)
    warnings.warn(message, UserWarning, stacklevel=3)


def assert_same_batch(data: dict, keys: tuple) -> dict:
    """In TF graphs, assert at run time that `keys` share the images' batch size.

    Only for batch sizes unknown when tracing (static ones are checked by
    `check_inputs`); a mismatch would otherwise surface as an unclear
    gather or broadcast error, or silently broadcast a batch of 1.
    """
    images = data[IMAGES]
    if not graph_asserts():
        return data
    import tensorflow as tf

    def checked(key: str, _: Any, tensor: Any) -> Any:
        if len(tensor.shape) == 0 or (images.shape[0] is not None and tensor.shape[0] is not None):
            return tensor
        batch, other = tf.shape(images)[0], tf.shape(tensor)[0]
        message = f"`{key}` must have the batch size of `images` (batch sizes of images, {key}):"
        return asserted(tf.equal(other, batch), message, tf.stack([batch, other]), tensor)

    out = dict(data)
    for key in keys:
        if key in data:
            out[key] = map_heads(functools.partial(checked, key), data[key])
    return out
