"""Differentiable augmentation of what the discriminator sees (Zhao et al. 2020, "Differentiable
Augmentation for Data-Efficient GAN Training"): the same random translation, cutout and colour
change are applied to real and generated pairs alike, and gradients flow through them to the
generator. With a few hundred target images a discriminator otherwise memorises the set, wins
(its loss near 0.01) and the generator's picture drifts.

A pair is (input, image) concatenated on channels, (b, S, S, 1 + 3): translation and cutout
move both together, so the discriminator still judges whether the image fits its input; colour
changes the image alone. Values are in [-1, 1]. Real and generated pairs get draws of their own,
except under feature matching, which needs them alike (augment_together).
"""

from __future__ import annotations


def translation(tf, pair, ratio: float = 0.125):
    """Shift each sample by up to `ratio` of its size in x and y, filling with zeros."""
    b, s = tf.shape(pair)[0], tf.shape(pair)[1]
    pad = tf.cast(tf.cast(s, tf.float32) * ratio + 0.5, tf.int32)
    padded = tf.pad(pair, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    dy, dx = (tf.random.uniform([b, 1], 0, 2 * pad + 1, dtype=tf.int32) for _ in range(2))
    rows = tf.range(s)[None, :] + dy  # (b, S): which padded row lands on each output row
    cols = tf.range(s)[None, :] + dx
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)  # (b, S, S + 2 pad, c)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)  # (b, S, S, c)


def cutout(tf, pair, ratio: float = 0.5):
    """Zero one random square of `ratio` x size per sample."""
    b, s = tf.shape(pair)[0], tf.shape(pair)[1]
    half = tf.cast(tf.cast(s, tf.float32) * ratio / 2, tf.int32)
    cy, cx = (tf.random.uniform([b, 1, 1], 0, s, dtype=tf.int32) for _ in range(2))
    grid = tf.range(s)
    inside = ((tf.abs(grid[None, :, None] - cy) < half) & (tf.abs(grid[None, None, :] - cx) < half))
    return pair * tf.cast(~inside, pair.dtype)[..., None]


def color(tf, pair):
    """Random brightness, saturation and contrast of the image part (DiffAugment's ranges). A pair
    of several images (augment_together: 1 + 3n channels) gives each RGB triple the same draws."""
    gray = pair[..., :1]
    images = [pair[..., i:i + 3] for i in range(1, pair.shape[-1], 3)]
    b = tf.shape(pair)[0]

    def uniform(lo, hi):
        return tf.random.uniform([b, 1, 1, 1], lo, hi)

    shift = uniform(-0.5, 0.5)
    images = [image + shift for image in images]
    means = [tf.reduce_mean(image, axis=-1, keepdims=True) for image in images]
    centred = [image - mean for image, mean in zip(images, means)]
    saturation = uniform(0.0, 2.0)
    images = [c * saturation + mean for c, mean in zip(centred, means)]
    means = [tf.reduce_mean(image, axis=[1, 2, 3], keepdims=True) for image in images]
    centred = [image - mean for image, mean in zip(images, means)]
    contrast = uniform(0.5, 1.5)
    images = [c * contrast + mean for c, mean in zip(centred, means)]
    return tf.concat([gray, *images], axis=-1)


POLICIES = {"translation": translation, "cutout": cutout, "color": color}


def augment(tf, gray, image, policy: list[str]):
    """(gray (b,S,S,1), image (b,S,S,3)) -> the same, augmented by each named policy in order."""
    gray, (image,) = augment_together(tf, gray, [image], policy)
    return gray, image


def augment_together(tf, gray, images: list, policy: list[str]):
    """(gray, [image, ...]) -> the same, every image moved and coloured with the same draws: feature
    matching compares the discriminator's features on a real and a generated pair, which must have
    been shifted, cut and coloured alike to be compared place by place."""
    if not policy:
        return gray, list(images)
    pair = tf.concat([gray, *images], axis=-1)  # (b, S, S, 1 + 3n)
    for name in ("color", "translation", "cutout"):  # DiffAugment's order
        if name in policy:
            pair = POLICIES[name](tf, pair)
    return pair[..., :1], [pair[..., 1 + 3 * i:4 + 3 * i] for i in range(len(images))]
