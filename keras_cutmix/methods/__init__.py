"""The methods: each one's options, draw and transforms (see `base.MixOptions`)."""

from keras_cutmix.methods.base import MixOptions
from keras_cutmix.methods.cutmix import CutMixOptions
from keras_cutmix.methods.cutmix_or_mixup import CutMixOrMixUpOptions
from keras_cutmix.methods.cutout import CutoutOptions
from keras_cutmix.methods.fmix import FMixOptions
from keras_cutmix.methods.mixup import MixUpOptions
from keras_cutmix.methods.resizemix import ResizeMixOptions

# The registry of methods, in the order the docs list them: the layers, the
# functional forms, the docs tables, benchmarks/bench.py and the tests read it.
ALL: tuple[type[MixOptions], ...] = (
    CutMixOptions,
    MixUpOptions,
    CutoutOptions,
    CutMixOrMixUpOptions,
    ResizeMixOptions,
    FMixOptions,
)

__all__ = [
    "ALL",
    "CutMixOptions",
    "CutMixOrMixUpOptions",
    "CutoutOptions",
    "FMixOptions",
    "MixOptions",
    "MixUpOptions",
    "ResizeMixOptions",
]
