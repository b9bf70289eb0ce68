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

Also here, as they ask the backend where they run: when values can be read
(`values_known`) or asserted on (`graph_asserts`, `asserted`), for the value
checks of `labels` and `inputs`.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from types import ModuleType
from typing import Any, TypeVar

import keras
import numpy as np

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


@contextlib.contextmanager
def ops_for(*tensors: Any) -> Iterator[bool]:
    """Within this scope `ops` runs on Keras' TensorFlow backend if any of `tensors` needs it; yields whether.

    The one routing of the entry points (layers, functions, box transforms):
    a TensorFlow graph (`tf.data`) or an eager `tf.Tensor` under the JAX or
    torch backend (`needs_tensorflow_ops`) runs the same math on TF ops.
    """
    if any(needs_tensorflow_ops(tensor) for tensor in tensors):
        with tensorflow_ops():
            yield True
    else:
        yield False


def using_numpy_ops() -> bool:
    return bool(getattr(_state, "numpy", False))


@contextlib.contextmanager
def numpy_ops() -> Iterator[None]:
    """Within this scope `ops` runs on Keras' NumPy backend: host arrays in, host arrays out.

    For NumPy batches outside any traced function (a grain map, a torch
    DataLoader's collate function): the same math as on every backend, with
    no transfer to a device and no dispatch per op (`host.mix`).
    """
    previous = using_numpy_ops()
    _state.numpy = True
    try:
        yield
    finally:
        _state.numpy = previous


@contextlib.contextmanager
def overwriting(arrays: Iterable[Any]) -> Iterator[None]:
    """Within this scope the host paste may write the batch into these NumPy arrays instead of a copy.

    For arrays no one else holds: a batch that `MixLayer.collate` has just
    made. A torch DataLoader worker sends such a batch to the main process
    through shared memory without a copy (default_collate allocates it there);
    a new array would be copied into shared memory first.
    """
    previous = getattr(_state, "overwritable", ())
    _state.overwritable = tuple(arrays)
    try:
        yield
    finally:
        _state.overwritable = previous


def may_overwrite(array: Any) -> bool:
    """Whether `array` is one that `overwriting` named (by identity: a cast or a view of it is not)."""
    return any(array is named for named in getattr(_state, "overwritable", ()))


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
    if np_backend is None:  # `host.mixes_in_numpy` checks first: a caller that did not is a bug
        raise RuntimeError("Keras' NumPy backend does not import here (it needs JAX): no NumPy ops.")
    return np_backend


@functools.lru_cache(maxsize=64)
def _dtype_name(dtype: Any) -> str:
    return keras.backend.standardize_dtype(dtype)


def dtype_name(dtype: Any) -> str:
    """`keras.backend.standardize_dtype`, remembered per dtype (~3–10 µs a call, several per mixing call)."""
    if dtype is None:  # the float type of the moment (`keras.config.floatx`): not remembered
        return keras.backend.standardize_dtype(dtype)
    try:
        return _dtype_name(dtype)
    except TypeError:  # unhashable
        return keras.backend.standardize_dtype(dtype)


def _numpy_convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None) -> Any:
    """Keras' NumPy `convert_to_tensor`, without its copy of an array that already has the dtype asked for."""
    name = None if dtype is None else dtype_name(dtype)
    if isinstance(x, np.ndarray) and (name is None or name == dtype_name(x.dtype)):
        return x
    number = type(x) in (int, float, bool) or isinstance(x, (np.ndarray, np.generic))
    # (NumPy has no bfloat16 by that name: Keras' conversion makes it.)
    if number and name not in (None, "bfloat16") and not sparse and not ragged:
        return np.array(x, dtype=name)  # what Keras' conversion does, without its checks
    return _numpy_backend_loaded().core.convert_to_tensor(x, dtype=dtype, sparse=sparse, ragged=ragged)


def _numpy_cast(x: Any, dtype: Any) -> Any:
    return _numpy_convert_to_tensor(x, dtype=dtype)


# Keras' NumPy ops convert and promote their arguments at every call (tens of µs: most of a host
# draw's time). Where nothing is to promote, NumPy's own function gives the same array: every
# argument an integer or float array (or NumPy scalar) of one dtype, or a Python number that both
# Keras and NumPy take at that dtype (an int in its range, or a float with a float array).
_SAME_DTYPE_OPS: dict[str, tuple[Callable[..., Any], str]] = {
    # name: (NumPy function, the dtype kinds it takes as Keras does; floor and sqrt of integers give floats)
    "minimum": (np.minimum, "iuf"),
    "maximum": (np.maximum, "iuf"),
    "floor": (np.floor, "f"),
    "sqrt": (np.sqrt, "f"),
}


def _one_dtype(args: tuple, kinds: str) -> bool:
    first = args[0]
    if not isinstance(first, (np.ndarray, np.generic)) or first.dtype.kind not in kinds:
        return False
    for arg in args[1:]:
        if isinstance(arg, (np.ndarray, np.generic)):
            if arg.dtype != first.dtype:
                return False
        elif type(arg) is int:
            if first.dtype.kind in "iu":
                low, high = _int_range(first.dtype)
                if not low <= arg <= high:
                    return False
        elif type(arg) is not float or first.dtype.kind != "f":
            return False
    return True


@functools.lru_cache(maxsize=16)
def _int_range(dtype: np.dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _same_dtype_op(function: Callable[..., Any], kinds: str, keras_op: Callable[..., Any]) -> Callable[..., Any]:
    def op(*args: Any, **kwargs: Any) -> Any:
        if not kwargs and _one_dtype(args, kinds):
            return function(*args)
        return keras_op(*args, **kwargs)

    return op


def _numpy_where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """Keras' NumPy `where`, without its conversions where both branches are arrays of one dtype."""
    if (
        isinstance(condition, np.ndarray)
        and condition.dtype == bool
        and isinstance(x1, np.ndarray)
        and isinstance(x2, np.ndarray)
        and x1.dtype == x2.dtype
    ):
        return np.where(condition, x1, x2)
    return _numpy_backend_loaded().numpy.where(condition, x1, x2)


def _numpy_unstack(x: Any, num: Any = None, axis: int = 0) -> Any:
    """Keras' NumPy `unstack`: the views x[0], x[1], …; along axis 0 without its `moveaxis`."""
    if isinstance(x, np.ndarray) and axis == 0:
        return list(x)
    return _numpy_backend_loaded().core.unstack(x, num=num, axis=axis)


def _numpy_roll(x: Any, shift: Any, axis: Any = None) -> Any:
    """Keras' NumPy `roll` (`np.roll`); a 1-D array by an int shift as two slices (np.roll: ~10 µs)."""
    if isinstance(x, np.ndarray) and x.ndim == 1 and type(shift) is int and axis in (None, 0) and len(x):
        split = -shift % len(x)
        return np.concatenate((x[split:], x[:split]))
    return np.roll(x, shift, axis=axis)


def _numpy_scatter(indices: Any, values: Any, shape: Any) -> Any:
    """Keras' NumPy `scatter` (duplicates add up), without its conversions of arrays."""
    if not (isinstance(indices, np.ndarray) and isinstance(values, np.ndarray)):
        return _numpy_backend_loaded().core.scatter(indices, values, shape)
    zeros = np.zeros(shape, dtype=values.dtype)
    depth = indices.shape[-1]
    np.add.at(zeros, tuple(indices.reshape(-1, depth).T), values.reshape((-1, *shape[depth:])))
    return zeros


def _numpy_one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> Any:
    """Keras' NumPy `one_hot` (negative ids give zero rows), without its conversion of an integer array."""
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "iu" or not num_classes or axis != -1 or sparse:
        return _numpy_backend_loaded().nn.one_hot(x, num_classes, axis=axis, dtype=dtype, sparse=sparse)
    flat = x.reshape(-1)
    categorical = np.zeros((flat.shape[0], num_classes), dtype=dtype_name(dtype or "float32"))
    valid = flat >= 0
    categorical[np.arange(flat.shape[0])[valid], flat[valid]] = 1
    return categorical.reshape(x.shape + (num_classes,))


# Ops whose Keras NumPy versions convert arguments that are already arrays (`convert_to_tensor`:
# a dtype lattice, a copy) or take a slow general route: the same results, without that.
_NUMPY_SHORTCUTS: dict[str, Callable[..., Any]] = {
    # The batch passes through several conversions (copying it at each would cost a pass per
    # copy), and `where` selects between whole batches: neither converts what needs nothing.
    "convert_to_tensor": _numpy_convert_to_tensor,
    "cast": _numpy_cast,
    "where": _numpy_where,
    "unstack": _numpy_unstack,
    "roll": _numpy_roll,
    "scatter": _numpy_scatter,
    "one_hot": _numpy_one_hot,
}


@functools.cache
def _numpy_op(name: str) -> Any:
    if name in _NUMPY_SHORTCUTS:
        return _NUMPY_SHORTCUTS[name]
    np_backend = _numpy_backend_loaded()
    for module in (np_backend.numpy, np_backend.core, np_backend.nn, np_backend.math, np_backend):
        if hasattr(module, name):
            op = getattr(module, name)
            return _same_dtype_op(*_SAME_DTYPE_OPS[name], op) if name in _SAME_DTYPE_OPS else op
    raise AttributeError(f"Keras' NumPy backend has no op {name!r}.")


def backend_name() -> str:
    """The backend `ops` currently runs on."""
    if using_tensorflow_ops():
        return "tensorflow"
    return "numpy" if using_numpy_ops() else keras.backend.backend()


# ---------------------------------------------------------------------------
# Value checks: where values can be read, and where a graph can assert on them
#
# - eager (NumPy, TF eager tensors, concrete JAX arrays, torch tensors outside
#   `torch.compile`): the small tensors (B ids, B×K labels) are read and a
#   `ValueError` names the bad values;
# - a TensorFlow graph that XLA does not compile (`tf.data`, `tf.function`,
#   Keras' TF `fit` without `jit_compile`): an `Assert` op on the same
#   condition fails the batch with `InvalidArgumentError` when it runs;
# - traced without asserts (JAX `jit`, `jit_compile=True`, `torch.compile`):
#   no check. Only tensors of B or B×K elements are read, never images.


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


def asserted(condition: Any, message: str, shown: Any, guarded: Any, summarize: int = 20) -> Any:
    """`guarded`, run only after a TensorFlow `Assert` of `condition` (graphs where `graph_asserts()`)."""
    import tensorflow as tf

    # The Assert op itself: `tf.debugging.Assert` wraps it in a `cond`, an If
    # node with two branch functions that a fresh tf.data iterator
    # instantiates again every epoch (benchmarks/README.md). Same error.
    check = tf.raw_ops.Assert(condition=condition, data=[message, shown], summarize=summarize)
    with tf.control_dependencies([check]):
        return tf.identity(guarded)


def to_numpy(x: Any) -> np.ndarray:
    """The values of a tensor whose `values_known`, as a NumPy array."""
    return np.asarray(ops.convert_to_numpy(x))


# ---------------------------------------------------------------------------
# Compiled functions, made once

_compiled: dict[tuple, Callable[..., Any]] = {}


def compiled(compiler: str, key: Hashable, function: Callable[..., Any], **options: Any) -> Callable[..., Any]:
    """`function` compiled by `compiler`, once per (compiler, key, options), then taken from the cache.

    - "tensorflow": a `tf.function` (autograph off) that traces `function`
      with TensorFlow ops, also when the Keras backend is JAX or torch (a
      `tf.data` pipeline); options: `jit_compile`, `reduce_retracing`.
    - "jax": `jax.jit(function, **options)` (`static_argnums`, ...).

    `key` names what `function` computes: one key, one function. A key that
    cannot be hashed raises TypeError; key None compiles afresh, uncached.
    """
    if key is None:
        return _compile(compiler, function, options)
    cache_key = (compiler, key, tuple(sorted(options.items())))
    function_found = _compiled.get(cache_key)
    if function_found is None:
        function_found = _compiled[cache_key] = _compile(compiler, function, options)
    return function_found


def _compile(compiler: str, function: Callable[..., Any], options: dict) -> Callable[..., Any]:
    if compiler == "jax":
        import jax

        return jax.jit(function, **options)
    if compiler != "tensorflow":
        raise ValueError(f"`compiler` must be 'tensorflow' or 'jax'. Received: compiler={compiler!r}")
    import tensorflow as tf

    def run(*args: Any) -> Any:
        with tensorflow_ops():  # TensorFlow tensors, whatever the Keras backend
            return function(*args)

    return tf.function(run, autograph=False, **options)


# ---------------------------------------------------------------------------
# Private attributes of Keras objects


def layer_call_outputs(layer: Any) -> list:
    """The first output of each call of `layer` in a functional graph, oldest first.

    Keras keeps a layer's calls as its private `_inbound_nodes`; where it
    no longer does, the public `output` (the layer's single call) is used.
    """
    nodes = getattr(layer, "_inbound_nodes", None)
    if nodes is None:
        return [layer.output]
    return [node.outputs[0] for node in nodes]


def take_inputs_as_given(layer: Any) -> None:
    """Keep Keras' `Layer.__call__` from converting `layer`'s inputs, and let it take non-tensors positionally.

    Keras' private switches `_convert_input_args` (off: no cast of uint8 or
    float16 inputs to the compute dtype) and `_allow_non_tensor_positional_args`
    (on: labels, sample weights or Python lists positionally). A Keras that
    has neither calls the layer as it calls its own.
    """
    for name, value in (("_convert_input_args", False), ("_allow_non_tensor_positional_args", True)):
        if hasattr(layer, name):
            setattr(layer, name, value)


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
        scope = _state.__dict__  # this thread's flags, read once (every op of a draw comes through here)
        if scope.get("tensorflow"):
            return _tensorflow_op(name)
        if scope.get("numpy"):
            return _numpy_op(name)
        return getattr(keras.ops, name)


ops: Any = _Ops()
