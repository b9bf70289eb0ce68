"""Multi-seed records of `fit_compare.py`: statistics, tables and plots (no Keras needed).

A record (`fit_compare.py --record docs/results/NAME.json`) is

    {"command": ..., "date": ..., "machine": {...}, "versions": {...},
     "methods": {"baseline": {"description": ..., "seeds": [
         {"seed": 0, "top1_error": 0.158, "test_loss": ..., "ece": ..., "fgsm_accuracy": ...,
          "cam_localization": ..., "train_seconds": ..., "eval_seconds": ...,
          "fgsm_curve": {"epsilons": [...], "accuracy": [...]}, "history": {...}}, ...]}, ...}}

errors and accuracies as fractions. Everything here is recomputed from the
per-seed numbers: mean ± standard deviation per method and metric, and the
paired difference of each method to a reference method over the seeds both
have, with its t confidence interval (`paper.statistics`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

from paper import statistics, visualize

# (key in a seed entry, column label, display factor, decimals)
METRICS = (
    ("top1_error", "top-1 err (%)", 100.0, 2),
    ("test_loss", "test loss", 1.0, 3),
    ("ece", "ECE (%)", 100.0, 2),
    ("fgsm_accuracy", "FGSM acc (%)", 100.0, 1),
    ("cam_localization", "CAM loc.", 1.0, 3),
    ("train_seconds", "train (s)", 1.0, 0),
)
# The paired-difference table leaves out train_seconds: wall-clock time on a
# shared machine says more about the other load than about the method.
DIFFERENCE_METRICS = METRICS[:5]
SEED_KEYS = ("seed",) + tuple(key for key, *_ in METRICS)


def seeds_of(record: Mapping, method: str) -> list[int]:
    return [entry["seed"] for entry in record["methods"][method]["seeds"]]


def values_of(record: Mapping, method: str, metric: str, seeds: Sequence[int] | None = None) -> list[float]:
    """The method's per-seed values of `metric`, in the order of `seeds` (default: as recorded)."""
    by_seed = {entry["seed"]: entry[metric] for entry in record["methods"][method]["seeds"]}
    return [by_seed[s] for s in (seeds if seeds is not None else by_seed)]


def paired_seeds(record: Mapping, method: str, reference: str) -> list[int]:
    """The seeds both methods ran, in the method's order."""
    theirs = set(seeds_of(record, reference))
    return [s for s in seeds_of(record, method) if s in theirs]


def summarize(record: Mapping, reference: str | None = "baseline", confidence: float = 0.95) -> dict:
    """method → {"seeds", metric → {"n", "mean", "std"}, "difference": metric → paired_difference | None}.

    "difference" is against `reference` over the seeds both ran; it is
    absent for the reference itself and when the reference is not recorded.
    """
    summary = {}
    has_reference = reference is not None and reference in record["methods"]
    for method in record["methods"]:
        entry = {"seeds": seeds_of(record, method)}
        for metric, *_ in METRICS:
            entry[metric] = statistics.mean_std(values_of(record, method, metric))
        if has_reference and method != reference:
            seeds = paired_seeds(record, method, reference)
            entry["difference"] = {
                metric: statistics.paired_difference(
                    values_of(record, method, metric, seeds), values_of(record, reference, metric, seeds), confidence
                )
                if seeds
                else None
                for metric, *_ in DIFFERENCE_METRICS
            }
        summary[method] = entry
    return summary


def _number(value: float, decimals: int, signed: bool = False) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(row) for row in rows])


def spread_table(record: Mapping, markdown: bool = False, labels: Mapping[str, str] | None = None) -> str:
    """One row per method: n seeds, then mean ± standard deviation of each metric."""
    summary = summarize(record, reference=None)
    labels = labels or {}
    header = ["method", "seeds"] + [labels.get(key, label) for key, label, _, _ in METRICS]
    rows = []
    for method, entry in summary.items():
        row = [method, str(len(entry["seeds"]))]
        for key, _, factor, decimals in METRICS:
            mean, std = entry[key]["mean"] * factor, entry[key]["std"] * factor
            row.append(_number(mean, decimals) + ("" if math.isnan(std) else f" ± {_number(std, decimals)}"))
        rows.append(row)
    return format_table(header, rows, markdown)


def difference_table(
    record: Mapping,
    reference: str = "baseline",
    markdown: bool = False,
    confidence: float = 0.95,
    labels: Mapping[str, str] | None = None,
) -> str:
    """One row per method: its mean paired difference to `reference` [confidence interval] per metric.

    Percent metrics in percentage points. A trailing * marks an interval
    that excludes 0 (a difference the seeds resolve); without it the
    difference is inside the seed-to-seed noise.
    """
    summary = summarize(record, reference, confidence)
    labels = labels or {}
    header = ["method", "pairs"] + [f"Δ {labels.get(key, label)}" for key, label, _, _ in DIFFERENCE_METRICS]
    header = [h.replace("(%)", "(pp)") for h in header]
    rows = []
    for method, entry in summary.items():
        if "difference" not in entry:
            continue
        pairs = next((d["n"] for d in entry["difference"].values() if d), 0)
        row = [method, str(pairs)]
        for key, _, factor, decimals in DIFFERENCE_METRICS:
            d = entry["difference"][key]
            if d is None:
                row.append("n/a")
                continue
            cell = _number(factor * d["mean"], decimals, signed=True)
            if not math.isnan(d["ci_low"]):
                cell += f" [{_number(factor * d['ci_low'], decimals, True)}, {_number(factor * d['ci_high'], decimals, True)}]"
                cell += " *" if statistics.excludes_zero(d) else ""
            row.append(cell)
        rows.append(row)
    return format_table(header, rows, markdown)


def write_plots(
    record: Mapping,
    directory: str | os.PathLike,
    prefix: str = "",
    reference: str | None = "baseline",
    confidence: float = 0.95,
    title: str = "",
) -> list[str]:
    """errors.png (bars ± std), differences.png (paired Δ with CIs; needs ≥ 2 seeds and the reference),
    curves.png (mean ± std bands) and fgsm.png (error bars), each name after `prefix`; the paths written."""
    methods = list(record["methods"])
    written = []

    def path(name):
        written.append(os.path.join(os.fspath(directory), f"{prefix}{name}.png"))
        return written[-1]

    lead = f"{title}\n" if title else ""  # its own line: the narrow plots would clip a long title
    n = max(len(seeds_of(record, m)) for m in methods)
    visualize.plot_metric_bars(
        {m: values_of(record, m, "top1_error") for m in methods},
        path("errors"),
        title=f"{lead}top-1 test error, mean ± std over seeds (dots: seeds)" if n > 1 else f"{lead}top-1 test error",
    )
    summary = summarize(record, reference, confidence)
    compared = [m for m in methods if summary[m].get("difference")]
    if compared and max(summary[m]["difference"]["top1_error"]["n"] for m in compared) > 1:
        panels = {
            "Δ top-1 err (pp)": "top1_error",
            "Δ ECE (pp)": "ece",
            "Δ FGSM acc (pp)": "fgsm_accuracy",
            "Δ CAM loc. (×100)": "cam_localization",
        }
        visualize.plot_paired_differences(
            {label: {m: summary[m]["difference"][key] for m in compared} for label, key in panels.items()},
            path("differences"),
            scale={label: 100.0 for label in panels},
            title=f"{lead}paired difference to {reference} over seeds, {100 * confidence:g}% t interval",
        )
    histories = {
        m: [entry["history"] for entry in record["methods"][m]["seeds"] if "history" in entry] for m in methods
    }
    histories = {m: h if len(h) > 1 else h[0] for m, h in histories.items() if h}
    if histories:
        visualize.plot_training_curves(
            histories,
            path("curves"),
            metrics=("loss", "val_loss", "val_error"),
            title=f"{lead}train loss (mixed labels), test loss and error per epoch"
            + (", mean ± std over seeds" if n > 1 else ""),
        )
    curves = {
        m: [entry["fgsm_curve"] for entry in record["methods"][m]["seeds"] if "fgsm_curve" in entry] for m in methods
    }
    curves = {m: c for m, c in curves.items() if c}
    if curves:
        epsilons = next(iter(curves.values()))[0]["epsilons"]
        visualize.plot_fgsm_curves(
            epsilons,
            {m: [c["accuracy"] for c in cs] if len(cs) > 1 else cs[0]["accuracy"] for m, cs in curves.items()},
            path("fgsm"),
            title=f"{lead}FGSM accuracy" + (", mean ± std over seeds" if n > 1 else ""),
        )
    return written
