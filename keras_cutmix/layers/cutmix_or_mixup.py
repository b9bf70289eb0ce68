"""The `CutMixOrMixUp` layer."""

from __future__ import annotations

from typing import Any

import keras

from keras_cutmix.core import CutMixOrMixUpOptions
from keras_cutmix.layers.base import MixLayer


@keras.saving.register_keras_serializable(package="keras_cutmix")
class CutMixOrMixUp(MixLayer):
    """CutMix or MixUp, chosen at random per batch or per sample (timm's `Mixup`).

    With chance `switch_probability` a batch ("batch" mode) or sample
    ("sample" mode) gets CutMix with λ ~ Beta(cutmix_alpha, cutmix_alpha),
    otherwise MixUp with λ ~ Beta(mixup_alpha, mixup_alpha). `probability`
    gates both, applied once. Labels are exact in both branches.

    Args:
        cutmix_alpha: CutMix's Beta parameter (> 0).
        mixup_alpha: MixUp's Beta parameter (> 0).
        switch_probability: chance of CutMix rather than MixUp (timm's
            `switch_prob`).
        probability, mode, num_classes, label_smoothing, correct_lambda, seed,
        data_format: as for `CutMix`.
    """

    options_class = CutMixOrMixUpOptions

    def __init__(
        self,
        cutmix_alpha: float = 1.0,
        mixup_alpha: float = 0.8,
        switch_probability: float = 0.5,
        probability: float = 1.0,
        mode: str = "batch",
        num_classes: int | None = None,
        label_smoothing: float = 0.0,
        correct_lambda: bool = True,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            seed=seed, cutmix_alpha=cutmix_alpha, mixup_alpha=mixup_alpha, switch_probability=switch_probability,
            probability=probability, mode=mode, num_classes=num_classes, label_smoothing=label_smoothing,
            correct_lambda=correct_lambda, data_format=data_format, **kwargs,
        )
