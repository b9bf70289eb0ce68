"""The draw and the transforms of a batch as one compiled call on eager JAX.

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

Methods that blend pixel values (MixUp, CutMixOrMixUp, ResizeMix's bilinear
paste) stay eager: XLA fuses their multiply-adds, which moves the last bit
of some blended float values against the eager result. Pastes (CutMix,
Cutout, FMix) select values and come out bit for bit the same.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from keras_cutmix._backend import backend_name

# Methods whose float results would move in the last bit under XLA's fusion (see above).
_BLENDING = ("MixUp", "CutMixOrMixUp", "ResizeMix")


def compiled_mix(options: Any, images: Any) -> Callable[[dict, Any, Any], dict] | None:
    """`draw_and_mix` for `options` as one `jax.jit` function, where it applies; else None.

    It applies to concrete JAX arrays on the JAX backend (eager calls: a
    grain map, a layer called by hand); inside a trace (a jitted step) the
    ops are traced inline anyway. Options that cannot key a cache (per-head
    `num_classes` given as a dict) run eagerly as before.
    """
    if backend_name() != "jax" or type(options).name() in _BLENDING:
        return None
    import jax

    if not isinstance(images, jax.Array) or isinstance(images, jax.core.Tracer):
        return None
    try:
        return _jitted(options)
    except TypeError:  # unhashable options
        return None


@functools.cache
def _jitted(options: Any) -> Callable[[dict, Any, Any], dict]:
    import jax

    from keras_cutmix.pipeline import draw_and_mix

    def run(data: dict, seed: Any, probability: Any) -> dict:
        return draw_and_mix(data, seed, probability, options)

    return jax.jit(run)
