"""benchmarks/bench.py --quick runs and writes its JSON report (no timing assertions)."""

import importlib.util
import json
import sys

import pytest
from helpers import ROOT, run_script

from keras_cutmix.methods import ALL


def load_bench():
    """benchmarks/bench.py as a module (importing it runs nothing: keras is loaded by its `main`)."""
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    module = sys.modules.setdefault("bench", importlib.util.module_from_spec(spec))
    if not hasattr(module, "main"):
        spec.loader.exec_module(module)  # in sys.modules first: its dataclasses look their module up there
    return module


def test_every_registered_method_is_benchmarked():
    rows = load_bench().benchmarked_methods()
    assert list(rows) == [method.name() for method in ALL]
    assert rows["CutMix"] == ("keras_cutmix batch", "keras_cutmix sample")
    assert all(rows[method.name()] == (f"keras_cutmix {method.name()}",) for method in ALL if method.name() != "CutMix")


@pytest.mark.own_process  # bench.py on the TensorFlow backend, in its own process
def test_bench_quick_writes_json(tmp_path):
    out = tmp_path / "results.json"
    # One dtype, one timed round, one method besides CutMix (every method's rows come from the same
    # loop over `benchmarked_methods()`, tested above): the rows and the report's shape are under
    # test, not the times.
    run_script(
        "benchmarks/bench.py",
        "--quick",
        "--no-keras-cv",
        "--dtypes",
        "float32",
        "--repeats",
        "1",
        "--methods",
        "MixUp",
        "--output",
        out,
    )
    report = json.loads(out.read_text())
    assert set(report) >= {"meta", "results", "ratios", "targets"}
    assert {"date", "command", "machine", "versions", "backend"} <= set(report["meta"])
    settings = {row["setting"] for row in report["results"]}
    assert settings == {"tf.function", "xla", "map", "epoch", "fit", "fit-epoch"}
    impls = {row["impl"] for row in report["results"]}
    assert {"copy", "memcpy", "keras_cutmix batch", "keras_cutmix sample", "keras.layers.CutMix"} <= impls
    # The other method asked for has its rows in each per-call setting.
    methods = {"keras_cutmix MixUp"}
    for setting in ("tf.function", "xla", "map"):
        rows = [row for row in report["results"] if row["setting"] == setting]
        assert methods <= {row["impl"] for row in rows}
        assert all("median" in row for row in rows if row["impl"] in methods), rows
    # The fit-shaped settings: fresh iterators per epoch, costs over the no-mix map.
    epoch = [row for row in report["results"] if row["setting"] == "epoch"]
    assert {"no-mix map", "copy", "keras_cutmix batch", "keras_cutmix sample", "keras.layers.CutMix"} <= {
        row["impl"] for row in epoch
    }
    assert {row["batches"] for row in epoch} == {2, 4}
    assert all(row["first_s"] <= row["median"] and "cost_s" in row for row in epoch)
    assert any(row["setting"] == "epoch" and "cost/copy cost" in row for row in report["ratios"])
    for row in report["results"]:
        assert {"setting", "size", "dtype", "impl"} <= set(row)
        assert ("median" in row) != ("error" in row), row
    # Our layer runs in every setting; keras' fails only under XLA.
    for row in report["results"]:
        if row["impl"].startswith("keras_cutmix"):
            assert "median" in row, row
    assert all({"target", "value", "limit", "met"} <= set(t) for t in report["targets"])


@pytest.mark.own_process  # the script on the TensorFlow backend, in its own process
def test_map_parts_prints_every_part():
    proc = run_script("benchmarks/map_parts.py", "uint8", "8x16x16x3")
    rows = [line.split("  ")[0] for line in proc.stdout.splitlines() if "ms per batch" in line]
    assert rows == ["copy", "XLA-compiled copy", "paste_box alone", "draw alone", "CutMix batch", "CutMix sample"]


@pytest.mark.own_process  # bench.py on the JAX and torch backends, each in its own process
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_bench_host_pipelines_write_json(tmp_path, backend):
    # Issue #18's rows: a grain map (JAX) and a torch DataLoader collate (in two workers), ours (also as the
    # pipeline's collation: `layer.collate`) vs keras' layer vs a copy.
    out = tmp_path / "results.json"
    workers = 2 if backend == "torch" else 0
    run_script(
        "benchmarks/bench.py",
        "--backend",
        backend,
        "--settings",
        "host",
        "--quick",
        "--dtypes",
        "uint8",
        "--host-workers",
        workers,
        "--output",
        out,
    )
    report = json.loads(out.read_text())
    rows = report["results"]
    assert {row["setting"] for row in rows} == {"host"}
    assert {row["workers"] for row in rows} == {workers}
    assert {row["impl"] for row in rows} == {
        "no-op map",
        "copy",
        "memcpy",
        "stack alone (layer.collate's batching)",
        "keras_cutmix batch",
        "keras_cutmix sample",
        "keras_cutmix batch (layer.collate)",
        "keras_cutmix sample (layer.collate)",
        "keras.layers.CutMix",
    }
    assert all("images_per_s" in row and row["dtype"] == "uint8" for row in rows), rows
    host_targets = [t for t in report["targets"] if t["target"].startswith("host")]
    assert len(host_targets) == 8  # two modes x two pipelines x (keras' throughput, the copy)
    assert all(t["value"] is not None for t in host_targets)
    # Against keras' throughput, the most each row could reach: keras / the batching alone (no-op map, or the stack).
    throughput = [t for t in host_targets if "throughput" in t["target"]]
    assert len(throughput) == 4 and all(t["ceiling"] > 0 for t in throughput)
