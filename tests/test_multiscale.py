"""pix2pixHD's multi-scale discriminator and feature matching (--disc-scales, --feature-matching)."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder import config as cfg
from builder.errors import ConfigError
from builder.tfenv import tensorflow
from builder.training import losses
from builder.training.model import build_discriminator
from builder.training.runs import resolve_config
from builder.training.train import train
from builder.training.trainer import Trainer, choose_strategy

tf = tensorflow()
ROOT = Path(__file__).resolve().parent.parent


def small(**fields) -> cfg.TrainConfig:
    return cfg.TrainConfig(**{**dict(size=32, depth=3, base_filters=4, max_filters=8, batch_size=2), **fields})


def pairs(size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, (2, size, size, 1)).astype(np.float32),
            rng.uniform(-1, 1, (2, size, size, 3)).astype(np.float32))


def pooled(a: np.ndarray) -> np.ndarray:
    """The reference: output (i, j) is the mean of the input's rows 2i..2i+2 and columns 2j..2j+2
    that lie inside the frame (3x3, stride 2, padding not counted; TF's "same" alignment)."""
    s = a.shape[1]
    out = np.zeros((a.shape[0], s // 2, s // 2, a.shape[3]), a.dtype)
    for i in range(s // 2):
        for j in range(s // 2):
            out[:, i, j] = a[:, 2 * i:min(2 * i + 3, s), 2 * j:min(2 * j + 3, s)].mean(axis=(1, 2))
    return out


def test_the_kth_discriminator_judges_the_pair_pooled_by_2_to_the_k():
    trainer = Trainer(small(size=64, disc_scales=3), choose_strategy())
    assert [d.inputs[1].shape[1:] for d in trainer.discriminators] == [(64, 64, 3), (32, 32, 3), (16, 16, 3)]
    x, y = pairs(64)
    judged = trainer.judge(x, y)
    seen_x, seen_y = x, y
    for k, (judge, outputs) in enumerate(zip(trainer.judges, judged)):
        if k:
            seen_x, seen_y = pooled(seen_x), pooled(seen_y)
        assert seen_y.shape[1] == 64 // 2 ** k
        assert outputs[-1].shape == (2, 64 // 2 ** k // 8, 64 // 2 ** k // 8, 1)  # the patch grid
        for got, want in zip(outputs, judge([seen_x, seen_y])):
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)


def test_feature_matching_is_zero_on_equal_pairs_and_moves_only_the_generator():
    trainer = Trainer(small(disc_scales=2, feature_matching=10.0), choose_strategy())
    x, y = (tf.constant(a) for a in pairs(32))
    real = trainer.judge(x, y)
    assert float(losses.feature_matching(tf, real, trainer.judge(x, tf.identity(y)))) == 0.0
    y_var = tf.Variable(y)
    with tf.GradientTape(persistent=True) as tape:
        fake = trainer.generator(x, training=True)
        real, judged_fake = trainer.judge(x, y_var), trainer.judge(x, fake)
        matched = losses.feature_matching(tf, real, judged_fake)
    assert float(matched) > 0
    assert len(real) == 2 and all(len(outputs) == 5 for outputs in real)  # 4 blocks, then the logits
    assert tape.gradient(matched, y_var) is None, "the real side must be a constant"
    assert all(tape.gradient(matched, features) is None for outputs in real for features in outputs)
    g_grads = tape.gradient(matched, trainer.generator.trainable_variables)
    assert all(g is not None for g in g_grads) and sum(float(tf.reduce_sum(tf.abs(g))) for g in g_grads) > 0


def test_feature_matching_leaves_the_discriminators_step_alone():
    """One step from the same start: with or without feature matching the discriminators move alike
    (it is the generator's loss alone); the generator does not."""
    batch = pairs(32, seed=1)
    after = {}
    for weight in (0.0, 10.0):
        trainer = Trainer(small(disc_scales=2, feature_matching=weight), choose_strategy())
        trainer.train_step(batch)
        after[weight] = ([v.numpy() for v in trainer.d_vars], [v.numpy() for v in trainer.generator.weights])
    for a, b in zip(after[0.0][0], after[10.0][0]):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert any(not np.allclose(a, b, atol=1e-6) for a, b in zip(after[0.0][1], after[10.0][1]))


def _discriminator_before_multiscale(*, size: int, base_filters: int):
    """build_discriminator as it was when --disc-scales 1 checkpoints were written (frozen here)."""
    import keras
    from keras import layers

    from builder.training.model import InstanceNorm

    init = keras.initializers.RandomNormal(0.0, 0.02)
    gray, image = keras.Input((size, size, 1)), keras.Input((size, size, 3))
    x = layers.Concatenate()([gray, image])
    for i, (f, stride) in enumerate([(base_filters, 2), (base_filters * 2, 2), (base_filters * 4, 2),
                                     (base_filters * 8, 1)]):
        x = layers.Conv2D(f, 4, strides=stride, padding="same", kernel_initializer=init, use_bias=i == 0)(x)
        if i > 0:
            x = InstanceNorm()(x)
        x = layers.LeakyReLU(0.2)(x)
    return keras.Model([gray, image], layers.Conv2D(1, 4, padding="same", kernel_initializer=init)(x))


def test_the_default_discriminator_checkpoints_as_before(tmp_path):
    """--disc-scales 1 writes the variables (names, shapes, optimizer slots) it wrote before, and
    restores such a checkpoint whole, to the same network (a run without the moving average, as
    every run was then: the average is the generator's side, not at issue here)."""
    import keras

    trainer = Trainer(small(ema_decay=0.0), choose_strategy())
    old = _discriminator_before_multiscale(size=32, base_filters=4)  # max(4, round(base_filters 4 * disc_ratio 0.5))
    old_opt = keras.optimizers.Adam()
    old_opt.build(old.trainable_variables)
    # A run's checkpoint as written before; its generator side is the trainer's own (not at issue here).
    tf.train.Checkpoint(generator=trainer.generator, g_opt=trainer.g_opt, step=trainer.step, discriminator=old,
                        d_opt=old_opt).write(str(tmp_path / "old"))
    trainer.checkpoint.write(str(tmp_path / "new"))

    def keys(prefix):  # the networks' variables are listed under the optimizers' paths (their first path)
        return {(name, tuple(shape)) for name, shape in tf.train.list_variables(str(tmp_path / prefix))}

    assert keys("new") == keys("old")
    trainer.checkpoint.read(str(tmp_path / "old")).assert_consumed()  # what train --resume restores, all of it
    alone = _discriminator_before_multiscale(size=32, base_filters=4)  # and the network by itself, by its layers
    tf.train.Checkpoint(discriminator=trainer.discriminators[0]).write(str(tmp_path / "alone"))
    tf.train.Checkpoint(discriminator=alone).read(str(tmp_path / "alone")).assert_consumed()
    x, y = pairs(32)
    np.testing.assert_allclose(trainer.judge(x, y)[0][-1].numpy(), old([x, y]).numpy(), atol=1e-6)
    np.testing.assert_allclose(alone([x, y]).numpy(), old([x, y]).numpy(), atol=1e-6)


@pytest.mark.parametrize("fields, name", [({"disc_scales": 0}, "disc_scales"), ({"disc_scales": 5}, "disc_scales"),
                                          ({"size": 32, "depth": 3, "disc_scales": 3}, "disc_scales"),
                                          ({"feature_matching": -1.0}, "feature_matching"),
                                          ({"feature_matching": float("nan")}, "feature_matching")])
def test_scales_and_weights_a_run_cannot_use_are_refused(fields, name):
    with pytest.raises(ConfigError, match=f"field '{name}'") as raised:
        cfg.from_mapping(cfg.TrainConfig, fields, "command line")
    assert "\n" not in str(raised.value)


def test_help_lists_the_options():
    done = subprocess.run([sys.executable, "-m", "builder", "train", "--help"], capture_output=True, text=True,
                          cwd=ROOT)
    assert "--disc-scales" in done.stdout and "--feature-matching" in done.stdout


def photo_folder(folder: Path) -> Path:
    """Eight real photographs (scikit-image's), as files: a visitor's own small folder."""
    from PIL import Image

    from builder.training.evaluate.inputs import skimage_photo

    folder.mkdir()
    for name in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
                 "horse.png", "grass.png", "gravel.png"):
        Image.fromarray(skimage_photo(name)).save(folder / f"{name[:-4]}.jpg")
    return folder


def test_the_whole_recipe_trains_on_a_folder_of_photographs_checkpoints_resumes_and_keeps_its_scales(tmp_path):
    """Every part of the recipe switched on, on a small folder of real photographs (train your own)."""
    config = dataclasses.replace(
        small(), name="ms", dataset=str(photo_folder(tmp_path / "photos")), steps=4, checkpoint_every=2,
        sample_every=2, log_every=1, val_every=2, val_pairs=2, theme_images=4, runs_dir=str(tmp_path / "runs"),
        models_dir=str(tmp_path / "models"), cache_dir=str(tmp_path / "cache"), disc_scales=2, feature_matching=10.0,
        ema_decay=0.999, augment="translation,cutout,color", r1_gamma=0.1, theme_refresh=2, lr_decay=0.5,
        shift_consistency=10.0, unpaired_weight=1.0, unpaired_follow=1.0, unpaired_colour=10.0, texture_weight=10.0, stroke_weight=10.0,
        input_levels="theme", l1_pool=4, unpaired_inputs="both")
    run = train(config, export=False)
    coarse = build_discriminator(size=16, base_filters=4)  # the second scale's network, freshly built
    fresh = [w.numpy() for w in coarse.weights]
    tf.train.Checkpoint(discriminator_scale1=coarse).read(str(run / "ckpt" / "ckpt-4")).expect_partial() \
        .assert_existing_objects_matched()
    assert any(not np.array_equal(a, w.numpy()) for a, w in zip(fresh, coarse.weights)), "it was not saved"
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    logged = ("g_gan", "g_l1", "d", "penalty", "g_unpaired", "d_unpaired", "g_follow", "g_colour", "g_texture", "g_stroke")
    assert all(r["g_fm"] > 0 and r["g_shift"] > 0 and np.isfinite([r[k] for k in logged]).all() for r in records)
    toml = (run / "config.toml").read_text()
    assert "disc_scales = 2\n" in toml and "feature_matching = 10.0\n" in toml and "l1_pool = 4\n" in toml

    # A resume keeps the levels it trained with, even if the folder has changed since.
    levels = json.loads((run / "dataset.json").read_text())["levels"]
    for i in range(4):
        Image.new("RGB", (64, 64), (250, 250, 250)).save(Path(config.dataset) / f"white{i}.jpg")

    more = resolve_config({"name": "ms", "runs_dir": config.runs_dir, "steps": 6}, None, resume=True)
    assert (more.disc_scales, more.feature_matching) == (2, 10.0)
    train(more, resume=True)
    assert [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()] == list(range(1, 7))
    meta = json.loads((Path(config.models_dir) / "ms" / "meta.json").read_text())
    assert not any("disc" in key or "feature" in key for key in (*meta, *meta["architecture"]))
    # measured on the photographs (deviation 0 here: at 16 px the low-res image is one pixel)
    assert json.loads((run / "dataset.json").read_text())["levels"] == levels
    assert 0 < levels[0] < 1 and levels[1] >= 0 and [meta["transform"]["levels"][k] for k in ("mean", "sd")] == levels

    done = subprocess.run([sys.executable, "-m", "builder", "train", "--name", "ms", "--runs-dir", config.runs_dir,
                           "--resume", "--steps", "8", "--disc-scales", "1"], capture_output=True, text=True, cwd=ROOT)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert "--disc-scales cannot change when resuming" in lines[0]
