"""Shared by the examples' tests: fake Fashion-MNIST IDX files (offline, tiny)."""

import os
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from paper import datasets  # noqa: E402


def write_fake_fashion_mnist(directory, n_train=12, n_test=5):
    """Random images with labels 0, 1, ..., 9, 0, ... written as the four gzipped IDX files; the arrays."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype="uint8"),
        "train_labels": (np.arange(n_train) % 10).astype("uint8"),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype="uint8"),
        "test_labels": (np.arange(n_test) % 10).astype("uint8"),
    }
    for key, stem in datasets.FASHION_MNIST_FILES.items():
        datasets.write_idx(os.path.join(directory, stem + ".gz"), arrays[key])
    return arrays


@pytest.fixture
def fake_fashion_mnist():
    """`write(directory, n_train=12, n_test=5)`: see write_fake_fashion_mnist."""
    return write_fake_fashion_mnist
