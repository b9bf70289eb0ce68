"""The `CutMixOrMixUp` layer."""

from __future__ import annotations

import keras

from keras_cutmix.layers.base import MixLayer
from keras_cutmix.methods import CutMixOrMixUpOptions


@keras.saving.register_keras_serializable(package="keras_cutmix")
class CutMixOrMixUp(MixLayer):
    """CutMix or MixUp, chosen at random per batch or per sample (timm's `Mixup`).

    With chance `switch_probability` a batch ("batch" mode) or sample
    ("sample" mode) gets CutMix with λ ~ Beta(cutmix_alpha, cutmix_alpha),
    otherwise MixUp with λ ~ Beta(mixup_alpha, mixup_alpha). `probability`
    gates both, applied once. Labels are exact in both branches. As in timm,
    `mixup_alpha=0` means CutMix only and `cutmix_alpha=0` MixUp only.

    Args:
        cutmix_alpha: CutMix's Beta parameter (>= 0; 0 switches CutMix off
            unless `box_ratio_range` is set).
        mixup_alpha: MixUp's Beta parameter (>= 0; 0 switches MixUp off).
        switch_probability: chance of CutMix rather than MixUp (timm's
            `switch_prob`).
        correct_lambda: as for `CutMix`.
        box_ratio_range: as for `CutMix` (timm's `cutmix_minmax`).
        probability, mode, num_classes, label_smoothing, seed, data_format, bounding_box_format: as for
            `CutMix`; bounding boxes raise (MixUp's union and CutMix's cut are not combined).

    Example:

    >>> import numpy as np, keras_cutmix
    >>> layer = keras_cutmix.CutMixOrMixUp(num_classes=4, mode="sample", seed=0)
    >>> mixed, labels = layer(np.random.rand(4, 8, 8, 3).astype("float32"), np.arange(4))
    >>> np.allclose(np.asarray(labels).sum(axis=1), 1.0)
    True
    """

    options_class = CutMixOrMixUpOptions
