"""Pixel kernels: paste a box, blend two images.

They serve images, segmentation masks and feature maps alike. Pasted pixels
only ever go through `where`, so every dtype (uint8, float16, bfloat16,
integer masks) comes back as it went in; blends of integer data are rounded
back to their dtype.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import keras
import numpy as np

from keras_cutmix._backend import backend_name, compiled, dtype_name, in_xla_context, may_overwrite, ops
from keras_cutmix.inputs import spatial_size
from keras_cutmix.masks import box_mask, mask_for


def paste_box(target: Any, source: Any, box: tuple, data_format: str | None, partner: Any = None) -> Any:
    """`target` with each box [top, bottom) × [left, right) from `source` (or `source[partner]`).

    `box` holds four (n,) int tensors, n = 1 (one box for the batch) or B.
    `source` is a scalar fill value (Cutout), a tensor of `target`'s shape,
    or, with `partner` (B,) given, the images whose pixels each sample takes
    (CutMix: `source` is `target` itself). Targets are (B, H, W) masks or (B, H, W, C)
    / (B, C, H, W) images and feature maps, per `data_format`.

    The box is never a mask over pixels: a row test (n, H) and a column test
    (n, W) select in turn, `where(rows, where(cols, source, target), target)`,
    on a view in which each row of an image is one contiguous run (for
    channels_last, (B, H, W·C), the columns scaled by C). Compiled as one
    loop (XLA; on TensorFlow see `_fused`), that is one vectorized pass, like
    a copy, reading each output value where it lies (the partner's in place,
    no gathered copy of the batch). The two tests are computed before the
    compiled loop and handed to it: fused into it, they would be recomputed
    in int32 for every value (benchmarks/README.md).

    Eager torch runs each op on its own, where the nested selects would be two
    passes: it builds the (n, H, W) mask and takes one `where` instead; the
    pixels are the same. With one box for the batch (batch mode) on the CPU
    it copies the batch and the partners' box region instead
    (`_paste_one_box_torch`): torch's CPU `where` costs ~5 ns per value, a
    copy a fraction of that (benchmarks/README.md).
    """
    layout = _layout(target, data_format)
    shape = tuple(getattr(source, "shape", ()))
    if partner is None and shape and not _same_shape(shape, tuple(target.shape)):
        raise ValueError(
            f"`source` must be a scalar or have the target's shape {tuple(target.shape)}; received shape {shape}."
        )
    if backend_name() == "numpy":
        return _paste_box_numpy(target, source, box, partner, layout)
    if backend_name() == "torch":
        if partner is not None and _one_host_box(box, target):
            return _paste_one_box_torch(target, source, box, partner, layout)
        height, width = spatial_size(target, data_format)
        top, bottom, left, right = (ops.convert_to_tensor(v) for v in box)
        mask = mask_for(target, box_mask(top, bottom, left, right, height, width), data_format)
        return paste(target, source, mask) if partner is None else paste_from(target, partner, mask, source=source)
    in_rows, in_cols = _box_tests(box, layout, ops.shape(target))
    if partner is not None:
        return _fused(_paste_partners_box, layout, in_rows, in_cols, source, partner, target)
    if shape:
        return _fused(_paste_source_box, layout, in_rows, in_cols, source, target)
    return _fused(_fill_box, layout, in_rows, in_cols, source, target)


def _one_host_box(box: tuple, target: Any) -> bool:
    """One box for the whole batch, as concrete CPU tensors, outside `torch.compile`."""
    import torch

    top = box[0]
    if not isinstance(top, torch.Tensor) or tuple(top.shape) != (1,) or torch.compiler.is_compiling():
        return False
    return top.device.type == "cpu" and isinstance(target, torch.Tensor) and target.device.type == "cpu"


def _paste_one_box_torch(target: Any, source: Any, box: tuple, partner: Any, layout: str) -> Any:
    """`paste_box` with one box for the batch on torch's CPU: a copy, then the partners' box region.

    The same pixels as the `where` of the general path: `target` everywhere
    but in [top, bottom) × [left, right), where sample i shows `source[partner[i]]`.
    """
    top, bottom, left, right = (int(v[0]) for v in box)
    out = target.clone()
    if top >= bottom or left >= right:
        return out
    region: tuple = (slice(top, bottom), slice(left, right))
    if layout == "channels_first":
        region = (slice(None), *region)
    partner = ops.convert_to_tensor(partner).long()
    out[(slice(None),) + region] = source[(partner,) + region]
    return out


def _paste_box_numpy(target: Any, source: Any, box: tuple, partner: Any, layout: str) -> np.ndarray:
    """`paste_box` on host arrays (`_backend.numpy_ops`): the same pixels, in the fewest passes over the batch.

    One box for the batch (batch mode): a copy, then the box region from
    `source` (the partners' region, gathered by slicing: read, then written,
    two passes over the box); for a box over a third of the image, whole
    partner images gathered, then the target's pixels around the box copied
    back (one pass, plus one over the rest: 2 − a passes against 1 + 2a for a
    box of share a; at 64x96x96x3 float32 and a = 0.6, 0.40 ms against 0.59
    ms, a copy 0.19 ms, benchmarks/README.md). A box per sample: the
    partners gathered, then the target copied around the boxes
    (`_copy_by_boxes`: whole rows, then the pixels beside each box);
    channels_first, and sources that are not the partners, under a
    full-size boolean mask of the boxes (the row test and the column test,
    as `_box_tests` makes them, on the (B, H, W·C) view of channels_last):
    a mask that broadcasts over channels would send NumPy to its slow
    broadcasting loop (~7x a copy at 224x224). No loop over samples either way.

    Where `target` may be overwritten (`_backend.overwriting`: a batch that
    `MixLayer.collate` made), the boxes are written into it instead of a
    copy: the box regions from the partners (read whole before any write), or
    the gathered partners (into this thread's scratch, `_scratch`) copied
    inside the boxes.
    """
    top, bottom, left, right = (np.asarray(v).reshape(-1) for v in box)
    in_place = may_overwrite(target) and target.flags.writeable and target.flags.c_contiguous
    target = np.asarray(target)
    if np.ndim(source) == 0:
        source = np.asarray(source, dtype=target.dtype)
    height_axis = 2 if layout == "channels_first" else 1
    # Partners that can be gathered as whole images of the target's shape and dtype.
    gatherable = partner is not None and source.shape == target.shape and source.dtype == target.dtype
    if top.shape[0] == 1:
        box = (int(top[0]), int(bottom[0]), int(left[0]), int(right[0]))
        return _paste_one_box_numpy(target, source, box, partner, height_axis, gatherable, in_place)
    if gatherable and layout != "channels_first":
        if in_place:
            # mode="clip": `take` into `out` without a buffer of its own (the partners are in range).
            gathered = np.take(source, np.asarray(partner), axis=0, out=_scratch(source), mode="clip")
            return _copy_by_boxes(target, gathered, (top, bottom, left, right), inside=True)
        gathered = np.take(source, np.asarray(partner), axis=0)  # C-contiguous: its views write into it
        return _copy_by_boxes(gathered, target, (top, bottom, left, right), inside=False)
    shape = target.shape
    view = (shape[0], shape[1], shape[2] * shape[3]) if layout == "channels_last" else shape
    scale = shape[3] if layout == "channels_last" else 1
    ranks = len(view)
    per_sample = lambda v: v.reshape((-1,) + (1,) * (ranks - 1))
    index = lambda axis: np.arange(view[axis]).reshape([-1 if a == axis else 1 for a in range(ranks)])
    rows_index, cols_index = index(height_axis), index(height_axis + 1)
    in_rows = (rows_index >= per_sample(top)) & (rows_index < per_sample(bottom))
    in_cols = (cols_index >= per_sample(left) * scale) & (cols_index < per_sample(right) * scale)
    mask = in_rows & in_cols
    if layout == "channels_first":
        mask = np.repeat(mask, view[1], axis=1)
    if partner is not None:
        source = np.take(source, np.asarray(partner), axis=0)
    out = target if in_place else target.copy()
    np.copyto(out.reshape(view), source if source.ndim == 0 else source.reshape(view), where=mask)
    return out


_SCRATCH_BYTES = 32 * 2**20  # glibc's largest mmap threshold: above it every array is new memory anyway
_thread = threading.local()


def _scratch(like: np.ndarray) -> np.ndarray:
    """An array of `like`'s shape and dtype that this thread keeps for its next call (32 MiB at most in all).

    The in-place paste needs the gathered partners only during the call.
    A new array each call is new memory where glibc has handed the last one
    back to the kernel, and it page-faults on first touch (~1–3 µs per 4 KiB
    page here): at 64x96x96x3 float32 the gather took 1.7–2.6 ms then,
    against 0.8 ms into memory touched before (benchmarks/README.md, "sixth
    pass"). Larger arrays get NumPy's huge pages, which fault 512 times less
    often.
    """
    kept = _thread.__dict__.setdefault("scratch", {})  # (shape, dtype): array; images and masks
    key = (like.shape, like.dtype.str)
    if key not in kept:
        array = np.empty(like.shape, like.dtype)
        if array.nbytes + sum(a.nbytes for a in kept.values()) > _SCRATCH_BYTES:
            kept.clear()
        if array.nbytes <= _SCRATCH_BYTES:
            kept[key] = array
        return array
    return kept[key]


def _copy_by_boxes(out: np.ndarray, source: np.ndarray, box: tuple, *, inside: bool) -> np.ndarray:
    """`out` (B, H, W[, C], C-contiguous) with `source`'s pixels inside each sample's box, or everywhere but there.

    NumPy's masked copy costs per element (1.5–4 ns), whatever its size: whole
    rows go as one element each (a void dtype of a row's bytes, one memcpy),
    and only the pixels beside the box in its rows as elements of one pixel (a
    void dtype of its C values). Outside: the rows outside each box, then the
    pixels beside it. Inside, with `source` a scratch (the gathered partners,
    overwritten): `out`'s pixels beside each box into `source`, then the rows
    of the box back. Outside, gather included, at 128x224x224x3 uint8: 4.9 ms,
    against 6.0 ms with a mask over every pixel (float32: 21.5 ms either way,
    the memory traffic).
    """
    top, bottom, left, right = (v.reshape(-1, 1, 1) for v in box)
    if source.size == 0:
        return out
    batch, height, width = source.shape[:3]
    source = np.ascontiguousarray(source)
    row = np.dtype((np.void, source.itemsize * (source.size // (batch * height))))
    pixel = np.dtype((np.void, source.itemsize * (source.size // (batch * height * width))))
    as_rows = lambda a: a.reshape(batch, height, -1).view(row)  # (B, H, 1)
    as_pixels = lambda a: a.reshape(batch, height, width, -1).view(pixel)[..., 0]  # (B, H, W)
    rows_index, cols_index = np.arange(height).reshape(1, -1, 1), np.arange(width).reshape(1, 1, -1)
    in_rows = (rows_index >= top) & (rows_index < bottom)  # (B, H, 1)
    beside = (cols_index < left) | (cols_index >= right)  # (B, 1, W)
    if inside:
        np.copyto(as_pixels(source), as_pixels(out), where=in_rows & beside)
        np.copyto(as_rows(out), as_rows(source), where=in_rows)
        return out
    np.copyto(as_rows(out), as_rows(source), where=~in_rows)
    np.copyto(as_pixels(out), as_pixels(source), where=in_rows & beside)
    return out


def _paste_one_box_numpy(
    target: np.ndarray,
    source: np.ndarray,
    box: tuple,
    partner: Any,
    height_axis: int,
    gatherable: bool,
    in_place: bool,
) -> np.ndarray:
    """`_paste_box_numpy` with one box (top, bottom, left, right) for the whole batch."""
    top, bottom, left, right = box
    if top >= bottom or left >= right:
        return target if in_place else target.copy()
    lead = (slice(None),) * height_axis  # the batch (and channels_first's channels)
    rows, cols = slice(top, bottom), slice(left, right)
    height, width = target.shape[height_axis], target.shape[height_axis + 1]
    share = (bottom - top) * (right - left) / (height * width)
    if gatherable and share > 1 / 3 and not in_place:
        out = np.take(source, np.asarray(partner), axis=0)
        for around in ((slice(0, top),), (slice(bottom, None),), (rows, slice(0, left)), (rows, slice(right, None))):
            out[lead + around] = target[lead + around]
        return out
    out = target if in_place else target.copy()
    region = lead + (rows, cols)
    if partner is not None:  # the partners' region is gathered (a new array) before it is written
        out[region] = source[(np.asarray(partner),) + region[1:]]
    else:
        out[region] = source if source.ndim == 0 else source[region]
    return out


def _box_tests(box: tuple, layout: str, dims: tuple) -> tuple[Any, Any]:
    """The row test and the column test of the boxes, shaped to broadcast against `_row_runs`' view.

    channels_last (B, H, W·C): (n, H, 1) and (n, 1, W·C); masks (B, H, W):
    (n, H, 1) and (n, 1, W); channels_first (B, C, H, W): (n, 1, H, 1) and
    (n, 1, 1, W). Few ops (a tf.data function's ops are instantiated anew
    for every iterator): the index ranges are constants when the sizes are known.
    """
    bounds: tuple[int, ...]
    if layout == "channels_first":
        height, row, scale, bounds = dims[2], dims[3], 1, (4, -1, 1, 1, 1)
    elif layout == "masks":
        height, row, scale, bounds = dims[1], dims[2], 1, (4, -1, 1, 1)
    else:
        height, row, scale, bounds = dims[1], dims[2] * dims[3], dims[3], (4, -1, 1, 1)
    top, bottom, left, right = ops.unstack(ops.reshape(ops.stack([ops.cast(v, "int32") for v in box]), bounds))
    rows = ops.reshape(_indices(height), (-1, 1))  # (H, 1)
    cols = _indices(row)  # (W·C,)
    if not isinstance(scale, int) or scale != 1:
        left, right = left * scale, right * scale
    in_rows = ops.logical_and(rows >= top, rows < bottom)
    in_cols = ops.logical_and(cols >= left, cols < right)
    return in_rows, in_cols


def _indices(size: Any) -> Any:
    """0, 1, …, size − 1 as int32: a constant when `size` is known."""
    if isinstance(size, int):
        return ops.convert_to_tensor(np.arange(size, dtype="int32"))
    return ops.arange(size, dtype="int32")


def _same_shape(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def paste(target: Any, source: Any, mask: Any) -> Any:
    """`target` with its masked pixels replaced by those of `source`.

    `source` is a fill value, or any tensor that broadcasts against `target`.
    For boxes, `paste_box` is faster (no mask); for the partners' pixels use
    `paste_from`, which never copies the partner images whole.
    """
    return _fused(_where, mask, source, target)


def paste_from(target: Any, partner: Any, mask: Any, source: Any = None) -> Any:
    """`target` with its masked pixels replaced by those of `source[partner]`.

    `source` defaults to `target`. For any mask (FMix's); boxes go through
    `paste_box`. Written as one gather feeding one `where` with the
    broadcast (n, H, W, 1) mask; compiled as one fused loop (XLA, and on
    TensorFlow see `_fused`), the partner's pixels are read in place: no
    gathered copy of the batch, no mask over channels, one output buffer.
    """
    return _fused(_where_taken, mask, target if source is None else source, partner, target)


def _layout(target: Any, data_format: str | None) -> str:
    if len(target.shape) == 3:
        return "masks"
    return "channels_first" if data_format == "channels_first" else "channels_last"


# The box pastes of `paste_box`, one kernel per kind of source; `layout` (a
# string: static when compiled) is "channels_last", "channels_first" or "masks".


def _fill_box(layout: str, in_rows: Any, in_cols: Any, fill: Any, target: Any) -> Any:
    """`target` with the boxes set to the scalar `fill` (Cutout's constant)."""
    return _select_box(layout, in_rows, in_cols, fill, target)


def _paste_source_box(layout: str, in_rows: Any, in_cols: Any, source: Any, target: Any) -> Any:
    """`target` with the boxes from `source`, a tensor of its shape (Cutout's noise, ResizeMix's resized partners)."""
    return _select_box(layout, in_rows, in_cols, _row_runs(layout, source), target)


def _paste_partners_box(layout: str, in_rows: Any, in_cols: Any, source: Any, partner: Any, target: Any) -> Any:
    """`target` with the boxes from `source[partner]` (CutMix), the partners' rows read in place when compiled."""
    return _select_box(layout, in_rows, in_cols, ops.take(_row_runs(layout, source), partner, axis=0), target)


def _row_runs(layout: str, x: Any) -> Any:
    """channels_last (B, H, W, C) as (B, H, W·C), a pixel a run of C values; other layouts as they are."""
    if layout != "channels_last":
        return x
    shape = ops.shape(x)
    return ops.reshape(x, (-1, shape[1], shape[2] * shape[3]))


def _select_box(layout: str, in_rows: Any, in_cols: Any, source: Any, target: Any) -> Any:
    """`source` (a scalar, or in `_row_runs`' view) inside the boxes, `target` elsewhere."""
    flat = _row_runs(layout, target)
    out = ops.where(in_rows, ops.where(in_cols, source, flat), flat)
    return ops.reshape(out, ops.shape(target)) if layout == "channels_last" else out


def _where(mask: Any, source: Any, target: Any) -> Any:
    return ops.where(mask, source, target)


def _where_taken(mask: Any, source: Any, partner: Any, target: Any) -> Any:
    return ops.where(mask, ops.take(source, partner, axis=0), target)


def _fused(fn: Any, *args: Any) -> Any:
    """Run `fn(*args)`; on TensorFlow, as one XLA-compiled function.

    TensorFlow's graph executor runs a broadcast `where` element by element
    (SelectV2's generic broadcasting kernel) and materializes
    `take(source, partner)` as a full copy of the batch first. Compiled by
    XLA, the same ops are one fused, vectorized loop that reads each pixel
    where it is and writes each output pixel once (measured in
    benchmarks/README.md). The math is the
    same `ops` code on every backend; JAX and torch callers (and symbolic
    KerasTensors) run it directly.
    """
    if backend_name() != "tensorflow" or any(isinstance(a, keras.KerasTensor) for a in args):
        return fn(*args)
    if in_xla_context():
        # Already being compiled (jit_compile=True): a nested compiled call
        # would only fence these ops off from the fusion around them
        # (slower, benchmarks/README.md).
        return fn(*args)
    # One trace per rank and dtype (shapes generalized); XLA compiles and
    # caches one executable per concrete shape at run time.
    return compiled("tensorflow", fn, fn, jit_compile=True, reduce_retracing=True)(*args)


def blend(target: Any, source: Any, weight: Any) -> Any:
    """MixUp's (1 − w)·x + w·x[π] per sample, in the dtype of `target`.

    Integer images (uint8) are blended in float32 and rounded back, so they
    stay integers; w = 0 returns `target` bit for bit.
    """
    dtype = dtype_name(target.dtype)
    compute = dtype if keras.backend.is_float_dtype(dtype) else "float32"
    w = ops.reshape(ops.cast(weight, compute), (-1,) + (1,) * (len(target.shape) - 1))
    mixed = ops.cast(target, compute) * (1 - w) + ops.cast(source, compute) * w
    if compute != dtype:
        mixed = ops.cast(ops.round(mixed), dtype)
    return mixed


def blend_from(target: Any, partner: Any, weight: Any) -> Any:
    """`blend(target, target[partner], weight)` as one fused loop (see `_fused`).

    TensorFlow's executor runs the gather, casts, products and sum as
    separate passes over the batch; compiled, they are one pass reading each
    partner pixel in place (benchmarks/README.md).
    """
    return _fused(_blend_taken, target, partner, weight)


def _blend_taken(target: Any, partner: Any, weight: Any) -> Any:
    return blend(target, ops.take(target, partner, axis=0), weight)


INTERPOLATIONS = ("bilinear", "nearest")


def paste_resized(target: Any, partner: Any, box: tuple, interpolation: str, data_format: str | None) -> Any:
    """`target` with each box [top, bottom) × [left, right) showing the whole partner image, resized.

    ResizeMix's paste. Output pixel (y, x) of a box of h × w reads the partner
    at ((y − top + ½)·H/h − ½, (x − left + ½)·W/w − ½), with half-pixel centres
    as `keras.ops.image.resize` (no antialiasing): the nearest pixel, or the
    bilinear blend of the four around it, computed in float32 and cast back
    (integers rounded). All boxes at once, by gathering each output pixel's
    sources: no loop over samples. Targets (B, H, W) are masks: nearest only.
    One fused loop when compiled (see `_fused`): TensorFlow's executor would
    run its gathers and blends as a dozen passes over the batch.
    """
    top, bottom, left, right = box
    return _fused(_resized_kernel(interpolation, data_format), target, partner, top, bottom, left, right)


@functools.cache
def _resized_kernel(interpolation: str, data_format: str | None) -> Any:
    """`_paste_resized` for one interpolation and layout, as one function (one compiled function)."""

    def kernel(target: Any, partner: Any, top: Any, bottom: Any, left: Any, right: Any) -> Any:
        return _paste_resized(target, partner, (top, bottom, left, right), interpolation, data_format)

    kernel.__name__ = f"paste_resized_{interpolation}_{data_format}"
    return kernel


def _paste_resized(target: Any, partner: Any, box: tuple, interpolation: str, data_format: str | None) -> Any:
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
        nearest = lambda coords, size: ops.clip(ops.cast(ops.floor(coords + 0.5), "int32"), 0, size - 1)
        resized = gather(nearest(rows, height), nearest(cols, width))
    else:
        (r0, r1, fr), (c0, c1, fc) = _neighbours(rows, height), _neighbours(cols, width)
        fr = ops.reshape(ops.broadcast_to(fr[:, :, None], (shape[0], height, width)), (-1, 1))
        fc = ops.reshape(ops.broadcast_to(fc[:, None, :], (shape[0], height, width)), (-1, 1))
        value = lambda r, c: ops.cast(gather(r, c), "float32")
        upper = value(r0, c0) * (1.0 - fc) + value(r0, c1) * fc
        lower = value(r1, c0) * (1.0 - fc) + value(r1, c1) * fc
        blended = upper * (1.0 - fr) + lower * fr
        dtype = dtype_name(x.dtype)
        if not keras.backend.is_float_dtype(dtype):
            blended = ops.round(blended)
        resized = ops.cast(blended, x.dtype)
    resized = ops.reshape(resized, out_shape)
    out = paste_box(x, resized, box, "channels_last")
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
