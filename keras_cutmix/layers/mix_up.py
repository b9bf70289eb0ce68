"""The `MixUp` layer."""

from __future__ import annotations

from typing import Any

import keras

from keras_cutmix.core import MixUpOptions
from keras_cutmix.layers.base import MixLayer


@keras.saving.register_keras_serializable(package="keras_cutmix")
class MixUp(MixLayer):
    """MixUp (Zhang et al., 2018), the CutMix paper's baseline: blend whole images.

        λ ~ Beta(α, α),   x̃ = λ·x + (1 − λ)·x[π],   ỹ = λ·y + (1 − λ)·y[π]

    with π a random cycle through the batch, as in `CutMix`. Integer images
    (uint8) are blended in float32 and rounded back, so they keep their dtype.
    Segmentation masks cannot be blended and raise an error.

    Args:
        alpha: Beta(α, α) parameter (> 0); the paper's ImageNet MixUp uses 1,
            timm's recipes 0.8.
        probability, mode, num_classes, label_smoothing, seed, data_format:
            as for `CutMix`.

    Example:

    >>> import numpy as np, keras_cutmix
    >>> images = np.random.rand(4, 8, 8, 3).astype("float32")
    >>> mixed, labels = keras_cutmix.MixUp(num_classes=4, seed=0)(images, np.arange(4))
    >>> tuple(labels.shape)
    (4, 4)
    """

    options_class = MixUpOptions

    def __init__(
        self,
        alpha: float = 1.0,
        probability: float = 1.0,
        mode: str = "batch",
        num_classes: int | None = None,
        label_smoothing: float = 0.0,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            seed=seed, alpha=alpha, probability=probability, mode=mode, num_classes=num_classes,
            label_smoothing=label_smoothing, data_format=data_format, **kwargs,
        )
