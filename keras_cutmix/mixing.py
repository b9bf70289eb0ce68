"""Pixel kernels: paste a box, blend two images.

They serve images, segmentation masks and feature maps alike. Pasted pixels
only ever go through `where`, so every dtype (uint8, float16, bfloat16,
integer masks) comes back as it went in; blends of integer data are rounded
back to their dtype.
"""

from __future__ import annotations

import functools
from typing import Any

import keras

from keras_cutmix._backend import backend_name, in_xla_context, ops, tensorflow_ops
from keras_cutmix.masks import box_mask


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


INTERPOLATIONS = ("bilinear", "nearest")


def paste_resized(target: Any, partner: Any, box: tuple, interpolation: str, data_format: str) -> Any:
    """`target` with each box [top, bottom) × [left, right) showing the whole partner image, resized.

    ResizeMix's paste. Output pixel (y, x) of a box of h × w reads the partner
    at ((y − top + ½)·H/h − ½, (x − left + ½)·W/w − ½), with half-pixel centres
    as `keras.ops.image.resize` (no antialiasing): the nearest pixel, or the
    bilinear blend of the four around it, computed in float32 and cast back
    (integers rounded). All boxes at once, by gathering each output pixel's
    sources: no loop over samples. Targets (B, H, W) are masks: nearest only.
    """
    channels_first = data_format == "channels_first" and len(target.shape) == 4
    x = ops.transpose(target, (0, 2, 3, 1)) if channels_first else target
    rank3 = len(x.shape) == 3
    x = x[..., None] if rank3 else x
    shape = ops.shape(x)
    height, width, channels = shape[1], shape[2], shape[3]
    top, bottom, left, right = box
    rows = _source_coordinates(top, bottom, height)  # (n, H)
    cols = _source_coordinates(left, right, width)  # (n, W)
    flat = ops.reshape(x, (-1, channels))
    base = ops.cast(partner, "int32")[:, None, None] * height  # (B, 1, 1)

    def gather(r: Any, c: Any) -> Any:
        index = (base + r[:, :, None]) * width + c[:, None, :]  # (B, H, W)
        return ops.take(flat, ops.reshape(index, (-1,)), axis=0)

    out_shape = ops.shape(x)
    if interpolation == "nearest" or rank3:
        nearest = lambda coords, size: ops.clip(ops.cast(ops.floor(coords + 0.5), "int32"), 0, size - 1)  # noqa: E731
        resized = gather(nearest(rows, height), nearest(cols, width))
    else:
        (r0, r1, fr), (c0, c1, fc) = _neighbours(rows, height), _neighbours(cols, width)
        fr = ops.reshape(ops.broadcast_to(fr[:, :, None], (shape[0], height, width)), (-1, 1))
        fc = ops.reshape(ops.broadcast_to(fc[:, None, :], (shape[0], height, width)), (-1, 1))
        value = lambda r, c: ops.cast(gather(r, c), "float32")  # noqa: E731
        upper = value(r0, c0) * (1.0 - fc) + value(r0, c1) * fc
        lower = value(r1, c0) * (1.0 - fc) + value(r1, c1) * fc
        blended = upper * (1.0 - fr) + lower * fr
        dtype = keras.backend.standardize_dtype(x.dtype)
        if not keras.backend.is_float_dtype(dtype):
            blended = ops.round(blended)
        resized = ops.cast(blended, x.dtype)
    resized = ops.reshape(resized, out_shape)
    inside = box_mask(top, bottom, left, right, height, width)[:, :, :, None]
    out = ops.where(inside, resized, x)
    out = out[..., 0] if rank3 else out
    return ops.transpose(out, (0, 3, 1, 2)) if channels_first else out


def _source_coordinates(start: Any, end: Any, size: Any) -> Any:
    """(n, size) partner coordinates of each output row (or column) of the box [start, end)."""
    length = ops.cast(ops.maximum(end - start, 1), "float32")[:, None]
    out = ops.cast(ops.arange(size, dtype="int32")[None, :] - start[:, None], "float32")
    return (out + 0.5) * (ops.cast(size, "float32") / length) - 0.5


def _neighbours(coords: Any, size: Any) -> tuple[Any, Any, Any]:
    """The two pixels around each coordinate (clipped to the image) and the weight of the second."""
    below = ops.floor(coords)
    weight = coords - below
    first = ops.clip(ops.cast(below, "int32"), 0, size - 1)
    second = ops.clip(ops.cast(below, "int32") + 1, 0, size - 1)
    return first, second, weight
