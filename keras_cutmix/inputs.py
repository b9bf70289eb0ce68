"""The call forms: positional (images[, labels[, sample_weight]]) or a dict.

`unpack` turns any accepted form into a dict with the keys below and returns a
`repack` that rebuilds the caller's structure, so every entry point returns
exactly the structure it was given: the keys it was given (tensorflow-datasets'
singular "image" and "label" too) and every other entry untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras_cutmix._backend import ops

IMAGES = "images"
LABELS = "labels"
SEGMENTATION_MASKS = "segmentation_masks"
SAMPLE_WEIGHT = "sample_weight"
BOUNDING_BOXES = "bounding_boxes"  # a dict {"boxes": (B, N, 4), "labels": (B, N)}; dict inputs only
KNOWN_KEYS = (IMAGES, LABELS, SEGMENTATION_MASKS, SAMPLE_WEIGHT, BOUNDING_BOXES)
# tensorflow-datasets names the parts of an element in the singular.
ALIASES = {"image": IMAGES, "label": LABELS, "segmentation_mask": SEGMENTATION_MASKS}


def canonical_keys(element: dict) -> dict[str, str]:
    """{key in `element`: the package's name for it}, for the keys it mixes."""
    names: dict[str, str] = {}
    for key in element:
        name = key if key in KNOWN_KEYS else ALIASES.get(key) if isinstance(key, str) else None
        if name is None:
            continue
        if name in names.values():
            given = [k for k, v in names.items() if v == name] + [key]
            raise ValueError(f"A dict input names {name!r} twice, as {given}: pass one of them.")
        names[key] = name
    return names


def unpack(images: Any, labels: Any = None, sample_weight: Any = None) -> tuple[dict, Callable[[dict], Any]]:
    """Normalize a call to a dict of its parts, plus the function to undo it."""
    if isinstance(images, dict):
        if labels is not None or sample_weight is not None:
            raise ValueError(
                "Pass either a dict, or images[, labels[, sample_weight]] positionally, not both. "
                f"Received a dict with keys {sorted(images, key=str)} and extra positional arguments."
            )
        original = images
        names = {key: name for key, name in canonical_keys(original).items() if original[key] is not None}
        if IMAGES not in names.values():
            raise ValueError(
                f"A dict input needs an {IMAGES!r} key (not None), or 'image'; received keys "
                f"{sorted(original, key=str)}. Recognized keys: {list(KNOWN_KEYS)} and their singular forms "
                f"{list(ALIASES)} (others pass through untouched)."
            )
        data = {name: original[key] for key, name in names.items()}

        def repack_dict(out: dict) -> dict:
            result = dict(original)
            result.update({key: out[name] for key, name in names.items()})
            return result

        return data, repack_dict
    if isinstance(images, (tuple, list)):
        # One (images[, labels[, sample_weight]]) element, as grain's `.map(layer)` passes it.
        if labels is not None or sample_weight is not None or not 1 <= len(images) <= 3:
            raise ValueError(
                "Pass images, labels and sample_weight as separate arguments, as a dict, or as one tuple "
                f"(images[, labels[, sample_weight]]); received a {type(images).__name__} of {len(images)} "
                f"entries{' and more positional arguments' if labels is not None or sample_weight is not None else ''}."
            )
        data, repack_parts = unpack(*images)
        element_type = type(images)
        return data, lambda out: _as_sequence(repack_parts(out), element_type)
    if images is None:
        raise ValueError("`images` is None: pass a batch (B, H, W, C) or (B, C, H, W), or one image.")
    data = {IMAGES: images}
    if labels is not None:
        data[LABELS] = labels
    if sample_weight is not None:
        if labels is None:
            raise ValueError("`sample_weight` was given without `labels`.")
        data[SAMPLE_WEIGHT] = sample_weight
    count = len(data)

    def repack_positional(out: dict) -> Any:
        parts = tuple(out[key] for key in (IMAGES, LABELS, SAMPLE_WEIGHT)[:count])
        return parts[0] if count == 1 else parts

    return data, repack_positional


def _as_sequence(parts: Any, element_type: type) -> Any:
    """What `repack_positional` returned, as the tuple or list the element was."""
    return element_type(parts if isinstance(parts, tuple) else (parts,))


def split_passthrough(element: dict) -> tuple[dict, dict]:
    """(the entries that are mixed, the entries that pass through untouched)."""
    names = canonical_keys(element)
    mixed = {key: value for key, value in element.items() if key in names}
    return mixed, {key: value for key, value in element.items() if key not in names}


def spatial_dims(images: Any, data_format: str | None) -> tuple[Any, Any, Any]:
    """(batch, height, width) of a rank-4 batch; dynamic sizes as tensors."""
    height, width = spatial_size(images, data_format)
    return ops.shape(images)[0], height, width


def spatial_size(target: Any, data_format: str | None) -> tuple[Any, Any]:
    """(height, width) of images (B, H, W, C) / (B, C, H, W) or masks (B, H, W)."""
    shape = ops.shape(target)
    if len(target.shape) == 3:
        return shape[1], shape[2]
    return (shape[2], shape[3]) if data_format == "channels_first" else (shape[1], shape[2])


def tensors_of(x: Any) -> list:
    """The tensors of a value that may be a dict, tuple or list of them (label heads); [] for None."""
    if x is None:
        return []
    if isinstance(x, dict):
        return list(x.values())
    if isinstance(x, (tuple, list)):
        return list(x)
    return [x]


def map_tensors(function: Callable[[Any], Any], x: Any) -> Any:
    """`function` over a tensor, or over each tensor of a dict, tuple or list."""
    if isinstance(x, dict):
        return {key: function(value) for key, value in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(function(value) for value in x)
    return function(x)
