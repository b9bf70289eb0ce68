"""The `ResizeMix` layer."""

from __future__ import annotations

import keras

from keras_cutmix.layers.base import MixLayer
from keras_cutmix.methods import ResizeMixOptions


@keras.saving.register_keras_serializable(package="keras_cutmix")
class ResizeMix(MixLayer):
    """ResizeMix (Qin et al., 2020): paste the whole partner image, shrunk, into the image.

    For each image (or once per batch), τ ~ U(scale); the partner image x[π]
    (π a random cycle through the batch, as in `CutMix`) resized to
    round(τ·H) × round(τ·W) is pasted at a uniform position fully inside the
    image, so no object of the partner is cut away:

        x̃ = M ⊙ x + (1 − M) ⊙ resize(x[π]),   ỹ = λ̂ · y + (1 − λ̂) · y[π]

    with λ̂ the exact share of pixels still from x. Every box size is handled
    at once (each output pixel gathers its source pixels: no loop over
    samples). Segmentation masks get the same paste, resized by nearest
    neighbour; images keep their dtype (uint8 stays uint8).

    Args:
        scale: (lo, hi) in (0, 1]: the range of τ, the pasted side as a
            fraction of the image side.
        interpolation: "bilinear" or "nearest", for the images.
        probability, mode, num_classes, label_smoothing, seed, data_format, bounding_box_format: as for
            `CutMix`; bounding boxes raise (the partner's boxes would have to shrink with it).

    Example:

    >>> import keras, numpy as np, keras_cutmix
    >>> images = np.random.randint(0, 256, (4, 16, 16, 3), dtype="uint8")
    >>> mixed, labels = keras_cutmix.ResizeMix(num_classes=4, seed=0)(images, np.arange(4))
    >>> keras.backend.standardize_dtype(mixed.dtype), np.allclose(np.asarray(labels).sum(axis=1), 1.0)
    ('uint8', True)
    """

    options_class = ResizeMixOptions
