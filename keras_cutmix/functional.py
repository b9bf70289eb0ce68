"""Pure functions of an explicit stateless seed: one per method.

Each is the functional twin of its layer (same options, same call forms, same
structure returned), for `Dataset.map` with per-element seeds and for custom
training loops. The output is a pure function of `seed`: an int, a pair of
ints, or an int tensor of shape (2,) (from `tf.data.Dataset.random()` or
`Dataset.enumerate()`).
"""

from __future__ import annotations

from typing import Any

from keras_cutmix.core import CutMixOptions, CutMixOrMixUpOptions, CutoutOptions, MixUpOptions, run_functional


def cutmix(
    images: Any,
    labels: Any = None,
    sample_weight: Any = None,
    *,
    seed: Any,
    alpha: float = 1.0,
    probability: float = 1.0,
    mode: str = "batch",
    num_classes: int | None = None,
    label_smoothing: float = 0.0,
    correct_lambda: bool = True,
    box_center: str = "uniform",
    center_std: float = 0.25,
    box_size: Any = None,
    label_mode: str = "area",
    bounding_box_format: str | None = None,
    min_visibility: float = 0.25,
    data_format: str | None = None,
    training: bool = True,
) -> Any:
    """CutMix a batch as a pure function of `seed`; options as `keras_cutmix.CutMix`.

    ```python
    seeds = tf.data.Dataset.random(seed=7).batch(2)
    ds = tf.data.Dataset.zip(ds.batch(64), seeds).map(
        lambda batch, seed: keras_cutmix.cutmix(*batch, seed=seed, num_classes=10),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    ```

    Args:
        images: a batch (B, H, W, C) (or (B, C, H, W)), or a dict with keys
            among "images", "labels", "segmentation_masks", "sample_weight".
        labels: optional: sparse class ids (B,) or (B, 1) with `num_classes`,
            or one-hot/soft (B, K) floats.
        sample_weight: optional, passed through.
        seed: an int, a pair of ints or an int tensor of shape (2,).
        training: if False, only labels are made dense; pixels are untouched.

    Returns:
        The structure it was given, mixed.
    """
    options = CutMixOptions(
        probability=probability, mode=mode, num_classes=num_classes, label_smoothing=label_smoothing,
        data_format=data_format, alpha=alpha, correct_lambda=correct_lambda, box_center=box_center,
        center_std=center_std, box_size=box_size, label_mode=label_mode,
        bounding_box_format=bounding_box_format, min_visibility=min_visibility,
    )
    return run_functional(options, images, labels, sample_weight, seed, training)


def mixup(
    images: Any,
    labels: Any = None,
    sample_weight: Any = None,
    *,
    seed: Any,
    alpha: float = 1.0,
    probability: float = 1.0,
    mode: str = "batch",
    num_classes: int | None = None,
    label_smoothing: float = 0.0,
    data_format: str | None = None,
    training: bool = True,
) -> Any:
    """MixUp a batch as a pure function of `seed`; options as `keras_cutmix.MixUp`."""
    options = MixUpOptions(
        probability=probability, mode=mode, num_classes=num_classes, label_smoothing=label_smoothing,
        data_format=data_format, alpha=alpha,
    )
    return run_functional(options, images, labels, sample_weight, seed, training)


def cutout(
    images: Any,
    labels: Any = None,
    sample_weight: Any = None,
    *,
    seed: Any,
    size: Any = 0.5,
    probability: float = 1.0,
    fill_value: float = 0,
    mode: str = "sample",
    num_classes: int | None = None,
    label_smoothing: float = 0.0,
    data_format: str | None = None,
    training: bool = True,
) -> Any:
    """Cutout a batch as a pure function of `seed`; options as `keras_cutmix.Cutout`."""
    options = CutoutOptions(
        probability=probability, mode=mode, num_classes=num_classes, label_smoothing=label_smoothing,
        data_format=data_format, size=size, fill_value=fill_value,
    )
    return run_functional(options, images, labels, sample_weight, seed, training)


def cutmix_or_mixup(
    images: Any,
    labels: Any = None,
    sample_weight: Any = None,
    *,
    seed: Any,
    cutmix_alpha: float = 1.0,
    mixup_alpha: float = 0.8,
    switch_probability: float = 0.5,
    probability: float = 1.0,
    mode: str = "batch",
    num_classes: int | None = None,
    label_smoothing: float = 0.0,
    correct_lambda: bool = True,
    data_format: str | None = None,
    training: bool = True,
) -> Any:
    """CutMix or MixUp a batch as a pure function of `seed`; as `keras_cutmix.CutMixOrMixUp`."""
    options = CutMixOrMixUpOptions(
        probability=probability, mode=mode, num_classes=num_classes, label_smoothing=label_smoothing,
        data_format=data_format, cutmix_alpha=cutmix_alpha, mixup_alpha=mixup_alpha,
        switch_probability=switch_probability, correct_lambda=correct_lambda,
    )
    return run_functional(options, images, labels, sample_weight, seed, training)
