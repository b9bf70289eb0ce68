"""ResizeMix: paste the whole partner image, shrunk; labels by the exact pasted share."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from keras_cutmix import inputs, sampling, validation
from keras_cutmix._backend import ops
from keras_cutmix.methods.base import MixOptions, option
from keras_cutmix.mixing import INTERPOLATIONS, paste_resized
from keras_cutmix.sampling import MixParams


@dataclasses.dataclass(frozen=True)
class ResizeMixOptions(MixOptions):
    scale: Any = option((0.1, 0.8), validation.check_ratio_range)
    interpolation: str = option("bilinear", validation.check_choice, choices=INTERPOLATIONS)

    function_name: ClassVar[str] = "resizemix"
    targets: ClassVar[tuple[str, ...]] = (inputs.SEGMENTATION_MASKS,)
    blends: ClassVar[bool] = True  # the bilinear resize

    def sample(self, seed: Any, batch_size: Any, height: Any, width: Any, probability: Any) -> MixParams:
        """Partners, coins, scales τ ~ U(scale) and places.

        The partner image, resized to round(τ·H) × round(τ·W), is pasted at a
        uniform position fully inside the image; its label weight is the exact
        share of pasted pixels.
        """
        rows = sampling.draw(seed, batch_size, self.mode, ("coin", "scale", "y", "x"))
        applied = rows.coin < probability
        tau = self.scale[0] + (self.scale[1] - self.scale[0]) * rows.scale
        sides = []
        for size in (height, width):
            side = ops.cast(ops.floor(ops.cast(size, "float32") * tau + 0.5), "int32")
            sides.append(ops.minimum(ops.maximum(side, 1), size))
        top, bottom, left, right = sampling.place_inside(rows.y, rows.x, sides[0], sides[1], height, width)
        bottom = ops.where(applied, bottom, top)
        share = sampling.pixel_share((bottom - top) * (right - left), height, width)
        partner = sampling.sample_partners(rows.partner_keys)
        box = (top, bottom, left, right)
        return sampling.box_draw(partner=partner, lam=1.0 - share, applied=applied, box=box, partner_weight=share)

    def transform_images(self, images: Any, params: MixParams) -> Any:
        return paste_resized(images, params.partner, params.box, self.interpolation, self.data_format)

    def transform_segmentation_masks(self, masks: Any, params: MixParams) -> Any:
        return paste_resized(masks, params.partner, params.box, "nearest", self.data_format)
