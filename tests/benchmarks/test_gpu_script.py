"""benchmarks/gpu.sh runs end to end on a CPU (`--quick`, tiny sizes) without TensorFlow, as on the GPU machine.

The lent GPU machine has JAX and torch but no TensorFlow, so the script's
runs must not import it: here an importable `tensorflow` that raises stands in
for its absence. No timing is asserted, only that every row was measured and
that one results file holds both backends and their targets.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.own_process
@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None, reason="needs bash and timeout")
def test_gpu_script_runs_on_cpu_without_tensorflow(tmp_path):
    blocker = tmp_path / "no_tensorflow" / "tensorflow"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("no TensorFlow on the GPU machine")\n')
    out = tmp_path / "out"
    env = dict(os.environ, PYTHON=sys.executable, PYTHONPATH=str(blocker.parent))
    env.pop("OUT", None)
    env.pop("KERAS_BACKEND", None)
    proc = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu.sh"), "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    logs = "".join((out / f"{b}.log").read_text()[-2000:] for b in ("jax", "torch") if (out / f"{b}.log").exists())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + logs
    merged = json.loads((out / "gpu_results.json").read_text())
    assert set(merged["runs"]) == {"jax", "torch"}
    assert merged["meta"]["all_ran"] is True
    for backend, run in merged["runs"].items():
        assert run["meta"]["backend"] == backend
        assert run["meta"]["partial"] is False
        assert "tensorflow" not in run["meta"]["versions"]
        rows = run["results"]
        assert {r["setting"] for r in rows} == {"direct", "fit"}
        direct = {r["impl"] for r in rows if r["setting"] == "direct"}
        assert {"copy", "keras_cutmix batch", "keras_cutmix sample", "keras.layers.CutMix"} <= direct
        assert "keras_cutmix MixUp" in direct  # --quick times one other method (the full run: all)
        fit = {r["impl"] for r in rows if r["setting"] == "fit"}
        assert {"no CutMix", "keras_cutmix batch", "keras_cutmix.CutMixModel"} <= fit
        for row in rows:
            assert ("median" in row) != ("error" in row), row
            if row["impl"] != "memcpy":
                assert "median" in row, row
    assert any(t["backend"] == "torch" for t in merged["targets"])
    assert all({"target", "value", "limit", "met", "backend"} <= set(t) for t in merged["targets"])
