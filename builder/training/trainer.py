"""One training step of pix2pix, with the small-data GAN recipe's parts as options.

The Trainer owns the networks, the optimizers, the checkpoint and the compiled `train_step`
(under `tf.function`, inside a `tf.distribute` strategy; a second graph for steps in which the
discriminators learn alone). Each part of the recipe is a
TrainConfig field, off at 0/none:
  - ema_decay: an exponential moving average of the generator's weights (Karras et al. 2018),
    the network that is sampled, evaluated and exported;
  - augment:   DiffAugment of every pair the discriminator sees (augment.py);
  - r1_gamma:  R1 penalty, gamma/2 E|grad_y D(x, y)|^2 at real pairs (Mescheder et al. 2018);
  - loss:      non-saturating (gan), hinge, or WGAN-GP;
  - lr_decay:  the learning rate falls linearly to 0 over the last part of the run (pix2pix);
  - shift_consistency: outputs of two frames of a pan agree where they overlap (losses.py);
  - disc_scales, feature_matching: pix2pixHD's multi-scale PatchGAN and its feature-matching loss
    (Wang et al. 2018): the pair is augmented once, then pooled for each coarser discriminator
    (losses.py);
  - unpaired_weight: the generator also paints soft inputs that have no target (made from other
    pictures: pairs.training_stream), and an unconditional PatchGAN, with an optimizer of its own,
    judges those paintings against the theme's pictures. The paired losses only ever see inputs
    made from the theme, so on a scene unlike it (a mid-grey room under a fire model) nothing
    told the generator what to paint; this does. unpaired_follow: and those paintings' luminance
    must correlate with their inputs (losses.follows_input), so the scene stays in the theme;
    unpaired_colour: and their colour and light as a whole match the theme's (losses.coarse_colour);
    unpaired_inputs: those inputs come from the other themes, procedural rooms (scenes.py), or both.
  - l1_pool:   the L1 loss on outputs and targets average-pooled (losses.pooled_l1): the scene's
    layout held, its finest detail, which a 24x-downscaled input cannot predict, left to the
    discriminator instead of averaged into a blur;
  - texture_weight: every painting's Laplacian-pyramid patches match a theme picture's in
    distribution (texture.py: a sliced Wasserstein loss), its own target's for a pair, the batch's
    pictures' for the unpaired paintings: the theme's crisp detail, asked for at no place;
  - stroke_weight: the fine strokes of everything painted in a step lean, taken together, as the
    batch's theme pictures' do (strokes.py: the scorecard's stroke_bias);
  - disc_warmup: the first steps train the discriminators alone, the generator held (for a
    fine-tune, --init-from, whose discriminators start fresh).
"""

from __future__ import annotations

import functools

import numpy as np

from builder import config as cfg


def choose_strategy():
    """One device by default; MirroredStrategy over several GPUs (how a user scales out)."""
    from builder.tfenv import tensorflow

    tf = tensorflow()
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def learning_rate(config: cfg.TrainConfig, step: int) -> float:
    """The rate at `step`: constant, then (lr_decay > 0) linear to 0 over the last lr_decay of the run."""
    start = config.steps * (1 - config.lr_decay)
    if config.lr_decay <= 0 or step <= start:
        return config.lr
    return config.lr * max(0.0, (config.steps - step) / (config.steps - start))


class Trainer:
    def __init__(self, config: cfg.TrainConfig, strategy):
        from builder.tfenv import tensorflow
        from builder.training.model import build_discriminator, build_generator, discriminator_features

        tf = self.tf = tensorflow()
        import keras

        self.config, self.strategy = config, strategy
        self.policy = cfg.augment_list(config.augment)
        keras.utils.set_random_seed(config.seed)
        with strategy.scope():
            self.generator = build_generator(**cfg.generator_options(config))
            self.ema = None
            if config.ema_decay > 0:
                self.ema = build_generator(**cfg.generator_options(config))
                for target, source in zip(self.ema.weights, self.generator.weights):
                    target.assign(source)
            # One per scale, the k-th on pairs at size / 2**k; the first is the single PatchGAN of before.
            disc_filters = max(4, round(config.base_filters * config.disc_ratio))
            self.discriminators = [build_discriminator(
                size=config.size // 2 ** k, base_filters=disc_filters,
                normalize=config.loss != "wgan-gp") for k in range(config.disc_scales)]
            self.judges = [discriminator_features(d) for d in self.discriminators]  # the same layers
            self.theme_judge = self.u_opt = None
            if config.unpaired_weight > 0:
                self.theme_judge = build_discriminator(size=config.size, base_filters=disc_filters, conditional=False)
                self.u_opt = keras.optimizers.Adam(config.lr, beta_1=config.beta1)
                self.u_opt.build(self.theme_judge.trainable_variables)
            self.g_opt = keras.optimizers.Adam(config.lr, beta_1=config.beta1)
            self.d_opt = keras.optimizers.Adam(config.lr, beta_1=config.beta1)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            # Build optimizer slots now, inside the scope, so a restore fills them.
            self.g_opt.build(self.generator.trainable_variables)
            self.d_opt.build(self.d_vars)
        # A --disc-scales 1 checkpoint holds what it held before multi-scale discriminators existed.
        parts = dict(generator=self.generator, discriminator=self.discriminators[0], g_opt=self.g_opt,
                     d_opt=self.d_opt, step=self.step)
        parts.update({f"discriminator_scale{k}": d for k, d in enumerate(self.discriminators) if k})
        if self.ema is not None:
            parts["generator_ema"] = self.ema  # the name runs.load_generator restores
        if self.theme_judge is not None:
            parts.update(theme_discriminator=self.theme_judge, u_opt=self.u_opt)
        self.checkpoint = tf.train.Checkpoint(**parts)
        # Two graphs: a step where everything learns, and the discriminators' alone (disc_warmup).
        self._step_fns = {learns: tf.function(functools.partial(self._distributed_step, generator_learns=learns))
                          for learns in (True, False)}

    def start_from(self, generator) -> None:
        """The generator and its average take `generator`'s weights (a fine-tune's start); built
        alike, as train.model_to_start_from checks."""
        for network in filter(None, (self.generator, self.ema)):
            for mine, theirs in zip(network.weights, generator.weights):
                mine.assign(theirs)

    @property
    def d_vars(self) -> list:
        """Scale by scale, in the order d_opt keeps them: a checkpoint lists them by that position."""
        return [v for d in self.discriminators for v in d.trainable_variables]

    @property
    def shown(self):
        """The generator people see: the moving average when one is kept."""
        return self.ema if self.ema is not None else self.generator

    def set_learning_rate(self, rate: float) -> None:
        for optimizer in (self.g_opt, self.d_opt, self.u_opt):
            if optimizer is not None:
                optimizer.learning_rate = rate

    # -- losses (losses.py) ----------------------------------------------------------------------
    def judge(self, x, image):
        """Every scale's outputs on pairs augmented once, then pooled: [[blocks..., logits], ...]."""
        from builder.training.augment import augment

        return self._judge_pyramid(*augment(self.tf, x, image, self.policy))

    def _judge_pyramid(self, x, image):
        from builder.training.model import half_size

        outputs = []
        for k, judge in enumerate(self.judges):
            if k:
                x, image = half_size(x), half_size(image)  # (b, S/2^k, S/2^k, c)
            outputs.append(judge([x, image], training=True))
        return outputs

    def _judge_both(self, x, y, fake):
        """Real and generated pairs judged; under feature matching augmented with the same draws."""
        from builder.training.augment import augment_together

        if self.config.feature_matching <= 0:
            return self.judge(x, y), self.judge(x, fake)
        xa, (ya, fake_a) = augment_together(self.tf, x, [y, fake], self.policy)
        return self._judge_pyramid(xa, ya), self._judge_pyramid(xa, fake_a)

    def _judge_theme(self, image):
        """The unconditional judge's logits, on the image augmented as the pairs are."""
        from builder.training.augment import augment

        _, image = augment(self.tf, self.tf.zeros_like(image[..., :1]), image, self.policy)
        return [[self.theme_judge(image, training=True)]]  # losses.py's per-scale lists

    def _losses(self, x, y, unpaired_x=None, *, generator_learns=True):
        from builder.training import losses, strokes, texture

        tf, c = self.tf, self.config
        replicas = self.strategy.num_replicas_in_sync
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape, tf.GradientTape() as u_tape:
            fake = self.generator(x, training=True)
            d_real, d_fake = self._judge_both(x, y, fake)
            l1 = losses.pooled_l1(tf, y, fake, c.l1_pool)
            g_gan, d_adv = losses.adversarial(tf, c.loss, d_real, d_fake)
            penalty = losses.penalty(tf, c, self.judge, x, y, tf.stop_gradient(fake))
            g_loss = g_gan + c.l1_weight * l1
            extra = {}
            if c.shift_consistency > 0:  # samples 2k, 2k + 1: two frames of a pan (pairs.pair_stream)
                extra["g_shift"] = losses.shift_consistency(tf, fake)
                g_loss += c.shift_consistency * extra["g_shift"]
            if c.feature_matching > 0:
                extra["g_fm"] = losses.feature_matching(tf, d_real, d_fake)  # logged unweighted, as g_l1
                g_loss += c.feature_matching * extra["g_fm"]
            if self.theme_judge is not None:
                painted = self.generator(unpaired_x, training=True)
                extra["g_unpaired"], extra["d_unpaired"] = losses.adversarial(
                    tf, c.loss, self._judge_theme(y), self._judge_theme(painted))
                g_loss += c.unpaired_weight * extra["g_unpaired"]
                if c.unpaired_follow > 0:
                    extra["g_follow"] = losses.follows_input(tf, unpaired_x, painted)
                    g_loss += c.unpaired_follow * extra["g_follow"]
                if c.unpaired_colour > 0:
                    extra["g_colour"] = losses.coarse_colour(tf, painted, y)
                    g_loss += c.unpaired_colour * extra["g_colour"]
            if c.texture_weight > 0:
                extra["g_texture"] = texture.sliced_wasserstein(tf, fake, y)
                if self.theme_judge is not None:
                    unpaired = texture.sliced_wasserstein(tf, painted, y[:tf.shape(painted)[0]], pooled=True)
                    extra["g_texture"] = 0.5 * (extra["g_texture"] + unpaired)
                g_loss += c.texture_weight * extra["g_texture"]
            if c.stroke_weight > 0:  # everything painted this step, paired and unpaired
                paintings = fake if self.theme_judge is None else tf.concat([fake, painted], axis=0)
                extra["g_stroke"] = strokes.stroke_loss(tf, paintings, y)
                g_loss += c.stroke_weight * extra["g_stroke"]
            d_loss = d_adv + penalty
            # Per-replica means, summed over replicas by the optimizer: divide by replica count.
            g_scaled, d_scaled = g_loss / replicas, d_loss / replicas
            u_scaled = extra["d_unpaired"] / replicas if self.theme_judge is not None else None
        g_vars, d_vars = self.generator.trainable_variables, self.d_vars
        if generator_learns:  # (not applying zeros: Adam would count the steps and skew its first real one)
            self.g_opt.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        self.d_opt.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars))
        if self.theme_judge is not None:
            u_vars = self.theme_judge.trainable_variables
            self.u_opt.apply_gradients(zip(u_tape.gradient(u_scaled, u_vars), u_vars))
        return {"g_gan": g_gan, "g_l1": l1, "d": d_adv, "penalty": penalty, **extra}

    def _update_average(self):
        # A short warm-up (as StyleGAN's ramp): early on the average would be mostly the random init.
        step = self.tf.cast(self.step, self.tf.float32)
        decay = self.tf.minimum(self.config.ema_decay, (1.0 + step) / (10.0 + step))
        for target, source in zip(self.ema.trainable_variables, self.generator.trainable_variables):
            target.assign(decay * target + (1.0 - decay) * source)

    def _distributed_step(self, batch, generator_learns=True):
        """batch: (inputs, targets), and with the unpaired loss inputs that have no target."""
        per_replica = self.strategy.run(self._losses, args=tuple(batch), kwargs={"generator_learns": generator_learns})
        self.step.assign_add(1)
        if self.ema is not None and generator_learns:
            self._update_average()
        return {k: self.strategy.reduce("MEAN", v, axis=None) for k, v in per_replica.items()}

    def train_step(self, batch, generator_learns: bool = True) -> dict[str, float]:
        """One step; generator_learns False: the discriminators' alone (disc_warmup)."""
        return {k: float(v) for k, v in self._step_fns[bool(generator_learns)](batch).items()}

    def generate(self, inputs: np.ndarray, batch: int = 8) -> np.ndarray:
        return np.concatenate([self.shown(inputs[i:i + batch], training=False).numpy()
                               for i in range(0, len(inputs), batch)])
