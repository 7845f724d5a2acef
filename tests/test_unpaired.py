"""The unpaired theme loss (--unpaired-weight): inputs with no target, judged by an unconditional PatchGAN."""

import dataclasses
import json

import numpy as np
import pytest

from builder import config as cfg
from builder.errors import ConfigError
from builder.tfenv import tensorflow
from builder.training.data import load_theme, unpaired_images
from builder.training.model import build_discriminator
from builder.training.runs import resolve_config
from builder.training.themes import THEMES
from builder.training.train import train
from builder.training.trainer import Trainer, choose_strategy

tf = tensorflow()


def small(**fields) -> cfg.TrainConfig:
    return cfg.TrainConfig(**{**dict(size=32, depth=3, base_filters=4, max_filters=8, batch_size=2,
                                     unpaired_weight=1.0), **fields})


def batch(seed: int):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32),
            rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32),
            rng.uniform(-1, 1, (1, 32, 32, 1)).astype(np.float32))


def after_one_step(config, x, y, unpaired_x):
    trainer = Trainer(config, choose_strategy())
    losses = trainer.train_step((x, y, unpaired_x))
    return trainer, losses


def test_inputs_without_a_target_move_the_generator_and_only_the_theme_judge_sees_them():
    x, y, unpaired_x = batch(0)
    _, _, other_x = batch(1)
    a, losses = after_one_step(small(), x, y, unpaired_x)
    b, _ = after_one_step(small(), x, y, other_x)
    again, _ = after_one_step(small(), x, y, unpaired_x)
    assert losses["g_unpaired"] > 0 and losses["d_unpaired"] > 0
    assert a.theme_judge.inputs[0].shape[1:] == (32, 32, 3), "it judges the picture alone"

    def close(p, q):
        return all(np.allclose(u.numpy(), v.numpy(), atol=1e-6) for u, v in zip(p, q))

    assert close(a.generator.weights, again.generator.weights)  # the same step from the same start
    assert not close(a.generator.weights, b.generator.weights), "the target-less inputs must teach the generator"
    assert not close(a.theme_judge.weights, b.theme_judge.weights)
    assert close(a.d_vars, b.d_vars), "the paired discriminators never see them"


def test_off_it_builds_nothing_and_the_step_is_the_paired_one(tmp_path):
    x, y, _ = batch(0)
    trainer = Trainer(small(unpaired_weight=0.0), choose_strategy())
    assert trainer.theme_judge is None
    assert set(trainer.train_step((x, y))) == {"g_gan", "g_l1", "d", "penalty"}
    trainer.checkpoint.write(str(tmp_path / "ckpt"))
    assert not any("theme_discriminator" in name or name.startswith("u_opt")
                   for name, _ in tf.train.list_variables(str(tmp_path / "ckpt")))


def test_the_unpaired_pictures_are_the_other_themes(tmp_path):
    config = small(dataset="fire", theme_images=3, cache_dir=str(tmp_path / "cache"))
    own = {theme: load_theme(theme, size=32, cache_dir=tmp_path / "cache", count=1, val_count=0).train[0]
           for theme in THEMES}
    images = unpaired_images(config)
    assert len(images) == 3
    for image, theme in zip(images, ("nebula", "ocean", "clouds")):
        assert np.array_equal(image, own[theme]), theme
    # A folder of photographs is told apart from all four themes.
    folder = unpaired_images(dataclasses.replace(config, dataset=str(tmp_path), theme_images=4))
    assert all(any(np.array_equal(image, o) for o in own.values()) for image in folder) and len(folder) == 4


def test_a_run_trains_with_it_checkpoints_its_judge_and_resumes(tmp_path):
    config = small(name="u", dataset="nebula", steps=4, checkpoint_every=2, sample_every=2, log_every=1,
                   val_every=2, val_pairs=2, theme_images=3, runs_dir=str(tmp_path / "runs"),
                   models_dir=str(tmp_path / "models"), cache_dir=str(tmp_path / "cache"))
    run = train(config, export=False)
    judge = build_discriminator(size=32, base_filters=4, conditional=False)  # freshly built
    fresh = [w.numpy() for w in judge.weights]
    tf.train.Checkpoint(theme_discriminator=judge).read(str(run / "ckpt" / "ckpt-4")).expect_partial() \
        .assert_existing_objects_matched()
    assert any(not np.array_equal(a, w.numpy()) for a, w in zip(fresh, judge.weights)), "it was not saved"
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite([r["g_unpaired"], r["d_unpaired"]]).all() for r in records)

    more = resolve_config({"name": "u", "runs_dir": config.runs_dir, "steps": 6}, None, resume=True)
    assert more.unpaired_weight == 1.0
    train(more, resume=True, export=False)
    assert [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()] == list(range(1, 7))
    with pytest.raises(ConfigError, match="--unpaired-weight cannot change when resuming"):
        resolve_config({"name": "u", "runs_dir": config.runs_dir, "steps": 8, "unpaired_weight": 0.0}, None,
                       resume=True)


def test_the_follow_loss_is_the_scorecards_correlation_and_moves_the_generator_toward_it():
    from builder.training.evaluate.metrics import correlation
    from builder.training.losses import follows_input

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 32, 32, 1)).astype(np.float32)
    toned = np.repeat(np.tanh(3 * x) * 0.4 - 0.5, 3, axis=-1)  # the scene's tones re-mapped, order kept
    noise = rng.uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    for painting in (toned, noise, -toned):
        loss = float(follows_input(tf, tf.constant(x), tf.constant(painting, tf.float32)))
        assert loss == pytest.approx(1 - correlation(x, painting).mean(), abs=1e-4)
    assert float(follows_input(tf, tf.constant(x), tf.constant(toned, tf.float32))) < 0.1

    # A few steps on follow alone (no paired or theme loss to speak of) raise the correlation.
    x, y, unpaired_x = batch(0)
    trainer = Trainer(small(unpaired_follow=50.0, l1_weight=0.0, unpaired_weight=1e-6, lr=1e-3), choose_strategy())
    before = correlation(unpaired_x, trainer.generator(unpaired_x, training=False).numpy())[0]
    assert "g_follow" in trainer.train_step((x, y, unpaired_x))
    for _ in range(9):
        trainer.train_step((x, y, unpaired_x))
    assert correlation(unpaired_x, trainer.generator(unpaired_x, training=False).numpy())[0] > before + 0.05


@pytest.mark.parametrize("fields, field, words", [
    ({"unpaired_weight": -1.0}, "unpaired_weight", "0 (off) or positive"),
    ({"unpaired_weight": 1.0, "loss": "wgan-gp"}, "unpaired_weight", "gan or hinge"),
    ({"unpaired_follow": 1.0}, "unpaired_follow", "needs unpaired_weight above 0"),
    ({"unpaired_colour": 1.0}, "unpaired_colour", "needs unpaired_weight above 0"),
    ({"unpaired_colour": -1.0, "unpaired_weight": 1.0}, "unpaired_colour", "0 (off) or positive")])
def test_weights_a_run_cannot_use_are_refused(fields, field, words):
    with pytest.raises(ConfigError, match=f"field '{field}'") as raised:
        cfg.from_mapping(cfg.TrainConfig, fields, "command line")
    assert words in str(raised.value) and "\n" not in str(raised.value)


def test_the_colour_loss_measures_the_pictures_colour_as_a_whole_and_moves_the_paintings_toward_the_theme():
    from builder.training.losses import coarse_colour

    rng = np.random.default_rng(1)
    theme = rng.uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
    pooled = theme.reshape(4, 16, 2, 16, 2, 3).mean((2, 4)).reshape(-1, 3)
    bluer = theme + np.array([-0.2, 0.0, 0.3], np.float32)  # the same pictures, colour-cast
    assert float(coarse_colour(tf, tf.constant(theme), tf.constant(theme))) == pytest.approx(0, abs=1e-3)
    assert float(coarse_colour(tf, tf.constant(bluer), tf.constant(theme))) == pytest.approx(0.5, abs=1e-3)
    flat = np.repeat(pooled.mean(0)[None, None, None], 32, 1).repeat(32, 2)  # the right mean, no light and shade
    assert float(coarse_colour(tf, tf.constant(flat), tf.constant(theme))) == pytest.approx(pooled.std(0).sum(), rel=1e-2)

    # A few steps on the colour loss alone move the unpaired paintings' mean colour to the theme's.
    x, _, unpaired_x = batch(0)
    y = np.broadcast_to(np.array([0.6, -0.2, -0.6], np.float32), (2, 32, 32, 3)).copy()  # an orange theme
    trainer = Trainer(small(unpaired_colour=10.0, l1_weight=0.0, unpaired_weight=1e-6, lr=1e-3), choose_strategy())
    def gap():
        return np.abs(trainer.generator(unpaired_x, training=False).numpy().mean((0, 1, 2)) - y[0, 0, 0]).sum()
    before = gap()
    assert "g_colour" in trainer.train_step((x, y, unpaired_x))
    for _ in range(39):
        trainer.train_step((x, y, unpaired_x))
    assert gap() < 0.4 * before, f"colour gap {before:.3f} -> {gap():.3f}"
