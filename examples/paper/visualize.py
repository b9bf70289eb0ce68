"""Pictures for mixed batches and for comparing training methods (matplotlib, imported lazily).

matplotlib is an optional dependency (`pip install keras_cutmix[examples]`).
Every function builds a `matplotlib.figure.Figure` without pyplot (no global
state, no display needed), writes it to `path` when given (the format follows
the extension, e.g. PNG) and returns it; in a notebook the returned figure
shows itself.

* `plot_mixed_batch(images, labels, class_names)`: a grid of a mixed batch,
  each tile captioned with its classes and exact label weights.
* `plot_training_curves(histories)`: the curves of several runs on one plot
  (with several seeds per run: the mean and a ± standard deviation band).
* `plot_class_activation_maps(images, cams)`: CAMs of the same images under
  several models, side by side (the CutMix paper's Figure 1).
* `plot_fgsm_curves(epsilons, accuracies)`: FGSM accuracy versus ε (error
  bars with several seeds).
* `plot_metric_bars(values)`: one bar per method, mean ± standard deviation
  over seeds with each seed's value as a dot.
* `plot_paired_differences(differences)`: each method's paired difference to
  a reference with its confidence interval, against the zero line.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "examples/paper/visualize.py needs matplotlib: `pip install matplotlib` or `pip install -e .[examples]`."
        ) from error
    return Figure(figsize=(width, height), layout="constrained")


def _save(figure: Any, path: str | os.PathLike | None, dpi: int) -> Any:
    if path is not None:
        directory = os.path.dirname(os.fspath(path))
        if directory:
            os.makedirs(directory, exist_ok=True)
        figure.savefig(path, dpi=dpi)
    return figure


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    try:
        import keras

        return np.asarray(keras.ops.convert_to_numpy(x))
    except Exception:  # pragma: no cover - plain sequences
        return np.asarray(x)


def _displayable(image: np.ndarray, value_range: tuple[float, float] | None, data_format: str) -> np.ndarray:
    """A (H, W) or (H, W, 3) float image in [0, 1] for imshow."""
    image = np.asarray(image, dtype="float64")
    if data_format == "channels_first" and image.ndim == 3:
        image = image.transpose(1, 2, 0)
    low, high = value_range
    image = np.clip((image - low) / max(high - low, 1e-12), 0.0, 1.0)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return image


def _value_range(images: np.ndarray, value_range: tuple[float, float] | None) -> tuple[float, float]:
    if value_range is not None:
        return value_range
    if np.issubdtype(images.dtype, np.integer) or (images.size and images.max() > 1.0):
        return (0.0, 255.0)
    return (0.0, 1.0)


def _weight_text(weight: float, pixels: int | None, decimals: int) -> str:
    text = f"{weight:.{decimals}f}"
    if pixels and 0.0 < weight < 1.0:
        count = weight * pixels
        if abs(count - round(count)) < 1e-3:
            text += f" ({round(count)}/{pixels} px)"
    return text


def plot_mixed_batch(
    images: Any,
    labels: Any,
    class_names: Sequence[str] | None = None,
    path: str | os.PathLike | None = None,
    *,
    max_images: int = 16,
    columns: int = 4,
    title: str | None = None,
    value_range: tuple[float, float] | None = None,
    data_format: str = "channels_last",
    decimals: int = 4,
    dpi: int = 120,
) -> Any:
    """Draw a mixed batch, each tile captioned with its (up to two) classes and label weights.

    Args:
        images: (B, H, W, C) batch (C = 1 or 3; channels-first with
            `data_format`), any dtype.
        labels: (B, K) dense labels, as the mixing layers return them (the
            weights printed are these values, not rounded before printing
            beyond `decimals`); sparse (B,) ids are shown with weight 1.
        class_names: K names (default: the class ids).
        path: where to write the figure (PNG for a `.png` name), or None.
        max_images, columns: how many tiles, in how many columns.
        value_range: the pixel range shown black to white; default (0, 255)
            for integer images or floats above 1, else (0, 1).
        decimals: decimals of the printed weights. A weight w that is an
            exact pixel share of the H·W image (CutMix's) also prints as
            "(n/H·W px)".

    Returns:
        the matplotlib Figure.
    """
    images = _to_numpy(images)
    labels = _to_numpy(labels)
    if labels.ndim == 1:
        num_classes = int(labels.max()) + 1 if class_names is None else len(class_names)
        labels = np.eye(num_classes)[labels.astype("int64")]
    labels = labels.astype("float64")
    if len(labels) != len(images):
        raise ValueError(f"`images` and `labels` must have the same batch size; got {len(images)} and {len(labels)}.")
    count = min(len(images), max_images)
    rows = max(1, math.ceil(count / columns))
    low_high = _value_range(images, value_range)
    spatial = images.shape[2:4] if data_format == "channels_first" else images.shape[1:3]
    pixels = int(spatial[0] * spatial[1])
    figure = _figure(2.3 * columns, 2.75 * rows + (0.3 if title else 0.0))
    if title:
        figure.suptitle(title)
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if index >= count:
            continue
        ax.imshow(_displayable(images[index], low_high, data_format), cmap="gray", vmin=0.0, vmax=1.0)
        order = [c for c in np.argsort(-labels[index], kind="stable")[:2] if labels[index, c] > 0]
        lines = []
        for c in order:
            name = class_names[c] if class_names is not None else str(c)
            lines.append(f"{name}: {_weight_text(labels[index, c], pixels, decimals)}")
        ax.set_title("\n".join(lines), fontsize=7.5)
    return _save(figure, path, dpi)


def _history_values(history: Mapping[str, Sequence[float]], metric: str) -> Sequence[float] | None:
    values = history.get(metric)
    if values is None and metric.endswith("error"):
        accuracy = history.get(metric[: -len("error")] + "accuracy")
        values = None if accuracy is None else [1.0 - a for a in accuracy]
    return values


def plot_training_curves(
    histories: Mapping[str, Mapping[str, Sequence[float]] | Sequence[Mapping[str, Sequence[float]]]],
    path: str | os.PathLike | None = None,
    *,
    metrics: Sequence[str] = ("loss", "val_loss", "val_error"),
    title: str | None = None,
    dpi: int = 120,
) -> Any:
    """The training curves of several runs on shared axes, one panel per metric.

    Args:
        histories: run name → `History.history`-like dict (metric → per-epoch
            values), or → a list of such dicts (one per seed): then the mean
            over seeds is drawn with a band of ± one standard deviation. A
            metric "val_error" (or "error") is derived as 1 − "val_accuracy"
            ("accuracy") when absent.
        metrics: the panels, in order; runs lacking a metric are skipped in it.
    """
    from matplotlib.ticker import MaxNLocator

    figure = _figure(4.2 * len(metrics), 3.4)
    if title:
        figure.suptitle(title)
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        for name, history in histories.items():
            runs = [history] if isinstance(history, Mapping) else list(history)
            curves = [_history_values(run, metric) for run in runs]
            if not curves or any(c is None for c in curves):
                continue
            epochs = min(len(c) for c in curves)
            values = np.asarray([c[:epochs] for c in curves], dtype="float64")
            xs = np.arange(1, epochs + 1)
            mean = values.mean(axis=0)
            (line,) = ax.plot(
                xs, mean, marker="o", markersize=3, label=name if len(runs) == 1 else f"{name} (n={len(runs)})"
            )
            if len(runs) > 1:
                std = values.std(axis=0, ddof=1)
                ax.fill_between(xs, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return _save(figure, path, dpi)


def normalize_cam(cam: Any) -> np.ndarray:
    """max(CAM, 0) scaled to [0, 1] per map (the usual display); an all-zero map stays zero."""
    cam = np.maximum(np.asarray(cam, dtype="float64"), 0.0)
    peak = cam.max(axis=(-2, -1), keepdims=True)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0)


def plot_class_activation_maps(
    images: Any,
    cams: Mapping[str, Any],
    path: str | os.PathLike | None = None,
    *,
    image_titles: Sequence[str] | None = None,
    cam_titles: Mapping[str, Sequence[str]] | None = None,
    value_range: tuple[float, float] | None = None,
    alpha: float = 0.5,
    title: str | None = None,
    dpi: int = 120,
) -> Any:
    """The same images, then their CAMs under each model, side by side (paper Figure 1).

    One row per image: the image, then for each entry of `cams` its map(s)
    over the image (rectified and scaled to [0, 1] per map, jet colours).

    Args:
        images: (B, H, W, C) channels-last images.
        cams: name → (B, H, W) maps, or (B, n, H, W) for n maps per image
            (e.g. the two classes of a composite image); columns are named
            "name" or "name: class".
        image_titles: a caption per image (row), e.g. its classes.
        cam_titles: name → n captions for the n maps of each image (e.g.
            ["left class", "right class"]), used as column headers.
    """
    from matplotlib import colormaps

    images = _to_numpy(images)
    low_high = _value_range(images, value_range)
    columns = [("image", None, None)]
    for name, maps in cams.items():
        maps = _to_numpy(maps)
        if maps.ndim == 3:
            maps = maps[:, None]
        if len(maps) != len(images):
            raise ValueError(f"cams[{name!r}] has {len(maps)} maps for {len(images)} images.")
        for k in range(maps.shape[1]):
            header = name
            if cam_titles and name in cam_titles:
                header = f"{name}\n{cam_titles[name][k]}"
            columns.append((header, maps[:, k], k))
    rows = len(images)
    figure = _figure(1.45 * len(columns), 1.55 * rows + (0.5 if title else 0.2))
    if title:
        figure.suptitle(title)
    axes = figure.subplots(rows, len(columns), squeeze=False)
    jet = colormaps["jet"]
    for r in range(rows):
        base = _displayable(images[r], low_high, "channels_last")
        grey = base if base.ndim == 2 else base.mean(axis=-1)
        for c, (header, maps, _) in enumerate(columns):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if maps is None:
                ax.imshow(base, cmap="gray", vmin=0.0, vmax=1.0)
                if image_titles is not None:
                    ax.set_ylabel(image_titles[r], fontsize=7)
            else:
                heat = jet(normalize_cam(maps[r]))[..., :3]
                ax.imshow((1 - alpha) * np.repeat(grey[..., None], 3, axis=-1) + alpha * heat)
            if r == 0:
                ax.set_title(header, fontsize=7)
    return _save(figure, path, dpi)


def plot_fgsm_curves(
    epsilons: Sequence[float],
    accuracies: Mapping[str, Sequence[float] | Sequence[Sequence[float]]],
    path: str | os.PathLike | None = None,
    *,
    epsilon_scale: float = 255.0,
    epsilon_label: str = "ε (×1/255)",
    title: str | None = "FGSM accuracy",
    dpi: int = 120,
) -> Any:
    """Top-1 accuracy under FGSM versus ε, one line per method.

    `accuracies`: method → one accuracy per ε, or → one such list per seed
    (then the mean with error bars of ± one standard deviation). ε values are
    multiplied by `epsilon_scale` on the x axis (default: shown in 1/255
    steps of a [0, 1] input).
    """
    figure = _figure(5.0, 3.6)
    ax = figure.subplots()
    xs = [e * epsilon_scale for e in epsilons]
    for name, values in accuracies.items():
        values = np.asarray(values, dtype="float64")
        if values.ndim == 1 or len(values) == 1:
            ax.plot(xs, values.reshape(-1, len(xs))[0], marker="o", markersize=3, label=name)
        else:
            ax.errorbar(
                xs,
                values.mean(axis=0),
                yerr=values.std(axis=0, ddof=1),
                marker="o",
                markersize=3,
                capsize=3,
                label=f"{name} (n={len(values)})",
            )
    ax.set_xlabel(epsilon_label)
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return _save(figure, path, dpi)


def plot_metric_bars(
    values: Mapping[str, Sequence[float]],
    path: str | os.PathLike | None = None,
    *,
    ylabel: str = "top-1 error (%)",
    scale: float = 100.0,
    title: str | None = None,
    dpi: int = 120,
) -> Any:
    """One bar per method: the mean over seeds, ± one standard deviation, and each seed as a dot.

    `values`: method → its per-seed values (multiplied by `scale` for
    display, e.g. fractions shown as percent). The y axis starts near the
    smallest value, not at 0, so that differences of a fraction of a point
    stay visible; the error bars say how much of them is noise.
    """
    figure = _figure(max(3.5, 0.9 * len(values) + 1.5), 3.6)
    ax = figure.subplots()
    names = list(values)
    low, high = math.inf, -math.inf
    for i, name in enumerate(names):
        v = np.asarray(values[name], dtype="float64") * scale
        std = v.std(ddof=1) if len(v) > 1 else 0.0
        ax.bar(i, v.mean(), yerr=std if len(v) > 1 else None, capsize=4, color=f"C{i % 10}", alpha=0.6)
        ax.plot(np.full(len(v), i) + np.linspace(-0.15, 0.15, len(v)), v, "k.", markersize=5)
        low, high = min(low, v.min(), v.mean() - std), max(high, v.max(), v.mean() + std)
    margin = max(high - low, 0.05 * abs(high), 1e-6)
    ax.set_ylim(max(0.0, low - 0.6 * margin), high + 0.3 * margin)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    if title:
        ax.set_title(title, fontsize=9)
    return _save(figure, path, dpi)


def plot_paired_differences(
    differences: Mapping[str, Mapping[str, Mapping[str, float]]],
    path: str | os.PathLike | None = None,
    *,
    scale: Mapping[str, float] | None = None,
    title: str | None = None,
    dpi: int = 120,
) -> Any:
    """Paired differences to a reference with their confidence intervals, one panel per metric.

    `differences`: metric label → method → a `paper.statistics.paired_difference`
    dict ("mean", "ci_low", "ci_high", "n"); `scale`: metric label → display
    factor (default 1). An interval that crosses the dashed zero line is a
    difference the seeds cannot tell from noise.
    """
    metrics = list(differences)
    figure = _figure(3.3 * len(metrics), 0.45 * max(len(d) for d in differences.values()) + 1.4)
    if title:
        figure.suptitle(title)
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        factor = (scale or {}).get(metric, 1.0)
        names = list(differences[metric])
        for row, name in enumerate(names):
            d = differences[metric][name]
            mean, low, high = (factor * d[k] for k in ("mean", "ci_low", "ci_high"))
            if math.isnan(low):
                ax.plot(mean, row, "o", color=f"C{row % 10}")
            else:
                ax.errorbar(mean, row, xerr=[[mean - low], [high - mean]], fmt="o", capsize=4, color=f"C{row % 10}")
        ax.axvline(0.0, color="k", linestyle="--", linewidth=1)
        ax.set_yticks(range(len(names)), names if ax is axes[0] else [""] * len(names), fontsize=8)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_title(metric, fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    return _save(figure, path, dpi)
