"""Masks and the mixing of each target: images, segmentation masks, labels.

The box mask is built by broadcasting a (n, H, 1) row test against a (n, 1, W)
column test: no float meshgrid, and never a mask repeated over channels. Pixel
data only ever goes through `where`, so every dtype (uint8, float16, bfloat16,
integer masks) comes back as it went in.
"""

from __future__ import annotations

import functools
from typing import Any

import keras

from keras_cutmix._backend import backend_name, in_xla_context, ops, tensorflow_ops
from keras_cutmix._checks import check_class_ids, check_finite


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


def paste(target: Any, source: Any, mask: Any) -> Any:
    """`target` with its masked pixels replaced by those of `source`.

    `source` is a fill value for Cutout, or any tensor that broadcasts against
    `target`. For the partners' pixels use `paste_from`, which never copies
    the partner images whole.
    """
    return _fused(_where, mask, source, target)


def paste_from(target: Any, partner: Any, mask: Any, source: Any = None) -> Any:
    """`target` with its masked pixels replaced by those of `source[partner]`.

    `source` defaults to `target` (CutMix: each sample gets a box of its
    partner's pixels). Written as one gather feeding one `where` with the
    broadcast (n, H, W, 1) mask; compiled as one fused loop (XLA, and on
    TensorFlow see `_fused`), the partner's pixels are read in place: no
    gathered copy of the batch, no mask over channels, one output buffer.
    """
    return _fused(_where_taken, mask, target if source is None else source, partner, target)


def _where(mask: Any, source: Any, target: Any) -> Any:
    return ops.where(mask, source, target)


def _where_taken(mask: Any, source: Any, partner: Any, target: Any) -> Any:
    return ops.where(mask, ops.take(source, partner, axis=0), target)


def _fused(fn: Any, *args: Any) -> Any:
    """Run `fn(*args)`; on TensorFlow, as one XLA-compiled function.

    TensorFlow's graph executor runs a broadcast `where` element by element
    (SelectV2's generic broadcasting kernel, ~5 ns per element here) and
    materializes `take(source, partner)` as a full copy of the batch first.
    Compiled by XLA, the same ops are one fused, vectorized loop that reads
    each pixel where it is and writes each output pixel once: 2x-12x faster in
    `tf.function` and `Dataset.map` (benchmarks/README.md). The math is the
    same `ops` code on every backend; JAX and torch callers (and symbolic
    KerasTensors) run it directly.
    """
    if backend_name() != "tensorflow" or any(isinstance(a, keras.KerasTensor) for a in args):
        return fn(*args)
    if in_xla_context():
        # Already being compiled (jit_compile=True): a nested compiled call
        # would only fence these ops off from the fusion around them
        # (measured 1.5x slower on uint8 at 224x224).
        return fn(*args)
    return _xla_function(fn)(*args)


@functools.lru_cache(maxsize=None)
def _xla_function(fn: Any) -> Any:
    import tensorflow as tf

    def run(*args: Any) -> Any:
        # Trace with TF ops even when the Keras backend is JAX or torch
        # (a tf.data pipeline): these are TensorFlow tensors.
        with tensorflow_ops():
            return fn(*args)

    # One trace per rank and dtype (shapes generalized); XLA compiles and
    # caches one executable per concrete shape at run time.
    return tf.function(run, jit_compile=True, reduce_retracing=True, autograph=False)


def blend(target: Any, source: Any, weight: Any) -> Any:
    """MixUp's (1 − w)·x + w·x[π] per sample, in the dtype of `target`.

    Integer images (uint8) are blended in float32 and rounded back, so they
    stay integers; w = 0 returns `target` bit for bit.
    """
    dtype = keras.backend.standardize_dtype(target.dtype)
    compute = dtype if keras.backend.is_float_dtype(dtype) else "float32"
    w = ops.reshape(ops.cast(weight, compute), (-1,) + (1,) * (len(target.shape) - 1))
    mixed = ops.cast(target, compute) * (1 - w) + ops.cast(source, compute) * w
    if compute != dtype:
        mixed = ops.cast(ops.round(mixed), dtype)
    return mixed


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
    mixed into something silently wrong. Values are checked where they can be
    (`_checks`): ids outside [0, num_classes) and NaN/Inf float labels raise
    eagerly and fail the batch in TensorFlow graphs; in compiled steps (XLA,
    jax.jit) such ids give all-zero rows and NaN propagates.
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
        # Ids outside [0, num_classes) raise where values can be checked
        # (eager, TF graphs); elsewhere they give all-zero one-hot rows.
        labels = check_class_ids(labels, num_classes)
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
        # NaN/Inf raise where values can be checked (eager, TF graphs) rather
        # than spreading into the partner's mixed label; elsewhere they propagate.
        labels = check_finite(labels)
    else:
        raise ValueError(
            f"`labels` must be integer class ids or float one-hot/soft labels; "
            f"received labels of dtype {keras.backend.standardize_dtype(labels.dtype)} and shape {shape}."
        )
    if label_smoothing:
        k = labels.shape[-1] if labels.shape[-1] is not None else ops.shape(labels)[-1]
        labels = labels * (1.0 - label_smoothing) + ops.cast(label_smoothing / k, labels.dtype)
    return labels
