"""Side-by-side CutMix benchmark: keras_cutmix vs keras.layers.CutMix vs keras_cv, and the copy floor.

One process, one run, every number in a cell measured interleaved (round robin
over the implementations, repeat after repeat), so a load spike hits all of
them alike. Times are medians after warm-up; ratios are medians of the
per-repeat ratios (paired), which is what the targets are checked on.

    python benchmarks/bench.py                     # TensorFlow: tf.function, XLA, Dataset.map, model.fit
    python benchmarks/bench.py --backend jax       # direct call on the JAX backend (GPU when present)
    python benchmarks/bench.py --backend torch     # direct call on the torch backend (GPU when present)
    python benchmarks/bench.py --quick             # smoke test: tiny sizes, few repeats

Floors, measured in the same run:
  "copy"    the batch copied by the framework in the same setting (every image
            moved to another slot: one read and one write per pixel, plus the
            allocation of the output, which every implementation pays too);
  "memcpy"  NumPy's np.copyto into a preallocated buffer (no allocation): the
            bare memory bandwidth floor, host-side.

Writes benchmarks/results.json (or --output).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import traceback

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

NUM_CLASSES = 10
FULL_SIZES = [(256, 32, 32, 3), (128, 224, 224, 3)]
QUICK_SIZES = [(8, 16, 16, 3)]
DTYPES = ["float32", "uint8"]
TF_SETTINGS = ["tf.function", "xla", "map", "fit"]
FIT_BATCH = 128  # the target: a training step at 32x32, batch 128
OURS = ("keras_cutmix batch", "keras_cutmix sample")
KERAS = "keras.layers.CutMix"
KERAS_CV = "keras_cv.layers.CutMix"
DRAW = "keras_cutmix draw"  # the layer's random draw alone: rng.uniform of (1 + 3 + 1, B), as CutMix at α = 1


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["tensorflow", "jax", "torch"], default="tensorflow")
    p.add_argument("--quick", action="store_true", help="tiny sizes, few repeats (smoke test)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per cell (default 7, quick 2)")
    p.add_argument("--settings", default=None, help=f"comma list among {TF_SETTINGS} (tensorflow backend)")
    p.add_argument("--sizes", default=None, help="comma list of BxHxWxC, e.g. 256x32x32x3,128x224x224x3")
    p.add_argument("--dtypes", default=",".join(DTYPES))
    p.add_argument("--fit-sizes", default="32", help="image sides for the model.fit setting (default 32; 224 is slow on CPU)")
    p.add_argument("--no-keras-cv", action="store_true", help="skip keras_cv even when importable")
    p.add_argument("--output", default=str(HERE / "results.json"))
    return p.parse_args(argv)


ARGS = parse_args()
# The Keras backend must be chosen before keras is imported.
os.environ["KERAS_BACKEND"] = ARGS.backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import keras  # noqa: E402
import keras_cutmix  # noqa: E402


# --------------------------------------------------------------------------- timing


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
        start = time.perf_counter()
        sync(call())
        times[name].append(time.perf_counter() - start)
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


def layer_factories(include_keras_cv: bool) -> tuple[dict, dict]:
    """name -> () -> callable(images, labels) -> (images, labels); and skipped names with reasons."""
    factories = {
        "keras_cutmix batch": lambda: wrap_ours(keras_cutmix.CutMix(mode="batch", seed=1)),
        "keras_cutmix sample": lambda: wrap_ours(keras_cutmix.CutMix(mode="sample", seed=1)),
        KERAS: lambda: wrap_dict(keras.layers.CutMix(seed=1)),
    }
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
    fn = lambda x, y: layer(x, y)  # noqa: E731
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

        def block(ds=ds):
            it = iter(ds)
            for _ in range(warm):
                next(it)
            start = time.perf_counter()
            for _ in range(batches):
                next(it)
            elapsed = time.perf_counter() - start
            del it
            return elapsed

        blocks[name] = block
    cells = time_blocks(blocks, repeats)
    for cell in cells.values():
        if "median" in cell:
            cell["images_per_s"] = shape[0] * batches / cell["median"]
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


def tf_fit(shape, dtype, factories, steps, quick=False):
    """Seconds per training step of the small CNN, with and without in-model CutMix.

    Steps are interleaved: each round runs one `train_on_batch` step (the
    compiled train function `fit` runs) of every model in turn, so the
    per-step ratios to the baseline are paired in time. Baselines: the same
    CNN without CutMix, compiled the same way (keras/keras_cv layers cannot
    be compiled by XLA, so they are compared without XLA).
    """
    import tensorflow as tf

    shape = (FIT_BATCH,) + tuple(shape[1:])
    xn, yn = make_batch(shape, dtype)
    x, y = tf.constant(xn), tf.constant(yn)
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    variants = {"no CutMix": (None, True)}
    if not quick:
        variants["no CutMix (no XLA)"] = (None, False)
    for name in OURS[:1] if quick else OURS:
        mode = name.split()[-1]
        variants[name] = (lambda mode=mode: keras_cutmix.CutMix(mode=mode, seed=1), True)
    if not quick:
        variants["keras_cutmix batch (no XLA)"] = (lambda: keras_cutmix.CutMix(mode="batch", seed=1), False)
        variants[KERAS] = (lambda: keras.layers.CutMix(seed=1), False)
    if KERAS_CV in factories and not quick:
        variants[KERAS_CV] = (lambda: __import__("keras_cv").layers.CutMix(seed=1), False)
    model_cls = getattr(keras_cutmix, "CutMixModel", None)
    if model_cls is not None and _takes_model(model_cls):
        variants["keras_cutmix.CutMixModel"] = ("model", True)
    calls, compile_modes = {}, {}
    for name, (make, jit) in variants.items():
        try:
            if make == "model":
                model = model_cls(small_cnn(shape, dtype), seed=1)
            else:
                model = small_cnn(shape, dtype, None if make is None else make())
            model.compile(optimizer="adam", loss=loss, jit_compile=jit)
            compile_modes[name] = f"jit_compile={jit}"
            calls[name] = lambda model=model: model.train_on_batch(x, y)
        except Exception as exc:
            calls[name] = short_error(exc)
    cells = time_cells(calls, steps, warmup=2)
    for name, cell in cells.items():
        if "median" in cell:
            cell["step_s"] = cell["median"]
            cell["compile"] = compile_modes.get(name)
    return cells, shape


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


def factories_call(name):
    def call(layer, state, a, b):
        data = (a, b) if name in OURS else ({"images": a, "labels": b},)
        out, state = layer.stateless_call([], state, *data, training=True)
        images = out[0] if name in OURS else out["images"]
        return images, state

    return call


def layer_call_build(layer, x, y):
    if not layer.built:
        layer({"images": x, "labels": y})


# --------------------------------------------------------------------------- reporting


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
    try:
        info["loadavg_at_start"] = open("/proc/loadavg").read().split()[:3]
    except Exception:
        pass
    return info


def versions() -> dict:
    out = {"keras": keras.__version__, "keras_cutmix": keras_cutmix.__version__, "numpy": np.__version__}
    for mod in ("tensorflow", "jax", "torch", "keras_cv"):
        if mod in sys.modules:
            out[mod] = getattr(sys.modules[mod], "__version__", "?")
    return out


def fmt_time(cell) -> str:
    if "error" in cell:
        return "n/a"
    if "images_per_s" in cell:
        return f"{cell['images_per_s']:.0f} img/s"
    if "step_s" in cell:
        return f"{cell['step_s'] * 1e3:.1f} ms/step"
    return f"{cell['median'] * 1e3:.2f} ms"


def ratio_rows(setting, size, dtype, cells):
    """Ratios for one cell (paired medians): each CutMix over its floor and over
    memcpy, and keras / keras_cv over each of ours.

    The floor is the framework's copy of the batch; in the fit setting it is
    the same model without CutMix, compiled the same way.
    """
    rows = []
    for impl in OURS + ("keras_cutmix batch (no XLA)", KERAS, KERAS_CV, "keras_cutmix.CutMixModel"):
        if "times" not in cells.get(impl, {}):
            continue
        if setting == "fit":
            floor = "no CutMix (no XLA)" if cells[impl].get("compile") == "jit_compile=False" else "no CutMix"
        else:
            floor = "copy"
        row = {"setting": setting, "size": size, "dtype": dtype, "impl": impl, "floor": floor,
               "t/floor": paired_ratio(cells, impl, floor), "t/memcpy": paired_ratio(cells, impl, "memcpy")}
        if impl.startswith("keras_cutmix") and impl != "keras_cutmix.CutMixModel":
            for other in (KERAS, KERAS_CV):
                # In the fit setting, only against our layer compiled the same way.
                if setting != "fit" or cells.get(other, {}).get("compile") == cells[impl].get("compile"):
                    row[f"{other}/ours"] = paired_ratio(cells, other, impl)
        rows.append(row)
    return rows


def main() -> int:
    args = ARGS
    quick = args.quick
    repeats = args.repeats or (2 if quick else 7)
    if args.sizes:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    else:
        sizes = QUICK_SIZES if quick else FULL_SIZES
    dtypes = args.dtypes.split(",")
    backend = keras.backend.backend()
    settings = (args.settings.split(",") if args.settings else TF_SETTINGS) if backend == "tensorflow" else ["direct"]
    fit_sides = {int(s) for s in args.fit_sizes.split(",") if s}
    factories, skipped = layer_factories(include_keras_cv=not args.no_keras_cv)
    started = time.time()
    results, ratios, notes = [], [], dict(skipped)
    device = None
    print(f"keras_cutmix bench: backend {backend}, repeats {repeats}, sizes {sizes}, dtypes {dtypes}", flush=True)
    for reason in skipped.items():
        print("  skip %s: %s" % reason, flush=True)
    for setting in settings:
        for shape in sizes:
            size = "x".join(map(str, shape))
            for dtype in dtypes:
                t0 = time.time()
                extra = {}
                try:
                    if setting in ("tf.function", "xla"):
                        cells = tf_direct(setting, shape, dtype, factories, repeats)
                    elif setting == "map":
                        batches = 2 if quick else (6 if shape[1] >= 128 else 16)
                        cells = tf_map(shape, dtype, factories, max(repeats - 2, 2), batches, warm=1 if quick else 2)
                        extra["batches_per_pass"] = batches
                    elif setting == "fit":
                        if (not quick and shape[1] not in fit_sides) or (quick and dtype != "float32"):
                            continue
                        steps = 3 if quick else (30 if shape[1] < 100 else 5)
                        cells, fit_shape = tf_fit(shape, dtype, factories, steps, quick)
                        size = "x".join(map(str, fit_shape))
                        extra["timed_steps"] = steps
                    elif setting == "direct":
                        cells, device, on_gpu = other_backend_direct(shape, dtype, factories, repeats)
                        extra.update(device=device, gpu=on_gpu)
                    else:
                        raise ValueError(f"unknown setting {setting!r}")
                except Exception:
                    traceback.print_exc()
                    cells = {"(setting)": {"error": traceback.format_exc(limit=2)[-300:]}}
                for name, cell in cells.items():
                    results.append({"setting": setting, "size": size, "dtype": dtype, "impl": name, **extra, **cell})
                ratios += ratio_rows(setting, size, dtype, cells)
                print(f"\n[{setting}] {size} {dtype}  ({time.time() - t0:.0f} s)", flush=True)
                for name, cell in cells.items():
                    err = f"  ({cell['error']})" if "error" in cell else ""
                    gbs = f"  {cell['batch_GB_per_s']:.2f} GB/s" if "batch_GB_per_s" in cell else ""
                    flt = f"  {cell['minor_faults_per_call']:8.0f} page faults/call" if "minor_faults_per_call" in cell else ""
                    print(f"  {name:26s} {fmt_time(cell):>16s}{gbs}{flt}{err}", flush=True)
    targets = check_targets(results, ratios)
    print_ratios(ratios)
    print_targets(targets)
    report = {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
            "backend": backend,
            "device": device or "cpu",
            "quick": quick,
            "repeats": repeats,
            "seconds": round(time.time() - started, 1),
            "machine": machine_info(),
            "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
            "versions": versions(),
            "notes": notes,
            "method": "interleaved round robin; time = median of repeats after warm-up; "
            "ratio = median of per-repeat paired ratios",
        },
        "results": [_jsonable(r) for r in results],
        "ratios": [_jsonable(r) for r in ratios],
        "targets": targets,
    }
    out = pathlib.Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out} in {time.time() - started:.0f} s", flush=True)
    return 0


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
            r = next((x for x in ratios if x["setting"] == "map" and x["size"] == size and x["dtype"] == "float32"
                      and x["impl"] == ours), None)
            add(f"map throughput {ours} / keras.layers.CutMix, {size} float32 (>= 3)",
                r.get(f"{KERAS}/ours") if r else None, 3.0, "higher")
    if big and "xla" in settings:
        for ours in OURS:
            r = next((x for x in ratios if x["setting"] == "xla" and x["size"] == big and x["dtype"] == "float32"
                      and x["impl"] == ours), None)
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
            r = next((x for x in ratios if x["setting"] == "direct" and x["size"] == size and x["dtype"] == "float32"
                      and x["impl"] == ours), None)
            add(f"GPU {ours} / device copy, {size} float32 (<= 2)", r.get("t/floor") if r else None, 2.0, "lower")
            add(f"GPU keras.layers.CutMix / {ours}, {size} float32 (>= 3)", r.get(f"{KERAS}/ours") if r else None,
                3.0, "higher")
    if not any(r["setting"] == "fit" for r in results):
        return targets
    for ours in OURS + ("keras_cutmix.CutMixModel",):
        r = next((x for x in ratios if x["setting"] == "fit" and x["size"].endswith("32x32x3")
                  and x["dtype"] == "float32" and x["impl"] == ours), None)
        value = r["t/floor"] - 1.0 if r and r.get("t/floor") is not None else None
        add(f"fit step overhead of in-model {ours}, {FIT_BATCH}x32x32x3 float32 (<= 0.10)", value, 0.10, "lower")
    return targets


def print_ratios(ratios):
    if not ratios:
        return
    print("\nratios (times; median of paired per-repeat ratios):")
    keys = ["t/floor", "t/memcpy", f"{KERAS}/ours", f"{KERAS_CV}/ours"]
    print(f"  {'setting':11s} {'size':15s} {'dtype':7s} {'impl':24s} {'floor':18s}" + "".join(f"{k:>14s}" for k in ["t/floor", "t/memcpy", "keras/ours", "keras_cv/ours"]))
    for r in ratios:
        vals = "".join(f"{r[k]:14.2f}" if r.get(k) is not None else f"{'-':>14s}" for k in keys)
        print(f"  {r['setting']:11s} {r['size']:15s} {r['dtype']:7s} {r['impl']:24s} {r['floor']:18s}{vals}")


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
