"""`CutMixModel`: any of the package's methods inside the training step of a Keras model.

Inputs and labels are mixed inside `train_step` (on every backend, compiled
or not); `predict` and `evaluate` run the wrapped model untouched. With
`feature_layer`, the mix happens on the feature map of a named intermediate
layer instead (the paper's "layer index" ablation; with MixUp, Manifold
Mixup): the step makes one draw for that map's size, mixes the labels by its
exact shares, and runs head → mixing → tail with that draw, a tensor of the
step (never a model input, which Keras would autocast under mixed precision).
"""

from __future__ import annotations

import dataclasses
import random
import sys
import threading
import warnings
from typing import Any

import keras
import numpy as np

from keras_cutmix import inputs, validation
from keras_cutmix._backend import compile_config, dtype_name, in_symbolic_scope, layer_call_outputs, ops, tensorflow_ops
from keras_cutmix.callbacks import LogProbability
from keras_cutmix.categorical import categorical_compile_arguments
from keras_cutmix.labels import check_head_shape, check_labels, map_heads, prepare_labels
from keras_cutmix.layers import CutMix, MixLayer
from keras_cutmix.methods import CutMixOptions
from keras_cutmix.pipeline import apply_mix, mix_targets
from keras_cutmix.sampling import MixParams


def split_at_layer(model: keras.Model, name: str) -> tuple[keras.Model, keras.Model]:
    """(head, tail) functional models with tail(head(x)) == model(x), sharing weights."""
    try:
        layer = model.get_layer(name)
    except ValueError as missing:
        names = [layer.name for layer in model.layers]
        raise ValueError(f"`feature_layer={name!r}` is not a layer of the model; its layers are {names}.") from missing
    # A layer can have several call nodes (a rebuilt or reloaded Sequential
    # keeps stale ones): use the one on the model's current graph.
    error: Exception | None = None
    for features in reversed(layer_call_outputs(layer)):
        if len(features.shape) != 4:
            raise ValueError(
                f"`feature_layer={name!r}` must output a feature map (B, H, W, C); its output has shape "
                f"{tuple(features.shape)}."
            )
        try:
            head = keras.Model(model.inputs, features, name=f"{model.name}_head")
            tail = keras.Model(features, model.outputs, name=f"{model.name}_tail")
            break
        except (AttributeError, ValueError) as failure:
            error = failure
    else:
        raise ValueError(
            f"`feature_layer={name!r}` needs a functional or Sequential model built on `keras.Input`, "
            f"with that layer on the path from inputs to outputs ({error})."
        )
    return head, tail


def _replica() -> tuple[Any, int]:
    """(replica id, replicas in sync) of a `tf.distribute` train step; (0, 1) elsewhere.

    Only tf.distribute runs one train step per replica, each with the same
    optimizer step; Keras' JAX distribution API runs one step over the whole
    (sharded) batch, so there one draw covers the global batch.
    """
    if keras.backend.backend() != "tensorflow":
        return 0, 1
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync <= 1:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def _output_classes(model: keras.Model) -> Any:
    """num_classes from the model's outputs: an int, or one per output (a dict or list); None if unknown."""
    outputs = getattr(model, "outputs", None)
    try:
        outputs = outputs or None
    except (AttributeError, ValueError):  # subclassed models: no graph
        outputs = None
    if outputs is None:
        return None
    classes = [output.shape[-1] for output in outputs]
    if len(classes) == 1:
        return classes[0]
    names = getattr(model, "output_names", None)
    return dict(zip(names, classes)) if names and len(names) == len(classes) else classes


def _is_object_detector(model: keras.Model) -> bool:
    """KerasHub's detectors (`keras_hub.models.ObjectDetector` and its subclasses, e.g. RetinaNet)."""
    return any(cls.__name__.endswith("ObjectDetector") for cls in type(model).__mro__)


class _StepDraw(threading.local):
    """The draw of the feature-level train step being run, per thread.

    Set by `train_step` around Keras' own step, read by `call` for its one
    forward pass. Thread-local: tf.distribute runs each replica's step in a
    thread of its own, each with its own draw.
    """

    params: MixParams | None = None


@keras.saving.register_keras_serializable(package="keras_cutmix")
class CutMixModel(keras.Model):
    """Wrap a model so that `fit` trains it with CutMix (or any mixer) inside the train step.

    ```python
    model = keras.Sequential([...])                 # any Keras model
    trainer = keras_cutmix.CutMixModel(model, alpha=1.0, probability=0.5)
    trainer.compile("adam", keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    trainer.fit(images, sparse_labels, epochs=10)   # labels mixed → dense (B, K)
    trainer.evaluate(test_images, test_sparse_labels)   # == model, labels made one-hot
    mixup = keras_cutmix.CutMixModel(model, mixer=keras_cutmix.MixUp(alpha=0.2))
    ```

    The labels the loss sees are dense (one-hot, mixed): a sparse loss or
    metric passed to `compile` (`SparseCategoricalCrossentropy`,
    `"sparse_categorical_accuracy"`, ...) is replaced by its categorical twin,
    with a warning. Sparse labels are made one-hot with the mixer's
    `num_classes`; without one, the wrapper uses the model's last output
    dimension (inferred when a subclassed model is built), kept in its own
    `options` (the mixer is left as given). Labels given to `fit` and
    `evaluate` as arrays are checked once, on the host, before the first
    step; a `tf.data` dataset's labels are checked in the pipeline when the
    step is compiled without asserts (JAX, `jit_compile=True`). The mixing
    probability is logged as `"mixing_probability"` in `fit`'s logs.

    Object detectors (KerasHub's `ObjectDetector`s) are refused: mix their
    images and boxes in `tf.data` (docs/ecosystem.md, "Object detectors").

    Args:
        model: the Keras model to train; `predict`/`evaluate`/`call` give
            exactly its outputs.
        mixer: a layer of the package (`CutMix`, `MixUp`, `Cutout`,
            `CutMixOrMixUp`, ...) whose method and options are used; None
            makes a `CutMix` from `**cutmix_options`. Pass one or the other.
        feature_layer: None (mix input images), or the name of an
            intermediate layer whose output (B, h, w, C) is mixed instead.
            With `mixer=MixUp(...)` this is Manifold Mixup (Verma et al., 2019).
        seed: an int for reproducible mixing, or None (the mixer's seed if it
            has one). Each step's seed is (seed, optimizer step), so resuming
            from a checkpoint continues the stream without repeating it.
            Under a `tf.distribute` strategy with R > 1 replicas in sync
            (TensorFlow backend), replica r uses (seed, step·R + r): each
            replica mixes its own batch with its own draw, reproducibly.
        **cutmix_options: the options of `keras_cutmix.CutMix` (alpha,
            probability, mode, num_classes, label_smoothing, ...), when no
            `mixer` is given.
    """

    def __init__(
        self,
        model: keras.Model,
        mixer: MixLayer | None = None,
        feature_layer: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        option_names = CutMixOptions.option_names()
        options = {key: kwargs.pop(key) for key in list(kwargs) if key in option_names}
        validation.check_options("CutMixModel", kwargs, option_names, passed_on=("name", "trainable", "dtype"))
        if _is_object_detector(model):
            raise ValueError(
                f"CutMixModel mixes images and classification labels; {type(model).__name__} is an object "
                'detector, trained on (images, {"boxes", "labels"}), whose boxes CutMixModel does not move. Mix '
                "images and boxes in the tf.data pipeline instead: ds.batch(B).map(keras_cutmix.CutMix("
                'bounding_box_format=...)) (or keras_cutmix.MixUp()) on dicts {"images", "bounding_boxes"}, then '
                '.map(lambda d: (d["images"], d["bounding_boxes"])), and fit the detector itself '
                '(docs/ecosystem.md, "Object detectors").'
            )
        if mixer is not None and options:
            raise ValueError(
                f"Pass either `mixer` or CutMix options, not both. Received mixer={type(mixer).__name__} and "
                f"options {sorted(options)}: set them on the mixer, e.g. keras_cutmix.CutMix({', '.join(sorted(options))}=...)."
            )
        if mixer is None:
            mixer = CutMix(**options, seed=seed)
        elif not isinstance(mixer, MixLayer):
            raise ValueError(
                "Argument `mixer` must be a keras_cutmix layer (CutMix, MixUp, Cutout, CutMixOrMixUp, ...). "
                f"Received: mixer={mixer!r}"
            )
        super().__init__(**kwargs)
        self.model = model
        self.mixer = mixer
        self.feature_layer = feature_layer
        self.seed = validation.check_seed(seed if seed is not None else mixer.seed)
        self._step_seed_base = self.seed if self.seed is not None else random.randrange(2**31)
        # The model's output size(s), when the mixer has no num_classes: the
        # wrapper's own, never written into the user's mixer. Untracked
        # attributes: Keras would wrap a dict of them.
        object.__setattr__(self, "_num_classes", None)
        object.__setattr__(self, "_step_draw", _StepDraw())
        self._infer_num_classes()
        # Head and tail share the model's layers; keep them untracked so the
        # weights are owned (and saved) once, through `self.model`.
        object.__setattr__(self, "_split", split_at_layer(model, feature_layer) if feature_layer else None)
        if self._split is not None:
            shape = self._split[0].outputs[0].shape
            size = tuple(shape[2:] if self.options.data_format == "channels_first" else shape[1:3])
            if None in size:
                raise ValueError(
                    f"`feature_layer={feature_layer!r}` must have a static height and width (got output shape "
                    f"{tuple(shape)}): give the model a fixed input size."
                )
            object.__setattr__(self, "_feature_size", size)
        if getattr(model, "preprocessor", None) is not None:
            warnings.warn(
                f"{type(model).__name__} has a preprocessor, which its own fit/predict apply and CutMixModel does "
                "not: map `model.preprocessor` over the tf.data pipeline before fitting CutMixModel, and set "
                "model.preprocessor = None (docs/ecosystem.md, KerasHub).",
                UserWarning,
                stacklevel=2,
            )
        # A built wrapped model makes this one usable as is: BackupAndRestore
        # (TensorFlow) refuses to start `fit` on an unbuilt model.
        if model.built:
            self.built = True

    @property
    def options(self) -> Any:
        """The mixer's method and options, with the model's output size as num_classes if the mixer has none."""
        options = self.mixer.options
        if options.num_classes is None and self._num_classes is not None:
            return dataclasses.replace(options, num_classes=self._num_classes)
        return options

    @property
    def probability(self) -> float:
        return self.mixer.probability

    def set_probability(self, value: float) -> None:
        """Change the chance of mixing, also mid-`fit` (no retrace)."""
        self.mixer.set_probability(value)

    def _infer_num_classes(self, inputs_spec: Any = None) -> None:
        """Take the model's output size(s) as num_classes when the mixer has none."""
        if self.options.num_classes is not None:
            return
        classes = _output_classes(self.model)
        if classes is None and inputs_spec is not None:
            try:
                spec = self.model.compute_output_spec(inputs_spec)
                classes = keras.tree.map_structure(lambda t: t.shape[-1], spec)
            except Exception:  # the model cannot be traced symbolically: ask for num_classes when labels are sparse
                classes = None
        if classes is not None:
            object.__setattr__(self, "_num_classes", validation.check_num_classes(classes))

    def build(self, input_shape: Any = None) -> None:
        if not self.model.built and input_shape is not None:
            self.model.build(input_shape)
        if input_shape is not None:
            spec = keras.tree.map_shape_structure(lambda shape: keras.KerasTensor(shape), input_shape)
            self._infer_num_classes(spec)
        self.built = True

    def call(self, x: Any, training: bool | None = None) -> Any:
        """The wrapped model; in a feature-level train step, head → the step's mixing → tail."""
        params = self._step_draw.params
        if params is not None and training:
            head, tail = self._split
            features = head(x, training=training)
            mixed = mix_targets({inputs.IMAGES: features}, params, self.options)[inputs.IMAGES]
            return tail(mixed, training=training)
        return self.model(x, training=training)

    # Batches may be dicts {"images", "labels"[, "sample_weight"]} (or the
    # singular "image", "label"): Keras reads a dict as inputs, so they become
    # (x, y[, sample_weight]) tuples before Keras sees them.
    def fit(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        x, y = self._checked(*_as_tuples(x, y))
        if "validation_data" in kwargs:
            validation_data = _as_tuples(kwargs["validation_data"], None)[0]
            if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
                validation_data = self._checked(*validation_data[:2]) + validation_data[2:]
            else:
                validation_data = self._checked(validation_data, None)[0]
            kwargs["validation_data"] = validation_data
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), LogProbability(self)]
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        x, y = self._checked(*_as_tuples(x, y))
        return super().evaluate(x, y, *args, **kwargs)

    # Label values: a compiled step (JAX's jit, jit_compile=True) cannot
    # assert on them, so they are checked before it where they pass through
    # here: arrays once on the host, tf.data datasets in their pipeline.
    def _checked(self, x: Any, y: Any) -> tuple[Any, Any]:
        """(x, y) with the labels' values checked, or set to be checked, away from the step."""
        tf = sys.modules.get("tensorflow")
        if y is not None:
            leaves = keras.tree.flatten(y)
            if leaves and all(isinstance(v, np.ndarray) or keras.ops.is_tensor(v) for v in leaves):
                self._infer_num_classes(_batch_spec(x))
                host = keras.tree.map_structure(lambda v: np.asarray(keras.ops.convert_to_numpy(v)), y)
                check_labels(host, batched=True, num_classes=self.options.num_classes)
        elif tf is not None and isinstance(x, tf.data.Dataset) and not self._step_checks_label_values():
            spec = x.element_spec
            if isinstance(spec, tuple) and len(spec) in (2, 3):
                self._infer_num_classes(_batch_spec(spec[0]))
                num_classes = self.options.num_classes

                def check(*element: Any) -> tuple:
                    with tensorflow_ops():
                        return (
                            element[0],
                            check_labels(element[1], batched=True, num_classes=num_classes),
                            *element[2:],
                        )

                x = x.map(check)
        return x, y

    def _step_checks_label_values(self) -> bool:
        """Whether the step itself reads label values: eager (JAX, torch) or a TF graph without XLA."""
        return bool(getattr(self, "compiled", False) and (self.run_eagerly or not self.jit_compile))

    def _step_state(self, state: tuple) -> tuple[Any, Any]:
        """This step's seed and probability, read from the JAX state if any."""
        if not state:
            step = self.optimizer.iterations.value
            probability = ops.convert_to_tensor(self.mixer.probability_variable)
        else:
            _, non_trainable, optimizer_values = state[0][:3]
            mapping = list(zip(self.non_trainable_variables, non_trainable))
            mapping += list(zip(self.optimizer.variables, optimizer_values))
            with keras.StatelessScope(state_mapping=mapping):
                step = self.optimizer.iterations.value
                probability = ops.convert_to_tensor(self.mixer.probability_variable)
        replica, replicas = _replica()
        counter = ops.cast(step, "int32")
        if replicas > 1:
            # Replica r of R at step s draws with counter s·R + r: its own box,
            # λ and partners, distinct across replicas and steps, reproducible.
            counter = counter * replicas + ops.cast(replica, "int32")
        seed = ops.stack([ops.cast(self._step_seed_base, "int32"), counter])
        return seed, probability

    def train_step(self, *args: Any) -> Any:
        # TF/torch: train_step(data); JAX: train_step(state, data).
        *state, data = args
        x, y, sample_weight = _unpack(data)
        if y is None:
            raise ValueError(
                "CutMixModel.fit needs labels: the mixer mixes images *and* labels. Pass (images, labels), "
                'or dicts {"images": ..., "labels": ...}.'
            )
        if self.options.num_classes is None:
            self._infer_num_classes(keras.tree.map_structure(lambda t: keras.KerasTensor(t.shape, t.dtype), x))
        options = self.options
        seed, probability = self._step_state(tuple(state))
        if self._split is None:
            mixed = apply_mix({inputs.IMAGES: x, inputs.LABELS: y}, seed, options, probability=probability)
            return super().train_step(*state, (mixed[inputs.IMAGES], mixed[inputs.LABELS], sample_weight))
        # One draw for the feature map's size: the labels are mixed here by
        # its shares, the features in `call`, Keras' one forward pass.
        y = prepare_labels(
            keras.tree.map_structure(ops.convert_to_tensor, y),
            batched=True,
            num_classes=options.num_classes,
            label_smoothing=options.label_smoothing,
        )
        height, width = self._feature_size
        params = options.sample(seed, ops.shape(x)[0], height, width, probability)
        y = options.transform_labels(y, params)
        self._step_draw.params = params
        try:
            return super().train_step(*state, (x, y, sample_weight))
        finally:
            self._step_draw.params = None

    def _dense(self, y: Any) -> Any:
        """Class ids → one-hot (no smoothing): what evaluate and the metrics compare to."""
        if y is None:
            return y

        def dense(head: Any, num_classes: Any) -> Any:
            if keras.backend.is_float_dtype(dtype_name(head.dtype)):
                shape = tuple(head.shape)
                ids_shaped = len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1 and num_classes != 1)
                if not (ids_shaped and in_symbolic_scope()):
                    if len(shape) == 2:  # dense rows of the wrong width: the package's message, not Keras'
                        check_head_shape(head, True, num_classes)
                    return head
                # Under a tf.distribute strategy Keras builds losses and metrics
                # symbolically from the first batch averaged over the replicas
                # ("MEAN"), which turns integer class ids into floats; only the
                # shape matters there, so read them as the class ids they were.
                head = ops.cast(head, "int32")
            return prepare_labels(head, batched=True, num_classes=num_classes, label_smoothing=0.0)

        return map_heads(dense, y, self.options.num_classes)

    # Losses and metrics always see dense labels (mixed ones in training, plain
    # one-hot in evaluate and in Keras' symbolic build, which picks the metric
    # variants from the first labels it sees), so one categorical loss serves.
    def compute_loss(
        self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None, training: bool = True
    ) -> Any:
        return super().compute_loss(
            x=x, y=self._dense(y), y_pred=y_pred, sample_weight=sample_weight, training=training
        )

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        return super().compute_metrics(x, self._dense(y), y_pred, sample_weight=sample_weight)

    def compile(self, optimizer: Any = None, loss: Any = None, metrics: Any = None, **kwargs: Any) -> None:
        """`keras.Model.compile`, with sparse losses and metrics swapped for their categorical twins.

        What is not given is taken from the wrapped model when it was compiled
        (a KerasHub task compiles itself): its optimizer, loss and metrics.
        Otherwise the optimizer defaults to "rmsprop", as in Keras.
        """
        if getattr(self.model, "compiled", False):
            compiled = compile_config(self.model)
            optimizer = self.model.optimizer if optimizer is None else optimizer
            loss = compiled.get("loss") if loss is None else loss
            metrics = compiled.get("metrics") if metrics is None else metrics
        optimizer = "rmsprop" if optimizer is None else optimizer
        loss, metrics, kwargs, swapped = categorical_compile_arguments(loss, metrics, kwargs)
        if swapped:
            warnings.warn(
                "CutMixModel trains on mixed, dense labels, so the sparse loss/metrics given to compile were "
                f"replaced by their categorical twins: {'; '.join(swapped)}. Evaluation makes class ids one-hot "
                "too, so the same twins serve there.",
                UserWarning,
                stacklevel=2,
            )
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_compile_config(self) -> dict:
        return super().get_compile_config()  # what compile() was called with, twins included

    def compile_from_config(self, config: dict) -> None:
        """Compile a loaded model as it was saved (Keras skips models whose compile() is custom)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)  # its variables, for the saved ones to load into

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "model": keras.saving.serialize_keras_object(self.model),
            "mixer": keras.saving.serialize_keras_object(self.mixer),
            "feature_layer": self.feature_layer,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> CutMixModel:
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"], custom_objects=custom_objects)
        if isinstance(config.get("mixer"), dict):
            config["mixer"] = keras.saving.deserialize_keras_object(config["mixer"], custom_objects=custom_objects)
        elif "probability" in config or "alpha" in config:
            # keras_cutmix 0.1 saved the CutMix options flat, next to the model.
            options = {key: config.pop(key) for key in list(config) if key in CutMixOptions.option_names()}
            config["mixer"] = CutMix(**options, seed=config.get("seed"))
        return cls(**config)


def _as_tuples(x: Any, y: Any) -> tuple[Any, Any]:
    """(x, y) with dict batches of images and labels turned into tuples (tf.data datasets and dicts)."""
    if y is not None:
        return x, y
    if isinstance(x, dict) and _unpack(x)[1] is not None and _unpack(x)[2] is None:
        return _unpack(x)[:2]
    tf = sys.modules.get("tensorflow")
    dict_dataset = tf is not None and isinstance(x, tf.data.Dataset) and isinstance(x.element_spec, dict)
    if dict_dataset and _unpack(x.element_spec)[1] is not None:
        return x.map(lambda element: tuple(part for part in _unpack(element) if part is not None)), None
    return x, y


def _unpack(data: Any) -> tuple[Any, Any, Any]:
    """(x, y, sample_weight) from a fit batch: a tuple, or a dict {"images", "labels", ...}."""
    if isinstance(data, dict):
        parts = {name: data[key] for key, name in inputs.canonical_keys(data).items()}
        if inputs.IMAGES in parts and inputs.LABELS in parts:
            return parts[inputs.IMAGES], parts[inputs.LABELS], parts.get(inputs.SAMPLE_WEIGHT)
    return keras.utils.unpack_x_y_sample_weight(data)


def _batch_spec(x: Any) -> Any:
    """KerasTensors of one batch of `x` (arrays, tensors or tf.data specs), for inferring num_classes; None otherwise."""
    try:
        return keras.tree.map_structure(
            lambda t: keras.KerasTensor((None, *tuple(t.shape)[1:]), dtype_name(t.dtype)), x
        )
    except Exception:  # not arrays (a generator, a PyDataset, ...): inferred in the step
        return None
