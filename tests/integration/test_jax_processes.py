"""A multi-process JAX run (`jax.distributed` on CPU): each process draws its own stream, reproducibly.

Two processes (this file run as a script) join one `jax.distributed` run on
127.0.0.1 and call the same seeded `CutMix` on the same batch, as each host
of a multi-host job mixes its share of the data (issue #18). Their draws
must differ (each folds `jax.process_index()` into the seed,
`keras_cutmix.streams`) and repeat run after run; labels stay pixel shares.
Runs in the JAX leg of the suite only; both processes are killed on timeout.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
B, SIDE = 8, 16
TIMEOUT_S = 120

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="jax.distributed: runs once, in the jax leg of the suite"
)


def process(coordinator: str, index: int) -> None:
    os.environ["KERAS_BACKEND"] = "jax"
    import jax

    jax.distributed.initialize(
        coordinator_address=coordinator, num_processes=2, process_id=index, initialization_timeout=60
    )
    import keras_cutmix
    from keras_cutmix import streams

    images = np.broadcast_to(np.arange(1, B + 1, dtype="float32")[:, None, None, None], (B, SIDE, SIDE, 1)).copy()
    layer = keras_cutmix.CutMix(num_classes=B, seed=3)
    draws = [np.asarray(layer(images, np.arange(B))[1]).tolist() for _ in range(2)]
    print(
        json.dumps(
            {
                "index": jax.process_index(),
                "count": jax.process_count(),
                "stream": streams.current_stream(),
                "labels": draws,
            }
        )
    )


def _run_pair() -> list[dict]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, f"127.0.0.1:{port}", str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT_S)
            assert proc.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            proc.kill()
    return sorted(results, key=lambda r: r["index"])


@pytest.fixture(scope="module")
def runs():
    return _run_pair(), _run_pair()


def test_each_process_draws_its_own_stream(runs):
    from keras_cutmix import streams

    first, _ = runs
    assert [r["index"] for r in first] == [0, 1] and all(r["count"] == 2 for r in first)
    assert [r["stream"] for r in first] == [streams.stream_of(("jax.process", i)) for i in (0, 1)]
    labels = [np.array(r["labels"]) for r in first]
    assert not np.array_equal(labels[0], labels[1])  # the processes mix differently
    assert not np.array_equal(labels[0][0], labels[0][1])  # and each call draws anew
    for soft in labels:
        np.testing.assert_allclose(soft.sum(-1), 1.0, rtol=1e-6)
        # Pixel shares of a 16×16 image: multiples of 1/256.
        np.testing.assert_allclose(soft * SIDE * SIDE, np.round(soft * SIDE * SIDE), atol=1e-3)


def test_a_multi_process_run_repeats(runs):
    first, second = runs
    assert [r["labels"] for r in first] == [r["labels"] for r in second]


if __name__ == "__main__":
    process(sys.argv[1], int(sys.argv[2]))
