"""The losses of one training step, over the discriminator's scales (pix2pixHD's multi-scale PatchGAN).

`judged` arguments are the discriminators' outputs, one list per scale (coarser each time), each
[block activations..., logits] (model.discriminator_features). Every term is a mean over the
scales, not pix2pixHD's sum: then l1_weight, r1_gamma and gp_weight weigh against the same
adversarial loss whatever the number of scales (pix2pixHD has no L1 to balance), the logged
curves compare across runs, and each discriminator's own gradient is only scaled by 1/N, which
Adam undoes. With one scale each term is exactly the single PatchGAN's.
"""

from __future__ import annotations


def mean_over_scales(tf, values: list):
    return values[0] if len(values) == 1 else tf.add_n(values) / len(values)


def adversarial(tf, loss: str, real: list, fake: list):
    """(generator's, discriminator's) adversarial loss; `loss` is gan, hinge or wgan-gp."""
    g_terms, d_terms = [], []
    for d_real, d_fake in ((r[-1], f[-1]) for r, f in zip(real, fake)):
        if loss == "gan":  # non-saturating: softplus(-D) for real, softplus(D) for fake
            g, d = tf.reduce_mean(tf.nn.softplus(-d_fake)), 0.5 * (
                tf.reduce_mean(tf.nn.softplus(-d_real)) + tf.reduce_mean(tf.nn.softplus(d_fake)))
        elif loss == "hinge":
            g, d = -tf.reduce_mean(d_fake), 0.5 * (
                tf.reduce_mean(tf.nn.relu(1.0 - d_real)) + tf.reduce_mean(tf.nn.relu(1.0 + d_fake)))
        else:  # WGAN-GP: d estimates the (negative) Wasserstein distance, so its curve means something
            g, d = -tf.reduce_mean(d_fake), tf.reduce_mean(d_fake) - tf.reduce_mean(d_real)
        g_terms.append(g)
        d_terms.append(d)
    return mean_over_scales(tf, g_terms), mean_over_scales(tf, d_terms)


def penalty(tf, config, judge, x, y, fake):
    """R1 at real pairs (gan, hinge) or WGAN-GP's gradient penalty on mixes, per scale; 0 when off.

    `judge(x, image)` gives every scale's outputs. Each scale's gradient is taken with respect to
    the full-size image, through the augmentation and the pooling: each scale's network as a
    function of the picture it judges, so WGAN-GP's 1-Lipschitz constraint holds for each critic of
    the full image, and R1 on a scale at 1/2**k weighs 4**-k of what it would on the pooled input
    itself (R1's gamma scales with resolution squared, as StyleGAN2-ADA's heuristic has it)."""
    if config.loss == "wgan-gp":
        eps = tf.random.uniform([tf.shape(y)[0], 1, 1, 1])
        point, weight = eps * y + (1 - eps) * fake, config.gp_weight
    elif config.r1_gamma > 0:
        point, weight = y, config.r1_gamma / 2
    else:
        return tf.constant(0.0)
    with tf.GradientTape(persistent=True) as tape:  # one gradient per scale: no cross terms
        tape.watch(point)
        # Per sample, the mean of its patch logits (what the loss averages): the gradient of
        # their sum would be patches-times larger (1024 at 256 px) and pin D flat (d = log 2).
        judged = [tf.reduce_sum(tf.reduce_mean(outputs[-1], axis=[1, 2, 3])) for outputs in judge(x, point)]
    terms = []
    for scale in judged:
        squared = tf.reduce_sum(tf.square(tape.gradient(scale, point)), axis=[1, 2, 3])
        if config.loss == "wgan-gp":
            terms.append(weight * tf.reduce_mean(tf.square(tf.sqrt(squared + 1e-12) - 1.0)))
        else:
            terms.append(weight * tf.reduce_mean(squared))
    return mean_over_scales(tf, terms)


def pooled_l1(tf, y, fake, pool: int = 1):
    """Mean |y - fake| of the two pictures average-pooled by `pool` (1: pix2pix's L1, every pixel).

    The soft input keeps only the scene's 24-px layout, so where the target's finer detail falls
    (a cloud's crisp rim, a star) cannot be known from it; an L1 loss on every pixel then asks for
    the average of every place it could be, a blur. Pooled, it holds the layout and lets the
    discriminator alone judge the detail inside each cell."""
    if pool > 1:
        y = tf.nn.avg_pool2d(y, ksize=pool, strides=pool, padding="VALID")
        fake = tf.nn.avg_pool2d(fake, ksize=pool, strides=pool, padding="VALID")
    return tf.reduce_mean(tf.abs(y - fake))


def feature_matching(tf, real: list, fake: list):
    """pix2pixHD's feature-matching loss, unweighted: per scale, the sum over every output but the
    logits of the mean |real - fake|, then the mean over scales. The real side is a constant: the
    loss moves the generator toward what the discriminator sees in real pairs, never the reverse."""
    return mean_over_scales(tf, [
        tf.add_n([tf.reduce_mean(tf.abs(tf.stop_gradient(r) - f)) for r, f in zip(reals[:-1], fakes[:-1])])
        for reals, fakes in zip(real, fake)])


def shift_consistency(tf, fake, shift: int | None = None):
    """Mean |first[:, :, shift:] - second[:, :, :-shift]| over the batch's partners (samples 2k and
    2k + 1, two frames of a camera panning right by `shift` px): where their scenes overlap, the
    two outputs must agree, invented detail included, although the soft inputs' grid did not move
    with the scene. This is what the scorecard's moves_with_scene asks of a generator."""
    from builder.training.transform import SHIFT_PX

    shift = shift or SHIFT_PX
    first, second = fake[0::2], fake[1::2]
    return tf.reduce_mean(tf.abs(first[:, :, shift:] - second[:, :, :-shift]))


def follows_input(tf, x, painted):
    """Mean over the batch of 1 - r, r the Pearson correlation of each painting's luminance with its
    (1-channel) soft input: the scorecard's correlation_median, as a loss. Correlation, not L1: the
    painting may re-map the scene's tones (a mid-grey wall may turn to dark, a lamp to flame) so
    long as brighter stays brighter, where its detail is free."""
    from builder.training.transform import LUMA

    lum = tf.tensordot(painted, tf.constant(LUMA, painted.dtype), axes=1)
    a = tf.reshape(x[..., 0], [tf.shape(x)[0], -1])
    b = tf.reshape(lum, [tf.shape(lum)[0], -1])
    a -= tf.reduce_mean(a, axis=1, keepdims=True)
    b -= tf.reduce_mean(b, axis=1, keepdims=True)
    r = tf.reduce_sum(a * b, axis=1) * tf.math.rsqrt(tf.reduce_sum(a * a, axis=1) * tf.reduce_sum(b * b, axis=1) + 1e-8)
    return tf.reduce_mean(1.0 - r)


def coarse_colour(tf, painted, theme, side: int = 16):
    """Per colour channel, |difference| of the mean and of the standard deviation, over the batch,
    of the paintings' and the theme pictures' `side`-px average-pooled images, summed: the colour
    and light of the picture as a whole, which a PatchGAN judging 70-px patches does not see (a
    sky painted too blue is blue sky in every patch). The theme's side is a constant."""
    def moments(images):
        cell = images.shape[1] // side
        pooled = tf.nn.avg_pool2d(images, ksize=cell, strides=cell, padding="VALID")
        flat = tf.reshape(pooled, [-1, images.shape[-1]])
        mean = tf.reduce_mean(flat, axis=0)
        return mean, tf.sqrt(tf.reduce_mean(tf.square(flat - mean), axis=0) + 1e-8)

    (pm, ps), (tm, ts) = moments(painted), moments(tf.stop_gradient(theme))
    return tf.reduce_sum(tf.abs(pm - tm) + tf.abs(ps - ts))
