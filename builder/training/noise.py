"""The generator's noise texture, added to the features at half (or quarter) resolution: the
camera's soft input says nothing about where a star or a fleck of foam goes, and a network with
nothing else to go on puts it at every cell of its own coarse grid (a lattice). Fresh noise each
training step, one fixed pattern in the exported model (a constant in the browser: no flicker),
which tiles the plane and which the runtime moves with the scene (the graph's `noise_shift`
input; builder/training/motion.py says how far the scene moved).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops
from scipy.special import comb


def noise_kernel(stretch: int = 1) -> np.ndarray:
    """(3, 2 * stretch + 1): binomial rows [1, 2, 1] by binomial columns of that width, scaled to
    a sum of squares of 1 (the output keeps unit variance); stretch 1 is the 3x3 binomial."""
    width = 2 * stretch
    kernel = np.outer([1.0, 2.0, 1.0], [comb(width, k) for k in range(width + 1)])
    return (kernel / np.sqrt((kernel ** 2).sum())).astype(np.float32)


def smooth_noise(field, stretch: int = 1):
    """Binomial low-pass of (b, h + 2, w + 2 * stretch, 1) unit Gaussian noise -> (b, h, w, 1),
    unit std; `stretch` > 1 draws its grains that many times wider than tall.

    White noise carries its full power at the Nyquist frequency; bilinear upsampling moves that
    to a 4-px period and the output tanh, where it saturates, folds it into a 2-px checkerboard
    (with white noise the test photographs showed Nyquist peaks 100-500x their surroundings)."""
    return ops.conv(field, noise_kernel(stretch)[:, :, None, None], padding="valid")


def periodic(field, stretch: int = 1):
    """(b, h, w, 1) -> (b, h + 2, w + 2 * stretch, 1): wrapped around by one row and `stretch`
    columns, so that smooth_noise of it tiles the plane with no seam."""
    field = ops.concatenate([field[:, -1:], field, field[:, :1]], axis=1)
    return ops.concatenate([field[:, :, -stretch:], field, field[:, :, :stretch]], axis=2)


def draw_pattern(field, stretch: int = 1):
    """(1, h, w, 1) unit Gaussian noise -> the (h, w, 1) periodic pattern a model stores."""
    return smooth_noise(periodic(field, stretch), stretch)[0]


def moved_pattern(pattern, shift):
    """A (h, w, 1) noise pattern moved by shift = (dy, dx) whole pixels, wrapping around: the
    graph's answer to the scene moving (two gathers: cheap at a half-resolution map, and run by
    every tf.js backend). Written in TensorFlow ops, for the exported graph."""
    import tensorflow as tf

    h, w = int(pattern.shape[0]), int(pattern.shape[1])  # static: the converter folds the ranges
    rows = tf.math.floormod(tf.range(h) - shift[0], h)
    columns = tf.math.floormod(tf.range(w) - shift[1], w)
    return tf.gather(tf.gather(pattern, rows, axis=0), columns, axis=1)


@keras.saving.register_keras_serializable("builder")
class NoiseTexture(layers.Layer):
    """Adds a smooth noise texture to every channel, times a learned per-channel strength
    (StyleGAN's noise inputs). Fresh noise at every training call; at inference the layer's own
    stored pattern (a non-trainable weight: checkpointed and exported with the model), periodic
    so that the runtime can move it any distance with the scene (a model exported before it was
    made periodic has a seam where it wraps: export.resave_model(redraw_pattern=seed) draws its
    pattern again). `stretch` > 1: grains that many times wider than tall (config.noise_stretch)."""

    def __init__(self, stretch: int = 1, **kw):
        super().__init__(**kw)
        self.stretch = stretch

    def build(self, shape):
        h, w = shape[1], shape[2]
        self.pattern = self.add_weight(shape=(h, w, 1), initializer="zeros", trainable=False, name="pattern")
        self.pattern.assign(draw_pattern(keras.random.normal((1, h, w, 1)), self.stretch))
        self.strength = self.add_weight(shape=(shape[-1],), initializer=keras.initializers.Constant(0.1),
                                        name="strength")

    def call(self, x, training=False):
        import tensorflow as tf  # the builder's backend; keras.random would add a seed-state variable

        if training:
            margins = [2, 2 * self.stretch]  # what smooth_noise's valid convolution takes off
            field = tf.random.normal(tf.concat([tf.shape(x)[:1], tf.shape(x)[1:3] + margins, [1]], axis=0))
            noise = smooth_noise(field, self.stretch)
        else:
            noise = self.pattern[None]  # (1, h, w, 1): broadcasts over the batch
            # A no-op (tf.js shares the data) that keeps the sum below apart from the activation's:
            # grappler folds a small map's noise (under 100 kB) into one constant and moves it into
            # the sum before, where the converter then no longer finds PReLU's pattern (a Neg, two
            # Relus, a Mul and two Adds are left to run).
            x = tf.raw_ops.Snapshot(input=x)
        return x + ops.cast(noise, x.dtype) * self.strength

    def get_config(self):
        return {**super().get_config(), "stretch": self.stretch}
