"""Interrupting and resuming `fit` with BackupAndRestore continues the augmentation stream.

Run A fits 4 epochs uninterrupted. Run B fits with the same BackupAndRestore
directory, is interrupted at the end of epoch 2 (a callback raising, as in
Keras' own BackupAndRestore tests), then a fresh model (as after a restart)
resumes from the backup. B must end with A's weights, and the seeds of B's
steps must continue A's, not start over.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import to_numpy

import keras_cutmix

N, H, W, C, K, BATCH, EPOCHS, INTERRUPT_AT = 32, 8, 8, 3, 4, 8, 4, 1  # 4 steps/epoch; stop after epoch index 1
STEPS = N // BATCH


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == INTERRUPT_AT:
            raise RuntimeError("Interrupting!")


class RecordSteps(keras.callbacks.Callback):
    """The optimizer step at the start of each batch: CutMixModel's per-step seed is (seed, step)."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_begin(self, batch, logs=None):
        self.steps.append(int(to_numpy(self.model.optimizer.iterations)))


def _data():
    rng = np.random.default_rng(0)
    return rng.random((N, H, W, C), dtype=np.float32), rng.integers(0, K, N)


def _model():
    return keras.Sequential(
        [
            keras.Input((H, W, C)),
            keras.layers.Flatten(),
            keras.layers.Dense(K, kernel_initializer=keras.initializers.GlorotUniform(seed=1)),
        ]
    )


def _weights(model):
    return [to_numpy(w) for w in model.weights]


def _assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def _fit_interrupted_then_resumed(build, fit, backup_dir):
    """Run B: interrupted after epoch INTERRUPT_AT + 1, then resumed by a fresh build."""
    first = build()
    with pytest.raises(RuntimeError, match="Interrupting!"):
        fit(first, [keras.callbacks.BackupAndRestore(backup_dir), Interrupt()])
    resumed = build()
    fit(resumed, [keras.callbacks.BackupAndRestore(backup_dir)])
    return first, resumed


def test_cutmix_model_resumes_its_seed_stream(tmp_path):
    x, y = _data()

    def build():
        trainer = keras_cutmix.CutMixModel(_model(), seed=7, probability=1.0)
        trainer.compile(keras.optimizers.SGD(0.1), keras.losses.CategoricalCrossentropy(from_logits=True))
        # No build call: the wrapped model is built, so the trainer is, and
        # BackupAndRestore (which refuses unbuilt models) accepts it as is.
        assert trainer.built
        trainer.record = RecordSteps()
        return trainer

    def fit(trainer, callbacks):
        trainer.fit(
            x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=callbacks + [trainer.record]
        )

    uninterrupted = build()
    fit(uninterrupted, [])
    assert uninterrupted.record.steps == list(range(EPOCHS * STEPS))

    first, resumed = _fit_interrupted_then_resumed(build, fit, str(tmp_path / "backup"))
    done = (INTERRUPT_AT + 1) * STEPS
    assert first.record.steps == list(range(done))
    # The optimizer step (hence the seed) is restored: the stream continues.
    assert resumed.record.steps == list(range(done, EPOCHS * STEPS))
    _assert_same_weights(_weights(resumed.model), _weights(uninterrupted.model))


class EpochSeed(keras.callbacks.Callback):
    """The recipe for tf.data pipelines: a seed word the pipeline reads, set from fit's epoch.

    BackupAndRestore restores the epoch `fit` resumes from, so seeding each
    batch with (epoch, batch index) makes the pipeline's stream resume too.
    """

    def __init__(self):
        super().__init__()
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch.assign(epoch)


def _pipeline_fit(make_dataset, extra_callbacks=()):
    def build():
        model = _model()
        model.compile(keras.optimizers.SGD(0.1), keras.losses.CategoricalCrossentropy(from_logits=True))
        model.epoch_seed = EpochSeed()
        model.train_data = make_dataset(model.epoch_seed.epoch)
        return model

    def fit(model, callbacks):
        model.fit(model.train_data, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=callbacks + [model.epoch_seed])

    return build, fit


def _recipe_dataset(epoch):
    x, y = _data()
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    return batches.enumerate().map(
        lambda i, batch: keras_cutmix.cutmix(*batch, seed=tf.stack([epoch, i]), num_classes=K)
    )


def _layer_dataset(epoch):
    x, y = _data()
    layer = keras_cutmix.CutMix(num_classes=K, seed=7)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).map(layer)


def test_tf_data_recipe_resumes_the_stream(tmp_path):
    build, fit = _pipeline_fit(_recipe_dataset)
    uninterrupted = build()
    fit(uninterrupted, [])
    _, resumed = _fit_interrupted_then_resumed(build, fit, str(tmp_path / "backup"))
    _assert_same_weights(_weights(resumed), _weights(uninterrupted))


def test_tf_data_recipe_draws_continue_not_repeat():
    # Epochs draw distinct batches; the draws of epoch e are a function of e alone.
    epoch = tf.Variable(0, dtype=tf.int64)
    draws = {}
    for e in (0, 1, 2, 3, 2):
        epoch.assign(e)
        labels = np.concatenate([to_numpy(b[1]) for b in _recipe_dataset(epoch)])
        if e in draws:
            np.testing.assert_array_equal(labels, draws[e])
        draws[e] = labels
    assert len({v.tobytes() for v in draws.values()}) == 4


def test_stateful_layer_in_tf_data_restarts_its_stream_on_resume(tmp_path):
    """What the recipe fixes: the layer's seed stream is not part of the model.

    BackupAndRestore saves the model (weights, optimizer, epoch), not a layer
    that only runs in the input pipeline, so a restarted process draws the
    layer's stream from its start again: the resumed epochs repeat the first
    epochs' boxes, and training differs from the uninterrupted run.
    """
    build, fit = _pipeline_fit(_layer_dataset)
    uninterrupted = build()
    fit(uninterrupted, [])
    _, resumed = _fit_interrupted_then_resumed(build, fit, str(tmp_path / "backup"))
    a, b = _weights(uninterrupted), _weights(resumed)
    assert not all(np.allclose(x, y, rtol=1e-5, atol=1e-6) for x, y in zip(a, b))
