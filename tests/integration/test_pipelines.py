"""Input pipelines in this process, on every backend: grain datasets, `PyDataset` threads, streams, the recipes.

Worker processes (torch `DataLoader`, `PyDataset` processes, grain workers)
are in test_pipeline_workers.py. Every batch here holds the same four images
(image i is the constant i + 1, class i), so two batches mixed alike are
equal.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
from helpers import to_numpy

import keras_cutmix
from keras_cutmix import streams

B, H = 4, 8


def _batch():
    images = np.broadcast_to(np.arange(1, B + 1, dtype="uint8")[:, None, None, None], (B, H, H, 3)).copy()
    return images, np.arange(B, dtype="int32")


def _tiny_model():
    model = keras.Sequential([keras.Input((H, H, 3)), keras.layers.Flatten(), keras.layers.Dense(B)])
    model.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True))
    return model


def _distinct(arrays) -> bool:
    return len({to_numpy(a).tobytes() for a in arrays}) == len(arrays)


@pytest.fixture
def grain():
    grain = pytest.importorskip("grain")
    from absl import flags

    flags.FLAGS.mark_as_parsed()  # grain reads absl flags; pytest has not parsed any
    return grain


@pytest.mark.parametrize("form", ["tuple", "dict"])
@pytest.mark.parametrize("kind", ["MapDataset", "IterDataset"])
@pytest.mark.parametrize("how", ["map", "batch_fn"])  # `.batch(B).map(layer)`, `.batch(B, batch_fn=layer.collate)`
def test_grain_batch_then_map_layer(grain, form, kind, how):
    images, labels = _batch()
    elements = [(images[i % B], labels[i % B]) for i in range(3 * B)]
    if form == "dict":
        elements = [{"images": x, "labels": y, "id": i} for i, (x, y) in enumerate(elements)]
    dataset = grain.MapDataset.source(elements)
    if kind == "IterDataset":
        dataset = dataset.to_iter_dataset()
    layer = keras_cutmix.CutMix(num_classes=B, seed=0, mode="sample")
    batches = list(dataset.batch(B).map(layer) if how == "map" else dataset.batch(B, batch_fn=layer.collate))
    assert len(batches) == 3
    if form == "tuple":
        assert all(isinstance(batch, tuple) and len(batch) == 2 for batch in batches)
        mixed_images, mixed_labels = zip(*batches)
    else:
        assert all(set(batch) == {"images", "labels", "id"} for batch in batches)
        np.testing.assert_array_equal(batches[1]["id"], np.arange(B, 2 * B))  # passed through
        mixed_images, mixed_labels = [b["images"] for b in batches], [b["labels"] for b in batches]
    assert {keras.backend.standardize_dtype(x.dtype) for x in mixed_images} == {"uint8"}
    for x, y in zip(mixed_images, mixed_labels):
        # Label i's share of each image = its pixels' share (image v − 1 is class v − 1).
        pixels = to_numpy(x)[..., 0].reshape(B, -1).astype(int) - 1
        shares = np.stack([np.bincount(row, minlength=B) for row in pixels]) / pixels.shape[1]
        np.testing.assert_allclose(to_numpy(y), shares, atol=1e-6)
    assert _distinct(mixed_labels), "the layer mixed two calls alike"


@pytest.mark.parametrize("form", ["tuple", "dict"])
def test_grain_dataloader_operations(grain, form):
    """The layer as a `grain.DataLoader` operation (worker processes: test_pipeline_workers.py, via `mp_prefetch`)."""
    images, labels = _batch()
    elements = [(images[i % B], labels[i % B]) for i in range(3 * B)]
    if form == "dict":
        elements = [{"images": x, "labels": y} for x, y in elements]
    layer = keras_cutmix.CutMix(num_classes=B, seed=0, mode="sample")

    class Mix(grain.transforms.Map):
        def map(self, batch):
            return layer(batch)

    sampler = grain.samplers.IndexSampler(len(elements), shuffle=True, seed=0, num_epochs=1)
    loader = grain.DataLoader(data_source=elements, sampler=sampler, operations=[grain.transforms.Batch(B), Mix()])
    batches = list(loader)
    mixed_labels = [batch[1] if form == "tuple" else batch["labels"] for batch in batches]
    assert len(batches) == 3 and _distinct(mixed_labels)
    assert all(tuple(to_numpy(y).shape) == (B, B) for y in mixed_labels)


def test_grain_fit(grain):
    images, labels = _batch()
    source = [(images[i % B], labels[i % B]) for i in range(2 * B)]
    dataset = grain.MapDataset.source(source).batch(B).map(keras_cutmix.CutMix(num_classes=B, seed=0))
    history = _tiny_model().fit(dataset, epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize("form", ["tuple", "dict"])
def test_torch_dataloader_collate_fn_is_the_layers_collate_and_fit(form):
    # In this process (workers: test_pipeline_workers.py), on every backend: torch tensors, as Keras fits on them.
    torch = pytest.importorskip("torch")
    images, labels = _batch()
    elements = [(images[i % B], labels[i % B]) for i in range(3 * B)]
    if form == "dict":
        elements = [{"images": x, "labels": y} for x, y in elements]
    layer = keras_cutmix.CutMix(num_classes=B, seed=0, mode="sample")
    loader = torch.utils.data.DataLoader(elements, batch_size=B, collate_fn=layer.collate)
    batches = [batch if form == "tuple" else (batch["images"], batch["labels"]) for batch in loader]
    assert len(batches) == 3 and all(isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) for x, y in batches)
    for x, y in batches:
        assert keras.backend.standardize_dtype(x.dtype) == "uint8"
        pixels = to_numpy(x)[..., 0].reshape(B, -1).astype(int) - 1
        shares = np.stack([np.bincount(row, minlength=B) for row in pixels]) / pixels.shape[1]
        np.testing.assert_allclose(to_numpy(y), shares, atol=1e-6)
    assert _distinct([y for _, y in batches])
    if form == "tuple":  # (Keras fits on (x, y) tuples)
        history = _tiny_model().fit(loader, epochs=1, shuffle=False, verbose=0)
        assert np.isfinite(history.history["loss"]).all()


def test_torch_dataloader_collate_takes_tensor_samples_and_keeps_what_numpy_cannot_stack():
    # Samples as torch tensors (torchvision's transforms return them) with a string each: the images and labels
    # stacked, mixed exactly, as CPU tensors; the strings as `default_collate` collates them (a list).
    torch = pytest.importorskip("torch")
    images, labels = _batch()
    elements = [
        {"images": torch.from_numpy(images[i % B]), "labels": int(labels[i % B]), "name": f"image {i}"}
        for i in range(2 * B)
    ]
    layer = keras_cutmix.CutMix(num_classes=B, seed=0, mode="sample")
    batches = list(torch.utils.data.DataLoader(elements, batch_size=B, collate_fn=layer.collate))
    assert [batch["name"] for batch in batches] == [[f"image {i}" for i in range(k, k + B)] for k in (0, B)]
    for batch in batches:
        assert isinstance(batch["images"], torch.Tensor) and batch["images"].dtype == torch.uint8
        pixels = to_numpy(batch["images"])[..., 0].reshape(B, -1).astype(int) - 1
        shares = np.stack([np.bincount(row, minlength=B) for row in pixels]) / pixels.shape[1]
        np.testing.assert_allclose(to_numpy(batch["labels"]), shares, atol=1e-6)
    assert _distinct([batch["labels"] for batch in batches])
    for i, element in enumerate(elements):  # the samples are never written
        np.testing.assert_array_equal(element["images"].numpy(), images[i % B])


def test_torch_dataloader_collate_in_a_worker_mixes_default_collates_batch_in_place(monkeypatch):
    # In a DataLoader worker, on every backend, `layer.collate` mixes the tensors `default_collate` made (there in
    # the shared memory that takes them to the main process: test_pipeline_workers.py) and returns those very
    # tensors, not copies. The worker is simulated here (`get_worker_info`), so that every backend's leg runs it.
    torch = pytest.importorskip("torch")
    from torch.utils import data

    made = []
    collate = data.default_collate
    monkeypatch.setattr(data, "default_collate", lambda batch: made.append(collate(batch)) or made[-1])
    monkeypatch.setattr(data, "get_worker_info", lambda: type("Info", (), {"id": 0, "num_workers": 1, "seed": 5})())
    images, labels = _batch()
    layer = keras_cutmix.CutMix(num_classes=B, seed=0, mode="sample")
    elements = [(images[i], labels[i]) for i in range(B)]
    x, y = next(iter(data.DataLoader(elements, batch_size=B, collate_fn=layer.collate)))
    assert len(made) == 1 and x is made[0][0], "the batch default_collate made, mixed in place"
    assert x.dtype == torch.uint8 and isinstance(y, torch.Tensor)
    pixels = to_numpy(x)[..., 0].reshape(B, -1).astype(int) - 1
    shares = np.stack([np.bincount(row, minlength=B) for row in pixels]) / pixels.shape[1]
    np.testing.assert_allclose(to_numpy(y), shares, atol=1e-6)
    assert not np.array_equal(to_numpy(x), images), "nothing was mixed"


def test_pydataset_threads_share_one_counter_and_fit():
    layer = keras_cutmix.CutMix(num_classes=B, seed=0, mode="sample")
    drawn, lock = [], threading.Lock()

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            x, y = layer(*_batch())
            with lock:
                drawn.append(y)
            return x, y

    history = _tiny_model().fit(Batches(workers=2, use_multiprocessing=False), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert len(drawn) >= 8 and _distinct(drawn), "two calls (threads or epochs) mixed alike"


def test_threads_never_draw_the_same_counter(monkeypatch):
    """`SeedGenerator.next()` reads, then assigns: under `COUNTER_LOCK` no two threads read the same state."""
    monkeypatch.setattr(sys, "getswitchinterval", sys.getswitchinterval)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so a race would show
    try:
        layer = keras_cutmix.CutMix(num_classes=B, seed=0)
        with ThreadPoolExecutor(4) as pool:
            seeds = list(pool.map(lambda _: to_numpy(layer._seed_and_probability()[0]), range(200)))
    finally:
        sys.setswitchinterval(previous)
    assert sorted(int(s[1]) for s in seeds) == list(range(200))
    assert int(to_numpy(layer.seed_generator.state)[1]) == 200


class _WorkerInfo:
    def __init__(self, seed):
        self.seed = seed


def test_torch_worker_streams_are_pure_functions_of_the_workers_seed(monkeypatch):
    data = pytest.importorskip("torch.utils.data")
    images, labels = _batch()

    def draw(worker_seed):
        monkeypatch.setattr(data, "get_worker_info", lambda: None if worker_seed is None else _WorkerInfo(worker_seed))
        return keras_cutmix.CutMix(num_classes=B, seed=7, mode="sample")(images, labels)[1]

    main, worker0, worker1, worker0_again = draw(None), draw(2**40), draw(2**40 + 1), draw(2**40)
    assert _distinct([main, worker0, worker1])
    np.testing.assert_array_equal(to_numpy(worker0), to_numpy(worker0_again))
    # The main process of a single-process run keeps the seed stream (seed, 0), (seed, 1), ...
    np.testing.assert_array_equal(
        to_numpy(main), to_numpy(keras_cutmix.cutmix(images, labels, seed=(7, 0), num_classes=B, mode="sample")[1])
    )


def test_unseeded_copies_in_another_process_add_entropy():
    assert streams.current_stream() is None
    assert streams.current_stream(seeded=True, owner_pid=-1) is None  # a fixed seed stays reproducible
    fresh = streams.current_stream(seeded=False, owner_pid=-1)
    assert fresh is not None and fresh == streams.current_stream(seeded=False, owner_pid=-1)  # once per process


def test_tf_config_task_is_a_stream(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}, "task": {"type": "worker", "index": 1}}')
    one = streams.current_stream()
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}, "task": {"type": "worker", "index": 0}}')
    assert None is not one != streams.current_stream() is not None


def test_per_batch_index_recipe_is_independent_of_order_and_threads():
    """The functional form with seed (s, batch index): any worker, thread or order gives the same batch."""
    images, labels = _batch()
    mix = lambda index: to_numpy(keras_cutmix.cutmix(images, labels, seed=(5, index), num_classes=B)[1])
    in_order = [mix(i) for i in range(6)]
    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(mix, reversed(range(6))))[::-1]
    np.testing.assert_array_equal(np.stack(in_order), np.stack(threaded))
    assert _distinct(in_order)
