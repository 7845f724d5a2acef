"""The sliced Wasserstein texture loss (Heitz et al. 2021, "A Sliced Wasserstein Loss for Neural
Texture Synthesis"), on Laplacian-pyramid patches rather than VGG features (no weights can be
downloaded here): for each painting and a theme picture, at every level of the pyramid, the 7x7
colour patches are projected on random directions, and each direction's sorted projections are
compared. Equal sorted projections on every direction mean the same distribution of patches: the
same textures in the same amounts, wherever they sit in the picture.

Why: the L1 loss pulls a generator toward the mean of what an input may become, and a mean is
soft; the PatchGAN pushes back only as far as its judgement goes. This term asks directly for the
theme's fine detail, at every scale, without asking for it at any particular place. It is the
scorecard's own statistic (evaluate/metrics.py: the same pyramid, 7x7 patches, sliced
Wasserstein), taken here on training pictures with fresh directions each step; the scorecard's
photographs, references and projections are never seen in training, and the unseen-photograph
folder of the README is the check that it learned the theme, not the measure.
"""

from __future__ import annotations

import numpy as np

PATCH = 7
PROJECTIONS = 32
PATCHES = 1024  # per painting and level, at random places: the distribution, at a sort's cost
COARSEST_PX, MAX_LEVELS = 16, 5  # as the scorecard's pyramid: 256, 128, 64, 32, 16 px


def _halving_matrices(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Along one axis of `size` px, the scorecard's two steps as matrices, from scipy itself: a
    Gaussian blur (sigma 1 px, reflect edges) then every other pixel, (size/2, size); and each pixel
    repeated twice then blurred, (size, size/2). As matrix products the pyramid and its gradient
    cost a few small matmuls (shifted slices or a depthwise convolution cost many times more)."""
    from scipy.ndimage import gaussian_filter1d

    blur = gaussian_filter1d(np.eye(size, dtype=np.float64), sigma=1.0, axis=0, mode="reflect")
    repeat = np.repeat(np.eye(size // 2), 2, axis=0)
    return blur[::2].astype(np.float32), (blur @ repeat).astype(np.float32)


def _along_both_axes(tf, matrix, images):
    """matrix (m, n) applied to the rows and the columns of (b, n, n, c) images -> (b, m, m, c)."""
    rows = tf.einsum("ij,bjkc->bikc", matrix, images)
    return tf.einsum("kl,bilc->bikc", matrix, rows)


def laplacian_pyramid(tf, images) -> list:
    """Band-pass levels, finest first, then the coarse level itself: (b, S, S, c) -> [(b, S/2^k, S/2^k, c)]."""
    levels, size = [], images.shape[1]
    while len(levels) < MAX_LEVELS - 1 and size // 2 >= COARSEST_PX:
        down, up = (tf.constant(m) for m in _halving_matrices(size))
        smaller = _along_both_axes(tf, down, images)
        levels.append(images - _along_both_axes(tf, up, smaller))
        images, size = smaller, size // 2
    return levels + [images]


def _places(tf, band, seed=None):
    """PATCHES random top-left corners per image of (b, h, w, c): (b, PATCHES, 7, 7, 2) indices."""
    b, h, w = tf.shape(band)[0], band.shape[1], band.shape[2]
    room = tf.constant([h - PATCH + 1, w - PATCH + 1], tf.float32)  # where a patch's corner can sit
    corners = tf.cast(tf.random.uniform([b, PATCHES, 2], 0, 1, seed=seed) * room, tf.int32)
    offsets = tf.range(PATCH)
    rows = tf.broadcast_to(corners[:, :, 0, None, None] + offsets[:, None], [b, PATCHES, PATCH, PATCH])
    cols = tf.broadcast_to(corners[:, :, 1, None, None] + offsets[None, :], [b, PATCHES, PATCH, PATCH])
    return tf.stack([rows, cols], axis=-1)


def _sorted_projections(tf, band, places, directions, pooled: bool):
    """(b, h, w, c) -> (b, PATCHES, PROJECTIONS), or (1, b * PATCHES, PROJECTIONS) pooled: the 7x7
    patches at `places` projected on each direction, sorted."""
    patches = tf.gather_nd(band, places, batch_dims=1)  # (b, K, 7, 7, c)
    flat = tf.reshape(patches, [tf.shape(band)[0], PATCHES, -1]) @ directions  # (b, K, PROJECTIONS)
    if pooled:
        flat = tf.reshape(flat, [1, -1, directions.shape[-1]])
    return tf.sort(flat, axis=1)


def sliced_wasserstein(tf, paintings, pictures, *, pooled: bool = False, seed=None):
    """Mean over the band-pass levels of the squared distance of sorted patch projections: each
    painting's from its picture's (paintings[i] against pictures[i], a pair), or, pooled, the
    batch's patches from the pictures' (paintings with no picture of their own). Same shapes,
    values in [-1, 1]. Painting and picture are sampled at the same places, so that equal pictures
    are at 0 and only their difference moves the figure. The coarse Gaussian level (the tones) is
    left out: that is the L1's and the scene's to set. Each level is measured in units of the
    pictures' own spread there, so fine and coarse levels weigh alike."""
    channels = paintings.shape[-1]
    terms = []
    painted_levels, real_levels = laplacian_pyramid(tf, paintings)[:-1], laplacian_pyramid(tf, pictures)[:-1]
    for k, (painted, real) in enumerate(zip(painted_levels, real_levels)):
        level_seed = None if seed is None else seed + 10 * k
        directions = tf.random.normal([PATCH * PATCH * channels, PROJECTIONS], seed=level_seed)
        directions /= tf.norm(directions, axis=0)
        places = _places(tf, real, None if seed is None else level_seed + 1)
        spread = tf.stop_gradient(tf.math.reduce_std(real) + 1e-3)
        a = _sorted_projections(tf, painted / spread, places, directions, pooled)
        b = tf.stop_gradient(_sorted_projections(tf, real / spread, places, directions, pooled))
        terms.append(tf.reduce_mean(tf.square(a - b)))
    return tf.add_n(terms) / len(terms)
