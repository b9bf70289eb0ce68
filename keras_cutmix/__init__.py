"""keras_cutmix: exact, vectorized, XLA-safe CutMix for Keras 3 and tf.data."""

from keras_cutmix.core import CutMixOptions, apply_cutmix, cutmix
from keras_cutmix.layers import CutMix
from keras_cutmix.mixing import box_mask, mix_labels, paste, prepare_labels
from keras_cutmix.sampling import CutMixParams, sample_beta, sample_cutmix, sample_partners

__version__ = "0.1.0"

__all__ = [
    "CutMix",
    "CutMixOptions",
    "CutMixParams",
    "apply_cutmix",
    "box_mask",
    "cutmix",
    "mix_labels",
    "paste",
    "prepare_labels",
    "sample_beta",
    "sample_cutmix",
    "sample_partners",
]
