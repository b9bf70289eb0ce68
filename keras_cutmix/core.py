"""Validated options for each method, and the one function that applies them.

`apply_mix` is the single implementation behind every layer and function of
the package: sampling (a `MixParams` from the method's options) → box mask →
mixing of each target (images, segmentation masks, labels).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import keras
import numpy as np

from keras_cutmix import boxes, inputs, sampling
from keras_cutmix._checks import assert_same_batch
from keras_cutmix._backend import needs_tensorflow_ops, ops, tensorflow_ops
from keras_cutmix.mixing import blend, box_mask, mask_for, mix_labels, paste, paste_from, prepare_labels

MODES = ("batch", "sample")
DATA_FORMATS = ("channels_last", "channels_first")


def _check_number(name: str, value: Any, low: float, high: float | None = None, low_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    if ok:
        ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        bounds = f"({low}, ∞)" if high is None else f"[{low}, {high}]"
        raise ValueError(f"Argument `{name}` must be a number in {bounds}. Received: {name}={value!r}")


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"Argument `{name}` must be one of {choices}. Received: {name}={value!r}")


def _box_sides(name: str, value: Any) -> tuple:
    """A (h, w) box size: ints are pixels (>= 1), floats fractions in (0, 1]."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    ok = len(pair) == 2
    for side in pair if ok else ():
        if isinstance(side, bool) or not isinstance(side, (int, float)):
            ok = False
        elif isinstance(side, int) and side < 1:
            ok = False
        elif isinstance(side, float) and not 0.0 < side <= 1.0:
            ok = False
    if not ok:
        raise ValueError(
            f"Argument `{name}` must be a side or a (height, width) pair: ints are pixels (>= 1), "
            f"floats are fractions of the image side in (0, 1]. Received: {name}={value!r}"
        )
    return pair


@dataclasses.dataclass(frozen=True)
class MixOptions:
    """Options shared by every method; see the layers for their meaning."""

    probability: float = 1.0
    mode: str = "batch"
    num_classes: int | None = None
    label_smoothing: float = 0.0
    data_format: str | None = None

    # What the method does to each target (class-level facts, not options).
    pastes_partner: ClassVar[bool] = False  # boxes of the partner's pixels
    blends_partner: ClassVar[bool] = False  # every pixel blended with the partner
    erases: ClassVar[bool] = False  # boxes filled with a constant
    mixes_labels: ClassVar[bool] = True
    supports_boxes: ClassVar[bool] = False  # bounding boxes follow the paste (CutMix)

    def __post_init__(self) -> None:
        _check_number("probability", self.probability, low=0.0, high=1.0)
        _check_number("label_smoothing", self.label_smoothing, low=0.0, high=1.0)
        _check_choice("mode", self.mode, MODES)
        if self.num_classes is not None and (
            isinstance(self.num_classes, (bool, np.bool_))
            or not isinstance(self.num_classes, (int, np.integer))
            or self.num_classes < 1
        ):
            raise ValueError(
                f"Argument `num_classes` must be a positive int or None. Received: num_classes={self.num_classes!r}"
            )
        if self.num_classes is not None:
            self._set("num_classes", int(self.num_classes))  # NumPy ints too (e.g. from np.unique(...).size)
        data_format = self.data_format if self.data_format is not None else keras.config.image_data_format()
        _check_choice("data_format", data_format, DATA_FORMATS)
        self._set("data_format", data_format)
        self._set("probability", float(self.probability))
        self._set("label_smoothing", float(self.label_smoothing))

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def sample(self, seed: Any, batch_size: Any, height: Any, width: Any, probability: Any) -> sampling.MixParams:
        raise NotImplementedError

    def config(self) -> dict:
        """The options as constructor arguments (JSON-friendly)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: list(v) if isinstance(v, tuple) else v for name, v in values.items()}


def _check_alpha(name: str, value: Any) -> float:
    _check_number(name, value, low=0.0, low_open=True)
    return float(value)


@dataclasses.dataclass(frozen=True)
class CutMixOptions(MixOptions):
    alpha: float = 1.0
    correct_lambda: bool = True
    box_center: str = "uniform"
    center_std: float = 0.25
    box_size: Any = None
    label_mode: str = "area"
    bounding_box_format: str | None = None
    min_visibility: float = 0.25

    pastes_partner: ClassVar[bool] = True
    supports_boxes: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set("alpha", _check_alpha("alpha", self.alpha))
        if not isinstance(self.correct_lambda, bool):
            raise ValueError(
                f"Argument `correct_lambda` must be a bool. Received: correct_lambda={self.correct_lambda!r}"
            )
        _check_choice("box_center", self.box_center, sampling.BOX_CENTERS)
        _check_number("center_std", self.center_std, low=0.0, low_open=True)
        _check_choice("label_mode", self.label_mode, sampling.LABEL_MODES)
        if self.box_size is not None:
            self._set("box_size", _box_sides("box_size", self.box_size))
        if self.bounding_box_format is not None:
            boxes.check_format(self.bounding_box_format)
        _check_number("min_visibility", self.min_visibility, low=0.0, high=1.0)

    def sample(self, seed, batch_size, height, width, probability):
        return sampling.sample_cutmix(
            seed, batch_size, height, width, alpha=self.alpha, probability=probability, mode=self.mode,
            correct_lambda=self.correct_lambda, box_center=self.box_center, center_std=self.center_std,
            box_size=self.box_size, label_mode=self.label_mode,
        )


@dataclasses.dataclass(frozen=True)
class MixUpOptions(MixOptions):
    alpha: float = 1.0

    blends_partner: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set("alpha", _check_alpha("alpha", self.alpha))

    def sample(self, seed, batch_size, height, width, probability):
        return sampling.sample_mixup(seed, batch_size, alpha=self.alpha, probability=probability, mode=self.mode)


@dataclasses.dataclass(frozen=True)
class CutoutOptions(MixOptions):
    size: Any = 0.5
    fill_value: float = 0

    erases: ClassVar[bool] = True
    mixes_labels: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set("size", _box_sides("size", self.size))
        if isinstance(self.fill_value, bool) or not isinstance(self.fill_value, (int, float)):
            raise ValueError(f"Argument `fill_value` must be a number. Received: fill_value={self.fill_value!r}")

    def sample(self, seed, batch_size, height, width, probability):
        return sampling.sample_cutout(
            seed, batch_size, height, width, size=self.size, probability=probability, mode=self.mode
        )


@dataclasses.dataclass(frozen=True)
class CutMixOrMixUpOptions(MixOptions):
    cutmix_alpha: float = 1.0
    mixup_alpha: float = 0.8
    switch_probability: float = 0.5
    correct_lambda: bool = True

    pastes_partner: ClassVar[bool] = True
    blends_partner: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set("cutmix_alpha", _check_alpha("cutmix_alpha", self.cutmix_alpha))
        self._set("mixup_alpha", _check_alpha("mixup_alpha", self.mixup_alpha))
        _check_number("switch_probability", self.switch_probability, low=0.0, high=1.0)
        self._set("switch_probability", float(self.switch_probability))
        if not isinstance(self.correct_lambda, bool):
            raise ValueError(
                f"Argument `correct_lambda` must be a bool. Received: correct_lambda={self.correct_lambda!r}"
            )

    def sample(self, seed, batch_size, height, width, probability):
        cut = sampling.sample_cutmix(
            seed, batch_size, height, width, alpha=self.cutmix_alpha, probability=probability,
            mode=self.mode, correct_lambda=self.correct_lambda,
        )
        # MixUp's λ and the switch come from a second seed; the coin of
        # `probability` is CutMix's, so it is applied once.
        second = sampling.offset_seed(seed, 1)
        mix = sampling.sample_mixup(second, batch_size, alpha=self.mixup_alpha, probability=1.0, mode=self.mode)
        blend_weight = ops.where(cut.applied, mix.blend, ops.zeros_like(mix.blend))
        mix = mix._replace(applied=cut.applied, blend=blend_weight, partner_weight=blend_weight)
        _, per = sampling._draw(sampling.offset_seed(seed, 2), 1, batch_size, self.mode)
        use_cutmix = per[0] < self.switch_probability
        return sampling.switch(use_cutmix, cut, mix)


def spatial_dims(images: Any, data_format: str) -> tuple[Any, Any, Any]:
    """(batch, height, width) of a rank-4 batch; dynamic sizes as tensors."""
    shape = ops.shape(images)
    if data_format == "channels_first":
        return shape[0], shape[2], shape[3]
    return shape[0], shape[1], shape[2]


def _to_tensor(x: Any, key: str = inputs.IMAGES) -> Any:
    if isinstance(x, dict):  # bounding boxes
        return {name: _to_tensor(value, f"{key}[{name!r}]") for name, value in x.items()}
    if isinstance(x, keras.KerasTensor):
        return x
    if not hasattr(x, "dtype") or isinstance(x, np.ndarray):
        # Host data (NumPy, lists): reject strings and objects before a
        # backend does, with its own unclear message.
        array = np.asarray(x)
        if array.dtype.kind in "OSU":  # objects (None, ragged lists), bytes, str; ml_dtypes (bfloat16) are "V"
            raise ValueError(
                f"`{key}` must be a numeric array (images: any integer, float or bool dtype; labels: integer "
                f"class ids or floats); received {type(x).__name__} of dtype {array.dtype}"
                + (f" and shape {array.shape}." if array.shape else f": {x!r}.")
            )
    tensor = ops.convert_to_tensor(x)
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    if dtype == "string":
        raise ValueError(f"`{key}` must be a numeric tensor; received dtype {dtype} (shape {tuple(tensor.shape)}).")
    return tensor


def _check_layout(images: Any, data_format: str) -> None:
    """Catch images in the other data format, where that is unambiguous.

    Conservative, static shapes only, never for shapes a real image in the
    declared format could plausibly have:
    - channels_first, images (B, a, b, c) with c in (1, 3, 4) and a, b >= 8:
      read as `a` channels of b×c pixels, i.e. images at most 4 pixels wide
      with 8+ channels; they are channels_last (B, H, W, C).
    - channels_last, images (B, c, h, w) with c in (1, 3, 4) and h == w >= 8:
      read as images 1–4 pixels tall with as many channels as columns; they
      are channels_first (B, C, H, W) square images (non-square ones are
      not flagged).
    """
    shape = tuple(images.shape)
    if len(shape) != 4 or any(d is None for d in shape[1:]):
        return
    _, a, b, c = shape
    if data_format == "channels_first" and c in (1, 3, 4) and a >= 8 and b >= 8:
        raise ValueError(
            f"`images` of shape {shape} look channels_last (B, H, W, C) with C={c}, but data_format="
            f"'channels_first' reads them as {a} channels of {b}x{c} pixels. Pass data_format='channels_last' "
            "(or transpose the images to (B, C, H, W))."
        )
    if data_format == "channels_last" and a in (1, 3, 4) and b == c and b >= 8:
        raise ValueError(
            f"`images` of shape {shape} look channels_first (B, C, H, W) with C={a}, but data_format="
            f"'channels_last' reads them as {c} channels of {a}x{b} pixels. Pass data_format='channels_first' "
            "(or transpose the images to (B, H, W, C))."
        )


def _check_bounding_box_batch(data: dict, batch: Any) -> None:
    bbox = data[inputs.BOUNDING_BOXES]
    if not isinstance(bbox, dict) or "boxes" not in bbox or "labels" not in bbox:
        return  # boxes.mix_bounding_boxes names what is missing
    boxes_shape, labels_shape = tuple(bbox["boxes"].shape), tuple(bbox["labels"].shape)
    if len(boxes_shape) != 3 or len(labels_shape) != 2:
        return  # boxes.mix_bounding_boxes names the shapes it needs
    known = lambda a, b: a is not None and b is not None and a != b  # noqa: E731
    if known(boxes_shape[0], batch) or known(labels_shape[0], batch) or known(boxes_shape[1], labels_shape[1]):
        raise ValueError(
            "`bounding_boxes` need \"boxes\" of shape (B, N, 4) and \"labels\" of shape (B, N), with B the "
            f"batch size of `images` ({batch}); received boxes of shape {boxes_shape} and labels of shape "
            f"{labels_shape}."
        )


# Targets with one row per image: their batch size must be the images'.
PER_SAMPLE_KEYS = (inputs.LABELS, inputs.SEGMENTATION_MASKS, inputs.SAMPLE_WEIGHT)


def check_inputs(data: dict, options: MixOptions) -> None:
    """Static checks, at trace time, with the shapes named."""
    images = data[inputs.IMAGES]
    rank = len(images.shape)
    if rank not in (3, 4):
        raise ValueError(
            "`images` must be a batch (B, H, W, C) or one image (H, W, C) "
            f"({options.data_format}); received shape {tuple(images.shape)} (rank {rank})."
        )
    batch = images.shape[0] if rank == 4 else None
    if rank == 4:
        _check_layout(images, options.data_format)
    if inputs.BOUNDING_BOXES in data:
        if not options.supports_boxes:
            raise ValueError(
                f"`bounding_boxes` are supported by CutMix only (not by {type(options).__name__[:-7]}): "
                "remove them from the input or use keras_cutmix.CutMix."
            )
        if options.bounding_box_format is None:
            raise ValueError(
                "`bounding_boxes` need `bounding_box_format` (e.g. 'xyxy', 'rel_xyxy', 'xywh', 'center_xywh')."
            )
        if rank == 4:
            _check_bounding_box_batch(data, batch)
    for key in PER_SAMPLE_KEYS:
        if key in data and rank == 4:
            other = data[key].shape
            if len(other) == 0 or (batch is not None and other[0] is not None and other[0] != batch):
                raise ValueError(
                    f"`{key}` must have the batch size of `images`: images have shape "
                    f"{tuple(images.shape)}, {key} have shape {tuple(other)}."
                )
    if inputs.SEGMENTATION_MASKS in data:
        if options.blends_partner:
            raise ValueError(
                "MixUp blends every pixel of two images, so `segmentation_masks` cannot follow it; "
                "use CutMix (or Cutout) for segmentation."
            )
        masks = data[inputs.SEGMENTATION_MASKS]
        channels_first = options.data_format == "channels_first"
        hw = images.shape[-2:] if channels_first else images.shape[-3:-1]
        m = tuple(masks.shape)
        if len(m) == rank - 1:
            ranked, m_hw = True, m[-2:]
        elif len(m) == rank:
            ranked = (m[-3] if channels_first else m[-1]) in (1, None)
            m_hw = m[-2:] if channels_first else m[-3:-1]
        else:
            ranked, m_hw = False, ()
        if not ranked or any(a is not None and b is not None and a != b for a, b in zip(hw, m_hw)):
            expect = "(B, H, W) or " + ("(B, 1, H, W)" if channels_first else "(B, H, W, 1)")
            raise ValueError(
                f"`segmentation_masks` must have shape {expect} matching images {tuple(images.shape)}; "
                f"received shape {m}."
            )


def output_label_dtype(labels: Any) -> str:
    dtype = keras.backend.standardize_dtype(labels.dtype)
    return dtype if keras.backend.is_float_dtype(dtype) else "float32"


def mix_targets(data: dict, params: sampling.MixParams, options: MixOptions) -> dict:
    """Apply one draw to every target of a batch (images, masks, labels)."""
    images = data[inputs.IMAGES]
    _, height, width = spatial_dims(images, options.data_format)
    out = dict(data)
    if options.blends_partner:
        out[inputs.IMAGES] = blend(images, ops.take(images, params.partner, axis=0), params.blend)
    if options.pastes_partner or options.erases:
        mask = box_mask(params.top, params.bottom, params.left, params.right, height, width)
        image_mask = mask_for(images, mask, options.data_format)
        if options.erases:
            out[inputs.IMAGES] = paste(out[inputs.IMAGES], ops.cast(options.fill_value, images.dtype), image_mask)
        else:
            # The partners' pixels are gathered inside the fused paste, never as a full copy.
            out[inputs.IMAGES] = paste_from(out[inputs.IMAGES], params.partner, image_mask, source=images)
        if inputs.SEGMENTATION_MASKS in data and options.pastes_partner:
            masks = data[inputs.SEGMENTATION_MASKS]
            out[inputs.SEGMENTATION_MASKS] = paste_from(masks, params.partner, mask_for(masks, mask, options.data_format))
    if inputs.BOUNDING_BOXES in data:
        out[inputs.BOUNDING_BOXES] = boxes.mix_bounding_boxes(
            data[inputs.BOUNDING_BOXES], params.partner, params.top, params.bottom, params.left, params.right,
            height, width, bounding_box_format=options.bounding_box_format, min_visibility=options.min_visibility,
        )
    if inputs.LABELS in data and options.mixes_labels:
        out[inputs.LABELS] = mix_labels(data[inputs.LABELS], params.partner, params.partner_weight)
    return out


def apply_mix(data: dict, seed: Any, options: MixOptions, training: bool = True, probability: Any = None) -> dict:
    """Mix the parts of `data` (keys from `inputs.KNOWN_KEYS`) as `options` say.

    `seed` is a (2,) int tensor; the whole draw is a pure function of it (and
    of `probability`, a float or scalar tensor, by default the options').
    Outside training, and for a single unbatched image, pixels are untouched
    but labels are still made dense (one-hot, smoothed), so training and
    validation batches have the same structure.
    """
    data = {key: _to_tensor(value, key) for key, value in data.items()}
    check_inputs(data, options)
    images = data[inputs.IMAGES]
    batched = len(images.shape) == 4
    if batched:  # batch sizes unknown when tracing: asserted when the graph runs
        data = assert_same_batch(data, inputs.IMAGES, PER_SAMPLE_KEYS)
    out = dict(data)
    if inputs.LABELS in data:
        out[inputs.LABELS] = prepare_labels(
            data[inputs.LABELS], batched=batched, num_classes=options.num_classes,
            label_smoothing=options.label_smoothing,
        )
    probability = options.probability if probability is None else probability
    if not batched or not training or (isinstance(probability, float) and probability == 0.0):
        return out
    batch_size, height, width = spatial_dims(images, options.data_format)
    params = options.sample(seed, batch_size, height, width, probability)
    return mix_targets(out, params, options)


def run_functional(options: MixOptions, images: Any, labels: Any, sample_weight: Any, seed: Any, training: bool) -> Any:
    """The functional entry points: call forms in and out, TF ops in TF graphs."""
    data, repack = inputs.unpack(images, labels, sample_weight)

    def run() -> Any:
        return repack(apply_mix(data, seed if training else None, options, training))

    if needs_tensorflow_ops(data[inputs.IMAGES]):
        with tensorflow_ops():
            return run()
    return run()
