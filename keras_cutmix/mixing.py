"""Masks and the mixing of each target: images, segmentation masks, labels.

The box mask is built by broadcasting a (n, H, 1) row test against a (n, 1, W)
column test: no float meshgrid, and never a mask repeated over channels. Pixel
data only ever goes through `where`, so every dtype (uint8, float16, bfloat16,
integer masks) comes back as it went in.
"""

from __future__ import annotations

from typing import Any

import keras

from keras_cutmix._backend import ops


def box_mask(top: Any, bottom: Any, left: Any, right: Any, height: Any, width: Any) -> Any:
    """Boolean (n, H, W) mask, True inside [top, bottom) × [left, right)."""
    rows = ops.expand_dims(ops.arange(height, dtype="int32"), 0)  # (1, H)
    cols = ops.expand_dims(ops.arange(width, dtype="int32"), 0)  # (1, W)
    in_rows = ops.logical_and(rows >= top[:, None], rows < bottom[:, None])  # (n, H)
    in_cols = ops.logical_and(cols >= left[:, None], cols < right[:, None])  # (n, W)
    return ops.logical_and(in_rows[:, :, None], in_cols[:, None, :])


def mask_for(target: Any, mask: Any, data_format: str) -> Any:
    """Reshape an (n, H, W) mask so it broadcasts against `target`.

    `target` is (B, H, W) or, per `data_format`, (B, H, W, C) / (B, C, H, W).
    The channel axis stays of size 1: the same box in every channel.
    """
    if len(target.shape) == 3:
        return mask
    if data_format == "channels_first":
        return mask[:, None, :, :]
    return mask[:, :, :, None]


def paste(target: Any, partner: Any, mask: Any) -> Any:
    """`target` with its masked pixels replaced by those of `target[partner]`."""
    return ops.where(mask, ops.take(target, partner, axis=0), target)


def mix_labels(labels: Any, partner: Any, partner_weight: Any) -> Any:
    """(1 − w)·y + w·y[partner], with w the partner's share, per sample.

    Written so that the partner's class gets exactly `w` (one-hot labels) and an
    unmixed sample (w = 0) keeps its label bit for bit.
    """
    w = ops.cast(partner_weight, labels.dtype)[:, None]
    return labels * (1 - w) + ops.take(labels, partner, axis=0) * w


def is_integer_dtype(dtype: Any) -> bool:
    name = keras.backend.standardize_dtype(dtype)
    return name.startswith("int") or name.startswith("uint")


def prepare_labels(labels: Any, *, batched: bool, num_classes: int | None, label_smoothing: float) -> Any:
    """Dense float labels: sparse class ids become one-hot, then smoothing.

    Integer labels are class ids of shape (B,) or (B, 1) ((), (1,) unbatched)
    and need `num_classes`. Float labels are one-hot or soft, shape (B, K)
    ((K,) unbatched). Anything else is ambiguous and raises, rather than being
    mixed into something silently wrong.
    """
    shape = tuple(labels.shape)
    sparse_shapes = "(B,) or (B, 1)" if batched else "() or (1,)"
    if is_integer_dtype(labels.dtype):
        rank_ok = len(shape) == (1 if batched else 0) or (len(shape) == (2 if batched else 1) and shape[-1] == 1)
        if not rank_ok:
            raise ValueError(
                f"Integer `labels` are read as class ids and must have shape {sparse_shapes}; "
                f"received labels of shape {shape}. Pass one-hot or soft labels as a float tensor."
            )
        if num_classes is None:
            raise ValueError(
                f"Sparse integer `labels` (shape {shape}, dtype {keras.backend.standardize_dtype(labels.dtype)}) "
                "need `num_classes` to be made one-hot. Pass num_classes=K."
            )
        if len(shape) == (2 if batched else 1):
            labels = ops.squeeze(labels, axis=-1)
        labels = ops.one_hot(labels, num_classes, dtype="float32")
    elif keras.backend.is_float_dtype(labels.dtype):
        if len(shape) != (2 if batched else 1):
            hint = (
                " A float tensor of rank 1 is ambiguous (class ids stored as floats, or one label per sample?):"
                " cast class ids to an integer dtype and pass num_classes, or pass labels of shape (B, K)."
                if batched and len(shape) == 1
                else ""
            )
            raise ValueError(
                f"Float `labels` must be one-hot or soft labels of shape {'(B, K)' if batched else '(K,)'}; "
                f"received labels of shape {shape}.{hint}"
            )
        if num_classes is not None and shape[-1] is not None and shape[-1] != num_classes:
            raise ValueError(
                f"`labels` have {shape[-1]} classes (shape {shape}) but num_classes={num_classes}."
            )
    else:
        raise ValueError(
            f"`labels` must be integer class ids or float one-hot/soft labels; "
            f"received dtype {keras.backend.standardize_dtype(labels.dtype)}."
        )
    if label_smoothing:
        k = labels.shape[-1] if labels.shape[-1] is not None else ops.shape(labels)[-1]
        labels = labels * (1.0 - label_smoothing) + ops.cast(label_smoothing / k, labels.dtype)
    return labels
