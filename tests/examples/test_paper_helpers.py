"""The helpers behind the examples: IDX reader, CAM, localization score, ECE, FGSM, plots.

Fast and offline; the test that reads the real Debian Fashion-MNIST files
skips when they are absent. fit_compare.py's own tests are in test_fit_compare.py.
"""

import ast
import gzip
import os
import pathlib
import struct
import sys

import keras
import numpy as np
import pytest

import keras_cutmix

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from paper import datasets, evaluation, visualize  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------
# IDX files and Fashion-MNIST


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_idx_round_trip(tmp_path, suffix, dtype):
    array = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    if dtype == "uint8":
        array = np.arange(30, dtype="uint8").reshape(2, 3, 5) * 8
    path = tmp_path / f"a.idx{suffix}"
    datasets.write_idx(path, array)
    back = datasets.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_idx_reads_the_published_layout(tmp_path):
    # Written byte by byte from the IDX spec: magic 0 0 type ndim, big-endian dims, big-endian data.
    raw = bytes([0, 0, 0x0C, 2]) + struct.pack(">II", 2, 3) + struct.pack(">6i", 1, -2, 3, 70000, 5, -6)
    path = tmp_path / "labels-idx2-int.gz"
    with gzip.open(path, "wb") as f:
        f.write(raw)
    np.testing.assert_array_equal(datasets.read_idx(path), [[1, -2, 3], [70000, 5, -6]])
    # ... and write_idx writes exactly those bytes.
    datasets.write_idx(tmp_path / "again", np.array([[1, -2, 3], [70000, 5, -6]], "int32"))
    assert (tmp_path / "again").read_bytes() == raw


def test_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"\x00" * 4)
    with pytest.raises(ValueError, match="10"):
        datasets.read_idx(tmp_path / "short")


def test_load_fashion_mnist_from_generated_files(tmp_path, fake_fashion_mnist):
    arrays = fake_fashion_mnist(tmp_path)
    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist(tmp_path)
    for got, key in [
        (x_train, "train_images"),
        (y_train, "train_labels"),
        (x_test, "test_images"),
        (y_test, "test_labels"),
    ]:
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[key])
    assert len(datasets.FASHION_MNIST_CLASSES) == 10


def test_load_fashion_mnist_missing_files_say_how(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        datasets.load_fashion_mnist(tmp_path)


@pytest.mark.skipif(
    not os.path.isfile(os.path.join(datasets.FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")),
    reason="Debian package dataset-fashion-mnist not installed",
)
def test_real_fashion_mnist():
    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    np.testing.assert_array_equal(y_train[:10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])  # the published first labels


# ---------------------------------------------------------------------------
# Class activation maps


def _gap_dense_model(height=6, width=5, channels=2, features=3, classes=4, strides=1, dropout=False, seed=0):
    rng = np.random.default_rng(seed)
    inputs = keras.Input((height, width, channels))
    maps = keras.layers.Conv2D(features, 1, strides=strides, name="features")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(maps)
    if dropout:
        pooled = keras.layers.Dropout(0.5)(pooled)
    outputs = keras.layers.Dense(classes, name="classifier")(pooled)
    model = keras.Model(inputs, outputs)
    conv_w = rng.normal(size=(1, 1, channels, features)).astype("float32")
    conv_b = rng.normal(size=(features,)).astype("float32")
    dense_w = rng.normal(size=(features, classes)).astype("float32")
    dense_b = rng.normal(size=(classes,)).astype("float32")
    model.get_layer("features").set_weights([conv_w, conv_b])
    model.get_layer("classifier").set_weights([dense_w, dense_b])
    return model, (conv_w[0, 0], conv_b, dense_w, dense_b)


@pytest.mark.parametrize("dropout", [False, True])
def test_cam_equals_hand_computation(dropout):
    model, (conv_w, conv_b, dense_w, dense_b) = _gap_dense_model(dropout=dropout)
    images = np.random.default_rng(1).normal(size=(3, 6, 5, 2)).astype("float32")
    features = images @ conv_w + conv_b  # (B, H, W, K): the 1×1 convolution by hand
    class_ids = np.array([0, 3, 1])
    expected = np.einsum("bhwk,kb->bhw", features, dense_w[:, class_ids])
    cams = evaluation.class_activation_maps(model, images, class_ids)
    assert cams.shape == (3, 6, 5) and cams.dtype == np.float32
    np.testing.assert_allclose(cams, expected, rtol=1e-4, atol=1e-4)
    # The mean of CAM_c plus the bias is the logit of c.
    logits = keras.ops.convert_to_numpy(model(images))
    np.testing.assert_allclose(
        cams.mean(axis=(1, 2)) + dense_b[class_ids], logits[np.arange(3), class_ids], rtol=1e-4, atol=1e-4
    )


def test_cam_defaults_to_the_predicted_class_and_takes_several_classes():
    model, (conv_w, conv_b, dense_w, _) = _gap_dense_model()
    images = np.random.default_rng(2).normal(size=(5, 6, 5, 2)).astype("float32")
    predicted = keras.ops.convert_to_numpy(model(images)).argmax(axis=1)
    np.testing.assert_allclose(
        evaluation.class_activation_maps(model, images),
        evaluation.class_activation_maps(model, images, predicted),
        rtol=1e-6,
    )
    ids = np.array([[0, 1], [2, 3], [3, 0], [1, 1], [0, 2]])
    both = evaluation.class_activation_maps(model, images, ids)
    assert both.shape == (5, 2, 6, 5)
    for k in range(2):
        np.testing.assert_allclose(
            both[:, k], evaluation.class_activation_maps(model, images, ids[:, k]), rtol=1e-5, atol=1e-6
        )
    scalar = evaluation.class_activation_maps(model, images, 2)
    np.testing.assert_allclose(scalar, evaluation.class_activation_maps(model, images, [2] * 5), rtol=1e-6)


def test_cam_upsamples_to_the_image_size():
    model, (conv_w, conv_b, dense_w, _) = _gap_dense_model(height=8, width=12, strides=2)
    images = np.random.default_rng(3).normal(size=(2, 8, 12, 2)).astype("float32")
    small = evaluation.class_activation_maps(model, images, [0, 1], upsample=False)
    features = images[:, ::2, ::2] @ conv_w + conv_b
    np.testing.assert_allclose(small, np.einsum("bhwk,kb->bhw", features, dense_w[:, [0, 1]]), rtol=1e-4, atol=1e-4)
    big = evaluation.class_activation_maps(model, images, [0, 1])
    assert big.shape == (2, 8, 12) and np.isfinite(big).all()
    # Bilinear upsampling stays within the range of the small map.
    assert big.min() >= small.min() - 1e-4 and big.max() <= small.max() + 1e-4


def test_cam_needs_gap_and_dense():
    flat = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="GlobalAveragePooling2D"):
        evaluation.class_activation_maps(flat, np.zeros((1, 4, 4, 1), "float32"))
    no_dense = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 1), keras.layers.GlobalAveragePooling2D()]
    )
    with pytest.raises(ValueError, match="no Dense layer"):
        evaluation.class_activation_maps(no_dense, np.zeros((1, 4, 4, 1), "float32"))
    model, _ = _gap_dense_model()
    with pytest.raises(ValueError, match="class_ids"):
        evaluation.class_activation_maps(model, np.zeros((2, 6, 5, 2), "float32"), [0, 9])


def test_cam_works_on_a_sequential_model():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )
    cams = evaluation.class_activation_maps(model, np.random.rand(2, 8, 8, 3).astype("float32"))
    assert cams.shape == (2, 8, 8)


def _identity_cam_model(size=8):
    """CAM of class c = channel c of the image (1×1 identity conv, identity dense, no biases)."""
    inputs = keras.Input((size, size, 2))
    maps = keras.layers.Conv2D(2, 1, use_bias=False, name="features")(inputs)
    outputs = keras.layers.Dense(2, use_bias=False, name="classifier")(keras.layers.GlobalAveragePooling2D()(maps))
    model = keras.Model(inputs, outputs)
    model.get_layer("features").set_weights([np.eye(2, dtype="float32")[None, None]])
    model.get_layer("classifier").set_weights([np.eye(2, dtype="float32")])
    return model


def test_cam_localization_score_bounds():
    model = _identity_cam_model()
    n, size = 4, 8
    region_a = np.zeros((n, size, size), bool)
    region_a[:, :, : size // 2] = True
    a, b = np.zeros(n, "int64"), np.ones(n, "int64")
    perfect = np.zeros((n, size, size, 2), "float32")
    perfect[:, :, : size // 2, 0] = 1.0  # evidence for class 0 only on the left (a's half)
    perfect[:, :, size // 2 :, 1] = 2.0  # for class 1 only on the right
    assert evaluation.cam_localization_score(model, perfect, region_a, a, b) == pytest.approx(1.0)
    swapped = perfect[:, :, ::-1]
    assert evaluation.cam_localization_score(model, swapped, region_a, a, b) == pytest.approx(0.0)
    uniform = np.ones((n, size, size, 2), "float32")
    assert evaluation.cam_localization_score(model, uniform, region_a, a, b) == pytest.approx(0.5)
    # Half of class 0's mass misplaced: (0.5 + 1) / 2.
    half = perfect.copy()
    half[:, :, size // 2 :, 0] = 1.0
    per_image = evaluation.cam_localization_score(model, half, region_a, a, b, return_per_image=True)
    np.testing.assert_allclose(per_image, 0.75, rtol=1e-5)
    # No positive mass: the area share (chance).
    assert evaluation.cam_localization_score(model, -uniform, region_a, a, b) == pytest.approx(0.5)


def test_two_class_composites():
    rng = np.random.default_rng(0)
    images = rng.random((30, 6, 7, 1)).astype("float32")
    labels = np.arange(30) % 3
    composites, region_a, la, lb = evaluation.two_class_composites(images, labels, 50, seed=1)
    assert composites.shape == (50, 6, 7, 1) and region_a.shape == (50, 6, 7)
    assert (la != lb).all()
    assert region_a[:, :, :3].all() and not region_a[:, :, 3:].any()
    # Each half comes from one image of the announced class.
    for i in range(50):
        left = [j for j in range(30) if np.array_equal(images[j, :, :3], composites[i, :, :3])]
        right = [j for j in range(30) if np.array_equal(images[j, :, 3:], composites[i, :, 3:])]
        assert labels[left[0]] == la[i] and labels[right[0]] == lb[i]
    again = evaluation.two_class_composites(images, labels, 50, seed=1)
    np.testing.assert_array_equal(again[0], composites)


# ---------------------------------------------------------------------------
# Calibration


def test_ece_of_calibrated_and_overconfident_predictions():
    labels = np.array([0] * 8 + [1] * 2)
    calibrated = np.tile([0.8, 0.2], (10, 1))  # 80% confident, 80% right
    assert evaluation.expected_calibration_error(calibrated, labels) == pytest.approx(0.0, abs=1e-12)
    overconfident = np.tile([0.99, 0.01], (10, 1))
    labels_half = np.array([0, 1] * 5)  # 99% confident, 50% right
    assert evaluation.expected_calibration_error(overconfident, labels_half) == pytest.approx(0.49)
    # One-hot labels are accepted.
    assert evaluation.expected_calibration_error(overconfident, np.eye(2)[labels_half]) == pytest.approx(0.49)


def test_ece_by_hand_with_two_bins():
    probs = np.array([[0.6, 0.4], [0.7, 0.3], [0.95, 0.05], [0.05, 0.95]])
    labels = np.array([0, 1, 0, 0])
    # bins=2: (0, .5], (.5, 1] → every confidence lands in bin 1: accuracy 2/4, mean confidence 0.8
    assert evaluation.expected_calibration_error(probs, labels, bins=2) == pytest.approx(abs(0.5 - 0.8))
    # bins=10: [.6]: acc 1, conf .6; [.7]: acc 0, conf .7; [.95 ×2]: acc .5, conf .95
    expected = (abs(1 - 0.6) + abs(0 - 0.7) + 2 * abs(0.5 - 0.95)) / 4
    assert evaluation.expected_calibration_error(probs, labels, bins=10) == pytest.approx(expected)
    with pytest.raises(ValueError, match="bins"):
        evaluation.expected_calibration_error(probs, labels, bins=0)


# ---------------------------------------------------------------------------
# FGSM


def _mean_intensity_model():
    """logit_1 − logit_0 = 20·(mean(x) − 0.5): class 1 iff the image is bright."""
    inputs = keras.Input((4, 4, 1))
    outputs = keras.layers.Dense(2, name="classifier")(keras.layers.GlobalAveragePooling2D()(inputs))
    model = keras.Model(inputs, outputs)
    model.get_layer("classifier").set_weights([np.array([[-10.0, 10.0]], "float32"), np.array([5.0, -5.0], "float32")])
    return model


def _toy_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    centre = np.where(labels == 1, 0.6, 0.4)[:, None, None, None]
    images = np.clip(centre + rng.uniform(-0.08, 0.08, (n, 4, 4, 1)), 0, 1).astype("float32")
    return images, labels


def test_input_gradients_match_finite_differences():
    model = _mean_intensity_model()
    images, labels = _toy_data(4)
    grads = evaluation.input_gradients(model, images, labels)
    assert grads.shape == images.shape
    onehot = np.eye(2, dtype="float32")[labels]

    def loss(x):
        out = keras.ops.convert_to_numpy(model(x)).astype("float64")
        out = out - out.max(1, keepdims=True)
        logp = out - np.log(np.exp(out).sum(1, keepdims=True))
        return -(onehot * logp).sum()

    h = 1e-2
    for index in [(0, 0, 0, 0), (1, 2, 3, 0), (3, 1, 1, 0)]:
        bumped_up, bumped_down = images.copy(), images.copy()
        bumped_up[index] += h
        bumped_down[index] -= h
        numeric = (loss(bumped_up) - loss(bumped_down)) / (2 * h)
        assert grads[index] == pytest.approx(numeric, rel=2e-2, abs=1e-4)


def test_fgsm_attack_moves_every_pixel_by_epsilon():
    model = _mean_intensity_model()
    images, labels = _toy_data()
    adversarial = evaluation.fgsm_attack(model, images, labels, 0.05)
    delta = adversarial - images
    assert np.allclose(np.abs(delta), 0.05, atol=1e-6)
    # Towards the other class: darker for bright (class 1) images, brighter for dark ones.
    assert (delta[labels == 1] < 0).all() and (delta[labels == 0] > 0).all()
    clipped = evaluation.fgsm_attack(model, images, labels, 0.9)
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0


def test_fgsm_accuracy_of_a_hand_set_model():
    model = _mean_intensity_model()
    images, labels = _toy_data()
    epsilons = [0.0, 0.05, 0.12, 0.3]
    accuracies = evaluation.fgsm_accuracy(model, images, labels, epsilons, batch_size=16)
    assert accuracies[0] == 1.0  # the toy classes are separated by 0.04 around 0.5
    assert accuracies[-1] == 0.0  # 0.3 > 0.1 + 0.08: every mean crosses 0.5
    assert all(a >= b for a, b in zip(accuracies, accuracies[1:]))
    assert evaluation.fgsm_accuracy(model, images, labels, 0.3) == 0.0
    with pytest.raises(ValueError, match="epsilon"):
        evaluation.fgsm_accuracy(model, images, labels, -0.1)


def test_fgsm_on_a_tiny_trained_model():
    keras.utils.set_random_seed(0)
    images, labels = _toy_data(128, seed=1)
    model = keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images, labels, epochs=60, batch_size=32, verbose=0)
    test_images, test_labels = _toy_data(64, seed=2)
    clean = float((keras.ops.convert_to_numpy(model.predict(test_images, verbose=0)).argmax(1) == test_labels).mean())
    assert clean > 0.9
    accuracies = evaluation.fgsm_accuracy(model, test_images, test_labels, [0.0, 0.15, 0.3])
    assert accuracies[0] == pytest.approx(clean)
    assert accuracies[1] < clean and accuracies[2] <= accuracies[1]
    probs = evaluation.predict_probabilities(model, test_images)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert 0.0 <= evaluation.expected_calibration_error(probs, test_labels) <= 1.0


# ---------------------------------------------------------------------------
# Plots


def _no_module_level_import(path, module):
    tree = ast.parse(pathlib.Path(path).read_text())
    for node in tree.body:
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == module for alias in node.names):
            return False
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == module:
            return False
    return True


def test_matplotlib_is_imported_lazily():
    for name in ("visualize.py", "evaluation.py", "datasets.py", "__init__.py"):
        assert _no_module_level_import(ROOT / "examples" / "paper" / name, "matplotlib"), name


def test_plot_mixed_batch_prints_the_exact_weights(tmp_path):
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 28, 28, 1), dtype="uint8")
    labels = np.arange(8) % 4
    mixed, soft = keras_cutmix.CutMix(num_classes=4, seed=3)(images, labels)
    soft = keras.ops.convert_to_numpy(soft)
    names = ["zero", "one", "two", "three"]
    path = tmp_path / "grid.png"
    figure = visualize.plot_mixed_batch(mixed, soft, names, path, columns=4, title="CutMix")
    assert path.read_bytes()[:8] == PNG_MAGIC
    titles = [ax.get_title() for ax in figure.axes]
    assert len(titles) == 8
    for title, row in zip(titles, soft):
        for c in np.flatnonzero(row > 0):
            assert f"{names[c]}: {row[c]:.4f}" in title
            if row[c] < 1:
                assert f"({int(round(row[c] * 784))}/784 px)" in title


def test_plots_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    histories = {
        "baseline": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "val_accuracy": [0.6, 0.8]},
        "cutmix": {"loss": [1.2, 0.8], "val_loss": [1.0, 0.6], "val_accuracy": [0.65, 0.85]},
    }
    visualize.plot_training_curves(histories, tmp_path / "curves.png")
    images = np.random.default_rng(0).random((3, 8, 8, 1)).astype("float32")
    cams = {
        "baseline": np.random.default_rng(1).normal(size=(3, 8, 8)),
        "cutmix": np.random.default_rng(2).normal(size=(3, 2, 8, 8)),
    }
    visualize.plot_class_activation_maps(
        images, cams, tmp_path / "cam.png", image_titles=["a", "b", "c"], cam_titles={"cutmix": ["left", "right"]}
    )
    visualize.plot_fgsm_curves(
        [0, 2 / 255, 8 / 255], {"baseline": [0.9, 0.5, 0.1], "cutmix": [0.9, 0.6, 0.3]}, tmp_path / "fgsm.png"
    )
    for name in ("curves.png", "cam.png", "fgsm.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC, name


def test_plots_with_spread_over_seeds(tmp_path):
    pytest.importorskip("matplotlib")
    seeds = [
        {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "val_accuracy": [0.6, 0.8]},
        {"loss": [1.1, 0.6], "val_loss": [1.0, 0.8], "val_accuracy": [0.62, 0.78]},
    ]
    figure = visualize.plot_training_curves({"baseline": seeds, "cutmix": seeds[0]}, tmp_path / "curves.png")
    first = figure.axes[0]
    assert len(first.collections) == 1  # one ± std band: the run with two seeds
    np.testing.assert_allclose(first.lines[0].get_ydata(), [1.05, 0.55])  # its mean
    figure = visualize.plot_fgsm_curves(
        [0, 8 / 255], {"baseline": [[0.9, 0.2], [0.8, 0.4]], "cutmix": [0.9, 0.3]}, tmp_path / "fgsm.png"
    )
    bars = [c for c in figure.axes[0].containers if c.has_yerr]
    assert len(bars) == 1
    figure = visualize.plot_metric_bars(
        {"baseline": [0.16, 0.15, 0.17], "cutmix": [0.15, 0.155, 0.16]}, tmp_path / "bars.png"
    )
    heights = [patch.get_height() for patch in figure.axes[0].patches]
    np.testing.assert_allclose(heights, [16.0, 15.5])  # means, in percent
    differences = {"Δ top-1 err (pp)": {"cutmix": {"n": 3, "mean": -0.005, "ci_low": -0.02, "ci_high": 0.01}}}
    figure = visualize.plot_paired_differences(
        differences, tmp_path / "differences.png", scale={"Δ top-1 err (pp)": 100.0}
    )
    np.testing.assert_allclose(
        np.asarray(figure.axes[0].lines[0].get_xdata(), dtype="float64"), [-0.5]
    )  # the mean, in points
    for name in ("curves.png", "fgsm.png", "bars.png", "differences.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC, name


def test_normalize_cam():
    cam = np.array([[[-1.0, 0.0], [1.0, 3.0]], [[-2.0, -1.0], [-1.0, 0.0]]])
    out = visualize.normalize_cam(cam)
    np.testing.assert_allclose(out[0], [[0, 0], [1 / 3, 1]])
    np.testing.assert_allclose(out[1], 0.0)


# ---------------------------------------------------------------------------
# The example itself, at a toy budget (TensorFlow backend, as `make demo`).


def test_cam_after_training_with_a_feature_level_cutmix_model():
    # CutMixModel(feature_layer=...) calls the model's layers in a second graph
    # (head and tail); the CAM must still cut the original model.
    model, _ = _gap_dense_model(height=8, width=8)
    trainer = keras_cutmix.CutMixModel(model, feature_layer="features", seed=0)
    trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True))
    images = np.random.default_rng(0).normal(size=(8, 8, 8, 2)).astype("float32")
    trainer.fit(images, np.arange(8) % 4, batch_size=4, epochs=1, verbose=0)
    cams = evaluation.class_activation_maps(model, images, np.zeros(8, "int64"))
    assert cams.shape == (8, 8, 8)
    logits = keras.ops.convert_to_numpy(model(images))
    bias = keras.ops.convert_to_numpy(model.get_layer("classifier").bias)
    np.testing.assert_allclose(cams.mean(axis=(1, 2)) + bias[0], logits[:, 0], rtol=1e-4, atol=1e-4)


def test_package_exports():
    # The examples' helpers live in examples/paper, outside the package.
    assert not {"evaluation", "visualize", "datasets", "plot_mixed_batch"} & set(keras_cutmix.__all__)
    for name in keras_cutmix.__all__:
        assert hasattr(keras_cutmix, name), name
