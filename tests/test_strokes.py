"""The stroke loss (--stroke-weight): it is the scorecard's stroke figure, and a painting descending
it stops leaning one way. On a free painting it does so as readily by adding strokes the other way
as by taking the hatching out: in training, the discriminators judge which of the two is the theme.
(That a step logs it, and the values it refuses: test_texture.py.)"""

import numpy as np

from builder.tfenv import tensorflow
from builder.training import strokes
from builder.training.evaluate import metrics
from builder.training.evaluate.inputs import skimage_photo

tf = tensorflow()


def photographs(size: int = 96) -> np.ndarray:
    """(3, size, size, 3) crops of real photographs (scikit-image's), in [-1, 1]."""
    crops = [skimage_photo(name)[60:60 + size, 80:80 + size] for name in ("astronaut.png", "coffee.png", "chelsea.png")]
    return np.stack(crops).astype(np.float32) / 127.5 - 1.0


def hatched(images: np.ndarray, period: float = 5.0, amount: float = 0.4) -> np.ndarray:
    """The pictures with fine strokes all along one diagonal laid over them."""
    y, x = np.mgrid[0:images.shape[1], 0:images.shape[2]]
    stripes = amount * np.sin(2 * np.pi * (x + y) / (period * np.sqrt(2)))
    return np.clip(images + stripes[None, :, :, None], -1, 1).astype(np.float32)


def test_its_lean_is_the_scorecards_stroke_direction():
    images = np.concatenate([photographs(), hatched(photographs()[:1])])
    wanted = np.mean([metrics.stroke_direction(image) for image in images])
    got = strokes.lean(tf, tf.constant(images)).numpy()
    np.testing.assert_allclose(got, [wanted.real, wanted.imag], atol=1e-5)


def test_it_is_small_for_the_theme_itself_and_large_for_hatching():
    theme = photographs()
    assert float(strokes.stroke_loss(tf, tf.constant(theme[::-1]), tf.constant(theme))) < 1e-10
    assert float(strokes.stroke_loss(tf, tf.constant(hatched(theme)), tf.constant(theme))) > 0.1


def test_a_painting_descending_it_stops_leaning_one_way():
    theme = photographs()
    painting = tf.Variable(hatched(theme))
    before = metrics.stroke_bias(painting.numpy(), theme)
    optimizer = tf.keras.optimizers.Adam(0.01)
    for _ in range(40):
        with tf.GradientTape() as tape:
            value = strokes.stroke_loss(tf, painting, tf.constant(theme))
        optimizer.apply_gradients([(tape.gradient(value, painting), painting)])
    after = metrics.stroke_bias(painting.numpy(), theme)
    assert before > 0.4 and after < 0.1, (before, after)
