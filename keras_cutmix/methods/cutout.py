"""Cutout: erase a box (a constant or Gaussian noise); labels untouched."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

import keras

from keras_cutmix import inputs, sampling, validation
from keras_cutmix._backend import dtype_name, ops
from keras_cutmix.methods.base import MixOptions, option
from keras_cutmix.mixing import paste_box
from keras_cutmix.sampling import MixParams

FILL_MODES = ("constant", "gaussian_noise")


class CutoutExtras(NamedTuple):
    """Cutout's own part of a draw (`MixParams.extras`)."""

    noise_seed: Any  # (2,) int: the draw's seed, from which the noise of fill_mode="gaussian_noise" is drawn


def check_fill_value(name: str, value: Any) -> Any:
    """Any int or float (not a bool), kept as given: integer images are filled with it exactly."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class CutoutOptions(MixOptions):
    mode: str = "sample"
    size: Any = option(0.5, validation.check_box_sides)
    size_range: Any = option(None, validation.check_ratio_range)
    fill_mode: str = option("constant", validation.check_choice, choices=FILL_MODES)
    fill_value: float = option(0, check_fill_value)

    function_name: ClassVar[str] = "cutout"
    targets: ClassVar[tuple[str, ...]] = (inputs.SEGMENTATION_MASKS,)  # pass through
    mixes_labels: ClassVar[bool] = False

    def sample(self, seed: Any, batch_size: Any, height: Any, width: Any, probability: Any) -> MixParams:
        """The erased boxes (centre uniform, clipped) and coins.

        Sides are `size` (pixels or fractions), or with `size_range=(lo, hi)`
        drawn uniformly in [lo, hi] of each side, independently per side (and
        per sample in "sample" mode), as KerasCV's RandomCutout.
        """
        names = ("coin", "y", "x") + (("side_h", "side_w") if self.size_range is not None else ())
        rows = sampling.draw(seed, batch_size, self.mode, names)
        applied = rows.coin < probability
        if self.size_range is None:
            cut_h, cut_w = sampling.fixed_sides(self.size, height, width)
        else:
            cut_h, cut_w = sampling.sides_in_range(rows.side_h, rows.side_w, self.size_range, height, width)
        centre_y, centre_x = sampling.sample_centres(rows.y, rows.x, height, width, "uniform", 0.0)
        top, bottom, left, right = sampling.place_box(cut_h, cut_w, centre_y, centre_x, height, width)
        zeros = ops.zeros_like(rows.coin)
        return sampling.box_draw(
            partner=ops.cast(ops.arange(batch_size), "int32"),  # no partner: each image is its own
            lam=1.0 - zeros,
            applied=applied,
            box=(top, ops.where(applied, bottom, top), left, right),
            partner_weight=zeros,
            extras=CutoutExtras(noise_seed=sampling.as_seed(seed)),
        )

    def transform_images(self, images: Any, params: MixParams) -> Any:
        if self.fill_mode == "gaussian_noise":
            noise = gaussian_noise_like(images, params.extras.noise_seed)
            return paste_box(images, noise, params.box, self.data_format)
        return paste_box(images, ops.cast(self.fill_value, images.dtype), params.box, self.data_format)


def gaussian_noise_like(images: Any, seed: Any) -> Any:
    """Noise in each image's value range [lo, hi], in the images' dtype.

    N((lo + hi)/2, ((hi − lo)/6)²) clipped to [lo, hi], with lo and hi the
    image's own minimum and maximum; integer images get it rounded.
    """
    dtype = dtype_name(images.dtype)
    compute = "float32"
    values = ops.cast(images, compute)
    axes = tuple(range(1, len(images.shape)))
    low, high = ops.min(values, axis=axes, keepdims=True), ops.max(values, axis=axes, keepdims=True)
    noise = (low + high) / 2.0 + (high - low) / 6.0 * sampling.normal(
        sampling.sub_seed(seed, 3), tuple(ops.shape(images))
    )
    noise = ops.minimum(ops.maximum(noise, low), high)
    if not keras.backend.is_float_dtype(dtype):
        noise = ops.round(noise)
    return ops.cast(noise, dtype)
