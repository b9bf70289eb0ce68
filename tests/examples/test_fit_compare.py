"""examples/fit_compare.py: the one-seed demo, several seeds with error bars, records, reuse, scheduled CutMix.

Tiny budgets on fake Fashion-MNIST files (offline); the TensorFlow backend,
which the examples run on.
"""

import argparse
import json
import math
import os
import pathlib
import sys

import keras
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from helpers import fit_compare_flags, run_script  # noqa: E402
from paper import report, statistics  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TENSORFLOW_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the demo runs on the TensorFlow backend"
)
TINY = fit_compare_flags(no_jit=True)
# The versions a record was made with (a clean checkout).
VERSIONS = {"keras": "3", "tensorflow": "2", "numpy": "1", "keras_cutmix_commit": "a" * 40, "keras_cutmix_dirty": False}
SEED_KEYS = {"seed", "top1_error", "test_loss", "ece", "fgsm_accuracy", "cam_localization", "train_seconds"}


def _import_fit_compare():
    import fit_compare

    return fit_compare


@pytest.mark.slow
@pytest.mark.own_process  # the script on the TensorFlow backend, in its own process
def test_fit_compare_smoke(tmp_path, fake_fashion_mnist):
    pytest.importorskip("matplotlib")
    (tmp_path / "data").mkdir()
    fake_fashion_mnist(tmp_path / "data", n_train=64, n_test=40)
    out = tmp_path / "results"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    proc = run_script(
        "examples/fit_compare.py",
        "--data-dir",
        tmp_path / "data",
        "--methods",
        "cutout,mixup",  # baseline and CutMix: test_fit_compare_several_seeds_record_statistics_and_plots
        *TINY,
        "--output",
        out,
        timeout=600,
        PYTHONPATH=path,
    )
    report = json.loads((out / "results.json").read_text())
    assert [r["method"] for r in report["results"]] == ["cutout", "mixup"]
    for r in report["results"]:
        assert {"test_error", "test_loss", "ece", "fgsm_accuracy", "cam_score", "history", "fgsm_curve"} <= set(r)
        assert 0.0 <= r["test_error"] <= 1.0 and 0.0 <= r["cam_score"] <= 1.0
    for name in ("curves.png", "cam.png", "fgsm.png", "samples_mixup.png", "samples_cutout.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    assert "top-1 err" in proc.stdout and "mixup" in (out / "table.md").read_text()


@TENSORFLOW_ONLY
def test_fit_compare_pipeline_is_reproducible_and_draws_anew_each_batch():
    # The parallel map takes one seed per batch of the run, (seed, batch
    # index over all epochs): the same batches run after run, whatever
    # order the parallel calls run in, and a new draw for every batch.
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import fit_compare
        from common import seeded_mixer
    finally:
        sys.path.remove(str(ROOT / "examples"))
    args = argparse.Namespace(seed=3, epochs=2, batch_size=8)
    x = np.repeat(np.arange(64, dtype="uint8")[:, None, None, None], 8, axis=1).repeat(8, axis=2)
    y = np.arange(64) % 10

    def run():
        ds = fit_compare.train_dataset(x, y, 10, args, seeded_mixer("cutmix_p1", 10))
        return [(a.numpy(), b.numpy()) for a, b in ds]

    first, second = run(), run()
    assert len(first) == 2 * 64 // 8
    for (a1, b1), (a2, b2) in zip(first, second):
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(b1, b2)
    # probability 1: every batch mixed, labels are the exact pixel shares.
    for images, labels in first:
        assert images.dtype == np.float32 and labels.shape == (8, 10)
        np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-6)
    weights = [tuple(np.round(np.sort(labels.max(axis=1)), 6)) for _, labels in first]
    assert len(set(weights)) > len(weights) // 2  # not one draw repeated


# ---------------------------------------------------------------------------
# Several seeds


def _recomputed(values, reference):
    """mean, std (ddof 1) and the 95% t interval of the paired differences, written out by hand."""
    from scipy import stats

    d = np.asarray(values, dtype="float64") - np.asarray(reference, dtype="float64")
    n = len(d)
    mean = float(np.sum(d) / n)
    sd = math.sqrt(float(np.sum((d - mean) ** 2)) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


@pytest.mark.slow
@TENSORFLOW_ONLY
def test_fit_compare_several_seeds_record_statistics_and_plots(tmp_path, fake_fashion_mnist):
    pytest.importorskip("matplotlib")
    pytest.importorskip("scipy")
    fit_compare = _import_fit_compare()
    (tmp_path / "data").mkdir()
    fake_fashion_mnist(tmp_path / "data", n_train=64, n_test=40)
    out, record_path = tmp_path / "results", tmp_path / "docs" / "results" / "smoke.json"
    fit_compare.main(
        [
            "--data-dir",
            str(tmp_path / "data"),
            "--methods",
            "baseline,cutmix",
            "--seeds",
            "0,1",
            *TINY,
            "--output",
            str(out),
            "--record",
            str(record_path),
            "--machine-note",
            "test run",
        ]
    )
    record = json.loads(record_path.read_text())

    # The shape: command, date, machine, versions (with the commit), methods → seeds → metrics.
    assert {"command", "date", "machine", "versions", "methods"} <= set(record)
    assert "--seeds 0,1" in record["command"] and record["machine"]["note"] == "test run"
    assert {"keras", "tensorflow", "keras_cutmix", "keras_cutmix_commit"} <= set(record["versions"])
    commit = record["versions"]["keras_cutmix_commit"]
    assert commit is None or (len(commit) == 40 and int(commit, 16) >= 0)  # None outside a git checkout
    assert list(record["methods"]) == ["baseline", "cutmix"]
    for method, info in record["methods"].items():
        assert [entry["seed"] for entry in info["seeds"]] == [0, 1]
        for entry in info["seeds"]:
            assert set(entry) >= SEED_KEYS, method
            for key in ("top1_error", "ece", "fgsm_accuracy", "cam_localization"):
                assert 0.0 <= entry[key] <= 1.0, (method, key)  # fractions, not percent
            assert entry["test_loss"] > 0 and entry["train_seconds"] > 0
    # Same initial weights, data and evaluation sets per seed: the two seeds differ, and one
    # method's per-seed results are what the run printed (results.json holds the same numbers).
    results = json.loads((out / "results.json").read_text())
    assert [(r["method"], r["seed"]) for r in results["results"]] == [
        ("baseline", 0),
        ("cutmix", 0),
        ("baseline", 1),
        ("cutmix", 1),
    ]
    for r in results["results"]:
        entry = next(e for e in record["methods"][r["method"]]["seeds"] if e["seed"] == r["seed"])
        assert entry["top1_error"] == r["test_error"] and entry["cam_localization"] == r["cam_score"]

    # The statistics, recomputed here from the per-seed numbers.
    summary = report.summarize(record, "baseline")
    for metric in ("top1_error", "test_loss", "ece", "fgsm_accuracy", "cam_localization"):
        base = [e[metric] for e in record["methods"]["baseline"]["seeds"]]
        mixed = [e[metric] for e in record["methods"]["cutmix"]["seeds"]]
        assert summary["cutmix"][metric]["mean"] == pytest.approx(np.mean(mixed), abs=1e-12)
        assert summary["cutmix"][metric]["std"] == pytest.approx(np.std(mixed, ddof=1), abs=1e-12)
        mean, sd, low, high = _recomputed(mixed, base)
        d = summary["cutmix"]["difference"][metric]
        assert (d["n"], d["mean"], d["std"]) == (2, pytest.approx(mean, abs=1e-12), pytest.approx(sd, abs=1e-12))
        assert (d["ci_low"], d["ci_high"]) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
        assert results["summary"]["cutmix"]["difference"][metric]["ci_high"] == pytest.approx(high, abs=1e-12)
    # ... and the tables print those numbers.
    table = (out / "table.md").read_text()
    errors = [100 * e["top1_error"] for e in record["methods"]["cutmix"]["seeds"]]
    assert f"| cutmix | 2 | {np.mean(errors):.2f} ± {np.std(errors, ddof=1):.2f} |" in table
    mean, _, low, high = (
        100 * v
        for v in _recomputed(
            [e["top1_error"] for e in record["methods"]["cutmix"]["seeds"]],
            [e["top1_error"] for e in record["methods"]["baseline"]["seeds"]],
        )
    )
    assert f"| cutmix | 2 | {mean:+.2f} [{low:+.2f}, {high:+.2f}]" in table

    # The pictures, with the spread.
    for name in ("errors.png", "differences.png", "curves.png", "fgsm.png", "cam.png", "samples_cutmix.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name

    # summarize_evidence.py turns the record into the same tables and the docs' plots.
    import summarize_evidence

    summarize_evidence.main(
        [str(record_path), "--images", str(tmp_path / "images"), "--markdown", str(tmp_path / "evidence.md")]
    )
    text = (tmp_path / "evidence.md").read_text()
    assert f"| cutmix | 2 | {np.mean(errors):.2f} ± {np.std(errors, ddof=1):.2f} |" in text
    assert f"| cutmix | 2 | {mean:+.2f} [{low:+.2f}, {high:+.2f}]" in text
    for plot in ("errors", "differences", "curves", "fgsm"):
        assert (tmp_path / "images" / f"evidence_smoke_{plot}.png").read_bytes()[:8] == PNG_MAGIC, plot


def test_statistics_by_hand():
    pytest.importorskip("scipy")
    assert statistics.mean_std([1.0, 2.0, 3.0, 4.0]) == {"n": 4, "mean": 2.5, "std": pytest.approx(math.sqrt(5 / 3))}
    one = statistics.mean_std([0.25])
    assert one["mean"] == 0.25 and math.isnan(one["std"])
    # d = (1, 2, 3, 4): t_{0.975, 3} = 3.182446 (printed t tables), sd(d) = √(5/3).
    d = statistics.paired_difference([1.5, 2.0, 3.5, 4.0], [0.5, 0.0, 0.5, 0.0])
    half = 3.182446305 * math.sqrt(5 / 3) / 2
    assert d["mean"] == 2.5 and d["t"] == pytest.approx(3.182446305)
    assert (d["ci_low"], d["ci_high"]) == (pytest.approx(2.5 - half), pytest.approx(2.5 + half))
    assert statistics.excludes_zero(d)
    # Two seeds: t_{0.975, 1} = 12.706; a wide interval that contains 0.
    d = statistics.paired_difference([0.16, 0.15], [0.15, 0.15])
    assert d["t"] == pytest.approx(12.7062047) and d["ci_low"] < 0 < d["ci_high"] and not statistics.excludes_zero(d)
    d = statistics.paired_difference([0.2], [0.1])
    assert d["mean"] == pytest.approx(0.1) and math.isnan(d["ci_low"]) and not statistics.excludes_zero(d)
    with pytest.raises(ValueError, match="same seeds"):
        statistics.paired_difference([1.0, 2.0], [1.0])


def seed_entry(seed, error):
    """One seed's numbers in a record: the given top-1 error, the rest fixed."""
    return {
        "seed": seed,
        "top1_error": error,
        "test_loss": 0.5,
        "ece": 0.02,
        "fgsm_accuracy": 0.4,
        "cam_localization": 0.7,
        "train_seconds": 10.0,
    }


def test_report_pairs_by_seed_and_marks_resolved_differences():
    record = {
        "methods": {
            "baseline": {"seeds": [seed_entry(0, 0.20), seed_entry(1, 0.22), seed_entry(2, 0.21)]},
            # seeds in another order, and one (3) the baseline lacks: paired by seed, over the common ones.
            "cutmix": {"seeds": [seed_entry(2, 0.19), seed_entry(0, 0.18), seed_entry(1, 0.205), seed_entry(3, 0.5)]},
        }
    }
    d = report.summarize(record, "baseline")["cutmix"]["difference"]["top1_error"]
    assert d["n"] == 3 and d["mean"] == pytest.approx(np.mean([-0.02, -0.015, -0.02]))
    assert statistics.excludes_zero(d)
    table = report.difference_table(record, "baseline")
    assert "*" in table.splitlines()[-1] and table.splitlines()[-1].startswith("cutmix")
    assert "baseline" not in "\n".join(table.splitlines()[2:])  # no row for the reference itself


def test_summarize_evidence_combines_methods_of_two_records_by_seed(tmp_path):
    pytest.importorskip("scipy")
    pytest.importorskip("matplotlib")
    import summarize_evidence

    base = {"command": "python examples/fit_compare.py --seeds 0,1,2", "date": "2026-12-02", "complete": True}
    versions = {"keras_cutmix_commit": "a" * 40}
    data = {
        "methods": {
            "baseline": {"seeds": [seed_entry(0, 0.3)]},
            "cutmix": {"seeds": [seed_entry(s, 0.20) for s in (0, 1, 2)]},
        }
    }
    model = {
        "methods": {
            "cutmix": {"seeds": [seed_entry(2, 0.215), seed_entry(0, 0.21), seed_entry(1, 0.22), seed_entry(3, 0.9)]}
        }
    }
    paths = []
    for name, record in (("data", data), ("model", model)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps({**base, "versions": versions, "command": base["command"] + name, **record}))
    where = ["where", f"tf.data={paths[0]}:cutmix", f"in-model={paths[1]}:cutmix"]
    summarize_evidence.main(
        ["--images", str(tmp_path), "--markdown", str(tmp_path / "t.md"), str(paths[0]), "--combine", *where]
    )
    text = (tmp_path / "t.md").read_text()
    # Paired over the seeds both have (0, 1, 2), the first label the reference: +1.5 pp mean.
    assert "### where" in text and "Paired difference to tf.data" in text
    assert "| in-model | 3 | +1.50 [" in text
    assert (tmp_path / "evidence_where_differences.png").read_bytes()[:8] == PNG_MAGIC
    # Records of another commit, or a method a record lacks, are refused.
    paths[1].write_text(json.dumps({**base, **model, "versions": {"keras_cutmix_commit": "b" * 40}}))
    with pytest.raises(SystemExit, match="one commit"):
        summarize_evidence.combine_records(where[1:])
    with pytest.raises(SystemExit, match="no method 'mixup'"):
        summarize_evidence.combine_records([where[1], f"x={paths[0]}:mixup"])


def test_seeds_flag():
    pytest.importorskip("tensorflow")
    fit_compare = _import_fit_compare()
    assert fit_compare.parse_args([]).seeds == [0]
    args = fit_compare.parse_args(["--seed", "3"])
    assert (args.seed, args.seeds) == (3, [3])
    args = fit_compare.parse_args(["--seeds", "2,0,1"])
    assert (args.seed, args.seeds) == (2, [2, 0, 1])
    for bad in ("0,0", "a,b", ","):
        with pytest.raises(SystemExit):
            fit_compare.parse_args(["--seeds", bad])


def test_reuse_needs_the_same_code_and_training_options():
    pytest.importorskip("tensorflow")
    fit_compare = _import_fit_compare()
    versions = VERSIONS
    args = fit_compare.parse_args(
        ["--train-size", "5000", "--epochs", "40", "--methods", "cutmix,cutmix_onehot", "--seeds", "0,1"]
    )
    record = {
        "command": "python examples/fit_compare.py --epochs 40 --train-size 5000 --methods baseline,cutmix --seeds 0,1,2 --output x --record r.json",
        "versions": dict(versions),
        "methods": {
            m: {"mixing": "tf.data", "seeds": [{"seed": s} for s in (0, 1, 2)]} for m in ("baseline", "cutmix")
        },
    }
    # Other methods, seeds, output or record file do not matter.
    assert fit_compare.reuse_mismatch(record, args, versions) is None
    assert "epochs" in fit_compare.reuse_mismatch(
        {**record, "command": record["command"].replace("--epochs 40", "--epochs 39")}, args, versions
    )
    assert "width" in fit_compare.reuse_mismatch(
        {**record, "command": record["command"] + " --width 24"}, args, versions
    )
    assert "commit" in fit_compare.reuse_mismatch(
        {**record, "versions": {**versions, "keras_cutmix_commit": "b" * 40}}, args, versions
    )
    assert "clean" in fit_compare.reuse_mismatch(record, args, {**versions, "keras_cutmix_dirty": True})
    assert "dirty" in fit_compare.reuse_mismatch(
        {**record, "versions": {**versions, "keras_cutmix_dirty": True}}, args, versions
    )


def test_reusable_runs_takes_only_this_commands_methods_and_seeds(tmp_path):
    pytest.importorskip("tensorflow")
    fit_compare = _import_fit_compare()
    versions = VERSIONS
    path = tmp_path / "old.json"
    path.write_text(
        json.dumps(
            {
                "command": "python examples/fit_compare.py --methods baseline,cutmix --seeds 0,1,2",
                "versions": versions,
                "methods": {
                    m: {"mixing": "tf.data", "seeds": [{"seed": s, "top1_error": 0.1 * s} for s in (0, 1, 2)]}
                    for m in ("baseline", "cutmix")
                },
            }
        )
    )
    args = fit_compare.parse_args(["--methods", "cutmix,cutmix_onehot", "--seeds", "0,1"])
    found = fit_compare.reusable_runs([str(path), str(tmp_path / "missing.json")], args, versions)
    assert sorted(found) == [("cutmix", 0), ("cutmix", 1)]
    assert found["cutmix", 1][0]["top1_error"] == 0.1 and found["cutmix", 1][2] == str(path)


@TENSORFLOW_ONLY
def test_scheduled_cutmix_ramps_the_probability_linearly_over_the_steps():
    from common import METHODS, SCHEDULED_PROBABILITY
    from models import simple_cnn

    import keras_cutmix

    fit_compare = _import_fit_compare()
    assert SCHEDULED_PROBABILITY == (0.0, 1.0) and "cutmix_scheduled" in METHODS
    args = fit_compare.parse_args(["--model", "cnn", "--seed", "0"])
    steps = 5
    trainer, mix, sparse, where, callbacks = fit_compare.build_trainer(
        "cutmix_scheduled", simple_cnn((8, 8, 1), 4, width=2), 4, args, steps
    )
    assert isinstance(trainer, keras_cutmix.CutMixModel) and mix is None and sparse and "MixingScheduler" in where
    seen = []
    watch = keras.callbacks.LambdaCallback(on_train_batch_begin=lambda batch, logs: seen.append(trainer.probability))
    trainer.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True))
    images = np.random.default_rng(0).random((steps * 4, 8, 8, 1)).astype("float32")
    trainer.fit(
        images,
        np.arange(steps * 4) % 4,
        batch_size=4,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=callbacks + [watch],
    )
    assert seen == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])  # first step 0, last step 1: mean 0.5, plain CutMix's


@pytest.mark.slow
@TENSORFLOW_ONLY
def test_fit_compare_runs_the_successors_and_manifold_mixup_in_the_model(tmp_path, fake_fashion_mnist):
    """A successor with --in-model (CutMixModel(mixer=...)) and Manifold Mixup on a feature map.

    One successor trains (the others' trainers are built below: the script takes every method's
    mixer from one table, and tests/test_model.py trains every mixer in the model).
    """
    from models import simple_cnn

    import keras_cutmix

    fit_compare = _import_fit_compare()
    args = fit_compare.parse_args(["--model", "cnn", "--in-model"])
    for name, mixer in (("fmix", keras_cutmix.FMix), ("cutmix_or_mixup", keras_cutmix.CutMixOrMixUp)):
        trainer, mix, _, where, _ = fit_compare.build_trainer(name, simple_cnn((8, 8, 1), 4, width=2), 4, args, 5)
        assert isinstance(trainer, keras_cutmix.CutMixModel) and type(trainer.mixer) is mixer and mix is None, where
    pytest.importorskip("matplotlib")
    (tmp_path / "data").mkdir()
    fake_fashion_mnist(tmp_path / "data", n_train=32, n_test=24)
    out = tmp_path / "results"
    methods = ["resizemix", "manifold_mixup"]
    fit_compare.main(
        [
            "--data-dir",
            str(tmp_path / "data"),
            "--methods",
            ",".join(methods),
            "--in-model",
            *TINY,
            "--output",
            str(out),
        ]
    )
    results = json.loads((out / "results.json").read_text())["results"]
    assert [r["method"] for r in results] == methods
    assert all("in the model" in r["mixing"] for r in results)
    assert "feature map" in results[-1]["mixing"]
    assert all(0.0 <= r["test_error"] <= 1.0 for r in results)
