"""Offline datasets for the examples: an IDX reader and Fashion-MNIST.

Fashion-MNIST (Xiao et al., 2017: 60 000 training and 10 000 test images of
28×28 grey clothes, 10 classes) ships in Debian as the package
`dataset-fashion-mnist`, which installs the four IDX files, gzipped, under
`/usr/share/datasets/fashion-mnist`:

```python
(x_train, y_train), (x_test, y_test) = paper.datasets.load_fashion_mnist()
```

returns what `keras.datasets.fashion_mnist.load_data()` returns (uint8 images
(N, 28, 28), uint8 labels (N,)), without the network.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
from typing import Any

import numpy as np

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX type codes (http://yann.lecun.com/exdb/mnist/): data is big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_DTYPES.items()}


def _open(path: str | os.PathLike, mode: str) -> Any:
    return gzip.open(path, mode) if os.fspath(path).endswith(".gz") else open(path, mode)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped when the name ends in `.gz`) into a native-endian array."""
    with _open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{os.fspath(path)!r} is not an IDX file (magic bytes {data[:4]!r}).")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{os.fspath(path)!r}: truncated IDX header ({ndim} dimensions announced).")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    count = math.prod(dims)
    if len(data) - header != count * dtype.itemsize:
        raise ValueError(
            f"{os.fspath(path)!r}: IDX header announces shape {dims} of {dtype.name} "
            f"({count * dtype.itemsize} bytes) but the file holds {len(data) - header} bytes of data."
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: Any) -> None:
    """Write an array as an IDX file (gzipped when the name ends in `.gz`)."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _IDX_CODES:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of {sorted(str(d) for d in _IDX_CODES)}.")
    if array.ndim > 255:
        raise ValueError(f"IDX stores at most 255 dimensions, got {array.ndim}.")
    header = bytes([0, 0, _IDX_CODES[native], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with _open(path, "wb") as f:
        f.write(header)
        f.write(np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes())


def _find(directory: str, stem: str) -> str:
    for name in (stem + ".gz", stem):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        f"Fashion-MNIST file {stem}(.gz) not found in {directory!r}. On Debian/Ubuntu: "
        f"`sudo apt-get install dataset-fashion-mnist` installs it under {FASHION_MNIST_DIR}; "
        "or pass `path=` to a folder holding the four IDX files."
    )


def load_fashion_mnist(
    path: str | os.PathLike = FASHION_MNIST_DIR,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Fashion-MNIST from its IDX files: `((x_train, y_train), (x_test, y_test))`.

    Images are uint8 (N, 28, 28), labels uint8 (N,) in 0..9 (names in
    `FASHION_MNIST_CLASSES`), as `keras.datasets.fashion_mnist.load_data()`
    returns them. `path` is a folder holding the four files of the Debian
    package `dataset-fashion-mnist` (gzipped or not).
    """
    directory = os.fspath(path)
    arrays = {key: read_idx(_find(directory, stem)) for key, stem in FASHION_MNIST_FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"Fashion-MNIST {split} files in {directory!r} hold images {images.shape} and labels "
                f"{labels.shape}; expected (N, H, W) and (N,)."
            )
    return (arrays["train_images"], arrays["train_labels"]), (arrays["test_images"], arrays["test_labels"])
