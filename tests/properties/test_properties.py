"""Property-based tests (issue #6): the guarantees of the README, for any input.

Hypothesis draws batch size (1–64), height and width (1–64, independently),
channels (1, 3, 4), image dtype (uint8, float16, bfloat16, float32), data
format, mode, α in (0, 10] (subnormal to 10), probability, label form (sparse
ids of several integer dtypes and shapes, dense labels of several float dtypes,
none), label smoothing and the options of each method, then checks:

1. CutMix labels are the shares of pixels taken from each image, read back from
   the output pixels (image i is the constant i + 1); the paste is one
   rectangle from one partner, the same in every channel; the label modes.
   MixUp pixels are the label-weighted blend of the two images; CutMixOrMixUp
   does one or the other per sample, exactly.
2. Label rows sum to 1 and lie in [0, 1], label smoothing included.
3. Images keep shape and dtype; labels become (B, K), float dtypes kept, sparse
   ids made float32; sample_weight passes through.
4. Samples the coin of `probability` left alone are bit-identical, image and
   label; with probability 0 the whole batch is.
5. The same seed gives the same output (functions and layers).
6. No NaN or Inf for any α in (0, 10]; λ, label weights and blend weights in
   [0, 1]; boxes inside the image; partners one cycle through the batch.
7. Cutout fills exactly its box with the fill value and leaves labels alone.

Every example is an eager call on a new shape. JAX compiles each eager op for
each new shape (0.05–3 s per op on 2 CPU cores; every new batch size
recompiles the ~150 ops of the sampler), so under JAX (B, H, W) comes from a
small fixed pool (B 1 or 64, sides 1, 7 or 64, H ≠ W included) whose compiled
ops are reused across examples, with fewer examples. TensorFlow and torch draw
every size. The example counts come from the "ci"/"dev" profiles in conftest.py.
"""

import keras
import numpy as np
from helpers import (
    assert_labels_are_pixel_shares,
    backend_dtype,
    draw,
    function_of,
    label_blends,
    label_mode_targets,
    layer_of,
    recovered_fractions,
    source_images,
    to_channels_last,
    to_numpy,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import keras_cutmix
from keras_cutmix import methods
from keras_cutmix.methods import ALL

BACKEND = keras.backend.backend()

IMAGE_DTYPES = ("uint8", "float16", "bfloat16", "float32")
FLOAT_IMAGE_DTYPES = ("float16", "bfloat16", "float32")
LABEL_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
LABEL_INT_DTYPES = ("int32", "int64", "uint8")
# Machine epsilon (spacing at 1) of each float dtype.
EPS = {"float16": 2.0**-10, "bfloat16": 2.0**-7, "float32": 2.0**-23, "float64": 2.0**-52}

if BACKEND == "jax":
    # (B, H, W) from a fixed pool: 1 and 64 in each place, H ≠ W, 1×1 images.
    SIZES = st.sampled_from([(1, 64, 7), (64, 1, 1), (1, 7, 64), (64, 64, 64), (64, 1, 7)])
    # Fewer examples: a new dtype, channel count or option still compiles a few ops.
    EXAMPLES_SCALE = 0.3
else:
    SIZES = st.tuples(st.integers(1, 64), st.integers(1, 64), st.integers(1, 64))
    EXAMPLES_SCALE = 1.0

MODES = st.sampled_from(["batch", "sample"])
SIDES = ("top", "bottom", "left", "right")  # the box of a draw
DATA_FORMATS = st.sampled_from(["channels_last", "channels_first"])
SEEDS = st.integers(0, 2**31 - 1)
# α = 1 is its own (exact uniform) branch; tiny α down to subnormals, big α up to 10.
ALPHAS = st.one_of(
    st.sampled_from([1.0, 1e-3, 10.0]),
    st.floats(1e-3, 10.0),
    st.floats(0.0, 1e-3, exclude_min=True),
)
PROBABILITIES = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))
SMOOTHINGS = st.one_of(st.just(0.0), st.floats(0.0, 1.0))


def examples(weight=1.0):
    """The profile's example count times `weight` (fewer under JAX)."""
    return settings(max_examples=max(2, round(settings().max_examples * weight * EXAMPLES_SCALE)))


@st.composite
def image_cases(draw, dtypes=IMAGE_DTYPES):
    batch, height, width = draw(SIZES)
    return dict(
        batch=batch,
        height=height,
        width=width,
        channels=draw(st.sampled_from([1, 3, 4])),
        dtype=draw(st.sampled_from(dtypes)),
        data_format=draw(DATA_FORMATS),
    )


@st.composite
def label_forms(draw, kinds=("sparse", "dense")):
    """How the one-hot labels of the sample index (class i for sample i) are passed."""
    kind = draw(st.sampled_from(kinds))
    if kind == "sparse":
        return dict(
            kind=kind, dtype=draw(st.sampled_from(LABEL_INT_DTYPES)), column=draw(st.booleans()), num_classes=True
        )
    if kind == "dense":
        return dict(kind=kind, dtype=draw(st.sampled_from(LABEL_FLOAT_DTYPES)), num_classes=draw(st.booleans()))
    return dict(kind=kind)


def make_images(case):
    images = source_images(
        case["batch"], case["height"], case["width"], case["channels"], "float32", case["data_format"]
    )
    if case["dtype"] == "bfloat16":  # NumPy has no bfloat16: a backend tensor
        return keras.ops.cast(images, "bfloat16")
    return images.astype(case["dtype"])


def make_labels(form, batch):
    """(labels, extra kwargs, expected output dtype) for class i of sample i."""
    if form["kind"] == "none":
        return None, {}, None
    if form["kind"] == "sparse":
        ids = np.arange(batch).astype(form["dtype"])
        return (ids[:, None] if form["column"] else ids), {"num_classes": batch}, "float32"
    one_hot = np.eye(batch, dtype="float32")
    labels = keras.ops.cast(one_hot, "bfloat16") if form["dtype"] == "bfloat16" else one_hot.astype(form["dtype"])
    expected = "bfloat16" if form["dtype"] == "bfloat16" else backend_dtype(form["dtype"])  # float64 → float32 on JAX
    return labels, ({"num_classes": batch} if form["num_classes"] else {}), expected


def as_f64(x):
    """Any tensor as float64 NumPy (through float32: exact for every dtype used here)."""
    return to_numpy(keras.ops.cast(x, "float32")).astype("float64")


def dtype_of(x):
    return keras.backend.standardize_dtype(x.dtype)


def check_images_kept(mixed, case):
    assert dtype_of(mixed) == case["dtype"]
    b, h, w, c = case["batch"], case["height"], case["width"], case["channels"]
    expected = (b, c, h, w) if case["data_format"] == "channels_first" else (b, h, w, c)
    assert tuple(mixed.shape) == expected


def mix(method, case, labels, seed, **options):
    """`method`'s function on the case's images (in its data format), their shape and dtype checked: its output."""
    out = function_of(method)(make_images(case), labels, seed=seed, data_format=case["data_format"], **options)
    check_images_kept(out[0] if labels is not None else out, case)
    return out


def label_tolerance(dtype):
    # A few roundings (smoothing, cast of the weight, the two products and the
    # sum), never finer than float32: the weights are computed in float32.
    return 4 * max(EPS[dtype], EPS["float32"])


def check_label_rows(labels, dtype):
    """Rows sum to 1 and every entry is in [0, 1]."""
    y = as_f64(labels)
    assert np.all(np.isfinite(y))
    assert y.min() >= 0.0 and y.max() <= 1.0, (y.min(), y.max())
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=0, atol=label_tolerance(dtype) * max(1, y.shape[1] ** 0.5))
    return y


def broadcast(params_field, batch):
    """A (n,) field of MixParams as (B,): n is 1 in "batch" mode."""
    return np.broadcast_to(to_numpy(params_field), (batch,))


def check_partners(partner_of, batch):
    """Partners of the mixed samples: never the sample itself (B > 1), each used once."""
    partners = list(partner_of.values())
    if batch > 1:
        assert all(p != i for i, p in partner_of.items()), partner_of
    assert len(set(partners)) == len(partners), partner_of


# --- 1, 2, 3: CutMix labels are the pasted pixels ---------------------------------


@st.composite
def cutmix_variants(draw):
    side = st.one_of(st.integers(1, 64), st.floats(0.01, 1.0))
    return dict(
        box_center=draw(st.sampled_from(["uniform", "gaussian"])),
        center_std=draw(st.floats(0.01, 1.0)),
        box_size=draw(st.one_of(st.none(), st.none(), side, st.tuples(side, side))),
        label_mode=draw(st.sampled_from(["area", "area", "one_hot", "complete"])),
    )


@examples(1.5)
@given(
    case=image_cases(),
    form=label_forms(),
    mode=MODES,
    alpha=ALPHAS,
    probability=PROBABILITIES,
    smoothing=SMOOTHINGS,
    variant=cutmix_variants(),
    seed=SEEDS,
)
def test_cutmix_labels_are_the_pasted_pixel_shares(case, form, mode, alpha, probability, smoothing, variant, seed):
    b, fmt = case["batch"], case["data_format"]
    labels, kwargs, label_dtype = make_labels(form, b)
    options = dict(alpha=alpha, probability=probability, mode=mode, label_smoothing=smoothing, **variant, **kwargs)
    mixed, mixed_labels = mix(methods.CutMixOptions, case, labels, seed, **options)
    assert dtype_of(mixed_labels) == label_dtype and tuple(mixed_labels.shape) == (b, b)
    # One rectangle from one partner, the same in every channel (checked by the helper).
    fractions = recovered_fractions(as_f64(mixed), b, fmt)
    share = 1.0 - np.diag(fractions)
    partner = np.where(np.eye(b, dtype=bool), -1.0, fractions).argmax(axis=1)
    check_partners({i: int(partner[i]) for i in range(b) if share[i] > 0}, b)
    expected = (1.0 - smoothing) * label_mode_targets(fractions, variant["label_mode"]) + smoothing / b
    y = check_label_rows(mixed_labels, label_dtype)
    np.testing.assert_allclose(y, expected, rtol=0, atol=label_tolerance(label_dtype))
    if mode == "batch" and b > 1:  # one box for the whole batch
        foreign = to_channels_last(as_f64(mixed), fmt)[..., 0] != np.arange(1, b + 1)[:, None, None]
        assert all(np.array_equal(foreign[0], foreign[i]) for i in range(b))


# --- MixUp and CutMixOrMixUp: the blend is the label weight ----------------------------


def pixel_tolerance(dtype, batch):
    if dtype == "uint8":  # blended in float32, rounded back
        return 0.5 + 1e-3
    return 4 * EPS[dtype] * batch  # values up to B, a few roundings


def check_blended(mixed_i, label_row, dtype, batch):
    """Every pixel of a blended sample is Σ_j y_j · (j + 1), between its two sources."""
    expected = float(label_blends(label_row[None], batch)[0])
    tol = pixel_tolerance(dtype, batch)
    np.testing.assert_allclose(mixed_i, expected, rtol=0, atol=tol)
    sources = np.arange(1, batch + 1)[label_row > 0]
    assert sources.min() - tol <= mixed_i.min() and mixed_i.max() <= sources.max() + tol
    if dtype == "uint8":
        assert np.all(mixed_i == np.round(mixed_i))


@examples(1.0)
@given(case=image_cases(), dense=st.booleans(), mode=MODES, alpha=ALPHAS, probability=PROBABILITIES, seed=SEEDS)
def test_mixup_pixels_are_the_label_weighted_blend(case, dense, mode, alpha, probability, seed):
    b, fmt = case["batch"], case["data_format"]
    labels = np.eye(b, dtype="float32") if dense else np.arange(b)
    options = dict(alpha=alpha, probability=probability, mode=mode, num_classes=b)
    mixed, mixed_labels = mix(methods.MixUpOptions, case, labels, seed, **options)
    y = check_label_rows(mixed_labels, "float32")
    assert dtype_of(mixed_labels) == "float32"
    pixels = to_channels_last(as_f64(mixed), fmt)
    partner_of = {}
    for i in range(b):
        others = [j for j in np.flatnonzero(y[i]) if j != i]
        assert len(others) <= 1, y[i]  # one partner
        if others:
            partner_of[i] = others[0]
        check_blended(pixels[i], y[i], case["dtype"], b)
    check_partners(partner_of, b)
    if mode == "batch":  # one λ for the batch
        np.testing.assert_allclose(np.diag(y)[list(partner_of)], y[0, 0], atol=1e-6)


@examples(1.0)
@given(case=image_cases(), mode=MODES, probability=PROBABILITIES, data=st.data(), seed=SEEDS)
def test_cutmix_or_mixup_pastes_or_blends_each_sample_exactly(case, mode, probability, data, seed):
    """Both α and `switch_probability` drawn too."""
    b, h, w, fmt = case["batch"], case["height"], case["width"], case["data_format"]
    method = methods.CutMixOrMixUpOptions
    options = dict(probability=probability, mode=mode, **method_options(method, data.draw))
    mixed, mixed_labels = mix(method, case, np.arange(b), seed, num_classes=b, **options)
    y = check_label_rows(mixed_labels, "float32")
    # Which samples were blended: from the same draw (the options' sampler, same seed).
    params = draw(method, seed, b, h, w, **options)
    blended = broadcast(params.blend, b) > 0
    pixels = to_channels_last(as_f64(mixed), fmt)
    for i in np.flatnonzero(blended):
        check_blended(pixels[i], y[i], case["dtype"], b)
    # Pasted (or untouched): integer pixels, channels alike, one rectangle from one partner.
    assert np.all(pixels[~blended] == np.round(pixels[~blended]))
    assert_labels_are_pixel_shares(pixels, y, b, atol=label_tolerance("float32"), samples=~blended)


# --- ResizeMix and FMix: labels are the pasted pixels ------------------------------------


@examples(1.0)
@given(
    case=image_cases(),
    method=st.sampled_from([methods.ResizeMixOptions, methods.FMixOptions]),
    mode=MODES,
    probability=PROBABILITIES,
    data=st.data(),
    seed=SEEDS,
)
def test_resizemix_and_fmix_labels_are_the_pasted_pixel_shares(case, method, mode, probability, data, seed):
    b, fmt = case["batch"], case["data_format"]
    options = dict(mode=mode, probability=probability, num_classes=b, **method_options(method, data.draw))
    mixed, mixed_labels = mix(method, case, np.arange(b), seed, **options)
    check_label_rows(mixed_labels, "float32")
    # ResizeMix pastes one rectangle (a constant image resized is that constant); FMix's mask has any shape.
    rectangle = method is methods.ResizeMixOptions
    tolerance = label_tolerance("float32")
    shares = assert_labels_are_pixel_shares(as_f64(mixed), mixed_labels, b, fmt, rectangle=rectangle, atol=tolerance)
    assert np.all((shares > 0).sum(axis=1) <= 2)  # one partner


# --- 7: Cutout ---------------------------------------------------------------------


@st.composite
def cutout_sizes(draw):
    side = st.one_of(st.integers(1, 64), st.floats(0.01, 1.0))
    return draw(st.tuples(side, side))


def fill_values(dtype):
    if dtype == "uint8":
        return st.sampled_from([0, 7, 255])
    return st.sampled_from([0, 0.5, -1.0, 3.0, 255])


@examples(1.0)
@given(
    case=image_cases(),
    form=label_forms(kinds=("sparse", "dense", "none")),
    size=cutout_sizes(),
    mode=MODES,
    probability=PROBABILITIES,
    smoothing=SMOOTHINGS,
    data=st.data(),
    seed=SEEDS,
)
def test_cutout_fills_exactly_its_box_and_keeps_labels(case, form, size, mode, probability, smoothing, data, seed):
    b, h, w, fmt = case["batch"], case["height"], case["width"], case["data_format"]
    fill = data.draw(fill_values(case["dtype"]), label="fill_value")
    labels, kwargs, label_dtype = make_labels(form, b)
    options = dict(size=size, fill_value=fill, mode=mode, probability=probability, label_smoothing=smoothing, **kwargs)
    out = mix(methods.CutoutOptions, case, labels, seed, **options)
    erased = out[0] if labels is not None else out
    # The box from the same draw; its sides are the requested ones unless an edge clips them.
    params = draw(methods.CutoutOptions, seed, b, h, w, size=size, probability=probability, mode=mode)
    top, bottom, left, right = (broadcast(getattr(params, side), b) for side in SIDES)
    applied = broadcast(params.applied, b)
    # Fractions of a side are rounded in float32, as the sampler does.
    want = [
        min(s, n) if isinstance(s, int) else int(np.floor(np.float32(n) * np.float32(s) + np.float32(0.5)))
        for s, n in zip(size, (h, w))
    ]
    expected = to_channels_last(as_f64(make_images(case)), fmt).copy()
    fill_cast = float(as_f64(keras.ops.cast(fill, case["dtype"])))
    for i in range(b):
        assert 0 <= top[i] <= bottom[i] <= h and 0 <= left[i] <= right[i] <= w
        if not applied[i]:
            assert bottom[i] == top[i]
            continue
        if want[0] > 0 and want[1] > 0:
            assert bottom[i] - top[i] == want[0] or top[i] == 0 or bottom[i] == h
            assert right[i] - left[i] == want[1] or left[i] == 0 or right[i] == w
            assert bottom[i] > top[i] and right[i] > left[i]  # the box holds its centre pixel
        else:  # a fraction that rounds to 0 pixels: nothing erased
            assert bottom[i] == top[i] or right[i] == left[i]
        expected[i, top[i] : bottom[i], left[i] : right[i], :] = fill_cast
    np.testing.assert_array_equal(to_channels_last(as_f64(erased), fmt), expected)
    if labels is not None:
        # Untouched: exactly what the same call gives outside training (made dense, smoothed).
        reference = keras_cutmix.cutout(
            make_images(case), labels, seed=seed, training=False, data_format=fmt, **options
        )[1]
        assert dtype_of(out[1]) == label_dtype
        np.testing.assert_array_equal(as_f64(out[1]), as_f64(reference))
        check_label_rows(out[1], label_dtype)
        if form["kind"] == "dense" and smoothing == 0.0:
            np.testing.assert_array_equal(as_f64(out[1]), np.eye(b))


# --- 4: unmixed samples are untouched -------------------------------------------------


def alpha_options(draw):
    return dict(alpha=draw(ALPHAS))


# The options each method of the registry is drawn with; test_every_method_has_its_properties
# fails for a method missing here, so that every guarantee holds for every method.
OPTION_STRATEGIES = {
    methods.CutMixOptions: alpha_options,
    methods.MixUpOptions: alpha_options,
    methods.CutoutOptions: lambda draw: dict(size=draw(cutout_sizes())),
    methods.CutMixOrMixUpOptions: lambda draw: dict(
        cutmix_alpha=draw(ALPHAS), mixup_alpha=draw(ALPHAS), switch_probability=draw(PROBABILITIES)
    ),
    methods.ResizeMixOptions: lambda draw: dict(
        scale=draw(st.tuples(st.floats(0.01, 1.0), st.floats(0.01, 1.0)).map(sorted).map(tuple)),
        interpolation=draw(st.sampled_from(["bilinear", "nearest"])),
    ),
    methods.FMixOptions: lambda draw: dict(alpha=draw(ALPHAS), decay_power=draw(st.floats(0.5, 5.0))),
}
METHODS = st.sampled_from(ALL)


def method_options(method, draw):
    return OPTION_STRATEGIES[method](draw)


def mixed_and_unmixed(method, case, options, seed):
    """Images, mixed and labels as float64, and the labels before mixing (training=False)."""
    images = make_images(case)
    labels = np.eye(case["batch"], dtype="float32")  # class i for sample i: distinct classes
    function = function_of(method)
    mixed, mixed_labels = function(images, labels, seed=seed, **options)
    check_images_kept(mixed, case)
    dense = function(images, labels, seed=seed, training=False, **options)[1]
    return as_f64(images), as_f64(mixed), as_f64(mixed_labels), as_f64(dense)


@examples(0.5)
@given(case=image_cases(), method=METHODS, mode=MODES, smoothing=SMOOTHINGS, data=st.data(), seed=SEEDS)
def test_probability_zero_changes_nothing(case, method, mode, smoothing, data, seed):
    options = dict(
        mode=mode,
        probability=0.0,
        label_smoothing=smoothing,
        data_format=case["data_format"],
        **method_options(method, data.draw),
    )
    before, after, y, dense = mixed_and_unmixed(method, case, options, seed)
    np.testing.assert_array_equal(after, before)
    np.testing.assert_array_equal(y, dense)


@examples(1.5)
@given(
    case=image_cases(),
    method=METHODS,
    mode=st.sampled_from(["sample", "sample", "batch"]),
    probability=st.floats(0.05, 0.95),
    smoothing=SMOOTHINGS,
    data=st.data(),
    seed=SEEDS,
)
def test_unmixed_samples_are_bit_identical(case, method, mode, probability, smoothing, data, seed):
    b, h, w, fmt = case["batch"], case["height"], case["width"], case["data_format"]
    options = dict(
        mode=mode,
        probability=probability,
        label_smoothing=smoothing,
        data_format=fmt,
        **method_options(method, data.draw),
    )
    before, after, y, dense = mixed_and_unmixed(method, case, options, seed)
    # Which samples the coin left alone: from the same draw (the options' sampler, same seed).
    params = method(**options).sample(seed, b, h, w, probability)
    applied = broadcast(params.applied, b)
    np.testing.assert_array_equal(after[~applied], before[~applied])
    np.testing.assert_array_equal(y[~applied], dense[~applied])
    if method is methods.CutMixOptions and smoothing == 0.0:
        # Labels are exact pixel shares: a label still its own one-hot means nothing was pasted.
        same_label = np.all(y == dense, axis=1)
        np.testing.assert_array_equal(after[same_label], before[same_label])


# --- 5: same seed, same output ----------------------------------------------------------


@examples(1.0)
@given(
    case=image_cases(),
    method=METHODS,
    layer=st.booleans(),
    mode=MODES,
    probability=PROBABILITIES,
    data=st.data(),
    seed=SEEDS,
)
def test_same_seed_same_output(case, method, layer, mode, probability, data, seed):
    b = case["batch"]
    options = dict(
        mode=mode,
        probability=probability,
        num_classes=b,
        data_format=case["data_format"],
        **method_options(method, data.draw),
    )
    images, labels = make_images(case), np.arange(b)
    if layer:  # two layers of the same seed draw the same stream
        runs = [layer_of(method)(seed=seed, **options)(images, labels) for _ in range(2)]
    else:
        runs = [function_of(method)(images, labels, seed=seed, **options) for _ in range(2)]
    (first_images, first_labels), (second_images, second_labels) = runs
    assert dtype_of(first_images) == dtype_of(second_images) == case["dtype"]
    np.testing.assert_array_equal(as_f64(first_images), as_f64(second_images))
    np.testing.assert_array_equal(as_f64(first_labels), as_f64(second_labels))


# --- 6: finite, in range, for any α -------------------------------------------------------


def check_one_cycle(partner, batch):
    """The partners are one cycle through the whole batch (a derangement for B > 1)."""
    assert sorted(partner.tolist()) == list(range(batch))
    i, steps = 0, 0
    while True:
        i, steps = int(partner[i]), steps + 1
        if i == 0:
            break
    assert steps == batch, partner


@examples(2.0)
@given(
    size=SIZES,
    mode=MODES,
    alpha=ALPHAS,
    probability=PROBABILITIES,
    box_center=st.sampled_from(["uniform", "gaussian"]),
    correct_lambda=st.booleans(),
    seed=SEEDS,
)
def test_sampled_parameters_are_finite_and_in_range(size, mode, alpha, probability, box_center, correct_lambda, seed):
    batch, height, width = size
    options = dict(alpha=alpha, probability=probability, mode=mode)
    cut = draw(
        methods.CutMixOptions,
        seed,
        batch,
        height,
        width,
        correct_lambda=correct_lambda,
        box_center=box_center,
        **options,
    )
    mix = draw(methods.MixUpOptions, seed, batch, height, width, **options)
    n = batch if mode == "sample" else 1
    for params in (cut, mix):
        lam, weight, blend = (to_numpy(t).astype("float64") for t in (params.lam, params.partner_weight, params.blend))
        for name, value in (("lam", lam), ("partner_weight", weight), ("blend", blend)):
            assert value.shape == (n,), (name, value.shape)
            assert np.all(np.isfinite(value)) and np.all((value >= 0) & (value <= 1)), (name, alpha, value)
        check_one_cycle(to_numpy(params.partner), batch)
    top, bottom, left, right = (to_numpy(getattr(cut, side)) for side in SIDES)
    applied = to_numpy(cut.applied)
    assert np.all((top >= 0) & (top <= bottom) & (bottom <= height)), (top, bottom)
    assert np.all((left >= 0) & (left <= right) & (right <= width)), (left, right)
    assert np.all(bottom[~applied] == top[~applied])
    weight = to_numpy(cut.partner_weight)
    if correct_lambda:  # the exact share of the box
        np.testing.assert_allclose(weight, (bottom - top) * (right - left) / (height * width), rtol=0, atol=1e-6)
    else:  # the sampled λ
        np.testing.assert_allclose(weight, np.where(applied, 1 - to_numpy(cut.lam), 0), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(to_numpy(mix.blend), np.where(to_numpy(mix.applied), 1 - to_numpy(mix.lam), 0))


@examples(1.0)
@given(
    case=image_cases(dtypes=FLOAT_IMAGE_DTYPES),
    form=label_forms(),
    method=METHODS,
    mode=MODES,
    probability=PROBABILITIES,
    smoothing=SMOOTHINGS,
    correct_lambda=st.booleans(),
    data=st.data(),
    seed=SEEDS,
)
def test_outputs_are_finite_for_any_alpha(case, form, method, mode, probability, smoothing, correct_lambda, data, seed):
    b = case["batch"]
    labels, kwargs, label_dtype = make_labels(form, b)
    options = dict(mode=mode, probability=probability, label_smoothing=smoothing, **method_options(method, data.draw))
    if "correct_lambda" in method.option_names():
        options["correct_lambda"] = correct_lambda
    mixed, mixed_labels = mix(method, case, labels, seed, **options, **kwargs)
    assert np.all(np.isfinite(as_f64(mixed)))
    assert dtype_of(mixed_labels) == label_dtype
    check_label_rows(mixed_labels, label_dtype)
    if method is methods.CutMixOptions and not correct_lambda and b > 1:
        # The partner's label weight is the sampled 1 − λ (smoothed), finite for every α.
        params = draw(method, seed, b, case["height"], case["width"], **options)
        lam, applied = broadcast(params.lam, b), broadcast(params.applied, b)
        expected = (1 - smoothing) * np.where(applied, 1 - lam, 0.0) + smoothing / b
        y = as_f64(mixed_labels)[np.arange(b), to_numpy(params.partner)]
        np.testing.assert_allclose(y, expected, rtol=0, atol=label_tolerance(label_dtype))


# --- 3: shapes and dtypes of every call form ----------------------------------------------


@examples(1.5)
@given(
    case=image_cases(),
    form=label_forms(kinds=("sparse", "dense", "none")),
    method=METHODS,
    weights=st.booleans(),
    training=st.booleans(),
    mode=MODES,
    data=st.data(),
    seed=SEEDS,
)
def test_shapes_and_dtypes_are_kept(case, form, method, weights, training, mode, data, seed):
    b = case["batch"]
    images = make_images(case)
    labels, kwargs, label_dtype = make_labels(form, b)
    sample_weight = np.linspace(0.0, 1.0, b).astype("float32") if weights and labels is not None else None
    options = dict(
        mode=mode, data_format=case["data_format"], training=training, **method_options(method, data.draw), **kwargs
    )
    out = function_of(method)(images, labels, sample_weight, seed=seed, **options)
    if labels is None:
        check_images_kept(out, case)
        return
    assert len(out) == (3 if sample_weight is not None else 2)
    check_images_kept(out[0], case)
    assert dtype_of(out[1]) == label_dtype and tuple(out[1].shape) == (b, b)
    check_label_rows(out[1], label_dtype)
    if not training:
        np.testing.assert_array_equal(as_f64(out[0]), as_f64(images))
        np.testing.assert_array_equal(as_f64(out[1]), np.eye(b))
    if sample_weight is not None:
        np.testing.assert_array_equal(to_numpy(out[2]), sample_weight)


def test_profiles_are_registered():
    """The CI profile replays fixed examples; both bound the example count (8 outside the tensorflow leg)."""
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.deadline is None and ci.print_blob and ci.max_examples <= 50
    assert settings.get_profile("dev").max_examples == ci.max_examples
    assert ci.max_examples == (20 if keras.backend.backend() == "tensorflow" else 8)


# Which property checks each method's pixels and labels against the oracle.
LABEL_PROPERTIES = {
    methods.CutMixOptions: test_cutmix_labels_are_the_pasted_pixel_shares,
    methods.MixUpOptions: test_mixup_pixels_are_the_label_weighted_blend,
    methods.CutoutOptions: test_cutout_fills_exactly_its_box_and_keeps_labels,
    methods.CutMixOrMixUpOptions: test_cutmix_or_mixup_pastes_or_blends_each_sample_exactly,
    methods.ResizeMixOptions: test_resizemix_and_fmix_labels_are_the_pasted_pixel_shares,
    methods.FMixOptions: test_resizemix_and_fmix_labels_are_the_pasted_pixel_shares,
}


def test_every_method_has_its_properties():
    """Every method of the registry is drawn by the shared properties and has its pixel and label oracle."""
    assert set(OPTION_STRATEGIES) == set(ALL)
    assert set(LABEL_PROPERTIES) == set(ALL)
