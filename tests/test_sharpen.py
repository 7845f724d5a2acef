"""The output's unsharp mask (--sharpen): a display filter in use, absent from training, that loads
onto any checkpoint. That tf.js computes it as the SavedModel does is tests/test_lean_graph.py's
("sharpened" layout)."""

import numpy as np
import pytest
from scipy.ndimage import convolve

from builder import config as cfg
from builder.errors import ConfigError
from builder.tfenv import tensorflow
from builder.training.layers import Sharpen
from builder.training.model import build_generator
from builder.training.trainer import Trainer, choose_strategy

tf = tensorflow()
import keras  # noqa: E402  (after TensorFlow, quietly)


def unsharp(x: np.ndarray, amount: float) -> np.ndarray:
    """The textbook unsharp mask, written apart from the layer: SciPy's convolution, its 'mirror'
    border (d c b | a b c d), which is TF's reflect."""
    blur = np.outer([1, 2, 1], [1, 2, 1]) / 16.0
    blurred = np.stack([[convolve(image[..., c], blur, mode="mirror") for c in range(image.shape[-1])]
                        for image in x]).transpose(0, 2, 3, 1)
    return np.clip(x + amount * (x - blurred), -1.0, 1.0)


def test_in_use_it_is_the_unsharp_mask_and_in_training_nothing():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 24, 24, 3)).astype(np.float32)
    for amount in (0.5, 1.5):
        got = Sharpen(amount)(x, training=False).numpy()
        assert np.abs(got - unsharp(x, amount)).max() < 1e-5
        assert got.std() > x.std() and got.min() >= -1 and got.max() <= 1
    np.testing.assert_array_equal(Sharpen(1.0)(x, training=True).numpy(), x)


def test_a_flat_picture_stays_as_it_was():
    """The kernel sums to 1: no brightness moves, no rim at the frame's edges (reflect padding)."""
    flat = np.full((1, 16, 16, 3), 0.3, np.float32)
    assert np.abs(Sharpen(2.0)(flat).numpy() - flat).max() < 1e-6


def test_a_checkpoint_written_without_it_loads_whole_and_is_sharpened(tmp_path):
    """The layer comes last and has no weights: a run's checkpoints (and --resume, and export
    --sharpen) take it on without a weight missing or left over."""
    keras.utils.set_random_seed(0)
    options = dict(size=32, base_filters=4, max_filters=8, depth=3, noise="none")
    plain = build_generator(**options)
    prefix = tf.train.Checkpoint(generator=plain).write(str(tmp_path / "plain"))
    sharpened = build_generator(**options, sharpen=1.0)
    tf.train.Checkpoint(generator=sharpened).read(prefix).assert_consumed()
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    expected = unsharp(plain(x, training=False).numpy(), 1.0)
    assert np.abs(sharpened(x, training=False).numpy() - expected).max() < 1e-5


def test_the_trainer_learns_from_the_unsharpened_picture():
    """Trained through the mask, the generator would learn to undo it: the step's L1 is the one of
    the generator's own output."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    y = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    config = cfg.TrainConfig(size=32, depth=3, base_filters=4, max_filters=8, batch_size=2, noise="none", sharpen=2.0)
    trainer = Trainer(config, choose_strategy())
    assert trainer.generator.layers[-1].name == "sharpen"
    own = trainer.generator(x, training=True).numpy()
    shown = trainer.generator(x, training=False).numpy()
    assert np.abs(shown - own).mean() > 0.01  # the mask is there in use
    logged = trainer.train_step((x, y))["g_l1"]
    assert logged == pytest.approx(float(np.abs(y - own).mean()), rel=1e-4)


@pytest.mark.parametrize("amount", [-0.5, 5.0])
def test_an_amount_out_of_range_is_refused(amount):
    with pytest.raises(ConfigError, match="field 'sharpen'") as raised:
        cfg.from_mapping(cfg.TrainConfig, {"sharpen": amount}, "command line")
    assert "up to 4" in str(raised.value) and "\n" not in str(raised.value)
