"""The layers: one thin file per method, all on `base.MixLayer`."""

from keras_cutmix.layers.base import MixLayer
from keras_cutmix.layers.cut_mix import CutMix
from keras_cutmix.layers.cutmix_or_mixup import CutMixOrMixUp
from keras_cutmix.layers.cutout import Cutout
from keras_cutmix.layers.fmix import FMix
from keras_cutmix.layers.mix_up import MixUp
from keras_cutmix.layers.resize_mix import ResizeMix

__all__ = ["CutMix", "CutMixOrMixUp", "Cutout", "FMix", "MixLayer", "MixUp", "ResizeMix"]
