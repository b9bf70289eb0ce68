"""tf.distribute.MultiWorkerMirroredStrategy: two worker processes on localhost.

Each worker is this file run as a script, with a TF_CONFIG naming both on
127.0.0.1 (ports chosen by binding port 0); they train together for a few
steps on tiny generated data and each writes what it saw as JSON:
- `CutMixModel` (mixing inside the train step, one draw per replica), and
- the tf.data path (the functional `cutmix`, one seed per batch, in the
  input pipeline) training a plain model.

Both workers must end with identical weights, and every replica's labels must
be exact: sample i is the constant image i + 1 with class id i, so a mixed
label is the share of its pixels from each source. Both workers run under a
timeout and are killed if anything fails. Keras 3.15's `fit` needs
examples/common.py's `strategy.reduce` workaround under this strategy.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKERS = 2
N, B, H, W = 32, 8, 8, 8  # dataset size (= classes), global batch, image side
LOCAL = B // WORKERS  # one CPU replica per worker
STEPS = N // B
TIMEOUT_S = 180  # per worker: start-up, two short fits, the collectives


# ---------------------------------------------------------------------------
# The worker (run as a script)


def _images(dtype="float32"):
    return np.broadcast_to(np.arange(1, N + 1, dtype=dtype)[:, None, None, None], (N, H, W, 1)).copy()


def _tiny_model(cls=None):
    import keras

    return (cls or keras.Sequential)(
        [
            keras.Input((H, W, 1)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(N),
        ]
    )


def worker(output: str) -> None:
    import tensorflow as tf

    sys.path.insert(0, str(ROOT / "examples"))
    from common import _reduce_per_tensor  # the examples' workaround (Keras 3.15 fit + this strategy)

    # Created before TensorFlow runs any op, as the strategy requires.
    strategy = _reduce_per_tensor(tf.distribute.MultiWorkerMirroredStrategy())
    import keras

    import keras_cutmix

    resolver = strategy.cluster_resolver
    task = int(resolver.task_id)
    seen = []

    def recording(cls):
        class Recording(cls):
            """Keeps what each replica's loss sees (eager steps)."""

            def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
                if training and tf.executing_eagerly() and not isinstance(x, dict):
                    context = tf.distribute.get_replica_context()
                    seen.append(
                        {
                            "trainer": cls.__name__,
                            "task": task,
                            "replica": int(context.replica_id_in_sync_group),
                            "step": int(self.optimizer.iterations.numpy()),
                            "images": np.asarray(x)[..., 0].round().astype(int).tolist(),
                            "labels": np.asarray(y, dtype="float64").tolist(),
                        }
                    )
                return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)

        return Recording

    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    plain = tf.data.Dataset.from_tensor_slices((_images(), np.arange(N))).batch(B).with_options(options)

    def fit(trainer_factory, dataset, run_eagerly):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            trainer = trainer_factory()
            # Eager steps let the recording read each replica's tensors; compiled ones are what fit runs.
            trainer.compile(keras.optimizers.SGD(0.05), loss, run_eagerly=run_eagerly, jit_compile=False)
        history = trainer.fit(dataset, epochs=1, verbose=0)
        return {"losses": history.history["loss"], "weights": [w.tolist() for w in trainer.get_weights()]}

    # CutMixModel: replica r of R mixes its own batch with seed (5, step·R + r).
    cutmix_model = lambda: recording(keras_cutmix.CutMixModel)(_tiny_model(), seed=5, probability=1.0, mode="sample")
    # The tf.data path: the global batch mixed in the pipeline, seeded (7, batch index), then split.
    mixed = (
        plain.enumerate()
        .map(
            lambda i, batch: keras_cutmix.cutmix(
                *batch, seed=tf.stack([tf.constant(7, tf.int64), i]), num_classes=N, mode="sample"
            )
        )
        .with_options(options)
    )
    pipeline = lambda: _tiny_model(recording(keras.Sequential))
    runs = {}
    for name, factory, dataset in (("cutmix_model", cutmix_model, plain), ("pipeline", pipeline, mixed)):
        for mode, eager in (("eager", True), ("compiled", False)):
            runs[f"{name} {mode}"] = fit(factory, dataset, eager)
    result = {"task": task, "replicas": strategy.num_replicas_in_sync, "runs": runs, "seen": seen}
    pathlib.Path(output).write_text(json.dumps(result))


# ---------------------------------------------------------------------------
# The test


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_workers(tmp_path: pathlib.Path) -> list[dict]:
    ports = free_ports(WORKERS)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    procs, logs = [], []
    try:
        for index in range(WORKERS):
            env = dict(
                os.environ,
                KERAS_BACKEND="tensorflow",
                TF_CPP_MIN_LOG_LEVEL="2",
                PYTHONPATH=path,
                CUDA_VISIBLE_DEVICES="",
                NO_PROXY="127.0.0.1,localhost",
                no_proxy="127.0.0.1,localhost",
                TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            )
            for proxy in (
                "HTTP_PROXY",
                "HTTPS_PROXY",
                "ALL_PROXY",
                "http_proxy",
                "https_proxy",
                "all_proxy",
                "GRPC_PROXY",
            ):
                env.pop(proxy, None)
            log = open(tmp_path / f"worker{index}.log", "w+")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, str(tmp_path / f"worker{index}.json")],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + TIMEOUT_S
        while any(p.poll() is None for p in procs):
            failed = [p for p in procs if p.poll() not in (None, 0)]
            if failed or time.monotonic() > deadline:
                break  # one worker died (the other would wait for it forever), or time is up
            time.sleep(0.5)
    finally:
        for p in procs:  # a worker still running here is stuck or waiting for a dead peer
            if p.poll() is None:
                p.kill()
            p.wait()
    codes = [p.returncode for p in procs]
    tails = []
    for index, log in enumerate(logs):
        log.seek(0)
        status = "killed" if codes[index] == -9 else f"exit {codes[index]}"
        tails.append(f"--- worker {index} ({status}):\n" + log.read()[-4000:])
        log.close()
    assert codes == [0] * WORKERS, f"workers did not both finish within {TIMEOUT_S} s:\n" + "\n".join(tails)
    return [json.loads((tmp_path / f"worker{index}.json").read_text()) for index in range(WORKERS)]


# The workers are processes of their own on the TensorFlow backend; the
# tests only read what they wrote: once, in the torch leg (conftest.py).
pytestmark = pytest.mark.own_process


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    return run_workers(tmp_path_factory.mktemp("multi_worker"))


def source_fractions(images) -> np.ndarray:
    """(b, N) share of each sample's pixels from each dataset image (value v = image v − 1)."""
    images = np.asarray(images).reshape(len(images), -1) - 1
    assert images.min() >= 0 and images.max() < N
    return np.stack([np.bincount(row, minlength=N) for row in images]) / images.shape[1]


RUNS = [f"{name} {mode}" for name in ("cutmix_model", "pipeline") for mode in ("eager", "compiled")]


def test_two_workers_train_to_identical_weights(workers):
    assert [w["task"] for w in workers] == list(range(WORKERS))
    assert all(w["replicas"] == WORKERS for w in workers)
    assert sorted(workers[0]["runs"]) == sorted(RUNS)
    for run in RUNS:
        first, second = (w["runs"][run] for w in workers)
        assert len(first["losses"]) == 1 and np.isfinite(first["losses"][0]), run
        assert first["losses"] == second["losses"], run
        for a, b in zip(first["weights"], second["weights"]):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=run)


def test_compiled_and_eager_steps_train_on_the_same_draws(workers):
    """The stream is a function of the seed and the step: compiled steps train like eager ones."""
    runs = workers[0]["runs"]
    for name in ("cutmix_model", "pipeline"):
        eager, compiled = runs[f"{name} eager"], runs[f"{name} compiled"]
        np.testing.assert_allclose(eager["losses"], compiled["losses"], rtol=1e-5)
        for a, b in zip(eager["weights"], compiled["weights"]):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
    # The two methods train differently (different draws).
    assert not np.allclose(runs["cutmix_model compiled"]["losses"], runs["pipeline compiled"]["losses"])


def replica_samples(step: int, task: int) -> set:
    """Dataset indices of one replica's batch: the global batch split in halves, in order."""
    start = step * B + task * LOCAL
    return set(range(start, start + LOCAL))


@pytest.mark.parametrize("trainer", ["CutMixModel", "Sequential"])
def test_every_replica_sees_exact_labels(workers, trainer):
    records = [r for w in workers for r in w["seen"] if r["trainer"] == trainer]
    assert sorted((r["step"], r["task"]) for r in records) == [(s, t) for s in range(STEPS) for t in range(WORKERS)]
    assert all(r["replica"] == r["task"] for r in records), "one replica per worker: replica r on worker r"
    mixed = crossing = 0
    for r in records:
        labels = np.asarray(r["labels"])
        assert labels.shape == (LOCAL, N)
        fractions = source_fractions(r["images"])
        np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)
        np.testing.assert_allclose(labels, fractions, atol=1e-6)
        mixed += int((fractions.max(axis=1) < 1).sum())
        sources = set(np.flatnonzero(fractions.sum(axis=0)).tolist())
        own = replica_samples(r["step"], r["task"])
        assert sources <= set(range(r["step"] * B, (r["step"] + 1) * B)), "sources within the global batch"
        crossing += len(sources - own)
        if trainer == "CutMixModel":
            assert sources <= own, "mixed in the train step: partners stay in the replica's batch"
    assert mixed > 0
    if trainer == "Sequential":
        assert crossing > 0, "mixed in the pipeline before the split: partners from the other worker's half"
    else:
        # Each replica draws its own boxes and partners: no step repeats the other replica's draw.
        for step in range(STEPS):
            a, b = sorted((r for r in records if r["step"] == step), key=lambda r: r["task"])
            shares = lambda r: sorted(np.asarray(r["labels"]).max(axis=1).tolist())
            assert shares(a) != shares(b), f"step {step}: both replicas drew the same boxes"


if __name__ == "__main__":
    worker(sys.argv[1])
