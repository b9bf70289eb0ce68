"""benchmarks/bench.py --quick runs and writes its JSON report (no timing assertions)."""

import json
import os
import pathlib
import subprocess
import sys

import keras
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="bench.py's settings run on the TensorFlow backend")
def test_bench_quick_writes_json(tmp_path):
    out = tmp_path / "results.json"
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--no-keras-cv", "--output", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert set(report) >= {"meta", "results", "ratios", "targets"}
    assert {"date", "command", "machine", "versions", "backend"} <= set(report["meta"])
    settings = {row["setting"] for row in report["results"]}
    assert settings == {"tf.function", "xla", "map", "fit"}
    impls = {row["impl"] for row in report["results"]}
    assert {"copy", "memcpy", "keras_cutmix batch", "keras_cutmix sample", "keras.layers.CutMix"} <= impls
    for row in report["results"]:
        assert {"setting", "size", "dtype", "impl"} <= set(row)
        assert ("median" in row) != ("error" in row), row
    # Our layer runs in every setting; keras' fails only under XLA.
    for row in report["results"]:
        if row["impl"].startswith("keras_cutmix"):
            assert "median" in row, row
    assert all({"target", "value", "limit", "met"} <= set(t) for t in report["targets"])
