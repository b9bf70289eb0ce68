"""Models for the examples, all ending in GlobalAveragePooling2D + Dense (so CAMs apply).

* `small_resnet`: a ResNet for small images (He et al., 2016; CIFAR layout):
  a 3×3 stem, three stages of basic blocks at widths (w, 2w, 4w), strides
  (1, 2, 2), global average pooling, a dense classifier. `fit_compare.py`'s
  default (width 16, one block per stage: 8 conv layers, ~80k parameters).
* `simple_cnn`: two conv layers, for smoke tests.
* `preact_resnet18`: PreAct ResNet-18 (He et al., 2016b), the MixUp paper's CIFAR model.
* `pyramidnet`: PyramidNet with basic blocks (Han et al., 2017), the CutMix
  paper's CIFAR model (the paper's PyramidNet-200, α=240 uses bottleneck
  blocks; depth 110, α=48 basic blocks is ~1.7M parameters).
"""

from __future__ import annotations

import keras
from keras import layers


def _conv(filters: int, kernel: int = 3, strides: int = 1, name: str | None = None) -> layers.Layer:
    return layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        name=name,
    )


def _inputs(input_shape, normalization):
    """keras.Input, then an optional per-channel standardization ((mean, variance) of the training set)."""
    inputs = keras.Input(input_shape, name="images")
    x = inputs
    if normalization is not None:
        mean, variance = normalization
        x = layers.Normalization(mean=mean, variance=variance, name="standardize")(x)
    return inputs, x


def _bn(name: str, momentum: float) -> layers.Layer:
    return layers.BatchNormalization(momentum=momentum, name=name)


def _basic_block(x, filters: int, strides: int, name: str, momentum: float = 0.99):
    shortcut = x
    y = _conv(filters, 3, strides, name=f"{name}_conv1")(x)
    y = _bn(f"{name}_bn1", momentum)(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = _conv(filters, 3, 1, name=f"{name}_conv2")(y)
    y = _bn(f"{name}_bn2", momentum)(y)
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv(filters, 1, strides, name=f"{name}_proj")(x)
        shortcut = _bn(f"{name}_proj_bn", momentum)(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def small_resnet(
    input_shape,
    num_classes: int,
    width: int = 16,
    blocks_per_stage: int = 1,
    bn_momentum: float = 0.9,
    normalization=None,
    name: str = "small_resnet",
) -> keras.Model:
    """A CIFAR-style ResNet: stem, 3 stages (w, 2w, 4w) of basic blocks, GAP, Dense (logits).

    BatchNormalization's moving averages use momentum 0.9 (Keras: 0.99) so
    that they settle within the few hundred steps of a quick run.
    """
    inputs, x = _inputs(input_shape, normalization)
    x = _conv(width, 3, name="stem_conv")(x)
    x = _bn("stem_bn", bn_momentum)(x)
    x = layers.ReLU(name="stem_relu")(x)
    for stage, filters in enumerate((width, 2 * width, 4 * width)):
        for block in range(blocks_per_stage):
            strides = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(x, filters, strides, name=f"stage{stage + 1}_block{block + 1}", momentum=bn_momentum)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def simple_cnn(
    input_shape, num_classes: int, width: int = 16, normalization=None, name: str = "simple_cnn"
) -> keras.Model:
    """Two 3×3 convolutions, GAP, Dense: a fast model for smoke tests."""
    inputs, x = _inputs(input_shape, normalization)
    x = layers.Conv2D(width, 3, padding="same", activation="relu", name="conv1")(x)
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu", name="conv2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def _preact_block(x, filters: int, strides: int, name: str):
    y = layers.BatchNormalization(name=f"{name}_bn1")(x)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv(filters, 1, strides, name=f"{name}_proj")(y)
    y = _conv(filters, 3, strides, name=f"{name}_conv1")(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    y = layers.ReLU(name=f"{name}_relu2")(y)
    y = _conv(filters, 3, 1, name=f"{name}_conv2")(y)
    return layers.Add(name=f"{name}_add")([y, shortcut])


def preact_resnet18(input_shape, num_classes: int, normalization=None, name: str = "preact_resnet18") -> keras.Model:
    """PreAct ResNet-18 for 32×32 inputs (11M parameters)."""
    inputs, x = _inputs(input_shape, normalization)
    x = _conv(64, 3, name="stem_conv")(x)
    for stage, filters in enumerate((64, 128, 256, 512)):
        for block in range(2):
            strides = 2 if stage > 0 and block == 0 else 1
            x = _preact_block(x, filters, strides, name=f"stage{stage + 1}_block{block + 1}")
    x = layers.BatchNormalization(name="final_bn")(x)
    x = layers.ReLU(name="final_relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


class _ZeroPadChannels(layers.Layer):
    """PyramidNet's shortcut: pad the channels of the identity with zeros."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels

    def call(self, x):
        extra = self.channels - x.shape[-1]
        return keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.channels,)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


def pyramidnet(
    input_shape, num_classes: int, depth: int = 110, alpha: int = 48, normalization=None, name: str = "pyramidnet"
) -> keras.Model:
    """PyramidNet with basic blocks: widths grow by α/N per block from 16 (Han et al., 2017).

    depth = 6·N + 2 (N blocks per stage); the paper's CIFAR setting is a
    bottleneck PyramidNet-200 (α=240, 26.8M parameters, 300 epochs).
    """
    if (depth - 2) % 6:
        raise ValueError(f"PyramidNet with basic blocks needs depth = 6N + 2; got {depth}.")
    n = (depth - 2) // 6
    inputs, x = _inputs(input_shape, normalization)
    x = _conv(16, 3, name="stem_conv")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    width = 16.0
    for stage in range(3):
        for block in range(n):
            width += alpha / (3 * n)
            filters = round(width)
            strides = 2 if stage > 0 and block == 0 else 1
            block_name = f"stage{stage + 1}_block{block + 1}"
            y = layers.BatchNormalization(name=f"{block_name}_bn1")(x)
            y = _conv(filters, 3, strides, name=f"{block_name}_conv1")(y)
            y = layers.BatchNormalization(name=f"{block_name}_bn2")(y)
            y = layers.ReLU(name=f"{block_name}_relu")(y)
            y = _conv(filters, 3, 1, name=f"{block_name}_conv2")(y)
            y = layers.BatchNormalization(name=f"{block_name}_bn3")(y)
            shortcut = x
            if strides != 1:
                shortcut = layers.AveragePooling2D(2, padding="same", name=f"{block_name}_pool")(shortcut)
            if shortcut.shape[-1] != filters:
                shortcut = _ZeroPadChannels(filters, name=f"{block_name}_pad")(shortcut)
            x = layers.Add(name=f"{block_name}_add")([y, shortcut])
    x = layers.BatchNormalization(name="final_bn")(x)
    x = layers.ReLU(name="final_relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


MODELS = {
    "resnet": small_resnet,
    "cnn": simple_cnn,
    "preact_resnet18": preact_resnet18,
    "pyramidnet": pyramidnet,
}
