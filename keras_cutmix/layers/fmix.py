"""The `FMix` layer."""

from __future__ import annotations

import keras

from keras_cutmix.layers.base import MixLayer
from keras_cutmix.methods import FMixOptions


@keras.saving.register_keras_serializable(package="keras_cutmix")
class FMix(MixLayer):
    """FMix (Harris et al., 2020): mix two images through a random low-frequency mask.

    λ ~ Beta(α, α). A random image with a 1/f^decay_power spectrum (Gaussian
    Fourier coefficients, inverse FFT) ranks the pixels; the image keeps its
    round(λ·H·W) highest-ranked pixels and takes the rest from its partner
    x[π] (π a random cycle through the batch):

        x̃ = M ⊙ x + (1 − M) ⊙ x[π],   ỹ = λ̂ · y + (1 − λ̂) · y[π]

    with λ̂ the exact share of pixels of M, so labels equal what was mixed.
    The masks are one blob or a few, with smooth borders; decay_power sets
    how smooth (larger: fewer, rounder regions). XLA-safe: FFT and a sort,
    no loop. Segmentation masks follow the same mask.

    Args:
        alpha: the Beta(α, α) parameter (> 0).
        decay_power: the spectrum's decay exponent (> 0; the paper's 3).
        probability, mode, num_classes, label_smoothing, seed, data_format, bounding_box_format: as for
            `CutMix`; bounding boxes raise (a mask, not a box, is pasted).

    Example:

    >>> import numpy as np, keras_cutmix
    >>> images = np.random.rand(4, 16, 16, 3).astype("float32")
    >>> mixed, labels = keras_cutmix.FMix(num_classes=4, seed=0)(images, np.arange(4))
    >>> tuple(mixed.shape), np.allclose(np.asarray(labels).sum(axis=1), 1.0)
    ((4, 16, 16, 3), True)
    """

    options_class = FMixOptions
