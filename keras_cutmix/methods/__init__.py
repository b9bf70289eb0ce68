"""The methods: each one's options, draw and transforms (see `base.MixOptions`)."""

from keras_cutmix.methods.base import MixOptions
from keras_cutmix.methods.cutmix import CutMixOptions
from keras_cutmix.methods.cutmix_or_mixup import CutMixOrMixUpOptions
from keras_cutmix.methods.cutout import CutoutOptions
from keras_cutmix.methods.fmix import FMixOptions
from keras_cutmix.methods.mixup import MixUpOptions
from keras_cutmix.methods.resizemix import ResizeMixOptions

__all__ = [
    "CutMixOptions",
    "CutMixOrMixUpOptions",
    "CutoutOptions",
    "FMixOptions",
    "MixOptions",
    "MixUpOptions",
    "ResizeMixOptions",
]
