"""`apply_mix`: the one path every layer, function and model runs.

inputs → checks → dense labels → one draw (`options.sample`) → each target
transformed by the method (`options.transform_*`). On eager JAX the draw and
the transforms run as one compiled call (`_compiled.compiled_mix`).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from keras_cutmix import host, inputs, labels, sampling
from keras_cutmix._backend import dtype_name, ops, ops_for
from keras_cutmix._compiled import compiled_mix
from keras_cutmix.methods.base import MixOptions
from keras_cutmix.sampling import MixParams


def to_tensor(x: Any, key: str = inputs.IMAGES) -> Any:
    """A backend tensor (label heads and dicts: each of their tensors), rejecting non-numeric data clearly."""
    if key != inputs.LABELS and not isinstance(x, dict):
        return _to_tensor(x, key)
    return inputs.map_heads(lambda name, value: _to_tensor(value, key if name is None else f"{key}[{name!r}]"), x)


def _to_tensor(x: Any, key: str) -> Any:
    if isinstance(x, keras.KerasTensor):
        return x
    if not hasattr(x, "dtype") or isinstance(x, np.ndarray):
        # Host data (NumPy, lists): reject strings and objects before a
        # backend does, with its own unclear message.
        array = np.asarray(x)
        if array.dtype.kind in "OSU":  # objects (None, ragged lists), bytes, str; ml_dtypes (bfloat16) are "V"
            raise ValueError(
                f"`{key}` must be a numeric array (images: any integer, float or bool dtype; labels: integer "
                f"class ids or floats); received {type(x).__name__} of dtype {array.dtype}"
                + (f" and shape {array.shape}." if array.shape else f": {x!r}.")
            )
    tensor = ops.convert_to_tensor(x)
    dtype = dtype_name(tensor.dtype)
    if dtype == "string":
        raise ValueError(f"`{key}` must be a numeric tensor; received dtype {dtype} (shape {tuple(tensor.shape)}).")
    return tensor


def mix_targets(data: dict, params: MixParams, options: MixOptions) -> dict:
    """Apply one draw to every target of a batch (labels already dense)."""
    out = dict(data)
    images = data[inputs.IMAGES]
    out[inputs.IMAGES] = options.transform_images(images, params)
    if inputs.SEGMENTATION_MASKS in data:
        out[inputs.SEGMENTATION_MASKS] = options.transform_segmentation_masks(data[inputs.SEGMENTATION_MASKS], params)
    if inputs.BOUNDING_BOXES in data:
        height, width = inputs.spatial_size(images, options.data_format)
        out[inputs.BOUNDING_BOXES] = options.transform_bounding_boxes(
            data[inputs.BOUNDING_BOXES], params, height, width
        )
    if inputs.LABELS in data:
        out[inputs.LABELS] = options.transform_labels(data[inputs.LABELS], params)
    return out


def apply_mix(data: dict, seed: Any, options: MixOptions, training: bool = True, probability: Any = None) -> dict:
    """Mix the parts of `data` (keys from `inputs.KNOWN_KEYS`) as `options` say.

    `seed` is a (2,) int tensor; the whole draw is a pure function of it (and
    of `probability`, a float or scalar tensor, by default the options').
    Outside training, and for a single unbatched image, pixels are untouched
    but labels are still made dense (one-hot, smoothed), so training and
    validation batches have the same structure.
    """
    data = {key: to_tensor(value, key) for key, value in data.items()}
    inputs.check_inputs(data, options)
    images = data[inputs.IMAGES]
    batched = len(images.shape) == 4
    if batched:  # batch sizes unknown when tracing: asserted when the graph runs
        data = inputs.assert_same_batch(data, inputs.PER_SAMPLE_KEYS)
    out = dict(data)
    if inputs.LABELS in data:
        out[inputs.LABELS] = labels.prepare_labels(
            data[inputs.LABELS],
            batched=batched,
            num_classes=options.num_classes,
            label_smoothing=options.label_smoothing,
        )
    probability = options.probability if probability is None else probability
    if not batched or not training or (isinstance(probability, float) and probability == 0.0):
        return out
    compiled = compiled_mix(options, images)
    if compiled is not None:
        return compiled(out, sampling.as_seed(seed), probability)
    return draw_and_mix(out, seed, probability, options)


def draw_and_mix(data: dict, seed: Any, probability: Any, options: MixOptions) -> dict:
    """One draw from `seed` applied to every target of a batch (labels already dense)."""
    batch_size, height, width = inputs.spatial_dims(data[inputs.IMAGES], options.data_format)
    params = options.sample(seed, batch_size, height, width, probability)
    return mix_targets(data, params, options)


def run_functional(options: MixOptions, images: Any, labels: Any, sample_weight: Any, seed: Any, training: bool) -> Any:
    """The functional entry points: call forms in and out, TF ops in TF graphs."""
    data, repack = inputs.unpack(images, labels, sample_weight)
    kind = host.kind_of(data)  # host data comes back as host data (keras_cutmix.host)
    host_seed = host.to_numpy_seed(seed) if kind is not None and training else None
    if training and seed is not None and host_seed is None:
        kind = None  # a traced seed (inside jax.jit, say): the ops path, traced results
    if kind is not None and host.mixes_in_numpy(data, options):
        return repack(host.mix(data, host_seed, options, training))
    with ops_for(data[inputs.IMAGES]):
        out = repack(apply_mix(data, seed if training else None, options, training))
    return out if kind is None else host.as_kind(out, kind)
