"""Which ops the math runs on, and every private Keras or TensorFlow import.

All of keras_cutmix's math is written against `ops`, a stand-in for
`keras.ops`. Normally it *is* `keras.ops`. Inside a TensorFlow graph while the
Keras backend is JAX or torch (a `tf.data` pipeline, say), JAX or torch ops
cannot touch the symbolic `tf.Tensor`s, so `ops` resolves the same names in
Keras' TensorFlow backend instead, exactly as Keras' own preprocessing layers
(`keras.layers.DataLayer`) do. One implementation, every backend.

Private imports (`keras.src...`, `tensorflow.python...`) live here alone, each
with a fallback or a clear error, so a Keras release that moves one breaks one
function, not the package.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, TypeVar

import keras

_state = threading.local()
F = TypeVar("F", bound=Callable[..., Any])


def _private_keras(what: str, error: Exception) -> ImportError:
    return ImportError(
        f"keras_cutmix needs {what} from Keras {keras.__version__}, which moved or was removed "
        f"({error}). Install a Keras version between 3.8 and the newest one keras_cutmix was tested with."
    )


def in_tensorflow_graph() -> bool:
    """True while tracing a TensorFlow graph (tf.function, tf.data map)."""
    try:
        from keras.src.utils.backend_utils import in_tf_graph
    except ImportError:  # moved: the public TensorFlow test gives the same answer
        tf = sys.modules.get("tensorflow")
        return tf is not None and tf.inside_function()
    return bool(in_tf_graph())


def in_tf_data_function() -> bool:
    """True while tf.data traces a function (`Dataset.map`, `filter`, ...), also nested."""
    tf = sys.modules.get("tensorflow")
    if tf is None or not tf.inside_function():
        return False
    graph = tf.compat.v1.get_default_graph()
    while graph is not None:
        # tf.data names the graphs of its functions "Dataset_<transformation>_<name>".
        if str(getattr(graph, "name", "")).startswith("Dataset_"):
            return True
        graph = getattr(graph, "outer_graph", None)
    return False


def in_xla_context() -> bool:
    """True while tracing a TensorFlow function that XLA will compile."""
    try:
        import tensorflow as tf
        from tensorflow.python.ops import control_flow_util

        return bool(control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))
    except Exception:  # private API moved: callers fall back to what is correct outside XLA
        return False


def in_symbolic_scope() -> bool:
    """True while Keras traces shapes only (`compute_output_spec`, symbolic builds)."""
    try:
        from keras.src.backend.common.symbolic_scope import in_symbolic_scope as keras_in_symbolic_scope
    except ImportError:  # older or newer Keras: treat every call as a real one
        return False
    return bool(keras_in_symbolic_scope())


def no_automatic_dependency_tracking(method: F) -> F:
    """Keras' decorator that keeps attributes set in `method` out of layer tracking."""
    try:
        from keras.src.utils.tracking import no_automatic_dependency_tracking as keras_decorator
    except ImportError as error:
        raise _private_keras("keras.src.utils.tracking.no_automatic_dependency_tracking", error) from error
    return keras_decorator(method)


def compile_config(model: Any) -> dict:
    """The arguments `model.compile` was called with (loss, metrics, ...); {} if unknown."""
    config = getattr(model, "_compile_config", None)  # Keras 3's record of compile()'s arguments
    return dict(getattr(config, "config", None) or {})


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
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(tensor, tf.Tensor)


def using_tensorflow_ops() -> bool:
    return bool(getattr(_state, "tensorflow", False))


@contextlib.contextmanager
def tensorflow_ops() -> Iterator[None]:
    """Within this scope `ops` runs on Keras' TensorFlow backend."""
    previous = using_tensorflow_ops()
    _state.tensorflow = True
    try:
        yield
    finally:
        _state.tensorflow = previous


def using_numpy_ops() -> bool:
    return bool(getattr(_state, "numpy", False))


@contextlib.contextmanager
def numpy_ops() -> Iterator[None]:
    """Within this scope `ops` runs on Keras' NumPy backend: host arrays in, host arrays out.

    For NumPy batches outside any traced function (a grain map, a torch
    DataLoader's collate function): the same math as on every backend, with
    no transfer to a device and no dispatch per op (`host.host_mix`).
    """
    previous = using_numpy_ops()
    _state.numpy = True
    try:
        yield
    finally:
        _state.numpy = previous


@functools.cache
def numpy_backend() -> ModuleType | None:
    """Keras' NumPy backend module, or None where it does not import (it needs JAX for its `nn` ops)."""
    import importlib

    try:
        import keras.src.backend as active
    except ImportError:
        return None
    # `keras.src.backend.numpy` names the active backend's numpy ops, which
    # `keras.ops` calls; importing the NumPy backend package would rebind that
    # name to the package: put it back.
    ops_module = active.__dict__.get("numpy")
    try:
        return importlib.import_module("keras.src.backend.numpy")
    except ImportError:
        return None
    finally:
        if ops_module is not None:
            active.numpy = ops_module


def _numpy_backend_loaded() -> ModuleType:
    np_backend = numpy_backend()
    if np_backend is None:  # `host.applies` checks first: a caller that did not is a bug
        raise RuntimeError("Keras' NumPy backend does not import here (it needs JAX): no NumPy ops.")
    return np_backend


def _numpy_convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None) -> Any:
    """Keras' NumPy `convert_to_tensor`, without its copy of an array that already has the dtype asked for."""
    import numpy as np

    if isinstance(x, np.ndarray) and (dtype is None or keras.backend.standardize_dtype(dtype) == x.dtype.name):
        return x
    return _numpy_backend_loaded().core.convert_to_tensor(x, dtype=dtype, sparse=sparse, ragged=ragged)


def _numpy_cast(x: Any, dtype: Any) -> Any:
    return _numpy_convert_to_tensor(x, dtype=dtype)


@functools.cache
def _numpy_op(name: str) -> Any:
    if name in ("convert_to_tensor", "cast"):
        # The batch passes through several conversions: copying it at each would cost a pass per copy.
        return {"convert_to_tensor": _numpy_convert_to_tensor, "cast": _numpy_cast}[name]
    np_backend = _numpy_backend_loaded()
    for module in (np_backend.numpy, np_backend.core, np_backend.nn, np_backend.math, np_backend):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"Keras' NumPy backend has no op {name!r}.")


def backend_name() -> str:
    """The backend `ops` currently runs on."""
    if using_tensorflow_ops():
        return "tensorflow"
    return "numpy" if using_numpy_ops() else keras.backend.backend()


TENSORFLOW_EXTRA = 'pip install "keras_cutmix[tensorflow]"'


def require_tensorflow(what: str) -> ModuleType:
    """TensorFlow, or an ImportError that says `what` needs it and how to install it.

    keras_cutmix runs on JAX and torch without TensorFlow; only `tf.data`
    pipelines and the TensorFlow backend need it (the `tensorflow` extra).
    """
    try:
        import tensorflow as tf
    except ImportError as error:
        raise ImportError(
            f"{what} needs TensorFlow, which is not installed. keras_cutmix runs on JAX and torch "
            f"without it; for tf.data pipelines or the TensorFlow backend: {TENSORFLOW_EXTRA}."
        ) from error
    return tf


def tensorflow_backend() -> ModuleType:
    """Keras' TensorFlow backend module (for a TF-side SeedGenerator)."""
    require_tensorflow("Mixing inside a tf.data pipeline")
    try:
        from keras.src.backend import tensorflow as tf_backend
    except ImportError as error:
        raise _private_keras("keras.src.backend.tensorflow", error) from error
    return tf_backend


@functools.cache
def _tensorflow_modules() -> tuple[ModuleType, ...]:
    tf_backend = tensorflow_backend()
    return (tf_backend.numpy, tf_backend.core, tf_backend.nn, tf_backend.math)


@functools.cache
def _tensorflow_op(name: str) -> Any:
    for module in _tensorflow_modules():
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"Keras' TensorFlow backend has no op {name!r}.")


class _Ops:
    """`keras.ops`, or the same names on Keras' TensorFlow or NumPy backend."""

    def __getattr__(self, name: str) -> Any:
        if using_tensorflow_ops():
            return _tensorflow_op(name)
        if using_numpy_ops():
            return _numpy_op(name)
        return getattr(keras.ops, name)


ops: Any = _Ops()
