"""Issue #3: CutMix inside `fit` (input and feature level) and the probability scheduler."""

import keras
import numpy as np
import pytest

import keras_cutmix
from helpers import recovered_fractions, source_images, to_numpy

BACKEND = keras.backend.backend()
JIT = BACKEND != "torch"  # torch's jit_compile is torch.compile: not a CI path on CPU
B, H, W, K = 8, 16, 16, 8


def small_cnn(name="cnn"):
    return keras.Sequential(
        [
            keras.Input((H, W, 3)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv2"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(K, name="logits"),
        ],
        name=name,
    )


def label_purity(y_true, y_pred):
    """Mean of each label row's largest entry: 1 for unmixed one-hot labels."""
    return keras.ops.mean(keras.ops.max(y_true, axis=-1))


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, H, W, 3)).astype("float32"), np.arange(n) % K


@pytest.mark.slow
@pytest.mark.parametrize("feature_layer", [None, "conv2"])
def test_cutmix_model_trains_predicts_evaluates_and_saves(feature_layer, tmp_path):
    x, y = _data()
    model = small_cnn()
    trainer = keras_cutmix.CutMixModel(model, feature_layer=feature_layer, seed=0, probability=0.5)
    trainer.compile(
        optimizer="adam",
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=JIT,
    )
    history = trainer.fit(x, y, batch_size=B, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    # predict and evaluate are the wrapped model's, untouched.
    np.testing.assert_allclose(to_numpy(trainer.predict(x, verbose=0)), to_numpy(model.predict(x, verbose=0)), atol=1e-5)
    loss, accuracy = trainer.evaluate(x, y, verbose=0)
    logits = to_numpy(model.predict(x, verbose=0))
    expected_loss = to_numpy(keras.losses.CategoricalCrossentropy(from_logits=True)(np.eye(K)[y], logits))
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-4)
    np.testing.assert_allclose(accuracy, np.mean(logits.argmax(1) == y), atol=1e-6)
    path = tmp_path / "trainer.keras"
    trainer.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, keras_cutmix.CutMixModel) and loaded.feature_layer == feature_layer
    assert loaded.get_config()["probability"] == 0.5 and loaded.get_config()["seed"] == 0
    np.testing.assert_allclose(to_numpy(loaded.predict(x, verbose=0)), logits, atol=1e-5)


class _Recorder(keras.layers.Layer):
    """Identity that keeps what it saw (eager runs only)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, training=None):
        if training:
            self.seen.append(to_numpy(x))
        return x


class _RecordingTrainer(keras_cutmix.CutMixModel):
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if training:
            self.__dict__.setdefault("labels_seen", []).append(to_numpy(y))
            if not isinstance(x, dict):
                self.__dict__.setdefault("inputs_seen", []).append(to_numpy(x))
        return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)


def test_in_model_labels_equal_the_pasted_input_pixels():
    x = source_images(B, H, W)
    model = small_cnn()
    trainer = _RecordingTrainer(model, seed=1, mode="sample")
    trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), run_eagerly=True)
    trainer.fit(x, np.arange(B), batch_size=B, epochs=3, verbose=0, shuffle=False)
    assert len(trainer.labels_seen) == 3
    for images, labels in zip(trainer.inputs_seen, trainer.labels_seen):
        np.testing.assert_allclose(labels, recovered_fractions(images, B), atol=1e-6)
    assert not np.array_equal(trainer.labels_seen[0], trainer.labels_seen[1]), "each step must draw anew"


def test_feature_level_labels_equal_the_feature_map_shares():
    # The feature map of image i is the constant i + 1 (average pooling of a
    # constant image), 4 × 6 pixels: labels must match its pasted shares.
    recorder = _Recorder(name="recorder")
    model = keras.Sequential(
        [
            keras.Input((H, 24, 3)),
            keras.layers.AveragePooling2D(4, name="pool"),
            recorder,
            keras.layers.Flatten(),
            keras.layers.Dense(K),
        ]
    )
    trainer = _RecordingTrainer(model, feature_layer="pool", seed=2, mode="sample")
    trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), run_eagerly=True)
    trainer.fit(source_images(B, H, 24), np.arange(B), batch_size=B, epochs=3, verbose=0, shuffle=False)
    assert len(recorder.seen) == 3 and recorder.seen[0].shape == (B, 4, 6, 3)
    mixed = 0
    for features, labels in zip(recorder.seen, trainer.labels_seen):
        fractions = recovered_fractions(features, B)
        np.testing.assert_allclose(labels, fractions, atol=1e-6)
        mixed += int((np.diag(fractions) < 1).sum())
    assert mixed > 0


def test_feature_layer_errors():
    with pytest.raises(ValueError, match="not a layer of the model"):
        keras_cutmix.CutMixModel(small_cnn(), feature_layer="nope")
    with pytest.raises(ValueError, match="feature map"):
        keras_cutmix.CutMixModel(small_cnn(), feature_layer="logits")


@pytest.mark.slow
def test_scheduler_changes_probability_during_fit_without_retrace(monkeypatch):
    from keras_cutmix import model as model_module

    calls = []
    original = model_module.apply_mix
    monkeypatch.setattr(model_module, "apply_mix", lambda *a, **k: calls.append(1) or original(*a, **k))
    x, y = _data(n=32)
    # "complete" labels: a mixed sample's label purity is exactly 0.5, an unmixed one's 1.
    trainer = keras_cutmix.CutMixModel(small_cnn(), seed=0, probability=1.0, mode="sample", label_mode="complete")
    trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), metrics=[label_purity], jit_compile=JIT)
    scheduler = keras_cutmix.MixingScheduler(trainer, start=0.0, end=1.0, ramp_epochs=2)
    seen, traces = [], []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: (seen.append(trainer.probability), traces.append(len(calls)))
    )
    history = trainer.fit(x, y, batch_size=B, epochs=4, verbose=0, callbacks=[scheduler, record])
    assert seen == [0.0, 0.5, 1.0, 1.0]
    purity = history.history["label_purity"]
    assert purity[0] == pytest.approx(1.0)  # probability 0: labels untouched
    assert 0.6 < purity[1] < 0.95  # about half the samples mixed
    assert purity[3] < 0.6  # (almost) all samples mixed (a box can round to 0 pixels)
    if BACKEND != "torch":  # torch runs eagerly: every step calls it
        assert traces[0] >= 1 and traces[-1] == traces[0], f"traces per epoch: {traces}"


def test_scheduler_drives_a_tf_data_layer_and_switches_off():
    import tensorflow as tf

    x, y = _data(n=32)
    layer = keras_cutmix.CutMix(num_classes=K, seed=0, mode="sample")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(B, drop_remainder=True).map(layer)
    model = small_cnn()
    model.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), metrics=[label_purity], jit_compile=JIT)
    scheduler = keras_cutmix.MixingScheduler(layer, start=1.0, end=1.0, off_epoch=2)
    history = model.fit(ds, epochs=3, verbose=0, callbacks=[scheduler])
    purity = history.history["label_purity"]
    assert purity[0] < 1.0 and purity[1] < 1.0 and purity[2] == pytest.approx(1.0)


def test_scheduler_schedules():
    layer = keras_cutmix.CutMix(probability=0.8)
    ramp = keras_cutmix.MixingScheduler(layer, ramp_epochs=4, off_epoch=10)
    assert [ramp.probability_at(e) for e in (0, 2, 4, 9, 10)] == pytest.approx([0.0, 0.4, 0.8, 0.8, 0.0])
    steps = keras_cutmix.MixingScheduler(layer, start=0.2, end=1.0, ramp_steps=100)
    assert steps.probability_at(0, 50) == pytest.approx(0.6) and steps.probability_at(3, 500) == pytest.approx(1.0)
    custom = keras_cutmix.MixingScheduler(layer, schedule=lambda e: 0.1 * e)
    assert custom.probability_at(3) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="end"):
        keras_cutmix.MixingScheduler(layer, end=2.0)
    with pytest.raises(ValueError, match="target"):
        keras_cutmix.MixingScheduler(object())
