"""CutMix: paste a box of the partner's pixels; labels by the exact pixel share."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from keras_cutmix import bounding_boxes, inputs, mixing, sampling, validation
from keras_cutmix._backend import ops
from keras_cutmix.methods.base import MixOptions, option
from keras_cutmix.sampling import MixParams


@dataclasses.dataclass(frozen=True)
class CutMixOptions(MixOptions):
    alpha: float = option(1.0, validation.check_alpha)
    correct_lambda: bool = option(True, validation.check_bool)
    box_center: str = option("uniform", validation.check_choice, choices=sampling.BOX_CENTERS)
    center_std: float = option(0.25, validation.check_number, low=0.0, low_open=True)
    box_size: Any = option(None, validation.check_box_sides, optional=True)
    box_ratio_range: Any = option(None, validation.check_ratio_range)
    label_mode: str = option("area", validation.check_choice, choices=sampling.LABEL_MODES)
    min_visibility: float = option(0.25, validation.check_number, low=0.0, high=1.0)

    function_name: ClassVar[str] = "cutmix"
    targets: ClassVar[tuple[str, ...]] = (inputs.SEGMENTATION_MASKS, inputs.BOUNDING_BOXES)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.box_size is not None and self.box_ratio_range is not None:
            raise ValueError(
                "Pass `box_size` (a fixed box) or `box_ratio_range` (random sides), not both. Received: "
                f"box_size={self.box_size!r}, box_ratio_range={self.box_ratio_range!r}"
            )

    def check_targets(self, data: dict) -> None:
        super().check_targets(data)
        if inputs.BOUNDING_BOXES in data and self.bounding_box_format is None:
            raise ValueError(
                "`bounding_boxes` need `bounding_box_format` (e.g. 'xyxy', 'rel_xyxy', 'xywh', 'center_xywh')."
            )

    def sample(self, seed: Any, batch_size: Any, height: Any, width: Any, probability: Any) -> MixParams:
        """Partners, coins and boxes from one seed.

        The box side comes from λ ~ Beta(α, α) by default; with `box_size` the
        box has that size, and with `box_ratio_range` (timm's `cutmix_minmax`)
        its sides are uniform in [lo, hi] of each side and it lies fully
        inside the image; then λ is the box's nominal share, not a Beta draw.
        """
        sized_from_lambda = self.box_size is None and self.box_ratio_range is None
        names = ("coin", "y", "x") + (("side_h", "side_w") if self.box_ratio_range is not None else ())
        rows = sampling.draw(seed, batch_size, self.mode, names, beta_alpha=self.alpha if sized_from_lambda else None)
        applied = rows.coin < probability
        if self.box_ratio_range is not None:
            cut_h, cut_w = sampling.sides_in_range(rows.side_h, rows.side_w, self.box_ratio_range, height, width)
            top, bottom, left, right = sampling.place_inside(rows.y, rows.x, cut_h, cut_w, height, width)
        else:
            if sized_from_lambda:
                cut_h, cut_w = sampling.sides_from_lambda(rows.lam, height, width)
            else:
                cut_h, cut_w = sampling.fixed_sides(self.box_size, height, width)
            centre_y, centre_x = sampling.sample_centres(
                rows.y, rows.x, height, width, self.box_center, self.center_std
            )
            top, bottom, left, right = sampling.place_box(cut_h, cut_w, centre_y, centre_x, height, width)
        if sized_from_lambda:
            lam = rows.lam
        else:
            nominal = ops.cast(cut_h * cut_w, "float32") / ops.cast(height * width, "float32")
            lam = ops.zeros_like(rows.coin) + (1.0 - nominal)
        bottom = ops.where(applied, bottom, top)  # empty box: sample untouched
        pasted = (bottom - top) * (right - left)
        weight = sampling.label_weight(
            pasted, height, width, lam, applied, label_mode=self.label_mode, correct_lambda=self.correct_lambda
        )
        partner = sampling.sample_partners(rows.partner_keys)
        box = (top, bottom, left, right)
        return sampling.box_draw(partner=partner, lam=lam, applied=applied, box=box, partner_weight=weight)

    def transform_images(self, images: Any, params: MixParams) -> Any:
        return paste_box(images, params, self.data_format)

    def transform_segmentation_masks(self, masks: Any, params: MixParams) -> Any:
        return paste_box(masks, params, self.data_format)

    def transform_bounding_boxes(self, boxes: dict, params: MixParams, height: Any, width: Any) -> dict:
        assert self.bounding_box_format is not None  # check_targets asked for it
        return bounding_boxes.mix_bounding_boxes(
            boxes,
            params.partner,
            *params.box,
            height,
            width,
            bounding_box_format=self.bounding_box_format,
            min_visibility=self.min_visibility,
        )


def paste_box(target: Any, params: MixParams, data_format: str | None, source: Any = None) -> Any:
    """`target` (images, masks or features) with each sample's box from its partner in `source`.

    `source` defaults to `target`.
    """
    # The partners' pixels are read inside the fused paste, never gathered as a full copy.
    return mixing.paste_box(
        target, target if source is None else source, params.box, data_format, partner=params.partner
    )
