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
FIT_BATCH = 128  # the target: a training step at 32x32, batch 128
EPOCH_BATCHES = (8, 200)  # epochs of the "epoch" setting (224x224: the first only, unless --epoch-batches)
OURS = ("keras_cutmix batch", "keras_cutmix sample")
KERAS = "keras.layers.CutMix"
KERAS_CV = "keras_cv.layers.CutMix"
NOMIX = "no-mix map"
MODEL = "keras_cutmix.CutMixModel"
# The other methods (issue #12), each in batch mode, compared with CutMix in batch mode.
METHODS = ("MixUp", "Cutout", "CutMixOrMixUp", "ResizeMix", "FMix")
DRAW = "keras_cutmix draw"  # the layer's random draw alone: rng.uniform of (1 + 3 + 1, B), as CutMix at α = 1


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
        help=f"other methods to time, comma list among {list(METHODS)}, 'all' or 'none' "
        "(default: all on the tensorflow backend, none on jax/torch)",
    )
    p.add_argument(
        "--epoch-batches",
        default=None,
        help=f"batches per epoch in the epoch setting (default {','.join(map(str, EPOCH_BATCHES))}; 224x224: 8 only)",
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


ARGS = parse_args()
# The Keras backend must be chosen before keras is imported.
os.environ["KERAS_BACKEND"] = ARGS.backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(ROOT))

import contextlib

import keras
import numpy as np

import keras_cutmix

# --------------------------------------------------------------------------- timing


def clock() -> float:
    """Seconds on the chosen clock (--clock): elapsed time, or this process' CPU time."""
    return time.process_time() if ARGS.clock == "cpu" else time.perf_counter()


def time_cells(calls: dict, repeats: int, warmup: int = 2, sync=lambda out: out) -> dict:
    """Median seconds per call, interleaved: each repeat times every call once.

    `calls` maps a name to a zero-argument callable (or an error string, kept).
    Returns {name: {"times": [...], "median": s}} or {name: {"error": ...}}.
    """
    out = {}
    live = {}
    for name, call in calls.items():
        if isinstance(call, str):
            out[name] = {"error": call}
            continue
        try:
            for _ in range(warmup):
                sync(call())
            live[name] = call
        except Exception as exc:  # an implementation that cannot run here
            out[name] = {"error": short_error(exc)}
    times = {name: [] for name in live}
    faults = {name: 0 for name in live}
    for name, call in rotations(live, repeats):
        before = minor_faults()
        start = clock()
        sync(call())
        times[name].append(clock() - start)
        faults[name] += minor_faults() - before
    for name, ts in times.items():
        # Minor page faults per call: fresh pages the allocator had to map
        # (and the kernel to zero) for this call's buffers.
        out[name] = {"times": ts, "median": statistics.median(ts), "minor_faults_per_call": faults[name] / repeats}
    return {name: out[name] for name in calls}


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


def method_name(method: str) -> str:
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
        factories[method_name(method)] = lambda m=method: wrap_ours(getattr(keras_cutmix, m)(mode="batch", seed=1))
    skipped = {}
    if include_keras_cv:
        try:
            import keras_cv  # noqa: F401

            factories[KERAS_CV] = lambda: wrap_dict(__import__("keras_cv").layers.CutMix(seed=1))
        except Exception as exc:  # not installed, or incompatible with this Keras
            skipped[KERAS_CV] = f"not importable: {short_error(exc)}"
    else:
        skipped[KERAS_CV] = "skipped (--no-keras-cv)"
    model_cls = getattr(keras_cutmix, "CutMixModel", None)
    if model_cls is None:
        skipped["keras_cutmix.CutMixModel"] = "not in this version of keras_cutmix (fit setting only)"
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
    calls = {"memcpy": lambda: np.copyto(out, xn)}
    copy = tf.function(lambda a: tf.gather(a, reverse), jit_compile=jit)
    calls["copy"] = lambda: copy(x)
    seed = tf.constant([1, 2], tf.int64)
    draw = tf.function(lambda s: keras_cutmix.rng.uniform(s, (5, shape[0])), jit_compile=jit)
    calls[DRAW] = lambda: draw(seed)
    for name, make in factories.items():
        fn = tf.function(make(), jit_compile=jit)
        calls[name] = lambda fn=fn: fn(x, y)
    return time_cells(calls, repeats)


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
    return throughput(time_blocks(blocks, repeats), shape[0], batches)


def iterator_block(iterable, warm, batches, sync=lambda out: out):
    """Seconds for `batches` batches of a fresh iterator over `iterable`, after `warm` untimed ones."""
    it = iter(iterable)
    for _ in range(warm):
        sync(next(it))
    start = clock()
    for _ in range(batches):
        sync(next(it))
    elapsed = clock() - start
    del it
    return elapsed


def throughput(cells, batch_size, batches):
    """Add images/s and seconds per batch to the cells of blocks of `batches` batches."""
    for cell in cells.values():
        if "median" in cell:
            cell["images_per_s"] = batch_size * batches / cell["median"]
            cell["batch_s"] = cell["median"] / batches
    return cells


def time_blocks(blocks: dict, repeats: int) -> dict:
    """Like time_cells, for callables that time themselves and return seconds."""
    out, live = {}, {}
    for name, block in blocks.items():
        if isinstance(block, str):
            out[name] = {"error": block}
            continue
        try:
            block()  # warm-up (tracing, compilation)
            live[name] = block
        except Exception as exc:
            out[name] = {"error": short_error(exc)}
    times = {name: [] for name in live}
    for name, block in rotations(live, repeats):
        times[name].append(block())
    for name, ts in times.items():
        out[name] = {"times": ts, "median": statistics.median(ts)}
    return {name: out[name] for name in blocks}


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
    model_cls = getattr(keras_cutmix, "CutMixModel", None)
    if model_cls is not None and _takes_model(model_cls):
        variants[MODEL] = ("model", jit)
    calls, compile_modes = {}, {}
    for name, (make, jit_compile) in variants.items():
        try:
            if make == "model":
                model = model_cls(small_cnn(shape, dtype), seed=1)
            else:
                model = small_cnn(shape, dtype, None if make is None else make())
            model.compile(optimizer="adam", loss=loss, jit_compile=jit_compile)
            compile_modes[name] = f"jit_compile={jit_compile}"
            calls[name] = lambda model=model: model.train_on_batch(x, y)
        except Exception as exc:
            calls[name] = short_error(exc)
    with warnings.catch_warnings():
        # "CutMix is used as a layer of a model, where labels never reach it": timed as such on purpose.
        warnings.simplefilter("ignore", UserWarning)
        cells = time_cells(calls, steps, warmup=2)
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

    def epoch(ds):
        start = time.perf_counter()
        it = iter(ds)
        next(it)
        first = time.perf_counter() - start
        for _ in it:
            pass
        del it
        return time.perf_counter() - start, first

    out, live = {}, {}
    for name, ds in pipelines.items():
        try:
            epoch(ds)  # tracing, and XLA's compilation (once per process)
            live[name] = ds
        except Exception as exc:
            out[name] = {"error": short_error(exc)}
    times = {name: [] for name in live}
    firsts = {name: [] for name in live}
    for name, ds in rotations(live, repeats):
        total, first = epoch(ds)
        times[name].append(total)
        firsts[name].append(first)
    for name in live:
        cell = {
            "times": times[name],
            "median": statistics.median(times[name]),
            "first_times": firsts[name],
            "first_s": statistics.median(firsts[name]),
            "batches": batches,
        }
        if NOMIX in live:
            cell["cost_s"] = statistics.median(a - b for a, b in zip(times[name], times[NOMIX]))
        out[name] = cell
    return {name: out[name] for name in pipelines}


def tf_fit_epoch(shape, dtype, factories, repeats, batches):
    """`model.fit(pipeline, epochs=1)` of a tiny model (pooling + Dense), per implementation in the pipeline.

    `fit` makes a fresh iterator for the epoch, as for every epoch of a
    longer run; the model is compiled and built once (an untimed epoch first).
    """
    import tensorflow as tf

    xn, _ = make_batch(shape, dtype)
    ids = np.random.default_rng(0).integers(0, NUM_CLASSES, shape[0])
    calls = {}
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
        calls[name] = lambda model=model, ds=ds: model.fit(ds, epochs=1, verbose=0)
        # The workaround for the per-iterator cost: an endless pipeline and
        # `steps_per_epoch`, with which Keras keeps one iterator for the whole
        # `fit`; timed per epoch over ONE_ITERATOR_EPOCHS epochs.
        endless = epoch_pipeline(xn, ids, cast, batches).repeat()
        calls[name + ONE_ITERATOR] = lambda model=model, ds=endless: model.fit(
            ds, epochs=ONE_ITERATOR_EPOCHS, steps_per_epoch=batches, verbose=0
        )
    cells = time_cells(calls, repeats, warmup=1)
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


def _takes_model(cls) -> bool:
    import inspect

    try:
        params = list(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] in ("model", "inner", "base_model", "network")


# --------------------------------------------------------------------------- JAX / torch direct call


def other_backend_direct(shape, dtype, factories, repeats):
    """Direct call on the JAX or torch backend, on the GPU when there is one."""
    backend = keras.backend.backend()
    xn, yn = make_batch(shape, dtype)
    rev = np.arange(shape[0])[::-1].astype("int32")
    out_host = np.empty_like(xn)
    calls = {"memcpy": lambda: np.copyto(out_host, xn)}
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
                    layer_call_build(layer, x, y)
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
    cells = time_cells(calls, repeats, sync=sync)
    nbytes = xn.nbytes
    for cell in cells.values():
        if "median" in cell:
            cell["batch_GB_per_s"] = nbytes / cell["median"] / 1e9
    return cells, device_name, on_gpu


# --------------------------------------------------------------------------- host pipelines (issue #18)


def host_pipeline(shape, dtype, factories, repeats, batches, quick=False):
    """Batches per second of a host pipeline with each implementation as its mapping step.

    JAX backend: `grain.MapDataset.source(samples).batch(B).map(fn)`, the
    samples NumPy arrays. torch backend: a `torch.utils.data.DataLoader`
    (batch_size=B, collate_fn = default_collate, then fn), iterated in this
    process with one intra-op thread, as torch runs each DataLoader worker
    (`num_workers > 0` would add the transfer of every batch between
    processes, the same for every implementation). fn is nothing (no-op map),
    a copy of the batch in the framework (the floor: every image moved to
    another slot), keras_cutmix, or keras.layers.CutMix. Each timed block
    makes a fresh iterator, pulls one batch untimed, then times `batches`
    batches; blocks rotate over the implementations.
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
    for name, make in factories.items():
        fns[name] = make()
    blocks = {}
    for name, fn in fns.items():
        iterable = _host_iterable(backend, xn, yn, fn, shape[0], batches + 1)
        blocks[name] = functools.partial(iterator_block, iterable, 1, batches, sync)
    with _one_torch_thread(backend):
        return throughput(time_blocks(blocks, repeats), shape[0], batches)


def _host_iterable(backend, xn, yn, fn, batch_size, batches):
    """`batches` batches of the samples of (xn, yn), batched by the framework, then mapped by fn."""
    count = batch_size * batches

    class Samples:
        def __len__(self):
            return count

        def __getitem__(self, index):
            return xn[index % batch_size], yn[index % batch_size]

    if backend == "jax":
        import grain

        return grain.MapDataset.source(Samples()).batch(batch_size).map(lambda batch: fn(*batch))
    import torch.utils.data

    def collate(samples):
        images, labels = torch.utils.data.default_collate(samples)
        return fn(images, labels)

    return torch.utils.data.DataLoader(Samples(), batch_size=batch_size, collate_fn=collate)


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


def layer_call_build(layer, x, y):
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
        if is_ours(name) and name not in OURS and name != DRAW and name != MODEL and "(no XLA)" not in name
    )
    for impl in (*OURS, "keras_cutmix batch (no XLA)", KERAS, KERAS_CV, MODEL, *methods):
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


def run_setting(setting, shape, dtype, factories, repeats, quick, fit_sides, epoch_batches):
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
            if ARGS.fit_dtypes and dtype not in ARGS.fit_dtypes.split(","):
                return
            steps = 3 if quick else (30 if shape[1] < 100 else 5)
            cells, fit_shape = fit_step(shape, dtype, factories, steps, quick)
            size = "x".join(map(str, fit_shape))
            extra["timed_steps"] = steps
            extra["device"] = device_label()
        elif setting == "host":
            # Long enough blocks that the load of a shared machine averages out within one.
            batches = 2 if quick else (4 if big else 16)
            cells = host_pipeline(shape, dtype, factories, repeats, batches, quick)
            extra["batches_per_pass"] = batches
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


def main() -> int:
    args = ARGS
    quick = args.quick
    repeats = args.repeats or (2 if quick else 7)
    backend = keras.backend.backend()
    known_settings = TF_SETTINGS if backend == "tensorflow" else OTHER_SETTINGS
    default_settings = TF_SETTINGS if backend == "tensorflow" else DEFAULT_OTHER_SETTINGS
    settings = args.settings.split(",") if args.settings else default_settings
    unknown = [s for s in settings if s not in known_settings]
    if unknown:
        raise SystemExit(f"settings {unknown} do not run on the {backend} backend; choose among {known_settings}")
    if args.sizes:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    else:
        sizes = QUICK_SIZES if quick else HOST_SIZES if settings == ["host"] else FULL_SIZES
    dtypes = args.dtypes.split(",")
    fit_sides = {int(s) for s in args.fit_sizes.split(",") if s}
    methods = args.methods or ("all" if backend == "tensorflow" else "none")
    methods = list(METHODS) if methods == "all" else [] if methods == "none" else methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; choose among {list(METHODS)}")
    epoch_batches = [int(b) for b in args.epoch_batches.split(",")] if args.epoch_batches else None
    factories, skipped = layer_factories(include_keras_cv=not args.no_keras_cv, methods=methods)
    started = time.time()
    results, ratios, notes = [], [], dict(skipped)
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
                    setting, shape, dtype, factories, repeats, quick, fit_sides, epoch_batches
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
                        print(f"  {name:28s} {fmt_cell(cell)}", flush=True)
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


def _find(results, **keys):
    for r in results:
        if all(r.get(k) == v for k, v in keys.items()):
            return r
    return None


def check_targets(results, ratios) -> list:
    """The issue's CPU targets, from this run's numbers (None when not measured)."""
    targets = []
    big = next((r["size"] for r in results if r["size"].endswith("224x224x3")), None)
    small = next((r["size"] for r in results if r["size"].endswith("32x32x3") and r["setting"] != "fit"), None)

    def add(name, value, limit, better):
        met = None if value is None else (value >= limit if better == "higher" else value <= limit)
        targets.append({"target": name, "value": value, "limit": limit, "better": better, "met": met})

    settings = {r["setting"] for r in results}
    for size in (small, big) if "map" in settings else ():
        if size is None:
            continue
        for ours in OURS:
            r = next(
                (
                    x
                    for x in ratios
                    if x["setting"] == "map" and x["size"] == size and x["dtype"] == "float32" and x["impl"] == ours
                ),
                None,
            )
            add(
                f"map throughput {ours} / keras.layers.CutMix, {size} float32 (>= 3)",
                r.get(f"{KERAS}/ours") if r else None,
                3.0,
                "higher",
            )
    if big and "xla" in settings:
        for ours in OURS:
            r = next(
                (
                    x
                    for x in ratios
                    if x["setting"] == "xla" and x["size"] == big and x["dtype"] == "float32" and x["impl"] == ours
                ),
                None,
            )
            add(f"xla {ours} / copy, {big} float32 (<= 3)", r.get("t/floor") if r else None, 3.0, "lower")
            add(f"xla {ours} / memcpy, {big} float32 (<= 3)", r.get("t/memcpy") if r else None, 3.0, "lower")
    if big:
        for setting in ("tf.function", "xla", "map", "direct"):
            if setting not in settings:
                continue
            for ours in OURS:
                f32 = _find(results, setting=setting, size=big, dtype="float32", impl=ours)
                u8 = _find(results, setting=setting, size=big, dtype="uint8", impl=ours)
                value = None
                if f32 and u8 and "median" in f32 and "median" in u8:
                    value = f32["median"] / u8["median"]
                add(f"{setting} {ours} float32 time / uint8 time, {big} (>= 2.5)", value, 2.5, "higher")
    direct = [r for r in results if r["setting"] == "direct"]
    if direct and not any(r.get("gpu") for r in direct):
        add("GPU targets (<= 2x copy, >= 3x keras.layers.CutMix): no GPU on this machine", None, 2.0, "lower")
    for size in sorted({r["size"] for r in direct if r.get("gpu")}):
        for ours in OURS:
            r = next(
                (
                    x
                    for x in ratios
                    if x["setting"] == "direct" and x["size"] == size and x["dtype"] == "float32" and x["impl"] == ours
                ),
                None,
            )
            add(f"GPU {ours} / device copy, {size} float32 (<= 2)", r.get("t/floor") if r else None, 2.0, "lower")
            add(
                f"GPU keras.layers.CutMix / {ours}, {size} float32 (>= 3)",
                r.get(f"{KERAS}/ours") if r else None,
                3.0,
                "higher",
            )
    # Issue #15: as fit pays it.
    for batches in (8,) if "epoch" in settings else ():
        for size in (small, big):
            rows = [
                x
                for x in ratios
                if x["setting"] == "epoch"
                and x["size"] == size
                and x["dtype"] == "float32"
                and x.get("batches") == batches
            ]
            for ours in OURS:
                r = next((x for x in rows if x["impl"] == ours), None)
                if size is None:
                    continue
                if size == small:
                    add(
                        f"epoch cost of {ours} / cost of a copy, {batches}-batch epochs, {size} float32 (<= 2)",
                        r.get("cost/copy cost") if r else None,
                        2.0,
                        "lower",
                    )
                add(
                    f"epoch cost of keras.layers.CutMix / {ours}, {batches}-batch epochs, {size} float32 (>= 3)",
                    r.get(f"{KERAS}/ours cost") if r else None,
                    3.0,
                    "higher",
                )
    # The keras target for the two ways that keep the per-iterator cost out of
    # every epoch (benchmarks/README.md): CutMixModel, and one iterator per fit.
    # (Under fit a copy's cost hides behind the training step: within noise of 0.)
    fit_rows = [x for x in ratios if x["setting"] == "fit-epoch" and x["dtype"] == "float32" and x.get("batches") == 8]
    for impl in (MODEL, *(name + ONE_ITERATOR for name in OURS)) if fit_rows else ():
        r = next((x for x in fit_rows if x["impl"] == impl), None)
        size = r["size"] if r else small
        add(
            f"fit-epoch cost of keras.layers.CutMix / {impl}, 8-batch epochs, {size} float32 (>= 3)",
            r.get(f"{KERAS}/ours cost") if r else None,
            3.0,
            "higher",
        )
    for size in (small, big) if "map" in settings else ():
        for dtype in ("float32", "uint8"):
            for ours in OURS:
                r = next(
                    (
                        x
                        for x in ratios
                        if x["setting"] == "map" and x["size"] == size and x["dtype"] == dtype and x["impl"] == ours
                    ),
                    None,
                )
                if size is not None:
                    add(
                        f"map {ours} / copy, steady state, {size} {dtype} (<= 1.3)",
                        r.get("t/floor") if r else None,
                        1.3,
                        "lower",
                    )
    # Issue #18: in a host pipeline (grain map on JAX, torch DataLoader collate), every size and dtype.
    for r in (x for x in ratios if x["setting"] == "host" and x["impl"] in OURS):
        where = f"{r['size']} {r['dtype']}"
        add(f"host throughput {r['impl']} / keras.layers.CutMix, {where} (>= 3)", r.get(f"{KERAS}/ours"), 3.0, "higher")
        add(f"host {r['impl']} / copy of the batch, {where} (<= 3)", r.get("t/floor"), 3.0, "lower")
    in_model = [
        r
        for r in ratios
        if r["setting"] == "fit" and r["dtype"] == "float32" and is_ours(r["impl"]) and "(no XLA)" not in r["impl"]
    ]
    for r in in_model:
        if r.get("t/floor") is not None:
            add(
                f"fit step overhead of in-model {r['impl']}, {r['size']} float32 (<= 0.05)",
                r["t/floor"] - 1.0,
                0.05,
                "lower",
            )
    return targets


def print_ratios(ratios):
    plain = [r for r in ratios if "cost_ms" not in r]
    if plain:
        print("\nratios (times; median of paired per-repeat ratios):")
        keys = ["t/floor", "t/memcpy", f"{KERAS}/ours", f"{KERAS_CV}/ours", "t/CutMix"]
        heads = ["t/floor", "t/memcpy", "keras/ours", "keras_cv/ours", "t/CutMix"]
        print(
            f"  {'setting':11s} {'size':15s} {'dtype':7s} {'impl':28s} {'floor':18s}"
            + "".join(f"{k:>14s}" for k in heads)
        )
        for r in plain:
            vals = "".join(f"{r[k]:14.2f}" if r.get(k) is not None else f"{'-':>14s}" for k in keys)
            print(f"  {r['setting']:11s} {r['size']:15s} {r['dtype']:7s} {r['impl']:28s} {r['floor']:18s}{vals}")
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
        print(f"  [{mark}] {t['target']}: {value}")


if __name__ == "__main__":
    sys.exit(main())
