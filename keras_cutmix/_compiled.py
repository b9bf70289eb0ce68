"""The draw and the transforms of a batch as one compiled call: eager JAX, TensorFlow graphs.

Eager JAX dispatches every op of `pipeline.draw_and_mix` on its own: the
draw's few hundred small ops, the box, the paste and the labels, each a
separate XLA computation, took tens of milliseconds per batch where a copy
of the batch takes one or two (issue #18, benchmarks/README.md). Under
`jax.jit` they are one XLA program, compiled once per method options and
input shapes and dtypes (jax.jit's own cache), in which the paste is one
fused loop. The same `ops` code runs, traced instead of executed op by op,
as it is inside a jitted train step; its values match the eager ones (the
cross-path checks of tests/integration/test_one_seed_one_draw.py).

Checks of label values (class ids in range, finite labels) need concrete
values: they stay outside, in `pipeline.apply_mix`, before this call.

Methods that blend pixel values (`blends`: MixUp, CutMixOrMixUp, ResizeMix's
bilinear paste) stay eager: XLA fuses their multiply-adds, which moves the last bit
of some blended float values against the eager result. Pastes (CutMix,
Cutout, FMix) select values and come out bit for bit the same.

In TensorFlow graphs (tf.data maps under every backend, `tf.function`,
Keras' non-XLA train steps) every method runs as one `jit_compile=True`
function (issue #22): a tf.data iterator instantiates its map function
anew, and TensorFlow converts, analyses and optimizes every node of that
graph again for each iterator, so for every epoch of `fit`
(benchmarks/README.md, "Fresh iterators"). As one XLA function the draw,
labels and pastes are a single call node in the map function, its own graph
is small (XLA's Threefry, `rng`), and XLA's compiled program is kept across
iterators. The blends were XLA-compiled in TF graphs before already
(`mixing._fused`). The run-time checks (batch sizes, label values) stay
outside, in the caller's graph: XLA drops asserts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from keras_cutmix._backend import backend_name, compiled, in_tensorflow_graph, in_xla_context


def compiled_mix(options: Any, images: Any) -> Callable[[dict, Any, Any], dict] | None:
    """`draw_and_mix` for `options` as one `jax.jit` function, where it applies; else None.

    It applies to concrete JAX arrays on the JAX backend (eager calls: a
    grain map, a layer called by hand); inside a trace (a jitted step) the
    ops are traced inline anyway. Options that cannot key a cache (per-head
    `num_classes` given as a dict) run eagerly as before.
    """
    if backend_name() == "tensorflow":
        return _tensorflow_compiled_mix(options, images)
    if backend_name() != "jax" or type(options).blends:  # XLA's fusion would move their last bit (see above)
        return None
    import jax

    if not isinstance(images, jax.Array) or isinstance(images, jax.core.Tracer):
        return None
    try:
        return compiled("jax", _cache_key(options), _draw_and_mix(options))
    except TypeError:  # unhashable options
        return None


def _cache_key(options: Any) -> tuple:
    """What the compiled function depends on: the options but `probability`, which it takes as an argument.

    So a schedule (`set_probability`, which replaces the layer's options)
    reuses one compiled function.
    """
    values = tuple(getattr(options, field.name) for field in dataclasses.fields(options) if field.name != "probability")
    return ("draw_and_mix", type(options), values)


def _draw_and_mix(options: Any) -> Callable[[dict, Any, Any], dict]:
    """`pipeline.draw_and_mix` for `options`, a function of (data, seed, probability)."""
    from keras_cutmix.pipeline import draw_and_mix

    def run(data: dict, seed: Any, probability: Any) -> dict:
        return draw_and_mix(data, seed, probability, options)

    return run


def _tensorflow_compiled_mix(options: Any, images: Any) -> Callable[[dict, Any, Any], dict] | None:
    """`draw_and_mix` as one XLA function in a TensorFlow graph that TensorFlow runs (not XLA's, not eager)."""
    import keras

    if not in_tensorflow_graph() or in_xla_context() or isinstance(images, keras.KerasTensor):
        return None
    # One trace per structure, rank and dtype (shapes generalized); XLA
    # compiles and caches one executable per concrete shape at run time.
    settings = {"jit_compile": True, "reduce_retracing": True}
    try:
        function = compiled("tensorflow", _cache_key(options), _draw_and_mix(options), **settings)
    except TypeError:  # unhashable options: one function for this call
        function = compiled("tensorflow", None, _draw_and_mix(options), **settings)

    def run(data: dict, seed: Any, probability: Any) -> dict:
        if not isinstance(probability, (int, float)):
            import tensorflow as tf

            probability = tf.convert_to_tensor(probability)  # a variable (CutMixModel's) is read here
        return function(data, seed, probability)

    return run
