"""A tiny end-to-end training run, resume, and the exported model going through the converter."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder import config as cfg
from builder.config import TrainConfig
from builder.site.convert import convert_saved_model, reference_outputs
from builder.errors import ConfigError
from builder.training.export import save_for_converter
from builder.training.model import build_generator
from builder.tfenv import tensorflow
from builder.training.runs import resolve_config
from builder.training.train import train
from refusals import one_line_error


@pytest.fixture
def tiny(tmp_path):
    return TrainConfig(name="t", dataset="nebula", size=32, depth=3, base_filters=4, max_filters=8,
                       batch_size=2, steps=6, checkpoint_every=3, sample_every=3, log_every=1, val_every=3,
                       val_pairs=2, theme_images=6, runs_dir=str(tmp_path / "runs"),
                       models_dir=str(tmp_path / "models"), cache_dir=str(tmp_path / "cache"))


def _steps(log):
    return [json.loads(line)["step"] for line in log.read_text().splitlines()]


def test_tiny_run_writes_checkpoints_pictures_and_a_model(tiny, tmp_path):
    run = train(tiny)
    assert sorted(p.name for p in (run / "ckpt").glob("ckpt-*.index")) == ["ckpt-3.index", "ckpt-6.index"]
    assert Image.open(run / "samples.png").size[0] > 3 * 32
    assert Image.open(run / "loss.png").format == "PNG"
    assert _steps(run / "log.jsonl") == [1, 2, 3, 4, 5, 6]
    saved = TrainConfig(**{**dataclasses.asdict(tiny)})
    assert (run / "config.toml").read_text().count("\n") == len(dataclasses.fields(saved))

    model = tmp_path / "models" / "t"
    meta = json.loads((model / "meta.json").read_text())
    assert meta["input"] == {"size": 32, "channels": 1, "range": [-1, 1]}
    assert meta["transform"]["downscale"] == 24 and meta["transform"]["low_size"] == 1
    assert meta["steps"] == 6 and meta["params"] > 0 and meta["flops"] > 0
    for picture in ("preview", "evidence", "loss_curve", "samples"):
        assert (model / meta[picture]).is_file()

    # The converter takes it, as the build calls it (in this process: the CLI's own start, a
    # second TensorFlow, took 12 of this test's 27 s).
    out = tmp_path / "tfjs"
    convert_saved_model(model / "saved_model", out, "float32", 4 * 1024 * 1024)
    assert json.loads((out / "model.json").read_text())["format"] == "graph-model"


def test_resume_continues_the_step_count(tiny):
    train(tiny, export=False)
    more = resolve_config({"name": "t", "runs_dir": tiny.runs_dir, "steps": 9}, None, resume=True)
    assert more.size == 32 and more.steps == 9
    run = train(more, resume=True, export=False)
    assert _steps(run / "log.jsonl") == list(range(1, 10))
    assert (run / "ckpt" / "ckpt-9.index").is_file()


def test_resume_with_a_new_learning_rate_uses_it(tiny):
    """The checkpoint holds the optimizers' old rate; a resumed run's --lr must win over it."""
    tf = tensorflow()
    tiny = dataclasses.replace(tiny, lr_decay=0.0)  # a constant rate: the one saved is the one asked for
    train(tiny, export=False)
    slower = resolve_config({"name": "t", "runs_dir": tiny.runs_dir, "steps": 9, "lr": 5e-5}, None, resume=True)
    run = train(slower, resume=True, export=False)
    saved = tf.train.load_checkpoint(str(run / "ckpt" / "ckpt-9"))
    for optimizer in ("g_opt", "d_opt"):
        assert saved.get_tensor(f"{optimizer}/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE") == pytest.approx(5e-5)


def test_a_new_run_over_an_old_one_or_a_changed_network_is_refused(tiny):
    train(tiny, export=False)
    with pytest.raises(ConfigError, match="--resume"):
        train(tiny, export=False)
    with pytest.raises(ConfigError, match="cannot change when resuming"):
        resolve_config({"name": "t", "runs_dir": tiny.runs_dir, "size": 64}, None, resume=True)


def test_help_lists_the_options():
    done = subprocess.run([sys.executable, "-m", "builder", "train", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for option in ("--dataset", "--size", "--steps", "--resume", "--loss", "--batch-size", "--seed"):
        assert option in done.stdout


def test_interrupt_saves_a_checkpoint_and_resume_picks_it_up(tmp_path):
    import signal
    import time

    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "builder", "train", "--name", "c", "--dataset", "nebula", "--size", "32",
           "--depth", "3", "--base-filters", "4", "--max-filters", "8", "--batch-size", "1", "--steps", "100000",
           "--checkpoint-every", "100000", "--log-every", "1", "--val-every", "100000", "--sample-every", "100000",
           "--val-pairs", "2", "--theme-images", "4", "--runs-dir", str(runs), "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = runs / "c" / "log.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # what `kill` sends; Ctrl-C raises the same KeyboardInterrupt
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out[-2000:]
    assert "checkpoint saved" in out
    saved = sorted(int(p.stem.split("-")[1]) for p in (runs / "c" / "ckpt").glob("ckpt-*.index"))
    assert saved and saved[-1] >= 3
    more = resolve_config({"name": "c", "runs_dir": str(runs), "steps": saved[-1] + 2}, None, resume=True)
    train(more, resume=True, export=False)
    assert _steps(log)[-1] == saved[-1] + 2


def test_patience_stops_when_held_out_l1_stops_improving():
    from builder.training.train import stopped_improving

    assert not stopped_improving([0.3, 0.2, 0.1], 2)
    assert stopped_improving([0.1, 0.2, 0.3], 2)
    assert not stopped_improving([0.3, 0.2, 0.25, 0.15], 2)
    assert not stopped_improving([0.1, 0.2, 0.3], 0), "patience 0 never stops"


def test_wgan_gp_trains_with_finite_losses(tiny):
    import dataclasses as dc

    run = train(dc.replace(tiny, name="w", loss="wgan-gp", steps=3), export=False)
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(abs(r[k]) < 1e6 for r in records for k in ("g_gan", "g_l1", "d"))


def test_the_saved_model_stores_float16_weights_and_still_matches_the_generator(tmp_path):
    tf = tensorflow()
    tf.keras.utils.set_random_seed(3)
    generator = build_generator(size=32, base_filters=8, max_filters=16, depth=3)
    save_for_converter(generator, tmp_path / "sm")

    stored = tf.train.load_checkpoint(str(tmp_path / "sm" / "variables" / "variables"))
    dtypes = {name: dtype for name, dtype in stored.get_variable_to_dtype_map().items()
              if "OBJECT_GRAPH" not in name and "save_counter" not in name}
    assert len(dtypes) == len(generator.weights) and set(dtypes.values()) == {tf.float16}

    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    assert np.abs(reference_outputs(tmp_path / "sm", x) - generator(x).numpy()).max() < 2e-3


# -- nothing lost: names, resumed configs, output folders -----------------------------------------

TINY_ARGS = ("--dataset", "nebula", "--size", "32", "--depth", "3", "--base-filters", "4", "--max-filters", "8",
             "--batch-size", "1", "--steps", "2", "--checkpoint-every", "2", "--log-every", "1", "--val-every", "2",
             "--sample-every", "2", "--val-pairs", "1", "--theme-images", "2")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "builder", *args], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=600)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../up", "/abs"])
def test_a_run_name_must_be_one_folder_name(name):
    with pytest.raises(ConfigError, match="field 'name'"):
        cfg.load(TrainConfig, None, {"name": name})


def test_train_or_export_with_an_empty_name_writes_nothing(tmp_path):
    """`--name "$UNSET"` would train into runs/ itself and export over models/ as a whole."""
    runs, models = tmp_path / "runs", tmp_path / "models"
    (models / "keep").mkdir(parents=True)
    (models / "keep" / "meta.json").write_text("{}")
    one_line_error(cli("train", "--name", "", *TINY_ARGS, "--runs-dir", str(runs), "--models-dir", str(models),
                       "--cache-dir", str(tmp_path / "cache")), "'name'", "one folder name")
    for name in ("", ".."):
        one_line_error(cli("export", "--name", name, "--runs-dir", str(runs), "--models-dir", str(models)),
                       "--name", "one folder name")
    assert not runs.exists() and not (tmp_path / "cache").exists()
    assert sorted(p.relative_to(models).as_posix() for p in models.rglob("*")) == ["keep", "keep/meta.json"]


def _saved_run(config: TrainConfig) -> Path:
    """The run folder's config.toml, as `train` leaves it (resolve_config reads nothing else)."""
    run = Path(config.runs_dir) / config.name
    run.mkdir(parents=True)
    (run / "config.toml").write_text(cfg.to_toml(config))
    return run


def test_resume_with_a_partial_config_file_changes_only_its_keys(tiny, tmp_path):
    _saved_run(tiny)
    part = tmp_path / "part.toml"
    part.write_text("lr = 1e-4\nsteps = 12\n")
    resumed = resolve_config({"name": "t", "runs_dir": tiny.runs_dir}, part, resume=True)
    assert resumed == dataclasses.replace(tiny, lr=1e-4, steps=12)
    # The command line still wins over the file.
    assert resolve_config({"name": "t", "runs_dir": tiny.runs_dir, "steps": 20}, part, resume=True).steps == 20
    for text, words in [("size = 64\n", "cannot change when resuming"), ('colour = "red"\n', "unknown field"),
                        ('lr = "fast"\n', "field 'lr'")]:
        part.write_text(text)
        with pytest.raises(ConfigError, match=words):
            resolve_config({"name": "t", "runs_dir": tiny.runs_dir}, part, resume=True)


def test_a_resume_that_fails_leaves_the_runs_config_and_a_short_steps_is_refused(tiny):
    run = train(tiny, export=False)
    saved = (run / "config.toml").read_text()
    # A changed network (train called without resolve_config's guard) fails at the restore.
    with pytest.raises(Exception):
        train(dataclasses.replace(tiny, base_filters=8, steps=9), resume=True, export=False)
    assert (run / "config.toml").read_text() == saved
    for steps in ("3", "6"):
        one_line_error(cli("train", "--resume", "--name", "t", "--runs-dir", tiny.runs_dir, "--steps", steps,
                           "--no-export"), "step 6", "--steps")
    assert (run / "config.toml").read_text() == saved
    assert sorted(p.name for p in (run / "ckpt").glob("ckpt-*.index")) == ["ckpt-3.index", "ckpt-6.index"]


@pytest.mark.parametrize("option", ["--models-dir", "--runs-dir", "--cache-dir"])
def test_an_output_folder_that_cannot_be_written_is_refused_before_the_first_step(tmp_path, option):
    folders = {"--runs-dir": tmp_path / "runs", "--models-dir": tmp_path / "models", "--cache-dir": tmp_path / "cache"}
    folders[option] = Path("/proc/x")
    args = [a for o, f in folders.items() for a in (o, str(f))]
    one_line_error(cli("train", "--name", "t", *TINY_ARGS, *args), "/proc/x", option)
    assert not any(f.exists() for f in folders.values() if f != Path("/proc/x"))


@pytest.mark.parametrize("lr", ["nan", "inf", "0", "-1e-4"])
def test_a_learning_rate_that_is_not_finite_and_positive_is_refused(tmp_path, lr):
    one_line_error(cli("train", "--name", "t", *TINY_ARGS, f"--lr={lr}", "--runs-dir", str(tmp_path / "runs"),
                       "--cache-dir", str(tmp_path / "cache"), "--no-export"), "field 'lr'")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("ema_decay", [0.0, 0.9], ids=["weights", "moving-average"])
def test_a_checkpoint_restores_exactly_the_generator_the_run_exported(tiny, ema_decay):
    """export --step / evaluate --run rebuild the generator from a checkpoint alone (no
    discriminator, no optimizer): every weight must come back, the moving average's included."""
    from builder.site.convert import load_saved_model
    from builder.training.runs import Run, load_generator

    config = dataclasses.replace(tiny, ema_decay=ema_decay, augment="translation,cutout,color", r1_gamma=0.1)
    run_dir = train(config)
    _, generator, step = load_generator(Run(run_dir), None)
    assert step == config.steps
    x = np.random.default_rng(0).uniform(-1, 1, (2, config.size, config.size, 1)).astype(np.float32)
    exported = load_saved_model(Path(config.models_dir) / config.name / "saved_model")(x)
    np.testing.assert_allclose(generator(x, training=False).numpy(), exported, atol=2e-3)  # float16 storage


def test_two_trainings_of_one_run_are_refused(tiny):
    """The second one stops with one line naming the run; the first one's files are left alone."""
    import time

    args = ("train", "--name", tiny.name, "--dataset", "nebula", "--size", "32", "--depth", "3", "--base-filters",
            "4", "--max-filters", "8", "--batch-size", "2", "--theme-images", "6", "--val-pairs", "2",
            "--runs-dir", tiny.runs_dir, "--cache-dir", tiny.cache_dir, "--no-export")
    first = subprocess.Popen([sys.executable, "-m", "builder", *args, "--steps", "100000"], cwd=Path(__file__).parent.parent,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = Path(tiny.runs_dir) / tiny.name / ".lock"
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert time.monotonic() < deadline and first.poll() is None, "the first training never started"
            time.sleep(0.2)
        second = cli(*args, "--steps", "10")
        # It stops after the dataset's (cleared) progress bar: the error is its last line, and its only one.
        lines = [line for line in second.stderr.replace("\r", "\n").splitlines() if line.strip()]
        assert second.returncode == 2 and lines[-1].startswith("error: "), second.stderr[-2000:]
        assert "another training of this run" in lines[-1] and str(first.pid) in lines[-1]
        assert sum(line.startswith("error: ") for line in lines) == 1
        assert first.poll() is None  # the first one goes on
    finally:
        first.terminate()
        first.wait(60)


@pytest.mark.parametrize("option, value, words", [("--depth", "0", "at least 1"), ("--min-images", "1", "held out")])
def test_values_a_run_cannot_use_are_refused_with_the_reason(tmp_path, option, value, words):
    one_line_error(cli("train", "--name", "t", *TINY_ARGS, option, value, "--runs-dir", str(tmp_path / "runs")),
                   option.lstrip("-").replace("-", "_"), words)
    assert not (tmp_path / "runs").exists()
