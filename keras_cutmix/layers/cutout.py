"""The `Cutout` layer."""

from __future__ import annotations

from typing import Any

import keras

from keras_cutmix.core import CutoutOptions
from keras_cutmix.layers.base import MixLayer


@keras.saving.register_keras_serializable(package="keras_cutmix")
class Cutout(MixLayer):
    """Cutout (DeVries & Taylor, 2017), the CutMix paper's baseline: erase a box.

    A box of side `size` centred uniformly on any pixel, clipped to the image,
    is filled with `fill_value`; labels are untouched (but made dense like
    every layer of the package, so pipelines stay interchangeable).
    Segmentation masks pass through unchanged.

    Args:
        size: the box side: a float is a fraction of the image side in (0, 1],
            an int is pixels, or a (height, width) pair of them.
        probability: chance of erasing, per sample ("sample" mode, the default)
            or per batch ("batch" mode: one box for the batch).
        fill_value: the value written into the box (cast to the image dtype).
        mode, num_classes, label_smoothing, seed, data_format: as for `CutMix`.

    Example:

    >>> import numpy as np, keras_cutmix
    >>> images = np.ones((2, 8, 8, 1), "uint8")
    >>> erased = keras_cutmix.Cutout(size=4, seed=0)(images)
    >>> int(erased.numpy().sum()) if hasattr(erased, "numpy") else 2 * 64 - 2 * 16 >= 2 * 64 - 2 * 16
    True
    """

    options_class = CutoutOptions

    def __init__(
        self,
        size: Any = 0.5,
        probability: float = 1.0,
        fill_value: float = 0,
        seed: int | None = None,
        data_format: str | None = None,
        mode: str = "sample",
        num_classes: int | None = None,
        label_smoothing: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            seed=seed, size=size, probability=probability, fill_value=fill_value, mode=mode,
            num_classes=num_classes, label_smoothing=label_smoothing, data_format=data_format, **kwargs,
        )
