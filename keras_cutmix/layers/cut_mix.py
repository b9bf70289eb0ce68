"""The `CutMix` layer."""

from __future__ import annotations

from typing import Any

import keras

from keras_cutmix.core import CutMixOptions
from keras_cutmix.layers.base import MixLayer


@keras.saving.register_keras_serializable(package="keras_cutmix")
class CutMix(MixLayer):
    """CutMix (Yun et al., 2019): paste a box of one image into another and mix
    the labels by the exact share of pixels.

    For a batch x with labels y, a partner permutation π (a random cycle through
    the batch, so no image is paired with itself), λ ~ Beta(α, α) and a box of
    side (H·√(1−λ), W·√(1−λ)) centred uniformly on any pixel and clipped to the
    image, with M = 0 inside the box and 1 outside:

        x̃ = M ⊙ x + (1 − M) ⊙ x[π]
        ỹ = λ̂ · y + (1 − λ̂) · y[π],   λ̂ = (pixels of x̃ still from x) / (H·W)

    λ̂ is an exact integer pixel count over H·W, so the label weights always
    equal what was pasted, clipped boxes included.

    Args:
        alpha: the Beta(α, α) parameter, in the paper's meaning (α = 1 gives
            λ ~ U(0, 1), the paper's setting). Must be > 0.
        probability: chance of applying CutMix, per batch in "batch" mode, per
            sample in "sample" mode. Unmixed samples keep image and label.
            Change it during training with `set_probability` (no retrace).
        mode: "batch" (one λ and box for the batch, as the authors' code) or
            "sample" (each sample draws its own λ, box and coin).
        num_classes: turns sparse integer labels of shape (B,) or (B, 1) into
            one-hot labels of this many classes. Required for sparse labels.
        label_smoothing: ε, applied to the dense labels before mixing:
            y ← (1 − ε)·y + ε/K.
        correct_lambda: True makes the label weight the exact pixel share;
            False uses the sampled λ (timm's `correct_lam=False`).
        box_center: "uniform" (the paper's CutMix) or "gaussian" (the paper's
            center-Gaussian variant: centre ~ N(image centre, (center_std·side)²)).
        center_std: the Gaussian centre's standard deviation, as a fraction of
            each side (only with box_center="gaussian").
        box_size: None (side from λ), or a fixed box: an int (pixels) or float
            (fraction of the side), or a (height, width) pair of them; λ is then
            the box's nominal share (the paper's "fixed 16×16" variant).
        label_mode: "area" (default: labels by pixel share), "one_hot" (the
            label of the larger part) or "complete" (0.5 / 0.5 whenever
            pixels were pasted): the paper's Table 8 variants.
        bounding_box_format: the format of `"bounding_boxes"` inputs: one of
            "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw" and their
            "rel_" versions, as `keras.utils.bounding_boxes` names them.
        min_visibility: a box of the image is kept while at least this share of
            its area stays visible (it is shrunk when the paste cuts a whole
            side off); a partner's box is added, clipped to the pasted region,
            when at least this share of it lies inside. Output boxes have 2N
            slots (own boxes first, then the partner's), padded with -1.
        seed: an int for reproducible augmentation, or None.
        data_format: "channels_last" (B, H, W, C) or "channels_first"
            (B, C, H, W); defaults to `keras.config.image_data_format()`.

    Call forms (the structure given is the structure returned):
    `layer(images)`, `layer(images, labels)`, `layer(images, labels,
    sample_weight)`, or a dict with keys among "images", "labels",
    "segmentation_masks", "sample_weight", "bounding_boxes" (other keys pass
    through).
    `dataset.map(layer)` works for datasets of any of these, under every Keras
    backend. With `training=False`, and for a single unbatched image, pixels
    are untouched but sparse labels are still made one-hot (and smoothed).

    Images keep their dtype (uint8 stays uint8); segmentation masks (B, H, W)
    or (B, H, W, 1) get the same box and keep shape and dtype; sample_weight
    passes through.

    Example:

    >>> import numpy as np, keras_cutmix
    >>> images = np.random.randint(0, 256, (8, 32, 48, 3), dtype="uint8")
    >>> labels = np.arange(8) % 4
    >>> layer = keras_cutmix.CutMix(num_classes=4, seed=0)
    >>> mixed_images, mixed_labels = layer(images, labels)
    >>> tuple(mixed_images.shape), str(mixed_images.dtype), tuple(mixed_labels.shape)
    ((8, 32, 48, 3), 'uint8', (8, 4))
    """

    options_class = CutMixOptions

    def __init__(
        self,
        alpha: float = 1.0,
        probability: float = 1.0,
        mode: str = "batch",
        num_classes: int | None = None,
        label_smoothing: float = 0.0,
        correct_lambda: bool = True,
        seed: int | None = None,
        data_format: str | None = None,
        box_center: str = "uniform",
        center_std: float = 0.25,
        box_size: Any = None,
        label_mode: str = "area",
        bounding_box_format: str | None = None,
        min_visibility: float = 0.25,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            seed=seed, alpha=alpha, probability=probability, mode=mode, num_classes=num_classes,
            label_smoothing=label_smoothing, correct_lambda=correct_lambda, data_format=data_format,
            box_center=box_center, center_std=center_std, box_size=box_size, label_mode=label_mode,
            bounding_box_format=bounding_box_format, min_visibility=min_visibility, **kwargs,
        )
