"""The checks of arguments: options, seeds, keyword names.

They run when a layer, function, model or callback is made, with messages
that name the argument and the bad value. The other checks live with what
they check: the static shapes of a call's tensors in `inputs`
(`check_inputs`), label values in `labels` (`check_class_ids`,
`check_finite`), and when values can be read or asserted on in `_backend`
(`values_known`, `graph_asserts`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import keras
import numpy as np

MODES = ("batch", "sample")
DATA_FORMATS = ("channels_last", "channels_first")
BOUNDING_BOX_FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)


def check_number(name: str, value: Any, low: float, high: float | None = None, low_open: bool = False) -> float:
    """`value` as a float, if it is a number in [low, high] (or (low, high])."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    ok = ok and value == value  # not NaN
    if ok:
        ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        opening = "(" if low_open else "["
        bounds = f"{opening}{low}, ∞)" if high is None else f"{opening}{low}, {high}]"
        raise ValueError(f"Argument `{name}` must be a number in {bounds}. Received: {name}={value!r}")
    return float(value)


def check_alpha(name: str, value: Any) -> float:
    """A Beta(α, α) parameter: a number > 0."""
    return check_number(name, value, low=0.0, low_open=True)


def check_choice(name: str, value: Any, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"Argument `{name}` must be one of {choices}. Received: {name}={value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Argument `{name}` must be a bool. Received: {name}={value!r}")
    return bool(value)


def check_box_sides(name: str, value: Any) -> tuple:
    """A (h, w) box size: ints are pixels (>= 1), floats fractions in (0, 1]."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    ok = len(pair) == 2
    for side in pair if ok else ():
        if (
            isinstance(side, bool)
            or not isinstance(side, (int, float))
            or (isinstance(side, int) and side < 1)
            or (isinstance(side, float) and not 0.0 < side <= 1.0)
        ):
            ok = False
    if not ok:
        raise ValueError(
            f"Argument `{name}` must be a side or a (height, width) pair: ints are pixels (>= 1), "
            f"floats are fractions of the image side in (0, 1]. Received: {name}={value!r}"
        )
    return pair


def check_ratio_range(name: str, value: Any) -> tuple[float, float] | None:
    """None, or (lo, hi) with 0 < lo <= hi <= 1: box sides as fractions of the image's."""
    if value is None:
        return None
    pair = tuple(value) if isinstance(value, (tuple, list)) else ()
    ok = len(pair) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
    if not ok or not 0.0 < pair[0] <= pair[1] <= 1.0:
        raise ValueError(
            f"Argument `{name}` must be a pair (lo, hi) with 0 < lo <= hi <= 1: fractions of each image side. "
            f"Received: {name}={value!r}"
        )
    return float(pair[0]), float(pair[1])


def check_num_classes(value: Any, name: str = "num_classes") -> Any:
    """None, a positive int (NumPy ints too), or one per label head (a dict, tuple or list of them)."""
    if isinstance(value, dict):
        return {key: check_num_classes(v, f"num_classes[{key!r}]") for key, v in value.items()}
    if isinstance(value, (tuple, list)) and name == "num_classes":
        return [check_num_classes(v, f"num_classes[{i}]") for i, v in enumerate(value)]
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"Argument `{name}` must be a positive int or None (or, for label heads, a dict or list of them). "
            f"Received: {name}={value!r}"
        )
    return int(value)


def check_data_format(value: Any) -> str:
    """The data format, `keras.config.image_data_format()` for None."""
    data_format = value if value is not None else keras.config.image_data_format()
    return str(check_choice("data_format", data_format, DATA_FORMATS))


def check_seed(seed: Any) -> int | None:
    """A layer's or model's seed: an int or None."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
    return None if seed is None else int(seed)


def check_bounding_box_format(value: Any) -> str:
    return str(check_choice("bounding_box_format", value, BOUNDING_BOX_FORMATS))


def check_options(
    owner: str, kwargs: Mapping[str, Any], option_names: Iterable[str], passed_on: Iterable[str] = ()
) -> None:
    """Raise for keyword arguments that are neither options nor `passed_on`.

    Arguments users bring from other libraries get the name of ours; other
    unknown names get the closest option names.
    """
    option_names, passed_on = list(option_names), set(passed_on)
    unknown = [key for key in kwargs if key not in option_names and key not in passed_on]
    if not unknown:
        return
    hints = []
    for key in unknown:
        ours = MIGRATED_ARGUMENTS.get(key)
        if ours is not None:
            hints.append(f"`{key}`: did you mean {ours}?")
            continue
        close = difflib.get_close_matches(key, option_names, n=2)
        hints.append(f"`{key}`: did you mean " + " or ".join(f"`{c}`" for c in close) + "?" if close else f"`{key}`")
    raise TypeError(
        f"{owner} got unexpected keyword arguments: {'; '.join(hints)} Its options are: {', '.join(option_names)}."
    )


# Names users bring from keras.layers.CutMix/MixUp, KerasCV, timm, torchvision
# and the TF Model Garden, and what ours are (docs/migration.md).
MIGRATED_ARGUMENTS = {
    "factor": "`alpha` (Keras' `factor` is not α: see docs/migration.md)",
    "prob": "`probability`",
    "mix_prob": "`probability`",
    "p": "`probability`",
    "rate": "`probability`",
    "switch_prob": "`switch_probability`",
    "cutmix_minmax": "`box_ratio_range`",
    "correct_lam": "`correct_lambda`",
    "lam": "`alpha` (λ is drawn from Beta(α, α))",
    "beta": "`alpha`",
    "smoothing": "`label_smoothing`",
    "classes": "`num_classes`",
    "fill_mode": "`fill_mode` (Cutout only)",
}
