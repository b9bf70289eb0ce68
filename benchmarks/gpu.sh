#!/usr/bin/env bash
# Every GPU row of benchmarks/bench.py in one run (issue #15), for a lent GPU machine.
#
#   benchmarks/gpu.sh [--quick] [--out DIR]   run (on the GPU machine: the device tool's $OUT is the default DIR)
#   benchmarks/gpu.sh --fetch-wheels          here, where pip works: put keras and its missing needs in .whl/
#
# On the GPU machine (no TensorFlow; JAX and torch with CUDA; python3 is the one with both):
#  1. installs keras and what it needs beyond the machine's image (namex, optree) from the wheels in
#     .whl/ (carry it: run(carry=[".whl"], ...)), into /tmp/keras_cutmix_site, when keras does not import;
#  2. runs bench.py on the JAX backend, then on torch: the direct call of every implementation
#     (keras_cutmix's CutMix in both modes and the other methods, keras.layers.CutMix on the same
#     backend, the device's copy of the batch) and the in-model training step (the small CNN with
#     CutMix in it or wrapped in CutMixModel, against the same CNN without), at 32x32 and 224x224;
#  3. writes DIR/gpu_results.json: both runs, their targets, nvidia-smi's view of the device; and
#     DIR/jax.json, DIR/torch.json, DIR/*.log as they came.
# It stays within 8 minutes (each backend has a time limit; bench.py writes its JSON after every
# cell, so a run cut short keeps what it measured), so that a 15-minute device budget allows a rerun.
# On a CPU machine `--quick` runs the same steps on tiny sizes (tests/benchmarks/test_gpu_script.py).
# Exit status: 0 when both backends ran (whatever the targets say), 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
QUICK=0
DIR="${OUT:-benchmarks/results/gpu}"
FETCH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) DIR="$2"; shift ;;
    --fetch-wheels) FETCH=1 ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "gpu.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$FETCH" = 1 ]; then
  # The device image is Python 3.12 on x86-64 (/work/.library/device/README.md, nvidia-h200).
  versions=$("$PY" -c 'import keras, namex, optree, importlib.metadata as m; print(" ".join(f"{n}=={m.version(n)}" for n in ("keras", "namex", "optree")))') || exit 1
  platforms=""
  for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    platforms="$platforms --platform $p"
  done
  # shellcheck disable=SC2086
  "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $platforms -d .whl $versions || exit 1
  exclude="$(git rev-parse --git-common-dir)/info/exclude"
  grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >>"$exclude"
  ls -l .whl
  exit 0
fi

mkdir -p "$DIR"
start=$(date +%s)
# keras' default backend is TensorFlow, absent there: check with JAX's.
if ! KERAS_BACKEND=jax "$PY" -c 'import keras' >/dev/null 2>&1; then
  if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "gpu.sh: keras does not import and there is no .whl/ folder: run 'benchmarks/gpu.sh --fetch-wheels' where pip works, and carry .whl" >&2
    exit 1
  fi
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/keras_cutmix_site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/keras_cutmix_site${PYTHONPATH:+:$PYTHONPATH}"
fi
KERAS_BACKEND=jax "$PY" -c 'import keras, namex, optree' || exit 1
echo "gpu.sh: keras ready after $(( $(date +%s) - start )) s" >&2

export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=3
if [ "$QUICK" = 1 ]; then
  # The CPU smoke test of the script: one other method (bench.py builds every method's rows alike;
  # `bench.py --quick` on TensorFlow times them all).
  args=(--quick --methods MixUp --no-keras-cv --dtypes float32 --repeats 1)
  limit=300
else
  args=(--settings direct,fit --methods all --fit-sizes 32,224 --fit-dtypes float32 --repeats 7 --no-keras-cv)
  limit=210  # per backend: 2 x 210 s plus the install stay under 8 minutes
fi
status=0
for backend in jax torch; do
  timeout "$limit" "$PY" benchmarks/bench.py --backend "$backend" "${args[@]}" --output "$DIR/$backend.json" \
    >"$DIR/$backend.log" 2>&1
  rc=$?
  echo "gpu.sh: $backend: exit $rc after $(( $(date +%s) - start )) s" >&2
  [ "$rc" = 0 ] || status=1
  tail -n 40 "$DIR/$backend.log" >&2
done

"$PY" - "$DIR" "$status" "$(( $(date +%s) - start ))" <<'PYEOF'
import json, pathlib, subprocess, sys

folder, status, seconds = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
try:
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem",
                          "--format=csv"], capture_output=True, text=True, timeout=30).stdout
except Exception as exc:  # no GPU here (the CPU smoke run)
    smi = f"nvidia-smi unavailable: {exc}"
runs = {}
for backend in ("jax", "torch"):
    path = folder / f"{backend}.json"
    runs[backend] = json.loads(path.read_text()) if path.exists() else {"error": f"{path.name} was not written"}
merged = {
    "meta": {"script": "benchmarks/gpu.sh", "seconds": seconds, "all_ran": status == 0, "nvidia_smi": smi},
    "runs": runs,
    "targets": [dict(t, backend=b) for b, r in runs.items() for t in r.get("targets", [])],
}
(folder / "gpu_results.json").write_text(json.dumps(merged, indent=1))
for t in merged["targets"]:
    mark = {True: "MET ", False: "MISS", None: "n/a "}[t["met"]]
    value = "-" if t["value"] is None else f"{t['value']:.2f}"
    print(f"[{mark}] {t['backend']}: {t['target']}: {value}")
print(f"wrote {folder / 'gpu_results.json'} ({seconds} s)")
PYEOF
exit "$status"
