"""FMix: a low-frequency random mask decides which pixels come from the partner."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

from keras_cutmix import inputs, sampling, validation
from keras_cutmix._backend import ops
from keras_cutmix.masks import fourier_mask, mask_for
from keras_cutmix.methods.base import MixOptions, option
from keras_cutmix.mixing import paste_from
from keras_cutmix.sampling import MixParams


class FMixExtras(NamedTuple):
    """FMix's own part of a draw (`MixParams.extras`)."""

    mask: Any  # (n, H, W) bool: the pixels each sample takes from its partner


@dataclasses.dataclass(frozen=True)
class FMixOptions(MixOptions):
    alpha: float = option(1.0, validation.check_alpha)
    decay_power: float = option(3.0, validation.check_number, low=0.0, low_open=True)

    function_name: ClassVar[str] = "fmix"
    targets: ClassVar[tuple[str, ...]] = (inputs.SEGMENTATION_MASKS,)

    def sample(self, seed: Any, batch_size: Any, height: Any, width: Any, probability: Any) -> MixParams:
        """Partners, coins, λ ~ Beta(α, α) and the low-frequency masks.

        Each mask keeps round(λ·H·W) pixels of the image (the largest values
        of a random field whose spectrum falls as 1/f^decay_power) and takes
        the rest from the partner; the partner's label weight is the exact
        share it gave.
        """
        rows = sampling.draw(seed, batch_size, self.mode, ("coin",), beta_alpha=self.alpha)
        applied = rows.coin < probability
        field = sampling.normal(sampling.sub_seed(seed, 4), (2, ops.shape(rows.lam)[0], height, width))
        partner_pixels = ops.logical_and(fourier_mask(field, rows.lam, self.decay_power), applied[:, None, None])
        counts = ops.sum(ops.cast(partner_pixels, "int32"), axis=(1, 2))
        share = sampling.pixel_share(counts, height, width)
        return MixParams(
            partner=sampling.sample_partners(rows.partner_keys),
            lam=rows.lam,
            applied=applied,
            **sampling.empty_box(applied),
            partner_weight=share,
            blend=ops.zeros_like(share),
            extras=FMixExtras(mask=partner_pixels),
        )

    def transform_images(self, images: Any, params: MixParams) -> Any:
        return paste_from(images, params.partner, mask_for(images, params.extras.mask, self.data_format))

    def transform_segmentation_masks(self, masks: Any, params: MixParams) -> Any:
        return paste_from(masks, params.partner, mask_for(masks, params.extras.mask, self.data_format))
