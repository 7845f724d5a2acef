"""The networks: a small pix2pix U-Net generator and a PatchGAN discriminator.

Choices made for the browser, where every visitor runs the generator 30 times a second:
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
- a noise texture added to the features at half (or quarter) resolution: the camera's soft input
  says nothing about where a star or a fleck of foam goes, and a network with nothing else to go
  on puts it at every cell of its own coarse grid (a lattice). Fresh noise each training step,
  one fixed pattern in the exported model (a constant in the browser: no flicker).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops


@keras.saving.register_keras_serializable("builder")
class InstanceNorm(layers.Layer):
    """Normalise each sample's channels over space; learned scale and offset per channel."""

    def __init__(self, epsilon: float = 1e-5, **kw):
        super().__init__(**kw)
        self.epsilon = epsilon

    def build(self, shape):
        self.gamma = self.add_weight(shape=(shape[-1],), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(shape[-1],), initializer="zeros", name="beta")

    def call(self, x):
        mean, var = ops.moments(x, axes=[1, 2], keepdims=True)
        return (x - mean) * ops.rsqrt(var + self.epsilon) * self.gamma + self.beta

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
    shift-invariant again", 2019)."""

    def build(self, shape):
        kernel = BINOMIAL_3X3 / 16.0  # sum 1: a low-pass that keeps the mean
        self.kernel = np.repeat(kernel[:, :, None, None], shape[-1], axis=2)  # (3, 3, C, 1), a constant

    def call(self, x):
        return ops.depthwise_conv(reflect_pad(x, 1), self.kernel, strides=1, padding="valid")


def smooth_noise(field):
    """Binomial 3x3 low-pass of (b, h + 2, w + 2, 1) unit Gaussian noise -> (b, h, w, 1), unit std.

    White noise carries its full power at the Nyquist frequency; bilinear upsampling moves that
    to a 4-px period and the output tanh, where it saturates, folds it into a 2-px checkerboard
    (with white noise the test photographs showed Nyquist peaks 100-500x their surroundings)."""
    kernel = BINOMIAL_3X3 / 6.0  # sum of squares 1: the output keeps unit variance
    return ops.conv(field, kernel[:, :, None, None], padding="valid")


@keras.saving.register_keras_serializable("builder")
class NoiseTexture(layers.Layer):
    """Adds a smooth noise texture to every channel, times a learned per-channel strength
    (StyleGAN's noise inputs). Fresh noise at every training call; at inference the layer's own
    stored pattern (a non-trainable weight: checkpointed and exported with the model)."""

    def build(self, shape):
        h, w = shape[1], shape[2]
        self.pattern = self.add_weight(shape=(h, w, 1), initializer="zeros", trainable=False, name="pattern")
        self.pattern.assign(smooth_noise(keras.random.normal((1, h + 2, w + 2, 1)))[0])
        self.strength = self.add_weight(shape=(shape[-1],), initializer=keras.initializers.Constant(0.1),
                                        name="strength")

    def call(self, x, training=False):
        import tensorflow as tf  # the builder's backend; keras.random would add a seed-state variable

        if training:
            field = tf.random.normal(tf.concat([tf.shape(x)[:1], tf.shape(x)[1:3] + 2, [1]], axis=0))
            noise = smooth_noise(field)
        else:
            noise = self.pattern[None]  # (1, h, w, 1): broadcasts over the batch
        return x + ops.cast(noise, x.dtype) * self.strength


@keras.saving.register_keras_serializable("builder")
class JoinConv(layers.Layer):
    """A 3x3 convolution of concat([a, b]) along channels, computed as one convolution of each,
    summed: the same function without the concatenation, which tf.js wasm copies slowly (8 ms a
    frame over the generator's six joins; 6.5 ms of it for the 1-channel soft input at 256x256).
    One kernel per input, not slices of one (tf.js would slice the weights every frame)."""

    def __init__(self, filters: int, padding: str, kernel_initializer=None, use_bias: bool = True, **kw):
        super().__init__(**kw)
        self.filters, self.padding, self.use_bias = filters, padding, use_bias
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

    def _conv(self, x, kernel):
        if self.padding == "reflect":
            return ops.conv(reflect_pad(x, 1), kernel, padding="valid")
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
        return tf.math.add_n([first, self._conv(b, self.kernel_b)])

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "padding": self.padding,
                "use_bias": self.use_bias, "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}


@keras.saving.register_keras_serializable("builder")
class SigmoidTanh(layers.Layer):
    """tanh(z) computed as 2 * sigmoid(2z) - 1, the same function: tf.js wasm runs Tanh as a
    scalar kernel (5 ms a frame on the 256 x 256 x 3 output) and Sigmoid ~14x faster."""

    def call(self, x):
        return 2.0 * ops.sigmoid(2.0 * x) - 1.0


def padded_conv(x, filters: int, kernel: int, *, padding: str, strides: int = 1, **kw):
    """A convolution whose output has ceil(size / strides) pixels, like padding="same".

    For the kernels used here (3 at stride 1, 4 at stride 2 on even sizes) "same" pads one
    pixel on each side, so reflect padding mirrors one pixel and convolves "valid".
    """
    if padding == "zero":
        return layers.Conv2D(filters, kernel, strides=strides, padding="same", **kw)(x)
    assert (kernel, strides) in ((3, 1), (4, 2)), (kernel, strides)
    x = ReflectPad(1, name=f"{kw['name']}_pad")(x)
    return layers.Conv2D(filters, kernel, strides=strides, padding="valid", **kw)(x)


def level_filters(*, base_filters: int, max_filters: int, depth: int) -> list[int]:
    return [min(base_filters * 2 ** i, max_filters) for i in range(depth)]


def build_generator(*, size: int, base_filters: int, max_filters: int, depth: int,
                    padding: str = "reflect", downsample: str = "blur+conv", noise: str = "half") -> keras.Model:
    """U-Net, 1 channel in, 3 out (tanh), values in [-1, 1]."""
    init = keras.initializers.RandomNormal(0.0, 0.02)
    widths = level_filters(base_filters=base_filters, max_filters=max_filters, depth=depth)

    gray = keras.Input((size, size, 1), name="gray")  # (b, S, S, 1)
    x, skips = gray, []
    for i, f in enumerate(widths):
        if downsample == "blur+conv" and i > 0:  # the soft input itself has nothing to alias
            x = Blur(name=f"down{i}_blur")(x)
        x = padded_conv(x, f, 4, strides=2, padding=padding, kernel_initializer=init,
                        use_bias=i == 0, name=f"down{i}")  # (b, S/2^(i+1), S/2^(i+1), f)
        if i > 0:
            x = InstanceNorm(name=f"down{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"down{i}_act")(x)
        if (noise, i) in (("half", 0), ("quarter", 1)):  # seen by this level's skip and all below
            x = NoiseTexture(name="noise")(x)
        skips.append(x)

    # Bottleneck (b, S/2^depth, S/2^depth, widths[-1]); climb back, joining each level's skip.
    for i in reversed(range(depth - 1)):
        x = Upsample2x(name=f"up{i}_resize")(x)  # (b, S/2^(i+1), ..., widths[i+1])
        x = JoinConv(widths[i], padding, init, use_bias=False,
                     name=f"up{i}")([x, skips[i]])  # with this level's skip: (b, S/2^(i+1), S/2^(i+1), widths[i])
        x = InstanceNorm(name=f"up{i}_norm")(x)
        x = layers.ReLU(name=f"up{i}_act")(x)

    x = Upsample2x(name="out_resize")(x)  # (b, S, S, widths[0])
    x = JoinConv(3, padding, init, name="out")([x, gray])  # with the soft input itself, for alignment: (b, S, S, 3)
    rgb = SigmoidTanh(name="rgb")(x)  # (b, S, S, 3) in [-1, 1]
    return keras.Model(gray, rgb, name="generator")


def build_discriminator(*, size: int, base_filters: int, normalize: bool = True) -> keras.Model:
    """PatchGAN on (input, image) pairs: a grid of real/fake logits, each seeing a ~70 px patch."""
    init = keras.initializers.RandomNormal(0.0, 0.02)
    gray = keras.Input((size, size, 1), name="gray")
    image = keras.Input((size, size, 3), name="image")
    x = layers.Concatenate()([gray, image])  # (b, S, S, 4)
    for i, (f, stride) in enumerate([(base_filters, 2), (base_filters * 2, 2), (base_filters * 4, 2),
                                     (base_filters * 8, 1)]):
        x = layers.Conv2D(f, 4, strides=stride, padding="same", kernel_initializer=init,
                          use_bias=i == 0 or not normalize)(x)  # (b, S/2 .. S/8, .., f)
        if i > 0 and normalize:
            x = InstanceNorm()(x)
        x = layers.LeakyReLU(0.2)(x)
    logits = layers.Conv2D(1, 4, padding="same", kernel_initializer=init)(x)  # (b, S/8, S/8, 1)
    return keras.Model([gray, image], logits, name="discriminator")


def count_params(model: keras.Model) -> int:
    return int(sum(int(ops.size(w)) for w in model.weights))


def conv_flops(model: keras.Model) -> int:
    """Multiply-adds x 2 of every convolution for one frame (the bulk of the work)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1]
            _, h, w, cout = layer.output.shape
            total += 2 * h * w * kh * kw * cin * cout
        elif isinstance(layer, JoinConv):
            _, h, w, cout = layer.output.shape
            total += 2 * h * w * sum(int(np.prod(k.shape[:3])) for k in layer.kernels) * cout
    return int(total)
