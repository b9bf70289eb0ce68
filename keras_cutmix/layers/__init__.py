from keras_cutmix.layers.cut_mix import CutMix

__all__ = ["CutMix"]
