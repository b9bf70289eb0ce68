"""Labels: made dense (one-hot, smoothed), then mixed by the partner's share.

Labels are one tensor, or one per model output (a dict, tuple or list of
heads); every head is mixed with the same weights. A head is:
- sparse class ids, shape (B,) or (B, 1) ((), (1,) for one image): integer,
  or float when `num_classes` is given (Keras' preprocessing layers cast
  labels to float32); they need `num_classes` and become one-hot float32;
- dense float labels (B, K): one-hot, soft or multi-hot; they keep their dtype.
Mixing is linear, ỹ = (1 − w)·y + w·y[π], so multi-hot rows are mixed by the
same pixel share and never renormalized.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from keras_cutmix import inputs
from keras_cutmix._backend import asserted, backend_name, dtype_name, graph_asserts, ops, to_numpy, values_known

_SHOWN = 10  # bad values named in a message


def map_heads(function: Callable[..., Any], labels: Any, num_classes: Any = None) -> Any:
    """`function(head, head_num_classes)` over one head or several (`inputs.is_heads`)."""
    if not inputs.is_heads(labels):
        if isinstance(num_classes, (dict, tuple, list)):
            raise ValueError(
                f"`num_classes` is given per head ({num_classes!r}) but `labels` is a single tensor: pass "
                "num_classes=K, or labels as a dict/tuple of heads."
            )
        return function(labels, num_classes)
    classes = _per_head(num_classes, list(labels) if isinstance(labels, dict) else list(range(len(labels))))
    return inputs.map_heads(lambda key, head: function(head, classes[key]), labels)


def _per_head(num_classes: Any, keys: list) -> dict:
    if isinstance(num_classes, dict) and keys == list(range(len(keys))) and len(num_classes) == len(keys):
        # Heads given as a tuple/list match the model's outputs in order (as Keras matches them).
        num_classes = list(num_classes.values())
    if isinstance(num_classes, dict):
        unknown = [key for key in num_classes if key not in keys]
        if unknown:
            raise ValueError(f"`num_classes` names heads {unknown} that the labels do not have (their heads: {keys}).")
        return {key: num_classes.get(key) for key in keys}
    if isinstance(num_classes, (tuple, list)):
        if len(num_classes) != len(keys):
            raise ValueError(f"`num_classes` has {len(num_classes)} entries for {len(keys)} label heads.")
        return dict(zip(keys, num_classes))
    return {key: num_classes for key in keys}


def is_sparse(labels: Any, num_classes: int | None, batched: bool = True) -> bool:
    """True when `labels` are read as class ids (see the module docstring)."""
    shape = tuple(labels.shape)
    dtype = dtype_name(labels.dtype)
    if keras.backend.is_int_dtype(dtype):
        return True
    ids_rank = 1 if batched else 0
    id_shaped = len(shape) == ids_rank or (len(shape) == ids_rank + 1 and shape[-1] == 1)
    # (B, 1) with num_classes=1 is a dense one-class label, not an id.
    return (
        keras.backend.is_float_dtype(dtype)
        and num_classes is not None
        and id_shaped
        and not (len(shape) == ids_rank + 1 and num_classes == 1)
    )


def check_labels(labels: Any, *, batched: bool, num_classes: Any) -> Any:
    """`labels` unchanged, after every check `prepare_labels` makes, without making them dense.

    For labels checked once, away from the step (arrays given to
    `CutMixModel.fit`, a `tf.data` map): shapes are checked statically, values
    where they can be (`check_class_ids`, `check_finite`: eager, TF graphs); TF graphs get the
    labels back guarded by the asserts.
    """

    def check(head: Any, k: Any) -> Any:
        checked = _checked_head(head, batched, k)[0]
        return checked if len(checked.shape) == len(head.shape) else ops.expand_dims(checked, -1)

    return map_heads(check, labels, num_classes)


def prepare_labels(labels: Any, *, batched: bool, num_classes: Any, label_smoothing: float) -> Any:
    """Dense float labels: class ids become one-hot, then smoothing, for every head.

    Anything ambiguous raises, rather than being mixed into something
    silently wrong. Values are checked where they can be (`check_class_ids`, `check_finite`).
    """
    return map_heads(lambda head, k: _prepare_head(head, batched, k, label_smoothing), labels, num_classes)


def check_head_shape(labels: Any, batched: bool, num_classes: int | None) -> bool:
    """Raise for a label head whose static shape or dtype does not fit; True for class ids."""
    shape = tuple(labels.shape)
    dtype = dtype_name(labels.dtype)
    sparse_shapes = "(B,) or (B, 1)" if batched else "() or (1,)"
    if is_sparse(labels, num_classes, batched):
        rank_ok = len(shape) == (1 if batched else 0) or (len(shape) == (2 if batched else 1) and shape[-1] == 1)
        if not rank_ok:
            raise ValueError(
                f"Integer `labels` are read as class ids and must have shape {sparse_shapes}; "
                f"received labels of shape {shape}. Pass one-hot or soft labels as a float tensor."
            )
        if num_classes is None:
            raise ValueError(
                f"Sparse integer `labels` (shape {shape}, dtype {dtype}) need `num_classes` to be made one-hot. "
                "Pass num_classes=K."
            )
        return True
    if keras.backend.is_float_dtype(dtype):
        if len(shape) != (2 if batched else 1):
            hint = (
                " A float tensor of rank 1 is ambiguous (class ids stored as floats, or one label per sample?):"
                " pass num_classes=K to read float labels of shape (B,) or (B, 1) as class ids, or pass labels"
                " of shape (B, K)."
                if batched and len(shape) == 1
                else ""
            )
            raise ValueError(
                f"Float `labels` must be one-hot or soft labels of shape {'(B, K)' if batched else '(K,)'}; "
                f"received labels of shape {shape}.{hint}"
            )
        if num_classes is not None and shape[-1] is not None and shape[-1] != num_classes:
            raise ValueError(f"`labels` have {shape[-1]} classes (shape {shape}) but num_classes={num_classes}.")
        return False
    raise ValueError(
        f"`labels` must be integer class ids or float one-hot/soft labels; "
        f"received labels of dtype {dtype} and shape {shape}."
    )


def _checked_head(labels: Any, batched: bool, num_classes: int | None) -> tuple[Any, bool]:
    """(the head with its values checked, whether it holds class ids)."""
    sparse = check_head_shape(labels, batched, num_classes)
    if sparse:
        assert num_classes is not None  # check_head_shape asked for it
        if len(labels.shape) == (2 if batched else 1):
            labels = ops.squeeze(labels, axis=-1)
        # Ids outside [0, num_classes) (and float ids that are not whole
        # numbers) raise where values can be checked (eager, TF graphs);
        # elsewhere they give all-zero one-hot rows.
        return check_class_ids(labels, num_classes), True
    # NaN/Inf raise where values can be checked (eager, TF graphs) rather
    # than spreading into the partner's mixed label; elsewhere they propagate.
    return check_finite(labels), False


def check_class_ids(ids: Any, num_classes: int) -> Any:
    """`ids` after checking they are whole numbers in [0, num_classes), where values can be checked.

    Float ids (Keras' preprocessing layers cast labels to float32) must be
    whole numbers too. Where values cannot be checked (traced without
    asserts), ids out of range are mapped to -1, so `one_hot` gives all-zero
    rows on every backend (TensorFlow and JAX already do; torch's one_hot
    would fail or assert on the device).
    """
    expected = f"`labels` must be class ids in [0, {num_classes}) for num_classes={num_classes}"
    floats = keras.backend.is_float_dtype(dtype_name(ids.dtype))
    if floats:
        expected = expected.replace("class ids", "class ids (whole numbers)")
    if values_known(ids):
        values = to_numpy(ids).reshape(-1)
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
        return asserted(tf.reduce_all(ok), f"{expected}; received labels:", ids, ids)
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
        values = to_numpy(ops.cast(labels, "float32"))
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
        return asserted(ok, f"{expected}; received labels:", labels, labels)
    return labels


def _prepare_head(labels: Any, batched: bool, num_classes: int | None, label_smoothing: float) -> Any:
    labels, sparse = _checked_head(labels, batched, num_classes)
    if sparse:
        labels = ops.one_hot(ops.cast(labels, "int32"), num_classes, dtype="float32")
    if label_smoothing:
        k = labels.shape[-1] if labels.shape[-1] is not None else ops.shape(labels)[-1]
        labels = labels * (1.0 - label_smoothing) + ops.cast(label_smoothing / k, labels.dtype)
    return labels


def mix_labels(labels: Any, partner: Any, partner_weight: Any) -> Any:
    """(1 − w)·y + w·y[partner] per sample, w the partner's share, for every head.

    Written so that the partner's class gets exactly `w` (one-hot labels) and an
    unmixed sample (w = 0) keeps its label bit for bit.
    """

    def mix(y: Any, _: Any) -> Any:
        w = ops.cast(partner_weight, y.dtype)[:, None]
        return y * (1 - w) + ops.take(y, partner, axis=0) * w

    return map_heads(mix, labels)


def output_spec(labels: Any, num_classes: Any, batched: bool) -> Any:
    """The KerasTensor(s) `prepare_labels` returns for symbolic `labels`."""

    def spec(y: Any, k: int | None) -> Any:
        if is_sparse(y, k, batched):
            shape = (tuple(y.shape[:1]) if batched else ()) + (k,)
            return keras.KerasTensor(shape, dtype="float32")
        return keras.KerasTensor(tuple(y.shape), dtype=y.dtype)

    return map_heads(spec, labels, num_classes)
