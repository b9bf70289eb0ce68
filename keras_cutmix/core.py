"""CutMix on a batch: validated options, and the one function that applies them.

`apply_cutmix` is the single implementation behind the `CutMix` layer and the
functional `cutmix`: sampling → box mask → mixing of each target.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras

from keras_cutmix import inputs
from keras_cutmix._backend import needs_tensorflow_ops, ops, tensorflow_ops
from keras_cutmix.mixing import box_mask, mask_for, mix_labels, paste, prepare_labels
from keras_cutmix.sampling import sample_cutmix

MODES = ("batch", "sample")
DATA_FORMATS = ("channels_last", "channels_first")


@dataclasses.dataclass(frozen=True)
class CutMixOptions:
    """CutMix's options, checked once; see `CutMix` for their meaning."""

    alpha: float = 1.0
    probability: float = 1.0
    mode: str = "batch"
    num_classes: int | None = None
    label_smoothing: float = 0.0
    correct_lambda: bool = True
    data_format: str | None = None

    def __post_init__(self) -> None:
        _check_number("alpha", self.alpha, low=0.0, low_open=True)
        _check_number("probability", self.probability, low=0.0, high=1.0)
        _check_number("label_smoothing", self.label_smoothing, low=0.0, high=1.0)
        if self.mode not in MODES:
            raise ValueError(f"Argument `mode` must be one of {MODES}. Received: mode={self.mode!r}")
        if self.num_classes is not None and (
            isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int) or self.num_classes < 1
        ):
            raise ValueError(
                f"Argument `num_classes` must be a positive int or None. Received: num_classes={self.num_classes!r}"
            )
        if not isinstance(self.correct_lambda, bool):
            raise ValueError(
                f"Argument `correct_lambda` must be a bool. Received: correct_lambda={self.correct_lambda!r}"
            )
        data_format = self.data_format if self.data_format is not None else keras.config.image_data_format()
        if data_format not in DATA_FORMATS:
            raise ValueError(
                f"Argument `data_format` must be one of {DATA_FORMATS} or None. "
                f"Received: data_format={self.data_format!r}"
            )
        object.__setattr__(self, "data_format", data_format)
        object.__setattr__(self, "alpha", float(self.alpha))
        object.__setattr__(self, "probability", float(self.probability))
        object.__setattr__(self, "label_smoothing", float(self.label_smoothing))


def _check_number(name: str, value: Any, low: float, high: float | None = None, low_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    if ok:
        ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        bounds = f"({low}, ∞)" if high is None else f"[{low}, {high}]"
        raise ValueError(f"Argument `{name}` must be a number in {bounds}. Received: {name}={value!r}")


def spatial_dims(images: Any, data_format: str) -> tuple[Any, Any, Any]:
    """(batch, height, width) of a rank-4 batch; dynamic sizes as tensors."""
    shape = ops.shape(images)
    if data_format == "channels_first":
        return shape[0], shape[2], shape[3]
    return shape[0], shape[1], shape[2]


def _to_tensor(x: Any) -> Any:
    if isinstance(x, keras.KerasTensor):
        return x
    return ops.convert_to_tensor(x)


def _check_inputs(data: dict, options: CutMixOptions) -> None:
    """Static checks, at trace time, with the shapes named."""
    images = data[inputs.IMAGES]
    rank = len(images.shape)
    if rank not in (3, 4):
        raise ValueError(
            "`images` must be a batch (B, H, W, C) or one image (H, W, C) "
            f"({options.data_format}); received shape {tuple(images.shape)} (rank {rank})."
        )
    batch = images.shape[0] if rank == 4 else None
    for key in (inputs.LABELS, inputs.SEGMENTATION_MASKS, inputs.SAMPLE_WEIGHT):
        if key in data and rank == 4:
            other = data[key].shape
            if len(other) == 0 or (batch is not None and other[0] is not None and other[0] != batch):
                raise ValueError(
                    f"`{key}` must have the batch size of `images`: images have shape "
                    f"{tuple(images.shape)}, {key} have shape {tuple(other)}."
                )
    if inputs.SEGMENTATION_MASKS in data:
        masks = data[inputs.SEGMENTATION_MASKS]
        if rank == 4:
            hw = images.shape[2:] if options.data_format == "channels_first" else images.shape[1:3]
        else:
            hw = images.shape[1:] if options.data_format == "channels_first" else images.shape[:2]
        m = tuple(masks.shape)
        ranked = len(m) == rank - 1 or (
            len(m) == rank and (m[-3] if options.data_format == "channels_first" else m[-1]) in (1, None)
        )
        m_hw = m[len(m) - 2 :] if len(m) == rank - 1 or options.data_format == "channels_first" else m[-3:-1]
        if not ranked or any(a is not None and b is not None and a != b for a, b in zip(hw, m_hw)):
            expect = "(B, H, W) or " + ("(B, 1, H, W)" if options.data_format == "channels_first" else "(B, H, W, 1)")
            raise ValueError(
                f"`segmentation_masks` must have shape {expect} matching images {tuple(images.shape)}; "
                f"received shape {m}."
            )


def output_label_dtype(labels: Any) -> str:
    dtype = keras.backend.standardize_dtype(labels.dtype)
    return dtype if keras.backend.is_float_dtype(dtype) else "float32"


def apply_cutmix(data: dict, seed: Any, options: CutMixOptions, training: bool = True) -> dict:
    """CutMix the parts of `data` (keys from `inputs.KNOWN_KEYS`).

    `seed` is a (2,) int tensor; the whole draw is a pure function of it.
    Outside training, and for a single unbatched image, pixels are untouched
    but labels are still made dense (one-hot, smoothed), so training and
    validation batches have the same structure.
    """
    data = {key: _to_tensor(value) for key, value in data.items()}
    _check_inputs(data, options)
    images = data[inputs.IMAGES]
    batched = len(images.shape) == 4
    out = dict(data)
    if inputs.LABELS in data:
        out[inputs.LABELS] = prepare_labels(
            data[inputs.LABELS],
            batched=batched,
            num_classes=options.num_classes,
            label_smoothing=options.label_smoothing,
        )
    if not batched or not training or options.probability == 0.0:
        return out

    batch_size, height, width = spatial_dims(images, options.data_format)
    params = sample_cutmix(
        seed,
        batch_size,
        height,
        width,
        alpha=options.alpha,
        probability=options.probability,
        mode=options.mode,
        correct_lambda=options.correct_lambda,
    )
    mask = box_mask(params.top, params.bottom, params.left, params.right, height, width)
    for key in (inputs.IMAGES, inputs.SEGMENTATION_MASKS):
        if key in out:
            out[key] = paste(out[key], params.partner, mask_for(out[key], mask, options.data_format))
    if inputs.LABELS in out:
        out[inputs.LABELS] = mix_labels(out[inputs.LABELS], params.partner, params.partner_weight)
    return out


def cutmix(
    images: Any,
    labels: Any = None,
    sample_weight: Any = None,
    *,
    seed: Any,
    alpha: float = 1.0,
    probability: float = 1.0,
    mode: str = "batch",
    num_classes: int | None = None,
    label_smoothing: float = 0.0,
    correct_lambda: bool = True,
    data_format: str | None = None,
    training: bool = True,
) -> Any:
    """CutMix a batch, as a pure function of an explicit stateless `seed`.

    The functional twin of the `CutMix` layer (same options, same call forms,
    same structure returned), for `Dataset.map` with per-element seeds and for
    custom training loops:

    ```python
    seeds = tf.data.Dataset.random(seed=7).batch(2)
    ds = tf.data.Dataset.zip(ds.batch(64), seeds).map(
        lambda batch, seed: keras_cutmix.cutmix(*batch, seed=seed, num_classes=10),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    ```

    Args:
        images: a batch (B, H, W, C) (or (B, C, H, W)), or a dict with keys
            among "images", "labels", "segmentation_masks", "sample_weight".
        labels: optional labels: sparse class ids (B,) or (B, 1) with
            `num_classes`, or one-hot/soft (B, K) floats.
        sample_weight: optional, passed through.
        seed: an int, a pair of ints or an int tensor of shape (2,). The output
            is a pure function of it: same seed, same output.
        alpha, probability, mode, num_classes, label_smoothing,
        correct_lambda, data_format: as for `keras_cutmix.CutMix`.
        training: if False, only labels are made dense; pixels are untouched.

    Returns:
        The structure it was given, mixed.
    """
    options = CutMixOptions(alpha, probability, mode, num_classes, label_smoothing, correct_lambda, data_format)
    data, repack = inputs.unpack(images, labels, sample_weight)

    def run() -> Any:
        return repack(apply_cutmix(data, seed if training else None, options, training))

    if needs_tensorflow_ops(data[inputs.IMAGES]):
        with tensorflow_ops():
            return run()
    return run()

