"""Pure functions of an explicit stateless seed: one per method.

Each is the functional twin of its layer: the same options (keyword-only),
the same call forms, the same structure returned. The output is a pure
function of `seed`: an int, a pair of ints, or an int tensor of shape (2,)
(from `tf.data.Dataset.random()` or `Dataset.enumerate()`).

```python
seeds = tf.data.Dataset.random(seed=7).batch(2)
ds = tf.data.Dataset.zip(ds.batch(64), seeds).map(
    lambda batch, seed: keras_cutmix.cutmix(*batch, seed=seed, num_classes=10),
    num_parallel_calls=tf.data.AUTOTUNE,
)
```
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras_cutmix import streams, validation
from keras_cutmix.methods import (
    CutMixOptions,
    CutMixOrMixUpOptions,
    CutoutOptions,
    FMixOptions,
    MixUpOptions,
    ResizeMixOptions,
)
from keras_cutmix.methods.base import MixOptions, with_options
from keras_cutmix.pipeline import run_functional


def functional_form(options_class: type[MixOptions]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The functional form of a method: the decorated stub gives its name, docstring and signature.

    The stub is named as the method's `function_name`; its options are the
    options class' fields (`with_options` lists them in the signature).
    """

    def decorate(stub: Callable[..., Any]) -> Callable[..., Any]:
        if stub.__name__ != options_class.function_name:
            raise TypeError(
                f"{options_class.__name__}'s function is {options_class.function_name!r}, not {stub.__name__!r}"
            )
        owner = f"keras_cutmix.{stub.__name__}()"

        def function(
            images: Any,
            labels: Any = None,
            sample_weight: Any = None,
            *,
            seed: Any,
            training: bool = True,
            **options: Any,
        ) -> Any:
            validation.check_options(owner, options, options_class.option_names())
            with streams.worker_device():
                return run_functional(options_class(**options), images, labels, sample_weight, seed, training)

        # Not functools.wraps: AutoGraph (a tf.data map) would convert the stub it points to.
        function.__name__ = function.__qualname__ = stub.__name__
        function.__doc__ = stub.__doc__
        function.options_class = options_class  # type: ignore[attr-defined]
        return with_options(options_class)(function)

    return decorate


# One stub per registered method (tests/test_registry.py checks them against
# `methods.ALL`): its name, signature and docstring for help() and the API
# docs; `functional_form` gives it its body.


@functional_form(CutMixOptions)
def cutmix(
    images: Any, labels: Any = None, sample_weight: Any = None, *, seed: Any, training: bool = True, **options: Any
) -> Any:
    """CutMix a batch as a pure function of `seed`; the options of `keras_cutmix.CutMix`.

    Args:
        images: a batch (B, H, W, C) (or (B, C, H, W)), or a dict with keys
            among "images", "labels", "segmentation_masks", "sample_weight",
            "bounding_boxes" (or the singular "image", "label"); other keys
            pass through.
        labels: optional: class ids (B,) or (B, 1) with `num_classes`, dense
            (B, K) floats, or a dict/tuple of them (one per model output).
        sample_weight: optional, passed through.
        seed: an int, a pair of ints or an int tensor of shape (2,).
        training: if False, only labels are made dense; pixels are untouched.
        **options: as `keras_cutmix.CutMix` (alpha, probability, mode, ...).

    Returns:
        The structure it was given, mixed.

    Example:

    >>> import numpy as np, keras_cutmix
    >>> images, labels = np.zeros((4, 8, 8, 3), "uint8"), np.arange(4)
    >>> mixed, mixed_labels = keras_cutmix.cutmix(images, labels, seed=0, num_classes=4)
    >>> tuple(mixed_labels.shape)
    (4, 4)
    """


@functional_form(MixUpOptions)
def mixup(
    images: Any, labels: Any = None, sample_weight: Any = None, *, seed: Any, training: bool = True, **options: Any
) -> Any:
    """MixUp a batch as a pure function of `seed`; arguments as `cutmix`, options as `keras_cutmix.MixUp`."""


@functional_form(CutoutOptions)
def cutout(
    images: Any, labels: Any = None, sample_weight: Any = None, *, seed: Any, training: bool = True, **options: Any
) -> Any:
    """Cutout a batch as a pure function of `seed`; arguments as `cutmix`, options as `keras_cutmix.Cutout`."""


@functional_form(CutMixOrMixUpOptions)
def cutmix_or_mixup(
    images: Any, labels: Any = None, sample_weight: Any = None, *, seed: Any, training: bool = True, **options: Any
) -> Any:
    """CutMix or MixUp a batch as a pure function of `seed`; options as `keras_cutmix.CutMixOrMixUp`."""


@functional_form(ResizeMixOptions)
def resizemix(
    images: Any, labels: Any = None, sample_weight: Any = None, *, seed: Any, training: bool = True, **options: Any
) -> Any:
    """ResizeMix a batch as a pure function of `seed`; arguments as `cutmix`, options as `keras_cutmix.ResizeMix`."""


@functional_form(FMixOptions)
def fmix(
    images: Any, labels: Any = None, sample_weight: Any = None, *, seed: Any, training: bool = True, **options: Any
) -> Any:
    """FMix a batch as a pure function of `seed`; arguments as `cutmix`, options as `keras_cutmix.FMix`."""
