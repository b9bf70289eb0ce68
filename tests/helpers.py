"""Shared test helpers: batches whose every pixel says where it came from."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import keras
import numpy as np

import keras_cutmix

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


# examples/fit_compare.py on a toy budget: a CNN of width 4, one epoch of 16 images.
FIT_COMPARE_TINY = dict(
    model="cnn", width=4, epochs=1, batch_size=16, train_size=0, val_size=16, fgsm_size=16, cam_size=8, verbose=0
)


def fit_compare_flags(**options):
    """examples/fit_compare.py's flags for FIT_COMPARE_TINY with `options` over it: `fgsm_size=8` gives
    `--fgsm-size 8`, `no_jit=True` the bare `--no-jit`."""
    flags = []
    for name, value in {**FIT_COMPARE_TINY, **options}.items():
        flags += [f"--{name.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return flags


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


def pixel_shares(mixed, batch, data_format="channels_last"):
    """(B, B) share of each output image's pixels that holds the value j + 1 of source image j.

    The oracle of `source_images`: image i is the constant i + 1, so where a
    method pastes whole pixels the label weights must equal these shares. No
    check of the pasted region's shape (FMix pastes any mask).
    """
    source = to_channels_last(mixed, data_format)[..., 0].astype("float64").round().astype(int) - 1
    assert source.min() >= 0 and source.max() < batch, "a pixel from no source"
    return np.stack([np.bincount(image.ravel(), minlength=batch) / image.size for image in source])


def recovered_fractions(mixed, batch, data_format="channels_last"):
    """`pixel_shares`, after checking that what was pasted into each image is one
    axis-aligned rectangle from a single partner, the same in every channel."""
    mixed = to_channels_last(mixed, data_format).astype("float64")
    assert mixed.shape[0] == batch
    # Identical across channels.
    assert np.all(mixed == mixed[..., :1]), "the box differs between channels"
    fractions = pixel_shares(mixed, batch)
    source = mixed[..., 0].round().astype(int) - 1  # (B, H, W) index of the source image
    for i in range(batch):
        foreign = source[i] != i
        if foreign.any():
            assert len(np.unique(source[i][foreign])) == 1, "pasted from more than one partner"
            rows = np.flatnonzero(foreign.any(axis=1))
            cols = np.flatnonzero(foreign.any(axis=0))
            box = foreign[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            assert box.all(), "pasted region is not one rectangle"
    return fractions


def assert_labels_are_pixel_shares(
    mixed, labels, batch, data_format="channels_last", rectangle=True, atol=1e-6, samples=None
):
    """Labels (class i for source image i) equal the pixel shares of `mixed`; classes past
    the batch get 0. With `rectangle`, the paste is also checked as in `recovered_fractions`.
    `samples` (indices or a boolean mask): check only those (the others blended, say).

    Returns the (B, B) shares (the rows of `samples` only when given).
    """
    labels = to_numpy(labels).astype("float64")
    if samples is not None:  # the others are replaced by their own, untouched image
        mixed = to_channels_last(mixed, data_format).copy()
        others = np.setdiff1d(np.arange(batch), np.arange(batch)[samples])
        mixed[others] = source_images(batch, *mixed.shape[1:], dtype=mixed.dtype)[others]
        labels[others] = np.eye(labels.shape[1])[others]
        data_format = "channels_last"
    shares = (recovered_fractions if rectangle else pixel_shares)(mixed, batch, data_format)
    np.testing.assert_allclose(labels[:, :batch], shares, rtol=0, atol=atol)
    np.testing.assert_array_equal(labels[:, batch:], 0)
    return shares if samples is None else shares[samples]


def label_mode_targets(shares, label_mode):
    """(B, B) the labels CutMix's `label_mode` gives for the pixel shares `shares` (class i for image i):
    "area" the shares, "one_hot" the class of the larger part, "complete" 0.5 / 0.5 whenever pixels were pasted.
    """
    batch = len(shares)
    pasted = 1.0 - np.diag(shares)
    partner = np.where(pasted > 0, np.where(np.eye(batch, dtype=bool), -1.0, shares).argmax(axis=1), np.arange(batch))
    own, other = np.eye(batch), np.eye(batch)[partner]
    if label_mode == "area":
        return shares
    if label_mode == "one_hot":
        return np.where((pasted > 0.5)[:, None], other, own)
    assert label_mode == "complete", label_mode
    return np.where((pasted > 0)[:, None], 0.5 * own + 0.5 * other, own)


def label_blends(labels, batch):
    """(B,) the pixel value of each output image blended with its label weights: Σ_j y_ij · (j + 1)."""
    return to_numpy(labels).astype("float64")[:, :batch] @ np.arange(1, batch + 1)


def pasted_box(mixed_i, own_value):
    """(top, bottom, left, right) of the region not equal to own_value, or None."""
    foreign = np.asarray(mixed_i)[..., 0] != own_value
    if not foreign.any():
        return None
    rows = np.flatnonzero(foreign.any(axis=1))
    cols = np.flatnonzero(foreign.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def layer_of(options_class):
    """A method's layer (`keras_cutmix.CutMix` for `methods.CutMixOptions`)."""
    return getattr(keras_cutmix, options_class.name())


def function_of(options_class):
    """A method's functional form (`keras_cutmix.cutmix_or_mixup` for `methods.CutMixOrMixUpOptions`)."""
    return getattr(keras_cutmix, options_class.name().replace("Or", "_or_").lower())


def draw(options_class, seed, batch, height, width, **options):
    """One draw (`MixParams`) of a method (a class of `keras_cutmix.methods.ALL`) with these options."""
    method = options_class(**options)
    return method.sample(seed, batch, height, width, method.probability)


def backend_dtype(dtype):
    """The dtype the backend stores `dtype` as (JAX without x64 has no 64-bit types)."""
    return keras.backend.standardize_dtype(keras.ops.convert_to_tensor(np.zeros(1, dtype)).dtype)
