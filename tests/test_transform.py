"""The input transform: statistics of what it makes, and that every random part varies per sample."""

import numpy as np
import pytest

from builder.training.pairs import pair_stream
from builder.training.photos import real_photos
from builder.tfenv import tensorflow
from builder.training.transform import (LEVEL_GAIN, TransformParams, area_matrix, bicubic_matrix, low_levels, make_pair,
                                         photo_input, relevel)

tf = tensorflow()
SIZE = 96


def high_freq_energy(x: np.ndarray) -> float:
    """Share of spectral energy above a quarter of the Nyquist frequency (mean removed; a Hann
    window keeps the image's wrap-around edges from counting as high frequencies)."""
    n = x.shape[0]
    x = (x - x.mean()) * np.outer(np.hanning(n), np.hanning(n))
    f = np.abs(np.fft.fftshift(np.fft.fft2(x))) ** 2
    yy, xx = np.mgrid[:n, :n] - n // 2
    high = np.hypot(yy, xx) > n / 8
    return float(f[high].sum() / f.sum())


@pytest.fixture(scope="module")
def photo():
    return real_photos(("astronaut",))["astronaut"]


def test_resampling_matrices_preserve_constants():
    for src, dst in [(256, 11), (96, 4), (64, 3)]:
        down = area_matrix(src, dst)
        assert down.shape == (dst, src) and np.allclose(down.sum(1), 1, atol=1e-5)
        assert (down >= 0).all()
        up = bicubic_matrix(dst, src)
        assert up.shape == (src, dst) and np.allclose(up.sum(1), 1, atol=1e-5)


def test_shapes_ranges_and_one_channel(photo):
    x, y = make_pair(photo, tf.constant([1, 2], tf.int64), TransformParams(size=SIZE))
    assert x.shape == (SIZE, SIZE, 1), "input must be ONE grayscale channel, not a desaturated three"
    assert y.shape == (SIZE, SIZE, 3)
    for t in (x, y):
        assert -1.0 <= float(tf.reduce_min(t)) and float(tf.reduce_max(t)) <= 1.0


def test_input_has_far_less_high_frequency_energy_than_target(photo):
    params = TransformParams(size=SIZE, downscale=24)
    for i in range(4):
        x, y = make_pair(photo, tf.constant([3, i], tf.int64), params)
        target_gray = (y.numpy() @ np.array([0.299, 0.587, 0.114], np.float32))
        assert high_freq_energy(x.numpy()[..., 0]) < 0.1 * high_freq_energy(target_gray)


def _input_mean_std(photo, params, seed):
    x, _ = make_pair(photo, tf.constant(seed, tf.int64), params)
    v = (x.numpy() + 1) / 2
    return v.mean(), v.std()


def test_brightness_and_contrast_stay_within_range(photo):
    """With crop and flip switched off, only brightness and contrast move the input's statistics."""
    still = TransformParams(size=SIZE, scale_min=1.0, scale_max=1.0, flip_horizontal=False,
                            brightness=0.0, contrast=0.0)
    base_mean, base_std = _input_mean_std(photo, still, [0, 0])
    varied = TransformParams(size=SIZE, scale_min=1.0, scale_max=1.0, flip_horizontal=False)
    means, ratios = [], []
    for i in range(40):
        # The same crop every time: a square image equal to the crop leaves no room to move.
        m, s = _input_mean_std(photo, varied, [5, i])
        means.append(m - base_mean)
        ratios.append(s / base_std)
    means, ratios = np.array(means), np.array(ratios)
    # Clipping to [0, 1] can only pull the shift inwards; the contrast factor stays in 1 +- 0.15.
    assert np.all(np.abs(means) <= 0.2 + 1e-3)
    assert means.max() > 0.08 and means.min() < -0.08, "brightness must act on [0,1] values"
    assert np.all(ratios <= 1.15 + 0.02) and np.all(ratios >= 0.80)
    assert ratios.max() > 1.05 and ratios.min() < 0.95, "contrast must vary per sample"


def test_crop_and_flip_differ_between_samples(photo):
    """A known remake drew its crop once at trace time: inside tf.data every sample must differ."""
    params = TransformParams(size=SIZE, brightness=0.0, contrast=0.0, flip_horizontal=True, flip_vertical=True)
    batches = iter(pair_stream([photo], params, seed=11, batch_size=8))
    _, targets = next(batches)
    targets = targets.numpy()
    distinct = {targets[i].tobytes() for i in range(len(targets))}
    assert len(distinct) == len(targets)
    # Flips: some targets must be the mirror image of an unflipped crop of the same photo;
    # measured by the left-right asymmetry sign of the (very asymmetric) astronaut photo.
    lr = np.sign([t[:, : SIZE // 2].mean() - t[:, SIZE // 2:].mean() for t in targets])
    ud = np.sign([t[: SIZE // 2].mean() - t[SIZE // 2:].mean() for t in targets])
    assert len(set(lr)) == 2 or len(set(ud)) == 2


def test_same_seed_same_pair_different_seed_differs(photo):
    params = TransformParams(size=SIZE)
    a = make_pair(photo, tf.constant([9, 9], tf.int64), params)
    b = make_pair(photo, tf.constant([9, 9], tf.int64), params)
    c = make_pair(photo, tf.constant([9, 10], tf.int64), params)
    assert np.array_equal(a[0].numpy(), b[0].numpy())
    assert not np.array_equal(a[0].numpy(), c[0].numpy())


def test_shifted_pairs_are_two_frames_of_a_pan(photo):
    """The two targets show one scene moved by SHIFT_PX; each input was made alone, so the soft
    inputs are not the same picture moved (the grid stays with the screen) but follow the scene
    far better than the screen; the pair shares its flips, brightness and contrast."""
    from builder.training.losses import shift_consistency
    from builder.training.transform import SHIFT_PX, make_shifted_pairs

    params = TransformParams(size=SIZE, downscale=8)  # the 24-px grid's proportions at 96 px
    image = tf.constant(photo)
    for i in range(4):
        x, y = (t.numpy() for t in make_shifted_pairs(image, tf.constant([5, i], tf.int64), params))
        assert x.shape == (2, SIZE, SIZE, 1) and y.shape == (2, SIZE, SIZE, 3)
        np.testing.assert_array_equal(y[0][:, SHIFT_PX:], y[1][:, :-SHIFT_PX])
        moved = np.abs(x[0][:, SHIFT_PX:] - x[1][:, :-SHIFT_PX]).mean()
        unmoved = np.abs(x[0] - x[1]).mean()
        assert 0 < moved < 0.5 * unmoved
        # The loss is 0 for outputs that move with the scene (the targets) and not for the inputs.
        assert float(shift_consistency(tf, tf.constant(y))) == 0.0
        assert float(shift_consistency(tf, tf.constant(np.repeat(x, 3, -1)))) > 0.0


def test_a_shifted_stream_pairs_neighbouring_samples(photo):
    from builder.training.transform import SHIFT_PX

    params = TransformParams(size=SIZE)
    x, y = next(iter(pair_stream([photo], params, seed=3, batch_size=4, shifted=True)))
    y = y.numpy()
    for k in (0, 2):
        np.testing.assert_array_equal(y[k][:, SHIFT_PX:], y[k + 1][:, :-SHIFT_PX])
    assert not np.array_equal(y[0], y[2])  # partners, not copies of one crop


def _low_of(soft: np.ndarray, params) -> np.ndarray:
    """The low-res image behind a soft input in [-1, 1]: its area downscale (the bicubic upscale's
    taps sum to one, so it keeps the low image's mean, and its deviation up to the kernel's blur)."""
    down = area_matrix(params.size, params.low_size)
    return down @ ((soft[..., 0] + 1) / 2) @ down.T


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera"])
def test_input_levels_bring_every_photograph_to_the_same_mean_and_deviation(name):
    """Dark rooms and bright skies reach the generator at the model's levels: a photograph's
    input is moved to them, where without levels it keeps its own."""
    image = real_photos((name,))[name]
    plain = TransformParams(size=SIZE)
    levelled = TransformParams(size=SIZE, levels=(0.7, 0.1))
    own_mean, own_sd = low_levels(image, plain)
    low = _low_of(photo_input(image, levelled), levelled)
    assert abs(low.mean() - 0.7) < 0.02, f"{name}: mean {low.mean():.3f}, not the levels' 0.7"
    gain = np.clip(0.1 / own_sd, *LEVEL_GAIN)
    ratio = low.std() / _low_of(photo_input(image, plain), plain).std()
    assert abs(ratio - gain) < 0.1 * gain, f"{name}: deviation scaled by {ratio:.3f}, not {gain:.3f}"
    assert abs(_low_of(photo_input(image, plain), plain).mean() - own_mean) < 0.02


def test_input_levels_gain_stays_in_its_range():
    """A nearly flat picture (a wall) is not stretched into noise, nor a busy one flattened."""
    levels = (0.5, 0.1)
    flat = 0.3 + 0.001 * np.random.default_rng(0).standard_normal((11, 11)).astype(np.float32)
    busy = np.tile([0.0, 1.0], 61)[:121].reshape(11, 11).astype(np.float32)
    for low, gain in ((flat, LEVEL_GAIN[1]), (busy, LEVEL_GAIN[0])):
        moved = relevel(tf.constant(low), levels, LEVEL_GAIN).numpy()
        assert abs(moved.mean() - 0.5) < 1e-5
        assert moved.std() == pytest.approx(low.std() * gain, rel=1e-3)


def test_training_inputs_are_levelled_like_photographs(photo):
    """make_pair levels before its brightness and contrast jitter: with the jitter off, the
    training input's low-res mean is the levels' whatever the crop."""
    params = TransformParams(size=SIZE, brightness=0.0, contrast=0.0, levels=(0.65, 0.12))
    for i in range(4):
        x, _ = make_pair(photo, tf.constant([7, i], tf.int64), params)
        assert abs(_low_of(x.numpy(), params).mean() - 0.65) < 0.02


def test_levels_round_trip_through_meta_and_old_metas_have_none():
    params = TransformParams(size=SIZE, levels=(0.6757, 0.0958))
    meta = {"input": {"size": SIZE}, "transform": params.to_meta()}
    assert TransformParams.from_meta(meta) == params
    del meta["transform"]["levels"]  # a model exported before input levels
    assert TransformParams.from_meta(meta).levels is None


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera"])
def test_mean_levels_move_the_brightness_and_keep_the_scene_contrast(name):
    """--input-levels mean: a photograph reaches the generator at the theme's brightness with its
    own contrast (the gain's range is (1, 1)), and meta.json says so for the browser."""
    from builder.config import TrainConfig

    params = TransformParams.from_config(TrainConfig(name="m", size=SIZE, input_levels="mean"), levels=(0.7, 0.1))
    assert params.level_gain == (1.0, 1.0)
    image = real_photos((name,))[name]
    plain = TransformParams(size=SIZE)
    low, own = _low_of(photo_input(image, params), params), _low_of(photo_input(image, plain), plain)
    assert abs(low.mean() - 0.7) < 0.02, f"{name}: mean {low.mean():.3f}, not the levels' 0.7"
    assert low.std() == pytest.approx(own.std(), rel=0.02), f"{name}: the scene's contrast changed"
    meta = {"input": {"size": SIZE}, "transform": params.to_meta()}
    assert meta["transform"]["levels"]["gain"] == [1.0, 1.0]
    assert TransformParams.from_meta(meta) == params
