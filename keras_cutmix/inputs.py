"""The call forms: positional (images[, labels[, sample_weight]]) or a dict.

`unpack` turns any accepted form into a dict with the keys below and returns a
`repack` that rebuilds the caller's structure, so every entry point returns
exactly the structure it was given.
"""

from __future__ import annotations

from typing import Any, Callable

IMAGES = "images"
LABELS = "labels"
SEGMENTATION_MASKS = "segmentation_masks"
SAMPLE_WEIGHT = "sample_weight"
BOUNDING_BOXES = "bounding_boxes"  # a dict {"boxes": (B, N, 4), "labels": (B, N)}; dict inputs only
KNOWN_KEYS = (IMAGES, LABELS, SEGMENTATION_MASKS, SAMPLE_WEIGHT, BOUNDING_BOXES)


def unpack(images: Any, labels: Any = None, sample_weight: Any = None) -> tuple[dict, Callable[[dict], Any]]:
    """Normalize a call to a dict of its parts, plus the function to undo it."""
    if isinstance(images, dict):
        if labels is not None or sample_weight is not None:
            raise ValueError(
                "Pass either a dict, or images[, labels[, sample_weight]] positionally, not both. "
                f"Received a dict with keys {sorted(images)} and extra positional arguments."
            )
        if images.get(IMAGES) is None:
            raise ValueError(
                f"A dict input needs an {IMAGES!r} key (not None); received keys {sorted(images)}. "
                f"Recognized keys: {list(KNOWN_KEYS)} (others pass through untouched)."
            )
        original = images
        data = {key: original[key] for key in KNOWN_KEYS if key in original and original[key] is not None}

        def repack_dict(out: dict) -> dict:
            result = dict(original)
            result.update({key: out[key] for key in data})
            return result

        return data, repack_dict
    if isinstance(images, (tuple, list)):
        raise ValueError(
            "Pass images, labels and sample_weight as separate arguments or as a dict, "
            f"not as one {type(images).__name__}. (A tf.data tuple element is passed "
            "positionally by Dataset.map: use `ds.map(layer)`.)"
        )
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
