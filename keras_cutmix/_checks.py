"""Checks of input *values* (class ids, NaN labels, dynamic batch sizes).

Shapes and dtypes are checked statically (`core.check_inputs`); values can be
checked only where they are known or where the graph can assert on them:

- eager (NumPy, TF eager tensors, concrete JAX arrays, torch tensors outside
  `torch.compile`): read the small tensor (B ids, B×K labels) and raise a
  `ValueError` naming the bad values;
- a TensorFlow graph that XLA does not compile (`tf.data`, `tf.function`,
  Keras' TF `fit` without `jit_compile`): a `tf.debugging.Assert` on the same
  condition, so the batch fails with `InvalidArgumentError` when it runs;
- traced without asserts (JAX `jit`, `jit_compile=True`, `torch.compile`):
  no check; out-of-range ids give all-zero one-hot rows and NaN labels
  propagate (docs/bad_inputs.md).

Only tensors of B or B×K elements are read, never images.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from keras_cutmix._backend import backend_name, in_tensorflow_graph, in_xla_context, ops

_SHOWN = 10  # bad values named in a message


def values_known(x: Any) -> bool:
    """True when `x`'s values can be read now (eager), False while tracing."""
    if isinstance(x, keras.KerasTensor):
        return False
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        return tf.executing_eagerly() and not in_tensorflow_graph()
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
    """True in a TensorFlow graph that can run `tf.debugging.Assert` (not XLA)."""
    return backend_name() == "tensorflow" and in_tensorflow_graph() and not in_xla_context()


def _assert(condition: Any, message: str, tensor: Any, *guarded: Any) -> tuple:
    """`guarded` tensors, run only after asserting `condition` (TF graphs)."""
    import tensorflow as tf

    check = tf.debugging.Assert(condition, [message, tensor], summarize=2 * _SHOWN)
    with tf.control_dependencies([check]):
        return tuple(tf.identity(t) for t in guarded)


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def check_class_ids(ids: Any, num_classes: int) -> Any:
    """`ids` after checking 0 <= id < num_classes where values can be checked.

    Where they cannot (traced without asserts), ids out of range are mapped
    to -1, so `one_hot` gives all-zero rows on every backend (TensorFlow and
    JAX already do; torch's one_hot would fail or assert on the device).
    """
    expected = f"`labels` must be class ids in [0, {num_classes}) for num_classes={num_classes}"
    if values_known(ids):
        values = _numpy(ids).reshape(-1).astype("int64")
        bad = (values < 0) | (values >= num_classes)
        if bad.any():
            shown = sorted(set(values[bad].tolist()))[:_SHOWN]
            raise ValueError(
                f"{expected}; received ids {shown} (at positions {np.flatnonzero(bad)[:_SHOWN].tolist()}, "
                f"labels of shape {tuple(ids.shape)}). Check num_classes, or remap the ids."
            )
        return ids
    if graph_asserts():
        import tensorflow as tf

        wide = tf.cast(ids, tf.int64)
        ok = tf.reduce_all(tf.logical_and(wide >= 0, wide < num_classes))
        return _assert(ok, f"{expected}; received labels:", ids, ids)[0]
    if backend_name() == "torch":
        wide = ops.cast(ids, "int32")
        return ops.where(ops.logical_and(wide >= 0, wide < num_classes), wide, -1)
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
        return _assert(ok, f"{expected}; received labels:", labels, labels)[0]
    return labels


def assert_same_batch(data: dict, images_key: str, keys: tuple) -> dict:
    """In TF graphs, assert at run time that `keys` share the images' batch size.

    Only for batch sizes unknown when tracing (static ones are checked by
    `core.check_inputs`); a mismatch would otherwise surface as an unclear
    gather or broadcast error, or silently broadcast a batch of 1.
    """
    images = data[images_key]
    pending = [
        key for key in keys
        if key in data and len(data[key].shape) > 0 and (images.shape[0] is None or data[key].shape[0] is None)
    ]
    if not pending or not graph_asserts():
        return data
    import tensorflow as tf

    out = dict(data)
    batch = tf.shape(images)[0]
    for key in pending:
        other = tf.shape(data[key])[0]
        message = f"`{key}` must have the batch size of `images` (batch sizes of images, {key}):"
        out[key] = _assert(tf.equal(other, batch), message, tf.stack([batch, other]), data[key])[0]
    return out
