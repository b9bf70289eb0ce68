"""`MixingScheduler`: change the chance of mixing during `fit`, and log it.

Probability lives in a variable of each layer (and of `CutMixModel`), read
inside the compiled step or the tf.data graph, so a schedule takes effect at
once with no retrace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from keras_cutmix import validation

# The key of the probability in `fit`'s logs (History, progress bar).
PROBABILITY_LOG = "mixing_probability"


class LogProbability(keras.callbacks.Callback):
    """Put the target's probability in `fit`'s logs, as `"mixing_probability"` (CutMixModel adds one)."""

    def __init__(self, target: Any) -> None:
        super().__init__()
        self.target = target

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._log(logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._log(logs)

    def _log(self, logs: dict | None) -> None:
        # Python-side, after each batch (the progress bar) and epoch (History),
        # as Keras logs the learning rate; nothing is added to the compiled step.
        if logs is not None:
            logs[PROBABILITY_LOG] = self.target.probability


class MixingScheduler(LogProbability):
    """Schedule the `probability` of a mixing layer or `CutMixModel`.

    The paper's "scheduled CutMix" raises the probability linearly during
    training; timm switches mixing off for the last epochs (`mixup_off_epoch`).

    ```python
    cutmix = keras_cutmix.CutMix(num_classes=10)
    ds = ds.batch(128).map(cutmix)
    scheduler = keras_cutmix.MixingScheduler(cutmix, start=0.0, end=1.0, ramp_epochs=30, off_epoch=90)
    model.fit(ds, epochs=100, callbacks=[scheduler])
    ```

    Args:
        target: a layer of the package (CutMix, MixUp, Cutout, CutMixOrMixUp, ...)
            or a `CutMixModel`: anything with `set_probability` and `probability`.
        start: the probability at the first epoch (or step) of the ramp.
        end: the probability at the end of the ramp; defaults to the
            target's probability when the scheduler is made.
        ramp_epochs: epochs over which probability goes linearly from `start`
            to `end` (epoch e gets start + (end − start)·min(1, e / ramp_epochs)).
            0 means no ramp: `end` from the start.
        ramp_steps: a ramp over optimizer steps instead of epochs, updated
            before each batch.
        off_epoch: from this epoch (0-based) on, probability is 0.
        schedule: a function epoch → probability that replaces the ramp.

    The probability is logged as `"mixing_probability"` after each batch and
    epoch (progress bar, History).
    """

    def __init__(
        self,
        target: Any,
        *,
        start: float = 0.0,
        end: float | None = None,
        ramp_epochs: int = 0,
        ramp_steps: int | None = None,
        off_epoch: int | None = None,
        schedule: Callable[[int], float] | None = None,
    ) -> None:
        if not hasattr(target, "set_probability"):
            raise ValueError(f"`target` must be a keras_cutmix layer or CutMixModel; received {type(target).__name__}.")
        super().__init__(target)
        self.start = validation.check_number("start", start, low=0.0, high=1.0)
        self.end = validation.check_number("end", target.probability if end is None else end, low=0.0, high=1.0)
        if ramp_epochs < 0 or (ramp_steps is not None and ramp_steps < 1):
            raise ValueError(f"Ramps must be positive. Received: ramp_epochs={ramp_epochs}, ramp_steps={ramp_steps}")
        self.ramp_epochs = ramp_epochs
        self.ramp_steps = ramp_steps
        self.off_epoch = off_epoch
        self.schedule = schedule
        self._epoch = 0
        self._step = 0

    def probability_at(self, epoch: int, step: int | None = None) -> float:
        """The scheduled probability at an epoch (and global step)."""
        if self.off_epoch is not None and epoch >= self.off_epoch:
            return 0.0
        if self.schedule is not None:
            return float(self.schedule(epoch))
        if self.ramp_steps is not None and step is not None:
            progress = min(1.0, step / self.ramp_steps)
        elif self.ramp_epochs:
            progress = min(1.0, epoch / self.ramp_epochs)
        else:
            progress = 1.0
        return self.start + (self.end - self.start) * progress

    def _apply(self, probability: float) -> None:
        # Reading `self.model` first makes the JAX trainer sync its state, so
        # the assignment below is picked up by the next compiled step.
        _ = self.model
        if abs(probability - self.target.probability) > 1e-9:
            self.target.set_probability(probability)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        self._apply(self.probability_at(epoch, self._step if self.ramp_steps else None))

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.ramp_steps is not None:
            self._apply(self.probability_at(self._epoch, self._step))
        self._step += 1
