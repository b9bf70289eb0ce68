"""Shared test helpers: batches whose every pixel says where it came from."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import keras
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_script(path, *args, timeout=300, **env):
    """Run a script of the repository (`path` from its root) in a process of its own, on the TensorFlow backend
    unless `env` names another KERAS_BACKEND.

    Asserts that it exits 0 (showing the end of its output otherwise) and returns the finished process.
    """
    environment = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    proc = subprocess.run(
        [sys.executable, str(ROOT / path), *map(str, args)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def to_numpy(x):
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        try:
            return np.asarray(x.numpy())
        except Exception:  # torch tensors on a device, jax arrays
            pass
    return np.asarray(keras.ops.convert_to_numpy(x))


def source_images(batch, height, width, channels=3, dtype="float32", data_format="channels_last"):
    """Image i is filled with the constant i + 1 (a distinct value per sample)."""
    values = np.arange(1, batch + 1, dtype="float64")
    images = np.broadcast_to(values[:, None, None, None], (batch, height, width, channels)).astype(dtype)
    if data_format == "channels_first":
        images = np.ascontiguousarray(np.transpose(images, (0, 3, 1, 2)))
    return images


def to_channels_last(images, data_format):
    images = to_numpy(images)
    if data_format == "channels_first":
        return np.transpose(images, (0, 2, 3, 1))
    return images


def recovered_fractions(mixed, batch, data_format="channels_last"):
    """(B, B) share of each output image's pixels coming from each source.

    Also checks that the paste is identical across channels and that what was
    pasted is one axis-aligned rectangle from a single partner.
    """
    mixed = to_channels_last(mixed, data_format).astype("float64")
    b, h, w, c = mixed.shape
    assert b == batch
    # Identical across channels.
    assert np.all(mixed == mixed[..., :1]), "the box differs between channels"
    source = mixed[..., 0].round().astype(int) - 1  # (B, H, W) index of the source image
    assert source.min() >= 0 and source.max() < batch
    fractions = np.zeros((batch, batch))
    for i in range(batch):
        counts = np.bincount(source[i].ravel(), minlength=batch)
        fractions[i] = counts / (h * w)
        foreign = source[i] != i
        if foreign.any():
            assert len(np.unique(source[i][foreign])) == 1, "pasted from more than one partner"
            rows = np.flatnonzero(foreign.any(axis=1))
            cols = np.flatnonzero(foreign.any(axis=0))
            box = foreign[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            assert box.all(), "pasted region is not one rectangle"
    return fractions


def pasted_box(mixed_i, own_value):
    """(top, bottom, left, right) of the region not equal to own_value, or None."""
    foreign = np.asarray(mixed_i)[..., 0] != own_value
    if not foreign.any():
        return None
    rows = np.flatnonzero(foreign.any(axis=1))
    cols = np.flatnonzero(foreign.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def backend_dtype(dtype):
    """The dtype the backend stores `dtype` as (JAX without x64 has no 64-bit types)."""
    return keras.backend.standardize_dtype(keras.ops.convert_to_tensor(np.zeros(1, dtype)).dtype)
