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

__version__ = "0.1.0"

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

# Helpers for the examples (issue #4): offline datasets, the paper's evaluation
# (CAM, localization, calibration, FGSM) and plots (matplotlib, imported lazily).
from keras_cutmix import datasets, evaluation, visualize  # noqa: E402
from keras_cutmix.evaluation import (  # noqa: E402
    cam_localization_score,
    class_activation_maps,
    expected_calibration_error,
    fgsm_accuracy,
    fgsm_attack,
)
from keras_cutmix.visualize import plot_mixed_batch  # noqa: E402

__all__ += [
    "cam_localization_score",
    "class_activation_maps",
    "datasets",
    "evaluation",
    "expected_calibration_error",
    "fgsm_accuracy",
    "fgsm_attack",
    "plot_mixed_batch",
    "visualize",
]
