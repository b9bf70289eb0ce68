"""Masks: which pixels of each image come from elsewhere.

The box mask is built by broadcasting a (n, H, 1) row test against a (n, 1, W)
column test: no float meshgrid, and never a mask repeated over channels.
"""

from __future__ import annotations

from typing import Any

from keras_cutmix._backend import ops


def box_mask(top: Any, bottom: Any, left: Any, right: Any, height: Any, width: Any) -> Any:
    """Boolean (n, H, W) mask, True inside [top, bottom) × [left, right)."""
    rows = ops.expand_dims(ops.arange(height, dtype="int32"), 0)  # (1, H)
    cols = ops.expand_dims(ops.arange(width, dtype="int32"), 0)  # (1, W)
    in_rows = ops.logical_and(rows >= top[:, None], rows < bottom[:, None])  # (n, H)
    in_cols = ops.logical_and(cols >= left[:, None], cols < right[:, None])  # (n, W)
    return ops.logical_and(in_rows[:, :, None], in_cols[:, None, :])


def mask_for(target: Any, mask: Any, data_format: str | None) -> Any:
    """Reshape an (n, H, W) mask so it broadcasts against `target`.

    `target` is (B, H, W) or, per `data_format`, (B, H, W, C) / (B, C, H, W).
    The channel axis stays of size 1: the same box in every channel.
    """
    if len(target.shape) == 3:
        return mask
    if data_format == "channels_first":
        return mask[:, None, :, :]
    return mask[:, :, :, None]


def fourier_mask(field: Any, lam: Any, decay_power: float) -> Any:
    """FMix's masks (Harris et al., 2020): (n, H, W) bool, True where the partner's pixels go.

    `field` holds (2, n, H, W) standard normals: the real and imaginary parts
    of a random spectrum, scaled by 1 / max(f, 1/max(H, W))^decay_power over
    the frequencies f of the H × W grid, so its inverse FFT is a smooth
    random image. Each image keeps its round(λ·H·W) largest pixels; the rest
    come from the partner (ties, of probability 0, keep a few more).
    """
    n, height, width = ops.shape(field)[1:]
    if isinstance(n, int) and n == 0:  # an empty batch: torch's FFT (MKL) refuses an empty input
        return ops.zeros((0, height, width), "bool")
    freq_y = _frequencies(height)[:, None]
    freq_x = _frequencies(width)[None, :]
    floor = 1.0 / ops.cast(ops.maximum(height, width), "float32")
    scale = ops.power(ops.maximum(ops.sqrt(freq_y * freq_y + freq_x * freq_x), floor), -decay_power)
    image, _ = ops.ifft2((field[0] * scale, field[1] * scale))
    values = ops.reshape(image, (n, height * width))  # not -1: ambiguous for an empty batch (n = 0)
    pixels = ops.shape(values)[1]
    kept = ops.cast(ops.floor(lam * ops.cast(pixels, "float32") + 0.5), "int32")  # (n,)
    # The partner gets the `pixels − kept` smallest values: those below the
    # value at that rank (+∞ past the end, when it gets them all).
    ranked = ops.concatenate([ops.sort(values, axis=-1), ops.full((n, 1), float("inf"), dtype=values.dtype)], axis=-1)
    threshold = ops.take_along_axis(ranked, ops.expand_dims(pixels - kept, -1), axis=-1)
    return ops.reshape(values < threshold, (n, height, width))


def _frequencies(size: Any) -> Any:
    """numpy.fft.fftfreq(size) as float32: 0, 1/size, …, then the negative frequencies."""
    k = ops.arange(size, dtype="int32")
    signed = ops.where(k < (size + 1) // 2, k, k - size)
    return ops.cast(signed, "float32") / ops.cast(size, "float32")
