"""keras_cutmix: exact, vectorized, XLA-safe CutMix for Keras 3 and tf.data."""

from keras_cutmix.callbacks import MixingScheduler
from keras_cutmix.core import (
    CutMixOptions,
    CutMixOrMixUpOptions,
    CutoutOptions,
    MixOptions,
    MixUpOptions,
    apply_mix,
)
from keras_cutmix.functional import cutmix, cutmix_or_mixup, cutout, mixup
from keras_cutmix.layers import CutMix, CutMixOrMixUp, Cutout, MixLayer, MixUp
from keras_cutmix.model import CutMixModel
from keras_cutmix.mixing import blend, box_mask, mix_labels, paste, prepare_labels
from keras_cutmix.sampling import (
    CutMixParams,
    MixParams,
    sample_beta,
    sample_cutmix,
    sample_cutout,
    sample_mixup,
    sample_partners,
)

from keras_cutmix._version import __version__

__all__ = [
    "CutMix",
    "CutMixModel",
    "CutMixOptions",
    "CutMixOrMixUp",
    "CutMixOrMixUpOptions",
    "CutMixParams",
    "Cutout",
    "CutoutOptions",
    "MixLayer",
    "MixOptions",
    "MixParams",
    "MixUp",
    "MixUpOptions",
    "MixingScheduler",
    "apply_mix",
    "blend",
    "box_mask",
    "cutmix",
    "cutmix_or_mixup",
    "cutout",
    "mix_labels",
    "mixup",
    "paste",
    "prepare_labels",
    "sample_beta",
    "sample_cutmix",
    "sample_cutout",
    "sample_mixup",
    "sample_partners",
]
