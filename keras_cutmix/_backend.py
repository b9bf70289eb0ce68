"""Which ops the math runs on.

All of keras_cutmix's math is written against `ops`, a stand-in for
`keras.ops`. Normally it *is* `keras.ops`. Inside a TensorFlow graph while the
Keras backend is JAX or torch (a `tf.data` pipeline, say), JAX or torch ops
cannot touch the symbolic `tf.Tensor`s, so `ops` resolves the same names in
Keras' TensorFlow backend instead, exactly as Keras' own preprocessing layers
(`keras.layers.DataLayer`) do. One implementation, every backend.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from types import ModuleType
from typing import Any, Iterator

import keras

_state = threading.local()


def in_tensorflow_graph() -> bool:
    """True while tracing a TensorFlow graph (tf.function, tf.data map)."""
    from keras.src.utils.backend_utils import in_tf_graph

    return in_tf_graph()


def in_xla_context() -> bool:
    """True while tracing a TensorFlow function that XLA will compile."""
    try:
        import tensorflow as tf
        from tensorflow.python.ops import control_flow_util

        return bool(control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))
    except Exception:  # private API moved: callers fall back to what is correct outside XLA
        return False


def needs_tensorflow_ops(tensor: Any) -> bool:
    """True when `tensor` must be handled by TF ops under another backend."""
    if keras.backend.backend() == "tensorflow" or using_tensorflow_ops():
        return False
    if isinstance(tensor, keras.KerasTensor):
        return False
    if in_tensorflow_graph():
        return True
    # An eager `tf.Tensor` handed to a JAX/torch layer (e.g. iterating a
    # tf.data pipeline by hand) is also TF's to handle.
    import sys

    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(tensor, tf.Tensor)


def using_tensorflow_ops() -> bool:
    return getattr(_state, "tensorflow", False)


@contextlib.contextmanager
def tensorflow_ops() -> Iterator[None]:
    """Within this scope `ops` runs on Keras' TensorFlow backend."""
    previous = using_tensorflow_ops()
    _state.tensorflow = True
    try:
        yield
    finally:
        _state.tensorflow = previous


def backend_name() -> str:
    """The backend `ops` currently runs on."""
    return "tensorflow" if using_tensorflow_ops() else keras.backend.backend()


@functools.lru_cache(maxsize=None)
def _tensorflow_modules() -> tuple[ModuleType, ...]:
    from keras.src.backend import tensorflow as tf_backend

    return (tf_backend.numpy, tf_backend.core, tf_backend.nn, tf_backend.math)


@functools.lru_cache(maxsize=None)
def _tensorflow_op(name: str) -> Any:
    for module in _tensorflow_modules():
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"Keras' TensorFlow backend has no op {name!r}.")


class _Ops:
    """`keras.ops`, or the same names on Keras' TensorFlow backend."""

    def __getattr__(self, name: str) -> Any:
        if using_tensorflow_ops():
            return _tensorflow_op(name)
        return getattr(keras.ops, name)


ops = _Ops()


def tensorflow_backend() -> ModuleType:
    """Keras' TensorFlow backend module (for a TF-side SeedGenerator)."""
    from keras.src.backend import tensorflow as tf_backend

    return tf_backend

