"""CutMixOrMixUp: CutMix or MixUp, switched at random per batch or sample (timm's `Mixup`)."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

from keras_cutmix import sampling, validation
from keras_cutmix._backend import ops
from keras_cutmix.methods.base import MixOptions, option
from keras_cutmix.methods.cutmix import CutMixOptions, paste_box
from keras_cutmix.methods.mixup import MixUpOptions
from keras_cutmix.mixing import blend_from
from keras_cutmix.sampling import MixParams


@dataclasses.dataclass(frozen=True)
class CutMixOrMixUpOptions(MixOptions):
    # As in timm, an α of 0 switches that method off.
    cutmix_alpha: float = option(1.0, validation.check_number, low=0.0)
    mixup_alpha: float = option(0.8, validation.check_number, low=0.0)
    switch_probability: float = option(0.5, validation.check_number, low=0.0, high=1.0)
    correct_lambda: bool = option(True, validation.check_bool)
    box_ratio_range: Any = option(None, validation.check_ratio_range)

    function_name: ClassVar[str] = "cutmix_or_mixup"
    blends: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (self.cutmix_enabled or self.mixup_enabled):
            raise ValueError(
                "CutMixOrMixUp needs cutmix_alpha > 0 (or box_ratio_range) or mixup_alpha > 0: an α of 0 switches "
                f"that method off. Received: cutmix_alpha={self.cutmix_alpha}, mixup_alpha={self.mixup_alpha}"
            )

    @property
    def cutmix_enabled(self) -> bool:
        # With box_ratio_range the box does not depend on α (timm forces α = 1 there).
        return self.cutmix_alpha > 0 or self.box_ratio_range is not None

    @property
    def mixup_enabled(self) -> bool:
        return self.mixup_alpha > 0

    @functools.cached_property
    def cutmix(self) -> CutMixOptions:
        """The CutMix branch; with α = 1 where it is switched off, as its partners and coin serve MixUp too."""
        return CutMixOptions(
            alpha=self.cutmix_alpha or 1.0,
            correct_lambda=self.correct_lambda,
            box_ratio_range=self.box_ratio_range,
            mode=self.mode,
        )

    @functools.cached_property
    def mixup(self) -> MixUpOptions:
        """The MixUp branch (only where it is switched on)."""
        return MixUpOptions(alpha=self.mixup_alpha, mode=self.mode)

    def sample(self, seed: Any, batch_size: Any, height: Any, width: Any, probability: Any) -> MixParams:
        """CutMix's draw and MixUp's, and per batch or sample a switch between them."""
        cut = self.cutmix.sample(seed, batch_size, height, width, probability)
        if not self.mixup_enabled:
            return cut
        # MixUp's λ and the switch come from a second seed; the coin of
        # `probability` is CutMix's, so it is applied once.
        mix = self.mixup.sample(sampling.sub_seed(seed, 1), batch_size, height, width, 1.0)
        blend_weight = ops.where(cut.applied, mix.blend, ops.zeros_like(mix.blend))
        mix = mix._replace(applied=cut.applied, blend=blend_weight, partner_weight=blend_weight)
        if not self.cutmix_enabled:
            return mix._replace(partner=cut.partner)
        rows = sampling.draw(sampling.sub_seed(seed, 2), batch_size, self.mode, ("switch",))
        return sampling.switch(rows.switch < self.switch_probability, cut, mix)

    def transform_images(self, images: Any, params: MixParams) -> Any:
        # Samples switched to MixUp have an empty box, those switched to CutMix blend 0.
        blended = blend_from(images, params.partner, params.blend)
        return paste_box(blended, params, self.data_format, source=images)
