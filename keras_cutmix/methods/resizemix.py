"""ResizeMix: paste the whole partner image, shrunk; labels by the exact pasted share."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from keras_cutmix import inputs, sampling, validation
from keras_cutmix.methods.base import MixOptions
from keras_cutmix.mixing import INTERPOLATIONS, paste_resized
from keras_cutmix.sampling import MixParams


@dataclasses.dataclass(frozen=True)
class ResizeMixOptions(MixOptions):
    scale: Any = (0.1, 0.8)
    interpolation: str = "bilinear"

    targets: ClassVar[tuple[str, ...]] = (inputs.SEGMENTATION_MASKS,)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set("scale", validation.check_ratio_range("scale", self.scale))
        validation.check_choice("interpolation", self.interpolation, INTERPOLATIONS)

    def sample(self, seed: Any, batch_size: Any, height: Any, width: Any, probability: Any) -> MixParams:
        return sampling.sample_resizemix(
            seed, batch_size, height, width, scale=self.scale, probability=probability, mode=self.mode
        )

    def transform_images(self, images: Any, params: MixParams) -> Any:
        box = (params.top, params.bottom, params.left, params.right)
        return paste_resized(images, params.partner, box, self.interpolation, self.data_format)

    def transform_segmentation_masks(self, masks: Any, params: MixParams) -> Any:
        box = (params.top, params.bottom, params.left, params.right)
        return paste_resized(masks, params.partner, box, "nearest", self.data_format)
