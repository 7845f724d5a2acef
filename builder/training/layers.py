"""The generator's layers (and the InstanceNorm both networks use), each shaped by the browser,
where every visitor runs the generator 30 times a second in tf.js:
- decoder upsampling is a bilinear resize then a 3x3 convolution, not a transposed
  convolution (no checkerboard; tf.js wasm runs conv2dTranspose 3-4x slower). The resize is
  `keras.ops.image.resize`, which converts to tf.js's native ResizeBilinear kernel; Keras
  UpSampling2D becomes Tile/Reshape ops that run 4x slower in tf.js wasm.
- each decoder level joins its skip connection (and the last one the soft input) by convolving
  both and summing (`JoinConv`), not by concatenating channels first: the same function and
  weights, without the copies that cost tf.js wasm 8 ms a frame.
- InstanceNorm, not BatchNorm (at batch 1 BatchNorm's running statistics gave grid artifacts).
- reflect padding before every generator convolution, not zeros: zero padding tells the network
  where the frame ends, and it painted bright rims and corner blotches there (converts to tf.js
  MirrorPad, which both the WebGL and wasm backends run).
- a noise texture added to the features at half (or quarter) resolution (noise.py).
- optionally, an unsharp mask on the output (`Sharpen`), in use only: crisper rims, no training cost.
- in use (training=False: export, samples, scores) InstanceNorm and the leaky ReLU compute the same
  numbers as in training in the ops tf.js runs fast (average pools, Prelu); training keeps TF's.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops


def map_mean(x):
    """(b, h, w, c) -> (b, 1, 1, c): the mean over space as average pools (tf.js AvgPool), on large
    maps in two stages (e.g. 8 x 8 windows, then 16 x 16): with one pool of all 128 x 128 values a
    dark photograph's output moved by 1e-4 from TF's Mean, in two stages by 1.4e-5."""
    h, w = x.shape[1], x.shape[2]
    first = (_root_divisor(h), _root_divisor(w)) if h * w > 256 else (h, w)
    for window in (first, (h // first[0], w // first[1])):
        if window != (1, 1):
            x = ops.average_pool(x, window, strides=window, padding="valid")
    return x


def _root_divisor(n: int) -> int:
    """The largest divisor of n that is not above its square root."""
    return max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)


@keras.saving.register_keras_serializable("builder")
class InstanceNorm(layers.Layer):
    """Normalise each sample's channels over space; learned scale and offset per channel."""

    def __init__(self, epsilon: float = 1e-5, **kw):
        super().__init__(**kw)
        self.epsilon = epsilon

    def build(self, shape):
        self.gamma = self.add_weight(shape=(shape[-1],), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(shape[-1],), initializer="zeros", name="beta")

    def call(self, x, training=False):
        if training:  # as the checkpoints were trained
            mean, var = ops.moments(x, axes=[1, 2], keepdims=True)
            return (x - mean) * ops.rsqrt(var + self.epsilon) * self.gamma + self.beta
        # In use (export, samples, scores): the same statistics from average pools, which tf.js runs
        # natively; its Mean over axes 1-2 transposes the map first (7 ms a frame with LeakyRelu). Two
        # passes: the variance as mean(x^2) - mean^2 moved a dark photograph's output by 1.6e-3.
        centred = x - map_mean(x)
        scale = self.gamma * ops.rsqrt(map_mean(centred * centred) + self.epsilon)
        return centred * scale + self.beta  # (b, h, w, c); the statistics are (b, 1, 1, c)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable("builder")
class Upsample2x(layers.Layer):
    """Bilinear 2x resize (converts to tf.js ResizeBilinear)."""

    def call(self, x):
        h, w = x.shape[1], x.shape[2]
        return ops.image.resize(x, (2 * h, 2 * w), interpolation="bilinear")


BINOMIAL_3X3 = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]).astype(np.float32)  # sums to 16; squares to 36


def reflect_pad(x, width: int):
    """Mirror `width` pixels around each spatial edge of (b, h, w, c) (tf.js MirrorPad)."""
    return ops.pad(x, [[0, 0], [width, width], [width, width], [0, 0]], mode="reflect")


@keras.saving.register_keras_serializable("builder")
class ReflectPad(layers.Layer):
    """Mirror `width` pixels around each spatial edge (converts to tf.js MirrorPad)."""

    def __init__(self, width: int = 1, **kw):
        super().__init__(**kw)
        self.width = width

    def call(self, x):
        return reflect_pad(x, self.width)

    def get_config(self):
        return {**super().get_config(), "width": self.width}


@keras.saving.register_keras_serializable("builder")
class Blur(layers.Layer):
    """A fixed 3x3 binomial low-pass per channel, reflect-padded (tf.js DepthwiseConv2dNative).

    Put before a strided convolution it removes what would alias: without it the encoder's
    output depends on where a shape falls on its 2^i-pixel grids, and the generator learned
    to stamp invented texture on that lattice (Zhang, "Making convolutional networks
    shift-invariant again", 2019).

    `bordered`: the input comes with a 1-px reflect border (the generator pads a tensor once for
    all its consumers) and the output keeps one, for the convolution after it; else the input is
    padded here and the output is its size."""

    def __init__(self, bordered: bool = False, **kw):
        super().__init__(**kw)
        self.bordered = bordered

    def build(self, shape):
        kernel = BINOMIAL_3X3 / 16.0  # sum 1: a low-pass that keeps the mean
        self.kernel = np.repeat(kernel[:, :, None, None], shape[-1], axis=2)  # (3, 3, C, 1), a constant

    def call(self, x):
        blurred = ops.depthwise_conv(x if self.bordered else reflect_pad(x, 1), self.kernel, strides=1,
                                     padding="valid")
        return reflect_pad(blurred, 1) if self.bordered else blurred

    def get_config(self):
        return {**super().get_config(), "bordered": self.bordered}


@keras.saving.register_keras_serializable("builder")
class SoftInputBlur(layers.Layer):
    """A fixed Gaussian low-pass of the 1-channel soft input (two 1-D depthwise convolutions,
    reflect-padded), the generator's first layer when `input_blur` > 0.

    The transform's 24x area downscale samples the scene on a grid fixed to the screen; the
    bicubic upscale leaves kinks on that grid, and a generator that invents detail from them (the
    cheapest source of sharp detail it has) paints detail that stays put while the scene pans.
    Blurred, the soft input keeps the scene's broad shapes, which travel with it, and little of
    the grid (its harmonics at 12 px and finer fall 30x or more at sigma 5). Measured (README,
    ablation): detail followed the scene sooner in a run, then fell back as far as without it; off
    by default."""

    def __init__(self, sigma: float = 4.0, **kw):
        super().__init__(**kw)
        self.sigma = float(sigma)

    def build(self, shape):
        radius = max(1, math.ceil(3.0 * self.sigma))
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / self.sigma) ** 2).astype(np.float32)
        taps /= taps.sum()  # keeps the mean
        self.radius = radius
        self.rows = taps[:, None, None, None]  # (K, 1, 1, 1): depthwise, a constant
        self.columns = taps[None, :, None, None]  # (1, K, 1, 1)

    def call(self, x):
        x = reflect_pad(x, self.radius)  # (b, S + 2r, S + 2r, 1)
        x = ops.depthwise_conv(x, self.rows, strides=1, padding="valid")  # (b, S, S + 2r, 1)
        return ops.depthwise_conv(x, self.columns, strides=1, padding="valid")  # (b, S, S, 1)

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}


@keras.saving.register_keras_serializable("builder")
class JoinConv(layers.Layer):
    """A 3x3 convolution of concat([a, b]) along channels, computed as one convolution of each,
    summed: the same function without the concatenation, which tf.js wasm copies slowly (8 ms a
    frame over the generator's six joins; 6.5 ms of it for the 1-channel soft input at 256x256).
    One kernel per input, not slices of one (tf.js would slice the weights every frame).
    `bordered_b`: the second input comes reflect-padded already (padded once for all its consumers)."""

    def __init__(self, filters: int, padding: str, kernel_initializer=None, use_bias: bool = True,
                 bordered_b: bool = False, **kw):
        super().__init__(**kw)
        self.filters, self.padding, self.use_bias, self.bordered_b = filters, padding, use_bias, bordered_b
        self.kernel_initializer = keras.initializers.get(kernel_initializer or "glorot_uniform")

    def build(self, shapes):
        # Attributes, not a list: tf.train.Checkpoint tracks a layer's weights through its attributes,
        # and a list of them was left out of checkpoints (restored only through the optimizer's slots).
        self.kernel_a, self.kernel_b = (
            self.add_weight(shape=(3, 3, shape[-1], self.filters), initializer=self.kernel_initializer,
                            name=f"kernel_{name}") for shape, name in zip(shapes, "ab"))
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    @property
    def kernels(self) -> tuple:
        return self.kernel_a, self.kernel_b

    def _conv(self, x, kernel, bordered: bool = False):
        if self.padding == "reflect":
            return ops.conv(x if bordered else reflect_pad(x, 1), kernel, padding="valid")
        return ops.conv(x, kernel, padding="same")

    def call(self, inputs):
        import tensorflow as tf  # the builder's backend: AddN has no keras.ops name

        a, b = inputs
        first = self._conv(a, self.kernel_a)
        if self.use_bias:
            first = first + self.bias
        # AddN, not Add: the tensorflowjs converter fuses Conv2D + Add into a FusedConv2D whose
        # "bias" is the other convolution's output, which tf.js rejects. (Before: a Sub of the
        # convolution with the kernel negated, whose Neg tf.js ran on the weights every frame.)
        return tf.math.add_n([first, self._conv(b, self.kernel_b, self.bordered_b)])

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "padding": self.padding, "use_bias": self.use_bias,
                "bordered_b": self.bordered_b,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}


@keras.saving.register_keras_serializable("builder")
class SigmoidTanh(layers.Layer):
    """tanh(z) computed as 2 * sigmoid(2z) - 1, the same function: tf.js wasm runs Tanh as a
    scalar kernel (5 ms a frame on the 256 x 256 x 3 output) and Sigmoid ~14x faster."""

    def call(self, x):
        return 2.0 * ops.sigmoid(2.0 * x) - 1.0


def clip_to_unit(x):
    """x clipped to [-1, 1] as one ClipByValue op: ops.clip is a Maximum and a Minimum, which tf.js
    wasm runs as broadcasting binary kernels, 2.9 ms a frame at 256 x 256 x 3 against 0.14."""
    from builder.tfenv import tensorflow

    tf = tensorflow()
    one = tf.constant(1.0, x.dtype)
    return tf.raw_ops.ClipByValue(t=x, clip_value_min=-one, clip_value_max=one)


@keras.saving.register_keras_serializable("builder")
class Sharpen(layers.Layer):
    """An unsharp mask on the finished picture, in use only: x + amount * (x - blur(x)), the blur
    the 3x3 binomial, folded into one fixed 3x3 depthwise convolution (tf.js DepthwiseConv2dNative),
    reflect-padded, then clipped to [-1, 1].

    Why: a 24x-downscaled input cannot say where a cloud's rim falls, so the L1 loss asks for the
    average of every place it could, and the rims come softer than the theme's. Sharpening the
    output is a display filter with no weights; training (training=True) sees the generator's
    own picture, since trained through it the generator would learn to undo it."""

    def __init__(self, amount: float = 0.0, **kw):
        super().__init__(**kw)
        self.amount = amount

    def build(self, shape):
        identity = np.zeros((3, 3), np.float32)
        identity[1, 1] = 1.0
        kernel = (1.0 + self.amount) * identity - self.amount * BINOMIAL_3X3 / 16.0  # sums to 1: keeps the mean
        self.kernel = np.repeat(kernel[:, :, None, None], shape[-1], axis=2)  # (3, 3, C, 1), a constant

    def call(self, x, training=False):
        if training:
            return x
        return clip_to_unit(ops.depthwise_conv(reflect_pad(x, 1), self.kernel, strides=1, padding="valid"))

    def get_config(self):
        return {**super().get_config(), "amount": self.amount}


@keras.saving.register_keras_serializable("builder")
class PreluLeakyReLU(layers.Layer):
    """LeakyReLU in a form tf.js runs fast: in use, relu(x) - a * relu(-x), Keras PReLU's graph, which
    the tensorflowjs converter fuses into one Prelu (tf.js wasm runs LeakyRelu as a scalar kernel,
    Prelu ~10x faster). The slope is one per channel, all equal: tf.js wasm hands Prelu to XNNPACK
    with as many channels as the slope has values, and a single one ran 5 ms on a 64 x 64 x 32 map.
    Training keeps TF's LeakyRelu: on the CPU its gradient takes half the time."""

    def __init__(self, negative_slope: float = 0.2, **kw):
        super().__init__(**kw)
        self.negative_slope = negative_slope

    def call(self, x, training=False):
        if training:
            return ops.leaky_relu(x, self.negative_slope)
        slopes = np.full(x.shape[-1:], -self.negative_slope, np.float32)  # (c,), negated as Keras PReLU has it
        return ops.relu(x) + slopes * ops.relu(-x)  # Add(Relu(x), Mul(Const, Relu(Neg(x))))

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}
