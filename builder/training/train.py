"""Training: one `train_step` under `tf.function` inside a `tf.distribute` strategy; the loop
around it only steps, logs, checkpoints, draws samples, and exports at the end.

runs/<name>/
  config.toml      the resolved TrainConfig (a resumed run reads it back)
  ckpt/            tf.train checkpoints (every checkpoint_every steps and on Ctrl-C)
  log.jsonl        one line of losses per log_every steps; val_l1 every val_every steps
  loss.png         loss curves, redrawn at each checkpoint
  samples.png      input | output | target on held-out pairs (samples/step_N.png keeps history)
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
from tqdm import tqdm

from builder import config as cfg
from builder.errors import ConfigError


def transform_params(config: cfg.TrainConfig, dataset_flips: tuple[bool, bool]):
    """The input transform of a run: the config's numbers, flips resolved against the dataset's."""
    from builder.training.transform import TransformParams

    def flip(choice: str, dataset_default: bool) -> bool:
        return dataset_default if choice == "auto" else choice == "yes"

    return TransformParams(
        size=config.size, downscale=config.downscale, scale_min=config.scale_min, scale_max=config.scale_max,
        brightness=config.brightness, contrast=config.contrast,
        flip_horizontal=flip(config.flip_horizontal, dataset_flips[0]),
        flip_vertical=flip(config.flip_vertical, dataset_flips[1]),
    )


def choose_strategy():
    """One device by default; MirroredStrategy over several GPUs (how a user scales out)."""
    from builder.tfenv import tensorflow

    tf = tensorflow()
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


class Trainer:
    """Owns the networks, optimizers, checkpoint and the compiled step for one run."""

    def __init__(self, config: cfg.TrainConfig, strategy):
        from builder.training.model import build_discriminator, build_generator
        from builder.tfenv import tensorflow

        tf = self.tf = tensorflow()
        import keras

        self.config, self.strategy = config, strategy
        keras.utils.set_random_seed(config.seed)
        with strategy.scope():
            self.generator = build_generator(**cfg.generator_options(config))
            self.discriminator = build_discriminator(
                size=config.size, base_filters=max(4, round(config.base_filters * config.disc_ratio)),
                normalize=config.loss == "gan")
            self.g_opt = keras.optimizers.Adam(config.lr, beta_1=config.beta1)
            self.d_opt = keras.optimizers.Adam(config.lr, beta_1=config.beta1)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            # Build optimizer slots now, inside the scope, so a restore fills them.
            self.g_opt.build(self.generator.trainable_variables)
            self.d_opt.build(self.discriminator.trainable_variables)
        self.checkpoint = tf.train.Checkpoint(generator=self.generator, discriminator=self.discriminator,
                                              g_opt=self.g_opt, d_opt=self.d_opt, step=self.step)
        self._step_fn = tf.function(self._distributed_step)

    # -- losses -------------------------------------------------------------------------------
    def _losses(self, x, y):
        tf, c = self.tf, self.config
        replicas = self.strategy.num_replicas_in_sync
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(x, training=True)
            d_real = self.discriminator([x, y], training=True)
            d_fake = self.discriminator([x, fake], training=True)
            l1 = tf.reduce_mean(tf.abs(y - fake))
            if c.loss == "gan":
                bce = lambda logits, label: tf.reduce_mean(  # noqa: E731
                    tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), label), logits))
                g_gan = bce(d_fake, 1.0)
                d_loss = 0.5 * (bce(d_real, 1.0) + bce(d_fake, 0.0))
            else:  # WGAN-GP: d_loss estimates the (negative) Wasserstein distance, so its curve means something
                g_gan = -tf.reduce_mean(d_fake)
                eps = tf.random.uniform([tf.shape(y)[0], 1, 1, 1])
                mix = eps * y + (1 - eps) * fake
                with tf.GradientTape() as gp_tape:
                    gp_tape.watch(mix)
                    d_mix = self.discriminator([x, mix], training=True)
                grad = gp_tape.gradient(d_mix, mix)
                norm = tf.sqrt(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]) + 1e-12)
                gp = tf.reduce_mean(tf.square(norm - 1.0))
                d_loss = tf.reduce_mean(d_fake) - tf.reduce_mean(d_real) + c.gp_weight * gp
            g_loss = g_gan + c.l1_weight * l1
            # Per-replica means, summed over replicas by the optimizer: divide by replica count.
            g_scaled, d_scaled = g_loss / replicas, d_loss / replicas
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.g_opt.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        self.d_opt.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars))
        return {"g_gan": g_gan, "g_l1": l1, "d": d_loss}

    def _distributed_step(self, batch):
        x, y = batch
        per_replica = self.strategy.run(self._losses, args=(x, y))
        self.step.assign_add(1)
        return {k: self.strategy.reduce("MEAN", v, axis=None) for k, v in per_replica.items()}

    def train_step(self, batch) -> dict[str, float]:
        return {k: float(v) for k, v in self._step_fn(batch).items()}

    def generate(self, inputs: np.ndarray, batch: int = 8) -> np.ndarray:
        return np.concatenate([self.generator(inputs[i:i + batch], training=False).numpy()
                               for i in range(0, len(inputs), batch)])


def stop_on_sigterm() -> None:
    """`kill` (and a CI or cluster time limit) sends SIGTERM: stop as Ctrl-C does, checkpoint first."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def stopped_improving(history: list[float], patience: int) -> bool:
    """True when the last `patience` validations are all worse than the best one before them."""
    if patience <= 0 or len(history) <= patience:
        return False
    return min(history[-patience:]) >= min(history[:-patience])


def _logged_step(line: str) -> int:
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return 1 << 62  # a truncated line: drop it


def _run_dir(config: cfg.TrainConfig) -> Path:
    return Path(config.runs_dir) / config.name


def resolve_config(overrides: dict, config_path: Path | None, resume: bool) -> cfg.TrainConfig:
    """Defaults <- --config TOML <- command line; a resumed run starts from its saved config."""
    if resume:
        name = overrides.get("name") or cfg.TrainConfig.name
        runs = overrides.get("runs_dir") or cfg.TrainConfig.runs_dir
        saved = Path(runs) / name / "config.toml"
        if not saved.is_file():
            raise ConfigError(f"{saved}: no run to resume; train without --resume first, or pass --name")
        base = cfg.load(cfg.TrainConfig, saved)
        if config_path:
            base = dataclasses.replace(base, **cfg.to_dict(cfg.load(cfg.TrainConfig, config_path)))
        changed = {k: v for k, v in overrides.items() if getattr(base, k) != v}
        locked = sorted(set(changed) & {*cfg.GENERATOR_FIELDS, "disc_ratio", "loss"})
        if locked:
            raise ConfigError(f"{saved}: --{locked[0].replace('_', '-')} cannot change when resuming "
                              f"(the checkpoint's networks depend on it); start a new --name instead")
        return cfg.validate(dataclasses.replace(base, **overrides), "command line")
    return cfg.load(cfg.TrainConfig, config_path, overrides)


def train(config: cfg.TrainConfig, *, resume: bool = False, export: bool = True) -> Path:
    """Train (or continue) a run; export the generator to models/<name>. Returns the run dir."""
    from builder.training import plots
    from builder.training.data import fixed_pairs, load_dataset, pair_stream

    run_dir = _run_dir(config)
    ckpt_dir = run_dir / "ckpt"
    if not resume and ckpt_dir.exists() and any(ckpt_dir.iterdir()):
        raise ConfigError(f"{run_dir}: a run with checkpoints exists; pass --resume to continue it, "
                          f"or choose another --name")
    dataset = load_dataset(config)  # bad input fails here, before anything is written
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "samples").mkdir(exist_ok=True)
    (run_dir / "config.toml").write_text(cfg.to_toml(config))
    for line in dataset.skipped:
        print(f"skipped {line}")
    params = transform_params(config, (dataset.flip_horizontal, dataset.flip_vertical))
    (run_dir / "dataset.json").write_text(json.dumps(
        {"name": dataset.name, "flip_horizontal": params.flip_horizontal, "flip_vertical": params.flip_vertical}))
    val_x, val_y = fixed_pairs(dataset.val, params, config.val_pairs)

    strategy = choose_strategy()
    trainer = Trainer(config, strategy)
    tf = trainer.tf
    manager = tf.train.CheckpointManager(trainer.checkpoint, ckpt_dir, max_to_keep=3)
    if resume and manager.latest_checkpoint:
        trainer.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        for optimizer in (trainer.g_opt, trainer.d_opt):  # the checkpoint restored the old rate; --lr wins
            optimizer.learning_rate = config.lr
        print(f"resumed {manager.latest_checkpoint} at step {int(trainer.step)}")

    start = int(trainer.step)
    stream = iter(strategy.experimental_distribute_dataset(
        pair_stream(dataset.train, params, seed=config.seed + start, batch_size=config.batch_size)))
    log_path = run_dir / "log.jsonl"
    if log_path.exists():  # a crash may have logged steps past the last checkpoint: drop them
        kept = [line for line in log_path.read_text().splitlines()
                if line.strip() and _logged_step(line) <= start]
        log_path.write_text("".join(line + "\n" for line in kept))

    def snapshot(step: int) -> None:
        manager.save(checkpoint_number=step)
        plots.loss_curves(log_path, run_dir / "loss.png")

    def samples(step: int) -> None:
        rows = min(6, len(val_x))
        out = trainer.generate(val_x[:rows])
        grid = list(zip(val_x[:rows], out, val_y[:rows]))
        plots.sample_grid(grid, run_dir / "samples" / f"step_{step:06d}.png")
        plots.sample_grid(grid, run_dir / "samples.png")

    def val_l1() -> float:
        return float(np.mean(np.abs(trainer.generate(val_x) - val_y)))

    history = plots.read_log(log_path).get("val_l1", ([], []))[1] if log_path.exists() else []
    stop_on_sigterm()
    bar = tqdm(total=config.steps, initial=start, desc=f"train {config.name}", unit="step",
               dynamic_ncols=True, smoothing=0.05)
    step = start
    try:
        with log_path.open("a") as log:
            while step < config.steps:
                losses = trainer.train_step(next(stream))
                step = int(trainer.step)
                bar.update(1)
                if not all(math.isfinite(v) for v in losses.values()):
                    raise FloatingPointError(f"loss became {losses} at step {step}; lower --lr "
                                             f"(the last checkpoint is kept in {ckpt_dir})")
                record = {"step": step, **{k: round(v, 5) for k, v in losses.items()}}
                if step % config.val_every == 0 or step == config.steps:
                    record["val_l1"] = round(val_l1(), 5)
                    history.append(record["val_l1"])
                if step % config.log_every == 0 or "val_l1" in record:
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k != "step"})
                if step % config.sample_every == 0 or step == config.steps:
                    samples(step)
                if step % config.checkpoint_every == 0 or step == config.steps:
                    snapshot(step)
                if stopped_improving(history, config.patience):
                    snapshot(step)
                    print(f"held-out L1 has not improved for {config.patience} validations: stopping at "
                          f"step {step} (best {min(history):.4f})")
                    break
    except KeyboardInterrupt:
        bar.close()
        snapshot(step)
        print(f"interrupted: checkpoint saved at step {step}; continue with --resume --name {config.name}")
        raise SystemExit(130)
    bar.close()
    if export:
        from builder.training.export import export_model

        path = export_model(trainer.generator, config, params, run_dir, steps=step,
                            dataset_name=dataset.name)
        print(f"exported {path}")
    return run_dir


def load_generator_from_run(run_dir: Path):
    """Rebuild a run's generator from its config and restore the latest checkpoint's weights."""
    config = cfg.load(cfg.TrainConfig, run_dir / "config.toml")
    trainer = Trainer(config, choose_strategy())
    latest = trainer.tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    if not latest:
        raise ConfigError(f"{run_dir / 'ckpt'}: no checkpoint to export; train first")
    trainer.checkpoint.restore(latest).expect_partial()
    return config, trainer.generator, int(trainer.step)


def load_run_transform(run_dir: Path, config: cfg.TrainConfig):
    """The transform a run trained with, and its dataset's name (from runs/<name>/dataset.json)."""
    saved = json.loads((run_dir / "dataset.json").read_text())
    return transform_params(config, (saved["flip_horizontal"], saved["flip_vertical"])), saved["name"]
