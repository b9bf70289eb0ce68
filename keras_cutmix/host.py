"""The host path: NumPy batches mixed in NumPy, returned as NumPy (issue #18).

A grain map or a torch DataLoader's collate function hands the layer host
arrays (NumPy; CPU tensors on the torch backend) outside any traced
function. On the ops path each batch would be copied to the backend (a JAX
array, a torch tensor), mixed op by op or in one `jax.jit` call, and
copied back for the pipeline. Here the same code, `pipeline.apply_mix`,
runs on Keras' NumPy backend (`_backend.numpy_ops`): the draw is `rng`'s
NumPy Threefry (the same bits as every backend's), the box paste
`mixing._paste_box_numpy` (batch mode: a copy and a slice; sample mode: a
copy and one masked `np.copyto`), and NumPy comes out, as grain expects
(CPU tensors in: NumPy views go in, tensors viewing the results come out).
The draw is the layer's: same seed stream, same counter, the same boxes,
weights and labels as the ops path (tests/test_host_path.py, bit for bit).

It applies to the methods in `methods()`, with options whose draw is exact
on every backend (`draws_exactly`: α = 1, uniform box centres, a constant
fill), when the images are a NumPy array (or a CPU tensor on torch), no
entry is a tensor of another framework or device, the seed is concrete
(not traced), and Keras' NumPy backend imports (its `nn` module needs JAX;
without it the ops path runs). Bounding boxes take the ops path.
"""

from __future__ import annotations

import sys
from typing import Any

import keras
import numpy as np

from keras_cutmix import inputs
from keras_cutmix._backend import in_tensorflow_graph, numpy_backend, numpy_ops, values_known


def _torch_cpu_tensor(value: Any) -> bool:
    """A torch tensor on the CPU that NumPy can view: no gradient, outside `torch.compile` (torch backend only)."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor) or keras.backend.backend() != "torch":
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


def _host_leaf(value: Any, torch_in: bool) -> bool:
    """NumPy data (or, when the images are CPU torch tensors, CPU torch tensors): one kind in, the same kind out."""
    if isinstance(value, (np.ndarray, np.generic, int, float, bool)) or value is None:
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


def applies(data: dict, options: Any) -> bool:
    """Whether `data` (the parts of one call, see `inputs.unpack`) takes the host path for `options`' method."""
    if type(options).name() not in methods() or not draws_exactly(options):
        return False
    images = data.get(inputs.IMAGES)
    torch_in = _torch_cpu_tensor(images)
    if not (isinstance(images, np.ndarray) or torch_in) or inputs.BOUNDING_BOXES in data:
        return False
    if keras.backend.backend() == "jax" and not _jax_x64():
        # JAX without x64 holds 64-bit pixels as 32-bit: the ops path's dtypes, not NumPy's, are the answer there.
        kept = (images, data.get(inputs.SEGMENTATION_MASKS))
        if any(getattr(getattr(x, "dtype", None), "itemsize", 0) == 8 for x in kept):
            return False
    if not all(_host_leaf(value, torch_in) for value in data.values()):
        return False
    return not in_tensorflow_graph() and numpy_backend() is not None


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


def mix(data: dict, seed: Any, options: Any, training: bool = True, probability: Any = None) -> dict:
    """`pipeline.apply_mix` on Keras' NumPy backend: NumPy in, NumPy out (`seed` concrete, see `to_numpy_seed`)."""
    from keras_cutmix.pipeline import apply_mix

    if probability is not None and not isinstance(probability, (int, float)):
        probability = np.asarray(keras.ops.convert_to_numpy(probability))
    torch_in = _torch_cpu_tensor(data[inputs.IMAGES])
    if torch_in:  # NumPy views of the CPU tensors (no copy)
        data = keras.tree.map_structure(lambda x: x.numpy() if _torch_cpu_tensor(x) else x, data)
    with numpy_ops():
        out = apply_mix(data, seed, options, training=training, probability=probability)
    if torch_in:  # CPU tensors out, as they came (views of the NumPy results)
        import torch

        out = keras.tree.map_structure(lambda x: torch.from_numpy(x) if isinstance(x, np.ndarray) else x, out)
    return out
