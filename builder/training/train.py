"""The training loop: it only steps (trainer.py), logs, checkpoints, draws samples, and exports
at the end. What it writes is laid out in runs.py."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import math
import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from builder import config as cfg
from builder.atomic import check_writable, write_text
from builder.errors import BuilderError, ConfigError
from builder.training.runs import Run


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


def write_failed(run: Run, name: str, doing: str, error: Exception) -> BuilderError:
    """One line for a write into the run's folder that failed (a full disk above all): why, the
    checkpoint that is kept, and the fix."""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(getattr(error, "message", error))
    # TensorFlow's errors wrap the reason: "{{function_node ...}} <path>; No space left on device [Op:...]"
    reason = re.sub(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\]", "", reason).strip().splitlines()[0]
    full = (isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)) or any(
        words in reason for words in ("No space left", "quota exceeded"))
    last = run.checkpoint_steps()[-1:]
    kept = f"the last good checkpoint, step {last[0]}, is kept" if last else "no checkpoint was written yet"
    fix = ("free some space (or move the run to a disk with room and pass --runs-dir)" if full
           else "fix that (or pass another --runs-dir)")
    again = f"continue with `--resume --name {name}`" if last else "train again"
    return BuilderError(f"{run.dir}: {'no space left on the disk' if full else reason} while {doing}; {kept}; "
                        f"{fix}, then {again}")


def exported_steps(folder: Path) -> int:
    """The training steps an exported model's meta.json counts (0 where it does not say)."""
    try:
        return int(json.loads((folder / "meta.json").read_text()).get("steps", 0))
    except (OSError, ValueError, TypeError):
        return 0


def model_to_start_from(config: cfg.TrainConfig):
    """--init-from's generator, checked: an exported model (models/NAME) whose generator this run's
    options build alike (the display-only `sharpen` aside)."""
    from builder.tfenv import tensorflow

    tensorflow()  # imported quietly, before Keras imports it
    from builder.training.export import load_exported_generator

    folder = Path(config.init_from)
    if not (folder / "config.toml").is_file() or not (folder / "saved_model").is_dir():
        raise ConfigError(f"{folder}: --init-from needs an exported model's folder (config.toml and saved_model/), "
                          f"such as models/fire")
    theirs, generator = load_exported_generator(folder)
    differ = [f"{name} {getattr(config, name)} against its {getattr(theirs, name)}" for name in cfg.GENERATOR_FIELDS
              if name != "sharpen" and getattr(config, name) != getattr(theirs, name)]
    if differ:
        raise ConfigError(f"{folder}: its generator is built otherwise ({', '.join(differ)}); give this run its "
                          f"generator options (--config {folder}/config.toml) or train from scratch")
    return generator


def train(config: cfg.TrainConfig, *, resume: bool = False, export: bool = True) -> Path:
    """Train (or continue) a run; export the generator to models/<name>. Returns the run dir."""
    held: list = []  # the run's lock, released however _train ends (a traceback kept by a caller
    try:             # would otherwise keep it open, and the next training of the run refused)
        return _train(config, resume=resume, export=export, held=held)
    finally:
        for handle in held:
            handle.close()


def _train(config: cfg.TrainConfig, *, resume: bool, export: bool, held: list) -> Path:
    from builder.training import plots
    from builder.training.data import load_dataset, unpaired_images
    from builder.training.pairs import fixed_pairs, training_stream
    from builder.training.trainer import Trainer, choose_strategy, learning_rate
    from builder.training.transform import TransformParams, theme_levels

    run = Run.of(config)
    if not resume and run.has_checkpoints():
        raise ConfigError(f"{run.dir}: a run with checkpoints exists; pass --resume to continue it, "
                          f"or choose another --name")
    done = run.checkpoint_steps()[-1:] if resume else []
    if done and config.steps <= done[0]:
        raise ConfigError(f"{run.dir}: the run is already at step {done[0]}; pass a larger --steps to continue "
                          f"it, or `python -m builder export --name {config.name}` to export it as it is")
    # Every output folder, before hours of training end in a failed write.
    for folder, option in ((config.runs_dir, "--runs-dir"), (config.cache_dir, "--cache-dir"),
                           *([(config.models_dir, "--models-dir")] if export else [])):
        check_writable(Path(folder), option)
    start_model = model_to_start_from(config) if config.init_from and not resume else None
    steps_before = exported_steps(Path(config.init_from)) if start_model is not None else None
    dataset = load_dataset(config)  # bad input fails here, before anything is written
    unpaired = unpaired_images(config) if config.unpaired_weight > 0 else None
    run.samples_dir.mkdir(parents=True, exist_ok=True)
    held.append(run.lock())  # one training per run at a time
    for line in dataset.skipped:
        print(f"skipped {line}")
    flips = (dataset.flip_horizontal, dataset.flip_vertical)
    params = TransformParams.from_config(config, flips)
    if config.input_levels != "none":
        # A resume keeps the levels it trained with (the folder may have changed since); a new run
        # measures them on its images.
        kept = run.transform(config)[0].levels if resume and run.dataset_path.is_file() else None
        params = dataclasses.replace(params, levels=kept or theme_levels(dataset.train, params))
        source = "the run's own" if kept else "measured on its images"
        print(f"input levels: mean {params.levels[0]:.3f}, deviation {params.levels[1]:.3f} ({source})")

    def keep_run_info() -> None:
        """The run's config.toml and dataset.json, written once the run has stepped: a resume that
        fails (a changed network, a bad option) leaves the run's own config to resume with."""
        write_text(run.config_path, cfg.to_toml(config))
        run.write_dataset_info(dataset.name, params)
        if steps_before is not None:
            run.write_start(config.init_from, steps_before)

    val_x, val_y = fixed_pairs(dataset.val, params, config.val_pairs)

    strategy = choose_strategy()
    trainer = Trainer(config, strategy)
    tf = trainer.tf
    manager = tf.train.CheckpointManager(trainer.checkpoint, run.ckpt_dir, max_to_keep=None)
    if resume and manager.latest_checkpoint:
        trainer.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        print(f"resumed {manager.latest_checkpoint} at step {int(trainer.step)}")
    elif start_model is not None:
        trainer.start_from(start_model)
        print(f"generator from {config.init_from} (the discriminators start fresh)")

    start = int(trainer.step)
    images = dataset.stream(config.theme_refresh, start)
    stream = iter(strategy.experimental_distribute_dataset(
        training_stream(images, params, seed=config.seed + start, batch_size=config.batch_size,
                        shifted=config.shift_consistency > 0, unpaired=unpaired)))
    log_path = run.log_path

    @contextlib.contextmanager
    def writing(doing: str):
        """A failed write into the run (its disk full, above all) ends training with one line."""
        try:
            yield
        except (OSError, tf.errors.OpError) as e:
            raise write_failed(run, config.name, doing, e) from None

    if log_path.exists():  # a crash may have logged steps past the last checkpoint: drop them
        kept = [line for line in log_path.read_text().splitlines()
                if line.strip() and _logged_step(line) <= start]
        with writing(f"rewriting {log_path.name}"):  # atomically: a full disk must not empty the log
            write_text(log_path, "".join(line + "\n" for line in kept))
    saved = [start if manager.latest_checkpoint else None]  # the step of the checkpoint on disk

    def snapshot(step: int) -> None:
        if step == saved[0]:  # the patience stop or Ctrl-C just after a checkpoint: it is on disk
            return
        with writing(f"saving the checkpoint of step {step}"):
            keep_run_info()  # a checkpoint is never without the config that resumes it
            run.save_checkpoint(manager, step)
            saved[0] = step
            plots.loss_curves(log_path, run.loss_plot)

    def samples(step: int) -> None:
        rows = min(6, len(val_x))
        out = trainer.generate(val_x[:rows])
        grid = list(zip(val_x[:rows], out, val_y[:rows]))
        with writing(f"drawing the samples of step {step}"):
            plots.sample_grid(grid, run.samples_dir / f"step_{step:06d}.png")
            plots.sample_grid(grid, run.samples)

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
                trainer.set_learning_rate(learning_rate(config, step))  # --lr wins over a restored rate
                losses = trainer.train_step(next(stream), generator_learns=step >= config.disc_warmup)
                step = int(trainer.step)
                bar.update(1)
                if not all(math.isfinite(v) for v in losses.values()):
                    raise FloatingPointError(f"loss became {losses} at step {step}; lower --lr "
                                             f"(the last checkpoint is kept in {run.ckpt_dir})")
                if step == start + 1:
                    with writing("writing the run's config"):
                        keep_run_info()
                record = {"step": step, **{k: round(v, 5) for k, v in losses.items()}}
                if step % config.val_every == 0 or step == config.steps:
                    record["val_l1"] = round(val_l1(), 5)
                    history.append(record["val_l1"])
                if step % config.log_every == 0 or "val_l1" in record:
                    with writing(f"logging step {step} to {log_path.name}"):
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
    except BuilderError:
        bar.close()  # its one line goes under the bar, not onto it
        raise
    except KeyboardInterrupt:
        bar.close()
        if step == start:  # nothing trained since the last checkpoint (or a new run's random start)
            print("interrupted before the first step: nothing to save")
            raise SystemExit(130)
        snapshot(step)
        print(f"interrupted: checkpoint saved at step {step}; continue with --resume --name {config.name}")
        raise SystemExit(130)
    bar.close()
    if export:
        from builder.training.export import export_model

        path = export_model(trainer.shown, config, params, run.dir, steps=step, dataset_name=dataset.name)
        print(f"exported {path}")
    return run.dir
