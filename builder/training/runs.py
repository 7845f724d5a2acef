"""The `runs/<name>/` folder of a training run: what is in it, and reading it back.

runs/<name>/
  config.toml      the resolved TrainConfig (a resumed run reads it back)
  dataset.json     the dataset's name and the flips its transform resolved to
  ckpt/            tf.train checkpoints (every checkpoint_every steps and on Ctrl-C)
  log.jsonl        one line of losses per log_every steps; val_l1 every val_every steps
  loss.png         loss curves, redrawn at each checkpoint
  samples.png      input | output | target on held-out pairs (samples/step_N.png keeps history)

Training writes it (`train.py`; config.toml and dataset.json only once a step has succeeded, so a
resume that fails leaves them as they were; checkpoints through `save_checkpoint`, which takes a
failed save's files with it); export and evaluation read it (here), so neither needs the
training loop, and restoring a generator builds no discriminator and no optimizer.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from builder import config as cfg
from builder.atomic import write_text
from builder.errors import ConfigError

# A checkpoint's .index is a LevelDB-format table, written after its data and ending in this magic
# number: an index without it was cut short (a full disk, a killed process) and names no checkpoint.
INDEX_END = bytes.fromhex("57fb808b247547db")

# What a resumed run may not change: the checkpoint's networks depend on it.
# (Not `sharpen`: a display filter without weights.)
LOCKED_ON_RESUME = (*(f for f in cfg.GENERATOR_FIELDS if f != "sharpen"), "disc_ratio", "disc_scales", "loss",
                    "ema_decay", "unpaired_weight")


@dataclass(frozen=True)
class Run:
    dir: Path

    @classmethod
    def of(cls, config: cfg.TrainConfig) -> "Run":
        return cls(Path(config.runs_dir) / config.name)

    config_path = property(lambda self: self.dir / "config.toml")
    dataset_path = property(lambda self: self.dir / "dataset.json")
    ckpt_dir = property(lambda self: self.dir / "ckpt")
    log_path = property(lambda self: self.dir / "log.jsonl")
    loss_plot = property(lambda self: self.dir / "loss.png")
    samples = property(lambda self: self.dir / "samples.png")
    samples_dir = property(lambda self: self.dir / "samples")
    start_path = property(lambda self: self.dir / "start.json")  # a fine-tune's starting model

    def write_start(self, init_from: str, steps: int) -> None:
        """Notes the exported model a fine-tune starts from and its training steps, read when the
        run is exported (that model's own folder may be replaced by then, by this very run)."""
        write_text(self.start_path, json.dumps({"init_from": init_from, "steps": steps}) + "\n")

    def steps_before(self) -> int:
        """The training steps of the model this run was fine-tuned from (0: trained from scratch)."""
        return int(json.loads(self.start_path.read_text())["steps"]) if self.start_path.is_file() else 0

    def lock(self):
        """An open file holding an exclusive lock on the run (released when closed or the process
        ends): two trainings of one run would write each other's checkpoints and logs."""
        import fcntl
        import os

        handle = open(self.dir / ".lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise ConfigError(f"{self.dir}: another training of this run is going on (pid {holder}); wait for it "
                              f"to finish, or train under another --name") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return handle

    def has_checkpoints(self) -> bool:
        return self.ckpt_dir.is_dir() and any(self.ckpt_dir.iterdir())

    def config(self) -> cfg.TrainConfig:
        if not self.config_path.is_file():
            raise ConfigError(f"{self.config_path}: not a run (no config.toml); train it first, or check --name "
                              f"and --runs-dir")
        return cfg.load(cfg.TrainConfig, self.config_path)

    def write_dataset_info(self, name: str, params) -> None:
        write_text(self.dataset_path, json.dumps(
            {"name": name, "flip_horizontal": params.flip_horizontal, "flip_vertical": params.flip_vertical,
             "levels": params.levels}))

    def transform(self, config: cfg.TrainConfig):
        """The transform the run trained with, and its dataset's name."""
        from builder.training.transform import TransformParams

        saved = json.loads(self.dataset_path.read_text())
        levels = saved.get("levels")  # absent in runs from before input levels
        flips = (saved["flip_horizontal"], saved["flip_vertical"])
        return TransformParams.from_config(config, flips, tuple(levels) if levels else None), saved["name"]

    def checkpoint_steps(self) -> list[int]:
        """Steps of the checkpoints on disk, oldest first (files ckpt-<step>.index)."""
        if not self.ckpt_dir.is_dir():
            return []
        found = (re.fullmatch(r"ckpt-(\d+)\.index", p.name) for p in self.ckpt_dir.iterdir())
        return sorted(int(m.group(1)) for m in found if m and _whole_index(self.ckpt_dir / m.group(0)))

    def save_checkpoint(self, manager, step: int) -> None:
        """`manager.save` at `step`. A save that fails (a full disk, Ctrl-C) leaves no file of it:
        TensorFlow writes the data, then the .index, then the `checkpoint` state file that --resume
        reads, and a failure between leaves a half-written .index behind that export would take
        for the newest checkpoint. So the previous checkpoint stays the latest for both."""
        try:
            manager.save(checkpoint_number=step)
        except BaseException:
            if not self._state_names(step):  # written last: a state naming `step` means the save was whole
                for path in self.ckpt_dir.glob(f"ckpt-{step}.*"):  # .index, .data-*-of-*
                    path.unlink(missing_ok=True)
                shutil.rmtree(self.ckpt_dir / f"ckpt-{step}_temp", ignore_errors=True)
            for path in self.ckpt_dir.glob("checkpoint.tmp*"):  # the state's own temporary, if its write failed
                path.unlink(missing_ok=True)
            raise

    def _state_names(self, step: int) -> bool:
        from builder.tfenv import tensorflow

        state = tensorflow().train.get_checkpoint_state(str(self.ckpt_dir))
        return state is not None and Path(state.model_checkpoint_path).name == f"ckpt-{step}"

    def checkpoint_prefix(self, step: int | None = None) -> str:
        steps = self.checkpoint_steps()
        if not steps:
            raise ConfigError(f"{self.ckpt_dir}: no checkpoint; train first")
        if step is None:
            step = steps[-1]
        if step not in steps:
            raise ConfigError(f"{self.ckpt_dir}: no checkpoint at step {step}; there are: "
                              f"{', '.join(map(str, steps))}")
        return str(self.ckpt_dir / f"ckpt-{step}")


def _whole_index(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            f.seek(-len(INDEX_END), 2)
            return f.read() == INDEX_END
    except OSError:  # shorter than the magic number, or unreadable
        return False


def load_generator(run: Run, step: int | None = None, *, sharpen: float | None = None, grade: str | None = None):
    """(config, generator, step) from a checkpoint: the weights' moving average when the run kept one;
    `sharpen`, `grade` (not None): the output's unsharp mask and colour grade (config only: grade.py
    applies it) set instead of the run's.

    Builds only the generator: the checkpoint's discriminator and optimizer slots are left unread."""
    from builder.tfenv import tensorflow
    from builder.training.model import build_generator

    tf = tensorflow()
    config = run.config()
    if sharpen is not None:
        config = cfg.validate(dataclasses.replace(config, sharpen=sharpen), "--sharpen")
    if grade is not None:
        config = cfg.validate(dataclasses.replace(config, grade=grade), "--grade")
    prefix = run.checkpoint_prefix(step)
    generator = build_generator(**cfg.generator_options(config))
    step_variable = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    # The average, when kept, is what the run samples and exports; restore it into `generator`.
    name = "generator_ema" if config.ema_decay > 0 else "generator"
    status = tf.train.Checkpoint(**{name: generator, "step": step_variable}).restore(prefix)
    try:
        status.assert_existing_objects_matched()  # every weight of the generator came from the file
    except AssertionError:
        raise ConfigError(f"{prefix}: this checkpoint does not hold every weight of the {name.replace('_', ' ')} "
                          f"(written before JoinConv's kernels were tracked); export the model the run "
                          f"wrote at its end, or train again") from None
    status.expect_partial()  # the discriminator and the optimizers are left unread on purpose
    return config, generator, int(step_variable)


def resolve_config(overrides: dict, config_path: Path | None, resume: bool) -> cfg.TrainConfig:
    """Defaults <- --config TOML <- command line; a resumed run starts from its saved config instead
    of the defaults, and the TOML changes only the keys it names."""
    if not resume:
        return cfg.load(cfg.TrainConfig, config_path, overrides)
    from_file = cfg.typed_values(cfg.TrainConfig, cfg.read_toml(config_path), str(config_path)) if config_path else {}
    asked = {**from_file, **overrides}
    name = asked.get("name", cfg.TrainConfig.name)
    if cfg.name_problem(name):  # before it becomes a path
        raise ConfigError(f"{'command line' if 'name' in overrides else config_path}: field 'name' "
                          f"{cfg.name_problem(name)}")
    run = Run(Path(asked.get("runs_dir", cfg.TrainConfig.runs_dir)) / name)
    if not run.config_path.is_file():
        raise ConfigError(f"{run.config_path}: no run to resume; train without --resume first, or pass --name")
    base = run.config()
    locked = sorted(k for k, v in asked.items() if k in LOCKED_ON_RESUME and getattr(base, k) != v)
    if locked:
        where = (f"{run.config_path}: --{locked[0].replace('_', '-')}" if locked[0] in overrides
                 else f"{config_path}: field '{locked[0]}'")
        raise ConfigError(f"{where} cannot change when resuming {run.dir} (the checkpoint's networks depend on it); "
                          f"start a new --name instead")
    return cfg.validate(dataclasses.replace(base, **asked), "command line" if not from_file else
                        f"{config_path} and the command line")
