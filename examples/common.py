"""Shared by the examples: datasets, the training methods, the machine description."""

from __future__ import annotations

import os
import platform
import subprocess

import numpy as np
from paper.datasets import FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, load_fashion_mnist

import keras_cutmix

# ---------------------------------------------------------------------------
# Data


def load_dataset(name: str, data_dir: str | None = None):
    """(x_train, y_train, x_test, y_test, class_names): uint8 (N, H, W, C) images, int labels.

    "fashion_mnist" reads the Debian package's IDX files (`data_dir`, default
    /usr/share/datasets/fashion-mnist) and falls back to tensorflow-datasets
    when they are absent; any other name is loaded with tensorflow-datasets
    (e.g. cifar10, cifar100, mnist, svhn_cropped), which downloads it.
    """
    if name == "fashion_mnist":
        directory = data_dir or FASHION_MNIST_DIR
        try:
            (x_train, y_train), (x_test, y_test) = load_fashion_mnist(directory)
            print(f"data: Fashion-MNIST from the IDX files in {directory}")
            return (
                x_train[..., None],
                y_train.astype("int64"),
                x_test[..., None],
                y_test.astype("int64"),
                list(FASHION_MNIST_CLASSES),
            )
        except FileNotFoundError as error:
            print(f"data: {error}\n      falling back to tensorflow-datasets 'fashion_mnist' (downloads ~30 MB).")
    return load_tfds(name, data_dir if name != "fashion_mnist" else None)


def load_tfds(name: str, data_dir: str | None = None):
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise SystemExit(
            f"--dataset {name} needs tensorflow-datasets: pip install -e '.[examples]' (or pip install tensorflow-datasets)."
        ) from error
    builder = tfds.builder(name, data_dir=data_dir)
    builder.download_and_prepare()
    splits = builder.info.splits
    test_split = "validation" if "test" not in splits and "validation" in splits else "test"
    arrays = {}
    for split in ("train", test_split):
        batches = list(tfds.as_numpy(builder.as_dataset(split=split, as_supervised=True).batch(4096)))
        images = np.concatenate([b[0] for b in batches])
        labels = np.concatenate([b[1] for b in batches]).astype("int64")
        arrays[split] = (images, labels)
    x_train, y_train = arrays["train"]
    x_test, y_test = arrays[test_split]
    if x_train.ndim == 3:
        x_train, x_test = x_train[..., None], x_test[..., None]
    names = list(builder.info.features["label"].names)
    print(f"data: tensorflow-datasets {name!r} (train / {test_split}) from {builder.data_dir}")
    return x_train, y_train, x_test, y_test, names


def stratified_subset(labels: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """Indices of `size` samples (all when None or larger), the same count per class where possible."""
    if size is None or size >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per_class = size // len(classes)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in classes]
    index = np.concatenate(chosen)
    if len(index) < size:
        rest = np.setdiff1d(np.arange(len(labels)), index)
        index = np.concatenate([index, rng.choice(rest, size - len(index), replace=False)])
    return np.sort(index)


# ---------------------------------------------------------------------------
# Methods: name → (layer class, options). The paper's CIFAR settings: CutMix
# α = 1 with probability 0.5, MixUp α = 1, Cutout of half the side.

METHODS = {
    "baseline": None,
    "cutout": (keras_cutmix.Cutout, {"size": 0.5}),
    "mixup": (keras_cutmix.MixUp, {"alpha": 1.0}),
    "cutmix": (keras_cutmix.CutMix, {"alpha": 1.0, "probability": 0.5}),
    # Variants (paper Table 8 and friends).
    "cutmix_p1": (keras_cutmix.CutMix, {"alpha": 1.0, "probability": 1.0}),
    "cutmix_sample": (keras_cutmix.CutMix, {"alpha": 1.0, "probability": 0.5, "mode": "sample"}),
    "cutmix_gaussian": (keras_cutmix.CutMix, {"alpha": 1.0, "probability": 0.5, "box_center": "gaussian"}),
    "cutmix_fixed": (keras_cutmix.CutMix, {"probability": 0.5, "box_size": 0.5}),
    "cutmix_onehot": (keras_cutmix.CutMix, {"alpha": 1.0, "probability": 0.5, "label_mode": "one_hot"}),
    "cutmix_complete": (keras_cutmix.CutMix, {"alpha": 1.0, "probability": 0.5, "label_mode": "complete"}),
    "cutmix_uncorrected": (keras_cutmix.CutMix, {"alpha": 1.0, "probability": 0.5, "correct_lambda": False}),
    "cutmix_or_mixup": (
        keras_cutmix.CutMixOrMixUp,
        {"cutmix_alpha": 1.0, "mixup_alpha": 1.0, "switch_probability": 0.5},
    ),
    # Successors of CutMix: ResizeMix (Qin et al., 2020) and FMix (Harris et al., 2020), their papers' settings.
    "resizemix": (keras_cutmix.ResizeMix, {"scale": (0.1, 0.8)}),
    "fmix": (keras_cutmix.FMix, {"alpha": 1.0, "decay_power": 3.0}),
    # Scheduled CutMix (paper Table 8): the probability ramps linearly over
    # training, from SCHEDULED_PROBABILITY[0] at the first step to [1] at the
    # last (CutMixModel + MixingScheduler); always in the model.
    "cutmix_scheduled": (keras_cutmix.CutMix, {"alpha": 1.0, "probability": 0.0}),
    # Feature-level CutMix (CutMixModel(feature_layer=...)); always in the model.
    "cutmix_feature": (keras_cutmix.CutMix, {"alpha": 1.0, "probability": 0.5}),
    # Manifold Mixup (Verma et al., 2019; α = 2 as in its paper): MixUp of the
    # same feature map, CutMixModel(mixer=MixUp, feature_layer=...); in the model.
    "manifold_mixup": (keras_cutmix.MixUp, {"alpha": 2.0}),
}
# The methods that mix a feature map (always inside the model).
FEATURE_METHODS = ("cutmix_feature", "manifold_mixup")
FEATURE_LAYER = "stage1_block1_out"  # small_resnet's first stage output
# The paper's schedule, 0 → 1. Its mean over a linear ramp is 0.5, plain
# CutMix's constant probability: both mix the same share of batches, so the
# comparison isolates *when* the mixing happens.
SCHEDULED_PROBABILITY = (0.0, 1.0)


# The functional twin of each layer: the same options, plus an explicit seed.
FUNCTIONS = {
    keras_cutmix.CutMix: keras_cutmix.cutmix,
    keras_cutmix.MixUp: keras_cutmix.mixup,
    keras_cutmix.Cutout: keras_cutmix.cutout,
    keras_cutmix.CutMixOrMixUp: keras_cutmix.cutmix_or_mixup,
    keras_cutmix.ResizeMix: keras_cutmix.resizemix,
    keras_cutmix.FMix: keras_cutmix.fmix,
}


def seeded_mixer(method: str, num_classes: int):
    """`mix(images, labels, seed)`: the method as a pure function of a (2,) seed (None for the baseline).

    For `Dataset.map` with one seed per batch: unlike a layer's seed stream,
    which parallel map calls consume in whatever order they run, the output
    does not depend on scheduling, so a run is reproducible bit for bit.
    """
    spec = METHODS[method]
    if spec is None:
        return None
    cls, options = spec
    function = FUNCTIONS[cls]
    return lambda images, labels, seed: function(images, labels, seed=seed, num_classes=num_classes, **options)


def make_mixer(method: str, num_classes: int, seed: int, **overrides):
    """The method's layer (None for the baseline), labels made dense with `num_classes`."""
    spec = METHODS[method]
    if spec is None:
        return None
    cls, options = spec
    options = {**options, **overrides}
    return cls(num_classes=num_classes, seed=seed, **options)


def describe(method: str) -> str:
    spec = METHODS[method]
    if spec is None:
        return "no mixing"
    cls, options = spec
    if method == "cutmix_scheduled":
        start, end = SCHEDULED_PROBABILITY
        options = {k: v for k, v in options.items() if k != "probability"}
        text = f"{cls.__name__}(" + ", ".join(f"{k}={v!r}" for k, v in options.items())
        return text + f"), probability ramped linearly {start:g} → {end:g} over the training steps (MixingScheduler)"
    return f"{cls.__name__}(" + ", ".join(f"{k}={v!r}" for k, v in options.items()) + ")"


# ---------------------------------------------------------------------------
# Distribution (tf.distribute, TensorFlow backend)

STRATEGIES = ("none", "mirrored", "multiworker")


def make_strategy(name: str):
    """None for "none", else the tf.distribute strategy to build and compile models under.

    "mirrored": MirroredStrategy over all local GPUs or, without GPUs, over
    the logical CPU devices when there are several (one CPU device otherwise).
    "multiworker": MultiWorkerMirroredStrategy, configured by TF_CONFIG; it
    must be created before TensorFlow runs any op, so call this first.
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose among {STRATEGIES}")
    if name == "none":
        return None
    import keras

    if keras.backend.backend() != "tensorflow":
        raise SystemExit(
            f"--strategy {name} uses tf.distribute, which needs the TensorFlow backend: run with "
            f"KERAS_BACKEND=tensorflow (the Keras backend is {keras.backend.backend()!r})."
        )
    import tensorflow as tf

    if name == "multiworker":
        return _reduce_per_tensor(tf.distribute.MultiWorkerMirroredStrategy())
    devices = None
    if not tf.config.list_physical_devices("GPU"):
        cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
        devices = cpus if len(cpus) > 1 else None
    return tf.distribute.MirroredStrategy(devices)


def _reduce_per_tensor(strategy):
    """Work around Keras 3's fit under MultiWorkerMirroredStrategy with several workers.

    Keras 3.15 (observed here; no upstream fix known to us) calls `strategy.reduce` on a whole
    (x, y) structure when it builds the model, and with `axis=0` on scalar
    metrics after each step; the multi-worker strategy accepts neither. This
    reduces each tensor on its own, over the batch axis only where it has one.
    """
    import tensorflow as tf

    reduce = strategy.reduce

    def reduce_each(reduce_op, value, axis=None):
        def one(v):
            rank = strategy.experimental_local_results(v)[0].shape.rank
            return reduce(reduce_op, v, axis=axis if rank else None)

        return tf.nest.map_structure(one, value)

    strategy.reduce = reduce_each
    return strategy


def is_chief(strategy) -> bool:
    """True but on the non-chief workers of a multi-worker strategy (TF_CONFIG's "chief", else worker 0)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


# ---------------------------------------------------------------------------
# Machine


def machine_description() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version()}
    try:
        info["nproc"] = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError, ValueError):
        info["nproc"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info["cpu"] = platform.processor() or "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.strip().startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["memory_gb"] = round(int(line.split()[1]) / 2**20, 1)
                    break
    except OSError:
        pass
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        info["gpus"] = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    except Exception:
        info["gpus"] = []
    return info


def machine_line(info: dict) -> str:
    gpu = ", ".join(info.get("gpus") or []) or "no GPU"
    return f"{info.get('nproc')} CPU cores ({info.get('cpu')}), {info.get('memory_gb', '?')} GB RAM, {gpu}"
