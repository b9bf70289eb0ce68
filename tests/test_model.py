"""Issue #3: CutMix inside `fit` (input and feature level) and the probability scheduler."""

import pathlib

import keras
import numpy as np
import pytest
from helpers import assert_labels_are_pixel_shares, label_blends, source_images, to_numpy

import keras_cutmix

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
    np.testing.assert_allclose(
        to_numpy(trainer.predict(x, verbose=0)), to_numpy(model.predict(x, verbose=0)), atol=1e-5
    )
    loss, accuracy = trainer.evaluate(x, y, verbose=0)
    logits = to_numpy(model.predict(x, verbose=0))
    expected_loss = to_numpy(keras.losses.CategoricalCrossentropy(from_logits=True)(np.eye(K)[y], logits))
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-4)
    np.testing.assert_allclose(accuracy, np.mean(logits.argmax(1) == y), atol=1e-6)
    path = tmp_path / "trainer.keras"
    trainer.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, keras_cutmix.CutMixModel) and loaded.feature_layer == feature_layer
    assert loaded.get_config()["mixer"]["config"]["probability"] == 0.5 and loaded.get_config()["seed"] == 0
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


def _pooled_model():
    """(recorder, model): on constant images the feature map "pool" of image i is the constant i + 1."""
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
    return recorder, model


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
        assert_labels_are_pixel_shares(images, labels, B)
    assert not np.array_equal(trainer.labels_seen[0], trainer.labels_seen[1]), "each step must draw anew"


@pytest.mark.parametrize("policy", [None, "mixed_float16", "mixed_bfloat16"])
def test_feature_level_labels_equal_the_feature_map_shares(policy, monkeypatch):
    # The feature map of image i is the constant i + 1 (average pooling of a
    # constant image), 4 × 6 pixels: labels must match its pasted shares,
    # also in float16/bfloat16 (exact for these small integers).
    if policy:
        keras.config.set_dtype_policy(policy)  # conftest restores the global policy
    draws = []
    original = keras_cutmix.methods.CutMixOptions.sample
    monkeypatch.setattr(
        keras_cutmix.methods.CutMixOptions, "sample", lambda *a, **k: draws.append(1) or original(*a, **k)
    )
    recorder, model = _pooled_model()
    trainer = _RecordingTrainer(model, feature_layer="pool", seed=2, mode="sample")
    trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), run_eagerly=True)
    trainer.fit(source_images(B, H, 24), np.arange(B), batch_size=B, epochs=3, verbose=0, shuffle=False)
    assert len(draws) == 3, "one draw per step, for labels and features alike"
    assert len(recorder.seen) == 3 and recorder.seen[0].shape == (B, 4, 6, 3)
    assert recorder.seen[0].dtype == np.dtype(keras.config.dtype_policy().compute_dtype)
    mixed = 0
    for features, labels in zip(recorder.seen, trainer.labels_seen):
        fractions = assert_labels_are_pixel_shares(features, labels, B)
        mixed += int((np.diag(fractions) < 1).sum())
    assert mixed > 0


FEATURE_MIXERS = {
    "cutmix": lambda: keras_cutmix.CutMix(mode="sample"),
    "manifold_mixup": lambda: keras_cutmix.MixUp(mode="sample"),
}


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("mixer", sorted(FEATURE_MIXERS))
def test_feature_level_mixing_fits_compiled_under_mixed_precision(policy, mixer):
    # The step's draw reaches the feature map as a tensor of the step: no
    # model input for Keras to autocast (0.2: "Input 'y' of 'Less' Op has
    # type float16" on TensorFlow).
    keras.config.set_dtype_policy(policy)
    x, y = _data(n=16)
    model = small_cnn()
    trainer = keras_cutmix.CutMixModel(model, mixer=FEATURE_MIXERS[mixer](), feature_layer="conv1", seed=0)
    trainer.compile(
        "sgd", keras.losses.CategoricalCrossentropy(from_logits=True), metrics=[label_purity], jit_compile=JIT
    )
    before = [to_numpy(v).copy() for v in model.trainable_variables]
    history = trainer.fit(x, y, batch_size=B, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert history.history["label_purity"][0] < 1.0  # labels were mixed
    assert all(not np.array_equal(a, to_numpy(b)) for a, b in zip(before, model.trainable_variables))
    # call (predict) is the wrapped model, untouched (up to the half-precision rounding of two compilations).
    np.testing.assert_allclose(
        to_numpy(trainer.predict(x, verbose=0)), to_numpy(model.predict(x, verbose=0)), atol=1e-2
    )


FIXTURES = pathlib.Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize("name", ["cutmix", "manifold_mixup"])
def test_keras_files_saved_by_0_2_load(name):
    """Files written by 0.2's CutMixModel (tests/data/make_model_0_2_fixtures.py) load, predict and train on."""
    saved = np.load(FIXTURES / "model_0_2_predictions.npz")
    loaded = keras.saving.load_model(FIXTURES / f"model_0_2_{name}.keras")
    assert isinstance(loaded, keras_cutmix.CutMixModel)
    assert loaded.feature_layer == ("conv1" if name == "manifold_mixup" else None)
    assert type(loaded.mixer) is (keras_cutmix.MixUp if name == "manifold_mixup" else keras_cutmix.CutMix)
    assert loaded.options.num_classes == 3 and loaded.seed == (4 if name == "manifold_mixup" else 3)
    np.testing.assert_allclose(to_numpy(loaded.predict(saved["x"], verbose=0)), saved[name], atol=1e-5)
    # Compiled as saved (categorical twins, optimizer state): it trains on.
    assert isinstance(loaded.loss, keras.losses.CategoricalCrossentropy)
    history = loaded.fit(saved["x"], np.arange(8) % 3, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


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
    trainer.compile(
        "sgd", keras.losses.CategoricalCrossentropy(from_logits=True), metrics=[label_purity], jit_compile=JIT
    )
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
    model.compile(
        "sgd", keras.losses.CategoricalCrossentropy(from_logits=True), metrics=[label_purity], jit_compile=JIT
    )
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


# ---------------------------------------------------------------------------
# Every mixer in the model; what Keras users write (issues #10, #12)

MIXERS = {
    "mixup": lambda: keras_cutmix.MixUp(alpha=0.4),
    "cutout": lambda: keras_cutmix.Cutout(size=0.25),
    "cutmix_or_mixup": lambda: keras_cutmix.CutMixOrMixUp(mode="sample"),
    "resizemix": lambda: keras_cutmix.ResizeMix(),
    "fmix": lambda: keras_cutmix.FMix(),
}


@pytest.mark.parametrize("name", sorted(MIXERS))
def test_every_mixer_trains_in_the_model_and_round_trips(name, tmp_path):
    x, y = _data(n=16)
    mixer = MIXERS[name]()
    trainer = keras_cutmix.CutMixModel(small_cnn(), mixer=mixer, seed=0)
    # The model's output size, kept in the wrapper's options: the mixer is left as given.
    assert trainer.mixer is mixer and trainer.options.num_classes == K and mixer.num_classes is None
    trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), jit_compile=JIT)
    history = trainer.fit(x, y, batch_size=B, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and history.history["mixing_probability"] == [1.0]
    trainer.save(tmp_path / "trainer.keras")
    loaded = keras.saving.load_model(tmp_path / "trainer.keras")
    assert type(loaded.mixer) is type(mixer) and loaded.mixer.get_config() == mixer.get_config()
    np.testing.assert_allclose(
        to_numpy(loaded.predict(x, verbose=0)), to_numpy(trainer.predict(x, verbose=0)), atol=1e-5
    )


def test_mixer_and_options_are_exclusive_and_mixers_only():
    with pytest.raises(ValueError, match="either `mixer` or CutMix options"):
        keras_cutmix.CutMixModel(small_cnn(), mixer=keras_cutmix.MixUp(), alpha=0.5)
    with pytest.raises(ValueError, match="`mixer` must be a keras_cutmix layer"):
        keras_cutmix.CutMixModel(small_cnn(), mixer=keras.layers.RandomFlip())
    with pytest.raises(TypeError, match=r"`prob`: did you mean `probability`"):
        keras_cutmix.CutMixModel(small_cnn(), prob=0.5)


def test_manifold_mixup_labels_are_the_feature_blend_weights():
    # MixUp on the feature map of constant images: feature i is the constant
    # i + 1, so each mixed feature map tells its blend weight.
    recorder, model = _pooled_model()
    trainer = _RecordingTrainer(model, mixer=keras_cutmix.MixUp(mode="sample"), feature_layer="pool", seed=2)
    trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), run_eagerly=True)
    trainer.fit(source_images(B, H, 24), np.arange(B), batch_size=B, epochs=2, verbose=0, shuffle=False)
    for features, labels in zip(recorder.seen, trainer.labels_seen):
        # Every pixel of feature map i is (1 − w)(i + 1) + w(j + 1), one partner j of weight w.
        np.testing.assert_allclose(
            features, np.broadcast_to(label_blends(labels, B)[:, None, None, None], features.shape), atol=1e-4
        )
        assert np.all((labels > 0).sum(axis=1) <= 2)


@pytest.mark.parametrize(
    "loss,metrics",
    [
        (keras.losses.SparseCategoricalCrossentropy(from_logits=True), [keras.metrics.SparseCategoricalAccuracy()]),
        ("sparse_categorical_crossentropy", ["sparse_categorical_accuracy", "accuracy"]),
    ],
    ids=["objects", "names"],
)
def test_sparse_losses_and_metrics_are_swapped_with_a_warning(loss, metrics):
    x, y = _data(n=16)
    from_logits = not isinstance(loss, str)  # the string loss expects probabilities
    model = small_cnn()
    if not from_logits:
        model = keras.Sequential([model, keras.layers.Softmax()])
    trainer = keras_cutmix.CutMixModel(model, seed=0)
    with pytest.warns(UserWarning, match="categorical twins"):
        trainer.compile("sgd", loss, metrics=metrics, jit_compile=JIT)
    history = trainer.fit(x, y, batch_size=B, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and "sparse_categorical_accuracy" in history.history
    loss_value, accuracy = trainer.evaluate(x, y, verbose=0)[:2]
    probabilities = to_numpy(trainer.predict(x, verbose=0))
    if from_logits:
        probabilities = to_numpy(keras.ops.softmax(probabilities))
    np.testing.assert_allclose(loss_value, -np.mean(np.log(probabilities[np.arange(16), y])), rtol=1e-4)
    np.testing.assert_allclose(accuracy, np.mean(probabilities.argmax(1) == y), atol=1e-6)
    with pytest.raises(ValueError, match="ignore_class"):
        trainer.compile("sgd", keras.losses.SparseCategoricalCrossentropy(ignore_class=0))


def test_compile_takes_what_it_is_not_given_from_a_compiled_model():
    x, y = _data(n=16)
    model = small_cnn()
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    trainer = keras_cutmix.CutMixModel(model, seed=0)
    with pytest.warns(UserWarning, match="categorical twins"):
        trainer.compile(jit_compile=JIT)
    assert trainer.optimizer is model.optimizer
    history = trainer.fit(x, y, batch_size=B, epochs=1, verbose=0)
    assert {"loss", "sparse_categorical_accuracy", "mixing_probability"} <= set(history.history)


class _Subclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.dense = keras.layers.Dense(K)

    def call(self, x):
        return self.dense(self.pool(x))


def test_subclassed_models_get_num_classes_when_built():
    x, y = _data(n=16)
    trainer = keras_cutmix.CutMixModel(_Subclassed(), seed=0)
    assert trainer.mixer.num_classes is None
    trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), jit_compile=JIT)
    history = trainer.fit(x, y, batch_size=B, epochs=1, verbose=0)
    assert trainer.options.num_classes == K and np.isfinite(history.history["loss"][0])
    assert trainer.mixer.num_classes is None


def test_dict_batches_and_singular_keys_fit():
    import tensorflow as tf

    x, y = _data(n=16)
    for keys in (("images", "labels"), ("image", "label")):
        ds = tf.data.Dataset.from_tensor_slices({keys[0]: x, keys[1]: y}).batch(B)
        trainer = keras_cutmix.CutMixModel(small_cnn(), seed=0)
        trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), jit_compile=JIT)
        history = trainer.fit(ds, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])


def test_label_heads_are_mixed_with_the_same_weights():
    images = keras.Input((H, W, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(images))
    model = keras.Model(
        images,
        {
            "kind": keras.layers.Dense(K, name="kind")(features),
            "colour": keras.layers.Dense(3, name="colour")(features),
        },
    )
    seen = []

    class Recording(keras_cutmix.CutMixModel):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            if training:
                seen.append({key: to_numpy(value) for key, value in y.items()})
            return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)

    trainer = Recording(model, seed=0, mode="sample")
    assert trainer.options.num_classes == {"kind": K, "colour": 3}
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    trainer.compile("sgd", {"kind": loss, "colour": loss}, run_eagerly=True)
    x = source_images(B, H, W)
    trainer.fit(
        x, {"kind": np.arange(B) % K, "colour": np.arange(B) % 3}, batch_size=B, epochs=1, verbose=0, shuffle=False
    )
    kind, colour = seen[0]["kind"], seen[0]["colour"]
    # The same partner and weight in both heads.
    np.testing.assert_allclose(kind @ np.eye(K)[np.arange(B) % K].T @ np.eye(3)[np.arange(B) % 3], colour, atol=1e-6)
