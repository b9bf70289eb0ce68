"""`MixLayer`: what every layer of the package shares.

A thin wrapper of `pipeline.apply_mix` around one method's options
(`options_class`): a seed stream, a schedulable probability, routing of
tf.data graphs to TensorFlow ops under any backend, pass-through of the
entries it does not mix, symbolic shapes, and config. Subclasses name their
options class and document the method.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import random
import sys
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import keras
import numpy as np

from keras_cutmix import host, inputs, rng, streams, validation
from keras_cutmix import labels as label_heads
from keras_cutmix._backend import (
    in_tf_data_function,
    no_automatic_dependency_tracking,
    numpy_ops,
    ops,
    ops_for,
    take_inputs_as_given,
    tensorflow_backend,
    to_numpy,
    using_tensorflow_ops,
    values_known,
)
from keras_cutmix.methods.base import MixOptions
from keras_cutmix.pipeline import apply_mix

# Keyword arguments that go to keras.layers.Layer.
_LAYER_ARGUMENTS = ("name", "dtype", "trainable", "autocast", "input_shape", "input_dim", "batch_size")


def _next_host_seed(seed_generator: keras.random.SeedGenerator) -> np.ndarray:
    """`seed_generator.next()` with the seed as a NumPy array: the state read, then advanced by (0, 1).

    One add of the backend's arrays (Keras' `next` takes four ops and
    conversions: ~70 µs on eager JAX, against ~15 µs here).
    """
    state = seed_generator.state
    value = state.value  # (the state a stateless scope holds, where one is active)
    seed = np.array(to_numpy(value))  # a copy: torch assigns its variables in place
    increments = seed_generator.__dict__.setdefault("_keras_cutmix_increments", {})
    key = (str(state.dtype), str(getattr(value, "device", "")))
    if key not in increments:
        make = getattr(value, "new_tensor", None)  # torch: on the state's device, whatever the default
        increments[key] = make([0, 1]) if make else ops.convert_to_tensor(np.array([0, 1]), dtype=state.dtype)
    state.assign(value + increments[key])  # wraps around, as Keras' `next` does
    return seed


class MixLayer(keras.layers.Layer):
    """Base class of the mixing layers; see `CutMix` for the call forms."""

    options_class: ClassVar[type[MixOptions]] = MixOptions
    _call_binding: ClassVar[inspect.Signature]  # set per class by __init_subclass__
    _positional_names: ClassVar[tuple[str, ...]]  # `call`'s positional parameters after self, likewise

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The options are spelled once, as the options class' fields; the
        # layer's signature (help(), inspect, the API docs) lists them.
        parameters = cls.options_class.signature_parameters()
        parameters.append(
            inspect.Parameter("seed", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="int | None")
        )
        parameters.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
        cls.__signature__ = inspect.Signature(parameters)
        # How a call's arguments bind to `call` (host batches read them before any draw): made once.
        cls._call_binding = inspect.signature(cls.call)
        cls._positional_names = tuple(
            name
            for name, parameter in list(cls._call_binding.parameters.items())[1:]  # after self
            if parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        )

    def __init__(self, *, seed: int | None = None, **kwargs: Any) -> None:
        names = self.options_class.option_names()
        validation.check_options(type(self).__name__, kwargs, names, passed_on=_LAYER_ARGUMENTS)
        options = {key: kwargs.pop(key) for key in list(kwargs) if key in names}
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.options = self.options_class(**options)
        self.seed = validation.check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self._owner_pid = os.getpid()  # an unseeded copy running in another process adds entropy
        self._host_seed = self.seed if self.seed is not None else random.randrange(2**31)  # workers' seed word
        # The probability is `options.probability`; compiled steps and tf.data
        # graphs read it from this variable (and its TF twin, `_backend_state`),
        # so `set_probability` takes effect without a retrace.
        self.probability_variable = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.options.probability),
            dtype="float32",
            trainable=False,
            autocast=False,  # stays float32 under mixed-precision policies
            name="probability",
        )
        # Keep every dtype (no cast of uint8 or float16 inputs to the layer's
        # compute dtype) and accept labels/sample_weight positionally.
        take_inputs_as_given(self)
        self.supports_jit = True
        self.built = True

    def __getattr__(self, name: str) -> Any:
        # The options read as attributes named like the constructor's arguments.
        options = self.__dict__.get("options")
        if options is not None and name in type(options).option_names():
            return getattr(options, name)
        parent = getattr(super(), "__getattr__", None)  # torch's nn.Module resolves its parameters here
        if parent is not None:
            return parent(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # Probability

    @property
    def probability(self) -> float:
        return self.options.probability

    def set_probability(self, value: float) -> None:
        """Change the chance of mixing, also mid-`fit` (no retrace)."""
        self.options = dataclasses.replace(self.options, probability=value)  # checked as the constructor checks it
        variables = [self.probability_variable]
        twins = self.__dict__.get("_tf_state")
        if twins is not None:  # made by the first tf.data call under JAX or torch
            variables.append(twins[1])
        for variable in variables:
            variable.assign(self.options.probability)

    # Calls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(args, kwargs)

    def collate(self, samples: Sequence[Any]) -> Any:
        """A batch of `samples`, mixed: a torch DataLoader's `collate_fn`, grain's `batch_fn`.

        The samples are what the layer takes as a batch, one sample each:
        (image, label[, sample_weight]) tuples or dicts. They are stacked
        into a new batch (`host.collate`: by NumPy, as grain's `.batch()`;
        in a torch DataLoader worker by `default_collate`, in the shared
        memory that takes the batch to the main process without a copy),
        which is mixed in place where it is mixed in NumPy
        (`keras_cutmix.host`): no copy of it is made. A torch
        DataLoader gets CPU torch tensors, whatever the backend (Keras fits
        on a DataLoader's batches only as tensors). The same pixels and
        labels as `layer(batch)` from the same draw. At 128x224x224x3
        float32, faster than `default_collate` alone in this process, about
        its time in two workers (benchmarks/README.md).

        `DataLoader(dataset, batch_size=32, collate_fn=layer.collate,
        num_workers=2)`; `grain.MapDataset.source(samples).batch(32,
        batch_fn=layer.collate)`.

        >>> import numpy as np, keras_cutmix
        >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
        >>> samples = [(image, label) for image, label in zip(images, np.arange(8) % 4)]
        >>> mixed_images, mixed_labels = keras_cutmix.CutMix(num_classes=4, seed=0).collate(samples)
        >>> tuple(mixed_images.shape), str(mixed_images.dtype), tuple(mixed_labels.shape)
        ((8, 32, 32, 3), 'uint8', (8, 4))
        """
        by_torch_loader = host.called_by_torch_loader(sys._getframe(1))
        batch = host.collate(samples, torch_loader=by_torch_loader)
        if not by_torch_loader:
            return self._call((batch,), {}, overwrite=True)
        # NumPy views of a worker's tensors, mixed in place: the batch stays in shared memory.
        batch, to_tensors = host.as_numpy_views(batch)
        return to_tensors(self._call((batch,), {}, overwrite=True))

    def _call(self, args: tuple, kwargs: dict, overwrite: bool = False) -> Any:
        kind, data, repack, training = self._host_batch(args, kwargs)
        if kind is None:
            return self._ops_call(args, kwargs)
        # Host data in, host data out (keras_cutmix.host), mixed in NumPy where that is exact.
        if not host.mixes_in_numpy(data, self.options):
            return host.as_kind(self._ops_call(args, kwargs), kind)
        with streams.worker_device():
            if training is False:
                return repack(host.mix(data, None, self.options, training=False))
            seed, probability = self._seed_and_probability(on_host=True)
            return repack(host.mix(data, seed, self.options, probability=probability, overwrite=overwrite))

    def _host_batch(self, args: tuple, kwargs: dict) -> tuple[str | None, dict, Any, Any]:
        """`host.kind_of` this call's batch (None for tensors, traced or symbolic calls), its parts, their repacking, `training`."""
        try:
            names = self._positional_names
            if len(args) <= len(names) and all(key in names[len(args) :] for key in kwargs):
                arguments = dict(zip(names, args), **kwargs)  # what `bind` gives here, without its ~10 µs
            else:
                arguments = self._call_binding.bind(self, *args, **kwargs).arguments
            data, repack = inputs.unpack(
                arguments.get("images"), arguments.get("labels"), arguments.get("sample_weight")
            )
        except (TypeError, ValueError):
            return None, {}, None, None  # the ops path says what is wrong
        kind = host.kind_of(data)
        # A stateless call inside a compiled step (traced seed or probability) stays on the ops path.
        if kind is not None and not all(
            values_known(v.value) for v in (self.probability_variable, self.seed_generator.state)
        ):
            kind = None
        return kind, data, repack, arguments.get("training", True)

    def _ops_call(self, args: tuple, kwargs: dict) -> Any:
        """The call on backend tensors (or TF ops in a tf.data graph), through Keras' call machinery."""
        first = args[0] if args else kwargs.get("images")
        passthrough: dict = {}
        if isinstance(first, dict):
            # Keras' call machinery accepts only all-tensor structures: hand
            # it the entries that are mixed and put the others back after.
            first, passthrough = inputs.split_passthrough(first)
            first = {key: inputs.map_heads(_host_to_tensor, value) for key, value in first.items()}
            args = (first, *args[1:]) if args else args
            if not args:
                kwargs["images"] = first
        elif isinstance(first, (tuple, list)) and args:
            # One (images, labels[, sample_weight]) element (grain): its parts, not label heads.
            first = type(first)(inputs.map_heads(_host_to_tensor, part) for part in first)
            args = (first, *args[1:])
        if isinstance(first, dict):
            images = first.get(inputs.IMAGES, first.get("image"))
        else:
            images = first[0] if isinstance(first, (tuple, list)) and first else first
        self._warn_for_silent_traps(images, first, args, kwargs)
        with ops_for(images) as on_tensorflow:
            if on_tensorflow:
                # A TF graph (tf.data) under the JAX or torch backend: the Keras
                # call machinery would convert tf.Tensors to the backend's arrays,
                # so run the same math on Keras' TF backend directly, augmenting
                # by default as Keras' preprocessing layers do.
                kwargs.setdefault("training", True)
                out = self.call(*args, **kwargs)
            else:
                with streams.worker_device():
                    out = super().__call__(*args, **kwargs)
        return {**out, **passthrough} if passthrough else out

    def call(self, images: Any, labels: Any = None, sample_weight: Any = None, training: bool = True) -> Any:
        data, repack = inputs.unpack(images, labels, sample_weight)
        if not training:
            return repack(apply_mix(data, None, self.options, training=False))
        seed, probability = self._seed_and_probability()
        return repack(apply_mix(data, seed, self.options, probability=probability))

    def _seed_and_probability(self, on_host: bool = False) -> tuple[Any, Any]:
        """This call's seed, (seed, counter) folded with this worker's stream (`keras_cutmix.streams`), and probability.

        `on_host`: for `host.mix`, the seed as a NumPy array and the
        probability as a Python float or NumPy scalar, counted and read on
        the host (the same values: eager ops on the backend's arrays cost
        tens of µs each, a host batch's whole draw ~100 µs).
        """
        stream = streams.current_stream(self.seed is not None, self._owner_pid)
        if stream is not None and streams.in_worker() and not using_tensorflow_ops():
            # A worker counts its own calls on the host and reads the probability from Python: the
            # layer's variables may live on an accelerator that a forked worker must not touch.
            with streams.COUNTER_LOCK:
                pid, calls = self.__dict__.get("_worker_calls", (None, 0))
                calls = calls if pid == os.getpid() else 0
                self.__dict__["_worker_calls"] = (os.getpid(), calls + 1)
            with numpy_ops() if on_host else contextlib.nullcontext():
                return rng.fold_in((self._host_seed, calls), stream), self.options.probability
        if on_host:
            with streams.COUNTER_LOCK:
                seed = _next_host_seed(self.seed_generator)
            with numpy_ops():
                seed = seed if stream is None else rng.fold_in(seed, stream)
            return seed, to_numpy(self.probability_variable.value)
        seed_generator, probability = self._backend_state()
        with streams.COUNTER_LOCK:  # threads sharing the layer never get the same counter
            seed = seed_generator.next()
        return (seed if stream is None else rng.fold_in(seed, stream)), probability

    @no_automatic_dependency_tracking
    def _backend_state(self) -> tuple[keras.random.SeedGenerator, Any]:
        """The seed stream and probability on the backend the ops run on."""
        if not using_tensorflow_ops() or keras.backend.backend() == "tensorflow":
            return self.seed_generator, self.probability_variable.value
        # tf.data under JAX/torch: TF-side twins (tf.Variables) of both,
        # made together, outside the graph being traced: a trace that fails
        # (a bad first batch) leaves either both or neither.
        if self.__dict__.get("_tf_state") is None:
            import tensorflow as tf

            with tf.init_scope():
                state = (
                    keras.random.SeedGenerator(self.seed, backend=tensorflow_backend()),
                    tf.Variable(self.options.probability, dtype=tf.float32, trainable=False),
                )
            self._tf_state = state
        return self._tf_state[0], self._tf_state[1].read_value()

    def _warn_for_silent_traps(self, images: Any, first: Any, args: tuple, kwargs: dict) -> None:
        """Warn once where a call would mix nothing, or mix pixels but not labels."""
        rank = len(getattr(images, "shape", ()))
        training = kwargs.get("training", True)
        if rank == 3 and training is not False and in_tf_data_function() and not self.__dict__.get("_warned_unbatched"):
            self._warned_unbatched = True
            warnings.warn(
                f"{type(self).__name__} got one image (rank 3) in a tf.data map: it mixes the images of a batch, "
                "so applied before `.batch()` it mixes nothing: batch, then map (`ds.batch(B).map(layer)`).",
                UserWarning,
                stacklevel=5,  # the caller of __call__ (through _call and _ops_call)
            )
        if not self.options.mixes_labels or self.__dict__.get("_warned_no_labels"):
            return
        has_labels = (
            (isinstance(first, dict) and ({inputs.LABELS, "label"} & set(first)))
            or len(args) > 1
            or (isinstance(first, (tuple, list)) and len(first) > 1)
            or (kwargs.get("labels") is not None)
        )
        if isinstance(images, keras.KerasTensor) and not has_labels:
            self._warned_no_labels = True
            warnings.warn(
                f"{type(self).__name__} is used as a layer of a model, where labels never reach it: it would mix "
                "the pixels of training images but not their labels. Use keras_cutmix.CutMixModel(model, "
                f"mixer=keras_cutmix.{type(self).__name__}(...)) to mix both inside the train step, or map the "
                "layer over a tf.data pipeline of (images, labels).",
                UserWarning,
                stacklevel=5,  # the caller of __call__ (through _call and _ops_call)
            )

    # Shapes and config

    def compute_output_spec(
        self, images: Any, labels: Any = None, sample_weight: Any = None, training: Any = None
    ) -> Any:
        data, repack = inputs.unpack(images, labels, sample_weight)
        spec = lambda _, x: keras.KerasTensor(x.shape, dtype=x.dtype)
        out = {key: inputs.map_heads(spec, x) for key, x in data.items() if key != inputs.BOUNDING_BOXES}
        if inputs.BOUNDING_BOXES in data:  # mixing adds the partners' boxes: N → 2N slots
            bbox = data[inputs.BOUNDING_BOXES]
            slots = None if bbox["labels"].shape[-1] is None or not training else 2 * bbox["labels"].shape[-1]
            out[inputs.BOUNDING_BOXES] = dict(
                bbox,
                **{
                    "boxes": keras.KerasTensor(tuple(bbox["boxes"].shape[:-2]) + (slots, 4), dtype=bbox["boxes"].dtype),
                    "labels": keras.KerasTensor(
                        tuple(bbox["labels"].shape[:-1]) + (slots,), dtype=bbox["labels"].dtype
                    ),
                },
            )
        if inputs.LABELS in data:
            batched = len(data[inputs.IMAGES].shape) == 4
            out[inputs.LABELS] = label_heads.output_spec(data[inputs.LABELS], self.options.num_classes, batched)
        return repack(out)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self.options.config())
        config.update({"seed": self.seed})
        return config


def _host_to_tensor(_: Any, value: Any) -> Any:
    """A NumPy array or Python number (one head of `inputs.map_heads`) as a backend tensor; tensors as they are."""
    if value is None or isinstance(value, keras.KerasTensor) or keras.ops.is_tensor(value):
        return value
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(value, tf.Tensor):
        return value
    return ops.convert_to_tensor(value)
