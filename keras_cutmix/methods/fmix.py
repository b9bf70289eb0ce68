"""FMix: a low-frequency random mask decides which pixels come from the partner."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from keras_cutmix import inputs, sampling, validation
from keras_cutmix.masks import mask_for
from keras_cutmix.methods.base import MixOptions
from keras_cutmix.mixing import paste_from
from keras_cutmix.sampling import MixParams


@dataclasses.dataclass(frozen=True)
class FMixOptions(MixOptions):
    alpha: float = 1.0
    decay_power: float = 3.0

    targets: ClassVar[tuple[str, ...]] = (inputs.SEGMENTATION_MASKS,)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set("alpha", validation.check_alpha("alpha", self.alpha))
        self._set("decay_power", validation.check_number("decay_power", self.decay_power, low=0.0, low_open=True))

    def sample(self, seed: Any, batch_size: Any, height: Any, width: Any, probability: Any) -> MixParams:
        return sampling.sample_fmix(
            seed,
            batch_size,
            height,
            width,
            alpha=self.alpha,
            decay_power=self.decay_power,
            probability=probability,
            mode=self.mode,
        )

    def transform_images(self, images: Any, params: MixParams) -> Any:
        return paste_from(images, params.partner, mask_for(images, params.mask, self.data_format))

    def transform_segmentation_masks(self, masks: Any, params: MixParams) -> Any:
        return paste_from(masks, params.partner, mask_for(masks, params.mask, self.data_format))
