"""The `Cutout` layer."""

from __future__ import annotations

import keras

from keras_cutmix.layers.base import MixLayer
from keras_cutmix.methods import CutoutOptions


@keras.saving.register_keras_serializable(package="keras_cutmix")
class Cutout(MixLayer):
    """Cutout (DeVries & Taylor, 2017), the CutMix paper's baseline: erase a box.

    A box centred uniformly on any pixel, clipped to the image, is filled
    with `fill_value` (or Gaussian noise); labels are untouched but made
    dense like every layer of the package, so pipelines stay
    interchangeable. Segmentation masks pass through unchanged.

    Args:
        size: the box side: a float fraction of the image side in (0, 1],
            int pixels, or an (h, w) pair of them.
        size_range: None, or (lo, hi): each side drawn uniformly in [lo, hi]
            of the image side, independently per side (and per sample in
            "sample" mode), as KerasCV's RandomCutout; replaces `size`.
        fill_mode: "constant" (`fill_value`) or "gaussian_noise": noise
            N((lo + hi)/2, ((hi − lo)/6)²) clipped to each image's own value
            range [lo, hi], in the images' dtype.
        fill_value: the value written by fill_mode="constant".
        probability: chance of erasing, per sample ("sample" mode, the
            default) or per batch ("batch" mode: one box for the batch).
        mode, num_classes, label_smoothing, seed, data_format, bounding_box_format: as for
            `CutMix` (mode "sample", the default,
            draws a box per image; bounding_box_format is accepted and
            validated, bounding boxes themselves raise).

    Example:

    >>> import numpy as np, keras_cutmix
    >>> images = np.ones((2, 8, 8, 1), "uint8")
    >>> erased = keras_cutmix.Cutout(size=4, seed=0)(images)
    >>> int(np.asarray(erased).sum()) >= 2 * 64 - 2 * 16
    True
    """

    options_class = CutoutOptions
