"""keras_cutmix.rng: Threefry-2x32-20 in integer ops, checked against references and for its statistics.

Every check uses fixed seeds, so it is deterministic; the statistical bounds
are wide enough that the fixed draws pass with a large margin, and each
statistic is also applied to a flawed sequence it must reject, so that none
of them can pass whatever the generator does.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import pytest
from helpers import backend_dtype, to_numpy
from scipy import stats

from keras_cutmix import rng
from keras_cutmix._backend import in_xla_context, tensorflow_ops

BACKEND = keras.backend.backend()
SEEDS = [(0, 0), (1, 2), (-1, 2**31 - 1), (-(2**31), -1), (123456789, -987654321)]


# ---------------------------------------------------------------------------
# References


def np_threefry(key0, key1, x0, x1):
    """Threefry-2x32-20 in NumPy uint32 arithmetic: the package's twin (`rng._numpy_threefry`).

    An independent reference for the ops version as long as it matches
    Random123's known answers and JAX's primitive, which the tests below check.
    """
    u32 = np.uint32
    x0 = np.asarray(x0, dtype=np.int64).astype(u32)
    x1 = np.asarray(x1, dtype=np.int64).astype(u32)
    return rng._numpy_threefry(u32(key0 & 0xFFFFFFFF), u32(key1 & 0xFFFFFFFF), *np.broadcast_arrays(x0, x1))


def np_bits(seed, rows, batch):
    """Element (r, b): the first word of counter (b, r), as uint32."""
    b, r = np.meshgrid(np.arange(batch), np.arange(rows))
    return np_threefry(seed[0], seed[1], b, r)[0]


def np_uniform(seed, rows, batch):
    return ((np_bits(seed, rows, batch) >> np.uint32(8)).astype(np.float64) * 2.0**-24).astype(np.float32)


def as_uint32(x):
    return to_numpy(x).astype(np.int32).view(np.uint32)


def seed_tensor(seed, dtype="int32"):
    words = np.array(seed, dtype=np.int64) & 0xFFFFFFFF
    if dtype == "int32":
        words = words.astype(np.uint32).view(np.int32)
    return keras.ops.convert_to_tensor(words.astype(dtype))


@pytest.fixture(autouse=True)
def _quiet_numpy_overflow():
    with np.errstate(over="ignore"):
        yield


# ---------------------------------------------------------------------------
# The generator is Threefry-2x32-20


# Random123's known-answer vectors (kat_vectors: threefry2x32_20), also used by JAX's tests.
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


def _threefry(key, counters, rolled):
    to_int32 = lambda v: np.asarray(v, np.int64).astype(np.uint32).view(np.int32)
    words = [keras.ops.convert_to_tensor(to_int32(v)) for v in (key[0], key[1])]
    x0, x1 = (keras.ops.convert_to_tensor(to_int32(np.atleast_1d(c))) for c in counters)
    return [as_uint32(y) for y in rng.threefry2x32(words[0], words[1], x0, x1, rolled=rolled)]


@pytest.mark.parametrize("rolled", [False, True], ids=["unrolled", "rolled"])
def test_known_answers_of_random123(rolled):
    for key, counter, expected in KNOWN_ANSWERS:
        y0, y1 = _threefry(key, counter, rolled)
        assert (int(y0[0]), int(y1[0])) == expected
        y0, y1 = np_threefry(key[0], key[1], [counter[0]], [counter[1]])
        assert (int(y0[0]), int(y1[0])) == expected


@pytest.mark.parametrize("rolled", [False, True], ids=["unrolled", "rolled"])
def test_bit_equal_to_jax_threefry_and_the_numpy_reference(rolled):
    jax_random = pytest.importorskip("jax.extend.random")
    import jax.numpy as jnp

    g = np.random.default_rng(0)
    for _ in range(4):
        key = g.integers(0, 2**32, 2, dtype=np.uint64).astype(np.uint32)
        x0 = g.integers(0, 2**32, 500, dtype=np.uint64).astype(np.uint32)
        x1 = g.integers(0, 2**32, 500, dtype=np.uint64).astype(np.uint32)
        ours = _threefry(key, (x0, x1), rolled)
        ref_jax = [
            np.asarray(y)
            for y in jax_random.threefry2x32_p.bind(
                jnp.uint32(key[0]), jnp.uint32(key[1]), jnp.asarray(x0), jnp.asarray(x1)
            )
        ]
        ref_np = np_threefry(int(key[0]), int(key[1]), x0, x1)
        for a, b, c in zip(ours, ref_jax, ref_np):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (54, 256)])
def test_bits_and_uniform_follow_the_reference(seed, shape):
    np.testing.assert_array_equal(as_uint32(rng.bits(seed_tensor(seed), shape)), np_bits(seed, *shape))
    np.testing.assert_array_equal(to_numpy(rng.uniform(seed_tensor(seed), shape)), np_uniform(seed, *shape))


# ---------------------------------------------------------------------------
# Seeds


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint32"])
def test_seed_words_are_read_modulo_2_32(dtype):
    if backend_dtype(dtype) != dtype:
        pytest.skip(f"the {BACKEND} backend stores {dtype} as {backend_dtype(dtype)}")
    for seed in SEEDS:
        expected = np_uniform(seed, 3, 5)
        np.testing.assert_array_equal(to_numpy(rng.uniform(seed_tensor(seed, dtype), (3, 5))), expected)
        if dtype == "int64":  # words beyond 32 bits: only their value modulo 2**32 counts
            shifted = keras.ops.convert_to_tensor(np.array(seed, "int64") + np.array([2**32, -(2**33)]))
            np.testing.assert_array_equal(to_numpy(rng.uniform(shifted, (3, 5))), expected)
    # Python pairs, with words of any size.
    np.testing.assert_array_equal(to_numpy(rng.uniform((2**32 + 7, -1), (3, 5))), np_uniform((7, 2**32 - 1), 3, 5))


def test_bad_seeds_and_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match="integer"):
        rng.uniform(keras.ops.convert_to_tensor(np.array([1.0, 2.0], "float32")), (2, 2))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        rng.uniform(keras.ops.convert_to_tensor(np.array([1, 2, 3], "int32")), (2, 2))
    with pytest.raises(ValueError, match="2 words"):
        rng.uniform((1, 2, 3), (2, 2))
    with pytest.raises(ValueError, match="shape"):
        rng.uniform((1, 2), (2, 2, 2))


# ---------------------------------------------------------------------------
# Values and statistics


def test_range_dtype_and_grid():
    u = to_numpy(rng.uniform(seed_tensor((3, 4)), (64, 4096)))
    assert u.dtype == np.float32 and u.shape == (64, 4096)
    assert u.min() >= 0.0 and u.max() < 1.0
    k = u.astype(np.float64) * 2**24
    np.testing.assert_array_equal(k, np.floor(k))  # exactly k · 2**-24
    # Both ends of [0, 1) are reached (2**18 draws: the gaps are ~4e-6).
    assert u.min() < 1e-4 and u.max() > 1 - 1e-4
    assert keras.backend.standardize_dtype(rng.bits(seed_tensor((3, 4)), (2, 2)).dtype) == "int32"


def _uniformity_pvalues(u):
    """KS against U(0, 1), chi-square over 256 equal bins."""
    counts = np.bincount(np.floor(u * 256).astype(int), minlength=256)
    return stats.kstest(u, "uniform").pvalue, stats.chisquare(counts).pvalue


def _bit_balance_z(words):
    """Largest |z| of the 32 bit frequencies against 1/2."""
    words = words.astype(np.uint32)
    ones = np.stack([(words >> np.uint32(i)) & np.uint32(1) for i in range(32)]).reshape(32, -1).mean(axis=1)
    return np.abs(ones - 0.5).max() / np.sqrt(0.25 / words.size)


def test_uniform_and_balanced_bits():
    for seed in SEEDS[:3]:
        u = to_numpy(rng.uniform(seed_tensor(seed), (16, 4096))).astype(np.float64).ravel()
        ks, chi2 = _uniformity_pvalues(u)
        assert ks > 1e-4 and chi2 > 1e-4, (seed, ks, chi2)
        assert _bit_balance_z(as_uint32(rng.bits(seed_tensor(seed), (16, 4096)))) < 5.0
    # Each statistic rejects what it is for: a skewed sample, a coarse grid, a stuck bit.
    g = np.random.default_rng(0)
    assert _uniformity_pvalues(g.random(65536) ** 1.05)[0] < 1e-4
    assert _uniformity_pvalues(np.floor(g.random(65536) * 200) / 200)[1] < 1e-4
    assert _bit_balance_z(g.integers(0, 2**32, 65536, dtype=np.uint64).astype(np.uint32) | np.uint32(1 << 7)) > 5.0


def _dependence(a, b):
    """|Pearson correlation| · √n, and the p-value of a 16 × 16 contingency chi-square."""
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    z = abs(np.corrcoef(a, b)[0, 1]) * np.sqrt(a.size)
    table = np.zeros((16, 16))
    np.add.at(table, (np.floor(a * 16).astype(int), np.floor(b * 16).astype(int)), 1)
    return z, stats.chi2_contingency(table)[1]


def test_neighbouring_counters_are_independent():
    u = to_numpy(rng.uniform(seed_tensor((5, 6)), (64, 1024)))
    for a, b in ((u[:, :-1], u[:, 1:]), (u[:-1], u[1:]), (u[:-1, :-1], u[1:, 1:])):
        z, p = _dependence(a, b)
        assert z < 5.0 and p > 1e-4, (z, p)
    # Neighbouring words differ in half their bits on average.
    w = as_uint32(rng.bits(seed_tensor((5, 6)), (64, 1024)))
    flips = np.unpackbits((w[:, :-1] ^ w[:, 1:]).view(np.uint8)).reshape(-1, 32).sum(axis=1)
    assert abs(flips.mean() - 16) < 5 * np.sqrt(8 / flips.size)
    # The checks see a dependence: u_b and a slightly perturbed copy, or a shifted one.
    g = np.random.default_rng(1)
    x = g.random(65536)
    assert _dependence(x, (x + 0.3 * g.random(65536)) % 1)[1] < 1e-4
    assert _dependence(x, (x + 0.5) % 1)[1] < 1e-4


def test_seeds_one_bit_apart_give_independent_draws():
    base = (0x2545F491, 0x4F6CDD1D)
    reference = as_uint32(rng.bits(seed_tensor(base), (8, 256)))
    for word in range(2):
        for bit in range(32):
            seed = list(base)
            seed[word] ^= 1 << bit
            other = as_uint32(rng.bits(seed_tensor(seed), (8, 256)))
            flips = np.unpackbits((reference ^ other).view(np.uint8)).reshape(-1, 32).sum(axis=1)
            # Avalanche: each output bit flips with chance 1/2 (mean 16 of 32, sd 2 per word).
            assert abs(flips.mean() - 16) < 5 * np.sqrt(8 / flips.size), (word, bit, flips.mean())
            z, _ = _dependence((reference >> np.uint32(8)) * 2.0**-24, (other >> np.uint32(8)) * 2.0**-24)
            assert z < 5.0, (word, bit, z)


# ---------------------------------------------------------------------------
# Shapes: a sample's draws do not depend on the batch size


def test_a_columns_draws_do_not_depend_on_the_batch_size():
    seed = seed_tensor((11, 12))
    full = to_numpy(rng.uniform(seed, (9, 40)))
    for batch in (1, 2, 7, 39):
        np.testing.assert_array_equal(to_numpy(rng.uniform(seed, (9, batch))), full[:, :batch])
    np.testing.assert_array_equal(to_numpy(rng.uniform(seed, (4, 40))), full[:4])
    np.testing.assert_array_equal(to_numpy(rng.uniform(seed, (40,))), full[0])


def _tf_graph_draw(function, *args):
    """Run `function` in a TensorFlow graph on TF ops, whatever the Keras backend."""
    if BACKEND == "tensorflow":
        return function(*args)
    with tensorflow_ops():
        return function(*args)


def test_dynamic_batch_size_in_tf_function_and_tf_data():
    import tensorflow as tf

    seed = (21, 22)
    traces = []

    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32)])
    def draw(batch):
        traces.append(batch.shape[0])
        return _tf_graph_draw(lambda: rng.uniform(tf.constant(seed, tf.int64), (6, tf.shape(batch)[0])))

    for size in (1, 4, 17):
        np.testing.assert_array_equal(draw(tf.zeros((size, 3))).numpy(), np_uniform(seed, 6, size))
    assert traces == [None], "one trace with a dynamic batch size"

    # tf.data: batches of 5, 5 and 3 (dynamic batch dimension), seeded per batch.
    ds = (
        tf.data.Dataset.range(13)
        .batch(5)
        .enumerate()
        .map(
            lambda i, x: _tf_graph_draw(
                lambda: rng.uniform(tf.stack([tf.constant(7, tf.int64), i]), (4, tf.shape(x)[0]))
            )
        )
    )
    assert ds.element_spec.shape.as_list() == [4, None]
    for i, u in enumerate(ds):
        np.testing.assert_array_equal(u.numpy(), np_uniform((7, i), 4, (5, 5, 3)[i]))


def test_xla_runs_xla_threefry_with_the_same_bits():
    """Under XLA the draw is XLA's own Threefry (RngBitGenerator): the same bits from a graph of a few nodes."""
    import tensorflow as tf

    def draw(seen):
        def run(seed):
            seen.append(in_xla_context())
            return _tf_graph_draw(lambda: rng.bits(seed, (5, 9)))

        return run

    in_xla, in_graph = [], []
    xla, plain = tf.function(draw(in_xla), jit_compile=True), tf.function(draw(in_graph))
    seed = tf.constant([3, 4], tf.int32)
    for function in (xla, plain):
        np.testing.assert_array_equal(function(seed).numpy().view(np.uint32), np_bits((3, 4), 5, 9))
    assert in_xla and all(in_xla) and in_graph and not any(in_graph)
    assert "XlaRngBitGenerator" in {op.type for op in xla.get_concrete_function(seed).graph.get_operations()}
    assert "BitwiseXor" not in {op.type for op in xla.get_concrete_function(seed).graph.get_operations()}
    # The key from seed words of every integer dtype, modulo 2**32 (int64 words past 32 bits, negatives).
    for words, dtype in (((-5, 2**31 - 1), tf.int32), ((2**40 + 7, -(2**63)), tf.int64), ((2**32 - 1, 9), tf.uint32)):
        np.testing.assert_array_equal(xla(tf.constant(words, dtype)).numpy().view(np.uint32), np_bits(words, 5, 9))
    op_types = {op.type for op in plain.get_concrete_function(seed).graph.get_operations()}
    assert not op_types & {"While", "StatelessWhile"}, "plain graphs keep the rounds unrolled"
    assert "BitwiseXor" not in op_types, "plain graphs call the hash as one (XLA) function"


@pytest.mark.skipif(BACKEND != "jax", reason="jax.jit: the jax leg of the suite")
def test_jax_eager_and_jit_match_the_reference():
    import jax
    import jax.numpy as jnp

    for seed in SEEDS:
        words = jnp.asarray(np.array(seed, np.int64) & 0xFFFFFFFF, dtype=jnp.uint32)  # SeedGenerator's dtype on JAX
        eager = rng.uniform(words, (6, 10))
        jitted = jax.jit(lambda s: rng.uniform(s, (6, 10)))(words)
        np.testing.assert_array_equal(np.asarray(eager), np_uniform(seed, 6, 10))
        np.testing.assert_array_equal(np.asarray(jitted), np_uniform(seed, 6, 10))


@pytest.mark.parametrize("as_uniform", [False, True], ids=["bits", "uniform"])
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint32"])
def test_numpy_twin_gives_the_bits_of_the_ops_version(as_uniform, dtype):
    # `_numpy_draw` serves eager torch with a CPU seed: it must be the ops version, bit for bit.
    for seed in SEEDS:
        words = np.array(seed, dtype=np.int64) & 0xFFFFFFFF  # the same words modulo 2**32 in each dtype
        host = words.astype(np.uint32).view(np.int32) if dtype == "int32" else words.astype(dtype)
        twin = rng._numpy_draw(host, 7, 300, as_uniform)
        with tensorflow_ops() if BACKEND == "tensorflow" else contextlib.nullcontext():
            ops_version = to_numpy(rng._draw_2d(seed_tensor(seed), 7, 300, rolled=False, as_uniform=as_uniform))
        assert twin.dtype == ops_version.dtype
        np.testing.assert_array_equal(twin, ops_version)
        reference = np_uniform(seed, 7, 300) if as_uniform else np_bits(seed, 7, 300).view(np.int32)
        np.testing.assert_array_equal(twin, reference)


# ---------------------------------------------------------------------------
# fold_in: sub-streams by hashing


def test_fold_in_is_jax_fold_in_bit_for_bit_and_64_bit_data_use_both_counter_words():
    jax = pytest.importorskip("jax")
    for seed in SEEDS:
        key = np.array(seed, np.int64).astype(np.uint32)
        for data in (0, 1, 7919, 2**31, 2**32 - 1):
            reference = np.asarray(jax.random.key_data(jax.random.fold_in(jax.random.wrap_key_data(key), data)))
            np.testing.assert_array_equal(as_uint32(rng.fold_in(seed_tensor(seed), data)), reference)
        high, low = 5, 9
        np.testing.assert_array_equal(
            as_uint32(rng.fold_in(seed_tensor(seed), high << 32 | low)), np_threefry(seed[0], seed[1], high, low)
        )
    with pytest.raises(ValueError, match="data"):
        rng.fold_in((0, 0), -1)


def test_sub_streams_do_not_overlap_other_seeds_streams():
    """The offsets they replace made stream 1 of (s, t) equal to stream 0 of (s + 7919, t)."""
    from keras_cutmix.sampling import sub_seed

    for s, t in [(0, 0), (5, 9)]:
        one = as_uint32(sub_seed((s, t), 1))
        assert not np.array_equal(one, as_uint32(sub_seed((s + 7919, t), 0)))
        assert len({tuple(as_uint32(sub_seed((s, t), k))) for k in range(8)}) == 8
