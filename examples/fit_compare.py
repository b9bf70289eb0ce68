"""The CutMix paper's comparison at small scale: baseline vs Cutout vs MixUp vs CutMix.

Every method trains the same model (same initial weights), with the same
optimizer, budget, data order and seed; then each is measured on the test set:
top-1 error, loss, expected calibration error (15 bins), accuracy under an
FGSM attack, and a CAM localization score (see below). Prints a table, writes
results/results.json, results/table.md and the pictures:

    results/samples_<method>.png   a mixed batch per method, classes and exact label weights on each tile
    results/curves.png             training curves of all methods (mean ± std bands with several seeds)
    results/cam.png                class activation maps of the same two-class test images under each method
    results/fgsm.png               FGSM accuracy versus ε (error bars with several seeds)
    results/errors.png             top-1 error per method (mean ± std and each seed, with several seeds)
    results/differences.png        with several seeds: paired differences to --reference, 95% t intervals

    python examples/fit_compare.py                                  # the `make demo` run (Fashion-MNIST, offline)
    python examples/fit_compare.py --seeds 0,1,2 --record docs/results/NAME.json   # mean ± std over seeds, paired Δ with 95% CI
    python examples/fit_compare.py --train-size 30000 --epochs 10   # the README's longer run (~1.5 h on 2 CPU cores; the README's has two methods)
    python examples/fit_compare.py --dataset cifar10                # any tensorflow-datasets image classification set
    python examples/fit_compare.py --methods baseline,cutmix,cutmix_gaussian --in-model
    python examples/fit_compare.py --strategy mirrored              # tf.distribute over all local GPUs
    TF_CONFIG='{...}' python examples/fit_compare.py --strategy multiworker   # the same command on every worker

Several seeds (--seeds 0,1,2): every method trains once per seed; seed s
fixes, for all methods alike, what --seed s fixes in a one-seed run: the
stratified training subset, the initial weights, the data order, the mixing
draws and the evaluation subsets (FGSM images, CAM composites). Then the
table gives each metric's mean ± standard deviation over the seeds, and a
second table each method's paired difference to --reference (default:
baseline) with a 95% t confidence interval over the seeds
(paper/statistics.py); the plots draw error bars, and also write
results/errors.png (top-1 error per method) and results/differences.png
(paired differences with their intervals). --record NAME.json writes the
per-seed numbers in the shape paper/report.py reads (examples/summarize_evidence.py
turns records into tables and plots); --reuse OLD.json takes the (method,
seed) runs an earlier record has instead of training them again, when that
record ran the same code (git commit, clean tree) with the same training
options.

CAM localization score: each composite test image is the left half of a test
image of class a next to the right half of one of class b ≠ a (a CutMix box
of half the image). For each of the two classes, the share of its positive
CAM mass that falls in its own half; averaged over both classes and all
composites. 0.5 = the maps ignore where the classes are, 1 = perfect.

Mixing happens in tf.data (`.batch()`, then `.map(keras_cutmix.cutmix, num_parallel_calls=AUTOTUNE)`
with the seed (--seed, batch index), then `.prefetch(AUTOTUNE)`: the functional
form with one seed per batch keeps a parallel pipeline reproducible bit for bit),
or with `--in-model` inside the train step (`CutMixModel(model, mixer=...)`,
every method). Feature-level CutMix (`cutmix_feature`) and Manifold Mixup
(`manifold_mixup`) mix a feature map, in the model always.

With `--strategy mirrored` (MirroredStrategy: all local GPUs, or the logical
CPU devices when there is no GPU) or `--strategy multiworker`
(MultiWorkerMirroredStrategy, configured by the TF_CONFIG environment
variable), models are built and compiled in the strategy's scope and Keras'
fit distributes the tf.data pipeline: `--batch-size` is the *global* batch,
split evenly between the replicas (keep it a multiple of their number). Mixing
in tf.data mixes the global batch before the split; `--in-model` mixes each
replica's batch with its own draw. TensorFlow backend only.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import json
import os
import pathlib
import shlex
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import keras
import numpy as np
import tensorflow as tf
from common import (
    FEATURE_LAYER,
    FEATURE_METHODS,
    METHODS,
    SCHEDULED_PROBABILITY,
    STRATEGIES,
    describe,
    is_chief,
    load_dataset,
    machine_description,
    machine_line,
    make_mixer,
    make_strategy,
    seeded_mixer,
    stratified_subset,
)
from models import MODELS
from paper import evaluation, report, visualize

import keras_cutmix

# The `make demo` budget: the four methods within 15 minutes on 2 CPU cores, install included.
DEFAULT_TRAIN_SIZE = 10000
DEFAULT_EPOCHS = 3
FGSM_EPSILONS = (0.0, 1 / 255, 2 / 255, 4 / 255, 8 / 255, 16 / 255)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--dataset",
        default="fashion_mnist",
        help="fashion_mnist (Debian IDX files, offline) or a tensorflow-datasets name",
    )
    p.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST IDX files, or tfds data_dir")
    p.add_argument("--methods", default="baseline,cutout,mixup,cutmix", help=f"comma list among {', '.join(METHODS)}")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0, help="the seed of a one-seed run (see --seeds)")
    p.add_argument(
        "--seeds",
        default=None,
        help="comma list of seeds, e.g. 0,1,2: every method trains once per seed; the tables give mean ± std "
        "and the paired difference to --reference with a 95%% t interval (overrides --seed)",
    )
    p.add_argument(
        "--reference",
        default="baseline",
        help="the method the paired differences are taken against (with several seeds)",
    )
    p.add_argument("--model", default="resnet", choices=sorted(MODELS), help="resnet: a small ResNet (default)")
    p.add_argument("--width", type=int, default=16, help="width of the first stage (resnet, cnn)")
    p.add_argument(
        "--in-model", action="store_true", help="mix inside the train step (CutMixModel) instead of in tf.data"
    )
    p.add_argument(
        "--strategy",
        default="none",
        choices=STRATEGIES,
        help="tf.distribute strategy (TensorFlow backend): mirrored = all local GPUs (or the logical CPUs), "
        "multiworker = MultiWorkerMirroredStrategy from TF_CONFIG; --batch-size is then the global batch",
    )
    p.add_argument("--train-size", type=int, default=DEFAULT_TRAIN_SIZE, help="stratified training subset (0 = all)")
    p.add_argument("--val-size", type=int, default=1000, help="test images evaluated after each epoch (curves)")
    p.add_argument("--test-size", type=int, default=0, help="test images for the final metrics (0 = all)")
    p.add_argument(
        "--lr", type=float, default=0.1, help="peak learning rate (SGD, Nesterov momentum 0.9, cosine decay)"
    )
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument(
        "--fgsm-epsilon", type=float, default=8 / 255, help="ε of the table's FGSM column (inputs in [0, 1])"
    )
    p.add_argument("--fgsm-size", type=int, default=1000, help="test images attacked")
    p.add_argument("--cam-size", type=int, default=1000, help="two-class composites for the CAM score")
    p.add_argument("--no-jit", action="store_true", help="do not compile the train step with XLA")
    p.add_argument("--output", default="results", help="output folder")
    p.add_argument(
        "--record",
        default=None,
        help="also write the per-seed results to this JSON file (e.g. docs/results/NAME.json), rewritten after every run",
    )
    p.add_argument(
        "--reuse",
        action="append",
        default=[],
        help="an earlier --record file: its (method, seed) runs are taken instead of trained again when it ran the same "
        "git commit (clean tree) with the same training options; repeatable (also resumes an interrupted run)",
    )
    p.add_argument(
        "--machine-note",
        default=None,
        help="free text stored as machine.note in the record (e.g. other load on the machine)",
    )
    p.add_argument("--verbose", type=int, default=1, help="Keras fit verbosity (1 = progress bars)")
    args = p.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        p.error(f"unknown methods {unknown}; choose among {list(METHODS)}")
    if len(set(args.methods)) != len(args.methods):
        p.error(f"--methods lists a method twice: {args.methods}")
    if args.seeds is None:
        args.seeds = [args.seed]
    else:
        try:
            args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            p.error(f"--seeds takes a comma list of integers; got {args.seeds!r}")
        if not args.seeds or len(set(args.seeds)) != len(args.seeds):
            p.error(f"--seeds needs distinct integers; got {args.seeds}")
        args.seed = args.seeds[0]
    return args


# Options that do not change what a (method, seed) run computes: a record
# made with other values of these can still be reused (--reuse).
NOT_TRAINING_OPTIONS = (
    "methods",
    "seed",
    "seeds",
    "reference",
    "output",
    "record",
    "reuse",
    "machine_note",
    "verbose",
    "data_dir",
)


def training_options(args) -> dict:
    return {k: v for k, v in sorted(vars(args).items()) if k not in NOT_TRAINING_OPTIONS}


# ---------------------------------------------------------------------------


def to_float(images):
    return tf.cast(images, tf.float32) / 255.0


def train_dataset(x, y, num_classes, args, mix=None, sparse_labels=False):
    """tf.data: shuffle → batch → repeat(epochs) → (mix) → prefetch; fit it with steps_per_epoch.

    Images uint8 in the arrays, float32 [0, 1] out. `mix(images, labels, seed)`
    (common.seeded_mixer) gets the seed (args.seed, i) for the i-th batch of
    the whole run, counted over all epochs: a new draw for every batch, the
    same ones in every run whatever order the parallel map calls run in.
    """
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=args.seed, reshuffle_each_iteration=True)
    ds = ds.batch(args.batch_size, drop_remainder=True).repeat(args.epochs)
    if sparse_labels:
        ds = ds.map(lambda a, b: (to_float(a), b), num_parallel_calls=tf.data.AUTOTUNE)
    elif mix is None:
        ds = ds.map(lambda a, b: (to_float(a), tf.one_hot(b, num_classes)), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.enumerate().map(
            lambda i, batch: mix(to_float(batch[0]), batch[1], tf.stack([tf.constant(args.seed, tf.int64), i])),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def build_trainer(method, model, num_classes, args, steps):
    """(trainer to fit, `mix(images, labels, seed)` for tf.data or None, sparse labels?, where the mixing happens, fit callbacks).

    `steps`: the optimizer steps of the whole run (the scheduled method's ramp).
    """
    spec = METHODS[method]
    if method in FEATURE_METHODS:
        layer = FEATURE_LAYER if args.model == "resnet" else "conv1"
        mixer = spec[0](**spec[1])
        trainer = keras_cutmix.CutMixModel(model, mixer=mixer, feature_layer=layer, seed=args.seed)
        return trainer, None, True, f"in the model, feature map of {layer!r}", []
    if method == "cutmix_scheduled":
        # The probability is a variable of CutMixModel read inside the
        # compiled step, so MixingScheduler's per-batch update applies at
        # once; a tf.data map would run ahead of training by the prefetch.
        start, end = SCHEDULED_PROBABILITY
        trainer = keras_cutmix.CutMixModel(model, seed=args.seed, **{**spec[1], "probability": start})
        scheduler = keras_cutmix.MixingScheduler(trainer, start=start, end=end, ramp_steps=max(steps - 1, 1))
        return trainer, None, True, "in the model (CutMixModel + MixingScheduler per step)", [scheduler]
    if spec is None:
        return model, None, False, "-", []
    if args.in_model:
        trainer = keras_cutmix.CutMixModel(model, mixer=spec[0](**spec[1]), seed=args.seed)
        return trainer, None, True, f"in the model (CutMixModel, mixer {spec[0].__name__})", []
    return model, seeded_mixer(method, num_classes), False, "tf.data", []


def compile_trainer(trainer, steps, args):
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=max(steps - steps // 20, 1), warmup_target=args.lr, warmup_steps=steps // 20
    )
    optimizer = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=args.weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    trainer.compile(
        optimizer,
        keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        jit_compile=not args.no_jit,
    )


def sample_picture(method, x, y, num_classes, class_names, args, path):
    """Four batches of four training images through the method's layer (probability forced to 1)."""
    spec = METHODS[method]
    mixer = make_mixer(method, num_classes, args.seed + 1, probability=1.0)
    rng = np.random.default_rng(args.seed)
    images, labels = [], []
    for _ in range(4):
        index = rng.choice(len(x), 4, replace=False)
        mixed, soft = mixer(to_float(x[index]), y[index])
        images.append(keras.ops.convert_to_numpy(mixed))
        labels.append(keras.ops.convert_to_numpy(soft))
    options = ", ".join(f"{k}={v}" for k, v in spec[1].items() if k != "probability")
    title = f"{spec[0].__name__}({options}): one row = one batch of 4 (probability forced to 1 here)"
    if method == "cutmix_scheduled":
        title = f"{describe(method)}: one row = one batch of 4 (probability forced to 1 here)"
    visualize.plot_mixed_batch(
        np.concatenate(images), np.concatenate(labels), class_names, path, columns=4, title=title
    )


def evaluate_model(model, data, args):
    x_test, y_test, x_fgsm, y_fgsm, composites = (
        data["x_test"],
        data["y_test"],
        data["x_fgsm"],
        data["y_fgsm"],
        data["composites"],
    )
    probs = evaluation.predict_probabilities(model, x_test, from_logits=True)
    p_true = probs[np.arange(len(y_test)), y_test]
    result = {
        "test_error": float((probs.argmax(1) != y_test).mean()),
        "test_loss": float(-np.log(np.maximum(p_true, 1e-12)).mean()),
        "ece": evaluation.expected_calibration_error(probs, y_test, bins=15),
    }
    epsilons = sorted(set(FGSM_EPSILONS) | {args.fgsm_epsilon})
    accuracies = evaluation.fgsm_accuracy(model, x_fgsm, y_fgsm, epsilons, value_range=(0.0, 1.0))
    result["fgsm_curve"] = {"epsilons": epsilons, "accuracy": accuracies}
    result["fgsm_accuracy"] = accuracies[epsilons.index(args.fgsm_epsilon)]
    images, region_a, labels_a, labels_b = composites
    result["cam_score"] = evaluation.cam_localization_score(model, images, region_a, labels_a, labels_b)
    shown = slice(0, 6)
    ids = np.stack([labels_a[shown], labels_b[shown]], axis=1)
    cams = evaluation.class_activation_maps(model, images[shown], ids)
    return result, cams


def run_method(method, data, args, num_classes, initial_weights, strategy=None):
    keras.utils.set_random_seed(args.seed)

    def make_model(weights):
        model = MODELS[args.model](
            data["x_train"].shape[1:], num_classes, **({"width": args.width} if args.model in ("resnet", "cnn") else {})
        )
        model.set_weights(weights)
        return model

    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = make_model(initial_weights)
        steps_per_epoch = len(data["x_train"]) // args.batch_size
        trainer, mix, sparse, where, callbacks = build_trainer(
            method, model, num_classes, args, args.epochs * steps_per_epoch
        )
        compile_trainer(trainer, args.epochs * steps_per_epoch, args)
    train = train_dataset(data["x_train"], data["y_train"], num_classes, args, mix, sparse_labels=sparse)
    print(f"\n=== {method} (seed {args.seed}): {describe(method)}; mixing: {where}")
    start = time.perf_counter()
    history = trainer.fit(
        train,
        epochs=args.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=(data["x_val"], data["y_val"]),
        shuffle=False,
        verbose=args.verbose,
        callbacks=callbacks,
    )
    train_seconds = time.perf_counter() - start
    if strategy is not None:
        # Evaluate a single-device copy: with Keras 3.15, predict_on_batch of a
        # model built under MirroredStrategy returns the batch once per replica.
        model = make_model(model.get_weights())
    start = time.perf_counter()
    result, cams = evaluate_model(model, data, args)
    result.update(
        method=method,
        seed=args.seed,
        layer=describe(method),
        mixing=where,
        train_seconds=train_seconds,
        eval_seconds=time.perf_counter() - start,
        history={k: [float(v) for v in values] for k, values in history.history.items()},
    )
    print(
        f"{method} (seed {args.seed}): test error {100 * result['test_error']:.2f}% | loss {result['test_loss']:.3f} | "
        f"ECE {100 * result['ece']:.2f}% | FGSM@{255 * args.fgsm_epsilon:g}/255 {100 * result['fgsm_accuracy']:.1f}% | "
        f"CAM {result['cam_score']:.3f} | train {train_seconds:.0f} s"
    )
    return result, cams


def table(results, args, markdown=False):
    eps = f"{255 * args.fgsm_epsilon:g}/255"
    header = ["method", "top-1 err (%)", "test loss", "ECE (%)", f"FGSM acc @ε={eps} (%)", "CAM loc.", "train (s)"]
    rows = [
        [
            r["method"],
            f"{100 * r['test_error']:.2f}",
            f"{r['test_loss']:.3f}",
            f"{100 * r['ece']:.2f}",
            f"{100 * r['fgsm_accuracy']:.1f}",
            f"{r['cam_score']:.3f}",
            f"{r['train_seconds']:.0f}",
        ]
        for r in results
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(row) for row in rows])


# ---------------------------------------------------------------------------
# Records (--record, --reuse): the per-seed numbers, in paper/report.py's shape.

# result key → record key (errors and accuracies as fractions).
RECORD_KEYS = {
    "test_error": "top1_error",
    "test_loss": "test_loss",
    "ece": "ece",
    "fgsm_accuracy": "fgsm_accuracy",
    "cam_score": "cam_localization",
    "train_seconds": "train_seconds",
    "eval_seconds": "eval_seconds",
}


def seed_entry(result):
    entry = {"seed": result["seed"], **{new: result[old] for old, new in RECORD_KEYS.items()}}
    entry.update(fgsm_curve=result["fgsm_curve"], history=result["history"])
    if "reused_from" in result:
        entry["reused_from"] = result["reused_from"]
    return entry


def result_from_entry(method, entry, mixing, path):
    result = {old: entry[new] for old, new in RECORD_KEYS.items()}
    result.update(
        method=method,
        seed=entry["seed"],
        layer=describe(method),
        mixing=mixing,
        fgsm_curve=entry["fgsm_curve"],
        history=entry["history"],
        reused_from=entry.get("reused_from", str(path)),
    )
    return result


def make_record(command, date, machine, versions, results, methods, complete):
    record = {
        "command": command,
        "date": date,
        "machine": machine,
        "versions": versions,
        "complete": complete,
        "methods": {},
    }
    for method in methods:
        runs = [r for r in results if r["method"] == method]
        if runs:
            record["methods"][method] = {
                "description": describe(method),
                "mixing": runs[0]["mixing"],
                "seeds": [seed_entry(r) for r in runs],
            }
    return record


def write_json(path, value):
    """Write through a temporary file, so that a record read while a run goes on is never half written."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(temporary, path)


def _git_state(path):
    """(top-level folder, commit, modified tracked files?) of the git checkout holding `path`; Nones outside git."""

    def git(*arguments):
        try:
            return subprocess.run(
                ["git", "-C", str(path), *arguments], capture_output=True, text=True, check=True, timeout=60
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    top = git("rev-parse", "--show-toplevel")
    if top is None:
        return None, None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return top, git("rev-parse", "HEAD"), None if status is None else bool(status)


def code_versions():
    """Library versions, and the git commit of the code that runs (package and examples)."""
    versions = {
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "keras_cutmix": keras_cutmix.__version__,
    }
    try:
        import scipy

        versions["scipy"] = scipy.__version__
    except ImportError:
        pass
    package = pathlib.Path(keras_cutmix.__file__).resolve().parent
    top, commit, dirty = _git_state(package)
    versions.update(keras_cutmix_commit=commit, keras_cutmix_dirty=dirty, keras_cutmix_path=str(package))
    examples_top, examples_commit, examples_dirty = _git_state(HERE)
    if examples_top != top:  # the examples run from another checkout than the package
        versions.update(examples_commit=examples_commit, examples_dirty=examples_dirty)
    return versions


def command_arguments(command):
    """The fit_compare.py arguments of a recorded command line."""
    words = shlex.split(command)
    start = next(i for i, w in enumerate(words) if w.endswith("fit_compare.py"))
    return words[start + 1 :]


def reuse_mismatch(record, args, versions):
    """Why the runs of `record` cannot stand for runs of this command (None when they can)."""
    if (
        not versions.get("keras_cutmix_commit")
        or versions.get("keras_cutmix_dirty") is not False
        or versions.get("examples_dirty")
    ):
        return "this code is not a clean git checkout, so it cannot be matched to the record's"
    theirs = record.get("versions", {})
    for key in (
        "keras_cutmix_commit",
        "keras_cutmix_dirty",
        "examples_commit",
        "examples_dirty",
        "keras",
        "tensorflow",
        "numpy",
    ):
        if theirs.get(key) != versions.get(key):
            return f"{key}: {theirs.get(key)} there, {versions.get(key)} here"
    try:
        old = training_options(parse_args(command_arguments(record["command"])))
    except (SystemExit, StopIteration, KeyError, ValueError):
        return "its command cannot be read"
    mine = training_options(args)
    differ = {k: (old.get(k), mine.get(k)) for k in set(old) | set(mine) if old.get(k) != mine.get(k)}
    if differ:
        return "training options differ (there, here): " + ", ".join(
            f"{k}={a!r}, {b!r}" for k, (a, b) in sorted(differ.items())
        )
    return None


def reusable_runs(paths, args, versions):
    """(method, seed) → (seed entry, mixing, record path) for this command's runs found in earlier records."""
    found = {}
    for path in paths:
        path = pathlib.Path(path)
        if not path.exists():
            print(f"--reuse {path}: no such file, nothing reused from it")
            continue
        record = json.loads(path.read_text())
        why = reuse_mismatch(record, args, versions)
        if why:
            print(f"--reuse {path}: not reused ({why})")
            continue
        taken = 0
        for method, info in record["methods"].items():
            for entry in info["seeds"] if method in args.methods else []:
                if entry["seed"] in args.seeds and (method, entry["seed"]) not in found:
                    found[method, entry["seed"]] = (entry, info.get("mixing", "?"), str(path))
                    taken += 1
        print(f"--reuse {path}: same code and training options; {taken} (method, seed) runs taken from it")
    return found


# ---------------------------------------------------------------------------


def prepare_data(arrays, num_classes, args):
    """The seed's training subset and evaluation sets (what --seed fixes besides the training itself)."""
    x_train_all, y_train_all, x_test_all, y_test_all = arrays
    train_index = stratified_subset(y_train_all, args.train_size or None, args.seed)
    test_index = stratified_subset(y_test_all, args.test_size or None, args.seed)
    x_test = x_test_all[test_index].astype("float32") / 255.0
    y_test = y_test_all[test_index]
    rng = np.random.default_rng(args.seed)
    val_index = np.sort(rng.permutation(len(x_test))[: args.val_size])
    fgsm_index = np.sort(rng.permutation(len(x_test))[: args.fgsm_size])
    return {
        "x_train": x_train_all[train_index],
        "y_train": y_train_all[train_index],
        "x_val": x_test[val_index],
        "y_val": np.eye(num_classes, dtype="float32")[y_test[val_index]],
        "x_test": x_test,
        "y_test": y_test,
        "x_fgsm": x_test[fgsm_index],
        "y_fgsm": y_test[fgsm_index],
        "composites": evaluation.two_class_composites(x_test, y_test, args.cam_size, seed=args.seed),
    }


def initial_model_weights(input_shape, num_classes, args):
    keras.utils.set_random_seed(args.seed)
    model = MODELS[args.model](
        input_shape, num_classes, **({"width": args.width} if args.model in ("resnet", "cnn") else {})
    )
    return model, model.get_weights()


def main(argv=None):
    args = parse_args(argv)
    # First: MultiWorkerMirroredStrategy must exist before TensorFlow runs anything.
    strategy = make_strategy(args.strategy)
    if strategy is not None and not args.no_jit:
        # Keras turns XLA off under tf.distribute by default; forcing it on
        # fails with MirroredStrategy on two CPU devices (TensorFlow 2.21:
        # "Trying to access resource ... located in device CPU:1").
        print("note: --strategy trains without XLA (as Keras does by default under tf.distribute).")
        args.no_jit = True
    started = time.perf_counter()
    date = datetime.datetime.now().isoformat(timespec="seconds")
    command = shlex.join(
        [os.path.basename(sys.executable), "examples/fit_compare.py", *(argv if argv is not None else sys.argv[1:])]
    )
    output = pathlib.Path(args.output)
    chief = args.strategy != "multiworker" or is_chief(strategy)
    if not chief:
        # Every worker runs the whole script; only the chief writes to --output (and --record).
        resolver = strategy.cluster_resolver
        output = output / f"{resolver.task_type}{resolver.task_id}"
    output.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    x_train_all, y_train_all, x_test_all, y_test_all, class_names = load_dataset(args.dataset, args.data_dir)
    arrays = (x_train_all, y_train_all, x_test_all, y_test_all)
    num_classes = len(class_names)

    machine = machine_description()
    if args.machine_note:
        machine["note"] = args.machine_note
    versions = code_versions()
    reused = reusable_runs(args.reuse, args, versions)
    multi = len(args.seeds) > 1
    if multi and args.reference not in args.methods:
        print(f"note: --reference {args.reference} is not among --methods; no paired differences.")

    results, cams, first = [], {}, None
    for seed_number, seed in enumerate(args.seeds):
        seed_args = copy.copy(args)
        seed_args.seed = seed
        data = prepare_data(arrays, num_classes, seed_args)
        model, initial_weights = initial_model_weights(data["x_train"].shape[1:], num_classes, seed_args)
        x_train = data["x_train"]
        if seed_number == 0:
            first = data
            subset = "all" if len(x_train) == len(x_train_all) else f"a stratified subset of {len(x_train)}"
            print("=" * 100)
            print(
                f"keras_cutmix fit_compare: {args.dataset}, {subset} of {len(x_train_all)} training images, "
                f"{len(data['x_test'])} test images, {args.epochs} epochs, batch {args.batch_size}, "
                + (f"seeds {', '.join(map(str, args.seeds))}" if multi else f"seed {seed}")
            )
            print(
                f"model: {model.name} ({model.count_params():,} parameters, GAP + Dense), SGD Nesterov lr {args.lr} cosine, "
                f"weight decay {args.weight_decay}, XLA {'off' if args.no_jit else 'on'}; "
                f"mixing {'in the model where possible' if args.in_model else 'in tf.data'}"
            )
            print(
                f"machine: {machine_line(machine)}; keras {keras.__version__}, tensorflow {tf.__version__}, backend {keras.backend.backend()}"
            )
            print(
                f"code: keras_cutmix {versions['keras_cutmix']}, git {versions['keras_cutmix_commit']}"
                + (" (modified)" if versions["keras_cutmix_dirty"] else "")
            )
            if strategy is not None:
                replicas = strategy.num_replicas_in_sync
                print(
                    f"distribution: --strategy {args.strategy}, {type(strategy).__name__} with {replicas} replicas in sync; "
                    f"global batch {args.batch_size} = {args.batch_size / replicas:g} per replica"
                )
                if args.batch_size % replicas:
                    print(
                        f"warning: --batch-size {args.batch_size} is not a multiple of the {replicas} replicas; the replicas get unequal batches."
                    )
            if (args.train_size, args.epochs) == (DEFAULT_TRAIN_SIZE, DEFAULT_EPOCHS) and not multi:
                print(
                    f"quick budget: a {len(x_train)}-image subset and {args.epochs} epochs so that `make demo` finishes within "
                    "15 minutes on 2 CPU cores; mixing methods need longer training to pay off "
                    "(docs/evidence.md has multi-seed runs with error bars)."
                )
            print("=" * 100)
            for method in args.methods:
                if METHODS[method] is not None:
                    sample_picture(
                        method,
                        x_train,
                        data["y_train"],
                        num_classes,
                        class_names,
                        seed_args,
                        output / f"samples_{method}.png",
                    )
        elif multi:
            print(f"\n{'=' * 40} seed {seed} ({seed_number + 1} of {len(args.seeds)}) {'=' * 40}")
        del model

        for method in args.methods:
            if (method, seed) in reused:
                entry, mixing, path = reused[method, seed]
                result = result_from_entry(method, entry, mixing, path)
                print(f"\n=== {method} (seed {seed}): reused from {path}: test error {100 * result['test_error']:.2f}%")
            else:
                result, method_cams = run_method(method, data, seed_args, num_classes, initial_weights, strategy)
                if seed_number == 0:
                    cams[method] = method_cams
                keras.backend.clear_session()
            results.append(result)
            if args.record and chief:
                write_json(
                    args.record, make_record(command, date, machine, versions, results, args.methods, complete=False)
                )

    eps = f"{255 * args.fgsm_epsilon:g}/255"
    fgsm_label = {"fgsm_accuracy": f"FGSM acc @ε={eps} (%)"}
    record = make_record(command, date, machine, versions, results, args.methods, complete=True)
    footnote = (
        f"test set: {len(first['x_test'])} images; ECE with 15 bins; FGSM at ε={eps} on {len(first['x_fgsm'])} test images (inputs in [0, 1]); "
        f"CAM loc. = share of each class's positive CAM mass in its own half of {args.cam_size} two-class composites (0.5 = chance)."
    )
    if multi:
        tables = [
            f"mean ± standard deviation over {len(args.seeds)} seeds ({', '.join(map(str, args.seeds))})",
            report.spread_table(record, labels=fgsm_label),
        ]
        markdown = [
            "Mean ± standard deviation over seeds " + ", ".join(map(str, args.seeds)) + ".",
            "",
            report.spread_table(record, True, fgsm_label),
        ]
        if args.reference in args.methods:
            tables += [
                f"\npaired difference to {args.reference} over the seeds, mean [95% t interval]; * = the interval excludes 0",
                report.difference_table(record, args.reference, labels=fgsm_label),
            ]
            markdown += [
                "",
                f"Paired difference to {args.reference} over the seeds: mean [95% t interval]; * = the interval excludes 0.",
                "",
                report.difference_table(record, args.reference, True, labels=fgsm_label),
            ]
        print("\n" + "\n".join(tables))
        table_md = "\n".join(markdown)
    else:
        print("\n" + table(results, args))
        table_md = table(results, args, markdown=True)
    print(footnote)

    # Pictures: errors, differences (several seeds), curves, fgsm; then the CAMs of the first seed's runs.
    report.write_plots(
        record, output, reference=args.reference if args.reference in args.methods else None, title=args.dataset
    )
    images, _, labels_a, labels_b = first["composites"]
    shown = slice(0, 6)
    if cams:
        visualize.plot_class_activation_maps(
            images[shown],
            cams,
            output / "cam.png",
            image_titles=[f"{class_names[a]} | {class_names[b]}" for a, b in zip(labels_a[shown], labels_b[shown])],
            cam_titles={m: ["left class", "right class"] for m in cams},
            title="CAMs of the left image's class and of the right image's class, per method"
            + (f" (seed {args.seeds[0]})" if multi else ""),
        )

    total = time.perf_counter() - started
    summary = {
        "date": date,
        "command": command,
        "args": vars(args),
        "replicas": strategy.num_replicas_in_sync if strategy is not None else 1,
        "dataset": {
            "name": args.dataset,
            "train_images": len(first["x_train"]),
            "train_images_available": len(x_train_all),
            "test_images": len(first["x_test"]),
        },
        "machine": machine,
        "versions": versions,
        "total_seconds": total,
        "results": results,
    }
    if multi:
        summary["summary"] = report.summarize(record, args.reference if args.reference in args.methods else None)
    write_json(output / "results.json", summary)
    (output / "table.md").write_text(table_md + "\n")
    written = (
        "results.json, table.md, errors.png, "
        + ("differences.png, " if multi and args.reference in args.methods else "")
        + "curves.png, cam.png, fgsm.png, samples_*.png"
    )
    if args.record and chief:
        record["total_seconds"] = total
        write_json(args.record, record)
        written += f"; the record {args.record}"
    print(f"wrote {output}/{written} in {total:.0f} s total")


if __name__ == "__main__":
    main()
