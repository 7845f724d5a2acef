"""The pooled L1 loss (--l1-pool): the scene's layout held, the detail inside each cell left free."""

import numpy as np
import pytest

from builder import config as cfg
from builder.errors import ConfigError
from builder.tfenv import tensorflow
from builder.training.losses import pooled_l1
from builder.training.trainer import Trainer, choose_strategy

tf = tensorflow()


def test_it_holds_the_layout_and_lets_the_detail_inside_a_cell_go():
    rng = np.random.default_rng(0)
    target = rng.uniform(-0.5, 0.5, (2, 32, 32, 3)).astype(np.float32)
    yy, xx = np.mgrid[:32, :32]
    detail = target + 0.3 * np.where((yy + xx) % 2, 1.0, -1.0)[None, :, :, None]  # a crisp 1-px grain
    brighter = target.copy()
    brighter[:, :16] += 0.3  # the top half of the scene brighter: its layout, not its detail
    full = lambda a: float(pooled_l1(tf, tf.constant(target), tf.constant(a, tf.float32), 1))
    pooled = lambda a: float(pooled_l1(tf, tf.constant(target), tf.constant(a, tf.float32), 8))

    assert full(detail) == pytest.approx(np.abs(detail - target).mean(), abs=1e-6)  # pool 1: pix2pix's L1
    assert full(detail) == pytest.approx(0.3, abs=1e-5) and pooled(detail) < 1e-6
    assert pooled(brighter) == pytest.approx(full(brighter), abs=1e-5) == pytest.approx(0.15, abs=1e-5)


def test_the_trainer_scores_its_outputs_with_the_pooled_loss():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    y = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    config = cfg.TrainConfig(size=32, depth=3, base_filters=4, max_filters=8, batch_size=2, noise="none", l1_pool=8)
    trainer = Trainer(config, choose_strategy())
    fake = trainer.generator(x, training=True)  # no noise, instance norm: the step's own outputs
    logged = trainer.train_step((x, y))["g_l1"]
    assert logged == pytest.approx(float(pooled_l1(tf, y, fake, 8)), rel=1e-4)
    assert logged < 0.5 * float(pooled_l1(tf, y, fake, 1)), "uniform noise targets: pooling averages most of it away"


@pytest.mark.parametrize("pool", [0, 3])
def test_a_pool_that_does_not_divide_the_picture_is_refused(pool):
    with pytest.raises(ConfigError, match="field 'l1_pool'") as raised:
        cfg.from_mapping(cfg.TrainConfig, {"l1_pool": pool}, "command line")
    assert "factor of size 256" in str(raised.value) and "\n" not in str(raised.value)
