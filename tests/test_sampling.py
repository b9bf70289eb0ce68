"""Sampling: Beta(α, α), box centres and sizes, partners, seeds."""

import numpy as np
import pytest
from helpers import to_numpy
from scipy import stats

import keras_cutmix
from keras_cutmix import methods, rng, sampling


def _beta_samples(alpha, n=20000, seed=(3, 4)):
    u = rng.uniform(np.array(seed, "int32"), (sampling.beta_rows(alpha), n))
    return to_numpy(keras_cutmix.sampling.sample_beta(alpha, u)).astype("float64")


@pytest.mark.parametrize("alpha", [0.05, 0.2, 0.5, 1.0, 2.0, 8.0])
def test_beta_matches_the_beta_distribution(alpha):
    x = _beta_samples(alpha)
    assert np.all(np.isfinite(x)) and x.min() >= 0 and x.max() <= 1
    # Empirical vs true CDF on a grid inside (0, 1) (float32 rounds the very
    # extreme samples of small α to exactly 0 or 1, which a plain KS test
    # reads as an atom). DKW: P(sup |F_n − F| > 0.02) ≤ 2·exp(−2n·0.02²) ≈ 2e-7,
    # and the seed is fixed, so this is deterministic.
    grid = np.linspace(0.001, 0.999, 999)
    empirical = np.searchsorted(np.sort(x), grid, side="right") / x.size
    assert np.abs(empirical - stats.beta(alpha, alpha).cdf(grid)).max() < 0.02
    np.testing.assert_allclose(x.mean(), 0.5, atol=0.01)
    np.testing.assert_allclose(x.var(), 1 / (4 * (2 * alpha + 1)), rtol=0.05)


def test_beta_is_not_uniform_when_alpha_is_not_one():
    # The classic bug (Gamma rate/concentration mixed up) yields Beta(1, 1).
    assert stats.kstest(_beta_samples(0.2), "uniform").pvalue < 1e-6
    assert stats.kstest(_beta_samples(4.0), "uniform").pvalue < 1e-6


@pytest.mark.parametrize("alpha", [1e-3, 0.01, 10.0])
def test_beta_never_nan_or_inf(alpha):
    x = _beta_samples(alpha, n=5000)
    assert np.all(np.isfinite(x))


def test_box_centres_reach_every_position_uniformly():
    # Tiny boxes (λ close to 1 via probability of a 1-pixel box): recover the
    # centre from the box itself over many samples in "sample" mode.
    height, width, n = 5, 7, 20000
    seed = np.array([9, 9], "int32")
    params = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode="sample", correct_lambda=True).sample(
        seed, n, height, width, 1.0
    )
    u = to_numpy(rng.uniform(seed, (4 + sampling.beta_rows(1.0), n)))
    centre_y = np.minimum(np.floor(u[2] * height), height - 1).astype(int)
    centre_x = np.minimum(np.floor(u[3] * width), width - 1).astype(int)
    top, bottom = to_numpy(params.top), to_numpy(params.bottom)
    left, right = to_numpy(params.left), to_numpy(params.right)
    # Every box contains its centre or is empty.
    nonempty = (bottom > top) & (right > left)
    assert np.all((top[nonempty] <= centre_y[nonempty]) & (centre_y[nonempty] < bottom[nonempty]))
    assert np.all((left[nonempty] <= centre_x[nonempty]) & (centre_x[nonempty] < right[nonempty]))
    # Edges are reachable and all positions equally likely.
    for centres, size in ((centre_y, height), (centre_x, width)):
        counts = np.bincount(centres, minlength=size)
        assert counts.min() > 0
        assert stats.chisquare(counts).pvalue > 1e-3


def test_boxes_touch_every_edge():
    height, width, n = 11, 19, 4000
    params = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode="sample", correct_lambda=True).sample(
        (1, 2), n, height, width, 1.0
    )
    top, bottom = to_numpy(params.top), to_numpy(params.bottom)
    left, right = to_numpy(params.left), to_numpy(params.right)
    assert (top == 0).any() and (bottom == height).any() and (left == 0).any() and (right == width).any()
    # Last row/column are pasted too (Keras' layer never pastes them).
    assert ((bottom == height) & (top < height)).any() and ((right == width) & (left < width)).any()


def test_box_sides_follow_height_and_width_not_swapped():
    height, width, n = 20, 80, 4000
    params = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode="sample", correct_lambda=True).sample(
        (4, 2), n, height, width, 1.0
    )
    lam = to_numpy(params.lam)
    box_h = to_numpy(params.bottom) - to_numpy(params.top)
    box_w = to_numpy(params.right) - to_numpy(params.left)
    expected_h = np.floor(height * np.sqrt(1 - lam) + 0.5)
    expected_w = np.floor(width * np.sqrt(1 - lam) + 0.5)
    assert np.all(box_h <= expected_h) and np.all(box_w <= expected_w)
    assert box_h.max() <= height and box_w.max() <= width
    # Unclipped boxes have exactly the paper's sides.
    unclipped = (box_h == expected_h) & (box_w == expected_w)
    assert unclipped.mean() > 0.05
    assert np.all(box_w[unclipped & (box_h > 0)] >= box_h[unclipped & (box_h > 0)])


def test_same_seed_same_draw_different_seed_different_draw():
    def draw(seed):
        p = keras_cutmix.methods.CutMixOptions(alpha=0.7, mode="sample", correct_lambda=True).sample(
            seed, 16, 32, 32, 0.5
        )
        return np.concatenate([to_numpy(t).astype("float64").ravel() for t in p])

    np.testing.assert_array_equal(draw((1, 2)), draw((1, 2)))
    assert not np.array_equal(draw((1, 2)), draw((1, 3)))
    assert not np.array_equal(draw((1, 2)), draw((2, 2)))


def test_seed_forms_and_errors():
    a = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode="batch", correct_lambda=True).sample(7, 4, 8, 8, 1.0)
    b = keras_cutmix.methods.CutMixOptions(alpha=1.0, mode="batch", correct_lambda=True).sample((7, 0), 4, 8, 8, 1.0)
    np.testing.assert_array_equal(to_numpy(a.top), to_numpy(b.top))
    for bad in (None, (1, 2, 3), np.zeros((3,), "int32"), True):
        with pytest.raises(ValueError, match="seed"):
            keras_cutmix.methods.CutMixOptions(alpha=1.0, mode="batch", correct_lambda=True).sample(bad, 4, 8, 8, 1.0)


@pytest.mark.once
@pytest.mark.parametrize(
    "name, options_class, options",
    [
        ("sample_cutmix", methods.CutMixOptions, dict(alpha=0.5, mode="sample", correct_lambda=False)),
        ("sample_mixup", methods.MixUpOptions, dict(alpha=0.5, mode="sample")),
        ("sample_cutout", methods.CutoutOptions, dict(size=0.25, mode="batch")),
        ("sample_resizemix", methods.ResizeMixOptions, dict(scale=(0.2, 0.4), mode="sample")),
        ("sample_fmix", methods.FMixOptions, dict(alpha=0.5, decay_power=2.0, mode="sample")),
    ],
)
def test_deprecated_sample_functions_warn_and_draw_as_the_methods(name, options_class, options):
    with pytest.warns(DeprecationWarning, match=f"sampling.{name}` is deprecated.*{options_class.__name__}"):
        old = getattr(sampling, name)(3, 4, 8, 8, probability=0.7, **options)
    new = options_class(**options).sample(3, 4, 8, 8, 0.7)
    assert type(old.extras) is type(new.extras)
    for field, value in new._asdict().items():
        pairs = zip(value, old.extras) if field == "extras" and value is not None else [(value, getattr(old, field))]
        for a, b in pairs:
            np.testing.assert_array_equal(to_numpy(a), to_numpy(b), err_msg=field)
    with pytest.raises(AttributeError, match="sample_nothing"):
        _ = sampling.sample_nothing
