"""Side-by-side CutMix benchmark: keras_cutmix vs keras.layers.CutMix vs keras_cv, and the copy floor.

One process, one run, every number in a cell measured interleaved (round robin
over the implementations, repeat after repeat), so a load spike hits all of
them alike. Times are medians after warm-up; ratios are medians of the
per-repeat ratios (paired), which is what the targets are checked on.

    python benchmarks/bench.py                     # TensorFlow: tf.function, XLA, Dataset.map, epoch, fit, fit-epoch
    python benchmarks/bench.py --backend jax       # direct call and training step on JAX (GPU when present)
    python benchmarks/bench.py --backend torch     # direct call and training step on torch (GPU when present)
    python benchmarks/bench.py --backend jax --settings host    # a grain map on the host (issue #18)
    python benchmarks/bench.py --backend torch --settings host  # a torch DataLoader collate on the host
    python benchmarks/bench.py --backend torch --settings host --host-workers 2  # ... in two DataLoader workers
    python benchmarks/bench.py --quick             # smoke test: tiny sizes, few repeats

Floors, measured in the same run:
  "copy"    the batch copied by the framework in the same setting (every image
            moved to another slot: one read and one write per pixel, plus the
            allocation of the output, which every implementation pays too);
  "memcpy"  NumPy's np.copyto into a preallocated buffer (no allocation): the
            bare memory bandwidth floor, host-side.

Settings as `fit` pays them (issue #15): "epoch" times whole epochs of a
`Dataset.map` pipeline, each from a fresh iterator as `fit` makes one per
epoch (its first batch included: the function's instantiation); "fit-epoch"
times `model.fit(..., epochs=1)` of a tiny model on such a pipeline.

Writes benchmarks/results.json (or --output); `benchmarks/report.py` turns it
into the markdown tables of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import functools
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

NUM_CLASSES = 10
FULL_SIZES = [(256, 32, 32, 3), (128, 224, 224, 3)]
QUICK_SIZES = [(8, 16, 16, 3)]
DTYPES = ["float32", "uint8"]
ONE_ITERATOR = " (repeat, steps_per_epoch)"
ONE_ITERATOR_EPOCHS = 5
TF_SETTINGS = ["tf.function", "xla", "map", "epoch", "fit", "fit-epoch"]
OTHER_SETTINGS = ["direct", "fit", "host"]  # JAX and torch
DEFAULT_OTHER_SETTINGS = ["direct", "fit"]  # "host" on request (--settings host)
HOST_SIZES = [(64, 96, 96, 3), (128, 224, 224, 3)]  # issue #18's sizes for the host pipelines
NOOP = "no-op map"
STACK = "stack alone (layer.collate's batching)"  # host.collate without the mixing
FIT_BATCH = 128  # the target: a training step at 32x32, batch 128
EPOCH_BATCHES = (8, 200)  # epochs of the "epoch" setting (224x224: the first only, unless --epoch-batches)
OURS = ("keras_cutmix batch", "keras_cutmix sample")
COLLATE = " (layer.collate)"  # host pipelines: the layer as the collation, mixing the batch it stacks in place
OURS_COLLATE = tuple(name + COLLATE for name in OURS)
HOST_OURS = (*OURS, *OURS_COLLATE)  # the host setting's rows of ours
KERAS = "keras.layers.CutMix"
KERAS_CV = "keras_cv.layers.CutMix"
NOMIX = "no-mix map"
MODEL = "keras_cutmix.CutMixModel"
DRAW = "keras_cutmix draw"  # the layer's random draw alone: rng.uniform of (1 + 3 + 1, B), as CutMix at α = 1


# keras and keras_cutmix, imported by `load_backend` once the backend is chosen:
# KERAS_BACKEND must be set before keras is imported.
keras: Any = None
keras_cutmix: Any = None


def load_backend(backend: str) -> None:
    """Set KERAS_BACKEND and import keras and keras_cutmix (this checkout's) for the whole module."""
    global keras, keras_cutmix
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import keras as keras_module

    import keras_cutmix as package

    if keras_module.backend.backend() != backend:
        raise SystemExit(
            f"keras was imported with the {keras_module.backend.backend()} backend before {backend!r} was set"
        )
    keras, keras_cutmix = keras_module, package


def benchmarked_methods() -> dict[str, tuple[str, ...]]:
    """Each method of `keras_cutmix.methods.ALL` (by `.name()`) -> the names of the rows that time it.

    CutMix has a row per mode; every other method one row in batch mode,
    compared with CutMix in batch mode (`t/CutMix`). Importing this module
    and calling this needs keras importable, nothing else.
    """
    from keras_cutmix.methods import ALL

    return {method.name(): OURS if method.name() == "CutMix" else (method_row(method.name()),) for method in ALL}


def other_methods() -> list[str]:
    """The registered methods besides CutMix (the `--methods` choices)."""
    return [name for name in benchmarked_methods() if name != "CutMix"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["tensorflow", "jax", "torch"], default="tensorflow")
    p.add_argument("--quick", action="store_true", help="tiny sizes, few repeats (smoke test)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per cell (default 7, quick 2)")
    p.add_argument(
        "--settings",
        default=None,
        help=f"comma list among {TF_SETTINGS} (tensorflow backend) or {OTHER_SETTINGS} (jax, torch)",
    )
    p.add_argument("--sizes", default=None, help="comma list of BxHxWxC, e.g. 256x32x32x3,128x224x224x3")
    p.add_argument("--dtypes", default=",".join(DTYPES))
    p.add_argument(
        "--fit-sizes", default="32", help="image sides for the model.fit setting (default 32; 224 is slow on CPU)"
    )
    p.add_argument("--fit-dtypes", default=None, help="dtypes of the fit setting (default: --dtypes)")
    p.add_argument(
        "--methods",
        default=None,
        help="other methods to time (keras_cutmix.methods.ALL besides CutMix), comma list, 'all' or 'none' "
        "(default: all on the tensorflow backend, none on jax/torch)",
    )
    p.add_argument(
        "--epoch-batches",
        default=None,
        help=f"batches per epoch in the epoch setting (default {','.join(map(str, EPOCH_BATCHES))}; 224x224: 8 only)",
    )
    p.add_argument(
        "--host-workers",
        type=int,
        default=0,
        help="host setting, torch backend: the DataLoader's num_workers (default 0: batches made in this process)",
    )
    p.add_argument("--no-keras-cv", action="store_true", help="skip keras_cv even when importable")
    p.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: elapsed time (default); cpu: this process' CPU time (time.process_time), less sensitive to "
        "other processes on a shared machine, meaningful with one compute thread (e.g. OMP_NUM_THREADS=1, torch)",
    )
    p.add_argument("--output", default=str(HERE / "results.json"))
    return p.parse_args(argv)


# --------------------------------------------------------------------------- timing


# The clock every measurement reads (--clock): elapsed time, or this process' CPU time.
clock: Callable[[], float] = time.perf_counter

# A probe measures one run of one implementation: a zero-argument callable
# returning {"t": seconds, ...} ("first": seconds to the first batch,
# "faults": minor page faults); or, for an implementation that cannot run
# here, the reason as a string.
Probe = Callable[[], dict]


def run_rounds(probes: dict[str, Probe | str], repeats: int, warmup: int = 2) -> dict:
    """The one timing runner: warm-up, rounds in rotation, medians.

    Each probe first runs `warmup` times untimed (tracing, compilation; one
    that raises is reported as an error); then `repeats` rounds each run
    every live probe once, interleaved (`rotations`), so that a load spike
    hits all of them alike. Returns {name: cell}: "times" and their
    "median", "first_times" and "first_s" when the probe measures a first
    batch, "minor_faults_per_call" when it counts faults; or {"error": ...}.
    """
    out: dict = {}
    live = {}
    for name, probe in probes.items():
        if isinstance(probe, str):
            out[name] = {"error": probe}
            continue
        try:
            for _ in range(warmup):
                probe()
            live[name] = probe
        except Exception as exc:  # an implementation that cannot run here
            out[name] = {"error": short_error(exc)}
    samples: dict = {name: [] for name in live}
    for name, probe in rotations(live, repeats):
        samples[name].append(probe())
    for name, runs in samples.items():
        times = [run["t"] for run in runs]
        cell = {"times": times, "median": statistics.median(times)}
        if runs and "first" in runs[0]:
            cell["first_times"] = [run["first"] for run in runs]
            cell["first_s"] = statistics.median(cell["first_times"])
        if runs and "faults" in runs[0]:
            # Minor page faults per call: fresh pages the allocator had to map
            # (and the kernel to zero) for this call's buffers.
            cell["minor_faults_per_call"] = sum(run["faults"] for run in runs) / repeats
        out[name] = cell
    return {name: out[name] for name in probes}


def timed(call, sync=lambda out: out) -> Probe | str:
    """The probe of a plain call: its time until `sync` returns, and its page faults (an error string stays)."""
    if isinstance(call, str):
        return call

    def probe() -> dict:
        before = minor_faults()
        start = clock()
        sync(call())
        return {"t": clock() - start, "faults": minor_faults() - before}

    return probe


def rotations(live: dict, repeats: int):
    """(name, callable) for `repeats` rounds over `live`, each round starting one
    further along, so that no implementation always takes the same place in
    the round (the first call of a round measurably paid more in `fit`)."""
    items = list(live.items())
    for r in range(repeats):
        k = r % len(items) if items else 0
        yield from items[k:] + items[:k]


def minor_faults() -> int:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    except Exception:
        return 0


def short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    for marker in ("RandomGamma", "StatelessRandomGammaV", "unsupported operations"):
        if marker in text:
            return "fails under XLA: " + marker + " op not compilable"
    return text[:200]


def paired_ratio(cells: dict, num: str, den: str):
    """Median over repeats of t_num / t_den (None when either is missing)."""
    a, b = cells.get(num, {}), cells.get(den, {})
    if "times" not in a or "times" not in b:
        return None
    return statistics.median(x / y for x, y in zip(a["times"], b["times"]))


# --------------------------------------------------------------------------- data and implementations


def make_batch(shape, dtype, seed=0):
    """Images with values 0..255 in `dtype`, and one-hot float32 labels."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, shape, dtype=np.uint8).astype(dtype)
    y = np.eye(NUM_CLASSES, dtype="float32")[rng.integers(0, NUM_CLASSES, shape[0])]
    return x, y


def method_row(method: str) -> str:
    """The row name of a method other than CutMix (batch mode)."""
    return f"keras_cutmix {method}"


def is_ours(name: str) -> bool:
    return name.startswith("keras_cutmix")


def layer_factories(include_keras_cv: bool, methods=()) -> tuple[dict, dict]:
    """name -> () -> callable(images, labels) -> (images, labels); and skipped names with reasons."""
    factories = {
        "keras_cutmix batch": lambda: wrap_ours(keras_cutmix.CutMix(mode="batch", seed=1)),
        "keras_cutmix sample": lambda: wrap_ours(keras_cutmix.CutMix(mode="sample", seed=1)),
        KERAS: lambda: wrap_dict(keras.layers.CutMix(seed=1)),
    }
    for method in methods:
        factories[method_row(method)] = lambda m=method: wrap_ours(getattr(keras_cutmix, m)(mode="batch", seed=1))
    skipped = {}
    if include_keras_cv:
        try:
            import keras_cv  # noqa: F401

            factories[KERAS_CV] = lambda: wrap_dict(__import__("keras_cv").layers.CutMix(seed=1))
        except Exception as exc:  # not installed, or incompatible with this Keras
            skipped[KERAS_CV] = f"not importable: {short_error(exc)}"
    else:
        skipped[KERAS_CV] = "skipped (--no-keras-cv)"
    return factories, skipped


def wrap_ours(layer):
    fn = lambda x, y: layer(x, y)
    fn.layer = layer
    return fn


def wrap_dict(layer):
    def fn(x, y):
        out = layer({"images": x, "labels": y}, training=True)
        return out["images"], out["labels"]

    fn.layer = layer
    return fn


# --------------------------------------------------------------------------- TensorFlow settings


def tf_direct(setting, shape, dtype, factories, repeats):
    import tensorflow as tf

    xn, yn = make_batch(shape, dtype)
    x, y = tf.constant(xn), tf.constant(yn)
    reverse = tf.constant(np.arange(shape[0])[::-1].astype("int32"))
    jit = setting == "xla"
    out = np.empty_like(xn)
    calls: dict = {"memcpy": lambda: np.copyto(out, xn)}
    copy = tf.function(lambda a: tf.gather(a, reverse), jit_compile=jit)
    calls["copy"] = lambda: copy(x)
    seed = tf.constant([1, 2], tf.int64)
    draw = tf.function(lambda s: keras_cutmix.rng.uniform(s, (5, shape[0])), jit_compile=jit)
    calls[DRAW] = lambda: draw(seed)
    for name, make in factories.items():
        fn = tf.function(make(), jit_compile=jit)
        calls[name] = lambda fn=fn: fn(x, y)
    return run_rounds({name: timed(call) for name, call in calls.items()}, repeats)


def tf_map(shape, dtype, factories, repeats, batches, warm=2):
    """Dataset.map throughput in images/s: in-memory batches, AUTOTUNE, steady state.

    Each timed block makes a fresh iterator (so no pipeline computes ahead
    while another is timed), pulls `warm` batches untimed (function
    instantiation, thread start-up), then times `batches` batches.
    """
    import tensorflow as tf

    xn, yn = make_batch(shape, dtype)
    base = tf.data.Dataset.from_tensors((xn, yn)).repeat()
    reverse = tf.constant(np.arange(shape[0])[::-1].astype("int32"))

    def noop(a, b):
        return a, b

    def copy(a, b):
        return tf.gather(a, reverse), b

    def draw(a, b):
        return a, b, keras_cutmix.rng.uniform(tf.constant([1, 2], tf.int64), (5, tf.shape(a)[0]))

    fns = {"no-op map": noop, "copy": copy, DRAW: draw}
    for name, make in factories.items():
        fns[name] = make()
    blocks = {}
    for name, fn in fns.items():
        ds = base.map(fn, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        blocks[name] = functools.partial(iterator_block, ds, warm, batches)
    return throughput(run_rounds(blocks, repeats, warmup=1), shape[0], batches)


def iterator_block(iterable, warm, batches, sync=lambda out: out) -> dict:
    """Probe: `batches` batches of a fresh iterator over `iterable`, after `warm` untimed ones."""
    it = iter(iterable)
    for _ in range(warm):
        sync(next(it))
    start = clock()
    for _ in range(batches):
        sync(next(it))
    elapsed = clock() - start
    del it
    return {"t": elapsed}


def throughput(cells, batch_size, batches):
    """Add images/s and seconds per batch to the cells of blocks of `batches` batches."""
    for cell in cells.values():
        if "median" in cell:
            cell["images_per_s"] = batch_size * batches / cell["median"]
            cell["batch_s"] = cell["median"] / batches
    return cells


def small_cnn(shape, dtype, cutmix_layer=None):
    """The small CNN of the fit setting, optionally with CutMix as its first layer."""
    layers = [keras.Input(shape[1:], dtype=dtype)]
    if cutmix_layer is not None:
        layers.append(cutmix_layer)
    layers += [
        keras.layers.Rescaling(1.0 / 255),
        keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(128, 3, strides=2, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(NUM_CLASSES),
    ]
    return keras.Sequential(layers)


def fit_step(shape, dtype, factories, steps, quick=False):
    """Seconds per training step of the small CNN, with and without in-model CutMix, on any backend.

    Steps are interleaved: each round runs one `train_on_batch` step (the
    compiled train function `fit` runs) of every model in turn, so the
    per-step ratios to the baseline are paired in time. Baselines: the same
    CNN without CutMix, compiled the same way. On TensorFlow keras' and
    keras_cv's layers cannot be compiled by XLA, so they are compared without
    XLA; JAX compiles every model (`jax.jit`), torch none (eager).
    """
    backend = keras.backend.backend()
    shape = (FIT_BATCH, *tuple(shape[1:]))
    xn, yn = make_batch(shape, dtype)
    x, y = to_device(xn), to_device(yn)
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    jit = {"tensorflow": True, "jax": True, "torch": False}[backend]
    variants = {"no CutMix": (None, jit)}
    if backend == "tensorflow" and not quick:
        variants["no CutMix (no XLA)"] = (None, False)
    for name in OURS[:1] if quick else OURS:
        mode = name.split()[-1]
        variants[name] = (lambda mode=mode: keras_cutmix.CutMix(mode=mode, seed=1), jit)
    if backend == "tensorflow" and not quick:
        variants["keras_cutmix batch (no XLA)"] = (lambda: keras_cutmix.CutMix(mode="batch", seed=1), False)
    if not quick:
        variants[KERAS] = (lambda: keras.layers.CutMix(seed=1), jit and backend != "tensorflow")
    if KERAS_CV in factories and not quick and backend == "tensorflow":
        variants[KERAS_CV] = (lambda: __import__("keras_cv").layers.CutMix(seed=1), False)
    variants[MODEL] = ("model", jit)
    calls: dict = {}
    compile_modes = {}
    for name, (make, jit_compile) in variants.items():
        try:
            if make == "model":
                model = keras_cutmix.CutMixModel(small_cnn(shape, dtype), seed=1)
            else:
                model = small_cnn(shape, dtype, None if make is None else make())
            model.compile(optimizer="adam", loss=loss, jit_compile=jit_compile)
            compile_modes[name] = f"jit_compile={jit_compile}"
            calls[name] = timed(lambda model=model: model.train_on_batch(x, y))
        except Exception as exc:
            calls[name] = short_error(exc)
    with warnings.catch_warnings():
        # "CutMix is used as a layer of a model, where labels never reach it": timed as such on purpose.
        warnings.simplefilter("ignore", UserWarning)
        cells = run_rounds(calls, steps, warmup=2)
    for name, cell in cells.items():
        if "median" in cell:
            cell["step_s"] = cell["median"]
            cell["compile"] = compile_modes.get(name)
    return cells, shape


def to_device(array):
    """A backend tensor of `array`, on the accelerator when there is one."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.constant(array)
    if backend == "jax":
        import jax

        return jax.device_put(array, jax.devices()[0])
    import torch

    return torch.as_tensor(array, device="cuda" if torch.cuda.is_available() else "cpu")


# --------------------------------------------------------------------------- as fit pays it: fresh iterators


def epoch_functions(shape, factories, names):
    """name -> map function of (images, int class ids): one-hot labels, then the implementation."""
    import tensorflow as tf

    reverse = tf.constant(np.arange(shape[0])[::-1].astype("int32"))

    def one_hot(fn):
        def mapped(a, b):
            return fn(a, tf.one_hot(b, NUM_CLASSES))

        return tf.autograph.experimental.do_not_convert(mapped)

    fns = {NOMIX: one_hot(lambda a, b: (a, b)), "copy": one_hot(lambda a, b: (tf.gather(a, reverse), b))}
    for name in names:
        if name in factories:
            fns[name] = one_hot(factories[name]())
    return fns


def epoch_pipeline(xn, ids, fn, batches):
    import tensorflow as tf

    base = tf.data.Dataset.from_tensors((xn, ids)).repeat(batches)
    return base.map(fn, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def tf_epoch(shape, dtype, factories, repeats, batches):
    """Whole epochs of `Dataset.map(fn, AUTOTUNE).prefetch`, each from a fresh iterator.

    As `fit` runs them: one `iter()` per epoch (which instantiates the map
    function anew), the first batch, the rest, and the iterator's deletion.
    Per round, every implementation runs one epoch in turn. A cell's "cost"
    is the median over rounds of (its epoch − the no-mix map's epoch in the
    same round): what mixing adds to an epoch. "first" is iter() to the
    first batch.
    """
    xn, _ = make_batch(shape, dtype)
    ids = np.random.default_rng(0).integers(0, NUM_CLASSES, shape[0])
    names = [*list(OURS), KERAS, KERAS_CV]
    pipelines = {
        name: epoch_pipeline(xn, ids, fn, batches) for name, fn in epoch_functions(shape, factories, names).items()
    }

    def epoch(ds) -> dict:
        start = clock()
        it = iter(ds)
        next(it)
        first = clock() - start
        for _ in it:
            pass
        del it
        return {"t": clock() - start, "first": first}

    # The first epoch of each is untimed: tracing, and XLA's compilation (once per process).
    cells = run_rounds({name: functools.partial(epoch, ds) for name, ds in pipelines.items()}, repeats, warmup=1)
    for cell in cells.values():
        if "times" in cell:
            cell["batches"] = batches
            if "times" in cells[NOMIX]:
                cell["cost_s"] = statistics.median(a - b for a, b in zip(cell["times"], cells[NOMIX]["times"]))
    return cells


def tf_fit_epoch(shape, dtype, factories, repeats, batches):
    """`model.fit(pipeline, epochs=1)` of a tiny model (pooling + Dense), per implementation in the pipeline.

    `fit` makes a fresh iterator for the epoch, as for every epoch of a
    longer run; the model is compiled and built once (an untimed epoch first).
    """
    import tensorflow as tf

    xn, _ = make_batch(shape, dtype)
    ids = np.random.default_rng(0).integers(0, NUM_CLASSES, shape[0])
    calls: dict = {}
    fns = epoch_functions(shape, factories, [*list(OURS), KERAS])
    # In the model: the no-mix pipeline, CutMix in the compiled train step.
    fns[MODEL] = fns[NOMIX]
    for name, fn in fns.items():
        model = keras.Sequential(
            [
                keras.Input(shape[1:]),
                keras.layers.Rescaling(1.0 / 255),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(NUM_CLASSES),
            ]
        )
        if name == MODEL:
            model = keras_cutmix.CutMixModel(model, seed=1)
        model.compile(optimizer="sgd", loss=keras.losses.CategoricalCrossentropy(from_logits=True))

        @tf.autograph.experimental.do_not_convert
        def cast(a, b, fn=fn):
            images, labels = fn(a, b)
            return tf.cast(images, "float32"), labels

        ds = epoch_pipeline(xn, ids, cast, batches)
        calls[name] = timed(lambda model=model, ds=ds: model.fit(ds, epochs=1, verbose=0))
        # The workaround for the per-iterator cost: an endless pipeline and
        # `steps_per_epoch`, with which Keras keeps one iterator for the whole
        # `fit`; timed per epoch over ONE_ITERATOR_EPOCHS epochs.
        endless = epoch_pipeline(xn, ids, cast, batches).repeat()
        calls[name + ONE_ITERATOR] = timed(
            lambda model=model, ds=endless: model.fit(
                ds, epochs=ONE_ITERATOR_EPOCHS, steps_per_epoch=batches, verbose=0
            )
        )
    cells = run_rounds(calls, repeats, warmup=1)
    for name, cell in cells.items():
        if name.endswith(ONE_ITERATOR) and "times" in cell:
            cell["times"] = [t / ONE_ITERATOR_EPOCHS for t in cell["times"]]
            cell["median"] = statistics.median(cell["times"])
    for name, cell in cells.items():
        base = cells.get(NOMIX + ONE_ITERATOR if name.endswith(ONE_ITERATOR) else NOMIX, {})
        if "times" in cell and "times" in base:
            cell["cost_s"] = statistics.median(a - b for a, b in zip(cell["times"], base["times"]))
            cell["batches"] = batches
    return cells


# --------------------------------------------------------------------------- JAX / torch direct call


def other_backend_direct(shape, dtype, factories, repeats):
    """Direct call on the JAX or torch backend, on the GPU when there is one."""
    backend = keras.backend.backend()
    xn, yn = make_batch(shape, dtype)
    rev = np.arange(shape[0])[::-1].astype("int32")
    out_host = np.empty_like(xn)
    calls: dict = {"memcpy": lambda: np.copyto(out_host, xn)}
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        device = jax.devices()[0]
        x, y, r = (jax.device_put(a, device) for a in (xn, yn, rev))
        sync = jax.block_until_ready
        copy = jax.jit(lambda a: jnp.take(a, r, axis=0))
        calls["copy"] = lambda: copy(x)
        for name, make in factories.items():
            layer = make().layer
            layer_call = factories_call(name)

            def step(state, a, b, layer=layer, layer_call=layer_call):
                return layer_call(layer, state, a, b)

            jitted = jax.jit(step)
            holder = {}

            def run(jitted=jitted, layer=layer, holder=holder):
                if "state" not in holder:
                    build_layer(layer, x, y)
                    holder["state"] = [v.value for v in layer.non_trainable_variables]
                out, holder["state"] = jitted(holder["state"], x, y)
                return out

            calls[name] = run
        device_name = f"{device.platform}: {getattr(device, 'device_kind', device)}"
        on_gpu = device.platform == "gpu"
    else:
        import torch

        on_gpu = torch.cuda.is_available()
        device = "cuda" if on_gpu else "cpu"
        x = torch.as_tensor(xn, device=device)
        y = torch.as_tensor(yn, device=device)
        r = torch.as_tensor(rev.astype("int64"), device=device)

        def sync(out):
            if on_gpu:
                torch.cuda.synchronize()
            return out

        # Advanced indexing, not index_select (keras.ops.take's kernel on
        # torch, ~8x slower on CPU for whole images): the faster copy is the floor.
        calls["copy"] = lambda: x[r]
        for name, make in factories.items():
            fn = make()
            calls[name] = lambda fn=fn: fn(x, y)
        device_name = torch.cuda.get_device_name(0) if on_gpu else f"cpu ({torch.get_num_threads()} threads)"
    cells = run_rounds({name: timed(call, sync) for name, call in calls.items()}, repeats)
    nbytes = xn.nbytes
    for cell in cells.values():
        if "median" in cell:
            cell["batch_GB_per_s"] = nbytes / cell["median"] / 1e9
    return cells, device_name, on_gpu


# --------------------------------------------------------------------------- host pipelines (issue #18)


def host_pipeline(shape, dtype, factories, repeats, batches, quick=False, workers=0):
    """Batches per second of a host pipeline with each implementation as its mapping step.

    JAX backend: `grain.MapDataset.source(samples).batch(B).map(fn)`, the
    samples NumPy arrays, iterated in this thread (`ReadOptions(num_threads=0)`:
    grain's default prefetch threads would run ahead of the timed block).
    torch backend: a `torch.utils.data.DataLoader`
    (batch_size=B, collate_fn = default_collate, then fn), iterated in this
    process with one intra-op thread, as torch runs each DataLoader worker;
    with `workers` > 0 (--host-workers), in that many worker processes, whose
    batches reach this process through shared memory (default_collate
    allocates there; a new tensor is copied there first, and NumPy, the
    memcpy row's buffer, pickled through a pipe: its ratios there measure
    that). fn is nothing (no-op map),
    a copy of the batch in the framework (the floor: every image moved to
    another slot), NumPy's copy into a preallocated buffer (memcpy),
    keras_cutmix, or keras.layers.CutMix; the rows "(layer.collate)" replace
    the batching instead (grain's `batch_fn`, torch's `collate_fn`): our
    layer's `collate`, which mixes the batch it stacks in place, beside its
    stacking alone (`host.collate`, not mixed: the ceiling of those rows). Each timed
    block makes a fresh iterator, pulls one batch untimed, then times
    `batches` batches; blocks rotate over the implementations.
    """
    backend = keras.backend.backend()
    xn, yn = make_batch(shape, dtype)
    reverse = np.arange(shape[0])[::-1].copy()
    fns = {}
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        take = jax.jit(lambda a: jnp.take(a, reverse, axis=0))
        fns[NOOP] = lambda x, y: (x, y)
        fns["copy"] = lambda x, y: (take(x), y)
        sync = jax.block_until_ready
    else:
        import torch

        torch_reverse = torch.as_tensor(reverse)
        fns[NOOP] = lambda x, y: (x, y)
        fns["copy"] = lambda x, y: (x[torch_reverse], y)
        sync = lambda out: out
    # The bare floor: NumPy's copy into a preallocated buffer (no allocation, no
    # conversion to a backend array), the "t/memcpy" ratios.
    buffer = np.empty_like(xn)
    fns["memcpy"] = lambda x, y: (np.copyto(buffer, np.asarray(x)) or buffer, y)
    from keras_cutmix import host

    def stack_alone(samples):  # what `layer.collate` stacks, not mixed: the ceiling of its rows
        batch, to_tensors = host.as_numpy_views(host.collate(samples, torch_loader=True))
        return to_tensors(batch)

    collates = {STACK: host.collate if backend == "jax" else stack_alone}
    for name, make in factories.items():
        fns[name] = make()
        if name in OURS:
            collates[name + COLLATE] = fns[name].layer.collate
    blocks = {}
    for name in (*fns, *collates):
        iterable = _host_iterable(backend, xn, yn, fns.get(name), shape[0], batches + 1, collates.get(name), workers)
        blocks[name] = functools.partial(iterator_block, iterable, 1, batches, sync)
    with _one_torch_thread(backend):
        return throughput(run_rounds(blocks, repeats, warmup=1), shape[0], batches)


def _host_iterable(backend, xn, yn, fn, batch_size, batches, collate=None, workers=0):
    """`batches` batches of the samples of (xn, yn), batched by the framework, then mapped by fn (or batched by `collate`)."""
    count = batch_size * batches

    class Samples:
        def __len__(self):
            return count

        def __getitem__(self, index):
            return xn[index % batch_size], yn[index % batch_size]

    if backend == "jax":
        import grain

        if collate is not None:
            dataset = grain.MapDataset.source(Samples()).batch(batch_size, batch_fn=collate)
        else:
            dataset = grain.MapDataset.source(Samples()).batch(batch_size).map(lambda batch: fn(*batch))
        # In this thread: `iter(dataset)` would prefetch with 16 threads (grain's default ReadOptions), whose
        # work before and during a block the block's clock cannot tell apart (5x spreads on 2 cores).
        return dataset.to_iter_dataset(grain.ReadOptions(num_threads=0, prefetch_buffer_size=0))
    import torch.utils.data

    def then_fn(samples):
        images, labels = torch.utils.data.default_collate(samples)
        return fn(images, labels)

    parallel = {"num_workers": workers, "prefetch_factor": 2} if workers else {}  # (one intra-op thread each)
    return torch.utils.data.DataLoader(Samples(), batch_size=batch_size, collate_fn=collate or then_fn, **parallel)


@contextlib.contextmanager
def _one_torch_thread(backend):
    if backend != "torch":
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def factories_call(name):
    def call(layer, state, a, b):
        data = (a, b) if is_ours(name) else ({"images": a, "labels": b},)
        out, state = layer.stateless_call([], state, *data, training=True)
        images = out[0] if is_ours(name) else out["images"]
        return images, state

    return call


def build_layer(layer, x, y):
    """Build a layer by calling it once (its state, read by `stateless_call`, exists after)."""
    if not layer.built:
        layer({"images": x, "labels": y})


# --------------------------------------------------------------------------- reporting


@functools.cache
def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "nproc": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "L3 cache", "Hypervisor vendor"):
                info[key.strip()] = value.strip()
    except Exception:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["MemTotal"] = f.readline().split(":")[1].strip()
    except Exception:
        pass
    with contextlib.suppress(Exception):
        info["loadavg_at_start"] = pathlib.Path("/proc/loadavg").read_text().split()[:3]
    # glibc's heap settings decide whether each fresh batch page-faults (benchmarks/README.md, "Trap 2").
    info["malloc_env"] = {key: value for key, value in os.environ.items() if key.startswith("MALLOC_")}
    return info


def versions() -> dict:
    out = {"keras": keras.__version__, "keras_cutmix": keras_cutmix.__version__, "numpy": np.__version__}
    for mod in ("tensorflow", "jax", "torch", "keras_cv"):
        if mod in sys.modules:
            out[mod] = getattr(sys.modules[mod], "__version__", "?")
    return out


def fmt_cell(cell) -> str:
    if "error" in cell:
        return f"{'n/a':>16s}  ({cell['error']})"
    if "images_per_s" in cell:
        text = f"{cell['images_per_s']:.0f} img/s"
    elif "step_s" in cell:
        text = f"{cell['step_s'] * 1e3:.1f} ms/step"
    else:
        text = f"{cell['median'] * 1e3:.2f} ms"
    text = f"{text:>16s}"
    if "cost_s" in cell:
        text += f"  cost {cell['cost_s'] * 1e3:+8.2f} ms"
    if "first_s" in cell:
        text += f"  first batch {cell['first_s'] * 1e3:7.2f} ms"
    if "batch_GB_per_s" in cell:
        text += f"  {cell['batch_GB_per_s']:.2f} GB/s"
    if "minor_faults_per_call" in cell:
        text += f"  {cell['minor_faults_per_call']:8.0f} page faults/call"
    return text


def ratio_rows(setting, size, dtype, cells, extra=None):
    """Ratios for one cell (paired medians): each CutMix over its floor and over
    memcpy, and keras / keras_cv over each of ours; each other method over
    the copy and over CutMix (batch mode).

    The floor is the framework's copy of the batch; in the fit setting it is
    the same model without CutMix, compiled the same way. In the epoch
    settings the ratios are of costs (epoch − no-mix epoch, see `tf_epoch`).
    """
    if setting in ("epoch", "fit-epoch"):
        return epoch_ratio_rows(setting, size, dtype, cells, (extra or {}).get("batches"))
    rows = []
    methods = tuple(
        name
        for name in cells
        if is_ours(name) and name not in HOST_OURS and name != DRAW and name != MODEL and "(no XLA)" not in name
    )
    for impl in (*HOST_OURS, "keras_cutmix batch (no XLA)", KERAS, KERAS_CV, MODEL, *methods):
        if "times" not in cells.get(impl, {}):
            continue
        if setting == "fit":
            no_xla = cells[impl].get("compile") == "jit_compile=False" and "times" in cells.get(
                "no CutMix (no XLA)", {}
            )
            floor = "no CutMix (no XLA)" if no_xla else "no CutMix"
        else:
            floor = "copy"
        row = {
            "setting": setting,
            "size": size,
            "dtype": dtype,
            "impl": impl,
            "floor": floor,
            "t/floor": paired_ratio(cells, impl, floor),
            "t/memcpy": paired_ratio(cells, impl, "memcpy"),
        }
        if impl in methods:
            row["t/CutMix"] = paired_ratio(cells, impl, OURS[0])
        elif is_ours(impl) and impl != MODEL:
            for other in (KERAS, KERAS_CV):
                # In the fit setting, only against our layer compiled the same way.
                if setting != "fit" or cells.get(other, {}).get("compile") == cells[impl].get("compile"):
                    row[f"{other}/ours"] = paired_ratio(cells, other, impl)
            if setting == "host":
                # The pipeline's batching alone (a mapping costing nothing; for layer.collate, its stacking
                # without the mixing): no keras/ours of that row can exceed this.
                row[CEILING] = paired_ratio(cells, KERAS, STACK if impl in OURS_COLLATE else NOOP)
        rows.append(row)
    return rows


def epoch_ratio_rows(setting, size, dtype, cells, batches):
    rows = []
    impls = ("copy", *OURS, KERAS, KERAS_CV, MODEL)
    for impl in (*impls, *(name + ONE_ITERATOR for name in impls)):
        cell = cells.get(impl, {})
        if "cost_s" not in cell:
            continue
        suffix = ONE_ITERATOR if impl.endswith(ONE_ITERATOR) else ""
        copy_cost = cells.get("copy" + suffix, {}).get("cost_s")
        row = {
            "setting": setting,
            "size": size,
            "dtype": dtype,
            "batches": batches,
            "impl": impl,
            "floor": NOMIX,
            "cost_ms": cell["cost_s"] * 1e3,
            "first_ms": cell.get("first_s", 0) * 1e3 or None,
            "cost/copy cost": cell["cost_s"] / copy_cost if copy_cost and copy_cost > 0 else None,
        }
        if is_ours(impl):
            other = cells.get(KERAS + suffix, {}).get("cost_s")
            row[f"{KERAS}/ours cost"] = other / cell["cost_s"] if other is not None and cell["cost_s"] > 0 else None
        rows.append(row)
    return rows


def run_setting(setting, shape, dtype, factories, repeats, quick, fit_sides, fit_dtypes, epoch_batches, host_workers=0):
    """Yield (cells, size label, extra row fields, start time) for each cell of one setting × size × dtype."""
    size = "x".join(map(str, shape))
    t0 = time.time()
    extra = {}
    big = shape[1] >= 128
    try:
        if setting in ("tf.function", "xla"):
            cells = tf_direct(setting, shape, dtype, factories, repeats)
        elif setting == "map":
            # Long enough passes that the load of a shared machine averages out within one.
            batches = 2 if quick else (12 if big else 64)
            cells = tf_map(shape, dtype, factories, repeats, batches, warm=1 if quick else 2)
            extra["batches_per_pass"] = batches
        elif setting == "epoch":
            ours = {name: make for name, make in factories.items() if not is_ours(name) or name in OURS}
            counts = epoch_batches or ((2, 4) if quick else EPOCH_BATCHES[:1] if big else EPOCH_BATCHES)
            for batches in counts:
                t0 = time.time()
                # Short epochs cost little and a copy's cost is small beside the noise: more rounds.
                rounds = repeats * 3 if batches <= 8 and not quick else repeats
                yield tf_epoch(shape, dtype, ours, rounds, batches), size, {"batches": batches}, t0
            return
        elif setting == "fit-epoch":
            if big or (quick and dtype != "float32") or (not quick and dtype != "float32"):
                return
            batches = 2 if quick else 8
            yield tf_fit_epoch(shape, dtype, factories, repeats, batches), size, {"batches": batches}, t0
            return
        elif setting == "fit":
            if (not quick and shape[1] not in fit_sides) or (quick and dtype != "float32"):
                return
            if fit_dtypes and dtype not in fit_dtypes:
                return
            steps = 3 if quick else (30 if shape[1] < 100 else 5)
            cells, fit_shape = fit_step(shape, dtype, factories, steps, quick)
            size = "x".join(map(str, fit_shape))
            extra["timed_steps"] = steps
            extra["device"] = device_label()
        elif setting == "host":
            # Long enough blocks that the load of a shared machine averages out within one.
            batches = 2 if quick else (4 if big else 16)
            cells = host_pipeline(shape, dtype, factories, repeats, batches, quick, host_workers)
            extra["batches_per_pass"] = batches
            extra["workers"] = host_workers
            extra["pipeline"] = "grain MapDataset" if keras.backend.backend() == "jax" else "torch DataLoader collate"
        elif setting == "direct":
            cells, device, on_gpu = other_backend_direct(shape, dtype, factories, repeats)
            extra.update(device=device, gpu=on_gpu)
        else:
            raise ValueError(f"unknown setting {setting!r}")
    except Exception:
        traceback.print_exc()
        cells = {"(setting)": {"error": traceback.format_exc(limit=2)[-300:]}}
    yield cells, size, extra, t0


def device_label() -> str:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {getattr(device, 'device_kind', device)}"
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return "cpu"


def main(argv=None) -> int:
    args = parse_args(argv)
    load_backend(args.backend)
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    quick = args.quick
    repeats = args.repeats or (2 if quick else 7)
    backend = keras.backend.backend()
    known_settings = TF_SETTINGS if backend == "tensorflow" else OTHER_SETTINGS
    default_settings = TF_SETTINGS if backend == "tensorflow" else DEFAULT_OTHER_SETTINGS
    settings = args.settings.split(",") if args.settings else default_settings
    unknown = [s for s in settings if s not in known_settings]
    if unknown:
        raise SystemExit(f"settings {unknown} do not run on the {backend} backend; choose among {known_settings}")
    if args.host_workers and (backend != "torch" or "host" not in settings):
        raise SystemExit("--host-workers sets the torch DataLoader's workers: it needs --backend torch --settings host")
    if args.sizes:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    else:
        sizes = QUICK_SIZES if quick else HOST_SIZES if settings == ["host"] else FULL_SIZES
    dtypes = args.dtypes.split(",")
    fit_sides = {int(s) for s in args.fit_sizes.split(",") if s}
    fit_dtypes = args.fit_dtypes.split(",") if args.fit_dtypes else None
    known_methods = other_methods()
    methods = args.methods or ("all" if backend == "tensorflow" else "none")
    methods = known_methods if methods == "all" else [] if methods == "none" else methods.split(",")
    unknown = [m for m in methods if m not in known_methods]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; choose among {known_methods}")
    epoch_batches = [int(b) for b in args.epoch_batches.split(",")] if args.epoch_batches else None
    factories, skipped = layer_factories(include_keras_cv=not args.no_keras_cv, methods=methods)
    started = time.time()
    results: list = []
    ratios: list = []
    notes = dict(skipped)
    device = None
    print(
        f"keras_cutmix bench: backend {backend}, settings {settings}, repeats {repeats}, sizes {sizes}, "
        f"dtypes {dtypes}, methods {methods}",
        flush=True,
    )
    for reason in skipped.items():
        print("  skip {}: {}".format(*reason), flush=True)
    for setting in settings:
        for shape in sizes:
            for dtype in dtypes:
                for cells, size, extra, t0 in run_setting(
                    setting,
                    shape,
                    dtype,
                    factories,
                    repeats,
                    quick,
                    fit_sides,
                    fit_dtypes,
                    epoch_batches,
                    args.host_workers,
                ):
                    if setting == "direct":
                        device = extra.get("device", device)
                    for name, cell in cells.items():
                        results.append(
                            {"setting": setting, "size": size, "dtype": dtype, "impl": name, **extra, **cell}
                        )
                    ratios += ratio_rows(setting, size, dtype, cells, extra)
                    label = f" {extra['batches']} batches" if "batches" in extra else ""
                    print(f"\n[{setting}] {size} {dtype}{label}  ({time.time() - t0:.0f} s)", flush=True)
                    for name, cell in cells.items():
                        print(f"  {name:36s} {fmt_cell(cell)}", flush=True)
                    write_report(args, results, ratios, notes, device, started, repeats, quick, partial=True)
    report = write_report(args, results, ratios, notes, device, started, repeats, quick)
    print_ratios(ratios)
    print_targets(report["targets"])
    print(f"\nwrote {args.output} in {time.time() - started:.0f} s", flush=True)
    return 0


def write_report(args, results, ratios, notes, device, started, repeats, quick, partial=False) -> dict:
    """Write the JSON report (after every cell too, so that a run cut short leaves what it measured)."""
    report = {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
            "backend": keras.backend.backend(),
            "device": device or "cpu",
            "quick": quick,
            "partial": partial,
            "repeats": repeats,
            "clock": args.clock,
            "seconds": round(time.time() - started, 1),
            "machine": dict(machine_info()),
            "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
            "versions": versions(),
            "notes": notes,
            "method": "interleaved round robin; time = median of repeats after warm-up; "
            "ratio = median of per-repeat paired ratios; epoch cost = median of per-round (epoch - no-mix epoch)",
        },
        "results": [_jsonable(r) for r in results],
        "ratios": [_jsonable(r) for r in ratios],
        "targets": check_targets(results, ratios),
    }
    out = pathlib.Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    return report


def _jsonable(row: dict) -> dict:
    return {k: (float(v) if isinstance(v, (np.floating,)) else v) for k, v in row.items()}


# --------------------------------------------------------------------------- targets


@dataclasses.dataclass(frozen=True)
class Target:
    """One of the issues' targets, checked on the ratio rows of one run.

    `text` names it and ends with its bound, "(>= 3)" or "(<= 1.3)"; it is
    formatted with each checked row's impl, size, dtype and batches. The
    rows checked: `setting`, `dtypes`, `batches`, each of `impls` (None:
    every keras_cutmix row the run has but those named "(no XLA)"), at
    `sizes`: "small" and "big" (the run's 32x32 and 224x224 sizes; a size
    the run lacks is skipped, a row it lacks reads None), "gpu" (the direct
    setting's sizes measured on a GPU) or "measured" (every size and dtype of
    the setting's rows). The value is the row's `key` minus `offset`; key
    FLOAT_OVER_UINT8 is a float32 cell's time over its uint8 twin's.
    """

    text: str
    setting: str
    key: str
    sizes: tuple[str, ...] = ("small", "big")
    dtypes: tuple[str, ...] = ("float32",)
    impls: tuple[str, ...] | None = OURS
    batches: int | None = None
    offset: float = 0.0


FLOAT_OVER_UINT8 = "float32/uint8"
BOTH = ("float32", "uint8")
BIG, GPU, MEASURED = ("big",), ("gpu",), ("measured",)
KERAS_OURS, KERAS_COST = f"{KERAS}/ours", f"{KERAS}/ours cost"
# A host pipeline's batching costs its rows the same: keras' time over the batching alone (the no-op
# map's; for the layer.collate rows, the stack alone's) is the largest keras/ours that row could reach.
CEILING = f"{KERAS}/batching alone"
TARGETS = (
    Target("map throughput {impl} / keras.layers.CutMix, {size} float32 (>= 3)", "map", KERAS_OURS),
    Target("xla {impl} / copy, {size} float32 (<= 3)", "xla", "t/floor", BIG),
    Target("xla {impl} / memcpy, {size} float32 (<= 3)", "xla", "t/memcpy", BIG),
    *(
        Target(f"{setting} {{impl}} float32 time / uint8 time, {{size}} (>= 2.5)", setting, FLOAT_OVER_UINT8, BIG)
        for setting in ("tf.function", "xla", "map", "direct")
    ),
    Target("GPU {impl} / device copy, {size} float32 (<= 2)", "direct", "t/floor", GPU),
    Target("GPU keras.layers.CutMix / {impl}, {size} float32 (>= 3)", "direct", KERAS_OURS, GPU),
    # Issue #15: as fit pays it.
    Target(
        "epoch cost of {impl} / cost of a copy, {batches}-batch epochs, {size} float32 (<= 2)",
        "epoch",
        "cost/copy cost",
        ("small",),
        batches=8,
    ),
    Target(
        "epoch cost of keras.layers.CutMix / {impl}, {batches}-batch epochs, {size} float32 (>= 3)",
        "epoch",
        KERAS_COST,
        batches=8,
    ),
    # The two ways that keep the per-iterator cost out of every epoch
    # (benchmarks/README.md): CutMixModel, and one iterator per fit. (Under
    # fit a copy's cost hides behind the training step: within noise of 0.)
    Target(
        "fit-epoch cost of keras.layers.CutMix / {impl}, {batches}-batch epochs, {size} float32 (>= 3)",
        "fit-epoch",
        KERAS_COST,
        MEASURED,
        impls=(MODEL, *(name + ONE_ITERATOR for name in OURS)),
        batches=8,
    ),
    Target("map {impl} / copy, steady state, {size} {dtype} (<= 1.3)", "map", "t/floor", dtypes=BOTH),
    # Issue #18: in a host pipeline (grain map on JAX, torch DataLoader collate), every size and dtype.
    Target(
        "host throughput {impl} / keras.layers.CutMix, {size} {dtype} (>= 3)",
        "host",
        KERAS_OURS,
        MEASURED,
        BOTH,
        impls=HOST_OURS,
    ),
    Target(
        "host {impl} / copy of the batch, {size} {dtype} (<= 3)",
        "host",
        "t/floor",
        MEASURED,
        BOTH,
        impls=HOST_OURS,
    ),
    Target(
        "fit step overhead of in-model {impl}, {size} float32 (<= 0.05)",
        "fit",
        "t/floor",
        MEASURED,
        impls=None,
        offset=1,
    ),
)


def check_targets(results, ratios) -> list:
    """The issues' targets (`TARGETS`) on this run's numbers; value None where a row was not measured."""
    settings = {r["setting"] for r in results}
    named_sizes = {
        "small": next((r["size"] for r in results if r["size"].endswith("32x32x3") and r["setting"] != "fit"), None),
        "big": next((r["size"] for r in results if r["size"].endswith("224x224x3")), None),
        "gpu": sorted({r["size"] for r in results if r["setting"] == "direct" and r.get("gpu")}),
    }
    checked = []
    if "direct" in settings and not named_sizes["gpu"]:
        text = "GPU targets (<= 2x copy, >= 3x keras.layers.CutMix): no GPU on this machine"
        checked.append({"target": text, "value": None, "limit": 2.0, "better": "lower", "met": None})
    for target in TARGETS:
        if target.setting not in settings:
            continue
        rows = [
            r
            for r in ratios
            if r["setting"] == target.setting
            and r["dtype"] in target.dtypes
            and (target.batches is None or r.get("batches") == target.batches)
        ]
        for size, dtype in _target_cells(target, rows, named_sizes):
            impls = target.impls
            if impls is None:
                mine = (r for r in rows if r["size"] == size and r["dtype"] == dtype and is_ours(r["impl"]))
                impls = tuple(r["impl"] for r in mine if "(no XLA)" not in r["impl"])
            for impl in impls:
                text = target.text.format(impl=impl, size=size, dtype=dtype, batches=target.batches)
                checked.append(_checked(text, _target_value(target, results, rows, size, dtype, impl)))
                if target.key == KERAS_OURS and target.setting == "host":
                    ceiling = _target_value(dataclasses.replace(target, key=CEILING), results, rows, size, dtype, impl)
                    checked[-1]["ceiling"] = ceiling
    return checked


def _checked(text: str, value) -> dict:
    better = "higher" if "(>= " in text else "lower"
    limit = float(text.rsplit(" ", 1)[1].rstrip(")"))
    met = None if value is None else (value >= limit if better == "higher" else value <= limit)
    return {"target": text, "value": value, "limit": limit, "better": better, "met": met}


def _target_cells(target: Target, rows: list, named_sizes: dict) -> list:
    """The (size, dtype) cells a target is checked at."""
    if target.sizes == MEASURED:
        return list(dict.fromkeys((r["size"], r["dtype"]) for r in rows))
    sizes = named_sizes["gpu"] if target.sizes == GPU else [named_sizes[name] for name in target.sizes]
    return [(size, dtype) for size in sizes if size is not None for dtype in target.dtypes]


def _target_value(target: Target, results: list, rows: list, size: str, dtype: str, impl: str):
    if target.key == FLOAT_OVER_UINT8:
        cells = [_find(results, setting=target.setting, size=size, dtype=d, impl=impl) for d in BOTH]
        if all(cell and "median" in cell for cell in cells):
            return cells[0]["median"] / cells[1]["median"]
        return None
    row = next((r for r in rows if r["size"] == size and r["dtype"] == dtype and r["impl"] == impl), None)
    value = None if row is None else row.get(target.key)
    return None if value is None else value - target.offset


def _find(results, **keys):
    for r in results:
        if all(r.get(k) == v for k, v in keys.items()):
            return r
    return None


def print_ratios(ratios):
    plain = [r for r in ratios if "cost_ms" not in r]
    if plain:
        print("\nratios (times; median of paired per-repeat ratios):")
        keys = ["t/floor", "t/memcpy", f"{KERAS}/ours", f"{KERAS_CV}/ours", "t/CutMix"]
        heads = ["t/floor", "t/memcpy", "keras/ours", "keras_cv/ours", "t/CutMix"]
        print(
            f"  {'setting':11s} {'size':15s} {'dtype':7s} {'impl':36s} {'floor':18s}"
            + "".join(f"{k:>14s}" for k in heads)
        )
        for r in plain:
            vals = "".join(f"{r[k]:14.2f}" if r.get(k) is not None else f"{'-':>14s}" for k in keys)
            print(f"  {r['setting']:11s} {r['size']:15s} {r['dtype']:7s} {r['impl']:36s} {r['floor']:18s}{vals}")
    costs = [r for r in ratios if "cost_ms" in r]
    if costs:
        print("\nepoch costs (epoch - no-mix epoch, median of paired rounds):")
        print(
            f"  {'setting':10s} {'size':15s} {'dtype':7s} {'batches':>7s} {'impl':28s}"
            f"{'cost ms':>10s}{'first ms':>10s}{'cost/copy':>11s}{'keras/ours':>11s}"
        )
        for r in costs:
            f = lambda v, w=10: f"{v:{w}.2f}" if v is not None else f"{'-':>{w}s}"
            print(
                f"  {r['setting']:10s} {r['size']:15s} {r['dtype']:7s} {r['batches']!s:>7s} {r['impl']:28s}"
                f"{f(r['cost_ms'])}{f(r['first_ms'])}{f(r['cost/copy cost'], 11)}{f(r.get(f'{KERAS}/ours cost'), 11)}"
            )


def print_targets(targets):
    if not targets:
        return
    print("\ntargets:")
    for t in targets:
        mark = {True: "MET ", False: "MISS", None: "n/a "}[t["met"]]
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        if t.get("ceiling") is not None:
            value += f" (the batching alone: {t['ceiling']:.2f})"
        print(f"  [{mark}] {t['target']}: {value}")


if __name__ == "__main__":
    sys.exit(main())
