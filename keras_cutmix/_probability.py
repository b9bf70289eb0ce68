"""A schedulable `probability`, shared by the mixing layers and `CutMixModel`."""

from __future__ import annotations

import keras

from keras_cutmix.core import _check_number


class ScheduledProbability:
    """Mixin for a `keras.layers.Layer`: the chance of mixing in a variable.

    The step (compiled, or a tf.data graph) reads the variable, so
    `set_probability` takes effect at once, without retracing.
    """

    def _add_probability_variable(self, value: float) -> None:
        self.probability_variable = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(value),
            dtype="float32",
            trainable=False,
            autocast=False,  # stays float32 under mixed-precision policies
            name="probability",
        )

    @property
    def probability(self) -> float:
        return float(keras.ops.convert_to_numpy(self.probability_variable.value))

    def set_probability(self, value: float) -> None:
        """Change the chance of mixing, also mid-`fit` (no retrace)."""
        _check_number("probability", value, low=0.0, high=1.0)
        self.probability_variable.assign(float(value))
        self._probability_changed(float(value))

    def _probability_changed(self, value: float) -> None:
        """Hook for copies of the variable held elsewhere (a tf.data twin)."""
