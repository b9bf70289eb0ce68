"""The host path: batches on the host come back on the host; most are mixed in NumPy (issue #18).

A grain map or a torch DataLoader's collate function hands the layer host
arrays (NumPy; CPU tensors on the torch backend) outside any traced
function. On the ops path each batch would be copied to the backend (a JAX
array, a torch tensor), mixed op by op or in one `jax.jit` call, and
copied back for the pipeline. Here the same code, `pipeline.apply_mix`,
runs on Keras' NumPy backend (`_backend.numpy_ops`): the draw is `rng`'s
NumPy Threefry (the same bits as every backend's), the box paste
`mixing._paste_box_numpy` (batch mode: a copy and a slice, or for a large
box the partners gathered and the rest copied back; sample mode: the
partners gathered and the target copied back around the boxes, by rows and
pixels), and NumPy comes out, as grain expects
(CPU tensors in: NumPy views go in, tensors viewing the results come out).
The draw is the layer's: same seed stream, same counter, the same boxes,
weights and labels as the ops path (tests/test_host_path.py, bit for bit).

One rule for every method, layer and function: host data in, host data
out (`kind_of`: NumPy arrays, or CPU torch tensors on the torch backend,
outside any traced or symbolic call), in the dtypes the backend would give
(`canonical`: JAX without x64 holds 64-bit numbers as 32-bit). How the
batch is mixed is a matter of speed only: in NumPy (`mixes_in_numpy`) for
the methods in `methods()` with options whose draw is exact on every
backend (`draws_exactly`: α = 1, uniform box centres, a constant fill),
without bounding boxes, where Keras' NumPy backend imports (its `nn`
module needs JAX); otherwise on the ops path, whose results `as_kind`
brings back to the host.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from keras_cutmix import inputs
from keras_cutmix._backend import (
    in_symbolic_scope,
    in_tensorflow_graph,
    numpy_backend,
    numpy_ops,
    overwriting,
    to_numpy,
    values_known,
)


def _torch_cpu_tensor(value: Any) -> bool:
    """A torch tensor on the CPU that NumPy can view (`_numpy_viewable`), on the torch backend."""
    return keras.backend.backend() == "torch" and _numpy_viewable(value)


def _numpy_viewable(value: Any) -> bool:
    """A torch tensor on the CPU that NumPy can view: no gradient, outside `torch.compile`."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return False
    return (
        value.device.type == "cpu"
        and not value.requires_grad
        and value.dtype != torch.bfloat16  # NumPy has no bfloat16 view of it
        and not torch.compiler.is_compiling()
    )


def _jax_x64() -> bool:
    import jax

    return bool(getattr(jax.config, "jax_enable_x64", False))


# Values that are host data whatever the backend: arrays, scalars, strings.
_HOST_VALUES = (np.ndarray, np.generic, int, float, bool, str)


def _host_leaf(value: Any, torch_in: bool) -> bool:
    """NumPy data (or, when the images are CPU torch tensors, CPU torch tensors): one kind in, the same kind out."""
    if isinstance(value, _HOST_VALUES) or value is None:
        return True
    if torch_in and _torch_cpu_tensor(value):
        return True
    if isinstance(value, dict):
        return all(_host_leaf(v, torch_in) for v in value.values())
    if isinstance(value, (tuple, list)):
        return all(_host_leaf(v, torch_in) for v in value)
    return False


# The methods whose NumPy results are bit for bit those of the ops path
# (tests/test_host_path.py). The others' label weights (and CutMixOrMixUp's
# blended pixels) come out of float32 sums and products that NumPy rounds
# in another order than XLA or torch: last-bit differences, so they keep
# the ops path. So does MixUp's blend on the TensorFlow backend, where it
# runs XLA-compiled (`mixing._fused`: fused multiply-adds).
METHODS = ("CutMix", "MixUp", "Cutout")
XLA_BLENDED = ("MixUp",)


def methods() -> tuple[str, ...]:
    """The methods that take the host path on this Keras backend."""
    if keras.backend.backend() == "tensorflow":
        return tuple(name for name in METHODS if name not in XLA_BLENDED)
    return METHODS


def draws_exactly(options: Any) -> bool:
    """Whether `options`' draw uses only operations every backend rounds alike (+, ×, floor, sqrt: IEEE).

    Beta(α, α) for α ≠ 1 (log, cos, sigmoid), Gaussian box centres, aspect
    ratio ranges and Gaussian-noise fills go through transcendental functions,
    which NumPy rounds differently from XLA or torch in the last bit: those
    options keep the ops path.
    """
    name = type(options).name()
    if getattr(options, "alpha", 1.0) != 1.0:
        return False
    if name == "CutMix":
        return options.box_center == "uniform" and options.box_ratio_range is None
    if name == "Cutout":
        return options.fill_mode == "constant"
    return True


def kind_of(data: dict) -> str | None:
    """ "numpy" or "torch" where `data` (the parts of one call, see `inputs.unpack`) is a batch on the host, else None.

    "numpy": the images are a NumPy array; "torch": a CPU torch tensor NumPy
    can view (torch backend). Every other entry must be of the same kind (or
    NumPy, or a Python value), and the call neither traced (a TF graph) nor
    symbolic (Keras inferring an output spec). The results come back as this
    kind, whichever path mixes them.
    """
    images = data.get(inputs.IMAGES)
    torch_in = _torch_cpu_tensor(images)
    if not (isinstance(images, np.ndarray) or torch_in):
        return None
    if not all(_host_leaf(value, torch_in) for value in data.values()):
        return None
    if in_tensorflow_graph() or in_symbolic_scope():
        return None
    return "torch" if torch_in else "numpy"


def mixes_in_numpy(data: dict, options: Any) -> bool:
    """Whether the host batch `data` (`kind_of` not None) is mixed in NumPy: bit for bit the ops path, faster."""
    return (
        type(options).name() in methods()
        and draws_exactly(options)
        and inputs.BOUNDING_BOXES not in data
        and numpy_backend() is not None
    )


def _narrowed(value: Any) -> Any:
    """A 64-bit NumPy number array as the 32-bit one JAX without x64 would make of it."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu" and value.dtype.itemsize == 8:
        return value.astype(f"{value.dtype.kind}4")
    return value


def _wide(value: Any) -> bool:
    """Whether `value` holds a 64-bit NumPy number array (one head, or heads in a dict or tuple)."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fiu" and value.dtype.itemsize == 8
    if isinstance(value, dict):
        return any(_wide(v) for v in value.values())
    return isinstance(value, (tuple, list)) and any(_wide(v) for v in value)


def canonical(data: dict) -> dict:
    """`data` in the dtypes the backend gives host arrays: JAX without x64 holds 64-bit numbers as 32-bit."""
    if keras.backend.backend() != "jax" or not any(_wide(v) for v in data.values()) or _jax_x64():
        return data
    return keras.tree.map_structure(_narrowed, data)


def as_kind(out: Any, kind: str) -> Any:
    """The ops path's results (backend tensors) as host data of `kind`: NumPy arrays, or CPU torch tensors."""

    def convert(value: Any) -> Any:
        if value is None or isinstance(value, _HOST_VALUES):
            return value
        if kind == "torch":
            return value.cpu()  # the torch backend may have put the batch on an accelerator
        return to_numpy(value)

    return keras.tree.map_structure(convert, out)


def to_numpy_seed(seed: Any) -> Any:
    """A concrete seed (tensor, array, ints) as a NumPy array; None where it is traced (the ops path then)."""
    if seed is None or isinstance(seed, (bool, np.integer, np.ndarray)):
        return seed  # (bool: refused by `sampling.as_seed` as on the ops path)
    if isinstance(seed, int):
        seed = (seed, 0)
    if isinstance(seed, (tuple, list)):
        if len(seed) != 2 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seed):
            return seed  # refused by `sampling.as_seed` as on the ops path
        # Words beyond int32 wrap, as `ops.cast(word, "int32")` does on the ops path.
        return np.array([(int(s) + 2**31) % 2**32 - 2**31 for s in seed], dtype="int32")
    if not values_known(seed):
        return None
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(seed, tf.Tensor):
        return seed.numpy()
    return np.asarray(keras.ops.convert_to_numpy(seed))


def collate(samples: Any, torch_loader: bool = False) -> Any:
    """`samples` stacked into a new batch (`MixLayer.collate`): each numeric part by NumPy, as grain's `.batch()` does.

    NumPy asks the kernel for huge pages for a large array (Linux's default
    transparent huge pages setting, "madvise", gives them only on request),
    torch does not: a new batch costs mostly its page faults. At
    128x224x224x3 float32, 10.5 ms against `default_collate`'s 54 ms
    (benchmarks/README.md, the host path's sixth pass).

    `torch_loader` (a torch DataLoader calls): the parts NumPy cannot stack
    (strings, objects) as `default_collate` collates them; in a DataLoader
    worker the whole batch by `default_collate`, whose CPU tensors are made
    in the shared memory that takes them to the main process without a copy
    (a NumPy batch would be copied there).
    """
    if not isinstance(samples, Sequence) or isinstance(samples, (str, bytes)) or not samples:
        raise ValueError(
            f"`samples` must be a non-empty list of samples (e.g. (image, label) tuples); received {samples!r:.80}."
        )
    if not torch_loader:
        return _map_samples(lambda *parts: np.stack(parts), samples)
    import torch.utils.data

    if torch.utils.data.get_worker_info() is not None:
        return torch.utils.data.default_collate(list(samples))

    def stack(*parts: Any) -> Any:
        return np.stack(parts) if _numpy_stackable(parts[0]) else torch.utils.data.default_collate(list(parts))

    return _map_samples(stack, samples)


def _map_samples(fn: Any, samples: Sequence[Any]) -> Any:
    """`keras.tree.map_structure(fn, *samples)`, with flat tuples and dicts of arrays mapped directly.

    The tree walk costs ~3 µs a sample on the torch backend (its pytree),
    0.2 ms of a 64-sample batch whose stacking takes 0.3.
    """
    first = samples[0]
    flat = type(first) in (tuple, list, dict) and not any(
        isinstance(part, (tuple, list, dict)) for part in (first.values() if isinstance(first, dict) else first)
    )
    if flat and all(type(sample) is type(first) and len(sample) == len(first) for sample in samples):
        if not isinstance(first, dict):
            return type(first)(fn(*parts) for parts in zip(*samples))
        if all(sample.keys() == first.keys() for sample in samples):
            return {key: fn(*(sample[key] for sample in samples)) for key in first}
    return keras.tree.map_structure(fn, *samples)  # nested parts; and what differs, it says how


def _numpy_stackable(value: Any) -> bool:
    """A number, a numeric NumPy array, or a CPU torch tensor NumPy can view."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype.kind in "biufc"
    return isinstance(value, (bool, int, float, complex)) or _numpy_viewable(value)


def called_by_torch_loader(frame: Any, depth: int = 4) -> bool:
    """Whether `frame` or one of the `depth` frames above it is torch's DataLoader (its fetcher calls `collate_fn`).

    Keras fits on a torch DataLoader's batches only as torch tensors (its
    adapter calls `.cpu()` on each), whatever the backend.
    """
    while frame is not None and depth > 0:
        if frame.f_globals.get("__name__", "").startswith("torch.utils.data"):
            return True
        frame, depth = frame.f_back, depth - 1
    return False


def as_numpy_views(data: Any) -> tuple[Any, Callable[[Any], Any]]:
    """`data` with each CPU torch tensor NumPy can view as that view (no copy), and the way back to tensors.

    The way back makes each NumPy array of a result a CPU tensor: a view made
    here is its own tensor again (a DataLoader worker's batch, mixed in
    place, stays in the shared memory `default_collate` made it in), any
    other array a tensor viewing it.
    """
    tensors: dict[int, tuple[np.ndarray, Any]] = {}  # id of a view: (the view, its tensor)

    def view(value: Any) -> Any:
        if not _numpy_viewable(value):
            return value
        array = value.numpy()
        tensors[id(array)] = (array, value)
        return array

    def back(out: Any) -> Any:
        import torch

        def tensor(value: Any) -> Any:
            if not isinstance(value, np.ndarray):
                return value
            array, original = tensors.get(id(value), (None, None))
            return original if array is value else torch.from_numpy(value)

        return keras.tree.map_structure(tensor, out)

    return keras.tree.map_structure(view, data), back


def mix(
    data: dict, seed: Any, options: Any, training: bool = True, probability: Any = None, overwrite: bool = False
) -> dict:
    """`pipeline.apply_mix` on Keras' NumPy backend: host data in, host data out (`seed` concrete, see `to_numpy_seed`).

    For a host batch that `mixes_in_numpy`; the caller keeps the ops path for
    the others. `overwrite`: the images and segmentation masks are the
    caller's own new arrays (`MixLayer.collate`), and may be mixed in place.
    """
    from keras_cutmix.pipeline import apply_mix

    if probability is not None and not isinstance(probability, (int, float)):
        probability = np.asarray(keras.ops.convert_to_numpy(probability))
    torch_in = _torch_cpu_tensor(data[inputs.IMAGES])
    if torch_in:  # CPU tensors out, as they came
        data, to_tensors = as_numpy_views(data)
    data = canonical(data)
    overwritable = [data[key] for key in (inputs.IMAGES, inputs.SEGMENTATION_MASKS) if overwrite and key in data]
    with numpy_ops(), overwriting(overwritable):
        out = apply_mix(data, seed, options, training=training, probability=probability)
    return to_tensors(out) if torch_in else out
