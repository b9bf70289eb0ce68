"""The `CutMix` preprocessing layer: a thin, stateful-seed wrapper of `apply_cutmix`."""

from __future__ import annotations

from typing import Any

import keras
from keras.src.utils import tracking

from keras_cutmix import inputs
from keras_cutmix._backend import needs_tensorflow_ops, tensorflow_backend, tensorflow_ops, using_tensorflow_ops
from keras_cutmix.core import CutMixOptions, apply_cutmix, output_label_dtype


@keras.saving.register_keras_serializable(package="keras_cutmix")
class CutMix(keras.layers.Layer):
    """CutMix (Yun et al., 2019): paste a box of one image into another and mix
    the labels by the exact share of pixels.

    For a batch x with labels y, a partner permutation π (a random cycle through
    the batch, so no image is paired with itself), λ ~ Beta(α, α) and a box of
    side (H·√(1−λ), W·√(1−λ)) centred uniformly on any pixel and clipped to the
    image, with M = 0 inside the box and 1 outside:

        x̃ = M ⊙ x + (1 − M) ⊙ x[π]
        ỹ = λ̂ · y + (1 − λ̂) · y[π],   λ̂ = (pixels of x̃ still from x) / (H·W)

    λ̂ is an exact integer pixel count over H·W, so the label weights always
    equal what was pasted, clipped boxes included.

    Args:
        alpha: the Beta(α, α) parameter, in the paper's meaning (α = 1 gives
            λ ~ U(0, 1), the paper's setting). Must be > 0.
        probability: chance of applying CutMix, per batch in "batch" mode, per
            sample in "sample" mode. Unmixed samples keep image and label.
        mode: "batch" (one λ and box for the batch, as the authors' code) or
            "sample" (each sample draws its own λ, box and coin).
        num_classes: turns sparse integer labels of shape (B,) or (B, 1) into
            one-hot labels of this many classes. Required for sparse labels.
        label_smoothing: ε, applied to the dense labels before mixing:
            y ← (1 − ε)·y + ε/K.
        correct_lambda: True makes the label weight the exact pixel share;
            False uses the sampled λ (timm's `correct_lam=False`).
        seed: an int for reproducible augmentation, or None.
        data_format: "channels_last" (B, H, W, C) or "channels_first"
            (B, C, H, W); defaults to `keras.config.image_data_format()`.

    Call forms (the structure given is the structure returned):
    `layer(images)`, `layer(images, labels)`, `layer(images, labels,
    sample_weight)`, or a dict with keys among "images", "labels",
    "segmentation_masks", "sample_weight" (other keys pass through).
    `dataset.map(layer)` works for datasets of any of these, under every Keras
    backend. With `training=False`, and for a single unbatched image, pixels
    are untouched but sparse labels are still made one-hot (and smoothed).

    Images keep their dtype (uint8 stays uint8); segmentation masks (B, H, W)
    or (B, H, W, 1) get the same box and keep shape and dtype; sample_weight
    passes through.

    Example:

    >>> import numpy as np, keras_cutmix
    >>> images = np.random.randint(0, 256, (8, 32, 48, 3), dtype="uint8")
    >>> labels = np.arange(8) % 4
    >>> layer = keras_cutmix.CutMix(num_classes=4, seed=0)
    >>> mixed_images, mixed_labels = layer(images, labels)
    >>> tuple(mixed_images.shape), str(mixed_images.dtype), tuple(mixed_labels.shape)
    ((8, 32, 48, 3), 'uint8', (8, 4))
    """

    def __init__(
        self,
        alpha: float = 1.0,
        probability: float = 1.0,
        mode: str = "batch",
        num_classes: int | None = None,
        label_smoothing: float = 0.0,
        correct_lambda: bool = True,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.options = CutMixOptions(alpha, probability, mode, num_classes, label_smoothing, correct_lambda, data_format)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Keep every dtype (no cast of uint8 or float16 inputs to the layer's
        # compute dtype) and accept labels/sample_weight positionally.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.supports_jit = True
        self.built = True

    # Read-only views of the options, named as the constructor's arguments.
    alpha = property(lambda self: self.options.alpha)
    probability = property(lambda self: self.options.probability)
    mode = property(lambda self: self.options.mode)
    num_classes = property(lambda self: self.options.num_classes)
    label_smoothing = property(lambda self: self.options.label_smoothing)
    correct_lambda = property(lambda self: self.options.correct_lambda)
    data_format = property(lambda self: self.options.data_format)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        first = args[0] if args else kwargs.get("images")
        if isinstance(first, dict):
            first = first.get(inputs.IMAGES)
        if needs_tensorflow_ops(first):
            # A TF graph (tf.data) under the JAX or torch backend: the Keras
            # call machinery would convert tf.Tensors to the backend's arrays,
            # so run the same math on Keras' TF backend directly, augmenting
            # by default as Keras' preprocessing layers do.
            kwargs.setdefault("training", True)
            with tensorflow_ops():
                return self.call(*args, **kwargs)
        return super().__call__(*args, **kwargs)

    def call(self, images: Any, labels: Any = None, sample_weight: Any = None, training: bool = True) -> Any:
        data, repack = inputs.unpack(images, labels, sample_weight)
        seed = self._seed_generator().next() if training else None
        return repack(apply_cutmix(data, seed, self.options, training=bool(training)))

    @tracking.no_automatic_dependency_tracking
    def _seed_generator(self) -> keras.random.SeedGenerator:
        """This layer's seed stream, on the backend the ops run on."""
        if not using_tensorflow_ops() or keras.backend.backend() == "tensorflow":
            return self.seed_generator
        # A separate TF-side stream for tf.data under JAX/torch (a tf.Variable).
        if getattr(self, "_tf_seed_generator", None) is None:
            self._tf_seed_generator = keras.random.SeedGenerator(self.seed, backend=tensorflow_backend())
        return self._tf_seed_generator

    def compute_output_spec(self, images: Any, labels: Any = None, sample_weight: Any = None, training: Any = None) -> Any:
        data, repack = inputs.unpack(images, labels, sample_weight)
        out = {key: keras.KerasTensor(x.shape, dtype=x.dtype) for key, x in data.items()}
        if inputs.LABELS in data:
            y = data[inputs.LABELS]
            batched = len(data[inputs.IMAGES].shape) == 4
            dense = keras.backend.is_float_dtype(y.dtype)
            if dense:
                shape = tuple(y.shape)
            else:
                lead = tuple(y.shape[:1]) if batched else ()
                shape = lead + (self.options.num_classes,)
            out[inputs.LABELS] = keras.KerasTensor(shape, dtype=output_label_dtype(y))
        return repack(out)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "alpha": self.options.alpha,
                "probability": self.options.probability,
                "mode": self.options.mode,
                "num_classes": self.options.num_classes,
                "label_smoothing": self.options.label_smoothing,
                "correct_lambda": self.options.correct_lambda,
                "seed": self.seed,
                "data_format": self.options.data_format,
            }
        )
        return config

