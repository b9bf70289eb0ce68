"""Markdown tables of a bench.py report (the tables of benchmarks/README.md).

python benchmarks/report.py benchmarks/results.json [more.json ...] > tables.md
"""

from __future__ import annotations

import json
import pathlib
import sys

UNITS = {
    "tf.function": "ms per call (median)",
    "xla": "ms per call (median)",
    "direct": "ms per call (median)",
    "map": "images/s (higher is better)",
    "host": "images/s through the host pipeline (higher is better)",
    "fit": "ms per training step",
}


def value(cell: dict) -> str:
    if "error" in cell:
        return "fails" if "XLA" in cell["error"] else "n/a"
    if "images_per_s" in cell:
        return f"{cell['images_per_s']:,.0f}"
    return f"{cell['median'] * 1e3:.2f}"


def table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def times_table(results: list, setting: str) -> str:
    rows = [r for r in results if r["setting"] == setting]
    impls = list(dict.fromkeys(r["impl"] for r in rows))
    cells = {}
    for r in rows:
        cells.setdefault((r["size"], r["dtype"]), {})[r["impl"]] = r
    body = [[size, dtype] + [value(c[i]) if i in c else "" for i in impls] for (size, dtype), c in cells.items()]
    return f"**{setting}**: {UNITS.get(setting, '')}\n\n" + table(["size", "dtype", *impls], body)


def epoch_table(results: list, setting: str) -> str:
    rows = [r for r in results if r["setting"] == setting]
    body = []
    for r in rows:
        cost = f"{r['cost_s'] * 1e3:+.1f}" if "cost_s" in r else ""
        first = f"{r['first_s'] * 1e3:.1f}" if "first_s" in r else ""
        body.append([r["size"], r["dtype"], r.get("batches", ""), r["impl"], value(r), first, cost])
    what = "ms per epoch of a fresh iterator" if setting == "epoch" else "ms per `model.fit(..., epochs=1)`"
    return f"**{setting}**: {what}; cost = epoch − no-mix epoch (median of paired rounds)\n\n" + table(
        ["size", "dtype", "batches", "impl", "epoch ms", "first batch ms", "cost ms"], body
    )


def ratios_table(ratios: list) -> str:
    plain = [r for r in ratios if "cost_ms" not in r]
    keys = ["t/floor", "t/memcpy", "keras.layers.CutMix/ours", "keras_cv.layers.CutMix/ours", "t/CutMix"]
    fmt = lambda v: "" if v is None else f"{v:.2f}"
    body = [[r["setting"], r["size"], r["dtype"], r["impl"], r["floor"]] + [fmt(r.get(k)) for k in keys] for r in plain]
    out = table(
        [
            "setting",
            "size",
            "dtype",
            "impl",
            "floor",
            "t/floor",
            "t/memcpy",
            "keras/ours",
            "keras_cv/ours",
            "t/CutMix (batch)",
        ],
        body,
    )
    costs = [r for r in ratios if "cost_ms" in r]
    if costs:
        body = [
            [
                r["setting"],
                r["size"],
                r["dtype"],
                r["batches"],
                r["impl"],
                fmt(r["cost_ms"]),
                fmt(r.get("first_ms")),
                fmt(r.get("cost/copy cost")),
                fmt(r.get("keras.layers.CutMix/ours cost")),
            ]
            for r in costs
        ]
        out += "\n\n" + table(
            [
                "setting",
                "size",
                "dtype",
                "batches",
                "impl",
                "cost ms",
                "first batch ms",
                "cost / copy's cost",
                "keras' cost / ours",
            ],
            body,
        )
    return out


def targets_table(targets: list) -> str:
    mark = {True: "met", False: "**missed**", None: "not measured"}
    body = [[t["target"], "-" if t["value"] is None else f"{t['value']:.2f}", mark[t["met"]]] for t in targets]
    if any(t.get("ceiling") is not None for t in targets):
        # Host pipelines: keras over the batching alone, the most that row could reach (bench.CEILING).
        ceiling = lambda t: "-" if t.get("ceiling") is None else f"{t['ceiling']:.2f}"
        body = [[*row[:2], ceiling(t), row[2]] for row, t in zip(body, targets)]
        return table(["target", "value", "ceiling", ""], body)
    return table(["target", "value", ""], body)


def render(report: dict) -> str:
    meta = report["meta"]
    parts = [
        f"`{meta['command']}` ({meta['date']}, {meta['seconds']:.0f} s, backend {meta['backend']}, "
        f"device {meta['device']}, load average at start {' / '.join(meta['machine'].get('loadavg_at_start', []))})"
    ]
    settings = list(dict.fromkeys(r["setting"] for r in report["results"]))
    for setting in settings:
        if setting in ("epoch", "fit-epoch"):
            parts.append(epoch_table(report["results"], setting))
        else:
            parts.append(times_table(report["results"], setting))
    parts.append("Ratios (paired, per round)\n\n" + ratios_table(report["ratios"]))
    parts.append("Targets\n\n" + targets_table(report["targets"]))
    return "\n\n".join(parts) + "\n"


def main(paths: list) -> int:
    for path in paths:
        report = json.loads(pathlib.Path(path).read_text())
        runs = report["runs"].values() if "runs" in report else [report]  # gpu.sh's merged file
        for run in runs:
            if "meta" in run:
                print(render(run))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["benchmarks/results.json"]))
