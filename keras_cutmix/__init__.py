"""keras_cutmix: exact, vectorized, XLA-safe CutMix and its family for Keras 3 and tf.data.

The public API: the layers, their functional twins (pure functions of a
seed), `CutMixModel` and `MixingScheduler`. The building blocks stay
importable from their modules (`keras_cutmix.sampling`, `.masks`,
`.mixing`, `.labels`, `.bounding_boxes`, `.methods`, `.pipeline`).
"""

from keras_cutmix._version import __version__ as __version__
from keras_cutmix.callbacks import MixingScheduler
from keras_cutmix.functional import cutmix, cutmix_or_mixup, cutout, fmix, mixup, resizemix
from keras_cutmix.layers import CutMix, CutMixOrMixUp, Cutout, FMix, MixUp, ResizeMix
from keras_cutmix.model import CutMixModel

__all__ = [
    "CutMix",
    "CutMixModel",
    "CutMixOrMixUp",
    "Cutout",
    "FMix",
    "MixUp",
    "MixingScheduler",
    "ResizeMix",
    "cutmix",
    "cutmix_or_mixup",
    "cutout",
    "fmix",
    "mixup",
    "resizemix",
]
