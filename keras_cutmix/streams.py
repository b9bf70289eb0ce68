"""Streams: which worker a layer draws for.

A layer's draw is a pure function of (seed, stream, counter). The counter
counts the layer's calls (its `SeedGenerator`'s state; in a worker process,
the worker's own calls, counted on the host); the stream tells apart the
copies of one layer that run at once, each drawing its own boxes:

- a torch `DataLoader` worker: `torch.utils.data.get_worker_info().seed`
  (torch's base seed + the worker id; the base seed is drawn from torch's
  generator each time an iterator is made, so epochs that recreate workers
  draw anew, and `torch.manual_seed` reproduces it);
- any other worker process (grain `DataLoader` workers, `PyDataset` worker
  processes, `multiprocessing` pools): the process' identity in the program's
  tree of `multiprocessing` processes, distinct for every process started,
  also when a pipeline recreates its workers each epoch (the same run after
  run only if the program starts its processes in the same order: grain
  starts its workers from threads);
- the process of a multi-process run: the `tf.distribute` task of
  `TF_CONFIG`, or `jax.process_index()` under `jax.distributed`;
- with `seed=None`, a process other than the one that made the layer (a
  fork, say) adds fresh entropy of its own.

Threads (`PyDataset(workers=2, use_multiprocessing=False)`) share one layer:
they draw from its one counter, advanced under `COUNTER_LOCK`, so no two calls
get the same counter. The main process of a single-process run has no stream:
its draws are the seed stream's, (seed, 0), (seed, 1), ...

The words are hashed to 64 bits on the host (BLAKE2b) and folded into the
call's seed with `rng.fold_in` (Threefry, as `jax.random.fold_in`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import multiprocessing
import os
import secrets
import sys
import threading
from typing import Any

import keras

# Serializes a layer's counter across threads (`SeedGenerator.next()`, or `_next_host_seed` on the host path: a read, then an assign).
COUNTER_LOCK = threading.Lock()
_process_entropy: dict[int, int] = {}
_jax_process: dict[int, int | None] = {}


def _torch_worker_seed() -> int | None:
    data = sys.modules.get("torch.utils.data")  # only if torch's data loading is in use
    info = data.get_worker_info() if data is not None else None
    return None if info is None else int(info.seed)


def _process_identity() -> tuple[int, ...]:
    """This process' place in the tree of `multiprocessing` processes; () in the main process."""
    if multiprocessing.parent_process() is None:
        return ()
    # `_identity` is (k,) for the k-th process the parent started (grandchildren extend it):
    # what multiprocessing itself names processes by ("SpawnProcess-k").
    return tuple(int(k) for k in getattr(multiprocessing.current_process(), "_identity", ()))


@functools.lru_cache(maxsize=4)
def _tf_distribute_task(tf_config: str) -> tuple[str, int] | None:
    try:
        task = json.loads(tf_config).get("task")
        return (str(task.get("type", "")), int(task.get("index", 0))) if task else None
    except (ValueError, TypeError, AttributeError):
        return None


def _jax_process_index() -> int | None:
    """`jax.process_index()` in a multi-process JAX run (asked in the main process only: JAX may hang in forks)."""
    pid = os.getpid()
    if pid not in _jax_process:
        jax = sys.modules.get("jax")
        index = None
        if jax is not None and keras.backend.backend() == "jax" and multiprocessing.parent_process() is None:
            index = int(jax.process_index()) if jax.process_count() > 1 else None
        _jax_process[pid] = index
    return _jax_process[pid]


def in_worker() -> bool:
    """True in a torch `DataLoader` worker or any `multiprocessing` child process (grain, `PyDataset`)."""
    return _torch_worker_seed() is not None or multiprocessing.parent_process() is not None


def worker_device() -> contextlib.AbstractContextManager:
    """The CPU in a worker, else no change: workers feed the accelerator, they do not use it.

    CPU tensors out even where CUDA exists: a forked torch worker cannot
    initialize CUDA, and host pipelines batch and pass on NumPy-convertible
    data (keras-team/keras#23506).
    """
    return keras.device("cpu") if in_worker() else contextlib.nullcontext()


def worker_words(seeded: bool = True, owner_pid: int | None = None) -> tuple[Any, ...]:
    """What tells this worker apart, as a tuple of tagged words; () in a single-process run's main process.

    `seeded`: whether the layer has a fixed seed. `owner_pid`: the process that
    made the layer; an unseeded layer running in another process adds entropy.
    """
    words: list[Any] = []
    tf_config = os.environ.get("TF_CONFIG")
    task = _tf_distribute_task(tf_config) if tf_config else None
    if task is not None:
        words += ["tf.distribute", *task]
    jax_index = _jax_process_index() if "jax" in sys.modules else None
    if jax_index is not None:
        words += ["jax.process", jax_index]
    torch_seed = _torch_worker_seed()
    if torch_seed is not None:
        words += ["torch.worker", torch_seed]
    else:
        identity = _process_identity()
        if identity:
            words += ["process", *identity]
    pid = os.getpid()
    if not seeded and owner_pid is not None and pid != owner_pid:
        words += ["entropy", _process_entropy.setdefault(pid, secrets.randbits(64))]
    return tuple(words)


def stream_of(words: tuple[Any, ...]) -> int | None:
    """The 64-bit stream of `worker_words`, or None for the main process' own stream."""
    if not words:
        return None
    digest = hashlib.blake2b(repr(words).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def current_stream(seeded: bool = True, owner_pid: int | None = None) -> int | None:
    """This worker's stream (see the module's docstring); None in a single-process run's main process."""
    return stream_of(worker_words(seeded, owner_pid))
