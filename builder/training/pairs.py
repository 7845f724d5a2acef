"""Training pairs as streams: an endless tf.data stream of batches, and a fixed held-out set.

Each target becomes its input on the fly (`builder.training.transform`), so the same image gives
a new pair every epoch; only the held-out pairs are fixed, so their L1 is comparable over a run.
"""

from __future__ import annotations

import numpy as np

from builder.training.data import ImagePool

UNPAIRED_SEED_OFFSET = 7_919


def pair_stream(images: "ImagePool | list[np.ndarray]", params, *, seed: int, batch_size: int, shifted: bool = False):
    """An endless tf.data stream of (input, target) batches, a seed per sample (shifted: 2k, 2k+1 pan)."""
    from builder.tfenv import tensorflow
    from builder.training.transform import make_pair, make_shifted_pairs

    tf = tensorflow()
    rng = np.random.default_rng(seed)
    pool = images if isinstance(images, ImagePool) else ImagePool(list(images))

    def pick():
        while True:
            yield pool.draw(rng, batch_size)

    picked = tf.data.Dataset.from_generator(pick, output_signature=tf.TensorSpec((None, None, 3), tf.uint8))
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    make = make_shifted_pairs if shifted else make_pair
    pairs = tf.data.Dataset.zip((picked, seeds)).map(lambda image, s: make(image, s, params), num_parallel_calls=tf.data.AUTOTUNE)
    return ((pairs.unbatch() if shifted else pairs)
            .batch(batch_size, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE))


def training_stream(images, params, *, seed: int, batch_size: int, shifted: bool = False, unpaired=None):
    """pair_stream's batches; given `unpaired` images (ImagePool or list), each batch also carries
    half a batch of soft inputs made from them by the same transform, their targets dropped:
    (input, target, unpaired input)."""
    pairs = pair_stream(images, params, seed=seed, batch_size=batch_size, shifted=shifted)
    if unpaired is None:
        return pairs
    from builder.tfenv import tensorflow

    # Another seed: the unpaired inputs' crops and flips are not the paired ones' draws.
    inputs = pair_stream(unpaired, params, seed=seed + UNPAIRED_SEED_OFFSET, batch_size=max(1, batch_size // 2))
    both = tensorflow().data.Dataset.zip((pairs, inputs))
    return both.map(lambda pair, other: (pair[0], pair[1], other[0]))


def fixed_pairs(images: list[np.ndarray], params, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` pairs with fixed seeds (held-out L1, sample grids): the same every call."""
    from builder.tfenv import tensorflow
    from builder.training.transform import make_pair

    tf = tensorflow()
    inputs, targets = [], []
    for i in range(count):
        x, y = make_pair(images[i % len(images)], tf.constant([7, i], tf.int64), params)
        inputs.append(x.numpy())
        targets.append(y.numpy())
    return np.stack(inputs), np.stack(targets)
