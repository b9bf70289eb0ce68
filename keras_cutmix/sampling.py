"""Sampling: λ ~ Beta(α, α), the pasted boxes, the partners and the coins.

Everything is drawn from one stateless (2,)-int seed in a single
`rng.uniform` call, so one seed fixes the whole augmentation and the same
seed reproduces it, under XLA and in tf.data alike. Shapes: `B` is the batch,
`n` is 1 in "batch" mode (one λ and box shared by the batch, as in the
authors' code) and `B` in "sample" mode (one per sample).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import keras

from keras_cutmix import rng
from keras_cutmix._backend import ops

# Marsaglia–Tsang proposals drawn in parallel per Gamma sample. One proposal is
# accepted with probability >= 0.95 for every shape >= 1, so all 8 fail with
# probability < 0.05**8 ≈ 4e-11: a fixed, loop-free (XLA-safe) rejection sampler.
GAMMA_PROPOSALS = 8

# Floor on α in the U^(1/α) boost of `_log_gamma`. Below ~5e-38, log(U)/α
# overflows float32 to −inf in both Gamma samples (and α itself rounds to 0
# below 1e-45), so λ = sigmoid(−inf + inf) = NaN. At α <= 1e-30 the two boosts
# differ by at least ~6e-8/α (distinct float32 logs), so λ is already exactly 0
# or 1, the same with the floor: it changes no result that was finite.
MIN_BOOST_ALPHA = 1e-30


class MixParams(NamedTuple):
    """What one draw decided, per sample (B,) or per batch (n,).

    The box is the half-open pixel range [top, bottom) × [left, right) whose
    pixels come from the partner (CutMix) or are erased (Cutout); it is empty
    where nothing is pasted. `blend` is the partner's share blended into every
    pixel (MixUp; 0 for box methods). `partner_weight` is the partner's weight
    in the labels. A sample with an empty box and blend 0 is left untouched.
    """

    partner: Any  # (B,) int32: the sample whose pixels go into each sample
    lam: Any  # (n,) float32: the sampled λ, the share the original keeps before clipping
    applied: Any  # (n,) bool: the coin of `probability`
    top: Any  # (n,) int32
    bottom: Any  # (n,) int32
    left: Any  # (n,) int32
    right: Any  # (n,) int32
    partner_weight: Any  # (n,) float32: label weight of the partner, 1 − λ̂
    blend: Any  # (n,) float32: MixUp's partner share of every pixel


CutMixParams = MixParams
BOX_CENTERS = ("uniform", "gaussian")
LABEL_MODES = ("area", "one_hot", "complete")


def beta_rows(alpha: float) -> int:
    """How many uniform rows `sample_beta` consumes for this α."""
    # α = 1 is Beta(1, 1) = U(0, 1): one row, exact. Otherwise two Gamma
    # samples, each with K normals (2 uniforms) + K accept tests + 1 boost.
    return 1 if alpha == 1.0 else 2 * (3 * GAMMA_PROPOSALS + 1)


def _log_gamma(a: float, u: Any) -> Any:
    """log of Gamma(a, 1) samples from uniform rows `u` of shape (3K + 1, n).

    Marsaglia & Tsang (2000) with K parallel proposals and the first accepted
    one kept; shapes a < 1 use Gamma(a) = Gamma(a + 1) · U^(1/a). Working in log
    space keeps tiny α (where U^(1/a) underflows to 0) free of 0/0.
    """
    k = GAMMA_PROPOSALS
    shape = a + 1.0 if a < 1.0 else a
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    # Box–Muller normals; 1 − u lies in (0, 1], so every log is finite.
    z = ops.sqrt(-2.0 * ops.log(1.0 - u[:k])) * ops.cos((2.0 * math.pi) * u[k : 2 * k])
    v = (1.0 + c * z) ** 3
    v_safe = ops.where(v > 0.0, v, ops.ones_like(v))
    accept = ops.logical_and(
        v > 0.0,
        ops.log(1.0 - u[2 * k : 3 * k]) < 0.5 * z * z + d - d * v + d * ops.log(v_safe),
    )
    first = ops.argmax(ops.cast(accept, "int32"), axis=0)
    v_kept = ops.take_along_axis(v_safe, ops.expand_dims(first, 0), axis=0)[0]
    # If all K proposals were rejected (p < 4e-11), fall back to the mode.
    v_kept = ops.where(ops.any(accept, axis=0), v_kept, ops.ones_like(v_kept))
    log_g = math.log(d) + ops.log(v_kept)
    if a < 1.0:
        log_g = log_g + ops.log(1.0 - u[3 * k]) / max(a, MIN_BOOST_ALPHA)
    return log_g


def sample_beta(alpha: float, u: Any) -> Any:
    """Beta(α, α) samples from `beta_rows(alpha)` uniform rows of shape (·, n).

    XLA-safe (no Gamma op, no loop) and exact for α = 1. For other α it is
    X / (X + Y) with X, Y ~ Gamma(α), computed as sigmoid(log X − log Y).
    """
    if alpha == 1.0:
        return u[0]
    half = 3 * GAMMA_PROPOSALS + 1
    return ops.sigmoid(_log_gamma(alpha, u[:half]) - _log_gamma(alpha, u[half:]))


def sample_partners(u: Any) -> Any:
    """A random cyclic permutation of the batch from uniforms `u` of shape (B,).

    Each sample's partner is the next sample in a random order of the batch.
    This is one cycle through the whole batch, so no sample is paired with
    itself (for B > 1) and every sample is pasted into exactly one other.
    """
    order = ops.argsort(u)
    next_in_order = ops.roll(order, -1, axis=0)
    return ops.cast(ops.take(next_in_order, ops.argsort(order), axis=0), "int32")


def _centred_span(centre: Any, length: Any, size: Any) -> tuple[Any, Any]:
    """[start, end) of `length` pixels centred on `centre`, clipped to [0, size)."""
    start = centre - length // 2
    end = start + length
    clip = lambda x: ops.maximum(ops.minimum(x, size), 0)  # noqa: E731
    return clip(start), clip(end)


def sides_from_lambda(lam: Any, height: Any, width: Any) -> tuple[Any, Any]:
    """The paper's box sides, (H·√(1−λ), W·√(1−λ)) rounded to pixels."""
    cut_ratio = ops.sqrt(1.0 - lam)
    cut_h = ops.cast(ops.floor(ops.cast(height, "float32") * cut_ratio + 0.5), "int32")
    cut_w = ops.cast(ops.floor(ops.cast(width, "float32") * cut_ratio + 0.5), "int32")
    return cut_h, cut_w


def fixed_sides(box_size: Any, height: Any, width: Any) -> tuple[Any, Any]:
    """Sides of a fixed box: ints are pixels, floats are fractions of H and W."""
    sides = []
    for spec, size in zip(box_size, (height, width)):
        if isinstance(spec, float):
            sides.append(ops.cast(ops.floor(ops.cast(size, "float32") * spec + 0.5), "int32"))
        else:
            sides.append(ops.minimum(ops.cast(spec, "int32"), ops.cast(size, "int32")))
    return sides[0], sides[1]


def sample_centres(u_y: Any, u_x: Any, height: Any, width: Any, box_center: str, center_std: float) -> tuple[Any, Any]:
    """Box centres (int32): uniform over every pixel position, or Gaussian.

    Uniform: floor(u·H) with u in [0, 1) reaches 0 … H−1 with equal chance (the
    min guards the float32 rounding of u·H up to H). Gaussian (the paper's
    "center Gaussian CutMix"): N(H/2, (center_std·H)²), from the same two
    uniforms by Box–Muller, clipped to the image.
    """
    h = ops.cast(height, "float32")
    w = ops.cast(width, "float32")
    if box_center == "gaussian":
        radius = ops.sqrt(-2.0 * ops.log(1.0 - u_y))
        angle = (2.0 * math.pi) * u_x
        y = h / 2.0 + center_std * h * radius * ops.cos(angle)
        x = w / 2.0 + center_std * w * radius * ops.sin(angle)
        centre_y = ops.cast(ops.floor(ops.maximum(ops.minimum(y, h - 1.0), 0.0)), "int32")
        centre_x = ops.cast(ops.floor(ops.maximum(ops.minimum(x, w - 1.0), 0.0)), "int32")
        return centre_y, centre_x
    centre_y = ops.minimum(ops.cast(ops.floor(u_y * h), "int32"), height - 1)
    centre_x = ops.minimum(ops.cast(ops.floor(u_x * w), "int32"), width - 1)
    return centre_y, centre_x


def place_box(cut_h: Any, cut_w: Any, centre_y: Any, centre_x: Any, height: Any, width: Any) -> tuple[Any, Any, Any, Any]:
    """(top, bottom, left, right) of a cut_h × cut_w box on a centre, clipped."""
    top, bottom = _centred_span(centre_y, cut_h, height)
    left, right = _centred_span(centre_x, cut_w, width)
    return top, bottom, left, right


def label_weight(pasted: Any, height: Any, width: Any, lam: Any, applied: Any, *, label_mode: str, correct_lambda: bool) -> Any:
    """The partner's label weight for a box of `pasted` pixels (the paper's Table 8 label modes)."""
    count = ops.cast(pasted, "float32")
    # count / area, correctly rounded on every path: Grappler and XLA turn a
    # division by a constant (static H, W) into a product with its rounded
    # reciprocal (1 ulp off in ~1 case of 10); max(area, count) = area, as
    # count <= area, but is no constant to them.
    share = count / ops.maximum(ops.cast(height * width, "float32"), count)
    if label_mode == "one_hot":  # the label of the larger part
        return ops.cast(share > 0.5, "float32")
    if label_mode == "complete":  # 0.5 / 0.5 whatever the areas
        return ops.where(pasted > 0, 0.5, 0.0)
    if correct_lambda:
        # The exact share of pixels taken from the partner (authors' fix for
        # clipped boxes, and exact for integer pixel counts too).
        return share
    return ops.where(applied, 1.0 - lam, ops.zeros_like(lam))


def _draw(seed: Any, rows: int, batch_size: Any, mode: str) -> tuple[Any, Any]:
    """Uniform rows for one draw: partner keys (B,) and per-sample/batch rows."""
    u = rng.uniform(as_seed(seed), (1 + rows, batch_size))
    per = u[1:] if mode == "sample" else u[1:, :1]
    return u[0], per


def sample_cutmix(
    seed: Any,
    batch_size: Any,
    height: Any,
    width: Any,
    *,
    alpha: float,
    probability: Any,
    mode: str,
    correct_lambda: bool,
    box_center: str = "uniform",
    center_std: float = 0.25,
    box_size: Any = None,
    label_mode: str = "area",
) -> MixParams:
    """Draw partners, λ, coins and boxes for one CutMix batch from one seed.

    `seed` is anything `as_seed` takes: an int, a pair, or a (2,) int tensor.
    `probability` may be a float or a scalar tensor (a schedulable variable).
    With `box_size` (pixels, or fractions of the sides) the box has that size
    and λ is its nominal share instead of a Beta draw.
    """
    keys, per = _draw(seed, 3 + beta_rows(alpha), batch_size, mode)
    coin, u_y, u_x = per[0], per[1], per[2]
    applied = coin < probability
    if box_size is None:
        lam = sample_beta(alpha, per[3:])
        cut_h, cut_w = sides_from_lambda(lam, height, width)
    else:
        cut_h, cut_w = fixed_sides(box_size, height, width)
        nominal = ops.cast(cut_h * cut_w, "float32") / ops.cast(height * width, "float32")
        lam = ops.zeros_like(coin) + (1.0 - nominal)
    centre_y, centre_x = sample_centres(u_y, u_x, height, width, box_center, center_std)
    top, bottom, left, right = place_box(cut_h, cut_w, centre_y, centre_x, height, width)
    bottom = ops.where(applied, bottom, top)  # empty box: sample untouched
    pasted = (bottom - top) * (right - left)
    weight = label_weight(pasted, height, width, lam, applied, label_mode=label_mode, correct_lambda=correct_lambda)
    return MixParams(sample_partners(keys), lam, applied, top, bottom, left, right, weight, ops.zeros_like(lam))


def sample_mixup(seed: Any, batch_size: Any, *, alpha: float, probability: Any, mode: str) -> MixParams:
    """Draw partners, λ and coins for one MixUp batch: x̃ = λx + (1 − λ)x[π]."""
    keys, per = _draw(seed, 1 + beta_rows(alpha), batch_size, mode)
    applied = per[0] < probability
    lam = sample_beta(alpha, per[1:])
    blend = ops.where(applied, 1.0 - lam, ops.zeros_like(lam))
    empty = ops.zeros_like(ops.cast(applied, "int32"))
    return MixParams(sample_partners(keys), lam, applied, empty, empty, empty, empty, blend, blend)


def sample_cutout(seed: Any, batch_size: Any, height: Any, width: Any, *, size: Any, probability: Any, mode: str) -> MixParams:
    """Draw the erased boxes for one Cutout batch (centre uniform, clipped)."""
    keys, per = _draw(seed, 3, batch_size, mode)
    applied = per[0] < probability
    cut_h, cut_w = fixed_sides(size, height, width)
    centre_y, centre_x = sample_centres(per[1], per[2], height, width, "uniform", 0.0)
    top, bottom, left, right = place_box(cut_h, cut_w, centre_y, centre_x, height, width)
    bottom = ops.where(applied, bottom, top)
    zeros = ops.zeros_like(per[0])
    return MixParams(ops.cast(ops.arange(batch_size), "int32"), 1.0 - zeros, applied, top, bottom, left, right, zeros, zeros)


def switch(use_first: Any, first: MixParams, second: MixParams) -> MixParams:
    """Per sample (or per batch), the first draw where `use_first`, else the second.

    The first draw's partners serve both (partners are drawn independently of
    everything else, so either draw's would do).
    """
    choose = lambda a, b: ops.where(use_first, a, b)  # noqa: E731
    return MixParams(first.partner, *(choose(a, b) for a, b in zip(first[1:], second[1:])))


def offset_seed(seed: Any, k: int) -> Any:
    """A second, independent seed derived from `seed` (for a second draw)."""
    seed = as_seed(seed)
    return seed + ops.cast(ops.convert_to_tensor([7919 * k, 0]), seed.dtype)


def as_seed(seed: Any) -> Any:
    """A (2,) int seed tensor from an int, a pair, or a tensor."""
    if seed is None:
        raise ValueError(
            "`cutmix` needs an explicit `seed`: an int, a pair of ints, or an int tensor of shape (2,) "
            "(e.g. from tf.data.Dataset.random() or Dataset.enumerate()). For a stateful stream, use the "
            "`CutMix` layer."
        )
    if isinstance(seed, bool):
        raise ValueError(f"Argument `seed` must be an int, a pair or a (2,) int tensor. Received: seed={seed!r}")
    if isinstance(seed, int):
        seed = [seed, 0]
    if isinstance(seed, (tuple, list)):
        if len(seed) != 2:
            raise ValueError(f"Argument `seed` must have 2 elements. Received: seed={seed!r}")
        # int32 wraps larger words (e.g. int64 enumerate() counters): still a valid seed.
        seed = ops.stack([ops.cast(s, "int32") for s in seed])
    if not isinstance(seed, keras.KerasTensor):
        seed = ops.convert_to_tensor(seed)
    if len(seed.shape) != 1 or seed.shape[0] not in (2, None):
        raise ValueError(f"Argument `seed` must have shape (2,). Received a seed of shape {tuple(seed.shape)}.")
    return seed
