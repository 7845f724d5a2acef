"""The output's colour grade (--grade rooms, grade.py): a shift of the picture's mean colour, fitted
on procedural rooms, in use only; an exported model takes it (or leaves it) without its run, and
keeps it when its graph is saved again. That tf.js computes it as the SavedModel does is
tests/test_lean_graph.py's ("graded" layout)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from builder.site.build import read_meta
from builder.site.convert import load_saved_model
from builder.tfenv import tensorflow
from builder.training.export import load_exported_generator, resave_model
from builder.training.grade import ColourShift, _room_inputs, fit_offset, shifted, theme_mean
from builder.training.tiny import tiny_model
from builder.training.transform import TransformParams
from refusals import one_line_error

tensorflow()
REPO = Path(__file__).resolve().parent.parent


def builder_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "builder", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=600)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A tiny exported model (its output a strong tint of the soft input), no grade; its config's
    cache_dir in the module's own folder."""
    root = tmp_path_factory.mktemp("models")
    path = tiny_model(root, name="tint", size=32, tint=(0.6, 0.2, -0.4))
    config = (path / "config.toml").read_text()
    cache = root.parent / "cache"
    (path / "config.toml").write_text(config.replace('cache_dir = ".cache/datasets"', f'cache_dir = "{cache}"'))
    return path


def test_in_use_it_shifts_and_clips_and_in_training_nothing():
    x = np.full((1, 4, 4, 3), 0.8, np.float32)
    got = ColourShift((0.5, -0.25, 0.0))(x, training=False).numpy()
    np.testing.assert_allclose(got[0, 0, 0], [1.0, 0.55, 0.8], atol=1e-6)
    np.testing.assert_array_equal(ColourShift((0.5, -0.25, 0.0))(x, training=True).numpy(), x)


def test_the_fitted_offset_is_the_generators_bias_on_the_rooms(model):
    """A bias planted on the generator's output comes back, negated, in the fitted offset; and the
    fitted offset brings the generator's mean colour on the rooms to the theme's."""
    _, generator = load_exported_generator(model)
    params = TransformParams.from_meta(read_meta(model))
    cache = model.parent.parent / "cache"
    offset = fit_offset(generator, "nebula", params, cache)
    planted = np.asarray((0.1, -0.08, 0.05), np.float32)
    biased = fit_offset(shifted(generator, planted), "nebula", params, cache)
    np.testing.assert_allclose(biased, offset - planted, atol=0.01)  # not exact: the shift is clipped to [-1, 1]

    graded = shifted(generator, offset)(_room_inputs(params), training=False).numpy().mean(axis=(0, 1, 2))
    np.testing.assert_allclose(graded, theme_mean("nebula", params, cache), atol=0.02)
    assert np.abs(offset).max() > 0.05  # the tint is a bias to take out, not already the theme's colour


def test_an_exported_model_is_graded_without_its_run_and_keeps_it_when_saved_again(model, tmp_path):
    x = _room_inputs(TransformParams.from_meta(read_meta(model)))[:4]
    _, bare = load_exported_generator(model)
    plain = bare(x, training=False).numpy()

    done = builder_cli("export", "--model", str(model), "--grade", "rooms")
    assert done.returncode == 0, done.stderr[-2000:]
    meta = read_meta(model)
    offset = np.asarray(meta["architecture"]["colour_offset"], np.float32)
    assert meta["architecture"]["grade"] == "rooms" and offset.shape == (3,)
    assert 'grade = "rooms"' in (model / "config.toml").read_text()
    expected = np.clip(plain + offset, -1, 1)
    assert np.abs(load_saved_model(model / "saved_model")(x) - expected).max() < 2e-3  # float16 weights

    resave_model(model)  # the graph written again from the weights: the grade comes along, as fitted
    assert np.abs(load_saved_model(model / "saved_model")(x) - expected).max() < 2e-3

    done = builder_cli("export", "--model", str(model), "--grade", "none")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "colour_offset" not in read_meta(model)["architecture"]
    assert np.abs(load_saved_model(model / "saved_model")(x) - plain).max() < 2e-3


@pytest.mark.parametrize("args, words", [
    (["--model", "{tmp}", "--grade", "rooms"], ["not an exported model", "models/<name>"]),
    (["--model", "{model}"], ["--model goes with --grade"]),
    (["--model", "{model}", "--grade", "rooms", "--step", "3"], ["--model goes with --grade"]),
    (["--grade", "rooms"], ["pass --name NAME (a run) or --model"]),
])
def test_a_model_folder_that_cannot_be_graded_is_refused_in_one_line(model, tmp_path, args, words):
    before = {p: p.read_bytes() for p in model.rglob("*") if p.is_file()}
    done = builder_cli("export", *(a.format(tmp=tmp_path, model=model) for a in args))
    one_line_error(done, *words)
    assert before == {p: p.read_bytes() for p in model.rglob("*") if p.is_file()}  # nothing touched


def test_a_run_trained_with_the_grade_exports_it_fitted_to_its_weights(tmp_path):
    from builder.config import TrainConfig
    from builder.training.train import train

    config = TrainConfig(name="g", dataset="nebula", size=32, depth=3, base_filters=4, max_filters=8, batch_size=2,
                         steps=2, checkpoint_every=1, sample_every=2, log_every=1, val_every=2, val_pairs=2,
                         theme_images=6, grade="rooms", runs_dir=str(tmp_path / "runs"),
                         models_dir=str(tmp_path / "models"), cache_dir=str(tmp_path / "cache"))
    train(config)
    model = tmp_path / "models" / "g"
    offset = np.asarray(read_meta(model)["architecture"]["colour_offset"], np.float32)
    _, bare = load_exported_generator(model)  # the generator alone: the grade is not a weight
    params = TransformParams.from_meta(read_meta(model))
    fitted = fit_offset(bare, "nebula", params, tmp_path / "cache")
    np.testing.assert_allclose(offset, fitted, atol=2e-3)  # fitted to the exported weights (float16)
    x = _room_inputs(params)[:2]
    expected = np.clip(bare(x, training=False).numpy() + offset, -1, 1)
    assert np.abs(load_saved_model(model / "saved_model")(x) - expected).max() < 2e-3
