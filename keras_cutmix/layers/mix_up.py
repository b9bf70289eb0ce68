"""The `MixUp` layer."""

from __future__ import annotations

import keras

from keras_cutmix.layers.base import MixLayer
from keras_cutmix.methods import MixUpOptions


@keras.saving.register_keras_serializable(package="keras_cutmix")
class MixUp(MixLayer):
    """MixUp (Zhang et al., 2018), the CutMix paper's baseline: blend whole images.

        λ ~ Beta(α, α),   x̃ = λ·x + (1 − λ)·x[π],   ỹ = λ·y + (1 − λ)·y[π]

    with π a random cycle through the batch, as in `CutMix`. Integer images
    (uint8) are blended in float32 and rounded back, keeping their dtype.
    Bounding boxes of both images are kept (N → 2N slots, the image's own
    first), as detection MixUp does; segmentation masks cannot be blended and
    raise an error. Inside `CutMixModel(feature_layer=...)` this is Manifold
    Mixup.

    Args:
        alpha: the Beta(α, α) parameter (> 0); the paper's ImageNet MixUp
            uses 1, timm's recipes 0.8.
        probability, mode, num_classes, label_smoothing, seed, data_format, bounding_box_format: as for
            `CutMix` (the union of boxes needs no
            format: bounding_box_format is accepted, as Keras' `MixUp` takes
            it, and validated).

    Example:

    >>> import numpy as np, keras_cutmix
    >>> images = np.random.rand(4, 8, 8, 3).astype("float32")
    >>> mixed, labels = keras_cutmix.MixUp(num_classes=4, seed=0)(images, np.arange(4))
    >>> tuple(labels.shape)
    (4, 4)
    """

    options_class = MixUpOptions
