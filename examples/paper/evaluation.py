"""What the CutMix paper measures besides accuracy: calibration, FGSM robustness, CAM localization.

* `class_activation_maps(model, images, class_ids)`: CAM (Zhou et al., 2016)
  of any functional or Sequential model ending in global average pooling and
  a dense layer: CAM_c = Σ_k w_{k,c} · A_k, upsampled to the image size.
* `cam_localization_score(model, composites, region_masks, ...)`: on images
  made of two images of different classes (`two_class_composites`), the share
  of each class's positive CAM mass that falls inside that class's region,
  averaged over both classes: 0.5 for maps that ignore the content, 1 for
  perfect localization.
* `expected_calibration_error(probs, labels, bins=15)`.
* `fgsm_attack` / `fgsm_accuracy(model, images, labels, epsilon)`: the fast
  gradient sign method, x + ε·sign(∇ₓ loss), on the TensorFlow, JAX and torch
  backends.

Everything takes and returns NumPy arrays, channels-last images unless the
model's pooling layer says otherwise.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

# Layers that are the identity at inference and may sit between the pooling and the classifier.
_PASS_THROUGH = (
    keras.layers.Dropout,
    keras.layers.AlphaDropout,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.Identity,
    keras.layers.ActivityRegularization,
)


def _to_numpy(x: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


def _sparse(labels: Any) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        return labels.argmax(axis=1)
    return labels.reshape(-1).astype("int64")


# ---------------------------------------------------------------------------
# Class activation maps


def _cam_candidates(model: keras.Model) -> tuple[keras.layers.Layer, list]:
    """The classifier (last Dense layer) and the (pooling node, feature tensor) pairs feeding it."""
    dense_layers = [layer for layer in getattr(model, "layers", []) if isinstance(layer, keras.layers.Dense)]
    if not dense_layers:
        raise ValueError(
            f"class activation maps need a model ending in GlobalAveragePooling2D and Dense; "
            f"{model.name!r} has no Dense layer (layers: {[layer.name for layer in getattr(model, 'layers', [])]})."
        )
    dense = dense_layers[-1]
    candidates = []
    # A layer called in several graphs (a model split or wrapped for training,
    # e.g. by CutMixModel) has several nodes: collect them all.
    for node in reversed(dense._inbound_nodes):
        parents = node.parent_nodes
        while len(parents) == 1 and isinstance(parents[0].operation, _PASS_THROUGH):
            parents = parents[0].parent_nodes
        if len(parents) == 1 and isinstance(parents[0].operation, keras.layers.GlobalAveragePooling2D):
            candidates.append((parents[0].operation, parents[0].input_tensors[0]))
    if not candidates:
        raise ValueError(
            f"class activation maps need the last Dense layer ({dense.name!r}) of {model.name!r} to take the output "
            "of a GlobalAveragePooling2D layer (Dropout in between is fine), in a functional or Sequential model "
            "built on `keras.Input`."
        )
    return dense, candidates


def find_cam_layers(model: keras.Model) -> tuple[keras.Model, keras.layers.Layer, keras.layers.Layer]:
    """(feature model, pooling layer, dense layer) of a model ending in GAP + Dense.

    The classifier is the model's last `Dense` layer; its input must come from
    a `GlobalAveragePooling2D` layer, possibly through layers that are the
    identity at inference (Dropout and the like). The feature model maps the
    model's inputs to the feature maps entering the pooling layer.
    """
    dense, candidates = _cam_candidates(model)
    error: Exception | None = None
    for pool, features in candidates:
        try:
            return keras.Model(model.inputs, features), pool, dense
        except (AttributeError, ValueError) as e:
            error = e
    raise ValueError(
        f"could not cut {model.name!r} at the input of {candidates[0][0].name!r}: CAMs need a functional or "
        f"Sequential model built on `keras.Input` ({error})."
    )


def _feature_model(model: keras.Model) -> tuple[keras.Model, keras.layers.Layer, str]:
    feature_model, pool, dense = find_cam_layers(model)
    data_format = getattr(pool, "data_format", None) or keras.config.image_data_format()
    return feature_model, dense, data_format


def class_activation_maps(
    model: keras.Model,
    images: Any,
    class_ids: Any = None,
    *,
    upsample: bool = True,
    batch_size: int = 128,
) -> np.ndarray:
    """Class activation maps of `images` for a model ending in GAP + Dense.

    CAM_c(i, j) = Σ_k w_{k,c} · A_k(i, j), with A the feature maps entering
    the GlobalAveragePooling2D layer and w the kernel of the Dense layer after
    it (the bias and the Dense activation are left out, as in Zhou et al.);
    the mean of CAM_c over the map plus the bias is the logit of class c.

    Args:
        model: a functional or Sequential Keras model whose last Dense layer
            takes the output of a GlobalAveragePooling2D (Dropout in between
            is fine).
        images: a batch (B, H, W, C) (channels-first if the pooling layer is).
        class_ids: None (each image's predicted class), an int, a (B,) array
            of class ids, or a (B, n) array for n maps per image.
        upsample: resize the maps bilinearly from the feature map's size to
            the image size (H, W); with False they keep the feature map's size.
        batch_size: images per forward pass.

    Returns:
        float32 NumPy array (B, H, W), or (B, n, H, W) for (B, n) class ids.
        Raw maps (not rectified or normalised): negative values are evidence
        against the class.
    """
    images = np.asarray(images)
    feature_model, dense, data_format = _feature_model(model)
    features = np.asarray(feature_model.predict(images, batch_size=batch_size, verbose=0), dtype="float32")
    if data_format == "channels_first":
        features = features.transpose(0, 2, 3, 1)
        height, width = images.shape[2:4]
    else:
        height, width = images.shape[1:3]
    kernel = _to_numpy(dense.kernel).astype("float32")  # (K, classes)
    if class_ids is None:
        logits = features.mean(axis=(1, 2)) @ kernel
        if dense.use_bias:
            logits = logits + _to_numpy(dense.bias)
        class_ids = logits.argmax(axis=1)
    class_ids = np.asarray(class_ids, dtype="int64")
    if class_ids.ndim == 0:
        class_ids = np.full((len(images),), int(class_ids))
    if class_ids.shape[0] != len(images) or class_ids.ndim > 2:
        raise ValueError(
            f"`class_ids` must be an int, (B,) or (B, n) with B={len(images)}; got shape {class_ids.shape}."
        )
    if class_ids.size and (class_ids.min() < 0 or class_ids.max() >= kernel.shape[1]):
        raise ValueError(f"`class_ids` must be in [0, {kernel.shape[1]}); got {class_ids.min()}..{class_ids.max()}.")
    ids = class_ids.reshape(len(images), -1)  # (B, n)
    weights = kernel[:, ids].transpose(1, 2, 0)  # (B, n, K)
    cams = np.einsum("bhwk,bnk->bnhw", features, weights)  # (B, n, h, w)
    if upsample and cams.shape[2:] != (height, width):
        b, n, h, w = cams.shape
        flat = cams.reshape(b * n, h, w, 1)
        flat = _to_numpy(
            keras.ops.image.resize(flat, (height, width), interpolation="bilinear", data_format="channels_last")
        )
        cams = flat.reshape(b, n, height, width)
    cams = cams.astype("float32")
    return cams if class_ids.ndim == 2 else cams[:, 0]


def two_class_composites(
    images: Any, labels: Any, num_images: int, seed: int = 0, data_format: str = "channels_last"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CutMix-style test images made of two classes: left half of one image, right half of another.

    Pairs (a, b) are drawn at random (seeded) among `images` with labels of
    different classes. Returns `(composites, region_a, labels_a, labels_b)`:
    composites (N, H, W, C) (channels-first in, channels-first out), the
    boolean (N, H, W) mask of the pixels taken from image a (columns
    < W // 2; the rest come from image b), and the two class ids.
    """
    images = np.asarray(images)
    labels = _sparse(labels)
    if len(np.unique(labels)) < 2:
        raise ValueError("two_class_composites needs images of at least two classes.")
    rng = np.random.default_rng(seed)
    a = rng.integers(len(images), size=num_images)
    b = rng.integers(len(images), size=num_images)
    same = labels[a] == labels[b]
    while same.any():
        b[same] = rng.integers(len(images), size=int(same.sum()))
        same = labels[a] == labels[b]
    composites = images[a].copy()
    width_axis = 3 if data_format == "channels_first" else 2
    height, width = images.shape[2:4] if data_format == "channels_first" else images.shape[1:3]
    half = width // 2
    index = [slice(None)] * images.ndim
    index[width_axis] = slice(half, None)
    composites[tuple(index)] = images[b][tuple(index)]
    region_a = np.zeros((num_images, height, width), bool)
    region_a[:, :, :half] = True
    return composites, region_a, labels[a], labels[b]


def cam_localization_score(
    model: keras.Model,
    composites: Any,
    region_a: Any,
    labels_a: Any,
    labels_b: Any,
    *,
    batch_size: int = 128,
    return_per_image: bool = False,
) -> Any:
    """How well the CAMs of a two-class image put each class where it is.

    For each composite i (pixels of class a inside `region_a`, of class b
    outside) and each of its classes c, the share of the positive CAM mass of
    c inside c's region:

        s_{i,c} = Σ_{p ∈ R_c} max(CAM_c(p), 0) / Σ_p max(CAM_c(p), 0)

    (the region's area share when the map has no positive mass). The score
    is the mean of s over both classes and all composites. Maps that ignore
    the image score 0.5 whatever the regions (the two area shares sum to 1);
    perfect localization scores 1.

    Returns the score (float), or the (N,) per-image means with
    `return_per_image=True`.
    """
    region_a = np.asarray(region_a, bool)
    ids = np.stack([_sparse(labels_a), _sparse(labels_b)], axis=1)
    cams = np.maximum(class_activation_maps(model, composites, ids, batch_size=batch_size), 0.0)  # (N, 2, H, W)
    if cams.shape[2:] != region_a.shape[1:]:
        raise ValueError(f"`region_a` must be (N, H, W) = {(len(cams),) + cams.shape[2:]}; got {region_a.shape}.")
    regions = np.stack([region_a, ~region_a], axis=1).astype("float32")
    mass = cams.sum(axis=(2, 3))
    inside = (cams * regions).sum(axis=(2, 3))
    area = regions.mean(axis=(2, 3))
    shares = np.where(mass > 0, inside / np.where(mass > 0, mass, 1.0), area)
    per_image = shares.mean(axis=1)
    return per_image if return_per_image else float(per_image.mean())


# ---------------------------------------------------------------------------
# Calibration


def expected_calibration_error(probs: Any, labels: Any, bins: int = 15) -> float:
    """Expected calibration error (Guo et al., 2017) with `bins` equal-width confidence bins.

    ECE = Σ_b (n_b / N) · |accuracy_b − mean confidence_b|, the confidence of
    a prediction being its top probability; bin b holds confidences in
    (b/bins, (b+1)/bins] (the first bin also holds 0).

    Args:
        probs: (N, K) predicted probabilities (rows summing to 1).
        labels: (N,) class ids, or (N, K) one-hot / soft labels (argmax taken).
    """
    probs = np.asarray(probs, dtype="float64")
    labels = _sparse(labels)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"`probs` must be (N, K) and `labels` (N,); got {probs.shape} and {labels.shape}.")
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"Argument `bins` must be a positive int. Received: bins={bins!r}")
    if len(probs) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype("float64")
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    gap = np.bincount(index, weights=correct - confidence, minlength=bins)
    return float(np.abs(gap).sum() / len(probs))


def predict_probabilities(
    model: keras.Model, images: Any, from_logits: bool = True, batch_size: int = 256
) -> np.ndarray:
    """`model.predict`, with a softmax when the model outputs logits."""
    out = np.asarray(model.predict(images, batch_size=batch_size, verbose=0), dtype="float64")
    if from_logits:
        out = np.exp(out - out.max(axis=1, keepdims=True))
        out /= out.sum(axis=1, keepdims=True)
    return out


# ---------------------------------------------------------------------------
# FGSM


def input_gradients(model: keras.Model, images: Any, labels: Any, from_logits: bool = True) -> np.ndarray:
    """∇ₓ of the summed cross-entropy of `model(x)` against `labels`, in inference mode.

    Works on the TensorFlow, JAX and torch backends. `labels` are class ids
    (B,) or dense (B, K) labels.
    """
    images = np.asarray(images, dtype="float32")
    labels = np.asarray(labels)
    if labels.ndim == 1 or (labels.ndim == 2 and labels.shape[1] == 1):
        num_classes = int(model.outputs[0].shape[-1]) if getattr(model, "outputs", None) else int(labels.max()) + 1
        labels = np.eye(num_classes, dtype="float32")[labels.reshape(-1).astype("int64")]
    labels = labels.astype("float32")

    def loss_of(x: Any) -> Any:
        predictions = keras.ops.cast(model(x, training=False), "float32")
        return keras.ops.sum(keras.losses.categorical_crossentropy(labels, predictions, from_logits=from_logits))

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_input_gradients(model, from_logits)(images, labels).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(loss_of)(jax.numpy.asarray(images)))
    if backend == "torch":
        import torch

        x = keras.ops.convert_to_tensor(images).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_of(x), x)
        return grad.detach().cpu().numpy()
    raise NotImplementedError(f"input_gradients supports the tensorflow, jax and torch backends, not {backend!r}.")


_TF_GRADIENT_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tf_input_gradients(model: keras.Model, from_logits: bool) -> Any:
    """A compiled (tf.function) input-gradient function per model, traced once per input shape."""
    import tensorflow as tf

    functions = _TF_GRADIENT_FUNCTIONS.setdefault(model, {})
    if from_logits not in functions:

        @tf.function(reduce_retracing=True)
        def gradients(x, labels):
            with tf.GradientTape() as tape:
                tape.watch(x)
                predictions = tf.cast(model(x, training=False), tf.float32)
                loss = tf.reduce_sum(
                    keras.losses.categorical_crossentropy(labels, predictions, from_logits=from_logits)
                )
            return tape.gradient(loss, x)

        functions[from_logits] = gradients
    return functions[from_logits]


def _check_epsilon(epsilon: Any) -> None:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon >= 0:
        raise ValueError(
            f"Argument `epsilon` must be a number >= 0 (or a sequence of them). Received: epsilon={epsilon!r}"
        )


def _perturb(images: np.ndarray, signs: np.ndarray, epsilon: float, value_range: Any) -> np.ndarray:
    adversarial = images + np.float32(epsilon) * signs
    if value_range is not None:
        adversarial = np.clip(adversarial, value_range[0], value_range[1])
    return adversarial.astype("float32")


def fgsm_attack(
    model: keras.Model,
    images: Any,
    labels: Any,
    epsilon: float,
    *,
    from_logits: bool = True,
    value_range: tuple[float, float] | None = (0.0, 1.0),
    batch_size: int = 256,
) -> np.ndarray:
    """FGSM adversarial images (Goodfellow et al., 2015): clip(x + ε · sign(∇ₓ CE(model(x), y))).

    `epsilon` is in the units of the model's input (8/255 for inputs in
    [0, 1] is the usual ImageNet budget); the result is clipped to
    `value_range` (None: no clipping).
    """
    _check_epsilon(epsilon)
    images = np.asarray(images, dtype="float32")
    out = np.empty_like(images)
    for start in range(0, len(images), batch_size):
        chunk = slice(start, start + batch_size)
        signs = np.sign(input_gradients(model, images[chunk], np.asarray(labels)[chunk], from_logits))
        out[chunk] = _perturb(images[chunk], signs, epsilon, value_range)
    return out


def fgsm_accuracy(
    model: keras.Model,
    images: Any,
    labels: Any,
    epsilon: float | Sequence[float],
    *,
    from_logits: bool = True,
    value_range: tuple[float, float] | None = (0.0, 1.0),
    batch_size: int = 256,
) -> float | list[float]:
    """Top-1 accuracy on FGSM images of budget `epsilon` (a float, or a sequence → a list).

    The gradient is computed once per image and reused for every ε, so a
    whole accuracy-versus-ε curve costs one backward pass. ε = 0 gives the
    clean accuracy.
    """
    epsilons = list(epsilon) if isinstance(epsilon, (list, tuple, np.ndarray)) else [epsilon]
    for value in epsilons:
        _check_epsilon(value)
    images = np.asarray(images, dtype="float32")
    sparse = _sparse(labels)
    correct = np.zeros(len(epsilons))
    for start in range(0, len(images), batch_size):
        chunk = slice(start, start + batch_size)
        x, y = images[chunk], sparse[chunk]
        signs = np.sign(input_gradients(model, x, y, from_logits)) if any(e > 0 for e in epsilons) else None
        for i, value in enumerate(epsilons):
            adversarial = x if value == 0 else _perturb(x, signs, value, value_range)
            predictions = _to_numpy(model.predict_on_batch(adversarial))
            correct[i] += float((predictions.argmax(axis=1) == y).sum())
    accuracies = [float(c / max(len(images), 1)) for c in correct]
    return accuracies if isinstance(epsilon, (list, tuple, np.ndarray)) else accuracies[0]
