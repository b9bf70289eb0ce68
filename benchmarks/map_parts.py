"""The parts of a CutMix `Dataset.map` call at 128x224x224x3, one at a time (benchmarks/README.md).

    python benchmarks/map_parts.py float32      # or uint8; a third argument BxHxWxC sets the size

Each map function runs in its own pipeline; a timed block is a fresh
iterator, 2 batches untimed, then 12 timed, one pipeline at a time, 7 rounds
(median). Prints ms per batch and the ratio to the copy.
"""

import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

import keras_cutmix
from keras_cutmix import mixing, rng


def main(dtype: str = "float32", size: str = "128x224x224x3") -> None:
    B, H, W, C = (int(v) for v in size.split("x"))
    x = np.random.default_rng(0).integers(0, 255, (B, H, W, C)).astype(dtype)
    y = keras.utils.to_categorical(np.arange(B) % 10, 10).astype("float32")
    reverse = tf.constant(np.arange(B)[::-1].astype("int32"))
    boxes = tuple(tf.constant(np.full(B, v), tf.int32) for v in (40, 150, 30, 170))
    xla_copy = tf.function(lambda a: tf.gather(a, reverse), jit_compile=True)
    batch_mode, sample_mode = keras_cutmix.CutMix(seed=1, mode="batch"), keras_cutmix.CutMix(seed=1, mode="sample")
    cases = {
        "copy": lambda a, b: (tf.gather(a, reverse), b),
        "XLA-compiled copy": lambda a, b: (xla_copy(a), b),
        "paste_box alone": lambda a, b: (mixing.paste_box(a, a, boxes, "channels_last", partner=reverse), b),
        "draw alone": lambda a, b: (a, b + rng.uniform(tf.constant([1, 2]), (5, B))[0, 0]),
        "CutMix batch": lambda a, b: batch_mode(a, b),
        "CutMix sample": lambda a, b: sample_mode(a, b),
    }
    base = tf.data.Dataset.from_tensors((x, y)).repeat()
    pipelines = {
        k: base.map(f, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE) for k, f in cases.items()
    }

    def block(ds, n=12):
        it = iter(ds)
        for _ in range(2):
            next(it)
        start = time.perf_counter()
        for _ in range(n):
            next(it)
        return (time.perf_counter() - start) / n * 1e3

    for ds in pipelines.values():
        block(ds, 2)
    times: dict = {k: [] for k in pipelines}
    for _ in range(7):
        for k, ds in pipelines.items():
            times[k].append(block(ds))
    copy = np.median(times["copy"])
    for k, v in times.items():
        print(f"{k:20s} {np.median(v):7.2f} ms per batch  ({np.median(v) / copy:.2f}x the copy)")


if __name__ == "__main__":
    main(*sys.argv[1:])
