"""Every layer, function and `CutMixModel` on JAX or torch, without TensorFlow.

`make test-without-tensorflow` runs this file with KERAS_CUTMIX_WITHOUT_TENSORFLOW=1
(tests/conftest.py then makes `import tensorflow` fail, as in an install
without it) on JAX. In the jax and torch legs it runs with TensorFlow
installed and checks that nothing here imported it.
"""

from __future__ import annotations

import os
import sys

import keras
import numpy as np
import pytest
from helpers import function_of, layer_of, source_images, to_numpy

import keras_cutmix
from keras_cutmix import _backend

BACKEND = keras.backend.backend()
WITHOUT_TENSORFLOW = bool(os.environ.get("KERAS_CUTMIX_WITHOUT_TENSORFLOW"))
B, H, K = 4, 8, 4

pytestmark = pytest.mark.skipif(BACKEND == "tensorflow", reason="JAX and torch users without TensorFlow")


def _batch():
    return source_images(B, H, H, dtype="uint8"), np.arange(B, dtype="int32")


@pytest.mark.parametrize("method", keras_cutmix.methods.ALL, ids=lambda method: method.name())
def test_every_layer_and_function(method):
    images, labels = _batch()
    for mixed, mixed_labels in (
        layer_of(method)(num_classes=K, seed=0)(images, labels),
        function_of(method)(images, labels, seed=(0, 0), num_classes=K),
    ):
        assert keras.backend.standardize_dtype(mixed.dtype) == "uint8" and tuple(mixed.shape) == images.shape
        np.testing.assert_allclose(to_numpy(mixed_labels).sum(axis=1), 1.0, atol=1e-6)
    if WITHOUT_TENSORFLOW:
        assert "tensorflow" not in sys.modules


@pytest.mark.parametrize("level", ["input", "feature"])
def test_cutmix_model_fits(level):
    images, labels = _batch()
    inputs = keras.Input((H, H, 3))
    features = keras.layers.Conv2D(2, 3, padding="same", name="features")(inputs)
    outputs = keras.layers.Dense(K)(keras.layers.GlobalAveragePooling2D()(features))
    options = {} if level == "input" else {"feature_layer": "features"}
    model = keras_cutmix.CutMixModel(keras.Model(inputs, outputs), num_classes=K, seed=0, **options)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(images.astype("float32"), labels, batch_size=B, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    if WITHOUT_TENSORFLOW:
        assert "tensorflow" not in sys.modules


@pytest.mark.skipif(not WITHOUT_TENSORFLOW, reason="TensorFlow is installed")
def test_tf_data_features_say_they_need_tensorflow():
    with pytest.raises(ImportError, match=r"tf\.data.*needs TensorFlow.*keras_cutmix\[tensorflow\]"):
        _backend.tensorflow_backend()
