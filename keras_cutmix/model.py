"""`CutMixModel`: CutMix inside the training step of any Keras model.

Inputs and labels are mixed inside `train_step` (on every backend, compiled
or not); `predict` and `evaluate` run the wrapped model untouched. With
`feature_layer`, the paste happens on the feature map of a named
intermediate layer instead (the paper's "layer index" ablation), with the box
scaled to that map and labels mixed by the map's exact area shares.
"""

from __future__ import annotations

import random
from typing import Any

import keras

from keras_cutmix import inputs
from keras_cutmix._backend import ops
from keras_cutmix._probability import ScheduledProbability
from keras_cutmix.core import CutMixOptions, apply_mix, mix_targets, spatial_dims
from keras_cutmix.mixing import mix_labels, prepare_labels

_PACKED = "keras_cutmix_packed_inputs"


def split_at_layer(model: keras.Model, name: str) -> tuple[keras.Model, keras.Model]:
    """(head, tail) functional models with tail(head(x)) == model(x), sharing weights."""
    try:
        layer = model.get_layer(name)
    except ValueError as error:
        names = [layer.name for layer in model.layers]
        raise ValueError(f"`feature_layer={name!r}` is not a layer of the model; its layers are {names}.") from error
    # A layer can have several call nodes (a rebuilt or reloaded Sequential
    # keeps stale ones): use the one on the model's current graph.
    error: Exception | None = None
    for node in reversed(layer._inbound_nodes):
        features = node.outputs[0]
        if len(features.shape) != 4:
            raise ValueError(
                f"`feature_layer={name!r}` must output a feature map (B, H, W, C); its output has shape "
                f"{tuple(features.shape)}."
            )
        try:
            head = keras.Model(model.inputs, features, name=f"{model.name}_head")
            tail = keras.Model(features, model.outputs, name=f"{model.name}_tail")
            break
        except (AttributeError, ValueError) as e:
            error = e
    else:
        raise ValueError(
            f"`feature_layer={name!r}` needs a functional or Sequential model built on `keras.Input`, "
            f"with that layer on the path from inputs to outputs ({error})."
        )
    return head, tail


def _in_symbolic_scope() -> bool:
    """True while Keras traces shapes only (`compute_output_spec`, symbolic builds)."""
    try:
        from keras.src.backend.common.symbolic_scope import in_symbolic_scope
    except ImportError:  # older Keras
        return False
    return in_symbolic_scope()


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


@keras.saving.register_keras_serializable(package="keras_cutmix")
class CutMixModel(ScheduledProbability, keras.Model):
    """Wrap a model so that `fit` trains it with CutMix inside the train step.

    ```python
    model = keras.Sequential([...])                 # any functional/Sequential model
    trainer = keras_cutmix.CutMixModel(model, alpha=1.0, probability=0.5)
    trainer.compile("adam", keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    trainer.fit(images, sparse_labels, epochs=10)   # labels mixed → dense (B, K)
    trainer.evaluate(test_images, test_sparse_labels)   # == model, labels made one-hot
    ```

    The labels the loss sees are dense (one-hot, mixed), so compile with a
    categorical (not sparse) loss. Sparse labels are made one-hot with
    `num_classes`, which defaults to the model's last output dimension.

    Args:
        model: the Keras model to train; `predict`/`evaluate`/`call` give
            exactly its outputs.
        feature_layer: None (mix input images), or the name of an
            intermediate layer whose output (B, h, w, C) is mixed instead.
        seed: an int for reproducible mixing, or None. Each step's seed is
            (seed, optimizer step), so resuming from a checkpoint continues the
            stream without repeating it. Under a `tf.distribute` strategy with
            R > 1 replicas in sync (TensorFlow backend), replica r uses
            (seed, step·R + r): each replica mixes its own batch with its own
            draw, reproducibly.
        **cutmix_options: the options of `keras_cutmix.CutMix` (alpha,
            probability, mode, num_classes, label_smoothing, correct_lambda,
            box_center, center_std, box_size, label_mode, data_format).
    """

    def __init__(self, model: keras.Model, feature_layer: str | None = None, seed: int | None = None, **kwargs: Any):
        option_names = set(CutMixOptions.__dataclass_fields__)
        options = {key: kwargs.pop(key) for key in list(kwargs) if key in option_names}
        super().__init__(**kwargs)
        if options.get("num_classes") is None and model.outputs:
            options["num_classes"] = model.outputs[0].shape[-1]
        self.options = CutMixOptions(**options)
        self.model = model
        self.feature_layer = feature_layer
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self._step_seed_base = seed if seed is not None else random.randrange(2**31)
        self._add_probability_variable(self.options.probability)
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
        # A built wrapped model makes this one usable as is: BackupAndRestore
        # (TensorFlow) refuses to start `fit` on an unbuilt model.
        if model.built:
            self.built = True

    def call(self, x: Any, training: bool | None = None) -> Any:
        if isinstance(x, dict) and _PACKED in x:
            head, tail = self._split
            features = head(x[_PACKED], training=training)
            batch_size, height, width = spatial_dims(features, self.options.data_format)
            params = self.options.sample(x["seed"], batch_size, height, width, x["probability"])
            mixed = mix_targets({inputs.IMAGES: features}, params, self.options)[inputs.IMAGES]
            return tail(mixed, training=training)
        return self.model(x, training=training)

    def _step_state(self, state: tuple) -> tuple[Any, Any]:
        """This step's seed and probability, read from the JAX state if any."""
        if not state:
            step = self.optimizer.iterations.value
            probability = self.probability_variable.value
        else:
            _, non_trainable, optimizer_values = state[0][:3]
            mapping = list(zip(self.non_trainable_variables, non_trainable))
            mapping += list(zip(self.optimizer.variables, optimizer_values))
            with keras.StatelessScope(state_mapping=mapping):
                step = self.optimizer.iterations.value
                probability = self.probability_variable.value
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
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError("CutMixModel.fit needs labels: CutMix mixes images *and* labels.")
        seed, probability = self._step_state(tuple(state))
        if self._split is None:
            mixed = apply_mix({inputs.IMAGES: x, inputs.LABELS: y}, seed, self.options, probability=probability)
            x, y = mixed[inputs.IMAGES], mixed[inputs.LABELS]
        else:
            # The same draw (same seed) is repeated in `call` on the feature
            # map; here it only sets the labels, by the map's area shares.
            y = prepare_labels(
                ops.convert_to_tensor(y), batched=True, num_classes=self.options.num_classes,
                label_smoothing=self.options.label_smoothing,
            )
            height, width = self._feature_size
            params = self.options.sample(seed, ops.shape(y)[0], height, width, probability)
            y = mix_labels(y, params.partner, params.partner_weight)
            x = {_PACKED: x, "seed": seed, "probability": probability}
        return super().train_step(*state, (x, y, sample_weight))

    def _dense(self, y: Any) -> Any:
        """Sparse class ids → one-hot (no smoothing): what evaluate/metrics compare to."""
        if y is None:
            return y
        if keras.backend.is_float_dtype(keras.backend.standardize_dtype(y.dtype)):
            shape = tuple(y.shape)
            ids_shaped = len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1 and self.options.num_classes != 1)
            if not (ids_shaped and _in_symbolic_scope()):
                return y
            # Under a tf.distribute strategy Keras builds losses and metrics
            # symbolically from the first batch averaged over the replicas
            # ("MEAN"), which turns integer class ids into floats; only the
            # shape matters there, so read them as the class ids they were.
            y = ops.cast(y, "int32")
        return prepare_labels(y, batched=True, num_classes=self.options.num_classes, label_smoothing=0.0)

    # Losses and metrics always see dense labels (mixed ones in training, plain
    # one-hot in evaluate and in Keras' symbolic build, which picks the metric
    # variants from the first labels it sees), so one categorical loss serves.
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return super().compute_loss(x=x, y=self._dense(y), y_pred=y_pred, sample_weight=sample_weight, training=training)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, self._dense(y), y_pred, sample_weight=sample_weight)

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        config.update(self.options.config())
        config.update(
            {
                "model": keras.saving.serialize_keras_object(self.model),
                "feature_layer": self.feature_layer,
                "probability": self.probability,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> "CutMixModel":
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"], custom_objects=custom_objects)
        return cls(**config)

