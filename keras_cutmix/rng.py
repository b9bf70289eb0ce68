"""keras_cutmix's own random numbers: Threefry-2x32-20 in 32-bit integer `ops`.

Every random draw of the package is `uniform(seed, shape)`. Element (r, b) of
a (rows, B) draw hashes the counter (b, r) with the seed as key through
Threefry-2x32 with 20 rounds (Salmon et al. 2011, "Parallel random numbers:
as easy as 1, 2, 3"; Random123's `threefry2x32_20`, the function behind
`jax.random`), and keeps the top 24 bits of the first output word as
k · 2**-24. The hash needs only 32-bit additions, xors and rotations, done
here in int32 with two's-complement wrap-around (logical right shifts are an
arithmetic shift and a mask), so it runs as ordinary integer ops everywhere.

Guarantees:
- A pure function of the seed words modulo 2**32 and of the element's index:
  the same bits in TensorFlow eager, `tf.function`, XLA (`jit_compile=True`),
  `tf.data`, JAX (eager or `jax.jit`) and torch. Seeds may be int32 (torch),
  uint32 (JAX's `SeedGenerator`) or int64 (`tf.data.Dataset.random`, Keras'
  TensorFlow `SeedGenerator`): equal words modulo 2**32 give equal draws.
- float32 in [0, 1), each of the 2**24 values k · 2**-24 equally likely, exact
  in float32 (no rounding anywhere).
- Column b of a (rows, B) draw does not depend on B (B may be a dynamic
  tensor), and a 1-D draw (n,) is row 0 of a (rows, n) draw.
- Stateless, vectorized (no per-sample loop), XLA-safe. Not cryptographic.

How it runs (the same bits everywhere): TensorFlow graphs (tf.function,
tf.data) call it as one nested XLA function, eager TensorFlow as one graph;
code that TensorFlow's XLA compiles draws with XLA's own Threefry
(RngBitGenerator, `_draw_2d_in_xla`: a few graph nodes, which a fresh
tf.data iterator instantiates far faster than the rounds written out);
JAX runs the ops under `jax.jit`, the last 16 rounds in a 2-step loop.
Eager torch with a seed on the CPU runs `_numpy_draw`, the same hash in
vectorized NumPy uint32 arithmetic (tested bit for bit against the ops
version): some 40 NumPy calls instead of ~630 torch dispatches; `fold_in`
likewise; on other devices and under `torch.compile`
torch runs them op by op.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from keras_cutmix._backend import backend_name, compiled, dtype_name, in_xla_context, ops

# Threefry-2x32 rotation constants (Random123), rounds 0–3 and 4–7 of each 8.
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
# Skein's key-schedule parity constant.
PARITY = 0x1BD11BDA
_INT32_MIN = -(2**31)


def _as_int32_word(value: int) -> int:
    """A Python int modulo 2**32, as the int32 with the same bits."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def _seed_tensor(seed: Any) -> Any:
    """A (2,) integer seed tensor from a tensor or a pair of Python ints (words of any size)."""
    if isinstance(seed, (tuple, list)) and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seed
    ):
        if len(seed) != 2:
            raise ValueError(f"A seed must have 2 words. Received: seed={seed!r}")
        seed = np.array([_as_int32_word(int(s)) for s in seed], "int32")
    if not isinstance(seed, keras.KerasTensor):
        seed = ops.convert_to_tensor(seed)
    dtype = dtype_name(seed.dtype)
    if dtype == "bool" or "int" not in dtype:
        raise ValueError(f"A seed must be an integer tensor of shape (2,). Received a seed of dtype {dtype}.")
    if len(seed.shape) != 1 or seed.shape[0] not in (2, None):
        raise ValueError(f"A seed must have shape (2,). Received a seed of shape {tuple(seed.shape)}.")
    return seed


def seed_words(seed: Any) -> tuple[Any, Any]:
    """The two words (int32 scalars) of a (2,) integer seed, modulo 2**32.

    Accepts a pair of Python ints or a (2,) tensor of any integer dtype. int32
    words are kept; wider or unsigned ones (int64, uint32, uint64) are reduced
    modulo 2**32 and read as the int32 with the same 32 bits.
    """
    seed = _seed_tensor(seed)
    dtype = dtype_name(seed.dtype)
    if dtype in ("uint32", "int64", "uint64"):
        # Bits 0–30 and bit 31, each exactly representable in int32: the word
        # is low + bit31 · (−2**31), with no cast that could saturate.
        low = ops.cast(ops.bitwise_and(seed, ops.convert_to_tensor(0x7FFFFFFF, dtype=dtype)), "int32")
        one = ops.convert_to_tensor(1, dtype=dtype)
        bit31 = ops.cast(ops.bitwise_and(ops.right_shift(seed, 31), one), "int32")
        seed = low + bit31 * _INT32_MIN
    elif dtype != "int32":
        seed = ops.cast(seed, "int32")  # 8- and 16-bit words: sign extension keeps them modulo 2**32
    return seed[0], seed[1]


def _rotate_left(x: Any, r: int) -> Any:
    """32-bit rotation of int32 words: (x << r) | (x >>> (32 − r))."""
    return ops.bitwise_or(ops.left_shift(x, r), ops.bitwise_and(ops.right_shift(x, 32 - r), (1 << r) - 1))


def _four_rounds(x0: Any, x1: Any, rotations: tuple[int, ...]) -> tuple[Any, Any]:
    for r in rotations:
        x0 = ops.add(x0, x1)
        x1 = ops.bitwise_xor(_rotate_left(x1, r), x0)
    return x0, x1


def _two_blocks(i: Any, state: tuple) -> tuple:
    """Blocks 2i + 1 and 2i + 2 of the five (4 rounds each, then a key injection)."""
    x0, x1, ka, kb, kc = state
    x0, x1 = _four_rounds(x0, x1, ROTATIONS[1])
    x0, x1 = ops.add(x0, ka), ops.add(x1, ops.add(kb, ops.cast(2 * i + 2, "int32")))
    x0, x1 = _four_rounds(x0, x1, ROTATIONS[0])
    x0, x1 = ops.add(x0, kb), ops.add(x1, ops.add(kc, ops.cast(2 * i + 3, "int32")))
    return x0, x1, kc, ka, kb  # the key schedule moves on by two


def threefry2x32(key0: Any, key1: Any, x0: Any, x1: Any, rolled: bool = False) -> tuple[Any, Any]:
    """Threefry-2x32, 20 rounds, on int32 words (the bits of uint32 words).

    `key0`, `key1` are int32 scalars; the counters `x0`, `x1` are int32
    tensors that broadcast together. Returns the two output words, int32.
    `rolled` runs blocks 2–5 as a 2-step `fori_loop` (the same ops, the same
    bits): under XLA the loop's output is a buffer, so the 20 rounds are not
    fused into (and re-expanded inside) every consumer; TensorFlow's XLA
    takes exponential time to compile them inside an argmax otherwise.
    """
    ks = (key0, key1, ops.bitwise_xor(ops.bitwise_xor(key0, key1), PARITY))
    x0, x1 = ops.add(x0, ks[0]), ops.add(x1, ks[1])
    x0, x1 = _four_rounds(x0, x1, ROTATIONS[0])  # the first round broadcasts x0 and x1 to one shape
    state = (ops.add(x0, ks[1]), ops.add(x1, ops.add(ks[2], 1)), ks[2], ks[0], ks[1])
    if rolled:
        state = ops.fori_loop(0, 2, _two_blocks, state)
    else:
        for i in range(2):
            state = _two_blocks(i, state)
    return state[0], state[1]


def _check_shape(shape: Sequence[Any]) -> tuple:
    if not isinstance(shape, (tuple, list)) or len(shape) not in (1, 2):
        raise ValueError(f"`shape` must be (n,) or (rows, batch); received {shape!r}.")
    return tuple(shape)


def _draw_2d(seed: Any, rows: Any, batch: Any, rolled: bool, as_uniform: bool) -> Any:
    """Element (r, b): the first Threefry word of counter (b, r), or its uniform."""
    key0, key1 = seed_words(seed)
    columns = ops.expand_dims(ops.arange(batch, dtype="int32"), 0)  # (1, B): x0 = b
    row_ids = ops.expand_dims(ops.arange(rows, dtype="int32"), 1)  # (rows, 1): x1 = r
    word, _ = threefry2x32(key0, key1, columns, row_ids, rolled=rolled)
    if not as_uniform:
        return word
    top = ops.bitwise_and(ops.right_shift(word, 8), 0xFFFFFF)  # the top 24 bits, logically shifted
    return ops.multiply(ops.cast(top, "float32"), 2.0**-24)


def _xla_rng_bit_generator() -> Callable | None:
    """XLA's own RngBitGenerator (TensorFlow's `xla.rng_bit_generator`), or None where it moved."""
    try:
        from tensorflow.compiler.tf2xla.python.xla import rng_bit_generator
    except ImportError:  # private module: the ops above give the same bits
        return None
    return rng_bit_generator


def _draw_2d_in_xla(seed: Any, rows: int, batch: Any, as_uniform: bool) -> Any:
    """`_draw_2d` for TensorFlow code that XLA compiles: the same bits from XLA's Threefry.

    XLA's RngBitGenerator with the THREEFRY algorithm is Threefry-2x32-20
    with the u64 key k0 + k1·2**32 and the u64 counter c + i for the i-th
    pair of outputs (interleaved: output 2i is the first word of counter
    c + i). Row r of our draw is counter (b, r), i.e. the u64 b + r·2**32:
    one generator call per row, starting at r·2**32, keeping the even
    outputs. About 40 graph nodes instead of ~250 for the rounds written out
    (or ~100 for a loop): every fresh tf.data iterator converts, analyses
    and optimizes each node of an XLA function's graph again
    (benchmarks/README.md), while the compiled program is cached. Returns
    None where TensorFlow has no such op, or `rows` is not a Python int.
    """
    generator = _xla_rng_bit_generator()
    if generator is None or not isinstance(rows, (int, np.integer)):
        return None
    import tensorflow as tf

    words = _tensorflow_seed_words(_seed_tensor(seed))  # (2,) uint64, each < 2**32
    key = tf.reduce_sum(tf.bitwise.left_shift(words, tf.constant([0, 32], tf.uint64)))  # disjoint bits: + is |
    counters = tf.constant([[0, r << 32] for r in range(int(rows))], tf.uint64)  # (rows, 2): row r's first counter
    states = tf.unstack(tf.bitwise.bitwise_or(counters, tf.stack([key, tf.constant(0, tf.uint64)])))
    size = tf.reshape(2 * tf.cast(batch, tf.int32), (1,))
    pairs = [generator(tf.random.Algorithm.THREEFRY, state, size, tf.uint32)[1] for state in states]
    word = tf.unstack(tf.reshape(tf.stack(pairs), (int(rows), -1, 2)), axis=2)[0]  # (rows, B) first words
    if not as_uniform:
        return tf.bitcast(word, tf.int32)
    return tf.cast(tf.bitwise.right_shift(word, tf.constant(8, tf.uint32)), tf.float32) * (2.0**-24)


def _tensorflow_seed_words(seed: Any) -> Any:
    """The seed's two words modulo 2**32 (as `seed_words`), as a (2,) uint64 TensorFlow tensor."""
    import tensorflow as tf

    dtype = seed.dtype
    if dtype in (tf.int64, tf.uint64):
        words = tf.bitcast(seed, tf.uint64) if dtype == tf.int64 else seed
        return tf.bitwise.bitwise_and(words, tf.constant(0xFFFFFFFF, tf.uint64))
    if dtype != tf.uint32:
        # int32 keeps its bits; 8- and 16-bit words are sign-extended first (modulo 2**32 the same word)
        seed = tf.bitcast(tf.cast(seed, tf.int32), tf.uint32)
    return tf.cast(seed, tf.uint64)


def _tensorflow_function(as_uniform: bool, jit_compile: bool) -> Callable:
    """`_draw_2d` as one TensorFlow function call (one XLA op with `jit_compile`).

    Run op by op, its ~160 tiny integer ops cost far more than the hashing
    itself (eagerly, and in graphs that TensorFlow runs op by op, tf.data
    included). Compiled, it is XLA's Threefry (`_draw_2d_in_xla`): the same
    bits from a graph of a few nodes. Inside XLA it is inlined instead (see
    `bits`).
    """
    draw = functools.partial(_tensorflow_draw, as_uniform=as_uniform, in_xla=jit_compile)
    return compiled("tensorflow", ("draw", as_uniform), draw, jit_compile=jit_compile)


def _tensorflow_draw(seed: Any, rows: Any, batch: Any, as_uniform: bool, in_xla: bool) -> Any:
    if in_xla:
        word = _draw_2d_in_xla(seed, rows, batch, as_uniform)
        if word is not None:
            return word
    return _draw_2d(seed, rows, batch, rolled=False, as_uniform=as_uniform)


def _jax_function(as_uniform: bool) -> Callable:
    """`_draw_2d` under `jax.jit`: one dispatch when eager, inlined when already tracing."""
    draw = functools.partial(_draw_2d, rolled=True, as_uniform=as_uniform)
    return compiled("jax", ("draw", as_uniform), draw, static_argnums=(1, 2))


# The rotations as uint32 shift pairs (r, 32 − r), and the key injections' counters, made once.
_NUMPY_SHIFTS = tuple(tuple((np.uint32(r), np.uint32(32 - r)) for r in rotations) for rotations in ROTATIONS)
_NUMPY_INJECTIONS = tuple(np.uint32(block + 1) for block in range(5))


def _numpy_threefry(key0: Any, key1: Any, x0: Any, x1: Any) -> tuple[Any, Any]:
    """`threefry2x32` in NumPy uint32 arithmetic (wrapping as uint32 does): the same rounds, the same bits.

    `x0` and `x1` broadcast together (the first round makes them one shape).
    """
    ks = (key0, key1, key0 ^ key1 ^ np.uint32(PARITY))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for block in range(5):
        for left, right in _NUMPY_SHIFTS[block % 2]:
            x0 = x0 + x1
            x1 = ((x1 << left) | (x1 >> right)) ^ x0
        x0 = x0 + ks[(block + 1) % 3]
        x1 = x1 + ks[(block + 2) % 3] + _NUMPY_INJECTIONS[block]
    return x0, x1


def _numpy_seed_words(seed: Any) -> tuple[Any, Any]:
    """`seed_words` of a host seed (any integer dtype, words modulo 2**32), as two uint32."""
    words = np.asarray(seed)
    words = (words.astype(np.uint64) if words.dtype.kind == "u" else words.astype(np.int64)) & 0xFFFFFFFF
    key0, key1 = words.astype(np.uint32)
    return key0, key1


def _numpy_draw(seed: Any, rows: int, batch: int, as_uniform: bool) -> np.ndarray:
    """`_draw_2d` on a host seed, in NumPy."""
    key0, key1 = _numpy_seed_words(seed)
    columns = np.arange(batch, dtype=np.uint32)[None, :]  # x0 = b
    row_ids = np.arange(rows, dtype=np.uint32)[:, None]  # x1 = r
    word, _ = _numpy_threefry(key0, key1, columns, row_ids)  # (arrays wrap around without warnings)
    if not as_uniform:
        return word.view(np.int32)
    return (word >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)


def _host_torch_seed(seed: Any) -> bool:
    """A concrete torch seed on the CPU, outside `torch.compile`: `_numpy_draw` can serve it."""
    import torch

    if not isinstance(seed, torch.Tensor) or seed.device.type != "cpu":
        return False
    return not torch.compiler.is_compiling()


def _executing_eagerly_in_tensorflow() -> bool:
    import tensorflow as tf

    return tf.executing_eagerly()


def _draw(seed: Any, shape: Sequence[Any], as_uniform: bool) -> Any:
    shape = _check_shape(shape)
    if len(shape) == 1:
        return _draw(seed, (1, shape[0]), as_uniform)[0]
    seed = _seed_tensor(seed)
    rows, batch = shape
    backend = backend_name()
    static = all(isinstance(n, (int, np.integer)) for n in shape)
    if backend == "jax" and static:
        return _jax_function(as_uniform)(seed, int(rows), int(batch))
    if backend == "torch" and static and _host_torch_seed(seed):
        return ops.convert_to_tensor(_numpy_draw(seed.numpy(), int(rows), int(batch), as_uniform))
    if backend == "numpy":
        return _numpy_draw(np.asarray(seed), int(rows), int(batch), as_uniform)
    if backend == "tensorflow":
        if in_xla_context():
            # Inlined: XLA's Threefry where TensorFlow has it, else the rounds
            # in a loop (fused into a consumer, an argmax, 20 unrolled rounds
            # take TensorFlow's XLA exponential time).
            word = _draw_2d_in_xla(seed, rows, batch, as_uniform)
            return _draw_2d(seed, rows, batch, rolled=True, as_uniform=as_uniform) if word is None else word
        # In graphs one XLA op (compiled once per shape); eagerly a plain graph (no compile per shape).
        jit = not _executing_eagerly_in_tensorflow()
        if jit and isinstance(rows, (int, np.integer)):
            rows = int(rows)  # a Python int: the rows' counters are constants of the compiled graph
        else:
            rows = ops.cast(rows, "int32")
        return _tensorflow_function(as_uniform, jit)(seed, rows, ops.cast(batch, "int32"))
    return _draw_2d(seed, rows, batch, rolled=backend == "jax", as_uniform=as_uniform)


def bits(seed: Any, shape: Sequence[Any]) -> Any:
    """32 random bits per element, as int32 (the bits of the uint32 word).

    Element (r, b) of a (rows, B) draw is the first output word of
    Threefry-2x32-20 with key = the seed words and counter = (b, r); element
    i of an (n,) draw is element (0, i). Either size may be a tensor.
    """
    return _draw(seed, shape, as_uniform=False)


def uniform(seed: Any, shape: Sequence[Any]) -> Any:
    """float32 uniforms in [0, 1) on the grid k · 2**-24: the top 24 of `bits`."""
    return _draw(seed, shape, as_uniform=True)


def _fold_in(seed: Any, high: Any, low: Any) -> Any:
    key0, key1 = seed_words(seed)
    word0, word1 = threefry2x32(key0, key1, high, low)
    return ops.stack([word0, word1])


def fold_in(seed: Any, data: int) -> Any:
    """A new (2,) int32 seed that hashes `data` into `seed`: a sub-stream.

    Both output words of Threefry-2x32-20 with the seed words as key and the
    counter (data >> 32, data mod 2**32), as `jax.random.fold_in` does for a
    32-bit `data` (bit for bit: the same key data out). Distinct `data` give
    independent seeds, unlike adding offsets to a seed word, where stream 1 of
    one seed is stream 0 of another. `data` is a Python int in [0, 2**64);
    `seed` as `seed_words` takes it.
    """
    if isinstance(data, bool) or not isinstance(data, (int, np.integer)) or not 0 <= int(data) < 2**64:
        raise ValueError(f"`data` must be an int in [0, 2**64). Received: data={data!r}")
    seed = _seed_tensor(seed)
    high = ops.convert_to_tensor(_as_int32_word(int(data) >> 32), "int32")
    low = ops.convert_to_tensor(_as_int32_word(int(data)), "int32")
    backend = backend_name()
    if backend == "numpy" or (backend == "torch" and _host_torch_seed(seed)):
        key0, key1 = _numpy_seed_words(np.asarray(seed))
        counter = (np.uint32((int(data) >> 32) & 0xFFFFFFFF), np.uint32(int(data) & 0xFFFFFFFF))
        with np.errstate(over="ignore"):
            words = np.array(_numpy_threefry(key0, key1, *counter), dtype=np.uint32)
        return ops.convert_to_tensor(words.view(np.int32))
    if backend == "jax":
        return compiled("jax", "fold_in", _fold_in)(seed, high, low)
    if backend == "tensorflow" and not in_xla_context():
        # One TensorFlow function call, as `_tensorflow_function` is for draws.
        jit = not _executing_eagerly_in_tensorflow()
        return compiled("tensorflow", "fold_in", _fold_in, jit_compile=jit)(seed, high, low)
    return _fold_in(seed, high, low)
