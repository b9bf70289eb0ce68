"""Write the `.keras` files of CutMixModel as keras_cutmix 0.2 saved them (run once, with 0.2's code).

tests/test_model_saving.py loads them with the current code: the files are
kept as 0.2 wrote them so that a format change that breaks loading fails
there. Made with `PYTHONPATH=. KERAS_BACKEND=tensorflow python
tests/data/make_model_0_2_fixtures.py` at commit cc18998 (main, before the
CutMixModel rebuild of issue #19).
"""

import pathlib

import keras
import numpy as np

import keras_cutmix

HERE = pathlib.Path(__file__).resolve().parent
H, W, K = 8, 8, 3


def tiny_cnn():
    return keras.Sequential(
        [
            keras.Input((H, W, 3)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(K, name="logits"),
        ]
    )


def main():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((8, H, W, 3)).astype("float32")
    y = np.arange(8) % K
    trainers = {
        "cutmix": keras_cutmix.CutMixModel(tiny_cnn(), probability=0.5, seed=3),
        "manifold_mixup": keras_cutmix.CutMixModel(
            tiny_cnn(), mixer=keras_cutmix.MixUp(alpha=0.4), feature_layer="conv1", seed=4
        ),
    }
    predictions = {"x": x}
    for name, trainer in trainers.items():
        trainer.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        trainer.fit(x, y, batch_size=4, epochs=1, verbose=0)
        trainer.save(HERE / f"model_0_2_{name}.keras")
        predictions[name] = np.asarray(trainer.predict(x, verbose=0))
    np.savez(HERE / "model_0_2_predictions.npz", **predictions)


if __name__ == "__main__":
    main()
