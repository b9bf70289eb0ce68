"""Import and call the installed wheel from outside the source tree (make wheel-check)."""

import pathlib
import sys

import numpy as np

import keras_cutmix

source_tree = pathlib.Path(__file__).resolve().parents[1]
where = pathlib.Path(keras_cutmix.__file__).resolve()
assert where.parent != source_tree / "keras_cutmix" and "site-packages" in where.parts, (
    f"keras_cutmix came from {where}, not from the installed wheel"
)
assert (where.parent / "py.typed").is_file(), "the wheel lacks py.typed"
images, labels = np.zeros((4, 8, 8, 3), "uint8"), np.arange(4)
mixed, mixed_labels = keras_cutmix.CutMix(num_classes=4, seed=0)(images, labels)
assert tuple(mixed_labels.shape) == (4, 4)
print(f"wheel check: keras_cutmix {keras_cutmix.__version__} from {where.parent} works", file=sys.stderr)
