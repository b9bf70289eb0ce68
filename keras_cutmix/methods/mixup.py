"""MixUp: blend whole images; labels by the same weights; boxes of both images."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from keras_cutmix import bounding_boxes, inputs, sampling, validation
from keras_cutmix._backend import ops
from keras_cutmix.methods.base import MixOptions, option, supporting
from keras_cutmix.mixing import blend_from
from keras_cutmix.sampling import MixParams


@dataclasses.dataclass(frozen=True)
class MixUpOptions(MixOptions):
    alpha: float = option(1.0, validation.check_alpha)

    function_name: ClassVar[str] = "mixup"
    targets: ClassVar[tuple[str, ...]] = (inputs.BOUNDING_BOXES,)
    blends: ClassVar[bool] = True

    def unsupported(self, key: str) -> str:
        if key == inputs.SEGMENTATION_MASKS:
            return (
                "MixUp blends every pixel of two images, so `segmentation_masks` cannot follow it; "
                f"use {supporting(key)} for segmentation."
            )
        return super().unsupported(key)

    def sample(self, seed: Any, batch_size: Any, height: Any, width: Any, probability: Any) -> MixParams:
        """Partners, λ and coins: x̃ = λx + (1 − λ)x[π]."""
        rows = sampling.draw(seed, batch_size, self.mode, ("coin",), beta_alpha=self.alpha)
        applied = rows.coin < probability
        blend = ops.where(applied, 1.0 - rows.lam, ops.zeros_like(rows.lam))
        return MixParams(
            partner=sampling.sample_partners(rows.partner_keys),
            lam=rows.lam,
            applied=applied,
            **sampling.empty_box(applied),
            partner_weight=blend,
            blend=blend,
        )

    def transform_images(self, images: Any, params: MixParams) -> Any:
        return blend_from(images, params.partner, params.blend)

    def transform_bounding_boxes(self, boxes: dict, params: MixParams, height: Any, width: Any) -> dict:
        return bounding_boxes.union_bounding_boxes(boxes, params.partner, params.blend > 0)
