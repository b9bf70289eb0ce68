"""The CutMix paper's comparison at small scale: baseline vs Cutout vs MixUp vs CutMix.

Every method trains the same model (same initial weights), with the same
optimizer, budget, data order and seed; then each is measured on the test set:
top-1 error, loss, expected calibration error (15 bins), accuracy under an
FGSM attack, and a CAM localization score (see below). Prints a table, writes
results/results.json, results/table.md and the pictures:

    results/samples_<method>.png   a mixed batch per method, classes and exact label weights on each tile
    results/curves.png             training curves of all methods
    results/cam.png                class activation maps of the same two-class test images under each method
    results/fgsm.png               FGSM accuracy versus ε

    python examples/fit_compare.py                                  # the `make demo` run (Fashion-MNIST, offline)
    python examples/fit_compare.py --train-size 30000 --epochs 10   # the README's longer run (~1.5 h on 2 CPU cores; the README's has two methods)
    python examples/fit_compare.py --dataset cifar10                # any tensorflow-datasets image classification set
    python examples/fit_compare.py --methods baseline,cutmix,cutmix_gaussian --in-model
    python examples/fit_compare.py --strategy mirrored              # tf.distribute over all local GPUs
    TF_CONFIG='{...}' python examples/fit_compare.py --strategy multiworker   # the same command on every worker

CAM localization score: each composite test image is the left half of a test
image of class a next to the right half of one of class b ≠ a (a CutMix box
of half the image). For each of the two classes, the share of its positive
CAM mass that falls in its own half; averaged over both classes and all
composites. 0.5 = the maps ignore where the classes are, 1 = perfect.

Mixing happens in tf.data (`.batch()`, then `.map(keras_cutmix.cutmix, num_parallel_calls=AUTOTUNE)`
with the seed (--seed, batch index), then `.prefetch(AUTOTUNE)`: the functional
form with one seed per batch keeps a parallel pipeline reproducible bit for bit),
or with `--in-model` inside the train step
(`CutMixModel` for the CutMix variants, a `Cutout` first layer for Cutout;
MixUp and CutMixOrMixUp have no in-model form and stay in tf.data).

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
import datetime
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_cutmix  # noqa: E402
from paper import evaluation, visualize  # noqa: E402

from common import FEATURE_LAYER, METHODS, STRATEGIES, describe, is_chief, seeded_mixer, load_dataset, machine_description, machine_line, make_mixer, make_strategy, stratified_subset  # noqa: E402
from models import MODELS  # noqa: E402

# The `make demo` budget: the four methods within 15 minutes on 2 CPU cores, install included.
DEFAULT_TRAIN_SIZE = 10000
DEFAULT_EPOCHS = 3
FGSM_EPSILONS = (0.0, 1 / 255, 2 / 255, 4 / 255, 8 / 255, 16 / 255)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="fashion_mnist", help="fashion_mnist (Debian IDX files, offline) or a tensorflow-datasets name")
    p.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST IDX files, or tfds data_dir")
    p.add_argument("--methods", default="baseline,cutout,mixup,cutmix", help=f"comma list among {', '.join(METHODS)}")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="resnet", choices=sorted(MODELS), help="resnet: a small ResNet (default)")
    p.add_argument("--width", type=int, default=16, help="width of the first stage (resnet, cnn)")
    p.add_argument("--in-model", action="store_true", help="mix inside the train step (CutMixModel) instead of in tf.data")
    p.add_argument(
        "--strategy", default="none", choices=STRATEGIES,
        help="tf.distribute strategy (TensorFlow backend): mirrored = all local GPUs (or the logical CPUs), "
        "multiworker = MultiWorkerMirroredStrategy from TF_CONFIG; --batch-size is then the global batch",
    )
    p.add_argument("--train-size", type=int, default=DEFAULT_TRAIN_SIZE, help="stratified training subset (0 = all)")
    p.add_argument("--val-size", type=int, default=1000, help="test images evaluated after each epoch (curves)")
    p.add_argument("--test-size", type=int, default=0, help="test images for the final metrics (0 = all)")
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate (SGD, Nesterov momentum 0.9, cosine decay)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--fgsm-epsilon", type=float, default=8 / 255, help="ε of the table's FGSM column (inputs in [0, 1])")
    p.add_argument("--fgsm-size", type=int, default=1000, help="test images attacked")
    p.add_argument("--cam-size", type=int, default=1000, help="two-class composites for the CAM score")
    p.add_argument("--no-jit", action="store_true", help="do not compile the train step with XLA")
    p.add_argument("--output", default="results", help="output folder")
    p.add_argument("--verbose", type=int, default=1, help="Keras fit verbosity (1 = progress bars)")
    args = p.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        p.error(f"unknown methods {unknown}; choose among {list(METHODS)}")
    return args


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


def build_trainer(method, model, num_classes, args):
    """(trainer to fit, `mix(images, labels, seed)` for tf.data or None, sparse labels?, where the mixing happens)."""
    spec = METHODS[method]
    if method == "cutmix_feature":
        layer = FEATURE_LAYER if args.model == "resnet" else "conv1"
        trainer = keras_cutmix.CutMixModel(model, feature_layer=layer, seed=args.seed, **spec[1])
        return trainer, None, True, f"in the model, feature map of {layer!r}"
    if spec is None:
        return model, None, False, "-"
    if args.in_model and spec[0] is keras_cutmix.CutMix:
        return keras_cutmix.CutMixModel(model, seed=args.seed, **spec[1]), None, True, "in the model (CutMixModel)"
    if args.in_model and spec[0] is keras_cutmix.Cutout:
        cutout = make_mixer(method, num_classes, args.seed)
        trainer = keras.Sequential([keras.Input(model.inputs[0].shape[1:]), cutout, model], name=f"{method}_trainer")
        return trainer, None, False, "in the model (Cutout first layer)"
    where = "tf.data" + (" (no in-model form)" if args.in_model else "")
    return model, seeded_mixer(method, num_classes), False, where


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
    visualize.plot_mixed_batch(np.concatenate(images), np.concatenate(labels), class_names, path, columns=4, title=title)


def evaluate_model(model, data, args):
    x_test, y_test, x_fgsm, y_fgsm, composites = data["x_test"], data["y_test"], data["x_fgsm"], data["y_fgsm"], data["composites"]
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
        model = MODELS[args.model](data["x_train"].shape[1:], num_classes, **({"width": args.width} if args.model in ("resnet", "cnn") else {}))
        model.set_weights(weights)
        return model

    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = make_model(initial_weights)
        trainer, mix, sparse, where = build_trainer(method, model, num_classes, args)
        steps_per_epoch = len(data["x_train"]) // args.batch_size
        compile_trainer(trainer, args.epochs * steps_per_epoch, args)
    train = train_dataset(data["x_train"], data["y_train"], num_classes, args, mix, sparse_labels=sparse)
    print(f"\n=== {method}: {describe(method)}; mixing: {where}")
    start = time.perf_counter()
    history = trainer.fit(
        train, epochs=args.epochs, steps_per_epoch=steps_per_epoch,
        validation_data=(data["x_val"], data["y_val"]), shuffle=False, verbose=args.verbose,
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
        layer=describe(method),
        mixing=where,
        train_seconds=train_seconds,
        eval_seconds=time.perf_counter() - start,
        history={k: [float(v) for v in values] for k, values in history.history.items()},
    )
    print(
        f"{method}: test error {100 * result['test_error']:.2f}% | loss {result['test_loss']:.3f} | "
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
    fmt = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(row) for row in rows])


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
    output = pathlib.Path(args.output)
    if args.strategy == "multiworker" and not is_chief(strategy):
        # Every worker runs the whole script; only the chief writes to --output.
        resolver = strategy.cluster_resolver
        output = output / f"{resolver.task_type}{resolver.task_id}"
    output.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    x_train_all, y_train_all, x_test_all, y_test_all, class_names = load_dataset(args.dataset, args.data_dir)
    num_classes = len(class_names)
    train_index = stratified_subset(y_train_all, args.train_size or None, args.seed)
    x_train, y_train = x_train_all[train_index], y_train_all[train_index]
    test_index = stratified_subset(y_test_all, args.test_size or None, args.seed)
    x_test = x_test_all[test_index].astype("float32") / 255.0
    y_test = y_test_all[test_index]
    rng = np.random.default_rng(args.seed)
    val_index = np.sort(rng.permutation(len(x_test))[: args.val_size])
    fgsm_index = np.sort(rng.permutation(len(x_test))[: args.fgsm_size])
    composites = evaluation.two_class_composites(x_test, y_test, args.cam_size, seed=args.seed)
    data = {
        "x_train": x_train, "y_train": y_train,
        "x_val": x_test[val_index], "y_val": np.eye(num_classes, dtype="float32")[y_test[val_index]],
        "x_test": x_test, "y_test": y_test,
        "x_fgsm": x_test[fgsm_index], "y_fgsm": y_test[fgsm_index],
        "composites": composites,
    }

    machine = machine_description()
    model_kwargs = {"width": args.width} if args.model in ("resnet", "cnn") else {}
    model = MODELS[args.model](x_train.shape[1:], num_classes, **model_kwargs)
    initial_weights = model.get_weights()
    subset = "all" if len(x_train) == len(x_train_all) else f"a stratified subset of {len(x_train)}"
    print("=" * 100)
    print(
        f"keras_cutmix fit_compare: {args.dataset}, {subset} of {len(x_train_all)} training images, "
        f"{len(x_test)} test images, {args.epochs} epochs, batch {args.batch_size}, seed {args.seed}"
    )
    print(
        f"model: {model.name} ({model.count_params():,} parameters, GAP + Dense), SGD Nesterov lr {args.lr} cosine, "
        f"weight decay {args.weight_decay}, XLA {'off' if args.no_jit else 'on'}; "
        f"mixing {'in the model where possible' if args.in_model else 'in tf.data'}"
    )
    print(f"machine: {machine_line(machine)}; keras {keras.__version__}, tensorflow {tf.__version__}, backend {keras.backend.backend()}")
    if strategy is not None:
        replicas = strategy.num_replicas_in_sync
        print(
            f"distribution: --strategy {args.strategy}, {type(strategy).__name__} with {replicas} replicas in sync; "
            f"global batch {args.batch_size} = {args.batch_size / replicas:g} per replica"
        )
        if args.batch_size % replicas:
            print(f"warning: --batch-size {args.batch_size} is not a multiple of the {replicas} replicas; the replicas get unequal batches.")
    if (args.train_size, args.epochs) == (DEFAULT_TRAIN_SIZE, DEFAULT_EPOCHS):
        print(
            f"quick budget: a {len(x_train)}-image subset and {args.epochs} epochs so that `make demo` finishes within "
            "15 minutes on 2 CPU cores; mixing methods need longer training to pay off "
            "(the README also shows a longer run: --train-size 30000 --epochs 10)."
        )
    print("=" * 100)

    for method in args.methods:
        if METHODS[method] is not None:
            sample_picture(method, x_train, y_train, num_classes, class_names, args, output / f"samples_{method}.png")

    results, cams = [], {}
    for method in args.methods:
        result, method_cams = run_method(method, data, args, num_classes, initial_weights, strategy)
        results.append(result)
        cams[method] = method_cams
        keras.backend.clear_session()

    eps = f"{255 * args.fgsm_epsilon:g}/255"
    print("\n" + table(results, args))
    print(
        f"test set: {len(x_test)} images; ECE with 15 bins; FGSM at ε={eps} on {len(fgsm_index)} test images (inputs in [0, 1]); "
        f"CAM loc. = share of each class's positive CAM mass in its own half of {args.cam_size} two-class composites (0.5 = chance)."
    )

    # Pictures.
    histories = {r["method"]: r["history"] for r in results}
    visualize.plot_training_curves(
        histories, output / "curves.png", metrics=("loss", "val_loss", "val_error"),
        title=f"{args.dataset}: train loss (on mixed labels), test loss and error on {len(val_index)} test images per epoch",
    )
    images, _, labels_a, labels_b = composites
    shown = slice(0, 6)
    visualize.plot_class_activation_maps(
        images[shown],
        cams,
        output / "cam.png",
        image_titles=[f"{class_names[a]} | {class_names[b]}" for a, b in zip(labels_a[shown], labels_b[shown])],
        cam_titles={m: ["left class", "right class"] for m in cams},
        title="CAMs of the left image's class and of the right image's class, per method",
    )
    visualize.plot_fgsm_curves(
        results[0]["fgsm_curve"]["epsilons"],
        {r["method"]: r["fgsm_curve"]["accuracy"] for r in results},
        output / "fgsm.png",
        title=f"FGSM accuracy on {len(fgsm_index)} test images",
    )

    total = time.perf_counter() - started
    summary = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable), "examples/fit_compare.py", *(argv if argv is not None else sys.argv[1:])]),
        "args": vars(args),
        "replicas": strategy.num_replicas_in_sync if strategy is not None else 1,
        "dataset": {"name": args.dataset, "train_images": len(x_train), "train_images_available": len(x_train_all), "test_images": len(x_test)},
        "machine": machine,
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "keras_cutmix": keras_cutmix.__version__},
        "total_seconds": total,
        "results": results,
    }
    (output / "results.json").write_text(json.dumps(summary, indent=2))
    (output / "table.md").write_text(table(results, args, markdown=True) + "\n")
    print(f"wrote {output}/results.json, table.md, curves.png, cam.png, fgsm.png, samples_*.png in {total:.0f} s total")


if __name__ == "__main__":
    main()
