"""Sparse losses and metrics swapped for their categorical twins.

`CutMixModel` hands the loss and the metrics dense labels (one-hot, then
mixed), also in `evaluate`, so a loss or metric written for class ids
(`SparseCategoricalCrossentropy`, `"sparse_categorical_accuracy"`, ...) is
replaced by its twin for dense labels, keeping its settings and its name (so
`History` keeps its keys).
"""

from __future__ import annotations

import inspect
from typing import Any

import keras

# Sparse losses and metrics, and their twins for dense labels.
LOSS_TWINS: dict[Any, Any] = {
    keras.losses.SparseCategoricalCrossentropy: keras.losses.CategoricalCrossentropy,
    "sparse_categorical_crossentropy": "categorical_crossentropy",
    keras.losses.sparse_categorical_crossentropy: keras.losses.categorical_crossentropy,
}
METRIC_TWINS: dict[Any, Any] = {
    keras.metrics.SparseCategoricalAccuracy: keras.metrics.CategoricalAccuracy,
    keras.metrics.SparseTopKCategoricalAccuracy: keras.metrics.TopKCategoricalAccuracy,
    keras.metrics.SparseCategoricalCrossentropy: keras.metrics.CategoricalCrossentropy,
    # Names become metric objects that keep the name, so History keeps its keys.
    "sparse_categorical_accuracy": keras.metrics.CategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": keras.metrics.TopKCategoricalAccuracy,
    "sparse_categorical_crossentropy": keras.metrics.CategoricalCrossentropy,
    keras.metrics.sparse_categorical_accuracy: keras.metrics.categorical_accuracy,
    keras.metrics.sparse_top_k_categorical_accuracy: keras.metrics.top_k_categorical_accuracy,
}


def categorical_compile_arguments(loss: Any, metrics: Any, kwargs: dict) -> tuple[Any, Any, dict, list[str]]:
    """(loss, metrics, other compile kwargs) with sparse entries swapped, and what was swapped."""
    loss, swapped = dense_twins(loss, LOSS_TWINS)
    metrics, more = dense_twins(metrics, METRIC_TWINS)
    swapped += more
    kwargs = dict(kwargs)
    if "weighted_metrics" in kwargs:
        kwargs["weighted_metrics"], more = dense_twins(kwargs["weighted_metrics"], METRIC_TWINS)
        swapped += more
    return loss, metrics, kwargs, swapped


def dense_twins(spec: Any, twins: dict) -> tuple[Any, list[str]]:
    """`spec` (a loss or metric, or a list/dict of them) with sparse entries swapped; what was swapped."""
    swapped: list[str] = []

    def named(item: Any) -> str:
        return repr(item) if isinstance(item, str) else getattr(item, "__name__", type(item).__name__)

    def twin(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: twin(value) for key, value in item.items()}
        if isinstance(item, (list, tuple)):
            return type(item)(twin(value) for value in item)
        key = type(item) if type(item) in twins else item
        try:
            new = twins.get(key)
        except TypeError:  # unhashable: not a name or function we know
            new = None
        if new is None:
            return item
        if key is type(item):
            new = _twin_object(item, new)
        elif isinstance(item, str) and isinstance(new, type):
            new = new(name=item)
        swapped.append(f"{named(item)} → {named(new)}")
        return new

    return twin(spec), swapped


def _twin_object(item: Any, twin_class: type) -> Any:
    """The categorical twin of a sparse loss or metric object, with the same settings and name."""
    config = item.get_config()
    accepted = inspect.signature(twin_class).parameters
    kept = {key: value for key, value in config.items() if key in accepted}
    if "ignore_class" in config and config["ignore_class"] is not None:
        raise ValueError(
            f"{type(item).__name__}(ignore_class={config['ignore_class']}) has no categorical twin: mixed labels are "
            "dense, so no class can be ignored. Remove ignore_class, or pass a categorical loss."
        )
    return twin_class(**kept)
