"""Worker processes: torch `DataLoader(num_workers=2)`, `PyDataset` processes, grain `mp_prefetch` workers.

Each pipeline runs in a script of its own (this file, run with the name of a
pipeline and an output path), under a timeout, and writes what its batches
were as JSON. Every batch holds the same four images (image i is the
constant i + 1, class i), so two batches mixed alike are equal: workers that
repeated each other's draws would be caught.

- torch (torch backend, forked workers): uint8 kept, CPU tensors, batch 0
  (worker 0) and batch 1 (worker 1) mixed differently, the second epoch
  (recreated workers) differently from the first, the same batches again
  under the same `torch.manual_seed`, and again with `collate_fn=layer.collate`
  (mixed in the worker's shared memory); `fit` on the loader; `PyDataset` with
  two worker processes, mixed differently per batch and per epoch, and `fit`.
- torch with the layers' variables on a device no worker may touch
  (`KERAS_TORCH_DEVICE=meta`, a stand-in for CUDA: keras-team/keras#23506):
  CPU tensors out of the workers, by the host path and the ops path.
- grain (JAX backend, spawned workers): the recipe (the functional form in a
  `random_map`, seeded from grain's rng) gives the same batches with 0, 1
  and 2 workers; the layer in the same map draws differently in each worker,
  and so do the layer as `batch_fn` and as an operation of a
  `grain.DataLoader(worker_count=2)`.

Spawned workers import Keras and the backend, several seconds each: the
scripts run once, in the torch leg (`own_process`).
"""

from __future__ import annotations

import json
import os
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
B, H = 4, 8  # classes = batch size; image side
BATCHES = 4
SEED = 3
TIMEOUT_S = 420  # spawned workers import Keras and JAX, slow on a loaded 2-core machine


def _batch():
    images = np.broadcast_to(np.arange(1, B + 1, dtype="uint8")[:, None, None, None], (B, H, H, 3)).copy()
    return images, np.arange(B, dtype="int32")


def _to_numpy(x):
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x))


def _tiny_model():
    import keras

    model = keras.Sequential([keras.Input((H, H, 3)), keras.layers.Flatten(), keras.layers.Dense(B)])
    model.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True))
    return model


# ---------------------------------------------------------------------------
# The scripts


def torch_pipelines(out: dict, tmp: pathlib.Path) -> None:
    import keras
    import torch
    from torch.utils.data import DataLoader, Dataset

    import keras_cutmix

    images, labels = _batch()
    layer = keras_cutmix.CutMix(num_classes=B, seed=SEED, mode="sample")

    class Samples(Dataset):
        def __len__(self):
            return BATCHES * B

        def __getitem__(self, i):
            return images[i % B], labels[i % B]

        @staticmethod
        def collate(items):  # torch's own collation: CPU tensors in, CPU tensors out
            return layer(tuple(torch.utils.data.default_collate(items)))

    def two_epochs():
        torch.manual_seed(0)
        loader = DataLoader(Samples(), batch_size=B, num_workers=2, collate_fn=Samples.collate, timeout=120)
        epochs = []
        for _ in range(2):
            batches = list(loader)
            out.setdefault("torch_dtypes", []).extend(str(x.dtype) for x, _ in batches)
            out.setdefault("torch_devices", []).extend(str(x.device) for x, _ in batches)
            epochs.append([_to_numpy(y).tolist() for _, y in batches])
        return epochs

    out["torch_runs"] = [two_epochs(), two_epochs()]

    def collate_in_place(items):
        images, labels = layer.collate(items)
        return images, labels, images.is_shared()  # stacked in the worker's shared memory and mixed there

    torch.manual_seed(0)  # as the first epoch of `two_epochs`: the same workers' streams
    loader = DataLoader(Samples(), batch_size=B, num_workers=2, collate_fn=collate_in_place, timeout=120)
    out["torch_collate"] = [[str(x.dtype), shared, _to_numpy(y).tolist()] for x, y, shared in loader]
    loader = DataLoader(Samples(), batch_size=B, num_workers=2, collate_fn=Samples.collate, timeout=120)
    out["torch_fit_loss"] = _tiny_model().fit(loader, epochs=1, verbose=0).history["loss"]

    class Batches(keras.utils.PyDataset):
        """Mixes in `__getitem__` (in the worker processes) and leaves each result in a file."""

        def __len__(self):
            return BATCHES

        def __getitem__(self, index):
            x, y = layer(*_batch())
            name = f"{index}-{os.getpid()}-{len(list(tmp.glob(f'{index}-*')))}.npy"
            np.save(tmp / name, _to_numpy(y))
            return x, y

    batches = Batches(workers=2, use_multiprocessing=True)
    out["pydataset_fit_loss"] = _tiny_model().fit(batches, epochs=2, verbose=0).history["loss"]
    out["pydataset"] = {path.name: np.load(path).tolist() for path in sorted(tmp.glob("*.npy"))}


def torch_accelerator_pipelines(out: dict, tmp: pathlib.Path) -> None:
    """Run with `KERAS_TORCH_DEVICE=meta`: the layers' variables live on a device no worker may touch.

    A stand-in for CUDA (keras-team/keras#23506), where a forked worker cannot
    initialize the device and host pipelines must get CPU tensors: any op
    that landed on the default device would give a meta tensor, with no values.
    CutMix takes the host path, FMix the ops path under `streams.worker_device`.
    """
    import torch
    from torch.utils.data import DataLoader

    import keras_cutmix

    images, labels = _batch()
    samples = [(images[i % B], labels[i % B]) for i in range(BATCHES * B)]
    for layer_class in (keras_cutmix.CutMix, keras_cutmix.FMix):
        layer = layer_class(num_classes=B, seed=SEED, mode="sample")
        out.setdefault("variable_devices", []).append(str(layer.probability_variable.value.device))

        def collate(items, layer=layer):
            return layer(tuple(torch.utils.data.default_collate(items)))

        loader = DataLoader(samples, batch_size=B, num_workers=2, collate_fn=collate, timeout=120)
        out[layer_class.__name__] = [[str(x.dtype), str(x.device), str(y.device), y.tolist()] for x, y in loader]


def grain_pipelines(out: dict, tmp: pathlib.Path) -> None:
    import grain
    from absl import flags

    import keras_cutmix

    flags.FLAGS.mark_as_parsed()  # grain reads absl flags; a plain script has not parsed any

    layer = keras_cutmix.CutMix(num_classes=B, seed=SEED, mode="sample")

    class Mix(grain.transforms.RandomMap):
        """The recipe: the functional form, seeded from grain's per-element rng; the layer beside it."""

        def random_map(self, element, rng):
            images, labels = element
            _, recipe = keras_cutmix.cutmix(
                images, labels, seed=rng.integers(2**31, size=2), num_classes=B, mode="sample"
            )
            _, by_layer = layer((images, labels))
            return _to_numpy(recipe), _to_numpy(by_layer)

    images, labels = _batch()
    source = [(images[i % B], labels[i % B]) for i in range(BATCHES * B)]
    # Two epochs: `repeat` keeps counting the element index (the recipe) and the workers' calls (the layer).
    dataset = grain.MapDataset.source(source).batch(B).repeat(2).random_map(Mix(), seed=SEED).to_iter_dataset()
    for workers in (0, 1, 2):
        pipeline = dataset.mp_prefetch(grain.multiprocessing.MultiprocessingOptions(num_workers=workers))
        out[f"grain_{workers}"] = [[recipe.tolist(), by_layer.tolist()] for recipe, by_layer in pipeline]
    # The layer as grain's `batch_fn`: the samples stacked and mixed in place, in each of two workers.
    collated = grain.MapDataset.source(source).batch(B, batch_fn=layer.collate).to_iter_dataset()
    collated = collated.mp_prefetch(grain.multiprocessing.MultiprocessingOptions(num_workers=2))
    out["grain_collate"] = [[str(x.dtype), y.tolist()] for x, y in collated]

    class LayerMix(grain.transforms.Map):
        """The layer as a `grain.DataLoader` operation."""

        def map(self, element):
            return tuple(_to_numpy(x) for x in layer(element))

    # Unshuffled: every batch holds the same four images, so batches mixed alike are equal.
    sampler = grain.samplers.IndexSampler(len(source), shuffle=False, seed=0, num_epochs=1)
    operations = [grain.transforms.Batch(B), LayerMix()]
    loader = grain.DataLoader(data_source=source, sampler=sampler, operations=operations, worker_count=2)
    out["grain_loader"] = [y.tolist() for _, y in loader]


# ---------------------------------------------------------------------------
# The tests


def _run(pipeline: str, backend: str, tmp_path: pathlib.Path, **env: str) -> dict:
    from helpers import run_script  # tests/helpers.py: importable under pytest, not in the script

    output = tmp_path / "out.json"
    script = pathlib.Path(__file__).relative_to(ROOT)
    env = {"KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": "", **env}
    run_script(script, pipeline, output, timeout=TIMEOUT_S, **env)
    return json.loads(output.read_text())


pytestmark = pytest.mark.own_process


def _distinct(batches) -> bool:
    return len({json.dumps(b) for b in batches}) == len(batches)


def test_torch_dataloader_workers_draw_their_own_boxes_reproducibly(tmp_path):
    out = _run("torch", "torch", tmp_path)
    first, second = out["torch_runs"]
    assert set(out["torch_dtypes"]) == {"torch.uint8"} and set(out["torch_devices"]) == {"cpu"}
    for epoch in first:
        assert len(epoch) == BATCHES and _distinct(epoch), "two workers (or two calls) mixed alike"
        for y in epoch:
            np.testing.assert_allclose(np.sum(y, axis=1), 1.0, atol=1e-6)
    assert _distinct([first[0][0], first[1][0]]), "the second epoch's workers repeated the first's"
    assert first == second, "the same torch.manual_seed and layer seed gave other batches"
    # `collate_fn=layer.collate`: the same batches, mixed in the shared memory that default_collate stacked them in.
    assert [y for *_, y in out["torch_collate"]] == first[0]
    assert all(dtype == "torch.uint8" and shared for dtype, shared, _ in out["torch_collate"])
    assert len(out["torch_fit_loss"]) == 1 and np.isfinite(out["torch_fit_loss"][0])
    # PyDataset(workers=2, use_multiprocessing=True): every call of every epoch drawn anew.
    drawn = list(out["pydataset"].values())
    pids = {name.split("-")[1] for name in out["pydataset"]}
    assert len(drawn) >= 2 * BATCHES and len(pids) >= 2, sorted(out["pydataset"])
    assert _distinct(drawn), "PyDataset worker processes repeated each other's draws"
    assert all(np.isfinite(out["pydataset_fit_loss"]))


def test_torch_workers_give_cpu_tensors_where_the_default_device_is_an_accelerator(tmp_path):
    out = _run("torch_accelerator", "torch", tmp_path, KERAS_TORCH_DEVICE="meta")
    assert set(out["variable_devices"]) == {"meta"}  # the stand-in took: the layers' variables are off the CPU
    for name in ("CutMix", "FMix"):  # the host path, the ops path
        batches = out[name]
        assert len(batches) == BATCHES and _distinct([y for *_, y in batches]), name
        for dtype, device, labels_device, y in batches:
            assert (dtype, device, labels_device) == ("torch.uint8", "cpu", "cpu"), name
            np.testing.assert_allclose(np.sum(y, axis=1), 1.0, atol=1e-6)


def test_grain_recipe_is_the_same_for_0_1_and_2_workers_and_the_layer_differs_per_worker(tmp_path):
    out = _run("grain", "jax", tmp_path)
    recipes = {workers: [batch[0] for batch in out[f"grain_{workers}"]] for workers in (0, 1, 2)}
    assert len(recipes[0]) == 2 * BATCHES and _distinct(recipes[0]), "two batches (or epochs) mixed alike"
    assert recipes[0] == recipes[1] == recipes[2], "the recipe's batches depend on the number of workers"
    by_layer = [batch[1] for batch in out["grain_2"]]
    assert len(by_layer) == 2 * BATCHES and _distinct(by_layer), "grain's two workers repeated each other's draws"
    by_collate = out["grain_collate"]
    assert len(by_collate) == BATCHES and _distinct([y for _, y in by_collate]), "batch_fn=layer.collate repeated draws"
    for dtype, y in by_collate:
        assert dtype == "uint8"
        np.testing.assert_allclose(np.sum(y, axis=1), 1.0, atol=1e-6)
    # grain.DataLoader(worker_count=2): worker 0 mixes batches 0 and 2, worker 1 batches 1 and 3.
    loader = out["grain_loader"]
    assert len(loader) == BATCHES and _distinct(loader), "the DataLoader's two workers repeated each other's draws"
    for y in loader:
        np.testing.assert_allclose(np.sum(y, axis=1), 1.0, atol=1e-6)


if __name__ == "__main__":
    name, output = sys.argv[1], pathlib.Path(sys.argv[2])
    result: dict = {}
    pipelines = {"torch": torch_pipelines, "torch_accelerator": torch_accelerator_pipelines, "grain": grain_pipelines}
    pipelines[name](result, output.parent)
    output.write_text(json.dumps(result))
