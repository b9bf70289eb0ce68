"""Tables and plots from `fit_compare.py --record` files, recomputed from their per-seed numbers.

    python examples/summarize_evidence.py docs/results/regime1_data_limited.json docs/results/regime2_variants.json

For each record: prints (and with --markdown writes) its command, date,
machine and code version, the mean ± standard deviation of each metric over
the seeds, and each method's paired difference to the reference method with a
95% t interval (the reference is the record's own --reference, baseline by
default; --reference overrides it); writes docs/images/evidence_<record
name>_{errors,differences,curves,fgsm}.png. Needs numpy, scipy and
matplotlib, not Keras.

--combine NAME LABEL=RECORD:METHOD LABEL=RECORD:METHOD ... pairs methods
of different records seed by seed, as one more record named NAME whose
reference is the first label; for example CutMix mixed in tf.data against
the same CutMix mixed inside the train step (`fit_compare.py --in-model`):

    python examples/summarize_evidence.py --combine regime3_where \\
        "tf.data=docs/results/regime3_tfdata.json:cutmix" \\
        "CutMixModel=docs/results/regime3_in_model.json:cutmix"
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shlex
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from paper import report


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("records", nargs="*", help="JSON files written by fit_compare.py --record")
    p.add_argument(
        "--reference",
        default=None,
        help="the method differences are taken against (default: the record's --reference, else baseline)",
    )
    p.add_argument("--confidence", type=float, default=0.95, help="level of the t intervals")
    p.add_argument("--images", default="docs/images", help="folder for the plots")
    p.add_argument("--prefix", default="evidence_", help="plot names: <prefix><record name>_<plot>.png")
    p.add_argument("--markdown", default=None, help="also write the tables to this Markdown file")
    p.add_argument(
        "--combine",
        nargs="+",
        action="append",
        default=[],
        metavar="NAME LABEL=RECORD:METHOD",
        help="one more table from methods of several records, paired by seed; the first LABEL is the reference",
    )
    args = p.parse_args(argv)
    if not args.records and not args.combine:
        p.error("give at least one record, or --combine")
    return args


def combine_records(parts: list[str]) -> tuple[dict, str]:
    """(record, reference) of `LABEL=RECORD:METHOD` parts: each picked method under its label.

    The command, date and versions are the first part's record's; the
    others' commands are listed too. Records of different code (commit) are
    refused: their differences would mix the code's change with the method's.
    """
    if len(parts) < 2:
        raise SystemExit(f"--combine needs at least two LABEL=RECORD:METHOD parts; received {parts!r}.")
    methods: dict = {}
    records = []
    for part in parts:
        label, _, source = part.partition("=")
        path, _, method = source.rpartition(":")
        if not (label and path and method):
            raise SystemExit(f"--combine parts are LABEL=RECORD:METHOD; received {part!r}.")
        record = json.loads(pathlib.Path(path).read_text())
        if method not in record["methods"]:
            raise SystemExit(f"{path} has no method {method!r}; it has {sorted(record['methods'])}.")
        methods[label] = record["methods"][method]
        records.append(record)
    commits = {r.get("versions", {}).get("keras_cutmix_commit") for r in records}
    if len(commits) > 1:
        raise SystemExit(f"--combine takes records of one commit; these ran {sorted(map(str, commits))}.")
    commands = list(dict.fromkeys(r["command"] for r in records))
    combined = dict(records[0], command=" ; ".join(commands), methods=methods)
    combined["complete"] = all(r.get("complete", True) for r in records)
    return combined, next(iter(methods))


def option(command: str, name: str, default: str | None = None) -> str | None:
    """The value of `--name` in a recorded command line (the last one given), else `default`."""
    words = shlex.split(command)
    values = [words[i + 1] for i, w in enumerate(words[:-1]) if w == name]
    values += [w.split("=", 1)[1] for w in words if w.startswith(name + "=")]
    return values[-1] if values else default


def describe_record(record: dict, name: str, reference: str, confidence: float) -> str:
    versions = record.get("versions", {})
    machine = record.get("machine", {})
    epsilon = float(option(record["command"], "--fgsm-epsilon", str(8 / 255)))
    labels = {"fgsm_accuracy": f"FGSM acc @ε={255 * epsilon:g}/255 (%)"}
    seeds = sorted({s for m in record["methods"] for s in report.seeds_of(record, m)})
    lines = [
        f"### {name}",
        "",
        f"- command: `{record['command']}`",
        f"- date: {record['date']}"
        + ("" if record.get("complete", True) else " (incomplete: the run is still going or stopped)"),
        f"- machine: {machine.get('nproc')} CPU cores ({machine.get('cpu')}), {machine.get('memory_gb')} GB RAM, "
        f"GPUs: {', '.join(machine.get('gpus') or []) or 'none'}"
        + (f"; {machine['note']}" if machine.get("note") else ""),
        f"- code: keras_cutmix {versions.get('keras_cutmix')} at git {versions.get('keras_cutmix_commit')}"
        + (" (modified tree)" if versions.get("keras_cutmix_dirty") else "")
        + f"; keras {versions.get('keras')}, tensorflow {versions.get('tensorflow')}, numpy {versions.get('numpy')}, scipy {versions.get('scipy')}",
        f"- seeds: {', '.join(map(str, seeds))}",
    ]
    reused = sorted(
        {
            (m, e["seed"], e["reused_from"])
            for m, info in record["methods"].items()
            for e in info["seeds"]
            if "reused_from" in e
        }
    )
    if reused:
        lines.append(
            "- reused runs (same commit and training options): "
            + ", ".join(f"{m} seed {s} from {p}" for m, s, p in reused)
        )
    lines += [
        "",
        "Mean ± standard deviation over seeds:",
        "",
        report.spread_table(record, markdown=True, labels=labels),
    ]
    if reference in record["methods"]:
        lines += [
            "",
            f"Paired difference to {reference} (mean over seeds [{100 * confidence:g}% t interval]; * = the interval excludes 0):",
            "",
            report.difference_table(record, reference, markdown=True, confidence=confidence, labels=labels),
        ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    texts = []
    for path in map(pathlib.Path, args.records):
        record = json.loads(path.read_text())
        reference = args.reference or option(record["command"], "--reference", "baseline")
        texts.append(describe_record(record, path.stem, reference, args.confidence))
        written = report.write_plots(
            record,
            args.images,
            prefix=f"{args.prefix}{path.stem}_",
            reference=reference if reference in record["methods"] else None,
            confidence=args.confidence,
            title=path.stem,
        )
        texts[-1] += "\n\nPlots: " + ", ".join(written)
    for name, *parts in args.combine:
        record, reference = combine_records(parts)
        texts.append(describe_record(record, name, reference, args.confidence))
        written = report.write_plots(
            record,
            args.images,
            prefix=f"{args.prefix}{name}_",
            reference=reference,
            confidence=args.confidence,
            title=name,
        )
        texts[-1] += "\n\nPlots: " + ", ".join(written)
    text = "\n\n".join(texts) + "\n"
    print(text)
    if args.markdown:
        pathlib.Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
