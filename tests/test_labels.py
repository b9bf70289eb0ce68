"""Property 3: one-hot, soft and sparse labels; smoothing; clear errors."""

import numpy as np
import pytest
from helpers import backend_dtype, source_images, to_numpy

import keras_cutmix

B, H, W, K = 6, 12, 20, 5


def _images():
    return source_images(B, H, W)


@pytest.mark.parametrize("shape", [(B,), (B, 1)])
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_sparse_labels_become_one_hot_and_mix_like_one_hot(shape, dtype):
    sparse = (np.arange(B) % K).astype(dtype).reshape(shape)
    one_hot = np.eye(K, dtype="float32")[np.arange(B) % K]
    _, from_sparse = keras_cutmix.cutmix(_images(), sparse, seed=3, num_classes=K)
    _, from_one_hot = keras_cutmix.cutmix(_images(), one_hot, seed=3)
    from_sparse = to_numpy(from_sparse)
    assert from_sparse.shape == (B, K) and from_sparse.dtype == np.float32
    np.testing.assert_array_equal(from_sparse, to_numpy(from_one_hot))
    np.testing.assert_allclose(from_sparse.sum(axis=1), 1.0, atol=1e-6)


def test_soft_labels_mix_linearly_and_sum_to_one():
    rng = np.random.default_rng(0)
    soft = rng.dirichlet(np.ones(K), size=B).astype("float32")
    images = _images()
    params = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode="sample", correct_lambda=True).sample(1, B, H, W, 1.0)
    _, mixed = keras_cutmix.cutmix(images, soft, seed=1, mode="sample")
    w = to_numpy(params.partner_weight)[:, None]
    expected = soft * (1 - w) + soft[to_numpy(params.partner)] * w
    np.testing.assert_allclose(to_numpy(mixed), expected, atol=1e-6)
    np.testing.assert_allclose(to_numpy(mixed).sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_float_labels_keep_their_dtype(dtype):
    import keras

    labels = keras.ops.cast(np.eye(K)[np.arange(B) % K], dtype)
    _, mixed = keras_cutmix.cutmix(_images(), labels, seed=0)
    assert keras.backend.standardize_dtype(mixed.dtype) == backend_dtype(dtype)


def test_label_smoothing_is_applied_before_mixing():
    eps = 0.1
    sparse = np.arange(B) % K
    _, smoothed = keras_cutmix.cutmix(_images(), sparse, seed=2, num_classes=K, label_smoothing=eps, probability=0.0)
    expected = np.eye(K)[sparse] * (1 - eps) + eps / K
    np.testing.assert_allclose(to_numpy(smoothed), expected, atol=1e-6)
    _, mixed = keras_cutmix.cutmix(_images(), sparse, seed=2, num_classes=K, label_smoothing=eps)
    mixed = to_numpy(mixed)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-6)
    assert mixed.min() >= eps / K - 1e-7


def test_errors_name_the_shapes():
    images = _images()
    with pytest.raises(ValueError, match=r"num_classes"):
        keras_cutmix.cutmix(images, np.arange(B), seed=0)
    with pytest.raises(ValueError, match=r"rank 1 is ambiguous"):
        keras_cutmix.cutmix(images, np.arange(B).astype("float32"), seed=0)
    with pytest.raises(ValueError, match=r"\(6, 20, 3\)|shape \(6, 5\)|batch size"):
        keras_cutmix.cutmix(images, np.eye(K, dtype="float32")[:5], seed=0)
    with pytest.raises(ValueError, match=r"images have shape \(6, 12, 20, 3\), labels have shape \(4,\)"):
        keras_cutmix.cutmix(images, np.arange(4), seed=0, num_classes=K)
    with pytest.raises(ValueError, match=r"have 5 classes \(shape \(6, 5\)\) but num_classes=7"):
        keras_cutmix.cutmix(images, np.eye(K, dtype="float32")[np.arange(B) % K], seed=0, num_classes=7)
    with pytest.raises(
        ValueError, match=r"class ids and must have shape \(B,\) or \(B, 1\); received labels of shape \(6, 5\)"
    ):
        keras_cutmix.cutmix(images, np.eye(K, dtype="int32")[np.arange(B) % K], seed=0, num_classes=K)
    with pytest.raises(ValueError, match=r"dtype bool"):
        keras_cutmix.cutmix(images, np.ones((B, K), bool), seed=0)


# ---------------------------------------------------------------------------
# Label heads (one per model output) and multi-hot labels (issue #12)


def _heads_share_weights(images, heads, ids):
    """Every head is the same mixing of its own one-hot rows: the pixel shares."""
    from helpers import recovered_fractions

    shares = recovered_fractions(images, B)
    for name, head in heads.items():
        k = K if name == "kind" else 3
        np.testing.assert_allclose(to_numpy(head), shares @ np.eye(k)[ids[name]], atol=1e-6)


@pytest.mark.parametrize("form", ["function", "layer", "tf.data", "tuple"])
def test_label_heads_are_mixed_with_the_same_weights(form):
    import tensorflow as tf

    ids = {"kind": np.arange(B) % K, "colour": np.arange(B) % 3}
    labels = {"kind": ids["kind"], "colour": np.eye(3, dtype="float32")[ids["colour"]]}  # one sparse, one dense head
    num_classes = {"kind": K}
    if form == "function":
        images, heads = keras_cutmix.cutmix(_images(), labels, seed=1, num_classes=num_classes, mode="sample")
    elif form == "layer":
        images, heads = keras_cutmix.CutMix(num_classes=num_classes, seed=1, mode="sample")(_images(), labels)
    elif form == "tf.data":
        layer = keras_cutmix.CutMix(num_classes=num_classes, seed=1, mode="sample")
        images, heads = next(iter(tf.data.Dataset.from_tensors((_images(), labels)).map(layer)))
    else:
        images, (kind, colour) = keras_cutmix.cutmix(
            _images(), (labels["kind"], labels["colour"]), seed=1, num_classes=[K, None], mode="sample"
        )
        heads = {"kind": kind, "colour": colour}
    assert set(heads) == {"kind", "colour"}
    _heads_share_weights(images, heads, ids)
    with pytest.raises(ValueError, match="names heads"):
        keras_cutmix.cutmix(_images(), labels, seed=1, num_classes={"size": 4})
    with pytest.raises(ValueError, match="need `num_classes`"):
        keras_cutmix.cutmix(_images(), labels, seed=1)


def test_multi_hot_labels_mix_by_the_pixel_share_unnormalized():
    rng = np.random.default_rng(0)
    multi_hot = (rng.random((B, K)) < 0.5).astype("float32")
    multi_hot[:, 0] = 1  # at least one class each; row sums up to K
    images, mixed = keras_cutmix.cutmix(_images(), multi_hot, seed=2, mode="sample")
    from helpers import recovered_fractions

    shares = recovered_fractions(images, B)
    np.testing.assert_allclose(to_numpy(mixed), shares @ multi_hot, atol=1e-6)  # linear, not renormalized
    np.testing.assert_allclose(to_numpy(mixed).sum(axis=1), shares @ multi_hot.sum(axis=1), atol=1e-5)
