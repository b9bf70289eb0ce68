"""CutMix through `tf.data.experimental.service`, two epochs.

The service serializes the dataset when it is registered and every job (each
epoch's iteration) rebuilds it on the workers from that snapshot: a layer
mapped *before* `distribute()` restarts its seed stream every epoch (and on
every worker), and no longer sees `set_probability`. These tests pin that
down, then check the two recipes of docs/ecosystem.md that draw anew every
epoch: mix on the trainer after `distribute()`, or run all epochs as one job
with a seed per (epoch, batch).

An in-process dispatcher and two workers on localhost (ports picked free by
the servers); every iteration is bounded (finite datasets, fixed step
counts) and the servers stop at the end of the module.
"""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from helpers import recovered_fractions  # noqa: E402

import keras_cutmix  # noqa: E402

service = tf.data.experimental.service

# NB batches of B constant images 16×16; image g (global index) holds g + 1 and
# has class g % B, so in a batch class j is position j and a row of mixed
# labels must equal that image's pixel shares per source.
NB, B, H, W = 6, 8, 16, 16
K = B
EPOCHS = 2
SEED = 7


def _arrays():
    values = np.arange(1, NB * B + 1, dtype="float32")
    images = np.broadcast_to(values[:, None, None, None], (NB * B, H, W, 1)).reshape(NB, B, H, W, 1).copy()
    labels = (np.arange(NB * B) % K).reshape(NB, B).astype("int32")
    return images, labels


def batches():
    """One element per batch, so a split of a distributed epoch is a whole batch."""
    return tf.data.Dataset.from_tensor_slices(_arrays())


def read(images, labels):
    """(batch id, draw, exact?) of one mixed batch.

    The draw is the (B, H, W) map of which batch position each pixel comes
    from: it fixes λ, box and partners and does not depend on which batch was
    mixed, so draws compare across batches, epochs and runs.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    batch_id = int(images.min() - 1) // B
    local = images - batch_id * B  # values 1..B
    fractions = recovered_fractions(local, B)  # also: one rectangle, one partner, all channels
    exact = (
        labels.shape == (B, K)
        and np.allclose(labels.sum(-1), 1.0, atol=1e-6)
        and np.allclose(labels, fractions, atol=1e-6)
    )
    draw = (local[..., 0].round().astype(np.int8) - 1).tobytes()
    return batch_id, draw, exact


def mixed_count(draws):
    """How many draws pasted anything (a position map that is not the identity)."""
    identity = np.broadcast_to(np.arange(B, dtype=np.int8)[:, None, None], (B, H, W)).tobytes()
    return sum(draw != identity for draw in draws)


@pytest.fixture(scope="module")
def dispatcher():
    # Short job GC and heartbeats: jobs whose iterators are gone are dropped
    # within ~0.1 s, so stopping the workers does not wait on them.
    server = service.DispatchServer(
        service.DispatcherConfig(port=0, job_gc_check_interval_ms=100, job_gc_timeout_ms=100)
    )
    address = server.target.split("://", 1)[1]  # localhost:<port>
    assert address.startswith("localhost:")
    workers = [
        service.WorkerServer(service.WorkerConfig(dispatcher_address=address, port=0, heartbeat_interval_ms=100))
        for _ in range(2)
    ]
    yield server.target
    for worker in workers:
        worker.stop()
    server.stop()


def distribute(dataset, target, mode):
    return dataset.apply(service.distribute(processing_mode=mode, service=target))


def epochs_of(dataset, epochs=EPOCHS):
    """Iterate a finite dataset `epochs` times: a list per epoch of read()."""
    return [[read(images, labels) for images, labels in dataset] for _ in range(epochs)]


def steps_of(dataset, steps, epochs=EPOCHS):
    """Read a dataset spanning all epochs as `epochs` epochs of `steps` (as fit(steps_per_epoch=steps) would)."""
    iterator = iter(dataset)
    epochs = [[read(*next(iterator)) for _ in range(steps)] for _ in range(epochs)]
    with pytest.raises(StopIteration):  # exactly that many, and the job ends
        next(iterator)
    return epochs


def check_exact(epochs):
    assert all(exact for epoch in epochs for _, _, exact in epoch), "labels differ from the pixel shares"


def draws(epochs):
    return [draw for epoch in epochs for _, draw, _ in epoch]


# How many batches the client gets per epoch: parallel_epochs runs the whole
# dataset on each of the 2 workers, distributed_epoch hands each batch to one.
PER_EPOCH = {"parallel_epochs": 2 * NB, "distributed_epoch": NB}
MODES = sorted(PER_EPOCH)


# -- The gap: a layer mapped before distribute() ------------------------------


@pytest.mark.once(leg="torch")  # the service's own behaviour (TensorFlow's), whatever the Keras backend
@pytest.mark.parametrize("mode", MODES)
def test_layer_before_distribute_repeats_its_draws_every_epoch(dispatcher, mode):
    layer = keras_cutmix.CutMix(num_classes=K, seed=SEED)
    epochs = epochs_of(distribute(batches().map(layer), dispatcher, mode))
    assert [len(epoch) for epoch in epochs] == [PER_EPOCH[mode]] * EPOCHS
    check_exact(epochs)
    # Each job restarts the stream the worker rebuilt from the registered
    # snapshot: the draws come from the first NB of a fresh layer's stream,
    # so two epochs never show more than NB distinct draws (2·NB if new).
    fresh = keras_cutmix.CutMix(num_classes=K, seed=SEED)
    first = {draw for _, draw, _ in epochs_of(batches().map(fresh), epochs=1)[0]}
    assert set(draws(epochs)) <= first
    assert len(set(draws(epochs))) <= NB
    if mode == "parallel_epochs":
        # Every worker runs the whole dataset from the same state: the same
        # (batch, draw) pairs, twice per epoch, and again the next epoch.
        pairs = [sorted((batch, draw) for batch, draw, _ in epoch) for epoch in epochs]
        assert pairs[0] == pairs[1]
        assert pairs[0][0::2] == pairs[0][1::2]
    # The trainer-side variable never moves: the service ran on a copy.
    after = keras_cutmix.CutMix(num_classes=K, seed=SEED)
    assert epochs_of(batches().map(layer), epochs=1) == epochs_of(batches().map(after), epochs=1)


@pytest.mark.once(leg="torch")  # the service's own behaviour (TensorFlow's), whatever the Keras backend
def test_layer_before_distribute_ignores_set_probability(dispatcher):
    layer = keras_cutmix.CutMix(num_classes=K, seed=SEED)
    distributed = distribute(batches().map(layer), dispatcher, "distributed_epoch")
    layer.set_probability(0.0)  # after registration: the workers' copy keeps 1.0
    assert mixed_count(draws(epochs_of(distributed, epochs=1))) > 0
    # Locally the same layer obeys at once.
    assert mixed_count(draws(epochs_of(batches().map(layer), epochs=1))) == 0


# -- Recipe 1: mix on the trainer, after distribute() --------------------------


def _client_side_draws(target, mode, seed):
    layer = keras_cutmix.CutMix(num_classes=K, seed=seed)
    dataset = distribute(batches(), target, mode).map(layer)
    epochs = epochs_of(dataset)
    return layer, dataset, epochs


@pytest.mark.parametrize(
    "mode",
    # The layer's stream on the trainer side, under every backend in one mode; both in the tensorflow leg.
    [pytest.param(m, marks=() if m == "distributed_epoch" else pytest.mark.once(leg="torch")) for m in MODES],
)
def test_mixing_after_distribute_draws_anew_every_epoch(dispatcher, mode):
    layer, dataset, epochs = _client_side_draws(dispatcher, mode, SEED)
    assert [len(epoch) for epoch in epochs] == [PER_EPOCH[mode]] * EPOCHS
    check_exact(epochs)
    # A new draw for every batch received, in every epoch (for parallel_epochs
    # also for the two copies of a batch that the two workers send).
    assert len(set(draws(epochs))) == EPOCHS * PER_EPOCH[mode]
    # The same seed gives the same stream of draws, in the order batches
    # arrive (which batch gets which draw is up to the service's scheduling).
    _, _, again = _client_side_draws(dispatcher, mode, SEED)
    assert draws(again) == draws(epochs)
    # set_probability reaches it: the layer lives in the trainer's process.
    layer.set_probability(0.0)
    assert mixed_count(draws(epochs_of(dataset, epochs=1))) == 0


# The service adds nothing backend-specific: the layer and function under JAX and torch in
# tf.data are tests/integration/test_graph_mode.py's.
@pytest.mark.once(leg="torch")
def test_functional_form_after_distribute_with_rerandomized_seeds(dispatcher):
    """Dataset.random(rerandomize_each_iteration=True) zipped on the trainer side."""

    def run(seed):
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip(distribute(batches(), dispatcher, "distributed_epoch"), seeds).map(
            lambda batch, s: keras_cutmix.cutmix(*batch, seed=s, num_classes=K)
        )
        return epochs_of(dataset)

    epochs = run(SEED)
    check_exact(epochs)
    assert len(set(draws(epochs))) == EPOCHS * NB
    assert draws(run(SEED)) == draws(epochs)


@pytest.mark.once(leg="torch")  # the service's own behaviour (TensorFlow's), whatever the Keras backend
@pytest.mark.parametrize("mode", MODES)
def test_rerandomized_seeds_before_distribute_still_repeat(dispatcher, mode):
    """The same zip on the workers: every job restarts Dataset.random too."""
    seeds = tf.data.Dataset.random(seed=SEED, rerandomize_each_iteration=True).batch(2)
    dataset = tf.data.Dataset.zip(batches(), seeds).map(
        lambda batch, s: keras_cutmix.cutmix(*batch, seed=s, num_classes=K)
    )
    epochs = epochs_of(distribute(dataset, dispatcher, mode))
    check_exact(epochs)
    assert len(set(draws(epochs))) <= NB


# -- Recipe 2: one job for all epochs, a seed per (epoch, batch) ---------------


def epoch_seeded(seed, epochs):
    """All epochs in one dataset; batch i of epoch e mixed with the seed (seed, e·NB + i)."""

    def one_epoch(epoch):
        return (
            batches()
            .enumerate()
            .map(
                lambda i, batch: keras_cutmix.cutmix(
                    *batch, seed=tf.stack([tf.constant(seed, tf.int64), epoch * NB + i]), num_classes=K
                )
            )
        )

    return tf.data.Dataset.range(epochs).flat_map(one_epoch)


# The service adds nothing backend-specific: the layer and function under JAX and torch in
# tf.data are tests/integration/test_graph_mode.py's.
@pytest.mark.once(leg="torch")
def test_one_job_for_all_epochs_draws_anew_and_reproducibly(dispatcher):
    def run(seed):
        # distributed_epoch splits range(epochs): each epoch is run once, by one worker.
        return steps_of(distribute(epoch_seeded(seed, EPOCHS), dispatcher, "distributed_epoch"), NB)

    epochs = run(SEED)
    check_exact(epochs)
    assert len(set(draws(epochs))) == EPOCHS * NB
    # Every (epoch, batch) comes once, mixed exactly as the same pipeline
    # mixes it without the service, whichever worker ran it, in any order.
    local = steps_of(epoch_seeded(SEED, EPOCHS), NB)
    expected = {(batch, draw) for epoch in local for batch, draw, _ in epoch}
    assert len(expected) == EPOCHS * NB
    assert {(batch, draw) for epoch in epochs for batch, draw, _ in epoch} == expected
    assert {(batch, draw) for epoch in run(SEED) for batch, draw, _ in epoch} == expected
    assert {(batch, draw) for epoch in run(SEED + 1) for batch, draw, _ in epoch} != expected
