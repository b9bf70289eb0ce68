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

--page docs/evidence.md rewrites the tables of a Markdown page between
marker comments from the records (named by file stem, or by a --combine
NAME), so the page cannot drift from its records; with --check it only
says whether they differ (exit 1), as the tests do:

    <!-- summarize_evidence: regime1_data_limited spread -->
    (the table)
    <!-- /summarize_evidence -->
    <!-- summarize_evidence: regime1_data_limited differences reference=cutout methods=cutmix -->

`spread` is the mean ± std table, `differences` the paired differences
(to the record's reference unless `reference=` says otherwise); `methods=`
keeps the listed methods (comma list) in that order.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
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
    p.add_argument(
        "--page",
        default=None,
        help="rewrite the tables between `<!-- summarize_evidence: NAME KIND ... -->` markers of this Markdown page",
    )
    p.add_argument("--check", action="store_true", help="with --page: only report whether its tables are stale")
    p.add_argument("--no-plots", action="store_true", help="do not write the plots")
    args = p.parse_args(argv)
    if args.check and not args.page:
        p.error("--check needs --page")
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
    labels = fgsm_labels(record)
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


def fgsm_labels(record: dict) -> dict:
    epsilon = float(option(record["command"], "--fgsm-epsilon", str(8 / 255)))
    return {"fgsm_accuracy": f"FGSM acc @ε={255 * epsilon:g}/255 (%)"}


PAGE_BLOCK = re.compile(
    r"(?P<open><!-- summarize_evidence: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(?P<close><!-- /summarize_evidence -->)",
    re.DOTALL,
)


def page_table(spec: str, records: dict[str, tuple[dict, str]], confidence: float) -> str:
    """The table a page marker asks for: `NAME spread|differences [reference=M] [methods=A,B]`."""
    name, kind, *settings = spec.split()
    if name not in records:
        raise SystemExit(f"The page asks for record {name!r}; given: {sorted(records)}.")
    if kind not in ("spread", "differences"):
        raise SystemExit(f"A page table is `spread` or `differences`; received {kind!r} in {spec!r}.")
    record, reference = records[name]
    options = dict(setting.split("=", 1) for setting in settings)
    unknown = set(options) - {"reference", "methods"}
    if unknown:
        raise SystemExit(f"Unknown page table settings {sorted(unknown)} in {spec!r}.")
    reference = options.get("reference", reference)
    if "methods" in options:
        keep = options["methods"].split(",") + ([reference] if kind == "differences" else [])
        missing = [m for m in keep if m not in record["methods"]]
        if missing:
            raise SystemExit(f"Record {name!r} has no methods {missing} (asked by {spec!r}).")
        record = {**record, "methods": {m: record["methods"][m] for m in dict.fromkeys(keep)}}
    if kind == "spread":
        return report.spread_table(record, markdown=True, labels=fgsm_labels(record))
    return report.difference_table(record, reference, markdown=True, confidence=confidence, labels=fgsm_labels(record))


def update_page(path: pathlib.Path, records: dict[str, tuple[dict, str]], confidence: float, check: bool) -> bool:
    """Rewrite (or with `check`, compare) the marked tables of `path`; whether any was stale."""
    text = path.read_text()
    blocks = list(PAGE_BLOCK.finditer(text))
    if not blocks:
        raise SystemExit(f"{path} has no `<!-- summarize_evidence: NAME KIND -->` markers.")

    def table(match: re.Match) -> str:
        return match["open"] + page_table(match["spec"], records, confidence) + "\n" + match["close"]

    updated = PAGE_BLOCK.sub(table, text)
    stale = updated != text
    if stale and not check:
        path.write_text(updated)
    print(
        f"{path}: {len(blocks)} tables, {'stale' if stale else 'up to date'}{'' if check or not stale else ' (rewritten)'}"
    )
    return stale


def main(argv=None):
    args = parse_args(argv)
    records: dict[str, tuple[dict, str]] = {}
    for path in map(pathlib.Path, args.records):
        record = json.loads(path.read_text())
        records[path.stem] = (record, args.reference or option(record["command"], "--reference", "baseline"))
    for name, *parts in args.combine:
        records[name] = combine_records(parts)
    if args.page:
        stale = update_page(pathlib.Path(args.page), records, args.confidence, args.check)
        if args.check:
            raise SystemExit(int(stale))
    texts = []
    for name, (record, reference) in records.items():
        texts.append(describe_record(record, name, reference, args.confidence))
        if args.no_plots:
            continue
        written = report.write_plots(
            record,
            args.images,
            prefix=f"{args.prefix}{name}_",
            reference=reference if reference in record["methods"] else None,
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
