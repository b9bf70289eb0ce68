"""Eager JAX mixes a batch in one compiled call (`_compiled.compiled_mix`) with the eager bits."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from helpers import to_numpy

import keras_cutmix
from keras_cutmix import pipeline, sampling
from keras_cutmix._compiled import compiled_mix

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="the JAX backend's eager path")

PASTES = {
    "CutMix batch": lambda: keras_cutmix.CutMix(num_classes=5, seed=3, probability=0.7),
    "CutMix sample": lambda: keras_cutmix.CutMix(num_classes=5, seed=3, mode="sample", probability=0.7),
    "CutMix alpha 0.4": lambda: keras_cutmix.CutMix(num_classes=5, seed=3, mode="sample", alpha=0.4),
    "Cutout": lambda: keras_cutmix.Cutout(num_classes=5, seed=3, mode="sample"),
}


# Each case compiles its eager ops once (seconds on 2 cores): one dtype per method, uint8 once.
CASES = [("CutMix sample", "uint8"), ("CutMix batch", "float32"), ("CutMix alpha 0.4", "float32")]
CASES += [("Cutout", "float32")]  # FMix: its mask is a select too; its eager FFT ops take long to compile


@pytest.mark.parametrize(("method", "dtype"), CASES)
def test_the_compiled_call_gives_the_eager_bits(method, dtype):
    options = PASTES[method]().options
    rng = np.random.default_rng(0)
    images = keras.ops.convert_to_tensor(rng.integers(0, 256, (8, 12, 16, 3)).astype(dtype))
    masks = keras.ops.convert_to_tensor(rng.integers(0, 4, (8, 12, 16)).astype("int32"))
    labels = keras.ops.one_hot(keras.ops.convert_to_tensor(np.arange(8) % 5), 5)
    data = {"images": images, "labels": labels}
    if method != "Cutout":
        data["segmentation_masks"] = masks
    compiled = compiled_mix(options, images)
    assert compiled is not None
    seed = sampling.as_seed((-123456789, 2**31 - 1))
    eager = pipeline.draw_and_mix(data, seed, 0.7, options)
    fused = compiled(data, seed, 0.7)
    assert set(fused) == set(eager)
    for key in eager:
        assert fused[key].dtype == eager[key].dtype
        np.testing.assert_array_equal(to_numpy(fused[key]), to_numpy(eager[key]))
    mixed = to_numpy(fused["images"]) != to_numpy(images)
    assert mixed.any()  # the draw mixed something: the comparison is not of two untouched batches


def test_blends_and_traced_calls_stay_as_they_were():
    import jax

    images = keras.ops.zeros((4, 8, 8, 3))
    # XLA's fused multiply-adds would move the last bit of blended values.
    for layer in (keras_cutmix.MixUp(), keras_cutmix.CutMixOrMixUp(), keras_cutmix.ResizeMix()):
        assert compiled_mix(layer.options, images) is None
    options = keras_cutmix.CutMix().options
    assert compiled_mix(options, images) is not None
    seen = []
    jax.jit(lambda x: seen.append(compiled_mix(options, x)) or x)(images)  # inside a trace: ops inline
    assert seen == [None]
    assert compiled_mix(options, np.zeros((4, 8, 8, 3), "float32")) is None  # host arrays are converted first
