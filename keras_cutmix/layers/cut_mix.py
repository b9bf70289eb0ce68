"""The `CutMix` layer."""

from __future__ import annotations

import keras

from keras_cutmix.layers.base import MixLayer
from keras_cutmix.methods import CutMixOptions


@keras.saving.register_keras_serializable(package="keras_cutmix")
class CutMix(MixLayer):
    """CutMix (Yun et al., 2019): paste a box of one image into another; labels by the exact pixel share.

    For a batch x with labels y, a partner permutation π (a random cycle
    through the batch: no image is paired with itself), λ ~ Beta(α, α) and a
    box of side (H·√(1−λ), W·√(1−λ)) centred uniformly on any pixel and
    clipped to the image, with M = 0 inside the box and 1 outside:

        x̃ = M ⊙ x + (1 − M) ⊙ x[π]
        ỹ = λ̂ · y + (1 − λ̂) · y[π],   λ̂ = (pixels of x̃ still from x) / (H·W)

    λ̂ is an integer pixel count over H·W: the label weights equal what was
    pasted, clipped boxes included.

    Args:
        alpha: the Beta(α, α) parameter (> 0), in the paper's meaning; α = 1
            (the paper's) gives λ ~ U(0, 1).
        probability: chance of mixing, per batch ("batch" mode) or per sample
            ("sample" mode); unmixed samples keep image and label. Change it
            during training with `set_probability` or `MixingScheduler`.
        mode: "batch" (one λ and box for the batch, as the authors' code) or
            "sample" (each sample draws its own λ, box and coin).
        num_classes: makes class ids one-hot: integer labels (B,) or (B, 1),
            and float ones of those shapes (Keras' layers cast labels to
            float32). An int, or one per label head (a dict or list).
        label_smoothing: ε, applied to dense labels before mixing:
            y ← (1 − ε)·y + ε/K.
        correct_lambda: True: label weight = exact pixel share. False: the
            sampled λ (timm's `correct_lam=False`).
        box_center: "uniform", or "gaussian" (the paper's center-Gaussian
            variant: centre ~ N(image centre, (center_std·side)²), clipped).
        center_std: the Gaussian centre's spread, a fraction of each side.
        box_size: None (side from λ), or a fixed box: int pixels, a float
            fraction of the side, or an (h, w) pair (the paper's "fixed
            16×16" variant); λ is then the box's nominal share.
        box_ratio_range: None, or (lo, hi) (timm's `cutmix_minmax`): box
            sides uniform in [lo·H, hi·H] and [lo·W, hi·W], the box placed
            uniformly fully inside the image; α is then unused.
        label_mode: "area" (labels by pixel share), "one_hot" (the label of
            the larger part) or "complete" (0.5 / 0.5 whenever pixels were
            pasted): the paper's Table 8 variants.
        bounding_box_format: the format of "bounding_boxes" inputs, as
            `keras.utils.bounding_boxes` names them ("xyxy", "yxyx", "xywh",
            "center_xywh", "center_yxhw", and "rel_" versions).
        min_visibility: an image's own box is kept while at least this share
            of it stays visible (shrunk when the paste cuts a whole side off);
            a partner's box is added, clipped to the pasted region, when at
            least this share of it lies inside. Output: 2N box slots, own
            boxes first, then the partner's, padded with -1.
        seed: an int for a reproducible stream, or None.
        data_format: "channels_last" (B, H, W, C) or "channels_first"
            (B, C, H, W); defaults to `keras.config.image_data_format()`.

    Call forms (the structure given is the structure returned):
    `layer(images)`, `layer(images, labels)`, `layer(images, labels,
    sample_weight)`, or a dict with keys among "images", "labels",
    "segmentation_masks", "sample_weight", "bounding_boxes" (or
    tensorflow-datasets' "image", "label"); other keys pass through.
    Labels may be one tensor or one per model output (a dict or tuple),
    all mixed with the same weights. `dataset.map(layer)` works under every
    Keras backend; batch first. With `training=False`, and for one unbatched
    image, pixels are untouched but labels are still made dense.

    Images keep their dtype (uint8 stays uint8); segmentation masks (B, H, W)
    or (B, H, W, 1) get the same box and keep shape and dtype.

    Example:

    >>> import keras, numpy as np, keras_cutmix
    >>> images = np.random.randint(0, 256, (8, 32, 48, 3), dtype="uint8")
    >>> labels = np.arange(8) % 4
    >>> layer = keras_cutmix.CutMix(num_classes=4, seed=0)
    >>> mixed_images, mixed_labels = layer(images, labels)
    >>> tuple(mixed_images.shape), keras.backend.standardize_dtype(mixed_images.dtype), tuple(mixed_labels.shape)
    ((8, 32, 48, 3), 'uint8', (8, 4))
    """

    options_class = CutMixOptions
