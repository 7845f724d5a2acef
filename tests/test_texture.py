"""The sliced Wasserstein texture loss (--texture-weight): it is the scorecard's pyramid, it sees
softness and not position, and a painting descending it grows the theme's fine detail."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from builder import config as cfg
from builder.errors import ConfigError
from builder.tfenv import tensorflow
from builder.training import texture
from builder.training.evaluate import metrics
from builder.training.evaluate.inputs import skimage_photo
from builder.training.trainer import Trainer, choose_strategy

tf = tensorflow()


def pictures(n: int = 2, size: int = 128, at: int = 100) -> np.ndarray:
    """Real photographs' crops (scikit-image's) from (at, at), (n, size, size, 3) in [-1, 1]."""
    crops = [skimage_photo(name)[at:at + size, at:at + size] for name in ("astronaut.png", "coffee.png")[:n]]
    return np.stack(crops).astype(np.float32) / 127.5 - 1.0


def loss(a, b, **kw) -> float:
    return float(texture.sliced_wasserstein(tf, tf.constant(a), tf.constant(b), seed=3, **kw))


def test_its_pyramid_is_the_scorecards():
    images = pictures()
    ours = texture.laplacian_pyramid(tf, tf.constant(images))
    theirs = metrics.laplacian_pyramid(images, len(metrics.pyramid_sizes(128)))
    assert [level.shape for level in ours] == [level.shape for level in theirs]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b, atol=1e-4)


def test_it_is_zero_on_the_picture_itself_and_sees_a_blur():
    images = pictures()
    blurred = gaussian_filter(images, sigma=(0, 1, 1, 0)).astype(np.float32)
    assert loss(images, images) == pytest.approx(0.0, abs=1e-9)
    assert loss(blurred, images) > 0.05


def test_it_asks_for_no_place():
    """The same scenes framed 17 px further on (their detail elsewhere in the picture) are nearly the
    same texture; the same pictures blurred are not."""
    images, moved = pictures(), pictures(at=117)
    blurred = gaussian_filter(images, sigma=(0, 1, 1, 0)).astype(np.float32)
    assert loss(moved, images) < 0.5 * loss(blurred, images)


def test_pooled_it_ignores_which_painting_goes_with_which_picture():
    """Paired, the other picture's texture is a different one; pooled over the batch, the same."""
    images = pictures()
    swapped = images[::-1].copy()
    assert loss(swapped, images, pooled=True) < 0.25 * loss(swapped, images)


def test_a_painting_descending_it_grows_the_pictures_fine_detail():
    images = pictures(1)
    painting = tf.Variable(gaussian_filter(images, sigma=(0, 1.5, 1.5, 0)).astype(np.float32))
    target = tf.constant(images)

    def finest_spread(x) -> float:
        return float(np.std(metrics.laplacian_pyramid(np.asarray(x), 2)[0]))

    before = finest_spread(painting.numpy())
    optimizer = tf.keras.optimizers.Adam(0.01)
    for step in range(30):
        with tf.GradientTape() as tape:
            value = texture.sliced_wasserstein(tf, painting, target, seed=step)
        optimizer.apply_gradients([(tape.gradient(value, painting), painting)])
    after, wanted = finest_spread(painting.numpy()), finest_spread(images)
    assert before < 0.6 * wanted and after > before + 0.5 * (wanted - before)


# The texture and the stroke losses (test_strokes.py) are both generator terms on its paintings.
LOSSES = [("texture_weight", "g_texture"), ("stroke_weight", "g_stroke")]


@pytest.mark.parametrize("field, logged", LOSSES)
def test_the_step_logs_it_only_when_it_is_on(field, logged):
    small = dict(size=32, depth=3, base_filters=4, max_filters=8, batch_size=2)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    y = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    on = Trainer(cfg.TrainConfig(**small, **{field: 10.0}), choose_strategy()).train_step((x, y))
    off = Trainer(cfg.TrainConfig(**small), choose_strategy()).train_step((x, y))
    assert on[logged] > 0 and logged not in off


@pytest.mark.parametrize("field", [field for field, _ in LOSSES])
@pytest.mark.parametrize("fields", [{"weight": -1.0}, {"weight": 1.0, "size": 16, "depth": 2, "downscale": 8}])
def test_values_it_cannot_use_are_refused(field, fields):
    fields = {(field if k == "weight" else k): v for k, v in fields.items()}
    with pytest.raises(ConfigError, match=f"field '{field}'") as raised:
        cfg.from_mapping(cfg.TrainConfig, fields, "command line")
    assert "\n" not in str(raised.value)


def test_help_lists_it():
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run([sys.executable, "-m", "builder", "train", "--help"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert "--texture-weight" in done.stdout
