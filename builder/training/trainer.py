"""One training step of pix2pix, with the small-data GAN recipe's parts as options.

The Trainer owns the networks, the optimizers, the checkpoint and one compiled `train_step`
(under `tf.function`, inside a `tf.distribute` strategy). Each part of the recipe is a
TrainConfig field, off at 0/none:
  - ema_decay: an exponential moving average of the generator's weights (Karras et al. 2018),
    the network that is sampled, evaluated and exported;
  - augment:   DiffAugment of every pair the discriminator sees (augment.py);
  - r1_gamma:  R1 penalty, gamma/2 E|grad_y D(x, y)|^2 at real pairs (Mescheder et al. 2018);
  - loss:      non-saturating (gan), hinge, or WGAN-GP;
  - lr_decay:  the learning rate falls linearly to 0 over the last part of the run (pix2pix).
"""

from __future__ import annotations

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
        from builder.training.model import build_discriminator, build_generator

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
            self.discriminator = build_discriminator(
                size=config.size, base_filters=max(4, round(config.base_filters * config.disc_ratio)),
                normalize=config.loss != "wgan-gp")
            self.g_opt = keras.optimizers.Adam(config.lr, beta_1=config.beta1)
            self.d_opt = keras.optimizers.Adam(config.lr, beta_1=config.beta1)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            # Build optimizer slots now, inside the scope, so a restore fills them.
            self.g_opt.build(self.generator.trainable_variables)
            self.d_opt.build(self.discriminator.trainable_variables)
        parts = dict(generator=self.generator, discriminator=self.discriminator, g_opt=self.g_opt,
                     d_opt=self.d_opt, step=self.step)
        if self.ema is not None:
            parts["generator_ema"] = self.ema  # the name runs.load_generator restores
        self.checkpoint = tf.train.Checkpoint(**parts)
        self._step_fn = tf.function(self._distributed_step)

    @property
    def shown(self):
        """The generator people see: the moving average when one is kept."""
        return self.ema if self.ema is not None else self.generator

    def set_learning_rate(self, rate: float) -> None:
        for optimizer in (self.g_opt, self.d_opt):
            optimizer.learning_rate = rate

    # -- losses -------------------------------------------------------------------------------
    def _judge(self, x, image):
        xa, ia = self._augment(x, image)
        return self.discriminator([xa, ia], training=True)

    def _augment(self, x, image):
        from builder.training.augment import augment

        return augment(self.tf, x, image, self.policy)

    def _adversarial(self, d_real, d_fake):
        tf, loss = self.tf, self.config.loss
        if loss == "gan":  # non-saturating: softplus(-D) for real, softplus(D) for fake
            return tf.reduce_mean(tf.nn.softplus(-d_fake)), 0.5 * (
                tf.reduce_mean(tf.nn.softplus(-d_real)) + tf.reduce_mean(tf.nn.softplus(d_fake)))
        if loss == "hinge":
            return -tf.reduce_mean(d_fake), 0.5 * (
                tf.reduce_mean(tf.nn.relu(1.0 - d_real)) + tf.reduce_mean(tf.nn.relu(1.0 + d_fake)))
        # WGAN-GP: d_loss estimates the (negative) Wasserstein distance, so its curve means something
        return -tf.reduce_mean(d_fake), tf.reduce_mean(d_fake) - tf.reduce_mean(d_real)

    def _penalty(self, x, y, fake):
        """R1 at real pairs (gan, hinge) or WGAN-GP's gradient penalty on mixes; 0 when off."""
        tf, c = self.tf, self.config
        if c.loss == "wgan-gp":
            eps = tf.random.uniform([tf.shape(y)[0], 1, 1, 1])
            point, weight = eps * y + (1 - eps) * fake, c.gp_weight
        elif c.r1_gamma > 0:
            point, weight = y, c.r1_gamma / 2
        else:
            return tf.constant(0.0)
        with tf.GradientTape() as tape:
            tape.watch(point)
            # Per sample, the mean of its patch logits (what the loss averages): the gradient of
            # their sum would be patches-times larger (1024 at 256 px) and pin D flat (d = log 2).
            judged = tf.reduce_sum(tf.reduce_mean(self._judge(x, point), axis=[1, 2, 3]))
        grad = tape.gradient(judged, point)
        squared = tf.reduce_sum(tf.square(grad), axis=[1, 2, 3])
        if c.loss == "wgan-gp":
            return weight * tf.reduce_mean(tf.square(tf.sqrt(squared + 1e-12) - 1.0))
        return weight * tf.reduce_mean(squared)

    def _losses(self, x, y):
        tf, c = self.tf, self.config
        replicas = self.strategy.num_replicas_in_sync
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(x, training=True)
            d_real, d_fake = self._judge(x, y), self._judge(x, fake)
            l1 = tf.reduce_mean(tf.abs(y - fake))
            g_gan, d_adv = self._adversarial(d_real, d_fake)
            penalty = self._penalty(x, y, tf.stop_gradient(fake))
            g_loss = g_gan + c.l1_weight * l1
            d_loss = d_adv + penalty
            # Per-replica means, summed over replicas by the optimizer: divide by replica count.
            g_scaled, d_scaled = g_loss / replicas, d_loss / replicas
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.g_opt.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        self.d_opt.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars))
        return {"g_gan": g_gan, "g_l1": l1, "d": d_adv, "penalty": penalty}

    def _update_average(self):
        # A short warm-up (as StyleGAN's ramp): early on the average would be mostly the random init.
        step = self.tf.cast(self.step, self.tf.float32)
        decay = self.tf.minimum(self.config.ema_decay, (1.0 + step) / (10.0 + step))
        for target, source in zip(self.ema.trainable_variables, self.generator.trainable_variables):
            target.assign(decay * target + (1.0 - decay) * source)

    def _distributed_step(self, batch):
        x, y = batch
        per_replica = self.strategy.run(self._losses, args=(x, y))
        self.step.assign_add(1)
        if self.ema is not None:
            self._update_average()
        return {k: self.strategy.reduce("MEAN", v, axis=None) for k, v in per_replica.items()}

    def train_step(self, batch) -> dict[str, float]:
        return {k: float(v) for k, v in self._step_fn(batch).items()}

    def generate(self, inputs: np.ndarray, batch: int = 8) -> np.ndarray:
        return np.concatenate([self.shown(inputs[i:i + batch], training=False).numpy()
                               for i in range(0, len(inputs), batch)])
