"""`MixLayer`: what every layer of the package shares.

A thin wrapper of `apply_mix`: a seed stream, a schedulable probability,
routing of tf.data graphs to TensorFlow ops under any backend, symbolic
shapes, and config. Subclasses only name their options class.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras
from keras.src.utils import tracking

from keras_cutmix import inputs
from keras_cutmix._backend import needs_tensorflow_ops, tensorflow_backend, tensorflow_ops, using_tensorflow_ops
from keras_cutmix._probability import ScheduledProbability
from keras_cutmix.core import MixOptions, apply_mix, output_label_dtype


class MixLayer(ScheduledProbability, keras.layers.Layer):
    """Base class of the mixing layers; see `CutMix` for the call forms."""

    options_class: ClassVar[type[MixOptions]] = MixOptions

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        option_names = set(self.options_class.__dataclass_fields__)
        options = {key: kwargs.pop(key) for key in list(kwargs) if key in option_names}
        kwargs.setdefault("autocast", False)
        super().__init__(name=name, **kwargs)
        self.options = self.options_class(**options)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._add_probability_variable(self.options.probability)
        # Keep every dtype (no cast of uint8 or float16 inputs to the layer's
        # compute dtype) and accept labels/sample_weight positionally.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.supports_jit = True
        self.built = True

    def __getattr__(self, name: str) -> Any:
        # The options read as attributes named like the constructor's arguments.
        options = self.__dict__.get("options")
        if options is not None and name in type(options).__dataclass_fields__:
            return getattr(options, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _probability_changed(self, value: float) -> None:
        if getattr(self, "_tf_probability", None) is not None:
            self._tf_probability.assign(value)

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
        if not training:
            return repack(apply_mix(data, None, self.options, training=False))
        seed_generator, probability = self._backend_state()
        return repack(apply_mix(data, seed_generator.next(), self.options, probability=probability))

    @tracking.no_automatic_dependency_tracking
    def _backend_state(self) -> tuple[keras.random.SeedGenerator, Any]:
        """The seed stream and probability on the backend the ops run on."""
        if not using_tensorflow_ops() or keras.backend.backend() == "tensorflow":
            return self.seed_generator, self.probability_variable.value
        # tf.data under JAX/torch: TF-side twins (tf.Variables) of both.
        if getattr(self, "_tf_seed_generator", None) is None:
            import tensorflow as tf

            # Outside the graph being traced: a trace that fails (a bad first
            # batch) must not leave a variable of that dead graph behind.
            with tf.init_scope():
                self._tf_seed_generator = keras.random.SeedGenerator(self.seed, backend=tensorflow_backend())
                self._tf_probability = tf.Variable(self.probability, dtype=tf.float32, trainable=False)
        return self._tf_seed_generator, self._tf_probability.read_value()

    def compute_output_spec(self, images: Any, labels: Any = None, sample_weight: Any = None, training: Any = None) -> Any:
        data, repack = inputs.unpack(images, labels, sample_weight)
        spec = lambda x: keras.KerasTensor(x.shape, dtype=x.dtype)  # noqa: E731
        out = {key: spec(x) for key, x in data.items() if key != inputs.BOUNDING_BOXES}
        if inputs.BOUNDING_BOXES in data:  # mixing adds the partners' boxes: N → 2N slots
            bbox = data[inputs.BOUNDING_BOXES]
            slots = None if bbox["labels"].shape[-1] is None or not training else 2 * bbox["labels"].shape[-1]
            out[inputs.BOUNDING_BOXES] = dict(bbox, **{
                "boxes": keras.KerasTensor(tuple(bbox["boxes"].shape[:-2]) + (slots, 4), dtype=bbox["boxes"].dtype),
                "labels": keras.KerasTensor(tuple(bbox["labels"].shape[:-1]) + (slots,), dtype=bbox["labels"].dtype),
            })
        if inputs.LABELS in data:
            y = data[inputs.LABELS]
            if keras.backend.is_float_dtype(y.dtype):
                shape = tuple(y.shape)
            else:
                batched = len(data[inputs.IMAGES].shape) == 4
                shape = (tuple(y.shape[:1]) if batched else ()) + (self.options.num_classes,)
            out[inputs.LABELS] = keras.KerasTensor(shape, dtype=output_label_dtype(y))
        return repack(out)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self.options.config())
        config.update({"probability": self.probability, "seed": self.seed})
        return config
