"""docs/evidence.md's tables are the ones examples/summarize_evidence.py computes from the records."""

import json
import pathlib
import shlex
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import summarize_evidence  # noqa: E402

PAGE = ROOT / "docs" / "evidence.md"


def page_command() -> list[str]:
    """The arguments of the `python examples/summarize_evidence.py ...` command the page shows."""
    text = PAGE.read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("python examples/summarize_evidence.py"))
    return shlex.split(line)[2:]


def test_the_page_tables_match_its_records(monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_info:
        summarize_evidence.main([*page_command(), "--check", "--no-plots"])
    assert exit_info.value.code == 0, "docs/evidence.md is stale: run the command at the top of the page"


def test_a_stale_table_is_found_and_rewritten(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    record = "docs/results/regime1_data_limited.json"
    page = tmp_path / "page.md"
    page.write_text(
        "Intro.\n\n<!-- summarize_evidence: regime1_data_limited differences reference=cutout methods=cutmix -->\n"
        "| an old table |\n<!-- /summarize_evidence -->\n\nOutro.\n"
    )
    with pytest.raises(SystemExit) as exit_info:
        summarize_evidence.main([record, "--page", str(page), "--check", "--no-plots"])
    assert exit_info.value.code == 1
    summarize_evidence.main([record, "--page", str(page), "--no-plots"])
    text = page.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| cutmix |")]
    assert len(rows) == 1 and "an old table" not in text
    assert text.startswith("Intro.") and text.endswith("Outro.\n")
    # CutMix minus Cutout on top-1 error, from the per-seed numbers of the record.
    errors = {m: json.loads(pathlib.Path(record).read_text())["methods"][m]["seeds"] for m in ("cutmix", "cutout")}
    by_seed = {m: {e["seed"]: e["top1_error"] for e in entries} for m, entries in errors.items()}
    mean = sum(by_seed["cutmix"][s] - by_seed["cutout"][s] for s in by_seed["cutmix"]) / len(by_seed["cutmix"])
    assert rows[0].split("|")[3].strip().startswith(f"{100 * mean:+.2f}")


def test_a_page_asking_for_an_unknown_record_or_method_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    record = "docs/results/regime1_data_limited.json"
    page = tmp_path / "page.md"
    page.write_text("<!-- summarize_evidence: regime9 spread -->\n<!-- /summarize_evidence -->\n")
    with pytest.raises(SystemExit, match="regime9"):
        summarize_evidence.main([record, "--page", str(page), "--no-plots"])
    page.write_text(
        "<!-- summarize_evidence: regime1_data_limited spread methods=fmix -->\n<!-- /summarize_evidence -->\n"
    )
    with pytest.raises(SystemExit, match="fmix"):
        summarize_evidence.main([record, "--page", str(page), "--no-plots"])
