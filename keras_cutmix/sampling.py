"""Sampling: the primitives of every draw (λ ~ Beta(α, α), partners, coins, box geometry) and `MixParams`.

Each method's `sample` (`keras_cutmix.methods`) composes these into its draw.
Everything is drawn from one stateless (2,)-int seed in a single
`rng.uniform` call, so one seed fixes the whole augmentation and the same
seed reproduces it, under XLA and in tf.data alike. Shapes: `B` is the batch,
`n` is 1 in "batch" mode (one λ and box shared by the batch, as in the
authors' code) and `B` in "sample" mode (one per sample).
"""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace
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
    """What one draw decided, per sample (B,) or per batch (n,); built by keyword.

    Every method fills the shared fields; per method they mean:

    - `lam`: the share of the original image the draw asked for, before
      clipping and rounding: the Beta(α, α) sample (CutMix, MixUp, FMix;
      CutMixOrMixUp: its chosen branch's); 1 − the box's nominal share where
      the box is not sized from λ (CutMix with `box_size` or
      `box_ratio_range`; ResizeMix: 1 − the exact pasted share); 1 for Cutout.
    - The box, the half-open pixel range [top, bottom) × [left, right):
      the partner's pixels (CutMix; ResizeMix: where the shrunk partner
      goes) or the erased ones (Cutout); empty where nothing is pasted (MixUp,
      FMix, a sample whose coin said no).
    - `partner_weight`: the partner's weight in the labels (0 for Cutout).
    - `blend`: the partner's share of every pixel (MixUp; 0 for box methods).
    - `extras`: what only one method draws, a NamedTuple defined with that
      method (`methods.cutout.CutoutExtras`, `methods.fmix.FMixExtras`);
      None for the others.

    A sample with an empty box and blend 0 is left untouched.
    """

    partner: Any  # (B,) int32: the sample whose pixels go into each sample (Cutout: itself)
    lam: Any  # (n,) float32
    applied: Any  # (n,) bool: the coin of `probability`
    top: Any  # (n,) int32
    bottom: Any  # (n,) int32
    left: Any  # (n,) int32
    right: Any  # (n,) int32
    partner_weight: Any  # (n,) float32
    blend: Any  # (n,) float32
    extras: Any = None

    @property
    def box(self) -> tuple[Any, Any, Any, Any]:
        """(top, bottom, left, right), as `mixing.paste_box` takes it."""
        return self.top, self.bottom, self.left, self.right


def box_draw(*, partner: Any, lam: Any, applied: Any, box: tuple, partner_weight: Any, extras: Any = None) -> MixParams:
    """The draw of a method that pastes a box (CutMix, Cutout, ResizeMix): nothing is blended."""
    top, bottom, left, right = box
    return MixParams(
        partner=partner,
        lam=lam,
        applied=applied,
        top=top,
        bottom=bottom,
        left=left,
        right=right,
        partner_weight=partner_weight,
        blend=ops.zeros_like(lam),
        extras=extras,
    )


def empty_box(like: Any) -> dict[str, Any]:
    """The box fields of a draw that pastes no box (MixUp, FMix): empty, shaped like `like` (n,)."""
    empty = ops.zeros_like(ops.cast(like, "int32"))
    return {"top": empty, "bottom": empty, "left": empty, "right": empty}


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
    if isinstance(u, (tuple, list)):  # rows from `draw`
        u = ops.stack(u)
    half = 3 * GAMMA_PROPOSALS + 1
    return ops.sigmoid(_log_gamma(alpha, u[:half]) - _log_gamma(alpha, u[half:]))


def sample_partners(u: Any) -> Any:
    """A random cyclic permutation of the batch from uniforms `u` of shape (B,).

    Each sample's partner is the next sample in a random order of the batch.
    This is one cycle through the whole batch, so no sample is paired with
    itself (for B > 1) and every sample is pasted into exactly one other.
    """
    order = ops.cast(ops.argsort(u), "int32")
    next_in_order = ops.roll(order, -1, axis=0)
    # partner[order[i]] = order[i + 1]: the inverse permutation written in
    # place (one scatter, not a second sort and a gather: fewer graph nodes).
    return ops.scatter(order[:, None], next_in_order, ops.shape(order))


def _centred_span(centre: Any, length: Any, size: Any) -> tuple[Any, Any]:
    """[start, end) of `length` pixels centred on `centre`, clipped to [0, size)."""
    start = centre - length // 2
    end = start + length
    clip = lambda x: ops.maximum(ops.minimum(x, size), 0)
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


def place_box(
    cut_h: Any, cut_w: Any, centre_y: Any, centre_x: Any, height: Any, width: Any
) -> tuple[Any, Any, Any, Any]:
    """(top, bottom, left, right) of a cut_h × cut_w box on a centre, clipped."""
    top, bottom = _centred_span(centre_y, cut_h, height)
    left, right = _centred_span(centre_x, cut_w, width)
    return top, bottom, left, right


def pixel_share(pasted: Any, height: Any, width: Any) -> Any:
    """`pasted` pixels (int) over H·W as float32, correctly rounded on every path.

    Grappler and XLA turn a division by a constant (static H, W) into a
    product with its rounded reciprocal (1 ulp off in ~1 case of 10);
    max(area, count) = area, as count <= area, but is no constant to them.
    """
    count = ops.cast(pasted, "float32")
    return count / ops.maximum(ops.cast(height * width, "float32"), count)


def label_weight(
    pasted: Any, height: Any, width: Any, lam: Any, applied: Any, *, label_mode: str, correct_lambda: bool
) -> Any:
    """The partner's label weight for a box of `pasted` pixels (the paper's Table 8 label modes)."""
    share = pixel_share(pasted, height, width)
    if label_mode == "one_hot":  # the label of the larger part
        return ops.cast(share > 0.5, "float32")
    if label_mode == "complete":  # 0.5 / 0.5 whatever the areas
        return ops.where(pasted > 0, 0.5, 0.0)
    if correct_lambda:
        # The exact share of pixels taken from the partner (authors' fix for
        # clipped boxes, and exact for integer pixel counts too).
        return share
    return ops.where(applied, 1.0 - lam, ops.zeros_like(lam))


def uniform(seed: Any, shape: Any) -> Any:
    """Uniform [0, 1) float32 samples of `shape`, a pure function of `seed`."""
    return rng.uniform(as_seed(seed), shape)


def normal(seed: Any, shape: tuple) -> Any:
    """Standard normal float32 samples of `shape` (Box–Muller), a pure function of `seed`."""
    size = 1
    for dim in shape:  # ints, or scalar tensors for sizes unknown when tracing
        size = size * dim
    u = uniform(seed, (2, size))
    z = ops.sqrt(-2.0 * ops.log(1.0 - u[0])) * ops.cos((2.0 * math.pi) * u[1])
    return ops.reshape(z, shape)


def draw(
    seed: Any, batch_size: Any, mode: str, names: tuple[str, ...], *, beta_alpha: float | None = None
) -> SimpleNamespace:
    """The uniform rows of one draw, by name: `partner_keys` (B,) and one row per name.

    Each named row is per sample (B,) in "sample" mode, else per batch (1,).
    With `beta_alpha`, `beta_rows(beta_alpha)` more rows follow, turned into
    `lam`, a Beta(α, α) sample. The rows come in the order named, so a
    method's draw is fixed by its list of names.

    Rows are unstacked in one op rather than sliced one by one: in a TF
    graph each slice is four nodes, and every fresh tf.data iterator pays
    for every node (benchmarks/README.md).
    """
    extra = 0 if beta_alpha is None else beta_rows(beta_alpha)
    u = uniform(seed, (1 + len(names) + extra, batch_size))
    partner_keys, *per = ops.unstack(u)
    if mode != "sample":
        per = ops.unstack(u[1:, :1])
    rows = dict(zip(names, per))
    if beta_alpha is not None:
        rows["lam"] = sample_beta(beta_alpha, tuple(per[len(names) :]))
    return SimpleNamespace(partner_keys=partner_keys, **rows)


def sides_in_range(u_h: Any, u_w: Any, ratio_range: tuple, height: Any, width: Any) -> tuple[Any, Any]:
    """Box sides drawn uniformly among the whole pixel counts in [lo·side, hi·side].

    Each side independently: lo·H and hi·H rounded to pixels (at least 1, at
    most H), then every count in between equally likely.
    """
    sides = []
    for u, size in ((u_h, height), (u_w, width)):
        size_f = ops.cast(size, "float32")
        low = ops.maximum(ops.cast(ops.floor(size_f * ratio_range[0] + 0.5), "int32"), 1)
        high = ops.maximum(ops.minimum(ops.cast(ops.floor(size_f * ratio_range[1] + 0.5), "int32"), size), low)
        count = ops.cast(high - low + 1, "float32")
        sides.append(low + ops.minimum(ops.cast(ops.floor(u * count), "int32"), high - low))
    return sides[0], sides[1]


def place_inside(u_y: Any, u_x: Any, cut_h: Any, cut_w: Any, height: Any, width: Any) -> tuple[Any, Any, Any, Any]:
    """(top, bottom, left, right) of a box placed uniformly fully inside the image.

    The top row is uniform over 0 … H − h (and the left column likewise), so
    every border is reachable (timm's `cutmix_minmax` boxes were not: PR #2739).
    """
    top = ops.minimum(ops.cast(ops.floor(u_y * ops.cast(height - cut_h + 1, "float32")), "int32"), height - cut_h)
    left = ops.minimum(ops.cast(ops.floor(u_x * ops.cast(width - cut_w + 1, "float32")), "int32"), width - cut_w)
    return top, top + cut_h, left, left + cut_w


def switch(use_first: Any, first: MixParams, second: MixParams) -> MixParams:
    """Per sample (or per batch), the first draw where `use_first`, else the second.

    The first draw's partners serve both (partners are drawn independently of
    everything else, so either draw's would do).
    """
    per_draw = ("lam", "applied", "top", "bottom", "left", "right", "partner_weight", "blend")
    chosen = {name: ops.where(use_first, getattr(first, name), getattr(second, name)) for name in per_draw}
    return first._replace(**chosen)


def sub_seed(seed: Any, k: int) -> Any:
    """Sub-stream `k` of `seed` (a second, independent draw): `rng.fold_in`, a hash, not an offset."""
    return rng.fold_in(as_seed(seed), k)


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


# The draws of 0.1.0's API, now each method's own `sample` (`keras_cutmix.methods`): kept one
# release, until 0.3.0, as wrappers that build the method's options.
_DEPRECATED_DRAWS = {
    "sample_cutmix": "CutMixOptions",
    "sample_mixup": "MixUpOptions",
    "sample_cutout": "CutoutOptions",
    "sample_resizemix": "ResizeMixOptions",
    "sample_fmix": "FMixOptions",
}


def __getattr__(name: str) -> Any:
    options_name = _DEPRECATED_DRAWS.get(name)
    if options_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def sample(
        seed: Any, batch_size: Any, height: Any = None, width: Any = None, *, probability: Any, **options: Any
    ) -> MixParams:
        warnings.warn(
            f"`keras_cutmix.sampling.{name}` is deprecated and will be removed in 0.3.0; use "
            f"`keras_cutmix.methods.{options_name}(**options).sample(seed, batch_size, height, width, probability)`.",
            DeprecationWarning,
            stacklevel=2,
        )
        from keras_cutmix import methods  # methods import this module

        return getattr(methods, options_name)(**options).sample(seed, batch_size, height, width, probability)

    sample.__name__ = sample.__qualname__ = name
    return sample
