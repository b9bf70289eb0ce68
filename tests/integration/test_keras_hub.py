"""KerasHub: an ImageClassifier on a small ResNetBackbone built from config.

No preset, no download: the backbone is built from its arguments. Each test
fits one tiny epoch (2 steps of 8 random 32×32 images), then checks predict
and `.keras` saving. CutMix runs in tf.data (the layer, or the pure function
with per-batch seeds) or inside the train step (`CutMixModel`).
"""

import os
import pathlib

import keras
import numpy as np
import pytest

keras_hub = pytest.importorskip("keras_hub")
tf = pytest.importorskip("tensorflow")

from helpers import to_numpy  # noqa: E402

import keras_cutmix  # noqa: E402

N, S, K, BATCH = 16, 32, 4, 8


def make_classifier(preprocessor=None):
    # The smallest ResNet the backbone accepts (its first stack must have 64
    # filters): one basic block, 76k parameters.
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64],
        stackwise_num_blocks=[1],
        stackwise_num_strides=[1],
        block_type="basic_block",
        image_shape=(S, S, 3),
    )
    return keras_hub.models.ImageClassifier(backbone=backbone, num_classes=K, preprocessor=preprocessor)


def make_preprocessor():
    converter = keras_hub.layers.ResNetImageConverter(image_size=(S, S), scale=1.0 / 255)
    return keras_hub.models.ResNetImageClassifierPreprocessor(image_converter=converter)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    images = rng.random((N, S, S, 3)).astype("float32")
    labels = (np.arange(N) % K).astype("int32")
    return images, labels


def weights_of(model):
    return [to_numpy(v).copy() for v in model.trainable_variables]


def assert_trained(model, before, history):
    losses = history.history["loss"]
    assert len(losses) == 1 and np.isfinite(losses[0])
    assert any(not np.array_equal(a, to_numpy(b)) for a, b in zip(before, model.trainable_variables))


def assert_saves_and_predicts_the_same(model, images, path, cls):
    expected = to_numpy(model.predict(images, batch_size=BATCH, verbose=0))
    assert expected.shape == (N, K) and np.isfinite(expected).all()
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls
    np.testing.assert_allclose(to_numpy(loaded.predict(images, batch_size=BATCH, verbose=0)), expected, atol=1e-5)
    return loaded


def categorical_compile(model):
    # Mixed labels are dense (B, K): a categorical loss, "accuracy" resolves to
    # categorical accuracy. (KerasHub's own default is sparse, see below.)
    model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])


def layer_pipeline(images, labels, seed):
    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .batch(BATCH)
        .map(keras_cutmix.CutMix(num_classes=K, seed=seed))
    )


def seeded_pipeline(images, labels, seed):
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH)
    return tf.data.Dataset.zip(batches, seeds).map(lambda batch, s: keras_cutmix.cutmix(*batch, seed=s, num_classes=K))


# -- CutMix in tf.data ---------------------------------------------------------


@pytest.mark.parametrize("pipeline", [layer_pipeline, seeded_pipeline], ids=["layer", "function"])
def test_image_classifier_fits_on_a_cutmix_pipeline(data, tmp_path, pipeline):
    images, labels = data
    ds = pipeline(images, labels, seed=1)
    # What the classifier trains on: dense labels, rows summing to 1, some mixed.
    first = [to_numpy(y) for _, y in ds]
    assert all(y.shape == (BATCH, K) and np.allclose(y.sum(-1), 1.0, atol=1e-6) for y in first)
    assert any((y.max(-1) < 1.0).any() for y in first)
    # A new draw in the next epoch, and the same stream from the same seed.
    second = [to_numpy(y) for _, y in ds]
    assert any(not np.array_equal(a, b) for a, b in zip(first, second))
    again = [to_numpy(y) for _, y in pipeline(images, labels, seed=1)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))

    classifier = make_classifier()
    categorical_compile(classifier)
    before = weights_of(classifier)
    assert_trained(classifier, before, classifier.fit(ds, epochs=1, verbose=0))
    if pipeline is layer_pipeline:  # (the pipeline plays no part in saving: once is enough)
        assert_saves_and_predicts_the_same(
            classifier, images, os.fspath(tmp_path / "classifier.keras"), keras_hub.models.ImageClassifier
        )


def test_image_classifier_preprocessor_runs_after_the_mixing_in_fit(data):
    """With a preprocessor, ImageClassifier.fit maps it over the mixed batches (images only)."""
    images, labels = data
    classifier = make_classifier(make_preprocessor())
    categorical_compile(classifier)
    before = weights_of(classifier)
    pixels = (images * 255).round()
    assert_trained(classifier, before, classifier.fit(layer_pipeline(pixels, labels, seed=2), epochs=1, verbose=0))
    # predict applies the preprocessor too: the same as calling on rescaled pixels.
    np.testing.assert_allclose(
        to_numpy(classifier.predict(pixels, batch_size=BATCH, verbose=0)),
        to_numpy(classifier(pixels / 255, training=False)),
        atol=1e-5,
    )


# -- CutMixModel(classifier) ---------------------------------------------------


def test_cutmix_model_trains_an_image_classifier(data, tmp_path):
    images, labels = data
    classifier = make_classifier()
    trainer = keras_cutmix.CutMixModel(classifier, seed=0)
    assert trainer.options.num_classes == K  # read from the classifier's output
    categorical_compile(trainer)
    before = weights_of(classifier)
    assert_trained(classifier, before, trainer.fit(images, labels, batch_size=BATCH, epochs=1, verbose=0))
    # predict / evaluate run the classifier untouched, on sparse labels too.
    np.testing.assert_allclose(
        to_numpy(trainer.predict(images, batch_size=BATCH, verbose=0)),
        to_numpy(classifier.predict(images, batch_size=BATCH, verbose=0)),
        atol=1e-6,
    )
    loss, accuracy = trainer.evaluate(images, labels, batch_size=BATCH, verbose=0)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
    loaded = assert_saves_and_predicts_the_same(
        trainer, images, os.fspath(tmp_path / "trainer.keras"), keras_cutmix.CutMixModel
    )
    assert type(loaded.model) is keras_hub.models.ImageClassifier
    # The wrapper's categorical compile comes back with it (a loaded
    # ImageClassifier instead gets KerasHub's default, sparse, compile).
    assert isinstance(loaded.loss, keras.losses.CategoricalCrossentropy) and loaded.loss.get_config()["from_logits"]
    # The classifier alone, saved from the wrapper, loads as a KerasHub model.
    assert_saves_and_predicts_the_same(
        loaded.model, images, os.fspath(tmp_path / "inner.keras"), keras_hub.models.ImageClassifier
    )


def test_cutmix_model_skips_the_classifier_preprocessor(data):
    """CutMixModel's fit/predict are keras.Model's: KerasHub's preprocessor is not applied.

    Map `classifier.preprocessor` over the data yourself (before the mixing,
    so that labels follow the final pixels).
    """
    images, labels = data
    pixels = (images * 255).round()
    classifier = make_classifier(make_preprocessor())
    trainer = keras_cutmix.CutMixModel(classifier, seed=0)
    raw = to_numpy(trainer.predict(pixels, batch_size=BATCH, verbose=0))
    np.testing.assert_allclose(raw, to_numpy(classifier(pixels, training=False)), atol=1e-4)
    assert not np.allclose(raw, to_numpy(classifier.predict(pixels, batch_size=BATCH, verbose=0)), atol=1e-3)
    # The recipe: the preprocessor in tf.data, then CutMixModel.
    preprocessed = tf.data.Dataset.from_tensor_slices((pixels, labels)).batch(BATCH).map(classifier.preprocessor)
    categorical_compile(trainer)
    before = weights_of(classifier)
    assert_trained(classifier, before, trainer.fit(preprocessed, epochs=1, verbose=0))
    np.testing.assert_allclose(
        to_numpy(trainer.predict(preprocessed.map(lambda x, y: x), verbose=0)),
        to_numpy(classifier.predict(pixels, batch_size=BATCH, verbose=0)),
        atol=1e-5,
    )


KERAS_HUB_DEFAULTS = {
    # What ImageClassifier.compile() picks (activation=None → logits).
    "keras_hub_defaults": lambda: dict(
        optimizer=keras.optimizers.Adam(5e-5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    ),
    # What a Keras user writes for integer labels.
    "sparse_loss_accuracy": lambda: dict(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    ),
}


@pytest.mark.parametrize("compile_args", list(KERAS_HUB_DEFAULTS), ids=list(KERAS_HUB_DEFAULTS))
def test_cutmix_model_trains_with_keras_hubs_sparse_defaults(data, compile_args):
    images, labels = data
    classifier = make_classifier()
    trainer = keras_cutmix.CutMixModel(classifier, seed=0)
    trainer.compile(**KERAS_HUB_DEFAULTS[compile_args]())
    before = weights_of(classifier)
    assert_trained(classifier, before, trainer.fit(images, labels, batch_size=BATCH, epochs=1, verbose=0))
    loss, accuracy = trainer.evaluate(images, labels, batch_size=BATCH, verbose=0)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0


def test_cutmix_model_says_it_swapped_the_sparse_loss(data):
    images, labels = data
    trainer = keras_cutmix.CutMixModel(make_classifier(), seed=0)
    with pytest.warns(UserWarning) as record:
        trainer.compile(**KERAS_HUB_DEFAULTS["keras_hub_defaults"]())
        trainer.fit(images, labels, batch_size=BATCH, epochs=1, verbose=0)
    assert any("categorical" in str(w.message).lower() for w in record), [str(w.message) for w in record]


# -- Object detectors: the recipe of docs/ecosystem.md -------------------------


@pytest.mark.slow
def test_detector_recipe_in_the_docs_fits_a_retinanet():
    """docs/ecosystem.md's detector recipe: a RetinaNet fitted one step with CutMix and one with MixUp boxes.

    The block checks its own results (box slots, a finite loss, CutMixModel's
    refusal). It runs here, in the jax leg only (measured on 2 busy cores:
    ~80 s under JAX, ~200 s under torch); tests/docs/test_snippets.py skips it.
    """
    if keras.backend.backend() != "jax":
        pytest.skip("the detector recipe runs once, in the jax leg")
    page = pathlib.Path(__file__).resolve().parents[2] / "docs" / "ecosystem.md"
    section = page.read_text(encoding="utf-8").split("### Object detectors", 1)[1]
    code = section.split("```python\n", 1)[1].split("\n```", 1)[0]
    namespace: dict = {}
    exec(compile(code, os.fspath(page), "exec"), namespace)
    assert isinstance(namespace["detector"], keras_hub.models.RetinaNetObjectDetector) and namespace["refused"]
