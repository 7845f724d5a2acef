"""The stroke loss (--stroke-weight): the paintings' fine strokes, taken together, lean no more one
way than the theme's own pictures' do.

Why: a generator may settle on one direction for the detail it invents (fire's upward hatching,
brush streaks): the adversarial loss judges patches, and a patch of upward streaks in a flame is
as plausible as any, so nothing asks that the streaks run every way the theme's do. The
scorecard's `stroke_bias` measures exactly that lean (evaluate/metrics.stroke_direction: the
structure tensor of the high-passed luminance as one doubled-angle complex number per picture);
this is the same figure in TensorFlow, compared on every training batch: the mean lean of
everything the generator painted this step against the mean lean of the batch's theme pictures.
The batch's own lean is a noisy estimate of the theme's, but an unbiased one that does not depend
on the generator, so the loss's gradient is right on average.
"""

from __future__ import annotations

import numpy as np

from builder.training.transform import LUMA

HIGH_PASS_SIGMA = 3.0  # px, as metrics.high_pass


def _gaussian_taps(sigma: float) -> np.ndarray:
    """scipy.ndimage.gaussian_filter's taps (truncate 4.0), for the same high-pass as the metric's."""
    radius = int(4.0 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


def high_pass(tf, images):
    """(b, S, S, 3) colour in [-1, 1] -> (b, S, S, 1) luminance minus its Gaussian blur (reflected
    edges: scipy's `reflect`, TensorFlow's SYMMETRIC)."""
    luma = tf.reduce_sum(images * tf.constant(LUMA, images.dtype), axis=-1, keepdims=True)
    taps = _gaussian_taps(HIGH_PASS_SIGMA)
    r = len(taps) // 2
    blurred = tf.pad(luma, [[0, 0], [r, r], [r, r], [0, 0]], mode="SYMMETRIC")
    blurred = tf.nn.conv2d(blurred, tf.constant(taps.reshape(-1, 1, 1, 1), images.dtype), 1, "VALID")
    blurred = tf.nn.conv2d(blurred, tf.constant(taps.reshape(1, -1, 1, 1), images.dtype), 1, "VALID")
    return luma - blurred


def _gradient_rows(tf, h):
    """numpy.gradient of (b, S, S) along its rows: central differences, one-sided at the two ends."""
    return tf.concat([h[:, 1:2] - h[:, :1], (h[:, 2:] - h[:, :-2]) / 2, h[:, -1:] - h[:, -2:-1]], axis=1)


def lean(tf, images):
    """(b, S, S, 3) -> (2,): the mean over pictures of each one's stroke direction (the real and
    imaginary parts of metrics.stroke_direction's)."""
    h = high_pass(tf, images)[..., 0]
    gy = _gradient_rows(tf, h)
    gx = tf.transpose(_gradient_rows(tf, tf.transpose(h, [0, 2, 1])), [0, 2, 1])
    energy = tf.reduce_sum(gx * gx + gy * gy, axis=[1, 2]) + 1e-12
    real = tf.reduce_sum(gx * gx - gy * gy, axis=[1, 2]) / energy
    imaginary = tf.reduce_sum(2 * gx * gy, axis=[1, 2]) / energy
    return tf.stack([tf.reduce_mean(real), tf.reduce_mean(imaginary)])


def stroke_loss(tf, paintings, theme):
    """|lean(paintings) - lean(theme)|^2: 0 when the paintings' strokes lean as the theme's do."""
    return tf.reduce_sum(tf.square(lean(tf, paintings) - tf.stop_gradient(lean(tf, theme))))
