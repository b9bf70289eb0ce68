"""Bounding boxes through CutMix: clip, drop and add boxes around the paste.

Boxes come in Keras' bounding-box dict, `{"boxes": (B, N, 4), "labels": (B, N)}`,
padded with label −1, in any of the formats `keras.utils.bounding_boxes` names
(`validation.BOUNDING_BOX_FORMATS`). The geometry is done in absolute "xyxy" pixels,
`[left, top, right, bottom]` in continuous image coordinates, where pixel row
`r` spans `[r, r + 1)`: the pasted pixels `[top, bottom) × [left, right)` are
the rectangle x ∈ [left, right], y ∈ [top, bottom]. Everything is broadcast over
(B, N) boxes against the (n,) paste boxes, with no loop over boxes or samples,
on every backend and under XLA.
"""

from __future__ import annotations

from typing import Any

from keras_cutmix import inputs, validation
from keras_cutmix._backend import dtype_name, ops, ops_for


def to_xyxy(boxes: Any, bounding_box_format: str, height: Any, width: Any) -> tuple[Any, Any, Any, Any]:
    """(x1, y1, x2, y2) in absolute pixels, each (..., ), from (..., 4) boxes."""
    a, b, c, d = (boxes[..., i] for i in range(4))
    base = bounding_box_format.removeprefix("rel_")
    if base == "xyxy":
        x1, y1, x2, y2 = a, b, c, d
    elif base == "yxyx":
        x1, y1, x2, y2 = b, a, d, c
    elif base == "xywh":
        x1, y1, x2, y2 = a, b, a + c, b + d
    elif base == "center_xywh":
        x1, y1, x2, y2 = a - c / 2, b - d / 2, a + c / 2, b + d / 2
    else:  # center_yxhw: [cy, cx, h, w]
        x1, y1, x2, y2 = b - d / 2, a - c / 2, b + d / 2, a + c / 2
    if bounding_box_format.startswith("rel_"):
        w, h = ops.cast(width, x1.dtype), ops.cast(height, x1.dtype)
        x1, y1, x2, y2 = x1 * w, y1 * h, x2 * w, y2 * h
    return x1, y1, x2, y2


def from_xyxy(x1: Any, y1: Any, x2: Any, y2: Any, bounding_box_format: str, height: Any, width: Any) -> Any:
    """(..., 4) boxes in `bounding_box_format` from absolute x1, y1, x2, y2."""
    if bounding_box_format.startswith("rel_"):
        w, h = ops.cast(width, x1.dtype), ops.cast(height, x1.dtype)
        x1, y1, x2, y2 = x1 / w, y1 / h, x2 / w, y2 / h
    base = bounding_box_format.removeprefix("rel_")
    if base == "xyxy":
        parts = (x1, y1, x2, y2)
    elif base == "yxyx":
        parts = (y1, x1, y2, x2)
    elif base == "xywh":
        parts = (x1, y1, x2 - x1, y2 - y1)
    elif base == "center_xywh":
        parts = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    else:  # center_yxhw
        parts = ((y1 + y2) / 2, (x1 + x2) / 2, y2 - y1, x2 - x1)
    return ops.stack(parts, axis=-1)


def overlap(a1: Any, a2: Any, b1: Any, b2: Any) -> Any:
    """Length of [a1, a2] ∩ [b1, b2], 0 if they are disjoint."""
    return ops.maximum(ops.minimum(a2, b2) - ops.maximum(a1, b1), 0)


def area(x1: Any, y1: Any, x2: Any, y2: Any) -> Any:
    return ops.maximum(x2 - x1, 0) * ops.maximum(y2 - y1, 0)


def share(part: Any, whole: Any) -> Any:
    """part / whole, 0 where whole is 0."""
    return part / ops.where(whole > 0, whole, ops.ones_like(whole))


def cut_base_boxes(x1, y1, x2, y2, top, bottom, left, right):
    """A sample's own boxes after the paste: new corners and visible area.

    Visible area = area(box) − area(box ∩ pasted). Where the paste spans the
    box's full height (or width), what stays visible is a rectangle, and the
    box shrinks to it; otherwise (a corner bite, a hole in the middle, a band
    through the middle) the visible region's bounding box is the box itself,
    which is kept unchanged.
    """
    visible = area(x1, y1, x2, y2) - overlap(x1, x2, left, right) * overlap(y1, y2, top, bottom)
    spans_height = ops.logical_and(top <= y1, bottom >= y2)
    spans_width = ops.logical_and(left <= x1, right >= x2)
    new_x1 = ops.where(ops.logical_and(spans_height, left <= x1), ops.maximum(x1, right), x1)
    new_x2 = ops.where(ops.logical_and(spans_height, right >= x2), ops.minimum(x2, left), x2)
    new_y1 = ops.where(ops.logical_and(spans_width, top <= y1), ops.maximum(y1, bottom), y1)
    new_y2 = ops.where(ops.logical_and(spans_width, bottom >= y2), ops.minimum(y2, top), y2)
    return (new_x1, new_y1, new_x2, new_y2), visible


def clip_partner_boxes(x1, y1, x2, y2, top, bottom, left, right):
    """The partner's boxes clipped to the pasted rectangle."""
    return ops.maximum(x1, left), ops.maximum(y1, top), ops.minimum(x2, right), ops.minimum(y2, bottom)


Corners = tuple[Any, Any, Any, Any]  # x1, y1, x2, y2


def _restore_unchanged(raw: Any, old: Corners, new: Corners, bounding_box_format: str, height: Any, width: Any) -> Any:
    """`new` in the box format, but the untouched input bits where nothing moved."""
    moved = ops.any(ops.stack([ops.not_equal(a, b) for a, b in zip(old, new)], axis=-1), axis=-1)
    converted = ops.cast(from_xyxy(*new, bounding_box_format, height, width), raw.dtype)
    return ops.where(moved[..., None], converted, raw)


def compact(boxes: Any, labels: Any, valid: Any) -> tuple[Any, Any]:
    """Valid boxes first, in their order; the rest padded with −1 (box and label)."""
    count = ops.shape(valid)[1]
    # Unique keys, so that even an unstable argsort keeps the input order.
    key = ops.where(valid, 0, ops.cast(count, "int32")) + ops.arange(count, dtype="int32")[None, :]
    order = ops.cast(ops.argsort(key, axis=1), "int32")
    valid = ops.take_along_axis(valid, order, axis=1)
    boxes = ops.take_along_axis(boxes, order[:, :, None], axis=1)
    labels = ops.take_along_axis(labels, order, axis=1)
    boxes = ops.where(valid[:, :, None], boxes, ops.cast(-1, boxes.dtype))
    labels = ops.where(valid, labels, ops.cast(-1, labels.dtype))
    return boxes, labels


def mix_bounding_boxes(
    bounding_boxes: dict,
    partner: Any,
    top: Any,
    bottom: Any,
    left: Any,
    right: Any,
    height: Any,
    width: Any,
    *,
    bounding_box_format: str,
    min_visibility: float,
) -> dict:
    """Bounding boxes after CutMix pasted `[top, bottom) × [left, right)` of
    image `partner[i]` into each image `i`.

    Conventions: "xyxy" is `[left, top, right, bottom]` in pixels ("yxyx" is
    `[top, left, bottom, right]`, "xywh" `[left, top, width, height]`,
    "center_xywh" `[centre x, centre y, width, height]`, "center_yxhw" its
    transpose; the "rel_" formats are the same as fractions of width and
    height). The pasted pixel range `[top, bottom) × [left, right)` covers the
    continuous rectangle x ∈ [left, right], y ∈ [top, bottom]. Boxes are not
    clipped to the image.

    For each output image `i`, with area(·) taken in pixels:
    - its own box (base box) stays visible on a share
      1 − area(box ∩ pasted) / area(box); it is kept if that share is
      ≥ `min_visibility` and the visible area is > 0 (fully covered boxes are
      always dropped). If the pasted rectangle spans the box's full height
      (or width), the visible part is a rectangle and the box is shrunk to it;
      otherwise (corner bite, hole, band through the middle) the visible
      region's bounding box is the box itself, kept unchanged.
    - each box of image `partner[i]` is clipped to the pasted rectangle and
      added if area(clipped) > 0 and area(clipped) / area(box) ≥
      `min_visibility`.
    - where the paste is empty (`bottom == top` or `right == left`) or
      `partner[i] == i` (no pixel changes), the boxes are kept and no partner
      box is added.
    Padded boxes (label < 0) and zero-area boxes never come back valid. Boxes
    whose coordinates did not change come back bit for bit.

    Args:
        bounding_boxes: dict with "boxes" (B, N, 4) float and "labels" (B, N)
            int, padded with label −1. Other keys pass through untouched.
        partner: (B,) int, the image each image's pasted pixels come from.
        top, bottom, left, right: (n,) int, the pasted pixel box per sample
            (n = B) or for the whole batch (n = 1).
        height, width: the image size (ints or scalar tensors), for the
            "rel_" formats.
        bounding_box_format: one of `validation.BOUNDING_BOX_FORMATS`.
        min_visibility: in [0, 1], the share of a box's area that must remain
            visible (base boxes) or lie inside the paste (partner boxes).

    Returns:
        A copy of `bounding_boxes` with "boxes" (B, 2N, 4) and "labels" (B, 2N)
        in the input's format and dtypes: the surviving base boxes, then the
        added partner boxes, in their input order, then −1 padding.
    """
    validation.check_bounding_box_format(bounding_box_format)
    validation.check_number("min_visibility", min_visibility, low=0.0, high=1.0)
    inputs.check_bounding_boxes(bounding_boxes)
    args = (bounding_boxes, partner, (top, bottom, left, right), height, width, bounding_box_format, min_visibility)
    with ops_for(partner, bounding_boxes["boxes"]):  # TF ops in a tf.data / tf.function graph under JAX or torch
        return _mix(*args)


def _mix(bounding_boxes, partner, paste_box, height, width, bounding_box_format, min_visibility):
    raw = ops.convert_to_tensor(bounding_boxes["boxes"])
    labels = ops.convert_to_tensor(bounding_boxes["labels"])
    partner = ops.cast(partner, "int32")
    dtype = "float64" if dtype_name(raw.dtype) == "float64" else "float32"
    xyxy = to_xyxy(ops.cast(raw, dtype), bounding_box_format, height, width)
    valid = ops.logical_and(ops.logical_and(labels >= 0, xyxy[2] > xyxy[0]), xyxy[3] > xyxy[1])

    # The paste as (n, 1) bounds against (B, N) boxes; `active` is (B, 1).
    top, bottom, left, right = (ops.cast(v, dtype)[:, None] for v in paste_box)
    not_self = ops.not_equal(partner, ops.arange(ops.shape(partner)[0], dtype="int32"))[:, None]
    active = ops.logical_and(ops.logical_and(bottom > top, right > left), not_self)
    # An inactive paste becomes empty: it covers nothing and clips every partner box away.
    paste = (top, ops.where(active, bottom, top), left, ops.where(active, right, left))
    paste = tuple(ops.cast(v, dtype) for v in paste)  # where() may promote under Keras' TF ops

    cut, visible = cut_base_boxes(*xyxy, *paste)
    keep = ops.logical_and(valid, visible > 0)
    keep = ops.logical_and(keep, share(visible, area(*xyxy)) >= min_visibility)
    base_boxes = _restore_unchanged(raw, xyxy, cut, bounding_box_format, height, width)

    p_raw = ops.take(raw, partner, axis=0)
    p_xyxy: Corners = tuple(ops.take(v, partner, axis=0) for v in xyxy)
    p_valid = ops.take(valid, partner, axis=0)
    clipped = clip_partner_boxes(*p_xyxy, *paste)
    inside = area(*clipped)
    p_keep = ops.logical_and(ops.logical_and(p_valid, active), inside > 0)
    p_keep = ops.logical_and(p_keep, share(inside, area(*p_xyxy)) >= min_visibility)
    partner_boxes = _restore_unchanged(p_raw, p_xyxy, clipped, bounding_box_format, height, width)

    boxes, labels = compact(
        ops.concatenate([base_boxes, partner_boxes], axis=1),
        ops.concatenate([labels, ops.take(labels, partner, axis=0)], axis=1),
        ops.concatenate([keep, p_keep], axis=1),
    )
    out = dict(bounding_boxes)
    out["boxes"], out["labels"] = boxes, labels
    return out


def union_bounding_boxes(bounding_boxes: dict, partner: Any, mixed: Any) -> dict:
    """MixUp's boxes: each image keeps its own boxes and gains its partner's where the two were blended.

    As detection MixUp does (YOLOX), both images' objects are in the blend, so
    no box is cut or dropped. Output "boxes" (B, 2N, 4) and "labels" (B, 2N):
    the image's own valid boxes first, then the partner's, in their input
    order, then −1 padding; boxes and labels keep their values and dtypes.
    A box is valid when its label is >= 0 (Keras pads with label −1, boxes 0
    or −1). `mixed` is (n,) bool: per sample (n = B) or for the batch (n = 1).
    """
    inputs.check_bounding_boxes(bounding_boxes)
    with ops_for(partner, bounding_boxes["boxes"]):  # TF ops in a tf.data / tf.function graph under JAX or torch
        return _union(bounding_boxes, partner, mixed)


def _union(bounding_boxes: dict, partner: Any, mixed: Any) -> dict:
    raw = ops.convert_to_tensor(bounding_boxes["boxes"])
    labels = ops.convert_to_tensor(bounding_boxes["labels"])
    partner = ops.cast(partner, "int32")
    valid = labels >= 0
    not_self = ops.not_equal(partner, ops.arange(ops.shape(partner)[0], dtype="int32"))
    added = ops.logical_and(
        ops.logical_and(ops.reshape(mixed, (-1, 1)), not_self[:, None]), ops.take(valid, partner, axis=0)
    )
    boxes, labels = compact(
        ops.concatenate([raw, ops.take(raw, partner, axis=0)], axis=1),
        ops.concatenate([labels, ops.take(labels, partner, axis=0)], axis=1),
        ops.concatenate([valid, added], axis=1),
    )
    out = dict(bounding_boxes)
    out["boxes"], out["labels"] = boxes, labels
    return out
