"""Distributed training: tf.distribute.MirroredStrategy and Keras' DataParallel on JAX.

Device counts are fixed when TensorFlow or JAX initialise, so every scenario
runs in a fresh subprocess (this file run as a script) on two logical CPU
devices and prints its results as JSON; the tests assert on them.

The images say where every pixel came from: sample i of the dataset is the
constant image i + 1 with class id i, and num_classes is the dataset size, so
the exact label of a mixed image is the share of its pixels from each source.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BACKEND = keras.backend.backend()

N, B, H, W = 32, 8, 8, 8  # dataset size (= classes), global batch, image size
REPLICAS = 2
LOCAL = B // REPLICAS  # per-replica batch


# ---------------------------------------------------------------------------
# Scenarios (run in the subprocess)


def _source_images(dtype="uint8"):
    return np.broadcast_to(np.arange(1, N + 1)[:, None, None, None], (N, H, W, 1)).astype(dtype)


def _two_logical_cpus():
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS)
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(REPLICAS)])


def _per_replica(strategy, values):
    return [np.asarray(v.numpy()) for v in strategy.experimental_local_results(values)]


def _replica_batches(strategy, distributed):
    """[step][replica] → images[..., 0] (ints), labels, dtypes."""
    steps = []
    for images, labels in distributed:
        steps.append(
            [
                {
                    "images": x[..., 0].astype(int).tolist(),
                    "labels": y.tolist(),
                    "shape": list(x.shape),
                    "dtype": str(x.dtype),
                    "label_dtype": str(y.dtype),
                }
                for x, y in zip(_per_replica(strategy, images), _per_replica(strategy, labels))
            ]
        )
    return steps


def scenario_tensorflow():
    strategy = _two_logical_cpus()
    return {
        "replicas": strategy.num_replicas_in_sync,
        "dataset": tf_dataset_run(strategy),
        "model": tf_model_run(strategy),
    }


def tf_dataset_run(strategy):
    import tensorflow as tf

    import keras_cutmix

    x, y = _source_images(), np.arange(N)

    def global_batches():
        # The map sees the global batch; TF splits it between the replicas afterwards.
        cutmix = keras_cutmix.CutMix(num_classes=N, seed=3, mode="sample")
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(B).map(cutmix)
        return _replica_batches(strategy, strategy.experimental_distribute_dataset(ds))

    def per_replica_batches():
        # One input pipeline per worker, batched per replica: each batch goes
        # whole to one replica, so the map sees exactly one replica's batch.
        cutmix = keras_cutmix.CutMix(num_classes=N, seed=3, mode="sample")
        contexts = []

        def dataset_fn(context):
            contexts.append([context.num_input_pipelines, context.input_pipeline_id, context.num_replicas_in_sync])
            ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(context.get_per_replica_batch_size(B))
            return ds.map(cutmix)

        steps = _replica_batches(strategy, strategy.distribute_datasets_from_function(dataset_fn))
        return steps, contexts

    from_function = [per_replica_batches() for _ in range(2)]
    return {
        "experimental_distribute_dataset": [global_batches() for _ in range(2)],
        "distribute_datasets_from_function": [steps for steps, _ in from_function],
        "input_contexts": from_function[0][1],
    }


def _tiny_model():
    return keras.Sequential(
        [
            keras.Input((H, W, 1)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(N),
        ]
    )


def _fit(strategy, trainer_class, dataset, epochs, run_eagerly=False, **options):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        trainer = trainer_class(_tiny_model(), seed=5, **options)
        trainer.compile(
            keras.optimizers.SGD(0.01), keras.losses.CategoricalCrossentropy(from_logits=True), run_eagerly=run_eagerly
        )
    history = trainer.fit(dataset, epochs=epochs, verbose=0)
    return trainer, history.history["loss"]


def tf_model_run(strategy):
    import tensorflow as tf

    import keras_cutmix

    class RecordingTrainer(keras_cutmix.CutMixModel):
        """Keeps what each replica's loss sees (eager steps only)."""

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            if training and not isinstance(x, dict) and tf.executing_eagerly():
                context = tf.distribute.get_replica_context()
                self.__dict__.setdefault("seen", []).append(
                    {
                        "replica": int(context.replica_id_in_sync_group),
                        "step": int(self.optimizer.iterations.numpy()),
                        "images": np.asarray(x)[..., 0].round().astype(int).tolist(),
                        "labels": np.asarray(y).tolist(),
                    }
                )
            return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)

    # Sparse int labels and float images, global batches split by Keras fit.
    dataset = tf.data.Dataset.from_tensor_slices((_source_images("float32"), np.arange(N))).batch(B)
    recorder, _ = _fit(strategy, RecordingTrainer, dataset, epochs=1, run_eagerly=True, probability=1.0)
    runs = []
    for _ in range(2):
        trainer, losses = _fit(strategy, keras_cutmix.CutMixModel, dataset, epochs=2, probability=1.0)
        runs.append({"losses": losses, "weights": [w.tolist() for w in trainer.get_weights()]})
    return {"seen": recorder.seen, "runs": runs}


def scenario_jax():
    import jax

    import keras_cutmix

    devices = keras.distribution.list_devices()
    distribution = keras.distribution.DataParallel(devices=devices)
    x, y = _source_images("float32"), np.arange(N)

    def fit(distributed):
        keras.utils.set_random_seed(0)
        keras.distribution.set_distribution(distribution if distributed else None)
        try:
            trainer = keras_cutmix.CutMixModel(_tiny_model(), seed=5, probability=1.0)
            trainer.compile(keras.optimizers.SGD(0.01), keras.losses.CategoricalCrossentropy(from_logits=True))
            losses = trainer.fit(x, y, batch_size=B, epochs=1, verbose=0, shuffle=False).history["loss"]
            sharding = str(trainer.trainable_variables[0].value.sharding)
            return {
                "losses": losses,
                "weights": [np.asarray(w).tolist() for w in trainer.get_weights()],
                "sharding": sharding,
            }
        finally:
            keras.distribution.set_distribution(None)

    # The layer and the function on a batch sharded over the devices, eager and jitted.
    images = jax.device_put(x[:B], distribution.get_data_layout(x[:B].shape).backend_layout)
    labels = jax.device_put(y[:B], distribution.get_data_layout(y[:B].shape).backend_layout)
    mixed, soft = keras_cutmix.CutMix(num_classes=N, seed=3, mode="sample")(images, labels)
    plain_mixed, plain_soft = keras_cutmix.CutMix(num_classes=N, seed=3, mode="sample")(x[:B], y[:B])
    jitted = jax.jit(lambda a, b, seed: keras_cutmix.cutmix(a, b, seed=seed, num_classes=N))
    jit_mixed, jit_soft = jitted(images, labels, jax.numpy.array([1, 2], "int32"))
    plain_jit_mixed, plain_jit_soft = keras_cutmix.cutmix(x[:B], y[:B], seed=(1, 2), num_classes=N)
    as_list = lambda a: np.asarray(a).tolist()

    def outputs(mixed, soft, plain_mixed, plain_soft):
        """The sharded call's outputs and its sharding, and the unsharded call's outputs."""
        return {
            "sharding": str(mixed.sharding),
            "images": as_list(mixed[..., 0]),
            "labels": as_list(soft),
            "plain_images": as_list(plain_mixed[..., 0]),
            "plain_labels": as_list(plain_soft),
        }

    return {
        "devices": [str(d) for d in devices],
        "input_sharding": str(images.sharding),
        "layer": outputs(mixed, soft, plain_mixed, plain_soft),
        "jit": outputs(jit_mixed, jit_soft, plain_jit_mixed, plain_jit_soft),
        "fits": [fit(True), fit(True), fit(False)],
    }


SCENARIOS = {"tensorflow": scenario_tensorflow, "jax": scenario_jax}


# ---------------------------------------------------------------------------
# Running a scenario


def run_scenario(backend: str) -> dict:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=path)
    if backend == "jax":
        env["XLA_FLAGS"] = " ".join(
            filter(None, [env.get("XLA_FLAGS"), f"--xla_force_host_platform_device_count={REPLICAS}"])
        )
        env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, __file__, backend], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def tf_run():
    if BACKEND != "tensorflow":
        pytest.skip(f"tf.distribute: runs once, in the tensorflow leg of the suite (this is {BACKEND})")
    result = run_scenario("tensorflow")
    assert result["replicas"] == REPLICAS
    return result


@pytest.fixture
def tf_dataset(tf_run):
    return tf_run["dataset"]


@pytest.fixture
def tf_model(tf_run):
    return tf_run["model"]


@pytest.fixture(scope="module")
def jax_run():
    if BACKEND != "jax":
        pytest.skip(f"Keras distribution API on JAX: runs once, in the jax leg of the suite (this is {BACKEND})")
    return run_scenario("jax")


def source_fractions(images: np.ndarray) -> np.ndarray:
    """(b, N) share of each sample's pixels from each dataset image (value v = image v − 1)."""
    images = np.asarray(images).reshape(len(images), -1) - 1
    assert images.min() >= 0 and images.max() < N
    return np.stack([np.bincount(row, minlength=N) for row in images]) / images.shape[1]


def replica_samples(step: int, replica: int) -> np.ndarray:
    """Dataset indices of one replica's batch (no shuffling)."""
    start = step * B + replica * LOCAL
    return np.arange(start, start + LOCAL)


def check_exact(batch, step, replica):
    """Labels equal pixel shares; returns the sources of the batch's pixels."""
    labels = np.asarray(batch["labels"])
    fractions = source_fractions(batch["images"])
    np.testing.assert_allclose(labels, fractions, atol=1e-6)
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)
    own = replica_samples(step, replica)
    # Row i is sample own[i], mixed with one partner at most.
    for i, row in enumerate(fractions):
        sources = np.flatnonzero(row)
        assert len(sources) <= 2 and (own[i] in sources or len(sources) == 1)
    return set(np.flatnonzero(fractions.sum(axis=0)))


# ---------------------------------------------------------------------------
# tf.distribute.MirroredStrategy, CutMix in tf.data


def test_global_batch_is_mixed_before_the_split_and_labels_stay_exact(tf_dataset):
    """experimental_distribute_dataset: the map mixes the global batch, partners cross replicas."""
    first, second = tf_dataset["experimental_distribute_dataset"]
    assert len(first) == N // B and all(len(step) == REPLICAS for step in first)
    crossing = 0
    for step, replicas in enumerate(first):
        for replica, batch in enumerate(replicas):
            assert batch["shape"] == [LOCAL, H, W, 1] and batch["dtype"] == "uint8"
            assert batch["label_dtype"] == "float32"
            sources = check_exact(batch, step, replica)
            global_batch = set(range(step * B, (step + 1) * B))
            assert sources <= global_batch
            crossing += len(sources - set(replica_samples(step, replica)))
    assert crossing > 0, "partners from the other replica's half of the global batch"
    assert first == second, "same seed, same output"


def test_per_replica_batches_mix_within_each_replica(tf_dataset):
    """distribute_datasets_from_function with the per-replica batch size: partners stay in the replica."""
    assert tf_dataset["input_contexts"] == [[1, 0, REPLICAS]], "one input pipeline, both replicas"
    first, second = tf_dataset["distribute_datasets_from_function"]
    assert len(first) == N // B
    mixed = 0
    for step, replicas in enumerate(first):
        for replica, batch in enumerate(replicas):
            assert batch["shape"] == [LOCAL, H, W, 1] and batch["dtype"] == "uint8"
            sources = check_exact(batch, step, replica)
            assert sources <= set(replica_samples(step, replica))
            mixed += int((np.asarray(batch["labels"]).max(axis=1) < 1).sum())
    assert mixed > 0
    assert first == second, "same seed, same output"


# ---------------------------------------------------------------------------
# tf.distribute.MirroredStrategy, CutMixModel


def _box(image, own_value):
    foreign = np.asarray(image) != own_value
    if not foreign.any():
        return None
    rows, cols = np.flatnonzero(foreign.any(axis=1)), np.flatnonzero(foreign.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def test_cutmix_model_mixes_within_each_replica_with_its_own_draw(tf_model):
    seen = tf_model["seen"]
    steps = sorted({record["step"] for record in seen})
    assert steps == list(range(N // B)) and len(seen) == REPLICAS * len(steps)
    for step in steps:
        records = sorted((r for r in seen if r["step"] == step), key=lambda r: r["replica"])
        assert [r["replica"] for r in records] == list(range(REPLICAS))
        draws = []
        for record in records:
            sources = check_exact(record, step, record["replica"])
            assert sources <= set(replica_samples(step, record["replica"])), "partners stay in the replica"
            own = replica_samples(step, record["replica"])
            # mode="batch", probability=1: one box per replica batch.
            boxes = {_box(image, own[i] + 1) for i, image in enumerate(record["images"])}
            assert len(boxes) == 1
            fractions = source_fractions(record["images"])
            partners = tuple(
                int(np.flatnonzero(row)[np.flatnonzero(row) != own[i]][0] - own[0]) if row[own[i]] < 1 else None
                for i, row in enumerate(fractions)
            )  # positions in the replica batch
            draws.append((boxes.pop(), partners))
        assert draws[0] != draws[1], f"step {step}: both replicas drew the same box and partners {draws[0]}"


def test_cutmix_model_trains_reproducibly_under_mirrored_strategy(tf_model):
    first, second = tf_model["runs"]
    assert len(first["losses"]) == 2 and np.all(np.isfinite(first["losses"]))
    assert first["losses"] == second["losses"]
    for a, b in zip(first["weights"], second["weights"]):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ---------------------------------------------------------------------------
# Keras distribution API on JAX: DataParallel over two CPU devices


def test_cutmix_model_fits_under_jax_data_parallel(jax_run):
    assert len(jax_run["devices"]) == REPLICAS
    first, second, single = jax_run["fits"]
    assert "NamedSharding" in first["sharding"] and "NamedSharding" not in single["sharding"]
    assert np.all(np.isfinite(first["losses"]))
    for a, b in zip(first["weights"], second["weights"]):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # The step mixes the global batch, as on one device: the same training up
    # to the float rounding of sharded reductions.
    for a, c in zip(first["weights"], single["weights"]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(c), atol=1e-5)


@pytest.mark.parametrize("form", ["layer", "jit"])
def test_cutmix_on_a_sharded_batch_is_exact_and_unchanged(jax_run, form):
    assert "batch" in jax_run["input_sharding"]
    result = jax_run[form]
    assert "batch" in result["sharding"], "output stays sharded along the batch"
    assert result["images"] == result["plain_images"] and result["labels"] == result["plain_labels"]
    fractions = source_fractions(np.asarray(result["images"]).round().astype(int))
    np.testing.assert_allclose(np.asarray(result["labels"]), fractions, atol=1e-6)
    assert (fractions.max(axis=1) < 1).any()


# ---------------------------------------------------------------------------
# examples/fit_compare.py --strategy


def _fit_compare():
    spec = importlib.util.spec_from_file_location("_fit_compare_example", ROOT / "examples" / "fit_compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fit_compare_strategy_argument():
    fit_compare = _fit_compare()
    assert fit_compare.parse_args([]).strategy == "none"
    assert fit_compare.parse_args(["--strategy", "mirrored"]).strategy == "mirrored"
    assert fit_compare.parse_args(["--strategy", "multiworker"]).strategy == "multiworker"
    with pytest.raises(SystemExit):
        fit_compare.parse_args(["--strategy", "tpu"])
    assert sys.modules["common"].make_strategy("none") is None


@pytest.mark.skipif(BACKEND == "tensorflow", reason="the error is for the backends without tf.distribute")
def test_fit_compare_strategy_needs_the_tensorflow_backend():
    _fit_compare()
    with pytest.raises(SystemExit, match="KERAS_BACKEND=tensorflow"):
        sys.modules["common"].make_strategy("mirrored")


FIT_COMPARE_ON_TWO_CPUS = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
import fit_compare
fit_compare.main(sys.argv[2:])
"""


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute: runs in the tensorflow leg of the suite")
def test_fit_compare_mirrored_smoke(tmp_path):
    """CutMixModel built and compiled under MirroredStrategy on two CPU devices, a toy budget."""
    pytest.importorskip("matplotlib")
    from helpers import fit_compare_flags

    sys.path.insert(0, str(ROOT / "examples"))
    from paper import datasets

    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (64, 28, 28), dtype="uint8"),
        "train_labels": (np.arange(64) % 10).astype("uint8"),
        "test_images": rng.integers(0, 256, (20, 28, 28), dtype="uint8"),
        "test_labels": (np.arange(20) % 10).astype("uint8"),
    }
    for key, stem in datasets.FASHION_MNIST_FILES.items():
        datasets.write_idx(tmp_path / (stem + ".gz"), arrays[key])
    out = tmp_path / "results"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=path)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            FIT_COMPARE_ON_TWO_CPUS,
            str(ROOT / "examples"),
            "--strategy",
            "mirrored",
            "--data-dir",
            str(tmp_path),
            "--methods",
            "cutmix",
            "--in-model",
            *fit_compare_flags(fgsm_size=8, cam_size=4),
            "--output",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "MirroredStrategy with 2 replicas in sync; global batch 16 = 8 per replica" in proc.stdout
    assert "--strategy trains without XLA" in proc.stdout
    report = json.loads((out / "results.json").read_text())
    assert report["replicas"] == 2 and report["args"]["strategy"] == "mirrored"
    (result,) = report["results"]
    assert result["mixing"].startswith("in the model (CutMixModel")
    assert len(result["history"]["loss"]) == 1 and np.isfinite(result["history"]["loss"][0])
    assert 0.0 <= result["test_error"] <= 1.0


# ---------------------------------------------------------------------------


if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]]()))
