"""--init-from: a fine-tune's generator starts as an exported model's, its discriminators fresh; a
folder that is no model, or a model whose generator is built otherwise, is refused in one line
before the run is written. --disc-warmup: the first steps train the discriminators alone."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from builder import config as cfg
from builder.config import TrainConfig
from builder.errors import ConfigError
from builder.training.export import export_run, load_exported_generator
from builder.training.runs import Run, load_generator
from builder.training.train import train
from builder.training.trainer import Trainer, choose_strategy
from refusals import one_line_error


def tiny(tmp_path: Path, **fields) -> TrainConfig:
    return TrainConfig(**{**dict(
        name="t", dataset="nebula", size=32, depth=3, base_filters=4, max_filters=8, batch_size=2, steps=2,
        checkpoint_every=1, sample_every=2, log_every=1, val_every=2, val_pairs=2, theme_images=6,
        runs_dir=str(tmp_path / "runs"), models_dir=str(tmp_path / "models"), cache_dir=str(tmp_path / "cache")),
        **fields})


def farthest(a, b) -> float:
    """The largest difference between two generators' weights (the noise pattern's included)."""
    return max(float(np.max(np.abs(x.numpy() - y.numpy()))) for x, y in zip(a.weights, b.weights))


def test_a_fine_tune_starts_from_the_models_generator(tmp_path):
    train(tiny(tmp_path, name="base"))
    model = tmp_path / "models" / "base"
    _, exported = load_exported_generator(model)

    tuned = train(tiny(tmp_path, name="tuned", init_from=str(model), seed=1, steps=1), export=False)
    scratch = train(tiny(tmp_path, name="scratch", seed=1, steps=1), export=False)
    _, tuned_generator, _ = load_generator(Run(tuned), 1)
    _, scratch_generator, _ = load_generator(Run(scratch), 1)
    # One Adam step moves a weight by about the learning rate (2e-4); a fresh start is far away.
    assert farthest(tuned_generator, exported) < 1e-3 < 1e-2 < farthest(scratch_generator, exported)

    # How long it trained, as the site's card says: the base's 2 steps and its own 1 (the card of
    # `fire` said 120 steps, its fine-tune's alone), still once the base's folder has changed
    # (a fine-tune is usually exported over the model it started from).
    meta = lambda name: json.loads((tmp_path / "models" / name / "meta.json").read_text())  # noqa: E731
    assert meta("base")["steps"] == 2 and "fine_tune_steps" not in meta("base")
    (model / "meta.json").write_text(json.dumps({**meta("base"), "steps": 999}))
    export_run(tuned)
    assert (meta("tuned")["steps"], meta("tuned")["fine_tune_steps"]) == (3, 1)


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    config = tiny(tmp_path)
    base = ["train", "--name", "t", "--dataset", "nebula", "--size", "32", "--depth", "3", "--max-filters", "8",
            "--batch-size", "2", "--steps", "1", "--theme-images", "2", "--val-pairs", "1",
            "--runs-dir", config.runs_dir, "--cache-dir", config.cache_dir, "--no-export"]
    return subprocess.run([sys.executable, "-m", "builder", *base, *args], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=600)


def test_a_folder_that_is_no_model_or_a_model_built_otherwise_is_refused(tmp_path):
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    one_line_error(cli(tmp_path, "--base-filters", "4", "--init-from", str(nothing)),
                   str(nothing), "--init-from", "config.toml")
    train(tiny(tmp_path, name="base", steps=1))
    model = tmp_path / "models" / "base"
    one_line_error(cli(tmp_path, "--base-filters", "8", "--init-from", str(model)),
                   str(model), "base_filters 8 against its 4")
    assert not (tmp_path / "runs" / "t").exists()


def test_a_warm_up_step_trains_the_discriminators_alone():
    config = cfg.TrainConfig(size=32, depth=3, base_filters=4, max_filters=8, batch_size=2, unpaired_weight=1.0)
    trainer = Trainer(config, choose_strategy())
    rng = np.random.default_rng(0)
    batch = tuple(rng.uniform(-1, 1, (2, 32, 32, c)).astype(np.float32) for c in (1, 3, 1))
    networks = {"generator": trainer.generator, "average": trainer.ema, "pair judge": trainer.discriminators[0],
                "theme judge": trainer.theme_judge}
    before = {name: [w.numpy().copy() for w in net.trainable_weights] for name, net in networks.items()}

    def moved() -> set:
        return {name for name, net in networks.items()
                if any(not np.array_equal(a, w.numpy()) for a, w in zip(before[name], net.trainable_weights))}

    trainer.train_step(batch, generator_learns=False)
    assert moved() == {"pair judge", "theme judge"}
    assert int(trainer.g_opt.iterations) == 0  # Adam's first real step is a first step
    trainer.train_step(batch)
    assert moved() == set(networks)


def test_a_warm_up_as_long_as_the_run_is_refused():
    with pytest.raises(ConfigError, match="field 'disc_warmup' must be fewer than steps") as raised:
        cfg.from_mapping(cfg.TrainConfig, {"steps": 10, "disc_warmup": 10}, "command line")
    assert "\n" not in str(raised.value)
